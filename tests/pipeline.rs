//! End-to-end tests of the recognition pipeline on the traffic simulator and on scripted
//! fake sources: reads equal the simulator's truth, reconnects, back-pressure, faults.
//! No camera is needed: the plate reader here is a test double that returns the
//! simulator's ground truth for each frame.

// A failed unwrap is a failed test, which is what these tests want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crossbeam_channel::bounded;
use patrol_alpr::camera::health::{CameraProblem, CameraStatus};
use patrol_alpr::camera::simulator::{SimTruth, Simulator, SimulatorConfig};
use patrol_alpr::camera::{Frame, FrameSource, SourceError};
use patrol_alpr::pipeline::headless::{HeadlessOptions, run_headless};
use patrol_alpr::pipeline::{Outputs, Pipeline, PipelineConfig, PlateReader, ReadEvent};
use patrol_alpr::recognize::{Candidate, PlateRead};
use patrol_alpr::render::Scene;

/// Test double: "reads" exactly the readable plates the simulator says are in the frame, and
/// remembers which vehicles it reported.
struct GroundTruthReader {
    truth: SimTruth,
    seen: Mutex<BTreeSet<u64>>,
}

impl PlateReader for GroundTruthReader {
    fn read_plates(&self, _camera: usize, frame: &Frame) -> Result<Vec<PlateRead>, String> {
        let Some(truth) = self.truth.frame(frame.seq) else {
            return Err(format!("no truth for frame {}", frame.seq));
        };
        let mut reads = Vec::new();
        for plate in truth.plates.iter().filter(|p| p.readable) {
            self.seen.lock().unwrap().insert(plate.vehicle_id);
            let b = plate.bbox;
            let crop =
                image::imageops::crop_imm(&*frame.image, b.x as u32, b.y as u32, b.w as u32, b.h as u32).to_image();
            reads.push(PlateRead {
                text: plate.text.clone(),
                confidence: 0.9,
                char_confidences: vec![0.9; plate.text.len()],
                bbox: b,
                corners: Some(plate.corners),
                candidates: vec![Candidate { text: plate.text.clone(), confidence: 0.9 }],
                crop,
                state: None,
            });
        }
        Ok(reads)
    }
}

/// A small simulator, as fast as it renders (tests run unoptimized on a shared machine).
fn small_sim(seed: u64, max_frames: Option<u64>) -> Simulator {
    Simulator::new(SimulatorConfig {
        width: 320,
        height: 180,
        fps: 15.0,
        seed,
        realtime: false,
        max_frames,
        ..SimulatorConfig::default()
    })
}

fn config(workers: usize) -> PipelineConfig {
    PipelineConfig { workers, reconnect_initial_millis: 20, reconnect_max_millis: 100, ..PipelineConfig::default() }
}

#[test]
fn a_short_simulator_run_reads_exactly_the_simulators_truth() {
    // 16 s of traffic at 15 fps.
    let sim = small_sim(7, Some(240));
    let truth = sim.truth();
    let reader = Arc::new(GroundTruthReader { truth: truth.clone(), seen: Mutex::new(BTreeSet::new()) });
    // The simulated route: every read carries the car's position (issue 18).
    let route = patrol_alpr::location::Locator::start(&patrol_alpr::location::SourceSetting::Simulated, 3000).unwrap();
    let options = HeadlessOptions {
        duration: Some(Duration::from_secs(60)),
        sim_truth: Some(truth.clone()),
        locator: Some(Arc::new(route)),
        recorder: None,
    };
    let mut out = Vec::new();
    let summary = run_headless(config(2), vec![Box::new(sim)], reader.clone(), options, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();

    // Every read is a vehicle the reader saw, with its true text, once.
    let reads: Vec<&serde_json::Value> = lines.iter().filter(|l| l["type"] == "read").collect();
    let seen = reader.seen.lock().unwrap().clone();
    assert!(seen.len() >= 2, "only {} vehicles seen in {} frames", seen.len(), summary.processed);
    let vehicles = truth.vehicles();
    let mut read_vehicles = BTreeMap::new();
    for read in &reads {
        let vehicle = read["sim_vehicle"].as_u64().expect("every read matches a vehicle");
        assert_eq!(read["text"].as_str(), Some(vehicles[&vehicle].text.as_str()));
        assert_eq!(read["sim_correct"], true);
        let (lat, lon) = (read["lat"].as_f64().unwrap(), read["lon"].as_f64().unwrap());
        assert!((33.74..33.79).contains(&lat) && (-118.25..-118.19).contains(&lon), "{read}");
        assert_eq!(read["fix_age_ms"].as_i64(), Some(0));
        *read_vehicles.entry(vehicle).or_insert(0) += 1;
    }
    assert_eq!(read_vehicles.keys().copied().collect::<BTreeSet<_>>(), seen, "one read per vehicle seen");
    assert!(read_vehicles.values().all(|&n| n == 1), "{read_vehicles:?}");

    // The last line is the summary, and it agrees.
    let last = lines.last().unwrap();
    assert_eq!(last["reads"].as_u64(), Some(reads.len() as u64));
    assert_eq!(last["sim_duplicate_reads"].as_u64(), Some(0));
    assert_eq!(last["sim_false_reads"].as_u64(), Some(0));
    assert_eq!(
        (last["reads_with_fix"].as_u64(), last["reads_without_fix"].as_u64()),
        (Some(reads.len() as u64), Some(0))
    );
    assert!(last["frames"].as_u64().unwrap() >= last["processed"].as_u64().unwrap());
    assert!(summary.processed > 20, "{summary:?}");
    assert!(summary.latency_ms_p95 >= summary.latency_ms_p50);
}

/// Issue 17: a headless run commits every read through the console's matcher into a store,
/// with no screen: what the tracker published equals what was stored, and the listed plates
/// raise hits that are committed, with their latency.
#[test]
fn a_headless_run_stores_every_read_it_publishes_and_commits_its_hits() {
    use patrol_alpr::console::demo::{DEMO_SIM_PLATES, demo_list};
    use patrol_alpr::console::recorder::{RecorderOptions, StoreRecorder};
    use patrol_alpr::hotlist::{HotlistConfig, Hotlists};

    let sim = Simulator::new(SimulatorConfig {
        width: 320,
        height: 180,
        fps: 15.0,
        seed: 11,
        realtime: false,
        max_frames: Some(240),
        plates: DEMO_SIM_PLATES.iter().map(|p| (*p).to_owned()).collect(),
        listed_share: 0.5,
        ..SimulatorConfig::default()
    });
    let truth = sim.truth();
    let reader = Arc::new(GroundTruthReader { truth: truth.clone(), seen: Mutex::new(BTreeSet::new()) });
    let list = demo_list(&HotlistConfig::default(), chrono::Utc::now()).unwrap();
    let recorder = StoreRecorder::throwaway(RecorderOptions {
        hotlists: Arc::new(Hotlists::new(list)),
        locator: None,
        officer: "simulator".into(),
        quiet: chrono::Duration::minutes(5),
    })
    .unwrap();
    let options = HeadlessOptions {
        duration: Some(Duration::from_secs(60)),
        sim_truth: Some(truth),
        locator: None,
        recorder: Some(Box::new(recorder)),
    };
    let mut out = Vec::new();
    let summary = run_headless(config(2), vec![Box::new(sim)], reader, options, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();

    let recorded = summary.recorded.clone().expect("the recorder's counts are in the summary");
    assert!(summary.reads >= 2, "{summary:?}");
    assert_eq!(recorded.reads_stored, summary.reads, "no read lost between the tracker and the store");
    assert_eq!(recorded.reads_not_stored, 0);
    assert_eq!(recorded.store, "throwaway");

    // Each listed plate read raised one hit (repeats are stored on the open hit), committed.
    let read_plates: BTreeSet<&str> = lines
        .iter()
        .filter(|l| l["type"] == "read")
        .filter_map(|l| l["text"].as_str())
        .filter(|t| DEMO_SIM_PLATES.contains(t))
        .collect();
    assert!(!read_plates.is_empty(), "the simulator showed no listed plate");
    let hits: Vec<&serde_json::Value> = lines.iter().filter(|l| l["type"] == "hit").collect();
    let hit_plates: BTreeSet<&str> = hits.iter().filter_map(|l| l["text"].as_str()).collect();
    assert_eq!(hit_plates, read_plates);
    assert_eq!(recorded.hits, hits.len() as u64);
    for hit in &hits {
        assert!(hit["hit_id"].as_i64().unwrap() > 0 && hit["read_id"].as_i64().unwrap() > 0, "{hit}");
        // The simulator runs ahead of real time here (frames stamped at their virtual time),
        // so only the matcher's own time is meaningful: present and finite.
        assert!(hit["commit_ms"].as_f64().is_some_and(|ms| (0.0..60_000.0).contains(&ms)), "{hit}");
        assert!(hit["frame_ms"].as_f64().is_some() && hit["pass_ms"].as_f64().is_some(), "{hit}");
    }
    assert!(recorded.hit_commit_ms_p95 >= recorded.hit_commit_ms_p50 && recorded.hit_commit_ms_p50.is_some());
    // The same figures are in the last line.
    let last = lines.last().unwrap();
    assert_eq!(last["reads_stored"].as_u64(), Some(summary.reads));
    assert_eq!(last["hits"].as_u64(), Some(hits.len() as u64));
}

/// What a scripted source does on each call.
#[derive(Clone, Copy, Debug)]
enum Step {
    Frame(u8),
    Corrupt,
    Lost,
    FailOpen,
    Stall(u64),
}

/// A fake source following a script, then ending (or repeating its last frame forever).
struct ScriptedSource {
    steps: Vec<Step>,
    position: usize,
    seq: u64,
    opens: Arc<AtomicU64>,
    failed_opens_left: usize,
    interval: Duration,
}

impl ScriptedSource {
    fn new(steps: Vec<Step>, interval_ms: u64) -> Self {
        Self {
            steps,
            position: 0,
            seq: 0,
            opens: Arc::new(AtomicU64::new(0)),
            failed_opens_left: 0,
            interval: Duration::from_millis(interval_ms),
        }
    }

    fn frame(&mut self, seed: u8) -> Frame {
        // A textured scene: healthy unless the script repeats the same seed (frozen).
        let image = Scene::textured(160, 96, u64::from(seed)).image;
        let seq = self.seq;
        self.seq += 1;
        Frame { image: Arc::new(image), captured_at: Instant::now(), wall_time: SystemTime::now(), seq }
    }
}

impl FrameSource for ScriptedSource {
    fn name(&self) -> &str {
        "scripted"
    }

    fn open(&mut self) -> Result<(), SourceError> {
        self.opens.fetch_add(1, Ordering::SeqCst);
        if self.failed_opens_left > 0 {
            self.failed_opens_left -= 1;
            return Err(SourceError::Open { name: "scripted".into(), reason: "unplugged".into() });
        }
        Ok(())
    }

    fn next_frame(&mut self) -> Result<Frame, SourceError> {
        std::thread::sleep(self.interval);
        let Some(step) = self.steps.get(self.position).copied() else {
            return Err(SourceError::EndOfStream);
        };
        self.position += 1;
        match step {
            Step::Frame(seed) => Ok(self.frame(seed)),
            Step::Corrupt => Err(SourceError::Corrupt { name: "scripted".into(), reason: "bad JPEG".into() }),
            Step::Lost => Err(SourceError::Lost { name: "scripted".into(), reason: "unplugged".into() }),
            Step::FailOpen => {
                self.failed_opens_left = 3;
                Err(SourceError::Lost { name: "scripted".into(), reason: "unplugged".into() })
            }
            Step::Stall(ms) => {
                std::thread::sleep(Duration::from_millis(ms));
                Err(SourceError::Timeout)
            }
        }
    }
}

/// A reader that finds nothing, slowly.
struct SlowReader(Duration);

impl PlateReader for SlowReader {
    fn read_plates(&self, _camera: usize, _frame: &Frame) -> Result<Vec<PlateRead>, String> {
        std::thread::sleep(self.0);
        Ok(Vec::new())
    }
}

fn start(
    sources: Vec<Box<dyn FrameSource>>,
    reader: Arc<dyn PlateReader>,
    workers: usize,
) -> (Pipeline, crossbeam_channel::Receiver<CameraStatus>, crossbeam_channel::Receiver<ReadEvent>) {
    let (status_tx, status_rx) = bounded(256);
    let (read_tx, read_rx) = bounded(256);
    let outputs = Outputs { reads: vec![read_tx], statuses: vec![status_tx], overlay: None, wake: None };
    (Pipeline::start(config(workers), sources, reader, outputs).unwrap(), status_rx, read_rx)
}

fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

#[test]
fn a_camera_that_fails_is_reported_reopened_with_backoff_and_recovers() {
    let mut steps: Vec<Step> = (0..10).map(|i| Step::Frame(i as u8)).collect();
    steps.push(Step::Lost);
    steps.extend((10..20).map(|i| Step::Frame(i as u8)));
    steps.push(Step::FailOpen);
    steps.extend((20..40).map(|i| Step::Frame(i as u8)));
    let source = ScriptedSource::new(steps, 10);
    let opens = source.opens.clone();
    let (pipeline, statuses, _reads) = start(vec![Box::new(source)], Arc::new(SlowReader(Duration::ZERO)), 1);
    let started = Instant::now();
    let mut history: Vec<(Duration, Vec<CameraProblem>)> = Vec::new();
    assert!(wait_until(Duration::from_secs(5), || {
        while let Ok(s) = statuses.try_recv() {
            history.push((started.elapsed(), s.problems));
        }
        pipeline.stats().frames >= 40
    }));
    let lost_at =
        history.iter().position(|(_, p)| p.iter().any(|p| matches!(p, CameraProblem::Lost(_)))).expect("loss reported");
    assert!(history[lost_at].0 < Duration::from_secs(2), "{history:?}");
    assert!(history[lost_at..].iter().any(|(_, p)| p.is_empty()), "recovery reported: {history:?}");
    // The first open, a reopening after the first loss, then after the second loss three
    // refused reopenings and the one that worked.
    assert_eq!(opens.load(Ordering::SeqCst), 6);
    drop(pipeline);
}

#[test]
fn back_pressure_drops_frames_instead_of_queueing_them() {
    let sim = small_sim(3, None);
    let (pipeline, _statuses, _reads) = start(vec![Box::new(sim)], Arc::new(SlowReader(Duration::from_millis(200))), 1);
    std::thread::sleep(Duration::from_millis(1500));
    let stats = pipeline.stats();
    assert!(stats.dropped > 0, "{stats:?}");
    // Frames alive anywhere: one being checked by capture, one waiting, one being read.
    let unaccounted = stats.frames - stats.processed - stats.dropped;
    assert!(unaccounted <= 3, "{stats:?}");
    assert!(stats.queue_depth <= 1 + 32, "{stats:?}");
    let finished = pipeline.shutdown();
    assert!(finished.processed > 5, "{finished:?}");
}

/// Panics on every third frame.
struct PanickyReader(AtomicU64);

impl PlateReader for PanickyReader {
    fn read_plates(&self, _camera: usize, _frame: &Frame) -> Result<Vec<PlateRead>, String> {
        if self.0.fetch_add(1, Ordering::SeqCst) % 3 == 1 {
            panic!("reader bug (expected by the test)");
        }
        Ok(Vec::new())
    }
}

#[test]
fn a_panicking_worker_is_logged_and_replaced_and_corrupt_frames_are_skipped() {
    let steps: Vec<Step> = (0..60).map(|i| if i % 4 == 3 { Step::Corrupt } else { Step::Frame(i as u8) }).collect();
    // Paced so that two workers keep up even on a loaded machine (a panic's report is slow).
    let source = ScriptedSource::new(steps, 25);
    let (pipeline, _statuses, _reads) = start(vec![Box::new(source)], Arc::new(PanickyReader(AtomicU64::new(0))), 2);
    assert!(wait_until(Duration::from_secs(10), || pipeline.is_finished()));
    let stats = pipeline.shutdown();
    assert_eq!(stats.corrupt, 15);
    assert_eq!(stats.frames, 45);
    assert!(stats.worker_panics >= 3, "{stats:?}");
    assert!(stats.processed >= 10, "{stats:?}");
}

#[test]
fn frozen_and_silent_cameras_raise_status_events() {
    let frozen = ScriptedSource::new(vec![Step::Frame(5); 80], 20);
    let silent = ScriptedSource::new(
        vec![Step::Frame(1), Step::Frame(2), Step::Stall(1000), Step::Stall(1000), Step::Stall(1000)],
        10,
    );
    let (pipeline, statuses, _reads) =
        start(vec![Box::new(frozen), Box::new(silent)], Arc::new(SlowReader(Duration::ZERO)), 1);
    let started = Instant::now();
    let mut frozen_at = None;
    let mut silent_at = None;
    wait_until(Duration::from_secs(4), || {
        while let Ok(s) = statuses.try_recv() {
            if s.camera == 0 && s.problems.contains(&CameraProblem::Frozen) {
                frozen_at.get_or_insert(started.elapsed());
            }
            if s.camera == 1 && s.problems.contains(&CameraProblem::NoFrames) {
                silent_at.get_or_insert(started.elapsed());
            }
        }
        frozen_at.is_some() && silent_at.is_some()
    });
    assert!(frozen_at.is_some_and(|t| t < Duration::from_millis(2000)), "{frozen_at:?}");
    assert!(silent_at.is_some_and(|t| t < Duration::from_millis(3000)), "{silent_at:?}");
    let begun = Instant::now();
    drop(pipeline);
    assert!(begun.elapsed() < Duration::from_secs(3), "shutdown took {:?}", begun.elapsed());
}

#[test]
fn the_wake_callback_is_called_when_reads_arrive() {
    let sim = small_sim(11, None);
    let truth = sim.truth();
    let reader = Arc::new(GroundTruthReader { truth, seen: Mutex::new(BTreeSet::new()) });
    let wakes = Arc::new(AtomicU64::new(0));
    let counter = wakes.clone();
    let (read_tx, read_rx) = bounded(64);
    let (overlay_tx, overlay_rx) = bounded(1);
    let outputs = Outputs {
        reads: vec![read_tx],
        statuses: Vec::new(),
        overlay: Some((overlay_tx, overlay_rx.clone())),
        wake: Some(Arc::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        })),
    };
    let pipeline = Pipeline::start(config(1), vec![Box::new(sim)], reader, outputs).unwrap();
    assert!(wait_until(Duration::from_secs(20), || !read_rx.is_empty()));
    assert!(wakes.load(Ordering::SeqCst) > 0);
    let overlay = overlay_rx.recv_timeout(Duration::from_secs(1)).unwrap();
    assert_eq!(overlay.reads.len(), overlay.track_ids.len());
    drop(pipeline);
}
