//! The ALPR Administrator's system settings: camera sources, hot-list update sources, the
//! agency's hot-list public key and the retention period, and the purge run by hand.
//!
//! The settings live in the encrypted database (`admin_settings`), each change committed in
//! the same transaction as its audit row; once set, a value takes precedence over the settings
//! file (see docs/operations.md, "Administered settings"). Part of the policy core: every
//! change asks the role through [`Accounts::authorize`], which audits refusals.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Accounts, Permission, SessionError, User};
use crate::audit::{AuditAction, AuditEvent};
use crate::config::Config;
use crate::hotlist::HotlistRules;
use crate::store::admin_settings::SettingsTable;
use crate::store::retention::{PurgeCounts, retention_period};
use crate::store::{Store, StoreError};

/// Consecutive wrong PINs that may lock an account.
const LOCKOUT_FAILURES: std::ops::RangeInclusive<u32> = 1..=20;
/// Minutes without input before the console locks.
const IDLE_LOCK_MINUTES: std::ops::RangeInclusive<u32> = 1..=240;
/// Days without a log-on before suspension (or 0, never): a week at least, so that a holiday
/// does not suspend a whole watch.
const INACTIVE_SUSPEND_DAYS: std::ops::RangeInclusive<u32> = 7..=3650;

/// One administered setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// The cameras the console and `run` open (`[cameras] sources`).
    CameraSources,
    /// Where shift-start hot-list updates come from (`[hotlist] sources`).
    HotlistSources,
    /// The agency's ed25519 key that signs hot-list updates (`[hotlist] public_key`).
    HotlistPublicKey,
    /// Days stored reads are kept (`[store] retention_days`).
    RetentionDays,
    /// A retention period under the one-year floor is allowed (`[store] allow_short_retention`).
    AllowShortRetention,
    /// Consecutive wrong PINs that lock an account (`[store] lockout_failures`).
    LockoutFailures,
    /// Minutes without input before the console locks (`[store] idle_lock_minutes`).
    IdleLockMinutes,
    /// Days without a log-on after which an account is suspended; 0 never
    /// (`[store] inactive_suspend_days`).
    InactiveSuspendDays,
    /// The hot-list rules: staleness, matching, BOLO life, the past-reads window, the lists
    /// matched on text alone (`[hotlist] max_age_hours` and the rest of `HotlistRules`).
    HotlistRules,
}

impl Setting {
    /// Every setting.
    pub const ALL: [Setting; 9] = [
        Self::CameraSources,
        Self::HotlistSources,
        Self::HotlistPublicKey,
        Self::RetentionDays,
        Self::AllowShortRetention,
        Self::LockoutFailures,
        Self::IdleLockMinutes,
        Self::InactiveSuspendDays,
        Self::HotlistRules,
    ];

    /// The settings that guard the data: kept in the database from the store's first use on
    /// (seeded once from the settings file, then changed only by the administrator), so
    /// whoever can write a settings file cannot weaken them.
    pub const SECURITY: [Setting; 8] = [
        Self::HotlistSources,
        Self::HotlistPublicKey,
        Self::RetentionDays,
        Self::AllowShortRetention,
        Self::LockoutFailures,
        Self::IdleLockMinutes,
        Self::InactiveSuspendDays,
        Self::HotlistRules,
    ];

    /// The settings the office sets for every car (`fleet publish-settings`): the agency's
    /// rules. Camera and hot-list sources are each car's own; the hot-list public key is
    /// installed in each car by its administrator and never taken from the office, since
    /// whoever held that key could sign lists for the whole fleet.
    pub const FLEET: [Setting; 5] = [
        Self::RetentionDays,
        Self::AllowShortRetention,
        Self::LockoutFailures,
        Self::IdleLockMinutes,
        Self::InactiveSuspendDays,
    ];

    /// The setting whose row key is `key`.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == key)
    }

    /// Checks a fleet setting's value as stored (JSON) by the rules its setter applies;
    /// `allow_short` is the retention floor in force. Returns the value as text for the log.
    pub fn check_value(self, value: &str, allow_short: bool) -> Result<String, String> {
        let count = |range: std::ops::RangeInclusive<u32>| -> Result<String, String> {
            let n: u32 = serde_json::from_str(value).map_err(|_| format!("{value:?} is not a whole number"))?;
            if range.contains(&n) { Ok(n.to_string()) } else { Err(format!("{n} is outside {range:?}")) }
        };
        match self {
            Self::RetentionDays => {
                let days: u32 =
                    serde_json::from_str(value).map_err(|_| format!("{value:?} is not a number of days"))?;
                retention_period(days, allow_short).map(|_| days.to_string()).map_err(|e| e.to_string())
            }
            Self::AllowShortRetention => serde_json::from_str::<bool>(value)
                .map(|b| b.to_string())
                .map_err(|_| format!("{value:?} is not true or false")),
            Self::LockoutFailures => count(LOCKOUT_FAILURES),
            Self::IdleLockMinutes => count(IDLE_LOCK_MINUTES),
            Self::InactiveSuspendDays => {
                if value.trim() == "0" {
                    Ok("0".into())
                } else {
                    count(INACTIVE_SUSPEND_DAYS)
                }
            }
            Self::CameraSources | Self::HotlistSources | Self::HotlistPublicKey | Self::HotlistRules => {
                Err(format!("{} is each car's own, not the office's", self.label()))
            }
        }
    }

    /// The settings file's name for it.
    pub fn file_key(self) -> &'static str {
        match self {
            Self::CameraSources => "[cameras] sources",
            Self::HotlistSources => "[hotlist] sources",
            Self::HotlistPublicKey => "[hotlist] public_key",
            Self::RetentionDays => "[store] retention_days",
            Self::AllowShortRetention => "[store] allow_short_retention",
            Self::LockoutFailures => "[store] lockout_failures",
            Self::IdleLockMinutes => "[store] idle_lock_minutes",
            Self::InactiveSuspendDays => "[store] inactive_suspend_days",
            Self::HotlistRules => {
                "[hotlist] max_age_hours, equivalence_classes, max_substitutions, bolo_max_days, \
                 past_reads_window_hours, ignore_state_lists"
            }
        }
    }

    /// The value the settings file gives, as stored (JSON).
    fn file_value(self, file: &Config) -> String {
        let value = match self {
            Self::CameraSources => serde_json::to_string(&file.cameras.sources),
            Self::HotlistSources => serde_json::to_string(&file.hotlist.sources),
            Self::HotlistPublicKey => serde_json::to_string(&file.hotlist.public_key),
            Self::RetentionDays => serde_json::to_string(&file.store.retention_days),
            Self::AllowShortRetention => serde_json::to_string(&file.store.allow_short_retention),
            Self::LockoutFailures => serde_json::to_string(&file.store.lockout_failures),
            Self::IdleLockMinutes => serde_json::to_string(&file.store.idle_lock_minutes),
            Self::InactiveSuspendDays => serde_json::to_string(&file.store.inactive_suspend_days),
            Self::HotlistRules => serde_json::to_string(&file.hotlist.rules()),
        };
        value.unwrap_or_default()
    }

    /// The row key in `admin_settings`.
    pub fn key(self) -> &'static str {
        match self {
            Self::CameraSources => "camera_sources",
            Self::HotlistSources => "hotlist_sources",
            Self::HotlistPublicKey => "hotlist_public_key",
            Self::RetentionDays => "retention_days",
            Self::AllowShortRetention => "allow_short_retention",
            Self::LockoutFailures => "lockout_failures",
            Self::IdleLockMinutes => "idle_lock_minutes",
            Self::InactiveSuspendDays => "inactive_suspend_days",
            Self::HotlistRules => "hotlist_rules",
        }
    }

    /// The object written in the audit log.
    pub fn label(self) -> &'static str {
        match self {
            Self::CameraSources => "camera sources",
            Self::HotlistSources => "hot-list sources",
            Self::HotlistPublicKey => "hot-list public key",
            Self::RetentionDays => "retention",
            Self::AllowShortRetention => "retention floor",
            Self::LockoutFailures => "lockout",
            Self::IdleLockMinutes => "idle lock",
            Self::InactiveSuspendDays => "inactive suspension",
            Self::HotlistRules => "hot-list rules",
        }
    }

    /// What a user needs to change it.
    pub fn permission(self) -> Permission {
        match self {
            Self::CameraSources => Permission::ManageCameras,
            Self::HotlistSources | Self::HotlistPublicKey | Self::HotlistRules => Permission::ManageHotlistSources,
            Self::RetentionDays | Self::AllowShortRetention => Permission::ManageRetention,
            Self::LockoutFailures | Self::IdleLockMinutes | Self::InactiveSuspendDays => Permission::ManageUsers,
        }
    }
}

/// A change to the hot-list rules: each `Some` replaces that rule, the list names are added
/// to or removed from the lists matched on text alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HotlistRulesChange {
    /// Hours after which a list is stale.
    pub max_age_hours: Option<u32>,
    /// Characters the reader may confuse, e.g. `["0ODQ", "1I"]`.
    pub equivalence_classes: Option<Vec<String>>,
    /// The most substitutions an approximate match may need.
    pub max_substitutions: Option<u8>,
    /// The longest a BOLO may stay, in days.
    pub bolo_max_days: Option<u32>,
    /// How far back new entries are checked, in hours.
    pub past_reads_window_hours: Option<u32>,
    /// Lists to match on text alone from now on.
    pub add_text_only: Vec<String>,
    /// Lists to match with their state again.
    pub remove_text_only: Vec<String>,
}

impl HotlistRulesChange {
    /// True when it changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// `rules` with this change made; an unknown list to remove, or equivalence classes that
    /// overlap or hold other than letters and digits, is an error.
    pub fn applied_to(&self, rules: &HotlistRules) -> Result<HotlistRules, SessionError> {
        let mut new = rules.clone();
        if let Some(classes) = &self.equivalence_classes {
            new.equivalence_classes = crate::hotlist::EquivalenceClasses::new(classes)
                .map_err(|e| SessionError::Invalid(format!("equivalence classes: {e}")))?;
        }
        new.max_age_hours = self.max_age_hours.unwrap_or(new.max_age_hours);
        new.max_substitutions = self.max_substitutions.unwrap_or(new.max_substitutions);
        new.bolo_max_days = self.bolo_max_days.unwrap_or(new.bolo_max_days);
        new.past_reads_window_hours = self.past_reads_window_hours.unwrap_or(new.past_reads_window_hours);
        for list in &self.remove_text_only {
            let before = new.ignore_state_lists.len();
            new.ignore_state_lists.retain(|l| !l.eq_ignore_ascii_case(list.trim()));
            if new.ignore_state_lists.len() == before {
                return Err(SessionError::Invalid(format!("{:?} is not matched on text alone", list.trim())));
            }
        }
        for list in &self.add_text_only {
            let list = list.trim();
            if list.is_empty() {
                return Err(SessionError::Invalid("type the name of the list to match on text alone".into()));
            }
            if !new.ignore_state_lists.iter().any(|l| l.eq_ignore_ascii_case(list)) {
                new.ignore_state_lists.push(list.to_owned());
            }
        }
        Ok(new)
    }
}

/// The administered values; `None` where the settings file still rules.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AdminSettings {
    /// Camera sources.
    pub camera_sources: Option<Vec<String>>,
    /// Hot-list update sources.
    pub hotlist_sources: Option<Vec<String>>,
    /// The hot-list public key (base64); `Some(None)`: the administrator's is "no key".
    pub hotlist_public_key: Option<Option<String>>,
    /// Retention in days.
    pub retention_days: Option<u32>,
    /// A period under the one-year floor allowed.
    pub allow_short_retention: Option<bool>,
    /// Wrong PINs that lock an account.
    pub lockout_failures: Option<u32>,
    /// Minutes without input before the console locks.
    pub idle_lock_minutes: Option<u32>,
    /// Days without a log-on before an account is suspended.
    pub inactive_suspend_days: Option<u32>,
    /// The hot-list rules.
    pub hotlist_rules: Option<HotlistRules>,
}

fn stored(table: SettingsTable<'_>, setting: Setting) -> Result<Option<String>, StoreError> {
    table.get(setting.key())
}

/// One setting's stored value, decoded.
fn load_one<T: DeserializeOwned>(table: SettingsTable<'_>, setting: Setting) -> Result<Option<T>, StoreError> {
    decode(setting, stored(table, setting)?)
}

fn decode<T: DeserializeOwned>(setting: Setting, text: Option<String>) -> Result<Option<T>, StoreError> {
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("admin setting {}: {e}", setting.key())))
    })
    .transpose()
}

impl AdminSettings {
    /// Reads the administered values.
    pub fn load(store: &Store) -> Result<Self, StoreError> {
        store.read(|conn| {
            let table = SettingsTable::new(conn);
            Ok(Self {
                camera_sources: load_one(table, Setting::CameraSources)?,
                hotlist_sources: load_one(table, Setting::HotlistSources)?,
                hotlist_public_key: load_one(table, Setting::HotlistPublicKey)?,
                retention_days: load_one(table, Setting::RetentionDays)?,
                allow_short_retention: load_one(table, Setting::AllowShortRetention)?,
                lockout_failures: load_one(table, Setting::LockoutFailures)?,
                idle_lock_minutes: load_one(table, Setting::IdleLockMinutes)?,
                inactive_suspend_days: load_one(table, Setting::InactiveSuspendDays)?,
                hotlist_rules: load_one(table, Setting::HotlistRules)?,
            })
        })
    }

    /// Lays the administered values over `config` (they take precedence over the file).
    pub fn apply(&self, config: &mut Config) {
        if let Some(sources) = &self.camera_sources {
            config.cameras.sources.clone_from(sources);
        }
        if let Some(sources) = &self.hotlist_sources {
            config.hotlist.sources.clone_from(sources);
        }
        if let Some(key) = &self.hotlist_public_key {
            config.hotlist.public_key.clone_from(key);
        }
        if let Some(days) = self.retention_days {
            config.store.retention_days = days;
        }
        if let Some(allow) = self.allow_short_retention {
            config.store.allow_short_retention = allow;
        }
        if let Some(failures) = self.lockout_failures {
            config.store.lockout_failures = failures;
        }
        if let Some(minutes) = self.idle_lock_minutes {
            config.store.idle_lock_minutes = minutes;
        }
        if let Some(days) = self.inactive_suspend_days {
            config.store.inactive_suspend_days = days;
        }
        if let Some(rules) = &self.hotlist_rules {
            config.hotlist.set_rules(rules);
        }
    }

    /// Which settings come from the database.
    pub fn administered(&self) -> Vec<Setting> {
        let set = [
            self.camera_sources.is_some(),
            self.hotlist_sources.is_some(),
            self.hotlist_public_key.is_some(),
            self.retention_days.is_some(),
            self.allow_short_retention.is_some(),
            self.lockout_failures.is_some(),
            self.idle_lock_minutes.is_some(),
            self.inactive_suspend_days.is_some(),
            self.hotlist_rules.is_some(),
        ];
        Setting::ALL.into_iter().zip(set).filter(|(_, set)| *set).map(|(s, _)| s).collect()
    }
}

/// `config` with the administered values laid over it: what every command and the console
/// run with.
pub fn effective_config(store: &Store, config: &Config) -> Result<Config, StoreError> {
    let mut effective = config.clone();
    AdminSettings::load(store)?.apply(&mut effective);
    add_office_list_source(store, &mut effective)?;
    Ok(effective)
}

/// A car joined to an office reads first the hot-list publication it pulled from there
/// (`fleet::publish`), then the sources configured: the newest verified list wins either way.
pub fn add_office_list_source(store: &Store, config: &mut Config) -> Result<(), StoreError> {
    if store.read(crate::store::outbox::joined)?.is_some() {
        let folder = crate::store::outbox::office_list_dir(store.data_dir()).display().to_string();
        let folder = format!("{}{folder}", crate::hotlist::update::OFFICE_SOURCE_PREFIX);
        if !config.hotlist.sources.contains(&folder) {
            config.hotlist.sources.insert(0, folder);
        }
    }
    Ok(())
}

/// Seeds the security settings from the settings file's values (`seeds`), each only where the
/// store has none, marks the store as seeded and audits it, in one transaction. A second
/// process seeding at the same moment inserts nothing and audits nothing. A store seeded by an
/// older version gets the settings added since, the same way.
fn seed_security_settings(store: &Store, seeds: Vec<(Setting, String)>, org: String) -> Result<(), StoreError> {
    store.write(move |conn| {
        let table = SettingsTable::new(conn);
        let marked = table.seeded()?;
        let now = Utc::now().timestamp_millis();
        let mut taken = Vec::new();
        for (setting, value) in &seeds {
            if table.seed(setting.key(), value, now)? {
                taken.push(format!("{} = {value}", setting.file_key()));
            }
        }
        if marked && taken.is_empty() {
            return Ok(());
        }
        table.mark_seeded()?;
        let outcome =
            format!("security settings kept in the database from now on; from the settings file: {}", taken.join(", "));
        table.audit(&AuditEvent::new("system", &org, AuditAction::Admin, "security settings", &outcome))
    })
}

/// Makes the security settings ([`Setting::SECURITY`]) the database's: on a store's first use
/// (or its first use by a version that keeps them there) each is seeded from the settings file
/// `file`, in one transaction with an audit row; from then on only the administrator changes
/// them. Returns a warning for each one the file sets to something else, which is ignored.
pub fn secure_settings(store: &Store, file: &Config) -> Result<Vec<String>, StoreError> {
    let seeds: Vec<(Setting, String)> = Setting::SECURITY.iter().map(|&s| (s, s.file_value(file))).collect();
    let org = store.organization().to_owned();
    // Read first: every command opens the store, and only the first use needs to write.
    let read_stored = || {
        store.read(|conn| {
            Setting::SECURITY
                .iter()
                .map(|&s| Ok((s, stored(SettingsTable::new(conn), s)?)))
                .collect::<Result<Vec<_>, StoreError>>()
        })
    };
    let seeded = store.read(|conn| SettingsTable::new(conn).seeded())?;
    let mut stored = read_stored()?;
    if !seeded || stored.iter().any(|(_, value)| value.is_none()) {
        seed_security_settings(store, seeds, org)?;
        stored = read_stored()?;
    }
    Ok(stored
        .into_iter()
        .filter_map(|(setting, value)| {
            let in_force = value?;
            let from_file = setting.file_value(file);
            (in_force != from_file).then(|| {
                format!(
                    "the settings file's {} = {from_file} is ignored: the administrator's {in_force} is in force \
                     (security settings are changed with `patrol-alpr admin ... --as ADMIN` only)",
                    setting.file_key()
                )
            })
        })
        .collect())
}

/// What the administrator sees: each value in force and whether it comes from the database.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SettingsView {
    /// Camera sources in force.
    pub camera_sources: Vec<String>,
    /// Hot-list update sources in force.
    pub hotlist_sources: Vec<String>,
    /// The hot-list public key in force.
    pub hotlist_public_key: Option<String>,
    /// Retention in days in force.
    pub retention_days: u32,
    /// A period under the one-year floor is allowed.
    pub allow_short_retention: bool,
    /// Wrong PINs that lock an account.
    pub lockout_failures: u32,
    /// Minutes without input before the console locks.
    pub idle_lock_minutes: u32,
    /// Days without a log-on before an account is suspended (0: never).
    pub inactive_suspend_days: u32,
    /// The hot-list rules in force.
    pub hotlist_rules: HotlistRules,
    /// The settings whose value comes from the database (the rest from the settings file).
    pub administered: Vec<Setting>,
    /// The security settings still at the value the settings file gave at the store's first
    /// use (kept in the database, no longer read from the file).
    pub seeded: Vec<Setting>,
}

impl SettingsView {
    /// Where the value in force comes from, for display.
    pub fn origin(&self, setting: Setting) -> &'static str {
        if self.administered.contains(&setting) {
            "set by the administrator"
        } else if self.seeded.contains(&setting) {
            "from the settings file at the store's first use"
        } else {
            "from the settings file"
        }
    }
}

/// The settings whose stored value is still the one seeded from the settings file.
fn seeded_settings(store: &Store) -> Result<Vec<Setting>, StoreError> {
    let keys: Vec<String> = store.read(|conn| SettingsTable::new(conn).seeded_keys())?;
    Ok(Setting::ALL.into_iter().filter(|s| keys.iter().any(|k| k == s.key())).collect())
}

/// A camera source as typed, checked: `auto`, `sim`, `replay:PATH` or `camera:INDEX|NAME|PATH`.
pub fn check_camera_source(text: &str) -> Result<String, SessionError> {
    let text = text.trim();
    text.parse::<crate::camera::SourceSpec>().map_err(SessionError::Invalid)?;
    Ok(text.to_owned())
}

/// A hot-list update source as typed, checked: an absolute folder path (mounted media or a
/// synchronised share). Plain http is refused (the signature protects the content, not who
/// sees it), and this build cannot fetch https.
pub fn check_hotlist_source(text: &str) -> Result<String, SessionError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(SessionError::Invalid("type the folder the signed hot list is published in".into()));
    }
    if text.starts_with("http://") {
        return Err(SessionError::Invalid("plain http sources are refused: use a folder".into()));
    }
    if text.starts_with("https://") {
        return Err(SessionError::Invalid("https sources are not supported by this build yet: use a folder".into()));
    }
    if !std::path::Path::new(text).is_absolute() {
        return Err(SessionError::Invalid(format!("{text:?} is not an absolute folder path")));
    }
    Ok(text.to_owned())
}

/// A hot-list public key as typed or pasted, checked: the base64 ed25519 public key that
/// `hotlist keygen` prints and writes to `KEY.pub`.
pub fn check_public_key(text: &str) -> Result<String, SessionError> {
    let text = text.trim();
    crate::hotlist::update::parse_public_key(text).map_err(|_| {
        SessionError::Invalid(
            "not an ed25519 public key: paste the base64 line `hotlist keygen` printed (the KEY.pub file)".into(),
        )
    })?;
    Ok(text.to_owned())
}

/// A purge run by hand: the period used, the cutoff and the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgeOutcome {
    /// Retention in days.
    pub retention_days: u32,
    /// Reads older than this were (or would be) deleted.
    pub cutoff: DateTime<Utc>,
    /// What was (or would be) deleted and kept.
    pub counts: PurgeCounts,
}

/// The administrator's settings service over a store, its accounts and the settings file.
#[derive(Debug, Clone, Copy)]
pub struct Administration<'a> {
    store: &'a Store,
    accounts: Accounts<'a>,
    file: &'a Config,
}

impl<'a> Administration<'a> {
    /// The service. `file` gives the values used until the administrator sets one, and
    /// `allow_short_retention`, which only the settings file can grant.
    pub fn new(store: &'a Store, accounts: Accounts<'a>, file: &'a Config) -> Self {
        Self { store, accounts, file }
    }

    /// The settings in force (administrators only).
    pub fn view(&self, actor: &User) -> Result<SettingsView, SessionError> {
        for setting in Setting::ALL {
            self.accounts.authorize(
                actor,
                setting.permission(),
                AuditAction::Admin,
                &format!("view {}", setting.label()),
            )?;
        }
        let settings = AdminSettings::load(self.store)?;
        let seeded = seeded_settings(self.store)?;
        let mut config = self.file.clone();
        settings.apply(&mut config);
        let hotlist_rules = config.hotlist.rules();
        Ok(SettingsView {
            camera_sources: config.cameras.sources,
            hotlist_sources: config.hotlist.sources,
            hotlist_public_key: config.hotlist.public_key,
            retention_days: config.store.retention_days,
            allow_short_retention: config.store.allow_short_retention,
            lockout_failures: config.store.lockout_failures,
            idle_lock_minutes: config.store.idle_lock_minutes,
            inactive_suspend_days: config.store.inactive_suspend_days,
            hotlist_rules,
            administered: settings.administered().into_iter().filter(|s| !seeded.contains(s)).collect(),
            seeded,
        })
    }

    /// Authorizes, then in one transaction reads the value in force (the database's, else
    /// `fallback` from the file), applies `change`, stores the result and audits it.
    fn change<T, F>(
        &self,
        actor: &User,
        setting: Setting,
        what: &str,
        fallback: T,
        change: F,
    ) -> Result<T, SessionError>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        F: FnOnce(T) -> Result<(T, String), SessionError> + Send + 'static,
    {
        self.accounts.authorize(
            actor,
            setting.permission(),
            AuditAction::Admin,
            &format!("{what} ({})", setting.label()),
        )?;
        let (actor_id, org) = (actor.id.clone(), self.store.organization().to_owned());
        self.store.write(move |conn| {
            let current = load_one(SettingsTable::new(conn), setting)?.unwrap_or(fallback);
            let (new, outcome) = match change(current) {
                Ok(changed) => changed,
                Err(err) => return Ok(Err(err)),
            };
            let value = serde_json::to_string(&new).map_err(|e| StoreError::Invalid(e.to_string()))?;
            let table = SettingsTable::new(conn);
            table.set(setting.key(), &value, &actor_id, Utc::now().timestamp_millis())?;
            table.audit(&AuditEvent::new(&actor_id, &org, AuditAction::Admin, setting.label(), &outcome))?;
            Ok(Ok(new))
        })?
    }

    /// Adds a camera source; returns the sources now in force.
    pub fn add_camera(&self, actor: &User, source: &str) -> Result<Vec<String>, SessionError> {
        let fallback = self.file.cameras.sources.clone();
        self.add_to_list(actor, Setting::CameraSources, "camera source", fallback, check_camera_source(source))
    }

    /// Removes a camera source (at least one stays); returns the sources now in force.
    pub fn remove_camera(&self, actor: &User, source: &str) -> Result<Vec<String>, SessionError> {
        let fallback = self.file.cameras.sources.clone();
        self.remove_from_list(actor, Setting::CameraSources, "camera source", fallback, source, false)
    }

    /// Adds a hot-list update source; returns the sources now in force.
    pub fn add_hotlist_source(&self, actor: &User, source: &str) -> Result<Vec<String>, SessionError> {
        let fallback = self.file.hotlist.sources.clone();
        self.add_to_list(actor, Setting::HotlistSources, "hot-list source", fallback, check_hotlist_source(source))
    }

    /// Removes a hot-list update source; returns the sources now in force (none left means
    /// the shift-start update says so and the cached list is used).
    pub fn remove_hotlist_source(&self, actor: &User, source: &str) -> Result<Vec<String>, SessionError> {
        let fallback = self.file.hotlist.sources.clone();
        self.remove_from_list(actor, Setting::HotlistSources, "hot-list source", fallback, source, true)
    }

    /// Adds a checked source to a list setting (`noun`: what the list holds, for messages).
    fn add_to_list(
        &self,
        actor: &User,
        setting: Setting,
        noun: &'static str,
        fallback: Vec<String>,
        checked: Result<String, SessionError>,
    ) -> Result<Vec<String>, SessionError> {
        self.change(actor, setting, &format!("add {noun}"), fallback, move |mut list: Vec<String>| {
            let source = checked?;
            if list.contains(&source) {
                return Err(SessionError::Invalid(format!("{noun} {source} is already configured")));
            }
            list.push(source.clone());
            let outcome = format!("added {source}; now {}", list.join(", "));
            Ok((list, outcome))
        })
    }

    /// Removes a source from a list setting; `may_empty` says whether the last may go.
    fn remove_from_list(
        &self,
        actor: &User,
        setting: Setting,
        noun: &'static str,
        fallback: Vec<String>,
        source: &str,
        may_empty: bool,
    ) -> Result<Vec<String>, SessionError> {
        let source = source.trim().to_owned();
        self.change(actor, setting, &format!("remove {noun}"), fallback, move |mut list: Vec<String>| {
            let before = list.len();
            list.retain(|s| *s != source);
            if list.len() == before {
                return Err(SessionError::Invalid(format!("no {noun} {source}")));
            }
            if list.is_empty() && !may_empty {
                return Err(SessionError::Invalid(format!(
                    "a car needs at least one {noun}: add the new one before removing the last"
                )));
            }
            let outcome =
                format!("removed {source}; now {}", if list.is_empty() { "none".into() } else { list.join(", ") });
            Ok((list, outcome))
        })
    }

    /// Sets the agency's hot-list public key.
    pub fn set_hotlist_key(&self, actor: &User, key: &str) -> Result<String, SessionError> {
        let key = check_public_key(key);
        let fallback = self.file.hotlist.public_key.clone();
        self.change(actor, Setting::HotlistPublicKey, "set hot-list key", fallback, move |old: Option<String>| {
            let key = key?;
            let outcome = match old {
                Some(old) if old == key => format!("unchanged {key}"),
                Some(old) => format!("set {key} (was {old})"),
                None => format!("set {key}"),
            };
            Ok((Some(key), outcome))
        })
        .map(|key| key.unwrap_or_default())
    }

    /// Sets the retention period, refused under the one-year floor unless the administrator
    /// allowed shorter ones (`allow_short_retention`, on counsel's advice).
    pub fn set_retention(&self, actor: &User, days: u32) -> Result<u32, SessionError> {
        let allow_short = effective_config(self.store, self.file)?.store.allow_short_retention;
        let checked =
            retention_period(days, allow_short).map(|_| days).map_err(|e| SessionError::Invalid(e.to_string()));
        self.change(actor, Setting::RetentionDays, "set retention", self.file.store.retention_days, move |old| {
            let days = checked?;
            Ok((days, format!("retention {days} days (was {old})")))
        })
    }

    /// Allows or forbids retention periods under the one-year floor (on counsel's advice).
    pub fn set_allow_short_retention(&self, actor: &User, allow: bool) -> Result<bool, SessionError> {
        let fallback = self.file.store.allow_short_retention;
        self.change(actor, Setting::AllowShortRetention, "set retention floor", fallback, move |old| {
            Ok((allow, format!("periods under one year {} (was {old})", if allow { "allowed" } else { "refused" })))
        })
    }

    /// Sets how many consecutive wrong PINs lock an account (1-20).
    pub fn set_lockout_failures(&self, actor: &User, failures: u32) -> Result<u32, SessionError> {
        let fallback = self.file.store.lockout_failures;
        self.set_count(
            actor,
            Setting::LockoutFailures,
            fallback,
            failures,
            LOCKOUT_FAILURES,
            "wrong PINs",
            "lockout after",
        )
    }

    /// Sets the minutes without input after which the console locks (1-240).
    pub fn set_idle_lock_minutes(&self, actor: &User, minutes: u32) -> Result<u32, SessionError> {
        let fallback = self.file.store.idle_lock_minutes;
        self.set_count(
            actor,
            Setting::IdleLockMinutes,
            fallback,
            minutes,
            IDLE_LOCK_MINUTES,
            "idle minutes",
            "console locks after",
        )
    }

    /// Sets the days without a log-on after which an account is suspended (0 never, else
    /// 7-3650: a week at least, so that a holiday does not suspend a whole watch).
    pub fn set_inactive_suspend_days(&self, actor: &User, days: u32) -> Result<u32, SessionError> {
        let fallback = self.file.store.inactive_suspend_days;
        let range = if days == 0 { 0..=0 } else { INACTIVE_SUSPEND_DAYS };
        self.set_count(
            actor,
            Setting::InactiveSuspendDays,
            fallback,
            days,
            range,
            "days without a log-on",
            "suspend after",
        )
    }

    /// Changes the hot-list rules as `change` says, each checked against its range; audited
    /// with the rules before and after. A console reads the rules in force when it starts
    /// (and builds each hot list's index with them): a running one keeps its own until then.
    pub fn set_hotlist_rules(&self, actor: &User, change: HotlistRulesChange) -> Result<HotlistRules, SessionError> {
        let fallback = self.file.hotlist.rules();
        self.change(actor, Setting::HotlistRules, "set hot-list rules", fallback, move |old: HotlistRules| {
            let new = change.applied_to(&old)?;
            new.check().map_err(SessionError::Invalid)?;
            let outcome = if new == old {
                format!("unchanged: {}", new.summary())
            } else {
                format!("now {} (was {})", new.summary(), old.summary())
            };
            Ok((new, outcome))
        })
    }

    /// Sets a whole-number account rule within `range`, audited as "`what` N `unit` (was M)".
    #[allow(clippy::too_many_arguments)]
    fn set_count(
        &self,
        actor: &User,
        setting: Setting,
        fallback: u32,
        value: u32,
        range: std::ops::RangeInclusive<u32>,
        unit: &'static str,
        what: &'static str,
    ) -> Result<u32, SessionError> {
        self.change(actor, setting, &format!("set {}", setting.label()), fallback, move |old| {
            if !range.contains(&value) {
                let (low, high) = (range.start(), range.end());
                return Err(SessionError::Invalid(format!("{what} {value} {unit}: give {low} to {high}")));
            }
            Ok((value, format!("{what} {value} {unit} (was {old})")))
        })
    }

    /// Runs the purge by hand (or counts it, `dry_run`) with the retention in force; audited
    /// with its counts as `actor`.
    pub fn purge(&self, actor: &User, dry_run: bool, now: DateTime<Utc>) -> Result<PurgeOutcome, SessionError> {
        self.accounts.authorize(actor, Permission::ManageRetention, AuditAction::Purge, "purge")?;
        purge_as(self.store, self.file, &actor.id, dry_run, now)
    }
}

/// The purge with the retention in force, as `user` (`system` for the scheduled run).
pub fn purge_as(
    store: &Store,
    file: &Config,
    user: &str,
    dry_run: bool,
    now: DateTime<Utc>,
) -> Result<PurgeOutcome, SessionError> {
    let in_force = effective_config(store, file)?.store;
    let retention_days = in_force.retention_days;
    let period = retention_period(retention_days, in_force.allow_short_retention)
        .map_err(|e| SessionError::Invalid(e.to_string()))?;
    let cutoff = now - period;
    let counts = store.purge(cutoff, dry_run, user)?;
    Ok(PurgeOutcome { retention_days, cutoff, counts })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{AccountRules, NewUser, Role};
    use crate::store::testing::temp_store;

    #[test]
    fn a_value_from_the_office_is_checked_by_its_setters_rules() {
        assert_eq!(Setting::LockoutFailures.check_value("3", false), Ok("3".into()));
        assert!(Setting::LockoutFailures.check_value("99", false).unwrap_err().contains("outside"));
        assert!(Setting::IdleLockMinutes.check_value("0", false).is_err());
        assert_eq!(Setting::InactiveSuspendDays.check_value("0", false), Ok("0".into()));
        assert!(Setting::InactiveSuspendDays.check_value("3", false).is_err());
        assert!(Setting::RetentionDays.check_value("30", false).is_err(), "under the one-year floor");
        assert_eq!(Setting::RetentionDays.check_value("30", true), Ok("30".into()));
        assert!(Setting::AllowShortRetention.check_value("\"yes\"", false).is_err());
        assert!(Setting::HotlistPublicKey.check_value("\"AAAA\"", false).unwrap_err().contains("each car's own"));
        assert!(Setting::FLEET.iter().all(|s| Setting::from_key(s.key()) == Some(*s)));
        assert!(!Setting::FLEET.contains(&Setting::HotlistPublicKey));
    }

    const PIN: &str = "123456";

    fn user(accounts: &Accounts<'_>, admin: Option<&User>, id: &str, role: Role) -> User {
        let today = Utc::now().date_naive();
        let new = NewUser {
            id: id.into(),
            name: format!("Name {id}"),
            role,
            pin: PIN.into(),
            trained_on: Some(today - chrono::Duration::days(10)),
            certified_until: Some(today + chrono::Duration::days(100)),
        };
        match admin {
            Some(admin) => accounts.create_user(admin, new).unwrap(),
            None => accounts.bootstrap_admin(new).unwrap(),
        }
        accounts.authenticate(id, PIN, Utc::now()).unwrap()
    }

    fn admin_rows(store: &Store) -> Vec<(String, String, String)> {
        store
            .read(|c| {
                let mut s =
                    c.prepare("SELECT user, object, outcome FROM audit_log WHERE action = 'admin' ORDER BY seq")?;
                Ok(s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?)
            })
            .unwrap()
    }

    fn public_key() -> String {
        let dir = tempfile::tempdir().unwrap();
        crate::hotlist::update::generate_key(&dir.path().join("k")).unwrap()
    }

    #[test]
    fn officers_and_supervisors_may_not_change_settings_and_are_audited() {
        let (_dir, store) = temp_store();
        let accounts = Accounts::new(&store, AccountRules::default());
        let admin = user(&accounts, None, "a1", Role::Administrator);
        let file = Config::default();
        let admin_svc = Administration::new(&store, accounts, &file);
        let key = public_key();
        for (id, role) in [("o1", Role::Officer), ("s1", Role::Supervisor)] {
            let actor = user(&accounts, Some(&admin), id, role);
            let forbidden =
                |r: Result<(), SessionError>| assert!(matches!(r, Err(SessionError::Forbidden { .. })), "{id}");
            forbidden(admin_svc.view(&actor).map(drop));
            forbidden(admin_svc.add_camera(&actor, "sim").map(drop));
            forbidden(admin_svc.remove_camera(&actor, "auto").map(drop));
            forbidden(admin_svc.add_hotlist_source(&actor, "/media/hotlist").map(drop));
            forbidden(admin_svc.remove_hotlist_source(&actor, "/media/hotlist").map(drop));
            forbidden(admin_svc.set_hotlist_key(&actor, &key).map(drop));
            forbidden(admin_svc.set_retention(&actor, 400).map(drop));
            forbidden(admin_svc.purge(&actor, true, Utc::now()).map(drop));
        }
        let refusals = store.count_audit_rows("outcome LIKE 'refused: role%'");
        assert_eq!(refusals, 16, "every refusal is audited");
        assert_eq!(AdminSettings::load(&store).unwrap(), AdminSettings::default(), "nothing was changed");
    }

    #[test]
    fn security_settings_are_seeded_once_from_the_file_then_only_the_administrator_changes_them() {
        let (_dir, store) = temp_store();
        let accounts = Accounts::new(&store, AccountRules::default());
        let admin = user(&accounts, None, "a1", Role::Administrator);
        let mut file = Config::default();
        file.store.lockout_failures = 3;
        file.hotlist.sources = vec!["/media/usb/hotlist".into()];
        // The first use seeds them, audited, and nothing is ignored.
        assert!(secure_settings(&store, &file).unwrap().is_empty());
        assert_eq!(effective_config(&store, &Config::default()).unwrap().store.lockout_failures, 3);
        let seeded = admin_rows(&store);
        assert!(seeded.iter().any(|r| r.0 == "system" && r.1 == "security settings"), "{seeded:?}");
        // A settings file written later, weakening them: ignored, each named in a warning.
        let mut hostile = file.clone();
        hostile.store.lockout_failures = 4_000_000_000;
        hostile.store.retention_days = 1;
        hostile.store.allow_short_retention = true;
        hostile.hotlist.public_key = Some(public_key());
        let warnings = secure_settings(&store, &hostile).unwrap();
        assert_eq!(warnings.len(), 4, "{warnings:?}");
        assert!(
            warnings.iter().any(|w| w.contains("[store] lockout_failures = 4000000000 is ignored")),
            "{warnings:?}"
        );
        let in_force = effective_config(&store, &hostile).unwrap();
        assert_eq!(
            (in_force.store.lockout_failures, in_force.store.retention_days, in_force.store.allow_short_retention),
            (3, 365, false)
        );
        assert_eq!(in_force.hotlist.public_key, None);
        // The administrator changes them (audited), within their ranges.
        let svc = Administration::new(&store, Accounts::new(&store, AccountRules::default()), &hostile);
        assert_eq!(svc.set_lockout_failures(&admin, 6).unwrap(), 6);
        assert!(matches!(svc.set_lockout_failures(&admin, 0), Err(SessionError::Invalid(_))));
        assert!(matches!(svc.set_idle_lock_minutes(&admin, 10_000), Err(SessionError::Invalid(_))));
        assert!(svc.set_retention(&admin, 30).is_err(), "the floor holds while shorter periods are not allowed");
        assert!(svc.set_allow_short_retention(&admin, true).unwrap());
        assert_eq!(svc.set_retention(&admin, 30).unwrap(), 30);
        let view = svc.view(&admin).unwrap();
        assert_eq!((view.lockout_failures, view.retention_days, view.allow_short_retention), (6, 30, true));
        // Nobody else may.
        let officer = user(&accounts, Some(&admin), "o1", Role::Officer);
        assert!(matches!(svc.set_lockout_failures(&officer, 20), Err(SessionError::Forbidden { .. })));
    }

    #[test]
    fn the_hot_list_rules_are_the_administrators_not_a_later_settings_files() {
        let (_dir, store) = temp_store();
        let accounts = Accounts::new(&store, AccountRules::default());
        let admin = user(&accounts, None, "a1", Role::Administrator);
        let mut file = Config::default();
        file.hotlist.ignore_state_lists = vec!["LOCAL BOLO".into()];
        assert!(secure_settings(&store, &file).unwrap().is_empty());
        // A file written later that would keep a week-old list fresh and match plates three
        // look-alikes apart: ignored, named in a warning.
        let mut hostile = file.clone();
        hostile.hotlist.max_age_hours = 100_000;
        hostile.hotlist.max_substitutions = 3;
        hostile.hotlist.ignore_state_lists.clear();
        let warnings = secure_settings(&store, &hostile).unwrap();
        assert!(
            warnings.len() == 1
                && warnings[0].contains("[hotlist] max_age_hours")
                && warnings[0].contains("is ignored"),
            "{warnings:?}"
        );
        let in_force = effective_config(&store, &hostile).unwrap().hotlist;
        assert_eq!((in_force.max_age_hours, in_force.max_substitutions), (24, 1));
        assert_eq!(in_force.ignore_state_lists, vec!["LOCAL BOLO".to_owned()]);

        // The administrator changes them, each within its range, audited before and after.
        let svc = Administration::new(&store, Accounts::new(&store, AccountRules::default()), &hostile);
        let change = HotlistRulesChange {
            max_age_hours: Some(12),
            add_text_only: vec![" Port BOLO ".into()],
            remove_text_only: vec!["local bolo".into()],
            ..HotlistRulesChange::default()
        };
        let rules = svc.set_hotlist_rules(&admin, change).unwrap();
        assert_eq!((rules.max_age_hours, rules.ignore_state_lists.clone()), (12, vec!["Port BOLO".to_owned()]));
        let audited = admin_rows(&store);
        let last = &audited.last().unwrap().2;
        assert!(last.contains("stale after 12 h") && last.contains("(was stale after 24 h"), "{last}");
        assert_eq!(effective_config(&store, &hostile).unwrap().hotlist.rules(), rules);
        assert_eq!(svc.view(&admin).unwrap().hotlist_rules, rules);
        for bad in [
            HotlistRulesChange { max_age_hours: Some(0), ..HotlistRulesChange::default() },
            HotlistRulesChange { max_substitutions: Some(3), ..HotlistRulesChange::default() },
            HotlistRulesChange { bolo_max_days: Some(365), ..HotlistRulesChange::default() },
            HotlistRulesChange { past_reads_window_hours: Some(10_000), ..HotlistRulesChange::default() },
            HotlistRulesChange { equivalence_classes: Some(vec!["0O".into(), "O1".into()]), ..Default::default() },
            HotlistRulesChange { remove_text_only: vec!["NO SUCH LIST".into()], ..HotlistRulesChange::default() },
            HotlistRulesChange { add_text_only: vec!["  ".into()], ..HotlistRulesChange::default() },
        ] {
            assert!(matches!(svc.set_hotlist_rules(&admin, bad.clone()), Err(SessionError::Invalid(_))), "{bad:?}");
        }
        assert_eq!(svc.view(&admin).unwrap().hotlist_rules, rules, "a refused change changes nothing");
        // Nobody else may, and the refusal is audited.
        let officer = user(&accounts, Some(&admin), "o1", Role::Officer);
        let widen = HotlistRulesChange { max_substitutions: Some(2), ..HotlistRulesChange::default() };
        assert!(matches!(svc.set_hotlist_rules(&officer, widen), Err(SessionError::Forbidden { .. })));
        assert_eq!(effective_config(&store, &hostile).unwrap().hotlist.max_substitutions, 1);
    }

    #[test]
    fn the_administrator_changes_settings_audited_and_they_override_the_file() {
        let (_dir, store) = temp_store();
        let accounts = Accounts::new(&store, AccountRules::default());
        let admin = user(&accounts, None, "a1", Role::Administrator);
        let mut file = Config::default();
        file.hotlist.sources = vec!["/media/usb/hotlist".into()];
        let svc = Administration::new(&store, accounts, &file);
        let view = svc.view(&admin).unwrap();
        assert_eq!(view.camera_sources, vec!["auto".to_owned()]);
        assert!(view.administered.is_empty());

        assert_eq!(svc.add_camera(&admin, " camera:1 ").unwrap(), vec!["auto".to_owned(), "camera:1".to_owned()]);
        assert_eq!(svc.remove_camera(&admin, "auto").unwrap(), vec!["camera:1".to_owned()]);
        assert!(matches!(svc.remove_camera(&admin, "camera:1"), Err(SessionError::Invalid(_))), "the last stays");
        assert!(matches!(svc.add_camera(&admin, "webcam"), Err(SessionError::Invalid(_))));
        assert!(matches!(svc.add_camera(&admin, "camera:1"), Err(SessionError::Invalid(_))), "no duplicates");

        svc.add_hotlist_source(&admin, "/srv/hotlist").unwrap();
        assert_eq!(svc.remove_hotlist_source(&admin, "/media/usb/hotlist").unwrap(), vec!["/srv/hotlist".to_owned()]);
        for bad in ["http://example.org/list", "https://example.org/list", "relative/dir", ""] {
            assert!(matches!(svc.add_hotlist_source(&admin, bad), Err(SessionError::Invalid(_))), "{bad}");
        }

        let key = public_key();
        svc.set_hotlist_key(&admin, &format!("{key}\n")).unwrap();
        for bad in ["not a key", "AAAA", ""] {
            assert!(matches!(svc.set_hotlist_key(&admin, bad), Err(SessionError::Invalid(_))), "{bad}");
        }

        svc.set_retention(&admin, 730).unwrap();
        let err = svc.set_retention(&admin, 30).unwrap_err().to_string();
        assert!(err.contains("one-year floor"), "{err}");
        assert!(matches!(svc.set_retention(&admin, 0), Err(SessionError::Invalid(_))));

        let effective = effective_config(&store, &file).unwrap();
        assert_eq!(effective.cameras.sources, vec!["camera:1".to_owned()]);
        assert_eq!(effective.hotlist.sources, vec!["/srv/hotlist".to_owned()]);
        assert_eq!(effective.hotlist.public_key.as_deref(), Some(key.as_str()));
        assert_eq!(effective.store.retention_days, 730);
        assert_eq!(svc.view(&admin).unwrap().administered, Setting::ALL[..4].to_vec());

        let rows = admin_rows(&store);
        let changes: Vec<&(String, String, String)> = rows.iter().filter(|r| r.1 != "a1").collect();
        let objects: Vec<&str> = changes.iter().map(|r| r.1.as_str()).collect();
        assert_eq!(
            objects,
            [
                "camera sources",
                "camera sources",
                "hot-list sources",
                "hot-list sources",
                "hot-list public key",
                "retention"
            ]
        );
        assert!(changes.iter().all(|r| r.0 == "a1"), "recorded as the administrator");
        assert_eq!(changes[5].2, "retention 730 days (was 365)");
        assert!(matches!(store.verify_audit_log().unwrap(), crate::store::audit_log::Verification::Intact { .. }));
    }

    #[test]
    fn a_short_retention_needs_the_settings_file_and_the_purge_uses_the_period_in_force() {
        let (_dir, store) = temp_store();
        let accounts = Accounts::new(&store, AccountRules::default());
        let admin = user(&accounts, None, "a1", Role::Administrator);
        let mut file = Config::default();
        file.store.allow_short_retention = true;
        let svc = Administration::new(&store, accounts, &file);
        svc.set_retention(&admin, 30).unwrap();
        let old = crate::store::NewRead {
            time: Utc::now() - chrono::Duration::days(40),
            camera: "front".into(),
            officer: None,
            plate: "OLD1".into(),
            confidence: 0.9,
            candidates_json: "[]".into(),
            state: None,
            gps: None,
            crop_png: None,
        };
        store.insert_read(old).unwrap();
        let dry = svc.purge(&admin, true, Utc::now()).unwrap();
        assert_eq!((dry.retention_days, dry.counts.reads, dry.counts.dry_run), (30, 1, true));
        assert_eq!(store.count_reads().unwrap(), 1);
        let done = svc.purge(&admin, false, Utc::now()).unwrap();
        assert_eq!(done.counts.reads, 1);
        assert_eq!(store.count_reads().unwrap(), 0);
    }
}
