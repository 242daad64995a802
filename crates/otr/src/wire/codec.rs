//! The codec trait, the reader, and OTR's primitive data types.

/// A wire value that can be encoded and read back.
///
/// Invariant tested for every implementor: `decode(encode(x)) == x` and, for every
/// `b` that decodes, `encode(decode(b)) == b`.
pub trait Codec: Sized {
    /// Appends the encoding of `self` to `out`.
    fn encode(&self, out: &mut Vec<u8>);
    /// Reads one value from `r`, leaving the reader after it.
    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage>;
    /// Decodes a whole buffer, rejecting trailing bytes.
    fn decode(bytes: &[u8]) -> Result<Self, InvalidMessage> { unimplemented!() }
    /// The encoding as a fresh vector.
    fn to_bytes(&self) -> Vec<u8> { let mut v = Vec::new(); self.encode(&mut v); v }
}

/// A bounds-checked cursor over a byte slice. Never panics.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self { Self { buf, pos: 0 } }
    /// Takes the next `n` bytes; `what` names the field for the error.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], InvalidMessage> { unimplemented!() }
    /// Reads a BYTE.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, InvalidMessage> { unimplemented!() }
    /// Reads a big-endian SHORT.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, InvalidMessage> { unimplemented!() }
    /// Reads a big-endian INT.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, InvalidMessage> { unimplemented!() }
    /// Reads a fixed-size array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], InvalidMessage> { unimplemented!() }
    /// Reads an MPI body (length-prefixed big-endian integer) of at most `max` bytes.
    pub fn mpi(&mut self, max: usize, what: &'static str) -> Result<&'a [u8], InvalidMessage> { unimplemented!() }
    /// Reads a DATA body (length-prefixed bytes) of at most `max` bytes.
    pub fn data(&mut self, max: usize, what: &'static str) -> Result<&'a [u8], InvalidMessage> { unimplemented!() }
    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] { unimplemented!() }
    /// True when every byte has been read.
    pub fn is_empty(&self) -> bool { unimplemented!() }
    /// Fails with [`InvalidMessage::TrailingBytes`] unless every byte has been read.
    pub fn finish(&self) -> Result<(), InvalidMessage> { unimplemented!() }
}

/// Appends an INT.
pub fn put_u32(out: &mut Vec<u8>, v: u32) { unimplemented!() }
/// Appends an MPI: the 4-byte length, then `be` with its leading zero bytes removed.
pub fn put_mpi(out: &mut Vec<u8>, be: &[u8]) { unimplemented!() }
/// Appends DATA: the 4-byte length, then the bytes.
pub fn put_data(out: &mut Vec<u8>, bytes: &[u8]) { unimplemented!() }

/// Why bytes or text could not be decoded. Malformed input, never our bug.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidMessage {
    /// The input ended inside the named field.
    Truncated(&'static str),
    /// A length field exceeded its cap.
    TooLong {
        /// The field.
        what: &'static str,
        /// The length found.
        len: u64,
        /// The cap.
        max: usize,
    },
    /// Bytes left over after a complete value.
    TrailingBytes,
    /// A protocol version we do not speak inside an encoded message.
    UnknownVersion(u16),
    /// An unknown message type byte.
    UnknownMessageType(u8),
    /// An instance tag in the reserved range 1..=0xFF, or a zero sender tag.
    BadInstanceTag(u32),
    /// The base64 inside `?OTR:` armour did not decode.
    BadBase64,
    /// Armour without its closing `.`.
    Unterminated,
    /// A malformed fragment header.
    BadFragment,
    /// A malformed TLV record.
    BadTlv,
    /// A malformed public key or signature.
    BadPublicKey,
}
