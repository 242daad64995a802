//! Whose key speaks for whom: every group input is taken only from an OTR session whose
//! key is the one the room names for its sender.
//!
//! One nick can have several OTR sessions at once (a peer logged in twice has several
//! instances, each with its own key), so that a message came from "bob" says nothing of
//! which key wrote it. The engine tells, per event, the fingerprint of the session it came
//! from ([`otr::Origin`]); the node compares it with the key the room expects for that
//! nick before it looks at what the message says:
//!
//! | we are | the sender is | expected key |
//! |---|---|---|
//! | invited or joining | the inviting host | the key of the session its invitation came over |
//! | member | the host | the same (or, after a hand-off, the successor's key in the last roster) |
//! | member | another member | its roster entry (the previous generation's roster for late digests) |
//! | host | a member | its roster entry |
//! | host | an invitee | the key of the session our invitation went over |
//!
//! A message from any other key is dropped and raises [`Alert::FingerprintMismatch`]
//! (once per nick and key). Sending follows the same table: nothing leaves for a peer while
//! the engine's current session with it has another key, and no pairwise key is derived
//! from such a session. Senders the table does not cover (not in the room) are left to the
//! role checks that follow (`NotAdmitted`).

use otr::crypto::Fingerprint;

use super::{Node, Room};
use crate::output::{Alert, Output};

/// The key the room expects for a peer, and the other key of the engine's current
/// session with it.
pub(super) struct Mismatch {
    /// The room's key for the peer.
    pub(super) expected: Fingerprint,
    /// The session's.
    pub(super) actual: Fingerprint,
}

/// A peer and the key we raised `FingerprintMismatch` for (`Node::mismatches`).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Warned {
    /// The peer.
    pub(super) nick: String,
    /// The key its session had.
    pub(super) key: Fingerprint,
}

/// How many (nick, key) pairs we remember having warned about, so that a peer repeating
/// itself raises one alert, not one per message. When full the memory starts over: each
/// new key costs the sender an OTR key exchange, so alerts stay rare.
pub(super) const MAX_MISMATCH_MEMORY: usize = 64;

impl Node {
    /// The key the room expects for `peer`, if the room names one.
    pub(super) fn expected_key(&self, peer: &str) -> Option<Fingerprint> {
        match &self.room {
            Room::Idle => None,
            Room::Invited { host, host_fp, .. } | Room::Joining { host, host_fp, .. } => {
                (host == peer).then_some(*host_fp)
            }
            Room::Member(m) => {
                if m.s.host == peer {
                    return Some(m.s.host_fp);
                }
                m.s.roster
                    .entry(peer)
                    .or_else(|| m.s.prev.as_ref().and_then(|p| p.roster.entry(peer)))
                    .map(|e| e.fingerprint)
            }
            Room::Host(h) => {
                h.s.roster
                    .entry(peer)
                    .map(|e| e.fingerprint)
                    .or_else(|| h.pins.get(peer).copied())
            }
        }
    }

    /// The key the room expects for `peer` and the key of the engine's current session
    /// with it, when they differ (what we send would go to the wrong key); `None` outside
    /// a room.
    pub(super) fn key_mismatch(&self, peer: &str) -> Option<Mismatch> {
        let expected = self.expected_key(peer)?;
        let actual = self.engine.peer_fingerprint(peer)?;
        self.room_id()?;
        (actual != expected).then_some(Mismatch { expected, actual })
    }

    /// May a group input from `peer`, arriving over a session with key `actual`, be
    /// looked at? If the room expects another key for `peer`, no: it is dropped, with an
    /// alert the first time.
    pub(super) fn origin_ok(
        &mut self,
        peer: &str,
        actual: Fingerprint,
        out: &mut Vec<Output>,
    ) -> bool {
        match self.expected_key(peer) {
            Some(expected) if expected != actual => {
                self.warn_mismatch(peer, expected, actual, out);
                false
            }
            _ => true,
        }
    }

    /// Raises [`Alert::FingerprintMismatch`] for `peer` once per key.
    pub(super) fn warn_mismatch(
        &mut self,
        peer: &str,
        expected: Fingerprint,
        actual: Fingerprint,
        out: &mut Vec<Output>,
    ) {
        let Some(room) = self.room_id().cloned() else {
            return;
        };
        if self.mismatches.len() >= MAX_MISMATCH_MEMORY {
            self.mismatches.clear();
        }
        if self.mismatches.insert(Warned {
            nick: peer.to_owned(),
            key: actual,
        }) {
            out.push(Output::Alert(Alert::FingerprintMismatch {
                room,
                nick: peer.to_owned(),
                expected,
                actual,
            }));
        }
    }

    /// We host and our invitation to `peer` just left over its current session: its
    /// `join` must come from that session's key.
    pub(super) fn pin_invitee(&mut self, peer: &str) {
        let Some(fp) = self.engine.peer_fingerprint(peer) else {
            return;
        };
        if let Room::Host(h) = &mut self.room {
            if h.invited.contains_key(peer) && !h.pins.contains_key(peer) {
                h.pins.insert(peer.to_owned(), fp);
            }
        }
    }
}
