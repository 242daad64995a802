//! Chat clients and a libotr 4.1.1 peer, each behind its own IRC transport, for the tests
//! that run through a real ngircd (`chat_over_ngircd`, `chat_libotr_over_ngircd`,
//! `chat_group_over_ngircd`). Each test keeps its own event loop (`pump`) and checks; this
//! is what they drive.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use irc::{IrcCommand, IrcConfig, IrcEvent, IrcHandle, Pacing};
use libotr_harness::{Event as LEvent, LibOtr, POLICY_DEFAULT};
use offrecord::chat::app::{App, AppConfig};
use otr::Policy;
use testkit::{engine, irc_lines, key};
use tokio::sync::mpsc::Receiver;

/// Seconds since the Unix epoch, as the chat runner passes time to the `App`.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// A transport configuration for a server that gives every user relaxed flood control:
/// no pacing (pacing under ngircd's defaults is tested in crates/irc), and quick
/// reconnects.
pub fn relaxed_irc_config(port: u16, nick: &str) -> IrcConfig {
    let mut config = IrcConfig::new("127.0.0.1", port, nick);
    config.pacing = Pacing::none();
    config.reconnect_min = Duration::from_millis(200);
    config.reconnect_max = Duration::from_secs(2);
    config
}

/// A transport with the default configuration: paced for ngircd's default flood control.
pub fn default_irc_config(port: u16, nick: &str) -> IrcConfig {
    IrcConfig::new("127.0.0.1", port, nick)
}

/// A chat user: the chat core (with a fresh opportunistic key from `seed`) and its own
/// connection.
pub struct ChatClient {
    pub app: App,
    pub handle: IrcHandle,
    pub events: Receiver<IrcEvent>,
    /// Every PRIVMSG text the client sent.
    pub sent: Vec<String>,
}

impl ChatClient {
    /// A client for `config.nick`; its key and randomness come from `seed`, its instance
    /// tag is `tag_base + seed`.
    pub fn new(config: IrcConfig, seed: u64, tag_base: u32) -> ChatClient {
        let tag = tag_base + u32::try_from(seed).unwrap();
        let engine = engine(key(seed), tag, Policy::OPPORTUNISTIC, seed + 7);
        let nick = config.nick.clone();
        let (handle, events) = irc::spawn(config);
        // OTR messages are fragmented to exactly what the server relays uncut from us.
        let mut app_config = AppConfig::new(&nick);
        let limit = handle.clone();
        app_config.max_payload =
            std::sync::Arc::new(move |_nick, target| limit.max_payload(target));
        ChatClient {
            app: App::new(engine, app_config),
            handle,
            events,
            sent: Vec::new(),
        }
    }

    /// Hands `commands` to the transport, recording the PRIVMSG texts.
    pub fn send_all(&mut self, commands: Vec<IrcCommand>) {
        for command in commands {
            if let IrcCommand::Privmsg { text, .. } = &command {
                self.sent.push(text.clone());
            }
            self.handle.send(command).unwrap();
        }
    }

    /// The user types `line` in the active window.
    pub fn type_line(&mut self, line: &str) {
        let out = self.app.on_input(line, now());
        self.send_all(out);
    }

    /// A network event reaches the client.
    pub fn on_irc(&mut self, event: IrcEvent) {
        let out = self.app.on_irc(event, now());
        self.send_all(out);
    }

    /// A second passed.
    pub fn tick(&mut self) {
        let out = self.app.on_tick(now());
        self.send_all(out);
    }
}

/// `client_deref!(Type, field)`: a test's user type that wraps a [`ChatClient`] in `field`
/// reads and drives it as its own (`user.app`, `user.type_line(..)`).
macro_rules! client_deref {
    ($user:ty, $field:tt) => {
        impl std::ops::Deref for $user {
            type Target = $crate::support::ngircd_chat::ChatClient;
            fn deref(&self) -> &Self::Target {
                &self.$field
            }
        }

        impl std::ops::DerefMut for $user {
            fn deref_mut(&mut self) -> &mut Self::Target {
                &mut self.$field
            }
        }
    };
}
pub(crate) use client_deref;

/// A libotr 4.1.1 user behind its own connection, as an IRC client plugin would put it: a
/// stock OTR client.
pub struct LibPeer {
    pub lib: LibOtr,
    pub handle: IrcHandle,
    pub events: Receiver<IrcEvent>,
    /// The nick libotr fragments for (what the server relays uncut from us to it).
    pub partner: String,
    pub connected: bool,
    /// Messages libotr handed to its user: (from, text, encrypted).
    pub shown: Vec<(String, String, bool)>,
    /// `gone_secure` / `still_secure` count.
    pub secure: usize,
    /// Disconnect TLVs received (a peer ended the private conversation).
    pub finished: usize,
    /// SMP events by name, with the question when there is one.
    pub smp: Vec<(String, Option<String>)>,
    /// libotr's message events (errors, unreadable messages), by name.
    pub msg_events: Vec<String>,
    /// Every PRIVMSG text handed to the transport.
    pub wire: Vec<String>,
}

impl LibPeer {
    /// libotr as `config.nick` (its cached key), talking mostly to `partner`.
    pub fn new(config: IrcConfig, partner: &str) -> LibPeer {
        let lib = LibOtr::with_cached_key(&config.nick, POLICY_DEFAULT).unwrap();
        let (handle, events) = irc::spawn(config);
        LibPeer {
            lib,
            handle,
            events,
            partner: partner.to_owned(),
            connected: false,
            shown: Vec::new(),
            secure: 0,
            finished: 0,
            smp: Vec::new(),
            msg_events: Vec::new(),
            wire: Vec::new(),
        }
    }

    /// Acts on what libotr returned.
    pub fn absorb(&mut self, events: Vec<LEvent>) {
        for event in events {
            match event {
                LEvent::Wire { peer, data } => {
                    for line in irc_lines(&data) {
                        self.handle
                            .send(IrcCommand::Privmsg {
                                target: peer.clone(),
                                text: line.to_string(),
                            })
                            .unwrap();
                        self.wire.push(line.to_string());
                    }
                }
                LEvent::Message {
                    peer,
                    text,
                    encrypted,
                } => self.shown.push((peer, text, encrypted)),
                LEvent::GoneSecure { .. } | LEvent::StillSecure { .. } => self.secure += 1,
                LEvent::Smp { name, question, .. } => self.smp.push((name, question)),
                // TLV 1: the peer ended the private conversation.
                LEvent::Tlv { tlv_type: 1, .. } => self.finished += 1,
                LEvent::MsgEvent { name, .. } => self.msg_events.push(name),
                _ => {}
            }
        }
    }

    /// A network event reaches the client: private messages to us go to libotr.
    pub fn on_irc(&mut self, event: IrcEvent) {
        match event {
            IrcEvent::Connected { .. } => {
                self.connected = true;
                let size = self.handle.max_payload(&self.partner);
                self.lib.set_max_message_size(size);
            }
            IrcEvent::Disconnected { .. } => self.connected = false,
            IrcEvent::Message {
                from,
                target,
                text,
                notice: false,
            } if target == self.handle.nick() => {
                let events = self.lib.receive(&from, &text);
                self.absorb(events);
            }
            _ => {}
        }
    }

    /// A second passed (libotr's timers).
    pub fn tick(&mut self) {
        let events = self.lib.poll();
        self.absorb(events);
    }

    /// The user sends a query to `peer`.
    pub fn start(&mut self, peer: &str) {
        let events = self.lib.start(peer);
        self.absorb(events);
    }

    /// The user types `text` in the private conversation with `peer`.
    pub fn say(&mut self, peer: &str, text: &str) {
        let events = self.lib.send(peer, text);
        self.absorb(events);
    }

    /// The user ends the private conversation with `peer`.
    pub fn finish(&mut self, peer: &str) {
        let events = self.lib.finish(peer);
        self.absorb(events);
    }

    /// What `peer`'s private conversation showed decrypted (sent encrypted), in order.
    pub fn shown_decrypted(&self, peer: &str) -> Vec<String> {
        self.shown
            .iter()
            .filter(|(from, _, encrypted)| from == peer && *encrypted)
            .map(|(_, t, _)| t.clone())
            .collect()
    }

    /// How many SMP events named `name` libotr reported.
    pub fn smp_count(&self, name: &str) -> usize {
        self.smp.iter().filter(|(n, _)| n == name).count()
    }
}
