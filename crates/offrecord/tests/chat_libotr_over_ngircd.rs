//! An offrecord chat client (the headless `App` core, driven by typed lines) and a libotr
//! 4.1.1 peer, each behind its own IRC transport connection, through a real ngircd. A
//! logging relay between the clients and the server records every byte, which must never
//! hold a typed text, an SMP secret or an SMP question.
//!
//! 1. The chat user types `/otr init`: private conversation, 20 messages each way (several
//!    over 1,000 bytes, so fragmented both ways), `/otr authq` answered by libotr, an SMP
//!    question from libotr answered with `/otr auth`, then `/otr finish`, which libotr sees.
//! 2. libotr starts (its query message, split into one PRIVMSG per line as irssi-otr does):
//!    the chat window goes private, 10 messages each way, libotr finishes and the chat
//!    window shows the conversation finished.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use libotr_harness::MsgState;
use ngircd_harness::{Ngircd, Options, Tap};
use offrecord::chat::app::{LineKind, OtrStatus, SmpStatus};

mod support;
use support::ngircd_chat::{client_deref, relaxed_irc_config, ChatClient, LibPeer};
use testkit::{contains, fragments};

const CHAT: &str = "alice";
const LIB: &str = "bob";

/// The offrecord chat user: the chat core and its connection.
struct Chat(ChatClient);

client_deref!(Chat, 0);

impl Chat {
    fn new(port: u16, seed: u64) -> Chat {
        Chat(ChatClient::new(
            relaxed_irc_config(port, CHAT),
            seed,
            0x5100_0000,
        ))
    }

    /// Types `line` in the query window for the libotr peer.
    fn type_line(&mut self, line: &str) {
        self.0.type_line(&format!("/query {LIB}"));
        self.0.type_line(line);
    }

    fn status(&self) -> OtrStatus {
        self.app
            .window(LIB)
            .map(|w| w.otr())
            .unwrap_or(OtrStatus::Plaintext)
    }

    fn smp(&self) -> SmpStatus {
        self.app
            .window(LIB)
            .map(|w| w.smp().clone())
            .unwrap_or(SmpStatus::Idle)
    }

    /// Messages from the peer shown in its window, with whether they arrived private.
    fn shown(&self) -> Vec<(String, bool)> {
        let Some(w) = self.app.window(LIB) else {
            return Vec::new();
        };
        w.lines()
            .filter_map(|l| match &l.kind {
                LineKind::Message { from, private, .. } if from == LIB => {
                    Some((l.text.clone(), *private))
                }
                _ => None,
            })
            .collect()
    }

    fn private_from_peer(&self) -> Vec<String> {
        self.shown()
            .into_iter()
            .filter(|(_, private)| *private)
            .map(|(t, _)| t)
            .collect()
    }

    /// The OTR news lines of the peer's window.
    fn otr_lines(&self) -> Vec<String> {
        let Some(w) = self.app.window(LIB) else {
            return Vec::new();
        };
        w.lines()
            .filter(|l| matches!(l.kind, LineKind::Otr))
            .map(|l| l.text.clone())
            .collect()
    }

    fn transcript(&self) -> Vec<String> {
        self.app
            .window(LIB)
            .map(|w| w.transcript())
            .unwrap_or_default()
    }
}

/// Feeds network events to both sides until `done` holds; ticks them once a second.
async fn pump(
    c: &mut Chat,
    l: &mut LibPeer,
    limit: Duration,
    done: impl Fn(&Chat, &LibPeer) -> bool,
) {
    let deadline = tokio::time::Instant::now() + limit;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    while !done(c, l) {
        tokio::select! {
            e = c.events.recv() => c.on_irc(e.expect("the chat transport stopped")),
            e = l.events.recv() => l.on_irc(e.expect("libotr's transport stopped")),
            _ = tick.tick() => {
                c.tick();
                l.tick();
            }
            _ = tokio::time::sleep_until(deadline) => panic!(
                "timed out\nchat window: {:#?}\nstatus window: {:#?}\nlibotr smp: {:?}, shown: {}, secure: {}, finished: {}",
                c.transcript().iter().rev().take(10).collect::<Vec<_>>(),
                c.app.windows()[0].transcript().iter().rev().take(6).collect::<Vec<_>>(),
                l.smp, l.shown.len(), l.secure, l.finished
            ),
        }
    }
}

/// A text with unique markers at both ends: 60 to about 2,000 bytes; every third one is
/// over 1,000 bytes (several fragments).
fn text(i: usize) -> String {
    let len = if i.is_multiple_of(3) {
        1_000 + (i * 97) % 1_000
    } else {
        60 + (i * 131) % 800
    };
    let mut text = format!("typed-{i:03}-start ");
    while text.len() < len {
        text.push_str("nobody between us may read this line; ");
    }
    text.push_str(&format!("typed-{i:03}-end"));
    text
}

/// The chat user types `text`; libotr must show it, decrypted.
async fn chat_says(c: &mut Chat, l: &mut LibPeer, text: &str) {
    let n = l.shown.len();
    c.type_line(text);
    pump(c, l, Duration::from_secs(30), |_, l| l.shown.len() > n).await;
    assert_eq!(l.shown[n], (CHAT.to_string(), text.to_string(), true));
}

/// libotr sends `text`; the chat window must show it as private.
async fn lib_says(c: &mut Chat, l: &mut LibPeer, text: &str) {
    let n = c.private_from_peer().len();
    l.say(CHAT, text);
    pump(c, l, Duration::from_secs(30), |c, _| {
        c.private_from_peer().len() > n
    })
    .await;
    assert_eq!(c.private_from_peer()[n], text);
}

#[tokio::test]
async fn chat_client_and_libotr_through_ngircd_each_starting() {
    let server = Ngircd::start(Options::relaxed()).unwrap();
    let tap = Tap::start(server.port()).unwrap();
    let started = Instant::now();
    let mut chat = Chat::new(tap.port(), 21);
    let mut lib = LibPeer::new(relaxed_irc_config(tap.port(), LIB), CHAT);
    pump(&mut chat, &mut lib, Duration::from_secs(30), |c, l| {
        c.app.is_connected() && l.connected
    })
    .await;
    let mut secrets: Vec<String> = Vec::new();

    // 1. The chat user starts.
    chat.type_line("/otr init");
    pump(&mut chat, &mut lib, Duration::from_secs(60), |c, l| {
        c.status() == OtrStatus::Unverified && l.secure > 0
    })
    .await;
    assert_eq!(lib.lib.msgstate(CHAT), MsgState::Encrypted);
    assert_eq!(
        lib.lib.their_fingerprint(CHAT),
        Some(chat.app.engine().fingerprint().to_string())
    );

    for i in 0..40 {
        let t = text(i);
        if i % 2 == 0 {
            chat_says(&mut chat, &mut lib, &t).await;
        } else {
            lib_says(&mut chat, &mut lib, &t).await;
        }
        secrets.push(format!("typed-{i:03}-start"));
        secrets.push(format!("typed-{i:03}-end"));
    }
    assert_eq!(lib.shown.len(), 20);
    assert_eq!(chat.private_from_peer().len(), 20);
    let (chat_fragments, lib_fragments) = (fragments(&chat.sent), fragments(&lib.wire));
    assert!(
        chat_fragments >= 14 && lib_fragments >= 14,
        "long texts are fragmented both ways: {chat_fragments} and {lib_fragments} fragments"
    );

    // The chat user asks a question; libotr answers it.
    let question = "Which lighthouse did we climb?";
    let answer = "Pharos-of-Kerdonis";
    chat.type_line(&format!("/otr authq \"{question}\" {answer}"));
    assert_eq!(chat.smp(), SmpStatus::Asked);
    pump(&mut chat, &mut lib, Duration::from_secs(60), |_, l| {
        l.smp_count("ASK_FOR_ANSWER") > 0
    })
    .await;
    let asked = lib.smp.iter().find(|(n, _)| n == "ASK_FOR_ANSWER").unwrap();
    assert_eq!(asked.1.as_deref(), Some(question));
    let events = lib.lib.smp_respond(CHAT, answer.as_bytes());
    lib.absorb(events);
    pump(&mut chat, &mut lib, Duration::from_secs(60), |c, l| {
        c.status() == OtrStatus::Private && l.smp_count("SUCCESS") > 0
    })
    .await;
    assert_eq!(chat.smp(), SmpStatus::Idle);
    assert!(chat
        .otr_lines()
        .iter()
        .any(|l| l.contains("Authentication with bob succeeded")));

    // libotr asks its own question; the chat user answers with /otr auth.
    let lib_question = "Name of the ferry back?";
    let lib_answer = "Enez-Eussa-III";
    let events = lib
        .lib
        .smp_start(CHAT, Some(lib_question), lib_answer.as_bytes());
    lib.absorb(events);
    pump(&mut chat, &mut lib, Duration::from_secs(60), |c, _| {
        matches!(c.smp(), SmpStatus::Requested(_))
    })
    .await;
    assert_eq!(chat.smp(), SmpStatus::Requested(Some(lib_question.into())));
    assert!(chat
        .otr_lines()
        .iter()
        .any(|l| l.contains(&format!("bob wants to verify you and asks: {lib_question}"))));
    chat.type_line(&format!("/otr auth {lib_answer}"));
    pump(&mut chat, &mut lib, Duration::from_secs(60), |c, l| {
        l.smp_count("SUCCESS") > 1 && c.smp() == SmpStatus::Idle
    })
    .await;
    assert_eq!(lib.smp_count("FAILURE"), 0);
    assert!(chat
        .otr_lines()
        .iter()
        .any(|l| l.contains("You answered bob's question correctly")));
    assert_eq!(chat.status(), OtrStatus::Private);
    secrets.extend([question, answer, lib_question, lib_answer].map(String::from));

    // The chat user finishes; libotr sees it.
    chat.type_line("/otr finish");
    pump(&mut chat, &mut lib, Duration::from_secs(30), |_, l| {
        l.finished > 0
    })
    .await;
    assert_eq!(lib.lib.msgstate(CHAT), MsgState::Finished);
    assert_eq!(chat.status(), OtrStatus::Plaintext);

    // 2. libotr starts: its query message goes out as one PRIVMSG per line.
    let (secure, private_before) = (lib.secure, chat.private_from_peer().len());
    lib.start(CHAT);
    assert!(lib.wire.iter().any(|w| w.starts_with("?OTRv")));
    pump(&mut chat, &mut lib, Duration::from_secs(60), |c, l| {
        c.status().is_private() && l.secure > secure
    })
    .await;
    // The fingerprint verified by SMP in part 1 is still known.
    assert_eq!(chat.status(), OtrStatus::Private);
    assert_eq!(lib.lib.msgstate(CHAT), MsgState::Encrypted);
    for i in 100..120 {
        let t = text(i);
        if i % 2 == 0 {
            lib_says(&mut chat, &mut lib, &t).await;
        } else {
            chat_says(&mut chat, &mut lib, &t).await;
        }
        secrets.push(format!("typed-{i:03}-start"));
        secrets.push(format!("typed-{i:03}-end"));
    }
    assert_eq!(chat.private_from_peer().len(), private_before + 10);
    assert_eq!(lib.shown.len(), 30);

    // libotr finishes; the chat window shows the conversation finished.
    lib.finish(CHAT);
    pump(&mut chat, &mut lib, Duration::from_secs(30), |c, _| {
        c.status() == OtrStatus::Finished
    })
    .await;
    assert!(chat
        .otr_lines()
        .iter()
        .any(|l| l.contains("bob has ended the private conversation")));
    assert_eq!(lib.lib.msgstate(CHAT), MsgState::Plaintext);

    // libotr only ever showed what the chat user typed, decrypted; the chat window showed
    // every libotr message as private.
    assert!(lib.shown.iter().all(|(_, _, encrypted)| *encrypted));
    let shown = chat.shown();
    for i in (1..40).step_by(2).chain((100..120).step_by(2)) {
        assert!(shown.contains(&(text(i), true)), "message {i} not shown");
    }

    // Nothing typed, no secret and no question crossed the network in the clear.
    let (up, down) = (tap.to_server(), tap.to_client());
    for secret in &secrets {
        assert!(!contains(&up, secret), "{secret:?} was sent to the server");
        assert!(!contains(&down, secret), "{secret:?} was relayed");
    }
    for line in down.split(|&b| b == b'\n') {
        assert!(
            line.len() < 512,
            "a relayed line of {} bytes",
            line.len() + 1
        );
    }
    // The libotr query went through the server, line by line.
    assert!(contains(&down, "PRIVMSG alice :?OTRv"));
    assert!(contains(&down, "PRIVMSG bob :?OTR|"));
    eprintln!(
        "figure: chat client and libotr, each starting, 60 messages ({} + {} fragments), SMP both ways, finish both ways through ngircd: {:.1} s",
        fragments(&chat.sent),
        fragments(&lib.wire),
        started.elapsed().as_secs_f64()
    );
}
