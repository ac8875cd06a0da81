//! The `search` command: stored reads by plate, or by place and time, each with a purpose and
//! a case number, audited as the console's searches are; and the case holds that keep a read
//! past retention (`search hold`, `search release`).

use std::process::ExitCode;

use super::Context;
use super::store::{Secrets, actor, open_store, parse_time, rules};
use crate::location::Area;
use crate::reports::search::{hold_read, release_case, search_reads, search_reads_near};
use crate::session::Accounts;
use crate::store::StoredRead;

/// Subcommands of `search`.
#[derive(Debug, clap::Subcommand)]
pub enum SearchCommand {
    /// Reads of one plate.
    Plate {
        /// The plate (normalized: spaces and dashes ignored).
        plate: String,
        #[command(flatten)]
        why: Why,
    },
    /// Reads made within a radius of a point in a period.
    Near {
        /// The point, `LAT,LON` in degrees.
        point: String,
        /// Radius in metres (1 to 100000).
        #[arg(long, default_value_t = 500.0)]
        radius: f64,
        /// Period start (YYYY-MM-DD or RFC 3339).
        #[arg(long)]
        from: String,
        /// Period end (a date includes that day).
        #[arg(long)]
        to: String,
        #[command(flatten)]
        why: Why,
    },
    /// Place a case hold on a read: it is kept past retention, in this car and at the office
    /// (once sent), until every case holding it is released. A supervisor's act, audited
    /// with the case number.
    Hold {
        /// The read's id (the first column of a search's lines).
        read_id: i64,
        /// The case or incident number.
        #[arg(long = "case")]
        case_number: String,
        /// The supervisor placing it (PIN from PATROL_ALPR_PIN or stdin).
        #[arg(long = "as", value_name = "ID")]
        as_user: String,
    },
    /// Release every hold of a case: its reads go with the next purge once no other case
    /// holds them.
    Release {
        /// The case or incident number.
        #[arg(long = "case")]
        case_number: String,
        /// The supervisor releasing it (PIN from PATROL_ALPR_PIN or stdin).
        #[arg(long = "as", value_name = "ID")]
        as_user: String,
    },
}

/// Who searches, and why: every search of stored reads needs all three.
#[derive(Debug, clap::Args)]
pub struct Why {
    /// Why (a law-enforcement purpose).
    #[arg(long)]
    purpose: String,
    /// The case or incident number.
    #[arg(long = "case")]
    case_number: String,
    /// The user searching.
    #[arg(long = "as", value_name = "ID")]
    as_user: String,
    /// Search every car's reads in the office database instead of this console's (also from
    /// PATROL_ALPR_OFFICE_URL); recorded in the office's audit log too.
    #[arg(long = "db", value_name = "URL", env = "PATROL_ALPR_OFFICE_URL", hide_env_values = true)]
    db: Option<String>,
}

/// Runs `search`: one line per read, `id time camera plate confidence lat lon`.
pub fn run(ctx: &Context, command: SearchCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(ctx)?;
    let accounts = Accounts::new(&store, rules(ctx));
    let mut secrets = Secrets::new();
    let rows = match command {
        SearchCommand::Hold { read_id, case_number, as_user } => {
            let user = actor(&store, ctx, &as_user, &mut secrets)?;
            hold_read(&store, &accounts, &user, read_id, &case_number)?;
            println!("read {read_id} held for case {case_number}");
            return Ok(ExitCode::SUCCESS);
        }
        SearchCommand::Release { case_number, as_user } => {
            let user = actor(&store, ctx, &as_user, &mut secrets)?;
            let released = release_case(&store, &accounts, &user, &case_number)?;
            println!("{released} holds of case {case_number} released");
            return Ok(ExitCode::SUCCESS);
        }
        SearchCommand::Plate { plate, why: Why { purpose, case_number, as_user, db: Some(db) } } => {
            let terms = super::office::Terms::Plate(&plate);
            return super::office::search(ctx, &store, &mut secrets, &db, &terms, (&purpose, &case_number), &as_user);
        }
        SearchCommand::Near { point, radius, from, to, why: Why { purpose, case_number, as_user, db: Some(db) } } => {
            let area = Area { lat: 0.0, lon: 0.0, radius_m: radius };
            let area = parse_point(&point).map(|(lat, lon)| Area { lat, lon, ..area })?;
            let terms = super::office::Terms::Near(area, parse_time(&from, false)?, parse_time(&to, true)?);
            return super::office::search(ctx, &store, &mut secrets, &db, &terms, (&purpose, &case_number), &as_user);
        }
        SearchCommand::Plate { plate, why } => {
            let user = actor(&store, ctx, &why.as_user, &mut secrets)?;
            search_reads(&store, &accounts, &user, &plate, &why.purpose, &why.case_number)?
        }
        SearchCommand::Near { point, radius, from, to, why } => {
            let (lat, lon) = parse_point(&point)?;
            let user = actor(&store, ctx, &why.as_user, &mut secrets)?;
            let area = Area { lat, lon, radius_m: radius };
            let (from, to) = (parse_time(&from, false)?, parse_time(&to, true)?);
            search_reads_near(&store, &accounts, &user, area, from, to, &why.purpose, &why.case_number)?
        }
    };
    for row in &rows {
        println!("{}", line(row));
    }
    println!("{} reads", rows.len());
    Ok(ExitCode::SUCCESS)
}

fn parse_point(point: &str) -> anyhow::Result<(f64, f64)> {
    point
        .split_once(',')
        .and_then(|(a, b)| Some((a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?)))
        .ok_or_else(|| anyhow::anyhow!("{point:?}: give the point as LAT,LON in degrees"))
}

fn line(row: &StoredRead) -> String {
    let read = &row.read;
    let place = read.gps.map_or_else(|| "no-fix".to_owned(), |g| format!("{:.6} {:.6}", g.lat, g.lon));
    format!("{}\t{}\t{}\t{}\t{:.2}\t{place}", row.id, read.time.to_rfc3339(), read.camera, read.plate, read.confidence)
}
