//! A node's settings, and how its room's lines travel.

/// How room lines travel between the host and its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Private messages: one line per recipient, O(N) lines per group message.
    Private,
    /// The paper's design: every line goes to this channel with `?RECV?`/`?SEND?` tags, and
    /// every member receives every line (O(N²) deliveries per group message).
    Channel(String),
}

/// A node's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Our nick.
    pub nick: String,
    /// How host-member lines travel.
    pub delivery: Delivery,
    /// Derive pairwise MAC keys with every other full member (end-to-end sender
    /// authentication). Without them, misattribution is still caught by digests.
    pub pairwise_macs: bool,
    /// Exchange a transcript digest every this many items.
    pub checkpoint_every: u64,
    /// ... and at the latest this many seconds after the transcript moved.
    pub checkpoint_secs: f64,
    /// Retry interval for resend requests and unechoed messages.
    pub retry_secs: f64,
    /// Retry interval for a key exchange or a pairwise key offer that has not completed
    /// (longer: over a paced IRC connection an exchange takes seconds, and restarting it
    /// early would only collide with itself).
    pub session_retry_secs: f64,
    /// After this long, a gap or an unechoed message raises an alert.
    pub deadline_secs: f64,
    /// Transcript items the host keeps for resends, and heads a member keeps for digests.
    pub history: usize,
    /// How long the successor's welcome to the next generation waits for our own
    /// evidence that the host left ([`Node::peer_gone`](crate::Node::peer_gone), or the host's `bye close`)
    /// before an alert says it is refused. It is still followed if the evidence comes
    /// later (see the `handoff` module).
    pub handoff_wait_secs: f64,
}

impl Config {
    /// Defaults: private delivery, pairwise MACs, a digest every 8 items or 5 s, retries
    /// every 2 s (key exchanges: 15 s), alerts after 12 s, 1024 items of history, a
    /// hand-off claim refused after 30 s without evidence (the chat client polls the
    /// host's presence every 20 s).
    pub fn new(nick: &str) -> Self {
        Self {
            nick: nick.to_owned(),
            delivery: Delivery::Private,
            pairwise_macs: true,
            checkpoint_every: 8,
            checkpoint_secs: 5.0,
            retry_secs: 2.0,
            session_retry_secs: 15.0,
            deadline_secs: 12.0,
            history: 1024,
            handoff_wait_secs: 30.0,
        }
    }
}
