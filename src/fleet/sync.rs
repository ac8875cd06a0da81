//! Store and forward: the car's sync thread. It sends the outbox (`store/outbox.rs`) to the
//! office in batches, one office transaction per batch, and deletes the rows from the outbox
//! only after the office has committed them; the office stores each `(car_id, seq)` once, so
//! a batch sent again after a crash or a cut connection stores nothing twice. It pulls the
//! accounts and the signed hot lists the office publishes. The car never waits on it: patrol writes to its own
//! database, and the thread catches up whenever the office can be reached, backing off
//! (1 s doubling to 60 s) while it cannot.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone as _, Utc};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded};
use postgres::Client;

use super::{FleetError, enroll};
use crate::store::outbox::{self, Queued, Record};
use crate::store::{Store, StoreError};

/// Rows sent in one office transaction.
pub const BATCH_ROWS: usize = 500;
/// Longest wait between tries while the office cannot be reached.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// How the car reaches its office.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// The office recorded by `fleet join` (host, port, database; no password).
    pub office: String,
    /// The car id recorded by `fleet join`.
    pub car_id: String,
    /// The credentials file written by `fleet enroll-car`.
    pub credentials: PathBuf,
    /// Time between rounds while connected and idle.
    pub interval: Duration,
    /// The agency's hot-list public key in force (base64): publications pulled from the
    /// office are checked with it before they are written.
    pub hotlist_key: Option<String>,
}

/// Where the sync stands, for the status bar.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncStatus {
    /// Connected to the office at the last try.
    pub connected: bool,
    /// Rows waiting in the outbox after the last round.
    pub waiting: u64,
    /// When the oldest waiting row was queued.
    pub oldest_queued_ms: Option<i64>,
    /// When the office last committed a batch or answered.
    pub last_contact_ms: Option<i64>,
    /// Rows the office has committed since the thread started.
    pub sent: u64,
    /// Why the last try failed, if it did.
    pub error: Option<String>,
    /// When accounts were last pulled.
    pub pulled_ms: Option<i64>,
    /// Hot-list publications taken from the office since the thread started (the console
    /// runs an update when this grows).
    pub lists_taken: u64,
}

impl SyncStatus {
    /// The status bar's short form: connected or not, rows waiting, age of the oldest (the
    /// reason for being offline is in [`SyncStatus::summary`], shown on hover).
    pub fn short(&self, now_ms: i64) -> String {
        let state = if self.connected { "connected" } else { "OFFLINE" };
        format!("office: {state} · {}", self.waiting_text(now_ms))
    }

    fn waiting_text(&self, now_ms: i64) -> String {
        match self.oldest_queued_ms {
            Some(oldest) if self.waiting > 0 => {
                format!("{} waiting, oldest {}", self.waiting, age_text(now_ms - oldest))
            }
            _ => "nothing waiting".to_owned(),
        }
    }

    /// One line in full: connected or not (and why not), rows waiting, age of the oldest.
    pub fn summary(&self, now_ms: i64) -> String {
        let waiting = self.waiting_text(now_ms);
        if self.connected {
            match &self.error {
                Some(problem) => format!("office: connected ({problem}) · {waiting}"),
                None => format!("office: connected · {waiting}"),
            }
        } else {
            let why = self.error.as_deref().unwrap_or("not reached yet");
            format!("office: OFFLINE ({why}) · {waiting}")
        }
    }
}

fn age_text(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

/// What one drain did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drained {
    /// Outbox rows the office committed (sent for the first time or again).
    pub rows: u64,
    /// Rows the office stored new (a row sent again after a crash is not stored twice).
    pub stored: u64,
    /// Batches.
    pub batches: u64,
}

/// Connects to the car's office as the car's own role.
pub fn connect_car(settings: &SyncSettings) -> Result<Client, FleetError> {
    let credentials = enroll::read_credentials(&settings.credentials)?;
    if credentials.car_id != settings.car_id {
        return Err(FleetError::Credentials {
            path: settings.credentials.display().to_string(),
            message: format!(
                "they are car {}'s; this car was joined as {}: an administrator must run `fleet join` with this car's credentials",
                credentials.car_id, settings.car_id
            ),
        });
    }
    let mut office = super::office_config(&settings.office)?;
    office.config.user(&credentials.user).password(&credentials.password);
    office.config.connect_timeout(Duration::from_secs(5)).keepalives_idle(Duration::from_secs(30));
    let mut client = office.connect()?;
    // A hung office must not hold a batch (and the reader lock behind it) for long.
    client.batch_execute("SET statement_timeout = '30s'")?;
    let version = super::schema::version(&mut client)?;
    if version > super::schema::known_version() {
        return Err(FleetError::SchemaTooNew { office: version, known: super::schema::known_version() });
    }
    if version < super::schema::known_version() {
        return Err(FleetError::SchemaTooOld { office: version, needs: super::schema::known_version() });
    }
    Ok(client)
}

fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_owned()))
}

/// Prepares `sql` once per batch (the driver has no statement cache of its own).
fn prepared(
    tx: &mut postgres::Transaction<'_>,
    statements: &mut HashMap<&'static str, postgres::Statement>,
    sql: &'static str,
) -> Result<postgres::Statement, postgres::Error> {
    if let Some(statement) = statements.get(sql) {
        return Ok(statement.clone());
    }
    let statement = tx.prepare(sql)?;
    statements.insert(sql, statement.clone());
    Ok(statement)
}

/// Sends one batch in one office transaction; returns the rows stored new. Nothing is
/// marked sent here: the caller does that after this returns.
pub fn send_batch(client: &mut Client, car: &str, batch: &[Queued]) -> Result<u64, FleetError> {
    let mut tx = client.transaction()?;
    let mut statements = HashMap::new();
    let mut stored = 0;
    for queued in batch {
        let seq = queued.seq;
        stored += match &queued.record {
            Record::Read(r) => {
                let statement = prepared(
                    &mut tx,
                    &mut statements,
                    "INSERT INTO reads (car_id, seq, read_at, camera, officer, plate, confidence, state, lat, lon, \
                     candidates, crop, read_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                     ON CONFLICT DO NOTHING",
                )?;
                tx.execute(
                    &statement,
                    &[
                        &car,
                        &seq,
                        &at(r.time_ms),
                        &r.camera,
                        &r.officer,
                        &r.plate,
                        &(r.confidence as f32),
                        &r.state,
                        &r.lat,
                        &r.lon,
                        &json(&r.candidates),
                        &r.crop_png,
                        &r.id,
                    ],
                )?
            }
            Record::Audit(a) => {
                let time = DateTime::parse_from_rfc3339(&a.time).map(|t| t.with_timezone(&Utc)).unwrap_or_default();
                let statement = prepared(
                    &mut tx,
                    &mut statements,
                    "INSERT INTO audit (car_id, seq, at, user_id, organization, action, object, outcome, prev_hash, \
                     hash, audit_seq, time_text, purpose, case_number) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT DO NOTHING",
                )?;
                tx.execute(
                    &statement,
                    &[
                        &car,
                        &seq,
                        &time,
                        &a.user,
                        &a.organization,
                        &a.action,
                        &a.object,
                        &a.outcome,
                        &a.prev_hash,
                        &a.hash,
                        &a.seq,
                        &a.time,
                        &a.purpose,
                        &a.case_number,
                    ],
                )?
            }
            Record::Hit(h) => {
                let statement = prepared(
                    &mut tx,
                    &mut statements,
                    "INSERT INTO hits (car_id, seq, hit_id, plate, list, priority, officer, raised_at, read_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
                )?;
                let priority = h.priority as i32;
                tx.execute(
                    &statement,
                    &[&car, &seq, &h.id, &h.plate, &h.list, &priority, &h.officer, &at(h.raised_ms), &h.read_id],
                )?
            }
            Record::HitEvent(e) => {
                let statement = prepared(
                    &mut tx,
                    &mut statements,
                    "INSERT INTO hit_events (car_id, seq, hit_id, at, user_id, from_state, to_state, detail, event_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
                )?;
                tx.execute(
                    &statement,
                    &[&car, &seq, &e.hit_id, &at(e.time_ms), &e.user, &e.from_state, &e.to_state, &e.detail, &e.id],
                )?
            }
            Record::Shift(s) => {
                let statement = prepared(
                    &mut tx,
                    &mut statements,
                    "INSERT INTO shifts (car_id, seq, shift_id, officer, start_at, end_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                )?;
                let end = s.end_ms.map(at);
                tx.execute(&statement, &[&car, &seq, &s.id, &s.officer, &at(s.start_ms), &end])?
            }
            Record::Checklist(c) => {
                let statement = prepared(
                    &mut tx,
                    &mut statements,
                    "INSERT INTO checklists (car_id, seq, shift_id, officer, camera, in_service, items, notes, at, \
                     checklist_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
                )?;
                tx.execute(
                    &statement,
                    &[
                        &car,
                        &seq,
                        &c.shift_id,
                        &c.officer,
                        &c.camera,
                        &c.passed,
                        &json(&c.items),
                        &c.note,
                        &at(c.time_ms),
                        &c.id,
                    ],
                )?
            }
            Record::EquipmentReport(e) => {
                let statement = prepared(
                    &mut tx,
                    &mut statements,
                    "INSERT INTO equipment_reports (car_id, seq, officer, camera, description, at, report_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                )?;
                tx.execute(&statement, &[&car, &seq, &e.officer, &e.camera, &e.description, &at(e.time_ms), &e.id])?
            }
            Record::Hold(h) => {
                let statement = prepared(
                    &mut tx,
                    &mut statements,
                    "INSERT INTO holds (car_id, seq, hold_id, read_id, case_number, placed_by, placed_at, released_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
                )?;
                let released = h.released_ms.map(at);
                tx.execute(
                    &statement,
                    &[&car, &seq, &h.id, &h.read_id, &h.case_number, &h.placed_by, &at(h.time_ms), &released],
                )?
            }
            Record::Gone => 0,
        };
    }
    tx.execute("SELECT fleet_touch()", &[])?;
    tx.commit()?;
    Ok(stored)
}

/// Why a drain stopped.
#[derive(Debug, thiserror::Error)]
pub enum DrainError {
    /// The office failed (the rows stay queued).
    #[error(transparent)]
    Office(#[from] FleetError),
    /// The car's own database failed.
    #[error("car database: {0}")]
    Store(#[from] StoreError),
}

/// Sends everything queued, batch by batch, each marked sent once the office has committed
/// it. `stop` is asked between batches.
pub fn drain(
    store: &Store,
    client: &mut Client,
    car: &str,
    batch_rows: usize,
    stop: &dyn Fn() -> bool,
) -> Result<Drained, DrainError> {
    let mut done = Drained::default();
    loop {
        let batch = store.read(|conn| outbox::next_batch(conn, batch_rows))?;
        let Some(last) = batch.last().map(|q| q.seq) else { return Ok(done) };
        let stored = send_batch(client, car, &batch)?;
        // The office has committed: only now do the rows leave the outbox. A crash between the
        // two sends them again, and the office's (car_id, seq) keys store nothing twice.
        store.write(move |conn| outbox::mark_sent(conn, last))?;
        done.rows += batch.len() as u64;
        done.stored += stored;
        done.batches += 1;
        if stop() {
            return Ok(done);
        }
    }
}

/// The owned sync thread: started when the car has an office, stopped and joined on drop.
pub struct FleetSync {
    wake: Option<Sender<()>>,
    handle: Option<JoinHandle<()>>,
    status: Arc<Mutex<SyncStatus>>,
}

impl std::fmt::Debug for FleetSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetSync").field("status", &self.status()).finish_non_exhaustive()
    }
}

impl FleetSync {
    /// Starts the thread `fleet-sync`.
    pub fn start(store: Arc<Store>, settings: SyncSettings) -> std::io::Result<Self> {
        let status = Arc::new(Mutex::new(SyncStatus::default()));
        let (wake, woken) = bounded::<()>(1);
        let shared = Arc::clone(&status);
        let handle = std::thread::Builder::new()
            .name("fleet-sync".into())
            .spawn(move || sync_loop(&store, &settings, &woken, &shared))?;
        Ok(Self { wake: Some(wake), handle: Some(handle), status })
    }

    /// Where it stands.
    pub fn status(&self) -> SyncStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Asks for a round now (after log-on, say); ignored when one is already asked for.
    pub fn wake(&self) {
        if let Some(wake) = &self.wake {
            let _ = wake.try_send(());
        }
    }
}

impl Drop for FleetSync {
    fn drop(&mut self) {
        // Dropping the sender ends the thread's wait at once; a batch in flight finishes
        // (or fails) first, so nothing is marked sent that the office did not commit.
        self.wake.take();
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

fn sync_loop(store: &Store, settings: &SyncSettings, woken: &Receiver<()>, status: &Mutex<SyncStatus>) {
    let update = |f: &dyn Fn(&mut SyncStatus)| {
        if let Ok(mut s) = status.lock() {
            f(&mut s);
        }
    };
    let stopped = || matches!(woken.try_recv(), Err(crossbeam_channel::TryRecvError::Disconnected));
    let mut client: Option<Client> = None;
    let mut backoff = Duration::from_secs(1);
    let mut last_pull: Option<Instant> = None;
    // Checked when the settings were loaded; a key that does not parse takes no list.
    let key = settings.hotlist_key.as_deref().and_then(|k| crate::hotlist::update::parse_public_key(k).ok());
    loop {
        let round = (|| -> Result<(Drained, Option<String>), DrainError> {
            if client.as_ref().is_none_or(Client::is_closed) {
                client = Some(connect_car(settings)?);
            }
            let Some(office) = client.as_mut() else { return Ok((Drained::default(), None)) };
            // Sending comes first: a pull that fails (an account the car cannot store) must
            // not hold back the car's records.
            let drained = drain(store, office, &settings.car_id, BATCH_ROWS, &stopped)?;
            let mut problem = None;
            if last_pull.is_none_or(|t| t.elapsed() >= settings.interval.max(Duration::from_secs(60))) {
                match super::pull::pull_accounts(office, store) {
                    Ok(_) => {
                        last_pull = Some(Instant::now());
                        update(&|s| s.pulled_ms = Some(crate::store::now_ms()));
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "fleet sync: accounts not pulled");
                        problem = Some(format!("accounts not pulled: {err}"));
                    }
                }
                if let Err(err) = super::pull::pull_settings(office, store) {
                    tracing::warn!(error = %err, "fleet sync: settings not pulled");
                    problem = problem.or(Some(format!("settings not pulled: {err}")));
                }
                problem = problem.or(pull_lists(office, store, key.as_ref(), status));
            }
            Ok((drained, problem))
        })();
        let backlog = store.read(outbox::backlog).unwrap_or_default();
        let wait = match round {
            Ok((drained, problem)) => {
                backoff = Duration::from_secs(1);
                update(&|s| {
                    s.connected = true;
                    s.error.clone_from(&problem);
                    s.sent += drained.rows;
                    s.last_contact_ms = Some(crate::store::now_ms());
                });
                settings.interval
            }
            Err(err) => {
                client = None;
                let message = err.to_string();
                tracing::warn!(error = %message, retry_in_s = backoff.as_secs(), "fleet sync: office not reached");
                update(&|s| {
                    s.connected = false;
                    s.error = Some(message.clone());
                });
                let wait = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                wait
            }
        };
        update(&|s| {
            s.waiting = backlog.rows;
            s.oldest_queued_ms = backlog.oldest_queued_ms;
        });
        match woken.recv_timeout(wait) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Takes the office's newest hot-list publication; says what went wrong, if anything.
fn pull_lists(
    office: &mut Client,
    store: &Store,
    key: Option<&ed25519_dalek::VerifyingKey>,
    status: &Mutex<SyncStatus>,
) -> Option<String> {
    match super::publish::pull_hotlist(office, store, key) {
        Ok(super::publish::Pulled::Nothing) => None,
        Ok(super::publish::Pulled::Taken(publication)) => {
            tracing::info!(version = %publication.version, files = publication.files, "fleet sync: hot list pulled");
            if let Ok(mut s) = status.lock() {
                s.lists_taken += 1;
            }
            None
        }
        Ok(super::publish::Pulled::Refused { version, reason, .. }) => {
            tracing::warn!(%version, %reason, "fleet sync: hot list from the office refused");
            Some(format!("hot list {version} refused: {reason}"))
        }
        Err(err) => {
            tracing::warn!(error = %err, "fleet sync: hot lists not pulled");
            Some(format!("hot lists not pulled: {err}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_line_says_connected_or_offline_and_how_much_waits_since_when() {
        let mut s = SyncStatus { connected: true, ..SyncStatus::default() };
        assert_eq!(s.summary(0), "office: connected · nothing waiting");
        s.connected = false;
        s.error = Some("connection refused".into());
        s.waiting = 12;
        s.oldest_queued_ms = Some(1_000);
        assert_eq!(s.summary(1_000 + 125_000), "office: OFFLINE (connection refused) · 12 waiting, oldest 2 min");
        assert_eq!(s.short(1_000 + 125_000), "office: OFFLINE · 12 waiting, oldest 2 min");
        assert_eq!(age_text(3_723_000), "1 h 2 min");
    }
}
