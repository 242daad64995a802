//! The `--home` directory: each account's identity key, instance tag and known fingerprints,
//! in libotr's own files, so that libotr (Pidgin's files, or libotr in another program) and
//! offrecord can share a directory:
//!
//! * `otr.private_key`: the DSA key of each (account, protocol);
//! * `otr.instance_tags`: the instance tag of each (account, protocol);
//! * `otr.fingerprints`: every peer fingerprint of each account, with its trust.
//!
//! Formats and parsing are in [`crate::files`]. A [`Store`] is one (account, protocol):
//! saving re-reads each file under a lock (`DIR/.offrecord.lock`), replaces only this
//! account's part and writes atomically (temporary file 0600, fsync, rename, fsync of the
//! directory), so every other account in the files survives, and a file that does not parse
//! is reported with its path and line and never overwritten.
//!
//! Trust: libotr stores a trust text per fingerprint (empty, `verified`, `smp`, ...), the
//! engine a yes/no. A fingerprint whose trust the engine did not change keeps its text; one
//! newly verified gets `verified`; one no longer verified gets an empty text. After
//! [`Store::set_baseline`] (as `offrecord rpc` does), a save writes only the trust that
//! changed since, so an `offrecord trust` run while the engine runs is not undone.
//!
//! `offrecord.json`, the file of versions before libotr's files were used, is ignored (it was
//! never released).

use std::path::PathBuf;

use crate::crypto::{DsaPrivateKey, Fingerprint};
use crate::KnownFingerprints;
use rand_core::CryptoRngCore;

use crate::files::{instance_tags, FingerprintEntry, IdentityError, Layout, OtrDir};

/// Why the home directory could not be read or written.
pub type StoreError = IdentityError;

/// One account's persistent state, as loaded from (or about to be saved to) the home dir.
pub struct Account {
    /// The long-term DSA identity key.
    pub key: DsaPrivateKey,
    /// Our instance tag (>= 0x100).
    pub instance_tag: u32,
    /// Fingerprints seen for each peer, with their trust.
    pub known: KnownFingerprints,
}

impl core::fmt::Debug for Account {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Account")
            .field("fingerprint", &self.key.public().fingerprint())
            .field("instance_tag", &self.instance_tag)
            .field("known", &self.known)
            .finish_non_exhaustive()
    }
}

/// How the libotr protocol id of an account was chosen (see [`choose_protocol`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolChoice {
    /// Given by the user (`--otr-protocol`).
    Given(String),
    /// Not given: the only key the directory holds for the account is filed under it.
    Found(String),
    /// Not given, and the directory holds no key for the account: [`DEFAULT_PROTOCOL`].
    ///
    /// [`DEFAULT_PROTOCOL`]: crate::files::DEFAULT_PROTOCOL
    Default,
}

impl ProtocolChoice {
    /// The protocol id to use.
    pub fn protocol(&self) -> &str {
        match self {
            Self::Given(p) | Self::Found(p) => p,
            Self::Default => crate::files::DEFAULT_PROTOCOL,
        }
    }

    /// A sentence for the user when the id was not given but found, so that a key filed
    /// by another program (irssi-otr's `IRC`, Pidgin's `prpl-irc`) is used knowingly.
    pub fn note(&self, account: &str) -> Option<String> {
        match self {
            Self::Found(p) if p != crate::files::DEFAULT_PROTOCOL => Some(format!(
                "using the key of {account} filed under protocol id {p} (the only one it has)"
            )),
            _ => None,
        }
    }
}

/// The protocol id to use for `account` in `files`: `given` when there is one; otherwise
/// that of the account's only key, or [`ProtocolChoice::Default`] when it has none. Keys of
/// the account under several ids and none given: [`IdentityError::AmbiguousAccount`], so
/// that no second identity is created, and no key picked, behind the user's back.
pub fn choose_protocol(
    files: &OtrDir,
    account: &str,
    given: Option<&str>,
) -> Result<ProtocolChoice, StoreError> {
    if let Some(given) = given {
        return Ok(ProtocolChoice::Given(given.to_owned()));
    }
    let keys = files.read_private_keys()?;
    let protocols: Vec<String> = keys
        .iter()
        .flat_map(|k| k.entries())
        .filter(|e| e.account == account)
        .map(|e| e.protocol.clone())
        .collect();
    match protocols.as_slice() {
        [] => Ok(ProtocolChoice::Default),
        [only] => Ok(ProtocolChoice::Found(only.clone())),
        _ => Err(IdentityError::AmbiguousAccount {
            path: files.private_key_path(),
            account: account.to_owned(),
            protocols,
        }),
    }
}

/// One (account, protocol) in a home directory.
#[derive(Debug, Clone)]
pub struct Store {
    files: OtrDir,
    account: String,
    protocol: String,
    /// The known fingerprints as last loaded or saved by this store's user (see
    /// [`Store::set_baseline`]).
    baseline: Option<KnownFingerprints>,
}

impl Store {
    /// The store for `account` under libotr protocol id `protocol` in directory `dir`
    /// (nothing is read yet).
    pub fn new(
        dir: impl Into<PathBuf>,
        account: impl Into<String>,
        protocol: impl Into<String>,
    ) -> Self {
        Self {
            files: OtrDir::new(dir, Layout::LIBOTR),
            account: account.into(),
            protocol: protocol.into(),
            baseline: None,
        }
    }

    /// Records the known fingerprints the caller started from. Later saves then write only
    /// what changed since (and each save moves the baseline), so a trust decision another
    /// program (`offrecord trust`, libotr) wrote to the file meanwhile is not undone by a
    /// save about something else.
    pub fn set_baseline(&mut self, known: KnownFingerprints) {
        self.baseline = Some(known);
    }

    /// The files.
    pub fn files(&self) -> &OtrDir {
        &self.files
    }

    /// The account name.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The libotr protocol id.
    pub fn protocol(&self) -> &str {
        &self.protocol
    }

    /// Loads the account; a key and an instance tag are created (and saved at once) if the
    /// directory, a file or the account's entry does not exist yet.
    pub fn load_or_create(&self, rng: &mut dyn CryptoRngCore) -> Result<Account, StoreError> {
        // Check every file before generating anything, so a corrupt one stops us early.
        let keys = self.files.read_private_keys()?;
        let tags = self.files.read_instance_tags()?;
        let fingerprints = self.files.read_fingerprints()?;
        let have_key = keys
            .as_ref()
            .is_some_and(|k| k.find(&self.account, &self.protocol).is_some());
        let have_tag = instance_tags::find(&tags, &self.account, &self.protocol).is_some();
        // Generating a key takes a moment: do it outside the lock.
        let fresh = (!have_key).then(|| DsaPrivateKey::generate(rng));
        let fresh_tag = random_instance_tag(rng);
        let _lock = self.files.lock()?;
        let mut keys = self.files.read_private_keys()?.unwrap_or_default();
        if keys.find(&self.account, &self.protocol).is_none() {
            // Another process may have created it meanwhile: then theirs wins.
            let key = match fresh {
                Some(key) => key,
                None => DsaPrivateKey::generate(rng),
            };
            keys.insert(&self.account, &self.protocol, key);
            self.files.write_private_keys(&keys)?;
        }
        let mut tags = self.files.read_instance_tags()?;
        if !have_tag && instance_tags::find(&tags, &self.account, &self.protocol).is_none() {
            instance_tags::set(&mut tags, &self.account, &self.protocol, fresh_tag);
            self.files.write_instance_tags(&tags)?;
        }
        let key = keys
            .find(&self.account, &self.protocol)
            .and_then(crate::files::private_key::copy_key)
            .ok_or_else(|| StoreError::Io {
                path: self.files.private_key_path(),
                source: std::io::Error::other("the key just written cannot be read back"),
            })?;
        let instance_tag =
            instance_tags::find(&tags, &self.account, &self.protocol).unwrap_or(fresh_tag);
        Ok(Account {
            key,
            instance_tag,
            known: known_of(&fingerprints, &self.account, &self.protocol),
        })
    }

    /// Saves the account's key, instance tag and known fingerprints (the other accounts in
    /// the files stay as they are).
    pub fn save(&self, account: &Account) -> Result<(), StoreError> {
        let _lock = self.files.lock()?;
        let mut keys = self.files.read_private_keys()?.unwrap_or_default();
        let copy =
            crate::files::private_key::copy_key(&account.key).ok_or_else(|| StoreError::Io {
                path: self.files.private_key_path(),
                source: std::io::Error::other("the key cannot be copied"),
            })?;
        keys.insert(&self.account, &self.protocol, copy);
        let mut tags = self.files.read_instance_tags()?;
        let mut fingerprints = self.files.read_fingerprints()?;
        instance_tags::set(
            &mut tags,
            &self.account,
            &self.protocol,
            account.instance_tag,
        );
        merge_known(
            &mut fingerprints,
            &self.account,
            &self.protocol,
            None,
            &account.known,
        )?;
        self.files.write_private_keys(&keys)?;
        self.files.write_instance_tags(&tags)?;
        self.files.write_fingerprints(&fingerprints)
    }

    /// Saves the known fingerprints of the account. Re-reads the file under the lock, updates
    /// this account's lines and writes atomically.
    pub fn save_known(&self, known: &KnownFingerprints) -> Result<(), StoreError> {
        let _lock = self.files.lock()?;
        let mut fingerprints = self.files.read_fingerprints()?;
        let before = fingerprints.clone();
        merge_known(
            &mut fingerprints,
            &self.account,
            &self.protocol,
            self.baseline.as_ref(),
            known,
        )?;
        if fingerprints == before && self.files.fingerprints_path().exists() {
            return Ok(());
        }
        self.files.write_fingerprints(&fingerprints)
    }
}

/// The known fingerprints of (account, protocol) in a fingerprints file.
pub fn known_of(entries: &[FingerprintEntry], account: &str, protocol: &str) -> KnownFingerprints {
    let mut known = KnownFingerprints::new();
    for e in entries
        .iter()
        .filter(|e| e.account == account && e.protocol == protocol)
    {
        // A fingerprint listed twice is trusted if either line trusts it, as in libotr.
        let trusted = e.is_trusted() || known.is_trusted(&e.username, &e.fingerprint);
        known.set_trusted(&e.username, e.fingerprint, trusted);
    }
    known
}

/// Updates `entries` (a fingerprints file) with the known fingerprints of (account,
/// protocol): new ones are appended, changed trust is rewritten (`verified` / empty), an
/// unchanged trust text is kept, and every other line stays as it is. With a `baseline`,
/// a fingerprint whose trust is the same as in the baseline is left as the file has it.
pub fn merge_known(
    entries: &mut Vec<FingerprintEntry>,
    account: &str,
    protocol: &str,
    baseline: Option<&KnownFingerprints>,
    known: &KnownFingerprints,
) -> Result<(), StoreError> {
    let unchanged = |peer: &str, fingerprint: &Fingerprint, trusted: bool| {
        baseline.is_some_and(|b| {
            b.iter()
                .any(|(p, f, t)| p == peer && f == fingerprint && t == trusted)
        })
    };
    for (peer, fingerprint, trusted) in known.iter() {
        let unchanged = unchanged(peer, fingerprint, trusted);
        let mut seen = false;
        for e in entries.iter_mut().filter(|e| {
            e.account == account
                && e.protocol == protocol
                && e.username == peer
                && e.fingerprint == *fingerprint
        }) {
            seen = true;
            if !unchanged && e.is_trusted() != trusted {
                e.trust = if trusted {
                    "verified".to_owned()
                } else {
                    String::new()
                };
            }
        }
        if !seen {
            let entry = FingerprintEntry {
                username: peer.to_owned(),
                account: account.to_owned(),
                protocol: protocol.to_owned(),
                fingerprint: *fingerprint,
                trust: if trusted {
                    "verified".to_owned()
                } else {
                    String::new()
                },
            };
            crate::files::fingerprints::check_writable(&entry).map_err(|e| StoreError::Io {
                path: PathBuf::from(crate::files::Layout::LIBOTR.fingerprints),
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
            })?;
            entries.push(entry);
        }
    }
    Ok(())
}

/// A random instance tag >= 0x100.
pub fn random_instance_tag(rng: &mut dyn CryptoRngCore) -> u32 {
    loop {
        let tag = rng.next_u32();
        if tag >= crate::wire::encoded::InstanceTag::MIN_VALID {
            return tag;
        }
    }
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use rand_core::OsRng;
    use std::fs;

    const PROTO: &str = "prpl-irc";

    #[test]
    fn round_trip_keeps_key_tag_and_trust() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let store = Store::new(&home, "alice", PROTO);
        let mut account = store.load_or_create(&mut OsRng).unwrap();
        assert!(account.instance_tag >= 0x100);
        let bob = Fingerprint([7; 20]);
        let carol = Fingerprint([9; 20]);
        account.known.set_trusted("bob", bob, true);
        account.known.set_trusted("carol", carol, false);
        store.save_known(&account.known).unwrap();

        let again = store.load_or_create(&mut OsRng).unwrap();
        assert_eq!(
            again.key.public().fingerprint(),
            account.key.public().fingerprint()
        );
        assert_eq!(again.instance_tag, account.instance_tag);
        assert_eq!(again.known, account.known);
        assert!(again.known.is_trusted("bob", &bob));
        assert!(!again.known.is_trusted("carol", &carol));
        let text = fs::read_to_string(home.join("otr.fingerprints")).unwrap();
        assert!(text.contains(&format!(
            "bob\talice\t{PROTO}\t{}\tverified\n",
            bob.to_hex()
        )));
        assert!(text.contains(&format!("carol\talice\t{PROTO}\t{}\t\n", carol.to_hex())));
    }

    #[test]
    fn trust_text_is_kept_and_other_accounts_survive() {
        let dir = tempfile::tempdir().unwrap();
        let fp = Fingerprint([3; 20]);
        let other = format!("zed\tsomeone\tIRC\t{}\tcustom\n", fp.to_hex());
        let ours = format!("bob\talice\t{PROTO}\t{}\tsmp\n", fp.to_hex());
        fs::write(
            dir.path().join("otr.fingerprints"),
            format!("{other}{ours}"),
        )
        .unwrap();
        let store = Store::new(dir.path(), "alice", PROTO);
        let mut account = store.load_or_create(&mut OsRng).unwrap();
        assert!(account.known.is_trusted("bob", &fp));
        account.known.insert("dan", Fingerprint([4; 20]));
        store.save_known(&account.known).unwrap();
        let text = fs::read_to_string(dir.path().join("otr.fingerprints")).unwrap();
        assert!(text.starts_with(&format!("{other}{ours}")), "{text}");
        assert!(text.contains("dan\talice"));
        account.known.set_trusted("bob", fp, false);
        store.save_known(&account.known).unwrap();
        let text = fs::read_to_string(dir.path().join("otr.fingerprints")).unwrap();
        assert!(text.contains(&format!("bob\talice\t{PROTO}\t{}\t\n", fp.to_hex())));
        assert!(text.starts_with(&other));
    }

    #[test]
    fn a_save_does_not_undo_what_another_program_changed() {
        let dir = tempfile::tempdir().unwrap();
        let bob = Fingerprint([0xb0; 20]);
        let mut store = Store::new(dir.path(), "alice", PROTO);
        let mut account = store.load_or_create(&mut OsRng).unwrap();
        account.known.set_trusted("bob", bob, true);
        store.save_known(&account.known).unwrap();
        store.set_baseline(account.known.clone());
        // Another program distrusts bob.
        let path = dir.path().join("otr.fingerprints");
        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, text.replace("\tverified\n", "\t\n")).unwrap();
        // Our engine still thinks bob is trusted and saves because of carol.
        account.known.insert("carol", Fingerprint([0xc0; 20]));
        store.save_known(&account.known).unwrap();
        store.set_baseline(account.known.clone());
        let again = Store::new(dir.path(), "alice", PROTO)
            .load_or_create(&mut OsRng)
            .unwrap();
        assert!(!again.known.is_trusted("bob", &bob));
        assert!(again.known.iter().any(|(p, _, _)| p == "carol"));
        // A change our user makes is written.
        account
            .known
            .set_trusted("carol", Fingerprint([0xc0; 20]), true);
        store.save_known(&account.known).unwrap();
        store.set_baseline(account.known.clone());
        let again = Store::new(dir.path(), "alice", PROTO)
            .load_or_create(&mut OsRng)
            .unwrap();
        assert!(again.known.is_trusted("carol", &Fingerprint([0xc0; 20])));
        assert!(!again.known.is_trusted("bob", &bob));
    }

    #[test]
    fn accounts_and_protocols_sharing_files_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let alice = Store::new(dir.path(), "alice", PROTO);
        let alice_irssi = Store::new(dir.path(), "alice", "IRC");
        let bob = Store::new(dir.path(), "bob", PROTO);
        let a = alice.load_or_create(&mut OsRng).unwrap();
        let ai = alice_irssi.load_or_create(&mut OsRng).unwrap();
        let b = bob.load_or_create(&mut OsRng).unwrap();
        assert_ne!(a.key.public().fingerprint(), ai.key.public().fingerprint());
        alice.save(&a).unwrap();
        for (store, account) in [(&alice, &a), (&alice_irssi, &ai), (&bob, &b)] {
            let again = store.load_or_create(&mut OsRng).unwrap();
            assert_eq!(
                again.key.public().fingerprint(),
                account.key.public().fingerprint()
            );
            assert_eq!(again.instance_tag, account.instance_tag);
        }
    }

    #[test]
    fn concurrent_accounts_do_not_lose_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..6).map(|i| format!("account{i}")).collect();
        let fingerprints: Vec<Fingerprint> = std::thread::scope(|scope| {
            let handles: Vec<_> = names
                .iter()
                .map(|name| {
                    let store = Store::new(dir.path(), name.as_str(), PROTO);
                    scope.spawn(move || {
                        store
                            .load_or_create(&mut OsRng)
                            .unwrap()
                            .key
                            .public()
                            .fingerprint()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (name, fp) in names.iter().zip(fingerprints) {
            let again = Store::new(dir.path(), name.as_str(), PROTO)
                .load_or_create(&mut OsRng)
                .unwrap();
            assert_eq!(again.key.public().fingerprint(), fp, "{name}");
        }
    }

    #[test]
    fn corrupt_file_is_named_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("otr.private_key");
        let garbage = b"(privkeys (account";
        fs::write(&path, garbage).unwrap();
        let store = Store::new(dir.path(), "alice", PROTO);
        let err = store.load_or_create(&mut OsRng).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.contains(&format!("{}:1:", path.display())),
            "{message}"
        );
        assert_eq!(fs::read(&path).unwrap(), garbage);
        let account = Account {
            key: DsaPrivateKey::generate(&mut OsRng),
            instance_tag: 0x1234,
            known: KnownFingerprints::new(),
        };
        assert!(store.save(&account).is_err());
        assert_eq!(fs::read(&path).unwrap(), garbage);
    }

    #[cfg(unix)]
    #[test]
    fn file_mode_is_0600_and_dir_0700() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("new-home");
        let store = Store::new(&home, "alice", PROTO);
        let account = store.load_or_create(&mut OsRng).unwrap();
        store.save(&account).unwrap();
        let mut names: Vec<_> = fs::read_dir(&home)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        // The lock file stays (removing it would let two processes lock different files).
        assert_eq!(
            names,
            [
                ".offrecord.lock",
                "otr.fingerprints",
                "otr.instance_tags",
                "otr.private_key"
            ]
        );
        for name in names {
            let mode = fs::metadata(home.join(&name)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{name}");
        }
        let dir_mode = fs::metadata(&home).unwrap().permissions().mode() & 0o777;
        assert_eq!(dir_mode, 0o700);
    }
}
