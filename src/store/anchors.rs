//! Signed anchors of the audit chain: the chain's head at a moment, signed with a key that
//! never sits on the car, so that rebuilding the chain is caught even by someone who holds the
//! database key.
//!
//! The hash chain alone proves only that the rows agree with each other: whoever holds the
//! database key can delete the tail, or delete a row and recompute every hash after it, and the
//! chain verifies again. An anchor fixes a row: "row N of store S had hash H", signed by a
//! supervisor's ed25519 key that is brought to the car for the signing and taken away again
//! (`audit anchor`). The signed line is kept twice: in the car's database and in the file the
//! supervisor carries off (and, later, in the back office). `audit verify --anchors FILE
//! --anchor-key KEY` then checks every anchor of this store against the chain: a row anchored
//! but now missing, or a different row at an anchored position, breaks the check. What an
//! anchor cannot catch is a change after the newest anchor: anchor often, and compare the
//! head every usage report prints (`audit verify --head SEQ:HASH`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::audit_log::{AuditHead, append, head};
use super::{Store, StoreError};
use crate::audit::AuditEvent;

/// The `format` of an anchor line; part of what is signed.
pub const ANCHOR_FORMAT: &str = "patrol-alpr audit anchor v1";

/// One signed checkpoint of the chain, as one JSON line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    /// [`ANCHOR_FORMAT`].
    pub format: String,
    /// The store's id (`store_info.store_id`), so one car's anchor never vouches for another.
    pub store: String,
    /// The anchored row.
    pub seq: i64,
    /// Its hash.
    pub hash: String,
    /// When it was signed (RFC 3339, UTC).
    pub signed_at: String,
    /// Who signed it (a supervisor's id).
    pub signed_by: String,
    /// The signing key's public half (base64), to tell keys apart.
    pub key: String,
    /// The ed25519 signature (base64) over [`Anchor::message`].
    pub signature: String,
}

impl Anchor {
    /// Signs `head` of store `store` as `user` at `now`.
    pub fn sign(head: &AuditHead, store: &str, user: &str, now: DateTime<Utc>, key: &SigningKey) -> Self {
        let mut anchor = Self {
            format: ANCHOR_FORMAT.to_owned(),
            store: store.to_owned(),
            seq: head.seq,
            hash: head.hash.clone(),
            signed_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
            signed_by: user.to_owned(),
            key: BASE64.encode(key.verifying_key().as_bytes()),
            signature: String::new(),
        };
        anchor.signature = BASE64.encode(key.sign(anchor.message().as_bytes()).to_bytes());
        anchor
    }

    /// The text signed: every field but the signature, as a JSON array in a fixed order.
    pub fn message(&self) -> String {
        serde_json::json!([self.format, self.store, self.seq, self.hash, self.signed_at, self.signed_by, self.key])
            .to_string()
    }

    /// The line stored and carried off the car.
    pub fn line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses one line of an anchors file.
    pub fn parse(line: &str) -> Result<Self, String> {
        let anchor: Self = serde_json::from_str(line.trim()).map_err(|e| format!("not an anchor line: {e}"))?;
        if anchor.format != ANCHOR_FORMAT {
            return Err(format!("unknown anchor format {:?}", anchor.format));
        }
        Ok(anchor)
    }

    /// Whether one of `keys` made the signature.
    pub fn signed_by_one_of(&self, keys: &[VerifyingKey]) -> bool {
        let Some(signature) = BASE64.decode(&self.signature).ok().and_then(|b| Signature::from_slice(&b).ok()) else {
            return false;
        };
        keys.iter().any(|key| {
            BASE64.encode(key.as_bytes()) == self.key && key.verify(self.message().as_bytes(), &signature).is_ok()
        })
    }

    fn description(&self) -> String {
        format!("row {} anchored {} by {}", self.seq, self.signed_at, self.signed_by)
    }
}

/// Where the anchors checked came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnchorSource {
    /// The car's own database.
    Stored,
    /// A file carried off the car.
    Carried,
}

/// What checking anchors against the chain found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AnchorReport {
    /// Anchors of this store that hold.
    pub held: usize,
    /// Anchors of other stores, skipped (a supervisor's file covers several cars).
    pub other_stores: usize,
    /// The newest anchored row that holds.
    pub newest: Option<i64>,
    /// The first anchor that does not hold: its row and why (the earliest row, since the
    /// chain is wrong from there on).
    pub broken: Option<(i64, String)>,
}

/// Checks `anchors` against the chain in `conn` for store `store_id`. With `keys`, each
/// anchor must also carry a signature by one of them; without, only whether the chain still
/// holds the anchored rows is checked (enough for the anchors the car stored itself, whose
/// signatures the auditor checks with the key they keep).
pub fn check(
    conn: &Connection,
    store_id: Option<&str>,
    anchors: &[(AnchorSource, Anchor)],
    keys: &[VerifyingKey],
) -> Result<AnchorReport, StoreError> {
    let mut report = AnchorReport::default();
    let last = head(conn, None)?.map_or(0, |h| h.seq);
    let fail = |report: &mut AnchorReport, seq: i64, reason: String| {
        if report.broken.as_ref().is_none_or(|(at, _)| seq < *at) {
            report.broken = Some((seq, reason));
        }
    };
    for (source, anchor) in anchors {
        let place = match source {
            AnchorSource::Stored => "stored anchor",
            AnchorSource::Carried => "carried anchor",
        };
        if !keys.is_empty() && !anchor.signed_by_one_of(keys) {
            fail(
                &mut report,
                anchor.seq,
                format!("{place} for {} is not signed by the given key", anchor.description()),
            );
            continue;
        }
        if Some(anchor.store.as_str()) != store_id {
            if *source == AnchorSource::Stored {
                fail(&mut report, anchor.seq, format!("{place} for {} names another store", anchor.description()));
            } else {
                report.other_stores += 1;
            }
            continue;
        }
        match head(conn, Some(anchor.seq))? {
            None => fail(
                &mut report,
                (last + 1).min(anchor.seq),
                format!("the chain ends at row {last}, but {}: rows were deleted", anchor.description()),
            ),
            Some(row) if row.hash != anchor.hash => fail(
                &mut report,
                anchor.seq,
                format!(
                    "row {} is not the row of the {place} ({}): the chain was rebuilt",
                    anchor.seq,
                    anchor.description()
                ),
            ),
            Some(_) => {
                report.held += 1;
                report.newest = report.newest.max(Some(anchor.seq));
            }
        }
    }
    Ok(report)
}

/// The store's id, if it has one yet.
pub fn store_id(conn: &Connection) -> Result<Option<String>, StoreError> {
    Ok(conn.query_row("SELECT value FROM store_info WHERE key = 'store_id'", [], |r| r.get(0)).optional()?)
}

impl Store {
    /// The store's id: random, made at the first anchor and never changed, so an anchor
    /// names the one store it vouches for.
    pub fn store_id(&self) -> Result<String, StoreError> {
        use rand::TryRngCore as _;
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|e| StoreError::Invalid(format!("no secure random numbers: {e}")))?;
        let fresh = super::key::hex(&bytes);
        self.write(move |conn| {
            conn.execute("INSERT OR IGNORE INTO store_info (key, value) VALUES ('store_id', ?1)", [fresh])?;
            Ok(store_id(conn)?.unwrap_or_default())
        })
    }

    /// Keeps a signed anchor, committed with its audit row.
    pub fn record_anchor(&self, anchor: &Anchor, event: AuditEvent) -> Result<(), StoreError> {
        let (seq, line) = (anchor.seq, anchor.line());
        self.write(move |conn| {
            conn.execute("INSERT OR IGNORE INTO audit_anchors (seq, line) VALUES (?1, ?2)", params![seq, line])?;
            append(conn, &event)?;
            Ok(())
        })
    }

    /// Every anchor the car keeps, oldest first. A stored line that is not an anchor is
    /// an edit, and an error naming it.
    pub fn anchors(&self) -> Result<Vec<Anchor>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare("SELECT id, line FROM audit_anchors ORDER BY seq, id")?;
            let lines: Vec<(i64, String)> =
                stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
            lines
                .into_iter()
                .map(|(id, line)| {
                    Anchor::parse(&line).map_err(|e| StoreError::Corrupt(format!("stored anchor {id}: {e}")))
                })
                .collect()
        })
    }

    /// Checks the stored anchors and `carried` ones against the chain.
    pub fn check_anchors(&self, carried: Vec<Anchor>, keys: Vec<VerifyingKey>) -> Result<AnchorReport, StoreError> {
        let mut all: Vec<(AnchorSource, Anchor)> =
            self.anchors()?.into_iter().map(|a| (AnchorSource::Stored, a)).collect();
        all.extend(carried.into_iter().map(|a| (AnchorSource::Carried, a)));
        self.read(move |conn| check(conn, store_id(conn)?.as_deref(), &all, &keys))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditAction;
    use crate::store::audit_log::Verification;
    use crate::store::testing::temp_store;

    fn fill(store: &Store, n: usize) {
        for i in 0..n {
            store.audit(AuditEvent::new("u1", "Test PD", AuditAction::Search, &format!("7ABC{i:03}"), "ok")).unwrap();
        }
    }

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn anchor_now(store: &Store, signer: &SigningKey) -> Anchor {
        let anchor = Anchor::sign(&store.audit_head().unwrap(), &store.store_id().unwrap(), "s1", Utc::now(), signer);
        let event = AuditEvent::new("s1", "Test PD", AuditAction::AuditView, "audit anchor", "signed");
        store.record_anchor(&anchor, event).unwrap();
        anchor
    }

    /// Deletes rows from `from` on and re-chains what is left plus `forged` new rows, as the
    /// key holder can: the plain chain check passes afterwards.
    fn rebuild_from(store: &Store, from: i64, forged: usize) {
        store
            .write(move |conn| {
                conn.execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")?;
                conn.execute("DELETE FROM audit_log WHERE seq >= ?1", [from])?;
                Ok(())
            })
            .unwrap();
        for i in 0..forged {
            store.audit(AuditEvent::new("u1", "Test PD", AuditAction::Search, &format!("FORGED{i}"), "ok")).unwrap();
        }
    }

    #[test]
    fn an_anchor_round_trips_and_only_its_key_verifies_it() {
        let (_dir, store) = temp_store();
        fill(&store, 3);
        let anchor = anchor_now(&store, &key(1));
        let parsed = Anchor::parse(&anchor.line()).unwrap();
        assert_eq!(parsed, anchor);
        assert!(parsed.signed_by_one_of(&[key(2).verifying_key(), key(1).verifying_key()]));
        assert!(!parsed.signed_by_one_of(&[key(2).verifying_key()]));
        let mut moved = parsed.clone();
        moved.seq = 2;
        assert!(!moved.signed_by_one_of(&[key(1).verifying_key()]), "the row number is signed");
        assert!(Anchor::parse("{\"format\":\"other\"}").is_err());
        assert_eq!(store.anchors().unwrap(), vec![anchor]);
    }

    #[test]
    fn a_rebuilt_chain_verifies_but_breaks_the_anchor() {
        let (_dir, store) = temp_store();
        fill(&store, 10);
        let signer = key(7);
        let anchor = anchor_now(&store, &signer);
        assert_eq!(anchor.seq, 10);
        fill(&store, 2);
        let report = store.check_anchors(vec![anchor.clone()], vec![signer.verifying_key()]).unwrap();
        assert_eq!((report.held, report.newest, report.broken), (2, Some(10), None));

        // Delete from row 6 on and write as many rows back: the chain alone is intact.
        rebuild_from(&store, 6, 8);
        assert!(matches!(store.verify_audit_log().unwrap(), Verification::Intact { rows: 13 }));
        let report = store.check_anchors(vec![anchor.clone()], vec![signer.verifying_key()]).unwrap();
        let (seq, reason) = report.broken.unwrap();
        assert_eq!(seq, 10);
        assert!(reason.contains("rebuilt"), "{reason}");

        // Cutting the tail before the anchor is caught by the carried copy even when the
        // stored anchors are gone too.
        let (_dir, store) = temp_store();
        fill(&store, 10);
        let anchor = anchor_now(&store, &signer);
        rebuild_from(&store, 8, 0);
        store.write(|c| Ok(c.execute("DELETE FROM audit_anchors", [])?)).unwrap();
        assert!(matches!(store.verify_audit_log().unwrap(), Verification::Intact { rows: 7 }));
        let report = store.check_anchors(vec![anchor], vec![signer.verifying_key()]).unwrap();
        let (seq, reason) = report.broken.unwrap();
        assert_eq!(seq, 8);
        assert!(reason.contains("deleted"), "{reason}");
    }

    #[test]
    fn forged_or_foreign_anchors_do_not_vouch() {
        let (_dir, store) = temp_store();
        fill(&store, 4);
        let (agency, forger) = (key(3), key(4));
        let genuine = anchor_now(&store, &agency);
        // A line signed by another key fails with the agency's key given.
        let forged = Anchor::sign(&store.audit_head().unwrap(), &genuine.store, "s1", Utc::now(), &forger);
        let report = store.check_anchors(vec![forged], vec![agency.verifying_key()]).unwrap();
        assert!(report.broken.unwrap().1.contains("not signed"));
        // Another car's anchor is skipped and counted.
        let other = Anchor::sign(&store.audit_head().unwrap(), "another-car", "s1", Utc::now(), &agency);
        let report = store.check_anchors(vec![other], vec![agency.verifying_key()]).unwrap();
        assert_eq!((report.held, report.other_stores, report.broken), (1, 1, None));
    }
}
