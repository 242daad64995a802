//! The terminal interface, headless: the app is drawn into ratatui's test backend and whole
//! screens are compared as text (window list, status line in every OTR state, command
//! output, scrollback, input history).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod chat_common;

use chat_common::{Net, Who};
use irc::IrcEvent;
use offrecord::chat::app::{App, Key};
use offrecord::chat::ui;
use otr::Policy;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

const W: u16 = 72;
const H: u16 = 10;

fn screen(app: &App, width: u16, height: u16) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| ui::draw(frame, app)).unwrap();
    ui::buffer_text(terminal.backend().buffer())
}

/// Compares a screen with the expected rows, printing both when they differ.
fn assert_screen(app: &App, expected: &[&str]) {
    assert_screen_sized(app, W, H, expected);
}

fn assert_screen_sized(app: &App, width: u16, height: u16, expected: &[&str]) {
    let actual = screen(app, width, height);
    if actual != expected {
        let shown: Vec<String> = actual.iter().map(|r| format!("        {r:?},")).collect();
        panic!("screen differs; it is:\n{}\n", shown.join("\n"));
    }
}

fn status_row(app: &App) -> String {
    screen(app, W, H)[usize::from(H) - 2].clone()
}

fn ev_msg(from: &str, target: &str, text: &str) -> IrcEvent {
    IrcEvent::Message {
        from: from.into(),
        target: target.into(),
        text: text.into(),
        notice: false,
    }
}

#[test]
fn window_list_shows_every_window_the_active_one_and_activity() {
    let mut net = Net::new(Policy::MANUAL);
    let now = net.now;
    net.type_line(Who::Alice, "/join #rust");
    net.type_line(Who::Alice, "/join #news");
    let app = &mut net.alice;
    let _ = app.on_irc(ev_msg("carol", "alice", "psst, alice"), now);
    let _ = app.on_irc(ev_msg("dave", "#rust", "anyone here?"), now);
    let _ = app.on_irc(
        IrcEvent::Joined {
            channel: "#news".into(),
            nick: "erin".into(),
        },
        now,
    );
    let _ = app.on_irc(IrcEvent::Info("Welcome to the network".into()), now);
    let _ = app.on_key(Key::Window(3), now);
    // Active in brackets; - news, + messages, * a private message.
    assert_screen(
        app,
        &[
            " 1:(status)- 2:#rust+ [3:#news] 4:carol*",
            "00:16 -!- You joined #news. Channel messages are public: OTR protects",
            "      private conversations only (/query NICK).",
            "00:16 -!- erin joined #news",
            "",
            "",
            "",
            "",
            "[alice] [3:#news] [public channel, not OTR]",
            "[#news]",
        ],
    );
    let _ = app.on_key(Key::Window(4), now);
    assert_eq!(
        screen(app, W, H)[0],
        " 1:(status)- 2:#rust+ 3:#news [4:carol]"
    );
}

#[test]
fn status_line_in_every_otr_state() {
    let mut net = Net::new(Policy::MANUAL);
    net.type_line(Who::Alice, "/query bob");
    let plaintext = status_row(&net.alice);
    let query = net.type_only(Who::Alice, "/otr init");
    let _ = net.type_only(Who::Alice, "held one");
    let starting = status_row(&net.alice);
    net.deliver(Who::Alice, query);
    let unverified = status_row(&net.alice);
    net.type_line(Who::Alice, "/otr auth sesame");
    let smp_asked = status_row(&net.alice);
    net.type_line(Who::Bob, "/query alice");
    let smp_requested = status_row(&net.bob);
    net.type_line(Who::Bob, "/otr auth sesame");
    let private = status_row(&net.alice);
    net.type_line(Who::Bob, "/otr finish");
    let finished = status_row(&net.alice);
    net.type_line(Who::Alice, "/join #rust");
    let channel = status_row(&net.alice);
    let _ = net.alice.on_irc(
        IrcEvent::Disconnected {
            reason: "connection reset".into(),
            retry_in_ms: 4000,
        },
        net.now,
    );
    let _ = net.alice.on_key(Key::Window(1), net.now);
    let status = status_row(&net.alice);
    assert_eq!(
        [
            plaintext,
            starting,
            unverified,
            smp_asked,
            smp_requested,
            private,
            finished,
            channel,
            status
        ],
        [
            "[alice] [2:bob] [OTR: plaintext]",
            "[alice] [2:bob] [OTR: starting] [held: 1]",
            "[alice] [2:bob] [OTR: unverified]",
            "[alice] [2:bob] [OTR: unverified] [SMP: waiting for answer]",
            "[bob] [2:alice] [OTR: unverified] [SMP: /otr auth to answer]",
            "[alice] [2:bob] [OTR: private]",
            "[alice] [2:bob] [OTR: finished]",
            "[alice] [3:#rust] [public channel, not OTR]",
            "[alice] [1:(status)] [disconnected, retrying in 4s]",
        ],
    );
}

#[test]
fn a_private_conversation_on_screen() {
    let mut net = Net::new(Policy::MANUAL);
    net.connect();
    net.type_line(Who::Alice, "hello Bob");
    net.type_line(Who::Bob, "hi Alice, all private?");
    net.type_line(Who::Alice, "/otr trust");
    assert_screen(
        &net.alice,
        &[
            " 1:(status) [2:bob]",
            "00:16 [OTR] bob's fingerprint BF3768C0 B0365CD1 01EE92FC 681E978B",
            "      33B39E15 is NOT verified: check it with /otr auth SECRET, /otr",
            "      authq QUESTION SECRET, or compare it and /otr trust.",
            "00:16 <alice> hello Bob",
            "00:16 <bob> hi Alice, all private?",
            "00:16 [OTR] bob's fingerprint BF3768C0 B0365CD1 01EE92FC 681E978B",
            "      33B39E15 is now verified.",
            "[alice] [2:bob] [OTR: private]",
            "[bob]",
        ],
    );
}

#[test]
fn otr_info_shows_both_fingerprints() {
    let mut net = Net::new(Policy::MANUAL);
    net.connect();
    net.type_line(Who::Alice, "/clear");
    net.type_line(Who::Alice, "/otr info");
    assert_screen_sized(
        &net.alice,
        80,
        10,
        &[
            " 1:(status) [2:bob]",
            "00:16 Your fingerprint (alice): DE97884C 1A66DE95 9DEFB717 989C95D8 526AF630",
            "00:16 bob's fingerprint: BF3768C0 B0365CD1 01EE92FC 681E978B 33B39E15 (NOT",
            "      verified)",
            "00:16 Conversation with bob: unverified",
            "00:16 Known for bob: BF3768C0 B0365CD1 01EE92FC 681E978B 33B39E15 (not verified)",
            "00:16 Policy: manual",
            "",
            "[alice] [2:bob] [OTR: unverified]",
            "[bob]",
        ],
    );
    assert_eq!(
        net.alice.engine().fingerprint().to_string(),
        "DE97884C 1A66DE95 9DEFB717 989C95D8 526AF630"
    );
    assert_eq!(
        net.bob.engine().fingerprint().to_string(),
        "BF3768C0 B0365CD1 01EE92FC 681E978B 33B39E15"
    );
}

#[test]
fn otr_policy_shows_and_sets() {
    let mut net = Net::new(Policy::OPPORTUNISTIC);
    net.type_line(Who::Alice, "/query bob");
    net.type_line(Who::Alice, "/clear");
    net.type_line(Who::Alice, "/otr policy");
    net.type_line(Who::Alice, "/otr policy always");
    net.type_line(Who::Alice, "/otr policy sometimes");
    assert_screen_sized(
        &net.alice,
        80,
        12,
        &[
            " 1:(status) [2:bob]",
            "00:16 OTR policy: opportunistic (OTR starts by itself with peers that have it;",
            "      messages may go out in the clear until it does).",
            "00:16 Set it with /otr policy manual|opportunistic|always.",
            "00:16 OTR policy: always (encryption required: nothing is sent in the clear to",
            "      a nick; messages wait for the private conversation).",
            "00:16 Set it with /otr policy manual|opportunistic|always.",
            "00:16 [!] Usage: /otr policy [manual|opportunistic|always]",
            "",
            "",
            "[alice] [2:bob] [OTR: plaintext]",
            "[bob]",
        ],
    );
    assert_eq!(net.alice.policy_name(), "always");
}

#[test]
fn help_and_unknown_commands() {
    let mut net = Net::new(Policy::MANUAL);
    net.type_line(Who::Alice, "/clear");
    net.type_line(Who::Alice, "/frobnicate now");
    net.type_line(Who::Alice, "/otr dance");
    net.type_line(Who::Alice, "/help");
    assert_screen_sized(
        &net.alice,
        80,
        28,
        &[
            " [1:(status)]",
            "00:16 [!] Unknown command /frobnicate. Type /help for the commands.",
            "00:16 [!] Unknown OTR command /otr dance. Type /otr help.",
            "00:16 Commands:",
            "00:16   /join #channel       join a channel (public: channels are never OTR)",
            "00:16   /part [#chan] [why]  leave a channel",
            "00:16   /query NICK          open a private conversation window",
            "00:16   /msg NICK|#chan TEXT send one message",
            "00:16   /nick NEWNICK        change your nick",
            "00:16   /close, /clear       close or clear this window",
            "00:16   /quit [reason]       end private conversations and quit",
            "00:16   /otr init            start a private conversation (in a query window)",
            "00:16   /otr finish          end it",
            "00:16   /otr trust|distrust  mark the peer's fingerprint verified or not",
            "00:16   /otr auth SECRET     verify the peer with a shared secret (or answer)",
            "00:16   /otr authq QUESTION SECRET   the same, asking a question",
            "00:16   /otr abort           abort a verification",
            "00:16   /otr info            your fingerprint and the peer's",
            "00:16   /otr policy [manual|opportunistic|always]   show or set the policy",
            "00:16   /group host          open a private room (window room:ID) that you host",
            "00:16   /group host #chan    the same, its lines tagged in #chan (paper design)",
            "00:16   /group invite|kick NICK   (host) invite over OTR, or remove",
            "00:16   /group thin NICK     (host) invite a stock OTR client (irssi, Pidgin)",
            "00:16   /group join|leave    accept an invitation; leave (or decline)",
            "00:16   /group roster        the host and members, with fingerprints",
            "00:16 Keys: Alt-1..9, Ctrl-N/P: windows; PageUp/Down: scroll; Up/Down: history",
            "[alice] [1:(status)]",
            "[(status)]",
        ],
    );
}

#[test]
fn scrollback_after_many_lines() {
    let mut net = Net::new(Policy::MANUAL);
    net.type_line(Who::Alice, "/join #busy");
    let now = net.now;
    for i in 1..=200 {
        let _ = net
            .alice
            .on_irc(ev_msg("bob", "#busy", &format!("line {i}")), now);
    }
    assert_screen(
        &net.alice,
        &[
            " 1:(status) [2:#busy]",
            "00:16 <bob> line 194",
            "00:16 <bob> line 195",
            "00:16 <bob> line 196",
            "00:16 <bob> line 197",
            "00:16 <bob> line 198",
            "00:16 <bob> line 199",
            "00:16 <bob> line 200",
            "[alice] [2:#busy] [public channel, not OTR]",
            "[#busy]",
        ],
    );
    net.alice.set_page_height(7);
    let _ = net.alice.on_key(Key::PageUp, now);
    let _ = net.alice.on_key(Key::PageUp, now);
    assert_screen(
        &net.alice,
        &[
            " 1:(status) [2:#busy]",
            "00:16 <bob> line 181",
            "00:16 <bob> line 182",
            "00:16 <bob> line 183",
            "00:16 <bob> line 184",
            "00:16 <bob> line 185",
            "00:16 <bob> line 186",
            "-- more below: 14 line(s), PageDown --",
            "[alice] [2:#busy] [public channel, not OTR]",
            "[#busy]",
        ],
    );
    // New lines while scrolled up do not move the view.
    let _ = net.alice.on_irc(ev_msg("bob", "#busy", "line 201"), now);
    assert_screen(
        &net.alice,
        &[
            " 1:(status) [2:#busy]",
            "00:16 <bob> line 181",
            "00:16 <bob> line 182",
            "00:16 <bob> line 183",
            "00:16 <bob> line 184",
            "00:16 <bob> line 185",
            "00:16 <bob> line 186",
            "-- more below: 15 line(s), PageDown --",
            "[alice] [2:#busy] [public channel, not OTR]",
            "[#busy]",
        ],
    );
    for _ in 0..100 {
        let _ = net.alice.on_key(Key::PageUp, now);
    }
    assert_screen(
        &net.alice,
        &[
            " 1:(status) [2:#busy]",
            "00:16 -!- You joined #busy. Channel messages are public: OTR protects",
            "      private conversations only (/query NICK).",
            "00:16 <bob> line 1",
            "00:16 <bob> line 2",
            "00:16 <bob> line 3",
            "00:16 <bob> line 4",
            "-- more below: 197 line(s), PageDown --",
            "[alice] [2:#busy] [public channel, not OTR]",
            "[#busy]",
        ],
    );
    for _ in 0..100 {
        let _ = net.alice.on_key(Key::PageDown, now);
    }
    assert_screen(
        &net.alice,
        &[
            " 1:(status) [2:#busy]",
            "00:16 <bob> line 195",
            "00:16 <bob> line 196",
            "00:16 <bob> line 197",
            "00:16 <bob> line 198",
            "00:16 <bob> line 199",
            "00:16 <bob> line 200",
            "00:16 <bob> line 201",
            "[alice] [2:#busy] [public channel, not OTR]",
            "[#busy]",
        ],
    );
    // The scrollback keeps the last SCROLLBACK lines.
    for i in 0..offrecord::chat::app::SCROLLBACK {
        let _ = net
            .alice
            .on_irc(ev_msg("bob", "#busy", &format!("more {i}")), now);
    }
    let w = net.alice.window("#busy").unwrap();
    assert_eq!(w.lines().len(), offrecord::chat::app::SCROLLBACK);
    assert_eq!(w.lines().next().unwrap().text, "more 0");
}

#[test]
fn input_history_recall() {
    let mut net = Net::new(Policy::MANUAL);
    net.type_line(Who::Alice, "/query bob");
    net.type_line(Who::Alice, "first");
    net.type_line(Who::Alice, "second");
    net.type_line(Who::Alice, "/otr auth my secret");
    let now = net.now;
    for c in "draft".chars() {
        let _ = net.alice.on_key(Key::Char(c), now);
    }
    let _ = net.alice.on_key(Key::Up, now);
    let one_up = screen(&net.alice, W, H)[usize::from(H) - 1].clone();
    let _ = net.alice.on_key(Key::Up, now);
    let two_up = screen(&net.alice, W, H)[usize::from(H) - 1].clone();
    let _ = net.alice.on_key(Key::Up, now);
    let three_up = screen(&net.alice, W, H)[usize::from(H) - 1].clone();
    let _ = net.alice.on_key(Key::Down, now);
    let _ = net.alice.on_key(Key::Down, now);
    let back = screen(&net.alice, W, H)[usize::from(H) - 1].clone();
    // The line holding the SMP secret was never kept; Down returns towards the newest.
    assert_eq!(
        [one_up, two_up, three_up, back],
        [
            "[bob] second",
            "[bob] first",
            "[bob] /query bob",
            "[bob] second"
        ]
    );
    let _ = net.alice.on_key(Key::Down, now);
    assert_eq!(screen(&net.alice, W, H)[usize::from(H) - 1], "[bob] draft");
    // Editing a recalled line and sending it.
    let _ = net.alice.on_key(Key::Up, now);
    let _ = net.alice.on_key(Key::Home, now);
    let _ = net.alice.on_key(Key::Delete, now);
    let _ = net.alice.on_key(Key::Char('S'), now);
    let out = net.alice.on_key(Key::Enter, now);
    assert_eq!(out.len(), 1);
    assert_eq!(
        net.alice.history(),
        ["/query bob", "first", "second", "Second"]
    );
}

#[test]
fn long_input_scrolls_to_keep_the_cursor_visible() {
    let mut net = Net::new(Policy::MANUAL);
    let now = net.now;
    for c in "a".repeat(100).chars().chain("XYZ".chars()) {
        let _ = net.alice.on_key(Key::Char(c), now);
    }
    let rows = screen(&net.alice, 40, 6);
    assert_eq!(rows[5], "[(status)] aaaaaaaaaaaaaaaaaaaaaaaaaXYZ");
}

#[test]
fn progress_screen() {
    let mut terminal = Terminal::new(TestBackend::new(50, 5)).unwrap();
    terminal
        .draw(|frame| ui::draw_progress(frame, "Generating your OTR key for alice...", 1))
        .unwrap();
    assert_eq!(
        ui::buffer_text(terminal.backend().buffer()),
        [
            "",
            " / Generating your OTR key for alice...",
            "",
            " (this takes a few seconds; Ctrl-C to stop)",
            ""
        ]
    );
}
