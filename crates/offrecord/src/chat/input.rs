//! The input line: editing, the cursor, and the history of what was typed. A line that
//! holds an SMP secret (`/otr auth ...`) never enters the history, and what leaves the line
//! is zeroized.

use zeroize::{Zeroize, Zeroizing};

/// Lines kept in the input history.
pub const HISTORY: usize = 500;

/// An editing key (the rest of [`super::app::Key`] is the window's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Edit {
    Insert(char),
    Backspace,
    Delete,
    Left,
    Right,
    Home,
    End,
    Clear,
    Up,
    Down,
}

/// The line being typed and the history.
#[derive(Default)]
pub struct InputLine {
    chars: Vec<char>,
    cursor: usize,
    history: Vec<String>,
    history_pos: Option<usize>,
    /// What the user had typed before walking the history.
    draft: String,
}

impl core::fmt::Debug for InputLine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("InputLine")
            .field("len", &self.chars.len())
            .field("history", &self.history.len())
            .finish_non_exhaustive()
    }
}

impl Drop for InputLine {
    fn drop(&mut self) {
        self.chars.zeroize();
        self.draft.zeroize();
    }
}

impl InputLine {
    /// The line as typed so far.
    pub fn text(&self) -> String {
        self.chars.iter().collect()
    }

    /// The cursor's position, in characters.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// The history, oldest first.
    pub fn history(&self) -> &[String] {
        &self.history
    }

    /// Applies an editing key.
    pub(crate) fn edit(&mut self, edit: Edit) {
        match edit {
            Edit::Insert(c) if !c.is_control() => {
                self.chars.insert(self.cursor, c);
                self.cursor += 1;
            }
            Edit::Insert(_) => {}
            Edit::Backspace => {
                if self.cursor > 0 {
                    self.cursor -= 1;
                    self.chars.remove(self.cursor);
                }
            }
            Edit::Delete => {
                if self.cursor < self.chars.len() {
                    self.chars.remove(self.cursor);
                }
            }
            Edit::Left => self.cursor = self.cursor.saturating_sub(1),
            Edit::Right => self.cursor = (self.cursor + 1).min(self.chars.len()),
            Edit::Home => self.cursor = 0,
            Edit::End => self.cursor = self.chars.len(),
            Edit::Clear => {
                self.chars.zeroize();
                self.chars.clear();
                self.cursor = 0;
            }
            Edit::Up => {
                let pos = match self.history_pos {
                    None if self.history.is_empty() => return,
                    None => {
                        self.draft = self.text();
                        self.history.len() - 1
                    }
                    Some(p) => p.saturating_sub(1),
                };
                self.history_pos = Some(pos);
                self.set(&self.history[pos].clone());
            }
            Edit::Down => match self.history_pos {
                None => {}
                Some(p) if p + 1 < self.history.len() => {
                    self.history_pos = Some(p + 1);
                    self.set(&self.history[p + 1].clone());
                }
                Some(_) => {
                    self.history_pos = None;
                    let draft = Zeroizing::new(std::mem::take(&mut self.draft));
                    self.set(&draft);
                }
            },
        }
    }

    /// Enter: the line leaves the input (kept in the history unless it is empty or holds
    /// a secret) and the input is empty again.
    pub(crate) fn take(&mut self) -> Zeroizing<String> {
        let line = Zeroizing::new(self.text());
        self.chars.zeroize();
        self.chars.clear();
        self.cursor = 0;
        self.history_pos = None;
        self.draft.zeroize();
        self.draft.clear();
        if !line.trim().is_empty() && !holds_secret(&line) {
            if self.history.last() != Some(&*line) {
                self.history.push(line.to_string());
            }
            if self.history.len() > HISTORY {
                self.history.remove(0);
            }
        }
        line
    }

    fn set(&mut self, text: &str) {
        self.chars.zeroize();
        self.chars = text.chars().collect();
        self.cursor = self.chars.len();
    }
}

/// True for an input line carrying an SMP secret (never kept in the history).
fn holds_secret(line: &str) -> bool {
    let l = line.trim_start().to_ascii_lowercase();
    l.starts_with("/otr auth")
}
