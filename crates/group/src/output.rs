//! What a [`crate::Node`] asks its caller to do or show.

use otr::crypto::Fingerprint;

use crate::chatinfo::ChatInfo;
use crate::envelope::{RoomId, Roster};

/// Where a line goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// A private message to this nick.
    Private(String),
    /// A message to this channel (everyone in it sees it).
    Channel(String),
}

/// How the sender of a shown message is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Auth {
    /// We wrote it (the host's echo matched what we sent).
    Own,
    /// The sender is the other end of our own OTR session (the host, as seen by a member;
    /// any member, as seen by the host).
    Session,
    /// The sender's MAC under the key only the sender and we share verified.
    Pairwise,
    /// Only the host vouches for the sender: a thin member, or no pairwise key yet.
    HostAttested,
    /// Authentication failed; an [`Alert`] says why. Do not trust this line.
    Failed,
}

/// A line of the room's conversation, in transcript order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMessage {
    /// The room.
    pub room: RoomId,
    /// The host generation.
    pub epoch: u64,
    /// The transcript number.
    pub gseq: u64,
    /// Who wrote it, as attributed.
    pub sender: String,
    /// The text.
    pub text: String,
    /// How the sender is known.
    pub auth: Auth,
}

/// Why a MAC check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ForgeReason {
    /// The MAC is wrong: the text, counter or sender was altered.
    BadMac,
    /// No MAC, though the sender MACs every message to us from its counter on.
    MissingMac,
    /// A message in our name that we did not write (or with other text than ours).
    NotOurs,
}

/// Which side of a transcript difference is the odd one out. Each member compares its
/// transcript with two others' (its ring predecessors), so one member's word alone never
/// decides: a member that lies about its transcript cannot make the others blame the host
/// for what they did not see.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Divergence {
    /// Only this member could be compared in time: the host showed one of us a different
    /// conversation, or the member misreports its transcript.
    Unresolved,
    /// `witnesses`' transcripts match ours: the host showed the member a different
    /// conversation, or the member misreports its transcript; ours is the common one.
    Peer {
        /// Members whose transcripts match ours at or past the difference.
        witnesses: Vec<String>,
    },
    /// `others` differ from us as well: the host showed us a different conversation.
    Us {
        /// The other members whose transcripts differ from ours.
        others: Vec<String>,
    },
    /// The member is the new host and started its generation from another point than
    /// the one everyone computes.
    NewHost,
}

/// Something the user must see: the host (or someone) broke the room's guarantees.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Alert {
    /// A message attributed to `sender` failed end-to-end authentication.
    Forged {
        /// The room.
        room: RoomId,
        /// The transcript number.
        gseq: u64,
        /// The sender the host named.
        sender: String,
        /// What failed.
        reason: ForgeReason,
    },
    /// The host attributed `actual`'s message to `claimed`.
    Misattributed {
        /// The room.
        room: RoomId,
        /// The transcript number.
        gseq: u64,
        /// Who the host said wrote it.
        claimed: String,
        /// Whose MAC verifies it.
        actual: String,
    },
    /// A message of `sender` arrived again.
    Replayed {
        /// The room.
        room: RoomId,
        /// The transcript number of the copy.
        gseq: u64,
        /// The sender.
        sender: String,
        /// Its counter.
        sseq: u64,
    },
    /// `sender`'s messages arrived out of their order (`got` instead of `expected`), or
    /// a message was placed before lines its sender had already seen.
    Reordered {
        /// The room.
        room: RoomId,
        /// The transcript number.
        gseq: u64,
        /// The sender.
        sender: String,
        /// The counter that should have come next.
        expected: u64,
        /// The counter that came.
        got: u64,
    },
    /// Transcript items `from..=to` never reached us, though others got them or later
    /// items exist.
    Dropped {
        /// The room.
        room: RoomId,
        /// The host generation.
        epoch: u64,
        /// First missing number.
        from: u64,
        /// Last missing number.
        to: u64,
    },
    /// Our message `sseq` was never relayed back to us.
    NotRelayed {
        /// The room.
        room: RoomId,
        /// Our counter.
        sseq: u64,
        /// What we wrote.
        text: String,
    },
    /// Our transcript and `peer`'s differ at `gseq`: the host showed different members
    /// different conversations, or a member misreports its transcript; `verdict` says what
    /// the other members' digests tell apart.
    Diverged {
        /// The room.
        room: RoomId,
        /// The host generation.
        epoch: u64,
        /// The first compared number where they differ.
        gseq: u64,
        /// The member we compared with.
        peer: String,
        /// Who is the odd one out, as far as other members' digests show.
        verdict: Divergence,
    },
    /// Room content from, or attributed to, someone the host has not admitted.
    NotAdmitted {
        /// The room (when known).
        room: Option<RoomId>,
        /// The nick.
        nick: String,
    },
    /// `nick` sent a number outside what the protocol allows (a counter, transcript number
    /// or generation at the end of its range, or too far ahead): the message was ignored.
    OutOfRange {
        /// The room.
        room: RoomId,
        /// Who sent it.
        nick: String,
        /// Which field.
        field: &'static str,
        /// The value.
        value: u64,
    },
    /// `claimant` (the successor by our roster) welcomed us to the room's next
    /// generation, but `host` has not left as far as we can tell (it still relays, or
    /// nothing told us it is gone): we stay with `host`. If it is gone after all, we
    /// follow `claimant` as soon as we learn it.
    HandOffRefused {
        /// The room.
        room: RoomId,
        /// The generation `claimant` would host.
        epoch: u64,
        /// Who claims to host the room.
        claimant: String,
        /// The host we follow.
        host: String,
    },
    /// The OTR session with `nick` shows another key than the roster announces.
    FingerprintMismatch {
        /// The room.
        room: RoomId,
        /// The nick.
        nick: String,
        /// The roster's fingerprint.
        expected: Fingerprint,
        /// The session's fingerprint.
        actual: Fingerprint,
    },
}

impl core::fmt::Display for Alert {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Forged {
                gseq,
                sender,
                reason,
                ..
            } => match reason {
                ForgeReason::BadMac => write!(
                    f,
                    "message #{gseq} attributed to {sender} was altered or not written by {sender} (its MAC is wrong)"
                ),
                ForgeReason::MissingMac => write!(
                    f,
                    "message #{gseq} attributed to {sender} carries no MAC from {sender}: the host invented or stripped it"
                ),
                ForgeReason::NotOurs => write!(
                    f,
                    "message #{gseq} is shown in your name but is not what you wrote"
                ),
            },
            Self::Misattributed {
                gseq,
                claimed,
                actual,
                ..
            } => write!(
                f,
                "message #{gseq} was written by {actual} but the host attributes it to {claimed}"
            ),
            Self::Replayed {
                gseq, sender, sseq, ..
            } => write!(
                f,
                "message #{gseq} repeats {sender}'s message {sseq}: the host replayed it"
            ),
            Self::Reordered {
                gseq,
                sender,
                expected,
                got,
                ..
            } => write!(
                f,
                "message #{gseq}: {sender}'s message {got} came where {expected} was due: the host reordered or dropped {sender}'s messages"
            ),
            Self::Dropped {
                epoch, from, to, ..
            } => write!(
                f,
                "messages #{from} to #{to} (host generation {epoch}) never reached you: the host withheld them"
            ),
            Self::NotRelayed { sseq, text, .. } => write!(
                f,
                "your message {sseq} ({text:?}) was never relayed by the host"
            ),
            Self::Diverged {
                epoch,
                gseq,
                peer,
                verdict,
                ..
            } => match verdict {
                Divergence::Unresolved => write!(
                    f,
                    "your transcript and {peer}'s differ at message #{gseq} (host generation {epoch}): the host showed one of you a different conversation, or {peer} misreports theirs"
                ),
                Divergence::Peer { witnesses } => write!(
                    f,
                    "{peer}'s transcript differs from yours at message #{gseq} (host generation {epoch}), while {}'s matches yours: the host showed {peer} a different conversation, or {peer} misreports theirs",
                    witnesses.join(", ")
                ),
                Divergence::Us { others } => write!(
                    f,
                    "your transcript differs from {peer}'s and {}'s at message #{gseq} (host generation {epoch}): the host showed you a different conversation",
                    others.join(", ")
                ),
                Divergence::NewHost => write!(
                    f,
                    "{peer}, the new host, started host generation {epoch} from a wrong transcript point (#{gseq})"
                ),
            },
            Self::NotAdmitted { nick, .. } => write!(
                f,
                "{nick} is not admitted to the room by its host; their content was rejected"
            ),
            Self::HandOffRefused {
                epoch,
                claimant,
                host,
                ..
            } => write!(
                f,
                "{claimant} claims to host the room (generation {epoch}), but {host} has not left as far as you can tell: you stay with {host} (if {host} is gone, you follow {claimant} as soon as you learn it)"
            ),
            Self::OutOfRange {
                nick, field, value, ..
            } => write!(
                f,
                "{nick} sent {field} {value}, outside what the room allows: the message was ignored"
            ),
            Self::FingerprintMismatch {
                nick,
                expected,
                actual,
                ..
            } => write!(
                f,
                "{nick}'s key is {actual}, but the roster announces {expected}"
            ),
        }
    }
}

/// Why we are no longer in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LeftReason {
    /// We left.
    Left,
    /// The host removed us.
    Removed,
    /// We were hosting and closed the room for ourselves (the others hand off).
    Closed,
}

/// One output of a [`crate::Node`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Output {
    /// Transmit `line`.
    Send {
        /// Where.
        to: Target,
        /// The line.
        line: String,
    },
    /// Show a line of the room.
    Message(GroupMessage),
    /// Warn the user.
    Alert(Alert),
    /// The roster changed.
    Roster {
        /// The room.
        room: RoomId,
        /// The host generation.
        epoch: u64,
        /// The new roster.
        roster: Roster,
    },
    /// `host` invites us to `room` (answer with [`crate::Node::accept`]).
    Invited {
        /// The room.
        room: RoomId,
        /// Who invites.
        host: String,
        /// The channel the room travels in (tagged; join it before accepting), or `None`
        /// for private messages.
        channel: Option<String>,
    },
    /// We are in the room now.
    Joined {
        /// The room.
        room: RoomId,
        /// Its host.
        host: String,
    },
    /// The room has a new host (hand-off).
    HostChanged {
        /// The room.
        room: RoomId,
        /// The new host generation.
        epoch: u64,
        /// The new host.
        host: String,
    },
    /// We are out of the room.
    Left {
        /// The room.
        room: RoomId,
        /// Why.
        reason: LeftReason,
    },
    /// The room state to persist (the paper's `otr.chatinfo` line) changed.
    Info(ChatInfo),
    /// An OTR event that is not the group's (a private conversation): handle it as
    /// without the group layer.
    Otr(otr::Event),
}
