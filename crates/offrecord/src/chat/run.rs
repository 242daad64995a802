//! The terminal runner of `offrecord chat`: a tokio event loop that wires the keyboard
//! (crossterm's event stream), the IRC transport, a one-second tick and the identity store to
//! an [`App`], and draws it after every change.
//!
//! Key generation (or loading) runs on a blocking thread while a progress screen spins, so the
//! screen never freezes. Trust changes are saved as soon as the app reports them. The terminal
//! is restored on every exit path, errors included.

use std::io::{self, Stdout};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use crossterm::event::{
    Event as TermEvent, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers,
};
use crossterm::terminal::{self, EnterAlternateScreen, LeaveAlternateScreen};
use futures_util::StreamExt;
use irc::{IrcCommand, IrcConfig, IrcHandle};
use otr::wire::encoded::InstanceTag;
use otr::{Engine, EngineConfig, Policy};
use rand_core::OsRng;
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

use super::app::{App, AppConfig, Key};
use super::ui;
use crate::store::{Account, Store};

/// How `offrecord chat` was started.
#[derive(Debug, Clone)]
pub struct ChatOptions {
    /// The server's host name or address.
    pub server: String,
    /// Its port.
    pub port: u16,
    /// Connect with TLS.
    pub tls: bool,
    /// A PEM file of CA certificates to trust instead of the web roots.
    pub tls_ca: Option<PathBuf>,
    /// The nick to ask for.
    pub nick: String,
    /// Channels to join.
    pub channels: Vec<String>,
    /// The home directory with libotr's files.
    pub home: PathBuf,
    /// The account name in those files.
    pub account: String,
    /// The libotr protocol id the account is filed under.
    pub otr_protocol: String,
    /// The OTR policy to start with (`/otr policy` changes it).
    pub policy: Policy,
    /// Sentences for the status window once the client is up (how the key was chosen).
    pub notes: Vec<String>,
}

/// Runs the client until the user quits.
pub fn run(options: ChatOptions) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the event loop")?;
    let mut screen = Screen::enter()?;
    let result = runtime.block_on(run_async(options, &mut screen.terminal));
    drop(screen);
    result
}

/// The terminal in raw mode on the alternate screen; restored when dropped.
struct Screen {
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl Screen {
    fn enter() -> anyhow::Result<Self> {
        terminal::enable_raw_mode().context("switching the terminal to raw mode")?;
        let mut stdout = io::stdout();
        if let Err(e) = crossterm::execute!(stdout, EnterAlternateScreen) {
            let _ = terminal::disable_raw_mode();
            return Err(e).context("entering the alternate screen");
        }
        match Terminal::new(CrosstermBackend::new(stdout)) {
            Ok(terminal) => Ok(Self { terminal }),
            Err(e) => {
                let _ = crossterm::execute!(io::stdout(), LeaveAlternateScreen);
                let _ = terminal::disable_raw_mode();
                Err(e).context("opening the terminal")
            }
        }
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = terminal::disable_raw_mode();
        let _ = crossterm::execute!(self.terminal.backend_mut(), LeaveAlternateScreen);
        let _ = self.terminal.show_cursor();
    }
}

type Term = Terminal<CrosstermBackend<Stdout>>;

/// How long QUIT waits after `/quit` so that the OTR disconnect messages queued before it
/// leave (the transport paces lines; one per private conversation is usually immediate).
const QUIT_GRACE: Duration = Duration::from_millis(1500);

/// Seconds since the Unix epoch.
fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

async fn run_async(options: ChatOptions, terminal: &mut Term) -> anyhow::Result<()> {
    let mut keys = EventStream::new();
    let store = Store::new(&options.home, &options.account, &options.otr_protocol);
    let mut typed_early = Vec::new();
    let Some(account) =
        load_account(&store, &options, terminal, &mut keys, &mut typed_early).await?
    else {
        return Ok(());
    };
    let config = EngineConfig {
        policy: options.policy,
        instance_tag: InstanceTag(account.instance_tag),
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(account.key, config, Box::new(OsRng));
    engine.set_known_fingerprints(account.known);

    let mut irc_config = IrcConfig::new(options.server.clone(), options.port, options.nick.clone());
    irc_config.tls = options.tls;
    irc_config.tls_ca.clone_from(&options.tls_ca);
    irc_config.channels.clone_from(&options.channels);
    let (handle, mut events) = irc::spawn(irc_config);

    let limit_handle = handle.clone();
    let app_config = AppConfig {
        nick: options.nick.clone(),
        server: format!(
            "{}:{}{}",
            options.server,
            options.port,
            if options.tls { " (TLS)" } else { "" }
        ),
        channels: options.channels.clone(),
        max_payload: Arc::new(move |_nick: &str, target: &str| limit_handle.max_payload(target)),
    };
    let mut app = App::new(engine, app_config);
    for note in &options.notes {
        app.notice(note, now());
    }
    let _ = app.on_tick(now());
    // What was typed while the key was generated is not lost.
    for event in typed_early {
        let commands = on_terminal(&mut app, event);
        send_all(&handle, &mut app, commands);
    }

    // The room state last written to `otr.chatinfo`, so that it is rewritten only on change.
    let mut room_saved: Option<group::chatinfo::ChatInfo> = None;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    // After /quit: the QUIT waiting for the OTR disconnects queued before it to go out (the
    // transport sends QUIT at once and drops what is still queued), and when to give up.
    let mut pending_quit: Option<(IrcCommand, tokio::time::Instant)> = None;
    let mut exit_at: Option<tokio::time::Instant> = None;
    loop {
        draw(terminal, &mut app)?;
        let quit_at = pending_quit.as_ref().map(|(_, at)| *at);
        let commands = tokio::select! {
            key = keys.next() => match key {
                Some(Ok(event)) => on_terminal(&mut app, event),
                Some(Err(e)) => return Err(e).context("reading the keyboard"),
                None => break,
            },
            event = events.recv() => match event {
                Some(event) => app.on_irc(event, now()),
                // The transport stopped (after QUIT).
                None => break,
            },
            _ = tokio::time::sleep_until(quit_at.unwrap_or_else(tokio::time::Instant::now)), if quit_at.is_some() => {
                if let Some((quit, _)) = pending_quit.take() {
                    send_all(&handle, &mut app, vec![quit]);
                }
                exit_at = Some(tokio::time::Instant::now() + Duration::from_secs(2));
                Vec::new()
            }
            _ = tick.tick() => {
                if exit_at.is_some_and(|d| tokio::time::Instant::now() >= d) {
                    break;
                }
                app.on_tick(now())
            }
        };
        let (quits, commands): (Vec<IrcCommand>, Vec<IrcCommand>) = commands
            .into_iter()
            .partition(|c| matches!(c, IrcCommand::Quit(_)));
        send_all(&handle, &mut app, commands);
        if let Some(quit) = quits.into_iter().next() {
            if pending_quit.is_none() && exit_at.is_none() {
                let at = tokio::time::Instant::now() + QUIT_GRACE;
                pending_quit = Some((quit, at));
            }
        }
        save_trust(&store, &mut app);
        save_room(&options.home, &mut app, &mut room_saved);
    }
    save_trust(&store, &mut app);
    Ok(())
}

/// Loads the account's key (generating one the first time) on a blocking thread, with a
/// spinner. `None` if the user pressed Ctrl-C meanwhile; other terminal events are kept in
/// `typed` for the app.
async fn load_account(
    store: &Store,
    options: &ChatOptions,
    terminal: &mut Term,
    keys: &mut EventStream,
    typed: &mut Vec<TermEvent>,
) -> anyhow::Result<Option<Account>> {
    let has_key = store
        .files()
        .read_private_keys()
        .ok()
        .flatten()
        .is_some_and(|k| k.find(&options.account, &options.otr_protocol).is_some());
    let message = if has_key {
        format!("Loading the OTR key of {}...", options.account)
    } else {
        format!(
            "Generating a new OTR key for {} (1024-bit DSA) in {}...",
            options.account,
            options.home.display()
        )
    };
    let worker = store.clone();
    let mut job = tokio::task::spawn_blocking(move || worker.load_or_create(&mut OsRng));
    let mut spin = tokio::time::interval(Duration::from_millis(120));
    let mut step = 0usize;
    loop {
        terminal.draw(|frame| ui::draw_progress(frame, &message, step))?;
        tokio::select! {
            done = &mut job => {
                let account = done.context("the key generation thread failed")??;
                return Ok(Some(account));
            }
            _ = spin.tick() => step += 1,
            key = keys.next() => match key {
                Some(Ok(TermEvent::Key(k)))
                    if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') =>
                {
                    return Ok(None);
                }
                Some(Ok(event)) => typed.push(event),
                Some(Err(_)) | None => {}
            }
        }
    }
}

fn draw(terminal: &mut Term, app: &mut App) -> anyhow::Result<()> {
    let height = terminal.size()?.height;
    app.set_page_height(ui::scrollback_height(height).max(2) - 1);
    terminal.draw(|frame| ui::draw(frame, app))?;
    Ok(())
}

fn send_all(handle: &IrcHandle, app: &mut App, commands: Vec<IrcCommand>) {
    for command in commands {
        if let Err(e) = handle.send(command) {
            app.notice(&format!("Not sent: {e}"), now());
        }
    }
}

fn save_trust(store: &Store, app: &mut App) {
    if let Some(known) = app.take_trust_changes() {
        if let Err(e) = store.save_known(&known) {
            app.notice(&format!("Could not save the fingerprints: {e}"), now());
        }
    }
}

/// Records the room's state in `otr.chatinfo` (the paper's room state file) whenever it
/// changes: room id, host and security level, per account.
fn save_room(home: &std::path::Path, app: &mut App, saved: &mut Option<group::chatinfo::ChatInfo>) {
    let Some(info) = app.room_state() else {
        return;
    };
    if saved.as_ref() == Some(&info) {
        return;
    }
    match crate::chatinfo_file::record(home, info.clone()) {
        Ok(()) => *saved = Some(info),
        Err(e) => {
            // Said once per state, not on every loop.
            *saved = Some(info);
            app.notice(&format!("Could not save the room state: {e:#}"), now());
        }
    }
}

/// A terminal event: keys go to the app; Ctrl-C quits like `/quit`.
fn on_terminal(app: &mut App, event: TermEvent) -> Vec<IrcCommand> {
    let t = now();
    match event {
        TermEvent::Key(key) if key.kind != KeyEventKind::Release => match map_key(key) {
            Some(Mapped::Key(k)) => app.on_key(k, t),
            Some(Mapped::Quit) => app.on_input("/quit", t),
            None => Vec::new(),
        },
        TermEvent::Paste(text) => {
            let mut out = Vec::new();
            for c in text.chars().filter(|c| !c.is_control()) {
                out.extend(app.on_key(Key::Char(c), t));
            }
            out
        }
        _ => Vec::new(),
    }
}

enum Mapped {
    Key(Key),
    Quit,
}

/// The app's key for a terminal key: irssi's bindings where they exist.
fn map_key(key: KeyEvent) -> Option<Mapped> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let k = match key.code {
        KeyCode::Char('c') | KeyCode::Char('d') if ctrl => return Some(Mapped::Quit),
        KeyCode::Char('n') if ctrl => Key::NextWindow,
        KeyCode::Char('p') if ctrl => Key::PrevWindow,
        KeyCode::Char('u') if ctrl => Key::ClearLine,
        KeyCode::Char('a') if ctrl => Key::Home,
        KeyCode::Char('e') if ctrl => Key::End,
        KeyCode::Char(c) if alt && c.is_ascii_digit() => {
            let n = c.to_digit(10).map_or(0, |d| d as usize);
            Key::Window(if n == 0 { 10 } else { n })
        }
        KeyCode::Right if alt => Key::NextWindow,
        KeyCode::Left if alt => Key::PrevWindow,
        KeyCode::Char(c) if !ctrl && !alt => Key::Char(c),
        KeyCode::Enter => Key::Enter,
        KeyCode::Backspace => Key::Backspace,
        KeyCode::Delete => Key::Delete,
        KeyCode::Left => Key::Left,
        KeyCode::Right => Key::Right,
        KeyCode::Home => Key::Home,
        KeyCode::End => Key::End,
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::PageUp => Key::PageUp,
        KeyCode::PageDown => Key::PageDown,
        _ => return None,
    };
    Some(Mapped::Key(k))
}
