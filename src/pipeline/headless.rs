//! The pipeline without a screen: runs the sources for a while and writes every read and
//! camera status as a JSON line, then one summary object as the last line. Used by
//! `patrol-alpr run --headless` and by the end-to-end tests.
//!
//! Matching and storing are not done here: a [`ReadRecorder`] (the console's matcher and
//! store, `console::recorder`) takes each read past the tracker, exactly as in the console,
//! and its hit lines and counts join the output.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, bounded, select};
use serde::Serialize;

use super::{Outputs, Pipeline, PipelineConfig, PipelineError, PlateReader, ReadEvent};
use crate::camera::FrameSource;
use crate::camera::health::CameraStatus;
use crate::camera::simulator::{SimMiss, SimScorer, SimTruth};
use crate::recognize::BBox;

/// Why a headless run failed.
#[derive(Debug, thiserror::Error)]
pub enum HeadlessError {
    /// The pipeline did not start.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// Writing the output failed (closed pipe, full disk).
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}

/// How long to run and what to score.
#[derive(Default)]
pub struct HeadlessOptions {
    /// Stop after this long; `None` runs until every source ends.
    pub duration: Option<Duration>,
    /// Score reads against this simulator's truth.
    pub sim_truth: Option<SimTruth>,
    /// Stamp every read with the car's position at its time (`lat`, `lon`, `fix_age_ms`).
    pub locator: Option<Arc<crate::location::Locator>>,
    /// Hands every read on to be matched and committed; `None`: reads are only written.
    pub recorder: Option<Box<dyn ReadRecorder>>,
}

/// Where a headless run hands its reads past the tracker: the console's matcher, which
/// matches each against the hot lists and commits it (and a hit) through the store's writer
/// on its own thread. The run writes what comes back between reads and waits for all of it
/// at the end, so the summary can count what the tracker published against what was stored.
pub trait ReadRecorder: Send {
    /// Takes one read. Waits when the recorder is far behind rather than drop it.
    fn record(&mut self, event: ReadEvent);
    /// Writes what was committed since the last call (hit lines, store errors) as JSON lines.
    fn poll(&mut self, out: &mut dyn Write) -> std::io::Result<()>;
    /// The run is stopping: the reads handed on from now are the tracker's open passes,
    /// flushed by the stop, which waited for the pipeline to shut down; they are stored and
    /// counted but left out of the latency figures.
    fn stopping(&mut self);
    /// Waits until every read handed on is committed or failed, writes the last lines, and
    /// counts.
    fn finish(&mut self, out: &mut dyn Write) -> std::io::Result<RecordedCounts>;
}

/// What a [`ReadRecorder`] committed, for the summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedCounts {
    /// Where the reads went: `throwaway` (a temporary encrypted store, deleted at the end:
    /// simulated traffic never enters the agency's records) or the data dir's store.
    pub store: String,
    /// Reads committed to the store.
    pub reads_stored: u64,
    /// Reads the store refused (each also written as a `store_error` line).
    pub reads_not_stored: u64,
    /// New hits committed.
    pub hits: u64,
    /// From the capture of the frame on which the tracker closed a read's pass to the read
    /// committed, ms (every read).
    pub read_committed_ms_p50: Option<f64>,
    /// The same, 95th percentile.
    pub read_committed_ms_p95: Option<f64>,
    /// From the capture of the frame that closed a hit's pass to the hit committed (and its
    /// tone started), ms: the frame-to-hit latency.
    pub hit_committed_ms_p50: Option<f64>,
    /// The same, 95th percentile.
    pub hit_committed_ms_p95: Option<f64>,
    /// From the last frame showing the vehicle to its hit committed, ms: the above plus the
    /// tracker's wait to be sure the vehicle has left.
    pub hit_after_pass_ms_p50: Option<f64>,
    /// The same, 95th percentile.
    pub hit_after_pass_ms_p95: Option<f64>,
    /// The matcher's own part of that: from receiving the read to the hit committed, ms.
    pub hit_commit_ms_p50: Option<f64>,
    /// The same, 95th percentile.
    pub hit_commit_ms_p95: Option<f64>,
}

/// The last line of a headless run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Frames captured.
    pub frames: u64,
    /// Frames read.
    pub processed: u64,
    /// Frames dropped (a newer frame arrived first).
    pub dropped: u64,
    /// Frames read per second.
    pub fps: f64,
    /// Vehicle-pass reads.
    pub reads: u64,
    /// Median capture-to-read latency, ms.
    pub latency_ms_p50: f64,
    /// 95th percentile capture-to-read latency, ms.
    pub latency_ms_p95: f64,
    /// Simulated vehicles that were readable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sim_vehicles: Option<u64>,
    /// Of those, vehicles read correctly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sim_read_correct: Option<u64>,
    /// Extra reads of the same vehicle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sim_duplicate_reads: Option<u64>,
    /// Reads matching no vehicle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sim_false_reads: Option<u64>,
    /// Simulated vehicles read with their plate's state (with the state classifier).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sim_state_correct: Option<u64>,
    /// Simulated vehicles read with another state named ("unknown" is not counted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sim_state_wrong: Option<u64>,
    /// Reads stamped with a position (with a position source).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reads_with_fix: Option<u64>,
    /// Reads with no fix within the age limit (with a position source).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reads_without_fix: Option<u64>,
    /// Corrupt frames skipped.
    pub corrupt: u64,
    /// Worker panics (each worker restarted).
    pub worker_panics: u64,
    /// Resident memory at the start, KiB (Linux; 0 elsewhere).
    pub rss_kib_start: u64,
    /// Resident memory at the end, KiB (Linux; 0 elsewhere).
    pub rss_kib_end: u64,
    /// What the recorder committed (with a recorder): `reads_stored` + `reads_not_stored`
    /// equals `reads` when no read was lost between the tracker and the store.
    #[serde(flatten)]
    pub recorded: Option<RecordedCounts>,
}

#[derive(Serialize)]
struct ReadLine<'a> {
    r#type: &'static str,
    camera: usize,
    camera_name: &'a str,
    time: String,
    text: &'a str,
    confidence: f32,
    frames: usize,
    track: u64,
    bbox: BBox,
    candidates: &'a [crate::recognize::Candidate],
    /// The issuing state read (`null`: unknown), with its confidence and runners-up.
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'a crate::recognize::StateRead>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sim_vehicle: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sim_correct: Option<bool>,
    /// The car's position at the read's time; null without a fix.
    lat: Option<f64>,
    lon: Option<f64>,
    fix_age_ms: Option<i64>,
}

/// A simulated vehicle never read right, listed before the summary.
#[derive(Serialize)]
struct MissLine<'a> {
    r#type: &'static str,
    #[serde(flatten)]
    miss: &'a SimMiss,
}

#[derive(Serialize)]
struct StatusLine<'a> {
    r#type: &'static str,
    #[serde(flatten)]
    status: &'a CameraStatus,
}

/// Resident set size of this process in KiB, from `/proc/self/status` (0 if unknown).
pub fn resident_kib() -> u64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return 0;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Runs the pipeline headless, writing JSON lines to `out`; returns the summary it wrote last.
pub fn run_headless(
    config: PipelineConfig,
    sources: Vec<Box<dyn FrameSource>>,
    reader: Arc<dyn PlateReader>,
    mut options: HeadlessOptions,
    out: &mut dyn Write,
) -> Result<Summary, HeadlessError> {
    let rss_kib_start = resident_kib();
    let (read_tx, read_rx) = bounded::<ReadEvent>(256);
    let (status_tx, status_rx) = bounded::<CameraStatus>(64);
    let outputs = Outputs { reads: vec![read_tx], statuses: vec![status_tx], overlay: None, wake: None };
    let pipeline = Pipeline::start(config, sources, reader, outputs)?;
    let mut scorer = options.sim_truth.clone().map(SimScorer::new);
    // Reads stamped with a position, and without (no fix within the age limit).
    let mut fixes = FixCounts::default();
    let deadline = options.duration.map(|d| Instant::now() + d);
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) || pipeline.is_finished() {
            break;
        }
        select! {
            recv(read_rx) -> event => if let Ok(event) = event { write_read(out, event, scorer.as_mut(), &mut options, &mut fixes)? },
            recv(status_rx) -> status => if let Ok(status) = status { write_status(out, &status)? },
            default(Duration::from_millis(100)) => {}
        }
        if let Some(recorder) = options.recorder.as_mut() {
            recorder.poll(out)?;
        }
    }
    // Stopping flushes the tracker's open tracks as final reads; they wait in the channel.
    let stats = pipeline.shutdown();
    if let Some(recorder) = options.recorder.as_mut() {
        recorder.stopping();
    }
    drain(out, &read_rx, &status_rx, scorer.as_mut(), &mut options, &mut fixes)?;
    let recorded = match options.recorder.as_mut() {
        Some(recorder) => Some(recorder.finish(out)?),
        None => None,
    };
    if let Some(scorer) = &scorer {
        for miss in scorer.misses() {
            let line = MissLine { r#type: "sim_miss", miss: &miss };
            writeln!(out, "{}", serde_json::to_string(&line).map_err(std::io::Error::other)?)?;
        }
    }
    let score = scorer.map(|s| s.score());
    let summary = Summary {
        frames: stats.frames,
        processed: stats.processed,
        dropped: stats.dropped,
        fps: (stats.fps * 100.0).round() / 100.0,
        reads: stats.reads,
        latency_ms_p50: stats.latency_ms_p50,
        latency_ms_p95: stats.latency_ms_p95,
        sim_vehicles: score.map(|s| s.vehicles),
        sim_read_correct: score.map(|s| s.correct),
        sim_duplicate_reads: score.map(|s| s.duplicates),
        sim_false_reads: score.map(|s| s.false_reads),
        sim_state_correct: score.map(|s| s.state_correct),
        sim_state_wrong: score.map(|s| s.state_wrong),
        reads_with_fix: options.locator.as_ref().map(|_| fixes.with),
        reads_without_fix: options.locator.as_ref().map(|_| fixes.without),
        corrupt: stats.corrupt,
        worker_panics: stats.worker_panics,
        rss_kib_start,
        rss_kib_end: resident_kib(),
        recorded,
    };
    writeln!(out, "{}", serde_json::to_string(&summary).map_err(std::io::Error::other)?)?;
    out.flush()?;
    Ok(summary)
}

fn drain(
    out: &mut dyn Write,
    reads: &Receiver<ReadEvent>,
    statuses: &Receiver<CameraStatus>,
    mut scorer: Option<&mut SimScorer>,
    options: &mut HeadlessOptions,
    fixes: &mut FixCounts,
) -> Result<(), HeadlessError> {
    while let Ok(status) = statuses.try_recv() {
        write_status(out, &status)?;
    }
    while let Ok(event) = reads.try_recv() {
        write_read(out, event, scorer.as_deref_mut(), options, fixes)?;
    }
    Ok(())
}

/// Reads with and without a position.
#[derive(Debug, Default)]
struct FixCounts {
    with: u64,
    without: u64,
}

fn write_read(
    out: &mut dyn Write,
    event: ReadEvent,
    scorer: Option<&mut SimScorer>,
    options: &mut HeadlessOptions,
    fixes: &mut FixCounts,
) -> Result<(), HeadlessError> {
    let read = &event.read;
    let time = chrono::DateTime::<chrono::Utc>::from(event.wall_time);
    let stamp = options.locator.as_ref().and_then(|l| l.at(time));
    match stamp {
        Some(_) => fixes.with += 1,
        None => fixes.without += 1,
    }
    let state = read.state.as_ref().and_then(|s| s.state);
    let judged = scorer.and_then(|s| s.observe(read.best_seq, &read.bbox, &read.text, state));
    let line = ReadLine {
        r#type: "read",
        camera: event.camera,
        camera_name: &event.camera_name,
        time: time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        text: &read.text,
        confidence: (read.confidence * 1000.0).round() / 1000.0,
        frames: read.frames,
        track: read.track_id,
        bbox: read.bbox,
        candidates: &read.candidates,
        state: read.state.as_ref(),
        sim_vehicle: judged.map(|j| j.0),
        sim_correct: judged.map(|j| j.1),
        lat: stamp.map(|s| (s.fix.lat * 1e7).round() / 1e7),
        lon: stamp.map(|s| (s.fix.lon * 1e7).round() / 1e7),
        fix_age_ms: stamp.map(|s| s.fix_age_ms),
    };
    writeln!(out, "{}", serde_json::to_string(&line).map_err(std::io::Error::other)?)?;
    if let Some(recorder) = options.recorder.as_mut() {
        recorder.record(event);
    }
    Ok(())
}

fn write_status(out: &mut dyn Write, status: &CameraStatus) -> Result<(), HeadlessError> {
    let line = StatusLine { r#type: "camera_status", status };
    writeln!(out, "{}", serde_json::to_string(&line).map_err(std::io::Error::other)?)?;
    Ok(())
}
