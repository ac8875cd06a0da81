//! What the office staff see of the fleet: each car's last contact and what it has sent, and
//! each car's audit chain verified as received (a gap or an altered row names the car and
//! the row); the office's own hash-chained audit log of who looked at the fleet's data.

use postgres::Client;

use super::FleetError;
use crate::audit::AuditEvent;
use crate::store::audit_log::{RawRow, Verification, chained, verify_chain};

/// One car as the office knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarStatus {
    /// The car.
    pub car_id: String,
    /// When it last committed a batch (`None`: never).
    pub last_contact: Option<chrono::DateTime<chrono::Utc>>,
    /// Rows received, by kind, in [`super::schema::CAR_TABLES`] order.
    pub rows: Vec<(String, i64)>,
    /// Its audit chain as received.
    pub chain: Verification,
}

/// Every enrolled car, with its chain verified.
pub fn fleet_status(client: &mut Client) -> Result<Vec<CarStatus>, FleetError> {
    let cars = client.query("SELECT car_id, last_contact FROM cars ORDER BY car_id", &[])?;
    let mut out = Vec::with_capacity(cars.len());
    for car in cars {
        let car_id: String = car.get(0);
        let mut rows = Vec::new();
        for table in super::schema::CAR_TABLES {
            // The table names are this build's constants, never input.
            let n: i64 =
                client.query_one(&format!("SELECT count(*) FROM {table} WHERE car_id = $1"), &[&car_id])?.get(0);
            rows.push((table.to_owned(), n));
        }
        let chain = verify_car_chain(client, &car_id)?;
        out.push(CarStatus { car_id, last_contact: car.get(1), rows, chain });
    }
    Ok(out)
}

/// Verifies one car's audit chain as the office holds it, from its first row.
pub fn verify_car_chain(client: &mut Client, car: &str) -> Result<Verification, FleetError> {
    let rows = client.query(
        "SELECT audit_seq, time_text, user_id, organization, action, object, purpose, case_number, outcome, \
         prev_hash, hash FROM audit WHERE car_id = $1 ORDER BY audit_seq",
        &[&car],
    )?;
    verify_chain(rows.iter().map(|r| Ok::<_, FleetError>(raw_row(r))))
}

/// Verifies the office's own audit log from its first row.
pub fn verify_office_log(client: &mut Client) -> Result<Verification, FleetError> {
    let rows = client.query(
        "SELECT seq, time_text, user_id, organization, action, object, purpose, case_number, outcome, prev_hash, hash \
         FROM office_audit ORDER BY seq",
        &[],
    )?;
    verify_chain(rows.iter().map(|r| Ok::<_, FleetError>(raw_row(r))))
}

/// A row selected with the audit columns in `RawRow` order.
fn raw_row(r: &postgres::Row) -> RawRow {
    RawRow {
        seq: r.get(0),
        time: r.get(1),
        user: r.get(2),
        organization: r.get(3),
        action: r.get(4),
        object: r.get(5),
        purpose: r.get(6),
        case_number: r.get(7),
        outcome: r.get(8),
        prev_hash: r.get(9),
        hash: r.get(10),
    }
}

/// Appends `event` to the office's own audit log, chained and hashed as a car's log is, and
/// returns its row number. The table is locked for the append so two office staff at once
/// cannot fork the chain.
pub fn office_audit(client: &mut Client, event: &AuditEvent) -> Result<i64, FleetError> {
    let mut tx = client.transaction()?;
    tx.batch_execute("LOCK TABLE office_audit IN EXCLUSIVE MODE")?;
    let last = tx
        .query_opt("SELECT seq, hash, time_text FROM office_audit ORDER BY seq DESC LIMIT 1", &[])?
        .map(|r| (r.get(0), r.get(1), r.get(2)));
    let row = chained(last, event);
    tx.execute(
        "INSERT INTO office_audit (seq, time_text, user_id, organization, action, object, purpose, case_number, \
         outcome, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &row.seq,
            &row.time,
            &row.user,
            &row.organization,
            &row.action,
            &row.object,
            &row.purpose,
            &row.case_number,
            &row.outcome,
            &row.prev_hash,
            &row.hash,
        ],
    )?;
    tx.commit()?;
    Ok(row.seq)
}
