//! The words a [`crate::Client`] speaks: what the transport reports ([`NetEvent`]), what the
//! user does ([`Action`]), what the client asks the transport to do ([`NetCommand`]) and what
//! it tells the front end ([`Update`]). IRC maps onto them today; XMPP will (a MUC is a
//! channel, a full JID a nick).

use std::time::Duration;

use group::{GroupError, Output};
use otr::{EngineError, Notice, Origin, Policy, SmpResult, Status};

/// What the transport reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetEvent {
    /// The server accepted us under `nick`.
    Connected {
        /// Our nick (the server may have given us another than we asked for).
        nick: String,
    },
    /// The connection dropped; the transport retries in `retry_in` (if it does).
    Disconnected {
        /// Why, in the transport's words.
        reason: String,
        /// When the transport tries again.
        retry_in: Option<Duration>,
    },
    /// A private message to us. OTR happens here.
    Private {
        /// The sender.
        from: String,
        /// The text.
        text: String,
    },
    /// A notice to us, or a message from the server: shown, never OTR.
    Notice {
        /// The sender (empty or a server name for the server).
        from: String,
        /// The text.
        text: String,
    },
    /// A message in a channel (or multi-user chat): public, never OTR, except the room lines
    /// a host delivers there, tagged with their recipient.
    Public {
        /// The channel.
        channel: String,
        /// The sender.
        from: String,
        /// The text.
        text: String,
    },
    /// `nick` joined `channel` (we did, when it is our nick).
    Joined {
        /// The channel.
        channel: String,
        /// Who.
        nick: String,
    },
    /// `nick` left `channel`.
    Parted {
        /// The channel.
        channel: String,
        /// Who.
        nick: String,
        /// Their reason.
        reason: String,
    },
    /// `nick` left the network.
    Quit {
        /// Who.
        nick: String,
        /// Their reason.
        reason: String,
    },
    /// `old` is now known as `new` (we are, when `old` is our nick).
    NickChanged {
        /// The old nick.
        old: String,
        /// The new nick.
        new: String,
    },
    /// The server says `nick` is not on the network, though no quit came.
    Absent {
        /// Who.
        nick: String,
        /// How we know.
        why: Absence,
    },
    /// A line we gave the transport was lost with the connection.
    Undelivered {
        /// Its target.
        target: String,
        /// Its text.
        text: String,
        /// Whether it had been written to the socket (it may have arrived).
        written: bool,
    },
    /// Anything else the transport wants shown (server replies, channel member lists).
    Info(String),
}

/// How the network told us a nick is gone without a quit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Absence {
    /// A line to it came back: no such nick.
    NoSuchNick,
    /// A presence check ([`NetCommand::CheckPresence`]) says it is not online.
    NotOnline,
}

/// What the user does.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Send `text` to a conversation.
    Say {
        /// Where.
        to: Conversation,
        /// What.
        text: String,
    },
    /// Start (or refresh) a private conversation with a peer.
    Start(String),
    /// End the private conversation with a peer.
    Finish(String),
    /// Mark the peer's current fingerprint verified (`true`) or not.
    Trust {
        /// The peer.
        peer: String,
        /// Verified or not.
        trusted: bool,
    },
    /// Verify the peer with a secret both know (SMP), optionally asking a question.
    Authenticate {
        /// The peer.
        peer: String,
        /// The question shown to the peer.
        question: Option<String>,
        /// The secret (zeroized by the client once used).
        secret: String,
    },
    /// Answer the peer's authentication request with the secret.
    Answer {
        /// The peer.
        peer: String,
        /// The secret (zeroized by the client once used).
        secret: String,
    },
    /// Abort a running authentication.
    AbortAuthentication(String),
    /// Use another OTR policy from now on.
    SetPolicy(Policy),
    /// Something in the room.
    Room(RoomAction),
    /// End every private conversation and leave the network.
    Quit(String),
}

/// What the user does in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RoomAction {
    /// Open a room we host: lines travel by private messages, or in `channel` (which we
    /// must have joined), tagged with their recipient.
    Host {
        /// The channel that carries the room, if any.
        channel: Option<String>,
    },
    /// Invite a peer running offrecord.
    Invite(String),
    /// Invite a peer running a stock OTR client (it reads the room as private messages).
    InviteThin(String),
    /// Remove a member (host only).
    Kick(String),
    /// Accept the invitation we have.
    Accept,
    /// Leave the room (or decline the invitation).
    Leave,
}

/// A place text goes to or comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Conversation {
    /// The server itself (notices before registration, server replies).
    Server,
    /// A channel: public.
    Channel(String),
    /// A private conversation with a nick: OTR.
    Private(String),
    /// The room we are in.
    Room,
}

/// What the transport must do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetCommand {
    /// Send `text` privately to `to` (one line; the client split or fragmented it).
    Private {
        /// The nick.
        to: String,
        /// The line.
        text: String,
    },
    /// Send `text` to a channel.
    Public {
        /// The channel.
        channel: String,
        /// The line.
        text: String,
    },
    /// Join a channel.
    Join(String),
    /// Ask whether these nicks are online (IRC: `ISON`); the answer comes back as
    /// [`NetEvent::Absent`] for each that is not.
    CheckPresence(Vec<String>),
    /// Leave the network.
    Quit(String),
}

/// What became of a line the user typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Delivery {
    /// Sent encrypted in a private conversation.
    Private,
    /// Sent in the clear to a peer (no private conversation).
    Plain,
    /// Sent to a channel (public).
    Channel,
    /// Held until the private conversation starts.
    Held,
    /// Not sent (a notice says why).
    NotSent,
    /// Given to the room; it shows (as [`group::Auth::Own`]) when the host relays it.
    Room,
}

/// How a private conversation changed (from what the client last told the front end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PrivateChange {
    /// A key exchange began; text typed meanwhile is held.
    Starting,
    /// The conversation became private.
    Started,
    /// A private conversation got new keys, or the peer's key changed.
    Refreshed,
    /// The peer's fingerprint is now verified.
    Verified,
    /// The peer's fingerprint is no longer verified.
    Unverified,
    /// The peer ended the private conversation: nothing is sent until the user decides.
    PeerFinished,
    /// Back to plaintext.
    Ended,
    /// The key exchange was given up (no answer).
    GaveUp,
    /// Something else (the instance receiving typed text changed, ...).
    Other,
}

/// How a shown text is authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TextAuth {
    /// It arrived in the clear.
    Plain,
    /// It arrived in a verified OTR data message of the session `origin`; `other_key` is
    /// true when that key is not the one the conversation shows (an impostor instance, or
    /// the peer on another device).
    Private {
        /// The session it came from.
        origin: Origin,
        /// Whether it came from another key than the conversation's.
        other_key: bool,
    },
}

/// Why an action was refused (nothing happened).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The engine refused (no session, no request, OTR disabled).
    Engine(EngineError),
    /// The room refused.
    Group(GroupError),
    /// Text for a room we are not in.
    NotInRoom,
    /// Hosting in a channel we have not joined.
    NotInChannel(String),
    /// Room commands work under the nick the client started with.
    RoomNick {
        /// The nick rooms know us by.
        room_nick: String,
    },
    /// Nothing to send from the server conversation.
    ServerConversation,
}

/// What the front end must show or know.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Update {
    /// A transport event, after the client took what it needs from it.
    Net(NetEvent),
    /// Text arrived.
    Text {
        /// Where it belongs.
        conversation: Conversation,
        /// Who wrote it.
        from: String,
        /// What.
        text: String,
        /// How it is authenticated.
        auth: TextAuth,
    },
    /// What became of a line the user typed.
    Own {
        /// Where it was typed.
        conversation: Conversation,
        /// The text.
        text: String,
        /// Its fate.
        delivery: Delivery,
    },
    /// A private conversation changed.
    Private {
        /// The peer.
        peer: String,
        /// Its status now.
        status: Status,
        /// What changed.
        change: PrivateChange,
        /// Whether the room we are in rides on this session (a front end may keep it out of
        /// sight: it was not opened for talking).
        room_session: bool,
    },
    /// Something about a private conversation the user must know.
    Notice {
        /// The peer.
        peer: String,
        /// Where it belongs (the peer's conversation, or the channel it came from).
        conversation: Conversation,
        /// What.
        notice: Notice,
    },
    /// Authentication (SMP) progressed.
    Authentication {
        /// The peer.
        peer: String,
        /// What happened.
        result: SmpResult,
        /// The peer's question, with [`SmpResult::Question`].
        question: Option<String>,
        /// On success: we answered the peer's question (the peer verified us, not we it).
        we_answered: bool,
    },
    /// The peer derived an extra symmetric key (which this client does not use).
    ExtraSymmetricKey {
        /// The peer.
        peer: String,
        /// What the peer uses it for.
        usage: u32,
    },
    /// The room: a line, an alert, the roster, an invitation, joined, new host, left, its
    /// security level ([`group::Output`] without transmissions and OTR events).
    Room(Output),
    /// The room's host left the network: the room moves to the next host.
    HostGone {
        /// The host.
        nick: String,
        /// How we know.
        why: Absence,
    },
    /// The private conversation with `old` is now with `new` (same person, new nick).
    Renamed {
        /// The old nick.
        old: String,
        /// The new nick.
        new: String,
    },
    /// The known fingerprints changed: save them.
    TrustChanged,
    /// An action was refused.
    Refused(Refusal),
}
