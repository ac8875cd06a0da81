//! The `hotlist` command end to end: the agency creates a key and signs a folder, the console
//! updates from it, checks plates, shows its state, imports a file, and refuses a tampered
//! update while keeping its list. Updates and checks need a logged-on officer, imports the
//! administrator: holding the database key alone does nothing.

// A failed unwrap is a failed test, with its message: that is what these tests want.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

fn run(data: &Path, config: &Path, args: &[&str]) -> Output {
    run_as(data, config, &[&["hotlist"][..], args].concat(), "", "")
}

/// Runs the binary with `pin` (PATROL_ALPR_PIN) and `new_pin` (PATROL_ALPR_NEW_PIN).
fn run_as(data: &Path, config: &Path, args: &[&str], pin: &str, new_pin: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_patrol-alpr"))
        // The audit log lives in the encrypted store; tests supply its key.
        .env("PATROL_ALPR_DB_KEY", "hotlist-cli-test-key")
        .env("PATROL_ALPR_PIN", pin)
        .env("PATROL_ALPR_NEW_PIN", new_pin)
        .arg("--data-dir")
        .arg(data)
        .arg("--config")
        .arg(config)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

/// `hotlist ARGS --as O1` with the officer's PIN.
fn officer(data: &Path, config: &Path, args: &[&str]) -> Output {
    run_as(data, config, &[&["hotlist"][..], args, &["--as", "O1"]].concat(), "654321", "")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn keygen_sign_update_check_stats_import() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let publish = root.path().join("publish");
    std::fs::create_dir_all(&publish).unwrap();
    let key = root.path().join("agency.key");
    let config = root.path().join("config.toml");
    let none = run(&data, &config, &["keygen", "--out", key.to_str().unwrap()]);
    assert!(none.status.success(), "{none:?}");
    let public = std::fs::read_to_string(root.path().join("agency.key.pub")).unwrap();
    assert!(stdout(&none).contains(public.trim()));
    std::fs::write(
        &config,
        format!("[hotlist]\npublic_key = \"{}\"\nsources = [\"{}\"]\n", public.trim(), publish.display()),
    )
    .unwrap();

    std::fs::write(publish.join("svs.tbl"), "SVS HEADER\n7ABC123 CA1920261120\nTOTAL RECORD 1\n").unwrap();
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo-hotlist.csv"), publish.join("demo.csv")).unwrap();
    let signed =
        run(&data, &config, &["sign", publish.to_str().unwrap(), "--key", key.to_str().unwrap(), "--version", "v1"]);
    assert!(signed.status.success(), "{signed:?}");
    let cert = ["--trained-on", "2026-01-01", "--certified-until", "2099-01-01"];
    let admin = [&["users", "add", "A1", "--name", "Admin", "--role", "administrator"][..], &cert].concat();
    assert!(run_as(&data, &config, &admin, "", "123456").status.success());
    let o1 = [&["users", "add", "O1", "--name", "Officer", "--role", "officer", "--as", "A1"][..], &cert].concat();
    assert!(run_as(&data, &config, &o1, "123456", "654321").status.success());

    // Holding the database key is not enough: no user, or a wrong PIN, and nothing is done.
    let anonymous = run(&data, &config, &["update"]);
    assert!(!anonymous.status.success());
    let wrong_pin = run_as(&data, &config, &["hotlist", "update", "--as", "O1"], "000000", "");
    assert!(!wrong_pin.status.success());
    assert!(String::from_utf8_lossy(&wrong_pin.stderr).contains("wrong user id or PIN"), "{wrong_pin:?}");

    let updated = officer(&data, &config, &["update"]);
    assert!(updated.status.success(), "{updated:?}");
    assert!(stdout(&updated).contains("now using list v1 (10 entries)"), "{}", stdout(&updated));

    let exact = officer(&data, &config, &["check", "7abc-123", "--state", "CA"]);
    assert!(exact.status.success());
    assert!(stdout(&exact).starts_with("HIT, EXACT"), "{}", stdout(&exact));
    let approximate = officer(&data, &config, &["check", "DEM0001"]);
    assert!(stdout(&approximate).contains("approximate (position 4: read 0 for O)"), "{}", stdout(&approximate));
    let other_state = officer(&data, &config, &["check", "DEMO555", "--state", "CA"]);
    assert!(stdout(&other_state).contains("STATE DIFFERS"), "{}", stdout(&other_state));
    let miss = officer(&data, &config, &["check", "3ABC123"]);
    assert_eq!(miss.status.code(), Some(1));
    let anonymous_check = run(&data, &config, &["check", "7ABC123"]);
    assert!(!anonymous_check.status.success() && stdout(&anonymous_check).is_empty(), "{anonymous_check:?}");

    let stats = run(&data, &config, &["stats"]);
    assert!(stdout(&stats).contains("version: v1"), "{}", stdout(&stats));
    assert!(stdout(&stats).contains("entries: 10 (1 wildcard)"), "{}", stdout(&stats));

    // Tampering after signing: refused, and the list stays.
    std::fs::write(publish.join("svs.tbl"), "SVS HEADER\n8EVL888 CA1920261120\nTOTAL RECORD 1\n").unwrap();
    let refused = officer(&data, &config, &["update"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("keeping list v1"), "{refused:?}");
    assert!(officer(&data, &config, &["check", "7ABC123"]).status.success());

    let extra = root.path().join("extra.csv");
    std::fs::write(&extra, "plate,reason\nXTRA999,DEMO import\nB*,broad\n").unwrap();
    // Unsigned entries: an officer may not import them, the administrator may.
    let by_officer = officer(&data, &config, &["import", extra.to_str().unwrap()]);
    assert!(!by_officer.status.success(), "{by_officer:?}");
    assert_eq!(officer(&data, &config, &["check", "XTRA999"]).status.code(), Some(1));
    let imported = run_as(&data, &config, &["hotlist", "import", extra.to_str().unwrap(), "--as", "A1"], "123456", "");
    assert!(imported.status.success(), "{imported:?}");
    assert!(stdout(&imported).contains("extra.csv:3: plate:"), "{}", stdout(&imported));
    assert!(stdout(&imported).contains("accepted 1, rejected 1, duplicates merged 0, expired skipped 0"));
    assert!(officer(&data, &config, &["check", "XTRA999"]).status.success());
}

#[test]
fn bench_prints_one_json_line_last() {
    let root = tempfile::tempdir().unwrap();
    let output = run(root.path(), &root.path().join("c.toml"), &["bench", "--entries", "2000", "--reads", "500"]);
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    let last = text.lines().last().unwrap();
    let json: serde_json::Value = serde_json::from_str(last).unwrap();
    assert_eq!(json["entries"], 2000);
    let (indexed, merged) = (json["indexed"].as_u64().unwrap(), json["duplicates_merged"].as_u64().unwrap());
    assert_eq!(indexed + merged, 2000, "{last}");
    for field in ["build_ms", "rss_mb", "peak_rss_mb", "match_ns_median", "match_ns_p99"] {
        assert!(json[field].as_f64().is_some_and(|v| v > 0.0), "{field} in {last}");
    }
}
