//! The chat client's core, two of them on an in-memory IRC network: OTR started with
//! `/otr init`, messages, held messages, require-encryption, channel queries, SMP,
//! finishing, trust and nick changes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod chat_common;

use chat_common::{Net, Who};
use irc::{IrcCommand, IrcEvent};
use offrecord::chat::app::{OtrStatus, SmpStatus, WindowKind};
use otr::Policy;

fn has(lines: &[String], needle: &str) -> bool {
    lines.iter().any(|l| l.contains(needle))
}

#[test]
fn otr_init_starts_a_private_conversation_and_messages_are_encrypted() {
    let mut net = Net::new(Policy::MANUAL);
    net.connect();
    let start = net.wire.len();
    net.type_line(Who::Alice, "hello Bob, privately");
    net.type_line(Who::Bob, "hi Alice");
    let after: Vec<_> = net.wire[start..].to_vec();
    assert_eq!(after.len(), 2);
    for sent in &after {
        assert!(sent.text.starts_with("?OTR:AAM"), "{sent:?}");
    }
    net.never_in_clear("privately");
    net.never_in_clear("hi Alice");
    let bob = net.transcript(Who::Bob, "alice");
    assert!(has(&bob, "<alice> hello Bob, privately"), "{bob:#?}");
    assert!(
        has(&bob, "Private conversation with alice started."),
        "{bob:#?}"
    );
    assert!(has(&bob, "is NOT verified"), "{bob:#?}");
    let alice = net.transcript(Who::Alice, "bob");
    assert!(has(&alice, "<bob> hi Alice"), "{alice:#?}");
    assert!(
        has(&alice, "Starting a private conversation with bob..."),
        "{alice:#?}"
    );
    assert_eq!(net.bob.window("alice").unwrap().kind(), WindowKind::Query);
}

#[test]
fn a_message_typed_during_the_key_exchange_is_sent_once_private() {
    for policy in [Policy::MANUAL, Policy::OPPORTUNISTIC, Policy::ALWAYS] {
        let mut net = Net::new(policy);
        net.type_line(Who::Alice, "/query bob");
        let query = net.type_only(Who::Alice, "/otr init");
        assert_eq!(net.status(Who::Alice, "bob"), OtrStatus::Starting);
        // Typed before anything reached Bob: held, not sent.
        let early = net.type_only(Who::Alice, "typed while the exchange runs");
        assert!(early.is_empty(), "{early:?}");
        assert_eq!(net.alice.held(net.alice.window("bob").unwrap()), 1);
        let lines = net.transcript(Who::Alice, "bob");
        assert!(
            has(&lines, "<alice> [held] typed while the exchange runs"),
            "{lines:#?}"
        );
        assert!(has(
            &lines,
            "Message held until the private conversation starts."
        ));
        net.deliver(Who::Alice, query);
        assert_eq!(net.status(Who::Alice, "bob"), OtrStatus::Unverified);
        assert_eq!(net.alice.held(net.alice.window("bob").unwrap()), 0);
        net.never_in_clear("typed while");
        let bob = net.transcript(Who::Bob, "alice");
        assert!(
            has(&bob, "<alice> typed while the exchange runs"),
            "{policy:?} {bob:#?}"
        );
        let bob_line = net
            .bob
            .window("alice")
            .unwrap()
            .lines()
            .find(|l| l.text == "typed while the exchange runs")
            .unwrap()
            .clone();
        assert!(matches!(
            bob_line.kind,
            offrecord::chat::app::LineKind::Message { private: true, .. }
        ));
        let lines = net.transcript(Who::Alice, "bob");
        assert!(
            has(&lines, "1 held message(s) sent privately."),
            "{lines:#?}"
        );
    }
}

#[test]
fn the_peer_starting_the_exchange_also_holds_what_we_type() {
    let mut net = Net::new(Policy::MANUAL);
    net.type_line(Who::Alice, "/query bob");
    let query = net.type_only(Who::Alice, "/otr init");
    // Bob gets the query and answers with a D-H Commit, which we keep from Alice for now.
    let IrcCommand::Privmsg { text, .. } = &query[0] else {
        panic!()
    };
    let commit = net.bob.on_irc(
        IrcEvent::Message {
            from: "alice".into(),
            target: "bob".into(),
            text: text.clone(),
            notice: false,
        },
        net.now,
    );
    assert_eq!(net.status(Who::Bob, "alice"), OtrStatus::Starting);
    net.type_line(Who::Bob, "/query alice");
    let early = net.type_only(Who::Bob, "from Bob, early");
    assert!(early.is_empty(), "{early:?}");
    net.deliver(Who::Bob, commit);
    net.never_in_clear("from Bob");
    assert!(has(
        &net.transcript(Who::Alice, "bob"),
        "<bob> from Bob, early"
    ));
}

#[test]
fn require_encryption_never_sends_plaintext() {
    // Alice requires encryption; Bob is opportunistic.
    let mut net = Net::with(Policy::ALWAYS, Policy::OPPORTUNISTIC);
    net.type_line(Who::Alice, "/query bob");
    net.type_line(Who::Alice, "first secret words");
    net.type_line(Who::Alice, "second secret words");
    assert_eq!(net.status(Who::Alice, "bob"), OtrStatus::Unverified);
    for sent in net.wire.iter().filter(|s| s.from == "alice") {
        assert!(
            sent.text.starts_with("?OTR"),
            "plaintext from alice: {sent:?}"
        );
    }
    net.never_in_clear("secret words");
    let bob = net.transcript(Who::Bob, "alice");
    assert!(has(&bob, "<alice> first secret words"), "{bob:#?}");
    assert!(has(&bob, "<alice> second secret words"), "{bob:#?}");
    let alice = net.transcript(Who::Alice, "bob");
    assert!(has(&alice, "[held] first secret words"), "{alice:#?}");
}

#[test]
fn require_encryption_with_a_peer_who_never_answers_reports_not_sent() {
    let mut net = Net::with(Policy::ALWAYS, Policy::OPPORTUNISTIC);
    net.bob_listens = false;
    net.tick(1000.0);
    net.type_line(Who::Alice, "/query bob");
    net.type_line(Who::Alice, "nobody must read this");
    net.type_line(Who::Alice, "nor this");
    net.tick(1030.0);
    net.tick(1062.0);
    net.never_in_clear("read this");
    net.never_in_clear("nor this");
    for sent in &net.wire {
        assert!(sent.text.starts_with("?OTR"), "{sent:?}");
    }
    let alice = net.transcript(Who::Alice, "bob");
    assert!(has(&alice, "did not start"), "{alice:#?}");
    for text in ["nobody must read this", "nor this"] {
        let line = format!("Not sent, because no private conversation could be set up: {text}");
        assert!(has(&alice, &line), "{alice:#?}");
    }
    assert_eq!(net.alice.held(net.alice.window("bob").unwrap()), 0);
    assert_eq!(net.status(Who::Alice, "bob"), OtrStatus::Plaintext);
    // Still nothing in the clear afterwards: the next message is held again.
    net.type_line(Who::Alice, "third try");
    net.never_in_clear("third try");
}

#[test]
fn what_the_engine_refuses_is_said_in_the_window() {
    let mut net = Net::new(Policy::MANUAL);
    net.type_line(Who::Alice, "/query bob");
    net.type_line(Who::Alice, "/otr abort");
    let alice = net.transcript(Who::Alice, "bob");
    assert!(
        has(&alice, "There is no private conversation with bob."),
        "{alice:#?}"
    );
    // Started with OTR disabled (`--policy never`).
    let mut net = Net::new(Policy::NEVER);
    net.type_line(Who::Alice, "/query bob");
    net.type_line(Who::Alice, "/otr init");
    let alice = net.transcript(Who::Alice, "bob");
    assert!(
        has(&alice, "OTR is disabled by the policy for this peer."),
        "{alice:#?}"
    );
    assert_eq!(net.status(Who::Alice, "bob"), OtrStatus::Plaintext);
    net.type_line(Who::Alice, "/group host");
    assert!(has(
        &net.transcript(Who::Alice, "bob"),
        "rooms travel over OTR"
    ));
}

#[test]
fn switching_to_always_mid_conversation_stops_plaintext() {
    let mut net = Net::new(Policy::MANUAL);
    net.type_line(Who::Alice, "/query bob");
    net.type_line(Who::Alice, "plain is fine now");
    assert!(net.wire.iter().any(|s| s.text == "plain is fine now"));
    net.type_line(Who::Alice, "/otr policy always");
    assert_eq!(net.alice.policy_name(), "always");
    net.type_line(Who::Alice, "not in the clear");
    net.never_in_clear("not in the clear");
    assert!(has(
        &net.transcript(Who::Bob, "alice"),
        "<alice> not in the clear"
    ));
}

#[test]
fn a_query_string_in_a_channel_starts_nothing() {
    let mut net = Net::new(Policy::OPPORTUNISTIC);
    net.type_line(Who::Alice, "/join #room");
    net.type_line(Who::Bob, "/join #room");
    let before = net.wire.len();
    let out = net.bob.on_irc(
        IrcEvent::Message {
            from: "alice".into(),
            target: "#room".into(),
            text: "?OTRv23?".into(),
            notice: false,
        },
        net.now,
    );
    assert!(out.is_empty(), "a channel query made Bob send {out:?}");
    assert!(net.bob.window("alice").is_none());
    let room = net.transcript(Who::Bob, "#room");
    assert!(has(&room, "<alice> ?OTRv23?"), "{room:#?}");
    assert!(
        has(&room, "An OTR query in a channel was ignored"),
        "{room:#?}"
    );
    // A whitespace-tagged channel message starts nothing either.
    let tagged = format!("hello all{}", " \t  \t\t\t\t \t \t \t    \t\t  \t ");
    let out = net.bob.on_irc(
        IrcEvent::Message {
            from: "alice".into(),
            target: "#room".into(),
            text: tagged,
            notice: false,
        },
        net.now,
    );
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(net.wire.len(), before);
    // What Alice types in the channel goes out as it is (channels are public).
    net.type_line(Who::Alice, "public words");
    let last = net.wire.last().unwrap();
    assert_eq!(
        (last.target.as_str(), last.text.as_str()),
        ("#room", "public words")
    );
    assert!(has(
        &net.transcript(Who::Bob, "#room"),
        "<alice> public words"
    ));
}

#[test]
fn otr_commands_in_a_channel_are_refused() {
    let mut net = Net::new(Policy::MANUAL);
    net.type_line(Who::Alice, "/join #room");
    let out = net.type_only(Who::Alice, "/otr init");
    assert!(out.is_empty());
    assert!(has(
        &net.transcript(Who::Alice, "#room"),
        "Channels are never OTR"
    ));
}

#[test]
fn smp_with_a_shared_secret_succeeds_and_saves_trust() {
    let mut net = Net::new(Policy::MANUAL);
    net.connect();
    assert!(
        net.alice.take_trust_changes().is_some(),
        "the new fingerprint is saved"
    );
    assert!(net.alice.take_trust_changes().is_none());
    net.type_line(Who::Alice, "/otr auth blue whale");
    let bob = net.transcript(Who::Bob, "alice");
    assert!(has(&bob, "alice wants to verify you"), "{bob:#?}");
    assert_eq!(
        net.bob.window("alice").unwrap().smp(),
        &SmpStatus::Requested(None)
    );
    net.type_line(Who::Bob, "/otr auth blue whale");
    assert_eq!(net.status(Who::Alice, "bob"), OtrStatus::Private);
    assert_eq!(net.status(Who::Bob, "alice"), OtrStatus::Private);
    assert!(has(
        &net.transcript(Who::Alice, "bob"),
        "Authentication with bob succeeded"
    ));
    assert!(has(
        &net.transcript(Who::Bob, "alice"),
        "Authentication with alice succeeded"
    ));
    let known = net.alice.take_trust_changes().expect("trust to save");
    let fp = net.bob.engine().fingerprint();
    assert!(known.is_trusted("bob", &fp));
    // The secret is never kept in the input history.
    assert!(
        net.alice.history().iter().all(|l| !l.contains("whale")),
        "{:?}",
        net.alice.history()
    );
    net.never_in_clear("whale");
}

#[test]
fn smp_with_different_secrets_fails() {
    let mut net = Net::new(Policy::MANUAL);
    net.connect();
    net.type_line(Who::Alice, "/otr auth blue whale");
    net.type_line(Who::Bob, "/otr auth red herring");
    assert_eq!(net.status(Who::Alice, "bob"), OtrStatus::Unverified);
    assert_eq!(net.status(Who::Bob, "alice"), OtrStatus::Unverified);
    assert!(has(
        &net.transcript(Who::Alice, "bob"),
        "Authentication with bob FAILED"
    ));
    assert!(has(
        &net.transcript(Who::Bob, "alice"),
        "Authentication with alice FAILED"
    ));
}

#[test]
fn smp_with_a_question() {
    for (answer, ok) in [("Rex", true), ("Fido", false)] {
        let mut net = Net::new(Policy::MANUAL);
        net.connect();
        net.type_line(Who::Alice, "/otr authq \"Name of my first dog?\" Rex");
        let bob = net.transcript(Who::Bob, "alice");
        assert!(
            has(
                &bob,
                "alice wants to verify you and asks: Name of my first dog?"
            ),
            "{bob:#?}"
        );
        assert_eq!(
            net.bob.window("alice").unwrap().smp(),
            &SmpStatus::Requested(Some("Name of my first dog?".into()))
        );
        net.type_line(Who::Bob, &format!("/otr auth {answer}"));
        let expected = if ok {
            OtrStatus::Private
        } else {
            OtrStatus::Unverified
        };
        assert_eq!(net.status(Who::Alice, "bob"), expected);
        // As in libotr, answering a question verifies Bob to Alice, not Alice to Bob.
        assert_eq!(net.status(Who::Bob, "alice"), OtrStatus::Unverified);
        let bob = net.transcript(Who::Bob, "alice");
        if ok {
            assert!(has(&bob, "alice has verified you"), "{bob:#?}");
        } else {
            assert!(has(&bob, "Authentication with alice FAILED"), "{bob:#?}");
        }
    }
    // Without quotes the question is one word.
    let mut net = Net::new(Policy::MANUAL);
    net.connect();
    net.type_line(Who::Alice, "/otr authq colour? blue");
    assert!(has(&net.transcript(Who::Bob, "alice"), "asks: colour?"));
    net.type_line(Who::Bob, "/otr auth blue");
    assert_eq!(net.status(Who::Alice, "bob"), OtrStatus::Private);
}

#[test]
fn finish_ends_the_conversation_on_both_sides() {
    let mut net = Net::new(Policy::MANUAL);
    net.connect();
    net.type_line(Who::Alice, "/otr finish");
    assert_eq!(net.status(Who::Alice, "bob"), OtrStatus::Plaintext);
    assert_eq!(net.status(Who::Bob, "alice"), OtrStatus::Finished);
    assert!(has(
        &net.transcript(Who::Bob, "alice"),
        "alice has ended the private conversation"
    ));
    // Bob types: nothing is sent while finished.
    let before = net.wire.len();
    net.type_line(Who::Bob, "are you there?");
    assert_eq!(net.wire.len(), before);
    let bob = net.transcript(Who::Bob, "alice");
    assert!(has(&bob, "<bob> [not sent] are you there?"), "{bob:#?}");
    net.type_line(Who::Bob, "/otr finish");
    assert_eq!(net.status(Who::Bob, "alice"), OtrStatus::Plaintext);
    // And /otr finish with nothing to finish says so.
    net.type_line(Who::Bob, "/otr finish");
    assert!(has(
        &net.transcript(Who::Bob, "alice"),
        "no private conversation with alice to finish"
    ));
}

#[test]
fn trust_and_distrust() {
    let mut net = Net::new(Policy::MANUAL);
    net.type_line(Who::Alice, "/query bob");
    net.type_line(Who::Alice, "/otr trust");
    assert!(has(
        &net.transcript(Who::Alice, "bob"),
        "no fingerprint to trust"
    ));
    net.type_line(Who::Alice, "/otr init");
    let _ = net.alice.take_trust_changes();
    net.type_line(Who::Alice, "/otr trust");
    assert_eq!(net.status(Who::Alice, "bob"), OtrStatus::Private);
    let fp = net.bob.engine().fingerprint();
    assert!(net
        .alice
        .take_trust_changes()
        .unwrap()
        .is_trusted("bob", &fp));
    assert!(has(&net.transcript(Who::Alice, "bob"), "is now verified"));
    net.type_line(Who::Alice, "/otr trust");
    assert!(has(
        &net.transcript(Who::Alice, "bob"),
        "33B39E15 is verified."
    ));
    net.type_line(Who::Alice, "/otr distrust");
    assert_eq!(net.status(Who::Alice, "bob"), OtrStatus::Unverified);
    assert!(!net
        .alice
        .take_trust_changes()
        .unwrap()
        .is_trusted("bob", &fp));
    // Bob did not verify Alice.
    assert_eq!(net.status(Who::Bob, "alice"), OtrStatus::Unverified);
}

#[test]
fn a_peer_changing_nick_keeps_the_private_conversation() {
    let mut net = Net::new(Policy::MANUAL);
    net.connect();
    net.type_line(Who::Alice, "/otr trust");
    net.type_line(Who::Bob, "/nick bobby");
    assert_eq!(net.bob.nick(), "bobby");
    assert!(net.alice.window("bob").is_none());
    let w = net.alice.window("bobby").unwrap();
    assert_eq!(
        w.otr(),
        OtrStatus::Private,
        "the verified key stays verified"
    );
    assert!(has(&w.transcript(), "bob is now known as bobby"));
    net.type_line(Who::Alice, "still private?");
    net.type_line(Who::Bob, "yes");
    net.never_in_clear("still private");
    assert!(has(
        &net.transcript(Who::Bob, "alice"),
        "<alice> still private?"
    ));
    assert!(has(&net.transcript(Who::Alice, "bobby"), "<bobby> yes"));
}

#[test]
fn quit_finishes_private_conversations_and_is_noted() {
    let mut net = Net::new(Policy::MANUAL);
    net.connect();
    net.type_line(Who::Alice, "/quit bye");
    assert!(net.alice.wants_quit());
    assert_eq!(net.status(Who::Bob, "alice"), OtrStatus::Finished);
    assert!(has(&net.transcript(Who::Bob, "alice"), "alice quit (bye)"));
}

#[test]
fn plaintext_while_private_is_flagged_and_decrypted_text_cannot_forge_lines() {
    let mut net = Net::new(Policy::MANUAL);
    net.connect();
    let out = net.alice.on_irc(
        IrcEvent::Message {
            from: "bob".into(),
            target: "alice".into(),
            text: "sneaky \u{1b}[2J".into(),
            notice: false,
        },
        net.now,
    );
    assert!(out.is_empty());
    let lines = net.transcript(Who::Alice, "bob");
    assert!(has(&lines, "<bob> sneaky \u{fffd}[2J"), "{lines:#?}");
    assert!(lines.iter().all(|l| !l.contains('\u{1b}')));
    assert!(lines.iter().any(|l| l.contains("[!]")), "{lines:#?}");
}

#[test]
fn join_part_query_msg_nick_commands() {
    let mut net = Net::new(Policy::MANUAL);
    assert_eq!(
        net.type_only(Who::Alice, "/join rust"),
        vec![IrcCommand::Join("#rust".into())]
    );
    net.type_line(Who::Alice, "/join #rust");
    assert_eq!(net.alice.active_window().name(), "#rust");
    assert_eq!(
        net.type_only(Who::Alice, "/msg #other hi"),
        vec![IrcCommand::Privmsg {
            target: "#other".into(),
            text: "hi".into()
        }]
    );
    net.type_line(Who::Alice, "/msg bob psst");
    assert!(has(&net.transcript(Who::Bob, "alice"), "<alice> psst"));
    assert_eq!(
        net.bob.active(),
        0,
        "a new private window does not take the focus"
    );
    assert_eq!(
        net.alice.active_window().name(),
        "#rust",
        "/msg does not switch windows"
    );
    assert_eq!(
        net.type_only(Who::Alice, "/nick alicia"),
        vec![IrcCommand::Nick("alicia".into())]
    );
    assert_eq!(
        net.type_only(Who::Alice, "/part see you"),
        vec![IrcCommand::Part {
            channel: "#rust".into(),
            reason: "see you".into()
        }]
    );
    assert!(net.alice.window("#rust").is_none());
    net.type_line(Who::Alice, "/query carol");
    assert_eq!(net.alice.active_window().name(), "carol");
    net.type_line(Who::Alice, "/close");
    assert!(net.alice.window("carol").is_none());
    // Closing moved to the previous window, bob's: `//` sends a literal slash.
    assert_eq!(net.alice.active_window().name(), "bob");
    assert_eq!(
        net.type_only(Who::Alice, "//me is literal"),
        vec![IrcCommand::Privmsg {
            target: "bob".into(),
            text: "/me is literal".into()
        }]
    );
    let _ = net
        .alice
        .on_key(offrecord::chat::app::Key::Window(1), net.now);
    assert_eq!(
        net.type_only(Who::Alice, "hello?"),
        Vec::new(),
        "the status window sends nothing"
    );
}

#[test]
fn long_plain_text_is_split_to_what_the_server_relays() {
    let mut net = Net::new(Policy::MANUAL);
    net.type_line(Who::Alice, "/join #room");
    let long: String = (0..300).map(|i| format!("w{i} ")).collect();
    let long = long.trim_end().to_owned();
    net.type_line(Who::Alice, &long);
    let limit = offrecord::chat::app::AppConfig::new("alice").max_payload;
    let parts: Vec<_> = net.wire.iter().filter(|s| s.target == "#room").collect();
    assert!(parts.len() > 1, "{}", parts.len());
    for part in &parts {
        assert!(
            part.text.len() <= limit("alice", "#room"),
            "{}",
            part.text.len()
        );
    }
    let joined: Vec<&str> = parts.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(joined.join(" "), long);
    // Encrypted text is one message for the user, fragmented on the wire.
    net.connect();
    let before = net.wire.len();
    net.type_line(Who::Alice, "/query bob");
    net.type_line(Who::Alice, &long);
    assert!(net.wire.len() - before > 1);
    for sent in &net.wire[before..] {
        assert!(
            sent.text.len() <= limit("alice", "bob"),
            "{}",
            sent.text.len()
        );
        assert!(sent.text.starts_with("?OTR|"), "{sent:?}");
    }
    let bob = net.transcript(Who::Bob, "alice");
    assert!(bob.iter().any(|l| l.ends_with(&long)), "{bob:#?}");
}

#[test]
fn undelivered_messages_are_reported_without_ciphertext() {
    let mut net = Net::new(Policy::MANUAL);
    net.connect();
    let now = net.now;
    let _ = net.alice.on_irc(
        IrcEvent::Undelivered {
            target: "bob".into(),
            text: "?OTR:AAMDsecretbytes".into(),
            notice: false,
            written: true,
        },
        now,
    );
    let lines = net.transcript(Who::Alice, "bob");
    let last = lines.last().unwrap();
    assert!(
        last.contains("An OTR message to bob may not have arrived"),
        "{last}"
    );
    assert!(!last.contains("AAMD"));
}

/// Security issue, item 3: a second instance of "bob" with another key (an impostor on the
/// network) completes a key exchange with Alice's client and writes to her. Its line is
/// marked as coming from another key, her window keeps Bob's verified key, and what she
/// types next reaches Bob only.
#[test]
fn a_line_from_another_key_of_the_peer_is_marked() {
    use testkit::{engine, key, lines};

    let mut net = Net::new(Policy::OPPORTUNISTIC);
    net.connect();
    net.type_line(Who::Alice, "/otr trust");
    assert_eq!(net.status(Who::Alice, "bob"), OtrStatus::Private);
    let mut mallory = engine(key(77), 0x7777, Policy::OPPORTUNISTIC, 78);
    let mut to_alice = lines(&mallory.start("alice").unwrap());
    let mut rounds = 0;
    while !to_alice.is_empty() {
        rounds += 1;
        assert!(rounds < 50);
        let mut to_mallory = Vec::new();
        for text in to_alice.drain(..) {
            let message = IrcEvent::Message {
                from: "bob".into(),
                target: "alice".into(),
                text,
                notice: false,
            };
            for command in net.alice.on_irc(message, 1.0) {
                if let IrcCommand::Privmsg { text, .. } = command {
                    to_mallory.push(text);
                }
            }
        }
        for text in to_mallory {
            to_alice.extend(lines(&mallory.receive("alice", &text)));
        }
    }
    for text in lines(&mallory.send("alice", "it's me, Bob, on my phone")) {
        let message = IrcEvent::Message {
            from: "bob".into(),
            target: "alice".into(),
            text,
            notice: false,
        };
        let _ = net.alice.on_irc(message, 2.0);
    }
    let lines = net.transcript(Who::Alice, "bob");
    let line = lines
        .iter()
        .find(|l| l.contains("on my phone"))
        .expect("the impostor's line is shown");
    let short = &mallory.fingerprint().to_string()[..8];
    assert!(line.contains(&format!("[other key {short}]")), "{line}");
    assert_eq!(net.status(Who::Alice, "bob"), OtrStatus::Private);
    net.type_line(Who::Alice, "for Bob only");
    assert!(has(&net.transcript(Who::Bob, "alice"), "for Bob only"));
}
