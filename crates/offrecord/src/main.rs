//! The `offrecord` command line: `offrecord rpc` and `offrecord demo`.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use offrecord::rpc;
use offrecord::store::Store;
use otr::wire::encoded::InstanceTag;
use otr::{Engine, EngineConfig, Policy};
use rand_core::OsRng;

/// Off-the-record private conversations over the chat networks people already use.
#[derive(Debug, Parser)]
#[command(name = "offrecord", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the OTR engine as JSON lines on stdin/stdout (see engine-protocol.md).
    Rpc(RpcArgs),
    /// Show Alice and Bob having a private conversation on an in-memory network.
    Demo,
}

#[derive(Debug, clap::Args)]
struct RpcArgs {
    /// The account name (keys and trust are kept per account).
    #[arg(long)]
    account: String,
    /// The directory holding the account's key, instance tag and known fingerprints.
    #[arg(long)]
    home: PathBuf,
    /// The transport the wire messages travel over.
    #[arg(long, value_enum, default_value_t = Protocol::Irc)]
    protocol: Protocol,
    /// libotr's policy preset.
    #[arg(long, value_enum, default_value_t = PolicyPreset::Opportunistic)]
    policy: PolicyPreset,
    /// Fragment OTR messages to at most N bytes (0: do not fragment; only 0 works yet).
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
    let result = match cli.command {
        Command::Rpc(args) => run_rpc(args),
        Command::Demo => {
            let stdout = io::stdout();
            let colour = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none();
            offrecord::demo::run(&mut stdout.lock(), colour)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("offrecord: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_rpc(args: RpcArgs) -> anyhow::Result<()> {
    let policy = Policy::from_preset(args.policy.name())
        .ok_or_else(|| anyhow::anyhow!("unknown policy {}", args.policy.name()))?;
    let line_based = match args.protocol {
        Protocol::Irc => true,
    };
    let mut store = Store::new(&args.home, &args.account);
    let account = store.load_or_create(&mut OsRng)?;
    let config = EngineConfig {
        policy,
        instance_tag: InstanceTag(account.instance_tag),
        line_based,
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
