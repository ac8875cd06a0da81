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
    run_keyed(dir, SECRET, args, pin, new_pin)
}

fn run_keyed(dir: &Path, secret: &str, args: &[&str], pin: &str, new_pin: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_patrol-alpr"))
        .arg("--data-dir")
        .arg(dir)
        .arg("--config")
        .arg(dir.join("no-config.toml"))
        .args(args)
        .env("PATROL_ALPR_DB_KEY", secret)
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
    let first = line.lines().next().unwrap_or_default();
    assert!(first.starts_with("intact: ") && first.contains(" rows, head "), "{line}");

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

#[test]
fn admin_settings_need_the_administrator_and_are_audited() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cert = ["--trained-on", "2026-01-01", "--certified-until", "2099-01-01"];
    let first = run(
        d,
        &[&["users", "add", "a1", "--name", "Admin", "--role", "administrator"][..], &cert].concat(),
        "",
        "123456",
    );
    assert!(first.status.success(), "{}", stderr(&first));
    for (id, role) in [("o1", "officer"), ("s1", "supervisor")] {
        let out = run(
            d,
            &[&["users", "add", id, "--name", id, "--role", role, "--as", "a1"][..], &cert].concat(),
            "123456",
            "654321",
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let key_dir = tempfile::tempdir().unwrap();
    let keygen = run(d, &["hotlist", "keygen", "--out", key_dir.path().join("k").to_str().unwrap()], "", "");
    assert!(keygen.status.success(), "{}", stderr(&keygen));
    let public = std::fs::read_to_string(key_dir.path().join("k.pub")).unwrap();
    let source = key_dir.path().to_str().unwrap().to_owned();
    let changes: [&[&str]; 5] = [
        &["admin", "cameras", "add", "camera:1"],
        &["admin", "sources", "add", source.as_str()],
        &["admin", "hotlist-key", "set", public.trim()],
        &["admin", "retention", "set", "730"],
        &["admin", "cameras", "remove", "auto"],
    ];
    // Officers and supervisors are refused, and nothing changes.
    for who in ["o1", "s1"] {
        for change in changes {
            let out = run(d, &[change, &["--as", who]].concat(), "654321", "");
            assert!(!out.status.success(), "{who} {change:?} must be refused");
            assert!(stderr(&out).contains("may not"), "{}", stderr(&out));
        }
    }
    let shown = run(d, &["admin", "retention", "show", "--as", "a1"], "123456", "");
    // Seeded from the settings file at the store's first use, kept in the database since.
    let first_use = "retention 365 days (from the settings file at the store's first use)";
    assert!(stdout(&shown).contains(first_use), "{}", stdout(&shown));
    for change in changes {
        let out = run(d, &[change, &["--as", "a1"]].concat(), "123456", "");
        assert!(out.status.success(), "{change:?}: {}", stderr(&out));
    }
    let under = run(d, &["admin", "retention", "set", "100", "--as", "a1"], "123456", "");
    assert!(!under.status.success());
    assert!(stderr(&under).contains("one-year floor"), "{}", stderr(&under));
    let bad_key = run(d, &["admin", "hotlist-key", "set", "bm90IGEga2V5", "--as", "a1"], "123456", "");
    assert!(!bad_key.status.success(), "a key that is not ed25519 is refused");
    let cameras = run(d, &["admin", "cameras", "list", "--as", "a1"], "123456", "");
    assert_eq!(stdout(&cameras), "camera sources (set by the administrator):\n  camera:1\n");
    let shown = run(d, &["admin", "hotlist-key", "show", "--as", "a1"], "123456", "");
    assert!(stdout(&shown).starts_with(public.trim()), "{}", stdout(&shown));
    // Reads are deleted only by a logged-on administrator: no user, no purge.
    assert!(!run(d, &["purge", "--dry-run"], "", "").status.success());
    let purge = run(d, &["purge", "--dry-run", "--as", "a1"], "123456", "");
    assert!(stdout(&purge).starts_with("retention 730 days"), "the purge uses the administered period");

    let store = Store::open(d, StoreKeys::derive(SECRET, d, KeySource::Environment).unwrap(), "x").unwrap();
    let rows: Vec<(String, String)> = store
        .read(|c| {
            let mut s = c.prepare(
                "SELECT user, object FROM audit_log WHERE action = 'admin' AND outcome NOT LIKE 'refused%' AND object IN ('camera sources', 'hot-list sources', 'hot-list public key', 'retention') ORDER BY seq",
            )?;
            Ok(s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?)
        })
        .unwrap();
    let objects: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(objects, ["camera sources", "hot-list sources", "hot-list public key", "retention", "camera sources"]);
    assert!(rows.iter().all(|r| r.0 == "a1"));
    let refusals: i64 = store
        .read(|c| {
            Ok(c.query_row("SELECT count(*) FROM audit_log WHERE outcome LIKE 'refused: role%'", [], |r| r.get(0))?)
        })
        .unwrap();
    assert_eq!(refusals, 10, "every refused change is audited");
}

/// A data dir (under `SECRET`) with administrator A1 (PIN 123456) and a hot list holding
/// `plate`, inside a temporary folder that also has room for key files outside it.
fn rotation_fixture(plate: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let admin = [
        &["users", "add", "A1", "--name", "Admin", "--role", "administrator"][..],
        &["--trained-on", "2026-01-01", "--certified-until", "2099-01-01"],
    ]
    .concat();
    assert!(run(&data, &admin, "", "123456").status.success());
    let list = dir.path().join("list.csv");
    std::fs::write(&list, format!("plate,reason\n{plate},DEMO rotation\n")).unwrap();
    assert!(run(&data, &["hotlist", "import", list.to_str().unwrap(), "--as", "A1"], "123456", "").status.success());
    (dir, data)
}

#[test]
fn the_administrator_rotates_the_key_and_only_the_new_one_opens_the_data() {
    let (dir, data) = rotation_fixture("ROT8ME1");
    let cert = ["--trained-on", "2026-01-01", "--certified-until", "2099-01-01"];
    let officer = [&["users", "add", "O1", "--name", "Officer", "--role", "officer", "--as", "A1"][..], &cert].concat();
    assert!(run(&data, &officer, "123456", "654321").status.success());
    let new_key = dir.path().join("new.key");
    std::fs::write(&new_key, "the rotated passphrase\n").unwrap();
    let rekey = ["store", "rekey", "--new-key-file", new_key.to_str().unwrap()];
    // A joined car keeps the office's hot-list publication sealed under the same key.
    let office = data.join("office-hotlist");
    let current = StoreKeys::derive(SECRET, &data, KeySource::Environment).unwrap();
    patrol_alpr::hotlist::cache::HotlistCache::at(&office, current).save("manifest.json", b"{\"v\":1}").unwrap();

    // An officer may not rotate it; the refusal is audited and nothing changes.
    let refused = run(&data, &[&rekey[..], &["--as", "O1"]].concat(), "654321", "");
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("O1") || stderr(&refused).contains("o1"), "{}", stderr(&refused));

    let rotated = run(&data, &[&rekey[..], &["--as", "A1"]].concat(), "123456", "");
    assert!(rotated.status.success(), "{}", stderr(&rotated));
    assert!(
        stdout(&rotated).contains("database re-encrypted, 3 hot-list cache files resealed"),
        "{}",
        stdout(&rotated)
    );

    // The old passphrase opens nothing any more; the new one opens the users, the audit log
    // (intact, with the refusal and both rotation rows) and the hot list.
    let old = run(&data, &["users", "list", "--as", "A1"], "123456", "");
    assert!(!old.status.success());
    let new = "the rotated passphrase";
    let users = run_keyed(&data, new, &["users", "list", "--as", "A1"], "123456", "");
    assert!(stdout(&users).contains("o1\tOfficer\tofficer\tactive"), "{}", stderr(&users));
    let verify = run_keyed(&data, new, &["audit", "verify", "--as", "A1"], "123456", "");
    assert!(stdout(&verify).contains("intact"), "{}", stdout(&verify));
    let keys = StoreKeys::derive(new, &data, KeySource::Environment).unwrap();
    let office = patrol_alpr::hotlist::cache::HotlistCache::at(&office, keys.clone());
    assert_eq!(office.load("manifest.json").unwrap().as_deref(), Some(&b"{\"v\":1}"[..]));
    let store = Store::open(&data, keys, "test").unwrap();
    let outcomes: Vec<String> = store
        .read(|c| {
            let mut stmt = c.prepare("SELECT outcome FROM audit_log WHERE object = 'database key' ORDER BY seq")?;
            let rows = stmt.query_map([], |row| row.get(0))?.collect::<Result<Vec<String>, _>>()?;
            Ok(rows)
        })
        .unwrap();
    drop(store);
    assert_eq!(outcomes.len(), 3, "{outcomes:?}");
    assert!(outcomes[0].starts_with("refused"), "{outcomes:?}");
    assert_eq!(outcomes[1], "rotation started");
    assert!(outcomes[2].starts_with("rotated: database re-encrypted"), "{outcomes:?}");
    let check = run_keyed(&data, new, &["hotlist", "check", "ROT8ME1", "--as", "A1"], "123456", "");
    assert!(stdout(&check).contains("ROT8ME1"), "{}{}", stdout(&check), stderr(&check));
}

#[test]
fn a_rotation_that_meets_an_unreadable_cache_file_stops_until_told_to_leave_it() {
    let (dir, data) = rotation_fixture("ROT8ME2");
    let damaged = data.join("hotlist").join("bolo.json");
    std::fs::write(&damaged, "damaged before the rotation").unwrap();
    let new_key = dir.path().join("new.key");
    std::fs::write(&new_key, "rotated again").unwrap();
    let rekey = ["store", "rekey", "--new-key-file", new_key.to_str().unwrap(), "--as", "A1"];

    let stopped = run(&data, &rekey, "123456", "");
    assert!(!stopped.status.success());
    assert!(stderr(&stopped).contains("opens under neither key"), "{}", stderr(&stopped));
    assert!(stderr(&stopped).contains("--leave-unreadable"), "{}", stderr(&stopped));
    // Stopped before its last step: nothing opens the store until the rotation is completed.
    let blocked = run(&data, &["users", "list", "--as", "A1"], "123456", "");
    assert!(stderr(&blocked).contains("did not finish"), "{}", stderr(&blocked));

    let finished = run(&data, &[&rekey[..], &["--leave-unreadable"]].concat(), "123456", "");
    assert!(finished.status.success(), "{}", stderr(&finished));
    assert!(
        stdout(&finished).contains("rotated (resumed): database already under the new key"),
        "{}",
        stdout(&finished)
    );
    assert!(stdout(&finished).contains("1 unreadable"), "{}", stdout(&finished));
    let check = run_keyed(&data, "rotated again", &["hotlist", "check", "ROT8ME2", "--as", "A1"], "123456", "");
    assert!(stdout(&check).contains("ROT8ME2"), "{}{}", stdout(&check), stderr(&check));
}
