//! The room state each participant persists and shows, in the paper's `otr.chatinfo`
//! form: `?AC?account<TAB>?CID?room<TAB>?HOST?host<TAB>?STAT?level`, one room per line.
//! Parsing and serializing only; the binary owns the file (atomic write, mode 0600).

/// The paper's security level of a room for one participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityLevel {
    /// 0: no private conversation (yet).
    NotPrivate = 0,
    /// 1: the private session is over.
    Finished = 1,
    /// 2: private.
    Private = 2,
}

/// One line of the room state file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatInfo {
    /// Our account (nick).
    pub account: String,
    /// The room id.
    pub room: String,
    /// The host's nick.
    pub host: String,
    /// The security level.
    pub level: SecurityLevel,
}

/// Why a room state line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChatInfoError {
    /// The line does not have the four tagged fields in order.
    #[error("line {0}: expected ?AC?, ?CID?, ?HOST?, ?STAT? separated by tabs")]
    Shape(usize),
    /// The level is not 0, 1 or 2.
    #[error("line {0}: the level must be 0, 1 or 2")]
    Level(usize),
}

impl ChatInfo {
    /// The line, without its line break.
    pub fn to_line(&self) -> String {
        format!(
            "?AC?{}\t?CID?{}\t?HOST?{}\t?STAT?{}",
            self.account, self.room, self.host, self.level as u8
        )
    }

    /// Parses one line. Fields are separated by one or more tabs (the paper's own format
    /// line has two before `?STAT?`).
    pub fn parse_line(line: &str, number: usize) -> Result<Self, ChatInfoError> {
        let mut f = line.split('\t').filter(|field| !field.is_empty());
        let mut field = |tag: &str| {
            f.next()
                .and_then(|v| v.strip_prefix(tag))
                .filter(|v| !v.is_empty() && !v.contains(['\t', '\n', '\r']))
                .map(str::to_owned)
                .ok_or(ChatInfoError::Shape(number))
        };
        let account = field("?AC?")?;
        let room = field("?CID?")?;
        let host = field("?HOST?")?;
        let level = match field("?STAT?")?.as_str() {
            "0" => SecurityLevel::NotPrivate,
            "1" => SecurityLevel::Finished,
            "2" => SecurityLevel::Private,
            _ => return Err(ChatInfoError::Level(number)),
        };
        if f.next().is_some() {
            return Err(ChatInfoError::Shape(number));
        }
        Ok(Self {
            account,
            room,
            host,
            level,
        })
    }
}

/// Serializes a whole file (one line per room, each ending in `\n`).
pub fn serialize(rooms: &[ChatInfo]) -> String {
    rooms.iter().map(|r| r.to_line() + "\n").collect()
}

/// Parses a whole file; blank lines are skipped.
pub fn parse(text: &str) -> Result<Vec<ChatInfo>, ChatInfoError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| ChatInfo::parse_line(l, i + 1))
        .collect()
}

/// Replaces (or adds) the line for `info`'s account and room.
pub fn upsert(rooms: &mut Vec<ChatInfo>, info: ChatInfo) {
    match rooms
        .iter_mut()
        .find(|r| r.account == info.account && r.room == info.room)
    {
        Some(r) => *r = info,
        None => rooms.push(info),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn paper_example_round_trips() {
        let text = "?AC?timootr1@hotmail.com\t?CID?2\t?HOST?timootr2@hotmail.com\t?STAT?0\n";
        let rooms = parse(text).unwrap();
        assert_eq!(rooms[0].level, SecurityLevel::NotPrivate);
        assert_eq!(serialize(&rooms), text);
        let mut rooms = rooms;
        let mut up = rooms[0].clone();
        up.level = SecurityLevel::Private;
        upsert(&mut rooms, up);
        assert_eq!(rooms.len(), 1);
        assert!(serialize(&rooms).ends_with("?STAT?2\n"));
    }

    #[test]
    fn the_papers_format_line_with_two_tabs_parses() {
        let rooms = parse("?AC?a@b\t?CID?1\t?HOST?a@b\t\t?STAT?2\n").unwrap();
        assert_eq!(rooms[0].level, SecurityLevel::Private);
        assert_eq!(rooms[0].host, "a@b");
    }

    #[test]
    fn bad_lines_are_refused() {
        assert_eq!(
            parse("?AC?a\t?CID?b\t?HOST?c\t?STAT?3"),
            Err(ChatInfoError::Level(1))
        );
        assert_eq!(parse("\n?AC?a\t?CID?b"), Err(ChatInfoError::Shape(2)));
        assert!(parse("?AC?a\t?CID?b\t?HOST?c\t?STAT?1\tx").is_err());
    }
}
