//! Two chat clients on an in-memory IRC network: what one sends is delivered to the other as
//! the server would, and every PRIVMSG is recorded for the plaintext checks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use irc::{IrcCommand, IrcEvent};
use offrecord::chat::app::{App, AppConfig, OtrStatus};
use otr::Policy;
use testkit::{engine, key};

/// Which client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Alice,
    Bob,
}

/// A PRIVMSG as it crossed the network.
#[derive(Debug, Clone)]
pub struct Sent {
    pub from: String,
    pub target: String,
    pub text: String,
}

pub struct Net {
    pub alice: App,
    pub bob: App,
    /// Every PRIVMSG either side sent, in order.
    pub wire: Vec<Sent>,
    pub now: f64,
    /// When false, nothing reaches Bob (a peer who is not there).
    pub bob_listens: bool,
}

/// An app for `nick` with a fresh key (seeded) and `policy`.
pub fn app(nick: &str, seed: u64, policy: Policy) -> App {
    let tag = 0x1000 + u32::try_from(seed).unwrap();
    let engine = engine(key(seed), tag, policy, seed + 100);
    let mut app = App::new(engine, AppConfig::new(nick));
    assert!(app
        .on_irc(IrcEvent::Connected { nick: nick.into() }, 0.0)
        .is_empty());
    app
}

impl Net {
    pub fn new(policy: Policy) -> Self {
        Self::with(policy, policy)
    }

    pub fn with(alice: Policy, bob: Policy) -> Self {
        Self {
            alice: app("alice", 1, alice),
            bob: app("bob", 2, bob),
            wire: Vec::new(),
            now: 1000.0,
            bob_listens: true,
        }
    }

    pub fn app(&mut self, who: Who) -> &mut App {
        match who {
            Who::Alice => &mut self.alice,
            Who::Bob => &mut self.bob,
        }
    }

    /// `who` types `line` (through the key path: history included); everything is delivered.
    pub fn type_line(&mut self, who: Who, line: &str) {
        let out = self.type_only(who, line);
        self.deliver(who, out);
    }

    /// `who` types `line`; the commands are returned, not delivered.
    pub fn type_only(&mut self, who: Who, line: &str) -> Vec<IrcCommand> {
        let now = self.now;
        let app = self.app(who);
        let mut out = Vec::new();
        for c in line.chars() {
            out.extend(app.on_key(offrecord::chat::app::Key::Char(c), now));
        }
        out.extend(app.on_key(offrecord::chat::app::Key::Enter, now));
        out
    }

    pub fn tick(&mut self, now: f64) {
        self.now = now;
        let a = self.alice.on_tick(now);
        self.deliver(Who::Alice, a);
        let b = self.bob.on_tick(now);
        self.deliver(Who::Bob, b);
    }

    /// Delivers `commands` sent by `from`, and everything they cause, until quiet.
    pub fn deliver(&mut self, from: Who, commands: Vec<IrcCommand>) {
        let mut queue: Vec<(Who, IrcCommand)> = commands.into_iter().map(|c| (from, c)).collect();
        let mut steps = 0;
        while !queue.is_empty() {
            steps += 1;
            assert!(steps < 10_000, "the clients do not settle");
            let (who, command) = queue.remove(0);
            let other = match who {
                Who::Alice => Who::Bob,
                Who::Bob => Who::Alice,
            };
            let sender = self.app(who).nick().to_owned();
            let now = self.now;
            let events: Vec<(Who, IrcEvent)> = match command {
                IrcCommand::Privmsg { target, text } => {
                    assert!(!text.contains(['\r', '\n', '\0']), "{text:?}");
                    self.wire.push(Sent {
                        from: sender.clone(),
                        target: target.clone(),
                        text: text.clone(),
                    });
                    vec![(
                        other,
                        IrcEvent::Message {
                            from: sender,
                            target,
                            text,
                            notice: false,
                        },
                    )]
                }
                IrcCommand::Nick(new) => [Who::Alice, Who::Bob]
                    .into_iter()
                    .map(|w| {
                        (
                            w,
                            IrcEvent::NickChanged {
                                old: sender.clone(),
                                new: new.clone(),
                            },
                        )
                    })
                    .collect(),
                IrcCommand::Join(channel) => [Who::Alice, Who::Bob]
                    .into_iter()
                    .map(|w| {
                        (
                            w,
                            IrcEvent::Joined {
                                channel: channel.clone(),
                                nick: sender.clone(),
                            },
                        )
                    })
                    .collect(),
                IrcCommand::Part { channel, reason } => [Who::Alice, Who::Bob]
                    .into_iter()
                    .map(|w| {
                        (
                            w,
                            IrcEvent::Parted {
                                channel: channel.clone(),
                                nick: sender.clone(),
                                reason: reason.clone(),
                            },
                        )
                    })
                    .collect(),
                IrcCommand::Quit(reason) => vec![(
                    other,
                    IrcEvent::Quit {
                        nick: sender,
                        reason,
                    },
                )],
                _ => Vec::new(),
            };
            for (to, event) in events {
                if to == Who::Bob && !self.bob_listens {
                    continue;
                }
                let out = self.app(to).on_irc(event, now);
                queue.extend(out.into_iter().map(|c| (to, c)));
            }
        }
    }

    /// Alice opens a query with Bob and starts OTR; Bob gets a query window too.
    pub fn connect(&mut self) {
        self.type_line(Who::Alice, "/query bob");
        self.type_line(Who::Alice, "/otr init");
        assert_eq!(self.status(Who::Alice, "bob"), OtrStatus::Unverified);
        assert_eq!(self.status(Who::Bob, "alice"), OtrStatus::Unverified);
        self.type_line(Who::Bob, "/query alice");
    }

    pub fn status(&self, who: Who, window: &str) -> OtrStatus {
        let app = match who {
            Who::Alice => &self.alice,
            Who::Bob => &self.bob,
        };
        app.window(window)
            .unwrap_or_else(|| panic!("no window {window}"))
            .otr()
    }

    pub fn transcript(&self, who: Who, window: &str) -> Vec<String> {
        let app = match who {
            Who::Alice => &self.alice,
            Who::Bob => &self.bob,
        };
        app.window(window)
            .unwrap_or_else(|| panic!("no window {window}"))
            .transcript()
    }

    /// Asserts that no PRIVMSG to a nick carried `text` in the clear.
    pub fn never_in_clear(&self, text: &str) {
        for sent in &self.wire {
            assert!(
                !sent.text.contains(text),
                "{text:?} went out in the clear: {sent:?}"
            );
        }
    }
}
