//! The fleet usage report: Special Order 24-01's per officer per shift review, across every
//! car, computed in the office database from what the cars sent. A shift's reads and hits
//! are counted as the car's own report counts them (the officer's, between log-on and
//! log-off, in that car), so the fleet report of a set of cars equals the sum of their own.
//! Active time, camera downtime and the patrol track stay in the car: the car does not send
//! them (docs/fleet.md, "Status").

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use postgres::Client;

use super::FleetError;

/// One officer's shift in one car.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetShift {
    /// The car.
    pub car_id: String,
    /// The car's shift row.
    pub shift_id: i64,
    /// The officer.
    pub officer: String,
    /// Log-on.
    pub logon: DateTime<Utc>,
    /// Log-off (`None` while open, as far as the office knows).
    pub logoff: Option<DateTime<Utc>>,
    /// Minutes from log-on to log-off (or to the report time).
    pub shift_minutes: f64,
    /// Plates read.
    pub reads: i64,
    /// Hits per hot list.
    pub hits_by_list: BTreeMap<String, i64>,
    /// Hits confirmed with communications.
    pub confirmations: i64,
    /// Hits made actionable under exigent circumstances.
    pub exigent_overrides: i64,
}

/// The report's one query: each shift (its newest row: a shift is sent at log-on and again
/// at log-off) with its counts, every count by index. Reads are summed from `read_hours`
/// for the whole hours of the shift and counted one by one only in the hour it starts and
/// the hour it ends (exact either way: the hours are kept by the inserts themselves). A confirmation is the step whose detail
/// names the dispatcher (only `hits::lifecycle::apply`'s Confirm writes that, including one
/// recorded after an exigent action, which keeps the state); an exigent override is the step
/// from verified to actionable-exigent. The car counts the same hits by its `confirmed_ms` and
/// `exigent` columns, which the office does not receive.
const USAGE_SQL: &str = "
WITH s AS (
    SELECT DISTINCT ON (car_id, shift_id) car_id, shift_id, officer, start_at, end_at
    FROM shifts
    WHERE start_at >= $1 AND start_at < $2 AND ($3::text IS NULL OR officer = $3)
    ORDER BY car_id, shift_id, seq DESC
)
SELECT s.car_id, s.shift_id, s.officer, s.start_at, s.end_at, r.n,
       coalesce(h.by_list, '{}'::jsonb), c.confirmed, c.exigent
FROM s
CROSS JOIN LATERAL (
    SELECT fleet_hour(s.start_at) + interval '1 hour' AS first_full, coalesce(s.end_at, $4) AS stop
) b
CROSS JOIN LATERAL (
    SELECT (coalesce((
        SELECT sum(h.n) FROM read_hours h
        WHERE h.car_id = s.car_id AND h.officer = s.officer
          AND h.hour >= b.first_full AND h.hour < fleet_hour(b.stop)
    ), 0) + (
        SELECT count(*) FROM reads
        WHERE reads.car_id = s.car_id AND reads.officer = s.officer
          AND reads.read_at >= s.start_at AND reads.read_at <= b.stop AND reads.read_at < b.first_full
    ) + (
        SELECT count(*) FROM reads
        WHERE reads.car_id = s.car_id AND reads.officer = s.officer
          AND reads.read_at >= greatest(fleet_hour(b.stop), b.first_full) AND reads.read_at <= b.stop
    ))::bigint AS n
) r
CROSS JOIN LATERAL (
    SELECT jsonb_object_agg(list, n) AS by_list FROM (
        SELECT list, count(*) AS n FROM hits
        WHERE hits.car_id = s.car_id AND hits.officer = s.officer
          AND hits.raised_at >= s.start_at AND hits.raised_at <= coalesce(s.end_at, $4)
        GROUP BY list
    ) l
) h
CROSS JOIN LATERAL (
    SELECT count(DISTINCT e.hit_id) FILTER (WHERE e.detail LIKE 'dispatcher %') AS confirmed,
           count(DISTINCT e.hit_id) FILTER (WHERE e.from_state = 'verified' AND e.to_state = 'actionable_exigent')
               AS exigent
    FROM hits JOIN hit_events e ON e.car_id = hits.car_id AND e.hit_id = hits.hit_id
    WHERE hits.car_id = s.car_id AND hits.officer = s.officer
      AND hits.raised_at >= s.start_at AND hits.raised_at <= coalesce(s.end_at, $4)
) c
ORDER BY s.start_at, s.car_id, s.shift_id";

/// The shifts that began in `[from, to)` across the fleet (or one officer's), with the
/// report time `now` closing the open ones.
pub fn fleet_usage(
    client: &mut Client,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    officer: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<FleetShift>, FleetError> {
    let rows = client.query(USAGE_SQL, &[&from, &to, &officer, &now])?;
    Ok(rows
        .iter()
        .map(|r| {
            let logon: DateTime<Utc> = r.get(3);
            let logoff: Option<DateTime<Utc>> = r.get(4);
            let stop = logoff.unwrap_or(now).max(logon);
            let by_list: serde_json::Value = r.get(6);
            let hits_by_list = by_list
                .as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_i64().unwrap_or(0))).collect())
                .unwrap_or_default();
            FleetShift {
                car_id: r.get(0),
                shift_id: r.get(1),
                officer: r.get(2),
                logon,
                logoff,
                shift_minutes: (stop - logon).num_milliseconds() as f64 / 60_000.0,
                reads: r.get(5),
                hits_by_list,
                confirmations: r.get(7),
                exigent_overrides: r.get(8),
            }
        })
        .collect())
}

/// The plan PostgreSQL chooses for the report's query (`EXPLAIN`), to show it uses the
/// indexes.
pub fn usage_plan(
    client: &mut Client,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<String, FleetError> {
    let rows = client.query(&format!("EXPLAIN {USAGE_SQL}"), &[&from, &to, &None::<&str>, &now])?;
    Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>().join("\n"))
}
