//! The `offrecord` command line: `rpc`, `demo`, and the identity commands (`keygen`,
//! `fingerprint`, `contacts`, `trust`, `distrust`, `import`, `export`).

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use offrecord::commands::{self, AccountId};
use offrecord::identity::{Layout, OtrDir};
use offrecord::rpc;
use offrecord::store::{choose_protocol, Store};
use otr::wire::encoded::InstanceTag;
use otr::{Engine, EngineConfig, Policy};
use rand_core::OsRng;

/// Off-the-record private conversations over the chat networks people already use.
///
/// Identity (keys, known fingerprints, instance tags) lives in libotr's own files in the
/// home directory, so a Pidgin or irssi-otr identity can be imported and exported.
#[derive(Debug, Parser)]
#[command(name = "offrecord", version, about)]
struct Cli {
    /// The directory holding libotr's files (otr.private_key, otr.fingerprints,
    /// otr.instance_tags). Default: $XDG_DATA_HOME/offrecord, else
    /// ~/.local/share/offrecord.
    #[arg(long, global = true, value_name = "DIR")]
    home: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the OTR engine as JSON lines on stdin/stdout (see engine-protocol.md).
    Rpc(RpcArgs),
    /// Show Alice and Bob having a private conversation on an in-memory network; with
    /// --group, a private group room with a host that tampers and is caught.
    Demo {
        /// Also save the wire lines and revealed MAC keys as JSON (see docs/forging.md).
        #[arg(long, value_name = "FILE")]
        transcript: Option<PathBuf>,
        /// Show the group conversation (host Alice, members Bob and Carol) instead.
        #[arg(long, conflicts_with = "transcript")]
        group: bool,
    },
    /// Chat on IRC in a full-screen terminal client, with OTR private conversations
    /// (/otr init, /otr auth, ...; /help inside).
    Chat(ChatArgs),
    /// libotr's forgeability toolkit: parse, sesskeys, mackey, readforge, modify, remac.
    Toolkit(offrecord::toolkit::ToolkitArgs),
    /// Generate a long-term key for an account (refuses to replace one without --force).
    Keygen {
        #[command(flatten)]
        id: AccountArgs,
        /// Replace the account's existing key.
        #[arg(long)]
        force: bool,
    },
    /// Show our fingerprint (of one account, or of every account with a key).
    Fingerprint {
        #[command(flatten)]
        id: OptionalAccountArgs,
    },
    /// List the peers' known fingerprints and whether they are verified.
    Contacts {
        #[command(flatten)]
        id: OptionalAccountArgs,
    },
    /// Mark a peer's fingerprint verified.
    Trust(TrustArgs),
    /// Mark a peer's fingerprint not verified.
    Distrust(TrustArgs),
    /// Copy an account's identity (key, instance tag, fingerprints with trust) from a
    /// libotr directory such as ~/.purple or ~/.irssi/otr. Without --account, lists the
    /// accounts there (and imports the only one if there is just one).
    Import {
        /// The libotr directory to read (Pidgin's or irssi-otr's file names).
        dir: PathBuf,
        /// The account to import.
        #[arg(long)]
        account: Option<String>,
        /// Its protocol id in that directory (needed if the account has several).
        #[arg(long, value_name = "ID")]
        otr_protocol: Option<String>,
        /// Only list the accounts there.
        #[arg(long)]
        list: bool,
        /// Replace a different key we already have for the account.
        #[arg(long)]
        force: bool,
    },
    /// Write an account's identity (or every account's) into a libotr directory, keeping
    /// what else is there.
    Export {
        /// The libotr directory to write.
        dir: PathBuf,
        /// The account to export (default: every account).
        #[arg(long)]
        account: Option<String>,
        /// Its protocol id (default: every protocol of the account).
        #[arg(long, value_name = "ID")]
        otr_protocol: Option<String>,
        /// File names to write: libotr's (Pidgin) or irssi-otr's. Default: what the
        /// directory already holds, else libotr's.
        #[arg(long, value_enum)]
        layout: Option<LayoutArg>,
        /// Replace a different key the directory has for the account.
        #[arg(long)]
        force: bool,
    },
}

/// The file names of a libotr directory.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum LayoutArg {
    /// otr.private_key, otr.fingerprints, otr.instance_tags (libotr, Pidgin).
    Libotr,
    /// otr.key, otr.fp, otr.instag (irssi-otr).
    Irssi,
}

#[derive(Debug, clap::Args)]
struct AccountArgs {
    /// The account name, as the chat client names it (e.g. alice@irc.libera.chat).
    #[arg(long)]
    account: String,
    /// The protocol id libotr's files key the account by (Pidgin: prpl-irc, irssi-otr: IRC;
    /// default: that of the account's only key, else prpl-irc).
    #[arg(long, value_name = "ID")]
    otr_protocol: Option<String>,
}

impl AccountArgs {
    fn id(&self, home: &Path) -> anyhow::Result<AccountId> {
        account_id(home, &self.account, self.otr_protocol.as_deref())
    }
}

/// The account with its protocol id as [`choose_protocol`] decides it, telling the user (on
/// standard error) when a key filed under another program's id is used.
fn account_id(home: &Path, account: &str, given: Option<&str>) -> anyhow::Result<AccountId> {
    let (id, note) = resolve_account(home, account, given)?;
    if let Some(note) = note {
        eprintln!("offrecord: {note}");
    }
    Ok(id)
}

/// The account with its protocol id, and the note to show when it was found rather than
/// given.
fn resolve_account(
    home: &Path,
    account: &str,
    given: Option<&str>,
) -> anyhow::Result<(AccountId, Option<String>)> {
    let choice = choose_protocol(&OtrDir::new(home, Layout::LIBOTR), account, given)?;
    let id = AccountId {
        account: account.to_owned(),
        protocol: choice.protocol().to_owned(),
    };
    Ok((id, choice.note(account)))
}

#[derive(Debug, clap::Args)]
struct OptionalAccountArgs {
    /// The account (default: every account).
    #[arg(long)]
    account: Option<String>,
    /// The protocol id libotr's files key the account by (Pidgin: prpl-irc, irssi-otr: IRC;
    /// default: that of the account's only key, else prpl-irc).
    #[arg(long, value_name = "ID")]
    otr_protocol: Option<String>,
}

impl OptionalAccountArgs {
    fn id(&self, home: &Path) -> anyhow::Result<Option<AccountId>> {
        self.account
            .as_deref()
            .map(|account| account_id(home, account, self.otr_protocol.as_deref()))
            .transpose()
    }
}

#[derive(Debug, clap::Args)]
struct TrustArgs {
    #[command(flatten)]
    id: AccountArgs,
    /// The peer (their user name).
    peer: String,
    /// The fingerprint (needed when the peer has several; spaces allowed).
    fingerprint: Option<String>,
}

#[derive(Debug, clap::Args)]
struct ChatArgs {
    /// The IRC server: HOST or HOST:PORT (default port 6667, 6697 with --tls).
    #[arg(long, value_name = "HOST[:PORT]")]
    server: String,
    /// The nick to use (also the account name unless --account).
    #[arg(long)]
    nick: String,
    /// Connect with TLS.
    #[arg(long)]
    tls: bool,
    /// A PEM file of CA certificates to trust for TLS instead of the usual roots.
    #[arg(long, value_name = "PEM")]
    tls_ca: Option<PathBuf>,
    /// A channel to join (repeat, or separate with commas).
    #[arg(long, value_name = "#room")]
    join: Vec<String>,
    /// The account whose key and fingerprints to use (default: the nick).
    #[arg(long)]
    account: Option<String>,
    /// The protocol id libotr's files key the account by (Pidgin: prpl-irc, irssi-otr: IRC;
    /// default: that of the account's only key, else prpl-irc).
    #[arg(long, value_name = "ID")]
    otr_protocol: Option<String>,
    /// The OTR policy to start with (/otr policy changes it).
    #[arg(long, value_enum, default_value_t = PolicyPreset::Opportunistic)]
    policy: PolicyPreset,
}

/// Splits `HOST[:PORT]` (`[v6]:PORT` for IPv6 addresses).
fn parse_server(server: &str, tls: bool) -> anyhow::Result<(String, u16)> {
    let default_port = if tls { 6697 } else { 6667 };
    let bad = || anyhow::anyhow!("bad --server {server:?}: expected HOST or HOST:PORT");
    if let Some(rest) = server.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(port) => port.parse().map_err(|_| bad())?,
            None if after.is_empty() => default_port,
            None => return Err(bad()),
        };
        return Ok((host.to_owned(), port));
    }
    match server.rsplit_once(':') {
        // More than one colon: a bare IPv6 address.
        Some((host, _)) if host.contains(':') => Ok((server.to_owned(), default_port)),
        Some((host, port)) if !host.is_empty() => {
            Ok((host.to_owned(), port.parse().map_err(|_| bad())?))
        }
        Some(_) => Err(bad()),
        None if server.is_empty() => Err(bad()),
        None => Ok((server.to_owned(), default_port)),
    }
}

fn run_chat(args: ChatArgs, home: &Path) -> anyhow::Result<()> {
    let (server, port) = parse_server(&args.server, args.tls)?;
    let policy = Policy::from_preset(args.policy.name())
        .ok_or_else(|| anyhow::anyhow!("unknown policy {}", args.policy.name()))?;
    let channels = args
        .join
        .iter()
        .flat_map(|j| j.split(','))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| {
            if offrecord::chat::app::is_channel(c) {
                c.to_owned()
            } else {
                format!("#{c}")
            }
        })
        .collect();
    let account = args.account.unwrap_or_else(|| args.nick.clone());
    let (id, note) = resolve_account(home, &account, args.otr_protocol.as_deref())?;
    offrecord::chat::run::run(offrecord::chat::run::ChatOptions {
        server,
        port,
        tls: args.tls,
        tls_ca: args.tls_ca,
        account: id.account,
        nick: args.nick,
        channels,
        home: home.to_path_buf(),
        otr_protocol: id.protocol,
        policy,
        notes: note.into_iter().collect(),
    })
}

#[derive(Debug, clap::Args)]
struct RpcArgs {
    /// The account name (keys and trust are kept per account).
    #[arg(long)]
    account: String,
    /// The transport the wire messages travel over.
    #[arg(long, value_enum, default_value_t = Protocol::Irc)]
    protocol: Protocol,
    /// The protocol id libotr's files key the account by (Pidgin: prpl-irc, irssi-otr: IRC;
    /// default: that of the account's only key, else prpl-irc).
    #[arg(long, value_name = "ID")]
    otr_protocol: Option<String>,
    /// libotr's policy preset.
    #[arg(long, value_enum, default_value_t = PolicyPreset::Opportunistic)]
    policy: PolicyPreset,
    /// Fragment OTR messages to at most N bytes (0: do not fragment).
    #[arg(long, value_name = "N", default_value_t = 0)]
    max_message_size: u64,
}

/// Transports.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Protocol {
    /// One line per message: no CR, LF or NUL on the wire.
    Irc,
}

/// libotr's policy presets.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum PolicyPreset {
    /// Versions 2 and 3, started only on request.
    Manual,
    /// Manual + whitespace tags, start on tag or OTR error.
    Opportunistic,
    /// Opportunistic + require encryption.
    Always,
}

impl PolicyPreset {
    fn name(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Opportunistic => "opportunistic",
            Self::Always => "always",
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = run(cli.command, cli.home);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output went away (`offrecord demo | head`): nothing to report.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("offrecord: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Whether the error is, at bottom, a write to a closed pipe.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn run(command: Command, home: Option<PathBuf>) -> anyhow::Result<()> {
    // Only the commands that use the home directory need one.
    let home = match &command {
        Command::Demo { .. } | Command::Toolkit(_) => PathBuf::new(),
        _ => home.or_else(commands::default_home).ok_or_else(|| {
            anyhow::anyhow!("no home directory: set HOME or XDG_DATA_HOME, or give --home")
        })?,
    };
    let home = home.as_path();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut err = io::stderr();
    match command {
        Command::Rpc(args) => run_rpc(args, home),
        Command::Chat(args) => run_chat(args, home),
        Command::Demo { group: true, .. } => {
            let colour = io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            offrecord::group_demo::run(&mut out, colour)
        }
        Command::Demo { transcript, .. } => {
            let colour = io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let recorded = offrecord::demo::run_recorded(&mut out, colour)?;
            match transcript {
                Some(path) => offrecord::demo::save_transcript(&recorded, &path),
                None => Ok(()),
            }
        }
        Command::Toolkit(args) => offrecord::toolkit::run_cli(args).map_err(Into::into),
        Command::Keygen { id, force } => Ok(commands::keygen(
            home,
            &id.id(home)?,
            force,
            &mut OsRng,
            &mut out,
            &mut err,
        )?),
        Command::Fingerprint { id } => Ok(commands::fingerprint(
            home,
            id.id(home)?.as_ref(),
            &mut out,
        )?),
        Command::Contacts { id } => Ok(commands::contacts(home, id.id(home)?.as_ref(), &mut out)?),
        Command::Trust(args) => Ok(commands::set_trust(
            home,
            &args.id.id(home)?,
            &args.peer,
            args.fingerprint.as_deref(),
            true,
            &mut out,
        )?),
        Command::Distrust(args) => Ok(commands::set_trust(
            home,
            &args.id.id(home)?,
            &args.peer,
            args.fingerprint.as_deref(),
            false,
            &mut out,
        )?),
        Command::Import {
            dir,
            account,
            otr_protocol,
            list,
            force,
        } => import(home, &dir, account, otr_protocol, list, force, &mut out),
        Command::Export {
            dir,
            account,
            otr_protocol,
            layout,
            force,
        } => {
            let layout = match layout {
                Some(LayoutArg::Libotr) => Layout::LIBOTR,
                Some(LayoutArg::Irssi) => Layout::IRSSI,
                None => Layout::detect(&dir),
            };
            let source = OtrDir::new(home, Layout::LIBOTR);
            let target = OtrDir::new(&dir, layout);
            let ids = select(&source, account.as_deref(), otr_protocol.as_deref(), true)?;
            for id in ids {
                let done = commands::copy_identity(&source, &target, &id, force)?;
                writeln!(out, "exported {done}")?;
            }
            Ok(())
        }
    }
}

/// The accounts of `dir` matching an optional account and protocol. Unless `many`, exactly
/// one must match.
fn select(
    dir: &OtrDir,
    account: Option<&str>,
    protocol: Option<&str>,
    many: bool,
) -> anyhow::Result<Vec<AccountId>> {
    let keys = dir.read_private_keys()?.ok_or_else(|| {
        anyhow::anyhow!("there is no key file {}", dir.private_key_path().display())
    })?;
    let ids: Vec<AccountId> = keys
        .entries()
        .iter()
        .filter(|e| account.is_none_or_eq(&e.account) && protocol.is_none_or_eq(&e.protocol))
        .map(|e| AccountId {
            account: e.account.clone(),
            protocol: e.protocol.clone(),
        })
        .collect();
    if ids.is_empty() {
        anyhow::bail!(
            "{} has no key for {} {}",
            dir.private_key_path().display(),
            account.unwrap_or("any account"),
            protocol.map(|p| format!("({p})")).unwrap_or_default()
        );
    }
    if ids.len() > 1 && !many {
        let names: Vec<String> = ids.iter().map(|id| format!("  {id}")).collect();
        anyhow::bail!(
            "{} holds several accounts; choose one with --account (and --otr-protocol):\n{}",
            dir.private_key_path().display(),
            names.join("\n")
        );
    }
    Ok(ids)
}

/// `Option<&str>` that matches everything when `None`.
trait NoneOrEq {
    fn is_none_or_eq(&self, value: &str) -> bool;
}

impl NoneOrEq for Option<&str> {
    fn is_none_or_eq(&self, value: &str) -> bool {
        match self {
            Some(wanted) => *wanted == value,
            None => true,
        }
    }
}

fn import(
    home: &Path,
    dir: &Path,
    account: Option<String>,
    protocol: Option<String>,
    list: bool,
    force: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let source = OtrDir::new(dir, Layout::detect(dir));
    if list {
        commands::list_keys(&source, out)?;
        return Ok(());
    }
    let ids = select(&source, account.as_deref(), protocol.as_deref(), false)?;
    let target = OtrDir::new(home, Layout::LIBOTR);
    for id in ids {
        let done = commands::copy_identity(&source, &target, &id, force)?;
        writeln!(out, "imported {done}")?;
    }
    Ok(())
}

fn run_rpc(args: RpcArgs, home: &Path) -> anyhow::Result<()> {
    let policy = Policy::from_preset(args.policy.name())
        .ok_or_else(|| anyhow::anyhow!("unknown policy {}", args.policy.name()))?;
    let line_based = match args.protocol {
        Protocol::Irc => true,
    };
    let id = account_id(home, &args.account, args.otr_protocol.as_deref())?;
    let mut store = Store::new(home, &id.account, &id.protocol);
    let account = store.load_or_create(&mut OsRng)?;
    store.set_baseline(account.known.clone());
    let config = EngineConfig {
        policy,
        instance_tag: InstanceTag(account.instance_tag),
        line_based,
        hold_during_key_exchange: false,
    };
    let mut engine = Engine::new(account.key, config, Box::new(OsRng));
    engine.set_known_fingerprints(account.known);

    let stdout = io::stdout();
    let mut output = BufWriter::new(stdout.lock());
    engine
        .set_default_max_message_size(usize::try_from(args.max_message_size).unwrap_or(usize::MAX));
    rpc::serve(&mut engine, &mut store, io::stdin().lock(), &mut output)?;
    output.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::parse_server;

    #[test]
    fn server_addresses() {
        let ok = |s: &str, tls: bool| parse_server(s, tls).unwrap();
        assert_eq!(ok("irc.example", false), ("irc.example".into(), 6667));
        assert_eq!(ok("irc.example", true), ("irc.example".into(), 6697));
        assert_eq!(ok("irc.example:7000", true), ("irc.example".into(), 7000));
        assert_eq!(ok("[::1]:6668", false), ("::1".into(), 6668));
        assert_eq!(ok("[::1]", false), ("::1".into(), 6667));
        assert_eq!(ok("::1", false), ("::1".into(), 6667));
        for bad in ["", ":6667", "host:port", "host:99999", "[::1", "[::1]x"] {
            assert!(parse_server(bad, false).is_err(), "{bad}");
        }
    }
}
