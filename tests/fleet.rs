//! The fleet back office (issue 19) against a real PostgreSQL: a throwaway cluster started
//! for these tests (`tests/support/postgres.rs`). The office schema migrates and runs again
//! safely, refuses to be run by an older build, and a car's role inserts only its own rows and
//! reads none of the fleet's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use chrono::Utc;
use patrol_alpr::fleet::enroll::enroll_car;
use patrol_alpr::fleet::schema::{CAR_TABLES, known_version, migrate};
use patrol_alpr::fleet::{FleetError, connect, describe};
use support::postgres::Cluster;

#[test]
fn the_office_schema_is_created_then_left_alone_and_an_older_build_is_refused() {
    let pg = Cluster::start();
    let mut office = connect(&pg.url()).unwrap();
    let today = Utc::now().date_naive();
    let first = migrate(&mut office, today).unwrap();
    assert_eq!((first.from, first.to), (0, known_version()));
    assert_eq!(first.applied.len(), known_version() as usize);
    let again = migrate(&mut office, today).unwrap();
    assert_eq!((again.from, again.to), (known_version(), known_version()));
    assert!(again.applied.is_empty(), "nothing applied twice: {again:?}");

    // This month's partitions exist (and the next two), plus the default partitions.
    let month = today.format("y%Ym%m").to_string();
    for table in ["reads", "audit"] {
        let parts: i64 = office
            .query_one("SELECT count(*) FROM pg_inherits WHERE inhparent = $1::text::regclass", &[&table])
            .unwrap()
            .get(0);
        assert_eq!(parts, 4, "{table}: three months and the default");
        let this: bool =
            office.query_one("SELECT to_regclass($1) IS NOT NULL", &[&format!("{table}_{month}")]).unwrap().get(0);
        assert!(this, "{table}_{month}");
    }

    // A newer office (a later build migrated it) is refused and left as it is.
    office
        .execute("INSERT INTO fleet_schema (version, name) VALUES ($1, 'from the future')", &[&(known_version() + 1)])
        .unwrap();
    match migrate(&mut office, today) {
        Err(FleetError::SchemaTooNew { office: v, known }) => {
            assert_eq!((v, known), (known_version() + 1, known_version()))
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

#[test]
fn a_car_inserts_only_its_own_rows_and_reads_none_of_the_fleets() {
    let pg = Cluster::start();
    let mut office = connect(&pg.url()).unwrap();
    migrate(&mut office, Utc::now().date_naive()).unwrap();
    let a = enroll_car(&mut office, "Unit-1", "admin").unwrap();
    let b = enroll_car(&mut office, "unit-2", "admin").unwrap();
    assert!(matches!(enroll_car(&mut office, "UNIT-1", "admin"), Err(FleetError::CarExists(id)) if id == "unit-1"));
    assert_ne!(a.password, b.password);

    let mut car = connect(&pg.url_as(&a.user, &a.password)).unwrap();
    let insert = "INSERT INTO reads (car_id, seq, read_at, camera, plate, confidence) \
                  VALUES ($1, $2, now(), 'front', '7ABC123', 0.9) ON CONFLICT DO NOTHING";
    assert_eq!(car.execute(insert, &[&"unit-1", &1_i64]).unwrap(), 1);
    assert_eq!(car.execute(insert, &[&"unit-1", &1_i64]).unwrap(), 1, "another read_at: a new row");
    // The same row sent twice is stored once.
    let same = "INSERT INTO shifts (car_id, seq, shift_id, officer, start_at) VALUES ('unit-1', 7, 1, 'o1', now()) \
                ON CONFLICT DO NOTHING";
    assert_eq!(car.execute(same, &[]).unwrap(), 1);
    assert_eq!(car.execute(same, &[]).unwrap(), 0, "sent twice, stored once");

    // Another car's id, reading the fleet's rows, changing or deleting rows: refused.
    let other = describe(&car.execute(insert, &[&"unit-2", &2_i64]).unwrap_err());
    assert!(other.contains("row-level security"), "{other}");
    for sql in [
        "SELECT count(*) FROM reads",
        "SELECT count(*) FROM audit",
        "UPDATE reads SET plate = 'X' WHERE car_id = 'unit-1'",
        "DELETE FROM shifts",
        "INSERT INTO users (id, name, role, organization, status, pin_hash) VALUES ('x','x','administrator','x','active','x')",
        "SELECT count(*) FROM cars",
    ] {
        let err = describe(&car.batch_execute(sql).unwrap_err());
        assert!(err.contains("permission denied"), "{sql}: {err}");
    }
    for table in CAR_TABLES {
        assert!(car.batch_execute(&format!("SELECT * FROM {table} LIMIT 1")).is_err(), "{table} readable by a car");
    }
    // What a car pulls, it may read.
    car.batch_execute("SELECT count(*) FROM users; SELECT count(*) FROM settings").unwrap();

    // The office sees every car's rows; a wrong password gets nothing.
    let stored: i64 = office.query_one("SELECT count(*) FROM reads WHERE car_id = 'unit-1'", &[]).unwrap().get(0);
    assert_eq!(stored, 2);
    let wrong = connect(&pg.url_as(&a.user, "not-the-password"));
    let Err(wrong) = wrong else { panic!("a wrong password connected") };
    assert!(wrong.to_string().contains("password authentication failed"), "{wrong}");

    // A car whose credentials could not be written is withdrawn: no role is left behind.
    patrol_alpr::fleet::enroll::withdraw_car(&mut office, &b).unwrap();
    let left: i64 = office
        .query_one("SELECT (SELECT count(*) FROM cars WHERE car_id = 'unit-2') + (SELECT count(*) FROM pg_roles WHERE rolname = $1)", &[&b.user])
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
    enroll_car(&mut office, "unit-2", "admin").unwrap();
}

fn cli(dir: &std::path::Path, args: &[&str], pin: &str, new_pin: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_patrol-alpr"))
        .arg("--data-dir")
        .arg(dir)
        .arg("--config")
        .arg(dir.join("no-config.toml"))
        .args(args)
        .env("PATROL_ALPR_DB_KEY", "fleet cli test passphrase")
        .env("PATROL_ALPR_PIN", pin)
        .env("PATROL_ALPR_NEW_PIN", new_pin)
        .output()
        .unwrap()
}

#[test]
fn only_the_administrator_sets_up_the_office_and_enrolls_cars_and_it_is_audited() {
    let pg = Cluster::start();
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let cert = ["--trained-on", "2026-01-01", "--certified-until", "2099-01-01"];
    for (args, pin) in [
        (vec!["users", "add", "a1", "--name", "Admin", "--role", "administrator"], ""),
        (vec!["users", "add", "o1", "--name", "Officer", "--role", "officer", "--as", "a1"], "123456"),
    ] {
        let out = cli(&data, &[&args[..], &cert].concat(), pin, "123456");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let url = pg.url();
    let creds = home.path().join("unit-7.json");
    let creds_arg = creds.to_str().unwrap();

    // An officer may neither create the office schema nor enroll a car.
    let refused = cli(&data, &["fleet", "init", "--db", &url, "--as", "o1"], "123456", "");
    assert!(!refused.status.success());
    let mut office = connect(&url).unwrap();
    assert_eq!(patrol_alpr::fleet::schema::version(&mut office).unwrap(), 0, "nothing created");

    // Enrolling before the schema exists says what to do first.
    let early = cli(
        &data,
        &["fleet", "enroll-car", "unit-7", "--db", &url, "--credentials", creds_arg, "--as", "a1"],
        "123456",
        "",
    );
    assert!(
        String::from_utf8_lossy(&early.stderr).contains("fleet init"),
        "{}",
        String::from_utf8_lossy(&early.stderr)
    );

    let init = cli(&data, &["fleet", "init", "--db", &url, "--as", "a1"], "123456", "");
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let again = cli(&data, &["fleet", "init", "--db", &url, "--as", "a1"], "123456", "");
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to do"));

    // Credentials inside the data dir are refused before any role is made.
    let inside = data.join("office.json");
    let bad = cli(
        &data,
        &["fleet", "enroll-car", "unit-7", "--db", &url, "--credentials", inside.to_str().unwrap(), "--as", "a1"],
        "123456",
        "",
    );
    assert!(!bad.status.success());
    let cars: i64 = office.query_one("SELECT count(*) FROM cars", &[]).unwrap().get(0);
    assert_eq!(cars, 0);

    let enrolled = cli(
        &data,
        &["fleet", "enroll-car", "unit-7", "--db", &url, "--credentials", creds_arg, "--as", "a1"],
        "123456",
        "",
    );
    assert!(enrolled.status.success(), "{}", String::from_utf8_lossy(&enrolled.stderr));
    let credentials = patrol_alpr::fleet::enroll::read_credentials(&creds).unwrap();
    assert_eq!(credentials.car_id, "unit-7");
    connect(&pg.url_as(&credentials.user, &credentials.password)).unwrap();

    // Every attempt is in the local audit log: the refusal, the failure, the successes.
    let audit = cli(&data, &["audit", "verify", "--as", "a1"], "123456", "");
    assert!(audit.status.success(), "{}", String::from_utf8_lossy(&audit.stderr));
    let store = {
        let keys = patrol_alpr::store::StoreKeys::derive(
            "fleet cli test passphrase",
            &data,
            patrol_alpr::store::KeySource::Environment,
        )
        .unwrap();
        patrol_alpr::store::Store::open(&data, keys, "x").unwrap()
    };
    let rows: Vec<(String, String, String)> = store
        .read(|conn| {
            let mut stmt =
                conn.prepare("SELECT user, object, outcome FROM audit_log WHERE object LIKE 'fleet %' ORDER BY seq")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .unwrap();
    let outcomes: Vec<String> = rows.iter().map(|(u, o, r)| format!("{u} {o}: {r}")).collect();
    assert!(outcomes.iter().any(|l| l.starts_with("o1 fleet init: refused")), "{outcomes:#?}");
    assert!(outcomes.iter().any(|l| l.starts_with("a1 fleet enroll-car unit-7: failed")), "{outcomes:#?}");
    assert!(outcomes.iter().any(|l| l.starts_with("a1 fleet enroll-car unit-7: car unit-7 enrolled")), "{outcomes:#?}");
    assert_eq!(outcomes.iter().filter(|l| l.starts_with("a1 fleet init: office schema")).count(), 2, "{outcomes:#?}");
}
