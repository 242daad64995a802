//! [`Client`]: one account on one network, its private conversations and its room.

use std::collections::BTreeMap;

use group::{Config as GroupConfig, Node, Output, Target};
use otr::{ConversationState, Engine, Event, KnownFingerprints, Notice, SmpResult, Status, Time};
use zeroize::Zeroize;

use crate::text::{irc_default_payload, split_message, PayloadLimit, WHITESPACE_TAG_ROOM};
use crate::vocabulary::{
    Absence, Action, Conversation, Delivery, NetCommand, NetEvent, PrivateChange, Refusal,
    TextAuth, Update,
};

/// How a client is set up.
#[derive(Clone)]
pub struct ClientConfig {
    /// The nick we ask for (rooms know us by it).
    pub nick: String,
    /// The largest message body the transport carries for `(our_nick, target)`: OTR
    /// messages are fragmented to it, plain text split.
    pub max_payload: PayloadLimit,
}

impl core::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("nick", &self.nick)
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// A configuration for `nick` with IRC's conservative payload limit.
    pub fn new(nick: &str) -> Self {
        Self {
            nick: nick.to_owned(),
            max_payload: std::sync::Arc::new(irc_default_payload),
        }
    }
}

/// What one call returns: commands for the transport, updates for the front end, in order.
#[derive(Debug, Default, Clone, PartialEq)]
#[must_use = "the commands must go to the transport and the updates to the front end"]
pub struct Step {
    /// For the transport.
    pub commands: Vec<NetCommand>,
    /// For the front end.
    pub updates: Vec<Update>,
}

/// One account on one network: the OTR engine (inside the room node, which rides on its
/// sessions), what the front end was last told of each private conversation, and the
/// room's presence checks. Sans-IO: transport events, user actions and time go in; a
/// [`Step`] comes out.
pub struct Client {
    pub(crate) node: Node,
    pub(crate) config: ClientConfig,
    /// Our nick on the network now.
    pub(crate) nick: String,
    pub(crate) connected: bool,
    /// What the front end was last told of each private conversation: an entry only for a
    /// peer the engine sent to or reported on, so bounded by the engine's cap on peers
    /// (`otr::engine::MAX_PEERS`), whatever nicks strangers write from.
    pub(crate) shown: BTreeMap<String, Status>,
    /// Channels we are in.
    pub(crate) channels: Vec<String>,
    /// A channel we join because the room we accepted is delivered there.
    pub(crate) room_channel_join: Option<String>,
    /// When we last asked whether the room's host is online.
    pub(crate) host_polled_at: f64,
    /// We answered the peer's SMP question (so a success means the peer verified us).
    pub(crate) answered_question: BTreeMap<String, bool>,
    pub(crate) now: f64,
}

impl core::fmt::Debug for Client {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client")
            .field("nick", &self.nick)
            .field("connected", &self.connected)
            .field("conversations", &self.shown.len())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the account whose engine is `engine` (keys and known fingerprints
    /// loaded). Text typed during a key exchange is held by the engine and sent once
    /// private.
    pub fn new(mut engine: Engine, config: ClientConfig) -> Self {
        engine.set_hold_during_key_exchange(true);
        let node = Node::new(
            engine,
            GroupConfig::new(&config.nick),
            Box::new(rand_core::OsRng),
        );
        Self {
            node,
            nick: config.nick.clone(),
            config,
            connected: false,
            shown: BTreeMap::new(),
            channels: Vec::new(),
            room_channel_join: None,
            host_polled_at: 0.0,
            answered_question: BTreeMap::new(),
            now: 0.0,
        }
    }

    /// Our nick on the network now.
    pub fn nick(&self) -> &str {
        &self.nick
    }

    /// Whether the transport is connected.
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// The engine (read-only: every change goes through the client, so that the room
    /// sees every event).
    pub fn engine(&self) -> &Engine {
        self.node.engine()
    }

    /// The room node (read-only).
    pub fn room(&self) -> &Node {
        &self.node
    }

    /// The known fingerprints with their trust (to save after [`Update::TrustChanged`]).
    pub fn known_fingerprints(&self) -> &KnownFingerprints {
        self.node.engine().known_fingerprints()
    }

    /// The status of the private conversation with `peer`.
    pub fn status(&self, peer: &str) -> Status {
        self.node.engine().status(peer)
    }

    /// Channels we are in.
    pub fn channels(&self) -> &[String] {
        &self.channels
    }

    // ----- inputs -------------------------------------------------------------------

    /// Something happened on the network.
    pub fn on_net(&mut self, event: NetEvent) -> Step {
        let mut step = Step::default();
        match &event {
            NetEvent::Connected { nick } => {
                self.nick = nick.clone();
                self.connected = true;
            }
            NetEvent::Disconnected { .. } => self.connected = false,
            NetEvent::Private { from, text } => self.on_private(from, text, &mut step),
            NetEvent::Notice { from, text } => {
                let events = self.node.receive_channel_text(from, text);
                let conversation = if from.is_empty() || from.contains('.') {
                    Conversation::Server
                } else {
                    Conversation::Private(from.clone())
                };
                self.handle_outputs(events, Some(&conversation), &mut step);
            }
            NetEvent::Public {
                channel,
                from,
                text,
            } => {
                let outputs = if group::envelope::untag(text).is_some() {
                    self.node.receive_channel(channel, from, text)
                } else {
                    self.node.receive_channel_text(from, text)
                };
                let conversation = Conversation::Channel(channel.clone());
                self.handle_outputs(outputs, Some(&conversation), &mut step);
            }
            NetEvent::Joined { channel, nick } if self.is_me(nick) => {
                if !self.in_channel(channel) {
                    self.channels.push(channel.clone());
                }
                if self
                    .room_channel_join
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case(channel))
                {
                    self.room_channel_join = None;
                }
            }
            NetEvent::Parted { channel, nick, .. } if self.is_me(nick) => {
                self.channels.retain(|c| !c.eq_ignore_ascii_case(channel));
            }
            NetEvent::Quit { nick, .. } => {
                let outputs = self.node.peer_gone(nick);
                self.handle_outputs(outputs, None, &mut step);
            }
            NetEvent::NickChanged { old, new } => self.on_nick(old, new, &mut step),
            NetEvent::Absent { nick, why } => self.peer_left_network(nick, *why, &mut step),
            _ => {}
        }
        step.updates.insert(0, Update::Net(event));
        step
    }

    /// The user did something.
    pub fn act(&mut self, action: Action) -> Step {
        let mut step = Step::default();
        self.tick_room(&mut step);
        match action {
            Action::Say { to, text } => self.say(to, &text, &mut step),
            Action::Start(peer) => {
                self.prepare_peer(&peer);
                let result = self.node.start_private(&peer);
                self.finish_try(result, &mut step);
            }
            Action::Finish(peer) => {
                let outputs = self.node.finish_private(&peer);
                self.handle_outputs(outputs, None, &mut step);
            }
            Action::Trust { peer, trusted } => {
                let result = self.node.set_trust(&peer, trusted);
                self.finish_try(result, &mut step);
            }
            Action::Authenticate {
                peer,
                question,
                mut secret,
            } => {
                self.answered_question.remove(&peer);
                let result = self
                    .node
                    .smp_start(&peer, secret.as_bytes(), question.as_deref());
                secret.zeroize();
                self.finish_try(result, &mut step);
            }
            Action::Answer { peer, mut secret } => {
                let result = self.node.smp_respond(&peer, secret.as_bytes());
                secret.zeroize();
                self.finish_try(result, &mut step);
            }
            Action::AbortAuthentication(peer) => {
                let result = self.node.smp_abort(&peer);
                self.finish_try(result, &mut step);
            }
            Action::SetPolicy(policy) => {
                self.node.set_policy(policy);
            }
            Action::Room(room) => self.room_action(room, &mut step),
            Action::Quit(reason) => {
                // End every private conversation first, as irssi-otr does, so that the
                // peers know and nothing lingers.
                let peers: Vec<String> = self
                    .shown
                    .iter()
                    .filter(|(_, s)| s.state == ConversationState::Encrypted)
                    .map(|(p, _)| p.clone())
                    .collect();
                for peer in peers {
                    let outputs = self.node.finish_private(&peer);
                    self.handle_outputs(outputs, None, &mut step);
                }
                step.commands.push(NetCommand::Quit(reason));
            }
        }
        step
    }

    /// Time passed (`now`; call about once a second): the engine's heartbeats, held text
    /// given up, the room's timers and presence checks of its host.
    pub fn tick(&mut self, now: Time) -> Step {
        self.now = now.as_secs_f64();
        let mut step = Step::default();
        self.tick_room(&mut step);
        self.poll_host(&mut step);
        // A key exchange the engine gave up shows as a status change.
        let peers: Vec<String> = self.shown.keys().cloned().collect();
        for peer in peers {
            self.report_status(&peer, &mut step);
        }
        step
    }

    // ----- private conversations ----------------------------------------------------

    fn on_private(&mut self, from: &str, text: &str, step: &mut Step) {
        self.prepare_peer(from);
        let outputs = self.node.receive_private(from, text);
        self.handle_outputs(outputs, None, step);
    }

    fn on_nick(&mut self, old: &str, new: &str, step: &mut Step) {
        if self.is_me(old) {
            new.clone_into(&mut self.nick);
            return;
        }
        if !self.shown.contains_key(old) {
            return;
        }
        self.shown.remove(old);
        // Same key, same person: the node carries the verification over to the new nick.
        let outputs = self.node.rename_peer(old, new);
        step.updates.push(Update::Renamed {
            old: old.to_owned(),
            new: new.to_owned(),
        });
        self.prepare_peer(new);
        self.handle_outputs(outputs, None, step);
    }

    fn say(&mut self, to: Conversation, text: &str, step: &mut Step) {
        match &to {
            Conversation::Server => step
                .updates
                .push(Update::Refused(Refusal::ServerConversation)),
            Conversation::Channel(channel) => {
                let limit = (self.config.max_payload)(&self.nick, channel);
                for part in split_message(text, limit) {
                    step.commands.push(NetCommand::Public {
                        channel: channel.clone(),
                        text: part,
                    });
                }
                step.updates.push(Update::Own {
                    conversation: to.clone(),
                    text: text.to_owned(),
                    delivery: Delivery::Channel,
                });
            }
            Conversation::Room => match self.node.say(text) {
                Ok(outputs) => {
                    step.updates.push(Update::Own {
                        conversation: to.clone(),
                        text: text.to_owned(),
                        delivery: Delivery::Room,
                    });
                    self.handle_outputs(outputs, None, step);
                }
                Err(e) => step.updates.push(Update::Refused(Refusal::Group(e))),
            },
            Conversation::Private(peer) => {
                self.prepare_peer(peer);
                let status = self.node.engine().status(peer);
                let private = status.state == ConversationState::Encrypted;
                let outputs = if private || status.key_exchange.is_some() {
                    // The engine encrypts and fragments, or holds it until private.
                    self.node.send_private(peer, text)
                } else {
                    // Plain text goes out as it is (with room for a whitespace tag): split
                    // what the server would cut.
                    let limit = (self.config.max_payload)(&self.nick, peer);
                    let parts = split_message(text, limit.saturating_sub(WHITESPACE_TAG_ROOM));
                    parts
                        .iter()
                        .flat_map(|p| self.node.send_private(peer, p))
                        .collect()
                };
                let notice_of = |o: &Output| match o {
                    Output::Otr(Event::Notice { notice, .. }) => Some(notice.clone()),
                    _ => None,
                };
                let delivery = match outputs.iter().find_map(notice_of) {
                    Some(Notice::Held(_)) => Delivery::Held,
                    Some(Notice::NotSent(_)) => Delivery::NotSent,
                    _ if private => Delivery::Private,
                    _ => Delivery::Plain,
                };
                step.updates.push(Update::Own {
                    conversation: to.clone(),
                    text: text.to_owned(),
                    delivery,
                });
                self.handle_outputs(outputs, None, step);
            }
        }
    }

    /// Tells the front end how the conversation with `peer` changed since it last heard.
    pub(crate) fn report_status(&mut self, peer: &str, step: &mut Step) {
        let now = self.node.engine().status(peer);
        let before = self.shown.get(peer).cloned();
        if before.as_ref() == Some(&now) {
            return;
        }
        let change = change_between(before.as_ref(), &now);
        self.shown.insert(peer.to_owned(), now.clone());
        let room_session = self.node.uses_session(peer);
        step.updates.push(Update::Private {
            peer: peer.to_owned(),
            status: now,
            change,
            room_session,
        });
    }

    /// Fragments OTR messages to `peer` to what one transport line carries (less the room's
    /// channel tags when the room is delivered in a channel).
    pub(crate) fn prepare_peer(&mut self, peer: &str) {
        let limit = &self.config.max_payload;
        let size = self
            .node
            .otr_message_size(peer, |target| limit(&self.nick, target));
        self.node.set_max_message_size(peer, size);
    }

    // ----- outputs --------------------------------------------------------------------

    fn finish_try(&mut self, result: Result<Vec<Output>, otr::EngineError>, step: &mut Step) {
        match result {
            Ok(outputs) => self.handle_outputs(outputs, None, step),
            Err(e) => step.updates.push(Update::Refused(Refusal::Engine(e))),
        }
    }

    /// Turns the node's outputs into commands and updates. `from`: the conversation the
    /// input came from, when it was not a private one (a channel's text stays there).
    pub(crate) fn handle_outputs(
        &mut self,
        outputs: Vec<Output>,
        from: Option<&Conversation>,
        step: &mut Step,
    ) {
        let mut touched: Vec<String> = Vec::new();
        for output in outputs {
            match output {
                Output::Send {
                    to: Target::Private(to),
                    line,
                } => {
                    if !touched.contains(&to) {
                        touched.push(to.clone());
                    }
                    step.commands.push(NetCommand::Private { to, text: line });
                }
                Output::Send {
                    to: Target::Channel(channel),
                    line,
                } => step.commands.push(NetCommand::Public {
                    channel,
                    text: line,
                }),
                Output::Otr(event) => self.on_engine_event(event, from, &mut touched, step),
                other => step.updates.push(Update::Room(other)),
            }
        }
        for peer in touched {
            self.report_status(&peer, step);
        }
    }

    fn on_engine_event(
        &mut self,
        event: Event,
        from: Option<&Conversation>,
        touched: &mut Vec<String>,
        step: &mut Step,
    ) {
        let conversation_of = |peer: &str| {
            from.cloned()
                .unwrap_or_else(|| Conversation::Private(peer.to_owned()))
        };
        match event {
            Event::Wire { peer, data } => {
                if !touched.contains(&peer) {
                    touched.push(peer.clone());
                }
                step.commands.push(NetCommand::Private {
                    to: peer,
                    text: data,
                });
            }
            Event::Message {
                peer,
                text,
                encrypted,
                origin,
            } => {
                let auth = match origin.filter(|_| encrypted) {
                    Some(origin) => {
                        let shown = self.shown.get(&peer).and_then(|s| s.fingerprint);
                        TextAuth::Private {
                            origin,
                            other_key: shown.is_some_and(|fp| fp != origin.fingerprint),
                        }
                    }
                    None => TextAuth::Plain,
                };
                step.updates.push(Update::Text {
                    conversation: conversation_of(&peer),
                    from: peer,
                    text,
                    auth,
                });
            }
            Event::State { peer, .. } if !touched.contains(&peer) => touched.push(peer),
            Event::Smp {
                peer,
                result,
                question,
                ..
            } => {
                let we_answered = result == SmpResult::Success
                    && self.answered_question.remove(&peer).unwrap_or(false);
                if matches!(result, SmpResult::Question) {
                    self.answered_question.insert(peer.clone(), true);
                }
                if matches!(result, SmpResult::Failure | SmpResult::Aborted) {
                    self.answered_question.remove(&peer);
                }
                if result == SmpResult::Success {
                    step.updates.push(Update::TrustChanged);
                }
                step.updates.push(Update::Authentication {
                    peer,
                    result,
                    question,
                    we_answered,
                });
            }
            Event::ExtraSymmetricKey { peer, usage, .. } => {
                step.updates.push(Update::ExtraSymmetricKey { peer, usage });
            }
            Event::Notice { peer, notice } => {
                step.updates.push(Update::Notice {
                    conversation: conversation_of(&peer),
                    peer,
                    notice,
                });
            }
            _ => {}
        }
    }

    pub(crate) fn is_me(&self, nick: &str) -> bool {
        nick.eq_ignore_ascii_case(&self.nick)
    }

    pub(crate) fn in_channel(&self, channel: &str) -> bool {
        self.channels
            .iter()
            .any(|c| c.eq_ignore_ascii_case(channel))
    }

    /// The nick left the network (no quit came): the room hands off if it was its host.
    fn peer_left_network(&mut self, nick: &str, why: Absence, step: &mut Step) {
        let was_host = !self.node.is_host()
            && self.node.roster().is_some()
            && self.node.host_nick() == Some(nick);
        if was_host {
            step.updates.push(Update::HostGone {
                nick: nick.to_owned(),
                why,
            });
        }
        let outputs = self.node.peer_gone(nick);
        self.handle_outputs(outputs, None, step);
    }
}

/// What changed between what the front end was told and the status now.
fn change_between(before: Option<&Status>, now: &Status) -> PrivateChange {
    let was_private = before.is_some_and(|b| b.state == ConversationState::Encrypted);
    let was_finished = before.is_some_and(|b| b.state == ConversationState::Finished);
    let was_starting = before.is_some_and(|b| b.key_exchange.is_some());
    match now.state {
        ConversationState::Encrypted if !was_private => PrivateChange::Started,
        ConversationState::Encrypted => {
            let b = before.map(|b| (b.fingerprint, b.trusted, b.instance));
            match b {
                Some((fp, _, _)) if fp != now.fingerprint => PrivateChange::Refreshed,
                Some((_, false, _)) if now.trusted => PrivateChange::Verified,
                Some((_, true, _)) if !now.trusted => PrivateChange::Unverified,
                _ => PrivateChange::Other,
            }
        }
        ConversationState::Finished if !was_finished => PrivateChange::PeerFinished,
        ConversationState::Plaintext if was_private || was_finished => PrivateChange::Ended,
        ConversationState::Plaintext if now.key_exchange.is_some() && !was_starting => {
            PrivateChange::Starting
        }
        ConversationState::Plaintext if was_starting && now.key_exchange.is_none() => {
            PrivateChange::GaveUp
        }
        _ => PrivateChange::Other,
    }
}
