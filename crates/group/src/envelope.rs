//! The group layer's messages: envelopes carried inside OTR plaintext, and the paper's
//! `?RECV?nick?ENDRECV?` / `?SEND?nick?ENDSEND?` tags that address OTR lines in a channel.
//!
//! An envelope is one line of text (OTR plaintext on a line-based transport must not
//! contain line breaks): the prefix [`PREFIX`], a kind, the room id, and space-separated
//! fields. Free text and binary values are base64url without padding; nicks are sent as
//! they are (IRC nicks contain no space, `:` or `,`). The full grammar is in
//! `docs/group-protocol.md`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use otr::crypto::Fingerprint;

/// What every envelope starts with: the protocol version is its digit. Version 2 changed
/// the pairwise MAC (it covers the host generation), the hand-off order (a hash of room,
/// generation and fingerprint) and the hand-off rule (only on evidence that the host
/// left), so a version 1 node could not follow a version 2 room: versions do not mix.
pub const PREFIX: &str = "?GRP2 ";

/// True for an envelope of another version of this protocol (`?GRP<digits> `): never
/// shown as a private message, never handled.
pub fn other_version(text: &str) -> bool {
    text.strip_prefix("?GRP").is_some_and(|rest| {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        digits > 0 && rest.as_bytes().get(digits) == Some(&b' ')
    }) && !text.starts_with(PREFIX)
}

/// The largest body of one group message, in bytes (a chat line; bounds memory per item).
pub const MAX_BODY: usize = 16 * 1024;
/// The most members a roster may list (bounds a roster line and per-message MAC lists).
pub const MAX_MEMBERS: usize = 256;
/// The longest nick we accept (IRC servers allow 9 to 30; bounded generously).
pub const MAX_NICK: usize = 64;
/// Length of a per-recipient MAC (HMAC-SHA256 truncated to 128 bits).
pub const MAC_LEN: usize = 16;
/// Length of a pairwise key id.
pub const KID_LEN: usize = 8;

/// Why an envelope or a tagged line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The text does not start with [`PREFIX`].
    #[error("not a group envelope")]
    NotEnvelope,
    /// The kind word is unknown.
    #[error("unknown envelope kind {0:?}")]
    UnknownKind(String),
    /// A field is missing.
    #[error("missing field {0}")]
    Missing(&'static str),
    /// A field is present but malformed.
    #[error("malformed field {0}")]
    Malformed(&'static str),
    /// A value exceeds its named maximum.
    #[error("field {0} is too large")]
    TooLarge(&'static str),
    /// Fields remain after the last expected one.
    #[error("trailing fields")]
    Trailing,
}

/// A room id: 16 lowercase hex digits chosen by the host at random.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoomId(String);

impl RoomId {
    /// Parses 16 lowercase hex digits.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 16
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| Self(s.to_owned()))
    }

    /// From 8 random bytes.
    pub fn from_bytes(bytes: [u8; 8]) -> Self {
        Self(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl core::fmt::Display for RoomId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a member runs the group layer or a stock OTR client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberKind {
    /// Runs this protocol: envelopes, MACs, digests.
    Full,
    /// A stock OTR client (irssi, Pidgin): gets relayed lines as ordinary private OTR
    /// messages prefixed with the sender's nick.
    Thin,
}

/// One member as the host announces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterEntry {
    /// The member's nick.
    pub nick: String,
    /// The fingerprint of the member's long-term key, as the host's OTR session saw it.
    pub fingerprint: Fingerprint,
    /// Full or thin.
    pub kind: MemberKind,
}

/// The room's membership, as the host announces it (the host is one of the entries).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Roster {
    /// The host's nick.
    pub host: String,
    /// Every member, the host included, in the host's order.
    pub members: Vec<RosterEntry>,
}

impl Roster {
    /// The entry for `nick`.
    pub fn entry(&self, nick: &str) -> Option<&RosterEntry> {
        self.members.iter().find(|m| m.nick == nick)
    }

    /// True if `nick` is a member.
    pub fn contains(&self, nick: &str) -> bool {
        self.entry(nick).is_some()
    }

    /// Full members other than the host, in the order of host generation `epoch` of
    /// `room` (the digest ring and the hand-off order; see [`crate::order`]). Ties (one
    /// key listed twice) fall back to the nick, so the order is total.
    pub fn ring(&self, room: &RoomId, epoch: u64) -> Vec<&RosterEntry> {
        let mut v: Vec<([u8; 32], &RosterEntry)> = self
            .members
            .iter()
            .filter(|m| m.kind == MemberKind::Full && m.nick != self.host)
            .map(|m| (crate::order::rank(room, epoch, &m.fingerprint), m))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.nick.cmp(&b.1.nick)));
        v.into_iter().map(|(_, m)| m).collect()
    }

    /// The hand-off rule: who hosts after generation `epoch` of `room`, the first full
    /// member (the host excluded) in that generation's order.
    pub fn successor(&self, room: &RoomId, epoch: u64) -> Option<&RosterEntry> {
        self.ring(room, epoch).into_iter().next()
    }
}

/// One entry of the room's transcript, numbered by the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A chat line.
    Msg(MsgItem),
    /// The membership changed.
    Roster(Roster),
}

/// A chat line in the transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsgItem {
    /// Who wrote it (as the host attributes it).
    pub sender: String,
    /// The sender's own counter for its messages (strictly increasing).
    pub sseq: u64,
    /// The last transcript number the sender had seen when writing it.
    pub seen: u64,
    /// The text.
    pub body: String,
}

/// A group-layer message, carried as the plaintext of an OTR data message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Envelope {
    /// Host to member: join my room.
    Invite {
        /// The room.
        room: RoomId,
        /// The IRC channel the room's lines travel in (tagged), or `None` for private
        /// messages (the form without a channel field).
        channel: Option<String>,
    },
    /// Member to host: I accept.
    Join {
        /// The room.
        room: RoomId,
    },
    /// Host to a new member: your transcript starts after `gseq`, whose chain head is
    /// `anchor`.
    Welcome {
        /// The room.
        room: RoomId,
        /// The host generation.
        epoch: u64,
        /// The last transcript number before the member's first item.
        gseq: u64,
        /// The chain head at `gseq`.
        anchor: [u8; 32],
    },
    /// Host to member: transcript item `gseq` of `epoch`.
    Relay {
        /// The room.
        room: RoomId,
        /// The host generation.
        epoch: u64,
        /// The transcript number.
        gseq: u64,
        /// What it is.
        item: Item,
        /// The sender's MAC for this recipient, if it sent one.
        mac: Option<[u8; MAC_LEN]>,
    },
    /// Member to host: relay this line.
    Say {
        /// The room.
        room: RoomId,
        /// Our counter.
        sseq: u64,
        /// The last transcript number we have seen.
        seen: u64,
        /// The text.
        body: String,
        /// A MAC per recipient, under the pairwise key we share with it.
        macs: Vec<(String, [u8; MAC_LEN])>,
    },
    /// Member to host: send transcript items `from..=to` again.
    Resend {
        /// The room.
        room: RoomId,
        /// The host generation.
        epoch: u64,
        /// First missing number.
        from: u64,
        /// Last missing number.
        to: u64,
    },
    /// Host to member: you were removed (`closed` false) or the host closed its hosting
    /// (`closed` true: hand-off begins).
    Bye {
        /// The room.
        room: RoomId,
        /// The host leaves (true) or you were removed (false).
        closed: bool,
    },
    /// Member to host: I leave.
    Leave {
        /// The room.
        room: RoomId,
    },
    /// Member to member: I hold pairwise key `kid` and MAC every message I write from my
    /// counter `from` on.
    KeyAck {
        /// The room.
        room: RoomId,
        /// The key's id.
        kid: [u8; KID_LEN],
        /// Our first MACed counter.
        from: u64,
    },
    /// Member to member: my transcript head at `gseq` of `epoch` is `head`.
    Digest {
        /// The room.
        room: RoomId,
        /// The host generation.
        epoch: u64,
        /// The transcript number.
        gseq: u64,
        /// The chain head.
        head: [u8; 32],
    },
}

impl Envelope {
    /// The room the envelope is about.
    pub fn room(&self) -> &RoomId {
        match self {
            Self::Invite { room, .. }
            | Self::Join { room }
            | Self::Welcome { room, .. }
            | Self::Relay { room, .. }
            | Self::Say { room, .. }
            | Self::Resend { room, .. }
            | Self::Bye { room, .. }
            | Self::Leave { room }
            | Self::KeyAck { room, .. }
            | Self::Digest { room, .. } => room,
        }
    }

    /// The envelope as one line of text.
    pub fn encode(&self) -> String {
        let mut s = String::from(PREFIX);
        let mut push = |parts: &[&str]| {
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                s.push_str(p);
            }
        };
        match self {
            Self::Invite {
                room,
                channel: None,
            } => push(&["inv", room.as_str()]),
            Self::Invite {
                room,
                channel: Some(ch),
            } => push(&["inv", room.as_str(), ch]),
            Self::Join { room } => push(&["join", room.as_str()]),
            Self::Welcome {
                room,
                epoch,
                gseq,
                anchor,
            } => push(&[
                "wel",
                room.as_str(),
                &epoch.to_string(),
                &gseq.to_string(),
                &b64(anchor),
            ]),
            Self::Relay {
                room,
                epoch,
                gseq,
                item,
                mac,
            } => {
                let mut parts = vec![
                    "rel".to_owned(),
                    room.to_string(),
                    epoch.to_string(),
                    gseq.to_string(),
                ];
                match item {
                    Item::Msg(m) => {
                        parts.push("m".into());
                        parts.push(m.sender.clone());
                        parts.push(m.sseq.to_string());
                        parts.push(m.seen.to_string());
                        parts.push(mac.as_ref().map_or_else(|| "-".to_owned(), |m| b64(m)));
                        parts.push(b64_body(&m.body));
                    }
                    Item::Roster(r) => {
                        parts.push("r".into());
                        parts.push(r.host.clone());
                        parts.push(encode_members(&r.members));
                    }
                }
                let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
                push(&refs);
            }
            Self::Say {
                room,
                sseq,
                seen,
                body,
                macs,
            } => {
                let macs = if macs.is_empty() {
                    "-".to_owned()
                } else {
                    macs.iter()
                        .map(|(n, m)| format!("{n}:{}", b64(m)))
                        .collect::<Vec<_>>()
                        .join(",")
                };
                push(&[
                    "say",
                    room.as_str(),
                    &sseq.to_string(),
                    &seen.to_string(),
                    &b64_body(body),
                    &macs,
                ]);
            }
            Self::Resend {
                room,
                epoch,
                from,
                to,
            } => push(&[
                "rs",
                room.as_str(),
                &epoch.to_string(),
                &from.to_string(),
                &to.to_string(),
            ]),
            Self::Bye { room, closed } => push(&[
                "bye",
                room.as_str(),
                if *closed { "close" } else { "removed" },
            ]),
            Self::Leave { room } => push(&["left", room.as_str()]),
            Self::KeyAck { room, kid, from } => {
                push(&["pk", room.as_str(), &b64(kid), &from.to_string()])
            }
            Self::Digest {
                room,
                epoch,
                gseq,
                head,
            } => push(&[
                "dg",
                room.as_str(),
                &epoch.to_string(),
                &gseq.to_string(),
                &b64(head),
            ]),
        }
        s
    }

    /// Parses one envelope; never panics.
    pub fn decode(text: &str) -> Result<Self, EnvelopeError> {
        let rest = text
            .strip_prefix(PREFIX)
            .ok_or(EnvelopeError::NotEnvelope)?;
        let mut f = Fields(rest.split(' '));
        let kind = f.next("kind")?;
        let room = RoomId::parse(f.next("room")?).ok_or(EnvelopeError::Malformed("room"))?;
        let env = match kind {
            "inv" => Self::Invite {
                room,
                channel: match f.0.next() {
                    None => None,
                    Some(ch) if valid_channel(ch) => Some(ch.to_owned()),
                    Some(_) => return Err(EnvelopeError::Malformed("channel")),
                },
            },
            "join" => Self::Join { room },
            "wel" => Self::Welcome {
                room,
                epoch: f.num("epoch")?,
                gseq: f.num("gseq")?,
                anchor: f.fixed("anchor")?,
            },
            "rel" => {
                let epoch = f.num("epoch")?;
                let gseq = f.num("gseq")?;
                let (item, mac) = match f.next("item")? {
                    "m" => {
                        let sender = nick(f.next("sender")?)?;
                        let sseq = f.num("sseq")?;
                        let seen = f.num("seen")?;
                        let mac = match f.next("mac")? {
                            "-" => None,
                            m => Some(fixed::<MAC_LEN>(m, "mac")?),
                        };
                        let body = body(f.next("body")?)?;
                        (
                            Item::Msg(MsgItem {
                                sender,
                                sseq,
                                seen,
                                body,
                            }),
                            mac,
                        )
                    }
                    "r" => {
                        let host = nick(f.next("host")?)?;
                        let members = decode_members(f.next("members")?)?;
                        (Item::Roster(Roster { host, members }), None)
                    }
                    _ => return Err(EnvelopeError::Malformed("item")),
                };
                Self::Relay {
                    room,
                    epoch,
                    gseq,
                    item,
                    mac,
                }
            }
            "say" => {
                let sseq = f.num("sseq")?;
                let seen = f.num("seen")?;
                let body = body(f.next("body")?)?;
                let macs = match f.next("macs")? {
                    "-" => Vec::new(),
                    list => {
                        let mut v = Vec::new();
                        for entry in list.split(',') {
                            if v.len() >= MAX_MEMBERS {
                                return Err(EnvelopeError::TooLarge("macs"));
                            }
                            let (n, m) = entry
                                .split_once(':')
                                .ok_or(EnvelopeError::Malformed("macs"))?;
                            v.push((nick(n)?, fixed::<MAC_LEN>(m, "macs")?));
                        }
                        v
                    }
                };
                Self::Say {
                    room,
                    sseq,
                    seen,
                    body,
                    macs,
                }
            }
            "rs" => Self::Resend {
                room,
                epoch: f.num("epoch")?,
                from: f.num("from")?,
                to: f.num("to")?,
            },
            "bye" => Self::Bye {
                room,
                closed: match f.next("reason")? {
                    "close" => true,
                    "removed" => false,
                    _ => return Err(EnvelopeError::Malformed("reason")),
                },
            },
            "left" => Self::Leave { room },
            "pk" => Self::KeyAck {
                room,
                kid: f.fixed("kid")?,
                from: f.num("from")?,
            },
            "dg" => Self::Digest {
                room,
                epoch: f.num("epoch")?,
                gseq: f.num("gseq")?,
                head: f.fixed("head")?,
            },
            other => {
                return Err(EnvelopeError::UnknownKind(
                    other.chars().take(16).collect::<String>(),
                ))
            }
        };
        if f.0.next().is_some() {
            return Err(EnvelopeError::Trailing);
        }
        Ok(env)
    }
}

struct Fields<'a>(core::str::Split<'a, char>);

impl<'a> Fields<'a> {
    fn next(&mut self, name: &'static str) -> Result<&'a str, EnvelopeError> {
        match self.0.next() {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(EnvelopeError::Missing(name)),
        }
    }

    fn num(&mut self, name: &'static str) -> Result<u64, EnvelopeError> {
        let s = self.next(name)?;
        if s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(EnvelopeError::Malformed(name));
        }
        s.parse().map_err(|_| EnvelopeError::Malformed(name))
    }

    fn fixed<const N: usize>(&mut self, name: &'static str) -> Result<[u8; N], EnvelopeError> {
        fixed::<N>(self.next(name)?, name)
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn fixed<const N: usize>(s: &str, name: &'static str) -> Result<[u8; N], EnvelopeError> {
    if s.len() > (N * 4).div_ceil(3) {
        return Err(EnvelopeError::Malformed(name));
    }
    let v = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| EnvelopeError::Malformed(name))?;
    v.try_into().map_err(|_| EnvelopeError::Malformed(name))
}

/// A body in base64url; the empty body is `-` (base64 of nothing would be an empty field).
fn b64_body(body: &str) -> String {
    if body.is_empty() {
        "-".to_owned()
    } else {
        b64(body.as_bytes())
    }
}

fn body(s: &str) -> Result<String, EnvelopeError> {
    if s == "-" {
        return Ok(String::new());
    }
    if s.len() > MAX_BODY.div_ceil(3) * 4 {
        return Err(EnvelopeError::TooLarge("body"));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| EnvelopeError::Malformed("body"))?;
    String::from_utf8(bytes).map_err(|_| EnvelopeError::Malformed("body"))
}

/// Checks an IRC channel name as an invitation may carry it: `#` or `&` first, 2 to
/// [`MAX_NICK`] bytes, none of space, `,`, `:`, `?` or control characters (BEL included).
pub fn valid_channel(s: &str) -> bool {
    (s.starts_with('#') || s.starts_with('&'))
        && s.len() >= 2
        && s.len() <= MAX_NICK
        && !s
            .chars()
            .any(|c| c.is_control() || matches!(c, ' ' | ',' | ':' | '?'))
}

/// Checks a nick: 1 to [`MAX_NICK`] bytes, none of space, `:`, `,`, `?`, control
/// characters.
pub fn valid_nick(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NICK
        && !s
            .chars()
            .any(|c| c.is_control() || matches!(c, ' ' | ':' | ',' | '?' | '<' | '>'))
}

fn nick(s: &str) -> Result<String, EnvelopeError> {
    if valid_nick(s) {
        Ok(s.to_owned())
    } else {
        Err(EnvelopeError::Malformed("nick"))
    }
}

fn encode_members(members: &[RosterEntry]) -> String {
    members
        .iter()
        .map(|m| {
            format!(
                "{}:{}:{}",
                m.nick,
                m.fingerprint.to_hex(),
                match m.kind {
                    MemberKind::Full => "f",
                    MemberKind::Thin => "t",
                }
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn decode_members(s: &str) -> Result<Vec<RosterEntry>, EnvelopeError> {
    let mut out: Vec<RosterEntry> = Vec::new();
    for entry in s.split(',') {
        if out.len() >= MAX_MEMBERS {
            return Err(EnvelopeError::TooLarge("members"));
        }
        let mut parts = entry.split(':');
        let n = nick(parts.next().unwrap_or(""))?;
        let fp = parts
            .next()
            .filter(|h| h.len() == 40)
            .and_then(Fingerprint::from_hex)
            .ok_or(EnvelopeError::Malformed("fingerprint"))?;
        let kind = match parts.next() {
            Some("f") => MemberKind::Full,
            Some("t") => MemberKind::Thin,
            _ => return Err(EnvelopeError::Malformed("kind")),
        };
        if parts.next().is_some() || out.iter().any(|m| m.nick == n) {
            return Err(EnvelopeError::Malformed("members"));
        }
        out.push(RosterEntry {
            nick: n,
            fingerprint: fp,
            kind,
        });
    }
    Ok(out)
}

/// An OTR line addressed in a channel with the paper's tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tagged<'a> {
    /// The member the line is for (`?RECV?…?ENDRECV?`).
    pub to: &'a str,
    /// Who the line's content is from (`?SEND?…?ENDSEND?`): informational only, the
    /// authenticated sender is inside the encryption.
    pub from: &'a str,
    /// The OTR line.
    pub payload: &'a str,
}

/// Frames an OTR line for `to` in a channel: `?RECV?to?ENDRECV??SEND?from?ENDSEND?payload`.
pub fn tag(to: &str, from: &str, payload: &str) -> String {
    format!("?RECV?{to}?ENDRECV??SEND?{from}?ENDSEND?{payload}")
}

/// Splits a tagged channel line; `None` if the line is not tagged.
pub fn untag(line: &str) -> Option<Tagged<'_>> {
    let rest = line.strip_prefix("?RECV?")?;
    let (to, rest) = rest.split_once("?ENDRECV?")?;
    let rest = rest.strip_prefix("?SEND?")?;
    let (from, payload) = rest.split_once("?ENDSEND?")?;
    (valid_nick(to) && valid_nick(from)).then_some(Tagged { to, from, payload })
}

#[cfg(test)]
mod tests;
