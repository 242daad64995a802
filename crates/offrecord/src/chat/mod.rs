//! `offrecord chat`: a full-screen IRC client with OTR private conversations.
//!
//! * [`app`]: the client's core, sans-IO (windows, commands, the OTR engine); tests drive it
//!   directly, pairing two of them in memory or through a real IRC server.

pub mod app;
