//! The shift's clock: how long ALPR has been active (the usage report's figure, shown to the
//! officer), when the officer last touched the screen, and the console's lock (the idle
//! timer's or the officer's own). The console records each change in the store; the
//! arithmetic and the lock rule are here, tested on their own.

use chrono::{DateTime, Duration, Utc};

use crate::session::idle_locked;

/// Who locked the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lock {
    /// The idle timer.
    Idle,
    /// The officer (Lock button).
    ByHand,
}

/// Active time, last input and the lock for one shift.
#[derive(Debug, Clone)]
pub(crate) struct Activity {
    active_since: Option<DateTime<Utc>>,
    active_before: Duration,
    last_input: DateTime<Utc>,
    lock: Option<Lock>,
}

impl Activity {
    /// Nothing active, unlocked, last touched `now`.
    pub(crate) fn new(now: DateTime<Utc>) -> Self {
        Self { active_since: None, active_before: Duration::zero(), last_input: now, lock: None }
    }

    /// ALPR running now.
    pub(crate) fn is_active(&self) -> bool {
        self.active_since.is_some()
    }

    /// ALPR starts (Go active, Reactivate). False when it was running already.
    pub(crate) fn activate(&mut self, now: DateTime<Utc>) -> bool {
        if self.active_since.is_some() {
            return false;
        }
        self.active_since = Some(now);
        true
    }

    /// ALPR stops; the time it ran joins the shift's. False when it was not running.
    pub(crate) fn deactivate(&mut self, now: DateTime<Utc>) -> bool {
        let Some(since) = self.active_since.take() else { return false };
        self.active_before += (now - since).max(Duration::zero());
        true
    }

    /// Time ALPR has been active this shift, up to `now`.
    pub(crate) fn active_time(&self, now: DateTime<Utc>) -> Duration {
        self.active_before + self.active_since.map_or(Duration::zero(), |since| (now - since).max(Duration::zero()))
    }

    /// The officer touched the screen: the idle timer starts again.
    pub(crate) fn touch(&mut self, now: DateTime<Utc>) {
        self.last_input = now;
    }

    /// Locks the console when it has been idle for `idle_lock_minutes` (0: never). True
    /// when it locked just now (to be audited once).
    pub(crate) fn lock_if_idle(&mut self, now: DateTime<Utc>, idle_lock_minutes: u32) -> bool {
        if self.lock.is_some() || !idle_locked(self.last_input, now, idle_lock_minutes) {
            return false;
        }
        self.lock = Some(Lock::Idle);
        true
    }

    /// The officer locks the console.
    pub(crate) fn lock_by_hand(&mut self) {
        self.lock = Some(Lock::ByHand);
    }

    /// The PIN opened it.
    pub(crate) fn unlock(&mut self) {
        self.lock = None;
    }

    /// Locked, and by whom.
    pub(crate) fn lock(&self) -> Option<Lock> {
        self.lock
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default() + Duration::minutes(minutes)
    }

    #[test]
    fn active_time_adds_up_across_deactivations() {
        let mut a = Activity::new(at(0));
        assert_eq!(a.active_time(at(10)), Duration::zero());
        assert!(a.activate(at(10)));
        assert!(!a.activate(at(15)), "already active");
        assert_eq!(a.active_time(at(40)), Duration::minutes(30));
        assert!(a.deactivate(at(40)));
        assert!(!a.deactivate(at(45)), "not active");
        assert_eq!(a.active_time(at(100)), Duration::minutes(30), "paused while deactivated");
        assert!(a.activate(at(100)));
        assert_eq!(a.active_time(at(130)), Duration::minutes(60));
        assert!(a.is_active());
    }

    #[test]
    fn the_idle_lock_comes_once_after_the_idle_time_and_touches_push_it_back() {
        let mut a = Activity::new(at(0));
        assert!(!a.lock_if_idle(at(9), 10));
        a.touch(at(9));
        assert!(!a.lock_if_idle(at(18), 10), "touched at 9: idle 9 minutes only");
        assert!(a.lock_if_idle(at(19), 10));
        assert!(!a.lock_if_idle(at(30), 10), "locked already: audited once");
        assert_eq!(a.lock(), Some(Lock::Idle));
        a.unlock();
        assert_eq!(a.lock(), None);
        assert!(!Activity::new(at(0)).lock_if_idle(at(10_000), 0), "0 minutes: never");
    }

    #[test]
    fn a_lock_by_hand_is_told_apart_from_the_idle_lock() {
        let mut a = Activity::new(at(0));
        a.lock_by_hand();
        assert_eq!(a.lock(), Some(Lock::ByHand));
        assert!(!a.lock_if_idle(at(60), 10), "already locked by hand");
        assert_eq!(a.lock(), Some(Lock::ByHand));
    }
}
