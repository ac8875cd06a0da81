//! Who is acting on the hot lists (loading, importing, entering a BOLO), for the audit log.

use serde::Serialize;

use crate::audit::{AuditAction, AuditEvent};

/// Who is acting, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    /// User id, or `system` for scheduled work.
    pub user: String,
    /// The user's organization.
    pub organization: String,
}

impl Actor {
    /// An actor.
    pub fn new(user: &str, organization: &str) -> Self {
        Self { user: user.to_owned(), organization: organization.to_owned() }
    }

    pub(crate) fn event(&self, action: AuditAction, object: &str, outcome: &str) -> AuditEvent {
        AuditEvent::new(&self.user, &self.organization, action, object, outcome)
    }
}
