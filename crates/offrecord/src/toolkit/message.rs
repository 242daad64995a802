//! OTR messages as libotr's toolkit reads and writes them.
//!
//! The tools must read whatever libotr's tools read, including what our engine refuses on
//! purpose: protocol version 1 messages, base64 with stray characters, MPIs with leading
//! zeros, any length. So this module has its own lenient reading, with libotr's rules:
//!
//! * [`read_otr`]: a message on the input is `?OTR:` followed by everything up to and
//!   including the next `.` (or the end of the input), wherever it starts;
//! * [`classify`]: the type comes from the characters after `?OTR:`
//!   (`otrl_proto_message_type`);
//! * [`decode_base64`]: characters outside the base64 alphabet are skipped, `=` ends the
//!   data, an incomplete last group is dropped (`otrl_base64_decode`);
//! * the structures are read field by field with the engine's bounds-checked
//!   [`Reader`]: every length is checked against what is left, and trailing bytes make a
//!   message invalid.
//!
//! Writing ([`DataMessage::remac`]) rebuilds a data message from its fields, MPIs minimal,
//! as libotr's `remac_datamsg` does, so a re-MACed message is byte for byte libotr's.

use std::io::{self, BufRead};

use otr::crypto::sym::{ct_eq, hmac_sha1};
use otr::wire::codec::{put_data, put_mpi, put_u32};
use otr::wire::text::armour;
use otr::wire::{InvalidMessage, Reader};

use super::format::minimal;

/// The header every encoded OTR message starts with.
const ARMOUR: &[u8] = b"?OTR:";

/// What `otrl_proto_message_type` says a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessageKind {
    /// `?OTR?` or `?OTRv...`.
    Query,
    /// `?OTR:AAMC` / `?OTR:AAIC`.
    DhCommit,
    /// `?OTR:AAMK` / `?OTR:AAIK`.
    DhKey,
    /// `?OTR:AAMR` / `?OTR:AAIR`.
    RevealSignature,
    /// `?OTR:AAMS` / `?OTR:AAIS`.
    Signature,
    /// `?OTR:AAEK`: a protocol version 1 key exchange.
    V1KeyExchange,
    /// `?OTR:AAMD` / `?OTR:AAID` / `?OTR:AAED`.
    Data,
    /// `?OTR Error:`.
    Error,
    /// Plaintext with a whitespace tag.
    TaggedPlaintext,
    /// No `?OTR` anywhere.
    NotOtr,
    /// `?OTR` followed by anything else.
    Unknown,
}

/// Classifies `msg` as `otrl_proto_message_type` does (libotr 4.1.1, src/proto.c).
pub fn classify(msg: &[u8]) -> MessageKind {
    let Some(at) = find(msg, b"?OTR") else {
        // The whitespace tag's base: 16 bytes of spaces and tabs.
        return if find(msg, b" \t  \t\t\t\t \t \t \t  ").is_some() {
            MessageKind::TaggedPlaintext
        } else {
            MessageKind::NotOtr
        };
    };
    let tag = msg.get(at..).unwrap_or_default();
    if tag.starts_with(b"?OTR:AAM") || tag.starts_with(b"?OTR:AAI") {
        return match tag.get(8) {
            Some(b'C') => MessageKind::DhCommit,
            Some(b'K') => MessageKind::DhKey,
            Some(b'R') => MessageKind::RevealSignature,
            Some(b'S') => MessageKind::Signature,
            Some(b'D') => MessageKind::Data,
            _ => MessageKind::Unknown,
        };
    }
    if tag.starts_with(b"?OTR?") || tag.starts_with(b"?OTRv") {
        MessageKind::Query
    } else if tag.starts_with(b"?OTR:AAEK") {
        MessageKind::V1KeyExchange
    } else if tag.starts_with(b"?OTR:AAED") {
        MessageKind::Data
    } else if tag.starts_with(b"?OTR Error:") {
        MessageKind::Error
    } else {
        MessageKind::Unknown
    }
}

/// The first position of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads the next OTR message from `input`, as libotr's `readotr` does: skips to the next
/// `?OTR:`, then takes everything up to and including the next `.` (or to the end of the
/// input). `None` at the end of the input.
///
/// libotr keeps the message in a C string, so a NUL byte ends it there (the bytes after
/// it, up to the `.`, are read and ignored); the message returned stops at the NUL too.
pub fn read_otr(input: &mut dyn BufRead) -> io::Result<Option<Vec<u8>>> {
    let mut seen = 0;
    while seen < ARMOUR.len() {
        let Some(c) = next_byte(input)? else {
            return Ok(None);
        };
        if Some(&c) == ARMOUR.get(seen) {
            seen += 1;
        } else if c == ARMOUR[0] {
            seen = 1;
        } else {
            seen = 0;
        }
    }
    let mut msg = ARMOUR.to_vec();
    while let Some(c) = next_byte(input)? {
        msg.push(c);
        if c == b'.' {
            break;
        }
    }
    if let Some(nul) = msg.iter().position(|&c| c == 0) {
        msg.truncate(nul);
    }
    Ok(Some(msg))
}

/// One byte of `input`, `None` at its end.
fn next_byte(input: &mut dyn BufRead) -> io::Result<Option<u8>> {
    loop {
        match input.fill_buf() {
            Ok(buf) => {
                let Some(&c) = buf.first() else {
                    return Ok(None);
                };
                input.consume(1);
                return Ok(Some(c));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Decodes base64 as `otrl_base64_decode` does: bytes outside `+`..`z` and characters not
/// in the alphabet are skipped, the first `=` ends the data (a partial group before it
/// still counts), and an incomplete group at the end is dropped.
pub fn decode_base64(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    let mut group = [0u8; 4];
    let mut filled = 0;
    for &c in text {
        if c == b'=' {
            flush_group(&group, filled, &mut out);
            return out;
        }
        let Some(v) = base64_value(c) else {
            continue;
        };
        if let Some(slot) = group.get_mut(filled) {
            *slot = v;
        }
        filled += 1;
        if filled == 4 {
            flush_group(&group, filled, &mut out);
            filled = 0;
        }
    }
    out
}

/// The bytes of the first `filled` sextets of `group` (1 sextet gives none).
fn flush_group(group: &[u8; 4], filled: usize, out: &mut Vec<u8>) {
    let [a, b, c, d] = *group;
    if filled > 1 {
        out.push(a << 2 | b >> 4);
    }
    if filled > 2 {
        out.push(b << 4 | c >> 2);
    }
    if filled > 3 {
        out.push(c << 6 | d);
    }
}

/// The value of a base64 character.
fn base64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// The decoded bytes of the message in `msg`: from after the first `?OTR:` to the next
/// `.` or the end (libotr's toolkit `decode`). `None` when there is no `?OTR:`.
pub fn payload(msg: &[u8]) -> Option<Vec<u8>> {
    let start = find(msg, ARMOUR)? + ARMOUR.len();
    let body = msg.get(start..).unwrap_or_default();
    let end = body.iter().position(|&c| c == b'.').unwrap_or(body.len());
    Some(decode_base64(body.get(..end).unwrap_or_default()))
}

/// Why a message could not be read as the structure its type names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// No `?OTR:` in the message.
    #[error("no ?OTR: armour")]
    NoArmour,
    /// The first three bytes are not a version and the expected type.
    #[error("unexpected protocol version or message type")]
    BadHeader,
    /// A field is cut short or bytes are left over.
    #[error("{0:?}")]
    Field(InvalidMessage),
}

impl From<InvalidMessage> for ParseError {
    fn from(e: InvalidMessage) -> Self {
        Self::Field(e)
    }
}

/// Sender and receiver instance tags (protocol version 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instances {
    /// The sender's instance tag.
    pub sender: u32,
    /// The receiver's instance tag.
    pub receiver: u32,
}

/// Reads the header: `00 vv tt` with `vv` in `versions`; then the instance tags for v3.
fn read_header(
    r: &mut Reader<'_>,
    versions: &[u8],
    kind: u8,
) -> Result<(u8, Option<Instances>), ParseError> {
    let [zero, version, t] = r.array::<3>("header").map_err(|_| ParseError::BadHeader)?;
    if zero != 0 || t != kind || !versions.contains(&version) {
        return Err(ParseError::BadHeader);
    }
    let instances = if version == 3 {
        Some(Instances {
            sender: r.u32("sender instance")?,
            receiver: r.u32("receiver instance")?,
        })
    } else {
        None
    };
    Ok((version, instances))
}

/// Reads a length-prefixed field (DATA or MPI), any length that fits.
fn field<'a>(r: &mut Reader<'a>, what: &'static str) -> Result<&'a [u8], ParseError> {
    Ok(r.data(usize::MAX, what)?)
}

/// A D-H Commit message (type 0x02, v2 or v3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhCommit {
    /// 2 or 3.
    pub version: u8,
    /// The instance tags (v3).
    pub instances: Option<Instances>,
    /// The encrypted D-H value.
    pub encrypted_key: Vec<u8>,
    /// The hash of the D-H value.
    pub hashed_key: Vec<u8>,
}

impl DhCommit {
    /// Reads the D-H Commit message in `msg`.
    pub fn parse(msg: &[u8]) -> Result<Self, ParseError> {
        let raw = payload(msg).ok_or(ParseError::NoArmour)?;
        let mut r = Reader::new(&raw);
        let (version, instances) = read_header(&mut r, &[2, 3], 0x02)?;
        let encrypted_key = field(&mut r, "encrypted key")?.to_vec();
        let hashed_key = field(&mut r, "hashed key")?.to_vec();
        r.finish()?;
        Ok(Self {
            version,
            instances,
            encrypted_key,
            hashed_key,
        })
    }
}

/// A D-H Key message (type 0x0a, v2 or v3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhKey {
    /// 2 or 3.
    pub version: u8,
    /// The instance tags (v3).
    pub instances: Option<Instances>,
    /// The D-H value as on the wire.
    pub y: Vec<u8>,
}

impl DhKey {
    /// Reads the D-H Key message in `msg`.
    pub fn parse(msg: &[u8]) -> Result<Self, ParseError> {
        let raw = payload(msg).ok_or(ParseError::NoArmour)?;
        let mut r = Reader::new(&raw);
        let (version, instances) = read_header(&mut r, &[2, 3], 0x0a)?;
        let y = field(&mut r, "D-H key")?.to_vec();
        r.finish()?;
        Ok(Self {
            version,
            instances,
            y,
        })
    }
}

/// A Reveal Signature message (type 0x11, v2 or v3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevealSignature {
    /// 2 or 3.
    pub version: u8,
    /// The instance tags (v3).
    pub instances: Option<Instances>,
    /// The revealed AES key.
    pub key: Vec<u8>,
    /// The encrypted signature.
    pub encrypted_signature: Vec<u8>,
    /// Its MAC.
    pub mac: [u8; 20],
}

impl RevealSignature {
    /// Reads the Reveal Signature message in `msg`.
    pub fn parse(msg: &[u8]) -> Result<Self, ParseError> {
        let raw = payload(msg).ok_or(ParseError::NoArmour)?;
        let mut r = Reader::new(&raw);
        let (version, instances) = read_header(&mut r, &[2, 3], 0x11)?;
        let key = field(&mut r, "revealed key")?.to_vec();
        let encrypted_signature = field(&mut r, "encrypted signature")?.to_vec();
        let mac = r.array("MAC")?;
        r.finish()?;
        Ok(Self {
            version,
            instances,
            key,
            encrypted_signature,
            mac,
        })
    }
}

/// A Signature message (type 0x12, v2 or v3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// 2 or 3.
    pub version: u8,
    /// The instance tags (v3).
    pub instances: Option<Instances>,
    /// The encrypted signature.
    pub encrypted_signature: Vec<u8>,
    /// Its MAC.
    pub mac: [u8; 20],
}

impl Signature {
    /// Reads the Signature message in `msg`.
    pub fn parse(msg: &[u8]) -> Result<Self, ParseError> {
        let raw = payload(msg).ok_or(ParseError::NoArmour)?;
        let mut r = Reader::new(&raw);
        let (version, instances) = read_header(&mut r, &[2, 3], 0x12)?;
        let encrypted_signature = field(&mut r, "encrypted signature")?.to_vec();
        let mac = r.array("MAC")?;
        r.finish()?;
        Ok(Self {
            version,
            instances,
            encrypted_signature,
            mac,
        })
    }
}

/// A protocol version 1 Key Exchange message (`00 01 0a`), which libotr's toolkit still
/// reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1KeyExchange {
    /// The "reply" byte.
    pub reply: u8,
    /// DSA p, q, g and y (called e here, as libotr's toolkit does), as on the wire.
    pub dsa: [Vec<u8>; 4],
    /// The D-H key id.
    pub keyid: u32,
    /// The D-H value.
    pub y: Vec<u8>,
    /// The signature's r.
    pub r: [u8; 20],
    /// The signature's s.
    pub s: [u8; 20],
}

impl V1KeyExchange {
    /// Reads the v1 Key Exchange message in `msg`.
    pub fn parse(msg: &[u8]) -> Result<Self, ParseError> {
        let raw = payload(msg).ok_or(ParseError::NoArmour)?;
        let mut r = Reader::new(&raw);
        let header = r.array::<3>("header").map_err(|_| ParseError::BadHeader)?;
        if header != [0, 1, 0x0a] {
            return Err(ParseError::BadHeader);
        }
        let reply = r.u8("reply")?;
        let dsa = [
            field(&mut r, "DSA p")?.to_vec(),
            field(&mut r, "DSA q")?.to_vec(),
            field(&mut r, "DSA g")?.to_vec(),
            field(&mut r, "DSA e")?.to_vec(),
        ];
        let keyid = r.u32("keyid")?;
        let y = field(&mut r, "D-H y")?.to_vec();
        let sig_r = r.array("signature r")?;
        let sig_s = r.array("signature s")?;
        r.finish()?;
        Ok(Self {
            reply,
            dsa,
            keyid,
            y,
            r: sig_r,
            s: sig_s,
        })
    }
}

/// A data message (type 0x03; version 1, 2 or 3), as libotr's toolkit reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataMessage {
    /// 1, 2 or 3.
    pub version: u8,
    /// The flags byte (versions 2 and 3; version 1 has none).
    pub flags: Option<u8>,
    /// The instance tags (v3).
    pub instances: Option<Instances>,
    /// The sender's key id.
    pub sender_keyid: u32,
    /// The recipient's key id.
    pub recipient_keyid: u32,
    /// The sender's next D-H value, as on the wire (leading zeros kept).
    pub next_dh: Vec<u8>,
    /// The top half of the AES counter.
    pub counter: [u8; 8],
    /// The encrypted message.
    pub encrypted: Vec<u8>,
    /// The MAC.
    pub mac: [u8; 20],
    /// The revealed old MAC keys (normally a multiple of 20 bytes).
    pub old_mac_keys: Vec<u8>,
    /// The bytes the MAC was computed over, exactly as received.
    pub authenticated: Vec<u8>,
}

impl DataMessage {
    /// Reads the data message in `msg`.
    pub fn parse(msg: &[u8]) -> Result<Self, ParseError> {
        let raw = payload(msg).ok_or(ParseError::NoArmour)?;
        let mut r = Reader::new(&raw);
        let header = r.array::<3>("header").map_err(|_| ParseError::BadHeader)?;
        let version = match header {
            [0, v @ 1..=3, 0x03] => v,
            _ => return Err(ParseError::BadHeader),
        };
        let instances = if version == 3 {
            Some(Instances {
                sender: r.u32("sender instance")?,
                receiver: r.u32("receiver instance")?,
            })
        } else {
            None
        };
        let flags = if version >= 2 {
            Some(r.u8("flags")?)
        } else {
            None
        };
        let sender_keyid = r.u32("sender keyid")?;
        let recipient_keyid = r.u32("recipient keyid")?;
        let next_dh = field(&mut r, "next D-H key")?.to_vec();
        let counter = r.array("counter")?;
        let encrypted = field(&mut r, "encrypted message")?.to_vec();
        let authenticated_len = raw.len() - r.rest().len();
        let mac = r.array("MAC")?;
        let old_mac_keys = field(&mut r, "old MAC keys")?.to_vec();
        r.finish()?;
        let authenticated = raw.get(..authenticated_len).unwrap_or_default().to_vec();
        Ok(Self {
            version,
            flags,
            instances,
            sender_keyid,
            recipient_keyid,
            next_dh,
            counter,
            encrypted,
            mac,
            old_mac_keys,
            authenticated,
        })
    }

    /// Whether the MAC verifies under `mac_key`, over the bytes as received.
    pub fn mac_verifies(&self, mac_key: &[u8]) -> bool {
        ct_eq(&hmac_sha1(mac_key, &[&self.authenticated]), &self.mac)
    }

    /// The message encoded anew from its fields (the D-H value minimal, as libotr writes
    /// it), MACed with `mac_key`, armoured: libotr's `remac_datamsg`. `self` is updated to
    /// the new message (its `authenticated` bytes and `mac`).
    pub fn remac(&mut self, mac_key: &[u8]) -> String {
        let mut raw = vec![0, self.version, 0x03];
        if self.version == 3 {
            let tags = self.instances.unwrap_or(Instances {
                sender: 0,
                receiver: 0,
            });
            put_u32(&mut raw, tags.sender);
            put_u32(&mut raw, tags.receiver);
        }
        if self.version == 2 || self.version == 3 {
            raw.push(self.flags.unwrap_or(0));
        }
        put_u32(&mut raw, self.sender_keyid);
        put_u32(&mut raw, self.recipient_keyid);
        put_mpi(&mut raw, minimal(&self.next_dh));
        raw.extend_from_slice(&self.counter);
        put_data(&mut raw, &self.encrypted);
        self.mac = hmac_sha1(mac_key, &[&raw]);
        self.authenticated = raw.clone();
        raw.extend_from_slice(&self.mac);
        put_data(&mut raw, &self.old_mac_keys);
        armour(&raw)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn base64_is_read_leniently_as_libotr_does() {
        assert_eq!(decode_base64(b"AAMD"), vec![0, 3, 3]);
        assert_eq!(decode_base64(b"A A\nM\x80D!"), vec![0, 3, 3]);
        assert_eq!(decode_base64(b"AAMDAA"), vec![0, 3, 3]);
        assert_eq!(decode_base64(b"AAMDAA=ZZZZ"), vec![0, 3, 3, 0]);
        assert_eq!(decode_base64(b"aGk="), b"hi");
        assert_eq!(decode_base64(b""), Vec::<u8>::new());
    }

    #[test]
    fn messages_are_found_anywhere_and_end_at_a_dot() {
        let mut input: &[u8] = b"xx??OTR:AAMD.yy ?OTR:AA\0MD. tail ?OTR:abc";
        assert_eq!(read_otr(&mut input).unwrap().unwrap(), b"?OTR:AAMD.");
        assert_eq!(read_otr(&mut input).unwrap().unwrap(), b"?OTR:AA");
        assert_eq!(read_otr(&mut input).unwrap().unwrap(), b"?OTR:abc");
        assert_eq!(read_otr(&mut input).unwrap(), None);
    }

    #[test]
    fn classification() {
        assert_eq!(classify(b"?OTR:AAMDxx"), MessageKind::Data);
        assert_eq!(classify(b"?OTR:AAIC"), MessageKind::DhCommit);
        assert_eq!(classify(b"?OTR:AAED"), MessageKind::Data);
        assert_eq!(classify(b"?OTR:AAEK"), MessageKind::V1KeyExchange);
        assert_eq!(classify(b"?OTR:AAMX"), MessageKind::Unknown);
        assert_eq!(classify(b"?OTR:AAM"), MessageKind::Unknown);
        assert_eq!(classify(b"?OTRv23?"), MessageKind::Query);
        assert_eq!(classify(b"?OTR Error: x"), MessageKind::Error);
        assert_eq!(classify(b"hi"), MessageKind::NotOtr);
    }

    #[test]
    fn huge_and_truncated_lengths_are_errors() {
        // v3 data header, tags, flags, keyids, then an MPI claiming 4 GiB.
        let mut raw = vec![0, 3, 3, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        raw.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 1, 2]);
        let msg = armour(&raw);
        assert!(matches!(
            DataMessage::parse(msg.as_bytes()),
            Err(ParseError::Field(_))
        ));
        assert_eq!(
            DataMessage::parse(b"?OTR:AAMC."),
            Err(ParseError::BadHeader)
        );
        assert_eq!(DataMessage::parse(b"no armour"), Err(ParseError::NoArmour));
    }
}
