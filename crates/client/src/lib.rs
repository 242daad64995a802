//! offrecord's client core, sans-IO: what makes OTR and rooms usable from a client, in one
//! place for every front end (the terminal client, the IRC proxy) and every transport
//! (IRC, XMPP).
//!
//! A [`Client`] owns one account's OTR engine, inside the room node that rides on its
//! sessions. The caller feeds it what the transport reported ([`Client::on_net`] with a
//! [`NetEvent`]), what the user did ([`Client::act`] with an [`Action`]) and the time
//! ([`Client::tick`]); each returns a [`Step`]: [`NetCommand`]s for the transport and
//! [`Update`]s for the front end, in order. Sentences are the front end's: updates carry
//! data ([`otr::Notice`], [`otr::Status`], [`group::Output`]).
//!
//! What it takes care of:
//! * private conversations: text typed during a key exchange is held (in the engine) and
//!   sent once private; plain text is split to what one line carries and OTR messages are
//!   fragmented to it; every change of a conversation's status is reported once, with what
//!   changed ([`PrivateChange`]); a line from another key than the conversation's is
//!   marked; a peer's new nick keeps its conversation and its verification;
//! * rooms: host, invite, accept (joining the room's channel first), leave; the room's
//!   timers; checking every [`HOST_POLL_SECS`] that the host is still online, and handing
//!   off when the network says it is gone;
//! * leaving: every private conversation is ended before the quit.
//!
//! ```
//! use client::{Action, Client, ClientConfig, Conversation, NetCommand};
//! use otr::{crypto::DsaPrivateKey, Engine, EngineConfig};
//! use rand_core::OsRng;
//!
//! let engine = Engine::new(DsaPrivateKey::generate(&mut OsRng), EngineConfig::default(), Box::new(OsRng));
//! let mut alice = Client::new(engine, ClientConfig::new("alice"));
//! let step = alice.act(Action::Say { to: Conversation::Channel("#rust".into()), text: "hi".into() });
//! assert_eq!(step.commands, vec![NetCommand::Public { channel: "#rust".into(), text: "hi".into() }]);
//! ```
#![forbid(unsafe_code)]

mod client;
mod room;
pub mod text;
mod vocabulary;

pub use client::{Client, ClientConfig, Step};
pub use room::HOST_POLL_SECS;
pub use vocabulary::{
    Absence, Action, Conversation, Delivery, NetCommand, NetEvent, PrivateChange, Refusal,
    RoomAction, TextAuth, Update,
};
