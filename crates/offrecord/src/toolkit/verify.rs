//! `offrecord toolkit verify mackey` (offrecord only; libotr has no such tool): reads a data
//! message from stdin and says whether its MAC verifies under `mackey`, exiting with status
//! 0 if it does and 1 if not. With the MAC keys an OTR transcript reveals, this shows that
//! a forged message verifies exactly as the real ones do.

use std::io::{BufRead, Write};

use otr::crypto::sym::hmac_sha1;

use super::format::dump_data;
use super::{key_arg, read_data_message, usage, ToolkitError};

/// The usage text.
const USAGE: &str = "Usage: offrecord toolkit verify mackey
Read an OTR Data Message from stdin and check its MAC with the given
MAC key (40 hex chars). Exit status 0 if it verifies, 1 if not.";

/// Runs the tool.
pub fn run(
    args: &[&[u8]],
    input: &mut dyn BufRead,
    out: &mut dyn Write,
    _warn: &mut dyn Write,
) -> Result<(), ToolkitError> {
    let [mac_key] = args else {
        return Err(usage(None, USAGE));
    };
    let mac_key = key_arg(mac_key, 20, "MAC key", USAGE)?;
    let msg = read_data_message(input)?;
    dump_data(out, "MAC in the message", &msg.mac)?;
    dump_data(
        out,
        "MAC computed     ",
        &hmac_sha1(&mac_key, &[&msg.authenticated]),
    )?;
    if msg.mac_verifies(&mac_key) {
        writeln!(out, "The MAC verifies under this key.")?;
        Ok(())
    } else {
        writeln!(out, "The MAC does NOT verify under this key.")?;
        Err(ToolkitError::MacMismatch)
    }
}
