//! `offrecord toolkit modify mackey old_text new_text offset` (libotr's `otr_modify`): reads
//! a data message from stdin whose MAC verifies under `mackey`, and, without knowing the
//! AES key, turns the `old_text` that the plaintext holds at byte `offset` into `new_text`
//! (of the same length), then re-MACs it with `mackey`.
//!
//! AES-CTR encrypts by XOR with a key stream, so XORing `old_text ^ new_text` into the
//! ciphertext changes the plaintext the same way. Bytes past the end of the ciphertext are
//! ignored. A MAC that does not verify under `mackey` is an error.

use std::io::{BufRead, Write};

use super::format::scan_u32;
use super::{key_arg, read_data_message, usage, ToolkitError};

/// The usage text.
const USAGE: &str = "Usage: offrecord toolkit modify mackey old_text new_text offset
Read an OTR Data Message from stdin.  Even if we can't read the
data because we don't know either the AES key or the DH privkey,
but we can make a good guess that the substring \"old_text\"
appears at the given offset in the message, replace the old_text
with the new_text (which must be of the same length), recalculate
the MAC with the given mackey, and output the resulting Data message.";

/// Runs the tool.
pub fn run(
    args: &[&[u8]],
    input: &mut dyn BufRead,
    out: &mut dyn Write,
    _warn: &mut dyn Write,
) -> Result<(), ToolkitError> {
    let [mac_key, old_text, new_text, offset] = args else {
        return Err(usage(None, USAGE));
    };
    let mac_key = key_arg(mac_key, 20, "MAC key", USAGE)?;
    if old_text.len() != new_text.len() {
        return Err(usage(
            Some("The old_text and new_text must be of the same length."),
            USAGE,
        ));
    }
    let offset = scan_u32(offset).ok_or_else(|| usage(Some("Unparseable offset given."), USAGE))?;
    let mut msg = read_data_message(input)?;
    if !msg.mac_verifies(&mac_key) {
        return Err(ToolkitError::MacMismatch);
    }
    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
    let tail = msg.encrypted.get_mut(offset..).unwrap_or_default();
    for ((c, o), n) in tail.iter_mut().zip(old_text.iter()).zip(new_text.iter()) {
        *c ^= o ^ n;
    }
    writeln!(out, "{}", msg.remac(&mac_key))?;
    Ok(())
}
