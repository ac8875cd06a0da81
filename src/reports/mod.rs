//! Oversight reports over the store: the supervisors' usage report, random audits of data
//! accesses and hit decisions, searches of stored reads, case holds, and data release to
//! other agencies. Every function checks the actor's role first and audits what it shows.

pub mod anchor;
pub mod exigent;
pub mod release;
pub mod sample;
pub mod search;
pub mod usage;

use crate::audit::{AuditAction, AuditEvent};
use crate::session::{SessionError, User};
use crate::store::{Store, StoreError};

/// Errors of the report functions.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Role or account check failed (already audited).
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The request was refused by policy (already audited).
    #[error("refused: {0}")]
    Refused(String),
    /// The request is incomplete or inconsistent.
    #[error("{0}")]
    Invalid(String),
    /// Files could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The path concerned.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Refuses an access with no purpose or no case number, and audits the refusal: a blank
/// purpose is an attempt at the data like any other, and the auditor must see it.
pub(crate) fn require_purpose(
    store: &Store,
    actor: &User,
    action: AuditAction,
    object: &str,
    purpose: &str,
    case_number: &str,
) -> Result<(), ReportError> {
    if purpose.trim().is_empty() || case_number.trim().is_empty() {
        let why = "a purpose and a case or incident number are required";
        let event = AuditEvent::new(&actor.id, &actor.organization, action, object, &format!("refused: {why}"))
            .with_purpose(purpose, case_number);
        store.audit(event)?;
        return Err(ReportError::Invalid(why.into()));
    }
    Ok(())
}

/// Quotes one CSV field when it needs it (RFC 4180).
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_owned() }
}

/// Joins fields into one CSV line with a trailing newline.
pub fn csv_line<S: AsRef<str>>(fields: &[S]) -> String {
    let mut line = fields.iter().map(|f| csv_field(f.as_ref())).collect::<Vec<_>>().join(",");
    line.push('\n');
    line
}

#[cfg(test)]
pub(crate) mod testing {
    //! Fixtures shared by the report tests: a store with an administrator, a supervisor and
    //! an officer, all certified.
    use chrono::Utc;

    use crate::session::{AccountRules, Accounts, NewUser, Role, User};
    use crate::store::Store;

    /// Creates the three users and returns them logged in (admin, supervisor, officer).
    pub fn users(store: &Store) -> (User, User, User) {
        let accounts = Accounts::new(store, AccountRules::default());
        let today = Utc::now().date_naive();
        let new = |id: &str, role| NewUser {
            id: id.into(),
            name: id.into(),
            role,
            pin: "123456".into(),
            trained_on: Some(today - chrono::Duration::days(5)),
            certified_until: Some(today + chrono::Duration::days(300)),
        };
        accounts.bootstrap_admin(new("a1", Role::Administrator)).unwrap();
        let admin = accounts.authenticate("a1", "123456", Utc::now()).unwrap();
        accounts.create_user(&admin, new("s1", Role::Supervisor)).unwrap();
        accounts.create_user(&admin, new("o1", Role::Officer)).unwrap();
        let sup = accounts.authenticate("s1", "123456", Utc::now()).unwrap();
        let off = accounts.authenticate("o1", "123456", Utc::now()).unwrap();
        (admin, sup, off)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        assert_eq!(csv_field(input), expected, "{input:?}");
    }

    #[test]
    fn csv_quoting() {
        check("7ABC123", "7ABC123");
        check("a,b", "\"a,b\"");
        check("say \"hi\"", "\"say \"\"hi\"\"\"");
        check("two\nlines", "\"two\nlines\"");
        check("", "");
        assert_eq!(csv_line(&["a", "b,c"]), "a,\"b,c\"\n");
    }
}
