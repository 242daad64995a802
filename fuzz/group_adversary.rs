//! The group layer against a malicious host and a malicious member at once (the group
//! counterpart of `adversary.rs`): a room of four on the embedded network of
//! `crates/group/tests/support`, where the host (m00) rewrites what it relays as the script
//! says (drops, alters, misattributes, duplicates, replays), a member (m03) writes forged and
//! malformed group messages inside its sessions, an impostor with its own key logs in under
//! an honest member's nick, lines get lost, and time passes. After every step, for every
//! honest node:
//!
//! 1. a line shown as authenticated (ours, our session's peer, or a pairwise MAC) was typed
//!    by the sender it names, with that text;
//! 2. no line is shown twice;
//! 3. what the node holds stays under the caps of `group::limits`;
//! 4. nothing panics.
//!
//! A script's choices come from the fuzzer's bytes (target `group_adversary`, corpus
//! replayed by `crates/group/tests/adversary.rs`) or from a seeded generator (the same
//! test's seeded scripts). The including crate declares the `support` module at its root.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use group::envelope::{Envelope, Item};
use group::{limits, Auth, Delivery, Output};
use rand_chacha::rand_core::RngCore;
use rand_chacha::ChaCha20Rng;

use crate::support::{engine, Net};

const HOST: &str = "m00";
const HONEST: [&str; 2] = ["m01", "m02"];
const MALLORY: &str = "m03";

/// What the host does to the envelopes it relays, for the next steps.
#[derive(Clone)]
enum HostMode {
    Honest,
    DropTo(String),
    AlterTo(String),
    MisattributeTo(String),
    Duplicate,
    ReplayOld,
}

struct HostHook {
    mode: HostMode,
    old: Vec<Envelope>,
}

fn hook(state: Arc<Mutex<HostHook>>) -> group::RelayHook {
    Box::new(move |to: &str, mut env: Envelope| {
        let mut s = state.lock().unwrap();
        if s.old.len() < 64 {
            s.old.push(env.clone());
        }
        let msg = match &mut env {
            Envelope::Relay {
                item: Item::Msg(m), ..
            } => Some(m),
            _ => None,
        };
        match (s.mode.clone(), msg) {
            (HostMode::DropTo(n), Some(_)) if n == to => Vec::new(),
            (HostMode::AlterTo(n), Some(m)) if n == to => {
                m.body = format!("altered: {}", m.body);
                vec![env]
            }
            (HostMode::MisattributeTo(n), Some(m)) if n == to => {
                m.sender = if m.sender == "m01" { "m02" } else { "m01" }.to_owned();
                vec![env]
            }
            (HostMode::Duplicate, _) => vec![env.clone(), env],
            (HostMode::ReplayOld, _) => {
                let i = s.old.len() / 2;
                let old = s.old[i].clone();
                vec![old, env]
            }
            _ => vec![env],
        }
    })
}

/// Group messages a malicious member writes inside its sessions, group layer bypassed.
const FORGED: [&str; 6] = [
    "?GRP2 say",
    "?GRP2 say 00 18446744073709551615 18446744073709551615 hi",
    "?GRP2 bye close",
    "?GRP1 say 1 0 hello",
    "?GRP2 dig 18446744073709551615 0 00",
    "?GRP2 \u{0}\u{1}",
];

/// One script's world: the room, what was typed and shown, the host's hook.
pub struct Run {
    /// The room on the embedded network.
    pub net: Net,
    typed: HashMap<String, String>,
    /// (node, sender, text) of every line shown as authenticated.
    pub shown: HashSet<(String, String, String)>,
    seen_outputs: HashMap<String, usize>,
    hook: Arc<Mutex<HostHook>>,
    impostor: bool,
}

impl Run {
    /// A room of four (host m00), the host's relay hook in place, honest for now.
    pub fn new() -> Self {
        let (mut net, _) = Net::room(4, Delivery::Private, |_| {});
        let state = Arc::new(Mutex::new(HostHook {
            mode: HostMode::Honest,
            old: Vec::new(),
        }));
        net.node(HOST).set_relay_hook(Some(hook(state.clone())));
        Self {
            net,
            typed: HashMap::new(),
            shown: HashSet::new(),
            seen_outputs: HashMap::new(),
            hook: state,
            impostor: false,
        }
    }

    fn say(&mut self, who: &str, step: usize) {
        let text = format!("s{step}-{who}");
        self.typed.insert(text.clone(), who.to_owned());
        let t = text.clone();
        if let Ok(outs) = self.net.node(who).say(&t) {
            self.net.absorb(who, outs);
            self.net.run();
        }
    }

    /// One step of the script, chosen by `rng`, then the invariants.
    pub fn step(&mut self, rng: &mut impl Choices, step: usize) {
        match rng.pick(12) {
            0..=3 => {
                let who = HONEST[rng.pick(2) as usize];
                self.say(who, step);
            }
            4 => self.say(MALLORY, step),
            5 => {
                let to = [HOST, "m01", "m02"][rng.pick(3) as usize];
                let forged = FORGED[rng.pick(FORGED.len() as u32) as usize];
                self.net.write_inside(MALLORY, to, forged);
            }
            6 | 7 => {
                let to = HONEST[rng.pick(2) as usize].to_owned();
                let mode = match rng.pick(6) {
                    0 => HostMode::Honest,
                    1 => HostMode::DropTo(to),
                    2 => HostMode::AlterTo(to),
                    3 => HostMode::MisattributeTo(to),
                    4 => HostMode::Duplicate,
                    _ => HostMode::ReplayOld,
                };
                self.hook.lock().unwrap().mode = mode;
            }
            8 => {
                // An impostor with its own key under m01's nick writes to m02 and the host.
                if !self.impostor {
                    self.net.add_impostor("m01", engine(99));
                    self.impostor = true;
                }
                let to = [HOST, "m02"][rng.pick(2) as usize];
                self.net
                    .impostor("m01", |e| e.start(to).unwrap_or_default());
                let forged = FORGED[rng.pick(FORGED.len() as u32) as usize];
                self.net.impostor("m01", |e| e.send(to, forged));
            }
            9 => self.net.loss = [0.0, 0.05, 0.2][rng.pick(3) as usize],
            _ => self.net.advance(1 + rng.pick(15)),
        }
        self.check();
    }

    /// The invariants, over what each honest node showed since the last check.
    fn check(&mut self) {
        for n in [HOST, HONEST[0], HONEST[1]] {
            let outputs = self.net.outputs.get(n).cloned().unwrap_or_default();
            let from = self.seen_outputs.get(n).copied().unwrap_or(0);
            for o in outputs.iter().skip(from) {
                let Output::Message(m) = o else { continue };
                let authenticated = match m.auth {
                    Auth::Own => {
                        assert_eq!(m.sender, n, "{n}: a line shown as its own is not");
                        true
                    }
                    Auth::Session | Auth::Pairwise => true,
                    _ => false,
                };
                if authenticated {
                    assert_eq!(
                        self.typed.get(&m.text),
                        Some(&m.sender),
                        "{n}: {:?} shown as authenticated from {}, but not typed by it",
                        m.text,
                        m.sender
                    );
                    let key = (n.to_owned(), m.sender.clone(), m.text.clone());
                    assert!(self.shown.insert(key), "{n}: {:?} shown twice", m.text);
                }
            }
            self.seen_outputs.insert(n.to_owned(), outputs.len());
            let u = self.net.node(n).usage();
            assert!(u.buffered_bytes <= limits::BUFFER_BYTES, "{n}: {u:?}");
            assert!(u.buffered_items <= limits::BUFFER_ITEMS, "{n}: {u:?}");
            assert!(u.held_bytes <= limits::HELD_BYTES_TOTAL, "{n}: {u:?}");
            assert!(u.outbox_bytes <= limits::OUTBOX_BYTES_TOTAL, "{n}: {u:?}");
            assert!(u.early_offers <= limits::MAX_EARLY_OFFERS, "{n}: {u:?}");
        }
    }
}

/// Where a script's choices come from.
pub trait Choices {
    /// A number below `n` (`n > 0`).
    fn pick(&mut self, n: u32) -> u32;
}

impl Choices for ChaCha20Rng {
    fn pick(&mut self, n: u32) -> u32 {
        self.next_u32() % n
    }
}

/// The fuzzer's bytes, one per choice.
pub struct Bytes<'a> {
    data: &'a [u8],
    at: usize,
}

impl Bytes<'_> {
    /// Whether every byte was used.
    pub fn done(&self) -> bool {
        self.at >= self.data.len()
    }
}

impl Choices for Bytes<'_> {
    fn pick(&mut self, n: u32) -> u32 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        u32::from(b) % n
    }
}

/// Steps of one script at most.
pub const MAX_STEPS: usize = 40;

/// Runs the script the fuzzer's bytes describe; panics if an invariant breaks.
pub fn group_adversary(data: &[u8]) {
    let mut bytes = Bytes { data, at: 0 };
    let mut run = Run::new();
    let mut step = 0;
    while !bytes.done() && step < MAX_STEPS {
        run.step(&mut bytes, step);
        step += 1;
    }
}
