//! The `store` command (benchmark, the crash-test writer, demo seeding) and the helpers every
//! storage-backed command shares: opening the encrypted store and authenticating `--as`.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use super::Context;
use crate::audit::{AuditAction, AuditEvent};
use crate::hotlist::cache::HotlistCache;
use crate::session::roles::Permission;
use crate::session::{AccountRules, Accounts, User};
use crate::store::key::rotation_pending;
use crate::store::rekey::{DatabaseStep, Rotation};
use crate::store::{HitRecord, KeySource, NewRead, Store, StoreError, StoreKeys};

/// Subcommands of `store`.
#[derive(Debug, clap::Subcommand)]
pub enum StoreCommand {
    /// Measure inserts, a month's usage report and the purge on a scratch database; prints
    /// one JSON object as the last line.
    Bench(BenchArgs),
    /// Create the DEMO accounts (documented, not secure) if they do not exist.
    SeedDemoUsers,
    /// Rotate the database key: re-encrypt the database and the hot-list cache under a new
    /// passphrase, from PATROL_ALPR_NEW_DB_KEY or --new-key-file. Close the console first. An
    /// interrupted rotation is completed by running the same command again.
    Rekey(RekeyArgs),
    /// Crash-test helper: insert reads forever, printing each id once it is committed.
    #[command(hide = true)]
    StressWriter,
}

/// Options of `store bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Reads to insert.
    #[arg(long, default_value_t = 1_000_000)]
    pub reads: usize,
}

/// Options of `store rekey`.
#[derive(Debug, clap::Args)]
pub struct RekeyArgs {
    /// The ALPR Administrator rotating the key (PIN from PATROL_ALPR_PIN or stdin).
    #[arg(long = "as", value_name = "ADMIN_ID")]
    pub as_user: String,
    /// A file whose first line is the new passphrase, outside the data dir (used when
    /// PATROL_ALPR_NEW_DB_KEY is not set).
    #[arg(long, value_name = "FILE")]
    pub new_key_file: Option<PathBuf>,
    /// Finish even though some hot-list cache files open under neither key. Without it the
    /// rotation stops before its last step and names them: they may be damaged, or the
    /// current passphrase given is not the one they were sealed with.
    #[arg(long)]
    pub leave_unreadable: bool,
}

/// Opens the store in the data dir with the configured key.
pub(super) fn open_store(ctx: &Context) -> anyhow::Result<Store> {
    let cfg = &ctx.config.store;
    let keys = StoreKeys::obtain(&ctx.paths.data_dir, cfg.key_file.as_deref(), cfg.demo_key)?;
    if keys.source == KeySource::DemoInsecure {
        eprintln!("warning: DEMO KEY in use (stored beside the data): this database is NOT protected at rest");
    }
    let store = Store::open(&ctx.paths.data_dir, keys, &ctx.config.agency.name)
        .with_context(|| format!("opening the store in {}", ctx.paths.data_dir.display()))?;
    // The security settings are the database's: the file's are seeded once, then ignored.
    for warning in crate::session::admin::secure_settings(&store, &ctx.config)? {
        eprintln!("warning: {warning}");
    }
    let _ = ctx.in_force.set(crate::session::admin::effective_config(&store, &ctx.config)?);
    Ok(store)
}

/// The account rules in force (the administrator's once the store is open).
pub(super) fn rules(ctx: &Context) -> AccountRules {
    AccountRules::from_settings(&ctx.in_force().store)
}

/// Reads secrets: from an environment variable when set, else one line of stdin each.
pub(super) struct Secrets {
    lines: std::io::Lines<std::io::StdinLock<'static>>,
}

impl Secrets {
    pub(super) fn new() -> Self {
        Self { lines: std::io::stdin().lock().lines() }
    }

    /// The value of `env`, or the next stdin line after a prompt on stderr.
    pub(super) fn get(&mut self, env: &str, prompt: &str) -> anyhow::Result<String> {
        if let Ok(value) = std::env::var(env) {
            return Ok(value);
        }
        eprint!("{prompt} (or set {env}): ");
        let _ = std::io::stderr().flush();
        let line = self.lines.next().context("no input on stdin")??;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

/// Authenticates the `--as` user with the PIN from `PATROL_ALPR_PIN` or stdin (audited).
pub(super) fn actor(store: &Store, ctx: &Context, id: &str, secrets: &mut Secrets) -> anyhow::Result<User> {
    let pin = secrets.get("PATROL_ALPR_PIN", &format!("PIN for {id}"))?;
    Ok(Accounts::new(store, rules(ctx)).authenticate(id, &pin, Utc::now())?)
}

/// Parses `YYYY-MM-DD` (midnight UTC; `end_of_day` moves it to the next midnight so a
/// `--to` date includes that day) or an RFC 3339 time.
pub(super) fn parse_time(text: &str, end_of_day: bool) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let date = if end_of_day { date + chrono::Duration::days(1) } else { date };
        return Ok(date.and_time(NaiveTime::MIN).and_utc());
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .with_context(|| format!("{text:?} is not YYYY-MM-DD or an RFC 3339 time"))
}

/// Runs `store`.
pub fn run(ctx: &Context, command: StoreCommand) -> anyhow::Result<ExitCode> {
    match command {
        StoreCommand::Bench(args) => bench(ctx, &args),
        StoreCommand::SeedDemoUsers => {
            let store = open_store(ctx)?;
            let created = crate::session::seed_demo_users(&store)?;
            println!("created {created} DEMO accounts (see docs/storage.md for their PINs)");
            Ok(ExitCode::SUCCESS)
        }
        StoreCommand::StressWriter => stress_writer(ctx),
        StoreCommand::Rekey(args) => rekey(ctx, &args),
    }
}

/// `store rekey`: the administrator is checked and the start audited before anything is
/// touched, on every path; the rotation runs with the data dir held exclusively, and its end
/// is audited under the new key. A resumed rotation finds the database under the old key or
/// already under the new one, and checks the administrator in whichever opens it.
fn rekey(ctx: &Context, args: &RekeyArgs) -> anyhow::Result<ExitCode> {
    let data_dir = &ctx.paths.data_dir;
    let cfg = &ctx.config.store;
    let current = StoreKeys::obtain(data_dir, cfg.key_file.as_deref(), cfg.demo_key)?;
    let mut secrets = Secrets::new();
    let resuming = rotation_pending(data_dir);
    let org = &ctx.config.agency.name;
    let store = if resuming {
        eprintln!("a key rotation did not finish in {}: completing it", data_dir.display());
        match Store::open_during_rotation(data_dir, current.clone(), org) {
            Err(StoreError::WrongKey(_)) => {
                let next = StoreKeys::obtain_next(data_dir, args.new_key_file.as_deref())?;
                Store::open_during_rotation(data_dir, next, org)?
            }
            opened => opened?,
        }
    } else {
        open_store(ctx)?
    };
    let user = authorized_key_manager(&store, ctx, &args.as_user, &mut secrets)?;
    store.audit(key_event(&store, &user.id, if resuming { "rotation resumed" } else { "rotation started" }))?;
    // The rotation needs the data dir to itself.
    drop(store);
    let rotation = Rotation::begin(data_dir, args.new_key_file.as_deref())?;
    let database = rotation.reencrypt_database(&current)?;
    let old_cache = HotlistCache::new(data_dir, current.clone());
    let mut cache = old_cache.reseal(&HotlistCache::new(data_dir, rotation.next_keys().clone()))?;
    // The office's publication a joined car keeps is sealed under the same key.
    let office = crate::store::outbox::office_list_dir(data_dir);
    let office_report =
        HotlistCache::at(&office, current.clone()).reseal(&HotlistCache::at(&office, rotation.next_keys().clone()))?;
    cache.resealed += office_report.resealed;
    cache.already += office_report.already;
    cache.unreadable.extend(office_report.unreadable);
    if !cache.unreadable.is_empty() && !args.leave_unreadable {
        for path in &cache.unreadable {
            eprintln!("opens under neither key: {}", path.display());
        }
        // Finishing would make a file sealed under the right current key unreadable for good.
        anyhow::bail!(
            "{} hot-list cache files open under neither the current nor the new key, so the rotation \
             stopped before its last step. Check the current passphrase and run the command again; if \
             those files were damaged before, add --leave-unreadable",
            cache.unreadable.len()
        );
    }
    let next = rotation.finish()?;
    let source = next.source.clone();
    let store = Store::open(data_dir, next, &ctx.config.agency.name)?;
    let database = match database {
        DatabaseStep::Reencrypted => "database re-encrypted",
        DatabaseStep::AlreadyNew => "database already under the new key",
        DatabaseStep::Absent => "no database yet",
    };
    let outcome = format!(
        "rotated{}: {database}, {} hot-list cache files resealed, {} already, {} unreadable left as they were",
        if resuming { " (resumed)" } else { "" },
        cache.resealed,
        cache.already,
        cache.unreadable.len()
    );
    store.audit(key_event(&store, &user.id, &outcome))?;
    println!("{outcome}");
    for path in &cache.unreadable {
        println!("opened under neither key, left as it was: {}", path.display());
    }
    let given = match source {
        KeySource::KeyFile(file) => format!(" (the first line of {})", file.display()),
        KeySource::Environment | KeySource::DemoInsecure => String::new(),
    };
    println!(
        "the old passphrase no longer opens this data: from now on give the new one{given} as \
         PATROL_ALPR_DB_KEY or in the file [store] key_file names"
    );
    if current.source == KeySource::DemoInsecure {
        println!("the DEMO key no longer opens it either: set [store] demo_key = false");
    }
    Ok(ExitCode::SUCCESS)
}

/// Authenticates `id` and checks that they may rotate the key (a refusal is audited).
fn authorized_key_manager(store: &Store, ctx: &Context, id: &str, secrets: &mut Secrets) -> anyhow::Result<User> {
    let user = actor(store, ctx, id, secrets)?;
    Accounts::new(store, rules(ctx)).authorize(&user, Permission::ManageKeys, AuditAction::Admin, "database key")?;
    Ok(user)
}

fn key_event(store: &Store, user: &str, outcome: &str) -> AuditEvent {
    AuditEvent::new(user, store.organization(), AuditAction::Admin, "database key", outcome)
}

fn synthetic_read(i: usize, time: DateTime<Utc>, officer: Option<String>) -> NewRead {
    NewRead {
        time,
        camera: if i.is_multiple_of(2) { "front".into() } else { "rear".into() },
        officer,
        plate: format!("{}{:03}{}", ["7ABC", "8XYZ", "5KLM", "6DEF"][i % 4], i % 1000, i % 10),
        confidence: 0.8 + (i % 20) as f32 / 100.0,
        candidates_json: "[]".into(),
        state: Some("CA".into()),
        gps: Some(crate::location::Fix::at(time, 33.75 + (i % 100) as f64 * 1e-4, -118.2)),
        crop_png: None,
    }
}

fn stress_writer(ctx: &Context) -> anyhow::Result<ExitCode> {
    let store = open_store(ctx)?;
    let stdout = std::io::stdout();
    for i in 0.. {
        let id = store.insert_read(synthetic_read(i, Utc::now(), Some("stress".into())))?;
        // Printed only after the commit: every id the parent sees must survive a SIGKILL.
        let mut out = stdout.lock();
        writeln!(out, "{id}")?;
        out.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}

fn bench(ctx: &Context, args: &BenchArgs) -> anyhow::Result<ExitCode> {
    // A scratch database beside the real one, never the real one; those of killed runs go.
    crate::store::orphans::remove_orphaned(&ctx.paths.data_dir, "bench-");
    let dir = ctx.paths.data_dir.join(format!("bench-{}", std::process::id()));
    let result = bench_in(&dir, args.reads, 30);
    let _ = std::fs::remove_dir_all(&dir);
    let report = result?;
    println!("{report}");
    Ok(ExitCode::SUCCESS)
}

fn bench_in(dir: &std::path::Path, total: usize, days: usize) -> anyhow::Result<serde_json::Value> {
    let keys = StoreKeys::derive("bench passphrase", dir, KeySource::Environment)?;
    let store = Store::open(dir, keys, "Bench PD")?;
    let officers = 20usize;
    // The month under test ended 400 days ago, so the purge (365-day retention) deletes it all.
    let month_start =
        (Utc::now() - chrono::Duration::days(400 + days as i64)).date_naive().and_time(NaiveTime::MIN).and_utc();
    let shift_len = chrono::Duration::hours(10);

    // Shifts: every officer works one 10-hour shift a day, with one deactivation and a hit.
    for day in 0..days {
        for o in 0..officers {
            let start = month_start + chrono::Duration::days(day as i64) + chrono::Duration::minutes(o as i64);
            let officer = format!("officer{o:02}");
            let shift = store.start_shift(&officer, start)?;
            store.activate(shift, &officer, start)?;
            store.deactivate(shift, &officer, start + chrono::Duration::hours(4), "meal break")?;
            store.activate(shift, &officer, start + chrono::Duration::hours(5))?;
            store.insert_hit(HitRecord::new(
                None,
                "7ABC123",
                "SVS",
                1,
                Some(&officer),
                start + chrono::Duration::hours(2),
            ))?;
            store.end_shift(shift, start + shift_len)?;
        }
    }

    // Reads spread evenly over the shifts, 1,000 per transaction as the recognizer batches them.
    let started = Instant::now();
    let per_shift = total.div_ceil(officers * days).max(1);
    let step_ms = (shift_len.num_milliseconds() / per_shift as i64).max(1);
    let mut batch = Vec::with_capacity(1000);
    for i in 0..total {
        let shift_no = i / per_shift;
        let (day, o) = (shift_no / officers, shift_no % officers);
        let start = month_start + chrono::Duration::days(day as i64) + chrono::Duration::minutes(o as i64);
        let time = start + chrono::Duration::milliseconds((i % per_shift) as i64 * step_ms);
        batch.push(synthetic_read(i, time, Some(format!("officer{o:02}"))));
        if batch.len() == 1000 {
            store.insert_reads(std::mem::take(&mut batch))?;
        }
    }
    if !batch.is_empty() {
        store.insert_reads(batch)?;
    }
    let insert_secs = started.elapsed().as_secs_f64();

    // Lone reads, each waiting for its own durable commit (the worst case).
    let single = 500usize;
    let started = Instant::now();
    for i in 0..single {
        store.insert_read(synthetic_read(i, Utc::now(), None))?;
    }
    let single_secs = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let month_end = month_start + chrono::Duration::days(days as i64);
    let rows = store.read(|conn| crate::reports::usage::compute(conn, month_start, month_end, None, Utc::now()))?;
    let report_ms = started.elapsed().as_secs_f64() * 1000.0;
    let report_reads: i64 = rows.iter().map(|r| r.reads).sum();

    let started = Instant::now();
    let purged = store.purge(Utc::now() - chrono::Duration::days(365), false, "bench")?;
    let purge_ms = started.elapsed().as_secs_f64() * 1000.0;
    let integrity = store.integrity_check()?;

    Ok(serde_json::json!({
        "reads": total,
        "inserts_per_s": (total as f64 / insert_secs).round(),
        "insert_batch": 1000,
        "single_commit_inserts_per_s": (single as f64 / single_secs).round(),
        "usage_report_ms": (report_ms * 10.0).round() / 10.0,
        "usage_report_shifts": rows.len(),
        "usage_report_reads": report_reads,
        "purge_ms": (purge_ms * 10.0).round() / 10.0,
        "purged_reads": purged.reads,
        "integrity": integrity,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("2026-11-01", false).unwrap().to_rfc3339(), "2026-11-01T00:00:00+00:00");
        assert_eq!(parse_time("2026-11-30", true).unwrap().to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(parse_time("2026-11-01T08:30:00Z", true).unwrap().to_rfc3339(), "2026-11-01T08:30:00+00:00");
        assert!(parse_time("yesterday", false).is_err());
    }

    #[test]
    fn small_bench_runs() {
        let dir = tempfile::tempdir().unwrap();
        let report = bench_in(&dir.path().join("b"), 2_000, 2).unwrap();
        assert_eq!(report["purged_reads"], 2_000);
        assert_eq!(report["usage_report_shifts"], 40);
        assert_eq!(report["usage_report_reads"], 2_000);
        assert_eq!(report["integrity"], "ok");
    }
}
