//! The home directory's lock as an attacker on it sees it: another offrecord process holding
//! it for longer than anyone would wait, one dying while it holds it, and writers racing
//! each other behind a slow one. The lock must never be taken from a live holder, must be
//! free as soon as its holder dies, and no trust update may be lost.
//!
//! The holder is this test binary run again (the ignored test `lock_holder`, told what to
//! do by environment variables): a real second process taking the lock through the
//! library, as `offrecord rpc` or the chat client does. The writers are the `offrecord`
//! binary's `trust` command.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use offrecord::identity::atomic::LOCK_WAIT;
use offrecord::identity::{IdentityError, Layout, OtrDir};
use offrecord::store::Store;
use otr::crypto::Fingerprint;
use rand_core::OsRng;
use testkit::run_home;

const HOME_VAR: &str = "OFFRECORD_TEST_LOCK_HOME";
const VERIFY_VAR: &str = "OFFRECORD_TEST_LOCK_VERIFY";
const LOCKED: &str = "offrecord-test-holder: locked";

/// Run as a child by [`Holder::spawn`] (does nothing otherwise): takes the lock of the home
/// directory, says so on stdout, reads the fingerprints if asked to verify a peer, holds
/// the lock until stdin closes, then (if asked) writes the peer as verified from what it
/// read: a slow read-modify-write.
#[test]
#[ignore = "a helper process for the other tests"]
fn lock_holder() {
    let Some(home) = std::env::var_os(HOME_VAR) else {
        return;
    };
    let files = OtrDir::new(PathBuf::from(home), Layout::LIBOTR);
    let _lock = files.lock().unwrap();
    let mut entries = files.read_fingerprints().unwrap();
    println!("{LOCKED}");
    let mut rest = Vec::new();
    std::io::stdin().read_to_end(&mut rest).unwrap();
    if let Ok(peer) = std::env::var(VERIFY_VAR) {
        for e in entries.iter_mut().filter(|e| e.username == peer) {
            e.trust = "verified".to_owned();
        }
        files.write_fingerprints(&entries).unwrap();
    }
}

/// Another process holding the home directory's lock.
struct Holder {
    child: Child,
    /// Closing it releases the lock.
    stdin: Option<ChildStdin>,
}

impl Holder {
    /// Starts a holder and returns once it holds the lock.
    fn spawn(home: &Path, verify: Option<&str>) -> Self {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args(["lock_holder", "--exact", "--ignored", "--nocapture"])
            .args(["--test-threads", "1"])
            .env(HOME_VAR, home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        if let Some(peer) = verify {
            command.env(VERIFY_VAR, peer);
        }
        let mut child = command.spawn().unwrap();
        let stdin = child.stdin.take();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        assert!(
            lines.any(|l| l.unwrap().contains(LOCKED)),
            "the holder did not take the lock"
        );
        // Drain the rest so the holder never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, stdin }
    }

    fn is_alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Lets the holder finish (and write, if it was asked to) and waits for it.
    fn release(mut self) {
        drop(self.stdin.take());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "the holder failed: {status}");
    }

    /// Kills the holder (SIGKILL: no destructor runs) and reaps it.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary under test.
const OFFRECORD: &str = env!("CARGO_BIN_EXE_offrecord");

/// `offrecord trust --account alice PEER`, expected to succeed.
fn trust(home: &Path, peer: &str) {
    let o = run_home(OFFRECORD, home, &["trust", "--account", "alice", peer]);
    assert!(
        o.status.success(),
        "trust {peer}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A home with alice's key and the given peers' fingerprints, none verified.
fn home_with_peers(home: &Path, peers: &[String]) {
    let store = Store::new(home, "alice", "prpl-irc");
    let mut account = store.load_or_create(&mut OsRng).unwrap();
    for (i, peer) in peers.iter().enumerate() {
        let mut fp = [0u8; 20];
        fp[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
        account.known.insert(peer, Fingerprint(fp));
    }
    store.save(&account).unwrap();
}

fn verified(home: &Path, peer: &str) -> bool {
    OtrDir::new(home, Layout::LIBOTR)
        .read_fingerprints()
        .unwrap()
        .iter()
        .any(|e| e.username == peer && e.trust == "verified")
}

#[test]
fn a_live_holder_is_never_robbed() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    home_with_peers(home, &["bob".to_owned()]);
    let fingerprints = home.join("otr.fingerprints");
    let before = std::fs::read(&fingerprints).unwrap();
    let mut holder = Holder::spawn(home, None);

    // The library, in this process, and the binary wait side by side, longer than the old
    // code's 5 s before it broke the lock.
    let library = std::thread::spawn({
        let home = home.to_owned();
        move || {
            let files = OtrDir::new(&home, Layout::LIBOTR);
            let started = Instant::now();
            let result = files.lock().map(drop);
            (result, started.elapsed(), files.lock_path())
        }
    });
    let started = Instant::now();
    let o = run_home(OFFRECORD, home, &["trust", "--account", "alice", "bob"]);
    let waited = started.elapsed();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "the lock was stolen: {stderr}");
    assert!(waited >= LOCK_WAIT, "gave up after {waited:?}");
    let lock_file = home.join(".offrecord.lock");
    assert!(
        stderr.contains(&lock_file.display().to_string())
            && stderr.contains("another offrecord process is using this home directory"),
        "{stderr}"
    );
    assert!(holder.is_alive());
    assert_eq!(std::fs::read(&fingerprints).unwrap(), before);

    let (result, waited, path) = library.join().unwrap();
    assert!(waited >= LOCK_WAIT, "gave up after {waited:?}");
    match result {
        Err(IdentityError::Locked {
            path: locked,
            waited,
        }) => {
            assert_eq!(locked, path);
            assert_eq!(locked, lock_file);
            assert!(waited >= LOCK_WAIT);
        }
        other => panic!("the lock was stolen or failed otherwise: {other:?}"),
    }
    assert!(holder.is_alive());
    assert_eq!(std::fs::read(&fingerprints).unwrap(), before);

    // Released, the lock is taken at once.
    holder.release();
    let started = Instant::now();
    trust(home, "bob");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(verified(home, "bob"));
}

#[test]
fn a_dead_holders_lock_is_free_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    home_with_peers(home, &["bob".to_owned()]);
    let holder = Holder::spawn(home, None);
    holder.kill();
    let started = Instant::now();
    trust(home, "bob");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "waited {took:?}");
    assert!(verified(home, "bob"));
    // The library too, in this process.
    let started = Instant::now();
    drop(OtrDir::new(home, Layout::LIBOTR).lock().unwrap());
    assert!(started.elapsed() < Duration::from_secs(1));
}

/// Each writer's updates, one `offrecord trust` process after another.
const N: usize = 20;

/// `who0`, `who1`, ... : one writer's peers.
fn names(who: &'static str) -> impl Iterator<Item = String> {
    (0..N).map(move |i| format!("{who}{i}"))
}

#[test]
fn concurrent_writers_lose_no_update() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().to_owned();
    let mut peers: Vec<String> = names("bob").chain(names("carol")).collect();
    peers.push("dave".to_owned());
    home_with_peers(&home, &peers);

    // A slow writer holds the lock, having read the file, longer than the old code's 5 s
    // (and less than the wait): the two writers queue behind it, then race each other.
    let slow = Holder::spawn(&home, Some("dave"));
    let writers: Vec<_> = ["bob", "carol"]
        .into_iter()
        .map(|who| {
            let home = home.clone();
            std::thread::spawn(move || names(who).for_each(|peer| trust(&home, &peer)))
        })
        .collect();
    std::thread::sleep(Duration::from_secs(6));
    slow.release();
    for w in writers {
        w.join().unwrap();
    }

    let lost: Vec<&String> = peers.iter().filter(|p| !verified(&home, p)).collect();
    assert!(lost.is_empty(), "lost updates: {lost:?}");
}
