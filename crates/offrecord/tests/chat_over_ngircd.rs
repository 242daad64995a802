//! Two offrecord chat clients (the headless `App` core, driven as a user types) each behind
//! its own IRC transport, through a real ngircd. A logging relay between the clients and
//! the server records every byte, which must never hold what the users typed.
//!
//! `/otr init`, 200 long messages (fragmented), `/otr authq` and `/otr auth`, then the
//! server is killed and restarted: what is typed meanwhile is reported not sent, both
//! clients reconnect by themselves and the private conversation goes on; then `/otr finish`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use irc::IrcEvent;
use ngircd_harness::{Ngircd, Options, Tap};
use offrecord::chat::app::{LineKind, OtrStatus, SmpStatus};

mod support;
use support::ngircd_chat::{client_deref, relaxed_irc_config, ChatClient};
use testkit::contains;

/// One user: the chat core and its connection.
struct User {
    client: ChatClient,
    /// Every network event, for the checks.
    seen: Vec<IrcEvent>,
}

client_deref!(User, client);

impl User {
    fn new(port: u16, nick: &str, seed: u64) -> User {
        // The server gives every user relaxed flood control (200 long messages would take
        // minutes otherwise).
        User {
            client: ChatClient::new(relaxed_irc_config(port, nick), seed, 0x5000_0000),
            seen: Vec::new(),
        }
    }

    fn on_irc(&mut self, event: IrcEvent) {
        self.seen.push(event.clone());
        self.client.on_irc(event);
    }

    fn status(&self, peer: &str) -> OtrStatus {
        self.app
            .window(peer)
            .map(|w| w.otr())
            .unwrap_or(OtrStatus::Plaintext)
    }

    /// Private messages from `peer` shown in its window.
    fn private_from(&self, peer: &str) -> Vec<String> {
        let Some(w) = self.app.window(peer) else {
            return Vec::new();
        };
        w.lines()
            .filter(
                |l| matches!(&l.kind, LineKind::Message { from, private: true, .. } if from == peer),
            )
            .map(|l| l.text.clone())
            .collect()
    }

    fn status_window(&self) -> Vec<String> {
        self.app.windows()[0].transcript()
    }

    fn connected_again(&self) -> bool {
        let last = self.seen.iter().rev().find(|e| {
            matches!(
                e,
                IrcEvent::Connected { .. } | IrcEvent::Disconnected { .. }
            )
        });
        matches!(last, Some(IrcEvent::Connected { .. }))
    }
}

/// Feeds network events to both users until `done` holds; ticks them once a second.
async fn pump(a: &mut User, b: &mut User, limit: Duration, done: impl Fn(&User, &User) -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    while !done(a, b) {
        tokio::select! {
            e = a.events.recv() => a.on_irc(e.expect("a's transport stopped")),
            e = b.events.recv() => b.on_irc(e.expect("b's transport stopped")),
            _ = tick.tick() => {
                a.tick();
                b.tick();
            }
            _ = tokio::time::sleep_until(deadline) => panic!(
                "timed out\na: {:#?}\nb: {:#?}",
                a.status_window().iter().rev().take(8).collect::<Vec<_>>(),
                b.status_window().iter().rev().take(8).collect::<Vec<_>>()
            ),
        }
    }
}

fn long_text(i: usize) -> String {
    let mut text = format!("chat-secret-{i:03} ");
    while text.len() < 300 + (i * 53) % 700 {
        text.push_str("a private thought that must never be seen by the server; ");
    }
    text.push_str(&format!("fin-{i:03}"));
    text
}

/// `from` types `text` in its window for `to`; waits until `to` shows it privately.
async fn say(from: &mut User, to: &mut User, text: &str) {
    let (from_nick, to_nick) = (from.handle.nick(), to.handle.nick());
    let n = to.private_from(&from_nick).len();
    from.type_line(&format!("/query {to_nick}"));
    from.type_line(text);
    pump(from, to, Duration::from_secs(30), |f, t| {
        t.private_from(&f.handle.nick()).len() > n
    })
    .await;
    assert_eq!(to.private_from(&from_nick)[n], text);
}

#[tokio::test]
async fn two_chat_clients_talk_privately_through_ngircd_and_survive_a_restart() {
    let mut server = Ngircd::start(Options::relaxed()).unwrap();
    let tap = Tap::start(server.port()).unwrap();
    let mut alice = User::new(tap.port(), "alice", 11);
    let mut bob = User::new(tap.port(), "bob", 12);
    pump(&mut alice, &mut bob, Duration::from_secs(30), |a, b| {
        a.app.is_connected() && b.app.is_connected()
    })
    .await;

    alice.type_line("/query bob");
    alice.type_line("/otr init");
    pump(&mut alice, &mut bob, Duration::from_secs(30), |a, b| {
        a.status("bob") == OtrStatus::Unverified && b.status("alice") == OtrStatus::Unverified
    })
    .await;

    let mut typed = Vec::new();
    for i in 0..200 {
        let text = long_text(i);
        if i % 2 == 0 {
            say(&mut alice, &mut bob, &text).await;
        } else {
            say(&mut bob, &mut alice, &text).await;
        }
        typed.push(text);
    }
    let fragments = |u: &User| u.sent.iter().filter(|t| t.starts_with("?OTR|")).count();
    assert!(
        fragments(&alice) >= 200 && fragments(&bob) >= 200,
        "long messages are fragmented"
    );

    // Verification with a question, typed as a user would.
    alice.type_line("/query bob");
    alice.type_line("/otr authq \"Where did we first meet?\" lighthouse");
    pump(&mut alice, &mut bob, Duration::from_secs(60), |_, b| {
        matches!(
            b.app.window("alice").map(|w| w.smp().clone()),
            Some(SmpStatus::Requested(_))
        )
    })
    .await;
    bob.type_line("/query alice");
    bob.type_line("/otr auth lighthouse");
    pump(&mut alice, &mut bob, Duration::from_secs(60), |a, _| {
        a.status("bob") == OtrStatus::Private
    })
    .await;

    // The server dies and comes back: both clients reconnect by themselves and say so.
    server.kill();
    pump(&mut alice, &mut bob, Duration::from_secs(30), |a, b| {
        !a.app.is_connected() && !b.app.is_connected()
    })
    .await;
    assert!(alice
        .status_window()
        .iter()
        .any(|l| l.contains("Disconnected")));
    // Typed while the server is down: the user is told it was not sent.
    alice.type_line("/query bob");
    alice.type_line("typed while the server was down");
    pump(&mut alice, &mut bob, Duration::from_secs(30), |a, _| {
        a.app.window("bob").is_some_and(|w| {
            w.transcript()
                .iter()
                .any(|l| l.contains("to bob was not sent: the connection dropped"))
        })
    })
    .await;
    server.restart().unwrap();
    pump(&mut alice, &mut bob, Duration::from_secs(30), |a, b| {
        a.connected_again() && b.connected_again() && a.app.is_connected() && b.app.is_connected()
    })
    .await;
    say(&mut alice, &mut bob, "after the restart, still private").await;
    say(&mut bob, &mut alice, "yes, same session").await;
    assert_eq!(alice.status("bob"), OtrStatus::Private);
    assert!(!bob
        .private_from("alice")
        .iter()
        .any(|t| t.contains("server was down")));

    alice.type_line("/query bob");
    alice.type_line("/otr finish");
    pump(&mut alice, &mut bob, Duration::from_secs(30), |_, b| {
        b.status("alice") == OtrStatus::Finished
    })
    .await;

    // Nothing the users typed crossed the network in the clear, either way.
    let (up, down) = (tap.to_server(), tap.to_client());
    for text in typed.iter().map(|t| &t[..18]).chain([
        "lighthouse",
        "Where did we first meet?",
        "same session",
        "server was down",
    ]) {
        assert!(
            !contains(&up, text) && !contains(&down, text),
            "{text:?} crossed in the clear"
        );
    }
    assert!(tap.connections() >= 4);
    // Fragments fill the relayed line: 511 bytes with CR LF (a fragment is one byte under
    // the engine's maximum, as libotr's are), never more than 512.
    let lines: Vec<&[u8]> = down.split(|&b| b == b'\n').collect();
    assert!(lines.iter().all(|l| l.len() < 512));
    let full = lines
        .iter()
        .filter(|l| l.len() + 1 == 511 && contains(l, "?OTR|"))
        .count();
    let mut sizes: Vec<usize> = lines
        .iter()
        .filter(|l| contains(l, "?OTR|"))
        .map(|l| l.len() + 1)
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    assert!(
        full >= 200,
        "{full} full-size fragment lines; sizes {:?}",
        &sizes[sizes.len().saturating_sub(10)..]
    );
}
