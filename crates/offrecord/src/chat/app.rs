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

/// How `nick`'s room lines are authenticated for us, as `/group roster` says it: by our own
/// OTR session (we host, or `nick` is the host), end to end by our pairwise key, or only by
/// the host's word (a thin member, or a member whose pairwise key with us is not ready yet;
/// those lines are marked with [`HOST_VOUCHES`]).
fn roster_auth(node: &Node, host: &str, nick: &str, thin: bool) -> &'static str {
    if nick == node.nick() {
        "you"
    } else if node.is_host() {
        "end to end: our OTR session with it"
    } else if nick == host {
        "end to end: our OTR session with the host"
    } else if thin {
        "thin: the host vouches"
    } else if node.pairwise_ready(nick) {
        "end to end: our pairwise key"
    } else {
        "pending: the host vouches until our pairwise key is ready"
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

    /// Something happened on the network.
    #[must_use = "the commands must be given to the transport"]
    pub fn on_irc(&mut self, event: IrcEvent, now: f64) -> Vec<IrcCommand> {
        let mut out = Vec::new();
        match event {
            IrcEvent::Connected { nick } => {
                self.nick = nick;
                self.connected = true;
                self.connection = "connected".to_owned();
                let text = format!("Connected as {}.", self.nick);
                self.windows[0].push(now, LineKind::Info, &text);
            }
            IrcEvent::NickInUse { refused, trying } => {
                let text = format!("The nick {refused} is taken; trying {trying}.");
                self.windows[0].push(now, LineKind::Info, &text);
            }
            IrcEvent::Disconnected {
                reason,
                retry_in_ms,
            } => {
                self.connected = false;
                let secs = retry_in_ms.div_ceil(1000);
                self.connection = format!("disconnected, retrying in {secs}s");
                let text = format!("Disconnected ({reason}); reconnecting in {secs} s.");
                for w in &mut self.windows {
                    if w.kind != WindowKind::Query {
                        w.push(now, LineKind::Error, &text);
                    }
                }
            }
            IrcEvent::Message {
                from,
                target,
                text,
                notice,
            } => self.on_message(&from, &target, &text, notice, now, &mut out),
            IrcEvent::Joined { channel, nick } => {
                if self.is_me(&nick) {
                    let i = self.open(&channel, WindowKind::Channel);
                    self.windows[i].members.insert(nick.clone());
                    self.windows[i].push(
                        now,
                        LineKind::Info,
                        &format!("You joined {channel}. Channel messages are public: OTR protects private conversations only (/query NICK)."),
                    );
                    let for_room = self
                        .room_channel_join
                        .as_deref()
                        .is_some_and(|c| c.eq_ignore_ascii_case(&channel));
                    if for_room {
                        self.room_channel_join = None;
                        self.windows[i].push(
                            now,
                            LineKind::Info,
                            "Joined for the room you accepted: its lines here are tagged and encrypted, and are not shown as chatter.",
                        );
                    } else {
                        self.activate(i);
                    }
                } else if let Some(i) = self.find(&channel) {
                    self.windows[i].members.insert(nick.clone());
                    self.windows[i].push(now, LineKind::Info, &format!("{nick} joined {channel}"));
                    self.windows[i].bump(Activity::Info);
                }
            }
            IrcEvent::Parted {
                channel,
                nick,
                reason,
            } => {
                let reason = bracket(&reason);
                if self.is_me(&nick) {
                    if let Some(i) = self.find(&channel) {
                        self.windows[i].members.clear();
                        self.windows[i].push(
                            now,
                            LineKind::Info,
                            &format!("You left {channel}{reason}"),
                        );
                    }
                } else if let Some(i) = self.find(&channel) {
                    self.windows[i].members.remove(&nick);
                    self.windows[i].push(
                        now,
                        LineKind::Info,
                        &format!("{nick} left {channel}{reason}"),
                    );
                    self.windows[i].bump(Activity::Info);
                }
            }
            IrcEvent::Quit { nick, reason } => {
                let outputs = self.node.peer_gone(&nick);
                self.handle_outputs(outputs, None, now, &mut out);
                let reason = bracket(&reason);
                for w in &mut self.windows {
                    let here = match w.kind {
                        WindowKind::Channel => w.members.remove(&nick),
                        WindowKind::Query => w.name.eq_ignore_ascii_case(&nick),
                        WindowKind::Status | WindowKind::Room => false,
                    };
                    if here {
                        let mut text = format!("{nick} quit{reason}");
                        if w.kind == WindowKind::Query && w.otr.is_private() {
                            text.push_str(": the private conversation is over on their side; /otr finish, and /otr init when they are back");
                        }
                        w.push(now, LineKind::Info, &text);
                        w.bump(Activity::Info);
                    }
                }
            }
            IrcEvent::NickChanged { old, new } => self.on_nick(&old, &new, now, &mut out),
            IrcEvent::Names { channel, nicks } => {
                if let Some(i) = self.find(&channel) {
                    let w = &mut self.windows[i];
                    w.members.extend(nicks.iter().cloned());
                    let text = format!("Members of {channel}: {}", nicks.join(" "));
                    w.push(now, LineKind::Info, &text);
                }
            }
            IrcEvent::Info(text) => {
                self.windows[0].push(now, LineKind::Info, &text);
                self.windows[0].bump(Activity::Info);
            }
            IrcEvent::NoSuchNick { nick, reason } => {
                let i = self.find(&nick).unwrap_or(0);
                self.windows[i].push(now, LineKind::Info, &format!("{nick}: {reason}"));
                self.windows[i].bump(Activity::Info);
                // A line to a nick that is not on the network: as a QUIT says, it left.
                // The room's host hands off; as host, a member leaves the roster.
                self.peer_left_network(
                    &nick,
                    "a line to it came back: no such nick",
                    now,
                    &mut out,
                );
            }
            IrcEvent::IsOn { asked, online } => {
                for nick in asked {
                    if !online.iter().any(|o| o.eq_ignore_ascii_case(&nick)) {
                        self.peer_left_network(
                            &nick,
                            "the server says it is not on IRC",
                            now,
                            &mut out,
                        );
                    }
                }
            }
            IrcEvent::Undelivered {
                target,
                text,
                written,
                ..
            } => {
                let i = self.find(&target).unwrap_or(0);
                let what = if text.starts_with("?OTR") {
                    "An OTR message".to_owned()
                } else {
                    format!("\"{text}\"")
                };
                let fate = if written {
                    "may not have arrived"
                } else {
                    "was not sent"
                };
                let line = format!(
                    "{what} to {target} {fate}: the connection dropped. Nothing is resent by itself."
                );
                self.windows[i].push(now, LineKind::Error, &line);
                self.windows[i].bump(Activity::Highlight);
            }
            // A later transport version may report more; nothing to show for it yet.
            _ => {}
        }
        out
    }

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

    /// As a member, asks every [`HOST_POLL_SECS`] whether the room's host is still on IRC.
    fn poll_host(&mut self, now: f64, out: &mut Vec<IrcCommand>) {
        let host = match self.node.host_nick() {
            // `roster` is known only once we are a member (or host) of the room.
            Some(host) if self.node.roster().is_some() && !self.node.is_host() => host,
            _ => {
                self.host_polled_at = now;
                return;
            }
        };
        if self.connected && now - self.host_polled_at >= HOST_POLL_SECS {
            self.host_polled_at = now;
            out.push(IrcCommand::Ison(vec![host.to_owned()]));
        }
    }

    /// The server told us (`why`) that `nick` is not on IRC, though we may share no
    /// channel with it (so no QUIT came): if it hosts our room, the room hands off to the
    /// next host; if we host, it leaves the roster (as [`group::Node::peer_gone`] does for
    /// a QUIT). An answer about a host we already left behind changes nothing.
    fn peer_left_network(&mut self, nick: &str, why: &str, now: f64, out: &mut Vec<IrcCommand>) {
        let was_host = !self.node.is_host()
            && self.node.roster().is_some()
            && self.node.host_nick() == Some(nick);
        if was_host {
            let text = format!(
                "The room's host {nick} left IRC ({why}): the room moves to the next host."
            );
            self.group_note(&text, now);
        }
        let outputs = self.node.peer_gone(nick);
        self.handle_outputs(outputs, None, now, out);
    }

    // ----- incoming ---------------------------------------------------------------------

    fn on_message(
        &mut self,
        from: &str,
        target: &str,
        text: &str,
        notice: bool,
        now: f64,
        out: &mut Vec<IrcCommand>,
    ) {
        if is_channel(target) {
            let i = self.open(target, WindowKind::Channel);
            self.windows[i].members.insert(from.to_owned());
            if group::envelope::untag(text).is_some() {
                // A room line delivered in the channel (`?RECV?to?ENDRECV??SEND?from?
                // ENDSEND?<OTR>`): room traffic, never channel chatter. The node drops
                // lines for others and feeds ours to our OTR session with the sender.
                let outputs = self.node.receive_channel(target, from, text);
                self.handle_outputs(outputs, None, now, out);
                return;
            }
            let outputs = self.node.receive_channel_text(from, text);
            self.handle_outputs(outputs, Some(i), now, out);
            return;
        }
        // A server notice before registration, or a NOTICE from a nick: shown, never OTR.
        if notice || from.is_empty() || from.contains('.') {
            let i = self.find(from).unwrap_or(0);
            let outputs = self.node.receive_channel_text(from, text);
            self.handle_outputs(outputs, Some(i), now, out);
            return;
        }
        // While in a room, room traffic arrives as private messages from its members: a
        // query window opens only for what is shown there (see handle_outputs). So it does
        // for a private session with no window, which only a room sets up: a former fellow
        // member's room traffic still in flight when we left must not open an empty one.
        let peer = match self.find(from) {
            Some(i) => self.windows[i].name.clone(),
            None if self.node.room_id().is_some()
                || self.node.engine().state(from) == ConversationState::Encrypted =>
            {
                from.to_owned()
            }
            None => {
                let i = self.open(from, WindowKind::Query);
                self.windows[i].name.clone()
            }
        };
        self.prepare_peer(&peer);
        let outputs = self.node.receive_private(&peer, text);
        self.handle_outputs(outputs, None, now, out);
    }

    fn on_nick(&mut self, old: &str, new: &str, now: f64, out: &mut Vec<IrcCommand>) {
        if self.is_me(old) {
            self.nick = new.to_owned();
            let text = format!("You are now known as {new}.");
            self.windows[0].push(now, LineKind::Info, &text);
            for w in &mut self.windows {
                if w.kind == WindowKind::Channel && w.members.remove(old) {
                    w.members.insert(new.to_owned());
                    w.push(now, LineKind::Info, &text);
                }
            }
            return;
        }
        for w in &mut self.windows {
            if w.kind == WindowKind::Channel && w.members.remove(old) {
                w.members.insert(new.to_owned());
                w.push(now, LineKind::Info, &format!("{old} is now known as {new}"));
            }
        }
        let Some(i) = self.find(old) else { return };
        if self.windows[i].kind != WindowKind::Query {
            return;
        }
        let old_name = self.windows[i].name.clone();
        // The window moves to the new nick; a window already open for the new nick closes
        // into it (its conversation was with someone else under that nick).
        if let Some(j) = self.find(new).filter(|&j| j != i) {
            self.close(j);
        }
        let Some(i) = self.find(&old_name) else {
            return;
        };
        self.windows[i].name = new.to_owned();
        // Same key, same person: the verification carries over to the new nick.
        let outputs = self.node.rename_peer(&old_name, new);
        let w = &mut self.windows[i];
        w.push(
            now,
            LineKind::Info,
            &format!("{old_name} is now known as {new}"),
        );
        w.bump(Activity::Info);
        self.prepare_peer(new);
        self.handle_outputs(outputs, None, now, out);
    }

    /// Turns the group node's outputs into IRC commands and lines: room lines go to the
    /// room window, OTR events of private conversations to `handle_engine_events`.
    fn handle_outputs(
        &mut self,
        outputs: Vec<Output>,
        channel: Option<usize>,
        now: f64,
        out: &mut Vec<IrcCommand>,
    ) {
        for output in outputs {
            match output {
                Output::Send {
                    to: Target::Private(peer),
                    line,
                } => self.handle_engine_events(
                    vec![Event::Wire { peer, data: line }],
                    channel,
                    now,
                    out,
                ),
                Output::Send {
                    to: Target::Channel(target),
                    line,
                } => out.push(IrcCommand::Privmsg { target, text: line }),
                Output::Otr(Event::State { ref peer, .. })
                    if self.find(peer).is_none() && self.node.room_id().is_some() =>
                {
                    // A session set up for the room: no query window for it (one opens,
                    // with this state, if a private message comes).
                }
                Output::Otr(event) => self.handle_engine_events(vec![event], channel, now, out),
                other => self.on_group(other, now),
            }
        }
    }

    fn handle_engine_events(
        &mut self,
        events: Vec<Event>,
        channel: Option<usize>,
        now: f64,
        out: &mut Vec<IrcCommand>,
    ) {
        for event in events {
            match event {
                Event::Wire { peer, data } => {
                    self.note_key_exchange(&peer);
                    out.push(IrcCommand::Privmsg {
                        target: peer,
                        text: data,
                    });
                }
                Event::Message {
                    peer,
                    text,
                    encrypted,
                    origin,
                } => {
                    let i = channel.unwrap_or_else(|| self.open(&peer, WindowKind::Query));
                    let me = self.nick.clone();
                    let w = &mut self.windows[i];
                    // A line from a key other than the one the window shows is marked:
                    // it may come from an impostor instance of the peer.
                    let other_key = origin
                        .map(|o| o.fingerprint)
                        .filter(|fp| Some(*fp) != w.fingerprint);
                    let mentioned = text.to_lowercase().contains(&me.to_lowercase());
                    w.push(
                        now,
                        LineKind::Message {
                            from: peer,
                            private: encrypted,
                            vouched: false,
                            other_key,
                        },
                        &text,
                    );
                    w.bump(if w.kind == WindowKind::Query || mentioned {
                        Activity::Highlight
                    } else {
                        Activity::Message
                    });
                }
                Event::State {
                    peer,
                    state,
                    fingerprint,
                    trusted,
                    ..
                } => self.on_state(&peer, state, fingerprint, trusted, now),
                Event::Smp {
                    peer,
                    result,
                    question,
                    ..
                } => self.on_smp(&peer, result, question, now),
                Event::Notice { peer, notice } => {
                    let i = channel.unwrap_or_else(|| self.open(&peer, WindowKind::Query));
                    if matches!(notice, Notice::AuthFailed(_))
                        && self.windows[i].otr == OtrStatus::Starting
                    {
                        // The engine gave the exchange up.
                        self.windows[i].otr = self.status_from_engine(&peer);
                    }
                    let w = &mut self.windows[i];
                    let text = notices::describe(&notice);
                    match notice {
                        // Held text and its departure are the normal course of a key
                        // exchange, not errors.
                        Notice::Held(HoldReason::KeyExchange) | Notice::HeldSent { .. } => {
                            w.push(now, LineKind::Otr, &text);
                        }
                        _ => {
                            w.push(now, LineKind::Error, &text);
                            w.bump(Activity::Highlight);
                        }
                    }
                }
                Event::ExtraSymmetricKey { peer, usage, .. } => {
                    let i = self.open(&peer, WindowKind::Query);
                    self.windows[i].push(
                        now,
                        LineKind::Otr,
                        &format!("{peer} derived an extra symmetric key (usage {usage:#x}); this client does not use it."),
                    );
                }
                // A later engine version may report more; nothing to show for it yet.
                _ => {}
            }
        }
    }

    /// We are about to send something to `peer`: if it began a key exchange (the engine's
    /// status shows one while not private), the window says so.
    fn note_key_exchange(&mut self, peer: &str) {
        let Some(i) = self.find(peer) else { return };
        let w = &self.windows[i];
        if w.kind != WindowKind::Query || w.otr.is_private() {
            return;
        }
        if self.status_from_engine(peer) == OtrStatus::Starting {
            self.windows[i].otr = OtrStatus::Starting;
        }
    }

    fn on_state(
        &mut self,
        peer: &str,
        state: ConversationState,
        fingerprint: Option<otr::crypto::Fingerprint>,
        trusted: bool,
        now: f64,
    ) {
        let i = self.open(peer, WindowKind::Query);
        let mut new = status_of(state, trusted);
        if new == OtrStatus::Plaintext && self.status_from_engine(peer) == OtrStatus::Starting {
            // Still plaintext while the key exchange runs.
            new = OtrStatus::Starting;
        }
        let w = &mut self.windows[i];
        let old = w.otr;
        let new_session = fingerprint.is_some() && new.is_private() && !old.is_private();
        let fp_changed = fingerprint != w.fingerprint;
        w.otr = new;
        w.fingerprint = fingerprint;
        let fp_text = fingerprint.map(|f| f.to_string()).unwrap_or_default();
        match new {
            OtrStatus::Unverified | OtrStatus::Private if new_session || fp_changed => {
                let what = if old.is_private() {
                    "refreshed"
                } else {
                    "started"
                };
                w.push(
                    now,
                    LineKind::Otr,
                    &format!("Private conversation with {peer} {what}."),
                );
                if new == OtrStatus::Private {
                    w.push(
                        now,
                        LineKind::Otr,
                        &format!("{peer}'s fingerprint {fp_text} is verified."),
                    );
                } else {
                    w.push(
                        now,
                        LineKind::Otr,
                        &format!("{peer}'s fingerprint {fp_text} is NOT verified: check it with /otr auth SECRET, /otr authq QUESTION SECRET, or compare it and /otr trust."),
                    );
                }
                w.bump(Activity::Highlight);
            }
            OtrStatus::Private if old == OtrStatus::Unverified => {
                w.push(
                    now,
                    LineKind::Otr,
                    &format!("{peer}'s fingerprint {fp_text} is now verified."),
                );
            }
            OtrStatus::Unverified if old == OtrStatus::Private => {
                w.push(
                    now,
                    LineKind::Otr,
                    &format!("{peer}'s fingerprint {fp_text} is no longer verified."),
                );
            }
            OtrStatus::Finished if old != OtrStatus::Finished => {
                w.push(
                    now,
                    LineKind::Otr,
                    &format!("{peer} has ended the private conversation. Nothing you type is sent until you /otr finish (back to plaintext) or /otr init (a new private conversation)."),
                );
                w.bump(Activity::Highlight);
            }
            OtrStatus::Plaintext if old.is_private() || old == OtrStatus::Finished => {
                w.push(
                    now,
                    LineKind::Otr,
                    &format!(
                        "Private conversation with {peer} ended: messages now go out in the clear."
                    ),
                );
            }
            _ => {}
        }
    }

    fn on_smp(&mut self, peer: &str, result: SmpResult, question: Option<String>, now: f64) {
        let i = self.open(peer, WindowKind::Query);
        let w = &mut self.windows[i];
        let text = match result {
            SmpResult::Request => {
                w.smp = SmpStatus::Requested(None);
                format!("{peer} wants to verify you with a secret you both know: answer with /otr auth SECRET (or /otr abort).")
            }
            SmpResult::Question => {
                let q = question.unwrap_or_default();
                let text = format!("{peer} wants to verify you and asks: {q}  Answer with /otr auth ANSWER (or /otr abort).");
                w.smp = SmpStatus::Requested(Some(q));
                text
            }
            SmpResult::Success => {
                let answered = w.smp == SmpStatus::Answered { question: true };
                w.smp = SmpStatus::Idle;
                if answered {
                    format!("You answered {peer}'s question correctly: {peer} has verified you. To verify {peer} in turn, ask your own: /otr authq QUESTION SECRET.")
                } else {
                    format!("Authentication with {peer} succeeded: the secrets match.")
                }
            }
            SmpResult::Failure => {
                w.smp = SmpStatus::Idle;
                format!("Authentication with {peer} FAILED: the secrets differ. {peer}'s fingerprint is not verified.")
            }
            SmpResult::Aborted => {
                w.smp = SmpStatus::Idle;
                format!("Authentication with {peer} aborted.")
            }
            _ => return,
        };
        let kind = if result == SmpResult::Failure {
            LineKind::Error
        } else {
            LineKind::Otr
        };
        w.push(now, kind, &text);
        w.bump(Activity::Highlight);
    }

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
                    if self.room_uses_session(&peer) {
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

    /// Shows a group node output (not a transmission, not an OTR event) in the room window.
    fn on_group(&mut self, output: Output, now: f64) {
        match output {
            Output::Message(m) => {
                let i = self.room_window_index(&m.room.to_string());
                let w = &mut self.windows[i];
                match m.auth {
                    Auth::Own => w.push(
                        now,
                        LineKind::Own {
                            nick: m.sender,
                            delivery: Delivery::Private,
                        },
                        &m.text,
                    ),
                    Auth::Failed => {
                        w.push(
                            now,
                            LineKind::Error,
                            &format!(
                                "UNAUTHENTICATED line attributed to {}: {}",
                                m.sender, m.text
                            ),
                        );
                        w.bump(Activity::Highlight);
                    }
                    // Session and Pairwise: known end to end. HostAttested: only the
                    // host's word, marked. Later kinds are treated as the host's word.
                    auth => {
                        let vouched = !matches!(auth, Auth::Session | Auth::Pairwise);
                        w.push(
                            now,
                            LineKind::Message {
                                from: m.sender,
                                private: true,
                                vouched,
                                other_key: None,
                            },
                            &m.text,
                        );
                        w.bump(Activity::Message);
                    }
                }
            }
            Output::Alert(alert) => {
                let i = self.room_alert_window();
                let w = &mut self.windows[i];
                w.push(now, LineKind::Error, &format!("ROOM ALERT: {alert}"));
                w.bump(Activity::Highlight);
            }
            Output::Roster { room, roster, .. } => {
                let i = self.room_window_index(&room.to_string());
                let w = &mut self.windows[i];
                w.members = roster.members.iter().map(|m| m.nick.clone()).collect();
                let names: Vec<&str> = roster.members.iter().map(|m| m.nick.as_str()).collect();
                w.push(
                    now,
                    LineKind::Info,
                    &format!(
                        "Room members (host {}): {}. /group roster for their fingerprints.",
                        roster.host,
                        names.join(", ")
                    ),
                );
                w.bump(Activity::Info);
                let peers: Vec<String> = roster.members.iter().map(|m| m.nick.clone()).collect();
                for peer in peers {
                    if !self.is_me(&peer) {
                        self.prepare_peer(&peer);
                    }
                }
            }
            Output::Invited {
                room,
                host,
                channel,
            } => {
                let name = room_window_name(&room.to_string());
                self.room_window = Some(name);
                let text = match channel {
                    None => format!("{host} invites you to the private room {room} (delivered by private messages): /group join to accept, /group leave to decline."),
                    Some(ch) if self.in_channel(&ch) => format!("{host} invites you to the private room {room}, delivered in {ch} (encrypted, tagged lines): /group join to accept, /group leave to decline."),
                    Some(ch) => format!("{host} invites you to the private room {room}, delivered in {ch} (encrypted, tagged lines): /group join to accept (it joins {ch} for you), /group leave to decline."),
                };
                let a = self.active;
                self.windows[0].push(now, LineKind::Otr, &text);
                self.windows[0].bump(Activity::Highlight);
                if a != 0 {
                    self.windows[a].push(now, LineKind::Otr, &text);
                }
            }
            Output::Joined { room, host } => {
                let delivery = self.delivery_name();
                let i = self.room_window_index(&room.to_string());
                let w = &mut self.windows[i];
                w.push(
                    now,
                    LineKind::Otr,
                    &format!("You are in room {room}, hosted by {host}, {delivery}."),
                );
                w.bump(Activity::Info);
            }
            Output::HostChanged { room, epoch, host } => {
                let i = self.room_window_index(&room.to_string());
                let w = &mut self.windows[i];
                w.push(
                    now,
                    LineKind::Otr,
                    &format!("The room has a new host: {host} (generation {epoch})."),
                );
                w.bump(Activity::Highlight);
            }
            Output::Left { room, reason } => {
                let i = self.room_window_index(&room.to_string());
                let text = match reason {
                    LeftReason::Left => "You left the room.".to_owned(),
                    LeftReason::Removed => "The host removed you from the room.".to_owned(),
                    LeftReason::Closed => {
                        "You closed the room (the members hand off to a new host).".to_owned()
                    }
                    _ => "You are out of the room.".to_owned(),
                };
                let w = &mut self.windows[i];
                w.push(now, LineKind::Otr, &text);
                w.bump(Activity::Highlight);
                w.members.clear();
                if let Some(info) = &mut w.room {
                    info.level = SecurityLevel::Finished;
                }
                self.left_room = w.room.clone();
                self.room_window = None;
            }
            Output::Info(info) => {
                let i = self.room_window_index(&info.room);
                let w = &mut self.windows[i];
                if w.room.as_ref().map(|r| r.level) != Some(info.level) {
                    w.push(
                        now,
                        LineKind::Otr,
                        &format!("Room security: {}.", level_name(info.level)),
                    );
                }
                w.room = Some(info);
            }
            // Sends and OTR events are handled by handle_outputs; a later version may add more.
            _ => {}
        }
    }

    /// The room window for `room` (an id as displayed), opened if missing.
    fn room_window_index(&mut self, room: &str) -> usize {
        let name = room_window_name(room);
        self.room_window = Some(name.clone());
        self.open(&name, WindowKind::Room)
    }

    /// Where an alert goes: the room's window.
    fn room_alert_window(&mut self) -> usize {
        match self.node.room_id().map(ToString::to_string) {
            Some(room) => self.room_window_index(&room),
            None => self
                .room_window
                .as_deref()
                .and_then(|n| self.find(n))
                .unwrap_or(0),
        }
    }

    /// The room we are in, as the paper's `otr.chatinfo` line records it (account, room id,
    /// host, security level), for the runner to persist. Once we left the room, were
    /// removed or closed it, the room we were last in with level 1 (finished); `None`
    /// before any room.
    pub fn room_state(&self) -> Option<group::chatinfo::ChatInfo> {
        self.node.info().or_else(|| self.left_room.clone())
    }

    /// True if the room we are in (or invited to, or joining) rides on our OTR session with
    /// `peer`: `peer` hosts it; we host it and `peer` is a member (full or thin: we relay
    /// its lines over that session); or `peer` is a full member (our pairwise key and
    /// transcript digests go over that session). `/close` keeps such a session.
    fn room_uses_session(&self, peer: &str) -> bool {
        if self.node.host_nick() == Some(peer) {
            return true;
        }
        match self.node.roster().and_then(|r| r.entry(peer)) {
            Some(entry) => self.node.is_host() || entry.kind != group::MemberKind::Thin,
            None => false,
        }
    }

    /// `/group ...`: rooms over OTR.
    fn group_command(&mut self, args: &str, now: f64, out: &mut Vec<IrcCommand>) {
        let sub = command::split_word(args).0.to_ascii_lowercase();
        let Some((name, nick)) = command::parse_group(args) else {
            self.usage(command::GROUP_USAGE, now);
            return;
        };
        let anywhere = matches!(name, GroupName::Roster | GroupName::Leave);
        if self.nick != self.node.nick() && !anywhere {
            // The room protocol names participants by the nick the client started with.
            let text = format!(
                "/group: rooms work under the nick you started with ({}), not {}.",
                self.node.nick(),
                self.nick
            );
            self.error_line(&text, now);
            return;
        }
        if !self.node.engine().config().policy.otr_enabled() && !anywhere {
            // A room travels over private OTR sessions, which the engine will not start.
            self.error_line("/group: OTR is disabled by the policy, and rooms travel over OTR: /otr policy manual (or opportunistic, always).", now);
            return;
        }
        let mut joining_channel = None;
        let result = match name {
            GroupName::Host if is_channel(nick) => {
                // The paper's design: every room line goes to the channel, tagged with
                // its recipient, so the channel must be ours already.
                if !self.in_channel(nick) {
                    let text = format!("/group host {nick}: you are not in {nick}; /join {nick} first (the room's lines go to that channel)");
                    self.error_line(&text, now);
                    return;
                }
                self.node.host_in(nick)
            }
            GroupName::Host if !nick.is_empty() => {
                self.usage("/group host [#channel]", now);
                return;
            }
            GroupName::Host => self.node.host(),
            GroupName::Invite | GroupName::Kick | GroupName::Thin if nick.is_empty() => {
                self.usage(&format!("/group {sub} NICK"), now);
                return;
            }
            GroupName::Invite => {
                self.prepare_peer(nick);
                self.node.invite(nick)
            }
            GroupName::Thin => {
                // A stock OTR client (irssi, Pidgin): the room reaches it as private
                // messages prefixed with the sender's nick.
                self.prepare_peer(nick);
                self.node.invite_thin(nick)
            }
            GroupName::Kick => self.node.kick(nick),
            GroupName::Join => {
                if let group::Delivery::Channel(ch) = self.node.delivery() {
                    // The host delivers the room in a channel: we join it first (the JOIN
                    // goes out before our answer, so the server has us in the channel when
                    // the room's lines start).
                    if self.node.room_id().is_some() && !self.in_channel(&ch) {
                        out.push(IrcCommand::Join(ch.clone()));
                        self.room_channel_join = Some(ch.clone());
                        joining_channel = Some(ch);
                    }
                }
                if let Some(host) = self.node.host_nick().map(str::to_owned) {
                    self.prepare_peer(&host);
                }
                self.node.accept()
            }
            GroupName::Leave => self.node.leave(),
            GroupName::Roster => {
                self.group_roster(now);
                return;
            }
        };
        match result {
            Ok(outputs) => {
                let joined_or_hosting = matches!(name, GroupName::Host | GroupName::Join);
                self.handle_outputs(outputs, None, now, out);
                if joined_or_hosting {
                    if let Some(room) = self.node.room_id().map(ToString::to_string) {
                        let i = self.room_window_index(&room);
                        self.activate(i);
                    }
                }
                match name {
                    GroupName::Host => {
                        let text = match self.node.delivery() {
                            group::Delivery::Channel(ch) => format!("You host this room in {ch}: every room line goes to {ch}, encrypted and tagged with its recipient (the paper's design); members join {ch} when they accept. /group invite NICK."),
                            _ => "You host this room; its lines travel by private messages. /group invite NICK.".to_owned(),
                        };
                        self.group_note(&text, now);
                    }
                    GroupName::Join => {
                        if let Some(ch) = &joining_channel {
                            let text = format!("Joining {ch}: the host delivers this room there.");
                            self.group_note(&text, now);
                        }
                    }
                    GroupName::Invite => {
                        let text = format!("Invited {nick}: the invitation goes over a private OTR session (starting one if needed).");
                        self.group_note(&text, now);
                    }
                    GroupName::Thin => {
                        let text = format!("Invited {nick} as a thin member (a stock OTR client): it joins once a private OTR session with it is up, and reads the room as private messages prefixed with each sender's nick.");
                        self.group_note(&text, now);
                    }
                    GroupName::Kick => {
                        let text = format!("Removed {nick} from the room: it receives nothing of the room from now on.");
                        self.group_note(&text, now);
                    }
                    GroupName::Leave | GroupName::Roster => {}
                }
            }
            Err(e) => self.error_line(&format!("/group {sub}: {e}"), now),
        }
    }

    /// A line in the room window (or the active one when there is none).
    fn group_note(&mut self, text: &str, now: f64) {
        let i = match self.node.room_id().map(ToString::to_string) {
            Some(room) => self.room_window_index(&room),
            None => self.active,
        };
        self.windows[i].push(now, LineKind::Otr, text);
    }

    /// `/group roster`: the host and every member with the fingerprint the host announced
    /// and how its lines are authenticated for us ([`roster_auth`]).
    fn group_roster(&mut self, now: f64) {
        let i = self.active;
        let Some(roster) = self.node.roster().cloned() else {
            let text = match (self.node.room_id(), self.node.host_nick()) {
                (Some(room), Some(host)) => format!("Room {room} (host {host}): no roster yet."),
                _ => "You are in no room: /group host to open one.".to_owned(),
            };
            self.windows[i].push(now, LineKind::Output, &text);
            return;
        };
        let room = self
            .node
            .room_id()
            .map(ToString::to_string)
            .unwrap_or_default();
        let delivery = self.delivery_name();
        let w = &mut self.windows[i];
        w.push(
            now,
            LineKind::Output,
            &format!("Room {room}, host {}, {delivery}:", roster.host),
        );
        for m in &roster.members {
            let role = if m.nick == roster.host { " (host)" } else { "" };
            let thin = m.kind == group::MemberKind::Thin;
            let kind = if thin {
                " [thin: stock OTR client]"
            } else {
                ""
            };
            let auth = roster_auth(&self.node, &roster.host, &m.nick, thin);
            w.push(
                now,
                LineKind::Output,
                &format!("  {}{role}{kind} {}: {auth}", m.nick, m.fingerprint),
            );
        }
    }

    fn otr_command(&mut self, args: &str, now: f64, out: &mut Vec<IrcCommand>) {
        let i = self.active;
        let (name, rest) = match command::parse_otr(args) {
            Ok(parsed) => parsed,
            Err(other) => {
                let text = format!("Unknown OTR command /otr {other}. Type /otr help.");
                self.error_line(&text, now);
                return;
            }
        };
        let sub = command::split_word(args).0.to_ascii_lowercase();
        match name {
            OtrName::Help => {
                for line in command::otr_help() {
                    self.windows[i].push(now, LineKind::Output, &line);
                }
                return;
            }
            OtrName::Info => {
                self.otr_info(now);
                return;
            }
            OtrName::Policy => {
                self.otr_policy(rest.trim(), now);
                return;
            }
            _ => {}
        }
        if self.windows[i].kind != WindowKind::Query {
            let text = format!("/otr {sub} works in a private conversation: open one with /query NICK. Channels are never OTR.");
            self.error_line(&text, now);
            return;
        }
        let peer = self.windows[i].name.clone();
        self.prepare_peer(&peer);
        match name {
            OtrName::Init => {
                let outputs = match self.node.start_private(&peer) {
                    Ok(outputs) => outputs,
                    Err(e) => return self.refused(i, &peer, &e, now),
                };
                let was = self.windows[i].otr;
                self.handle_outputs(outputs, None, now, out);
                let w = &mut self.windows[i];
                if w.otr == OtrStatus::Starting && was != OtrStatus::Starting {
                    w.push(
                        now,
                        LineKind::Otr,
                        &format!("Starting a private conversation with {peer}..."),
                    );
                } else if w.otr.is_private() {
                    w.push(
                        now,
                        LineKind::Otr,
                        &format!("Refreshing the private conversation with {peer}..."),
                    );
                }
            }
            OtrName::Finish => {
                let state = self.node.engine().state(&peer);
                if state == ConversationState::Plaintext {
                    let text = format!("There is no private conversation with {peer} to finish.");
                    self.error_line(&text, now);
                    return;
                }
                let outputs = self.node.finish_private(&peer);
                self.handle_outputs(outputs, None, now, out);
                self.windows[i].otr = self.status_from_engine(&peer);
            }
            OtrName::Trust | OtrName::Distrust => {
                let trusted = name == OtrName::Trust;
                let Some(fp) = self.node.engine().peer_fingerprint(&peer) else {
                    let text = format!("There is no private conversation with {peer}, so there is no fingerprint to {sub}.");
                    self.error_line(&text, now);
                    return;
                };
                let before = self.windows[i].otr;
                let outputs = match self.node.set_trust(&peer, trusted) {
                    Ok(outputs) => outputs,
                    Err(e) => return self.refused(i, &peer, &e, now),
                };
                self.trust_changed = true;
                self.handle_outputs(outputs, None, now, out);
                if self.windows[i].otr == before {
                    let word = if trusted { "verified" } else { "not verified" };
                    let text = format!("{peer}'s fingerprint {fp} is {word}.");
                    self.windows[i].push(now, LineKind::Otr, &text);
                }
            }
            OtrName::Auth => {
                let mut secret = rest.trim().to_owned();
                if secret.is_empty() {
                    self.usage("/otr auth SECRET", now);
                    return;
                }
                let outputs = if let SmpStatus::Requested(q) = &self.windows[i].smp {
                    self.windows[i].smp = SmpStatus::Answered {
                        question: q.is_some(),
                    };
                    self.windows[i].push(
                        now,
                        LineKind::Otr,
                        &format!("Answering {peer}'s verification..."),
                    );
                    self.node.smp_respond(&peer, secret.as_bytes())
                } else {
                    self.smp_start_line(i, &peer, None, now);
                    self.node.smp_start(&peer, secret.as_bytes(), None)
                };
                secret.zeroize();
                match outputs {
                    Ok(outputs) => self.handle_outputs(outputs, None, now, out),
                    Err(e) => self.refused(i, &peer, &e, now),
                }
            }
            OtrName::AuthQ => {
                let Some((question, mut secret)) = command::split_question(rest) else {
                    self.usage(
                        "/otr authq QUESTION SECRET (quote a question with spaces: \"...\")",
                        now,
                    );
                    return;
                };
                self.smp_start_line(i, &peer, Some(&question), now);
                let outputs = self
                    .node
                    .smp_start(&peer, secret.as_bytes(), Some(&question));
                secret.zeroize();
                match outputs {
                    Ok(outputs) => self.handle_outputs(outputs, None, now, out),
                    Err(e) => self.refused(i, &peer, &e, now),
                }
            }
            OtrName::Abort => {
                let outputs = self.node.smp_abort(&peer);
                self.windows[i].smp = SmpStatus::Idle;
                match outputs {
                    Ok(outputs) => self.handle_outputs(outputs, None, now, out),
                    Err(e) => self.refused(i, &peer, &e, now),
                }
            }
            OtrName::Help | OtrName::Info | OtrName::Policy => {}
        }
    }

    /// The engine refused what the user asked in window `i` (with `peer`): say why there.
    fn refused(&mut self, i: usize, peer: &str, error: &EngineError, now: f64) {
        let w = &mut self.windows[i];
        w.push(now, LineKind::Error, &notices::describe_error(error, peer));
        w.bump(Activity::Highlight);
    }

    fn smp_start_line(&mut self, i: usize, peer: &str, question: Option<&str>, now: f64) {
        let w = &mut self.windows[i];
        if !w.otr.is_private() {
            return;
        }
        w.smp = SmpStatus::Asked;
        let text = match question {
            Some(q) => format!("Asking {peer} to verify with the question: {q}"),
            None => format!("Asking {peer} to verify with the shared secret..."),
        };
        w.push(now, LineKind::Otr, &text);
    }

    fn otr_info(&mut self, now: f64) {
        let i = self.active;
        let mut lines = vec![format!(
            "Your fingerprint ({}): {}",
            self.nick,
            self.node.engine().fingerprint()
        )];
        if self.windows[i].kind == WindowKind::Query {
            let peer = self.windows[i].name.clone();
            let status = self.windows[i].otr;
            match self.node.engine().peer_fingerprint(&peer) {
                Some(fp) => {
                    let trusted = self
                        .node
                        .engine()
                        .known_fingerprints()
                        .is_trusted(&peer, &fp);
                    let word = if trusted { "verified" } else { "NOT verified" };
                    lines.push(format!("{peer}'s fingerprint: {fp} ({word})"));
                }
                None => lines.push(format!("{peer}: no private session, no fingerprint yet.")),
            }
            lines.push(format!("Conversation with {peer}: {}", status.as_str()));
            for (name, fp, trusted) in self.node.engine().known_fingerprints().iter() {
                if name.eq_ignore_ascii_case(&peer) {
                    let word = if trusted { "verified" } else { "not verified" };
                    lines.push(format!("Known for {name}: {fp} ({word})"));
                }
            }
        }
        lines.push(format!("Policy: {}", self.policy_name()));
        for line in lines {
            self.windows[i].push(now, LineKind::Output, &line);
        }
    }

    fn otr_policy(&mut self, arg: &str, now: f64) {
        let i = self.active;
        if !arg.is_empty() {
            match Policy::from_preset(&arg.to_ascii_lowercase()) {
                Some(policy) if policy.otr_enabled() => self.node.set_policy(policy),
                _ => {
                    self.usage("/otr policy [manual|opportunistic|always]", now);
                    return;
                }
            }
        }
        let name = self.policy_name();
        let meaning = match name {
            "manual" => "OTR starts only when someone asks (/otr init); messages may go out in the clear",
            "opportunistic" => "OTR starts by itself with peers that have it; messages may go out in the clear until it does",
            "always" => "encryption required: nothing is sent in the clear to a nick; messages wait for the private conversation",
            _ => "OTR is off",
        };
        let lines = [
            format!("OTR policy: {name} ({meaning})."),
            "Set it with /otr policy manual|opportunistic|always.".to_owned(),
        ];
        for line in lines {
            self.windows[i].push(now, LineKind::Output, &line);
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
        let mut size = (self.config.max_payload)(&self.nick, peer);
        if let group::Delivery::Channel(ch) = self.node.delivery() {
            let tags = group::envelope::tag(peer, "", "").len() + group::envelope::MAX_NICK;
            let in_channel = (self.config.max_payload)(&self.nick, &ch).saturating_sub(tags);
            size = size.min(in_channel.max(64));
        }
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

    /// How our room's lines travel, as the room window and `/group roster` say it.
    fn delivery_name(&self) -> String {
        match self.node.delivery() {
            group::Delivery::Channel(ch) => format!("in {ch} (tagged channel lines)"),
            _ => "by private messages".to_owned(),
        }
    }
}

/// The window name of a room.
fn room_window_name(room: &str) -> String {
    format!("room:{room}")
}

/// How a room's security level is shown.
pub fn level_name(level: SecurityLevel) -> &'static str {
    match level {
        SecurityLevel::Private => "private",
        SecurityLevel::NotPrivate => "NOT private (no OTR session with the host yet)",
        SecurityLevel::Finished => "finished",
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

/// A policy's preset name.
fn policy_name(policy: Policy) -> &'static str {
    ["always", "opportunistic", "manual", "never"]
        .into_iter()
        .find(|name| Policy::from_preset(name) == Some(policy))
        .unwrap_or("custom")
}

/// ` (reason)` or nothing.
fn bracket(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" ({reason})")
    }
}
