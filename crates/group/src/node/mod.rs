//! One participant: an OTR engine (all its pairwise sessions) with the group layer on top.
//!
//! The node consumes the engine's events, turns group envelopes into room state and
//! [`Output`]s, and sends through the engine. It is sans-IO: lines come in through
//! [`Node::receive_private`] and [`Node::receive_channel`], time through [`Node::tick`],
//! and everything to transmit or show comes back as [`Output`]s.

use std::collections::{BTreeMap, BTreeSet};

use otr::crypto::Fingerprint;
use otr::{ConversationState, Engine, Event};
use rand_core::CryptoRngCore;

use crate::chain::{genesis, Chain, PairKey};
use crate::chatinfo::{ChatInfo, SecurityLevel};
use crate::envelope::{
    other_version, tag, untag, valid_channel, valid_nick, Envelope, Item, MemberKind, MsgItem,
    RoomId, Roster, RosterEntry, MAC_LEN, MAX_BODY, MAX_MEMBERS, PREFIX,
};
use crate::limits::{MAX_AHEAD, MAX_CHANNEL_PEERS, MAX_EARLY_OFFERS, RESEND_MAX_ITEMS};
use crate::output::{
    Alert, Auth, Divergence, ForgeReason, GroupMessage, LeftReason, Output, Target,
};

mod authn;
mod caps;
mod handoff;
mod origin;

pub use caps::Usage;

/// The TLV 8 usage number under which members derive pairwise keys ("org1").
pub const GROUP_KEY_USAGE: u32 = 0x6f72_6731;

/// How room lines travel between the host and its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Private messages: one line per recipient, O(N) lines per group message.
    Private,
    /// The paper's design: every line goes to this channel with `?RECV?`/`?SEND?` tags, and
    /// every member receives every line (O(N²) deliveries per group message).
    Channel(String),
}

/// A node's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Our nick.
    pub nick: String,
    /// How host-member lines travel.
    pub delivery: Delivery,
    /// Derive pairwise MAC keys with every other full member (end-to-end sender
    /// authentication). Without them, misattribution is still caught by digests.
    pub pairwise_macs: bool,
    /// Exchange a transcript digest every this many items.
    pub checkpoint_every: u64,
    /// ... and at the latest this many seconds after the transcript moved.
    pub checkpoint_secs: f64,
    /// Retry interval for resend requests and unechoed messages.
    pub retry_secs: f64,
    /// Retry interval for a key exchange or a pairwise key offer that has not completed
    /// (longer: over a paced IRC connection an exchange takes seconds, and restarting it
    /// early would only collide with itself).
    pub session_retry_secs: f64,
    /// After this long, a gap or an unechoed message raises an alert.
    pub deadline_secs: f64,
    /// Transcript items the host keeps for resends, and heads a member keeps for digests.
    pub history: usize,
    /// How long the successor's welcome to the next generation waits for our own
    /// evidence that the host left ([`Node::peer_gone`], or the host's `bye close`)
    /// before an alert says it is refused. It is still followed if the evidence comes
    /// later (see the `handoff` module).
    pub handoff_wait_secs: f64,
}

impl Config {
    /// Defaults: private delivery, pairwise MACs, a digest every 8 items or 5 s, retries
    /// every 2 s (key exchanges: 15 s), alerts after 12 s, 1024 items of history, a
    /// hand-off claim refused after 30 s without evidence (the chat client polls the
    /// host's presence every 20 s).
    pub fn new(nick: &str) -> Self {
        Self {
            nick: nick.to_owned(),
            delivery: Delivery::Private,
            pairwise_macs: true,
            checkpoint_every: 8,
            checkpoint_secs: 5.0,
            retry_secs: 2.0,
            session_retry_secs: 15.0,
            deadline_secs: 12.0,
            history: 1024,
            handoff_wait_secs: 30.0,
        }
    }
}

/// Misuse of the node's API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GroupError {
    /// The action needs a room.
    #[error("not in a room")]
    NotInRoom,
    /// Only the host does that.
    #[error("only the host can do that")]
    NotHost,
    /// One room per node at a time.
    #[error("already in a room")]
    AlreadyInRoom,
    /// `accept` without an invitation.
    #[error("no invitation to accept")]
    NoInvitation,
    /// The nick is not a member (or is us).
    #[error("{0} is not a member")]
    UnknownMember(String),
    /// The nick cannot be used.
    #[error("invalid nick {0:?}")]
    InvalidNick(String),
    /// The room is full.
    #[error("the room is full")]
    RoomFull,
    /// The text is longer than a group message may be.
    #[error("message too long")]
    TooLong,
    /// The channel name cannot carry a room.
    #[error("invalid channel {0:?}")]
    InvalidChannel(String),
    /// Our message counter reached its end (2^64 - 1 messages): the room cannot go on.
    #[error("our message counter is exhausted")]
    CounterExhausted,
}

/// The pairwise key with one other member.
///
/// | state | event | next |
/// |---|---|---|
/// | `None` | we are the initiator (lower fingerprint) and the session is private: derive, send TLV 8 | `Offered` |
/// | `None`, `Offered`, `Ready` | TLV 8 from the peer (we are the responder): send `pk` | `Ready` |
/// | any | TLV 8 from a peer our roster does not name yet: keep it in `early_offer` | unchanged |
/// | any | a roster that names the peer, with an `early_offer` kept: as TLV 8 from the peer | `Ready` |
/// | `Offered` | `pk` naming one of our keys: send our `pk` | `Ready` |
/// | `Offered` | no `pk` after `retry_secs`: derive again | `Offered` (one more key) |
/// | `Ready` | `pk` (the peer's first MACed counter) | `Ready` |
///
/// At most 8 keys are kept (`keys`, `known`), the oldest dropped first.
enum KeyState {
    None,
    Offered { keys: Vec<PairKey>, since: f64 },
    Ready { send: PairKey, known: Vec<PairKey> },
}

/// Our side of one peer: what waits for its private session, and the pairwise key.
struct Link {
    /// What waits for the peer's private session (capped: see `caps::Outbox`).
    outbox: caps::Outbox,
    started: Option<f64>,
    key: KeyState,
    /// The peer MACs every message to us from this counter on (its `pk`).
    their_from: Option<u64>,
    /// Recent messages attributed to the peer that came without a MAC: (sseq, gseq). At
    /// most 256, the oldest dropped first.
    unauthenticated: Vec<(u64, u64)>,
    /// We left starting our session to the peer (see `Node::ensure_session`); the next
    /// attempt starts it ourselves.
    deferred: bool,
    /// The peer's latest key offer (TLV 8) for our room that came before our roster named
    /// the peer: the host's roster and the peer's offer race each other. With the key of
    /// the session it came over, which the roster must name for the peer.
    early_offer: Option<(otr::SymmetricKey, Fingerprint)>,
}

impl Link {
    fn new() -> Self {
        Self {
            outbox: caps::Outbox::default(),
            started: None,
            key: KeyState::None,
            their_from: None,
            unauthenticated: Vec::new(),
            deferred: false,
            early_offer: None,
        }
    }

    fn known_keys(&self) -> &[PairKey] {
        match &self.key {
            KeyState::None => &[],
            KeyState::Offered { keys, .. } => keys,
            KeyState::Ready { known, .. } => known,
        }
    }
}

/// State both roles keep about the room.
struct Shared {
    id: RoomId,
    epoch: u64,
    host: String,
    /// The host's key: the key of the session the invitation came over, our own when we
    /// host, the successor's roster entry after a hand-off. Host content from any other
    /// key is dropped, and a roster naming another key for the host is not adopted.
    host_fp: Fingerprint,
    roster: Roster,
    chain: Chain,
    /// The previous host generation's final transcript and roster (after a hand-off).
    prev: Option<(Chain, Roster)>,
    /// Our last message counter.
    sseq: u64,
    /// Our messages not yet relayed back to us: sseq -> (text, first sent, last sent).
    /// Ours only (what our user typed), each gone after `deadline_secs`.
    unechoed: BTreeMap<u64, (String, f64, f64)>,
    /// Per sender: the last counter accepted and the recent ones (256, see `remember`).
    /// One per roster member: others' go at each roster change (`caps::prune_to_roster`).
    senders: BTreeMap<String, (u64, BTreeSet<u64>)>,
    /// Peers we already raised `Diverged` for, per host generation: this generation and
    /// the previous one (older ones go at a hand-off).
    diverged: BTreeSet<(u64, String)>,
    /// (gseq, time) of our last digest.
    last_digest: (u64, f64),
}

/// A member's room.
struct MemberRoom {
    s: Shared,
    /// False between a hand-off and the new host's welcome.
    welcomed: bool,
    /// Items ahead of a gap (capped: see `caps::Buffer`).
    buffer: caps::Buffer,
    /// Digests from other members that are ahead of us: nick -> (gseq, head). One per
    /// roster member (others' go at each roster change), none more than `MAX_AHEAD` ahead.
    claims: BTreeMap<String, (u64, [u8; 32])>,
    known_max: u64,
    gap_since: Option<f64>,
    last_resend: f64,
    /// Members whose digest matched ours this generation: nick -> the highest number.
    /// One per roster member (others' go at each roster change).
    agreed: BTreeMap<String, u64>,
    /// Members whose digest differed from ours, not reported yet: nick -> (number, since).
    /// Reported once another member's digest tells who is the odd one out, or after
    /// `checkpoint_secs`. One per roster member (others' go at each roster change).
    suspects: BTreeMap<String, (u64, f64)>,
    /// The successor's welcome to the next generation, waiting for our own evidence that
    /// the host left (see the `handoff` module). At most one.
    claim: Option<handoff::Claim>,
}

impl HostRoom {
    /// `nick` joins the roster with key `fp` as `kind`, replacing any earlier entry; its
    /// invitation and the key it was pinned to are used up.
    fn enrol(&mut self, nick: &str, fp: Fingerprint, kind: MemberKind) {
        self.invited.remove(nick);
        self.pins.remove(nick);
        self.s.roster.members.retain(|m| m.nick != nick);
        self.s.roster.members.push(RosterEntry {
            nick: nick.to_owned(),
            fingerprint: fp,
            kind,
        });
    }
}

impl MemberRoom {
    /// The request to the host for the items after our transcript up to `to`, and the
    /// host's nick.
    fn resend_request(&self, to: u64) -> (String, Envelope) {
        let env = Envelope::Resend {
            room: self.s.id.clone(),
            epoch: self.s.epoch,
            from: self.s.chain.gseq.saturating_add(1),
            to,
        };
        (self.s.host.clone(), env)
    }

    fn new(s: Shared, welcomed: bool, known_max: u64, now: f64) -> Self {
        Self {
            s,
            welcomed,
            buffer: caps::Buffer::default(),
            claims: BTreeMap::new(),
            known_max,
            gap_since: None,
            last_resend: now,
            agreed: BTreeMap::new(),
            suspects: BTreeMap::new(),
            claim: None,
        }
    }

    /// Our head at `gseq` was compared with `peer`'s: remember the outcome.
    fn compared(&mut self, peer: &str, gseq: u64, agree: bool, now: f64) {
        if agree {
            let best = self.agreed.entry(peer.to_owned()).or_insert(gseq);
            *best = (*best).max(gseq);
        } else if self.s.diverged.insert((self.s.epoch, peer.to_owned())) {
            self.suspects.insert(peer.to_owned(), (gseq, now));
        }
    }

    /// Reports the differences whose odd one out is known, or whose wait is over (all of
    /// them when `flush`). `watchers` is how many members compare with us.
    fn settle(&mut self, watchers: usize, wait: f64, now: f64, flush: bool, out: &mut Vec<Output>) {
        if self.suspects.is_empty() {
            return;
        }
        let (room, epoch) = (self.s.id.clone(), self.s.epoch);
        if self.suspects.len() >= 2 {
            // Two members we compare with both differ from us: we are the odd one out.
            let suspects = std::mem::take(&mut self.suspects);
            let gseq = suspects.values().map(|(g, _)| *g).min().unwrap_or(0);
            let mut names = suspects.into_keys();
            let peer = names.next().unwrap_or_default();
            out.push(Output::Alert(Alert::Diverged {
                room,
                epoch,
                gseq,
                peer,
                verdict: Divergence::Us {
                    others: names.collect(),
                },
            }));
            return;
        }
        let suspects: Vec<(String, (u64, f64))> =
            self.suspects.iter().map(|(n, v)| (n.clone(), *v)).collect();
        for (peer, (gseq, since)) in suspects {
            let witnesses: Vec<String> = self
                .agreed
                .iter()
                .filter(|(n, g)| **n != peer && **g >= gseq)
                .map(|(n, _)| n.clone())
                .collect();
            let verdict = if !witnesses.is_empty() {
                Divergence::Peer { witnesses }
            } else if flush || watchers < 2 || now - since >= wait {
                Divergence::Unresolved
            } else {
                continue;
            };
            self.suspects.remove(&peer);
            out.push(Output::Alert(Alert::Diverged {
                room: room.clone(),
                epoch,
                gseq,
                peer,
                verdict,
            }));
        }
    }
}

/// A relayed item the host keeps for resends.
struct Relayed {
    gseq: u64,
    item: Item,
    macs: Vec<(String, [u8; MAC_LEN])>,
}

/// The host's room.
struct HostRoom {
    s: Shared,
    /// Relayed items for resends (capped: see `caps::History`).
    history: caps::History,
    /// Invited, not yet in the roster (our user's invitations).
    invited: BTreeMap<String, MemberKind>,
    /// The key each invitation went to (the session it left over): the invitee's `join`
    /// must come from it, and the roster records it. At most one per invitee.
    pins: BTreeMap<String, Fingerprint>,
    /// `say`s that arrived ahead of their sender's previous one (capped: see
    /// `HostRoom::hold`), per roster member.
    held: BTreeMap<String, BTreeMap<u64, caps::HeldSay>>,
    /// Counters the host assigns to thin members' lines, per roster member.
    thin_seq: BTreeMap<String, u64>,
    /// What each member may get sent again (`rs`, repeated `say`s), and all together.
    resend: caps::ResendBudget,
}

/// The node's room state machine.
///
/// | state | event | next |
/// |---|---|---|
/// | `Idle` | [`Node::host`] | `Host` |
/// | `Idle` | `inv` from a peer over a private session | `Invited` |
/// | `Invited` | [`Node::accept`]: send `join` | `Joining` |
/// | `Invited` | [`Node::leave`] (decline) | `Idle` |
/// | `Joining` | `wel` from the inviting host | `Member` |
/// | `Member` | `bye removed`, or a roster without us | `Idle` |
/// | `Member` | [`Node::leave`]: send `left` | `Idle` |
/// | `Member` | `bye close` from the host, or [`Node::peer_gone`] for the host: hand-off; we are first in the generation's order ([`crate::order`]) | `Host` (next generation) |
/// | `Member` | same, someone else is first | `Member` (next generation, awaiting `wel`; a kept claim of the successor's is that `wel`) |
/// | `Member` (welcomed) | `wel` of the next generation from our roster's successor before our own evidence: kept as a claim, not followed | `Member` (same generation) |
/// | `Member` (claim kept) | the host relays again, or `handoff_wait_secs` pass: `HandOffRefused` (the claim is still kept) | `Member` (same generation) |
/// | `Host` | [`Node::leave`]: send `bye close` | `Idle` |
enum Room {
    Idle,
    Invited {
        room: RoomId,
        host: String,
        channel: Option<String>,
        /// The key of the session the invitation came over.
        host_fp: Fingerprint,
    },
    Joining {
        room: RoomId,
        host: String,
        host_fp: Fingerprint,
    },
    Member(Box<MemberRoom>),
    Host(Box<HostRoom>),
}

/// Counters for measurements.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Lines we put on the wire.
    pub sent: u64,
    /// Tagged channel lines that were for someone else (discarded).
    pub discarded: u64,
}

/// One participant of group conversations: an OTR [`Engine`] and at most one room.
pub struct Node {
    engine: Engine,
    cfg: Config,
    rng: Box<dyn CryptoRngCore + Send>,
    now: f64,
    room: Room,
    /// The delivery of the room we are in: the configured one, or what the host chose
    /// (announced in its invitation); back to the configured one when the room ends.
    delivery: Delivery,
    /// Per-peer state: one per roster member, invitee and host, and at most
    /// `MAX_EARLY_OFFERS` others holding an early key offer; others' go at each roster
    /// change (`caps::prune_to_roster`). A session with anyone else creates none.
    links: BTreeMap<String, Link>,
    /// Peers whose tagged lines reached us in the channel (our replies to them go
    /// there too): at most `MAX_CHANNEL_PEERS`, then replies go private.
    channel_peers: BTreeSet<String>,
    stats: Stats,
    hook: Option<RelayHook>,
    /// (nick, key) pairs we raised `FingerprintMismatch` for (see `origin`; at most
    /// `origin::MAX_MISMATCH_MEMORY`).
    mismatches: BTreeSet<(String, Fingerprint)>,
}

/// A test and demo hook that makes a host misbehave: called with every envelope the host
/// sends to a member (recipient, envelope), it returns what is actually sent (nothing to
/// drop, a changed envelope to alter, several to invent, earlier held ones to reorder).
pub type RelayHook = Box<dyn FnMut(&str, Envelope) -> Vec<Envelope> + Send>;

impl core::fmt::Debug for Node {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Node")
            .field("nick", &self.cfg.nick)
            .field("room", &self.room_id())
            .finish_non_exhaustive()
    }
}

/// Adds a counter to a sender's recent ones, keeping the 256 highest.
fn remember(set: &mut BTreeSet<u64>, v: u64) {
    set.insert(v);
    while set.len() > 256 {
        set.pop_first();
    }
}

impl Node {
    /// A node over `engine` (which holds our identity and every OTR session), with `rng`
    /// for room ids.
    pub fn new(engine: Engine, config: Config, rng: Box<dyn CryptoRngCore + Send>) -> Self {
        Self {
            engine,
            delivery: config.delivery.clone(),
            cfg: config,
            rng,
            now: 0.0,
            room: Room::Idle,
            links: BTreeMap::new(),
            channel_peers: BTreeSet::new(),
            stats: Stats::default(),
            hook: None,
            mismatches: BTreeSet::new(),
        }
    }

    /// Our nick.
    pub fn nick(&self) -> &str {
        &self.cfg.nick
    }

    /// The engine (for private conversations, fingerprints, SMP).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The engine, mutably. Events it returns should be passed back through
    /// [`Node::absorb`].
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// Installs (or removes) a [`RelayHook`]: for tests and demonstrations of what members
    /// detect. An honest node never has one.
    pub fn set_relay_hook(&mut self, hook: Option<RelayHook>) {
        self.hook = hook;
    }

    /// Line counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    fn shared(&self) -> Option<&Shared> {
        match &self.room {
            Room::Member(m) => Some(&m.s),
            Room::Host(h) => Some(&h.s),
            Room::Idle | Room::Invited { .. } | Room::Joining { .. } => None,
        }
    }

    /// The room we are in (or invited to or joining).
    pub fn room_id(&self) -> Option<&RoomId> {
        match &self.room {
            Room::Idle => None,
            Room::Invited { room, .. } | Room::Joining { room, .. } => Some(room),
            Room::Member(m) => Some(&m.s.id),
            Room::Host(h) => Some(&h.s.id),
        }
    }

    /// The room's roster, once known.
    pub fn roster(&self) -> Option<&Roster> {
        self.shared().map(|s| &s.roster)
    }

    /// The current host's nick.
    pub fn host_nick(&self) -> Option<&str> {
        match &self.room {
            Room::Idle => None,
            Room::Invited { host, .. } | Room::Joining { host, .. } => Some(host),
            Room::Member(m) => Some(&m.s.host),
            Room::Host(h) => Some(&h.s.host),
        }
    }

    /// How the room's lines travel: the host's choice once we accepted its invitation
    /// (the invitation's while we are invited), else our configured delivery.
    pub fn delivery(&self) -> Delivery {
        match &self.room {
            Room::Invited {
                channel: Some(ch), ..
            } => Delivery::Channel(ch.clone()),
            Room::Invited { channel: None, .. } => Delivery::Private,
            _ => self.delivery.clone(),
        }
    }

    /// After a room ended, the next one uses our configured delivery again.
    fn settle_delivery(&mut self) {
        if matches!(self.room, Room::Idle | Room::Invited { .. }) {
            self.delivery = self.cfg.delivery.clone();
        }
    }

    /// The member that would host the room's next generation if the host left now (the
    /// hand-off rule, [`Roster::successor`]); `None` before we know the roster, or when
    /// no full member would remain.
    pub fn successor(&self) -> Option<&str> {
        self.shared()
            .and_then(|s| s.roster.successor(&s.id, s.epoch))
            .map(|e| e.nick.as_str())
    }

    /// True if we host the room.
    pub fn is_host(&self) -> bool {
        matches!(self.room, Room::Host(_))
    }

    /// Do we share a pairwise MAC key with member `peer`, so that its lines to us (and ours
    /// to it) are authenticated end to end rather than only vouched for by the host?
    pub fn pairwise_ready(&self, peer: &str) -> bool {
        self.links
            .get(peer)
            .is_some_and(|l| matches!(l.key, KeyState::Ready { .. }))
    }

    /// The host generation and our transcript position (number, chain head).
    pub fn transcript(&self) -> Option<(u64, u64, [u8; 32])> {
        self.shared().map(|s| (s.epoch, s.chain.gseq, s.chain.head))
    }

    /// The room state line to persist and show (the paper's `otr.chatinfo`).
    pub fn info(&self) -> Option<ChatInfo> {
        let (room, host) = (self.room_id()?, self.host_nick()?);
        let level = match &self.room {
            Room::Host(_) => SecurityLevel::Private,
            _ => match self.engine.state(host) {
                ConversationState::Encrypted => SecurityLevel::Private,
                ConversationState::Finished => SecurityLevel::Finished,
                _ => SecurityLevel::NotPrivate,
            },
        };
        Some(ChatInfo {
            account: self.cfg.nick.clone(),
            room: room.to_string(),
            host: host.to_owned(),
            level,
        })
    }

    fn push_info(&self, out: &mut Vec<Output>) {
        if let Some(info) = self.info() {
            out.push(Output::Info(info));
        }
    }

    // ---------------------------------------------------------------- user actions

    /// Opens a room we host, delivered as our configuration says.
    pub fn host(&mut self) -> Result<Vec<Output>, GroupError> {
        if !matches!(self.room, Room::Idle) {
            return Err(GroupError::AlreadyInRoom);
        }
        self.delivery = self.cfg.delivery.clone();
        self.open_room()
    }

    /// Opens a room we host whose lines travel tagged in `channel` (the paper's design),
    /// whatever our configured delivery. Invitations name the channel, so members use it
    /// too, and so does a member that takes over as host. We must be in the channel.
    pub fn host_in(&mut self, channel: &str) -> Result<Vec<Output>, GroupError> {
        if !matches!(self.room, Room::Idle) {
            return Err(GroupError::AlreadyInRoom);
        }
        if !valid_channel(channel) {
            return Err(GroupError::InvalidChannel(channel.to_owned()));
        }
        self.delivery = Delivery::Channel(channel.to_owned());
        self.open_room()
    }

    fn open_room(&mut self) -> Result<Vec<Output>, GroupError> {
        let mut id = [0u8; 8];
        self.rng.fill_bytes(&mut id);
        let id = RoomId::from_bytes(id);
        let roster = Roster {
            host: self.cfg.nick.clone(),
            members: vec![RosterEntry {
                nick: self.cfg.nick.clone(),
                fingerprint: self.engine.fingerprint(),
                kind: MemberKind::Full,
            }],
        };
        let me = (self.cfg.nick.clone(), self.engine.fingerprint());
        let s = self.new_shared(id, 1, me, roster, 0, None);
        self.room = Room::Host(Box::new(HostRoom {
            s,
            history: caps::History::default(),
            invited: BTreeMap::new(),
            pins: BTreeMap::new(),
            held: BTreeMap::new(),
            thin_seq: BTreeMap::new(),
            resend: caps::ResendBudget::new(self.now),
        }));
        let mut out = Vec::new();
        self.announce_roster(&mut out);
        self.push_info(&mut out);
        Ok(out)
    }

    fn new_shared(
        &self,
        id: RoomId,
        epoch: u64,
        (host, host_fp): (String, Fingerprint),
        roster: Roster,
        gseq: u64,
        anchor: Option<[u8; 32]>,
    ) -> Shared {
        let anchor = anchor.unwrap_or_else(|| genesis(&id, epoch));
        Shared {
            chain: Chain::new(epoch, gseq, anchor, self.cfg.history),
            id,
            epoch,
            host,
            host_fp,
            roster,
            prev: None,
            sseq: 0,
            unechoed: BTreeMap::new(),
            senders: BTreeMap::new(),
            diverged: BTreeSet::new(),
            last_digest: (gseq, self.now),
        }
    }

    /// Host: invites `nick`, whose client runs this protocol.
    pub fn invite(&mut self, nick: &str) -> Result<Vec<Output>, GroupError> {
        self.invite_kind(nick, MemberKind::Full)
    }

    /// Host: invites `nick` as a thin member (a stock OTR client such as irssi or Pidgin):
    /// it is admitted once its private session is up, and gets the room as ordinary
    /// private messages prefixed with the sender's nick.
    pub fn invite_thin(&mut self, nick: &str) -> Result<Vec<Output>, GroupError> {
        self.invite_kind(nick, MemberKind::Thin)
    }

    fn invite_kind(&mut self, nick: &str, kind: MemberKind) -> Result<Vec<Output>, GroupError> {
        if !valid_nick(nick) || nick == self.cfg.nick {
            return Err(GroupError::InvalidNick(nick.to_owned()));
        }
        let Room::Host(h) = &mut self.room else {
            return Err(GroupError::NotHost);
        };
        if h.s.roster.members.len() >= MAX_MEMBERS {
            return Err(GroupError::RoomFull);
        }
        h.invited.insert(nick.to_owned(), kind);
        h.pins.remove(nick);
        let room = h.s.id.clone();
        let mut out = Vec::new();
        match kind {
            MemberKind::Full => {
                let channel = match &self.delivery {
                    Delivery::Channel(ch) => Some(ch.clone()),
                    Delivery::Private => None,
                };
                let now = self.engine.state(nick) == ConversationState::Encrypted;
                self.send_env(nick, &Envelope::Invite { room, channel }, None, &mut out);
                if now {
                    self.pin_invitee(nick);
                }
            }
            MemberKind::Thin => {
                if self.engine.state(nick) == ConversationState::Encrypted {
                    self.admit_thin(nick, &mut out);
                } else {
                    self.ensure_session(nick, &mut out);
                }
            }
        }
        Ok(out)
    }

    /// Host: removes `nick`; it receives nothing of the room from now on.
    pub fn kick(&mut self, nick: &str) -> Result<Vec<Output>, GroupError> {
        let Room::Host(h) = &mut self.room else {
            return Err(GroupError::NotHost);
        };
        h.invited.remove(nick);
        h.pins.remove(nick);
        let Some(entry) = h.s.roster.entry(nick).cloned() else {
            return Err(GroupError::UnknownMember(nick.to_owned()));
        };
        if nick == h.s.host {
            return Err(GroupError::UnknownMember(nick.to_owned()));
        }
        h.s.roster.members.retain(|m| m.nick != nick);
        let room = h.s.id.clone();
        let mut out = Vec::new();
        match entry.kind {
            MemberKind::Full => self.send_env(
                nick,
                &Envelope::Bye {
                    room,
                    closed: false,
                },
                None,
                &mut out,
            ),
            MemberKind::Thin => self.send_text(nick, "[room] you were removed", &mut out),
        }
        self.announce_roster(&mut out);
        Ok(out)
    }

    /// Accepts the pending invitation.
    pub fn accept(&mut self) -> Result<Vec<Output>, GroupError> {
        let Room::Invited {
            room,
            host,
            channel,
            host_fp,
        } = &self.room
        else {
            return Err(GroupError::NoInvitation);
        };
        let (room, host, host_fp) = (room.clone(), host.clone(), *host_fp);
        // The host chose how the room travels; we follow until we leave.
        self.delivery = match channel {
            Some(ch) => Delivery::Channel(ch.clone()),
            None => Delivery::Private,
        };
        let mut out = Vec::new();
        self.send_env(
            &host,
            &Envelope::Join { room: room.clone() },
            None,
            &mut out,
        );
        self.room = Room::Joining {
            room,
            host,
            host_fp,
        };
        self.push_info(&mut out);
        Ok(out)
    }

    /// Leaves the room (declines an invitation; as host, closes it for us and the members
    /// hand off to the next host).
    pub fn leave(&mut self) -> Result<Vec<Output>, GroupError> {
        let mut out = Vec::new();
        let room = std::mem::replace(&mut self.room, Room::Idle);
        match room {
            Room::Idle => return Err(GroupError::NotInRoom),
            Room::Invited { .. } => {}
            Room::Joining { room, host, .. } => {
                self.send_env(
                    &host,
                    &Envelope::Leave { room: room.clone() },
                    None,
                    &mut out,
                );
                out.push(Output::Left {
                    room,
                    reason: LeftReason::Left,
                });
            }
            Room::Member(m) => {
                let id = m.s.id.clone();
                self.send_env(
                    &m.s.host,
                    &Envelope::Leave { room: id.clone() },
                    None,
                    &mut out,
                );
                out.push(Output::Info(ChatInfo {
                    account: self.cfg.nick.clone(),
                    room: id.to_string(),
                    host: m.s.host.clone(),
                    level: SecurityLevel::Finished,
                }));
                out.push(Output::Left {
                    room: id,
                    reason: LeftReason::Left,
                });
            }
            Room::Host(h) => {
                let id = h.s.id.clone();
                for m in &h.s.roster.members {
                    if m.nick == self.cfg.nick {
                        continue;
                    }
                    match m.kind {
                        MemberKind::Full => self.send_env(
                            &m.nick,
                            &Envelope::Bye {
                                room: id.clone(),
                                closed: true,
                            },
                            None,
                            &mut out,
                        ),
                        MemberKind::Thin => {
                            self.send_text(&m.nick, "[room] the host left", &mut out)
                        }
                    }
                }
                out.push(Output::Info(ChatInfo {
                    account: self.cfg.nick.clone(),
                    room: id.to_string(),
                    host: self.cfg.nick.clone(),
                    level: SecurityLevel::Finished,
                }));
                out.push(Output::Left {
                    room: id,
                    reason: LeftReason::Closed,
                });
            }
        }
        self.links.clear();
        self.settle_delivery();
        Ok(out)
    }

    /// Writes `text` to the room.
    pub fn say(&mut self, text: &str) -> Result<Vec<Output>, GroupError> {
        if text.len() > MAX_BODY {
            return Err(GroupError::TooLong);
        }
        let mut out = Vec::new();
        let me = self.cfg.nick.clone();
        match &mut self.room {
            Room::Host(h) => {
                h.s.sseq =
                    h.s.sseq
                        .checked_add(1)
                        .ok_or(GroupError::CounterExhausted)?;
                let (sseq, seen) = (h.s.sseq, h.s.chain.gseq);
                self.relay_msg(&me, sseq, seen, text.to_owned(), Vec::new(), &mut out);
            }
            Room::Member(m) => {
                m.s.sseq =
                    m.s.sseq
                        .checked_add(1)
                        .ok_or(GroupError::CounterExhausted)?;
                let sseq = m.s.sseq;
                m.s.unechoed
                    .insert(sseq, (text.to_owned(), self.now, self.now));
                if m.welcomed {
                    self.send_say(sseq, &mut out);
                }
            }
            Room::Idle | Room::Invited { .. } | Room::Joining { .. } => {
                return Err(GroupError::NotInRoom)
            }
        }
        Ok(out)
    }

    /// The transport saw `nick` leave (IRC QUIT or PART). If it was the host, the room
    /// hands off; if we host, `nick` leaves the roster.
    #[must_use = "the outputs must be handled: lines sent, the rest shown"]
    pub fn peer_gone(&mut self, nick: &str) -> Vec<Output> {
        let mut out = Vec::new();
        match &mut self.room {
            Room::Member(m) if m.s.host == nick => self.hand_off(&mut out),
            Room::Host(h) if h.s.roster.contains(nick) => {
                h.s.roster.members.retain(|m| m.nick != nick);
                self.announce_roster(&mut out);
            }
            _ => {}
        }
        self.settle_delivery();
        out
    }

    // ---------------------------------------------------------------- transport input

    /// A private message `line` from `from`.
    #[must_use = "the outputs must be handled: lines sent, the rest shown"]
    pub fn receive_private(&mut self, from: &str, line: &str) -> Vec<Output> {
        let mut out = Vec::new();
        let events = self.engine.receive(from, line);
        self.pump(events, None, &mut out);
        self.settle_delivery();
        out
    }

    /// A line `line` from `from` in `channel`. Lines tagged for someone else are
    /// discarded; lines tagged for us go to our OTR session with `from`; untagged text is
    /// ordinary channel text, which never starts or carries OTR.
    #[must_use = "the outputs must be handled: lines sent, the rest shown"]
    pub fn receive_channel(&mut self, channel: &str, from: &str, line: &str) -> Vec<Output> {
        let _ = channel;
        let mut out = Vec::new();
        match untag(line) {
            Some(t) if t.to == self.cfg.nick => {
                let payload = t.payload.to_owned();
                if self.channel_peers.len() < MAX_CHANNEL_PEERS {
                    self.channel_peers.insert(from.to_owned());
                }
                let events = self.engine.receive(from, &payload);
                self.pump(events, None, &mut out);
            }
            Some(_) => self.stats.discarded = self.stats.discarded.saturating_add(1),
            None => {
                let events = self.engine.receive_from_channel(from, line);
                self.pump(events, None, &mut out);
            }
        }
        self.settle_delivery();
        out
    }

    /// Time passed (seconds since the Unix epoch): retries, digests and deadlines.
    #[must_use = "the outputs must be handled: lines sent, the rest shown"]
    pub fn tick(&mut self, now: f64) -> Vec<Output> {
        let mut out = Vec::new();
        if now.is_finite() && now > self.now {
            if self.now == 0.0 {
                self.rebase_time(now);
            }
            self.now = now;
        }
        let events = self
            .engine
            .tick(otr::Time::from_secs_f64(self.now).unwrap_or_default());
        self.pump(events, None, &mut out);
        self.expire();
        self.retry_sessions(&mut out);
        self.retry_keys(&mut out);
        match &self.room {
            Room::Member(_) => {
                self.claim_timer(&mut out);
                self.member_timers(&mut out);
            }
            Room::Host(_) | Room::Idle | Room::Invited { .. } | Room::Joining { .. } => {}
        }
        self.settle_delivery();
        out
    }

    /// The first tick: what was stamped before we knew the time (0) is stamped now, so
    /// no timer fires for the mere arrival of the clock.
    fn rebase_time(&mut self, now: f64) {
        self.rebase_caps(now);
        for link in self.links.values_mut() {
            if link.started.is_some() {
                link.started = Some(now);
            }
            if let KeyState::Offered { since, .. } = &mut link.key {
                *since = now;
            }
        }
        let s = match &mut self.room {
            Room::Member(m) => {
                m.last_resend = now;
                if m.gap_since.is_some() {
                    m.gap_since = Some(now);
                }
                if let Some(c) = &mut m.claim {
                    c.since = now;
                }
                &mut m.s
            }
            Room::Host(h) => &mut h.s,
            Room::Idle | Room::Invited { .. } | Room::Joining { .. } => return,
        };
        s.last_digest.1 = now;
        for (_, first, last) in s.unechoed.values_mut() {
            *first = now;
            *last = now;
        }
    }

    /// Handles events from the engine obtained through [`Node::engine_mut`].
    #[must_use = "the outputs must be handled: lines sent, the rest shown"]
    pub fn absorb(&mut self, events: Vec<Event>) -> Vec<Output> {
        let mut out = Vec::new();
        self.pump(events, None, &mut out);
        self.settle_delivery();
        out
    }

    // ---------------------------------------------------------------- engine plumbing

    fn pump(&mut self, events: Vec<Event>, origin: Option<&str>, out: &mut Vec<Output>) {
        for event in events {
            match event {
                Event::Wire { peer, data } => self.route(&peer, data, origin, out),
                Event::Message {
                    peer,
                    text,
                    encrypted,
                    origin,
                } => self.on_message(peer, text, encrypted, origin, out),
                Event::State {
                    peer,
                    instance,
                    state,
                    fingerprint,
                    trusted,
                } => {
                    if state == ConversationState::Encrypted {
                        self.on_private(&peer, fingerprint, out);
                    }
                    let ours = self.host_nick() == Some(peer.as_str());
                    out.push(Output::Otr(Event::State {
                        peer,
                        instance,
                        state,
                        fingerprint,
                        trusted,
                    }));
                    if ours {
                        self.push_info(out);
                    }
                }
                Event::ExtraSymmetricKey {
                    peer,
                    usage,
                    usedata,
                    key,
                    origin,
                } if usage == GROUP_KEY_USAGE => {
                    self.on_tlv_key(&peer, &usedata, key, origin.fingerprint, out)
                }
                other => out.push(Output::Otr(other)),
            }
        }
    }

    fn route(&mut self, peer: &str, data: String, origin: Option<&str>, out: &mut Vec<Output>) {
        self.stats.sent = self.stats.sent.saturating_add(1);
        if let Delivery::Channel(ch) = &self.delivery {
            if self.channel_link(peer) {
                let from = origin.unwrap_or(&self.cfg.nick);
                out.push(Output::Send {
                    to: Target::Channel(ch.clone()),
                    line: tag(peer, from, &data),
                });
                return;
            }
        }
        out.push(Output::Send {
            to: Target::Private(peer.to_owned()),
            line: data,
        });
    }

    /// Host-member lines go through the channel in channel mode (thin members, who cannot
    /// read tags, and member-member lines always go private). An invitee goes through the
    /// channel before it joins only when the channel is our configured delivery (everyone
    /// sits in it); in a room we opened in a channel of our choice ([`Node::host_in`], or
    /// inherited in a hand-off) the invitee may not be in the channel yet: its key exchange
    /// and invitation go private, and its `join` (tagged, once it followed the invitation
    /// into the channel) moves it to the channel.
    fn channel_link(&self, peer: &str) -> bool {
        if self.channel_peers.contains(peer) {
            return true;
        }
        match &self.room {
            Room::Host(h) => {
                (h.invited.get(peer) == Some(&MemberKind::Full)
                    && self.delivery == self.cfg.delivery)
                    || h.s
                        .roster
                        .entry(peer)
                        .is_some_and(|e| e.kind == MemberKind::Full)
            }
            Room::Member(m) => m.s.host == peer,
            Room::Invited { host, .. } | Room::Joining { host, .. } => host == peer,
            Room::Idle => false,
        }
    }

    fn link(&mut self, peer: &str) -> &mut Link {
        self.links.entry(peer.to_owned()).or_insert_with(Link::new)
    }

    /// Starts an OTR session with `peer` unless one was started less than
    /// `session_retry_secs` ago. Between two full members the lower fingerprint starts it
    /// (it derives their pairwise key, see `mesh`): the other waits one interval for it
    /// before starting itself, because two exchanges started at once over a slow network
    /// collide and restart each other.
    fn ensure_session(&mut self, peer: &str, out: &mut Vec<Output>) {
        let now = self.now;
        let retry = self.cfg.session_retry_secs;
        let theirs = self.wants_key(peer) && !self.key_initiator(peer);
        let link = self.link(peer);
        if link.started.is_some_and(|t| now - t < retry) {
            return;
        }
        link.started = Some(now);
        if theirs && !link.deferred {
            link.deferred = true;
            return;
        }
        // Refused only when the policy disables OTR: then no session forms, and the room's
        // own deadlines report what never arrives.
        if let Ok(events) = self.engine.start(peer) {
            self.pump(events, None, out);
        }
    }

    fn send_raw(&mut self, peer: &str, text: String, origin: Option<&str>, out: &mut Vec<Output>) {
        if self.engine.state(peer) == ConversationState::Encrypted
            && self.key_mismatch(peer).is_none()
        {
            let events = self.engine.send(peer, &text);
            self.pump(events, origin, out);
        } else {
            self.enqueue(peer, text, origin);
            self.ensure_session(peer, out);
        }
    }

    fn send_env(
        &mut self,
        peer: &str,
        env: &Envelope,
        origin: Option<&str>,
        out: &mut Vec<Output>,
    ) {
        if self.is_host() {
            if let Some(mut hook) = self.hook.take() {
                let envs = hook(peer, env.clone());
                self.hook = Some(hook);
                for e in envs {
                    self.send_raw(peer, e.encode(), origin, out);
                }
                return;
            }
        }
        self.send_raw(peer, env.encode(), origin, out);
    }

    fn send_text(&mut self, peer: &str, text: &str, out: &mut Vec<Output>) {
        self.send_raw(peer, text.to_owned(), None, out);
    }

    /// A private session with `peer` is up (or what we send it now goes to another of
    /// its sessions): check its key against the room's, flush what waited for it, and
    /// offer a pairwise key if that is our part.
    fn on_private(&mut self, peer: &str, _fingerprint: Option<Fingerprint>, out: &mut Vec<Output>) {
        // Only peers we keep state for (the room's) have a link; a session with anyone
        // else creates none.
        if let Some(l) = self.links.get_mut(peer) {
            l.deferred = false;
        }
        if let Some((_, expected, actual)) = self.key_mismatch(peer) {
            self.warn_mismatch(peer, expected, actual, out);
            if let Some(l) = self.links.get_mut(peer) {
                l.outbox.clear();
            }
            return;
        }
        if let Room::Host(h) = &self.room {
            if h.invited.get(peer) == Some(&MemberKind::Thin) {
                self.admit_thin(peer, out);
            }
        }
        let pending = self
            .links
            .get_mut(peer)
            .map(|l| l.outbox.take())
            .unwrap_or_default();
        let flushed = !pending.is_empty();
        for (text, origin) in pending {
            let events = self.engine.send(peer, &text);
            self.pump(events, origin.as_deref(), out);
        }
        if flushed {
            self.pin_invitee(peer);
        }
        if self.key_initiator(peer) && matches!(self.link(peer).key, KeyState::None) {
            self.offer_key(peer, out);
        }
    }

    fn on_message(
        &mut self,
        peer: String,
        text: String,
        encrypted: bool,
        origin: Option<otr::Origin>,
        out: &mut Vec<Output>,
    ) {
        if let (true, Some(o)) = (encrypted, origin) {
            let thin_at_host = matches!(&self.room, Room::Host(h)
                if h.s.roster.entry(&peer).is_some_and(|e| e.kind == MemberKind::Thin));
            if thin_at_host {
                if self.origin_ok(&peer, o.fingerprint, out) {
                    self.relay_thin(&peer, text, out);
                }
                return;
            }
            if text.starts_with(PREFIX) {
                if let Ok(env) = Envelope::decode(&text) {
                    self.on_envelope(&peer, env, o.fingerprint, out);
                }
                return;
            }
            if other_version(&text) {
                // Another version of this protocol: its rooms do not mix with ours.
                return;
            }
        } else if text.starts_with(PREFIX) || other_version(&text) {
            // Group content is only ever accepted inside a private session.
            return;
        }
        out.push(Output::Otr(Event::Message {
            peer,
            text,
            encrypted,
            origin,
        }));
    }

    // ---------------------------------------------------------------- pairwise keys

    /// Do we want a pairwise MAC key with `peer`? Both are full members, neither hosts.
    fn wants_key(&self, peer: &str) -> bool {
        let Some(s) = self.shared() else {
            return false;
        };
        self.cfg.pairwise_macs
            && peer != self.cfg.nick
            && peer != s.host
            && s.host != self.cfg.nick
            && s.roster
                .entry(peer)
                .is_some_and(|e| e.kind == MemberKind::Full)
    }

    /// The member with the lower fingerprint derives the key.
    fn key_initiator(&self, peer: &str) -> bool {
        self.wants_key(peer)
            && self
                .shared()
                .and_then(|s| s.roster.entry(peer))
                .is_some_and(|e| self.engine.fingerprint().0 < e.fingerprint.0)
    }

    fn offer_key(&mut self, peer: &str, out: &mut Vec<Output>) {
        let Some(room) = self.room_id().cloned() else {
            return;
        };
        if self.engine.state(peer) != ConversationState::Encrypted {
            self.ensure_session(peer, out);
            return;
        }
        if self.key_mismatch(peer).is_some() {
            // The engine's current session with the peer has another key than the
            // roster's: a key derived there would be shared with that key's holder.
            return;
        }
        let derived =
            self.engine
                .extra_symmetric_key(peer, GROUP_KEY_USAGE, room.as_str().as_bytes());
        // Refused only without a private session, which was checked above.
        if let Ok((extra, events)) = derived {
            self.pump(events, None, out);
            let k = PairKey::derive(extra.as_bytes(), &room);
            let now = self.now;
            let link = self.link(peer);
            let mut keys = match std::mem::replace(&mut link.key, KeyState::None) {
                KeyState::Offered { keys, .. } => keys,
                KeyState::Ready { known, .. } => known,
                KeyState::None => Vec::new(),
            };
            keys.push(k);
            if keys.len() > 8 {
                keys.remove(0);
            }
            link.key = KeyState::Offered { keys, since: now };
        }
    }

    /// The peer derived a key for us (we are the responder), over a session whose key is
    /// `key`: taken only if that is the key the roster names for the peer.
    fn on_tlv_key(
        &mut self,
        peer: &str,
        usedata: &[u8],
        extra: otr::SymmetricKey,
        key: Fingerprint,
        out: &mut Vec<Output>,
    ) {
        let Some(room) = self.room_id().cloned() else {
            return;
        };
        if usedata != room.as_str().as_bytes() || !self.origin_ok(peer, key, out) {
            return;
        }
        if !self.wants_key(peer) {
            if peer != self.cfg.nick && self.shared().is_none_or(|s| s.roster.entry(peer).is_none())
            {
                // The sender learnt of us before we learnt of it: answer once our roster
                // names it with this key (see `mesh`), not at the initiator's next retry.
                // At most MAX_EARLY_OFFERS peers' (the latest of each).
                let kept = self
                    .links
                    .values()
                    .filter(|l| l.early_offer.is_some())
                    .count();
                let theirs = self
                    .links
                    .get(peer)
                    .is_some_and(|l| l.early_offer.is_some());
                if theirs || kept < MAX_EARLY_OFFERS {
                    self.link(peer).early_offer = Some((extra, key));
                }
            }
            return;
        }
        self.accept_offer(peer, room, extra, out);
    }

    /// We are the responder: take the peer's key and acknowledge it.
    fn accept_offer(
        &mut self,
        peer: &str,
        room: RoomId,
        extra: otr::SymmetricKey,
        out: &mut Vec<Output>,
    ) {
        let k = PairKey::derive(extra.as_bytes(), &room);
        let kid = k.kid();
        let from = self.shared().map_or(0, |s| s.sseq).saturating_add(1);
        let link = self.link(peer);
        let mut known = match std::mem::replace(&mut link.key, KeyState::None) {
            KeyState::Offered { keys, .. } => keys,
            KeyState::Ready { known, .. } => known,
            KeyState::None => Vec::new(),
        };
        known.push(k.clone());
        if known.len() > 8 {
            known.remove(0);
        }
        link.key = KeyState::Ready { send: k, known };
        self.send_env(peer, &Envelope::KeyAck { room, kid, from }, None, out);
    }

    fn on_key_ack(&mut self, peer: &str, kid: [u8; 8], from: u64, out: &mut Vec<Output>) {
        if !self.wants_key(peer) {
            return;
        }
        let our_from = self.shared().map_or(0, |s| s.sseq).saturating_add(1);
        let Some(room) = self.room_id().cloned() else {
            return;
        };
        let link = self.link(peer);
        let mut reply = false;
        match std::mem::replace(&mut link.key, KeyState::None) {
            KeyState::Offered { keys, since } => {
                if let Some(k) = keys.iter().find(|k| k.kid() == kid).cloned() {
                    link.key = KeyState::Ready {
                        send: k,
                        known: keys,
                    };
                    reply = true;
                } else {
                    link.key = KeyState::Offered { keys, since };
                }
            }
            KeyState::Ready { send, known } => {
                link.key = KeyState::Ready { send, known };
            }
            KeyState::None => {}
        }
        if !link.known_keys().iter().any(|k| k.kid() == kid) {
            return;
        }
        link.their_from = Some(link.their_from.map_or(from, |f| f.min(from)));
        let late: Vec<(u64, u64)> = link
            .unauthenticated
            .iter()
            .copied()
            .filter(|(sseq, _)| *sseq >= from)
            .collect();
        link.unauthenticated.clear();
        for (_, gseq) in late {
            out.push(Output::Alert(Alert::Forged {
                room: room.clone(),
                gseq,
                sender: peer.to_owned(),
                reason: ForgeReason::MissingMac,
            }));
        }
        if reply {
            self.send_env(
                peer,
                &Envelope::KeyAck {
                    room,
                    kid,
                    from: our_from,
                },
                None,
                out,
            );
        }
    }

    fn retry_keys(&mut self, out: &mut Vec<Output>) {
        let now = self.now;
        let retry = self.cfg.session_retry_secs;
        let due: Vec<String> = self
            .links
            .iter()
            .filter(
                |(_, l)| matches!(l.key, KeyState::Offered { since, .. } if now - since >= retry),
            )
            .map(|(p, _)| p.clone())
            .collect();
        for peer in due {
            if self.key_initiator(&peer) {
                self.offer_key(&peer, out);
            }
        }
    }

    fn retry_sessions(&mut self, out: &mut Vec<Output>) {
        let waiting: Vec<String> = self
            .links
            .iter()
            .filter(|(_, l)| !l.outbox.is_empty())
            .map(|(p, _)| p.clone())
            .collect();
        for peer in waiting {
            self.ensure_session(&peer, out);
        }
    }

    /// After a roster change: start what the members' mesh needs from us.
    fn mesh(&mut self, out: &mut Vec<Output>) {
        let Some(s) = self.shared() else {
            return;
        };
        let room = s.id.clone();
        let peers: Vec<String> = s.roster.members.iter().map(|m| m.nick.clone()).collect();
        for peer in peers {
            if self.key_initiator(&peer) && matches!(self.link(&peer).key, KeyState::None) {
                self.offer_key(&peer, out);
            }
            if self.wants_key(&peer) {
                let early = self.links.get_mut(&peer).and_then(|l| l.early_offer.take());
                if let Some((extra, key)) = early {
                    if self.origin_ok(&peer, key, out) {
                        self.accept_offer(&peer, room.clone(), extra, out);
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- envelopes

    /// An envelope from `from`, over a session whose key is `key`.
    fn on_envelope(&mut self, from: &str, env: Envelope, key: Fingerprint, out: &mut Vec<Output>) {
        if let Envelope::Invite { room, channel } = env {
            if matches!(self.room, Room::Idle) {
                self.room = Room::Invited {
                    room: room.clone(),
                    host: from.to_owned(),
                    channel: channel.clone(),
                    host_fp: key,
                };
                out.push(Output::Invited {
                    room,
                    host: from.to_owned(),
                    channel,
                });
            }
            return;
        }
        if Some(env.room()) != self.room_id() {
            return;
        }
        if !self.origin_ok(from, key, out) {
            return;
        }
        match env {
            Envelope::Invite { .. } => {}
            Envelope::Join { .. } => self.on_join(from, out),
            Envelope::Welcome {
                epoch,
                gseq,
                anchor,
                ..
            } => self.on_welcome(from, epoch, gseq, anchor, out),
            Envelope::Relay {
                epoch,
                gseq,
                item,
                mac,
                ..
            } => self.on_relay(from, epoch, gseq, item, mac, out),
            Envelope::Say {
                sseq,
                seen,
                body,
                macs,
                ..
            } => self.on_say(from, sseq, seen, body, macs, out),
            Envelope::Resend {
                epoch, from: a, to, ..
            } => self.on_resend(from, epoch, a, to, out),
            Envelope::Bye { closed, .. } => self.on_bye(from, closed, out),
            Envelope::Leave { .. } => self.on_leave(from, out),
            Envelope::KeyAck { kid, from: f, .. } => self.on_key_ack(from, kid, f, out),
            Envelope::Digest {
                epoch, gseq, head, ..
            } => self.on_digest(from, epoch, gseq, head, out),
        }
    }

    /// Only the host's session may carry host content.
    fn is_host_peer(&self, from: &str, out: &mut Vec<Output>) -> bool {
        if self.host_nick() == Some(from) {
            return true;
        }
        out.push(Output::Alert(Alert::NotAdmitted {
            room: self.room_id().cloned(),
            nick: from.to_owned(),
        }));
        false
    }

    // ---------------------------------------------------------------- host side

    fn on_join(&mut self, from: &str, out: &mut Vec<Output>) {
        let Room::Host(h) = &mut self.room else {
            return;
        };
        // The join came over the key our invitation went to (checked by `origin_ok`
        // against the pin); without a pin the invitation never left, and no join is due.
        let pin = h.pins.get(from).copied();
        let (Some(MemberKind::Full), Some(fp)) = (h.invited.get(from), pin) else {
            out.push(Output::Alert(Alert::NotAdmitted {
                room: Some(h.s.id.clone()),
                nick: from.to_owned(),
            }));
            return;
        };
        h.enrol(from, fp, MemberKind::Full);
        let welcome = Envelope::Welcome {
            room: h.s.id.clone(),
            epoch: h.s.epoch,
            gseq: h.s.chain.gseq,
            anchor: h.s.chain.head,
        };
        self.send_env(from, &welcome, None, out);
        self.announce_roster(out);
    }

    fn admit_thin(&mut self, nick: &str, out: &mut Vec<Output>) {
        let Some(fp) = self.engine.peer_fingerprint(nick) else {
            return;
        };
        let Room::Host(h) = &mut self.room else {
            return;
        };
        h.enrol(nick, fp, MemberKind::Thin);
        let text = format!(
            "[room {}] you are in a private group hosted by {}; what you write here goes to everyone",
            h.s.id, h.s.host
        );
        self.send_text(nick, &text, out);
        self.announce_roster(out);
    }

    fn on_leave(&mut self, from: &str, out: &mut Vec<Output>) {
        let Room::Host(h) = &mut self.room else {
            return;
        };
        if from == h.s.host || !h.s.roster.contains(from) {
            return;
        }
        h.s.roster.members.retain(|m| m.nick != from);
        self.announce_roster(out);
    }

    fn announce_roster(&mut self, out: &mut Vec<Output>) {
        let Room::Host(h) = &self.room else {
            return;
        };
        let roster = h.s.roster.clone();
        out.push(Output::Roster {
            room: h.s.id.clone(),
            epoch: h.s.epoch,
            roster: roster.clone(),
        });
        self.relay_item(Item::Roster(roster), Vec::new(), out);
        self.prune_to_roster();
        self.push_info(out);
    }

    fn on_say(
        &mut self,
        from: &str,
        sseq: u64,
        seen: u64,
        body: String,
        macs: Vec<(String, [u8; MAC_LEN])>,
        out: &mut Vec<Output>,
    ) {
        let Room::Host(h) = &mut self.room else {
            return;
        };
        if !h
            .s
            .roster
            .entry(from)
            .is_some_and(|e| e.kind == MemberKind::Full)
            || from == h.s.host
        {
            out.push(Output::Alert(Alert::NotAdmitted {
                room: Some(h.s.id.clone()),
                nick: from.to_owned(),
            }));
            return;
        }
        let last = h.s.senders.get(from).map_or(0, |(l, _)| *l);
        if sseq <= last {
            // A retry whose echo was lost: send the relay again.
            let again = h
                .history
                .iter()
                .find(|r| matches!(&r.item, Item::Msg(m) if m.sender == from && m.sseq == sseq));
            if let Some(r) = again {
                let env = Envelope::Relay {
                    room: h.s.id.clone(),
                    epoch: h.s.epoch,
                    gseq: r.gseq,
                    item: r.item.clone(),
                    mac: None,
                };
                // Within the member's resend budget: repeating a `say` must not buy more
                // traffic than asking for a resend does.
                self.send_again(from, vec![env], Some(from), out);
            }
            return;
        }
        // A counter at its end can have no successor (it came from a poisoned hand-off).
        let Some(next) = last.checked_add(1) else {
            return;
        };
        if sseq > next {
            let now = self.now;
            h.hold(from, sseq, (seen, body, macs, now));
            return;
        }
        self.relay_msg(from, sseq, seen, body, macs, out);
        loop {
            let Room::Host(h) = &mut self.room else {
                return;
            };
            let Some(next) = h.s.senders.get(from).map_or(0, |(l, _)| *l).checked_add(1) else {
                return;
            };
            let Some((seen, body, macs, _)) = h.held.get_mut(from).and_then(|m| m.remove(&next))
            else {
                return;
            };
            self.relay_msg(from, next, seen, body, macs, out);
        }
    }

    fn relay_thin(&mut self, from: &str, text: String, out: &mut Vec<Output>) {
        let Room::Host(h) = &mut self.room else {
            return;
        };
        let seq = h.thin_seq.entry(from.to_owned()).or_insert(0);
        // The counter continues a former host's, which a hand-off carried over.
        let Some(sseq) = seq.checked_add(1) else {
            return;
        };
        *seq = sseq;
        let seen = h.s.chain.gseq;
        let mut text = text;
        if text.len() > MAX_BODY {
            let mut cut = MAX_BODY;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        self.relay_msg(from, sseq, seen, text, Vec::new(), out);
    }

    fn relay_msg(
        &mut self,
        sender: &str,
        sseq: u64,
        seen: u64,
        body: String,
        macs: Vec<(String, [u8; MAC_LEN])>,
        out: &mut Vec<Output>,
    ) {
        let Room::Host(h) = &mut self.room else {
            return;
        };
        let entry = h.s.senders.entry(sender.to_owned()).or_default();
        entry.0 = sseq;
        remember(&mut entry.1, sseq);
        let Some(gseq) = h.s.chain.gseq.checked_add(1) else {
            return;
        };
        let auth = if sender == h.s.host {
            Auth::Own
        } else {
            Auth::Session
        };
        out.push(Output::Message(GroupMessage {
            room: h.s.id.clone(),
            epoch: h.s.epoch,
            gseq,
            sender: sender.to_owned(),
            text: body.clone(),
            auth,
        }));
        let item = Item::Msg(MsgItem {
            sender: sender.to_owned(),
            sseq,
            seen,
            body,
        });
        self.relay_item(item, macs, out);
    }

    /// Numbers `item`, adds it to our transcript, and sends it to every member.
    fn relay_item(
        &mut self,
        item: Item,
        macs: Vec<(String, [u8; MAC_LEN])>,
        out: &mut Vec<Output>,
    ) {
        let Room::Host(h) = &mut self.room else {
            return;
        };
        let Some(gseq) = h.s.chain.gseq.checked_add(1) else {
            return;
        };
        h.s.chain.push(gseq, &item);
        let (room, epoch, host) = (h.s.id.clone(), h.s.epoch, h.s.host.clone());
        let members: Vec<RosterEntry> = h.s.roster.members.clone();
        let origin = match &item {
            Item::Msg(m) => m.sender.clone(),
            Item::Roster(_) => host.clone(),
        };
        for m in &members {
            if m.nick == host {
                continue;
            }
            match m.kind {
                MemberKind::Full => {
                    let mac = macs.iter().find(|(n, _)| *n == m.nick).map(|(_, mac)| *mac);
                    let env = Envelope::Relay {
                        room: room.clone(),
                        epoch,
                        gseq,
                        item: item.clone(),
                        mac,
                    };
                    self.send_env(&m.nick, &env, Some(&origin), out);
                }
                MemberKind::Thin => {
                    let text = match &item {
                        Item::Msg(msg) if msg.sender == m.nick => continue,
                        Item::Msg(msg) => format!("<{}> {}", msg.sender, msg.body),
                        Item::Roster(r) => format!(
                            "[room] members: {}",
                            r.members
                                .iter()
                                .map(|e| e.nick.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    };
                    self.send_text(&m.nick, &text, out);
                }
            }
        }
        let keep = self.cfg.history;
        if let Room::Host(h) = &mut self.room {
            h.history.push(Relayed { gseq, item, macs }, keep);
        }
    }

    fn on_resend(&mut self, from: &str, epoch: u64, a: u64, to: u64, out: &mut Vec<Output>) {
        let Room::Host(h) = &self.room else {
            return;
        };
        if epoch != h.s.epoch
            || !h
                .s
                .roster
                .entry(from)
                .is_some_and(|e| e.kind == MemberKind::Full)
        {
            return;
        }
        let to = to.min(a.saturating_add(RESEND_MAX_ITEMS - 1));
        let room = h.s.id.clone();
        let again: Vec<Envelope> = h
            .history
            .iter()
            .filter(|r| r.gseq >= a && r.gseq <= to)
            .map(|r| Envelope::Relay {
                room: room.clone(),
                epoch,
                gseq: r.gseq,
                item: r.item.clone(),
                mac: r.macs.iter().find(|(n, _)| n == from).map(|(_, m)| *m),
            })
            .collect();
        self.send_again(from, again, None, out);
    }

    // ---------------------------------------------------------------- member side

    fn on_welcome(
        &mut self,
        from: &str,
        epoch: u64,
        gseq: u64,
        anchor: [u8; 32],
        out: &mut Vec<Output>,
    ) {
        match &mut self.room {
            Room::Joining {
                room,
                host,
                host_fp,
            } if host == from => {
                if epoch == u64::MAX {
                    // No next generation could follow this one.
                    out.push(Output::Alert(Alert::OutOfRange {
                        room: room.clone(),
                        nick: from.to_owned(),
                        field: "generation",
                        value: epoch,
                    }));
                    return;
                }
                let (room, host, host_fp) = (room.clone(), host.clone(), *host_fp);
                let s = self.new_shared(
                    room.clone(),
                    epoch,
                    (host.clone(), host_fp),
                    Roster::default(),
                    gseq,
                    Some(anchor),
                );
                self.room = Room::Member(Box::new(MemberRoom::new(s, true, gseq, self.now)));
                out.push(Output::Joined { room, host });
                self.push_info(out);
            }
            Room::Member(m) if !m.welcomed && m.s.host == from && epoch == m.s.epoch => {
                if gseq != 0 || anchor != genesis(&m.s.id, epoch) {
                    out.push(Output::Alert(Alert::Diverged {
                        room: m.s.id.clone(),
                        epoch,
                        gseq,
                        peer: from.to_owned(),
                        verdict: Divergence::NewHost,
                    }));
                }
                m.welcomed = true;
                let (room, host) = (m.s.id.clone(), m.s.host.clone());
                out.push(Output::HostChanged { room, epoch, host });
                self.push_info(out);
                // What we wrote while the room had no host goes to the new one, which
                // gets the whole deadline to relay it from now: the room may have been
                // without a host for longer than that (a member that shares no channel
                // with the old host learns it left only from a poll or a bounced line).
                let now = self.now;
                let pending: Vec<u64> = match &mut self.room {
                    Room::Member(m) => {
                        for (_, first, _) in m.s.unechoed.values_mut() {
                            *first = now;
                        }
                        m.s.unechoed.keys().copied().collect()
                    }
                    _ => Vec::new(),
                };
                for sseq in pending {
                    self.send_say(sseq, out);
                }
            }
            // The successor welcomes us to the next generation before we know that the
            // host left: members learn it at different times, but following without our
            // own evidence would let a member take the room from a live host. Kept until
            // that evidence comes (see the `handoff` module).
            Room::Member(m)
                if m.welcomed
                    && m.s.epoch.checked_add(1) == Some(epoch)
                    && from != m.s.host
                    && m.s
                        .roster
                        .successor(&m.s.id, m.s.epoch)
                        .is_some_and(|e| e.nick == from) =>
            {
                self.on_claim(from, epoch, gseq, anchor);
            }
            _ => {
                let _ = self.is_host_peer(from, out);
            }
        }
    }

    fn send_say(&mut self, sseq: u64, out: &mut Vec<Output>) {
        let Room::Member(m) = &mut self.room else {
            return;
        };
        let Some((body, _, last)) = m.s.unechoed.get_mut(&sseq) else {
            return;
        };
        *last = self.now;
        let body = body.clone();
        let (seen, epoch) = (m.s.chain.gseq, m.s.epoch);
        let me = self.cfg.nick.clone();
        let room = m.s.id.clone();
        let host = m.s.host.clone();
        let mut macs = Vec::new();
        for e in &m.s.roster.members {
            if e.nick == me || e.nick == host || e.kind != MemberKind::Full {
                continue;
            }
            if let Some(Link {
                key: KeyState::Ready { send, .. },
                ..
            }) = self.links.get(&e.nick)
            {
                macs.push((
                    e.nick.clone(),
                    send.mac(&room, epoch, &me, &e.nick, sseq, seen, &body),
                ));
            }
        }
        let env = Envelope::Say {
            room,
            sseq,
            seen,
            body,
            macs,
        };
        self.send_env(&host, &env, None, out);
    }

    fn on_relay(
        &mut self,
        from: &str,
        epoch: u64,
        gseq: u64,
        item: Item,
        mac: Option<[u8; MAC_LEN]>,
        out: &mut Vec<Output>,
    ) {
        if self.early_next_generation(from, epoch, gseq) || !self.is_host_peer(from, out) {
            return;
        }
        let Room::Member(m) = &mut self.room else {
            return;
        };
        if !m.welcomed || epoch != m.s.epoch {
            return;
        }
        self.host_alive(out);
        let Room::Member(m) = &mut self.room else {
            return;
        };
        if gseq <= m.s.chain.gseq {
            return;
        }
        if gseq > m.s.chain.gseq.saturating_add(MAX_AHEAD) {
            out.push(Output::Alert(Alert::OutOfRange {
                room: m.s.id.clone(),
                nick: from.to_owned(),
                field: "transcript number",
                value: gseq,
            }));
            return;
        }
        // Refused past its caps; asked for again once the gap before it is filled.
        let _ = m.buffer.insert(gseq, item, mac);
        m.known_max = m.known_max.max(gseq);
        self.drain(out);
    }

    /// Processes buffered items in transcript order.
    fn drain(&mut self, out: &mut Vec<Output>) {
        loop {
            let Room::Member(m) = &mut self.room else {
                return;
            };
            let Some(next) = m.s.chain.gseq.checked_add(1) else {
                return;
            };
            let Some((item, mac)) = m.buffer.take(next) else {
                m.gap_since = if m.known_max > m.s.chain.gseq {
                    m.gap_since.or(Some(self.now))
                } else {
                    None
                };
                return;
            };
            m.gap_since = None;
            self.accept_item(next, item, mac, out);
        }
    }

    fn accept_item(
        &mut self,
        gseq: u64,
        item: Item,
        mac: Option<[u8; MAC_LEN]>,
        out: &mut Vec<Output>,
    ) {
        let me = self.cfg.nick.clone();
        let mut adopt = true;
        match &item {
            Item::Msg(msg) => {
                if let Some(auth) = self.check_msg(gseq, msg, mac, out) {
                    let Room::Member(m) = &self.room else {
                        return;
                    };
                    out.push(Output::Message(GroupMessage {
                        room: m.s.id.clone(),
                        epoch: m.s.epoch,
                        gseq,
                        sender: msg.sender.clone(),
                        text: msg.body.clone(),
                        auth,
                    }));
                }
            }
            Item::Roster(r) => {
                let Room::Member(m) = &self.room else {
                    return;
                };
                // The roster must name the host we follow, with the key we know it by;
                // another one is counted in the transcript (the host showed it) but not
                // adopted.
                let listed = r.entry(&m.s.host).map(|e| e.fingerprint);
                if r.host != m.s.host || listed.is_none() {
                    out.push(Output::Alert(Alert::NotAdmitted {
                        room: Some(m.s.id.clone()),
                        nick: r.host.clone(),
                    }));
                    adopt = false;
                } else if let Some(actual) = listed.filter(|fp| *fp != m.s.host_fp) {
                    let (host, expected) = (m.s.host.clone(), m.s.host_fp);
                    self.warn_mismatch(&host, expected, actual, out);
                    adopt = false;
                } else if let Some(e) = r.entry(&me) {
                    // The host gives us another key: the others would take whoever holds
                    // it for us, and as they all see the same roster no digest differs.
                    // Only we can tell.
                    let ours = self.engine.fingerprint();
                    if e.fingerprint != ours {
                        let actual = e.fingerprint;
                        self.warn_mismatch(&me, ours, actual, out);
                        adopt = false;
                    }
                }
            }
        }
        let Room::Member(m) = &mut self.room else {
            return;
        };
        m.s.chain.push(gseq, &item);
        let head = m.s.chain.head;
        // Digests from others that waited for this number.
        let due: Vec<(String, [u8; 32])> = m
            .claims
            .iter()
            .filter(|(_, (g, _))| *g == gseq)
            .map(|(p, (_, h))| (p.clone(), *h))
            .collect();
        let now = self.now;
        for (peer, theirs) in due {
            m.claims.remove(&peer);
            m.compared(&peer, gseq, theirs == head, now);
        }
        let watchers = Self::watchers(&m.s, &me).len();
        m.settle(watchers, self.cfg.checkpoint_secs, now, false, out);
        if let (Item::Roster(r), true) = (item, adopt) {
            if !r.contains(&me) {
                let room = m.s.id.clone();
                self.room = Room::Idle;
                self.links.clear();
                out.push(Output::Left {
                    room,
                    reason: LeftReason::Removed,
                });
                return;
            }
            m.s.roster = r.clone();
            self.prune_to_roster();
            if let Room::Member(m) = &self.room {
                out.push(Output::Roster {
                    room: m.s.id.clone(),
                    epoch: m.s.epoch,
                    roster: r,
                });
            }
            self.mesh(out);
        }
        if gseq.is_multiple_of(self.cfg.checkpoint_every.max(1)) {
            self.send_digest(out);
        }
    }

    /// The members we send our digests to: our next two on the ring (the generation's
    /// order, [`crate::order`]; fewer in a small room). By symmetry, as many compare with us, so each difference has a second
    /// opinion.
    fn watchers(s: &Shared, me: &str) -> Vec<String> {
        let ring = s.roster.ring(&s.id, s.epoch);
        let Some(i) = ring.iter().position(|e| e.nick == me) else {
            return Vec::new();
        };
        let mut out: Vec<String> = Vec::new();
        for step in 1..=2 {
            let e = ring[(i + step) % ring.len()];
            if e.nick != me && !out.contains(&e.nick) {
                out.push(e.nick.clone());
            }
        }
        out
    }

    fn send_digest(&mut self, out: &mut Vec<Output>) {
        let me = self.cfg.nick.clone();
        let now = self.now;
        let Room::Member(m) = &mut self.room else {
            return;
        };
        m.s.last_digest = (m.s.chain.gseq, now);
        let env = Envelope::Digest {
            room: m.s.id.clone(),
            epoch: m.s.epoch,
            gseq: m.s.chain.gseq,
            head: m.s.chain.head,
        };
        for peer in Self::watchers(&m.s, &me) {
            self.send_env(&peer, &env, None, out);
        }
    }

    fn on_digest(
        &mut self,
        from: &str,
        epoch: u64,
        gseq: u64,
        head: [u8; 32],
        out: &mut Vec<Output>,
    ) {
        let Room::Member(m) = &mut self.room else {
            return;
        };
        let member_of = |r: &Roster| r.entry(from).is_some_and(|e| e.kind == MemberKind::Full);
        if epoch == m.s.epoch && m.welcomed {
            if !member_of(&m.s.roster) {
                return;
            }
            match m.s.chain.head_at(gseq) {
                Some(mine) => {
                    let now = self.now;
                    m.compared(from, gseq, mine == head, now);
                    let watchers = Self::watchers(&m.s, &self.cfg.nick).len();
                    m.settle(watchers, self.cfg.checkpoint_secs, now, false, out);
                }
                None if gseq > m.s.chain.gseq.saturating_add(MAX_AHEAD) => {
                    // Not believed: a member cannot be this far ahead of us.
                    out.push(Output::Alert(Alert::OutOfRange {
                        room: m.s.id.clone(),
                        nick: from.to_owned(),
                        field: "digest transcript number",
                        value: gseq,
                    }));
                }
                None if gseq > m.s.chain.gseq => {
                    m.claims.insert(from.to_owned(), (gseq, head));
                    m.known_max = m.known_max.max(gseq);
                    if m.gap_since.is_none() {
                        m.gap_since = Some(self.now);
                    }
                }
                None => {}
            }
        } else if let Some((chain, roster)) = &m.s.prev {
            if epoch != chain.epoch || !member_of(roster) {
                return;
            }
            let room = m.s.id.clone();
            match chain.head_at(gseq) {
                Some(mine) if mine != head && m.s.diverged.insert((epoch, from.to_owned())) => {
                    out.push(Output::Alert(Alert::Diverged {
                        room,
                        epoch,
                        gseq,
                        peer: from.to_owned(),
                        verdict: Divergence::Unresolved,
                    }));
                }
                None if gseq > chain.gseq => out.push(Output::Alert(Alert::Dropped {
                    room,
                    epoch,
                    from: chain.gseq.saturating_add(1),
                    to: gseq,
                })),
                _ => {}
            }
        } else if epoch > m.s.epoch {
            // A digest from a generation we do not know yet: ignore.
        }
    }

    fn on_bye(&mut self, from: &str, closed: bool, out: &mut Vec<Output>) {
        if !self.is_host_peer(from, out) {
            return;
        }
        if closed {
            self.hand_off(out);
            return;
        }
        let Some(room) = self.room_id().cloned() else {
            return;
        };
        self.room = Room::Idle;
        self.links.clear();
        out.push(Output::Left {
            room,
            reason: LeftReason::Removed,
        });
    }

    fn member_timers(&mut self, out: &mut Vec<Output>) {
        let now = self.now;
        let (retry, deadline) = (self.cfg.retry_secs, self.cfg.deadline_secs);
        let Room::Member(m) = &mut self.room else {
            return;
        };
        if !m.welcomed {
            return;
        }
        // Gaps: ask the host again, then give up loudly.
        if let Some(since) = m.gap_since {
            if now - since >= deadline {
                let from = m.s.chain.gseq.saturating_add(1);
                let to = m
                    .buffer
                    .first()
                    .map_or(m.known_max, |first| first.saturating_sub(1));
                out.push(Output::Alert(Alert::Dropped {
                    room: m.s.id.clone(),
                    epoch: m.s.epoch,
                    from,
                    to,
                }));
                // Continue after the gap; digests will show the difference if any.
                match m.buffer.first() {
                    Some(first) => {
                        let (gseq, head) = (first.saturating_sub(1), m.s.chain.head);
                        m.s.chain = Chain::new(m.s.epoch, gseq, head, self.cfg.history);
                        m.s.chain.head = head;
                    }
                    None => {
                        m.known_max = m.s.chain.gseq;
                    }
                }
                m.claims.retain(|_, (g, _)| *g > m.known_max);
                m.gap_since = None;
                self.drain(out);
            } else if now - since.max(m.last_resend) >= retry {
                m.last_resend = now;
                let (host, env) = m.resend_request(m.known_max);
                self.send_env(&host, &env, None, out);
            }
        }
        // Our messages the host has not relayed back.
        let Room::Member(m) = &mut self.room else {
            return;
        };
        let mut retry_now = Vec::new();
        let mut expired = Vec::new();
        for (sseq, (text, first, last)) in &m.s.unechoed {
            if now - first >= deadline {
                expired.push((*sseq, text.clone()));
            } else if now - last >= retry {
                retry_now.push(*sseq);
            }
        }
        for (sseq, text) in expired {
            m.s.unechoed.remove(&sseq);
            out.push(Output::Alert(Alert::NotRelayed {
                room: m.s.id.clone(),
                sseq,
                text,
            }));
        }
        for sseq in retry_now {
            self.send_say(sseq, out);
        }
        // Differences whose second opinion did not come in time.
        let Room::Member(m) = &mut self.room else {
            return;
        };
        let watchers = Self::watchers(&m.s, &self.cfg.nick).len();
        m.settle(watchers, self.cfg.checkpoint_secs, now, false, out);
        // A digest at least every `checkpoint_secs` while the transcript moves.
        let Room::Member(m) = &self.room else {
            return;
        };
        if m.s.chain.gseq > m.s.last_digest.0 && now - m.s.last_digest.1 >= self.cfg.checkpoint_secs
        {
            self.send_digest(out);
        }
    }
}
