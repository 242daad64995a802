//! What the engine asks its caller to do or show: [`Event`]s, with the [`Notice`]s a user
//! should know about, as data.

use crate::ake::AkeError;
use crate::crypto::Fingerprint;
use crate::fragment::FragmentError;
use crate::keys::{DataError, SymmetricKey};
use crate::wire::encoded::InstanceTag;
use crate::wire::InvalidMessage;

/// The private session an event came from: which instance of the peer (a peer logged in
/// more than once has several) and the long-term key that authenticated it. A client
/// compares the fingerprint with the one the user verified for the peer: an instance with
/// another key (an impostor, or the peer on a new device) must never pass for the verified
/// one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The peer's instance tag (0 in protocol version 2, which has none).
    pub instance: InstanceTag,
    /// The fingerprint of the key that authenticated the session.
    pub fingerprint: Fingerprint,
    /// Whether the user has verified that fingerprint for this peer.
    pub trusted: bool,
}

/// The message state of a conversation as the user sees it (msgstate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConversationState {
    /// Messages go out unencrypted.
    Plaintext,
    /// A private session is up: messages go out encrypted.
    Encrypted,
    /// The peer ended the private session; nothing is sent until the user decides.
    Finished,
}

/// How a run of the socialist millionaires' protocol (SMP) went, or that one began.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SmpResult {
    /// The peer started SMP without a question: ask the user for the shared secret.
    Request,
    /// The peer started SMP with a question: show it and ask the user for the answer.
    Question,
    /// The secrets matched: the peer is who the user thinks.
    Success,
    /// The secrets differed.
    Failure,
    /// Aborted: by either user, or because the peer cheated or broke the protocol.
    Aborted,
}

/// One output of the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Send `data` to `peer` over the network, as one network message.
    Wire {
        /// The peer.
        peer: String,
        /// The text to transmit.
        data: String,
    },
    /// Show `text` from `peer` to the user.
    Message {
        /// The peer.
        peer: String,
        /// What they wrote.
        text: String,
        /// True only for text that arrived in a verified data message.
        encrypted: bool,
        /// The private session it came from (`None` for text that arrived unencrypted).
        origin: Option<Origin>,
    },
    /// The conversation's state, the peer's fingerprint or its trust changed, a key
    /// exchange completed, or what the user types now goes to another instance of the peer.
    /// It always describes the instance that receives what the user types, and comes
    /// before anything typed is sent to a new one.
    State {
        /// The peer.
        peer: String,
        /// The instance of the peer that receives what the user types (0: none yet, or
        /// protocol version 2).
        instance: InstanceTag,
        /// The message state.
        state: ConversationState,
        /// The peer's fingerprint, when a session key exists.
        fingerprint: Option<Fingerprint>,
        /// Whether the user has verified that fingerprint.
        trusted: bool,
    },
    /// The socialist millionaires' protocol progressed.
    Smp {
        /// The peer.
        peer: String,
        /// What happened.
        result: SmpResult,
        /// The peer's question, with [`SmpResult::Question`].
        question: Option<String>,
        /// The private session the run belongs to (`None` only for a local abort without
        /// a session).
        origin: Option<Origin>,
    },
    /// The peer sent a TLV 8: it will use the extra symmetric key of the message for
    /// `usage` (application-defined), with `usedata`. `key` is the same key the peer holds.
    ExtraSymmetricKey {
        /// The peer.
        peer: String,
        /// What the key is for (the TLV's first four bytes, big-endian).
        usage: u32,
        /// Use-specific data (the rest of the TLV).
        usedata: Vec<u8>,
        /// The key.
        key: SymmetricKey,
        /// The private session the TLV came from.
        origin: Origin,
    },
    /// Something the user should know about the conversation with `peer`.
    Notice {
        /// The peer concerned.
        peer: String,
        /// What happened.
        notice: Notice,
    },
}

/// Something the user should know about a conversation, as data: the front end words it.
/// Each variant says what happened and carries what the engine knows about it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notice {
    /// What the user typed was held, not sent: it goes out encrypted once a private session
    /// is up, or is reported [`NotSent::NoSession`].
    Held(HoldReason),
    /// `count` held texts just went out encrypted, in the order they were typed (after the
    /// `State` event of the session that took them).
    HeldSent {
        /// How many.
        count: usize,
    },
    /// Something the user typed, or one of our protocol messages, was not sent.
    NotSent(NotSent),
    /// The peer reported an error while private and a new session came up: our last
    /// message, `text`, went out again in it (with libotr's `[resent] ` prefix).
    Resent {
        /// The message as the user typed it.
        text: String,
    },
    /// A data message from the peer could not be read. The peer is told with an OTR error
    /// message (rate-limited), except for [`DataError::Replay`], which is only ignored.
    Unreadable(DataError),
    /// An OTR message that does not parse arrived, or a reassembled message was itself a
    /// fragment ([`InvalidMessage::NestedFragment`]).
    Malformed(InvalidMessage),
    /// A verified data message whose contents (text, NUL, TLVs) do not parse.
    MalformedContents(InvalidMessage),
    /// The key exchange failed: no session was made.
    AuthFailed(AkeError),
    /// The peer sent an OTR error message (`?OTR Error:`).
    PeerError {
        /// The peer's text.
        text: String,
        /// While private: what we sent in the last minute, which the peer may not have read.
        unread: Vec<String>,
    },
    /// The `Message` event just before this one arrived unencrypted while a private session
    /// exists or the policy requires encryption.
    Unencrypted,
    /// An OTR query arrived in a channel (the `Message` event just before this one) and
    /// started nothing: private conversations start in private (irssi-otr #12).
    QueryInChannel,
    /// An OTR message arrived in a channel, where OTR is not used: it was ignored.
    OtrInChannel,
    /// The engine already holds [`crate::engine::MAX_PEERS`] conversations, all in use:
    /// this call was ignored.
    TooManyPeers,
}

/// Why what the user typed was held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HoldReason {
    /// The policy requires encryption and there is no private session: a query went out.
    EncryptionRequired,
    /// A key exchange with the peer is running
    /// ([`crate::EngineConfig::hold_during_key_exchange`]).
    KeyExchange,
}

/// What was not sent, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotSent {
    /// The peer ended the private session: nothing the user types is sent until the user
    /// ends it too or starts a new one.
    PeerFinished,
    /// Held text given up: no private session came up for it in time (or the user ended
    /// the attempt).
    NoSession {
        /// The text.
        text: String,
    },
    /// Our last message was not sent again: the new session is with another key or another
    /// instance than the one it was written for (irssi-otr #23).
    OtherSession {
        /// The text.
        text: String,
    },
    /// The session cannot encrypt any more (its counters or key ids are exhausted).
    Unencryptable {
        /// The text the user typed; `None` for a protocol message (SMP).
        text: Option<String>,
    },
    /// An OTR message could not be split to the peer's maximum message size.
    Unfragmentable(FragmentError),
}
