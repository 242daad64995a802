//! Group rooms through a real ngircd on 127.0.0.1 with its default flood control (every
//! participant a `Node` behind its own paced IRC transport), beyond the plain private
//! rooms of `ngircd.rs`:
//!
//! - the paper's channel mode: every host-member line goes to the IRC channel with the
//!   `?RECV?`/`?SEND?` tags; an eavesdropper in the channel sees only tagged OTR lines;
//! - host hand-off: the host's connection drops (its socket closed under it), the members
//!   learn it from the server's QUIT as the chat client does (`Node::peer_gone`), and the
//!   room goes on under the successor (the room's hand-off order);
//! - a malicious host (its relay hook) altering one line and dropping another: the
//!   recipient raises the alert that names each, over the real server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::needless_range_loop
)]

mod ngircd_support;
#[path = "../../../crates/group/tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use group::envelope::{untag, Envelope, Item};
use group::{Alert, Auth, Delivery, ForgeReason};
use ngircd_harness::{Ngircd, Observer, Options, Tap};
use ngircd_support::{Room, Spec};
use support::nick;

const CHANNEL: &str = "#room";
const LIMIT: Duration = Duration::from_secs(120);

/// A PRIVMSG line as a client receives it: (sender nick, target, text).
fn privmsg(line: &str) -> Option<(&str, &str, &str)> {
    let rest = line.strip_prefix(':')?;
    let (prefix, rest) = rest.split_once(' ')?;
    let rest = rest.strip_prefix("PRIVMSG ")?;
    let (target, text) = rest.split_once(" :")?;
    Some((prefix.split('!').next()?, target, text))
}

/// True if the OTR line `payload` starts an OTR message: it is whole, or the first of its
/// fragments (`?OTR|s|r,k,n,…,` in v3, `?OTR,k,n,…,` in v2).
fn starts_message(payload: &str) -> bool {
    let k = if let Some(rest) = payload.strip_prefix("?OTR|") {
        rest.split(',').nth(1)
    } else if let Some(rest) = payload.strip_prefix("?OTR,") {
        rest.split(',').next()
    } else {
        return true;
    };
    k.and_then(|k| k.parse::<u32>().ok()) == Some(1)
}

#[tokio::test(flavor = "current_thread")]
async fn channel_mode_with_tags_through_ngircd() {
    let started = Instant::now();
    let n = 3;
    let server = Ngircd::start(Options::default()).unwrap();
    // Eve sits in the channel and records everything the server relays to it.
    let eve = Observer::connect(server.port(), "eve").unwrap();
    eve.join(CHANNEL).unwrap();
    let mut spec = Spec::new(server.port(), n);
    spec.delivery = Delivery::Channel(CHANNEL.into());
    spec.channels = vec![CHANNEL.into()];
    let mut room = Room::connect(spec).await;
    let formed = room.form(LIMIT).await;
    let keys = room.settle_keys(LIMIT).await;
    println!(
        "channel mode, {n} members: the room formed in {:.1} s, pairwise keys {:.1} s later",
        formed.as_secs_f64(),
        keys.as_secs_f64()
    );

    let eve_lines = || -> Vec<String> {
        eve.lines()
            .into_iter()
            .filter(|l| privmsg(l).is_some())
            .collect()
    };
    let mut texts = Vec::new();
    let mut counts = Vec::new();
    for speaker in [1usize, 2, 0] {
        // A room at rest (the transports' pacing buckets full again, nothing in flight),
        // so that what follows is this message's lines only.
        room.run_for(Duration::from_secs(3)).await;
        let text = format!("channel line from {}", nick(speaker));
        let sent_before: u64 = room.members.iter().map(|m| m.channel_sent).sum();
        let received_before: u64 = room.members.iter().map(|m| m.channel_received).sum();
        let eve_before = eve_lines().len();
        // The speaker's clock is fresh when it writes (the loop ticks once a second), so
        // its resend timer runs from the moment the line leaves.
        room.tick(speaker);
        room.act(speaker, |m| m.say(&text).unwrap());
        // Everyone shows it (the speaker: its echo).
        room.until(LIMIT, |r| {
            (0..n).all(|i| r.members[i].got(&nick(speaker), &text))
        })
        .await;
        // The lines still in flight arrive (nothing else uses the channel now: digests
        // and pairwise keys go privately between members).
        room.run_for(Duration::from_secs(2)).await;
        let sent = room.members.iter().map(|m| m.channel_sent).sum::<u64>() - sent_before;
        room.until(LIMIT, |r| {
            r.members.iter().map(|m| m.channel_received).sum::<u64>() - received_before
                >= sent * (n as u64 - 1)
        })
        .await;
        let delivered =
            room.members.iter().map(|m| m.channel_received).sum::<u64>() - received_before;
        let seen = eve
            .wait_count(Duration::from_secs(30), eve_before + sent as usize, |l| {
                privmsg(l).is_some()
            })
            .expect("eve sees every channel line");
        let ours = &seen[eve_before..];
        // OTR messages (a whole line, or the first fragment of one), by who sent them.
        let starts = |who: &str| {
            ours.iter()
                .filter(|l| {
                    let (from, _, text) = privmsg(l).unwrap();
                    from == who && starts_message(untag(text).unwrap().payload)
                })
                .count()
        };
        let (by_speaker, by_host) = (starts(&nick(speaker)), starts("m00"));
        let messages = if speaker == 0 {
            by_host
        } else {
            by_speaker + by_host
        };
        // A member's line costs N OTR messages: its line to the host, the echo, one relay
        // per other member (the host's own line N-1). A member that saw no echo within
        // `retry_secs` sends its line again and the host echoes it again: 2 more each time.
        let resent = if speaker == 0 { 0 } else { by_speaker - 1 };
        let expected = if speaker == 0 { n - 1 } else { n };
        println!(
            "{}'s group message: {messages} OTR messages in the channel ({resent} resent), \
             {sent} IRC lines with fragments, delivered {delivered} times to the {} other \
             members ({:.1} each) and once each to eve",
            nick(speaker),
            n - 1,
            delivered as f64 / sent as f64
        );
        assert_eq!(delivered, sent * (n as u64 - 1));
        assert_eq!(ours.len(), sent as usize);
        assert_eq!(messages, expected + 2 * resent, "{ours:#?}");
        assert_eq!(
            by_host,
            expected - usize::from(speaker != 0) + resent,
            "{ours:#?}"
        );
        counts.push((speaker, messages, resent));
        texts.push(text);
    }

    // Without resends, N OTR messages per member's group message.
    assert!(
        counts.iter().any(|(s, m, r)| *s != 0 && *r == 0 && *m == n),
        "{counts:?}"
    );

    // Digests compared between the members: still no alert, the same conversation
    // everywhere, every sender right.
    room.run_for(Duration::from_secs(6)).await;
    assert!(room.all_alerts().is_empty(), "{:?}", room.all_alerts());
    let reference = room.members[0].texts();
    for m in &room.members[1..] {
        assert_eq!(m.texts(), reference, "{}", m.nick);
    }
    for (speaker, text) in [1usize, 2, 0].into_iter().zip(&texts) {
        for i in 0..n {
            let want = if i == speaker {
                Auth::Own
            } else if i == 0 || speaker == 0 {
                Auth::Session
            } else {
                Auth::Pairwise
            };
            assert_eq!(
                room.members[i].auth_of(&nick(speaker), text),
                Some(want),
                "{} on {text}",
                nick(i)
            );
        }
    }
    // Members drop the channel lines addressed to someone else.
    for m in &room.members {
        println!(
            "{}: discarded {} channel lines for others",
            m.nick,
            m.node_ref().stats().discarded
        );
    }
    for m in &room.members[1..] {
        assert!(m.node_ref().stats().discarded > 0, "{}", m.nick);
    }

    // Eve saw only tagged OTR lines between the host and a member, never a typed word.
    let all = eve_lines();
    let (mut queries, mut whole, mut fragments) = (0, 0, 0);
    for line in &all {
        let (from, target, text) = privmsg(line).unwrap();
        assert_eq!(target, CHANNEL, "{line}");
        let t = untag(text).unwrap_or_else(|| panic!("untagged channel line {line}"));
        assert!(t.payload.starts_with("?OTR"), "{line}");
        assert!(from == "m00" || t.to == "m00", "not host-member: {line}");
        if t.payload.starts_with("?OTRv") {
            queries += 1;
        } else if t.payload.starts_with("?OTR:") {
            whole += 1;
        } else {
            fragments += 1;
        }
    }
    let bytes = String::from_utf8_lossy(&eve.bytes()).into_owned();
    for secret in ["channel line", "?GRP"] {
        assert!(!bytes.contains(secret), "eve read {secret:?}");
    }
    println!(
        "eve saw {} channel lines: {queries} OTR queries, {whole} whole OTR messages, {fragments} fragments; no plaintext",
        all.len()
    );
    println!(
        "channel mode through ngircd: whole test {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "current_thread")]
async fn host_drop_hands_off_through_ngircd() {
    hand_off(false).await;
}

#[tokio::test(flavor = "current_thread")]
async fn host_drop_hands_off_in_channel_mode_through_ngircd() {
    hand_off(true).await;
}

/// The host's connection drops; the room goes on under the successor. In channel mode the
/// room's lines (the new host's included) travel tagged in the channel.
async fn hand_off(channel: bool) {
    let started = Instant::now();
    let n = 4;
    let mode = if channel { "channel" } else { "private" };
    let server = Ngircd::start(Options::default()).unwrap();
    // The host connects through a tap, so its connection can be cut under it.
    let tap = Tap::start(server.port()).unwrap();
    let mut spec = Spec::new(server.port(), n);
    spec.ports[0] = tap.port();
    if channel {
        spec.delivery = Delivery::Channel(CHANNEL.into());
        spec.channels = vec![CHANNEL.into()];
    } else {
        // The room itself uses private messages; IRC tells of a QUIT only the users who
        // share a channel with the one quitting, so everyone sits in one.
        spec.channels = vec!["#lobby".into()];
    }
    let mut room = Room::connect(spec).await;
    let formed = room.form(LIMIT).await;
    let keys = room.settle_keys(LIMIT).await;
    println!(
        "{mode} delivery, {n} members: the room formed in {:.1} s, pairwise keys {:.1} s later",
        formed.as_secs_f64(),
        keys.as_secs_f64()
    );
    let before = "before the drop, from m00";
    room.act(0, |h| h.say(before).unwrap());
    room.until(LIMIT, |r| r.reached_all(0, before)).await;
    // Measure from a room at rest: the members' own key exchanges have drained from the
    // paced transports.
    room.run_for(Duration::from_secs(4)).await;
    // The successor, by the room's hand-off order.
    let next = room.members[1].node_ref().successor().unwrap().to_owned();
    let successor = (1..n).find(|i| nick(*i) == next).unwrap();
    let succ = nick(successor);
    assert!(room.all_alerts().is_empty(), "{:?}", room.all_alerts());

    // The host's connection drops: the server sees its socket close and tells the
    // channel; the members hand off.
    let channel_before = room.members[successor].channel_sent;
    let cut = Instant::now();
    tap.cut();
    room.disconnect(0);
    let took = room
        .until(LIMIT, |r| {
            (1..n).all(|i| {
                let node = r.members[i].node_ref();
                node.host_nick() == Some(succ.as_str())
                    && node
                        .transcript()
                        .is_some_and(|t| t.epoch == 2 && t.gseq >= 1)
                    && node
                        .roster()
                        .is_some_and(|ro| ro.members.len() == n - 1 && !ro.contains("m00"))
            })
        })
        .await;
    for i in 1..n {
        let quits = &room.members[i].quits;
        assert!(quits.iter().any(|(q, _)| q == "m00"), "{quits:?}");
    }
    println!("the members saw: {:?}", room.members[1].quits);
    println!(
        "{mode} delivery, hand-off: {:.2} s from the cut until every member followed {succ} (generation 2, new roster)",
        took.as_secs_f64()
    );
    assert!(room.members[successor].node_ref().is_host());

    // The room goes on: every remaining member writes, everyone else shows it with the
    // right sender.
    let mut after = Vec::new();
    for i in 1..n {
        let text = format!("after the hand-off, from {}", nick(i));
        room.act(i, |m| m.say(&text).unwrap());
        after.push((i, text));
    }
    let msgs = room
        .until(LIMIT, |r| {
            after
                .iter()
                .all(|(s, t)| r.reached_all(*s, t) && r.members[*s].got(&nick(*s), t))
        })
        .await;
    println!(
        "{mode} delivery, after the hand-off: one line from each of the {} members reached all others in {:.2} s ({:.2} s after the cut)",
        n - 1,
        msgs.as_secs_f64(),
        cut.elapsed().as_secs_f64()
    );
    if channel {
        // The new host's lines went to the channel, tagged.
        let sent = room.members[successor].channel_sent - channel_before;
        println!("{mode} delivery: the new host sent {sent} channel lines after the hand-off");
        assert!(sent > 0);
    }
    for (s, t) in &after {
        for i in 1..n {
            let want = if i == *s {
                Auth::Own
            } else if i == successor || *s == successor {
                Auth::Session
            } else {
                Auth::Pairwise
            };
            assert_eq!(
                room.members[i].auth_of(&nick(*s), t),
                Some(want),
                "{} on {t}",
                nick(i)
            );
        }
    }
    // Final digests of the old generation and digests of the new one: no alert, the same
    // conversation everywhere.
    room.run_for(Duration::from_secs(7)).await;
    assert!(room.all_alerts().is_empty(), "{:?}", room.all_alerts());
    let reference = room.members[1].texts();
    // The host's line before the drop, one line each after.
    assert_eq!(reference.len(), 1 + (n - 1), "{reference:?}");
    for m in &room.members[2..] {
        assert_eq!(m.texts(), reference, "{}", m.nick);
    }
    println!(
        "{mode} delivery, hand-off through ngircd: whole test {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "current_thread")]
async fn malicious_host_caught_through_ngircd() {
    let started = Instant::now();
    let n = 3;
    let server = Ngircd::start(Options::default()).unwrap();
    let mut room = Room::connect(Spec::new(server.port(), n)).await;
    let formed = room.form(LIMIT).await;
    let keys = room.settle_keys(LIMIT).await;
    println!(
        "{n} members: the room formed in {:.1} s, pairwise keys {:.1} s later",
        formed.as_secs_f64(),
        keys.as_secs_f64()
    );
    assert!(room.all_alerts().is_empty(), "{:?}", room.all_alerts());

    // 1. The host alters m01's line on its way to m02: m02 catches it on arrival.
    let evil = "send the money to Mallory";
    room.members[0]
        .node()
        .set_relay_hook(Some(Box::new(move |to: &str, mut env: Envelope| {
            if to == "m02" {
                if let Envelope::Relay {
                    item: Item::Msg(m), ..
                } = &mut env
                {
                    if m.sender == "m01" {
                        m.body = evil.into();
                    }
                }
            }
            vec![env]
        })));
    let honest = "do not send money";
    room.act(1, |m| m.say(honest).unwrap());
    let took = room
        .until(LIMIT, |r| !r.members[2].alerts().is_empty())
        .await;
    // m02's first alert is the forgery; m02 may also learn from a digest (every 8 items)
    // that its transcript now differs from m01's (true: it holds the altered line).
    let alerts = room.members[2].alerts();
    assert!(
        matches!(&alerts[0], Alert::Forged { sender, reason: ForgeReason::BadMac, .. } if sender == "m01"),
        "{alerts:?}"
    );
    assert!(
        alerts[1..]
            .iter()
            .all(|a| matches!(a, Alert::Diverged { peer, .. } if peer == "m01")),
        "{alerts:?}"
    );
    println!(
        "altered: m02 sees, {:.2} s after m01 wrote: {}",
        took.as_secs_f64(),
        alerts[0]
    );
    assert!(!room.members[2].got("m01", honest));
    // m01's own line comes back to it unchanged.
    room.until(LIMIT, |r| r.members[1].got("m01", honest)).await;
    for o in &room.members[2].outputs {
        if let group::Output::Message(m) = o {
            if m.text == evil {
                assert_eq!(m.auth, Auth::Failed, "{m:?}");
            }
        }
    }
    assert!(room.members[0].alerts().is_empty());
    assert!(
        room.members[1]
            .alerts()
            .iter()
            .all(|a| matches!(a, Alert::Diverged { peer, .. } if peer == "m02")),
        "{:?}",
        room.members[1].alerts()
    );

    // 2. The host withholds m01's next line from m02, and every resend of it; the host's
    // own line follows, so m02 knows of the gap at once and gives up after the deadline.
    let mut victim = None;
    room.members[0]
        .node()
        .set_relay_hook(Some(Box::new(move |to: &str, env: Envelope| {
            if to == "m02" {
                if let Envelope::Relay {
                    gseq,
                    item: Item::Msg(m),
                    ..
                } = &env
                {
                    if m.body == "secret plan" {
                        victim = Some(*gseq);
                    }
                    if Some(*gseq) == victim {
                        return vec![];
                    }
                }
            }
            vec![env]
        })));
    let alerts_before: Vec<usize> = room.members.iter().map(|m| m.alerts().len()).collect();
    let dropped_at = Instant::now();
    room.act(1, |m| m.say("secret plan").unwrap());
    room.until(LIMIT, |r| r.members[0].got("m01", "secret plan"))
        .await;
    room.act(0, |h| h.say("agreed").unwrap());
    room.until(LIMIT, |r| {
        r.members[2].alerts()[alerts_before[2]..]
            .iter()
            .any(|a| matches!(a, Alert::Dropped { .. }))
    })
    .await;
    let caught_after = dropped_at.elapsed();
    let new: Vec<Alert> = room.members[2].alerts()[alerts_before[2]..].to_vec();
    let dropped = new
        .iter()
        .find(|a| matches!(a, Alert::Dropped { .. }))
        .unwrap();
    assert!(
        matches!(dropped, Alert::Dropped { from, to, .. } if from == to),
        "{dropped:?}"
    );
    println!(
        "dropped: m02 sees, {:.1} s after m01 wrote: {dropped}",
        caught_after.as_secs_f64()
    );
    assert!(room.members[2].got("m00", "agreed"));
    assert!(!room.members[2].got("m01", "secret plan"));
    // Besides the drop, at most the transcripts' divergence (true: m02 lacks a line, and
    // m02 shows an altered one) is raised; the host is never alarmed.
    for (i, m) in room.members.iter().enumerate() {
        for a in &m.alerts()[alerts_before[i]..] {
            assert!(
                i != 0 && matches!(a, Alert::Dropped { .. } | Alert::Diverged { .. }),
                "{}: {a}",
                m.nick
            );
        }
    }
    println!("all alerts: {:?}", room.all_alerts());
    println!(
        "malicious host through ngircd: whole test {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
