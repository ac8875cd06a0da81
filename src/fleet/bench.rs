//! `fleet bench`: many cars in one process against a throwaway PostgreSQL cluster, each car
//! with its own encrypted data dir, outbox and sync thread, reading plates at a steady rate
//! and raising hits, while the office is cut off for random periods
//! (`pg_terminate_backend`), crashed and restarted (`pg_ctl stop -m immediate`) and one car
//! is "killed" after the office committed a batch and before the car marked it. At the end
//! every car's records are counted at the office (nothing lost, nothing twice), the lag from
//! a read to its commit at the office is measured while connected, and one car's full-shift
//! backlog is timed as it drains. It always makes its own cluster: it crashes the server,
//! which no real office should be asked to bear.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use postgres::Client;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::cluster::{Cluster, ClusterError};
use super::enroll::{enroll_car, write_credentials};
use super::sync::{DrainError, FleetSync, SyncSettings, connect_car, send_batch};
use super::{FleetError, connect, office_identity, schema};
use crate::audit::{AuditAction, AuditEvent};
use crate::hits::{HitAction, HitRecord, lifecycle};
use crate::store::outbox::{self, Joined};
use crate::store::{KeySource, NewRead, Store, StoreError, StoreKeys};

/// What to simulate.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Cars.
    pub cars: usize,
    /// Seconds of patrol.
    pub seconds: u64,
    /// Plates each car reads per second.
    pub reads_per_second: f64,
    /// Seconds between one car's hits.
    pub hit_every_s: u64,
    /// The backlog timed as it drains (one car's shift of reads).
    pub backlog_reads: usize,
    /// Seed of the fault schedule.
    pub seed: u64,
    /// Days of simulated fleet history (every car, three 8-hour shifts a day) written
    /// straight into the office after the faults, for timing the fleet usage report over
    /// them; 0 skips it.
    pub report_days: u32,
    /// Reads in each simulated shift.
    pub report_reads_per_shift: u32,
}

/// What it measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BenchResult {
    /// Cars.
    pub cars: usize,
    /// Records the cars queued for the office (every read, hit, step, shift, audit row).
    pub rows_sent: u64,
    /// Records the office holds for them.
    pub rows_at_office: u64,
    /// Queued records the office does not hold.
    pub lost: u64,
    /// Records the office holds more than once (by the car's own id).
    pub duplicated: u64,
    /// Read to office commit, median, while connected (ms).
    pub sync_lag_ms_p50: f64,
    /// The same, 95th percentile.
    pub sync_lag_ms_p95: f64,
    /// Reads the lag was measured on.
    pub lag_samples: usize,
    /// One car's backlog drained, rows per second.
    pub drain_rows_per_s: f64,
    /// Seconds that backlog took.
    pub drain_seconds: f64,
    /// Faults injected: cuts, restarts and car kills.
    pub faults: u32,
    /// Of which connection cuts.
    pub cuts: u32,
    /// Of which server crashes and restarts.
    pub restarts: u32,
    /// Of which cars killed between the office's commit and their own mark.
    pub car_kills: u32,
    /// Cars whose audit chain the office verified intact to its end.
    pub chains_intact: usize,
    /// Reads in the office when the usage report was timed (0: not timed).
    pub report_reads: u64,
    /// Shifts that report covered.
    pub report_shifts: usize,
    /// Milliseconds it took.
    pub report_ms: f64,
    /// The plan PostgreSQL chose for it.
    pub report_plan: String,
    /// Bytes the office's `reads` (every partition, with indexes and the hour sums) takes
    /// per read, crops aside (the simulated history has none).
    pub report_bytes_per_read: f64,
    /// Whether the report's reads, summed over its shifts, equal the simulated reads counted
    /// one by one (the hour sums are exact).
    pub report_exact: bool,
}

impl BenchResult {
    /// The last line of the bench: one JSON object.
    pub fn json(&self) -> String {
        serde_json::json!({
            "cars": self.cars,
            "rows_sent": self.rows_sent,
            "rows_at_office": self.rows_at_office,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "sync_lag_ms_p50": round1(self.sync_lag_ms_p50),
            "sync_lag_ms_p95": round1(self.sync_lag_ms_p95),
            "lag_samples": self.lag_samples,
            "drain_rows_per_s": round1(self.drain_rows_per_s),
            "drain_seconds": round1(self.drain_seconds),
            "faults": self.faults,
            "cuts": self.cuts,
            "restarts": self.restarts,
            "car_kills": self.car_kills,
            "chains_intact": self.chains_intact,
            "report_reads": self.report_reads,
            "report_shifts": self.report_shifts,
            "report_ms": round1(self.report_ms),
            "report_exact": self.report_exact,
            "report_bytes_per_read": round1(self.report_bytes_per_read),
        })
        .to_string()
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Why the bench could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The throwaway cluster.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// The office.
    #[error(transparent)]
    Office(#[from] FleetError),
    /// A car's database.
    #[error("car database: {0}")]
    Store(#[from] StoreError),
    /// Anything else (a thread, a key, a file).
    #[error("{0}")]
    Other(String),
}

impl From<postgres::Error> for BenchError {
    fn from(err: postgres::Error) -> Self {
        Self::Office(FleetError::Db(err))
    }
}

impl From<DrainError> for BenchError {
    fn from(err: DrainError) -> Self {
        match err {
            DrainError::Office(e) => Self::Office(e),
            DrainError::Store(e) => Self::Store(e),
        }
    }
}

/// One simulated car.
struct Car {
    id: String,
    store: Arc<Store>,
    settings: SyncSettings,
    sync: Option<FleetSync>,
}

impl Car {
    fn restart_sync(&mut self) -> Result<(), BenchError> {
        self.sync = None;
        let sync = FleetSync::start(Arc::clone(&self.store), self.settings.clone())
            .map_err(|e| BenchError::Other(format!("sync thread: {e}")))?;
        self.sync = Some(sync);
        Ok(())
    }

    fn connected(&self) -> bool {
        self.sync.as_ref().is_some_and(|s| s.status().connected)
    }

    fn backlog(&self) -> Result<u64, BenchError> {
        Ok(self.store.read(outbox::backlog)?.rows)
    }
}

const PASSPHRASE: &str = "fleet bench: throwaway cars";
/// A plate crop's size as the cars store them (a PNG of a 64x128 crop is about this).
const CROP_BYTES: usize = 6_000;

fn make_car(office: &mut Client, url: &str, home: &Path, i: usize) -> Result<Car, BenchError> {
    let id = format!("bench-{i:02}");
    let credentials = enroll_car(office, &id, "fleet-bench")?;
    let data = home.join(&id);
    std::fs::create_dir_all(&data).map_err(|e| BenchError::Other(format!("{}: {e}", data.display())))?;
    let creds: PathBuf = home.join(format!("{id}.json"));
    write_credentials(&creds, &data, &credentials)?;
    let keys = StoreKeys::derive(PASSPHRASE, &data, KeySource::Environment)
        .map_err(|e| BenchError::Other(format!("car key: {e}")))?;
    let store = Arc::new(Store::open(&data, keys, "Bench PD")?);
    let settings = SyncSettings {
        office: office_identity(url)?,
        car_id: id.clone(),
        credentials: creds,
        // The shortest interval the settings allow: what a car that must show hits at the
        // office within seconds would run.
        interval: Duration::from_secs(1),
        hotlist_key: None,
    };
    let joined =
        Joined { car_id: id.clone(), office: settings.office.clone(), joined_by: "fleet-bench".into(), joined_ms: 0 };
    store.write(move |conn| outbox::join(conn, &joined).map(|_| ()))?;
    let mut car = Car { id, store, settings, sync: None };
    car.restart_sync()?;
    Ok(car)
}

fn read(officer: &str, n: u64, crop: &[u8]) -> NewRead {
    NewRead {
        time: Utc::now(),
        camera: "front".into(),
        officer: Some(officer.into()),
        plate: format!("B{:06}", n % 1_000_000),
        confidence: 0.9,
        candidates_json: "[]".into(),
        state: Some("CA".into()),
        gps: None,
        crop_png: Some(crop.to_vec()),
    }
}

/// One car's hit, acknowledged and verified as an officer would, each step audited as the
/// console audits it.
fn hit(store: &Store, officer: &str, read_id: Option<i64>) -> Result<(), StoreError> {
    let id = store.insert_hit(HitRecord::new(read_id, "7ABC123", "SVS", 1, Some(officer), Utc::now()))?;
    let audit = |action: AuditAction, outcome: &str| {
        store.audit(AuditEvent::new(officer, store.organization(), action, &format!("hit {id}"), outcome))
    };
    audit(AuditAction::HitRaised, "SVS 7ABC123")?;
    let Some(mut record) = store.hit(id)? else { return Ok(()) };
    for action in [HitAction::Acknowledge, HitAction::PlateMatches] {
        if let Ok(event) = lifecycle::apply(&mut record, &action, officer, Utc::now()) {
            let outcome = format!("{} -> {}", event.from.as_str(), event.to.as_str());
            store.record_hit_transition(record.clone(), event)?;
            audit(AuditAction::HitTransition, &outcome)?;
        }
    }
    Ok(())
}

/// A fresh superuser connection (the last may have died with the server).
fn office_now(url: &str) -> Result<Client, BenchError> {
    let mut last = None;
    for _ in 0..100 {
        match connect(url) {
            Ok(client) => return Ok(client),
            Err(err) => last = Some(err),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(last.map_or_else(|| BenchError::Other("office not reached".into()), BenchError::Office))
}

/// Runs the bench; `say` gets progress lines.
pub fn run(options: &BenchOptions, say: &dyn Fn(&str)) -> Result<BenchResult, BenchError> {
    if options.cars == 0 || options.seconds == 0 {
        return Err(BenchError::Other("--cars and --seconds must be at least 1".into()));
    }
    let cluster = Cluster::start()?;
    let url = cluster.url();
    let mut office = connect(&url)?;
    schema::migrate(&mut office, Utc::now().date_naive())?;
    let home = tempfile::Builder::new()
        .prefix("patrol-alpr-fleet-bench-")
        .tempdir()
        .map_err(|e| BenchError::Other(format!("temporary folder: {e}")))?;
    say(&format!("office on port {}; enrolling {} cars", cluster.port, options.cars));
    let mut cars = Vec::with_capacity(options.cars);
    for i in 0..options.cars {
        cars.push(make_car(&mut office, &url, home.path(), i)?);
    }
    let mut result = BenchResult { cars: options.cars, ..BenchResult::default() };

    // The patrol: a thread for all cars (the cars' own writer threads do the writing).
    let stop = Arc::new(AtomicBool::new(false));
    let stores: Vec<(String, Arc<Store>)> = cars.iter().map(|c| (c.id.clone(), Arc::clone(&c.store))).collect();
    let wakes: Arc<std::sync::Mutex<HashMap<String, bool>>> = Arc::default();
    let patrol = {
        let (stop, wakes, options) = (Arc::clone(&stop), Arc::clone(&wakes), options.clone());
        std::thread::Builder::new()
            .name("bench-patrol".into())
            .spawn(move || patrol_loop(&stores, &options, &stop, &wakes))
            .map_err(|e| BenchError::Other(format!("patrol thread: {e}")))?
    };

    // Faults while the cars patrol, and each car's link sampled for the lag's "connected".
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let start = Instant::now();
    let run_for = Duration::from_secs(options.seconds);
    let restarts_at = [run_for / 3, run_for * 2 / 3];
    let kill_at = run_for / 2;
    let mut next_cut = Duration::from_secs(rng.random_range(10..25));
    let mut windows: Vec<(i64, i64)> = Vec::new();
    let mut links: Vec<Vec<(i64, bool)>> = vec![Vec::new(); cars.len()];
    let (mut restarted, mut killed) = (0, false);
    while start.elapsed() < run_for {
        let now = start.elapsed();
        let t0 = crate::store::now_ms();
        if restarted < restarts_at.len() && now >= restarts_at[restarted] {
            say(&format!("{:>4} s: office crashed and restarted (-m immediate)", now.as_secs()));
            cluster.restart_immediate()?;
            restarted += 1;
            result.restarts += 1;
            windows.push((t0, crate::store::now_ms()));
        } else if !killed && now >= kill_at {
            killed = true;
            result.car_kills += 1;
            let car = &mut cars[0];
            say(&format!("{:>4} s: car {} killed after the office's commit, before its mark", now.as_secs(), car.id));
            kill_between_commit_and_mark(car)?;
            windows.push((t0, crate::store::now_ms()));
        } else if now >= next_cut {
            let period = Duration::from_millis(rng.random_range(2_000..10_000));
            say(&format!("{:>4} s: office connections cut for {:.1} s", now.as_secs(), period.as_secs_f64()));
            let cut_start = Instant::now();
            while cut_start.elapsed() < period {
                let mut client = office_now(&url)?;
                client.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename LIKE 'car_%'",
                    &[],
                )?;
                std::thread::sleep(Duration::from_millis(200));
            }
            result.cuts += 1;
            windows.push((t0, crate::store::now_ms()));
            next_cut = start.elapsed() + Duration::from_secs(rng.random_range(10..25));
        }
        let sampled = crate::store::now_ms();
        for (car, link) in cars.iter().zip(links.iter_mut()) {
            link.push((sampled, car.connected()));
        }
        if let Ok(mut wakes) = wakes.lock() {
            for car in &cars {
                if wakes.remove(&car.id).is_some()
                    && let Some(sync) = &car.sync
                {
                    sync.wake();
                }
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, Ordering::Relaxed);
    patrol.join().map_err(|_| BenchError::Other("the patrol thread panicked".into()))??;
    result.faults = result.cuts + result.restarts + result.car_kills;
    say("patrol over; waiting for every outbox to drain");
    wait_drained(&cars, Duration::from_secs(300))?;

    // One car's full shift of reads, queued while it was off the network, timed as it drains.
    let car = &mut cars[0];
    car.sync = None;
    let crop = vec![0x5a_u8; CROP_BYTES];
    let mut left = options.backlog_reads;
    let mut n = 0u64;
    while left > 0 {
        let chunk = left.min(1_000);
        car.store.insert_reads((n..n + chunk as u64).map(|k| read("bench-officer", k, &crop)).collect())?;
        n += chunk as u64;
        left -= chunk;
    }
    let backlog = car.backlog()?;
    say(&format!("car {} reconnects with {backlog} rows waiting", car.id));
    let drain_start = Instant::now();
    car.restart_sync()?;
    while car.backlog()? > 0 {
        if drain_start.elapsed() > Duration::from_secs(600) {
            return Err(BenchError::Other(format!("car {}'s backlog did not drain in 10 minutes", car.id)));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    result.drain_seconds = drain_start.elapsed().as_secs_f64();
    result.drain_rows_per_s = backlog as f64 / result.drain_seconds.max(1e-9);
    wait_drained(&cars, Duration::from_secs(120))?;

    // Everything the cars queued, against what the office holds.
    let mut office = office_now(&url)?;
    for car in &cars {
        let queued: i64 = car.store.read(|conn| {
            Ok(conn.query_row(
                "SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'fleet_outbox'",
                [],
                |r| r.get(0),
            )?)
        })?;
        let mut held = 0i64;
        for table in schema::CAR_TABLES {
            // Constant table names: this build's own, never input.
            let n: i64 =
                office.query_one(&format!("SELECT count(*) FROM {table} WHERE car_id = $1"), &[&car.id])?.get(0);
            held += n;
        }
        result.rows_sent += queued as u64;
        result.rows_at_office += held as u64;
        result.lost += (queued - held).max(0) as u64;
        if matches!(super::office::verify_car_chain(&mut office, &car.id)?, crate::store::audit_log::Verification::Intact { rows } if rows > 0)
        {
            result.chains_intact += 1;
        }
    }
    let dup = |sql: &str, office: &mut Client| -> Result<u64, BenchError> {
        Ok(office.query_one(sql, &[])?.get::<_, i64>(0) as u64)
    };
    result.duplicated = dup("SELECT count(*) - count(DISTINCT (car_id, read_id)) FROM reads", &mut office)?
        + dup("SELECT count(*) - count(DISTINCT (car_id, audit_seq)) FROM audit", &mut office)?
        + dup("SELECT count(*) - count(DISTINCT (car_id, hit_id)) FROM hits", &mut office)?
        + dup("SELECT count(*) - count(DISTINCT (car_id, event_id)) FROM hit_events", &mut office)?;

    // The lag of reads made while their car was connected and no fault was near.
    let ids: HashMap<&str, usize> = cars.iter().enumerate().map(|(i, c)| (c.id.as_str(), i)).collect();
    let rows = office.query(
        "SELECT car_id, (extract(epoch FROM read_at) * 1000)::bigint, \
         (extract(epoch FROM (received_at - read_at)) * 1000)::float8 FROM reads WHERE officer = 'patrol'",
        &[],
    )?;
    let mut lags: Vec<f64> = rows
        .iter()
        .filter_map(|r| {
            let car = *ids.get(r.get::<_, &str>(0))?;
            let at: i64 = r.get(1);
            let calm = windows.iter().all(|&(s, e)| at < s - 2_000 || at > e + 1_000);
            let link = &links[car];
            let before = link.partition_point(|&(t, _)| t <= at);
            let connected = before > 0 && link[before - 1].1;
            (calm && connected).then(|| r.get::<_, f64>(2))
        })
        .collect();
    lags.sort_by(f64::total_cmp);
    result.lag_samples = lags.len();
    let pick = |q: f64| lags.get(((lags.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(f64::NAN);
    result.sync_lag_ms_p50 = pick(0.5);
    result.sync_lag_ms_p95 = pick(0.95);
    drop(cars);
    if options.report_days > 0 {
        say(&format!("writing {} days of fleet history for the usage report", options.report_days));
        report_scale(&mut office, options, &mut result, say)?;
    }
    drop(cluster);
    Ok(result)
}

/// Writes `report_days` of history for `cars` simulated cars straight into the office
/// (shifts and reads, as the cars would have sent them), then times the fleet usage report
/// over the whole period and keeps its plan.
fn report_scale(
    office: &mut Client,
    options: &BenchOptions,
    result: &mut BenchResult,
    say: &dyn Fn(&str),
) -> Result<(), BenchError> {
    let days = i64::from(options.report_days);
    let per_shift = i64::from(options.report_reads_per_shift.max(1));
    let shifts = days * 3;
    let start = (Utc::now() - chrono::Duration::days(days)).date_naive();
    let from = start.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let to = from + chrono::Duration::days(days);
    let mut month = start;
    while month <= to.date_naive() {
        for (table, _) in schema::PARTITIONED {
            office.execute("SELECT fleet_ensure_month($1, $2)", &[&table, &month])?;
        }
        month = month.checked_add_months(chrono::Months::new(1)).unwrap_or(to.date_naive() + chrono::Days::new(1));
    }
    // Each shift's reads spread evenly over its 8 hours, the shift's officer on each.
    let spacing_ms = 8 * 3_600_000 / per_shift;
    for car in 0..options.cars as i64 {
        let id = format!("sim-{car:03}");
        let mut tx = office.transaction()?;
        tx.execute(
            "INSERT INTO shifts (car_id, seq, shift_id, officer, start_at, end_at)
             SELECT $1, k, k, 'sim-officer-' || ($2::bigint * 3 + k % 3), $3::timestamptz + k * interval '8 hours',
                    $3::timestamptz + (k + 1) * interval '8 hours'
             FROM generate_series(0::bigint, $4::bigint - 1) k",
            &[&id, &car, &from, &shifts],
        )?;
        tx.execute(
            "INSERT INTO reads (car_id, seq, read_at, camera, officer, plate, confidence, read_id)
             SELECT $1, 1000000 + i,
                    $3::timestamptz + (i / $6::bigint) * interval '8 hours' + (i % $6::bigint) * $5::bigint * interval '1 millisecond',
                    'front',
                    'sim-officer-' || ($2::bigint * 3 + (i / $6::bigint) % 3),
                    'S' || lpad((i % 1000000)::text, 6, '0'), 0.9, i
             FROM generate_series(0::bigint, $4::bigint * $6::bigint - 1) i",
            &[&id, &car, &from, &shifts, &spacing_ms, &per_shift],
        )?;
        tx.commit()?;
        if car % 10 == 9 {
            say(&format!("  {} of {} cars written", car + 1, options.cars));
        }
    }
    say("VACUUM ANALYZE (what the office's autovacuum does after a load)");
    // One statement each: several in one call would run as one transaction, which VACUUM refuses.
    for table in ["reads", "shifts", "hits", "hit_events"] {
        office.batch_execute(&format!("VACUUM ANALYZE {table}"))?;
    }
    result.report_reads = office.query_one("SELECT count(*) FROM reads", &[])?.get::<_, i64>(0) as u64;
    let bytes: i64 = office
        .query_one(
            "SELECT (sum(pg_total_relation_size(relid)) + pg_total_relation_size('read_hours'))::bigint
             FROM pg_partition_tree('reads') WHERE isleaf",
            &[],
        )?
        .get(0);
    result.report_bytes_per_read = bytes as f64 / result.report_reads.max(1) as f64;
    result.report_plan = super::report::usage_plan(office, from, to, Utc::now())?;
    // The median of three runs: the first may read from disk, the others from the cache.
    let mut times = Vec::new();
    let mut summed = 0;
    for _ in 0..3 {
        let started = Instant::now();
        let rows = super::report::fleet_usage(office, from, to, None, Utc::now())?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        result.report_shifts = rows.len();
        summed = rows.iter().filter(|r| r.car_id.starts_with("sim-")).map(|r| r.reads).sum::<i64>();
    }
    let counted: i64 = office.query_one("SELECT count(*) FROM reads WHERE car_id LIKE 'sim-%'", &[])?.get(0);
    result.report_exact = summed == counted;
    if !result.report_exact {
        say(&format!("the report's shifts sum to {summed} simulated reads; {counted} are stored"));
    }
    times.sort_by(f64::total_cmp);
    result.report_ms = times[1];
    say(&format!(
        "fleet usage report: {} shifts over {} reads in {:.0} ms (runs {times:?})",
        result.report_shifts, result.report_reads, result.report_ms
    ));
    say(&format!("its plan:\n{}", result.report_plan));
    Ok(())
}

/// The patrol of every car: reads at a steady rate each, a hit now and then (which wakes the
/// car's sync, as the console does), one shift per car from start to end.
fn patrol_loop(
    stores: &[(String, Arc<Store>)],
    options: &BenchOptions,
    stop: &AtomicBool,
    wakes: &std::sync::Mutex<HashMap<String, bool>>,
) -> Result<(), BenchError> {
    let crop = vec![0xa5_u8; CROP_BYTES];
    let shifts: Vec<i64> = stores.iter().map(|(_, s)| s.start_shift("patrol", Utc::now())).collect::<Result<_, _>>()?;
    let start = Instant::now();
    let mut made = vec![0u64; stores.len()];
    let hit_every = options.hit_every_s.max(1) as f64;
    let mut hits = vec![0u64; stores.len()];
    while !stop.load(Ordering::Relaxed) {
        let elapsed = start.elapsed().as_secs_f64();
        for (i, (id, store)) in stores.iter().enumerate() {
            // Staggered, so the cars do not all read in the same instant.
            let t = elapsed + i as f64 / stores.len() as f64;
            let due = (t * options.reads_per_second) as u64;
            if due > made[i] {
                let batch: Vec<NewRead> = (made[i]..due).map(|n| read("patrol", n, &crop)).collect();
                let ids = store.insert_reads(batch)?;
                made[i] = due;
                if (t / hit_every) as u64 > hits[i] {
                    hits[i] += 1;
                    hit(store, "patrol", ids.last().copied())?;
                    if let Ok(mut wakes) = wakes.lock() {
                        wakes.insert(id.clone(), true);
                    }
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for ((_, store), shift) in stores.iter().zip(shifts) {
        store.end_shift(shift, Utc::now())?;
    }
    Ok(())
}

/// The car's sync stops; a batch is committed at the office and the car dies before marking
/// it; the car comes back and sends it again (the office stores none of it twice).
fn kill_between_commit_and_mark(car: &mut Car) -> Result<(), BenchError> {
    car.sync = None;
    let batch = car.store.read(|conn| outbox::next_batch(conn, super::sync::BATCH_ROWS))?;
    if !batch.is_empty() {
        // The office may be down at this moment too; the car then simply dies without a batch.
        if let Ok(mut client) = connect_car(&car.settings) {
            let _ = send_batch(&mut client, &car.id, &batch);
        }
    }
    car.restart_sync()
}

fn wait_drained(cars: &[Car], limit: Duration) -> Result<(), BenchError> {
    let start = Instant::now();
    loop {
        let mut waiting = 0;
        for car in cars {
            let n = car.backlog()?;
            if n > 0
                && let Some(sync) = &car.sync
            {
                sync.wake();
            }
            waiting += n;
        }
        if waiting == 0 {
            return Ok(());
        }
        if start.elapsed() > limit {
            return Err(BenchError::Other(format!("{waiting} rows still waiting after {} s", limit.as_secs())));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
