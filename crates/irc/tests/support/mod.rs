//! Helpers shared by the tests that run the transport against a real ngircd.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use irc::{IrcConfig, IrcEvent, IrcHandle, Pacing};
use tokio::sync::mpsc::Receiver;

/// A transport client and every event it has produced so far.
pub struct Client {
    pub handle: IrcHandle,
    pub events: Receiver<IrcEvent>,
    pub seen: Vec<IrcEvent>,
}

impl Client {
    /// Connects to 127.0.0.1:`port` as `nick`, joined to `channels`, and waits until the
    /// server has confirmed every channel.
    pub async fn connect(port: u16, nick: &str, channels: &[&str], pacing: Pacing) -> Client {
        let mut config = IrcConfig::new("127.0.0.1", port, nick);
        config.channels = channels.iter().map(|c| c.to_string()).collect();
        config.pacing = pacing;
        config.reconnect_min = Duration::from_millis(200);
        config.reconnect_max = Duration::from_secs(2);
        Client::with_config(config).await
    }

    /// Spawns with `config` and waits for registration and every configured channel.
    pub async fn with_config(config: IrcConfig) -> Client {
        let channels = config.channels.clone();
        let (handle, events) = irc::spawn(config);
        let mut client = Client {
            handle,
            events,
            seen: Vec::new(),
        };
        client
            .expect(|e| matches!(e, IrcEvent::Connected { .. }))
            .await;
        for channel in channels {
            let nick = client.handle.nick();
            client
                .expect(|e| {
                    matches!(e, IrcEvent::Joined { channel: c, nick: n } if *c == channel && *n == nick)
                })
                .await;
        }
        client
    }

    /// The next event satisfying `pred` (within 30 s), keeping every event in `seen`.
    pub async fn expect(&mut self, pred: impl Fn(&IrcEvent) -> bool) -> IrcEvent {
        self.expect_within(Duration::from_secs(30), pred).await
    }

    /// As `expect`, with a chosen timeout.
    pub async fn expect_within(
        &mut self,
        limit: Duration,
        pred: impl Fn(&IrcEvent) -> bool,
    ) -> IrcEvent {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let event = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out; events so far: {:#?}", self.seen))
                .expect("the transport stopped");
            self.seen.push(event.clone());
            if pred(&event) {
                return event;
            }
        }
    }

    /// Takes every event already waiting.
    pub fn drain(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            self.seen.push(event);
        }
    }

    /// The Disconnected events seen so far.
    pub fn disconnects(&self) -> Vec<&IrcEvent> {
        self.seen
            .iter()
            .filter(|e| matches!(e, IrcEvent::Disconnected { .. }))
            .collect()
    }
}

/// Runs a blocking observer call off the async workers.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}
