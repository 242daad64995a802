//! A malicious host (the node's relay hook as a test double) that drops, reorders, alters,
//! invents, equivocates or misattributes is caught, each time with the alert that names
//! it, within the stated bound: at once for what MACs and counters show, within
//! `checkpoint_every` items or `checkpoint_secs` seconds for what digests show, and within
//! `deadline_secs` for what never arrives.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use group::envelope::{Envelope, Item, MsgItem};
use group::{Alert, Auth, Delivery, Divergence, ForgeReason};
use support::Net;

/// A 4-member room (host m00) that has talked a little, so pairwise keys are in use.
fn room() -> (Net, Vec<String>) {
    let (mut net, names) = Net::room(4, Delivery::Private, |_| {});
    for n in &names {
        net.say(n, &format!("hello from {n}"));
    }
    net.advance(6);
    assert!(net.all_alerts().is_empty(), "{:?}", net.all_alerts());
    net.clear_outputs();
    (net, names)
}

fn hook(net: &mut Net, f: impl FnMut(&str, Envelope) -> Vec<Envelope> + Send + 'static) {
    net.node("m00").set_relay_hook(Some(Box::new(f)));
}

fn msg_of(env: &Envelope) -> Option<&MsgItem> {
    match env {
        Envelope::Relay {
            item: Item::Msg(m), ..
        } => Some(m),
        _ => None,
    }
}

fn msg_mut(env: &mut Envelope) -> Option<&mut MsgItem> {
    match env {
        Envelope::Relay {
            item: Item::Msg(m), ..
        } => Some(m),
        _ => None,
    }
}

#[test]
fn altered_message_is_caught_at_once() {
    let (mut net, _) = room();
    hook(&mut net, |to, mut env| {
        if to == "m02" {
            if let Some(m) = msg_mut(&mut env) {
                if m.sender == "m01" {
                    m.body = "send the money to Mallory".into();
                }
            }
        }
        vec![env]
    });
    net.say("m01", "do not send money");
    let alerts = net.alerts("m02");
    assert!(
        matches!(&alerts[..], [Alert::Forged { sender, reason: ForgeReason::BadMac, .. }] if sender == "m01"),
        "{alerts:?}"
    );
    println!("m02 sees: {}", alerts[0]);
    assert!(net.alerts("m03").is_empty());
}

#[test]
fn misattributed_message_names_the_real_sender() {
    let (mut net, _) = room();
    hook(&mut net, |to, mut env| {
        if to == "m02" {
            if let Some(m) = msg_mut(&mut env) {
                if m.sender == "m01" {
                    m.sender = "m03".into();
                }
            }
        }
        vec![env]
    });
    net.say("m01", "I resign");
    let alerts = net.alerts("m02");
    assert!(
        alerts.iter().any(|a| matches!(a, Alert::Misattributed { claimed, actual, .. } if claimed == "m03" && actual == "m01")),
        "{alerts:?}"
    );
}

#[test]
fn invented_message_is_caught() {
    let (mut net, _) = room();
    // The host invents a line in m01's name for m02 (with m01's next counter).
    let mut done = false;
    hook(&mut net, move |to, env| {
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
        let fake = Envelope::Relay {
            room: room.clone(),
            epoch: *epoch,
            gseq: gseq + 1,
            item: Item::Msg(MsgItem {
                sender: "m01".into(),
                sseq: 2,
                seen: *gseq,
                body: "let's meet without m03".into(),
            }),
            mac: None,
        };
        vec![env, fake]
    });
    net.say("m00", "agenda?");
    let alerts = net.alerts("m02");
    assert!(
        alerts.iter().any(|a| matches!(a, Alert::Forged { sender, reason: ForgeReason::MissingMac, .. } if sender == "m01")),
        "{alerts:?}"
    );
}

#[test]
fn message_in_the_senders_own_name_is_caught_by_the_sender() {
    let (mut net, _) = room();
    hook(&mut net, |to, mut env| {
        if to == "m01" {
            if let Some(m) = msg_mut(&mut env) {
                if m.sender == "m01" {
                    m.body = "something else".into();
                }
            }
        }
        vec![env]
    });
    net.say("m01", "original");
    assert!(
        net.alerts("m01").iter().any(|a| matches!(
            a,
            Alert::Forged {
                reason: ForgeReason::NotOurs,
                ..
            }
        )),
        "{:?}",
        net.alerts("m01")
    );
}

#[test]
fn reordered_messages_of_one_sender_are_caught() {
    let (mut net, _) = room();
    let mut held: Option<Envelope> = None;
    hook(&mut net, move |to, env| {
        if to != "m02" || msg_of(&env).is_none_or(|m| m.sender != "m01") {
            return vec![env];
        }
        match held.take() {
            None => {
                held = Some(env);
                vec![]
            }
            Some(mut first) => {
                // Swap the transcript numbers of m01's two lines.
                let mut second = env;
                if let (Envelope::Relay { gseq: g1, .. }, Envelope::Relay { gseq: g2, .. }) =
                    (&mut first, &mut second)
                {
                    std::mem::swap(g1, g2);
                }
                vec![second, first]
            }
        }
    });
    net.say("m01", "first");
    net.say("m01", "second");
    let alerts = net.alerts("m02");
    assert!(
        alerts
            .iter()
            .any(|a| matches!(a, Alert::Reordered { sender, .. } if sender == "m01")),
        "{alerts:?}"
    );
}

#[test]
fn dropped_message_is_caught_within_the_deadline() {
    let (mut net, _) = room();
    let mut victim_gseq = None;
    hook(&mut net, move |to, env| {
        if to == "m02" {
            if let Envelope::Relay {
                gseq,
                item: Item::Msg(m),
                ..
            } = &env
            {
                if m.body == "secret plan" {
                    victim_gseq = Some(*gseq);
                }
                if Some(*gseq) == victim_gseq {
                    return vec![];
                }
            }
        }
        vec![env]
    });
    net.say("m01", "secret plan");
    net.say("m03", "agreed");
    assert!(net.alerts("m02").is_empty());
    // Resend requests are refused (dropped again) until the deadline (12 s).
    net.advance(13);
    let alerts = net.alerts("m02");
    assert!(
        alerts
            .iter()
            .any(|a| matches!(a, Alert::Dropped { from, to, .. } if from == to)),
        "{alerts:?}"
    );
}

#[test]
fn last_message_withheld_is_caught_through_a_digest() {
    let (mut net, _) = room();
    hook(&mut net, |to, env| {
        if to == "m02" && msg_of(&env).is_some_and(|m| m.body == "the last word") {
            return vec![];
        }
        vec![env]
    });
    net.say("m01", "the last word");
    // Nothing follows: m02 learns from a neighbour's digest (within checkpoint_secs = 5 s)
    // that it is behind, then asks and is refused until the deadline.
    net.advance(5 + 12 + 2);
    let alerts = net.alerts("m02");
    assert!(
        alerts.iter().any(|a| matches!(a, Alert::Dropped { .. })),
        "{alerts:?} / all: {:?}",
        net.all_alerts()
    );
}

#[test]
fn host_that_stops_relaying_is_caught_by_the_sender() {
    let (mut net, _) = room();
    hook(&mut net, |_, env| {
        if msg_of(&env).is_some_and(|m| m.sender == "m01") {
            return vec![];
        }
        vec![env]
    });
    net.say("m01", "anyone?");
    net.advance(13);
    assert!(
        net.alerts("m01")
            .iter()
            .any(|a| matches!(a, Alert::NotRelayed { text, .. } if text == "anyone?")),
        "{:?}",
        net.alerts("m01")
    );
}

#[test]
fn equivocating_host_is_caught_by_digests() {
    let (mut net, _) = room();
    // The host tells m02 something else than everyone else, in its own name (no MAC
    // can catch that: only comparing transcripts does).
    hook(&mut net, |to, mut env| {
        if to == "m02" {
            if let Some(m) = msg_mut(&mut env) {
                if m.sender == "m00" {
                    m.body = "the meeting is cancelled".into();
                }
            }
        }
        vec![env]
    });
    net.say("m00", "the meeting is at 5");
    // Within checkpoint_secs (5 s) of the transcript moving.
    net.advance(6);
    let diverged: Vec<_> = net
        .all_alerts()
        .into_iter()
        .filter(|(_, a)| matches!(a, Alert::Diverged { .. }))
        .collect();
    assert!(!diverged.is_empty(), "{:?}", net.all_alerts());
    // Each member compares with two others, so the alerts agree on who was shown another
    // conversation: m02 learns it was (both its neighbours differ), the others that m02
    // differs while their other neighbour matches them.
    for (n, a) in &diverged {
        let Alert::Diverged { peer, verdict, .. } = a else {
            unreachable!()
        };
        if n == "m02" {
            assert!(matches!(verdict, Divergence::Us { .. }), "{n}: {a}");
        } else {
            assert_eq!(peer, "m02", "{n}: {a}");
            assert!(matches!(verdict, Divergence::Peer { .. }), "{n}: {a}");
        }
    }
    assert!(diverged.iter().any(|(n, _)| n == "m02"));
    assert!(diverged.iter().any(|(n, _)| n != "m02"));
}

#[test]
fn a_member_lying_about_its_transcript_cannot_make_the_others_blame_the_host() {
    // The host is honest; m01 sends its neighbours a digest of a conversation that never
    // happened. They see m01's word against their other neighbour's, and the alert says
    // m01's transcript is the odd one, not theirs.
    let (mut net, names) = room();
    net.say("m02", "an ordinary line");
    net.advance(6);
    assert!(net.all_alerts().is_empty(), "{:?}", net.all_alerts());
    let room_id = net.node("m01").room_id().unwrap().clone();
    let group::Transcript { epoch, gseq, .. } = net.node("m01").transcript().unwrap();
    let lie = Envelope::Digest {
        room: room_id,
        epoch,
        gseq,
        head: [7; 32],
    };
    for n in names.iter().filter(|n| *n != "m00" && *n != "m01") {
        net.send_private("m01", n, &lie.encode());
    }
    net.advance(6);
    let alerts = net.all_alerts();
    // Both of m01's neighbours noticed, once each.
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    for (n, a) in &alerts {
        match a {
            Alert::Diverged {
                peer,
                verdict: Divergence::Peer { witnesses },
                ..
            } => {
                assert_eq!(peer, "m01", "{n}: {a}");
                assert!(!witnesses.is_empty() && !witnesses.contains(peer));
                assert!(a.to_string().contains("m01 misreports"), "{a}");
            }
            other => panic!("{n}: {other}"),
        }
    }
}

#[test]
fn equivocation_is_caught_within_checkpoint_every_items() {
    let (mut net, _) = room();
    hook(&mut net, |to, mut env| {
        if to == "m03" {
            if let Some(m) = msg_mut(&mut env) {
                if m.sender == "m00" && m.body == "x" {
                    m.body = "y".into();
                }
            }
        }
        vec![env]
    });
    net.say("m00", "x");
    // No time passes; 8 more items reach everyone.
    for i in 0..8 {
        net.say("m00", &format!("filler {i}"));
    }
    assert!(
        net.all_alerts()
            .iter()
            .any(|(_, a)| matches!(a, Alert::Diverged { .. })),
        "{:?}",
        net.all_alerts()
    );
}

#[test]
fn misattribution_without_pairwise_keys_is_caught_by_digests() {
    let (mut net, names) = Net::room(4, Delivery::Private, |c| c.pairwise_macs = false);
    for n in &names {
        net.say(n, "hi");
    }
    net.advance(6);
    net.clear_outputs();
    hook(&mut net, |to, mut env| {
        if to != "m01" {
            if let Some(m) = msg_mut(&mut env) {
                if m.sender == "m01" {
                    m.sender = "m03".into();
                }
            }
        }
        vec![env]
    });
    net.say("m01", "vote no");
    net.advance(6);
    assert!(!net.all_alerts().is_empty(), "nothing caught");
}

#[test]
fn equivocation_and_alteration_caught_in_rooms_of_10_and_50() {
    for n in [10usize, 50] {
        // 50 members without the MAC mesh: digests alone.
        let (mut net, names) = Net::room(n, Delivery::Private, |c| c.pairwise_macs = n <= 10);
        net.say(&names[1], "hello");
        net.advance(6);
        assert!(net.all_alerts().is_empty(), "{:?}", net.all_alerts());
        let victim = names[n / 2].clone();
        hook(&mut net, move |to, mut env| {
            if to == victim {
                if let Some(m) = msg_mut(&mut env) {
                    m.body = format!("{} (altered)", m.body);
                }
            }
            vec![env]
        });
        net.say(&names[1], "the vote is at noon");
        if n <= 10 {
            // With pairwise keys the victim sees it at once.
            assert!(net.alerts(&names[n / 2]).iter().any(|a| matches!(
                a,
                Alert::Forged {
                    reason: ForgeReason::BadMac,
                    ..
                }
            )));
        }
        net.advance(6);
        let diverged = net
            .all_alerts()
            .into_iter()
            .filter(|(_, a)| matches!(a, Alert::Diverged { .. }))
            .count();
        assert!(diverged > 0, "{n} members: {:?}", net.all_alerts());
    }
}

#[test]
fn a_sender_counter_at_u64_max_is_rejected_and_the_room_goes_on() {
    // The host relays m01's line to m02 with m01's counter set to u64::MAX. The line is
    // rejected (its MAC covers the counter), nothing panics, and m01's later lines are
    // shown authenticated again.
    let (mut net, _) = room();
    hook(&mut net, |to, mut env| {
        if to == "m02" {
            if let Some(m) = msg_mut(&mut env) {
                if m.sender == "m01" && m.body == "one" {
                    m.sseq = u64::MAX;
                }
            }
        }
        vec![env]
    });
    net.say("m01", "one");
    assert!(
        net.alerts("m02").iter().any(|a| matches!(
            a,
            Alert::Forged { sender, reason: ForgeReason::BadMac, .. } if sender == "m01"
        )),
        "{:?}",
        net.alerts("m02")
    );
    net.say("m01", "two");
    net.say("m01", "three");
    for m in net.messages("m02") {
        if m.text == "one" {
            assert_eq!(m.auth, Auth::Failed, "{m:?}");
        }
    }
    let three = net
        .messages("m02")
        .into_iter()
        .find(|m| m.text == "three")
        .expect("m02 shows m01's later line");
    assert_eq!(three.auth, Auth::Pairwise);
    for n in ["m01", "m03"] {
        assert!(net.alerts(n).is_empty(), "{n}: {:?}", net.alerts(n));
    }
}

#[test]
fn a_transcript_number_at_u64_max_is_rejected_and_the_room_goes_on() {
    // The host adds a copy of a line at transcript number u64::MAX for m02. It is refused
    // as out of range (no gap to wait for, no jump of the transcript), and the room goes on.
    let (mut net, _) = room();
    let mut done = false;
    hook(&mut net, move |to, env| {
        if to != "m02" || done || msg_of(&env).is_none() {
            return vec![env];
        }
        done = true;
        let mut copy = env.clone();
        if let Envelope::Relay { gseq, .. } = &mut copy {
            *gseq = u64::MAX;
        }
        vec![env, copy]
    });
    net.say("m00", "x");
    assert!(
        net.alerts("m02").iter().any(|a| matches!(
            a,
            Alert::OutOfRange {
                value: u64::MAX,
                ..
            }
        )),
        "{:?}",
        net.alerts("m02")
    );
    net.advance(13);
    net.say("m01", "still here");
    let got = net
        .messages("m02")
        .into_iter()
        .find(|m| m.text == "still here")
        .expect("m02 shows m01's line");
    assert_eq!(got.auth, Auth::Pairwise);
    assert!(
        !net.alerts("m02")
            .iter()
            .any(|a| matches!(a, Alert::Dropped { .. } | Alert::Replayed { .. })),
        "{:?}",
        net.alerts("m02")
    );
}

#[test]
fn a_generation_at_u64_max_is_rejected_without_panic() {
    // The host shows a newcomer the room as generation u64::MAX, then leaves: the next
    // generation's number would overflow. The welcome is refused; the others hand off.
    let (mut net, names) = room();
    net.add(4, Delivery::Private, |_| {});
    hook(&mut net, |to, mut env| {
        if to == "m04" {
            if let Envelope::Welcome { epoch, .. } | Envelope::Relay { epoch, .. } = &mut env {
                *epoch = u64::MAX;
            }
        }
        vec![env]
    });
    net.act("m00", |h| h.invite("m04").unwrap());
    net.act("m04", |n| n.accept().unwrap());
    assert!(
        net.alerts("m04").iter().any(|a| matches!(
            a,
            Alert::OutOfRange {
                value: u64::MAX,
                ..
            }
        )),
        "{:?}",
        net.alerts("m04")
    );
    assert!(net.node("m04").transcript().is_none(), "not in the room");
    net.act("m00", |h| h.leave().unwrap());
    net.nodes.remove("m00");
    for n in &names[1..] {
        assert_eq!(
            net.node(n).transcript().unwrap().epoch,
            2,
            "{n}: generation 2"
        );
    }
}

#[test]
fn a_line_withheld_in_one_generation_and_replayed_in_the_next_does_not_verify() {
    // The old host withholds W's line from everyone and keeps the copy carrying W's MAC
    // for R; the successor, in league with it, puts that copy into the next generation
    // where W's counter and the transcript position fit. The MAC covers the generation,
    // so R does not take it for W's.
    let (mut net, names) = room();
    let next = net.node("m01").successor().unwrap().to_owned();
    let others: Vec<String> = names[1..].iter().filter(|n| **n != next).cloned().collect();
    let (w, r) = (others[0].clone(), others[1].clone());
    let kept = std::sync::Arc::new(std::sync::Mutex::new(None::<Envelope>));
    let keep = kept.clone();
    let r2 = r.clone();
    hook(&mut net, move |to, env| {
        if msg_of(&env).is_some_and(|m| m.body == "yes, transfer it") {
            if to == r2 {
                *keep.lock().unwrap() = Some(env);
            }
            return vec![];
        }
        vec![env]
    });
    net.say(&w, "yes, transfer it");
    net.advance(13);
    let captured = kept
        .lock()
        .unwrap()
        .clone()
        .expect("the host kept W's line");
    // The host leaves; everyone follows the successor into generation 2.
    net.act("m00", |h| h.leave().unwrap());
    net.nodes.remove("m00");
    for n in &names[1..] {
        let outs = net.node(n).peer_gone("m00");
        net.absorb(n, outs);
    }
    net.run();
    assert!(net.node(&next).is_host());
    net.clear_outputs();
    // The successor's line "filler 9" to R becomes the withheld line, at the same number.
    let r3 = r.clone();
    net.node(&next)
        .set_relay_hook(Some(Box::new(move |to, env| {
            if to == r3 && msg_of(&env).is_some_and(|m| m.body == "filler 9") {
                let Envelope::Relay { gseq, .. } = &env else {
                    return vec![env];
                };
                let mut replay = captured.clone();
                if let Envelope::Relay { epoch, gseq: g, .. } = &mut replay {
                    *epoch = 2;
                    *g = *gseq;
                }
                return vec![replay];
            }
            vec![env]
        })));
    for i in 0..10 {
        net.say(&next, &format!("filler {i}"));
    }
    let replayed = net
        .messages(&r)
        .into_iter()
        .find(|m| m.text == "yes, transfer it")
        .expect("R was shown the replayed line");
    assert_eq!(replayed.epoch, 2);
    assert_ne!(replayed.auth, Auth::Pairwise, "{replayed:?}");
    assert!(
        net.alerts(&r).iter().any(|a| matches!(
            a,
            Alert::Forged { sender, reason: ForgeReason::BadMac, .. } if *sender == w
        )),
        "{:?}",
        net.alerts(&r)
    );
}
