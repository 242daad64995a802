//! Deniability: every MAC key that verified a message is revealed once it can verify
//! nothing more, so anyone could have forged what it authenticated. Security issue, item
//! 12: the keys of a session replaced by a new key exchange, and of a session ended, were
//! dropped unrevealed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use otr::crypto::sym::hmac_sha1;
use otr::wire::encoded::{EncodedMessage, MessageBody};
use otr::Policy;
use testkit::{decode_wire, Pair, Side};

/// The data messages `side` put on the wire (from index `from` on).
fn data_messages(pair: &Pair, side: Side, range: core::ops::Range<usize>) -> Vec<EncodedMessage> {
    pair.wire[range]
        .iter()
        .filter(|(s, d)| *s == side && d.starts_with("?OTR:"))
        .map(|(_, d)| decode_wire(d))
        .filter(|m| matches!(m.body, MessageBody::Data(_)))
        .collect()
}

/// Every MAC key `side` revealed, in any data message.
fn revealed_by(pair: &Pair, side: Side) -> Vec<[u8; 20]> {
    data_messages(pair, side, 0..pair.wire.len())
        .into_iter()
        .filter_map(|m| match m.body {
            MessageBody::Data(d) => Some(d.old_mac_keys),
            _ => None,
        })
        .flat_map(|keys| {
            keys.chunks_exact(20)
                .map(|c| <[u8; 20]>::try_from(c).unwrap())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Whether one of `keys` verifies `message`'s MAC: then anyone holding it could have
/// written the message.
fn forgeable(message: &EncodedMessage, keys: &[[u8; 20]]) -> bool {
    let MessageBody::Data(d) = &message.body else {
        return false;
    };
    let input = message.data_mac_input().unwrap();
    keys.iter().any(|k| hmac_sha1(k, &[&input]) == d.mac)
}

#[test]
fn mac_keys_of_a_replaced_session_are_revealed() {
    let mut pair = Pair::engines(Policy::MANUAL);
    pair.connect(Side::Alice);
    let start = pair.wire.len();
    for text in ["one", "two", "three"] {
        pair.act(Side::Alice, |e| e.send("bob", text));
        pair.act(Side::Bob, |e| e.send("alice", "ok"));
    }
    let before_refresh = pair.wire.len();
    pair.connect(Side::Alice);
    for text in ["four", "five", "six"] {
        pair.act(Side::Alice, |e| e.send("bob", text));
        pair.act(Side::Bob, |e| e.send("alice", "ok"));
    }
    let revealed = revealed_by(&pair, Side::Bob);
    for m in data_messages(&pair, Side::Alice, start..before_refresh) {
        assert!(
            forgeable(&m, &revealed),
            "a MAC key of the old session was never revealed"
        );
    }
}

#[test]
fn ending_a_session_reveals_the_mac_keys_that_verified_messages() {
    let mut pair = Pair::engines(Policy::MANUAL);
    pair.connect(Side::Alice);
    let start = pair.wire.len();
    pair.act(Side::Alice, |e| e.send("bob", "one"));
    pair.act(Side::Bob, |e| e.send("alice", "ok"));
    pair.act(Side::Alice, |e| e.send("bob", "two"));
    let end = pair.wire.len();
    pair.act(Side::Bob, |e| e.finish("alice"));
    let revealed = revealed_by(&pair, Side::Bob);
    for m in data_messages(&pair, Side::Alice, start..end) {
        assert!(
            forgeable(&m, &revealed),
            "Bob ended without revealing a MAC key he used"
        );
    }
}
