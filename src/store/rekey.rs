//! Key rotation: moves the database (and, through the caller, every sealed file beside it)
//! from the current passphrase's keys to a new passphrase's keys, safely against a crash.
//!
//! Why: a passphrase that may have leaked (a key file copied, a departed administrator) must
//! stop opening the data, and CJIS key management expects keys to be changed. The steps, in
//! this order, make every interruption recoverable by running the rotation again:
//!
//! 1. [`Rotation::begin`] takes the data dir exclusively (no store may be open) and derives the
//!    new keys with a new salt written to `store.salt.next`. That file marks the rotation as
//!    in progress: until it is gone, [`super::Store::open`] refuses.
//! 2. [`Rotation::reencrypt_database`] copies the database under the new key into a new file
//!    (`sqlcipher_export`) and renames it over the old one, so the database is at every instant
//!    wholly under one key or the other. A resumed rotation finds it already under the new key.
//! 3. The caller reseals the files beside the database (the hot-list cache).
//! 4. [`Rotation::finish`] renames the next salt over the salt: from then on the new
//!    passphrase, and only it, opens the data.

use std::path::{Path, PathBuf};

use super::key::{self, StoreKeys};
use super::{DB_FILE, DataDirLock, StoreError, open_keyed};

/// What re-encrypting the database found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseStep {
    /// It was under the current key and is now under the new one.
    Reencrypted,
    /// It was already under the new key (a resumed rotation).
    AlreadyNew,
    /// There is no database in the data dir yet.
    Absent,
}

/// A key rotation in progress, holding the data dir exclusively until it is dropped.
#[derive(Debug)]
pub struct Rotation {
    data_dir: PathBuf,
    next: StoreKeys,
    _lock: DataDirLock,
}

impl Rotation {
    /// Starts (or resumes) a rotation to the new passphrase from `PATROL_ALPR_NEW_DB_KEY` or
    /// `new_key_file`. Refused while any process has the store open.
    pub fn begin(data_dir: &Path, new_key_file: Option<&Path>) -> Result<Self, StoreError> {
        let lock = DataDirLock::exclusive(data_dir)?;
        let next = StoreKeys::obtain_next(data_dir, new_key_file)?;
        Ok(Self { data_dir: data_dir.to_path_buf(), next, _lock: lock })
    }

    /// The keys the rotation moves to (for resealing the files beside the database).
    pub fn next_keys(&self) -> &StoreKeys {
        &self.next
    }

    /// Puts the database under the new key: a full copy under it, flushed, then renamed over
    /// the old file. `current` are the keys it is under now.
    pub fn reencrypt_database(&self, current: &StoreKeys) -> Result<DatabaseStep, StoreError> {
        let path = self.data_dir.join(DB_FILE);
        if !path.exists() {
            return Ok(DatabaseStep::Absent);
        }
        let conn = match open_keyed(&path, current) {
            Ok(conn) => conn,
            Err(StoreError::WrongKey(_)) if open_keyed(&path, &self.next).is_ok() => {
                return Ok(DatabaseStep::AlreadyNew);
            }
            Err(err) => return Err(err),
        };
        // Everything committed moves from the write-ahead log into the file being copied.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        let copy = self.data_dir.join(format!("{DB_FILE}.rekey"));
        remove_if_present(&copy)?;
        let copy_text =
            copy.to_str().ok_or_else(|| StoreError::Invalid(format!("{} is not valid UTF-8", copy.display())))?;
        conn.execute("ATTACH DATABASE ?1 AS rekeyed KEY ?2", [copy_text, &self.next.sqlcipher_literal()])?;
        conn.query_row("SELECT sqlcipher_export('rekeyed')", [], |_| Ok(()))?;
        // The schema version lives in the header, which the export does not carry.
        conn.execute_batch(&format!("PRAGMA rekeyed.user_version = {version}; DETACH DATABASE rekeyed;"))?;
        drop(conn);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Io { path, source }
        };
        std::fs::File::open(&copy).and_then(|f| f.sync_all()).map_err(io(&copy))?;
        // Checked before it replaces anything: the copy must open under the new key.
        drop(open_keyed(&copy, &self.next)?);
        std::fs::rename(&copy, &path).map_err(io(&path))?;
        for leftover in ["-wal", "-shm"] {
            remove_if_present(&self.data_dir.join(format!("{DB_FILE}{leftover}")))?;
        }
        key::sync_dir(&self.data_dir)?;
        Ok(DatabaseStep::Reencrypted)
    }

    /// Ends the rotation: from now on the new passphrase opens the data.
    pub fn finish(self) -> Result<StoreKeys, StoreError> {
        key::commit_next_salt(&self.data_dir)?;
        Ok(self.next)
    }
}

fn remove_if_present(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(StoreError::Io { path: path.to_path_buf(), source }),
    }
}

#[cfg(test)]
mod tests {
    // A failed unwrap is a failed test.
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::store::key::{KeySource, NEW_KEY_ENV};
    use crate::store::{NewRead, Store};

    fn read(plate: &str) -> NewRead {
        NewRead {
            time: chrono::Utc::now(),
            camera: "front".into(),
            officer: Some("o1".into()),
            plate: plate.into(),
            confidence: 0.9,
            candidates_json: "[]".into(),
            state: None,
            gps: None,
            crop_png: None,
        }
    }

    fn plates(store: &Store) -> Vec<String> {
        store
            .read(|c| {
                let mut stmt = c.prepare("SELECT plate FROM reads ORDER BY id")?;
                let rows = stmt.query_map([], |row| row.get(0))?.collect::<Result<Vec<String>, _>>()?;
                Ok(rows)
            })
            .unwrap()
    }

    /// A data dir under the current passphrase, and a new passphrase's file beside (outside) it.
    fn setup(new_passphrase: &str) -> (tempfile::TempDir, PathBuf, PathBuf, StoreKeys) {
        let dir = tempfile::tempdir().unwrap();
        let new_key = dir.path().join("new.key");
        let data = dir.path().join("data");
        std::fs::write(&new_key, new_passphrase).unwrap();
        let old = StoreKeys::derive("the old passphrase", &data, KeySource::Environment).unwrap();
        (dir, data, new_key, old)
    }

    #[test]
    fn a_rotation_moves_everything_to_the_new_key_and_the_old_one_stops_opening_it() {
        let (_dir, data, new_key, old) = setup("the new passphrase\n");
        {
            let store = Store::open(&data, old.clone(), "Port PD").unwrap();
            store.insert_read(read("7ABC123")).unwrap();
            store.insert_read(read("8XYZ999")).unwrap();
            // No rotation while a store is open.
            let refused = Rotation::begin(&data, Some(&new_key)).unwrap_err();
            assert!(matches!(refused, StoreError::Busy(_)), "{refused}");
        }
        assert!(std::env::var_os(NEW_KEY_ENV).is_none());
        let rotation = Rotation::begin(&data, Some(&new_key)).unwrap();
        // Nothing opens the store while the rotation runs.
        assert!(matches!(Store::open(&data, old.clone(), "Port PD"), Err(StoreError::Busy(_))));
        assert_eq!(rotation.reencrypt_database(&old).unwrap(), DatabaseStep::Reencrypted);
        let new = rotation.finish().unwrap();

        assert!(matches!(Store::open(&data, old, "Port PD"), Err(StoreError::WrongKey(_))));
        let same_passphrase =
            StoreKeys::derive("the new passphrase", &data, KeySource::KeyFile(new_key.clone())).unwrap();
        let store = Store::open(&data, same_passphrase, "Port PD").unwrap();
        assert_eq!(plates(&store), ["7ABC123", "8XYZ999"]);
        let version: u32 = store.read(|c| Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?)).unwrap();
        assert_eq!(version, crate::store::schema::SCHEMA_VERSION);
        assert_eq!(store.integrity_check().unwrap(), "ok");
        drop(store);
        drop(new);
        assert!(!data.join(format!("{DB_FILE}.rekey")).exists());
    }

    #[test]
    fn an_interrupted_rotation_blocks_opening_until_it_is_run_again() {
        let (_dir, data, new_key, old) = setup("next");
        Store::open(&data, old.clone(), "Port PD").unwrap().insert_read(read("5KLM000")).unwrap();

        // Interrupted after the database moved, before the salt did.
        let rotation = Rotation::begin(&data, Some(&new_key)).unwrap();
        assert_eq!(rotation.reencrypt_database(&old).unwrap(), DatabaseStep::Reencrypted);
        drop(rotation);
        let refused = Store::open(&data, old.clone(), "Port PD").unwrap_err();
        assert!(matches!(refused, StoreError::RotationPending(_)), "{refused}");

        // Run again with the same keys: it sees the database done and finishes.
        let rotation = Rotation::begin(&data, Some(&new_key)).unwrap();
        assert_eq!(rotation.reencrypt_database(&old).unwrap(), DatabaseStep::AlreadyNew);
        let new = rotation.finish().unwrap();
        assert_eq!(plates(&Store::open(&data, new, "Port PD").unwrap()), ["5KLM000"]);
    }

    #[test]
    fn a_rotation_without_a_usable_new_passphrase_is_refused_and_changes_nothing() {
        let (_dir, data, empty, old) = setup("");
        drop(Store::open(&data, old.clone(), "Port PD").unwrap());
        let refused = Rotation::begin(&data, None).unwrap_err();
        assert!(refused.to_string().contains(NEW_KEY_ENV), "{refused}");
        assert!(Rotation::begin(&data, Some(&empty)).unwrap_err().to_string().contains("empty"));
        let inside = data.join("new.key");
        std::fs::write(&inside, "next").unwrap();
        assert!(Rotation::begin(&data, Some(&inside)).is_err());
        assert!(!key::rotation_pending(&data));
        drop(Store::open(&data, old, "Port PD").unwrap());
    }
}
