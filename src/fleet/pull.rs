//! The pull: accounts travel from the office to the cars. An administrator publishes the
//! accounts of their own console to the office (`fleet publish-accounts`); every car takes
//! the ones changed since its last pull, each change audited in the car. So an officer
//! certified at the office can log on in any car, and one deactivated there in none, once
//! the car has synced. Offline, the car keeps what it last pulled and says how old it is.

use postgres::Client;

use super::FleetError;
use super::sync::DrainError;
use crate::audit::{AuditAction, AuditEvent};
use crate::store::outbox::{get_state, set_state};
use crate::store::users::{UserRow, UserTable};
use crate::store::{Store, now_ms};

/// The car's high-water mark of the office's `pull_seq` for accounts.
const ACCOUNTS_SEQ: &str = "accounts_seq";
/// When the car last pulled accounts (ms).
pub const ACCOUNTS_PULLED_MS: &str = "accounts_pulled_ms";

/// Publishes `accounts` to the office: new ones inserted, changed ones replaced (each given a
/// new pull sequence, so cars take it), unchanged ones left alone. Returns how many changed.
pub fn publish_accounts(client: &mut Client, accounts: &[UserRow]) -> Result<u64, FleetError> {
    let mut tx = client.transaction()?;
    let statement = tx.prepare(
        "INSERT INTO users (id, name, role, organization, status, status_reason, trained_on, certified_until, pin_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7::text::date, $8::text::date, $9)
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, role = EXCLUDED.role,
             organization = EXCLUDED.organization, status = EXCLUDED.status, status_reason = EXCLUDED.status_reason,
             trained_on = EXCLUDED.trained_on, certified_until = EXCLUDED.certified_until, pin_hash = EXCLUDED.pin_hash,
             changed_seq = nextval('pull_seq')
         WHERE (users.name, users.role, users.organization, users.status, users.status_reason, users.trained_on,
                users.certified_until, users.pin_hash)
               IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.role, EXCLUDED.organization, EXCLUDED.status,
                EXCLUDED.status_reason, EXCLUDED.trained_on, EXCLUDED.certified_until, EXCLUDED.pin_hash)",
    )?;
    let mut changed = 0;
    for a in accounts {
        changed += tx.execute(
            &statement,
            &[
                &a.id,
                &a.name,
                &a.role,
                &a.organization,
                &a.status,
                &a.status_reason,
                &a.trained_on,
                &a.certified_until,
                &a.pin_hash,
            ],
        )?;
    }
    tx.commit()?;
    Ok(changed)
}

/// Takes the accounts the office changed since the car's last pull, in one car
/// transaction with an audit row per account. Returns how many.
pub fn pull_accounts(client: &mut Client, store: &Store) -> Result<usize, DrainError> {
    let since: i64 = store.read(|conn| get_state(conn, ACCOUNTS_SEQ))?.and_then(|v| v.parse().ok()).unwrap_or(0);
    let rows = client
        .query(
            "SELECT id, name, role, organization, status, status_reason, trained_on::text, certified_until::text,
                    pin_hash, changed_seq
             FROM users WHERE changed_seq > $1 ORDER BY changed_seq",
            &[&since],
        )
        .map_err(FleetError::from)?;
    let now = now_ms();
    let Some(high) = rows.last().map(|r| r.get::<_, i64>(9)) else {
        store.write(move |conn| set_state(conn, ACCOUNTS_PULLED_MS, &now.to_string()))?;
        return Ok(0);
    };
    let accounts: Vec<UserRow> = rows
        .iter()
        .map(|r| UserRow {
            id: r.get(0),
            name: r.get(1),
            role: r.get(2),
            organization: r.get(3),
            status: r.get(4),
            status_reason: r.get(5),
            trained_on: r.get(6),
            certified_until: r.get(7),
            failed_attempts: 0,
            last_activity_ms: None,
            pin_hash: r.get(8),
        })
        .collect();
    let organization = store.organization().to_owned();
    let count = accounts.len();
    store.write(move |conn| {
        let table = UserTable::new(conn);
        for account in &accounts {
            let before = table.apply_office(account, now)?;
            let what = match before {
                None => "created".to_owned(),
                Some(b) if b.status != account.status => format!("status {} -> {}", b.status, account.status),
                Some(_) => "updated".to_owned(),
            };
            let outcome = format!(
                "account from the office: {what}; role {}, certified until {}",
                account.role,
                account.certified_until.as_deref().unwrap_or("-")
            );
            table.audit(&AuditEvent::new("system", &organization, AuditAction::Admin, &account.id, &outcome))?;
        }
        set_state(conn, ACCOUNTS_SEQ, &high.to_string())?;
        set_state(conn, ACCOUNTS_PULLED_MS, &now.to_string())
    })?;
    Ok(count)
}
