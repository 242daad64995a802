//! Round trips of identity files with libotr 4.1.1 itself: files libotr writes
//! (`otrl_privkey_generate`, `otrl_privkey_write_fingerprints`, `otrl_instag_generate`) are
//! read by offrecord with the same fingerprints, trust and instance tags, and files offrecord
//! writes are read by libotr (`otrl_privkey_read`, `otrl_privkey_read_fingerprints`,
//! `otrl_instag_read`) with the same, its keys sign, and other accounts survive both ways.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::Path;

use libotr_harness::userstate::UserState;
use libotr_harness::LibOtr;
use offrecord::identity::{Layout, OtrDir};
use offrecord::store::Store;
use otr::crypto::{DsaSignature, Fingerprint};
use rand_core::OsRng;

const KEYS: &str = "otr.private_key";
const FPS: &str = "otr.fingerprints";
const TAGS: &str = "otr.instance_tags";

/// Accounts of several protocols, as Pidgin and irssi name them.
const ACCOUNTS: [(&str, &str); 3] = [
    ("alice@irc.example", "prpl-irc"),
    ("alice", "IRC"),
    ("zoé@jabber.example", "prpl-jabber"),
];

/// A libotr directory with a key and an instance tag for every account of `ACCOUNTS`, and
/// fingerprints with every kind of trust.
fn libotr_dir(dir: &Path) -> UserState {
    let mut us = UserState::new().unwrap();
    for (account, protocol) in ACCOUNTS {
        us.privkey_generate(&dir.join(KEYS), account, protocol)
            .unwrap();
        us.instag_generate(&dir.join(TAGS), account, protocol)
            .unwrap();
    }
    let trusts = [
        None,
        Some("verified"),
        Some("smp"),
        Some("my own words"),
        Some(""),
    ];
    for (i, trust) in trusts.into_iter().enumerate() {
        let (account, protocol) = ACCOUNTS[i % 2];
        let byte = u8::try_from(i).unwrap();
        us.add_fingerprint(
            &format!("peer{i}"),
            account,
            protocol,
            &[byte * 17; 20],
            trust,
        )
        .unwrap();
    }
    // Two fingerprints for one peer.
    us.add_fingerprint(
        "peer0",
        ACCOUNTS[0].0,
        ACCOUNTS[0].1,
        &[0xee; 20],
        Some("verified"),
    )
    .unwrap();
    us.write_fingerprints(&dir.join(FPS)).unwrap();
    us
}

#[test]
fn files_libotr_writes_are_read_with_the_same_keys_trust_and_tags() {
    let dir = tempfile::tempdir().unwrap();
    let us = libotr_dir(dir.path());
    let before: Vec<Vec<u8>> = [KEYS, FPS, TAGS]
        .iter()
        .map(|f| fs::read(dir.path().join(f)).unwrap())
        .collect();

    let files = OtrDir::new(dir.path(), Layout::LIBOTR);
    let keys = files.read_private_keys().unwrap().unwrap();
    let mut ours: Vec<(String, String)> = keys
        .entries()
        .iter()
        .map(|e| (e.account.clone(), e.protocol.clone()))
        .collect();
    let mut theirs = us.private_keys();
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs);
    for (account, protocol) in ACCOUNTS {
        let key = keys.find(account, protocol).unwrap();
        assert_eq!(
            key.public().fingerprint().to_string(),
            us.fingerprint(account, protocol).unwrap(),
            "{account} {protocol}"
        );
    }

    let fingerprints = files.read_fingerprints().unwrap();
    let libotr_fps = us.fingerprints();
    assert_eq!(fingerprints.len(), libotr_fps.len());
    assert_eq!(fingerprints.len(), 6);
    for theirs in &libotr_fps {
        let ours = fingerprints
            .iter()
            .find(|e| {
                e.username == theirs.username
                    && e.account == theirs.account
                    && e.protocol == theirs.protocol
                    && e.fingerprint == Fingerprint(theirs.fingerprint)
            })
            .unwrap_or_else(|| panic!("{theirs:?} missing"));
        assert_eq!(
            ours.trust,
            theirs.trust.clone().unwrap_or_default(),
            "{theirs:?}"
        );
    }

    let tags = files.read_instance_tags().unwrap();
    for (account, protocol) in ACCOUNTS {
        assert_eq!(
            offrecord::identity::instance_tags::find(&tags, account, protocol),
            us.instag(account, protocol),
        );
    }

    // The engine's view of one account through the store: same key, tag and trust, and
    // loading wrote nothing.
    let (account, protocol) = ACCOUNTS[1];
    let loaded = Store::new(dir.path(), account, protocol)
        .load_or_create(&mut OsRng)
        .unwrap();
    assert_eq!(
        loaded.key.public().fingerprint().to_string(),
        us.fingerprint(account, protocol).unwrap()
    );
    assert_eq!(Some(loaded.instance_tag), us.instag(account, protocol));
    assert!(loaded.known.is_trusted("peer1", &Fingerprint([17; 20])));
    assert!(loaded.known.is_trusted("peer3", &Fingerprint([51; 20])));
    assert_eq!(loaded.known.iter().count(), 2);
    let first = Store::new(dir.path(), ACCOUNTS[0].0, ACCOUNTS[0].1)
        .load_or_create(&mut OsRng)
        .unwrap();
    assert!(!first.known.is_trusted("peer0", &Fingerprint([0; 20])));
    assert!(first.known.is_trusted("peer0", &Fingerprint([0xee; 20])));
    assert!(first.known.is_trusted("peer2", &Fingerprint([34; 20])));
    assert!(!first.known.is_trusted("peer4", &Fingerprint([68; 20])));
    let after: Vec<Vec<u8>> = [KEYS, FPS, TAGS]
        .iter()
        .map(|f| fs::read(dir.path().join(f)).unwrap())
        .collect();
    assert_eq!(before, after, "loading must not rewrite the files");
}

#[test]
fn files_offrecord_writes_are_read_by_libotr() {
    let dir = tempfile::tempdir().unwrap();
    let mut fingerprints = Vec::new();
    let mut tags = Vec::new();
    for (i, (account, protocol)) in ACCOUNTS.into_iter().enumerate() {
        let store = Store::new(dir.path(), account, protocol);
        let mut state = store.load_or_create(&mut OsRng).unwrap();
        let byte = u8::try_from(i).unwrap();
        state
            .known
            .set_trusted("bob", Fingerprint([byte; 20]), true);
        state
            .known
            .set_trusted("carol", Fingerprint([byte + 100; 20]), false);
        store.save_known(&state.known).unwrap();
        fingerprints.push(state.key.public().fingerprint());
        tags.push(state.instance_tag);
    }

    let mut us = UserState::new().unwrap();
    us.privkey_read(&dir.path().join(KEYS)).unwrap();
    us.read_fingerprints(&dir.path().join(FPS)).unwrap();
    us.instag_read(&dir.path().join(TAGS)).unwrap();
    assert_eq!(us.private_keys().len(), ACCOUNTS.len());
    for (i, (account, protocol)) in ACCOUNTS.into_iter().enumerate() {
        assert_eq!(
            us.fingerprint(account, protocol).unwrap(),
            fingerprints[i].to_string()
        );
        assert_eq!(us.instag(account, protocol), Some(tags[i]));
        // libotr signs with the secret half we wrote; our public half verifies it.
        let value = [0x5a; 32];
        let sig = us.sign(account, protocol, &value).unwrap();
        let mut r = [0; 20];
        let mut s = [0; 20];
        r.copy_from_slice(&sig[..20]);
        s.copy_from_slice(&sig[20..]);
        let key = OtrDir::new(dir.path(), Layout::LIBOTR)
            .read_private_keys()
            .unwrap()
            .unwrap();
        assert!(key
            .find(account, protocol)
            .unwrap()
            .public()
            .verify(&value, &DsaSignature { r, s }));
        let byte = u8::try_from(i).unwrap();
        let known = us.fingerprints();
        let bob = known
            .iter()
            .find(|k| k.account == account && k.protocol == protocol && k.username == "bob")
            .unwrap();
        assert_eq!(bob.fingerprint, [byte; 20]);
        assert_eq!(bob.trust.as_deref(), Some("verified"));
        let carol = known
            .iter()
            .find(|k| k.account == account && k.protocol == protocol && k.username == "carol")
            .unwrap();
        assert_eq!(carol.fingerprint, [byte + 100; 20]);
        assert!(carol.trust.as_deref().unwrap_or_default().is_empty());
    }
    assert_eq!(us.fingerprints().len(), 2 * ACCOUNTS.len());

    // libotr's own writer, fed what it read from us, writes what we wrote.
    let rewritten = dir.path().join("rewritten");
    us.write_fingerprints(&rewritten).unwrap();
    let mut a: Vec<String> = fs::read_to_string(&rewritten)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let mut b: Vec<String> = fs::read_to_string(dir.path().join(FPS))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

#[test]
fn other_accounts_survive_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let mut us = libotr_dir(dir.path());
    let theirs: Vec<String> = ACCOUNTS
        .iter()
        .map(|(a, p)| us.fingerprint(a, p).unwrap())
        .collect();
    let fps_before = fs::read_to_string(dir.path().join(FPS)).unwrap();

    // offrecord adds an account and trusts a peer in it.
    let store = Store::new(dir.path(), "carol", "prpl-irc");
    let mut carol = store.load_or_create(&mut OsRng).unwrap();
    carol.known.set_trusted("dave", Fingerprint([9; 20]), true);
    store.save_known(&carol.known).unwrap();
    let fps_after = fs::read_to_string(dir.path().join(FPS)).unwrap();
    assert!(
        fps_after.starts_with(&fps_before),
        "existing lines are kept as they were"
    );

    // libotr reads every account, then generates one more and rewrites the file itself.
    us.privkey_read(&dir.path().join(KEYS)).unwrap();
    for ((a, p), fp) in ACCOUNTS.iter().zip(&theirs) {
        assert_eq!(&us.fingerprint(a, p).unwrap(), fp);
    }
    assert_eq!(
        us.fingerprint("carol", "prpl-irc").unwrap(),
        carol.key.public().fingerprint().to_string()
    );
    us.privkey_generate(&dir.path().join(KEYS), "erin", "IRC")
        .unwrap();
    let keys = OtrDir::new(dir.path(), Layout::LIBOTR)
        .read_private_keys()
        .unwrap()
        .unwrap();
    assert_eq!(keys.entries().len(), ACCOUNTS.len() + 2);
    assert_eq!(
        keys.find("carol", "prpl-irc")
            .unwrap()
            .public()
            .fingerprint(),
        carol.key.public().fingerprint()
    );
    let again = store.load_or_create(&mut OsRng).unwrap();
    assert!(again.known.is_trusted("dave", &Fingerprint([9; 20])));
}

#[test]
fn libotr_and_offrecord_share_a_home() {
    // The harness's libotr account uses protocol "irc": offrecord creates the account, then
    // libotr opens the same directory and uses our key and instance tag as they are.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path(), "alice", "irc");
    let ours = store.load_or_create(&mut OsRng).unwrap();
    let keys_before = fs::read(dir.path().join(KEYS)).unwrap();
    let libotr = LibOtr::new("alice", dir.path(), libotr_harness::POLICY_MANUAL).unwrap();
    assert_eq!(
        libotr.fingerprint(),
        ours.key.public().fingerprint().to_string()
    );
    assert_eq!(libotr.instance_tag(), ours.instance_tag);
    assert_eq!(fs::read(dir.path().join(KEYS)).unwrap(), keys_before);
}

/// Passes wire messages between our engine (account "alice") and libotr (account "bob")
/// until both are quiet.
fn exchange(engine: &mut otr::Engine, libotr: &mut LibOtr, first: Vec<otr::Event>) {
    let mut to_libotr: Vec<String> = Vec::new();
    let mut to_engine: Vec<String> = Vec::new();
    let collect = |events: Vec<otr::Event>, out: &mut Vec<String>| {
        for e in events {
            if let otr::Event::Wire { data, .. } = e {
                out.push(data);
            }
        }
    };
    collect(first, &mut to_libotr);
    for _ in 0..50 {
        if to_libotr.is_empty() && to_engine.is_empty() {
            return;
        }
        for data in std::mem::take(&mut to_libotr) {
            for e in libotr.receive("alice", &data) {
                if let libotr_harness::Event::Wire { data, .. } = e {
                    to_engine.push(data);
                }
            }
        }
        for data in std::mem::take(&mut to_engine) {
            collect(engine.receive("bob", &data), &mut to_libotr);
        }
    }
    panic!("the exchange did not settle");
}

#[test]
fn a_session_with_libotr_is_remembered_by_both_sides() {
    use offrecord::rpc::Persist;
    let ours = tempfile::tempdir().unwrap();
    let theirs = tempfile::tempdir().unwrap();
    let mut store = Store::new(ours.path(), "alice", "irc");
    let account = store.load_or_create(&mut OsRng).unwrap();
    store.set_baseline(account.known.clone());
    let mut engine = otr::Engine::new(
        account.key,
        otr::EngineConfig {
            policy: otr::Policy::from_preset("manual").unwrap(),
            instance_tag: otr::wire::encoded::InstanceTag(account.instance_tag),
            line_based: true,
            hold_during_key_exchange: false,
        },
        Box::new(OsRng),
    );
    let mut libotr = LibOtr::new("bob", theirs.path(), libotr_harness::POLICY_MANUAL).unwrap();
    let start = engine.start("bob").unwrap();
    exchange(&mut engine, &mut libotr, start);
    let bob = engine.peer_fingerprint("bob").unwrap();
    assert_eq!(bob.to_string(), libotr.fingerprint());
    let _ = engine.set_trust("bob", true).unwrap();
    Persist::save(&mut store, engine.known_fingerprints()).unwrap();

    // libotr reads our fingerprints file: bob's key, verified.
    let mut us = UserState::new().unwrap();
    us.read_fingerprints(&ours.path().join(FPS)).unwrap();
    let known = us.fingerprints();
    assert_eq!(known.len(), 1);
    assert_eq!(
        (
            known[0].username.as_str(),
            known[0].account.as_str(),
            known[0].protocol.as_str()
        ),
        ("bob", "alice", "irc")
    );
    assert_eq!(known[0].fingerprint, bob.0);
    assert_eq!(known[0].trust.as_deref(), Some("verified"));
    // We read the file libotr wrote when it saw our key.
    let seen = OtrDir::new(theirs.path(), Layout::LIBOTR)
        .read_fingerprints()
        .unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].username, "alice");
    assert_eq!(seen[0].fingerprint, engine.fingerprint());
    // A restart keeps the trust.
    let again = Store::new(ours.path(), "alice", "irc")
        .load_or_create(&mut OsRng)
        .unwrap();
    assert!(again.known.is_trusted("bob", &bob));
}
