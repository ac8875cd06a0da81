//! The hot lists this console accepted, kept in the encrypted database: the newest of them is
//! the floor below which no signed list is taken again, whatever the hot-list cache says.

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{OptionalExtension, params};

use super::Store;
use crate::audit::AuditError;
use crate::hotlist::update::{AcceptedList, ListHistory};

fn to_time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

impl ListHistory for Store {
    fn newest_accepted(&self) -> Result<Option<AcceptedList>, AuditError> {
        self.read(|conn| {
            let row = conn
                .query_row(
                    "SELECT version, created_ms, accepted_by, accepted_ms FROM hotlist_accepted \
                     ORDER BY created_ms DESC, seq DESC LIMIT 1",
                    [],
                    |row| {
                        Ok(AcceptedList {
                            version: row.get(0)?,
                            created: to_time(row.get(1)?),
                            accepted_by: row.get(2)?,
                            accepted_at: to_time(row.get(3)?),
                        })
                    },
                )
                .optional()?;
            Ok(row)
        })
        .map_err(|err| AuditError(err.to_string()))
    }

    fn record_accepted(&self, list: &AcceptedList) -> Result<(), AuditError> {
        let list = list.clone();
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO hotlist_accepted (version, created_ms, accepted_by, accepted_ms) VALUES (?1, ?2, ?3, ?4)",
                params![
                    list.version,
                    list.created.timestamp_millis(),
                    list.accepted_by,
                    list.accepted_at.timestamp_millis()
                ],
            )?;
            Ok(())
        })
        .map_err(|err| AuditError(err.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::temp_store;

    #[test]
    fn the_newest_by_creation_time_is_the_floor_and_survives_a_reopen() {
        let (dir, store) = temp_store();
        assert_eq!(store.newest_accepted().unwrap(), None);
        let at = |h: i64| Utc.timestamp_millis_opt(1_800_000_000_000 + h * 3_600_000).single().unwrap();
        let list = |v: &str, h: i64| AcceptedList {
            version: v.into(),
            created: at(h),
            accepted_by: "o1".into(),
            accepted_at: at(h + 1),
        };
        store.record_accepted(&list("v2", 2)).unwrap();
        // Recorded later but created earlier (it cannot happen through an update, which
        // refuses it; the floor still holds).
        store.record_accepted(&list("v1", 1)).unwrap();
        assert_eq!(store.newest_accepted().unwrap(), Some(list("v2", 2)));
        let keys = store.keys().clone();
        drop(store);
        let reopened = Store::open(dir.path(), keys, "Test PD").unwrap();
        assert_eq!(reopened.newest_accepted().unwrap().map(|l| l.version), Some("v2".into()));
    }
}
