//! libotr's fingerprints file (`otr.fingerprints`; irssi-otr calls it `otr.fp`).
//!
//! One line per (peer, fingerprint) of each of our accounts, fields separated by tabs:
//!
//! ```text
//! username \t accountname \t protocol \t 40 lowercase hex digits \t trust \n
//! ```
//!
//! `trust` is empty when the fingerprint is not verified; libotr's clients write `verified`
//! (a person checked it) or `smp` (a socialist millionaires' run did); any other non-empty
//! text also counts as verified. It is kept as written.
//!
//! libotr silently skips a line it cannot read, so a damaged file loses trust decisions
//! without a word. We refuse it instead and name the line: a line must have four or five
//! fields with a 40-digit hex fingerprint, and the last line must end with a newline (a file
//! cut short is noticed). Empty lines are allowed.

use crate::crypto::Fingerprint;

use super::ParseError;

/// One line of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FingerprintEntry {
    /// The peer.
    pub username: String,
    /// Our account.
    pub account: String,
    /// libotr's protocol id.
    pub protocol: String,
    /// The peer's fingerprint.
    pub fingerprint: Fingerprint,
    /// libotr's trust text: empty (not verified), `verified`, `smp`, ...
    pub trust: String,
}

impl FingerprintEntry {
    /// Whether libotr counts this fingerprint as verified (its trust text is not empty).
    pub fn is_trusted(&self) -> bool {
        !self.trust.is_empty()
    }
}

/// Parses the file.
pub fn parse(text: &[u8]) -> Result<Vec<FingerprintEntry>, ParseError> {
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
        if line.is_empty() {
            continue;
        }
        if line.contains(&b'\r') {
            // libotr would cut the line there and lose the rest.
            return Err(ParseError::line(
                line_no,
                "a carriage return inside the line",
            ));
        }
        let line = std::str::from_utf8(line)
            .map_err(|_| ParseError::line(line_no, "the line is not UTF-8 text"))?;
        entries.push(parse_line(line).map_err(|m| ParseError::line(line_no, m))?);
    }
    Ok(entries)
}

fn parse_line(line: &str) -> Result<FingerprintEntry, String> {
    let fields: Vec<&str> = line.split('\t').collect();
    if fields.len() < 4 {
        return Err(format!(
            "expected peer, account, protocol, fingerprint and trust separated by tabs; \
             found {} field{}",
            fields.len(),
            if fields.len() == 1 { "" } else { "s" }
        ));
    }
    if fields.len() > 5 {
        return Err(format!(
            "unknown field after the trust: {} fields where libotr writes 5",
            fields.len()
        ));
    }
    for (name, value) in [
        ("peer", fields[0]),
        ("account", fields[1]),
        ("protocol", fields[2]),
    ] {
        if value.is_empty() {
            return Err(format!("the {name} is empty"));
        }
    }
    let hex = fields[3];
    if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("the fingerprint {hex:?} is not 40 hex digits"));
    }
    let fingerprint =
        Fingerprint::from_hex(hex).ok_or_else(|| format!("the fingerprint {hex:?} is not hex"))?;
    Ok(FingerprintEntry {
        username: fields[0].to_owned(),
        account: fields[1].to_owned(),
        protocol: fields[2].to_owned(),
        fingerprint,
        trust: fields.get(4).map_or_else(String::new, |t| (*t).to_owned()),
    })
}

/// Writes the file, one line per entry, in order, as libotr does.
pub fn to_text(entries: &[FingerprintEntry]) -> String {
    let mut out = String::new();
    for e in entries {
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            e.username,
            e.account,
            e.protocol,
            e.fingerprint.to_hex(),
            e.trust
        ));
    }
    out
}

/// Why an entry cannot be written: a field holding a tab or a line break (it would change
/// the file's structure) or an empty name.
pub fn check_writable(entry: &FingerprintEntry) -> Result<(), String> {
    for (name, value) in [
        ("peer", &entry.username),
        ("account", &entry.account),
        ("protocol", &entry.protocol),
    ] {
        if value.is_empty() || value.contains(['\t', '\n', '\r']) {
            return Err(format!(
                "the {name} {value:?} cannot be written to a fingerprints file (empty, or holds a tab or line break)"
            ));
        }
    }
    if entry.trust.contains(['\t', '\n', '\r']) {
        return Err(format!(
            "the trust {:?} holds a tab or line break",
            entry.trust
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    const FP: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn reads_what_libotr_writes() {
        let text = format!(
            "bob\talice\tprpl-irc\t{FP}\t\ncarol\talice\tprpl-irc\t{FP}\tverified\n\
             dave\talice@x\tIRC\t{}\tsmp\r\n\neve\talice\tIRC\t{FP}\n",
            FP.to_uppercase()
        );
        let entries = parse(text.as_bytes()).unwrap();
        assert_eq!(entries.len(), 4);
        assert_eq!(entries[0].trust, "");
        assert!(!entries[0].is_trusted());
        assert_eq!(entries[1].trust, "verified");
        assert_eq!(entries[2].trust, "smp");
        assert_eq!(entries[2].account, "alice@x");
        assert_eq!(entries[2].fingerprint.to_hex(), FP);
        assert_eq!(entries[3].trust, "");
        let written = to_text(&entries);
        assert_eq!(parse(written.as_bytes()).unwrap(), entries);
        assert!(written.starts_with(&format!("bob\talice\tprpl-irc\t{FP}\t\n")));
    }

    #[test]
    fn bad_lines_are_named() {
        let good = format!("bob\talice\tprpl-irc\t{FP}\tverified\n");
        let cases = [
            (format!("{good}bob\talice\n"), 2, "found 2 fields"),
            (
                format!("{good}{good}bob\talice\tirc\t{}\t\n", &FP[..39]),
                3,
                "not 40 hex",
            ),
            (
                format!("bob\talice\tirc\t{}g\t\n", &FP[..39]),
                1,
                "not 40 hex",
            ),
            (
                format!("bob\talice\tirc\t{FP}\tverified\textra\n"),
                1,
                "unknown field",
            ),
            (
                format!("{good}bob\talice\tirc\t{FP}\tverif"),
                2,
                "truncated",
            ),
            (format!("\talice\tirc\t{FP}\t\n"), 1, "peer is empty"),
        ];
        for (text, line, needle) in cases {
            let e = parse(text.as_bytes()).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.message.contains(needle), "{e}");
        }
        assert!(parse(b"").unwrap().is_empty());
        assert!(parse(b"\xff\t\n").is_err());
        assert!(parse(format!("b\ta\tp\t{FP}\tx\r\r\n").as_bytes()).is_err());
    }
}
