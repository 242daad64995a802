//! The caps on what others can make a node hold or send: every buffer, queue and per-peer
//! table that grows because of someone else's messages has a cap in count and in bytes,
//! per peer and in total, and a time after which its content goes. The table is repeated
//! in `docs/group-protocol.md`; each cap is enforced where the resource lives.
//!
//! Bytes are counted as text: bodies, nicks, MACs, roster entries, envelope lines (what
//! [`crate::Usage`] reports), not allocator overhead; resend budgets count the lines as
//! they leave.
//!
//! | resource (who fills it) | per peer | in total | time |
//! |---|---|---|---|
//! | resend answers, host (a member's `rs`, or a `say` repeated for its echo) | [`RESEND_BURST_BYTES`], refilled at [`RESEND_RATE_BYTES`]/s; at most [`RESEND_MAX_ITEMS`] items per request | [`RESEND_TOTAL_BURST_BYTES`], refilled at [`RESEND_TOTAL_RATE_BYTES`]/s | the rates |
//! | held `say`s, host (a member writing ahead of a lost line) | [`HELD_ITEMS_PER_SENDER`], [`HELD_BYTES_PER_SENDER`] | [`HELD_BYTES_TOTAL`] | `deadline_secs` |
//! | history, host (every relayed item) | — (all senders share it) | `Config::history` items, [`HISTORY_BYTES`] | oldest first |
//! | future items, member (the host numbering ahead of a gap) | the host is the only peer: as in total | [`BUFFER_ITEMS`], [`BUFFER_BYTES`]; none more than [`MAX_AHEAD`] ahead | `deadline_secs` (the gap is declared dropped) |
//! | outbox, both (lines for a peer whose session is not up) | [`OUTBOX_LINES_PER_PEER`], [`OUTBOX_BYTES_PER_PEER`] | [`OUTBOX_BYTES_TOTAL`] | [`OUTBOX_SECS`] |
//! | key offers before the roster, member (strangers' TLV 8) | one (the latest) | [`MAX_EARLY_OFFERS`] | until the room ends |
//! | peers' state (`links`), both | one per roster member, invitee, host and early offer | [`crate::envelope::MAX_MEMBERS`] + invitees + [`MAX_EARLY_OFFERS`]; others' are dropped at each roster change | the roster |
//! | senders' counters, digests' claims, agreements, differences waiting for a second opinion, member | one per roster member (256 recent counters each) | [`crate::envelope::MAX_MEMBERS`]; others' dropped at each roster change | the roster; a difference waits `checkpoint_secs` |
//! | reported differences, member | one per peer and generation | this and the previous generation | two generations |
//! | peers that reached us through the channel, both | one per nick | [`MAX_CHANNEL_PEERS`] | until full; then lines go private |
//! | key-mismatch alerts remembered, both | one per nick and key | 64 | forgotten when full |
//! | recent counters per sender, MAC-less lines per peer, pairwise keys per peer | 256, 256, 8 | per roster member | oldest first |
//! | a hand-off claim, member | one | one | kept until the evidence, or refused |

/// How far ahead of its transcript a member takes items (relays, and digests naming a
/// number): a host that numbers an item further ahead is refused ([`crate::Alert::OutOfRange`]),
/// so no number near the end of its range is ever reached and a member never skips ahead
/// on a host's word. The host keeps `Config::history` items (1,024 by default) for
/// resends, so a member further behind could not catch up anyway.
pub const MAX_AHEAD: u64 = 1024;

/// A member's resend budget at the host: what one request can get at once (the bytes of
/// the lines sent again as they leave, OTR-encrypted: relays asked for with `rs`, and
/// echoes sent again for repeated `say`s).
pub const RESEND_BURST_BYTES: usize = 64 * 1024;
/// ... refilled at this many bytes per second. A member that lost a few lines asks every
/// `retry_secs` (2 s) and gets them within one request; a member flooding requests gets
/// at most this much traffic per second.
pub const RESEND_RATE_BYTES: usize = 32 * 1024;
/// The most items one resend request is answered with.
pub const RESEND_MAX_ITEMS: u64 = 256;
/// All members' resends together: what the host sends again at once ...
pub const RESEND_TOTAL_BURST_BYTES: usize = 512 * 1024;
/// ... and per second.
pub const RESEND_TOTAL_RATE_BYTES: usize = 256 * 1024;

/// `say`s the host holds per sender while the sender's previous one is missing (a lost
/// line the sender will send again within `retry_secs`).
pub const HELD_ITEMS_PER_SENDER: usize = 64;
/// ... and their bytes (body and MACs).
pub const HELD_BYTES_PER_SENDER: usize = 64 * 1024;
/// ... all senders together.
pub const HELD_BYTES_TOTAL: usize = 1024 * 1024;

/// Bytes of relayed items (with their MACs) the host keeps for resends, besides
/// `Config::history` items; the oldest go first.
pub const HISTORY_BYTES: usize = 4 * 1024 * 1024;

/// Items a member holds ahead of a gap in its transcript.
pub const BUFFER_ITEMS: usize = 1024;
/// ... and their bytes.
pub const BUFFER_BYTES: usize = 1024 * 1024;

/// Lines waiting for one peer's private session.
pub const OUTBOX_LINES_PER_PEER: usize = 256;
/// ... and their bytes.
pub const OUTBOX_BYTES_PER_PEER: usize = 256 * 1024;
/// ... all peers together.
pub const OUTBOX_BYTES_TOTAL: usize = 4 * 1024 * 1024;
/// A line waits this long for a session, then is dropped (what matters is asked for
/// again: members re-request relays, senders resend their lines).
pub const OUTBOX_SECS: f64 = 120.0;

/// Key offers (TLV 8) kept from peers our roster does not name yet, all peers together.
pub const MAX_EARLY_OFFERS: usize = 8;

/// Peers remembered as reaching us through the channel (whose replies go there too).
pub const MAX_CHANNEL_PEERS: usize = crate::envelope::MAX_MEMBERS;

/// A token bucket: `burst` bytes at most, refilled at `rate` bytes per second.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    tokens: f64,
    at: f64,
}

impl Bucket {
    /// A full bucket at time `now`.
    pub(crate) fn full(burst: usize, now: f64) -> Self {
        Self {
            tokens: burst as f64,
            at: now,
        }
    }

    /// The bytes available at `now`.
    pub(crate) fn available(&mut self, now: f64, burst: usize, rate: usize) -> usize {
        if now > self.at {
            self.tokens = (self.tokens + (now - self.at) * rate as f64).min(burst as f64);
            self.at = now;
        }
        // Never negative, at most `burst`: the cast cannot wrap.
        self.tokens.max(0.0) as usize
    }

    /// Spends `bytes` (after [`Bucket::available`] said they are there).
    pub(crate) fn spend(&mut self, bytes: usize) {
        self.tokens -= bytes as f64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_refill_up_to_their_burst() {
        let mut b = Bucket::full(100, 0.0);
        assert_eq!(b.available(0.0, 100, 10), 100);
        b.spend(100);
        assert_eq!(b.available(0.0, 100, 10), 0);
        assert_eq!(b.available(2.0, 100, 10), 20);
        assert_eq!(b.available(100.0, 100, 10), 100);
        // Time going back changes nothing.
        b.spend(50);
        assert_eq!(b.available(50.0, 100, 10), 50);
    }
}
