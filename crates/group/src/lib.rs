//! Group conversations over OTR, after "Off-the-Record Instant Message for group
//! conversation": one participant, the host (the paper's virtual server), holds an ordinary
//! OTR session with every member and relays every message, re-encrypting it for each.
//!
//! This crate closes the paper's open problems:
//!
//! - only the host admits members, and announces a roster with each member's fingerprint;
//!   members reject room content from anyone else;
//! - the original sender of a relayed message is authenticated end to end with a MAC under
//!   a key only the sender and the recipient hold (derived from the extra symmetric key of
//!   their own OTR session): deniable, no signatures;
//! - members detect a host that drops, reorders, alters, invents or equivocates by
//!   comparing hash-chain digests of their transcripts over their own OTR sessions;
//! - stock OTR clients take part as thin members; the room hands off to a new host, chosen
//!   by a rule everyone computes the same way, when the host leaves.
//!
//! Like `otr`, it is sans-IO: a [`Node`] takes lines, user actions and the time, and
//! returns [`Output`]s. The protocol is specified in `docs/group-protocol.md`.
//!
//! Modules: [`envelope`] (wire formats and channel tags), [`chain`] (transcript chain,
//! pairwise MACs), [`order`] (who hosts next, the digest ring), [`limits`] (the caps on
//! what others can make a node hold or send), [`chatinfo`] (the room state file),
//! [`node`] (the state machine), [`output`] (what the caller transmits or shows).

pub mod chain;
pub mod chatinfo;
pub mod envelope;
pub mod limits;
pub mod node;
pub mod order;
pub mod output;

pub use chatinfo::{ChatInfo, SecurityLevel};
pub use envelope::{Envelope, MemberKind, RoomId, Roster, RosterEntry};
pub use node::{
    Config, Delivery, GroupError, Node, RelayHook, Stats, Transcript, Usage, GROUP_KEY_USAGE,
};
pub use output::{Alert, Auth, Divergence, ForgeReason, GroupMessage, LeftReason, Output, Target};
