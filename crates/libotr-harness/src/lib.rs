//! libotr harness (helper)
