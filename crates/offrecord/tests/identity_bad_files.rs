//! Damaged identity files: truncated, wrong parentheses, bad hex, unknown fields, a key of
//! the wrong size, and a read-only directory. Each gives an error naming the file and the
//! line (and column in the key file), through the library and through the `offrecord`
//! binary, and the damaged file's bytes are the same afterwards: nothing is lost.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use offrecord::store::Store;
use otr::crypto::Fingerprint;
use rand_core::OsRng;
use testkit::run_home;

const KEYS: &str = "otr.private_key";
const FPS: &str = "otr.fingerprints";
const TAGS: &str = "otr.instance_tags";
const PROTO: &str = "prpl-irc";

/// A home with alice's key, instance tag and a verified fingerprint of bob.
fn valid_home(dir: &Path) {
    let store = Store::new(dir, "alice", PROTO);
    let mut account = store.load_or_create(&mut OsRng).unwrap();
    account
        .known
        .set_trusted("bob", Fingerprint([0xb0; 20]), true);
    store.save(&account).unwrap();
}

/// The binary under test.
const OFFRECORD: &str = env!("CARGO_BIN_EXE_offrecord");

/// 1-based line of the first occurrence of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in the file"));
    text[..at].matches('\n').count() + 1
}

/// Writes `damaged` over `file` in a valid home, then checks that loading, saving and the
/// binary (rpc, keygen of another account, trust) all refuse with `file:line` and `needle`
/// in the message, and that every file keeps its bytes.
fn check_refused(file: &str, damage: impl Fn(&str) -> (String, usize), needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    valid_home(dir.path());
    let path = dir.path().join(file);
    let (damaged, line) = damage(&fs::read_to_string(&path).unwrap());
    fs::write(&path, &damaged).unwrap();
    let before = fs::read(&path).unwrap();
    let location = format!("{}:{line}", path.display());

    let store = Store::new(dir.path(), "alice", PROTO);
    let err = store.load_or_create(&mut OsRng).unwrap_err().to_string();
    assert!(
        err.contains(&location),
        "{file}: {err} (expected {location})"
    );
    assert!(err.contains(needle), "{file}: {err} (expected {needle:?})");
    assert!(err.contains("left untouched"), "{err}");
    let mut known = otr::KnownFingerprints::new();
    known.set_trusted("carol", Fingerprint([0xca; 20]), true);
    if file == FPS {
        assert!(store.save_known(&known).is_err());
    }

    for args in [
        &["keygen", "--account", "carol"][..],
        &["trust", "--account", "alice", "bob"],
        &["rpc", "--account", "alice"],
        &["fingerprint", "--account", "alice"],
        &["contacts"],
    ] {
        let output = run_home(OFFRECORD, dir.path(), args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        // Commands that do not read the damaged file may succeed; none may change it.
        let reads_it = match args[0] {
            "fingerprint" => file == KEYS,
            "contacts" => file == FPS,
            "keygen" => file != FPS,
            "trust" => file == FPS,
            _ => true,
        };
        if reads_it {
            assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
            assert!(stderr.contains(&location), "{args:?}: {stderr}");
        }
    }
    // Importing from a damaged directory fails the same way and writes nothing there.
    let other = tempfile::tempdir().unwrap();
    let output = run_home(
        OFFRECORD,
        other.path(),
        &["import", dir.path().to_str().unwrap(), "--account", "alice"],
    );
    if file != TAGS || output.status.code() != Some(0) {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "import: {stderr}");
        assert!(stderr.contains(&location), "import: {stderr}");
    }
    // (Commands that do not read the damaged file may have written the others.)
    assert!(
        fs::read(&path).unwrap() == before,
        "{file}: the damaged file changed"
    );
}

#[test]
fn truncated_key_file() {
    check_refused(
        KEYS,
        |t| {
            let cut = &t[..t.len() / 2];
            (cut.to_owned(), cut.matches('\n').count() + 1)
        },
        "truncated",
    );
    check_refused(KEYS, |_| (String::new(), 1), "empty");
}

#[test]
fn wrong_parentheses_in_key_file() {
    check_refused(
        KEYS,
        |t| (format!("{t})\n"), t.matches('\n').count() + 1),
        "after the closing parenthesis",
    );
    check_refused(
        KEYS,
        |t| {
            (
                t.replacen("(name alice)", "(name alice", 1),
                t.matches('\n').count() + 1,
            )
        },
        "missing ')'",
    );
    check_refused(
        KEYS,
        |t| (t.replacen("(privkeys", "privkeys", 1), 1),
        "expected '('",
    );
}

#[test]
fn bad_hex_in_key_file() {
    check_refused(
        KEYS,
        |t| (t.replacen("(q #", "(q #Z", 1), line_of(t, "(q #")),
        "not a hex digit",
    );
    check_refused(
        KEYS,
        |t| (t.replacen("(g #", "(g #0", 1), line_of(t, "(g #")),
        "odd number",
    );
}

#[test]
fn unknown_fields_in_key_file() {
    check_refused(
        KEYS,
        |t| {
            (
                t.replacen("(private-key", "(comment \"hi\")\n(private-key", 1),
                line_of(t, "(private-key"),
            )
        },
        "unknown field (comment",
    );
    check_refused(
        KEYS,
        |t| {
            (
                t.replacen("  (x #", "  (z #01#)\n  (x #", 1),
                line_of(t, "(x #"),
            )
        },
        "unknown field (z",
    );
    check_refused(
        KEYS,
        |t| (t.replacen("(dsa", "(rsa", 1), line_of(t, "(dsa")),
        "OTR keys are DSA",
    );
}

#[test]
fn key_of_the_wrong_size() {
    // p cut to 512 bits.
    check_refused(
        KEYS,
        |t| {
            let start = t.find("(p #").unwrap() + 4;
            let end = start + t[start..].find('#').unwrap();
            let mut s = t.to_owned();
            s.replace_range(start..end - 128, "");
            (s, line_of(t, "(p #"))
        },
        "wrong size",
    );
    // A valid-looking key whose numbers do not fit (x changed).
    check_refused(
        KEYS,
        |t| {
            (
                t.replacen("(x #", "(x #01", 1)
                    .replacen("(x #0101", "(x #0102", 1),
                line_of(t, "(dsa"),
            )
        },
        "not valid",
    );
    // A degenerate key (y = 1: anyone can sign for it) is refused with its defect.
    check_refused(
        KEYS,
        |t| {
            let start = t.find("(y #").unwrap() + 4;
            let end = start + t[start..].find('#').unwrap();
            let mut s = t.to_owned();
            s.replace_range(start..end, "01");
            (s, line_of(t, "(dsa"))
        },
        "weak (y is not between 1 and p)",
    );
}

#[test]
fn bad_fingerprints_file() {
    let fp = Fingerprint([0xb0; 20]).to_hex();
    check_refused(
        FPS,
        |t| (t[..t.len() - 5].to_owned(), t.matches('\n').count()),
        "truncated",
    );
    check_refused(
        FPS,
        |t| (t.replacen(&fp, &format!("{}x", &fp[..39]), 1), 1),
        "not 40 hex",
    );
    check_refused(
        FPS,
        |t| {
            (
                format!("{t}bob\talice\tprpl-irc\t{fp}\tverified\tlater\n"),
                2,
            )
        },
        "unknown field",
    );
    check_refused(FPS, |t| (format!("{t}garbage\n"), 2), "found 1 field");
}

#[test]
fn bad_instance_tags_file() {
    check_refused(
        TAGS,
        |t| {
            let line = t.lines().nth(1).unwrap();
            let bad = format!("{}zz", &line[..line.len() - 2]);
            (t.replacen(line, &bad, 1), 2)
        },
        "not 8 hex",
    );
    check_refused(TAGS, |t| (t[..t.len() - 1].to_owned(), 2), "truncated");
}

/// Runs the binary as an unprivileged user when we are root (root ignores directory
/// permissions), so that a read-only directory really is read-only.
#[cfg(unix)]
fn offrecord_unprivileged(home: &Path, args: &[&str]) -> Output {
    // SAFETY-free check of the effective uid: the owner of a file we just created.
    use std::os::unix::fs::MetadataExt;
    let probe = tempfile::NamedTempFile::new().unwrap();
    let root = fs::metadata(probe.path()).unwrap().uid() == 0;
    let mut command = if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(env!("CARGO_BIN_EXE_offrecord"));
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_offrecord"))
    };
    command
        .arg("--home")
        .arg(home)
        .args(args)
        .env("HOME", home)
        .output()
        .unwrap()
}

#[cfg(unix)]
#[test]
fn read_only_directory() {
    use std::os::unix::fs::PermissionsExt;
    let outer = tempfile::tempdir().unwrap();
    fs::set_permissions(outer.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let home = outer.path().join("home");
    valid_home(&home);
    // The account's files belong to the user who will run the commands.
    let owner = |p: &Path| std::os::unix::fs::chown(p, Some(65534), Some(65534));
    let probe = tempfile::NamedTempFile::new().unwrap();
    use std::os::unix::fs::MetadataExt;
    if fs::metadata(probe.path()).unwrap().uid() == 0 {
        owner(&home).unwrap();
        for f in [KEYS, FPS, TAGS] {
            owner(&home.join(f)).unwrap();
        }
    }
    fs::set_permissions(&home, fs::Permissions::from_mode(0o500)).unwrap();
    let before: Vec<Vec<u8>> = [KEYS, FPS, TAGS]
        .iter()
        .map(|f| fs::read(home.join(f)).unwrap())
        .collect();
    let names = || {
        let mut names: Vec<_> = fs::read_dir(&home)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let names_before = names();

    // Reading works.
    let output = offrecord_unprivileged(&home, &["contacts", "--account", "alice"]);
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("verified"));
    // Writing fails with the path and the OS's reason; nothing changes, nothing is left.
    for args in [
        &["distrust", "--account", "alice", "bob"][..],
        &["keygen", "--account", "carol"],
    ] {
        let output = offrecord_unprivileged(&home, args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(&home.display().to_string()), "{stderr}");
        assert!(stderr.contains("ermission denied"), "{stderr}");
    }
    let after: Vec<Vec<u8>> = [KEYS, FPS, TAGS]
        .iter()
        .map(|f| fs::read(home.join(f)).unwrap())
        .collect();
    assert_eq!(before, after);
    assert_eq!(names(), names_before);
    fs::set_permissions(&home, fs::Permissions::from_mode(0o700)).unwrap();
}
