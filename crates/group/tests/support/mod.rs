//! The embedded network for group tests: nodes, thin members (a plain `otr::Engine` or
//! libotr), a channel everyone is in, private messages, optional seeded line loss, a clock.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, OnceLock};

use group::{Alert, Auth, Config, Delivery, GroupMessage, Node, Output, Target};
use num_bigint::BigUint;
use otr::crypto::DsaPrivateKey;
use otr::wire::encoded::InstanceTag;
use otr::{Engine, EngineConfig, Event, Policy};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

pub const CHANNEL: &str = "#room";

/// DSA keys sharing one set of domain parameters (generating parameters is the slow part;
/// sharing them is allowed by DSA and changes nothing for OTR); each made and validated once
/// per process, then copied.
pub fn key(i: u64) -> DsaPrivateKey {
    static KEYS: OnceLock<Mutex<BTreeMap<u64, DsaPrivateKey>>> = OnceLock::new();
    let keys = KEYS.get_or_init(Default::default);
    if let Some(k) = keys.lock().unwrap().get(&i) {
        return k.clone();
    }
    let k = make_key(i);
    keys.lock().unwrap().insert(i, k.clone());
    k
}

fn make_key(i: u64) -> DsaPrivateKey {
    static BASE: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    let base = BASE.get_or_init(|| {
        let k = DsaPrivateKey::generate(&mut ChaCha20Rng::seed_from_u64(4242));
        let p = k.public();
        vec![p.p().to_vec(), p.q().to_vec(), p.g().to_vec()]
    });
    let (p, q, g) = (
        BigUint::from_bytes_be(&base[0]),
        BigUint::from_bytes_be(&base[1]),
        BigUint::from_bytes_be(&base[2]),
    );
    let mut rng = ChaCha20Rng::seed_from_u64(1000 + i);
    let mut xb = [0u8; 32];
    rng.fill_bytes(&mut xb);
    let x = BigUint::from_bytes_be(&xb) % (&q - 1u32) + 1u32;
    let y = g.modpow(&x, &p);
    DsaPrivateKey::from_components(
        &base[0],
        &base[1],
        &base[2],
        &y.to_bytes_be(),
        &x.to_bytes_be(),
    )
    .unwrap()
}

pub fn engine(i: u64) -> Engine {
    Engine::new(
        key(i),
        EngineConfig {
            policy: Policy::OPPORTUNISTIC,
            instance_tag: InstanceTag(0x1000 + i as u32),
            line_based: true,
            hold_during_key_exchange: false,
        },
        Box::new(ChaCha20Rng::seed_from_u64(77 + i)),
    )
}

pub fn nick(i: usize) -> String {
    format!("m{i:02}")
}

/// A member that runs a stock OTR client.
pub enum Thin {
    Ours(Box<Engine>),
    Lib(libotr_harness::LibOtr),
}

/// What one thin member shows: (peer, text).
pub type Shown = Vec<(String, String)>;

pub struct Net {
    pub nodes: BTreeMap<String, Node>,
    pub thin: BTreeMap<String, Thin>,
    queue: VecDeque<(String, Target, String)>,
    pub now: f64,
    /// Probability of losing a line (private or channel delivery).
    pub loss: f64,
    rng: ChaCha20Rng,
    pub outputs: BTreeMap<String, Vec<Output>>,
    pub thin_shown: BTreeMap<String, Shown>,
    /// Engines with another key under a member's nick (an impostor, or the member on a
    /// second device), or under a nick of their own (a stranger without the group layer):
    /// each also receives every private line sent to that nick, and what it sends goes
    /// out under that nick. Its events other than lines are kept in `impostor_events`.
    pub impostors: BTreeMap<String, Engine>,
    pub impostor_events: Vec<Event>,
    /// Lines put on the wire, and deliveries (a channel line is delivered to each member).
    pub lines: u64,
    pub deliveries: u64,
    pub channel_lines: u64,
    /// Every line an eavesdropper saw: (from, target, line).
    pub wire: Vec<(String, Target, String)>,
    pub record_wire: bool,
    /// Private lines from `.0` to `.1` wait in `held` (a slow path) until [`Net::release`].
    pub hold: Option<(String, String)>,
    held: VecDeque<(String, Target, String)>,
}

impl Net {
    pub fn new() -> Self {
        Self {
            nodes: BTreeMap::new(),
            thin: BTreeMap::new(),
            queue: VecDeque::new(),
            now: 1_000_000.0,
            loss: 0.0,
            rng: ChaCha20Rng::seed_from_u64(9),
            outputs: BTreeMap::new(),
            thin_shown: BTreeMap::new(),
            impostors: BTreeMap::new(),
            impostor_events: Vec::new(),
            lines: 0,
            deliveries: 0,
            channel_lines: 0,
            wire: Vec::new(),
            record_wire: false,
            hold: None,
            held: VecDeque::new(),
        }
    }

    pub fn seed_loss(&mut self, seed: u64, loss: f64) {
        self.rng = ChaCha20Rng::seed_from_u64(seed);
        self.loss = loss;
    }

    pub fn add(&mut self, i: usize, delivery: Delivery, tune: impl FnOnce(&mut Config)) -> String {
        let n = nick(i);
        let mut cfg = Config::new(&n);
        cfg.delivery = delivery;
        tune(&mut cfg);
        let node = Node::new(
            engine(i as u64),
            cfg,
            Box::new(ChaCha20Rng::seed_from_u64(5000 + i as u64)),
        );
        self.nodes.insert(n.clone(), node);
        n
    }

    pub fn add_thin(&mut self, name: &str, thin: Thin) {
        self.thin.insert(name.to_owned(), thin);
    }

    pub fn node(&mut self, n: &str) -> &mut Node {
        self.nodes.get_mut(n).unwrap()
    }

    /// Runs an action on a node and delivers everything it causes until quiet.
    pub fn act(&mut self, n: &str, f: impl FnOnce(&mut Node) -> Vec<Output>) {
        let outs = f(self.node(n));
        self.absorb(n, outs);
        self.run();
    }

    /// `n` writes `text` to `peer` as a private message of its own user (the group layer
    /// bypassed, as a misbehaving client would: a group envelope written by hand goes
    /// inside their OTR session as it is) and the network delivers what follows.
    pub fn send_private(&mut self, n: &str, peer: &str, text: &str) {
        self.act(n, |node| node.send_private(peer, text));
    }

    /// `n` opens an OTR session with `peer` and writes `text` inside it, group layer
    /// bypassed.
    pub fn write_inside(&mut self, n: &str, peer: &str, text: &str) {
        self.act(n, |node| node.start_private(peer).unwrap());
        self.send_private(n, peer, text);
    }

    pub fn absorb(&mut self, n: &str, outs: Vec<Output>) {
        for o in outs {
            match o {
                Output::Send { to, line } => self.queue.push_back((n.to_owned(), to, line)),
                other => self.outputs.entry(n.to_owned()).or_default().push(other),
            }
        }
    }

    fn absorb_thin(&mut self, n: &str, events: Vec<Event>) {
        for e in events {
            match e {
                Event::Wire { peer, data } => {
                    self.queue
                        .push_back((n.to_owned(), Target::Private(peer), data))
                }
                Event::Message { peer, text, .. } => self
                    .thin_shown
                    .entry(n.to_owned())
                    .or_default()
                    .push((peer, text)),
                _ => {}
            }
        }
    }

    fn absorb_lib(&mut self, n: &str, events: Vec<libotr_harness::Event>) {
        for e in events {
            match e {
                libotr_harness::Event::Wire { peer, data } => {
                    self.queue
                        .push_back((n.to_owned(), Target::Private(peer), data))
                }
                libotr_harness::Event::Message { peer, text, .. } => self
                    .thin_shown
                    .entry(n.to_owned())
                    .or_default()
                    .push((peer, text)),
                _ => {}
            }
        }
    }

    /// Adds `engine` as a second instance under `nick` (see [`Net::impostors`]).
    pub fn add_impostor(&mut self, nick: &str, engine: Engine) {
        self.impostors.insert(nick.to_owned(), engine);
    }

    /// The impostor under `nick` runs `f` on its engine; the network delivers what follows.
    pub fn impostor(&mut self, nick: &str, f: impl FnOnce(&mut Engine) -> Vec<Event>) {
        let events = f(self.impostors.get_mut(nick).unwrap());
        self.absorb_impostor(nick, events);
        self.run();
    }

    fn absorb_impostor(&mut self, nick: &str, events: Vec<Event>) {
        for e in events {
            match e {
                Event::Wire { peer, data } => {
                    self.queue
                        .push_back((nick.to_owned(), Target::Private(peer), data))
                }
                other => self.impostor_events.push(other),
            }
        }
    }

    /// A thin member writes `text` to `host` (an ordinary private OTR message).
    pub fn thin_say(&mut self, n: &str, host: &str, text: &str) {
        match self.thin.get_mut(n).unwrap() {
            Thin::Ours(e) => {
                let ev = e.send(host, text);
                self.absorb_thin(n, ev);
            }
            Thin::Lib(l) => {
                let ev = l.send(host, text);
                self.absorb_lib(n, ev);
            }
        }
        self.run();
    }

    fn lose(&mut self) -> bool {
        self.loss > 0.0 && (self.rng.next_u32() as f64 / u32::MAX as f64) < self.loss
    }

    /// Delivers queued lines until quiet.
    pub fn run(&mut self) {
        let mut steps = 0u64;
        while let Some((from, to, line)) = self.queue.pop_front() {
            steps += 1;
            assert!(steps < 5_000_000, "network did not settle");
            self.lines += 1;
            if self.record_wire {
                self.wire.push((from.clone(), to.clone(), line.clone()));
            }
            if let (Some((f, d)), Target::Private(dest)) = (&self.hold, &to) {
                if *f == from && d == dest {
                    self.held.push_back((from, to, line));
                    continue;
                }
            }
            match to {
                Target::Private(dest) => {
                    self.deliveries += 1;
                    if self.lose() {
                        continue;
                    }
                    if let Some(imp) = self.impostors.get_mut(&dest) {
                        let events = imp.receive(&from, &line);
                        self.absorb_impostor(&dest, events);
                    }
                    if let Some(node) = self.nodes.get_mut(&dest) {
                        let outs = node.receive_private(&from, &line);
                        self.absorb(&dest, outs);
                    } else if let Some(thin) = self.thin.get_mut(&dest) {
                        match thin {
                            Thin::Ours(e) => {
                                let ev = e.receive(&from, &line);
                                self.absorb_thin(&dest, ev);
                            }
                            Thin::Lib(l) => {
                                let ev = l.receive(&from, &line);
                                self.absorb_lib(&dest, ev);
                            }
                        }
                    }
                }
                Target::Channel(ch) => {
                    self.channel_lines += 1;
                    let dests: Vec<String> =
                        self.nodes.keys().filter(|k| **k != from).cloned().collect();
                    for dest in dests {
                        self.deliveries += 1;
                        if self.lose() {
                            continue;
                        }
                        let outs = self
                            .nodes
                            .get_mut(&dest)
                            .unwrap()
                            .receive_channel(&ch, &from, &line);
                        self.absorb(&dest, outs);
                    }
                }
            }
        }
    }

    /// Stops holding lines and delivers the held ones, in order.
    pub fn release(&mut self) {
        self.hold = None;
        let held = std::mem::take(&mut self.held);
        self.queue.extend(held);
        self.run();
    }

    /// Advances the clock by `secs` in steps of one second, ticking every node.
    pub fn advance(&mut self, secs: u32) {
        for _ in 0..secs {
            self.now += 1.0;
            let names: Vec<String> = self.nodes.keys().cloned().collect();
            for n in names {
                let now = self.now;
                let outs = self.node(&n).tick(now);
                self.absorb(&n, outs);
            }
            self.run();
        }
    }

    pub fn messages(&self, n: &str) -> Vec<GroupMessage> {
        self.outputs
            .get(n)
            .map(|v| {
                v.iter()
                    .filter_map(|o| match o {
                        Output::Message(m) => Some(m.clone()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn texts(&self, n: &str) -> Vec<(String, String)> {
        self.messages(n)
            .into_iter()
            .map(|m| (m.sender, m.text))
            .collect()
    }

    pub fn alerts(&self, n: &str) -> Vec<Alert> {
        self.outputs
            .get(n)
            .map(|v| {
                v.iter()
                    .filter_map(|o| match o {
                        Output::Alert(a) => Some(a.clone()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn all_alerts(&self) -> Vec<(String, Alert)> {
        self.outputs
            .keys()
            .flat_map(|n| self.alerts(n).into_iter().map(move |a| (n.clone(), a)))
            .collect()
    }

    pub fn clear_outputs(&mut self) {
        self.outputs.clear();
        self.thin_shown.clear();
    }

    /// A room hosted by member 0 with members 1..n (all full), every invitation accepted.
    pub fn room(n: usize, delivery: Delivery, tune: impl Fn(&mut Config)) -> (Net, Vec<String>) {
        let mut net = Net::new();
        let names: Vec<String> = (0..n)
            .map(|i| net.add(i, delivery.clone(), &tune))
            .collect();
        let host = names[0].clone();
        net.act(&host, |h| h.host().unwrap());
        for m in &names[1..] {
            let m2 = m.clone();
            net.act(&host, |h| h.invite(&m2).unwrap());
            net.act(m, |node| node.accept().unwrap());
        }
        // Let pairwise keys settle.
        net.advance(1);
        (net, names)
    }

    pub fn say(&mut self, n: &str, text: &str) {
        let t = text.to_owned();
        self.act(n, |node| node.say(&t).unwrap());
    }
}

/// Every node except `except` shows exactly `expected` (sender, text) in order, with no
/// failed authentication.
pub fn assert_delivered(net: &Net, names: &[String], expected: &[(String, String)]) {
    for n in names {
        let got = net.texts(n);
        assert_eq!(&got, expected, "{n} shows a different conversation");
        for m in net.messages(n) {
            assert_ne!(m.auth, Auth::Failed, "{n}: {m:?}");
        }
    }
}
