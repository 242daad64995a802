//! `offrecord demo`: Alice and Bob have a private conversation on an in-memory network.
//!
//! Two [`Engine`]s run in one process; a loop carries every `wire` event from one to the
//! other, and an eavesdropper ("Eve") sees each line as it crosses. The output shows the key
//! exchange message by message, a short conversation (what each side typed, what Eve saw,
//! what the other side read), the MAC keys OTR reveals to make old messages forgeable (and so
//! deniable), the end of the conversation, and a summary that checks, programmatically, that
//! no typed text ever appeared on the wire.
//!
//! [`run_recorded`] also returns a [`Transcript`] (`offrecord demo --transcript FILE` saves it
//! as JSON): every wire line in order, what each data message said, and each revealed MAC
//! key with the messages it verifies. docs/forging.md forges a message from it.

use std::collections::VecDeque;
use std::io::Write;
use std::path::Path;

use otr::crypto::DsaPrivateKey;
use otr::wire::encoded::{EncodedMessage, InstanceTag, MessageBody};
use otr::wire::text::{classify, IncomingText};
use otr::wire::Codec;
use otr::{ConversationState, Engine, EngineConfig, Event};
use rand_core::OsRng;

use crate::notices;
use crate::store::hex;
use crate::toolkit::message::DataMessage;

/// How many characters of a wire message Eve's line shows.
const EVE_WIDTH: usize = 64;

/// The first party.
const ALICE: &str = "alice";
/// The second party.
const BOB: &str = "bob";

/// The conversation: who types what. Alternating, then a burst from Alice.
const SCRIPT: &[(&str, &str)] = &[
    (ALICE, "Hi Bob! Is this channel private?"),
    (BOB, "It is now: OTR encrypts and authenticates every line."),
    (ALICE, "Good. The meeting moves to Thursday at ten."),
    (BOB, "Thursday at ten, got it. Where?"),
    (ALICE, "At the old library, second floor."),
    (BOB, "Perfect. Anything I should bring?"),
    (ALICE, "The signed draft contract,"),
    (ALICE, "the budget figures for March,"),
    (ALICE, "and a good umbrella!"),
];

/// Runs the demo, writing a readable transcript to `out` (ANSI bold headers if `colour`).
pub fn run(out: &mut dyn Write, colour: bool) -> anyhow::Result<()> {
    run_recorded(out, colour).map(|_| ())
}

/// Runs the demo as [`run`] does, and returns the machine-readable [`Transcript`].
pub fn run_recorded(out: &mut dyn Write, colour: bool) -> anyhow::Result<Transcript> {
    let mut demo = Demo::new(out, colour)?;
    demo.identities()?;
    demo.key_exchange()?;
    demo.conversation()?;
    demo.ending()?;
    demo.summary()?;
    Ok(Transcript::new(demo.transcript))
}

/// Saves `transcript` as pretty JSON to `path`.
pub fn save_transcript(transcript: &Transcript, path: &Path) -> anyhow::Result<()> {
    let mut json = serde_json::to_string_pretty(transcript)?;
    json.push('\n');
    std::fs::write(path, json)
        .map_err(|e| anyhow::anyhow!("writing the transcript to {}: {e}", path.display()))
}

/// What crossed the demo's network, for tools (`offrecord demo --transcript FILE`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Transcript {
    /// Every wire line, in the order it was sent.
    pub lines: Vec<TranscriptLine>,
    /// Every MAC key the data messages revealed, in order.
    pub revealed_mac_keys: Vec<RevealedKey>,
}

/// One wire line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TranscriptLine {
    /// Its position in [`Transcript::lines`].
    pub index: usize,
    /// `alice` or `bob`.
    pub from: String,
    /// `alice` or `bob`.
    pub to: String,
    /// What a human would call it (as the demo's screen shows).
    pub kind: String,
    /// The line exactly as it crossed the network.
    pub wire: String,
    /// What the receiver's client showed for it, if anything.
    pub read: Option<String>,
    /// MAC keys this (data) message reveals, hex.
    pub reveals: Vec<String>,
    /// The revealed MAC key (hex) that verifies this data message, if one was revealed
    /// later in the conversation.
    pub verified_by_revealed_key: Option<String>,
}

/// A MAC key revealed in a data message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RevealedKey {
    /// The key, hex.
    pub key: String,
    /// The index of the line that revealed it.
    pub revealed_in: usize,
    /// The indexes of the data messages whose MAC it verifies.
    pub verifies: Vec<usize>,
}

impl Transcript {
    /// Finds, for every revealed key, the data messages it verifies.
    fn new(mut lines: Vec<TranscriptLine>) -> Self {
        let data: Vec<(usize, DataMessage)> = lines
            .iter()
            .filter_map(|l| Some((l.index, DataMessage::parse(l.wire.as_bytes()).ok()?)))
            .collect();
        let mut revealed_mac_keys = Vec::new();
        for line in &lines {
            for key in &line.reveals {
                let bytes: Vec<u8> =
                    crate::toolkit::format::hex_arg(key.as_bytes()).unwrap_or_default();
                let verifies = data
                    .iter()
                    .filter(|(_, m)| m.mac_verifies(&bytes))
                    .map(|(i, _)| *i)
                    .collect();
                revealed_mac_keys.push(RevealedKey {
                    key: key.clone(),
                    revealed_in: line.index,
                    verifies,
                });
            }
        }
        for r in &revealed_mac_keys {
            for &i in &r.verifies {
                if let Some(line) = lines.get_mut(i) {
                    line.verified_by_revealed_key = Some(r.key.clone());
                }
            }
        }
        Self {
            lines,
            revealed_mac_keys,
        }
    }
}

/// The two engines, the network and the transcript.
struct Demo<'a> {
    out: &'a mut dyn Write,
    colour: bool,
    alice: Engine,
    bob: Engine,
    /// (from, data, index in `transcript`) in flight; the receiver is the other party.
    network: VecDeque<(&'static str, String, usize)>,
    /// Every wire line so far, for [`Transcript`].
    transcript: Vec<TranscriptLine>,
    /// The transcript index of the line being delivered, if any.
    delivering: Option<usize>,
    /// Every line that crossed the network.
    seen_by_eve: Vec<String>,
    typed: Vec<String>,
    revealed: usize,
    received_encrypted: usize,
}

impl<'a> Demo<'a> {
    fn new(out: &'a mut dyn Write, colour: bool) -> anyhow::Result<Self> {
        let started = std::time::Instant::now();
        writeln!(
            out,
            "offrecord demo: a private conversation between Alice and Bob"
        )?;
        writeln!(
            out,
            "Two OTR engines talk over an in-memory network. Eve, an eavesdropper, sees every line on it."
        )?;
        writeln!(out)?;
        writeln!(out, "Generating two 1024-bit DSA identity keys...")?;
        let config = |tag| EngineConfig {
            instance_tag: InstanceTag(tag),
            ..EngineConfig::default()
        };
        let alice = Engine::new(
            DsaPrivateKey::generate(&mut OsRng),
            config(0x0000_a11c),
            Box::new(OsRng),
        );
        let bob = Engine::new(
            DsaPrivateKey::generate(&mut OsRng),
            config(0x0000_b0b0),
            Box::new(OsRng),
        );
        writeln!(out, "done in {:.1} s.", started.elapsed().as_secs_f64())?;
        Ok(Self {
            out,
            colour,
            alice,
            bob,
            network: VecDeque::new(),
            transcript: Vec::new(),
            delivering: None,
            seen_by_eve: Vec::new(),
            typed: Vec::new(),
            revealed: 0,
            received_encrypted: 0,
        })
    }

    fn section(&mut self, title: &str) -> anyhow::Result<()> {
        writeln!(self.out)?;
        if self.colour {
            writeln!(self.out, "\x1b[1m== {title} ==\x1b[0m")?;
        } else {
            writeln!(self.out, "== {title} ==")?;
        }
        Ok(())
    }

    fn identities(&mut self) -> anyhow::Result<()> {
        self.section("Identities")?;
        writeln!(
            self.out,
            "Alice's fingerprint: {}",
            self.alice.fingerprint()
        )?;
        writeln!(self.out, "Bob's fingerprint:   {}", self.bob.fingerprint())?;
        writeln!(
            self.out,
            "(Each would read these to the other over a trusted channel to verify them.)"
        )?;
        Ok(())
    }

    fn key_exchange(&mut self) -> anyhow::Result<()> {
        self.section("Key exchange (as the wire carries it)")?;
        writeln!(self.out, "Alice asks Bob for a private conversation.")?;
        let events = self.alice.start(BOB)?;
        self.handle(ALICE, events, true)?;
        self.deliver_all(true)?;
        for (name, engine, peer) in [("Alice", &self.alice, BOB), ("Bob", &self.bob, ALICE)] {
            let fingerprint = engine
                .peer_fingerprint(peer)
                .map_or_else(|| "none".to_owned(), |fp| fp.to_string());
            writeln!(
                self.out,
                "{name}: {}, peer's fingerprint {fingerprint}",
                notices::state_name(engine.state(peer))
            )?;
        }
        if let (Some(a), Some(b)) = (self.alice.session_id(BOB), self.bob.session_id(ALICE)) {
            let verdict = if a == b {
                "identical on both sides"
            } else {
                "DIFFERENT (something is wrong)"
            };
            writeln!(
                self.out,
                "Secure session id: {} / {} ({verdict})",
                hex(&a.bytes()),
                hex(&b.bytes())
            )?;
        }
        if self.alice.state(BOB) != ConversationState::Encrypted
            || self.bob.state(ALICE) != ConversationState::Encrypted
        {
            anyhow::bail!("the key exchange did not complete");
        }
        Ok(())
    }

    fn conversation(&mut self) -> anyhow::Result<()> {
        self.section("Conversation")?;
        for (i, (from, text)) in SCRIPT.iter().enumerate() {
            let starts_burst = SCRIPT.get(i + 1).is_some_and(|(next, _)| next == from)
                && (i == 0
                    || SCRIPT
                        .get(i - 1)
                        .is_some_and(|(previous, _)| previous != from));
            if starts_burst {
                writeln!(self.out)?;
                writeln!(
                    self.out,
                    "(A burst: {} sends several lines before any answer. Keys only move on when the other side answers, so these share one key pair.)",
                    display_name(from)
                )?;
            }
            let (sender, name) = if *from == ALICE {
                (&mut self.alice, "Alice")
            } else {
                (&mut self.bob, "Bob")
            };
            writeln!(self.out)?;
            writeln!(self.out, "{name} types: {text:?}")?;
            self.typed.push((*text).to_owned());
            let events = sender.send(other(from), text);
            self.handle(from, events, false)?;
            self.deliver_all(false)?;
        }
        Ok(())
    }

    fn ending(&mut self) -> anyhow::Result<()> {
        self.section("Ending the conversation")?;
        writeln!(
            self.out,
            "Alice ends the private conversation: a last data message tells Bob (a disconnect TLV inside)."
        )?;
        let events = self.alice.finish(BOB);
        self.handle(ALICE, events, true)?;
        self.deliver_all(true)?;
        writeln!(
            self.out,
            "Alice is now {}; Bob is now {}.",
            notices::state_name(self.alice.state(BOB)),
            notices::state_name(self.bob.state(ALICE))
        )?;
        let reply = "Wait, one more thing!";
        writeln!(self.out, "Bob types: {reply:?}")?;
        let events = self.bob.send(ALICE, reply);
        let sent = events.iter().any(|e| matches!(e, Event::Wire { .. }));
        self.handle(BOB, events, false)?;
        self.deliver_all(false)?;
        if !sent {
            writeln!(self.out, "  (nothing went out: Bob must start a new private conversation or end his side first)")?;
        }
        Ok(())
    }

    fn summary(&mut self) -> anyhow::Result<()> {
        self.section("Summary")?;
        let leaked: Vec<&String> = self
            .typed
            .iter()
            .filter(|t| {
                self.seen_by_eve
                    .iter()
                    .any(|line| line.contains(t.as_str()))
            })
            .collect();
        writeln!(
            self.out,
            "Messages sent:                  {}",
            self.typed.len()
        )?;
        writeln!(
            self.out,
            "Read encrypted by the receiver: {}",
            self.received_encrypted
        )?;
        writeln!(
            self.out,
            "Lines Eve saw on the wire:      {}",
            self.seen_by_eve.len()
        )?;
        writeln!(
            self.out,
            "MAC keys revealed:              {}",
            self.revealed
        )?;
        if leaked.is_empty() {
            writeln!(self.out, "Plaintext on the wire:          never (checked: no typed text occurs in any wire line)")?;
            Ok(())
        } else {
            writeln!(
                self.out,
                "Plaintext on the wire:          LEAKED {leaked:?}"
            )?;
            anyhow::bail!("plaintext appeared on the wire")
        }
    }

    /// Carries messages until the network is quiet.
    fn deliver_all(&mut self, protocol_view: bool) -> anyhow::Result<()> {
        let mut steps = 0;
        while let Some((from, data, index)) = self.network.pop_front() {
            steps += 1;
            if steps > 1000 {
                anyhow::bail!("the engines keep talking: stopped after 1000 messages");
            }
            let to = other(from);
            let receiver = if to == ALICE {
                &mut self.alice
            } else {
                &mut self.bob
            };
            let events = receiver.receive(from, &data);
            self.delivering = Some(index);
            let handled = self.handle(to, events, protocol_view);
            self.delivering = None;
            handled?;
        }
        Ok(())
    }

    /// Shows what engine `who` asked for, queueing its wire messages.
    fn handle(
        &mut self,
        who: &'static str,
        events: Vec<Event>,
        protocol_view: bool,
    ) -> anyhow::Result<()> {
        for event in events {
            match event {
                Event::Wire { data, .. } => {
                    self.show_wire(who, &data, protocol_view)?;
                    self.seen_by_eve.push(data.clone());
                    let info = describe(&data);
                    let index = self.transcript.len();
                    self.transcript.push(TranscriptLine {
                        index,
                        from: who.to_owned(),
                        to: other(who).to_owned(),
                        kind: info.kind,
                        wire: data.clone(),
                        read: None,
                        reveals: info.old_mac_keys.iter().map(|k| hex(k)).collect(),
                        verified_by_revealed_key: None,
                    });
                    self.network.push_back((who, data, index));
                }
                Event::Message {
                    text, encrypted, ..
                } => {
                    if encrypted {
                        self.received_encrypted += 1;
                    }
                    if let Some(line) = self.delivering.and_then(|i| self.transcript.get_mut(i)) {
                        line.read = Some(text.clone());
                    }
                    let how = if encrypted {
                        "decrypted and verified"
                    } else {
                        "NOT encrypted"
                    };
                    writeln!(self.out, "  {} reads: {text:?} ({how})", display_name(who))?;
                }
                Event::State {
                    state,
                    fingerprint,
                    trusted,
                    ..
                } => {
                    let mut line = format!(
                        "  {}'s state: {}",
                        display_name(who),
                        notices::state_name(state)
                    );
                    if let Some(fp) = fingerprint {
                        let verified = if trusted {
                            "verified"
                        } else {
                            "not verified yet"
                        };
                        line.push_str(&format!(" (talking to {fp}, {verified})"));
                    }
                    writeln!(self.out, "{line}")?;
                }
                Event::Notice { notice, .. } => {
                    writeln!(
                        self.out,
                        "  {} is told: [{}] {}",
                        display_name(who),
                        notices::notice_code(&notice).unwrap_or("notice"),
                        notices::describe(&notice)
                    )?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Prints one wire message: its type, Eve's view, and any revealed MAC keys.
    fn show_wire(&mut self, from: &str, data: &str, protocol_view: bool) -> anyhow::Result<()> {
        let arrow = format!("{} -> {}", display_name(from), display_name(other(from)));
        let info = describe(data);
        if protocol_view {
            writeln!(self.out, "  {arrow:<12} {}", info.kind)?;
            writeln!(self.out, "  {:<12} Eve sees: {}", "", eve_view(data))?;
        } else {
            writeln!(
                self.out,
                "  Eve sees:   {}   [{}]",
                eve_view(data),
                info.kind
            )?;
        }
        if !info.old_mac_keys.is_empty() {
            self.revealed += info.old_mac_keys.len();
            writeln!(
                self.out,
                "  Revealed MAC keys in this message ({}):",
                info.old_mac_keys.len()
            )?;
            for key in &info.old_mac_keys {
                writeln!(self.out, "    {}", hex(key))?;
            }
            writeln!(
                self.out,
                "  These keys are now public, so anyone could have forged the earlier messages they authenticated: those messages prove nothing to a third party."
            )?;
        }
        Ok(())
    }
}

/// What a wire line is.
struct WireInfo {
    /// A human name for the message type.
    kind: String,
    /// MAC keys revealed by a data message, 20 bytes each.
    old_mac_keys: Vec<Vec<u8>>,
}

/// Decodes a wire line enough to name it.
fn describe(data: &str) -> WireInfo {
    let mut old_mac_keys = Vec::new();
    let kind = match classify(data) {
        Ok(IncomingText::Query(_)) => "Query message (asks for OTR)".to_owned(),
        Ok(IncomingText::Error(_)) => "OTR error message".to_owned(),
        Ok(IncomingText::Fragment(f)) => format!("Fragment {} of {}", f.index, f.total),
        Ok(IncomingText::Plain { tag: Some(_), .. }) => {
            "Plaintext with a whitespace tag".to_owned()
        }
        Ok(IncomingText::Plain { .. }) => "Plaintext".to_owned(),
        Ok(IncomingText::Encoded(bytes)) => match EncodedMessage::decode(&bytes) {
            Ok(message) => {
                let version = message.version.0;
                match &message.body {
                    MessageBody::DhCommit(_) => {
                        format!("D-H Commit (v{version}): a D-H value, encrypted, key withheld")
                    }
                    MessageBody::DhKey(_) => format!("D-H Key (v{version}): the other D-H value"),
                    MessageBody::RevealSignature(_) => {
                        format!("Reveal Signature (v{version}): reveals the key, signs (encrypted)")
                    }
                    MessageBody::Signature(_) => {
                        format!("Signature (v{version}): the other side signs (encrypted)")
                    }
                    MessageBody::Data(d) => {
                        old_mac_keys = d.old_mac_keys.chunks(20).map(<[u8]>::to_vec).collect();
                        format!(
                            "Data (v{version}), keys {}/{}, {} bytes encrypted",
                            d.sender_keyid,
                            d.recipient_keyid,
                            d.encrypted.len()
                        )
                    }
                    _ => format!(
                        "OTR message type {:#04x} (v{version})",
                        message.message_type().0
                    ),
                }
            }
            Err(e) => format!("undecodable OTR message ({e:?})"),
        },
        Ok(_) => "other".to_owned(),
        Err(e) => format!("malformed ({e:?})"),
    };
    WireInfo { kind, old_mac_keys }
}

/// A wire line as Eve sees it, truncated.
fn eve_view(data: &str) -> String {
    let printable: String = data
        .chars()
        .map(|c| if c.is_control() { '.' } else { c })
        .collect();
    let count = printable.chars().count();
    if count <= EVE_WIDTH {
        printable
    } else {
        let head: String = printable.chars().take(EVE_WIDTH).collect();
        format!("{head}... ({count} chars)")
    }
}

/// The other party.
fn other(who: &str) -> &'static str {
    if who == ALICE {
        BOB
    } else {
        ALICE
    }
}

/// "Alice" or "Bob".
fn display_name(who: &str) -> &'static str {
    if who == ALICE {
        "Alice"
    } else {
        "Bob"
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn eve_view_truncates_and_hides_control_characters() {
        assert_eq!(eve_view("?OTRv23?"), "?OTRv23?");
        assert_eq!(eve_view("a\tb"), "a.b");
        let long = "x".repeat(100);
        assert_eq!(
            eve_view(&long),
            format!("{}... (100 chars)", "x".repeat(EVE_WIDTH))
        );
    }

    #[test]
    fn describe_names_queries_and_plaintext() {
        assert!(describe("?OTRv23?").kind.starts_with("Query"));
        assert_eq!(describe("hello").kind, "Plaintext");
        assert!(describe("?OTR:AAMC").kind.starts_with("malformed"));
    }
}
