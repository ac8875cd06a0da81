//! The fleet back office on PostgreSQL (issue 19): the office database's schema
//! (`schema.rs`), enrolling a car as its own database role (`enroll.rs`), the car's sync
//! thread that forwards its outbox (`sync.rs`) and pulls the accounts the office publishes
//! (`pull.rs`). The pull of settings and hot lists is not built yet (docs/fleet.md, "Status").

pub mod enroll;
pub mod office;
pub mod pull;
pub mod schema;
pub mod sync;

use postgres::{Client, NoTls};

/// Why an office operation failed.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// The database refused or the connection failed (unreachable, wrong credentials, a
    /// full disk): PostgreSQL's own message.
    #[error("office database: {}", describe(.0))]
    Db(#[from] postgres::Error),
    /// The URL asks for something this build cannot do.
    #[error("office URL: {0}")]
    Url(String),
    /// The office's schema is newer than this build knows: update patrol-alpr first.
    #[error("the office database has schema version {office}; this patrol-alpr knows up to {known}: update it first")]
    SchemaTooNew {
        /// The office's version.
        office: i32,
        /// This build's newest.
        known: i32,
    },
    /// A migration failed (rolled back).
    #[error("migration {version} failed: {message}")]
    Migration {
        /// Its number.
        version: i32,
        /// PostgreSQL's message.
        message: String,
    },
    /// A car id that cannot be a role name.
    #[error("car id {0:?}: use 1-32 letters, digits, '-' or '_', starting with a letter or digit")]
    CarId(String),
    /// The car is enrolled already.
    #[error("car {0} is enrolled already")]
    CarExists(String),
    /// Writing the credentials file failed.
    #[error("credentials file {path}: {message}")]
    Credentials {
        /// The file.
        path: String,
        /// What failed.
        message: String,
    },
}

/// PostgreSQL's message in full: the server's own words for a refused statement (the
/// driver's `Display` says only "db error"), else the driver's error and its cause.
pub fn describe(err: &postgres::Error) -> String {
    if let Some(db) = err.as_db_error() {
        return match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_owned(),
        };
    }
    match std::error::Error::source(err) {
        Some(cause) => format!("{err}: {cause}"),
        None => err.to_string(),
    }
}

/// Connects to the office database at `url` (a PostgreSQL URL or key=value string).
///
/// TLS is not built in yet: a URL that asks for it (`sslmode=require`, `verify-ca`,
/// `verify-full`) is refused rather than silently sent in clear. Until then the office
/// must be reached over a network that is already encrypted (a VPN), see docs/fleet.md.
pub fn connect(url: &str) -> Result<Client, FleetError> {
    Ok(office_config(url)?.connect(NoTls)?)
}

/// Parses an office URL, refusing one that asks for TLS (see [`connect`]).
pub fn office_config(url: &str) -> Result<postgres::Config, FleetError> {
    let config: postgres::Config = url.parse().map_err(|e: postgres::Error| FleetError::Url(e.to_string()))?;
    if config.get_ssl_mode() == postgres::config::SslMode::Require {
        return Err(FleetError::Url(
            "TLS (sslmode=require or verify-full) is not built into this version: reach the office over a VPN and use sslmode=disable"
                .into(),
        ));
    }
    Ok(config)
}

/// Where an office URL points, without its user or password: what `fleet join` records in
/// the car, and all the car's sync connects to (with the car's own role from its
/// credentials file).
pub fn office_identity(url: &str) -> Result<String, FleetError> {
    let config = office_config(url)?;
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(name)) => name.clone(),
        #[cfg(unix)]
        Some(postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => return Err(FleetError::Url("the office URL names no host".into())),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let dbname = config.get_dbname().ok_or_else(|| FleetError::Url("the office URL names no database".into()))?;
    if host.contains(char::is_whitespace) || dbname.contains(char::is_whitespace) || dbname.contains('\'') {
        return Err(FleetError::Url("host and database names with spaces or quotes are not supported".into()));
    }
    Ok(format!("host={host} port={port} dbname={dbname}"))
}

/// A car id as stored: lower case, checked to be a valid role name part.
pub fn car_id(text: &str) -> Result<String, FleetError> {
    let id = text.trim().to_ascii_lowercase();
    let ok = !id.is_empty()
        && id.len() <= 32
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if ok { Ok(id) } else { Err(FleetError::CarId(text.to_owned())) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn car_ids_are_role_name_safe() {
        assert_eq!(car_id(" Unit-12 ").unwrap(), "unit-12");
        for bad in ["", "-a", "a b", "a;drop", "x".repeat(33).as_str(), "é"] {
            assert!(car_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_url_that_asks_for_tls_is_refused_not_sent_in_clear() {
        let Err(err) = connect("postgres://u@127.0.0.1:1/db?sslmode=require") else { panic!("connected") };
        assert!(err.to_string().contains("TLS"), "{err}");
        assert!(matches!(connect("not a url ="), Err(FleetError::Url(_))));
    }
}
