//! A throwaway PostgreSQL cluster: Debian's server binaries, `initdb` in a temporary folder,
//! started by `pg_ctl` on a free local port with password (SCRAM) log-ons, stopped and
//! deleted on drop. The fleet tests and `fleet bench` use it, so both talk to a real server
//! (no mock), and the bench can crash it (`-m immediate`) without touching a real office.
//! Root cannot run the server, so as root the cluster belongs to Debian's `postgres` user.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The superuser's password in every throwaway cluster.
pub const SUPERUSER_PASSWORD: &str = "throwaway-superuser";

/// A running throwaway cluster.
#[derive(Debug)]
pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    as_postgres: bool,
}

/// Why a cluster could not be made or driven.
#[derive(Debug, thiserror::Error)]
#[error("throwaway PostgreSQL: {0}")]
pub struct ClusterError(String);

fn server_bin() -> Result<PathBuf, ClusterError> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| {
            dirs.filter_map(|d| d.ok().map(|d| d.path().join("bin"))).filter(|b| b.join("initdb").exists()).collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().ok_or_else(|| {
        ClusterError(
            "PostgreSQL's server (initdb, pg_ctl) is not installed: scripts/setup.sh installs Debian's postgresql package"
                .into(),
        )
    })
}

fn free_port() -> Result<u16, ClusterError> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| ClusterError(format!("no free port: {e}")))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| ClusterError(format!("no free port: {e}")))
}

fn text(path: &Path) -> Result<&str, ClusterError> {
    path.to_str().ok_or_else(|| ClusterError(format!("{} is not UTF-8", path.display())))
}

impl Cluster {
    /// Creates and starts a cluster.
    pub fn start() -> Result<Self, ClusterError> {
        let bin = server_bin()?;
        let dir = tempfile::Builder::new()
            .prefix("patrol-alpr-pg-")
            .tempdir()
            .map_err(|e| ClusterError(format!("temporary folder: {e}")))?;
        let as_postgres = is_root();
        let cluster = Self { dir, bin, port: free_port()?, as_postgres };
        let pwfile = cluster.dir.path().join("pw");
        std::fs::write(&pwfile, SUPERUSER_PASSWORD).map_err(|e| ClusterError(format!("{}: {e}", pwfile.display())))?;
        if as_postgres {
            let chown = Command::new("chown").args(["-R", "postgres:postgres"]).arg(cluster.dir.path()).status();
            if !chown.is_ok_and(|s| s.success()) {
                return Err(ClusterError("cannot give the cluster folder to the postgres user".into()));
            }
        }
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D",
                text(&data)?,
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                "--pwfile",
                text(&pwfile)?,
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
        )?;
        cluster.pg_ctl_start()?;
        Ok(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run(&self, tool: &str, args: &[&str]) -> Result<(), ClusterError> {
        let program = self.bin.join(tool);
        let output = if self.as_postgres {
            Command::new("runuser").args(["-u", "postgres", "--"]).arg(&program).args(args).output()
        } else {
            Command::new(&program).args(args).output()
        }
        .map_err(|e| ClusterError(format!("{}: {e}", program.display())))?;
        if !output.status.success() {
            return Err(ClusterError(format!(
                "{tool} failed: {}\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        Ok(())
    }

    fn pg_ctl_start(&self) -> Result<(), ClusterError> {
        // Throwaway data: no fsync. The server's crash recovery is still exercised by
        // `-m immediate`, which skips the shutdown checkpoint.
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        self.run("pg_ctl", &["-D", text(&self.data())?, "-o", &options, "-l", text(&log)?, "-w", "start"])
    }

    /// Stops the server at once, as a crash would (`-m immediate`), and starts it again.
    pub fn restart_immediate(&self) -> Result<(), ClusterError> {
        self.stop()?;
        self.pg_ctl_start()
    }

    /// Stops the server as a crash would (the office goes down); [`Cluster::start_again`]
    /// brings it back.
    pub fn stop(&self) -> Result<(), ClusterError> {
        self.run("pg_ctl", &["-D", text(&self.data())?, "-m", "immediate", "-w", "stop"])
    }

    /// Starts the stopped server again, on the same port.
    pub fn start_again(&self) -> Result<(), ClusterError> {
        self.pg_ctl_start()
    }

    /// Installs a server certificate and key (PEM) and turns TLS on (a reload, no restart):
    /// what a deployment does with its own certificate.
    pub fn install_tls(&self, cert_pem: &[u8], key_pem: &[u8]) -> Result<(), ClusterError> {
        let data = self.data();
        let (cert, key) = (data.join("server.crt"), data.join("server.key"));
        let write = |path: &Path, bytes: &[u8]| {
            std::fs::write(path, bytes).map_err(|e| ClusterError(format!("{}: {e}", path.display())))
        };
        write(&cert, cert_pem)?;
        write(&key, key_pem)?;
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| ClusterError(format!("{}: {e}", key.display())))?;
        }
        if self.as_postgres {
            let chown = Command::new("chown").arg("postgres:postgres").arg(&cert).arg(&key).status();
            if !chown.is_ok_and(|s| s.success()) {
                return Err(ClusterError("cannot give the certificate to the postgres user".into()));
            }
        }
        let mut client = postgres::Client::connect(&self.url(), postgres::NoTls)
            .map_err(|e| ClusterError(format!("connect: {e}")))?;
        client
            .batch_execute("ALTER SYSTEM SET ssl = on")
            .and_then(|()| client.batch_execute("SELECT pg_reload_conf()"))
            .map_err(|e| ClusterError(format!("turning TLS on: {e}")))?;
        // The reload is asynchronous: wait until new sessions are offered TLS.
        for _ in 0..50 {
            let on: String = client
                .query_one("SELECT setting FROM pg_settings WHERE name = 'ssl'", &[])
                .map(|r| r.get(0))
                .map_err(|e| ClusterError(format!("{e}")))?;
            if on == "on" {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Err(ClusterError("the server did not turn TLS on (see its log)".into()))
    }

    /// A URL for `user` with `password` on database `postgres`.
    pub fn url_as(&self, user: &str, password: &str) -> String {
        format!("postgres://{user}:{password}@127.0.0.1:{}/postgres?sslmode=disable", self.port)
    }

    /// The superuser's URL.
    pub fn url(&self) -> String {
        self.url_as("postgres", SUPERUSER_PASSWORD)
    }

    /// The folder the cluster lives in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Best effort: the folder is deleted after this either way.
        let _ = self.stop();
    }
}

/// Whether this process runs as root (the server then runs as `postgres`).
fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
