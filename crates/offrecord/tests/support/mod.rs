//! Code shared by the integration tests that run through a real ngircd.
#![allow(dead_code)]

pub mod ngircd_chat;
