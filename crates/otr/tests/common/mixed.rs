//! Our engine ("alice") and libotr 4.1.1 ("bob", in-process through the harness) with an
//! in-memory relay between them.

use libotr_harness::{Event as LEvent, LibOtr, MsgState};
use otr::{ConversationState, Engine, Event, Policy};

use super::{alice_key, engine};

/// Our instance tag in mixed pairs.
pub const OUR_TAG: u32 = 0x5150_0001;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// Which side sent a wire message.
pub enum From {
    /// Our engine.
    Ours,
    /// libotr.
    Libotr,
}

/// Our engine (account "alice") and libotr (account "bob").
pub struct Mixed {
    pub ours: Engine,
    pub lib: LibOtr,
    pub wire: Vec<(From, String)>,
    pub ours_events: Vec<Event>,
    pub lib_events: Vec<LEvent>,
}

impl Mixed {
    pub fn new(ours_policy: Policy, lib_policy: u32) -> Self {
        Self {
            ours: engine(alice_key(), OUR_TAG, ours_policy, 99),
            lib: LibOtr::with_cached_key("bob", lib_policy).unwrap(),
            wire: Vec::new(),
            ours_events: Vec::new(),
            lib_events: Vec::new(),
        }
    }

    pub fn absorb_ours(&mut self, events: Vec<Event>, queue: &mut Vec<(From, String)>) {
        for e in events {
            match e {
                Event::Wire { data, .. } => queue.push((From::Ours, data)),
                other => self.ours_events.push(other),
            }
        }
    }

    pub fn absorb_lib(&mut self, events: Vec<LEvent>, queue: &mut Vec<(From, String)>) {
        for e in events {
            match e {
                LEvent::Wire { data, .. } => queue.push((From::Libotr, data)),
                other => self.lib_events.push(other),
            }
        }
    }

    pub fn relay(&mut self, mut queue: Vec<(From, String)>) {
        let mut steps = 0;
        while !queue.is_empty() {
            steps += 1;
            assert!(steps < 100_000, "relay did not settle");
            let (from, data) = queue.remove(0);
            self.wire.push((from, data.clone()));
            match from {
                From::Ours => {
                    let events = self.lib.receive("alice", &data);
                    self.absorb_lib(events, &mut queue);
                }
                From::Libotr => {
                    let events = self.ours.receive("bob", &data);
                    self.absorb_ours(events, &mut queue);
                }
            }
        }
    }

    pub fn ours_do(&mut self, f: impl FnOnce(&mut Engine) -> Vec<Event>) -> Vec<(From, String)> {
        let events = f(&mut self.ours);
        let mut queue = Vec::new();
        self.absorb_ours(events, &mut queue);
        queue
    }

    pub fn lib_do(&mut self, f: impl FnOnce(&mut LibOtr) -> Vec<LEvent>) -> Vec<(From, String)> {
        let events = f(&mut self.lib);
        let mut queue = Vec::new();
        self.absorb_lib(events, &mut queue);
        queue
    }

    pub fn assert_private(&self) {
        assert_eq!(self.ours.state("bob"), ConversationState::Encrypted);
        assert_eq!(self.lib.msgstate("alice"), MsgState::Encrypted);
        assert_eq!(
            self.ours.peer_fingerprint("bob").unwrap().to_string(),
            self.lib.fingerprint()
        );
        assert_eq!(
            self.lib.their_fingerprint("alice").unwrap(),
            self.ours.fingerprint().to_string()
        );
    }

    /// Texts shown to us, with their encrypted flag.
    pub fn ours_shown(&self) -> Vec<(String, bool)> {
        super::shown_in(&self.ours_events)
    }

    pub fn lib_shown(&self) -> Vec<(String, bool)> {
        self.lib_events
            .iter()
            .filter_map(|e| match e {
                LEvent::Message {
                    text, encrypted, ..
                } => Some((text.clone(), *encrypted)),
                _ => None,
            })
            .collect()
    }

    /// Forgets the events and the wire seen so far.
    pub fn clear(&mut self) {
        self.wire.clear();
        self.ours_events.clear();
        self.lib_events.clear();
    }
}
