//! Identity on disk, in libotr's own files, so that users keep their keys and trust
//! (feature `libotr-files`: the engine itself never touches a file; a program embedding it
//! uses this module to share a directory with Pidgin, irssi-otr or libotr).
//!
//! * [`private_key`]: `otr.private_key`, a gcrypt S-expression ([`sexp`]) with a DSA key per
//!   (account, protocol);
//! * [`fingerprints`]: `otr.fingerprints`, the peers' fingerprints with their trust;
//! * [`instance_tags`]: `otr.instance_tags`, our instance tag per (account, protocol).
//!
//! Parsing and printing are pure functions of bytes and strings (they are fuzzed); reading
//! and writing files happens only in [`OtrDir`] (via [`atomic`]). Every parse error names a
//! line (and a column in the key file); [`OtrDir`] adds the path. A file that does not parse
//! is never written over: every write is a read-modify-write that stops at the read.
//!
//! libotr keys everything by (account name, protocol id). The protocol id is whatever the
//! client chose: Pidgin writes `prpl-irc`, irssi-otr `IRC`. Without `--otr-protocol`,
//! offrecord uses the protocol id of the account's only key, refuses to guess when the
//! account has keys under several, and writes [`DEFAULT_PROTOCOL`] for an account with no key
//! yet (see [`store::choose_protocol`]).

pub mod atomic;
pub mod fingerprints;
pub mod instance_tags;
pub mod private_key;
pub mod sexp;
pub mod store;

use std::io;
use std::path::{Path, PathBuf};

pub use fingerprints::FingerprintEntry;
pub use instance_tags::InstanceTagEntry;
pub use private_key::PrivateKeys;

/// The protocol id offrecord writes for IRC accounts unless told otherwise: Pidgin's, whose
/// file names offrecord's home directory also uses, so the directory can be handed to Pidgin
/// (irssi-otr uses `IRC` and other file names: see [`Layout::IRSSI`]).
pub const DEFAULT_PROTOCOL: &str = "prpl-irc";

/// The name of the lock file offrecord processes sharing a directory lock (never removed).
pub const LOCK_FILE: &str = ".offrecord.lock";

/// A parse error: where (1-based line, and column for the key file) and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}{}: {message}", column.map(|c| format!(", column {c}")).unwrap_or_default())]
pub struct ParseError {
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1, when known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl ParseError {
    /// An error at a line and column.
    pub fn at(pos: sexp::Pos, message: impl Into<String>) -> Self {
        Self {
            line: pos.line,
            column: Some(pos.column),
            message: message.into(),
        }
    }

    /// An error about a whole line.
    pub fn line(line: usize, message: impl Into<String>) -> Self {
        Self {
            line,
            column: None,
            message: message.into(),
        }
    }
}

/// Why an identity file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// Reading, writing or creating something failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A file exists but does not parse; it was left untouched.
    #[error(
        "{}:{}{}: {} (the file was left untouched: fix it or move it away)",
        path.display(), error.line,
        error.column.map(|c| format!(":{c}")).unwrap_or_default(), error.message
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where and what.
        error: ParseError,
    },
    /// Another process held the directory's lock for the whole wait; nothing was changed.
    #[error(
        "{}: another offrecord process is using this home directory (its lock was still held \
         after {} s); nothing was changed: try again when it is done",
        path.display(), waited.as_secs()
    )]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// How long we waited.
        waited: std::time::Duration,
    },
    /// No protocol id was given and the key file holds keys of the account under several.
    #[error(
        "{} holds keys for {account} under several protocol ids ({}); choose one with \
         --otr-protocol",
        path.display(), protocols.join(", ")
    )]
    AmbiguousAccount {
        /// The key file.
        path: PathBuf,
        /// The account name.
        account: String,
        /// The protocol ids it has keys under, in file order.
        protocols: Vec<String>,
    },
}

impl IdentityError {
    fn io(path: &Path) -> impl FnOnce(io::Error) -> Self + '_ {
        move |source| Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The file names of a libotr directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The private key file.
    pub private_key: &'static str,
    /// The fingerprints file.
    pub fingerprints: &'static str,
    /// The instance tags file.
    pub instance_tags: &'static str,
}

impl Layout {
    /// libotr's names, used by Pidgin (`~/.purple`) and by offrecord's home directory.
    pub const LIBOTR: Self = Self {
        private_key: "otr.private_key",
        fingerprints: "otr.fingerprints",
        instance_tags: "otr.instance_tags",
    };
    /// irssi-otr's names (`~/.irssi/otr`).
    pub const IRSSI: Self = Self {
        private_key: "otr.key",
        fingerprints: "otr.fp",
        instance_tags: "otr.instag",
    };

    /// The layout of an existing directory: irssi-otr's if it has `otr.key` and no
    /// `otr.private_key`, else libotr's.
    pub fn detect(dir: &Path) -> Self {
        if !dir.join(Self::LIBOTR.private_key).exists()
            && dir.join(Self::IRSSI.private_key).exists()
        {
            Self::IRSSI
        } else {
            Self::LIBOTR
        }
    }
}

/// A directory of libotr files. All I/O of this module happens here.
#[derive(Debug, Clone)]
pub struct OtrDir {
    dir: PathBuf,
    layout: Layout,
}

impl OtrDir {
    /// The files of `layout` in `dir` (nothing is read yet).
    pub fn new(dir: impl Into<PathBuf>, layout: Layout) -> Self {
        Self {
            dir: dir.into(),
            layout,
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The layout.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The private key file's path.
    pub fn private_key_path(&self) -> PathBuf {
        self.dir.join(self.layout.private_key)
    }

    /// The fingerprints file's path.
    pub fn fingerprints_path(&self) -> PathBuf {
        self.dir.join(self.layout.fingerprints)
    }

    /// The instance tags file's path.
    pub fn instance_tags_path(&self) -> PathBuf {
        self.dir.join(self.layout.instance_tags)
    }

    /// The private keys; `None` if the file does not exist.
    pub fn read_private_keys(&self) -> Result<Option<PrivateKeys>, IdentityError> {
        let path = self.private_key_path();
        let Some(bytes) = atomic::read_if_exists(&path)? else {
            return Ok(None);
        };
        PrivateKeys::parse(&bytes)
            .map(Some)
            .map_err(|error| IdentityError::Corrupt { path, error })
    }

    /// The fingerprints (none if the file does not exist).
    pub fn read_fingerprints(&self) -> Result<Vec<FingerprintEntry>, IdentityError> {
        let path = self.fingerprints_path();
        let Some(bytes) = atomic::read_if_exists(&path)? else {
            return Ok(Vec::new());
        };
        fingerprints::parse(&bytes).map_err(|error| IdentityError::Corrupt { path, error })
    }

    /// The instance tags (none if the file does not exist).
    pub fn read_instance_tags(&self) -> Result<Vec<InstanceTagEntry>, IdentityError> {
        let path = self.instance_tags_path();
        let Some(bytes) = atomic::read_if_exists(&path)? else {
            return Ok(Vec::new());
        };
        instance_tags::parse(&bytes).map_err(|error| IdentityError::Corrupt { path, error })
    }

    /// Writes the private key file atomically (mode 0600).
    pub fn write_private_keys(&self, keys: &PrivateKeys) -> Result<(), IdentityError> {
        self.ensure_dir()?;
        atomic::write(&self.private_key_path(), keys.to_text().as_bytes())
    }

    /// Writes the fingerprints file atomically (mode 0600).
    pub fn write_fingerprints(&self, entries: &[FingerprintEntry]) -> Result<(), IdentityError> {
        self.ensure_dir()?;
        atomic::write(
            &self.fingerprints_path(),
            fingerprints::to_text(entries).as_bytes(),
        )
    }

    /// Writes the instance tags file atomically (mode 0600).
    pub fn write_instance_tags(&self, entries: &[InstanceTagEntry]) -> Result<(), IdentityError> {
        self.ensure_dir()?;
        atomic::write(
            &self.instance_tags_path(),
            instance_tags::to_text(entries).as_bytes(),
        )
    }

    /// The lock file, `.offrecord.lock` in the directory.
    pub fn lock_path(&self) -> PathBuf {
        self.dir.join(LOCK_FILE)
    }

    /// Takes the lock that serializes read-modify-write cycles of offrecord processes sharing
    /// the directory (libotr itself takes no lock): an advisory lock on [`OtrDir::lock_path`],
    /// released when the guard is dropped or the process dies. Waits up to
    /// [`atomic::LOCK_WAIT`] for another holder, then fails with [`IdentityError::Locked`].
    pub fn lock(&self) -> Result<atomic::LockGuard, IdentityError> {
        self.ensure_dir()?;
        atomic::lock(&self.lock_path(), atomic::LOCK_WAIT)
    }

    /// Creates the directory (mode 0700) if it is missing.
    pub fn ensure_dir(&self) -> Result<(), IdentityError> {
        atomic::ensure_dir(&self.dir)
    }
}
