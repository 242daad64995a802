//! offrecord's IRC transport: the only part of offrecord that knows about an IRC network.
//!
//! It knows nothing of OTR or of the user interface. The caller sends [`IrcCommand`]s and
//! receives [`IrcEvent`]s; the transport task owns the socket, registers the nick, answers
//! PING, paces outgoing lines under the server's flood control, and reconnects with backoff
//! (rejoining channels) when the connection drops.
//!
//! No text given to a command can put CR, LF or NUL on the wire: there is no way to inject a
//! raw IRC command through a message body, a nick or a channel name.

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
}
