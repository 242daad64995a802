//! `offrecord rpc`: the engine protocol (`engine-protocol.md`), JSON lines over stdio.
//!
//! [`serve`] reads one command per line, calls the [`Engine`], and writes the events it
//! returns, one JSON object per line, followed by one `done` event echoing the command's `id`
//! (`null` when it had none); the output is flushed after every `done`. It is a pure function
//! of a reader and a writer, so it can be driven from tests without processes.
//!
//! Choices the protocol leaves open:
//! * An `error` event always has a `peer` field: `null` when no peer is concerned
//!   (`bad_request` for a line without a valid peer, `save_failed`).
//! * A line holding only whitespace is not a command: it is skipped without any event.
//! * Unknown fields in a command are ignored, so callers may send fields a later version reads.
//! * `trust` / `distrust` when there is no session key for the peer gives an error with code
//!   `no_session`; if saving the home directory fails, an error with code `save_failed`.
//! * A `max_message_size` too small to hold even one fragment header makes each OTR message
//!   fail with a `not_sent` error when it is sent.
//! * Engine notices become `error` events with the codes of [`crate::notices::notice_code`]
//!   and the sentences of [`crate::notices::describe`]; calls the engine refuses (an
//!   [`otr::EngineError`]) become one `error` event each, as the engine's old error events
//!   were. A notice without a protocol code (held text leaving) is not written.

use std::io::{self, BufRead, Write};

use otr::{Engine, EngineError, Event, KnownFingerprints};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::notices;

/// Where the known fingerprints go when they change (the `--home` directory, or nowhere).
pub trait Persist {
    /// Saves the known fingerprints with their trust; the error is a sentence for a person.
    fn save(&mut self, known: &KnownFingerprints) -> Result<(), String>;
}

/// Persists nothing (for tests and throwaway engines).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPersist;

impl Persist for NoPersist {
    fn save(&mut self, _known: &KnownFingerprints) -> Result<(), String> {
        Ok(())
    }
}

impl Persist for crate::store::Store {
    /// Saves what changed since the last save (or [`crate::store::Store::set_baseline`]).
    fn save(&mut self, known: &KnownFingerprints) -> Result<(), String> {
        self.save_known(known).map_err(|e| e.to_string())?;
        self.set_baseline(known.clone());
        Ok(())
    }
}

/// A secret the user typed (an SMP secret): zeroized on drop, redacted in `Debug`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct SecretText(String);

impl SecretText {
    /// The secret's text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for SecretText {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl Drop for SecretText {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretText(<redacted>)")
    }
}

/// A command, as read from one line.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Command {
    /// The user typed `text` to `peer`.
    Send {
        /// The peer.
        peer: String,
        /// The text.
        text: String,
    },
    /// `data` arrived from `peer` over the network.
    Receive {
        /// The peer.
        peer: String,
        /// What arrived.
        data: String,
    },
    /// Start (or refresh) OTR with `peer`.
    Start {
        /// The peer.
        peer: String,
    },
    /// End the private conversation with `peer`.
    Finish {
        /// The peer.
        peer: String,
    },
    /// Start the socialist millionaires' protocol (SMP) to verify the peer.
    Smp {
        /// The peer.
        peer: String,
        /// The shared secret.
        secret: SecretText,
        /// An optional question.
        #[serde(default)]
        question: Option<String>,
    },
    /// Answer a pending SMP request from the peer.
    SmpRespond {
        /// The peer.
        peer: String,
        /// The shared secret.
        secret: SecretText,
    },
    /// Abort a running SMP.
    SmpAbort {
        /// The peer.
        peer: String,
    },
    /// Mark the peer's current fingerprint verified.
    Trust {
        /// The peer.
        peer: String,
    },
    /// Mark the peer's current fingerprint not verified.
    Distrust {
        /// The peer.
        peer: String,
    },
    /// Our own fingerprint.
    Fingerprint,
    /// Time has passed: expire held messages, send what timers are due.
    Tick {
        /// Seconds since the Unix epoch.
        now: f64,
    },
    /// Fragment what is sent to `peer` to at most `size` bytes (0: do not fragment).
    MaxMessageSize {
        /// The peer.
        peer: String,
        /// The maximum size in bytes; 0 means no fragmentation.
        size: u64,
    },
}

/// One event, exactly as written on a line.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Output {
    /// Send `data` to `peer` over the network.
    Wire {
        /// The peer.
        peer: String,
        /// One network message.
        data: String,
    },
    /// Show `text` from `peer`.
    Message {
        /// The peer.
        peer: String,
        /// The text.
        text: String,
        /// True only for text from a verified data message.
        encrypted: bool,
        /// With encrypted text: the fingerprint of the key that authenticated it (a peer
        /// logged in more than once may have several keys; compare with the one verified).
        #[serde(skip_serializing_if = "Option::is_none")]
        fingerprint: Option<String>,
        /// With encrypted text: the sender's instance tag.
        #[serde(skip_serializing_if = "Option::is_none")]
        instance: Option<u32>,
        /// With encrypted text: whether that fingerprint is verified.
        #[serde(skip_serializing_if = "Option::is_none")]
        trusted: Option<bool>,
    },
    /// The conversation's state, the peer's fingerprint or its trust changed.
    State {
        /// The peer.
        peer: String,
        /// `plaintext`, `encrypted` or `finished`.
        state: &'static str,
        /// The peer's fingerprint in libotr's human form, when a session key exists.
        #[serde(skip_serializing_if = "Option::is_none")]
        fingerprint: Option<String>,
        /// Whether that fingerprint is verified; present exactly when `fingerprint` is.
        #[serde(skip_serializing_if = "Option::is_none")]
        trusted: Option<bool>,
    },
    /// The socialist millionaires' protocol progressed.
    Smp {
        /// The peer.
        peer: String,
        /// `request`, `question`, `success`, `failure` or `aborted`.
        result: &'static str,
        /// The peer's question, with `question`.
        #[serde(skip_serializing_if = "Option::is_none")]
        question: Option<String>,
    },
    /// Something the user must know.
    Error {
        /// The peer concerned, or `null`.
        peer: Option<String>,
        /// A stable machine-readable code.
        code: String,
        /// A sentence for a person.
        message: String,
    },
    /// Our own fingerprint.
    Fingerprint {
        /// In libotr's human form.
        fingerprint: String,
    },
    /// The command is complete.
    Done {
        /// The command's `id`, `null` if it had none.
        id: Value,
    },
}

impl Output {
    /// An `error` event.
    pub fn error(peer: Option<&str>, code: &str, message: impl Into<String>) -> Self {
        Self::Error {
            peer: peer.map(str::to_owned),
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// An `error` event for a call the engine refused for `peer`.
    pub fn refused(peer: &str, error: &EngineError) -> Self {
        Self::error(
            Some(peer),
            notices::error_code(error),
            notices::describe_error(error, peer),
        )
    }

    /// The protocol event for an engine event (`None` for kinds this version does not
    /// report: extra symmetric keys, and notices without a code such as
    /// [`otr::Notice::HeldSent`]).
    pub fn from_event(event: Event) -> Option<Self> {
        Some(match event {
            Event::Wire { peer, data } => Self::Wire { peer, data },
            Event::Message {
                peer,
                text,
                encrypted,
                origin,
            } => Self::Message {
                peer,
                text,
                encrypted,
                fingerprint: origin.map(|o| o.fingerprint.to_string()),
                instance: origin.map(|o| o.instance.0),
                trusted: origin.map(|o| o.trusted),
            },
            Event::State {
                peer,
                state,
                fingerprint,
                trusted,
                ..
            } => Self::State {
                peer,
                state: notices::state_name(state),
                trusted: fingerprint.map(|_| trusted),
                fingerprint: fingerprint.map(|fp| fp.to_string()),
            },
            Event::Notice { peer, notice } => Self::error(
                Some(&peer),
                notices::notice_code(&notice)?,
                notices::describe(&notice),
            ),
            Event::Smp {
                peer,
                result,
                question,
                ..
            } => Self::Smp {
                peer,
                result: notices::smp_name(result),
                question,
            },
            _ => return None,
        })
    }
}

/// Handles one command: the events it causes, without the final `done`.
pub fn execute(engine: &mut Engine, command: Command) -> Vec<Output> {
    let refused = |peer: &str, e: EngineError| vec![Output::refused(peer, &e)];
    let events = match command {
        Command::Send { peer, text } => engine.send(&peer, &text),
        Command::Receive { peer, data } => engine.receive(&peer, &data),
        Command::Start { peer } => match engine.start(&peer) {
            Ok(events) => events,
            Err(e) => return refused(&peer, e),
        },
        Command::Finish { peer } => engine.finish(&peer),
        Command::Trust { peer } => return set_trust(engine, &peer, true),
        Command::Distrust { peer } => return set_trust(engine, &peer, false),
        Command::Fingerprint => {
            return vec![Output::Fingerprint {
                fingerprint: engine.fingerprint().to_string(),
            }];
        }
        Command::Smp {
            peer,
            secret,
            question,
        } => match engine.smp_start(&peer, secret.expose().as_bytes(), question.as_deref()) {
            Ok(events) => events,
            Err(e) => return refused(&peer, e),
        },
        Command::SmpRespond { peer, secret } => {
            match engine.smp_respond(&peer, secret.expose().as_bytes()) {
                Ok(events) => events,
                Err(e) => return refused(&peer, e),
            }
        }
        Command::SmpAbort { peer } => match engine.smp_abort(&peer) {
            Ok(events) => events,
            Err(e) => return refused(&peer, e),
        },
        // JSON numbers are finite: a time that is not is no time.
        Command::Tick { now } => otr::Time::from_secs_f64(now)
            .map(|now| engine.tick(now))
            .unwrap_or_default(),
        Command::MaxMessageSize { peer, size } => {
            engine.set_max_message_size(&peer, usize::try_from(size).unwrap_or(usize::MAX));
            Vec::new()
        }
    };
    events.into_iter().filter_map(Output::from_event).collect()
}

/// `trust` / `distrust`.
fn set_trust(engine: &mut Engine, peer: &str, trusted: bool) -> Vec<Output> {
    match engine.set_trust(peer, trusted) {
        Ok(events) => events.into_iter().filter_map(Output::from_event).collect(),
        Err(EngineError::NoSession) => vec![Output::error(
            Some(peer),
            "no_session",
            format!("There is no private session with {peer}, so there is no fingerprint to mark as verified or not."),
        )],
        Err(e) => vec![Output::refused(peer, &e)],
    }
}

/// Parses one input line: its `id` and the command, or a `bad_request` error.
/// `None` for a line holding only whitespace.
pub fn parse_line(line: &[u8]) -> Option<(Value, Result<Command, Output>)> {
    let bad = |message: String| Output::error(None, "bad_request", message);
    let Ok(text) = std::str::from_utf8(line) else {
        return Some((
            Value::Null,
            Err(bad("The command is not valid UTF-8.".to_owned())),
        ));
    };
    if text.trim().is_empty() {
        return None;
    }
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(e) => {
            return Some((
                Value::Null,
                Err(bad(format!("The command is not valid JSON: {e}."))),
            ))
        }
    };
    let id = value.get("id").cloned().unwrap_or(Value::Null);
    if !value.is_object() {
        return Some((id, Err(bad("A command must be a JSON object.".to_owned()))));
    }
    let command = Command::deserialize(&value).map_err(|e| {
        // Name the peer in the error when the command had a valid one.
        let peer = value.get("peer").and_then(Value::as_str);
        Output::error(peer, "bad_request", format!("Bad command: {e}."))
    });
    Some((id, command))
}

/// Serves the engine protocol until `input` ends, then saves once more.
///
/// After each command whose events changed the known fingerprints or their trust, they are
/// saved through `persist`; a failure is reported as a `save_failed` error before `done`.
/// Returns an error if reading or writing fails, or if the final save fails.
pub fn serve(
    engine: &mut Engine,
    persist: &mut dyn Persist,
    mut input: impl BufRead,
    mut output: impl Write,
) -> io::Result<()> {
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let Some((id, command)) = parse_line(&line) else {
            continue;
        };
        let before = engine.known_fingerprints().clone();
        let mut events = match command {
            Ok(command) => execute(engine, command),
            Err(error) => vec![error],
        };
        if engine.known_fingerprints() != &before {
            if let Err(e) = persist.save(engine.known_fingerprints()) {
                events.push(Output::error(
                    None,
                    "save_failed",
                    format!("Could not save: {e}"),
                ));
            }
        }
        events.push(Output::Done { id });
        for event in &events {
            write_event(&mut output, event)?;
        }
        output.flush()?;
    }
    persist
        .save(engine.known_fingerprints())
        .map_err(io::Error::other)
}

/// Writes one event as a line (not flushed).
pub fn write_event(output: &mut impl Write, event: &Output) -> io::Result<()> {
    serde_json::to_writer(&mut *output, event)?;
    output.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use serde_json::json;

    fn parse(line: &str) -> (Value, Result<Command, Output>) {
        parse_line(line.as_bytes()).unwrap()
    }

    fn bad_request(line: &str) -> Value {
        let (id, result) = parse(line);
        match result {
            Err(Output::Error { code, .. }) => assert_eq!(code, "bad_request", "{line}"),
            other => panic!("{line}: {other:?}"),
        }
        id
    }

    #[test]
    fn parses_every_command() {
        let cases = [
            (
                r#"{"cmd":"send","peer":"bob","text":"hi"}"#,
                Command::Send {
                    peer: "bob".into(),
                    text: "hi".into(),
                },
            ),
            (
                r#"{"cmd":"receive","peer":"bob","data":"d"}"#,
                Command::Receive {
                    peer: "bob".into(),
                    data: "d".into(),
                },
            ),
            (
                r#"{"cmd":"start","peer":"bob"}"#,
                Command::Start { peer: "bob".into() },
            ),
            (
                r#"{"cmd":"finish","peer":"bob"}"#,
                Command::Finish { peer: "bob".into() },
            ),
            (
                r#"{"cmd":"smp","peer":"bob","secret":"s","question":"q"}"#,
                Command::Smp {
                    peer: "bob".into(),
                    secret: "s".into(),
                    question: Some("q".into()),
                },
            ),
            (
                r#"{"cmd":"smp","peer":"bob","secret":"s"}"#,
                Command::Smp {
                    peer: "bob".into(),
                    secret: "s".into(),
                    question: None,
                },
            ),
            (
                r#"{"cmd":"smp_respond","peer":"b","secret":"s"}"#,
                Command::SmpRespond {
                    peer: "b".into(),
                    secret: "s".into(),
                },
            ),
            (
                r#"{"cmd":"smp_abort","peer":"b"}"#,
                Command::SmpAbort { peer: "b".into() },
            ),
            (
                r#"{"cmd":"trust","peer":"b"}"#,
                Command::Trust { peer: "b".into() },
            ),
            (
                r#"{"cmd":"distrust","peer":"b"}"#,
                Command::Distrust { peer: "b".into() },
            ),
            (r#"{"cmd":"fingerprint"}"#, Command::Fingerprint),
            (r#"{"cmd":"tick","now":12.5}"#, Command::Tick { now: 12.5 }),
            (r#"{"cmd":"tick","now":12}"#, Command::Tick { now: 12.0 }),
            (
                r#"{"cmd":"max_message_size","peer":"b","size":400}"#,
                Command::MaxMessageSize {
                    peer: "b".into(),
                    size: 400,
                },
            ),
        ];
        for (line, expected) in cases {
            let (id, command) = parse(line);
            assert_eq!(id, Value::Null);
            assert_eq!(command.unwrap(), expected, "{line}");
        }
    }

    #[test]
    fn ids_are_echoed_and_extra_fields_ignored() {
        let (id, command) = parse(r#"{"cmd":"fingerprint","id":{"a":[1,2]},"future":true}"#);
        assert_eq!(id, json!({"a":[1,2]}));
        assert_eq!(command.unwrap(), Command::Fingerprint);
        assert_eq!(bad_request(r#"{"cmd":"nope","id":7}"#), json!(7));
    }

    #[test]
    fn malformed_lines_are_bad_requests() {
        for line in [
            "not json",
            "{}",
            "[]",
            "42",
            r#"{"cmd":"nope"}"#,
            r#"{"cmd":"send"}"#,
            r#"{"cmd":"send","peer":1,"text":"x"}"#,
            r#"{"cmd":"send","peer":"b","text":null}"#,
            r#"{"cmd":"tick","now":"soon"}"#,
            r#"{"cmd":"max_message_size","peer":"b","size":-1}"#,
            r#"{"cmd":7}"#,
        ] {
            bad_request(line);
        }
        let (_, result) = parse_line(b"\xff\xfe\n").unwrap();
        assert!(matches!(result, Err(Output::Error { .. })));
        assert!(parse_line(b"  \r\n").is_none());
    }

    /// Counts saves.
    struct Counting(usize);

    impl Persist for Counting {
        fn save(&mut self, _known: &KnownFingerprints) -> Result<(), String> {
            self.0 += 1;
            Ok(())
        }
    }

    #[test]
    fn serve_answers_every_command_with_done_and_saves_at_the_end() {
        use otr::crypto::DsaPrivateKey;
        use rand_core::OsRng;
        let mut engine = Engine::new(
            DsaPrivateKey::generate(&mut OsRng),
            otr::EngineConfig::default(),
            Box::new(OsRng),
        );
        let input = "{\"cmd\":\"fingerprint\",\"id\":1}\n\nnot json\n{\"cmd\":\"trust\",\"peer\":\"bob\",\"id\":2}";
        let mut output = Vec::new();
        let mut persist = Counting(0);
        serve(&mut engine, &mut persist, input.as_bytes(), &mut output).unwrap();
        let lines: Vec<Value> = String::from_utf8(output)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let fingerprint = engine.fingerprint().to_string();
        assert_eq!(
            lines,
            vec![
                json!({"event":"fingerprint","fingerprint":fingerprint}),
                json!({"event":"done","id":1}),
                json!({"event":"error","peer":null,"code":"bad_request","message":lines[2]["message"]}),
                json!({"event":"done","id":null}),
                json!({"event":"error","peer":"bob","code":"no_session","message":lines[4]["message"]}),
                json!({"event":"done","id":2}),
            ]
        );
        // Nothing changed the known fingerprints: only the save at the end.
        assert_eq!(persist.0, 1);
    }

    #[test]
    fn events_serialize_as_the_protocol_says() {
        let line = |o: &Output| serde_json::to_value(o).unwrap();
        assert_eq!(
            line(&Output::State {
                peer: "b".into(),
                state: "plaintext",
                fingerprint: None,
                trusted: None
            }),
            json!({"event":"state","peer":"b","state":"plaintext"})
        );
        assert_eq!(
            line(&Output::error(None, "bad_request", "x")),
            json!({"event":"error","peer":null,"code":"bad_request","message":"x"})
        );
        assert_eq!(
            line(&Output::Done { id: Value::Null }),
            json!({"event":"done","id":null})
        );
        assert_eq!(
            line(&Output::Message {
                peer: "b".into(),
                text: "t".into(),
                encrypted: true,
                fingerprint: Some("AAAAAAAA BBBBBBBB CCCCCCCC DDDDDDDD EEEEEEEE".into()),
                instance: Some(0x1234),
                trusted: Some(false),
            }),
            json!({"event":"message","peer":"b","text":"t","encrypted":true,
                   "fingerprint":"AAAAAAAA BBBBBBBB CCCCCCCC DDDDDDDD EEEEEEEE",
                   "instance":0x1234,"trusted":false})
        );
        assert_eq!(
            line(&Output::Message {
                peer: "b".into(),
                text: "t".into(),
                encrypted: false,
                fingerprint: None,
                instance: None,
                trusted: None,
            }),
            json!({"event":"message","peer":"b","text":"t","encrypted":false})
        );
    }
}
