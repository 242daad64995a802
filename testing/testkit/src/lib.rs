//! Test-only: what the tests of every crate share, written once.
//!
//! * [`Party`]: one side of an OTR conversation, implemented by our [`otr::Engine`],
//!   libotr 4.1.1 ([`libotr_harness::LibOtr`]) and a process speaking the engine protocol
//!   ([`JsonLines`]: `offrecord rpc`, python-potr); [`View`] reads any party's events in one
//!   form (a wire line to whom, a text shown, private, finished, an SMP step).
//! * [`Relay`]: the one relay pump between two parties, recording the wire, with hooks to
//!   hold, drop and rewrite lines; [`Relay::engines`] and [`Relay::with_libotr`] build the
//!   usual pairs.
//! * Seeded keys ([`key`], cached and cloned) and engines ([`engine`]); hex ([`hex`],
//!   [`unhex`]); our wire messages ([`decode_wire`], [`encode_wire`]) and notices.
//! * Processes: one-shot commands ([`pipe`], [`run_home`], [`succeeds`]).
//! * The fuzz corpora, replayed through the targets' checks ([`replay_corpus`]).
//! * The network as bytes and lines: [`contains`], [`irc_lines`], [`fragments`].
//!
//! A dev-dependency only. Helpers fail the test loudly (panics) when what they drive
//! misbehaves.
// A test kit's job is to fail the test where something is wrong.
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

mod corpus;
mod hex;
mod keys;
mod message;
mod pairs;
mod party;
mod process;
mod relay;

pub use corpus::{corpus_dir, replay_corpus};
pub use hex::{hex, try_unhex, unhex, MODULUS_HEX};
pub use keys::{alice_key, bob_key, engine, key, ALICE_TAG, BOB_TAG, OUR_TAG};
pub use message::{decode_wire, encode_wire, notices};
pub use pairs::{Mixed, Pair};
pub use party::{lines, shown, AsView, Party, SmpStep, View};
pub use process::{
    assert_contains_all, assert_libotr_fingerprint, pipe, run_home, succeeds, JsonLines,
};
pub use relay::{Events, Relay, Side, Tap};

/// Whether `needle` occurs in `haystack` (bytes a network tap logged).
pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// How many of `lines` are OTR v3 fragments (`?OTR|...`).
pub fn fragments(lines: &[String]) -> usize {
    lines.iter().filter(|l| l.starts_with("?OTR|")).count()
}

/// The IRC lines a wire message goes out as: libotr's query message has line breaks (its
/// HTML explanation follows), and an IRC client sends each line as its own PRIVMSG, as
/// irssi-otr does (the transport refuses a line break). Empty lines are skipped.
pub fn irc_lines(line: &str) -> impl Iterator<Item = &str> {
    line.split(['\r', '\n']).filter(|l| !l.is_empty())
}
