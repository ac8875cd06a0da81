//! The storage commands end to end through the real binary: bootstrap an administrator, add
//! users, refuse an officer's privileged commands, verify the audit log, and see a tampered
//! log named at the broken row with a non-zero exit.

// A test fails by panicking: unwrap is the assertion here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use patrol_alpr::store::{KeySource, Store, StoreKeys};

const SECRET: &str = "cli test passphrase";

fn run(dir: &Path, args: &[&str], pin: &str, new_pin: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_patrol-alpr"))
        .arg("--data-dir")
        .arg(dir)
        .arg("--config")
        .arg(dir.join("no-config.toml"))
        .args(args)
        .env("PATROL_ALPR_DB_KEY", SECRET)
        .env("PATROL_ALPR_PIN", pin)
        .env("PATROL_ALPR_NEW_PIN", new_pin)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn users_roles_and_audit_verify() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cert = ["--trained-on", "2026-01-01", "--certified-until", "2099-01-01"];

    let first = run(
        d,
        &[&["users", "add", "A1", "--name", "Admin", "--role", "administrator"][..], &cert].concat(),
        "",
        "123456",
    );
    assert!(first.status.success(), "{}", stderr(&first));
    let no_as =
        run(d, &[&["users", "add", "O1", "--name", "Officer", "--role", "officer"][..], &cert].concat(), "", "123456");
    assert!(!no_as.status.success(), "a second add without --as must fail");
    for (id, role) in [("O1", "officer"), ("S1", "supervisor")] {
        let out = run(
            d,
            &[&["users", "add", id, "--name", id, "--role", role, "--as", "A1"][..], &cert].concat(),
            "123456",
            "654321",
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let list = run(d, &["users", "list", "--as", "A1"], "123456", "");
    // User ids are case-insensitive and kept in lower case (the console's keypad types capitals).
    assert!(stdout(&list).contains("o1\tO1\tofficer\tactive"), "{}", stdout(&list));

    // An officer may not administer, report, purge by hand or export.
    for args in [
        &["users", "suspend", "S1", "--reason", "x", "--as", "O1"][..],
        &["report", "usage", "--from", "2026-01-01", "--to", "2026-01-31", "--as", "O1"][..],
        &["purge", "--as", "O1"][..],
        &["audit", "verify", "--as", "O1"][..],
        &[
            "export",
            "--from",
            "2026-01-01",
            "--to",
            "2026-01-02",
            "--agency",
            "LBPD",
            "--agency-state",
            "CA",
            "--agency-kind",
            "local-police",
            "--purpose",
            "p",
            "--case",
            "c",
            "--out",
            "x",
            "--as",
            "O1",
        ][..],
    ] {
        let out = run(d, args, "654321", "");
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr(&out).contains("may not"), "{args:?}: {}", stderr(&out));
    }
    // A supervisor may not release to a federal agency.
    let federal = run(
        d,
        &[
            "export",
            "--from",
            "2026-01-01",
            "--to",
            "2026-01-02",
            "--agency",
            "FBI",
            "--agency-state",
            "CA",
            "--agency-kind",
            "federal",
            "--purpose",
            "p",
            "--case",
            "c",
            "--out",
            "x",
            "--as",
            "S1",
        ],
        "654321",
        "",
    );
    assert!(stderr(&federal).contains("refused: federal"), "{}", stderr(&federal));

    let report =
        run(d, &["report", "usage", "--from", "2026-01-01", "--to", "2026-01-31", "--csv", "--as", "S1"], "654321", "");
    assert!(report.status.success(), "{}", stderr(&report));
    assert!(stdout(&report).starts_with("officer,shift_id,logon"));

    let verify = run(d, &["audit", "verify", "--as", "S1"], "654321", "");
    assert!(verify.status.success(), "{}", stderr(&verify));
    let line = stdout(&verify);
    assert!(line.starts_with("intact: ") && line.trim_end().ends_with(" rows"), "{line}");

    // Tamper with row 3 as an attacker holding the key would, then verify again.
    let keys = StoreKeys::derive(SECRET, d, KeySource::Environment).unwrap();
    let store = Store::open(d, keys, "x").unwrap();
    store
        .write(|c| {
            c.execute_batch(
                "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET user = 'someone-else' WHERE seq = 3;",
            )?;
            Ok(())
        })
        .unwrap();
    drop(store);
    let broken = run(d, &["audit", "verify"], "", "");
    assert_eq!(broken.status.code(), Some(2));
    assert!(stdout(&broken).starts_with("broken at row 3:"), "{}", stdout(&broken));
}

#[test]
fn no_key_means_no_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_patrol-alpr"))
        .arg("--data-dir")
        .arg(dir.path())
        .arg("--config")
        .arg(dir.path().join("none.toml"))
        .args(["audit", "verify"])
        .env_remove("PATROL_ALPR_DB_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no database key"), "{}", stderr(&out));
}
