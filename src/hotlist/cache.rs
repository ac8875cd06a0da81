//! The hot-list cache under `<data-dir>/hotlist/`: the last good list's files, the imports,
//! the manual (BOLO) entries and the state that ties them together.
//!
//! Every byte of the cache is read by [`HotlistCache::load`] and written by
//! [`HotlistCache::save`], and by nothing else. Both seal the files with AES-256-GCM under the
//! store's blob key ([`StoreKeys::encrypt_blob`]), so a stolen or lost in-car computer does not
//! give away the agency's hot lists or its manual entries (CJIS 5.10.1.2, policy P11), and a
//! file altered on disk fails to open instead of loading: the authentication tag covers every
//! byte. Writes are atomic: a temporary file in the same folder, flushed to disk, then renamed
//! over the old one, so a crash or a full disk never leaves a half-written file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

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
