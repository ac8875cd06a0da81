//! The `users` table: rows in and rows out, inside the caller's transaction. What a row means
//! (roles, statuses, who may log on, who may change what) is `session::users`; this file only
//! knows the columns, so the SQL stays in the store and the rules stay testable on their own.

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
use super::audit_log::append;
use crate::audit::AuditEvent;

/// One account as stored. Roles, statuses and dates are the stored text: the session layer
/// parses them and refuses a row it cannot read rather than guess.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    /// Lower-case id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role name.
    pub role: String,
    /// Agency.
    pub organization: String,
    /// Status name.
    pub status: String,
    /// Why the status was set.
    pub status_reason: String,
    /// Training date, `YYYY-MM-DD`.
    pub trained_on: Option<String>,
    /// Certification end, `YYYY-MM-DD`.
    pub certified_until: Option<String>,
    /// Wrong PINs since the last right one.
    pub failed_attempts: i64,
    /// Last log-on or reactivation, ms since the epoch.
    pub last_activity_ms: Option<i64>,
    /// The PIN's argon2id PHC string.
    pub pin_hash: String,
}

/// A new account's row.
#[derive(Debug, Clone)]
pub struct NewUserRow<'a> {
    /// Lower-case id.
    pub id: &'a str,
    /// Display name.
    pub name: &'a str,
    /// Role name.
    pub role: &'a str,
    /// Agency.
    pub organization: &'a str,
    /// The PIN's hash.
    pub pin_hash: &'a str,
    /// Training date, `YYYY-MM-DD`.
    pub trained_on: Option<String>,
    /// Certification end, `YYYY-MM-DD`.
    pub certified_until: Option<String>,
    /// Creation time (also the start of the inactivity clock), ms.
    pub created_ms: i64,
}

const COLUMNS: &str = "id, name, role, organization, status, status_reason, trained_on, certified_until, failed_attempts, last_activity_ms, pin_hash";

fn row(row: &rusqlite::Row<'_>) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        id: row.get(0)?,
        name: row.get(1)?,
        role: row.get(2)?,
        organization: row.get(3)?,
        status: row.get(4)?,
        status_reason: row.get(5)?,
        trained_on: row.get(6)?,
        certified_until: row.get(7)?,
        failed_attempts: row.get(8)?,
        last_activity_ms: row.get(9)?,
        pin_hash: row.get(10)?,
    })
}

/// The users table within one read or one write transaction of the store.
#[derive(Clone, Copy)]
pub struct UserTable<'c> {
    conn: &'c Connection,
}

impl std::fmt::Debug for UserTable<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserTable")
    }
}

impl<'c> UserTable<'c> {
    /// The table seen through `conn` (inside `Store::read` or `Store::write`).
    pub fn new(conn: &'c Connection) -> Self {
        Self { conn }
    }

    /// One account.
    pub fn get(&self, id: &str) -> Result<Option<UserRow>, StoreError> {
        Ok(self.conn.query_row(&format!("SELECT {COLUMNS} FROM users WHERE id = ?1"), [id], row).optional()?)
    }

    /// Every account, by id; `active_only` keeps the active ones.
    pub fn all(&self, active_only: bool) -> Result<Vec<UserRow>, StoreError> {
        let filter = if active_only { "WHERE status = 'active'" } else { "" };
        let mut stmt = self.conn.prepare(&format!("SELECT {COLUMNS} FROM users {filter} ORDER BY id"))?;
        let rows = stmt.query_map([], row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// How many accounts exist.
    pub fn count(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?)
    }

    /// How many administrators are active.
    pub fn active_administrators(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM users WHERE role = 'administrator' AND status = 'active'",
            [],
            |r| r.get(0),
        )?)
    }

    /// Counts one more PIN attempt for an account not locked and still under `limit`
    /// failures, in one statement (atomic across connections and processes); the new count,
    /// or `None` when the account is locked or has no attempt left.
    pub fn reserve_attempt(&self, id: &str, limit: u32) -> Result<Option<u32>, StoreError> {
        let count: Option<i64> = self
            .conn
            .query_row(
                "UPDATE users SET failed_attempts = failed_attempts + 1 \
                 WHERE id = ?1 AND status != 'locked' AND failed_attempts < ?2 RETURNING failed_attempts",
                params![id, limit],
                |row| row.get(0),
            )
            .optional()?;
        Ok(count.map(|n| n.clamp(0, i64::from(u32::MAX)) as u32))
    }

    /// Gives the PIN attempts back (a right PIN); with `activity_ms`, also restarts the
    /// inactivity clock (a log-on).
    pub fn clear_attempts(&self, id: &str, activity_ms: Option<i64>) -> Result<(), StoreError> {
        match activity_ms {
            Some(ms) => self.conn.execute(
                "UPDATE users SET failed_attempts = 0, last_activity_ms = ?2 WHERE id = ?1",
                params![id, ms],
            )?,
            None => self.conn.execute("UPDATE users SET failed_attempts = 0 WHERE id = ?1", [id])?,
        };
        Ok(())
    }

    /// Sets an account's status and why.
    pub fn set_status(&self, id: &str, status: &str, reason: &str) -> Result<(), StoreError> {
        self.conn
            .execute("UPDATE users SET status = ?2, status_reason = ?3 WHERE id = ?1", params![id, status, reason])?;
        Ok(())
    }

    /// Makes an account active again with no failures, restarting its inactivity clock.
    pub fn reactivate(&self, id: &str, activity_ms: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE users SET status = 'active', status_reason = '', failed_attempts = 0, last_activity_ms = ?2 WHERE id = ?1",
            params![id, activity_ms],
        )?;
        Ok(())
    }

    /// Records training and certification dates (`YYYY-MM-DD`).
    pub fn set_certification(&self, id: &str, trained_on: &str, certified_until: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE users SET trained_on = ?2, certified_until = ?3 WHERE id = ?1",
            params![id, trained_on, certified_until],
        )?;
        Ok(())
    }

    /// Replaces the PIN hash, clears the failures and sets the status.
    pub fn set_pin(&self, id: &str, pin_hash: &str, status: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE users SET pin_hash = ?2, failed_attempts = 0, status = ?3 WHERE id = ?1",
            params![id, pin_hash, status],
        )?;
        Ok(())
    }

    /// Adds an active account.
    pub fn insert(&self, new: &NewUserRow<'_>) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO users (id, name, role, organization, pin_hash, status, trained_on, certified_until, last_activity_ms, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, 'active', ?6, ?7, ?8, ?8)",
            params![
                new.id,
                new.name,
                new.role,
                new.organization,
                new.pin_hash,
                new.trained_on,
                new.certified_until,
                new.created_ms
            ],
        )?;
        Ok(())
    }

    /// Takes an account as the office publishes it (`fleet/pull.rs`): created if new, else
    /// its name, role, agency, PIN hash, status and certification replaced; the car's own
    /// failure count and activity clock are kept. Returns what the row was before.
    pub fn apply_office(&self, office: &UserRow, now_ms: i64) -> Result<Option<UserRow>, StoreError> {
        let before = self.get(&office.id)?;
        self.conn.execute(
            "INSERT INTO users (id, name, role, organization, pin_hash, status, status_reason, trained_on, certified_until, last_activity_ms, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role, organization = excluded.organization,
                 pin_hash = excluded.pin_hash, status = excluded.status, status_reason = excluded.status_reason,
                 trained_on = excluded.trained_on, certified_until = excluded.certified_until",
            params![
                office.id,
                office.name,
                office.role,
                office.organization,
                office.pin_hash,
                office.status,
                office.status_reason,
                office.trained_on,
                office.certified_until,
                now_ms
            ],
        )?;
        Ok(before)
    }

    /// Appends an audit row in the same transaction as the change it records.
    pub fn audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        append(self.conn, event).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::temp_store;

    fn new_row(id: &str) -> NewUserRow<'_> {
        NewUserRow {
            id,
            name: "Name",
            role: "officer",
            organization: "Test PD",
            pin_hash: "hash",
            trained_on: Some("2026-01-01".into()),
            certified_until: None,
            created_ms: 1_000,
        }
    }

    #[test]
    fn attempts_are_reserved_only_under_the_limit_and_not_when_locked() {
        let (_dir, store) = temp_store();
        store.write(|conn| UserTable::new(conn).insert(&new_row("a"))).unwrap();
        let reserve = || store.write(|conn| UserTable::new(conn).reserve_attempt("a", 2)).unwrap();
        assert_eq!(reserve(), Some(1));
        assert_eq!(reserve(), Some(2));
        assert_eq!(reserve(), None, "the limit is reached");
        store.write(|conn| UserTable::new(conn).clear_attempts("a", Some(5_000))).unwrap();
        store.write(|conn| UserTable::new(conn).set_status("a", "locked", "3 wrong PINs")).unwrap();
        assert_eq!(reserve(), None, "a locked account gets no attempt");
        let row = store.read(|conn| UserTable::new(conn).get("a")).unwrap().unwrap();
        assert_eq!((row.failed_attempts, row.last_activity_ms, row.status.as_str()), (0, Some(5_000), "locked"));
        assert_eq!(row.status_reason, "3 wrong PINs");
    }

    #[test]
    fn rows_round_trip_and_count() {
        let (_dir, store) = temp_store();
        store
            .write(|conn| {
                let users = UserTable::new(conn);
                users.insert(&new_row("b"))?;
                users.insert(&NewUserRow { role: "administrator", ..new_row("a") })?;
                users.set_certification("b", "2026-02-01", "2027-02-01")?;
                users.set_pin("b", "other", "active")
            })
            .unwrap();
        let (all, active_admins, count) = store
            .read(|conn| {
                let users = UserTable::new(conn);
                Ok((users.all(false)?, users.active_administrators()?, users.count()?))
            })
            .unwrap();
        assert_eq!(all.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!((active_admins, count), (1, 2));
        assert_eq!(all[1].certified_until.as_deref(), Some("2027-02-01"));
        assert_eq!(all[1].pin_hash, "other");
        assert!(store.read(|conn| UserTable::new(conn).get("zz")).unwrap().is_none());
    }
}
