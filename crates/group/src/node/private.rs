//! The private conversations a client holds through the node: what its user types to a
//! peer, text seen outside private conversations, starting and ending sessions, trust,
//! SMP and the engine's settings. The node owns the engine and hands out no mutable
//! access to it: each method here makes the engine call and passes the events through
//! the node (a session coming up flushes what the room queued for it, group envelopes
//! stay in the node), so no event can miss the room. What is not the room's comes back as
//! [`Output::Otr`], wire lines as [`Output::Send`]; the engine's refusals stay `Err`.

use otr::{EngineError, Event, Policy};

use super::Node;
use crate::output::Output;

impl Node {
    /// Our user typed `text` to `peer` in a private conversation (the engine's
    /// [`otr::Engine::send`]).
    #[must_use = "the outputs must be handled: lines sent, the rest shown"]
    pub fn send_private(&mut self, peer: &str, text: &str) -> Vec<Output> {
        let events = self.engine.send(peer, text);
        self.absorb(events)
    }

    /// Text from `from` that came outside a private conversation: a channel line that is
    /// not a room line, or a notice ([`otr::Engine::receive_from_channel`]: it never
    /// starts or carries OTR). Room lines in a channel go to [`Node::receive_channel`].
    #[must_use = "the outputs must be handled: lines sent, the rest shown"]
    pub fn receive_channel_text(&mut self, from: &str, text: &str) -> Vec<Output> {
        let events = self.engine.receive_from_channel(from, text);
        self.absorb(events)
    }

    /// Starts (or refreshes) a private conversation with `peer`
    /// ([`otr::Engine::start`]; refused when the policy disables OTR).
    #[must_use = "the outputs must be handled: lines sent, the rest shown"]
    pub fn start_private(&mut self, peer: &str) -> Result<Vec<Output>, EngineError> {
        let events = self.engine.start(peer)?;
        Ok(self.absorb(events))
    }

    /// Ends the private conversation with `peer` ([`otr::Engine::finish`]).
    #[must_use = "the outputs must be handled: lines sent, the rest shown"]
    pub fn finish_private(&mut self, peer: &str) -> Vec<Output> {
        let events = self.engine.finish(peer);
        self.absorb(events)
    }

    /// Marks the key of `peer`'s current session verified or not
    /// ([`otr::Engine::set_trust`]; refused without a session).
    #[must_use = "the outputs must be handled: lines sent, the rest shown"]
    pub fn set_trust(&mut self, peer: &str, trusted: bool) -> Result<Vec<Output>, EngineError> {
        let events = self.engine.set_trust(peer, trusted)?;
        Ok(self.absorb(events))
    }

    /// Starts the socialist millionaires' protocol with `peer`, optionally with a
    /// `question` ([`otr::Engine::smp_start`]; refused without a session).
    #[must_use = "the outputs must be handled: lines sent, the rest shown"]
    pub fn smp_start(
        &mut self,
        peer: &str,
        secret: &[u8],
        question: Option<&str>,
    ) -> Result<Vec<Output>, EngineError> {
        let events = self.engine.smp_start(peer, secret, question)?;
        Ok(self.absorb(events))
    }

    /// Answers `peer`'s pending SMP request ([`otr::Engine::smp_respond`]; refused without
    /// a session or a request).
    #[must_use = "the outputs must be handled: lines sent, the rest shown"]
    pub fn smp_respond(&mut self, peer: &str, secret: &[u8]) -> Result<Vec<Output>, EngineError> {
        let events = self.engine.smp_respond(peer, secret)?;
        Ok(self.absorb(events))
    }

    /// Aborts the SMP run with `peer` ([`otr::Engine::smp_abort`]; refused without a
    /// session).
    #[must_use = "the outputs must be handled: lines sent, the rest shown"]
    pub fn smp_abort(&mut self, peer: &str) -> Result<Vec<Output>, EngineError> {
        let events = self.engine.smp_abort(peer)?;
        Ok(self.absorb(events))
    }

    /// `old` is now called `new` (an IRC nick change): the private conversation continues
    /// under `new` ([`otr::Engine::rename_peer`]), and so does the verification of its
    /// key: same key, same person, so `new` is trusted with it exactly when `old` was.
    /// The outputs carry one `State` for `new` (the one after the trust carried over).
    #[must_use = "the outputs must be handled: lines sent, the rest shown"]
    pub fn rename_peer(&mut self, old: &str, new: &str) -> Vec<Output> {
        let trusted = self
            .engine
            .peer_fingerprint(old)
            .is_some_and(|fp| self.engine.known_fingerprints().is_trusted(old, &fp));
        let mut events: Vec<Event> = self.engine.rename_peer(old, new);
        if self.engine.peer_fingerprint(new).is_some() {
            // Its `State` replaces the rename's, which showed the trust before.
            events = self.engine.set_trust(new, trusted).unwrap_or_default();
        }
        self.absorb(events)
    }

    /// Changes the OTR policy for every peer from now on ([`otr::Engine::set_policy`]).
    pub fn set_policy(&mut self, policy: Policy) {
        self.engine.set_policy(policy);
    }

    /// Sets the largest wire message for `peer`, OTR messages being fragmented to fit
    /// ([`otr::Engine::set_max_message_size`]; 0: do not fragment).
    pub fn set_max_message_size(&mut self, peer: &str, size: usize) {
        self.engine.set_max_message_size(peer, size);
    }
}
