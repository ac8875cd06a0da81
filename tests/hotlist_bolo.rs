//! Manual (BOLO) entries through the real binary: a logged-on officer adds one, the stored
//! reads of the window are checked against it and raise hits, the hot list matches it, the
//! list shows it, it is removed; every add and removal is in the audit log with who and why,
//! a refused user changes nothing, and the cache on disk shows no plate in the clear.

// A test fails by panicking: unwrap is the assertion here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use chrono::{Duration, Utc};
use patrol_alpr::audit::AuditAction;
use patrol_alpr::store::audit_log::rows_between;
use patrol_alpr::store::{KeySource, NewRead, Store, StoreKeys};

const SECRET: &str = "bolo test passphrase";

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

fn open_store(dir: &Path) -> Store {
    let keys = StoreKeys::derive(SECRET, dir, KeySource::Environment).unwrap();
    Store::open(dir, keys, "Test PD").unwrap()
}

fn read(plate: &str, candidates: &str, hours_ago: i64) -> NewRead {
    NewRead {
        time: Utc::now() - Duration::hours(hours_ago),
        camera: "front".into(),
        officer: Some("O1".into()),
        plate: plate.into(),
        confidence: 0.85,
        candidates_json: candidates.into(),
        state: Some("CA".into()),
        gps: None,
        crop_png: None,
    }
}

/// (action, user, object, outcome) of every BOLO and hit row of the audit log.
fn audited(dir: &Path) -> Vec<(AuditAction, String, String, String)> {
    let store = open_store(dir);
    let actions = [AuditAction::BoloAdd, AuditAction::BoloRemove, AuditAction::HitRaised];
    let rows = store
        .read(|conn| rows_between(conn, Utc::now() - Duration::days(1), Utc::now() + Duration::days(1), &actions))
        .unwrap();
    rows.into_iter().map(|r| (r.event.action, r.event.user, r.event.object, r.event.outcome)).collect()
}

#[test]
fn bolo_add_checks_past_reads_then_list_check_remove_all_audited() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cert = ["--trained-on", "2026-01-01", "--certified-until", "2099-01-01"];
    let admin = run(
        d,
        &[&["users", "add", "A1", "--name", "Admin", "--role", "administrator"][..], &cert].concat(),
        "",
        "111111",
    );
    assert!(admin.status.success(), "{}", stderr(&admin));
    let officer = run(
        d,
        &[&["users", "add", "O1", "--name", "Officer", "--role", "officer", "--as", "A1"][..], &cert].concat(),
        "111111",
        "222222",
    );
    assert!(officer.status.success(), "{}", stderr(&officer));

    // Reads the car made before the BOLO existed: two of the plate (one read only as an
    // alternative candidate), one too old for the 72-hour window, one of another plate.
    let ids = open_store(d)
        .insert_reads(vec![
            read("7DMO123", "[]", 5),
            read("7DMO128", r#"[{"text":"7DMO128","confidence":0.6},{"text":"7DM0123","confidence":0.3}]"#, 30),
            read("7DMO123", "[]", 100),
            read("5XYZ999", "[]", 1),
        ])
        .unwrap();

    // A wrong PIN: refused, nothing added.
    let refused = run(d, &["hotlist", "bolo", "add", "7DMO123", "--reason", "x", "--as", "O1"], "999999", "");
    assert!(!refused.status.success());
    let add = run(
        d,
        &[
            "hotlist",
            "bolo",
            "add",
            "7dmo-123",
            "--state",
            "ca",
            "--reason",
            "DEMO armed robbery suspect",
            "--expires",
            "2099-01-01",
            "--make",
            "TOYT",
            "--colour",
            "SIL",
            "--as",
            "O1",
        ],
        "222222",
        "",
    );
    assert!(add.status.success(), "{}", stderr(&add));
    let out = stdout(&add);
    assert!(out.contains("added manual entry 1: 7DMO123 CA bolo priority 3"), "{out}");
    assert!(out.contains("past reads (last 72 h): 2 match new entries"), "{out}");
    assert!(
        out.contains(&format!("read {} of 7DMO123", ids[0])) && out.contains(&format!("read {} of 7DMO128", ids[1])),
        "{out}"
    );
    assert!(out.contains("(check the plate)"), "the alternative 7DM0123 is approximate: {out}");

    // The hits are stored, new, on their reads, with the BOLO's list and priority.
    let store = open_store(d);
    let hits: Vec<(Option<i64>, String, String, i32, String)> = store
        .read(|conn| {
            let mut stmt = conn.prepare("SELECT read_id, plate, list, priority, state FROM hits ORDER BY id")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .unwrap();
    drop(store);
    // Oldest read first.
    assert_eq!(
        hits,
        vec![
            (Some(ids[1]), "7DMO123".to_owned(), "bolo".to_owned(), 3, "new".to_owned()),
            (Some(ids[0]), "7DMO123".to_owned(), "bolo".to_owned(), 3, "new".to_owned()),
        ]
    );

    // The entry is on the hot list now, and listed.
    let check = run(d, &["hotlist", "check", "7DMO123", "--state", "CA", "--as", "O1"], "222222", "");
    assert!(stdout(&check).starts_with("HIT, EXACT"), "{}", stdout(&check));
    assert!(stdout(&check).contains("DEMO armed robbery suspect"), "{}", stdout(&check));
    let list = run(d, &["hotlist", "bolo", "list", "--as", "O1"], "222222", "");
    assert!(stdout(&list).contains("1: 7DMO123 CA bolo"), "{}", stdout(&list));
    assert!(stdout(&list).contains("1 manual entries in force"), "{}", stdout(&list));

    // Nothing in the hot-list cache shows the plate or the reason.
    for item in std::fs::read_dir(d.join("hotlist")).unwrap() {
        let path = item.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            for secret in [&b"7DMO123"[..], b"armed robbery"] {
                assert!(!bytes.windows(secret.len()).any(|w| w == secret), "{} in clear", path.display());
            }
        }
    }

    // Removal needs a reason; then the plate no longer matches.
    let no_reason = run(d, &["hotlist", "bolo", "remove", "1", "--reason", " ", "--as", "O1"], "222222", "");
    assert!(!no_reason.status.success());
    assert!(stderr(&no_reason).contains("a reason is required"), "{}", stderr(&no_reason));
    let remove = run(d, &["hotlist", "bolo", "remove", "1", "--reason", "vehicle located", "--as", "O1"], "222222", "");
    assert!(remove.status.success(), "{}", stderr(&remove));
    assert!(stdout(&remove).contains("removed manual entry 1: 7DMO123"), "{}", stdout(&remove));
    assert_eq!(run(d, &["hotlist", "check", "7DMO123", "--as", "O1"], "222222", "").status.code(), Some(1));
    let missing = run(d, &["hotlist", "bolo", "remove", "1", "--reason", "again", "--as", "O1"], "222222", "");
    assert!(stderr(&missing).contains("no manual entry 1"), "{}", stderr(&missing));

    // Every add, removal and raised hit is in the audit log, with who and why.
    let rows = audited(d);
    let actions: Vec<AuditAction> = rows.iter().map(|r| r.0).collect();
    assert_eq!(
        actions,
        [AuditAction::BoloAdd, AuditAction::HitRaised, AuditAction::HitRaised, AuditAction::BoloRemove]
    );
    // User ids are case-insensitive and kept in lower case: `--as O1` acts as `o1`.
    assert_eq!((rows[0].1.as_str(), rows[0].2.as_str()), ("o1", "7DMO123"));
    assert!(rows[0].3.contains("DEMO armed robbery suspect"), "{}", rows[0].3);
    assert_eq!(rows[1].1, "system");
    assert_eq!((rows[3].1.as_str(), rows[3].2.as_str()), ("o1", "7DMO123"));
    assert!(rows[3].3.contains("vehicle located"), "{}", rows[3].3);
    let verify = run(d, &["audit", "verify"], "", "");
    assert!(stdout(&verify).starts_with("intact: "), "{}", stdout(&verify));
}
