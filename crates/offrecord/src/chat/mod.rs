//! `offrecord chat`: a full-screen IRC client with OTR private conversations.
//!
//! * [`app`]: the client's core, sans-IO (windows, commands, the OTR engine); tests drive it
//!   directly, pairing two of them in memory or through a real IRC server.
//! * [`command`]: the commands as data: names, aliases, `/help` generated, pure parsing.
//! * [`input`]: the input line: editing, the cursor, the history (secrets never kept).
//! * [`window`]: windows, their lines and rendering, unseen activity, OTR status as shown.
//! * [`ui`]: draws an [`app::App`] with ratatui into any backend (a terminal, or a test
//!   buffer).
//! * [`run`]: the terminal event loop: keyboard, the IRC transport, ticks, key generation
//!   with progress, saving trust.

pub mod app;
pub mod command;
pub mod input;
pub mod run;
pub mod ui;
pub mod window;
