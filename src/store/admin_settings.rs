//! The `admin_settings` table and the store's "security settings seeded" mark: rows in and
//! out, inside the caller's transaction. What each setting means, who may change it and how it
//! is audited is `session::admin`; this file only knows the columns.

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
use super::audit_log::append;
use crate::audit::AuditEvent;

/// Who set a value seeded from the settings file.
pub const FROM_FILE: &str = "settings file";

/// The administrator's settings within one read or write transaction of the store.
#[derive(Clone, Copy)]
pub struct SettingsTable<'c> {
    conn: &'c Connection,
}

impl std::fmt::Debug for SettingsTable<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SettingsTable")
    }
}

impl<'c> SettingsTable<'c> {
    /// The table seen through `conn` (inside `Store::read` or `Store::write`).
    pub fn new(conn: &'c Connection) -> Self {
        Self { conn }
    }

    /// A setting's stored value (JSON text), if it has one.
    pub fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM admin_settings WHERE key = ?1", [key], |row| row.get(0))
            .optional()?)
    }

    /// Whether the store's security settings were seeded (they live in the database).
    pub fn seeded(&self) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM store_info WHERE key = 'security_settings'", [], |row| {
                row.get::<_, String>(0)
            })
            .optional()?
            .is_some())
    }

    /// Marks the security settings as seeded.
    pub fn mark_seeded(&self) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR IGNORE INTO store_info (key, value) VALUES ('security_settings', 'in the database')",
            [],
        )?;
        Ok(())
    }

    /// Stores a value from the settings file where the setting has none; true when it did.
    pub fn seed(&self, key: &str, value: &str, at_ms: i64) -> Result<bool, StoreError> {
        let inserted = self.conn.execute(
            "INSERT OR IGNORE INTO admin_settings (key, value, set_by, set_ms) VALUES (?1, ?2, ?3, ?4)",
            params![key, value, FROM_FILE, at_ms],
        )?;
        Ok(inserted > 0)
    }

    /// Sets a value (the administrator's change).
    pub fn set(&self, key: &str, value: &str, by: &str, at_ms: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO admin_settings (key, value, set_by, set_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value, set_by = excluded.set_by, set_ms = excluded.set_ms",
            params![key, value, by, at_ms],
        )?;
        Ok(())
    }

    /// The keys whose value is still the one seeded from the settings file.
    pub fn seeded_keys(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT key FROM admin_settings WHERE set_by = ?1")?;
        let keys = stmt.query_map([FROM_FILE], |row| row.get(0))?.collect::<Result<_, _>>()?;
        Ok(keys)
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

    #[test]
    fn a_seed_never_overwrites_and_a_set_does() {
        let (_dir, store) = temp_store();
        let (seeded, first, second, value, keys) = store
            .write(|conn| {
                let table = SettingsTable::new(conn);
                let was = table.seeded()?;
                let first = table.seed("retention_days", "365", 1)?;
                let second = table.seed("retention_days", "30", 2)?;
                table.mark_seeded()?;
                let keys = table.seeded_keys()?;
                table.set("retention_days", "400", "a1", 3)?;
                Ok((was, first, second, table.get("retention_days")?, keys))
            })
            .unwrap();
        assert!(!seeded);
        assert!(first && !second, "the second seed found a value");
        assert_eq!(value.as_deref(), Some("400"));
        assert_eq!(keys, ["retention_days"]);
        let (marked, after) = store
            .read(|conn| {
                let table = SettingsTable::new(conn);
                Ok((table.seeded()?, table.seeded_keys()?))
            })
            .unwrap();
        assert!(marked);
        assert!(after.is_empty(), "set by the administrator, no longer the file's");
    }
}
