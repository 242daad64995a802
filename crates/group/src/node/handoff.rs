//! Host hand-off: when the room moves to its next host, and when it does not.
//!
//! The room moves only on evidence that its host is gone: the host's own `bye close`
//! (authenticated by its session, see `origin`), or the transport's word through
//! [`Node::peer_gone`] (IRC QUIT, a line bounced with no-such-nick, an `ISON` answer
//! without it). Then the successor, first in the roster's order for the generation that
//! ends ([`crate::order`]), hosts the next one.
//!
//! Members learn of a departure at different times (on IRC a member that shares no
//! channel with the host gets no QUIT and learns it from its poll, up to 20 s later), so
//! the successor's welcome to the next generation can come before a member's own evidence.
//! Following it then would let any member that ranks first take the room from a live
//! host. So the welcome is kept as a [`Claim`] (one per room, of constant size; a later
//! one from the same successor replaces it) and:
//!
//! - followed as soon as our own evidence comes (no further wait, and the next-generation
//!   items the claimant sent meanwhile, which were dropped, are asked for again at once);
//! - refused with [`Alert::HandOffRefused`] as soon as the host relays again (it is
//!   there), or after [`super::Config::handoff_wait_secs`] without evidence (30 s by
//!   default: longer than the chat client's 20 s presence poll, so an honest hand-off on
//!   IRC raises no alert); it is still followed if evidence comes later, since the
//!   claimant is then the rightful successor.

use std::collections::BTreeMap;

use otr::ConversationState;

use super::caps::{History, ResendBudget};
use super::{HostRoom, MemberRoom, Node, Room};
use crate::chain::{genesis, Chain};
use crate::envelope::{Envelope, MemberKind, Roster};
use crate::limits::MAX_AHEAD;
use crate::output::{Alert, LeftReason, Output};

/// The previous host generation's final transcript and roster, kept after a hand-off for
/// the final digests of its members.
pub(super) struct Previous {
    /// Its transcript chain (with recent heads).
    pub(super) chain: Chain,
    /// Its roster.
    pub(super) roster: Roster,
}

/// The successor's welcome to the next generation, kept until we know the host left.
pub(super) struct Claim {
    /// The claimant (our roster's successor).
    pub(super) from: String,
    /// The generation it hosts (ours + 1).
    pub(super) epoch: u64,
    /// Its welcome: the number and chain head our transcript starts after.
    pub(super) gseq: u64,
    pub(super) anchor: [u8; 32],
    /// When it came.
    pub(super) since: f64,
    /// The highest item number of its generation it sent us meanwhile (dropped; asked
    /// again once we follow), at most [`MAX_AHEAD`].
    pub(super) ahead: u64,
    /// We showed [`Alert::HandOffRefused`] for it.
    pub(super) alerted: bool,
}

impl Node {
    /// The successor welcomes us to the next generation before we know the host left:
    /// keep the claim (see the module doc).
    pub(super) fn on_claim(&mut self, from: &str, epoch: u64, gseq: u64, anchor: [u8; 32]) {
        let now = self.now;
        if let Room::Member(m) = &mut self.room {
            m.claim = Some(Claim {
                from: from.to_owned(),
                epoch,
                gseq,
                anchor,
                since: now,
                ahead: 0,
                alerted: false,
            });
        }
    }

    /// An item of the next generation from our roster's successor while we are still in
    /// this one (its welcome is a claim, or is still on its way): dropped without an
    /// alert, its number remembered so we ask for it once we follow.
    pub(super) fn early_next_generation(&mut self, from: &str, epoch: u64, gseq: u64) -> bool {
        let Room::Member(m) = &mut self.room else {
            return false;
        };
        let next = m.s.epoch.checked_add(1) == Some(epoch)
            && m.welcomed
            && from != m.s.host
            && m.s
                .roster
                .successor(&m.s.id, m.s.epoch)
                .is_some_and(|e| e.nick == from);
        if next {
            if let Some(c) = m
                .claim
                .as_mut()
                .filter(|c| c.from == from && c.epoch == epoch)
            {
                c.ahead = c.ahead.max(gseq.min(MAX_AHEAD));
            }
        }
        next
    }

    /// The host relayed to us, so it is there: a pending claim is refused (once).
    pub(super) fn host_alive(&mut self, out: &mut Vec<Output>) {
        if let Room::Member(m) = &mut self.room {
            if let Some(c) = m.claim.as_mut().filter(|c| !c.alerted) {
                c.alerted = true;
                out.push(Output::Alert(Alert::HandOffRefused {
                    room: m.s.id.clone(),
                    epoch: c.epoch,
                    claimant: c.from.clone(),
                    host: m.s.host.clone(),
                }));
            }
        }
    }

    /// A claim without evidence for `handoff_wait_secs` is refused (once).
    pub(super) fn claim_timer(&mut self, out: &mut Vec<Output>) {
        let (now, wait) = (self.now, self.cfg.handoff_wait_secs);
        let due = matches!(&self.room, Room::Member(m)
            if m.claim.as_ref().is_some_and(|c| !c.alerted && now - c.since >= wait));
        if due {
            self.host_alive(out);
        }
    }

    /// We handed off and the claimant is our successor: its kept welcome is the one we
    /// wait for.
    fn follow_claim(&mut self, c: Claim, out: &mut Vec<Output>) {
        self.on_welcome(&c.from, c.epoch, c.gseq, c.anchor, out);
        let now = self.now;
        let Room::Member(m) = &mut self.room else {
            return;
        };
        if !m.welcomed || c.ahead <= m.s.chain.gseq {
            return;
        }
        // What it sent us while we were not following yet.
        m.known_max = m.known_max.max(c.ahead);
        m.gap_since = Some(now);
        m.last_resend = now;
        let (host, env) = (m.s.host.clone(), m.resend_request(c.ahead));
        self.send_env(&host, &env, None, out);
    }

    /// The host is gone (we have the evidence: its `bye close`, or the transport's word):
    /// the successor by the roster's order for this generation hosts the next one;
    /// everyone computes the same from the same roster. A claim the successor made before
    /// our evidence came is followed now.
    pub(super) fn hand_off(&mut self, out: &mut Vec<Output>) {
        let me = self.cfg.nick.clone();
        let room = std::mem::replace(&mut self.room, Room::Idle);
        let Room::Member(old) = room else {
            self.room = room;
            return;
        };
        let mut old = *old;
        // Differences still waiting for a second opinion are reported now.
        let watchers = Self::watchers(&old.s, &me).len();
        old.settle(watchers, self.cfg.checkpoint_secs, self.now, true, out);
        let mut roster = old.s.roster.clone();
        let old_host = old.s.host.clone();
        roster.members.retain(|m| m.nick != old_host);
        let Some((next, next_fp)) = old
            .s
            .roster
            .successor(&old.s.id, old.s.epoch)
            .map(|e| (e.nick.clone(), e.fingerprint))
        else {
            out.push(Output::Left {
                room: old.s.id.clone(),
                reason: LeftReason::Closed,
            });
            return;
        };
        roster.host = next.clone();
        let Some(epoch) = old.s.epoch.checked_add(1) else {
            // Refused when we joined; a room cannot get here.
            out.push(Output::Left {
                room: old.s.id.clone(),
                reason: LeftReason::Closed,
            });
            return;
        };
        let mut s = self.new_shared(old.s.id.clone(), epoch, next.clone(), next_fp, roster, None);
        // Those who compare with us in the old generation get our final digest of it.
        let old_watchers = Self::watchers(&old.s, &me);
        s.sseq = old.s.sseq;
        s.unechoed = old.s.unechoed;
        s.senders = old.s.senders;
        // Differences reported in this generation and the one before are remembered;
        // older ones cannot be reported again (digests of them are not compared).
        s.diverged = old.s.diverged;
        s.diverged
            .retain(|d| d.epoch.saturating_add(1) >= old.s.epoch);
        s.prev = Some(Previous {
            chain: old.s.chain.clone(),
            roster: old.s.roster.clone(),
        });
        let (id, final_gseq, final_head) = (s.id.clone(), old.s.chain.gseq, old.s.chain.head);
        // Our final digest of the old generation goes to those who compare with us.
        let env = Envelope::Digest {
            room: id.clone(),
            epoch: old.s.epoch,
            gseq: final_gseq,
            head: final_head,
        };
        for peer in old_watchers {
            self.send_env(&peer, &env, None, out);
        }
        if next == me {
            let mut h = HostRoom {
                s,
                history: History::default(),
                invited: BTreeMap::new(),
                pins: BTreeMap::new(),
                held: BTreeMap::new(),
                thin_seq: BTreeMap::new(),
                resend: ResendBudget::new(self.now),
            };
            // Thin members' counters continue where the old host left them.
            for e in &h.s.roster.members {
                if e.kind == MemberKind::Thin {
                    let last = h.s.senders.get(&e.nick).map_or(0, |c| c.last);
                    h.thin_seq.insert(e.nick.clone(), last);
                }
            }
            let unechoed: Vec<(u64, String)> =
                h.s.unechoed
                    .iter()
                    .map(|(k, u)| (*k, u.text.clone()))
                    .collect();
            h.s.unechoed.clear();
            let members = h.s.roster.members.clone();
            self.room = Room::Host(Box::new(h));
            out.push(Output::HostChanged {
                room: id.clone(),
                epoch,
                host: me.clone(),
            });
            for m in members {
                if m.nick == me {
                    continue;
                }
                match m.kind {
                    MemberKind::Full => {
                        let env = Envelope::Welcome {
                            room: id.clone(),
                            epoch,
                            gseq: 0,
                            anchor: genesis(&id, epoch),
                        };
                        self.send_env(&m.nick, &env, None, out);
                    }
                    MemberKind::Thin => {
                        let text = format!("[room {id}] {me} hosts the room now");
                        self.send_text(&m.nick, &text, out);
                    }
                }
            }
            self.announce_roster(out);
            // What we wrote that the old host never relayed.
            for (_, text) in unechoed {
                if let Room::Host(h) = &mut self.room {
                    let Some(sseq) = h.s.sseq.checked_add(1) else {
                        break;
                    };
                    h.s.sseq = sseq;
                    let seen = h.s.chain.gseq;
                    self.relay_msg(&me, sseq, seen, text, Vec::new(), out);
                }
            }
        } else {
            self.room = Room::Member(Box::new(MemberRoom::new(s, false, 0, self.now)));
            // A session we already hold with the successor (the members' mesh) serves the
            // next generation as it is; restarting it would only delay the hand-off.
            if self.engine.state(&next) != ConversationState::Encrypted {
                self.ensure_session(&next, out);
            }
            if let Some(c) = old.claim.filter(|c| c.from == next && c.epoch == epoch) {
                self.follow_claim(c, out);
            }
        }
        self.push_info(out);
    }
}
