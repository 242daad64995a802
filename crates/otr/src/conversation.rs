//! One conversation with one peer: the message state machine (Protocol-v3.html, "The
//! protocol state machine") driving the AKE ([`crate::ake`]) and the data phase
//! ([`crate::keys`]).
//!
//! Transition table of [`MessageState`]:
//!
//! | state \ input | AKE completes       | TLV 1 received | user ends  | peer's data unreadable |
//! |---------------|---------------------|----------------|------------|------------------------|
//! | Plaintext     | -> Encrypted        | n/a            | stays      | error to both          |
//! | Encrypted     | -> Encrypted (new keys; the old keys keep decrypting in-flight messages) | -> Finished | -> Plaintext (sends TLV 1) | error to both |
//! | Finished      | -> Encrypted        | n/a            | -> Plaintext | error to both        |
//!
//! A new key exchange never opens a plaintext window: while it runs, an `Encrypted` state
//! keeps encrypting with the old keys, and it switches keys only when the exchange completes.

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::ake::{AkeContext, AkeStep, AkeSuccess, AuthState, AwaitingDhKey};
use crate::crypto::dsa::ValidatedKeys;
use crate::crypto::{DsaPrivateKey, DsaPublicKey, Fingerprint};
use crate::event::{ConversationState, ErrorCode, Event, SmpResult};
use crate::fragment::{fragment, FragmentOutcome, Reassembler};
use crate::keys::{Addressing, DataKeys, SymmetricKey};
use crate::policy::Policy;
use crate::smp::{smp_secret, Smp, SmpEvent};
use crate::trust::KnownFingerprints;
use crate::wire::codec::Codec;
use crate::wire::encoded::{
    DataFlags, EncodedMessage, InstanceTag, MessageBody, MessageType, ProtocolVersion,
};
use crate::wire::text::{self, IncomingText, Versions};
use crate::wire::tlv::{decode_plaintext, encode_plaintext, Tlv, TlvType};

/// The text of the error message we send when we cannot read a data message.
pub(crate) const UNREADABLE_ERROR_TEXT: &str = "You transmitted an unreadable encrypted message.";

/// libotr's HEARTBEAT_INTERVAL: after a data message arrives, if we have sent nothing for
/// this many seconds, we send an empty one (it rotates keys, so old MAC keys get revealed).
pub(crate) const HEARTBEAT_INTERVAL: f64 = 60.0;

/// libotr's RESEND_INTERVAL: a message is resent after a new key exchange only if it was
/// sent this recently; a held message not sent within it is reported as not sent.
pub(crate) const RESEND_INTERVAL: f64 = 60.0;

/// The prefix of a resent message, libotr's default.
pub(crate) const RESENT_PREFIX: &str = "[resent] ";

/// The message state (msgstate), each variant holding only what is valid in it.
#[derive(Default)]
pub(crate) enum MessageState {
    /// No private session.
    #[default]
    Plaintext,
    /// A private session.
    Encrypted(Box<PrivateSession>),
    /// The peer ended the private session.
    Finished,
}

/// An established private session.
pub(crate) struct PrivateSession {
    version: ProtocolVersion,
    their_instance: InstanceTag,
    #[allow(dead_code)]
    their_long_term: DsaPublicKey,
    fingerprint: Fingerprint,
    keys: DataKeys,
    /// The keys of the session this one replaced, kept to read messages already in flight
    /// until the first message under the new keys arrives.
    retired: Option<DataKeys>,
    /// The secure session id and whether we read its first half.
    ssid: ([u8; 8], bool),
    /// The socialist millionaires' protocol within this session.
    smp: Smp,
}

/// Everything a conversation needs from the engine for one step.
pub(crate) struct Context<'a> {
    pub peer: &'a str,
    pub identity: &'a DsaPrivateKey,
    pub rng: &'a mut dyn CryptoRngCore,
    pub policy: Policy,
    pub our_instance: InstanceTag,
    pub line_based: bool,
    pub known: &'a mut KnownFingerprints,
    /// Peer keys that passed validation lately (validated once, not at every exchange).
    pub validated_keys: &'a mut ValidatedKeys,
    pub out: &'a mut Vec<Event>,
    /// The time of the last `tick`, in seconds since the Unix epoch; `None` before the first.
    pub now: Option<f64>,
    /// The largest wire message the transport carries to this peer (0: no limit).
    pub max_message_size: usize,
}

impl Context<'_> {
    fn emit_error(&mut self, code: ErrorCode, message: impl Into<String>) {
        self.out.push(Event::Error {
            peer: self.peer.to_owned(),
            code,
            message: message.into(),
        });
    }
    /// Emits an OTR-encoded message, fragmented to the peer's maximum message size.
    fn emit_encoded(&mut self, data: String, version: ProtocolVersion, theirs: InstanceTag) {
        match fragment(
            &data,
            self.max_message_size,
            version,
            self.our_instance,
            theirs,
        ) {
            Ok(pieces) => {
                for piece in pieces {
                    self.emit_wire(piece);
                }
            }
            Err(e) => self.emit_error(
                ErrorCode::NotSent,
                format!("An OTR message could not be split to fit the network ({e})."),
            ),
        }
    }

    fn emit_wire(&mut self, data: String) {
        self.out.push(Event::Wire {
            peer: self.peer.to_owned(),
            data,
        });
    }
    fn emit_smp(&mut self, result: SmpResult, question: Option<String>) {
        self.out.push(Event::Smp {
            peer: self.peer.to_owned(),
            result,
            question,
        });
    }

    fn emit_message(&mut self, text: String, encrypted: bool) {
        self.out.push(Event::Message {
            peer: self.peer.to_owned(),
            text,
            encrypted,
        });
    }
}

/// The state kept for one peer.
#[derive(Default)]
pub(crate) struct Conversation {
    msg: MessageState,
    auth: AuthState,
    /// The peer's instance tag, once seen (version 3).
    their_instance: InstanceTag,
    /// False once a plaintext arrived from the peer since we entered Plaintext.
    stop_whitespace_tag: bool,
    /// What the user typed while encryption is required and no session is up yet.
    held: Vec<Held>,
    /// When we last sent a data message (or the session started), for heartbeats.
    last_sent: Option<f64>,
    /// The last text we sent encrypted, for a resend after the peer lost its session.
    last_message: Option<LastMessage>,
    /// What we sent encrypted in the last [`RESEND_INTERVAL`] seconds (at most
    /// [`MAX_RECENT`]): if the peer reports an error, these may not have been read, and the
    /// user is told which.
    recent: std::collections::VecDeque<(Zeroizing<String>, Option<f64>)>,
    /// Set when the peer reported an error while we were encrypted: once a new session is
    /// up, the last message is resent (libotr's may_retransmit).
    may_retransmit: bool,
    /// Limits our automatic `?OTR Error:` replies.
    error_replies: ReplyLimiter,
    /// Limits the query messages an incoming error makes us send.
    error_queries: ReplyLimiter,
    /// Fragments of messages in transit from the peer (bounded).
    reassembler: Reassembler,
    /// This peer's maximum message size, if it differs from the engine's default.
    pub(crate) max_message_size: Option<usize>,
    /// Sessions with the peer's other instances (the peer is logged in more than once),
    /// parked while another instance is current. `msg`, `auth` and `their_instance` above
    /// are the current instance's.
    others: Vec<Parked>,
    /// When the current instance was last active (a verified message, a completed key
    /// exchange), on the conversation's own counter `clock`.
    active: u64,
    clock: u64,
    /// Our D-H Commit of the last exchange we started for no instance in particular (an
    /// answer to a query or tag): every instance of the peer that answers it gets its own
    /// copy of the exchange, as with libotr's master context.
    master: Option<Master>,
}

/// Our commit to no instance in particular, and the instances that answered it: each may
/// answer it once.
struct Master {
    state: Box<AwaitingDhKey>,
    answered: Vec<InstanceTag>,
}

/// The most recently sent messages remembered for reporting after a peer error.
const MAX_RECENT: usize = 32;

/// The most instances of one peer we keep sessions with; the least recently active goes.
const MAX_OTHER_INSTANCES: usize = 8;

/// A session with an instance of the peer that is not the current one.
struct Parked {
    msg: MessageState,
    auth: AuthState,
    their_instance: InstanceTag,
    active: u64,
}

/// A message held until a private session is up.
struct Held {
    text: Zeroizing<String>,
    /// When the user typed it (`None` if before the first tick: stamped at the next tick).
    since: Option<f64>,
}

/// The last message sent encrypted, and to whom.
struct LastMessage {
    text: Zeroizing<String>,
    /// The fingerprint of the session it was written for: it is resent only to that key
    /// (irssi-otr #23 resent it to whoever answered a forged error).
    fingerprint: Fingerprint,
    sent_at: Option<f64>,
}

/// Limits automatic replies so two confused instances cannot ping-pong errors and queries
/// forever (coyim #301): [`ReplyLimiter::BURST`] in a row, then one per
/// [`ReplyLimiter::INTERVAL`] seconds once time is known; a verified data message or a
/// completed key exchange resets it.
#[derive(Default)]
struct ReplyLimiter {
    in_a_row: u32,
    last: Option<f64>,
}

impl ReplyLimiter {
    const BURST: u32 = 3;
    const INTERVAL: f64 = 30.0;

    fn allow(&mut self, now: Option<f64>) -> bool {
        let rested = match (now, self.last) {
            (Some(now), Some(last)) => now - last >= Self::INTERVAL,
            // Time became known after a burst: one reply, and the interval starts.
            (Some(_), None) => true,
            (None, _) => false,
        };
        if self.in_a_row < Self::BURST || rested {
            self.in_a_row = self.in_a_row.saturating_add(1);
            self.last = now;
            true
        } else {
            false
        }
    }

    fn reset(&mut self) {
        *self = Self::default();
    }
}

/// Remembers a message just sent encrypted, for [`Conversation::recent`].
fn remember(
    recent: &mut std::collections::VecDeque<(Zeroizing<String>, Option<f64>)>,
    text: &str,
    now: Option<f64>,
) {
    if recent.len() >= MAX_RECENT {
        recent.pop_front();
    }
    recent.push_back((Zeroizing::new(text.to_owned()), now));
}

/// True if `then` is within `window` seconds before `now` (or either time is unknown).
fn within(now: Option<f64>, then: Option<f64>, window: f64) -> bool {
    match (now, then) {
        (Some(now), Some(then)) => now - then <= window,
        _ => true,
    }
}

impl Conversation {
    /// The state as the user sees it.
    pub(crate) fn state(&self) -> ConversationState {
        match &self.msg {
            MessageState::Plaintext => ConversationState::Plaintext,
            MessageState::Encrypted(_) => ConversationState::Encrypted,
            MessageState::Finished => ConversationState::Finished,
        }
    }

    /// The peer's fingerprint in the current private session.
    pub(crate) fn fingerprint(&self) -> Option<Fingerprint> {
        match &self.msg {
            MessageState::Encrypted(p) => Some(p.fingerprint),
            MessageState::Plaintext | MessageState::Finished => None,
        }
    }

    /// The secure session id (as libotr shows it, two 32-bit halves) and whether we read
    /// the first half.
    pub(crate) fn ssid(&self) -> Option<([u8; 8], bool)> {
        match &self.msg {
            MessageState::Encrypted(p) => Some(p.ssid),
            MessageState::Plaintext | MessageState::Finished => None,
        }
    }

    /// Emits a `State` event describing the conversation now.
    pub(crate) fn emit_state(&self, ctx: &mut Context<'_>) {
        let fingerprint = self.fingerprint();
        let trusted = fingerprint.is_some_and(|fp| ctx.known.is_trusted(ctx.peer, &fp));
        ctx.out.push(Event::State {
            peer: ctx.peer.to_owned(),
            state: self.state(),
            fingerprint,
            trusted,
        });
    }

    fn versions(policy: Policy) -> Versions {
        Versions {
            v1: false,
            v2: policy.has(Policy::ALLOW_V2),
            v3: policy.has(Policy::ALLOW_V3),
        }
    }

    /// The user asked to start (or refresh) a private conversation: send a query message.
    pub(crate) fn start(&mut self, ctx: &mut Context<'_>) {
        if !ctx.policy.otr_enabled() {
            ctx.emit_error(
                ErrorCode::Unsupported,
                "OTR is disabled by the policy for this peer.",
            );
            return;
        }
        ctx.emit_wire(text::query_message(Self::versions(ctx.policy)));
    }

    /// The user typed `text` to the peer.
    pub(crate) fn send(&mut self, text: &str, ctx: &mut Context<'_>) {
        match &mut self.msg {
            MessageState::Encrypted(private) => {
                let plaintext = encode_plaintext(text.as_bytes(), &[]);
                let wire = seal(private, DataFlags::default(), &plaintext, ctx.our_instance);
                match wire {
                    Some(data) => {
                        ctx.emit_encoded(data, private.version, private.their_instance);
                        self.last_sent = ctx.now;
                        remember(&mut self.recent, text, ctx.now);
                        self.last_message = Some(LastMessage {
                            text: Zeroizing::new(text.to_owned()),
                            fingerprint: private.fingerprint,
                            sent_at: ctx.now,
                        });
                    }
                    None => ctx.emit_error(
                        ErrorCode::NotSent,
                        "The message could not be encrypted.",
                    ),
                }
            }
            MessageState::Finished => ctx.emit_error(
                ErrorCode::Finished,
                "Your message was not sent: the peer has ended the private conversation. End it too, or start a new one.",
            ),
            MessageState::Plaintext if ctx.policy.has(Policy::REQUIRE_ENCRYPTION) => {
                self.held.push(Held {
                    text: Zeroizing::new(text.to_owned()),
                    since: ctx.now,
                });
                ctx.emit_error(
                    ErrorCode::EncryptionRequired,
                    "Your message will be sent once the private conversation is set up.",
                );
                ctx.emit_wire(text::query_message(Self::versions(ctx.policy)));
            }
            MessageState::Plaintext => {
                let tag = if ctx.policy.has(Policy::SEND_WHITESPACE_TAG) && ctx.policy.otr_enabled() && !self.stop_whitespace_tag {
                    text::whitespace_tag(Self::versions(ctx.policy))
                } else {
                    String::new()
                };
                send_plain(text, &tag, ctx);
            }
        }
    }

    /// The user ended the private conversation.
    pub(crate) fn finish(&mut self, ctx: &mut Context<'_>) {
        // Every instance of the peer we are private with is told (libotr's
        // otrl_message_disconnect_all_instances).
        let others: Vec<InstanceTag> = self
            .others
            .iter()
            .filter(|p| !matches!(p.msg, MessageState::Plaintext))
            .map(|p| p.their_instance)
            .collect();
        self.finish_current(ctx);
        for tag in others {
            self.switch_to(tag);
            self.finish_current(ctx);
        }
        self.master = None;
    }

    fn finish_current(&mut self, ctx: &mut Context<'_>) {
        match core::mem::take(&mut self.msg) {
            MessageState::Encrypted(mut private) => {
                let plaintext = encode_plaintext(
                    b"",
                    &[Tlv {
                        kind: TlvType::DISCONNECTED,
                        value: Vec::new(),
                    }],
                );
                let flags = DataFlags(DataFlags::IGNORE_UNREADABLE);
                if let Some(data) = seal(&mut private, flags, &plaintext, ctx.our_instance) {
                    ctx.emit_encoded(data, private.version, private.their_instance);
                }
                self.enter_plaintext();
                self.emit_state(ctx);
            }
            MessageState::Finished => {
                self.enter_plaintext();
                self.emit_state(ctx);
            }
            MessageState::Plaintext => {}
        }
        self.auth.reset();
    }

    fn enter_plaintext(&mut self) {
        self.msg = MessageState::Plaintext;
        self.stop_whitespace_tag = false;
    }

    /// Something arrived from the peer.
    pub(crate) fn receive(&mut self, data: &str, ctx: &mut Context<'_>) {
        if !ctx.policy.otr_enabled() {
            ctx.emit_message(data.to_owned(), false);
            return;
        }
        self.receive_classified(text::classify(data), true, ctx);
        self.select_best();
    }

    /// Makes `tag` the current instance: parks the current session and brings back (or
    /// creates) the one with `tag`. An exchange we started for no instance in particular,
    /// not yet answered, is adopted by the first instance that answers.
    fn switch_to(&mut self, tag: InstanceTag) {
        if self.their_instance == tag {
            return;
        }
        let parked = self.others.iter().position(|p| p.their_instance == tag);
        let adoptable = parked.is_none()
            && self.their_instance == InstanceTag::UNKNOWN
            && matches!(self.msg, MessageState::Plaintext);
        if adoptable {
            self.their_instance = tag;
            return;
        }
        let incoming = match parked {
            Some(i) => self.others.swap_remove(i),
            None => Parked {
                msg: MessageState::Plaintext,
                auth: AuthState::None,
                their_instance: tag,
                active: 0,
            },
        };
        self.others.push(Parked {
            msg: core::mem::replace(&mut self.msg, incoming.msg),
            auth: core::mem::replace(&mut self.auth, incoming.auth),
            their_instance: core::mem::replace(&mut self.their_instance, incoming.their_instance),
            active: core::mem::replace(&mut self.active, incoming.active),
        });
        if self.others.len() > MAX_OTHER_INSTANCES {
            // Forget the least recently active instance, private sessions last.
            if let Some(i) = (0..self.others.len()).min_by_key(|&i| {
                let p = &self.others[i];
                (matches!(p.msg, MessageState::Encrypted(_)), p.active)
            }) {
                self.others.swap_remove(i);
            }
        }
    }

    /// Makes the most recently active private instance current, so that what the user
    /// types goes to the instance the peer is using (libotr's OTRL_INSTAG_BEST).
    fn select_best(&mut self) {
        let current_private = matches!(self.msg, MessageState::Encrypted(_));
        let best = self
            .others
            .iter()
            .filter(|p| matches!(p.msg, MessageState::Encrypted(_)))
            .max_by_key(|p| p.active)
            .map(|p| (p.active, p.their_instance));
        if let Some((active, tag)) = best {
            if !current_private || active > self.active {
                self.switch_to(tag);
            }
        }
    }

    /// Marks the current instance as just active.
    fn touch(&mut self) {
        self.clock += 1;
        self.active = self.clock;
    }

    /// Handles a classified incoming string. A message reassembled from fragments comes
    /// back here with `fragments_allowed` false: a fragment of a fragment is malformed.
    fn receive_classified(
        &mut self,
        classified: Result<IncomingText, crate::wire::InvalidMessage>,
        fragments_allowed: bool,
        ctx: &mut Context<'_>,
    ) {
        if fragments_allowed && !matches!(classified, Ok(IncomingText::Fragment(_))) {
            // Protocol-v3.html, "Receiving Fragments": an unfragmented message makes us
            // forget any stored fragment.
            self.reassembler.clear();
        }
        match classified {
            Err(e) => ctx.emit_error(
                ErrorCode::Malformed,
                format!("A malformed OTR message was received ({e:?})."),
            ),
            Ok(IncomingText::Fragment(piece)) => {
                if !fragments_allowed {
                    ctx.emit_error(
                        ErrorCode::Malformed,
                        "A reassembled OTR message was itself a fragment.",
                    );
                    return;
                }
                // Incomplete and discarded fragments are silent, as libotr's are.
                if let FragmentOutcome::Complete(whole) =
                    self.reassembler.accept(piece, ctx.our_instance)
                {
                    self.receive_classified(text::classify(&whole), false, ctx);
                }
            }
            Ok(IncomingText::Encoded(bytes)) => match EncodedMessage::decode(&bytes) {
                Ok(message) => self.receive_encoded(message, ctx),
                Err(e) => ctx.emit_error(
                    ErrorCode::Malformed,
                    format!("A malformed OTR message was received ({e:?})."),
                ),
            },
            Ok(IncomingText::Error(text)) => {
                let mut report = format!("OTR error from the peer: {text}");
                if matches!(self.msg, MessageState::Encrypted(_)) {
                    // The peer may have lost its session: say which recent messages it may
                    // not have read (those older than the resend window were read or
                    // reported already).
                    let unread: Vec<String> = core::mem::take(&mut self.recent)
                        .into_iter()
                        .filter(|(_, at)| within(ctx.now, *at, RESEND_INTERVAL))
                        .map(|(t, _)| format!("\u{ab}{}\u{bb}", t.as_str()))
                        .collect();
                    if !unread.is_empty() {
                        report.push_str(&format!(
                            " It may not have read what you sent in the last minute: {}.",
                            unread.join(", ")
                        ));
                    }
                }
                ctx.emit_error(ErrorCode::PeerError, report);
                if matches!(self.msg, MessageState::Encrypted(_)) {
                    // The peer may have lost its session: resend our last message once a
                    // new one is up.
                    self.may_retransmit = true;
                }
                if ctx.policy.has(Policy::ERROR_START_AKE) && self.error_queries.allow(ctx.now) {
                    ctx.emit_wire(text::query_message(Self::versions(ctx.policy)));
                }
            }
            Ok(IncomingText::Query(offered)) => self.start_ake_if_offered(offered, ctx),
            Ok(IncomingText::Plain { text, tag }) => {
                self.stop_whitespace_tag = true;
                let warn = !matches!(self.msg, MessageState::Plaintext)
                    || ctx.policy.has(Policy::REQUIRE_ENCRYPTION);
                if !text.is_empty() {
                    ctx.emit_message(text, false);
                    if warn {
                        ctx.emit_error(
                            ErrorCode::Unencrypted,
                            "The message above was received unencrypted.",
                        );
                    }
                }
                if let Some(offered) = tag {
                    if ctx.policy.has(Policy::WHITESPACE_START_AKE) {
                        self.start_ake_if_offered(offered, ctx);
                    }
                }
            }
        }
    }

    fn start_ake_if_offered(&mut self, offered: Versions, ctx: &mut Context<'_>) {
        let version = if offered.v3 && ctx.policy.has(Policy::ALLOW_V3) {
            ProtocolVersion::V3
        } else if offered.v2 && ctx.policy.has(Policy::ALLOW_V2) {
            ProtocolVersion::V2
        } else {
            return;
        };
        let body = self.auth.start(
            version,
            &mut AkeContext {
                identity: ctx.identity,
                validated: &mut *ctx.validated_keys,
                rng: &mut *ctx.rng,
            },
        );
        // A query or tag does not say which instance of the peer sent it: the commit goes
        // to no instance in particular, and every instance that answers gets the exchange.
        self.master = self.auth.awaiting_dh_key().map(|state| Master {
            state,
            answered: Vec::new(),
        });
        self.send_ake(version, body, InstanceTag::UNKNOWN, ctx);
    }

    fn send_ake(
        &self,
        version: ProtocolVersion,
        body: MessageBody,
        to: InstanceTag,
        ctx: &mut Context<'_>,
    ) {
        let (sender_instance, receiver_instance) = if version == ProtocolVersion::V2 {
            (InstanceTag::UNKNOWN, InstanceTag::UNKNOWN)
        } else {
            (ctx.our_instance, to)
        };
        let message = EncodedMessage {
            version,
            sender_instance,
            receiver_instance,
            body,
        };
        ctx.emit_encoded(
            text::armour(&message.to_bytes()),
            version,
            receiver_instance,
        );
    }

    fn receive_encoded(&mut self, message: EncodedMessage, ctx: &mut Context<'_>) {
        let version = message.version;
        let allowed = match version {
            ProtocolVersion::V3 => ctx.policy.has(Policy::ALLOW_V3),
            ProtocolVersion::V2 => ctx.policy.has(Policy::ALLOW_V2),
            _ => false,
        };
        if !allowed {
            return;
        }
        let is_commit = message.message_type() == MessageType::DH_COMMIT;
        if version == ProtocolVersion::V3 {
            // Instance tags (Protocol-v3.html, "Instance Tags"): only a D-H Commit may be
            // addressed to nobody in particular; anything for another instance is dropped.
            let to = message.receiver_instance;
            if to != ctx.our_instance && !(is_commit && to == InstanceTag::UNKNOWN) {
                return;
            }
        }
        // One session per instance of the peer (version 2 has none: instance 0).
        let from = if version == ProtocolVersion::V3 {
            message.sender_instance
        } else {
            InstanceTag::UNKNOWN
        };
        self.switch_to(from);
        if message.message_type() == MessageType::DH_KEY {
            // The first answer of each instance to a commit we sent to no instance in
            // particular: an instance that does not hold the exchange gets a copy.
            if let Some(master) = &mut self.master {
                if !master.answered.contains(&from) {
                    master.answered.push(from);
                    if matches!(self.auth, AuthState::None) {
                        self.auth = AuthState::AwaitingDhKey(master.state.clone());
                    }
                }
            }
        }
        let mut ake = AkeContext {
            identity: ctx.identity,
            validated: &mut *ctx.validated_keys,
            rng: &mut *ctx.rng,
        };
        let step = match message.body {
            MessageBody::DhCommit(commit) => self.auth.receive_dh_commit(version, commit, &mut ake),
            MessageBody::DhKey(key) => {
                if self.auth.version() != Some(version) {
                    return;
                }
                self.auth.receive_dh_key(key, &mut ake)
            }
            MessageBody::RevealSignature(reveal) => {
                if self.auth.version() != Some(version) {
                    return;
                }
                self.auth.receive_reveal_signature(reveal, &mut ake)
            }
            MessageBody::Signature(sig) => {
                if self.auth.version() != Some(version) {
                    return;
                }
                self.auth.receive_signature(sig, &mut ake)
            }
            MessageBody::Data(_) => {
                self.receive_data(&message, ctx);
                return;
            }
        };
        self.finish_ake_step(version, step, ctx);
    }

    fn finish_ake_step(&mut self, version: ProtocolVersion, step: AkeStep, ctx: &mut Context<'_>) {
        if let Some(reply) = step.reply {
            self.send_ake(version, reply, self.their_instance, ctx);
        }
        if let Some(e) = step.error {
            ctx.emit_error(
                ErrorCode::AuthFailed,
                format!("The key exchange failed: {e}."),
            );
        }
        if let Some(success) = step.success {
            self.go_encrypted(success, ctx);
        }
    }

    /// The AKE completed: switch to the new keys and send what was held.
    fn go_encrypted(&mut self, success: AkeSuccess, ctx: &mut Context<'_>) {
        let fingerprint = success.their_long_term.fingerprint();
        ctx.known.insert(ctx.peer, fingerprint);
        let AkeSuccess {
            version,
            our_dh,
            their_dh,
            their_keyid,
            their_long_term,
            ssid,
            we_initiated,
        } = success;
        let keys = DataKeys::after_ake(their_dh, their_keyid, our_dh, &mut *ctx.rng);
        let retired = match core::mem::take(&mut self.msg) {
            MessageState::Encrypted(old) if old.fingerprint == fingerprint => Some(old.keys),
            MessageState::Encrypted(_) | MessageState::Plaintext | MessageState::Finished => None,
        };
        let their_instance = if version == ProtocolVersion::V2 {
            InstanceTag::UNKNOWN
        } else {
            self.their_instance
        };
        let mut private = Box::new(PrivateSession {
            version,
            their_instance,
            their_long_term,
            fingerprint,
            keys,
            retired,
            ssid: (ssid, we_initiated),
            smp: Smp::default(),
        });
        self.last_sent = ctx.now;
        self.error_replies.reset();
        self.error_queries.reset();
        for held in core::mem::take(&mut self.held) {
            let plaintext = encode_plaintext(held.text.as_bytes(), &[]);
            match seal(
                &mut private,
                DataFlags::default(),
                &plaintext,
                ctx.our_instance,
            ) {
                Some(data) => {
                    ctx.emit_encoded(data, private.version, private.their_instance);
                    remember(&mut self.recent, &held.text, ctx.now);
                    self.last_message = Some(LastMessage {
                        text: held.text,
                        fingerprint,
                        sent_at: ctx.now,
                    });
                }
                None => ctx.emit_error(
                    ErrorCode::NotSent,
                    format!("Not sent: {}", held.text.as_str()),
                ),
            }
        }
        if core::mem::take(&mut self.may_retransmit) {
            self.resend_last(&mut private, ctx);
        }
        self.msg = MessageState::Encrypted(private);
        self.touch();
        self.emit_state(ctx);
    }

    fn receive_data(&mut self, message: &EncodedMessage, ctx: &mut Context<'_>) {
        let ignore_unreadable =
            matches!(&message.body, MessageBody::Data(d) if d.flags.ignore_unreadable());
        let MessageState::Encrypted(private) = &mut self.msg else {
            let other_instance_private = self
                .others
                .iter()
                .any(|p| matches!(p.msg, MessageState::Encrypted(_)));
            // While another instance of the peer is private with us, this was most likely
            // meant for another of our instances: drop it quietly, as libotr does.
            if !ignore_unreadable && !other_instance_private {
                self.report_unreadable("there is no private session with this peer", ctx);
            }
            return;
        };
        if message.version == ProtocolVersion::V3
            && message.sender_instance != private.their_instance
        {
            // For another instance of the peer: not ours to answer (Protocol-v3.html,
            // "Instance Tags").
            return;
        }
        if message.version != private.version {
            if !ignore_unreadable {
                self.report_unreadable("it was sent for another protocol version", ctx);
            }
            return;
        }
        let opened = match private.keys.open(message, &mut *ctx.rng) {
            Ok(v) => {
                private.retired = None;
                Ok(v)
            }
            Err(e) => match private
                .retired
                .as_mut()
                .map(|old| old.open(message, &mut *ctx.rng))
            {
                Some(Ok(v)) => Ok(v),
                Some(Err(_)) | None => Err(e),
            },
        };
        let verified = match opened {
            Ok(v) => v,
            Err(e) => {
                if !ignore_unreadable {
                    self.report_unreadable(&e.to_string(), ctx);
                }
                return;
            }
        };
        let plaintext = match decode_plaintext(&verified.bytes) {
            Ok(p) => p,
            Err(e) => {
                ctx.emit_error(
                    ErrorCode::Malformed,
                    format!("A private message had malformed contents ({e:?})."),
                );
                return;
            }
        };
        self.error_replies.reset();
        self.error_queries.reset();
        self.touch();
        let disconnected = plaintext
            .tlvs
            .iter()
            .any(|t| t.kind == TlvType::DISCONNECTED);
        if !plaintext.text.is_empty() {
            ctx.emit_message(String::from_utf8_lossy(&plaintext.text).into_owned(), true);
            if !disconnected {
                self.maybe_heartbeat(ctx);
            }
        }
        for tlv in plaintext
            .tlvs
            .iter()
            .filter(|t| t.kind == TlvType::EXTRA_SYMMETRIC_KEY)
        {
            // Four bytes of usage, then use-specific data; a shorter TLV is ignored.
            if let Some((usage, usedata)) = tlv.value.split_first_chunk::<4>() {
                ctx.out.push(Event::ExtraSymmetricKey {
                    peer: ctx.peer.to_owned(),
                    usage: u32::from_be_bytes(*usage),
                    usedata: usedata.to_vec(),
                    key: verified.extra_key.clone(),
                });
            }
        }
        let smp_tlvs: Vec<&Tlv> = plaintext
            .tlvs
            .iter()
            .filter(|t| (TlvType::SMP1.0..=TlvType::SMP1Q.0).contains(&t.kind.0))
            .collect();
        for tlv in smp_tlvs {
            self.receive_smp(tlv, ctx);
        }
        if disconnected {
            self.msg = MessageState::Finished;
            self.auth.reset();
            self.emit_state(ctx);
        }
    }

    /// A received SMP TLV: advance the state machine, send its reply, tell the user.
    fn receive_smp(&mut self, tlv: &Tlv, ctx: &mut Context<'_>) {
        let MessageState::Encrypted(private) = &mut self.msg else {
            return;
        };
        let step = private.smp.receive(tlv, &mut *ctx.rng);
        send_tlvs(private, step.send, ctx);
        let answered_question = private.smp.answered_question();
        let fingerprint = private.fingerprint;
        match step.event {
            None => {}
            Some(SmpEvent::Request { question: None }) => ctx.emit_smp(SmpResult::Request, None),
            Some(SmpEvent::Request { question: Some(q) }) => {
                ctx.emit_smp(SmpResult::Question, Some(q))
            }
            Some(SmpEvent::Success) => {
                ctx.emit_smp(SmpResult::Success, None);
                // As libotr: the side that answered a question has only shown that it knows
                // the answer; it learned nothing about the asker, so it does not trust.
                if !answered_question {
                    ctx.known.set_trusted(ctx.peer, fingerprint, true);
                    self.emit_state(ctx);
                }
            }
            Some(SmpEvent::Failure) => ctx.emit_smp(SmpResult::Failure, None),
            Some(SmpEvent::Aborted) => ctx.emit_smp(SmpResult::Aborted, None),
        }
    }

    /// The user starts SMP with `secret`, optionally asking `question`.
    pub(crate) fn smp_start(
        &mut self,
        secret: &[u8],
        question: Option<&str>,
        ctx: &mut Context<'_>,
    ) {
        let MessageState::Encrypted(private) = &mut self.msg else {
            ctx.emit_error(
                ErrorCode::NoSession,
                "There is no private conversation to verify.",
            );
            return;
        };
        let ours = ctx.identity.public().fingerprint();
        let x = smp_secret(&ours.0, &private.fingerprint.0, &private.ssid.0, secret);
        let tlvs = private.smp.start(&x, question, &mut *ctx.rng);
        // An abort of a run in progress goes in its own message, before the new start
        // (libotr handles the TLVs of one message in a fixed order, abort last).
        for tlv in tlvs {
            send_tlvs(private, vec![tlv], ctx);
        }
    }

    /// The user answers the peer's SMP request with `secret`.
    pub(crate) fn smp_respond(&mut self, secret: &[u8], ctx: &mut Context<'_>) {
        let MessageState::Encrypted(private) = &mut self.msg else {
            ctx.emit_error(
                ErrorCode::NoSession,
                "There is no private conversation to verify.",
            );
            return;
        };
        let ours = ctx.identity.public().fingerprint();
        let y = smp_secret(&private.fingerprint.0, &ours.0, &private.ssid.0, secret);
        match private.smp.respond(&y, &mut *ctx.rng) {
            Ok(tlvs) => send_tlvs(private, tlvs, ctx),
            Err(e) => ctx.emit_error(ErrorCode::NoSmpRequest, format!("Cannot answer: {e}.")),
        }
    }

    /// Tells the peer (TLV 8) that we use the extra symmetric key for `usage` with
    /// `usedata`, and returns the key: the one of the message that carries the TLV.
    pub(crate) fn extra_symmetric_key(
        &mut self,
        usage: u32,
        usedata: &[u8],
        ctx: &mut Context<'_>,
    ) -> Option<SymmetricKey> {
        let MessageState::Encrypted(private) = &mut self.msg else {
            ctx.emit_error(ErrorCode::NoSession, "There is no private conversation.");
            return None;
        };
        let key = private.keys.sending_extra_key()?;
        let value = [&usage.to_be_bytes()[..], usedata].concat();
        let tlv = Tlv {
            kind: TlvType::EXTRA_SYMMETRIC_KEY,
            value,
        };
        send_tlvs(private, vec![tlv], ctx);
        Some(key)
    }

    /// The user aborts the SMP run in progress; the peer is told.
    pub(crate) fn smp_abort(&mut self, ctx: &mut Context<'_>) {
        let MessageState::Encrypted(private) = &mut self.msg else {
            ctx.emit_error(ErrorCode::NoSession, "There is no private conversation.");
            return;
        };
        let tlvs = private.smp.abort();
        send_tlvs(private, tlvs, ctx);
        ctx.emit_smp(SmpResult::Aborted, None);
    }

    fn report_unreadable(&mut self, why: &str, ctx: &mut Context<'_>) {
        ctx.emit_error(
            ErrorCode::Unreadable,
            format!("An encrypted message could not be read: {why}."),
        );
        if self.error_replies.allow(ctx.now) {
            ctx.emit_wire(text::error_message(UNREADABLE_ERROR_TEXT));
        }
    }

    /// After a data message with text arrived: if we have sent nothing for
    /// [`HEARTBEAT_INTERVAL`] seconds, send an empty data message (libotr's heartbeat).
    fn maybe_heartbeat(&mut self, ctx: &mut Context<'_>) {
        let Some(now) = ctx.now else { return };
        let Some(last_sent) = self.last_sent else {
            // We sent before time was known: the minute starts now.
            self.last_sent = Some(now);
            return;
        };
        if now - last_sent < HEARTBEAT_INTERVAL {
            return;
        }
        let MessageState::Encrypted(private) = &mut self.msg else {
            return;
        };
        let plaintext = encode_plaintext(b"", &[]);
        let flags = DataFlags(DataFlags::IGNORE_UNREADABLE);
        if let Some(data) = seal(private, flags, &plaintext, ctx.our_instance) {
            ctx.emit_encoded(data, private.version, private.their_instance);
            self.last_sent = Some(now);
        }
    }

    /// Resends the last message in the new session `private`, with libotr's `[resent] `
    /// prefix, if it is recent and was written for the same fingerprint.
    fn resend_last(&mut self, private: &mut PrivateSession, ctx: &mut Context<'_>) {
        let Some(last) = self.last_message.take() else {
            return;
        };
        if !within(ctx.now, last.sent_at, RESEND_INTERVAL) {
            return;
        }
        if last.fingerprint != private.fingerprint {
            ctx.emit_error(
                ErrorCode::NotSent,
                format!(
                    "Not resent, because the new private conversation is with a different key: {}",
                    last.text.as_str()
                ),
            );
            return;
        }
        let text = Zeroizing::new(format!("{RESENT_PREFIX}{}", last.text.as_str()));
        let plaintext = encode_plaintext(text.as_bytes(), &[]);
        if let Some(data) = seal(private, DataFlags::default(), &plaintext, ctx.our_instance) {
            ctx.emit_encoded(data, private.version, private.their_instance);
            self.last_sent = ctx.now;
            ctx.emit_error(
                ErrorCode::Resent,
                format!("Your last message was sent again: {}", last.text.as_str()),
            );
            self.last_message = Some(LastMessage {
                sent_at: ctx.now,
                ..last
            });
        }
    }

    /// Time has passed: held messages that waited longer than [`RESEND_INTERVAL`] are
    /// given up, and the user is told which.
    pub(crate) fn tick(&mut self, ctx: &mut Context<'_>) {
        let Some(now) = ctx.now else { return };
        let mut kept = Vec::new();
        for mut held in core::mem::take(&mut self.held) {
            match held.since {
                Some(since) if now - since > RESEND_INTERVAL => ctx.emit_error(
                    ErrorCode::NotSent,
                    format!(
                        "Not sent, because no private conversation could be set up: {}",
                        held.text.as_str()
                    ),
                ),
                Some(_) => kept.push(held),
                None => {
                    held.since = Some(now);
                    kept.push(held);
                }
            }
        }
        self.held = kept;
    }
}

/// Sends `tlvs` (SMP) in one data message with an empty text, flagged IGNORE_UNREADABLE as
/// libotr flags its SMP messages.
fn send_tlvs(private: &mut PrivateSession, tlvs: Vec<Tlv>, ctx: &mut Context<'_>) {
    if tlvs.is_empty() {
        return;
    }
    let plaintext = encode_plaintext(b"", &tlvs);
    let flags = DataFlags(DataFlags::IGNORE_UNREADABLE);
    match seal(private, flags, &plaintext, ctx.our_instance) {
        Some(data) => ctx.emit_encoded(data, private.version, private.their_instance),
        None => ctx.emit_error(ErrorCode::NotSent, "An SMP message could not be encrypted."),
    }
}

/// Encrypts a plaintext into an armoured data message of `private`.
fn seal(
    private: &mut PrivateSession,
    flags: DataFlags,
    plaintext: &[u8],
    our_instance: InstanceTag,
) -> Option<String> {
    let addr = Addressing {
        version: private.version,
        ours: our_instance,
        theirs: private.their_instance,
    };
    let message = private.keys.seal(addr, flags, plaintext)?;
    Some(text::armour(&message.to_bytes()))
}

/// Sends plaintext: with a line-based transport one wire message per line, never a CR, LF
/// or NUL inside one; the whitespace tag, if any, rides on the first line.
fn send_plain(text: &str, tag: &str, ctx: &mut Context<'_>) {
    if !ctx.line_based {
        ctx.emit_wire(format!("{text}{tag}"));
        return;
    }
    let mut tag = Some(tag);
    for line in text.split(['\r', '\n']).filter(|l| !l.is_empty()) {
        let line: String = line.chars().filter(|&c| c != '\0').collect();
        ctx.emit_wire(format!("{line}{}", tag.take().unwrap_or_default()));
    }
}
