//! The member's role: accepting an invitation, the host's welcome, our `say`s until they
//! come back relayed, the host's items taken in transcript order (a buffer for those
//! ahead of a gap) and checked, and the deadlines for gaps and unrelayed `say`s.

use std::collections::BTreeMap;

use super::links::Link;
use super::pairwise::KeyState;
use super::{caps, digests, handoff, Delivery, GroupError, Node, Position, Room, Shared};
use crate::chain::{genesis, Chain};
use crate::envelope::{Envelope, Item, MemberKind, Roster, MAC_LEN};
use crate::limits::MAX_AHEAD;
use crate::output::{Alert, Divergence, GroupMessage, LeftReason, Output};

/// A member's room.
pub(super) struct MemberRoom {
    pub(super) s: Shared,
    /// False between a hand-off and the new host's welcome.
    pub(super) welcomed: bool,
    /// Items ahead of a gap (capped: see `caps::Buffer`).
    pub(super) buffer: caps::Buffer,
    /// Digests from other members that are ahead of us: nick -> their position. One per
    /// roster member (others' go at each roster change), none more than `MAX_AHEAD` ahead.
    pub(super) claims: BTreeMap<String, Position>,
    pub(super) known_max: u64,
    pub(super) gap_since: Option<f64>,
    pub(super) last_resend: f64,
    /// Members whose digest matched ours this generation: nick -> the highest number.
    /// One per roster member (others' go at each roster change).
    pub(super) agreed: BTreeMap<String, u64>,
    /// Members whose digest differed from ours, not reported yet. Reported once another
    /// member's digest tells who is the odd one out, or after `checkpoint_secs`. One per
    /// roster member (others' go at each roster change).
    pub(super) suspects: BTreeMap<String, digests::Suspect>,
    /// The successor's welcome to the next generation, waiting for our own evidence that
    /// the host left (see the `handoff` module). At most one.
    pub(super) claim: Option<handoff::Claim>,
}

/// One of our messages not yet relayed back to us (`Shared::unechoed`).
pub(super) struct Unechoed {
    /// What our user typed.
    pub(super) text: String,
    /// When it was first sent (the deadline counts from here).
    pub(super) first: f64,
    /// When it was last sent (retries count from here).
    pub(super) last: f64,
}

impl MemberRoom {
    /// The request to the host for the items after our transcript up to `to`.
    pub(super) fn resend_request(&self, to: u64) -> Envelope {
        Envelope::Resend {
            room: self.s.id.clone(),
            epoch: self.s.epoch,
            from: self.s.chain.gseq.saturating_add(1),
            to,
        }
    }

    pub(super) fn new(s: Shared, welcomed: bool, known_max: u64, now: f64) -> Self {
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
}

impl Node {
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

    pub(super) fn on_welcome(
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
                let start = Position { gseq, head: anchor };
                let s = self.new_shared(
                    room.clone(),
                    epoch,
                    host.clone(),
                    host_fp,
                    Roster::default(),
                    Some(start),
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
                        for u in m.s.unechoed.values_mut() {
                            u.first = now;
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

    pub(super) fn send_say(&mut self, sseq: u64, out: &mut Vec<Output>) {
        let Room::Member(m) = &mut self.room else {
            return;
        };
        let Some(u) = m.s.unechoed.get_mut(&sseq) else {
            return;
        };
        u.last = self.now;
        let body = u.text.clone();
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

    pub(super) fn on_relay(
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
            let Some(caps::Buffered { item, mac }) = m.buffer.take(next) else {
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
            .filter(|(_, c)| c.gseq == gseq)
            .map(|(p, c)| (p.clone(), c.head))
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

    pub(super) fn on_bye(&mut self, from: &str, closed: bool, out: &mut Vec<Output>) {
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

    pub(super) fn member_timers(&mut self, out: &mut Vec<Output>) {
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
                m.claims.retain(|_, c| c.gseq > m.known_max);
                m.gap_since = None;
                self.drain(out);
            } else if now - since.max(m.last_resend) >= retry {
                m.last_resend = now;
                let (host, env) = (m.s.host.clone(), m.resend_request(m.known_max));
                self.send_env(&host, &env, None, out);
            }
        }
        // Our messages the host has not relayed back.
        let Room::Member(m) = &mut self.room else {
            return;
        };
        let mut retry_now = Vec::new();
        let mut expired = Vec::new();
        for (sseq, u) in &m.s.unechoed {
            if now - u.first >= deadline {
                expired.push((*sseq, u.text.clone()));
            } else if now - u.last >= retry {
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
        if m.s.chain.gseq > m.s.last_digest.gseq
            && now - m.s.last_digest.at >= self.cfg.checkpoint_secs
        {
            self.send_digest(out);
        }
    }
}
