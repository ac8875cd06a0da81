//! The `fleet` command: the back office on PostgreSQL. `fleet init` creates or migrates the
//! office schema; `fleet enroll-car` gives a car its own database role and writes its
//! credentials file. Both are the ALPR Administrator's (`--as`, PIN asked, audited here).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use super::Context;
use super::store::{Secrets, actor, open_store, rules};
use crate::audit::AuditAction;
use crate::fleet::{connect, enroll, schema};
use crate::session::{Accounts, Permission};

/// Subcommands of `fleet`.
#[derive(Debug, clap::Subcommand)]
pub enum FleetCommand {
    /// Create or migrate the office schema in a PostgreSQL database (safe to run again).
    Init {
        /// The office database: a PostgreSQL URL of a role that owns it.
        #[arg(long = "db", value_name = "URL")]
        db: String,
        /// The administrator doing it (PIN from PATROL_ALPR_PIN or stdin).
        #[arg(long = "as", value_name = "ADMIN_ID")]
        as_user: String,
    },
    /// Give a car its own role in the office database and write its credentials file.
    EnrollCar {
        /// The car's id (1-32 letters, digits, '-' or '_').
        car_id: String,
        /// The office database: a PostgreSQL URL of a role that may create roles.
        #[arg(long = "db", value_name = "URL")]
        db: String,
        /// Where to write the car's credentials (outside its data dir; never overwritten).
        #[arg(long, value_name = "FILE")]
        credentials: PathBuf,
        /// The administrator doing it (PIN from PATROL_ALPR_PIN or stdin).
        #[arg(long = "as", value_name = "ADMIN_ID")]
        as_user: String,
    },
}

/// Runs a `fleet` subcommand.
pub fn run(ctx: &Context, command: &FleetCommand) -> anyhow::Result<ExitCode> {
    let (as_user, what) = match command {
        FleetCommand::Init { as_user, .. } => (as_user, "fleet init".to_owned()),
        FleetCommand::EnrollCar { as_user, car_id, .. } => (as_user, format!("fleet enroll-car {car_id}")),
    };
    let store = open_store(ctx)?;
    let user = actor(&store, ctx, as_user, &mut Secrets::new())?;
    let accounts = Accounts::new(&store, rules(ctx));
    accounts.authorize(&user, Permission::ManageKeys, AuditAction::Admin, &what)?;
    let audit = |outcome: &str| {
        let event = crate::audit::AuditEvent::new(&user.id, &user.organization, AuditAction::Admin, &what, outcome);
        store.audit(event).context("recording the audit row")
    };
    let result = match command {
        FleetCommand::Init { db, .. } => init(db),
        FleetCommand::EnrollCar { db, car_id, credentials, .. } => {
            enroll_car(db, car_id, credentials, &ctx.paths.data_dir, &user.id)
        }
    };
    match result {
        Ok(outcome) => {
            audit(&outcome)?;
            println!("{outcome}");
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            audit(&format!("failed: {err:#}"))?;
            Err(err)
        }
    }
}

fn init(db: &str) -> anyhow::Result<String> {
    let mut client = connect(db)?;
    let migrated = schema::migrate(&mut client, chrono::Utc::now().date_naive())?;
    Ok(if migrated.applied.is_empty() {
        format!("office schema at version {}: nothing to do", migrated.to)
    } else {
        format!("office schema from version {} to {}: {}", migrated.from, migrated.to, migrated.applied.join("; "))
    })
}

fn enroll_car(
    db: &str,
    car: &str,
    credentials: &std::path::Path,
    data_dir: &std::path::Path,
    by: &str,
) -> anyhow::Result<String> {
    // Checked before the role exists, so a bad path leaves no orphan role behind.
    crate::store::key::check_outside(credentials, data_dir)?;
    anyhow::ensure!(!credentials.exists(), "{} exists: choose another file", credentials.display());
    let mut client = connect(db)?;
    let version = schema::version(&mut client)?;
    anyhow::ensure!(version > 0, "the office database has no schema yet: run `patrol-alpr fleet init` first");
    let enrolled = enroll::enroll_car(&mut client, car, by)?;
    enroll::write_credentials(credentials, data_dir, &enrolled)?;
    Ok(format!("car {} enrolled as role {}; credentials in {}", enrolled.car_id, enrolled.user, credentials.display()))
}
