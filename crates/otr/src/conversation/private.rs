//! The private session: entering it when a key exchange completes (sending what was held),
//! and reading its data messages (parse, then verify; the replaced session's keys still read
//! what was in flight).

use super::*;

impl Conversation {
    /// The AKE completed: switch to the new keys and send what was held. A session whose
    /// keys we already had (the same secure session id as a past session: the same D-H
    /// values) is refused, so no two sessions ever encrypt under the same key and counter.
    pub(super) fn go_encrypted(&mut self, success: AkeSuccess, ctx: &mut Context<'_>) {
        // The exchange is over, whether its session is taken or refused.
        self.exchange = None;
        if self.seen_ssids.contains(&success.ssid) {
            ctx.notify(Notice::AuthFailed(AkeError::RepeatedSession));
            return;
        }
        if self.seen_ssids.len() >= MAX_SEEN_SSIDS {
            self.seen_ssids.pop_front();
        }
        self.seen_ssids.push_back(success.ssid);
        let fingerprint = success.their_long_term.fingerprint();
        ctx.known.insert(ctx.peer, fingerprint);
        let AkeSuccess {
            version,
            our_dh,
            their_dh,
            their_keyid,
            their_long_term,
            ssid,
            we_initiated,
        } = success;
        let mut keys = DataKeys::after_ake(their_dh, their_keyid, our_dh, &mut *ctx.rng);
        // The replaced session's keys read what is still in flight (same key only); their
        // MAC keys are revealed once they read nothing more, as a rotation would have.
        let retired = match core::mem::take(&mut self.msg) {
            MessageState::Encrypted(mut old) => {
                if let Some(mut older) = old.retired.take() {
                    keys.reveal_later(older.take_all_reveals());
                }
                if old.fingerprint == fingerprint {
                    Some(old.keys)
                } else {
                    keys.reveal_later(old.keys.take_all_reveals());
                    None
                }
            }
            MessageState::Plaintext | MessageState::Finished => None,
        };
        let their_instance = if version == ProtocolVersion::V2 {
            InstanceTag::UNKNOWN
        } else {
            self.their_instance
        };
        let private = Box::new(PrivateSession {
            version,
            their_instance,
            their_long_term,
            fingerprint,
            keys,
            retired,
            ssid: SessionId::new(
                ssid,
                if we_initiated {
                    SessionIdHalf::First
                } else {
                    SessionIdHalf::Second
                },
            ),
            smp: Smp::default(),
        });
        self.last_sent = ctx.now;
        self.error_replies.reset();
        self.error_queries.reset();
        self.smp_replies.reset();
        self.msg = MessageState::Encrypted(private);
        self.touch();
        self.state_changed = true;
        if !self.held.is_empty() || self.may_retransmit {
            // Something typed goes to this instance now: say so first.
            self.emit_state(ctx);
        }
        let MessageState::Encrypted(private) = &mut self.msg else {
            return;
        };
        let mut sent = 0;
        for held in core::mem::take(&mut self.held) {
            let plaintext = encode_plaintext(held.text.as_bytes(), &[]);
            match seal(private, DataFlags::default(), &plaintext, ctx.our_instance) {
                Some(data) => {
                    ctx.emit_encoded(data, private.version, private.their_instance);
                    sent += 1;
                    remember(&mut self.recent, &held.text, ctx.now);
                    self.last_message = Some(LastMessage {
                        text: held.text,
                        fingerprint,
                        instance: private.their_instance,
                        announced_keyid: private.keys.announced_keyid(),
                        sent_at: ctx.now,
                    });
                }
                None => ctx.notify(Notice::NotSent(NotSent::Unencryptable {
                    text: Some(held.text.as_str().to_owned()),
                })),
            }
        }
        if sent > 0 {
            ctx.notify(Notice::HeldSent { count: sent });
        }
        if core::mem::take(&mut self.may_retransmit) {
            resend_last(&mut self.last_message, &mut self.last_sent, private, ctx);
        }
    }

    pub(super) fn receive_data(&mut self, message: &EncodedMessage, ctx: &mut Context<'_>) {
        let ignore_unreadable =
            matches!(&message.body, MessageBody::Data(d) if d.flags.ignore_unreadable());
        let MessageState::Encrypted(private) = &mut self.msg else {
            let other_instance_private = self
                .others
                .iter()
                .any(|p| matches!(p.msg, MessageState::Encrypted(_)));
            // While another instance of the peer is private with us, this was most likely
            // meant for another of our instances: drop it quietly, as libotr does.
            if !ignore_unreadable && !other_instance_private {
                self.report_unreadable(DataError::NoSession, ctx);
            }
            return;
        };
        if message.version == ProtocolVersion::V3
            && message.sender_instance != private.their_instance
        {
            // For another instance of the peer: not ours to answer (Protocol-v3.html,
            // "Instance Tags").
            return;
        }
        if message.version != private.version {
            if !ignore_unreadable {
                self.report_unreadable(DataError::WrongVersion, ctx);
            }
            return;
        }
        let opened = match private.keys.open(message, &mut *ctx.rng) {
            Ok(v) => {
                if let Some(mut old) = private.retired.take() {
                    private.keys.reveal_later(old.take_all_reveals());
                }
                Ok(v)
            }
            Err(e) => match private
                .retired
                .as_mut()
                .map(|old| old.open(message, &mut *ctx.rng))
            {
                Some(Ok(v)) => Ok(v),
                Some(Err(_)) | None => Err(e),
            },
        };
        let verified = match opened {
            Ok(v) => v,
            Err(DataError::Replay) => {
                // We read this message (or it came after one we read under the same keys):
                // a replay. No error goes back, which would make the sender resend what we
                // already showed.
                ctx.notify(Notice::Unreadable(DataError::Replay));
                return;
            }
            Err(e) => {
                if !ignore_unreadable {
                    self.report_unreadable(e, ctx);
                }
                return;
            }
        };
        let plaintext = match decode_plaintext(&verified.bytes) {
            Ok(p) => p,
            Err(e) => {
                ctx.notify(Notice::MalformedContents(e));
                return;
            }
        };
        let origin = ctx.origin(private);
        self.error_replies.reset();
        self.error_queries.reset();
        self.touch();
        let disconnected = plaintext
            .tlvs
            .iter()
            .any(|t| t.kind == TlvType::DISCONNECTED);
        if !plaintext.text.is_empty() {
            ctx.emit_message(
                String::from_utf8_lossy(&plaintext.text).into_owned(),
                Some(origin),
            );
            if !disconnected {
                self.maybe_heartbeat(ctx);
            }
        }
        for tlv in plaintext
            .tlvs
            .iter()
            .filter(|t| t.kind == TlvType::EXTRA_SYMMETRIC_KEY)
        {
            // Four bytes of usage, then use-specific data; a shorter TLV is ignored.
            if let Some((usage, usedata)) = tlv.value.split_first_chunk::<4>() {
                ctx.out.push(Event::ExtraSymmetricKey {
                    peer: ctx.peer.to_owned(),
                    usage: u32::from_be_bytes(*usage),
                    usedata: usedata.to_vec(),
                    key: verified.extra_key.clone(),
                    origin,
                });
            }
        }
        // One SMP record per data message, as libotr sends them: the rest of a message
        // packed with thousands would otherwise cost an exponentiation and an answer each.
        let smp_tlv = plaintext
            .tlvs
            .iter()
            .find(|t| (TlvType::SMP1.0..=TlvType::SMP1Q.0).contains(&t.kind.0));
        if let Some(tlv) = smp_tlv {
            self.receive_smp(tlv, origin, ctx);
        }
        if disconnected {
            self.msg = MessageState::Finished;
            self.auth.reset();
            self.state_changed = true;
        }
    }

    fn report_unreadable(&mut self, why: DataError, ctx: &mut Context<'_>) {
        ctx.notify(Notice::Unreadable(why));
        if self.error_replies.allow(ctx.now) {
            ctx.emit_wire(text::error_message(UNREADABLE_ERROR_TEXT));
        }
    }
}
