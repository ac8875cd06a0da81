//! The retention purge at the office: the same rule as each car's (`store::retention`),
//! applied to what the cars sent. Reads older than the cutoff are deleted unless a case hold
//! that still stands names them or a hit still under review was raised on them; finished
//! hits older than the cutoff go with their steps. A month of reads with nothing protected in
//! it is dropped whole (its partition), which is what the partitioning is for; a month with
//! protected reads, the month the cutoff falls in and the default partition are deleted from
//! row by row. The hourly read counts of the usage report are recounted for the purged hours,
//! so the fleet report still equals the sum of the cars' own after both have purged. Audit
//! rows are kept, as the car keeps its own.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use postgres::{Client, Transaction};
use serde::Serialize;

use super::FleetError;
use crate::session::admin::Setting;
use crate::store::retention::retention_period;

/// What an office purge deleted (or, in a dry run, would delete).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OfficePurge {
    /// The cutoff: what is older is purged.
    pub cutoff: DateTime<Utc>,
    /// Reads deleted (with their crops).
    pub reads: u64,
    /// Finished hits deleted.
    pub hits: u64,
    /// Their steps.
    pub hit_events: u64,
    /// Reads past the cutoff kept: a standing case hold, or a hit under review.
    pub protected_kept: u64,
    /// Month partitions dropped whole.
    pub partitions_dropped: Vec<String>,
    /// True when nothing was deleted.
    pub dry_run: bool,
}

/// The agency's retention period as published to the office (`fleet publish-settings`),
/// checked against the one-year floor as the car checks it. None published: an error, so
/// that the office never purges on a period nobody set.
pub fn published_retention(client: &mut Client) -> Result<(u32, chrono::Duration), FleetError> {
    let value = |client: &mut Client, key: &str| -> Result<Option<String>, FleetError> {
        Ok(client.query_opt("SELECT value FROM settings WHERE key = $1", &[&key])?.map(|r| r.get(0)))
    };
    let days = value(client, Setting::RetentionDays.key())?
        .and_then(|v| serde_json::from_str::<u32>(&v).ok())
        .ok_or_else(|| {
            FleetError::Retention(
                "no retention period is published at the office: set it in a console (`admin retention`) and \
                 run `fleet publish-settings` first"
                    .to_owned(),
            )
        })?;
    let allow_short = value(client, Setting::AllowShortRetention.key())?
        .and_then(|v| serde_json::from_str::<bool>(&v).ok())
        .unwrap_or(false);
    let period = retention_period(days, allow_short).map_err(|e| FleetError::Retention(e.to_string()))?;
    Ok((days, period))
}

/// The reads that must be kept whatever their age, as `(car_id, read_id)`: those a standing
/// hold names (a hold's newest event has no release: `purge_held`), and those a hit still
/// under review was raised on (its newest step is not to rejected or closed; no step yet:
/// under review).
const PROTECTED: &str = "
CREATE TEMPORARY TABLE purge_held ON COMMIT DROP AS
SELECT car_id, read_id FROM (
    SELECT DISTINCT ON (car_id, hold_id) car_id, read_id, released_at FROM holds
    ORDER BY car_id, hold_id, seq DESC
) h WHERE released_at IS NULL;
CREATE TEMPORARY TABLE purge_protected ON COMMIT DROP AS
SELECT car_id, read_id FROM purge_held
UNION
SELECT h.car_id, h.read_id FROM hits h
LEFT JOIN LATERAL (
    SELECT to_state FROM hit_events e WHERE e.car_id = h.car_id AND e.hit_id = h.hit_id ORDER BY e.seq DESC LIMIT 1
) last ON true
WHERE h.read_id IS NOT NULL AND coalesce(last.to_state, 'new') NOT IN ('rejected', 'closed');
CREATE INDEX ON purge_protected (car_id, read_id);
ANALYZE purge_protected;
";

/// Finished hits older than the cutoff whose read no standing hold names (as the car's).
const FINISHED_HITS: &str = "
CREATE TEMPORARY TABLE purge_hits ON COMMIT DROP AS
SELECT h.car_id, h.hit_id FROM hits h
CROSS JOIN LATERAL (
    SELECT to_state FROM hit_events e WHERE e.car_id = h.car_id AND e.hit_id = h.hit_id ORDER BY e.seq DESC LIMIT 1
) last
WHERE h.raised_at < $1 AND last.to_state IN ('rejected', 'closed')
  AND NOT EXISTS (SELECT 1 FROM purge_held p WHERE p.car_id = h.car_id AND p.read_id = h.read_id)
";

/// A partition of `reads` by name: its month, or `None` for the default partition.
fn partition_month(name: &str) -> Option<NaiveDate> {
    let rest = name.strip_prefix("reads_y")?;
    let (year, month) = rest.split_once('m')?;
    NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, 1)
}

fn count(
    tx: &mut Transaction<'_>,
    sql: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
) -> Result<u64, FleetError> {
    let n: i64 = tx.query_one(sql, params)?.get(0);
    Ok(n.max(0).unsigned_abs())
}

/// Purges what is older than `cutoff` (or counts it, `dry_run`), in one transaction.
pub fn purge(client: &mut Client, cutoff: DateTime<Utc>, dry_run: bool) -> Result<OfficePurge, FleetError> {
    let mut tx = client.transaction()?;
    // One purge at a time; cars keep inserting meanwhile (new rows are never past the cutoff).
    tx.execute("SELECT pg_advisory_xact_lock(7240118)", &[])?;
    tx.batch_execute(PROTECTED)?;
    tx.execute(FINISHED_HITS, &[&cutoff])?;
    let mut out = OfficePurge { cutoff, dry_run, ..OfficePurge::default() };
    let unprotected =
        "NOT EXISTS (SELECT 1 FROM purge_protected p WHERE p.car_id = r.car_id AND p.read_id = r.read_id)";
    out.protected_kept = count(
        &mut tx,
        "SELECT count(*) FROM reads r JOIN purge_protected p USING (car_id, read_id) WHERE r.read_at < $1",
        &[&cutoff],
    )?;
    out.hits = count(&mut tx, "SELECT count(*) FROM purge_hits", &[])?;
    out.hit_events = count(&mut tx, "SELECT count(*) FROM hit_events e JOIN purge_hits h USING (car_id, hit_id)", &[])?;
    let partitions: Vec<String> = tx
        .query(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'reads'::regclass ORDER BY 1",
            &[],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let day = cutoff.date_naive();
    let cutoff_month = NaiveDate::from_ymd_opt(day.year(), day.month(), 1).unwrap_or(day);
    for part in partitions {
        // Partition names come from the catalogue (made by `fleet_ensure_month`), quoted.
        let quoted = format!("\"{}\"", part.replace('"', "\"\""));
        let whole_month_past = partition_month(&part).is_some_and(|month| {
            month.checked_add_months(chrono::Months::new(1)).is_some_and(|next| next <= cutoff_month)
        });
        let here = count(
            &mut tx,
            &format!("SELECT count(*) FROM {quoted} r WHERE r.read_at < $1 AND {unprotected}"),
            &[&cutoff],
        )?;
        out.reads += here;
        if dry_run || here == 0 {
            continue;
        }
        let total = count(&mut tx, &format!("SELECT count(*) FROM {quoted}"), &[])?;
        if whole_month_past && total == here {
            // Nothing in the month is protected: the partition goes whole, its space at once.
            tx.batch_execute(&format!("DROP TABLE {quoted}"))?;
            out.partitions_dropped.push(part);
        } else {
            tx.execute(&format!("DELETE FROM {quoted} r WHERE r.read_at < $1 AND {unprotected}"), &[&cutoff])?;
        }
    }
    if !dry_run {
        tx.execute(
            "DELETE FROM hit_events e USING purge_hits h WHERE e.car_id = h.car_id AND e.hit_id = h.hit_id",
            &[],
        )?;
        tx.execute("DELETE FROM hits x USING purge_hits h WHERE x.car_id = h.car_id AND x.hit_id = h.hit_id", &[])?;
        // The purged hours (through the one the cutoff falls in) are counted again from the
        // reads that remain: only the protected ones before the cutoff, all of them after it.
        tx.execute("DELETE FROM read_hours WHERE hour <= fleet_hour($1)", &[&cutoff])?;
        tx.execute(
            "INSERT INTO read_hours (car_id, officer, hour, n)
             SELECT car_id, coalesce(officer, ''), fleet_hour(read_at), count(*) FROM reads
             WHERE read_at < fleet_hour($1) + interval '1 hour' GROUP BY 1, 2, 3",
            &[&cutoff],
        )?;
    }
    tx.commit()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_named_by_month_and_the_default_has_none() {
        assert_eq!(partition_month("reads_y2026m03"), NaiveDate::from_ymd_opt(2026, 3, 1));
        assert_eq!(partition_month("reads_default"), None);
        assert_eq!(partition_month("reads_y2026m13"), None);
        assert_eq!(partition_month("audit_y2026m03"), None);
    }
}
