//! One participant: an OTR engine (all its pairwise sessions) with the group layer on top.
//!
//! The node consumes the engine's events, turns group envelopes into room state and
//! [`Output`]s, and sends through the engine. It is sans-IO: lines come in through
//! [`Node::receive_private`] and [`Node::receive_channel`], time through [`Node::tick`],
//! the user's private conversations through [`Node::send_private`] and its siblings (the
//! engine is only lent out to read), and everything to transmit or show comes back as
//! [`Output`]s.
//!
//! `impl Node` is split by concern: `links` (sessions to peers, the engine's events,
//! sending), `private` (a client's private conversations), `pairwise` (members' MAC keys),
//! `host` and `member` (the two roles), `digests` (transcript comparison), `handoff` (when
//! the room moves), `authn` (how a line's sender is known), `origin` (whose key speaks for
//! whom), `caps` (what others can make us hold); `config` has the settings. This file has
//! the types, the constructor, the accessors and the entry points that dispatch on the
//! room's state.

use std::collections::{BTreeMap, BTreeSet};

use otr::crypto::Fingerprint;
use otr::{ConversationState, Engine};
use rand_core::CryptoRngCore;

use crate::chain::{genesis, Chain};
use crate::chatinfo::{ChatInfo, SecurityLevel};
use crate::envelope::{untag, Envelope, MemberKind, RoomId, Roster, MAX_BODY};
use crate::limits::MAX_CHANNEL_PEERS;
use crate::output::{Alert, LeftReason, Output};

mod authn;
mod caps;
mod config;
mod digests;
mod handoff;
mod host;
mod links;
mod member;
mod origin;
mod pairwise;
mod private;

use host::HostRoom;
use links::Link;
use member::MemberRoom;
use pairwise::KeyState;

pub use caps::Usage;
pub use config::{Config, Delivery};

/// The TLV 8 usage number under which members derive pairwise keys ("org1").
pub const GROUP_KEY_USAGE: u32 = 0x6f72_6731;

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
    prev: Option<handoff::Previous>,
    /// Our last message counter.
    sseq: u64,
    /// Our messages not yet relayed back to us, by sseq. Ours only (what our user
    /// typed), each gone after `deadline_secs`.
    unechoed: BTreeMap<u64, member::Unechoed>,
    /// Per sender: its counters. One per roster member: others' go at each roster change
    /// (`caps::prune_to_roster`).
    senders: BTreeMap<String, authn::Counters>,
    /// Peers we already raised `Diverged` for, per host generation: this generation and
    /// the previous one (older ones go at a hand-off).
    diverged: BTreeSet<digests::Reported>,
    /// Our last digest.
    last_digest: digests::LastDigest,
}

/// A point in a transcript: an item number and the chain head after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Position {
    gseq: u64,
    head: [u8; 32],
}

/// Where a room's transcript stands (see [`Node::transcript`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transcript {
    /// The host generation (1 for the room's first host, one more at each hand-off).
    pub epoch: u64,
    /// The number of the last item in our transcript of this generation.
    pub gseq: u64,
    /// The chain head after it.
    pub head: [u8; 32],
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
    /// The peers and keys we raised `FingerprintMismatch` for (see `origin`; at most
    /// `origin::MAX_MISMATCH_MEMORY`).
    mismatches: BTreeSet<origin::Warned>,
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

    /// The engine, to read (states, fingerprints, trust). What changes it goes through
    /// the node's methods (see the `private` module: [`Node::send_private`] and the
    /// others), which pass its events through the node.
    pub fn engine(&self) -> &Engine {
        &self.engine
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

    /// True if the room we are in (or invited to) rides on our OTR session with `peer`:
    /// `peer` hosts it; we host it and `peer` is a member (full or thin: we relay its lines
    /// over that session); or `peer` is a full member (our pairwise key and transcript
    /// digests go over that session). Ending such a session takes the room's privacy with
    /// it.
    pub fn uses_session(&self, peer: &str) -> bool {
        if self.host_nick() == Some(peer) {
            return true;
        }
        match self.roster().and_then(|r| r.entry(peer)) {
            Some(entry) => self.is_host() || entry.kind != MemberKind::Thin,
            None => false,
        }
    }

    /// The largest OTR message for `peer`, given what one transport line to a target
    /// carries (`line_limit`): the private line's limit, and, when the room is delivered in
    /// a channel, no more than a channel line leaves after the room's tags.
    pub fn otr_message_size(&self, peer: &str, line_limit: impl Fn(&str) -> usize) -> usize {
        let mut size = line_limit(peer);
        if let Delivery::Channel(ch) = self.delivery() {
            let tags = crate::envelope::tag(peer, "", "").len() + crate::envelope::MAX_NICK;
            let in_channel = line_limit(&ch).saturating_sub(tags);
            size = size.min(in_channel.max(64));
        }
        size
    }

    /// The host generation and our transcript position (number, chain head).
    pub fn transcript(&self) -> Option<Transcript> {
        self.shared().map(|s| Transcript {
            epoch: s.epoch,
            gseq: s.chain.gseq,
            head: s.chain.head,
        })
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

    /// The state of generation `epoch` of room `id`, hosted by `host` with key `host_fp`,
    /// whose transcript starts after `start` (the genesis anchor when `None`).
    fn new_shared(
        &self,
        id: RoomId,
        epoch: u64,
        host: String,
        host_fp: Fingerprint,
        roster: Roster,
        start: Option<Position>,
    ) -> Shared {
        let Position { gseq, head } = start.unwrap_or_else(|| Position {
            gseq: 0,
            head: genesis(&id, epoch),
        });
        Shared {
            chain: Chain::new(epoch, gseq, head, self.cfg.history),
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
            last_digest: digests::LastDigest { gseq, at: self.now },
        }
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
                m.s.unechoed.insert(
                    sseq,
                    member::Unechoed {
                        text: text.to_owned(),
                        first: self.now,
                        last: self.now,
                    },
                );
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
        s.last_digest.at = now;
        for u in s.unechoed.values_mut() {
            u.first = now;
            u.last = now;
        }
    }

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
}
