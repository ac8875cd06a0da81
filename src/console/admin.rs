//! The ALPR Administrator's work at the console: accounts (create, training and
//! certification, PIN reset, suspension with a typed reason, reactivation, deactivation on
//! separation) and the system settings (cameras, hot-list sources and key, retention, the
//! purge by hand). Every call goes through `session::Accounts` and `session::admin`, which
//! check the role and audit the change; this module only parses what was typed.

use chrono::NaiveDate;

use super::{Console, account_rules};
use crate::session::admin::{AdminSettings, Administration, PurgeOutcome, SettingsView};
use crate::session::{Accounts, NewUser, Role, User};

/// What the administration screen shows; refreshed by its commands.
#[derive(Debug, Default, Clone)]
pub struct AdminData {
    /// Every account.
    pub users: Vec<User>,
    /// The settings in force and where each comes from.
    pub settings: Option<SettingsView>,
    /// The last purge run or counted from the screen.
    pub purge: Option<PurgeOutcome>,
    /// What the last change did, in words.
    pub done: Option<String>,
}

/// What the administration screen asks for. Dates and numbers come as typed; they are
/// checked here so a mistake comes back as a message and nothing is changed.
#[derive(Debug, Clone, PartialEq)]
pub enum AdminCommand {
    /// Load the accounts and the settings.
    Load,
    /// Create an account.
    CreateUser {
        /// Login id (badge number).
        id: String,
        /// Display name.
        name: String,
        /// Role.
        role: Role,
        /// Training completed on, YYYY-MM-DD (may be empty: the user cannot log on yet).
        trained_on: String,
        /// Certification valid until, YYYY-MM-DD (may be empty).
        certified_until: String,
        /// Initial PIN.
        pin: String,
        /// The same PIN again.
        pin_again: String,
    },
    /// Record training and certification.
    Certify {
        /// Account.
        id: String,
        /// Training completed on, YYYY-MM-DD.
        trained_on: String,
        /// Certification valid until, YYYY-MM-DD.
        certified_until: String,
    },
    /// Set a new PIN (clears a lockout).
    ResetPin {
        /// Account.
        id: String,
        /// New PIN.
        pin: String,
        /// The same PIN again.
        pin_again: String,
    },
    /// Suspend an account.
    Suspend {
        /// Account.
        id: String,
        /// Why (required).
        reason: String,
    },
    /// Reactivate a suspended or locked account.
    Reactivate {
        /// Account.
        id: String,
    },
    /// Deactivate an account on separation (permanent).
    Deactivate {
        /// Account.
        id: String,
        /// Why (required: separation date...).
        reason: String,
    },
    /// Add a camera source.
    AddCamera {
        /// `auto`, `sim`, `replay:PATH` or `camera:INDEX|NAME|PATH`.
        source: String,
    },
    /// Remove a camera source.
    RemoveCamera {
        /// The source as listed.
        source: String,
    },
    /// Add a hot-list update source.
    AddHotlistSource {
        /// An absolute folder path.
        source: String,
    },
    /// Remove a hot-list update source.
    RemoveHotlistSource {
        /// The source as listed.
        source: String,
    },
    /// Set the agency's hot-list public key.
    SetHotlistKey {
        /// The base64 line `hotlist keygen` printed.
        key: String,
    },
    /// Set the retention period.
    SetRetention {
        /// Days, as typed.
        days: String,
    },
    /// Run the purge with the retention in force, or only count it.
    Purge {
        /// Count without deleting.
        dry_run: bool,
    },
}

fn date(text: &str, what: &str) -> Result<Option<NaiveDate>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| format!("{what} {text:?} is not a date: type YYYY-MM-DD"))
}

fn required(text: &str, what: &str) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() { Err(format!("type the {what}")) } else { Ok(text.to_owned()) }
}

fn same_pin(pin: &str, again: &str) -> Result<(), String> {
    if pin == again { Ok(()) } else { Err("the two PINs differ: type the new PIN twice".into()) }
}

impl Console {
    /// The administration screen's data.
    pub fn admin(&self) -> &AdminData {
        &self.admin
    }

    /// Runs an administration command; refusals (role, input) come back as the message.
    pub fn administer(&mut self, command: AdminCommand) -> Result<(), String> {
        let user = self.session.as_ref().map(|s| s.user.clone()).ok_or("nobody is logged on")?;
        let result = self.administer_as(&user, command);
        if result.is_err() {
            self.admin.done = None;
        }
        result
    }

    fn administer_as(&mut self, user: &User, command: AdminCommand) -> Result<(), String> {
        let (store, config) = (self.store.clone(), self.config.clone());
        let accounts = Accounts::new(&store, account_rules(&config));
        let admin = Administration::new(&store, accounts, &config);
        let err = |e: crate::session::SessionError| e.to_string();
        let now = self.now();
        let (done, settings_changed) = match command {
            AdminCommand::Load => (None, false),
            AdminCommand::CreateUser { id, name, role, trained_on, certified_until, pin, pin_again } => {
                let id = required(&id, "user id")?;
                let name = required(&name, "name")?;
                let trained_on = date(&trained_on, "training date")?;
                let certified_until = date(&certified_until, "certification expiry")?;
                same_pin(&pin, &pin_again)?;
                let new = NewUser { id: id.clone(), name, role, pin, trained_on, certified_until };
                accounts.create_user(user, new).map_err(err)?;
                (Some(format!("created {} {}", role.as_str(), id.to_ascii_lowercase())), false)
            }
            AdminCommand::Certify { id, trained_on, certified_until } => {
                let id = required(&id, "user id")?;
                let trained = date(&trained_on, "training date")?.ok_or("type the training date (YYYY-MM-DD)")?;
                let until = date(&certified_until, "certification expiry")?
                    .ok_or("type the certification expiry (YYYY-MM-DD)")?;
                accounts.certify(user, &id, trained, until).map_err(err)?;
                (Some(format!("{id}: trained {trained}, certified until {until}")), false)
            }
            AdminCommand::ResetPin { id, pin, pin_again } => {
                let id = required(&id, "user id")?;
                same_pin(&pin, &pin_again)?;
                accounts.reset_pin(user, &id, &pin).map_err(err)?;
                (Some(format!("{id}: PIN reset")), false)
            }
            AdminCommand::Suspend { id, reason } => {
                let reason = required(&reason, "reason for the suspension")?;
                accounts.suspend(user, &id, &reason).map_err(err)?;
                (Some(format!("{id}: suspended ({reason})")), false)
            }
            AdminCommand::Reactivate { id } => {
                accounts.reactivate(user, &id).map_err(err)?;
                (Some(format!("{id}: reactivated")), false)
            }
            AdminCommand::Deactivate { id, reason } => {
                let reason = required(&reason, "reason for the deactivation (separation date...)")?;
                accounts.deactivate(user, &id, &reason).map_err(err)?;
                (Some(format!("{id}: deactivated ({reason})")), false)
            }
            AdminCommand::AddCamera { source } => {
                admin.add_camera(user, &source).map_err(err)?;
                (Some(format!("camera {} added: used from the next log-on", source.trim())), true)
            }
            AdminCommand::RemoveCamera { source } => {
                admin.remove_camera(user, &source).map_err(err)?;
                (Some(format!("camera {source} removed: from the next log-on")), true)
            }
            AdminCommand::AddHotlistSource { source } => {
                admin.add_hotlist_source(user, &source).map_err(err)?;
                (Some(format!("hot-list source {} added", source.trim())), true)
            }
            AdminCommand::RemoveHotlistSource { source } => {
                admin.remove_hotlist_source(user, &source).map_err(err)?;
                (Some(format!("hot-list source {source} removed")), true)
            }
            AdminCommand::SetHotlistKey { key } => {
                admin.set_hotlist_key(user, &key).map_err(err)?;
                (Some("hot-list public key set: the next update is checked with it".into()), true)
            }
            AdminCommand::SetRetention { days } => {
                let days: u32 =
                    days.trim().parse().map_err(|_| format!("{:?} is not a number of days", days.trim()))?;
                admin.set_retention(user, days).map_err(err)?;
                (Some(format!("retention set to {days} days")), true)
            }
            AdminCommand::Purge { dry_run } => {
                let outcome = admin.purge(user, dry_run, now).map_err(err)?;
                self.admin.purge = Some(outcome);
                (None, false)
            }
        };
        if settings_changed {
            self.apply_admin_settings().map_err(|e| format!("the change is saved, but not yet in use: {e}"))?;
        }
        self.admin.users = accounts.list(user).map_err(err)?;
        self.admin.settings = Some(admin.view(user).map_err(err)?);
        if done.is_some() {
            self.admin.done = done;
        }
        Ok(())
    }

    /// Lays the administered settings over the running console's: the next shift-start
    /// update uses the new hot-list sources and key, the next log-on opens the new cameras
    /// (unless the command line named them), and the daily purge restarts with the new period.
    pub(super) fn apply_admin_settings(&mut self) -> Result<(), String> {
        let settings = AdminSettings::load(&self.store).map_err(|e| e.to_string())?;
        let retention_before = self.config.store.retention_days;
        settings.apply(&mut self.config);
        if self.sources_from_settings {
            self.sources = crate::camera::open::configured_sources(&self.config.cameras)?;
        }
        if self.config.store.retention_days != retention_before || self.purge_scheduler.is_none() {
            self.purge_scheduler = None;
            self.purge_scheduler = Some(super::start_purge(&self.store, &self.config)?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_input_is_checked_before_anything_changes() {
        assert_eq!(date("", "x"), Ok(None));
        assert_eq!(date(" 2026-01-31 ", "x"), Ok(NaiveDate::from_ymd_opt(2026, 1, 31)));
        assert!(date("31/01/2026", "training date").unwrap_err().contains("YYYY-MM-DD"));
        assert!(required("  ", "name").is_err());
        assert_eq!(required(" a ", "name"), Ok("a".to_owned()));
        assert!(same_pin("123456", "123465").is_err());
        assert!(same_pin("123456", "123456").is_ok());
    }
}
