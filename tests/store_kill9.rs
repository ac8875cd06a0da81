//! Crash durability: a child process writes reads and prints each id once it is committed;
//! it is killed with SIGKILL mid-run; on reopening, every printed id must be present and
//! SQLite's integrity check must pass.

// A test fails by panicking: unwrap is the assertion here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use patrol_alpr::store::{KeySource, Store, StoreKeys};

const SECRET: &str = "kill-9 test passphrase";
const TRIALS: usize = 5;

/// Runs the writer for about `run_for`, kills it, and returns the ids it reported.
fn run_and_kill(data_dir: &std::path::Path, run_for: Duration) -> Vec<i64> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_patrol-alpr"))
        .args(["--data-dir"])
        .arg(data_dir)
        .arg("--config")
        .arg(data_dir.join("no-config.toml"))
        .args(["store", "stress-writer"])
        .env("PATROL_ALPR_DB_KEY", SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        // A line cut by the kill does not parse and is not counted as reported.
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| l.trim().parse::<i64>().ok())
            .collect::<Vec<_>>()
    });
    // Wait for the writer to start committing (first open derives the key), then let it run.
    let start = Instant::now();
    std::thread::sleep(run_for);
    while start.elapsed() < Duration::from_secs(30) && !data_dir.join("patrol-alpr.db-wal").exists() {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(run_for);
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    reader.join().unwrap()
}

#[test]
fn every_reported_read_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let mut total_reported = 0usize;
    let mut lost = 0usize;
    for trial in 1..=TRIALS {
        let reported = run_and_kill(dir.path(), Duration::from_millis(500));
        let keys = StoreKeys::derive(SECRET, dir.path(), KeySource::Environment).unwrap();
        let store = Store::open(dir.path(), keys, "Test PD").unwrap();
        assert_eq!(store.integrity_check().unwrap(), "ok", "trial {trial}");
        let missing: Vec<i64> =
            reported.iter().copied().filter(|id| store.read_by_id(*id).unwrap().is_none()).collect();
        eprintln!(
            "trial {trial}: {} reads reported committed, {} lost, {} in the database",
            reported.len(),
            missing.len(),
            store.count_reads().unwrap()
        );
        total_reported += reported.len();
        lost += missing.len();
    }
    eprintln!("kill -9: {TRIALS} trials, {total_reported} reported reads, {lost} lost");
    assert!(total_reported > 0, "the writer never reported a commit");
    assert_eq!(lost, 0);
}
