//! Pairwise MAC keys between full members, for end-to-end sender authentication: the
//! member with the lower fingerprint derives OTR's extra symmetric key (TLV 8) over their
//! session and offers it, the other acknowledges with `pk`; a key offer that beats the
//! roster is kept until the roster names its sender (see `KeyState`).

use otr::crypto::Fingerprint;
use otr::ConversationState;

use super::links::Link;
use super::{authn, Node, GROUP_KEY_USAGE};
use crate::chain::PairKey;
use crate::envelope::{Envelope, MemberKind, RoomId};
use crate::limits::MAX_EARLY_OFFERS;
use crate::output::{Alert, ForgeReason, Output};

/// A key offer (TLV 8) from a peer our roster did not name yet (`Link::early_offer`).
pub(super) struct EarlyOffer {
    /// The extra symmetric key the peer derived.
    pub(super) extra: otr::SymmetricKey,
    /// The key of the session it came over, which the roster must name for the peer.
    pub(super) key: Fingerprint,
}

/// The pairwise key with one other member.
///
/// | state | event | next |
/// |---|---|---|
/// | `None` | we are the initiator (lower fingerprint) and the session is private: derive, send TLV 8 | `Offered` |
/// | `None`, `Offered`, `Ready` | TLV 8 from the peer (we are the responder): send `pk` | `Ready` |
/// | any | TLV 8 from a peer our roster does not name yet: keep it in `early_offer` | unchanged |
/// | any | a roster that names the peer, with an `early_offer` kept: as TLV 8 from the peer | `Ready` |
/// | `Offered` | `pk` naming one of our keys: send our `pk` | `Ready` |
/// | `Offered` | no `pk` after `retry_secs`: derive again | `Offered` (one more key) |
/// | `Ready` | `pk` (the peer's first MACed counter) | `Ready` |
///
/// At most 8 keys are kept (`keys`, `known`), the oldest dropped first.
pub(super) enum KeyState {
    None,
    Offered { keys: Vec<PairKey>, since: f64 },
    Ready { send: PairKey, known: Vec<PairKey> },
}

impl Link {
    pub(super) fn known_keys(&self) -> &[PairKey] {
        match &self.key {
            KeyState::None => &[],
            KeyState::Offered { keys, .. } => keys,
            KeyState::Ready { known, .. } => known,
        }
    }
}

impl Node {
    /// Do we share a pairwise MAC key with member `peer`, so that its lines to us (and ours
    /// to it) are authenticated end to end rather than only vouched for by the host?
    pub fn pairwise_ready(&self, peer: &str) -> bool {
        self.links
            .get(peer)
            .is_some_and(|l| matches!(l.key, KeyState::Ready { .. }))
    }

    /// Do we want a pairwise MAC key with `peer`? Both are full members, neither hosts.
    pub(super) fn wants_key(&self, peer: &str) -> bool {
        let Some(s) = self.shared() else {
            return false;
        };
        self.cfg.pairwise_macs
            && peer != self.cfg.nick
            && peer != s.host
            && s.host != self.cfg.nick
            && s.roster
                .entry(peer)
                .is_some_and(|e| e.kind == MemberKind::Full)
    }

    /// The member with the lower fingerprint derives the key.
    pub(super) fn key_initiator(&self, peer: &str) -> bool {
        self.wants_key(peer)
            && self
                .shared()
                .and_then(|s| s.roster.entry(peer))
                .is_some_and(|e| self.engine.fingerprint().0 < e.fingerprint.0)
    }

    pub(super) fn offer_key(&mut self, peer: &str, out: &mut Vec<Output>) {
        let Some(room) = self.room_id().cloned() else {
            return;
        };
        if self.engine.state(peer) != ConversationState::Encrypted {
            self.ensure_session(peer, out);
            return;
        }
        if self.key_mismatch(peer).is_some() {
            // The engine's current session with the peer has another key than the
            // roster's: a key derived there would be shared with that key's holder.
            return;
        }
        let derived =
            self.engine
                .extra_symmetric_key(peer, GROUP_KEY_USAGE, room.as_str().as_bytes());
        // Refused only without a private session, which was checked above.
        if let Ok((extra, events)) = derived {
            self.pump(events, None, out);
            let k = PairKey::derive(extra.as_bytes(), &room);
            let now = self.now;
            let link = self.link(peer);
            let mut keys = match std::mem::replace(&mut link.key, KeyState::None) {
                KeyState::Offered { keys, .. } => keys,
                KeyState::Ready { known, .. } => known,
                KeyState::None => Vec::new(),
            };
            keys.push(k);
            if keys.len() > 8 {
                keys.remove(0);
            }
            link.key = KeyState::Offered { keys, since: now };
        }
    }

    /// The peer derived a key for us (we are the responder), over a session whose key is
    /// `key`: taken only if that is the key the roster names for the peer.
    pub(super) fn on_tlv_key(
        &mut self,
        peer: &str,
        usedata: &[u8],
        extra: otr::SymmetricKey,
        key: Fingerprint,
        out: &mut Vec<Output>,
    ) {
        let Some(room) = self.room_id().cloned() else {
            return;
        };
        if usedata != room.as_str().as_bytes() || !self.origin_ok(peer, key, out) {
            return;
        }
        if !self.wants_key(peer) {
            if peer != self.cfg.nick && self.shared().is_none_or(|s| s.roster.entry(peer).is_none())
            {
                // The sender learnt of us before we learnt of it: answer once our roster
                // names it with this key (see `mesh`), not at the initiator's next retry.
                // At most MAX_EARLY_OFFERS peers' (the latest of each).
                let kept = self
                    .links
                    .values()
                    .filter(|l| l.early_offer.is_some())
                    .count();
                let theirs = self
                    .links
                    .get(peer)
                    .is_some_and(|l| l.early_offer.is_some());
                if theirs || kept < MAX_EARLY_OFFERS {
                    self.link(peer).early_offer = Some(EarlyOffer { extra, key });
                }
            }
            return;
        }
        self.accept_offer(peer, room, extra, out);
    }

    /// We are the responder: take the peer's key and acknowledge it.
    fn accept_offer(
        &mut self,
        peer: &str,
        room: RoomId,
        extra: otr::SymmetricKey,
        out: &mut Vec<Output>,
    ) {
        let k = PairKey::derive(extra.as_bytes(), &room);
        let kid = k.kid();
        let from = self.shared().map_or(0, |s| s.sseq).saturating_add(1);
        let link = self.link(peer);
        let mut known = match std::mem::replace(&mut link.key, KeyState::None) {
            KeyState::Offered { keys, .. } => keys,
            KeyState::Ready { known, .. } => known,
            KeyState::None => Vec::new(),
        };
        known.push(k.clone());
        if known.len() > 8 {
            known.remove(0);
        }
        link.key = KeyState::Ready { send: k, known };
        self.send_env(peer, &Envelope::KeyAck { room, kid, from }, None, out);
    }

    pub(super) fn on_key_ack(
        &mut self,
        peer: &str,
        kid: [u8; 8],
        from: u64,
        out: &mut Vec<Output>,
    ) {
        if !self.wants_key(peer) {
            return;
        }
        let our_from = self.shared().map_or(0, |s| s.sseq).saturating_add(1);
        let Some(room) = self.room_id().cloned() else {
            return;
        };
        let link = self.link(peer);
        let mut reply = false;
        match std::mem::replace(&mut link.key, KeyState::None) {
            KeyState::Offered { keys, since } => {
                if let Some(k) = keys.iter().find(|k| k.kid() == kid).cloned() {
                    link.key = KeyState::Ready {
                        send: k,
                        known: keys,
                    };
                    reply = true;
                } else {
                    link.key = KeyState::Offered { keys, since };
                }
            }
            KeyState::Ready { send, known } => {
                link.key = KeyState::Ready { send, known };
            }
            KeyState::None => {}
        }
        if !link.known_keys().iter().any(|k| k.kid() == kid) {
            return;
        }
        link.their_from = Some(link.their_from.map_or(from, |f| f.min(from)));
        let late: Vec<authn::Unauthenticated> = link
            .unauthenticated
            .iter()
            .copied()
            .filter(|u| u.sseq >= from)
            .collect();
        link.unauthenticated.clear();
        for u in late {
            out.push(Output::Alert(Alert::Forged {
                room: room.clone(),
                gseq: u.gseq,
                sender: peer.to_owned(),
                reason: ForgeReason::MissingMac,
            }));
        }
        if reply {
            self.send_env(
                peer,
                &Envelope::KeyAck {
                    room,
                    kid,
                    from: our_from,
                },
                None,
                out,
            );
        }
    }

    pub(super) fn retry_keys(&mut self, out: &mut Vec<Output>) {
        let now = self.now;
        let retry = self.cfg.session_retry_secs;
        let due: Vec<String> = self
            .links
            .iter()
            .filter(
                |(_, l)| matches!(l.key, KeyState::Offered { since, .. } if now - since >= retry),
            )
            .map(|(p, _)| p.clone())
            .collect();
        for peer in due {
            if self.key_initiator(&peer) {
                self.offer_key(&peer, out);
            }
        }
    }

    /// After a roster change: start what the members' mesh needs from us.
    pub(super) fn mesh(&mut self, out: &mut Vec<Output>) {
        let Some(s) = self.shared() else {
            return;
        };
        let room = s.id.clone();
        let peers: Vec<String> = s.roster.members.iter().map(|m| m.nick.clone()).collect();
        for peer in peers {
            if self.key_initiator(&peer) && matches!(self.link(&peer).key, KeyState::None) {
                self.offer_key(&peer, out);
            }
            if self.wants_key(&peer) {
                let early = self.links.get_mut(&peer).and_then(|l| l.early_offer.take());
                if let Some(EarlyOffer { extra, key }) = early {
                    if self.origin_ok(&peer, key, out) {
                        self.accept_offer(&peer, room.clone(), extra, out);
                    }
                }
            }
        }
    }
}
