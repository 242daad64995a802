//! A sans-IO Off-the-Record Messaging engine (OTR protocol versions 3 and 2),
//! wire-compatible with libotr 4.1.1.
//!
//! The [`Engine`] holds one account's identity and a conversation per peer. It never touches
//! a socket, a clock or the OS random generator: the caller passes in what arrived and what
//! the user typed, and gets back [`Event`]s: wire messages to transmit, messages to show,
//! state changes and [`Notice`]s, all as data (no sentence for a person: front ends word
//! them). A call that cannot be done returns an [`EngineError`] instead. Time comes in as
//! [`Time`] through [`Engine::tick`]; [`Engine::status`] says what a status line shows.
//!
//! Modules, bottom up: [`crypto`] (DH, DSA, AES/SHA/HMAC), [`wire`] (the codecs), `ake`
//! (the authenticated key exchange), `keys` (data-phase key rotation), `conversation` (the
//! message state machine), [`engine`] (the account). With the feature `libotr-files`,
//! `files` reads and writes libotr's key, fingerprint and instance tag files (the one
//! module that does I/O). The building blocks (`crypto`, `wire`, `smp`, `fragment`) are
//! public only with the feature `low-level` (the forgeability toolkit and the group layer
//! use them); what the engine's API names from them is re-exported here.
#![cfg_attr(not(test), forbid(unsafe_code))]

mod ake;
mod conversation;
#[cfg(feature = "low-level")]
pub mod crypto;
#[cfg(not(feature = "low-level"))]
#[allow(dead_code, unused_imports)]
pub(crate) mod crypto;
pub mod engine;
pub mod event;
#[cfg(feature = "libotr-files")]
pub mod files;
#[cfg(feature = "low-level")]
pub mod fragment;
#[cfg(not(feature = "low-level"))]
#[allow(dead_code, unused_imports)]
pub(crate) mod fragment;
mod keys;
#[cfg(feature = "keystream-oracle")]
pub mod oracle;
pub mod policy;
mod session_id;
#[cfg(feature = "low-level")]
pub mod smp;
#[cfg(not(feature = "low-level"))]
#[allow(dead_code, unused_imports)]
pub(crate) mod smp;
mod time;
pub mod trust;
#[cfg(feature = "low-level")]
pub mod wire;
#[cfg(not(feature = "low-level"))]
#[allow(dead_code, unused_imports)]
pub(crate) mod wire;

pub use ake::AkeError;
pub use engine::{Engine, EngineConfig, EngineError, KeyExchange, Status};
pub use event::{ConversationState, Event, HoldReason, NotSent, Notice, Origin, SmpResult};
pub use keys::{DataError, DataKeySet, RevealedMacKey, SymmetricKey};
pub use policy::Policy;
pub use session_id::{SessionId, SessionIdHalf};
pub use time::Time;
pub use trust::KnownFingerprints;

// What the public API names from the low-level modules, available without them.
pub use crypto::{DsaPrivateKey, DsaPublicKey, Fingerprint};
pub use fragment::FragmentError;
pub use wire::encoded::InstanceTag;
pub use wire::InvalidMessage;
