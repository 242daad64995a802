//! `offrecord toolkit remac mackey sender_instance receiver_instance flags snd_keyid
//! rcp_keyid pubkey counter encdata revealed_mackeys` (libotr's `otr_remac`): builds a
//! protocol version 3 data message from its parts (the data already encrypted) and MACs it
//! with `mackey`.
//!
//! `mackey` (20 bytes), `pubkey`, `counter` (8 bytes), `encdata` and `revealed_mackeys` are
//! hex; the instance tags and key ids are decimal, read as C's `sscanf("%u")` reads them,
//! and `flags` as `sscanf("%d")` (its low byte is the flags byte).

use std::io::{BufRead, Write};

use super::format::{hex_arg, scan_i32, scan_u32};
use super::message::{DataMessage, Instances};
use super::{key_arg, usage, ToolkitError};

/// The usage text.
const USAGE: &str = "Usage: offrecord toolkit remac mackey sender_instance receiver_instance flags snd_keyid rcp_keyid pubkey counter encdata revealed_mackeys
Make a new Data message, with the given pieces (note that the
data part is already encrypted).  MAC it with the given mackey.
mackey, pubkey, counter, encdata, and revealed_mackeys are given
as strings of hex chars.  snd_keyid and rcp_keyid are decimal integers.";

/// Runs the tool.
pub fn run(
    args: &[&[u8]],
    _input: &mut dyn BufRead,
    out: &mut dyn Write,
    _warn: &mut dyn Write,
) -> Result<(), ToolkitError> {
    let [mac_key, sender, receiver, flags, snd, rcp, pubkey, counter, encdata, mackeys] = args
    else {
        return Err(usage(None, USAGE));
    };
    let mac_key = key_arg(mac_key, 20, "MAC key", USAGE)?;
    let decimal = |arg: &[u8], what: &str| {
        scan_u32(arg).ok_or_else(|| usage(Some(&format!("Unparseable {what} given.")), USAGE))
    };
    let sender = decimal(sender, "sender_instance")?;
    let receiver = decimal(receiver, "receiver_instance")?;
    let flags = scan_i32(flags).ok_or_else(|| usage(Some("Unparseable flags given."), USAGE))?;
    let sender_keyid = decimal(snd, "snd_keyid")?;
    let recipient_keyid = decimal(rcp, "rcp_keyid")?;
    let hex = |arg: &[u8]| hex_arg(arg).map_err(|e| usage(Some(&e.to_string()), USAGE));
    let next_dh = hex(pubkey)?;
    let counter: [u8; 8] = key_arg(counter, 8, "counter", USAGE)?
        .try_into()
        .map_err(|_| usage(None, USAGE))?;
    let encrypted = hex(encdata)?;
    let old_mac_keys = hex(mackeys)?;
    let mut msg = DataMessage {
        version: 3,
        // libotr stores the int in the flags byte: its low 8 bits.
        flags: Some(flags.to_le_bytes()[0]),
        instances: Some(Instances { sender, receiver }),
        sender_keyid,
        recipient_keyid,
        next_dh,
        counter,
        encrypted,
        mac: [0; 20],
        old_mac_keys,
        authenticated: Vec::new(),
    };
    writeln!(out, "{}", msg.remac(&mac_key))?;
    Ok(())
}
