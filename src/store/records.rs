//! The records other modules keep: plate reads, hits and their events, shifts and ALPR
//! activation periods, camera downtime, checklists, equipment reports and case holds.
//!
//! Every method that records an auditable event writes its audit row in the same
//! transaction, so an event is never stored without its audit record nor the reverse.

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::audit_log::append;
use super::{Pending, Store, StoreError};
use crate::audit::{AuditAction, AuditEvent};
pub use crate::hits::{HitEventRecord, HitRecord, HitState};
use crate::location::Fix;

/// Converts stored milliseconds to a time.
pub fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// An open equipment report: (id, officer, camera, time, description).
pub type EquipmentReportRow = (i64, String, String, DateTime<Utc>, String);

/// A plate read to be stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewRead {
    /// When the plate was read.
    pub time: DateTime<Utc>,
    /// Which camera read it.
    pub camera: String,
    /// The officer logged on in the car, if any.
    pub officer: Option<String>,
    /// Normalized plate text.
    pub plate: String,
    /// Recognizer confidence, 0-1.
    pub confidence: f32,
    /// Alternative readings as JSON (`[{"text":..,"confidence":..}]`).
    pub candidates_json: String,
    /// Issuing state, if recognized.
    pub state: Option<String>,
    /// Where the car was at the read's time (interpolated between GPS fixes; its `time` is
    /// the newest fix's), or `None`: no fix within the age limit.
    pub gps: Option<Fix>,
    /// The plate crop as PNG bytes, if kept.
    pub crop_png: Option<Vec<u8>>,
}

/// A stored read.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRead {
    /// Row id.
    pub id: i64,
    /// The read itself.
    pub read: NewRead,
    /// Kept past retention (case hold or hit under review).
    pub protected: bool,
}

fn ms(time: Option<DateTime<Utc>>) -> Option<i64> {
    time.map(|t| t.timestamp_millis())
}

fn insert_read_row(conn: &Connection, read: &NewRead) -> Result<i64, StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO reads (time_ms, camera, officer, plate, confidence, candidates, state, lat, lon, crop_png,
                            gps_accuracy_m, gps_speed_mps, gps_heading_deg, gps_fix_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?;
    stmt.execute(params![
        read.time.timestamp_millis(),
        read.camera,
        read.officer,
        read.plate,
        f64::from(read.confidence),
        read.candidates_json,
        read.state,
        read.gps.map(|g| g.lat),
        read.gps.map(|g| g.lon),
        read.crop_png,
        read.gps.and_then(|g| g.accuracy_m).map(f64::from),
        read.gps.and_then(|g| g.speed_mps).map(f64::from),
        read.gps.and_then(|g| g.heading_deg).map(f64::from),
        read.gps.map(|g| g.time.timestamp_millis()),
    ])?;
    Ok(conn.last_insert_rowid())
}

pub(crate) const READ_COLUMNS: &str =
    "id, time_ms, camera, officer, plate, confidence, candidates, state, lat, lon, crop_png, protected,
     gps_accuracy_m, gps_speed_mps, gps_heading_deg, gps_fix_ms";

/// Maps a row selected with [`READ_COLUMNS`].
pub(crate) fn stored_read(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredRead> {
    let read_ms: i64 = row.get(1)?;
    let lat: Option<f64> = row.get(8)?;
    let lon: Option<f64> = row.get(9)?;
    let narrow = |v: Option<f64>| v.map(|x| x as f32);
    let (accuracy, speed, heading): (Option<f64>, Option<f64>, Option<f64>) =
        (row.get(12)?, row.get(13)?, row.get(14)?);
    // Rows stored before fixes kept their own time: the read's.
    let fix_ms: i64 = row.get::<_, Option<i64>>(15)?.unwrap_or(read_ms);
    let gps = lat.zip(lon).map(|(lat, lon)| Fix {
        time: from_ms(fix_ms),
        lat,
        lon,
        accuracy_m: narrow(accuracy),
        speed_mps: narrow(speed),
        heading_deg: narrow(heading),
    });
    Ok(StoredRead {
        id: row.get(0)?,
        read: NewRead {
            time: from_ms(read_ms),
            camera: row.get(2)?,
            officer: row.get(3)?,
            plate: row.get(4)?,
            confidence: row.get::<_, f64>(5)? as f32,
            candidates_json: row.get(6)?,
            state: row.get(7)?,
            gps,
            crop_png: row.get(10)?,
        },
        protected: row.get::<_, i64>(11)? != 0,
    })
}

/// Reads with `from <= time < to`, oldest first.
pub(crate) fn reads_between(conn: &Connection, from_ms: i64, to_ms: i64) -> Result<Vec<StoredRead>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {READ_COLUMNS} FROM reads WHERE time_ms >= ?1 AND time_ms < ?2 ORDER BY time_ms, id"
    ))?;
    let rows = stmt.query_map([from_ms, to_ms], stored_read)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub(crate) fn hit_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(HitRecord, String)> {
    let opt = |i: usize| -> rusqlite::Result<Option<DateTime<Utc>>> { Ok(row.get::<_, Option<i64>>(i)?.map(from_ms)) };
    let state_text: String = row.get(5)?;
    let officer: Option<String> = row.get(6)?;
    let mut hit = HitRecord::new(
        row.get(1)?,
        &row.get::<_, String>(2)?,
        &row.get::<_, String>(3)?,
        row.get(4)?,
        officer.as_deref(),
        from_ms(row.get(7)?),
    );
    hit.id = row.get(0)?;
    hit.acknowledged = opt(8)?;
    hit.verified = opt(9)?;
    hit.confirmed = opt(10)?;
    hit.actionable = opt(11)?;
    hit.closed = opt(12)?;
    hit.dispatcher_id = row.get(13)?;
    hit.incident_number = row.get(14)?;
    hit.result = row.get::<_, Option<String>>(15)?.as_deref().and_then(crate::hits::ConfirmResult::parse);
    hit.exigent = row.get::<_, i64>(16)? != 0;
    hit.disposition = row.get::<_, Option<String>>(17)?.as_deref().and_then(crate::hits::HitEnding::parse);
    hit.time_to_ack_ms = row.get(18)?;
    Ok((hit.with_stored_state(HitState::parse(&state_text).unwrap_or(HitState::New)), state_text))
}

impl Store {
    /// Stores one read; returns its id once committed.
    pub fn insert_read(&self, read: NewRead) -> Result<i64, StoreError> {
        self.write(move |conn| insert_read_row(conn, &read))
    }

    /// Queues a read without waiting for its commit; the id comes through the answer. For the
    /// console's reads that raise no hit: the UI thread must not wait on the disk for them.
    /// `make` runs on the writer thread, so costly parts of the row (the crop's PNG) are made
    /// there too.
    pub fn submit_read(&self, make: impl FnOnce() -> NewRead + Send + 'static) -> Result<Pending<i64>, StoreError> {
        self.submit(move |conn| insert_read_row(conn, &make()))
    }

    /// Stores many reads in one transaction; returns their ids once committed.
    pub fn insert_reads(&self, reads: Vec<NewRead>) -> Result<Vec<i64>, StoreError> {
        self.write(move |conn| reads.iter().map(|read| insert_read_row(conn, read)).collect())
    }

    /// One stored read.
    pub fn read_by_id(&self, id: i64) -> Result<Option<StoredRead>, StoreError> {
        self.read(|conn| {
            Ok(conn
                .query_row(&format!("SELECT {READ_COLUMNS} FROM reads WHERE id = ?1"), [id], stored_read)
                .optional()?)
        })
    }

    /// Number of stored reads.
    pub fn count_reads(&self) -> Result<i64, StoreError> {
        self.read(|conn| Ok(conn.query_row("SELECT count(*) FROM reads", [], |row| row.get(0))?))
    }

    /// Stores a new hit and audits it; returns its id.
    pub fn insert_hit(&self, hit: HitRecord) -> Result<i64, StoreError> {
        let org = self.organization().to_owned();
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO hits (read_id, plate, list, priority, state, officer, raised_ms, exigent) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)",
                params![hit.read_id, hit.plate, hit.list, hit.priority, hit.state().as_str(), hit.officer, hit.raised.timestamp_millis()],
            )?;
            let id = conn.last_insert_rowid();
            let user = hit.officer.clone().unwrap_or_else(|| "system".to_owned());
            let event = AuditEvent { time: hit.raised, ..AuditEvent::new(&user, &org, AuditAction::HitRaised, &hit.plate, &format!("hit {id} on list {}", hit.list)) };
            append(conn, &event)?;
            Ok(id)
        })
    }

    /// Saves a hit's new state and fields together with the transition that led there, and
    /// audits the transition (who, when, what was entered).
    pub fn record_hit_transition(&self, hit: HitRecord, event: HitEventRecord) -> Result<(), StoreError> {
        let org = self.organization().to_owned();
        self.write(move |conn| {
            let changed = conn.execute(
                "UPDATE hits SET state = ?2, acknowledged_ms = ?3, verified_ms = ?4, confirmed_ms = ?5, actionable_ms = ?6,
                 closed_ms = ?7, dispatcher_id = ?8, incident_number = ?9, result = ?10, exigent = ?11, disposition = ?12,
                 time_to_ack_ms = ?13 WHERE id = ?1",
                params![
                    hit.id,
                    hit.state().as_str(),
                    ms(hit.acknowledged),
                    ms(hit.verified),
                    ms(hit.confirmed),
                    ms(hit.actionable),
                    ms(hit.closed),
                    hit.dispatcher_id,
                    hit.incident_number,
                    hit.result.map(crate::hits::ConfirmResult::as_str),
                    i64::from(hit.exigent),
                    hit.disposition.map(crate::hits::HitEnding::as_str),
                    hit.time_to_ack_ms
                ],
            )?;
            if changed != 1 {
                return Err(StoreError::Invalid(format!("no hit {}", hit.id)));
            }
            conn.execute(
                "INSERT INTO hit_events (hit_id, time_ms, user, from_state, to_state, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![event.hit_id, event.time.timestamp_millis(), event.user, event.from.as_str(), event.to.as_str(), event.detail],
            )?;
            let mut audit = AuditEvent::new(
                &event.user,
                &org,
                AuditAction::HitTransition,
                &hit.plate,
                &format!("hit {}: {} -> {}; {}", hit.id, event.from.as_str(), event.to.as_str(), event.detail),
            );
            audit.time = event.time;
            audit.case_number = hit.incident_number.clone();
            audit.purpose = Some(format!("hit on list {}", hit.list));
            append(conn, &audit)?;
            Ok(())
        })
    }

    /// Adds a point of the car's patrol track for `shift_id` (a repeat of an instant is
    /// ignored).
    pub fn record_track_point(&self, shift_id: i64, fix: Fix) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.execute(
                "INSERT OR IGNORE INTO patrol_track (shift_id, time_ms, lat, lon) VALUES (?1, ?2, ?3, ?4)",
                params![shift_id, fix.time.timestamp_millis(), fix.lat, fix.lon],
            )?;
            Ok(())
        })
    }

    /// One hit.
    pub fn hit(&self, id: i64) -> Result<Option<HitRecord>, StoreError> {
        self.read(|conn| {
            let found = conn
                .query_row(
                    "SELECT id, read_id, plate, list, priority, state, officer, raised_ms, acknowledged_ms, verified_ms, confirmed_ms,
                     actionable_ms, closed_ms, dispatcher_id, incident_number, result, exigent, disposition, time_to_ack_ms
                     FROM hits WHERE id = ?1",
                    [id],
                    hit_from_row,
                )
                .optional()?;
            match found {
                Some((hit, text)) if HitState::parse(&text).is_none() => Err(StoreError::Corrupt(format!("hit {}: state {text:?}", hit.id))),
                other => Ok(other.map(|(hit, _)| hit)),
            }
        })
    }

    /// The transitions of a hit, oldest first.
    pub fn hit_events(&self, hit_id: i64) -> Result<Vec<HitEventRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare("SELECT hit_id, time_ms, user, from_state, to_state, detail FROM hit_events WHERE hit_id = ?1 ORDER BY id")?;
            let rows = stmt.query_map([hit_id], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?, row.get::<_, String>(2)?, row.get::<_, String>(3)?, row.get::<_, String>(4)?, row.get::<_, String>(5)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (hit_id, time_ms, user, from, to, detail) = row?;
                let (Some(from), Some(to)) = (HitState::parse(&from), HitState::parse(&to)) else {
                    return Err(StoreError::Corrupt(format!("hit {hit_id}: bad state in events")));
                };
                out.push(HitEventRecord { hit_id, time: from_ms(time_ms), user, from, to, detail });
            }
            Ok(out)
        })
    }

    /// Opens a shift at log-on; returns its id.
    pub fn start_shift(&self, officer: &str, at: DateTime<Utc>) -> Result<i64, StoreError> {
        let officer = officer.to_owned();
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO shifts (officer, start_ms) VALUES (?1, ?2)",
                params![officer, at.timestamp_millis()],
            )?;
            Ok(conn.last_insert_rowid())
        })
    }

    /// Closes a shift at log-off, ending any open activation and camera downtime.
    pub fn end_shift(&self, shift_id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.write(move |conn| {
            let t = at.timestamp_millis();
            conn.execute(
                "UPDATE activations SET end_ms = ?2 WHERE shift_id = ?1 AND end_ms IS NULL",
                params![shift_id, t],
            )?;
            conn.execute(
                "UPDATE camera_downtime SET end_ms = ?2 WHERE shift_id = ?1 AND end_ms IS NULL",
                params![shift_id, t],
            )?;
            conn.execute("UPDATE shifts SET end_ms = ?2 WHERE id = ?1 AND end_ms IS NULL", params![shift_id, t])?;
            Ok(())
        })
    }

    /// ALPR goes active in a shift (audited).
    pub fn activate(&self, shift_id: i64, officer: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let event = AuditEvent {
            time: at,
            ..AuditEvent::new(officer, self.organization(), AuditAction::Activate, &format!("shift {shift_id}"), "ok")
        };
        self.write(move |conn| {
            let open: i64 = conn.query_row(
                "SELECT count(*) FROM activations WHERE shift_id = ?1 AND end_ms IS NULL",
                [shift_id],
                |r| r.get(0),
            )?;
            if open == 0 {
                conn.execute(
                    "INSERT INTO activations (shift_id, start_ms) VALUES (?1, ?2)",
                    params![shift_id, at.timestamp_millis()],
                )?;
            }
            append(conn, &event)?;
            Ok(())
        })
    }

    /// ALPR deactivated mid-shift with the officer's reason (audited).
    pub fn deactivate(&self, shift_id: i64, officer: &str, at: DateTime<Utc>, reason: &str) -> Result<(), StoreError> {
        let event = AuditEvent {
            time: at,
            ..AuditEvent::new(
                officer,
                self.organization(),
                AuditAction::Deactivate,
                &format!("shift {shift_id}"),
                reason,
            )
        };
        let reason = reason.to_owned();
        self.write(move |conn| {
            conn.execute(
                "UPDATE activations SET end_ms = ?2, deactivate_reason = ?3 WHERE shift_id = ?1 AND end_ms IS NULL",
                params![shift_id, at.timestamp_millis(), reason],
            )?;
            append(conn, &event)?;
            Ok(())
        })
    }

    /// A camera stopped working during a shift.
    pub fn camera_down(&self, shift_id: i64, camera: &str, at: DateTime<Utc>, reason: &str) -> Result<(), StoreError> {
        let (camera, reason) = (camera.to_owned(), reason.to_owned());
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO camera_downtime (shift_id, camera, start_ms, reason) VALUES (?1, ?2, ?3, ?4)",
                params![shift_id, camera, at.timestamp_millis(), reason],
            )?;
            Ok(())
        })
    }

    /// A camera works again.
    pub fn camera_up(&self, shift_id: i64, camera: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let camera = camera.to_owned();
        self.write(move |conn| {
            conn.execute(
                "UPDATE camera_downtime SET end_ms = ?3 WHERE shift_id = ?1 AND camera = ?2 AND end_ms IS NULL",
                params![shift_id, camera, at.timestamp_millis()],
            )?;
            Ok(())
        })
    }

    /// Stores a camera inspection checklist (items as JSON) and audits its result.
    pub fn record_checklist(
        &self,
        shift_id: i64,
        officer: &str,
        camera: &str,
        passed: bool,
        items_json: &str,
        note: &str,
    ) -> Result<i64, StoreError> {
        let outcome = if passed { "passed".to_owned() } else { format!("failed: {note}") };
        let event = AuditEvent::new(officer, self.organization(), AuditAction::Checklist, camera, &outcome);
        let (officer, camera, items, note) =
            (officer.to_owned(), camera.to_owned(), items_json.to_owned(), note.to_owned());
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO checklists (shift_id, officer, camera, time_ms, passed, items, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![shift_id, officer, camera, event.time.timestamp_millis(), i64::from(passed), items, note],
            )?;
            let id = conn.last_insert_rowid();
            append(conn, &event)?;
            Ok(id)
        })
    }

    /// Files an equipment report for the ALPR Administrator and audits it.
    pub fn file_equipment_report(&self, officer: &str, camera: &str, description: &str) -> Result<i64, StoreError> {
        let event = AuditEvent::new(officer, self.organization(), AuditAction::EquipmentReport, camera, description);
        let (officer, camera, description) = (officer.to_owned(), camera.to_owned(), description.to_owned());
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO equipment_reports (officer, camera, time_ms, description) VALUES (?1, ?2, ?3, ?4)",
                params![officer, camera, event.time.timestamp_millis(), description],
            )?;
            let id = conn.last_insert_rowid();
            append(conn, &event)?;
            Ok(id)
        })
    }

    /// Open equipment reports: (id, officer, camera, time, description).
    pub fn open_equipment_reports(&self) -> Result<Vec<EquipmentReportRow>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare("SELECT id, officer, camera, time_ms, description FROM equipment_reports WHERE resolved_ms IS NULL ORDER BY id")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, from_ms(r.get(3)?), r.get(4)?)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }
}

/// Places a case hold on a read inside the caller's transaction: the read is kept past
/// retention until the hold is released.
pub(crate) fn place_hold(
    conn: &Connection,
    read_id: i64,
    case_number: &str,
    by: &str,
    at_ms: i64,
) -> Result<(), StoreError> {
    let changed = conn.execute("UPDATE reads SET protected = 1 WHERE id = ?1", [read_id])?;
    if changed != 1 {
        return Err(StoreError::Invalid(format!("no read {read_id}")));
    }
    conn.execute(
        "INSERT INTO holds (read_id, case_number, placed_by, time_ms) VALUES (?1, ?2, ?3, ?4)",
        params![read_id, case_number, by, at_ms],
    )?;
    Ok(())
}

/// Releases every hold of a case; a read stays protected while another case holds it.
pub(crate) fn release_holds(conn: &Connection, case_number: &str, at_ms: i64) -> Result<usize, StoreError> {
    let released = conn.execute(
        "UPDATE holds SET released_ms = ?2 WHERE case_number = ?1 AND released_ms IS NULL",
        params![case_number, at_ms],
    )?;
    conn.execute(
        "UPDATE reads SET protected = 0 WHERE protected = 1
         AND id IN (SELECT read_id FROM holds WHERE case_number = ?1)
         AND id NOT IN (SELECT read_id FROM holds WHERE released_ms IS NULL)",
        [case_number],
    )?;
    Ok(released)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hits::HitAction;
    use crate::store::testing::temp_store;

    pub(crate) fn sample_read(plate: &str, time: DateTime<Utc>) -> NewRead {
        NewRead {
            time,
            camera: "front".into(),
            officer: Some("o1".into()),
            plate: plate.into(),
            confidence: 0.93,
            candidates_json: r#"[{"text":"7ABC123","confidence":0.93}]"#.into(),
            state: Some("CA".into()),
            gps: Some(Fix {
                accuracy_m: Some(4.5),
                speed_mps: Some(11.0),
                heading_deg: Some(87.5),
                ..Fix::at(time - chrono::Duration::milliseconds(400), 33.75, -118.2)
            }),
            crop_png: Some(vec![0x89, b'P', b'N', b'G']),
        }
    }

    #[test]
    fn read_round_trip() {
        let (_dir, store) = temp_store();
        let t = from_ms(1_700_000_000_123);
        let id = store.insert_read(sample_read("7ABC123", t)).unwrap();
        let got = store.read_by_id(id).unwrap().unwrap();
        assert_eq!(got.read, sample_read("7ABC123", t));
        assert!(!got.protected);
        let ids = store.insert_reads(vec![sample_read("A", t), sample_read("B", t)]).unwrap();
        assert_eq!(ids.len(), 2);
        assert_eq!(store.count_reads().unwrap(), 3);
    }

    #[test]
    fn hit_states_round_trip() {
        for state in HitState::ALL {
            assert_eq!(HitState::parse(state.as_str()), Some(state));
        }
        assert_eq!(HitState::parse("bogus"), None);
        assert!(HitState::Verified.under_review());
        assert!(!HitState::Closed.under_review());
    }

    #[test]
    fn hit_transition_is_stored_and_audited() {
        let (_dir, store) = temp_store();
        let t = from_ms(1_700_000_000_000);
        let read = store.insert_read(sample_read("7ABC123", t)).unwrap();
        let id = store.insert_hit(HitRecord::new(Some(read), "7ABC123", "SVS", 1, Some("o1"), t)).unwrap();
        let mut hit = store.hit(id).unwrap().unwrap();
        assert_eq!(hit.state(), HitState::New);
        // Changed the only way a hit changes: through the lifecycle.
        let event =
            crate::hits::lifecycle::apply(&mut hit, &HitAction::Acknowledge, "o1", from_ms(1_700_000_004_000)).unwrap();
        assert_eq!((event.from, event.to, hit.time_to_ack_ms), (HitState::New, HitState::Acknowledged, Some(4000)));
        store.record_hit_transition(hit.clone(), event.clone()).unwrap();
        assert_eq!(store.hit(id).unwrap().unwrap(), hit);
        assert_eq!(store.hit_events(id).unwrap(), vec![event]);
        let actions: Vec<String> = store
            .read(|c| {
                let mut s = c.prepare("SELECT action FROM audit_log ORDER BY seq")?;
                Ok(s.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?)
            })
            .unwrap();
        assert_eq!(actions, vec!["hit_raised", "hit_transition"]);
    }

    #[test]
    fn holds_protect_until_every_case_releases() {
        let (_dir, store) = temp_store();
        let id = store.insert_read(sample_read("7ABC123", from_ms(0))).unwrap();
        store
            .write(move |c| {
                place_hold(c, id, "C-1", "s1", 0)?;
                place_hold(c, id, "C-2", "s1", 0)
            })
            .unwrap();
        store.write(|c| release_holds(c, "C-1", 1)).unwrap();
        assert!(store.read_by_id(id).unwrap().unwrap().protected);
        store.write(|c| release_holds(c, "C-2", 2)).unwrap();
        assert!(!store.read_by_id(id).unwrap().unwrap().protected);
        assert!(store.write(|c| place_hold(c, 999, "C-3", "s1", 0)).is_err());
    }
}
