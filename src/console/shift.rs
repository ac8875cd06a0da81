//! The console's rules in motion: commands applied, worker messages drained, reads matched
//! into hits. Each step calls the policy core and writes the store before the screen moves on.

use std::sync::Arc;

use super::matcher::{Matched, MatcherCommand, NewHit};
use super::{Command, CommandError, CommandResult, Console, HitDetail, SearchRow, Stage, UpdateReport, account_rules};
use crate::audit::{AuditAction, AuditEvent};
use crate::camera::CaptureFormat;
use crate::camera::health::CameraStatus;
use crate::camera::open::{SourceOptions, open_sources};
use crate::config::Config;
use crate::hits::{HitAction, apply as apply_hit};
use crate::hotlist::BackgroundJob;
use crate::hotlist::cache::HotlistCache;
use crate::hotlist::load::{Actor, load_active};
use crate::hotlist::update::{UpdateRequest, run_update};
use crate::pipeline::{Outputs, Pipeline, PipelineConfig, PlateReader};
use crate::recognize::Recognizer;
use crate::session::Accounts;
use crate::session::checklist::{equipment_report, judge};

use super::activity::Activity;
use super::cameras::{CameraChange, Cameras, NotReady};

/// Loads the recognizer (and builds its plan for the frame size) off the UI thread.
pub(super) fn load_reader(
    config: &Config,
    format: CaptureFormat,
) -> std::io::Result<BackgroundJob<Result<Arc<dyn PlateReader>, String>>> {
    let cfg = config.recognizer.clone();
    BackgroundJob::start("load-recognizer", move || {
        let recognizer = Recognizer::load_video(&cfg, format.width, format.height).map_err(|e| e.to_string())?;
        Ok(Arc::new(recognizer) as Arc<dyn PlateReader>)
    })
}

impl Console {
    /// Loads the cached list so matching works before the shift-start update finishes.
    pub(super) fn load_cached_list(&mut self) {
        match load_active(&self.hotlist_cache(), &self.config.hotlist, self.now()) {
            Ok(outcome) => self.hotlists.replace(outcome.list),
            Err(err) => self.notice(true, format!("no cached hot list: {err}")),
        }
    }

    /// The hot-list cache, sealed with the store's keys.
    fn hotlist_cache(&self) -> HotlistCache {
        HotlistCache::new(&self.paths.data_dir, self.store.keys().clone())
    }

    pub(super) fn officer(&self) -> Option<String> {
        self.session.as_ref().map(|s| s.user.id.clone())
    }

    fn audit(&mut self, action: AuditAction, object: &str, outcome: &str) {
        let user = self.officer().unwrap_or_else(|| "system".to_owned());
        let event = AuditEvent {
            time: self.now(),
            ..AuditEvent::new(&user, self.store.organization(), action, object, outcome)
        };
        if let Err(err) = self.store.audit(event) {
            self.notice(true, format!("cannot write the audit log: {err}"));
        }
    }

    fn start_update(&mut self) {
        let store = self.store.clone();
        let hotlists = self.hotlists.clone();
        let config = self.config.hotlist.clone();
        let cache = self.hotlist_cache();
        let actor = Actor::new(&self.officer().unwrap_or_else(|| "system".into()), self.store.organization());
        let now = self.now();
        let job = BackgroundJob::start("hotlist-update", move || {
            if config.sources.is_empty() {
                return UpdateReport {
                    ok: false,
                    message: "no hot-list update source is configured: using the cached list".into(),
                };
            }
            let request = UpdateRequest {
                cache: &cache,
                config: &config,
                lists: &hotlists,
                audit: &*store,
                history: &*store,
                actor: &actor,
                now,
            };
            match run_update(&request) {
                Ok(outcome) if outcome.already_current => UpdateReport {
                    ok: true,
                    message: format!("list {} is current ({} entries)", outcome.status.version, outcome.status.entries),
                },
                Ok(outcome) => UpdateReport {
                    ok: true,
                    message: format!(
                        "received list {} ({} entries, {} lines rejected)",
                        outcome.status.version, outcome.status.entries, outcome.report.rejected
                    ),
                },
                Err(err) => {
                    UpdateReport { ok: false, message: format!("update refused, keeping the last good list: {err}") }
                }
            }
        });
        match job {
            Ok(job) => {
                self.update = None;
                self.update_job = Some(job);
            }
            Err(err) => {
                self.update = Some(UpdateReport { ok: false, message: format!("cannot start the update: {err}") });
            }
        }
    }

    fn start_pipeline(&mut self) {
        let Some(reader) = self.reader.clone() else { return };
        let opened = open_sources(
            &self.sources,
            &SourceOptions {
                settings: &self.config.cameras,
                format: self.format,
                // Checked when the settings were loaded (a bad value refuses to start).
                pixel_format: self.config.cameras.pixel_format.parse().unwrap_or(crate::camera::live::PixelFormat::Any),
                looping: true,
                seed: None,
                night: false,
                extra_plates: &self.sim_plates,
            },
        );
        self.cameras = Cameras::opened(opened.sources.iter().map(|s| s.name().to_owned()));
        self.frames = super::frames::Frames::for_cameras(self.cameras.len());
        if opened.sources.is_empty() {
            return;
        }
        let mut config = PipelineConfig::default();
        // The screen shows each camera's current frame rate: report it every second.
        config.health.heartbeat_millis = 1000;
        if let Some(workers) = self.config.cameras.workers {
            config.workers = workers.max(1);
        }
        let Some(reads) = self.matcher().and_then(|m| m.reads()) else { return };
        let outputs = Outputs {
            reads: vec![reads],
            statuses: vec![self.status_tx.clone()],
            overlay: Some(self.overlay.clone()),
            wake: self.wake.clone(),
        };
        match Pipeline::start(config, opened.sources, reader, outputs) {
            Ok(pipeline) => self.pipeline = Some(pipeline),
            Err(err) => self.notice(true, format!("cannot start the cameras: {err}")),
        }
    }
}

/// Go active needs: every camera inspected, at least one in service, the update finished,
/// and a stale list acknowledged.
pub(super) fn can_go_active(c: &Console) -> Result<(), String> {
    if c.stage != Stage::Checklist {
        return Err("not at the shift-start checklist".into());
    }
    match c.cameras.ready() {
        Err(NotReady::NoCamera) if c.reader_job.is_some() => return Err("the recognizer is loading".into()),
        Err(not_ready) => return Err(not_ready.words().into()),
        Ok(()) => {}
    }
    if c.update_job.is_some() {
        return Err("the hot-list update is running".into());
    }
    if c.list_is_stale() && !c.stale_acknowledged {
        return Err("the hot list is stale: acknowledge the warning first".into());
    }
    Ok(())
}

pub(super) fn poll(c: &mut Console) {
    if let Some(job) = &c.reader_job
        && let Some(result) = job.try_result()
    {
        c.reader_job = None;
        match result {
            Some(Ok(reader)) => {
                c.reader = Some(reader);
                if c.session.is_some() && c.pipeline.is_none() {
                    c.start_pipeline();
                }
            }
            Some(Err(err)) => {
                c.reader_error = Some(err.clone());
                c.notice(true, format!("the recognizer cannot start: {err}"));
            }
            None => {
                c.reader_error = Some("the recognizer loader stopped unexpectedly".into());
            }
        }
    }
    if let Some(job) = &c.update_job
        && let Some(result) = job.try_result()
    {
        c.update_job = None;
        let report = result.unwrap_or(UpdateReport { ok: false, message: "the update stopped unexpectedly".into() });
        c.notice(!report.ok, format!("hot list: {}", report.message));
        c.update = Some(report);
    }
    // A list the sync pulled from the office mid-shift is loaded at once, as the shift-start
    // update would load it (signature and files checked again), not left for the next shift.
    if let super::Fleet::Syncing(sync) = &c.fleet {
        let taken = sync.status().lists_taken;
        if taken > c.office_lists_seen && c.session.is_some() && c.update_job.is_none() {
            c.office_lists_seen = taken;
            c.start_update();
        }
    }
    while let Ok(status) = c.status_rx.try_recv() {
        camera_status(c, status);
    }
    // Frames: keep a few per camera for the hit screen, the newest for the live view.
    while let Ok(frame) = c.overlay.1.try_recv() {
        c.frames.push(frame);
    }
    // What the matcher stored and raised. A bounded drain: a burst must not stall drawing.
    for _ in 0..64 {
        let Ok(matched) = c.matched_rx.try_recv() else { break };
        matched_read(c, matched);
    }
    let now = c.now();
    if c.session.is_some() && c.activity.lock_if_idle(now, c.config.store.idle_lock_minutes) {
        c.audit(AuditAction::SessionLock, "console", "locked after idle time");
    }
}

fn camera_status(c: &mut Console, status: CameraStatus) {
    let now = c.now();
    let patrol = c.stage == Stage::Patrol;
    let Some(change) = c.cameras.status(status, patrol, now) else { return };
    let shift = c.session.as_ref().map(|s| (s.shift_id, s.user.id.clone()));
    // Mid-shift failures of a camera in service: downtime, an equipment report, a notice.
    match change {
        CameraChange::Down { name, reason } => {
            if let Some((shift_id, officer)) = shift {
                let results = [
                    c.store.camera_down(shift_id, &name, now, &reason).map(|_| ()),
                    c.store
                        .file_equipment_report(&officer, &name, &format!("camera {name} failed mid-shift: {reason}"))
                        .map(|_| ()),
                ];
                for err in results.into_iter().filter_map(Result::err) {
                    c.notice(true, format!("cannot record the camera failure: {err}"));
                }
            }
            c.notice(true, format!("camera {name}: {reason} (equipment report filed)"));
        }
        CameraChange::Up { name } => {
            if let Some((shift_id, _)) = shift
                && let Err(err) = c.store.camera_up(shift_id, &name, now)
            {
                c.notice(true, format!("cannot record the camera recovery: {err}"));
            }
            c.notice(false, format!("camera {name} working again"));
        }
    }
}

/// Shows what the matcher committed: a read in the history, a new hit in the queue with the
/// frame its read came from.
fn matched_read(c: &mut Console, matched: Matched) {
    let read = match matched {
        Matched::Failed(message) => {
            c.notice(true, message);
            return;
        }
        Matched::Read(read, _) => read,
        Matched::Hit(new) => {
            let NewHit { record, entry, hit, read, camera, frame_seq, received, timing } = *new;
            let frame = nearest_frame(c, camera, frame_seq);
            let detail = HitDetail { hit, read: read.clone(), frame, received, decision: None };
            c.hits.raised(record, &entry, detail, timing);
            c.sync_now();
            read
        }
    };
    c.history.push_front(read);
    c.history.truncate(super::HISTORY_KEPT);
}

fn nearest_frame(c: &Console, camera: usize, seq: u64) -> Option<Arc<image::RgbImage>> {
    c.frames.nearest(camera, seq)
}

pub(super) fn apply(c: &mut Console, command: Command) -> CommandResult {
    c.touch();
    let now = c.now();
    match command {
        Command::LogOn { officer, pin } => {
            if c.session.is_some() {
                return Err("someone is logged on already".into());
            }
            let accounts = Accounts::new(&c.store, account_rules(&c.config));
            // A round with the office now: the shift's start goes out, and accounts changed
            // there (a deactivation, a new certification) come in for the next log-on.
            c.sync_now();
            let session = accounts.log_on(officer.trim(), &pin, now)?;
            c.session = Some(session);
            c.stage = Stage::Checklist;
            c.stale_acknowledged = false;
            c.activity = Activity::new(now);
            c.start_update();
            if c.reader.is_some() {
                c.start_pipeline();
            }
            Ok(())
        }
        Command::Inspect { camera, inspection } => {
            if c.stage != Stage::Checklist {
                return Err("the checklist is done for this shift".into());
            }
            let (shift_id, officer) = session_ids(c)?;
            let Some(cam) = c.cameras.get(camera) else { return Err(format!("no camera {camera}").into()) };
            let name = cam.name.clone();
            let verdict = judge(&cam.auto_check(), &inspection);
            c.store
                .record_checklist(shift_id, &officer, &name, verdict.in_service, &verdict.items_json, &inspection.notes)
                .map_err(|e| CommandError::Failed(format!("cannot save the checklist: {e}")))?;
            if !verdict.in_service {
                let report = equipment_report(&name, &verdict, &inspection.notes);
                c.store
                    .file_equipment_report(&officer, &name, &report)
                    .map_err(|e| CommandError::Failed(format!("cannot file the report: {e}")))?;
                c.notice(true, format!("camera {name} out of service: equipment report filed"));
            }
            if c.cameras.inspected(camera, verdict) {
                c.stage = Stage::Unavailable;
                c.audit(AuditAction::Checklist, "all cameras", "ALPR unavailable: no camera passed, report filed");
            }
            Ok(())
        }
        Command::RetryUpdate => {
            if c.update_job.is_some() {
                return Err("the update is running".into());
            }
            c.start_update();
            Ok(())
        }
        Command::AcknowledgeStale => {
            let status = c.list_status();
            let age = status.age(now).map_or("no list loaded".to_owned(), |a| format!("{} h old", a.num_hours()));
            c.stale_acknowledged = true;
            c.audit(
                AuditAction::HotlistUpdate,
                &status.version,
                &format!("stale list acknowledged by the officer ({age})"),
            );
            Ok(())
        }
        Command::GoActive => {
            can_go_active(c)?;
            let (shift_id, officer) = session_ids(c)?;
            c.store
                .activate(shift_id, &officer, now)
                .map_err(|e| CommandError::Failed(format!("cannot start ALPR: {e}")))?;
            c.activity.activate(now);
            c.stage = Stage::Patrol;
            Ok(())
        }
        Command::Deactivate { reason } => {
            if reason.trim().is_empty() {
                return Err("give a reason for deactivating ALPR".into());
            }
            if !c.activity.is_active() {
                return Err("ALPR is not active".into());
            }
            let (shift_id, officer) = session_ids(c)?;
            c.store
                .deactivate(shift_id, &officer, now, reason.trim())
                .map_err(|e| CommandError::Failed(format!("cannot deactivate: {e}")))?;
            c.activity.deactivate(now);
            Ok(())
        }
        Command::Reactivate => {
            if c.stage != Stage::Patrol || c.activity.is_active() {
                return Err("ALPR is already active".into());
            }
            let (shift_id, officer) = session_ids(c)?;
            c.store
                .activate(shift_id, &officer, now)
                .map_err(|e| CommandError::Failed(format!("cannot start ALPR: {e}")))?;
            c.activity.activate(now);
            Ok(())
        }
        Command::Hit { id, action } => hit_step(c, id, &action),
        Command::Lock => {
            if c.session.is_none() {
                return Err("nobody is logged on".into());
            }
            c.activity.lock_by_hand();
            c.audit(AuditAction::SessionLock, "console", "locked by the officer");
            Ok(())
        }
        Command::Unlock { pin } => {
            let officer = c.officer().ok_or("nobody is logged on")?;
            let accounts = Accounts::new(&c.store, account_rules(&c.config));
            match accounts.authenticate(&officer, &pin, now) {
                Ok(_) => {
                    c.activity.unlock();
                    Ok(())
                }
                Err(err) => {
                    let locked_out =
                        matches!(&err, crate::session::SessionError::Refused(crate::session::LoginRefusal::Locked));
                    if locked_out {
                        // The account locked itself: the shift ends here.
                        end_shift(c, "account locked at the idle lock");
                    }
                    Err(err.into())
                }
            }
        }
        Command::Search { plate, purpose, case_number } => {
            let session = c.session.as_ref().ok_or("nobody is logged on")?;
            let accounts = Accounts::new(&c.store, account_rules(&c.config));
            let rows = crate::reports::search::search_reads(
                &c.store,
                &accounts,
                &session.user,
                &plate,
                &purpose,
                &case_number,
            )
            .map_err(|e| e.to_string())?;
            c.search = rows
                .into_iter()
                .map(|r| SearchRow {
                    time: r.read.time,
                    plate: r.read.plate,
                    camera: r.read.camera,
                    officer: r.read.officer.unwrap_or_default(),
                    confidence: r.read.confidence,
                })
                .collect();
            Ok(())
        }
        Command::LogOff => {
            if c.session.is_none() {
                return Err("nobody is logged on".into());
            }
            if c.hits.alarming().is_some() {
                return Err("acknowledge the open hit first".into());
            }
            end_shift(c, "end of shift");
            Ok(())
        }
    }
}

fn session_ids(c: &Console) -> Result<(i64, String), String> {
    c.session.as_ref().map(|s| (s.shift_id, s.user.id.clone())).ok_or_else(|| "nobody is logged on".to_owned())
}

fn end_shift(c: &mut Console, reason: &str) {
    let now = c.now();
    if c.activity.is_active()
        && let Ok((shift_id, officer)) = session_ids(c)
        && let Err(err) = c.store.deactivate(shift_id, &officer, now, reason)
    {
        c.notice(true, format!("cannot record the deactivation: {err}"));
    }
    if let Some(session) = c.session.take() {
        let accounts = Accounts::new(&c.store, account_rules(&c.config));
        if let Err(err) = accounts.log_off(&session, now) {
            c.notice(true, format!("cannot record the log-off: {err}"));
        }
    }
    if let Some(pipeline) = c.pipeline.take() {
        pipeline.shutdown();
    }
    c.cameras = Cameras::default();
    c.frames = super::frames::Frames::default();
    // The next officer's hits start afresh, quiet periods included: a decision was this
    // officer's.
    let quiet = chrono::Duration::minutes(i64::from(c.config.console.realarm_quiet_minutes));
    c.hits = super::hit_desk::HitDesk::new(quiet);
    c.tell_matcher(MatcherCommand::Reset(quiet));
    c.history.clear();
    c.trail.clear();
    c.search.clear();
    c.oversight = Default::default();
    c.admin = Default::default();
    c.update = None;
    c.activity = Activity::new(now);
    c.stage = Stage::Login;
}

fn hit_step(c: &mut Console, id: i64, action: &HitAction) -> CommandResult {
    let officer = c.officer().ok_or("nobody is logged on")?;
    if c.activity.lock().is_some() {
        return Err("unlock the console first".into());
    }
    let mut hit = c.hits.open(id).cloned().ok_or_else(|| format!("hit {id} is not open"))?;
    let event = apply_hit(&mut hit, action, &officer, c.now()).map_err(|e| e.to_string())?;
    // Stored first: the screen moves on only once the step is committed and audited.
    let detail = event.detail.clone();
    c.store
        .record_hit_transition(hit.clone(), event)
        .map_err(|e| CommandError::Failed(format!("cannot save the step: {e}")))?;
    c.hits.stepped(&hit, detail, c.now());
    c.tell_matcher(MatcherCommand::Decided(Box::new(hit)));
    Ok(())
}
