//! Checks for the `group_messages` fuzz target, shared with
//! `crates/group/tests/fuzz_corpus_group.rs`, which replays the committed corpus under
//! `cargo test`. Any bytes are, in turn: a group envelope (which must re-encode to itself),
//! a tagged channel line, an `otr.chatinfo` file (which must serialize back to itself), and
//! then, for real, a line the host writes inside its OTR session to a member, a line a
//! member writes inside its session to the host, and a raw private or channel line. Nothing
//! may panic, and a member the input did not remove stays in the room.
#![allow(dead_code, clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::collections::VecDeque;

use group::envelope::{tag, untag, Envelope};
use group::{chatinfo, Config, Node, Output, Target};
use otr::crypto::DsaPrivateKey;
use otr::wire::encoded::InstanceTag;
use otr::{Engine, EngineConfig, Policy};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const HOST: &str = "host";
const MEMBER: &str = "member";

/// A host and one member in a room, with an OTR session between them.
struct Room {
    host: Node,
    member: Node,
    now: f64,
}

thread_local! {
    static KEYS: (DsaPrivateKey, DsaPrivateKey) = (
        DsaPrivateKey::generate(&mut ChaCha20Rng::seed_from_u64(1)),
        DsaPrivateKey::generate(&mut ChaCha20Rng::seed_from_u64(2)),
    );
    static ROOM: RefCell<Option<Room>> = const { RefCell::new(None) };
}

fn node(nick: &str, key: DsaPrivateKey, seed: u64) -> Node {
    let engine = Engine::new(
        key,
        EngineConfig {
            policy: Policy::OPPORTUNISTIC,
            instance_tag: InstanceTag(0x100 + seed as u32),
            line_based: true,
            hold_during_key_exchange: false,
        },
        Box::new(ChaCha20Rng::seed_from_u64(seed)),
    );
    Node::new(
        engine,
        Config::new(nick),
        Box::new(ChaCha20Rng::seed_from_u64(seed + 10)),
    )
}

impl Room {
    fn new() -> Self {
        let (hk, mk) = KEYS.with(|k| (k.0.clone(), k.1.clone()));
        let mut room = Self {
            host: node(HOST, hk, 1),
            member: node(MEMBER, mk, 2),
            now: 1_000_000.0,
        };
        let outs = room.host.host().expect("host");
        room.deliver(HOST, outs);
        let outs = room.host.invite(MEMBER).expect("invite");
        room.deliver(HOST, outs);
        let outs = room.member.accept().expect("accept");
        room.deliver(MEMBER, outs);
        assert!(room.member.roster().is_some(), "the member joined");
        room
    }

    fn node(&mut self, nick: &str) -> &mut Node {
        if nick == HOST {
            &mut self.host
        } else {
            &mut self.member
        }
    }

    /// Delivers `outs` of `from` and everything they cause, until quiet.
    fn deliver(&mut self, from: &str, outs: Vec<Output>) {
        let mut queue: VecDeque<(String, Output)> =
            outs.into_iter().map(|o| (from.to_owned(), o)).collect();
        let mut steps = 0;
        while let Some((sender, o)) = queue.pop_front() {
            steps += 1;
            assert!(steps < 10_000, "the two nodes did not settle");
            let Output::Send { to, line } = o else {
                continue;
            };
            let dest = if sender == HOST { MEMBER } else { HOST };
            let outs = match to {
                Target::Private(nick) if nick == dest => {
                    self.node(dest).receive_private(&sender, &line)
                }
                Target::Channel(ch) => self.node(dest).receive_channel(&ch, &sender, &line),
                Target::Private(_) => continue,
            };
            queue.extend(outs.into_iter().map(|o| (dest.to_owned(), o)));
        }
    }

    /// `from` writes `text` inside its OTR session with the other node.
    fn write_inside(&mut self, from: &str, text: &str) {
        let to = if from == HOST { MEMBER } else { HOST };
        let outs = self.node(from).send_private(to, text);
        self.deliver(from, outs);
    }

    fn tick(&mut self, secs: f64) {
        self.now += secs;
        let now = self.now;
        let outs = self.host.tick(now);
        self.deliver(HOST, outs);
        let outs = self.member.tick(now);
        self.deliver(MEMBER, outs);
    }
}

/// The parsers, then the two nodes, on `data`.
pub fn group_messages(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(env) = Envelope::decode(&text) {
        assert_eq!(Envelope::decode(&env.encode()).as_ref(), Ok(&env));
    }
    if let Some(t) = untag(&text) {
        let line = tag(t.to, t.from, t.payload);
        let again = untag(&line).expect("a tagged line untags");
        assert_eq!(
            (again.to, again.from, again.payload),
            (t.to, t.from, t.payload)
        );
    }
    if let Ok(rooms) = chatinfo::parse(&text) {
        assert_eq!(
            chatinfo::parse(&chatinfo::serialize(&rooms)).as_ref(),
            Ok(&rooms)
        );
    }
    ROOM.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot
            .as_ref()
            .is_none_or(|r| r.member.roster().is_none() || !r.host.is_host())
        {
            *slot = Some(Room::new());
        }
        let room = slot.as_mut().expect("a room");
        room.write_inside(HOST, &text);
        room.write_inside(MEMBER, &text);
        let outs = room.member.receive_private(HOST, &text);
        room.deliver(MEMBER, outs);
        let outs = room.member.receive_channel("#room", HOST, &text);
        room.deliver(MEMBER, outs);
        let outs = room.host.receive_channel("#room", MEMBER, &text);
        room.deliver(HOST, outs);
        room.tick(3.0);
    });
}

/// The room id of the checks' room (for writing seeds that reach the nodes' room logic).
pub fn room_id() -> String {
    ROOM.with(|cell| {
        let mut slot = cell.borrow_mut();
        let room = slot.get_or_insert_with(Room::new);
        room.host.room_id().expect("a room").as_str().to_owned()
    })
}
