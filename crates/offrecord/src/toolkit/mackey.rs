//! `offrecord toolkit mackey aeskey` (libotr's `otr_mackey`): the MAC key that goes with an
//! AES key, `SHA1(aeskey)` ([`otr::DataKeySet::mac_key`]).

use std::io::{BufRead, Write};

use otr::DataKeySet;

use super::format::dump_data;
use super::{key_arg, usage, ToolkitError};

/// The usage text.
const USAGE: &str = "Usage: offrecord toolkit mackey aeskey
Calculate and display the MAC key derived from a given AES key.";

/// Runs the tool.
pub fn run(
    args: &[&[u8]],
    _input: &mut dyn BufRead,
    out: &mut dyn Write,
    _warn: &mut dyn Write,
) -> Result<(), ToolkitError> {
    let [aes] = args else {
        return Err(usage(None, USAGE));
    };
    let aes: [u8; 16] = key_arg(aes, 16, "AES key", USAGE)?
        .try_into()
        .map_err(|_| usage(None, USAGE))?;
    dump_data(out, "AES key", &aes)?;
    dump_data(out, "MAC key", &DataKeySet::mac_key(&aes))?;
    Ok(())
}
