//! What the engine and the room node produce, shown: wire lines become PRIVMSGs, messages
//! and notices become window lines, state and SMP changes update the query windows.

use super::*;

impl App {
    /// Turns the group node's outputs into IRC commands and lines: room lines go to the
    /// room window, OTR events of private conversations to `handle_engine_events`.
    pub(super) fn handle_outputs(
        &mut self,
        outputs: Vec<Output>,
        channel: Option<usize>,
        now: f64,
        out: &mut Vec<IrcCommand>,
    ) {
        for output in outputs {
            match output {
                Output::Send {
                    to: Target::Private(peer),
                    line,
                } => self.handle_engine_events(
                    vec![Event::Wire { peer, data: line }],
                    channel,
                    now,
                    out,
                ),
                Output::Send {
                    to: Target::Channel(target),
                    line,
                } => out.push(IrcCommand::Privmsg { target, text: line }),
                Output::Otr(Event::State { ref peer, .. })
                    if self.find(peer).is_none() && self.node.room_id().is_some() =>
                {
                    // A session set up for the room: no query window for it (one opens,
                    // with this state, if a private message comes).
                }
                Output::Otr(event) => self.handle_engine_events(vec![event], channel, now, out),
                other => self.on_group(other, now),
            }
        }
    }

    pub(super) fn handle_engine_events(
        &mut self,
        events: Vec<Event>,
        channel: Option<usize>,
        now: f64,
        out: &mut Vec<IrcCommand>,
    ) {
        for event in events {
            match event {
                Event::Wire { peer, data } => {
                    self.note_key_exchange(&peer);
                    out.push(IrcCommand::Privmsg {
                        target: peer,
                        text: data,
                    });
                }
                Event::Message {
                    peer,
                    text,
                    encrypted,
                    origin,
                } => {
                    let i = channel.unwrap_or_else(|| self.open(&peer, WindowKind::Query));
                    let me = self.nick.clone();
                    let w = &mut self.windows[i];
                    // A line from a key other than the one the window shows is marked:
                    // it may come from an impostor instance of the peer.
                    let other_key = origin
                        .map(|o| o.fingerprint)
                        .filter(|fp| Some(*fp) != w.fingerprint);
                    let mentioned = text.to_lowercase().contains(&me.to_lowercase());
                    w.push(
                        now,
                        LineKind::Message {
                            from: peer,
                            private: encrypted,
                            vouched: false,
                            other_key,
                        },
                        &text,
                    );
                    w.bump(if w.kind == WindowKind::Query || mentioned {
                        Activity::Highlight
                    } else {
                        Activity::Message
                    });
                }
                Event::State {
                    peer,
                    state,
                    fingerprint,
                    trusted,
                    ..
                } => self.on_state(&peer, state, fingerprint, trusted, now),
                Event::Smp {
                    peer,
                    result,
                    question,
                    ..
                } => self.on_smp(&peer, result, question, now),
                Event::Notice { peer, notice } => {
                    let i = channel.unwrap_or_else(|| self.open(&peer, WindowKind::Query));
                    if matches!(notice, Notice::AuthFailed(_))
                        && self.windows[i].otr == OtrStatus::Starting
                    {
                        // The engine gave the exchange up.
                        self.windows[i].otr = self.status_from_engine(&peer);
                    }
                    let w = &mut self.windows[i];
                    let text = notices::describe(&notice);
                    match notice {
                        // Held text and its departure are the normal course of a key
                        // exchange, not errors.
                        Notice::Held(HoldReason::KeyExchange) | Notice::HeldSent { .. } => {
                            w.push(now, LineKind::Otr, &text);
                        }
                        _ => {
                            w.push(now, LineKind::Error, &text);
                            w.bump(Activity::Highlight);
                        }
                    }
                }
                Event::ExtraSymmetricKey { peer, usage, .. } => {
                    let i = self.open(&peer, WindowKind::Query);
                    self.windows[i].push(
                        now,
                        LineKind::Otr,
                        &format!("{peer} derived an extra symmetric key (usage {usage:#x}); this client does not use it."),
                    );
                }
                // A later engine version may report more; nothing to show for it yet.
                _ => {}
            }
        }
    }

    /// We are about to send something to `peer`: if it began a key exchange (the engine's
    /// status shows one while not private), the window says so.
    pub(super) fn note_key_exchange(&mut self, peer: &str) {
        let Some(i) = self.find(peer) else { return };
        let w = &self.windows[i];
        if w.kind != WindowKind::Query || w.otr.is_private() {
            return;
        }
        if self.status_from_engine(peer) == OtrStatus::Starting {
            self.windows[i].otr = OtrStatus::Starting;
        }
    }

    pub(super) fn on_state(
        &mut self,
        peer: &str,
        state: ConversationState,
        fingerprint: Option<otr::crypto::Fingerprint>,
        trusted: bool,
        now: f64,
    ) {
        let i = self.open(peer, WindowKind::Query);
        let mut new = status_of(state, trusted);
        if new == OtrStatus::Plaintext && self.status_from_engine(peer) == OtrStatus::Starting {
            // Still plaintext while the key exchange runs.
            new = OtrStatus::Starting;
        }
        let w = &mut self.windows[i];
        let old = w.otr;
        let new_session = fingerprint.is_some() && new.is_private() && !old.is_private();
        let fp_changed = fingerprint != w.fingerprint;
        w.otr = new;
        w.fingerprint = fingerprint;
        let fp_text = fingerprint.map(|f| f.to_string()).unwrap_or_default();
        match new {
            OtrStatus::Unverified | OtrStatus::Private if new_session || fp_changed => {
                let what = if old.is_private() {
                    "refreshed"
                } else {
                    "started"
                };
                w.push(
                    now,
                    LineKind::Otr,
                    &format!("Private conversation with {peer} {what}."),
                );
                if new == OtrStatus::Private {
                    w.push(
                        now,
                        LineKind::Otr,
                        &format!("{peer}'s fingerprint {fp_text} is verified."),
                    );
                } else {
                    w.push(
                        now,
                        LineKind::Otr,
                        &format!("{peer}'s fingerprint {fp_text} is NOT verified: check it with /otr auth SECRET, /otr authq QUESTION SECRET, or compare it and /otr trust."),
                    );
                }
                w.bump(Activity::Highlight);
            }
            OtrStatus::Private if old == OtrStatus::Unverified => {
                w.push(
                    now,
                    LineKind::Otr,
                    &format!("{peer}'s fingerprint {fp_text} is now verified."),
                );
            }
            OtrStatus::Unverified if old == OtrStatus::Private => {
                w.push(
                    now,
                    LineKind::Otr,
                    &format!("{peer}'s fingerprint {fp_text} is no longer verified."),
                );
            }
            OtrStatus::Finished if old != OtrStatus::Finished => {
                w.push(
                    now,
                    LineKind::Otr,
                    &format!("{peer} has ended the private conversation. Nothing you type is sent until you /otr finish (back to plaintext) or /otr init (a new private conversation)."),
                );
                w.bump(Activity::Highlight);
            }
            OtrStatus::Plaintext if old.is_private() || old == OtrStatus::Finished => {
                w.push(
                    now,
                    LineKind::Otr,
                    &format!(
                        "Private conversation with {peer} ended: messages now go out in the clear."
                    ),
                );
            }
            _ => {}
        }
    }

    pub(super) fn on_smp(
        &mut self,
        peer: &str,
        result: SmpResult,
        question: Option<String>,
        now: f64,
    ) {
        let i = self.open(peer, WindowKind::Query);
        let w = &mut self.windows[i];
        let text = match result {
            SmpResult::Request => {
                w.smp = SmpStatus::Requested(None);
                format!("{peer} wants to verify you with a secret you both know: answer with /otr auth SECRET (or /otr abort).")
            }
            SmpResult::Question => {
                let q = question.unwrap_or_default();
                let text = format!("{peer} wants to verify you and asks: {q}  Answer with /otr auth ANSWER (or /otr abort).");
                w.smp = SmpStatus::Requested(Some(q));
                text
            }
            SmpResult::Success => {
                let answered = w.smp == SmpStatus::Answered { question: true };
                w.smp = SmpStatus::Idle;
                if answered {
                    format!("You answered {peer}'s question correctly: {peer} has verified you. To verify {peer} in turn, ask your own: /otr authq QUESTION SECRET.")
                } else {
                    format!("Authentication with {peer} succeeded: the secrets match.")
                }
            }
            SmpResult::Failure => {
                w.smp = SmpStatus::Idle;
                format!("Authentication with {peer} FAILED: the secrets differ. {peer}'s fingerprint is not verified.")
            }
            SmpResult::Aborted => {
                w.smp = SmpStatus::Idle;
                format!("Authentication with {peer} aborted.")
            }
            _ => return,
        };
        let kind = if result == SmpResult::Failure {
            LineKind::Error
        } else {
            LineKind::Otr
        };
        w.push(now, kind, &text);
        w.bump(Activity::Highlight);
    }
}
