//! Audit events: what every module records about access to ALPR data and every decision.
//!
//! Part of the policy core. The store's hash-chained log implements [`AuditSink`]; tests and
//! tools that run without a database use [`MemoryAudit`]. The fields are the ones Civil Code
//! 1798.90.52 asks of each access record: date and time, the plate or query terms, the
//! username and organization, and the purpose.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The kinds of audited event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A successful log-on.
    LogonSuccess,
    /// A refused log-on (wrong PIN, not certified, suspended...).
    LogonFailure,
    /// An account locked after repeated failures.
    Lockout,
    /// A log-off.
    Logoff,
    /// The console locked after inactivity, or was unlocked.
    SessionLock,
    /// ALPR activated for the shift.
    Activate,
    /// ALPR deactivated mid-shift (with a reason).
    Deactivate,
    /// A camera inspection checklist result.
    Checklist,
    /// An equipment report filed for the ALPR Administrator.
    EquipmentReport,
    /// A hot-list update (success or failure).
    HotlistUpdate,
    /// A hot-list import from a file.
    HotlistImport,
    /// A manual (BOLO) entry added.
    BoloAdd,
    /// A manual (BOLO) entry removed.
    BoloRemove,
    /// A hit raised by a read.
    HitRaised,
    /// A transition of a hit's lifecycle.
    HitTransition,
    /// A search or view of stored ALPR data.
    Search,
    /// An export (release) of stored data.
    Export,
    /// A retention purge.
    Purge,
    /// An administrative change (users, certification, cameras, sources, retention).
    Admin,
    /// A PIN change or reset.
    PinChange,
    /// A view of the audit log itself.
    AuditView,
    /// A random-audit sample drawn or reviewed.
    AuditReview,
}

/// One audited event, before the log gives it a sequence number and hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When it happened.
    pub time: DateTime<Utc>,
    /// Who did it (user id, or `system`).
    pub user: String,
    /// The user's organization.
    pub organization: String,
    /// What was done.
    pub action: AuditAction,
    /// The plate, query terms or object acted on.
    pub object: String,
    /// The stated purpose, where one is required.
    pub purpose: Option<String>,
    /// The case or incident number, where one applies.
    pub case_number: Option<String>,
    /// What came of it (`ok`, `refused: ...`, counts...).
    pub outcome: String,
}

impl AuditEvent {
    /// A new event at the current time with no purpose or case number.
    pub fn new(user: &str, organization: &str, action: AuditAction, object: &str, outcome: &str) -> Self {
        Self {
            time: Utc::now(),
            user: user.to_owned(),
            organization: organization.to_owned(),
            action,
            object: object.to_owned(),
            purpose: None,
            case_number: None,
            outcome: outcome.to_owned(),
        }
    }

    /// Adds the purpose and case number of an access to stored data.
    pub fn with_purpose(mut self, purpose: &str, case_number: &str) -> Self {
        self.purpose = Some(purpose.to_owned());
        self.case_number = Some(case_number.to_owned());
        self
    }
}

/// Failure to record an audit event. Callers must surface it: an action that cannot be
/// audited is not silently carried out.
#[derive(Debug, thiserror::Error)]
#[error("audit log write failed: {0}")]
pub struct AuditError(pub String);

/// Something that durably records audit events.
pub trait AuditSink: Send + Sync {
    /// Records one event; returns only once it is durable.
    fn record(&self, event: AuditEvent) -> Result<(), AuditError>;
}

/// An in-memory audit sink for tests and tools without a database.
#[derive(Debug, Default)]
pub struct MemoryAudit {
    events: Mutex<Vec<AuditEvent>>,
}

impl MemoryAudit {
    /// A copy of everything recorded so far.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.events.lock().map(|events| events.clone()).unwrap_or_default()
    }
}

impl AuditSink for MemoryAudit {
    fn record(&self, event: AuditEvent) -> Result<(), AuditError> {
        self.events.lock().map_err(|_| AuditError("memory audit poisoned".into()))?.push(event);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sink_keeps_events_in_order() {
        let sink = MemoryAudit::default();
        sink.record(AuditEvent::new("u1", "PD", AuditAction::LogonSuccess, "", "ok")).unwrap();
        sink.record(AuditEvent::new("u1", "PD", AuditAction::Search, "7ABC123", "3 rows").with_purpose("stolen vehicle", "C-1"))
            .unwrap();
        let events = sink.events();
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].case_number.as_deref(), Some("C-1"));
        assert_eq!(events[0].action, AuditAction::LogonSuccess);
    }
}
