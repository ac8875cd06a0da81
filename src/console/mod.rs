//! The shift controller behind the officer console: log-on, the shift-start checklist and
//! hot-list update, going active, matching reads into hits, the hit workflow, deactivation,
//! the idle lock and log-off. It owns the store, the pipeline and the hot lists.
//!
//! No egui here: the screens draw a [`Console`] and send it [`Command`]s; every rule it
//! applies comes from the policy core (`session`, `hits`, `hotlist`), and every decision is
//! written to the store with its audit row. That keeps the whole officer workflow testable
//! without a display, and the UI thin.

mod activity;
pub mod admin;
mod cameras;
pub mod demo;
mod frames;
mod hit_desk;
pub mod matcher;
pub mod oversight;
pub mod recorder;
mod shift;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Utc};
use crossbeam_channel::{Receiver, Sender, bounded};
use image::RgbImage;

use crate::camera::health::CameraStatus;
use crate::camera::{CaptureFormat, SourceSpec};
use crate::config::{AppPaths, Config};
use crate::hits::{HitAction, HitRecord};
use crate::hotlist::{BackgroundJob, Hit, Hotlists, ListStatus};
use crate::pipeline::{FrameReads, Pipeline, PlateReader, ReadEvent, StatsSnapshot, Wake};
use crate::session::checklist::{AutoCheck, Verdict};
use crate::session::{AccountRules, Session};
use crate::store::{Store, StoreKeys};

/// Where the officer is in the shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Nobody logged on.
    Login,
    /// Logged on: inspecting cameras and receiving the hot list.
    Checklist,
    /// ALPR running (or deactivated with a reason) for the rest of the shift.
    Patrol,
    /// No camera passed the inspection: ALPR unavailable, report filed.
    Unavailable,
}

/// A source of "now": the system clock, or a hand-driven one for tests.
#[derive(Clone)]
pub struct Clock(Arc<Mutex<Option<DateTime<Utc>>>>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(Arc::new(Mutex::new(None)))
    }

    /// A clock that stands at `start` until [`Clock::advance`] moves it.
    pub fn manual(start: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(Some(start))))
    }

    /// Now.
    pub fn now(&self) -> DateTime<Utc> {
        self.0.lock().ok().and_then(|t| *t).unwrap_or_else(Utc::now)
    }

    /// Moves a manual clock forward (no effect on the system clock).
    pub fn advance(&self, by: chrono::Duration) {
        if let Ok(mut t) = self.0.lock()
            && let Some(now) = t.as_mut()
        {
            *now += by;
        }
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.lock().ok().is_some_and(|t| t.is_some()) { "Clock(manual)" } else { "Clock(system)" })
    }
}

/// How to start the console.
#[derive(Clone)]
pub struct ConsoleOptions {
    /// Data and settings paths.
    pub paths: AppPaths,
    /// Settings.
    pub config: Config,
    /// Demo mode: simulator, demo hot list, demo users, a DEMO marker everywhere.
    pub demo: bool,
    /// The cameras (or recordings, or the simulator); empty: the `[cameras] sources` in
    /// force (the administrator's, else the settings file's), followed as they change.
    pub sources: Vec<SourceSpec>,
    /// Capture size and rate.
    pub format: CaptureFormat,
    /// Plates the simulator shows (the demo shows listed plates so hits happen).
    pub sim_plates: Vec<String>,
    /// The plate reader; `None` loads the recognizer on a background thread.
    pub reader: Option<Arc<dyn PlateReader>>,
    /// Now.
    pub clock: Clock,
}

/// A message for the officer: what went wrong or what happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// When.
    pub time: DateTime<Utc>,
    /// True for problems (shown in the alert colour).
    pub problem: bool,
    /// The message.
    pub text: String,
}

/// The shift-start hot-list update's outcome, as shown.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateReport {
    /// True when a new verified list was loaded or the current one is confirmed current.
    pub ok: bool,
    /// What happened, in words.
    pub message: String,
}

/// One camera as the console sees it.
#[derive(Debug, Clone)]
pub struct CameraState {
    /// Its name.
    pub name: String,
    /// The last health report.
    pub status: Option<CameraStatus>,
    /// The checklist verdict, once given.
    pub verdict: Option<Verdict>,
    /// Usable this shift (passed the checklist and not failed since).
    pub in_service: bool,
    /// Down mid-shift: (since, reason).
    pub down: Option<(DateTime<Utc>, String)>,
}

impl CameraState {
    /// The automatic checks from the last health report.
    pub fn auto_check(&self) -> AutoCheck {
        crate::session::checklist::auto_check(
            self.status.as_ref().map(|s| s.problems.as_slice()),
            self.status.as_ref().map_or(0.0, |s| s.fps),
        )
    }
}

/// A vehicle-pass read, for the recent-reads strip and the shift history.
#[derive(Debug, Clone)]
pub struct RecentRead {
    /// Store row id (0 if it could not be stored).
    pub id: i64,
    /// When.
    pub time: DateTime<Utc>,
    /// The plate text.
    pub text: String,
    /// Confidence 0-1.
    pub confidence: f32,
    /// Which camera.
    pub camera: String,
    /// The plate crop.
    pub crop: Arc<RgbImage>,
    /// The hit it raised or repeated, if any.
    pub hit_id: Option<i64>,
    /// Where the car was when it was read; `None`: no fix.
    pub gps: Option<crate::location::Fix>,
    /// The issuing state read (USPS code); `None`: not read with confidence.
    pub state: Option<String>,
}

impl RecentRead {
    /// The state as the screens show it: the code, or "state ?" when it was not read.
    pub fn state_label(&self) -> &str {
        self.state.as_deref().unwrap_or("state ?")
    }
}

/// Everything the hit screens show about one hit besides its record.
#[derive(Debug, Clone)]
pub struct HitDetail {
    /// The hot-list matches, most urgent first.
    pub hit: Hit,
    /// The read.
    pub read: RecentRead,
    /// The camera frame nearest the read, when still held.
    pub frame: Option<Arc<RgbImage>>,
    /// When the console received the read (for the read-to-banner latency).
    pub received: Instant,
    /// How the officer decided it, in the lifecycle's words ("misread: 8 read as B",
    /// "disposition: not_located"), once decided.
    pub decision: Option<String>,
}

/// What the screens ask the console to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Log on with officer id and PIN.
    LogOn {
        /// Officer id.
        officer: String,
        /// PIN.
        pin: String,
    },
    /// The officer's inspection of one camera.
    Inspect {
        /// Camera index.
        camera: usize,
        /// The answers and notes.
        inspection: crate::session::checklist::Inspection,
    },
    /// Run the hot-list update again.
    RetryUpdate,
    /// The officer acknowledges that the hot list is stale.
    AcknowledgeStale,
    /// Start ALPR for the shift.
    GoActive,
    /// Stop ALPR mid-shift, with a reason.
    Deactivate {
        /// Why.
        reason: String,
    },
    /// Start ALPR again.
    Reactivate,
    /// A step of the hit workflow.
    Hit {
        /// The hit.
        id: i64,
        /// The step.
        action: HitAction,
    },
    /// Lock the console now (the officer steps away); the PIN unlocks it.
    Lock,
    /// Unlock the idle-locked console with the PIN.
    Unlock {
        /// PIN.
        pin: String,
    },
    /// Search stored reads beyond this shift (purpose and case number are logged).
    Search {
        /// Plate.
        plate: String,
        /// Purpose.
        purpose: String,
        /// Case or incident number.
        case_number: String,
    },
    /// End the shift.
    LogOff,
}

/// Why a command did not happen. A refusal is the rules working (wrong step, no reason
/// given, a wrong PIN): the screen says why and nothing is wrong. A failure is the car's
/// equipment letting the officer down (a write the store could not make): shown, and logged
/// as an error for the ALPR Administrator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// Refused by a rule; nothing was changed.
    #[error("{0}")]
    Refused(String),
    /// Allowed, but it could not be done.
    #[error("{0}")]
    Failed(String),
}

impl CommandError {
    /// True for a failure (not a refusal).
    pub fn is_failure(&self) -> bool {
        matches!(self, Self::Failed(_))
    }
}

impl From<String> for CommandError {
    fn from(reason: String) -> Self {
        Self::Refused(reason)
    }
}

impl From<&str> for CommandError {
    fn from(reason: &str) -> Self {
        Self::Refused(reason.to_owned())
    }
}

impl From<crate::session::SessionError> for CommandError {
    fn from(err: crate::session::SessionError) -> Self {
        match err {
            crate::session::SessionError::Store(_) => Self::Failed(err.to_string()),
            other => Self::Refused(other.to_string()),
        }
    }
}

/// What a command did, for the screen that sent it.
pub type CommandResult = Result<(), CommandError>;

/// A search result row.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRow {
    /// When.
    pub time: DateTime<Utc>,
    /// Plate.
    pub plate: String,
    /// Camera.
    pub camera: String,
    /// Officer in the car.
    pub officer: String,
    /// Confidence.
    pub confidence: f32,
}

/// Reads kept for the shift history on screen.
const HISTORY_KEPT: usize = 500;

/// The running console (see the module docs).
pub struct Console {
    paths: AppPaths,
    config: Config,
    demo: bool,
    clock: Clock,
    store: Arc<Store>,
    stage: Stage,
    session: Option<Session>,
    /// This shift's cameras: health, checklist verdicts, in service, down.
    cameras: cameras::Cameras,
    sources: Vec<SourceSpec>,
    format: CaptureFormat,
    sim_plates: Vec<String>,
    pipeline: Option<Pipeline>,
    /// Matches, stores and raises hits off the UI thread (started at the first read source).
    matcher: Option<matcher::Matcher>,
    /// The car's position: stamps every read, shown in the status bar.
    locator: Option<Arc<crate::location::Locator>>,
    /// Where the car went this shift while active, for the map (a point per 20 m moved).
    trail: VecDeque<crate::location::Fix>,
    matched_tx: Sender<matcher::Matched>,
    matched_rx: Receiver<matcher::Matched>,
    /// What the matcher was last told about recording (to tell it only changes).
    recording_told: Option<Option<(String, i64)>>,
    /// Hot-list publications from the office already loaded (see `shift::poll`).
    office_lists_seen: u64,
    status_rx: Receiver<CameraStatus>,
    status_tx: Sender<CameraStatus>,
    overlay: (Sender<FrameReads>, Receiver<FrameReads>),
    wake: Option<Wake>,
    /// Starts the alert tone from the matcher's thread (the screen's hook).
    on_hit: matcher::HitHookSlot,
    reader: Option<Arc<dyn PlateReader>>,
    reader_job: Option<BackgroundJob<Result<Arc<dyn PlateReader>, String>>>,
    reader_error: Option<String>,
    hotlists: Arc<Hotlists>,
    update_job: Option<BackgroundJob<UpdateReport>>,
    update: Option<UpdateReport>,
    stale_acknowledged: bool,
    /// Active time, last input and the lock.
    activity: activity::Activity,
    /// This shift's hits: the open ones in alert order, all of them, their screens' details.
    hits: hit_desk::HitDesk,
    history: VecDeque<RecentRead>,
    /// The newest frame of each camera and the last few (for the hit screens).
    frames: frames::Frames,
    notices: Vec<Notice>,
    search: Vec<SearchRow>,
    oversight: oversight::Oversight,
    admin: admin::AdminData,
    sources_from_settings: bool,
    purge_scheduler: Option<crate::store::retention::PurgeScheduler>,
    /// Sends the outbox to the office and pulls accounts (a car joined to an office).
    fleet: Fleet,
}

/// The car's link to its office, as the status bar tells it.
#[derive(Debug)]
pub enum Fleet {
    /// Not joined to an office: the car works alone.
    Alone,
    /// Joined, but the sync cannot run (no credentials configured, the thread did not start).
    Unavailable(String),
    /// The sync thread runs.
    Syncing(crate::fleet::sync::FleetSync),
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console").field("stage", &self.stage).field("demo", &self.demo).finish_non_exhaustive()
    }
}

/// Why the console cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// The database key could not be obtained.
    #[error("database key: {0}")]
    Key(#[from] crate::store::KeyError),
    /// The database could not be opened.
    #[error("database: {0}")]
    Store(#[from] crate::store::StoreError),
    /// Demo data could not be prepared.
    #[error("demo set-up: {0}")]
    Demo(String),
    /// A setting in force is not valid.
    #[error("settings: {0}")]
    Settings(String),
}

impl Console {
    /// Opens the store, loads the cached hot list and starts loading the recognizer; the
    /// cameras start at log-on.
    pub fn new(options: ConsoleOptions) -> Result<Self, ConsoleError> {
        let ConsoleOptions { paths, mut config, demo, sources, format, sim_plates, reader, clock } = options;
        let quiet = chrono::Duration::minutes(i64::from(config.console.realarm_quiet_minutes));
        if demo {
            config.store.demo_key = true;
        }
        let keys = StoreKeys::obtain(&paths.data_dir, config.store.key_file.as_deref(), config.store.demo_key)?;
        let store = Arc::new(Store::open(&paths.data_dir, keys, &config.agency.name)?);
        if demo {
            demo::prepare(&store, &paths.data_dir, &mut config, clock.now()).map_err(ConsoleError::Demo)?;
        }
        // The security settings are the database's: the file's (the demo's, in demo mode) are
        // seeded on the store's first use, then ignored with a warning.
        for warning in crate::session::admin::secure_settings(&store, &config)? {
            tracing::warn!("{warning}");
        }
        // The administrator's settings take precedence over the file's (and the demo's).
        crate::session::admin::AdminSettings::load(&store)?.apply(&mut config);
        crate::session::admin::add_office_list_source(&store, &mut config)?;
        let sources_from_settings = sources.is_empty();
        let sources = if sources_from_settings {
            crate::camera::open::configured_sources(&config.cameras)
                .map_err(|e| ConsoleError::Settings(format!("[cameras] sources: {e}")))?
        } else {
            sources
        };
        let now = clock.now();
        // Accounts idle past the limit are suspended now, not only when they next log on, so
        // the administrator's list shows them as they are.
        let idle = crate::session::Accounts::new(&store, account_rules(&config))
            .suspend_inactive(now)
            .map_err(|e| ConsoleError::Settings(format!("inactivity check: {e}")))?;
        let purge_scheduler = start_purge(&store, &config);
        let fleet = start_fleet(&store, &config);
        let hotlists = Arc::new(Hotlists::new(crate::hotlist::ActiveList::empty(config.hotlist.match_config(), now)));
        let (reader_job, reader_error) = match reader {
            Some(_) => (None, None),
            None => match shift::load_reader(&config, format) {
                Ok(job) => (Some(job), None),
                Err(err) => (None, Some(format!("cannot start the recognizer thread: {err}"))),
            },
        };
        let (matched_tx, matched_rx) = bounded(256);
        // The simulated route with the demo or the simulator camera, else the configured GPS;
        // a source that cannot start leaves reads without a position, and says so.
        let simulated = demo || sources.iter().all(|s| matches!(s, SourceSpec::Simulator));
        let max_age = i64::from(config.location.max_fix_age_ms);
        let located = config
            .location
            .setting(simulated)
            .and_then(|setting| crate::location::Locator::start(&setting, max_age).map_err(|e| e.to_string()));
        let (locator, location_problem) = match located {
            Ok(locator) => (Some(Arc::new(locator)), None),
            Err(err) => (None, Some(format!("no position for reads: {err}"))),
        };
        let (status_tx, status_rx) = bounded(64);
        let mut console = Self {
            paths,
            config,
            demo,
            clock,
            store,
            stage: Stage::Login,
            session: None,
            cameras: cameras::Cameras::default(),
            sources,
            format,
            sim_plates,
            pipeline: None,
            matcher: None,
            locator,
            trail: VecDeque::new(),
            matched_tx,
            matched_rx,
            recording_told: None,
            office_lists_seen: 0,
            status_rx,
            status_tx,
            overlay: bounded(1),
            wake: None,
            on_hit: matcher::HitHookSlot::default(),
            reader,
            reader_job,
            reader_error,
            hotlists,
            update_job: None,
            update: None,
            stale_acknowledged: false,
            activity: activity::Activity::new(now),
            hits: hit_desk::HitDesk::new(quiet),
            history: VecDeque::new(),
            frames: frames::Frames::default(),
            notices: Vec::new(),
            search: Vec::new(),
            oversight: oversight::Oversight::default(),
            admin: admin::AdminData::default(),
            sources_from_settings,
            purge_scheduler: None,
            fleet,
        };
        match purge_scheduler {
            Ok(scheduler) => console.purge_scheduler = Some(scheduler),
            Err(err) => console.notice(true, format!("the daily purge is not running: {err}")),
        }
        if !idle.is_empty() {
            console.notice(false, format!("suspended for inactivity: {}", idle.join(", ")));
        }
        if let Some(problem) = location_problem {
            console.notice(true, problem);
        }
        console.load_cached_list();
        Ok(console)
    }

    /// The screen's alarm starter: the matcher calls it with a new hit's priority the moment
    /// the hit is committed and alarms, so the tone does not wait for a frame to be drawn.
    /// A running matcher uses it from its next hit on.
    pub fn set_hit_hook(&mut self, hook: matcher::HitHook) {
        match self.on_hit.write() {
            Ok(mut slot) => *slot = Some(hook),
            // Poisoned only by a panic while setting it: the slot holds a hook or none.
            Err(poisoned) => *poisoned.into_inner() = Some(hook),
        }
    }

    /// The UI's wake-up call, passed to the pipeline's threads.
    pub fn set_wake(&mut self, wake: Wake) {
        self.wake = Some(wake);
    }

    /// Demo mode.
    pub fn is_demo(&self) -> bool {
        self.demo
    }

    /// Now, from the console's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The store (reports, tests).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The settings in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where the officer is in the shift.
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// The logged-on officer's session.
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// The cameras.
    pub fn cameras(&self) -> &[CameraState] {
        self.cameras.list()
    }

    /// The newest frame and its reads, per camera.
    pub fn latest_frame(&self, camera: usize) -> Option<&FrameReads> {
        self.frames.latest(camera)
    }

    /// The office link: `None` for a car that works alone, else the status bar's short text,
    /// the full one (with the reason, for hover and the log) and whether it is a warning
    /// (offline, or unable to sync).
    pub fn fleet_status(&self) -> Option<(String, String, bool)> {
        match &self.fleet {
            Fleet::Alone => None,
            Fleet::Unavailable(why) => Some(("office: NOT SYNCING".to_owned(), why.clone(), true)),
            Fleet::Syncing(sync) => {
                let status = sync.status();
                let now = crate::store::now_ms();
                let warn = !status.connected || status.error.is_some();
                Some((status.short(now), status.summary(now), warn))
            }
        }
    }

    /// Asks the sync for a round now (after log-on, a hit).
    pub(crate) fn sync_now(&self) {
        if let Fleet::Syncing(sync) = &self.fleet {
            sync.wake();
        }
    }

    /// The list in use.
    pub fn list_status(&self) -> ListStatus {
        self.hotlists.current().status.clone()
    }

    /// True when the list in use is older than the agency's limit (or none is loaded).
    pub fn list_is_stale(&self) -> bool {
        self.hotlists.current().status.is_stale(self.now(), self.config.hotlist.max_age())
    }

    /// The hot-list update's outcome; `None` while it runs.
    pub fn update_report(&self) -> Option<&UpdateReport> {
        self.update.as_ref()
    }

    /// True while the hot-list update runs.
    pub fn update_running(&self) -> bool {
        self.update_job.is_some()
    }

    /// True once the officer acknowledged a stale list.
    pub fn stale_acknowledged(&self) -> bool {
        self.stale_acknowledged
    }

    /// The recognizer could not be loaded: why.
    pub fn reader_error(&self) -> Option<&str> {
        self.reader_error.as_deref()
    }

    /// True while the recognizer loads.
    pub fn reader_loading(&self) -> bool {
        self.reader_job.is_some()
    }

    /// ALPR running now.
    pub fn is_active(&self) -> bool {
        self.activity.is_active()
    }

    /// Time ALPR has been active this shift.
    pub fn active_time(&self) -> chrono::Duration {
        self.activity.active_time(self.now())
    }

    /// The open hits, most urgent first.
    pub fn open_hits(&self) -> Vec<&HitRecord> {
        self.hits.open_hits()
    }

    /// The hit that should be alarming (tone and banner), if any.
    pub fn alarming_hit(&self) -> Option<&HitRecord> {
        self.hits.alarming()
    }

    /// A hit of this shift (open or finished).
    pub fn hit(&self, id: i64) -> Option<&HitRecord> {
        self.hits.hit(id)
    }

    /// What the hit screens show besides the record.
    pub fn hit_detail(&self, id: i64) -> Option<&HitDetail> {
        self.hits.detail(id)
    }

    /// This shift's hits, newest first.
    pub fn shift_hits(&self) -> impl Iterator<Item = &HitRecord> {
        self.hits.shift_hits()
    }

    /// This shift's reads, newest first.
    pub fn history(&self) -> impl Iterator<Item = &RecentRead> {
        self.history.iter()
    }

    /// The last search's rows.
    pub fn search_rows(&self) -> &[SearchRow] {
        &self.search
    }

    /// Messages for the officer, newest last.
    pub fn notices(&self) -> &[Notice] {
        &self.notices
    }

    /// The console is locked after idling: only the PIN opens it.
    pub fn is_locked(&self) -> bool {
        self.activity.lock().is_some()
    }

    /// True when the officer locked the console by hand (false for the idle lock).
    pub fn locked_by_hand(&self) -> bool {
        self.activity.lock() == Some(activity::Lock::ByHand)
    }

    /// Pipeline counters (frames, fps, latency), when it runs.
    pub fn pipeline_stats(&self) -> Option<StatsSnapshot> {
        self.pipeline.as_ref().map(Pipeline::stats)
    }

    /// True when Go active may be pressed, or why not.
    pub fn can_go_active(&self) -> Result<(), String> {
        shift::can_go_active(self)
    }

    /// The officer touched the screen: the idle-lock timer starts again.
    pub fn touch(&mut self) {
        let now = self.now();
        self.activity.touch(now);
    }

    fn notice(&mut self, problem: bool, text: impl Into<String>) {
        let text = text.into();
        if problem {
            tracing::warn!("{text}");
        }
        self.notices.push(Notice { time: self.now(), problem, text });
        if self.notices.len() > 50 {
            self.notices.remove(0);
        }
    }

    /// Drains worker messages (reads, camera statuses, frames, background jobs) and applies
    /// the idle-lock rule. Call once per UI frame; it never blocks.
    pub fn poll(&mut self) {
        shift::poll(self);
        self.extend_trail();
    }

    /// Applies a command from a screen; an error is a message for that screen (and is also
    /// kept as a notice when it is a failure of the system rather than of the input).
    pub fn apply(&mut self, command: Command) -> CommandResult {
        let result = shift::apply(self, command);
        self.sync_recording();
        result
    }

    /// Hands one vehicle-pass read to the matcher, as the pipeline does: it is stored and
    /// matched off this thread, and `poll` shows what came of it. Public so tests and
    /// benchmarks can feed reads directly.
    pub fn handle_read(&mut self, event: ReadEvent) {
        if let Some(reads) = self.matcher().and_then(|m| m.reads())
            && reads.send(event).is_err()
        {
            self.notice(true, "the matcher has stopped: reads are not recorded");
        }
    }

    /// The matcher, started on first use with the screen's wake-up call.
    fn matcher(&mut self) -> Option<&matcher::Matcher> {
        if self.matcher.is_none() {
            let quiet = chrono::Duration::minutes(i64::from(self.config.console.realarm_quiet_minutes));
            match matcher::Matcher::start(
                Arc::clone(&self.store),
                Arc::clone(&self.hotlists),
                self.locator.clone(),
                self.clock.clone(),
                quiet,
                self.matched_tx.clone(),
                matcher::MatcherSignals { wake: self.wake.clone(), on_hit: Arc::clone(&self.on_hit) },
            ) {
                Ok(started) => self.matcher = Some(started),
                Err(err) => self.notice(true, format!("cannot start the matcher: {err}")),
            }
            self.recording_told = None;
        }
        self.sync_recording();
        self.matcher.as_ref()
    }

    /// Tells the matcher whether ALPR records, and for whom, when that changed.
    fn sync_recording(&mut self) {
        let recording = self.session.as_ref().filter(|_| self.is_active()).map(|s| (s.user.id.clone(), s.shift_id));
        if self.recording_told.as_ref() != Some(&recording)
            && let Some(matcher) = &self.matcher
            && matcher.send(matcher::MatcherCommand::Recording(recording.clone()))
        {
            self.recording_told = Some(recording);
        }
    }

    /// Tells the matcher something that changes what it raises (a decision, a new shift).
    fn tell_matcher(&self, command: matcher::MatcherCommand) {
        if let Some(matcher) = &self.matcher {
            matcher.send(command);
        }
    }

    /// The position source's state (for the status bar); `None` when there is none.
    pub fn gps_health(&self) -> Option<crate::location::Health> {
        self.locator.as_ref().map(|l| l.health())
    }

    /// Where the car went this shift while ALPR was active (the map's line).
    pub fn trail(&self) -> impl Iterator<Item = &crate::location::Fix> {
        self.trail.iter()
    }

    /// Adds the car's position to the trail when it has moved 20 m since the last point.
    fn extend_trail(&mut self) {
        if !self.is_active() {
            return;
        }
        let Some(here) = self.position_now() else { return };
        if self.trail.back().is_none_or(|last| last.distance_m(&here) >= 20.0) {
            self.trail.push_back(here);
            if self.trail.len() > 5_000 {
                self.trail.pop_front();
            }
        }
    }

    /// Where the car is now, if there is a fix.
    pub fn position_now(&self) -> Option<crate::location::Fix> {
        self.locator.as_ref().and_then(|l| l.at(self.now())).map(|s| s.fix)
    }

    /// From the capture of the frame on which the tracker closed a vehicle's pass to its hit
    /// committed, ms: (median, 95th percentile) over the last 200 hits. The frame-to-hit
    /// latency: recognition, tracking, matching and the commit.
    pub fn hit_frame_ms(&self) -> Option<(f64, f64)> {
        percentiles(self.hits.latencies().map(|t| t.frame_ms))
    }

    /// From the last frame of a vehicle's pass to its hit committed, ms: (median, 95th
    /// percentile) over the last 200 hits. The tracker publishes a pass once the vehicle has
    /// left, so this includes that wait.
    pub fn hit_latency_ms(&self) -> Option<(f64, f64)> {
        percentiles(self.hits.latencies().map(|t| t.latency_ms))
    }

    /// From the matcher receiving a read to its hit committed (the matcher's own time), ms:
    /// (median, 95th percentile) over the last 200 hits.
    pub fn hit_commit_ms(&self) -> Option<(f64, f64)> {
        percentiles(self.hits.latencies().map(|t| t.commit_ms))
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        // Stop capture and recognition before the store closes; their threads join here.
        if let Some(pipeline) = self.pipeline.take() {
            pipeline.shutdown();
        }
        // Then the matcher, which drains what the pipeline sent it.
        self.matcher.take();
    }
}

/// Starts the sync thread when an administrator joined this car to an office and the
/// settings name its credentials file.
fn start_fleet(store: &Arc<Store>, config: &Config) -> Fleet {
    let joined = match store.read(crate::store::outbox::joined) {
        Ok(Some(joined)) => joined,
        Ok(None) => return Fleet::Alone,
        Err(err) => return Fleet::Unavailable(format!("cannot read the office settings: {err}")),
    };
    let Some(credentials) = config.fleet.credentials.clone() else {
        return Fleet::Unavailable(format!(
            "joined to an office as {}, but [fleet] credentials is not set: records wait in the outbox",
            joined.car_id
        ));
    };
    let settings = crate::fleet::sync::SyncSettings {
        office: joined.office,
        car_id: joined.car_id,
        credentials,
        interval: std::time::Duration::from_secs(u64::from(config.fleet.sync_interval_seconds)),
        hotlist_key: config.hotlist.public_key.clone(),
    };
    match crate::fleet::sync::FleetSync::start(Arc::clone(store), settings) {
        Ok(sync) => Fleet::Syncing(sync),
        Err(err) => Fleet::Unavailable(format!("cannot start the sync thread: {err}")),
    }
}

/// Starts the daily retention purge with the period in force; an invalid period is an error
/// (the purge must not run with a period under the floor).
fn start_purge(store: &Arc<Store>, config: &Config) -> Result<crate::store::retention::PurgeScheduler, String> {
    let period =
        crate::store::retention::retention_period(config.store.retention_days, config.store.allow_short_retention)
            .map_err(|e| e.to_string())?;
    crate::store::retention::PurgeScheduler::start(
        Arc::clone(store),
        period,
        std::time::Duration::from_secs(24 * 60 * 60),
    )
    .map_err(|e| format!("cannot start the purge thread: {e}"))
}

/// Median and 95th percentile (the health figures of the console and the screen).
pub fn percentiles(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let mut ms: Vec<f64> = values.collect();
    ms.sort_by(f64::total_cmp);
    (!ms.is_empty()).then(|| (ms[ms.len() / 2], ms[(ms.len() * 95 / 100).min(ms.len() - 1)]))
}

/// The account rules from the settings.
pub(crate) fn account_rules(config: &Config) -> AccountRules {
    AccountRules::from_settings(&config.store)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{LoginRefusal, SessionError};
    use crate::store::StoreError;

    #[test]
    fn a_car_alone_shows_no_office_and_one_joined_without_credentials_says_it_is_not_syncing() {
        let (_dir, store) = crate::store::testing::temp_store();
        let store = Arc::new(store);
        let config = Config::default();
        assert!(matches!(start_fleet(&store, &config), Fleet::Alone));
        let joined = crate::store::outbox::Joined {
            car_id: "unit-3".into(),
            office: "host=127.0.0.1 port=1 dbname=x".into(),
            joined_by: "a1".into(),
            joined_ms: 1,
        };
        store.write(move |conn| crate::store::outbox::join(conn, &joined)).unwrap();
        match start_fleet(&store, &config) {
            Fleet::Unavailable(why) => assert!(why.contains("unit-3") && why.contains("credentials"), "{why}"),
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }

    #[test]
    fn a_refusal_is_not_a_failure() {
        let refused: CommandError = "give a reason for deactivating ALPR".into();
        assert!(!refused.is_failure());
        let wrong_pin: CommandError = SessionError::Refused(LoginRefusal::Locked).into();
        assert!(!wrong_pin.is_failure(), "a locked account is the rules working");
        let disk: CommandError = SessionError::Store(StoreError::WriterGone).into();
        assert!(disk.is_failure(), "a write the store could not make is a failure");
        assert_eq!(disk.to_string(), SessionError::Store(StoreError::WriterGone).to_string());
    }
}
