//! The real-time recognition pipeline: cameras in, one read per vehicle pass out.
//!
//! ```text
//! capture thread per camera --bounded(1), newest frame wins--> recognition workers (pool)
//!   health monitor, reconnect       (dropped frames counted)     PlateReader per frame
//!                                                                      |
//!                                                          bounded results channel
//!                                                                      v
//!   read events (bounded, per subscriber) <-- tracker thread (one read per vehicle pass)
//!   overlay (newest wins)                     per-frame results for the live view
//! ```
//!
//! A slow reader never blocks capture: each camera's frame slot holds only the newest frame
//! and a displaced one is counted as dropped, so memory stays flat. Workers pick frames from
//! every camera's slot. The tracker publishes each finished pass to every read subscriber
//! (matcher, UI, store) and calls the wake-up callback (the UI passes `request_repaint`). A
//! camera watchdog thread raises "no frames" when a camera goes quiet. [`Pipeline`] owns all
//! threads: dropping it stops capture, lets the workers and the tracker drain (the tracker
//! flushes its open tracks as final reads), and joins everything.

pub mod headless;
pub mod stats;

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use crossbeam_channel::{Receiver, RecvTimeoutError, Select, SendTimeoutError, Sender, TrySendError, bounded};
use image::RgbImage;

use crate::camera::health::{CameraStatus, HealthConfig, HealthMonitor, measure};
use crate::camera::{Frame, FrameSource, SourceError};
use crate::recognize::PlateRead;
use crate::recognize::tracker::{TrackedRead, Tracker, TrackerConfig};
use stats::bump;
pub use stats::{PipelineStats, StatsSnapshot};

/// Reads the plates in one frame. The recognizer implements it; tests use doubles.
pub trait PlateReader: Send + Sync {
    /// Every plate in `frame`, from camera number `camera` (readers that follow plates from
    /// frame to frame keep their state per camera).
    fn read_plates(&self, camera: usize, frame: &Frame) -> Result<Vec<PlateRead>, String>;
}

impl PlateReader for crate::recognize::Recognizer {
    fn read_plates(&self, _camera: usize, frame: &Frame) -> Result<Vec<PlateRead>, String> {
        self.recognize(&frame.image).map_err(|e| e.to_string())
    }
}

// The camera reader is implemented here, not in `recognize`: the pipeline uses recognition,
// never the other way round.
impl PlateReader for crate::recognize::video::VideoReader {
    fn read_plates(&self, camera: usize, frame: &Frame) -> Result<Vec<PlateRead>, String> {
        self.read_frame(camera, &frame.image, frame.captured_at).map_err(|e| e.to_string())
    }
}

/// The UI's wake-up call (`egui::Context::request_repaint`), called after sending it something.
pub type Wake = Arc<dyn Fn() + Send + Sync>;

/// Pipeline settings.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineConfig {
    /// Recognition workers.
    pub workers: usize,
    /// Tracker settings.
    pub tracker: TrackerConfig,
    /// Health rules.
    pub health: HealthConfig,
    /// First wait before reopening a lost camera; doubles on each failure.
    pub reconnect_initial_millis: u64,
    /// Longest wait between reopen attempts.
    pub reconnect_max_millis: u64,
    /// Per-frame results waiting for the tracker.
    pub result_capacity: usize,
    /// How long a read event waits for room in a subscriber's channel before it is counted
    /// as undelivered.
    pub send_timeout_millis: u64,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            workers: std::thread::available_parallelism().map_or(2, usize::from),
            tracker: TrackerConfig::default(),
            health: HealthConfig::default(),
            reconnect_initial_millis: 250,
            reconnect_max_millis: 5000,
            result_capacity: 32,
            send_timeout_millis: 1000,
        }
    }
}

/// One vehicle pass read by a camera.
#[derive(Debug, Clone)]
pub struct ReadEvent {
    /// Camera index.
    pub camera: usize,
    /// Camera name.
    pub camera_name: String,
    /// The voted read.
    pub read: TrackedRead,
    /// Wall-clock capture time of the read's best frame.
    pub wall_time: SystemTime,
    /// When the tracker closed the pass: the capture time of the frame that showed the
    /// vehicle gone (or the moment its clock ran out with no frame arriving). The latency an
    /// officer feels is counted from here: the read could not be published earlier.
    pub closed_at: Instant,
}

/// One frame's per-frame reads, for the live overlay.
#[derive(Debug, Clone)]
pub struct FrameReads {
    /// Camera index.
    pub camera: usize,
    /// Frame sequence number.
    pub seq: u64,
    /// The frame.
    pub image: Arc<RgbImage>,
    /// What the reader found.
    pub reads: Vec<PlateRead>,
    /// The track of each read.
    pub track_ids: Vec<u64>,
}

/// Where the pipeline's output goes. Channels are made (bounded) by the receivers.
#[derive(Clone, Default)]
pub struct Outputs {
    /// Read-event subscribers: matcher, UI, store.
    pub reads: Vec<Sender<ReadEvent>>,
    /// Camera status subscribers: checklist, alerts.
    pub statuses: Vec<Sender<CameraStatus>>,
    /// The live overlay (newest frame wins).
    pub overlay: Option<(Sender<FrameReads>, Receiver<FrameReads>)>,
    /// Called after anything is sent.
    pub wake: Option<Wake>,
}

impl Outputs {
    fn wake(&self) {
        if let Some(wake) = &self.wake {
            wake();
        }
    }
}

/// A thread could not be started.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// No sources were given.
    #[error("no frame sources to run")]
    NoSources,
    /// The OS refused a thread.
    #[error("cannot start thread {name}: {source}")]
    Spawn {
        /// The thread's name.
        name: String,
        /// Why.
        source: std::io::Error,
    },
}

fn spawn(name: String, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, PipelineError> {
    std::thread::Builder::new().name(name.clone()).spawn(f).map_err(|source| PipelineError::Spawn { name, source })
}

/// A frame on its way from a worker to the tracker.
struct FrameResult {
    camera: usize,
    frame: Frame,
    reads: Vec<PlateRead>,
}

/// The running pipeline; dropping it stops and joins every thread (see the module docs).
pub struct Pipeline {
    stop: Arc<AtomicBool>,
    stats: Arc<PipelineStats>,
    capture: Vec<JoinHandle<()>>,
    workers: Vec<JoinHandle<()>>,
    tracker: Option<JoinHandle<()>>,
    watchdog: Option<JoinHandle<()>>,
    frame_queues: Vec<Receiver<Frame>>,
    result_queue: Receiver<FrameResult>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline").field("cameras", &self.capture.len()).field("workers", &self.workers.len()).finish()
    }
}

impl Pipeline {
    /// Starts capture on every source, the workers, the tracker and the watchdog.
    pub fn start(
        config: PipelineConfig,
        sources: Vec<Box<dyn FrameSource>>,
        reader: Arc<dyn PlateReader>,
        outputs: Outputs,
    ) -> Result<Self, PipelineError> {
        if sources.is_empty() {
            return Err(PipelineError::NoSources);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(PipelineStats::default());
        let (result_tx, result_rx) = bounded::<FrameResult>(config.result_capacity.max(1));
        let now = Instant::now();
        let names: Vec<String> = sources.iter().map(|s| s.name().to_string()).collect();
        let monitors: Vec<Arc<Mutex<HealthMonitor>>> = names
            .iter()
            .enumerate()
            .map(|(i, name)| Arc::new(Mutex::new(HealthMonitor::new(i, name, config.health.clone(), now))))
            .collect();

        // Capture and the watchdog only send statuses: they must not keep the read channels
        // open after the tracker has finished.
        let status_outputs = Outputs {
            reads: Vec::new(),
            statuses: outputs.statuses.clone(),
            overlay: None,
            wake: outputs.wake.clone(),
        };
        let mut pipeline = Self {
            stop: stop.clone(),
            stats: stats.clone(),
            capture: Vec::new(),
            workers: Vec::new(),
            tracker: None,
            watchdog: None,
            frame_queues: Vec::new(),
            result_queue: result_rx.clone(),
        };
        // Capture first; if a later spawn fails, dropping `pipeline` stops what started.
        for (camera, source) in sources.into_iter().enumerate() {
            let (tx, rx) = bounded::<Frame>(1);
            pipeline.frame_queues.push(rx.clone());
            let ctx = CaptureContext {
                camera,
                stop: stop.clone(),
                stats: stats.clone(),
                monitor: monitors[camera].clone(),
                outputs: status_outputs.clone(),
                config: config.clone(),
            };
            pipeline.capture.push(spawn(format!("capture-{camera}"), move || capture_loop(source, tx, rx, ctx))?);
        }
        for index in 0..config.workers.max(1) {
            let queues: Vec<(usize, Receiver<Frame>)> = pipeline.frame_queues.iter().cloned().enumerate().collect();
            let (reader, stats, stop, results) = (reader.clone(), stats.clone(), stop.clone(), result_tx.clone());
            let timeout = Duration::from_millis(config.send_timeout_millis);
            pipeline.workers.push(spawn(format!("recognize-{index}"), move || {
                worker(index, queues, &*reader, &stats, &stop, &results, timeout)
            })?);
        }
        drop(result_tx);
        let tracker_ctx = TrackerContext { names, stats: stats.clone(), outputs, config: config.clone() };
        pipeline.tracker = Some(spawn("tracker".into(), move || tracker_loop(result_rx, tracker_ctx))?);
        let watch_stop = stop.clone();
        pipeline.watchdog =
            Some(spawn("camera-watchdog".into(), move || watchdog(monitors, watch_stop, status_outputs))?);
        Ok(pipeline)
    }

    /// The counters now.
    pub fn stats(&self) -> StatsSnapshot {
        let depth = self.frame_queues.iter().map(Receiver::len).sum::<usize>() + self.result_queue.len();
        self.stats.snapshot(depth)
    }

    /// True once every source has ended and the tracker has published its last read.
    pub fn is_finished(&self) -> bool {
        self.capture.iter().all(JoinHandle::is_finished) && self.tracker.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Stops capture, lets the rest drain, joins every thread; returns the final counters.
    pub fn shutdown(mut self) -> StatsSnapshot {
        self.stop_and_join();
        self.stats()
    }

    fn stop_and_join(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Order matters: capture ends (dropping the frame senders), so workers see their
        // queues close, so the tracker sees its results close and flushes.
        for handle in
            self.capture.drain(..).chain(self.workers.drain(..)).chain(self.tracker.take()).chain(self.watchdog.take())
        {
            let name = handle.thread().name().unwrap_or("pipeline").to_string();
            if handle.join().is_err() {
                tracing::error!(thread = %name, "pipeline thread panicked");
            }
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

struct CaptureContext {
    camera: usize,
    stop: Arc<AtomicBool>,
    stats: Arc<PipelineStats>,
    monitor: Arc<Mutex<HealthMonitor>>,
    outputs: Outputs,
    config: PipelineConfig,
}

impl CaptureContext {
    fn publish(&self, status: Option<CameraStatus>) {
        let Some(status) = status else { return };
        tracing::info!(camera = status.camera, name = %status.name, problems = ?status.problems, "camera status");
        send_status(&self.outputs, status);
    }

    fn monitor(&self) -> std::sync::MutexGuard<'_, HealthMonitor> {
        self.monitor.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sleeps up to `wait`, waking early when asked to stop.
    fn pause(&self, wait: Duration) {
        let end = Instant::now() + wait;
        while !self.stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            if now >= end {
                break;
            }
            std::thread::sleep((end - now).min(Duration::from_millis(50)));
        }
    }
}

fn send_status(outputs: &Outputs, status: CameraStatus) {
    for tx in &outputs.statuses {
        // Status changes are rare; a subscriber that is this far behind is gone or stuck.
        let _ = tx.send_timeout(status.clone(), Duration::from_millis(100));
    }
    outputs.wake();
}

/// A camera's capture loop: open (with backoff), read frames, check health, hand the newest
/// frame to the workers.
fn capture_loop(mut source: Box<dyn FrameSource>, tx: Sender<Frame>, rx: Receiver<Frame>, ctx: CaptureContext) {
    let initial = Duration::from_millis(ctx.config.reconnect_initial_millis.max(1));
    let mut backoff = initial;
    let mut open = false;
    while !ctx.stop.load(Ordering::Relaxed) {
        if !open {
            match source.open() {
                Ok(()) => {
                    open = true;
                    backoff = initial;
                }
                Err(err) => {
                    tracing::warn!(camera = ctx.camera, %err, retry_ms = backoff.as_millis() as u64, "camera cannot be opened");
                    let status = ctx.monitor().observe_error(&err.to_string(), Instant::now());
                    ctx.publish(status);
                    ctx.pause(backoff);
                    backoff = (backoff * 2).min(Duration::from_millis(ctx.config.reconnect_max_millis));
                    continue;
                }
            }
        }
        match source.next_frame() {
            Ok(frame) => {
                bump(&ctx.stats.captured);
                let measured = measure(&frame.image);
                let status = ctx.monitor().observe_frame(measured, frame.captured_at);
                ctx.publish(status);
                if !hand_over(&tx, &rx, frame, &ctx.stats) {
                    break;
                }
            }
            Err(SourceError::Corrupt { reason, .. }) => {
                bump(&ctx.stats.corrupt);
                tracing::debug!(camera = ctx.camera, %reason, "corrupt frame skipped");
            }
            Err(SourceError::Timeout) => {}
            Err(SourceError::EndOfStream) => {
                tracing::info!(camera = ctx.camera, "source ended");
                break;
            }
            Err(err) => {
                tracing::warn!(camera = ctx.camera, %err, "camera lost; reopening");
                let status = ctx.monitor().observe_error(&err.to_string(), Instant::now());
                ctx.publish(status);
                open = false;
                ctx.pause(backoff);
            }
        }
    }
}

/// Puts `frame` in the camera's one-frame slot, displacing (and counting) an older one.
/// Returns false when no worker is left to take frames.
fn hand_over(tx: &Sender<Frame>, rx: &Receiver<Frame>, frame: Frame, stats: &PipelineStats) -> bool {
    match tx.try_send(frame) {
        Ok(()) => true,
        Err(TrySendError::Disconnected(_)) => false,
        Err(TrySendError::Full(frame)) => {
            if rx.try_recv().is_ok() {
                bump(&stats.dropped);
            }
            // A worker may have taken the old frame meanwhile; either way there is room now
            // unless another worker raced us, in which case this frame is the one dropped.
            if tx.try_send(frame).is_err() {
                bump(&stats.dropped);
            }
            true
        }
    }
}

/// A recognition worker. A panic in the reader is caught, logged and counted, and the worker
/// loop starts afresh on the same thread, so the pool never shrinks.
fn worker(
    index: usize,
    mut queues: Vec<(usize, Receiver<Frame>)>,
    reader: &dyn PlateReader,
    stats: &PipelineStats,
    stop: &AtomicBool,
    results: &Sender<FrameResult>,
    send_timeout: Duration,
) {
    loop {
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            worker_loop(&mut queues, reader, stats, stop, results, send_timeout)
        }));
        match outcome {
            Ok(()) => return,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                bump(&stats.worker_panics);
                tracing::error!(worker = index, panic = %what, "recognition worker panicked; restarting it");
            }
        }
    }
}

fn worker_loop(
    queues: &mut Vec<(usize, Receiver<Frame>)>,
    reader: &dyn PlateReader,
    stats: &PipelineStats,
    stop: &AtomicBool,
    results: &Sender<FrameResult>,
    send_timeout: Duration,
) {
    while !queues.is_empty() && !stop.load(Ordering::Relaxed) {
        let mut select = Select::new();
        for (_, queue) in queues.iter() {
            select.recv(queue);
        }
        let Ok(op) = select.select_timeout(Duration::from_millis(100)) else {
            continue;
        };
        let slot = op.index();
        let camera = queues[slot].0;
        let received = op.recv(&queues[slot].1);
        drop(select);
        let Ok(frame) = received else {
            // That camera's capture ended: stop watching its queue.
            queues.remove(slot);
            continue;
        };
        let reads = match reader.read_plates(camera, &frame) {
            Ok(reads) => reads,
            Err(reason) => {
                bump(&stats.reader_errors);
                tracing::warn!(camera, seq = frame.seq, %reason, "reading a frame failed");
                Vec::new()
            }
        };
        bump(&stats.processed);
        stats.latency.record(frame.captured_at.elapsed());
        match results.send_timeout(FrameResult { camera, frame, reads }, send_timeout) {
            Ok(()) => {}
            Err(SendTimeoutError::Timeout(_)) => {
                tracing::warn!("tracker is not keeping up; a frame's reads were skipped")
            }
            Err(SendTimeoutError::Disconnected(_)) => return,
        }
    }
}

struct TrackerContext {
    names: Vec<String>,
    stats: Arc<PipelineStats>,
    outputs: Outputs,
    config: PipelineConfig,
}

/// Turns per-frame reads into vehicle-pass reads and publishes them.
fn tracker_loop(results: Receiver<FrameResult>, ctx: TrackerContext) {
    let mut trackers: Vec<Tracker> = ctx.names.iter().map(|_| Tracker::new(ctx.config.tracker.clone())).collect();
    let mut subscribers = ctx.outputs.reads.clone();
    // The tracker runs on capture time; with no frames arriving, time advances by the wall
    // clock since the newest frame was received, so tracks still end on time.
    let mut clock: Vec<Option<(Instant, Instant)>> = vec![None; trackers.len()];
    let timeout = Duration::from_millis(ctx.config.send_timeout_millis);
    loop {
        match results.recv_timeout(Duration::from_millis(100)) {
            Ok(result) => {
                let Some(tracker) = trackers.get_mut(result.camera) else {
                    continue;
                };
                let update = tracker.update(result.frame.seq, result.frame.captured_at, &result.reads);
                let latest =
                    clock[result.camera].map_or(result.frame.captured_at, |(t, _)| t.max(result.frame.captured_at));
                clock[result.camera] = Some((latest, Instant::now()));
                if let Some((tx, rx)) = &ctx.outputs.overlay {
                    let overlay = FrameReads {
                        camera: result.camera,
                        seq: result.frame.seq,
                        image: result.frame.image.clone(),
                        reads: result.reads,
                        track_ids: update.track_ids,
                    };
                    // Newest wins: the overlay only ever needs the latest frame.
                    if let Err(TrySendError::Full(overlay)) = tx.try_send(overlay) {
                        let _ = rx.try_recv();
                        let _ = tx.try_send(overlay);
                    }
                    ctx.outputs.wake();
                }
                let clock = (result.frame.captured_at, result.frame.wall_time);
                publish(&ctx, &mut subscribers, result.camera, update.finished, clock, timeout);
            }
            Err(RecvTimeoutError::Timeout) => {
                for (camera, tracker) in trackers.iter_mut().enumerate() {
                    let Some((latest, received)) = clock[camera] else {
                        continue;
                    };
                    let finished = tracker.expire(latest + received.elapsed());
                    publish(&ctx, &mut subscribers, camera, finished, (Instant::now(), SystemTime::now()), timeout);
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                for (camera, tracker) in trackers.iter_mut().enumerate() {
                    let finished = tracker.flush();
                    publish(&ctx, &mut subscribers, camera, finished, (Instant::now(), SystemTime::now()), timeout);
                }
                return;
            }
        }
    }
}

/// Sends finished tracks to every subscriber. `clock` is one moment on both clocks (a frame's
/// capture, or now), from which each read's wall time is derived.
fn publish(
    ctx: &TrackerContext,
    subscribers: &mut Vec<Sender<ReadEvent>>,
    camera: usize,
    finished: Vec<TrackedRead>,
    clock: (Instant, SystemTime),
    timeout: Duration,
) {
    if finished.is_empty() {
        return;
    }
    let (at, wall) = clock;
    for read in finished {
        let back = at.saturating_duration_since(read.best_at);
        let wall_time = wall.checked_sub(back).unwrap_or(wall);
        deliver(
            ctx,
            subscribers,
            ReadEvent { camera, camera_name: ctx.names[camera].clone(), read, wall_time, closed_at: at },
            timeout,
        );
    }
    ctx.outputs.wake();
}

fn deliver(ctx: &TrackerContext, subscribers: &mut Vec<Sender<ReadEvent>>, event: ReadEvent, timeout: Duration) {
    bump(&ctx.stats.reads);
    subscribers.retain(|tx| match tx.send_timeout(event.clone(), timeout) {
        Ok(()) => true,
        Err(SendTimeoutError::Timeout(_)) => {
            bump(&ctx.stats.undelivered);
            tracing::warn!(text = %event.read.text, "a read subscriber is not keeping up; read not delivered to it");
            true
        }
        // The subscriber has gone away (screen closed): stop sending to it.
        Err(SendTimeoutError::Disconnected(_)) => false,
    });
}

/// Judges "no frames" for every camera on a timer: a stalled camera produces nothing for its
/// capture thread to observe.
fn watchdog(monitors: Vec<Arc<Mutex<HealthMonitor>>>, stop: Arc<AtomicBool>, outputs: Outputs) {
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(200));
        for monitor in &monitors {
            let status = monitor.lock().unwrap_or_else(std::sync::PoisonError::into_inner).tick(Instant::now());
            if let Some(status) = status {
                tracing::info!(camera = status.camera, problems = ?status.problems, "camera status");
                send_status(&outputs, status);
            }
        }
    }
}
