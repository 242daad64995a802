//! Two and three clients over an in-memory transport, no terminal and no network: a private
//! conversation (held text during the key exchange, verified lines), a room (host, invite,
//! accept, lines), and a host that vanishes from the network (the presence check notices
//! and the room hands off).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, VecDeque};

use client::{
    Absence, Action, Client, ClientConfig, Conversation, Delivery, NetCommand, NetEvent,
    PrivateChange, RoomAction, Step, TextAuth, Update, HOST_POLL_SECS,
};
use group::Output;
use otr::crypto::DsaPrivateKey;
use otr::wire::encoded::InstanceTag;
use otr::{Engine, EngineConfig, Policy, Time};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// Clients on one network: private lines and channel lines delivered in order.
struct Net {
    clients: BTreeMap<String, Client>,
    updates: BTreeMap<String, Vec<Update>>,
    queue: VecDeque<(String, NetCommand)>,
    channels: BTreeMap<String, Vec<String>>,
    now: u64,
}

fn client(nick: &str, seed: u64) -> Client {
    let key = DsaPrivateKey::generate(&mut ChaCha20Rng::seed_from_u64(seed));
    let engine = Engine::new(
        key,
        EngineConfig {
            policy: Policy::OPPORTUNISTIC,
            instance_tag: InstanceTag(0x100 + seed as u32),
            line_based: true,
            hold_during_key_exchange: true,
        },
        Box::new(ChaCha20Rng::seed_from_u64(seed + 100)),
    );
    Client::new(engine, ClientConfig::new(nick))
}

impl Net {
    fn new(nicks: &[&str]) -> Self {
        let mut net = Self {
            clients: BTreeMap::new(),
            updates: BTreeMap::new(),
            queue: VecDeque::new(),
            channels: BTreeMap::new(),
            now: 1_000_000,
        };
        for (i, nick) in nicks.iter().enumerate() {
            net.clients
                .insert((*nick).to_owned(), client(nick, i as u64 + 1));
            net.deliver(
                nick,
                NetEvent::Connected {
                    nick: (*nick).to_owned(),
                },
            );
        }
        net.run();
        net
    }

    fn absorb(&mut self, nick: &str, step: Step) {
        self.updates
            .entry(nick.to_owned())
            .or_default()
            .extend(step.updates);
        for c in step.commands {
            self.queue.push_back((nick.to_owned(), c));
        }
    }

    fn deliver(&mut self, nick: &str, event: NetEvent) {
        let Some(c) = self.clients.get_mut(nick) else {
            return;
        };
        let step = c.on_net(event);
        self.absorb(nick, step);
    }

    fn act(&mut self, nick: &str, action: Action) {
        let step = self.clients.get_mut(nick).unwrap().act(action);
        self.absorb(nick, step);
        self.run();
    }

    /// Delivers until quiet.
    fn run(&mut self) {
        let mut budget = 100_000;
        while let Some((from, command)) = self.queue.pop_front() {
            budget -= 1;
            assert!(budget > 0, "the network never went quiet");
            match command {
                NetCommand::Private { to, text } => {
                    if self.clients.contains_key(&to) {
                        self.deliver(&to, NetEvent::Private { from, text });
                    } else {
                        self.deliver(
                            &from,
                            NetEvent::Absent {
                                nick: to,
                                why: Absence::NoSuchNick,
                            },
                        );
                    }
                }
                NetCommand::Public { channel, text } => {
                    let members = self.channels.get(&channel).cloned().unwrap_or_default();
                    for m in members.iter().filter(|m| **m != from) {
                        let event = NetEvent::Public {
                            channel: channel.clone(),
                            from: from.clone(),
                            text: text.clone(),
                        };
                        self.deliver(m, event);
                    }
                }
                NetCommand::Join(channel) => {
                    let members = self.channels.entry(channel.clone()).or_default();
                    members.push(from.clone());
                    for m in members.clone() {
                        let event = NetEvent::Joined {
                            channel: channel.clone(),
                            nick: from.clone(),
                        };
                        self.deliver(&m, event);
                    }
                }
                NetCommand::CheckPresence(nicks) => {
                    for nick in nicks {
                        if !self.clients.contains_key(&nick) {
                            let why = Absence::NotOnline;
                            self.deliver(&from, NetEvent::Absent { nick, why });
                        }
                    }
                }
                NetCommand::Quit(_) => {
                    self.clients.remove(&from);
                }
                _ => {}
            }
        }
    }

    /// `secs` seconds pass, one tick a second.
    fn advance(&mut self, secs: u64) {
        for _ in 0..secs {
            self.now += 1;
            let nicks: Vec<String> = self.clients.keys().cloned().collect();
            for n in nicks {
                let step = self
                    .clients
                    .get_mut(&n)
                    .unwrap()
                    .tick(Time::from_secs(self.now));
                self.absorb(&n, step);
            }
            self.run();
        }
    }

    fn take(&mut self, nick: &str) -> Vec<Update> {
        std::mem::take(self.updates.entry(nick.to_owned()).or_default())
    }
}

fn texts(updates: &[Update]) -> Vec<(String, TextAuth)> {
    updates
        .iter()
        .filter_map(|u| match u {
            Update::Text { text, auth, .. } => Some((text.clone(), *auth)),
            _ => None,
        })
        .collect()
}

fn room_lines(updates: &[Update]) -> Vec<(String, String)> {
    updates
        .iter()
        .filter_map(|u| match u {
            Update::Room(Output::Message(m)) => Some((m.sender.clone(), m.text.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_private_conversation_holds_text_during_the_key_exchange_and_sends_it_encrypted() {
    let mut net = Net::new(&["alice", "bob"]);
    net.advance(1);
    // Alice starts, and types before the exchange can finish: the engine holds the text.
    let step = net
        .clients
        .get_mut("alice")
        .unwrap()
        .act(Action::Start("bob".into()));
    let step2 = net.clients.get_mut("alice").unwrap().act(Action::Say {
        to: Conversation::Private("bob".into()),
        text: "before we are private".into(),
    });
    assert!(
        step2.updates.iter().any(|u| matches!(
            u,
            Update::Own {
                delivery: Delivery::Held,
                ..
            }
        )),
        "{:?}",
        step2.updates
    );
    assert!(
        step.updates.iter().any(|u| matches!(
            u,
            Update::Private {
                change: PrivateChange::Starting,
                ..
            }
        )),
        "{:?}",
        step.updates
    );
    net.absorb("alice", step);
    net.absorb("alice", step2);
    net.run();

    let alice = net.take("alice");
    let bob = net.take("bob");
    for (who, updates) in [("alice", &alice), ("bob", &bob)] {
        assert!(
            updates.iter().any(|u| matches!(
                u,
                Update::Private {
                    change: PrivateChange::Started,
                    ..
                }
            )),
            "{who}: {updates:?}"
        );
    }
    let got = texts(&bob);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "before we are private");
    assert!(matches!(
        got[0].1,
        TextAuth::Private {
            other_key: false,
            ..
        }
    ));

    // Now private: a line goes out encrypted and nothing of it crosses the wire in clear.
    net.act(
        "bob",
        Action::Say {
            to: Conversation::Private("alice".into()),
            text: "hello alice".into(),
        },
    );
    let bob = net.take("bob");
    assert!(bob.iter().any(|u| matches!(
        u,
        Update::Own {
            delivery: Delivery::Private,
            ..
        }
    )));
    let got = texts(&net.take("alice"));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "hello alice");
}

#[test]
fn a_room_forms_and_hands_off_when_its_host_vanishes() {
    let mut net = Net::new(&["alice", "bob", "carol"]);
    net.act("alice", Action::Room(RoomAction::Host { channel: None }));
    for m in ["bob", "carol"] {
        net.act("alice", Action::Room(RoomAction::Invite(m.into())));
        net.advance(1);
        assert!(
            net.take(m)
                .iter()
                .any(|u| matches!(u, Update::Room(Output::Invited { .. }))),
            "{m} was invited"
        );
        net.act(m, Action::Room(RoomAction::Accept));
        net.advance(2);
    }
    for m in ["alice", "bob", "carol"] {
        net.take(m);
    }
    net.act(
        "bob",
        Action::Say {
            to: Conversation::Room,
            text: "hello room".into(),
        },
    );
    net.advance(2);
    for m in ["alice", "carol"] {
        let lines = room_lines(&net.take(m));
        assert!(
            lines.contains(&("bob".into(), "hello room".into())),
            "{m}: {lines:?}"
        );
    }

    // The host's client dies: no quit reaches the members, only the presence check tells.
    net.clients.remove("alice");
    net.advance(HOST_POLL_SECS as u64 + 2);
    let bob = net.take("bob");
    assert!(
        bob.iter().any(|u| matches!(
            u,
            Update::HostGone {
                why: Absence::NotOnline,
                ..
            }
        )),
        "{bob:?}"
    );
    net.advance(40);
    let carol = net.take("carol");
    let all: Vec<Update> = bob.into_iter().chain(carol).collect();
    assert!(
        all.iter()
            .any(|u| matches!(u, Update::Room(Output::HostChanged { .. }))),
        "the room has a new host: {all:?}"
    );
    net.act(
        "carol",
        Action::Say {
            to: Conversation::Room,
            text: "still here".into(),
        },
    );
    net.advance(2);
    let lines = room_lines(&net.take("bob"));
    assert!(
        lines.contains(&("carol".into(), "still here".into())),
        "{lines:?}"
    );
}

#[test]
fn refused_actions_say_why_and_change_nothing() {
    let mut net = Net::new(&["alice"]);
    let step = net.clients.get_mut("alice").unwrap().act(Action::Answer {
        peer: "bob".into(),
        secret: "s".into(),
    });
    assert!(step.commands.is_empty());
    assert!(matches!(step.updates.as_slice(), [Update::Refused(_)]));
    let step = net.clients.get_mut("alice").unwrap().act(Action::Say {
        to: Conversation::Room,
        text: "anyone?".into(),
    });
    assert!(step.commands.is_empty());
    assert!(matches!(step.updates.as_slice(), [Update::Refused(_)]));
}
