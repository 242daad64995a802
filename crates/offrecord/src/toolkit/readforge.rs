//! `offrecord toolkit readforge aeskey [new_message]` (libotr's `otr_readforge`): reads a
//! data message from stdin, checks its MAC with the MAC key of `aeskey` and, if it
//! verifies, prints the plaintext (up to its first NUL, so TLVs are not shown). With
//! `new_message`, prints a new data message with the same fields but `new_message`
//! encrypted in place of the old text, MACed with the same key: a forgery anyone holding
//! the AES key can make.
//!
//! A MAC that does not verify is reported on stderr and is not fatal (as in libotr): the
//! forgery is still made.

use std::io::{BufRead, Write};

use otr::crypto::sym::aes128_ctr;
use otr::DataKeySet;

use super::{key_arg, read_data_message, usage, ToolkitError};

/// The usage text.
const USAGE: &str = "Usage: offrecord toolkit readforge aeskey [new_message]
Read an OTR Data Message from stdin.  Use the given AES key to
verify its MAC and decrypt the message to stdout.  If new_message
is given, output a new OTR Data Message with the same fields as the
original, but with the message replaced by new_message";

/// Runs the tool.
pub fn run(
    args: &[&[u8]],
    input: &mut dyn BufRead,
    out: &mut dyn Write,
    warn: &mut dyn Write,
) -> Result<(), ToolkitError> {
    let (aes, new_text) = match args {
        [aes] => (aes, None),
        [aes, text] => (aes, Some(text)),
        _ => return Err(usage(None, USAGE)),
    };
    let aes: [u8; 16] = key_arg(aes, 16, "AES key", USAGE)?
        .try_into()
        .map_err(|_| usage(None, USAGE))?;
    let mut msg = read_data_message(input)?;
    let mac_key = DataKeySet::mac_key(&aes);
    if msg.mac_verifies(&mac_key) {
        let mut plaintext = msg.encrypted.clone();
        aes128_ctr(&aes, &msg.counter, &mut plaintext);
        let shown = plaintext.split(|&c| c == 0).next().unwrap_or_default();
        out.write_all(b"Plaintext: ``")?;
        out.write_all(shown)?;
        out.write_all(b"''\n")?;
    } else {
        writeln!(warn, "MAC does not verify: wrong AES key?")?;
    }
    if let Some(text) = new_text {
        let mut encrypted = text.to_vec();
        aes128_ctr(&aes, &msg.counter, &mut encrypted);
        msg.encrypted = encrypted;
        writeln!(out, "{}", msg.remac(&mac_key))?;
    }
    Ok(())
}
