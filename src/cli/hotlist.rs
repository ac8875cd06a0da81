//! The `hotlist` command: import files, check a plate, show the list's state, run the signed
//! update, manage manual (BOLO) entries, measure the index, and the agency's key and signing
//! tools. New entries (an update's, a BOLO's) are checked against the stored reads of the
//! configured window, and what they match is recorded as hits.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use chrono::{DateTime, Duration, Utc};

use super::Context;
use super::store::{Secrets, actor as authenticate, open_store, parse_time, rules};
use crate::audit::{AuditAction, AuditEvent, AuditSink};
use crate::hotlist::cache::HotlistCache;
use crate::hotlist::load::{Actor, import_files, load_active};
use crate::hotlist::manual::{BoloRecord, BoloRequest, BoloStore};
use crate::hotlist::parse::Format;
use crate::hotlist::past_reads::{PastReadHit, check_past_reads, record_hits};
use crate::hotlist::update::{UpdateRequest, generate_key, run_update, sign_dir};
use crate::hotlist::{Category, Hit, HotlistIndex, Hotlists, MatchKind, ReadCandidate, ReadQuery, Vehicle, synthetic};
use crate::session::{Accounts, Permission, User};
use crate::store::{KeySource, Store, StoreKeys};

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
    /// Add list files to the hot-list cache; prints every bad line and the totals. Unsigned
    /// entries: the ALPR Administrator only (`--as ID`, PIN from PATROL_ALPR_PIN or stdin),
    /// audited.
    Import {
        /// CLEW `.tbl`, NCIC `.ncic` or `.csv` files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The format, when the file names do not tell it.
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// The administrator importing.
        #[arg(long = "as", value_name = "ID")]
        as_user: String,
    },
    /// Match a plate against the cached list; exit status 1 when nothing matches. Needs a
    /// logged-on user (`--as ID`, PIN from PATROL_ALPR_PIN or stdin); audited.
    Check {
        /// The plate as read.
        plate: String,
        /// Further candidate readings, best first.
        #[arg(long = "alt", value_name = "PLATE")]
        alternatives: Vec<String>,
        /// The state, when known.
        #[arg(long)]
        state: Option<String>,
        /// The user asking.
        #[arg(long = "as", value_name = "ID")]
        as_user: String,
    },
    /// Show the cached list's version, age and counts.
    Stats,
    /// Run the signed update from the configured sources; new entries are checked against
    /// the stored reads of the last `past_reads_window_hours`. Needs a logged-on user (`--as
    /// ID`, PIN from PATROL_ALPR_PIN or stdin); audited.
    Update {
        /// The user running the update.
        #[arg(long = "as", value_name = "ID")]
        as_user: String,
    },
    /// Manual entries (BOLO): add, remove, list. Each needs a logged-on user (`--as ID`, PIN
    /// from PATROL_ALPR_PIN or stdin) and is audited.
    Bolo {
        /// What to do.
        #[command(subcommand)]
        command: BoloCommand,
    },
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
    /// Agency side: sign the list files in DIR (as `sign` does) and store the signed
    /// publication in the office database, for every joined car to pull and verify. Needs
    /// the ALPR Administrator (`--as`, PIN asked); audited here and in the office's log.
    Publish {
        /// The folder to publish.
        dir: PathBuf,
        /// The office database (also from PATROL_ALPR_OFFICE_URL).
        #[arg(long = "db", value_name = "URL", env = "PATROL_ALPR_OFFICE_URL", hide_env_values = true)]
        db: String,
        /// The private key from `hotlist keygen`.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The list version (default: the creation time).
        #[arg(long)]
        version: Option<String>,
        /// The administrator publishing it.
        #[arg(long = "as", value_name = "ADMIN_ID")]
        as_user: String,
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

/// The `hotlist bolo` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum BoloCommand {
    /// Add a manual entry; stored reads of the configured window are checked against it.
    Add {
        /// The plate; `?` (one character) and `*` (any run) make a partial-plate entry.
        plate: String,
        /// The state or province (two letters).
        #[arg(long)]
        state: Option<String>,
        /// Why the vehicle is wanted (required).
        #[arg(long)]
        reason: String,
        /// When it stops matching (YYYY-MM-DD: the end of that day; or RFC 3339); capped, and
        /// by default set, at `bolo_max_days`.
        #[arg(long)]
        expires: Option<String>,
        /// The category (default bolo).
        #[arg(long)]
        category: Option<String>,
        /// 1 (most urgent) to 9 (default: the category's).
        #[arg(long)]
        priority: Option<u8>,
        /// Vehicle year.
        #[arg(long)]
        year: Option<u16>,
        /// Vehicle make.
        #[arg(long, default_value = "")]
        make: String,
        /// Vehicle model.
        #[arg(long, default_value = "")]
        model: String,
        /// Vehicle colour.
        #[arg(long, default_value = "")]
        colour: String,
        /// The user adding it.
        #[arg(long = "as", value_name = "ID")]
        as_user: String,
    },
    /// Remove a manual entry, saying why.
    Remove {
        /// The entry's id (see `hotlist bolo list`).
        id: u64,
        /// Why it is removed (vehicle found, entry mistaken...).
        #[arg(long)]
        reason: String,
        /// The user removing it.
        #[arg(long = "as", value_name = "ID")]
        as_user: String,
    },
    /// List the manual entries in force (with --all, expired ones too).
    List {
        /// Include expired entries.
        #[arg(long)]
        all: bool,
        /// The user asking.
        #[arg(long = "as", value_name = "ID")]
        as_user: String,
    },
}

/// Runs `hotlist`.
pub fn run(ctx: &Context, args: &HotlistArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        HotlistCommand::Import { files, format, as_user } => import(ctx, files, *format, as_user),
        HotlistCommand::Check { plate, alternatives, state, as_user } => {
            check(ctx, plate, alternatives, state.as_deref(), as_user)
        }
        HotlistCommand::Stats => stats(ctx),
        HotlistCommand::Update { as_user } => update(ctx, as_user),
        HotlistCommand::Bolo { command } => bolo(ctx, command),
        HotlistCommand::Bench { entries, reads, seed } => bench(ctx, *entries, *reads, *seed),
        HotlistCommand::Keygen { out } => {
            let public = generate_key(out)?;
            println!("private key written to {} (keep it off the consoles)", out.display());
            println!("public key (for [hotlist] public_key in every console's config):");
            println!("{public}");
            Ok(ExitCode::SUCCESS)
        }
        HotlistCommand::Publish { dir, db, key, version, as_user } => {
            publish(ctx, dir, db, key, version.as_deref(), as_user)
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
    open_store(ctx)
}

/// The hot-list cache, sealed with the store's key.
fn store_cache(ctx: &Context, store: &Store) -> HotlistCache {
    HotlistCache::new(&ctx.paths.data_dir, store.keys().clone())
}

/// The hot-list cache for commands that only read it (no database needed): the key comes
/// from the same place as the store's.
fn read_only_cache(ctx: &Context) -> anyhow::Result<HotlistCache> {
    let cfg = &ctx.config.store;
    let keys = StoreKeys::obtain(&ctx.paths.data_dir, cfg.key_file.as_deref(), cfg.demo_key)?;
    if keys.source == KeySource::DemoInsecure {
        eprintln!("warning: DEMO KEY in use (stored beside the data): the hot-list cache is NOT protected at rest");
    }
    Ok(HotlistCache::new(&ctx.paths.data_dir, keys))
}

/// Authenticates `id` (PIN from PATROL_ALPR_PIN or stdin) and checks that the user holds
/// `permission`, or `ManageHotlistSources` (the administrator, who keeps the lists); a refusal
/// is audited as `action` on `what`. Whoever holds the database key still needs this: the
/// command line grants nothing by itself.
fn logged_on(
    ctx: &Context,
    store: &Store,
    id: &str,
    permission: Permission,
    action: AuditAction,
    what: &str,
) -> anyhow::Result<User> {
    let user = authenticate(store, ctx, id, &mut Secrets::new())?;
    if !user.role.allows(Permission::ManageHotlistSources) {
        Accounts::new(store, rules(ctx)).authorize(&user, permission, action, what)?;
    }
    Ok(user)
}

fn import(ctx: &Context, files: &[PathBuf], format: Option<Format>, as_user: &str) -> anyhow::Result<ExitCode> {
    let audit = audit_sink(ctx)?;
    let what = "hot-list import";
    let user = logged_on(ctx, &audit, as_user, Permission::ManageHotlistSources, AuditAction::HotlistImport, what)?;
    let cache = store_cache(ctx, &audit);
    let files: Vec<(PathBuf, Option<Format>)> = files.iter().map(|f| (f.clone(), format)).collect();
    let actor = Actor::new(&user.id, audit.organization());
    let report = import_files(&cache, &ctx.config.hotlist, &files, &audit as &dyn AuditSink, &actor, Utc::now())?;
    println!("{report}");
    Ok(if report.has_file_error() { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

fn load(ctx: &Context, cache: &HotlistCache) -> anyhow::Result<Hotlists> {
    let loaded = load_active(cache, &ctx.config.hotlist, Utc::now()).context("loading the hot-list cache")?;
    for error in &loaded.report.errors {
        eprintln!("warning: {error}");
    }
    Ok(Hotlists::new(loaded.list))
}

fn check(
    ctx: &Context,
    plate: &str,
    alternatives: &[String],
    state: Option<&str>,
    as_user: &str,
) -> anyhow::Result<ExitCode> {
    let store = audit_sink(ctx)?;
    let what = format!("hot-list check {plate}");
    let user = logged_on(ctx, &store, as_user, Permission::UseAlpr, AuditAction::Search, &what)?;
    let lists = load(ctx, &store_cache(ctx, &store))?;
    let mut candidates = vec![ReadCandidate { text: plate, confidence: 1.0 }];
    candidates.extend(alternatives.iter().map(|text| ReadCandidate { text, confidence: 0.5 }));
    let hit = lists.match_read(&ReadQuery { candidates: &candidates, state, now: Utc::now() });
    let outcome = match &hit {
        Some(hit) => format!("ok: {} entries matched", hit.matches.len()),
        None => "ok: no match".to_owned(),
    };
    // Audited before anything is shown: a query that cannot be recorded is not answered.
    store.audit(AuditEvent::new(&user.id, store.organization(), AuditAction::Search, &what, &outcome))?;
    let Some(hit) = hit else {
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
        let mismatch = match m.state_check {
            crate::hotlist::StateCheck::Differs => " STATE DIFFERS",
            crate::hotlist::StateCheck::NotRead => " STATE NOT READ",
            crate::hotlist::StateCheck::IgnoredByList => " STATE NOT CHECKED (list)",
            crate::hotlist::StateCheck::Agrees | crate::hotlist::StateCheck::NotListed => "",
        };
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
    let lists = load(ctx, &read_only_cache(ctx)?)?;
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

fn publish(
    ctx: &Context,
    dir: &std::path::Path,
    db: &str,
    key: &std::path::Path,
    version: Option<&str>,
    as_user: &str,
) -> anyhow::Result<ExitCode> {
    let store = audit_sink(ctx)?;
    let what = format!("hot-list publish {}", dir.display());
    let user = logged_on(ctx, &store, as_user, Permission::ManageHotlistSources, AuditAction::HotlistUpdate, &what)?;
    let mut office = crate::fleet::connect(db)?;
    let signed = sign_dir(dir, key, version, Utc::now());
    let result = signed.map_err(anyhow::Error::from).and_then(|manifest| {
        let published = crate::fleet::publish::publish_hotlist(&mut office, dir, &user.id)?;
        Ok((manifest, published))
    });
    let outcome = match &result {
        Ok((_, p)) => {
            format!("published {} as office publication {} ({} files, {} bytes)", p.version, p.id, p.files, p.bytes)
        }
        Err(err) => format!("failed: {err:#}"),
    };
    let event = AuditEvent::new(&user.id, &user.organization, AuditAction::HotlistUpdate, &what, &outcome);
    store.audit(event.clone())?;
    if result.is_ok() {
        crate::fleet::office::office_audit(&mut office, &event)?;
    }
    let (manifest, _) = result?;
    for file in &manifest.files {
        println!("{}  {}  {} bytes  {}", file.sha256, file.format, file.size, file.name);
    }
    println!("{outcome}; each joined car pulls it at its next sync and checks its signature");
    Ok(ExitCode::SUCCESS)
}

fn update(ctx: &Context, as_user: &str) -> anyhow::Result<ExitCode> {
    let store = audit_sink(ctx)?;
    let user = logged_on(ctx, &store, as_user, Permission::UseAlpr, AuditAction::HotlistUpdate, "hot-list update")?;
    let cache = store_cache(ctx, &store);
    let lists = load(ctx, &cache)?;
    let previous = lists.current();
    let actor = Actor::new(&user.id, store.organization());
    let now = Utc::now();
    // The sources and key in force: the administrator's (in the database) over the file's.
    let in_force = crate::session::admin::effective_config(&store, &ctx.config)?;
    let result = run_update(&UpdateRequest {
        cache: &cache,
        config: &in_force.hotlist,
        lists: &lists,
        audit: &store,
        history: &store,
        actor: &actor,
        now,
    });
    match result {
        Ok(outcome) if outcome.already_current => {
            println!("list {} is already current ({} entries)", outcome.status.version, outcome.status.entries);
            Ok(ExitCode::SUCCESS)
        }
        Ok(outcome) => {
            println!("{}", outcome.report);
            println!("now using list {} ({} entries)", outcome.status.version, outcome.status.entries);
            let current = lists.current();
            raise_past_read_hits(ctx, &store, &current.index, Some(&previous.index), now)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            eprintln!("update refused, keeping list {}: {err}", lists.current().status.version);
            Ok(ExitCode::from(2))
        }
    }
}

/// Checks the stored reads of the configured window against `new` (leaving out entries
/// `previous` already held), records each match as a hit and prints it.
fn raise_past_read_hits(
    ctx: &Context,
    store: &Store,
    new: &HotlistIndex,
    previous: Option<&HotlistIndex>,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<i64>> {
    let hours = ctx.config.hotlist.past_reads_window_hours;
    let found = check_past_reads(new, previous, store, Duration::hours(i64::from(hours)), now)?;
    let ids = record_hits(store, &found, now).context("recording past-read hits")?;
    println!("past reads (last {hours} h): {} match new entries", found.len());
    for (id, PastReadHit { read, hit }) in ids.iter().zip(&found) {
        let Some(top) = hit.top() else { continue };
        println!(
            "  hit {id}: read {} of {} at {} ({}) matches {} {} on list {} ({})",
            read.read_id,
            read.plate,
            read.time.to_rfc3339(),
            read.camera,
            top.entry.category,
            top.entry.plate,
            top.entry.list,
            if hit.is_exact() { "exact" } else { "check the plate" }
        );
    }
    Ok(ids)
}

/// Authenticates `--as` and checks that the user may manage manual entries: officers and
/// supervisors (who run ALPR) and the administrator (who manages hot-list sources). A
/// refusal is audited.
fn bolo_user(ctx: &Context, store: &Store, id: &str, what: &str) -> anyhow::Result<User> {
    let action = if what.starts_with("remove") { AuditAction::BoloRemove } else { AuditAction::BoloAdd };
    logged_on(ctx, store, id, Permission::UseAlpr, action, what)
}

fn bolo(ctx: &Context, command: &BoloCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(ctx)?;
    let cache = store_cache(ctx, &store);
    let bolos = BoloStore::new(&cache, ctx.config.hotlist.bolo_max_days);
    let now = Utc::now();
    match command {
        BoloCommand::Add { plate, state, reason, expires, category, priority, year, make, model, colour, as_user } => {
            let user = bolo_user(ctx, &store, as_user, &format!("add {plate}"))?;
            let category = category
                .as_deref()
                .map(|c| Category::parse(c).ok_or_else(|| anyhow::anyhow!("unknown category {c:?}")))
                .transpose()?;
            let request = BoloRequest {
                plate: plate.clone(),
                state: state.clone(),
                reason: reason.clone(),
                expires: expires.as_deref().map(|t| parse_time(t, true)).transpose()?,
                category,
                priority: *priority,
                vehicle: Vehicle { year: *year, make: make.clone(), model: model.clone(), colour: colour.clone() },
            };
            let actor = Actor::new(&user.id, store.organization());
            let record = bolos.add(&request, &actor, &store, now)?;
            println!("added manual entry {}", describe(&record));
            // The new entry alone: every match is new (an earlier list's hits were raised then).
            let index = HotlistIndex::build(ctx.config.hotlist.match_config(), std::slice::from_ref(&record.entry))?;
            raise_past_read_hits(ctx, &store, &index, None, now)?;
            Ok(ExitCode::SUCCESS)
        }
        BoloCommand::Remove { id, reason, as_user } => {
            let user = bolo_user(ctx, &store, as_user, &format!("remove manual entry {id}"))?;
            let actor = Actor::new(&user.id, store.organization());
            let record = bolos.remove(*id, reason, &actor, &store)?;
            println!("removed manual entry {}", describe(&record));
            Ok(ExitCode::SUCCESS)
        }
        BoloCommand::List { all, as_user } => {
            bolo_user(ctx, &store, as_user, "list manual entries")?;
            let records: Vec<BoloRecord> =
                bolos.list()?.into_iter().filter(|r| *all || !r.entry.is_expired(now)).collect();
            for record in &records {
                println!("{}", describe(record));
            }
            println!("{} manual entries{}", records.len(), if *all { "" } else { " in force" });
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// One line about a manual entry.
fn describe(record: &BoloRecord) -> String {
    let e = &record.entry;
    format!(
        "{}: {} {} {} priority {} expires {} by {} ({}) at {}: {}",
        record.id,
        e.plate,
        e.state.as_deref().unwrap_or("--"),
        e.category,
        e.priority,
        e.expires.map_or_else(|| "never".to_owned(), |t| t.to_rfc3339()),
        record.added_by,
        record.organization,
        record.added_at.to_rfc3339(),
        e.reason
    )
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
    let (builder, listed) = synthetic::synthetic_builder(entries, seed, ctx.config.hotlist.match_config())?;
    let packed = start.elapsed();
    let index = builder.build();
    let build = start.elapsed();
    let (rss, peak) = memory_bytes();
    let rss_mb = rss.map_or(f64::NAN, |b| b as f64 / 1e6);
    // The high-water mark: the build's transient buffers count here, not in `rss_mb`.
    let peak_rss_mb = peak.map_or(f64::NAN, |b| b as f64 / 1e6);
    println!(
        "built {} entries ({} repeated another and were merged, {} indexed) in {:.0} ms ({:.0} ms generating \
         and packing, {:.0} ms sorting, merging and indexing); index {:.1} MB; resident {:.1} MB, peak {:.1} MB",
        entries,
        index.duplicates_merged(),
        index.len(),
        build.as_secs_f64() * 1e3,
        packed.as_secs_f64() * 1e3,
        (build - packed).as_secs_f64() * 1e3,
        index.heap_bytes() as f64 / 1e6,
        rss_mb,
        peak_rss_mb
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
            // The entries given to the build; random plates repeat now and then, and repeats
            // are merged as in a real list, so slightly fewer are indexed.
            "entries": entries,
            "indexed": index.len(),
            "duplicates_merged": index.duplicates_merged(),
            "build_ms": build.as_secs_f64() * 1e3,
            "rss_mb": rss_mb,
            "peak_rss_mb": peak_rss_mb,
            "match_ns_median": percentile(0.5),
            "match_ns_p99": percentile(0.99),
        })
    );
    Ok(ExitCode::SUCCESS)
}
