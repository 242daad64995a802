//! A test oracle (feature `keystream-oracle`, never for production): records a fingerprint
//! of every (AES key, counter) pair the data phase encrypts under on this thread, so that a
//! fuzzer or an adversarial test can check the one property that, broken, hands an
//! eavesdropper plaintext without any key: no keystream is ever used twice.

use std::cell::RefCell;
use std::collections::HashSet;

use crate::crypto::sym::sha256;

thread_local! {
    static SEALED: RefCell<HashSet<[u8; 16]>> = RefCell::new(HashSet::new());
    static REUSED: RefCell<u64> = const { RefCell::new(0) };
}

/// Called by the data phase before it encrypts under `aes_key` with counter `ctr`.
pub(crate) fn sealed(aes_key: &[u8; 16], ctr: u64) {
    let digest = sha256(&[aes_key, &ctr.to_be_bytes()]);
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    let fresh = SEALED.with(|s| s.borrow_mut().insert(id));
    if !fresh {
        REUSED.with(|r| *r.borrow_mut() += 1);
    }
}

/// How many times, since the last [`reset`], a (key, counter) pair was encrypted under
/// again on this thread. Anything but 0 is a keystream reuse.
pub fn reuses() -> u64 {
    REUSED.with(|r| *r.borrow())
}

/// Forgets everything recorded on this thread.
pub fn reset() {
    SEALED.with(|s| s.borrow_mut().clear());
    REUSED.with(|r| *r.borrow_mut() = 0);
}
