//! The pull: accounts and the agency's rules travel from the office to the cars. An administrator publishes the
//! accounts of their own console to the office (`fleet publish-accounts`); every car takes
//! the ones changed since its last pull, each change audited in the car. So an officer
//! certified at the office can log on in any car, and one deactivated there in none, once
//! the car has synced. The administrator's rules (retention, lockout, idle lock, inactive
//! suspension: `fleet publish-settings`) travel the same way, each checked in the car by the
//! rules its setter applies. Offline, the car keeps what it last pulled and says how old it is.

use postgres::Client;

use super::FleetError;
use super::sync::DrainError;
use crate::audit::{AuditAction, AuditEvent};
use crate::session::admin::Setting;
use crate::store::admin_settings::SettingsTable;
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

/// The car's high-water mark of the office's `pull_seq` for settings.
const SETTINGS_SEQ: &str = "settings_seq";

/// Publishes the agency's rules ([`Setting::FLEET`]) as `store` holds them: changed ones get a
/// new pull sequence, so cars take them; ones this console leaves to its settings file are
/// not published. Returns the settings published and how many changed.
pub fn publish_settings(client: &mut Client, store: &Store) -> Result<(Vec<String>, u64), DrainError> {
    let values: Vec<(Setting, String)> = store.read(|conn| {
        let table = SettingsTable::new(conn);
        let mut out = Vec::new();
        for setting in Setting::FLEET {
            if let Some(value) = table.get(setting.key())? {
                out.push((setting, value));
            }
        }
        Ok(out)
    })?;
    let mut tx = client.transaction().map_err(FleetError::from)?;
    let mut changed = 0;
    for (setting, value) in &values {
        changed += tx
            .execute(
                "INSERT INTO settings (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, changed_seq = nextval('pull_seq')
                 WHERE settings.value IS DISTINCT FROM EXCLUDED.value",
                &[&setting.key(), value],
            )
            .map_err(FleetError::from)?;
    }
    tx.commit().map_err(FleetError::from)?;
    Ok((values.iter().map(|(s, v)| format!("{} = {v}", s.file_key())).collect(), changed))
}

/// Takes the agency's rules the office changed since the car's last pull, each checked by the
/// rules its setter applies (a value out of range is refused and audited, the car's own kept)
/// and applied with an audit row, in one car transaction. Only [`Setting::FLEET`] is ever
/// taken. The console applies them at its next start. Returns how many were applied.
pub fn pull_settings(client: &mut Client, store: &Store) -> Result<usize, DrainError> {
    let since: i64 = store.read(|conn| get_state(conn, SETTINGS_SEQ))?.and_then(|v| v.parse().ok()).unwrap_or(0);
    let rows = client
        .query("SELECT key, value, changed_seq FROM settings WHERE changed_seq > $1 ORDER BY changed_seq", &[&since])
        .map_err(FleetError::from)?;
    let Some(high) = rows.last().map(|r| r.get::<_, i64>(2)) else { return Ok(0) };
    let pulled: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let organization = store.organization().to_owned();
    store
        .write(move |conn| {
            let table = SettingsTable::new(conn);
            // The floor in force: the office's value when it sends one in this pull, else the car's.
            let allow_short = pulled
                .iter()
                .find(|(k, _)| k == Setting::AllowShortRetention.key())
                .map(|(_, v)| v.clone())
                .or(table.get(Setting::AllowShortRetention.key())?)
                .and_then(|v| serde_json::from_str(&v).ok())
                .unwrap_or(false);
            let mut applied = 0;
            for (key, value) in &pulled {
                let Some(setting) = Setting::from_key(key).filter(|s| Setting::FLEET.contains(s)) else {
                    // A key this build does not take from the office (a newer build's, or one
                    // that is each car's own): left alone.
                    continue;
                };
                let before = table.get(key)?;
                let outcome = match setting.check_value(value, allow_short) {
                    Ok(_) if before.as_deref() == Some(value.as_str()) => continue,
                    Ok(shown) => {
                        table.set(key, value, "office", now_ms())?;
                        applied += 1;
                        format!(
                            "setting from the office: {shown} (was {})",
                            before.as_deref().unwrap_or("the settings file's")
                        )
                    }
                    Err(why) => format!(
                        "setting from the office refused: {why}; kept {}",
                        before.as_deref().unwrap_or("the settings file's")
                    ),
                };
                table.audit(&AuditEvent::new(
                    "system",
                    &organization,
                    AuditAction::Admin,
                    setting.label(),
                    &outcome,
                ))?;
            }
            set_state(conn, SETTINGS_SEQ, &high.to_string())?;
            Ok(applied)
        })
        .map_err(DrainError::from)
}
