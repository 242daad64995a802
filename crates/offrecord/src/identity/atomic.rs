//! The file-system edge: reading, atomic writing, the directory and the lock.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rand_core::RngCore;
use zeroize::Zeroizing;

use super::IdentityError;

/// Reads a whole file (zeroized when dropped: it may hold keys); `None` if it does not exist.
pub fn read_if_exists(path: &Path) -> Result<Option<Zeroizing<Vec<u8>>>, IdentityError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(Zeroizing::new(bytes))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(IdentityError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes `bytes` to `target` atomically: a temporary file with mode 0600 in the same
/// directory, fsync, rename over the target, fsync of the directory. On failure the target
/// is as it was and the temporary file is removed.
pub fn write(target: &Path, bytes: &[u8]) -> Result<(), IdentityError> {
    let dir = target.parent().unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut suffix = [0u8; 8];
    rand_core::OsRng.fill_bytes(&mut suffix);
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        u64::from_be_bytes(suffix)
    ));
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
        fs::rename(&tmp, target)
    })();
    if let Err(source) = result {
        let _ = fs::remove_file(&tmp);
        return Err(IdentityError::Io {
            path: target.to_path_buf(),
            source,
        });
    }
    // Make the rename itself durable. Not every platform can open a directory.
    if let Ok(handle) = File::open(dir) {
        handle.sync_all().map_err(IdentityError::io(dir))?;
    }
    Ok(())
}

/// Creates `dir` (mode 0700, parents as needed) if it is missing.
pub fn ensure_dir(dir: &Path) -> Result<(), IdentityError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(IdentityError::io(dir))
}

/// How long a lock may be held before another process considers it abandoned.
const STALE_LOCK: std::time::Duration = std::time::Duration::from_secs(5);

/// A lock file, removed when dropped.
#[derive(Debug)]
pub struct LockGuard {
    path: PathBuf,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Takes the lock `path`, a file created exclusively. A lock older than 5 s is left over
/// from a crash and is taken over.
pub fn lock(path: &Path) -> Result<LockGuard, IdentityError> {
    let started = std::time::Instant::now();
    loop {
        match OpenOptions::new().write(true).create_new(true).open(path) {
            Ok(_) => {
                return Ok(LockGuard {
                    path: path.to_path_buf(),
                })
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let age = fs::metadata(path)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok());
                if age.is_some_and(|age| age > STALE_LOCK) || started.elapsed() > STALE_LOCK {
                    let _ = fs::remove_file(path);
                } else {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            }
            Err(source) => {
                return Err(IdentityError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
    }
}
