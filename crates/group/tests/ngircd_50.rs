//! A 50-participant room through a real ngircd on 127.0.0.1: a host, 45 full members and
//! 4 thin members (plain `otr::Engine`s, as a stock client would be), each behind its own
//! IRC connection (private delivery, OTR fragmented to what the server relays uncut).
//!
//! Unlike `ngircd.rs` (3 and 10 members under ngircd's default flood control), this server
//! gives its users relaxed flood control (user mode F) and the clients do not pace: under
//! default flood control forming a 50-member room (49 host key exchanges and 990
//! member-member ones, every line throttled) would take many minutes (estimated from the
//! 10-member room, not measured). The default-flood figures
//! are the 3- and 10-member ones.
//!
//! Every member joins; group messages from several full members and one thin member reach
//! all 49 others with the right sender and no alert; then the host tampers with one line
//! through its relay hook and the recipient catches it at once, naming the real author.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::needless_range_loop
)]

mod support;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use group::envelope::{Envelope, Item};
use group::{Alert, Auth, Config, ForgeReason, Node, Output, Target};
use irc::{IrcCommand, IrcConfig, IrcEvent, IrcHandle, Pacing};
use ngircd_harness::{Ngircd, Options};
use otr::{ConversationState, Engine, Event};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use tokio::sync::mpsc::Receiver;

const N: usize = 50;
/// Participants 46..49 are thin members.
const FIRST_THIN: usize = 46;

enum Peer {
    Full(Box<Node>),
    Thin(Box<Engine>),
}

struct Member {
    nick: String,
    peer: Peer,
    handle: IrcHandle,
    events: Receiver<IrcEvent>,
    /// A full member's outputs other than lines to send.
    outputs: Vec<Output>,
    /// What a thin member shows: (peer, text).
    shown: Vec<(String, String)>,
}

impl Member {
    fn node(&mut self) -> &mut Node {
        match &mut self.peer {
            Peer::Full(n) => n,
            Peer::Thin(_) => panic!("{} is thin", self.nick),
        }
    }

    fn got(&self, sender: &str, text: &str) -> bool {
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

    fn alerts(&self) -> Vec<Alert> {
        self.outputs
            .iter()
            .filter_map(|o| match o {
                Output::Alert(a) => Some(a.clone()),
                _ => None,
            })
            .collect()
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

struct Room {
    members: Vec<Member>,
    last_tick: f64,
}

impl Room {
    async fn connect(port: u16) -> Room {
        let mut pending = Vec::new();
        for i in 0..N {
            let nick = support::nick(i);
            let mut cfg = IrcConfig::new("127.0.0.1", port, nick.clone());
            cfg.pacing = Pacing::none();
            let (handle, events) = irc::spawn(cfg);
            pending.push((nick, handle, events));
        }
        let mut members = Vec::new();
        for (i, (nick, handle, mut events)) in pending.into_iter().enumerate() {
            loop {
                let e = tokio::time::timeout(Duration::from_secs(60), events.recv())
                    .await
                    .unwrap()
                    .unwrap();
                if let IrcEvent::Connected { nick: got, .. } = &e {
                    assert_eq!(*got, nick, "the server renamed a member");
                    break;
                }
            }
            let mut engine = support::engine(i as u64);
            // Every nick has the same length, so one payload size fits every target.
            engine.set_default_max_message_size(handle.max_payload("m00"));
            let peer = if i >= FIRST_THIN {
                Peer::Thin(Box::new(engine))
            } else {
                Peer::Full(Box::new(Node::new(
                    engine,
                    Config::new(&nick),
                    Box::new(ChaCha20Rng::seed_from_u64(i as u64)),
                )))
            };
            members.push(Member {
                nick,
                peer,
                handle,
                events,
                outputs: Vec::new(),
                shown: Vec::new(),
            });
        }
        Room {
            members,
            last_tick: 0.0,
        }
    }

    fn send_line(&self, i: usize, to: String, line: String) {
        self.members[i]
            .handle
            .send(IrcCommand::Privmsg {
                target: to,
                text: line,
            })
            .unwrap()
    }

    fn send(&mut self, i: usize, outs: Vec<Output>) {
        for o in outs {
            match o {
                Output::Send {
                    to: Target::Private(to),
                    line,
                } => self.send_line(i, to, line),
                Output::Send { .. } => panic!("private delivery only"),
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

    fn act(&mut self, i: usize, f: impl FnOnce(&mut Node) -> Vec<Output>) {
        let outs = f(self.members[i].node());
        self.send(i, outs);
    }

    /// A thin member writes `text` to the host as an ordinary private OTR message.
    fn thin_say(&mut self, i: usize, text: &str) {
        let Peer::Thin(e) = &mut self.members[i].peer else {
            panic!("not thin");
        };
        let ev = e.send(&support::nick(0), text);
        self.send_events(i, ev);
    }

    /// Pumps the network until `done` holds (or panics after `limit`).
    async fn until(&mut self, limit: Duration, done: impl Fn(&Room) -> bool) -> Duration {
        let start = Instant::now();
        loop {
            let mut busy = false;
            for i in 0..self.members.len() {
                while let Ok(e) = self.members[i].events.try_recv() {
                    busy = true;
                    if let IrcEvent::Message {
                        from, target, text, ..
                    } = e
                    {
                        assert!(!target.starts_with('#'), "no channel in this test");
                        match &mut self.members[i].peer {
                            Peer::Full(node) => {
                                let outs = node.receive_private(&from, &text);
                                self.send(i, outs);
                            }
                            Peer::Thin(engine) => {
                                let ev = engine.receive(&from, &text);
                                self.send_events(i, ev);
                            }
                        }
                    }
                }
            }
            let now = unix_now();
            if now - self.last_tick >= 1.0 {
                self.last_tick = now;
                for i in 0..self.members.len() {
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
    async fn run_for(&mut self, d: Duration) {
        let deadline = Instant::now() + d;
        self.until(d + Duration::from_secs(30), move |_| {
            Instant::now() >= deadline
        })
        .await;
    }

    fn all_alerts(&self) -> Vec<String> {
        self.members
            .iter()
            .flat_map(|m| m.alerts().into_iter().map(|a| format!("{}: {a}", m.nick)))
            .collect()
    }

    /// Everyone but `sender` got `text` from `sender`.
    fn reached_all(&self, sender: usize, text: &str) -> bool {
        let s = support::nick(sender);
        (0..N).all(|i| i == sender || self.members[i].got(&s, text))
    }
}

#[tokio::test(flavor = "current_thread")]
async fn fifty_member_room_through_ngircd_relaxed_flood() {
    let started = Instant::now();
    let server = Ngircd::start(Options {
        relaxed_flood: true,
        ..Options::default()
    })
    .unwrap();
    let mut room = Room::connect(server.port()).await;
    println!(
        "{N} clients connected in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let setup = Instant::now();
    room.act(0, |h| h.host().unwrap());
    for i in 1..N {
        let nick = support::nick(i);
        if i >= FIRST_THIN {
            room.act(0, |h| h.invite_thin(&nick).unwrap());
        } else {
            room.act(0, |h| h.invite(&nick).unwrap());
        }
    }
    // Each full member accepts as soon as its invitation arrives.
    let mut accepted = [false; N];
    for i in 0..N {
        accepted[i] = i == 0 || i >= FIRST_THIN;
    }
    while !accepted.iter().all(|a| *a) {
        room.until(Duration::from_secs(300), |r| {
            (1..FIRST_THIN).any(|i| {
                !accepted[i]
                    && r.members[i]
                        .outputs
                        .iter()
                        .any(|o| matches!(o, Output::Invited { .. }))
            })
        })
        .await;
        for i in 1..FIRST_THIN {
            let invited = room.members[i]
                .outputs
                .iter()
                .any(|o| matches!(o, Output::Invited { .. }));
            if invited && !accepted[i] {
                accepted[i] = true;
                room.act(i, |m| m.accept().unwrap());
            }
        }
    }
    // Every full participant holds the full roster (thin members included).
    room.until(Duration::from_secs(300), |r| {
        r.members.iter().all(|m| match &m.peer {
            Peer::Full(n) => n.roster().is_some_and(|ro| ro.members.len() == N),
            Peer::Thin(_) => true,
        })
    })
    .await;
    println!(
        "{N} members ({} thin): the room formed in {:.1} s",
        N - FIRST_THIN,
        setup.elapsed().as_secs_f64()
    );
    // Let the member-member key exchanges (990 of them) finish and settle, so the
    // measurement is of a room at rest.
    let pairwise = Instant::now();
    room.until(Duration::from_secs(300), |r| {
        (0..FIRST_THIN).all(|i| {
            let Peer::Full(node) = &r.members[i].peer else {
                return false;
            };
            (0..FIRST_THIN).all(|j| {
                i == j || node.engine().state(&support::nick(j)) == ConversationState::Encrypted
            })
        })
    })
    .await;
    println!(
        "every pair of full members had an OTR session {:.1} s later",
        pairwise.elapsed().as_secs_f64()
    );
    // ...and every pair its pairwise MAC key (an offer that beat the roster naming its
    // sender is answered when that roster arrives).
    let keys = Instant::now();
    room.until(Duration::from_secs(300), |r| {
        (0..FIRST_THIN).all(|i| {
            let Peer::Full(node) = &r.members[i].peer else {
                return false;
            };
            (1..FIRST_THIN).all(|j| i == j || i == 0 || node.pairwise_ready(&support::nick(j)))
        })
    })
    .await;
    println!(
        "every pair of full members had its pairwise key {:.1} s later",
        keys.elapsed().as_secs_f64()
    );
    assert!(room.all_alerts().is_empty(), "{:?}", room.all_alerts());

    // Group messages from several members (the host, full members, a thin member).
    let mut latencies = Vec::new();
    for (round, speaker) in [1usize, 17, 0, 33, 45, FIRST_THIN + 1]
        .into_iter()
        .enumerate()
    {
        let text = format!("round {round} from {}", support::nick(speaker));
        if speaker >= FIRST_THIN {
            room.thin_say(speaker, &text);
        } else {
            room.act(speaker, |m| m.say(&text).unwrap());
        }
        let took = room
            .until(Duration::from_secs(120), |r| r.reached_all(speaker, &text))
            .await;
        latencies.push(took.as_secs_f64());
        println!(
            "{}: one group message reached all {} others in {:.2} s",
            support::nick(speaker),
            N - 1,
            took.as_secs_f64()
        );
    }
    // Digests compared everywhere: still no alert, and every full member shows the same
    // conversation.
    room.run_for(Duration::from_secs(8)).await;
    assert!(room.all_alerts().is_empty(), "{:?}", room.all_alerts());
    let texts = |m: &Member| -> Vec<String> {
        m.outputs
            .iter()
            .filter_map(|o| match o {
                Output::Message(msg) => Some(format!("{}: {}", msg.sender, msg.text)),
                _ => None,
            })
            .collect()
    };
    let reference = texts(&room.members[0]);
    assert_eq!(reference.len(), latencies.len(), "{reference:?}");
    for m in &room.members[1..FIRST_THIN] {
        assert_eq!(texts(m), reference, "{}", m.nick);
    }
    // Lines between full members are authenticated pairwise end to end (the host's own
    // by its session, a thin member's attested by the host).
    for (i, m) in room.members[..FIRST_THIN].iter().enumerate() {
        for o in &m.outputs {
            if let Output::Message(msg) = o {
                let from = support::nick(0);
                let want = if msg.sender == m.nick {
                    Auth::Own
                } else if i == 0 || msg.sender == from {
                    Auth::Session
                } else if msg.sender >= support::nick(FIRST_THIN) {
                    Auth::HostAttested
                } else {
                    Auth::Pairwise
                };
                assert_eq!(msg.auth, want, "{}: {msg:?}", m.nick);
            }
        }
    }

    // The host alters one line of m01's on its way to m02: m02 catches it on arrival.
    let evil = "send the money to Mallory";
    room.members[0]
        .node()
        .set_relay_hook(Some(Box::new(move |to: &str, mut env: Envelope| {
            if to == "m02" {
                if let Envelope::Relay {
                    item: Item::Msg(m), ..
                } = &mut env
                {
                    if m.sender == "m01" {
                        m.body = evil.into();
                    }
                }
            }
            vec![env]
        })));
    let honest = "do not send money";
    room.act(1, |m| m.say(honest).unwrap());
    room.until(Duration::from_secs(120), |r| {
        !r.members[2].alerts().is_empty() && (3..N).all(|i| r.members[i].got("m01", honest))
    })
    .await;
    let alerts = room.members[2].alerts();
    assert!(
        matches!(&alerts[..], [Alert::Forged { sender, reason: ForgeReason::BadMac, .. }] if sender == "m01"),
        "{alerts:?}"
    );
    println!("m02 sees: {}", alerts[0]);
    // If m02 shows the altered line at all, it is marked as failed authentication.
    for o in &room.members[2].outputs {
        if let Output::Message(m) = o {
            if m.text == evil {
                assert_eq!(m.auth, Auth::Failed, "{m:?}");
            }
        }
    }
    for i in (0..N).filter(|i| *i != 2) {
        assert!(
            room.members[i].alerts().is_empty(),
            "{}: {:?}",
            room.members[i].nick,
            room.members[i].alerts()
        );
    }
    println!(
        "{N} members through ngircd (relaxed flood control): whole test {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
