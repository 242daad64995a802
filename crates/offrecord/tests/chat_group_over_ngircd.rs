//! `/group` rooms at chat-client level through a real ngircd on 127.0.0.1 with its default
//! flood control: three offrecord chat clients (the headless `App` core, driven by typed
//! command lines) and a libotr 4.1.1 peer, each behind its own IRC transport (paced for
//! ngircd's defaults) and a byte-logging tap. Checks are on what the users see: the room
//! window's lines with their senders, the roster, the status window, and the room state
//! the runner saves in `otr.chatinfo`.
//!
//! alice types `/group host`, `/group invite bob`, `/group invite carol`; bob and carol see
//! the invitation and type `/group join`. Each writes a line that the two others show with
//! its sender; `/group roster` lists the three with their fingerprints and the host; every
//! member's room state is level 2 (private). alice types `/group thin dave` for the libotr
//! peer, which reads the room as private OTR messages `<sender> text`, and whose lines
//! reach the full members' room windows as its own. bob types `/group leave`: the others
//! go on without him. alice types `/group kick carol`: carol is told, shows nothing of what
//! alice and dave write afterwards, and her transport receives no line at all from then
//! on. No room alert shows anywhere, and no typed line crosses the network in the clear.
//!
//! A second test has three chat users and no channel at all: the host's connection is cut
//! (`Tap::cut`), the members get no QUIT, learn it from the server anyway (a bounced line,
//! an `ISON` poll) and go on under the successor.
//!
//! A third test holds a room delivered in a channel (`/group host #ops`): the room's
//! lines travel tagged in `#ops`, a member not in it is joined by its client on
//! `/group join`, and the channel windows show only the chatter typed there.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use group::chatinfo::ChatInfo;
use group::SecurityLevel;
use irc::{IrcCommand, IrcEvent};
use libotr_harness::MsgState;
use ngircd_harness::{Ngircd, Options, Tap};
use offrecord::chat::app::{Key, LineKind, WindowKind};

mod support;
use support::ngircd_chat::{client_deref, default_irc_config, now, ChatClient, LibPeer};
use testkit::contains;

const HOST: &str = "alice";
const THIN: &str = "dave";

/// One chat user: the chat core, its connection, and its home directory, where the room
/// state is saved as the runner does.
struct User {
    nick: &'static str,
    /// Its transport is paced for ngircd's default flood control.
    client: ChatClient,
    home: tempfile::TempDir,
    /// The room state last written to `otr.chatinfo`.
    saved: Option<ChatInfo>,
    /// The senders of every private message the transport delivered, in order.
    received_from: Vec<String>,
}

client_deref!(User, client);

impl User {
    fn new(port: u16, nick: &'static str, seed: u64) -> User {
        User {
            nick,
            client: ChatClient::new(default_irc_config(port, nick), seed, 0x5200_0000),
            home: tempfile::tempdir().unwrap(),
            saved: None,
            received_from: Vec::new(),
        }
    }

    fn send_all(&mut self, commands: Vec<IrcCommand>) {
        self.client.send_all(commands);
        self.save_room();
    }

    /// What the runner does after every change: the room state goes to `otr.chatinfo`.
    fn save_room(&mut self) {
        let Some(info) = self.app.room_state() else {
            return;
        };
        if self.saved.as_ref() != Some(&info) {
            offrecord::chatinfo_file::record(self.home.path(), info.clone()).unwrap();
            self.saved = Some(info);
        }
    }

    fn on_irc(&mut self, event: IrcEvent) {
        if let IrcEvent::Message { from, target, .. } = &event {
            if *target == self.nick {
                self.received_from.push(from.clone());
            }
        }
        let out = self.app.on_irc(event, now());
        self.send_all(out);
    }

    fn tick(&mut self) {
        let out = self.app.on_tick(now());
        self.send_all(out);
    }

    /// Switches to `window` (Alt-N) and types `line` there.
    fn type_in(&mut self, window: &str, line: &str) {
        let i = self
            .app
            .windows()
            .iter()
            .position(|w| w.name() == window)
            .unwrap_or_else(|| panic!("{} has no window {window}", self.nick));
        let out = self.app.on_key(Key::Window(i + 1), now());
        self.send_all(out);
        assert_eq!(self.app.active_window().name(), window);
        let out = self.app.on_input(line, now());
        self.send_all(out);
    }

    fn type_in_status(&mut self, line: &str) {
        let status = self.app.windows()[0].name().to_owned();
        self.type_in(&status, line);
    }

    fn type_in_room(&mut self, line: &str) {
        let room = self.room().expect("a room window");
        self.type_in(&room, line);
    }

    /// The room window's name (`room:ID`), once there is one.
    fn room(&self) -> Option<String> {
        self.app
            .windows()
            .iter()
            .find(|w| w.kind() == WindowKind::Room)
            .map(|w| w.name().to_owned())
    }

    /// `(sender, text)` of every message the room window shows, own lines included.
    fn room_messages(&self) -> Vec<(String, String)> {
        let Some(w) = self.room().and_then(|r| self.app.window(&r)) else {
            return Vec::new();
        };
        w.lines()
            .filter_map(|l| match &l.kind {
                LineKind::Message { from, .. } => Some((from.clone(), l.text.clone())),
                LineKind::Own { nick, .. } => Some((nick.clone(), l.text.clone())),
                _ => None,
            })
            .collect()
    }

    fn shows(&self, from: &str, text: &str) -> bool {
        self.room_messages()
            .iter()
            .any(|(f, t)| f == from && t == text)
    }

    fn room_members(&self) -> Vec<String> {
        self.room()
            .and_then(|r| self.app.window(&r))
            .map(|w| w.members().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    fn room_transcript(&self) -> String {
        self.room()
            .and_then(|r| self.app.window(&r))
            .map(|w| w.transcript().join("\n"))
            .unwrap_or_default()
    }

    fn status_transcript(&self) -> String {
        self.app.windows()[0].transcript().join("\n")
    }

    /// Every line of every window, with the window's name.
    fn all_lines(&self) -> Vec<(String, LineKind, String)> {
        self.app
            .windows()
            .iter()
            .flat_map(|w| {
                w.lines()
                    .map(|l| (w.name().to_owned(), l.kind.clone(), l.text.clone()))
            })
            .collect()
    }

    fn chatinfo_file(&self) -> String {
        std::fs::read_to_string(self.home.path().join(offrecord::chatinfo_file::FILE))
            .unwrap_or_default()
    }

    fn last_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .app
            .windows()
            .iter()
            .flat_map(|w| {
                let name = w.name().to_owned();
                w.transcript()
                    .into_iter()
                    .rev()
                    .take(5)
                    .rev()
                    .map(move |l| format!("{name}: {l}"))
            })
            .collect();
        lines.truncate(40);
        lines
    }
}

/// Three chat users, and a libotr thin member in the first test.
struct World {
    users: [User; 3],
    thin: Option<LibPeer>,
    /// When each user first named a host other than alice (after a hand-off): when it
    /// learnt that alice was gone (the successor's welcome waits for that).
    followed: [Option<Instant>; 3],
}

impl World {
    fn new(users: [User; 3], thin: Option<LibPeer>) -> Self {
        Self {
            users,
            thin,
            followed: [None; 3],
        }
    }

    /// The libotr thin member (the tests that have one).
    fn thin(&self) -> &LibPeer {
        self.thin.as_ref().expect("a thin member")
    }

    fn user(&mut self, nick: &str) -> &mut User {
        self.users.iter_mut().find(|u| u.nick == nick).unwrap()
    }

    fn get(&self, nick: &str) -> &User {
        self.users.iter().find(|u| u.nick == nick).unwrap()
    }

    /// Feeds network events to everyone until `done` holds; ticks everyone once a second.
    async fn pump(&mut self, limit: Duration, what: &str, done: impl Fn(&World) -> bool) {
        let deadline = tokio::time::Instant::now() + limit;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        while !done(self) {
            let [a, b, c] = &mut self.users;
            let thin = &mut self.thin;
            let thin_event = async {
                match thin.as_mut() {
                    Some(t) => t.events.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                e = a.events.recv() => a.on_irc(e.expect("a transport stopped")),
                e = b.events.recv() => b.on_irc(e.expect("a transport stopped")),
                e = c.events.recv() => c.on_irc(e.expect("a transport stopped")),
                e = thin_event => {
                    if let Some(t) = thin.as_mut() {
                        t.on_irc(e.expect("libotr's transport stopped"));
                    }
                }
                _ = tick.tick() => {
                    for u in [a, b, c] {
                        u.tick();
                    }
                    if let Some(t) = thin.as_mut() {
                        t.tick();
                    }
                }
                _ = tokio::time::sleep_until(deadline) => self.timed_out(what),
            }
            for (i, u) in self.users.iter().enumerate() {
                let host = u.app.group_node().host_nick();
                if self.followed[i].is_none() && host.is_some_and(|h| h != HOST) {
                    self.followed[i] = Some(Instant::now());
                }
            }
        }
    }

    /// Pumps for `d`: time for anything still in flight to arrive.
    async fn settle(&mut self, d: Duration) {
        let until = Instant::now() + d;
        self.pump(d + Duration::from_secs(5), "settling", move |_| {
            Instant::now() >= until
        })
        .await;
    }

    fn timed_out(&self, what: &str) -> ! {
        let mut report = format!("timed out waiting for {what}\n");
        for u in &self.users {
            report.push_str(&format!("{}: {:#?}\n", u.nick, u.last_lines()));
        }
        if let Some(thin) = &self.thin {
            report.push_str(&format!(
                "{THIN} (libotr): shown {:?}, secure {}, events {:?}",
                thin.shown, thin.secure, thin.msg_events
            ));
        }
        panic!("{report}");
    }

    /// `nick` types `text` in its room window; every nick of `readers` must show it with
    /// its sender (the thin member, as `<nick> text` in its conversation with the host).
    async fn room_says(&mut self, nick: &str, text: &str, readers: &[&str]) {
        self.user(nick).type_in_room(text);
        let line = format!("<{nick}> {text}");
        self.pump(Duration::from_secs(60), text, |w| {
            readers.iter().all(|r| {
                if *r == THIN {
                    w.thin().shown_decrypted(HOST).contains(&line)
                } else {
                    w.get(r).shows(nick, text)
                }
            })
        })
        .await;
    }

    /// The libotr user writes `text` to the host; the room windows of `readers` must
    /// show it as the thin member's.
    async fn thin_says(&mut self, text: &str, readers: &[&str]) {
        self.thin.as_mut().expect("a thin member").say(HOST, text);
        self.pump(Duration::from_secs(60), text, |w| {
            readers.iter().all(|r| w.get(r).shows(THIN, text))
        })
        .await;
    }
}

#[tokio::test]
async fn group_commands_through_ngircd_with_a_libotr_thin_member() {
    let started = Instant::now();
    let server = Ngircd::start(Options::default()).unwrap();
    let tap = Tap::start(server.port()).unwrap();
    let users = [
        User::new(tap.port(), HOST, 31),
        User::new(tap.port(), "bob", 32),
        User::new(tap.port(), "carol", 33),
    ];
    let thin = LibPeer::new(default_irc_config(tap.port(), THIN), HOST);
    let mut world = World::new(users, Some(thin));
    world
        .pump(Duration::from_secs(30), "the connections", |w| {
            w.users.iter().all(|u| u.app.is_connected()) && w.thin().connected
        })
        .await;
    let mut typed: Vec<String> = Vec::new();

    // 1. alice hosts and invites; bob and carol see the invitation and join.
    world.user(HOST).type_in_status("/group host");
    let room = world.get(HOST).room().expect("alice's room window");
    assert_eq!(world.get(HOST).app.active_window().name(), room);
    let id = room.strip_prefix("room:").unwrap().to_owned();
    world.user(HOST).type_in_room("/group invite bob");
    world.user(HOST).type_in_room("/group invite carol");
    world
        .pump(Duration::from_secs(60), "the invitations", |w| {
            ["bob", "carol"].iter().all(|n| {
                w.get(n)
                    .status_transcript()
                    .contains(&format!("alice invites you to the private room {id}"))
            })
        })
        .await;
    for nick in ["bob", "carol"] {
        let u = world.user(nick);
        // Nothing joins before the user accepts.
        assert!(u.room_messages().is_empty());
        u.type_in_status("/group join");
        assert_eq!(u.app.active_window().name(), room, "{nick}");
    }
    world
        .pump(Duration::from_secs(60), "the room of three", |w| {
            w.users.iter().all(|u| {
                u.room_members() == ["alice", "bob", "carol"]
                    && u.app
                        .window(&room)
                        .and_then(|win| win.room_info())
                        .is_some_and(|i| i.level == SecurityLevel::Private && i.host == HOST)
            })
        })
        .await;

    // Each member writes a line; the two others show it with its sender.
    for (nick, text) in [
        (HOST, "alice opens the room"),
        ("bob", "bob says hello to the room"),
        ("carol", "carol is here too"),
    ] {
        let readers: Vec<&str> = ["alice", "bob", "carol"]
            .into_iter()
            .filter(|n| *n != nick)
            .collect();
        world.room_says(nick, text, &readers).await;
        typed.push(text.to_owned());
    }
    // Everyone's room window shows the same conversation, in the same order (the sender
    // sees its own line once the host relayed it).
    let reference = world.get(HOST).room_messages();
    assert_eq!(
        reference,
        [
            ("alice", "alice opens the room"),
            ("bob", "bob says hello to the room"),
            ("carol", "carol is here too"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    world
        .pump(Duration::from_secs(30), "the same conversation", |w| {
            w.users.iter().all(|u| u.room_messages() == reference)
        })
        .await;

    // `/group roster`: the host and the three members with their fingerprints.
    let fingerprints: Vec<(String, String)> = world
        .users
        .iter()
        .map(|u| (u.nick.to_owned(), u.app.engine().fingerprint().to_string()))
        .collect();
    for nick in ["alice", "bob", "carol"] {
        let u = world.user(nick);
        u.type_in_room("/group roster");
        let shown = u.room_transcript();
        assert!(
            shown.contains(&format!("Room {id}, host alice, by private messages:")),
            "{nick}: {shown}"
        );
        for (member, fp) in &fingerprints {
            let role = if member == HOST { " (host)" } else { "" };
            assert!(
                shown.contains(&format!("  {member}{role} {fp}")),
                "{nick}: {member} {fp} missing in:\n{shown}"
            );
        }
    }

    // Every member's room state is private (level 2), as saved in otr.chatinfo.
    for u in &world.users {
        let state = u.app.room_state().unwrap();
        assert_eq!(
            (
                state.account.as_str(),
                state.room.as_str(),
                state.host.as_str()
            ),
            (u.nick, id.as_str(), HOST)
        );
        assert_eq!(state.level, SecurityLevel::Private, "{}", u.nick);
        assert_eq!(
            u.chatinfo_file(),
            format!("?AC?{}\t?CID?{id}\t?HOST?alice\t?STAT?2\n", u.nick),
            "{}",
            u.nick
        );
    }

    // 2. A libotr 4.1.1 user joins as a thin member: it reads the room as private OTR
    //    messages prefixed with the sender's nick, and what it writes goes to the room.
    world
        .user(HOST)
        .type_in_room(&format!("/group thin {THIN}"));
    world
        .pump(Duration::from_secs(60), "the thin member", |w| {
            w.users
                .iter()
                .all(|u| u.room_members() == ["alice", "bob", "carol", THIN])
                && w.thin()
                    .shown_decrypted(HOST)
                    .iter()
                    .any(|t| t.contains("you are in a private group hosted by alice"))
        })
        .await;
    assert_eq!(world.thin().lib.msgstate(HOST), MsgState::Encrypted);
    assert_eq!(
        world.thin().lib.their_fingerprint(HOST),
        Some(world.get(HOST).app.engine().fingerprint().to_string())
    );
    world.user("carol").type_in_room("/group roster");
    let lib_fp = world.thin().lib.fingerprint();
    assert!(
        world
            .get("carol")
            .room_transcript()
            .contains(&format!("  {THIN} [thin: stock OTR client] {lib_fp}")),
        "{}",
        world.get("carol").room_transcript()
    );
    world
        .room_says("bob", "bob greets dave", &["alice", "carol", THIN])
        .await;
    world
        .room_says(HOST, "alice greets dave", &["bob", "carol", THIN])
        .await;
    world
        .thin_says(
            "dave writes from a stock client",
            &["alice", "bob", "carol"],
        )
        .await;
    typed.extend(
        [
            "bob greets dave",
            "alice greets dave",
            "dave writes from a stock client",
        ]
        .map(String::from),
    );
    // The thin member never gets its own line back; everything it got was encrypted.
    assert!(!world
        .thin()
        .shown_decrypted(HOST)
        .iter()
        .any(|t| t.contains("dave writes from a stock client")));
    assert!(world
        .thin()
        .shown
        .iter()
        .all(|(_, _, encrypted)| *encrypted));

    // 3. bob leaves; the others go on without him.
    world.user("bob").type_in_room("/group leave");
    assert!(world
        .get("bob")
        .room_transcript()
        .contains("You left the room."));
    world
        .pump(Duration::from_secs(60), "bob's departure", |w| {
            ["alice", "carol"]
                .iter()
                .all(|n| w.get(n).room_members() == ["alice", "carol", THIN])
        })
        .await;
    let bob_saw = world.get("bob").room_messages();
    world
        .room_says("carol", "carol after bob left", &["alice", THIN])
        .await;
    world
        .room_says(HOST, "alice after bob left", &["carol", THIN])
        .await;
    world
        .thin_says("dave after bob left", &["alice", "carol"])
        .await;
    typed.extend(
        [
            "carol after bob left",
            "alice after bob left",
            "dave after bob left",
        ]
        .map(String::from),
    );

    // 4. alice removes carol: carol is told, and shows nothing of the room afterwards.
    world.user(HOST).type_in_room("/group kick carol");
    world
        .pump(Duration::from_secs(60), "carol's removal", |w| {
            w.get("carol")
                .room_transcript()
                .contains("The host removed you from the room.")
                && w.get(HOST).room_members() == ["alice", THIN]
        })
        .await;
    let carol_saw = world.get("carol").room_messages();
    // Lines from the host arrive in the order it sent them: what reaches carol after the
    // removal was sent after it.
    let carol_got = world.get("carol").received_from.len();
    world.room_says(HOST, "alice after the kick", &[THIN]).await;
    world.thin_says("dave after the kick", &[HOST]).await;
    typed.extend(["alice after the kick", "dave after the kick"].map(String::from));
    // Time for anything the host might still send carol (or bob) to arrive.
    world.settle(Duration::from_secs(3)).await;
    // The host sent carol nothing at all after removing her (nor did anyone else).
    assert_eq!(
        world.get("carol").received_from[carol_got..],
        [] as [String; 0]
    );
    for (nick, before, after) in [
        ("bob", &bob_saw, &typed[6..]),
        ("carol", &carol_saw, &typed[9..]),
    ] {
        let u = world.get(nick);
        assert_eq!(&u.room_messages(), before, "{nick}");
        for text in after {
            assert!(
                u.all_lines()
                    .iter()
                    .all(|(_, _, l)| !l.contains(text.as_str())),
                "{nick} shows {text:?}"
            );
        }
    }
    // Typing in carol's old room window sends nothing to the room.
    world.user("carol").type_in_room("carol tries to write");
    assert!(world
        .get("carol")
        .room_transcript()
        .contains("not in this room"));
    world.settle(Duration::from_secs(2)).await;
    assert!(!world.get(HOST).shows("carol", "carol tries to write"));
    assert!(!world
        .thin()
        .shown_decrypted(HOST)
        .iter()
        .any(|t| t.contains("carol tries to write")));
    // For those who left or were removed, the saved room state is finished (level 1).
    for nick in ["bob", "carol"] {
        let u = world.get(nick);
        assert_eq!(
            u.app.room_state().map(|s| s.level),
            Some(SecurityLevel::Finished),
            "{nick}"
        );
        assert_eq!(
            u.chatinfo_file(),
            format!("?AC?{nick}\t?CID?{id}\t?HOST?alice\t?STAT?1\n"),
            "{nick}"
        );
    }
    assert_eq!(
        world.get(HOST).app.room_state().map(|s| s.level),
        Some(SecurityLevel::Private)
    );

    // 5. No room alert, no unauthenticated line, nothing refused anywhere in the honest run.
    for u in &world.users {
        for (window, kind, text) in u.all_lines() {
            assert!(
                !text.contains("ROOM ALERT") && !text.contains("UNAUTHENTICATED"),
                "{} {window}: {text}",
                u.nick
            );
            // The one error a room window shows: carol typing after her removal.
            if window.starts_with("room:") && !text.starts_with("You are not in this room") {
                assert_ne!(kind, LineKind::Error, "{} {window}: {text}", u.nick);
            }
        }
    }
    assert!(
        world.thin().msg_events.is_empty(),
        "libotr reported {:?}",
        world.thin().msg_events
    );

    // The whole conversation, as each saw it: the host everything, bob up to his
    // departure, carol up to her removal, in the same order everywhere.
    let said = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    };
    let everything = said(&[
        ("alice", "alice opens the room"),
        ("bob", "bob says hello to the room"),
        ("carol", "carol is here too"),
        ("bob", "bob greets dave"),
        ("alice", "alice greets dave"),
        (THIN, "dave writes from a stock client"),
        ("carol", "carol after bob left"),
        ("alice", "alice after bob left"),
        (THIN, "dave after bob left"),
        ("alice", "alice after the kick"),
        (THIN, "dave after the kick"),
    ]);
    assert_eq!(world.get(HOST).room_messages(), everything);
    assert_eq!(world.get("bob").room_messages(), everything[..6]);
    assert_eq!(world.get("carol").room_messages(), everything[..9]);
    // The libotr user's private conversation with the host, line by line (the members of
    // a roster line in the order they joined: sorted here).
    let dave_saw: Vec<String> = world
        .thin()
        .shown_decrypted(HOST)
        .into_iter()
        .map(|line| match line.strip_prefix("[room] members: ") {
            Some(names) => {
                let mut names: Vec<&str> = names.split(", ").collect();
                names.sort_unstable();
                format!("[room] members: {}", names.join(", "))
            }
            None => line,
        })
        .collect();
    assert_eq!(
        dave_saw,
        [
            format!("[room {id}] you are in a private group hosted by alice; what you write here goes to everyone"),
            "[room] members: alice, bob, carol, dave".to_owned(),
            "<bob> bob greets dave".to_owned(),
            "<alice> alice greets dave".to_owned(),
            "[room] members: alice, carol, dave".to_owned(),
            "<carol> carol after bob left".to_owned(),
            "<alice> alice after bob left".to_owned(),
            "[room] members: alice, dave".to_owned(),
            "<alice> alice after the kick".to_owned(),
        ]
    );
    // The room's sessions opened no window, except each invitee's session with the host
    // (it starts before the invitation, so its fingerprint can be checked before joining).
    for u in &world.users {
        let queries: Vec<&str> = u
            .app
            .windows()
            .iter()
            .filter(|w| w.kind() == WindowKind::Query)
            .map(|w| w.name())
            .collect();
        let expected: &[&str] = if u.nick == HOST { &[] } else { &[HOST] };
        assert_eq!(queries, expected, "{}: {:#?}", u.nick, u.last_lines());
    }

    // Nothing typed crossed the network in the clear, either way.
    let (up, down) = (tap.to_server(), tap.to_client());
    for text in &typed {
        assert!(
            !contains(&up, text) && !contains(&down, text),
            "{text:?} crossed in the clear"
        );
    }
    println!(
        "figure: a room of three chat clients and a libotr thin member through ngircd (default flood control): {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// The host's connection is cut under it while bob and carol share no channel with it: the
/// server sends them no QUIT. bob writes at once: his line comes back ERR_NOSUCHNICK (or,
/// if it raced the server's noticing, its resend does). The successor learns it from the
/// same kind of bounce or from its `ISON` poll (every 20 s), takes over, and the other
/// member follows on its own detection (a successor's welcome that comes first waits for
/// it).
/// Then both talk on. Prints how long each took to follow the new host.
#[tokio::test]
async fn members_sharing_no_channel_with_a_crashed_host_hand_off_and_talk_on() {
    let started = Instant::now();
    let server = Ngircd::start(Options::default()).unwrap();
    let tap = Tap::start(server.port()).unwrap();
    let users = [
        User::new(tap.port(), HOST, 41),
        User::new(server.port(), "bob", 42),
        User::new(server.port(), "carol", 43),
    ];
    let mut trio = World::new(users, None);
    trio.pump(Duration::from_secs(30), "the connections", |w| {
        w.users.iter().all(|u| u.app.is_connected())
    })
    .await;
    // Nobody joined a channel.
    for u in &trio.users {
        assert!(
            u.app
                .windows()
                .iter()
                .all(|w| w.kind() != WindowKind::Channel),
            "{}",
            u.nick
        );
    }
    trio.user(HOST).type_in_status("/group host");
    let room = trio.get(HOST).room().unwrap();
    trio.user(HOST).type_in_room("/group invite bob");
    trio.user(HOST).type_in_room("/group invite carol");
    trio.pump(Duration::from_secs(60), "the invitations", |w| {
        ["bob", "carol"]
            .iter()
            .all(|n| w.get(n).status_transcript().contains("alice invites you"))
    })
    .await;
    for nick in ["bob", "carol"] {
        trio.user(nick).type_in_status("/group join");
    }
    trio.pump(Duration::from_secs(60), "the room of three", |w| {
        w.users
            .iter()
            .all(|u| u.room_members() == ["alice", "bob", "carol"])
    })
    .await;
    trio.room_says(HOST, "alice opens the room", &["bob", "carol"])
        .await;
    let formed = started.elapsed();

    // The successor, by the room's hand-off order.
    let next_nick = trio
        .get("bob")
        .app
        .group_node()
        .successor()
        .unwrap()
        .to_owned();
    let next = if next_nick == "bob" { "bob" } else { "carol" };
    let other = if next == "bob" { "carol" } else { "bob" };
    // The host crashes; the member who is not the successor writes at once.
    let cut = Instant::now();
    tap.cut();
    let early = format!("{other} writes just after the crash");
    trio.user(other).type_in_room(&early);
    trio.pump(Duration::from_secs(45), "the hand-off", |w| {
        [next, other].iter().all(|n| {
            let node = w.get(n).app.group_node();
            node.host_nick() == Some(next) && node.transcript().is_some_and(|t| t.epoch == 2)
        })
    })
    .await;
    let handed = cut.elapsed();
    assert!(trio.get(next).app.group_node().is_host());
    let mut how = Vec::new();
    for (i, u) in trio.users.iter().enumerate().skip(1) {
        let t = trio.followed[i].unwrap().duration_since(cut);
        let transcript = u.room_transcript();
        let learnt = if transcript.contains("a line to it came back: no such nick") {
            "its line bounced (ERR_NOSUCHNICK)"
        } else if transcript.contains("the server says it is not on IRC") {
            "its ISON poll"
        } else {
            "the successor's welcome"
        };
        how.push(format!(
            "{} after {:.2} s ({learnt})",
            u.nick,
            t.as_secs_f64()
        ));
    }
    println!(
        "room formed in {:.1} s; host cut, no shared channel: learnt the host was gone: {}; both in generation 2 under {next} {:.2} s after the cut",
        formed.as_secs_f64(),
        how.join(", "),
        handed.as_secs_f64()
    );
    // At least one of them learnt it from the server, with no QUIT.
    assert!(
        ["bob", "carol"].iter().any(|n| {
            trio.get(n)
                .room_transcript()
                .contains("The room's host alice left IRC")
        }),
        "{how:?}"
    );
    // The line written into the void reaches the new host and the other member.
    trio.pump(Duration::from_secs(30), "the early line", |w| {
        [next, other].iter().all(|n| w.get(n).shows(other, &early))
    })
    .await;
    // They talk on.
    trio.room_says(next, "the new host speaks", &[other]).await;
    trio.room_says(other, "and the member answers", &[next])
        .await;
    for n in [next, other] {
        let u = trio.get(n);
        assert_eq!(u.room_members(), [next.min(other), next.max(other)], "{n}");
        for (_, kind, text) in u.all_lines() {
            assert!(
                !(kind == LineKind::Error && text.contains("ROOM ALERT")),
                "{n}: {text}"
            );
        }
        assert_eq!(u.room().as_deref(), Some(room.as_str()));
    }
    println!(
        "hand-off without a shared channel: {:.1} s in all",
        started.elapsed().as_secs_f64()
    );
}

/// The paper's channel design from the chat client: alice and carol are in `#ops`, bob is
/// not. alice types `/group host #ops` and invites both; `/group join` makes bob's client
/// join `#ops` first. Each writes a line that the others show with its sender, and once the
/// room formed no host-member line travels by private message: the room's lines are tagged
/// OTR lines in `#ops`, which no channel window shows, while ordinary chatter there still
/// shows. Nothing typed crosses the network in the clear (alice's tap sees everything the
/// server relays to her in the channel).
#[tokio::test]
async fn a_room_delivered_in_a_channel_through_ngircd() {
    const CH: &str = "#ops";
    let started = Instant::now();
    let server = Ngircd::start(Options::default()).unwrap();
    let tap = Tap::start(server.port()).unwrap();
    let users = [
        User::new(tap.port(), HOST, 51),
        User::new(server.port(), "bob", 52),
        User::new(server.port(), "carol", 53),
    ];
    let mut trio = World::new(users, None);
    trio.pump(Duration::from_secs(30), "the connections", |w| {
        w.users.iter().all(|u| u.app.is_connected())
    })
    .await;
    for nick in [HOST, "carol"] {
        trio.user(nick).type_in_status(&format!("/join {CH}"));
    }
    trio.pump(Duration::from_secs(30), "alice and carol in #ops", |w| {
        [HOST, "carol"].iter().all(|n| {
            w.get(n).app.window(CH).is_some_and(|c| {
                c.members().any(|m| m == "alice") && c.members().any(|m| m == "carol")
            })
        })
    })
    .await;
    trio.user(HOST).type_in_status(&format!("/group host {CH}"));
    trio.user(HOST).type_in_room("/group invite bob");
    trio.user(HOST).type_in_room("/group invite carol");
    trio.pump(Duration::from_secs(60), "the invitations", |w| {
        ["bob", "carol"].iter().all(|n| {
            let s = w.get(n).status_transcript();
            s.contains("alice invites you") && s.contains("delivered in #ops")
        })
    })
    .await;
    for nick in ["bob", "carol"] {
        trio.user(nick).type_in_status("/group join");
    }
    trio.pump(Duration::from_secs(60), "the room of three in #ops", |w| {
        w.users
            .iter()
            .all(|u| u.room_members() == ["alice", "bob", "carol"])
    })
    .await;
    assert!(
        trio.get("bob").app.window(CH).is_some(),
        "bob's client joined #ops"
    );
    for u in &trio.users {
        assert_eq!(
            u.app.group_node().delivery(),
            group::Delivery::Channel(CH.into()),
            "{}",
            u.nick
        );
    }
    let formed = started.elapsed();
    let private_before: Vec<usize> = trio.users.iter().map(|u| u.received_from.len()).collect();
    let typed = [
        "alice speaks in the channel room",
        "bob answers in the channel room",
        "carol too, in the channel room",
    ];
    trio.room_says(HOST, typed[0], &["bob", "carol"]).await;
    trio.room_says("bob", typed[1], &[HOST, "carol"]).await;
    trio.room_says("carol", typed[2], &[HOST, "bob"]).await;
    trio.user("carol").type_in(CH, "plain chatter");
    trio.pump(Duration::from_secs(30), "the chatter", |w| {
        w.get(HOST).app.window(CH).is_some_and(|c| {
            c.lines().any(|l| {
                matches!(&l.kind, LineKind::Message { from, .. } if from == "carol")
                    && l.text == "plain chatter"
            })
        })
    })
    .await;
    let until = Instant::now() + Duration::from_secs(2);
    trio.pump(Duration::from_secs(10), "settling", move |_| {
        Instant::now() >= until
    })
    .await;
    // No host-member line went by private message once the room formed.
    for (i, u) in trio.users.iter().enumerate() {
        let later = &u.received_from[private_before[i]..];
        let from_host_link: Vec<&String> = later
            .iter()
            .filter(|f| (u.nick == HOST) != (f.as_str() == HOST))
            .collect();
        assert!(from_host_link.is_empty(), "{}: {from_host_link:?}", u.nick);
    }
    for u in &trio.users {
        // The channel window shows the chatter and nothing of the room.
        let c = u.app.window(CH).unwrap();
        let shown = c.transcript().join("\n");
        assert!(
            !shown.contains("?RECV?") && !shown.contains("?OTR"),
            "{}: {shown}",
            u.nick
        );
        let messages: Vec<&str> = c
            .lines()
            .filter(|l| matches!(l.kind, LineKind::Message { .. } | LineKind::Own { .. }))
            .map(|l| l.text.as_str())
            .collect();
        assert_eq!(messages, ["plain chatter"], "{}", u.nick);
        for (_, kind, text) in u.all_lines() {
            assert!(
                !(kind == LineKind::Error && text.contains("ROOM ALERT")),
                "{}: {text}",
                u.nick
            );
        }
    }
    // Everything the server relayed to alice in the channel was tagged OTR; nothing typed
    // crossed in the clear either way.
    let (up, down) = (tap.to_server(), tap.to_client());
    assert!(contains(&down, "?RECV?alice?ENDRECV?"));
    for text in typed {
        assert!(
            !contains(&up, text) && !contains(&down, text),
            "{text:?} crossed in the clear"
        );
    }
    println!(
        "channel-delivered room through ngircd: formed in {:.1} s, {:.1} s in all",
        formed.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
