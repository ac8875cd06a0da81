//! The signed shift-start update: the agency publishes list files with a manifest signed with
//! ed25519; the console verifies the signature with the agency's public key, checks every
//! file's size and SHA-256, parses, builds, and only then swaps the new list in. Any failure
//! keeps the last good list and says why.
//!
//! Part of the policy core. The agency's side (`hotlist keygen`, `hotlist sign DIR`) lives here
//! too, so both ends share one definition of the manifest.
//!
//! Published folder: the list files, `manifest.json` and `manifest.json.sig` (the base64
//! ed25519 signature of the exact bytes of `manifest.json`).

use std::fs;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::cache::{CacheError, CacheState, CachedFile, CachedUpdate, HashingReader, HotlistCache, PendingFile};
use super::load::{Actor, FileEntries, ListBuilder, LoadError, add_manual_entries, load_cached};
use super::parse::{self, ErrorScope, Format, ImportReport, ParseContext, ParsedFile};
use super::{HotlistConfig, Hotlists, ListStatus};
use crate::audit::{AuditAction, AuditSink};

/// The manifest's file name.
pub const MANIFEST_NAME: &str = "manifest.json";
/// The signature's file name.
pub const SIGNATURE_NAME: &str = "manifest.json.sig";
/// The largest manifest or signature read; anything bigger is not ours.
const MAX_MANIFEST_BYTES: u64 = 1 << 20;

/// One list file named by a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    /// The file's name in the published folder (no path).
    pub name: String,
    /// Its format.
    pub format: Format,
    /// The list name its entries get (default: what the format derives).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<String>,
    /// Its size in bytes.
    pub size: u64,
    /// SHA-256 of its bytes, lowercase hex.
    pub sha256: String,
}

/// What a publisher signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The list version (e.g. `20261128T0500Z`).
    pub version: String,
    /// When the publisher created it: the list's age counts from here.
    pub created: DateTime<Utc>,
    /// The files.
    pub files: Vec<ManifestFile>,
}

/// Why an update, a signature or a key operation failed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// No public key configured: unsigned lists are never loaded.
    #[error("no agency public key configured ([hotlist] public_key): updates are refused")]
    NoPublicKey,
    /// The configured public key is not a base64 ed25519 key.
    #[error("the configured public key is not a base64 ed25519 public key")]
    BadPublicKey,
    /// No source configured.
    #[error("no hot-list source configured ([hotlist] sources)")]
    NoSources,
    /// Every source failed; one reason per source.
    #[error("no source gave a valid list: {}", .0.join("; "))]
    AllSourcesFailed(Vec<String>),
    /// File system trouble on the agency's side.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A private key file that is not one.
    #[error("{0} is not an ed25519 private key written by `hotlist keygen` or `audit anchor-key`")]
    BadPrivateKey(PathBuf),
    /// A file to sign whose format cannot be told from its name.
    #[error("cannot tell the format of {0}: name it .tbl, .ncic or .csv")]
    UnknownFormat(PathBuf),
    /// No random numbers from the operating system.
    #[error("no secure random numbers: {0}")]
    Random(String),
    /// Building the list, or the cache, failed.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The update could not be audited, so it was not applied.
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses a base64 ed25519 public key.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, UpdateError> {
    let bytes = BASE64.decode(text.trim()).map_err(|_| UpdateError::BadPublicKey)?;
    let bytes: [u8; 32] = bytes.try_into().map_err(|_| UpdateError::BadPublicKey)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| UpdateError::BadPublicKey)
}

/// Creates a new key pair: writes the private key (base64) to `private_path` with mode 0600,
/// refusing to overwrite one, writes the public key to `<private_path>.pub`, and returns the
/// public key (base64) for the consoles' config.
pub fn generate_key(private_path: &Path) -> Result<String, UpdateError> {
    use rand::TryRngCore as _;
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.try_fill_bytes(&mut seed).map_err(|err| UpdateError::Random(err.to_string()))?;
    let key = SigningKey::from_bytes(&seed);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| UpdateError::Io { path, source }
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(private_path).map_err(io(private_path))?;
    file.write_all(format!("{}\n", BASE64.encode(seed)).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io(private_path))?;
    let public = BASE64.encode(key.verifying_key().as_bytes());
    let mut public_path = private_path.as_os_str().to_owned();
    public_path.push(".pub");
    let public_path = PathBuf::from(public_path);
    fs::write(&public_path, format!("{public}\n")).map_err(io(&public_path))?;
    Ok(public)
}

/// Reads a private key file written by [`generate_key`].
pub fn read_private_key(path: &Path) -> Result<SigningKey, UpdateError> {
    let text = fs::read_to_string(path).map_err(|source| UpdateError::Io { path: path.to_path_buf(), source })?;
    let bytes = BASE64.decode(text.trim()).map_err(|_| UpdateError::BadPrivateKey(path.to_path_buf()))?;
    let seed: [u8; 32] = bytes.try_into().map_err(|_| UpdateError::BadPrivateKey(path.to_path_buf()))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// The agency's side: writes `manifest.json` for every list file in `dir` and signs it with the
/// private key in `key_path`. The version defaults to the creation time.
pub fn sign_dir(
    dir: &Path,
    key_path: &Path,
    version: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Manifest, UpdateError> {
    let key = read_private_key(key_path)?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| UpdateError::Io { path, source }
    };
    let mut names: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(Result::ok)
        .map(|item| item.path())
        .filter(|path| path.is_file())
        .filter(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !name.starts_with('.') && name != MANIFEST_NAME && name != SIGNATURE_NAME
        })
        .collect();
    names.sort();
    let mut files = Vec::with_capacity(names.len());
    for path in names {
        let format = Format::from_path(&path).ok_or_else(|| UpdateError::UnknownFormat(path.clone()))?;
        let bytes = fs::read(&path).map_err(io(&path))?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        files.push(ManifestFile { name, format, list: None, size: bytes.len() as u64, sha256: sha256_hex(&bytes) });
    }
    let manifest = Manifest {
        version: version.map_or_else(|| now.format("%Y%m%dT%H%M%SZ").to_string(), str::to_owned),
        created: now,
        files,
    };
    let bytes = serde_json::to_vec_pretty(&manifest)
        .map_err(|err| UpdateError::Io { path: dir.join(MANIFEST_NAME), source: std::io::Error::other(err) })?;
    let signature = key.sign(&bytes);
    fs::write(dir.join(MANIFEST_NAME), &bytes).map_err(io(&dir.join(MANIFEST_NAME)))?;
    fs::write(dir.join(SIGNATURE_NAME), format!("{}\n", BASE64.encode(signature.to_bytes())))
        .map_err(io(&dir.join(SIGNATURE_NAME)))?;
    Ok(manifest)
}

/// Checks the signature of `manifest_bytes` and parses it. Every failure is a reason string
/// for the officer and the audit log.
pub fn verify_manifest(manifest_bytes: &[u8], signature_text: &[u8], key: &VerifyingKey) -> Result<Manifest, String> {
    let text = std::str::from_utf8(signature_text).map_err(|_| "signature file is not text".to_owned())?;
    let bytes = BASE64.decode(text.trim()).map_err(|_| "signature file is not base64".to_owned())?;
    let bytes: [u8; 64] = bytes.try_into().map_err(|_| "signature has the wrong length".to_owned())?;
    key.verify_strict(manifest_bytes, &Signature::from_bytes(&bytes))
        .map_err(|_| "signature does not verify with the agency's public key".to_owned())?;
    let manifest: Manifest =
        serde_json::from_slice(manifest_bytes).map_err(|err| format!("manifest is not valid: {err}"))?;
    for file in &manifest.files {
        let plain = Path::new(&file.name).file_name().and_then(|n| n.to_str()) == Some(file.name.as_str());
        if !plain || file.name.starts_with('.') {
            return Err(format!("manifest names a file outside its folder: {:?}", file.name));
        }
    }
    Ok(manifest)
}

/// The source a joined car's console adds for the office's publication: this prefix and the
/// folder the sync thread keeps it in, every file sealed with the store's key (see
/// [`HotlistCache::at`]).
pub const OFFICE_SOURCE_PREFIX: &str = "office:";

/// Where an update's files are read from.
#[derive(Debug)]
pub enum SourceFiles {
    /// A folder of plain files (mounted media, a synchronised share).
    Folder(PathBuf),
    /// The office's publication, sealed in the data dir.
    Sealed(HotlistCache),
}

impl SourceFiles {
    /// Opens one file of the update for reading (decrypted as it is read when sealed).
    fn open(&self, name: &str) -> Result<Box<dyn std::io::Read + '_>, String> {
        match self {
            SourceFiles::Folder(dir) => {
                let path = dir.join(name);
                Ok(Box::new(fs::File::open(&path).map_err(|err| format!("{}: {err}", path.display()))?))
            }
            SourceFiles::Sealed(cache) => match cache.open(name) {
                Ok(Some(reader)) => Ok(Box::new(reader)),
                Ok(None) => Err(format!("{}: missing", cache.dir().join(name).display())),
                Err(err) => Err(err.to_string()),
            },
        }
    }
}

/// A verified manifest, and where its files are (their sizes checked for a folder; their
/// hashes, and a sealed file's size, are checked as they are read, see `apply`).
#[derive(Debug)]
pub struct FetchedUpdate {
    /// Where it came from.
    pub source: String,
    /// The verified manifest.
    pub manifest: Manifest,
    /// The manifest's files.
    pub files: SourceFiles,
}

fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let size = fs::metadata(path).map_err(|err| format!("{}: {err}", path.display()))?.len();
    if size > limit {
        return Err(format!("{} is too large ({size} bytes)", path.display()));
    }
    fs::read(path).map_err(|err| format!("{}: {err}", path.display()))
}

/// The reason a file of `actual` bytes is not the manifest's, if it is not.
fn size_mismatch(file: &ManifestFile, actual: u64) -> Option<String> {
    if actual < file.size {
        return Some(format!("{}: truncated: {actual} of {} bytes", file.name, file.size));
    }
    (actual != file.size).then(|| format!("{}: {actual} bytes, the manifest says {}", file.name, file.size))
}

/// Reads and verifies one source: the signature first, then each file's size. The files
/// themselves are read once, when they are parsed. The office's sealed folder is opened
/// with `cache`'s key.
pub fn fetch(source: &str, key: &VerifyingKey, cache: &HotlistCache) -> Result<FetchedUpdate, String> {
    if let Some(dir) = source.strip_prefix(OFFICE_SOURCE_PREFIX) {
        let sealed = cache.sealed_at(Path::new(dir));
        let read = |name: &str| match sealed.load(name) {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => Err(format!("{}: no list pulled from the office yet", sealed.dir().join(name).display())),
            Err(err) => Err(err.to_string()),
        };
        let (manifest_bytes, signature) = (read(MANIFEST_NAME)?, read(SIGNATURE_NAME)?);
        let manifest = verify_manifest(&manifest_bytes, &signature, key)?;
        return Ok(FetchedUpdate { source: source.to_owned(), manifest, files: SourceFiles::Sealed(sealed) });
    }
    if source.starts_with("http://") {
        return Err("plain http sources are refused: use https or a folder".into());
    }
    if source.starts_with("https://") {
        // Not built yet: the HTTP client (and its TLS stack) is not in this build. A folder on
        // mounted media or a synchronised share works today.
        return Err("https sources are not supported by this build yet: use a folder".into());
    }
    let dir = Path::new(source);
    let manifest_bytes = read_limited(&dir.join(MANIFEST_NAME), MAX_MANIFEST_BYTES)?;
    let signature =
        read_limited(&dir.join(SIGNATURE_NAME), MAX_MANIFEST_BYTES).map_err(|err| format!("unsigned list ({err})"))?;
    let manifest = verify_manifest(&manifest_bytes, &signature, key)?;
    for file in &manifest.files {
        let path = dir.join(&file.name);
        let size = fs::metadata(&path).map_err(|err| format!("{}: {err}", path.display()))?.len();
        if let Some(reason) = size_mismatch(file, size) {
            return Err(reason);
        }
    }
    Ok(FetchedUpdate { source: source.to_owned(), manifest, files: SourceFiles::Folder(dir.to_path_buf()) })
}

/// Checks every file of a fetched update against its manifest (size and SHA-256), reading
/// each once through a fixed buffer, without parsing or keeping it.
fn verify_files(fetched: &FetchedUpdate) -> Result<(), String> {
    for file in &fetched.manifest.files {
        let source = fetched.files.open(&file.name)?;
        let mut hashing = HashingReader::new(source);
        std::io::copy(&mut hashing, &mut std::io::sink()).map_err(|err| format!("{}: {err}", file.name))?;
        let (size, sha256, _) = hashing.finish();
        if let Some(reason) = size_mismatch(file, size) {
            return Err(reason);
        }
        if sha256 != file.sha256.to_ascii_lowercase() {
            return Err(format!("{}: SHA-256 does not match the manifest", file.name));
        }
    }
    Ok(())
}

/// Parses one manifest file as it is read, sealing a copy into the cache in the same pass,
/// and checks its size and hash against the manifest. The copy is not in place until it is
/// committed; a refused file leaves nothing behind.
fn parse_update_file(
    cache: &HotlistCache,
    files: &SourceFiles,
    file: &ManifestFile,
    ctx: &ParseContext,
    entries: &mut FileEntries,
) -> Result<(ParsedFile, PendingFile), ApplyError> {
    let source = files.open(&file.name).map_err(ApplyError::Refused)?;
    let mut hashing = HashingReader::with_copy(source, cache.create_sealed().map_err(LoadError::from)?);
    let reader = BufReader::with_capacity(UPDATE_BUFFER, &mut hashing);
    let result = parse::parse_reader_into(file.format, reader, ctx, &mut |e| entries.push(e));
    if let Some(reason) = hashing.copy_error() {
        let source = std::io::Error::other(reason.to_owned());
        return Err(LoadError::from(CacheError::Io { path: cache.dir().to_path_buf(), source }).into());
    }
    let (size, sha256, copy) = hashing.finish();
    let parsed = result.map_err(|failure| ApplyError::Refused(format!("{}: {failure}", file.name)))?;
    if let Some(reason) = size_mismatch(file, size) {
        return Err(ApplyError::Refused(reason));
    }
    if sha256 != file.sha256.to_ascii_lowercase() {
        return Err(ApplyError::Refused(format!("{}: SHA-256 does not match the manifest", file.name)));
    }
    let Some(copy) = copy else {
        return Err(ApplyError::Refused(format!("{}: not copied into the cache", file.name)));
    };
    Ok((parsed, copy.finish().map_err(LoadError::from)?))
}

/// The read buffer for an update's files: large reads, bounded memory.
const UPDATE_BUFFER: usize = 256 * 1024;

/// What a successful update did.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateOutcome {
    /// The list now in use.
    pub status: ListStatus,
    /// Counts and line errors of the new list (its files, the imports and manual entries).
    pub report: ImportReport,
    /// True when the source held the list already in use (nothing changed).
    pub already_current: bool,
}

/// The newest list a console has accepted: its version, its publisher's creation time, and
/// who accepted it when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedList {
    /// The list version.
    pub version: String,
    /// When the publisher created it.
    pub created: DateTime<Utc>,
    /// Who ran the update.
    pub accepted_by: String,
    /// When it was accepted.
    pub accepted_at: DateTime<Utc>,
}

/// Where the newest accepted list is remembered apart from the hot-list cache (the console
/// keeps it in the encrypted database): deleting or restoring the cache's own state file can
/// then not let an older signed list back in.
pub trait ListHistory: Send + Sync {
    /// The newest list ever accepted, if any.
    fn newest_accepted(&self) -> Result<Option<AcceptedList>, crate::audit::AuditError>;
    /// Records a list as accepted; returns once it is durable.
    fn record_accepted(&self, list: &AcceptedList) -> Result<(), crate::audit::AuditError>;
}

/// A list history in memory, for tests and tools without a database.
#[derive(Debug, Default)]
pub struct MemoryHistory {
    newest: std::sync::Mutex<Option<AcceptedList>>,
}

impl ListHistory for MemoryHistory {
    fn newest_accepted(&self) -> Result<Option<AcceptedList>, crate::audit::AuditError> {
        Ok(self.newest.lock().map_err(|_| crate::audit::AuditError("list history poisoned".into()))?.clone())
    }

    fn record_accepted(&self, list: &AcceptedList) -> Result<(), crate::audit::AuditError> {
        let mut newest = self.newest.lock().map_err(|_| crate::audit::AuditError("list history poisoned".into()))?;
        if newest.as_ref().is_none_or(|n| n.created <= list.created) {
            *newest = Some(list.clone());
        }
        Ok(())
    }
}

/// Everything an update needs.
pub struct UpdateRequest<'a> {
    /// The hot-list cache, sealed with the store's key.
    pub cache: &'a HotlistCache,
    /// The settings.
    pub config: &'a HotlistConfig,
    /// The live list, swapped on success.
    pub lists: &'a Hotlists,
    /// Where the update is audited.
    pub audit: &'a dyn AuditSink,
    /// Where the newest accepted list is remembered.
    pub history: &'a dyn ListHistory,
    /// Who asked (the officer logging on, or `system`).
    pub actor: &'a Actor,
    /// Now.
    pub now: DateTime<Utc>,
}

/// Runs a shift-start update: the first source that yields a verified, complete, parseable
/// list wins; it is cached and swapped in. On any failure the list in use stays, and the
/// failure is audited with its reason.
pub fn run_update(request: &UpdateRequest<'_>) -> Result<UpdateOutcome, UpdateError> {
    let result = try_update(request);
    if let Err(err) = &result {
        // The failure's own audit can fail too; the update error is the one to report, and
        // the audit error is logged.
        let event = request.actor.event(AuditAction::HotlistUpdate, "", &format!("refused: {err}"));
        if let Err(audit_err) = request.audit.record(event) {
            tracing::error!("cannot audit a failed hot-list update: {audit_err}");
        }
    }
    result
}

/// How far ahead of this car's clock a list's creation time may be (clocks disagree a little).
const MAX_CLOCK_AHEAD: chrono::Duration = chrono::Duration::minutes(5);

fn try_update(request: &UpdateRequest<'_>) -> Result<UpdateOutcome, UpdateError> {
    let config = request.config;
    let key = parse_public_key(config.public_key.as_deref().ok_or(UpdateError::NoPublicKey)?)?;
    if config.sources.is_empty() {
        return Err(UpdateError::NoSources);
    }
    let state = CacheState::load(request.cache).map_err(LoadError::from)?;
    let newest = request.history.newest_accepted()?;
    let mut reasons = Vec::new();
    for source in &config.sources {
        let fetched = match fetch(source, &key, request.cache) {
            Ok(fetched) => fetched,
            Err(reason) => {
                reasons.push(format!("{source}: {reason}"));
                continue;
            }
        };
        // A list dated ahead of the car's clock would never look stale and would shut out
        // every real list published before its date: refused, with a small allowance for
        // clocks that disagree by a few minutes.
        if fetched.manifest.created > request.now + MAX_CLOCK_AHEAD {
            reasons.push(format!(
                "{source}: list {} is dated {}, ahead of this car's clock ({}): check the publisher's clock or this car's",
                fetched.manifest.version, fetched.manifest.created, request.now
            ));
            continue;
        }
        // Older than a list this car accepted before, whatever the cache says now (its state
        // file deleted or restored from a copy): a replay.
        if let Some(newest) = newest.as_ref().filter(|n| fetched.manifest.created < n.created) {
            reasons.push(format!(
                "{source}: list {} ({}) is older than list {} ({}), accepted here on {} by {}",
                fetched.manifest.version,
                fetched.manifest.created,
                newest.version,
                newest.created,
                newest.accepted_at,
                newest.accepted_by
            ));
            continue;
        }
        if let Some(current) = &state.update {
            if fetched.manifest.created < current.created {
                reasons.push(format!(
                    "{source}: list {} ({}) is older than the list in use ({}, {})",
                    fetched.manifest.version, fetched.manifest.created, current.version, current.created
                ));
                continue;
            }
            if fetched.manifest.version == current.version && fetched.manifest.created == current.created {
                // Nothing is loaded from it, but a source whose files no longer match their
                // signed manifest is reported, not called current.
                if let Err(reason) = verify_files(&fetched) {
                    reasons.push(format!("{source}: {reason}"));
                    continue;
                }
                let event = request.actor.event(AuditAction::HotlistUpdate, &current.version, "ok: already current");
                request.audit.record(event)?;
                return Ok(UpdateOutcome {
                    status: request.lists.current().status.clone(),
                    report: ImportReport::default(),
                    already_current: true,
                });
            }
        }
        match apply(request, &state, fetched) {
            Ok(outcome) => return Ok(outcome),
            Err(ApplyError::Refused(reason)) => reasons.push(format!("{source}: {reason}")),
            Err(ApplyError::Fatal(err)) => return Err(err),
        }
    }
    Err(UpdateError::AllSourcesFailed(reasons))
}

enum ApplyError {
    /// This source's list is unusable; another source may serve.
    Refused(String),
    /// The console itself failed (cache, audit): stop.
    Fatal(UpdateError),
}

impl<E: Into<UpdateError>> From<E> for ApplyError {
    fn from(err: E) -> Self {
        ApplyError::Fatal(err.into())
    }
}

fn apply(request: &UpdateRequest<'_>, state: &CacheState, fetched: FetchedUpdate) -> Result<UpdateOutcome, ApplyError> {
    let now = request.now;
    let manifest = &fetched.manifest;
    // The new list is built as the files stream in; a refusal drops it whole.
    let mut list = ListBuilder::new(request.config, now);
    let mut pending = Vec::with_capacity(manifest.files.len());
    let mut file_errors: Vec<String> = Vec::new();
    for file in &manifest.files {
        let ctx = ParseContext {
            source: file.name.clone(),
            version: manifest.version.clone(),
            list: file.list.clone(),
            now,
            error_log: None,
        };
        let mut entries = list.file_entries();
        let (result, copy) = parse_update_file(request.cache, &fetched.files, file, &ctx, &mut entries)?;
        file_errors.extend(result.errors.iter().filter(|e| e.scope == ErrorScope::File).map(ToString::to_string));
        list.add(&file.name, result, entries)?;
        pending.push(copy);
    }
    if !file_errors.is_empty() {
        return Err(ApplyError::Refused(format!("list {} refused: {}", manifest.version, file_errors.join("; "))));
    }
    let cached_files: Vec<CachedFile> = manifest
        .files
        .iter()
        .map(|file| CachedFile {
            name: file.name.clone(),
            cache_name: CachedFile::cache_name_for(&file.name, &file.sha256),
            format: file.format,
            list: file.list.clone(),
            sha256: file.sha256.to_ascii_lowercase(),
            version: manifest.version.clone(),
            added_at: now,
        })
        .collect();
    let new_state = CacheState {
        update: Some(CachedUpdate {
            version: manifest.version.clone(),
            created: manifest.created,
            fetched_at: now,
            source: fetched.source.clone(),
            files: cached_files.clone(),
        }),
        imports: state.imports.clone(),
    };
    let imports_only = CacheState { update: None, imports: state.imports.clone() };
    load_cached(&mut list, request.cache, &imports_only)?;
    add_manual_entries(&mut list, request.cache, request.config)?;
    let loaded = list.finish(&new_state);
    // The report covers the whole new list: the update's files, the imports and the manual
    // entries (the imports' errors were reported when they were imported, and again here).
    let update_report = loaded.report.clone();
    let outcome = format!(
        "ok: {} entries; accepted {}, rejected {}, duplicates merged {}, expired skipped {}",
        loaded.list.status.entries,
        update_report.accepted,
        update_report.rejected,
        update_report.duplicates_merged,
        update_report.expired_skipped
    );
    // Remembered before the cache switches to it: a crash in between leaves the cache on the
    // old list and the history a step ahead, which only refuses lists older than this one.
    request.history.record_accepted(&AcceptedList {
        version: manifest.version.clone(),
        created: manifest.created,
        accepted_by: request.actor.user.clone(),
        accepted_at: now,
    })?;
    request.audit.record(request.actor.event(AuditAction::HotlistUpdate, &manifest.version, &outcome))?;
    // The files first, the state that names them last: a crash in between leaves the old
    // state pointing at the old, complete files.
    for (file, copy) in cached_files.iter().zip(pending) {
        copy.commit(request.cache, &file.cache_name).map_err(LoadError::from)?;
    }
    new_state.save(request.cache).map_err(LoadError::from)?;
    let status = loaded.list.status.clone();
    request.lists.replace(loaded.list);
    Ok(UpdateOutcome { status, report: update_report, already_current: false })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::MemoryAudit;
    use crate::hotlist::{ActiveList, MatchConfig, ReadCandidate, ReadQuery};

    struct Fixture {
        _root: tempfile::TempDir,
        cache: HotlistCache,
        publish: PathBuf,
        key: PathBuf,
        config: HotlistConfig,
        lists: Hotlists,
        audit: MemoryAudit,
        history: MemoryHistory,
    }

    const SVS: &str = "SVS HEADER\n7ABC123 CA1920261120\nTOTAL RECORD 1\n";

    impl Fixture {
        fn new() -> Self {
            let root = tempfile::tempdir().unwrap();
            let data = root.path().join("data");
            let publish = root.path().join("publish");
            fs::create_dir_all(&publish).unwrap();
            let key = root.path().join("agency.key");
            let public = generate_key(&key).unwrap();
            let config = HotlistConfig {
                public_key: Some(public),
                sources: vec![publish.display().to_string()],
                ..HotlistConfig::default()
            };
            let lists = Hotlists::new(ActiveList::empty(MatchConfig::default(), Utc::now()));
            let cache = crate::hotlist::load::tests::test_cache(&data);
            let (audit, history) = (MemoryAudit::default(), MemoryHistory::default());
            Self { _root: root, cache, publish, key, config, lists, audit, history }
        }

        fn publish(&self, files: &[(&str, &str)], version: &str, created: DateTime<Utc>) {
            for (name, text) in files {
                fs::write(self.publish.join(name), text).unwrap();
            }
            sign_dir(&self.publish, &self.key, Some(version), created).unwrap();
        }

        fn update(&self) -> Result<UpdateOutcome, UpdateError> {
            let actor = Actor::new("officer7", "PD");
            run_update(&UpdateRequest {
                cache: &self.cache,
                config: &self.config,
                lists: &self.lists,
                audit: &self.audit,
                history: &self.history,
                actor: &actor,
                now: Utc::now(),
            })
        }

        fn matches(&self, plate: &str) -> bool {
            let candidates = [ReadCandidate { text: plate, confidence: 0.9 }];
            self.lists.match_read(&ReadQuery { candidates: &candidates, state: None, now: Utc::now() }).is_some()
        }

        fn version(&self) -> String {
            self.lists.current().status.version.clone()
        }
    }

    fn reason(result: Result<UpdateOutcome, UpdateError>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn good_update_then_failures_keep_the_last_good_list() {
        let f = Fixture::new();
        let t0 = Utc::now() - chrono::Duration::hours(2);
        f.publish(&[("svs.tbl", SVS)], "v1", t0);
        let outcome = f.update().unwrap();
        assert_eq!(outcome.status.version, "v1");
        assert_eq!(outcome.report.accepted, 1);
        assert!(f.matches("7ABC123"));
        assert!(f.update().unwrap().already_current);

        // A tampered file: the hash no longer matches.
        let t1 = t0 + chrono::Duration::hours(1);
        f.publish(&[("svs.tbl", "SVS HEADER\n8NEW888 CA1920261120\nTOTAL RECORD 1\n")], "v2", t1);
        fs::write(f.publish.join("svs.tbl"), "SVS HEADER\n8EVL888 CA1920261120\nTOTAL RECORD 1\n").unwrap();
        assert!(reason(f.update()).contains("SHA-256 does not match"));
        // A truncated download.
        fs::write(f.publish.join("svs.tbl"), "SVS HEADER\n8NEW888 CA19").unwrap();
        assert!(reason(f.update()).contains("truncated"));
        // A bad signature.
        f.publish(&[("svs.tbl", "SVS HEADER\n8NEW888 CA1920261120\nTOTAL RECORD 1\n")], "v2", t1);
        fs::write(f.publish.join(SIGNATURE_NAME), BASE64.encode([7u8; 64])).unwrap();
        assert!(reason(f.update()).contains("signature does not verify"));
        // A manifest edited after signing.
        f.publish(&[("svs.tbl", "SVS HEADER\n8NEW888 CA1920261120\nTOTAL RECORD 1\n")], "v2", t1);
        let edited = fs::read_to_string(f.publish.join(MANIFEST_NAME)).unwrap().replace("\"v2\"", "\"v3\"");
        fs::write(f.publish.join(MANIFEST_NAME), edited).unwrap();
        assert!(reason(f.update()).contains("signature does not verify"));
        // No signature at all.
        fs::remove_file(f.publish.join(SIGNATURE_NAME)).unwrap();
        assert!(reason(f.update()).contains("unsigned list"));
        // A well-signed list whose footer count is wrong.
        f.publish(&[("svs.tbl", "SVS HEADER\n8NEW888 CA1920261120\nTOTAL RECORD 9\n")], "v2", t1);
        assert!(reason(f.update()).contains("footer says 9 records"));
        // An older, validly signed list (a replay).
        f.publish(&[("svs.tbl", SVS)], "v0", t0 - chrono::Duration::hours(1));
        assert!(reason(f.update()).contains("is older than list v1"));
        // A validly signed list dated far ahead (it would never go stale and would shut out
        // every real list dated before it).
        f.publish(&[("svs.tbl", SVS)], "v2099", Utc::now() + chrono::Duration::days(365 * 70));
        assert!(reason(f.update()).contains("ahead of this car's clock"));

        assert_eq!(f.version(), "v1");
        assert!(f.matches("7ABC123"));
        assert!(!f.matches("8NEW888"));

        // A good one goes through, and the cache holds it for the next start.
        f.publish(&[("svs.tbl", "SVS HEADER\n8NEW888 CA1920261120\nTOTAL RECORD 1\n")], "v2", t1);
        assert_eq!(f.update().unwrap().status.version, "v2");
        assert!(f.matches("8NEW888") && !f.matches("7ABC123"));
        let reloaded = crate::hotlist::load::load_active(&f.cache, &f.config, Utc::now()).unwrap();
        assert_eq!(reloaded.list.status.version, "v2");
        assert_eq!(reloaded.list.status.created, Some(t1));

        let outcomes: Vec<String> = f.audit.events().iter().map(|e| e.outcome.clone()).collect();
        assert_eq!(outcomes.iter().filter(|o| o.starts_with("refused")).count(), 8, "{outcomes:?}");
        assert!(outcomes.iter().all(|o| o.starts_with("ok") || o.starts_with("refused")));
        assert!(f.audit.events().iter().all(|e| e.action == AuditAction::HotlistUpdate && e.user == "officer7"));
    }

    #[test]
    fn an_older_list_stays_out_after_the_cache_state_is_deleted() {
        let f = Fixture::new();
        let t1 = Utc::now() - chrono::Duration::hours(1);
        f.publish(&[("svs.tbl", SVS)], "v1", t1);
        assert_eq!(f.update().unwrap().status.version, "v1");
        // Someone deletes the cache's state, then offers an older, validly signed list.
        fs::remove_file(f.cache.dir().join(crate::hotlist::cache::STATE_NAME)).unwrap();
        f.publish(
            &[("svs.tbl", "SVS HEADER\n8OLD888 CA1920261120\nTOTAL RECORD 1\n")],
            "v0",
            t1 - chrono::Duration::hours(5),
        );
        let refused = reason(f.update());
        assert!(refused.contains("older than list v1") && refused.contains("by officer7"), "{refused}");
        // The same list as the newest accepted one may come back (the cache lost it).
        f.publish(&[("svs.tbl", SVS)], "v1", t1);
        assert_eq!(f.update().unwrap().status.version, "v1");
        assert!(f.matches("7ABC123"));
    }

    #[test]
    fn a_tampered_cache_refuses_the_update_and_keeps_the_list() {
        let f = Fixture::new();
        let t0 = Utc::now() - chrono::Duration::hours(2);
        f.publish(&[("svs.tbl", SVS)], "v1", t0);
        assert_eq!(f.update().unwrap().status.version, "v1");
        // The cached list file is sealed: no plate in the clear.
        let files: Vec<PathBuf> =
            fs::read_dir(f.cache.dir().join("files")).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(files.len(), 1);
        let sealed = fs::read(&files[0]).unwrap();
        assert!(!sealed.windows(7).any(|w| w == b"7ABC123"));
        // Someone edits the cache state on disk: the next update is refused, the list stays.
        let state = f.cache.dir().join(crate::hotlist::cache::STATE_NAME);
        let mut altered = fs::read(&state).unwrap();
        altered[40] ^= 0x08;
        fs::write(&state, altered).unwrap();
        f.publish(
            &[("svs.tbl", "SVS HEADER\n8NEW888 CA1920261120\nTOTAL RECORD 1\n")],
            "v2",
            t0 + chrono::Duration::hours(1),
        );
        assert!(reason(f.update()).contains("cannot be decrypted"));
        assert_eq!(f.version(), "v1");
        assert!(f.matches("7ABC123") && !f.matches("8NEW888"));
    }

    #[test]
    fn refused_without_key_or_with_a_foreign_key() {
        let mut f = Fixture::new();
        f.publish(&[("svs.tbl", SVS)], "v1", Utc::now());
        f.config.public_key = None;
        assert!(matches!(f.update(), Err(UpdateError::NoPublicKey)));
        f.config.public_key = Some("not a key".into());
        assert!(matches!(f.update(), Err(UpdateError::BadPublicKey)));
        let other = f._root.path().join("other.key");
        f.config.public_key = Some(generate_key(&other).unwrap());
        assert!(reason(f.update()).contains("signature does not verify"));
        f.config.sources = vec!["https://lists.example.invalid/pd".into(), "http://x".into()];
        let message = reason(f.update());
        assert!(message.contains("https sources are not supported") && message.contains("plain http"), "{message}");
        assert_eq!(f.version(), "none");
        assert_eq!(f.audit.events().len(), 4);
    }

    #[test]
    fn keys_and_manifest_paths() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("k");
        let public = generate_key(&key).unwrap();
        assert!(parse_public_key(&public).is_ok());
        assert_eq!(fs::read_to_string(dir.path().join("k.pub")).unwrap().trim(), public);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert!(matches!(generate_key(&key), Err(UpdateError::Io { .. })), "never overwrites a key");
        fs::write(dir.path().join("notes.txt"), "x").unwrap();
        assert!(matches!(sign_dir(dir.path(), &key, None, Utc::now()), Err(UpdateError::UnknownFormat(_))));
        fs::write(dir.path().join("bad.key"), "xyz").unwrap();
        assert!(matches!(
            sign_dir(dir.path(), &dir.path().join("bad.key"), None, Utc::now()),
            Err(UpdateError::BadPrivateKey(_))
        ));

        // A signed manifest naming a file outside its folder is refused.
        let signing = read_private_key(&key).unwrap();
        let manifest = br#"{"version":"v","created":"2026-11-28T00:00:00Z","files":[{"name":"../x.csv","format":"csv","size":1,"sha256":"00"}]}"#;
        let signature = BASE64.encode(signing.sign(manifest).to_bytes());
        let err = verify_manifest(manifest, signature.as_bytes(), &signing.verifying_key()).unwrap_err();
        assert!(err.contains("outside its folder"), "{err}");
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
