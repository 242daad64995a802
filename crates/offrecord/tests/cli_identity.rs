//! The identity commands as a person runs them: the built `offrecord` binary with `--home`
//! in a temporary directory (or the XDG default), checking output, files and exit codes
//! (0 ok, 1 error, 2 usage).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use libotr_harness::userstate::UserState;
use offrecord::store::Store;
use otr::crypto::Fingerprint;
use rand_core::OsRng;
use testkit::run_home;

/// The binary under test.
const OFFRECORD: &str = env!("CARGO_BIN_EXE_offrecord");

/// Whether some line of `text` holds every part, in order.
fn has_line(text: &str, parts: &[&str]) -> bool {
    text.lines().any(|line| {
        let mut rest = line;
        parts.iter().all(|p| match rest.find(p) {
            Some(at) => {
                rest = &rest[at + p.len()..];
                true
            }
            None => false,
        })
    })
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs and expects exit code `code`; returns stdout.
fn expect(home: &Path, args: &[&str], code: i32) -> String {
    let o = run_home(OFFRECORD, home, args);
    assert_eq!(
        o.status.code(),
        Some(code),
        "{args:?}\nstdout: {}\nstderr: {}",
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}

/// libotr's human form: five groups of eight uppercase hex digits.
fn is_human_fingerprint(s: &str) -> bool {
    let groups: Vec<&str> = s.split(' ').collect();
    groups.len() == 5
        && groups.iter().all(|g| {
            g.len() == 8
                && g.bytes()
                    .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
        })
}

#[test]
fn keygen_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let o = run_home(OFFRECORD, &home, &["keygen", "--account", "alice"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("Generating"), "{}", stderr(&o));
    let first = stdout(&o).trim().to_owned();
    assert!(is_human_fingerprint(&first), "{first}");
    let key_file = home.join("otr.private_key");
    let bytes = fs::read(&key_file).unwrap();

    let o = run_home(OFFRECORD, &home, &["keygen", "--account", "alice"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert!(stderr(&o).contains(&first), "{}", stderr(&o));
    assert_eq!(fs::read(&key_file).unwrap(), bytes);

    assert_eq!(
        expect(&home, &["fingerprint", "--account", "alice"], 0).trim(),
        first
    );
    // Another protocol id is another key in the same file.
    let irssi = expect(
        &home,
        &["keygen", "--account", "alice", "--otr-protocol", "IRC"],
        0,
    );
    assert_ne!(irssi.trim(), first);
    let all = expect(&home, &["fingerprint"], 0);
    assert!(all.contains(&format!("alice\tprpl-irc\t{first}")), "{all}");
    assert!(
        all.contains(&format!("alice\tIRC\t{}", irssi.trim())),
        "{all}"
    );

    // Keys under two protocol ids and none given: no guess, a list to choose from.
    for args in [
        &["fingerprint", "--account", "alice"][..],
        &["keygen", "--account", "alice", "--force"][..],
    ] {
        let o = run_home(OFFRECORD, &home, args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let why = stderr(&o);
        assert!(
            why.contains("prpl-irc, IRC") && why.contains("--otr-protocol"),
            "{why}"
        );
    }
    let second = expect(
        &home,
        &[
            "keygen",
            "--account",
            "alice",
            "--otr-protocol",
            "prpl-irc",
            "--force",
        ],
        0,
    );
    assert_ne!(second.trim(), first);
    assert_eq!(
        expect(
            &home,
            &[
                "fingerprint",
                "--account",
                "alice",
                "--otr-protocol",
                "prpl-irc"
            ],
            0
        )
        .trim(),
        second.trim()
    );
    assert_eq!(
        expect(
            &home,
            &["fingerprint", "--account", "alice", "--otr-protocol", "IRC"],
            0
        ),
        irssi
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["otr.private_key", "otr.instance_tags"] {
            let mode = fs::metadata(home.join(f)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{f}");
        }
    }
}

#[test]
fn exit_codes_and_help() {
    let dir = tempfile::tempdir().unwrap();
    // Usage errors: 2.
    expect(dir.path(), &["keygen"], 2);
    expect(dir.path(), &["no-such-command"], 2);
    expect(dir.path(), &["trust", "--account", "a"], 2);
    // Errors: 1.
    let o = run_home(
        OFFRECORD,
        dir.path(),
        &["fingerprint", "--account", "nobody"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("keygen"), "{}", stderr(&o));
    expect(dir.path(), &["fingerprint"], 1);
    // Help: 0.
    let help = expect(dir.path(), &["--help"], 0);
    for command in [
        "keygen",
        "fingerprint",
        "contacts",
        "trust",
        "distrust",
        "import",
        "export",
    ] {
        assert!(help.contains(command), "{help}");
        expect(dir.path(), &[command, "--help"], 0);
    }
    assert!(help.contains("XDG_DATA_HOME"), "{help}");
    assert_eq!(
        expect(dir.path(), &["contacts"], 0).trim(),
        "No known fingerprints."
    );
}

#[test]
fn home_defaults_to_the_xdg_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let xdg = dir.path().join("xdg");
    let fake_home = dir.path().join("user");
    let go = |xdg_set: bool, args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_offrecord"));
        c.args(args).env("HOME", &fake_home);
        if xdg_set {
            c.env("XDG_DATA_HOME", &xdg);
        } else {
            c.env_remove("XDG_DATA_HOME");
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    let a = go(true, &["keygen", "--account", "alice"]);
    assert!(xdg.join("offrecord/otr.private_key").is_file());
    let b = go(false, &["keygen", "--account", "alice"]);
    assert!(fake_home
        .join(".local/share/offrecord/otr.private_key")
        .is_file());
    assert_ne!(a, b);
    assert_eq!(go(true, &["fingerprint", "--account", "alice"]), a);
}

#[test]
fn contacts_trust_and_distrust() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let store = Store::new(home, "alice", "prpl-irc");
    let mut account = store.load_or_create(&mut OsRng).unwrap();
    let (b1, b2, c) = (
        Fingerprint([0xb1; 20]),
        Fingerprint([0xb2; 20]),
        Fingerprint([0xcc; 20]),
    );
    account.known.insert("bob", b1);
    account.known.insert("bob", b2);
    account.known.insert("carol", c);
    store.save_known(&account.known).unwrap();
    // Another account's contact, with a trust text libotr's clients may write.
    let other = Store::new(home, "alice", "IRC");
    let mut irc = other.load_or_create(&mut OsRng).unwrap();
    irc.known.set_trusted("dave", Fingerprint([0xdd; 20]), true);
    other.save_known(&irc.known).unwrap();

    let listed = expect(
        home,
        &[
            "contacts",
            "--account",
            "alice",
            "--otr-protocol",
            "prpl-irc",
        ],
        0,
    );
    assert!(
        has_line(&listed, &["carol", &c.to_string(), "not verified"]),
        "{listed}"
    );
    assert!(!listed.contains("dave"), "{listed}");
    let everyone = expect(home, &["contacts"], 0);
    assert!(
        everyone.contains("dave") && everyone.contains("[alice (IRC)]"),
        "{everyone}"
    );

    let said = expect(
        home,
        &[
            "trust",
            "--account",
            "alice",
            "--otr-protocol",
            "prpl-irc",
            "carol",
        ],
        0,
    );
    assert!(said.contains("verified"), "{said}");
    let text = fs::read_to_string(home.join("otr.fingerprints")).unwrap();
    assert!(
        text.contains(&format!(
            "carol\talice\tprpl-irc\t{}\tverified\n",
            c.to_hex()
        )),
        "{text}"
    );
    assert!(text.contains(&format!(
        "dave\talice\tIRC\t{}\tverified\n",
        Fingerprint([0xdd; 20]).to_hex()
    )));
    let listed = expect(
        home,
        &[
            "contacts",
            "--account",
            "alice",
            "--otr-protocol",
            "prpl-irc",
        ],
        0,
    );
    assert!(
        has_line(&listed, &["carol", &c.to_string(), "  verified"]),
        "{listed}"
    );

    // Bob has two fingerprints: say which.
    let o = run_home(
        OFFRECORD,
        home,
        &[
            "trust",
            "--account",
            "alice",
            "--otr-protocol",
            "prpl-irc",
            "bob",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(&b1.to_string()) && stderr(&o).contains(&b2.to_string()));
    expect(
        home,
        &[
            "trust",
            "--account",
            "alice",
            "--otr-protocol",
            "prpl-irc",
            "bob",
            &b2.to_string(),
        ],
        0,
    );
    expect(
        home,
        &[
            "trust",
            "--account",
            "alice",
            "--otr-protocol",
            "prpl-irc",
            "bob",
            &b1.to_hex(),
        ],
        0,
    );
    let reloaded = store.load_or_create(&mut OsRng).unwrap();
    assert!(reloaded.known.is_trusted("bob", &b1) && reloaded.known.is_trusted("bob", &b2));
    expect(
        home,
        &[
            "distrust",
            "--account",
            "alice",
            "--otr-protocol",
            "prpl-irc",
            "bob",
            &b1.to_string(),
        ],
        0,
    );
    expect(
        home,
        &[
            "distrust",
            "--account",
            "alice",
            "--otr-protocol",
            "prpl-irc",
            "carol",
        ],
        0,
    );
    let reloaded = store.load_or_create(&mut OsRng).unwrap();
    assert!(!reloaded.known.is_trusted("bob", &b1));
    assert!(reloaded.known.is_trusted("bob", &b2));
    assert!(!reloaded.known.is_trusted("carol", &c));

    // Unknown peer, unknown fingerprint, not a fingerprint: 1.
    expect(
        home,
        &[
            "trust",
            "--account",
            "alice",
            "--otr-protocol",
            "prpl-irc",
            "zed",
        ],
        1,
    );
    let o = run_home(
        OFFRECORD,
        home,
        &[
            "trust",
            "--account",
            "alice",
            "--otr-protocol",
            "prpl-irc",
            "dave",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--otr-protocol IRC"), "{}", stderr(&o));
    expect(
        home,
        &[
            "trust",
            "--account",
            "alice",
            "--otr-protocol",
            "prpl-irc",
            "carol",
            &b1.to_hex(),
        ],
        1,
    );
    expect(
        home,
        &[
            "trust",
            "--account",
            "alice",
            "--otr-protocol",
            "prpl-irc",
            "carol",
            "xyz",
        ],
        1,
    );
}

/// A Pidgin-like libotr directory: two accounts, fingerprints with trust.
fn pidgin_dir(dir: &Path) -> UserState {
    let mut us = UserState::new().unwrap();
    for (account, protocol) in [
        ("alice@irc.example", "prpl-irc"),
        ("alice@jabber", "prpl-jabber"),
    ] {
        us.privkey_generate(&dir.join("otr.private_key"), account, protocol)
            .unwrap();
        us.instag_generate(&dir.join("otr.instance_tags"), account, protocol)
            .unwrap();
    }
    us.add_fingerprint(
        "bob",
        "alice@irc.example",
        "prpl-irc",
        &[0xb0; 20],
        Some("smp"),
    )
    .unwrap();
    us.add_fingerprint("carol", "alice@irc.example", "prpl-irc", &[0xc0; 20], None)
        .unwrap();
    us.add_fingerprint(
        "dan",
        "alice@jabber",
        "prpl-jabber",
        &[0xd0; 20],
        Some("verified"),
    )
    .unwrap();
    us.write_fingerprints(&dir.join("otr.fingerprints"))
        .unwrap();
    us
}

#[test]
fn import_from_a_libotr_directory() {
    let dir = tempfile::tempdir().unwrap();
    let pidgin = dir.path().join("purple");
    fs::create_dir(&pidgin).unwrap();
    let us = pidgin_dir(&pidgin);
    let home = dir.path().join("home");
    let p = pidgin.to_str().unwrap();

    // Several accounts: list them and ask.
    let o = run_home(OFFRECORD, &home, &["import", p]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("alice@irc.example (prpl-irc)"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("alice@jabber (prpl-jabber)"),
        "{}",
        stderr(&o)
    );
    assert!(!home.join("otr.private_key").exists());
    let listed = expect(&home, &["import", p, "--list"], 0);
    let want = us.fingerprint("alice@irc.example", "prpl-irc").unwrap();
    assert!(
        listed.contains(&format!("alice@irc.example\tprpl-irc\t{want}")),
        "{listed}"
    );

    let said = expect(&home, &["import", p, "--account", "alice@irc.example"], 0);
    assert!(said.contains(&want), "{said}");
    assert_eq!(
        expect(&home, &["fingerprint", "--account", "alice@irc.example"], 0).trim(),
        want
    );
    let contacts = expect(&home, &["contacts", "--account", "alice@irc.example"], 0);
    assert!(
        has_line(
            &contacts,
            &[
                "bob",
                &Fingerprint([0xb0; 20]).to_string(),
                "verified (SMP)"
            ]
        ),
        "{contacts}"
    );
    assert!(
        has_line(
            &contacts,
            &[
                "carol",
                &Fingerprint([0xc0; 20]).to_string(),
                "not verified"
            ]
        ),
        "{contacts}"
    );
    assert!(!contacts.contains("dan"));
    let tags = fs::read_to_string(home.join("otr.instance_tags")).unwrap();
    assert!(tags.contains(&format!(
        "alice@irc.example\tprpl-irc\t{:08x}\n",
        us.instag("alice@irc.example", "prpl-irc").unwrap()
    )));
    // Importing again changes nothing and succeeds.
    let before = fs::read(home.join("otr.fingerprints")).unwrap();
    expect(&home, &["import", p, "--account", "alice@irc.example"], 0);
    assert_eq!(fs::read(home.join("otr.fingerprints")).unwrap(), before);

    // The rpc engine on that home uses the imported key.
    let mut child = Command::new(env!("CARGO_BIN_EXE_offrecord"))
        .args(["rpc", "--account", "alice@irc.example", "--home"])
        .arg(&home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"cmd\":\"fingerprint\",\"id\":1}\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(&want));

    // A different key for the same account is replaced only with --force.
    let other = dir.path().join("other");
    fs::create_dir(&other).unwrap();
    let mut us2 = UserState::new().unwrap();
    us2.privkey_generate(
        &other.join("otr.private_key"),
        "alice@irc.example",
        "prpl-irc",
    )
    .unwrap();
    let o2 = other.to_str().unwrap();
    let key_before = fs::read(home.join("otr.private_key")).unwrap();
    let o = run_home(OFFRECORD, &home, &["import", o2]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(fs::read(home.join("otr.private_key")).unwrap(), key_before);
    expect(&home, &["import", o2, "--force"], 0);
    assert_eq!(
        expect(&home, &["fingerprint", "--account", "alice@irc.example"], 0).trim(),
        us2.fingerprint("alice@irc.example", "prpl-irc").unwrap()
    );
}

#[test]
fn import_from_irssi_and_export_to_libotr() {
    let dir = tempfile::tempdir().unwrap();
    // irssi-otr's file names and protocol id.
    let irssi = dir.path().join("irssi-otr");
    fs::create_dir(&irssi).unwrap();
    let mut us = UserState::new().unwrap();
    us.privkey_generate(&irssi.join("otr.key"), "alice@irc.libera.chat", "IRC")
        .unwrap();
    us.instag_generate(&irssi.join("otr.instag"), "alice@irc.libera.chat", "IRC")
        .unwrap();
    us.add_fingerprint(
        "bob@irc.libera.chat",
        "alice@irc.libera.chat",
        "IRC",
        &[0xbb; 20],
        Some("verified"),
    )
    .unwrap();
    us.write_fingerprints(&irssi.join("otr.fp")).unwrap();
    let want = us.fingerprint("alice@irc.libera.chat", "IRC").unwrap();

    let home = dir.path().join("home");
    expect(&home, &["import", irssi.to_str().unwrap()], 0);
    assert_eq!(
        expect(
            &home,
            &[
                "fingerprint",
                "--account",
                "alice@irc.libera.chat",
                "--otr-protocol",
                "IRC"
            ],
            0
        )
        .trim(),
        want
    );

    // Export into a directory that already holds another account: it stays.
    let out = dir.path().join("export");
    fs::create_dir(&out).unwrap();
    let mut there = UserState::new().unwrap();
    there
        .privkey_generate(&out.join("otr.private_key"), "someone", "prpl-irc")
        .unwrap();
    let someone = there.fingerprint("someone", "prpl-irc").unwrap();
    let said = expect(&home, &["export", out.to_str().unwrap()], 0);
    assert!(said.contains(&want), "{said}");

    let mut reader = UserState::new().unwrap();
    reader.privkey_read(&out.join("otr.private_key")).unwrap();
    reader
        .read_fingerprints(&out.join("otr.fingerprints"))
        .unwrap();
    reader.instag_read(&out.join("otr.instance_tags")).unwrap();
    assert_eq!(
        reader.fingerprint("alice@irc.libera.chat", "IRC").unwrap(),
        want
    );
    assert_eq!(reader.fingerprint("someone", "prpl-irc").unwrap(), someone);
    assert_eq!(
        reader.instag("alice@irc.libera.chat", "IRC"),
        us.instag("alice@irc.libera.chat", "IRC")
    );
    let fps = reader.fingerprints();
    assert_eq!(fps.len(), 1);
    assert_eq!(fps[0].fingerprint, [0xbb; 20]);
    assert_eq!(fps[0].trust.as_deref(), Some("verified"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["otr.private_key", "otr.fingerprints", "otr.instance_tags"] {
            let mode = fs::metadata(out.join(f)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{f}");
        }
    }

    // Exporting over a different key for the account needs --force.
    expect(
        &home,
        &[
            "keygen",
            "--account",
            "alice@irc.libera.chat",
            "--otr-protocol",
            "IRC",
            "--force",
        ],
        0,
    );
    let before = fs::read(out.join("otr.private_key")).unwrap();
    let o = run_home(
        OFFRECORD,
        &home,
        &[
            "export",
            out.to_str().unwrap(),
            "--account",
            "alice@irc.libera.chat",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("--force"));
    assert_eq!(fs::read(out.join("otr.private_key")).unwrap(), before);
    expect(&home, &["export", out.to_str().unwrap(), "--force"], 0);

    // irssi-otr's layout on request.
    let to_irssi = dir.path().join("to-irssi");
    expect(
        &home,
        &["export", to_irssi.to_str().unwrap(), "--layout", "irssi"],
        0,
    );
    for f in ["otr.key", "otr.fp", "otr.instag"] {
        assert!(to_irssi.join(f).is_file(), "{f}");
    }
    let mut reader = UserState::new().unwrap();
    reader.privkey_read(&to_irssi.join("otr.key")).unwrap();
    assert_eq!(
        reader.fingerprint("alice@irc.libera.chat", "IRC").unwrap(),
        expect(
            &home,
            &[
                "fingerprint",
                "--account",
                "alice@irc.libera.chat",
                "--otr-protocol",
                "IRC"
            ],
            0
        )
        .trim()
    );
}

/// A key irssi-otr filed under `IRC` is the account's key for every command that is not
/// told a protocol id: found (and said so), never doubled by a second, generated one.
#[test]
fn a_key_under_another_programs_protocol_id_is_used_not_doubled() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let irssi = expect(
        home,
        &["keygen", "--account", "alice", "--otr-protocol", "IRC"],
        0,
    );
    let key_file = fs::read(home.join("otr.private_key")).unwrap();

    let o = run_home(OFFRECORD, home, &["fingerprint", "--account", "alice"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), irssi);
    assert!(stderr(&o).contains("protocol id IRC"), "{}", stderr(&o));

    let mut rpc = Command::new(env!("CARGO_BIN_EXE_offrecord"))
        .arg("--home")
        .arg(home)
        .args(["rpc", "--account", "alice"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    rpc.stdin
        .take()
        .unwrap()
        .write_all(b"{\"cmd\":\"fingerprint\"}\n")
        .unwrap();
    let o = rpc.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains(irssi.trim()), "{}", stdout(&o));
    assert_eq!(fs::read(home.join("otr.private_key")).unwrap(), key_file);

    // Asked for explicitly, another protocol id is another identity.
    let pidgin = expect(
        home,
        &["keygen", "--account", "alice", "--otr-protocol", "prpl-irc"],
        0,
    );
    assert_ne!(pidgin, irssi);
}
