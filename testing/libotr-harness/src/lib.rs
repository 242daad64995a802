//! Test-only harness that drives the real libotr (4.1.x, the C library) in
//! the same process, so differential tests can pair the `otr` engine with
//! libotr and compare what each side sends and shows.
//!
//! A [`LibOtr`] is one local account with its own `OtrlUserState`. Every
//! call returns the [`Event`]s libotr produced during that call, in order:
//! messages for the network ([`Event::Wire`]), messages to display
//! ([`Event::Message`]) and the application callbacks (secure / insecure,
//! new fingerprint, message events, SMP events, ...).
//!
//! The protocol name is always `"irc"`; peers are identified by their user
//! name.
//!
//! ```no_run
//! use libotr_harness::{LibOtr, Event, POLICY_DEFAULT};
//! let mut alice = LibOtr::with_cached_key("alice", POLICY_DEFAULT).unwrap();
//! for ev in alice.start("bob") {
//!     if let Event::Wire { data, .. } = ev {
//!         println!("to bob: {data}");
//!     }
//! }
//! ```

pub mod dsa;
pub mod userstate;

use std::ffi::{c_char, c_int, c_long, c_uchar, c_uint, CStr, CString};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// `OTRL_POLICY_ALLOW_V1` (libotr 4 cannot actually speak v1).
pub const POLICY_ALLOW_V1: u32 = 0x01;
/// `OTRL_POLICY_ALLOW_V2`: allow OTR protocol version 2.
pub const POLICY_ALLOW_V2: u32 = 0x02;
/// `OTRL_POLICY_ALLOW_V3`: allow OTR protocol version 3.
pub const POLICY_ALLOW_V3: u32 = 0x04;
/// `OTRL_POLICY_REQUIRE_ENCRYPTION`: refuse to send plaintext.
pub const POLICY_REQUIRE_ENCRYPTION: u32 = 0x08;
/// `OTRL_POLICY_SEND_WHITESPACE_TAG`: append the whitespace tag to plaintext.
pub const POLICY_SEND_WHITESPACE_TAG: u32 = 0x10;
/// `OTRL_POLICY_WHITESPACE_START_AKE`: start the AKE on a received tag.
pub const POLICY_WHITESPACE_START_AKE: u32 = 0x20;
/// `OTRL_POLICY_ERROR_START_AKE`: start the AKE on a received OTR error.
pub const POLICY_ERROR_START_AKE: u32 = 0x40;
/// `OTRL_POLICY_NEVER`: no OTR at all.
pub const POLICY_NEVER: u32 = 0;
/// `OTRL_POLICY_OPPORTUNISTIC`.
pub const POLICY_OPPORTUNISTIC: u32 = POLICY_ALLOW_V2
    | POLICY_ALLOW_V3
    | POLICY_SEND_WHITESPACE_TAG
    | POLICY_WHITESPACE_START_AKE
    | POLICY_ERROR_START_AKE;
/// `OTRL_POLICY_DEFAULT` (= opportunistic).
pub const POLICY_DEFAULT: u32 = POLICY_OPPORTUNISTIC;
/// `OTRL_POLICY_MANUAL`: v2 and v3, nothing automatic.
pub const POLICY_MANUAL: u32 = POLICY_ALLOW_V2 | POLICY_ALLOW_V3;
/// `OTRL_POLICY_ALWAYS`: require encryption, start the AKE on tags/errors.
pub const POLICY_ALWAYS: u32 = POLICY_ALLOW_V2
    | POLICY_ALLOW_V3
    | POLICY_REQUIRE_ENCRYPTION
    | POLICY_WHITESPACE_START_AKE
    | POLICY_ERROR_START_AKE;

/// `OtrlMessageEvent` names, indexed by code (without the
/// `OTRL_MSGEVENT_` prefix).
pub const MSGEVENT_NAMES: [&str; 16] = [
    "NONE",
    "ENCRYPTION_REQUIRED",
    "ENCRYPTION_ERROR",
    "CONNECTION_ENDED",
    "SETUP_ERROR",
    "MSG_REFLECTED",
    "MSG_RESENT",
    "RCVDMSG_NOT_IN_PRIVATE",
    "RCVDMSG_UNREADABLE",
    "RCVDMSG_MALFORMED",
    "LOG_HEARTBEAT_RCVD",
    "LOG_HEARTBEAT_SENT",
    "RCVDMSG_GENERAL_ERR",
    "RCVDMSG_UNENCRYPTED",
    "RCVDMSG_UNRECOGNIZED",
    "RCVDMSG_FOR_OTHER_INSTANCE",
];

/// `OtrlSMPEvent` names, indexed by code (without the `OTRL_SMPEVENT_`
/// prefix).
pub const SMPEVENT_NAMES: [&str; 9] = [
    "NONE",
    "ERROR",
    "ABORT",
    "CHEATED",
    "ASK_FOR_ANSWER",
    "ASK_FOR_SECRET",
    "IN_PROGRESS",
    "SUCCESS",
    "FAILURE",
];

/// `OTRL_SMPEVENT_ASK_FOR_SECRET`: peer started SMP without a question.
pub const SMPEVENT_ASK_FOR_SECRET: i32 = 5;
/// `OTRL_SMPEVENT_ASK_FOR_ANSWER`: peer started SMP with a question.
pub const SMPEVENT_ASK_FOR_ANSWER: i32 = 4;
/// `OTRL_SMPEVENT_SUCCESS`: the secrets matched.
pub const SMPEVENT_SUCCESS: i32 = 7;
/// `OTRL_SMPEVENT_FAILURE`: the secrets differed.
pub const SMPEVENT_FAILURE: i32 = 8;
/// `OTRL_SMPEVENT_ABORT`: the SMP was aborted.
pub const SMPEVENT_ABORT: i32 = 2;

/// Length of the extra symmetric key (`OTRL_EXTRAKEY_BYTES`).
pub const SYMKEY_LEN: usize = 32;

/// File names libotr uses inside an account directory.
pub const PRIVATE_KEY_FILE: &str = "otr.private_key";
/// Instance tag file name inside an account directory.
pub const INSTANCE_TAGS_FILE: &str = "otr.instance_tags";
/// Known-fingerprints file name inside an account directory.
pub const FINGERPRINTS_FILE: &str = "otr.fingerprints";

/// Something libotr did or told the application during one call.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A message to put on the network, to `peer` (an `inject_message`
    /// callback, a fragment, a query message, or a plaintext message libotr
    /// left unchanged).
    Wire {
        /// Recipient.
        peer: String,
        /// The message text exactly as it goes on the wire.
        data: String,
    },
    /// A message to show the user (`otrl_message_receiving` returned 0).
    Message {
        /// Sender.
        peer: String,
        /// The text to display (whitespace tags already stripped by libotr).
        text: String,
        /// True iff it came out of a decrypted data message.
        encrypted: bool,
    },
    /// `gone_secure`: an AKE finished and the context is ENCRYPTED.
    GoneSecure {
        /// The peer.
        peer: String,
    },
    /// `gone_insecure`.
    GoneInsecure {
        /// The peer.
        peer: String,
    },
    /// `still_secure`: a re-AKE finished with keys we already knew.
    StillSecure {
        /// The peer.
        peer: String,
    },
    /// `new_fingerprint`: first time we saw this key for the peer.
    NewFingerprint {
        /// The peer.
        peer: String,
        /// Human form: five groups of eight upper-case hex digits.
        fingerprint: String,
    },
    /// `handle_msg_event`.
    MsgEvent {
        /// The peer (empty if libotr gave no context).
        peer: String,
        /// The `OtrlMessageEvent` code.
        code: i32,
        /// Its name from [`MSGEVENT_NAMES`], e.g. `"RCVDMSG_UNENCRYPTED"`.
        name: String,
        /// libotr's message argument; for events without one that carry a
        /// gcrypt error (`SETUP_ERROR`), that error's text.
        message: Option<String>,
    },
    /// `handle_smp_event`.
    Smp {
        /// The peer.
        peer: String,
        /// The `OtrlSMPEvent` code.
        event: i32,
        /// Its name from [`SMPEVENT_NAMES`], e.g. `"SUCCESS"`.
        name: String,
        /// Progress percent.
        progress: i32,
        /// The question, for `ASK_FOR_ANSWER`.
        question: Option<String>,
    },
    /// `received_symkey`: the peer announced use of the extra symmetric key.
    ReceivedSymkey {
        /// The peer.
        peer: String,
        /// The "use" number.
        usage: u32,
        /// Use-specific data.
        usedata: Vec<u8>,
        /// The key ([`SYMKEY_LEN`] bytes).
        key: Vec<u8>,
    },
    /// A TLV that `otrl_message_receiving` handed back (after libotr itself
    /// acted on it, e.g. SMP or disconnect TLVs).
    Tlv {
        /// The sender.
        peer: String,
        /// TLV type.
        tlv_type: u16,
        /// TLV payload.
        data: Vec<u8>,
    },
    /// A libotr call failed (or the harness could not make it, e.g. text
    /// with a NUL byte).
    Error {
        /// The peer.
        peer: String,
        /// What went wrong.
        message: String,
    },
}

impl Event {
    /// The peer this event is about.
    pub fn peer(&self) -> &str {
        match self {
            Event::Wire { peer, .. }
            | Event::Message { peer, .. }
            | Event::GoneSecure { peer }
            | Event::GoneInsecure { peer }
            | Event::StillSecure { peer }
            | Event::NewFingerprint { peer, .. }
            | Event::MsgEvent { peer, .. }
            | Event::Smp { peer, .. }
            | Event::ReceivedSymkey { peer, .. }
            | Event::Tlv { peer, .. }
            | Event::Error { peer, .. } => peer,
        }
    }
}

/// Message state of a conversation (`OtrlMessageState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MsgState {
    /// No private conversation (also: no context for that peer yet).
    Plaintext,
    /// A private conversation is up.
    Encrypted,
    /// The peer ended the private conversation.
    Finished,
}

/// Mirror of `harness_event_view` in `csrc/harness.c`.
#[repr(C)]
struct EventView {
    kind: c_int,
    code: c_int,
    progress: c_int,
    has_text: c_int,
    peer: *const c_char,
    text: *const c_char,
    bytes: *const c_uchar,
    bytes_len: usize,
    key: *const c_uchar,
}

/// Opaque `struct harness`.
#[repr(C)]
struct RawHarness {
    _private: [u8; 0],
}

extern "C" {
    fn harness_global_init() -> c_uint;
    fn harness_libotr_version() -> *const c_char;
    fn harness_strerror(err: c_uint) -> *const c_char;
    fn harness_new(
        account: *const c_char,
        dir: *const c_char,
        policy: c_uint,
        what: *mut *const c_char,
        err: *mut c_uint,
    ) -> *mut RawHarness;
    fn harness_free(h: *mut RawHarness);
    fn harness_pop(h: *mut RawHarness, out: *mut EventView) -> c_int;
    fn harness_fingerprint(h: *mut RawHarness, out: *mut c_char) -> c_int;
    fn harness_instance_tag(h: *mut RawHarness) -> c_uint;
    fn harness_set_max_message_size(h: *mut RawHarness, size: c_int);
    fn harness_set_policy(h: *mut RawHarness, policy: c_uint);
    fn harness_timer_interval(h: *mut RawHarness) -> c_uint;
    fn harness_send(h: *mut RawHarness, peer: *const c_char, text: *const c_char);
    fn harness_receive(h: *mut RawHarness, peer: *const c_char, data: *const c_char);
    fn harness_start(h: *mut RawHarness, peer: *const c_char);
    fn harness_finish(h: *mut RawHarness, peer: *const c_char);
    fn harness_msgstate(h: *mut RawHarness, peer: *const c_char) -> c_int;
    fn harness_their_fingerprint(
        h: *mut RawHarness,
        peer: *const c_char,
        out: *mut c_char,
    ) -> c_int;
    fn harness_smp_start(
        h: *mut RawHarness,
        peer: *const c_char,
        question: *const c_char,
        secret: *const c_uchar,
        len: usize,
    ) -> c_int;
    fn harness_smp_respond(
        h: *mut RawHarness,
        peer: *const c_char,
        secret: *const c_uchar,
        len: usize,
    ) -> c_int;
    fn harness_smp_abort(h: *mut RawHarness, peer: *const c_char) -> c_int;
    fn harness_poll(h: *mut RawHarness);
    fn harness_symkey(
        h: *mut RawHarness,
        peer: *const c_char,
        usage: c_uint,
        usedata: *const c_uchar,
        usedatalen: usize,
        key: *mut c_uchar,
    ) -> c_long;
}

const HEV_WIRE: c_int = 1;
const HEV_MESSAGE: c_int = 2;
const HEV_GONE_SECURE: c_int = 3;
const HEV_GONE_INSECURE: c_int = 4;
const HEV_STILL_SECURE: c_int = 5;
const HEV_NEW_FINGERPRINT: c_int = 6;
const HEV_MSG_EVENT: c_int = 7;
const HEV_SMP: c_int = 8;
const HEV_SYMKEY: c_int = 9;
const HEV_TLV: c_int = 10;
const HEV_ERROR: c_int = 11;

/// `OTRL_PRIVKEY_FPRINT_HUMAN_LEN`, including the NUL.
const FPRINT_HUMAN_LEN: usize = 45;

/// Initialise libotr once per process (`OTRL_INIT`).
fn init() -> Result<(), String> {
    static INIT: OnceLock<Result<(), String>> = OnceLock::new();
    INIT.get_or_init(|| {
        // SAFETY: harness_global_init only calls otrl_init, and OnceLock
        // runs it exactly once in the process.
        let err = unsafe { harness_global_init() };
        if err == 0 {
            Ok(())
        } else {
            Err(format!("otrl_init failed: {}", strerror(err)))
        }
    })
    .clone()
}

/// The text of a gcrypt error code.
fn strerror(err: c_uint) -> String {
    // SAFETY: gcry_strerror accepts any value and returns a static string.
    let p = unsafe { harness_strerror(err) };
    // SAFETY: p is a NUL-terminated static string (checked non-null first).
    unsafe { cstr_to_string(p) }.unwrap_or_else(|| format!("gcrypt error {err}"))
}

/// Copy a C string; `None` for a null pointer.
///
/// # Safety
/// `p` must be null or point to a NUL-terminated string that stays valid
/// for the duration of the call.
unsafe fn cstr_to_string(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        // SAFETY: guaranteed by the caller.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}

/// Copy a C byte buffer; empty for a null pointer.
///
/// # Safety
/// `p` must be null or point to `len` readable bytes.
unsafe fn bytes_to_vec(p: *const c_uchar, len: usize) -> Vec<u8> {
    if p.is_null() || len == 0 {
        Vec::new()
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { std::slice::from_raw_parts(p, len) }.to_vec()
    }
}

/// libotr's version string, e.g. `"4.1.1"`.
pub fn libotr_version() -> String {
    if init().is_err() {
        return String::new();
    }
    // SAFETY: otrl_version returns a static NUL-terminated string.
    unsafe { cstr_to_string(harness_libotr_version()) }.unwrap_or_default()
}

/// A temporary directory removed on drop.
#[derive(Debug)]
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> io::Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let base = std::env::temp_dir();
        loop {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let path = base.join(format!(
                "{prefix}-{}-{}-{nanos}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            match fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir(path)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// One libotr account: its own `OtrlUserState`, key, instance tag and
/// callbacks. Not `Sync`; may be moved between threads.
#[derive(Debug)]
pub struct LibOtr {
    raw: *mut RawHarness,
    account: String,
    dir: PathBuf,
    /// Owned temp dir (from [`LibOtr::with_cached_key`]); removed on drop,
    /// after `raw` is freed.
    _tmp: Option<TempDir>,
}

// SAFETY: the C shim keeps no global mutable state; everything a handle
// touches (its OtrlUserState, queue and file paths) is owned by that handle,
// and libgcrypt is thread-safe. So a handle may be used from another thread
// as long as only one thread uses it at a time, which `&mut self` ensures.
unsafe impl Send for LibOtr {}

impl LibOtr {
    /// Open account `account` (protocol `"irc"`) whose files live in `dir`:
    /// `otr.private_key`, `otr.instance_tags`, `otr.fingerprints`. A DSA key
    /// is generated (`otrl_privkey_generate`, slow-ish) if the key file has
    /// none for the account; an instance tag likewise. `policy` is a set of
    /// libotr `POLICY_*` flags.
    pub fn new(account: &str, dir: &Path, policy: u32) -> Result<Self, String> {
        init()?;
        let c_account = cstring(account)?;
        let dir_str = dir
            .to_str()
            .ok_or_else(|| format!("directory path is not UTF-8: {}", dir.display()))?;
        let c_dir = cstring(dir_str)?;
        let mut what: *const c_char = std::ptr::null();
        let mut err: c_uint = 0;
        // SAFETY: all pointers are valid NUL-terminated strings / out
        // parameters that live across the call.
        let raw = unsafe {
            harness_new(
                c_account.as_ptr(),
                c_dir.as_ptr(),
                policy,
                &mut what,
                &mut err,
            )
        };
        if raw.is_null() {
            // SAFETY: `what` is null or one of the shim's static strings.
            let what = unsafe { cstr_to_string(what) }.unwrap_or_default();
            return Err(if err != 0 {
                format!("libotr: {what}: {}", strerror(err))
            } else {
                format!("libotr: {what}")
            });
        }
        Ok(LibOtr {
            raw,
            account: account.to_owned(),
            dir: dir.to_owned(),
            _tmp: None,
        })
    }

    /// Like [`LibOtr::new`], but in a fresh temporary directory (removed
    /// when this value is dropped) seeded with the account's cached private
    /// key from [`try_cached_key_dir`]. The instance tag is new each time.
    pub fn with_cached_key(account: &str, policy: u32) -> Result<Self, String> {
        let cache = try_cached_key_dir(account)?;
        let tmp =
            TempDir::new("libotr-harness").map_err(|e| format!("creating a temp dir: {e}"))?;
        fs::copy(cache.join(PRIVATE_KEY_FILE), tmp.0.join(PRIVATE_KEY_FILE))
            .map_err(|e| format!("copying the cached key: {e}"))?;
        let mut me = LibOtr::new(account, &tmp.0, policy)?;
        me._tmp = Some(tmp);
        Ok(me)
    }

    /// The account name.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The directory holding this account's libotr files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Our fingerprint in libotr's human form:
    /// `"XXXXXXXX XXXXXXXX XXXXXXXX XXXXXXXX XXXXXXXX"`.
    pub fn fingerprint(&self) -> String {
        let mut buf = [0 as c_char; FPRINT_HUMAN_LEN];
        // SAFETY: raw is a live handle; buf has the 45 bytes libotr writes.
        let ok = unsafe { harness_fingerprint(self.raw, buf.as_mut_ptr()) };
        if ok == 0 {
            return String::new();
        }
        // SAFETY: libotr NUL-terminated buf.
        unsafe { cstr_to_string(buf.as_ptr()) }.unwrap_or_default()
    }

    /// Our instance tag.
    pub fn instance_tag(&self) -> u32 {
        // SAFETY: raw is a live handle.
        unsafe { harness_instance_tag(self.raw) }
    }

    /// Send `text` to `peer` through `otrl_message_sending` (to the best
    /// instance, fragmenting with `OTRL_FRAGMENT_SEND_ALL`). What goes on
    /// the network comes back as [`Event::Wire`]; when libotr leaves a
    /// plaintext message untouched, the original text is the Wire event.
    /// An empty message libotr "sends" (it does that in the FINISHED state)
    /// is dropped.
    pub fn send(&mut self, peer: &str, text: &str) -> Vec<Event> {
        let (Ok(p), Ok(t)) = (CString::new(peer), CString::new(text)) else {
            return nul_error(peer);
        };
        // SAFETY: raw is a live handle; p and t are valid C strings.
        unsafe { harness_send(self.raw, p.as_ptr(), t.as_ptr()) };
        self.drain()
    }

    /// Hand one network message from `peer` to `otrl_message_receiving`.
    /// A message to display becomes [`Event::Message`], with `encrypted`
    /// true iff libotr decrypted it from a data message (detected through
    /// the `convert_msg` callback, which libotr calls exactly then).
    pub fn receive(&mut self, peer: &str, data: &str) -> Vec<Event> {
        let (Ok(p), Ok(d)) = (CString::new(peer), CString::new(data)) else {
            return nul_error(peer);
        };
        // SAFETY: raw is a live handle; p and d are valid C strings.
        unsafe { harness_receive(self.raw, p.as_ptr(), d.as_ptr()) };
        self.drain()
    }

    /// Offer OTR: `otrl_proto_default_query_msg(account, policy)` as a
    /// [`Event::Wire`] to `peer`.
    pub fn start(&mut self, peer: &str) -> Vec<Event> {
        self.with_peer(peer, |raw, p| {
            // SAFETY: raw is a live handle; p is a valid C string.
            unsafe { harness_start(raw, p) }
        })
    }

    /// End the private conversation with every instance of `peer`
    /// (`otrl_message_disconnect_all_instances`).
    pub fn finish(&mut self, peer: &str) -> Vec<Event> {
        self.with_peer(peer, |raw, p| {
            // SAFETY: raw is a live handle; p is a valid C string.
            unsafe { harness_finish(raw, p) }
        })
    }

    /// Message state of the conversation with `peer`: of the most secure
    /// child instance (`OTRL_INSTAG_BEST`), else the master context.
    pub fn msgstate(&self, peer: &str) -> MsgState {
        let Ok(p) = CString::new(peer) else {
            return MsgState::Plaintext;
        };
        // SAFETY: raw is a live handle; p is a valid C string.
        match unsafe { harness_msgstate(self.raw, p.as_ptr()) } {
            1 => MsgState::Encrypted,
            2 => MsgState::Finished,
            _ => MsgState::Plaintext,
        }
    }

    /// The peer's active fingerprint (human form), if an AKE has run.
    pub fn their_fingerprint(&self, peer: &str) -> Option<String> {
        let p = CString::new(peer).ok()?;
        let mut buf = [0 as c_char; FPRINT_HUMAN_LEN];
        // SAFETY: raw is a live handle; p is a valid C string; buf has the
        // 45 bytes libotr writes.
        let ok = unsafe { harness_their_fingerprint(self.raw, p.as_ptr(), buf.as_mut_ptr()) };
        if ok == 0 {
            return None;
        }
        // SAFETY: libotr NUL-terminated buf.
        unsafe { cstr_to_string(buf.as_ptr()) }
    }

    /// Start the Socialist Millionaires' Protocol with `peer`
    /// (`otrl_message_initiate_smp[_q]`).
    pub fn smp_start(&mut self, peer: &str, question: Option<&str>, secret: &[u8]) -> Vec<Event> {
        let q = match question.map(CString::new).transpose() {
            Ok(q) => q,
            Err(_) => return nul_error(peer),
        };
        let qp = q.as_ref().map_or(std::ptr::null(), |q| q.as_ptr());
        self.with_peer_checked(peer, |raw, p| {
            // SAFETY: raw is a live handle; p and qp (or null) are valid C
            // strings; secret is a live slice of secret.len() bytes.
            unsafe { harness_smp_start(raw, p, qp, secret.as_ptr(), secret.len()) }
        })
    }

    /// Answer the peer's SMP (`otrl_message_respond_smp`).
    pub fn smp_respond(&mut self, peer: &str, secret: &[u8]) -> Vec<Event> {
        self.with_peer_checked(peer, |raw, p| {
            // SAFETY: raw is a live handle; p is a valid C string; secret
            // is a live slice of secret.len() bytes.
            unsafe { harness_smp_respond(raw, p, secret.as_ptr(), secret.len()) }
        })
    }

    /// Abort the SMP (`otrl_message_abort_smp`).
    pub fn smp_abort(&mut self, peer: &str) -> Vec<Event> {
        self.with_peer_checked(peer, |raw, p| {
            // SAFETY: raw is a live handle; p is a valid C string.
            unsafe { harness_smp_abort(raw, p) }
        })
    }

    /// Ask for the current extra symmetric key and tell `peer` what it is
    /// for (`otrl_message_symkey`). Returns the key and the events (the
    /// TLV goes out as a [`Event::Wire`]).
    pub fn symkey(
        &mut self,
        peer: &str,
        usage: u32,
        usedata: &[u8],
    ) -> Result<([u8; SYMKEY_LEN], Vec<Event>), String> {
        let p = CString::new(peer).map_err(|_| "peer name contains NUL".to_owned())?;
        let mut key = [0u8; SYMKEY_LEN];
        // SAFETY: raw is a live handle; p is a valid C string; usedata is a
        // live slice; key has the OTRL_EXTRAKEY_BYTES bytes libotr writes.
        let rc = unsafe {
            harness_symkey(
                self.raw,
                p.as_ptr(),
                usage,
                usedata.as_ptr(),
                usedata.len(),
                key.as_mut_ptr(),
            )
        };
        let events = self.drain();
        match rc {
            0 => Ok((key, events)),
            -1 => Err(format!("no conversation with {peer}")),
            e => Err(format!(
                "otrl_message_symkey: {}",
                strerror(c_uint::try_from(e).unwrap_or(c_uint::MAX))
            )),
        }
    }

    /// Maximum message size returned by the `max_message_size` callback;
    /// larger messages are fragmented. 0 (the default) = no fragmentation.
    pub fn set_max_message_size(&mut self, size: usize) {
        let size = c_int::try_from(size).unwrap_or(c_int::MAX);
        // SAFETY: raw is a live handle.
        unsafe { harness_set_max_message_size(self.raw, size) }
    }

    /// Change the policy the `policy` callback returns.
    pub fn set_policy(&mut self, policy: u32) {
        // SAFETY: raw is a live handle.
        unsafe { harness_set_policy(self.raw, policy) }
    }

    /// The interval (seconds) libotr last asked for via `timer_control`;
    /// 0 = no timer wanted.
    pub fn timer_interval(&self) -> u32 {
        // SAFETY: raw is a live handle.
        unsafe { harness_timer_interval(self.raw) }
    }

    /// Run `otrl_message_poll` (wipes stale keys; may send heartbeats).
    pub fn poll(&mut self) -> Vec<Event> {
        // SAFETY: raw is a live handle.
        unsafe { harness_poll(self.raw) };
        self.drain()
    }

    fn with_peer(
        &mut self,
        peer: &str,
        f: impl FnOnce(*mut RawHarness, *const c_char),
    ) -> Vec<Event> {
        let Ok(p) = CString::new(peer) else {
            return nul_error(peer);
        };
        f(self.raw, p.as_ptr());
        self.drain()
    }

    fn with_peer_checked(
        &mut self,
        peer: &str,
        f: impl FnOnce(*mut RawHarness, *const c_char) -> c_int,
    ) -> Vec<Event> {
        let Ok(p) = CString::new(peer) else {
            return nul_error(peer);
        };
        let rc = f(self.raw, p.as_ptr());
        let mut events = self.drain();
        if rc != 0 {
            events.push(Event::Error {
                peer: peer.to_owned(),
                message: format!("no conversation with {peer}"),
            });
        }
        events
    }

    /// Take every queued event from the shim.
    fn drain(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        loop {
            let mut v = EventView {
                kind: 0,
                code: 0,
                progress: 0,
                has_text: 0,
                peer: std::ptr::null(),
                text: std::ptr::null(),
                bytes: std::ptr::null(),
                bytes_len: 0,
                key: std::ptr::null(),
            };
            // SAFETY: raw is a live handle; v is a valid out parameter.
            if unsafe { harness_pop(self.raw, &mut v) } == 0 {
                break;
            }
            // SAFETY: the view's pointers are null or valid until the next
            // harness_pop on this handle, and we copy everything now.
            if let Some(ev) = unsafe { view_to_event(&v) } {
                out.push(ev);
            }
        }
        out
    }
}

impl Drop for LibOtr {
    fn drop(&mut self) {
        // SAFETY: raw came from harness_new and is freed exactly once.
        unsafe { harness_free(self.raw) };
    }
}

/// Convert one popped event.
///
/// # Safety
/// The pointers in `v` must be null or valid as documented in harness.c.
unsafe fn view_to_event(v: &EventView) -> Option<Event> {
    // SAFETY: peer is null or a valid C string (caller's guarantee).
    let peer = unsafe { cstr_to_string(v.peer) }.unwrap_or_default();
    let text = if v.has_text != 0 {
        // SAFETY: text is null or a valid C string (caller's guarantee).
        unsafe { cstr_to_string(v.text) }
    } else {
        None
    };
    // SAFETY: bytes is null or bytes_len readable bytes (caller's guarantee).
    let bytes = unsafe { bytes_to_vec(v.bytes, v.bytes_len) };
    let ev = match v.kind {
        HEV_WIRE => Event::Wire {
            peer,
            data: text.unwrap_or_default(),
        },
        HEV_MESSAGE => Event::Message {
            peer,
            text: text.unwrap_or_default(),
            encrypted: v.code != 0,
        },
        HEV_GONE_SECURE => Event::GoneSecure { peer },
        HEV_GONE_INSECURE => Event::GoneInsecure { peer },
        HEV_STILL_SECURE => Event::StillSecure { peer },
        HEV_NEW_FINGERPRINT => Event::NewFingerprint {
            peer,
            fingerprint: text.unwrap_or_default(),
        },
        HEV_MSG_EVENT => Event::MsgEvent {
            peer,
            code: v.code,
            name: name_of(&MSGEVENT_NAMES, v.code),
            message: text,
        },
        HEV_SMP => Event::Smp {
            peer,
            event: v.code,
            name: name_of(&SMPEVENT_NAMES, v.code),
            progress: v.progress,
            question: text,
        },
        HEV_SYMKEY => Event::ReceivedSymkey {
            peer,
            usage: u32::try_from(v.code).unwrap_or(0),
            usedata: bytes,
            // SAFETY: key is null or SYMKEY_LEN bytes (caller's guarantee).
            key: unsafe { bytes_to_vec(v.key, SYMKEY_LEN) },
        },
        HEV_TLV => Event::Tlv {
            peer,
            tlv_type: u16::try_from(v.code).unwrap_or(u16::MAX),
            data: bytes,
        },
        HEV_ERROR => Event::Error {
            peer,
            message: text.unwrap_or_default(),
        },
        _ => return None,
    };
    Some(ev)
}

fn name_of(names: &[&str], code: i32) -> String {
    usize::try_from(code)
        .ok()
        .and_then(|i| names.get(i))
        .map_or_else(|| format!("UNKNOWN({code})"), |s| (*s).to_owned())
}

fn cstring(s: &str) -> Result<CString, String> {
    CString::new(s).map_err(|_| format!("string contains a NUL byte: {s:?}"))
}

fn nul_error(peer: &str) -> Vec<Event> {
    vec![Event::Error {
        peer: peer.replace('\0', "\\0"),
        message: "argument contains a NUL byte".to_owned(),
    }]
}

/// Root of the key cache: `$LIBOTR_HARNESS_KEY_CACHE` if set, else
/// `<target dir>/libotr-keys`, where the target dir is `$CARGO_TARGET_DIR`
/// (at run time, then at build time) or the workspace's `target/`.
pub fn key_cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("LIBOTR_HARNESS_KEY_CACHE") {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| option_env!("CARGO_TARGET_DIR").map(PathBuf::from))
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("..")
                .join("target")
        });
    target.join("libotr-keys")
}

/// A file-system-safe directory name for an account.
fn account_dir_name(account: &str) -> String {
    let mut s = String::new();
    for b in account.bytes() {
        if b.is_ascii_alphanumeric()
            || b == b'-'
            || b == b'_'
            || b == b'@'
            || b == b'.' && !s.is_empty()
        {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    if s.is_empty() {
        s.push('%');
    }
    s
}

/// The directory `<key_cache_root>/<account>/` holding a libotr
/// `otr.private_key` for `account` (protocol `"irc"`), generating the key
/// the first time. Later runs reuse it, so tests don't pay for DSA key
/// generation each time. Copy the file into a per-test directory (as
/// [`LibOtr::with_cached_key`] does) rather than using this directory
/// directly, since libotr rewrites files in the directory it is given.
///
/// Safe against concurrent callers: threads in this process serialize, and
/// across processes the first key to be linked into place wins.
pub fn try_cached_key_dir(account: &str) -> Result<PathBuf, String> {
    static LOCK: Mutex<()> = Mutex::new(());
    let dir = key_cache_root().join(account_dir_name(account));
    let key = dir.join(PRIVATE_KEY_FILE);
    if key.is_file() {
        return Ok(dir);
    }
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if key.is_file() {
        return Ok(dir);
    }
    fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let tmp =
        TempDir::new("libotr-harness-keygen").map_err(|e| format!("creating a temp dir: {e}"))?;
    {
        // Generates otr.private_key (and an instance tag we don't keep).
        let _gen = LibOtr::new(account, &tmp.0, POLICY_MANUAL)?;
    }
    // Stage next to the destination (same file system), then hard-link:
    // link() fails if someone else got there first, and never overwrites.
    let staged = dir.join(format!(".{PRIVATE_KEY_FILE}.{}", std::process::id()));
    fs::copy(tmp.0.join(PRIVATE_KEY_FILE), &staged)
        .map_err(|e| format!("staging {}: {e}", staged.display()))?;
    let linked = fs::hard_link(&staged, &key);
    let _ = fs::remove_file(&staged);
    match linked {
        Ok(()) => Ok(dir),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(dir),
        Err(e) => Err(format!("storing {}: {e}", key.display())),
    }
}

/// [`try_cached_key_dir`], panicking on failure (for tests).
///
/// # Panics
/// If the key cannot be generated or stored.
#[allow(clippy::panic)]
pub fn cached_key_dir(account: &str) -> PathBuf {
    match try_cached_key_dir(account) {
        Ok(dir) => dir,
        Err(e) => panic!("libotr-harness: cached key for {account:?}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_dir_names_are_safe() {
        assert_eq!(account_dir_name("alice"), "alice");
        assert_eq!(account_dir_name("a/b"), "a%2Fb");
        assert_eq!(account_dir_name(".."), "%2E.");
        assert_eq!(account_dir_name(""), "%");
    }

    #[test]
    fn version_is_4_1() {
        assert!(libotr_version().starts_with("4.1"), "{}", libotr_version());
    }

    #[test]
    fn event_names() {
        assert_eq!(name_of(&MSGEVENT_NAMES, 13), "RCVDMSG_UNENCRYPTED");
        assert_eq!(name_of(&SMPEVENT_NAMES, SMPEVENT_SUCCESS), "SUCCESS");
        assert_eq!(name_of(&SMPEVENT_NAMES, 99), "UNKNOWN(99)");
    }
}
