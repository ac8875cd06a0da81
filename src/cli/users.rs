//! The `users` command: the ALPR Administrator's account management from the command line.
//! Each subcommand authenticates the `--as` administrator (PIN from `PATROL_ALPR_PIN` or
//! stdin); the first `users add` on an empty registry creates the first administrator.

use std::process::ExitCode;

use chrono::NaiveDate;

use super::Context;
use super::store::{Secrets, actor, open_store, rules};
use crate::session::{Accounts, NewUser, Role};

/// Subcommands of `users`.
#[derive(Debug, clap::Subcommand)]
pub enum UsersCommand {
    /// Create a user (the first user, on an empty registry, must be an administrator and
    /// needs no --as). The new PIN comes from PATROL_ALPR_NEW_PIN or stdin.
    Add {
        /// Login id (badge number).
        id: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// officer, supervisor or administrator.
        #[arg(long)]
        role: String,
        /// Training completed on (YYYY-MM-DD).
        #[arg(long)]
        trained_on: Option<NaiveDate>,
        /// Certification valid until (YYYY-MM-DD).
        #[arg(long)]
        certified_until: Option<NaiveDate>,
        /// The administrator doing it.
        #[arg(long = "as", value_name = "ADMIN_ID")]
        as_user: Option<String>,
    },
    /// List every account.
    List {
        /// The administrator doing it.
        #[arg(long = "as", value_name = "ADMIN_ID")]
        as_user: String,
    },
    /// Record training and certification.
    Certify {
        /// The user.
        id: String,
        /// Training completed on (YYYY-MM-DD).
        #[arg(long)]
        trained_on: NaiveDate,
        /// Certification valid until (YYYY-MM-DD).
        #[arg(long)]
        until: NaiveDate,
        /// The administrator doing it.
        #[arg(long = "as", value_name = "ADMIN_ID")]
        as_user: String,
    },
    /// Suspend an account.
    Suspend {
        /// The user.
        id: String,
        /// Why.
        #[arg(long)]
        reason: String,
        /// The administrator doing it.
        #[arg(long = "as", value_name = "ADMIN_ID")]
        as_user: String,
    },
    /// Reactivate a suspended or locked account.
    Reactivate {
        /// The user.
        id: String,
        /// The administrator doing it.
        #[arg(long = "as", value_name = "ADMIN_ID")]
        as_user: String,
    },
    /// Deactivate an account on separation (permanent).
    Deactivate {
        /// The user.
        id: String,
        /// Why (separation date...).
        #[arg(long)]
        reason: String,
        /// The administrator doing it.
        #[arg(long = "as", value_name = "ADMIN_ID")]
        as_user: String,
    },
    /// Set a new PIN (from PATROL_ALPR_NEW_PIN or stdin); clears a lockout.
    ResetPin {
        /// The user.
        id: String,
        /// The administrator doing it.
        #[arg(long = "as", value_name = "ADMIN_ID")]
        as_user: String,
    },
}

/// Runs `users`.
pub fn run(ctx: &Context, command: UsersCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(ctx)?;
    let accounts = Accounts::new(&store, rules(ctx));
    let mut secrets = Secrets::new();
    match command {
        UsersCommand::Add { id, name, role, trained_on, certified_until, as_user } => {
            let role = Role::parse(&role)
                .ok_or_else(|| anyhow::anyhow!("unknown role {role:?}: officer, supervisor or administrator"))?;
            let first = accounts.count()? == 0;
            let admin = match (&as_user, first) {
                (Some(id), _) => Some(actor(&store, ctx, id, &mut secrets)?),
                (None, true) => None,
                (None, false) => {
                    anyhow::bail!("--as ADMIN_ID is required once the first administrator exists")
                }
            };
            let pin = secrets.get("PATROL_ALPR_NEW_PIN", &format!("new PIN for {id}"))?;
            let new = NewUser { id: id.clone(), name, role, pin, trained_on, certified_until };
            match admin {
                Some(admin) => accounts.create_user(&admin, new)?,
                None => accounts.bootstrap_admin(new)?,
            }
            println!("created {} {id}", role.as_str());
        }
        UsersCommand::List { as_user } => {
            let admin = actor(&store, ctx, &as_user, &mut secrets)?;
            // The list shows what a log-on would find: idle accounts are suspended first.
            for id in accounts.suspend_inactive(chrono::Utc::now())? {
                eprintln!("{id}: suspended for inactivity");
            }
            println!("id\tname\trole\tstatus\ttrained_on\tcertified_until\tlast_activity");
            for u in accounts.list(&admin)? {
                let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_else(|| "-".into());
                let status = if u.status_reason.is_empty() {
                    u.status.as_str().to_owned()
                } else {
                    format!("{} ({})", u.status.as_str(), u.status_reason)
                };
                println!(
                    "{}\t{}\t{}\t{status}\t{}\t{}\t{}",
                    u.id,
                    u.name,
                    u.role.as_str(),
                    date(u.trained_on),
                    date(u.certified_until),
                    u.last_activity.map(|t| t.to_rfc3339()).unwrap_or_else(|| "-".into())
                );
            }
        }
        UsersCommand::Certify { id, trained_on, until, as_user } => {
            let admin = actor(&store, ctx, &as_user, &mut secrets)?;
            accounts.certify(&admin, &id, trained_on, until)?;
            println!("{id}: trained {trained_on}, certified until {until}");
        }
        UsersCommand::Suspend { id, reason, as_user } => {
            let admin = actor(&store, ctx, &as_user, &mut secrets)?;
            accounts.suspend(&admin, &id, &reason)?;
            println!("{id}: suspended");
        }
        UsersCommand::Reactivate { id, as_user } => {
            let admin = actor(&store, ctx, &as_user, &mut secrets)?;
            accounts.reactivate(&admin, &id)?;
            println!("{id}: reactivated");
        }
        UsersCommand::Deactivate { id, reason, as_user } => {
            let admin = actor(&store, ctx, &as_user, &mut secrets)?;
            accounts.deactivate(&admin, &id, &reason)?;
            println!("{id}: deactivated");
        }
        UsersCommand::ResetPin { id, as_user } => {
            let admin = actor(&store, ctx, &as_user, &mut secrets)?;
            let pin = secrets.get("PATROL_ALPR_NEW_PIN", &format!("new PIN for {id}"))?;
            accounts.reset_pin(&admin, &id, &pin)?;
            println!("{id}: PIN reset");
        }
    }
    Ok(ExitCode::SUCCESS)
}
