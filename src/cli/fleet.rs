//! The `fleet` command: the back office on PostgreSQL. `fleet init` creates or migrates the
//! office schema; `fleet enroll-car` gives a car its own database role and writes its
//! credentials file; `fleet join` and `leave` start and stop a car's outbox; `fleet sync`
//! sends it now; `fleet publish-accounts` and `publish-settings` give the office the
//! accounts and agency rules cars pull;
//! `fleet status` lists the cars with their audit chains verified; `fleet purge` is the
//! office's retention purge (the retention manager's); `fleet bench` measures
//! store and forward under faults against its own throwaway cluster. All but the bench are the ALPR
//! Administrator's (`--as`, PIN asked, audited here). The office URL may come from
//! `PATROL_ALPR_OFFICE_URL` instead of `--db`, so its password stays out of the process list.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use super::Context;
use super::store::{Secrets, actor, open_store, rules};
use crate::audit::{AuditAction, AuditEvent};
use crate::fleet::publish::Pulled;
use crate::fleet::sync::{self, SyncSettings};
use crate::fleet::{connect, enroll, schema};
use crate::session::{Accounts, Permission};
use crate::store::audit_log::Verification;
use crate::store::outbox;

/// Subcommands of `fleet`.
#[derive(Debug, clap::Subcommand)]
pub enum FleetCommand {
    /// Simulate many cars against a throwaway PostgreSQL cluster it starts itself, with the
    /// office cut off, crashed and restarted, and a car killed mid-batch; the last line is
    /// one JSON object (rows sent and at the office, lost, duplicated, lag, drain rate).
    /// Exit status 4 when a row was lost or stored twice.
    Bench {
        /// Cars.
        #[arg(long, default_value_t = 50)]
        cars: usize,
        /// Seconds of patrol.
        #[arg(long, default_value_t = 300)]
        seconds: u64,
        /// Plates each car reads per second.
        #[arg(long, default_value_t = 1.0)]
        reads_per_second: f64,
        /// Seconds between one car's hits.
        #[arg(long, default_value_t = 60)]
        hit_every: u64,
        /// Reads of the backlog timed as it drains (one car's shift).
        #[arg(long, default_value_t = 20_000)]
        backlog: usize,
        /// Seed of the fault schedule.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Days of fleet history (three 8-hour shifts a day per car) written into the office
        /// afterwards to time the fleet usage report over (0: skip).
        #[arg(long, default_value_t = 0)]
        report_days: u32,
        /// Reads in each simulated shift of that history.
        #[arg(long, default_value_t = 8_900)]
        report_reads_per_shift: u32,
    },
    /// Create or migrate the office schema in a PostgreSQL database (safe to run again).
    Init {
        /// The office database: a PostgreSQL URL of a role that owns it.
        #[arg(long = "db", value_name = "URL", env = "PATROL_ALPR_OFFICE_URL", hide_env_values = true)]
        db: String,
        /// The administrator doing it (PIN from PATROL_ALPR_PIN or stdin).
        #[arg(long = "as", value_name = "ADMIN_ID")]
        as_user: String,
    },
    /// Give a car its own role in the office database and write its credentials file.
    EnrollCar {
        /// The car's id (1-32 letters, digits, '-' or '_').
        car_id: String,
        /// The office database: a PostgreSQL URL of a role that may create roles.
        #[arg(long = "db", value_name = "URL", env = "PATROL_ALPR_OFFICE_URL", hide_env_values = true)]
        db: String,
        /// Where to write the car's credentials (outside its data dir; never overwritten).
        #[arg(long, value_name = "FILE")]
        credentials: PathBuf,
        /// The administrator doing it (PIN from PATROL_ALPR_PIN or stdin).
        #[arg(long = "as", value_name = "ADMIN_ID")]
        as_user: String,
    },
    /// Join this car to its office: from then on every record is queued for the office
    /// (and what the car kept before is queued once). The car's credentials are tried first.
    Join {
        /// The office database (host, port, database; the car's own role and password come
        /// from the credentials file, and nothing else of the URL is kept).
        #[arg(long = "db", value_name = "URL", env = "PATROL_ALPR_OFFICE_URL", hide_env_values = true)]
        db: String,
        /// The car's credentials file from `fleet enroll-car` (also set it as
        /// `[fleet] credentials` in the settings).
        #[arg(long, value_name = "FILE")]
        credentials: PathBuf,
        /// The administrator doing it (PIN from PATROL_ALPR_PIN or stdin).
        #[arg(long = "as", value_name = "ADMIN_ID")]
        as_user: String,
    },
    /// Stop queueing records for the office (what is queued stays until sent).
    Leave {
        /// The administrator doing it (PIN from PATROL_ALPR_PIN or stdin).
        #[arg(long = "as", value_name = "ADMIN_ID")]
        as_user: String,
    },
    /// Send everything queued now, in the foreground, and take the office's accounts.
    Sync {
        /// The administrator doing it (PIN from PATROL_ALPR_PIN or stdin).
        #[arg(long = "as", value_name = "ADMIN_ID")]
        as_user: String,
    },
    /// Publish this console's accounts (PIN hashes, certifications, statuses) to the office,
    /// for every car to pull.
    PublishAccounts {
        /// The office database: a URL of a role that may write its accounts.
        #[arg(long = "db", value_name = "URL", env = "PATROL_ALPR_OFFICE_URL", hide_env_values = true)]
        db: String,
        /// The administrator doing it (PIN from PATROL_ALPR_PIN or stdin).
        #[arg(long = "as", value_name = "ADMIN_ID")]
        as_user: String,
    },
    /// Publish this console's agency rules (retention, lockout, idle lock, inactive
    /// suspension) to the office, for every car to pull. Camera and hot-list sources and the
    /// hot-list key stay each car's own.
    PublishSettings {
        /// The office database: a URL of a role that may write its settings.
        #[arg(long = "db", value_name = "URL", env = "PATROL_ALPR_OFFICE_URL", hide_env_values = true)]
        db: String,
        /// The administrator doing it (PIN from PATROL_ALPR_PIN or stdin).
        #[arg(long = "as", value_name = "ADMIN_ID")]
        as_user: String,
    },
    /// The retention purge at the office: reads and finished hits older than the agency's
    /// published retention period, except what a standing case hold or a hit under review
    /// protects (as in each car); whole months go by dropping their partition. Also makes
    /// the coming months' partitions: run it daily. Audited here and in the office's log.
    Purge {
        /// The office database: a URL of a role that owns its tables.
        #[arg(long = "db", value_name = "URL", env = "PATROL_ALPR_OFFICE_URL", hide_env_values = true)]
        db: String,
        /// Count what would be deleted without deleting it.
        #[arg(long)]
        dry_run: bool,
        /// The administrator doing it (PIN from PATROL_ALPR_PIN or stdin).
        #[arg(long = "as", value_name = "ADMIN_ID")]
        as_user: String,
    },
    /// Each car at the office: last contact, rows received by kind, its audit chain as
    /// received (a gap or an altered row names the car and row; exit status 3 then).
    Status {
        /// The office database: a URL of a role that may read what the cars send.
        #[arg(long = "db", value_name = "URL", env = "PATROL_ALPR_OFFICE_URL", hide_env_values = true)]
        db: String,
        /// The administrator doing it (PIN from PATROL_ALPR_PIN or stdin).
        #[arg(long = "as", value_name = "ADMIN_ID")]
        as_user: String,
    },
}

/// Runs a `fleet` subcommand.
pub fn run(ctx: &Context, command: &FleetCommand) -> anyhow::Result<ExitCode> {
    // The bench touches no ALPR data: its office and cars are its own, made and deleted here.
    if let FleetCommand::Bench {
        cars,
        seconds,
        reads_per_second,
        hit_every,
        backlog,
        seed,
        report_days,
        report_reads_per_shift,
    } = command
    {
        let options = crate::fleet::bench::BenchOptions {
            cars: *cars,
            seconds: *seconds,
            reads_per_second: *reads_per_second,
            hit_every_s: *hit_every,
            backlog_reads: *backlog,
            seed: *seed,
            report_days: *report_days,
            report_reads_per_shift: *report_reads_per_shift,
        };
        let result = crate::fleet::bench::run(&options, &|line| eprintln!("{line}"))?;
        println!("{}", result.json());
        return Ok(if result.lost == 0 && result.duplicated == 0 { ExitCode::SUCCESS } else { ExitCode::from(4) });
    }
    let (as_user, what) = match command {
        FleetCommand::Bench { .. } => unreachable!("run before the store opens"),
        FleetCommand::Init { as_user, .. } => (as_user, "fleet init".to_owned()),
        FleetCommand::EnrollCar { as_user, car_id, .. } => (as_user, format!("fleet enroll-car {car_id}")),
        FleetCommand::Join { as_user, .. } => (as_user, "fleet join".to_owned()),
        FleetCommand::Leave { as_user } => (as_user, "fleet leave".to_owned()),
        FleetCommand::Sync { as_user } => (as_user, "fleet sync".to_owned()),
        FleetCommand::PublishAccounts { as_user, .. } => (as_user, "fleet publish-accounts".to_owned()),
        FleetCommand::PublishSettings { as_user, .. } => (as_user, "fleet publish-settings".to_owned()),
        FleetCommand::Status { as_user, .. } => (as_user, "fleet status".to_owned()),
        FleetCommand::Purge { as_user, dry_run, .. } => {
            (as_user, if *dry_run { "fleet purge --dry-run" } else { "fleet purge" }.to_owned())
        }
    };
    // The purge deletes ALPR data: the retention manager's act, recorded as a purge.
    let (permission, action) = match command {
        FleetCommand::Purge { .. } => (Permission::ManageRetention, AuditAction::Purge),
        _ => (Permission::ManageKeys, AuditAction::Admin),
    };
    let store = open_store(ctx)?;
    let user = actor(&store, ctx, as_user, &mut Secrets::new())?;
    let accounts = Accounts::new(&store, rules(ctx));
    accounts.authorize(&user, permission, action, &what)?;
    let audit = |outcome: &str| {
        let event = crate::audit::AuditEvent::new(&user.id, &user.organization, action, &what, outcome);
        store.audit(event).context("recording the audit row")
    };
    let mut code = ExitCode::SUCCESS;
    let result = match command {
        FleetCommand::Bench { .. } => unreachable!("run before the store opens"),
        FleetCommand::Init { db, .. } => init(db),
        FleetCommand::EnrollCar { db, car_id, credentials, .. } => {
            enroll_car(db, car_id, credentials, &ctx.paths.data_dir, &user.id)
        }
        FleetCommand::Join { db, credentials, .. } => join(&store, db, credentials, &ctx.paths.data_dir, &user),
        FleetCommand::Leave { .. } => leave(&store, &user),
        FleetCommand::Sync { .. } => sync(&store, ctx),
        FleetCommand::PublishAccounts { db, .. } => publish_accounts(&store, db),
        FleetCommand::PublishSettings { db, .. } => publish_settings(&store, db),
        FleetCommand::Status { db, .. } => status(db, &mut code),
        FleetCommand::Purge { db, dry_run, .. } => purge(db, *dry_run, &user, &what),
    };
    match result {
        // A join or leave is audited in its own transaction, with the change.
        Ok(outcome) if matches!(command, FleetCommand::Join { .. } | FleetCommand::Leave { .. }) => {
            println!("{outcome}");
            Ok(code)
        }
        Ok(outcome) => {
            audit(&outcome)?;
            println!("{outcome}");
            Ok(code)
        }
        Err(err) => {
            audit(&format!("failed: {err:#}"))?;
            Err(err)
        }
    }
}

/// `fleet purge`: the office's retention purge with the published period, recorded in the
/// office's own log too (the console's row is written by the caller).
fn purge(db: &str, dry_run: bool, user: &crate::session::User, what: &str) -> anyhow::Result<String> {
    let mut client = connect(db)?;
    let now = chrono::Utc::now();
    schema::ensure_partitions(&mut client, now.date_naive(), 3)?;
    let (days, period) = crate::fleet::retention::published_retention(&mut client)?;
    let done = crate::fleet::retention::purge(&mut client, now - period, dry_run)?;
    let verb = if dry_run { "would delete" } else { "deleted" };
    let outcome = format!(
        "retention {days} days (before {}): {verb} {} reads, {} hits, {} hit events; kept {} protected reads; \
         {} month partitions dropped{}",
        done.cutoff.to_rfc3339(),
        done.reads,
        done.hits,
        done.hit_events,
        done.protected_kept,
        done.partitions_dropped.len(),
        if done.partitions_dropped.is_empty() {
            String::new()
        } else {
            format!(" ({})", done.partitions_dropped.join(", "))
        }
    );
    crate::fleet::office::office_audit(
        &mut client,
        &AuditEvent::new(&user.id, &user.organization, AuditAction::Purge, what, &outcome),
    )?;
    Ok(outcome)
}

fn init(db: &str) -> anyhow::Result<String> {
    let mut client = connect(db)?;
    let migrated = schema::migrate(&mut client, chrono::Utc::now().date_naive())?;
    Ok(if migrated.applied.is_empty() {
        format!("office schema at version {}: nothing to do", migrated.to)
    } else {
        format!("office schema from version {} to {}: {}", migrated.from, migrated.to, migrated.applied.join("; "))
    })
}

fn enroll_car(
    db: &str,
    car: &str,
    credentials: &std::path::Path,
    data_dir: &std::path::Path,
    by: &str,
) -> anyhow::Result<String> {
    // Checked before the role exists, so a bad path leaves no orphan role behind.
    crate::store::key::check_outside(credentials, data_dir)?;
    anyhow::ensure!(!credentials.exists(), "{} exists: choose another file", credentials.display());
    let mut client = connect(db)?;
    let version = schema::version(&mut client)?;
    anyhow::ensure!(version > 0, "the office database has no schema yet: run `patrol-alpr fleet init` first");
    let enrolled = enroll::enroll_car(&mut client, car, by)?;
    if let Err(err) = enroll::write_credentials(credentials, data_dir, &enrolled) {
        // A full disk, say: no role is left behind whose password nobody holds.
        return Err(match enroll::withdraw_car(&mut client, &enrolled) {
            Ok(()) => anyhow::Error::new(err).context(format!("car {} not enrolled (withdrawn)", enrolled.car_id)),
            Err(undo) => anyhow::Error::new(err)
                .context(format!("car {} enrolled but withdrawing it failed too: {undo}", enrolled.car_id)),
        });
    }
    Ok(format!("car {} enrolled as role {}; credentials in {}", enrolled.car_id, enrolled.user, credentials.display()))
}

fn join(
    store: &crate::store::Store,
    db: &str,
    credentials: &std::path::Path,
    data_dir: &std::path::Path,
    user: &crate::session::User,
) -> anyhow::Result<String> {
    crate::store::key::check_outside(credentials, data_dir)?;
    let office = crate::fleet::office_identity(db)?;
    let car = enroll::read_credentials(credentials)?;
    let settings = SyncSettings {
        office: office.clone(),
        car_id: car.car_id.clone(),
        credentials: credentials.to_path_buf(),
        interval: std::time::Duration::from_secs(10),
        hotlist_key: None,
    };
    // The credentials must open the office before the car starts queueing for it.
    drop(sync::connect_car(&settings).context("trying the car's credentials")?);
    let joined = outbox::Joined {
        car_id: car.car_id.clone(),
        office: office.clone(),
        joined_by: user.id.clone(),
        joined_ms: crate::store::now_ms(),
    };
    let outcome = format!("car {} joined to the office {office}", car.car_id);
    let event = AuditEvent::new(&user.id, &user.organization, AuditAction::Admin, "fleet join", &outcome);
    let backfilled = store.write(move |conn| {
        let backfilled = outbox::join(conn, &joined)?;
        crate::store::audit_log::append(conn, &event)?;
        Ok(backfilled)
    })?;
    Ok(format!(
        "{outcome}; {backfilled} records kept before the join queued for it; set [fleet] credentials = {:?}",
        credentials.display().to_string()
    ))
}

fn leave(store: &crate::store::Store, user: &crate::session::User) -> anyhow::Result<String> {
    let Some(joined) = store.read(outbox::joined)? else { anyhow::bail!("this car is not joined to an office") };
    let outcome = format!("car {} left the office {}: records are no longer queued", joined.car_id, joined.office);
    let event = AuditEvent::new(&user.id, &user.organization, AuditAction::Admin, "fleet leave", &outcome);
    let waiting = store.write(move |conn| {
        outbox::leave(conn)?;
        crate::store::audit_log::append(conn, &event)?;
        outbox::backlog(conn)
    })?;
    Ok(format!("{outcome}; {} already queued stay until sent", waiting.rows))
}

fn sync(store: &crate::store::Store, ctx: &Context) -> anyhow::Result<String> {
    let Some(joined) = store.read(outbox::joined)? else { anyhow::bail!("this car is not joined to an office") };
    let config = &ctx.config;
    let credentials = config.fleet.credentials.clone().context("[fleet] credentials is not set in the settings")?;
    let settings = SyncSettings {
        office: joined.office,
        car_id: joined.car_id.clone(),
        credentials,
        interval: std::time::Duration::from_secs(u64::from(config.fleet.sync_interval_seconds)),
        hotlist_key: None,
    };
    let mut client = sync::connect_car(&settings)?;
    let pulled = crate::fleet::pull::pull_accounts(&mut client, store)?;
    let settings_pulled = crate::fleet::pull::pull_settings(&mut client, store)?;
    let drained = sync::drain(store, &mut client, &joined.car_id, sync::BATCH_ROWS, &|| false)?;
    let left = store.read(outbox::backlog)?;
    // The key in force is the administrator's (in the database) over the file's.
    let key_text = crate::session::admin::effective_config(store, config)?.hotlist.public_key;
    let key = key_text.as_deref().map(crate::hotlist::update::parse_public_key).transpose()?;
    let lists = match crate::fleet::publish::pull_hotlist(&mut client, store, key.as_ref())? {
        Pulled::Nothing => "no new hot list".to_owned(),
        Pulled::Taken(p) => {
            format!("hot list {} pulled ({} files): run `hotlist update` to load it", p.version, p.files)
        }
        Pulled::Refused { version, reason, .. } => format!("hot list {version} REFUSED: {reason}"),
    };
    Ok(format!(
        "car {}: {} rows sent in {} batches ({} new at the office), {} waiting; {pulled} accounts pulled; {settings_pulled} settings pulled; {lists}",
        joined.car_id, drained.rows, drained.batches, drained.stored, left.rows
    ))
}

fn publish_accounts(store: &crate::store::Store, db: &str) -> anyhow::Result<String> {
    let accounts = store.read(|conn| crate::store::users::UserTable::new(conn).all(false))?;
    let mut client = connect(db)?;
    let changed = crate::fleet::pull::publish_accounts(&mut client, &accounts)?;
    Ok(format!("{} accounts published to the office, {changed} new or changed", accounts.len()))
}

fn publish_settings(store: &crate::store::Store, db: &str) -> anyhow::Result<String> {
    let mut client = connect(db)?;
    let (published, changed) = crate::fleet::pull::publish_settings(&mut client, store)?;
    anyhow::ensure!(
        !published.is_empty(),
        "this console administers none of the agency's rules (they come from its settings file): set them with `admin retention` / `admin accounts` first"
    );
    Ok(format!("published {} ({changed} new or changed)", published.join(", ")))
}

fn status(db: &str, code: &mut ExitCode) -> anyhow::Result<String> {
    let mut client = connect(db)?;
    let cars = crate::fleet::office::fleet_status(&mut client)?;
    let mut broken = 0;
    for car in &cars {
        let contact = car.last_contact.map_or_else(|| "never".to_owned(), |t| t.to_rfc3339());
        let rows: Vec<String> = car.rows.iter().map(|(kind, n)| format!("{kind} {n}")).collect();
        let chain = match &car.chain {
            Verification::Intact { rows } => format!("audit chain intact through row {rows}"),
            Verification::Broken { seq, reason } => {
                broken += 1;
                format!("AUDIT CHAIN BROKEN at row {seq}: {reason}")
            }
        };
        println!("{}\tlast contact {contact}\t{}\t{chain}", car.car_id, rows.join(", "));
    }
    if broken > 0 {
        *code = ExitCode::from(3);
    }
    Ok(format!("{} cars; {broken} with a broken audit chain", cars.len()))
}
