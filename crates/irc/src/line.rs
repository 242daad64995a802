//! The IRC line codec (RFC 1459 / 2812): parsing what the server sends and formatting what we
//! send, with the checks that make command injection impossible.
//!
//! A line is `[:prefix ]COMMAND[ param]*[ :trailing]`, at most 512 bytes with its CR LF.
//! Parsing never fails on what a server may send (bytes that are not UTF-8 are replaced,
//! NUL is dropped). Formatting refuses, with an [`IrcError`], any value that could change
//! the line's meaning: CR, LF or NUL anywhere, a space or a leading `:` in a middle
//! parameter, an empty target.

use crate::IrcError;

/// The most bytes of one IRC line, CR LF included (RFC 2812 §2.3).
pub const MAX_LINE: usize = 512;

/// Lines longer than this from the server are cut here (IRCv3 tags can exceed 512 bytes;
/// anything beyond is not worth buffering).
pub const MAX_INCOMING_LINE: usize = 8192;

/// The sender of a line: `nick!user@host`, or a server name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefix {
    /// The nick, or the server's name when there is no `!`/`@`.
    pub nick: String,
    /// The user part (after `!`), if present.
    pub user: Option<String>,
    /// The host part (after `@`), if present.
    pub host: Option<String>,
}

impl Prefix {
    /// Splits `nick!user@host`.
    pub fn parse(text: &str) -> Prefix {
        let (rest, host) = match text.split_once('@') {
            Some((rest, host)) => (rest, Some(host.to_string())),
            None => (text, None),
        };
        let (nick, user) = match rest.split_once('!') {
            Some((nick, user)) => (nick.to_string(), Some(user.to_string())),
            None => (rest.to_string(), None),
        };
        Prefix { nick, user, host }
    }

    /// True when this is a user (`nick!user@host`), not a server.
    pub fn is_user(&self) -> bool {
        self.user.is_some() || self.host.is_some()
    }
}

/// One parsed line from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The sender, if the line had a prefix.
    pub prefix: Option<Prefix>,
    /// The command or three-digit numeric, upper-cased.
    pub command: String,
    /// The parameters, the trailing one last (without its `:`).
    pub params: Vec<String>,
}

impl Message {
    /// Parses one line (without or with its CR LF). IRCv3 message tags (`@...`) are skipped.
    /// Returns `None` for a line with no command.
    pub fn parse(line: &[u8]) -> Option<Message> {
        let text: String = String::from_utf8_lossy(line)
            .chars()
            .filter(|c| !matches!(c, '\0' | '\r' | '\n'))
            .collect();
        let mut rest = text.as_str();
        if let Some(tagged) = rest.strip_prefix('@') {
            rest = tagged.split_once(' ').map(|(_, r)| r).unwrap_or("");
        }
        rest = rest.trim_start_matches(' ');
        let mut prefix = None;
        if let Some(p) = rest.strip_prefix(':') {
            let (p, r) = p.split_once(' ').unwrap_or((p, ""));
            prefix = Some(Prefix::parse(p));
            rest = r.trim_start_matches(' ');
        }
        let (command, mut rest) = rest.split_once(' ').unwrap_or((rest, ""));
        if command.is_empty() {
            return None;
        }
        let mut params = Vec::new();
        loop {
            rest = rest.trim_start_matches(' ');
            if rest.is_empty() {
                break;
            }
            if let Some(trailing) = rest.strip_prefix(':') {
                params.push(trailing.to_string());
                break;
            }
            let (param, r) = rest.split_once(' ').unwrap_or((rest, ""));
            params.push(param.to_string());
            rest = r;
        }
        Some(Message {
            prefix,
            command: command.to_ascii_uppercase(),
            params,
        })
    }

    /// The parameter at `index`, or "".
    pub fn param(&self, index: usize) -> &str {
        self.params.get(index).map(String::as_str).unwrap_or("")
    }
}

/// Checks a free-text value (message body, reason): no CR, LF or NUL.
pub fn check_text(field: &'static str, value: &str) -> Result<(), IrcError> {
    if value.contains(['\r', '\n', '\0']) {
        return Err(IrcError::ForbiddenChar { field });
    }
    Ok(())
}

/// Checks a middle parameter (nick, channel, target): not empty, no CR/LF/NUL, no space,
/// no comma (which would name several targets), not starting with `:`.
pub fn check_word(field: &'static str, value: &str) -> Result<(), IrcError> {
    check_text(field, value)?;
    if value.is_empty() {
        return Err(IrcError::Empty { field });
    }
    if value.contains([' ', ',']) || value.starts_with(':') {
        return Err(IrcError::BadWord {
            field,
            value: value.to_string(),
        });
    }
    Ok(())
}

/// Formats a line from a command and parameters, the last as a trailing parameter when
/// `trailing` is given. Every value is checked; the result ends with CR LF and is at most
/// [`MAX_LINE`] bytes.
pub fn format(
    command: &str,
    middle: &[(&'static str, &str)],
    trailing: Option<(&'static str, &str)>,
) -> Result<String, IrcError> {
    let mut line = String::from(command);
    for (field, value) in middle {
        check_word(field, value)?;
        line.push(' ');
        line.push_str(value);
    }
    if let Some((field, value)) = trailing {
        check_text(field, value)?;
        line.push_str(" :");
        line.push_str(value);
    }
    line.push_str("\r\n");
    if line.len() > MAX_LINE {
        return Err(IrcError::LineTooLong {
            len: line.len(),
            max: MAX_LINE,
        });
    }
    Ok(line)
}

/// Bytes of text that fit in `PRIVMSG target :text` so that the line the server relays,
/// `:nick!user@host PRIVMSG target :text\r\n`, is at most 512 bytes. ngircd cuts longer
/// relayed lines silently. A NOTICE's line is one byte shorter, so this bound holds for it too.
pub fn max_privmsg_payload(our_nick: &str, user: &str, host: &str, target: &str) -> usize {
    // ":" nick "!" user "@" host " PRIVMSG " target " :" text "\r\n"
    let overhead = 1
        + our_nick.len()
        + 1
        + user.len()
        + 1
        + host.len()
        + " PRIVMSG ".len()
        + target.len()
        + " :".len()
        + 2;
    MAX_LINE.saturating_sub(overhead)
}

/// Splits `text` into pieces of at most `max_bytes` bytes each, at character boundaries
/// (never inside a UTF-8 sequence). An empty text gives no pieces; `max_bytes` below 4 is
/// raised to 4 so every character fits.
pub fn split_text(text: &str, max_bytes: usize) -> Vec<&str> {
    let max = max_bytes.max(4);
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = rest.len().min(max);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (piece, tail) = rest.split_at(end);
        pieces.push(piece);
        rest = tail;
    }
    pieces
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_prefix_command_params() {
        let m = Message::parse(b":alice!~a@127.0.0.1 PRIVMSG #c :hello  there \r\n").unwrap();
        let p = m.prefix.clone().unwrap();
        assert_eq!(
            (p.nick.as_str(), p.user.as_deref(), p.host.as_deref()),
            ("alice", Some("~a"), Some("127.0.0.1"))
        );
        assert_eq!(m.command, "PRIVMSG");
        assert_eq!(
            m.params,
            vec!["#c".to_string(), "hello  there ".to_string()]
        );
        let m = Message::parse(b"PING :irc.test").unwrap();
        assert_eq!(
            (&m.prefix, m.command.as_str(), m.param(0)),
            (&None, "PING", "irc.test")
        );
        let m = Message::parse(b":srv 353 me = #c :@a +b c").unwrap();
        assert_eq!(m.params.len(), 4);
        let m = Message::parse(b"@time=x :srv 001 me :Welcome").unwrap();
        assert_eq!(m.command, "001");
        assert!(Message::parse(b"").is_none());
        assert!(Message::parse(b":only-prefix").is_none());
        let m = Message::parse(b":a!b@c PRIVMSG x :nul\0here\xff").unwrap();
        assert_eq!(m.param(1), "nulhere\u{fffd}");
    }

    #[test]
    fn format_refuses_injection() {
        assert_eq!(
            format("PRIVMSG", &[("target", "#c")], Some(("text", "hi"))).unwrap(),
            "PRIVMSG #c :hi\r\n"
        );
        for bad in ["a\rb", "a\nb", "a\0b", "x\r\nQUIT :owned"] {
            assert_eq!(
                format("PRIVMSG", &[("target", "#c")], Some(("text", bad))),
                Err(IrcError::ForbiddenChar { field: "text" })
            );
            assert!(format("PRIVMSG", &[("target", bad)], Some(("text", "x"))).is_err());
        }
        assert!(format("PRIVMSG", &[("target", "a b")], Some(("text", "x"))).is_err());
        assert!(format("PRIVMSG", &[("target", ":a")], Some(("text", "x"))).is_err());
        assert!(format("PRIVMSG", &[("target", "a,b")], Some(("text", "x"))).is_err());
        assert!(format("PRIVMSG", &[("target", "")], Some(("text", "x"))).is_err());
        let long = "x".repeat(600);
        assert!(matches!(
            format("PRIVMSG", &[("target", "#c")], Some(("text", &long))),
            Err(IrcError::LineTooLong { .. })
        ));
    }

    #[test]
    fn payload_and_split() {
        let max = max_privmsg_payload("alice", "~alice", "127.0.0.1", "#offrecord");
        let line = format!(
            ":alice!~alice@127.0.0.1 PRIVMSG #offrecord :{}\r\n",
            "x".repeat(max)
        );
        assert_eq!(line.len(), 512);
        let text = "é".repeat(100);
        let pieces = split_text(&text, 51);
        assert!(pieces.iter().all(|p| p.len() <= 51 && !p.is_empty()));
        assert_eq!(pieces.concat(), text);
        assert!(split_text("", 10).is_empty());
    }
}
