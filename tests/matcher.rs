//! Hits are raised off the UI thread (issue 17): the whole officer flow driven through the
//! console with no screen at all (no egui, nothing drawing frames): reads go in, and hits come
//! out stored, audited and queued for the alarm; a deactivated console records nothing; a
//! decided hit stays quiet; and no read is lost between the tracker and the store.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use image::RgbImage;

use patrol_alpr::camera::{CaptureFormat, Frame, SourceSpec};
use patrol_alpr::config::{AppPaths, Config};
use patrol_alpr::console::{Clock, Command, Console, ConsoleOptions, Stage};
use patrol_alpr::hits::{HitAction, HitState};
use patrol_alpr::hotlist::StateCheck;
use patrol_alpr::pipeline::{PlateReader, ReadEvent};
use patrol_alpr::recognize::state::StateProbs;
use patrol_alpr::recognize::tracker::TrackedRead;
use patrol_alpr::recognize::{BBox, Candidate, PlateRead};
use patrol_alpr::session::checklist::{AutoCheck, Inspection, InspectionItem};

/// A reader that finds nothing: the test hands the reads in itself.
struct NoPlates;

impl PlateReader for NoPlates {
    fn read_plates(&self, _: usize, _: &Frame) -> Result<Vec<PlateRead>, String> {
        Ok(Vec::new())
    }
}

/// Polls (what the UI's frame loop would do, minus drawing) until `done`, or fails after 20 s.
fn until(console: &mut Console, what: &str, done: impl Fn(&Console) -> bool) {
    let start = Instant::now();
    while !done(console) {
        assert!(start.elapsed() < Duration::from_secs(20), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
        console.poll();
    }
}

fn read_event(plate: &str) -> ReadEvent {
    read_event_in(plate, None)
}

/// A read of `plate` with the state classifier sure of `state` (`None`: it was not sure).
fn read_event_in(plate: &str, state: Option<&str>) -> ReadEvent {
    let now = Instant::now();
    let read = TrackedRead {
        track_id: 1,
        text: plate.to_owned(),
        confidence: 0.93,
        char_confidences: vec![0.93; plate.len()],
        candidates: vec![Candidate { text: plate.to_owned(), confidence: 0.93 }],
        bbox: BBox { x: 100.0, y: 80.0, w: 60.0, h: 30.0 },
        crop: RgbImage::from_pixel(128, 32, image::Rgb([200, 200, 200])),
        best_seq: 0,
        best_at: now,
        first_seen: now,
        last_seen: now,
        frames: 5,
        state: Some(StateProbs::certain(state).decide(0.5)),
    };
    ReadEvent { camera: 0, camera_name: "sim".into(), read, wall_time: SystemTime::now(), closed_at: now }
}

/// A demo console, logged on, inspected and active: no screen anywhere.
fn active_console(dir: &tempfile::TempDir) -> (Console, Clock) {
    active_console_with(dir, Clock::manual(chrono::Utc::now()))
}

/// The same on `clock`.
fn active_console_with(dir: &tempfile::TempDir, clock: Clock) -> (Console, Clock) {
    let paths = AppPaths {
        data_dir: dir.path().to_path_buf(),
        config_file: dir.path().join("none.toml"),
        data_dir_explicit: true,
    };
    let mut console = Console::new(ConsoleOptions {
        paths,
        config: Config::default(),
        demo: true,
        sources: vec![SourceSpec::Simulator],
        format: CaptureFormat { width: 320, height: 180, fps: 15.0 },
        sim_plates: Vec::new(),
        reader: Some(Arc::new(NoPlates)),
        clock: clock.clone(),
    })
    .unwrap();
    console.apply(Command::LogOn { officer: "demo-officer".into(), pin: "111111".into() }).unwrap();
    until(&mut console, "the camera check", |c| {
        c.cameras().first().is_some_and(|cam| matches!(cam.auto_check(), AutoCheck::Passed { .. }))
    });
    let items = InspectionItem::ALL.iter().map(|i| (*i, true)).collect();
    console.apply(Command::Inspect { camera: 0, inspection: Inspection { items, notes: String::new() } }).unwrap();
    until(&mut console, "the hot-list update", |c| !c.update_running() && c.update_report().is_some());
    console.apply(Command::GoActive).unwrap();
    assert_eq!(console.stage(), Stage::Patrol);
    (console, clock)
}

#[test]
fn hits_are_stored_audited_and_alarm_with_no_screen_drawing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut console, clock) = active_console(&dir);
    // A burst of reads, none matching, then a listed plate.
    for i in 0..40 {
        console.handle_read(read_event(&format!("NOHIT{i:02}")));
    }
    console.handle_read(read_event("DEMO001"));
    until(&mut console, "the hit", |c| c.alarming_hit().is_some());
    let hit = console.alarming_hit().unwrap().clone();
    assert_eq!((hit.plate.as_str(), hit.state()), ("DEMO001", HitState::New));
    let stored = console.store().hit(hit.id).unwrap().unwrap();
    assert_eq!(stored.plate, "DEMO001");
    let evidence = console.store().read_by_id(stored.read_id.unwrap()).unwrap().unwrap();
    assert_eq!(evidence.read.plate, "DEMO001");
    let audited = console.store().read(|c| {
        Ok(c.query_row("SELECT count(*) FROM audit_log WHERE action = 'hit_raised' AND object = 'DEMO001'", [], |r| {
            r.get::<_, i64>(0)
        })?)
    });
    assert_eq!(audited.unwrap(), 1, "the hit is audited as it is raised");
    // Every read reached the store: none lost between the tracker and the disk.
    until(&mut console, "every read on screen", |c| c.history().count() == 41);
    for read in console.history() {
        assert!(read.id > 0, "{} was stored", read.text);
        // The demo drives the simulated route: every read has the car's position (issue 18).
        let stored = console.store().read_by_id(read.id).unwrap().unwrap();
        assert!(stored.read.gps.is_some_and(|g| (33.74..33.79).contains(&g.lat)), "{}", read.text);
    }
    // The car drives the simulated route: the map's trail follows it, a point per 20 m.
    for _ in 0..3 {
        clock.advance(chrono::Duration::seconds(10));
        console.poll();
    }
    assert!(console.trail().count() >= 3, "the map's trail follows the car: {}", console.trail().count());
    let (p50, p95) = console.hit_latency_ms().unwrap();
    assert!(p50 <= p95 && p95 < 5_000.0, "{p50} {p95}");

    // Decided: the same plate seconds later is stored but raises nothing.
    console.apply(Command::Hit { id: hit.id, action: HitAction::Acknowledge }).unwrap();
    console.apply(Command::Hit { id: hit.id, action: HitAction::Misread { reason: "8 read as B".into() } }).unwrap();
    clock.advance(chrono::Duration::seconds(40));
    console.handle_read(read_event("DEMO001"));
    until(&mut console, "the repeat read", |c| c.history().count() == 42);
    assert!(console.alarming_hit().is_none() && console.open_hits().is_empty());
    assert_eq!(console.history().next().unwrap().hit_id, Some(hit.id));

    // Deactivated: reads are neither stored nor matched.
    console.apply(Command::Deactivate { reason: "Meal break".into() }).unwrap();
    console.handle_read(read_event("7DMO123"));
    std::thread::sleep(Duration::from_millis(300));
    console.poll();
    assert_eq!(console.history().count(), 42);
    assert!(console.alarming_hit().is_none());
    let raised = console.store().read(|c| Ok(c.query_row("SELECT count(*) FROM hits", [], |r| r.get::<_, i64>(0))?));
    assert_eq!(raised.unwrap(), 1);
}

/// Issue 16: the state read goes with the read into the store and into the match: a
/// Texas plate on the (California) demo list raises a hit that says the state differs and is
/// never exact; read as California it agrees; not read, the officer is told to verify it.
#[test]
fn the_state_read_is_stored_and_decides_whether_a_hit_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let (mut console, _clock) = active_console(&dir);
    // Three California entries of the demo list, each read once.
    let cases = [
        ("DEMO001", Some("TX"), StateCheck::Differs, false),
        ("DEMO002", Some("CA"), StateCheck::Agrees, true),
        ("TEST123", None, StateCheck::NotRead, false),
    ];
    for (plate, state, check, exact) in cases {
        console.handle_read(read_event_in(plate, state));
        until(&mut console, "the hit", |c| c.alarming_hit().is_some());
        let hit = console.alarming_hit().unwrap().clone();
        let detail = console.hit_detail(hit.id).unwrap();
        assert_eq!(detail.read.state.as_deref(), state);
        let top = detail.hit.top().unwrap();
        assert_eq!(top.entry.state.as_deref(), Some("CA"), "the demo list's entry");
        assert_eq!((top.state_check, detail.hit.is_exact()), (check, exact), "{state:?}");
        let stored = console.store().read_by_id(detail.read.id).unwrap().unwrap();
        assert_eq!(stored.read.state.as_deref(), state, "the state is stored with the read");
        assert_eq!(hit.plate, plate);
        // Decided, so the next case's alert is the one alarming.
        console.apply(Command::Hit { id: hit.id, action: HitAction::Acknowledge }).unwrap();
        console.apply(Command::Hit { id: hit.id, action: HitAction::Misread { reason: "test".into() } }).unwrap();
    }
}

/// Issue 17: the alarm starts from the hit on the matcher's thread, before the console is
/// polled or anything drawn; a lower-priority hit while a more urgent one alarms does not
/// start it.
#[test]
fn the_tone_starts_from_the_committed_hit_with_no_frame_drawn() {
    let dir = tempfile::tempdir().unwrap();
    let (mut console, _clock) = active_console(&dir);
    let (started_tx, started_rx) = crossbeam_channel::unbounded::<i32>();
    console.set_hit_hook(Arc::new(move |priority| {
        let _ = started_tx.send(priority);
    }));
    // The matcher already runs (started by the log-on): it takes the hook from its next hit.
    console.handle_read(read_event("7DMO123"));
    // No poll: only the matcher's thread can have started it.
    let priority = started_rx.recv_timeout(Duration::from_secs(20)).expect("the tone started");
    assert_eq!(priority, 1, "the AMBER alert's priority");
    until(&mut console, "the hit on screen", |c| c.alarming_hit().is_some());
    assert!(console.store().hit(console.alarming_hit().unwrap().id).unwrap().is_some(), "committed first");
    // A priority-3 hit while the AMBER alert alarms: queued, no new start.
    console.handle_read(read_event("DEMO001"));
    until(&mut console, "the second hit", |c| c.open_hits().len() == 2);
    assert!(started_rx.try_recv().is_err(), "the more urgent alarm keeps sounding");
}
