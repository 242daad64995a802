//! An honest host on the embedded network: every member sees the same conversation, senders
//! are authenticated end to end, and nothing raises an alert, with and without line loss.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use group::{Auth, Delivery, Output, SecurityLevel};
use support::{assert_delivered, Net, CHANNEL};

fn converse(net: &mut Net, names: &[String], rounds: usize) -> Vec<(String, String)> {
    let mut expected = Vec::new();
    for r in 0..rounds {
        for n in names {
            let text = format!("{n} says {r}");
            net.say(n, &text);
            expected.push((n.clone(), text));
        }
    }
    expected
}

#[test]
fn three_members_private_delivery() {
    let (mut net, names) = Net::room(3, Delivery::Private, |_| {});
    let expected = converse(&mut net, &names, 4);
    net.advance(10);
    assert_delivered(&net, &names, &expected);
    assert!(net.all_alerts().is_empty(), "{:?}", net.all_alerts());
    // Members authenticate each other end to end; the host by its session; own echoes.
    for m in net.messages("m01") {
        let want = match m.sender.as_str() {
            "m00" => Auth::Session,
            "m01" => Auth::Own,
            _ => Auth::Pairwise,
        };
        assert_eq!(m.auth, want, "{m:?}");
    }
    // The room state is private for everyone.
    for n in &names {
        let info = net.node(n).info().unwrap();
        assert_eq!(info.level, SecurityLevel::Private);
        assert_eq!(info.host, "m00");
    }
    // The roster carries every member's real fingerprint.
    let fps: Vec<_> = names
        .iter()
        .map(|n| net.node(n).engine().fingerprint())
        .collect();
    let roster = net.node("m02").roster().unwrap().clone();
    for (n, fp) in names.iter().zip(fps) {
        assert_eq!(roster.entry(n).unwrap().fingerprint, fp);
    }
}

#[test]
fn three_members_in_a_channel_with_tags() {
    let (mut net, names) = Net::room(3, Delivery::Channel(CHANNEL.into()), |_| {});
    net.record_wire = true;
    let expected = converse(&mut net, &names, 2);
    net.advance(6);
    assert_delivered(&net, &names, &expected);
    assert!(net.all_alerts().is_empty(), "{:?}", net.all_alerts());
    // Host-member lines are tagged in the channel; members discard lines for others.
    let tagged = net
        .wire
        .iter()
        .filter(|(_, t, l)| matches!(t, group::Target::Channel(_)) && l.starts_with("?RECV?"))
        .count();
    assert!(tagged > 0);
    assert!(names
        .iter()
        .skip(1)
        .all(|n| net.node(n).stats().discarded > 0));
    // No typed text on the wire.
    for (_, _, line) in &net.wire {
        assert!(!line.contains("says"), "{line}");
    }
}

#[test]
fn ten_members_honest() {
    let (mut net, names) = Net::room(10, Delivery::Private, |_| {});
    let expected = converse(&mut net, &names, 2);
    net.advance(10);
    assert_delivered(&net, &names, &expected);
    assert!(net.all_alerts().is_empty(), "{:?}", net.all_alerts());
}

#[test]
fn fifty_members_honest_without_pairwise_macs() {
    // 50 members: pairwise keys for everyone would be 1,176 key exchanges; here the
    // transcript digests alone guard the room, over sessions with ring neighbours only.
    let (mut net, names) = Net::room(50, Delivery::Private, |c| c.pairwise_macs = false);
    let speakers: Vec<String> = names.iter().step_by(7).cloned().collect();
    let expected = converse(&mut net, &speakers, 2);
    net.advance(10);
    assert_delivered(&net, &names, &expected);
    assert!(net.all_alerts().is_empty(), "{:?}", net.all_alerts());
}

#[test]
fn honest_host_under_line_loss_raises_no_alarm() {
    let (mut net, names) = Net::room(5, Delivery::Private, |_| {});
    net.seed_loss(31, 0.05);
    let mut expected = Vec::new();
    for r in 0..6 {
        for n in &names {
            let text = format!("{n}:{r}");
            net.say(n, &text);
            expected.push((n.clone(), text));
            net.advance(1);
        }
    }
    net.loss = 0.0;
    net.advance(20);
    assert!(net.all_alerts().is_empty(), "{:?}", net.all_alerts());
    // Everyone shows everything exactly once, in the host's order.
    let host_order = net.texts("m00");
    let mut sorted_host = host_order.clone();
    sorted_host.sort();
    expected.sort();
    assert_eq!(sorted_host, expected);
    assert_delivered(&net, &names, &host_order);
}

#[test]
fn room_state_lines_are_emitted() {
    let (net, _) = Net::room(2, Delivery::Private, |_| {});
    let infos: Vec<_> = net.outputs["m01"]
        .iter()
        .filter_map(|o| match o {
            Output::Info(i) => Some(i.to_line()),
            _ => None,
        })
        .collect();
    assert!(
        infos.last().unwrap().ends_with("?HOST?m00\t?STAT?2"),
        "{infos:?}"
    );
    assert!(infos.last().unwrap().starts_with("?AC?m01\t?CID?"));
}

#[test]
fn wire_cost_private_is_linear_channel_broadcast_is_quadratic() {
    for n in [3usize, 10] {
        let cost = |delivery: Delivery| {
            let (mut net, names) = Net::room(n, delivery, |c| {
                c.checkpoint_every = u64::MAX;
                c.checkpoint_secs = f64::INFINITY;
            });
            net.say(&names[1], "warm-up");
            let (l0, d0) = (net.lines, net.deliveries);
            net.say(&names[1], "one group message");
            (net.lines - l0, net.deliveries - d0)
        };
        // The sender's line to the host, then one line per member (the echo included).
        let (lines, deliveries) = cost(Delivery::Private);
        assert_eq!((lines, deliveries), (n as u64, n as u64));
        // The same lines in the channel, each delivered to every other member.
        let (lines, deliveries) = cost(Delivery::Channel(CHANNEL.into()));
        assert_eq!((lines, deliveries), (n as u64, (n * (n - 1)) as u64));
        println!(
            "{n} members: private {n} deliveries, channel {} deliveries",
            n * (n - 1)
        );
    }
}

#[test]
fn fifty_members_with_the_full_pairwise_mac_mesh() {
    // Every member derives a key with every other: 1,176 member-member key exchanges.
    let (mut net, names) = Net::room(50, Delivery::Private, |_| {});
    let speakers: Vec<String> = names.iter().step_by(12).cloned().collect();
    let expected = converse(&mut net, &speakers, 1);
    net.advance(6);
    assert_delivered(&net, &names, &expected);
    assert!(net.all_alerts().is_empty(), "{:?}", net.all_alerts());
    // Lines between members are authenticated end to end.
    let pairwise = net
        .messages("m49")
        .iter()
        .filter(|m| m.auth == Auth::Pairwise)
        .count();
    assert_eq!(pairwise, speakers.len() - 1, "all but the host's line");
}

#[test]
fn a_key_offer_that_beats_the_roster_is_answered_when_the_roster_comes() {
    // The host's roster reaches one member late (the host's line to it is slow), so the
    // newcomer's pairwise key offer arrives first. The offer is kept and answered as soon
    // as the roster names the newcomer, not at the newcomer's retry seconds later.
    let mut net = Net::new();
    let names: Vec<String> = (0..3)
        .map(|i| net.add(i, Delivery::Private, |_| {}))
        .collect();
    let fp = |net: &mut Net, n: &str| net.node(n).engine().fingerprint().0;
    // The newcomer must be the initiator (lower fingerprint) for the race to exist.
    let (early, late) = if fp(&mut net, &names[1]) > fp(&mut net, &names[2]) {
        (names[2].clone(), names[1].clone())
    } else {
        (names[1].clone(), names[2].clone())
    };
    let host = names[0].clone();
    net.act(&host, |h| h.host().unwrap());
    let l = late.clone();
    net.act(&host, |h| h.invite(&l).unwrap());
    net.act(&late, |n| n.accept().unwrap());
    net.hold = Some((host.clone(), late.clone()));
    let e = early.clone();
    net.act(&host, |h| h.invite(&e).unwrap());
    net.act(&early, |n| n.accept().unwrap());
    assert!(
        !net.node(&late).roster().unwrap().contains(&early),
        "the roster naming the newcomer is still on its way"
    );
    net.release();
    // No time passes: the answer to the kept offer is what makes the key.
    net.say(&early, "first words");
    let got = net
        .messages(&late)
        .into_iter()
        .find(|m| m.text == "first words")
        .unwrap();
    assert_eq!(got.sender, early);
    assert_eq!(got.auth, Auth::Pairwise);
    assert!(net.all_alerts().is_empty(), "{:?}", net.all_alerts());
}

#[test]
fn members_start_each_of_their_sessions_once() {
    // Between two full members, the one with the lower fingerprint starts the OTR session
    // (it derives their pairwise key); the other waits for it rather than start a second
    // exchange, which over a slow network collides with the first and restarts it. Here
    // the lowest member hears of the others late (the host's lines to it are slow), while
    // the others already write digests to it.
    let mut net = Net::new();
    net.record_wire = true;
    let names: Vec<String> = (0..4)
        .map(|i| net.add(i, Delivery::Private, |_| {}))
        .collect();
    let host = names[0].clone();
    let mut members: Vec<String> = names[1..].to_vec();
    members.sort_by_key(|n| net.node(n).engine().fingerprint().0);
    let lowest = members[0].clone();
    net.act(&host, |h| h.host().unwrap());
    let l = lowest.clone();
    net.act(&host, |h| h.invite(&l).unwrap());
    net.act(&lowest, |n| n.accept().unwrap());
    net.hold = Some((host.clone(), lowest.clone()));
    for m in &members[1..] {
        let m2 = m.clone();
        net.act(&host, |h| h.invite(&m2).unwrap());
        net.act(m, |node| node.accept().unwrap());
    }
    for m in &members[1..] {
        net.say(m, &format!("hello from {m}"));
    }
    net.advance(6);
    net.release();
    net.advance(10);
    for n in &names {
        net.say(n, &format!("again from {n}"));
    }
    net.advance(10);
    assert!(net.all_alerts().is_empty(), "{:?}", net.all_alerts());
    let fp = |net: &mut Net, n: &str| net.node(n).engine().fingerprint().0;
    for (i, a) in members.iter().enumerate() {
        for b in &members[i + 1..] {
            let queries: Vec<&String> = net
                .wire
                .iter()
                .filter(|(from, to, line)| {
                    let group::Target::Private(to) = to else {
                        return false;
                    };
                    ((from == a && to == b) || (from == b && to == a)) && line.starts_with("?OTRv")
                })
                .map(|(from, _, _)| from)
                .collect();
            assert_eq!(
                queries,
                vec![a],
                "between {a} and {b}, {a} (lower) starts, once"
            );
            assert!(fp(&mut net, a) < fp(&mut net, b));
            assert!(net.node(a).pairwise_ready(b) && net.node(b).pairwise_ready(a));
        }
    }
}

#[test]
fn private_members_follow_the_hosts_channel_through_a_hand_off() {
    // Everyone is configured for private messages; the host opens its room in a channel
    // and the invitation tells the members, who use the channel for this room only.
    let mut net = Net::new();
    let names: Vec<String> = (0..4)
        .map(|i| net.add(i, Delivery::Private, |_| {}))
        .collect();
    // An eavesdropper sits in the channel (the embedded network fans channel lines out to
    // every node) and is never invited.
    let eve = net.add(9, Delivery::Private, |_| {});
    let room_delivery = Delivery::Channel(CHANNEL.into());
    net.act("m00", |h| h.host_in(CHANNEL).unwrap());
    assert_eq!(net.node("m00").delivery(), room_delivery);
    for m in &names[1..] {
        let m2 = m.clone();
        net.act("m00", |h| h.invite(&m2).unwrap());
        assert!(
            net.outputs[m].iter().any(|o| matches!(
                o,
                Output::Invited { channel: Some(c), .. } if c == CHANNEL
            )),
            "{m} was told the channel"
        );
        assert_eq!(net.node(m).delivery(), room_delivery);
        net.act(m, |node| node.accept().unwrap());
    }
    net.advance(1);
    net.record_wire = true;
    let expected = converse(&mut net, &names, 2);
    net.advance(6);
    assert_delivered(&net, &names, &expected);
    assert!(net.all_alerts().is_empty(), "{:?}", net.all_alerts());
    // Every line between the host and a member went to the channel, tagged.
    let host_lines = |net: &Net, host: &str| {
        net.wire
            .iter()
            .filter(|(f, t, _)| f == host || *t == group::Target::Private(host.to_owned()))
            .cloned()
            .collect::<Vec<_>>()
    };
    let lines = host_lines(&net, "m00");
    assert!(!lines.is_empty());
    for (_, t, l) in &lines {
        assert_eq!(*t, group::Target::Channel(CHANNEL.into()), "{l}");
        assert!(group::envelope::untag(l).is_some(), "{l}");
    }
    // The eavesdropper discarded what it saw and learnt nothing.
    assert!(net.node(&eve).stats().discarded > 0);
    assert!(net.messages(&eve).is_empty());
    for (_, _, line) in &net.wire {
        assert!(!line.contains("says") && !line.contains("?GRP"), "{line}");
    }

    // The host leaves: the room hands off and goes on in the same channel.
    let next = net.node("m01").successor().unwrap().to_owned();
    net.act("m00", |h| h.leave().unwrap());
    assert_eq!(
        net.node("m00").delivery(),
        Delivery::Private,
        "back to configured"
    );
    net.nodes.remove("m00");
    let rest: Vec<String> = names[1..].to_vec();
    assert!(net.node(&next).is_host());
    assert_eq!(net.node(&next).delivery(), room_delivery);
    net.clear_outputs();
    net.wire.clear();
    let mut expected = Vec::new();
    for n in &rest {
        let t = format!("{n} says after the hand-off");
        net.say(n, &t);
        expected.push((n.clone(), t));
    }
    net.advance(10);
    assert_delivered(&net, &rest, &expected);
    assert!(net.all_alerts().is_empty(), "{:?}", net.all_alerts());
    let lines = host_lines(&net, &next);
    assert!(!lines.is_empty());
    for (_, t, l) in &lines {
        assert_eq!(*t, group::Target::Channel(CHANNEL.into()), "{l}");
        assert!(group::envelope::untag(l).is_some(), "{l}");
    }
    for (_, _, line) in &net.wire {
        assert!(!line.contains("says"), "{line}");
    }
    // A member that leaves returns to its configured delivery.
    let last = rest.iter().find(|n| **n != next).unwrap().clone();
    net.act(&last, |m| m.leave().unwrap());
    assert_eq!(net.node(&last).delivery(), Delivery::Private);
}
