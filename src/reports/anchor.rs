//! Anchoring the audit chain: a supervisor signs the chain's head with the agency's anchor
//! key, carries the signed line off the car, and the car keeps a copy (store/anchors.rs says
//! what that proves and what it cannot).

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;

use super::ReportError;
use crate::audit::{AuditAction, AuditEvent};
use crate::session::{Accounts, Permission, User};
use crate::store::Store;
use crate::store::anchors::Anchor;
use crate::store::audit_log::Verification;

/// Signs the chain's head as `actor` (a supervisor: anchoring is their check on everyone,
/// the administrator included). `carry` writes the off-car copy first, so a line the car
/// keeps has always left it too; then the anchor and its audit row are committed together.
/// A chain that does not verify is refused, never anchored, and the refusal is audited.
pub fn anchor_audit_log(
    store: &Store,
    accounts: &Accounts<'_>,
    actor: &User,
    key: &SigningKey,
    now: DateTime<Utc>,
    carry: impl FnOnce(&Anchor) -> Result<(), ReportError>,
) -> Result<Anchor, ReportError> {
    accounts.authorize(actor, Permission::RunRandomAudit, AuditAction::AuditReview, "audit anchor")?;
    let event = |outcome: String| {
        AuditEvent::new(&actor.id, &actor.organization, AuditAction::AuditReview, "audit anchor", &outcome)
    };
    if let Verification::Broken { seq, reason } = store.verify_audit_log()? {
        let why = format!("the chain is broken at row {seq} ({reason}): not anchored");
        store.audit(event(format!("refused: {why}")))?;
        return Err(ReportError::Refused(why));
    }
    let head = store.audit_head()?;
    let anchor = Anchor::sign(&head, &store.store_id()?, &actor.id, now, key);
    carry(&anchor)?;
    store.record_anchor(&anchor, event(format!("signed row {} ({}) with key {}", head.seq, head.hash, anchor.key)))?;
    Ok(anchor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::testing::users;
    use crate::session::AccountRules;
    use crate::store::testing::temp_store;

    #[test]
    fn only_a_supervisor_anchors_and_only_an_intact_chain() {
        let (_dir, store) = temp_store();
        let (admin, sup, off) = users(&store);
        let accounts = Accounts::new(&store, AccountRules::default());
        let key = SigningKey::from_bytes(&[9; 32]);
        for actor in [&off, &admin] {
            let refused = anchor_audit_log(&store, &accounts, actor, &key, Utc::now(), |_| Ok(()));
            assert!(matches!(refused, Err(ReportError::Session(_))));
        }
        let mut carried = None;
        let anchor = anchor_audit_log(&store, &accounts, &sup, &key, Utc::now(), |a| {
            carried = Some(a.clone());
            Ok(())
        })
        .unwrap();
        assert_eq!(carried.as_ref(), Some(&anchor));
        assert_eq!(store.anchors().unwrap(), vec![anchor.clone()]);
        assert!(anchor.signed_by_one_of(&[key.verifying_key()]));
        assert_eq!(store.count_audit_rows("object = 'audit anchor' AND outcome LIKE 'signed row%'"), 1);

        // A failed off-car write keeps nothing on the car either.
        let failed = anchor_audit_log(&store, &accounts, &sup, &key, Utc::now(), |_| {
            Err(ReportError::Invalid("the stick is full".into()))
        });
        assert!(failed.is_err());
        assert_eq!(store.anchors().unwrap().len(), 1);

        // An edited chain is refused, and the refusal audited.
        store
            .write(|c| {
                c.execute_batch("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET object = 'x' WHERE seq = 2;")?;
                Ok(())
            })
            .unwrap();
        let refused = anchor_audit_log(&store, &accounts, &sup, &key, Utc::now(), |_| Ok(()));
        assert!(matches!(refused, Err(ReportError::Refused(_))));
        assert_eq!(
            store.count_audit_rows("object = 'audit anchor' AND outcome LIKE 'refused: the chain is broken%'"),
            1
        );
    }
}
