//! The relays tests build most: two of our engines, and our engine beside libotr.

use libotr_harness::{LibOtr, MsgState};
use otr::{ConversationState, Engine, Policy};

use crate::keys::{alice_key, bob_key, engine, ALICE_TAG, BOB_TAG, OUR_TAG};
use crate::relay::Relay;

/// Two of our engines ([`Relay::engines`]).
pub type Pair = Relay<Engine, Engine>;

/// Our engine and libotr ([`Relay::with_libotr`]).
pub type Mixed = Relay<Engine, LibOtr>;

impl Relay<Engine, Engine> {
    /// Two of our engines under `policy`: "alice" ([`alice_key`], [`ALICE_TAG`]) and "bob"
    /// ([`bob_key`], [`BOB_TAG`]), each with its own seeded randomness.
    pub fn engines(policy: Policy) -> Self {
        Self::engines_with(policy, policy)
    }

    /// As [`Relay::engines`], with a policy each.
    pub fn engines_with(alice: Policy, bob: Policy) -> Self {
        Relay::new(
            engine(alice_key(), ALICE_TAG, alice, 11),
            engine(bob_key(), BOB_TAG, bob, 22),
        )
    }
}

impl Relay<Engine, LibOtr> {
    /// Our engine as "alice" ([`alice_key`], [`OUR_TAG`], `ours`) and libotr 4.1.1 as
    /// "bob" (its cached key, `libotr_policy`).
    pub fn with_libotr(ours: Policy, libotr_policy: u32) -> Self {
        let lib = LibOtr::with_cached_key("bob", libotr_policy)
            .unwrap_or_else(|e| panic!("libotr as bob: {e}"));
        Relay::new(engine(alice_key(), OUR_TAG, ours, 99), lib)
    }

    /// Fails unless both sides are private with each other, each knowing the other's key.
    pub fn assert_private(&self) {
        assert_eq!(self.alice.state("bob"), ConversationState::Encrypted);
        assert_eq!(self.bob.msgstate("alice"), MsgState::Encrypted);
        assert_eq!(
            self.alice.peer_fingerprint("bob").map(|f| f.to_string()),
            Some(self.bob.fingerprint())
        );
        assert_eq!(
            self.bob.their_fingerprint("alice"),
            Some(self.alice.fingerprint().to_string())
        );
    }
}
