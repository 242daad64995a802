//! [`Party`]: one side of an OTR conversation (our [`Engine`], libotr, or a process speaking
//! the engine protocol), and [`View`], the one form in which a test reads what any of them
//! did: a line for the wire, a text shown, a session gone private or finished, an SMP step.

use std::fmt::Debug;

use libotr_harness::{Event as LibEvent, LibOtr};
use otr::{ConversationState, Engine, Event, SmpResult};

/// What one event of a [`Party`] means, the same for every party.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum View<'a> {
    /// `line` goes on the wire to `peer`.
    Wire {
        /// The recipient.
        peer: &'a str,
        /// The line, exactly as sent.
        line: &'a str,
    },
    /// `text` from `peer` is shown to the user.
    Shown {
        /// The sender.
        peer: &'a str,
        /// The text shown.
        text: &'a str,
        /// Whether it came out of a verified data message.
        encrypted: bool,
    },
    /// A private session with `peer` came up (or was refreshed).
    Private {
        /// The peer.
        peer: &'a str,
    },
    /// `peer` ended the private session.
    Finished {
        /// The peer.
        peer: &'a str,
    },
    /// The socialist millionaires' protocol with `peer` moved on.
    Smp {
        /// The peer.
        peer: &'a str,
        /// Where it is.
        step: SmpStep,
    },
    /// Anything else (notices, fingerprints, errors, ...): read the party's own event.
    Other,
}

/// Where an SMP run is, as far as the user sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SmpStep {
    /// The peer asks for the shared secret (with or without a question).
    Asked,
    /// The secrets matched.
    Success,
    /// The secrets differed.
    Failure,
    /// Aborted, cheated, in progress or an error.
    Other,
}

/// An event a test can read in the common form.
pub trait AsView {
    /// What this event means, in the form shared by every party.
    fn view(&self) -> View<'_>;
}

/// One side of a conversation: each call returns the party's events, in order, which
/// [`AsView::view`] reads in one form for every party.
///
/// The calls name the account they are about (`peer`), as `Engine` and libotr do; each
/// implementation treats a misuse (starting OTR with OTR disabled, SMP with no session) as
/// a test failure.
pub trait Party {
    /// What the party reports.
    type Event: AsView + Clone + Debug;

    /// The user types `text` to `peer`.
    fn send(&mut self, peer: &str, text: &str) -> Vec<Self::Event>;
    /// `line` arrived from `peer` over the network.
    fn receive(&mut self, peer: &str, line: &str) -> Vec<Self::Event>;
    /// The user starts (or refreshes) a private conversation with `peer`.
    fn start(&mut self, peer: &str) -> Vec<Self::Event>;
    /// The user ends the private conversation with `peer`.
    fn finish(&mut self, peer: &str) -> Vec<Self::Event>;
    /// The user asks `peer` to prove it knows `secret` (with `question`, if any).
    fn smp_start(&mut self, peer: &str, question: Option<&str>, secret: &[u8]) -> Vec<Self::Event>;
    /// The user answers `peer`'s SMP request with `secret`.
    fn smp_respond(&mut self, peer: &str, secret: &[u8]) -> Vec<Self::Event>;
    /// Fragments what goes to `peer` to lines of at most `size` bytes (libotr: to every
    /// peer; 0: no fragmenting).
    fn fragment_to(&mut self, peer: &str, size: usize);
}

/// The wire lines among `events`, in order.
pub fn lines<E: AsView>(events: &[E]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e.view() {
            View::Wire { line, .. } => Some(line.to_owned()),
            _ => None,
        })
        .collect()
}

/// The texts shown among `events`, with their `encrypted` flag, in order.
pub fn shown<E: AsView>(events: &[E]) -> Vec<(String, bool)> {
    events
        .iter()
        .filter_map(|e| match e.view() {
            View::Shown {
                text, encrypted, ..
            } => Some((text.to_owned(), encrypted)),
            _ => None,
        })
        .collect()
}

/// A party lent to a relay for a while (the test keeps it afterwards).
impl<P: Party + ?Sized> Party for &mut P {
    type Event = P::Event;

    fn send(&mut self, peer: &str, text: &str) -> Vec<P::Event> {
        (**self).send(peer, text)
    }

    fn receive(&mut self, peer: &str, line: &str) -> Vec<P::Event> {
        (**self).receive(peer, line)
    }

    fn start(&mut self, peer: &str) -> Vec<P::Event> {
        (**self).start(peer)
    }

    fn finish(&mut self, peer: &str) -> Vec<P::Event> {
        (**self).finish(peer)
    }

    fn smp_start(&mut self, peer: &str, question: Option<&str>, secret: &[u8]) -> Vec<P::Event> {
        (**self).smp_start(peer, question, secret)
    }

    fn smp_respond(&mut self, peer: &str, secret: &[u8]) -> Vec<P::Event> {
        (**self).smp_respond(peer, secret)
    }

    fn fragment_to(&mut self, peer: &str, size: usize) {
        (**self).fragment_to(peer, size);
    }
}

impl AsView for Event {
    fn view(&self) -> View<'_> {
        match self {
            Event::Wire { peer, data } => View::Wire { peer, line: data },
            Event::Message {
                peer,
                text,
                encrypted,
                ..
            } => View::Shown {
                peer,
                text,
                encrypted: *encrypted,
            },
            Event::State {
                peer,
                state: ConversationState::Encrypted,
                ..
            } => View::Private { peer },
            Event::State {
                peer,
                state: ConversationState::Finished,
                ..
            } => View::Finished { peer },
            Event::Smp { peer, result, .. } => View::Smp {
                peer,
                step: match result {
                    SmpResult::Question | SmpResult::Request => SmpStep::Asked,
                    SmpResult::Success => SmpStep::Success,
                    SmpResult::Failure => SmpStep::Failure,
                    _ => SmpStep::Other,
                },
            },
            _ => View::Other,
        }
    }
}

impl Party for Engine {
    type Event = Event;

    fn send(&mut self, peer: &str, text: &str) -> Vec<Event> {
        Engine::send(self, peer, text)
    }

    fn receive(&mut self, peer: &str, line: &str) -> Vec<Event> {
        Engine::receive(self, peer, line)
    }

    fn start(&mut self, peer: &str) -> Vec<Event> {
        Engine::start(self, peer).expect("OTR is enabled")
    }

    fn finish(&mut self, peer: &str) -> Vec<Event> {
        Engine::finish(self, peer)
    }

    fn smp_start(&mut self, peer: &str, question: Option<&str>, secret: &[u8]) -> Vec<Event> {
        Engine::smp_start(self, peer, secret, question).expect("a private session")
    }

    fn smp_respond(&mut self, peer: &str, secret: &[u8]) -> Vec<Event> {
        Engine::smp_respond(self, peer, secret).expect("an SMP request")
    }

    fn fragment_to(&mut self, peer: &str, size: usize) {
        self.set_max_message_size(peer, size);
    }
}

impl AsView for LibEvent {
    fn view(&self) -> View<'_> {
        match self {
            LibEvent::Wire { peer, data } => View::Wire { peer, line: data },
            LibEvent::Message {
                peer,
                text,
                encrypted,
            } => View::Shown {
                peer,
                text,
                encrypted: *encrypted,
            },
            LibEvent::GoneSecure { peer } | LibEvent::StillSecure { peer } => {
                View::Private { peer }
            }
            // TLV 1: the peer ended the private conversation.
            LibEvent::Tlv {
                peer, tlv_type: 1, ..
            } => View::Finished { peer },
            LibEvent::Smp { peer, name, .. } => View::Smp {
                peer,
                step: match name.as_str() {
                    "ASK_FOR_ANSWER" | "ASK_FOR_SECRET" => SmpStep::Asked,
                    "SUCCESS" => SmpStep::Success,
                    "FAILURE" => SmpStep::Failure,
                    _ => SmpStep::Other,
                },
            },
            _ => View::Other,
        }
    }
}

impl Party for LibOtr {
    type Event = LibEvent;

    fn send(&mut self, peer: &str, text: &str) -> Vec<LibEvent> {
        LibOtr::send(self, peer, text)
    }

    fn receive(&mut self, peer: &str, line: &str) -> Vec<LibEvent> {
        LibOtr::receive(self, peer, line)
    }

    fn start(&mut self, peer: &str) -> Vec<LibEvent> {
        LibOtr::start(self, peer)
    }

    fn finish(&mut self, peer: &str) -> Vec<LibEvent> {
        LibOtr::finish(self, peer)
    }

    fn smp_start(&mut self, peer: &str, question: Option<&str>, secret: &[u8]) -> Vec<LibEvent> {
        LibOtr::smp_start(self, peer, question, secret)
    }

    fn smp_respond(&mut self, peer: &str, secret: &[u8]) -> Vec<LibEvent> {
        LibOtr::smp_respond(self, peer, secret)
    }

    fn fragment_to(&mut self, _peer: &str, size: usize) {
        self.set_max_message_size(size);
    }
}
