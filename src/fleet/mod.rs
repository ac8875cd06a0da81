//! The fleet back office on PostgreSQL (issue 19): the office database's schema
//! (`schema.rs`), enrolling a car as its own database role (`enroll.rs`), the car's sync
//! thread that forwards its outbox (`sync.rs`) and pulls the accounts the office publishes
//! (`pull.rs`) and the signed hot-list publications (`publish.rs`), the fleet usage report
//! (`report.rs`), the random audits and read search across the fleet (`audits.rs`,
//! `search.rs`), the office's own audit log (`office.rs`) and its retention purge
//! (`retention.rs`).

pub mod audits;
pub mod bench;
pub mod cluster;
pub mod enroll;
pub mod office;
pub mod publish;
pub mod pull;
pub mod report;
pub mod retention;
pub mod schema;
pub mod search;
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
    /// The office's retention period is missing or not allowed (its purge does not run).
    #[error("office retention: {0}")]
    Retention(String),
    /// The office's schema is newer than this build knows: update patrol-alpr first.
    #[error("the office database has schema version {office}; this patrol-alpr knows up to {known}: update it first")]
    SchemaTooNew {
        /// The office's version.
        office: i32,
        /// This build's newest.
        known: i32,
    },
    /// The office's schema is older than this car sends into: run `fleet init` there.
    #[error(
        "the office database has schema version {office}; this car sends into version {needs}: run `patrol-alpr fleet init` at the office (nothing is lost meanwhile)"
    )]
    SchemaTooOld {
        /// The office's version.
        office: i32,
        /// What this build sends into.
        needs: i32,
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
        let text = match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_owned(),
        };
        // Out of space (disk full, SQLSTATE 53100; or out of memory or connections, class
        // 53): the office's administrator must act, and the car keeps its records meanwhile.
        if db.code() == &postgres::error::SqlState::DISK_FULL {
            return format!(
                "disk full: the office's administrator must free space; the car keeps its records ({text})"
            );
        }
        if db.code().code().starts_with("53") {
            return format!("out of resources at the office; the car keeps its records ({text})");
        }
        return text;
    }
    match std::error::Error::source(err) {
        Some(cause) => format!("{err}: {cause}"),
        None => err.to_string(),
    }
}

/// TLS to the office, as its URL asks: `sslmode=verify-full` (the certificate must be signed
/// by `sslrootcert` and name the host connected to) or `verify-ca` (signed by it, any name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficeTls {
    /// Whether the certificate must name the host (`verify-full`).
    pub verify_host: bool,
    /// The CA certificate file (PEM) that signed the office's certificate.
    pub root_cert: std::path::PathBuf,
}

/// An office URL parsed: the connection settings, and TLS when the URL asks for it.
#[derive(Debug, Clone)]
pub struct OfficeConfig {
    /// Host, port, database, user and the rest.
    pub config: postgres::Config,
    /// TLS, when asked for.
    pub tls: Option<OfficeTls>,
}

impl OfficeConfig {
    /// Opens a connection, over TLS when asked for (the certificate checked as asked), else
    /// in clear.
    pub fn connect(&self) -> Result<Client, FleetError> {
        match &self.tls {
            None => Ok(self.config.connect(NoTls)?),
            Some(tls) => {
                let mut builder = openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls())
                    .map_err(|e| FleetError::Url(format!("TLS: {e}")))?;
                builder
                    .set_ca_file(&tls.root_cert)
                    .map_err(|e| FleetError::Url(format!("sslrootcert {}: {e}", tls.root_cert.display())))?;
                let mut connector = postgres_openssl::MakeTlsConnector::new(builder.build());
                if !tls.verify_host {
                    connector.set_callback(|connect, _| {
                        connect.set_verify_hostname(false);
                        Ok(())
                    });
                }
                Ok(self.config.connect(connector)?)
            }
        }
    }
}

/// Connects to the office database at `url` (a PostgreSQL URL or key=value string): over TLS
/// when it says `sslmode=verify-full` (or `verify-ca`) with `sslrootcert=FILE`, else in
/// clear (for an office reached over the agency's VPN).
pub fn connect(url: &str) -> Result<Client, FleetError> {
    office_config(url)?.connect()
}

/// Splits `sslmode` and `sslrootcert` out of an office URL (both forms), which the driver
/// does not take as they are: TLS is set up here.
fn split_tls(url: &str) -> Result<(String, Option<OfficeTls>), FleetError> {
    let (rest, params, joiner): (String, Vec<String>, &str) = if url.contains("://") {
        match url.split_once('?') {
            Some((base, query)) => (base.to_owned(), query.split('&').map(str::to_owned).collect(), "&"),
            None => (url.to_owned(), Vec::new(), "&"),
        }
    } else {
        (String::new(), url.split_whitespace().map(str::to_owned).collect(), " ")
    };
    let mut mode = None;
    let mut root = None;
    let mut kept = Vec::new();
    for param in params {
        match param.split_once('=') {
            Some(("sslmode", value)) => mode = Some(value.to_owned()),
            Some(("sslrootcert", value)) => root = Some(value.to_owned()),
            _ => kept.push(param),
        }
    }
    let tls = match mode.as_deref() {
        None => None,
        Some(m @ ("disable" | "prefer" | "allow")) => {
            // Without a checked certificate the connection is in clear (NoTls): "prefer" and
            // "allow" are passed on as the driver knows them.
            kept.push(format!("sslmode={}", if m == "allow" { "prefer" } else { m }));
            None
        }
        Some(m @ ("verify-full" | "verify-ca")) => {
            let root = root.ok_or_else(|| {
                FleetError::Url(format!(
                    "sslmode={m} needs sslrootcert=FILE: the CA that signed the office's certificate"
                ))
            })?;
            kept.push("sslmode=require".into());
            Some(OfficeTls { verify_host: m == "verify-full", root_cert: root.into() })
        }
        Some("require") => {
            return Err(FleetError::Url(
                "sslmode=require encrypts without checking who answers: use sslmode=verify-full with sslrootcert=CA_FILE"
                    .into(),
            ));
        }
        Some(other) => return Err(FleetError::Url(format!("sslmode={other} is not a PostgreSQL sslmode"))),
    };
    let joined = kept.join(joiner);
    let cleaned =
        if url.contains("://") { if joined.is_empty() { rest } else { format!("{rest}?{joined}") } } else { joined };
    Ok((cleaned, tls))
}

/// Parses an office URL, with its TLS settings (see [`connect`]).
pub fn office_config(url: &str) -> Result<OfficeConfig, FleetError> {
    let (cleaned, tls) = split_tls(url)?;
    let config: postgres::Config = cleaned.parse().map_err(|e: postgres::Error| FleetError::Url(e.to_string()))?;
    Ok(OfficeConfig { config, tls })
}

/// Where an office URL points, without its user or password: what `fleet join` records in
/// the car, and all the car's sync connects to (with the car's own role from its
/// credentials file).
pub fn office_identity(url: &str) -> Result<String, FleetError> {
    let OfficeConfig { config, tls } = office_config(url)?;
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
    let tls = match tls {
        None => String::new(),
        Some(tls) => {
            let root = tls.root_cert.display().to_string();
            if root.contains(char::is_whitespace) || root.contains('\'') {
                return Err(FleetError::Url("an sslrootcert path with spaces or quotes is not supported".into()));
            }
            let mode = if tls.verify_host { "verify-full" } else { "verify-ca" };
            format!(" sslmode={mode} sslrootcert={root}")
        }
    };
    Ok(format!("host={host} port={port} dbname={dbname}{tls}"))
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
    fn tls_settings_are_taken_out_of_both_url_forms_and_unchecked_tls_is_refused() {
        let (url, tls) =
            split_tls("postgres://u:p@office:5432/alpr?sslmode=verify-full&sslrootcert=/etc/ca.pem&connect_timeout=5")
                .unwrap();
        assert_eq!(url, "postgres://u:p@office:5432/alpr?connect_timeout=5&sslmode=require");
        assert_eq!(tls, Some(OfficeTls { verify_host: true, root_cert: "/etc/ca.pem".into() }));
        let (kv, tls) = split_tls("host=office dbname=alpr sslmode=verify-ca sslrootcert=/etc/ca.pem").unwrap();
        assert_eq!(kv, "host=office dbname=alpr sslmode=require");
        assert!(!tls.unwrap().verify_host);
        assert_eq!(split_tls("postgres://u@h/db").unwrap(), ("postgres://u@h/db".to_owned(), None));
        assert_eq!(split_tls("host=h sslmode=disable").unwrap(), ("host=h sslmode=disable".to_owned(), None));
        let refused = |url: &str| split_tls(url).unwrap_err().to_string();
        assert!(refused("postgres://u@h/db?sslmode=require").contains("verify-full"));
        assert!(refused("postgres://u@h/db?sslmode=verify-full").contains("needs sslrootcert"));
        assert!(refused("host=h sslmode=bogus").contains("not a PostgreSQL sslmode"));
        assert!(matches!(connect("not a url ="), Err(FleetError::Url(_))));
        // The car records the office with its TLS settings, and without the user's password.
        let identity =
            office_identity("postgres://u:secret@office:6543/alpr?sslmode=verify-full&sslrootcert=/etc/ca.pem")
                .unwrap();
        assert_eq!(identity, "host=office port=6543 dbname=alpr sslmode=verify-full sslrootcert=/etc/ca.pem");
    }
}
