//! The supervisors' and the ALPR Administrator's work at the console: the usage report (with
//! CSV export), random audits, user status and the open equipment reports. Every call goes
//! through `reports` and `session`, which check the role and audit the access.

use chrono::{Duration, Utc};

use super::{Console, account_rules};
use crate::reports::exigent::{ExigentItem, exigent_queue, review_exigent};
use crate::reports::sample::{AuditSample, Verdict, draw_sample, review_item, show_sample};
use crate::reports::usage::{ShiftUsage, to_csv, usage_report};
use crate::session::{Accounts, Permission};
use crate::store::records::EquipmentReportRow;

/// What the oversight screen shows; refreshed by its commands.
#[derive(Debug, Default, Clone)]
pub struct Oversight {
    /// The usage report's rows.
    pub usage: Vec<ShiftUsage>,
    /// The audit chain's head once the report was recorded (`SEQ:HASH`), shown with it.
    pub usage_audit_head: Option<String>,
    /// The days the report covers.
    pub usage_days: i64,
    /// Where the last CSV export was written.
    pub exported: Option<String>,
    /// The random audit being reviewed.
    pub sample: Option<AuditSample>,
    /// Open equipment reports.
    pub equipment: Vec<EquipmentReportRow>,
    /// Exigent hits of the last 30 days and their reviews.
    pub exigent: Vec<ExigentItem>,
}

/// What the oversight screen asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum OversightCommand {
    /// Run the usage report over the last `days` days.
    Usage {
        /// Days back from now.
        days: i64,
    },
    /// Write the report shown as CSV under the data dir's `exports/`.
    ExportUsage,
    /// Draw a random audit of `size` items over the last `days` days.
    DrawSample {
        /// Days back from now.
        days: i64,
        /// Items.
        size: usize,
    },
    /// Review one item of the sample shown.
    Review {
        /// Item number.
        item: i64,
        /// Compliant or flagged.
        verdict: Verdict,
        /// Why.
        note: String,
    },
    /// Load the open equipment reports.
    Equipment,
    /// Load the exigent hits of the last 30 days for review.
    ExigentQueue,
    /// Record the verdict on one exigent hit.
    ReviewExigent {
        /// The hit.
        hit: i64,
        /// Compliant or flagged.
        verdict: Verdict,
        /// Why.
        note: String,
    },
}

impl Console {
    /// True when the logged-on user may open the oversight screen.
    pub fn may_oversee(&self) -> bool {
        self.session.as_ref().is_some_and(|s| s.user.role.allows(Permission::ViewUsageReport))
    }

    /// True when the logged-on user runs random audits and reviews exigent hits (supervisors).
    pub fn may_audit(&self) -> bool {
        self.session.as_ref().is_some_and(|s| s.user.role.allows(Permission::RunRandomAudit))
    }

    /// True when the logged-on user administers accounts.
    pub fn may_administer(&self) -> bool {
        self.session.as_ref().is_some_and(|s| s.user.role.allows(Permission::ManageUsers))
    }

    /// The oversight screen's data.
    pub fn oversight(&self) -> &Oversight {
        &self.oversight
    }

    /// Runs an oversight command; refusals (role, input) come back as the message.
    pub fn oversee(&mut self, command: OversightCommand) -> Result<(), String> {
        let user = self.session.as_ref().map(|s| s.user.clone()).ok_or("nobody is logged on")?;
        let accounts = Accounts::new(&self.store, account_rules(&self.config));
        let now = Utc::now();
        let err = |e: &dyn std::fmt::Display| e.to_string();
        match command {
            OversightCommand::Usage { days } => {
                let report = usage_report(&self.store, &accounts, &user, now - Duration::days(days), now, None)
                    .map_err(|e| err(&e))?;
                self.oversight.usage = report.rows;
                self.oversight.usage_audit_head = Some(report.audit_head.token());
                self.oversight.usage_days = days;
                self.oversight.exported = None;
            }
            OversightCommand::ExportUsage => {
                let dir = self.paths.data_dir.join("exports");
                std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                let path = dir.join(format!("usage-{}.csv", now.format("%Y%m%dT%H%M%SZ")));
                std::fs::write(&path, to_csv(&self.oversight.usage)).map_err(|e| format!("{}: {e}", path.display()))?;
                self.oversight.exported = Some(path.display().to_string());
            }
            OversightCommand::DrawSample { days, size } => {
                let sample = draw_sample(&self.store, &accounts, &user, now - Duration::days(days), now, size, None)
                    .map_err(|e| err(&e))?;
                self.oversight.sample = Some(sample);
            }
            OversightCommand::Review { item, verdict, note } => {
                let id = self.oversight.sample.as_ref().map(|s| s.id).ok_or("draw a sample first")?;
                review_item(&self.store, &accounts, &user, id, item, verdict, &note).map_err(|e| err(&e))?;
                self.oversight.sample = Some(show_sample(&self.store, &accounts, &user, id).map_err(|e| err(&e))?);
            }
            OversightCommand::ExigentQueue => {
                self.oversight.exigent =
                    exigent_queue(&self.store, &accounts, &user, now - Duration::days(30)).map_err(|e| err(&e))?;
            }
            OversightCommand::ReviewExigent { hit, verdict, note } => {
                review_exigent(&self.store, &accounts, &user, hit, verdict, &note).map_err(|e| err(&e))?;
                self.oversight.exigent =
                    exigent_queue(&self.store, &accounts, &user, now - Duration::days(30)).map_err(|e| err(&e))?;
            }
            OversightCommand::Equipment => {
                accounts
                    .authorize(
                        &user,
                        Permission::ManageCameras,
                        crate::audit::AuditAction::AuditView,
                        "equipment reports",
                    )
                    .map_err(|e| err(&e))?;
                self.oversight.equipment = self.store.open_equipment_reports().map_err(|e| err(&e))?;
            }
        }
        Ok(())
    }
}
