//! Group rooms through a real ngircd on 127.0.0.1 with its default flood control: every
//! participant is a `Node` behind its own IRC transport connection (private delivery,
//! OTR fragmented to what the server relays uncut). Rooms of 3 and 10 members form, talk
//! with no alert, and we measure how long one group message takes to reach every member.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::needless_range_loop
)]

mod support;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use group::{Config, Node, Output, Target};
use irc::{IrcCommand, IrcConfig, IrcEvent, IrcHandle};
use ngircd_harness::{Ngircd, Options};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use tokio::sync::mpsc::Receiver;

struct Member {
    node: Node,
    handle: IrcHandle,
    events: Receiver<IrcEvent>,
    outputs: Vec<Output>,
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
    async fn connect(port: u16, n: usize) -> Room {
        let mut members = Vec::new();
        for i in 0..n {
            let nick = support::nick(i);
            let (handle, mut events) = irc::spawn(IrcConfig::new("127.0.0.1", port, nick.clone()));
            loop {
                let e = tokio::time::timeout(Duration::from_secs(30), events.recv())
                    .await
                    .unwrap()
                    .unwrap();
                if matches!(e, IrcEvent::Connected { .. }) {
                    break;
                }
            }
            let mut engine = support::engine(i as u64);
            // Every nick has the same length, so one payload size fits every target.
            engine.set_default_max_message_size(handle.max_payload("m00"));
            let node = Node::new(
                engine,
                Config::new(&nick),
                Box::new(ChaCha20Rng::seed_from_u64(i as u64)),
            );
            members.push(Member {
                node,
                handle,
                events,
                outputs: Vec::new(),
            });
        }
        Room {
            members,
            last_tick: 0.0,
        }
    }

    fn send(&mut self, i: usize, outs: Vec<Output>) {
        for o in outs {
            match o {
                Output::Send {
                    to: Target::Private(to),
                    line,
                } => {
                    if std::env::var_os("GROUP_NGIRCD_DEBUG").is_some() {
                        eprintln!(
                            "{} -> {to}: {}",
                            self.members[i].node.nick(),
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
                Output::Send { .. } => panic!("private delivery only"),
                other => self.members[i].outputs.push(other),
            }
        }
    }

    fn act(&mut self, i: usize, f: impl FnOnce(&mut Node) -> Vec<Output>) {
        let outs = f(&mut self.members[i].node);
        self.send(i, outs);
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
                        let node = &mut self.members[i].node;
                        let outs = if target.starts_with('#') {
                            node.receive_channel(&target, &from, &text)
                        } else {
                            node.receive_private(&from, &text)
                        };
                        self.send(i, outs);
                    }
                }
            }
            let now = unix_now();
            if now - self.last_tick >= 1.0 {
                self.last_tick = now;
                for i in 0..self.members.len() {
                    let outs = self.members[i].node.tick(now);
                    self.send(i, outs);
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
        self.until(d + Duration::from_secs(5), move |_| {
            Instant::now() >= deadline
        })
        .await;
    }

    fn alerts(&self) -> Vec<String> {
        self.members
            .iter()
            .flat_map(|m| {
                m.outputs.iter().filter_map(|o| match o {
                    Output::Alert(a) => Some(format!("{}: {a}", m.node.nick())),
                    _ => None,
                })
            })
            .collect()
    }

    fn shown(&self, i: usize, text: &str) -> bool {
        self.members[i]
            .outputs
            .iter()
            .any(|o| matches!(o, Output::Message(m) if m.text == text))
    }
}

async fn room_through_ngircd(n: usize) -> Vec<f64> {
    let server = Ngircd::start(Options::default()).unwrap();
    let mut room = Room::connect(server.port(), n).await;
    room.act(0, |h| h.host().unwrap());
    let setup = Instant::now();
    for i in 1..n {
        let nick = support::nick(i);
        room.act(0, |h| h.invite(&nick).unwrap());
    }
    // Each member accepts as soon as its invitation arrives.
    let mut accepted = vec![false; n];
    accepted[0] = true;
    while !accepted.iter().all(|a| *a) {
        room.until(Duration::from_secs(120), |r| {
            (1..n).any(|i| {
                !accepted[i]
                    && r.members[i]
                        .outputs
                        .iter()
                        .any(|o| matches!(o, Output::Invited { .. }))
            })
        })
        .await;
        for i in 1..n {
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
    // Everyone holds the full roster.
    room.until(Duration::from_secs(300), |r| {
        r.members
            .iter()
            .all(|m| m.node.roster().is_some_and(|ro| ro.members.len() == n))
    })
    .await;
    println!(
        "{n} members: the room formed in {:.1} s",
        setup.elapsed().as_secs_f64()
    );
    // Let pairwise keys and digests settle.
    // Let the members' pairwise key exchanges (paced like everything else) settle, so
    // that the measurement is of a room at rest.
    room.run_for(Duration::from_secs(if n > 3 { 30 } else { 8 }))
        .await;
    let mut latencies = Vec::new();
    for round in 0..3 {
        let speaker = 1 + round % (n - 1);
        let text = format!("round {round} from {}", support::nick(speaker));
        room.act(speaker, |m| m.say(&text).unwrap());
        let took = room
            .until(Duration::from_secs(120), |r| {
                (0..n).all(|i| r.shown(i, &text))
            })
            .await;
        latencies.push(took.as_secs_f64());
        room.run_for(Duration::from_secs(3)).await;
    }
    // Everyone shows the same conversation, and nobody was alarmed.
    room.run_for(Duration::from_secs(6)).await;
    assert!(room.alerts().is_empty(), "{:?}", room.alerts());
    let reference: Vec<String> = texts(&room.members[0]);
    for m in &room.members[1..] {
        assert_eq!(texts(m), reference, "{}", m.node.nick());
    }
    latencies
}

fn texts(m: &Member) -> Vec<String> {
    m.outputs
        .iter()
        .filter_map(|o| match o {
            Output::Message(msg) => Some(format!("{}: {}", msg.sender, msg.text)),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn three_member_room_through_ngircd() {
    let l = room_through_ngircd(3).await;
    println!("3 members: one group message reached every member in {l:.2?} s");
}

#[tokio::test(flavor = "current_thread")]
async fn ten_member_room_through_ngircd() {
    let l = room_through_ngircd(10).await;
    println!("10 members: one group message reached every member in {l:.2?} s");
}
