//! Message fragmentation (Protocol-v3.html, "Fragmentation"): splitting an encoded message
//! that is too long for the network into fragments, and reassembling received fragments.
//!
//! ```text
//! v3:  ?OTR|<sender instance>|<receiver instance>,<k>,<n>,<piece k>,
//! v2:  ?OTR,<k>,<n>,<piece k>,
//! ```
//!
//! Both halves are sans-IO and keep no clock: [`fragment`] is a pure function and
//! [`Reassembler`] is a bounded buffer the caller owns, one per conversation (per peer).
//!
//! # Sending
//!
//! [`fragment`] writes exactly what libotr 4.1.1 writes (`otrl_proto_fragment_create`): the
//! instance tags as 8 lowercase hex digits, k and n as 5-digit zero-padded decimals, and
//! pieces of `max_size - 37` bytes (v3) or `max_size - 19` bytes (v2), the last piece
//! shorter. libotr's header lengths count a C string terminator, so every fragment is at most
//! `max_size - 1` bytes long; matching that keeps our fragments byte-identical to libotr's.
//! Only OTR-encoded messages (`?OTR:...`) are meant to be fragmented: a fragment cannot be
//! fragmented again, and plaintext could contain commas, which no receiver could reassemble.
//!
//! # Receiving
//!
//! The [`Reassembler`] stores, per sender, the fragment number K, the count N and the text F
//! assembled so far (no stored fragment: K = N = 0, F = ""). On a fragment (k, n, piece),
//! after the checks that discard it without touching the stored state (k = 0, n = 0, k > n,
//! an empty piece, a v3 receiver instance that is neither 0 nor ours, a v3 sender instance
//! below 0x100):
//!
//! | stored (K, N)           | received (k, n)                 | action                              | result |
//! |-------------------------|---------------------------------|-------------------------------------|--------|
//! | any                     | k = 1                           | forget F; F = piece, (K, N) = (1, n) | `Incomplete` (or `Complete` if n = 1) |
//! | N > 0                   | k = K + 1, n = N                | F += piece, K = k                   | `Incomplete`, or `Complete(F)` when k = N |
//! | any                     | anything else                   | forget F, (K, N) = (0, 0)           | `Discarded(OutOfSequence)` |
//! | any                     | F + piece over [`MAX_MESSAGE_BYTES`] | forget F, (K, N) = (0, 0)      | `Discarded(TooLarge)` |
//! | K = N after the step    | —                               | hand F back, (K, N) = (0, 0)        | `Complete(F)`, or `Discarded(NestedFragment)` if F holds a fragment header |
//!
//! The spec also says to forget the stored fragment when a non-fragment message arrives: the
//! caller does that with [`Reassembler::clear`].
//!
//! Memory is bounded: one partial message per sender instance, at most
//! [`MAX_MESSAGE_BYTES`] each, and at most [`MAX_INSTANCES`] senders tracked (the least
//! recently updated is dropped to make room). libotr's CVE-2016-2851 was a heap overflow in
//! exactly this code: it accumulated fragments without a bound until a length computation
//! overflowed.

use crate::wire::encoded::{InstanceTag, ProtocolVersion};
use crate::wire::text::Fragment;

/// Length of a v3 fragment header with libotr's fixed-width fields, commas included:
/// `?OTR|xxxxxxxx|xxxxxxxx,kkkkk,nnnnn,` plus the trailing `,` after the piece.
const V3_OVERHEAD: usize = 36;
/// Length of a v2 fragment's fixed part: `?OTR,kkkkk,nnnnn,` plus the trailing `,`.
const V2_OVERHEAD: usize = 18;

/// The largest reassembled message the [`Reassembler`] keeps, in bytes (256 KiB). A fragment
/// that would make the assembled text longer discards the partial message. Real OTR
/// messages are a few kilobytes at most (the largest, an SMP message, is under 3 KiB armoured).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// The number of sender instances whose partial messages the [`Reassembler`] keeps at once.
/// Together with [`MAX_MESSAGE_BYTES`] this bounds its memory at 2 MiB.
pub const MAX_INSTANCES: usize = 8;

/// The largest fragment count (k and n are unsigned 16-bit numbers).
pub const MAX_FRAGMENTS: usize = u16::MAX as usize;

/// Why [`fragment`] could not split a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FragmentError {
    /// `max_size` leaves no room for a one-byte piece after the header.
    MaxSizeTooSmall {
        /// The size asked for.
        max_size: usize,
        /// The smallest size that works for this protocol version.
        minimum: usize,
    },
    /// Splitting would need more than [`MAX_FRAGMENTS`] fragments.
    TooManyFragments {
        /// The number of fragments needed (at least).
        needed: usize,
    },
    /// Only protocol versions 2 and 3 have a fragment format.
    UnsupportedVersion(ProtocolVersion),
    /// The message contains a comma, which would end a piece early on the receiving side
    /// (encoded `?OTR:...` messages never do; fragments always do).
    ContainsComma,
    /// A single character of the message is longer than the room for a piece, so the message
    /// cannot be split on character boundaries.
    CharacterTooWide,
}

impl core::fmt::Display for FragmentError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::MaxSizeTooSmall { max_size, minimum } => write!(
                f,
                "maximum message size {max_size} is too small for a fragment (minimum {minimum})"
            ),
            Self::TooManyFragments { needed } => write!(
                f,
                "the message would need {needed} fragments (at most {MAX_FRAGMENTS})"
            ),
            Self::UnsupportedVersion(v) => {
                write!(f, "protocol version {} has no fragment format", v.0)
            }
            Self::ContainsComma => f.write_str("a message containing a comma cannot be fragmented"),
            Self::CharacterTooWide => {
                f.write_str("a character is longer than the room for a fragment piece")
            }
        }
    }
}

impl std::error::Error for FragmentError {}

/// Splits `message` into fragments of at most `max_size` bytes each, in libotr 4.1.1's
/// format (see the [module documentation](self)).
///
/// If the message is not longer than `max_size`, or `max_size` is 0 (no limit), the result is
/// the message itself, unchanged, as the only element. Otherwise each fragment carries a piece
/// of `max_size - 37` bytes (v3) or `max_size - 19` bytes (v2), except the last, exactly as
/// libotr sizes them; pieces never split a UTF-8 character (an ASCII message, which every
/// encoded OTR message is, is split at exactly libotr's offsets). For v3, `sender` and
/// `receiver` are written into every fragment; v2 fragments carry no instance tags and
/// ignore them.
///
/// Only encoded messages (`?OTR:...`) should be passed: the caller fragments what it would
/// otherwise send whole, never a query, error, plaintext or a fragment.
///
/// # Errors
///
/// [`FragmentError::UnsupportedVersion`] for a version other than 2 or 3;
/// [`FragmentError::MaxSizeTooSmall`] if `max_size` is below 38 (v3) or 20 (v2);
/// [`FragmentError::ContainsComma`] if the message contains `,`;
/// [`FragmentError::TooManyFragments`] if more than 65535 fragments would be needed;
/// [`FragmentError::CharacterTooWide`] if a character does not fit in a piece.
pub fn fragment(
    message: &str,
    max_size: usize,
    version: ProtocolVersion,
    sender: InstanceTag,
    receiver: InstanceTag,
) -> Result<Vec<String>, FragmentError> {
    let v3 = match version {
        ProtocolVersion::V3 => true,
        ProtocolVersion::V2 => false,
        other => return Err(FragmentError::UnsupportedVersion(other)),
    };
    if max_size == 0 || message.len() <= max_size {
        return Ok(vec![message.to_owned()]);
    }
    let overhead = if v3 { V3_OVERHEAD } else { V2_OVERHEAD };
    // libotr reserves one more byte (its header length counts the NUL terminator).
    let piece_len = max_size
        .checked_sub(overhead)
        .and_then(|room| room.checked_sub(1))
        .filter(|&room| room > 0)
        .ok_or(FragmentError::MaxSizeTooSmall {
            max_size,
            minimum: overhead.saturating_add(2),
        })?;
    if message.contains(',') {
        return Err(FragmentError::ContainsComma);
    }
    let lower_bound = message.len().div_ceil(piece_len);
    if lower_bound > MAX_FRAGMENTS {
        return Err(FragmentError::TooManyFragments {
            needed: lower_bound,
        });
    }
    let pieces = split_pieces(message, piece_len)?;
    let total = u16::try_from(pieces.len()).map_err(|_| FragmentError::TooManyFragments {
        needed: pieces.len(),
    })?;
    let mut out = Vec::with_capacity(pieces.len());
    for (index, piece) in (1..=total).zip(pieces) {
        let s = if v3 {
            format!(
                "?OTR|{:08x}|{:08x},{index:05},{total:05},{piece},",
                sender.0, receiver.0
            )
        } else {
            format!("?OTR,{index:05},{total:05},{piece},")
        };
        out.push(s);
    }
    Ok(out)
}

/// Cuts `message` into consecutive non-empty pieces of at most `piece_len` bytes, each ending
/// on a character boundary, greedily (so an ASCII message gives full pieces and a short last
/// one).
fn split_pieces(message: &str, piece_len: usize) -> Result<Vec<&str>, FragmentError> {
    let mut pieces = Vec::with_capacity(message.len().div_ceil(piece_len));
    let mut rest = message;
    while !rest.is_empty() {
        let mut cut = piece_len.min(rest.len());
        while cut > 0 && !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if cut == 0 {
            return Err(FragmentError::CharacterTooWide);
        }
        let (piece, tail) = rest.split_at(cut);
        pieces.push(piece);
        if pieces.len() > MAX_FRAGMENTS {
            return Err(FragmentError::TooManyFragments {
                needed: pieces.len(),
            });
        }
        rest = tail;
    }
    Ok(pieces)
}

/// What [`Reassembler::accept`] did with a fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FragmentOutcome {
    /// The fragment completed a message: the concatenated pieces, to be classified again
    /// ([`crate::wire::text::classify`]) and handled as if it had arrived whole. Never feed
    /// it back into a [`Reassembler`].
    Complete(String),
    /// The fragment was stored; more are needed.
    Incomplete,
    /// The fragment was not used. For [`DiscardReason::OutOfSequence`],
    /// [`DiscardReason::TooLarge`] and [`DiscardReason::NestedFragment`] the partial message
    /// from that sender was forgotten too; for the others the stored state is unchanged.
    Discarded(DiscardReason),
}

/// Why a fragment was discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiscardReason {
    /// k = 0, n = 0, k > n, or an empty piece (or one containing a comma, which no parsed
    /// fragment has): an illegal fragment. The stored state is unchanged.
    Illegal,
    /// A v3 fragment whose receiver instance tag is neither 0 nor ours (libotr reports
    /// `RCVDMSG_FOR_OTHER_INSTANCE`). The stored state is unchanged.
    ForOtherInstance,
    /// A v3 fragment whose sender instance tag is below 0x100 (libotr treats it as a
    /// malformed message). The stored state is unchanged.
    BadSenderInstance,
    /// Neither k = 1 nor the next fragment (k = K + 1 with the same n) of the stored message:
    /// the stored partial message was forgotten.
    OutOfSequence,
    /// The assembled message would exceed [`MAX_MESSAGE_BYTES`]; the partial message was
    /// forgotten.
    TooLarge,
    /// The completed message itself contains a fragment header (`?OTR|` or `?OTR,`), so it
    /// would classify as a fragment again; fragments of fragments are not allowed and it was
    /// dropped.
    NestedFragment,
}

impl core::fmt::Display for DiscardReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Illegal => "illegal fragment (k = 0, n = 0, k > n or empty piece)",
            Self::ForOtherInstance => "fragment for another instance",
            Self::BadSenderInstance => "fragment with an invalid sender instance tag",
            Self::OutOfSequence => "fragment out of sequence",
            Self::TooLarge => "reassembled message too large",
            Self::NestedFragment => "reassembled message is itself a fragment",
        })
    }
}

/// One sender's partial message: (K, N) and F of the spec.
#[derive(Debug, Clone)]
struct Partial {
    /// The sender instance tag (v3), or `None` for v2 fragments.
    sender: Option<InstanceTag>,
    /// K: the number of the last fragment stored (>= 1).
    k: u16,
    /// N: the fragment count of the message being assembled (>= K).
    n: u16,
    /// F: the pieces so far (at most [`MAX_MESSAGE_BYTES`] bytes).
    text: String,
    /// When this entry was last updated, for eviction (a per-reassembler counter).
    touched: u64,
}

/// Reassembles received fragments into whole messages, one per conversation.
///
/// Keeps one partial message per sender: per sender instance tag for v3 fragments (two
/// instances of one peer may interleave their fragments) and one for v2 fragments, at most
/// [`MAX_INSTANCES`] of them (the least recently updated is dropped when a new sender needs
/// room) and each at most [`MAX_MESSAGE_BYTES`] long. The rules are the spec's; see the
/// [module documentation](self) for the table.
#[derive(Debug, Clone, Default)]
pub struct Reassembler {
    partials: Vec<Partial>,
    clock: u64,
}

impl Reassembler {
    /// An empty reassembler (no stored fragments).
    pub fn new() -> Self {
        Self::default()
    }

    /// Handles one received fragment (as parsed by [`crate::wire::text::classify`]);
    /// `our_instance` is our instance tag, checked against a v3 fragment's receiver tag.
    ///
    /// A [`FragmentOutcome::Complete`] message must be classified and handled by the caller
    /// like a message received whole, and must not be passed back to the reassembler (a
    /// completed message that is itself a fragment is discarded here instead).
    pub fn accept(&mut self, fragment: Fragment, our_instance: InstanceTag) -> FragmentOutcome {
        let Fragment {
            instances,
            index: k,
            total: n,
            piece,
        } = fragment;
        if k == 0 || n == 0 || k > n || piece.is_empty() || piece.contains(',') {
            return FragmentOutcome::Discarded(DiscardReason::Illegal);
        }
        let sender = match instances {
            Some((sender, receiver)) => {
                if receiver != InstanceTag::UNKNOWN && receiver != our_instance {
                    return FragmentOutcome::Discarded(DiscardReason::ForOtherInstance);
                }
                if !sender.is_valid() {
                    return FragmentOutcome::Discarded(DiscardReason::BadSenderInstance);
                }
                Some(sender)
            }
            None => None,
        };
        self.clock = self.clock.saturating_add(1);
        let slot = self.partials.iter().position(|p| p.sender == sender);

        if k == 1 {
            if piece.len() > MAX_MESSAGE_BYTES {
                self.forget(slot);
                return FragmentOutcome::Discarded(DiscardReason::TooLarge);
            }
            let fresh = Partial {
                sender,
                k,
                n,
                text: piece,
                touched: self.clock,
            };
            let at = match slot {
                Some(at) => {
                    if let Some(p) = self.partials.get_mut(at) {
                        *p = fresh;
                    }
                    at
                }
                None => self.insert(fresh),
            };
            return self.finish_if_complete(at);
        }

        let Some(at) = slot else {
            // Nothing stored (K = N = 0): k >= 2 is never K + 1 for a message we hold.
            return FragmentOutcome::Discarded(DiscardReason::OutOfSequence);
        };
        let Some(p) = self.partials.get_mut(at) else {
            return FragmentOutcome::Discarded(DiscardReason::OutOfSequence);
        };
        if n != p.n || Some(k) != p.k.checked_add(1) {
            self.forget(Some(at));
            return FragmentOutcome::Discarded(DiscardReason::OutOfSequence);
        }
        let fits = p
            .text
            .len()
            .checked_add(piece.len())
            .is_some_and(|len| len <= MAX_MESSAGE_BYTES);
        if !fits {
            self.forget(Some(at));
            return FragmentOutcome::Discarded(DiscardReason::TooLarge);
        }
        p.text.push_str(&piece);
        p.k = k;
        p.touched = self.clock;
        self.finish_if_complete(at)
    }

    /// Forgets every stored partial message. Call it when a message that is not a fragment
    /// arrives in the conversation (the spec: "If you receive a non-OTR message, or an
    /// unfragmented message, forget any stored fragment").
    pub fn clear(&mut self) {
        self.partials.clear();
    }

    /// The total length in bytes of the partial messages stored (never more than
    /// [`MAX_INSTANCES`] × [`MAX_MESSAGE_BYTES`]).
    pub fn pending_bytes(&self) -> usize {
        self.partials.iter().map(|p| p.text.len()).sum()
    }

    /// The number of senders with a partial message stored (at most [`MAX_INSTANCES`]).
    pub fn pending_messages(&self) -> usize {
        self.partials.len()
    }

    /// Stores a new partial message, dropping the least recently updated one if all
    /// [`MAX_INSTANCES`] places are taken; returns its position.
    fn insert(&mut self, partial: Partial) -> usize {
        if self.partials.len() >= MAX_INSTANCES {
            let oldest = self
                .partials
                .iter()
                .enumerate()
                .min_by_key(|(_, p)| p.touched)
                .map(|(i, _)| i);
            if let Some(i) = oldest {
                self.partials.swap_remove(i);
            }
        }
        self.partials.push(partial);
        self.partials.len().saturating_sub(1)
    }

    /// Drops the partial message at `at`, if any.
    fn forget(&mut self, at: Option<usize>) {
        if let Some(i) = at.filter(|&i| i < self.partials.len()) {
            self.partials.swap_remove(i);
        }
    }

    /// After a fragment was stored at `at`: if K = N, removes and returns the message.
    fn finish_if_complete(&mut self, at: usize) -> FragmentOutcome {
        let complete = self.partials.get(at).is_some_and(|p| p.k == p.n);
        if !complete || at >= self.partials.len() {
            return FragmentOutcome::Incomplete;
        }
        let p = self.partials.swap_remove(at);
        if p.text.contains("?OTR|") || p.text.contains("?OTR,") {
            return FragmentOutcome::Discarded(DiscardReason::NestedFragment);
        }
        FragmentOutcome::Complete(p.text)
    }
}
