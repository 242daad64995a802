//! offrecord: private, deniable conversations over the chat networks people already use.
//!
//! The library half of the `offrecord` binary, so that its parts can be tested in-process:
//!
//! * [`rpc`]: `offrecord rpc`, the OTR engine over JSON lines on stdio (the engine protocol).
//! * [`notices`]: how the engine's notices, refusals, states and SMP results read, for people
//!   (one sentence each, the same in every front end) and in the engine protocol's JSON.
//! * [`identity`], [`store`]: libotr's files and the `--home` directory holding each account's
//!   key, instance tag and trust (the engine's `otr::files`, re-exported).
//! * [`commands`]: `keygen`, `fingerprint`, `contacts`, `trust`, `distrust`, `import`, `export`.
//! * [`chat`]: `offrecord chat`, the terminal IRC client with OTR.
//! * [`demo`]: `offrecord demo`, Alice and Bob talking over an in-memory network.
//! * [`toolkit`]: `offrecord toolkit`, libotr's forgeability toolkit (parse, forge, re-MAC).
#![forbid(unsafe_code)]

pub mod chat;
pub mod chatinfo_file;
pub mod commands;
pub mod demo;
pub mod group_demo;
pub use otr::files as identity;
pub mod notices;
pub mod rpc;
pub use otr::files::store;
pub mod toolkit;
