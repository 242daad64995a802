//! The node's side of `crate::limits`: the bounded containers (outboxes, a member's
//! buffer of future items, the host's history and held `say`s), the host's resend budget,
//! and the pruning of per-peer state to the roster. Each container counts its bytes as
//! `Usage` reports them and refuses what would pass its cap; what it refuses is asked for
//! again by whoever needs it (members re-request relays, senders resend their lines).

use std::collections::{BTreeMap, VecDeque};

use super::host::Relayed;
use super::{HostRoom, MemberRoom, Node, Room};
use crate::envelope::{Envelope, Item, MAC_LEN};
use crate::limits::{
    Bucket, BUFFER_BYTES, BUFFER_ITEMS, HELD_BYTES_PER_SENDER, HELD_BYTES_TOTAL,
    HELD_ITEMS_PER_SENDER, HISTORY_BYTES, OUTBOX_BYTES_PER_PEER, OUTBOX_BYTES_TOTAL,
    OUTBOX_LINES_PER_PEER, OUTBOX_SECS, RESEND_BURST_BYTES, RESEND_RATE_BYTES,
    RESEND_TOTAL_BURST_BYTES, RESEND_TOTAL_RATE_BYTES,
};
use crate::output::Output;

/// What a node holds because of others (see `crate::limits` for the caps): items and bytes
/// (bodies, nicks, MACs and roster entries; the text each line would take, not Rust's
/// allocation overhead).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Member: transcript items received ahead of a gap, waiting for it.
    pub buffered_items: usize,
    /// Their bytes.
    pub buffered_bytes: usize,
    /// Host: `say`s that came ahead of their sender's previous one.
    pub held_items: usize,
    /// Their bytes.
    pub held_bytes: usize,
    /// Host: relayed items kept for resends.
    pub history_items: usize,
    /// Their bytes.
    pub history_bytes: usize,
    /// Lines waiting for a peer's private session, all peers together.
    pub outbox_lines: usize,
    /// Their bytes.
    pub outbox_bytes: usize,
    /// Peers we keep state for.
    pub links: usize,
    /// Key offers kept from peers our roster does not name yet.
    pub early_offers: usize,
}

/// The bytes of a transcript item and its MACs, as [`Usage`] counts them.
fn item_size(item: &Item, macs: &[(String, [u8; MAC_LEN])]) -> usize {
    let macs: usize = macs.iter().map(|(n, _)| n.len() + MAC_LEN).sum();
    macs + match item {
        Item::Msg(m) => m.sender.len() + m.body.len() + 16,
        Item::Roster(r) => {
            r.host.len()
                + r.members
                    .iter()
                    .map(|e| e.nick.len() + e.fingerprint.0.len() + 1)
                    .sum::<usize>()
        }
    }
}

/// A line waiting in an [`Outbox`].
pub(super) struct Queued {
    /// The text to send inside the session.
    pub(super) text: String,
    /// Who wrote it, for the channel tag (`None`: we did).
    pub(super) origin: Option<String>,
    /// When it was queued.
    at: f64,
}

/// Lines waiting for one peer's private session. At most [`OUTBOX_LINES_PER_PEER`] lines
/// and [`OUTBOX_BYTES_PER_PEER`] bytes, each for [`OUTBOX_SECS`].
#[derive(Default)]
pub(super) struct Outbox {
    lines: VecDeque<Queued>,
    bytes: usize,
}

impl Outbox {
    pub(super) fn len(&self) -> usize {
        self.lines.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Everything, in order, leaving the outbox empty.
    pub(super) fn take(&mut self) -> Vec<Queued> {
        self.bytes = 0;
        self.lines.drain(..).collect()
    }

    pub(super) fn clear(&mut self) {
        self.lines.clear();
        self.bytes = 0;
    }

    /// Drops the lines queued [`OUTBOX_SECS`] ago or earlier.
    fn expire(&mut self, now: f64) {
        while let Some(q) = self.lines.front() {
            if now - q.at < OUTBOX_SECS {
                break;
            }
            self.bytes = self.bytes.saturating_sub(q.text.len());
            self.lines.pop_front();
        }
    }
}

/// A transcript item held in a [`Buffer`], with the pairwise MAC it came with.
pub(super) struct Buffered {
    /// The item.
    pub(super) item: Item,
    /// Its sender's MAC for us, if any.
    pub(super) mac: Option<[u8; MAC_LEN]>,
}

/// A member's transcript items that came ahead of a gap: at most [`BUFFER_ITEMS`] items
/// and [`BUFFER_BYTES`] bytes (the host is the only one who fills it); they go when the
/// gap fills or is declared dropped after `deadline_secs`.
#[derive(Default)]
pub(super) struct Buffer {
    items: BTreeMap<u64, Buffered>,
    bytes: usize,
}

impl Buffer {
    fn size(item: &Item) -> usize {
        item_size(item, &[]) + MAC_LEN
    }

    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// The first number held.
    pub(super) fn first(&self) -> Option<u64> {
        self.items.keys().next().copied()
    }

    /// Holds item `gseq`, unless that would pass a cap (then it is refused: the member
    /// asks for it again once the gap before it is filled).
    pub(super) fn insert(&mut self, gseq: u64, item: Item, mac: Option<[u8; MAC_LEN]>) -> bool {
        let size = Self::size(&item);
        let old = self.items.get(&gseq).map_or(0, |b| Self::size(&b.item));
        let bytes = self.bytes.saturating_sub(old).saturating_add(size);
        if bytes > BUFFER_BYTES || (old == 0 && self.items.len() >= BUFFER_ITEMS) {
            return false;
        }
        self.items.insert(gseq, Buffered { item, mac });
        self.bytes = bytes;
        true
    }

    pub(super) fn take(&mut self, gseq: u64) -> Option<Buffered> {
        let taken = self.items.remove(&gseq)?;
        self.bytes = self.bytes.saturating_sub(Self::size(&taken.item));
        Some(taken)
    }
}

/// The host's relayed items kept for resends: at most `Config::history` items and
/// [`HISTORY_BYTES`] bytes, the oldest going first.
#[derive(Default)]
pub(super) struct History {
    items: VecDeque<Relayed>,
    bytes: usize,
}

impl History {
    pub(super) fn push(&mut self, relayed: Relayed, keep: usize) {
        self.bytes = self
            .bytes
            .saturating_add(item_size(&relayed.item, &relayed.macs));
        self.items.push_back(relayed);
        while self.items.len() > keep.max(1) || (self.bytes > HISTORY_BYTES && self.items.len() > 1)
        {
            if let Some(r) = self.items.pop_front() {
                self.bytes = self.bytes.saturating_sub(item_size(&r.item, &r.macs));
            }
        }
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &Relayed> {
        self.items.iter()
    }

    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }
}

/// A `say` held for its sender's previous one.
pub(super) struct HeldSay {
    /// The transcript number its sender had seen.
    pub(super) seen: u64,
    /// The text.
    pub(super) body: String,
    /// The sender's pairwise MACs, per recipient.
    pub(super) macs: Vec<(String, [u8; MAC_LEN])>,
    /// When it came.
    pub(super) at: f64,
}

/// The bytes of a held `say`, as `Usage` counts them.
pub(super) fn held_size(body: &str, macs: &[(String, [u8; MAC_LEN])]) -> usize {
    body.len() + macs.iter().map(|(n, _)| n.len() + MAC_LEN).sum::<usize>()
}

/// What an envelope of `len` bytes weighs as an OTR data message on the wire: base64 of
/// the plaintext with the message's header, D-H key, counter, MAC and a few revealed MAC
/// keys (about 300 bytes).
fn wire_estimate(len: usize) -> usize {
    len.saturating_add(300).saturating_mul(4) / 3 + 8
}

/// Each member's resend budget, and all members' together.
pub(super) struct ResendBudget {
    per: BTreeMap<String, Bucket>,
    total: Bucket,
}

impl ResendBudget {
    pub(super) fn new(now: f64) -> Self {
        Self {
            per: BTreeMap::new(),
            total: Bucket::full(RESEND_TOTAL_BURST_BYTES, now),
        }
    }

    /// The bytes `member` may be sent again now.
    fn available(&mut self, member: &str, now: f64) -> usize {
        let mine = self
            .per
            .entry(member.to_owned())
            .or_insert_with(|| Bucket::full(RESEND_BURST_BYTES, now))
            .available(now, RESEND_BURST_BYTES, RESEND_RATE_BYTES);
        mine.min(
            self.total
                .available(now, RESEND_TOTAL_BURST_BYTES, RESEND_TOTAL_RATE_BYTES),
        )
    }

    fn spend(&mut self, member: &str, bytes: usize) {
        if let Some(b) = self.per.get_mut(member) {
            b.spend(bytes);
        }
        self.total.spend(bytes);
    }
}

impl HostRoom {
    /// Holds `sender`'s `say` number `sseq` until its previous one comes, unless that
    /// would pass a cap ([`HELD_ITEMS_PER_SENDER`], [`HELD_BYTES_PER_SENDER`],
    /// [`HELD_BYTES_TOTAL`]): then it is dropped, and the sender sends it again.
    pub(super) fn hold(&mut self, sender: &str, sseq: u64, say: HeldSay) {
        let size = held_size(&say.body, &say.macs);
        let total: usize = self
            .held
            .values()
            .flat_map(|h| h.values())
            .map(|s| held_size(&s.body, &s.macs))
            .sum();
        let theirs = self.held.entry(sender.to_owned()).or_default();
        let mine: usize = theirs.values().map(|s| held_size(&s.body, &s.macs)).sum();
        if theirs.contains_key(&sseq)
            || theirs.len() >= HELD_ITEMS_PER_SENDER
            || mine.saturating_add(size) > HELD_BYTES_PER_SENDER
            || total.saturating_add(size) > HELD_BYTES_TOTAL
        {
            return;
        }
        theirs.insert(sseq, say);
    }
}

impl Node {
    /// Queues `text` for `peer` until its private session is up, within the caps (per
    /// peer and in total); what passes them is dropped.
    pub(super) fn enqueue(&mut self, peer: &str, text: String, origin: Option<&str>) {
        let total: usize = self.links.values().map(|l| l.outbox.bytes()).sum();
        let now = self.now;
        let link = self.link(peer);
        let size = text.len();
        if link.outbox.len() >= OUTBOX_LINES_PER_PEER
            || link.outbox.bytes().saturating_add(size) > OUTBOX_BYTES_PER_PEER
            || total.saturating_add(size) > OUTBOX_BYTES_TOTAL
        {
            return;
        }
        link.outbox.bytes = link.outbox.bytes.saturating_add(size);
        link.outbox.lines.push_back(Queued {
            text,
            origin: origin.map(str::to_owned),
            at: now,
        });
    }

    /// The first tick: lines queued and `say`s held before we knew the time count from
    /// now, not from time zero (they would all expire at once).
    pub(super) fn rebase_caps(&mut self, now: f64) {
        for link in self.links.values_mut() {
            for q in &mut link.outbox.lines {
                q.at = now;
            }
        }
        if let Room::Host(h) = &mut self.room {
            for held in h.held.values_mut() {
                for say in held.values_mut() {
                    say.at = now;
                }
            }
            h.resend = ResendBudget::new(now);
        }
    }

    /// Time passed: outboxes lose their old lines, the host its old held `say`s.
    pub(super) fn expire(&mut self) {
        let now = self.now;
        for link in self.links.values_mut() {
            link.outbox.expire(now);
        }
        let deadline = self.cfg.deadline_secs;
        if let Room::Host(h) = &mut self.room {
            for held in h.held.values_mut() {
                held.retain(|_, say| now - say.at < deadline);
            }
            h.held.retain(|_, held| !held.is_empty());
        }
    }

    /// Sends `member` the envelopes again, as far as its resend budget goes (they are in
    /// order: the first ones go, the rest wait for the member's next request). The budget
    /// counts the lines as they leave (OTR-encrypted, tagged in a channel): an envelope
    /// goes if its estimated line fits, and costs what its lines weigh (at least the
    /// estimate: a line still waiting for a session costs that).
    pub(super) fn send_again(
        &mut self,
        member: &str,
        again: Vec<Envelope>,
        origin: Option<&str>,
        out: &mut Vec<Output>,
    ) {
        let now = self.now;
        let Room::Host(h) = &mut self.room else {
            return;
        };
        let mut left = h.resend.available(member, now);
        let mut spent = 0usize;
        for env in again {
            let estimate = wire_estimate(env.encode().len());
            if estimate > left {
                break;
            }
            let before = out.len();
            self.send_env(member, &env, origin, out);
            let sent: usize = out
                .get(before..)
                .unwrap_or_default()
                .iter()
                .map(|o| match o {
                    Output::Send { line, .. } => line.len(),
                    _ => 0,
                })
                .sum();
            let cost = sent.max(estimate);
            left = left.saturating_sub(cost);
            spent = spent.saturating_add(cost);
        }
        if let Room::Host(h) = &mut self.room {
            h.resend.spend(member, spent);
        }
    }

    /// What we hold because of others: buffers, held lines, history, outboxes.
    pub fn usage(&self) -> Usage {
        let mut u = Usage {
            links: self.links.len(),
            ..Usage::default()
        };
        for l in self.links.values() {
            u.outbox_lines += l.outbox.len();
            u.outbox_bytes += l.outbox.bytes();
            u.early_offers += usize::from(l.early_offer.is_some());
        }
        match &self.room {
            Room::Member(m) => {
                u.buffered_items = m.buffer.len();
                u.buffered_bytes = m.buffer.bytes();
            }
            Room::Host(h) => {
                for held in h.held.values() {
                    u.held_items += held.len();
                    u.held_bytes += held
                        .values()
                        .map(|say| held_size(&say.body, &say.macs))
                        .sum::<usize>();
                }
                u.history_items = h.history.len();
                u.history_bytes = h.history.bytes();
            }
            Room::Idle | Room::Invited { .. } | Room::Joining { .. } => {}
        }
        u
    }

    /// After a roster change: per-peer state for nicks the room no longer names goes
    /// (keys, counters, digests, budgets), so it is bounded by the roster. Kept: the
    /// roster's members and host, the previous generation's (their final digests),
    /// invitees, peers with an early key offer, and lines still waiting for a session.
    pub(super) fn prune_to_roster(&mut self) {
        let keep = |room: &Room, nick: &str| -> bool {
            match room {
                Room::Member(m) => {
                    m.s.host == nick
                        || m.s.roster.contains(nick)
                        || m.s.prev.as_ref().is_some_and(|p| p.roster.contains(nick))
                }
                Room::Host(h) => h.s.roster.contains(nick) || h.invited.contains_key(nick),
                Room::Idle | Room::Invited { .. } | Room::Joining { .. } => true,
            }
        };
        let room = &self.room;
        self.links
            .retain(|nick, l| keep(room, nick) || l.early_offer.is_some() || !l.outbox.is_empty());
        match &mut self.room {
            Room::Member(m) => {
                let MemberRoom {
                    s,
                    claims,
                    agreed,
                    suspects,
                    ..
                } = &mut **m;
                let named = |n: &String| s.roster.contains(n);
                s.senders.retain(|n, _| named(n));
                claims.retain(|n, _| named(n));
                agreed.retain(|n, _| named(n));
                suspects.retain(|n, _| named(n));
            }
            Room::Host(h) => {
                let HostRoom {
                    s,
                    held,
                    thin_seq,
                    resend,
                    ..
                } = &mut **h;
                let named = |n: &String| s.roster.contains(n);
                s.senders.retain(|n, _| named(n));
                held.retain(|n, _| named(n));
                thin_seq.retain(|n, _| named(n));
                resend.per.retain(|n, _| named(n));
            }
            Room::Idle | Room::Invited { .. } | Room::Joining { .. } => {}
        }
    }
}
