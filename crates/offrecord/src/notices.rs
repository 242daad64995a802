//! How the engine's typed output reads, in one place for every front end: the sentences a
//! person sees for a [`Notice`] or an [`EngineError`] (the chat client's lines and the `rpc`
//! error events' `message` say the same thing), and the engine protocol's JSON names
//! (`docs/engine-protocol.md`) for notices, refusals, conversation states and SMP results.
//!
//! The engine (`otr`) carries data, never English: what it knows about a notice (the text
//! not sent, the [`DataError`] that made a message unreadable, the [`AkeError`] that failed a
//! key exchange) is worded here.

use otr::{
    AkeError, ConversationState, DataError, EngineError, HoldReason, NotSent, Notice, SmpResult,
};

/// A sentence for a person about `notice`.
pub fn describe(notice: &Notice) -> String {
    match notice {
        Notice::Held(HoldReason::EncryptionRequired) => {
            "Your message will be sent once the private conversation is set up (the policy requires encryption).".to_owned()
        }
        Notice::Held(HoldReason::KeyExchange) => {
            "Message held until the private conversation starts.".to_owned()
        }
        Notice::Held(other) => format!("Message held until the private conversation starts ({other:?})."),
        Notice::HeldSent { count } => format!("{count} held message(s) sent privately."),
        Notice::NotSent(not_sent) => describe_not_sent(not_sent),
        Notice::Resent { text } => format!("Your last message was sent again: {text}"),
        Notice::Unreadable(DataError::Replay) => {
            "A copy of an encrypted message that was already received was ignored.".to_owned()
        }
        Notice::Unreadable(why) => format!("An encrypted message could not be read: {why}."),
        Notice::Malformed(otr::wire::InvalidMessage::NestedFragment) => {
            "A reassembled OTR message was itself a fragment.".to_owned()
        }
        Notice::Malformed(e) => format!("A malformed OTR message was received ({e:?})."),
        Notice::MalformedContents(e) => {
            format!("A private message had malformed contents ({e:?}).")
        }
        Notice::AuthFailed(AkeError::RepeatedSession) => {
            "A key exchange that repeated the keys of an earlier private conversation was refused (a replayed or re-addressed key exchange).".to_owned()
        }
        Notice::AuthFailed(e) => format!("The key exchange failed: {e}."),
        Notice::PeerError { text, unread } => {
            let mut sentence = format!("OTR error from the peer: {text}");
            if !unread.is_empty() {
                let quoted: Vec<String> = unread.iter().map(|t| format!("\u{ab}{t}\u{bb}")).collect();
                sentence.push_str(&format!(
                    " It may not have read what you sent in the last minute: {}.",
                    quoted.join(", ")
                ));
            }
            sentence
        }
        Notice::Unencrypted => "The message above was received unencrypted.".to_owned(),
        Notice::QueryInChannel => {
            "An OTR query in a channel was ignored: private conversations start in private.".to_owned()
        }
        Notice::OtrInChannel => {
            "An OTR message arrived in a channel, where OTR is not used; it was ignored.".to_owned()
        }
        Notice::TooManyPeers => format!(
            "Ignored: already in {} conversations that are all in use.",
            otr::engine::MAX_PEERS
        ),
        other => format!("{other:?}"),
    }
}

fn describe_not_sent(not_sent: &NotSent) -> String {
    match not_sent {
        NotSent::PeerFinished => "Your message was not sent: the peer has ended the private conversation. End it too, or start a new one.".to_owned(),
        NotSent::NoSession { text } => {
            format!("Not sent, because no private conversation could be set up: {text}")
        }
        NotSent::OtherSession { text } => format!(
            "Not resent, because the new private conversation is with a different key or device: {text}"
        ),
        NotSent::Unencryptable { text: Some(text) } => format!(
            "Not sent, because the private conversation cannot encrypt any more (start a new one): {text}"
        ),
        NotSent::Unencryptable { text: None } => {
            "An SMP message could not be encrypted.".to_owned()
        }
        NotSent::Unfragmentable(e) => {
            format!("An OTR message could not be split to fit the network ({e}).")
        }
        other => format!("Not sent ({other:?})."),
    }
}

/// A sentence for a person about a call the engine refused for `peer`.
pub fn describe_error(error: &EngineError, peer: &str) -> String {
    match error {
        EngineError::OtrDisabled => "OTR is disabled by the policy for this peer.".to_owned(),
        EngineError::NoSession => format!("There is no private conversation with {peer}."),
        EngineError::NoSmpRequest => {
            format!("Cannot answer: {peer} has not asked to verify (no SMP request to answer).")
        }
        other => format!("Refused: {other}."),
    }
}

/// The engine protocol's `code` of the `error` event for `notice`; `None` for a notice the
/// protocol does not report ([`Notice::HeldSent`]: a caller learns what was held from the
/// `encryption_required` error, and that it left from the `wire` events).
pub fn notice_code(notice: &Notice) -> Option<&'static str> {
    Some(match notice {
        Notice::Held(HoldReason::EncryptionRequired) => "encryption_required",
        Notice::Held(_) => "held",
        Notice::HeldSent { .. } => return None,
        Notice::NotSent(NotSent::PeerFinished) => "finished",
        Notice::NotSent(_) => "not_sent",
        Notice::Resent { .. } => "resent",
        Notice::Unreadable(_) => "unreadable",
        Notice::Malformed(_) | Notice::MalformedContents(_) | Notice::OtrInChannel => "malformed",
        Notice::AuthFailed(_) => "auth_failed",
        Notice::PeerError { .. } => "peer_error",
        Notice::Unencrypted | Notice::QueryInChannel => "unencrypted",
        Notice::TooManyPeers => "unsupported",
        _ => "notice",
    })
}

/// The engine protocol's `code` of the `error` event for a refused call.
pub fn error_code(error: &EngineError) -> &'static str {
    match error {
        EngineError::OtrDisabled => "unsupported",
        EngineError::NoSession => "no_session",
        EngineError::NoSmpRequest => "no_smp_request",
        _ => "refused",
    }
}

/// The engine protocol's name of a conversation state: `plaintext`, `encrypted` or
/// `finished`.
pub fn state_name(state: ConversationState) -> &'static str {
    match state {
        ConversationState::Plaintext => "plaintext",
        ConversationState::Encrypted => "encrypted",
        ConversationState::Finished => "finished",
        _ => "unknown",
    }
}

/// The engine protocol's name of an SMP result: `request`, `question`, `success`,
/// `failure` or `aborted`.
pub fn smp_name(result: SmpResult) -> &'static str {
    match result {
        SmpResult::Request => "request",
        SmpResult::Question => "question",
        SmpResult::Success => "success",
        SmpResult::Failure => "failure",
        SmpResult::Aborted => "aborted",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The codes are a public contract (`docs/engine-protocol.md`): they never change.
    #[test]
    fn every_notice_keeps_its_protocol_code() {
        let text = || "t".to_owned();
        let cases = [
            (
                Notice::Held(HoldReason::EncryptionRequired),
                Some("encryption_required"),
            ),
            (Notice::HeldSent { count: 2 }, None),
            (Notice::NotSent(NotSent::PeerFinished), Some("finished")),
            (
                Notice::NotSent(NotSent::NoSession { text: text() }),
                Some("not_sent"),
            ),
            (
                Notice::NotSent(NotSent::OtherSession { text: text() }),
                Some("not_sent"),
            ),
            (
                Notice::NotSent(NotSent::Unencryptable { text: None }),
                Some("not_sent"),
            ),
            (Notice::Resent { text: text() }, Some("resent")),
            (Notice::Unreadable(DataError::BadMac), Some("unreadable")),
            (
                Notice::Malformed(otr::wire::InvalidMessage::BadBase64),
                Some("malformed"),
            ),
            (
                Notice::MalformedContents(otr::wire::InvalidMessage::BadTlv),
                Some("malformed"),
            ),
            (Notice::OtrInChannel, Some("malformed")),
            (Notice::AuthFailed(AkeError::BadMac), Some("auth_failed")),
            (
                Notice::PeerError {
                    text: text(),
                    unread: vec![],
                },
                Some("peer_error"),
            ),
            (Notice::Unencrypted, Some("unencrypted")),
            (Notice::QueryInChannel, Some("unencrypted")),
            (Notice::TooManyPeers, Some("unsupported")),
        ];
        for (notice, code) in cases {
            assert_eq!(notice_code(&notice), code, "{notice:?}");
            assert!(describe(&notice).ends_with(['.', 't']), "{notice:?}");
        }
        assert_eq!(error_code(&EngineError::OtrDisabled), "unsupported");
        assert_eq!(error_code(&EngineError::NoSession), "no_session");
        assert_eq!(error_code(&EngineError::NoSmpRequest), "no_smp_request");
        assert_eq!(state_name(ConversationState::Encrypted), "encrypted");
        assert_eq!(smp_name(SmpResult::Question), "question");
    }

    #[test]
    fn a_peer_error_names_what_may_be_unread() {
        let notice = Notice::PeerError {
            text: "boom".into(),
            unread: vec!["one".into(), "two".into()],
        };
        assert_eq!(
            describe(&notice),
            "OTR error from the peer: boom It may not have read what you sent in the last minute: \u{ab}one\u{bb}, \u{ab}two\u{bb}."
        );
    }
}
