//! Retention: the purge that deletes reads (with their crop images) and finished hits older
//! than the retention period, except what is protected as evidence (a case hold, or a hit
//! still under review), and the daily scheduler that runs it.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{DateTime, Utc};
use crossbeam_channel::{Sender, bounded};
use rusqlite::Connection;
use serde::Serialize;

use super::audit_log::append;
use super::{Store, StoreError};
use crate::audit::{AuditAction, AuditEvent};

/// The statutory floor on retention (Gov. Code 34090.6: at least one year).
pub const MIN_RETENTION_DAYS: u32 = 365;
/// The longest period accepted (a century): beyond it the cutoff date cannot be computed.
pub const MAX_RETENTION_DAYS: u32 = 36_525;

/// Errors of the retention settings.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RetentionError {
    /// A period under the floor without the explicit override.
    #[error(
        "retention_days = {0} is under the one-year floor ({MIN_RETENTION_DAYS} days, Gov. Code 34090.6); \
         shorter periods are allowed only on counsel's advice (`admin retention allow-short true`)"
    )]
    UnderFloor(u32),
    /// A zero period would purge everything.
    #[error("retention_days must be at least 1")]
    Zero,
    /// A period too long to compute a cutoff from.
    #[error("retention_days = {0} is more than {MAX_RETENTION_DAYS} days (a century)")]
    TooLong(u32),
}

/// The retention period, checked against the floor.
pub fn retention_period(days: u32, allow_short: bool) -> Result<chrono::Duration, RetentionError> {
    if days == 0 {
        return Err(RetentionError::Zero);
    }
    if days > MAX_RETENTION_DAYS {
        return Err(RetentionError::TooLong(days));
    }
    if days < MIN_RETENTION_DAYS && !allow_short {
        return Err(RetentionError::UnderFloor(days));
    }
    Ok(chrono::Duration::days(i64::from(days)))
}

/// What a purge deleted (or, in a dry run, would delete).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct PurgeCounts {
    /// Reads (and their crop images) deleted.
    pub reads: u64,
    /// Finished hits deleted.
    pub hits: u64,
    /// Hit events deleted with them.
    pub hit_events: u64,
    /// Reads past retention kept because they are protected.
    pub protected_kept: u64,
    /// Points of the car's patrol track deleted (or that would be).
    pub track_points: u64,
    /// True when nothing was deleted (a dry run).
    pub dry_run: bool,
}

/// Reads past the cutoff that must be kept: a case hold, or a hit still under review.
const PROTECTED: &str = "(protected = 1 OR id IN (SELECT read_id FROM hits WHERE read_id IS NOT NULL AND state NOT IN ('rejected', 'closed')))";

fn count(conn: &Connection, sql: &str, cutoff_ms: i64) -> Result<u64, StoreError> {
    Ok(conn.query_row(sql, [cutoff_ms], |row| row.get::<_, i64>(0))?.max(0).unsigned_abs())
}

/// Runs the purge inside the caller's transaction and audits it with its counts.
pub(crate) fn purge_in(
    conn: &Connection,
    cutoff: DateTime<Utc>,
    dry_run: bool,
    user: &str,
    organization: &str,
) -> Result<PurgeCounts, StoreError> {
    let cutoff_ms = cutoff.timestamp_millis();
    let finished_hits = "FROM hits WHERE raised_ms < ?1 AND state IN ('rejected', 'closed') AND (read_id IS NULL OR read_id NOT IN (SELECT id FROM reads WHERE protected = 1))";
    let mut counts = PurgeCounts {
        protected_kept: count(
            conn,
            &format!("SELECT count(*) FROM reads WHERE time_ms < ?1 AND {PROTECTED}"),
            cutoff_ms,
        )?,
        dry_run,
        ..PurgeCounts::default()
    };
    if dry_run {
        counts.reads =
            count(conn, &format!("SELECT count(*) FROM reads WHERE time_ms < ?1 AND NOT {PROTECTED}"), cutoff_ms)?;
        counts.hits = count(conn, &format!("SELECT count(*) {finished_hits}"), cutoff_ms)?;
        counts.hit_events = count(
            conn,
            &format!("SELECT count(*) FROM hit_events WHERE hit_id IN (SELECT id {finished_hits})"),
            cutoff_ms,
        )?;
        counts.track_points = count(conn, "SELECT count(*) FROM patrol_track WHERE time_ms < ?1", cutoff_ms)?;
    } else {
        // Hits first: once their reads are gone the protection test above would change.
        counts.hit_events = conn
            .execute(&format!("DELETE FROM hit_events WHERE hit_id IN (SELECT id {finished_hits})"), [cutoff_ms])?
            as u64;
        counts.hits = conn.execute(&format!("DELETE {finished_hits}"), [cutoff_ms])? as u64;
        counts.reads =
            conn.execute(&format!("DELETE FROM reads WHERE time_ms < ?1 AND NOT {PROTECTED}"), [cutoff_ms])? as u64;
        // A released hold whose release the office has not received yet stays until it has
        // (the next purge), or the office would keep its read for a hold that no longer stands.
        conn.execute(
            "DELETE FROM holds WHERE released_ms IS NOT NULL AND read_id NOT IN (SELECT id FROM reads)
             AND id NOT IN (SELECT row_id FROM fleet_outbox WHERE kind = 'hold')",
            [],
        )?;
        counts.track_points = conn.execute("DELETE FROM patrol_track WHERE time_ms < ?1", [cutoff_ms])? as u64;
    }
    let outcome = format!(
        "{}reads {}, hits {}, hit events {}, protected kept {}, track points {}",
        if dry_run { "dry run: would delete " } else { "deleted " },
        counts.reads,
        counts.hits,
        counts.hit_events,
        counts.protected_kept,
        counts.track_points
    );
    let object = format!("older than {}", cutoff.to_rfc3339());
    append(conn, &AuditEvent::new(user, organization, AuditAction::Purge, &object, &outcome))?;
    Ok(counts)
}

impl Store {
    /// Deletes what is older than `cutoff` and not protected (or counts it, in a dry run);
    /// audited with the counts as `user`.
    pub fn purge(&self, cutoff: DateTime<Utc>, dry_run: bool, user: &str) -> Result<PurgeCounts, StoreError> {
        let (user, org) = (user.to_owned(), self.organization().to_owned());
        self.write(move |conn| purge_in(conn, cutoff, dry_run, &user, &org))
    }
}

/// The daily purge: an owned worker that purges once at start and then every `interval`;
/// dropping it stops and joins the thread.
pub struct PurgeScheduler {
    stop: Option<Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl PurgeScheduler {
    /// Starts the worker. Failures are logged and retried at the next interval: a purge that
    /// fails must not take the console down.
    pub fn start(store: Arc<Store>, retention: chrono::Duration, interval: Duration) -> std::io::Result<Self> {
        let (stop, stopped) = bounded::<()>(1);
        let handle = std::thread::Builder::new().name("retention-purge".into()).spawn(move || {
            loop {
                match store.purge(Utc::now() - retention, false, "system") {
                    Ok(counts) => tracing::info!(?counts, "retention purge"),
                    Err(err) => tracing::error!("retention purge failed: {err}"),
                }
                // A message or a closed channel both mean stop.
                if !matches!(stopped.recv_timeout(interval), Err(crossbeam_channel::RecvTimeoutError::Timeout)) {
                    break;
                }
            }
        })?;
        Ok(Self { stop: Some(stop), handle: Some(handle) })
    }
}

impl Drop for PurgeScheduler {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::records::{HitRecord, HitState, NewRead, from_ms, place_hold};
    use crate::store::testing::temp_store;

    fn read_at(plate: &str, day: i64) -> NewRead {
        NewRead {
            time: from_ms(day * 86_400_000),
            camera: "front".into(),
            officer: None,
            plate: plate.into(),
            confidence: 0.9,
            candidates_json: "[]".into(),
            state: None,
            gps: None,
            crop_png: Some(vec![1, 2, 3]),
        }
    }

    #[test]
    fn floor_is_enforced_unless_overridden() {
        assert!(retention_period(365, false).is_ok());
        assert_eq!(retention_period(30, false), Err(RetentionError::UnderFloor(30)));
        assert_eq!(retention_period(30, true).map(|d| d.num_days()), Ok(30));
        assert_eq!(retention_period(0, true), Err(RetentionError::Zero));
        assert_eq!(retention_period(u32::MAX, false), Err(RetentionError::TooLong(u32::MAX)));
    }

    #[test]
    fn purge_keeps_protected_and_recent_reads() {
        let (_dir, store) = temp_store();
        let old_plain = store.insert_read(read_at("OLD1", 1)).unwrap();
        let old_held = store.insert_read(read_at("OLD2", 1)).unwrap();
        let old_open_hit = store.insert_read(read_at("OLD3", 1)).unwrap();
        let old_closed_hit = store.insert_read(read_at("OLD4", 1)).unwrap();
        let recent = store.insert_read(read_at("NEW1", 500)).unwrap();
        store.write(move |c| place_hold(c, old_held, "C-9", "s1", 0)).unwrap();
        store.insert_hit(HitRecord::new(Some(old_open_hit), "OLD3", "SVS", 1, None, from_ms(86_400_000))).unwrap();
        let closed = store
            .insert_hit(HitRecord::new(Some(old_closed_hit), "OLD4", "SVS", 1, None, from_ms(86_400_000)))
            .unwrap();
        store
            .write(move |c| {
                Ok(c.execute(
                    "UPDATE hits SET state = ?2 WHERE id = ?1",
                    rusqlite::params![closed, HitState::Closed.as_str()],
                )?)
            })
            .unwrap();

        let cutoff = from_ms(100 * 86_400_000);
        let dry = store.purge(cutoff, true, "a1").unwrap();
        assert_eq!((dry.reads, dry.hits, dry.protected_kept), (2, 1, 2));
        assert_eq!(store.count_reads().unwrap(), 5, "dry run deleted something");
        let done = store.purge(cutoff, false, "a1").unwrap();
        assert_eq!((done.reads, done.hits, done.protected_kept, done.dry_run), (2, 1, 2, false));
        for id in [old_plain, old_closed_hit] {
            assert!(store.read_by_id(id).unwrap().is_none());
        }
        for id in [old_held, old_open_hit, recent] {
            assert!(store.read_by_id(id).unwrap().is_some());
        }
        assert!(store.hit(closed).unwrap().is_none());
        let outcomes: Vec<String> = store
            .read(|c| {
                let mut s = c.prepare("SELECT outcome FROM audit_log WHERE action = 'purge' ORDER BY seq")?;
                Ok(s.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?)
            })
            .unwrap();
        assert_eq!(outcomes.len(), 2);
        assert!(outcomes[0].starts_with("dry run"), "{}", outcomes[0]);
        assert!(outcomes[1].contains("reads 2, hits 1"), "{}", outcomes[1]);
    }

    #[test]
    fn scheduler_purges_at_start_and_stops_on_drop() {
        let (_dir, store) = temp_store();
        store.insert_read(read_at("OLD1", 1)).unwrap();
        let store = Arc::new(store);
        let scheduler =
            PurgeScheduler::start(Arc::clone(&store), chrono::Duration::days(365), Duration::from_secs(3600)).unwrap();
        // The first purge runs at once; wait for its audit row.
        let mut purged = false;
        for _ in 0..200 {
            if store.count_reads().unwrap() == 0 {
                purged = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        drop(scheduler);
        assert!(purged);
    }
}
