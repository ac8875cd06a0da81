//! The fleet-wide forms of the oversight commands (`report usage --db`, `audit verify
//! --db`, `audit sample|review|show --db`, `search plate|near --db`):
//! the same access rules as in a console (a PIN, a role, a refusal audited), run over the
//! whole fleet in the office database, and each view recorded twice: in this console's
//! audit log and in the office's own hash-chained log.

use std::process::ExitCode;

use chrono::{DateTime, Utc};

use super::Context;
use super::store::{Secrets, actor, open_store, rules};
use crate::audit::{AuditAction, AuditEvent};
use crate::fleet::office::{office_audit, verify_car_chain, verify_office_log};
use crate::fleet::report::fleet_usage;
use crate::session::{Accounts, Permission, User};
use crate::store::Store;
use crate::store::audit_log::Verification;

/// Records one view in this console's log and the office's; returns the office row number.
fn record_both(
    store: &Store,
    office: &mut postgres::Client,
    user: &User,
    action: AuditAction,
    what: &str,
    outcome: &str,
    purpose: &str,
) -> anyhow::Result<i64> {
    let event = AuditEvent {
        purpose: Some(purpose.to_owned()),
        ..AuditEvent::new(&user.id, &user.organization, action, what, outcome)
    };
    store.audit(event.clone())?;
    Ok(office_audit(office, &event)?)
}

/// `report usage --db`: every car's shifts in the period, per officer per shift.
pub fn usage(
    ctx: &Context,
    db: &str,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    officer: Option<&str>,
    csv: bool,
    as_user: &str,
) -> anyhow::Result<ExitCode> {
    let store = open_store(ctx)?;
    let user = actor(&store, ctx, as_user, &mut Secrets::new())?;
    let what = format!(
        "fleet usage report {} to {}{}",
        from.date_naive(),
        to.date_naive(),
        officer.map(|o| format!(" officer {o}")).unwrap_or_default()
    );
    Accounts::new(&store, rules(ctx)).authorize(&user, Permission::ViewUsageReport, AuditAction::Search, &what)?;
    anyhow::ensure!(to > from, "the report period is empty (--to must be after --from)");
    let mut office = crate::fleet::connect(db)?;
    let rows = fleet_usage(&mut office, from, to, officer, Utc::now())?;
    let cars: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.car_id.as_str()).collect();
    let outcome = format!("{} shifts in {} cars shown", rows.len(), cars.len());
    let seq =
        record_both(&store, &mut office, &user, AuditAction::Search, &what, &outcome, "supervisory usage review")?;
    let hits = |r: &crate::fleet::report::FleetShift| -> i64 { r.hits_by_list.values().sum() };
    if csv {
        print!(
            "{}",
            crate::reports::csv_line(&[
                "car",
                "officer",
                "shift_id",
                "logon",
                "logoff",
                "shift_minutes",
                "reads",
                "hits_by_list",
                "confirmations",
                "exigent_overrides",
            ])
        );
        for r in &rows {
            let by_list: Vec<String> = r.hits_by_list.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            print!(
                "{}",
                crate::reports::csv_line(&[
                    &r.car_id,
                    &r.officer,
                    &r.shift_id.to_string(),
                    &r.logon.to_rfc3339(),
                    &r.logoff.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    &format!("{:.1}", r.shift_minutes),
                    &r.reads.to_string(),
                    &by_list.join(";"),
                    &r.confirmations.to_string(),
                    &r.exigent_overrides.to_string(),
                ])
            );
        }
        eprintln!("office audit row {seq}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<10} {:<12} {:>6} {:<17} {:<17} {:>7} {:>7} {:>5} {:>5} {:>5}",
        "car", "officer", "shift", "log-on", "log-off", "minutes", "reads", "hits", "conf", "exig"
    );
    for r in &rows {
        println!(
            "{:<10} {:<12} {:>6} {:<17} {:<17} {:>7.0} {:>7} {:>5} {:>5} {:>5}",
            r.car_id,
            r.officer,
            r.shift_id,
            r.logon.format("%Y-%m-%d %H:%M"),
            r.logoff.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_else(|| "(open)".into()),
            r.shift_minutes,
            r.reads,
            hits(r),
            r.confirmations,
            r.exigent_overrides
        );
    }
    println!("{outcome}; recorded as office audit row {seq}");
    println!("active time, camera downtime and distance stay in each car: run `report usage` there");
    Ok(ExitCode::SUCCESS)
}

/// `audit verify --db`: each car's chain as the office received it, and the office's own.
/// Exit status 2 when any is broken.
pub fn verify(
    ctx: &Context,
    store: &Store,
    secrets: &mut Secrets,
    db: &str,
    as_user: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let as_user = as_user.ok_or_else(|| anyhow::anyhow!("--db needs --as: a fleet-wide check is recorded by name"))?;
    let user = actor(store, ctx, as_user, secrets)?;
    Accounts::new(store, rules(ctx)).authorize(
        &user,
        Permission::ViewAuditLog,
        AuditAction::AuditView,
        "audit verify --db",
    )?;
    let mut office = crate::fleet::connect(db)?;
    let cars: Vec<String> =
        office.query("SELECT car_id FROM cars ORDER BY car_id", &[])?.iter().map(|r| r.get(0)).collect();
    let mut lines = Vec::new();
    let mut broken = 0;
    let mut line = |name: &str, chain: Verification| {
        lines.push(match chain {
            Verification::Intact { rows } => format!("{name}: intact, {rows} rows"),
            Verification::Broken { seq, reason } => {
                broken += 1;
                format!("{name}: BROKEN at row {seq}: {reason}")
            }
        });
    };
    for car in &cars {
        line(&format!("car {car}"), verify_car_chain(&mut office, car)?);
    }
    // The office's own log, before this check is added to it.
    line("office log", verify_office_log(&mut office)?);
    let outcome = format!("{} cars and the office log checked; {broken} broken", cars.len());
    record_both(store, &mut office, &user, AuditAction::AuditView, "audit verify --db", &outcome, "audit")?;
    for l in &lines {
        println!("{l}");
    }
    println!("{outcome}");
    Ok(if broken > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// Signs on `as_user` and checks they may run random audits; a refusal is audited locally.
fn auditor(ctx: &Context, store: &Store, secrets: &mut Secrets, as_user: &str, what: &str) -> anyhow::Result<User> {
    let user = actor(store, ctx, as_user, secrets)?;
    Accounts::new(store, rules(ctx)).authorize(&user, Permission::RunRandomAudit, AuditAction::AuditReview, what)?;
    Ok(user)
}

/// `audit sample --db`: a seeded random sample of every car's data accesses and hit decisions.
#[allow(clippy::too_many_arguments)]
pub fn sample(
    ctx: &Context,
    store: &Store,
    secrets: &mut Secrets,
    db: &str,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    size: usize,
    seed: Option<u64>,
    as_user: &str,
) -> anyhow::Result<ExitCode> {
    let what = format!("fleet random audit {} to {}", from.to_rfc3339(), to.to_rfc3339());
    let user = auditor(ctx, store, secrets, as_user, &what)?;
    let mut office = crate::fleet::connect(db)?;
    let seed = seed.unwrap_or_else(rand::random);
    let sample = crate::fleet::audits::draw(&mut office, &user.id, (from, to), size, seed)?;
    let outcome =
        format!("fleet sample {}: {} of {} items, seed {seed}", sample.id, sample.items.len(), sample.population);
    record_both(store, &mut office, &user, AuditAction::AuditReview, &what, &outcome, "random audit")?;
    println!("{outcome}");
    for item in &sample.items {
        println!("{}	{}", item.item_no, item.summary);
    }
    Ok(ExitCode::SUCCESS)
}

/// `audit review --db`: a verdict on one item of a fleet sample.
#[allow(clippy::too_many_arguments)]
pub fn review(
    ctx: &Context,
    store: &Store,
    secrets: &mut Secrets,
    db: &str,
    (sample, item): (i64, i64),
    verdict: &str,
    note: &str,
    as_user: &str,
) -> anyhow::Result<ExitCode> {
    let verdict = crate::reports::sample::Verdict::parse(verdict)
        .ok_or_else(|| anyhow::anyhow!("--verdict must be compliant or flagged"))?;
    let what = format!("fleet sample {sample} item {item}");
    let user = auditor(ctx, store, secrets, as_user, &what)?;
    let item_no = i32::try_from(item).map_err(|_| anyhow::anyhow!("no item {item} in fleet sample {sample}"))?;
    let mut office = crate::fleet::connect(db)?;
    crate::fleet::audits::review(&mut office, &user.id, sample, item_no, verdict, note)?;
    let outcome = format!("{}: {}", verdict.as_str(), note.trim());
    record_both(store, &mut office, &user, AuditAction::AuditReview, &what, &outcome, "random audit")?;
    println!("fleet sample {sample} item {item}: {}", verdict.as_str());
    Ok(ExitCode::SUCCESS)
}

/// `audit show --db`: a fleet sample and its reviews.
pub fn show(
    ctx: &Context,
    store: &Store,
    secrets: &mut Secrets,
    db: &str,
    sample: i64,
    as_user: &str,
) -> anyhow::Result<ExitCode> {
    let what = format!("fleet sample {sample}");
    let user = auditor(ctx, store, secrets, as_user, &what)?;
    let mut office = crate::fleet::connect(db)?;
    let s =
        crate::fleet::audits::load(&mut office, sample)?.ok_or_else(|| anyhow::anyhow!("no fleet sample {sample}"))?;
    let reviewed = s.items.iter().filter(|i| i.verdict.is_some()).count();
    let flagged = s.items.iter().filter(|i| i.verdict == Some(crate::reports::sample::Verdict::Flagged)).count();
    let outcome = format!("{reviewed} of {} reviewed, {flagged} flagged", s.items.len());
    record_both(store, &mut office, &user, AuditAction::AuditView, &what, &outcome, "random audit")?;
    println!(
        "fleet sample {} by {}: {} of {} items, seed {}; {outcome}",
        s.id,
        s.supervisor,
        s.items.len(),
        s.population,
        s.seed
    );
    for i in &s.items {
        let verdict = i.verdict.map(crate::reports::sample::Verdict::as_str).unwrap_or("unreviewed");
        let by = i.reviewed_by.as_deref().map(|b| format!(" by {b}")).unwrap_or_default();
        println!("{}	{verdict}{by}	{}	{}", i.item_no, i.note.as_deref().unwrap_or(""), i.summary);
    }
    Ok(ExitCode::SUCCESS)
}

/// What a fleet search looks for.
#[derive(Debug, Clone, Copy)]
pub enum Terms<'a> {
    /// One plate.
    Plate(&'a str),
    /// An area in a period.
    Near(crate::location::Area, DateTime<Utc>, DateTime<Utc>),
}

/// `search plate|near --db`: every car's reads, with a purpose and a case number, recorded
/// with its terms in the office's log and this console's.
pub fn search(
    ctx: &Context,
    store: &Store,
    secrets: &mut Secrets,
    db: &str,
    terms: &Terms<'_>,
    (purpose, case_number): (&str, &str),
    as_user: &str,
) -> anyhow::Result<ExitCode> {
    let what = match *terms {
        Terms::Plate(plate) => format!("fleet {}", crate::plate::normalize(plate)),
        Terms::Near(area, from, to) => format!(
            "fleet reads within {:.0} m of {:.5},{:.5} from {} to {}",
            area.radius_m,
            area.lat,
            area.lon,
            from.to_rfc3339(),
            to.to_rfc3339()
        ),
    };
    let user = actor(store, ctx, as_user, secrets)?;
    Accounts::new(store, rules(ctx)).authorize(&user, Permission::SearchReads, AuditAction::Search, &what)?;
    crate::reports::require_purpose(store, &user, AuditAction::Search, &what, purpose, case_number)?;
    if let Terms::Near(area, from, to) = *terms {
        crate::reports::search::check_area(area, from, to)?;
    }
    let mut office = crate::fleet::connect(db)?;
    let rows = match *terms {
        Terms::Plate(plate) => crate::fleet::search::by_plate(&mut office, plate)?,
        Terms::Near(area, from, to) => crate::fleet::search::near(&mut office, area, from, to)?,
    };
    let event = AuditEvent::new(
        &user.id,
        &user.organization,
        AuditAction::Search,
        &what,
        &format!("{} reads shown", rows.len()),
    )
    .with_purpose(purpose, case_number);
    store.audit(event.clone())?;
    let seq = office_audit(&mut office, &event)?;
    for r in &rows {
        let place = r.position.map_or_else(|| "no-fix".to_owned(), |(lat, lon)| format!("{lat:.6} {lon:.6}"));
        println!(
            "{}\t{}\t{}\t{}\t{}\t{:.2}\t{place}",
            r.car_id,
            r.read_id,
            r.read_at.to_rfc3339(),
            r.camera,
            r.plate,
            r.confidence
        );
    }
    println!("{} reads; recorded as office audit row {seq}", rows.len());
    Ok(ExitCode::SUCCESS)
}
