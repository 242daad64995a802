//! Programs under test run as processes: one-shot commands ([`pipe`], [`run_home`],
//! [`succeeds`]) and [`JsonLines`], a long-running process speaking the engine protocol
//! (`offrecord rpc`, the python-potr peer), which is a [`Party`].

use std::ffi::OsStr;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::party::{AsView, Party, SmpStep, View};
use crate::relay::{Events, Relay, Side};

/// Runs `command` with `stdin` as its input (written while it runs; a program that exits
/// before reading it all is no error) and its output captured.
pub fn pipe(command: &mut Command, stdin: &[u8]) -> io::Result<Output> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin);
    }
    child.wait_with_output()
}

/// `program --home HOME args...`, output captured, no input.
///
/// # Panics
/// If the program cannot be run.
pub fn run_home(program: impl AsRef<OsStr>, home: &Path, args: &[&str]) -> Output {
    let program = program.as_ref();
    Command::new(program)
        .arg("--home")
        .arg(home)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {program:?}: {e}"))
}

/// Runs `command` and returns its standard output, failing the test (with both outputs)
/// unless it succeeds with UTF-8 output.
pub fn succeeds(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("running {command:?}: {e}"));
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 output");
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Fails unless `text` contains each of `expected`.
pub fn assert_contains_all(text: &str, expected: &[&str]) {
    for expected in expected {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

/// Fails unless `fp` is a fingerprint in libotr's human form: five groups of eight
/// upper-case hex digits.
pub fn assert_libotr_fingerprint(fp: &str) {
    let groups: Vec<&str> = fp.split(' ').collect();
    assert_eq!(groups.len(), 5, "{fp}");
    for group in groups {
        assert_eq!(group.len(), 8, "{fp}");
        assert!(
            group
                .chars()
                .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c)),
            "{fp}"
        );
    }
}

/// A running process that speaks the engine protocol: a JSON command per line in, JSON
/// events out, each command's events ending with `done`. Every read has a timeout, so a
/// hang fails the test instead of blocking it. Killed on drop if still running.
///
/// The protocol serves IRC here: a `wire` event whose data holds a line break or a NUL
/// fails the test.
#[derive(Debug)]
pub struct JsonLines {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    timeout: Duration,
}

impl JsonLines {
    /// Spawns `command` (its stderr inherited), called `name` in failure messages; each
    /// event must arrive within `timeout`.
    pub fn spawn(name: &str, mut command: Command, timeout: Duration) -> Self {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Self {
            name: name.to_owned(),
            child,
            stdin,
            lines: rx,
            timeout,
        }
    }

    /// Writes raw bytes (one or more lines, or anything else) to the process's input.
    pub fn write_raw(&mut self, bytes: impl AsRef<[u8]>) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(bytes.as_ref()).expect("writing a command");
        stdin.flush().expect("writing a command");
    }

    /// The next event, parsed.
    pub fn next_event(&mut self) -> Value {
        let line = self
            .lines
            .recv_timeout(self.timeout)
            .unwrap_or_else(|e| panic!("{}: no event within {:?}: {e}", self.name, self.timeout));
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("{}: output is not JSON ({e}): {line}", self.name))
    }

    /// The events up to the next `done`: (the events before it, its id).
    pub fn until_done(&mut self) -> (Vec<Value>, Value) {
        let mut events = Vec::new();
        loop {
            let event = self.next_event();
            if event["event"] == "done" {
                return (events, event["id"].clone());
            }
            if event["event"] == "wire" {
                let data = event["data"].as_str().unwrap_or_default();
                assert!(
                    !data.contains(['\r', '\n', '\0']),
                    "{}: wire data with a line break or NUL: {data:?}",
                    self.name
                );
            }
            events.push(event);
        }
    }

    /// Sends one command; returns the events it caused (its `done` must echo its `id`).
    pub fn command(&mut self, command: &Value) -> Vec<Value> {
        let id = command.get("id").cloned().unwrap_or(Value::Null);
        self.write_raw(format!("{command}\n"));
        let (events, done_id) = self.until_done();
        assert_eq!(done_id, id, "{}: done id for {command}", self.name);
        events
    }

    /// The account's fingerprint (checked to be in libotr's human form).
    pub fn fingerprint(&mut self) -> String {
        let events = self.command(&json!({"cmd":"fingerprint","id":"fp"}));
        assert_eq!(events.len(), 1, "{}: {events:?}", self.name);
        assert_eq!(events[0]["event"], "fingerprint");
        let fp = events[0]["fingerprint"]
            .as_str()
            .expect("a fingerprint")
            .to_owned();
        assert_libotr_fingerprint(&fp);
        fp
    }

    /// Closes the input and waits up to 10 s for the process to exit: its status, or
    /// `None` if it is still running (it is killed on drop).
    pub fn close(mut self) -> Option<ExitStatus> {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("waiting for the process") {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for JsonLines {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl AsView for Value {
    fn view(&self) -> View<'_> {
        let peer = self["peer"].as_str().unwrap_or_default();
        let field = |name: &str| self[name].as_str().unwrap_or_default();
        match self["event"].as_str() {
            Some("wire") => View::Wire {
                peer,
                line: field("data"),
            },
            Some("message") => View::Shown {
                peer,
                text: field("text"),
                encrypted: self["encrypted"] == true,
            },
            Some("state") if self["state"] == "encrypted" => View::Private { peer },
            Some("state") if self["state"] == "finished" => View::Finished { peer },
            Some("smp") => View::Smp {
                peer,
                step: match field("result") {
                    "request" | "question" => SmpStep::Asked,
                    "success" => SmpStep::Success,
                    "failure" => SmpStep::Failure,
                    _ => SmpStep::Other,
                },
            },
            _ => View::Other,
        }
    }
}

impl Party for JsonLines {
    type Event = Value;

    fn send(&mut self, peer: &str, text: &str) -> Vec<Value> {
        self.command(&json!({"cmd":"send","peer":peer,"text":text}))
    }

    fn receive(&mut self, peer: &str, line: &str) -> Vec<Value> {
        self.command(&json!({"cmd":"receive","peer":peer,"data":line}))
    }

    fn start(&mut self, peer: &str) -> Vec<Value> {
        self.command(&json!({"cmd":"start","peer":peer}))
    }

    fn finish(&mut self, peer: &str) -> Vec<Value> {
        self.command(&json!({"cmd":"finish","peer":peer}))
    }

    fn smp_start(&mut self, peer: &str, question: Option<&str>, secret: &[u8]) -> Vec<Value> {
        let secret = String::from_utf8_lossy(secret);
        let mut command = json!({"cmd":"smp","peer":peer,"secret":secret});
        if let Some(question) = question {
            command["question"] = json!(question);
        }
        self.command(&command)
    }

    fn smp_respond(&mut self, peer: &str, secret: &[u8]) -> Vec<Value> {
        let secret = String::from_utf8_lossy(secret);
        self.command(&json!({"cmd":"smp_respond","peer":peer,"secret":secret}))
    }

    fn fragment_to(&mut self, peer: &str, size: usize) {
        let events = self.command(&json!({"cmd":"max_message_size","peer":peer,"size":size}));
        assert!(events.is_empty(), "{}: {events:?}", self.name);
    }
}

impl Relay<JsonLines, JsonLines> {
    /// Runs `command` on `side`, relays until both processes are quiet, and returns (takes)
    /// the events reported since the last take.
    pub fn run(&mut self, side: Side, command: Value) -> Events<Value, Value> {
        self.exchange(side, |p| p.command(&command))
    }
}
