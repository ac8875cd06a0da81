//! Random audits (Special Order 24-01: supervisors run random audits of ALPR data): a
//! supervisor draws a seeded random sample of the data accesses and hit decisions in a
//! period, reviews each one, and marks it compliant or flagged with a note. The sample
//! (size, seed, population), each review, and each view of the results are audited.

use chrono::{DateTime, Utc};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::ReportError;
use crate::audit::{AuditAction, AuditEvent};
use crate::session::{Accounts, Permission, User};
use crate::store::Store;
use crate::store::audit_log::{AuditRow, append, rows_between};
use crate::store::records::from_ms;

/// The audit-log actions a random audit samples: data accesses and hit decisions.
pub const SAMPLED_ACTIONS: [AuditAction; 4] =
    [AuditAction::Search, AuditAction::Export, AuditAction::HitRaised, AuditAction::HitTransition];

/// A reviewer's verdict on one sampled item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Within policy.
    Compliant,
    /// Possible misuse: needs follow-up (the note says why).
    Flagged,
}

impl Verdict {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Compliant => "compliant",
            Self::Flagged => "flagged",
        }
    }

    /// Parses the stored or typed text.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Compliant, Self::Flagged].into_iter().find(|v| v.as_str() == text)
    }
}

/// One sampled item and its review.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleItem {
    /// Position in the sample, from 1.
    pub item_no: i64,
    /// The audit row sampled.
    pub audit_seq: i64,
    /// Who, when, what, purpose, case number and outcome, as recorded.
    pub summary: String,
    /// The verdict, once reviewed.
    pub verdict: Option<Verdict>,
    /// The reviewer's note.
    pub note: Option<String>,
    /// Who reviewed it.
    pub reviewed_by: Option<String>,
    /// When.
    pub reviewed_at: Option<DateTime<Utc>>,
}

/// A drawn sample with its items.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditSample {
    /// Sample id.
    pub id: i64,
    /// When it was drawn.
    pub drawn_at: DateTime<Utc>,
    /// Who drew it.
    pub supervisor: String,
    /// Period start.
    pub from: DateTime<Utc>,
    /// Period end (exclusive).
    pub to: DateTime<Utc>,
    /// Requested size.
    pub size: i64,
    /// The RNG seed: the same seed over the same log redraws the same sample.
    pub seed: u64,
    /// Items the sample was drawn from.
    pub population: i64,
    /// The items.
    pub items: Vec<SampleItem>,
}

/// What an auditor sees of one audit row.
pub fn summarize(row: &AuditRow) -> String {
    let e = &row.event;
    format!(
        "#{} {} {} ({}) {}: {} | purpose: {} | case: {} | {}",
        row.seq,
        e.time.to_rfc3339(),
        e.user,
        e.organization,
        crate::store::audit_log::action_name(e.action),
        e.object,
        e.purpose.as_deref().unwrap_or("-"),
        e.case_number.as_deref().unwrap_or("-"),
        e.outcome
    )
}

/// Chooses `size` distinct positions out of `population`, in ascending order.
pub fn choose(population: usize, size: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut picked = rand::seq::index::sample(&mut rng, population, size.min(population)).into_vec();
    picked.sort_unstable();
    picked
}

/// Draws and stores a sample; `seed` defaults to a random one, which is recorded.
pub fn draw_sample(
    store: &Store,
    accounts: &Accounts<'_>,
    actor: &User,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    size: usize,
    seed: Option<u64>,
) -> Result<AuditSample, ReportError> {
    let what = format!("random audit {} to {}", from.to_rfc3339(), to.to_rfc3339());
    accounts.authorize(actor, Permission::RunRandomAudit, AuditAction::AuditReview, &what)?;
    if size == 0 || to <= from {
        return Err(ReportError::Invalid("a sample needs a size of at least 1 and a non-empty period".into()));
    }
    let seed = seed.unwrap_or_else(rand::random);
    let (actor_id, org) = (actor.id.clone(), actor.organization.clone());
    let sample_id = store.write(move |conn| {
        let population = rows_between(conn, from, to, &SAMPLED_ACTIONS)?;
        let picked = choose(population.len(), size, seed);
        let now = Utc::now();
        conn.execute(
            "INSERT INTO audit_samples (time_ms, supervisor, from_ms, to_ms, size, seed, population) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![now.timestamp_millis(), actor_id, from.timestamp_millis(), to.timestamp_millis(), size as i64, seed as i64, population.len() as i64],
        )?;
        let id = conn.last_insert_rowid();
        for (n, index) in picked.iter().enumerate() {
            let row = &population[*index];
            conn.execute(
                "INSERT INTO audit_sample_items (sample_id, item_no, audit_seq, summary) VALUES (?1, ?2, ?3, ?4)",
                params![id, n as i64 + 1, row.seq, summarize(row)],
            )?;
        }
        let outcome = format!("sample {id}: {} of {} items, seed {seed}", picked.len(), population.len());
        append(conn, &AuditEvent::new(&actor_id, &org, AuditAction::AuditReview, &what, &outcome))?;
        Ok(id)
    })?;
    load_sample(store, sample_id)?.ok_or_else(|| ReportError::Invalid(format!("sample {sample_id} vanished")))
}

fn load_sample(store: &Store, id: i64) -> Result<Option<AuditSample>, ReportError> {
    Ok(store.read(|conn| {
        let head = conn
            .query_row(
                "SELECT time_ms, supervisor, from_ms, to_ms, size, seed, population FROM audit_samples WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get::<_, i64>(5)?, r.get(6)?)),
            )
            .optional()?;
        let Some((time_ms, supervisor, from_ms_, to_ms, size, seed, population)) = head else {
            return Ok(None);
        };
        let mut stmt = conn.prepare(
            "SELECT item_no, audit_seq, summary, verdict, note, reviewed_by, reviewed_ms FROM audit_sample_items WHERE sample_id = ?1 ORDER BY item_no",
        )?;
        let items = stmt
            .query_map([id], |r| {
                let verdict: Option<String> = r.get(3)?;
                Ok(SampleItem {
                    item_no: r.get(0)?,
                    audit_seq: r.get(1)?,
                    summary: r.get(2)?,
                    verdict: verdict.as_deref().and_then(Verdict::parse),
                    note: r.get(4)?,
                    reviewed_by: r.get(5)?,
                    reviewed_at: r.get::<_, Option<i64>>(6)?.map(from_ms),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(AuditSample {
            id,
            drawn_at: from_ms(time_ms),
            supervisor,
            from: from_ms(from_ms_),
            to: from_ms(to_ms),
            size,
            seed: seed as u64,
            population,
            items,
        }))
    })?)
}

/// Records the review of one item. A flagged item needs a note saying why.
pub fn review_item(
    store: &Store,
    accounts: &Accounts<'_>,
    actor: &User,
    sample_id: i64,
    item_no: i64,
    verdict: Verdict,
    note: &str,
) -> Result<(), ReportError> {
    let what = format!("sample {sample_id} item {item_no}");
    accounts.authorize(actor, Permission::RunRandomAudit, AuditAction::AuditReview, &what)?;
    if verdict == Verdict::Flagged && note.trim().is_empty() {
        return Err(ReportError::Invalid("a flagged item needs a note saying why".into()));
    }
    let (actor_id, org, note) = (actor.id.clone(), actor.organization.clone(), note.to_owned());
    let updated = store.write(move |conn| {
        let changed = conn.execute(
            "UPDATE audit_sample_items SET verdict = ?3, note = ?4, reviewed_by = ?5, reviewed_ms = ?6 WHERE sample_id = ?1 AND item_no = ?2",
            params![sample_id, item_no, verdict.as_str(), note, actor_id, Utc::now().timestamp_millis()],
        )?;
        if changed == 1 {
            append(conn, &AuditEvent::new(&actor_id, &org, AuditAction::AuditReview, &what, &format!("{}: {note}", verdict.as_str())))?;
        }
        Ok(changed == 1)
    })?;
    if !updated {
        return Err(ReportError::Invalid(format!("no item {item_no} in sample {sample_id}")));
    }
    Ok(())
}

/// A sample and its reviews, for the supervisor (the view is audited).
pub fn show_sample(
    store: &Store,
    accounts: &Accounts<'_>,
    actor: &User,
    sample_id: i64,
) -> Result<AuditSample, ReportError> {
    let what = format!("sample {sample_id}");
    accounts.authorize(actor, Permission::RunRandomAudit, AuditAction::AuditView, &what)?;
    let sample =
        load_sample(store, sample_id)?.ok_or_else(|| ReportError::Invalid(format!("no sample {sample_id}")))?;
    let flagged = sample.items.iter().filter(|i| i.verdict == Some(Verdict::Flagged)).count();
    let reviewed = sample.items.iter().filter(|i| i.verdict.is_some()).count();
    let outcome = format!("{reviewed} of {} reviewed, {flagged} flagged", sample.items.len());
    store.audit(AuditEvent::new(&actor.id, &actor.organization, AuditAction::AuditView, &what, &outcome))?;
    Ok(sample)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::testing::users;
    use crate::session::AccountRules;
    use crate::store::testing::temp_store;

    #[test]
    fn choice_is_seeded_distinct_and_bounded() {
        assert_eq!(choose(100, 10, 7), choose(100, 10, 7));
        assert_ne!(choose(100, 10, 7), choose(100, 10, 8));
        let picked = choose(100, 10, 7);
        assert_eq!(picked.len(), 10);
        assert!(picked.windows(2).all(|w| w[0] < w[1]) && picked.iter().all(|&i| i < 100));
        assert_eq!(choose(3, 10, 1), vec![0, 1, 2]);
        assert!(choose(0, 5, 1).is_empty());
    }

    #[test]
    fn sample_review_and_report() {
        let (_dir, store) = temp_store();
        let (admin, sup, off) = users(&store);
        let accounts = Accounts::new(&store, AccountRules::default());
        let start = Utc::now() - chrono::Duration::minutes(1);
        for i in 0..30 {
            let event = AuditEvent::new("o1", "Test PD", AuditAction::Search, &format!("PLATE{i}"), "1 rows")
                .with_purpose("stolen vehicle", &format!("C-{i}"));
            store.audit(event).unwrap();
        }
        // Log-ons are not data accesses and must not be sampled.
        store.audit(AuditEvent::new("o1", "Test PD", AuditAction::LogonSuccess, "o1", "ok")).unwrap();
        let end = Utc::now() + chrono::Duration::minutes(1);

        for actor in [&off, &admin] {
            assert!(matches!(
                draw_sample(&store, &accounts, actor, start, end, 5, Some(1)),
                Err(ReportError::Session(_))
            ));
        }
        let sample = draw_sample(&store, &accounts, &sup, start, end, 5, Some(42)).unwrap();
        assert_eq!((sample.size, sample.seed, sample.population, sample.items.len()), (5, 42, 30, 5));
        assert!(
            sample
                .items
                .iter()
                .all(|i| i.summary.contains("search: PLATE") && i.summary.contains("purpose: stolen vehicle"))
        );

        assert!(matches!(
            review_item(&store, &accounts, &sup, sample.id, 1, Verdict::Flagged, " "),
            Err(ReportError::Invalid(_))
        ));
        assert!(matches!(
            review_item(&store, &accounts, &off, sample.id, 1, Verdict::Compliant, ""),
            Err(ReportError::Session(_))
        ));
        review_item(&store, &accounts, &sup, sample.id, 1, Verdict::Compliant, "").unwrap();
        review_item(&store, &accounts, &sup, sample.id, 2, Verdict::Flagged, "no case on file").unwrap();
        assert!(review_item(&store, &accounts, &sup, sample.id, 99, Verdict::Compliant, "").is_err());
        let shown = show_sample(&store, &accounts, &sup, sample.id).unwrap();
        assert_eq!(shown.items[1].verdict, Some(Verdict::Flagged));
        assert_eq!(shown.items[1].note.as_deref(), Some("no case on file"));
        assert_eq!(shown.items[0].reviewed_by.as_deref(), Some("s1"));
        let audit_rows: Vec<String> = store
            .read(|c| {
                let mut s = c.prepare("SELECT action || ':' || outcome FROM audit_log WHERE action IN ('audit_review', 'audit_view') AND user = 's1' ORDER BY seq")?;
                Ok(s.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?)
            })
            .unwrap();
        assert_eq!(audit_rows.len(), 4, "{audit_rows:?}");
        assert!(audit_rows[0].contains("5 of 30 items, seed 42"));
        assert!(audit_rows[3].starts_with("audit_view:2 of 5 reviewed, 1 flagged"));
    }
}
