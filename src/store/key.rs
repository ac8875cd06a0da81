//! Encryption keys at rest: where the secret comes from, how the keys are derived, and the
//! AES-256-GCM helpers for files that live beside the database (the hot-list cache).
//!
//! The threat answered is a stolen or lost in-car computer (CJIS 5.10.1.2): whoever holds the
//! disk must not read reads, hot lists or the audit log. So the secret is never stored in the
//! clear beside the data: it comes from `PATROL_ALPR_DB_KEY` or from a key file that must sit
//! outside the data dir (TPM-unsealed, removable media). The demo key is the one exception
//! and is labelled as not secure everywhere it appears.

use std::io::Write;
use std::path::{Path, PathBuf};

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Nonce};
use rand::RngCore;

/// Environment variable holding the passphrase the keys are derived from.
pub const KEY_ENV: &str = "PATROL_ALPR_DB_KEY";
/// Environment variable holding the new passphrase during a key rotation (`store rekey`).
pub const NEW_KEY_ENV: &str = "PATROL_ALPR_NEW_DB_KEY";
/// Name of the (public) salt file in the data dir.
const SALT_FILE: &str = "store.salt";
/// The salt of the keys a rotation is moving to; its presence marks a rotation in progress.
const NEXT_SALT_FILE: &str = "store.salt.next";
/// Name of the demo passphrase file: NOT SECURE, demos and tests only.
pub const DEMO_KEY_FILE: &str = "DEMO-INSECURE-db-key.txt";
/// Bytes of the AES-GCM nonce that prefixes every encrypted blob.
const NONCE_LEN: usize = 12;

/// Errors while obtaining or using a key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// No secret was configured.
    #[error(
        "no database key: set {KEY_ENV} or [store] key_file (outside the data dir); \
         demo_key = true is for demonstrations only"
    )]
    Missing,
    /// A key rotation was asked for without the new passphrase.
    #[error("no new database key: set {NEW_KEY_ENV} or give --new-key-file (outside the data dir)")]
    MissingNew,
    /// The key file sits inside the data dir, i.e. beside the data it protects.
    #[error("key file {0} is inside the data dir: keep it on separate (removable or TPM-sealed) storage")]
    KeyFileInsideDataDir(PathBuf),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The passphrase is empty.
    #[error("the database passphrase is empty")]
    Empty,
    /// Key derivation failed.
    #[error("key derivation failed: {0}")]
    Derive(String),
    /// A blob could not be decrypted: wrong key, or it was altered.
    #[error("cannot decrypt: wrong key or the data was altered")]
    Decrypt,
    /// A blob could not be encrypted.
    #[error("cannot encrypt: {0}")]
    Encrypt(String),
}

/// Where the secret came from; shown to the operator so a demo key is never mistaken for a
/// real one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The `PATROL_ALPR_DB_KEY` environment variable.
    Environment,
    /// A key file outside the data dir.
    KeyFile(PathBuf),
    /// The generated demo key stored beside the data: NOT SECURE.
    DemoInsecure,
}

/// The keys derived from the secret: one for SQLCipher, one for blob files.
#[derive(Clone)]
pub struct StoreKeys {
    db: [u8; 32],
    blob: [u8; 32],
    /// Where the secret came from.
    pub source: KeySource,
}

impl std::fmt::Debug for StoreKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material, even in debug logs.
        f.debug_struct("StoreKeys").field("source", &self.source).finish_non_exhaustive()
    }
}

impl StoreKeys {
    /// Obtains the secret (environment, then key file, then the demo key if allowed) and
    /// derives the keys with the data dir's salt.
    pub fn obtain(data_dir: &Path, key_file: Option<&Path>, allow_demo: bool) -> Result<Self, KeyError> {
        let (secret, source) = match configured_secret(KEY_ENV, data_dir, key_file)? {
            Some(found) => found,
            None if allow_demo => (demo_secret(data_dir)?, KeySource::DemoInsecure),
            None => return Err(KeyError::Missing),
        };
        Self::derive(&secret, data_dir, source)
    }

    /// Derives the keys from a passphrase with argon2id and the data dir's salt (created on
    /// first use; the salt is not secret).
    pub fn derive(secret: &str, data_dir: &Path, source: KeySource) -> Result<Self, KeyError> {
        let salt = load_or_create_salt(data_dir, SALT_FILE)?;
        Self::derive_with_salt(secret, &salt, source)
    }

    /// The keys a rotation moves to: the new passphrase, from `PATROL_ALPR_NEW_DB_KEY` or
    /// `key_file` (outside the data dir, like the current one), with the next salt (created by
    /// the first attempt, reused by a resumed one, so both derive the same keys).
    pub fn obtain_next(data_dir: &Path, key_file: Option<&Path>) -> Result<Self, KeyError> {
        let (secret, source) = configured_secret(NEW_KEY_ENV, data_dir, key_file)?.ok_or(KeyError::MissingNew)?;
        // Checked before the next salt exists: a refused start must leave no rotation behind.
        if secret.is_empty() {
            return Err(KeyError::Empty);
        }
        let salt = load_or_create_salt(data_dir, NEXT_SALT_FILE)?;
        Self::derive_with_salt(&secret, &salt, source)
    }

    fn derive_with_salt(secret: &str, salt: &[u8], source: KeySource) -> Result<Self, KeyError> {
        if secret.is_empty() {
            return Err(KeyError::Empty);
        }
        let mut out = [0u8; 64];
        argon2::Argon2::default()
            .hash_password_into(secret.as_bytes(), salt, &mut out)
            .map_err(|err| KeyError::Derive(err.to_string()))?;
        let mut db = [0u8; 32];
        let mut blob = [0u8; 32];
        db.copy_from_slice(&out[..32]);
        blob.copy_from_slice(&out[32..]);
        Ok(Self { db, blob, source })
    }

    /// The SQLCipher raw-key literal (`x'..'`), which skips SQLCipher's own slow KDF because
    /// argon2id already stretched the passphrase.
    pub(crate) fn sqlcipher_literal(&self) -> String {
        format!("x'{}'", hex(&self.db))
    }

    /// Encrypts `plain` with AES-256-GCM under the blob key: a random 12-byte nonce followed
    /// by the ciphertext and tag. Use it for files stored beside the database (hot-list cache).
    pub fn encrypt_blob(&self, plain: &[u8]) -> Result<Vec<u8>, KeyError> {
        let cipher = Aes256Gcm::new_from_slice(&self.blob).map_err(|err| KeyError::Encrypt(err.to_string()))?;
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(&Nonce::<Aes256Gcm>::from(nonce), plain)
            .map_err(|err| KeyError::Encrypt(err.to_string()))?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The blob cipher itself, for files sealed chunk by chunk as they stream (the hot-list
    /// cache's list files, see `hotlist::cache`).
    pub(crate) fn blob_cipher(&self) -> Result<Aes256Gcm, KeyError> {
        Aes256Gcm::new_from_slice(&self.blob).map_err(|err| KeyError::Encrypt(err.to_string()))
    }

    /// Decrypts what [`StoreKeys::encrypt_blob`] produced; fails if the key is wrong or a
    /// single byte was changed.
    pub fn decrypt_blob(&self, sealed: &[u8]) -> Result<Vec<u8>, KeyError> {
        let Some((nonce, body)) = sealed.split_at_checked(NONCE_LEN) else {
            return Err(KeyError::Decrypt);
        };
        let Ok(nonce) = <[u8; NONCE_LEN]>::try_from(nonce) else {
            return Err(KeyError::Decrypt);
        };
        let cipher = Aes256Gcm::new_from_slice(&self.blob).map_err(|_| KeyError::Decrypt)?;
        cipher.decrypt(&Nonce::<Aes256Gcm>::from(nonce), body).map_err(|_| KeyError::Decrypt)
    }
}

/// Lower-case hex of bytes.
/// A fresh random secret: 32 bytes (256 bits) as 64 hex digits, for keys and passwords the
/// project makes itself (a throwaway store's key, a car's office password).
pub fn random_secret() -> String {
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    hex(&raw)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Refuses a key file that lives inside the data dir (after resolving links and `..`).
pub fn check_outside(file: &Path, data_dir: &Path) -> Result<(), KeyError> {
    let resolve = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let file_abs = resolve(file);
    let dir_abs = resolve(data_dir);
    if file_abs.starts_with(&dir_abs) {
        return Err(KeyError::KeyFileInsideDataDir(file.to_path_buf()));
    }
    Ok(())
}

/// A passphrase from the environment variable `env`, else from the first line of `key_file`
/// (which must sit outside the data dir); `None` when neither is given.
fn configured_secret(
    env: &str,
    data_dir: &Path,
    key_file: Option<&Path>,
) -> Result<Option<(String, KeySource)>, KeyError> {
    if let Some(value) = std::env::var_os(env) {
        return Ok(Some((value.to_string_lossy().into_owned(), KeySource::Environment)));
    }
    let Some(file) = key_file else { return Ok(None) };
    check_outside(file, data_dir)?;
    warn_if_shared(file);
    let text = std::fs::read_to_string(file).map_err(io_err(file))?;
    Ok(Some((text.trim_end_matches(['\n', '\r']).to_owned(), KeySource::KeyFile(file.to_path_buf()))))
}

/// Creates the data dir if needed and makes it private to its owner (0700): the database, salt,
/// hot-list cache and crops inside it are then out of other local users' reach, whatever
/// mode each file was created with. A folder made wider by hand is narrowed again.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    Ok(())
}

/// Warns (on stderr, where the operator sees it) when a key file can be read by users other
/// than its owner: whoever reads it holds the database key.
fn warn_if_shared(file: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = std::fs::metadata(file)
            && meta.permissions().mode() & 0o077 != 0
        {
            eprintln!(
                "warning: key file {} can be read by other users (mode {:o}): chmod 600 it",
                file.display(),
                meta.permissions().mode() & 0o777
            );
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io { path: path.to_path_buf(), source }
}

/// Whether a key rotation was started in `data_dir` and has not finished.
pub fn rotation_pending(data_dir: &Path) -> bool {
    data_dir.join(NEXT_SALT_FILE).exists()
}

/// Ends a rotation: the next salt becomes the salt, in one rename, made durable. Before it
/// the current passphrase still derives the current keys; after it the new one does.
pub(crate) fn commit_next_salt(data_dir: &Path) -> Result<(), KeyError> {
    let next = data_dir.join(NEXT_SALT_FILE);
    let salt = data_dir.join(SALT_FILE);
    std::fs::rename(&next, &salt).map_err(io_err(&salt))?;
    sync_dir(data_dir)
}

/// Flushes a folder's entries (a rename or a new file) to disk.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), KeyError> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io_err(dir))
}

fn load_or_create_salt(data_dir: &Path, name: &str) -> Result<Vec<u8>, KeyError> {
    private_dir(data_dir).map_err(io_err(data_dir))?;
    let path = data_dir.join(name);
    match std::fs::read(&path) {
        Ok(salt) if salt.len() >= 16 => Ok(salt),
        Ok(_) => Err(KeyError::Io {
            path,
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, "salt file is truncated"),
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let mut salt = vec![0u8; 16];
            rand::rng().fill_bytes(&mut salt);
            // Written whole and flushed before it is used: a salt lost in a crash would lose
            // the keys. Linked into place, which never replaces a salt another process wrote
            // first; then that one is used.
            let temp = data_dir.join(format!(".{name}.{}-{:016x}.tmp", std::process::id(), rand::rng().next_u64()));
            std::fs::File::create(&temp)
                .and_then(|mut f| f.write_all(&salt).and_then(|()| f.sync_all()))
                .map_err(io_err(&temp))?;
            let linked = std::fs::hard_link(&temp, &path);
            let _ = std::fs::remove_file(&temp);
            match linked {
                Ok(()) => {
                    sync_dir(data_dir)?;
                    Ok(salt)
                }
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => load_or_create_salt(data_dir, name),
                Err(source) => Err(KeyError::Io { path, source }),
            }
        }
        Err(source) => Err(KeyError::Io { path, source }),
    }
}

fn demo_secret(data_dir: &Path) -> Result<String, KeyError> {
    private_dir(data_dir).map_err(io_err(data_dir))?;
    let path = data_dir.join(DEMO_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(text.lines().next_back().unwrap_or_default().to_owned()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let mut raw = [0u8; 24];
            rand::rng().fill_bytes(&mut raw);
            let secret = hex(&raw);
            let text = format!(
                "# DEMO KEY - NOT SECURE: stored beside the data it protects. Demonstrations only.\n{secret}\n"
            );
            std::fs::write(&path, text).map_err(io_err(&path))?;
            Ok(secret)
        }
        Err(source) => Err(KeyError::Io { path, source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_round_trip_and_tamper_detection() {
        let dir = tempfile::tempdir().unwrap();
        let keys = StoreKeys::derive("correct horse", dir.path(), KeySource::Environment).unwrap();
        let sealed = keys.encrypt_blob(b"7ABC123,CA,stolen").unwrap();
        assert!(!sealed.windows(7).any(|w| w == b"7ABC123"), "plaintext visible");
        assert_eq!(keys.decrypt_blob(&sealed).unwrap(), b"7ABC123,CA,stolen");
        let mut bad = sealed.clone();
        bad[NONCE_LEN + 2] ^= 1;
        assert!(matches!(keys.decrypt_blob(&bad), Err(KeyError::Decrypt)));
        let other = StoreKeys::derive("wrong horse", dir.path(), KeySource::Environment).unwrap();
        assert!(matches!(other.decrypt_blob(&sealed), Err(KeyError::Decrypt)));
        assert!(matches!(keys.decrypt_blob(&sealed[..5]), Err(KeyError::Decrypt)));
    }

    #[test]
    fn same_secret_same_dir_gives_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let a = StoreKeys::derive("s", dir.path(), KeySource::Environment).unwrap();
        let b = StoreKeys::derive("s", dir.path(), KeySource::Environment).unwrap();
        assert_eq!(a.sqlcipher_literal(), b.sqlcipher_literal());
        assert!(matches!(StoreKeys::derive("", dir.path(), KeySource::Environment), Err(KeyError::Empty)));
    }

    #[test]
    fn first_starts_racing_agree_on_one_salt() {
        let dir = tempfile::tempdir().unwrap();
        let literals: Vec<String> = std::thread::scope(|scope| {
            let racers: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| StoreKeys::derive("s", dir.path(), KeySource::Environment).unwrap()))
                .collect();
            racers.into_iter().map(|r| r.join().unwrap().sqlcipher_literal()).collect()
        });
        assert!(literals.iter().all(|l| *l == literals[0]));
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["store.salt"]);
    }

    #[cfg(unix)]
    #[test]
    fn the_data_dir_is_made_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        StoreKeys::obtain(&data, None, true).unwrap();
        assert_eq!(mode(&data), 0o700);
        // Widened by hand: narrowed again at the next start.
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        StoreKeys::obtain(&data, None, true).unwrap();
        assert_eq!(mode(&data), 0o700);
    }

    #[test]
    fn key_file_inside_data_dir_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let inside = dir.path().join("key.txt");
        std::fs::write(&inside, "secret\n").unwrap();
        assert!(matches!(check_outside(&inside, dir.path()), Err(KeyError::KeyFileInsideDataDir(_))));
        let other = tempfile::tempdir().unwrap();
        let outside = other.path().join("key.txt");
        std::fs::write(&outside, "secret\n").unwrap();
        assert!(check_outside(&outside, dir.path()).is_ok());
    }

    #[test]
    fn demo_key_is_labelled_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let first = demo_secret(dir.path()).unwrap();
        let second = demo_secret(dir.path()).unwrap();
        assert_eq!(first, second);
        let text = std::fs::read_to_string(dir.path().join(DEMO_KEY_FILE)).unwrap();
        assert!(text.contains("NOT SECURE"));
    }
}
