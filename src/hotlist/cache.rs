//! The hot-list cache under `<data-dir>/hotlist/`: the last good list's files, the imports,
//! the manual (BOLO) entries and the state that ties them together.
//!
//! Every byte of the cache is read by [`load_cache`] and written by [`save_cache`], and by
//! nothing else, so that encryption at rest (CJIS 5.10.1.2, policy P11) can wrap exactly this
//! pair. Writes are atomic: a temporary file in the same folder, flushed to disk, then renamed
//! over the old one, so a crash or a full disk never leaves a half-written file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::parse::Format;

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
}

fn check_name(name: &str) -> Result<(), CacheError> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
        && !name.contains('\\');
    if ok { Ok(()) } else { Err(CacheError::BadName(name.to_owned())) }
}

/// Reads one cache file (`name` may hold one `/` for a subfolder); `None` when absent.
pub fn load_cache(dir: &Path, name: &str) -> Result<Option<Vec<u8>>, CacheError> {
    check_name(name)?;
    let path = dir.join(name);
    match fs::read(&path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CacheError::Io { path, source }),
    }
}

/// Writes one cache file atomically (temporary file, flush, rename).
pub fn save_cache(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), CacheError> {
    check_name(name)?;
    let path = dir.join(name);
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
    fs::rename(&temp, &path).map_err(|source| {
        let _ = fs::remove_file(&temp);
        CacheError::Io { path: path.clone(), source }
    })
}

/// Removes one cache file; absent is fine.
pub fn remove_cache(dir: &Path, name: &str) -> Result<(), CacheError> {
    check_name(name)?;
    let path = dir.join(name);
    match fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(CacheError::Io { path, source }),
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
    pub fn load(dir: &Path) -> Result<Self, CacheError> {
        let Some(bytes) = load_cache(dir, STATE_NAME)? else { return Ok(Self::default()) };
        serde_json::from_slice(&bytes)
            .map_err(|err| CacheError::Corrupt { path: dir.join(STATE_NAME), reason: err.to_string() })
    }

    /// Writes the state, then removes cached files it no longer names.
    pub fn save(&self, dir: &Path) -> Result<(), CacheError> {
        let bytes = serde_json::to_vec_pretty(self)
            .map_err(|err| CacheError::Corrupt { path: dir.join(STATE_NAME), reason: err.to_string() })?;
        save_cache(dir, STATE_NAME, &bytes)?;
        self.remove_orphans(dir);
        Ok(())
    }

    /// Every cached file the state names.
    pub fn files(&self) -> impl Iterator<Item = &CachedFile> {
        self.update.iter().flat_map(|u| u.files.iter()).chain(self.imports.iter())
    }

    fn remove_orphans(&self, dir: &Path) {
        let Ok(listing) = fs::read_dir(dir.join("files")) else { return };
        for item in listing.flatten() {
            let name = format!("files/{}", item.file_name().to_string_lossy());
            if !self.files().any(|f| f.cache_name == name) {
                // A leftover costs only disk space; failing to remove it is not worth an error.
                if let Err(err) = remove_cache(dir, &name) {
                    tracing::warn!("cannot remove stale hot-list file: {err}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_then_load_and_names() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load_cache(dir.path(), "a.json").unwrap(), None);
        save_cache(dir.path(), "a.json", b"one").unwrap();
        save_cache(dir.path(), "a.json", b"two").unwrap();
        assert_eq!(load_cache(dir.path(), "a.json").unwrap(), Some(b"two".to_vec()));
        save_cache(dir.path(), "files/x.tbl", b"x").unwrap();
        assert_eq!(load_cache(dir.path(), "files/x.tbl").unwrap(), Some(b"x".to_vec()));
        for bad in ["", "../x", "files/../../x", ".hidden", "a//b"] {
            assert!(matches!(save_cache(dir.path(), bad, b""), Err(CacheError::BadName(_))), "{bad}");
        }
        // No temporary file is left behind.
        let names: Vec<String> =
            fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    }

    #[test]
    fn state_round_trip_removes_orphans() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(CacheState::load(dir.path()).unwrap(), CacheState::default());
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
        save_cache(dir.path(), &kept.cache_name, b"data").unwrap();
        save_cache(dir.path(), "files/old-svs.tbl", b"old").unwrap();
        let state = CacheState { update: None, imports: vec![kept.clone()] };
        state.save(dir.path()).unwrap();
        assert_eq!(CacheState::load(dir.path()).unwrap(), state);
        assert!(load_cache(dir.path(), &kept.cache_name).unwrap().is_some());
        assert!(load_cache(dir.path(), "files/old-svs.tbl").unwrap().is_none());
        save_cache(dir.path(), STATE_NAME, b"{not json").unwrap();
        assert!(matches!(CacheState::load(dir.path()), Err(CacheError::Corrupt { .. })));
    }
}
