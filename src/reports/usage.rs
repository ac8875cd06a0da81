//! The supervisors' usage report (Special Order 24-01: "ensure officers are utilizing the
//! system and logging on during each patrol shift"): one row per officer per shift with
//! log-on and log-off, active time and its share of the shift, deactivation reasons, camera
//! downtime, reads, hits by list, dispositions, confirmations, exigent overrides and time to
//! acknowledge.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use serde::Serialize;

use super::{ReportError, csv_line};
use crate::audit::{AuditAction, AuditEvent};
use crate::session::{Accounts, Permission, User};
use crate::store::audit_log::AuditHead;
use crate::store::records::from_ms;
use crate::store::{Store, StoreError};

/// One officer's shift.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShiftUsage {
    /// The officer.
    pub officer: String,
    /// The shift row.
    pub shift_id: i64,
    /// Log-on.
    pub logon: DateTime<Utc>,
    /// Log-off (`None` while the shift is open).
    pub logoff: Option<DateTime<Utc>>,
    /// Minutes from log-on to log-off (or to the report time for an open shift).
    pub shift_minutes: f64,
    /// Minutes with ALPR active.
    pub active_minutes: f64,
    /// Active minutes over shift minutes, 0-1.
    pub active_share: f64,
    /// Reasons given for each deactivation.
    pub deactivation_reasons: Vec<String>,
    /// Minutes any camera was down, summed over cameras.
    pub camera_downtime_minutes: f64,
    /// Plates read.
    pub reads: i64,
    /// Hits per hot list.
    pub hits_by_list: BTreeMap<String, i64>,
    /// Hits per final disposition.
    pub dispositions: BTreeMap<String, i64>,
    /// Hits confirmed with communications.
    pub confirmations: i64,
    /// Hits made actionable under exigent circumstances.
    pub exigent_overrides: i64,
    /// Mean seconds from a hit to its acknowledgement.
    pub mean_secs_to_acknowledge: Option<f64>,
    /// Kilometres driven while ALPR was active, from the patrol track (gaps of more than two
    /// minutes without a fix are not counted as driven).
    pub distance_km: f64,
    /// Minutes active per area (a cell of 0.01 degree, about 1.1 km, named by its centre),
    /// most first.
    pub minutes_by_area: Vec<(String, f64)>,
}

fn minutes(from_ms: i64, to_ms: i64) -> f64 {
    (to_ms - from_ms).max(0) as f64 / 60_000.0
}

/// Sum of the intervals clipped to `[start, end]`; an open interval runs to `end`.
fn clipped_minutes(intervals: &[(i64, Option<i64>)], start: i64, end: i64) -> f64 {
    intervals.iter().map(|&(s, e)| minutes(s.max(start), e.unwrap_or(end).min(end))).sum()
}

fn intervals(conn: &Connection, sql: &str, shift_id: i64) -> Result<Vec<(i64, Option<i64>)>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([shift_id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn counts(
    conn: &Connection,
    sql: &str,
    officer: &str,
    start: i64,
    end: i64,
) -> Result<BTreeMap<String, i64>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows =
        stmt.query_map(params![officer, start, end], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Computes the report over shifts that began in `[from, to)`, without access checks.
pub fn compute(
    conn: &Connection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    officer: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<ShiftUsage>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT id, officer, start_ms, end_ms FROM shifts WHERE start_ms >= ?1 AND start_ms < ?2 AND (?3 IS NULL OR officer = ?3) ORDER BY start_ms, id",
    )?;
    let shifts = stmt
        .query_map(params![from.timestamp_millis(), to.timestamp_millis(), officer], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, Option<i64>>(3)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::with_capacity(shifts.len());
    for (shift_id, officer, start, end) in shifts {
        let stop = end.unwrap_or_else(|| now.timestamp_millis()).max(start);
        let active = intervals(conn, "SELECT start_ms, end_ms FROM activations WHERE shift_id = ?1", shift_id)?;
        let down = intervals(conn, "SELECT start_ms, end_ms FROM camera_downtime WHERE shift_id = ?1", shift_id)?;
        let shift_minutes = minutes(start, stop);
        let active_minutes = clipped_minutes(&active, start, stop);
        let mut reasons_stmt =
            conn.prepare_cached("SELECT deactivate_reason FROM activations WHERE shift_id = ?1 AND deactivate_reason IS NOT NULL ORDER BY start_ms")?;
        let deactivation_reasons =
            reasons_stmt.query_map([shift_id], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
        let reads: i64 = conn
            .prepare_cached("SELECT count(*) FROM reads WHERE officer = ?1 AND time_ms >= ?2 AND time_ms <= ?3")?
            .query_row(params![officer, start, stop], |r| r.get(0))?;
        let hit_range = "FROM hits WHERE officer = ?1 AND raised_ms >= ?2 AND raised_ms <= ?3";
        let hits_by_list =
            counts(conn, &format!("SELECT list, count(*) {hit_range} GROUP BY list"), &officer, start, stop)?;
        let dispositions = counts(
            conn,
            &format!("SELECT coalesce(disposition, state), count(*) {hit_range} GROUP BY coalesce(disposition, state)"),
            &officer,
            start,
            stop,
        )?;
        let (confirmations, exigent_overrides, mean_ack_ms): (i64, i64, Option<f64>) = conn
            .prepare_cached(&format!(
                "SELECT count(confirmed_ms), coalesce(sum(exigent), 0), avg(time_to_ack_ms) {hit_range}"
            ))?
            .query_row(params![officer, start, stop], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        let (distance_km, minutes_by_area) = patrol_track(conn, shift_id)?;
        out.push(ShiftUsage {
            officer,
            shift_id,
            logon: from_ms(start),
            logoff: end.map(from_ms),
            shift_minutes,
            active_minutes,
            active_share: if shift_minutes > 0.0 { (active_minutes / shift_minutes).min(1.0) } else { 0.0 },
            deactivation_reasons,
            camera_downtime_minutes: clipped_minutes(&down, start, stop),
            reads,
            hits_by_list,
            dispositions,
            confirmations,
            exigent_overrides,
            mean_secs_to_acknowledge: mean_ack_ms.map(|ms| ms / 1000.0),
            distance_km,
            minutes_by_area,
        });
    }
    Ok(out)
}

/// A usage report: its rows, and the audit chain's head once its own view was recorded.
#[derive(Debug, Clone)]
pub struct UsageReport {
    /// One row per shift.
    pub rows: Vec<ShiftUsage>,
    /// Printed with the report so that an auditor can later check, off the car, that the
    /// chain still holds this row (`audit verify --head SEQ:HASH`): a copy of the head the
    /// key holder cannot reach.
    pub audit_head: AuditHead,
}

/// The usage report for a supervisor or administrator; the view is audited.
pub fn usage_report(
    store: &Store,
    accounts: &Accounts<'_>,
    actor: &User,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    officer: Option<&str>,
) -> Result<UsageReport, ReportError> {
    let what = format!(
        "usage report {} to {}{}",
        from.date_naive(),
        to.date_naive(),
        officer.map(|o| format!(" officer {o}")).unwrap_or_default()
    );
    accounts.authorize(actor, Permission::ViewUsageReport, AuditAction::Search, &what)?;
    if to <= from {
        return Err(ReportError::Invalid("the report period is empty (--to must be after --from)".into()));
    }
    let officer_owned = officer.map(str::to_owned);
    let rows = store.read(|conn| compute(conn, from, to, officer_owned.as_deref(), Utc::now()))?;
    let event = AuditEvent::new(
        &actor.id,
        &actor.organization,
        AuditAction::Search,
        &what,
        &format!("{} shifts shown", rows.len()),
    );
    let seq = store.audit(AuditEvent { purpose: Some("supervisory usage review".into()), ..event })?;
    let audit_head = store
        .audit_head_at(seq)?
        .ok_or_else(|| StoreError::Corrupt(format!("audit row {seq} vanished as it was written")))?;
    Ok(UsageReport { rows, audit_head })
}

fn map_text(map: &BTreeMap<String, i64>) -> String {
    map.iter().map(|(k, v)| format!("{k}:{v}")).collect::<Vec<_>>().join(";")
}

/// A shift's patrol track: its length, km (the great-circle steps between consecutive points,
/// leaving out a step across a gap of more than two minutes: no fix, or ALPR off), and the
/// minutes spent in each area (each step's time counted in the cell it started in).
fn patrol_track(conn: &Connection, shift_id: i64) -> Result<(f64, Vec<(String, f64)>), StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT time_ms, lat, lon FROM patrol_track WHERE shift_id = ?1 ORDER BY time_ms")?;
    let points: Vec<(i64, f64, f64)> =
        stmt.query_map([shift_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
    let mut metres = 0.0;
    let mut areas: BTreeMap<String, f64> = BTreeMap::new();
    for w in points.windows(2).filter(|w| w[1].0 - w[0].0 <= 120_000) {
        metres += crate::location::distance_m((w[0].1, w[0].2), (w[1].1, w[1].2));
        let centre = |x: f64| (x * 100.0).floor() / 100.0 + 0.005;
        let cell = format!("{:.3},{:.3}", centre(w[0].1), centre(w[0].2));
        *areas.entry(cell).or_default() += (w[1].0 - w[0].0) as f64 / 60_000.0;
    }
    let mut areas: Vec<(String, f64)> = areas.into_iter().collect();
    areas.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok((metres / 1000.0, areas))
}

/// The report as CSV, one line per shift, with a header.
pub fn to_csv(rows: &[ShiftUsage]) -> String {
    let mut out = csv_line(&[
        "officer",
        "shift_id",
        "logon",
        "logoff",
        "shift_minutes",
        "active_minutes",
        "active_share",
        "deactivation_reasons",
        "camera_downtime_minutes",
        "reads",
        "hits_by_list",
        "dispositions",
        "confirmations",
        "exigent_overrides",
        "mean_secs_to_acknowledge",
        "distance_km",
        "active_minutes_by_area",
    ]);
    for r in rows {
        out.push_str(&csv_line(&[
            r.officer.clone(),
            r.shift_id.to_string(),
            r.logon.to_rfc3339(),
            r.logoff.map(|t| t.to_rfc3339()).unwrap_or_default(),
            format!("{:.1}", r.shift_minutes),
            format!("{:.1}", r.active_minutes),
            format!("{:.3}", r.active_share),
            r.deactivation_reasons.join("; "),
            format!("{:.1}", r.camera_downtime_minutes),
            r.reads.to_string(),
            map_text(&r.hits_by_list),
            map_text(&r.dispositions),
            r.confirmations.to_string(),
            r.exigent_overrides.to_string(),
            r.mean_secs_to_acknowledge.map(|s| format!("{s:.1}")).unwrap_or_default(),
            format!("{:.2}", r.distance_km),
            r.minutes_by_area.iter().map(|(cell, m)| format!("{cell}:{m:.1}")).collect::<Vec<_>>().join(";"),
        ]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hits::{ConfirmResult, Disposition, HitAction};
    use crate::reports::testing::users;
    use crate::session::AccountRules;
    use crate::store::testing::temp_store;
    use crate::store::{HitRecord, NewRead};

    fn at(minute: i64) -> DateTime<Utc> {
        from_ms(1_780_000_000_000 + minute * 60_000)
    }

    #[test]
    fn clipping() {
        assert_eq!(clipped_minutes(&[(0, Some(60_000)), (120_000, None)], 0, 180_000), 2.0);
        assert_eq!(clipped_minutes(&[(-60_000, Some(60_000))], 0, 180_000), 1.0);
        assert_eq!(clipped_minutes(&[], 0, 1), 0.0);
    }

    #[test]
    fn one_shift_in_full() {
        let (_dir, store) = temp_store();
        let (admin, sup, off) = users(&store);
        let accounts = Accounts::new(&store, AccountRules::default());
        // A 600-minute shift: active 0-200 and 260-600, deactivated once, camera down 30 min.
        let shift = store.start_shift("o1", at(0)).unwrap();
        store.activate(shift, "o1", at(0)).unwrap();
        store.deactivate(shift, "o1", at(200), "lunch").unwrap();
        store.activate(shift, "o1", at(260)).unwrap();
        store.camera_down(shift, "rear", at(300), "no frames").unwrap();
        store.camera_up(shift, "rear", at(330)).unwrap();
        for i in 0..5 {
            let read = NewRead {
                time: at(10 + i),
                camera: "front".into(),
                officer: Some("o1".into()),
                plate: format!("7ABC12{i}"),
                confidence: 0.9,
                candidates_json: "[]".into(),
                state: None,
                gps: None,
                crop_png: None,
            };
            store.insert_read(read).unwrap();
        }
        let h1 = store.insert_hit(HitRecord::new(None, "7ABC120", "SVS", 1, Some("o1"), at(10))).unwrap();
        store.insert_hit(HitRecord::new(None, "7ABC121", "BOLO", 2, Some("o1"), at(11))).unwrap();
        // Through the lifecycle: acknowledged after 6 s, acted on under exigent
        // circumstances, confirmed by communications afterwards, closed with an arrest.
        let mut hit = store.hit(h1).unwrap().unwrap();
        let confirm = HitAction::Confirm {
            dispatcher_id: "d7".into(),
            incident_number: "I-1".into(),
            result: ConfirmResult::ConfirmedActive,
        };
        for (action, time) in [
            (HitAction::Acknowledge, at(10) + chrono::Duration::seconds(6)),
            (HitAction::PlateMatches, at(11)),
            (HitAction::Exigent { justification: "vehicle fled, pursuit under way".into() }, at(12)),
            (confirm, at(12)),
            (HitAction::Close { disposition: Disposition::Arrest }, at(13)),
        ] {
            let event = crate::hits::lifecycle::apply(&mut hit, &action, "o1", time).unwrap();
            store.record_hit_transition(hit.clone(), event).unwrap();
        }
        // The patrol track: 1.1 km north in 10 one-minute steps, then a 30-minute gap (no fix)
        // across which the car "moved" 5 km that is not counted.
        for i in 0..=10 {
            let fix = crate::location::Fix::at(at(20 + i), 33.75 + f64::from(i as i32) * 0.001, -118.2);
            store.record_track_point(shift, fix).unwrap();
        }
        store.record_track_point(shift, crate::location::Fix::at(at(60), 33.80, -118.2)).unwrap();
        store.end_shift(shift, at(600)).unwrap();

        assert!(matches!(usage_report(&store, &accounts, &off, at(-1), at(700), None), Err(ReportError::Session(_))));
        let report = usage_report(&store, &accounts, &sup, at(-1), at(700), None).unwrap();
        assert_eq!(store.audit_head().unwrap(), report.audit_head);
        let rows = report.rows;
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!((r.shift_minutes, r.active_minutes, r.camera_downtime_minutes), (600.0, 540.0, 30.0));
        assert!((r.active_share - 0.9).abs() < 1e-9);
        assert_eq!(r.deactivation_reasons, vec!["lunch".to_owned()]);
        assert!((r.distance_km - 1.112).abs() < 0.01, "{}", r.distance_km);
        // 10 minutes driven: 33.75x for the first 10 steps... cells of 0.01 degree.
        let total: f64 = r.minutes_by_area.iter().map(|(_, m)| m).sum();
        assert!((total - 10.0).abs() < 1e-9, "{:?}", r.minutes_by_area);
        assert_eq!(r.minutes_by_area[0].0, "33.755,-118.195");
        assert_eq!(r.reads, 5);
        assert_eq!(r.hits_by_list, BTreeMap::from([("BOLO".to_owned(), 1), ("SVS".to_owned(), 1)]));
        assert_eq!(r.dispositions, BTreeMap::from([("arrest".to_owned(), 1), ("new".to_owned(), 1)]));
        assert_eq!((r.confirmations, r.exigent_overrides, r.mean_secs_to_acknowledge), (1, 1, Some(6.0)));
        assert!(usage_report(&store, &accounts, &admin, at(-1), at(700), Some("nobody")).unwrap().rows.is_empty());
        let csv = to_csv(&rows);
        assert_eq!(csv.lines().count(), 2);
        assert!(csv.lines().nth(1).unwrap().contains(",lunch,30.0,5,BOLO:1;SVS:1,arrest:1;new:1,1,1,6.0"), "{csv}");
        let views = store.count_audit_rows("object LIKE 'usage report%'");
        assert_eq!(views, 3, "two views and one refusal");
    }
}
