//! Fixed-width constant-time Montgomery arithmetic (crypto helper).
