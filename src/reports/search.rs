//! Searches of stored reads and case holds: each needs a purpose and a case number, and each
//! is written to the audit log with the plate or query terms (Civ. Code 1798.90.52).

use chrono::Utc;

use super::{ReportError, require_purpose};
use crate::audit::{AuditAction, AuditEvent};
use crate::session::{Accounts, Permission, User};
use crate::store::audit_log::append;
use crate::store::records::{READ_COLUMNS, place_hold, release_holds, stored_read};
use crate::store::{Store, StoredRead};

/// Finds stored reads of a plate (normalized first). Audited as a search with the plate,
/// purpose and case number, in the same transaction that reads the rows.
pub fn search_reads(
    store: &Store,
    accounts: &Accounts<'_>,
    actor: &User,
    plate: &str,
    purpose: &str,
    case_number: &str,
) -> Result<Vec<StoredRead>, ReportError> {
    let plate = crate::plate::normalize(plate);
    accounts.authorize(actor, Permission::SearchReads, AuditAction::Search, &plate)?;
    require_purpose(store, actor, AuditAction::Search, &plate, purpose, case_number)?;
    let event = AuditEvent::new(&actor.id, &actor.organization, AuditAction::Search, &plate, "")
        .with_purpose(purpose, case_number);
    let rows = store.write(move |conn| {
        let mut stmt = conn.prepare(&format!("SELECT {READ_COLUMNS} FROM reads WHERE plate = ?1 ORDER BY time_ms"))?;
        let rows = stmt.query_map([&plate], stored_read)?.collect::<Result<Vec<_>, _>>()?;
        append(conn, &AuditEvent { outcome: format!("{} reads shown", rows.len()), ..event })?;
        Ok(rows)
    })?;
    Ok(rows)
}

/// Protects a read from the purge for a case.
pub fn hold_read(
    store: &Store,
    accounts: &Accounts<'_>,
    actor: &User,
    read_id: i64,
    case_number: &str,
) -> Result<(), ReportError> {
    accounts.authorize(actor, Permission::PlaceHold, AuditAction::Admin, &format!("hold read {read_id}"))?;
    require_purpose(store, actor, AuditAction::Admin, &format!("hold read {read_id}"), "case hold", case_number)?;
    let event = AuditEvent::new(
        &actor.id,
        &actor.organization,
        AuditAction::Admin,
        &format!("read {read_id}"),
        "case hold placed",
    )
    .with_purpose("case hold", case_number);
    let (by, case) = (actor.id.clone(), case_number.to_owned());
    store.write(move |conn| {
        place_hold(conn, read_id, &case, &by, Utc::now().timestamp_millis())?;
        append(conn, &event)?;
        Ok(())
    })?;
    Ok(())
}

/// Releases the holds of a case; returns how many were released.
pub fn release_case(
    store: &Store,
    accounts: &Accounts<'_>,
    actor: &User,
    case_number: &str,
) -> Result<usize, ReportError> {
    accounts.authorize(actor, Permission::PlaceHold, AuditAction::Admin, &format!("release holds of {case_number}"))?;
    let event = AuditEvent::new(&actor.id, &actor.organization, AuditAction::Admin, "case holds", "")
        .with_purpose("release case hold", case_number);
    let case = case_number.to_owned();
    Ok(store.write(move |conn| {
        let released = release_holds(conn, &case, Utc::now().timestamp_millis())?;
        append(conn, &AuditEvent { outcome: format!("{released} holds released"), ..event })?;
        Ok(released)
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::testing::users;
    use crate::session::AccountRules;
    use crate::store::NewRead;
    use crate::store::testing::temp_store;

    #[test]
    fn search_is_audited_with_purpose_and_holds_need_a_supervisor() {
        let (_dir, store) = temp_store();
        let (_admin, sup, off) = users(&store);
        let accounts = Accounts::new(&store, AccountRules::default());
        let read = NewRead {
            time: Utc::now(),
            camera: "front".into(),
            officer: Some("o1".into()),
            plate: "7ABC123".into(),
            confidence: 0.9,
            candidates_json: "[]".into(),
            state: None,
            gps: None,
            crop_png: None,
        };
        let id = store.insert_read(read).unwrap();
        assert!(matches!(search_reads(&store, &accounts, &off, "7abc 123", "", "C-1"), Err(ReportError::Invalid(_))));
        let found = search_reads(&store, &accounts, &off, "7abc 123", "stolen vehicle", "C-1").unwrap();
        assert_eq!(found.len(), 1);
        let rows: Vec<(String, String, String, String)> = store
            .read(|c| {
                let mut s = c.prepare(
                    "SELECT object, purpose, case_number, outcome FROM audit_log WHERE action = 'search' ORDER BY seq",
                )?;
                Ok(s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect::<Result<_, _>>()?)
            })
            .unwrap();
        let rows: Vec<(&str, &str, &str, &str)> =
            rows.iter().map(|(o, p, c, out)| (o.as_str(), p.as_str(), c.as_str(), out.as_str())).collect();
        // The refused search (no purpose) is audited too, then the search itself.
        assert_eq!(
            rows,
            vec![
                ("7ABC123", "", "C-1", "refused: a purpose and a case or incident number are required"),
                ("7ABC123", "stolen vehicle", "C-1", "1 reads shown")
            ]
        );

        assert!(matches!(hold_read(&store, &accounts, &off, id, "C-1"), Err(ReportError::Session(_))));
        hold_read(&store, &accounts, &sup, id, "C-1").unwrap();
        assert!(store.read_by_id(id).unwrap().unwrap().protected);
        assert_eq!(release_case(&store, &accounts, &sup, "C-1").unwrap(), 1);
        assert!(!store.read_by_id(id).unwrap().unwrap().protected);
    }
}
