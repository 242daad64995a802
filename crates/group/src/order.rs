//! The order of a room's full members for one host generation: who hosts next, and who
//! watches whose transcript (the digest ring).
//!
//! Members are ordered by `SHA-256("offrecord-group order v1" || lp(room) || epoch ||
//! fingerprint)`, not by fingerprint. Ordered by fingerprint, a member that generates keys
//! until its fingerprint is small would be the next host of every room it joins, and
//! could choose its neighbours on the ring (the two members whose digests judge it). With
//! the hash, a key that ranks first in one room and generation ranks at random in every
//! other: to come first in a given room a member must know the room id before its key is
//! fixed (the host sends the id only inside an OTR session, pinned to that session's key,
//! see `node::origin`), and the rank changes at every generation.
//!
//! Every member computes the same order from the same roster, room id and generation.
//! Who derives a pairwise key (and starts two members' OTR session) is still the lower
//! fingerprint: that role only decides who sends the first message of an exchange whose
//! key both sides compute alike, so choosing it gains nothing, and it must not change
//! when the generation does.

use otr::crypto::sym::sha256;
use otr::crypto::Fingerprint;

use crate::envelope::RoomId;

/// A member's rank in host generation `epoch` of `room` (lower ranks first).
pub fn rank(room: &RoomId, epoch: u64, fingerprint: &Fingerprint) -> [u8; 32] {
    let id = room.as_str().as_bytes();
    let len = u32::try_from(id.len()).unwrap_or(u32::MAX).to_be_bytes();
    sha256(&[
        b"offrecord-group order v1",
        &len,
        id,
        &epoch.to_be_bytes(),
        &fingerprint.0,
    ])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_rank_depends_on_room_generation_and_key() {
        let a = RoomId::parse("0011223344556677").unwrap();
        let b = RoomId::parse("0011223344556678").unwrap();
        let low = Fingerprint([0; 20]);
        let r = rank(&a, 1, &low);
        assert_ne!(r, rank(&b, 1, &low));
        assert_ne!(r, rank(&a, 2, &low));
        assert_ne!(r, rank(&a, 1, &Fingerprint([1; 20])));
        assert_eq!(r, rank(&a, 1, &low));
    }
}
