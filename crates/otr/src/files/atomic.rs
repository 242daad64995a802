//! The file-system edge: reading, atomic writing, the directory and the lock.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, Instant};

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

/// How long [`lock`] waits for another process to release the lock before giving up with
/// [`IdentityError::Locked`]. Read-modify-write cycles under the lock take milliseconds, so
/// only a stuck process (stopped, or on a hung disk) holds it this long.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);

/// How often a waiting [`lock`] tries again.
const LOCK_POLL: Duration = Duration::from_millis(10);

/// The advisory lock on a lock file, released when dropped (the file is closed) or when the
/// holding process dies (the kernel closes its files). The lock file itself stays.
#[derive(Debug)]
pub struct LockGuard {
    /// Held open for the lock's lifetime: `flock(2)` locks belong to the open file.
    _file: File,
}

/// Takes an exclusive advisory lock (`flock(2)` on Unix, `LockFileEx` on Windows) on `path`,
/// creating the file (mode 0600) if it is missing. While another process (or another open
/// of the file in this one) holds it, tries again every 10 ms for up to `wait`, then fails
/// with [`IdentityError::Locked`]. A lock held by a live process is never taken over, and
/// the file is never removed: a process that opened it before the removal would lock a
/// file that no longer has a name while a newcomer locks a fresh one.
pub fn lock(path: &Path, wait: Duration) -> Result<LockGuard, IdentityError> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path).map_err(IdentityError::io(path))?;
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(LockGuard { _file: file }),
            Err(TryLockError::WouldBlock) => {
                let waited = started.elapsed();
                if waited >= wait {
                    return Err(IdentityError::Locked {
                        path: path.to_path_buf(),
                        waited,
                    });
                }
                std::thread::sleep(LOCK_POLL.min(wait.saturating_sub(waited)));
            }
            Err(TryLockError::Error(source)) => {
                return Err(IdentityError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
    }
}
