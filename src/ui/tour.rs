//! The documentation tour (`patrol-alpr --demo --tour DIR`, hidden): drives the real console
//! through a shift in demo mode with the same commands the screens send, and saves a
//! screenshot of every screen, day and night, rendered by the real window (run it under Xvfb).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use eframe::egui;

use super::theme::ThemeChoice;
use super::{AppCommand, ConsoleApp, UiCommand, View};
use crate::console::{Command, Console, Stage};
use crate::hits::{HitAction, HitState};
use crate::session::checklist::{AutoCheck, Inspection, InspectionItem};

/// What a step waits for before its screenshot.
type Ready = fn(&ConsoleApp) -> bool;

/// One step: commands to apply, a condition to wait for, then a screenshot named `shot`.
struct Step {
    commands: fn(&ConsoleApp) -> Vec<AppCommand>,
    ready: Ready,
    shot: Option<&'static str>,
}

fn none(_: &ConsoleApp) -> Vec<AppCommand> {
    Vec::new()
}

fn console(command: Command) -> Vec<AppCommand> {
    vec![AppCommand::Console(command)]
}

fn always(_: &ConsoleApp) -> bool {
    true
}

/// The hit a step acts on: the alarming one to acknowledge, then the one being worked (the
/// demo keeps raising hits, and a new one must not take over the workflow shown).
fn target(app: &ConsoleApp, action: &HitAction) -> Option<i64> {
    let open = app.console.open_hits();
    let worked = open.iter().find(|h| h.state() != HitState::New);
    match action {
        HitAction::Acknowledge => app.console.alarming_hit().map(|h| h.id),
        _ => worked.or(open.first()).map(|h| h.id),
    }
}

fn hit_step(app: &ConsoleApp, action: HitAction) -> Vec<AppCommand> {
    target(app, &action).map_or_else(Vec::new, |id| {
        vec![AppCommand::Console(Command::Hit { id, action }), AppCommand::Ui(UiCommand::Show(View::Hit(id)))]
    })
}

fn camera_checked(c: &Console) -> bool {
    c.cameras().first().is_some_and(|cam| matches!(cam.auto_check(), AutoCheck::Passed { .. }))
}

/// The shift, once per palette.
fn steps(theme: ThemeChoice, suffix: &'static [&'static str; 10]) -> Vec<Step> {
    let set_theme: fn(&ConsoleApp) -> Vec<AppCommand> = match theme {
        ThemeChoice::Night => |_| vec![AppCommand::Ui(UiCommand::Theme(ThemeChoice::Night))],
        _ => |_| vec![AppCommand::Ui(UiCommand::Theme(ThemeChoice::Day))],
    };
    vec![
        Step { commands: set_theme, ready: always, shot: Some(suffix[0]) },
        Step {
            commands: |_| console(Command::LogOn { officer: "demo-officer".into(), pin: "111111".into() }),
            ready: |app| camera_checked(&app.console) && !app.console.update_running(),
            shot: Some(suffix[1]),
        },
        Step {
            commands: |_| {
                let items = InspectionItem::ALL.iter().map(|i| (*i, true)).collect();
                console(Command::Inspect { camera: 0, inspection: Inspection { items, notes: String::new() } })
            },
            ready: always,
            shot: None,
        },
        Step {
            commands: |_| console(Command::GoActive),
            ready: |app| app.console.history().next().is_some(),
            shot: Some(suffix[2]),
        },
        Step { commands: none, ready: |app| app.console.alarming_hit().is_some(), shot: Some(suffix[3]) },
        Step { commands: |app| hit_step(app, HitAction::Acknowledge), ready: always, shot: Some(suffix[4]) },
        Step { commands: |app| hit_step(app, HitAction::PlateMatches), ready: always, shot: Some(suffix[5]) },
        Step {
            commands: |app| {
                hit_step(
                    app,
                    HitAction::Confirm {
                        dispatcher_id: "D12".into(),
                        incident_number: "26-1044".into(),
                        result: crate::hits::ConfirmResult::ConfirmedActive,
                    },
                )
            },
            ready: |app| app.console.open_hits().iter().any(|h| h.state() == HitState::Confirmed),
            shot: Some(suffix[6]),
        },
        Step {
            commands: |app| {
                let mut c = hit_step(app, HitAction::MarkActionable);
                c.extend(hit_step(app, HitAction::Close { disposition: crate::hits::Disposition::NotLocated }));
                c.push(AppCommand::Ui(UiCommand::Show(View::History)));
                c
            },
            ready: always,
            shot: Some(suffix[7]),
        },
        Step {
            commands: |_| vec![AppCommand::Ui(UiCommand::Show(View::Settings))],
            ready: always,
            shot: Some(suffix[8]),
        },
        Step {
            commands: |_| {
                let mut c = vec![AppCommand::Ui(UiCommand::Show(View::Patrol))];
                c.extend(console(Command::Lock));
                c
            },
            ready: always,
            shot: Some(suffix[9]),
        },
        Step {
            commands: |app| {
                let mut c = console(Command::Unlock { pin: "111111".into() });
                // Hits keep coming in the demo: finish them so the shift can end.
                for hit in app.console.open_hits() {
                    let id = hit.id;
                    if hit.state() == HitState::New {
                        c.extend(console(Command::Hit { id, action: HitAction::Acknowledge }));
                    }
                    let disposition = crate::hits::Disposition::NoAction;
                    c.extend(console(Command::Hit { id, action: HitAction::Close { disposition } }));
                }
                c.extend(console(Command::LogOff));
                c
            },
            ready: |app| app.console.stage() == Stage::Login,
            shot: None,
        },
    ]
}

const DAY: [&str; 10] = [
    "login-day",
    "checklist-day",
    "patrol-day",
    "hit-alert-day",
    "hit-verify-day",
    "hit-confirm-day",
    "hit-confirmed-day",
    "history-day",
    "settings-day",
    "lock-day",
];
const NIGHT: [&str; 10] = [
    "login-night",
    "checklist-night",
    "patrol-night",
    "hit-alert-night",
    "hit-verify-night",
    "hit-confirm-night",
    "hit-confirmed-night",
    "history-night",
    "settings-night",
    "lock-night",
];

/// The tour's progress.
pub struct Tour {
    dir: PathBuf,
    steps: Vec<Step>,
    index: usize,
    applied: bool,
    since: Instant,
    saved: Arc<AtomicUsize>,
    requested: usize,
    /// A screenshot was asked for at this time: its frame is drawn after the request, so
    /// the next step waits before changing the screen.
    shot_at: Option<Instant>,
}

impl std::fmt::Debug for Tour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tour").field("dir", &self.dir).field("step", &self.index).finish()
    }
}

/// How long a screen settles before its screenshot (feeds fill, tone starts).
const SETTLE: Duration = Duration::from_millis(1500);
/// How long a step may wait for its condition before the tour gives up on it.
const STEP_LIMIT: Duration = Duration::from_secs(120);

impl Tour {
    /// A tour that writes PNGs into `dir`.
    pub fn new(dir: PathBuf) -> Self {
        let mut steps = steps(ThemeChoice::Day, &DAY);
        steps.extend(steps_night());
        steps.extend(oversight_steps());
        Self {
            dir,
            steps,
            index: 0,
            applied: false,
            since: Instant::now(),
            saved: Arc::new(AtomicUsize::new(0)),
            requested: 0,
            shot_at: None,
        }
    }

    /// True once every screenshot is saved.
    pub fn finished(&self) -> bool {
        self.index >= self.steps.len() && self.saved.load(Ordering::SeqCst) >= self.requested
    }

    /// Advances the tour by at most one step; call once per frame.
    pub fn drive(&mut self, app: &mut ConsoleApp, ctx: &egui::Context) {
        ctx.request_repaint_after(Duration::from_millis(100));
        if let Some(at) = self.shot_at {
            if at.elapsed() < Duration::from_millis(600) {
                return;
            }
            self.shot_at = None;
        }
        let Some(step) = self.steps.get(self.index) else { return };
        if !self.applied {
            for command in (step.commands)(app) {
                app.apply(command);
            }
            self.applied = true;
            self.since = Instant::now();
            return;
        }
        let waited = self.since.elapsed();
        if !(step.ready)(app) && waited < STEP_LIMIT {
            return;
        }
        if waited < SETTLE {
            return;
        }
        if let Some(name) = step.shot {
            let path = self.dir.join(format!("{name}.png"));
            let saved = self.saved.clone();
            self.requested += 1;
            ctx.request_screenshot(move |image| {
                let (w, h) = (image.size[0] as u32, image.size[1] as u32);
                let rgba: Vec<u8> = image.pixels.iter().flat_map(|p| p.to_array()).collect();
                match image::RgbaImage::from_raw(w, h, rgba).map(|img| img.save(&path)) {
                    Some(Ok(())) => tracing::info!("saved {}", path.display()),
                    Some(Err(err)) => tracing::error!("cannot save {}: {err}", path.display()),
                    None => tracing::error!("screenshot of the wrong size"),
                }
                saved.fetch_add(1, Ordering::SeqCst);
            });
            self.shot_at = Some(Instant::now());
        }
        self.index += 1;
        self.applied = false;
    }
}

fn steps_night() -> Vec<Step> {
    steps(ThemeChoice::Night, &NIGHT)
}

/// A supervisor's view at the end, the usage report of the two demo shifts just run; then the
/// administrator's accounts.
fn oversight_steps() -> Vec<Step> {
    vec![
        Step {
            commands: |_| {
                let mut c = vec![AppCommand::Ui(UiCommand::Theme(ThemeChoice::Day))];
                c.extend(console(Command::LogOn { officer: "demo-supervisor".into(), pin: "222222".into() }));
                c.push(AppCommand::Ui(UiCommand::Show(View::Oversight)));
                c.push(AppCommand::Oversee(crate::console::oversight::OversightCommand::Usage { days: 1 }));
                c
            },
            ready: |app| !app.console.oversight().usage.is_empty(),
            shot: Some("oversight-day"),
        },
        Step {
            commands: |_| {
                let mut c = console(Command::LogOff);
                c.extend(console(Command::LogOn { officer: "demo-admin".into(), pin: "333333".into() }));
                c.push(AppCommand::Ui(UiCommand::Show(View::Admin)));
                c.push(AppCommand::Administer(crate::console::admin::AdminCommand::Load));
                c
            },
            ready: |app| !app.console.admin().users.is_empty(),
            shot: Some("admin-day"),
        },
        Step {
            commands: |_| vec![AppCommand::Ui(UiCommand::Theme(ThemeChoice::Night))],
            ready: always,
            shot: Some("admin-night"),
        },
        Step {
            commands: |_| {
                let mut c = console(Command::LogOff);
                c.extend(console(Command::LogOn { officer: "demo-supervisor".into(), pin: "222222".into() }));
                c.push(AppCommand::Ui(UiCommand::Show(View::Oversight)));
                c.push(AppCommand::Oversee(crate::console::oversight::OversightCommand::Usage { days: 1 }));
                c
            },
            ready: |app| !app.console.oversight().usage.is_empty(),
            shot: Some("oversight-night"),
        },
    ]
}
