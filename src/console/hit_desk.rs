//! The hit desk: this shift's hits as the screens show them. The open ones in alert order
//! (which one alarms), every hit of the shift, what each hit screen shows besides the record,
//! and how long hits took to be committed. The matcher raises hits and the lifecycle decides
//! them; the desk only keeps what they did in order, so it has no store, thread or screen.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};

use super::HitDetail;
use super::matcher::Timing;
use crate::hits::{AlertQueue, HitRecord, is_open};

/// Hits whose latency figures are kept for the health panel.
const LATENCY_KEPT: usize = 200;

/// This shift's hits.
#[derive(Debug)]
pub(crate) struct HitDesk {
    alerts: AlertQueue,
    details: HashMap<i64, HitDetail>,
    shift_hits: Vec<HitRecord>,
    /// Per hit, how long it took to be committed.
    latency_ms: VecDeque<Timing>,
}

impl HitDesk {
    /// An empty desk whose decided hits stay quiet for `quiet` (the re-alarm rule).
    pub(crate) fn new(quiet: chrono::Duration) -> Self {
        Self {
            alerts: AlertQueue::with_quiet_period(quiet),
            details: HashMap::new(),
            shift_hits: Vec::new(),
            latency_ms: VecDeque::new(),
        }
    }

    /// A hit the matcher committed: queued by priority (it alarms if it is the most urgent),
    /// kept for the shift, its timing kept for the health figures.
    pub(crate) fn raised(&mut self, record: HitRecord, entry: &str, detail: HitDetail, latency_ms: Timing) {
        self.details.insert(record.id, detail);
        self.alerts.push_on(record.clone(), entry);
        self.shift_hits.push(record);
        self.latency_ms.push_back(latency_ms);
        if self.latency_ms.len() > LATENCY_KEPT {
            self.latency_ms.pop_front();
        }
    }

    /// An open hit, to take a lifecycle step on.
    pub(crate) fn open(&self, id: i64) -> Option<&HitRecord> {
        self.alerts.get(id)
    }

    /// A step committed on `hit`: the queue and the shift's record follow it; a hit that
    /// ended keeps `decision` (the step's words) for its screen.
    pub(crate) fn stepped(&mut self, hit: &HitRecord, decision: String, now: DateTime<Utc>) {
        if !is_open(hit.state())
            && let Some(shown) = self.details.get_mut(&hit.id)
        {
            shown.decision = Some(decision);
        }
        self.alerts.update(hit, now);
        if let Some(slot) = self.shift_hits.iter_mut().rev().find(|h| h.id == hit.id) {
            *slot = hit.clone();
        }
    }

    /// The open hits, most urgent first.
    pub(crate) fn open_hits(&self) -> Vec<&HitRecord> {
        self.alerts.ordered()
    }

    /// The hit that should be alarming (tone and banner), if any.
    pub(crate) fn alarming(&self) -> Option<&HitRecord> {
        self.alerts.alarming()
    }

    /// A hit of this shift, open or finished.
    pub(crate) fn hit(&self, id: i64) -> Option<&HitRecord> {
        self.alerts.get(id).or_else(|| self.shift_hits.iter().rev().find(|h| h.id == id))
    }

    /// What the hit screens show besides the record.
    pub(crate) fn detail(&self, id: i64) -> Option<&HitDetail> {
        self.details.get(&id)
    }

    /// This shift's hits, newest first.
    pub(crate) fn shift_hits(&self) -> impl Iterator<Item = &HitRecord> {
        self.shift_hits.iter().rev()
    }

    /// The kept hits' timings, oldest first.
    pub(crate) fn latencies(&self) -> impl Iterator<Item = Timing> + '_ {
        self.latency_ms.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Instant;

    use super::*;
    use crate::console::RecentRead;
    use crate::hits::{HitAction, HitState, apply};
    use crate::hotlist::Hit;

    fn detail(plate: &str, t: DateTime<Utc>) -> HitDetail {
        HitDetail {
            hit: Hit { matches: Vec::new() },
            read: RecentRead {
                id: 1,
                time: t,
                text: plate.into(),
                confidence: 0.9,
                camera: "front".into(),
                crop: Arc::new(image::RgbImage::new(2, 1)),
                hit_id: None,
                gps: None,
                state: None,
            },
            frame: None,
            received: Instant::now(),
            decision: None,
        }
    }

    fn raise(desk: &mut HitDesk, id: i64, plate: &str, priority: i32, t: DateTime<Utc>) {
        let mut record = HitRecord::new(Some(id), plate, "svs", priority, Some("o1"), t);
        record.id = id;
        desk.raised(
            record,
            &format!("svs:{plate}"),
            detail(plate, t),
            Timing { frame_ms: 90.0, latency_ms: 600.0, commit_ms: 15.0 },
        );
    }

    #[test]
    fn the_most_urgent_open_hit_alarms_and_a_decided_one_keeps_its_words() {
        let t = Utc::now();
        let mut desk = HitDesk::new(chrono::Duration::minutes(30));
        raise(&mut desk, 1, "7ABC123", 3, t);
        raise(&mut desk, 2, "8AMB111", 1, t);
        assert_eq!(desk.alarming().map(|h| h.id), Some(2), "priority 1 first");
        assert_eq!(desk.open_hits().len(), 2);

        let mut hit = desk.open(2).unwrap().clone();
        apply(&mut hit, &HitAction::Acknowledge, "o1", t).unwrap();
        let event = apply(&mut hit, &HitAction::Misread { reason: "8 read as B".into() }, "o1", t).unwrap();
        desk.stepped(&hit, event.detail.clone(), t);
        assert!(desk.open(2).is_none(), "a misread is no longer open");
        assert_eq!(desk.hit(2).map(HitRecord::state), Some(HitState::Rejected), "still the shift's");
        assert_eq!(desk.detail(2).and_then(|d| d.decision.as_deref()), Some(event.detail.as_str()));
        assert_eq!(desk.alarming().map(|h| h.id), Some(1));
        let newest_first: Vec<i64> = desk.shift_hits().map(|h| h.id).collect();
        assert_eq!(newest_first, [2, 1]);
    }

    #[test]
    fn an_open_step_leaves_no_decision_and_the_latencies_are_a_window() {
        let t = Utc::now();
        let mut desk = HitDesk::new(chrono::Duration::minutes(30));
        for id in 0..(LATENCY_KEPT as i64 + 10) {
            raise(&mut desk, id, &format!("P{id}"), 3, t);
        }
        assert_eq!(desk.latencies().count(), LATENCY_KEPT);
        let mut hit = desk.open(5).unwrap().clone();
        let event = apply(&mut hit, &HitAction::Acknowledge, "o1", t).unwrap();
        desk.stepped(&hit, event.detail, t);
        assert_eq!(desk.open(5).map(HitRecord::state), Some(HitState::Acknowledged));
        assert!(desk.detail(5).unwrap().decision.is_none(), "still open: nothing decided");
    }
}
