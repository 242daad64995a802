//! Unencoded OTR messages and the classification of incoming text
//! (Protocol-v3.html, "Unencoded messages", "Fragmentation").

use super::codec::InvalidMessage;
use super::encoded::InstanceTag;

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

/// Classifies an incoming string.
pub fn classify(msg: &str) -> Result<IncomingText, InvalidMessage> { unimplemented!() }
/// `?OTR:` + base64(bytes) + `.`
pub fn armour(bytes: &[u8]) -> String { unimplemented!() }
/// The query message for `versions`, as libotr writes it: `?OTRv23?` (with `?` after OTR when
/// v1 is offered), with no explanation appended.
pub fn query_message(versions: Versions) -> String { unimplemented!() }
/// The whitespace tag (base tag followed by one 8-byte tag per version, v1 first).
pub fn whitespace_tag(versions: Versions) -> String { unimplemented!() }
/// `?OTR Error:` followed by a space and `text`.
pub fn error_message(text: &str) -> String { unimplemented!() }
