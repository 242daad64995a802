//! offrecord's IRC transport: the only part of offrecord that knows about an IRC network.
//!
//! It knows nothing of OTR or of the user interface. The caller sends [`IrcCommand`]s and
//! receives [`IrcEvent`]s; the transport task owns the socket, registers the nick, answers
//! PING, paces outgoing lines under the server's flood control, and reconnects with backoff
//! (rejoining channels) when the connection drops.
//!
//! No text given to a command can put CR, LF or NUL on the wire: there is no way to inject a
//! raw IRC command through a message body, a nick or a channel name.

//!
//! ```no_run
//! # async fn demo() -> Result<(), irc::IrcError> {
//! use irc::{IrcCommand, IrcConfig, IrcEvent};
//! let mut config = IrcConfig::new("127.0.0.1", 6667, "alice");
//! config.channels.push("#offrecord".into());
//! let (handle, mut events) = irc::spawn(config);
//! while let Some(event) = events.recv().await {
//!     if let IrcEvent::Connected { .. } = event {
//!         handle.send(IrcCommand::Privmsg { target: "bob".into(), text: "hello".into() })?;
//!     }
//! }
//! # Ok(()) }
//! ```

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::mpsc;

mod conn;
pub mod line;
mod pacing;
mod tls;

pub use line::{max_privmsg_payload, split_text};
pub use pacing::Pacing;

/// Worst-case user part assumed until the server tells us ours (USERLEN is commonly 10,
/// ngircd prepends `~` when there is no ident).
pub const WORST_CASE_USER: usize = 11;
/// Worst-case host part assumed until the server tells us ours (a DNS label limit; an IPv6
/// address is 39).
pub const WORST_CASE_HOST: usize = 63;

/// Why a command was refused or could not be queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IrcError {
    /// CR, LF or NUL in a value: it would end the line and start another command.
    #[error("{field} contains CR, LF or NUL, which IRC cannot carry")]
    ForbiddenChar {
        /// Which value (`text`, `target`, `channel`, `nick`, `reason`).
        field: &'static str,
    },
    /// A nick, channel or target that is empty.
    #[error("{field} is empty")]
    Empty {
        /// Which value.
        field: &'static str,
    },
    /// A nick, channel or target with a space or comma, or starting with `:`.
    #[error("{field} {value:?} is not a single IRC word")]
    BadWord {
        /// Which value.
        field: &'static str,
        /// The value refused.
        value: String,
    },
    /// The line we would send is longer than IRC allows (ngircd disconnects for it).
    #[error("the line would be {len} bytes; IRC allows {max}")]
    LineTooLong {
        /// Its length with CR LF.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The text is longer than what the server relays uncut (see [`max_privmsg_payload`]).
    #[error("the text is {len} bytes; at most {max} reach {target} uncut")]
    TextTooLong {
        /// The text's length.
        len: usize,
        /// The most that fits now.
        max: usize,
        /// The target.
        target: String,
    },
    /// The transport task has stopped (after QUIT, or the runtime shut down).
    #[error("the IRC transport has stopped")]
    Closed,
}

/// How to reach the server and who to be.
#[derive(Debug, Clone)]
pub struct IrcConfig {
    /// Host name or IP address.
    pub server: String,
    /// TCP port.
    pub port: u16,
    /// Connect with TLS (rustls; certificates checked against `tls_ca` or the web roots).
    pub tls: bool,
    /// A PEM file of CA certificates to trust instead of the web roots (private networks).
    pub tls_ca: Option<PathBuf>,
    /// The nick to ask for (`nick_`, `nick1`, ... if it is taken).
    pub nick: String,
    /// The user name (ident).
    pub user: String,
    /// The real name.
    pub realname: String,
    /// Channels to join after every (re)connect.
    pub channels: Vec<String>,
    /// Pacing of outgoing lines.
    pub pacing: Pacing,
    /// First delay before reconnecting; doubled after each failed attempt.
    pub reconnect_min: Duration,
    /// Longest delay between reconnect attempts.
    pub reconnect_max: Duration,
    /// Silence from the server after which we PING it; no answer within as long again
    /// drops the connection.
    pub keepalive: Duration,
}

impl IrcConfig {
    /// Plain TCP, user and real name from the nick, no channels, pacing safe for ngircd,
    /// reconnect after 1 s doubling up to 60 s, keepalive 90 s.
    pub fn new(server: impl Into<String>, port: u16, nick: impl Into<String>) -> Self {
        let nick = nick.into();
        let user: String = nick
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(9)
            .collect();
        IrcConfig {
            server: server.into(),
            port,
            tls: false,
            tls_ca: None,
            user: if user.is_empty() {
                "offrecord".into()
            } else {
                user
            },
            realname: "offrecord".into(),
            nick,
            channels: Vec::new(),
            pacing: Pacing::ngircd_default(),
            reconnect_min: Duration::from_secs(1),
            reconnect_max: Duration::from_secs(60),
            keepalive: Duration::from_secs(90),
        }
    }
}

/// What the task and the handles share.
#[derive(Debug, Default)]
struct Shared {
    nick: String,
    user: Option<String>,
    host: Option<String>,
    connected: bool,
}

/// The caller's side of a connection: cheap to clone, usable from any thread.
#[derive(Debug, Clone)]
pub struct IrcHandle {
    commands: mpsc::UnboundedSender<IrcCommand>,
    shared: Arc<Mutex<Shared>>,
}

impl IrcHandle {
    /// Queues a command. Refuses it, sending nothing, if any value could inject a line
    /// (CR, LF, NUL; spaces or commas in a target) or if a PRIVMSG/NOTICE text is longer
    /// than [`IrcHandle::max_payload`] for its target.
    pub fn send(&self, cmd: IrcCommand) -> Result<(), IrcError> {
        conn::encode(&cmd)?;
        if let IrcCommand::Privmsg { target, text } | IrcCommand::Notice { target, text } = &cmd {
            let max = self.max_payload(target);
            if text.len() > max {
                return Err(IrcError::TextTooLong {
                    len: text.len(),
                    max,
                    target: target.clone(),
                });
            }
        }
        self.commands.send(cmd).map_err(|_| IrcError::Closed)
    }

    /// Our current nick (the one asked for until the server gives one).
    pub fn nick(&self) -> String {
        lock(&self.shared).nick.clone()
    }

    /// True while registered with the server.
    pub fn is_connected(&self) -> bool {
        lock(&self.shared).connected
    }

    /// Our `user@host` as the server shows it to others, once known.
    pub fn user_host(&self) -> Option<(String, String)> {
        let shared = lock(&self.shared);
        Some((shared.user.clone()?, shared.host.clone()?))
    }

    /// Bytes of PRIVMSG text to `target` that the server relays uncut, from our nick and
    /// user@host as the server last showed them (the worst case until it has). Give this to
    /// `otr::Engine::set_max_message_size`.
    pub fn max_payload(&self, target: &str) -> usize {
        let shared = lock(&self.shared);
        let user = shared
            .user
            .clone()
            .unwrap_or_else(|| "u".repeat(WORST_CASE_USER));
        let host = shared
            .host
            .clone()
            .unwrap_or_else(|| "h".repeat(WORST_CASE_HOST));
        max_privmsg_payload(&shared.nick, &user, &host, target)
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts the connection task on the current tokio runtime (call from within one). The task
/// connects, registers, joins `config.channels`, and reconnects with backoff until
/// [`IrcCommand::Quit`] or until every handle is dropped. Events arrive on the receiver;
/// if it is dropped the task quits.
pub fn spawn(config: IrcConfig) -> (IrcHandle, mpsc::Receiver<IrcEvent>) {
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (event_tx, event_rx) = mpsc::channel(4096);
    let shared = Arc::new(Mutex::new(Shared {
        nick: config.nick.clone(),
        ..Shared::default()
    }));
    let handle = IrcHandle {
        commands: cmd_tx,
        shared: Arc::clone(&shared),
    };
    tokio::spawn(conn::run(config, shared, cmd_rx, event_tx));
    (handle, event_rx)
}

/// What the caller asks the transport to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IrcCommand {
    /// `PRIVMSG target :text`, to a nick or a channel.
    Privmsg {
        /// A nick or a channel name.
        target: String,
        /// The message body (one line; the transport refuses CR, LF and NUL).
        text: String,
    },
    /// `NOTICE target :text`.
    Notice {
        /// A nick or a channel name.
        target: String,
        /// The message body.
        text: String,
    },
    /// `JOIN channel`; the channel is rejoined after every reconnect until parted.
    Join(String),
    /// `PART channel :reason`.
    Part {
        /// The channel to leave.
        channel: String,
        /// Shown to the others; may be empty.
        reason: String,
    },
    /// `NICK new`: ask to change our nick.
    Nick(String),
    /// `QUIT :reason`, then close the connection and stop reconnecting.
    Quit(String),
    /// `ISON nick...`: which of these nicks are on the network now? The answer comes as
    /// [`IrcEvent::IsOn`]. One short line and a short reply, so a client can poll a
    /// peer's presence cheaply (even one it shares no channel with, whose QUIT the server
    /// does not send it). Dropped silently while there is no connection.
    Ison(Vec<String>),
}

/// What happened on the network.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IrcEvent {
    /// Registration completed (RPL_WELCOME); `nick` is the nick the server gave us.
    Connected {
        /// Our nick on this connection.
        nick: String,
    },
    /// The nick we asked for is taken; the transport tries `trying` instead.
    NickInUse {
        /// The nick that was refused.
        refused: String,
        /// The nick tried next.
        trying: String,
    },
    /// The connection is gone; the transport reconnects after `retry_in_ms` (unless quitting).
    Disconnected {
        /// Why, for the user.
        reason: String,
        /// Milliseconds until the next attempt.
        retry_in_ms: u64,
    },
    /// A PRIVMSG (or, with `notice`, a NOTICE) from `from` to `target` (our nick or a channel).
    Message {
        /// The sender's nick.
        from: String,
        /// Our nick (a private message) or a channel name.
        target: String,
        /// The body.
        text: String,
        /// True for NOTICE.
        notice: bool,
    },
    /// Someone (maybe us) joined a channel.
    Joined {
        /// The channel.
        channel: String,
        /// Who joined.
        nick: String,
    },
    /// Someone (maybe us) left a channel.
    Parted {
        /// The channel.
        channel: String,
        /// Who left.
        nick: String,
        /// Their reason, possibly empty.
        reason: String,
    },
    /// Someone (maybe us) quit the network.
    Quit {
        /// Who quit.
        nick: String,
        /// Their reason, possibly empty.
        reason: String,
    },
    /// Someone (maybe us) changed nick.
    NickChanged {
        /// The old nick.
        old: String,
        /// The new nick.
        new: String,
    },
    /// The names of a channel's members (from RPL_NAMREPLY, prefixes like `@` removed).
    Names {
        /// The channel.
        channel: String,
        /// Its members.
        nicks: Vec<String>,
    },
    /// Anything else worth showing the user (server notices, MOTD lines, errors).
    Info(String),
    /// The server's answer (RPL_ISON, 303) to an [`IrcCommand::Ison`]: of the nicks
    /// `asked`, those `online` (as the server spells them). A nick asked and not online
    /// is not on the network. Answers are paired with the questions in the order they
    /// were sent on the connection.
    IsOn {
        /// The nicks the matching `ISON` asked about (empty if the server answered a
        /// question this transport did not ask).
        asked: Vec<String>,
        /// Those on the network.
        online: Vec<String>,
    },
    /// The server refused a command because the nick (or channel) it names does not
    /// exist (ERR_NOSUCHNICK, 401), e.g. a PRIVMSG to a nick that left the network: that
    /// line was not delivered.
    NoSuchNick {
        /// The nick or channel named.
        nick: String,
        /// The server's text (`No such nick or channel name`).
        reason: String,
    },
    /// A PRIVMSG or NOTICE that may not have reached the server, told when the connection
    /// dropped (or was down when the command came). `written: false`: it never left the
    /// transport's queue, so it was surely not delivered. `written: true`: it was written to
    /// the socket but the server had not confirmed it (the transport confirms what it sent
    /// with a PING once its queue is empty), so it may or may not have been relayed.
    /// Nothing is resent automatically after a reconnect.
    Undelivered {
        /// The target of the lost message.
        target: String,
        /// Its text.
        text: String,
        /// True for NOTICE.
        notice: bool,
        /// Whether it was written to the socket before the drop.
        written: bool,
    },
}
