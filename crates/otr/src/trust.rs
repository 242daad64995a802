//! The fingerprints we have seen for each peer, and which of them the user verified.

use std::collections::BTreeMap;

use crate::crypto::Fingerprint;

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
        let known = self.peers.entry(peer.to_owned()).or_default();
        if known.contains_key(&fingerprint) {
            return false;
        }
        known.insert(fingerprint, false);
        true
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
