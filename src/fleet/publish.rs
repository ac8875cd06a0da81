//! Hot lists through the office: the agency's signed publication stored in the office
//! database (`hotlist publish`), and the car's pull of the newest one into a folder in its
//! data dir, which the shift-start update then reads like any folder source. The office is
//! only a carrier: the car checks the agency's ed25519 signature when it pulls (a bad one is
//! refused and audited, and never written) and the update checks it again, with every
//! file's size and SHA-256, exactly as for a folder on mounted media.

use std::fs;
use std::path::Path;

use ed25519_dalek::VerifyingKey;
use postgres::Client;

use super::FleetError;
use super::sync::DrainError;
use crate::audit::{AuditAction, AuditEvent};
use crate::hotlist::cache::{CacheError, HotlistCache};
use crate::hotlist::update::{MANIFEST_NAME, Manifest, SIGNATURE_NAME, sha256_hex, verify_manifest};
use crate::store::outbox::{get_state, office_list_dir, set_state};
use crate::store::{Store, StoreError};

/// The car's high-water mark: the newest publication it has taken (or refused).
const PUBLICATION_SEQ: &str = "hotlist_publication_id";

/// One publication as stored at the office.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    /// Its number at the office.
    pub id: i64,
    /// The list version from its manifest.
    pub version: String,
    /// Files it carries.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
}

/// Stores the signed folder `dir` (`manifest.json`, its signature and the files it names) at
/// the office as one publication, in one transaction. The folder is checked against its own
/// manifest first (every file present, of its size and SHA-256), so the office never carries
/// a publication that no car could load; the signature is the cars' to check.
pub fn publish_hotlist(client: &mut Client, dir: &Path, publisher: &str) -> Result<Publication, PublishError> {
    let read = |name: &str| fs::read(dir.join(name)).map_err(|e| PublishError::Folder(format!("{name}: {e}")));
    let manifest_bytes = read(MANIFEST_NAME)?;
    let signature = String::from_utf8(read(SIGNATURE_NAME)?)
        .map_err(|_| PublishError::Folder(format!("{SIGNATURE_NAME} is not text")))?;
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| PublishError::Folder(format!("{MANIFEST_NAME} is not valid: {e}")))?;
    let mut files = Vec::with_capacity(manifest.files.len());
    for file in &manifest.files {
        let bytes = read(&file.name)?;
        if bytes.len() as u64 != file.size || sha256_hex(&bytes) != file.sha256.to_ascii_lowercase() {
            return Err(PublishError::Folder(format!(
                "{} no longer matches the manifest (sign the folder again)",
                file.name
            )));
        }
        files.push((file.name.clone(), bytes));
    }
    let mut tx = client.transaction()?;
    let id: i64 = tx
        .query_one(
            "INSERT INTO hotlist_publications (version, created, manifest, signature, published_by)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[&manifest.version, &manifest.created, &manifest_bytes, &signature, &publisher],
        )?
        .get(0);
    let statement = tx.prepare("INSERT INTO hotlist_files (publication_id, name, content) VALUES ($1, $2, $3)")?;
    let mut bytes = 0;
    for (name, content) in &files {
        bytes += content.len() as u64;
        tx.execute(&statement, &[&id, name, content])?;
    }
    tx.commit()?;
    Ok(Publication { id, version: manifest.version, files: files.len(), bytes })
}

/// Why a folder could not be published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The folder is not a complete signed publication.
    #[error("the folder to publish: {0}")]
    Folder(String),
    /// The office refused or could not be reached.
    #[error(transparent)]
    Office(#[from] FleetError),
}

impl From<postgres::Error> for PublishError {
    fn from(err: postgres::Error) -> Self {
        Self::Office(FleetError::Db(err))
    }
}

/// What a pull of hot lists did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pulled {
    /// The office has nothing newer than what the car took.
    Nothing,
    /// A new publication is in the car's office folder, for the next update.
    Taken(Publication),
    /// The newest publication failed the car's check and was not written (audited).
    Refused {
        /// The publication.
        id: i64,
        /// Its version.
        version: String,
        /// Why.
        reason: String,
    },
}

/// Takes the office's newest publication, if the car has not taken (or refused) it yet. With
/// `key` (the agency's public key in force) its signature is checked first and a bad one is
/// refused, audited and not written; without a key nothing is written either, since the
/// update would refuse an unsigned list anyway. A taken one replaces the car's office folder
/// whole (written beside it, then renamed), so an update never sees half of it.
pub fn pull_hotlist(client: &mut Client, store: &Store, key: Option<&VerifyingKey>) -> Result<Pulled, DrainError> {
    let folder = office_list_dir(store.data_dir());
    let sealed = HotlistCache::at(&folder, store.keys().clone());
    // A folder an older version wrote in the clear (or one that no longer opens) is pulled
    // again, sealed, whatever was taken before.
    let readable = !folder.join(MANIFEST_NAME).exists() || sealed.load(MANIFEST_NAME).is_ok();
    let since: i64 = match readable {
        true => store.read(|conn| get_state(conn, PUBLICATION_SEQ))?.and_then(|v| v.parse().ok()).unwrap_or(0),
        false => 0,
    };
    let Some(row) = client
        .query_opt(
            "SELECT id, version, manifest, signature FROM hotlist_publications WHERE id > $1 ORDER BY id DESC LIMIT 1",
            &[&since],
        )
        .map_err(FleetError::from)?
    else {
        return Ok(Pulled::Nothing);
    };
    let (id, version): (i64, String) = (row.get(0), row.get(1));
    let (manifest_bytes, signature): (Vec<u8>, String) = (row.get(2), row.get(3));
    let organization = store.organization().to_owned();
    let refuse = |reason: String| -> Result<Pulled, DrainError> {
        let outcome = format!("refused: {reason}");
        let object = format!("hot-list publication {id} ({version}) from the office");
        let event = AuditEvent::new("system", &organization, AuditAction::HotlistUpdate, &object, &outcome);
        store.write(move |conn| {
            crate::store::audit_log::append(conn, &event)?;
            set_state(conn, PUBLICATION_SEQ, &id.to_string())
        })?;
        Ok(Pulled::Refused { id, version: version.clone(), reason })
    };
    let Some(key) = key else {
        // Not recorded as taken: once the administrator sets the key, the next pull takes it.
        let reason = "no agency public key is configured ([hotlist] public_key)".to_owned();
        return Ok(Pulled::Refused { id, version, reason });
    };
    let manifest = match verify_manifest(&manifest_bytes, signature.as_bytes(), key) {
        Ok(manifest) => manifest,
        Err(reason) => return refuse(reason),
    };
    let rows = client
        .query("SELECT name, content FROM hotlist_files WHERE publication_id = $1", &[&id])
        .map_err(FleetError::from)?;
    let mut bytes = 0;
    let mut files = Vec::with_capacity(rows.len());
    for file in &manifest.files {
        let Some(content) = rows.iter().find(|r| r.get::<_, &str>(0) == file.name).map(|r| r.get::<_, Vec<u8>>(1))
        else {
            return refuse(format!("{} is missing at the office", file.name));
        };
        if content.len() as u64 != file.size || sha256_hex(&content) != file.sha256.to_ascii_lowercase() {
            return refuse(format!("{}: does not match its signed manifest", file.name));
        }
        bytes += content.len() as u64;
        files.push((file.name.clone(), content));
    }
    write_folder(&sealed, id, &manifest_bytes, &signature, &files).map_err(|err| match err {
        CacheError::Io { path, source } => StoreError::Io { path, source },
        other => StoreError::Io { path: folder.clone(), source: std::io::Error::other(other.to_string()) },
    })?;
    let publication = Publication { id, version, files: files.len(), bytes };
    let outcome = format!("pulled {} files ({bytes} bytes) for the next update", publication.files);
    let object = format!("hot-list publication {id} ({}) from the office", publication.version);
    let event = AuditEvent::new("system", &organization, AuditAction::HotlistUpdate, &object, &outcome);
    store.write(move |conn| {
        crate::store::audit_log::append(conn, &event)?;
        set_state(conn, PUBLICATION_SEQ, &id.to_string())
    })?;
    Ok(Pulled::Taken(publication))
}

/// Writes the publication, every file sealed with the store's key (no plate of it is on the
/// disk in the clear), into a new folder beside `office`'s, then swaps it in.
fn write_folder(
    office: &HotlistCache,
    id: i64,
    manifest: &[u8],
    signature: &str,
    files: &[(String, Vec<u8>)],
) -> Result<(), CacheError> {
    let folder = office.dir();
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CacheError::Io { path, source }
    };
    let staging = folder.with_extension(format!("new-{id}"));
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(io(&staging))?;
    }
    fs::create_dir_all(&staging).map_err(io(&staging))?;
    let staged = office.sealed_at(&staging);
    for (name, content) in files {
        staged.save(name, content)?;
    }
    staged.save(SIGNATURE_NAME, signature.as_bytes())?;
    // The manifest last: a folder without it is no source at all.
    staged.save(MANIFEST_NAME, manifest)?;
    let (folder, old) = (folder.to_path_buf(), folder.with_extension("old"));
    let swap = || -> std::io::Result<()> {
        if old.exists() {
            fs::remove_dir_all(&old)?;
        }
        if folder.exists() {
            fs::rename(&folder, &old)?;
        }
        fs::rename(&staging, &folder)?;
        if old.exists() {
            fs::remove_dir_all(&old)?;
        }
        Ok(())
    };
    swap().map_err(io(office.dir()))
}
