//! The command line: global options, subcommands, and dispatch to each command's module.

mod admin;
mod audit;
mod bench;
mod cameras;
mod console;
mod export;
mod fleet;
mod hotlist;
mod office;
mod purge;
mod read;
mod report;
mod run;
mod search;
mod store;
mod users;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::config::{AppPaths, Config};

/// In-car Automated License Plate Recognition console.
#[derive(Debug, Parser)]
#[command(name = "patrol-alpr", version, about)]
pub struct Cli {
    /// Folder for the database, hot-list cache and images (default: the platform data dir).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Settings file (default: config.toml in the platform config dir).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Demo mode: the built-in traffic simulator, the fictitious demo hot list and demo users,
    /// in a separate demo data folder, with a DEMO marker on every screen.
    #[arg(long)]
    pub demo: bool,
    /// Close the console after this many seconds (measurements, screenshots).
    #[arg(long, value_name = "SECONDS", hide = true)]
    pub exit_after: Option<f64>,
    /// Demo only: drive the console through a shift, saving a screenshot of every screen,
    /// day and night, into DIR (docs/screenshots), then close.
    #[arg(long, value_name = "DIR", hide = true)]
    pub tour: Option<PathBuf>,
    /// More log output on stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read the plates in images; prints one JSON object per image per line.
    Read(read::ReadArgs),
    /// Measure recognition on images with OpenALPR-format ground truth.
    Bench(bench::BenchArgs),
    /// Hot lists: import, check a plate, stats, the signed update, keys and signing, bench.
    Hotlist(hotlist::HotlistArgs),
    /// User administration: add, list, certify, suspend, reactivate, deactivate, reset-pin.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// System settings (ALPR Administrator): camera sources, hot-list sources and key, retention.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// The audit log: verify the hash chain, draw and review random audits.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Supervisors' reports.
    #[command(subcommand)]
    Report(report::ReportCommand),
    /// Delete reads and images past the retention period (protected ones are kept).
    Purge(purge::PurgeArgs),
    /// Release stored reads (CSV plus images) to a California public agency.
    Export(export::ExportArgs),
    /// Search stored reads by plate, or by place and time (purpose and case required; audited).
    #[command(subcommand)]
    Search(search::SearchCommand),
    /// Storage maintenance and measurement.
    #[command(subcommand)]
    Store(store::StoreCommand),
    /// The fleet back office on PostgreSQL: create the office schema, enroll a car.
    #[command(subcommand)]
    Fleet(fleet::FleetCommand),
    /// List the cameras on this machine with their formats and resolutions.
    Cameras(cameras::CamerasArgs),
    /// Run the recognition pipeline on cameras, recordings or the simulator.
    Run(run::RunArgs),
}

/// What every command gets: resolved paths and the loaded settings.
#[derive(Debug, Clone)]
pub struct Context {
    /// Where data and settings live.
    pub paths: AppPaths,
    /// The settings file's settings.
    pub config: Config,
    /// The settings in force once the store is open: the file's with the administrator's
    /// (among them every security setting) laid over them (`store::open_store` sets it).
    in_force: std::sync::OnceLock<Config>,
}

impl Context {
    fn load(cli: &Cli) -> anyhow::Result<Self> {
        let paths = AppPaths::resolve(cli.data_dir.as_deref(), cli.config.as_deref())?;
        let config = Config::load(&paths.config_file)?;
        Ok(Self { paths, config, in_force: std::sync::OnceLock::new() })
    }

    /// The settings in force: the administrator's over the file's once the store has been
    /// opened, the file's before.
    pub fn in_force(&self) -> &Config {
        self.in_force.get().unwrap_or(&self.config)
    }
}

/// An error and its causes in one line, `: ` between them. A cause whose text its parent's
/// message already quotes is left out, so a "database: {cause}" error does not say its cause
/// twice (as anyhow's `{:#}` would).
pub fn describe_error(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// Sets up logging to stderr; `RUST_LOG` overrides the level chosen by `-v`.
pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // A second initialisation (tests) is harmless: keep the first subscriber.
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let ctx = Context::load(&cli).context("loading settings")?;
    let cli_flags = (cli.demo, cli.exit_after, cli.tour.clone());
    match cli.command {
        Some(Command::Read(args)) => read::run(&ctx, &args),
        Some(Command::Bench(args)) => bench::run(&ctx, &args),
        Some(Command::Hotlist(args)) => hotlist::run(&ctx, &args),
        Some(Command::Users(command)) => users::run(&ctx, command),
        Some(Command::Admin(command)) => admin::run(&ctx, command),
        Some(Command::Audit(command)) => audit::run(&ctx, command),
        Some(Command::Report(command)) => report::run(&ctx, command),
        Some(Command::Purge(args)) => purge::run(&ctx, &args),
        Some(Command::Fleet(command)) => fleet::run(&ctx, &command),
        Some(Command::Export(args)) => export::run(&ctx, &args),
        Some(Command::Search(command)) => search::run(&ctx, command),
        Some(Command::Store(command)) => store::run(&ctx, command),
        Some(Command::Cameras(args)) => cameras::run(&ctx, &args),
        Some(Command::Run(args)) if args.headless => run::run(&ctx, &args),
        Some(Command::Run(args)) => console::run(&ctx, console_args(&cli_flags, args.sources, args.sim_plates)?),
        None => console::run(&ctx, console_args(&cli_flags, Vec::new(), Vec::new())?),
    }
}

fn console_args(
    (demo, exit_after, tour): &(bool, Option<f64>, Option<PathBuf>),
    sources: Vec<crate::camera::SourceSpec>,
    sim_plates: Vec<String>,
) -> anyhow::Result<console::ConsoleArgs> {
    let exit_after = match exit_after {
        Some(s) => Some(
            std::time::Duration::try_from_secs_f64(*s)
                .map_err(|_| anyhow::anyhow!("--exit-after {s} is not a duration"))?,
        ),
        None => None,
    };
    Ok(console::ConsoleArgs { demo: *demo, sources, sim_plates, exit_after, tour: tour.clone() })
}

#[cfg(test)]
mod tests {
    use super::describe_error;
    use crate::console::ConsoleError;
    use crate::store::KeyError;

    #[test]
    fn a_cause_is_said_once_whether_or_not_its_parent_quotes_it() {
        // ConsoleError's message quotes its source, which is also its cause in the chain.
        let quoted = anyhow::Error::from(ConsoleError::Key(KeyError::Empty)).context("starting the console");
        assert_eq!(describe_error(&quoted), "starting the console: database key: the database passphrase is empty");
        let plain = anyhow::Error::from(KeyError::Empty).context("opening the store");
        assert_eq!(describe_error(&plain), "opening the store: the database passphrase is empty");
    }
}
