//! A 50-participant room through a real ngircd on 127.0.0.1: a host, 45 full members and
//! 4 thin members (plain `otr::Engine`s, as a stock client would be), each behind its own
//! IRC connection (private delivery, OTR fragmented to what the server relays uncut).
//!
//! Unlike `ngircd.rs` (3 and 10 members under ngircd's default flood control), this server
//! gives its users relaxed flood control (user mode F) and the clients do not pace: under
//! default flood control forming a 50-member room (49 host key exchanges and 990
//! member-member ones, every line throttled) would take many minutes (estimated from the
//! 10-member room, not measured). The default-flood figures
//! are the 3- and 10-member ones.
//!
//! Every member joins; group messages from several full members and one thin member reach
//! all 49 others with the right sender and no alert; then the host tampers with one line
//! through its relay hook and the recipient catches it at once, naming the real author.
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

use group::envelope::{Envelope, Item};
use group::{Alert, Auth, ForgeReason, Output};
use irc::Pacing;
use ngircd_harness::{Ngircd, Options};
use ngircd_support::{Member, Peer, Room, Spec};
use otr::ConversationState;

const N: usize = 50;
/// Participants 46..49 are thin members.
const FIRST_THIN: usize = 46;

#[tokio::test(flavor = "current_thread")]
async fn fifty_member_room_through_ngircd_relaxed_flood() {
    let started = Instant::now();
    let server = Ngircd::start(Options {
        relaxed_flood: true,
        ..Options::default()
    })
    .unwrap();
    let mut spec = Spec::new(server.port(), N);
    spec.first_thin = FIRST_THIN;
    spec.pacing = Pacing::none();
    let mut room = Room::connect(spec).await;
    println!(
        "{N} clients connected in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let setup = Instant::now();
    room.act(0, |h| h.host().unwrap());
    for i in 1..N {
        let nick = support::nick(i);
        if i >= FIRST_THIN {
            room.act(0, |h| h.invite_thin(&nick).unwrap());
        } else {
            room.act(0, |h| h.invite(&nick).unwrap());
        }
    }
    // Each full member accepts as soon as its invitation arrives.
    let mut accepted = [false; N];
    for i in 0..N {
        accepted[i] = i == 0 || i >= FIRST_THIN;
    }
    while !accepted.iter().all(|a| *a) {
        room.until(Duration::from_secs(300), |r| {
            (1..FIRST_THIN).any(|i| {
                !accepted[i]
                    && r.members[i]
                        .outputs
                        .iter()
                        .any(|o| matches!(o, Output::Invited { .. }))
            })
        })
        .await;
        for i in 1..FIRST_THIN {
            let invited = room.members[i]
                .outputs
                .iter()
                .any(|o| matches!(o, Output::Invited { .. }));
            if invited && !accepted[i] {
                accepted[i] = true;
                room.act(i, |m| m.accept().unwrap());
            }
        }
    }
    // Every full participant holds the full roster (thin members included).
    room.until(Duration::from_secs(300), |r| {
        r.members.iter().all(|m| match &m.peer {
            Peer::Full(n) => n.roster().is_some_and(|ro| ro.members.len() == N),
            Peer::Thin(_) => true,
        })
    })
    .await;
    println!(
        "{N} members ({} thin): the room formed in {:.1} s",
        N - FIRST_THIN,
        setup.elapsed().as_secs_f64()
    );
    // Let the member-member key exchanges (990 of them) finish and settle, so the
    // measurement is of a room at rest.
    let pairwise = Instant::now();
    room.until(Duration::from_secs(300), |r| {
        (0..FIRST_THIN).all(|i| {
            let Peer::Full(node) = &r.members[i].peer else {
                return false;
            };
            (0..FIRST_THIN).all(|j| {
                i == j || node.engine().state(&support::nick(j)) == ConversationState::Encrypted
            })
        })
    })
    .await;
    println!(
        "every pair of full members had an OTR session {:.1} s later",
        pairwise.elapsed().as_secs_f64()
    );
    // ...and every pair its pairwise MAC key (an offer that beat the roster naming its
    // sender is answered when that roster arrives).
    let keys = Instant::now();
    room.until(Duration::from_secs(300), |r| {
        (0..FIRST_THIN).all(|i| {
            let Peer::Full(node) = &r.members[i].peer else {
                return false;
            };
            (1..FIRST_THIN).all(|j| i == j || i == 0 || node.pairwise_ready(&support::nick(j)))
        })
    })
    .await;
    println!(
        "every pair of full members had its pairwise key {:.1} s later",
        keys.elapsed().as_secs_f64()
    );
    assert!(room.all_alerts().is_empty(), "{:?}", room.all_alerts());

    // Group messages from several members (the host, full members, a thin member).
    let mut latencies = Vec::new();
    for (round, speaker) in [1usize, 17, 0, 33, 45, FIRST_THIN + 1]
        .into_iter()
        .enumerate()
    {
        let text = format!("round {round} from {}", support::nick(speaker));
        if speaker >= FIRST_THIN {
            room.thin_say(speaker, &text);
        } else {
            room.act(speaker, |m| m.say(&text).unwrap());
        }
        let took = room
            .until(Duration::from_secs(120), |r| r.reached_all(speaker, &text))
            .await;
        latencies.push(took.as_secs_f64());
        println!(
            "{}: one group message reached all {} others in {:.2} s",
            support::nick(speaker),
            N - 1,
            took.as_secs_f64()
        );
    }
    // Digests compared everywhere: still no alert, and every full member shows the same
    // conversation.
    room.run_for(Duration::from_secs(8)).await;
    assert!(room.all_alerts().is_empty(), "{:?}", room.all_alerts());
    let texts = |m: &Member| -> Vec<String> {
        m.outputs
            .iter()
            .filter_map(|o| match o {
                Output::Message(msg) => Some(format!("{}: {}", msg.sender, msg.text)),
                _ => None,
            })
            .collect()
    };
    let reference = texts(&room.members[0]);
    assert_eq!(reference.len(), latencies.len(), "{reference:?}");
    for m in &room.members[1..FIRST_THIN] {
        assert_eq!(texts(m), reference, "{}", m.nick);
    }
    // Lines between full members are authenticated pairwise end to end (the host's own
    // by its session, a thin member's attested by the host).
    for (i, m) in room.members[..FIRST_THIN].iter().enumerate() {
        for o in &m.outputs {
            if let Output::Message(msg) = o {
                let from = support::nick(0);
                let want = if msg.sender == m.nick {
                    Auth::Own
                } else if i == 0 || msg.sender == from {
                    Auth::Session
                } else if msg.sender >= support::nick(FIRST_THIN) {
                    Auth::HostAttested
                } else {
                    Auth::Pairwise
                };
                assert_eq!(msg.auth, want, "{}: {msg:?}", m.nick);
            }
        }
    }

    // The host alters one line of m01's on its way to m02: m02 catches it on arrival.
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
    room.until(Duration::from_secs(120), |r| {
        !r.members[2].alerts().is_empty() && (3..N).all(|i| r.members[i].got("m01", honest))
    })
    .await;
    let alerts = room.members[2].alerts();
    assert!(
        matches!(&alerts[..], [Alert::Forged { sender, reason: ForgeReason::BadMac, .. }] if sender == "m01"),
        "{alerts:?}"
    );
    println!("m02 sees: {}", alerts[0]);
    // If m02 shows the altered line at all, it is marked as failed authentication.
    for o in &room.members[2].outputs {
        if let Output::Message(m) = o {
            if m.text == evil {
                assert_eq!(m.auth, Auth::Failed, "{m:?}");
            }
        }
    }
    for i in (0..N).filter(|i| *i != 2) {
        assert!(
            room.members[i].alerts().is_empty(),
            "{}: {:?}",
            room.members[i].nick,
            room.members[i].alerts()
        );
    }
    println!(
        "{N} members through ngircd (relaxed flood control): whole test {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
