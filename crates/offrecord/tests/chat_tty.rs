//! `offrecord chat` end to end: two real clients, each on a pseudo-terminal (util-linux
//! `script`), talk through a real ngircd behind a logging tap. The screens are rebuilt from
//! the escape sequences the clients write (a small terminal emulator below) and searched for
//! what each user should see; the tap proves that no typed text crossed the network in the
//! clear.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use ngircd_harness::{Ngircd, Options, Tap};

const ROWS: usize = 24;
const COLS: usize = 100;
const WAIT: Duration = Duration::from_secs(60);

/// Just enough of a VT100 for ratatui's crossterm output: cursor moves, clears, colours
/// (ignored) and printable text.
struct Screen {
    cells: Vec<Vec<char>>,
    row: usize,
    col: usize,
    /// Everything that ever appeared on any row (rows as they were when overwritten).
    seen: Vec<String>,
}

impl Screen {
    fn new() -> Self {
        Self {
            cells: vec![vec![' '; COLS]; ROWS],
            row: 0,
            col: 0,
            seen: Vec::new(),
        }
    }

    fn feed(&mut self, text: &str) {
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\u{1b}' => {
                    if chars.peek() != Some(&'[') {
                        chars.next();
                        continue;
                    }
                    chars.next();
                    let mut params = String::new();
                    let mut command = ' ';
                    for c in chars.by_ref() {
                        if c.is_ascii_alphabetic() || c == '@' || c == '~' {
                            command = c;
                            break;
                        }
                        params.push(c);
                    }
                    self.csi(&params, command);
                }
                '\r' => self.col = 0,
                '\n' => self.row = (self.row + 1).min(ROWS - 1),
                c if c.is_control() => {}
                c => {
                    if self.row < ROWS && self.col < COLS {
                        self.cells[self.row][self.col] = c;
                    }
                    self.col += 1;
                }
            }
        }
        self.remember();
    }

    fn csi(&mut self, params: &str, command: char) {
        let nums: Vec<usize> = params
            .trim_start_matches('?')
            .split(';')
            .map(|p| p.parse().unwrap_or(0))
            .collect();
        let n =
            |i: usize, default: usize| nums.get(i).copied().filter(|&v| v > 0).unwrap_or(default);
        match command {
            'H' | 'f' => {
                self.row = (n(0, 1) - 1).min(ROWS - 1);
                self.col = (n(1, 1) - 1).min(COLS - 1);
            }
            'G' => self.col = (n(0, 1) - 1).min(COLS - 1),
            'A' => self.row = self.row.saturating_sub(n(0, 1)),
            'B' => self.row = (self.row + n(0, 1)).min(ROWS - 1),
            'C' => self.col = (self.col + n(0, 1)).min(COLS - 1),
            'D' => self.col = self.col.saturating_sub(n(0, 1)),
            'J' => {
                self.remember();
                self.cells = vec![vec![' '; COLS]; ROWS];
            }
            'K' => {
                let row = self.row.min(ROWS - 1);
                for c in self.col.min(COLS)..COLS {
                    self.cells[row][c] = ' ';
                }
            }
            _ => {}
        }
    }

    fn rows(&self) -> Vec<String> {
        self.cells
            .iter()
            .map(|r| r.iter().collect::<String>().trim_end().to_owned())
            .collect()
    }

    fn remember(&mut self) {
        for row in self.rows() {
            if !row.is_empty() && self.seen.last() != Some(&row) {
                self.seen.push(row);
            }
        }
    }

    fn has(&self, needle: &str) -> bool {
        self.seen.iter().any(|r| r.contains(needle))
    }
}

/// One `offrecord chat` on a pseudo-terminal.
struct Client {
    name: &'static str,
    child: Child,
    stdin: ChildStdin,
    screen: Arc<Mutex<Screen>>,
    _home: tempfile::TempDir,
}

impl Client {
    fn start(name: &'static str, port: u16, extra: &str) -> (Self, std::path::PathBuf) {
        let home = tempfile::tempdir().unwrap();
        let bin = env!("CARGO_BIN_EXE_offrecord");
        let command = format!(
            "stty rows {ROWS} cols {COLS}; exec {bin} --home {} chat --server 127.0.0.1:{port} --nick {name} {extra}",
            home.path().display()
        );
        let mut child = Command::new("script")
            .args(["-qfec", &command, "/dev/null"])
            .env("TERM", "xterm")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("util-linux script(1) runs the client on a pseudo-terminal");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let screen = Arc::new(Mutex::new(Screen::new()));
        let feed = Arc::clone(&screen);
        thread::spawn(move || {
            let mut buf = [0u8; 65536];
            let mut pending = Vec::new();
            loop {
                let n = match stdout.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                pending.extend_from_slice(&buf[..n]);
                // Feed only whole UTF-8 characters.
                let valid = match std::str::from_utf8(&pending) {
                    Ok(s) => s.len(),
                    Err(e) => e.valid_up_to(),
                };
                let text = String::from_utf8_lossy(&pending[..valid]).into_owned();
                pending.drain(..valid);
                feed.lock().unwrap().feed(&text);
            }
        });
        let path = home.path().to_path_buf();
        (
            Self {
                name,
                child,
                stdin,
                screen,
                _home: home,
            },
            path,
        )
    }

    fn type_line(&mut self, line: &str) {
        for c in line.chars() {
            let mut b = [0u8; 4];
            self.stdin
                .write_all(c.encode_utf8(&mut b).as_bytes())
                .unwrap();
            self.stdin.flush().unwrap();
            thread::sleep(Duration::from_millis(2));
        }
        self.stdin.write_all(b"\r").unwrap();
        self.stdin.flush().unwrap();
        thread::sleep(Duration::from_millis(50));
    }

    fn wait_for(&self, needle: &str) {
        let start = Instant::now();
        while start.elapsed() < WAIT {
            if self.screen.lock().unwrap().has(needle) {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        let rows = self.screen.lock().unwrap().rows();
        panic!(
            "{} never showed {needle:?}; the screen is:\n{}",
            self.name,
            rows.join("\n")
        );
    }

    fn screen_has(&self, needle: &str) -> bool {
        self.screen.lock().unwrap().has(needle)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn two_terminal_clients_talk_privately_through_ngircd() {
    let server = Ngircd::start(Options::relaxed()).unwrap();
    let tap = Tap::start(server.port()).unwrap();
    let (mut alice, alice_home) =
        Client::start("alice", tap.port(), "--join '#room' --policy manual");
    let (mut bob, _) = Client::start("bob", tap.port(), "--join '#room'");
    // Key generation shows progress, then the client connects and joins.
    alice.wait_for("Generating a new OTR key for alice");
    alice.wait_for("Connected as alice.");
    bob.wait_for("Connected as bob.");
    alice.wait_for("You joined #room.");
    bob.wait_for("[bob] [2:#room] [public channel, not OTR]");

    // A channel message is public, and a query string in the channel starts nothing.
    alice.type_line("hello room");
    bob.wait_for("<alice> hello room");
    alice.type_line("?OTRv23?");
    bob.wait_for("An OTR query in a channel was ignored");

    // A private conversation: a message typed during the key exchange is held, then sent.
    alice.type_line("/query bob");
    alice.wait_for("[alice] [3:bob] [OTR: plaintext]");
    bob.type_line("/query alice");
    bob.wait_for("[bob] [3:alice] [OTR: plaintext]");
    alice.type_line("/otr init");
    alice.type_line("typed during the exchange");
    bob.wait_for("<alice> typed during the exchange");
    alice.wait_for("[alice] [3:bob] [OTR: unverified]");
    alice.type_line("a private hello");
    bob.wait_for("<alice> a private hello");
    bob.wait_for("[bob] [3:alice] [OTR: unverified]");
    bob.type_line("a private answer");
    alice.wait_for("<bob> a private answer");

    // Verification with a question, answered in the other terminal.
    alice.type_line("/otr authq \"our street?\" elm road");
    bob.wait_for("alice wants to verify you and asks: our street?");
    bob.type_line("/otr auth elm road");
    alice.wait_for("Authentication with bob succeeded");
    alice.wait_for("[alice] [3:bob] [OTR: private]");
    alice.type_line("/otr info");
    alice.wait_for("(verified)");

    // Quitting ends the private conversation on Bob's side.
    alice.type_line("/quit");
    bob.wait_for("alice has ended the private conversation.");
    bob.wait_for("alice quit");
    bob.wait_for("[bob] [3:alice] [OTR: finished]");
    let start = Instant::now();
    while alice.child.try_wait().unwrap().is_none() && start.elapsed() < WAIT {
        thread::sleep(Duration::from_millis(50));
    }
    assert!(
        alice.child.try_wait().unwrap().is_some(),
        "alice's client did not exit"
    );
    assert!(!bob.screen_has("typed during the exchange\u{fffd}"));

    // Nothing typed in a private conversation crossed the network in the clear.
    let wire = String::from_utf8_lossy(&tap.to_server()).into_owned()
        + &String::from_utf8_lossy(&tap.to_client());
    assert!(
        wire.contains("PRIVMSG #room :hello room"),
        "the channel text is plain"
    );
    for secret in [
        "typed during the exchange",
        "a private hello",
        "a private answer",
        "elm road",
        "our street",
    ] {
        assert!(
            !wire.contains(secret),
            "{secret:?} crossed the network in the clear"
        );
    }
    // The verified fingerprint was saved in libotr's file.
    let fingerprints = std::fs::read_to_string(alice_home.join("otr.fingerprints")).unwrap();
    let line = fingerprints
        .lines()
        .find(|l| l.starts_with("bob\t"))
        .expect("bob's fingerprint saved");
    assert!(
        line.ends_with("\tsmp") || line.ends_with("\tverified"),
        "{line:?}"
    );
}
