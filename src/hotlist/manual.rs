//! Manual hot-list entries ("be on the lookout"): added on the console by an authorized user
//! with a reason and an expiry no later than the agency's cap; every addition and removal is
//! audited with who and why.
//!
//! Part of the policy core. The entries are kept in `bolo.json` in the hot-list cache (through
//! [`super::cache`], so sealed with the store's key) and join the list at every load.

use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::actor::Actor;
use super::cache::{CacheError, HotlistCache};
use super::entry::{
    Category, HotlistEntry, PRIORITY_HIGHEST, PRIORITY_LOWEST, Vehicle, normalize_list_plate, parse_state,
};
use crate::audit::{AuditAction, AuditError, AuditSink};

/// The file manual entries live in, inside the cache.
pub const BOLO_NAME: &str = "bolo.json";

/// Why a manual entry could not be added or removed.
#[derive(Debug, thiserror::Error)]
pub enum BoloError {
    /// The plate is not usable.
    #[error("plate: {0}")]
    Plate(#[from] super::entry::PlateError),
    /// The state is not a known code.
    #[error("unknown state {0:?}")]
    State(String),
    /// No reason given: every manual entry says why it exists.
    #[error("a reason is required")]
    NoReason,
    /// The expiry is already past.
    #[error("the expiry {0} is in the past")]
    ExpiryPast(DateTime<Utc>),
    /// A priority outside 1-9.
    #[error("priority {0} is outside 1-9")]
    Priority(u8),
    /// No entry with that id.
    #[error("no manual entry {0}")]
    NotFound(u64),
    /// The store could not be read or written.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// The store's file is damaged.
    #[error("manual entries file {path} is corrupt: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The change could not be audited, so it was not made.
    #[error(transparent)]
    Audit(#[from] AuditError),
}

/// What an officer or administrator enters.
#[derive(Debug, Clone, Default)]
pub struct BoloRequest {
    /// The plate; `?` and `*` make a partial-plate entry.
    pub plate: String,
    /// The state, if known.
    pub state: Option<String>,
    /// Why the vehicle is wanted.
    pub reason: String,
    /// When it should stop matching; `None` or anything past the cap becomes the cap.
    pub expires: Option<DateTime<Utc>>,
    /// The category (default BOLO).
    pub category: Option<Category>,
    /// 1-9 (default: the category's).
    pub priority: Option<u8>,
    /// The vehicle, when known.
    pub vehicle: Vehicle,
}

/// A stored manual entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoloRecord {
    /// Its id, unique in this store.
    pub id: u64,
    /// The entry as it matches.
    pub entry: HotlistEntry,
    /// Who added it.
    pub added_by: String,
    /// Their organization.
    pub organization: String,
    /// When.
    pub added_at: DateTime<Utc>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BoloFile {
    next_id: u64,
    records: Vec<BoloRecord>,
}

/// The manual entries of this console.
#[derive(Debug, Clone)]
pub struct BoloStore {
    cache: HotlistCache,
    max_days: u32,
}

impl BoloStore {
    /// The store in the hot-list cache; expiries are capped at `max_days`.
    pub fn new(cache: &HotlistCache, max_days: u32) -> Self {
        Self { cache: cache.clone(), max_days }
    }

    fn path(&self) -> PathBuf {
        self.cache.dir().join(BOLO_NAME)
    }

    fn read(&self) -> Result<BoloFile, BoloError> {
        let Some(bytes) = self.cache.load(BOLO_NAME)? else { return Ok(BoloFile::default()) };
        serde_json::from_slice(&bytes).map_err(|err| BoloError::Corrupt { path: self.path(), reason: err.to_string() })
    }

    fn write(&self, file: &BoloFile) -> Result<(), BoloError> {
        let bytes = serde_json::to_vec_pretty(file)
            .map_err(|err| BoloError::Corrupt { path: self.path(), reason: err.to_string() })?;
        Ok(self.cache.save(BOLO_NAME, &bytes)?)
    }

    /// Every stored entry, expired ones included.
    pub fn list(&self) -> Result<Vec<BoloRecord>, BoloError> {
        Ok(self.read()?.records)
    }

    /// The entries that still match at `now`.
    pub fn active_entries(&self, now: DateTime<Utc>) -> Result<Vec<HotlistEntry>, BoloError> {
        Ok(self.read()?.records.into_iter().map(|r| r.entry).filter(|e| !e.is_expired(now)).collect())
    }

    /// Adds an entry: checked, capped, audited, then stored.
    pub fn add(
        &self,
        request: &BoloRequest,
        actor: &Actor,
        audit: &dyn AuditSink,
        now: DateTime<Utc>,
    ) -> Result<BoloRecord, BoloError> {
        let plate = normalize_list_plate(&request.plate, true)?;
        let state = match request.state.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(parse_state(text).ok_or_else(|| BoloError::State(text.to_owned()))?),
        };
        let reason = request.reason.trim();
        if reason.is_empty() {
            return Err(BoloError::NoReason);
        }
        let cap = now + Duration::days(i64::from(self.max_days));
        let expires = match request.expires {
            Some(expires) if expires <= now => return Err(BoloError::ExpiryPast(expires)),
            Some(expires) => expires.min(cap),
            None => cap,
        };
        let category = request.category.unwrap_or(Category::Bolo);
        let priority = request.priority.unwrap_or(category.default_priority());
        if !(PRIORITY_HIGHEST..=PRIORITY_LOWEST).contains(&priority) {
            return Err(BoloError::Priority(priority));
        }
        let mut file = self.read()?;
        let id = file.next_id.max(1);
        let mut entry = HotlistEntry::new(&plate, category, "bolo");
        entry.state = state;
        entry.priority = priority;
        entry.vehicle = request.vehicle.clone();
        entry.record_number = format!("BOLO-{id}");
        entry.reason = reason.to_owned();
        entry.entry_date = Some(now.date_naive());
        entry.expires = Some(expires);
        entry.source = format!("manual entry by {}", actor.user);
        entry.version = "manual".into();
        let record = BoloRecord {
            id,
            entry,
            added_by: actor.user.clone(),
            organization: actor.organization.clone(),
            added_at: now,
        };
        let outcome = format!("ok: id {id}, expires {}, reason: {reason}", expires.to_rfc3339());
        audit.record(actor.event(AuditAction::BoloAdd, &plate, &outcome))?;
        file.next_id = id + 1;
        file.records.push(record.clone());
        self.write(&file)?;
        Ok(record)
    }

    /// Removes an entry, saying why; audited.
    pub fn remove(&self, id: u64, why: &str, actor: &Actor, audit: &dyn AuditSink) -> Result<BoloRecord, BoloError> {
        let why = why.trim();
        if why.is_empty() {
            return Err(BoloError::NoReason);
        }
        let mut file = self.read()?;
        let position = file.records.iter().position(|r| r.id == id).ok_or(BoloError::NotFound(id))?;
        let plate = file.records[position].entry.plate.clone();
        audit.record(actor.event(AuditAction::BoloRemove, &plate, &format!("ok: id {id}, reason: {why}")))?;
        let record = file.records.remove(position);
        self.write(&file)?;
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::MemoryAudit;

    fn request(plate: &str, reason: &str, expires: Option<DateTime<Utc>>) -> BoloRequest {
        BoloRequest {
            plate: plate.into(),
            state: Some("ca".into()),
            reason: reason.into(),
            expires,
            ..Default::default()
        }
    }

    #[test]
    fn add_list_remove_all_audited() {
        let dir = tempfile::tempdir().unwrap();
        let store = BoloStore::new(&crate::hotlist::load::tests::test_cache(dir.path()), 7);
        let audit = MemoryAudit::default();
        let actor = Actor::new("sgt2", "PD");
        let now = Utc::now();
        let far = now + Duration::days(60);
        let record =
            store.add(&request("7dmo-123", "DEMO armed robbery suspect", Some(far)), &actor, &audit, now).unwrap();
        assert_eq!(record.entry.plate, "7DMO123");
        assert_eq!(record.entry.state.as_deref(), Some("CA"));
        assert_eq!(record.entry.expires, Some(now + Duration::days(7)), "capped at bolo_max_days");
        assert_eq!(record.entry.category, Category::Bolo);
        let partial = store.add(&request("4AB?12", "DEMO partial plate", None), &actor, &audit, now).unwrap();
        assert_ne!(partial.id, record.id);
        assert_eq!(store.active_entries(now).unwrap().len(), 2);
        assert_eq!(store.active_entries(now + Duration::days(8)).unwrap().len(), 0);
        store.remove(record.id, "vehicle recovered", &actor, &audit).unwrap();
        assert_eq!(store.list().unwrap().len(), 1);
        let events = audit.events();
        let actions: Vec<AuditAction> = events.iter().map(|e| e.action).collect();
        assert_eq!(actions, [AuditAction::BoloAdd, AuditAction::BoloAdd, AuditAction::BoloRemove]);
        assert_eq!(events[2].object, "7DMO123");
        assert!(events[2].outcome.contains("vehicle recovered"));
        assert!(events[0].outcome.contains("DEMO armed robbery suspect"));
    }

    #[test]
    fn refusals() {
        let dir = tempfile::tempdir().unwrap();
        let store = BoloStore::new(&crate::hotlist::load::tests::test_cache(dir.path()), 7);
        let audit = MemoryAudit::default();
        let actor = Actor::new("sgt2", "PD");
        let now = Utc::now();
        let check = |req: BoloRequest, expected: &str| {
            let err = store.add(&req, &actor, &audit, now).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        };
        check(request("ABC123", "  ", None), "a reason is required");
        check(request("ABC123", "x", Some(now - Duration::hours(1))), "in the past");
        check(request("*1*", "x", None), "too broad");
        check(BoloRequest { state: Some("ZZ".into()), ..request("ABC123", "x", None) }, "unknown state");
        check(BoloRequest { priority: Some(0), ..request("ABC123", "x", None) }, "priority 0");
        assert!(matches!(store.remove(99, "x", &actor, &audit), Err(BoloError::NotFound(99))));
        assert!(matches!(store.remove(1, "", &actor, &audit), Err(BoloError::NoReason)));
        assert!(audit.events().is_empty());
        assert!(store.list().unwrap().is_empty());
    }
}
