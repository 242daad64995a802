#![allow(clippy::unwrap_used)]
use super::*;

fn room() -> RoomId {
    RoomId::parse("0123456789abcdef").unwrap()
}

#[test]
fn round_trips() {
    let fp = Fingerprint([7; 20]);
    let all = vec![
        Envelope::Invite {
            room: room(),
            channel: None,
        },
        Envelope::Invite {
            room: room(),
            channel: Some("#off-the-record".into()),
        },
        Envelope::Join { room: room() },
        Envelope::Welcome {
            room: room(),
            epoch: 2,
            gseq: 9,
            anchor: [3; 32],
        },
        Envelope::Relay {
            room: room(),
            epoch: 1,
            gseq: 4,
            item: Item::Msg(MsgItem {
                sender: "bob".into(),
                sseq: 3,
                seen: 2,
                body: "hé\nllo ? ,:".into(),
            }),
            mac: Some([9; MAC_LEN]),
        },
        Envelope::Relay {
            room: room(),
            epoch: 1,
            gseq: 5,
            item: Item::Roster(Roster {
                host: "alice".into(),
                members: vec![
                    RosterEntry {
                        nick: "alice".into(),
                        fingerprint: fp,
                        kind: MemberKind::Full,
                    },
                    RosterEntry {
                        nick: "irssi".into(),
                        fingerprint: fp,
                        kind: MemberKind::Thin,
                    },
                ],
            }),
            mac: None,
        },
        Envelope::Say {
            room: room(),
            sseq: 1,
            seen: 0,
            body: String::new(),
            macs: vec![("c".into(), [1; MAC_LEN]), ("d".into(), [2; MAC_LEN])],
        },
        Envelope::Resend {
            room: room(),
            epoch: 1,
            from: 3,
            to: 8,
        },
        Envelope::Bye {
            room: room(),
            closed: true,
        },
        Envelope::Leave { room: room() },
        Envelope::KeyAck {
            room: room(),
            kid: [5; KID_LEN],
            from: 12,
        },
        Envelope::Digest {
            room: room(),
            epoch: 1,
            gseq: 16,
            head: [8; 32],
        },
    ];
    for e in all {
        let s = e.encode();
        assert!(!s.contains('\n'), "{s}");
        assert_eq!(Envelope::decode(&s).unwrap(), e, "{s}");
        let extra = Envelope::decode(&format!("{s} x"));
        if matches!(e, Envelope::Invite { channel: None, .. }) {
            // "x" stands where the optional channel would, and is not one.
            assert_eq!(extra, Err(EnvelopeError::Malformed("channel")));
        } else {
            assert_eq!(extra, Err(EnvelopeError::Trailing));
        }
    }
    // The form without a channel (before channels were announced) is private delivery.
    assert_eq!(
        Envelope::decode("?GRP2 inv 0123456789abcdef").unwrap(),
        Envelope::Invite {
            room: room(),
            channel: None
        }
    );
}

#[test]
fn garbage_is_refused_without_panic() {
    for s in [
        "",
        "?GRP2 ",
        "?GRP2 rel",
        "?GRP2 rel 0123456789abcdef 1 99999999999999999999999 m a 1 1 - x",
        "?GRP2 rel 0123456789abcdef 1 1 m a 1 1 AAAA x",
        "?GRP2 say 0123456789abcdef 1 1 _w ::,",
        "?GRP2 rel 0123456789abcdef 1 1 r a a:zz:f",
        "?GRP2 pk 0123456789ABCDEF AAAAAAAAAAA 1",
        "?GRP2 zz 0123456789abcdef",
        "?GRP2 inv 0123456789abcdef ",
        "?GRP2 inv 0123456789abcdef chan",
        "?GRP2 inv 0123456789abcdef #",
        "?GRP2 inv 0123456789abcdef #a:b",
        "?GRP2 inv 0123456789abcdef #a,#b",
        "?GRP2 inv 0123456789abcdef #a\u{7}",
    ] {
        assert!(Envelope::decode(s).is_err(), "{s}");
    }
}

#[test]
fn other_versions_are_recognised() {
    assert!(other_version("?GRP1 inv 0123456789abcdef"));
    assert!(other_version("?GRP17 anything"));
    assert!(!other_version("?GRP2 inv 0123456789abcdef"));
    assert!(!other_version("?GRP hello"));
    assert!(!other_version("?GRP1x"));
    assert!(!other_version("hello"));
}

#[test]
fn tags() {
    let line = tag("bob", "carol", "?OTR:AAMD");
    assert_eq!(line, "?RECV?bob?ENDRECV??SEND?carol?ENDSEND??OTR:AAMD");
    let t = untag(&line).unwrap();
    assert_eq!((t.to, t.from, t.payload), ("bob", "carol", "?OTR:AAMD"));
    assert!(untag("?RECV?bob?ENDRECV?hello").is_none());
    assert!(untag("hello").is_none());
}
