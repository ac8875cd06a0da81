//! The officer's queue of open hits: several hits wait in priority order, an unacknowledged
//! hit keeps alarming, and a repeat read of a plate whose hit is still open does not raise a
//! second alarm (field lesson: repeated hits on one plate within minutes are noise). Nor does
//! a read of a plate whose hit was just decided (rejected or closed), for a quiet period, as
//! on the commercial consoles, unless the entry it matched changed: the repeat is recorded
//! and shown on the decided hit instead.

use chrono::{DateTime, Utc};

use super::lifecycle::is_open;
use super::record::{HitRecord, HitState};

/// What happened to a match offered to the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raised {
    /// A new hit: store it and alarm.
    New,
    /// The plate already has an open hit (its id): no new alarm.
    Repeat(i64),
    /// The plate's hit (its id) was decided within the quiet period and the entry has not
    /// changed: no alarm, the read goes with the decided hit.
    Quiet(i64),
}

/// A decided hit, remembered for the quiet period.
#[derive(Debug, Clone)]
struct Decided {
    plate: String,
    entry: String,
    hit_id: i64,
    until: DateTime<Utc>,
}

/// The open hits of this shift, and the recently decided ones.
#[derive(Debug, Default, Clone)]
pub struct AlertQueue {
    hits: Vec<HitRecord>,
    /// What each hit matched (its entry's fingerprint), for the quiet period.
    entries: Vec<(i64, String)>,
    decided: Vec<Decided>,
    quiet: chrono::Duration,
}

impl AlertQueue {
    /// A queue whose decided hits stay quiet for `quiet` (zero: they alarm again at once).
    pub fn with_quiet_period(quiet: chrono::Duration) -> Self {
        Self { quiet, ..Self::default() }
    }

    /// Whether a match of `plate` on the entry fingerprinted `entry` at `now` is a new hit,
    /// a repeat of an open one, or a read of a hit decided in the quiet period.
    pub fn offer(&self, plate: &str, entry: &str, now: DateTime<Utc>) -> Raised {
        if let Some(open) = self.hits.iter().find(|h| h.plate == plate && is_open(h.state())) {
            return Raised::Repeat(open.id);
        }
        match self.decided.iter().rev().find(|d| d.plate == plate && d.entry == entry && now < d.until) {
            Some(decided) => Raised::Quiet(decided.hit_id),
            None => Raised::New,
        }
    }

    /// Adds a stored hit (its id set) raised on the entry fingerprinted `entry`.
    pub fn push_on(&mut self, hit: HitRecord, entry: &str) {
        self.entries.push((hit.id, entry.to_owned()));
        self.hits.push(hit);
    }

    /// Adds a stored hit (its id set) whose entry is not known apart.
    pub fn push(&mut self, hit: HitRecord) {
        let entry = format!("{}:{}", hit.list, hit.plate);
        self.push_on(hit, &entry);
    }

    /// Replaces a hit after a transition; finished hits leave the queue and start their quiet
    /// period from `now`.
    pub fn update(&mut self, hit: &HitRecord, now: DateTime<Utc>) {
        self.hits.retain(|h| h.id != hit.id);
        if is_open(hit.state()) {
            self.hits.push(hit.clone());
            return;
        }
        self.decided.retain(|d| d.until > now);
        if let Some(index) = self.entries.iter().position(|(id, _)| *id == hit.id) {
            let (_, entry) = self.entries.swap_remove(index);
            if self.quiet > chrono::Duration::zero() {
                self.decided.push(Decided { plate: hit.plate.clone(), entry, hit_id: hit.id, until: now + self.quiet });
            }
        }
    }

    /// A hit by id.
    pub fn get(&self, id: i64) -> Option<&HitRecord> {
        self.hits.iter().find(|h| h.id == id)
    }

    /// Open hits, most urgent first: unacknowledged before acknowledged, then by priority
    /// (1 first), then oldest first.
    pub fn ordered(&self) -> Vec<&HitRecord> {
        let mut out: Vec<&HitRecord> = self.hits.iter().collect();
        out.sort_by_key(|h| (h.state() != HitState::New, h.priority, h.raised, h.id));
        out
    }

    /// The hit the alarm is for: the most urgent unacknowledged one.
    pub fn alarming(&self) -> Option<&HitRecord> {
        self.ordered().into_iter().find(|h| h.state() == HitState::New)
    }

    /// Number of open hits.
    pub fn len(&self) -> usize {
        self.hits.len()
    }

    /// True when no hit is open.
    pub fn is_empty(&self) -> bool {
        self.hits.is_empty()
    }

    /// Milliseconds the oldest unacknowledged hit has waited, for the status bar.
    pub fn oldest_unacknowledged_millis(&self, now: DateTime<Utc>) -> Option<i64> {
        self.hits.iter().filter(|h| h.state() == HitState::New).map(|h| (now - h.raised).num_milliseconds()).max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hits::lifecycle::{Disposition, HitAction, apply};

    fn hit(id: i64, plate: &str, priority: i32, secs: i64) -> HitRecord {
        let t0 = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let mut hit = HitRecord::new(None, plate, "svs", priority, Some("o"), t0 + chrono::Duration::seconds(secs));
        hit.id = id;
        hit
    }

    #[test]
    fn repeats_of_an_open_hit_do_not_alarm_again() {
        let now = Utc::now();
        let mut q = AlertQueue::default();
        assert_eq!(q.offer("ABC123", "e", now), Raised::New);
        q.push_on(hit(1, "ABC123", 3, 0), "e");
        assert_eq!(q.offer("ABC123", "e", now), Raised::Repeat(1));
        assert_eq!(q.offer("XYZ999", "e", now), Raised::New);
        let mut h = q.get(1).cloned().unwrap();
        apply(&mut h, &HitAction::Acknowledge, "o", now).unwrap();
        q.update(&h, now);
        assert_eq!(q.offer("ABC123", "e", now), Raised::Repeat(1), "still open while the workflow runs");
        apply(&mut h, &HitAction::Close { disposition: Disposition::NotLocated }, "o", now).unwrap();
        q.update(&h, now);
        assert!(q.is_empty());
        assert_eq!(q.offer("ABC123", "e", now), Raised::New, "with no quiet period a closed hit alarms again");
    }

    #[test]
    fn a_decided_hit_does_not_alarm_again_within_the_quiet_period() {
        let now = Utc::now();
        let minutes = chrono::Duration::minutes;
        let mut q = AlertQueue::with_quiet_period(minutes(30));
        q.push_on(hit(1, "TEST123", 3, 0), "svs:TEST123:v1");
        let mut h = q.get(1).cloned().unwrap();
        apply(&mut h, &HitAction::Acknowledge, "o", now).unwrap();
        apply(&mut h, &HitAction::Misread { reason: "8 read as B".into() }, "o", now).unwrap();
        q.update(&h, now);
        assert!(q.is_empty() && q.alarming().is_none());
        // Seconds later, and 29 minutes later: quiet, the read goes with hit 1.
        assert_eq!(q.offer("TEST123", "svs:TEST123:v1", now + chrono::Duration::seconds(41)), Raised::Quiet(1));
        assert_eq!(q.offer("TEST123", "svs:TEST123:v1", now + minutes(29)), Raised::Quiet(1));
        // The entry changed (a new list version, another list): alarm at once.
        assert_eq!(q.offer("TEST123", "svs:TEST123:v2", now + minutes(1)), Raised::New);
        // After the quiet period: alarm again.
        assert_eq!(q.offer("TEST123", "svs:TEST123:v1", now + minutes(31)), Raised::New);
    }

    #[test]
    fn hits_queue_by_priority_unacknowledged_first() {
        let mut q = AlertQueue::default();
        q.push(hit(1, "LOW1", 5, 0));
        q.push(hit(2, "AMBER1", 1, 10));
        q.push(hit(3, "SV1", 3, 5));
        q.push(hit(4, "SV2", 3, 1));
        let order: Vec<i64> = q.ordered().iter().map(|h| h.id).collect();
        assert_eq!(order, [2, 4, 3, 1]);
        let mut amber = q.get(2).cloned().unwrap();
        apply(&mut amber, &HitAction::Acknowledge, "o", Utc::now()).unwrap();
        q.update(&amber, Utc::now());
        assert_eq!(q.alarming().map(|h| h.id), Some(4), "the acknowledged hit stops alarming");
        let order: Vec<i64> = q.ordered().iter().map(|h| h.id).collect();
        assert_eq!(order, [4, 3, 1, 2]);
    }
}
