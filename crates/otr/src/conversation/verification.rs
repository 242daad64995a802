//! Within a private session: the socialist millionaires' protocol and the extra symmetric
//! key (TLV 8).

use super::*;
use crate::engine::EngineError;
use crate::smp::SmpError;

/// Sends `tlvs` (SMP) in one data message with an empty text, flagged IGNORE_UNREADABLE as
/// libotr flags its SMP messages.
pub(super) fn send_tlvs(private: &mut PrivateSession, tlvs: Vec<Tlv>, ctx: &mut Context<'_>) {
    if tlvs.is_empty() {
        return;
    }
    let plaintext = encode_plaintext(b"", &tlvs);
    let flags = DataFlags(DataFlags::IGNORE_UNREADABLE);
    match seal(private, flags, &plaintext, ctx.our_instance) {
        Some(data) => ctx.emit_encoded(data, private.version, private.their_instance),
        None => ctx.notify(Notice::NotSent(NotSent::Unencryptable { text: None })),
    }
}

impl Conversation {
    /// A received SMP TLV: advance the state machine, send its reply, tell the user. An
    /// abort we answer a broken message with is rate-limited like our error replies.
    pub(super) fn receive_smp(&mut self, tlv: &Tlv, origin: Origin, ctx: &mut Context<'_>) {
        let MessageState::Encrypted(private) = &mut self.msg else {
            return;
        };
        let step = private.smp.receive(tlv, &mut *ctx.rng);
        let is_abort_reply =
            !step.send.is_empty() && step.send.iter().all(|t| t.kind == TlvType::SMP_ABORT);
        if !is_abort_reply || self.smp_replies.allow(ctx.now) {
            send_tlvs(private, step.send, ctx);
        }
        let answered_question = private.smp.answered_question();
        let fingerprint = private.fingerprint;
        let origin = Some(origin);
        match step.event {
            None => {}
            Some(SmpEvent::Request { question: None }) => {
                ctx.emit_smp(SmpResult::Request, None, origin)
            }
            Some(SmpEvent::Request { question: Some(q) }) => {
                ctx.emit_smp(SmpResult::Question, Some(q), origin)
            }
            Some(SmpEvent::Success) => {
                // As libotr: the side that answered a question has only shown that it knows
                // the answer; it learned nothing about the asker, so it does not trust.
                if !answered_question {
                    ctx.known.set_trusted(ctx.peer, fingerprint, true);
                    self.state_changed = true;
                }
                let origin = origin.map(|o| Origin {
                    trusted: ctx.known.is_trusted(ctx.peer, &fingerprint),
                    ..o
                });
                ctx.emit_smp(SmpResult::Success, None, origin);
            }
            Some(SmpEvent::Failure) => ctx.emit_smp(SmpResult::Failure, None, origin),
            Some(SmpEvent::Aborted) => ctx.emit_smp(SmpResult::Aborted, None, origin),
        }
    }

    /// The user starts SMP with `secret`, optionally asking `question`.
    pub(crate) fn smp_start(
        &mut self,
        secret: &[u8],
        question: Option<&str>,
        ctx: &mut Context<'_>,
    ) -> Result<(), EngineError> {
        let MessageState::Encrypted(private) = &mut self.msg else {
            return Err(EngineError::NoSession);
        };
        let ours = ctx.identity.public().fingerprint();
        let x = smp_secret(
            &ours.0,
            &private.fingerprint.0,
            &private.ssid.bytes(),
            secret,
        );
        let tlvs = private.smp.start(&x, question, &mut *ctx.rng);
        // An abort of a run in progress goes in its own message, before the new start
        // (libotr handles the TLVs of one message in a fixed order, abort last).
        for tlv in tlvs {
            send_tlvs(private, vec![tlv], ctx);
        }
        Ok(())
    }

    /// The user answers the peer's SMP request with `secret`.
    pub(crate) fn smp_respond(
        &mut self,
        secret: &[u8],
        ctx: &mut Context<'_>,
    ) -> Result<(), EngineError> {
        let MessageState::Encrypted(private) = &mut self.msg else {
            return Err(EngineError::NoSession);
        };
        let ours = ctx.identity.public().fingerprint();
        let y = smp_secret(
            &private.fingerprint.0,
            &ours.0,
            &private.ssid.bytes(),
            secret,
        );
        let tlvs = private
            .smp
            .respond(&y, &mut *ctx.rng)
            .map_err(|SmpError::NoRequest| EngineError::NoSmpRequest)?;
        send_tlvs(private, tlvs, ctx);
        Ok(())
    }

    /// Tells the peer (TLV 8) that we use the extra symmetric key for `usage` with
    /// `usedata`, and returns the key: the one of the message that carries the TLV.
    pub(crate) fn extra_symmetric_key(
        &mut self,
        usage: u32,
        usedata: &[u8],
        ctx: &mut Context<'_>,
    ) -> Result<SymmetricKey, EngineError> {
        let MessageState::Encrypted(private) = &mut self.msg else {
            return Err(EngineError::NoSession);
        };
        // Deriving the key set cannot fail in a private session; if it did, there would be
        // no session to speak of.
        let key = private
            .keys
            .sending_extra_key()
            .ok_or(EngineError::NoSession)?;
        let value = [&usage.to_be_bytes()[..], usedata].concat();
        let tlv = Tlv {
            kind: TlvType::EXTRA_SYMMETRIC_KEY,
            value,
        };
        send_tlvs(private, vec![tlv], ctx);
        Ok(key)
    }

    /// The user aborts the SMP run in progress; the peer is told.
    pub(crate) fn smp_abort(&mut self, ctx: &mut Context<'_>) -> Result<(), EngineError> {
        let MessageState::Encrypted(private) = &mut self.msg else {
            return Err(EngineError::NoSession);
        };
        let tlvs = private.smp.abort();
        send_tlvs(private, tlvs, ctx);
        let origin = ctx.origin(private);
        ctx.emit_smp(SmpResult::Aborted, None, Some(origin));
        Ok(())
    }
}
