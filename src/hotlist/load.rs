//! Building the live list from the cache (the last good update, the imports and the manual
//! entries), and `hotlist import`.
//!
//! Part of the policy core. Cached files were verified when they arrived; their SHA-256 is
//! checked again at every load, so a cache file changed on disk is reported and left out.

use std::io::BufReader;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

pub use super::actor::Actor;
use super::cache::{CacheError, CacheState, CachedFile, HashingReader, HotlistCache, PendingFile, SealedWriter};
use super::entry::HotlistEntry;
use super::index::{IndexBuilder, IndexError};
use super::manual::{BOLO_NAME, BoloError, BoloStore};
use super::parse::{self, ErrorLog, Format, ImportReport, ParseContext, ParsedFile};
use super::{ActiveList, HotlistConfig, ListStatus};
use crate::audit::{AuditAction, AuditError, AuditSink};

/// Why the list could not be loaded or a file imported.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The cache could not be read or written.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// The manual entries could not be read.
    #[error(transparent)]
    Bolo(#[from] BoloError),
    /// The entries do not fit the index.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// The action could not be audited, so it was not carried out.
    #[error(transparent)]
    Audit(#[from] AuditError),
}

/// A loaded list and what loading it found.
#[derive(Debug)]
pub struct LoadOutcome {
    /// The list, ready to swap in.
    pub list: ActiveList,
    /// Counts and errors.
    pub report: ImportReport,
}

/// The live list under construction. Each file's entries are packed into an index builder as
/// its lines are parsed, never held as [`HotlistEntry`] values, so loading a list of millions
/// of entries needs little more memory than the finished index; duplicates are merged when the
/// index is built. A file joins the list only once it proves whole (read to its end, its hash
/// verified): until then its entries wait in their own [`FileEntries`].
pub struct ListBuilder {
    builder: IndexBuilder,
    report: ImportReport,
    now: DateTime<Utc>,
}

/// One file's entries, packed as they stream in; the expired ones are counted and dropped.
pub struct FileEntries {
    builder: IndexBuilder,
    expired: usize,
    error: Option<IndexError>,
    now: DateTime<Utc>,
}

impl FileEntries {
    /// Takes one parsed entry.
    pub fn push(&mut self, entry: HotlistEntry) {
        if entry.is_expired(self.now) {
            self.expired += 1;
            return;
        }
        // The parsers only hand over plates the index takes (the fuzz targets check it), so
        // an entry refused here is a bug or a list beyond the index's limits: the first such
        // error fails the load rather than leaving the entry out unnoticed.
        if self.error.is_none()
            && let Err(err) = self.builder.push(&entry)
        {
            self.error = Some(err);
        }
    }
}

impl ListBuilder {
    /// An empty list under the given settings; entries expired at `now` are skipped.
    pub fn new(config: &HotlistConfig, now: DateTime<Utc>) -> Self {
        Self { builder: IndexBuilder::with_capacity(config.match_config(), 0), report: ImportReport::default(), now }
    }

    /// A place for the next file's entries.
    pub fn file_entries(&self) -> FileEntries {
        FileEntries {
            builder: IndexBuilder::with_capacity(self.builder.config().clone(), 0),
            expired: 0,
            error: None,
            now: self.now,
        }
    }

    /// Adds a file that proved whole: its entries join the list, its counts and errors the
    /// report.
    pub fn add(&mut self, name: &str, parsed: ParsedFile, entries: FileEntries) -> Result<(), LoadError> {
        if let Some(err) = entries.error {
            return Err(err.into());
        }
        self.builder.append(entries.builder)?;
        self.report.expired_skipped += entries.expired;
        self.add_report(name, parsed);
        Ok(())
    }

    /// Adds entries given whole (the manual entries), as a file named `name`.
    pub fn add_entries(&mut self, name: &str, entries: Vec<HotlistEntry>) -> Result<(), LoadError> {
        let mut file = self.file_entries();
        entries.into_iter().for_each(|entry| file.push(entry));
        self.add(name, ParsedFile::default(), file)
    }

    /// Reports a file that was left out (its entries, if any were read, are dropped).
    pub fn add_failed(&mut self, name: &str, parsed: ParsedFile) {
        self.add_report(name, parsed);
    }

    fn add_report(&mut self, name: &str, parsed: ParsedFile) {
        self.report.files.push(name.to_owned());
        self.report.rejected += parsed.rejected;
        self.report.errors.extend(parsed.errors);
        self.report.errors_omitted += parsed.errors_omitted;
    }

    /// Builds the index: the list the cache `state` describes, ready to swap in.
    pub fn finish(mut self, state: &CacheState) -> LoadOutcome {
        let index = self.builder.build();
        self.report.accepted = index.len();
        self.report.duplicates_merged = index.duplicates_merged();
        let (version, created) = match &state.update {
            Some(update) => (update.version.clone(), Some(update.created)),
            None => ("none".to_owned(), state.imports.iter().map(|f| f.added_at).max()),
        };
        let sources = state
            .update
            .iter()
            .map(|u| u.source.clone())
            .chain(state.imports.iter().map(|f| format!("import {}", f.name)))
            .collect();
        let status = ListStatus { version, created, loaded_at: self.now, entries: index.len(), sources };
        LoadOutcome { list: ActiveList { index, status }, report: self.report }
    }
}

/// Reads and parses every file the cache state names into `list`, each as it is decrypted. A
/// file that is missing, does not decrypt or no longer has its verified hash is reported and
/// left out, entries and all; the others load.
pub fn load_cached(list: &mut ListBuilder, cache: &HotlistCache, state: &CacheState) -> Result<(), LoadError> {
    for file in state.files() {
        let ctx = ParseContext {
            source: file.name.clone(),
            version: file.version.clone(),
            list: file.list.clone(),
            now: list.now,
            error_log: None,
        };
        let mut failed = ParsedFile::default();
        let reader = match cache.open(&file.cache_name) {
            Err(err @ CacheError::Sealed { .. }) => {
                failed.file_error(&ctx, 0, format!("{err}: left out"));
                list.add_failed(&file.name, failed);
                continue;
            }
            other => other?,
        };
        let Some(reader) = reader else {
            failed.file_error(&ctx, 0, "missing from the hot-list cache");
            list.add_failed(&file.name, failed);
            continue;
        };
        let mut entries = list.file_entries();
        let mut hashing = HashingReader::new(reader);
        let result =
            parse::parse_reader_into(file.format, BufReader::new(&mut hashing), &ctx, &mut |e| entries.push(e));
        let (_, sha256, _) = hashing.finish();
        match result {
            Err(failure) => {
                failed.file_error(&ctx, failure.line, format!("{}: left out", failure.error));
                list.add_failed(&file.name, failed);
            }
            // The whole file was read, whatever the parser made of it: the hash covers it all.
            Ok(_) if sha256 != file.sha256 => {
                failed.file_error(&ctx, 0, "changed in the hot-list cache since it was verified: left out");
                list.add_failed(&file.name, failed);
            }
            Ok(parsed) => list.add(&file.name, parsed, entries)?,
        }
    }
    Ok(())
}

/// Adds the manual entries in force to `list`. A manual-entries file that does not decrypt is
/// reported (as a file error of `bolo.json`) and its entries left out, so the agency's lists
/// still load.
pub fn add_manual_entries(
    list: &mut ListBuilder,
    cache: &HotlistCache,
    config: &HotlistConfig,
) -> Result<(), LoadError> {
    match BoloStore::new(cache, config.bolo_max_days).active_entries(list.now) {
        Ok(entries) if entries.is_empty() => Ok(()),
        Ok(entries) => list.add_entries("manual entries", entries),
        Err(BoloError::Cache(err @ CacheError::Sealed { .. })) => {
            let ctx = ParseContext {
                source: BOLO_NAME.into(),
                version: "manual".into(),
                list: None,
                now: list.now,
                error_log: None,
            };
            let mut failed = ParsedFile::default();
            failed.file_error(&ctx, 0, format!("{err}: manual entries left out"));
            list.add_failed(BOLO_NAME, failed);
            Ok(())
        }
        Err(err) => Err(err.into()),
    }
}

/// Loads the last good list from the (encrypted) cache. A cache state that does not decrypt
/// is an error: the caller keeps the list it has.
pub fn load_active(cache: &HotlistCache, config: &HotlistConfig, now: DateTime<Utc>) -> Result<LoadOutcome, LoadError> {
    let state = CacheState::load(cache)?;
    let mut list = ListBuilder::new(config, now);
    load_cached(&mut list, cache, &state)?;
    add_manual_entries(&mut list, cache, config)?;
    Ok(list.finish(&state))
}

/// The folder of the data dir that holds each import's report of bad lines.
pub const IMPORT_REPORTS_DIR: &str = "import-reports";

/// Imports files into the cache (they join the list at the next load): parses each as it is
/// read, line by line, sealing a copy into the cache in the same pass and packing its entries
/// into a [`ListBuilder`] under `config`, so the report counts exactly what the next load will
/// (accepted, duplicates merged, expired skipped) and memory holds neither the files nor
/// their entries as values, only the packed entries a load holds; reports every bad line;
/// keeps the files whatever their errors (the good lines load); audits the import. A file
/// that cannot be read is reported and skipped.
pub fn import_files(
    cache: &HotlistCache,
    config: &HotlistConfig,
    files: &[(PathBuf, Option<Format>)],
    audit: &dyn AuditSink,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<ImportReport, LoadError> {
    let mut state = CacheState::load(cache)?;
    let version = format!("import-{}", now.format("%Y%m%dT%H%M%SZ"));
    // Every bad line goes to a report file beside the cache (in the private data dir), so a
    // file with more bad lines than the printed report lists loses none of them.
    let reports = cache.dir().parent().unwrap_or_else(|| cache.dir()).join(IMPORT_REPORTS_DIR);
    let error_log = ErrorLog::new(reports.join(format!("{version}.txt")));
    let mut to_cache: Vec<(CachedFile, PendingFile)> = Vec::new();
    let mut list = ListBuilder::new(config, now);
    for (path, format) in files {
        let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        let ctx = ParseContext {
            source: name.clone(),
            version: version.clone(),
            list: None,
            now,
            error_log: Some(error_log.clone()),
        };
        let mut failed = ParsedFile::default();
        let Some(format) = format.or_else(|| Format::from_path(path)) else {
            failed.file_error(&ctx, 0, "unknown format: name it .tbl, .ncic or .csv, or pass --format");
            list.add_failed(&name, failed);
            continue;
        };
        let source = match std::fs::File::open(path) {
            Ok(source) => source,
            Err(err) => {
                failed.file_error(&ctx, 0, format!("cannot read {}: {err}", path.display()));
                list.add_failed(&name, failed);
                continue;
            }
        };
        let mut hashing = HashingReader::with_copy(source, cache.create_sealed()?);
        let reader = BufReader::with_capacity(IMPORT_BUFFER, &mut hashing);
        let mut entries = list.file_entries();
        let result = parse::parse_reader_into(format, reader, &ctx, &mut |entry| entries.push(entry));
        if let Some(reason) = hashing.copy_error() {
            return Err(
                CacheError::Io { path: cache.dir().to_path_buf(), source: std::io::Error::other(reason) }.into()
            );
        }
        let (_, sha256, copy) = hashing.finish();
        let file = match result {
            Ok(file) => file,
            Err(failure) => {
                // The partial copy is dropped, and its temporary file with it; the entries
                // read so far count for nothing, as a load would leave them out.
                failed.file_error(&ctx, failure.line, format!("cannot read {}: {}", path.display(), failure.error));
                list.add_failed(&name, failed);
                continue;
            }
        };
        let pending = copy.map(SealedWriter::finish).transpose()?;
        let cached = CachedFile {
            cache_name: CachedFile::cache_name_for(&name, &sha256),
            name: name.clone(),
            format,
            list: None,
            sha256,
            version: version.clone(),
            added_at: now,
        };
        list.add(&name, file, entries)?;
        to_cache.extend(pending.map(|pending| (cached, pending)));
    }
    // The index is built only for its counts (the list loads from the cache), as a load
    // builds it: the same merge of duplicates, the same expiry.
    let mut report = list.finish(&state).report;
    match error_log.finish() {
        Ok(0) => {}
        Ok(_) => report.error_file = Some(error_log.path().to_path_buf()),
        Err(reason) => {
            return Err(
                CacheError::Io { path: error_log.path().to_path_buf(), source: std::io::Error::other(reason) }.into()
            );
        }
    }
    let names: Vec<&str> = to_cache.iter().map(|(f, _)| f.name.as_str()).collect();
    let summary = format!(
        "accepted {}, rejected {}, duplicates merged {}, expired skipped {}",
        report.accepted, report.rejected, report.duplicates_merged, report.expired_skipped
    );
    audit.record(actor.event(AuditAction::HotlistImport, &names.join(" "), &summary))?;
    for (cached, pending) in to_cache {
        pending.commit(cache, &cached.cache_name)?;
        // A file imported again under the same name replaces the earlier import.
        state.imports.retain(|f| f.name != cached.name);
        state.imports.push(cached);
    }
    state.save(cache)?;
    Ok(report)
}

/// The read buffer of an import: large reads from the file, bounded memory.
const IMPORT_BUFFER: usize = 256 * 1024;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::audit::MemoryAudit;
    use crate::hotlist::manual::BoloRequest;
    use crate::hotlist::{Hotlists, ReadCandidate, ReadQuery};
    use crate::store::{KeySource, StoreKeys};

    pub(crate) fn test_cache(data_dir: &std::path::Path) -> HotlistCache {
        let keys = StoreKeys::derive("hot-list load test", data_dir, KeySource::Environment).unwrap();
        HotlistCache::new(data_dir, keys)
    }

    fn file_of(list: &ListBuilder, entries: &[HotlistEntry]) -> FileEntries {
        let mut file = list.file_entries();
        entries.iter().cloned().for_each(|e| file.push(e));
        file
    }

    #[test]
    fn the_list_merges_duplicates_across_files_and_skips_expired() {
        use crate::hotlist::entry::Category;
        let now = Utc::now();
        let mut a = HotlistEntry::new("ABC123", Category::StolenVehicle, "svs");
        a.priority = 4;
        a.reason = "first".into();
        a.expires = Some(now + chrono::Duration::days(2));
        let b = HotlistEntry {
            priority: 2,
            reason: "second".into(),
            expires: Some(now + chrono::Duration::days(9)),
            ..a.clone()
        };
        let expired = HotlistEntry {
            expires: Some(now - chrono::Duration::hours(1)),
            ..HotlistEntry::new("OLD1", Category::Bolo, "bolo")
        };
        let other_state = HotlistEntry { state: Some("NV".into()), ..a.clone() };
        // The same list name from a later file (another source and version): still a duplicate.
        let later = HotlistEntry {
            source: "svs2.tbl".into(),
            version: "v2".into(),
            covert: true,
            reason: "later".into(),
            ..a.clone()
        };
        let mut list = ListBuilder::new(&HotlistConfig::default(), now);
        let first = file_of(&list, &[a, b, expired, other_state]);
        list.add("svs.tbl", ParsedFile { rejected: 2, ..Default::default() }, first).unwrap();
        let second = file_of(&list, &[later]);
        list.add("svs2.tbl", ParsedFile::default(), second).unwrap();
        // A file that failed: its entries never join.
        let failed = file_of(&list, &[HotlistEntry::new("ZZZ999", Category::Bolo, "bolo")]);
        drop(failed);
        list.add_failed("broken.csv", ParsedFile::default());
        let loaded = list.finish(&CacheState::default());
        let report = &loaded.report;
        assert_eq!((report.accepted, report.rejected, report.duplicates_merged, report.expired_skipped), (2, 2, 2, 1));
        assert_eq!(report.files, ["svs.tbl", "svs2.tbl", "broken.csv"]);
        assert!(report.to_string().ends_with("accepted 2, rejected 2, duplicates merged 2, expired skipped 1"));
        assert_eq!(loaded.list.status.entries, 2);
        let kept: Vec<HotlistEntry> = loaded.list.index.iter_entries().filter(|e| e.state.is_none()).collect();
        assert_eq!(kept.len(), 1);
        // The first is kept, with the most urgent priority, the latest expiry, covert if any was.
        assert_eq!((kept[0].reason.as_str(), kept[0].priority, kept[0].covert), ("first", 2, true));
        assert_eq!(kept[0].expires.map(|t| t.timestamp()), Some((now + chrono::Duration::days(9)).timestamp()));
    }

    #[test]
    fn an_import_reports_what_the_next_load_counts() {
        let data = tempfile::tempdir().unwrap();
        let src = tempfile::tempdir().unwrap();
        // One list named in both files (a file's list is otherwise named after the file).
        let header = "plate,state,list,category,reason,expires\n";
        let first = src.path().join("a.csv");
        // A duplicate within the file, one with another state (not a duplicate), one expired.
        let rows =
            "ABC123,CA,svs,bolo,x,\nABC123,CA,svs,bolo,y,\nABC123,NV,svs,bolo,z,\nOLD1,CA,svs,bolo,old,2020-01-01\n";
        std::fs::write(&first, format!("{header}{rows}")).unwrap();
        // A duplicate across files, a pattern twice, and a new plate.
        let second = src.path().join("b.csv");
        std::fs::write(
            &second,
            format!(
                "{header}ABC123,CA,svs,bolo,again,\n7DMO?23,,svs,bolo,p,\n7DMO?23,,svs,bolo,p,\nXYZ9,CA,svs,bolo,n,\n"
            ),
        )
        .unwrap();
        let cache = test_cache(data.path());
        let config = HotlistConfig::default();
        let now = Utc::now();
        let files = [(first, None), (second, None)];
        let report =
            import_files(&cache, &config, &files, &MemoryAudit::default(), &Actor::new("a", "PD"), now).unwrap();
        assert_eq!((report.accepted, report.duplicates_merged, report.expired_skipped), (4, 3, 1), "{report}");
        let loaded = load_active(&cache, &config, now).unwrap().report;
        assert_eq!(
            (loaded.accepted, loaded.duplicates_merged, loaded.expired_skipped),
            (report.accepted, report.duplicates_merged, report.expired_skipped)
        );
    }

    #[test]
    fn import_then_load_matches_and_survives_tampering() {
        let data = tempfile::tempdir().unwrap();
        let src = tempfile::tempdir().unwrap();
        let csv = src.path().join("agency.csv");
        std::fs::write(&csv, "plate,state,category,reason\nDEMO001,CA,bolo,DEMO\nB*,CA,bolo,x\n").unwrap();
        let audit = MemoryAudit::default();
        let now = Utc::now();
        let actor = Actor::new("admin1", "PD");
        let missing = src.path().join("none.csv");
        let cache = test_cache(data.path());
        let report = import_files(
            &cache,
            &HotlistConfig::default(),
            &[(csv.clone(), None), (missing, None)],
            &audit,
            &actor,
            now,
        )
        .unwrap();
        assert_eq!(report.accepted, 1);
        assert_eq!(report.rejected, 1);
        assert_eq!(report.errors.len(), 2, "{report}");
        assert!(report.errors[0].to_string().starts_with("agency.csv:3: plate:"), "{report}");
        assert!(report.errors[1].to_string().starts_with("none.csv:0: cannot read"), "{report}");
        let events = audit.events();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].action, AuditAction::HotlistImport);
        assert_eq!(events[0].object, "agency.csv");

        let config = HotlistConfig::default();
        let loaded = load_active(&cache, &config, now).unwrap();
        assert_eq!(loaded.list.status.entries, 1);
        assert_eq!(loaded.list.status.created, Some(now));
        let lists = Hotlists::new(loaded.list);
        let candidates = [ReadCandidate { text: "DEM0001", confidence: 0.9 }];
        let hit = lists.match_read(&ReadQuery { candidates: &candidates, state: Some("CA"), now }).unwrap();
        assert_eq!(hit.matches[0].entry.plate, "DEMO001");

        // A cached file changed behind the console's back is left out and reported.
        let state = CacheState::load(&cache).unwrap();
        let cached = &state.imports[0].cache_name;
        let sealed = std::fs::read(cache.dir().join(cached)).unwrap();
        cache.save(cached, b"plate\nEVIL1\n").unwrap();
        let loaded = load_active(&cache, &config, now).unwrap();
        assert_eq!(loaded.list.status.entries, 0);
        assert!(loaded.report.errors[0].reason.contains("changed in the hot-list cache"), "{}", loaded.report);

        // A cached file altered on disk does not even decrypt: reported, left out.
        let mut altered = sealed.clone();
        altered[20] ^= 0x40;
        std::fs::write(cache.dir().join(cached), &altered).unwrap();
        let loaded = load_active(&cache, &config, now).unwrap();
        assert_eq!(loaded.list.status.entries, 0);
        assert!(loaded.report.errors[0].reason.contains("cannot be decrypted"), "{}", loaded.report);
        std::fs::write(cache.dir().join(cached), &sealed).unwrap();
        assert_eq!(load_active(&cache, &config, now).unwrap().list.status.entries, 1);
    }

    #[test]
    fn the_cache_holds_no_plate_in_the_clear_and_a_tampered_one_is_refused() {
        let data = tempfile::tempdir().unwrap();
        let cache = test_cache(data.path());
        let csv = data.path().join("agency.csv");
        std::fs::write(&csv, "plate,state,category,reason\n7QXZ314,CA,bolo,DEMO agency list\n").unwrap();
        let audit = MemoryAudit::default();
        let actor = Actor::new("admin1", "PD");
        let now = Utc::now();
        import_files(&cache, &HotlistConfig::default(), &[(csv.clone(), None)], &audit, &actor, now).unwrap();
        std::fs::remove_file(&csv).unwrap();
        let request = BoloRequest { plate: "8WVU271".into(), reason: "DEMO manual entry".into(), ..Default::default() };
        BoloStore::new(&cache, 7).add(&request, &actor, &audit, now).unwrap();
        let config = HotlistConfig::default();
        assert_eq!(load_active(&cache, &config, now).unwrap().list.status.entries, 2);
        // Nothing under the data dir shows a plate, a reason or a file name in the clear.
        let mut files = Vec::new();
        let mut folders = vec![data.path().to_path_buf()];
        while let Some(folder) = folders.pop() {
            for item in std::fs::read_dir(&folder).unwrap() {
                let path = item.unwrap().path();
                if path.is_dir() { folders.push(path) } else { files.push(path) }
            }
        }
        assert!(files.len() >= 3, "{files:?}");
        for file in &files {
            let bytes = std::fs::read(file).unwrap();
            for secret in [&b"7QXZ314"[..], b"8WVU271", b"DEMO", b"agency.csv"] {
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret),
                    "{} in {}",
                    String::from_utf8_lossy(secret),
                    file.display()
                );
            }
        }
        // A tampered manual-entries file: reported, its entries left out, the list still loads.
        let bolo = cache.dir().join(BOLO_NAME);
        let sealed = std::fs::read(&bolo).unwrap();
        let mut altered = sealed.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        std::fs::write(&bolo, &altered).unwrap();
        let loaded = load_active(&cache, &config, now).unwrap();
        assert_eq!(loaded.list.status.entries, 1);
        assert!(loaded.report.errors.iter().any(|e| e.file == BOLO_NAME && e.reason.contains("cannot be decrypted")));
        std::fs::write(&bolo, &sealed).unwrap();
        // A tampered state: nothing loads from it, and the caller keeps the list it has.
        let lists = Hotlists::new(load_active(&cache, &config, now).unwrap().list);
        let state = cache.dir().join(crate::hotlist::cache::STATE_NAME);
        let mut altered = std::fs::read(&state).unwrap();
        altered[30] ^= 0x10;
        std::fs::write(&state, &altered).unwrap();
        let err = load_active(&cache, &config, now).unwrap_err();
        assert!(matches!(err, LoadError::Cache(CacheError::Sealed { .. })), "{err}");
        assert_eq!(lists.current().status.entries, 2);
    }

    #[test]
    fn every_bad_line_is_in_the_report_file_however_many() {
        let data = tempfile::tempdir().unwrap();
        let src = tempfile::tempdir().unwrap();
        let path = src.path().join("many.csv");
        // 1,500 bad lines (more than the printed report lists) between good ones.
        let mut text = String::from("plate,state,reason\n");
        for i in 0..3_000usize {
            let state = if i % 2 == 0 { "ZZ" } else { "CA" };
            text.push_str(&format!("M{i:06},{state},DEMO\n"));
        }
        std::fs::write(&path, &text).unwrap();
        let cache = test_cache(data.path());
        let report = import_files(
            &cache,
            &HotlistConfig::default(),
            &[(path, None)],
            &MemoryAudit::default(),
            &Actor::new("admin1", "PD"),
            Utc::now(),
        )
        .unwrap();
        assert_eq!((report.accepted, report.rejected), (1_500, 1_500));
        assert_eq!((report.errors.len(), report.errors_omitted), (crate::hotlist::parse::MAX_REPORTED_ERRORS, 500));
        let file = report.error_file.clone().expect("a report file");
        assert!(file.starts_with(data.path().join(IMPORT_REPORTS_DIR)), "{}", file.display());
        let written = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = written.lines().collect();
        assert_eq!(lines.len(), 1_500);
        assert_eq!(lines[0], "many.csv:2: bad state \"ZZ\"");
        assert_eq!(lines[1_499], "many.csv:3000: bad state \"ZZ\"");
        assert!(
            report.to_string().contains(&format!("... and 500 more errors: every bad line is in {}", file.display()))
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn a_large_file_is_imported_as_it_streams() {
        // 200,000 records: every thousandth has a bad state, a duplicate, or an expiry past.
        let data = tempfile::tempdir().unwrap();
        let src = tempfile::tempdir().unwrap();
        let path = src.path().join("big.csv");
        let mut text = String::from("plate,state,category,expires,reason\n");
        for i in 0..200_000usize {
            let (plate, state, expires) = match i % 1000 {
                999 => (format!("T{i:06}"), "ZZ", ""),
                998 => (format!("T{:06}", i - 2), "CA", ""),
                997 => (format!("T{i:06}"), "CA", "2020-01-01"),
                _ => (format!("T{i:06}"), "CA", ""),
            };
            text.push_str(&format!("{plate},{state},stolen vehicle,{expires},DEMO generated\n"));
        }
        std::fs::write(&path, &text).unwrap();
        let cache = test_cache(data.path());
        let audit = MemoryAudit::default();
        let now = Utc::now();
        let report =
            import_files(&cache, &HotlistConfig::default(), &[(path, None)], &audit, &Actor::new("admin1", "PD"), now)
                .unwrap();
        assert_eq!(
            (report.accepted, report.rejected, report.duplicates_merged, report.expired_skipped),
            (199_400, 200, 200, 200),
            "{report}"
        );
        assert_eq!(report.errors.len(), 200);
        // Record i is on line i + 2 (the header is line 1).
        assert_eq!(report.errors[0].to_string(), "big.csv:1001: bad state \"ZZ\"");
        assert_eq!(report.errors[199].to_string(), "big.csv:200001: bad state \"ZZ\"");
        // The cache holds the file sealed in chunks (several MB of text), and it loads back.
        let state = CacheState::load(&cache).unwrap();
        assert_eq!(state.imports[0].sha256, crate::hotlist::update::sha256_hex(text.as_bytes()));
        let loaded = load_active(&cache, &HotlistConfig::default(), now).unwrap();
        assert_eq!(loaded.list.status.entries, 199_400);
        assert_eq!(loaded.report.accepted, 199_400);
        let lists = Hotlists::new(loaded.list);
        let candidates = [ReadCandidate { text: "T123456", confidence: 0.9 }];
        assert!(lists.match_read(&ReadQuery { candidates: &candidates, state: Some("CA"), now }).is_some());
    }

    #[test]
    fn an_import_that_cannot_be_audited_is_not_made() {
        struct Refusing;
        impl AuditSink for Refusing {
            fn record(&self, _: crate::audit::AuditEvent) -> Result<(), AuditError> {
                Err(AuditError("disk full".into()))
            }
        }
        let data = tempfile::tempdir().unwrap();
        let csv = data.path().join("a.csv");
        std::fs::write(&csv, "plate\nABC123\n").unwrap();
        let cache = test_cache(data.path());
        let err = import_files(
            &cache,
            &HotlistConfig::default(),
            &[(csv, None)],
            &Refusing,
            &Actor::new("u", "PD"),
            Utc::now(),
        )
        .unwrap_err();
        assert!(matches!(err, LoadError::Audit(_)));
        assert_eq!(CacheState::load(&cache).unwrap(), CacheState::default());
    }
}
