//! Instances of one peer: the peer logged in more than once has several instance tags, and
//! a session per instance. Which one is current (receives what the user types), the
//! exchange we started for no instance in particular, and the `State` events that say where
//! typed text goes.

use super::*;

/// Our commit to no instance in particular, and the instances that answered it: each may
/// answer it once, and never with a D-H key another instance already answered with (a
/// copy of one answer re-tagged by the network would otherwise complete two sessions with
/// the same keys, and the two would share keystream).
pub(super) struct Master {
    pub(super) state: Box<AwaitingDhKey>,
    /// Each instance that answered, and the D-H public value it answered with.
    pub(super) answered: Vec<(InstanceTag, Vec<u8>)>,
}

/// The most instances that may answer one commit to no instance in particular.
pub(super) const MAX_MASTER_ANSWERS: usize = MAX_OTHER_INSTANCES + 1;

/// How many secure session ids of past sessions a conversation remembers.
pub(super) const MAX_SEEN_SSIDS: usize = 64;

/// The most instances of one peer we keep sessions with; the least recently active goes.
pub(super) const MAX_OTHER_INSTANCES: usize = 8;

/// A session with an instance of the peer that is not the current one.
pub(super) struct Parked {
    pub(super) msg: MessageState,
    pub(super) auth: AuthState,
    pub(super) their_instance: InstanceTag,
    pub(super) active: u64,
}

impl Conversation {
    /// Every instance of the peer we hold a session (or an exchange) with: its tag, its
    /// message state and, when private, the fingerprint of its key. The current one first.
    pub(crate) fn instances(&self) -> Vec<(InstanceTag, ConversationState, Option<Fingerprint>)> {
        let describe = |tag: InstanceTag, msg: &MessageState| match msg {
            MessageState::Encrypted(p) => (tag, ConversationState::Encrypted, Some(p.fingerprint)),
            MessageState::Plaintext => (tag, ConversationState::Plaintext, None),
            MessageState::Finished => (tag, ConversationState::Finished, None),
        };
        core::iter::once(describe(self.their_instance, &self.msg))
            .chain(
                self.others
                    .iter()
                    .map(|p| describe(p.their_instance, &p.msg)),
            )
            .collect()
    }

    /// Emits a `State` event describing the current instance now.
    pub(crate) fn emit_state(&mut self, ctx: &mut Context<'_>) {
        let fingerprint = self.fingerprint();
        let trusted = fingerprint.is_some_and(|fp| ctx.known.is_trusted(ctx.peer, &fp));
        ctx.out.push(Event::State {
            peer: ctx.peer.to_owned(),
            instance: self.their_instance,
            state: self.state(),
            fingerprint,
            trusted,
        });
        self.announced = Some(self.their_instance);
        self.state_changed = false;
    }

    /// The user changed the trust of the current fingerprint: say so, and send what the
    /// user types next to the best instance under the new trust.
    pub(crate) fn trust_changed(&mut self, ctx: &mut Context<'_>) {
        self.state_changed = true;
        self.reselect(ctx);
    }

    /// Chooses the instance that receives what the user types and, if it or its state
    /// changed since the last `State` event, emits one (before anything typed goes there).
    pub(crate) fn reselect(&mut self, ctx: &mut Context<'_>) {
        self.select_best(ctx);
        let moved = self.announced.is_some_and(|a| a != self.their_instance)
            && !matches!(self.msg, MessageState::Plaintext);
        if self.state_changed || moved {
            self.emit_state(ctx);
        }
    }

    /// Makes `tag` the current instance: parks the current session and brings back (or
    /// creates) the one with `tag`. An exchange we started for no instance in particular,
    /// not yet answered, is adopted by the first instance that answers.
    pub(super) fn switch_to(&mut self, tag: InstanceTag) {
        if self.their_instance == tag {
            return;
        }
        let parked = self.others.iter().position(|p| p.their_instance == tag);
        let adoptable = parked.is_none()
            && self.their_instance == InstanceTag::UNKNOWN
            && matches!(self.msg, MessageState::Plaintext);
        if adoptable {
            self.their_instance = tag;
            return;
        }
        let incoming = match parked {
            Some(i) => self.others.swap_remove(i),
            None => Parked {
                msg: MessageState::Plaintext,
                auth: AuthState::None,
                their_instance: tag,
                active: 0,
            },
        };
        self.others.push(Parked {
            msg: core::mem::replace(&mut self.msg, incoming.msg),
            auth: core::mem::replace(&mut self.auth, incoming.auth),
            their_instance: core::mem::replace(&mut self.their_instance, incoming.their_instance),
            active: core::mem::replace(&mut self.active, incoming.active),
        });
        if self.others.len() > MAX_OTHER_INSTANCES {
            // Forget the least recently active instance, private sessions last.
            if let Some(i) = (0..self.others.len()).min_by_key(|&i| {
                let p = &self.others[i];
                (matches!(p.msg, MessageState::Encrypted(_)), p.active)
            }) {
                self.others.swap_remove(i);
            }
        }
    }

    /// Makes the most recently active *trusted* private instance current when there is
    /// one, else the most recently active private instance, so that what the user types
    /// goes to the instance the peer is using (libotr's OTRL_INSTAG_BEST) and never from a
    /// verified key to an unverified one because the latter wrote last.
    pub(super) fn select_best(&mut self, ctx: &Context<'_>) {
        let rank = |msg: &MessageState, active: u64| match msg {
            MessageState::Encrypted(p) => {
                Some((ctx.known.is_trusted(ctx.peer, &p.fingerprint), active))
            }
            MessageState::Plaintext | MessageState::Finished => None,
        };
        let current = rank(&self.msg, self.active);
        let best = self
            .others
            .iter()
            .filter_map(|p| rank(&p.msg, p.active).map(|r| (r, p.their_instance)))
            .max_by_key(|(r, _)| *r);
        if let Some((r, tag)) = best {
            if current.is_none_or(|c| r > c) {
                self.switch_to(tag);
            }
        }
    }

    /// Marks the current instance as just active.
    pub(super) fn touch(&mut self) {
        self.clock += 1;
        self.active = self.clock;
    }
}
