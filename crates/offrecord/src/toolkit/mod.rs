//! `offrecord toolkit`: libotr's forgeability toolkit (Debian's `libotr5-bin`), with the
//! same arguments, input and output as libotr's tools of the same name.
//!
//! | command | libotr tool | what it does |
//! |---|---|---|
//! | `parse` | `otr_parse` | reads OTR messages from stdin and prints their fields |
//! | `sesskeys` | `otr_sesskeys` | our D-H private key and their public key give the session keys |
//! | `mackey` | `otr_mackey` | the MAC key of an AES key |
//! | `readforge` | `otr_readforge` | decrypts a data message with its AES key, and forges a new text into it |
//! | `modify` | `otr_modify` | changes a known part of the plaintext without the AES key, and re-MACs |
//! | `remac` | `otr_remac` | builds a data message from its parts and MACs it |
//! | `verify` | (ours only) | checks a data message's MAC against a MAC key |
//!
//! OTR authenticates data messages with MACs, and publishes each MAC key once it is no
//! longer used. Anyone holding a transcript and the published keys can therefore make new
//! messages that verify just as well as the real ones: a transcript proves nothing about
//! who said what. These tools let a user see that for themselves (docs/forging.md).
//!
//! Every tool reads messages leniently, as libotr's do ([`message`]), and prints exactly
//! what libotr's prints to stdout, with the same exit status (1 for every error). Where we
//! differ: `sesskeys` refuses D-H values outside `[2, p-2]` (and the private key 0), with
//! which libotr computes degenerate keys; messages to stderr are worded our way; and, as the
//! tools are clap subcommands, a *first* argument `-h`/`--help` shows help and a first `--`
//! is dropped (every later argument is taken as is, as libotr does).

pub mod format;
pub mod mackey;
pub mod message;
pub mod modify;
pub mod parse;
pub mod readforge;
pub mod remac;
pub mod sesskeys;
pub mod verify;

use std::ffi::OsString;
use std::io::{self, BufRead, Write};

/// Why a tool stopped. Every error exits with status 1, as libotr's tools do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ToolkitError {
    /// Wrong arguments: the message, then the tool's usage.
    #[error("{0}")]
    Usage(String),
    /// An argument that is not what it should be (odd-length hex, a non-hex character).
    #[error("{0}")]
    Argument(String),
    /// No `?OTR:` message on stdin.
    #[error("no OTR Data Message found on stdin")]
    NoMessage,
    /// The message on stdin is not a data message.
    #[error("OTR Non-Data Message found on stdin")]
    NotData,
    /// The data message on stdin could not be read.
    #[error("invalid OTR Data Message found on stdin: {0}")]
    InvalidData(#[from] message::ParseError),
    /// The MAC did not verify under the given key.
    #[error("MAC does not verify: wrong MAC key?")]
    MacMismatch,
    /// A D-H value we refuse to compute with.
    #[error("{0}")]
    DhValue(&'static str),
    /// Reading stdin or writing stdout failed.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// `offrecord toolkit`'s arguments.
#[derive(Debug, clap::Args)]
pub struct ToolkitArgs {
    /// The tool.
    #[command(subcommand)]
    pub tool: Tool,
}

/// The tools, each taking libotr's arguments verbatim.
#[derive(Debug, clap::Subcommand)]
pub enum Tool {
    /// Read OTR messages from stdin and print their fields (otr_parse).
    #[command(override_usage = "offrecord toolkit parse < messages")]
    Parse(RawArgs),
    /// Our D-H private key and their public key (hex) give the session keys (otr_sesskeys).
    #[command(override_usage = "offrecord toolkit sesskeys our_privkey their_pubkey")]
    Sesskeys(RawArgs),
    /// The MAC key of an AES key (otr_mackey).
    #[command(override_usage = "offrecord toolkit mackey aeskey")]
    Mackey(RawArgs),
    /// Decrypt the data message on stdin with its AES key; forge a new text into it (otr_readforge).
    #[command(override_usage = "offrecord toolkit readforge aeskey [new_message] < message")]
    Readforge(RawArgs),
    /// Replace old_text at offset by new_text in the data message on stdin, re-MAC (otr_modify).
    #[command(
        override_usage = "offrecord toolkit modify mackey old_text new_text offset < message"
    )]
    Modify(RawArgs),
    /// Build a data message from its parts and MAC it (otr_remac).
    #[command(
        override_usage = "offrecord toolkit remac mackey sender_instance receiver_instance flags snd_keyid rcp_keyid pubkey counter encdata revealed_mackeys"
    )]
    Remac(RawArgs),
    /// Check the MAC of the data message on stdin against a MAC key (offrecord only).
    #[command(override_usage = "offrecord toolkit verify mackey < message")]
    Verify(RawArgs),
}

/// A tool's arguments, taken as given (libotr's tools read them with their own rules).
#[derive(Debug, clap::Args)]
pub struct RawArgs {
    /// The arguments, as for the libotr tool of the same name.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    pub args: Vec<OsString>,
}

/// Runs `tool` on the process's stdin, stdout and stderr.
pub fn run_cli(args: ToolkitArgs) -> Result<(), ToolkitError> {
    let stdin = io::stdin();
    let stdout = io::stdout();
    let stderr = io::stderr();
    let mut out = stdout.lock();
    let result = run(&args.tool, &mut stdin.lock(), &mut out, &mut stderr.lock());
    out.flush()?;
    result
}

/// Runs `tool`, reading messages from `input`, writing its output to `out` and warnings
/// that do not stop it to `warn`.
pub fn run(
    tool: &Tool,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
    warn: &mut dyn Write,
) -> Result<(), ToolkitError> {
    let (raw, f): (&RawArgs, ToolFn) = match tool {
        Tool::Parse(a) => (a, parse::run),
        Tool::Sesskeys(a) => (a, sesskeys::run),
        Tool::Mackey(a) => (a, mackey::run),
        Tool::Readforge(a) => (a, readforge::run),
        Tool::Modify(a) => (a, modify::run),
        Tool::Remac(a) => (a, remac::run),
        Tool::Verify(a) => (a, verify::run),
    };
    let args: Vec<&[u8]> = raw.args.iter().map(|a| a.as_encoded_bytes()).collect();
    f(&args, input, out, warn)
}

/// The shape of every tool's entry point.
type ToolFn =
    fn(&[&[u8]], &mut dyn BufRead, &mut dyn Write, &mut dyn Write) -> Result<(), ToolkitError>;

/// A usage error: `reason` (if any), then the tool's usage text.
fn usage(reason: Option<&str>, text: &str) -> ToolkitError {
    match reason {
        Some(r) => ToolkitError::Usage(format!("{r}\n{text}")),
        None => ToolkitError::Usage(text.to_owned()),
    }
}

/// Reads the data message on `input`, libotr's way: the first `?OTR:` message, which must
/// be classified as a data message and parse as one.
fn read_data_message(input: &mut dyn BufRead) -> Result<message::DataMessage, ToolkitError> {
    let msg = message::read_otr(input)?.ok_or(ToolkitError::NoMessage)?;
    if message::classify(&msg) != message::MessageKind::Data {
        return Err(ToolkitError::NotData);
    }
    Ok(message::DataMessage::parse(&msg)?)
}

/// A hex argument that must be `len` bytes; any failure is a usage error.
fn key_arg(arg: &[u8], len: usize, what: &str, usage_text: &str) -> Result<Vec<u8>, ToolkitError> {
    let bytes = format::hex_arg(arg).map_err(|e| usage(Some(&e.to_string()), usage_text))?;
    if bytes.len() != len {
        return Err(usage(
            Some(&format!("The {what} must be {} hex chars long.", 2 * len)),
            usage_text,
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use rand_chacha::rand_core::{RngCore, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    use super::*;

    fn tool(name: &str, args: &[&str]) -> Tool {
        let raw = RawArgs {
            args: args.iter().map(OsString::from).collect(),
        };
        match name {
            "parse" => Tool::Parse(raw),
            "readforge" => Tool::Readforge(raw),
            "modify" => Tool::Modify(raw),
            "verify" => Tool::Verify(raw),
            _ => panic!("{name}"),
        }
    }

    /// Garbage, truncated base64 and huge lengths never panic: every tool returns output
    /// or a typed error.
    #[test]
    fn no_input_makes_a_tool_panic() {
        let mut rng = ChaCha20Rng::seed_from_u64(99);
        let key16 = "00112233445566778899aabbccddeeff";
        let key20 = "00112233445566778899aabbccddeeff00112233";
        let tools = [
            tool("parse", &[]),
            tool("readforge", &[key16, "new"]),
            tool("modify", &[key20, "a", "b", "3"]),
            tool("verify", &[key20]),
        ];
        for i in 0..3000 {
            let len = (rng.next_u32() % 200) as usize;
            let mut body = vec![0u8; len];
            rng.fill_bytes(&mut body);
            let mut input = match i % 3 {
                // Raw bytes.
                0 => body.clone(),
                // An armoured random payload with a plausible header.
                1 => {
                    let mut raw = vec![0, [1, 2, 3][(i / 3) % 3], [2, 3, 0x0a, 0x11, 0x12][i % 5]];
                    raw.extend_from_slice(&body);
                    otr::wire::text::armour(&raw).into_bytes()
                }
                // Base64 characters, truncated anywhere.
                _ => {
                    let mut s = b"?OTR:AAMD".to_vec();
                    s.extend(body.iter().map(|b| {
                        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=."
                            [usize::from(*b) % 66]
                    }));
                    s
                }
            };
            input.truncate(input.len().saturating_sub((rng.next_u32() % 4) as usize));
            for t in &tools {
                let mut out = Vec::new();
                let mut warn = Vec::new();
                let _ = run(t, &mut &input[..], &mut out, &mut warn);
            }
        }
    }
}
