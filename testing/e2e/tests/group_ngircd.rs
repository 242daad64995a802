//! Group rooms through a real ngircd on 127.0.0.1 with its default flood control: every
//! participant is a `Node` behind its own IRC transport connection (private delivery,
//! OTR fragmented to what the server relays uncut). Rooms of 3 and 10 members form, talk
//! with no alert, and we measure how long one group message takes to reach every member.
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

use ngircd_harness::{Ngircd, Options};
use ngircd_support::{Room, Spec};

async fn room_through_ngircd(n: usize) -> Vec<f64> {
    let server = Ngircd::start(Options::default()).unwrap();
    let mut room = Room::connect(Spec::new(server.port(), n)).await;
    let setup = Instant::now();
    // Each member accepts as soon as its invitation arrives; everyone holds the full roster.
    room.form(Duration::from_secs(300)).await;
    println!(
        "{n} members: the room formed in {:.1} s",
        setup.elapsed().as_secs_f64()
    );
    // Let the members' pairwise key exchanges (paced like everything else) settle, so
    // that the measurement is of a room at rest.
    room.run_for(Duration::from_secs(if n > 3 { 30 } else { 8 }))
        .await;
    let mut latencies = Vec::new();
    for round in 0..3 {
        let speaker = 1 + round % (n - 1);
        let text = format!("round {round} from {}", support::nick(speaker));
        room.act(speaker, |m| m.say(&text).unwrap());
        let took = room
            .until(Duration::from_secs(120), |r| {
                (0..n).all(|i| r.members[i].got(&support::nick(speaker), &text))
            })
            .await;
        latencies.push(took.as_secs_f64());
        room.run_for(Duration::from_secs(3)).await;
    }
    // Everyone shows the same conversation, and nobody was alarmed.
    room.run_for(Duration::from_secs(6)).await;
    assert!(room.all_alerts().is_empty(), "{:?}", room.all_alerts());
    let reference = room.members[0].texts();
    for m in &room.members[1..] {
        assert_eq!(m.texts(), reference, "{}", m.nick);
    }
    latencies
}

#[tokio::test(flavor = "current_thread")]
async fn three_member_room_through_ngircd() {
    let l = room_through_ngircd(3).await;
    println!("3 members: one group message reached every member in {l:.2?} s");
}

#[tokio::test(flavor = "current_thread")]
async fn ten_member_room_through_ngircd() {
    let l = room_through_ngircd(10).await;
    println!("10 members: one group message reached every member in {l:.2?} s");
}
