//! The `--home` directory: each account's identity key, instance tag and known fingerprints.
//!
//! Until offrecord reads and writes libotr's own files (`otr.private_key`, `otr.fingerprints`,
//! `otr.instance_tags`), it keeps everything in one JSON file, `DIR/offrecord.json`:
//!
//! ```json
//! {
//!   "version": 1,
//!   "accounts": {
//!     "alice": {
//!       "instance_tag": 305419896,
//!       "key": { "p": "<hex>", "q": "<hex>", "g": "<hex>", "y": "<hex>", "x": "<hex>" },
//!       "fingerprints": [
//!         { "peer": "bob", "fingerprint": "<40 lowercase hex digits>", "trusted": true }
//!       ]
//!     }
//!   }
//! }
//! ```
//!
//! * The DSA components are big-endian, lowercase hex.
//! * The instance tag is a random `u32` >= 0x100, chosen when the account is first used.
//! * Several accounts may share a file. Saving re-reads the file and replaces only this
//!   account's entry (holding a lock file, `DIR/.offrecord.json.lock`, for that cycle), so
//!   every other account, and any field a later version adds, survives.
//! * Writes are atomic: a temporary file with mode 0600 in the same directory, fsync, rename,
//!   then fsync of the directory. The directory is created with mode 0700 if missing.
//! * A file that does not parse is reported with its path and never overwritten.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use otr::crypto::{DsaPrivateKey, Fingerprint};
use otr::KnownFingerprints;
use rand_core::{CryptoRngCore, RngCore};
use serde::{Deserialize, Serialize};

/// The name of the file inside the home directory.
pub const FILE_NAME: &str = "offrecord.json";

/// The format version written in the file.
const FORMAT_VERSION: u32 = 1;

/// Why the home directory could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Reading, writing or creating something failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The file exists but is not a valid offrecord file; it is left as it is.
    #[error("{path} is corrupt ({reason}); it was left untouched: fix or move it away")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

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

/// The home directory of one account.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    account: String,
}

/// The whole file. Accounts other than ours are kept as raw JSON so they survive untouched.
#[derive(Serialize, Deserialize)]
struct FileData {
    version: u32,
    #[serde(default)]
    accounts: BTreeMap<String, serde_json::Value>,
}

/// One account's entry in the file.
#[derive(Serialize, Deserialize)]
struct AccountData {
    instance_tag: u32,
    key: KeyData,
    #[serde(default)]
    fingerprints: Vec<FingerprintData>,
}

/// DSA key components, big-endian hex.
#[derive(Serialize, Deserialize)]
struct KeyData {
    p: String,
    q: String,
    g: String,
    y: String,
    x: String,
}

/// One known fingerprint.
#[derive(Serialize, Deserialize)]
struct FingerprintData {
    peer: String,
    fingerprint: String,
    trusted: bool,
}

impl Store {
    /// The store for `account` in directory `dir` (nothing is read yet).
    pub fn new(dir: impl Into<PathBuf>, account: impl Into<String>) -> Self {
        Self {
            dir: dir.into(),
            account: account.into(),
        }
    }

    /// The path of the file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    /// Loads the account, creating it (a fresh key and instance tag, saved at once) if the
    /// directory, the file or the account does not exist yet.
    pub fn load_or_create(&self, rng: &mut dyn CryptoRngCore) -> Result<Account, StoreError> {
        if let Some(file) = self.read_file()? {
            if let Some(value) = file.accounts.get(&self.account) {
                return self.parse_entry(value);
            }
        }
        let account = Account {
            key: DsaPrivateKey::generate(rng),
            instance_tag: random_instance_tag(rng),
            known: KnownFingerprints::new(),
        };
        // Another process of the same account may have created it while we generated ours:
        // then theirs wins, so that both use the key on disk.
        Ok(self.write_entry(&account, false)?.unwrap_or(account))
    }

    /// Saves the account: re-reads the file, replaces this account's entry, writes atomically.
    pub fn save(&self, account: &Account) -> Result<(), StoreError> {
        self.write_entry(account, true).map(drop)
    }

    /// Writes `account`'s entry under the lock and returns `None`; but if `replace` is false
    /// and the file already has the account, writes nothing and returns the stored one.
    fn write_entry(&self, account: &Account, replace: bool) -> Result<Option<Account>, StoreError> {
        self.ensure_dir()?;
        let _lock = self.lock()?;
        let mut file = self.read_file()?.unwrap_or(FileData {
            version: FORMAT_VERSION,
            accounts: BTreeMap::new(),
        });
        if !replace {
            if let Some(value) = file.accounts.get(&self.account) {
                return self.parse_entry(value).map(Some);
            }
        }
        file.version = FORMAT_VERSION;
        let entry =
            serde_json::to_value(account_to_data(account)).map_err(|e| self.io_error(e.into()))?;
        file.accounts.insert(self.account.clone(), entry);
        self.write_file(&file)?;
        Ok(None)
    }

    /// Parses this account's entry.
    fn parse_entry(&self, value: &serde_json::Value) -> Result<Account, StoreError> {
        account_from_json(value).map_err(|reason| StoreError::Corrupt {
            path: self.path(),
            reason: format!("account {:?}: {reason}", self.account),
        })
    }

    /// Saves the known fingerprints of an account that already exists in the file (the key
    /// and instance tag stay as they are there). Re-reads the file and writes atomically.
    pub fn save_known(&self, known: &KnownFingerprints) -> Result<(), StoreError> {
        let path = self.path();
        let _lock = self.lock()?;
        let mut file = self.read_file()?.ok_or_else(|| StoreError::Io {
            path: path.clone(),
            source: io::Error::new(io::ErrorKind::NotFound, "the file disappeared"),
        })?;
        let entry = file
            .accounts
            .get_mut(&self.account)
            .ok_or_else(|| StoreError::Corrupt {
                path: path.clone(),
                reason: format!("account {:?} disappeared from it", self.account),
            })?;
        let object = entry.as_object_mut().ok_or_else(|| StoreError::Corrupt {
            path: path.clone(),
            reason: format!("account {:?} is not an object", self.account),
        })?;
        let fingerprints = serde_json::to_value(fingerprints_to_data(known))
            .map_err(|e| self.io_error(e.into()))?;
        object.insert("fingerprints".to_owned(), fingerprints);
        self.write_file(&file)
    }

    /// Takes the lock that serializes read-modify-write cycles of processes sharing the
    /// directory (two accounts saving at once must not lose each other's entry).
    ///
    /// The lock is a file created exclusively; a lock older than [`STALE_LOCK`] is left over
    /// from a crash and is taken over.
    fn lock(&self) -> Result<LockGuard, StoreError> {
        let path = self.dir.join(format!(".{FILE_NAME}.lock"));
        let started = std::time::Instant::now();
        loop {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(_) => return Ok(LockGuard { path }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let age = fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok());
                    if age.is_some_and(|age| age > STALE_LOCK) || started.elapsed() > STALE_LOCK {
                        let _ = fs::remove_file(&path);
                    } else {
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    }
                }
                Err(source) => return Err(StoreError::Io { path, source }),
            }
        }
    }

    /// Serializes and writes the whole file.
    fn write_file(&self, file: &FileData) -> Result<(), StoreError> {
        let mut bytes = serde_json::to_vec_pretty(file).map_err(|e| self.io_error(e.into()))?;
        bytes.push(b'\n');
        self.write_atomically(&bytes)
    }

    /// Reads and parses the file; `None` if it does not exist.
    fn read_file(&self) -> Result<Option<FileData>, StoreError> {
        let path = self.path();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StoreError::Io { path, source }),
        };
        let file: FileData = serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if file.version != FORMAT_VERSION {
            return Err(StoreError::Corrupt {
                path,
                reason: format!("format version {} is not {FORMAT_VERSION}", file.version),
            });
        }
        Ok(Some(file))
    }

    /// Creates the directory (mode 0700) if it is missing.
    fn ensure_dir(&self) -> Result<(), StoreError> {
        if self.dir.is_dir() {
            return Ok(());
        }
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(&self.dir).map_err(|source| StoreError::Io {
            path: self.dir.clone(),
            source,
        })
    }

    /// Writes `bytes` to the file atomically: temp file (0600), fsync, rename, fsync dir.
    fn write_atomically(&self, bytes: &[u8]) -> Result<(), StoreError> {
        let target = self.path();
        let mut suffix = [0u8; 8];
        rand_core::OsRng.fill_bytes(&mut suffix);
        let tmp = self.dir.join(format!(
            ".{FILE_NAME}.{}.{}.tmp",
            std::process::id(),
            hex(&suffix)
        ));
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Io { path, source }
        };
        let result = (|| -> io::Result<()> {
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options.open(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            drop(file);
            fs::rename(&tmp, &target)
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(io_err(&target)(e));
        }
        // Make the rename itself durable. Not every platform can open a directory.
        if let Ok(dir) = File::open(&self.dir) {
            dir.sync_all().map_err(io_err(&self.dir))?;
        }
        Ok(())
    }

    /// An I/O error about the file.
    fn io_error(&self, source: io::Error) -> StoreError {
        StoreError::Io {
            path: self.path(),
            source,
        }
    }
}

/// How long a lock may be held before another process considers it abandoned.
const STALE_LOCK: std::time::Duration = std::time::Duration::from_secs(5);

/// Removes the lock file when dropped.
struct LockGuard {
    path: PathBuf,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// A random instance tag >= 0x100.
fn random_instance_tag(rng: &mut dyn CryptoRngCore) -> u32 {
    loop {
        let tag = rng.next_u32();
        if tag >= otr::wire::encoded::InstanceTag::MIN_VALID {
            return tag;
        }
    }
}

/// The file entry for `account`.
fn account_to_data(account: &Account) -> AccountData {
    let public = account.key.public();
    AccountData {
        instance_tag: account.instance_tag,
        key: KeyData {
            p: hex(public.p()),
            q: hex(public.q()),
            g: hex(public.g()),
            y: hex(public.y()),
            x: hex(&account.key.x_bytes()),
        },
        fingerprints: fingerprints_to_data(&account.known),
    }
}

/// The file entries for `known`.
fn fingerprints_to_data(known: &KnownFingerprints) -> Vec<FingerprintData> {
    known
        .iter()
        .map(|(peer, fp, trusted)| FingerprintData {
            peer: peer.to_owned(),
            fingerprint: hex(&fp.0),
            trusted,
        })
        .collect()
}

/// Parses an account entry; the error says what is wrong.
fn account_from_json(value: &serde_json::Value) -> Result<Account, String> {
    let data: AccountData = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    if data.instance_tag < otr::wire::encoded::InstanceTag::MIN_VALID {
        return Err(format!(
            "instance tag {:#x} is below 0x100",
            data.instance_tag
        ));
    }
    let component =
        |name: &str, hex_digits: &str| unhex(hex_digits).ok_or(format!("key.{name} is not hex"));
    let key = DsaPrivateKey::from_components(
        &component("p", &data.key.p)?,
        &component("q", &data.key.q)?,
        &component("g", &data.key.g)?,
        &component("y", &data.key.y)?,
        &component("x", &data.key.x)?,
    )
    .map_err(|e| format!("key: {e}"))?;
    let mut known = KnownFingerprints::new();
    for entry in &data.fingerprints {
        let bytes = unhex(&entry.fingerprint)
            .and_then(|b| <[u8; 20]>::try_from(b).ok())
            .ok_or(format!(
                "fingerprint {:?} of {:?} is not 40 hex digits",
                entry.fingerprint, entry.peer
            ))?;
        known.set_trusted(&entry.peer, Fingerprint(bytes), entry.trusted);
    }
    Ok(Account {
        key,
        instance_tag: data.instance_tag,
        known,
    })
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

/// Parses hex (either case, even length).
fn unhex(s: &str) -> Option<Vec<u8>> {
    let pairs = s.as_bytes().chunks_exact(2);
    if !pairs.remainder().is_empty() {
        return None;
    }
    pairs
        .map(|pair| {
            let digit = |b: u8| {
                char::from(b)
                    .to_digit(16)
                    .and_then(|d| u8::try_from(d).ok())
            };
            Some(digit(pair[0])? << 4 | digit(pair[1])?)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use rand_core::OsRng;

    #[test]
    fn hex_round_trip() {
        assert_eq!(hex(&[0x00, 0xab, 0x0f]), "00ab0f");
        assert_eq!(unhex("00AB0f").unwrap(), vec![0x00, 0xab, 0x0f]);
        assert!(unhex("abc").is_none());
        assert!(unhex("zz").is_none());
        assert!(unhex("+1").is_none());
    }

    #[test]
    fn round_trip_keeps_key_tag_and_trust() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let store = Store::new(&home, "alice");
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
    }

    #[test]
    fn accounts_sharing_a_file_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let alice = Store::new(dir.path(), "alice");
        let bob = Store::new(dir.path(), "bob");
        let a = alice.load_or_create(&mut OsRng).unwrap();
        let b = bob.load_or_create(&mut OsRng).unwrap();
        alice.save(&a).unwrap();
        let a2 = alice.load_or_create(&mut OsRng).unwrap();
        let b2 = bob.load_or_create(&mut OsRng).unwrap();
        assert_eq!(a2.key.public().fingerprint(), a.key.public().fingerprint());
        assert_eq!(b2.key.public().fingerprint(), b.key.public().fingerprint());
    }

    #[test]
    fn concurrent_accounts_do_not_lose_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..6).map(|i| format!("account{i}")).collect();
        let fingerprints: Vec<Fingerprint> = std::thread::scope(|scope| {
            let handles: Vec<_> = names
                .iter()
                .map(|name| {
                    let store = Store::new(dir.path(), name.as_str());
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
            let again = Store::new(dir.path(), name.as_str())
                .load_or_create(&mut OsRng)
                .unwrap();
            assert_eq!(again.key.public().fingerprint(), fp, "{name}");
        }
    }

    #[test]
    fn corrupt_file_is_named_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let garbage = b"{ this is not json";
        fs::write(&path, garbage).unwrap();
        let store = Store::new(dir.path(), "alice");
        let err = store.load_or_create(&mut OsRng).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        assert_eq!(fs::read(&path).unwrap(), garbage);
        // Saving must not overwrite it either.
        let account = Account {
            key: DsaPrivateKey::generate(&mut OsRng),
            instance_tag: 0x1234,
            known: KnownFingerprints::new(),
        };
        assert!(store.save(&account).is_err());
        assert_eq!(fs::read(&path).unwrap(), garbage);
    }

    #[test]
    fn bad_account_entry_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let text = r#"{"version":1,"accounts":{"alice":{"instance_tag":300,"key":{"p":"zz","q":"","g":"","y":"","x":""}}}}"#;
        fs::write(&path, text).unwrap();
        let err = Store::new(dir.path(), "alice")
            .load_or_create(&mut OsRng)
            .unwrap_err();
        let message = err.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("key.p"), "{message}");
        assert_eq!(fs::read_to_string(&path).unwrap(), text);
    }

    #[cfg(unix)]
    #[test]
    fn file_mode_is_0600_and_dir_0700() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("new-home");
        let store = Store::new(&home, "alice");
        store.load_or_create(&mut OsRng).unwrap();
        let file_mode = fs::metadata(store.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(file_mode, 0o600);
        let dir_mode = fs::metadata(&home).unwrap().permissions().mode() & 0o777;
        assert_eq!(dir_mode, 0o700);
        // No temporary files are left behind.
        let names: Vec<_> = fs::read_dir(&home)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(FILE_NAME)]);
    }
}
