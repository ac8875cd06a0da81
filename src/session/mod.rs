//! Sessions and accounts: users, roles, training and certification, PIN hashing, the log-on
//! rules (certification gate, lockout after repeated failures, suspension after inactivity,
//! deactivation on separation), the idle-lock rule, the shift a log-on opens, and the
//! administrator's system settings (cameras, hot-list sources and key, retention).
//!
//! Part of the policy core: no GUI, camera or audio dependency. Every decision is audited
//! through the store in the same transaction as the change it makes.

pub mod admin;
pub mod checklist;
pub mod roles;
pub mod users;

use chrono::{DateTime, Utc};

pub use roles::{Permission, Role};
pub use users::{
    AccountRules, Accounts, DEMO_USERS, LoginRefusal, NewUser, SessionError, User, UserStatus, seed_demo_users,
};

/// True when the console must lock: no input for `idle_lock_minutes` (0 disables the lock).
/// The officer unlocks it with the PIN again (CJIS session lock).
pub fn idle_locked(last_input: DateTime<Utc>, now: DateTime<Utc>, idle_lock_minutes: u32) -> bool {
    idle_lock_minutes > 0 && now - last_input >= chrono::Duration::minutes(i64::from(idle_lock_minutes))
}

/// A logged-on user and the shift the log-on opened.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// Who is logged on.
    pub user: User,
    /// The shift row opened at log-on.
    pub shift_id: i64,
    /// When the session began.
    pub started: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(idle_minutes: i64, limit: u32, expected: bool) {
        let now = Utc::now();
        assert_eq!(
            idle_locked(now - chrono::Duration::minutes(idle_minutes), now, limit),
            expected,
            "{idle_minutes} of {limit}"
        );
    }

    #[test]
    fn idle_lock_rule() {
        check(0, 15, false);
        check(14, 15, false);
        check(15, 15, true);
        check(600, 15, true);
        check(600, 0, false);
    }
}
