//! The group layer against a malicious host and a malicious member at once, over seeded
//! random scripts (the group counterpart of `fuzz/adversary.rs`): a room of four on the
//! embedded network, where the host (m00) rewrites what it relays as the script says
//! (drops, alters, misattributes, duplicates, replays), a member (m03) writes forged and
//! malformed group messages inside its sessions, an impostor with its own key logs in
//! under an honest member's nick, lines get lost, and time passes. After every step, for
//! every honest node:
//!
//! 1. a line shown as authenticated (ours, our session's peer, or a pairwise MAC) was typed
//!    by the sender it names, with that text;
//! 2. no line is shown twice;
//! 3. what the node holds stays under the caps of `group::limits`;
//! 4. nothing panics.
//!
//! `GROUP_ADVERSARY_SEEDS=n` runs n scripts (default 40).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use group::envelope::{Envelope, Item};
use group::{limits, Auth, Delivery, Output};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use support::{engine, Net};

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

struct Run {
    net: Net,
    typed: HashMap<String, String>,
    shown: HashSet<(String, String, String)>,
    seen_outputs: HashMap<String, usize>,
    hook: Arc<Mutex<HostHook>>,
    impostor: bool,
}

impl Run {
    fn new() -> Self {
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

    fn step(&mut self, rng: &mut ChaCha20Rng, step: usize) {
        let pick = |rng: &mut ChaCha20Rng, n: u32| rng.next_u32() % n;
        match pick(rng, 12) {
            0..=3 => {
                let who = HONEST[pick(rng, 2) as usize];
                self.say(who, step);
            }
            4 => self.say(MALLORY, step),
            5 => {
                let to = [HOST, "m01", "m02"][pick(rng, 3) as usize];
                let forged = FORGED[pick(rng, FORGED.len() as u32) as usize];
                self.net.write_inside(MALLORY, to, forged);
            }
            6 | 7 => {
                let to = HONEST[pick(rng, 2) as usize].to_owned();
                let mode = match pick(rng, 6) {
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
                let to = [HOST, "m02"][pick(rng, 2) as usize];
                self.net.impostor("m01", |e| e.start(to).unwrap());
                let forged = FORGED[pick(rng, FORGED.len() as u32) as usize];
                self.net.impostor("m01", |e| e.send(to, forged));
            }
            9 => self.net.loss = [0.0, 0.05, 0.2][pick(rng, 3) as usize],
            _ => self.net.advance(1 + pick(rng, 15)),
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

#[test]
fn a_malicious_host_and_member_never_get_a_forged_line_shown_as_authenticated() {
    let seeds: u64 = std::env::var("GROUP_ADVERSARY_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    for seed in 0..seeds {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut run = Run::new();
        for step in 0..40 {
            run.step(&mut rng, step);
        }
        let shown = run.shown.len();
        eprintln!("seed {seed}: {shown} authenticated lines checked");
    }
}
