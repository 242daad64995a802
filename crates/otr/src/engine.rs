//! The engine: one account (identity, instance tag, policy) holding a conversation per peer.
//!
//! Sans-IO: bytes and user actions come in through method calls, and every method returns
//! the [`Event`]s it caused, in order. Randomness comes from the provider given at
//! construction; the engine never reads a clock, a socket or the OS.

use std::collections::BTreeMap;

use core::time::Duration;

use rand_core::CryptoRngCore;

use crate::conversation::{Context, Conversation};
use crate::crypto::dsa::ValidatedKeys;
use crate::crypto::{DsaPrivateKey, Fingerprint};
use crate::event::{ConversationState, Event, Notice};
use crate::keys::SymmetricKey;
use crate::policy::Policy;
use crate::session_id::SessionId;
use crate::time::Time;
use crate::trust::KnownFingerprints;
use crate::wire::encoded::InstanceTag;

/// The most conversations an engine keeps: any nick that sends one line gets one. Past
/// it, an idle conversation (plaintext, nothing held, no exchange in progress) is forgotten
/// for the new one; if none is idle, the new peer's input is ignored with an error event.
pub const MAX_PEERS: usize = 4096;

/// The most bytes of fragments waiting for reassembly, all peers together (each peer's
/// own limit is [`crate::fragment::MAX_MESSAGE_BYTES`] per message and
/// [`crate::fragment::MAX_INSTANCES`] messages).
pub const MAX_TOTAL_REASSEMBLY_BYTES: usize = 16 * 1024 * 1024;

/// A call the engine refused: what the caller asked for needs something that is not there.
/// Nothing was sent and nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EngineError {
    /// The policy disables OTR ([`Policy::otr_enabled`] is false).
    OtrDisabled,
    /// The action needs a private session with the peer, and there is none.
    NoSession,
    /// [`Engine::smp_respond`] without a pending SMP request from the peer.
    NoSmpRequest,
}

impl core::fmt::Display for EngineError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::OtrDisabled => "OTR is disabled by the policy",
            Self::NoSession => "there is no private session with the peer",
            Self::NoSmpRequest => "there is no SMP request from the peer to answer",
        })
    }
}

impl std::error::Error for EngineError {}

/// How an engine behaves, beyond its identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineConfig {
    /// The policy for every peer.
    pub policy: Policy,
    /// Our instance tag (>= 0x100), persistent per account.
    pub instance_tag: InstanceTag,
    /// The transport carries one line per message (IRC): plaintext with line breaks is sent
    /// as one message per line, and no wire message ever contains CR, LF or NUL.
    pub line_based: bool,
    /// What the user types while a key exchange with the peer runs (we sent a query or a
    /// key-exchange message, and no private session is up) is held, not sent in the clear
    /// ([`crate::HoldReason::KeyExchange`]), and goes out encrypted once the session is up
    /// ([`Notice::HeldSent`]). Held text waits for the exchange: when the exchange is given
    /// up ([`KEY_EXCHANGE_TIMEOUT`], or the user finishes), every held text is reported
    /// [`crate::NotSent::NoSession`]. Off by default, as in libotr, which sends such text in
    /// the clear unless the policy requires encryption; the chat client turns it on.
    pub hold_during_key_exchange: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            policy: Policy::default(),
            instance_tag: InstanceTag(0x100),
            line_based: true,
            hold_during_key_exchange: false,
        }
    }
}

/// How long a key exchange may run: one not completed this long after we sent its first
/// message is given up at the next [`Engine::tick`]. The status stops showing it, and with
/// [`EngineConfig::hold_during_key_exchange`] what was held for it is reported not sent.
/// The exchange itself is not torn down (a late answer still completes it, as in libotr).
/// The same minute as libotr's RESEND_INTERVAL, which bounds how long a held message waits.
pub const KEY_EXCHANGE_TIMEOUT: Duration = Duration::from_secs(60);

/// What the engine knows about the conversation with one peer: what a status line shows.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Status {
    /// The message state of the instance of the peer that receives what the user types.
    pub state: ConversationState,
    /// That instance (0: none yet, or protocol version 2).
    pub instance: InstanceTag,
    /// The peer's fingerprint in that instance's private session.
    pub fingerprint: Option<Fingerprint>,
    /// Whether the user has verified that fingerprint.
    pub trusted: bool,
    /// A key exchange we asked for or answered that has not completed, failed or been
    /// given up yet.
    pub key_exchange: Option<KeyExchange>,
    /// How many texts the user typed are held, waiting for a private session.
    pub held: usize,
}

impl Status {
    /// No conversation at all: plaintext, nothing known, nothing running.
    fn none() -> Self {
        Self {
            state: ConversationState::Plaintext,
            instance: InstanceTag::UNKNOWN,
            fingerprint: None,
            trusted: false,
            key_exchange: None,
            held: 0,
        }
    }
}

/// A key exchange in progress (see [`Status::key_exchange`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyExchange {
    /// When we sent its first message, as the engine knew the time then (`None` before the
    /// first tick; stamped at the next one).
    pub since: Option<Time>,
}

/// An OTR engine for one account.
///
/// ```
/// # use otr::{Engine, EngineConfig, Event, crypto::DsaPrivateKey, wire::encoded::InstanceTag};
/// # use rand_core::OsRng;
/// let mut alice = Engine::new(DsaPrivateKey::generate(&mut OsRng), EngineConfig::default(), Box::new(OsRng));
/// let mut bob = Engine::new(
///     DsaPrivateKey::generate(&mut OsRng),
///     EngineConfig { instance_tag: InstanceTag(0x1234), ..EngineConfig::default() },
///     Box::new(OsRng),
/// );
/// // Deliver everything each side puts on the wire to the other until both are quiet.
/// let mut to_bob: Vec<Event> = alice.start("bob").unwrap();
/// let mut shown = Vec::new();
/// while !to_bob.is_empty() {
///     let mut to_alice = Vec::new();
///     for event in to_bob.drain(..) {
///         if let Event::Wire { data, .. } = event { to_alice.extend(bob.receive("alice", &data)); }
///     }
///     for event in to_alice {
///         match event {
///             Event::Wire { data, .. } => to_bob.extend(alice.receive("bob", &data)),
///             other => shown.push(other),
///         }
///     }
/// }
/// assert_eq!(alice.state("bob"), otr::ConversationState::Encrypted);
/// let status = alice.status("bob");
/// assert_eq!((status.key_exchange, status.held, status.trusted), (None, 0, false));
/// // What cannot be done is refused, and changes nothing.
/// assert_eq!(alice.smp_respond("bob", b"secret"), Err(otr::EngineError::NoSmpRequest));
/// let alice_fp = alice.fingerprint();
/// let wire = alice.send("bob", "hi Bob");
/// let Event::Wire { data, .. } = &wire[0] else { unreachable!() };
/// assert!(data.starts_with("?OTR:"));
/// assert!(bob.receive("alice", data).contains(&Event::Message {
///     peer: "alice".into(), text: "hi Bob".into(), encrypted: true,
///     origin: Some(otr::Origin { instance: InstanceTag(0x100), fingerprint: alice_fp, trusted: false }),
/// }));
/// ```
pub struct Engine {
    identity: DsaPrivateKey,
    fingerprint: Fingerprint,
    config: EngineConfig,
    rng: Box<dyn CryptoRngCore + Send>,
    conversations: BTreeMap<String, Conversation>,
    known: KnownFingerprints,
    /// Peer keys that passed validation lately.
    validated_keys: ValidatedKeys,
    /// The time of the last [`Engine::tick`].
    now: Option<Time>,
    /// The largest wire message for peers without their own limit (0: no limit).
    default_max_message_size: usize,
}

impl core::fmt::Debug for Engine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Engine")
            .field("fingerprint", &self.fingerprint)
            .field("config", &self.config)
            .field("peers", &self.conversations.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine for the account whose long-term key is `identity`.
    pub fn new(
        identity: DsaPrivateKey,
        config: EngineConfig,
        rng: Box<dyn CryptoRngCore + Send>,
    ) -> Self {
        let fingerprint = identity.public().fingerprint();
        Self {
            identity,
            fingerprint,
            config,
            rng,
            conversations: BTreeMap::new(),
            known: KnownFingerprints::new(),
            validated_keys: ValidatedKeys::default(),
            now: None,
            default_max_message_size: 0,
        }
    }

    /// Our own fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// Our configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Changes the policy for every peer from now on (a client's `/otr policy`). Sessions
    /// already private stay private; what is sent next follows the new policy.
    pub fn set_policy(&mut self, policy: Policy) {
        self.config.policy = policy;
    }

    /// Turns [`EngineConfig::hold_during_key_exchange`] on or off from now on (a client
    /// that relies on it sets it on the engine it is given).
    pub fn set_hold_during_key_exchange(&mut self, hold: bool) {
        self.config.hold_during_key_exchange = hold;
    }

    /// `old` is now called `new` (an IRC nick change): the conversation with `old`, its
    /// private session included, continues under `new`. A conversation already held under
    /// `new` is replaced. Returns the `State` event for `new` when there was a conversation.
    #[must_use = "the events must be handled: wire messages sent, the rest shown"]
    pub fn rename_peer(&mut self, old: &str, new: &str) -> Vec<Event> {
        if old == new {
            return Vec::new();
        }
        let Some(conversation) = self.conversations.remove(old) else {
            return Vec::new();
        };
        self.conversations.insert(new.to_owned(), conversation);
        self.with_conversation(new, |c, ctx| c.emit_state(ctx))
    }

    /// The fingerprints we know, with their trust (for persistence).
    pub fn known_fingerprints(&self) -> &KnownFingerprints {
        &self.known
    }

    /// Replaces the known fingerprints (after loading them).
    pub fn set_known_fingerprints(&mut self, known: KnownFingerprints) {
        self.known = known;
    }

    /// How many conversations the engine holds (at most [`MAX_PEERS`]).
    pub fn conversation_count(&self) -> usize {
        self.conversations.len()
    }

    /// Bytes of fragments waiting for reassembly, all peers together (at most
    /// [`MAX_TOTAL_REASSEMBLY_BYTES`] after any call returns).
    pub fn pending_fragment_bytes(&self) -> usize {
        self.conversations
            .values()
            .map(Conversation::pending_fragment_bytes)
            .sum()
    }

    /// The message state of the conversation with `peer`.
    pub fn state(&self, peer: &str) -> ConversationState {
        self.conversations
            .get(peer)
            .map_or(ConversationState::Plaintext, Conversation::state)
    }

    /// Everything a status line shows about the conversation with `peer`: its state, the
    /// instance and key that receive what the user types, a key exchange in progress, and
    /// how many texts are held.
    pub fn status(&self, peer: &str) -> Status {
        self.conversations
            .get(peer)
            .map_or_else(Status::none, |c| c.status(peer, &self.known))
    }

    /// The fingerprint of `peer` in the current private session.
    pub fn peer_fingerprint(&self, peer: &str) -> Option<Fingerprint> {
        self.conversations
            .get(peer)
            .and_then(Conversation::fingerprint)
    }

    /// Every instance of `peer` we hold a session with (a peer logged in more than once has
    /// several): its instance tag, message state and, when private, its key's fingerprint.
    /// The first is the one that receives what the user types.
    pub fn instances(
        &self,
        peer: &str,
    ) -> Vec<(InstanceTag, ConversationState, Option<Fingerprint>)> {
        self.conversations
            .get(peer)
            .map(Conversation::instances)
            .unwrap_or_default()
    }

    /// The secure session id of the private session with `peer` (with the half the user
    /// reads aloud); `None` without a private session.
    pub fn session_id(&self, peer: &str) -> Option<SessionId> {
        self.conversations.get(peer).and_then(Conversation::ssid)
    }

    /// Makes room for a conversation with a new peer: past [`MAX_PEERS`], an idle one
    /// (plaintext, nothing held or in progress) is forgotten. False if none is idle.
    fn make_room(&mut self, peer: &str) -> bool {
        if self.conversations.contains_key(peer) || self.conversations.len() < MAX_PEERS {
            return true;
        }
        let idle = self
            .conversations
            .iter()
            .find(|(_, c)| c.is_idle())
            .map(|(name, _)| name.clone());
        match idle {
            Some(name) => {
                self.conversations.remove(&name);
                true
            }
            None => false,
        }
    }

    fn with_conversation(
        &mut self,
        peer: &str,
        f: impl FnOnce(&mut Conversation, &mut Context<'_>),
    ) -> Vec<Event> {
        if !self.make_room(peer) {
            return vec![Event::Notice {
                peer: peer.to_owned(),
                notice: Notice::TooManyPeers,
            }];
        }
        self.conversations.entry(peer.to_owned()).or_default();
        match self.with_existing(peer, |c, ctx| {
            f(c, ctx);
            Ok(())
        }) {
            Ok(((), events)) => events,
            Err(_) => Vec::new(),
        }
    }

    /// Runs `f` on the conversation with `peer`, which must exist ([`EngineError::NoSession`]
    /// if not): its result and the events it caused. `f` fails before it emits anything.
    fn with_existing<T>(
        &mut self,
        peer: &str,
        f: impl FnOnce(&mut Conversation, &mut Context<'_>) -> Result<T, EngineError>,
    ) -> Result<(T, Vec<Event>), EngineError> {
        let mut out = Vec::new();
        let Some(conversation) = self.conversations.get_mut(peer) else {
            return Err(EngineError::NoSession);
        };
        let max_message_size = conversation
            .max_message_size
            .unwrap_or(self.default_max_message_size);
        let mut ctx = Context {
            peer,
            identity: &self.identity,
            rng: &mut *self.rng,
            policy: self.config.policy,
            our_instance: self.config.instance_tag,
            line_based: self.config.line_based,
            hold_during_key_exchange: self.config.hold_during_key_exchange,
            known: &mut self.known,
            validated_keys: &mut self.validated_keys,
            out: &mut out,
            now: self.now,
            max_message_size,
        };
        let result = f(conversation, &mut ctx)?;
        // Fragments waiting for reassembly, all peers together, stay under a budget: a
        // crowd of nicks each sending the first fragments of huge messages cannot fill
        // memory. The conversation that just grew past it starts over.
        if self.pending_fragment_bytes() > MAX_TOTAL_REASSEMBLY_BYTES {
            if let Some(c) = self.conversations.get_mut(peer) {
                c.drop_fragments();
            }
        }
        Ok((result, out))
    }

    /// The user typed `text` to `peer`.
    #[must_use = "the events must be handled: wire messages sent, the rest shown"]
    pub fn send(&mut self, peer: &str, text: &str) -> Vec<Event> {
        self.with_conversation(peer, |c, ctx| c.send(text, ctx))
    }

    /// `data` arrived from `peer` over the network.
    #[must_use = "the events must be handled: wire messages sent, the rest shown"]
    pub fn receive(&mut self, peer: &str, data: &str) -> Vec<Event> {
        self.with_conversation(peer, |c, ctx| c.receive(data, ctx))
    }

    /// `data` from `sender` arrived in a group channel, not in a private conversation.
    /// Channel text never starts or carries OTR (irssi-otr #12: a query message pasted in a
    /// channel started key exchanges with everyone who saw it): whitespace tags are
    /// removed, OTR messages are reported as misplaced, and nothing is sent.
    #[must_use = "the events must be handled: wire messages sent, the rest shown"]
    pub fn receive_from_channel(&mut self, sender: &str, data: &str) -> Vec<Event> {
        use crate::wire::text::{classify, IncomingText};
        let peer = sender.to_owned();
        match classify(data) {
            Ok(IncomingText::Plain { text, .. }) if !text.is_empty() => {
                vec![Event::Message {
                    peer,
                    text,
                    encrypted: false,
                    origin: None,
                }]
            }
            Ok(IncomingText::Plain { .. }) => Vec::new(),
            Ok(IncomingText::Query(_)) => vec![
                Event::Message {
                    peer: peer.clone(),
                    text: data.to_owned(),
                    encrypted: false,
                    origin: None,
                },
                Event::Notice {
                    peer,
                    notice: Notice::QueryInChannel,
                },
            ],
            Ok(_) | Err(_) => vec![Event::Notice {
                peer,
                notice: Notice::OtrInChannel,
            }],
        }
    }

    /// Starts (or refreshes) a private conversation with `peer`: sends a query message.
    /// [`EngineError::OtrDisabled`] if the policy disables OTR.
    #[must_use = "the events must be handled: wire messages sent, the rest shown"]
    pub fn start(&mut self, peer: &str) -> Result<Vec<Event>, EngineError> {
        if !self.config.policy.otr_enabled() {
            return Err(EngineError::OtrDisabled);
        }
        Ok(self.with_conversation(peer, |c, ctx| c.start(ctx)))
    }

    /// Ends the private conversation with `peer`.
    #[must_use = "the events must be handled: wire messages sent, the rest shown"]
    pub fn finish(&mut self, peer: &str) -> Vec<Event> {
        self.with_conversation(peer, |c, ctx| c.finish(ctx))
    }

    /// Fragments every OTR-encoded message (key exchange, data, heartbeats) so that each
    /// wire message is at most `size` bytes, for peers without a limit of their own
    /// (0: do not fragment). Plain texts, queries and error messages are never fragmented.
    pub fn set_default_max_message_size(&mut self, size: usize) {
        self.default_max_message_size = size;
    }

    /// Sets the maximum wire message size for `peer` (0: do not fragment), e.g. when an IRC
    /// client knows how long the server's prefix for that nick will be.
    pub fn set_max_message_size(&mut self, peer: &str, size: usize) {
        self.conversations
            .entry(peer.to_owned())
            .or_default()
            .max_message_size = Some(size);
    }

    /// Starts the socialist millionaires' protocol with `peer`: both users type the same
    /// `secret` (optionally answering `question`), and each learns whether the other did,
    /// and nothing more. Success marks the peer's fingerprint verified.
    /// [`EngineError::NoSession`] without a private session.
    #[must_use = "the events must be handled: wire messages sent, the rest shown"]
    pub fn smp_start(
        &mut self,
        peer: &str,
        secret: &[u8],
        question: Option<&str>,
    ) -> Result<Vec<Event>, EngineError> {
        self.with_existing(peer, |c, ctx| c.smp_start(secret, question, ctx))
            .map(|((), events)| events)
    }

    /// Answers `peer`'s pending SMP request (an [`Event::Smp`] with `Request` or `Question`).
    /// [`EngineError::NoSession`] without a private session, [`EngineError::NoSmpRequest`]
    /// without a pending request.
    #[must_use = "the events must be handled: wire messages sent, the rest shown"]
    pub fn smp_respond(&mut self, peer: &str, secret: &[u8]) -> Result<Vec<Event>, EngineError> {
        self.with_existing(peer, |c, ctx| c.smp_respond(secret, ctx))
            .map(|((), events)| events)
    }

    /// Derives OTR v3's extra symmetric key with `peer` for an application's own use, and
    /// tells the peer (TLV 8, with `usage` and `usedata`), who gets the same key in an
    /// [`Event::ExtraSymmetricKey`]. [`EngineError::NoSession`] without a private session.
    #[must_use = "the events must be handled: wire messages sent, the rest shown"]
    pub fn extra_symmetric_key(
        &mut self,
        peer: &str,
        usage: u32,
        usedata: &[u8],
    ) -> Result<(SymmetricKey, Vec<Event>), EngineError> {
        self.with_existing(peer, |c, ctx| c.extra_symmetric_key(usage, usedata, ctx))
    }

    /// Aborts the SMP run with `peer`; both sides report it aborted.
    /// [`EngineError::NoSession`] without a private session.
    #[must_use = "the events must be handled: wire messages sent, the rest shown"]
    pub fn smp_abort(&mut self, peer: &str) -> Result<Vec<Event>, EngineError> {
        self.with_existing(peer, |c, ctx| c.smp_abort(ctx))
            .map(|((), events)| events)
    }

    /// Time has passed: it is `now`. Heartbeats, resend windows and the expiry of held
    /// messages are driven by this; the engine reads no clock, before the first tick no
    /// timer fires, and a tick earlier than the last one does not move the clock back.
    #[must_use = "the events must be handled: wire messages sent, the rest shown"]
    pub fn tick(&mut self, now: Time) -> Vec<Event> {
        if self.now.is_none_or(|t| now >= t) {
            self.now = Some(now);
        }
        let peers: Vec<String> = self.conversations.keys().cloned().collect();
        let mut out = Vec::new();
        for peer in peers {
            out.extend(self.with_conversation(&peer, |c, ctx| c.tick(ctx)));
        }
        out
    }

    /// Test hook: a data message to `peer` with exactly `plaintext` (text, NUL, TLVs), as
    /// a malicious peer could write it. `None` without a private session.
    #[cfg(test)]
    pub(crate) fn seal_raw(&mut self, peer: &str, plaintext: &[u8]) -> Option<String> {
        let ours = self.config.instance_tag;
        self.conversations.get_mut(peer)?.seal_raw(plaintext, ours)
    }

    /// Marks the current fingerprint of `peer` verified (`true`) or not. What the user
    /// types may then go to another instance of the peer (a verified one is preferred):
    /// the `State` event says which. [`EngineError::NoSession`] when there is no
    /// fingerprint to mark (no private session).
    #[must_use = "the events must be handled: wire messages sent, the rest shown"]
    pub fn set_trust(&mut self, peer: &str, trusted: bool) -> Result<Vec<Event>, EngineError> {
        let Some(fp) = self.peer_fingerprint(peer) else {
            return Err(EngineError::NoSession);
        };
        self.known.set_trusted(peer, fp, trusted);
        Ok(self.with_conversation(peer, |c, ctx| c.trust_changed(ctx)))
    }
}
