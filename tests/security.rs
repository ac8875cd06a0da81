//! Access control attacked as someone holding the car's database key would attack it, through
//! the real binary and several processes at once on one data dir (issue 14's findings, one
//! test each as they are mended).

// A test fails by panicking: unwrap is the assertion here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Child, Command, Stdio};

use patrol_alpr::store::{KeySource, Store, StoreKeys};

const SECRET: &str = "security test passphrase";

fn command(dir: &Path, args: &[&str], pin: &str, new_pin: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_patrol-alpr"));
    cmd.arg("--data-dir")
        .arg(dir)
        .arg("--config")
        .arg(dir.join("no-config.toml"))
        .args(args)
        .env("PATROL_ALPR_DB_KEY", SECRET)
        .env("PATROL_ALPR_PIN", pin)
        .env("PATROL_ALPR_NEW_PIN", new_pin)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn run_ok(dir: &Path, args: &[&str], pin: &str, new_pin: &str) {
    let out = command(dir, args, pin, new_pin).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// An administrator `A1` (PIN 123456) and a certified officer `O1` (PIN 654321).
fn data_dir_with_an_officer() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cert = ["--trained-on", "2026-01-01", "--certified-until", "2099-01-01"];
    run_ok(
        d,
        &[&["users", "add", "A1", "--name", "Admin", "--role", "administrator"][..], &cert].concat(),
        "",
        "123456",
    );
    run_ok(
        d,
        &[&["users", "add", "O1", "--name", "Officer", "--role", "officer", "--as", "A1"][..], &cert].concat(),
        "123456",
        "654321",
    );
    dir
}

/// The outcome of every audit row of `action`, in order.
fn audit_outcomes(dir: &Path, action: &str) -> Vec<String> {
    let store = Store::open(dir, StoreKeys::derive(SECRET, dir, KeySource::Environment).unwrap(), "test").unwrap();
    let action = action.to_owned();
    store
        .read(move |c| {
            let mut s = c.prepare("SELECT outcome FROM audit_log WHERE action = ?1 ORDER BY seq")?;
            Ok(s.query_map([action], |r| r.get(0))?.collect::<Result<_, _>>()?)
        })
        .unwrap()
}

/// Issue 14, item 3: wrong PINs sent by many processes at once never get more PINs tried than
/// the lockout allows (5 by default), and the account ends locked.
#[test]
fn concurrent_wrong_pins_try_no_more_pins_than_the_lockout_allows() {
    let dir = data_dir_with_an_officer();
    let d = dir.path();
    const ATTEMPTS: usize = 16;
    let children: Vec<Child> = (0..ATTEMPTS)
        .map(|i| {
            // Each process a different wrong PIN, as a guesser would send them.
            let pin = format!("{:06}", 100_000 + i);
            command(d, &["users", "list", "--as", "O1"], &pin, "").spawn().unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(!out.status.success(), "a wrong PIN was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("wrong user id or PIN") || err.contains("locked after"), "{err}");
    }
    let failures = audit_outcomes(d, "logon_failure");
    assert_eq!(failures.len(), ATTEMPTS, "every refusal is audited: {failures:?}");
    // A PIN was tried exactly where the refusal says how many attempts were left, or where it
    // locked the account; every other attempt was refused before its PIN was looked at.
    let tried = failures.iter().filter(|o| o.contains("attempts left")).count();
    let lockouts = audit_outcomes(d, "lockout");
    assert_eq!(lockouts.len(), 1, "{lockouts:?}");
    assert_eq!(tried + lockouts.len(), 5, "PINs tried: {failures:?}");
    // Locked: even the right PIN is refused now.
    let right = command(d, &["users", "list", "--as", "O1"], "654321", "").output().unwrap();
    assert!(!right.status.success());
    assert!(String::from_utf8_lossy(&right.stderr).contains("locked"), "{}", String::from_utf8_lossy(&right.stderr));
}

/// Issue 14, item 5: unsigned hot-list entries come in only through the administrator, and a
/// hot-list query needs a logged-on user; the key alone, or an officer, gets nothing in, and
/// every refusal is audited.
#[test]
fn hot_list_imports_and_checks_need_a_pin_and_a_role() {
    let dir = data_dir_with_an_officer();
    let d = dir.path();
    let list = d.join("planted.csv");
    std::fs::write(&list, "plate,reason\nPLNT999,planted\n").unwrap();
    let list = list.to_str().unwrap();
    // No user at all: clap refuses before anything opens.
    assert!(!command(d, &["hotlist", "import", list], "", "").output().unwrap().status.success());
    // The officer: refused, audited.
    let officer = command(d, &["hotlist", "import", list, "--as", "O1"], "654321", "").output().unwrap();
    assert!(!officer.status.success());
    let refusals = audit_outcomes(d, "hotlist_import");
    assert!(refusals.iter().any(|o| o.starts_with("refused")), "{refusals:?}");
    // The planted plate matches nothing, asked by the officer (audited as a search).
    let check = command(d, &["hotlist", "check", "PLNT999", "--as", "O1"], "654321", "").output().unwrap();
    assert_eq!(check.status.code(), Some(1));
    let searches = audit_outcomes(d, "search");
    assert_eq!(searches, vec!["ok: no match".to_owned()]);
    // The administrator may.
    run_ok(d, &["hotlist", "import", list, "--as", "A1"], "123456", "");
    let check = command(d, &["hotlist", "check", "PLNT999", "--as", "O1"], "654321", "").output().unwrap();
    assert!(check.status.success());
}

/// Issue 14, item 4: an unfinished key rotation is not a way around the administrator. An
/// officer who holds both passphrases and runs the resume is refused before anything moves
/// (the rotation stays unfinished, the refusal audited); the administrator then completes it.
#[test]
fn an_officer_cannot_complete_an_unfinished_key_rotation() {
    let dir = data_dir_with_an_officer();
    let d = dir.path();
    let list = d.join("list.csv");
    std::fs::write(&list, "plate,reason\nROT8ME3,rotation\n").unwrap();
    run_ok(d, &["hotlist", "import", list.to_str().unwrap(), "--as", "A1"], "123456", "");
    // The administrator's rotation stops before its last step (a damaged cache file)...
    std::fs::write(d.join("hotlist").join("bolo.json"), "damaged before the rotation").unwrap();
    let keys = tempfile::tempdir().unwrap();
    let new_key = keys.path().join("new.key");
    std::fs::write(&new_key, "the new passphrase\n").unwrap();
    let rekey = ["store", "rekey", "--new-key-file", new_key.to_str().unwrap(), "--leave-unreadable"];
    let stopped = command(d, &rekey[..4], "123456", "").args(["--as", "A1"]).output().unwrap();
    assert!(!stopped.status.success());
    assert!(d.join("store.salt.next").exists(), "the rotation is left unfinished");
    // ... and an officer tries to finish it: refused, nothing moves.
    let officer = command(d, &rekey, "654321", "").args(["--as", "O1"]).output().unwrap();
    assert!(!officer.status.success(), "{}", String::from_utf8_lossy(&officer.stdout));
    assert!(!String::from_utf8_lossy(&officer.stdout).contains("rotated"), "{officer:?}");
    assert!(d.join("store.salt.next").exists(), "still unfinished after the officer's attempt");
    // The administrator completes it; the audit log under the new key holds the officer's
    // refusal between the start and the end.
    let admin = command(d, &rekey, "123456", "").args(["--as", "A1"]).output().unwrap();
    assert!(admin.status.success(), "{}", String::from_utf8_lossy(&admin.stderr));
    assert!(!d.join("store.salt.next").exists());
    let store =
        Store::open(d, StoreKeys::derive("the new passphrase", d, KeySource::Environment).unwrap(), "t").unwrap();
    let outcomes: Vec<(String, String)> = store
        .read(|c| {
            let mut s = c.prepare("SELECT user, outcome FROM audit_log WHERE object = 'database key' ORDER BY seq")?;
            Ok(s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?)
        })
        .unwrap();
    let outcomes: Vec<String> = outcomes.into_iter().map(|(user, outcome)| format!("{user}: {outcome}")).collect();
    assert_eq!(outcomes.len(), 4, "{outcomes:?}");
    assert_eq!(outcomes[0], "a1: rotation started");
    assert!(outcomes[1].starts_with("o1: refused"), "{outcomes:?}");
    assert_eq!(outcomes[2], "a1: rotation resumed");
    assert!(outcomes[3].starts_with("a1: rotated (resumed)"), "{outcomes:?}");
}

/// Issue 14, item 9: a wrong key is said once, in the program's words, without SQLCipher's own
/// log lines, and the message names what else it could be.
#[test]
fn a_wrong_key_is_one_clear_error() {
    let dir = data_dir_with_an_officer();
    let d = dir.path();
    let out = command(d, &["users", "list", "--as", "A1"], "123456", "")
        .env("PATROL_ALPR_DB_KEY", "not the key")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("ERROR CORE"), "{err}");
    assert!(err.contains("does not open") && err.contains("first page is damaged"), "{err}");
}

/// Issue 14, item 9: ids cannot be enumerated. Before a right PIN, an unknown id, a known id
/// and a suspended account are refused in the same words; only the right PIN learns why a
/// suspended account may not log on.
#[test]
fn refusals_before_a_right_pin_do_not_tell_which_ids_exist() {
    let dir = data_dir_with_an_officer();
    let d = dir.path();
    let refusal = |id: &str, pin: &str| {
        let out = command(d, &["users", "list", "--as", id], pin, "").output().unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let unknown = refusal("ghost", "111111");
    assert!(unknown.contains("wrong user id or PIN"), "{unknown}");
    assert_eq!(refusal("o1", "111111"), unknown);
    run_ok(d, &["users", "suspend", "O1", "--reason", "internal investigation", "--as", "A1"], "123456", "");
    assert_eq!(refusal("o1", "111111"), unknown, "a wrong PIN learns nothing of the suspension");
    let right = refusal("o1", "654321");
    assert!(right.contains("suspended") && right.contains("internal investigation"), "{right}");
    // The audit rows still count the attempts down.
    let failures = audit_outcomes(d, "logon_failure");
    assert!(failures.iter().any(|o| o.contains("attempts left")), "{failures:?}");
}

/// Issue 14, item 7: a supervisor's report never fails because others use the car's data at
/// the same moment: reports, audit checks and list commands run at once, all succeed.
#[test]
fn concurrent_reports_and_audit_checks_all_succeed() {
    let dir = data_dir_with_an_officer();
    let d = dir.path();
    let jobs: Vec<&[&str]> = vec![
        &["report", "usage", "--from", "2026-01-01", "--to", "2026-12-31", "--as", "A1"],
        &["audit", "verify", "--as", "A1"],
        &["users", "list", "--as", "A1"],
        &["hotlist", "bolo", "list", "--as", "A1"],
    ];
    let children: Vec<(String, Child)> = (0..12)
        .map(|i| {
            let args = jobs[i % jobs.len()];
            (args.join(" "), command(d, args, "123456", "").spawn().unwrap())
        })
        .collect();
    for (what, child) in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// Issue 14, item 1: a production store (created under a real key) never takes the demo
/// accounts (whose PINs, the administrator's among them, are published): not through `store
/// seed-demo-users`, not through `--demo` pointed at it.
#[test]
fn a_production_store_refuses_demo_accounts() {
    let dir = data_dir_with_an_officer();
    let d = dir.path();
    let seeded = command(d, &["store", "seed-demo-users"], "", "").output().unwrap();
    assert!(!seeded.status.success());
    assert!(String::from_utf8_lossy(&seeded.stderr).contains("production store"), "{seeded:?}");
    // The console in demo mode on this data dir: refused before any demo account exists (with
    // no display here it fails either way; what counts is that no account was created).
    let demo = command(d, &["--demo", "--data-dir", d.to_str().unwrap()], "", "").output().unwrap();
    assert!(!demo.status.success());
    let list = command(d, &["users", "list", "--as", "A1"], "123456", "").output().unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(list.contains("a1") && !list.contains("demo-"), "{list}");
    let failures = audit_outcomes(d, "admin");
    assert!(failures.iter().all(|o| !o.contains("demo")), "{failures:?}");
}

/// Issue 14, item 2: the security settings are the database's. A settings file written after
/// the store's first use cannot lift the lockout, shorten retention under its floor, or point
/// the hot-list update at another key: it is ignored, with a warning naming each key.
#[test]
fn a_settings_file_cannot_weaken_the_security_settings() {
    let dir = data_dir_with_an_officer();
    let d = dir.path();
    std::fs::write(
        d.join("no-config.toml"),
        "[store]\nlockout_failures = 4000000000\nretention_days = 1\nallow_short_retention = true\ninactive_suspend_days = 0\n\n\
         [hotlist]\npublic_key = \"MCowBQYDK2VwAyEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"\n\
         max_age_hours = 100000\nmax_substitutions = 3\n",
    )
    .unwrap();
    let purge = command(d, &["purge", "--dry-run", "--as", "A1"], "123456", "").output().unwrap();
    assert!(purge.status.success(), "{}", String::from_utf8_lossy(&purge.stderr));
    assert!(String::from_utf8_lossy(&purge.stdout).starts_with("retention 365 days"), "{purge:?}");
    let warnings = String::from_utf8_lossy(&purge.stderr);
    for key in [
        "[store] lockout_failures",
        "[store] retention_days",
        "[store] allow_short_retention",
        "[store] inactive_suspend_days",
        "[hotlist] public_key",
        "[hotlist] max_age_hours, equivalence_classes, max_substitutions, bolo_max_days, past_reads_window_hours, \
         ignore_state_lists",
    ] {
        assert!(warnings.contains(&format!("{key} = ")) && warnings.contains("is ignored"), "{key}: {warnings}");
    }
    // The lockout in force is still 5.
    for _ in 0..5 {
        assert!(!command(d, &["users", "list", "--as", "O1"], "000000", "").output().unwrap().status.success());
    }
    let right = command(d, &["users", "list", "--as", "O1"], "654321", "").output().unwrap();
    assert!(String::from_utf8_lossy(&right.stderr).contains("locked"), "{right:?}");
    // The administrator changes it, audited.
    run_ok(d, &["admin", "accounts", "set", "--lockout-failures", "3", "--as", "A1"], "123456", "");
    let shown = command(d, &["admin", "accounts", "show", "--as", "A1"], "123456", "").output().unwrap();
    assert!(String::from_utf8_lossy(&shown.stdout).contains("lockout after 3 wrong PINs"), "{shown:?}");
    assert!(audit_outcomes(d, "admin").iter().any(|o| o.contains("lockout after 3 wrong PINs (was 5)")));
    // The hot-list rules in force are still the defaults; the administrator changes them.
    let rules = command(d, &["admin", "hotlist-rules", "show", "--as", "A1"], "123456", "").output().unwrap();
    assert!(String::from_utf8_lossy(&rules.stdout).contains("stale after 24 h; 1 substitution(s)"), "{rules:?}");
    run_ok(
        d,
        &["admin", "hotlist-rules", "set", "--max-age-hours", "12", "--text-only", "LOCAL BOLO", "--as", "A1"],
        "123456",
        "",
    );
    let rules = command(d, &["admin", "hotlist-rules", "show", "--as", "A1"], "123456", "").output().unwrap();
    let shown = String::from_utf8_lossy(&rules.stdout);
    assert!(shown.contains("stale after 12 h") && shown.contains("matched on text alone: LOCAL BOLO"), "{shown}");
    assert!(audit_outcomes(d, "admin").iter().any(|o| o.contains("now stale after 12 h")));
}

/// Issue 14, item 10: the key holder can rebuild the hash chain so that it verifies on its
/// own, but not the anchors a supervisor signed with a key kept off the car, nor the head a
/// usage report printed: both catch the rebuilt log.
#[test]
fn a_rebuilt_audit_log_is_caught_by_the_anchors_and_the_printed_head() {
    let dir = data_dir_with_an_officer();
    let d = dir.path();
    let cert = ["--trained-on", "2026-01-01", "--certified-until", "2099-01-01"];
    run_ok(
        d,
        &[&["users", "add", "S1", "--name", "Sup", "--role", "supervisor", "--as", "A1"][..], &cert].concat(),
        "123456",
        "111222",
    );
    let stick = tempfile::tempdir().unwrap();
    let key = stick.path().join("anchor.key");
    let key_arg = key.to_str().unwrap();
    let public = stick.path().join("anchor.key.pub");
    let carried = stick.path().join("anchors.jsonl");
    // The key never goes into the car's data dir.
    let inside = command(d, &["audit", "anchor-key", "--out", d.join("k").to_str().unwrap()], "", "").output().unwrap();
    assert!(!inside.status.success());
    run_ok(d, &["audit", "anchor-key", "--out", key_arg], "", "");
    let anchor_args = ["audit", "anchor", "--signing-key", key_arg, "--out", carried.to_str().unwrap()];
    // An officer cannot anchor; the supervisor can.
    let officer = command(d, &[&anchor_args[..], &["--as", "O1"]].concat(), "654321", "").output().unwrap();
    assert!(!officer.status.success());
    run_ok(d, &[&anchor_args[..], &["--as", "S1"]].concat(), "111222", "");
    let report =
        command(d, &["report", "usage", "--from", "2026-01-01", "--to", "2099-01-01", "--as", "S1"], "111222", "")
            .output()
            .unwrap();
    let stdout = String::from_utf8_lossy(&report.stdout).into_owned();
    let printed = stdout
        .lines()
        .find_map(|l| l.strip_prefix("audit chain head: "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no head printed: {stdout}"))
        .to_owned();

    // The attacker, with the database key: cut the log back to row 3, drop the car's anchors,
    // and write new rows that chain correctly.
    let store = Store::open(d, StoreKeys::derive(SECRET, d, KeySource::Environment).unwrap(), "test").unwrap();
    store
        .write(|c| {
            c.execute_batch(
                "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;
                 DELETE FROM audit_log WHERE seq > 3; DELETE FROM audit_anchors;",
            )?;
            Ok(())
        })
        .unwrap();
    for i in 0..20 {
        let event = patrol_alpr::audit::AuditEvent::new(
            "O1",
            "PD",
            patrol_alpr::audit::AuditAction::LogonSuccess,
            "O1",
            &format!("ok {i}"),
        );
        store.audit(event).unwrap();
    }
    drop(store);

    let verify = |extra: &[&str]| {
        let out = command(d, &[&["audit", "verify"][..], extra].concat(), "", "").output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    // On its own the chain verifies: the documented limit of a chain anyone with the key can
    // recompute.
    let (code, out) = verify(&[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("intact: "), "{out}");
    // The carried anchors catch it.
    let (code, out) = verify(&["--anchors", carried.to_str().unwrap(), "--anchor-key", public.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("broken at row"), "{out}");
    // So does the head the usage report printed.
    let (code, out) = verify(&["--head", &printed]);
    assert_eq!(code, Some(2), "{out}");
    // Anchors the attacker signs with a key of their own do not vouch for anything.
    let forged_key = stick.path().join("forged.key");
    let forged = stick.path().join("forged.jsonl");
    run_ok(d, &["audit", "anchor-key", "--out", forged_key.to_str().unwrap()], "", "");
    let forge = ["audit", "anchor", "--signing-key", forged_key.to_str().unwrap(), "--out", forged.to_str().unwrap()];
    run_ok(d, &[&forge[..], &["--as", "S1"]].concat(), "111222", "");
    let (code, out) = verify(&["--anchors", forged.to_str().unwrap(), "--anchor-key", public.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("not signed by the given key"), "{out}");
}

/// Issue 14, item 5 (`run --headless`): reading a camera or a recording is ALPR collection and
/// needs a certified user; the simulator alone runs without one but matches no real hot list.
#[test]
fn a_headless_run_on_recorded_frames_needs_a_user() {
    let dir = data_dir_with_an_officer();
    let d = dir.path();
    let frames = d.join("recording");
    std::fs::create_dir_all(&frames).unwrap();
    let replay = format!("replay:{}", frames.display());
    let args = ["run", "--headless", "--source", &replay, "--seconds", "0.2"];
    let out = command(d, &args, "", "").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("give --as ID"), "{out:?}");
    // An officer with a wrong PIN gets nothing either.
    let out = command(d, &[&args[..], &["--as", "O1"]].concat(), "000000", "").output().unwrap();
    assert!(!out.status.success());
    assert!(audit_outcomes(d, "activate").is_empty());
}
