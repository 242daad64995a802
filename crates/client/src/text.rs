//! Line lengths: what fits in one transport line, and splitting what does not.

use std::sync::Arc;

/// The largest message body the transport carries for `(our_nick, target)`.
pub type PayloadLimit = Arc<dyn Fn(&str, &str) -> usize + Send + Sync>;

/// Bytes kept free in a plain message for the whitespace tag the engine may append (16 for
/// the base tag and 8 per version).
pub const WHITESPACE_TAG_ROOM: usize = 40;

/// The longest IRC PRIVMSG body when the transport cannot say: a 512-byte line less CRLF,
/// `:nick!user@host PRIVMSG target :` with a 63-byte host and a 10-byte user.
pub fn irc_default_payload(our_nick: &str, target: &str) -> usize {
    let prefix = 1 + our_nick.len() + 1 + 10 + 1 + 63 + " PRIVMSG ".len() + target.len() + 2;
    510usize.saturating_sub(prefix).max(64)
}

/// Whether `name` is an IRC channel name.
pub fn is_channel(name: &str) -> bool {
    name.starts_with(['#', '&', '+', '!'])
}

/// Splits `text` into parts of at most `max` bytes (at least 8), at a space when there is
/// one, never inside a character. An empty text is one empty part.
pub fn split_message(text: &str, max: usize) -> Vec<String> {
    let max = max.max(8);
    let mut parts = Vec::new();
    let mut rest = text;
    while rest.len() > max {
        let mut cut = max;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if cut == 0 {
            cut = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        let at_space = rest[..cut].rfind(' ').filter(|&i| i > 0);
        let (part, next) = match at_space {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (&rest[..cut], &rest[cut..]),
        };
        parts.push(part.to_owned());
        rest = next;
    }
    if !rest.is_empty() || parts.is_empty() {
        parts.push(rest.to_owned());
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_spaces_and_character_boundaries() {
        assert_eq!(split_message("", 10), vec![String::new()]);
        assert_eq!(split_message("hello world", 8), vec!["hello", "world"]);
        let long = "é".repeat(10);
        let parts = split_message(&long, 9);
        assert!(parts.iter().all(|p| p.len() <= 9));
        assert_eq!(parts.concat(), long);
    }

    #[test]
    fn channels_are_recognised() {
        assert!(is_channel("#rust") && is_channel("&local"));
        assert!(!is_channel("alice"));
    }
}
