//! The connection task: connect, register, read and write lines, reconnect.
//!
//! One task per [`crate::spawn`]. It loops over connections: each connection gets a reader
//! task that turns bytes into lines, and the main loop selects over server lines, the
//! caller's commands, the pacing timer and the keepalive timer. Between connections it waits
//! out the backoff while still taking commands (channel and nick changes are remembered;
//! messages are reported undelivered).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, WriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, timeout, Instant};

use crate::line::{self, Message};
use crate::pacing::Bucket;
use crate::{lock, IrcCommand, IrcConfig, IrcError, IrcEvent, Shared};

/// The nick length every server accepts (RFC 2812); longer nicks are cut to fit a suffix.
const SAFE_NICK_LEN: usize = 9;
/// How long a TCP connect plus TLS handshake may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// The token of the PINGs that confirm what we wrote.
const ACK_TOKEN: &str = "offrecord-ack-";
/// The token of keepalive PINGs.
const KEEPALIVE_TOKEN: &str = "offrecord-keepalive";

/// Formats a command as its line, refusing anything that could inject another line.
pub(crate) fn encode(cmd: &IrcCommand) -> Result<String, IrcError> {
    match cmd {
        IrcCommand::Privmsg { target, text } => {
            if text.is_empty() {
                return Err(IrcError::Empty { field: "text" });
            }
            line::format("PRIVMSG", &[("target", target)], Some(("text", text)))
        }
        IrcCommand::Notice { target, text } => {
            if text.is_empty() {
                return Err(IrcError::Empty { field: "text" });
            }
            line::format("NOTICE", &[("target", target)], Some(("text", text)))
        }
        IrcCommand::Join(channel) => line::format("JOIN", &[("channel", channel)], None),
        IrcCommand::Part { channel, reason } if reason.is_empty() => {
            line::format("PART", &[("channel", channel)], None)
        }
        IrcCommand::Part { channel, reason } => {
            line::format("PART", &[("channel", channel)], Some(("reason", reason)))
        }
        IrcCommand::Nick(nick) => line::format("NICK", &[("nick", nick)], None),
        IrcCommand::Quit(reason) => line::format("QUIT", &[], Some(("reason", reason))),
        IrcCommand::Ison(nicks) => {
            if nicks.is_empty() {
                return Err(IrcError::Empty { field: "nicks" });
            }
            let words: Vec<(&'static str, &str)> =
                nicks.iter().map(|n| ("nick", n.as_str())).collect();
            line::format("ISON", &words, None)
        }
    }
}

/// The nicks of an RPL_ISON reply's text (space separated; some servers end it with a
/// space).
fn parse_ison(reply: &str) -> Vec<String> {
    reply
        .split(' ')
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A line waiting to go or gone but unconfirmed; `msg` is set for PRIVMSG and NOTICE.
#[derive(Debug)]
struct Out {
    line: String,
    msg: Option<(String, String, bool)>,
}

/// How a connection ended.
enum End {
    /// The caller quit, or dropped every handle or the event receiver.
    Quit,
    /// The connection dropped; `registered` says whether it had got as far as RPL_WELCOME.
    Dropped { reason: String, registered: bool },
}

/// What lasts across connections.
struct Task {
    config: IrcConfig,
    shared: Arc<Mutex<Shared>>,
    events: mpsc::Sender<IrcEvent>,
    /// Channels to be in, in the order asked.
    channels: Vec<String>,
    /// The nick to ask for on the next connection.
    wanted_nick: String,
}

impl Task {
    async fn emit(&self, event: IrcEvent) -> bool {
        self.events.send(event).await.is_ok()
    }

    fn want_channel(&mut self, channel: &str) {
        if !self
            .channels
            .iter()
            .any(|c| c.eq_ignore_ascii_case(channel))
        {
            self.channels.push(channel.to_string());
        }
    }

    fn drop_channel(&mut self, channel: &str) {
        self.channels.retain(|c| !c.eq_ignore_ascii_case(channel));
    }
}

/// The task: connections with backoff in between, until quit.
pub(crate) async fn run(
    config: IrcConfig,
    shared: Arc<Mutex<Shared>>,
    mut commands: mpsc::UnboundedReceiver<IrcCommand>,
    events: mpsc::Sender<IrcEvent>,
) {
    let mut task = Task {
        channels: Vec::new(),
        wanted_nick: config.nick.clone(),
        config,
        shared,
        events,
    };
    if let Err(e) = validate(&task.config) {
        let reason = format!("invalid configuration: {e}");
        let _ = task
            .emit(IrcEvent::Disconnected {
                reason,
                retry_in_ms: 0,
            })
            .await;
        return;
    }
    for channel in task.config.channels.clone() {
        task.want_channel(&channel);
    }
    let mut failures: u32 = 0;
    loop {
        let end = match connect(&task.config).await {
            Ok(stream) => session(&mut task, &mut commands, stream).await,
            Err(e) => End::Dropped {
                reason: format!(
                    "cannot connect to {}:{}: {e}",
                    task.config.server, task.config.port
                ),
                registered: false,
            },
        };
        lock(&task.shared).connected = false;
        let reason = match end {
            End::Quit => return,
            End::Dropped { reason, registered } => {
                if registered {
                    failures = 0;
                }
                reason
            }
        };
        let delay = backoff(&task.config, failures);
        failures = failures.saturating_add(1);
        let retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        if !task
            .emit(IrcEvent::Disconnected {
                reason,
                retry_in_ms,
            })
            .await
        {
            return;
        }
        if !wait_offline(&mut task, &mut commands, delay).await {
            return;
        }
    }
}

/// Every value of the configuration that goes on the wire must be safe.
fn validate(config: &IrcConfig) -> Result<(), IrcError> {
    encode(&IrcCommand::Nick(config.nick.clone()))?;
    line::format(
        "USER",
        &[("user", &config.user)],
        Some(("realname", &config.realname)),
    )?;
    for channel in &config.channels {
        encode(&IrcCommand::Join(channel.clone()))?;
    }
    Ok(())
}

fn backoff(config: &IrcConfig, failures: u32) -> Duration {
    let factor = 1u32.checked_shl(failures.min(16)).unwrap_or(u32::MAX);
    config
        .reconnect_min
        .saturating_mul(factor)
        .min(config.reconnect_max)
}

/// Waits out the backoff, taking commands meanwhile. False when the caller quit.
async fn wait_offline(
    task: &mut Task,
    commands: &mut mpsc::UnboundedReceiver<IrcCommand>,
    delay: Duration,
) -> bool {
    let until = Instant::now() + delay;
    loop {
        tokio::select! {
            _ = sleep_until(until) => return true,
            cmd = commands.recv() => match cmd {
                None | Some(IrcCommand::Quit(_)) => return false,
                Some(cmd) => {
                    if !offline_command(task, cmd).await {
                        return false;
                    }
                }
            },
        }
    }
}

/// A command while there is no connection. False when the event receiver is gone.
async fn offline_command(task: &mut Task, cmd: IrcCommand) -> bool {
    match cmd {
        IrcCommand::Privmsg { target, text } => {
            task.emit(IrcEvent::Undelivered {
                target,
                text,
                notice: false,
                written: false,
            })
            .await
        }
        IrcCommand::Notice { target, text } => {
            task.emit(IrcEvent::Undelivered {
                target,
                text,
                notice: true,
                written: false,
            })
            .await
        }
        IrcCommand::Join(channel) => {
            task.want_channel(&channel);
            true
        }
        IrcCommand::Part { channel, .. } => {
            task.drop_channel(&channel);
            true
        }
        IrcCommand::Nick(nick) => {
            task.wanted_nick = nick.clone();
            lock(&task.shared).nick = nick;
            true
        }
        // Quit is handled by the callers; anything added later is ignored offline.
        _ => true,
    }
}

async fn connect(config: &IrcConfig) -> std::io::Result<Box<dyn Stream>> {
    let attempt = async {
        let tcp = TcpStream::connect((config.server.as_str(), config.port)).await?;
        tcp.set_nodelay(true)?;
        if config.tls {
            let tls = crate::tls::connect(tcp, &config.server, config.tls_ca.as_deref()).await?;
            Ok::<Box<dyn Stream>, std::io::Error>(Box::new(tls))
        } else {
            Ok(Box::new(tcp) as Box<dyn Stream>)
        }
    };
    timeout(CONNECT_TIMEOUT, attempt)
        .await
        .map_err(|_| std::io::Error::other("timed out"))?
}

/// Reads lines (split at CR or LF; empty lines skipped; cut at MAX_INCOMING_LINE) until EOF.
async fn read_lines(
    mut reader: tokio::io::ReadHalf<Box<dyn Stream>>,
    lines: mpsc::Sender<Result<Vec<u8>, String>>,
) {
    let mut buf = [0u8; 4096];
    let mut line = Vec::new();
    let mut overlong = false;
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) => {
                let _ = lines
                    .send(Err("the server closed the connection".into()))
                    .await;
                return;
            }
            Ok(n) => n,
            Err(e) => {
                let _ = lines.send(Err(format!("read error: {e}"))).await;
                return;
            }
        };
        for &b in &buf[..n] {
            if b == b'\r' || b == b'\n' {
                if !line.is_empty() && lines.send(Ok(std::mem::take(&mut line))).await.is_err() {
                    return;
                }
                overlong = false;
            } else if line.len() < line::MAX_INCOMING_LINE && !overlong {
                line.push(b);
            } else {
                overlong = true;
            }
        }
    }
}

/// One connection's state.
struct Session {
    writer: WriteHalf<Box<dyn Stream>>,
    bucket: Bucket,
    /// Registration, PONG, keepalive: before anything else, also before registration.
    urgent: VecDeque<String>,
    /// Everything else, sent once registered.
    queue: VecDeque<Out>,
    /// Messages written since the last confirming PING was queued.
    unconfirmed: Vec<Out>,
    /// The confirming PING in flight and the messages it confirms.
    awaiting: Option<(String, Vec<Out>)>,
    ack_seq: u64,
    registered: bool,
    nick_attempt: u32,
    names: HashMap<String, Vec<String>>,
    /// The nicks of each `ISON` written or queued on this connection, oldest first: the
    /// server answers them in order.
    ison: VecDeque<Vec<String>>,
    keepalive_at: Instant,
    keepalive_sent: bool,
    error: Option<String>,
}

impl Session {
    fn next_line_len(&self) -> Option<usize> {
        if let Some(line) = self.urgent.front() {
            return Some(line.len());
        }
        if self.registered {
            return self.queue.front().map(|o| o.line.len());
        }
        None
    }

    fn push(&mut self, line: String) {
        self.queue.push_back(Out { line, msg: None });
    }

    /// Writes the next line, if any may go. Err on a write error.
    async fn write_next(&mut self) -> Result<(), String> {
        let out = if let Some(line) = self.urgent.pop_front() {
            Out { line, msg: None }
        } else if let Some(out) = self.queue.pop_front() {
            out
        } else {
            return Ok(());
        };
        self.bucket.take(std::time::Instant::now(), out.line.len());
        self.writer
            .write_all(out.line.as_bytes())
            .await
            .map_err(|e| format!("write error: {e}"))?;
        self.writer
            .flush()
            .await
            .map_err(|e| format!("write error: {e}"))?;
        if out.msg.is_some() {
            self.unconfirmed.push(out);
        }
        if self.queue.is_empty() && self.awaiting.is_none() && !self.unconfirmed.is_empty() {
            self.ack_seq += 1;
            let token = format!("{ACK_TOKEN}{}", self.ack_seq);
            self.push(format!("PING :{token}\r\n"));
            self.awaiting = Some((token, std::mem::take(&mut self.unconfirmed)));
        }
        Ok(())
    }

    /// Every message that may not have been delivered, in the order it was sent.
    fn undelivered(&mut self) -> Vec<IrcEvent> {
        let mut events = Vec::new();
        let written = self
            .awaiting
            .take()
            .map(|(_, outs)| outs)
            .unwrap_or_default();
        let lists = [
            (written, true),
            (std::mem::take(&mut self.unconfirmed), true),
            (self.queue.drain(..).collect(), false),
        ];
        for (outs, was_written) in lists {
            for out in outs {
                if let Some((target, text, notice)) = out.msg {
                    events.push(IrcEvent::Undelivered {
                        target,
                        text,
                        notice,
                        written: was_written,
                    });
                }
            }
        }
        events
    }
}

/// One connection, from registration to its end.
async fn session(
    task: &mut Task,
    commands: &mut mpsc::UnboundedReceiver<IrcCommand>,
    stream: Box<dyn Stream>,
) -> End {
    let (reader, writer) = tokio::io::split(stream);
    let (line_tx, mut line_rx) = mpsc::channel(1024);
    let reader_task = tokio::spawn(read_lines(reader, line_tx));
    let mut s = Session {
        writer,
        bucket: Bucket::new(task.config.pacing.clone(), std::time::Instant::now()),
        urgent: VecDeque::new(),
        queue: VecDeque::new(),
        unconfirmed: Vec::new(),
        awaiting: None,
        ack_seq: 0,
        registered: false,
        nick_attempt: 0,
        names: HashMap::new(),
        ison: VecDeque::new(),
        keepalive_at: Instant::now() + task.config.keepalive,
        keepalive_sent: false,
        error: None,
    };
    lock(&task.shared).nick = task.wanted_nick.clone();
    // Checked by `validate`, and a nick changed later went through `encode`.
    let nick = encode(&IrcCommand::Nick(task.wanted_nick.clone()));
    let user = line::format(
        "USER",
        &[("user", &task.config.user), ("mode", "0"), ("unused", "*")],
        Some(("realname", &task.config.realname)),
    );
    match (nick, user) {
        (Ok(nick), Ok(user)) => {
            s.urgent.push_back(nick);
            s.urgent.push_back(user);
        }
        (Err(e), _) | (_, Err(e)) => {
            reader_task.abort();
            return End::Dropped {
                reason: format!("invalid configuration: {e}"),
                registered: false,
            };
        }
    }
    let end = session_loop(task, commands, &mut s, &mut line_rx).await;
    reader_task.abort();
    if let End::Dropped { .. } = end {
        for event in s.undelivered() {
            if !task.emit(event).await {
                return End::Quit;
            }
        }
    }
    end
}

async fn session_loop(
    task: &mut Task,
    commands: &mut mpsc::UnboundedReceiver<IrcCommand>,
    s: &mut Session,
    line_rx: &mut mpsc::Receiver<Result<Vec<u8>, String>>,
) -> End {
    loop {
        let next_len = s.next_line_len();
        let write_at =
            next_len.map(|len| Instant::now() + s.bucket.wait(std::time::Instant::now(), len));
        let dropped = |reason: String, s: &Session| End::Dropped {
            reason: s
                .error
                .clone()
                .map(|e| format!("{reason} ({e})"))
                .unwrap_or(reason),
            registered: s.registered,
        };
        tokio::select! {
            biased;
            line = line_rx.recv() => match line {
                Some(Ok(bytes)) => {
                    s.keepalive_at = Instant::now() + task.config.keepalive;
                    s.keepalive_sent = false;
                    if let Some(msg) = Message::parse(&bytes) {
                        match on_message(task, s, msg).await {
                            Ok(()) => {}
                            Err(end) => return end,
                        }
                    }
                }
                Some(Err(reason)) => return dropped(reason, s),
                None => return dropped("the connection ended".into(), s),
            },
            _ = sleep_until(write_at.unwrap_or_else(Instant::now)), if write_at.is_some() => {
                if let Err(reason) = s.write_next().await {
                    return dropped(reason, s);
                }
            }
            cmd = commands.recv() => match cmd {
                None => return quit(task, s, "").await,
                Some(IrcCommand::Quit(reason)) => return quit(task, s, &reason).await,
                Some(cmd) => on_command(task, s, cmd),
            },
            _ = sleep_until(s.keepalive_at) => {
                if s.keepalive_sent {
                    let secs = task.config.keepalive.as_secs() * 2;
                    return dropped(format!("no answer from the server for {secs} s"), s);
                }
                s.keepalive_sent = true;
                s.keepalive_at = Instant::now() + task.config.keepalive;
                s.urgent.push_back(format!("PING :{KEEPALIVE_TOKEN}\r\n"));
            }
        }
    }
}

/// Sends QUIT at once, reports what was still queued, and closes.
async fn quit(task: &mut Task, s: &mut Session, reason: &str) -> End {
    let line =
        encode(&IrcCommand::Quit(reason.to_string())).unwrap_or_else(|_| "QUIT\r\n".to_string());
    let _ = timeout(Duration::from_secs(2), async {
        let _ = s.writer.write_all(line.as_bytes()).await;
        let _ = s.writer.flush().await;
        let _ = s.writer.shutdown().await;
    })
    .await;
    for event in s.undelivered() {
        if !task.emit(event).await {
            return End::Quit;
        }
    }
    let reason = if reason.is_empty() {
        "quit".to_string()
    } else {
        format!("quit: {reason}")
    };
    let _ = task
        .emit(IrcEvent::Disconnected {
            reason,
            retry_in_ms: 0,
        })
        .await;
    End::Quit
}

fn on_command(task: &mut Task, s: &mut Session, cmd: IrcCommand) {
    let Ok(line) = encode(&cmd) else {
        // IrcHandle::send already refused it; nothing unchecked is ever written.
        return;
    };
    match cmd {
        IrcCommand::Privmsg { target, text } => {
            s.queue.push_back(Out {
                line,
                msg: Some((target, text, false)),
            });
        }
        IrcCommand::Notice { target, text } => {
            s.queue.push_back(Out {
                line,
                msg: Some((target, text, true)),
            });
        }
        IrcCommand::Join(channel) => {
            task.want_channel(&channel);
            s.push(line);
        }
        IrcCommand::Part { channel, .. } => {
            task.drop_channel(&channel);
            s.push(line);
        }
        IrcCommand::Ison(nicks) => {
            s.ison.push_back(nicks);
            s.push(line);
        }
        IrcCommand::Nick(nick) => {
            if s.registered {
                s.push(line);
            } else {
                task.wanted_nick = nick;
                s.nick_attempt = 0;
                s.urgent.push_back(line);
            }
        }
        _ => {}
    }
}

/// The next nick to try after `base` was refused `attempt` times.
fn nick_candidate(base: &str, attempt: u32) -> String {
    let suffix = if attempt == 1 {
        "_".to_string()
    } else {
        attempt.to_string()
    };
    if base.len() + suffix.len() <= SAFE_NICK_LEN {
        return format!("{base}{suffix}");
    }
    let mut cut = SAFE_NICK_LEN.saturating_sub(suffix.len()).min(base.len());
    while !base.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{suffix}", &base[..cut])
}

/// The first reply of RPL_USERHOST (`nick[*]=[+-]user@host`): nick, user, host.
fn parse_userhost(reply: &str) -> Option<(String, String, String)> {
    let first = reply.split(' ').next()?;
    let (nick, rest) = first.split_once('=')?;
    let nick = nick.trim_end_matches('*');
    let rest = rest.strip_prefix(['+', '-']).unwrap_or(rest);
    let (user, host) = rest.split_once('@')?;
    if nick.is_empty() || user.is_empty() || host.is_empty() {
        return None;
    }
    Some((nick.to_string(), user.to_string(), host.to_string()))
}

fn same_nick(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Handles one line from the server. Err ends the connection.
async fn on_message(task: &mut Task, s: &mut Session, msg: Message) -> Result<(), End> {
    let events = task.events.clone();
    let emit = |event: IrcEvent| {
        let events = events.clone();
        async move { events.send(event).await.map_err(|_| End::Quit) }
    };
    let from = msg.prefix.clone();
    let from_nick = from.as_ref().map(|p| p.nick.clone()).unwrap_or_default();
    let our_nick = lock(&task.shared).nick.clone();
    match msg.command.as_str() {
        "PING" => {
            let token = msg.params.last().cloned().unwrap_or_default();
            if let Ok(line) = line::format("PONG", &[], Some(("token", &token))) {
                s.urgent.push_back(line);
            }
        }
        "PONG" => {
            let token = msg.params.last().map(String::as_str).unwrap_or("");
            if s.awaiting.as_ref().is_some_and(|(t, _)| t == token) {
                s.awaiting = None;
            }
        }
        "001" => {
            s.registered = true;
            let nick = msg.param(0).to_string();
            let full = msg
                .params
                .get(1)
                .and_then(|t| t.rsplit(' ').next())
                .unwrap_or("");
            let prefix = line::Prefix::parse(full);
            let known = {
                let mut shared = lock(&task.shared);
                shared.nick = nick.clone();
                shared.connected = true;
                shared.user = None;
                shared.host = None;
                if prefix.nick == nick {
                    if let (Some(user), Some(host)) = (prefix.user, prefix.host) {
                        shared.user = Some(user);
                        shared.host = Some(host);
                    }
                }
                shared.user.is_some()
            };
            if !known {
                // The welcome text did not show our user@host: ask for it.
                if let Ok(line) = line::format("USERHOST", &[("nick", &nick)], None) {
                    s.urgent.push_back(line);
                }
            }
            emit(IrcEvent::Connected { nick }).await?;
            for channel in task.channels.clone() {
                if let Ok(line) = encode(&IrcCommand::Join(channel)) {
                    s.push(line);
                }
            }
        }
        "432" | "433" | "436" | "437" if !s.registered => {
            s.nick_attempt += 1;
            if s.nick_attempt > 50 {
                s.error = Some("no free nick".into());
                return Err(End::Dropped {
                    reason: format!("every nick tried is taken ({})", task.wanted_nick),
                    registered: false,
                });
            }
            let refused = msg.param(1).to_string();
            let trying = nick_candidate(&task.wanted_nick, s.nick_attempt);
            lock(&task.shared).nick = trying.clone();
            s.urgent.push_back(format!("NICK {trying}\r\n"));
            emit(IrcEvent::NickInUse { refused, trying }).await?;
        }
        "302" => {
            if let Some((nick, user, host)) = parse_userhost(msg.param(1)) {
                let mut shared = lock(&task.shared);
                if same_nick(&nick, &shared.nick) {
                    shared.user = Some(user);
                    shared.host = Some(host);
                }
            }
        }
        "396" => {
            if let Some(host) = msg.params.get(1) {
                lock(&task.shared).host = Some(host.clone());
            }
        }
        "JOIN" => {
            let channel = msg.param(0).to_string();
            if same_nick(&from_nick, &our_nick) {
                if let Some(p) = &from {
                    let mut shared = lock(&task.shared);
                    if let (Some(user), Some(host)) = (&p.user, &p.host) {
                        shared.user = Some(user.clone());
                        shared.host = Some(host.clone());
                    }
                }
            }
            emit(IrcEvent::Joined {
                channel,
                nick: from_nick,
            })
            .await?;
        }
        "PART" => {
            let event = IrcEvent::Parted {
                channel: msg.param(0).to_string(),
                nick: from_nick,
                reason: msg.param(1).to_string(),
            };
            emit(event).await?;
        }
        "KICK" => {
            let channel = msg.param(0).to_string();
            let nick = msg.param(1).to_string();
            if same_nick(&nick, &our_nick) {
                task.drop_channel(&channel);
            }
            let reason = format!("kicked by {from_nick}: {}", msg.param(2));
            emit(IrcEvent::Parted {
                channel,
                nick,
                reason,
            })
            .await?;
        }
        "QUIT" => {
            emit(IrcEvent::Quit {
                nick: from_nick,
                reason: msg.param(0).to_string(),
            })
            .await?;
        }
        "NICK" => {
            let new = msg.param(0).to_string();
            if same_nick(&from_nick, &our_nick) {
                lock(&task.shared).nick = new.clone();
                task.wanted_nick = new.clone();
            }
            emit(IrcEvent::NickChanged {
                old: from_nick,
                new,
            })
            .await?;
        }
        "PRIVMSG" | "NOTICE" => {
            let notice = msg.command == "NOTICE";
            let text = msg.param(1).to_string();
            if from.as_ref().is_some_and(line::Prefix::is_user) {
                let target = msg.param(0).to_string();
                emit(IrcEvent::Message {
                    from: from_nick,
                    target,
                    text,
                    notice,
                })
                .await?;
            } else {
                emit(IrcEvent::Info(text)).await?;
            }
        }
        "353" => {
            let channel = msg.param(2).to_lowercase();
            let nicks = msg.param(3).split(' ').filter(|n| !n.is_empty()).map(|n| {
                n.trim_start_matches(['@', '+', '%', '&', '~', '!'])
                    .to_string()
            });
            s.names.entry(channel).or_default().extend(nicks);
        }
        "366" => {
            let channel = msg.param(1).to_string();
            let nicks = s.names.remove(&channel.to_lowercase()).unwrap_or_default();
            emit(IrcEvent::Names { channel, nicks }).await?;
        }
        "ERROR" => {
            s.error = Some(msg.param(0).to_string());
        }
        "303" => {
            let asked = s.ison.pop_front().unwrap_or_default();
            let online = parse_ison(msg.param(1));
            emit(IrcEvent::IsOn { asked, online }).await?;
        }
        "401" => {
            emit(IrcEvent::NoSuchNick {
                nick: msg.param(1).to_string(),
                reason: msg.param(2).to_string(),
            })
            .await?;
        }
        command if command.len() == 3 && command.bytes().all(|b| b.is_ascii_digit()) => {
            let text = msg.params.get(1..).map(|p| p.join(" ")).unwrap_or_default();
            if !text.is_empty() {
                emit(IrcEvent::Info(text)).await?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn nick_candidates_fit() {
        assert_eq!(nick_candidate("alice", 1), "alice_");
        assert_eq!(nick_candidate("alice", 2), "alice2");
        assert_eq!(nick_candidate("alice1234", 1), "alice123_");
        assert_eq!(nick_candidate("alice1234", 12), "alice1212");
    }

    #[test]
    fn encode_refuses_injection() {
        let cmd = IrcCommand::Privmsg {
            target: "bob".into(),
            text: "hi\r\nQUIT :x".into(),
        };
        assert_eq!(encode(&cmd), Err(IrcError::ForbiddenChar { field: "text" }));
        assert!(encode(&IrcCommand::Join("#a\n".into())).is_err());
        assert!(encode(&IrcCommand::Nick("a b".into())).is_err());
        assert!(encode(&IrcCommand::Quit("x\0".into())).is_err());
        let part = IrcCommand::Part {
            channel: "#a".into(),
            reason: "r\r".into(),
        };
        assert!(encode(&part).is_err());
        assert_eq!(
            encode(&IrcCommand::Join("#a".into())).unwrap(),
            "JOIN #a\r\n"
        );
    }

    #[test]
    fn ison_lines_and_replies() {
        let cmd = IrcCommand::Ison(vec!["alice".into(), "bob".into()]);
        assert_eq!(encode(&cmd).unwrap(), "ISON alice bob\r\n");
        assert_eq!(
            encode(&IrcCommand::Ison(Vec::new())),
            Err(IrcError::Empty { field: "nicks" })
        );
        assert!(encode(&IrcCommand::Ison(vec!["a b".into()])).is_err());
        assert!(encode(&IrcCommand::Ison(vec!["a\r\nQUIT".into()])).is_err());
        assert_eq!(parse_ison("alice bob "), ["alice", "bob"]);
        assert!(parse_ison("").is_empty());
    }

    #[test]
    fn userhost_replies() {
        let parsed = parse_userhost("alice=+~alice@127.0.0.1 bob=-b@h").unwrap();
        assert_eq!(
            parsed,
            ("alice".into(), "~alice".into(), "127.0.0.1".into())
        );
        assert_eq!(parse_userhost("op*=-u@h").unwrap().0, "op");
        assert!(parse_userhost("").is_none());
        assert!(parse_userhost("nick=+nohost").is_none());
    }

    #[test]
    fn backoff_doubles_to_max() {
        let config = IrcConfig::new("h", 1, "n");
        assert_eq!(backoff(&config, 0), Duration::from_secs(1));
        assert_eq!(backoff(&config, 3), Duration::from_secs(8));
        assert_eq!(backoff(&config, 40), Duration::from_secs(60));
    }
}
