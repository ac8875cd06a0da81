//! The matcher: the worker between the pipeline's tracker and the console. It takes each
//! published read, matches it against the hot lists in force, commits the read and, for a new
//! hit, the hit with its evidence through the store's writer, and only then tells the console
//! (`Matched`). Hits are raised and stored whether or not the screen is drawing: a minimized,
//! occluded or stalled window no longer holds up a hit or loses a read.
//!
//! The console tells it what changes the rules (`MatcherCommand`): whether ALPR is recording
//! and for whom, each hit decision (so the same plate does not alarm again while its hit is
//! open or quiet after a decision), and a new shift. Commands are taken before each read, so a
//! read that arrives after "deactivate" is never recorded.

use std::io::Cursor;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use crossbeam_channel::{Receiver, Sender, bounded, select};

use super::{Clock, RecentRead};
use crate::hits::{AlertQueue, HitRecord, Raised};
use crate::hotlist::{Hit, Hotlists, ReadCandidate, ReadQuery};
use crate::location::Locator;
use crate::pipeline::{ReadEvent, Wake};
use crate::store::{NewRead, Store};

/// How often the patrol track gets a point.
const TRACK_EVERY: Duration = Duration::from_secs(5);

/// What the console tells the matcher.
#[derive(Debug, Clone)]
pub enum MatcherCommand {
    /// ALPR records reads for this officer in this shift (`None`: off: logged off,
    /// checklist, deactivated).
    Recording(Option<(String, i64)>),
    /// A hit changed state (a decision starts its quiet period).
    Decided(Box<HitRecord>),
    /// A new shift: no open hits, no quiet periods, with this quiet period after a decision.
    Reset(chrono::Duration),
}

/// What the matcher tells the console, after the store committed it.
#[derive(Debug)]
pub enum Matched {
    /// A read that raised no new hit (`hit_id` set when it repeats an open or decided hit),
    /// with how long it took to commit.
    Read(RecentRead, Timing),
    /// A new hit, its read stored first as evidence.
    Hit(Box<NewHit>),
    /// A read or hit that could not be stored (shown as a notice; the read stays on screen).
    Failed(String),
}

/// A hit the matcher raised and the store committed.
#[derive(Debug)]
pub struct NewHit {
    /// The stored hit.
    pub record: HitRecord,
    /// Its hot-list entry fingerprint (the quiet period's key).
    pub entry: String,
    /// The matches.
    pub hit: Hit,
    /// The read, with its store id.
    pub read: RecentRead,
    /// Which camera and frame it came from (to find the frame to show).
    pub camera: usize,
    /// The frame's sequence number.
    pub frame_seq: u64,
    /// When the matcher received the read.
    pub received: Instant,
    /// How long it took to commit.
    pub timing: Timing,
}

/// How long a read or a hit took to be committed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// From the capture of the frame on which the tracker closed the vehicle's pass (the
    /// first moment the read could exist) to the read or hit committed, in ms: recognition,
    /// tracking, matching and the store's commit.
    pub frame_ms: f64,
    /// From the last frame showing the vehicle to the read or hit committed, in ms: the
    /// above plus the tracker's wait to be sure the vehicle has left.
    pub latency_ms: f64,
    /// From the matcher receiving the read to the read or hit committed (the matcher's own
    /// time: matching, encoding the crop, the store's writer), in ms.
    pub commit_ms: f64,
}

impl Timing {
    fn since(event: &ReadEvent, received: Instant) -> Self {
        Self {
            frame_ms: event.closed_at.elapsed().as_secs_f64() * 1000.0,
            latency_ms: event.read.last_seen.elapsed().as_secs_f64() * 1000.0,
            commit_ms: received.elapsed().as_secs_f64() * 1000.0,
        }
    }
}

/// The running matcher: a named thread, stopped and joined on drop.
pub struct Matcher {
    reads: Option<Sender<ReadEvent>>,
    commands: Option<Sender<MatcherCommand>>,
    handle: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matcher").field("running", &self.handle.is_some()).finish()
    }
}

/// Everything the worker owns.
struct Worker {
    store: Arc<Store>,
    hotlists: Arc<Hotlists>,
    locator: Option<Arc<Locator>>,
    clock: Clock,
    recording: Option<(String, i64)>,
    queue: AlertQueue,
    out: Sender<Matched>,
    signals: MatcherSignals,
}

/// Called on the matcher's thread with the priority of a hit the moment it is committed and
/// alarms (the most urgent open hit): the screen starts the alert tone from it, so the tone
/// does not wait for a frame to be drawn.
pub type HitHook = Arc<dyn Fn(i32) + Send + Sync>;

/// Where the screen's [`HitHook`] is kept: shared with a running matcher, so a hook set
/// after the matcher started is used from the next hit on.
pub type HitHookSlot = Arc<std::sync::RwLock<Option<HitHook>>>;

/// How the matcher tells the screen that something happened.
#[derive(Clone, Default)]
pub struct MatcherSignals {
    /// Asks the screen to draw (news in the channel).
    pub wake: Option<Wake>,
    /// Starts the alarm for a new hit (see [`HitHook`]).
    pub on_hit: HitHookSlot,
}

impl std::fmt::Debug for MatcherSignals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatcherSignals")
            .field("wake", &self.wake.is_some())
            .field("on_hit", &self.on_hit.read().is_ok_and(|hook| hook.is_some()))
            .finish()
    }
}

impl Matcher {
    /// Starts the worker. `out` carries what it matched to the console (bounded: when the
    /// console falls far behind, the worker waits rather than drop a hit); `signals` ask the
    /// screen to draw and start the alarm.
    pub fn start(
        store: Arc<Store>,
        hotlists: Arc<Hotlists>,
        locator: Option<Arc<Locator>>,
        clock: Clock,
        quiet: chrono::Duration,
        out: Sender<Matched>,
        signals: MatcherSignals,
    ) -> std::io::Result<Self> {
        let (reads_tx, reads_rx) = bounded::<ReadEvent>(256);
        let (commands_tx, commands_rx) = bounded::<MatcherCommand>(256);
        let queue = AlertQueue::with_quiet_period(quiet);
        let worker = Worker { store, hotlists, locator, clock, recording: None, queue, out, signals };
        let handle =
            std::thread::Builder::new().name("matcher".into()).spawn(move || worker.run(&reads_rx, &commands_rx))?;
        Ok(Self { reads: Some(reads_tx), commands: Some(commands_tx), handle: Some(handle) })
    }

    /// Where the pipeline sends its reads.
    pub fn reads(&self) -> Option<Sender<ReadEvent>> {
        self.reads.clone()
    }

    /// Tells the worker; false when it has stopped.
    pub fn send(&self, command: MatcherCommand) -> bool {
        self.commands.as_ref().is_some_and(|tx| tx.send(command).is_ok())
    }
}

impl Drop for Matcher {
    fn drop(&mut self) {
        // Closing both inputs ends the worker's loop once it has drained what it holds.
        self.reads.take();
        self.commands.take();
        if let Some(handle) = self.handle.take()
            && handle.join().is_err()
        {
            tracing::error!("the matcher thread panicked");
        }
    }
}

impl Worker {
    fn run(mut self, reads: &Receiver<ReadEvent>, commands: &Receiver<MatcherCommand>) {
        // The patrol track: where the car is, every few seconds while ALPR records.
        let track_tick = crossbeam_channel::tick(TRACK_EVERY);
        loop {
            // Commands first: a read never overtakes the command sent before it.
            while let Ok(command) = commands.try_recv() {
                self.command(command);
            }
            select! {
                recv(commands) -> command => match command {
                    Ok(command) => self.command(command),
                    Err(_) => break,
                },
                recv(reads) -> read => match read {
                    Ok(read) => {
                        while let Ok(command) = commands.try_recv() {
                            self.command(command);
                        }
                        self.read(read);
                    }
                    Err(_) => break,
                },
                recv(track_tick) -> _ => self.track_point(),
            }
        }
    }

    fn command(&mut self, command: MatcherCommand) {
        match command {
            MatcherCommand::Recording(officer) => self.recording = officer,
            MatcherCommand::Decided(hit) => self.queue.update(&hit, self.clock.now()),
            MatcherCommand::Reset(quiet) => self.queue = AlertQueue::with_quiet_period(quiet),
        }
    }

    fn track_point(&self) {
        let (Some((_, shift_id)), Some(locator)) = (&self.recording, &self.locator) else { return };
        let Some(stamp) = locator.at(self.clock.now()) else { return };
        if let Err(err) = self.store.record_track_point(*shift_id, stamp.fix) {
            self.send(Matched::Failed(format!("cannot store the patrol track: {err}")));
        }
    }

    fn send(&self, matched: Matched) {
        // The console gone (shutting down) is the only way this fails; nothing to tell then.
        if self.out.send_timeout(matched, Duration::from_secs(5)).is_ok()
            && let Some(wake) = &self.signals.wake
        {
            wake();
        }
    }

    fn read(&mut self, event: ReadEvent) {
        let received = Instant::now();
        // ALPR off (checklist, deactivated, logged off): nothing is kept.
        let Some((officer, _)) = self.recording.clone() else { return };
        let read = &event.read;
        let time = DateTime::<Utc>::from(event.wall_time);
        let candidates: Vec<ReadCandidate<'_>> =
            read.candidates.iter().map(|c| ReadCandidate { text: &c.text, confidence: c.confidence }).collect();
        // The state as read (never the entry's): `None` is "unknown" and no hit on an entry
        // with a state is then called exact.
        let state = read.state.as_ref().and_then(|s| s.state);
        let hit = self.hotlists.match_read(&ReadQuery { candidates: &candidates, state, now: time });
        let crop = Arc::new(read.crop.clone());
        // Where the car was at the read's time: interpolated between fixes, or none.
        let gps = self.locator.as_ref().and_then(|l| l.at(time)).map(|stamp| stamp.fix);
        let new = NewRead {
            time,
            camera: event.camera_name.clone(),
            officer: Some(officer.clone()),
            plate: read.text.clone(),
            confidence: read.confidence,
            candidates_json: serde_json::to_string(&read.candidates).unwrap_or_else(|_| "[]".into()),
            state: state.map(str::to_owned),
            gps,
            crop_png: encode_png(&crop),
        };
        // Committed before anything is said about it: a hit's read is its evidence.
        let id = match self.store.insert_read(new) {
            Ok(id) => id,
            Err(err) => {
                self.send(Matched::Failed(format!("cannot store the read of {}: {err}", read.text)));
                0
            }
        };
        let mut recent = RecentRead {
            id,
            time,
            text: read.text.clone(),
            confidence: read.confidence,
            camera: event.camera_name.clone(),
            crop,
            hit_id: None,
            gps,
            state: state.map(str::to_owned),
        };
        let Some((hit, top)) = hit.and_then(|h| h.top().cloned().map(|top| (h, top))) else {
            self.send(Matched::Read(recent, Timing::since(&event, received)));
            return;
        };
        let now = self.clock.now();
        let entry = top.entry.fingerprint();
        match self.queue.offer(&top.entry.plate, &entry, now) {
            // Seen again while its hit is open, or soon after it was decided: stored above and
            // shown on that hit, without a new alarm.
            Raised::Repeat(known) | Raised::Quiet(known) => {
                recent.hit_id = Some(known);
                self.send(Matched::Read(recent, Timing::since(&event, received)));
            }
            Raised::New => {
                let record = HitRecord::new(
                    (id > 0).then_some(id),
                    &top.entry.plate,
                    &top.entry.list,
                    i32::from(top.entry.priority),
                    Some(&officer),
                    time.max(now - chrono::Duration::seconds(5)),
                );
                match self.store.insert_hit(record.clone()) {
                    Ok(hit_id) => {
                        let mut record = record;
                        record.id = hit_id;
                        self.queue.push_on(record.clone(), &entry);
                        // The alarm starts now, committed and the most urgent, whether or not
                        // the screen is drawing.
                        if self.queue.alarming().is_some_and(|h| h.id == hit_id)
                            && let Ok(hook) = self.signals.on_hit.read()
                            && let Some(on_hit) = hook.as_ref()
                        {
                            on_hit(record.priority);
                        }
                        recent.hit_id = Some(hit_id);
                        let timing = Timing::since(&event, received);
                        self.send(Matched::Hit(Box::new(NewHit {
                            record,
                            entry,
                            hit,
                            read: recent,
                            camera: event.camera,
                            frame_seq: read.best_seq,
                            received,
                            timing,
                        })));
                    }
                    Err(err) => {
                        self.send(Matched::Failed(format!("HIT on {} could not be stored: {err}", top.entry.plate)));
                        self.send(Matched::Read(recent, Timing::since(&event, received)));
                    }
                }
            }
        }
    }
}

fn encode_png(image: &image::RgbImage) -> Option<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).ok()?;
    Some(out.into_inner())
}
