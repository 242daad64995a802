//! [`Relay`]: the one relay pump. Two [`Party`]s, "alice" and "bob" (or other names), and
//! an in-memory network between them that records every wire line, keeps what each party
//! reported, and lets a test hold, drop or rewrite lines.

use std::collections::VecDeque;
use std::fmt;

use crate::party::{shown, AsView, Party, View};

/// Which party of a [`Relay`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The first party ("alice" unless renamed).
    Alice,
    /// The second party ("bob" unless renamed).
    Bob,
}

impl Side {
    /// The other party.
    pub fn other(self) -> Side {
        match self {
            Side::Alice => Side::Bob,
            Side::Bob => Side::Alice,
        }
    }
}

/// What the network does with one line (see [`Relay::set_tap`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tap {
    /// Delivers it as sent.
    Deliver,
    /// Loses it.
    Drop,
    /// Delivers this instead.
    Replace(String),
}

/// What each party reported, wire lines aside, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Events<A, B> {
    /// Alice's events.
    pub alice: Vec<A>,
    /// Bob's events.
    pub bob: Vec<B>,
}

impl<A, B> Default for Events<A, B> {
    fn default() -> Self {
        Self {
            alice: Vec::new(),
            bob: Vec::new(),
        }
    }
}

impl<E> Events<E, E> {
    /// One side's events.
    pub fn of(&self, side: Side) -> &[E] {
        match side {
            Side::Alice => &self.alice,
            Side::Bob => &self.bob,
        }
    }
}

/// How many deliveries one [`Relay::relay`] may make before the test fails: a ping-pong
/// that never ends is a bug.
const MAX_DELIVERIES: usize = 100_000;

/// The network's hook on every line it delivers.
type TapFn = Box<dyn FnMut(Side, &str) -> Tap>;

/// Two parties and the network between them.
///
/// An action (`alice_do`, `bob_do`, [`Relay::hold`]) returns the wire lines it caused
/// without delivering them: a test may deliver them later, reorder, change or lose them.
/// [`Relay::relay`] delivers a queue in order (first in, first out) with everything it
/// causes until both parties are quiet. Every line a party puts on the wire is recorded in
/// [`Relay::wire`] when it is sent, delivered or not; every other event goes to
/// [`Relay::events`]. A wire line addressed to anyone but the other party fails the test.
pub struct Relay<A: Party, B: Party> {
    /// The first party.
    pub alice: A,
    /// The second party.
    pub bob: B,
    /// Every line either party put on the wire: (sender, line), in the order sent.
    pub wire: Vec<(Side, String)>,
    /// Everything else the parties reported, in order.
    pub events: Events<A::Event, B::Event>,
    names: [String; 2],
    tap: Option<TapFn>,
}

impl<A: Party, B: Party> fmt::Debug for Relay<A, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Relay")
            .field("names", &self.names)
            .field("wire", &self.wire)
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

impl<A: Party, B: Party> Relay<A, B> {
    /// `alice` and `bob`, called "alice" and "bob", with nothing on the wire.
    pub fn new(alice: A, bob: B) -> Self {
        Self {
            alice,
            bob,
            wire: Vec::new(),
            events: Events::default(),
            names: ["alice".to_owned(), "bob".to_owned()],
            tap: None,
        }
    }

    /// The same parties under other account names (each calls the other by its name).
    pub fn named(mut self, alice: &str, bob: &str) -> Self {
        self.names = [alice.to_owned(), bob.to_owned()];
        self
    }

    /// The account name of `side`.
    pub fn name(&self, side: Side) -> &str {
        match side {
            Side::Alice => &self.names[0],
            Side::Bob => &self.names[1],
        }
    }

    /// The wire so far, one numbered line each (`[i] alice -> bob: line`), for failure
    /// messages.
    pub fn dump(&self) -> String {
        let mut out = String::from("wire transcript:\n");
        for (i, (from, line)) in self.wire.iter().enumerate() {
            let (from, to) = (self.name(*from), self.name(from.other()));
            out.push_str(&format!("  [{i}] {from} -> {to}: {line}\n"));
        }
        out
    }

    /// The lines `side` put on the wire so far, in order.
    pub fn sent_by(&self, side: Side) -> Vec<String> {
        self.wire
            .iter()
            .filter(|(from, _)| *from == side)
            .map(|(_, line)| line.clone())
            .collect()
    }

    /// Runs `f` on Alice; returns the wire lines it caused, undelivered.
    pub fn alice_do(&mut self, f: impl FnOnce(&mut A) -> Vec<A::Event>) -> Vec<(Side, String)> {
        let events = f(&mut self.alice);
        self.take_alice(events)
    }

    /// Runs `f` on Bob; returns the wire lines it caused, undelivered.
    pub fn bob_do(&mut self, f: impl FnOnce(&mut B) -> Vec<B::Event>) -> Vec<(Side, String)> {
        let events = f(&mut self.bob);
        self.take_bob(events)
    }

    /// Delivers `queue` (sender, line), first in first out, and everything it causes, until
    /// both parties are quiet. The tap, if set, sees each line first.
    pub fn relay(&mut self, queue: Vec<(Side, String)>) {
        let mut queue = VecDeque::from(queue);
        let mut deliveries = 0;
        while let Some((from, line)) = queue.pop_front() {
            deliveries += 1;
            assert!(
                deliveries < MAX_DELIVERIES,
                "relay did not settle; the last line, from {from:?}: {line:.300}"
            );
            let line = match self
                .tap
                .as_mut()
                .map_or(Tap::Deliver, |tap| tap(from, &line))
            {
                Tap::Deliver => line,
                Tap::Drop => continue,
                Tap::Replace(other) => other,
            };
            let caused = match from {
                Side::Alice => {
                    let events = self.bob.receive(&self.names[0], &line);
                    self.take_bob(events)
                }
                Side::Bob => {
                    let events = self.alice.receive(&self.names[1], &line);
                    self.take_alice(events)
                }
            };
            queue.extend(caused);
        }
    }

    /// `side` starts a private conversation with the other, and the relay runs until quiet.
    pub fn connect(&mut self, side: Side) {
        self.user(side, Action::Start);
    }

    /// `side` types `text` to the other, and the relay runs until quiet.
    pub fn say(&mut self, side: Side, text: &str) {
        self.user(side, Action::Send(text));
    }

    fn user(&mut self, side: Side, action: Action<'_>) {
        let peer = self.name(side.other()).to_owned();
        let queue = match side {
            Side::Alice => self.alice_do(|a| action.run(a, &peer)),
            Side::Bob => self.bob_do(|b| action.run(b, &peer)),
        };
        self.relay(queue);
    }

    /// Lets `tap` decide the fate of every line [`Relay::relay`] delivers from now on
    /// (what was sent stays recorded in [`Relay::wire`] as sent).
    pub fn set_tap(&mut self, tap: impl FnMut(Side, &str) -> Tap + 'static) {
        self.tap = Some(Box::new(tap));
    }

    /// The texts shown to Alice, with their `encrypted` flag.
    pub fn alice_shown(&self) -> Vec<(String, bool)> {
        shown(&self.events.alice)
    }

    /// The texts shown to Bob, with their `encrypted` flag.
    pub fn bob_shown(&self) -> Vec<(String, bool)> {
        shown(&self.events.bob)
    }

    /// Takes the events reported so far, leaving none.
    pub fn take_events(&mut self) -> Events<A::Event, B::Event> {
        std::mem::take(&mut self.events)
    }

    /// Forgets the events reported so far.
    pub fn clear_events(&mut self) {
        self.events = Events::default();
    }

    /// Forgets the events and the wire so far.
    pub fn clear(&mut self) {
        self.wire.clear();
        self.clear_events();
    }

    fn take_alice(&mut self, events: Vec<A::Event>) -> Vec<(Side, String)> {
        let to = &self.names[1];
        take(
            events,
            Side::Alice,
            to,
            &mut self.wire,
            &mut self.events.alice,
        )
    }

    fn take_bob(&mut self, events: Vec<B::Event>) -> Vec<(Side, String)> {
        let to = &self.names[0];
        take(events, Side::Bob, to, &mut self.wire, &mut self.events.bob)
    }
}

/// Sorts what `from` reported: wire lines (checked to go to `to`) are recorded in `wire` and
/// returned, the rest kept in `kept`.
fn take<E: AsView>(
    events: Vec<E>,
    from: Side,
    to: &str,
    wire: &mut Vec<(Side, String)>,
    kept: &mut Vec<E>,
) -> Vec<(Side, String)> {
    let mut queue = Vec::new();
    for event in events {
        match event.view() {
            View::Wire { peer, line } => {
                assert_eq!(peer, to, "{from:?} sent a line to someone else: {line}");
                queue.push((from, line.to_owned()));
            }
            _ => kept.push(event),
        }
    }
    wire.extend(queue.iter().cloned());
    queue
}

/// What a user of either party does ([`Relay::connect`], [`Relay::say`]).
enum Action<'a> {
    Start,
    Send(&'a str),
}

impl Action<'_> {
    fn run<P: Party>(&self, party: &mut P, peer: &str) -> Vec<P::Event> {
        match self {
            Action::Start => party.start(peer),
            Action::Send(text) => party.send(peer, text),
        }
    }
}

impl<P: Party> Relay<P, P> {
    /// The party on `side`.
    pub fn party(&mut self, side: Side) -> &mut P {
        match side {
            Side::Alice => &mut self.alice,
            Side::Bob => &mut self.bob,
        }
    }

    /// Runs `f` on `side`; returns the wire lines it caused, undelivered.
    pub fn hold(
        &mut self,
        side: Side,
        f: impl FnOnce(&mut P) -> Vec<P::Event>,
    ) -> Vec<(Side, String)> {
        match side {
            Side::Alice => self.alice_do(f),
            Side::Bob => self.bob_do(f),
        }
    }

    /// Runs `f` on `side` and relays what it causes until quiet.
    pub fn act(&mut self, side: Side, f: impl FnOnce(&mut P) -> Vec<P::Event>) {
        let queue = self.hold(side, f);
        self.relay(queue);
    }

    /// Runs `f` on `side`, relays until quiet, and returns (takes) the events reported
    /// since the last take.
    pub fn exchange(
        &mut self,
        side: Side,
        f: impl FnOnce(&mut P) -> Vec<P::Event>,
    ) -> Events<P::Event, P::Event> {
        self.act(side, f);
        self.take_events()
    }

    /// The texts shown to `side`, with their `encrypted` flag.
    pub fn shown(&self, side: Side) -> Vec<(String, bool)> {
        shown(self.events.of(side))
    }
}

#[cfg(test)]
mod tests {
    use otr::{ConversationState, Policy};

    use super::*;
    use crate::Pair;

    fn texts(shown: &[(String, bool)]) -> Vec<&str> {
        shown.iter().map(|(t, _)| t.as_str()).collect()
    }

    #[test]
    fn the_tap_drops_and_rewrites_lines_and_the_wire_keeps_them_as_sent() {
        let mut pair = Pair::engines(Policy::MANUAL);
        pair.say(Side::Alice, "plain");
        pair.set_tap(|_, line| match line {
            "lost" => Tap::Drop,
            "typo" => Tap::Replace("fixed".to_owned()),
            _ => Tap::Deliver,
        });
        pair.say(Side::Alice, "lost");
        pair.say(Side::Alice, "typo");
        assert_eq!(texts(&pair.shown(Side::Bob)), ["plain", "fixed"]);
        let sent: Vec<&str> = pair.wire.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(sent, ["plain", "lost", "typo"]);
        // Held lines go nowhere until relayed.
        let held = pair.hold(Side::Bob, |b| b.send("alice", "later"));
        assert!(pair.shown(Side::Alice).is_empty());
        pair.relay(held);
        assert_eq!(pair.shown(Side::Alice), [("later".to_owned(), false)]);
    }

    #[test]
    fn connect_goes_private_under_other_names() {
        let mut pair = Pair::engines(Policy::MANUAL).named("a", "b");
        pair.connect(Side::Bob);
        assert_eq!(pair.alice.state("b"), ConversationState::Encrypted);
        assert_eq!(pair.bob.state("a"), ConversationState::Encrypted);
        pair.say(Side::Alice, "hi");
        let taken = pair.take_events();
        assert_eq!(shown(&taken.bob), [("hi".to_owned(), true)]);
        assert_eq!(pair.shown(Side::Bob), [], "taken");
        assert!(pair.dump().contains("[0] b -> a: ?OTRv"), "{}", pair.dump());
    }
}
