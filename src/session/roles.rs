//! Roles and what each may do. Part of the policy core: every privileged operation asks
//! [`Role::allows`] before acting and audits a refusal.

use serde::{Deserialize, Serialize};

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs ALPR in the car.
    Officer,
    /// Reviews usage, runs random audits, releases data.
    Supervisor,
    /// The ALPR Administrator: users, cameras, hot-list sources and keys, retention.
    Administrator,
}

/// Something only some roles may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Log on and run ALPR in a patrol car.
    UseAlpr,
    /// Search or view stored reads (with a purpose and case number).
    SearchReads,
    /// Read usage reports.
    ViewUsageReport,
    /// Draw and review random audits.
    RunRandomAudit,
    /// View or verify the audit log.
    ViewAuditLog,
    /// Release stored reads to another agency.
    ExportData,
    /// Place or release a case hold on reads.
    PlaceHold,
    /// Create, certify, suspend, reactivate, deactivate users and reset PINs.
    ManageUsers,
    /// Add, retire and configure cameras.
    ManageCameras,
    /// Configure hot-list sources and their keys.
    ManageHotlistSources,
    /// Set retention and run the purge by hand.
    ManageRetention,
    /// Rotate the key the database and the hot-list cache are encrypted under.
    ManageKeys,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 12] = [
        Self::UseAlpr,
        Self::SearchReads,
        Self::ViewUsageReport,
        Self::RunRandomAudit,
        Self::ViewAuditLog,
        Self::ExportData,
        Self::PlaceHold,
        Self::ManageUsers,
        Self::ManageCameras,
        Self::ManageHotlistSources,
        Self::ManageRetention,
        Self::ManageKeys,
    ];
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 3] = [Self::Officer, Self::Supervisor, Self::Administrator];

    /// Whether this role may do `permission`. Supervisors oversee officers; the
    /// administrator manages the system. The administrator is deliberately not a
    /// supervisor: random audits are the supervisors' check on everyone, the administrator
    /// included, and a supervisor does not manage accounts.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission as P;
        match self {
            Self::Officer => matches!(permission, P::UseAlpr | P::SearchReads),
            Self::Supervisor => matches!(
                permission,
                P::UseAlpr
                    | P::SearchReads
                    | P::ViewUsageReport
                    | P::RunRandomAudit
                    | P::ViewAuditLog
                    | P::ExportData
                    | P::PlaceHold
            ),
            Self::Administrator => matches!(
                permission,
                P::SearchReads
                    | P::ViewUsageReport
                    | P::ViewAuditLog
                    | P::ExportData
                    | P::PlaceHold
                    | P::ManageUsers
                    | P::ManageCameras
                    | P::ManageHotlistSources
                    | P::ManageRetention
                    | P::ManageKeys
            ),
        }
    }

    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Officer => "officer",
            Self::Supervisor => "supervisor",
            Self::Administrator => "administrator",
        }
    }

    /// Parses the stored or typed text.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text.trim().to_ascii_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(role: Role, allowed: &[Permission]) {
        for p in Permission::ALL {
            assert_eq!(role.allows(p), allowed.contains(&p), "{role:?} {p:?}");
        }
    }

    #[test]
    fn permission_table() {
        use Permission as P;
        check(Role::Officer, &[P::UseAlpr, P::SearchReads]);
        check(
            Role::Supervisor,
            &[
                P::UseAlpr,
                P::SearchReads,
                P::ViewUsageReport,
                P::RunRandomAudit,
                P::ViewAuditLog,
                P::ExportData,
                P::PlaceHold,
            ],
        );
        check(
            Role::Administrator,
            &[
                P::SearchReads,
                P::ViewUsageReport,
                P::ViewAuditLog,
                P::ExportData,
                P::PlaceHold,
                P::ManageUsers,
                P::ManageCameras,
                P::ManageHotlistSources,
                P::ManageRetention,
                P::ManageKeys,
            ],
        );
    }

    #[test]
    fn role_names() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse(" Supervisor "), Some(Role::Supervisor));
        assert_eq!(Role::parse("chief"), None);
    }
}
