//! The fingerprints we have seen for each peer, and which of them the user verified.

use std::collections::BTreeMap;

use crate::crypto::Fingerprint;

/// The most unverified fingerprints kept per peer: every key exchange with a new key adds
/// one (and a client saves the file after it), so one peer presenting key after key could
/// otherwise grow it without end. The oldest-sorting unverified one makes room.
pub const MAX_UNVERIFIED_PER_PEER: usize = 16;

/// The most fingerprints kept in total: beyond it, new unverified fingerprints are not
/// recorded (the session works; its key is just not remembered).
pub const MAX_KNOWN_FINGERPRINTS: usize = 65_536;

/// Known fingerprints per peer with their trust, as libotr's `otr.fingerprints` holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownFingerprints {
    peers: BTreeMap<String, BTreeMap<Fingerprint, bool>>,
}

impl KnownFingerprints {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `fingerprint` for `peer` (untrusted if new). Returns true if it was new.
    pub fn insert(&mut self, peer: &str, fingerprint: Fingerprint) -> bool {
        if self
            .peers
            .get(peer)
            .is_some_and(|known| known.contains_key(&fingerprint))
        {
            return false;
        }
        if self.len() >= MAX_KNOWN_FINGERPRINTS {
            return false;
        }
        let known = self.peers.entry(peer.to_owned()).or_default();
        let unverified: Vec<Fingerprint> = known
            .iter()
            .filter(|(_, trusted)| !**trusted)
            .map(|(fp, _)| *fp)
            .collect();
        if unverified.len() >= MAX_UNVERIFIED_PER_PEER {
            // A peer (or whoever logs in under its name) presenting key after key: the
            // unverified ones make room; a verified fingerprint is never forgotten.
            if let Some(old) = unverified.first() {
                known.remove(old);
            }
        }
        known.insert(fingerprint, false);
        true
    }

    /// How many fingerprints are known, for all peers together.
    pub fn len(&self) -> usize {
        self.peers.values().map(BTreeMap::len).sum()
    }

    /// Whether no fingerprint is known.
    pub fn is_empty(&self) -> bool {
        self.peers.values().all(BTreeMap::is_empty)
    }

    /// Marks `fingerprint` of `peer` verified or not (recording it if new).
    pub fn set_trusted(&mut self, peer: &str, fingerprint: Fingerprint, trusted: bool) {
        self.peers
            .entry(peer.to_owned())
            .or_default()
            .insert(fingerprint, trusted);
    }

    /// True if the user verified `fingerprint` for `peer`.
    pub fn is_trusted(&self, peer: &str, fingerprint: &Fingerprint) -> bool {
        self.peers
            .get(peer)
            .and_then(|m| m.get(fingerprint))
            .copied()
            .unwrap_or(false)
    }

    /// Every (peer, fingerprint, trusted) triple, ordered by peer then fingerprint.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Fingerprint, bool)> {
        self.peers
            .iter()
            .flat_map(|(peer, fps)| fps.iter().map(move |(fp, t)| (peer.as_str(), fp, *t)))
    }
}
