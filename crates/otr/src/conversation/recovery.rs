//! Recovery and timers: held messages, heartbeats, the resend of the last message after the
//! peer lost its session, and the limits on automatic replies.

use super::*;
use crate::engine::KEY_EXCHANGE_TIMEOUT;

/// libotr's HEARTBEAT_INTERVAL: after a data message arrives, if we have sent nothing for
/// this many seconds, we send an empty one (it rotates keys, so old MAC keys get revealed).
pub(super) const HEARTBEAT_INTERVAL: f64 = 60.0;

/// libotr's RESEND_INTERVAL: a message is resent after a new key exchange only if it was
/// sent this recently; a held message not sent within it is reported as not sent.
pub(super) const RESEND_INTERVAL: f64 = 60.0;

/// The prefix of a resent message, libotr's default.
pub(super) const RESENT_PREFIX: &str = "[resent] ";

/// The most recently sent messages remembered for reporting after a peer error.
pub(super) const MAX_RECENT: usize = 32;

/// A key exchange we asked for or answered, in progress.
pub(super) struct Exchange {
    /// When we sent its first message (`None` before the first tick: stamped at the next).
    pub(super) since: Option<Time>,
}

/// A message held until a private session is up.
pub(super) struct Held {
    pub(super) text: Zeroizing<String>,
    /// When the user typed it (`None` if before the first tick: stamped at the next tick).
    pub(super) since: Option<Time>,
}

/// The last message sent encrypted, and to whom.
pub(super) struct LastMessage {
    pub(super) text: Zeroizing<String>,
    /// The fingerprint of the session it was written for: it is resent only to that key
    /// (irssi-otr #23 resent it to whoever answered a forged error).
    pub(super) fingerprint: Fingerprint,
    /// The instance it was sent to: it is resent only to that instance.
    pub(super) instance: InstanceTag,
    /// The id of our D-H key the message announced: once the peer uses that key, it has
    /// read the message (or a later one), and an error it reports afterwards (a replay
    /// makes libotr report one) never makes us send it again.
    pub(super) announced_keyid: u32,
    pub(super) sent_at: Option<Time>,
}

/// Limits automatic replies so two confused instances cannot ping-pong errors and queries
/// forever (coyim #301), and work that others can make us do: `BURST` in a row, then one
/// per `INTERVAL` seconds once time is known; a verified data message or a completed key
/// exchange resets the reply limiters.
#[derive(Default)]
pub(super) struct ReplyLimiter<const BURST: u32 = 3, const INTERVAL: u32 = 30> {
    pub(super) in_a_row: u32,
    pub(super) last: Option<Time>,
}

/// Limits the instances of a peer that may start a key exchange with us: each new sender
/// instance tag costs a D-H key generation (and an exchange a signature and its check),
/// and the tag is the sender's free choice. Eight at once, then one per ten seconds.
pub(super) type NewInstanceLimiter = ReplyLimiter<8, 10>;

impl<const BURST: u32, const INTERVAL: u32> ReplyLimiter<BURST, INTERVAL> {
    pub(super) fn allow(&mut self, now: Option<Time>) -> bool {
        let rested = match (now, self.last) {
            (Some(now), Some(last)) => now.secs_since(last) >= f64::from(INTERVAL),
            // Time became known after a burst: one reply, and the interval starts.
            (Some(_), None) => true,
            (None, _) => false,
        };
        if self.in_a_row < BURST || rested {
            self.in_a_row = self.in_a_row.saturating_add(1);
            self.last = now;
            true
        } else {
            false
        }
    }

    pub(super) fn reset(&mut self) {
        *self = Self::default();
    }
}

/// Remembers a message just sent encrypted, for [`Conversation::recent`].
pub(super) fn remember(
    recent: &mut std::collections::VecDeque<(Zeroizing<String>, Option<Time>)>,
    text: &str,
    now: Option<Time>,
) {
    if recent.len() >= MAX_RECENT {
        recent.pop_front();
    }
    recent.push_back((Zeroizing::new(text.to_owned()), now));
}

/// True if `then` is within `window` seconds before `now` (or either time is unknown).
pub(super) fn within(now: Option<Time>, then: Option<Time>, window: f64) -> bool {
    match (now, then) {
        (Some(now), Some(then)) => now.secs_since(then) <= window,
        _ => true,
    }
}

/// Resends the last message in the new session `private`, with libotr's `[resent] `
/// prefix: once, only if it was sent in the last [`RESEND_INTERVAL`] seconds, and only to
/// the same key and the same instance it was written for.
pub(super) fn resend_last(
    last_message: &mut Option<LastMessage>,
    last_sent: &mut Option<Time>,
    private: &mut PrivateSession,
    ctx: &mut Context<'_>,
) {
    let Some(last) = last_message.take() else {
        return;
    };
    if !within(ctx.now, last.sent_at, RESEND_INTERVAL) {
        return;
    }
    if last.fingerprint != private.fingerprint || last.instance != private.their_instance {
        ctx.notify(Notice::NotSent(NotSent::OtherSession {
            text: last.text.as_str().to_owned(),
        }));
        return;
    }
    let text = Zeroizing::new(format!("{RESENT_PREFIX}{}", last.text.as_str()));
    let plaintext = encode_plaintext(text.as_bytes(), &[]);
    if let Some(data) = seal(private, DataFlags::default(), &plaintext, ctx.our_instance) {
        ctx.emit_encoded(data, private.version, private.their_instance);
        *last_sent = ctx.now;
        ctx.notify(Notice::Resent {
            text: last.text.as_str().to_owned(),
        });
    }
}

impl Conversation {
    /// Holds `text` until a private session is up.
    pub(super) fn hold(&mut self, text: &str, ctx: &Context<'_>) {
        self.held.push(Held {
            text: Zeroizing::new(text.to_owned()),
            since: ctx.now,
        });
    }

    /// We just sent a query or a key-exchange message: unless private already (a refresh,
    /// which never opens a plaintext window), a key exchange is now in progress.
    pub(super) fn begin_exchange(&mut self, ctx: &Context<'_>) {
        if self.exchange.is_none() && !matches!(self.msg, MessageState::Encrypted(_)) {
            self.exchange = Some(Exchange { since: ctx.now });
        }
    }

    /// The key exchange in progress is given up (no answer in time, or the user finished):
    /// with `hold_during_key_exchange`, what was held for it is not sent, and the user is
    /// told which.
    pub(super) fn give_up_exchange(&mut self, ctx: &mut Context<'_>) {
        self.exchange = None;
        if ctx.hold_during_key_exchange {
            for held in core::mem::take(&mut self.held) {
                ctx.notify(Notice::NotSent(NotSent::NoSession {
                    text: held.text.as_str().to_owned(),
                }));
            }
        }
    }

    /// After a data message with text arrived: if we have sent nothing for
    /// [`HEARTBEAT_INTERVAL`] seconds, send an empty data message (libotr's heartbeat).
    pub(super) fn maybe_heartbeat(&mut self, ctx: &mut Context<'_>) {
        let Some(now) = ctx.now else { return };
        let Some(last_sent) = self.last_sent else {
            // We sent before time was known: the minute starts now.
            self.last_sent = Some(now);
            return;
        };
        if now.secs_since(last_sent) < HEARTBEAT_INTERVAL {
            return;
        }
        let MessageState::Encrypted(private) = &mut self.msg else {
            return;
        };
        let plaintext = encode_plaintext(b"", &[]);
        let flags = DataFlags(DataFlags::IGNORE_UNREADABLE);
        if let Some(data) = seal(private, flags, &plaintext, ctx.our_instance) {
            ctx.emit_encoded(data, private.version, private.their_instance);
            self.last_sent = Some(now);
        }
    }

    /// Time has passed: a key exchange older than [`KEY_EXCHANGE_TIMEOUT`] and held
    /// messages that waited longer than [`RESEND_INTERVAL`] are given up, and the user is
    /// told which messages were not sent.
    pub(crate) fn tick(&mut self, ctx: &mut Context<'_>) {
        let Some(now) = ctx.now else { return };
        if let Some(exchange) = &mut self.exchange {
            match exchange.since {
                None => exchange.since = Some(now),
                Some(since) if now.secs_since(since) >= KEY_EXCHANGE_TIMEOUT.as_secs_f64() => {
                    self.give_up_exchange(ctx)
                }
                Some(_) => {}
            }
        }
        let mut kept = Vec::new();
        for mut held in core::mem::take(&mut self.held) {
            match held.since {
                Some(since) if now.secs_since(since) > RESEND_INTERVAL => {
                    ctx.notify(Notice::NotSent(NotSent::NoSession {
                        text: held.text.as_str().to_owned(),
                    }))
                }
                Some(_) => kept.push(held),
                None => {
                    held.since = Some(now);
                    kept.push(held);
                }
            }
        }
        self.held = kept;
    }
}
