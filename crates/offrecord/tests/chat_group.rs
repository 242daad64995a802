//! `/group` rooms in the chat client: three clients (alice hosts, bob and carol join) on an
//! in-memory IRC network that delivers every PRIVMSG to its target nick, as a server would.
//! Room traffic rides on the clients' private OTR sessions; nothing of it is in the clear.
//! The network also has channels (JOIN, and a PRIVMSG to a channel reaches its other
//! members), with an eavesdropper who can sit in one, for rooms delivered in a channel.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::needless_range_loop
)]

mod chat_common;

use chat_common::app;
use irc::{IrcCommand, IrcEvent};
use offrecord::chat::app::{App, Key, LineKind, WindowKind};
use offrecord::chat::ui;
use otr::Policy;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

struct Net3 {
    apps: Vec<App>,
    /// Every PRIVMSG (sender, target, text), in order.
    wire: Vec<(String, String, String)>,
    now: f64,
    /// PRIVMSGs from the first to the second client are held here, not delivered (a slow
    /// link), while set.
    hold: Option<(usize, usize)>,
    held: Vec<IrcCommand>,
    /// Clients whose connection is gone (crashed, without a QUIT any other client sees:
    /// the room shares no channel). A PRIVMSG to one comes back ERR_NOSUCHNICK; ISON
    /// says it is not on the network.
    gone: [bool; 3],
    /// Every ISON asked: (asker, nicks).
    isons: Vec<(usize, Vec<String>)>,
    /// Channel members, by channel.
    channels: std::collections::BTreeMap<String, Vec<usize>>,
    /// Channels an eavesdropper (no client of ours) sits in, and what it saw there:
    /// (sender, channel, text).
    eve_in: Vec<String>,
    eve_saw: Vec<(String, String, String)>,
}

const NICKS: [&str; 3] = ["alice", "bob", "carol"];

impl Net3 {
    fn new() -> Self {
        let apps = NICKS
            .iter()
            .enumerate()
            .map(|(i, n)| app(n, 11 + i as u64, Policy::OPPORTUNISTIC))
            .collect();
        let mut net = Self {
            apps,
            wire: Vec::new(),
            now: 1000.0,
            hold: None,
            held: Vec::new(),
            gone: [false; 3],
            isons: Vec::new(),
            channels: std::collections::BTreeMap::new(),
            eve_in: Vec::new(),
            eve_saw: Vec::new(),
        };
        net.tick();
        net
    }

    fn type_line(&mut self, who: usize, line: &str) {
        let now = self.now;
        let mut out = Vec::new();
        for c in line.chars() {
            out.extend(self.apps[who].on_key(Key::Char(c), now));
        }
        out.extend(self.apps[who].on_key(Key::Enter, now));
        self.deliver(who, out);
    }

    fn tick(&mut self) {
        self.now += 1.0;
        for i in 0..3 {
            if self.gone[i] {
                continue;
            }
            let out = self.apps[i].on_tick(self.now);
            self.deliver(i, out);
        }
    }

    fn deliver(&mut self, from: usize, commands: Vec<IrcCommand>) {
        let mut queue: Vec<(usize, IrcCommand)> = commands.into_iter().map(|c| (from, c)).collect();
        let mut steps = 0;
        while !queue.is_empty() {
            steps += 1;
            assert!(steps < 20_000, "the clients do not settle");
            let (who, command) = queue.remove(0);
            if self.gone[who] {
                continue;
            }
            if let (Some((from, to)), IrcCommand::Privmsg { target, .. }) = (self.hold, &command) {
                if who == from && target == NICKS[to] {
                    self.held.push(command);
                    continue;
                }
            }
            let sender = NICKS[who].to_owned();
            let events: Vec<(usize, IrcEvent)> = match command {
                IrcCommand::Privmsg { target, text } => {
                    assert!(!text.contains(['\r', '\n', '\0']), "{text:?}");
                    self.wire
                        .push((sender.clone(), target.clone(), text.clone()));
                    match NICKS.iter().position(|n| *n == target) {
                        Some(to) if self.gone[to] => vec![(
                            who,
                            IrcEvent::NoSuchNick {
                                nick: target,
                                reason: "No such nick or channel name".into(),
                            },
                        )],
                        Some(to) => vec![(
                            to,
                            IrcEvent::Message {
                                from: sender,
                                target,
                                text,
                                notice: false,
                            },
                        )],
                        None => {
                            let members = self.channels.get(&target).cloned().unwrap_or_default();
                            if self.eve_in.contains(&target) {
                                self.eve_saw
                                    .push((sender.clone(), target.clone(), text.clone()));
                            }
                            members
                                .into_iter()
                                .filter(|&m| m != who && !self.gone[m])
                                .map(|m| {
                                    (
                                        m,
                                        IrcEvent::Message {
                                            from: sender.clone(),
                                            target: target.clone(),
                                            text: text.clone(),
                                            notice: false,
                                        },
                                    )
                                })
                                .collect()
                        }
                    }
                }
                IrcCommand::Join(channel) => {
                    let members = self.channels.entry(channel.clone()).or_default();
                    if members.contains(&who) {
                        Vec::new()
                    } else {
                        members.push(who);
                        members
                            .iter()
                            .map(|&m| {
                                (
                                    m,
                                    IrcEvent::Joined {
                                        channel: channel.clone(),
                                        nick: sender.clone(),
                                    },
                                )
                            })
                            .collect()
                    }
                }
                IrcCommand::Ison(asked) => {
                    self.isons.push((who, asked.clone()));
                    let online = asked
                        .iter()
                        .filter(|n| {
                            NICKS
                                .iter()
                                .position(|m| m == n)
                                .is_some_and(|i| !self.gone[i])
                        })
                        .cloned()
                        .collect();
                    vec![(who, IrcEvent::IsOn { asked, online })]
                }
                IrcCommand::Quit(reason) => (0..3)
                    .filter(|&i| i != who)
                    .map(|i| {
                        (
                            i,
                            IrcEvent::Quit {
                                nick: sender.clone(),
                                reason: reason.clone(),
                            },
                        )
                    })
                    .collect(),
                _ => Vec::new(),
            };
            for (to, event) in events {
                let out = self.apps[to].on_irc(event, self.now);
                queue.extend(out.into_iter().map(|c| (to, c)));
            }
        }
    }

    /// The name of `who`'s room window.
    fn room_window(&self, who: usize) -> String {
        self.apps[who]
            .windows()
            .iter()
            .find(|w| w.kind() == WindowKind::Room)
            .unwrap_or_else(|| panic!("{} has no room window", NICKS[who]))
            .name()
            .to_owned()
    }

    /// `(sender, text)` of the room messages `who` shows (own lines included).
    fn room_messages(&self, who: usize) -> Vec<(String, String)> {
        let name = self.room_window(who);
        self.apps[who]
            .window(&name)
            .unwrap()
            .lines()
            .filter_map(|l| match &l.kind {
                LineKind::Message { from, .. } => Some((from.clone(), l.text.clone())),
                LineKind::Own { nick, .. } => Some((nick.clone(), l.text.clone())),
                _ => None,
            })
            .collect()
    }

    fn room_errors(&self, who: usize) -> Vec<String> {
        let name = self.room_window(who);
        self.apps[who]
            .window(&name)
            .unwrap()
            .lines()
            .filter(|l| l.kind == LineKind::Error)
            .map(|l| l.text.clone())
            .collect()
    }

    fn transcript(&self, who: usize, window: &str) -> Vec<String> {
        self.apps[who].window(window).unwrap().transcript()
    }

    /// Alice hosts; bob and carol accept with `/group join`.
    /// Alice hosts and types each of `invitations` (`/group invite bob`, `/group thin
    /// carol`); each of `joining` is told of its invitation and accepts with `/group join`;
    /// then three seconds pass.
    fn open_room(&mut self, invitations: &[&str], joining: &[usize]) {
        self.type_line(0, "/group host");
        for line in invitations {
            self.type_line(0, line);
        }
        for &who in joining {
            let status = self.apps[who].windows()[0].transcript().join("\n");
            assert!(
                status.contains("alice invites you to the private room"),
                "{status}"
            );
            self.type_line(who, "/group join");
        }
        for _ in 0..3 {
            self.tick();
        }
    }

    fn room_of_three() -> Self {
        let mut net = Self::new();
        net.open_room(&["/group invite bob", "/group invite carol"], &[1, 2]);
        for who in 0..3 {
            let w = net.apps[who].window(&net.room_window(who)).unwrap();
            let members: Vec<&str> = w.members().collect();
            assert_eq!(members, ["alice", "bob", "carol"], "{}", NICKS[who]);
            let info = w
                .room_info()
                .unwrap_or_else(|| panic!("{}: {:?}", NICKS[who], w.transcript()));
            assert_eq!(info.host, "alice");
            assert_eq!(info.level, group::SecurityLevel::Private);
        }
        // Everyone's room window has the same name (the room id).
        assert_eq!(net.room_window(0), net.room_window(1));
        assert_eq!(net.room_window(0), net.room_window(2));
        net
    }

    /// Stops holding and delivers what was held.
    fn release(&mut self) {
        let from = self.hold.take().map(|(from, _)| from);
        let held = std::mem::take(&mut self.held);
        if let Some(from) = from {
            self.deliver(from, held);
        }
    }

    /// `who` makes `window` active (opening a query with `/query` if it is missing).
    fn go_to(&mut self, who: usize, window: &str) {
        let now = self.now;
        match self.apps[who]
            .windows()
            .iter()
            .position(|w| w.name() == window)
        {
            Some(i) => {
                let out = self.apps[who].on_key(Key::Window(i + 1), now);
                self.deliver(who, out);
            }
            None => self.type_line(who, &format!("/query {window}")),
        }
        assert_eq!(self.apps[who].active_window().name(), window);
    }

    fn say(&mut self, who: usize, text: &str) {
        let name = self.room_window(who);
        self.go_to(who, &name);
        self.type_line(who, text);
        self.tick();
    }

    /// `who`'s room window has no error line and no line only the host vouches for.
    fn assert_authenticated(&self, who: usize) {
        let errors = self.room_errors(who);
        assert!(errors.is_empty(), "{}: {errors:?}", NICKS[who]);
        let lines = room_lines(self, who);
        assert!(!lines.iter().any(|l| vouched(l)), "{lines:#?}");
    }
}

#[test]
fn host_invites_two_members_and_messages_reach_all_three_with_their_sender() {
    let mut net = Net3::room_of_three();
    net.say(0, "hello from the host");
    net.say(1, "bob here");
    net.say(2, "carol too");
    let expected: Vec<(String, String)> = [
        ("alice", "hello from the host"),
        ("bob", "bob here"),
        ("carol", "carol too"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    for who in 0..3 {
        assert_eq!(net.room_messages(who), expected, "{}", NICKS[who]);
        // Keys settled while the room formed: every sender is known end to end (by the
        // pairwise key, or by the OTR session with the host), so no line is marked.
        net.assert_authenticated(who);
    }
    // Room text never crossed the network in the clear.
    for text in ["hello from the host", "bob here", "carol too"] {
        assert!(
            net.wire.iter().all(|(_, _, t)| !t.contains(text)),
            "{text} in the clear"
        );
    }
    // The room's own sessions open no query window, except the invitee's session with the
    // host, which starts before the invitation arrives (and shows the host's fingerprint,
    // to verify with /otr auth before joining).
    for who in 0..3 {
        let queries: Vec<&str> = net.apps[who]
            .windows()
            .iter()
            .filter(|w| w.kind() == WindowKind::Query)
            .map(|w| w.name())
            .collect();
        let expected: &[&str] = if who == 0 { &[] } else { &["alice"] };
        assert_eq!(queries, expected, "{}", NICKS[who]);
    }
}

#[test]
fn roster_shows_every_member_with_its_fingerprint_and_the_host() {
    let mut net = Net3::room_of_three();
    net.type_line(2, "/group roster");
    let name = net.room_window(2);
    let lines = net.transcript(2, &name).join("\n");
    for who in 0..3 {
        let fp = net.apps[who].engine().fingerprint().to_string();
        assert!(
            lines.contains(&format!("{} ", NICKS[who])) && lines.contains(&fp),
            "{} {fp} missing in:\n{lines}",
            NICKS[who]
        );
    }
    assert!(lines.contains("host alice"), "{lines}");
    assert!(lines.contains("alice (host)"), "{lines}");
}

#[test]
fn kick_stops_delivery_to_the_kicked_member() {
    let mut net = Net3::room_of_three();
    net.say(0, "before the kick");
    net.type_line(0, "/group kick carol");
    for _ in 0..3 {
        net.tick();
    }
    let carol_room = net.room_window(2);
    let carol = net.transcript(2, &carol_room).join("\n");
    assert!(
        carol.contains("The host removed you from the room."),
        "{carol}"
    );
    // The room state the runner saves no longer says private.
    let state = net.apps[2].room_state().unwrap();
    assert_eq!(state.level, group::SecurityLevel::Finished);
    assert_eq!(state.host, "alice");
    net.say(0, "after the kick");
    net.say(1, "bob after the kick");
    let carol_msgs: Vec<String> = net.room_messages(2).into_iter().map(|m| m.1).collect();
    assert_eq!(carol_msgs, ["before the kick"]);
    for who in [0, 1] {
        let msgs: Vec<String> = net.room_messages(who).into_iter().map(|m| m.1).collect();
        assert_eq!(
            msgs,
            ["before the kick", "after the kick", "bob after the kick"],
            "{}",
            NICKS[who]
        );
        let members: Vec<String> = net.apps[who]
            .window(&net.room_window(who))
            .unwrap()
            .members()
            .map(str::to_owned)
            .collect();
        assert_eq!(members, ["alice", "bob"]);
    }
    // Typing in carol's old room window sends nothing.
    let before = net.wire.len();
    net.say(2, "am I still here?");
    assert_eq!(net.wire.len(), before);
    assert!(net
        .transcript(2, &carol_room)
        .join("\n")
        .contains("not in this room"));
}

#[test]
fn a_member_leaves_and_the_others_go_on() {
    let mut net = Net3::room_of_three();
    net.type_line(1, "/group leave");
    for _ in 0..3 {
        net.tick();
    }
    let bob_room = net.room_window(1);
    assert!(net
        .transcript(1, &bob_room)
        .join("\n")
        .contains("You left the room."));
    // The room state the runner saves no longer says private.
    let state = net.apps[1].room_state().unwrap();
    assert_eq!(state.level, group::SecurityLevel::Finished);
    assert_eq!(
        net.apps[0].room_state().unwrap().level,
        group::SecurityLevel::Private
    );
    net.say(2, "carol after bob left");
    assert!(net.room_messages(1).is_empty());
    for who in [0, 2] {
        let msgs: Vec<String> = net.room_messages(who).into_iter().map(|m| m.1).collect();
        assert_eq!(msgs, ["carol after bob left"], "{}", NICKS[who]);
        let members: Vec<String> = net.apps[who]
            .window(&net.room_window(who))
            .unwrap()
            .members()
            .map(str::to_owned)
            .collect();
        assert_eq!(members, ["alice", "carol"], "{}", NICKS[who]);
    }
    // Without a room, the commands say so.
    net.type_line(1, "/group kick carol");
    let status = net.apps[1].active_window().transcript().join("\n");
    assert!(status.contains("/group kick:"), "{status}");
}

#[test]
fn the_room_window_on_screen() {
    let mut net = Net3::room_of_three();
    net.say(1, "hi all");
    net.say(0, "welcome bob");
    let app = &net.apps[2];
    let mut terminal = Terminal::new(TestBackend::new(100, 14)).unwrap();
    terminal.draw(|f| ui::draw(f, app)).unwrap();
    let screen = ui::buffer_text(terminal.backend().buffer());
    let text = screen.join("\n");
    let room = net.room_window(2);
    assert!(text.contains(&room), "{text}");
    assert!(text.contains("<bob> hi all"), "{text}");
    assert!(text.contains("<alice> welcome bob"), "{text}");
    // The status line: our nick, the room window, its security level and host.
    let status = &screen[screen.len() - 2];
    assert!(status.contains("[carol]"), "{status}");
    assert!(
        status.contains("room: private, host alice, 3 member(s)"),
        "{status}"
    );
}

#[test]
fn an_altered_relay_shows_a_room_alert_and_an_unauthenticated_line() {
    use group::envelope::{Envelope, Item};
    let mut net = Net3::room_of_three();
    // Alice, hosting, changes what bob wrote before relaying it to carol.
    net.apps[0].set_group_relay_hook(Some(Box::new(|to: &str, mut env: Envelope| {
        if to == "carol" {
            if let Envelope::Relay {
                item: Item::Msg(m), ..
            } = &mut env
            {
                if m.sender == "bob" {
                    m.body = "send the money to Mallory".into();
                }
            }
        }
        vec![env]
    })));
    net.say(1, "do not send money");
    let errors = net.room_errors(2);
    println!("carol sees: {errors:?}");
    assert!(
        errors.iter().any(|e| e.starts_with("ROOM ALERT:")),
        "{errors:?}"
    );
    // The altered text is never shown as bob's.
    assert!(!net
        .room_messages(2)
        .iter()
        .any(|(from, text)| from == "bob" && text.contains("Mallory")));
    // Bob's own view is intact.
    assert!(net
        .room_messages(1)
        .contains(&("bob".to_owned(), "do not send money".to_owned())));
}

#[test]
fn a_thin_member_reads_and_writes_the_room_through_its_private_conversation() {
    // Carol plays a stock OTR client: she never runs the room protocol, only the private
    // conversation with the host.
    let mut net = Net3::new();
    net.open_room(&["/group invite bob", "/group thin carol"], &[1]);
    let host_room = net.room_window(0);
    let members: Vec<&str> = net.apps[0].window(&host_room).unwrap().members().collect();
    assert_eq!(members, ["alice", "bob", "carol"]);
    net.type_line(0, "/group roster");
    let roster = net.transcript(0, &host_room).join("\n");
    assert!(
        roster.contains("carol [thin: stock OTR client]"),
        "{roster}"
    );

    // The state the runner saves in otr.chatinfo.
    let state = net.apps[1].room_state().unwrap();
    assert_eq!(
        (state.account.as_str(), state.host.as_str()),
        ("bob", "alice")
    );
    assert_eq!(state.level, group::SecurityLevel::Private);

    net.say(1, "bob to everyone");
    // Carol reads it in her private conversation with the host, prefixed with the sender.
    let carol_query = net.transcript(2, "alice").join("\n");
    assert!(
        carol_query.contains("<bob> bob to everyone"),
        "{carol_query}"
    );

    // What carol writes to the host reaches the room under her name.
    net.go_to(2, "alice");
    net.type_line(2, "carol from irssi");
    net.tick();
    for who in [0, 1] {
        let got = net.room_messages(who);
        assert!(
            got.contains(&("carol".to_owned(), "carol from irssi".to_owned())),
            "{}: {got:?}",
            NICKS[who]
        );
    }
    // Only the host vouches for a thin member's line: bob's window marks it. The host
    // knows carol by its own OTR session with her: unmarked.
    let bob = room_lines(&net, 1);
    assert!(
        bob.iter()
            .any(|l| l.ends_with("<carol> [host vouches] carol from irssi")),
        "{bob:#?}"
    );
    let alice = room_lines(&net, 0);
    assert!(
        alice
            .iter()
            .any(|l| l.ends_with("<carol> carol from irssi")),
        "{alice:#?}"
    );
    // The roster says so, for each side.
    let carol_fp = net.apps[2].engine().fingerprint().to_string();
    let bob_fp = net.apps[1].engine().fingerprint().to_string();
    net.type_line(1, "/group roster");
    let bob = room_lines(&net, 1);
    let e = format!("  carol [thin: stock OTR client] {carol_fp}: thin: the host vouches");
    assert!(bob.iter().any(|l| l.ends_with(&e)), "{e} in {bob:#?}");
    net.go_to(0, &host_room);
    net.type_line(0, "/group roster");
    let alice = room_lines(&net, 0);
    for e in [
        format!("  carol [thin: stock OTR client] {carol_fp}: end to end: our OTR session with it"),
        format!("  bob {bob_fp}: end to end: our OTR session with it"),
    ] {
        assert!(alice.iter().any(|l| l.ends_with(&e)), "{e} in {alice:#?}");
    }
    for text in ["bob to everyone", "carol from irssi"] {
        assert!(
            net.wire.iter().all(|(_, _, t)| !t.contains(text)),
            "{text} in the clear"
        );
    }
}

#[test]
fn room_traffic_in_flight_to_a_member_who_left_opens_no_window() {
    let mut net = Net3::room_of_three();
    // carol's lines to bob are slow: her digest after the next message stays in flight.
    net.hold = Some((2, 1));
    net.say(0, "a line for the digests");
    for _ in 0..8 {
        net.tick();
    }
    assert!(!net.held.is_empty(), "carol sent bob nothing");
    net.type_line(1, "/group leave");
    for _ in 0..3 {
        net.tick();
    }
    // Now it arrives: bob, out of the room, has nothing to show and opens no window.
    net.release();
    let windows: Vec<&str> = net.apps[1].windows().iter().map(|w| w.name()).collect();
    assert!(!windows.contains(&"carol"), "{windows:?}");
    assert_eq!(net.apps[1].windows().len(), 3, "{windows:?}");
}

/// The rendered room window of `who`, one line each.
fn room_lines(net: &Net3, who: usize) -> Vec<String> {
    net.transcript(who, &net.room_window(who))
}

/// True if `line` (rendered) is a room line marked as vouched for by the host only.
fn vouched(line: &str) -> bool {
    line.contains("> [host vouches] ")
}

#[test]
fn lines_only_the_host_vouches_for_are_marked_until_the_pairwise_key_is_ready() {
    let mut net = Net3::new();
    // carol's lines to bob are held: their pairwise OTR session (and key) cannot form.
    net.hold = Some((2, 1));
    net.open_room(&["/group invite bob", "/group invite carol"], &[1, 2]);
    net.say(1, "bob early");
    net.say(2, "carol early");
    net.type_line(1, "/group roster");
    net.type_line(2, "/group roster");
    let fps: Vec<String> = (0..3)
        .map(|who| net.apps[who].engine().fingerprint().to_string())
        .collect();
    let fp = |who: usize| fps[who].clone();
    let bob = room_lines(&net, 1);
    let carol = room_lines(&net, 2);
    // Each member sees the other's line as the host's word only; its own line, unmarked.
    assert!(
        bob.iter()
            .any(|l| l.ends_with("<carol> [host vouches] carol early")),
        "{bob:#?}"
    );
    assert!(
        bob.iter().any(|l| l.ends_with("<bob> bob early")),
        "{bob:#?}"
    );
    assert!(
        carol
            .iter()
            .any(|l| l.ends_with("<bob> [host vouches] bob early")),
        "{carol:#?}"
    );
    // The host knows every sender by its own OTR session with it: nothing is marked.
    assert!(!room_lines(&net, 0).iter().any(|l| vouched(l)));
    // The roster says why.
    for (lines, me, other) in [(&bob, 1, 2), (&carol, 2, 1)] {
        let expect = [
            format!(
                "  alice (host) {}: end to end: our OTR session with the host",
                fp(0)
            ),
            format!("  {} {}: you", NICKS[me], fp(me)),
            format!(
                "  {} {}: pending: the host vouches until our pairwise key is ready",
                NICKS[other],
                fp(other)
            ),
        ];
        for e in expect {
            assert!(lines.iter().any(|l| l.ends_with(&e)), "{e} in {lines:#?}");
        }
    }
    // The window's line kind says it too, and the screen shows it in its own colour.
    let w = net.apps[1].window(&net.room_window(1)).unwrap();
    let marked: Vec<(&str, bool)> = w
        .lines()
        .filter_map(|l| match &l.kind {
            LineKind::Message { from, vouched, .. } => Some((from.as_str(), *vouched)),
            _ => None,
        })
        .collect();
    assert_eq!(marked, [("carol", true)]);
    let mut terminal = Terminal::new(TestBackend::new(100, 20)).unwrap();
    let name = net.room_window(1);
    net.go_to(1, &name);
    terminal.draw(|f| ui::draw(f, &net.apps[1])).unwrap();
    let buffer = terminal.backend().buffer();
    let screen = ui::buffer_text(buffer);
    let row = screen
        .iter()
        .position(|r| r.contains("[host vouches] carol early"))
        .unwrap_or_else(|| panic!("{screen:#?}"));
    let row = u16::try_from(row).unwrap();
    assert_eq!(buffer[(0, row)].fg, ratatui::style::Color::Yellow);
    let own = screen
        .iter()
        .position(|r| r.contains("<bob> bob early"))
        .unwrap();
    assert_ne!(
        buffer[(0, u16::try_from(own).unwrap())].fg,
        ratatui::style::Color::Yellow
    );

    // carol's lines reach bob at last: the pairwise key forms, and from then on each knows
    // the other's lines end to end.
    net.release();
    for _ in 0..3 {
        net.tick();
    }
    assert!(net.apps[1].group_node().pairwise_ready("carol"));
    assert!(net.apps[2].group_node().pairwise_ready("bob"));
    net.say(1, "bob later");
    net.say(2, "carol later");
    net.type_line(1, "/group roster");
    net.type_line(2, "/group roster");
    for (who, other) in [(1, 2), (2, 1)] {
        let lines = room_lines(&net, who);
        let e = format!(
            "  {} {}: end to end: our pairwise key",
            NICKS[other],
            fp(other)
        );
        assert!(lines.iter().any(|l| l.ends_with(&e)), "{e} in {lines:#?}");
        for text in ["bob later", "carol later"] {
            let line = lines.iter().find(|l| l.contains(text)).unwrap();
            assert!(!vouched(line), "{line}");
        }
        assert!(
            net.room_errors(who).is_empty(),
            "{:?}",
            net.room_errors(who)
        );
    }
}

#[test]
fn closing_a_query_window_keeps_the_session_the_room_uses() {
    use otr::ConversationState;
    let mut net = Net3::room_of_three();
    // bob closes his window with the host; carol, hers with bob (a fellow member: their
    // pairwise key rides on that session); alice, hosting, hers with carol.
    for (who, peer) in [(1, "alice"), (2, "bob"), (0, "carol")] {
        net.go_to(who, peer);
        assert!(net.apps[who].active_window().otr().is_private());
        let wire = net.wire.len();
        net.type_line(who, "/close");
        assert!(
            net.apps[who].window(peer).is_none(),
            "{}: {peer}",
            NICKS[who]
        );
        assert_eq!(
            net.apps[who].engine().state(peer),
            ConversationState::Encrypted,
            "{}: {peer}",
            NICKS[who]
        );
        // Nothing was sent: no disconnect reached the peer.
        assert_eq!(net.wire.len(), wire);
        let status = net.apps[who].windows()[0].transcript().join("\n");
        assert!(
            status.contains(&format!(
                "OTR session with {peer} kept: the room uses it. /query {peer}, then /otr finish, ends it."
            )),
            "{status}"
        );
    }
    // The room goes on, private and authenticated end to end.
    net.say(1, "still private");
    for who in 0..3 {
        let msgs: Vec<String> = net.room_messages(who).into_iter().map(|m| m.1).collect();
        assert_eq!(msgs, ["still private"], "{}", NICKS[who]);
        net.assert_authenticated(who);
        assert_eq!(
            net.apps[who].room_state().unwrap().level,
            group::SecurityLevel::Private
        );
    }
    // /otr finish still ends it when the user says so.
    net.go_to(2, "bob");
    assert!(net.apps[2].active_window().otr().is_private());
    net.type_line(2, "/otr finish");
    assert_ne!(
        net.apps[2].engine().state("bob"),
        ConversationState::Encrypted
    );

    // Out of the room, /close ends the private conversation as before.
    net.type_line(1, "/group leave");
    for _ in 0..3 {
        net.tick();
    }
    net.go_to(1, "alice");
    assert!(net.apps[1].active_window().otr().is_private());
    net.type_line(1, "/close");
    assert!(net.apps[1].window("alice").is_none());
    assert_ne!(
        net.apps[1].engine().state("alice"),
        ConversationState::Encrypted
    );
    let status = net.apps[1].windows()[0].transcript().join("\n");
    // Only the earlier /close, in the room, kept it.
    assert_eq!(
        status.matches("OTR session with alice kept").count(),
        1,
        "{status}"
    );
}

/// alice's successor (bob or carol), by the room's hand-off order (asked while alice
/// hosts: afterwards a member names the next host's successor).
fn successor(net: &Net3) -> &'static str {
    let next = net.apps[1].group_node().successor().unwrap().to_owned();
    NICKS.into_iter().find(|n| *n == next).unwrap()
}

fn host_of(net: &Net3, who: usize) -> Option<String> {
    net.apps[who].group_node().host_nick().map(str::to_owned)
}

/// After alice vanished: bob and carol follow the successor and talk on; each shows the
/// other's lines with their sender and no room error.
fn assert_room_goes_on_without_alice(net: &mut Net3, next: &str) {
    let mut noticed = 0;
    for who in [1, 2] {
        assert_eq!(host_of(net, who).as_deref(), Some(next), "{}", NICKS[who]);
        let note = net.transcript(who, &net.room_window(who)).join("\n");
        // Each learnt it from the server and says so: a successor's welcome that came
        // first waited for that.
        if note.contains("The room's host alice left IRC") {
            noticed += 1;
        }
        assert!(
            note.contains(&format!("The room has a new host: {next} (generation 2)")),
            "{}: {note}",
            NICKS[who]
        );
    }
    assert_eq!(noticed, 2);
    net.say(1, "bob after the hand-off");
    net.say(2, "carol after the hand-off");
    for _ in 0..3 {
        net.tick();
    }
    for who in [1, 2] {
        let msgs = net.room_messages(who);
        for line in [
            ("bob", "bob after the hand-off"),
            ("carol", "carol after the hand-off"),
        ] {
            let n = msgs
                .iter()
                .filter(|(f, t)| f == line.0 && t == line.1)
                .count();
            assert_eq!(n, 1, "{}: {msgs:?}", NICKS[who]);
        }
        let errors = net.room_errors(who);
        assert!(errors.is_empty(), "{}: {errors:?}", NICKS[who]);
        let members: Vec<String> = net.apps[who]
            .window(&net.room_window(who))
            .unwrap()
            .members()
            .map(str::to_owned)
            .collect();
        assert_eq!(members, ["bob", "carol"], "{}", NICKS[who]);
    }
}

#[test]
fn a_line_to_a_host_gone_from_irc_comes_back_no_such_nick_and_the_room_hands_off() {
    let mut net = Net3::room_of_three();
    // alice crashes; bob and carol share no channel with her, so no QUIT reaches them.
    let next = successor(&net);
    net.gone[0] = true;
    net.say(1, "is anyone hosting?");
    // bob's line came back ERR_NOSUCHNICK: he followed the successor at once.
    assert_eq!(host_of(&net, 1).as_deref(), Some(next));
    net.say(2, "carol too");
    for _ in 0..3 {
        net.tick();
    }
    // Nobody needed to poll: the bounced lines told them.
    assert!(net.isons.is_empty(), "{:?}", net.isons);
    // The lines that bounced were sent again to the new host and reached both.
    for who in [1, 2] {
        let msgs = net.room_messages(who);
        for (from, text) in [("bob", "is anyone hosting?"), ("carol", "carol too")] {
            assert!(
                msgs.iter().any(|(f, t)| f == from && t == text),
                "{}: {msgs:?}",
                NICKS[who]
            );
        }
    }
    assert_room_goes_on_without_alice(&mut net, next);
}

#[test]
fn a_silent_room_notices_its_host_left_irc_by_polling_ison() {
    let mut net = Net3::room_of_three();
    // While alice is there, the members' polls find her, and nothing changes.
    let polls_before = net.isons.len();
    for _ in 0..21 {
        net.tick();
    }
    assert!(net.isons.len() > polls_before);
    for who in [1, 2] {
        assert_eq!(host_of(&net, who).as_deref(), Some("alice"));
    }
    // alice crashes; nobody speaks.
    let next = successor(&net);
    net.gone[0] = true;
    net.isons.clear();
    let mut ticks = 0;
    while [1, 2]
        .iter()
        .any(|&who| host_of(&net, who).as_deref() == Some("alice"))
    {
        ticks += 1;
        assert!(ticks <= 25, "no hand-off after {ticks} ticks");
        net.tick();
    }
    // Each member's poll found alice gone (a successor's welcome that came first waited
    // for it); one short line per member and poll.
    assert_eq!(net.isons[0].1, ["alice"]);
    for (who, asked) in &net.isons {
        assert!(matches!(who, 1 | 2), "{who}");
        assert_eq!(asked.len(), 1);
    }
    assert!(net.isons.len() <= 2, "{:?}", net.isons);
    for _ in 0..3 {
        net.tick();
    }
    assert_room_goes_on_without_alice(&mut net, next);
}

#[test]
fn a_line_typed_just_before_a_tick_is_not_sent_twice_while_its_echo_is_slow() {
    let mut net = Net3::room_of_three();
    let last_tick = net.now;
    // bob's lines to alice are slow (flood control); he types 0.99 s after the last tick.
    net.hold = Some((1, 0));
    net.now = last_tick + 0.99;
    let room = net.room_window(1);
    net.go_to(1, &room);
    net.type_line(1, "typed late in the second");
    let sent = net.held.len();
    assert!(sent >= 1);
    // Two seconds after the last tick (1.01 s after the line went out), the next tick but
    // one: bob's room must not send the line again before its 2 s retry.
    net.now = last_tick + 1.0;
    net.tick();
    assert_eq!(net.now, last_tick + 2.0);
    assert_eq!(net.held.len(), sent, "bob sent the line again");
    // The line arrives; everyone shows it once.
    net.release();
    for _ in 0..3 {
        net.tick();
    }
    for who in 0..3 {
        let n = net
            .room_messages(who)
            .iter()
            .filter(|(f, t)| f == "bob" && t == "typed late in the second")
            .count();
        assert_eq!(n, 1, "{}", NICKS[who]);
    }
}

#[test]
fn a_host_whose_line_to_a_member_bounces_takes_it_off_the_roster() {
    // As a QUIT would (had they shared a channel): the server says carol is not on IRC.
    let mut net = Net3::room_of_three();
    net.gone[2] = true;
    net.say(0, "alice to the room");
    net.tick();
    for who in [0, 1] {
        let members: Vec<String> = net.apps[who]
            .window(&net.room_window(who))
            .unwrap()
            .members()
            .map(str::to_owned)
            .collect();
        assert_eq!(members, ["alice", "bob"], "{}", NICKS[who]);
        assert_eq!(host_of(&net, who).as_deref(), Some("alice"));
    }
    // The room goes on between the two.
    net.say(1, "bob still here");
    assert!(net
        .room_messages(0)
        .contains(&("bob".to_owned(), "bob still here".to_owned())));
    assert!(net.room_errors(0).is_empty(), "{:?}", net.room_errors(0));
    assert!(net.room_errors(1).is_empty(), "{:?}", net.room_errors(1));
}

#[test]
fn a_room_delivered_in_a_channel_reaches_all_three_and_the_channel_shows_only_chatter() {
    const CH: &str = "#ops";
    let mut net = Net3::new();
    net.eve_in.push(CH.to_owned());
    // The host must be in the channel first.
    net.type_line(0, &format!("/group host {CH}"));
    let status = net.apps[0].active_window().transcript().join("\n");
    assert!(
        status.contains("you are not in #ops; /join #ops first"),
        "{status}"
    );
    assert!(net.apps[0].group_node().room_id().is_none());
    net.type_line(0, &format!("/join {CH}"));
    // carol is in the channel already; bob is not (his client joins it when he accepts).
    net.type_line(2, &format!("/join {CH}"));
    net.type_line(0, &format!("/group host {CH}"));
    assert_eq!(
        net.apps[0].group_node().delivery(),
        group::Delivery::Channel(CH.into())
    );
    net.type_line(0, "/group invite bob");
    net.type_line(0, "/group invite carol");
    for who in [1, 2] {
        let status = net.apps[who].windows()[0].transcript().join("\n");
        assert!(
            status.contains("alice invites you to the private room")
                && status.contains("delivered in #ops"),
            "{status}"
        );
        if who == 1 {
            assert!(status.contains("it joins #ops for you"), "{status}");
        }
        net.type_line(who, "/group join");
    }
    for _ in 0..3 {
        net.tick();
    }
    // bob's client joined the channel for him.
    assert_eq!(net.channels[CH], [0, 2, 1]);
    for who in 0..3 {
        let w = net.apps[who].window(&net.room_window(who)).unwrap();
        let members: Vec<&str> = w.members().collect();
        assert_eq!(members, ["alice", "bob", "carol"], "{}", NICKS[who]);
        assert_eq!(
            net.apps[who].group_node().delivery(),
            group::Delivery::Channel(CH.into()),
            "{}",
            NICKS[who]
        );
    }
    let formed = net.wire.len();
    net.say(0, "hello from the host");
    net.say(1, "bob here");
    net.say(2, "carol too");
    for _ in 0..3 {
        net.tick();
    }
    let expected: Vec<(String, String)> = [
        ("alice", "hello from the host"),
        ("bob", "bob here"),
        ("carol", "carol too"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    for who in 0..3 {
        assert_eq!(net.room_messages(who), expected, "{}", NICKS[who]);
        net.assert_authenticated(who);
    }
    // Once the room formed, host and members talked only through the channel, tagged
    // (member-member lines, pairwise keys and digests, stay private by design).
    for (from, to, text) in &net.wire[formed..] {
        let host_link = (from == "alice" && (to == "bob" || to == "carol"))
            || (to == "alice" && (from == "bob" || from == "carol"));
        assert!(!host_link, "{from} -> {to}: {text}");
    }
    // The channel windows show no room traffic: no tagged line, no OTR, no chatter at all.
    for who in 0..3 {
        let w = net.apps[who].window(CH).unwrap();
        let shown = w.transcript().join("\n");
        assert!(
            !shown.contains("?RECV?") && !shown.contains("?OTR"),
            "{}: {shown}",
            NICKS[who]
        );
        assert!(
            !w.lines()
                .any(|l| matches!(l.kind, LineKind::Message { .. })),
            "{}: {shown}",
            NICKS[who]
        );
    }
    // The eavesdropper in the channel saw only tagged OTR lines, nothing in the clear.
    assert!(net.eve_saw.len() > 10, "{}", net.eve_saw.len());
    for (_, _, text) in &net.eve_saw {
        let t = group::envelope::untag(text).unwrap_or_else(|| panic!("untagged {text}"));
        assert!(t.payload.starts_with("?OTR"), "{text}");
        for secret in ["hello from the host", "bob here", "carol too", "?GRP"] {
            assert!(!text.contains(secret), "{text}");
        }
    }
    // The roster says how the room travels.
    net.type_line(1, "/group roster");
    let name = net.room_window(1);
    let lines = net.transcript(1, &name).join("\n");
    assert!(lines.contains("host alice, in #ops"), "{lines}");
    // Ordinary chatter in the channel is still shown as chatter.
    net.go_to(2, CH);
    net.type_line(2, "just chatting");
    let chatter: Vec<(String, String)> = net.apps[0]
        .window(CH)
        .unwrap()
        .lines()
        .filter_map(|l| match &l.kind {
            LineKind::Message { from, .. } => Some((from.clone(), l.text.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(chatter, [("carol".to_owned(), "just chatting".to_owned())]);
    // A private room stays private: alice leaves, and her next room uses private messages.
    net.go_to(0, &net.room_window(0));
    net.type_line(0, "/group leave");
    assert_eq!(
        net.apps[0].group_node().delivery(),
        group::Delivery::Private
    );
}
