//! The hot-list index: an immutable, compact table of every entry that matches a read in well
//! under a microsecond, exactly or through OCR-equivalent characters.
//!
//! Part of the policy core. Layout, chosen for lists of millions of entries:
//! - every plain entry is packed into 32 bytes (`Packed`) in one `Vec`, sorted by its
//!   *canonical* key (each character replaced by its equivalence-class representative);
//! - an open-addressing table of `u32` slots maps each canonical key to the first entry of its
//!   run, with 6 bits of the hash kept in the slot so a miss rarely touches the entries;
//! - the text fields (make, model, colour, record number, reason) live in one byte arena;
//! - wildcard entries are few and kept apart, tried one by one.
//!
//! An exact match is a canonical match with no differing character, so one lookup per distinct
//! canonical form of a read's candidates finds both exact and approximate matches.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::Serialize;

use super::entry::{Category, HotlistEntry, MAX_PLATE_LEN, Vehicle, is_state_code, normalize_list_plate, parse_state};
use super::equivalence::{EquivalenceClasses, PlateKey};

/// How reads are compared with entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchConfig {
    /// Characters the reader may confuse.
    pub classes: EquivalenceClasses,
    /// The most equivalent-character substitutions an approximate match may need.
    pub max_substitutions: u8,
    /// Lists whose entries are matched on the plate text whatever state is read (upper case):
    /// a list kept without reliable states, such as an agency's own BOLOs.
    pub ignore_state_lists: Vec<String>,
}

impl Default for MatchConfig {
    fn default() -> Self {
        Self { classes: EquivalenceClasses::default(), max_substitutions: 1, ignore_state_lists: Vec::new() }
    }
}

impl MatchConfig {
    /// True when entries of `list` are matched whatever state is read.
    pub fn ignores_state_of(&self, list: &str) -> bool {
        self.ignore_state_lists.iter().any(|l| l.eq_ignore_ascii_case(list))
    }
}

/// One reading of a plate offered for matching.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadCandidate<'a> {
    /// The text (normalized here: anything but letters and digits is ignored).
    pub text: &'a str,
    /// The recognizer's confidence, 0-1.
    pub confidence: f32,
}

/// A read to match: all of its candidate readings, best first, and the state when known.
#[derive(Debug, Clone, Copy)]
pub struct ReadQuery<'a> {
    /// Candidate readings, best first.
    pub candidates: &'a [ReadCandidate<'a>],
    /// The issuing state when the reader or the officer knows it.
    pub state: Option<&'a str>,
    /// The time of the read: entries that expired before it do not match.
    pub now: DateTime<Utc>,
}

/// How an entry matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// Character for character.
    Exact,
    /// Through OCR-equivalent characters (see the substitutions).
    Approximate,
    /// Against a partial-plate pattern.
    Wildcard,
}

/// One character the reader read as `read` where the entry has `listed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Substitution {
    /// Position in the plate, from 0.
    pub position: usize,
    /// The character read.
    pub read: char,
    /// The character on the list.
    pub listed: char,
}

/// One entry a read matched, and how.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntryMatch {
    /// The entry.
    pub entry: HotlistEntry,
    /// Exact, approximate or wildcard.
    pub kind: MatchKind,
    /// The candidate reading that matched.
    pub read_text: String,
    /// That candidate's confidence.
    pub confidence: f32,
    /// The equivalent characters substituted (empty unless approximate).
    pub substitutions: Vec<Substitution>,
    /// The read's state against the entry's: a plate text is unique only within its state,
    /// so a hit is exact only when they agree (or the entry names no state).
    pub state_check: StateCheck,
    /// The state read (USPS code), `None` when it was not read with confidence.
    pub read_state: Option<String>,
}

impl EntryMatch {
    /// The state as compared, in the officer's words: what was read and what the list says,
    /// never the entry's state as if it had been read.
    pub fn state_words(&self) -> String {
        self.state_check.words(self.entry.state.as_deref(), self.read_state.as_deref())
    }
}

/// How the read's state compares with the entry's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StateCheck {
    /// Both are known and the same.
    Agrees,
    /// The entry names no state (a BOLO on a plate alone): the text is all there is.
    NotListed,
    /// The entry names a state, the read has none: the officer must verify the state.
    NotRead,
    /// Both are known and differ: likely another vehicle; the officer must check.
    Differs,
    /// The entry's list is set to be matched on the text alone (`ignore_state_lists`).
    IgnoredByList,
}

impl StateCheck {
    /// What the officer is told, with the entry's state (`listed`) and the state read
    /// (`read`) where there are: never the entry's state as if it had been read.
    pub fn words(self, listed: Option<&str>, read: Option<&str>) -> String {
        let (listed, read) = (listed.unwrap_or("--"), read.unwrap_or("not read"));
        match self {
            Self::Agrees => format!("state {listed} read"),
            Self::NotListed => format!("no state on the list (read: {read})"),
            Self::NotRead => format!("STATE NOT READ: verify the state (list: {listed})"),
            Self::Differs => format!("DIFFERENT STATE: read {read}, list {listed}"),
            Self::IgnoredByList => format!("state not checked for this list (read: {read}, list: {listed})"),
        }
    }

    /// True when the state does not stand in the way of an exact hit: it agrees, the entry
    /// names none, or its list is matched on the text alone.
    pub fn allows_exact(self) -> bool {
        matches!(self, Self::Agrees | Self::NotListed | Self::IgnoredByList)
    }
}

/// Everything one read matched, most urgent entry first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    /// The matched entries, sorted by priority, then exact before approximate, then entries
    /// whose state agrees before those whose state differs.
    pub matches: Vec<EntryMatch>,
}

impl Hit {
    /// True when the first (most urgent) match is exact in text and in state: the state
    /// read agrees with the entry's, or the entry names none. A state not read is not exact.
    pub fn is_exact(&self) -> bool {
        self.matches.first().is_some_and(|m| m.kind == MatchKind::Exact && m.state_check.allows_exact())
    }

    /// The most urgent match.
    pub fn top(&self) -> Option<&EntryMatch> {
        self.matches.first()
    }
}

/// Why an index cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    /// An entry's plate is neither a plate nor a usable pattern.
    #[error("entry {plate:?}: {reason}")]
    BadPlate {
        /// The plate as given.
        plate: String,
        /// Why.
        reason: String,
    },
    /// More entries, lists or text than the compact layout holds.
    #[error("hot list too large: {0}")]
    TooLarge(String),
}

/// An entry packed into 32 bytes. Text fields live in the arena at `detail`.
#[derive(Debug, Clone, Copy)]
struct Packed {
    key: u64,
    /// Unix seconds; `i64::MAX` when the entry never expires.
    expires: i64,
    /// Offset of the text fields in the arena; `u32::MAX` when all are empty.
    detail: u32,
    list: u16,
    /// 0 when unknown.
    year: u16,
    /// Days since 1900-01-01; 0 when unknown.
    entry_day: u16,
    /// `[0, 0]` when unknown.
    state: [u8; 2],
    category: u8,
    priority: u8,
    covert: bool,
}

const NO_DETAIL: u32 = u32::MAX;

/// Arena bytes reserved per expected entry: a record number, make, model, colour and a
/// short reason with their lengths.
const ARENA_RESERVE_PER_ENTRY: usize = 32;
/// Slots hold `index + 1` in the low bits (0 is empty) and a hash tag in the high bits.
const SLOT_INDEX_BITS: u32 = 26;
const SLOT_INDEX_MASK: u32 = (1 << SLOT_INDEX_BITS) - 1;
/// The most plain entries an index holds (about 67 million).
pub const MAX_ENTRIES: usize = (SLOT_INDEX_MASK - 1) as usize;

/// Where a list's entries came from; shared by all its entries.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ListSource {
    /// The list name.
    pub list: String,
    /// The file or source.
    pub source: String,
    /// The list version.
    pub version: String,
}

/// Per-list entry counts, for `hotlist stats` and the health panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListCount {
    /// The list.
    pub source: ListSource,
    /// Entries from it.
    pub entries: usize,
}

fn epoch_1900() -> NaiveDate {
    NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default()
}

/// Collects entries, then builds a [`HotlistIndex`]. Entries are packed as they are pushed, so
/// a caller streaming millions of entries never holds them all in their owned form.
#[derive(Debug)]
pub struct IndexBuilder {
    config: MatchConfig,
    entries: Vec<Packed>,
    wildcards: Vec<(String, Packed)>,
    arena: Vec<u8>,
    lists: Vec<ListSource>,
    list_ids: HashMap<ListSource, u16>,
    last_list: Option<u16>,
}

impl IndexBuilder {
    /// A builder for about `capacity` entries. The text arena is reserved for a typical
    /// entry's text up front: growing it by doubling would copy it several times, and reserve
    /// that is never written to costs address space, not resident memory.
    pub fn with_capacity(config: MatchConfig, capacity: usize) -> Self {
        Self {
            config,
            entries: Vec::with_capacity(capacity),
            wildcards: Vec::new(),
            arena: Vec::with_capacity(capacity.saturating_mul(ARENA_RESERVE_PER_ENTRY)),
            lists: Vec::new(),
            list_ids: HashMap::new(),
            last_list: None,
        }
    }

    /// Adds one entry.
    pub fn push(&mut self, entry: &HotlistEntry) -> Result<(), IndexError> {
        let bad = |reason: String| IndexError::BadPlate { plate: entry.plate.clone(), reason };
        let pattern = entry.is_wildcard();
        // Parsers hand over normalized plates: pack those directly, without allocating.
        let (key, plate) = match PlateKey::from_normalized(&entry.plate) {
            Some(key) if !pattern => (key.0, None),
            _ => {
                let plate = normalize_list_plate(&entry.plate, pattern).map_err(|err| bad(err.to_string()))?;
                let key = if pattern {
                    0
                } else {
                    PlateKey::from_normalized(&plate).ok_or_else(|| bad("not A-Z0-9".into()))?.0
                };
                (key, Some(plate))
            }
        };
        let state = match entry.state.as_deref() {
            None => [0, 0],
            Some(code) if is_state_code(code) => [code.as_bytes()[0], code.as_bytes()[1]],
            Some(text) => match parse_state(text) {
                Some(code) => [code.as_bytes()[0], code.as_bytes()[1]],
                None => return Err(bad(format!("unknown state {text:?}"))),
            },
        };
        let list = self.list_id(entry)?;
        let detail = self.push_detail(entry)?;
        let entry_day = entry
            .entry_date
            .and_then(|date| u16::try_from((date - epoch_1900()).num_days()).ok())
            .filter(|&days| days > 0)
            .unwrap_or(0);
        let packed = Packed {
            key,
            expires: entry.expires.map_or(i64::MAX, |t| t.timestamp()),
            detail,
            list,
            year: entry.vehicle.year.unwrap_or(0),
            entry_day,
            state,
            category: entry.category.to_code(),
            priority: entry.priority,
            covert: entry.covert,
        };
        if pattern {
            self.wildcards.push((plate.unwrap_or_else(|| entry.plate.clone()), packed));
        } else {
            if self.entries.len() >= MAX_ENTRIES {
                return Err(IndexError::TooLarge(format!("more than {MAX_ENTRIES} entries")));
            }
            self.entries.push(packed);
        }
        Ok(())
    }

    /// The id of the entry's list. Consecutive entries almost always share a list, so the last
    /// one is tried first, without allocating; the map is the fallback.
    fn list_id(&mut self, entry: &HotlistEntry) -> Result<u16, IndexError> {
        let same = |s: &ListSource| s.list == entry.list && s.source == entry.source && s.version == entry.version;
        if let Some(last) = self.last_list
            && same(&self.lists[usize::from(last)])
        {
            return Ok(last);
        }
        let id = self.intern_list(ListSource {
            list: entry.list.clone(),
            source: entry.source.clone(),
            version: entry.version.clone(),
        })?;
        self.last_list = Some(id);
        Ok(id)
    }

    /// The id of a list, given one if it is new.
    fn intern_list(&mut self, source: ListSource) -> Result<u16, IndexError> {
        if let Some(&id) = self.list_ids.get(&source) {
            return Ok(id);
        }
        let id = u16::try_from(self.lists.len())
            .map_err(|_| IndexError::TooLarge("more than 65,536 distinct lists".into()))?;
        self.lists.push(source.clone());
        self.list_ids.insert(source, id);
        Ok(id)
    }

    /// The matching rules the index will be built with.
    pub fn config(&self) -> &MatchConfig {
        &self.config
    }

    /// The number of entries pushed so far, wildcards included.
    pub fn len(&self) -> usize {
        self.entries.len() + self.wildcards.len()
    }

    /// True when nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds every entry of `other` (a builder filled on another thread, say one per file);
    /// `other`'s matching rules are ignored, this builder's apply. The entries keep their
    /// lists and text; `other` is freed as it is consumed.
    pub fn append(&mut self, other: IndexBuilder) -> Result<(), IndexError> {
        if self.is_empty() && self.arena.is_empty() && self.lists.is_empty() {
            // Nothing here yet (the usual first file): take the vectors whole rather than copy
            // them, which would hold the file's entries twice for a moment.
            let IndexBuilder { entries, wildcards, arena, lists, list_ids, .. } = other;
            (self.entries, self.wildcards, self.arena, self.lists, self.list_ids) =
                (entries, wildcards, arena, lists, list_ids);
            self.last_list = None;
            return Ok(());
        }
        if self.entries.len() + other.entries.len() > MAX_ENTRIES {
            return Err(IndexError::TooLarge(format!("more than {MAX_ENTRIES} entries")));
        }
        let base = u32::try_from(self.arena.len() + other.arena.len())
            .ok()
            .filter(|&end| end != NO_DETAIL)
            .map(|_| self.arena.len() as u32)
            .ok_or_else(|| IndexError::TooLarge("more than 4 GiB of entry text".into()))?;
        let ids = other.lists.into_iter().map(|source| self.intern_list(source)).collect::<Result<Vec<u16>, _>>()?;
        let relocate = |p: &Packed| Packed {
            detail: if p.detail == NO_DETAIL { NO_DETAIL } else { p.detail + base },
            list: ids[usize::from(p.list)],
            ..*p
        };
        self.arena.extend_from_slice(&other.arena);
        drop(other.arena);
        self.entries.extend(other.entries.iter().map(relocate));
        drop(other.entries);
        self.wildcards.extend(other.wildcards.into_iter().map(|(pattern, p)| (pattern, relocate(&p))));
        self.last_list = None;
        Ok(())
    }

    /// Stores the text fields as length-prefixed strings in the arena.
    fn push_detail(&mut self, entry: &HotlistEntry) -> Result<u32, IndexError> {
        let fields = [
            entry.vehicle.make.as_str(),
            entry.vehicle.model.as_str(),
            entry.vehicle.colour.as_str(),
            entry.record_number.as_str(),
            entry.reason.as_str(),
        ];
        if fields.iter().all(|f| f.is_empty()) {
            return Ok(NO_DETAIL);
        }
        let offset = u32::try_from(self.arena.len())
            .ok()
            .filter(|&o| o != NO_DETAIL)
            .ok_or_else(|| IndexError::TooLarge("more than 4 GiB of entry text".into()))?;
        for field in fields {
            // A varint length: one byte for the usual short fields.
            let mut len = field.len();
            loop {
                let low = (len & 0x7f) as u8;
                len >>= 7;
                if len == 0 {
                    self.arena.push(low);
                    break;
                }
                self.arena.push(low | 0x80);
            }
            self.arena.extend_from_slice(field.as_bytes());
        }
        Ok(offset)
    }

    /// Sorts the entries into runs and builds the lookup table.
    ///
    /// Entries are ordered by the hash of their canonical key rather than by the key itself.
    /// The hash (the murmur3 finalizer) is a bijection, so equal hashes still mean equal
    /// canonical keys and every run stays contiguous; and because the hash is uniform, the
    /// keys split into equal buckets that sort in parallel, and the table (whose slots are
    /// homed by the hash's top bits) fills from its first slot to its last instead of at
    /// random.
    ///
    /// The entries are sorted where they lie: a sorted copy would hold the list twice at the
    /// build's peak (for 5,000,000 entries, 160 MB more resident memory than the finished
    /// index needs). The extra memory is one bucket's sort keys per thread.
    ///
    /// Duplicates (the same plate, state and list name) are merged as the build finds them:
    /// see [`HotlistIndex::duplicates_merged`].
    pub fn build(mut self) -> HotlistIndex {
        let threads = build_threads(self.entries.len());
        let names = list_name_ids(&self.lists);
        sort_entries(&mut self.entries, &self.config.classes, &names, threads);
        let mut duplicates_merged = merge_duplicates(&mut self.entries, &names);
        duplicates_merged += merge_duplicate_patterns(&mut self.wildcards, &names);
        let table = fill_table(&self.entries, &self.config.classes);
        let mut counts = vec![0usize; self.lists.len()];
        for e in self.entries.iter().chain(self.wildcards.iter().map(|(_, p)| p)) {
            counts[usize::from(e.list)] += 1;
        }
        // The arena was reserved generously (untouched reserve costs address space only).
        self.arena.shrink_to_fit();
        self.entries.shrink_to_fit();
        HotlistIndex {
            config: self.config,
            entries: self.entries,
            shift: 64 - table.len().trailing_zeros(),
            mask: table.len() - 1,
            table,
            wildcards: self.wildcards,
            arena: self.arena,
            lists: self.lists.into_iter().zip(counts).map(|(source, entries)| ListCount { source, entries }).collect(),
            duplicates_merged,
        }
    }
}

/// For each list id, an id of its list *name*: duplicates are the same plate and state on the
/// same list, whichever file or version of it they came from.
fn list_name_ids(lists: &[ListSource]) -> Vec<u32> {
    let mut ids: HashMap<&str, u32> = HashMap::new();
    lists
        .iter()
        .map(|source| {
            let next = ids.len() as u32;
            *ids.entry(source.list.as_str()).or_insert(next)
        })
        .collect()
}

/// The order of entries within a run: duplicates next to each other, the one to keep first.
///
/// Lists are interned in the order their files were loaded and a file's text is appended to
/// the arena as its lines are read, so the lowest (list, detail) is the entry that came first;
/// an entry with text comes before one without (`NO_DETAIL` is the largest offset). The last
/// fields order the rest, so the same list always builds the same index (duplicates that
/// differ only in priority or expiry merge to the same entry in any order).
type RunOrder = (u64, [u8; 2], u32, u16, u32, u8, bool, u16, u16);

fn run_order(p: &Packed, names: &[u32]) -> RunOrder {
    (p.key, p.state, names[usize::from(p.list)], p.list, p.detail, p.category, p.covert, p.year, p.entry_day)
}

/// True when `b` repeats `a`: the same plate, state and list name.
fn same_entry(a: &Packed, b: &Packed, names: &[u32]) -> bool {
    a.key == b.key && a.state == b.state && names[usize::from(a.list)] == names[usize::from(b.list)]
}

/// Folds `dup` into `kept`: the most urgent priority and the latest expiry win, and the entry
/// is covert if either says so (an agency that marked a record covert in one list does not
/// want it shown because another list repeats it openly).
fn fold_duplicate(kept: &mut Packed, dup: &Packed) {
    kept.priority = kept.priority.min(dup.priority);
    kept.expires = kept.expires.max(dup.expires);
    kept.covert |= dup.covert;
}

/// Merges adjacent duplicates of sorted entries into the first of each group, in place;
/// returns how many were merged.
fn merge_duplicates(entries: &mut Vec<Packed>, names: &[u32]) -> usize {
    let mut kept = 0usize;
    for i in 0..entries.len() {
        let current = entries[i];
        if kept > 0 && same_entry(&entries[kept - 1], &current, names) {
            fold_duplicate(&mut entries[kept - 1], &current);
        } else {
            entries[kept] = current;
            kept += 1;
        }
    }
    let merged = entries.len() - kept;
    entries.truncate(kept);
    merged
}

/// Merges duplicate patterns into the first given; returns how many were merged.
fn merge_duplicate_patterns(wildcards: &mut Vec<(String, Packed)>, names: &[u32]) -> usize {
    let given = wildcards.len();
    let mut first: HashMap<(String, [u8; 2], u32), usize> = HashMap::new();
    let mut kept: Vec<(String, Packed)> = Vec::with_capacity(given);
    for (pattern, packed) in wildcards.drain(..) {
        let key = (pattern, packed.state, names[usize::from(packed.list)]);
        match first.get(&key) {
            Some(&at) => fold_duplicate(&mut kept[at].1, &packed),
            None => {
                kept.push((key.0.clone(), packed));
                first.insert(key, kept.len() - 1);
            }
        }
    }
    *wildcards = kept;
    given - wildcards.len()
}

/// Below this many entries the build stays on the calling thread: starting threads would
/// cost more than they save.
const PARALLEL_MIN_ENTRIES: usize = 100_000;
/// The most threads a build uses.
const MAX_BUILD_THREADS: usize = 8;
/// The sort's first pass splits the keys by the hash's top bits into this many buckets: a
/// bucket of a 5,000,000-entry list (about 20,000 entries, 610 KB, and under 1 MB of sort keys)
/// sorts inside the CPU's cache.
const BUCKET_BITS: u32 = 8;

/// Threads for building an index of `entries` entries: one per core, within limits.
fn build_threads(entries: usize) -> usize {
    if entries < PARALLEL_MIN_ENTRIES {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_BUILD_THREADS))
}

/// Runs `work` on every part, each part but the first on its own named scoped thread (the
/// calling thread takes the first), and returns the results in order. A thread that cannot
/// be started costs only speed: its part then runs on the calling thread.
pub(crate) fn run_parts<T: Send, R: Send + Default>(name: &str, parts: Vec<T>, work: impl Fn(T) -> R + Sync) -> Vec<R> {
    if parts.len() <= 1 {
        return parts.into_iter().map(work).collect();
    }
    let take =
        |slot: &std::sync::Mutex<Option<T>>| slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
    // A part waits in its slot until a thread (or, failing that, this one) takes it.
    let slots: Vec<std::sync::Mutex<Option<T>>> = parts.into_iter().map(|p| std::sync::Mutex::new(Some(p))).collect();
    let work = &work;
    std::thread::scope(|scope| {
        let spawned: Vec<_> = slots[1..]
            .iter()
            .enumerate()
            .map(|(i, slot)| {
                std::thread::Builder::new()
                    .name(format!("{name}-{}", i + 1))
                    .spawn_scoped(scope, move || take(slot).map(work).unwrap_or_default())
                    .ok()
            })
            .collect();
        let mut results = Vec::with_capacity(slots.len());
        results.push(take(&slots[0]).map(work).unwrap_or_default());
        for (handle, slot) in spawned.into_iter().zip(&slots[1..]) {
            let result = match handle.map(std::thread::ScopedJoinHandle::join) {
                Some(Ok(result)) => result,
                // A panic in a part is a bug: pass it on as if it happened here.
                Some(Err(panic)) => std::panic::resume_unwind(panic),
                None => take(slot).map(work).unwrap_or_default(),
            };
            results.push(result);
        }
        results
    })
}

/// Sorts the entries by the hash of their canonical key, in place: an in-place radix pass
/// (American flag sort) moves each entry into its bucket by the hash's top bits, then the
/// buckets are sorted on all cores, each by its cached hashes and then `run_order`, which puts
/// duplicates side by side. The hash is computed again where needed rather than stored for
/// every entry, which would cost 8 bytes an entry.
fn sort_entries(entries: &mut [Packed], classes: &EquivalenceClasses, names: &[u32], threads: usize) {
    let hash_of = |p: &Packed| hash64(classes.canonical(PlateKey(p.key)).0);
    let bucket_of = |p: &Packed| (hash_of(p) >> (64 - BUCKET_BITS)) as usize;
    let buckets = 1usize << BUCKET_BITS;
    let chunk = entries.len().div_ceil(threads).max(1);
    let counts = run_parts("hotlist-count", entries.chunks(chunk).collect(), |part: &[Packed]| {
        let mut counts = vec![0usize; buckets];
        for p in part {
            counts[bucket_of(p)] += 1;
        }
        counts
    });
    // starts[b]..starts[b + 1] is bucket b.
    let mut starts = vec![0usize; buckets + 1];
    for b in 0..buckets {
        starts[b + 1] = starts[b] + counts.iter().map(|c| c[b]).sum::<usize>();
    }
    // Each entry not yet in its bucket is swapped into the next free place of its bucket,
    // taking the entry there in exchange, until the entry in hand belongs where it is.
    let mut next = starts.clone();
    for b in 0..buckets {
        while next[b] < starts[b + 1] {
            let mut home = bucket_of(&entries[next[b]]);
            while home != b {
                entries.swap(next[b], next[home]);
                next[home] += 1;
                home = bucket_of(&entries[next[b]]);
            }
            next[b] += 1;
        }
    }
    // Cut the entries at bucket boundaries into about equal parts, one per thread.
    let mut parts: Vec<(&mut [Packed], Vec<usize>)> = Vec::with_capacity(threads);
    let mut rest: &mut [Packed] = entries;
    let mut first_bucket = 0;
    let target = rest.len().div_ceil(threads).max(1);
    for b in 1..=buckets {
        let size = starts[b] - starts[first_bucket];
        if size >= target || b == buckets {
            let (part, tail) = std::mem::take(&mut rest).split_at_mut(size);
            let bounds = starts[first_bucket..=b].iter().map(|s| s - starts[first_bucket]).collect();
            parts.push((part, bounds));
            rest = tail;
            first_bucket = b;
        }
    }
    run_parts("hotlist-sort", parts, |(part, bounds): (&mut [Packed], Vec<usize>)| {
        for w in bounds.windows(2) {
            part[w[0]..w[1]].sort_by_cached_key(|p| (hash_of(p), run_order(p, names)));
        }
    });
}

/// The lookup table for sorted entries: a power of two of slots, at most two thirds full; the
/// first entry of each run is stored at its home slot (the hash's top bits) or the next free
/// one after it.
fn fill_table(entries: &[Packed], classes: &EquivalenceClasses) -> Vec<u32> {
    let hash_of = |p: &Packed| hash64(classes.canonical(PlateKey(p.key)).0);
    let mut distinct = 0usize;
    let mut previous = None;
    for p in entries {
        let hash = hash_of(p);
        distinct += usize::from(previous != Some(hash));
        previous = Some(hash);
    }
    let bits = (distinct * 3 / 2).next_power_of_two().max(16).trailing_zeros();
    let mask = (1usize << bits) - 1;
    let mut table = vec![0u32; mask + 1];
    let mut previous = None;
    for (i, p) in entries.iter().enumerate() {
        let hash = hash_of(p);
        if previous == Some(hash) {
            continue;
        }
        previous = Some(hash);
        let mut pos = (hash >> (64 - bits)) as usize;
        while table[pos] != 0 {
            pos = (pos + 1) & mask;
        }
        table[pos] = slot_tag(hash) | (i as u32 + 1);
    }
    table
}

/// The murmur3 64-bit finalizer: cheap, and mixes the plate bytes well into the low bits.
#[inline]
fn hash64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// The slot's tag: 6 low bits of the hash (its top bits already chose the slot).
#[inline]
fn slot_tag(hash: u64) -> u32 {
    ((hash & 0x3f) as u32) << SLOT_INDEX_BITS
}

/// The immutable hot-list index.
#[derive(Debug)]
pub struct HotlistIndex {
    config: MatchConfig,
    entries: Vec<Packed>,
    table: Vec<u32>,
    /// A hash's home slot is `hash >> shift`.
    shift: u32,
    mask: usize,
    wildcards: Vec<(String, Packed)>,
    arena: Vec<u8>,
    lists: Vec<ListCount>,
    duplicates_merged: usize,
}

/// Which entry a candidate matched: an index into the plain entries or the wildcards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Plain(u32),
    Wild(u32),
}

#[derive(Debug, Clone, Copy)]
struct Found {
    slot: Slot,
    candidate: usize,
    kind: MatchKind,
    diff: u8,
}

impl HotlistIndex {
    /// Builds an index from entries in one go.
    pub fn build(config: MatchConfig, entries: &[HotlistEntry]) -> Result<Self, IndexError> {
        let mut builder = IndexBuilder::with_capacity(config, entries.len());
        for entry in entries {
            builder.push(entry)?;
        }
        Ok(builder.build())
    }

    /// An index with no entries.
    pub fn empty(config: MatchConfig) -> Self {
        IndexBuilder::with_capacity(config, 0).build()
    }

    /// The matching rules the index was built with.
    pub fn config(&self) -> &MatchConfig {
        &self.config
    }

    /// The number of entries, wildcards included.
    pub fn len(&self) -> usize {
        self.entries.len() + self.wildcards.len()
    }

    /// True when the index holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries given to the build that repeated another (the same plate, state and list name,
    /// from any file) and were merged into it: the first given is kept, with the most urgent
    /// priority and the latest expiry of the group, covert if any was (of a file's
    /// repeats, one with text is kept before one without).
    pub fn duplicates_merged(&self) -> usize {
        self.duplicates_merged
    }

    /// The number of wildcard (partial-plate) entries.
    pub fn wildcard_count(&self) -> usize {
        self.wildcards.len()
    }

    /// Entry counts per list.
    pub fn lists(&self) -> &[ListCount] {
        &self.lists
    }

    /// Approximate heap memory held by the index, in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<Packed>()
            + self.table.capacity() * 4
            + self.arena.capacity()
            + self.wildcards.iter().map(|(p, _)| p.capacity() + std::mem::size_of::<(String, Packed)>()).sum::<usize>()
    }

    /// The first entry of the run whose canonical key is `canon`.
    #[inline]
    fn find_run(&self, canon: u64) -> Option<usize> {
        let hash = hash64(canon);
        let tag = slot_tag(hash);
        let mut pos = (hash >> self.shift) as usize;
        loop {
            let slot = self.table[pos];
            if slot == 0 {
                return None;
            }
            if slot & !SLOT_INDEX_MASK == tag {
                let index = (slot & SLOT_INDEX_MASK) as usize - 1;
                if self.config.classes.canonical(PlateKey(self.entries[index].key)).0 == canon {
                    return Some(index);
                }
            }
            pos = (pos + 1) & self.mask;
        }
    }

    /// Matches a read: every candidate, exactly, through equivalent characters and against
    /// the wildcard entries. Expired entries are ignored. `None` when nothing matched.
    pub fn match_read(&self, query: &ReadQuery<'_>) -> Option<Hit> {
        let now = query.now.timestamp();
        let max_subs = u32::from(self.config.max_substitutions);
        let mut found: Vec<Found> = Vec::new();
        // Candidates often share a canonical form (they differ by an equivalent character):
        // remember the runs already looked up so each form costs one probe.
        let mut probed: [(u64, Option<usize>); 8] = [(0, None); 8];
        let mut probed_len = 0;
        for (ci, candidate) in query.candidates.iter().enumerate() {
            let Some(key) = PlateKey::from_raw(candidate.text) else { continue };
            let canon = self.config.classes.canonical(key).0;
            let run = match probed[..probed_len].iter().find(|(c, _)| *c == canon) {
                Some(&(_, run)) => run,
                None => {
                    let run = self.find_run(canon);
                    if probed_len < probed.len() {
                        probed[probed_len] = (canon, run);
                        probed_len += 1;
                    }
                    run
                }
            };
            if let Some(start) = run {
                for (offset, e) in self.entries[start..].iter().enumerate() {
                    if self.config.classes.canonical(PlateKey(e.key)).0 != canon {
                        break;
                    }
                    if e.expires <= now {
                        continue;
                    }
                    let diff = key.diff_mask(PlateKey(e.key));
                    if diff.count_ones() <= max_subs {
                        let kind = if diff == 0 { MatchKind::Exact } else { MatchKind::Approximate };
                        found.push(Found { slot: Slot::Plain((start + offset) as u32), candidate: ci, kind, diff });
                    }
                }
            }
            let text = key.bytes();
            let text = &text[..key.len()];
            for (wi, (pattern, e)) in self.wildcards.iter().enumerate() {
                if e.expires > now && glob_match(pattern.as_bytes(), text) {
                    found.push(Found {
                        slot: Slot::Wild(wi as u32),
                        candidate: ci,
                        kind: MatchKind::Wildcard,
                        diff: 0,
                    });
                }
            }
        }
        if found.is_empty() {
            return None;
        }
        Some(self.make_hit(query, found))
    }

    fn make_hit(&self, query: &ReadQuery<'_>, mut found: Vec<Found>) -> Hit {
        // Keep, for each entry, the best way it matched: exact, then fewest substitutions,
        // then the most confident candidate.
        let confidence = |f: &Found| query.candidates.get(f.candidate).map_or(0.0, |c| c.confidence);
        found.sort_by(|a, b| {
            let slot_order = |s: Slot| match s {
                Slot::Plain(i) => (0, i),
                Slot::Wild(i) => (1, i),
            };
            slot_order(a.slot)
                .cmp(&slot_order(b.slot))
                .then(a.kind.cmp(&b.kind))
                .then(a.diff.count_ones().cmp(&b.diff.count_ones()))
                .then(confidence(b).total_cmp(&confidence(a)))
        });
        found.dedup_by_key(|f| f.slot);
        let read_state = query.state.and_then(parse_state);
        let mut matches: Vec<EntryMatch> = found
            .iter()
            .map(|f| {
                let (entry, packed) = match f.slot {
                    Slot::Plain(i) => {
                        let packed = &self.entries[i as usize];
                        (self.materialize(PlateKey(packed.key).text(), packed), packed)
                    }
                    Slot::Wild(i) => {
                        let (pattern, packed) = &self.wildcards[i as usize];
                        (self.materialize(pattern.clone(), packed), packed)
                    }
                };
                let candidate = query.candidates.get(f.candidate);
                let read_key = candidate.and_then(|c| PlateKey::from_raw(c.text));
                let substitutions = match read_key {
                    Some(read) if f.diff != 0 => {
                        let (read_bytes, listed) = (read.bytes(), PlateKey(packed.key).bytes());
                        (0..MAX_PLATE_LEN)
                            .filter(|&p| f.diff & (1 << p) != 0)
                            .map(|p| Substitution {
                                position: p,
                                read: char::from(read_bytes[p]),
                                listed: char::from(listed[p]),
                            })
                            .collect()
                    }
                    _ => Vec::new(),
                };
                let state_check = match (&read_state, &entry.state) {
                    (_, None) => StateCheck::NotListed,
                    _ if self.config.ignores_state_of(&entry.list) => StateCheck::IgnoredByList,
                    (None, Some(_)) => StateCheck::NotRead,
                    (Some(read), Some(listed)) if read == listed => StateCheck::Agrees,
                    (Some(_), Some(_)) => StateCheck::Differs,
                };
                EntryMatch {
                    entry,
                    kind: f.kind,
                    read_text: read_key.map(PlateKey::text).unwrap_or_default(),
                    confidence: candidate.map_or(0.0, |c| c.confidence),
                    substitutions,
                    state_check,
                    read_state: read_state.clone(),
                }
            })
            .collect();
        matches.sort_by(|a, b| {
            a.entry
                .priority
                .cmp(&b.entry.priority)
                .then(a.kind.cmp(&b.kind))
                .then(a.state_check.cmp(&b.state_check))
                .then(a.substitutions.len().cmp(&b.substitutions.len()))
                .then(a.entry.list.cmp(&b.entry.list))
        });
        Hit { matches }
    }

    /// Rebuilds the owned entry from its packed form.
    fn materialize(&self, plate: String, packed: &Packed) -> HotlistEntry {
        let mut fields: [String; 5] = Default::default();
        if packed.detail != NO_DETAIL {
            let mut pos = packed.detail as usize;
            for field in &mut fields {
                let mut len = 0usize;
                let mut shift = 0;
                while let Some(&b) = self.arena.get(pos) {
                    pos += 1;
                    len |= usize::from(b & 0x7f) << shift;
                    shift += 7;
                    if b & 0x80 == 0 {
                        break;
                    }
                }
                let end = (pos + len).min(self.arena.len());
                *field = String::from_utf8_lossy(&self.arena[pos..end]).into_owned();
                pos = end;
            }
        }
        let [make, model, colour, record_number, reason] = fields;
        let source = &self.lists[usize::from(packed.list)].source;
        HotlistEntry {
            plate,
            state: (packed.state != [0, 0]).then(|| String::from_utf8_lossy(&packed.state).into_owned()),
            list: source.list.clone(),
            category: Category::from_code(packed.category),
            priority: packed.priority,
            vehicle: Vehicle { year: (packed.year != 0).then_some(packed.year), make, model, colour },
            record_number,
            reason,
            entry_date: (packed.entry_day != 0)
                .then(|| epoch_1900().checked_add_days(chrono::Days::new(u64::from(packed.entry_day))))
                .flatten(),
            expires: (packed.expires != i64::MAX).then(|| Utc.timestamp_opt(packed.expires, 0).single()).flatten(),
            covert: packed.covert,
            source: source.source.clone(),
            version: source.version.clone(),
        }
    }

    /// True when the index holds an entry with the same plate (or pattern), state and list:
    /// how an update tells which of its entries are new.
    pub fn contains(&self, entry: &HotlistEntry) -> bool {
        let list_is = |packed: &Packed| self.lists[usize::from(packed.list)].source.list == entry.list;
        let state_is = |packed: &Packed| match &entry.state {
            None => packed.state == [0, 0],
            Some(state) => packed.state == state.as_bytes(),
        };
        if entry.is_wildcard() {
            return self.wildcards.iter().any(|(p, packed)| *p == entry.plate && state_is(packed) && list_is(packed));
        }
        let Some(key) = PlateKey::from_normalized(&entry.plate) else { return false };
        let canon = self.config.classes.canonical(key).0;
        let Some(start) = self.find_run(canon) else { return false };
        self.entries[start..]
            .iter()
            .take_while(|p| self.config.classes.canonical(PlateKey(p.key)).0 == canon)
            .any(|p| p.key == key.0 && state_is(p) && list_is(p))
    }

    /// Every entry in its owned form (for exports and tests; allocates per entry).
    pub fn iter_entries(&self) -> impl Iterator<Item = HotlistEntry> + '_ {
        self.entries
            .iter()
            .map(|p| self.materialize(PlateKey(p.key).text(), p))
            .chain(self.wildcards.iter().map(|(pattern, p)| self.materialize(pattern.clone(), p)))
    }
}

/// Matches plate text against a pattern: `?` is any one character, `*` any run (even empty).
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // Where to resume after the last `*`: the pattern position after it and the text position
    // it has swallowed up to.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p + 1, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(plate: &str, state: Option<&str>, category: Category) -> HotlistEntry {
        let mut e = HotlistEntry::new(plate, category, category.as_str());
        e.state = state.map(str::to_owned);
        e
    }

    fn sample_index() -> HotlistIndex {
        let mut with_details = entry("7ABC123", Some("CA"), Category::StolenVehicle);
        with_details.vehicle =
            Vehicle { year: Some(2019), make: "HOND".into(), model: "CIV".into(), colour: "BLK".into() };
        with_details.record_number = "V123456789".into();
        with_details.reason = "stolen from a driveway, ünïcode ok".into();
        with_details.entry_date = NaiveDate::from_ymd_opt(2026, 11, 20);
        let mut expired = entry("EXP1RED", None, Category::Bolo);
        expired.expires = Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
        let mut amber = entry("7ABC123", None, Category::AmberAlert);
        amber.list = "ncic".into();
        HotlistIndex::build(
            MatchConfig::default(),
            &[
                with_details,
                amber,
                entry("8XYZ999", Some("NV"), Category::StolenPlate),
                entry("O5OB1", None, Category::FelonyVehicle),
                entry("4AB?12", None, Category::Bolo),
                entry("*DMO*", None, Category::AgencyDefined),
                expired,
            ],
        )
        .unwrap()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap()
    }

    /// Matches `candidates` with `state`; returns (plate, kind, substituted positions,
    /// state_mismatch) per match, in hit order.
    fn check(
        index: &HotlistIndex,
        candidates: &[&str],
        state: Option<&str>,
        expected: &[(&str, Category, MatchKind, &[usize], bool)],
    ) {
        let candidates: Vec<ReadCandidate<'_>> = candidates
            .iter()
            .enumerate()
            .map(|(i, text)| ReadCandidate { text, confidence: 0.9 - i as f32 * 0.1 })
            .collect();
        let hit = index.match_read(&ReadQuery { candidates: &candidates, state, now: now() });
        let got: Vec<(String, Category, MatchKind, Vec<usize>, bool)> = hit
            .map(|h| {
                h.matches
                    .into_iter()
                    .map(|m| {
                        let positions = m.substitutions.iter().map(|s| s.position).collect();
                        (m.entry.plate, m.entry.category, m.kind, positions, m.state_check == StateCheck::Differs)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let want: Vec<(String, Category, MatchKind, Vec<usize>, bool)> =
            expected.iter().map(|(p, c, k, s, m)| (p.to_string(), *c, *k, s.to_vec(), *m)).collect();
        assert_eq!(got, want, "candidates {candidates:?} state {state:?}");
    }

    use Category::*;
    use MatchKind::*;

    /// Issue 16: a plate text is unique only within its state. A hit is exact only when the
    /// state read agrees with the entry's (or the entry names none); a state not read is
    /// "not read", never taken as the entry's.
    #[test]
    fn a_hit_is_exact_only_when_the_state_agrees() {
        let index = HotlistIndex::build(
            MatchConfig::default(),
            &[entry("8XYZ999", Some("NV"), StolenPlate), entry("5BOLO55", None, FelonyVehicle)],
        )
        .unwrap();
        let hit = |plate: &str, state: Option<&str>| {
            let candidates = [ReadCandidate { text: plate, confidence: 0.9 }];
            index.match_read(&ReadQuery { candidates: &candidates, state, now: now() }).unwrap()
        };
        let cases = [
            ("8XYZ999", Some("NV"), StateCheck::Agrees, true),
            ("8XYZ999", None, StateCheck::NotRead, false),
            ("8XYZ999", Some("CA"), StateCheck::Differs, false),
            ("5BOLO55", None, StateCheck::NotListed, true),
            ("5BOLO55", Some("TX"), StateCheck::NotListed, true),
        ];
        for (plate, state, check, exact) in cases {
            let h = hit(plate, state);
            assert_eq!((h.matches[0].state_check, h.is_exact()), (check, exact), "{plate} {state:?}");
        }
        let words = StateCheck::NotRead.words(Some("NV"), None);
        assert!(words.contains("NOT READ") && words.contains("list: NV"), "{words}");
        let differs = hit("8XYZ999", Some("CA"));
        assert_eq!(differs.matches[0].state_words(), "DIFFERENT STATE: read CA, list NV");
        assert_eq!(hit("8XYZ999", Some("NV")).matches[0].state_words(), "state NV read");
    }

    /// A list set to be matched on the text alone (a BOLO list kept without reliable
    /// states) matches a plate of any state, exact; other lists still check the state.
    #[test]
    fn a_list_that_ignores_the_state_matches_any_state() {
        let mut bolo = entry("7BOLO77", Some("CA"), FelonyVehicle);
        bolo.list = "Local BOLO".into();
        let config = MatchConfig { ignore_state_lists: vec!["LOCAL BOLO".into()], ..MatchConfig::default() };
        let index = HotlistIndex::build(config, &[bolo, entry("8XYZ999", Some("CA"), StolenPlate)]).unwrap();
        let hit = |plate: &str, state: Option<&str>| {
            let candidates = [ReadCandidate { text: plate, confidence: 0.9 }];
            index.match_read(&ReadQuery { candidates: &candidates, state, now: now() }).unwrap()
        };
        for state in [Some("TX"), None, Some("CA")] {
            let h = hit("7BOLO77", state);
            assert_eq!(h.matches[0].state_check, StateCheck::IgnoredByList, "{state:?}");
            assert!(h.is_exact());
        }
        let texas = hit("8XYZ999", Some("TX"));
        assert_eq!(texas.matches[0].state_check, StateCheck::Differs);
        assert!(!texas.is_exact(), "a Texas plate on a California list is never exact");
    }

    #[test]
    fn exact_and_state() {
        let index = sample_index();
        check(
            &index,
            &["7ABC123"],
            None,
            &[("7ABC123", AmberAlert, Exact, &[], false), ("7ABC123", StolenVehicle, Exact, &[], false)],
        );
        check(
            &index,
            &["7abc-123"],
            Some("CA"),
            &[("7ABC123", AmberAlert, Exact, &[], false), ("7ABC123", StolenVehicle, Exact, &[], false)],
        );
        check(&index, &["8XYZ999"], Some("CA"), &[("8XYZ999", StolenPlate, Exact, &[], true)]);
        check(&index, &["8XYZ999"], Some("NV"), &[("8XYZ999", StolenPlate, Exact, &[], false)]);
        check(&index, &["8XYZ999"], Some("??"), &[("8XYZ999", StolenPlate, Exact, &[], false)]);
        check(&index, &["8XYZ998"], None, &[]);
        check(&index, &["7ABC12"], None, &[]);
        check(&index, &["7ABC1234"], None, &[]);
        check(&index, &[""], None, &[]);
        check(&index, &[], None, &[]);
    }

    #[test]
    fn equivalence() {
        let index = sample_index();
        check(
            &index,
            &["7ABCI23"],
            None,
            &[("7ABC123", AmberAlert, Approximate, &[4], false), ("7ABC123", StolenVehicle, Approximate, &[4], false)],
        );
        check(&index, &["BXYZ999"], None, &[("8XYZ999", StolenPlate, Approximate, &[0], false)]);
        // Two substitutions exceed the default limit of one.
        check(&index, &["7A8CI23"], None, &[]);
        // Different, non-equivalent characters never match (a 3 read as a 7).
        check(&index, &["3ABC123"], None, &[]);
        // Three substitutions: too many by default.
        check(&index, &["0S0B1"], None, &[]);
        check(&index, &["O5OBI"], None, &[("O5OB1", FelonyVehicle, Approximate, &[4], false)]);
    }

    #[test]
    fn all_candidates_are_used_and_exact_wins() {
        let index = sample_index();
        // The best candidate misses; the second matches exactly.
        check(&index, &["8XYZ998", "8XYZ999"], None, &[("8XYZ999", StolenPlate, Exact, &[], false)]);
        // One candidate matches approximately, a later one exactly: the entry is listed once,
        // as exact.
        check(&index, &["BXYZ999", "8XYZ999"], None, &[("8XYZ999", StolenPlate, Exact, &[], false)]);
    }

    #[test]
    fn wildcards_and_expiry() {
        let index = sample_index();
        check(&index, &["4ABX12"], None, &[("4AB?12", Bolo, Wildcard, &[], false)]);
        check(&index, &["4AB12"], None, &[]);
        check(&index, &["7DMO123"], None, &[("*DMO*", AgencyDefined, Wildcard, &[], false)]);
        check(&index, &["DMO"], None, &[("*DMO*", AgencyDefined, Wildcard, &[], false)]);
        check(&index, &["EXP1RED"], None, &[]);
    }

    #[test]
    fn more_substitutions_when_configured() {
        let config = MatchConfig { max_substitutions: 3, ..MatchConfig::default() };
        let index = HotlistIndex::build(config, &[entry("O5OB1", None, FelonyVehicle)]).unwrap();
        check(&index, &["0S0B1"], None, &[("O5OB1", FelonyVehicle, Approximate, &[0, 1, 2], false)]);
        let exact_only = MatchConfig { max_substitutions: 0, ..MatchConfig::default() };
        let index = HotlistIndex::build(exact_only, &[entry("O5OB1", None, FelonyVehicle)]).unwrap();
        check(&index, &["05OB1"], None, &[]);
        check(&index, &["O5OB1"], None, &[("O5OB1", FelonyVehicle, Exact, &[], false)]);
    }

    #[test]
    fn hit_carries_the_whole_entry() {
        let index = sample_index();
        let candidates = [ReadCandidate { text: "7ABCI23", confidence: 0.8 }];
        let hit = index.match_read(&ReadQuery { candidates: &candidates, state: Some("CA"), now: now() }).unwrap();
        assert!(!hit.is_exact());
        let stolen = hit.matches.iter().find(|m| m.entry.category == StolenVehicle).unwrap();
        assert_eq!(stolen.entry.vehicle.make, "HOND");
        assert_eq!(stolen.entry.vehicle.year, Some(2019));
        assert_eq!(stolen.entry.record_number, "V123456789");
        assert_eq!(stolen.entry.reason, "stolen from a driveway, ünïcode ok");
        assert_eq!(stolen.entry.entry_date, NaiveDate::from_ymd_opt(2026, 11, 20));
        assert_eq!(stolen.substitutions, vec![Substitution { position: 4, read: 'I', listed: '1' }]);
        assert_eq!(stolen.read_text, "7ABCI23");
        assert_eq!(stolen.confidence, 0.8);
        assert_eq!(index.len(), 7);
        assert_eq!(index.wildcard_count(), 2);
        assert_eq!(index.iter_entries().count(), 7);
    }

    #[test]
    fn bad_entries_are_refused() {
        let bad_state = entry("ABC123", Some("ZZ"), Bolo);
        assert!(matches!(HotlistIndex::build(MatchConfig::default(), &[bad_state]), Err(IndexError::BadPlate { .. })));
        let too_broad = entry("A*", None, Bolo);
        assert!(HotlistIndex::build(MatchConfig::default(), &[too_broad]).is_err());
        assert!(HotlistIndex::empty(MatchConfig::default()).is_empty());
    }

    /// Entries as `(record number, entry)` pairs in record-number order, to compare indexes.
    fn sorted_entries(index: &HotlistIndex) -> Vec<(String, HotlistEntry)> {
        let mut all: Vec<(String, HotlistEntry)> = index.iter_entries().map(|e| (e.record_number.clone(), e)).collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    #[test]
    fn large_builds_sort_in_parallel_and_find_every_entry() {
        use rand::SeedableRng;
        // More than PARALLEL_MIN_ENTRIES: counted and sorted on several threads where the
        // machine has several cores.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let all: Vec<HotlistEntry> = (0..PARALLEL_MIN_ENTRIES as u64 + 5_000)
            .map(|serial| crate::hotlist::synthetic::random_entry(&mut rng, serial))
            .collect();
        // Random plates repeat now and then: those merge (checked below), the rest stay whole.
        let mut seen = std::collections::HashSet::new();
        let entries: Vec<HotlistEntry> =
            all.iter().filter(|e| seen.insert((e.plate.clone(), e.state.clone(), e.list.clone()))).cloned().collect();
        let index = HotlistIndex::build(MatchConfig::default(), &entries).unwrap();
        assert_eq!((index.len(), index.duplicates_merged()), (entries.len(), 0));
        let repeats = all.len() - entries.len();
        assert!(repeats > 0, "the seed gives no repeated plate: the merge below tests nothing");
        let merged = HotlistIndex::build(MatchConfig::default(), &all).unwrap();
        assert_eq!((merged.len(), merged.duplicates_merged()), (entries.len(), repeats));
        for entry in entries.iter().step_by(101) {
            assert!(index.contains(entry), "{entry:?}");
            let candidates = [ReadCandidate { text: &entry.plate, confidence: 0.9 }];
            let hit = index.match_read(&ReadQuery { candidates: &candidates, state: None, now: Utc::now() }).unwrap();
            assert!(hit.matches.iter().any(|m| m.entry.record_number == entry.record_number && m.kind == Exact));
        }
        // Every run is contiguous: each canonical key appears in one stretch of entries.
        let canon: Vec<u64> = index.entries.iter().map(|p| index.config.classes.canonical(PlateKey(p.key)).0).collect();
        let mut seen = std::collections::HashSet::new();
        for (i, c) in canon.iter().enumerate() {
            if i == 0 || canon[i - 1] != *c {
                assert!(seen.insert(*c), "canonical key {c:x} in two runs");
            }
        }
        let mut expected: Vec<(String, HotlistEntry)> =
            entries.iter().map(|e| (e.record_number.clone(), e.clone())).collect();
        expected.sort_by(|a, b| a.0.cmp(&b.0));
        // Expiry is kept to the second.
        for (_, e) in &mut expected {
            e.expires = e.expires.and_then(|t| Utc.timestamp_opt(t.timestamp(), 0).single());
        }
        assert!(sorted_entries(&index) == expected, "entries changed while building");
    }

    #[test]
    fn appended_builders_make_the_same_index() {
        let mut a = entry("AAA111", Some("CA"), StolenVehicle);
        a.record_number = "1".into();
        a.reason = "first file".into();
        let mut b = entry("BBB222", None, Bolo);
        b.record_number = "2".into();
        b.list = "agency".into();
        b.reason = "second file".into();
        let mut c = entry("CC?333", None, Bolo);
        c.record_number = "3".into();
        c.list = "agency".into();
        let mut d = entry("AAA111", Some("CA"), AmberAlert);
        d.record_number = "4".into();
        d.list = "ncic".into();
        let whole = HotlistIndex::build(MatchConfig::default(), &[a.clone(), b.clone(), c.clone(), d.clone()]).unwrap();
        let mut first = IndexBuilder::with_capacity(MatchConfig::default(), 2);
        first.push(&a).unwrap();
        first.push(&b).unwrap();
        let mut second = IndexBuilder::with_capacity(
            MatchConfig { classes: EquivalenceClasses::none(), max_substitutions: 0, ..MatchConfig::default() },
            2,
        );
        second.push(&c).unwrap();
        second.push(&d).unwrap();
        assert_eq!(second.len(), 2);
        first.append(second).unwrap();
        let appended = first.build();
        assert_eq!(sorted_entries(&appended), sorted_entries(&whole));
        assert_eq!(appended.lists().len(), 3);
        assert_eq!(appended.wildcard_count(), 1);
        // The appending builder's rules apply: equivalence still works on appended entries.
        check(
            &appended,
            &["AAAI11"],
            None,
            &[("AAA111", AmberAlert, Approximate, &[3], false), ("AAA111", StolenVehicle, Approximate, &[3], false)],
        );
    }

    #[test]
    fn parts_run_in_order() {
        assert_eq!(run_parts("test-part", vec![1, 2, 3, 4, 5], |x| x * 10), vec![10, 20, 30, 40, 50]);
        assert_eq!(run_parts("test-part", Vec::<u8>::new(), u32::from), Vec::<u32>::new());
        assert_eq!(run_parts("test-part", vec![7u8], u32::from), vec![7]);
    }

    fn check_glob(pattern: &str, text: &str, expected: bool) {
        assert_eq!(glob_match(pattern.as_bytes(), text.as_bytes()), expected, "{pattern} ~ {text}");
    }

    #[test]
    fn globs() {
        check_glob("ABC", "ABC", true);
        check_glob("ABC", "ABCD", false);
        check_glob("A?C", "ABC", true);
        check_glob("A?C", "AC", false);
        check_glob("*ABC", "7ABC", true);
        check_glob("ABC*", "ABC", true);
        check_glob("A*C*E", "ABCDE", true);
        check_glob("A*C*E", "ABCDEF", false);
        check_glob("*A*A*", "XAYAZ", true);
        check_glob("*AA", "AAA", true);
        check_glob("7??123", "7AB123", true);
    }
}
