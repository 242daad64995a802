//! libotr's instance tags file (`otr.instance_tags`; irssi-otr calls it `otr.instag`).
//!
//! A comment line (libotr writes one warning not to copy the file to another computer), then
//! one line per account: `accountname \t protocol \t 8 lowercase hex digits \n`. A tag is at
//! least 0x100.
//!
//! libotr skips any line without a tab; we accept empty lines and lines starting with `#`,
//! and refuse anything else that is not a valid entry, naming the line.

use super::ParseError;

/// The comment libotr writes at the top.
pub const HEADER: &str = "# WARNING! You shouldn't copy this file to another computer. \
                          It is unnecessary and can cause problems.\n";

/// One account's instance tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceTagEntry {
    /// Our account.
    pub account: String,
    /// libotr's protocol id.
    pub protocol: String,
    /// The tag (>= 0x100).
    pub tag: u32,
}

/// The smallest valid instance tag.
pub const MIN_TAG: u32 = 0x100;

/// Parses the file.
pub fn parse(text: &[u8]) -> Result<Vec<InstanceTagEntry>, ParseError> {
    let mut entries = Vec::new();
    let mut rest = text;
    let mut line_no = 0;
    while !rest.is_empty() {
        line_no += 1;
        let (line, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(end) => (&rest[..end], &rest[end + 1..]),
            None => {
                return Err(ParseError::line(
                    line_no,
                    "the last line has no newline at its end: the file was cut short \
                     (truncated?)",
                ))
            }
        };
        rest = next;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        let line = std::str::from_utf8(line)
            .map_err(|_| ParseError::line(line_no, "the line is not UTF-8 text"))?;
        let fields: Vec<&str> = line.split('\t').collect();
        let [account, protocol, hex] = fields[..] else {
            return Err(ParseError::line(
                line_no,
                format!(
                    "expected account, protocol and instance tag separated by tabs; found {} \
                     field(s)",
                    fields.len()
                ),
            ));
        };
        if account.is_empty() || protocol.is_empty() {
            return Err(ParseError::line(
                line_no,
                "the account or protocol is empty",
            ));
        }
        let tag = (hex.len() == 8 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| u32::from_str_radix(hex, 16).ok())
            .flatten()
            .ok_or_else(|| {
                ParseError::line(
                    line_no,
                    format!("the instance tag {hex:?} is not 8 hex digits"),
                )
            })?;
        if tag < MIN_TAG {
            return Err(ParseError::line(
                line_no,
                format!("the instance tag {hex} is below the smallest valid one, 00000100"),
            ));
        }
        if entries
            .iter()
            .any(|e: &InstanceTagEntry| e.account == account && e.protocol == protocol)
        {
            return Err(ParseError::line(
                line_no,
                format!("a second instance tag for account {account:?}, protocol {protocol:?}"),
            ));
        }
        entries.push(InstanceTagEntry {
            account: account.to_owned(),
            protocol: protocol.to_owned(),
            tag,
        });
    }
    Ok(entries)
}

/// Writes the file as libotr does: its comment, then one line per entry.
pub fn to_text(entries: &[InstanceTagEntry]) -> String {
    let mut out = String::from(HEADER);
    for e in entries {
        out.push_str(&format!("{}\t{}\t{:08x}\n", e.account, e.protocol, e.tag));
    }
    out
}

/// Finds the tag of (account, protocol).
pub fn find(entries: &[InstanceTagEntry], account: &str, protocol: &str) -> Option<u32> {
    entries
        .iter()
        .find(|e| e.account == account && e.protocol == protocol)
        .map(|e| e.tag)
}

/// Sets the tag of (account, protocol), in place or appended.
pub fn set(entries: &mut Vec<InstanceTagEntry>, account: &str, protocol: &str, tag: u32) {
    match entries
        .iter_mut()
        .find(|e| e.account == account && e.protocol == protocol)
    {
        Some(e) => e.tag = tag,
        None => entries.push(InstanceTagEntry {
            account: account.to_owned(),
            protocol: protocol.to_owned(),
            tag,
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn round_trip() {
        let text = format!("{HEADER}bob\tIRC\te2da0c10\nalice\tprpl-irc\t00000100\n");
        let entries = parse(text.as_bytes()).unwrap();
        assert_eq!(find(&entries, "bob", "IRC"), Some(0xe2da_0c10));
        assert_eq!(find(&entries, "alice", "prpl-irc"), Some(0x100));
        assert_eq!(to_text(&entries), text);
    }

    #[test]
    fn bad_lines_are_named() {
        for (text, line, needle) in [
            ("a\tb\n", 1, "found 2"),
            ("#c\na\tb\t000000ff\n", 2, "below"),
            ("a\tb\t0000010\n", 1, "not 8 hex"),
            ("a\tb\t0000010g\n", 1, "not 8 hex"),
            ("a\tb\t00000100", 1, "truncated"),
            ("a\tb\t00000100\na\tb\t00000200\n", 2, "second"),
        ] {
            let e = parse(text.as_bytes()).unwrap_err();
            assert_eq!(e.line, line, "{text:?}");
            assert!(e.message.contains(needle), "{e}");
        }
    }
}
