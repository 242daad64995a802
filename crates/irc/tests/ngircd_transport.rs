//! The IRC transport against a real ngircd on 127.0.0.1 (started by `ngircd-harness`):
//! registration, nick in use, PING, ISON and ERR_NOSUCHNICK, channels, messages both ways,
//! nick changes, refusal of injected lines, exact payload sizes, TLS with a private CA,
//! reconnect after the server is killed and restarted, and bursts under ngircd's default
//! flood control.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use irc::{IrcCommand, IrcConfig, IrcError, IrcEvent, Pacing};
use ngircd_harness::{Ngircd, Observer, Options};
use support::{blocking, Client};

fn privmsg(target: &str, text: &str) -> IrcCommand {
    IrcCommand::Privmsg {
        target: target.into(),
        text: text.into(),
    }
}

fn is_message(e: &IrcEvent, from: &str, text: &str) -> bool {
    matches!(e, IrcEvent::Message { from: f, text: t, .. } if f == from && t == text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_joins_messages_both_ways_and_follows_nicks() {
    let server = Ngircd::start(Options::default()).unwrap();
    let port = server.port();
    let observer = Arc::new(blocking(move || Observer::connect(port, "eve").unwrap()).await);
    let o = Arc::clone(&observer);
    blocking(move || o.join("#t").unwrap()).await;

    let mut alice = Client::connect(port, "alice", &["#t"], Pacing::ngircd_default()).await;
    let mut bob = Client::connect(port, "bob", &["#t"], Pacing::ngircd_default()).await;
    assert_eq!(alice.handle.nick(), "alice");
    assert!(alice.handle.is_connected());
    let names = match alice.expect(|e| matches!(e, IrcEvent::Names { .. })).await {
        IrcEvent::Names { channel, nicks } if channel == "#t" => nicks,
        other => panic!("{other:?}"),
    };
    assert!(names.contains(&"eve".to_string()) && names.contains(&"alice".to_string()));
    alice
        .expect(|e| matches!(e, IrcEvent::Joined { nick, .. } if nick == "bob"))
        .await;

    // PRIVMSG and NOTICE, private and to the channel, both ways.
    alice.handle.send(privmsg("bob", "hello bob")).unwrap();
    let e = bob.expect(|e| is_message(e, "alice", "hello bob")).await;
    assert_eq!(
        e,
        IrcEvent::Message {
            from: "alice".into(),
            target: "bob".into(),
            text: "hello bob".into(),
            notice: false
        }
    );
    bob.handle
        .send(IrcCommand::Notice {
            target: "#t".into(),
            text: "notice to all".into(),
        })
        .unwrap();
    let e = alice
        .expect(|e| is_message(e, "bob", "notice to all"))
        .await;
    assert!(matches!(e, IrcEvent::Message { notice: true, ref target, .. } if target == "#t"));
    bob.handle.send(privmsg("alice", "hi alice")).unwrap();
    alice.expect(|e| is_message(e, "bob", "hi alice")).await;
    let o = Arc::clone(&observer);
    blocking(move || {
        o.wait_for(Duration::from_secs(10), |l| {
            l == ":bob!~bob@127.0.0.1 NOTICE #t :notice to all"
        })
        .expect("the observer sees the channel notice")
    })
    .await;

    // Part and join.
    bob.handle
        .send(IrcCommand::Part {
            channel: "#t".into(),
            reason: "brb".into(),
        })
        .unwrap();
    let e = alice.expect(|e| matches!(e, IrcEvent::Parted { .. })).await;
    assert_eq!(
        e,
        IrcEvent::Parted {
            channel: "#t".into(),
            nick: "bob".into(),
            reason: "brb".into()
        }
    );
    bob.handle.send(IrcCommand::Join("#t".into())).unwrap();
    alice
        .expect(|e| matches!(e, IrcEvent::Joined { nick, .. } if nick == "bob"))
        .await;

    // Our own nick change is followed, and so is a peer's.
    alice
        .handle
        .send(IrcCommand::Nick("alicia".into()))
        .unwrap();
    alice
        .expect(|e| matches!(e, IrcEvent::NickChanged { old, new } if old == "alice" && new == "alicia"))
        .await;
    assert_eq!(alice.handle.nick(), "alicia");
    bob.expect(|e| matches!(e, IrcEvent::NickChanged { new, .. } if new == "alicia"))
        .await;
    bob.handle.send(privmsg("alicia", "new name")).unwrap();
    alice.expect(|e| is_message(e, "bob", "new name")).await;
    alice.handle.send(privmsg("#t", "from alicia")).unwrap();
    bob.expect(|e| is_message(e, "alicia", "from alicia")).await;

    // Quit ends the task and tells the others.
    alice.handle.send(IrcCommand::Quit("done".into())).unwrap();
    bob.expect(|e| matches!(e, IrcEvent::Quit { nick, .. } if nick == "alicia"))
        .await;
    alice
        .expect(|e| matches!(e, IrcEvent::Disconnected { retry_in_ms: 0, .. }))
        .await;
    assert!(alice.events.recv().await.is_none());
    assert_eq!(
        alice.handle.send(privmsg("bob", "late")),
        Err(IrcError::Closed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nick_in_use_tries_another() {
    let server = Ngircd::start(Options::default()).unwrap();
    let port = server.port();
    let _carol = blocking(move || Observer::connect(port, "carol").unwrap()).await;
    let _carol_ = blocking(move || Observer::connect(port, "carol_").unwrap()).await;
    let mut config = IrcConfig::new("127.0.0.1", port, "carol");
    config.channels = vec!["#t".into()];
    let client = Client::with_config(config).await;
    let tried: Vec<_> = client
        .seen
        .iter()
        .filter_map(|e| match e {
            IrcEvent::NickInUse { refused, trying } => Some((refused.clone(), trying.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        tried,
        vec![
            ("carol".to_string(), "carol_".to_string()),
            ("carol_".into(), "carol2".into())
        ]
    );
    assert!(client.seen.contains(&IrcEvent::Connected {
        nick: "carol2".into()
    }));
    assert_eq!(client.handle.nick(), "carol2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ison_answers_presence_and_a_missing_nick_is_reported() {
    // No shared channel: ISON and ERR_NOSUCHNICK tell what QUIT would not.
    let server = Ngircd::start(Options::default()).unwrap();
    let port = server.port();
    let mut alice = Client::connect(port, "alice", &[], Pacing::ngircd_default()).await;
    let bob = Client::connect(port, "bob", &[], Pacing::ngircd_default()).await;
    alice
        .handle
        .send(IrcCommand::Ison(vec!["bob".into(), "nobody".into()]))
        .unwrap();
    alice
        .handle
        .send(IrcCommand::Ison(vec!["ghost".into()]))
        .unwrap();
    let first = alice.expect(|e| matches!(e, IrcEvent::IsOn { .. })).await;
    assert_eq!(
        first,
        IrcEvent::IsOn {
            asked: vec!["bob".into(), "nobody".into()],
            online: vec!["bob".into()],
        }
    );
    let second = alice.expect(|e| matches!(e, IrcEvent::IsOn { .. })).await;
    assert_eq!(
        second,
        IrcEvent::IsOn {
            asked: vec!["ghost".into()],
            online: Vec::new(),
        }
    );
    alice.handle.send(privmsg("ghost", "anyone?")).unwrap();
    match alice
        .expect(|e| matches!(e, IrcEvent::NoSuchNick { .. }))
        .await
    {
        IrcEvent::NoSuchNick { nick, reason } => {
            assert_eq!(nick, "ghost");
            assert!(!reason.is_empty());
        }
        other => panic!("{other:?}"),
    }
    drop(bob);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_server_pings() {
    // The server PINGs after 2 s of silence and drops a client that does not answer in 2 s.
    let options = Options {
        ping_timeout: 2,
        pong_timeout: 2,
        ..Options::default()
    };
    let server = Ngircd::start(options).unwrap();
    let port = server.port();
    let observer = blocking(move || Observer::connect(port, "eve").unwrap()).await;
    let mut alice = Client::connect(port, "alice", &[], Pacing::ngircd_default()).await;
    tokio::time::sleep(Duration::from_secs(9)).await;
    alice.drain();
    assert!(alice.disconnects().is_empty(), "{:#?}", alice.seen);
    alice.handle.send(privmsg("eve", "still here")).unwrap();
    blocking(move || {
        observer
            .wait_for(Duration::from_secs(10), |l| {
                l.ends_with("PRIVMSG eve :still here")
            })
            .expect("delivered after the pings");
    })
    .await;
    let log = server.log();
    assert!(!log.contains("Ping timeout"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_cr_lf_and_nul_everywhere() {
    let server = Ngircd::start(Options::default()).unwrap();
    let port = server.port();
    let observer = Arc::new(blocking(move || Observer::connect(port, "eve").unwrap()).await);
    let o = Arc::clone(&observer);
    blocking(move || o.join("#t").unwrap()).await;
    let mut alice = Client::connect(port, "alice", &["#t"], Pacing::ngircd_default()).await;
    let forbidden = |field| Err(IrcError::ForbiddenChar { field });
    for evil in [
        "x\r\nQUIT :injected",
        "x\rJOIN #evil",
        "x\nJOIN #evil",
        "x\0y",
    ] {
        assert_eq!(alice.handle.send(privmsg("#t", evil)), forbidden("text"));
        let notice = IrcCommand::Notice {
            target: "#t".into(),
            text: evil.into(),
        };
        assert_eq!(alice.handle.send(notice), forbidden("text"));
        assert_eq!(
            alice.handle.send(privmsg(&format!("#t{evil}"), "x")),
            forbidden("target")
        );
        assert_eq!(
            alice.handle.send(IrcCommand::Join(evil.into())),
            forbidden("channel")
        );
        assert_eq!(
            alice.handle.send(IrcCommand::Nick(evil.into())),
            forbidden("nick")
        );
        let part = IrcCommand::Part {
            channel: "#t".into(),
            reason: evil.into(),
        };
        assert_eq!(alice.handle.send(part), forbidden("reason"));
        assert_eq!(
            alice.handle.send(IrcCommand::Quit(evil.into())),
            forbidden("reason")
        );
    }
    assert!(matches!(
        alice.handle.send(privmsg("#t #evil", "x")),
        Err(IrcError::BadWord {
            field: "target",
            ..
        })
    ));
    assert!(matches!(
        alice.handle.send(privmsg("#t,bob", "x")),
        Err(IrcError::BadWord { .. })
    ));
    assert_eq!(
        alice.handle.send(privmsg("#t", "")),
        Err(IrcError::Empty { field: "text" })
    );
    // A config with a line break is refused before anything is sent.
    let mut bad = IrcConfig::new("127.0.0.1", port, "mallory");
    bad.realname = "x\r\nJOIN #evil".into();
    let (_h, mut events) = irc::spawn(bad);
    let e = events.recv().await.unwrap();
    assert!(
        matches!(&e, IrcEvent::Disconnected { reason, retry_in_ms: 0 } if reason.contains("CR, LF or NUL")),
        "{e:?}"
    );
    // The connection is intact and nothing was injected.
    alice.handle.send(privmsg("#t", "clean")).unwrap();
    let o = Arc::clone(&observer);
    blocking(move || {
        o.wait_for(Duration::from_secs(10), |l| {
            l.ends_with("PRIVMSG #t :clean")
        })
        .unwrap();
    })
    .await;
    alice.drain();
    assert!(alice.disconnects().is_empty());
    let lines = observer.lines();
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("injected") || l.contains("#evil") || l.contains("mallory")),
        "{lines:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_payload_is_exact_and_relayed_uncut() {
    let server = Ngircd::start(Options::default()).unwrap();
    let port = server.port();
    let observer = Arc::new(blocking(move || Observer::connect(port, "eve").unwrap()).await);
    let o = Arc::clone(&observer);
    blocking(move || o.join("#offrecord").unwrap()).await;
    let alice = Client::connect(port, "alice", &["#offrecord"], Pacing::ngircd_default()).await;
    let (user, host) = alice
        .handle
        .user_host()
        .expect("learned from RPL_WELCOME and JOIN");
    assert_eq!((user.as_str(), host.as_str()), ("~alice", "127.0.0.1"));
    for target in ["#offrecord", "eve"] {
        let max = alice.handle.max_payload(target);
        assert_eq!(max, irc::max_privmsg_payload("alice", &user, &host, target));
        let text = format!("{}END", "x".repeat(max - 3));
        alice.handle.send(privmsg(target, &text)).unwrap();
        let too_long = format!("{text}!");
        assert!(matches!(
            alice.handle.send(privmsg(target, &too_long)),
            Err(IrcError::TextTooLong { .. })
        ));
        let o = Arc::clone(&observer);
        let suffix = format!("PRIVMSG {target} :{text}");
        let (line, bytes) = blocking(move || {
            let line = o
                .wait_for(Duration::from_secs(10), |l| l.ends_with(&suffix))
                .unwrap();
            (line, o.bytes())
        })
        .await;
        // The relayed line is exactly 512 bytes with its CR LF: nothing was cut.
        assert_eq!(line.len() + 2, 512, "{line}");
        let needle = format!("{line}\r\n");
        assert!(bytes.windows(needle.len()).any(|w| w == needle.as_bytes()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_private_ca() {
    let server = Ngircd::start(Options {
        tls: true,
        ..Options::default()
    })
    .unwrap();
    let port = server.port();
    let tls_port = server.tls_port().unwrap();
    let observer = blocking(move || Observer::connect(port, "eve").unwrap()).await;

    // Without the private CA the certificate is refused, and the transport keeps retrying.
    let mut config = IrcConfig::new("127.0.0.1", tls_port, "alice");
    config.tls = true;
    config.reconnect_min = Duration::from_millis(100);
    let (handle, mut events) = irc::spawn(config.clone());
    let e = events.recv().await.unwrap();
    assert!(
        matches!(&e, IrcEvent::Disconnected { reason, retry_in_ms } if reason.contains("certificate") && *retry_in_ms > 0),
        "{e:?}"
    );
    handle.send(IrcCommand::Quit(String::new())).unwrap();

    config.tls_ca = server.ca_file();
    let mut alice = Client::with_config(config).await;
    alice.handle.send(privmsg("eve", "over tls")).unwrap();
    blocking(move || {
        observer
            .wait_for(Duration::from_secs(10), |l| {
                l.ends_with("PRIVMSG eve :over tls")
            })
            .unwrap();
        observer.send_raw("PRIVMSG alice :back over tcp").unwrap();
    })
    .await;
    alice
        .expect(|e| is_message(e, "eve", "back over tcp"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_and_rejoins_after_the_server_restarts() {
    let mut server = Ngircd::start(Options::default()).unwrap();
    let port = server.port();
    let mut alice = Client::connect(port, "alice", &["#t"], Pacing::ngircd_default()).await;
    let mut bob = Client::connect(port, "bob", &["#t"], Pacing::ngircd_default()).await;
    alice
        .handle
        .send(IrcCommand::Join("#later".into()))
        .unwrap();
    alice
        .expect(|e| matches!(e, IrcEvent::Joined { channel, .. } if channel == "#later"))
        .await;

    server.kill();
    for client in [&mut alice, &mut bob] {
        let e = client
            .expect(|e| matches!(e, IrcEvent::Disconnected { .. }))
            .await;
        assert!(matches!(e, IrcEvent::Disconnected { retry_in_ms, .. } if retry_in_ms > 0));
        assert!(!client.handle.is_connected());
    }
    // Sent while the server is down: reported, not silently lost.
    alice.handle.send(privmsg("bob", "while down")).unwrap();
    let e = alice
        .expect(|e| matches!(e, IrcEvent::Undelivered { .. }))
        .await;
    assert_eq!(
        e,
        IrcEvent::Undelivered {
            target: "bob".into(),
            text: "while down".into(),
            notice: false,
            written: false
        }
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.restart().unwrap();
    for client in [&mut alice, &mut bob] {
        client
            .expect(|e| matches!(e, IrcEvent::Connected { .. }))
            .await;
        let nick = client.handle.nick();
        client
            .expect(|e| matches!(e, IrcEvent::Joined { channel, nick: n } if channel == "#t" && *n == nick))
            .await;
    }
    alice
        .expect(|e| matches!(e, IrcEvent::Joined { channel, nick } if channel == "#later" && nick == "alice"))
        .await;
    // Disconnected came before Connected, and the conversation goes on.
    let order: Vec<_> = alice
        .seen
        .iter()
        .filter_map(|e| match e {
            IrcEvent::Connected { .. } => Some("connected"),
            IrcEvent::Disconnected { .. } => Some("disconnected"),
            _ => None,
        })
        .collect();
    assert_eq!(order.first(), Some(&"connected"));
    assert_eq!(order.last(), Some(&"connected"));
    assert!(order.contains(&"disconnected"));
    alice.handle.send(privmsg("#t", "back again")).unwrap();
    bob.expect(|e| is_message(e, "alice", "back again")).await;
}

/// Reads `n` channel messages from `from` at `client`; returns them in order.
async fn collect_texts(client: &mut Client, from: &str, n: usize) -> Vec<String> {
    let mut texts = Vec::new();
    while texts.len() < n {
        let e = client
            .expect_within(Duration::from_secs(120), |e| {
                matches!(e, IrcEvent::Message { .. } | IrcEvent::Disconnected { .. })
            })
            .await;
        match e {
            IrcEvent::Message { from: f, text, .. } if f == from => texts.push(text),
            IrcEvent::Disconnected { reason, .. } => panic!("disconnected: {reason}"),
            _ => {}
        }
    }
    texts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_of_50_under_default_flood_control() {
    let server = Ngircd::start(Options::default()).unwrap();
    let port = server.port();
    let mut alice = Client::connect(port, "alice", &["#t"], Pacing::ngircd_default()).await;
    let mut bob = Client::connect(port, "bob", &["#t"], Pacing::ngircd_default()).await;
    let sent: Vec<String> = (0..50)
        .map(|i| format!("burst message {i:02}:{}", "z".repeat(i * 7)))
        .collect();
    let start = Instant::now();
    for text in &sent {
        alice.handle.send(privmsg("#t", text)).unwrap();
    }
    let got = collect_texts(&mut bob, "alice", 50).await;
    eprintln!(
        "figure: 50-message burst through ngircd: {:.1} s",
        start.elapsed().as_secs_f64()
    );
    assert_eq!(got, sent);
    alice.drain();
    assert!(alice.disconnects().is_empty() && bob.disconnects().is_empty());
    let log = server.log();
    assert!(
        !log.contains("Request too long") && !log.contains("flood"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20_kb_message_in_max_size_lines_under_default_flood_control() {
    let server = Ngircd::start(Options::default()).unwrap();
    let port = server.port();
    let mut alice = Client::connect(port, "alice", &["#t"], Pacing::ngircd_default()).await;
    let mut bob = Client::connect(port, "bob", &["#t"], Pacing::ngircd_default()).await;
    let text: String = (0..20 * 1024)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let max = alice.handle.max_payload("#t");
    let pieces = irc::split_text(&text, max);
    let start = Instant::now();
    for piece in &pieces {
        alice.handle.send(privmsg("#t", piece)).unwrap();
    }
    let got = collect_texts(&mut bob, "alice", pieces.len()).await;
    eprintln!(
        "figure: 20 KB in {} lines of <= {max} bytes through ngircd: {:.1} s",
        pieces.len(),
        start.elapsed().as_secs_f64()
    );
    assert_eq!(got.concat(), text);
    alice.drain();
    assert!(alice.disconnects().is_empty() && bob.disconnects().is_empty());
    let log = server.log();
    assert!(!log.contains("Request too long"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_is_detected_by_keepalive() {
    let server = Ngircd::start(Options::default()).unwrap();
    let mut config = IrcConfig::new("127.0.0.1", server.port(), "alice");
    config.keepalive = Duration::from_secs(1);
    config.reconnect_min = Duration::from_millis(200);
    config.reconnect_max = Duration::from_secs(1);
    let mut alice = Client::with_config(config).await;
    // The link goes dead: the connection stays open but nothing comes back.
    server.freeze().unwrap();
    let e = alice
        .expect(|e| matches!(e, IrcEvent::Disconnected { .. }))
        .await;
    assert!(
        matches!(&e, IrcEvent::Disconnected { reason, .. } if reason.contains("no answer from the server")),
        "{e:?}"
    );
    server.thaw().unwrap();
    alice
        .expect(|e| matches!(e, IrcEvent::Connected { .. }))
        .await;
    assert!(alice.handle.is_connected());
}
