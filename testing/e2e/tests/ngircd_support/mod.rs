//! Shared by the group tests that run through a real ngircd: participants (a `group::Node`,
//! or for a thin member a plain `otr::Engine` as a stock client would be), each behind its
//! own `irc` transport connection, and a loop that feeds what the server delivers into them
//! and puts what they produce on the wire, ticking every full member once a second.
//!
//! Channel messages go to `Node::receive_channel`, private ones to `Node::receive_private`,
//! and an IRC QUIT to `Node::peer_gone`, as the chat client does (`chat::app`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use group::envelope::tag;
use group::{Alert, Auth, Config, Delivery, Node, Output, Target};
use irc::{IrcCommand, IrcConfig, IrcEvent, IrcHandle, Pacing};
use otr::{Engine, Event};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use tokio::sync::mpsc::Receiver;

use crate::support;

/// A participant's client.
pub enum Peer {
    /// Runs the group protocol.
    Full(Box<Node>),
    /// A stock OTR client: the room reaches it as private OTR messages.
    Thin(Box<Engine>),
}

pub struct Member {
    pub nick: String,
    pub peer: Peer,
    pub handle: IrcHandle,
    /// `None` once the member is cut off: nothing more is read or sent for it.
    events: Option<Receiver<IrcEvent>>,
    /// A full member's outputs other than lines to send.
    pub outputs: Vec<Output>,
    /// What a thin member shows: (peer, text).
    pub shown: Vec<(String, String)>,
    /// Channel lines the server delivered to us (for us or for someone else).
    pub channel_received: u64,
    /// Channel lines we sent.
    pub channel_sent: u64,
    /// Who the server told us quit, and why: (nick, reason).
    pub quits: Vec<(String, String)>,
}

impl Member {
    pub fn node(&mut self) -> &mut Node {
        match &mut self.peer {
            Peer::Full(n) => n,
            Peer::Thin(_) => panic!("{} is thin", self.nick),
        }
    }

    pub fn node_ref(&self) -> &Node {
        match &self.peer {
            Peer::Full(n) => n,
            Peer::Thin(_) => panic!("{} is thin", self.nick),
        }
    }

    /// Shows `text` from `sender` (a full member: not marked as failed authentication).
    pub fn got(&self, sender: &str, text: &str) -> bool {
        match &self.peer {
            Peer::Full(_) => self.outputs.iter().any(|o| {
                matches!(o, Output::Message(m)
                    if m.text == text && m.sender == sender && m.auth != Auth::Failed)
            }),
            Peer::Thin(_) => {
                let want = format!("<{sender}> {text}");
                self.shown.iter().any(|(_, t)| *t == want)
            }
        }
    }

    /// The authentication of `text` from `sender`, if shown.
    pub fn auth_of(&self, sender: &str, text: &str) -> Option<Auth> {
        self.outputs.iter().find_map(|o| match o {
            Output::Message(m) if m.text == text && m.sender == sender => Some(m.auth),
            _ => None,
        })
    }

    pub fn alerts(&self) -> Vec<Alert> {
        self.outputs
            .iter()
            .filter_map(|o| match o {
                Output::Alert(a) => Some(a.clone()),
                _ => None,
            })
            .collect()
    }

    /// The conversation shown, as `sender: text`.
    pub fn texts(&self) -> Vec<String> {
        self.outputs
            .iter()
            .filter_map(|o| match o {
                Output::Message(msg) => Some(format!("{}: {}", msg.sender, msg.text)),
                _ => None,
            })
            .collect()
    }

    pub fn connected(&self) -> bool {
        self.events.is_some()
    }
}

/// How to set a room up.
pub struct Spec {
    /// Participants (`support::nick(0..n)`); participant 0 hosts.
    pub n: usize,
    /// Participants from this index on are thin (`n`: none).
    pub first_thin: usize,
    pub delivery: Delivery,
    pub pacing: Pacing,
    /// Channels every participant joins before the room starts.
    pub channels: Vec<String>,
    /// The port each participant connects to (the server's, or a tap's).
    pub ports: Vec<u16>,
}

impl Spec {
    /// `n` full participants, private delivery, ngircd-safe pacing, no channel.
    pub fn new(port: u16, n: usize) -> Self {
        Self {
            n,
            first_thin: n,
            delivery: Delivery::Private,
            pacing: Pacing::ngircd_default(),
            channels: Vec::new(),
            ports: vec![port; n],
        }
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

pub struct Room {
    pub members: Vec<Member>,
    last_tick: f64,
}

impl Room {
    /// Connects every participant (and joins the spec's channels) and makes its node or
    /// engine, fragmenting OTR to what the server relays uncut (channel lines: minus the
    /// tags, whose length is the same for every pair since every nick has 3 characters).
    pub async fn connect(spec: Spec) -> Room {
        let mut pending = Vec::new();
        for i in 0..spec.n {
            let nick = support::nick(i);
            let mut cfg = IrcConfig::new("127.0.0.1", spec.ports[i], nick.clone());
            cfg.pacing = spec.pacing.clone();
            cfg.channels = spec.channels.clone();
            let (handle, events) = irc::spawn(cfg);
            pending.push((nick, handle, events));
        }
        let mut members = Vec::new();
        for (i, (nick, handle, mut events)) in pending.into_iter().enumerate() {
            let mut connected = false;
            let mut joined = Vec::new();
            while !connected || joined.len() < spec.channels.len() {
                let e = tokio::time::timeout(Duration::from_secs(60), events.recv())
                    .await
                    .expect("registration")
                    .expect("transport stopped");
                match e {
                    IrcEvent::Connected { nick: got } => {
                        assert_eq!(got, nick, "the server renamed a member");
                        connected = true;
                    }
                    IrcEvent::Joined { channel, nick: who } if who == nick => joined.push(channel),
                    _ => {}
                }
            }
            let mut engine = support::engine(i as u64);
            // Every nick has the same length, so one payload size fits every target.
            let mut max = handle.max_payload("m00");
            if let Delivery::Channel(ch) = &spec.delivery {
                max = max.min(handle.max_payload(ch) - tag("m00", "m00", "").len());
            }
            engine.set_default_max_message_size(max);
            let peer = if i >= spec.first_thin {
                Peer::Thin(Box::new(engine))
            } else {
                let mut config = Config::new(&nick);
                config.delivery = spec.delivery.clone();
                Peer::Full(Box::new(Node::new(
                    engine,
                    config,
                    Box::new(ChaCha20Rng::seed_from_u64(i as u64)),
                )))
            };
            members.push(Member {
                nick,
                peer,
                handle,
                events: Some(events),
                outputs: Vec::new(),
                shown: Vec::new(),
                channel_received: 0,
                channel_sent: 0,
                quits: Vec::new(),
            });
        }
        Room {
            members,
            last_tick: 0.0,
        }
    }

    fn send_line(&self, i: usize, to: String, line: String) {
        if std::env::var_os("GROUP_NGIRCD_DEBUG").is_some() {
            eprintln!(
                "{:.3} {} -> {to}: {}",
                unix_now() % 1000.0,
                self.members[i].nick,
                &line[..line.len().min(60)]
            );
        }
        self.members[i]
            .handle
            .send(IrcCommand::Privmsg {
                target: to,
                text: line,
            })
            .unwrap()
    }

    pub fn send(&mut self, i: usize, outs: Vec<Output>) {
        for o in outs {
            match o {
                Output::Send { to, line } => {
                    if !self.members[i].connected() {
                        continue;
                    }
                    let to = match to {
                        Target::Private(nick) => nick,
                        Target::Channel(channel) => {
                            self.members[i].channel_sent += 1;
                            channel
                        }
                    };
                    self.send_line(i, to, line)
                }
                other => self.members[i].outputs.push(other),
            }
        }
    }

    fn send_events(&mut self, i: usize, events: Vec<Event>) {
        for e in events {
            match e {
                Event::Wire { peer, data } => self.send_line(i, peer, data),
                Event::Message { peer, text, .. } => self.members[i].shown.push((peer, text)),
                _ => {}
            }
        }
    }

    pub fn act(&mut self, i: usize, f: impl FnOnce(&mut Node) -> Vec<Output>) {
        let outs = f(self.members[i].node());
        self.send(i, outs);
    }

    /// Ticks member `i`'s node now (between the loop's once-a-second ticks).
    pub fn tick(&mut self, i: usize) {
        let outs = self.members[i].node().tick(unix_now());
        self.send(i, outs);
    }

    /// A thin member writes `text` to the host as an ordinary private OTR message.
    pub fn thin_say(&mut self, i: usize, text: &str) {
        let Peer::Thin(e) = &mut self.members[i].peer else {
            panic!("not thin");
        };
        let ev = e.send(&support::nick(0), text);
        self.send_events(i, ev);
    }

    /// Member `i` is cut off: it reads and sends nothing more (its transport stops once
    /// it tries to deliver an event). Its IRC connection is whatever the caller made of it.
    pub fn disconnect(&mut self, i: usize) {
        self.members[i].events = None;
    }

    fn deliver(&mut self, i: usize, e: IrcEvent) {
        match e {
            IrcEvent::Message {
                from, target, text, ..
            } => {
                let channel = target.starts_with('#');
                if channel {
                    self.members[i].channel_received += 1;
                }
                match &mut self.members[i].peer {
                    Peer::Full(node) => {
                        let outs = if channel {
                            node.receive_channel(&target, &from, &text)
                        } else {
                            node.receive_private(&from, &text)
                        };
                        self.send(i, outs);
                    }
                    // A stock client in a channel shows channel text; it is no part of
                    // the room.
                    Peer::Thin(_) if channel => {}
                    Peer::Thin(engine) => {
                        let ev = engine.receive(&from, &text);
                        self.send_events(i, ev);
                    }
                }
            }
            IrcEvent::Quit { nick, reason } => {
                self.members[i].quits.push((nick.clone(), reason));
                if let Peer::Full(node) = &mut self.members[i].peer {
                    let outs = node.peer_gone(&nick);
                    self.send(i, outs);
                }
            }
            _ => {}
        }
    }

    /// Pumps the network until `done` holds (or panics after `limit`).
    pub async fn until(&mut self, limit: Duration, done: impl Fn(&Room) -> bool) -> Duration {
        let start = Instant::now();
        loop {
            let mut busy = false;
            for i in 0..self.members.len() {
                while let Some(e) = self.members[i]
                    .events
                    .as_mut()
                    .and_then(|ev| ev.try_recv().ok())
                {
                    busy = true;
                    self.deliver(i, e);
                }
            }
            let now = unix_now();
            if now - self.last_tick >= 1.0 {
                self.last_tick = now;
                for i in 0..self.members.len() {
                    if !self.members[i].connected() {
                        continue;
                    }
                    if let Peer::Full(node) = &mut self.members[i].peer {
                        let outs = node.tick(now);
                        self.send(i, outs);
                    }
                }
            }
            if done(self) {
                return start.elapsed();
            }
            assert!(start.elapsed() < limit, "timed out");
            if !busy {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }

    /// Pumps the network for `d`.
    pub async fn run_for(&mut self, d: Duration) {
        let deadline = Instant::now() + d;
        self.until(d + Duration::from_secs(30), move |_| {
            Instant::now() >= deadline
        })
        .await;
    }

    /// Participant 0 hosts, invites everyone (thin members as thin), each full member
    /// accepts as soon as its invitation arrives; returns once every full participant
    /// holds the whole roster.
    pub async fn form(&mut self, limit: Duration) -> Duration {
        let start = Instant::now();
        let n = self.members.len();
        self.act(0, |h| h.host().unwrap());
        let full: Vec<bool> = self
            .members
            .iter()
            .map(|m| matches!(m.peer, Peer::Full(_)))
            .collect();
        for i in 1..n {
            let nick = support::nick(i);
            if full[i] {
                self.act(0, |h| h.invite(&nick).unwrap());
            } else {
                self.act(0, |h| h.invite_thin(&nick).unwrap());
            }
        }
        let invited = |m: &Member| {
            m.outputs
                .iter()
                .any(|o| matches!(o, Output::Invited { .. }))
        };
        let mut accepted: Vec<bool> = (0..n).map(|i| i == 0 || !full[i]).collect();
        while !accepted.iter().all(|a| *a) {
            self.until(limit, |r| {
                (1..n).any(|i| !accepted[i] && invited(&r.members[i]))
            })
            .await;
            for i in 1..n {
                if !accepted[i] && invited(&self.members[i]) {
                    accepted[i] = true;
                    self.act(i, |m| m.accept().unwrap());
                }
            }
        }
        self.until(limit, |r| {
            r.members.iter().all(|m| match &m.peer {
                Peer::Full(node) => node.roster().is_some_and(|ro| ro.members.len() == n),
                Peer::Thin(_) => true,
            })
        })
        .await;
        start.elapsed()
    }

    /// Waits until every pair of full members other than the host holds its pairwise
    /// MAC key (the members' key exchanges run in the background after the room forms).
    pub async fn settle_keys(&mut self, limit: Duration) -> Duration {
        self.until(limit, |r| {
            let full: Vec<&Node> = r.members[1..]
                .iter()
                .filter_map(|m| match &m.peer {
                    Peer::Full(node) if m.connected() => Some(&**node),
                    _ => None,
                })
                .collect();
            full.iter().all(|a| {
                full.iter()
                    .all(|b| a.nick() == b.nick() || a.pairwise_ready(b.nick()))
            })
        })
        .await
    }

    pub fn all_alerts(&self) -> Vec<String> {
        self.members
            .iter()
            .flat_map(|m| m.alerts().into_iter().map(|a| format!("{}: {a}", m.nick)))
            .collect()
    }

    /// Everyone connected but `sender` got `text` from `sender`.
    pub fn reached_all(&self, sender: usize, text: &str) -> bool {
        let s = support::nick(sender);
        (0..self.members.len())
            .all(|i| i == sender || !self.members[i].connected() || self.members[i].got(&s, text))
    }
}
