//! Random audits across the fleet (Special Order 24-01), in the office database: a supervisor
//! draws a seeded sample of every car's data accesses and hit decisions in a period (the
//! same actions and the same seeded choice as a console's own `audit sample`), reviews each
//! item as compliant or flagged with a note, and shows the results. Each step is recorded by
//! the caller in the office's hash-chained log and in its console's.

use chrono::{DateTime, Utc};
use postgres::Client;

use super::FleetError;
use crate::reports::sample::{SAMPLED_ACTIONS, Verdict, choose};
use crate::store::audit_log::action_name;

/// One drawn item: a car's audit row and its review.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetItem {
    /// Position in the sample, from 1.
    pub item_no: i32,
    /// The car.
    pub car_id: String,
    /// The car's audit row.
    pub audit_seq: i64,
    /// Who, when, what, purpose, case and outcome, as the car recorded them.
    pub summary: String,
    /// The verdict, once reviewed.
    pub verdict: Option<Verdict>,
    /// The reviewer's note.
    pub note: Option<String>,
    /// Who reviewed it.
    pub reviewed_by: Option<String>,
}

/// A fleet sample with its items.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetSample {
    /// Its number at the office.
    pub id: i64,
    /// Who drew it.
    pub supervisor: String,
    /// Size asked for.
    pub size: i32,
    /// The seed (always recorded, so the draw can be repeated).
    pub seed: u64,
    /// Rows it was drawn from.
    pub population: i64,
    /// The items.
    pub items: Vec<FleetItem>,
}

/// Why a fleet audit step was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuditsError {
    /// The office.
    #[error(transparent)]
    Office(#[from] FleetError),
    /// A request that cannot be met.
    #[error("{0}")]
    Invalid(String),
}

impl From<postgres::Error> for AuditsError {
    fn from(err: postgres::Error) -> Self {
        Self::Office(FleetError::Db(err))
    }
}

/// Draws `size` of the data accesses and hit decisions all cars recorded in `[from, to)`,
/// by `seed`, and stores the sample. The population is ordered by car and row, so the same
/// seed over the same rows draws the same items.
pub fn draw(
    client: &mut Client,
    supervisor: &str,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    size: usize,
    seed: u64,
) -> Result<FleetSample, AuditsError> {
    if size == 0 || to <= from {
        return Err(AuditsError::Invalid("a sample needs a size of at least 1 and a non-empty period".into()));
    }
    let actions: Vec<String> = SAMPLED_ACTIONS.iter().map(|a| action_name(*a)).collect();
    let mut tx = client.transaction()?;
    let rows = tx.query(
        "SELECT car_id, audit_seq, time_text, user_id, organization, action, object, coalesce(purpose, '-'),
                coalesce(case_number, '-'), outcome
         FROM audit WHERE at >= $1 AND at < $2 AND action = ANY($3) ORDER BY car_id, audit_seq",
        &[&from, &to, &actions],
    )?;
    let picked = choose(rows.len(), size, seed);
    let size_i = i32::try_from(size).map_err(|_| AuditsError::Invalid(format!("size {size} is too large")))?;
    let id: i64 = tx
        .query_one(
            "INSERT INTO office_samples (supervisor, from_at, to_at, size, seed, population)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[&supervisor, &from, &to, &size_i, &(seed as i64), &(rows.len() as i64)],
        )?
        .get(0);
    let insert = tx.prepare(
        "INSERT INTO office_sample_items (sample_id, item_no, car_id, audit_seq, summary) VALUES ($1, $2, $3, $4, $5)",
    )?;
    for (n, &index) in picked.iter().enumerate() {
        let r = &rows[index];
        let (car, seq): (String, i64) = (r.get(0), r.get(1));
        let summary = format!(
            "car {car} #{seq} {} {} ({}) {}: {} | purpose: {} | case: {} | {}",
            r.get::<_, &str>(2),
            r.get::<_, &str>(3),
            r.get::<_, &str>(4),
            r.get::<_, &str>(5),
            r.get::<_, &str>(6),
            r.get::<_, &str>(7),
            r.get::<_, &str>(8),
            r.get::<_, &str>(9)
        );
        tx.execute(&insert, &[&id, &(n as i32 + 1), &car, &seq, &summary])?;
    }
    tx.commit()?;
    load(client, id)?.ok_or_else(|| AuditsError::Invalid(format!("sample {id} vanished")))
}

/// Records a verdict on one item (a flagged one needs a note).
pub fn review(
    client: &mut Client,
    reviewer: &str,
    sample_id: i64,
    item_no: i32,
    verdict: Verdict,
    note: &str,
) -> Result<(), AuditsError> {
    if verdict == Verdict::Flagged && note.trim().is_empty() {
        return Err(AuditsError::Invalid("a flagged item needs a note saying why".into()));
    }
    let changed = client.execute(
        "UPDATE office_sample_items SET verdict = $3, note = $4, reviewed_by = $5, reviewed_at = now()
         WHERE sample_id = $1 AND item_no = $2",
        &[&sample_id, &item_no, &verdict.as_str(), &note.trim(), &reviewer],
    )?;
    if changed != 1 {
        return Err(AuditsError::Invalid(format!("no item {item_no} in fleet sample {sample_id}")));
    }
    Ok(())
}

/// A sample and its reviews, if it exists.
pub fn load(client: &mut Client, id: i64) -> Result<Option<FleetSample>, AuditsError> {
    let Some(head) =
        client.query_opt("SELECT supervisor, size, seed, population FROM office_samples WHERE id = $1", &[&id])?
    else {
        return Ok(None);
    };
    let items = client
        .query(
            "SELECT item_no, car_id, audit_seq, summary, verdict, note, reviewed_by FROM office_sample_items
             WHERE sample_id = $1 ORDER BY item_no",
            &[&id],
        )?
        .iter()
        .map(|r| FleetItem {
            item_no: r.get(0),
            car_id: r.get(1),
            audit_seq: r.get(2),
            summary: r.get(3),
            verdict: r.get::<_, Option<&str>>(4).and_then(Verdict::parse),
            note: r.get(5),
            reviewed_by: r.get(6),
        })
        .collect();
    Ok(Some(FleetSample {
        id,
        supervisor: head.get(0),
        size: head.get(1),
        seed: head.get::<_, i64>(2) as u64,
        population: head.get(3),
        items,
    }))
}
