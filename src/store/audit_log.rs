//! The tamper-evident audit log: an append-only table whose rows are chained by SHA-256.
//!
//! Each row's hash covers its canonical form (a JSON array of every field, in a fixed order,
//! with the sequence number and the previous row's hash), so changing any field of any row,
//! deleting a row or slipping one in breaks the chain at that row, and `verify` names it.
//! The first row's previous hash is 64 zeros.
//!
//! Times never go backwards along the chain: a row is stamped no earlier than the row before
//! it, so a clock stepped back cannot file an access before one already written, and `verify`
//! treats a backwards time as an edit. Whoever holds the database key can still rebuild the
//! whole chain; the signed anchors in [`super::anchors`] are what catches that.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::{Store, StoreError};
use crate::audit::{AuditAction, AuditError, AuditEvent, AuditSink};

/// The previous hash of the first row.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One stored audit row.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRow {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// The event.
    pub event: AuditEvent,
    /// Hash of the row before (or [`GENESIS_HASH`]).
    pub prev_hash: String,
    /// This row's hash.
    pub hash: String,
}

/// The result of checking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Every row checks out.
    Intact {
        /// Rows checked.
        rows: u64,
    },
    /// The first row that does not check out, and why.
    Broken {
        /// The sequence number at which the chain breaks.
        seq: i64,
        /// What is wrong there.
        reason: String,
    },
}

/// The stored text of an action (its serde name).
pub fn action_name(action: AuditAction) -> String {
    serde_json::to_value(action).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn parse_action(text: &str) -> Option<AuditAction> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
}

fn time_text(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The canonical text a row's hash is computed over: the stored text of every column but
/// the hash itself, so `verify` recomputes it from exactly what is on disk.
fn canonical(row: &RawRow) -> String {
    serde_json::json!([
        row.seq,
        row.time,
        row.user,
        row.organization,
        row.action,
        row.object,
        row.purpose,
        row.case_number,
        row.outcome,
        row.prev_hash
    ])
    .to_string()
}

fn digest(text: &str) -> String {
    super::key::hex(&Sha256::digest(text.as_bytes()))
}

/// Appends one event inside the caller's transaction, so a change and its audit row are
/// committed together or not at all. Returns the new sequence number.
pub fn append(conn: &Connection, event: &AuditEvent) -> Result<i64, StoreError> {
    let last: Option<(i64, String, String)> = conn
        .query_row("SELECT seq, hash, time FROM audit_log ORDER BY seq DESC LIMIT 1", [], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()?;
    let row = chained(last, event);
    let seq = row.seq;
    conn.execute(
        "INSERT INTO audit_log (seq, time, user, organization, action, object, purpose, case_number, outcome, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            row.seq,
            row.time,
            row.user,
            row.organization,
            row.action,
            row.object,
            row.purpose,
            row.case_number,
            row.outcome,
            row.prev_hash,
            row.hash
        ],
    )?;
    Ok(seq)
}

/// The row that follows `last` (its seq, hash and stored time; `None` for the first row) in
/// a chain, with its hash. The car's log and the office's own log (`fleet::office`) are
/// chained by this one function, so one `verify_chain` checks both.
pub fn chained(last: Option<(i64, String, String)>, event: &AuditEvent) -> RawRow {
    // Stored time is truncated to microseconds; hash the text that is stored. The fixed-width
    // RFC 3339 text in UTC orders as the times do, so the later of two is the greater text.
    let mut time = time_text(&event.time);
    let (seq, prev_hash) = match last {
        Some((seq, hash, last_time)) => {
            if last_time > time {
                time = last_time;
            }
            (seq + 1, hash)
        }
        None => (1, GENESIS_HASH.to_owned()),
    };
    let mut row = RawRow {
        seq,
        time,
        user: event.user.clone(),
        organization: event.organization.clone(),
        action: action_name(event.action),
        object: event.object.clone(),
        purpose: event.purpose.clone(),
        case_number: event.case_number.clone(),
        outcome: event.outcome.clone(),
        prev_hash,
        hash: String::new(),
    };
    row.hash = digest(&canonical(&row));
    row
}

/// Raw column values of one row, before they are checked: what the hash covers, exactly as
/// stored. The fleet outbox sends rows in this form, so the office verifies the same chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRow {
    /// Position in the chain.
    pub seq: i64,
    /// The time text the hash covers.
    pub time: String,
    /// User.
    pub user: String,
    /// Organization.
    pub organization: String,
    /// Action, as stored.
    pub action: String,
    /// Object.
    pub object: String,
    /// Purpose.
    pub purpose: Option<String>,
    /// Case number.
    pub case_number: Option<String>,
    /// Outcome.
    pub outcome: String,
    /// The previous row's hash.
    pub prev_hash: String,
    /// This row's hash.
    pub hash: String,
}

pub(crate) const SELECT_ROWS: &str = "SELECT seq, time, user, organization, action, object, purpose, case_number, outcome, prev_hash, hash FROM audit_log";

/// Reads one row selected with the columns of `SELECT_ROWS`, in that order.
pub(crate) fn raw_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        seq: row.get(0)?,
        time: row.get(1)?,
        user: row.get(2)?,
        organization: row.get(3)?,
        action: row.get(4)?,
        object: row.get(5)?,
        purpose: row.get(6)?,
        case_number: row.get(7)?,
        outcome: row.get(8)?,
        prev_hash: row.get(9)?,
        hash: row.get(10)?,
    })
}

impl RawRow {
    fn event_with(&self, action: AuditAction, time: DateTime<Utc>) -> AuditEvent {
        AuditEvent {
            time,
            user: self.user.clone(),
            organization: self.organization.clone(),
            action,
            object: self.object.clone(),
            purpose: self.purpose.clone(),
            case_number: self.case_number.clone(),
            outcome: self.outcome.clone(),
        }
    }

    fn into_row(self) -> Result<AuditRow, StoreError> {
        let action = parse_action(&self.action)
            .ok_or_else(|| StoreError::Corrupt(format!("audit row {}: unknown action {:?}", self.seq, self.action)))?;
        let time = DateTime::parse_from_rfc3339(&self.time)
            .map_err(|err| StoreError::Corrupt(format!("audit row {}: time {:?}: {err}", self.seq, self.time)))?
            .with_timezone(&Utc);
        let event = self.event_with(action, time);
        Ok(AuditRow { seq: self.seq, event, prev_hash: self.prev_hash, hash: self.hash })
    }
}

/// Checks the whole chain, from the first row, and stops at the first broken row.
pub fn verify(conn: &Connection) -> Result<Verification, StoreError> {
    let mut stmt = conn.prepare(&format!("{SELECT_ROWS} ORDER BY seq"))?;
    let rows = stmt.query_map([], raw_row)?;
    Ok(verify_chain(rows)?)
}

/// Checks a chain given in sequence order from its first row: sequence without gaps from 1,
/// each row linked to the one before, each hash over its own stored text, times never going
/// back. The car's own log and the office's copy of it (`fleet status`) are checked
/// by this one function.
pub fn verify_chain<E>(rows: impl IntoIterator<Item = Result<RawRow, E>>) -> Result<Verification, E> {
    let mut prev_hash = GENESIS_HASH.to_owned();
    let mut prev_time = String::new();
    let mut count = 0u64;
    for (expected_seq, raw) in (1i64..).zip(rows) {
        let raw = raw?;
        let broken = |reason: String| Ok(Verification::Broken { seq: expected_seq.min(raw.seq), reason });
        if raw.seq != expected_seq {
            return broken(if raw.seq > expected_seq {
                format!("row {expected_seq} is missing (next row is {})", raw.seq)
            } else {
                format!("row {} is out of order", raw.seq)
            });
        }
        if raw.prev_hash != prev_hash {
            return broken(format!("row {}: previous hash does not match row {}", raw.seq, raw.seq - 1));
        }
        // Recompute over the stored text exactly, so an unknown action or a reformatted time
        // shows as a hash mismatch rather than an error.
        let computed = digest(&canonical(&raw));
        if computed != raw.hash {
            return broken(format!("row {}: contents do not match its hash (altered)", raw.seq));
        }
        if raw.time < prev_time {
            return broken(format!(
                "row {}: its time {} is before row {}'s {} (the log never writes that: rebuilt)",
                raw.seq,
                raw.time,
                raw.seq - 1,
                prev_time
            ));
        }
        prev_time = raw.time;
        prev_hash = raw.hash;
        count += 1;
    }
    Ok(Verification::Intact { rows: count })
}

/// The newest row of the chain: what a usage report prints and an anchor signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHead {
    /// Its sequence number (0 for an empty log).
    pub seq: i64,
    /// Its hash ([`GENESIS_HASH`] for an empty log).
    pub hash: String,
}

impl AuditHead {
    /// How a report prints it, and `audit verify --head` takes it back: `SEQ:HASH`.
    pub fn token(&self) -> String {
        format!("{}:{}", self.seq, self.hash)
    }

    /// Parses [`AuditHead::token`]'s form.
    pub fn parse(text: &str) -> Option<Self> {
        let (seq, hash) = text.trim().split_once(':')?;
        let seq = seq.trim().parse().ok().filter(|s: &i64| *s >= 0)?;
        let hash = hash.trim().to_ascii_lowercase();
        (hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit())).then_some(Self { seq, hash })
    }
}

/// The head of the chain, or of a prefix of it: the row `seq` (the newest row when `None`).
pub fn head(conn: &Connection, seq: Option<i64>) -> Result<Option<AuditHead>, StoreError> {
    let found = match seq {
        Some(0) => return Ok(Some(AuditHead { seq: 0, hash: GENESIS_HASH.to_owned() })),
        Some(seq) => conn.query_row("SELECT seq, hash FROM audit_log WHERE seq = ?1", [seq], |r| {
            Ok(AuditHead { seq: r.get(0)?, hash: r.get(1)? })
        }),
        None => conn.query_row("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", [], |r| {
            Ok(AuditHead { seq: r.get(0)?, hash: r.get(1)? })
        }),
    };
    match found.optional()? {
        None if seq.is_none() => Ok(Some(AuditHead { seq: 0, hash: GENESIS_HASH.to_owned() })),
        other => Ok(other),
    }
}

/// Rows with `from <= time < to`, optionally only some actions, in sequence order.
pub fn rows_between(
    conn: &Connection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    actions: &[AuditAction],
) -> Result<Vec<AuditRow>, StoreError> {
    let mut stmt = conn.prepare(&format!("{SELECT_ROWS} WHERE time >= ?1 AND time < ?2 ORDER BY seq"))?;
    let names: Vec<String> = actions.iter().map(|a| action_name(*a)).collect();
    let mut out = Vec::new();
    let mut rows = stmt.query(params![time_text(&from), time_text(&to)])?;
    while let Some(row) = rows.next()? {
        let raw = raw_row(row)?;
        if names.is_empty() || names.contains(&raw.action) {
            out.push(raw.into_row()?);
        }
    }
    Ok(out)
}

/// One row by sequence number.
pub fn row(conn: &Connection, seq: i64) -> Result<Option<AuditRow>, StoreError> {
    let raw = conn.query_row(&format!("{SELECT_ROWS} WHERE seq = ?1"), [seq], raw_row).optional()?;
    raw.map(RawRow::into_row).transpose()
}

impl Store {
    /// Appends one audit event on its own and waits until it is committed.
    pub fn audit(&self, event: AuditEvent) -> Result<i64, StoreError> {
        self.write(move |conn| append(conn, &event))
    }

    /// Checks the chain (on the read connection, so it sees every committed row).
    pub fn verify_audit_log(&self) -> Result<Verification, StoreError> {
        self.read(verify)
    }

    /// The newest row's sequence number and hash.
    pub fn audit_head(&self) -> Result<AuditHead, StoreError> {
        self.read(|conn| head(conn, None))
            .map(|head| head.unwrap_or_else(|| AuditHead { seq: 0, hash: GENESIS_HASH.into() }))
    }

    /// Row `seq`'s head, if the chain reaches it.
    pub fn audit_head_at(&self, seq: i64) -> Result<Option<AuditHead>, StoreError> {
        self.read(move |conn| head(conn, Some(seq)))
    }
}

impl AuditSink for Store {
    fn record(&self, event: AuditEvent) -> Result<(), AuditError> {
        self.audit(event).map(|_| ()).map_err(|err| AuditError(err.to_string()))
    }
}

#[cfg(test)]
impl Store {
    /// Test helper: how many audit rows meet an SQL condition on `audit_log`'s columns.
    pub(crate) fn count_audit_rows(&self, condition: &str) -> i64 {
        let sql = format!("SELECT count(*) FROM audit_log WHERE {condition}");
        self.read(|c| Ok(c.query_row(&sql, [], |r| r.get(0))?)).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::temp_store;

    fn fill(store: &Store, n: usize) {
        for i in 0..n {
            let event = AuditEvent::new("u1", "Test PD", AuditAction::Search, &format!("7ABC{i:03}"), "1 row")
                .with_purpose("stolen vehicle", "C-1");
            store.audit(event).unwrap();
        }
    }

    /// Runs raw SQL as an attacker would: with the key, and with the guard triggers dropped.
    fn tamper(store: &Store, sql: &'static str) {
        store
            .write(move |conn| {
                conn.execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")?;
                conn.execute_batch(sql)?;
                Ok(())
            })
            .unwrap();
    }

    fn broken_at(store: &Store) -> i64 {
        match store.verify_audit_log().unwrap() {
            Verification::Broken { seq, .. } => seq,
            Verification::Intact { rows } => panic!("still intact with {rows} rows"),
        }
    }

    #[test]
    fn intact_chain_verifies() {
        let (_dir, store) = temp_store();
        assert_eq!(store.verify_audit_log().unwrap(), Verification::Intact { rows: 0 });
        fill(&store, 10);
        assert_eq!(store.verify_audit_log().unwrap(), Verification::Intact { rows: 10 });
        let row = store.read(|c| row(c, 3)).unwrap().unwrap();
        assert_eq!(row.event.object, "7ABC002");
        assert_eq!(row.event.case_number.as_deref(), Some("C-1"));
    }

    #[test]
    fn the_program_cannot_update_or_delete() {
        let (_dir, store) = temp_store();
        fill(&store, 2);
        assert!(store.write(|c| Ok(c.execute("UPDATE audit_log SET user = 'x'", [])?)).is_err());
        assert!(store.write(|c| Ok(c.execute("DELETE FROM audit_log", [])?)).is_err());
        assert_eq!(store.verify_audit_log().unwrap(), Verification::Intact { rows: 2 });
    }

    #[test]
    fn changed_field_fails_at_that_row() {
        for sql in [
            "UPDATE audit_log SET object = '7XYZ999' WHERE seq = 5",
            "UPDATE audit_log SET purpose = 'curiosity' WHERE seq = 5",
            "UPDATE audit_log SET case_number = NULL WHERE seq = 5",
            "UPDATE audit_log SET time = '2020-01-01T00:00:00.000000Z' WHERE seq = 5",
            "UPDATE audit_log SET action = 'logoff' WHERE seq = 5",
        ] {
            let (_dir, store) = temp_store();
            fill(&store, 10);
            tamper(&store, sql);
            assert_eq!(broken_at(&store), 5, "{sql}");
        }
    }

    #[test]
    fn deleted_row_fails_at_that_row() {
        let (_dir, store) = temp_store();
        fill(&store, 10);
        tamper(&store, "DELETE FROM audit_log WHERE seq = 4");
        assert_eq!(broken_at(&store), 4);
    }

    #[test]
    fn inserted_row_fails_at_that_row() {
        let (_dir, store) = temp_store();
        fill(&store, 10);
        // Make room at seq 6 and insert a forged row that copies its neighbour's hashes.
        tamper(
            &store,
            "UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 6;
             UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1006;
             INSERT INTO audit_log SELECT 6, time, user, organization, action, '7FORGED', purpose, case_number, outcome, prev_hash, hash FROM audit_log WHERE seq = 7;",
        );
        assert_eq!(broken_at(&store), 6);
        // A row appended at the end with a made-up hash fails there too.
        let (_dir, store) = temp_store();
        fill(&store, 3);
        tamper(
            &store,
            "INSERT INTO audit_log VALUES (4, '2026-01-01T00:00:00.000000Z', 'x', 'y', 'search', 'z', NULL, NULL, 'ok', 'bad', 'bad')",
        );
        assert_eq!(broken_at(&store), 4);
    }

    #[test]
    fn time_never_goes_back_along_the_chain() {
        let (_dir, store) = temp_store();
        fill(&store, 2);
        let before = store.read(|c| row(c, 2)).unwrap().unwrap().event.time;
        // A clock stepped back an hour: the row is stamped with the previous row's time.
        let mut late = AuditEvent::new("u1", "Test PD", AuditAction::Search, "7ABC999", "ok");
        late.time = before - chrono::Duration::hours(1);
        store.audit(late).unwrap();
        assert_eq!(store.read(|c| row(c, 3)).unwrap().unwrap().event.time, before);
        assert_eq!(store.verify_audit_log().unwrap(), Verification::Intact { rows: 3 });
        // A rebuilt row with an earlier time (and a hash to match) is caught.
        let (_dir, store) = temp_store();
        fill(&store, 3);
        store
            .write(|conn| {
                conn.execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")?;
                conn.execute("DELETE FROM audit_log WHERE seq = 3", [])?;
                Ok(())
            })
            .unwrap();
        let mut back = AuditEvent::new("u1", "Test PD", AuditAction::Search, "7ABC999", "ok");
        back.time = Utc::now() - chrono::Duration::days(1);
        store
            .write(move |conn| {
                // What `append` would write without the clamp: its own hash over an earlier time.
                let prev: String = conn.query_row("SELECT hash FROM audit_log WHERE seq = 2", [], |r| r.get(0))?;
                let mut raw = RawRow {
                    seq: 3,
                    time: time_text(&back.time),
                    user: back.user.clone(),
                    organization: back.organization.clone(),
                    action: action_name(back.action),
                    object: back.object.clone(),
                    purpose: None,
                    case_number: None,
                    outcome: back.outcome.clone(),
                    prev_hash: prev,
                    hash: String::new(),
                };
                raw.hash = digest(&canonical(&raw));
                conn.execute(
                    "INSERT INTO audit_log VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, NULL, ?7, ?8, ?9)",
                    params![
                        raw.seq,
                        raw.time,
                        raw.user,
                        raw.organization,
                        raw.action,
                        raw.object,
                        raw.outcome,
                        raw.prev_hash,
                        raw.hash
                    ],
                )?;
                Ok(())
            })
            .unwrap();
        assert_eq!(broken_at(&store), 3);
        assert_eq!(store.audit_head().unwrap().seq, 3);
        assert_eq!(AuditHead::parse(&store.audit_head().unwrap().token()), Some(store.audit_head().unwrap()));
        assert_eq!(AuditHead::parse("3:xyz"), None);
    }
}
