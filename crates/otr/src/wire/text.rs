//! Unencoded OTR messages and the classification of incoming text
//! (Protocol-v3.html, "Unencoded messages", "Fragmentation").

use super::codec::InvalidMessage;
use super::encoded::InstanceTag;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// A set of protocol versions offered by a query message or whitespace tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Versions {
    /// Version 1 offered.
    pub v1: bool,
    /// Version 2 offered.
    pub v2: bool,
    /// Version 3 offered.
    pub v3: bool,
}

/// What an incoming string is, in libotr's order of checks: fragment, encoded, error,
/// query, tagged plaintext, plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IncomingText {
    /// `?OTR:...` armour: the decoded bytes (not yet parsed as a message).
    Encoded(Vec<u8>),
    /// `?OTR|` (v3) or `?OTR,` (v2) fragment.
    Fragment(Fragment),
    /// `?OTR Error:`: the human-readable text after the colon, trimmed of one leading space.
    Error(String),
    /// A query message; versions offered (unknown version characters ignored).
    Query(Versions),
    /// Plain text; `tag` holds the versions of a whitespace tag that was present (and removed).
    Plain {
        /// The text with any whitespace tag removed.
        text: String,
        /// Versions from the whitespace tag, if one was present.
        tag: Option<Versions>,
    },
}

/// One fragment of a fragmented message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// Sender and receiver instance tags (v3 fragments), `None` for v2.
    pub instances: Option<(InstanceTag, InstanceTag)>,
    /// k, 1-based.
    pub index: u16,
    /// n.
    pub total: u16,
    /// The piece.
    pub piece: String,
}

/// The whitespace base tag (libotr's `OTRL_MESSAGE_TAG_BASE`).
pub const TAG_BASE: &str = " \t  \t\t\t\t \t \t \t  ";
/// The 8-character whitespace tag for version 1.
pub const TAG_V1: &str = " \t \t  \t ";
/// The 8-character whitespace tag for version 2.
pub const TAG_V2: &str = "  \t\t  \t ";
/// The 8-character whitespace tag for version 3.
pub const TAG_V3: &str = "  \t\t  \t\t";

/// Classifies an incoming string.
///
/// The checks, in libotr 4.1.1's order:
///
/// 1. The string contains `?OTR|` (v3) or else `?OTR,` (v2) anywhere: it is a fragment,
///    parsed from there as `?OTR|<hex sender>|<hex receiver>,<k>,<n>,<piece>,` or
///    `?OTR,<k>,<n>,<piece>,` (k, n decimal u16, leading zeros allowed; anything after the
///    final comma ignored). k = 0, n = 0, k > n, a number over 65535, an empty piece or a
///    missing comma give [`InvalidMessage::BadFragment`].
/// 2. Otherwise the first `?OTR` decides, by what follows it:
///    * `:` — armour: the base64 (standard alphabet, with padding) up to the first `.` is
///      decoded ([`InvalidMessage::Unterminated`] without a `.`, [`InvalidMessage::BadBase64`]
///      if it does not decode); text after the `.` is ignored.
///    * `?` or `v` — a query: `?` offers v1, then an optional `v` is followed by version
///      characters up to the next `?` (or the end); `2` and `3` are recognised, others ignored.
///    * ` Error:` — the text after the colon, less one leading space.
///    * anything else — libotr calls this an unrecognised OTR message and drops it; this
///      enum has no such variant, so the string falls through to step 3 and is treated as
///      plain text.
/// 3. The whitespace base tag anywhere: the tag and every 8-character group of spaces/tabs
///    after it are removed (groups that are not a known version tag are skipped, as libotr
///    does) and `Plain` carries the versions found (possibly none).
/// 4. Otherwise plain text without a tag.
pub fn classify(msg: &str) -> Result<IncomingText, InvalidMessage> {
    if let Some(rest) = after(msg, "?OTR|") {
        return parse_fragment(rest, true).map(IncomingText::Fragment);
    }
    if let Some(rest) = after(msg, "?OTR,") {
        return parse_fragment(rest, false).map(IncomingText::Fragment);
    }
    if let Some(rest) = after(msg, "?OTR") {
        if let Some(b64) = rest.strip_prefix(':') {
            let end = b64.find('.').ok_or(InvalidMessage::Unterminated)?;
            let b64 = b64.get(..end).ok_or(InvalidMessage::Unterminated)?;
            return STANDARD
                .decode(b64)
                .map(IncomingText::Encoded)
                .map_err(|_| InvalidMessage::BadBase64);
        }
        if rest.starts_with('?') || rest.starts_with('v') {
            return Ok(IncomingText::Query(parse_query(rest)));
        }
        if let Some(text) = rest.strip_prefix(" Error:") {
            let text = text.strip_prefix(' ').unwrap_or(text);
            return Ok(IncomingText::Error(text.to_owned()));
        }
    }
    Ok(strip_whitespace_tag(msg))
}

/// The text after the first occurrence of `needle`.
fn after<'a>(haystack: &'a str, needle: &str) -> Option<&'a str> {
    let at = haystack.find(needle)?;
    haystack.get(at + needle.len()..)
}

/// Parses the versions of a query message; `rest` is the text after `?OTR`.
fn parse_query(rest: &str) -> Versions {
    let mut versions = Versions::default();
    let rest = match rest.strip_prefix('?') {
        Some(r) => {
            versions.v1 = true;
            r
        }
        None => rest,
    };
    if let Some(list) = rest.strip_prefix('v') {
        for c in list.chars().take_while(|&c| c != '?') {
            match c {
                '2' => versions.v2 = true,
                '3' => versions.v3 = true,
                _ => {}
            }
        }
    }
    versions
}

/// Parses a fragment; `rest` is the text after `?OTR|` (v3) or `?OTR,` (v2).
fn parse_fragment(rest: &str, v3: bool) -> Result<Fragment, InvalidMessage> {
    let mut rest = rest;
    let instances = if v3 {
        let sender = take_number(&mut rest, '|', 16)?;
        let receiver = take_number(&mut rest, ',', 16)?;
        Some((InstanceTag(sender), InstanceTag(receiver)))
    } else {
        None
    };
    let index =
        u16::try_from(take_number(&mut rest, ',', 10)?).map_err(|_| InvalidMessage::BadFragment)?;
    let total =
        u16::try_from(take_number(&mut rest, ',', 10)?).map_err(|_| InvalidMessage::BadFragment)?;
    let end = rest.find(',').ok_or(InvalidMessage::BadFragment)?;
    let piece = rest.get(..end).ok_or(InvalidMessage::BadFragment)?;
    if index == 0 || total == 0 || index > total || piece.is_empty() {
        return Err(InvalidMessage::BadFragment);
    }
    Ok(Fragment {
        instances,
        index,
        total,
        piece: piece.to_owned(),
    })
}

/// Reads one or more digits in `radix` followed by `sep` from the front of `rest`, advancing
/// it past the separator. The value must fit a u32.
fn take_number(rest: &mut &str, sep: char, radix: u32) -> Result<u32, InvalidMessage> {
    let end = rest.find(sep).ok_or(InvalidMessage::BadFragment)?;
    let digits = rest.get(..end).ok_or(InvalidMessage::BadFragment)?;
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(InvalidMessage::BadFragment);
    }
    let value = u32::from_str_radix(digits, radix).map_err(|_| InvalidMessage::BadFragment)?;
    *rest = rest
        .get(end + sep.len_utf8()..)
        .ok_or(InvalidMessage::BadFragment)?;
    Ok(value)
}

/// Finds and removes a whitespace tag, as libotr's receive path does.
fn strip_whitespace_tag(msg: &str) -> IncomingText {
    let Some(start) = msg.find(TAG_BASE) else {
        return IncomingText::Plain {
            text: msg.to_owned(),
            tag: None,
        };
    };
    let bytes = msg.as_bytes();
    let mut end = start + TAG_BASE.len();
    let mut versions = Versions::default();
    while let Some(group) = bytes.get(end..end + 8) {
        if !group.iter().all(|&b| b == b' ' || b == b'\t') {
            break;
        }
        versions.v1 |= group == TAG_V1.as_bytes();
        versions.v2 |= group == TAG_V2.as_bytes();
        versions.v3 |= group == TAG_V3.as_bytes();
        end += 8;
    }
    let mut text = String::with_capacity(msg.len() - (end - start));
    text.push_str(msg.get(..start).unwrap_or_default());
    text.push_str(msg.get(end..).unwrap_or_default());
    IncomingText::Plain {
        text,
        tag: Some(versions),
    }
}

/// `?OTR:` + base64(bytes) + `.`
pub fn armour(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(6 + bytes.len().div_ceil(3) * 4);
    s.push_str("?OTR:");
    STANDARD.encode_string(bytes, &mut s);
    s.push('.');
    s
}
/// The query message for `versions`, as libotr writes it: `?OTRv23?` (with `?` after OTR when
/// v1 is offered), with no explanation appended.
///
/// With no version at all this is the bare `?OTR` (which libotr would never send).
pub fn query_message(versions: Versions) -> String {
    let mut s = String::from("?OTR");
    if versions.v1 {
        s.push('?');
    }
    if versions.v2 || versions.v3 {
        s.push('v');
        if versions.v2 {
            s.push('2');
        }
        if versions.v3 {
            s.push('3');
        }
        s.push('?');
    }
    s
}
/// The whitespace tag (base tag followed by one 8-byte tag per version, v1 first).
pub fn whitespace_tag(versions: Versions) -> String {
    let mut s = String::from(TAG_BASE);
    for (on, tag) in [
        (versions.v1, TAG_V1),
        (versions.v2, TAG_V2),
        (versions.v3, TAG_V3),
    ] {
        if on {
            s.push_str(tag);
        }
    }
    s
}
/// `?OTR Error:` followed by a space and `text`.
pub fn error_message(text: &str) -> String {
    format!("?OTR Error: {text}")
}
