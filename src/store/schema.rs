//! The database schema as numbered migrations, applied in order and recorded in
//! `PRAGMA user_version`, so an older database is brought forward on open and a newer one
//! (from a later program version) is refused rather than misread.

use rusqlite::Connection;

use super::StoreError;

/// Migration `n` (1-based) is `MIGRATIONS[n - 1]`. Never edit a shipped migration: add one.
const MIGRATIONS: &[&str] = &[
    // 1: the initial schema. Times are UTC Unix milliseconds (`*_ms`) so ranges and the
    // retention purge use integer index scans; the audit log keeps RFC 3339 text because the
    // text is what its hash covers.
    r#"
CREATE TABLE audit_log (
    seq          INTEGER PRIMARY KEY,
    time         TEXT NOT NULL,
    user         TEXT NOT NULL,
    organization TEXT NOT NULL,
    action       TEXT NOT NULL,
    object       TEXT NOT NULL,
    purpose      TEXT,
    case_number  TEXT,
    outcome      TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
CREATE INDEX audit_log_action_time ON audit_log(action, time);
-- Append-only: the program never updates or deletes audit rows. The hash chain catches
-- anyone who drops these triggers and edits the file anyway.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

CREATE TABLE reads (
    id          INTEGER PRIMARY KEY,
    time_ms     INTEGER NOT NULL,
    camera      TEXT NOT NULL,
    officer     TEXT,
    plate       TEXT NOT NULL,
    confidence  REAL NOT NULL,
    candidates  TEXT NOT NULL DEFAULT '[]',
    state       TEXT,
    lat         REAL,
    lon         REAL,
    crop_png    BLOB,
    protected   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX reads_time ON reads(time_ms);
CREATE INDEX reads_plate ON reads(plate);
CREATE INDEX reads_officer_time ON reads(officer, time_ms);

CREATE TABLE hits (
    id                INTEGER PRIMARY KEY,
    read_id           INTEGER,
    plate             TEXT NOT NULL,
    list              TEXT NOT NULL,
    priority          INTEGER NOT NULL DEFAULT 0,
    state             TEXT NOT NULL,
    officer           TEXT,
    raised_ms         INTEGER NOT NULL,
    acknowledged_ms   INTEGER,
    verified_ms       INTEGER,
    confirmed_ms      INTEGER,
    actionable_ms     INTEGER,
    closed_ms         INTEGER,
    dispatcher_id     TEXT,
    incident_number   TEXT,
    result            TEXT,
    exigent           INTEGER NOT NULL DEFAULT 0,
    disposition       TEXT,
    time_to_ack_ms    INTEGER
);
CREATE INDEX hits_read ON hits(read_id);
CREATE INDEX hits_officer_raised ON hits(officer, raised_ms);
CREATE INDEX hits_raised ON hits(raised_ms);

CREATE TABLE hit_events (
    id         INTEGER PRIMARY KEY,
    hit_id     INTEGER NOT NULL,
    time_ms    INTEGER NOT NULL,
    user       TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX hit_events_hit ON hit_events(hit_id);

CREATE TABLE users (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    role             TEXT NOT NULL,
    organization     TEXT NOT NULL,
    pin_hash         TEXT NOT NULL,
    status           TEXT NOT NULL,
    status_reason    TEXT NOT NULL DEFAULT '',
    trained_on       TEXT,
    certified_until  TEXT,
    failed_attempts  INTEGER NOT NULL DEFAULT 0,
    last_activity_ms INTEGER,
    created_ms       INTEGER NOT NULL
);

CREATE TABLE shifts (
    id        INTEGER PRIMARY KEY,
    officer   TEXT NOT NULL,
    start_ms  INTEGER NOT NULL,
    end_ms    INTEGER
);
CREATE INDEX shifts_start ON shifts(start_ms);

CREATE TABLE activations (
    id                INTEGER PRIMARY KEY,
    shift_id          INTEGER NOT NULL,
    start_ms          INTEGER NOT NULL,
    end_ms            INTEGER,
    deactivate_reason TEXT
);
CREATE INDEX activations_shift ON activations(shift_id);

CREATE TABLE camera_downtime (
    id        INTEGER PRIMARY KEY,
    shift_id  INTEGER NOT NULL,
    camera    TEXT NOT NULL,
    start_ms  INTEGER NOT NULL,
    end_ms    INTEGER,
    reason    TEXT NOT NULL
);
CREATE INDEX camera_downtime_shift ON camera_downtime(shift_id);

CREATE TABLE checklists (
    id        INTEGER PRIMARY KEY,
    shift_id  INTEGER NOT NULL,
    officer   TEXT NOT NULL,
    camera    TEXT NOT NULL,
    time_ms   INTEGER NOT NULL,
    passed    INTEGER NOT NULL,
    items     TEXT NOT NULL,
    note      TEXT NOT NULL DEFAULT ''
);

CREATE TABLE equipment_reports (
    id           INTEGER PRIMARY KEY,
    officer      TEXT NOT NULL,
    camera       TEXT NOT NULL,
    time_ms      INTEGER NOT NULL,
    description  TEXT NOT NULL,
    resolved_ms  INTEGER
);

CREATE TABLE holds (
    id           INTEGER PRIMARY KEY,
    read_id      INTEGER NOT NULL,
    case_number  TEXT NOT NULL,
    placed_by    TEXT NOT NULL,
    time_ms      INTEGER NOT NULL,
    released_ms  INTEGER
);
CREATE INDEX holds_read ON holds(read_id);

CREATE TABLE exports (
    id            INTEGER PRIMARY KEY,
    time_ms       INTEGER NOT NULL,
    user          TEXT NOT NULL,
    agency        TEXT NOT NULL,
    agency_state  TEXT NOT NULL,
    agency_kind   TEXT NOT NULL,
    purpose       TEXT NOT NULL,
    case_number   TEXT NOT NULL,
    from_ms       INTEGER NOT NULL,
    to_ms         INTEGER NOT NULL,
    rows          INTEGER NOT NULL,
    out_dir       TEXT NOT NULL
);

CREATE TABLE audit_samples (
    id          INTEGER PRIMARY KEY,
    time_ms     INTEGER NOT NULL,
    supervisor  TEXT NOT NULL,
    from_ms     INTEGER NOT NULL,
    to_ms       INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    seed        INTEGER NOT NULL,
    population  INTEGER NOT NULL
);

CREATE TABLE audit_sample_items (
    sample_id    INTEGER NOT NULL,
    item_no      INTEGER NOT NULL,
    audit_seq    INTEGER NOT NULL,
    summary      TEXT NOT NULL,
    verdict      TEXT,
    note         TEXT,
    reviewed_by  TEXT,
    reviewed_ms  INTEGER,
    PRIMARY KEY (sample_id, item_no)
);
"#,
    // 2: the ALPR Administrator's settings (camera sources, hot-list sources and key,
    // retention), kept here rather than in the settings file so that each change is
    // encrypted at rest and committed with its audit row. A row overrides the file's value.
    r#"
CREATE TABLE admin_settings (
    key     TEXT PRIMARY KEY,
    value   TEXT NOT NULL,
    set_by  TEXT NOT NULL,
    set_ms  INTEGER NOT NULL
);
"#,
    // 3: every signed hot list the console accepted, so the newest is known apart from the
    // hot-list cache (whose state file can be deleted or restored to let an old list back in).
    r#"
CREATE TABLE hotlist_accepted (
    seq          INTEGER PRIMARY KEY,
    version      TEXT NOT NULL,
    created_ms   INTEGER NOT NULL,
    accepted_by  TEXT NOT NULL,
    accepted_ms  INTEGER NOT NULL
);
"#,
    // 4: facts about the store itself, set once: `kind` is `demo` for a store created under
    // the DEMO key and `production` for any other, and never changes.
    r#"
CREATE TABLE store_info (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
"#,
    // 5: signed checkpoints of the audit chain's head (see store/anchors.rs). The line is the
    // anchor exactly as signed and as the supervisor carried it off the car.
    r#"
CREATE TABLE audit_anchors (
    id    INTEGER PRIMARY KEY,
    seq   INTEGER NOT NULL,
    line  TEXT NOT NULL UNIQUE
);
"#,
    // 6: a supervisor's review of each hit acted on under exigent circumstances (the policy
    // flags every one for review); one review per hit.
    r#"
CREATE TABLE exigent_reviews (
    hit_id     INTEGER PRIMARY KEY,
    reviewer   TEXT NOT NULL,
    verdict    TEXT NOT NULL,
    note       TEXT NOT NULL,
    time_ms    INTEGER NOT NULL
);
"#,
    // 7: the rest of each read's position (lat and lon were there from the start): the
    // receiver's accuracy, the car's speed and heading, and the fix's own time, so that a read
    // says how good and how fresh its place was.
    r#"
ALTER TABLE reads ADD COLUMN gps_accuracy_m REAL;
ALTER TABLE reads ADD COLUMN gps_speed_mps REAL;
ALTER TABLE reads ADD COLUMN gps_heading_deg REAL;
ALTER TABLE reads ADD COLUMN gps_fix_ms INTEGER;
"#,
    // 8: where the car went while ALPR was active, a point every few seconds, for the
    // supervisors' distance patrolled; purged with the reads.
    r#"
CREATE TABLE patrol_track (
    shift_id  INTEGER NOT NULL,
    time_ms   INTEGER NOT NULL,
    lat       REAL NOT NULL,
    lon       REAL NOT NULL,
    PRIMARY KEY (shift_id, time_ms)
);
CREATE INDEX patrol_track_time ON patrol_track(time_ms);
"#,
    // 9: the fleet outbox (store and forward, docs/fleet.md). Once an administrator has joined
    // the car to an office (`fleet_state` holds its car id), every record the car commits is
    // also queued here by a trigger, inside the same transaction as the record itself: no code
    // path can commit a record and forget to queue it. AUTOINCREMENT: a sequence number is
    // never reused after sent rows are deleted, because the office stores each (car, seq) once.
    // Shifts are queued again when they end (the office keeps one row per event).
    r#"
CREATE TABLE fleet_state (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
CREATE TABLE fleet_outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    row_id     INTEGER NOT NULL,
    queued_ms  INTEGER NOT NULL
);
CREATE TRIGGER fleet_queue_read AFTER INSERT ON reads
WHEN EXISTS (SELECT 1 FROM fleet_state WHERE key = 'car_id')
BEGIN INSERT INTO fleet_outbox (kind, row_id, queued_ms)
      VALUES ('read', NEW.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)); END;
CREATE TRIGGER fleet_queue_audit AFTER INSERT ON audit_log
WHEN EXISTS (SELECT 1 FROM fleet_state WHERE key = 'car_id')
BEGIN INSERT INTO fleet_outbox (kind, row_id, queued_ms)
      VALUES ('audit', NEW.seq, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)); END;
CREATE TRIGGER fleet_queue_hit AFTER INSERT ON hits
WHEN EXISTS (SELECT 1 FROM fleet_state WHERE key = 'car_id')
BEGIN INSERT INTO fleet_outbox (kind, row_id, queued_ms)
      VALUES ('hit', NEW.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)); END;
CREATE TRIGGER fleet_queue_hit_event AFTER INSERT ON hit_events
WHEN EXISTS (SELECT 1 FROM fleet_state WHERE key = 'car_id')
BEGIN INSERT INTO fleet_outbox (kind, row_id, queued_ms)
      VALUES ('hit_event', NEW.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)); END;
CREATE TRIGGER fleet_queue_shift AFTER INSERT ON shifts
WHEN EXISTS (SELECT 1 FROM fleet_state WHERE key = 'car_id')
BEGIN INSERT INTO fleet_outbox (kind, row_id, queued_ms)
      VALUES ('shift', NEW.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)); END;
CREATE TRIGGER fleet_queue_shift_end AFTER UPDATE OF end_ms ON shifts
WHEN NEW.end_ms IS NOT NULL AND EXISTS (SELECT 1 FROM fleet_state WHERE key = 'car_id')
BEGIN INSERT INTO fleet_outbox (kind, row_id, queued_ms)
      VALUES ('shift', NEW.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)); END;
CREATE TRIGGER fleet_queue_checklist AFTER INSERT ON checklists
WHEN EXISTS (SELECT 1 FROM fleet_state WHERE key = 'car_id')
BEGIN INSERT INTO fleet_outbox (kind, row_id, queued_ms)
      VALUES ('checklist', NEW.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)); END;
CREATE TRIGGER fleet_queue_equipment AFTER INSERT ON equipment_reports
WHEN EXISTS (SELECT 1 FROM fleet_state WHERE key = 'car_id')
BEGIN INSERT INTO fleet_outbox (kind, row_id, queued_ms)
      VALUES ('equipment_report', NEW.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)); END;
"#,
    // 10: case holds go to the office too, so its retention purge keeps what the car keeps
    // (docs/fleet.md, "Retention"). A hold is queued when placed and again when released. A car
    // joined before this migration queues the holds it already has, once.
    r#"
CREATE TRIGGER fleet_queue_hold AFTER INSERT ON holds
WHEN EXISTS (SELECT 1 FROM fleet_state WHERE key = 'car_id')
BEGIN INSERT INTO fleet_outbox (kind, row_id, queued_ms)
      VALUES ('hold', NEW.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)); END;
CREATE TRIGGER fleet_queue_hold_release AFTER UPDATE OF released_ms ON holds
WHEN NEW.released_ms IS NOT NULL AND OLD.released_ms IS NULL
     AND EXISTS (SELECT 1 FROM fleet_state WHERE key = 'car_id')
BEGIN INSERT INTO fleet_outbox (kind, row_id, queued_ms)
      VALUES ('hold', NEW.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)); END;
INSERT INTO fleet_outbox (kind, row_id, queued_ms)
SELECT 'hold', id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) FROM holds
WHERE EXISTS (SELECT 1 FROM fleet_state WHERE key = 'car_id') ORDER BY id;
"#,
];

/// The schema version this program writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings the database up to [`SCHEMA_VERSION`], one transaction per migration.
pub fn migrate(conn: &mut Connection) -> Result<u32, StoreError> {
    let current: u32 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew { found: current, supported: SCHEMA_VERSION });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as u32 + 1)?;
        tx.commit()?;
    }
    Ok(SCHEMA_VERSION)
}
