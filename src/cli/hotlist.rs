//! The `hotlist` command: import files, check a plate, show the list's state, run the signed
//! update, measure the index, and the agency's key and signing tools.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use chrono::Utc;

use super::Context;
use crate::audit::AuditSink;
use crate::hotlist::load::{Actor, import_files, load_active};
use crate::hotlist::parse::Format;
use crate::hotlist::update::{UpdateRequest, generate_key, run_update, sign_dir};
use crate::hotlist::{Hit, Hotlists, MatchKind, ReadCandidate, ReadQuery, synthetic};
use crate::store::Store;

/// Options of `hotlist`.
#[derive(Debug, clap::Args)]
pub struct HotlistArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: HotlistCommand,
}

/// The `hotlist` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum HotlistCommand {
    /// Add list files to the hot-list cache; prints every bad line and the totals.
    Import {
        /// CLEW `.tbl`, NCIC `.ncic` or `.csv` files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The format, when the file names do not tell it.
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Match a plate against the cached list; exit status 1 when nothing matches.
    Check {
        /// The plate as read.
        plate: String,
        /// Further candidate readings, best first.
        #[arg(long = "alt", value_name = "PLATE")]
        alternatives: Vec<String>,
        /// The state, when known.
        #[arg(long)]
        state: Option<String>,
    },
    /// Show the cached list's version, age and counts.
    Stats,
    /// Run the signed update from the configured sources.
    Update,
    /// Build a synthetic list of N entries and time building and matching; the last line is
    /// one JSON object.
    Bench {
        /// Entries in the synthetic list.
        #[arg(long, default_value_t = 5_000_000)]
        entries: usize,
        /// Reads to match.
        #[arg(long, default_value_t = 200_000)]
        reads: usize,
        /// Random seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Agency side: create a signing key pair (private key file mode 0600, public key printed
    /// and written beside it as FILE.pub).
    Keygen {
        /// Where to write the private key.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Agency side: write and sign the manifest for the list files in DIR.
    Sign {
        /// The folder to publish.
        dir: PathBuf,
        /// The private key from `hotlist keygen`.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The list version (default: the creation time).
        #[arg(long)]
        version: Option<String>,
    },
}

/// Runs `hotlist`.
pub fn run(ctx: &Context, args: &HotlistArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        HotlistCommand::Import { files, format } => import(ctx, files, *format),
        HotlistCommand::Check { plate, alternatives, state } => check(ctx, plate, alternatives, state.as_deref()),
        HotlistCommand::Stats => stats(ctx),
        HotlistCommand::Update => update(ctx),
        HotlistCommand::Bench { entries, reads, seed } => bench(ctx, *entries, *reads, *seed),
        HotlistCommand::Keygen { out } => {
            let public = generate_key(out)?;
            println!("private key written to {} (keep it off the consoles)", out.display());
            println!("public key (for [hotlist] public_key in every console's config):");
            println!("{public}");
            Ok(ExitCode::SUCCESS)
        }
        HotlistCommand::Sign { dir, key, version } => {
            let manifest = sign_dir(dir, key, version.as_deref(), Utc::now())?;
            for file in &manifest.files {
                println!("{}  {}  {} bytes  {}", file.sha256, file.format, file.size, file.name);
            }
            println!("signed {} files as version {} in {}", manifest.files.len(), manifest.version, dir.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The audit sink of the command line: the store's hash-chained audit log, so every import,
/// update and refusal is recorded durably (an action that cannot be audited is not made).
fn audit_sink(ctx: &Context) -> anyhow::Result<Store> {
    super::store::open_store(ctx)
}

fn actor() -> Actor {
    // The command line runs as the operating-system user until log-on exists.
    let user = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    Actor::new(&user, "cli")
}

fn import(ctx: &Context, files: &[PathBuf], format: Option<Format>) -> anyhow::Result<ExitCode> {
    let audit = audit_sink(ctx)?;
    let files: Vec<(PathBuf, Option<Format>)> = files.iter().map(|f| (f.clone(), format)).collect();
    let report = import_files(&ctx.paths.data_dir, &files, &audit as &dyn AuditSink, &actor(), Utc::now())?;
    println!("{report}");
    Ok(if report.has_file_error() { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

fn load(ctx: &Context) -> anyhow::Result<Hotlists> {
    let loaded =
        load_active(&ctx.paths.data_dir, &ctx.config.hotlist, Utc::now()).context("loading the hot-list cache")?;
    for error in &loaded.report.errors {
        eprintln!("warning: {error}");
    }
    Ok(Hotlists::new(loaded.list))
}

fn check(ctx: &Context, plate: &str, alternatives: &[String], state: Option<&str>) -> anyhow::Result<ExitCode> {
    let lists = load(ctx)?;
    let mut candidates = vec![ReadCandidate { text: plate, confidence: 1.0 }];
    candidates.extend(alternatives.iter().map(|text| ReadCandidate { text, confidence: 0.5 }));
    let Some(hit) = lists.match_read(&ReadQuery { candidates: &candidates, state, now: Utc::now() }) else {
        println!(
            "no match for {plate} in {} entries (list version {})",
            lists.current().index.len(),
            lists.current().status.version
        );
        return Ok(ExitCode::from(1));
    };
    print_hit(&hit);
    Ok(ExitCode::SUCCESS)
}

fn print_hit(hit: &Hit) {
    println!("{} ({} entries)", if hit.is_exact() { "HIT, EXACT" } else { "HIT, CHECK THE PLATE" }, hit.matches.len());
    for m in &hit.matches {
        let e = &m.entry;
        let how = match m.kind {
            MatchKind::Exact => "exact".to_owned(),
            MatchKind::Wildcard => format!("wildcard {}", e.plate),
            MatchKind::Approximate => {
                let subs: Vec<String> = m
                    .substitutions
                    .iter()
                    .map(|s| format!("position {}: read {} for {}", s.position + 1, s.read, s.listed))
                    .collect();
                format!("approximate ({})", subs.join(", "))
            }
        };
        let state = e.state.as_deref().unwrap_or("--");
        let mismatch = if m.state_mismatch { " STATE DIFFERS" } else { "" };
        let vehicle = [
            e.vehicle.year.map(|y| y.to_string()).unwrap_or_default(),
            e.vehicle.make.clone(),
            e.vehicle.model.clone(),
            e.vehicle.colour.clone(),
        ]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
        println!(
            "  priority {} {} {} {}{}  read {}  {}  list {} {}  {}  {}",
            e.priority, e.category, e.plate, state, mismatch, m.read_text, how, e.list, e.version, vehicle, e.reason
        );
    }
}

fn stats(ctx: &Context) -> anyhow::Result<ExitCode> {
    let lists = load(ctx)?;
    let current = lists.current();
    let now = Utc::now();
    let status = &current.status;
    println!("version: {}", status.version);
    match status.age(now) {
        Some(age) => println!(
            "created: {} (age {}h{:02}m){}",
            status.created.map(|c| c.to_rfc3339()).unwrap_or_default(),
            age.num_hours(),
            age.num_minutes() % 60,
            if status.is_stale(now, ctx.config.hotlist.max_age()) {
                format!(" STALE: older than {} hours", ctx.config.hotlist.max_age_hours)
            } else {
                String::new()
            }
        ),
        None => println!("created: no list loaded (STALE)"),
    }
    println!("entries: {} ({} wildcard)", current.index.len(), current.index.wildcard_count());
    println!("index memory: {:.2} MB", current.index.heap_bytes() as f64 / 1e6);
    for source in &status.sources {
        println!("source: {source}");
    }
    for list in current.index.lists() {
        println!(
            "  {:>9}  {} ({}, version {})",
            list.entries, list.source.list, list.source.source, list.source.version
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn update(ctx: &Context) -> anyhow::Result<ExitCode> {
    let lists = load(ctx)?;
    let audit = audit_sink(ctx)?;
    let actor = actor();
    let result = run_update(&UpdateRequest {
        data_dir: &ctx.paths.data_dir,
        config: &ctx.config.hotlist,
        lists: &lists,
        audit: &audit,
        actor: &actor,
        now: Utc::now(),
    });
    match result {
        Ok(outcome) if outcome.already_current => {
            println!("list {} is already current ({} entries)", outcome.status.version, outcome.status.entries);
            Ok(ExitCode::SUCCESS)
        }
        Ok(outcome) => {
            println!("{}", outcome.report);
            println!("now using list {} ({} entries)", outcome.status.version, outcome.status.entries);
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            eprintln!("update refused, keeping list {}: {err}", lists.current().status.version);
            Ok(ExitCode::from(2))
        }
    }
}

/// Resident and peak memory of this process in bytes, from `/proc/self/status` (Linux).
fn memory_bytes() -> (Option<u64>, Option<u64>) {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else { return (None, None) };
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn bench(ctx: &Context, entries: usize, reads: usize, seed: u64) -> anyhow::Result<ExitCode> {
    let start = Instant::now();
    let (index, listed) = synthetic::synthetic_index(entries, seed, ctx.config.hotlist.match_config())?;
    let build = start.elapsed();
    let (rss, peak) = memory_bytes();
    let rss_mb = rss.map_or(f64::NAN, |b| b as f64 / 1e6);
    println!(
        "built {} entries in {:.0} ms (generating and packing included); index {:.1} MB; resident {:.1} MB, peak {:.1} MB",
        index.len(),
        build.as_secs_f64() * 1e3,
        index.heap_bytes() as f64 / 1e6,
        rss_mb,
        peak.map_or(f64::NAN, |b| b as f64 / 1e6)
    );
    let queries = synthetic::synthetic_reads(reads.max(1), &listed, seed);
    let now = Utc::now();
    let mut times = Vec::with_capacity(queries.len());
    let mut hits = 0usize;
    for query in &queries {
        let candidates = [
            ReadCandidate { text: &query[0], confidence: 0.9 },
            ReadCandidate { text: &query[1], confidence: 0.6 },
            ReadCandidate { text: &query[2], confidence: 0.3 },
        ];
        let read = ReadQuery { candidates: &candidates, state: Some("CA"), now };
        let t = Instant::now();
        let hit = std::hint::black_box(index.match_read(std::hint::black_box(&read)));
        times.push(t.elapsed().as_nanos() as f64);
        hits += usize::from(hit.is_some());
    }
    times.sort_by(f64::total_cmp);
    let percentile = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    println!(
        "matched {} reads (3 candidates each, {} hits): median {:.0} ns, p99 {:.0} ns (timer overhead included)",
        times.len(),
        hits,
        percentile(0.5),
        percentile(0.99)
    );
    println!(
        "{}",
        serde_json::json!({
            "entries": index.len(),
            "build_ms": build.as_secs_f64() * 1e3,
            "rss_mb": rss_mb,
            "match_ns_median": percentile(0.5),
            "match_ns_p99": percentile(0.99),
        })
    );
    Ok(ExitCode::SUCCESS)
}
