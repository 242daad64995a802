//! The host's role: opening a room, invitations (full and thin members), admissions,
//! kicks and departures, the roster, relaying `say`s in each sender's order, and resends
//! from its history.

use std::collections::BTreeMap;

use otr::crypto::Fingerprint;
use otr::ConversationState;

use super::{caps, Delivery, GroupError, Node, Room, Shared};
use crate::envelope::{
    valid_channel, valid_nick, Envelope, Item, MemberKind, MsgItem, RoomId, Roster, RosterEntry,
    MAC_LEN, MAX_BODY, MAX_MEMBERS,
};
use crate::limits::RESEND_MAX_ITEMS;
use crate::output::{Alert, Auth, GroupMessage, Output};

/// A relayed item the host keeps for resends.
pub(super) struct Relayed {
    pub(super) gseq: u64,
    pub(super) item: Item,
    pub(super) macs: Vec<(String, [u8; MAC_LEN])>,
}

/// The host's room.
pub(super) struct HostRoom {
    pub(super) s: Shared,
    /// Relayed items for resends (capped: see `caps::History`).
    pub(super) history: caps::History,
    /// Invited, not yet in the roster (our user's invitations).
    pub(super) invited: BTreeMap<String, MemberKind>,
    /// The key each invitation went to (the session it left over): the invitee's `join`
    /// must come from it, and the roster records it. At most one per invitee.
    pub(super) pins: BTreeMap<String, Fingerprint>,
    /// `say`s that arrived ahead of their sender's previous one (capped: see
    /// `HostRoom::hold`), per roster member.
    pub(super) held: BTreeMap<String, BTreeMap<u64, caps::HeldSay>>,
    /// Counters the host assigns to thin members' lines, per roster member.
    pub(super) thin_seq: BTreeMap<String, u64>,
    /// What each member may get sent again (`rs`, repeated `say`s), and all together.
    pub(super) resend: caps::ResendBudget,
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

impl Node {
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
        let (me, fp) = (self.cfg.nick.clone(), self.engine.fingerprint());
        let s = self.new_shared(id, 1, me, fp, roster, None);
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

    pub(super) fn on_join(&mut self, from: &str, out: &mut Vec<Output>) {
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

    pub(super) fn admit_thin(&mut self, nick: &str, out: &mut Vec<Output>) {
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

    pub(super) fn on_leave(&mut self, from: &str, out: &mut Vec<Output>) {
        let Room::Host(h) = &mut self.room else {
            return;
        };
        if from == h.s.host || !h.s.roster.contains(from) {
            return;
        }
        h.s.roster.members.retain(|m| m.nick != from);
        self.announce_roster(out);
    }

    pub(super) fn announce_roster(&mut self, out: &mut Vec<Output>) {
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

    pub(super) fn on_say(
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
        let last = h.s.senders.get(from).map_or(0, |c| c.last);
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
            let at = self.now;
            h.hold(
                from,
                sseq,
                caps::HeldSay {
                    seen,
                    body,
                    macs,
                    at,
                },
            );
            return;
        }
        self.relay_msg(from, sseq, seen, body, macs, out);
        loop {
            let Room::Host(h) = &mut self.room else {
                return;
            };
            let Some(next) = h.s.senders.get(from).map_or(0, |c| c.last).checked_add(1) else {
                return;
            };
            let Some(say) = h.held.get_mut(from).and_then(|m| m.remove(&next)) else {
                return;
            };
            self.relay_msg(from, next, say.seen, say.body, say.macs, out);
        }
    }

    pub(super) fn relay_thin(&mut self, from: &str, text: String, out: &mut Vec<Output>) {
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

    pub(super) fn relay_msg(
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
        let counters = h.s.senders.entry(sender.to_owned()).or_default();
        counters.last = sseq;
        counters.remember(sseq);
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

    pub(super) fn on_resend(
        &mut self,
        from: &str,
        epoch: u64,
        a: u64,
        to: u64,
        out: &mut Vec<Output>,
    ) {
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
}
