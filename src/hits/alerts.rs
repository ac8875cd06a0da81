//! The officer's queue of open hits: several hits wait in priority order, an unacknowledged
//! hit keeps alarming, and a repeat read of a plate whose hit is still open does not raise a
//! second alarm (field lesson: repeated hits on one plate within minutes are noise).

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
}

/// The open hits of this shift.
#[derive(Debug, Default, Clone)]
pub struct AlertQueue {
    hits: Vec<HitRecord>,
}

impl AlertQueue {
    /// Whether a match on `plate` is a new hit or a repeat of an open one.
    pub fn offer(&self, plate: &str) -> Raised {
        match self.hits.iter().find(|h| h.plate == plate && is_open(h.state)) {
            Some(open) => Raised::Repeat(open.id),
            None => Raised::New,
        }
    }

    /// Adds a stored hit (its id set).
    pub fn push(&mut self, hit: HitRecord) {
        self.hits.push(hit);
    }

    /// Replaces a hit after a transition; finished hits leave the queue.
    pub fn update(&mut self, hit: &HitRecord) {
        self.hits.retain(|h| h.id != hit.id);
        if is_open(hit.state) {
            self.hits.push(hit.clone());
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
        out.sort_by_key(|h| (h.state != HitState::New, h.priority, h.raised, h.id));
        out
    }

    /// The hit the alarm is for: the most urgent unacknowledged one.
    pub fn alarming(&self) -> Option<&HitRecord> {
        self.ordered().into_iter().find(|h| h.state == HitState::New)
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
        self.hits.iter().filter(|h| h.state == HitState::New).map(|h| (now - h.raised).num_milliseconds()).max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hits::lifecycle::{Disposition, HitAction, apply};

    fn hit(id: i64, plate: &str, priority: i32, secs: i64) -> HitRecord {
        let t0 = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        HitRecord {
            id,
            ..HitRecord::new(None, plate, "svs", priority, Some("o"), t0 + chrono::Duration::seconds(secs))
        }
    }

    #[test]
    fn repeats_of_an_open_hit_do_not_alarm_again() {
        let mut q = AlertQueue::default();
        assert_eq!(q.offer("ABC123"), Raised::New);
        q.push(hit(1, "ABC123", 3, 0));
        assert_eq!(q.offer("ABC123"), Raised::Repeat(1));
        assert_eq!(q.offer("XYZ999"), Raised::New);
        let mut h = q.get(1).cloned().unwrap();
        apply(&mut h, &HitAction::Acknowledge, "o", Utc::now()).unwrap();
        q.update(&h);
        assert_eq!(q.offer("ABC123"), Raised::Repeat(1), "still open while the workflow runs");
        apply(&mut h, &HitAction::Close { disposition: Disposition::NotLocated }, "o", Utc::now()).unwrap();
        q.update(&h);
        assert!(q.is_empty());
        assert_eq!(q.offer("ABC123"), Raised::New, "a closed hit may alarm again");
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
        q.update(&amber);
        assert_eq!(q.alarming().map(|h| h.id), Some(4), "the acknowledged hit stops alarming");
        let order: Vec<i64> = q.ordered().iter().map(|h| h.id).collect();
        assert_eq!(order, [4, 3, 1, 2]);
    }
}
