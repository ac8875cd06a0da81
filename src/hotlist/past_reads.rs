//! New entries against past reads: when an entry arrives (an AMBER alert in an update, a BOLO
//! typed in by an officer), the reads stored over a recent window are matched against it, so a
//! car that passed an hour ago raises a hit now.
//!
//! Part of the policy core. The store implements [`ReadHistory`]; [`MemoryHistory`] serves
//! tests and demo mode.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::index::{Hit, HotlistIndex, ReadCandidate, ReadQuery};

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
