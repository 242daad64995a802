//! `offrecord toolkit parse` (libotr's `otr_parse`): reads OTR messages from stdin and prints
//! each one's fields.
//!
//! Every `?OTR:...` message on the input is read (see [`read_otr`]) and printed as
//! `otr_parse` prints it: a heading, then one `\tField: value` line per field (hex for
//! bytes and MPIs, decimal for integers), then an empty line. D-H Commit, D-H Key, Reveal
//! Signature, Signature and Data messages of versions 2 and 3 (data messages of version 1
//! too) and version 1 Key Exchange messages are decoded; a message that does not decode
//! as its type is reported as invalid, anything else as unrecognized.

use std::io::{BufRead, Write};

use super::format::{dump_data, dump_int, dump_mpi};
use super::message::{
    classify, read_otr, DataMessage, DhCommit, DhKey, Instances, MessageKind, RevealSignature,
    Signature, V1KeyExchange,
};
use super::{usage, ToolkitError};

/// The usage text.
const USAGE: &str = "Usage: offrecord toolkit parse
Read Off-the-Record (OTR) Key Exchange and/or Data messages from stdin
and display their contents in a more readable format.";

/// Runs the tool.
pub fn run(
    args: &[&[u8]],
    input: &mut dyn BufRead,
    out: &mut dyn Write,
    _warn: &mut dyn Write,
) -> Result<(), ToolkitError> {
    if !args.is_empty() {
        return Err(usage(None, USAGE));
    }
    while let Some(msg) = read_otr(input)? {
        print_message(&msg, out)?;
        out.flush()?;
    }
    Ok(())
}

/// Prints one message as `otr_parse` does.
pub fn print_message(msg: &[u8], out: &mut dyn Write) -> Result<(), ToolkitError> {
    match classify(msg) {
        MessageKind::Query => quoted(out, "OTR Query:", msg)?,
        MessageKind::Error => quoted(out, "OTR Error:", msg)?,
        MessageKind::TaggedPlaintext => quoted(out, "Tagged plaintext message:", msg)?,
        MessageKind::NotOtr => quoted(out, "Not an OTR message:", msg)?,
        MessageKind::Unknown => quoted(out, "Unrecognized OTR message:", msg)?,
        MessageKind::DhCommit => match DhCommit::parse(msg) {
            Ok(m) => {
                writeln!(out, "D-H Commit Message:")?;
                header(out, m.version, m.instances)?;
                dump_data(out, "\tEncrypted Key", &m.encrypted_key)?;
                dump_data(out, "\tHashed Key", &m.hashed_key)?;
                writeln!(out)?;
            }
            Err(_) => write!(out, "Invalid D-H Commit Message\n\n")?,
        },
        MessageKind::DhKey => match DhKey::parse(msg) {
            Ok(m) => {
                writeln!(out, "D-H Key Message:")?;
                header(out, m.version, m.instances)?;
                dump_mpi(out, "\tD-H Key", &m.y)?;
                writeln!(out)?;
            }
            Err(_) => write!(out, "Invalid D-H Key Message\n\n")?,
        },
        MessageKind::RevealSignature => match RevealSignature::parse(msg) {
            Ok(m) => {
                writeln!(out, "Reveal Signature Message:")?;
                header(out, m.version, m.instances)?;
                dump_data(out, "\tKey", &m.key)?;
                dump_data(out, "\tEncrypted Signature", &m.encrypted_signature)?;
                dump_data(out, "\tMAC", &m.mac)?;
                writeln!(out)?;
            }
            Err(_) => write!(out, "Invalid Reveal Signature Message\n\n")?,
        },
        MessageKind::Signature => match Signature::parse(msg) {
            Ok(m) => {
                writeln!(out, "Signature Message:")?;
                header(out, m.version, m.instances)?;
                dump_data(out, "\tEncrypted Signature", &m.encrypted_signature)?;
                dump_data(out, "\tMAC", &m.mac)?;
                writeln!(out)?;
            }
            Err(_) => write!(out, "Invalid Signature Message\n\n")?,
        },
        MessageKind::V1KeyExchange => match V1KeyExchange::parse(msg) {
            Ok(m) => {
                writeln!(out, "Key Exchange Message:")?;
                dump_int(out, "\tReply", u32::from(m.reply))?;
                let [p, q, g, e] = &m.dsa;
                dump_mpi(out, "\tDSA p", p)?;
                dump_mpi(out, "\tDSA q", q)?;
                dump_mpi(out, "\tDSA g", g)?;
                dump_mpi(out, "\tDSA e", e)?;
                dump_int(out, "\tKeyID", m.keyid)?;
                dump_mpi(out, "\tDH y", &m.y)?;
                dump_mpi(out, "\tSIG r", &m.r)?;
                dump_mpi(out, "\tSIG s", &m.s)?;
                writeln!(out)?;
            }
            Err(_) => write!(out, "Invalid Key Exchange Message\n\n")?,
        },
        MessageKind::Data => match DataMessage::parse(msg) {
            Ok(m) => print_data(out, &m)?,
            Err(_) => write!(out, "Invalid Data Message\n\n")?,
        },
    }
    Ok(())
}

/// `Heading:\n\t<msg>\n\n`, the message as it came.
fn quoted(out: &mut dyn Write, heading: &str, msg: &[u8]) -> Result<(), ToolkitError> {
    write!(out, "{heading}\n\t")?;
    out.write_all(msg)?;
    write!(out, "\n\n")?;
    Ok(())
}

/// The version, then the instance tags of a v3 message.
fn header(
    out: &mut dyn Write,
    version: u8,
    instances: Option<Instances>,
) -> Result<(), ToolkitError> {
    dump_data(out, "\tVersion", &[version])?;
    if let Some(tags) = instances {
        dump_int(out, "\tSender instance", tags.sender)?;
        dump_int(out, "\tReceiver instance", tags.receiver)?;
    }
    Ok(())
}

/// A data message's fields; the revealed MAC keys 20 bytes a line (a shorter rest is not
/// shown, as in libotr).
fn print_data(out: &mut dyn Write, m: &DataMessage) -> Result<(), ToolkitError> {
    writeln!(out, "Data Message:")?;
    dump_data(out, "\tVersion", &[m.version])?;
    if let Some(flags) = m.flags {
        dump_int(out, "\tFlags", u32::from(flags))?;
    }
    if let Some(tags) = m.instances {
        dump_int(out, "\tSender instance", tags.sender)?;
        dump_int(out, "\tReceiver instance", tags.receiver)?;
    }
    dump_int(out, "\tSender keyid", m.sender_keyid)?;
    dump_int(out, "\tRcpt keyid", m.recipient_keyid)?;
    dump_mpi(out, "\tDH y", &m.next_dh)?;
    dump_data(out, "\tCounter", &m.counter)?;
    dump_data(out, "\tEncrypted message", &m.encrypted)?;
    dump_data(out, "\tMAC", &m.mac)?;
    if !m.old_mac_keys.is_empty() {
        writeln!(out, "\tRevealed MAC keys:")?;
        for (i, key) in m.old_mac_keys.chunks_exact(20).enumerate() {
            dump_data(out, &format!("\t\tKey {}", i + 1), key)?;
        }
    }
    writeln!(out)?;
    Ok(())
}
