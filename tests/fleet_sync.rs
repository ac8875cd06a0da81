//! Store and forward against a real PostgreSQL (issue 19): a car's records reach the office
//! once each, through an office that is down at shift start, restarted as by a crash, and a
//! car killed with SIGKILL in the middle of sending; accounts deactivated at the office are
//! refused in the car after its next pull; an altered or missing audit row at the office is
//! found and named by `fleet status` and `audit verify --db`; a hot list published at the
//! office reaches the car and one with a bad signature is refused there; the fleet usage
//! report equals the sum of the cars' own reports.

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
        hotlist_key: None,
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
    /// The car's settings: its credentials file and the agency's hot-list public key.
    car_config: PathBuf,
    /// The agency's hot-list signing key.
    agency_key: PathBuf,
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
    let agency_key = home.path().join("agency.key");
    ok(&cli(&admin, &no_config, &["hotlist", "keygen", "--out", agency_key.to_str().unwrap()], ""));
    let public = std::fs::read_to_string(home.path().join("agency.key.pub")).unwrap();
    std::fs::write(
        &car_config,
        format!("[fleet]\ncredentials = {:?}\n[hotlist]\npublic_key = {:?}\n", creds.to_str().unwrap(), public.trim()),
    )
    .unwrap();
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
    assert!(synced.contains("no new hot list"), "{synced}");
    assert_eq!(read_credentials(&creds).unwrap().car_id, "unit-9");
    Fleet { pg, _home: home, admin, car, no_config, car_config, agency_key }
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

const SVS_V1: &str = "SVS HEADER\n7ABC123 CA1920261120\nTOTAL RECORD 1\n";
const SVS_V2: &str = "SVS HEADER\n7ABC123 CA1920261120\n8NEW888 CA1920261121\nTOTAL RECORD 2\n";

#[test]
fn a_hot_list_published_at_the_office_reaches_the_car_and_a_forged_or_altered_one_is_refused() {
    let f = fleet();
    let url = f.pg.url();
    let key = f.agency_key.to_str().unwrap().to_owned();
    let lists = f._home.path().join("lists");
    std::fs::create_dir_all(&lists).unwrap();
    std::fs::write(lists.join("svs.tbl"), SVS_V1).unwrap();
    let dir = lists.to_str().unwrap();

    // An officer may not publish; the administrator may, and it is in the office's log.
    let refused =
        cli(&f.admin, &f.no_config, &["hotlist", "publish", dir, "--db", &url, "--key", &key, "--as", "o1"], "123456");
    assert!(!refused.status.success());
    let published = ok(&cli(
        &f.admin,
        &f.no_config,
        &["hotlist", "publish", dir, "--db", &url, "--key", &key, "--version", "v1", "--as", "a1"],
        "123456",
    ));
    assert!(published.contains("published v1 as office publication 1 (1 files"), "{published}");
    let mut office = connect(&url).unwrap();
    assert_eq!(count(&mut office, "SELECT count(*) FROM office_audit WHERE object LIKE 'hot-list publish%'"), 1);

    // The car pulls it, checks it, and its update loads it from the office folder.
    let synced = ok(&cli(&f.car, &f.car_config, &["fleet", "sync", "--as", "a1"], "123456"));
    assert!(synced.contains("hot list v1 pulled (1 files)"), "{synced}");
    let updated = ok(&cli(&f.car, &f.car_config, &["hotlist", "update", "--as", "o1"], "123456"));
    assert!(updated.contains("now using list v1 (1 entries)"), "{updated}");

    // A forger's key: published (the office is only a carrier), refused by the car, audited,
    // and never written where the update reads.
    let forger = f._home.path().join("forger.key");
    ok(&cli(&f.admin, &f.no_config, &["hotlist", "keygen", "--out", forger.to_str().unwrap()], ""));
    std::fs::write(lists.join("svs.tbl"), SVS_V2).unwrap();
    ok(&cli(
        &f.admin,
        &f.no_config,
        &[
            "hotlist",
            "publish",
            dir,
            "--db",
            &url,
            "--key",
            forger.to_str().unwrap(),
            "--version",
            "v2-forged",
            "--as",
            "a1",
        ],
        "123456",
    ));
    let synced = ok(&cli(&f.car, &f.car_config, &["fleet", "sync", "--as", "a1"], "123456"));
    assert!(synced.contains("hot list v2-forged REFUSED: signature does not verify"), "{synced}");
    // The folder still holds v1, sealed with the car's key like the hot-list cache: no plate
    // of it, nor its manifest, is on the disk in the clear.
    let keys = StoreKeys::derive(PASSPHRASE, &f.car, KeySource::Environment).unwrap();
    let sealed = patrol_alpr::hotlist::cache::HotlistCache::at(&f.car.join("office-hotlist"), keys);
    let manifest = String::from_utf8(sealed.load("manifest.json").unwrap().unwrap()).unwrap();
    assert!(manifest.contains("\"v1\""), "the folder still holds v1: {manifest}");
    for entry in std::fs::read_dir(f.car.join("office-hotlist")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        for needle in [&b"7ABC123"[..], b"\"version\"", b"svs.tbl"] {
            assert!(!bytes.windows(needle.len()).any(|w| w == needle), "{needle:?} in the clear");
        }
    }
    let store = open_store(&f.car);
    let head = store.audit_head().unwrap().seq;
    let refusals = (1..=head)
        .filter_map(|seq| store.read(move |conn| patrol_alpr::store::audit_log::row(conn, seq)).unwrap())
        .filter(|row| {
            row.event.object.contains("(v2-forged) from the office") && row.event.outcome.starts_with("refused:")
        })
        .count();
    assert_eq!(refusals, 1, "the refusal is in the car's audit log");
    drop(store);
    let updated = ok(&cli(&f.car, &f.car_config, &["hotlist", "update", "--as", "o1"], "123456"));
    assert!(updated.contains("list v1 is already current"), "{updated}");

    // Signed by the agency, then a file altered at the office: refused too.
    ok(&cli(
        &f.admin,
        &f.no_config,
        &["hotlist", "publish", dir, "--db", &url, "--key", &key, "--version", "v3", "--as", "a1"],
        "123456",
    ));
    office
        .execute(
            "UPDATE hotlist_files SET content = $1 WHERE publication_id = (SELECT max(id) FROM hotlist_publications)",
            &[&SVS_V1.as_bytes()],
        )
        .unwrap();
    let synced = ok(&cli(&f.car, &f.car_config, &["fleet", "sync", "--as", "a1"], "123456"));
    assert!(synced.contains("hot list v3 REFUSED: svs.tbl: does not match its signed manifest"), "{synced}");

    // Signed by the agency and intact: taken.
    ok(&cli(
        &f.admin,
        &f.no_config,
        &["hotlist", "publish", dir, "--db", &url, "--key", &key, "--version", "v4", "--as", "a1"],
        "123456",
    ));
    let synced = ok(&cli(&f.car, &f.car_config, &["fleet", "sync", "--as", "a1"], "123456"));
    assert!(synced.contains("hot list v4 pulled"), "{synced}");
    let updated = ok(&cli(&f.car, &f.car_config, &["hotlist", "update", "--as", "o1"], "123456"));
    assert!(updated.contains("now using list v4 (2 entries)"), "{updated}");

    // A folder an older version wrote in the clear is pulled again, sealed.
    std::fs::write(f.car.join("office-hotlist").join("manifest.json"), b"{}").unwrap();
    let synced = ok(&cli(&f.car, &f.car_config, &["fleet", "sync", "--as", "a1"], "123456"));
    assert!(synced.contains("hot list v4 pulled"), "{synced}");
    let manifest = String::from_utf8(sealed.load("manifest.json").unwrap().unwrap()).unwrap();
    assert!(manifest.contains("\"v4\""), "{manifest}");

    // A car's own role may read publications but not write them.
    let creds = read_credentials(&f._home.path().join("unit-9.json")).unwrap();
    let mut config: postgres::Config = url.parse().unwrap();
    config.user(&creds.user).password(&creds.password);
    let mut car = config.connect(postgres::NoTls).unwrap();
    let forged = car.execute(
        "INSERT INTO hotlist_publications (version, created, manifest, signature, published_by) VALUES ('x', now(), '', '', 'car')",
        &[],
    );
    assert!(forged.is_err(), "a car cannot publish a list");
}

/// Car `car`'s record of one officer's shift: reads, two hits (one confirmed, one acted on
/// under exigent circumstances and confirmed after), all in the past hour.
fn patrol(store: &Store, officer: &str, reads_n: usize, offset_s: i64) {
    use patrol_alpr::hits::{ConfirmResult, HitAction, HitRecord, lifecycle};
    let t = |s: i64| Utc::now() - chrono::Duration::seconds(3600 - offset_s - s);
    let shift = store.start_shift(officer, t(0)).unwrap();
    let mut batch = reads(reads_n, officer);
    for (i, r) in batch.iter_mut().enumerate() {
        r.time = t(10 + i as i64 % 600);
    }
    store.insert_reads(batch).unwrap();
    let confirm = || HitAction::Confirm {
        dispatcher_id: "d7".into(),
        incident_number: "I-1".into(),
        result: ConfirmResult::ConfirmedActive,
    };
    let steps: [Vec<HitAction>; 2] = [
        vec![HitAction::Acknowledge, HitAction::PlateMatches, confirm()],
        vec![
            HitAction::Acknowledge,
            HitAction::PlateMatches,
            HitAction::Exigent { justification: "vehicle fled, pursuit under way".into() },
            confirm(),
        ],
    ];
    for (n, actions) in steps.into_iter().enumerate() {
        let list = if n == 0 { "SVS" } else { "BOLO" };
        let id = store.insert_hit(HitRecord::new(None, "7ABC123", list, 1, Some(officer), t(20 + n as i64))).unwrap();
        let mut hit = store.hit(id).unwrap().unwrap();
        for (k, action) in actions.iter().enumerate() {
            let event = lifecycle::apply(&mut hit, action, officer, t(30 + k as i64)).unwrap();
            store.record_hit_transition(hit.clone(), event).unwrap();
        }
    }
    store.end_shift(shift, t(900)).unwrap();
}

#[test]
fn the_fleet_usage_report_equals_the_sum_of_the_cars_own_reports_and_each_view_is_in_the_office_log() {
    let f = fleet();
    let url = f.pg.url();
    // A second car, joined through the library, beside unit-9.
    let mut office = connect(&url).unwrap();
    let credentials = enroll_car(&mut office, "unit-2", "a1").unwrap();
    let car2 = f._home.path().join("car2");
    std::fs::create_dir_all(&car2).unwrap();
    let creds2 = f._home.path().join("unit-2.json");
    write_credentials(&creds2, &car2, &credentials).unwrap();
    let store2 = open_store(&car2);
    let joined = Joined {
        car_id: "unit-2".into(),
        office: office_identity(&url).unwrap(),
        joined_by: "a1".into(),
        joined_ms: 1,
    };
    store2.write(move |conn| join(conn, &joined)).unwrap();
    patrol(&store2, "o1", 40, 0);
    patrol(&store2, "o2", 25, 1000);
    let settings2 = SyncSettings {
        office: office_identity(&url).unwrap(),
        car_id: "unit-2".into(),
        credentials: creds2,
        interval: Duration::from_secs(60),
        hotlist_key: None,
    };
    let mut client = connect_car(&settings2).unwrap();
    drain(&store2, &mut client, "unit-2", 100, &|| false).unwrap();
    let store9 = open_store(&f.car);
    patrol(&store9, "o1", 70, 1500);
    drop(store9);
    ok(&cli(&f.car, &f.car_config, &["fleet", "sync", "--as", "a1"], "123456"));

    // Each car's own report, summed, against the fleet's.
    let period = ["--from", "2026-01-01", "--to", "2099-01-01"];
    let local = |data: &Path, config: &Path| -> Vec<Vec<String>> {
        let out =
            ok(&cli(data, config, &[&["report", "usage", "--csv", "--as", "a1"][..], &period].concat(), "123456"));
        out.lines().skip(1).map(|l| l.split(',').map(str::to_owned).collect()).collect()
    };
    // The second car has no administrator of its own: its report is computed by the library.
    let car9 = local(&f.car, &f.car_config);
    let mut want = (0i64, 0i64, 0i64, 0i64, 0usize);
    for row in &car9 {
        // officer, shift_id, logon, logoff, minutes, active, share, reasons, down, reads, hits_by_list, dispositions, conf, exig
        want.0 += row[9].parse::<i64>().unwrap();
        want.1 += row[10].split(';').map(|kv| kv.split(':').nth(1).unwrap().parse::<i64>().unwrap()).sum::<i64>();
        want.2 += row[12].parse::<i64>().unwrap();
        want.3 += row[13].parse::<i64>().unwrap();
        want.4 += 1;
    }
    let from = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
    let to = chrono::DateTime::parse_from_rfc3339("2099-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
    for r in store2.read(|conn| patrol_alpr::reports::usage::compute(conn, from, to, None, Utc::now())).unwrap() {
        want.0 += r.reads;
        want.1 += r.hits_by_list.values().sum::<i64>();
        want.2 += r.confirmations;
        want.3 += r.exigent_overrides;
        want.4 += 1;
    }
    assert_eq!(want, (135, 6, 6, 3, 3), "the cars' own reports");
    let fleet_csv = ok(&cli(
        &f.admin,
        &f.no_config,
        &[&["report", "usage", "--csv", "--db", &url, "--as", "a1"][..], &period].concat(),
        "123456",
    ));
    let mut got = (0i64, 0i64, 0i64, 0i64, 0usize);
    let mut cars = std::collections::BTreeSet::new();
    for line in fleet_csv.lines().skip(1) {
        let row: Vec<&str> = line.split(',').collect();
        cars.insert(row[0].to_owned());
        got.0 += row[6].parse::<i64>().unwrap();
        got.1 += row[7].split(';').map(|kv| kv.split(':').nth(1).unwrap().parse::<i64>().unwrap()).sum::<i64>();
        got.2 += row[8].parse::<i64>().unwrap();
        got.3 += row[9].parse::<i64>().unwrap();
        got.4 += 1;
    }
    assert_eq!(got, want, "fleet report {fleet_csv}");
    assert_eq!(cars.len(), 2);

    // An officer may not run it; the refusal is audited in the console that refused.
    let refused = cli(
        &f.admin,
        &f.no_config,
        &[&["report", "usage", "--db", &url, "--as", "o1"][..], &period].concat(),
        "123456",
    );
    assert!(!refused.status.success());

    // A random audit across the fleet, by a supervisor (the administrator may not): car
    // unit-9's own report view (a data access) reaches the office with its next sync.
    ok(&cli(&f.car, &f.car_config, &["fleet", "sync", "--as", "a1"], "123456"));
    let cert = ["--trained-on", "2026-01-01", "--certified-until", "2099-01-01"];
    ok(&cli(
        &f.admin,
        &f.no_config,
        &[&["users", "add", "s1", "--name", "Sergeant", "--role", "supervisor", "--as", "a1"][..], &cert].concat(),
        "123456",
    ));
    let sample = |who: &str| {
        let args = ["audit", "sample", "--db", &url, "--size", "3", "--seed", "9", "--as", who];
        cli(&f.admin, &f.no_config, &[&args[..], &period].concat(), "123456")
    };
    assert!(!sample("a1").status.success());
    let drawn = ok(&sample("s1"));
    // Drawn from both cars' hit decisions and data accesses (each car audits its hits).
    assert!(drawn.starts_with("fleet sample 1: 3 of ") && drawn.contains(" items, seed 9"), "{drawn}");
    assert_eq!(drawn.lines().filter(|l| l.contains("\tcar unit-")).count(), 3, "{drawn}");
    let again = ok(&sample("s1"));
    let items = |text: &str| text.lines().skip(1).map(|l| l.split_once('\t').unwrap().1.to_owned()).collect::<Vec<_>>();
    assert_eq!(items(&again), items(&drawn), "the same seed draws the same items");
    let review = |verdict: &str, note: &str| {
        cli(
            &f.admin,
            &f.no_config,
            &["audit", "review", "1", "1", "--verdict", verdict, "--note", note, "--db", &url, "--as", "s1"],
            "123456",
        )
    };
    assert!(!review("flagged", "").status.success(), "a flagged item needs a note");
    ok(&review("flagged", "no case number for a usage review"));
    let shown = ok(&cli(&f.admin, &f.no_config, &["audit", "show", "1", "--db", &url, "--as", "s1"], "123456"));
    assert!(shown.contains("1 of 3 reviewed, 1 flagged") && shown.contains("flagged by s1"), "{shown}");

    // A search of every car's reads needs a purpose and a case number, and is recorded.
    let search = |purpose: &str| {
        let args = ["search", "plate", "T000003", "--purpose", purpose, "--case", "C-77", "--db", &url, "--as", "o1"];
        cli(&f.admin, &f.no_config, &args, "123456")
    };
    assert!(!search(" ").status.success(), "no purpose, no search");
    let found = ok(&search("stolen vehicle follow-up"));
    assert!(found.contains("unit-2\t") && found.contains("unit-9\t"), "{found}");
    // Car unit-2 read T000003 in each of its two shifts, unit-9 once.
    assert!(found.contains("3 reads; recorded as office audit row"), "{found}");

    // Every car's chain and the office's own log verify; the views are in the office's log
    // (the report, two samples, the review, the show and the search).
    let verified = ok(&cli(&f.admin, &f.no_config, &["audit", "verify", "--db", &url, "--as", "a1"], "123456"));
    assert!(verified.contains("car unit-2: intact") && verified.contains("car unit-9: intact"), "{verified}");
    assert!(verified.contains("office log: intact, 6 rows"), "{verified}");
    assert_eq!(count(&mut office, "SELECT count(*) FROM office_audit"), 7);
    // The office's log cannot be edited in place, and a row deleted by the owner (triggers
    // off) is named.
    assert!(office.execute("UPDATE office_audit SET outcome = 'x' WHERE seq = 1", &[]).is_err());
    office
        .batch_execute(
            "ALTER TABLE office_audit DISABLE TRIGGER office_audit_no_change; DELETE FROM office_audit WHERE seq = 1",
        )
        .unwrap();
    let broken = cli(&f.admin, &f.no_config, &["audit", "verify", "--db", &url, "--as", "a1"], "123456");
    assert_eq!(broken.status.code(), Some(2));
    let text = String::from_utf8_lossy(&broken.stdout);
    assert!(text.contains("office log: BROKEN at row 1: row 1 is missing"), "{text}");
}

#[test]
fn the_fleet_bench_loses_nothing_and_stores_nothing_twice_through_its_faults() {
    let options = patrol_alpr::fleet::bench::BenchOptions {
        cars: 3,
        seconds: 24,
        reads_per_second: 4.0,
        hit_every_s: 5,
        backlog_reads: 3_000,
        seed: 7,
        report_days: 1,
        report_reads_per_shift: 50,
    };
    let lines = std::sync::Mutex::new(Vec::new());
    let result = patrol_alpr::fleet::bench::run(&options, &|l| lines.lock().unwrap().push(l.to_owned())).unwrap();
    let said = lines.lock().unwrap().join("\n");
    // Two crashes of the server and a car killed between the office's commit and its mark,
    // at a third, a half and two thirds of the run.
    assert_eq!((result.restarts, result.car_kills), (2, 1), "{said}");
    assert!(result.faults >= 3, "{said}");
    assert_eq!((result.lost, result.duplicated), (0, 0), "{said}");
    assert_eq!(result.rows_sent, result.rows_at_office);
    // About 24 s x 4 reads x 3 cars, plus hits, steps, audit rows, shifts and the backlog.
    assert!(result.rows_sent > 3_000 + 200, "{result:?}");
    assert_eq!(result.chains_intact, 3, "{said}");
    assert!(result.lag_samples > 0 && result.sync_lag_ms_p95 > 0.0, "{result:?}");
    assert!(result.drain_rows_per_s > 0.0);
    // One day of history for 3 cars: 9 shifts of 50 reads, with the bench's own 3 shifts.
    assert_eq!(result.report_shifts, 9, "{said}");
    assert!(result.report_exact, "the report's reads equal the reads counted one by one: {said}");
    assert!(result.report_plan.contains("reads"), "{}", result.report_plan);
    let json: serde_json::Value = serde_json::from_str(&result.json()).unwrap();
    assert_eq!(json["cars"], 3);
    assert_eq!(json["lost"], 0);
}

#[test]
fn the_agencys_rules_published_at_the_office_apply_in_the_car_and_a_bad_or_foreign_one_is_refused() {
    let f = fleet();
    let url = f.pg.url();
    ok(&cli(&f.admin, &f.no_config, &["admin", "accounts", "set", "--lockout-failures", "3", "--as", "a1"], "123456"));
    let published =
        ok(&cli(&f.admin, &f.no_config, &["fleet", "publish-settings", "--db", &url, "--as", "a1"], "123456"));
    assert!(published.contains("[store] lockout_failures = 3"), "{published}");
    assert!(!published.contains("public_key") && !published.contains("sources"), "{published}");
    let synced = ok(&cli(&f.car, &f.car_config, &["fleet", "sync", "--as", "a1"], "123456"));
    assert!(synced.contains("1 settings pulled"), "{synced}");
    let shown = ok(&cli(&f.car, &f.car_config, &["admin", "accounts", "show", "--as", "a1"], "123456"));
    assert!(shown.contains("lockout after 3 wrong PINs"), "{shown}");

    // Written at the office by hand: a value out of range, and the hot-list key (each car's
    // own: whoever held it could sign lists for the fleet). Neither is taken.
    let mut office = connect(&url).unwrap();
    office
        .batch_execute(
            "UPDATE settings SET value = '99', changed_seq = nextval('pull_seq') WHERE key = 'lockout_failures';
             INSERT INTO settings (key, value) VALUES ('hotlist_public_key', '\"AAAA\"');",
        )
        .unwrap();
    let synced = ok(&cli(&f.car, &f.car_config, &["fleet", "sync", "--as", "a1"], "123456"));
    assert!(synced.contains("0 settings pulled"), "{synced}");
    let shown = ok(&cli(&f.car, &f.car_config, &["admin", "accounts", "show", "--as", "a1"], "123456"));
    assert!(shown.contains("lockout after 3 wrong PINs"), "{shown}");
    let store = open_store(&f.car);
    let head = store.audit_head().unwrap().seq;
    let refused = (1..=head)
        .filter_map(|seq| store.read(move |conn| patrol_alpr::store::audit_log::row(conn, seq)).unwrap())
        .filter(|row| row.event.outcome.starts_with("setting from the office refused: 99 is outside"))
        .count();
    assert_eq!(refused, 1);
}

// ---------------------------------------------------------------- TLS

/// A CA, and a server certificate it signs for 127.0.0.1 only (no DNS name).
fn certificates() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    use openssl::asn1::Asn1Time;
    use openssl::bn::{BigNum, MsbOption};
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    use openssl::x509::extension::{BasicConstraints, SubjectAlternativeName};
    use openssl::x509::{X509, X509NameBuilder};
    let name = |cn: &str| {
        let mut n = X509NameBuilder::new().unwrap();
        n.append_entry_by_text("CN", cn).unwrap();
        n.build()
    };
    let serial = || {
        let mut bn = BigNum::new().unwrap();
        bn.rand(64, MsbOption::MAYBE_ZERO, false).unwrap();
        bn.to_asn1_integer().unwrap()
    };
    let ca_key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut ca = X509::builder().unwrap();
    ca.set_version(2).unwrap();
    ca.set_serial_number(&serial()).unwrap();
    ca.set_subject_name(&name("Test agency CA")).unwrap();
    ca.set_issuer_name(&name("Test agency CA")).unwrap();
    ca.set_pubkey(&ca_key).unwrap();
    ca.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
    ca.set_not_after(&Asn1Time::days_from_now(2).unwrap()).unwrap();
    ca.append_extension(BasicConstraints::new().critical().ca().build().unwrap()).unwrap();
    ca.sign(&ca_key, MessageDigest::sha256()).unwrap();
    let ca = ca.build();
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut cert = X509::builder().unwrap();
    cert.set_version(2).unwrap();
    cert.set_serial_number(&serial()).unwrap();
    cert.set_subject_name(&name("office")).unwrap();
    cert.set_issuer_name(ca.subject_name()).unwrap();
    cert.set_pubkey(&key).unwrap();
    cert.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
    cert.set_not_after(&Asn1Time::days_from_now(2).unwrap()).unwrap();
    let san = SubjectAlternativeName::new().ip("127.0.0.1").build(&cert.x509v3_context(Some(&ca), None)).unwrap();
    cert.append_extension(san).unwrap();
    cert.sign(&ca_key, MessageDigest::sha256()).unwrap();
    (ca.to_pem().unwrap(), cert.build().to_pem().unwrap(), key.private_key_to_pem_pkcs8().unwrap())
}

#[test]
fn the_office_is_reached_over_tls_with_its_certificate_checked_when_the_url_asks() {
    let pg = Cluster::start();
    let (ca, cert, key) = certificates();
    pg.install_tls(&cert, &key);
    let home = tempfile::tempdir().unwrap();
    let ca_file = home.path().join("ca.pem");
    std::fs::write(&ca_file, &ca).unwrap();
    let (other_ca, _, _) = certificates();
    let other_file = home.path().join("other-ca.pem");
    std::fs::write(&other_file, &other_ca).unwrap();
    let with = |host: &str, mode: &str, root: &Path| {
        format!(
            "postgres://postgres:{}@{host}:{}/postgres?sslmode={mode}&sslrootcert={}",
            patrol_alpr::fleet::cluster::SUPERUSER_PASSWORD,
            pg.port(),
            root.display()
        )
    };

    // The right CA and the right address: encrypted, as pg_stat_ssl says.
    let mut office = connect(&with("127.0.0.1", "verify-full", &ca_file)).unwrap();
    let ssl: bool = office.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).unwrap().get(0);
    assert!(ssl, "the session is encrypted");
    // Another CA's certificate is refused; so is a name the certificate does not carry,
    // unless only the CA is to be checked (verify-ca).
    let refused = |url: String| connect(&url).err().expect("refused").to_string();
    let foreign = refused(with("127.0.0.1", "verify-full", &other_file));
    assert!(foreign.contains("certificate verify failed"), "{foreign}");
    let wrong_name = refused(with("localhost", "verify-full", &ca_file));
    assert!(wrong_name.contains("certificate verify failed") || wrong_name.contains("hostname"), "{wrong_name}");
    connect(&with("localhost", "verify-ca", &ca_file)).unwrap();

    // A car joined with such a URL keeps the TLS settings and sends its records over TLS.
    migrate(&mut office, Utc::now().date_naive()).unwrap();
    let credentials = enroll_car(&mut office, "unit-t", "admin").unwrap();
    let data = home.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let creds_file = home.path().join("unit-t.json");
    write_credentials(&creds_file, &data, &credentials).unwrap();
    let settings = SyncSettings {
        office: office_identity(&with("127.0.0.1", "verify-full", &ca_file)).unwrap(),
        car_id: "unit-t".into(),
        credentials: creds_file,
        interval: Duration::from_secs(60),
        hotlist_key: None,
    };
    assert!(settings.office.contains("sslmode=verify-full"), "{}", settings.office);
    let store = open_store(&data);
    let joined =
        Joined { car_id: "unit-t".into(), office: settings.office.clone(), joined_by: "admin".into(), joined_ms: 1 };
    store.write(move |conn| join(conn, &joined)).unwrap();
    store.insert_reads(reads(25, "o1")).unwrap();
    let mut car = connect_car(&settings).unwrap();
    let ssl: bool = car.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).unwrap().get(0);
    assert!(ssl);
    drain(&store, &mut car, "unit-t", 10, &|| false).unwrap();
    assert_eq!(count(&mut office, "SELECT count(*) FROM reads WHERE car_id = 'unit-t'"), 25);
}

// ---------------------------------------------------------------- retention at the office

#[test]
fn the_office_purge_keeps_what_a_case_hold_or_an_open_hit_keeps_and_drops_whole_months() {
    use patrol_alpr::hits::{HitAction, HitRecord, lifecycle};
    let f = fleet();
    let url = f.pg.url();
    let days_ago = |d: i64| Utc::now() - chrono::Duration::days(d);
    // Two old months and today: in the oldest a read held for a case, one with a hit still
    // under review and one with nothing; in the next two plain reads and a finished hit.
    let store = open_store(&f.car);
    let mut batch = reads(7, "o1");
    for (r, d) in batch.iter_mut().zip([600, 600, 600, 540, 540, 0, 0]) {
        r.time = days_ago(d);
    }
    let ids = store.insert_reads(batch).unwrap();
    store.insert_hit(HitRecord::new(Some(ids[1]), "T000001", "SVS", 1, Some("o1"), days_ago(600))).unwrap();
    let finished =
        store.insert_hit(HitRecord::new(Some(ids[3]), "T000003", "SVS", 1, Some("o1"), days_ago(540))).unwrap();
    let mut hit = store.hit(finished).unwrap().unwrap();
    for action in [HitAction::Acknowledge, HitAction::Misread { reason: "8 read as B".into() }] {
        let event = lifecycle::apply(&mut hit, &action, "o1", days_ago(540)).unwrap();
        store.record_hit_transition(hit.clone(), event).unwrap();
    }
    drop(store);
    let held = ok(&cli(
        &f.car,
        &f.car_config,
        &["search", "hold", &ids[0].to_string(), "--case", "C-9", "--as", "a1"],
        "123456",
    ));
    assert!(held.contains("held for case C-9"), "{held}");
    ok(&cli(&f.car, &f.car_config, &["fleet", "sync", "--as", "a1"], "123456"));

    // No partition existed for those months: the rows went to the default one, and making the
    // months' partitions takes them over.
    let mut office = connect(&url).unwrap();
    assert_eq!(count(&mut office, "SELECT count(*) FROM reads_default"), 5);
    let month = |d: i64| days_ago(d).date_naive();
    for d in [600, 540] {
        office.execute("SELECT fleet_ensure_month('reads', $1)", &[&month(d)]).unwrap();
    }
    assert_eq!(count(&mut office, "SELECT count(*) FROM reads_default"), 0);
    assert_eq!(count(&mut office, "SELECT count(*) FROM reads WHERE car_id = 'unit-9'"), 7);
    assert_eq!(count(&mut office, "SELECT count(*) FROM holds WHERE car_id = 'unit-9'"), 1);

    // No period published: nothing is purged; an officer may not purge.
    let purge = |as_user: &str, dry: bool| {
        let mut args = vec!["fleet", "purge", "--db", &url, "--as", as_user];
        if dry {
            args.push("--dry-run");
        }
        cli(&f.admin, &f.no_config, &args, "123456")
    };
    let refused = purge("a1", true);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no retention period is published"));
    assert!(!purge("o1", true).status.success(), "an officer purged the office");
    ok(&cli(&f.admin, &f.no_config, &["admin", "retention", "set", "400", "--as", "a1"], "123456"));
    ok(&cli(&f.admin, &f.no_config, &["fleet", "publish-settings", "--db", &url, "--as", "a1"], "123456"));

    let dry = ok(&purge("a1", true));
    assert!(dry.contains("would delete 3 reads, 1 hits, 2 hit events; kept 2 protected reads"), "{dry}");
    assert_eq!(count(&mut office, "SELECT count(*) FROM reads"), 7);
    let done = ok(&purge("a1", false));
    assert!(done.contains("deleted 3 reads, 1 hits, 2 hit events; kept 2 protected reads"), "{done}");
    let dropped = format!("reads_y{}", month(540).format("y%Ym%m").to_string().trim_start_matches('y'));
    assert!(done.contains(&format!("1 month partitions dropped ({dropped})")), "{done}");
    assert_eq!(count(&mut office, &format!("SELECT count(*) FROM pg_class WHERE relname = '{dropped}'")), 0);
    let kept: Vec<String> =
        office.query("SELECT plate FROM reads ORDER BY plate", &[]).unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(kept, ["T000000", "T000001", "T000005", "T000006"]);
    assert_eq!(count(&mut office, "SELECT count(*) FROM hits"), 1, "the hit under review stays");
    // The usage report's hour counts follow the reads that remain.
    assert_eq!(count(&mut office, "SELECT sum(n)::bigint FROM read_hours"), 4);

    // The car, with the same rule pulled, keeps the same reads.
    ok(&cli(&f.car, &f.car_config, &["fleet", "sync", "--as", "a1"], "123456"));
    let car_purge = ok(&cli(&f.car, &f.car_config, &["purge", "--as", "a1"], "123456"));
    assert!(car_purge.contains("deleted 3 reads, 1 hits"), "{car_purge}");

    // Released in the car, the held read goes at the office's next purge.
    let released = ok(&cli(&f.car, &f.car_config, &["search", "release", "--case", "C-9", "--as", "a1"], "123456"));
    assert!(released.contains("1 holds of case C-9 released"), "{released}");
    // The car purges the read before its release is sent: the release still reaches the office.
    let car_purge = ok(&cli(&f.car, &f.car_config, &["purge", "--as", "a1"], "123456"));
    assert!(car_purge.contains("deleted 1 reads"), "{car_purge}");
    ok(&cli(&f.car, &f.car_config, &["fleet", "sync", "--as", "a1"], "123456"));
    let again = ok(&purge("a1", false));
    assert!(again.contains("deleted 1 reads, 0 hits, 0 hit events; kept 1 protected reads"), "{again}");
    assert_eq!(count(&mut office, "SELECT sum(n)::bigint FROM read_hours"), 3);
    // Each purge is in the office's own log, and the log still verifies.
    assert_eq!(count(&mut office, "SELECT count(*) FROM office_audit WHERE action = 'purge'"), 3);
    ok(&cli(&f.admin, &f.no_config, &["audit", "verify", "--db", &url, "--as", "a1"], "123456"));
}

// ---------------------------------------------------------------- a full disk at the office

#[test]
fn a_full_disk_at_the_office_is_said_plainly_and_the_car_keeps_everything() {
    let f = fleet();
    let url = f.pg.url();
    let store = open_store(&f.car);
    store.insert_reads(reads(40, "o1")).unwrap();
    let reads_waiting = |store: &Store| {
        store.read(backlog).unwrap().by_kind.iter().find(|(kind, _)| kind == "read").map_or(0, |(_, n)| *n)
    };
    assert_eq!(reads_waiting(&store), 40);
    drop(store);
    // The office's disk fills: PostgreSQL answers every insert with its own "disk full"
    // (SQLSTATE 53100). A disk cannot be filled in a test without mounting one, so the
    // answer is given by a trigger, with the code and message PostgreSQL gives.
    let mut office = connect(&url).unwrap();
    office
        .batch_execute(
            "CREATE FUNCTION full_disk() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN RAISE EXCEPTION 'could not extend file \"base/16384/16402\": No space left on device'
                   USING ERRCODE = 'disk_full'; END $$;
             CREATE TRIGGER full_disk BEFORE INSERT ON reads FOR EACH ROW EXECUTE FUNCTION full_disk();",
        )
        .unwrap();
    let failed = cli(&f.car, &f.car_config, &["fleet", "sync", "--as", "a1"], "123456");
    assert!(!failed.status.success());
    let said = String::from_utf8_lossy(&failed.stderr);
    assert!(
        said.contains("office database: disk full: the office's administrator must free space")
            && said.contains("No space left"),
        "{said}"
    );
    let store = open_store(&f.car);
    assert_eq!(reads_waiting(&store), 40, "the outbox keeps every read (and the failure's audit rows)");
    drop(store);
    assert_eq!(count(&mut office, "SELECT count(*) FROM reads"), 0, "the batch was rolled back whole");

    // Space freed: everything arrives, once.
    office.batch_execute("DROP TRIGGER full_disk ON reads").unwrap();
    let synced = ok(&cli(&f.car, &f.car_config, &["fleet", "sync", "--as", "a1"], "123456"));
    assert!(synced.contains("0 waiting"), "{synced}");
    assert_eq!(count(&mut office, "SELECT count(*) FROM reads WHERE car_id = 'unit-9'"), 40);
}
