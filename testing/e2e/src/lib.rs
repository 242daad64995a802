//! Test-only: offrecord's layers end to end over real servers, in a crate of their own so
//! that the library crates do not dev-depend on each other. The tests are in `tests/`:
//!
//! * `irc_otr_over_ngircd.rs`: our engine and libotr talking OTR through a real ngircd over
//!   the `irc` transport;
//! * `group_ngircd.rs`, `group_ngircd_room.rs`, `group_ngircd_50.rs`: rooms over a real
//!   ngircd with its flood control (timings printed, not asserted).
//!
//! They share the group layer's embedded-network helpers (`crates/group/tests/support`) and
//! the transport's test client (`crates/irc/tests/support`) by path: each helper is written
//! once.
