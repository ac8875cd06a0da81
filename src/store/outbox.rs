//! The fleet outbox's SQL (schema migration 9): which office the car was joined to, the
//! records waiting to be sent (read back whole from their own tables), and deleting them once
//! the office has committed them. The triggers that fill the outbox are in the schema, so a
//! record and its place in the queue are committed in one transaction.

use rusqlite::{Connection, OptionalExtension as _, params};

use super::StoreError;
use super::audit_log::{RawRow, SELECT_ROWS, raw_row};

/// The office this car was joined to by an administrator (`fleet join`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    /// The car's id at the office.
    pub car_id: String,
    /// The office database (host, port and database name; never a password).
    pub office: String,
    /// Who joined it.
    pub joined_by: String,
    /// When.
    pub joined_ms: i64,
}

/// What the car kept before it first joined, queued at the join in the car's own order, so
/// the office holds its whole history and its audit chain from the first row.
const BACKFILL: [(&str, &str, &str); 9] = [
    ("audit", "audit_log", "seq"),
    ("shift", "shifts", "id"),
    ("checklist", "checklists", "id"),
    ("equipment_report", "equipment_reports", "id"),
    ("read", "reads", "id"),
    ("hit", "hits", "id"),
    ("hit_event", "hit_events", "id"),
    // A hold released since is sent once, released: the office keeps the newest event.
    ("hold", "holds", "id"),
    // A shift that had ended: its end, as a second event (as when it ends after the join).
    ("shift", "shifts", "id"),
];

/// Records the office the car belongs to; from this commit on, every record is queued. The
/// first join also queues everything the car kept before it (once per database: joining
/// again, to another office say, sends only what comes after).
pub fn join(conn: &Connection, joined: &Joined) -> Result<u64, StoreError> {
    let mut backfilled = 0;
    if state(conn, "backfilled")?.is_none() {
        for (index, (kind, table, id)) in BACKFILL.iter().enumerate() {
            let ended = if index == BACKFILL.len() - 1 { " WHERE end_ms IS NOT NULL" } else { "" };
            backfilled += conn.execute(
                &format!(
                    "INSERT INTO fleet_outbox (kind, row_id, queued_ms) SELECT ?1, {id}, ?2 FROM {table}{ended} ORDER BY {id}"
                ),
                params![kind, joined.joined_ms],
            )? as u64;
        }
        set_state(conn, "backfilled", &joined.joined_ms.to_string())?;
    }
    let rows = [
        ("car_id", joined.car_id.clone()),
        ("office", joined.office.clone()),
        ("joined_by", joined.joined_by.clone()),
        ("joined_ms", joined.joined_ms.to_string()),
    ];
    for (key, value) in rows {
        set_state(conn, key, &value)?;
    }
    Ok(backfilled)
}

/// Stops queueing (the car leaves its office). What is queued stays until it is sent.
pub fn leave(conn: &Connection) -> Result<(), StoreError> {
    conn.execute("DELETE FROM fleet_state WHERE key IN ('car_id', 'office', 'joined_by', 'joined_ms')", [])?;
    Ok(())
}

fn state(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(conn.query_row("SELECT value FROM fleet_state WHERE key = ?1", [key], |row| row.get(0)).optional()?)
}

/// Sets one of the sync's own bookkeeping values (the pull's high-water mark, its time).
pub fn set_state(conn: &Connection, key: &str, value: &str) -> Result<(), StoreError> {
    conn.execute("INSERT OR REPLACE INTO fleet_state (key, value) VALUES (?1, ?2)", params![key, value])?;
    Ok(())
}

/// Reads one bookkeeping value.
pub fn get_state(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    state(conn, key)
}

/// The folder in a car's data dir holding the hot-list publication it last pulled from its
/// office: a hot-list source like any folder, read first once the car is joined.
pub fn office_list_dir(data_dir: &std::path::Path) -> std::path::PathBuf {
    data_dir.join("office-hotlist")
}

/// The office the car was joined to, if any.
pub fn joined(conn: &Connection) -> Result<Option<Joined>, StoreError> {
    let Some(car_id) = state(conn, "car_id")? else { return Ok(None) };
    Ok(Some(Joined {
        car_id,
        office: state(conn, "office")?.unwrap_or_default(),
        joined_by: state(conn, "joined_by")?.unwrap_or_default(),
        joined_ms: state(conn, "joined_ms")?.and_then(|v| v.parse().ok()).unwrap_or_default(),
    }))
}

/// A read as the office stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadRecord {
    /// The car's own read id.
    pub id: i64,
    /// When it was read.
    pub time_ms: i64,
    /// Camera.
    pub camera: String,
    /// Officer on shift.
    pub officer: Option<String>,
    /// Plate text.
    pub plate: String,
    /// Confidence 0-1.
    pub confidence: f64,
    /// Candidates, as stored (JSON array).
    pub candidates: String,
    /// The state read.
    pub state: Option<String>,
    /// Position.
    pub lat: Option<f64>,
    /// Position.
    pub lon: Option<f64>,
    /// The plate crop (PNG).
    pub crop_png: Option<Vec<u8>>,
}

/// A hit as raised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HitRecord {
    /// The car's hit id.
    pub id: i64,
    /// The car's read id of its evidence.
    pub read_id: Option<i64>,
    /// Plate.
    pub plate: String,
    /// List.
    pub list: String,
    /// Priority.
    pub priority: i64,
    /// Officer.
    pub officer: Option<String>,
    /// When raised.
    pub raised_ms: i64,
}

/// One step of a hit's lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HitEventRecord {
    /// The car's event id.
    pub id: i64,
    /// The car's hit id.
    pub hit_id: i64,
    /// When.
    pub time_ms: i64,
    /// Who.
    pub user: String,
    /// From state.
    pub from_state: String,
    /// To state.
    pub to_state: String,
    /// Detail.
    pub detail: String,
}

/// A shift, as it stood when queued or sent (its end, once it has one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftRecord {
    /// The car's shift id.
    pub id: i64,
    /// Officer.
    pub officer: String,
    /// Start.
    pub start_ms: i64,
    /// End.
    pub end_ms: Option<i64>,
}

/// A camera inspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecklistRecord {
    /// The car's checklist id.
    pub id: i64,
    /// Shift.
    pub shift_id: i64,
    /// Officer.
    pub officer: String,
    /// Camera.
    pub camera: String,
    /// When.
    pub time_ms: i64,
    /// Passed (camera in service).
    pub passed: bool,
    /// Items (JSON text).
    pub items: String,
    /// Note.
    pub note: String,
}

/// An equipment report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EquipmentRecord {
    /// The car's report id.
    pub id: i64,
    /// Officer.
    pub officer: String,
    /// Camera.
    pub camera: String,
    /// When.
    pub time_ms: i64,
    /// What is wrong.
    pub description: String,
}

/// A case hold placed, or released (queued again when it is: the office keeps one row per
/// event, and the newest says whether the hold still stands).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRecord {
    /// The car's hold id.
    pub id: i64,
    /// The read it protects.
    pub read_id: i64,
    /// The case.
    pub case_number: String,
    /// Who placed it.
    pub placed_by: String,
    /// When.
    pub time_ms: i64,
    /// When it was released (`None` while it stands).
    pub released_ms: Option<i64>,
}

/// What one outbox row carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A read.
    Read(ReadRecord),
    /// An audit row, with every column its hash covers.
    Audit(RawRow),
    /// A hit raised.
    Hit(HitRecord),
    /// A hit's step.
    HitEvent(HitEventRecord),
    /// A shift begun or ended.
    Shift(ShiftRecord),
    /// A checklist.
    Checklist(ChecklistRecord),
    /// An equipment report.
    EquipmentReport(EquipmentRecord),
    /// A case hold placed or released.
    Hold(HoldRecord),
    /// Its record no longer exists (a read purged by retention before the office was
    /// reached): nothing to send; the row is dropped with the batch.
    Gone,
}

/// One queued row with its record.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    /// Outbox sequence: the office's key with the car id.
    pub seq: i64,
    /// Kind (`read`, `audit`, ...).
    pub kind: String,
    /// When it was queued.
    pub queued_ms: i64,
    /// The record.
    pub record: Record,
}

/// The oldest `limit` queued rows, each with its record read whole.
pub fn next_batch(conn: &Connection, limit: usize) -> Result<Vec<Queued>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT seq, kind, row_id, queued_ms FROM fleet_outbox ORDER BY seq LIMIT ?1")?;
    let heads: Vec<(i64, String, i64, i64)> = stmt
        .query_map([limit as i64], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))?
        .collect::<Result<_, _>>()?;
    heads
        .into_iter()
        .map(|(seq, kind, row_id, queued_ms)| {
            let record = record(conn, &kind, row_id)?.unwrap_or(Record::Gone);
            Ok(Queued { seq, kind, queued_ms, record })
        })
        .collect()
}

fn record(conn: &Connection, kind: &str, id: i64) -> Result<Option<Record>, StoreError> {
    let found = match kind {
        "read" => conn
            .prepare_cached(
                "SELECT id, time_ms, camera, officer, plate, confidence, candidates, state, lat, lon, crop_png
                 FROM reads WHERE id = ?1",
            )?
            .query_row([id], |r| {
                Ok(Record::Read(ReadRecord {
                    id: r.get(0)?,
                    time_ms: r.get(1)?,
                    camera: r.get(2)?,
                    officer: r.get(3)?,
                    plate: r.get(4)?,
                    confidence: r.get(5)?,
                    candidates: r.get(6)?,
                    state: r.get(7)?,
                    lat: r.get(8)?,
                    lon: r.get(9)?,
                    crop_png: r.get(10)?,
                }))
            })
            .optional()?,
        "audit" => conn
            .prepare_cached(&format!("{SELECT_ROWS} WHERE seq = ?1"))?
            .query_row([id], |r| raw_row(r).map(Record::Audit))
            .optional()?,
        "hit" => conn
            .prepare_cached("SELECT id, read_id, plate, list, priority, officer, raised_ms FROM hits WHERE id = ?1")?
            .query_row([id], |r| {
                Ok(Record::Hit(HitRecord {
                    id: r.get(0)?,
                    read_id: r.get(1)?,
                    plate: r.get(2)?,
                    list: r.get(3)?,
                    priority: r.get(4)?,
                    officer: r.get(5)?,
                    raised_ms: r.get(6)?,
                }))
            })
            .optional()?,
        "hit_event" => conn
            .prepare_cached(
                "SELECT id, hit_id, time_ms, user, from_state, to_state, detail FROM hit_events WHERE id = ?1",
            )?
            .query_row([id], |r| {
                Ok(Record::HitEvent(HitEventRecord {
                    id: r.get(0)?,
                    hit_id: r.get(1)?,
                    time_ms: r.get(2)?,
                    user: r.get(3)?,
                    from_state: r.get(4)?,
                    to_state: r.get(5)?,
                    detail: r.get(6)?,
                }))
            })
            .optional()?,
        "shift" => conn
            .prepare_cached("SELECT id, officer, start_ms, end_ms FROM shifts WHERE id = ?1")?
            .query_row([id], |r| {
                Ok(Record::Shift(ShiftRecord {
                    id: r.get(0)?,
                    officer: r.get(1)?,
                    start_ms: r.get(2)?,
                    end_ms: r.get(3)?,
                }))
            })
            .optional()?,
        "checklist" => conn
            .prepare_cached(
                "SELECT id, shift_id, officer, camera, time_ms, passed, items, note FROM checklists WHERE id = ?1",
            )?
            .query_row([id], |r| {
                Ok(Record::Checklist(ChecklistRecord {
                    id: r.get(0)?,
                    shift_id: r.get(1)?,
                    officer: r.get(2)?,
                    camera: r.get(3)?,
                    time_ms: r.get(4)?,
                    passed: r.get::<_, i64>(5)? != 0,
                    items: r.get(6)?,
                    note: r.get(7)?,
                }))
            })
            .optional()?,
        "equipment_report" => conn
            .prepare_cached("SELECT id, officer, camera, time_ms, description FROM equipment_reports WHERE id = ?1")?
            .query_row([id], |r| {
                Ok(Record::EquipmentReport(EquipmentRecord {
                    id: r.get(0)?,
                    officer: r.get(1)?,
                    camera: r.get(2)?,
                    time_ms: r.get(3)?,
                    description: r.get(4)?,
                }))
            })
            .optional()?,
        "hold" => conn
            .prepare_cached(
                "SELECT id, read_id, case_number, placed_by, time_ms, released_ms FROM holds WHERE id = ?1",
            )?
            .query_row([id], |r| {
                Ok(Record::Hold(HoldRecord {
                    id: r.get(0)?,
                    read_id: r.get(1)?,
                    case_number: r.get(2)?,
                    placed_by: r.get(3)?,
                    time_ms: r.get(4)?,
                    released_ms: r.get(5)?,
                }))
            })
            .optional()?,
        other => return Err(StoreError::Corrupt(format!("fleet outbox row of unknown kind {other:?}"))),
    };
    Ok(found)
}

/// Deletes the queued rows up to and including `seq`: called only after the office has
/// committed them.
pub fn mark_sent(conn: &Connection, through_seq: i64) -> Result<usize, StoreError> {
    Ok(conn.execute("DELETE FROM fleet_outbox WHERE seq <= ?1", [through_seq])?)
}

/// What is waiting to be sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Rows waiting.
    pub rows: u64,
    /// When the oldest was queued.
    pub oldest_queued_ms: Option<i64>,
    /// Rows waiting by kind, in kind order.
    pub by_kind: Vec<(String, u64)>,
}

/// Counts what is waiting.
pub fn backlog(conn: &Connection) -> Result<Backlog, StoreError> {
    let (rows, oldest): (i64, Option<i64>) =
        conn.query_row("SELECT count(*), min(queued_ms) FROM fleet_outbox", [], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let mut stmt = conn.prepare_cached("SELECT kind, count(*) FROM fleet_outbox GROUP BY kind ORDER BY kind")?;
    let by_kind =
        stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))?.collect::<Result<_, _>>()?;
    Ok(Backlog { rows: rows as u64, oldest_queued_ms: oldest, by_kind })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::temp_store;

    #[test]
    fn nothing_is_queued_until_the_car_is_joined_then_every_record_is_in_its_own_transaction() {
        let (_dir, store) = temp_store();
        let read = |plate: &'static str| {
            store
                .write(move |conn| {
                    conn.execute(
                        "INSERT INTO reads (time_ms, camera, plate, confidence) VALUES (1000, 'front', ?1, 0.9)",
                        [plate],
                    )?;
                    Ok(conn.last_insert_rowid())
                })
                .unwrap()
        };
        read("ALONE1");
        assert_eq!(store.read(backlog).unwrap().rows, 0, "a car with no office queues nothing");
        // Joining queues the car's history once (its audit chain from the first row).
        let joined =
            Joined { car_id: "unit-7".into(), office: "host=x".into(), joined_by: "admin".into(), joined_ms: 5 };
        let backfilled = store.write(move |conn| join(conn, &joined)).unwrap();
        assert_eq!(backfilled, 1 + store.audit_head().unwrap().seq as u64, "the read kept before, and the audit chain");
        let history: Vec<i64> = store.read(|conn| next_batch(conn, 100)).unwrap().iter().map(|q| q.seq).collect();
        let through = *history.last().unwrap();
        store.write(move |conn| mark_sent(conn, through)).unwrap();
        let id = read("ABC123");
        // A record whose transaction fails is neither stored nor queued.
        let failed = store.write(|conn| {
            conn.execute(
                "INSERT INTO reads (time_ms, camera, plate, confidence) VALUES (1, 'front', 'NOPE', 0.5)",
                [],
            )?;
            Err::<(), _>(StoreError::Invalid("rolled back".into()))
        });
        assert!(failed.is_err());
        store
            .write(|conn| {
                conn.execute("INSERT INTO shifts (officer, start_ms) VALUES ('p1', 10)", [])?;
                conn.execute("UPDATE shifts SET end_ms = 20 WHERE officer = 'p1'", [])?;
                Ok(())
            })
            .unwrap();
        let batch = store.read(|conn| next_batch(conn, 10)).unwrap();
        let kinds: Vec<&str> = batch.iter().map(|q| q.kind.as_str()).collect();
        assert_eq!(kinds, ["read", "shift", "shift"]);
        assert!(matches!(&batch[0].record, Record::Read(r) if r.id == id && r.plate == "ABC123"));
        assert!(matches!(&batch[2].record, Record::Shift(s) if s.end_ms == Some(20)));
        let first = batch[0].seq;
        store.write(move |conn| mark_sent(conn, first)).unwrap();
        let left = store.read(backlog).unwrap();
        assert_eq!(left.rows, 2);
        assert_eq!(left.by_kind, vec![("shift".to_owned(), 2)]);
        // A sequence number is never reused, even after the newest rows are deleted.
        let last = batch[2].seq;
        store.write(move |conn| mark_sent(conn, last)).unwrap();
        read("XYZ789");
        let next = store.read(|conn| next_batch(conn, 10)).unwrap();
        assert_eq!(next.len(), 1);
        assert!(next[0].seq > last);
        // A read purged before it was sent is dropped, not an error.
        store.write(|conn| Ok(conn.execute("DELETE FROM reads WHERE plate = 'XYZ789'", [])?)).unwrap();
        assert_eq!(store.read(|conn| next_batch(conn, 10)).unwrap()[0].record, Record::Gone);
        store.write(leave).unwrap();
        read("AFTER1");
        assert_eq!(store.read(backlog).unwrap().rows, 1, "left: queues no more, keeps what was queued");
    }

    #[test]
    fn a_case_hold_is_queued_when_placed_and_again_when_released() {
        let (_dir, store) = temp_store();
        let joined =
            Joined { car_id: "unit-7".into(), office: "host=x".into(), joined_by: "admin".into(), joined_ms: 5 };
        store.write(move |conn| join(conn, &joined)).unwrap();
        store.write(|conn| mark_sent(conn, i64::MAX)).unwrap();
        store
            .write(|conn| {
                conn.execute(
                    "INSERT INTO reads (time_ms, camera, plate, confidence) VALUES (1000, 'front', 'H1', 0.9)",
                    [],
                )?;
                let read = conn.last_insert_rowid();
                crate::store::records::place_hold(conn, read, "C-1", "s1", 2000)?;
                crate::store::records::release_holds(conn, "C-1", 3000)?;
                // Releasing a case again changes nothing and queues nothing.
                crate::store::records::release_holds(conn, "C-1", 4000)?;
                Ok(())
            })
            .unwrap();
        let batch = store.read(|conn| next_batch(conn, 10)).unwrap();
        let kinds: Vec<&str> = batch.iter().map(|q| q.kind.as_str()).collect();
        assert_eq!(kinds, ["read", "hold", "hold"]);
        // Read when sent: both events carry the hold as it is now, and the newest decides.
        assert!(matches!(&batch[2].record,
            Record::Hold(h) if h.case_number == "C-1" && h.placed_by == "s1" && h.released_ms == Some(3000)));
    }
}
