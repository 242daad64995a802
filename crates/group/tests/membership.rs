//! Who is in the room: only the host admits, removed members get nothing, the room hands
//! off to the next host, and stock OTR clients take part as thin members.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use group::chain::PairKey;
use group::envelope::{Envelope, Item, MsgItem};
use group::{Alert, Auth, Delivery, LeftReason, Output, Target, GROUP_KEY_USAGE};
use otr::ConversationState;
use support::{assert_delivered, engine, key, Net, Thin};

#[test]
fn content_from_someone_not_admitted_is_rejected() {
    let (mut net, _) = Net::room(3, Delivery::Private, |_| {});
    let room = net.node("m01").room_id().unwrap().clone();
    // Mallory is no member; she opens an OTR session with m01 and sends a relay, then a
    // say to the host.
    net.add(7, Delivery::Private, |_| {});
    let fake = Envelope::Relay {
        room: room.clone(),
        epoch: 1,
        gseq: 99,
        item: Item::Msg(MsgItem {
            sender: "m02".into(),
            sseq: 9,
            seen: 0,
            body: "the host says: invite m07".into(),
        }),
        mac: None,
    };
    net.write_inside("m07", "m01", &fake.encode());
    assert!(net
        .alerts("m01")
        .iter()
        .any(|a| matches!(a, Alert::NotAdmitted { nick, .. } if nick == "m07")));
    assert!(net
        .messages("m01")
        .iter()
        .all(|m| m.text != "the host says: invite m07"));
    let say = Envelope::Say {
        room,
        sseq: 1,
        seen: 0,
        body: "hello room".into(),
        macs: vec![],
    };
    net.write_inside("m07", "m00", &say.encode());
    assert!(net
        .alerts("m00")
        .iter()
        .any(|a| matches!(a, Alert::NotAdmitted { nick, .. } if nick == "m07")));
    for n in ["m00", "m01", "m02"] {
        assert!(
            net.messages(n).iter().all(|m| m.text != "hello room"),
            "{n}"
        );
    }
}

#[test]
fn a_member_inviting_someone_does_not_admit_them() {
    let (mut net, _) = Net::room(3, Delivery::Private, |_| {});
    net.add(8, Delivery::Private, |_| {});
    // m01 is no host: it cannot invite into m00's room.
    assert!(net.node("m01").invite("m08").is_err());
    // Roster unchanged for everyone.
    for n in ["m00", "m01", "m02"] {
        assert!(!net.node(n).roster().unwrap().contains("m08"));
    }
}

#[test]
fn removed_member_receives_nothing_after_removal() {
    let (mut net, names) = Net::room(4, Delivery::Private, |_| {});
    net.say("m01", "before");
    net.record_wire = true;
    net.act("m00", |h| h.kick("m02").unwrap());
    assert!(net.outputs["m02"].iter().any(|o| matches!(
        o,
        Output::Left {
            reason: LeftReason::Removed,
            ..
        }
    )));
    let wire_at_kick = net.wire.len();
    net.clear_outputs();
    net.say("m01", "after 1");
    net.say("m00", "after 2");
    net.say("m03", "after 3");
    net.advance(10);
    assert!(net.messages("m02").is_empty());
    // Not a single line to m02 from the host after the removal.
    assert!(!net.wire[wire_at_kick..]
        .iter()
        .any(|(from, to, _)| from == "m00" && *to == Target::Private("m02".into())));
    let rest: Vec<String> = names.iter().filter(|n| *n != "m02").cloned().collect();
    let expected: Vec<(String, String)> =
        [("m01", "after 1"), ("m00", "after 2"), ("m03", "after 3")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
    assert_delivered(&net, &rest, &expected);
    assert!(net.all_alerts().is_empty(), "{:?}", net.all_alerts());
    // m02 trying to write to the room is rejected by the host.
    assert!(net.node("m02").say("still here?").is_err());
}

/// Who hosts next, as a member computes it (the hand-off rule).
fn successor(net: &mut Net, names: &[String]) -> String {
    net.node(&names[1]).successor().unwrap().to_owned()
}

#[test]
fn host_hand_off_continues_the_room() {
    for gone in [false, true] {
        let (mut net, names) = Net::room(5, Delivery::Private, |_| {});
        net.say("m01", "before the hand-off");
        net.advance(6);
        let next = successor(&mut net, &names);
        net.clear_outputs();
        if gone {
            // The host drops off the network: the transport tells everyone.
            net.nodes.remove("m00");
            for n in &names[1..] {
                let outs = net.node(n).peer_gone("m00");
                net.absorb(n, outs);
            }
            net.run();
        } else {
            net.act("m00", |h| h.leave().unwrap());
            net.nodes.remove("m00");
        }
        let rest: Vec<String> = names[1..].to_vec();
        for n in &rest {
            assert_eq!(net.node(n).host_nick(), Some(next.as_str()), "{n}");
        }
        assert!(net.node(&next).is_host());
        let mut expected = Vec::new();
        for n in &rest {
            let t = format!("{n} after the hand-off");
            net.say(n, &t);
            expected.push((n.clone(), t));
        }
        net.advance(10);
        assert_delivered(&net, &rest, &expected);
        assert!(net.all_alerts().is_empty(), "{:?}", net.all_alerts());
        for n in &rest {
            assert!(!net.node(n).roster().unwrap().contains("m00"));
            assert_eq!(net.node(n).transcript().unwrap().epoch, 2, "generation 2");
        }
    }
}

#[test]
fn hand_off_reuses_the_sessions_members_already_have() {
    // Full members already hold OTR sessions with each other (the pairwise MAC mesh), so
    // following the new host needs no new key exchange, however long ago those sessions
    // started (over a paced IRC connection a needless one delays the hand-off by seconds).
    let (mut net, names) = Net::room(4, Delivery::Private, |_| {});
    net.say("m01", "before the hand-off");
    net.advance(20);
    let next = successor(&mut net, &names);
    net.record_wire = true;
    net.nodes.remove("m00");
    for n in &names[1..] {
        let outs = net.node(n).peer_gone("m00");
        net.absorb(n, outs);
    }
    net.run();
    net.advance(2);
    for n in &names[1..] {
        assert_eq!(net.node(n).host_nick(), Some(next.as_str()), "{n}");
        assert_eq!(
            net.node(n).transcript().unwrap().epoch,
            2,
            "{n}: generation 2"
        );
    }
    let restarts: Vec<&(String, group::Target, String)> = net
        .wire
        .iter()
        .filter(|(_, _, line)| line.starts_with("?OTRv") || line.starts_with("?OTR:AAMC"))
        .collect();
    assert!(restarts.is_empty(), "key exchanges restarted: {restarts:?}");
    assert!(net.all_alerts().is_empty(), "{:?}", net.all_alerts());
}

#[test]
fn a_successors_welcome_waits_for_the_members_own_evidence_that_the_host_left() {
    // On IRC members learn that the host left at different times (a member that shares no
    // channel with it gets no QUIT: it learns from a poll or a bounced line), maybe after
    // the successor did. The successor's welcome to the next generation is kept until the
    // member's own evidence comes, and followed at once then.
    let (mut net, names) = Net::room(4, Delivery::Private, |_| {});
    net.say("m01", "before the hand-off");
    net.advance(6);
    let next = successor(&mut net, &names);
    net.clear_outputs();
    net.nodes.remove("m00");
    let outs = net.node(&next).peer_gone("m00");
    net.absorb(&next, outs);
    net.run();
    let rest: Vec<String> = names[1..].to_vec();
    for n in rest.iter().filter(|n| **n != next) {
        assert_eq!(net.node(n).host_nick(), Some("m00"), "{n} followed early");
        assert_eq!(
            net.node(n).transcript().unwrap().epoch,
            1,
            "{n}: generation 1"
        );
    }
    net.advance(5);
    assert!(net.all_alerts().is_empty(), "{:?}", net.all_alerts());
    // Their own evidence (a poll, a bounced line) comes: they follow the kept welcome.
    for n in &rest {
        let outs = net.node(n).peer_gone("m00");
        net.absorb(n, outs);
    }
    net.run();
    for n in &rest {
        assert_eq!(net.node(n).host_nick(), Some(next.as_str()), "{n}");
        assert_eq!(
            net.node(n).transcript().unwrap().epoch,
            2,
            "{n}: generation 2"
        );
    }
    let mut expected = Vec::new();
    for n in &rest {
        let t = format!("{n} after the hand-off");
        net.say(n, &t);
        expected.push((n.clone(), t));
    }
    net.advance(10);
    assert_delivered(&net, &rest, &expected);
    assert!(net.all_alerts().is_empty(), "{:?}", net.all_alerts());
    for n in &rest {
        assert_eq!(
            net.node(n).roster().unwrap().host,
            next,
            "{n}: the new roster"
        );
    }
}

#[test]
fn a_member_cannot_seize_the_room_from_a_live_host() {
    // The successor claims the room while the host is there: it tells its node the host
    // is gone and welcomes the others to generation 2. They have no evidence that the
    // host left: they stay, are told the claim is refused once the host relays again, and
    // the room goes on under its host.
    let (mut net, names) = talked(4);
    let next = net.node("m01").successor().unwrap().to_owned();
    let outs = net.node(&next).peer_gone("m00");
    net.absorb(&next, outs);
    net.run();
    assert!(
        net.node(&next).is_host(),
        "the usurper hosts its own generation"
    );
    let rest: Vec<String> = names[1..].iter().filter(|n| **n != next).cloned().collect();
    for n in &rest {
        assert_eq!(net.node(n).host_nick(), Some("m00"), "{n} followed {next}");
        assert_eq!(net.node(n).transcript().unwrap().epoch, 1, "{n}");
    }
    net.say("m00", "I am still here");
    net.say(&rest[0], "so am I");
    for n in &rest {
        assert_eq!(net.node(n).host_nick(), Some("m00"), "{n}");
        let alerts = net.alerts(n);
        assert!(
            alerts.iter().any(
                |a| matches!(a, Alert::HandOffRefused { claimant, host, .. } if *claimant == next && host == "m00")
            ),
            "{n}: {alerts:?}"
        );
        let texts = net.texts(n);
        assert!(
            texts.contains(&("m00".into(), "I am still here".into())),
            "{n}"
        );
        assert!(texts.contains(&(rest[0].clone(), "so am I".into())), "{n}");
    }
    assert!(net
        .texts("m00")
        .contains(&(rest[0].clone(), "so am I".into())));
}

#[test]
fn a_claim_without_evidence_is_refused_after_the_wait_and_followed_once_the_host_is_gone() {
    // A silent room: the host vanishes and the successor learns it, the others do not
    // (their transport tells them nothing). After `handoff_wait_secs` (30 s) the claim is
    // shown as refused; their evidence, when it comes, still makes them follow it.
    let (mut net, names) = talked(4);
    let next = net.node("m01").successor().unwrap().to_owned();
    net.nodes.remove("m00");
    let outs = net.node(&next).peer_gone("m00");
    net.absorb(&next, outs);
    net.run();
    let rest: Vec<String> = names[1..].iter().filter(|n| **n != next).cloned().collect();
    net.advance(29);
    assert!(net.all_alerts().is_empty(), "{:?}", net.all_alerts());
    net.advance(2);
    for n in &rest {
        assert_eq!(net.node(n).host_nick(), Some("m00"), "{n}");
        assert!(
            net.alerts(n)
                .iter()
                .any(|a| matches!(a, Alert::HandOffRefused { claimant, .. } if *claimant == next)),
            "{n}: {:?}",
            net.alerts(n)
        );
    }
    net.clear_outputs();
    for n in &rest {
        let outs = net.node(n).peer_gone("m00");
        net.absorb(n, outs);
    }
    net.run();
    for n in &names[1..] {
        assert_eq!(net.node(n).host_nick(), Some(next.as_str()), "{n}");
        assert_eq!(net.node(n).transcript().unwrap().epoch, 2, "{n}");
    }
    let mut expected = Vec::new();
    for n in &names[1..] {
        let t = format!("{n} in generation 2");
        net.say(n, &t);
        expected.push((n.clone(), t));
    }
    net.advance(10);
    assert_delivered(&net, &names[1..], &expected);
    assert!(net.all_alerts().is_empty(), "{:?}", net.all_alerts());
}

#[test]
fn a_member_cannot_choose_to_be_the_successor_by_generating_keys() {
    // Mallory generates keys until hers has the lowest fingerprint of all (the lowest of
    // 300 here). Were the successor the lowest fingerprint, she would host next in every
    // room she joins; ordered by a hash of room, generation and fingerprint she is the
    // successor of a room of three about one time in three.
    let mallory = (100..400u64)
        .min_by_key(|i| key(*i).public().fingerprint().0)
        .unwrap() as usize;
    let mut hers = 0;
    let rooms = 8;
    for h in 0..rooms {
        let mut net = Net::new();
        let host = net.add(h, Delivery::Private, |_| {});
        let members = [
            net.add(mallory, Delivery::Private, |_| {}),
            net.add(h + 20, Delivery::Private, |_| {}),
            net.add(h + 40, Delivery::Private, |_| {}),
        ];
        net.act(&host, |n| n.host().unwrap());
        for m in &members {
            let m2 = m.clone();
            net.act(&host, |n| n.invite(&m2).unwrap());
            net.act(m, |n| n.accept().unwrap());
        }
        let next = net.node(&members[1]).successor().unwrap().to_owned();
        if next == members[0] {
            hers += 1;
        }
    }
    assert!(
        hers < rooms,
        "Mallory is the successor of all {rooms} rooms"
    );
}

#[test]
fn a_line_written_while_the_room_has_no_host_waits_for_the_successor_without_alerts() {
    // A member writes just as the host vanishes; its line bounces, so it knows the host is
    // gone, but the successor learns it only 15 s later (its next presence poll): longer
    // than the 12 s relay deadline, which starts again when the successor welcomes us.
    // The line is relayed by the successor, with no alert.
    let (mut net, names) = Net::room(4, Delivery::Private, |_| {});
    net.advance(6);
    let next = successor(&mut net, &names);
    let writer = names[1..].iter().find(|n| **n != next).unwrap().clone();
    net.clear_outputs();
    net.nodes.remove("m00");
    net.say(&writer, "into the void");
    let outs = net.node(&writer).peer_gone("m00");
    net.absorb(&writer, outs);
    net.run();
    net.advance(15);
    // The line takes a few seconds to reach the new host (a paced connection).
    net.hold = Some((writer.clone(), next.clone()));
    let outs = net.node(&next).peer_gone("m00");
    net.absorb(&next, outs);
    net.run();
    // The third member's own poll finds the host gone a little later.
    let third = names[1..]
        .iter()
        .find(|n| **n != next && **n != writer)
        .unwrap()
        .clone();
    net.advance(2);
    let outs = net.node(&third).peer_gone("m00");
    net.absorb(&third, outs);
    net.run();
    net.advance(1);
    net.release();
    net.advance(6);
    let rest: Vec<String> = names[1..].to_vec();
    for n in &rest {
        assert_eq!(net.node(n).host_nick(), Some(next.as_str()), "{n}");
    }
    assert_delivered(&net, &rest, &[(writer.clone(), "into the void".into())]);
    assert!(net.all_alerts().is_empty(), "{:?}", net.all_alerts());
}

#[test]
fn hand_off_follows_the_same_rule_everywhere_even_when_the_new_host_lies() {
    // A member that is not the successor cannot take over: members accept the next
    // generation only from the successor by the roster's hand-off order.
    let (mut net, names) = Net::room(4, Delivery::Private, |_| {});
    let next = successor(&mut net, &names);
    net.act("m00", |h| h.leave().unwrap());
    for n in &names[1..] {
        assert_eq!(net.node(n).host_nick(), Some(next.as_str()));
    }
}

fn thin_room(thin: Thin) -> (Net, Vec<String>) {
    let (mut net, names) = Net::room(3, Delivery::Private, |_| {});
    net.add_thin("dave", thin);
    net.act("m00", |h| h.invite_thin("dave").unwrap());
    assert!(net.node("m01").roster().unwrap().contains("dave"));
    (net, names)
}

fn check_thin(mut net: Net, names: Vec<String>) {
    net.say("m01", "hi dave");
    net.say("m00", "welcome");
    net.thin_say("dave", "m00", "hello everyone");
    net.advance(6);
    let shown: Vec<String> = net.thin_shown["dave"]
        .iter()
        .map(|(_, t)| t.clone())
        .collect();
    assert!(shown.contains(&"<m01> hi dave".to_owned()), "{shown:?}");
    assert!(shown.contains(&"<m00> welcome".to_owned()), "{shown:?}");
    assert!(shown[0].starts_with("[room "), "{shown:?}");
    for n in &names {
        let m = net
            .messages(n)
            .into_iter()
            .find(|m| m.text == "hello everyone")
            .unwrap_or_else(|| panic!("{n} did not get dave's line"));
        assert_eq!(m.sender, "dave");
        let want = if n == "m00" {
            Auth::Session
        } else {
            Auth::HostAttested
        };
        assert_eq!(m.auth, want);
    }
    assert!(net.all_alerts().is_empty(), "{:?}", net.all_alerts());
}

#[test]
fn thin_member_with_a_plain_otr_engine() {
    let (net, names) = thin_room(Thin::Ours(Box::new(engine(40))));
    check_thin(net, names);
}

#[test]
fn thin_member_with_libotr() {
    let lib =
        libotr_harness::LibOtr::with_cached_key("dave", libotr_harness::POLICY_DEFAULT).unwrap();
    let (net, names) = thin_room(Thin::Lib(lib));
    check_thin(net, names);
}

#[test]
fn thin_member_follows_the_hand_off() {
    let (mut net, names) = thin_room(Thin::Ours(Box::new(engine(41))));
    net.say("m01", "before");
    let next = successor(&mut net, &names);
    net.act("m00", |h| h.leave().unwrap());
    net.nodes.remove("m00");
    // The new host opened its own session with dave and told him.
    let shown: Vec<String> = net.thin_shown["dave"]
        .iter()
        .map(|(_, t)| t.clone())
        .collect();
    assert!(
        shown
            .iter()
            .any(|t| t.contains(&format!("{next} hosts the room now"))),
        "{shown:?}"
    );
    net.thin_say("dave", &next, "still here");
    let other = names[1..].iter().find(|n| **n != next).unwrap().clone();
    net.say(&other, "welcome back dave");
    net.advance(6);
    for n in names[1..].iter() {
        assert!(
            net.texts(n).contains(&("dave".into(), "still here".into())),
            "{n}"
        );
    }
    assert!(net.thin_shown["dave"]
        .iter()
        .any(|(from, t)| *from == next && *t == format!("<{other}> welcome back dave")));
    assert!(net.all_alerts().is_empty(), "{:?}", net.all_alerts());
}

/// A room of `n` that has talked a little (pairwise keys in use), outputs cleared.
fn talked(n: usize) -> (Net, Vec<String>) {
    let (mut net, names) = Net::room(n, Delivery::Private, |_| {});
    for m in &names {
        net.say(m, &format!("hello from {m}"));
    }
    net.advance(6);
    assert!(net.all_alerts().is_empty(), "{:?}", net.all_alerts());
    net.clear_outputs();
    (net, names)
}

#[test]
fn a_second_key_under_a_members_nick_can_neither_key_nor_speak_for_it() {
    // Mallory holds another key and sends as m01 (a second instance of that nick). She
    // completes an OTR session with m02 and, inside it, offers m02 a pairwise key for the
    // room, acknowledges it and sends a false digest: m02 drops all of it, the session's
    // key is not the one the roster names for m01. Then the host, her accomplice, relays
    // an altered line of m01's MACed under her key: m02 does not take it for m01's.
    let (mut net, _) = talked(4);
    let room = net.node("m02").room_id().unwrap().clone();
    let group::Transcript { epoch, gseq, .. } = net.node("m02").transcript().unwrap();
    net.add_impostor("m01", engine(66));
    net.impostor("m01", |e| e.start("m02").unwrap());
    assert_eq!(
        net.impostors["m01"].state("m02"),
        ConversationState::Encrypted
    );
    let mut extra = None;
    net.impostor("m01", |e| {
        let (k, events) = e
            .extra_symmetric_key("m02", GROUP_KEY_USAGE, room.as_str().as_bytes())
            .unwrap();
        extra = Some(k);
        events
    });
    let key = PairKey::derive(extra.unwrap().as_bytes(), &room);
    let ack = Envelope::KeyAck {
        room: room.clone(),
        kid: key.kid(),
        from: 1,
    };
    let lie = Envelope::Digest {
        room: room.clone(),
        epoch,
        gseq,
        head: [7; 32],
    };
    net.impostor("m01", |e| e.send("m02", &ack.encode()));
    net.impostor("m01", |e| e.send("m02", &lie.encode()));
    let r = room.clone();
    net.node("m00")
        .set_relay_hook(Some(Box::new(move |to, mut env| {
            if to == "m02" {
                if let Envelope::Relay {
                    epoch,
                    item: Item::Msg(m),
                    mac,
                    ..
                } = &mut env
                {
                    if m.sender == "m01" {
                        m.body = "pay Mallory 1000".into();
                        *mac = Some(key.mac(&r, *epoch, "m01", "m02", m.sseq, m.seen, &m.body));
                    }
                }
            }
            vec![env]
        })));
    net.say("m01", "pay Bob 10");
    net.advance(12);
    let got = net
        .messages("m02")
        .into_iter()
        .find(|m| m.text == "pay Mallory 1000")
        .unwrap();
    assert_ne!(got.auth, Auth::Pairwise, "{got:?}");
    let alerts = net.alerts("m02");
    assert!(
        alerts
            .iter()
            .any(|a| matches!(a, Alert::Forged { sender, .. } if sender == "m01")),
        "{alerts:?}"
    );
    assert!(
        alerts
            .iter()
            .any(|a| matches!(a, Alert::FingerprintMismatch { nick, .. } if nick == "m01")),
        "{alerts:?}"
    );
    // (The altered line itself makes m02's transcript differ from the others' later on,
    // rightly: only Mallory's digest of the earlier number must not count.)
    assert!(
        !alerts.iter().any(
            |a| matches!(a, Alert::Diverged { peer, gseq: g, .. } if peer == "m01" && *g == gseq)
        ),
        "Mallory's digest was taken for m01's: {alerts:?}"
    );
    // m02 still MACs for m01 under their own key: its lines reach m01 authenticated.
    net.node("m00").set_relay_hook(None);
    net.say("m02", "still fine");
    let got = net
        .messages("m01")
        .into_iter()
        .find(|m| m.text == "still fine")
        .unwrap();
    assert_eq!(got.auth, Auth::Pairwise);
}

#[test]
fn a_second_key_under_the_hosts_nick_cannot_relay() {
    // Mallory sends as the host's nick with her own key: her relay is dropped, not shown
    // as the host's line.
    let (mut net, _) = talked(3);
    let room = net.node("m02").room_id().unwrap().clone();
    let group::Transcript { epoch, gseq, .. } = net.node("m02").transcript().unwrap();
    net.add_impostor("m00", engine(67));
    net.impostor("m00", |e| e.start("m02").unwrap());
    let fake = Envelope::Relay {
        room,
        epoch,
        gseq: gseq + 1,
        item: Item::Msg(MsgItem {
            sender: "m00".into(),
            // The host said "hello" (1): this is its next line.
            sseq: 2,
            seen: gseq,
            body: "the host says: vote yes".into(),
        }),
        mac: None,
    };
    net.impostor("m00", |e| e.send("m02", &fake.encode()));
    assert!(
        net.messages("m02")
            .iter()
            .all(|m| m.text != "the host says: vote yes"),
        "{:?}",
        net.messages("m02")
    );
    assert!(net
        .alerts("m02")
        .iter()
        .any(|a| matches!(a, Alert::FingerprintMismatch { nick, .. } if nick == "m00")));
}

#[test]
fn a_roster_naming_another_host_or_another_key_for_the_host_is_rejected() {
    for change_host in [true, false] {
        let (mut net, _) = talked(3);
        let host_fp = net.node("m00").engine().fingerprint();
        net.node("m00")
            .set_relay_hook(Some(Box::new(move |to, mut env| {
                if to == "m02" {
                    if let Envelope::Relay {
                        item: Item::Roster(r),
                        ..
                    } = &mut env
                    {
                        if change_host {
                            r.host = "m01".into();
                        } else if let Some(e) = r.members.iter_mut().find(|e| e.nick == "m00") {
                            e.fingerprint = otr::crypto::Fingerprint([9; 20]);
                        }
                    }
                }
                vec![env]
            })));
        net.add(3, Delivery::Private, |_| {});
        net.act("m00", |h| h.invite("m03").unwrap());
        net.act("m03", |n| n.accept().unwrap());
        let roster = net.node("m02").roster().unwrap().clone();
        assert_eq!(roster.host, "m00", "{roster:?}");
        assert_eq!(roster.entry("m00").unwrap().fingerprint, host_fp);
        assert!(
            !roster.contains("m03"),
            "the rejected roster was not adopted"
        );
        assert!(!net.alerts("m02").is_empty());
    }
}

#[test]
fn a_roster_giving_a_member_another_key_is_flagged_by_that_member() {
    // The host announces to everyone, m01 included, another key for m01: the others would
    // take whoever holds that key for m01, and as their transcripts agree no digest
    // differs. m01 reads its own entry and raises the alert.
    let (mut net, _) = talked(3);
    net.node("m00").set_relay_hook(Some(Box::new(|_, mut env| {
        if let Envelope::Relay {
            item: Item::Roster(r),
            ..
        } = &mut env
        {
            if let Some(e) = r.members.iter_mut().find(|e| e.nick == "m01") {
                e.fingerprint = otr::crypto::Fingerprint([9; 20]);
            }
        }
        vec![env]
    })));
    net.add(3, Delivery::Private, |_| {});
    net.act("m00", |h| h.invite("m03").unwrap());
    net.act("m03", |n| n.accept().unwrap());
    let alerts = net.alerts("m01");
    assert!(
        alerts.iter().any(|a| matches!(
            a,
            Alert::FingerprintMismatch { nick, actual, .. }
                if nick == "m01" && actual.0 == [9; 20]
        )),
        "{alerts:?}"
    );
}
