//! The throwaway PostgreSQL cluster of the fleet tests (`patrol_alpr::fleet::cluster`), with
//! each failure a test failure. No mock: the tests talk to a real server.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

/// A running throwaway cluster; stopped and deleted on drop.
pub struct Cluster(patrol_alpr::fleet::cluster::Cluster);

impl Cluster {
    /// Creates and starts a cluster.
    pub fn start() -> Self {
        Self(patrol_alpr::fleet::cluster::Cluster::start().unwrap())
    }

    /// Stops the server at once, as a crash would, and starts it again.
    pub fn restart_immediate(&self) {
        self.0.restart_immediate().unwrap();
    }

    /// Stops the server (the office goes down).
    pub fn stop(&self) {
        self.0.stop().unwrap();
    }

    /// Starts the stopped server again, on the same port.
    pub fn start_again(&self) {
        self.0.start_again().unwrap();
    }

    /// Installs a server certificate and key and turns TLS on.
    pub fn install_tls(&self, cert_pem: &[u8], key_pem: &[u8]) {
        self.0.install_tls(cert_pem, key_pem).unwrap();
    }

    /// A URL for `user` with `password`.
    pub fn url_as(&self, user: &str, password: &str) -> String {
        self.0.url_as(user, password)
    }

    /// The superuser's URL.
    pub fn url(&self) -> String {
        self.0.url()
    }

    /// The folder the cluster lives in.
    pub fn dir(&self) -> &Path {
        self.0.dir()
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.0.port
    }
}
