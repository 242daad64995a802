//! A small memory of peer keys that passed validation, so that a peer's key costs the
//! validation (a primality test on q and two 1024-bit exponentiations, about half a
//! millisecond) once, not at every key exchange with that peer.

use std::collections::VecDeque;

use super::DsaPublicKey;
use crate::crypto::CryptoError;

/// How many validated keys an engine remembers (the least recently used goes first).
pub(crate) const VALIDATED_KEYS_CAPACITY: usize = 32;

/// Peer keys that passed [`DsaPublicKey::validate`], by SHA-256 of their encoding (the
/// fingerprint's input). Only keys that validated are remembered, so a weak key is
/// refused every time. Public data only.
#[derive(Debug, Clone)]
pub(crate) struct ValidatedKeys {
    recent: VecDeque<[u8; 32]>,
    capacity: usize,
}

impl Default for ValidatedKeys {
    fn default() -> Self {
        Self::with_capacity(VALIDATED_KEYS_CAPACITY)
    }
}

impl ValidatedKeys {
    /// An empty memory of at most `capacity` keys (at least one).
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            recent: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// [`DsaPublicKey::validate`], skipped for a key that passed it recently.
    pub(crate) fn validate(&mut self, key: &DsaPublicKey) -> Result<(), CryptoError> {
        let id = key.digest();
        if let Some(at) = self.recent.iter().position(|known| *known == id) {
            self.recent.remove(at);
            self.recent.push_back(id);
            return Ok(());
        }
        key.validate()?;
        if self.recent.len() >= self.capacity {
            self.recent.pop_front();
        }
        self.recent.push_back(id);
        Ok(())
    }

    /// Whether `key` is remembered as validated.
    #[cfg(test)]
    pub(crate) fn contains(&self, key: &DsaPublicKey) -> bool {
        self.recent.contains(&key.digest())
    }
}
