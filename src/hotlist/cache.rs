//! The hot-list cache under `<data-dir>/hotlist/`: the last good list's files, the imports,
//! the manual (BOLO) entries and the state that ties them together.
//!
//! Every byte of the cache is read by [`HotlistCache::load`] or [`HotlistCache::open`] and
//! written by [`HotlistCache::save`] or [`HotlistCache::create_sealed`], and by nothing else.
//! All seal the files with AES-256-GCM under the store's blob key ([`StoreKeys::encrypt_blob`]);
//! list files are sealed in 64 KiB chunks (the STREAM construction: a counter and a last-chunk
//! flag in each nonce), so a list of millions of lines is sealed and opened as it streams
//! through, never held whole. So a stolen or lost in-car computer does not give away the
//! agency's hot lists or its manual entries (CJIS 5.10.1.2, policy P11), and a file altered on
//! disk fails to open instead of loading: the authentication tags cover every byte. Writes are atomic: a temporary file in the same folder, flushed to disk, then renamed
//! over the old one, so a crash or a full disk never leaves a half-written file.

use std::fs;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, Nonce};
use rand::RngCore;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::parse::Format;
use crate::store::StoreKeys;

/// The cache's folder inside the data dir.
pub fn cache_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("hotlist")
}

/// A cache read or write that failed.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// File system trouble.
    #[error("hot-list cache {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The state file is not what this version writes.
    #[error("hot-list cache state {path} is corrupt: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A name that would leave the cache folder.
    #[error("invalid cache file name {0:?}")]
    BadName(String),
    /// A file that does not open with the store's key: altered on disk, written under another
    /// key, or left unencrypted by an older version. It is never loaded.
    #[error(
        "hot-list cache {path} cannot be decrypted (altered, another key, or written unencrypted by an \
         older version): refused"
    )]
    Sealed {
        /// The file.
        path: PathBuf,
    },
    /// A file could not be encrypted.
    #[error("hot-list cache {path}: cannot encrypt: {reason}")]
    Encrypt {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

fn check_name(name: &str) -> Result<(), CacheError> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
        && !name.contains('\\');
    if ok { Ok(()) } else { Err(CacheError::BadName(name.to_owned())) }
}

/// The hot-list cache folder of a data dir, and the key its files are sealed with.
#[derive(Debug, Clone)]
pub struct HotlistCache {
    dir: PathBuf,
    keys: StoreKeys,
}

impl HotlistCache {
    /// The cache under `data_dir` (in [`cache_dir`]), sealed with `keys`.
    pub fn new(data_dir: &Path, keys: StoreKeys) -> Self {
        Self { dir: cache_dir(data_dir), keys }
    }

    /// Sealed files in another folder of the data dir, under the same key: the office's
    /// hot-list publication as a joined car keeps it (`fleet::publish`), so no plate of it
    /// is on the disk in the clear either.
    pub fn at(dir: &Path, keys: StoreKeys) -> Self {
        Self { dir: dir.to_path_buf(), keys }
    }

    /// [`HotlistCache::at`] `dir` under this cache's key.
    pub fn sealed_at(&self, dir: &Path) -> Self {
        Self::at(dir, self.keys.clone())
    }

    /// The cache's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Reads and opens one cache file (`name` may hold `/` for a subfolder); `None` when
    /// absent. A file that does not decrypt is [`CacheError::Sealed`].
    pub fn load(&self, name: &str) -> Result<Option<Vec<u8>>, CacheError> {
        check_name(name)?;
        let path = self.dir.join(name);
        let sealed = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(CacheError::Io { path, source }),
        };
        self.keys.decrypt_blob(&sealed).map(Some).map_err(|_| CacheError::Sealed { path })
    }

    /// Seals and writes one cache file atomically (temporary file, flush, rename).
    pub fn save(&self, name: &str, bytes: &[u8]) -> Result<(), CacheError> {
        check_name(name)?;
        let path = self.dir.join(name);
        let sealed = self
            .keys
            .encrypt_blob(bytes)
            .map_err(|err| CacheError::Encrypt { path: path.clone(), reason: err.to_string() })?;
        write_atomic(&self.dir, &path, &sealed)
    }

    /// Removes one cache file; absent is fine.
    pub fn remove(&self, name: &str) -> Result<(), CacheError> {
        check_name(name)?;
        let path = self.dir.join(name);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(CacheError::Io { path, source }),
        }
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder, flushed, then renamed.
fn write_atomic(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), CacheError> {
    let folder = path.parent().unwrap_or(dir).to_path_buf();
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CacheError::Io { path, source }
    };
    fs::create_dir_all(&folder).map_err(io(&folder))?;
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("cache");
    let temp = folder.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let mut file = fs::File::create(&temp).map_err(io(&temp))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(io(&temp))?;
    drop(file);
    fs::rename(&temp, path).map_err(|source| {
        let _ = fs::remove_file(&temp);
        CacheError::Io { path: path.to_path_buf(), source }
    })
}

/// Marks a list file sealed chunk by chunk by [`SealedWriter`]. A file without it is one
/// sealed blob ([`HotlistCache::save`]), as the state, the manual entries and the list files
/// of older versions are.
const STREAM_MAGIC: &[u8; 8] = b"PAHLCS01";
/// Plain bytes per sealed chunk: a hot list of any size is sealed and opened holding one.
const STREAM_CHUNK: usize = 64 * 1024;
/// The AES-GCM tag that ends every sealed chunk.
const TAG_LEN: usize = 16;
/// The random part of the chunks' nonces, stored after the magic.
const PREFIX_LEN: usize = 7;

/// The nonce of chunk `counter`: the file's random prefix, the counter, and a flag that
/// marks the last chunk (the STREAM construction), so chunks cannot be reordered, dropped or
/// cut off at the end without the tag check failing.
fn chunk_nonce(prefix: &[u8; PREFIX_LEN], counter: u32, last: bool) -> Nonce<Aes256Gcm> {
    let mut nonce = [0u8; 12];
    nonce[..PREFIX_LEN].copy_from_slice(prefix);
    nonce[PREFIX_LEN..11].copy_from_slice(&counter.to_be_bytes());
    nonce[11] = u8::from(last);
    Nonce::<Aes256Gcm>::from(nonce)
}

/// Names temporary files uniquely within the process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl HotlistCache {
    /// Starts writing a list file into the cache, sealed chunk by chunk as it is written (so a
    /// large list never sits in memory whole). Nothing is in place until
    /// [`SealedWriter::finish`] and [`PendingFile::commit`]; dropped before, the temporary
    /// file is removed.
    pub fn create_sealed(&self) -> Result<SealedWriter, CacheError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| CacheError::Io { path, source }
        };
        fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        // Temporary files of imports or updates that were killed: removed, or they pile up.
        crate::store::orphans::remove_orphaned(&self.dir, ".incoming-");
        let serial = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = self.dir.join(format!(".incoming-{}-{serial}.tmp", std::process::id()));
        let cipher = self
            .keys
            .blob_cipher()
            .map_err(|err| CacheError::Encrypt { path: temp.clone(), reason: err.to_string() })?;
        let mut prefix = [0u8; PREFIX_LEN];
        rand::rng().fill_bytes(&mut prefix);
        let mut file = fs::File::create(&temp).map_err(io(&temp))?;
        let header = [&STREAM_MAGIC[..], &prefix].concat();
        if let Err(source) = file.write_all(&header) {
            let _ = fs::remove_file(&temp);
            return Err(CacheError::Io { path: temp, source });
        }
        Ok(SealedWriter { cipher, prefix, counter: 0, plain: Vec::with_capacity(STREAM_CHUNK), file, temp: Some(temp) })
    }

    /// Opens a cache file for reading as it is decrypted; `None` when absent. A file sealed
    /// chunk by chunk is opened one chunk at a time; a whole sealed blob (written by
    /// [`HotlistCache::save`], or by an older version) is opened whole. A file whose first
    /// chunk does not decrypt is [`CacheError::Sealed`]; a later chunk that does not is a read
    /// error, whose message is that of [`CacheError::Sealed`].
    pub fn open(&self, name: &str) -> Result<Option<CacheReader>, CacheError> {
        check_name(name)?;
        let path = self.dir.join(name);
        let mut file = match fs::File::open(&path) {
            Ok(file) => std::io::BufReader::with_capacity(STREAM_CHUNK + TAG_LEN, file),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(CacheError::Io { path, source }),
        };
        let mut header = [0u8; STREAM_MAGIC.len() + PREFIX_LEN];
        let streamed = match file.read_exact(&mut header) {
            Ok(()) => header.starts_with(STREAM_MAGIC),
            Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => false,
            Err(source) => return Err(CacheError::Io { path, source }),
        };
        if !streamed {
            return Ok(self.load(name)?.map(|bytes| CacheReader::Whole(std::io::Cursor::new(bytes))));
        }
        let cipher = self.keys.blob_cipher().map_err(|_| CacheError::Sealed { path: path.clone() })?;
        let mut prefix = [0u8; PREFIX_LEN];
        prefix.copy_from_slice(&header[STREAM_MAGIC.len()..]);
        let mut reader =
            SealedReader { source: file, cipher, prefix, counter: 0, plain: Vec::new(), pos: 0, done: false, path };
        // The first chunk now: a wrong key or a file altered at its start is refused here.
        if reader.next_chunk().is_err() {
            return Err(CacheError::Sealed { path: reader.path });
        }
        Ok(Some(CacheReader::Chunked(Box::new(reader))))
    }
}

/// A list file being sealed into the cache (see [`HotlistCache::create_sealed`]).
pub struct SealedWriter {
    cipher: Aes256Gcm,
    prefix: [u8; PREFIX_LEN],
    counter: u32,
    plain: Vec<u8>,
    file: fs::File,
    /// The temporary file; taken when finished.
    temp: Option<PathBuf>,
}

impl std::fmt::Debug for SealedWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedWriter").field("temp", &self.temp).field("chunks", &self.counter).finish_non_exhaustive()
    }
}

impl SealedWriter {
    fn seal_chunk(&mut self, last: bool) -> std::io::Result<()> {
        let nonce = chunk_nonce(&self.prefix, self.counter, last);
        let sealed = self
            .cipher
            .encrypt(&nonce, self.plain.as_slice())
            .map_err(|err| std::io::Error::other(format!("cannot encrypt: {err}")))?;
        self.file.write_all(&sealed)?;
        self.plain.clear();
        self.counter = self
            .counter
            .checked_add(1)
            .ok_or_else(|| std::io::Error::other("file too large for the hot-list cache"))?;
        Ok(())
    }

    /// Seals the last chunk and flushes the file to disk: the file is complete, waiting to be
    /// put in place.
    pub fn finish(mut self) -> Result<PendingFile, CacheError> {
        let path = self.temp.clone().unwrap_or_default();
        self.seal_chunk(true).and_then(|()| self.file.sync_all()).map_err(|source| CacheError::Io { path, source })?;
        Ok(PendingFile { temp: self.temp.take() })
    }
}

impl Write for SealedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let take = (STREAM_CHUNK - self.plain.len()).min(buf.len());
        self.plain.extend_from_slice(&buf[..take]);
        if self.plain.len() == STREAM_CHUNK {
            self.seal_chunk(false)?;
        }
        Ok(take)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for SealedWriter {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = fs::remove_file(temp);
        }
    }
}

/// A sealed list file complete on disk under a temporary name.
#[derive(Debug)]
pub struct PendingFile {
    temp: Option<PathBuf>,
}

impl PendingFile {
    /// Puts the file in place as `name`, replacing any file of that name atomically.
    pub fn commit(mut self, cache: &HotlistCache, name: &str) -> Result<(), CacheError> {
        check_name(name)?;
        let path = cache.dir.join(name);
        let folder = path.parent().unwrap_or(&cache.dir).to_path_buf();
        fs::create_dir_all(&folder).map_err(|source| CacheError::Io { path: folder, source })?;
        let temp = self.temp.take().unwrap_or_default();
        fs::rename(&temp, &path).map_err(|source| {
            let _ = fs::remove_file(&temp);
            CacheError::Io { path, source }
        })
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = fs::remove_file(temp);
        }
    }
}

/// A list file sealed chunk by chunk, opened one chunk at a time.
pub struct SealedReader {
    source: std::io::BufReader<fs::File>,
    cipher: Aes256Gcm,
    prefix: [u8; PREFIX_LEN],
    counter: u32,
    plain: Vec<u8>,
    pos: usize,
    done: bool,
    path: PathBuf,
}

impl SealedReader {
    /// Reads and opens the next chunk into `plain`.
    fn next_chunk(&mut self) -> std::io::Result<()> {
        let mut sealed = Vec::with_capacity(STREAM_CHUNK + TAG_LEN);
        (&mut self.source).take((STREAM_CHUNK + TAG_LEN) as u64).read_to_end(&mut sealed)?;
        // A short chunk is the last; a full one is the last when nothing follows it.
        let last = sealed.len() < STREAM_CHUNK + TAG_LEN || self.source.fill_buf()?.is_empty();
        let refused = || {
            let message = CacheError::Sealed { path: self.path.clone() }.to_string();
            std::io::Error::new(std::io::ErrorKind::InvalidData, message)
        };
        let nonce = chunk_nonce(&self.prefix, self.counter, last);
        self.plain = self.cipher.decrypt(&nonce, sealed.as_slice()).map_err(|_| refused())?;
        self.pos = 0;
        self.done = last;
        self.counter = self.counter.checked_add(1).ok_or_else(refused)?;
        Ok(())
    }
}

/// A cache file open for reading (see [`HotlistCache::open`]).
pub enum CacheReader {
    /// Sealed chunk by chunk: decrypted as it is read.
    Chunked(Box<SealedReader>),
    /// One sealed blob, decrypted whole.
    Whole(std::io::Cursor<Vec<u8>>),
}

impl std::fmt::Debug for CacheReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CacheReader::Chunked(reader) => write!(f, "CacheReader::Chunked({})", reader.path.display()),
            CacheReader::Whole(_) => f.write_str("CacheReader::Whole"),
        }
    }
}

impl Read for CacheReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for CacheReader {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        match self {
            CacheReader::Whole(cursor) => cursor.fill_buf(),
            CacheReader::Chunked(reader) => {
                // An empty chunk (a file ending on a chunk boundary) is skipped.
                while reader.pos == reader.plain.len() && !reader.done {
                    reader.next_chunk()?;
                }
                Ok(&reader.plain[reader.pos..])
            }
        }
    }

    fn consume(&mut self, amount: usize) {
        match self {
            CacheReader::Whole(cursor) => cursor.consume(amount),
            CacheReader::Chunked(reader) => reader.pos = (reader.pos + amount).min(reader.plain.len()),
        }
    }
}

/// Reads through to `inner`, hashing (SHA-256) and counting every byte, and copying it into
/// a [`SealedWriter`] when given one: one pass over a list file parses it, checks it and
/// caches it.
#[derive(Debug)]
pub struct HashingReader<R> {
    inner: R,
    hasher: sha2::Sha256,
    bytes: u64,
    copy: Option<SealedWriter>,
    copy_error: Option<String>,
}

impl<R: Read> HashingReader<R> {
    /// Hashes what is read from `inner`.
    pub fn new(inner: R) -> Self {
        Self { inner, hasher: sha2::Sha256::default(), bytes: 0, copy: None, copy_error: None }
    }

    /// Hashes what is read from `inner` and seals a copy of it into `copy`.
    pub fn with_copy(inner: R, copy: SealedWriter) -> Self {
        Self { copy: Some(copy), ..Self::new(inner) }
    }

    /// Why the copy could not be written, when it could not: the reading then failed too.
    pub fn copy_error(&self) -> Option<&str> {
        self.copy_error.as_deref()
    }

    /// The bytes read, their SHA-256 (lower-case hex), and the copy.
    pub fn finish(self) -> (u64, String, Option<SealedWriter>) {
        use sha2::Digest;
        (self.bytes, crate::store::key::hex(&self.hasher.finalize()), self.copy)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        if let Some(copy) = &mut self.copy
            && let Err(err) = copy.write_all(&buf[..n])
        {
            self.copy_error = Some(err.to_string());
            return Err(err);
        }
        Ok(n)
    }
}

/// The state file's name.
pub const STATE_NAME: &str = "state.json";

/// One list file kept in the cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedFile {
    /// The name it had at its source.
    pub name: String,
    /// Where it lies in the cache (`files/<sha256 prefix>-<name>`).
    pub cache_name: String,
    /// Its format.
    pub format: Format,
    /// The list name the manifest gave it, if any.
    pub list: Option<String>,
    /// SHA-256 of its bytes (hex), checked again at every load.
    pub sha256: String,
    /// The list version its entries carry.
    pub version: String,
    /// When it entered the cache.
    pub added_at: DateTime<Utc>,
}

impl CachedFile {
    /// The cache name for a file with these contents: content-addressed, so a new update
    /// never overwrites a file the current state still points at.
    pub fn cache_name_for(name: &str, sha256: &str) -> String {
        let base = Path::new(name).file_name().and_then(|n| n.to_str()).unwrap_or("list");
        format!("files/{}-{base}", &sha256[..sha256.len().min(16)])
    }
}

/// The last verified shift-start update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedUpdate {
    /// The manifest's version.
    pub version: String,
    /// The manifest's creation time (the list's age counts from it).
    pub created: DateTime<Utc>,
    /// When the console fetched it.
    pub fetched_at: DateTime<Utc>,
    /// The source it came from.
    pub source: String,
    /// Its files.
    pub files: Vec<CachedFile>,
}

/// What the cache holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheState {
    /// The last good update, if any arrived.
    pub update: Option<CachedUpdate>,
    /// Files added with `hotlist import`, in order.
    pub imports: Vec<CachedFile>,
}

impl CacheState {
    /// Reads the state; an absent file is an empty cache.
    pub fn load(cache: &HotlistCache) -> Result<Self, CacheError> {
        let Some(bytes) = cache.load(STATE_NAME)? else { return Ok(Self::default()) };
        serde_json::from_slice(&bytes)
            .map_err(|err| CacheError::Corrupt { path: cache.dir().join(STATE_NAME), reason: err.to_string() })
    }

    /// Writes the state, then removes cached files it no longer names.
    pub fn save(&self, cache: &HotlistCache) -> Result<(), CacheError> {
        let bytes = serde_json::to_vec_pretty(self)
            .map_err(|err| CacheError::Corrupt { path: cache.dir().join(STATE_NAME), reason: err.to_string() })?;
        cache.save(STATE_NAME, &bytes)?;
        self.remove_orphans(cache);
        Ok(())
    }

    /// Every cached file the state names.
    pub fn files(&self) -> impl Iterator<Item = &CachedFile> {
        self.update.iter().flat_map(|u| u.files.iter()).chain(self.imports.iter())
    }

    fn remove_orphans(&self, cache: &HotlistCache) {
        let Ok(listing) = fs::read_dir(cache.dir().join("files")) else { return };
        for item in listing.flatten() {
            let name = format!("files/{}", item.file_name().to_string_lossy());
            if !self.files().any(|f| f.cache_name == name) {
                // A leftover costs only disk space; failing to remove it is not worth an error.
                if let Err(err) = cache.remove(&name) {
                    tracing::warn!("cannot remove stale hot-list file: {err}");
                }
            }
        }
    }
}

/// What [`HotlistCache::reseal`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResealReport {
    /// Files now sealed under the new key.
    pub resealed: usize,
    /// Files already under the new key (a resumed rotation).
    pub already: usize,
    /// Files that open under neither key, left as they are: damaged before the rotation, or
    /// sealed under a key other than the one given as current (the caller decides whether
    /// to finish).
    pub unreadable: Vec<PathBuf>,
}

impl HotlistCache {
    /// Reseals every cache file under `next`'s key, each written atomically, keeping its form
    /// (whole or chunked). Part of a database key rotation: a file that opens under this
    /// cache's key but cannot be rewritten stops the rotation, so no file is left under a key
    /// that is about to stop opening it.
    pub fn reseal(&self, next: &HotlistCache) -> Result<ResealReport, CacheError> {
        let mut report = ResealReport::default();
        for name in self.file_names()? {
            let reader = match self.open(&name) {
                Ok(Some(reader)) => reader,
                Ok(None) => continue,
                Err(CacheError::Sealed { path }) => {
                    match next.open(&name) {
                        Ok(Some(_)) => report.already += 1,
                        _ => report.unreadable.push(path),
                    }
                    continue;
                }
                Err(err) => return Err(err),
            };
            match reader {
                CacheReader::Whole(bytes) => next.save(&name, &bytes.into_inner())?,
                chunked @ CacheReader::Chunked(_) => {
                    let path = self.dir.join(&name);
                    let mut writer = next.create_sealed()?;
                    let mut source = chunked;
                    std::io::copy(&mut source, &mut writer).map_err(|source| CacheError::Io { path, source })?;
                    writer.finish()?.commit(next, &name)?;
                }
            }
            report.resealed += 1;
        }
        Ok(report)
    }

    /// The names (relative, `/`-separated) of every cache file, temporary files left out.
    fn file_names(&self) -> Result<Vec<String>, CacheError> {
        let mut names = Vec::new();
        let mut folders = vec![(self.dir.clone(), String::new())];
        while let Some((folder, prefix)) = folders.pop() {
            let entries = match fs::read_dir(&folder) {
                Ok(entries) => entries,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(CacheError::Io { path: folder, source }),
            };
            for entry in entries {
                let entry = entry.map_err(|source| CacheError::Io { path: folder.clone(), source })?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') {
                    continue;
                }
                let kind = entry.file_type().map_err(|source| CacheError::Io { path: entry.path(), source })?;
                if kind.is_dir() {
                    folders.push((entry.path(), format!("{prefix}{name}/")));
                } else if kind.is_file() {
                    names.push(format!("{prefix}{name}"));
                }
            }
        }
        names.sort();
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::KeySource;

    fn cache_in(data_dir: &Path) -> HotlistCache {
        let keys = StoreKeys::derive("hot-list cache test", data_dir, KeySource::Environment).unwrap();
        HotlistCache::new(data_dir, keys)
    }

    #[test]
    fn save_then_load_and_names() {
        let data = tempfile::tempdir().unwrap();
        let cache = cache_in(data.path());
        assert_eq!(cache.load("a.json").unwrap(), None);
        cache.save("a.json", b"one").unwrap();
        cache.save("a.json", b"two").unwrap();
        assert_eq!(cache.load("a.json").unwrap(), Some(b"two".to_vec()));
        cache.save("files/x.tbl", b"x").unwrap();
        assert_eq!(cache.load("files/x.tbl").unwrap(), Some(b"x".to_vec()));
        for bad in ["", "../x", "files/../../x", ".hidden", "a//b"] {
            assert!(matches!(cache.save(bad, b""), Err(CacheError::BadName(_))), "{bad}");
        }
        // No temporary file is left behind.
        let names: Vec<String> =
            fs::read_dir(cache.dir()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
        cache.remove("a.json").unwrap();
        cache.remove("a.json").unwrap();
        assert_eq!(cache.load("a.json").unwrap(), None);
    }

    #[test]
    fn files_are_sealed_and_tampering_is_refused() {
        let data = tempfile::tempdir().unwrap();
        let cache = cache_in(data.path());
        let list = b"plate,state,reason\n7DMO123,CA,DEMO stolen\n4XYZ555,NV,DEMO felony\n";
        cache.save("files/0011-list.csv", list).unwrap();
        let path = cache.dir().join("files/0011-list.csv");
        let on_disk = fs::read(&path).unwrap();
        for plain in [&b"7DMO123"[..], b"4XYZ555", b"DEMO", b"plate,state"] {
            assert!(
                !on_disk.windows(plain.len()).any(|w| w == plain),
                "{} readable on disk",
                String::from_utf8_lossy(plain)
            );
        }
        assert_eq!(cache.load("files/0011-list.csv").unwrap().as_deref(), Some(&list[..]));
        // One flipped bit anywhere, a truncation, or a clear-text file: refused, never loaded.
        for at in [0, 12, on_disk.len() / 2, on_disk.len() - 1] {
            let mut bad = on_disk.clone();
            bad[at] ^= 0x01;
            fs::write(&path, &bad).unwrap();
            assert!(matches!(cache.load("files/0011-list.csv"), Err(CacheError::Sealed { .. })), "bit at {at}");
        }
        fs::write(&path, &on_disk[..on_disk.len() - 4]).unwrap();
        assert!(matches!(cache.load("files/0011-list.csv"), Err(CacheError::Sealed { .. })));
        fs::write(&path, list).unwrap();
        let err = cache.load("files/0011-list.csv").unwrap_err();
        assert!(err.to_string().contains("cannot be decrypted"), "{err}");
        // Another key does not open it either.
        cache.save("files/0011-list.csv", list).unwrap();
        let other = tempfile::tempdir().unwrap();
        let foreign = StoreKeys::derive("another console", other.path(), KeySource::Environment).unwrap();
        let stolen = HotlistCache { dir: cache.dir().to_path_buf(), keys: foreign };
        assert!(matches!(stolen.load("files/0011-list.csv"), Err(CacheError::Sealed { .. })));
    }

    fn sealed_in_chunks(cache: &HotlistCache, name: &str, plain: &[u8]) -> Vec<u8> {
        let mut writer = cache.create_sealed().unwrap();
        // Written in uneven pieces, as a reader hands them over.
        for piece in plain.chunks(10_007) {
            writer.write_all(piece).unwrap();
        }
        writer.finish().unwrap().commit(cache, name).unwrap();
        fs::read(cache.dir().join(name)).unwrap()
    }

    fn read_all(cache: &HotlistCache, name: &str) -> std::io::Result<Vec<u8>> {
        let mut plain = Vec::new();
        cache.open(name).map_err(std::io::Error::other)?.expect("present").read_to_end(&mut plain)?;
        Ok(plain)
    }

    #[test]
    fn resealing_moves_every_file_to_the_new_key_in_its_form_and_resumes() {
        let data = tempfile::tempdir().unwrap();
        let cache = cache_in(data.path());
        let big: Vec<u8> = (0..2 * STREAM_CHUNK + 77).map(|i| (i % 251) as u8).collect();
        cache.save("state.json", b"{\"version\":1}").unwrap();
        cache.save("bolo.json", b"[]").unwrap();
        sealed_in_chunks(&cache, "files/0001-list.csv", &big);
        let other = tempfile::tempdir().unwrap();
        let next_keys = StoreKeys::derive("the next key", other.path(), KeySource::Environment).unwrap();
        let next = HotlistCache { dir: cache.dir().to_path_buf(), keys: next_keys };
        // A file no key opens stays as it is and is named.
        fs::write(cache.dir().join("files/0002-broken.csv"), b"not sealed at all").unwrap();

        let report = cache.reseal(&next).unwrap();
        assert_eq!((report.resealed, report.already), (3, 0));
        assert_eq!(report.unreadable, [cache.dir().join("files/0002-broken.csv")]);
        assert_eq!(next.load("state.json").unwrap().as_deref(), Some(&b"{\"version\":1}"[..]));
        assert_eq!(next.load("bolo.json").unwrap().as_deref(), Some(&b"[]"[..]));
        assert_eq!(read_all(&next, "files/0001-list.csv").unwrap(), big);
        assert!(fs::read(cache.dir().join("files/0001-list.csv")).unwrap().starts_with(STREAM_MAGIC));
        assert!(matches!(cache.load("state.json"), Err(CacheError::Sealed { .. })));
        // Run again (a resumed rotation): everything is already under the new key.
        let again = cache.reseal(&next).unwrap();
        assert_eq!((again.resealed, again.already, again.unreadable.len()), (0, 3, 1));
    }

    #[test]
    fn list_files_are_sealed_in_chunks_and_every_change_is_refused() {
        let data = tempfile::tempdir().unwrap();
        let cache = cache_in(data.path());
        assert!(cache.open("files/none").unwrap().is_none());
        // Empty, short, exactly one chunk, and several chunks with a partial last one.
        for size in [0, 5, STREAM_CHUNK, 3 * STREAM_CHUNK + 123] {
            let plain: Vec<u8> = (0..size).map(|i| b"DEMO7ABC123,CA\n"[i % 15]).collect();
            let on_disk = sealed_in_chunks(&cache, "files/x.csv", &plain);
            assert_eq!(read_all(&cache, "files/x.csv").unwrap(), plain, "{size} bytes");
            assert!(size < 8 || !on_disk.windows(8).any(|w| w == &plain[..8]), "clear text on disk");
            // No temporary file is left behind.
            assert!(
                fs::read_dir(cache.dir()).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().ends_with(".tmp"))
            );
            if size < 2 * STREAM_CHUNK {
                continue;
            }
            // A flipped bit at the start, in a middle chunk, at the end; a file cut at a chunk
            // boundary; a chunk left out; chunks swapped: every one refused.
            let header = STREAM_MAGIC.len() + PREFIX_LEN;
            let sealed_chunk = STREAM_CHUNK + TAG_LEN;
            let mut variants = Vec::new();
            for at in [header + 3, header + sealed_chunk + 100, on_disk.len() - 1] {
                let mut bad = on_disk.clone();
                bad[at] ^= 0x01;
                variants.push(bad);
            }
            variants.push(on_disk[..header + 2 * sealed_chunk].to_vec());
            let mut dropped = on_disk[..header + sealed_chunk].to_vec();
            dropped.extend_from_slice(&on_disk[header + 2 * sealed_chunk..]);
            variants.push(dropped);
            let mut swapped = on_disk[..header].to_vec();
            swapped.extend_from_slice(&on_disk[header + sealed_chunk..header + 2 * sealed_chunk]);
            swapped.extend_from_slice(&on_disk[header..header + sealed_chunk]);
            swapped.extend_from_slice(&on_disk[header + 2 * sealed_chunk..]);
            variants.push(swapped);
            for (i, bad) in variants.iter().enumerate() {
                fs::write(cache.dir().join("files/x.csv"), bad).unwrap();
                let err = read_all(&cache, "files/x.csv").unwrap_err();
                assert!(err.to_string().contains("cannot be decrypted"), "variant {i}: {err}");
            }
        }
        // A writer dropped before it is finished, or a finished file never committed, leaves
        // nothing behind.
        let mut writer = cache.create_sealed().unwrap();
        writer.write_all(b"half").unwrap();
        drop(writer);
        let mut writer = cache.create_sealed().unwrap();
        writer.write_all(b"whole").unwrap();
        drop(writer.finish().unwrap());
        assert!(
            fs::read_dir(cache.dir()).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().ends_with(".tmp"))
        );
        // Another key does not open a chunked file.
        sealed_in_chunks(&cache, "files/y.csv", b"plate\nABC123\n");
        let other = tempfile::tempdir().unwrap();
        let foreign = StoreKeys::derive("another console", other.path(), KeySource::Environment).unwrap();
        let stolen = HotlistCache { dir: cache.dir().to_path_buf(), keys: foreign };
        assert!(matches!(stolen.open("files/y.csv"), Err(CacheError::Sealed { .. })));
        // A whole sealed blob (an older version's list file) still opens.
        cache.save("files/z.csv", b"plate\nOLD123\n").unwrap();
        assert_eq!(read_all(&cache, "files/z.csv").unwrap(), b"plate\nOLD123\n");
    }

    #[test]
    fn hashing_reader_counts_hashes_and_copies() {
        let data = tempfile::tempdir().unwrap();
        let cache = cache_in(data.path());
        let plain = vec![b'x'; 100_000];
        let mut hashing = HashingReader::with_copy(&plain[..], cache.create_sealed().unwrap());
        std::io::copy(&mut hashing, &mut std::io::sink()).unwrap();
        let (bytes, sha256, copy) = hashing.finish();
        assert_eq!(bytes, 100_000);
        assert_eq!(sha256, crate::hotlist::update::sha256_hex(&plain));
        copy.unwrap().finish().unwrap().commit(&cache, "files/x").unwrap();
        assert_eq!(read_all(&cache, "files/x").unwrap(), plain);
    }

    #[test]
    fn state_round_trip_removes_orphans() {
        let data = tempfile::tempdir().unwrap();
        let cache = cache_in(data.path());
        assert_eq!(CacheState::load(&cache).unwrap(), CacheState::default());
        let kept = CachedFile {
            name: "svs.tbl".into(),
            cache_name: CachedFile::cache_name_for("svs.tbl", "abcdef0123456789abcdef"),
            format: Format::Clew,
            list: None,
            sha256: "abcdef0123456789abcdef".into(),
            version: "v1".into(),
            added_at: Utc::now(),
        };
        assert_eq!(kept.cache_name, "files/abcdef0123456789-svs.tbl");
        cache.save(&kept.cache_name, b"data").unwrap();
        cache.save("files/old-svs.tbl", b"old").unwrap();
        let state = CacheState { update: None, imports: vec![kept.clone()] };
        state.save(&cache).unwrap();
        assert_eq!(CacheState::load(&cache).unwrap(), state);
        assert!(cache.load(&kept.cache_name).unwrap().is_some());
        assert!(cache.load("files/old-svs.tbl").unwrap().is_none());
        cache.save(STATE_NAME, b"{not json").unwrap();
        assert!(matches!(CacheState::load(&cache), Err(CacheError::Corrupt { .. })));
    }
}
