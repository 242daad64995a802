//! The transcript hash chain and the per-recipient MACs: everything a member computes to
//! check the host.
//!
//! Chain: `h(0) = SHA-256("offrecord-group chain v1" || lp(room) || epoch)` for a new host
//! generation, and `h(g) = SHA-256(h(g-1) || epoch || g || item)` where `item` is the
//! canonical form of transcript item `g` (see [`item_bytes`]); integers are 8-byte
//! big-endian, `lp(x)` is a 4-byte big-endian length then `x`. Two members that received the
//! same items in the same order hold the same head.

use std::collections::BTreeMap;

use otr::crypto::sym::{ct_eq, hmac_sha256, sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::envelope::{Item, MemberKind, RoomId, KID_LEN, MAC_LEN};

fn lp(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The canonical bytes of a transcript item (what the chain hashes). A message is
/// represented by the hash of its body, so the chain never holds the text itself.
pub fn item_bytes(item: &Item) -> Vec<u8> {
    let mut out = Vec::new();
    match item {
        Item::Msg(m) => {
            out.push(b'm');
            lp(&mut out, m.sender.as_bytes());
            out.extend_from_slice(&m.sseq.to_be_bytes());
            out.extend_from_slice(&m.seen.to_be_bytes());
            out.extend_from_slice(&sha256(&[m.body.as_bytes()]));
        }
        Item::Roster(r) => {
            out.push(b'r');
            lp(&mut out, r.host.as_bytes());
            for e in &r.members {
                lp(&mut out, e.nick.as_bytes());
                out.extend_from_slice(&e.fingerprint.0);
                out.push(match e.kind {
                    MemberKind::Full => b'f',
                    MemberKind::Thin => b't',
                });
            }
        }
    }
    out
}

/// The chain head before the first item of a host generation.
pub fn genesis(room: &RoomId, epoch: u64) -> [u8; 32] {
    let mut b = Vec::new();
    lp(&mut b, room.as_str().as_bytes());
    sha256(&[b"offrecord-group chain v1", &b, &epoch.to_be_bytes()])
}

/// One member's transcript chain for one host generation, with the recent heads kept for
/// comparing digests that arrive late.
#[derive(Debug, Clone)]
pub struct Chain {
    /// The host generation.
    pub epoch: u64,
    /// The number of the last item added.
    pub gseq: u64,
    /// The head after it.
    pub head: [u8; 32],
    heads: BTreeMap<u64, [u8; 32]>,
    keep: usize,
}

impl Chain {
    /// A chain that starts after item `gseq` with head `anchor`, keeping `keep` heads.
    pub fn new(epoch: u64, gseq: u64, anchor: [u8; 32], keep: usize) -> Self {
        let mut heads = BTreeMap::new();
        heads.insert(gseq, anchor);
        Self {
            epoch,
            gseq,
            head: anchor,
            heads,
            keep: keep.max(1),
        }
    }

    /// Adds item `gseq` (which must be the next number; the caller orders items).
    pub fn push(&mut self, gseq: u64, item: &Item) {
        self.head = sha256(&[
            &self.head,
            &self.epoch.to_be_bytes(),
            &gseq.to_be_bytes(),
            &item_bytes(item),
        ]);
        self.gseq = gseq;
        self.heads.insert(gseq, self.head);
        while self.heads.len() > self.keep {
            self.heads.pop_first();
        }
    }

    /// The head after item `gseq`, if still kept.
    pub fn head_at(&self, gseq: u64) -> Option<[u8; 32]> {
        self.heads.get(&gseq).copied()
    }
}

/// A pairwise MAC key shared by two members of a room, derived from the extra symmetric
/// key of their own OTR session. Zeroized on drop, redacted in `Debug`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct PairKey([u8; 32]);

impl core::fmt::Debug for PairKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("PairKey(<redacted>)")
    }
}

impl PairKey {
    /// Derives the room's pairwise key from an OTR extra symmetric key.
    pub fn derive(extra: &[u8; 32], room: &RoomId) -> Self {
        let mut b = Vec::new();
        lp(&mut b, room.as_str().as_bytes());
        Self(hmac_sha256(extra, &[b"offrecord-group pair v1", &b]))
    }

    /// The key's public id (8 bytes of a hash of the key).
    pub fn kid(&self) -> [u8; KID_LEN] {
        let h = sha256(&[b"offrecord-group kid v1", &self.0]);
        let mut out = [0u8; KID_LEN];
        out.copy_from_slice(&h[..KID_LEN]);
        out
    }

    /// The MAC `sender` attaches for `recipient` to its message `sseq`, written in host
    /// generation `epoch` after it had seen item `seen`:
    /// `HMAC-SHA256(K, "offrecord-group mac v2" || lp(room) || epoch || lp(sender) ||
    /// lp(recipient) || sseq || seen || SHA-256(body))`, truncated to [`MAC_LEN`] bytes.
    /// It binds everything the sender knows of where its line stands: the room, the
    /// generation, its own counter and the transcript position it had reached (not the
    /// number the host gives the line, which the sender cannot know: counters, `seen` and
    /// digests guard that). A line cannot be carried into another room or generation, nor
    /// re-numbered, without the MAC failing.
    #[allow(clippy::too_many_arguments)]
    pub fn mac(
        &self,
        room: &RoomId,
        epoch: u64,
        sender: &str,
        recipient: &str,
        sseq: u64,
        seen: u64,
        body: &str,
    ) -> [u8; MAC_LEN] {
        let mut b = Vec::new();
        lp(&mut b, room.as_str().as_bytes());
        b.extend_from_slice(&epoch.to_be_bytes());
        lp(&mut b, sender.as_bytes());
        lp(&mut b, recipient.as_bytes());
        b.extend_from_slice(&sseq.to_be_bytes());
        b.extend_from_slice(&seen.to_be_bytes());
        b.extend_from_slice(&sha256(&[body.as_bytes()]));
        let full = hmac_sha256(&self.0, &[b"offrecord-group mac v2", &b]);
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }

    /// Checks a MAC in constant time.
    #[allow(clippy::too_many_arguments)]
    pub fn verify(
        &self,
        room: &RoomId,
        epoch: u64,
        sender: &str,
        recipient: &str,
        sseq: u64,
        seen: u64,
        body: &str,
        mac: &[u8; MAC_LEN],
    ) -> bool {
        ct_eq(
            &self.mac(room, epoch, sender, recipient, sseq, seen, body),
            mac,
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::envelope::MsgItem;

    #[test]
    fn chains_agree_on_equal_items_and_differ_otherwise() {
        let room = RoomId::parse("00112233445566aa").unwrap();
        let item = |b: &str| {
            Item::Msg(MsgItem {
                sender: "bob".into(),
                sseq: 1,
                seen: 0,
                body: b.into(),
            })
        };
        let mut a = Chain::new(1, 0, genesis(&room, 1), 4);
        let mut b = Chain::new(1, 0, genesis(&room, 1), 4);
        a.push(1, &item("x"));
        b.push(1, &item("x"));
        assert_eq!(a.head, b.head);
        a.push(2, &item("y"));
        b.push(2, &item("z"));
        assert_ne!(a.head, b.head);
        assert_eq!(a.head_at(1), b.head_at(1));
        for g in 3..10 {
            a.push(g, &item("y"));
        }
        assert_eq!(a.head_at(1), None);
    }

    #[test]
    fn macs_bind_every_field() {
        let room = RoomId::parse("00112233445566aa").unwrap();
        let k = PairKey::derive(&[1; 32], &room);
        let other = RoomId::parse("00112233445566ab").unwrap();
        let m = k.mac(&room, 1, "a", "b", 1, 0, "hi");
        assert!(k.verify(&room, 1, "a", "b", 1, 0, "hi", &m));
        assert!(!k.verify(&other, 1, "a", "b", 1, 0, "hi", &m));
        assert!(!k.verify(&room, 2, "a", "b", 1, 0, "hi", &m));
        assert!(!k.verify(&room, 1, "c", "b", 1, 0, "hi", &m));
        assert!(!k.verify(&room, 1, "a", "c", 1, 0, "hi", &m));
        assert!(!k.verify(&room, 1, "a", "b", 2, 0, "hi", &m));
        assert!(!k.verify(&room, 1, "a", "b", 1, 1, "hi", &m));
        assert!(!k.verify(&room, 1, "a", "b", 1, 0, "ho", &m));
        assert_eq!(format!("{k:?}"), "PairKey(<redacted>)");
    }
}
