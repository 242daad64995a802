//! The chat client's core, sans-IO: windows, scrollback, input line and history, and the OTR
//! engine, with no terminal and no socket.
//!
//! The caller (the terminal runner in `run.rs`, or a test) feeds it what happened and sends
//! what it returns:
//!
//! * [`App::on_irc`]: an [`IrcEvent`] from the transport;
//! * [`App::on_input`]: a line the user typed in the active window (a `/command` or text);
//! * [`App::on_key`]: a key press (line editing, input history, scrolling, window switching;
//!   Enter calls `on_input`);
//! * [`App::on_tick`]: time passed (the engine's heartbeats and expiry, key exchanges that
//!   never finish).
//!
//! Each returns the [`IrcCommand`]s to hand to the transport, in order. Everything the user
//! should see lands in a [`Window`]'s [`Line`]s; [`App::take_trust_changes`] says when the
//! known fingerprints must be saved, and [`App::wants_quit`] when to stop.
//!
//! OTR is per private conversation: every query window's nick is an engine peer. Channel text
//! is never OTR: it is sent as it is, and what arrives in a channel goes through
//! [`Engine::receive_from_channel`], so an OTR query pasted in a channel starts nothing
//! (irssi-otr #12).
//!
//! No plaintext surprise: while a key exchange runs, typed text is held and sent once the
//! conversation is private (or reported as not sent if it never becomes private), and under a
//! require-encryption policy it is never sent in the clear. The engine holds it, in one queue
//! ([`otr::EngineConfig::hold_during_key_exchange`], which [`App::new`] turns on), and says
//! what runs and what waits in [`Engine::status`]: the client keeps no OTR state of its own
//! beyond what each window last showed.
//!
//! ```
//! use offrecord::chat::app::{App, AppConfig};
//! use otr::{crypto::DsaPrivateKey, Engine, EngineConfig};
//! use rand_core::OsRng;
//!
//! let engine = Engine::new(DsaPrivateKey::generate(&mut OsRng), EngineConfig::default(), Box::new(OsRng));
//! let mut app = App::new(engine, AppConfig::new("alice"));
//! let out = app.on_input("/join #rust", 0.0);
//! assert_eq!(out, vec![irc::IrcCommand::Join("#rust".into())]);
//! ```

mod events;
mod incoming;
mod otr_commands;
mod room;

use otr_commands::policy_name;
pub use room::level_name;
use room::room_window_name;

use client::text::WHITESPACE_TAG_ROOM;
pub use client::text::{is_channel, split_message, PayloadLimit};
pub use client::HOST_POLL_SECS;
use group::{
    Auth, ChatInfo, Config as GroupConfig, LeftReason, Node, Output, SecurityLevel, Target,
};
use irc::{IrcCommand, IrcEvent};

use super::command::{self, GroupName, Name, OtrName};
use super::input::Edit;
pub use super::input::{InputLine, HISTORY};
pub use super::window::{
    clock, Activity, Delivery, Line, LineKind, OtrStatus, SmpStatus, Window, WindowKind,
    HOST_VOUCHES, OTHER_KEY, SCROLLBACK,
};
use otr::{
    ConversationState, Engine, EngineError, Event, HoldReason, KnownFingerprints, Notice, Policy,
    SmpResult,
};
use zeroize::Zeroize;

use crate::notices;

/// How the client is set up.
#[derive(Clone)]
pub struct AppConfig {
    /// The nick we ask for (the server may give us another; see [`IrcEvent::Connected`]).
    pub nick: String,
    /// The server's name, shown in the status window.
    pub server: String,
    /// Channels to show as being joined (the transport joins them).
    pub channels: Vec<String>,
    /// The largest PRIVMSG body for `(our_nick, target)`: OTR messages to that target are
    /// fragmented to it, and plain text longer than that is split into several messages.
    /// The runner passes the transport's `IrcHandle::max_payload`.
    pub max_payload: PayloadLimit,
}

impl core::fmt::Debug for AppConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AppConfig")
            .field("nick", &self.nick)
            .field("server", &self.server)
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

impl AppConfig {
    /// A configuration for `nick` with a conservative payload limit.
    pub fn new(nick: &str) -> Self {
        Self {
            nick: nick.to_owned(),
            server: String::new(),
            channels: Vec::new(),
            max_payload: std::sync::Arc::new(client::text::irc_default_payload),
        }
    }
}

/// A key press, independent of any terminal library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Key {
    /// A character typed into the input line.
    Char(char),
    /// Enter: run the input line.
    Enter,
    /// Delete the character before the cursor.
    Backspace,
    /// Delete the character under the cursor.
    Delete,
    /// Cursor left.
    Left,
    /// Cursor right.
    Right,
    /// Cursor to the start of the line.
    Home,
    /// Cursor to the end of the line.
    End,
    /// The previous line of the input history.
    Up,
    /// The next line of the input history.
    Down,
    /// Scroll the window up one page.
    PageUp,
    /// Scroll the window down one page.
    PageDown,
    /// The next window.
    NextWindow,
    /// The previous window.
    PrevWindow,
    /// Window number `n` (1-based, as shown in the window list).
    Window(usize),
    /// Clear the input line (Ctrl-U).
    ClearLine,
}

/// The chat client: windows, input, and the OTR engine.
pub struct App {
    /// The group node owns the OTR engine: every private conversation goes through it,
    /// and room traffic (which rides on the same private sessions) is handled there.
    node: Node,
    /// The room's window name (`room:ID`) while we are in a room or invited to one.
    room_window: Option<String>,
    /// A channel we joined on our own because the room we accepted is delivered there:
    /// its window opens without taking the screen from the room window.
    room_channel_join: Option<String>,
    /// The state of the room we last left (or were removed from, or closed), level
    /// finished: what [`App::room_state`] reports once the node is in no room, so that
    /// the saved `otr.chatinfo` does not go on saying "private".
    left_room: Option<ChatInfo>,
    config: AppConfig,
    nick: String,
    connected: bool,
    connection: String,
    windows: Vec<Window>,
    active: usize,
    input: InputLine,
    page: usize,
    saved_known: KnownFingerprints,
    trust_changed: bool,
    quit: bool,
    /// When we last asked whether the room's host is on IRC ([`HOST_POLL_SECS`]); kept at
    /// the current time while we are not a member, so the first check comes one interval
    /// after we join.
    host_polled_at: f64,
}

impl core::fmt::Debug for App {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("App")
            .field("nick", &self.nick)
            .field("windows", &self.windows.len())
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

impl App {
    /// A client for the account whose engine is `engine` (keys and known fingerprints
    /// already loaded). Window 1 is the status window. The engine holds what is typed while
    /// a key exchange runs ([`otr::EngineConfig::hold_during_key_exchange`] is turned on).
    pub fn new(mut engine: Engine, config: AppConfig) -> Self {
        engine.set_hold_during_key_exchange(true);
        let saved_known = engine.known_fingerprints().clone();
        let node = Node::new(
            engine,
            GroupConfig::new(&config.nick),
            Box::new(rand_core::OsRng),
        );
        let mut app = Self {
            node,
            room_window: None,
            room_channel_join: None,
            left_room: None,
            nick: config.nick.clone(),
            connected: false,
            connection: "connecting".to_owned(),
            windows: vec![Window::new("(status)", WindowKind::Status)],
            active: 0,
            input: InputLine::default(),
            page: 10,
            saved_known,
            trust_changed: false,
            quit: false,
            host_polled_at: 0.0,
            config,
        };
        let fp = app.node.engine().fingerprint();
        let server = app.config.server.clone();
        let status = &mut app.windows[0];
        status.push(
            0.0,
            LineKind::Info,
            "offrecord: private conversations on IRC. Type /help for the commands.",
        );
        if !server.is_empty() {
            status.push(0.0, LineKind::Info, &format!("Connecting to {server}..."));
        }
        status.push(0.0, LineKind::Otr, &format!("Your fingerprint: {fp}"));
        app
    }

    // ----- read accessors -------------------------------------------------------------

    /// Our current nick.
    pub fn nick(&self) -> &str {
        &self.nick
    }

    /// The connection state in words (`connecting`, `connected`, `disconnected: ...`).
    pub fn connection(&self) -> &str {
        &self.connection
    }

    /// True once the server accepted us (and until the connection drops).
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// Every window, in the order of the window list (window 1 first).
    pub fn windows(&self) -> &[Window] {
        &self.windows
    }

    /// The index of the active window in [`App::windows`].
    pub fn active(&self) -> usize {
        self.active
    }

    /// The active window.
    pub fn active_window(&self) -> &Window {
        // `active` is always a valid index: every change goes through `activate`, and
        // closing a window moves it.
        &self.windows[self.active.min(self.windows.len() - 1)]
    }

    /// The window named `name` (case-insensitive, as IRC names are).
    pub fn window(&self, name: &str) -> Option<&Window> {
        self.find(name).map(|i| &self.windows[i])
    }

    /// The input line as typed so far.
    pub fn input(&self) -> String {
        self.input.text()
    }

    /// The cursor's position in the input line, in characters.
    pub fn cursor(&self) -> usize {
        self.input.cursor()
    }

    /// The input history, oldest first (lines holding an SMP secret are never kept).
    pub fn history(&self) -> &[String] {
        self.input.history()
    }

    /// Makes the room we host misbehave (see [`group::RelayHook`]): for tests and
    /// demonstrations of the alerts members see. An honest client never sets one.
    pub fn set_group_relay_hook(&mut self, hook: Option<group::RelayHook>) {
        self.node.set_relay_hook(hook);
    }

    /// How many typed messages in `window` wait for its private conversation to start (the
    /// engine holds them).
    pub fn held(&self, window: &Window) -> usize {
        match window.kind {
            WindowKind::Query => self.node.engine().status(&window.name).held,
            WindowKind::Status | WindowKind::Channel | WindowKind::Room => 0,
        }
    }

    /// The engine (for its fingerprint, policy and known fingerprints).
    pub fn engine(&self) -> &Engine {
        self.node.engine()
    }

    /// The group node (our room, its roster, the pairwise keys with its members).
    pub fn group_node(&self) -> &Node {
        &self.node
    }

    /// The policy's preset name (`manual`, `opportunistic`, `always`, `never`) or `custom`.
    pub fn policy_name(&self) -> &'static str {
        policy_name(self.node.engine().config().policy)
    }

    /// True once the user asked to quit (`/quit`): the runner sends the returned commands,
    /// saves, and exits.
    pub fn wants_quit(&self) -> bool {
        self.quit
    }

    /// The known fingerprints, when they changed since the last call (trust set by
    /// `/otr trust`, `/otr distrust` or SMP, or a new fingerprint seen): the runner saves
    /// them to the identity store.
    pub fn take_trust_changes(&mut self) -> Option<KnownFingerprints> {
        if !self.trust_changed && self.node.engine().known_fingerprints() == &self.saved_known {
            return None;
        }
        self.trust_changed = false;
        self.saved_known = self.node.engine().known_fingerprints().clone();
        Some(self.saved_known.clone())
    }

    /// Tells the app how many lines the scrollback view shows (PageUp/PageDown move by it).
    pub fn set_page_height(&mut self, lines: usize) {
        self.page = lines.max(1);
    }

    /// Adds a line to the status window (for the runner's own news, e.g. a save failure).
    pub fn notice(&mut self, text: &str, now: f64) {
        self.windows[0].push(now, LineKind::Error, text);
        self.windows[0].bump(Activity::Info);
    }

    // ----- inputs -----------------------------------------------------------------------

    /// The user typed `line` in the active window and pressed Enter: a `/command`, or text
    /// for the window's channel or peer (`//text` sends `/text`).
    ///
    /// The room's clock is brought to `now` first: the runner ticks once a second, and a
    /// line stamped with a time up to a second old would be resent (every 2 s until the
    /// host echoes it) up to a second early, a duplicate on the wire whenever the echo
    /// takes more than a second under flood control.
    #[must_use = "the commands must be given to the transport"]
    pub fn on_input(&mut self, line: &str, now: f64) -> Vec<IrcCommand> {
        let mut out = Vec::new();
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            return out;
        }
        let outputs = self.node.tick(now);
        self.handle_outputs(outputs, None, now, &mut out);
        if let Some(rest) = line.strip_prefix("//") {
            let text = format!("/{rest}");
            self.say(self.active, &text, now, &mut out);
        } else if let Some(command) = line.strip_prefix('/') {
            self.command(command, now, &mut out);
        } else {
            self.say(self.active, line, now, &mut out);
        }
        out
    }

    /// A key press: edits the input line, walks the history, scrolls, switches windows;
    /// Enter runs the line through [`App::on_input`].
    #[must_use = "the commands must be given to the transport"]
    pub fn on_key(&mut self, key: Key, now: f64) -> Vec<IrcCommand> {
        match key {
            Key::Enter => {
                let line = self.input.take();
                return self.on_input(&line, now);
            }
            Key::Char(c) => self.input.edit(Edit::Insert(c)),
            Key::Backspace => self.input.edit(Edit::Backspace),
            Key::Delete => self.input.edit(Edit::Delete),
            Key::Left => self.input.edit(Edit::Left),
            Key::Right => self.input.edit(Edit::Right),
            Key::Home => self.input.edit(Edit::Home),
            Key::End => self.input.edit(Edit::End),
            Key::ClearLine => self.input.edit(Edit::Clear),
            Key::Up => self.input.edit(Edit::Up),
            Key::Down => self.input.edit(Edit::Down),
            Key::PageUp => {
                let page = self.page;
                let w = &mut self.windows[self.active];
                w.scroll = (w.scroll + page).min(w.lines.len().saturating_sub(1));
            }
            Key::PageDown => {
                let page = self.page;
                let w = &mut self.windows[self.active];
                w.scroll = w.scroll.saturating_sub(page);
            }
            Key::NextWindow => self.activate((self.active + 1) % self.windows.len()),
            Key::PrevWindow => {
                self.activate((self.active + self.windows.len() - 1) % self.windows.len());
            }
            Key::Window(n) => {
                if (1..=self.windows.len()).contains(&n) {
                    self.activate(n - 1);
                }
            }
        }
        Vec::new()
    }

    /// Time passed (`now`, seconds since the Unix epoch; call about once a second): the
    /// engine's heartbeats, the expiry of held messages, and key exchanges that never
    /// finished (the engine gives them up after [`otr::engine::KEY_EXCHANGE_TIMEOUT`], and
    /// what was held for them with them).
    #[must_use = "the commands must be given to the transport"]
    pub fn on_tick(&mut self, now: f64) -> Vec<IrcCommand> {
        let mut out = Vec::new();
        let outputs = self.node.tick(now);
        self.handle_outputs(outputs, None, now, &mut out);
        self.poll_host(now, &mut out);
        for i in 0..self.windows.len() {
            if self.windows[i].otr != OtrStatus::Starting {
                continue;
            }
            let name = self.windows[i].name.clone();
            let status = self.status_from_engine(&name);
            if status != OtrStatus::Starting {
                // Only a tick gives an exchange up without an event saying so.
                let w = &mut self.windows[i];
                w.otr = status;
                w.push(
                    now,
                    LineKind::Error,
                    &format!("The private conversation with {name} did not start (no answer to the key exchange)."),
                );
                w.bump(Activity::Highlight);
            }
        }
        out
    }

    // ----- incoming ---------------------------------------------------------------------
    // ----- outgoing ---------------------------------------------------------------------
    /// Text typed in window `i`.
    fn say(&mut self, i: usize, text: &str, now: f64, out: &mut Vec<IrcCommand>) {
        let kind = self.windows[i].kind;
        let nick = self.nick.clone();
        match kind {
            WindowKind::Status => {
                self.windows[i].push(
                    now,
                    LineKind::Error,
                    "This is the status window: nothing is sent from here. /join #channel or /query NICK.",
                );
            }
            WindowKind::Channel => {
                let target = self.windows[i].name.clone();
                self.windows[i].push(
                    now,
                    LineKind::Own {
                        nick,
                        delivery: Delivery::Channel,
                    },
                    text,
                );
                let limit = (self.config.max_payload)(&self.nick, &target);
                for part in split_message(text, limit) {
                    out.push(IrcCommand::Privmsg {
                        target: target.clone(),
                        text: part,
                    });
                }
            }
            WindowKind::Room => {
                let current = self
                    .node
                    .room_id()
                    .map(|r| room_window_name(&r.to_string()));
                if current.as_deref() != Some(self.windows[i].name.as_str()) {
                    self.windows[i].push(
                        now,
                        LineKind::Error,
                        "You are not in this room any more: nothing is sent.",
                    );
                    return;
                }
                // The line shows when the host relays it back (in transcript order).
                match self.node.say(text) {
                    Ok(outputs) => self.handle_outputs(outputs, None, now, out),
                    Err(e) => self.windows[i].push(now, LineKind::Error, &format!("Not sent: {e}")),
                }
            }
            WindowKind::Query => {
                let peer = self.windows[i].name.clone();
                self.prepare_peer(&peer);
                let status = self.node.engine().status(&peer);
                let state = status.state;
                let outputs =
                    if state == ConversationState::Encrypted || status.key_exchange.is_some() {
                        // Encrypted now, or held until the key exchange completes and encrypted
                        // then: the engine fragments OTR messages itself.
                        self.node.send_private(&peer, text)
                    } else {
                        // Plain text goes out as it is (with room for a whitespace tag): split
                        // what the server would cut.
                        let limit = (self.config.max_payload)(&self.nick, &peer);
                        let mut outputs = Vec::new();
                        for part in split_message(text, limit.saturating_sub(WHITESPACE_TAG_ROOM)) {
                            outputs.extend(self.node.send_private(&peer, &part));
                        }
                        outputs
                    };
                let delivery = if outputs.iter().any(|o| {
                    matches!(
                        o,
                        Output::Otr(Event::Notice {
                            notice: Notice::Held(_),
                            ..
                        })
                    )
                }) {
                    Delivery::Held
                } else if outputs
                    .iter()
                    .any(|o| matches!(o, Output::Otr(Event::Notice { .. })))
                {
                    Delivery::NotSent
                } else if state == ConversationState::Encrypted {
                    Delivery::Private
                } else {
                    Delivery::Plain
                };
                self.windows[i].push(now, LineKind::Own { nick, delivery }, text);
                self.handle_outputs(outputs, None, now, out);
            }
        }
    }

    fn command(&mut self, command: &str, now: f64, out: &mut Vec<IrcCommand>) {
        let i = self.active;
        let (name, rest) = match command::parse(command) {
            Ok(parsed) => parsed,
            Err(other) => {
                let text = format!("Unknown command /{other}. Type /help for the commands.");
                self.error_line(&text, now);
                return;
            }
        };
        match name {
            Name::Help => {
                for line in command::help() {
                    self.windows[i].push(now, LineKind::Output, &line);
                }
            }
            Name::Join => {
                let (channel, _) = command::split_word(rest);
                if channel.is_empty() {
                    self.usage("/join #channel", now);
                    return;
                }
                let channel = if is_channel(channel) {
                    channel.to_owned()
                } else {
                    format!("#{channel}")
                };
                if let Some(j) = self.find(&channel) {
                    self.activate(j);
                }
                out.push(IrcCommand::Join(channel));
            }
            Name::Part => {
                let (first, reason) = command::split_word(rest);
                let (channel, reason) = if is_channel(first) {
                    (first.to_owned(), reason.trim().to_owned())
                } else if self.windows[i].kind == WindowKind::Channel {
                    (self.windows[i].name.clone(), rest.to_owned())
                } else {
                    self.usage("/part [#channel] [reason] (in a channel window)", now);
                    return;
                };
                out.push(IrcCommand::Part {
                    channel: channel.clone(),
                    reason,
                });
                if let Some(j) = self.find(&channel) {
                    self.close(j);
                }
            }
            Name::Close => {
                if self.windows[i].kind == WindowKind::Status {
                    self.error_line("The status window stays open.", now);
                    return;
                }
                if self.windows[i].kind == WindowKind::Channel {
                    out.push(IrcCommand::Part {
                        channel: self.windows[i].name.clone(),
                        reason: String::new(),
                    });
                } else if self.windows[i].otr.is_private() {
                    let peer = self.windows[i].name.clone();
                    if self.node.uses_session(&peer) {
                        // Ending it would take the room's privacy with it: close only the
                        // window.
                        self.close(i);
                        let text = format!("OTR session with {peer} kept: the room uses it. /query {peer}, then /otr finish, ends it.");
                        self.windows[0].push(now, LineKind::Otr, &text);
                        self.windows[0].bump(Activity::Info);
                        let a = self.active;
                        if a != 0 {
                            self.windows[a].push(now, LineKind::Otr, &text);
                        }
                        return;
                    }
                    let outputs = self.node.finish_private(&peer);
                    self.handle_outputs(outputs, None, now, out);
                }
                self.close(i);
            }
            Name::Query => {
                let (nick, _) = command::split_word(rest);
                if nick.is_empty() || is_channel(nick) {
                    self.usage("/query NICK", now);
                    return;
                }
                let j = self.open(nick, WindowKind::Query);
                self.activate(j);
            }
            Name::Msg => {
                let (target, text) = command::split_word(rest);
                if target.is_empty() || text.is_empty() {
                    self.usage("/msg NICK|#channel TEXT", now);
                    return;
                }
                let kind = if is_channel(target) {
                    WindowKind::Channel
                } else {
                    WindowKind::Query
                };
                if kind == WindowKind::Channel && self.find(target).is_none() {
                    // Not joined: send without opening a window.
                    out.push(IrcCommand::Privmsg {
                        target: target.to_owned(),
                        text: text.to_owned(),
                    });
                    let nick = self.nick.clone();
                    self.windows[i].push(
                        now,
                        LineKind::Own {
                            nick,
                            delivery: Delivery::Channel,
                        },
                        &format!("-> {target}: {text}"),
                    );
                    return;
                }
                let j = self.open(target, kind);
                self.say(j, text, now, out);
            }
            Name::Nick => {
                let (nick, _) = command::split_word(rest);
                if nick.is_empty() {
                    self.usage("/nick NEWNICK", now);
                    return;
                }
                out.push(IrcCommand::Nick(nick.to_owned()));
            }
            Name::Quit => {
                // End every private conversation first, as irssi-otr does, so that the
                // peers know and nothing lingers.
                let peers: Vec<String> = self
                    .windows
                    .iter()
                    .filter(|w| w.kind == WindowKind::Query && w.otr.is_private())
                    .map(|w| w.name.clone())
                    .collect();
                for peer in peers {
                    let outputs = self.node.finish_private(&peer);
                    self.handle_outputs(outputs, None, now, out);
                }
                let reason = if rest.is_empty() { "offrecord" } else { rest };
                out.push(IrcCommand::Quit(reason.to_owned()));
                self.quit = true;
            }
            Name::Clear => {
                self.windows[i].lines.clear();
                self.windows[i].scroll = 0;
            }
            Name::Otr => self.otr_command(rest, now, out),
            Name::Group => self.group_command(rest, now, out),
        }
    }

    // ----- helpers ----------------------------------------------------------------------
    fn usage(&mut self, usage: &str, now: f64) {
        self.error_line(&format!("Usage: {usage}"), now);
    }

    fn error_line(&mut self, text: &str, now: f64) {
        let i = self.active;
        self.windows[i].push(now, LineKind::Error, text);
    }

    fn is_me(&self, nick: &str) -> bool {
        nick.eq_ignore_ascii_case(&self.nick)
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.windows
            .iter()
            .position(|w| w.kind != WindowKind::Status && w.name.eq_ignore_ascii_case(name))
    }

    /// The window for `name`, opened (at the end of the list, not activated) if missing.
    fn open(&mut self, name: &str, kind: WindowKind) -> usize {
        if let Some(i) = self.find(name) {
            return i;
        }
        let mut w = Window::new(name, kind);
        if kind == WindowKind::Query {
            w.otr = self.status_from_engine(name);
            w.fingerprint = self.node.engine().peer_fingerprint(name);
        }
        self.windows.push(w);
        self.windows.len() - 1
    }

    fn close(&mut self, i: usize) {
        if i == 0 || i >= self.windows.len() {
            return;
        }
        self.windows.remove(i);
        if self.active >= i {
            self.active = self.active.saturating_sub(1).min(self.windows.len() - 1);
        }
    }

    fn activate(&mut self, i: usize) {
        if i < self.windows.len() {
            self.active = i;
            self.windows[i].activity = Activity::None;
        }
    }

    /// The conversation with `peer` as the engine sees it now: `Starting` while a key
    /// exchange runs and nothing is private yet.
    fn status_from_engine(&self, peer: &str) -> OtrStatus {
        let status = self.node.engine().status(peer);
        match status_of(status.state, status.trusted) {
            OtrStatus::Plaintext | OtrStatus::Finished if status.key_exchange.is_some() => {
                OtrStatus::Starting
            }
            other => other,
        }
    }

    /// Sets the fragment size for `peer` from our nick and theirs. While our room travels
    /// in a channel, its lines go there with the recipient and sender tags in front: the
    /// fragments leave room for both (the sender may be any member, so a nick of the
    /// longest length the room protocol allows).
    fn prepare_peer(&mut self, peer: &str) {
        let limit = &self.config.max_payload;
        let size = self
            .node
            .otr_message_size(peer, |target| limit(&self.nick, target));
        self.node.set_max_message_size(peer, size);
    }

    /// True if we are in `channel` (its window lists us as a member: we joined it and have
    /// not left).
    fn in_channel(&self, channel: &str) -> bool {
        self.find(channel).is_some_and(|i| {
            let w = &self.windows[i];
            w.kind == WindowKind::Channel
                && w.members.iter().any(|m| {
                    m.trim_start_matches(['@', '+', '%', '~', '&'])
                        .eq_ignore_ascii_case(&self.nick)
                })
        })
    }
}

/// The status for an engine state.
fn status_of(state: ConversationState, trusted: bool) -> OtrStatus {
    match state {
        ConversationState::Plaintext => OtrStatus::Plaintext,
        ConversationState::Encrypted if trusted => OtrStatus::Private,
        ConversationState::Encrypted => OtrStatus::Unverified,
        ConversationState::Finished => OtrStatus::Finished,
        // A later engine version may add states; treat them as not private.
        _ => OtrStatus::Plaintext,
    }
}

/// ` (reason)` or nothing.
fn bracket(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" ({reason})")
    }
}
