//! What the engine asks its caller to do or show.

use crate::crypto::Fingerprint;
use crate::keys::SymmetricKey;
use crate::wire::encoded::InstanceTag;

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

impl ConversationState {
    /// The engine protocol's name: `plaintext`, `encrypted` or `finished`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plaintext => "plaintext",
            Self::Encrypted => "encrypted",
            Self::Finished => "finished",
        }
    }
}

/// A stable, machine-readable code for something the user must know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// Not sent: policy requires encryption and no private session exists yet (held).
    EncryptionRequired,
    /// A held message was finally not sent.
    NotSent,
    /// A data message could not be decrypted.
    Unreadable,
    /// A broken OTR message arrived.
    Malformed,
    /// Plaintext arrived while a private session exists (or encryption is required).
    Unencrypted,
    /// The peer ended the private session; our message was not sent.
    Finished,
    /// The peer sent an OTR error message.
    PeerError,
    /// The last message was sent again after a new key exchange.
    Resent,
    /// The key exchange failed (bad signature, MAC or D-H value).
    AuthFailed,
    /// Asked for something the engine does not do (yet).
    Unsupported,
    /// The action needs a private session with the peer, and there is none.
    NoSession,
    /// `smp_respond` without a pending SMP request from the peer.
    NoSmpRequest,
}

impl ErrorCode {
    /// The engine protocol's code string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EncryptionRequired => "encryption_required",
            Self::NotSent => "not_sent",
            Self::Unreadable => "unreadable",
            Self::Malformed => "malformed",
            Self::Unencrypted => "unencrypted",
            Self::Finished => "finished",
            Self::PeerError => "peer_error",
            Self::Resent => "resent",
            Self::AuthFailed => "auth_failed",
            Self::Unsupported => "unsupported",
            Self::NoSession => "no_session",
            Self::NoSmpRequest => "no_smp_request",
        }
    }
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

impl SmpResult {
    /// The engine protocol's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Question => "question",
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Aborted => "aborted",
        }
    }
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
    /// Something the user must know.
    Error {
        /// The peer concerned.
        peer: String,
        /// A stable code.
        code: ErrorCode,
        /// A sentence for a person.
        message: String,
    },
}
