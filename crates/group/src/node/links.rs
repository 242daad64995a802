//! Links to peers: the OTR sessions the room rides on. Every engine event passes through
//! `pump`: wire lines are routed (private, or tagged in the room's channel), group
//! envelopes are taken out of private messages, and a session coming up flushes what
//! waited for it. A line for a peer without a session waits in the peer's outbox while
//! `ensure_session` starts one.

use otr::crypto::Fingerprint;
use otr::{ConversationState, Event};

use super::pairwise::KeyState;
use super::{authn, caps, pairwise, Delivery, Node, Room, GROUP_KEY_USAGE};
use crate::envelope::{other_version, tag, Envelope, MemberKind, PREFIX};
use crate::output::{Output, Target};

/// Our side of one peer: what waits for its private session, and the pairwise key.
pub(super) struct Link {
    /// What waits for the peer's private session (capped: see `caps::Outbox`).
    pub(super) outbox: caps::Outbox,
    /// When we last started a session with the peer (see `Node::ensure_session`).
    pub(super) started: Option<f64>,
    /// Our pairwise key with the peer.
    pub(super) key: KeyState,
    /// The peer MACs every message to us from this counter on (its `pk`).
    pub(super) their_from: Option<u64>,
    /// Recent messages attributed to the peer that came without a MAC. At most 256, the
    /// oldest dropped first.
    pub(super) unauthenticated: Vec<authn::Unauthenticated>,
    /// We left starting our session to the peer (see `Node::ensure_session`); the next
    /// attempt starts it ourselves.
    pub(super) deferred: bool,
    /// The peer's latest key offer (TLV 8) for our room that came before our roster named
    /// the peer: the host's roster and the peer's offer race each other.
    pub(super) early_offer: Option<pairwise::EarlyOffer>,
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
}

impl Node {
    /// Passes events of an engine call through the node.
    pub(super) fn absorb(&mut self, events: Vec<Event>) -> Vec<Output> {
        let mut out = Vec::new();
        self.pump(events, None, &mut out);
        self.settle_delivery();
        out
    }

    /// Takes the engine's events in order: wire lines to the transport (`origin`: whose
    /// line it carries, for the channel tag), private messages and sessions to the room,
    /// the group's pairwise keys to `pairwise`, the rest out as [`Output::Otr`].
    pub(super) fn pump(&mut self, events: Vec<Event>, origin: Option<&str>, out: &mut Vec<Output>) {
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

    pub(super) fn link(&mut self, peer: &str) -> &mut Link {
        self.links.entry(peer.to_owned()).or_insert_with(Link::new)
    }

    /// Starts an OTR session with `peer` unless one was started less than
    /// `session_retry_secs` ago. Between two full members the lower fingerprint starts it
    /// (it derives their pairwise key, see `mesh`): the other waits one interval for it
    /// before starting itself, because two exchanges started at once over a slow network
    /// collide and restart each other.
    pub(super) fn ensure_session(&mut self, peer: &str, out: &mut Vec<Output>) {
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

    pub(super) fn send_env(
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

    pub(super) fn send_text(&mut self, peer: &str, text: &str, out: &mut Vec<Output>) {
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
        if let Some(m) = self.key_mismatch(peer) {
            self.warn_mismatch(peer, m.expected, m.actual, out);
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
        for q in pending {
            let events = self.engine.send(peer, &q.text);
            self.pump(events, q.origin.as_deref(), out);
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

    pub(super) fn retry_sessions(&mut self, out: &mut Vec<Output>) {
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
}
