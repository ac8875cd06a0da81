//! Building the live list from the cache (the last good update, the imports and the manual
//! entries), and `hotlist import`.
//!
//! Part of the policy core. Cached files were verified when they arrived; their SHA-256 is
//! checked again at every load, so a cache file changed on disk is reported and left out.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::cache::{CacheError, CacheState, CachedFile, cache_dir, load_cache, save_cache};
use super::entry::HotlistEntry;
use super::index::{IndexBuilder, IndexError};
use super::manual::{BoloError, BoloStore};
use super::parse::{self, Format, ImportReport, ParseContext, ParsedFile};
use super::update::sha256_hex;
use super::{ActiveList, HotlistConfig, ListStatus};
use crate::audit::{AuditAction, AuditError, AuditEvent, AuditSink};

/// Who is acting, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    /// User id, or `system` for scheduled work.
    pub user: String,
    /// The user's organization.
    pub organization: String,
}

impl Actor {
    /// An actor.
    pub fn new(user: &str, organization: &str) -> Self {
        Self { user: user.to_owned(), organization: organization.to_owned() }
    }

    pub(crate) fn event(&self, action: AuditAction, object: &str, outcome: &str) -> AuditEvent {
        AuditEvent::new(&self.user, &self.organization, action, object, outcome)
    }
}

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

/// Reads and parses every file the cache state names.
pub fn parse_cached(
    dir: &Path,
    state: &CacheState,
    now: DateTime<Utc>,
) -> Result<Vec<(String, ParsedFile)>, LoadError> {
    let mut parsed = Vec::new();
    for file in state.files() {
        let ctx =
            ParseContext { source: file.name.clone(), version: file.version.clone(), list: file.list.clone(), now };
        let mut result = ParsedFile::default();
        match load_cache(dir, &file.cache_name)? {
            None => result.file_error(&ctx, 0, "missing from the hot-list cache"),
            Some(bytes) if sha256_hex(&bytes) != file.sha256 => {
                result.file_error(&ctx, 0, "changed in the hot-list cache since it was verified: left out");
            }
            Some(bytes) => result = parse::parse(file.format, &bytes, &ctx),
        }
        parsed.push((file.name.clone(), result));
    }
    Ok(parsed)
}

/// Builds the live list from parsed files and manual entries.
pub fn build_active(
    config: &HotlistConfig,
    state: &CacheState,
    mut files: Vec<(String, ParsedFile)>,
    manual: Vec<HotlistEntry>,
    now: DateTime<Utc>,
) -> Result<LoadOutcome, LoadError> {
    if !manual.is_empty() {
        files.push(("manual entries".into(), ParsedFile { entries: manual, ..Default::default() }));
    }
    let (entries, report) = parse::merge(files, now);
    let mut builder = IndexBuilder::with_capacity(config.match_config(), entries.len());
    for entry in &entries {
        builder.push(entry)?;
    }
    drop(entries);
    let index = builder.build();
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
    let status = ListStatus { version, created, loaded_at: now, entries: index.len(), sources };
    Ok(LoadOutcome { list: ActiveList { index, status }, report })
}

/// Loads the last good list from the cache under `data_dir`.
pub fn load_active(data_dir: &Path, config: &HotlistConfig, now: DateTime<Utc>) -> Result<LoadOutcome, LoadError> {
    let dir = cache_dir(data_dir);
    let state = CacheState::load(&dir)?;
    let files = parse_cached(&dir, &state, now)?;
    let manual = BoloStore::new(&dir, config.bolo_max_days).active_entries(now)?;
    build_active(config, &state, files, manual, now)
}

/// Imports files into the cache (they join the list at the next load): parses each, reports
/// every bad line, keeps the files whatever their errors (the good lines load), audits the
/// import. A file that cannot be read is reported and skipped.
pub fn import_files(
    data_dir: &Path,
    files: &[(PathBuf, Option<Format>)],
    audit: &dyn AuditSink,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<ImportReport, LoadError> {
    let dir = cache_dir(data_dir);
    let mut state = CacheState::load(&dir)?;
    let version = format!("import-{}", now.format("%Y%m%dT%H%M%SZ"));
    let mut parsed = Vec::new();
    let mut to_cache: Vec<(CachedFile, Vec<u8>)> = Vec::new();
    for (path, format) in files {
        let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        let ctx = ParseContext { source: name.clone(), version: version.clone(), list: None, now };
        let mut failed = ParsedFile::default();
        let Some(format) = format.or_else(|| Format::from_path(path)) else {
            failed.file_error(&ctx, 0, "unknown format: name it .tbl, .ncic or .csv, or pass --format");
            parsed.push((name, failed));
            continue;
        };
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(err) => {
                failed.file_error(&ctx, 0, format!("cannot read {}: {err}", path.display()));
                parsed.push((name, failed));
                continue;
            }
        };
        let sha256 = sha256_hex(&bytes);
        let cached = CachedFile {
            cache_name: CachedFile::cache_name_for(&name, &sha256),
            name: name.clone(),
            format,
            list: None,
            sha256,
            version: version.clone(),
            added_at: now,
        };
        parsed.push((name, parse::parse(format, &bytes, &ctx)));
        to_cache.push((cached, bytes));
    }
    let (_, report) = parse::merge(parsed, now);
    let names: Vec<&str> = to_cache.iter().map(|(f, _)| f.name.as_str()).collect();
    let summary = format!(
        "accepted {}, rejected {}, duplicates merged {}, expired skipped {}",
        report.accepted, report.rejected, report.duplicates_merged, report.expired_skipped
    );
    audit.record(actor.event(AuditAction::HotlistImport, &names.join(" "), &summary))?;
    for (cached, bytes) in to_cache {
        save_cache(&dir, &cached.cache_name, &bytes)?;
        // A file imported again under the same name replaces the earlier import.
        state.imports.retain(|f| f.name != cached.name);
        state.imports.push(cached);
    }
    state.save(&dir)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::MemoryAudit;
    use crate::hotlist::{Hotlists, ReadCandidate, ReadQuery};

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
        let report = import_files(data.path(), &[(csv.clone(), None), (missing, None)], &audit, &actor, now).unwrap();
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
        let loaded = load_active(data.path(), &config, now).unwrap();
        assert_eq!(loaded.list.status.entries, 1);
        assert_eq!(loaded.list.status.created, Some(now));
        let lists = Hotlists::new(loaded.list);
        let candidates = [ReadCandidate { text: "DEM0001", confidence: 0.9 }];
        let hit = lists.match_read(&ReadQuery { candidates: &candidates, state: Some("CA"), now }).unwrap();
        assert_eq!(hit.matches[0].entry.plate, "DEMO001");

        // A cached file changed behind the console's back is left out and reported.
        let state = CacheState::load(&cache_dir(data.path())).unwrap();
        let cached = &state.imports[0].cache_name;
        save_cache(&cache_dir(data.path()), cached, b"plate\nEVIL1\n").unwrap();
        let loaded = load_active(data.path(), &config, now).unwrap();
        assert_eq!(loaded.list.status.entries, 0);
        assert!(loaded.report.errors[0].reason.contains("changed in the hot-list cache"), "{}", loaded.report);
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
        let err = import_files(data.path(), &[(csv, None)], &Refusing, &Actor::new("u", "PD"), Utc::now()).unwrap_err();
        assert!(matches!(err, LoadError::Audit(_)));
        assert_eq!(CacheState::load(&cache_dir(data.path())).unwrap(), CacheState::default());
    }
}
