//! Store and forward against a real PostgreSQL (issue 19): a car's records reach the office
//! once each, through an office that is down at shift start, restarted as by a crash, and a
//! car killed with SIGKILL in the middle of sending; accounts deactivated at the office are
//! refused in the car after its next pull; an altered or missing audit row at the office is
//! found and named by `fleet status`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use patrol_alpr::fleet::enroll::{enroll_car, read_credentials, write_credentials};
use patrol_alpr::fleet::schema::migrate;
use patrol_alpr::fleet::sync::{FleetSync, SyncSettings, connect_car, drain, send_batch};
use patrol_alpr::fleet::{connect, office_identity};
use patrol_alpr::store::outbox::{Joined, backlog, join, next_batch};
use patrol_alpr::store::{KeySource, NewRead, Store, StoreKeys};
use support::postgres::Cluster;

const PASSPHRASE: &str = "fleet sync test passphrase";

fn open_store(data: &Path) -> Store {
    let keys = StoreKeys::derive(PASSPHRASE, data, KeySource::Environment).unwrap();
    Store::open(data, keys, "Port PD").unwrap()
}

fn reads(n: usize, officer: &str) -> Vec<NewRead> {
    (0..n)
        .map(|i| NewRead {
            time: Utc::now(),
            camera: "front".into(),
            officer: Some(officer.into()),
            plate: format!("T{i:06}"),
            confidence: 0.9,
            candidates_json: "[]".into(),
            state: Some("CA".into()),
            gps: None,
            crop_png: Some(vec![0x89, b'P', b'N', b'G', i as u8]),
        })
        .collect()
}

fn count(office: &mut postgres::Client, sql: &str) -> i64 {
    office.query_one(sql, &[]).unwrap().get(0)
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_car_forwards_every_record_once_through_an_office_outage_a_restart_and_a_crash_before_marking() {
    let pg = Cluster::start();
    let mut office = connect(&pg.url()).unwrap();
    migrate(&mut office, Utc::now().date_naive()).unwrap();
    let credentials = enroll_car(&mut office, "unit-1", "admin").unwrap();
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let creds_file = home.path().join("unit-1.json");
    write_credentials(&creds_file, &data, &credentials).unwrap();
    let store = Arc::new(open_store(&data));
    let settings = SyncSettings {
        office: office_identity(&pg.url()).unwrap(),
        car_id: "unit-1".into(),
        credentials: creds_file,
        interval: Duration::from_millis(200),
    };
    let joined =
        Joined { car_id: "unit-1".into(), office: settings.office.clone(), joined_by: "admin".into(), joined_ms: 1 };
    store.write(move |conn| join(conn, &joined)).unwrap();

    // The office is down when the shift starts: patrol goes on, the outbox keeps everything.
    pg.stop();
    let sync = FleetSync::start(Arc::clone(&store), settings.clone()).unwrap();
    let shift = store.start_shift("o1", Utc::now()).unwrap();
    store.record_checklist(shift, "o1", "front", true, "[]", "").unwrap();
    store.insert_reads(reads(300, "o1")).unwrap();
    wait_for("the sync to find the office down", Duration::from_secs(20), || {
        let s = sync.status();
        !s.connected && s.error.is_some()
    });
    let waiting = store.read(backlog).unwrap();
    assert!(waiting.rows >= 302, "{waiting:?}");
    assert!(sync.status().summary(patrol_alpr::store::now_ms()).contains("OFFLINE"));

    // It comes back mid-shift: everything arrives, once.
    pg.start_again();
    sync.wake();
    wait_for("the outbox to drain", Duration::from_secs(90), || {
        sync.wake();
        let s = sync.status();
        s.connected && s.waiting == 0
    });
    let mut office = connect(&pg.url()).unwrap();
    assert_eq!(count(&mut office, "SELECT count(*) FROM reads WHERE car_id = 'unit-1'"), 300);
    assert_eq!(count(&mut office, "SELECT count(*) FROM checklists WHERE car_id = 'unit-1'"), 1);
    assert_eq!(count(&mut office, "SELECT count(*) FROM shifts WHERE car_id = 'unit-1'"), 1);
    let contact: Option<chrono::DateTime<Utc>> =
        office.query_one("SELECT last_contact FROM cars WHERE car_id = 'unit-1'", &[]).unwrap().get(0);
    assert!(contact.is_some(), "the car's contact time is kept");

    // The shift ends: its end goes out as a second event of the same shift.
    store.end_shift(shift, Utc::now()).unwrap();
    // PostgreSQL crashes and restarts (-m immediate) while the car keeps reading.
    pg.restart_immediate();
    store.insert_reads(reads(200, "o1")).unwrap();
    wait_for("the outbox to drain after the restart", Duration::from_secs(90), || {
        sync.wake();
        let s = sync.status();
        s.connected && s.waiting == 0 && store.read(backlog).unwrap().rows == 0
    });
    drop(sync);
    let mut office = connect(&pg.url()).unwrap();
    assert_eq!(count(&mut office, "SELECT count(*) FROM reads WHERE car_id = 'unit-1'"), 500);
    assert_eq!(count(&mut office, "SELECT count(*) FROM shifts WHERE car_id = 'unit-1' AND end_at IS NOT NULL"), 1);

    // A crash between the office's commit and the car's marking: the batch goes again and
    // the office stores none of it twice.
    store.insert_reads(reads(120, "o1")).unwrap();
    let mut car = connect_car(&settings).unwrap();
    let batch = store.read(|conn| next_batch(conn, 1000)).unwrap();
    assert_eq!(send_batch(&mut car, "unit-1", &batch).unwrap(), batch.len() as u64);
    let again = drain(&store, &mut car, "unit-1", 50, &|| false).unwrap();
    assert_eq!((again.rows, again.stored), (batch.len() as u64, 0), "sent again, stored once");
    assert_eq!(count(&mut office, "SELECT count(*) FROM reads WHERE car_id = 'unit-1'"), 620);
    assert_eq!(count(&mut office, "SELECT count(DISTINCT read_id) FROM reads WHERE car_id = 'unit-1'"), 620);
    let crops = count(&mut office, "SELECT count(*) FROM reads WHERE car_id = 'unit-1' AND crop IS NOT NULL");
    assert_eq!(crops, 620, "each read with its crop");

    // The office holds the car's audit chain from its first row, intact.
    let chain = patrol_alpr::fleet::office::verify_car_chain(&mut office, "unit-1").unwrap();
    let head = store.audit_head().unwrap().seq as u64;
    assert_eq!(chain, patrol_alpr::store::audit_log::Verification::Intact { rows: head });
}

// ---------------------------------------------------------------- the command line

fn cli(data: &Path, config: &Path, args: &[&str], pin: &str) -> Output {
    cli_command(data, config, args, pin).output().unwrap()
}

fn cli_command(data: &Path, config: &Path, args: &[&str], pin: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_patrol-alpr"));
    command
        .arg("--data-dir")
        .arg(data)
        .arg("--config")
        .arg(config)
        .args(args)
        .env("PATROL_ALPR_DB_KEY", PASSPHRASE)
        .env("PATROL_ALPR_PIN", pin)
        .env("PATROL_ALPR_NEW_PIN", "123456");
    command
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Fleet {
    pg: Cluster,
    _home: tempfile::TempDir,
    /// The administrator's console at the office.
    admin: PathBuf,
    /// The car.
    car: PathBuf,
    /// No settings for the administrator's console.
    no_config: PathBuf,
    /// The car's settings: its credentials file.
    car_config: PathBuf,
}

/// An office with its schema, an administrator's console with an administrator and an
/// officer published to the office, and car unit-9 enrolled, joined and synced once.
fn fleet() -> Fleet {
    let pg = Cluster::start();
    let home = tempfile::tempdir().unwrap();
    let (admin, car) = (home.path().join("admin"), home.path().join("car"));
    let no_config = home.path().join("none.toml");
    let car_config = home.path().join("car.toml");
    let creds = home.path().join("unit-9.json");
    std::fs::write(&car_config, format!("[fleet]\ncredentials = {:?}\n", creds.to_str().unwrap())).unwrap();
    let url = pg.url();
    let cert = ["--trained-on", "2026-01-01", "--certified-until", "2099-01-01"];
    ok(&cli(
        &admin,
        &no_config,
        &[&["users", "add", "a1", "--name", "Admin", "--role", "administrator"][..], &cert].concat(),
        "",
    ));
    ok(&cli(
        &admin,
        &no_config,
        &[&["users", "add", "o1", "--name", "Officer", "--role", "officer", "--as", "a1"][..], &cert].concat(),
        "123456",
    ));
    ok(&cli(&admin, &no_config, &["fleet", "init", "--db", &url, "--as", "a1"], "123456"));
    ok(&cli(
        &admin,
        &no_config,
        &["fleet", "enroll-car", "unit-9", "--db", &url, "--credentials", creds.to_str().unwrap(), "--as", "a1"],
        "123456",
    ));
    let published = ok(&cli(&admin, &no_config, &["fleet", "publish-accounts", "--db", &url, "--as", "a1"], "123456"));
    assert!(published.contains("2 accounts published"), "{published}");
    // The car is provisioned with its own first administrator, then joined.
    ok(&cli(
        &car,
        &car_config,
        &[&["users", "add", "a1", "--name", "Admin", "--role", "administrator"][..], &cert].concat(),
        "",
    ));
    let joined = ok(&cli(
        &car,
        &car_config,
        &["fleet", "join", "--db", &url, "--credentials", creds.to_str().unwrap(), "--as", "a1"],
        "123456",
    ));
    assert!(joined.contains("car unit-9 joined"), "{joined}");
    let synced = ok(&cli(&car, &car_config, &["fleet", "sync", "--as", "a1"], "123456"));
    assert!(synced.contains("0 waiting") && synced.contains("2 accounts pulled"), "{synced}");
    assert_eq!(read_credentials(&creds).unwrap().car_id, "unit-9");
    Fleet { pg, _home: home, admin, car, no_config, car_config }
}

#[test]
fn a_car_killed_mid_batch_sends_the_rest_later_and_nothing_twice() {
    let f = fleet();
    let store = open_store(&f.car);
    for _ in 0..4 {
        store.insert_reads(reads(5_000, "o1")).unwrap();
    }
    drop(store);
    let mut office = connect(&f.pg.url()).unwrap();
    let mut child = cli_command(&f.car, &f.car_config, &["fleet", "sync", "--as", "a1"], "123456")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed with SIGKILL once the office has some of the rows and before it has them all.
    let start = Instant::now();
    loop {
        let n = count(&mut office, "SELECT count(*) FROM reads WHERE car_id = 'unit-9'");
        if n > 0 || start.elapsed() > Duration::from_secs(60) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let at_kill = count(&mut office, "SELECT count(*) FROM reads WHERE car_id = 'unit-9'");
    assert!(at_kill > 0 && at_kill < 20_000, "killed mid-way: the office had {at_kill} of 20000 rows");
    let synced = ok(&cli(&f.car, &f.car_config, &["fleet", "sync", "--as", "a1"], "123456"));
    assert!(synced.contains(", 0 waiting"), "{synced}");
    assert_eq!(count(&mut office, "SELECT count(*) FROM reads WHERE car_id = 'unit-9'"), 20_000);
    assert_eq!(count(&mut office, "SELECT count(DISTINCT read_id) FROM reads WHERE car_id = 'unit-9'"), 20_000);
}

#[test]
fn an_officer_deactivated_at_the_office_is_refused_in_the_car_after_its_next_pull() {
    let f = fleet();
    let rules = patrol_alpr::session::AccountRules::default();
    let log_on = || {
        let store = open_store(&f.car);
        let accounts = patrol_alpr::session::Accounts::new(&store, rules);
        accounts.log_on("o1", "123456", Utc::now()).map(|_| ()).map_err(|e| e.to_string())
    };
    // Created at the office, never in the car: the pull brought the account and its PIN.
    log_on().unwrap();
    let url = f.pg.url();
    ok(&cli(&f.admin, &f.no_config, &["users", "deactivate", "o1", "--reason", "separated", "--as", "a1"], "123456"));
    ok(&cli(&f.admin, &f.no_config, &["fleet", "publish-accounts", "--db", &url, "--as", "a1"], "123456"));
    assert!(log_on().is_ok(), "until the car has pulled, it keeps what it last pulled");
    let synced = ok(&cli(&f.car, &f.car_config, &["fleet", "sync", "--as", "a1"], "123456"));
    assert!(synced.contains("1 accounts pulled"), "{synced}");
    let refused = log_on().unwrap_err();
    assert!(refused.to_lowercase().contains("deactivated"), "{refused}");
}

#[test]
fn an_altered_or_missing_audit_row_at_the_office_is_named_by_car_and_row() {
    let f = fleet();
    let url = f.pg.url();
    let status = ok(&cli(&f.admin, &f.no_config, &["fleet", "status", "--db", &url, "--as", "a1"], "123456"));
    assert!(status.contains("unit-9") && status.contains("audit chain intact"), "{status}");
    let mut office = connect(&url).unwrap();
    office
        .execute("UPDATE audit SET outcome = 'nothing happened' WHERE car_id = 'unit-9' AND audit_seq = 2", &[])
        .unwrap();
    let altered = cli(&f.admin, &f.no_config, &["fleet", "status", "--db", &url, "--as", "a1"], "123456");
    assert_eq!(altered.status.code(), Some(3));
    let text = String::from_utf8_lossy(&altered.stdout);
    assert!(text.contains("unit-9") && text.contains("BROKEN at row 2") && text.contains("altered"), "{text}");
    office.execute("DELETE FROM audit WHERE car_id = 'unit-9' AND audit_seq = 2", &[]).unwrap();
    let missing = cli(&f.admin, &f.no_config, &["fleet", "status", "--db", &url, "--as", "a1"], "123456");
    assert_eq!(missing.status.code(), Some(3));
    let text = String::from_utf8_lossy(&missing.stdout);
    assert!(text.contains("row 2 is missing"), "{text}");
}
