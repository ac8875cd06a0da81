//! New entries against past reads: when an entry arrives (an AMBER alert in an update, a BOLO
//! typed in by an officer), the reads stored over a recent window are matched against it, so a
//! car that passed an hour ago raises a hit now.
//!
//! Part of the policy core. The store implements [`ReadHistory`]; [`MemoryHistory`] serves
//! tests and demo mode. [`record_hits`] stores what was found as hits (each audited), so they
//! go through the same lifecycle as hits raised live.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::index::{Hit, HotlistIndex, ReadCandidate, ReadQuery};
use crate::store::{HitRecord, Store, StoreError, StoredRead};

/// A read kept by the store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PastRead {
    /// The store's id of the read.
    pub read_id: i64,
    /// The best reading.
    pub plate: String,
    /// All readings with their confidences, best first (the best may be repeated here).
    pub candidates: Vec<(String, f32)>,
    /// The state, when it was known.
    pub state: Option<String>,
    /// When the plate was read.
    pub time: DateTime<Utc>,
    /// Which camera read it.
    pub camera: String,
}

/// Reading the history failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot read past reads: {0}")]
pub struct HistoryError(pub String);

/// Stored reads, by time.
pub trait ReadHistory {
    /// Reads with `from <= time < to`.
    fn reads_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<PastRead>, HistoryError>;
}

/// Reads held in memory.
#[derive(Debug, Clone, Default)]
pub struct MemoryHistory {
    /// The reads.
    pub reads: Vec<PastRead>,
}

impl ReadHistory for MemoryHistory {
    fn reads_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<PastRead>, HistoryError> {
        Ok(self.reads.iter().filter(|r| r.time >= from && r.time < to).cloned().collect())
    }
}

/// One alternative reading as the store keeps it (`NewRead::candidates_json`).
#[derive(Debug, Deserialize)]
struct StoredCandidate {
    text: String,
    confidence: f32,
}

impl From<StoredRead> for PastRead {
    fn from(stored: StoredRead) -> Self {
        let read = stored.read;
        // Unreadable alternatives leave the best reading, which is always matched.
        let mut candidates: Vec<(String, f32)> = serde_json::from_str::<Vec<StoredCandidate>>(&read.candidates_json)
            .unwrap_or_default()
            .into_iter()
            .map(|c| (c.text, c.confidence))
            .collect();
        if !candidates.iter().any(|(text, _)| *text == read.plate) {
            candidates.insert(0, (read.plate.clone(), read.confidence));
        }
        PastRead {
            read_id: stored.id,
            plate: read.plate,
            candidates,
            state: read.state,
            time: read.time,
            camera: read.camera,
        }
    }
}

impl ReadHistory for Store {
    fn reads_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<PastRead>, HistoryError> {
        let (from_ms, to_ms) = (from.timestamp_millis(), to.timestamp_millis());
        let reads = self
            .read(|conn| crate::store::records::reads_between(conn, from_ms, to_ms))
            .map_err(|err| HistoryError(err.to_string()))?;
        Ok(reads.into_iter().map(PastRead::from).collect())
    }
}

/// Stores each past-read hit as a new hit on its read (the most urgent entry gives the list
/// and priority), audited by the store as raised by `system`; returns the hits' ids.
pub fn record_hits(store: &Store, hits: &[PastReadHit], now: DateTime<Utc>) -> Result<Vec<i64>, StoreError> {
    hits.iter()
        .filter_map(|h| h.hit.top().map(|top| (h, top)))
        .map(|(h, top)| {
            let record = HitRecord::new(
                Some(h.read.read_id),
                &top.entry.plate,
                &top.entry.list,
                i32::from(top.entry.priority),
                None,
                now,
            );
            store.insert_hit(record)
        })
        .collect()
}

/// A past read that matches a new entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PastReadHit {
    /// The read.
    pub read: PastRead,
    /// The new entries it matches (entries that were already on the list are left out: their
    /// hits were raised when the read was made).
    pub hit: Hit,
}

/// Matches the reads of the last `window` against `new_index`, keeping only matches with
/// entries that `previous` (the list they replace, if any) did not hold.
pub fn check_past_reads(
    new_index: &HotlistIndex,
    previous: Option<&HotlistIndex>,
    history: &dyn ReadHistory,
    window: Duration,
    now: DateTime<Utc>,
) -> Result<Vec<PastReadHit>, HistoryError> {
    let mut hits = Vec::new();
    for read in history.reads_between(now - window, now)? {
        let mut candidates: Vec<ReadCandidate<'_>> =
            read.candidates.iter().map(|(text, confidence)| ReadCandidate { text, confidence: *confidence }).collect();
        if candidates.is_empty() {
            candidates.push(ReadCandidate { text: &read.plate, confidence: 1.0 });
        }
        // The entry must be in force now, whenever the read was made.
        let query = ReadQuery { candidates: &candidates, state: read.state.as_deref(), now };
        let Some(mut hit) = new_index.match_read(&query) else { continue };
        if let Some(previous) = previous {
            hit.matches.retain(|m| !previous.contains(&m.entry));
        }
        drop(candidates);
        if !hit.matches.is_empty() {
            hits.push(PastReadHit { read, hit });
        }
    }
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hotlist::{Category, HotlistEntry, MatchConfig, MatchKind};

    fn read(id: i64, plate: &str, hours_ago: i64, now: DateTime<Utc>) -> PastRead {
        PastRead {
            read_id: id,
            plate: plate.into(),
            candidates: vec![(plate.into(), 0.9)],
            state: Some("CA".into()),
            time: now - Duration::hours(hours_ago),
            camera: "front".into(),
        }
    }

    #[test]
    fn new_entries_find_reads_in_the_window_only() {
        let now = Utc::now();
        let history = MemoryHistory {
            reads: vec![
                read(1, "7AMB123", 2, now),
                read(2, "7AMBI23", 5, now),
                read(3, "7AMB123", 100, now),
                read(4, "5OLD555", 1, now),
                read(5, "9ZZZ999", 1, now),
            ],
        };
        let amber = HotlistEntry::new("7AMB123", Category::AmberAlert, "ncic");
        let old = HotlistEntry::new("5OLD555", Category::StolenVehicle, "svs");
        let previous = HotlistIndex::build(MatchConfig::default(), std::slice::from_ref(&old)).unwrap();
        let new = HotlistIndex::build(MatchConfig::default(), &[amber, old]).unwrap();
        let hits = check_past_reads(&new, Some(&previous), &history, Duration::hours(72), now).unwrap();
        let got: Vec<(i64, MatchKind)> = hits.iter().map(|h| (h.read.read_id, h.hit.matches[0].kind)).collect();
        assert_eq!(got, vec![(1, MatchKind::Exact), (2, MatchKind::Approximate)]);
        // Without a previous list, every entry is new.
        let all = check_past_reads(&new, None, &history, Duration::hours(72), now).unwrap();
        assert_eq!(all.len(), 3);
    }

    #[test]
    fn stored_reads_are_checked_and_hits_recorded() {
        use crate::store::NewRead;
        let (_dir, store) = crate::store::testing::temp_store();
        let now = Utc::now();
        let stored = |plate: &str, candidates: &str, hours_ago: i64| NewRead {
            time: now - Duration::hours(hours_ago),
            camera: "front".into(),
            officer: Some("o1".into()),
            plate: plate.into(),
            confidence: 0.8,
            candidates_json: candidates.into(),
            state: Some("CA".into()),
            gps: None,
            crop_png: None,
        };
        let ids = store
            .insert_reads(vec![
                stored("7AMB123", "[]", 3),
                // The best reading misses; an alternative matches.
                stored("7AMB128", r#"[{"text":"7AMB128","confidence":0.6},{"text":"7AMB123","confidence":0.3}]"#, 2),
                stored("7AMB123", "not json", 200),
                stored("1OTHER1", "[]", 1),
            ])
            .unwrap();
        let mut amber = HotlistEntry::new("7AMB123", Category::AmberAlert, "ncic");
        amber.priority = 1;
        let index = HotlistIndex::build(MatchConfig::default(), &[amber]).unwrap();
        let hits = check_past_reads(&index, None, &store, Duration::hours(72), now).unwrap();
        let read_ids: Vec<i64> = hits.iter().map(|h| h.read.read_id).collect();
        assert_eq!(read_ids, vec![ids[0], ids[1]]);
        assert_eq!(hits[1].hit.matches[0].read_text, "7AMB123");
        let hit_ids = record_hits(&store, &hits, now).unwrap();
        assert_eq!(hit_ids.len(), 2);
        let first = store.hit(hit_ids[0]).unwrap().unwrap();
        assert_eq!(
            (first.read_id, first.plate.as_str(), first.list.as_str(), first.priority),
            (Some(ids[0]), "7AMB123", "ncic", 1)
        );
        assert_eq!(first.state(), crate::store::HitState::New);
    }

    #[test]
    fn history_errors_are_returned() {
        struct Broken;
        impl ReadHistory for Broken {
            fn reads_between(&self, _: DateTime<Utc>, _: DateTime<Utc>) -> Result<Vec<PastRead>, HistoryError> {
                Err(HistoryError("database locked".into()))
            }
        }
        let index = HotlistIndex::empty(MatchConfig::default());
        let err = check_past_reads(&index, None, &Broken, Duration::hours(1), Utc::now()).unwrap_err();
        assert_eq!(err.to_string(), "cannot read past reads: database locked");
    }
}
