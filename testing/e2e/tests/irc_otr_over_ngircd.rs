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
use libotr_harness::{LibOtr, POLICY_DEFAULT};
use ngircd_harness::{Ngircd, Options, Tap};
use otr::{Engine, Policy};
use support::Client;
use testkit::{contains, engine, fragments, irc_lines, key, shown, AsView, Party, SmpStep, View};

/// What a side's OTR implementation told its user, counted by [`Side::count`].
#[derive(Debug, Clone, Copy, PartialEq)]
enum Told {
    Private,
    Finished,
    Smp(SmpStep),
}

impl Told {
    fn is(self, view: View<'_>) -> bool {
        match (self, view) {
            (Told::Private, View::Private { .. }) | (Told::Finished, View::Finished { .. }) => true,
            (Told::Smp(want), View::Smp { step, .. }) => step == want,
            _ => false,
        }
    }
}

/// One participant: an OTR implementation behind an IRC connection.
struct Side<P: Party> {
    peer: String,
    client: Client,
    otr: P,
    /// What the OTR implementation reported, wire lines aside.
    told: Vec<P::Event>,
    /// Every wire text handed to the transport, in order.
    wire: Vec<String>,
}

fn our_engine(seed: u64) -> Engine {
    let tag = 0x4000_0000 + u32::try_from(seed).unwrap();
    engine(key(seed), tag, Policy::OPPORTUNISTIC, seed + 1000)
}

impl<P: Party> Side<P> {
    async fn new(port: u16, nick: &str, peer: &str, otr: P, pacing: Pacing) -> Self {
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
        self.otr.fragment_to(&self.peer, size);
    }

    fn act(&mut self, f: impl FnOnce(&mut P, &str) -> Vec<P::Event>) {
        let peer = self.peer.clone();
        let events = f(&mut self.otr, &peer);
        self.absorb(events);
    }

    fn start(&mut self) {
        self.act(|p, peer| p.start(peer));
    }

    fn say(&mut self, text: &str) {
        self.act(|p, peer| p.send(peer, text));
    }

    fn finish(&mut self) {
        self.act(|p, peer| p.finish(peer));
    }

    fn smp_start(&mut self, question: &str, secret: &[u8]) {
        self.act(|p, peer| p.smp_start(peer, Some(question), secret));
    }

    fn smp_respond(&mut self, secret: &[u8]) {
        self.act(|p, peer| p.smp_respond(peer, secret));
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

    fn absorb(&mut self, events: Vec<P::Event>) {
        for event in events {
            let lines: Option<Vec<String>> = match event.view() {
                View::Wire { line, .. } => Some(irc_lines(line).map(String::from).collect()),
                _ => None,
            };
            match lines {
                Some(lines) => lines.into_iter().for_each(|line| self.transmit(line)),
                None => self.told.push(event),
            }
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
                self.act(|p, peer| p.receive(peer, &text));
            }
        }
    }

    fn shown(&self) -> Vec<(String, bool)> {
        shown(&self.told)
    }

    fn count(&self, what: Told) -> usize {
        self.told.iter().filter(|e| what.is(e.view())).count()
    }
}

/// Delivers network events to both sides until `done` holds (or fails after `limit`).
async fn pump<A: Party, B: Party>(
    a: &mut Side<A>,
    b: &mut Side<B>,
    limit: Duration,
    done: impl Fn(&Side<A>, &Side<B>) -> bool,
) {
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

async fn go_private<A: Party, B: Party>(starter: &mut Side<A>, other: &mut Side<B>) {
    let (s0, o0) = (starter.count(Told::Private), other.count(Told::Private));
    starter.start();
    pump(starter, other, Duration::from_secs(60), |s, o| {
        s.count(Told::Private) > s0 && o.count(Told::Private) > o0
    })
    .await;
}

/// `from` says `text`; waits until `to` shows it, and checks it arrived encrypted.
async fn converse<A: Party, B: Party>(
    from: &mut Side<A>,
    to: &mut Side<B>,
    text: &str,
    limit: Duration,
) {
    let n = to.shown().len();
    from.say(text);
    pump(from, to, limit, |_, t| t.shown().len() > n).await;
    assert_eq!(to.shown()[n], (text.to_string(), true));
}

/// SMP with a question, `asker` asking; both must report success.
async fn smp<A: Party, B: Party>(
    asker: &mut Side<A>,
    answerer: &mut Side<B>,
    question: &str,
    secret: &str,
) {
    let success = Told::Smp(SmpStep::Success);
    let (a0, b0) = (asker.count(success), answerer.count(success));
    let asked = Told::Smp(SmpStep::Asked);
    let q0 = answerer.count(asked);
    asker.smp_start(question, secret.as_bytes());
    pump(asker, answerer, Duration::from_secs(60), |_, b| {
        b.count(asked) > q0
    })
    .await;
    answerer.smp_respond(secret.as_bytes());
    pump(asker, answerer, Duration::from_secs(60), |a, b| {
        a.count(success) > a0 && b.count(success) > b0
    })
    .await;
}

async fn end_private<A: Party, B: Party>(finisher: &mut Side<A>, other: &mut Side<B>) {
    let f0 = other.count(Told::Finished);
    finisher.finish();
    pump(finisher, other, Duration::from_secs(30), |_, o| {
        o.count(Told::Finished) > f0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_offrecord_engines_hold_a_private_conversation_through_ngircd() {
    // 200 long messages are about 500 lines each way: ngircd's default flood control would
    // take minutes, so this server gives its users relaxed flood control (mode F) and the
    // clients do not pace. Pacing under default flood control is tested in ngircd_transport.
    let server = Ngircd::start(Options::relaxed()).unwrap();
    let tap = Tap::start(server.port()).unwrap();
    let started = Instant::now();
    let mut alice = Side::new(tap.port(), "alice", "bob", our_engine(1), Pacing::none()).await;
    let mut bob = Side::new(tap.port(), "bob", "alice", our_engine(2), Pacing::none()).await;
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
        fragments(&alice.wire) >= 200 && fragments(&bob.wire) >= 200,
        "every message fragmented"
    );
    assert_no_plaintext(&tap, &secrets);
    assert!(contains(&tap.to_client(), "PRIVMSG bob :?OTR|"));
    eprintln!(
        "figure: AKE, 200 fragmented messages ({} + {} fragments), SMP and finish through ngircd: {:.1} s",
        fragments(&alice.wire),
        fragments(&bob.wire),
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offrecord_and_libotr_through_ngircd_each_starting() {
    let server = Ngircd::start(Options::relaxed()).unwrap();
    let tap = Tap::start(server.port()).unwrap();
    let lib = LibOtr::with_cached_key("bob", POLICY_DEFAULT).unwrap();
    let mut alice = Side::new(tap.port(), "alice", "bob", our_engine(3), Pacing::none()).await;
    let mut bob = Side::new(tap.port(), "bob", "alice", lib, Pacing::none()).await;
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
        fragments(&alice.wire) >= 40 && fragments(&bob.wire) >= 40,
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
    let mut alice = Side::new(tap.port(), "alice", "bob", our_engine(5), pacing.clone()).await;
    let mut bob = Side::new(tap.port(), "bob", "alice", our_engine(6), pacing).await;
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
    let disconnected = |s: &Side<Engine>| {
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
    let undelivered = |s: &Side<Engine>, wire: &str| {
        s.client.seen.iter().any(
            |e| matches!(e, IrcEvent::Undelivered { text, written: false, .. } if text == wire),
        )
    };
    pump(&mut alice, &mut bob, Duration::from_secs(30), |a, _| {
        undelivered(a, &down_wire)
    })
    .await;

    server.restart().unwrap();
    let connected_again = |s: &Side<Engine>| {
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
async fn private_pair_under_default_flood_control(
    seed: u64,
) -> (Ngircd, Tap, Side<Engine>, Side<Engine>) {
    let server = Ngircd::start(Options::default()).unwrap();
    let tap = Tap::start(server.port()).unwrap();
    let pacing = Pacing::ngircd_default();
    let alice = our_engine(seed);
    let mut alice = Side::new(tap.port(), "alice", "bob", alice, pacing.clone()).await;
    let bob = our_engine(seed + 1);
    let mut bob = Side::new(tap.port(), "bob", "alice", bob, pacing).await;
    go_private(&mut alice, &mut bob).await;
    (server, tap, alice, bob)
}

fn assert_never_disconnected(server: &Ngircd, sides: [&Side<Engine>; 2]) {
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
    let before = fragments(&alice.wire);
    let started = Instant::now();
    converse(&mut alice, &mut bob, &big, Duration::from_secs(120)).await;
    let big_fragments = fragments(&alice.wire) - before;
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
