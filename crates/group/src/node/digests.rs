//! Transcript digests: a member sends its chain head every `checkpoint_every` items (and
//! at least every `checkpoint_secs` while the transcript moves) to its next two on the
//! ring (`watchers`), compares the heads it receives with its own, and reports a
//! difference once a second opinion tells who is the odd one out (`MemberRoom::settle`).

use super::handoff::Previous;
use super::member::MemberRoom;
use super::{Node, Position, Room, Shared};
use crate::envelope::{Envelope, MemberKind, Roster};
use crate::limits::MAX_AHEAD;
use crate::output::{Alert, Divergence, Output};

/// When we sent our last digest, and of which item.
#[derive(Clone, Copy)]
pub(super) struct LastDigest {
    /// The transcript number it was for.
    pub(super) gseq: u64,
    /// When it left.
    pub(super) at: f64,
}

/// A member whose digest differed from ours, waiting for a second opinion.
#[derive(Clone, Copy)]
pub(super) struct Suspect {
    /// The transcript number of the digest.
    pub(super) gseq: u64,
    /// When the difference was seen.
    pub(super) since: f64,
}

/// A member we raised `Diverged` for in a host generation (`Shared::diverged`).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Reported {
    /// The generation.
    pub(super) epoch: u64,
    /// The member.
    pub(super) peer: String,
}

impl MemberRoom {
    /// Our head at `gseq` was compared with `peer`'s: remember the outcome.
    pub(super) fn compared(&mut self, peer: &str, gseq: u64, agree: bool, now: f64) {
        if agree {
            let best = self.agreed.entry(peer.to_owned()).or_insert(gseq);
            *best = (*best).max(gseq);
        } else if self.s.diverged.insert(Reported {
            epoch: self.s.epoch,
            peer: peer.to_owned(),
        }) {
            self.suspects
                .insert(peer.to_owned(), Suspect { gseq, since: now });
        }
    }

    /// Reports the differences whose odd one out is known, or whose wait is over (all of
    /// them when `flush`). `watchers` is how many members compare with us.
    pub(super) fn settle(
        &mut self,
        watchers: usize,
        wait: f64,
        now: f64,
        flush: bool,
        out: &mut Vec<Output>,
    ) {
        if self.suspects.is_empty() {
            return;
        }
        let (room, epoch) = (self.s.id.clone(), self.s.epoch);
        if self.suspects.len() >= 2 {
            // Two members we compare with both differ from us: we are the odd one out.
            let suspects = std::mem::take(&mut self.suspects);
            let gseq = suspects.values().map(|s| s.gseq).min().unwrap_or(0);
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
        let suspects: Vec<(String, Suspect)> =
            self.suspects.iter().map(|(n, v)| (n.clone(), *v)).collect();
        for (peer, Suspect { gseq, since }) in suspects {
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

impl Node {
    /// The members we send our digests to: our next two on the ring (the generation's
    /// order, [`crate::order`]; fewer in a small room). By symmetry, as many compare with us, so each difference has a second
    /// opinion.
    pub(super) fn watchers(s: &Shared, me: &str) -> Vec<String> {
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

    pub(super) fn send_digest(&mut self, out: &mut Vec<Output>) {
        let me = self.cfg.nick.clone();
        let now = self.now;
        let Room::Member(m) = &mut self.room else {
            return;
        };
        m.s.last_digest = LastDigest {
            gseq: m.s.chain.gseq,
            at: now,
        };
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

    pub(super) fn on_digest(
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
                    m.claims.insert(from.to_owned(), Position { gseq, head });
                    m.known_max = m.known_max.max(gseq);
                    if m.gap_since.is_none() {
                        m.gap_since = Some(self.now);
                    }
                }
                None => {}
            }
        } else if let Some(Previous { chain, roster }) = &m.s.prev {
            if epoch != chain.epoch || !member_of(roster) {
                return;
            }
            let room = m.s.id.clone();
            match chain.head_at(gseq) {
                Some(mine)
                    if mine != head
                        && m.s.diverged.insert(Reported {
                            epoch,
                            peer: from.to_owned(),
                        }) =>
                {
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
}
