//! The room state file `otr.chatinfo` (the paper's format, parsed and written by
//! `group::chatinfo`): one line per account and room, replaced atomically with mode 0600.

use std::path::Path;

use group::chatinfo::{self, ChatInfo};

use crate::identity::atomic;

/// The file's name in the home directory.
pub const FILE: &str = "otr.chatinfo";

/// Reads the room state lines (none if the file does not exist).
pub fn load(dir: &Path) -> anyhow::Result<Vec<ChatInfo>> {
    match atomic::read_if_exists(&dir.join(FILE))? {
        None => Ok(Vec::new()),
        Some(bytes) => Ok(chatinfo::parse(std::str::from_utf8(&bytes)?)?),
    }
}

/// Records `info` (replacing the line for its account and room) and rewrites the file.
pub fn record(dir: &Path, info: ChatInfo) -> anyhow::Result<()> {
    let mut rooms = load(dir)?;
    chatinfo::upsert(&mut rooms, info);
    atomic::write(&dir.join(FILE), chatinfo::serialize(&rooms).as_bytes())?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use group::SecurityLevel;

    #[test]
    fn records_replace_and_persist_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let mut info = ChatInfo {
            account: "bob".into(),
            room: "0011223344556677".into(),
            host: "alice".into(),
            level: SecurityLevel::NotPrivate,
        };
        record(dir.path(), info.clone()).unwrap();
        info.level = SecurityLevel::Private;
        record(dir.path(), info.clone()).unwrap();
        assert_eq!(load(dir.path()).unwrap(), vec![info]);
        let text = std::fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert_eq!(
            text,
            "?AC?bob\t?CID?0011223344556677\t?HOST?alice\t?STAT?2\n"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
