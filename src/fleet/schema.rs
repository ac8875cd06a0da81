//! The office database's schema, as numbered migrations applied in order, each in its own
//! transaction and recorded in `fleet_schema`, so `fleet init` can run again safely (it applies
//! only what is missing) and a car can refuse an office newer than it knows.
//!
//! The records a car sends carry `(car_id, seq)`, its outbox sequence, so a batch sent twice
//! stores nothing twice (`ON CONFLICT DO NOTHING`). Reads and audit rows are partitioned by
//! month (native range partitioning): retention drops a month's partition. Cars connect as
//! their own role, a member of `patrol_car`, which row-level security lets insert only rows
//! with its own `car_id` and read nothing the cars send.

use chrono::{Datelike, NaiveDate};
use postgres::Client;

use super::FleetError;

/// One migration: its number, a name, and the SQL that brings the schema from the previous
/// number to this one.
struct Migration {
    version: i32,
    name: &'static str,
    sql: &'static str,
}

/// The tables a car sends rows into (each with `car_id`, `seq`).
pub const CAR_TABLES: [&str; 8] =
    ["reads", "audit", "shifts", "hits", "hit_events", "checklists", "equipment_reports", "holds"];

/// The partitioned tables and their time column.
pub const PARTITIONED: [(&str, &str); 2] = [("reads", "read_at"), ("audit", "at")];

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "cars, accounts, records, partitions, row-level security",
        sql: r#"
CREATE TABLE cars (
    car_id text PRIMARY KEY CHECK (car_id ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
    role_name text NOT NULL UNIQUE,
    enrolled_at timestamptz NOT NULL DEFAULT now(),
    enrolled_by text NOT NULL,
    last_contact timestamptz
);

-- The car of the role this session logged on as (none for office staff).
CREATE FUNCTION fleet_current_car() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$ SELECT car_id FROM cars WHERE role_name = session_user $$;

-- Accounts and the administrator's settings: kept here, pulled by every car.
CREATE SEQUENCE pull_seq;
CREATE TABLE users (
    id text PRIMARY KEY,
    name text NOT NULL,
    role text NOT NULL,
    organization text NOT NULL,
    status text NOT NULL,
    status_reason text NOT NULL DEFAULT '',
    trained_on date,
    certified_until date,
    pin_hash text NOT NULL,
    changed_seq bigint NOT NULL DEFAULT nextval('pull_seq')
);
CREATE TABLE settings (
    key text PRIMARY KEY,
    value text NOT NULL,
    changed_seq bigint NOT NULL DEFAULT nextval('pull_seq')
);

-- What the cars send. Reads and audit rows are partitioned by month.
CREATE TABLE reads (
    car_id text NOT NULL,
    seq bigint NOT NULL,
    read_at timestamptz NOT NULL,
    camera text NOT NULL,
    officer text,
    plate text NOT NULL,
    confidence real NOT NULL,
    state text,
    lat double precision,
    lon double precision,
    candidates jsonb NOT NULL DEFAULT '[]',
    crop bytea,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (car_id, seq, read_at)
) PARTITION BY RANGE (read_at);
CREATE INDEX reads_plate ON reads (plate, read_at);
CREATE INDEX reads_officer ON reads (officer, read_at);

CREATE TABLE audit (
    car_id text NOT NULL,
    seq bigint NOT NULL,
    at timestamptz NOT NULL,
    user_id text NOT NULL,
    organization text NOT NULL,
    action text NOT NULL,
    object text NOT NULL,
    outcome text NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (car_id, seq, at)
) PARTITION BY RANGE (at);
CREATE INDEX audit_user ON audit (user_id, at);

CREATE TABLE shifts (
    car_id text NOT NULL,
    seq bigint NOT NULL,
    shift_id bigint NOT NULL,
    officer text NOT NULL,
    start_at timestamptz NOT NULL,
    end_at timestamptz,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (car_id, seq)
);
CREATE INDEX shifts_officer ON shifts (officer, start_at);

CREATE TABLE hits (
    car_id text NOT NULL,
    seq bigint NOT NULL,
    hit_id bigint NOT NULL,
    read_seq bigint,
    plate text NOT NULL,
    list text NOT NULL,
    priority integer NOT NULL,
    officer text,
    raised_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (car_id, seq)
);

CREATE TABLE hit_events (
    car_id text NOT NULL,
    seq bigint NOT NULL,
    hit_id bigint NOT NULL,
    at timestamptz NOT NULL,
    user_id text NOT NULL,
    from_state text NOT NULL,
    to_state text NOT NULL,
    detail text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (car_id, seq)
);

CREATE TABLE checklists (
    car_id text NOT NULL,
    seq bigint NOT NULL,
    shift_id bigint NOT NULL,
    officer text NOT NULL,
    camera text NOT NULL,
    in_service boolean NOT NULL,
    items jsonb NOT NULL,
    notes text NOT NULL,
    at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (car_id, seq)
);

CREATE TABLE equipment_reports (
    car_id text NOT NULL,
    seq bigint NOT NULL,
    officer text NOT NULL,
    camera text NOT NULL,
    description text NOT NULL,
    at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (car_id, seq)
);

-- A month's partition of a partitioned table (a no-op when it exists), and a default
-- partition so that no row is ever refused for want of one.
CREATE FUNCTION fleet_ensure_month(tbl text, month date) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    first date := date_trunc('month', month)::date;
    part text := format('%s_y%sm%s', tbl, to_char(first, 'YYYY'), to_char(first, 'MM'));
BEGIN
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                   part, tbl, first, (first + interval '1 month')::date);
END $$;
CREATE TABLE reads_default PARTITION OF reads DEFAULT;
CREATE TABLE audit_default PARTITION OF audit DEFAULT;

-- The cars: each its own role, a member of patrol_car. A car inserts only its own rows
-- and reads none of what the cars send; it reads the accounts and settings it pulls.
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'patrol_car') THEN
        CREATE ROLE patrol_car NOLOGIN;
    END IF;
END $$;
GRANT USAGE ON SCHEMA public TO patrol_car;
GRANT EXECUTE ON FUNCTION fleet_current_car() TO patrol_car;
GRANT SELECT ON users, settings TO patrol_car;
GRANT INSERT ON reads, audit, shifts, hits, hit_events, checklists, equipment_reports TO patrol_car;
ALTER TABLE reads ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit ENABLE ROW LEVEL SECURITY;
ALTER TABLE shifts ENABLE ROW LEVEL SECURITY;
ALTER TABLE hits ENABLE ROW LEVEL SECURITY;
ALTER TABLE hit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE checklists ENABLE ROW LEVEL SECURITY;
ALTER TABLE equipment_reports ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON reads FOR INSERT TO patrol_car WITH CHECK (car_id = fleet_current_car());
CREATE POLICY own_rows ON audit FOR INSERT TO patrol_car WITH CHECK (car_id = fleet_current_car());
CREATE POLICY own_rows ON shifts FOR INSERT TO patrol_car WITH CHECK (car_id = fleet_current_car());
CREATE POLICY own_rows ON hits FOR INSERT TO patrol_car WITH CHECK (car_id = fleet_current_car());
CREATE POLICY own_rows ON hit_events FOR INSERT TO patrol_car WITH CHECK (car_id = fleet_current_car());
CREATE POLICY own_rows ON checklists FOR INSERT TO patrol_car WITH CHECK (car_id = fleet_current_car());
CREATE POLICY own_rows ON equipment_reports FOR INSERT TO patrol_car WITH CHECK (car_id = fleet_current_car());
"#,
    },
    Migration {
        version: 2,
        name: "what the car sends in full: audit rows with every column their hash covers, the car's own ids, contact times",
        sql: r#"
-- The audit chain is verified at the office from exactly what the car hashed: its own
-- sequence, the time text, purpose and case number.
ALTER TABLE audit ADD COLUMN audit_seq bigint NOT NULL DEFAULT 0;
ALTER TABLE audit ADD COLUMN time_text text NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN purpose text;
ALTER TABLE audit ADD COLUMN case_number text;
CREATE INDEX audit_car_chain ON audit (car_id, audit_seq);
-- The car's own ids, so hits, reads and steps join as they do in the car.
ALTER TABLE reads ADD COLUMN read_id bigint NOT NULL DEFAULT 0;
CREATE INDEX reads_car_read ON reads (car_id, read_id);
ALTER TABLE hits ADD COLUMN read_id bigint;
ALTER TABLE equipment_reports ADD COLUMN report_id bigint NOT NULL DEFAULT 0;
ALTER TABLE checklists ADD COLUMN checklist_id bigint NOT NULL DEFAULT 0;
ALTER TABLE hit_events ADD COLUMN event_id bigint NOT NULL DEFAULT 0;

-- A car says when it last reached the office; it cannot update `cars` itself.
CREATE FUNCTION fleet_touch() RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = public
    AS $$ UPDATE cars SET last_contact = now() WHERE role_name = session_user $$;
REVOKE ALL ON FUNCTION fleet_touch() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fleet_touch() TO patrol_car;
-- A car checks the office's schema version before it sends.
GRANT SELECT ON fleet_schema TO patrol_car;
"#,
    },
    Migration {
        version: 3,
        name: "signed hot-list publications, the office's own hash-chained audit log, fleet reports and random audits",
        sql: r#"
-- What `hotlist publish` stores: the signed manifest exactly as signed, its signature and
-- the files it names. The office is only a carrier: every car verifies the signature with
-- the agency's public key, as it does for a folder source.
CREATE TABLE hotlist_publications (
    id bigserial PRIMARY KEY,
    version text NOT NULL,
    created timestamptz NOT NULL,
    manifest bytea NOT NULL,
    signature text NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now(),
    published_by text NOT NULL
);
CREATE TABLE hotlist_files (
    publication_id bigint NOT NULL REFERENCES hotlist_publications ON DELETE CASCADE,
    name text NOT NULL,
    content bytea NOT NULL,
    PRIMARY KEY (publication_id, name)
);
GRANT SELECT ON hotlist_publications, hotlist_files TO patrol_car;

-- Who looked at what across the fleet (`report usage --db`, `audit ... --db`, `hotlist
-- publish`): the same chain as a car's log, hashed the same way, so `audit verify --db`
-- checks it with the same code. Rows are only ever appended.
CREATE TABLE office_audit (
    seq bigint PRIMARY KEY,
    time_text text NOT NULL,
    user_id text NOT NULL,
    organization text NOT NULL,
    action text NOT NULL,
    object text NOT NULL,
    purpose text,
    case_number text,
    outcome text NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL
);
CREATE FUNCTION office_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the office audit log is append-only';
END $$;
CREATE TRIGGER office_audit_no_change BEFORE UPDATE OR DELETE ON office_audit
    FOR EACH ROW EXECUTE FUNCTION office_audit_append_only();

-- The fleet usage report: per shift, its reads, hits and their steps, by index. Reads are
-- also counted per car, officer and hour by the insert itself (a statement trigger over the
-- rows actually inserted, so a batch sent again counts nothing twice), and the report sums
-- whole hours and counts read by read only in the hours a shift starts and ends in. The hour
-- is taken in UTC whatever the session's time zone.
CREATE FUNCTION fleet_hour(t timestamptz) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT to_timestamp(floor(extract(epoch FROM t) / 3600) * 3600) $$;
CREATE TABLE read_hours (
    car_id text NOT NULL,
    officer text NOT NULL,
    hour timestamptz NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (car_id, officer, hour)
);
CREATE FUNCTION read_hours_add() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    INSERT INTO read_hours (car_id, officer, hour, n)
    SELECT car_id, coalesce(officer, ''), fleet_hour(read_at), count(*) FROM new_reads GROUP BY 1, 2, 3
    ON CONFLICT (car_id, officer, hour) DO UPDATE SET n = read_hours.n + EXCLUDED.n;
    RETURN NULL;
END $$;
CREATE TRIGGER reads_count_hours AFTER INSERT ON reads REFERENCING NEW TABLE AS new_reads
    FOR EACH STATEMENT EXECUTE FUNCTION read_hours_add();
CREATE INDEX shifts_start ON shifts (start_at);
CREATE INDEX reads_car_officer ON reads (car_id, officer, read_at);
CREATE INDEX hits_car_officer ON hits (car_id, officer, raised_at);
CREATE INDEX hit_events_hit ON hit_events (car_id, hit_id);

-- Random audits across the fleet (`audit sample --db`): the sample, its seed and population,
-- and each drawn audit row (a car's, named by car and row) with its review.
CREATE INDEX audit_action_at ON audit (action, at);
CREATE TABLE office_samples (
    id bigserial PRIMARY KEY,
    drawn_at timestamptz NOT NULL DEFAULT now(),
    supervisor text NOT NULL,
    from_at timestamptz NOT NULL,
    to_at timestamptz NOT NULL,
    size integer NOT NULL,
    seed bigint NOT NULL,
    population bigint NOT NULL
);
CREATE TABLE office_sample_items (
    sample_id bigint NOT NULL REFERENCES office_samples,
    item_no integer NOT NULL,
    car_id text NOT NULL,
    audit_seq bigint NOT NULL,
    summary text NOT NULL,
    verdict text CHECK (verdict IN ('compliant', 'flagged')),
    note text,
    reviewed_by text,
    reviewed_at timestamptz,
    PRIMARY KEY (sample_id, item_no)
);
"#,
    },
    Migration {
        version: 4,
        name: "case holds from the cars, for the office's retention purge; month partitions that take rows from the default",
        sql: r#"
-- A car's case holds, one row per event (placed, released): the newest row of a hold says
-- whether it stands. The office's purge keeps every read a standing hold names.
CREATE TABLE holds (
    car_id text NOT NULL,
    seq bigint NOT NULL,
    hold_id bigint NOT NULL,
    read_id bigint NOT NULL,
    case_number text NOT NULL,
    placed_by text NOT NULL,
    placed_at timestamptz NOT NULL,
    released_at timestamptz,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (car_id, seq)
);
CREATE INDEX holds_car_hold ON holds (car_id, hold_id, seq);
GRANT INSERT ON holds TO patrol_car;
ALTER TABLE holds ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON holds FOR INSERT TO patrol_car WITH CHECK (car_id = fleet_current_car());

-- A month's partition made after rows of that month went to the default partition (the
-- office was not maintained for a while, or a car's clock was off) takes them over, instead
-- of failing: they are moved in the same transaction, then the table is attached.
CREATE OR REPLACE FUNCTION fleet_ensure_month(tbl text, month date) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    first date := date_trunc('month', month)::date;
    next date := (date_trunc('month', month) + interval '1 month')::date;
    part text := format('%s_y%sm%s', tbl, to_char(first, 'YYYY'), to_char(first, 'MM'));
    col text := CASE tbl WHEN 'reads' THEN 'read_at' WHEN 'audit' THEN 'at' END;
BEGIN
    IF col IS NULL THEN
        RAISE EXCEPTION 'fleet_ensure_month: % is not partitioned by month', tbl;
    END IF;
    IF to_regclass(part) IS NOT NULL THEN
        RETURN;
    END IF;
    EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', tbl);
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part, tbl);
    EXECUTE format('WITH moved AS (DELETE FROM %I WHERE %I >= %L AND %I < %L RETURNING *) '
                   'INSERT INTO %I SELECT * FROM moved', tbl || '_default', col, first, col, next, part);
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', tbl, part, first, next);
END $$;
"#,
    },
];

/// The newest schema this build knows.
pub fn known_version() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// What `migrate` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrated {
    /// The schema version found (0: an empty database).
    pub from: i32,
    /// The version now.
    pub to: i32,
    /// The migrations applied, by name.
    pub applied: Vec<String>,
}

/// The office schema's version (0 when `fleet init` never ran).
pub fn version(client: &mut Client) -> Result<i32, FleetError> {
    let exists: bool = client.query_one("SELECT to_regclass('public.fleet_schema') IS NOT NULL", &[])?.get(0);
    if !exists {
        return Ok(0);
    }
    Ok(client.query_one("SELECT coalesce(max(version), 0) FROM fleet_schema", &[])?.get(0))
}

/// Brings the office schema up to [`known_version`], each migration in its own transaction
/// under an advisory lock (two `fleet init` at once apply each migration once), then makes
/// sure the partitions for `today`'s month and the next two exist. An office newer than
/// this build is refused, untouched.
pub fn migrate(client: &mut Client, today: NaiveDate) -> Result<Migrated, FleetError> {
    let mut applied = Vec::new();
    let mut from = None;
    for migration in MIGRATIONS {
        let mut tx = client.transaction()?;
        // Any fixed key: it only has to be the same for every `fleet init`.
        tx.execute("SELECT pg_advisory_xact_lock(7240117)", &[])?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS fleet_schema (version integer PRIMARY KEY, name text NOT NULL, \
             applied_at timestamptz NOT NULL DEFAULT now())",
        )?;
        let current: i32 = tx.query_one("SELECT coalesce(max(version), 0) FROM fleet_schema", &[])?.get(0);
        from.get_or_insert(current);
        if current > known_version() {
            return Err(FleetError::SchemaTooNew { office: current, known: known_version() });
        }
        if current >= migration.version {
            continue;
        }
        tx.batch_execute(migration.sql)
            .map_err(|e| FleetError::Migration { version: migration.version, message: e.to_string() })?;
        tx.execute("INSERT INTO fleet_schema (version, name) VALUES ($1, $2)", &[&migration.version, &migration.name])?;
        tx.commit()?;
        applied.push(migration.name.to_owned());
    }
    ensure_partitions(client, today, 3)?;
    Ok(Migrated { from: from.unwrap_or(0), to: version(client)?, applied })
}

/// Creates the monthly partitions of every partitioned table from `today`'s month for
/// `months` months (existing ones are kept).
pub fn ensure_partitions(client: &mut Client, today: NaiveDate, months: u32) -> Result<(), FleetError> {
    let mut month = today.with_day(1).unwrap_or(today);
    for _ in 0..months {
        for (table, _) in PARTITIONED {
            client.execute("SELECT fleet_ensure_month($1, $2)", &[&table, &month])?;
        }
        month = month.checked_add_months(chrono::Months::new(1)).unwrap_or(month);
    }
    Ok(())
}
