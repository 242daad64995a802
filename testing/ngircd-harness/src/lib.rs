//! Test-only: a real IRC server (Debian's `ngircd`) on 127.0.0.1, and a raw observer client.
//!
//! [`Ngircd::start`] writes a configuration into a temporary directory, picks free ports on
//! 127.0.0.1 (a plain one, and a TLS one signed by a throwaway CA when asked), runs
//! `ngircd -n -f CONF` in the foreground and waits until it accepts connections. It can be
//! killed and restarted on the same ports, which is how reconnect tests drop a connection.
//! Flood control is ngircd's default unless [`Options::relaxed_flood`] is set.
//!
//! [`Observer`] is a plain blocking IRC client that logs every byte the server sends it: a
//! third member of a channel sees exactly what the server relays, so tests check it for
//! plaintext.
//!
//! When `ngircd` is missing, [`Ngircd::start`] runs `scripts/install-test-deps.sh` (Debian
//! packages) once, so a plain `cargo test` works on a fresh machine.
//!
//! Running as root, ngircd switches to the user `nobody`; the temporary directory and its
//! files are made world-readable so it can still read them.

use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// How to configure the server.
#[derive(Debug, Clone)]
pub struct Options {
    /// `[Limits] PingTimeout`: seconds of silence before the server PINGs a client.
    pub ping_timeout: u32,
    /// `[Limits] PongTimeout`: seconds the server waits for the PONG.
    pub pong_timeout: u32,
    /// Also listen for TLS on a second port, with a certificate from a throwaway CA.
    pub tls: bool,
    /// Give every user mode `F` (ngircd's relaxed flood protection). Off by default: the
    /// server then throttles clients exactly as a stock ngircd does.
    pub relaxed_flood: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            ping_timeout: 120,
            pong_timeout: 20,
            tls: false,
            relaxed_flood: false,
        }
    }
}

impl Options {
    /// The defaults, with relaxed flood protection for every user (`relaxed_flood`): for
    /// tests that send a lot without pacing.
    pub fn relaxed() -> Self {
        Options {
            relaxed_flood: true,
            ..Options::default()
        }
    }
}

/// A running (or killed) ngircd in its own temporary directory.
pub struct Ngircd {
    dir: tempfile::TempDir,
    conf: PathBuf,
    port: u16,
    tls_port: Option<u16>,
    child: Option<Child>,
    starts: u32,
}

impl Ngircd {
    /// Writes the configuration, starts the server and waits until it accepts connections.
    pub fn start(options: Options) -> io::Result<Self> {
        ensure_installed()?;
        let dir = tempfile::Builder::new()
            .prefix("offrecord-ngircd-")
            .tempdir()?;
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755))?;
        let port = free_port()?;
        let tls_port = if options.tls {
            Some(free_port()?)
        } else {
            None
        };
        let mut conf_text = format!(
            "[Global]\n\
             Name = irc.offrecord.test\n\
             Info = offrecord test server\n\
             AdminInfo1 = offrecord tests\n\
             AdminInfo2 = 127.0.0.1\n\
             AdminEMail = nobody@offrecord.test\n\
             Listen = 127.0.0.1\n\
             Ports = {port}\n\
             MotdPhrase = offrecord test server\n\
             [Limits]\n\
             PingTimeout = {ping}\n\
             PongTimeout = {pong}\n\
             MaxConnectionsIP = 0\n\
             MaxJoins = 0\n\
             [Options]\n\
             PAM = no\n\
             Ident = no\n\
             DNS = no\n",
            ping = options.ping_timeout,
            pong = options.pong_timeout,
        );
        if options.relaxed_flood {
            conf_text.push_str("DefaultUserModes = F\n");
        }
        if let Some(tls_port) = tls_port {
            make_certificates(dir.path())?;
            conf_text.push_str(&format!(
                "[SSL]\nCertFile = {}\nKeyFile = {}\nPorts = {tls_port}\n",
                dir.path().join("server.pem").display(),
                dir.path().join("server.key").display(),
            ));
        }
        let conf = dir.path().join("ngircd.conf");
        write_readable(&conf, conf_text.as_bytes())?;
        let mut server = Ngircd {
            dir,
            conf,
            port,
            tls_port,
            child: None,
            starts: 0,
        };
        server.spawn()?;
        Ok(server)
    }

    /// The plain-text port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The TLS port on 127.0.0.1, when started with [`Options::tls`].
    pub fn tls_port(&self) -> Option<u16> {
        self.tls_port
    }

    /// The PEM file of the CA that signed the server's certificate (for `--tls-ca`).
    pub fn ca_file(&self) -> Option<PathBuf> {
        self.tls_port.map(|_| self.dir.path().join("ca.pem"))
    }

    /// The temporary directory holding the configuration and logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Kills the server at once (SIGKILL): every client sees its connection drop.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server (SIGSTOP) without closing anything: connections stay open but
    /// nothing is answered, as over a dead link.
    pub fn freeze(&self) -> io::Result<()> {
        self.signal("-STOP")
    }

    /// Lets a frozen server run again (SIGCONT).
    pub fn thaw(&self) -> io::Result<()> {
        self.signal("-CONT")
    }

    fn signal(&self, which: &str) -> io::Result<()> {
        let pid = self
            .child
            .as_ref()
            .map(Child::id)
            .ok_or_else(|| io::Error::other("ngircd is not running"))?;
        let status = Command::new("kill")
            .arg(which)
            .arg(pid.to_string())
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!("kill {which} {pid}: {status}")))
        }
    }

    /// Starts the server again on the same ports.
    pub fn restart(&mut self) -> io::Result<()> {
        self.kill();
        self.spawn()
    }

    /// Everything the server logged, over all its starts.
    pub fn log(&self) -> String {
        let mut all = String::new();
        for n in 0..self.starts {
            let path = self.dir.path().join(format!("ngircd.{n}.log"));
            all.push_str(&fs::read_to_string(path).unwrap_or_default());
        }
        all
    }

    fn spawn(&mut self) -> io::Result<()> {
        let log_path = self.dir.path().join(format!("ngircd.{}.log", self.starts));
        self.starts += 1;
        let log = fs::File::create(&log_path)?;
        let child = Command::new(ngircd_path())
            .arg("-n")
            .arg("-f")
            .arg(&self.conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut ports = vec![self.port];
        ports.extend(self.tls_port);
        for port in ports {
            loop {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    break;
                }
                if let Some(child) = self.child.as_mut() {
                    if let Some(status) = child.try_wait()? {
                        return Err(io::Error::other(format!(
                            "ngircd exited ({status}) before listening; log:\n{}",
                            self.log()
                        )));
                    }
                }
                if Instant::now() > deadline {
                    return Err(io::Error::other(format!(
                        "ngircd did not listen on {port} in 20 s; log:\n{}",
                        self.log()
                    )));
                }
                thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }
}

impl Drop for Ngircd {
    fn drop(&mut self) {
        let _ = self.thaw();
        self.kill();
    }
}

/// A raw IRC client that records every byte the server sends it and answers PING.
pub struct Observer {
    stream: TcpStream,
    shared: Arc<(Mutex<Received>, Condvar)>,
    nick: String,
}

#[derive(Default)]
struct Received {
    bytes: Vec<u8>,
    lines: Vec<String>,
    closed: bool,
}

impl Observer {
    /// Connects to 127.0.0.1:`port` and registers `nick` (waits for RPL_WELCOME).
    pub fn connect(port: u16, nick: &str) -> io::Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        let reader = stream.try_clone()?;
        let mut writer = stream.try_clone()?;
        let shared = Arc::new((Mutex::new(Received::default()), Condvar::new()));
        let thread_shared = Arc::clone(&shared);
        thread::spawn(move || {
            let mut reader = BufReader::new(reader);
            loop {
                let mut line = Vec::new();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let text = String::from_utf8_lossy(&line)
                    .trim_end_matches(['\r', '\n'])
                    .to_string();
                if let Some(token) = text.strip_prefix("PING ") {
                    let _ = writer.write_all(format!("PONG {token}\r\n").as_bytes());
                }
                let (lock, cvar) = &*thread_shared;
                let mut received = lock_ok(lock);
                received.bytes.extend_from_slice(&line);
                received.lines.push(text);
                cvar.notify_all();
            }
            let (lock, cvar) = &*thread_shared;
            lock_ok(lock).closed = true;
            cvar.notify_all();
        });
        let observer = Observer {
            stream,
            shared,
            nick: nick.to_string(),
        };
        observer.send_raw(&format!("NICK {nick}"))?;
        observer.send_raw(&format!("USER {nick} 0 * :offrecord observer"))?;
        observer
            .wait_for(Duration::from_secs(10), |l| {
                l.split(' ').nth(1) == Some("001")
            })
            .ok_or_else(|| io::Error::other("observer: no RPL_WELCOME"))?;
        Ok(observer)
    }

    /// Joins `channel` and waits until the server confirms it.
    pub fn join(&self, channel: &str) -> io::Result<()> {
        self.send_raw(&format!("JOIN {channel}"))?;
        let me = format!(":{}!", self.nick);
        self.wait_for(Duration::from_secs(10), |l| {
            l.starts_with(&me) && l.split(' ').nth(1) == Some("JOIN")
        })
        .map(|_| ())
        .ok_or_else(|| io::Error::other("observer: JOIN not confirmed"))
    }

    /// Sends one raw line (CR LF is added).
    pub fn send_raw(&self, line: &str) -> io::Result<()> {
        (&self.stream).write_all(format!("{line}\r\n").as_bytes())
    }

    /// Every byte received so far.
    pub fn bytes(&self) -> Vec<u8> {
        lock_ok(&self.shared.0).bytes.clone()
    }

    /// Every line received so far, without CR LF.
    pub fn lines(&self) -> Vec<String> {
        lock_ok(&self.shared.0).lines.clone()
    }

    /// True once the server closed the connection.
    pub fn closed(&self) -> bool {
        lock_ok(&self.shared.0).closed
    }

    /// Waits up to `timeout` for a line (received at any time) that satisfies `pred`.
    pub fn wait_for(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Option<String> {
        self.wait_count(timeout, 1, pred).and_then(|mut v| v.pop())
    }

    /// Waits up to `timeout` until `count` lines satisfy `pred`; returns them.
    pub fn wait_count(
        &self,
        timeout: Duration,
        count: usize,
        pred: impl Fn(&str) -> bool,
    ) -> Option<Vec<String>> {
        let deadline = Instant::now() + timeout;
        let (lock, cvar) = &*self.shared;
        let mut received = lock_ok(lock);
        loop {
            let found: Vec<String> = received.lines.iter().filter(|l| pred(l)).cloned().collect();
            if found.len() >= count {
                return Some(found);
            }
            let now = Instant::now();
            if now >= deadline || received.closed {
                return None;
            }
            received = match cvar.wait_timeout(received, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        let _ = self.send_raw("QUIT :bye");
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

/// A logging TCP relay on 127.0.0.1: clients connect to [`Tap::port`], the tap connects
/// each to the server and records every byte both ways. What the server sent is exactly
/// what it relayed to the tapped clients.
pub struct Tap {
    port: u16,
    log: Arc<Mutex<TapLog>>,
}

#[derive(Default)]
struct TapLog {
    to_server: Vec<u8>,
    to_client: Vec<u8>,
    connections: usize,
    /// The client sides of the relayed connections, so [`Tap::cut`] can close them.
    clients: Vec<TcpStream>,
    /// Set by [`Tap::cut`]: new connections are closed at once.
    cut: bool,
}

impl Tap {
    /// Starts relaying 127.0.0.1:`port()` to 127.0.0.1:`server_port`. The relay threads run
    /// until the process ends; each connection ends when either side closes.
    pub fn start(server_port: u16) -> io::Result<Tap> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let port = listener.local_addr()?.port();
        let log = Arc::new(Mutex::new(TapLog::default()));
        let accept_log = Arc::clone(&log);
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if lock_ok(&accept_log).cut {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", server_port)) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                {
                    let mut log = lock_ok(&accept_log);
                    log.connections += 1;
                    if let Ok(c) = client.try_clone() {
                        log.clients.push(c);
                    }
                }
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                for (from, to, upstream) in [
                    (client.try_clone(), server.try_clone(), true),
                    (server.try_clone(), client.try_clone(), false),
                ] {
                    let (Ok(mut from), Ok(mut to)) = (from, to) else {
                        continue;
                    };
                    let log = Arc::clone(&accept_log);
                    thread::spawn(move || {
                        let mut buf = [0u8; 8192];
                        loop {
                            let n = match io::Read::read(&mut from, &mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            {
                                let mut log = lock_ok(&log);
                                let side = if upstream {
                                    &mut log.to_server
                                } else {
                                    &mut log.to_client
                                };
                                side.extend_from_slice(&buf[..n]);
                            }
                            if to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        let _ = to.shutdown(Shutdown::Both);
                        let _ = from.shutdown(Shutdown::Both);
                    });
                }
            }
        });
        Ok(Tap { port, log })
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every byte the tapped clients sent to the server.
    pub fn to_server(&self) -> Vec<u8> {
        lock_ok(&self.log).to_server.clone()
    }

    /// Every byte the server sent to the tapped clients (what it relayed to them).
    pub fn to_client(&self) -> Vec<u8> {
        lock_ok(&self.log).to_client.clone()
    }

    /// How many connections the tap has relayed (reconnects add to it).
    pub fn connections(&self) -> usize {
        lock_ok(&self.log).connections
    }

    /// Drops every relayed connection at once, as a dead link or a crashed client would
    /// (the server sees the socket close; the client sees its connection end), and refuses
    /// every later connection.
    pub fn cut(&self) {
        let mut log = lock_ok(&self.log);
        log.cut = true;
        for client in log.clients.drain(..) {
            let _ = client.shutdown(Shutdown::Both);
        }
    }
}

fn lock_ok<T>(lock: &Mutex<T>) -> MutexGuard<'_, T> {
    lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

fn ngircd_path() -> PathBuf {
    for candidate in ["/usr/sbin/ngircd", "/usr/local/sbin/ngircd"] {
        if Path::new(candidate).exists() {
            return PathBuf::from(candidate);
        }
    }
    PathBuf::from("ngircd")
}

fn ngircd_present() -> bool {
    Command::new(ngircd_path())
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn ensure_installed() -> io::Result<()> {
    static INSTALL: Mutex<()> = Mutex::new(());
    let _guard = lock_ok(&INSTALL);
    let openssl = Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .status()
        .is_ok();
    if ngircd_present() && openssl {
        return Ok(());
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/install-test-deps.sh");
    let status = Command::new("bash").arg(&script).status()?;
    if !status.success() || !ngircd_present() {
        return Err(io::Error::other(format!(
            "ngircd is missing and {} failed ({status})",
            script.display()
        )));
    }
    Ok(())
}

fn write_readable(path: &Path, contents: &[u8]) -> io::Result<()> {
    fs::write(path, contents)?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o644))
}

/// A throwaway CA (`ca.pem`) and a server certificate for 127.0.0.1 and localhost
/// (`server.pem`, `server.key`), made with the `openssl` command.
fn make_certificates(dir: &Path) -> io::Result<()> {
    let run = |args: &[&str]| -> io::Result<()> {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()?;
        if out.status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "openssl {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )))
        }
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=offrecord test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    run(&ca)?;
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    run(&csr)?;
    fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )?;
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ])?;
    for name in ["ca.pem", "server.pem", "server.key"] {
        fs::set_permissions(dir.join(name), fs::Permissions::from_mode(0o644))?;
    }
    Ok(())
}
