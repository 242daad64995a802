//! What others can make a node send or hold is bounded (`group::limits`): a member flooding
//! resend requests, a host flooding items ahead of a gap, a member writing ahead of a
//! line it never sends, a member that vanished while the room talks on, strangers offering
//! pairwise keys.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use group::envelope::{Envelope, Item, MsgItem};
use group::limits::{
    BUFFER_BYTES, BUFFER_ITEMS, HELD_BYTES_PER_SENDER, MAX_EARLY_OFFERS, OUTBOX_BYTES_PER_PEER,
    RESEND_BURST_BYTES, RESEND_RATE_BYTES,
};
use group::{Delivery, Target, GROUP_KEY_USAGE};
use support::Net;

/// A body of almost the largest size (16 KiB).
fn big(tag: &str) -> String {
    format!("{tag} {}", "x".repeat(16 * 1024 - 8))
}

/// A room of 3 whose history holds 20 lines of 16 KiB.
fn room_with_big_history() -> (Net, Vec<String>) {
    let (mut net, names) = Net::room(3, Delivery::Private, |_| {});
    for i in 0..10 {
        net.say("m00", &big(&format!("h{i}")));
        net.say("m01", &big(&format!("m{i}")));
    }
    net.advance(6);
    assert!(net.all_alerts().is_empty(), "{:?}", net.all_alerts());
    net.clear_outputs();
    (net, names)
}

/// The bytes of the lines `from` sent to `to` since the wire was last cleared.
fn bytes_to(net: &Net, from: &str, to: &str) -> usize {
    net.wire
        .iter()
        .filter(|(f, t, _)| f == from && *t == Target::Private(to.to_owned()))
        .map(|(_, _, l)| l.len())
        .sum()
}

/// The budget counts the lines as they leave; the last one may weigh a little more than
/// the host's estimate before sending it.
const SLACK: usize = 2048;

#[test]
fn a_member_flooding_resend_requests_gets_a_bounded_amount_of_traffic() {
    let (mut net, _) = room_with_big_history();
    let room = net.node("m01").room_id().unwrap().clone();
    let epoch = net.node("m01").transcript().unwrap().epoch;
    let resend = Envelope::Resend {
        room: room.clone(),
        epoch,
        from: 1,
        to: u64::MAX,
    }
    .encode();
    // A `say` with a counter already relayed asks for its echo again.
    let again = Envelope::Say {
        room,
        sseq: 1,
        seen: 0,
        body: "x".into(),
        macs: vec![],
    }
    .encode();
    net.record_wire = true;
    for _ in 0..50 {
        net.send_private("m01", "m00", &resend);
        net.send_private("m01", "m00", &again);
    }
    let at_once = bytes_to(&net, "m00", "m01");
    println!("100 requests at once: the host sent {at_once} bytes to m01");
    assert!(at_once <= RESEND_BURST_BYTES + SLACK, "{at_once} bytes");
    // Ten seconds of ten requests a second.
    net.wire.clear();
    for _ in 0..10 {
        for _ in 0..10 {
            net.send_private("m01", "m00", &resend);
        }
        net.advance(1);
    }
    let sustained = bytes_to(&net, "m00", "m01");
    println!("100 requests over 10 s: the host sent {sustained} bytes to m01");
    assert!(
        sustained <= RESEND_BURST_BYTES + 10 * RESEND_RATE_BYTES + SLACK,
        "{sustained} bytes"
    );
    // The others are not starved: m02's own request is answered.
    net.wire.clear();
    let epoch = net.node("m02").transcript().unwrap().epoch;
    let ask = Envelope::Resend {
        room: net.node("m02").room_id().unwrap().clone(),
        epoch,
        from: 20,
        to: 21,
    };
    net.send_private("m02", "m00", &ask.encode());
    assert!(bytes_to(&net, "m00", "m02") > 16 * 1024);
}

#[test]
fn a_host_flooding_future_items_makes_a_member_hold_at_most_the_cap() {
    let (mut net, _) = Net::room(3, Delivery::Private, |_| {});
    net.say("m01", "hello");
    net.advance(6);
    net.clear_outputs();
    // The host drops the next item for m02 and sends 1,000 items of 16 KiB after it, so
    // that all of them wait for the missing one.
    let mut done = false;
    net.node("m00")
        .set_relay_hook(Some(Box::new(move |to, env| {
            if to != "m02" || done {
                return vec![env];
            }
            let Envelope::Relay {
                room, epoch, gseq, ..
            } = &env
            else {
                return vec![env];
            };
            done = true;
            (1..=1000u64)
                .map(|i| Envelope::Relay {
                    room: room.clone(),
                    epoch: *epoch,
                    gseq: gseq + i,
                    item: Item::Msg(MsgItem {
                        sender: "m00".into(),
                        sseq: 100 + i,
                        seen: 0,
                        body: big(&i.to_string()),
                    }),
                    mac: None,
                })
                .collect()
        })));
    net.say("m00", "the item m02 never gets");
    let usage = net.node("m02").usage();
    println!("m02 holds {usage:?}");
    assert!(usage.buffered_bytes <= BUFFER_BYTES, "{usage:?}");
    assert!(usage.buffered_items <= BUFFER_ITEMS, "{usage:?}");
    assert!(usage.buffered_items > 0);
}

#[test]
fn a_member_writing_ahead_of_a_line_it_never_sends_makes_the_host_hold_at_most_the_cap() {
    let (mut net, _) = Net::room(3, Delivery::Private, |_| {});
    net.say("m01", "hello");
    net.clear_outputs();
    let room = net.node("m01").room_id().unwrap().clone();
    // Counter 2 never comes; 3..=300 are held for it.
    for sseq in 3..=300u64 {
        let say = Envelope::Say {
            room: room.clone(),
            sseq,
            seen: 0,
            body: big(&sseq.to_string()),
            macs: vec![],
        };
        net.send_private("m01", "m00", &say.encode());
    }
    let usage = net.node("m00").usage();
    println!("the host holds {usage:?}");
    assert!(usage.held_bytes <= HELD_BYTES_PER_SENDER, "{usage:?}");
    assert!(usage.held_items > 0);
    // Held lines go after the deadline: the missing one is not coming.
    net.advance(13);
    assert_eq!(net.node("m00").usage().held_items, 0);
}

#[test]
fn lines_for_a_member_that_vanished_are_held_at_most_the_cap_and_the_time() {
    let (mut net, _) = Net::room(3, Delivery::Private, |_| {});
    net.say("m01", "hello");
    // m02 ends its session with the host and vanishes (no QUIT reaches the host).
    net.act("m02", |node| node.finish_private("m00"));
    net.nodes.remove("m02");
    for i in 0..100 {
        net.say("m01", &big(&i.to_string()));
    }
    let usage = net.node("m00").usage();
    println!("the host holds {usage:?}");
    assert!(usage.outbox_bytes <= OUTBOX_BYTES_PER_PEER, "{usage:?}");
    assert!(usage.outbox_lines > 0);
    net.advance(121);
    assert_eq!(net.node("m00").usage().outbox_lines, 0);
}

#[test]
fn strangers_offering_pairwise_keys_are_kept_at_most_the_cap() {
    // Twenty peers who know the room's id (former members, say) but are not in m01's
    // roster each offer m01 a pairwise key for it, from a plain OTR engine.
    let (mut net, _) = Net::room(3, Delivery::Private, |_| {});
    let room = net.node("m01").room_id().unwrap().clone();
    let strangers: Vec<String> = (60..80).map(support::nick).collect();
    for (i, s) in (60..80).zip(&strangers) {
        net.add_impostor(s, support::engine(i as u64));
    }
    for s in &strangers {
        net.impostor(s, |e| e.start("m01").unwrap());
        net.impostor(s, |e| {
            e.extra_symmetric_key("m01", GROUP_KEY_USAGE, room.as_str().as_bytes())
                .unwrap()
                .1
        });
    }
    let usage = net.node("m01").usage();
    println!("m01 holds {usage:?}");
    assert!(usage.early_offers <= MAX_EARLY_OFFERS, "{usage:?}");
    assert!(usage.links <= 2 + MAX_EARLY_OFFERS, "{usage:?}");
}

#[test]
fn lines_queued_before_the_clock_is_known_are_not_expired_by_its_arrival() {
    // A node knows the time only from its first tick. An invitation queued before it (the
    // invitee's session still coming up over a slow link) must not count as queued at
    // time zero and expire when the clock arrives. (Found by the ngircd tests.)
    let mut net = Net::new();
    let host = net.add(0, Delivery::Private, |_| {});
    let guest = net.add(1, Delivery::Private, |_| {});
    net.act(&host, |h| h.host().unwrap());
    net.hold = Some((host.clone(), guest.clone()));
    let g = guest.clone();
    net.act(&host, |h| h.invite(&g).unwrap());
    assert_eq!(
        net.node(&host).usage().outbox_lines,
        1,
        "the invitation waits"
    );
    net.advance(2);
    net.release();
    assert!(
        net.outputs[&guest]
            .iter()
            .any(|o| matches!(o, group::Output::Invited { .. })),
        "the invitation was dropped"
    );
}
