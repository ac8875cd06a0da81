//! The supervisors' review of hits acted on under exigent circumstances. The policy lets an
//! officer act before communications confirm a hit only with a written justification, and
//! flags every such hit for supervisor review: this is that review's queue, each hit with its
//! justification and whether the confirmation came, and the verdict recorded once per hit.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::ReportError;
use super::sample::Verdict;
use crate::audit::{AuditAction, AuditEvent};
use crate::hits::{HitRecord, HitState};
use crate::session::{Accounts, Permission, User};
use crate::store::Store;
use crate::store::audit_log::append;
use crate::store::records::{from_ms, hit_from_row};

/// One exigent hit and its review, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct ExigentItem {
    /// The hit.
    pub hit: HitRecord,
    /// The officer's written justification.
    pub justification: String,
    /// The review: who, the verdict, the note and when.
    pub review: Option<(String, Verdict, String, DateTime<Utc>)>,
}

/// Every exigent hit raised since `since`, unreviewed first, then newest first. The view is
/// audited.
pub fn exigent_queue(
    store: &Store,
    accounts: &Accounts<'_>,
    actor: &User,
    since: DateTime<Utc>,
) -> Result<Vec<ExigentItem>, ReportError> {
    let what = format!("exigent hits since {}", since.date_naive());
    accounts.authorize(actor, Permission::RunRandomAudit, AuditAction::AuditReview, &what)?;
    let (actor_id, org) = (actor.id.clone(), actor.organization.clone());
    let mut items = store.write(move |conn| {
        let mut stmt = conn.prepare(
            "SELECT id, read_id, plate, list, priority, state, officer, raised_ms, acknowledged_ms, verified_ms, confirmed_ms,
             actionable_ms, closed_ms, dispatcher_id, incident_number, result, exigent, disposition, time_to_ack_ms
             FROM hits WHERE exigent = 1 AND raised_ms >= ?1 ORDER BY raised_ms DESC",
        )?;
        let hits: Vec<HitRecord> =
            stmt.query_map([since.timestamp_millis()], hit_from_row)?.map(|r| r.map(|(hit, _)| hit)).collect::<Result<_, _>>()?;
        let mut items = Vec::with_capacity(hits.len());
        for hit in hits {
            let justification: Option<String> = conn
                .query_row(
                    "SELECT detail FROM hit_events WHERE hit_id = ?1 AND to_state = ?2 ORDER BY time_ms LIMIT 1",
                    params![hit.id, HitState::ActionableExigent.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            let review = conn
                .query_row(
                    "SELECT reviewer, verdict, note, time_ms FROM exigent_reviews WHERE hit_id = ?1",
                    [hit.id],
                    |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?)),
                )
                .optional()?
                .and_then(|(who, verdict, note, ms)| Verdict::parse(&verdict).map(|v| (who, v, note, from_ms(ms))));
            items.push(ExigentItem { hit, justification: justification.unwrap_or_default(), review });
        }
        let reviewed = items.iter().filter(|i| i.review.is_some()).count();
        let outcome = format!("{} exigent hits shown, {reviewed} reviewed", items.len());
        append(conn, &AuditEvent::new(&actor_id, &org, AuditAction::AuditReview, &what, &outcome))?;
        Ok(items)
    })?;
    items.sort_by_key(|i| i.review.is_some());
    Ok(items)
}

/// Records a supervisor's verdict on exigent hit `hit_id` (a note is required when flagged),
/// once: a reviewed hit is not reviewed again. Audited with the verdict.
pub fn review_exigent(
    store: &Store,
    accounts: &Accounts<'_>,
    actor: &User,
    hit_id: i64,
    verdict: Verdict,
    note: &str,
) -> Result<(), ReportError> {
    let what = format!("exigent hit {hit_id}");
    accounts.authorize(actor, Permission::RunRandomAudit, AuditAction::AuditReview, &what)?;
    if verdict == Verdict::Flagged && note.trim().is_empty() {
        return Err(ReportError::Invalid("say why the hit is flagged".into()));
    }
    let hit = store
        .hit(hit_id)?
        .filter(|h| h.exigent)
        .ok_or_else(|| ReportError::Invalid(format!("no exigent hit {hit_id}")))?;
    if hit.officer.as_deref() == Some(actor.id.as_str()) {
        return Err(ReportError::Refused("a supervisor does not review their own exigent hit".into()));
    }
    let (actor_id, org, note) = (actor.id.clone(), actor.organization.clone(), note.trim().to_owned());
    store.write(move |conn| {
        let inserted = conn.execute(
            "INSERT OR IGNORE INTO exigent_reviews (hit_id, reviewer, verdict, note, time_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![hit_id, actor_id, verdict.as_str(), note, Utc::now().timestamp_millis()],
        )?;
        if inserted == 0 {
            return Ok(Err(ReportError::Invalid(format!("exigent hit {hit_id} is already reviewed"))));
        }
        let outcome = if note.is_empty() { verdict.as_str().to_owned() } else { format!("{}: {note}", verdict.as_str()) };
        let event = AuditEvent::new(&actor_id, &org, AuditAction::AuditReview, &what, &outcome);
        append(conn, &AuditEvent { case_number: hit.incident_number.clone(), ..event })?;
        Ok(Ok(()))
    })?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hits::{ConfirmResult, HitAction, apply};
    use crate::reports::testing::users;
    use crate::session::AccountRules;
    use crate::store::testing::temp_store;

    /// Stores a hit of `officer` taken through `actions`, each step with its event.
    fn worked_hit(store: &Store, plate: &str, officer: &str, actions: &[HitAction]) -> i64 {
        let id = store.insert_hit(HitRecord::new(None, plate, "svs", 3, Some(officer), Utc::now())).unwrap();
        let mut hit = store.hit(id).unwrap().unwrap();
        for action in actions {
            let event = apply(&mut hit, action, officer, Utc::now()).unwrap();
            store.record_hit_transition(hit.clone(), event).unwrap();
        }
        id
    }

    #[test]
    fn exigent_hits_queue_for_review_once_and_only_for_supervisors() {
        let (_dir, store) = temp_store();
        let (admin, sup, off) = users(&store);
        let accounts = Accounts::new(&store, AccountRules::default());
        let justification = "Vehicle is fleeing toward the port gate at speed";
        let exigent = worked_hit(
            &store,
            "7EXG001",
            "o1",
            &[
                HitAction::Acknowledge,
                HitAction::PlateMatches,
                HitAction::Exigent { justification: justification.into() },
                HitAction::Confirm {
                    dispatcher_id: "D1".into(),
                    incident_number: "26-9".into(),
                    result: ConfirmResult::ConfirmedActive,
                },
            ],
        );
        worked_hit(&store, "7NORM01", "o1", &[HitAction::Acknowledge]);
        let since = Utc::now() - chrono::Duration::days(30);

        for actor in [&off, &admin] {
            assert!(matches!(exigent_queue(&store, &accounts, actor, since), Err(ReportError::Session(_))));
        }
        let queue = exigent_queue(&store, &accounts, &sup, since).unwrap();
        assert_eq!(queue.len(), 1, "only the exigent hit");
        assert_eq!(queue[0].hit.id, exigent);
        assert!(queue[0].justification.contains(justification), "{}", queue[0].justification);
        assert!(queue[0].hit.confirmed.is_some() && queue[0].review.is_none());

        assert!(matches!(
            review_exigent(&store, &accounts, &sup, exigent, Verdict::Flagged, " "),
            Err(ReportError::Invalid(_))
        ));
        review_exigent(&store, &accounts, &sup, exigent, Verdict::Compliant, "justified by the pursuit").unwrap();
        assert!(matches!(
            review_exigent(&store, &accounts, &sup, exigent, Verdict::Flagged, "again"),
            Err(ReportError::Invalid(_))
        ));
        let queue = exigent_queue(&store, &accounts, &sup, since).unwrap();
        let (who, verdict, note, _) = queue[0].review.clone().unwrap();
        assert_eq!((who.as_str(), verdict, note.as_str()), ("s1", Verdict::Compliant, "justified by the pursuit"));
        assert_eq!(store.count_audit_rows("object = 'exigent hit 1' AND outcome LIKE 'compliant: justified%'"), 1);
    }
}
