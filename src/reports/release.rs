//! Data release: exporting stored reads (CSV plus crop images) to another agency. Only
//! supervisors and administrators may release data, every release records the requesting
//! agency, purpose and case number, and recipients that are not California public agencies
//! (out-of-state, federal, private) are refused (Civ. Code 1798.90.55; DOJ bulletin
//! 2023-DLE-06). Refusals are audited too.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::{ReportError, csv_line, require_purpose};
use crate::audit::{AuditAction, AuditEvent};
use crate::session::{Accounts, Permission, User};
use crate::store::Store;
use crate::store::audit_log::append;
use crate::store::records::reads_between;

/// What kind of body a recipient is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum AgencyKind {
    /// A city or port police department.
    LocalPolice,
    /// A county sheriff.
    Sheriff,
    /// A state agency (CHP, DOJ...).
    StateAgency,
    /// A district attorney or other prosecutor.
    Prosecutor,
    /// A court.
    Court,
    /// A federal agency: refused under SB 34 as the Attorney General reads it.
    Federal,
    /// A private person or company: refused.
    Private,
}

/// The agency asking for data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// Agency name.
    pub agency: String,
    /// Two-letter state of the agency.
    pub state: String,
    /// Kind of agency.
    pub kind: AgencyKind,
}

/// Why a recipient may not receive ALPR data, or `None` when it may: only California public
/// agencies may.
pub fn release_refusal(recipient: &Recipient) -> Option<String> {
    match recipient.kind {
        AgencyKind::Federal => {
            Some("federal agencies are not California public agencies (Civ. Code 1798.90.55)".into())
        }
        AgencyKind::Private => Some("private entities may not receive ALPR data (Civ. Code 1798.90.55)".into()),
        _ if !recipient.state.trim().eq_ignore_ascii_case("CA") => Some(format!(
            "out-of-state agency ({}): only California public agencies may receive ALPR data",
            recipient.state.trim()
        )),
        _ if recipient.agency.trim().is_empty() => Some("the requesting agency must be named".into()),
        _ => None,
    }
}

/// A release request.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// Who asks.
    pub recipient: Recipient,
    /// Why (law-enforcement purpose).
    pub purpose: String,
    /// Case or incident number.
    pub case_number: String,
    /// Reads from this time.
    pub from: DateTime<Utc>,
    /// Reads before this time.
    pub to: DateTime<Utc>,
    /// Folder to write `reads.csv` and `images/` into.
    pub out_dir: PathBuf,
}

/// What was released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportSummary {
    /// Reads written.
    pub reads: usize,
    /// Crop images written.
    pub images: usize,
    /// The CSV file.
    pub csv: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io { path: path.to_path_buf(), source }
}

/// Releases the reads of a period to a recipient, after the role, purpose and recipient
/// checks; the release is recorded in the exports table and the audit log.
pub fn export_reads(
    store: &Store,
    accounts: &Accounts<'_>,
    actor: &User,
    request: &ExportRequest,
) -> Result<ExportSummary, ReportError> {
    let r = &request.recipient;
    let what = format!(
        "reads {} to {} for {} ({}, {:?})",
        request.from.to_rfc3339(),
        request.to.to_rfc3339(),
        r.agency,
        r.state,
        r.kind
    );
    accounts.authorize(actor, Permission::ExportData, AuditAction::Export, &what)?;
    require_purpose(store, actor, AuditAction::Export, &what, &request.purpose, &request.case_number)?;
    let event = AuditEvent::new(&actor.id, &actor.organization, AuditAction::Export, &what, "")
        .with_purpose(&request.purpose, &request.case_number);
    if let Some(reason) = release_refusal(r) {
        store.audit(AuditEvent { outcome: format!("refused: {reason}"), ..event })?;
        return Err(ReportError::Refused(reason));
    }
    let (from_ms, to_ms) = (request.from.timestamp_millis(), request.to.timestamp_millis());
    let reads = store.read(|conn| reads_between(conn, from_ms, to_ms))?;

    let images_dir = request.out_dir.join("images");
    std::fs::create_dir_all(&images_dir).map_err(io(&images_dir))?;
    let mut csv = csv_line(&["id", "time", "camera", "plate", "state", "confidence", "lat", "lon", "image"]);
    let mut written = Vec::new();
    for stored in &reads {
        let read = &stored.read;
        let image = match &read.crop_png {
            Some(png) => {
                let name = format!("images/{}.png", stored.id);
                let path = request.out_dir.join(&name);
                std::fs::write(&path, png).map_err(io(&path))?;
                written.push(path);
                name
            }
            None => String::new(),
        };
        csv.push_str(&csv_line(&[
            stored.id.to_string(),
            read.time.to_rfc3339(),
            read.camera.clone(),
            read.plate.clone(),
            read.state.clone().unwrap_or_default(),
            format!("{:.3}", read.confidence),
            read.gps.map(|g| g.lat.to_string()).unwrap_or_default(),
            read.gps.map(|g| g.lon.to_string()).unwrap_or_default(),
            image,
        ]));
    }
    let csv_path = request.out_dir.join("reads.csv");
    std::fs::write(&csv_path, csv).map_err(io(&csv_path))?;

    let summary = ExportSummary { reads: reads.len(), images: written.len(), csv: csv_path.clone() };
    let (actor_id, recipient, purpose, case, out) = (
        actor.id.clone(),
        r.clone(),
        request.purpose.clone(),
        request.case_number.clone(),
        request.out_dir.display().to_string(),
    );
    let outcome = format!("released {} reads, {} images to {}", summary.reads, summary.images, out);
    let rows = summary.reads as i64;
    let recorded = store.write(move |conn| {
        conn.execute(
            "INSERT INTO exports (time_ms, user, agency, agency_state, agency_kind, purpose, case_number, from_ms, to_ms, rows, out_dir)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![Utc::now().timestamp_millis(), actor_id, recipient.agency, recipient.state, format!("{:?}", recipient.kind), purpose, case, from_ms, to_ms, rows, out],
        )?;
        append(conn, &AuditEvent { outcome, ..event })
    });
    if let Err(err) = recorded {
        // A release that cannot be recorded must not happen: take the files back.
        for path in written.iter().chain(std::iter::once(&csv_path)) {
            let _ = std::fs::remove_file(path);
        }
        return Err(err.into());
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::testing::users;
    use crate::session::AccountRules;
    use crate::store::NewRead;
    use crate::store::testing::temp_store;

    fn check(state: &str, kind: AgencyKind, allowed: bool) {
        let recipient = Recipient { agency: "Some Agency".into(), state: state.into(), kind };
        assert_eq!(release_refusal(&recipient).is_none(), allowed, "{state} {kind:?}");
    }

    #[test]
    fn recipient_rules() {
        check("CA", AgencyKind::LocalPolice, true);
        check("ca", AgencyKind::Sheriff, true);
        check("CA", AgencyKind::StateAgency, true);
        check("CA", AgencyKind::Prosecutor, true);
        check("CA", AgencyKind::Court, true);
        check("NV", AgencyKind::LocalPolice, false);
        check("AZ", AgencyKind::Sheriff, false);
        check("CA", AgencyKind::Federal, false);
        check("DC", AgencyKind::Federal, false);
        check("CA", AgencyKind::Private, false);
        assert!(
            release_refusal(&Recipient { agency: " ".into(), state: "CA".into(), kind: AgencyKind::LocalPolice })
                .is_some()
        );
    }

    #[test]
    fn export_writes_csv_and_images_and_refuses_the_rest() {
        let (dir, store) = temp_store();
        let (admin, sup, off) = users(&store);
        let accounts = Accounts::new(&store, AccountRules::default());
        let now = Utc::now();
        for (i, crop) in [(0, Some(vec![0x89, b'P', b'N', b'G'])), (1, None)] {
            let read = NewRead {
                time: now - chrono::Duration::minutes(10 - i),
                camera: "front".into(),
                officer: Some("o1".into()),
                plate: format!("7ABC12{i}"),
                confidence: 0.9,
                candidates_json: "[]".into(),
                state: Some("CA".into()),
                gps: Some(crate::location::Fix::at(now, 33.7, -118.2)),
                crop_png: crop,
            };
            store.insert_read(read).unwrap();
        }
        let request = |state: &str, kind, out: &str| ExportRequest {
            recipient: Recipient { agency: "Long Beach PD".into(), state: state.into(), kind },
            purpose: "stolen vehicle investigation".into(),
            case_number: "LB-2026-001".into(),
            from: now - chrono::Duration::hours(1),
            to: now,
            out_dir: dir.path().join(out),
        };
        let ok = request("CA", AgencyKind::LocalPolice, "out");
        assert!(matches!(export_reads(&store, &accounts, &off, &ok), Err(ReportError::Session(_))));
        for (state, kind) in [("NV", AgencyKind::LocalPolice), ("CA", AgencyKind::Federal), ("CA", AgencyKind::Private)]
        {
            let bad = request(state, kind, "refused");
            assert!(
                matches!(export_reads(&store, &accounts, &sup, &bad), Err(ReportError::Refused(_))),
                "{state} {kind:?}"
            );
        }
        assert!(!dir.path().join("refused").exists());
        // A blank purpose or case is refused, and the attempt audited like the others.
        let blank = ExportRequest { case_number: " ".into(), ..request("CA", AgencyKind::LocalPolice, "refused") };
        assert!(matches!(export_reads(&store, &accounts, &sup, &blank), Err(ReportError::Invalid(_))));
        let summary = export_reads(&store, &accounts, &admin, &ok).unwrap();
        assert_eq!((summary.reads, summary.images), (2, 1));
        let csv = std::fs::read_to_string(&summary.csv).unwrap();
        assert_eq!(csv.lines().count(), 3);
        assert!(csv.contains("7ABC120") && csv.contains("images/"));
        let exports: i64 = store
            .read(|c| {
                Ok(c.query_row("SELECT count(*) FROM exports WHERE case_number = 'LB-2026-001'", [], |r| r.get(0))?)
            })
            .unwrap();
        assert_eq!(exports, 1);
        let outcomes: Vec<String> = store
            .read(|c| {
                let mut s = c.prepare("SELECT outcome FROM audit_log WHERE action = 'export' ORDER BY seq")?;
                Ok(s.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?)
            })
            .unwrap();
        assert_eq!(outcomes.len(), 6, "{outcomes:?}");
        assert!(
            outcomes[1].contains("out-of-state") && outcomes[2].contains("federal") && outcomes[3].contains("private")
        );
        assert!(outcomes[4].contains("refused: a purpose and a case or incident number are required"));
        assert!(outcomes[5].starts_with("released 2 reads, 1 images"));
    }
}
