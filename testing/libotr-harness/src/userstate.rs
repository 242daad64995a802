//! libotr's own file routines over a bare `OtrlUserState`: generating and reading private
//! keys, reading and writing fingerprints with their trust, instance tags. For round-trip
//! tests of programs that read and write libotr's files.
//!
//! ```no_run
//! use libotr_harness::userstate::UserState;
//! let mut us = UserState::new().unwrap();
//! let dir = std::path::Path::new("/tmp/otr");
//! us.privkey_generate(&dir.join("otr.private_key"), "alice", "prpl-irc").unwrap();
//! println!("{}", us.fingerprint("alice", "prpl-irc").unwrap());
//! ```

use std::ffi::{c_char, c_int, c_uchar, c_uint, CString};
use std::path::Path;

use crate::{cstr_to_string, init, strerror, FPRINT_HUMAN_LEN};

/// Opaque `OtrlUserState`.
#[repr(C)]
struct RawUserState {
    _private: [u8; 0],
}

extern "C" {
    fn harness_us_new() -> *mut RawUserState;
    fn harness_us_free(us: *mut RawUserState);
    fn harness_us_privkey_generate(
        us: *mut RawUserState,
        path: *const c_char,
        account: *const c_char,
        protocol: *const c_char,
    ) -> c_uint;
    fn harness_us_privkey_read(us: *mut RawUserState, path: *const c_char) -> c_uint;
    fn harness_us_privkey_fingerprint(
        us: *mut RawUserState,
        account: *const c_char,
        protocol: *const c_char,
        out: *mut c_char,
    ) -> c_int;
    fn harness_us_privkey_nth(
        us: *mut RawUserState,
        n: c_int,
        account: *mut *const c_char,
        protocol: *mut *const c_char,
    ) -> c_int;
    fn harness_us_privkey_sign(
        us: *mut RawUserState,
        account: *const c_char,
        protocol: *const c_char,
        data: *const c_uchar,
        len: usize,
        out: *mut c_uchar,
    ) -> c_int;
    fn harness_us_privkey_pubkey(
        us: *mut RawUserState,
        account: *const c_char,
        protocol: *const c_char,
        out: *mut c_uchar,
        cap: usize,
    ) -> usize;
    fn harness_us_read_fingerprints(us: *mut RawUserState, path: *const c_char) -> c_uint;
    fn harness_us_write_fingerprints(us: *mut RawUserState, path: *const c_char) -> c_uint;
    fn harness_us_add_fingerprint(
        us: *mut RawUserState,
        username: *const c_char,
        account: *const c_char,
        protocol: *const c_char,
        fingerprint: *const c_uchar,
        trust: *const c_char,
    ) -> c_int;
    fn harness_us_fingerprint_nth(
        us: *mut RawUserState,
        n: c_int,
        username: *mut *const c_char,
        account: *mut *const c_char,
        protocol: *mut *const c_char,
        fp: *mut c_uchar,
        trust: *mut *const c_char,
    ) -> c_int;
    fn harness_us_instag_generate(
        us: *mut RawUserState,
        path: *const c_char,
        account: *const c_char,
        protocol: *const c_char,
    ) -> c_uint;
    fn harness_us_instag_read(us: *mut RawUserState, path: *const c_char) -> c_uint;
    fn harness_us_instag_find(
        us: *mut RawUserState,
        account: *const c_char,
        protocol: *const c_char,
    ) -> c_uint;
}

/// A fingerprint libotr holds, with its trust text (`None`: libotr holds none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownFingerprint {
    /// The peer.
    pub username: String,
    /// Our account.
    pub account: String,
    /// The protocol id.
    pub protocol: String,
    /// The raw fingerprint.
    pub fingerprint: [u8; 20],
    /// libotr's trust text.
    pub trust: Option<String>,
}

/// One `OtrlUserState` (libotr's in-memory keys, fingerprints and instance tags).
#[derive(Debug)]
pub struct UserState {
    raw: *mut RawUserState,
}

// SAFETY: the handle owns its OtrlUserState; libotr keeps no global mutable state for it and
// libgcrypt is thread-safe. `&mut self` on every call keeps use single-threaded.
unsafe impl Send for UserState {}

fn c(s: &str) -> Result<CString, String> {
    CString::new(s).map_err(|_| format!("string contains a NUL byte: {s:?}"))
}

fn c_path(path: &Path) -> Result<CString, String> {
    c(path
        .to_str()
        .ok_or_else(|| format!("path is not UTF-8: {}", path.display()))?)
}

fn check(what: &str, err: c_uint) -> Result<(), String> {
    if err == 0 {
        Ok(())
    } else {
        Err(format!("libotr: {what}: {}", strerror(err)))
    }
}

impl UserState {
    /// An empty user state (`otrl_userstate_create`).
    pub fn new() -> Result<Self, String> {
        init()?;
        // SAFETY: no arguments; returns an owned pointer or null.
        let raw = unsafe { harness_us_new() };
        if raw.is_null() {
            return Err("otrl_userstate_create failed".to_owned());
        }
        Ok(Self { raw })
    }

    /// `otrl_privkey_generate`: a new key for (account, protocol), written to `path` with the
    /// other keys this state holds.
    pub fn privkey_generate(
        &mut self,
        path: &Path,
        account: &str,
        protocol: &str,
    ) -> Result<(), String> {
        let (p, a, pr) = (c_path(path)?, c(account)?, c(protocol)?);
        // SAFETY: live handle, valid NUL-terminated strings.
        check("otrl_privkey_generate", unsafe {
            harness_us_privkey_generate(self.raw, p.as_ptr(), a.as_ptr(), pr.as_ptr())
        })
    }

    /// `otrl_privkey_read`: replaces the keys this state holds by the file's.
    pub fn privkey_read(&mut self, path: &Path) -> Result<(), String> {
        let p = c_path(path)?;
        // SAFETY: live handle, valid NUL-terminated string.
        check("otrl_privkey_read", unsafe {
            harness_us_privkey_read(self.raw, p.as_ptr())
        })
    }

    /// `otrl_privkey_fingerprint`: our fingerprint for (account, protocol) in human form.
    pub fn fingerprint(&self, account: &str, protocol: &str) -> Option<String> {
        let (a, p) = (c(account).ok()?, c(protocol).ok()?);
        let mut buf = [0 as c_char; FPRINT_HUMAN_LEN];
        // SAFETY: live handle, valid strings, buf has the 45 bytes libotr writes.
        let rc = unsafe {
            harness_us_privkey_fingerprint(self.raw, a.as_ptr(), p.as_ptr(), buf.as_mut_ptr())
        };
        // SAFETY: on success buf holds a NUL-terminated string.
        (rc == 0)
            .then(|| unsafe { cstr_to_string(buf.as_ptr()) })
            .flatten()
    }

    /// Every (account, protocol) this state holds a key for, in libotr's list order.
    pub fn private_keys(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for n in 0.. {
            let (mut a, mut p): (*const c_char, *const c_char) =
                (std::ptr::null(), std::ptr::null());
            // SAFETY: live handle, valid out parameters.
            if unsafe { harness_us_privkey_nth(self.raw, n, &mut a, &mut p) } != 0 {
                break;
            }
            // SAFETY: the pointers are libotr's strings, valid until the state changes.
            let (a, p) = unsafe { (cstr_to_string(a), cstr_to_string(p)) };
            out.push((a.unwrap_or_default(), p.unwrap_or_default()));
        }
        out
    }

    /// `otrl_privkey_sign` with the key of (account, protocol): r || s.
    pub fn sign(&self, account: &str, protocol: &str, data: &[u8]) -> Option<[u8; 40]> {
        let (a, p) = (c(account).ok()?, c(protocol).ok()?);
        let mut out = [0u8; 40];
        // SAFETY: live handle, valid strings, data/len describe a live slice, out holds 40.
        let rc = unsafe {
            harness_us_privkey_sign(
                self.raw,
                a.as_ptr(),
                p.as_ptr(),
                data.as_ptr(),
                data.len(),
                out.as_mut_ptr(),
            )
        };
        (rc == 0).then_some(out)
    }

    /// The public key of (account, protocol) as libotr serializes and fingerprints it: MPI
    /// p, q, g, y (a PUBKEY without its type). `None` if there is no such key.
    pub fn public_key(&self, account: &str, protocol: &str) -> Option<Vec<u8>> {
        let (a, p) = (c(account).ok()?, c(protocol).ok()?);
        let mut out = vec![0u8; 1024];
        // SAFETY: live handle, valid strings, out holds `out.len()` bytes and the shim
        // copies at most that many.
        let len = unsafe {
            harness_us_privkey_pubkey(
                self.raw,
                a.as_ptr(),
                p.as_ptr(),
                out.as_mut_ptr(),
                out.len(),
            )
        };
        if len == 0 || len > out.len() {
            return None;
        }
        out.truncate(len);
        Some(out)
    }

    /// `otrl_privkey_read_fingerprints`: adds the file's fingerprints to this state.
    pub fn read_fingerprints(&mut self, path: &Path) -> Result<(), String> {
        let p = c_path(path)?;
        // SAFETY: live handle, valid NUL-terminated string.
        check("otrl_privkey_read_fingerprints", unsafe {
            harness_us_read_fingerprints(self.raw, p.as_ptr())
        })
    }

    /// `otrl_privkey_write_fingerprints`.
    pub fn write_fingerprints(&mut self, path: &Path) -> Result<(), String> {
        let p = c_path(path)?;
        // SAFETY: live handle, valid NUL-terminated string.
        check("otrl_privkey_write_fingerprints", unsafe {
            harness_us_write_fingerprints(self.raw, p.as_ptr())
        })
    }

    /// Records a peer's fingerprint with a trust text (`otrl_context_find`,
    /// `otrl_context_find_fingerprint`, `otrl_context_set_trust`).
    pub fn add_fingerprint(
        &mut self,
        username: &str,
        account: &str,
        protocol: &str,
        fingerprint: &[u8; 20],
        trust: Option<&str>,
    ) -> Result<(), String> {
        let (u, a, p) = (c(username)?, c(account)?, c(protocol)?);
        let t = trust.map(c).transpose()?;
        // SAFETY: live handle, valid strings (trust may be null), 20 fingerprint bytes.
        let rc = unsafe {
            harness_us_add_fingerprint(
                self.raw,
                u.as_ptr(),
                a.as_ptr(),
                p.as_ptr(),
                fingerprint.as_ptr(),
                t.as_ref().map_or(std::ptr::null(), |t| t.as_ptr()),
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err("libotr: could not add the fingerprint".to_owned())
        }
    }

    /// Every fingerprint this state holds, in libotr's order.
    pub fn fingerprints(&self) -> Vec<KnownFingerprint> {
        let mut out = Vec::new();
        for n in 0.. {
            let mut u: *const c_char = std::ptr::null();
            let mut a: *const c_char = std::ptr::null();
            let mut p: *const c_char = std::ptr::null();
            let mut t: *const c_char = std::ptr::null();
            let mut fp = [0u8; 20];
            // SAFETY: live handle, valid out parameters, fp holds 20 bytes.
            let rc = unsafe {
                harness_us_fingerprint_nth(
                    self.raw,
                    n,
                    &mut u,
                    &mut a,
                    &mut p,
                    fp.as_mut_ptr(),
                    &mut t,
                )
            };
            if rc != 0 {
                break;
            }
            // SAFETY: libotr's strings (or null for trust), valid until the state changes.
            let (u, a, p, t) = unsafe {
                (
                    cstr_to_string(u),
                    cstr_to_string(a),
                    cstr_to_string(p),
                    cstr_to_string(t),
                )
            };
            out.push(KnownFingerprint {
                username: u.unwrap_or_default(),
                account: a.unwrap_or_default(),
                protocol: p.unwrap_or_default(),
                fingerprint: fp,
                trust: t,
            });
        }
        out
    }

    /// `otrl_instag_generate`: a new instance tag for (account, protocol), written to `path`
    /// with the others this state holds.
    pub fn instag_generate(
        &mut self,
        path: &Path,
        account: &str,
        protocol: &str,
    ) -> Result<(), String> {
        let (p, a, pr) = (c_path(path)?, c(account)?, c(protocol)?);
        // SAFETY: live handle, valid NUL-terminated strings.
        check("otrl_instag_generate", unsafe {
            harness_us_instag_generate(self.raw, p.as_ptr(), a.as_ptr(), pr.as_ptr())
        })
    }

    /// `otrl_instag_read`: adds the file's instance tags to this state.
    pub fn instag_read(&mut self, path: &Path) -> Result<(), String> {
        let p = c_path(path)?;
        // SAFETY: live handle, valid NUL-terminated string.
        check("otrl_instag_read", unsafe {
            harness_us_instag_read(self.raw, p.as_ptr())
        })
    }

    /// `otrl_instag_find`: the instance tag of (account, protocol).
    pub fn instag(&self, account: &str, protocol: &str) -> Option<u32> {
        let (a, p) = (c(account).ok()?, c(protocol).ok()?);
        // SAFETY: live handle, valid NUL-terminated strings.
        let tag = unsafe { harness_us_instag_find(self.raw, a.as_ptr(), p.as_ptr()) };
        (tag != 0).then_some(tag)
    }
}

impl Drop for UserState {
    fn drop(&mut self) {
        // SAFETY: raw came from harness_us_new and is freed exactly once.
        unsafe { harness_us_free(self.raw) };
    }
}
