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

use crate::ake::{AkeContext, AkeError, AkeStep, AkeSuccess, AuthState, AwaitingDhKey};
use crate::crypto::dsa::ValidatedKeys;
use crate::crypto::{DsaPrivateKey, DsaPublicKey, Fingerprint};
use crate::engine::{KeyExchange, Status};
use crate::event::{ConversationState, Event, HoldReason, NotSent, Notice, Origin, SmpResult};
use crate::fragment::{fragment, FragmentOutcome, Reassembler};
use crate::keys::{Addressing, DataError, DataKeys, SymmetricKey};
use crate::policy::Policy;
use crate::session_id::{SessionId, SessionIdHalf};
use crate::smp::{smp_secret, Smp, SmpEvent};
use crate::time::Time;
use crate::trust::KnownFingerprints;
use crate::wire::codec::Codec;
use crate::wire::encoded::{
    DataFlags, EncodedMessage, InstanceTag, MessageBody, MessageType, ProtocolVersion,
};
use crate::wire::text::{self, IncomingText, Versions};
use crate::wire::tlv::{decode_plaintext, encode_plaintext, Tlv, TlvType};
use crate::wire::InvalidMessage;

mod instances;
mod private;
mod recovery;
#[cfg(test)]
mod tests;
mod verification;

use instances::{Master, Parked, MAX_MASTER_ANSWERS, MAX_SEEN_SSIDS};
use recovery::RESEND_INTERVAL;
use recovery::{
    remember, resend_last, within, Exchange, Held, LastMessage, NewInstanceLimiter, ReplyLimiter,
};

/// The text of the error message we send when we cannot read a data message.
pub(crate) const UNREADABLE_ERROR_TEXT: &str = "You transmitted an unreadable encrypted message.";

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
    /// The secure session id, with the half we read aloud.
    ssid: SessionId,
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
    /// Text typed while a key exchange runs is held (`EngineConfig::hold_during_key_exchange`).
    pub hold_during_key_exchange: bool,
    pub known: &'a mut KnownFingerprints,
    /// Peer keys that passed validation lately (validated once, not at every exchange).
    pub validated_keys: &'a mut ValidatedKeys,
    pub out: &'a mut Vec<Event>,
    /// The time of the last `tick`; `None` before the first.
    pub now: Option<Time>,
    /// The largest wire message the transport carries to this peer (0: no limit).
    pub max_message_size: usize,
}

impl Context<'_> {
    fn notify(&mut self, notice: Notice) {
        self.out.push(Event::Notice {
            peer: self.peer.to_owned(),
            notice,
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
            Err(e) => self.notify(Notice::NotSent(NotSent::Unfragmentable(e))),
        }
    }

    fn emit_wire(&mut self, data: String) {
        self.out.push(Event::Wire {
            peer: self.peer.to_owned(),
            data,
        });
    }
    fn emit_smp(&mut self, result: SmpResult, question: Option<String>, origin: Option<Origin>) {
        self.out.push(Event::Smp {
            peer: self.peer.to_owned(),
            result,
            question,
            origin,
        });
    }

    fn emit_message(&mut self, text: String, origin: Option<Origin>) {
        self.out.push(Event::Message {
            peer: self.peer.to_owned(),
            text,
            encrypted: origin.is_some(),
            origin,
        });
    }

    /// Where a private session's events come from, with the fingerprint's trust now.
    fn origin(&self, private: &PrivateSession) -> Origin {
        Origin {
            instance: private.their_instance,
            fingerprint: private.fingerprint,
            trusted: self.known.is_trusted(self.peer, &private.fingerprint),
        }
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
    /// What the user typed while encryption is required, or while a key exchange runs
    /// (`hold_during_key_exchange`), and no session is up yet.
    held: Vec<Held>,
    /// A key exchange we asked for or answered (we sent a query or a key-exchange message
    /// while not private) that has not completed, failed or been given up yet.
    exchange: Option<Exchange>,
    /// When we last sent a data message (or the session started), for heartbeats.
    last_sent: Option<Time>,
    /// The last text we sent encrypted, for a resend after the peer lost its session.
    last_message: Option<LastMessage>,
    /// What we sent encrypted in the last [`RESEND_INTERVAL`] seconds (at most
    /// [`MAX_RECENT`]): if the peer reports an error, these may not have been read, and the
    /// user is told which.
    recent: std::collections::VecDeque<(Zeroizing<String>, Option<Time>)>,
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
    /// The instance named in the last `State` event: what the user types goes there.
    announced: Option<InstanceTag>,
    /// Set while handling input when the state of some instance changed; the `State`
    /// event is emitted once the instance that receives the user's text is chosen.
    state_changed: bool,
    /// The secure session ids of the sessions we had with this peer, most recent last (at
    /// most [`MAX_SEEN_SSIDS`]): a new session with the same id would reuse keys (and so
    /// keystream) of an old one, and is refused.
    seen_ssids: std::collections::VecDeque<[u8; 8]>,
    /// Limits the SMP aborts we send in reply to broken SMP messages.
    smp_replies: ReplyLimiter,
    /// Limits the new instances of the peer that may start key exchanges.
    new_instances: NewInstanceLimiter,
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

    /// What a status line shows (`peer` is this conversation's peer, whose trust `known`
    /// holds).
    pub(crate) fn status(&self, peer: &str, known: &KnownFingerprints) -> Status {
        let fingerprint = self.fingerprint();
        Status {
            state: self.state(),
            instance: self.their_instance,
            fingerprint,
            trusted: fingerprint.is_some_and(|fp| known.is_trusted(peer, &fp)),
            key_exchange: self
                .exchange
                .as_ref()
                .map(|e| KeyExchange { since: e.since }),
            held: self.held.len(),
        }
    }

    /// The peer's fingerprint in the current private session.
    pub(crate) fn fingerprint(&self) -> Option<Fingerprint> {
        match &self.msg {
            MessageState::Encrypted(p) => Some(p.fingerprint),
            MessageState::Plaintext | MessageState::Finished => None,
        }
    }

    /// The secure session id of the current private session.
    pub(crate) fn ssid(&self) -> Option<SessionId> {
        match &self.msg {
            MessageState::Encrypted(p) => Some(p.ssid),
            MessageState::Plaintext | MessageState::Finished => None,
        }
    }

    fn versions(policy: Policy) -> Versions {
        Versions {
            v1: false,
            v2: policy.has(Policy::ALLOW_V2),
            v3: policy.has(Policy::ALLOW_V3),
        }
    }

    /// The user asked to start (or refresh) a private conversation: send a query message.
    /// The engine refuses it first when the policy disables OTR.
    pub(crate) fn start(&mut self, ctx: &mut Context<'_>) {
        ctx.emit_wire(text::query_message(Self::versions(ctx.policy)));
        self.begin_exchange(ctx);
    }

    /// The user typed `text` to the peer.
    pub(crate) fn send(&mut self, text: &str, ctx: &mut Context<'_>) {
        let private = matches!(self.msg, MessageState::Encrypted(_));
        if !private && ctx.hold_during_key_exchange && self.exchange.is_some() {
            self.hold(text, ctx);
            ctx.notify(Notice::Held(HoldReason::KeyExchange));
            return;
        }
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
                            instance: private.their_instance,
                            announced_keyid: private.keys.announced_keyid(),
                            sent_at: ctx.now,
                        });
                    }
                    None => ctx.notify(Notice::NotSent(NotSent::Unencryptable {
                        text: Some(text.to_owned()),
                    })),
                }
            }
            MessageState::Finished => ctx.notify(Notice::NotSent(NotSent::PeerFinished)),
            MessageState::Plaintext if ctx.policy.has(Policy::REQUIRE_ENCRYPTION) => {
                self.hold(text, ctx);
                ctx.notify(Notice::Held(HoldReason::EncryptionRequired));
                ctx.emit_wire(text::query_message(Self::versions(ctx.policy)));
                self.begin_exchange(ctx);
            }
            MessageState::Plaintext => {
                let tag = if ctx.policy.has(Policy::SEND_WHITESPACE_TAG)
                    && ctx.policy.otr_enabled()
                    && !self.stop_whitespace_tag
                {
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
        self.give_up_exchange(ctx);
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
                // We accept nothing more under these keys: the last message reveals every
                // receiving MAC key that verified a message (they are no longer needed).
                let mut reveals = private.keys.take_all_reveals();
                if let Some(mut old) = private.retired.take() {
                    reveals.extend(old.take_all_reveals());
                }
                private.keys.reveal_later(reveals);
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
            ctx.emit_message(data.to_owned(), None);
            return;
        }
        self.receive_classified(text::classify(data), true, ctx);
        self.reselect(ctx);
    }

    /// Handles a classified incoming string. A message reassembled from fragments comes
    /// back here with `fragments_allowed` false: a fragment of a fragment is malformed.
    fn receive_classified(
        &mut self,
        classified: Result<IncomingText, InvalidMessage>,
        fragments_allowed: bool,
        ctx: &mut Context<'_>,
    ) {
        if fragments_allowed && !matches!(classified, Ok(IncomingText::Fragment(_))) {
            // Protocol-v3.html, "Receiving Fragments": an unfragmented message makes us
            // forget any stored fragment.
            self.reassembler.clear();
        }
        match classified {
            Err(e) => ctx.notify(Notice::Malformed(e)),
            Ok(IncomingText::Fragment(piece)) => {
                if !fragments_allowed {
                    ctx.notify(Notice::Malformed(InvalidMessage::NestedFragment));
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
                Err(e) => ctx.notify(Notice::Malformed(e)),
            },
            Ok(IncomingText::Error(text)) => {
                let mut unread = Vec::new();
                if matches!(self.msg, MessageState::Encrypted(_)) {
                    // The peer may have lost its session: say which recent messages it may
                    // not have read (those older than the resend window were read or
                    // reported already).
                    unread = core::mem::take(&mut self.recent)
                        .into_iter()
                        .filter(|(_, at)| within(ctx.now, *at, RESEND_INTERVAL))
                        .map(|(t, _)| t.as_str().to_owned())
                        .collect();
                }
                ctx.notify(Notice::PeerError { text, unread });
                if let MessageState::Encrypted(private) = &self.msg {
                    // The peer may have lost its session: resend our last message once a
                    // new one is up, unless the peer showed it read it (it used the key
                    // the message announced: then the error is about something else, such
                    // as a replay, and a resend would show the message twice).
                    let read = self.last_message.as_ref().is_some_and(|last| {
                        last.instance == private.their_instance
                            && private.keys.peer_used_keyid(last.announced_keyid)
                    });
                    if read {
                        self.last_message = None;
                    }
                    self.may_retransmit = self.last_message.is_some();
                }
                if ctx.policy.has(Policy::ERROR_START_AKE) && self.error_queries.allow(ctx.now) {
                    ctx.emit_wire(text::query_message(Self::versions(ctx.policy)));
                    self.begin_exchange(ctx);
                }
            }
            Ok(IncomingText::Query(offered)) => self.start_ake_if_offered(offered, ctx),
            Ok(IncomingText::Plain { text, tag }) => {
                self.stop_whitespace_tag = true;
                let warn = !matches!(self.msg, MessageState::Plaintext)
                    || ctx.policy.has(Policy::REQUIRE_ENCRYPTION);
                if !text.is_empty() {
                    ctx.emit_message(text, None);
                    if warn {
                        ctx.notify(Notice::Unencrypted);
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
        self.begin_exchange(ctx);
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
        let known = from == self.their_instance
            || self.others.iter().any(|p| p.their_instance == from)
            || (self.their_instance == InstanceTag::UNKNOWN
                && matches!(self.msg, MessageState::Plaintext));
        if !known && !self.new_instances.allow(ctx.now) {
            // A new instance tag past the limit: dropped, as a message for another instance.
            return;
        }
        self.switch_to(from);
        if let (MessageBody::DhKey(key), Some(master)) = (&message.body, &mut self.master) {
            // The first answer of each instance to a commit we sent to no instance in
            // particular: an instance that does not hold the exchange gets a copy, unless
            // another instance already answered with the same D-H value (a copy of that
            // answer under a made-up sender tag: the two sessions would share keys).
            // Compared without leading zero bytes: one value has many MPI encodings.
            let gy = strip_leading_zeros(&key.gy);
            if !master.answered.iter().any(|(tag, _)| *tag == from) {
                if master
                    .answered
                    .iter()
                    .any(|(_, seen)| seen.as_slice() == gy)
                {
                    return;
                }
                if master.answered.len() >= MAX_MASTER_ANSWERS {
                    return;
                }
                master.answered.push((from, gy.to_vec()));
                if matches!(self.auth, AuthState::None) {
                    self.auth = AuthState::AwaitingDhKey(master.state.clone());
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
            self.begin_exchange(ctx);
        }
        if let Some(e) = step.error {
            self.exchange = None;
            ctx.notify(Notice::AuthFailed(e));
        }
        if let Some(success) = step.success {
            self.go_encrypted(success, ctx);
        }
    }
}

/// `mpi` without its leading zero bytes.
fn strip_leading_zeros(mpi: &[u8]) -> &[u8] {
    let start = mpi.iter().position(|&b| b != 0).unwrap_or(mpi.len());
    mpi.get(start..).unwrap_or_default()
}

impl Conversation {
    /// Nothing here that forgetting would lose: plaintext, no exchange in progress, nothing
    /// held, no other instance, no fragment waiting.
    pub(crate) fn is_idle(&self) -> bool {
        matches!(self.msg, MessageState::Plaintext)
            && matches!(self.auth, AuthState::None)
            && self.held.is_empty()
            && self.others.is_empty()
            && self.master.is_none()
            && self.reassembler.pending_bytes() == 0
    }

    /// Bytes of fragments waiting for reassembly.
    pub(crate) fn pending_fragment_bytes(&self) -> usize {
        self.reassembler.pending_bytes()
    }

    /// Forgets the fragments waiting for reassembly.
    pub(crate) fn drop_fragments(&mut self) {
        self.reassembler.clear();
    }

    /// Test hook: seals `plaintext` as it is in the current private session.
    #[cfg(test)]
    pub(crate) fn seal_raw(&mut self, plaintext: &[u8], ours: InstanceTag) -> Option<String> {
        let MessageState::Encrypted(private) = &mut self.msg else {
            return None;
        };
        seal(private, DataFlags::default(), plaintext, ours)
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
