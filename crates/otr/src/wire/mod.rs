//! The OTR wire formats, one module per format (Protocol-v3.html, "Details of the protocol").
//!
//! * [`codec`]: the [`Codec`] trait, the bounds-checked [`Reader`], and the OTR data types
//!   (BYTE, SHORT, INT, MPI, DATA, CTR, MAC) with a named cap on every length field.
//! * [`encoded`]: the binary messages inside `?OTR:...` armour: D-H Commit, D-H Key,
//!   Reveal Signature, Signature and Data, with their headers and instance tags.
//! * [`text`]: the unencoded messages: query messages, whitespace tags, `?OTR Error:`,
//!   the base64 armour, fragments, and the classification of an incoming string.
//! * [`tlv`]: the plaintext of a data message: text, NUL, TLV records.
//! * [`pubkey`]: the PUBKEY and SIG encodings.

pub mod codec;
pub mod encoded;
pub mod pubkey;
pub mod text;
pub mod tlv;

pub use codec::{Codec, InvalidMessage, Reader};
