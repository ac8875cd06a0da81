//! Searches of stored reads and case holds: each needs a purpose and a case number, and each
//! is written to the audit log with the plate or query terms (Civ. Code 1798.90.52).

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{ReportError, require_purpose};
use crate::audit::{AuditAction, AuditEvent};
use crate::location::Area;
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

/// Refuses an area search that cannot be meant: a point off the Earth, a radius outside 1 m to
/// 100 km, an empty period. The console's search and the fleet's (`fleet::search`) share it.
pub fn check_area(area: Area, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<(), ReportError> {
    let on_earth = (-90.0..=90.0).contains(&area.lat) && (-180.0..=180.0).contains(&area.lon);
    if !(on_earth && area.radius_m > 0.0 && area.radius_m <= 100_000.0) {
        return Err(ReportError::Invalid("give a point on Earth and a radius of 1 m to 100 km".into()));
    }
    if to <= from {
        return Err(ReportError::Invalid("the period is empty (--to must be after --from)".into()));
    }
    Ok(())
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

/// Finds stored reads made within `area` between `from` and `to` (the place of a crime, a
/// route): a purpose and a case number are required, and the search is audited with the area
/// and period as its terms, like a plate search. Returns the reads oldest first.
#[allow(clippy::too_many_arguments)]
pub fn search_reads_near(
    store: &Store,
    accounts: &Accounts<'_>,
    actor: &User,
    area: Area,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    purpose: &str,
    case_number: &str,
) -> Result<Vec<StoredRead>, ReportError> {
    let terms = format!(
        "reads within {:.0} m of {:.5},{:.5} from {} to {}",
        area.radius_m,
        area.lat,
        area.lon,
        from.to_rfc3339(),
        to.to_rfc3339()
    );
    accounts.authorize(actor, Permission::SearchReads, AuditAction::Search, &terms)?;
    require_purpose(store, actor, AuditAction::Search, &terms, purpose, case_number)?;
    check_area(area, from, to)?;
    let event = AuditEvent::new(&actor.id, &actor.organization, AuditAction::Search, &terms, "")
        .with_purpose(purpose, case_number);
    let ((south, north), lons) = area.bounds();
    let rows = store.write(move |conn| {
        let mut stmt = conn.prepare(&format!(
            "SELECT {READ_COLUMNS} FROM reads WHERE time_ms >= ?1 AND time_ms < ?2 AND lat BETWEEN ?3 AND ?4
             AND lon BETWEEN ?5 AND ?6 ORDER BY time_ms, id"
        ))?;
        let mut found = Vec::new();
        // The box first (one or two longitude ranges), then the exact distance.
        for (west, east) in lons {
            let rows = stmt.query_map(
                params![from.timestamp_millis(), to.timestamp_millis(), south, north, west, east],
                stored_read,
            )?;
            for row in rows {
                let row = row?;
                if row.read.gps.is_some_and(|g| area.contains(g.lat, g.lon))
                    && !found.iter().any(|r: &StoredRead| r.id == row.id)
                {
                    found.push(row);
                }
            }
        }
        found.sort_by_key(|r| (r.read.time, r.id));
        append(conn, &AuditEvent { outcome: format!("{} reads shown", found.len()), ..event })?;
        Ok(found)
    })?;
    Ok(rows)
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

    #[test]
    fn a_place_search_returns_exactly_the_reads_inside_the_circle_and_is_audited() {
        let (_dir, store) = temp_store();
        let (_admin, sup, _off) = users(&store);
        let accounts = Accounts::new(&store, AccountRules::default());
        let now = Utc::now();
        // Reads every 100 m north of the gate, and one on the far side of the antimeridian's
        // box (a different longitude entirely).
        let gate = (33.7600, -118.2000);
        let mut inside = Vec::new();
        for i in 0..10 {
            let lat = gate.0 + f64::from(i) * 0.000_9; // about 100 m a step
            let read = NewRead {
                time: now - chrono::Duration::minutes(30),
                camera: "front".into(),
                officer: Some("o1".into()),
                plate: format!("7NEAR{i:02}"),
                confidence: 0.9,
                candidates_json: "[]".into(),
                state: None,
                gps: Some(crate::location::Fix::at(now, lat, gate.1)),
                crop_png: None,
            };
            let id = store.insert_read(read).unwrap();
            if crate::location::distance_m(gate, (lat, gate.1)) <= 450.0 {
                inside.push(id);
            }
        }
        let area = Area { lat: gate.0, lon: gate.1, radius_m: 450.0 };
        let (from, to) = (now - chrono::Duration::hours(1), now);
        assert!(matches!(
            search_reads_near(&store, &accounts, &sup, area, from, to, "", "C-9"),
            Err(ReportError::Invalid(_))
        ));
        let found = search_reads_near(&store, &accounts, &sup, area, from, to, "robbery at the gate", "C-9").unwrap();
        assert_eq!(found.iter().map(|r| r.id).collect::<Vec<_>>(), inside);
        assert_eq!(inside.len(), 5, "0 to 400 m");
        // Outside the period: nothing.
        let earlier = search_reads_near(
            &store,
            &accounts,
            &sup,
            area,
            from - chrono::Duration::hours(5),
            from - chrono::Duration::hours(2),
            "robbery",
            "C-9",
        );
        assert!(earlier.unwrap().is_empty());
        assert_eq!(store.count_audit_rows("action = 'search' AND object LIKE 'reads within 450 m%' AND outcome = '5 reads shown' AND case_number = 'C-9'"), 1);
        assert_eq!(store.count_audit_rows("action = 'search' AND outcome LIKE 'refused: a purpose%'"), 1);
    }
}
