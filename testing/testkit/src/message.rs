//! Our engine's wire messages and notices, read and rewritten by tests that play the
//! network or check what crossed it.

use otr::wire::codec::Codec;
use otr::wire::encoded::EncodedMessage;
use otr::wire::text::{self, IncomingText};
use otr::{Event, Notice};

/// Decodes an armoured wire message (`?OTR:...`).
///
/// # Panics
/// If `line` is not one.
pub fn decode_wire(line: &str) -> EncodedMessage {
    match text::classify(line) {
        Ok(IncomingText::Encoded(bytes)) => {
            EncodedMessage::decode(&bytes).unwrap_or_else(|e| panic!("{e:?}: {line}"))
        }
        other => panic!("not an encoded message: {other:?}"),
    }
}

/// Armours an encoded message for the wire.
pub fn encode_wire(message: &EncodedMessage) -> String {
    text::armour(&message.to_bytes())
}

/// The notices among `events`, in order.
pub fn notices(events: &[Event]) -> Vec<Notice> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Notice { notice, .. } => Some(notice.clone()),
            _ => None,
        })
        .collect()
}
