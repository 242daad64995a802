//! The windows of the chat client: their kinds, their lines and how a line is rendered,
//! what the user has not seen yet, and each private conversation's OTR and SMP status as
//! the window shows it.

use std::collections::{BTreeSet, VecDeque};

use group::ChatInfo;

/// Lines kept per window; older ones are dropped.
pub const SCROLLBACK: usize = 5000;

/// What a window shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WindowKind {
    /// Server messages and command output with no better place (window 1, never closed).
    Status,
    /// A channel: public, never OTR.
    Channel,
    /// A private conversation with a nick: OTR.
    Query,
    /// A group room (`room:ID`): its lines travel over our private OTR sessions with the
    /// host (or, as host, with every member).
    Room,
}

/// A private conversation's OTR state, with the words irssi-otr's status bar uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OtrStatus {
    /// No private session: messages go out in the clear.
    Plaintext,
    /// A key exchange is running (started by either side); typed text is held.
    Starting,
    /// Private, but the peer's fingerprint is not verified.
    Unverified,
    /// Private with a verified fingerprint.
    Private,
    /// The peer ended the private session; nothing is sent until `/otr finish` or `/otr init`.
    Finished,
}

impl OtrStatus {
    /// The word shown in the status line: `plaintext`, `starting`, `unverified`, `private`
    /// or `finished`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plaintext => "plaintext",
            Self::Starting => "starting",
            Self::Unverified => "unverified",
            Self::Private => "private",
            Self::Finished => "finished",
        }
    }

    /// True when messages go out encrypted.
    pub fn is_private(self) -> bool {
        matches!(self, Self::Unverified | Self::Private)
    }
}

/// The socialist millionaires' protocol, as far as the user is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SmpStatus {
    /// Nothing is running.
    Idle,
    /// We asked; waiting for the peer's answer.
    Asked,
    /// The peer asked (with its question, if any); `/otr auth SECRET` answers.
    Requested(Option<String>),
    /// We answered the peer's request; `question`: it came with a question (then success
    /// verifies us to the peer, not the peer to us, as in libotr).
    Answered {
        /// The request had a question.
        question: bool,
    },
}

/// How one of our messages went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Delivery {
    /// Encrypted, in a private conversation.
    Private,
    /// In the clear to a nick (no private session).
    Plain,
    /// In the clear to a channel.
    Channel,
    /// Held until the private conversation starts.
    Held,
    /// Not sent (see the error line after it).
    NotSent,
}

/// What kind of line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LineKind {
    /// Someone else's message.
    Message {
        /// The sender's nick.
        from: String,
        /// True when it arrived encrypted and verified by its MAC.
        private: bool,
        /// A room line whose sender only the host vouches for (a thin member, or a member
        /// we share no pairwise key with yet): shown with [`HOST_VOUCHES`].
        vouched: bool,
        /// A private line from a key other than the one the window shows (another device
        /// of the peer, or an impostor): its fingerprint, shown with [`OTHER_KEY`].
        other_key: Option<otr::crypto::Fingerprint>,
    },
    /// A message we typed.
    Own {
        /// Our nick at the time.
        nick: String,
        /// How it went out.
        delivery: Delivery,
    },
    /// Network news: joins, parts, nick changes, server messages.
    Info,
    /// OTR news: sessions starting and ending, verification, fingerprints.
    Otr,
    /// Something went wrong, or was refused.
    Error,
    /// Output of a command (help, info, policy).
    Output,
}

/// The mark before a room line whose sender only the host vouches for
/// ([`group::Auth::HostAttested`]): a thin member's line, or a member's line before our
/// pairwise key with it is ready. The host could have written it in that member's name.
pub const HOST_VOUCHES: &str = "[host vouches] ";

/// The mark before a private line that came from a key other than the window's: another
/// instance of the peer with its own key, which may not be the peer at all. The first
/// eight hex digits of that key's fingerprint follow it.
pub const OTHER_KEY: &str = "[other key ";

/// One line of a window's scrollback.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Seconds since the Unix epoch.
    pub time: f64,
    /// Its kind.
    pub kind: LineKind,
    /// The text, with control characters made visible (never raw terminal escapes).
    pub text: String,
}

impl Line {
    /// The line as shown: `HH:MM <nick> text` (`HH:MM <nick> [host vouches] text` for a room
    /// line only the host vouches for), `HH:MM -!- info`, `HH:MM [OTR] news`,
    /// `HH:MM [!] error`, `HH:MM text` for command output.
    pub fn render(&self) -> String {
        let time = clock(self.time);
        match &self.kind {
            LineKind::Message {
                from,
                private: _,
                vouched,
                other_key,
            } => {
                let mark = if *vouched { HOST_VOUCHES } else { "" };
                let key = other_key
                    .map(|fp| {
                        let hex = fp.to_string();
                        format!("{OTHER_KEY}{}] ", hex.get(..8).unwrap_or(&hex))
                    })
                    .unwrap_or_default();
                format!("{time} <{from}> {key}{mark}{}", self.text)
            }
            LineKind::Own { nick, delivery } => {
                let mark = match delivery {
                    Delivery::Held => "[held] ",
                    Delivery::NotSent => "[not sent] ",
                    Delivery::Private | Delivery::Plain | Delivery::Channel => "",
                };
                format!("{time} <{nick}> {mark}{}", self.text)
            }
            LineKind::Info => format!("{time} -!- {}", self.text),
            LineKind::Otr => format!("{time} [OTR] {}", self.text),
            LineKind::Error => format!("{time} [!] {}", self.text),
            LineKind::Output => format!("{time} {}", self.text),
        }
    }
}

/// `HH:MM` (UTC) for seconds since the epoch.
pub fn clock(time: f64) -> String {
    if !(time.is_finite() && time > 0.0) {
        // Before the first tick (lines written when the app was made).
        return "--:--".to_owned();
    }
    let secs = if time.is_finite() && time > 0.0 {
        // Truncation to whole seconds is intended.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let s = time as u64;
        s
    } else {
        0
    };
    let day = secs % 86_400;
    format!("{:02}:{:02}", day / 3600, day % 3600 / 60)
}

/// Replaces control characters (CR, LF, ESC, ...) so that no received text can move the
/// cursor or forge a line.
pub(super) fn visible(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' => ' ',
            c if c.is_control() => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// How much a window has changed since the user last looked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Activity {
    /// Nothing new.
    None,
    /// News (joins, parts, server messages).
    Info,
    /// New messages.
    Message,
    /// A private message or our nick mentioned.
    Highlight,
}

/// A window: the status window, a channel or a private conversation.
#[derive(Debug, Clone)]
pub struct Window {
    pub(super) name: String,
    pub(super) kind: WindowKind,
    pub(super) lines: VecDeque<Line>,
    pub(super) scroll: usize,
    pub(super) activity: Activity,
    pub(super) otr: OtrStatus,
    pub(super) smp: SmpStatus,
    /// Channel members.
    pub(super) members: BTreeSet<String>,
    /// The peer's fingerprint in the current session, as last reported.
    pub(super) fingerprint: Option<otr::crypto::Fingerprint>,
    /// A room window's state (room id, host, security level), as the node last reported.
    pub(super) room: Option<ChatInfo>,
}

impl Window {
    pub(super) fn new(name: &str, kind: WindowKind) -> Self {
        Self {
            name: name.to_owned(),
            kind,
            lines: VecDeque::new(),
            scroll: 0,
            activity: Activity::None,
            otr: OtrStatus::Plaintext,
            smp: SmpStatus::Idle,
            members: BTreeSet::new(),
            fingerprint: None,
            room: None,
        }
    }

    /// A room window's state: its id, host and security level.
    pub fn room_info(&self) -> Option<&ChatInfo> {
        self.room.as_ref()
    }

    /// The channel name, the peer's nick, or `(status)`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the window shows.
    pub fn kind(&self) -> WindowKind {
        self.kind
    }

    /// The scrollback, oldest first.
    pub fn lines(&self) -> impl DoubleEndedIterator<Item = &Line> + ExactSizeIterator {
        self.lines.iter()
    }

    /// How many lines the view is scrolled up from the bottom (0: following new lines).
    pub fn scroll(&self) -> usize {
        self.scroll
    }

    /// What changed since the user last looked at it.
    pub fn activity(&self) -> Activity {
        self.activity
    }

    /// The OTR state of a query window (`Plaintext` for other windows).
    pub fn otr(&self) -> OtrStatus {
        self.otr
    }

    /// The verification (SMP) in progress.
    pub fn smp(&self) -> &SmpStatus {
        &self.smp
    }

    /// A channel's members, as far as we know.
    pub fn members(&self) -> impl Iterator<Item = &str> {
        self.members.iter().map(String::as_str)
    }

    /// Every line rendered as text (for tests and logs).
    pub fn transcript(&self) -> Vec<String> {
        self.lines.iter().map(Line::render).collect()
    }

    pub(super) fn push(&mut self, time: f64, kind: LineKind, text: &str) {
        if self.lines.len() >= SCROLLBACK {
            self.lines.pop_front();
        }
        self.lines.push_back(Line {
            time,
            kind,
            text: visible(text),
        });
        if self.scroll > 0 {
            self.scroll = (self.scroll + 1).min(self.lines.len().saturating_sub(1));
        }
    }

    pub(super) fn bump(&mut self, activity: Activity) {
        self.activity = self.activity.max(activity);
    }
}
