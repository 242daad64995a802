//! OTR conversations through a real ngircd: each side is an OTR engine behind its own IRC
//! transport connection, and a logging relay (`Tap`) between the clients and the server
//! records every byte both ways, which must never contain a typed text.
//!
//! * two offrecord engines: AKE, 200 messages long enough to be fragmented to the exact
//!   payload the server relays uncut, SMP with a question, finish;
//! * offrecord and libotr 4.1.1 (in-process), each side starting, with SMP both ways;
//! * the server killed and restarted mid-conversation under ngircd's default flood control:
//!   both clients reconnect by themselves, what was sent while it was down is reported
//!   undelivered, and the private conversation goes on with the same keys.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../crates/irc/tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use irc::{IrcCommand, IrcEvent, Pacing};
use libotr_harness::{Event as LEvent, LibOtr, POLICY_DEFAULT};
use ngircd_harness::{Ngircd, Options, Tap};
use otr::crypto::DsaPrivateKey;
use otr::wire::encoded::InstanceTag;
use otr::{ConversationState, Engine, EngineConfig, Event, Policy, SmpResult};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use support::Client;

/// What a side's OTR implementation told its user.
#[derive(Debug, Clone, PartialEq)]
enum Told {
    Shown { text: String, encrypted: bool },
    Private,
    Finished,
    Smp(String),
    Other(String),
}

enum Otr {
    Ours(Box<Engine>),
    Lib(Box<LibOtr>),
}

/// One participant: an OTR implementation behind an IRC connection.
struct Side {
    peer: String,
    client: Client,
    otr: Otr,
    told: Vec<Told>,
    /// Every wire text handed to the transport, in order.
    wire: Vec<String>,
}

fn our_engine(seed: u64) -> Engine {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let key = DsaPrivateKey::generate(&mut rng);
    let config = EngineConfig {
        policy: Policy::OPPORTUNISTIC,
        instance_tag: InstanceTag(0x4000_0000 + u32::try_from(seed).unwrap()),
        line_based: true,
        hold_during_key_exchange: false,
    };
    Engine::new(
        key,
        config,
        Box::new(ChaCha20Rng::seed_from_u64(seed + 1000)),
    )
}

impl Side {
    async fn new(port: u16, nick: &str, peer: &str, otr: Otr, pacing: Pacing) -> Side {
        let client = Client::connect(port, nick, &[], pacing).await;
        let mut side = Side {
            peer: peer.into(),
            client,
            otr,
            told: Vec::new(),
            wire: Vec::new(),
        };
        side.set_sizes();
        side
    }

    /// Fragments to exactly what the server relays uncut from us to the peer.
    fn set_sizes(&mut self) {
        let size = self.client.handle.max_payload(&self.peer);
        match &mut self.otr {
            Otr::Ours(engine) => engine.set_max_message_size(&self.peer, size),
            Otr::Lib(lib) => lib.set_max_message_size(size),
        }
    }

    fn act_ours(&mut self, f: impl FnOnce(&mut Engine, &str) -> Vec<Event>) {
        let Otr::Ours(engine) = &mut self.otr else {
            panic!("not our engine")
        };
        let events = f(engine, &self.peer.clone());
        self.absorb_ours(events);
    }

    fn act_lib(&mut self, f: impl FnOnce(&mut LibOtr, &str) -> Vec<LEvent>) {
        let Otr::Lib(lib) = &mut self.otr else {
            panic!("not libotr")
        };
        let events = f(lib, &self.peer.clone());
        self.absorb_lib(events);
    }

    fn start(&mut self) {
        match self.otr {
            Otr::Ours(_) => self.act_ours(|e, p| e.start(p).unwrap()),
            Otr::Lib(_) => self.act_lib(|l, p| l.start(p)),
        }
    }

    fn say(&mut self, text: &str) {
        match self.otr {
            Otr::Ours(_) => self.act_ours(|e, p| e.send(p, text)),
            Otr::Lib(_) => self.act_lib(|l, p| l.send(p, text)),
        }
    }

    fn finish(&mut self) {
        match self.otr {
            Otr::Ours(_) => self.act_ours(|e, p| e.finish(p)),
            Otr::Lib(_) => self.act_lib(|l, p| l.finish(p)),
        }
    }

    fn smp_start(&mut self, question: &str, secret: &[u8]) {
        match self.otr {
            Otr::Ours(_) => self.act_ours(|e, p| e.smp_start(p, secret, Some(question)).unwrap()),
            Otr::Lib(_) => self.act_lib(|l, p| l.smp_start(p, Some(question), secret)),
        }
    }

    fn smp_respond(&mut self, secret: &[u8]) {
        match self.otr {
            Otr::Ours(_) => self.act_ours(|e, p| e.smp_respond(p, secret).unwrap()),
            Otr::Lib(_) => self.act_lib(|l, p| l.smp_respond(p, secret)),
        }
    }

    fn transmit(&mut self, data: String) {
        self.client
            .handle
            .send(IrcCommand::Privmsg {
                target: self.peer.clone(),
                text: data.clone(),
            })
            .unwrap();
        self.wire.push(data);
    }

    fn absorb_ours(&mut self, events: Vec<Event>) {
        for event in events {
            let told = match event {
                Event::Wire { data, .. } => {
                    self.transmit(data);
                    continue;
                }
                Event::Message {
                    text, encrypted, ..
                } => Told::Shown { text, encrypted },
                Event::State {
                    state: ConversationState::Encrypted,
                    ..
                } => Told::Private,
                Event::State {
                    state: ConversationState::Finished,
                    ..
                } => Told::Finished,
                Event::Smp { result, .. } => Told::Smp(
                    match result {
                        SmpResult::Question | SmpResult::Request => "asked",
                        SmpResult::Success => "success",
                        SmpResult::Failure => "failure",
                        _ => "other",
                    }
                    .into(),
                ),
                other => Told::Other(format!("{other:?}")),
            };
            self.told.push(told);
        }
    }

    fn absorb_lib(&mut self, events: Vec<LEvent>) {
        for event in events {
            let told = match event {
                LEvent::Wire { data, .. } => {
                    // libotr's query message has a line break (its HTML explanation
                    // follows): an IRC client sends each line as its own PRIVMSG, as
                    // irssi-otr does. The transport would refuse the line break.
                    for line in data.split(['\r', '\n']).filter(|l| !l.is_empty()) {
                        self.transmit(line.to_string());
                    }
                    continue;
                }
                LEvent::Message {
                    text, encrypted, ..
                } => Told::Shown { text, encrypted },
                LEvent::GoneSecure { .. } | LEvent::StillSecure { .. } => Told::Private,
                LEvent::Smp { name, .. } => Told::Smp(
                    match name.as_str() {
                        "ASK_FOR_ANSWER" | "ASK_FOR_SECRET" => "asked",
                        "SUCCESS" => "success",
                        "FAILURE" => "failure",
                        _ => "other",
                    }
                    .into(),
                ),
                // TLV 1: the peer ended the private conversation.
                LEvent::Tlv { tlv_type: 1, .. } => Told::Finished,
                other => Told::Other(format!("{other:?}")),
            };
            self.told.push(told);
        }
    }

    /// One event from the network.
    fn on_irc(&mut self, event: IrcEvent) {
        self.client.seen.push(event.clone());
        if let IrcEvent::Message {
            from,
            target,
            text,
            notice: false,
        } = event
        {
            if from == self.peer && target == self.client.handle.nick() {
                match self.otr {
                    Otr::Ours(_) => self.act_ours(|e, p| e.receive(p, &text)),
                    Otr::Lib(_) => self.act_lib(|l, p| l.receive(p, &text)),
                }
            }
        }
    }

    fn shown(&self) -> Vec<(String, bool)> {
        self.told
            .iter()
            .filter_map(|t| match t {
                Told::Shown { text, encrypted } => Some((text.clone(), *encrypted)),
                _ => None,
            })
            .collect()
    }

    fn count(&self, what: &Told) -> usize {
        self.told.iter().filter(|t| *t == what).count()
    }
}

/// Delivers network events to both sides until `done` holds (or fails after `limit`).
async fn pump(a: &mut Side, b: &mut Side, limit: Duration, done: impl Fn(&Side, &Side) -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !done(a, b) {
        tokio::select! {
            e = a.client.events.recv() => a.on_irc(e.expect("a's transport stopped")),
            e = b.client.events.recv() => b.on_irc(e.expect("b's transport stopped")),
            _ = tokio::time::sleep_until(deadline) => {
                panic!("timed out\na told: {:#?}\nb told: {:#?}\na irc: {:#?}",
                    a.told.iter().rev().take(10).collect::<Vec<_>>(),
                    b.told.iter().rev().take(10).collect::<Vec<_>>(),
                    a.client.seen.iter().rev().take(10).collect::<Vec<_>>())
            }
        }
    }
}

/// A long text with a unique marker: 300 to 1,100 bytes, so every message is fragmented.
fn long_text(i: usize) -> String {
    let filler = "the quick brown fox jumps over the lazy dog; ";
    let mut text = format!("secret-{i:03}-marker ");
    while text.len() < 300 + (i * 37) % 800 {
        text.push_str(filler);
    }
    text.push_str(&format!("end-{i:03}"));
    text
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// No typed text, SMP secret or question appears in any byte either way.
fn assert_no_plaintext(tap: &Tap, secrets: &[String]) {
    let up = tap.to_server();
    let down = tap.to_client();
    for secret in secrets {
        assert!(!contains(&up, secret), "{secret:?} was sent to the server");
        assert!(
            !contains(&down, secret),
            "{secret:?} was relayed by the server"
        );
    }
    for line in down.split(|&b| b == b'\n') {
        assert!(
            line.len() < 512,
            "a relayed line of {} bytes",
            line.len() + 1
        );
    }
}

async fn go_private(starter: &mut Side, other: &mut Side) {
    let (s0, o0) = (starter.count(&Told::Private), other.count(&Told::Private));
    starter.start();
    pump(starter, other, Duration::from_secs(60), |s, o| {
        s.count(&Told::Private) > s0 && o.count(&Told::Private) > o0
    })
    .await;
}

/// `from` says `text`; waits until `to` shows it, and checks it arrived encrypted.
async fn converse(from: &mut Side, to: &mut Side, text: &str, limit: Duration) {
    let n = to.shown().len();
    from.say(text);
    pump(from, to, limit, |_, t| t.shown().len() > n).await;
    assert_eq!(to.shown()[n], (text.to_string(), true));
}

/// SMP with a question, `asker` asking; both must report success.
async fn smp(asker: &mut Side, answerer: &mut Side, question: &str, secret: &str) {
    let success = Told::Smp("success".into());
    let (a0, b0) = (asker.count(&success), answerer.count(&success));
    let asked = Told::Smp("asked".into());
    let q0 = answerer.count(&asked);
    asker.smp_start(question, secret.as_bytes());
    pump(asker, answerer, Duration::from_secs(60), |_, b| {
        b.count(&asked) > q0
    })
    .await;
    answerer.smp_respond(secret.as_bytes());
    pump(asker, answerer, Duration::from_secs(60), |a, b| {
        a.count(&success) > a0 && b.count(&success) > b0
    })
    .await;
}

async fn end_private(finisher: &mut Side, other: &mut Side) {
    let f0 = other.count(&Told::Finished);
    finisher.finish();
    pump(finisher, other, Duration::from_secs(30), |_, o| {
        o.count(&Told::Finished) > f0
    })
    .await;
}

/// Each wire text of the conversation that was fragmented to fit the relayed line.
fn fragments(side: &Side) -> usize {
    side.wire.iter().filter(|w| w.starts_with("?OTR|")).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_offrecord_engines_hold_a_private_conversation_through_ngircd() {
    // 200 long messages are about 500 lines each way: ngircd's default flood control would
    // take minutes, so this server gives its users relaxed flood control (mode F) and the
    // clients do not pace. Pacing under default flood control is tested in ngircd_transport.
    let server = Ngircd::start(Options {
        relaxed_flood: true,
        ..Options::default()
    })
    .unwrap();
    let tap = Tap::start(server.port()).unwrap();
    let started = Instant::now();
    let mut alice = Side::new(
        tap.port(),
        "alice",
        "bob",
        Otr::Ours(Box::new(our_engine(1))),
        Pacing::none(),
    )
    .await;
    let mut bob = Side::new(
        tap.port(),
        "bob",
        "alice",
        Otr::Ours(Box::new(our_engine(2))),
        Pacing::none(),
    )
    .await;
    go_private(&mut alice, &mut bob).await;

    let mut secrets = Vec::new();
    for i in 0..200 {
        let text = long_text(i);
        if i % 2 == 0 {
            converse(&mut alice, &mut bob, &text, Duration::from_secs(30)).await;
        } else {
            converse(&mut bob, &mut alice, &text, Duration::from_secs(30)).await;
        }
        secrets.push(text[..20].to_string());
        secrets.push(text[text.len() - 40..].to_string());
    }
    let question = "the name of our first cat?";
    let answer = "Mr. Whiskers von Fluff";
    smp(&mut alice, &mut bob, question, answer).await;
    secrets.push(question.into());
    secrets.push(answer.into());
    end_private(&mut alice, &mut bob).await;

    assert_eq!(alice.shown().len(), 100);
    assert_eq!(bob.shown().len(), 100);
    assert!(
        fragments(&alice) >= 200 && fragments(&bob) >= 200,
        "every message fragmented"
    );
    assert_no_plaintext(&tap, &secrets);
    assert!(contains(&tap.to_client(), "PRIVMSG bob :?OTR|"));
    eprintln!(
        "figure: AKE, 200 fragmented messages ({} + {} fragments), SMP and finish through ngircd: {:.1} s",
        fragments(&alice),
        fragments(&bob),
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offrecord_and_libotr_through_ngircd_each_starting() {
    let server = Ngircd::start(Options {
        relaxed_flood: true,
        ..Options::default()
    })
    .unwrap();
    let tap = Tap::start(server.port()).unwrap();
    let lib = LibOtr::with_cached_key("bob", POLICY_DEFAULT).unwrap();
    let mut alice = Side::new(
        tap.port(),
        "alice",
        "bob",
        Otr::Ours(Box::new(our_engine(3))),
        Pacing::none(),
    )
    .await;
    let mut bob = Side::new(
        tap.port(),
        "bob",
        "alice",
        Otr::Lib(Box::new(lib)),
        Pacing::none(),
    )
    .await;
    let mut secrets = Vec::new();

    // offrecord starts, libotr asks the SMP question, offrecord finishes.
    go_private(&mut alice, &mut bob).await;
    for i in 0..40 {
        let text = long_text(1000 + i);
        if i % 2 == 0 {
            converse(&mut alice, &mut bob, &text, Duration::from_secs(30)).await;
        } else {
            converse(&mut bob, &mut alice, &text, Duration::from_secs(30)).await;
        }
        secrets.push(text[..20].to_string());
    }
    smp(&mut bob, &mut alice, "libotr asks", "answer one").await;
    end_private(&mut alice, &mut bob).await;

    // libotr starts, offrecord asks, libotr finishes.
    go_private(&mut bob, &mut alice).await;
    for i in 0..40 {
        let text = long_text(2000 + i);
        if i % 2 == 0 {
            converse(&mut bob, &mut alice, &text, Duration::from_secs(30)).await;
        } else {
            converse(&mut alice, &mut bob, &text, Duration::from_secs(30)).await;
        }
        secrets.push(text[..20].to_string());
    }
    smp(&mut alice, &mut bob, "offrecord asks", "answer two").await;
    end_private(&mut bob, &mut alice).await;

    assert!(
        fragments(&alice) >= 40 && fragments(&bob) >= 40,
        "both sides fragmented"
    );
    secrets.extend(["answer one", "answer two", "libotr asks", "offrecord asks"].map(String::from));
    assert_no_plaintext(&tap, &secrets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_restarts_mid_conversation_and_the_session_recovers() {
    // ngircd's default flood control, and the transport's default pacing.
    let mut server = Ngircd::start(Options::default()).unwrap();
    let tap = Tap::start(server.port()).unwrap();
    let pacing = Pacing::ngircd_default();
    let mut alice = Side::new(
        tap.port(),
        "alice",
        "bob",
        Otr::Ours(Box::new(our_engine(5))),
        pacing.clone(),
    )
    .await;
    let mut bob = Side::new(
        tap.port(),
        "bob",
        "alice",
        Otr::Ours(Box::new(our_engine(6))),
        pacing,
    )
    .await;
    go_private(&mut alice, &mut bob).await;
    converse(
        &mut alice,
        &mut bob,
        "before the restart",
        Duration::from_secs(30),
    )
    .await;
    converse(
        &mut bob,
        &mut alice,
        "before the restart, too",
        Duration::from_secs(30),
    )
    .await;

    // A long message (several fragments, paced) is in flight when the server dies.
    let in_flight = long_text(7);
    alice.say(&in_flight);
    let in_flight_wire = alice.wire.clone();
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.kill();
    let disconnected = |s: &Side| {
        s.client
            .seen
            .iter()
            .any(|e| matches!(e, IrcEvent::Disconnected { .. }))
    };
    pump(&mut alice, &mut bob, Duration::from_secs(30), |a, b| {
        disconnected(a) && disconnected(b)
    })
    .await;

    // Typed while the server is down: the transport says it was not delivered.
    let while_down = "typed while the server was down";
    alice.say(while_down);
    let down_wire = alice.wire.last().cloned().unwrap();
    let undelivered = |s: &Side, wire: &str| {
        s.client.seen.iter().any(
            |e| matches!(e, IrcEvent::Undelivered { text, written: false, .. } if text == wire),
        )
    };
    pump(&mut alice, &mut bob, Duration::from_secs(30), |a, _| {
        undelivered(a, &down_wire)
    })
    .await;

    server.restart().unwrap();
    let connected_again = |s: &Side| {
        let last = s.client.seen.iter().rev().find(|e| {
            matches!(
                e,
                IrcEvent::Connected { .. } | IrcEvent::Disconnected { .. }
            )
        });
        matches!(last, Some(IrcEvent::Connected { .. }))
    };
    pump(&mut alice, &mut bob, Duration::from_secs(30), |a, b| {
        connected_again(a) && connected_again(b)
    })
    .await;

    // Every fragment of the message in flight was either relayed before the kill or
    // reported undelivered (written or not): nothing vanished without the user being told.
    let reported: Vec<&str> = alice
        .client
        .seen
        .iter()
        .filter_map(|e| match e {
            IrcEvent::Undelivered { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let relayed = tap.to_client();
    let in_flight_fragments: Vec<&String> = in_flight_wire
        .iter()
        .filter(|w| w.starts_with("?OTR|"))
        .collect();
    assert!(in_flight_fragments.len() >= 2);
    for fragment in &in_flight_fragments {
        assert!(
            contains(&relayed, fragment) || reported.contains(&fragment.as_str()),
            "a fragment was neither relayed nor reported"
        );
    }
    let bob_got_it = bob.shown().iter().any(|(t, _)| *t == in_flight);
    let all_relayed = in_flight_fragments.iter().all(|f| contains(&relayed, f));
    assert_eq!(bob_got_it, all_relayed);
    eprintln!(
        "in flight at the kill: {} fragments, {} relayed, bob read it: {bob_got_it}; reported undelivered: {}",
        in_flight_fragments.len(),
        in_flight_fragments.iter().filter(|f| contains(&relayed, f)).count(),
        reported.len()
    );

    // The private conversation goes on with the same session, both ways.
    alice.set_sizes();
    bob.set_sizes();
    converse(
        &mut alice,
        &mut bob,
        "after the restart",
        Duration::from_secs(60),
    )
    .await;
    converse(
        &mut bob,
        &mut alice,
        "after the restart, too",
        Duration::from_secs(60),
    )
    .await;
    assert!(!bob.shown().iter().any(|(t, _)| t == while_down));
    assert!(tap.connections() >= 4);
    assert_no_plaintext(&tap, &[in_flight[..20].to_string(), while_down.to_string()]);
}

/// Two offrecord engines, private, behind paced connections to a server with ngircd's
/// default flood control.
async fn private_pair_under_default_flood_control(seed: u64) -> (Ngircd, Tap, Side, Side) {
    let server = Ngircd::start(Options::default()).unwrap();
    let tap = Tap::start(server.port()).unwrap();
    let pacing = Pacing::ngircd_default();
    let alice = Otr::Ours(Box::new(our_engine(seed)));
    let mut alice = Side::new(tap.port(), "alice", "bob", alice, pacing.clone()).await;
    let bob = Otr::Ours(Box::new(our_engine(seed + 1)));
    let mut bob = Side::new(tap.port(), "bob", "alice", bob, pacing).await;
    go_private(&mut alice, &mut bob).await;
    (server, tap, alice, bob)
}

fn assert_never_disconnected(server: &Ngircd, sides: [&Side; 2]) {
    for side in sides {
        let dropped = side
            .client
            .seen
            .iter()
            .any(|e| matches!(e, IrcEvent::Disconnected { .. }));
        assert!(!dropped, "disconnected: {:#?}", side.client.seen);
    }
    assert!(!server.log().contains("Request too long"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20_kb_private_message_under_default_flood_control() {
    let (server, tap, mut alice, mut bob) = private_pair_under_default_flood_control(8).await;
    let big: String = (0..20 * 1024)
        .map(|i| char::from(b'A' + (i % 23) as u8))
        .collect();
    let before = fragments(&alice);
    let started = Instant::now();
    converse(&mut alice, &mut bob, &big, Duration::from_secs(120)).await;
    let big_fragments = fragments(&alice) - before;
    eprintln!(
        "figure: a 20 KB private message, {big_fragments} fragments, through ngircd's default flood control: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(big_fragments > 40);
    assert_never_disconnected(&server, [&alice, &bob]);
    assert_no_plaintext(&tap, &[big[..40].to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_50_private_messages_under_default_flood_control() {
    let (server, tap, mut alice, mut bob) = private_pair_under_default_flood_control(10).await;
    let burst: Vec<String> = (0..50)
        .map(|i| format!("burst {i:02}: short and private"))
        .collect();
    let n = bob.shown().len();
    let started = Instant::now();
    for text in &burst {
        alice.say(text);
    }
    pump(&mut alice, &mut bob, Duration::from_secs(120), |_, b| {
        b.shown().len() >= n + 50
    })
    .await;
    eprintln!(
        "figure: a burst of 50 private messages through ngircd's default flood control: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let shown: Vec<String> = bob.shown()[n..].iter().map(|(t, _)| t.clone()).collect();
    assert_eq!(shown, burst);
    assert!(bob.shown()[n..].iter().all(|(_, encrypted)| *encrypted));
    assert_never_disconnected(&server, [&alice, &bob]);
    assert_no_plaintext(&tap, &["short and private".to_string()]);
}
