//! Storage: the encrypted SQLite database (SQLCipher), its migrations, the writer thread that
//! owns the write connection, and the records every other module keeps (reads, hits, shifts,
//! checklists, equipment reports, holds, exports, audit samples, the audit log).
//!
//! One writer thread owns the write connection. Writes are closures sent over a bounded
//! channel and answered only after their transaction has committed, so whatever the UI
//! reports as saved survives a crash. The writer groups whatever is queued into one
//! transaction (each job in its own savepoint, so one failing job does not undo another):
//! under load many reads share a commit, and a lone write is committed at once.

pub mod admin_settings;
pub mod anchors;
pub mod audit_log;
pub mod key;
mod list_history;
pub mod orphans;
pub mod outbox;
pub mod records;
pub mod rekey;
pub mod retention;
pub mod schema;
pub mod users;

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, bounded};
use rusqlite::Connection;

pub use key::{KeyError, KeySource, StoreKeys};
pub use records::{HitEventRecord, HitRecord, HitState, NewRead, StoredRead};

/// File name of the database inside the data dir.
pub const DB_FILE: &str = "patrol-alpr.db";
/// The data dir's lock file: held shared by every open store, exclusively by a key rotation.
const LOCK_FILE: &str = "patrol-alpr.lock";
/// Most write jobs grouped into one transaction.
const MAX_BATCH: usize = 512;
/// Capacity of the write queue: producers wait (back-pressure) beyond it.
const QUEUE_CAPACITY: usize = 1024;

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The key could not be obtained or used.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The DEMO key was given for a production store.
    #[error("{0} is a production store: the DEMO key never opens it (set [store] demo_key = false)")]
    DemoKeyOnProduction(PathBuf),
    /// The database exists but the key does not open it.
    #[error(
        "the database key does not open {0}: a wrong key, or its first page is damaged, or it is not a patrol-alpr database (SQLCipher cannot tell these apart)"
    )]
    WrongKey(PathBuf),
    /// The database was written by a newer program.
    #[error("database schema {found} is newer than this program's {supported}: upgrade patrol-alpr")]
    SchemaTooNew {
        /// Version found in the file.
        found: u32,
        /// Newest version this program knows.
        supported: u32,
    },
    /// The writer thread has stopped (it panicked, or the store is shutting down).
    #[error("the database writer has stopped")]
    WriterGone,
    /// The group transaction failed to commit; the write was not saved.
    #[error("commit failed, nothing saved: {0}")]
    Commit(String),
    /// A file or folder could not be used.
    #[error("{path}: {source}")]
    Io {
        /// The path concerned.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A stored value could not be understood.
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// The request itself is invalid.
    #[error("{0}")]
    Invalid(String),
    /// Another process holds the data dir in a way that excludes this one.
    #[error("{0}")]
    Busy(String),
    /// A key rotation started and did not finish; nothing opens until it is completed.
    #[error(
        "a database key rotation in {0} did not finish: run `patrol-alpr store rekey` again with the same \
         current and new keys to complete it"
    )]
    RotationPending(PathBuf),
}

/// A queued write's answer ([`Store::submit`]).
#[derive(Debug)]
pub struct Pending<R> {
    answer: Receiver<Result<Payload, StoreError>>,
    _value: std::marker::PhantomData<fn() -> R>,
}

impl<R: 'static> Pending<R> {
    /// Waits for the commit and returns the write's result.
    pub fn wait(self) -> Result<R, StoreError> {
        let answer = self.answer.recv().map_err(|_| StoreError::WriterGone);
        Self::unpack(answer)
    }

    /// The result once the write is committed (or failed); `None` while it is still queued.
    pub fn try_take(&self) -> Option<Result<R, StoreError>> {
        match self.answer.try_recv() {
            Ok(answer) => Some(Self::unpack(Ok(answer))),
            Err(crossbeam_channel::TryRecvError::Empty) => None,
            Err(crossbeam_channel::TryRecvError::Disconnected) => Some(Err(StoreError::WriterGone)),
        }
    }

    fn unpack(answer: Result<Result<Payload, StoreError>, StoreError>) -> Result<R, StoreError> {
        let payload = answer??;
        payload.downcast::<R>().map(|value| *value).map_err(|_| StoreError::WriterGone)
    }
}

/// A hold on the data dir through its lock file (an advisory `flock`): every open store holds
/// it shared, a key rotation exclusively, so a rotation never runs under a console or command
/// that has the database open, and none opens one while it runs. Released when dropped.
#[derive(Debug)]
pub(crate) struct DataDirLock {
    _file: std::fs::File,
}

impl DataDirLock {
    /// The hold every open store keeps; refused while a rotation runs.
    pub(crate) fn shared(data_dir: &Path) -> Result<Self, StoreError> {
        Self::take(data_dir, false, "a database key rotation is running in this data dir: wait for it to finish")
    }

    /// The rotation's hold; refused while anything has the store open.
    pub(crate) fn exclusive(data_dir: &Path) -> Result<Self, StoreError> {
        Self::take(
            data_dir,
            true,
            "the database is open in another patrol-alpr process (the console, or a command): close it first",
        )
    }

    fn take(data_dir: &Path, exclusive: bool, busy: &str) -> Result<Self, StoreError> {
        key::private_dir(data_dir).map_err(|source| StoreError::Io { path: data_dir.to_path_buf(), source })?;
        let path = data_dir.join(LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| StoreError::Io { path: path.clone(), source })?;
        let taken = if exclusive { file.try_lock() } else { file.try_lock_shared() };
        match taken {
            Ok(()) => Ok(Self { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Busy(busy.to_owned())),
            Err(std::fs::TryLockError::Error(source)) => Err(StoreError::Io { path, source }),
        }
    }
}

type Payload = Box<dyn Any + Send>;
type Job = Box<dyn FnOnce(&Connection) -> Result<Payload, StoreError> + Send>;

struct Request {
    job: Job,
    reply: Sender<Result<Payload, StoreError>>,
}

/// The owned writer thread: dropping it closes the queue, lets the thread finish what is
/// queued, and joins it.
struct Writer {
    sender: Option<Sender<Request>>,
    handle: Option<JoinHandle<()>>,
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.sender.take();
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

/// The open, encrypted database.
pub struct Store {
    data_dir: PathBuf,
    keys: StoreKeys,
    organization: String,
    writer: Writer,
    reader: Mutex<Connection>,
    demo: bool,
    // Declared last so it is released after the writer has finished and joined.
    _lock: DataDirLock,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("data_dir", &self.data_dir).field("keys", &self.keys).finish_non_exhaustive()
    }
}

/// The `store_info` kind of a demo store.
const DEMO_KIND: &str = "demo";

/// The store's kind, recorded on its first open after creation (or after the upgrade that
/// added it): `demo` when that open used the DEMO key, else `production`. Never changed after.
fn store_kind(conn: &Connection, keys: &StoreKeys) -> Result<String, StoreError> {
    let kind = if keys.source == KeySource::DemoInsecure { DEMO_KIND } else { "production" };
    conn.execute("INSERT OR IGNORE INTO store_info (key, value) VALUES ('kind', ?1)", [kind])?;
    Ok(conn.query_row("SELECT value FROM store_info WHERE key = 'kind'", [], |row| row.get(0))?)
}

/// Opens `path` with `keys` and checks that they read it ([`StoreError::WrongKey`] if not);
/// no other setting. The key rotation uses it bare, on files no store has open.
pub(crate) fn open_keyed(path: &Path, keys: &StoreKeys) -> Result<Connection, StoreError> {
    // SQLCipher sets its crypto provider up as the first keyed connection of the process opens
    // and down as the last one closes; keying a connection while another thread's last one
    // closes once failed in CI with SQLCipher's generic "An error occurred with PRAGMA key or
    // rekey". Keying is serialized here, and a key that fails so is tried again on a fresh
    // connection (a wrong key is not that error: it fails the check below).
    static KEYING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _keying = KEYING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut attempt = 0;
    let conn = loop {
        let conn = Connection::open(path)?;
        // SQLCipher logs a failed page check (a wrong key, a damaged page) to stderr on its
        // own; the error returned says what happened, in the program's words.
        conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
        // The key must be the first statement on the connection that touches the database.
        match conn.execute_batch(&format!("PRAGMA key = \"{}\";", keys.sqlcipher_literal())) {
            Ok(()) => break conn,
            Err(err) if attempt < KEYING_RETRIES => {
                attempt += 1;
                tracing::warn!("keying {} failed ({err}); trying again", path.display());
                drop(conn);
                std::thread::sleep(std::time::Duration::from_millis(20 * attempt));
            }
            Err(err) => return Err(err.into()),
        }
    };
    if conn.query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get::<_, i64>(0)).is_err() {
        return Err(StoreError::WrongKey(path.to_path_buf()));
    }
    Ok(conn)
}

/// How many times a failed `PRAGMA key` is tried again (see [`open_keyed`]).
const KEYING_RETRIES: u64 = 3;

/// Opens one connection with the key and the pragmas every connection needs.
fn open_connection(path: &Path, keys: &StoreKeys) -> Result<Connection, StoreError> {
    let conn = open_keyed(path, keys)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // WAL lets readers run beside the writer; synchronous=FULL makes each commit durable
    // even across a power cut (an in-car computer loses power with the ignition).
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // A 64 MiB page cache (the default is 2 MiB): the purge and bulk inserts touch three
    // indexes in scattered order, and every page missed is read and decrypted again.
    conn.pragma_update(None, "cache_size", -65_536)?;
    Ok(conn)
}

impl Store {
    /// Opens (creating if needed) the database in `data_dir` with `keys`, applies migrations
    /// and starts the writer thread. `organization` is written in the store's own audit rows.
    /// Refused while a key rotation runs, and after one that did not finish.
    pub fn open(data_dir: &Path, keys: StoreKeys, organization: &str) -> Result<Self, StoreError> {
        Self::open_checked(data_dir, keys, organization, true)
    }

    /// Opens the store while a key rotation is unfinished, with whichever `keys` the database
    /// is under at that point, so the rotation's caller can be authenticated and authorized
    /// before the rotation is resumed. The caller drops it before the rotation takes the data
    /// dir for itself.
    pub(crate) fn open_during_rotation(
        data_dir: &Path,
        keys: StoreKeys,
        organization: &str,
    ) -> Result<Self, StoreError> {
        Self::open_checked(data_dir, keys, organization, false)
    }

    fn open_checked(
        data_dir: &Path,
        keys: StoreKeys,
        organization: &str,
        refuse_pending: bool,
    ) -> Result<Self, StoreError> {
        let lock = DataDirLock::shared(data_dir)?;
        if refuse_pending && key::rotation_pending(data_dir) {
            return Err(StoreError::RotationPending(data_dir.to_path_buf()));
        }
        let path = data_dir.join(DB_FILE);
        let mut write_conn = open_connection(&path, &keys)?;
        schema::migrate(&mut write_conn)?;
        let demo = store_kind(&write_conn, &keys)? == DEMO_KIND;
        if !demo && keys.source == KeySource::DemoInsecure {
            return Err(StoreError::DemoKeyOnProduction(data_dir.to_path_buf()));
        }
        let reader = open_connection(&path, &keys)?;
        let (sender, receiver) = bounded::<Request>(QUEUE_CAPACITY);
        let handle = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer_loop(write_conn, &receiver))
            .map_err(|source| StoreError::Io { path: path.clone(), source })?;
        Ok(Self {
            data_dir: data_dir.to_path_buf(),
            keys,
            organization: organization.to_owned(),
            writer: Writer { sender: Some(sender), handle: Some(handle) },
            reader: Mutex::new(reader),
            demo,
            _lock: lock,
        })
    }

    /// True for a demo store: one created under the DEMO key. Only a demo store takes demo
    /// accounts and demo lists; no key ever makes a production store one.
    pub fn is_demo(&self) -> bool {
        self.demo
    }

    /// The data dir this store lives in.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The keys, for encrypting files kept beside the database (hot-list cache).
    pub fn keys(&self) -> &StoreKeys {
        &self.keys
    }

    /// The organization recorded in the store's own audit rows.
    pub fn organization(&self) -> &str {
        &self.organization
    }

    /// Runs `f` on the writer thread inside a transaction and returns its result once that
    /// transaction has committed. If `f` fails, its changes are rolled back and nothing else
    /// is affected.
    pub fn write<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    {
        self.submit(f)?.wait()
    }

    /// Queues `f` like [`Store::write`] without waiting: the answer comes through the returned
    /// [`Pending`] once the transaction has committed. Writes are applied in the order they
    /// are queued, so a later awaited write returns only after this one is committed too.
    pub fn submit<R, F>(&self, f: F) -> Result<Pending<R>, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let Some(sender) = self.writer.sender.as_ref() else {
            return Err(StoreError::WriterGone);
        };
        let (reply, answer) = bounded(1);
        let job: Job = Box::new(move |conn| f(conn).map(|value| Box::new(value) as Payload));
        sender.send(Request { job, reply }).map_err(|_| StoreError::WriterGone)?;
        Ok(Pending { answer, _value: std::marker::PhantomData })
    }

    /// Runs `f` on the store's read connection (it sees every committed write).
    pub fn read<R>(&self, f: impl FnOnce(&Connection) -> Result<R, StoreError>) -> Result<R, StoreError> {
        let conn = self.reader.lock().map_err(|_| StoreError::Invalid("read connection poisoned".into()))?;
        f(&conn)
    }

    /// Runs SQLite's `PRAGMA integrity_check`; `ok` means the file is sound.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        self.read(|conn| Ok(conn.query_row("PRAGMA integrity_check", [], |row| row.get(0))?))
    }
}

fn writer_loop(mut conn: Connection, receiver: &Receiver<Request>) {
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        let mut replies = Vec::with_capacity(batch.len());
        // IMMEDIATE: the write lock is taken (waiting out the busy timeout) when the transaction
        // begins. A deferred one that reads first (the audit chain's previous hash) and then
        // writes fails at once with SQLITE_BUSY when another process wrote in between.
        let mut tx = match conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
            Ok(tx) => tx,
            Err(err) => {
                let message = err.to_string();
                for request in batch {
                    let _ = request.reply.send(Err(StoreError::Commit(message.clone())));
                }
                continue;
            }
        };
        for request in batch {
            let result = (|| -> Result<Payload, StoreError> {
                let savepoint = tx.savepoint()?;
                let value = (request.job)(&savepoint)?;
                savepoint.commit()?;
                Ok(value)
            })();
            replies.push((request.reply, result));
        }
        let committed = tx.commit().map_err(|err| err.to_string());
        for (reply, result) in replies {
            let result = match (&committed, result) {
                (Ok(()), result) => result,
                (Err(message), Ok(_)) => Err(StoreError::Commit(message.clone())),
                (Err(_), Err(err)) => Err(err),
            };
            // The caller may have given up waiting; the write still stands.
            let _ = reply.send(result);
        }
    }
}

/// Current time in UTC Unix milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers for tests that need a store in a temporary folder.
    use super::*;

    /// A demo store (created under the DEMO key) in a temporary folder.
    pub fn temp_demo_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let keys = StoreKeys::derive("demo passphrase", dir.path(), KeySource::DemoInsecure).unwrap();
        let store = Store::open(dir.path(), keys, "Test PD").unwrap();
        (dir, store)
    }

    /// A store in a fresh temporary dir with a test key.
    pub fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let keys = StoreKeys::derive("test passphrase", dir.path(), KeySource::Environment).unwrap();
        let store = Store::open(dir.path(), keys, "Test PD").unwrap();
        (dir, store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_key_is_refused_and_file_has_no_plaintext() {
        let (dir, store) = testing::temp_store();
        store
            .write(|conn| {
                conn.execute(
                    "INSERT INTO reads (time_ms, camera, plate, confidence) VALUES (1, 'c', 'SECRET1', 0.9)",
                    [],
                )?;
                Ok(())
            })
            .unwrap();
        drop(store);
        let bytes = std::fs::read(dir.path().join(DB_FILE)).unwrap();
        assert!(!bytes.windows(15).any(|w| w == b"SQLite format 3"), "plaintext header");
        assert!(!bytes.windows(7).any(|w| w == b"SECRET1"), "plaintext row");
        let wrong = StoreKeys::derive("another", dir.path(), KeySource::Environment).unwrap();
        assert!(matches!(Store::open(dir.path(), wrong, "x"), Err(StoreError::WrongKey(_))));
        let right = StoreKeys::derive("test passphrase", dir.path(), KeySource::Environment).unwrap();
        let store = Store::open(dir.path(), right, "x").unwrap();
        let n: i64 = store.read(|c| Ok(c.query_row("SELECT count(*) FROM reads", [], |r| r.get(0))?)).unwrap();
        assert_eq!(n, 1);
        assert_eq!(store.integrity_check().unwrap(), "ok");
    }

    #[test]
    fn failing_job_rolls_back_alone() {
        let (_dir, store) = testing::temp_store();
        let bad = store.write(|conn| {
            conn.execute("INSERT INTO reads (time_ms, camera, plate, confidence) VALUES (1, 'c', 'A1', 0.9)", [])?;
            Err::<(), _>(StoreError::Invalid("no".into()))
        });
        assert!(bad.is_err());
        store
            .write(|conn| {
                conn.execute("INSERT INTO reads (time_ms, camera, plate, confidence) VALUES (2, 'c', 'B2', 0.9)", [])?;
                Ok(())
            })
            .unwrap();
        let plates: Vec<String> = store
            .read(|c| {
                let mut stmt = c.prepare("SELECT plate FROM reads")?;
                let rows = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
                Ok(rows)
            })
            .unwrap();
        assert_eq!(plates, vec!["B2".to_owned()]);
    }

    #[test]
    fn queued_writes_answer_when_committed_and_in_order() {
        let (_dir, store) = testing::temp_store();
        let insert = |plate: &'static str| {
            move |conn: &Connection| -> Result<i64, StoreError> {
                conn.execute(
                    "INSERT INTO reads (time_ms, camera, plate, confidence) VALUES (1, 'c', ?1, 0.9)",
                    [plate],
                )?;
                Ok(conn.last_insert_rowid())
            }
        };
        let first = store.submit(insert("A1")).unwrap();
        let failing = store.submit(|_| Err::<i64, _>(StoreError::Invalid("refused".into()))).unwrap();
        // An awaited write queued after them returns only once both are answered.
        let third = store.write(insert("C3")).unwrap();
        let first = first.try_take().expect("answered before the later write").unwrap();
        assert!(first < third);
        assert!(matches!(failing.try_take(), Some(Err(StoreError::Invalid(_)))));
        let second = store.submit(insert("D4")).unwrap().wait().unwrap();
        assert!(second > third);
    }

    #[test]
    fn newer_schema_is_refused() {
        let (dir, store) = testing::temp_store();
        store.write(|c| Ok(c.pragma_update(None, "user_version", 99)?)).unwrap();
        drop(store);
        let keys = StoreKeys::derive("test passphrase", dir.path(), KeySource::Environment).unwrap();
        assert!(matches!(Store::open(dir.path(), keys, "x"), Err(StoreError::SchemaTooNew { found: 99, .. })));
    }
}
