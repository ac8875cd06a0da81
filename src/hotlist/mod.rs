//! Hot lists: the agency's lists of wanted plates, how they arrive, and how every read is
//! matched against them.
//!
//! Part of the policy core: nothing here depends on a GUI, camera or audio device.
//!
//! - [`entry`]: the entry type, categories, plate and state normalization;
//! - [`parse`]: California DOJ CLEW, NCIC and CSV parsers and the import report;
//! - [`equivalence`] and [`index`]: OCR-equivalent characters and the compact index that matches
//!   a read (all its candidates, exact, approximate or wildcard) in well under a microsecond;
//! - [`Hotlists`]: the live list, swapped atomically so that matching never waits;
//! - [`load`]: building the live list from the cache, and `hotlist import`;
//! - [`update`]: the signed shift-start update (manifest, ed25519, SHA-256) and key handling;
//! - [`manual`]: manual (BOLO) entries, audited; [`past_reads`]: new entries against past reads;
//! - [`cache`]: the one place the hot-list cache is read and written;
//! - [`synthetic`]: seeded synthetic lists and reads for benchmarks.

pub mod actor;
pub mod cache;
pub mod entry;
pub mod equivalence;
pub mod index;
pub mod load;
pub mod manual;
pub mod parse;
pub mod past_reads;
pub mod synthetic;
pub mod update;

use std::sync::Arc;
use std::thread::JoinHandle;

use arc_swap::ArcSwap;
use chrono::{DateTime, Duration, Utc};
use crossbeam_channel::{Receiver, TryRecvError};
use serde::{Deserialize, Serialize};

pub use entry::{Category, HotlistEntry, Vehicle};
pub use equivalence::EquivalenceClasses;
pub use index::{
    EntryMatch, Hit, HotlistIndex, MatchConfig, MatchKind, ReadCandidate, ReadQuery, StateCheck, Substitution,
};

/// The `[hotlist]` settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HotlistConfig {
    /// The agency's ed25519 public key (base64) that signs shift-start updates. Without it
    /// every update is refused: an unsigned list is never loaded.
    pub public_key: Option<String>,
    /// Where updates come from, tried in order: absolute folder paths (mounted media or a
    /// synchronized folder). `http(s)://` sources are refused in this build (see
    /// `update::fetch`).
    pub sources: Vec<String>,
    /// A list older than this (from its creation by the publisher) is stale: a warning the
    /// officer must acknowledge.
    pub max_age_hours: u32,
    /// Characters the reader may confuse, e.g. `["0ODQ", "1I"]`.
    pub equivalence_classes: EquivalenceClasses,
    /// The most equivalent-character substitutions an approximate match may need.
    pub max_substitutions: u8,
    /// The longest a manual (BOLO) entry may stay on the list, in days.
    pub bolo_max_days: u32,
    /// How far back new entries are checked against stored reads, in hours.
    pub past_reads_window_hours: u32,
    /// Lists (by name) whose entries are matched on the plate text whatever state is read,
    /// for lists kept without reliable states. Every other list's hits are exact only when
    /// the state read agrees with the entry's.
    pub ignore_state_lists: Vec<String>,
}

impl Default for HotlistConfig {
    fn default() -> Self {
        Self {
            public_key: None,
            sources: Vec::new(),
            max_age_hours: 24,
            equivalence_classes: EquivalenceClasses::default(),
            max_substitutions: 1,
            bolo_max_days: 30,
            past_reads_window_hours: 72,
            ignore_state_lists: Vec::new(),
        }
    }
}

impl HotlistConfig {
    /// The matching rules these settings describe.
    pub fn match_config(&self) -> MatchConfig {
        MatchConfig {
            classes: self.equivalence_classes.clone(),
            max_substitutions: self.max_substitutions,
            ignore_state_lists: self.ignore_state_lists.clone(),
        }
    }

    /// The staleness limit.
    pub fn max_age(&self) -> Duration {
        Duration::hours(i64::from(self.max_age_hours))
    }

    /// The rules these settings hold (`HotlistRules`).
    pub fn rules(&self) -> HotlistRules {
        HotlistRules {
            max_age_hours: self.max_age_hours,
            equivalence_classes: self.equivalence_classes.clone(),
            max_substitutions: self.max_substitutions,
            bolo_max_days: self.bolo_max_days,
            past_reads_window_hours: self.past_reads_window_hours,
            ignore_state_lists: self.ignore_state_lists.clone(),
        }
    }

    /// Puts `rules` in place of these settings' own.
    pub fn set_rules(&mut self, rules: &HotlistRules) {
        self.max_age_hours = rules.max_age_hours;
        self.equivalence_classes = rules.equivalence_classes.clone();
        self.max_substitutions = rules.max_substitutions;
        self.bolo_max_days = rules.bolo_max_days;
        self.past_reads_window_hours = rules.past_reads_window_hours;
        self.ignore_state_lists = rules.ignore_state_lists.clone();
    }
}

/// The hot-list rules: when a list is stale, how loosely a read matches an entry, how long a
/// BOLO lasts, how far back new entries are checked, which lists match on text alone. They
/// decide whether an officer is told to stop a car, so they are the administrator's security
/// settings (`patrol-alpr admin hotlist-rules`, kept in the database), not the settings
/// file's once the store is in use: a file written later could otherwise make a week-old list
/// count as fresh, or match plates two characters apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HotlistRules {
    /// A list older than this many hours is stale.
    pub max_age_hours: u32,
    /// Characters the reader may confuse.
    pub equivalence_classes: EquivalenceClasses,
    /// The most equivalent-character substitutions an approximate match may need.
    pub max_substitutions: u8,
    /// The longest a BOLO entry may stay on the list, in days.
    pub bolo_max_days: u32,
    /// How far back new entries are checked against stored reads, in hours.
    pub past_reads_window_hours: u32,
    /// Lists matched on the plate text whatever state is read.
    pub ignore_state_lists: Vec<String>,
}

impl Default for HotlistRules {
    fn default() -> Self {
        HotlistConfig::default().rules()
    }
}

impl HotlistRules {
    /// A week: the policy asks for a fresh list every shift.
    pub const MAX_AGE_HOURS: std::ops::RangeInclusive<u32> = 1..=168;
    /// Two substitutions already match `8BC1234` to `BBC1Z34`; more would stop strangers.
    pub const MAX_SUBSTITUTIONS: std::ops::RangeInclusive<u8> = 0..=2;
    /// A BOLO is a short-lived alert.
    pub const BOLO_MAX_DAYS: std::ops::RangeInclusive<u32> = 1..=90;
    /// Reads are kept a year at least; a month back is what a new entry is checked against.
    pub const PAST_READS_WINDOW_HOURS: std::ops::RangeInclusive<u32> = 0..=720;

    /// Checks each rule against its range; the error names the rule and the range.
    pub fn check(&self) -> Result<(), String> {
        let out_of = |name: &str, value: String, range: String| Err(format!("{name} {value} is outside {range}"));
        if !Self::MAX_AGE_HOURS.contains(&self.max_age_hours) {
            return out_of("max_age_hours", self.max_age_hours.to_string(), format!("{:?}", Self::MAX_AGE_HOURS));
        }
        if !Self::MAX_SUBSTITUTIONS.contains(&self.max_substitutions) {
            let range = format!("{:?}", Self::MAX_SUBSTITUTIONS);
            return out_of("max_substitutions", self.max_substitutions.to_string(), range);
        }
        if !Self::BOLO_MAX_DAYS.contains(&self.bolo_max_days) {
            return out_of("bolo_max_days", self.bolo_max_days.to_string(), format!("{:?}", Self::BOLO_MAX_DAYS));
        }
        if !Self::PAST_READS_WINDOW_HOURS.contains(&self.past_reads_window_hours) {
            let range = format!("{:?}", Self::PAST_READS_WINDOW_HOURS);
            return out_of("past_reads_window_hours", self.past_reads_window_hours.to_string(), range);
        }
        if let Some(bad) = self.ignore_state_lists.iter().find(|l| l.trim().is_empty() || l.trim() != l.as_str()) {
            return Err(format!("list name {bad:?}: a name, without spaces around it"));
        }
        Ok(())
    }

    /// One line for the audit log and the administrator's display.
    pub fn summary(&self) -> String {
        let classes: Vec<String> = self.equivalence_classes.clone().into();
        let text_only =
            if self.ignore_state_lists.is_empty() { "none".into() } else { self.ignore_state_lists.join(", ") };
        format!(
            "stale after {} h; {} substitution(s) of {}; BOLO up to {} days; new entries checked {} h back; \
             matched on text alone: {text_only}",
            self.max_age_hours,
            self.max_substitutions,
            classes.join(" "),
            self.bolo_max_days,
            self.past_reads_window_hours,
        )
    }
}

/// What the console knows about the list in use: always shown (policy S6, S8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListStatus {
    /// The version of the last shift-start update (or `none` when only imports and manual
    /// entries are loaded).
    pub version: String,
    /// When the publisher created the list (for imports only: when they were imported).
    /// `None` when nothing is loaded.
    pub created: Option<DateTime<Utc>>,
    /// When this console loaded it.
    pub loaded_at: DateTime<Utc>,
    /// Entries in the index.
    pub entries: usize,
    /// Where the lists came from.
    pub sources: Vec<String>,
}

impl ListStatus {
    /// The list's age at `now`; `None` when no list is loaded.
    pub fn age(&self, now: DateTime<Utc>) -> Option<Duration> {
        self.created.map(|created| now - created)
    }

    /// True when no list is loaded or the list is older than `max_age`: a warning state.
    pub fn is_stale(&self, now: DateTime<Utc>, max_age: Duration) -> bool {
        self.age(now).is_none_or(|age| age > max_age)
    }
}

/// An index together with its status: what [`Hotlists`] swaps as one.
#[derive(Debug)]
pub struct ActiveList {
    /// The index.
    pub index: HotlistIndex,
    /// Its version, age and sources.
    pub status: ListStatus,
}

impl ActiveList {
    /// No list at all (the state before the first load).
    pub fn empty(config: MatchConfig, now: DateTime<Utc>) -> Self {
        Self {
            index: HotlistIndex::empty(config),
            status: ListStatus {
                version: "none".into(),
                created: None,
                loaded_at: now,
                entries: 0,
                sources: Vec::new(),
            },
        }
    }
}

/// The live hot list, shared by the matcher and the screens. Readers take a snapshot without
/// waiting; a new list replaces the old one in one atomic step, and the old one is freed when
/// its last reader lets go.
#[derive(Debug)]
pub struct Hotlists {
    current: ArcSwap<ActiveList>,
}

impl Hotlists {
    /// Starts with `initial`.
    pub fn new(initial: ActiveList) -> Self {
        Self { current: ArcSwap::from_pointee(initial) }
    }

    /// The list in use now.
    pub fn current(&self) -> Arc<ActiveList> {
        self.current.load_full()
    }

    /// Makes `list` the list in use.
    pub fn replace(&self, list: ActiveList) {
        self.current.store(Arc::new(list));
    }

    /// Matches a read against the list in use.
    pub fn match_read(&self, query: &ReadQuery<'_>) -> Option<Hit> {
        self.current.load().index.match_read(query)
    }
}

/// Work run on its own named thread (loading, importing, updating: parsing and index
/// building take seconds for big lists and must never block the screen). The result arrives
/// on a bounded channel; dropping the handle waits for the thread to end.
#[derive(Debug)]
pub struct BackgroundJob<T> {
    result: Receiver<T>,
    thread: Option<JoinHandle<()>>,
}

impl<T: Send + 'static> BackgroundJob<T> {
    /// Starts `work` on a thread called `name`.
    pub fn start<F>(name: &str, work: F) -> std::io::Result<Self>
    where
        F: FnOnce() -> T + Send + 'static,
    {
        let (sender, result) = crossbeam_channel::bounded(1);
        let thread = std::thread::Builder::new().name(name.to_owned()).spawn(move || {
            // The receiver may be gone (the screen closed); the work is done either way.
            let _ = sender.send(work());
        })?;
        Ok(Self { result, thread: Some(thread) })
    }

    /// The result, once the work is done; `None` while it runs. A job whose thread panicked
    /// reports `Some(None)`.
    pub fn try_result(&self) -> Option<Option<T>> {
        match self.result.try_recv() {
            Ok(value) => Some(Some(value)),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(None),
        }
    }

    /// Waits for the result; `None` when the thread panicked.
    pub fn wait(mut self) -> Option<T> {
        let value = self.result.recv().ok();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        value
    }
}

impl<T> Drop for BackgroundJob<T> {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            // A panic in the job was already reported as a missing result.
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list_with(plate: &str, version: &str) -> ActiveList {
        let entry = HotlistEntry::new(plate, Category::StolenVehicle, "svs");
        let index = HotlistIndex::build(MatchConfig::default(), &[entry]).unwrap();
        let now = Utc::now();
        ActiveList {
            index,
            status: ListStatus {
                version: version.into(),
                created: Some(now),
                loaded_at: now,
                entries: 1,
                sources: vec![],
            },
        }
    }

    #[test]
    fn swap_is_atomic_and_old_snapshots_survive() {
        let lists = Hotlists::new(list_with("AAA111", "v1"));
        let candidates = [ReadCandidate { text: "AAA111", confidence: 0.9 }];
        let q = ReadQuery { candidates: &candidates, state: None, now: Utc::now() };
        let snapshot = lists.current();
        assert!(lists.match_read(&q).is_some());
        lists.replace(list_with("BBB222", "v2"));
        assert!(lists.match_read(&q).is_none());
        assert_eq!(lists.current().status.version, "v2");
        // A reader that took the old list keeps a complete, working list.
        assert!(snapshot.index.match_read(&q).is_some());
        assert_eq!(snapshot.status.version, "v1");
    }

    #[test]
    fn staleness() {
        let now = Utc::now();
        let mut status = ListStatus { version: "v".into(), created: None, loaded_at: now, entries: 0, sources: vec![] };
        assert!(status.is_stale(now, Duration::hours(24)));
        status.created = Some(now - Duration::hours(23));
        assert!(!status.is_stale(now, Duration::hours(24)));
        status.created = Some(now - Duration::hours(25));
        assert!(status.is_stale(now, Duration::hours(24)));
        assert_eq!(status.age(now), Some(Duration::hours(25)));
    }

    #[test]
    fn background_job_delivers_and_joins() {
        let job = BackgroundJob::start("hotlist-test", || 6 * 7).unwrap();
        assert_eq!(job.wait(), Some(42));
        let job = BackgroundJob::start("hotlist-test", || -> u8 { panic!("boom") }).unwrap();
        assert_eq!(job.wait(), None);
        let job = BackgroundJob::start("hotlist-test", || 1).unwrap();
        drop(job);
    }

    #[test]
    fn config_defaults_and_toml() {
        let config: HotlistConfig = toml::from_str("max_substitutions = 2\nequivalence_classes = [\"0O\"]\n").unwrap();
        assert_eq!(config.max_substitutions, 2);
        assert_eq!(config.max_age_hours, 24);
        assert!(config.match_config().classes.equivalent(b'0', b'O'));
        assert!(!config.match_config().classes.equivalent(b'1', b'I'));
        assert!(toml::from_str::<HotlistConfig>("equivalence_classes = [\"0O\", \"O1\"]\n").is_err());
        assert!(toml::from_str::<HotlistConfig>("nonsense = 1\n").is_err());
    }
}
