//! A sans-IO Off-the-Record Messaging engine (OTR protocol versions 3 and 2),
//! wire-compatible with libotr 4.1.1.
#![cfg_attr(not(test), forbid(unsafe_code))]

pub mod crypto;
pub mod wire;
