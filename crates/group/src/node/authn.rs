//! How the sender of a relayed line is known, and whether it may be shown: the sender's
//! counters (each line once, in its order, after what it had seen), then its
//! authentication: our own echo, the host's session, a thin member's word through the
//! host, or the pairwise MAC under the key only the sender and we share (see
//! `docs/group-protocol.md`, "End-to-end sender authentication").

use std::collections::BTreeSet;

use super::{Node, Room};
use crate::chain::PairKey;
use crate::envelope::{MemberKind, MsgItem, MAC_LEN};
use crate::output::{Alert, Auth, ForgeReason, Output};

/// One sender's message counters, as far as they are known.
#[derive(Default)]
pub(super) struct Counters {
    /// The last counter accepted.
    pub(super) last: u64,
    /// The recent ones (the 256 highest), so a replayed line is recognised.
    pub(super) recent: BTreeSet<u64>,
}

impl Counters {
    /// Adds a counter to the recent ones, keeping the 256 highest.
    pub(super) fn remember(&mut self, sseq: u64) {
        self.recent.insert(sseq);
        while self.recent.len() > 256 {
            self.recent.pop_first();
        }
    }
}

/// A line attributed to a member that came without a pairwise MAC: reported as forged if
/// the member's `pk` later says it MACs every line from `sseq` on.
#[derive(Clone, Copy)]
pub(super) struct Unauthenticated {
    /// The member's counter on the line.
    pub(super) sseq: u64,
    /// Its number in the transcript.
    pub(super) gseq: u64,
}

impl Node {
    /// Checks a message's counters and sender; `None` if it must not be shown. The
    /// sender's counters move only for a line that authenticates (or that nothing can
    /// authenticate: a thin member's, or one without a pairwise key yet): a line the host
    /// altered cannot push a sender's counter to where its real lines look out of order.
    pub(super) fn check_msg(
        &mut self,
        gseq: u64,
        msg: &MsgItem,
        mac: Option<[u8; MAC_LEN]>,
        out: &mut Vec<Output>,
    ) -> Option<Auth> {
        let Room::Member(m) = &mut self.room else {
            return None;
        };
        let room = m.s.id.clone();
        let Some(entry) = m.s.roster.entry(&msg.sender).cloned() else {
            out.push(Output::Alert(Alert::NotAdmitted {
                room: Some(room),
                nick: msg.sender.clone(),
            }));
            return None;
        };
        // Counters: each sender's messages come once, in its order, after what it saw.
        let (had, replayed) =
            m.s.senders
                .get(&msg.sender)
                .map_or((0, false), |c| (c.last, c.recent.contains(&msg.sseq)));
        if replayed {
            out.push(Output::Alert(Alert::Replayed {
                room,
                gseq,
                sender: msg.sender.clone(),
                sseq: msg.sseq,
            }));
            return None;
        }
        let Some(expected) = had.checked_add(1) else {
            // The sender's counter is at its end: nothing can follow it.
            out.push(Output::Alert(Alert::OutOfRange {
                room,
                nick: msg.sender.clone(),
                field: "sender counter",
                value: msg.sseq,
            }));
            return None;
        };
        let ordered = !((had != 0 && msg.sseq != expected) || msg.seen >= gseq);
        if !ordered {
            out.push(Output::Alert(Alert::Reordered {
                room: room.clone(),
                gseq,
                sender: msg.sender.clone(),
                expected,
                got: msg.sseq,
            }));
        }
        let Some(auth) = self.authenticate(gseq, msg, entry.kind, mac, out) else {
            // Shown as failed (the alert says why), and no counter moves.
            return Some(Auth::Failed);
        };
        if let Room::Member(m) = &mut self.room {
            let counters = m.s.senders.entry(msg.sender.clone()).or_default();
            counters.last = counters.last.max(msg.sseq);
            counters.remember(msg.sseq);
        }
        Some(if ordered { auth } else { Auth::Failed })
    }

    /// How the sender of a line is known: `None` if the line is not what its sender wrote
    /// (an alert says why), else the kind of authentication.
    fn authenticate(
        &mut self,
        gseq: u64,
        msg: &MsgItem,
        kind: MemberKind,
        mac: Option<[u8; MAC_LEN]>,
        out: &mut Vec<Output>,
    ) -> Option<Auth> {
        let me = self.cfg.nick.clone();
        let Room::Member(m) = &mut self.room else {
            return None;
        };
        let (room, epoch) = (m.s.id.clone(), m.s.epoch);
        if msg.sender == me {
            return match m.s.unechoed.get(&msg.sseq) {
                Some(u) if u.text == msg.body => {
                    m.s.unechoed.remove(&msg.sseq);
                    Some(Auth::Own)
                }
                _ => {
                    out.push(Output::Alert(Alert::Forged {
                        room,
                        gseq,
                        sender: me,
                        reason: ForgeReason::NotOurs,
                    }));
                    None
                }
            };
        }
        if msg.sender == m.s.host {
            return Some(Auth::Session);
        }
        if kind == MemberKind::Thin {
            return Some(Auth::HostAttested);
        }
        let host = m.s.host.clone();
        let keys: Vec<PairKey> = self
            .links
            .get(&msg.sender)
            .map(|l| l.known_keys().to_vec())
            .unwrap_or_default();
        let verify = |k: &PairKey, sender: &str, mac: &[u8; MAC_LEN]| {
            k.verify(
                &room, epoch, sender, &me, msg.sseq, msg.seen, &msg.body, mac,
            )
        };
        match mac {
            Some(mac) => {
                if keys.iter().any(|k| verify(k, &msg.sender, &mac)) {
                    return Some(Auth::Pairwise);
                }
                // Whose MAC is it? The host may have put another member's line in this
                // sender's name.
                let actual = self.links.iter().find_map(|(nick, l)| {
                    (*nick != msg.sender && *nick != host)
                        .then(|| l.known_keys().iter().any(|k| verify(k, nick, &mac)))
                        .filter(|ok| *ok)
                        .map(|_| nick.clone())
                });
                out.push(Output::Alert(match actual {
                    Some(actual) => Alert::Misattributed {
                        room,
                        gseq,
                        claimed: msg.sender.clone(),
                        actual,
                    },
                    None => Alert::Forged {
                        room,
                        gseq,
                        sender: msg.sender.clone(),
                        reason: ForgeReason::BadMac,
                    },
                }));
                None
            }
            None => {
                let link = self.link(&msg.sender);
                if link.their_from.is_some_and(|f| msg.sseq >= f) {
                    out.push(Output::Alert(Alert::Forged {
                        room,
                        gseq,
                        sender: msg.sender.clone(),
                        reason: ForgeReason::MissingMac,
                    }));
                    return None;
                }
                link.unauthenticated.push(Unauthenticated {
                    sseq: msg.sseq,
                    gseq,
                });
                if link.unauthenticated.len() > 256 {
                    link.unauthenticated.remove(0);
                }
                Some(Auth::HostAttested)
            }
        }
    }
}
