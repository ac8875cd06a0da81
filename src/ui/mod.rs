//! The officer console's screens (eframe/egui): one file per screen under `screens/`, the
//! theme, the keypad, the live feed and the alert tone. Screens draw the [`Console`] and
//! push [`AppCommand`]s; the app applies them in one place at the end of the frame.

pub mod feed;
pub mod keypad;
pub mod layout;
pub mod screens;
pub mod theme;
pub mod tone;
pub mod tour;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use eframe::egui::{self, RichText};

use crate::console::{Command, Console, Stage};
use feed::{CropTextures, Feed};
use screens::{
    action_bar, admin, checklist, history, hit_alert, hit_workflow, lock, login, oversight, patrol, settings,
};
use theme::{Theme, ThemeChoice};
use tone::Tone;

/// Which patrol-time screen is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Live feeds and recent reads.
    Patrol,
    /// One hit's workflow.
    Hit(i64),
    /// This shift's reads and hits, and searches.
    History,
    /// Theme, volume, test tone.
    Settings,
    /// Usage report, random audit, accounts, equipment reports (supervisors, administrator).
    Oversight,
    /// Accounts, cameras, hot-list sources and key, retention (the ALPR Administrator).
    Admin,
}

/// Requests that only change the screen, not the shift.
#[derive(Debug, Clone, PartialEq)]
pub enum UiCommand {
    /// Show a view.
    Show(View),
    /// Choose the palette.
    Theme(ThemeChoice),
    /// Alert volume 0-1.
    Volume(f32),
    /// Play a test tone of this priority.
    TestTone(i32),
}

/// Everything a screen can ask for.
#[derive(Debug, Clone, PartialEq)]
pub enum AppCommand {
    /// A shift command for the console.
    Console(Command),
    /// A screen change.
    Ui(UiCommand),
    /// An oversight request (supervisors, administrator).
    Oversee(crate::console::oversight::OversightCommand),
    /// An administration request (the ALPR Administrator).
    Administer(crate::console::admin::AdminCommand),
}

/// Settings of the screen itself.
#[derive(Debug, Clone)]
pub struct UiOptions {
    /// Palette choice.
    pub theme: ThemeChoice,
    /// Alert volume 0-1.
    pub volume: f32,
    /// Open the sound device (false in tests: silent).
    pub sound: bool,
}

/// What the screens share while drawing: the theme and the command queue.
pub struct Frame<'a> {
    /// Colours and sizes.
    pub theme: &'a Theme,
    /// Commands to apply after drawing.
    pub commands: &'a mut Vec<AppCommand>,
    /// The last command's refusal, for the screen to show where the officer looks.
    pub message: Option<&'a str>,
}

impl Frame<'_> {
    /// Queues a shift command.
    pub fn send(&mut self, command: Command) {
        self.commands.push(AppCommand::Console(command));
    }

    /// Queues a screen change.
    pub fn show(&mut self, view: View) {
        self.commands.push(AppCommand::Ui(UiCommand::Show(view)));
    }
}

/// The officer console app.
pub struct ConsoleApp {
    /// The shift behind the screens.
    pub console: Console,
    theme_choice: ThemeChoice,
    theme: Theme,
    /// The alert tone.
    pub tone: Tone,
    view: View,
    /// One live texture per camera.
    pub feeds: Vec<Feed>,
    crops: CropTextures,
    login: login::LoginScreen,
    checklist: checklist::ChecklistScreen,
    patrol: patrol::PatrolScreen,
    workflow: hit_workflow::HitWorkflowScreen,
    history: history::HistoryScreen,
    settings: settings::SettingsScreen,
    lock: lock::LockScreen,
    actions: action_bar::ActionBar,
    oversight: oversight::OversightScreen,
    admin: admin::AdminScreen,
    commands: Vec<AppCommand>,
    /// The last command's refusal or failure, shown until the next command.
    pub message: Option<String>,
    /// Read-to-banner latency of each hit shown, in ms (hit id, ms).
    pub banner_latency_ms: Vec<(i64, f64)>,
    /// CPU time per frame (eframe's measure), in ms, the last 600 frames.
    pub frame_ms: VecDeque<f32>,
    applied_palette: Option<theme::Palette>,
}

impl std::fmt::Debug for ConsoleApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleApp").field("view", &self.view).field("console", &self.console).finish_non_exhaustive()
    }
}

impl ConsoleApp {
    /// The app around a console.
    pub fn new(mut console: Console, options: &UiOptions) -> Self {
        let tone = if options.sound { Tone::open(options.volume) } else { Tone::silent("sound off", options.volume) };
        // The tone starts from the hit, on the matcher's thread: a window that is not being
        // drawn (minimized, throttled) still sounds the alarm.
        let starter = tone.starter();
        console.set_hit_hook(Arc::new(move |priority| starter.start(priority)));
        Self {
            console,
            theme_choice: options.theme,
            theme: Theme::new(options.theme.palette_now()),
            tone,
            view: View::Patrol,
            feeds: Vec::new(),
            crops: CropTextures::default(),
            login: login::LoginScreen::default(),
            checklist: checklist::ChecklistScreen::default(),
            patrol: patrol::PatrolScreen,
            workflow: hit_workflow::HitWorkflowScreen::default(),
            history: history::HistoryScreen::default(),
            settings: settings::SettingsScreen,
            lock: lock::LockScreen::default(),
            actions: action_bar::ActionBar::default(),
            oversight: oversight::OversightScreen::default(),
            admin: admin::AdminScreen::default(),
            commands: Vec::new(),
            message: None,
            banner_latency_ms: Vec::new(),
            frame_ms: VecDeque::new(),
            applied_palette: None,
        }
    }

    /// The view shown during patrol.
    pub fn view(&self) -> View {
        self.view
    }

    /// The theme in use.
    pub fn theme(&self) -> &Theme {
        &self.theme
    }

    /// Drains the console's workers, keeps the alarm sounding, updates the feeds.
    pub fn logic(&mut self, ctx: &egui::Context) {
        self.console.poll();
        let palette = self.theme_choice.palette_now();
        if self.applied_palette != Some(palette) {
            self.theme = Theme::new(palette);
            self.theme.apply(ctx);
            self.applied_palette = Some(palette);
        }
        let names: Vec<String> = self.console.cameras().iter().map(|c| c.name.clone()).collect();
        self.feeds.resize_with(names.len(), Feed::default);
        for (i, name) in names.iter().enumerate() {
            if let Some(frame) = self.console.latest_frame(i) {
                self.feeds[i].update(ctx, name, frame);
            }
        }
        match self.console.alarming_hit().map(|h| h.priority) {
            Some(priority) => self.tone.alarm(priority, Instant::now()),
            None => self.tone.silence(),
        }
        // The tone repeats and the clock in the status bar moves: keep frames coming, but
        // slowly when nothing happens (workers wake us for news).
        ctx.request_repaint_after(std::time::Duration::from_millis(250));
    }

    /// One whole frame: [`Self::logic`] then [`Self::draw`] (what a test harness drives; eframe
    /// calls the two itself).
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.logic(&ctx);
        self.draw(ui);
    }

    /// Draws the whole console into `ui` in the fixed regions of [`layout::Regions`], then
    /// applies the commands the screens queued.
    pub fn draw(&mut self, ui: &mut egui::Ui) {
        if ui.input(|i| i.pointer.any_pressed() || !i.events.is_empty() && i.events.iter().any(is_touch)) {
            self.console.touch();
        }
        let mut commands = std::mem::take(&mut self.commands);
        let locked = self.console.is_locked();
        let patrol = self.console.stage() == Stage::Patrol;
        let screen = ui.available_rect_before_wrap();
        let regions = layout::Regions::split(screen, locked || patrol, patrol && !locked);
        // The whole screen is the regions' and nothing else's.
        ui.allocate_rect(screen, egui::Sense::hover());
        let banner = self.console.alarming_hit().map(|h| h.id);
        {
            let mut frame = Frame { theme: &self.theme, commands: &mut commands, message: self.message.as_deref() };
            in_region(ui, regions.status, "status", |ui| status_bar_ui(ui, &self.console, &self.tone, &mut frame));
            in_region(ui, regions.message, "message", |ui| message_slot_ui(ui, &self.console, &frame));
            if let Some(rect) = regions.alert {
                in_region(ui, rect, "alert", |ui| {
                    hit_alert::slot_ui(ui, &self.console, locked, &mut self.crops, &mut frame);
                });
            }
            if let Some(rect) = regions.actions {
                let view = self.view;
                in_region(ui, rect, "actions", |ui| self.actions.ui(ui, &self.console, view, &mut frame));
            }
            in_region(ui, regions.work, "work", |ui| {
                if locked {
                    self.lock.ui(ui, &self.console, &mut frame);
                    return;
                }
                match self.console.stage() {
                    Stage::Login => self.login.ui(ui, &self.console, &mut frame),
                    _ if self.view == View::Oversight && self.console.may_oversee() => {
                        self.oversight.ui(ui, &self.console, &mut frame);
                    }
                    _ if self.view == View::Admin && self.console.may_administer() => {
                        self.admin.ui(ui, &self.console, &mut frame);
                    }
                    Stage::Checklist | Stage::Unavailable => {
                        self.checklist.ui(ui, &self.console, &self.feeds, &mut frame);
                    }
                    Stage::Patrol => match self.view {
                        View::Patrol => self.patrol.ui(ui, &self.console, &self.feeds, &mut self.crops, &mut frame),
                        View::Hit(id) => self.workflow.ui(ui, &self.console, id, &mut self.crops, &mut frame),
                        View::History => self.history.ui(ui, &self.console, &mut self.crops, &mut frame),
                        View::Settings => {
                            let health = settings::Health { frame_ms: frame_percentiles(&self.frame_ms) };
                            self.settings.ui(ui, &self.console, &health, self.theme_choice, &self.tone, &mut frame);
                        }
                        View::Oversight | View::Admin => Self::view_fallback(ui, &mut frame),
                    },
                }
            });
        }
        if let Some(id) = banner.filter(|_| locked || patrol) {
            self.note_banner(id);
        }
        for command in commands {
            self.apply(command);
        }
    }

    fn view_fallback(ui: &mut egui::Ui, frame: &mut Frame<'_>) {
        // Only reached when the role does not allow the view asked for.
        ui.label("Oversight is for supervisors and the ALPR Administrator; administration for the Administrator.");
        if theme::button(ui, "Back to patrol", true).clicked() {
            frame.show(View::Patrol);
        }
    }

    /// What one user typed or chose is never shown to the next: checklist answers, entries
    /// in progress, dialogs.
    fn forget_user_input(&mut self) {
        self.view = View::Patrol;
        self.login = login::LoginScreen::default();
        self.checklist = checklist::ChecklistScreen::default();
        self.workflow = hit_workflow::HitWorkflowScreen::default();
        self.history = history::HistoryScreen::default();
        self.lock = lock::LockScreen::default();
        self.actions = action_bar::ActionBar::default();
        self.oversight = oversight::OversightScreen::default();
        self.admin = admin::AdminScreen::default();
    }

    fn note_banner(&mut self, id: i64) {
        if self.banner_latency_ms.iter().any(|(h, _)| *h == id) {
            return;
        }
        if let Some(detail) = self.console.hit_detail(id) {
            let ms = detail.received.elapsed().as_secs_f64() * 1000.0;
            tracing::info!(hit = id, latency_ms = ms, "hit banner on screen");
            self.banner_latency_ms.push((id, ms));
        }
    }

    /// Applies one command: screen changes here, shift commands through the console.
    pub fn apply(&mut self, command: AppCommand) {
        match command {
            AppCommand::Ui(UiCommand::Show(view)) => {
                self.view = view;
                self.message = None;
            }
            AppCommand::Ui(UiCommand::Theme(choice)) => {
                self.theme_choice = choice;
                self.applied_palette = None;
            }
            AppCommand::Ui(UiCommand::Volume(v)) => self.tone.set_volume(v),
            AppCommand::Ui(UiCommand::TestTone(p)) => self.tone.test(p),
            AppCommand::Oversee(command) => self.message = self.console.oversee(command).err(),
            AppCommand::Administer(command) => self.message = self.console.administer(command).err(),
            AppCommand::Console(command) => {
                let acknowledged = match &command {
                    Command::Hit { id, action: crate::hits::HitAction::Acknowledge } => Some(*id),
                    _ => None,
                };
                let changes_user = matches!(command, Command::LogOn { .. } | Command::LogOff);
                match self.console.apply(command) {
                    Ok(()) => {
                        self.message = None;
                        if let Some(id) = acknowledged {
                            // Straight to the workflow of the hit just acknowledged.
                            self.view = View::Hit(id);
                        }
                        if changes_user {
                            self.forget_user_input();
                        }
                    }
                    Err(err) => {
                        if err.is_failure() {
                            tracing::error!(%err, "console command failed");
                        }
                        self.message = Some(err.to_string());
                    }
                }
            }
        }
        if matches!(self.view, View::Hit(id) if self.console.hit(id).is_none()) {
            self.view = View::Patrol;
        }
    }
}

/// The frame times' median and 95th percentile, ms.
fn frame_percentiles(frame_ms: &VecDeque<f32>) -> Option<(f64, f64)> {
    crate::console::percentiles(frame_ms.iter().map(|&ms| f64::from(ms)))
}

fn is_touch(event: &egui::Event) -> bool {
    matches!(event, egui::Event::Touch { .. } | egui::Event::Text(_) | egui::Event::Key { .. })
}

impl eframe::App for ConsoleApp {
    fn logic(&mut self, ctx: &egui::Context, frame: &mut eframe::Frame) {
        if let Some(cpu) = frame.info().cpu_usage {
            self.frame_ms.push_back(cpu * 1000.0);
            if self.frame_ms.len() > 600 {
                self.frame_ms.pop_front();
            }
        }
        // Runs before every frame and also while the window is hidden, so alerts and reads
        // are never left waiting in the channels.
        ConsoleApp::logic(self, ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        egui::CentralPanel::default().show(ui, |ui| self.draw(ui));
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        if let Some((median_ms, p95_ms)) = frame_percentiles(&self.frame_ms) {
            tracing::info!(frames = self.frame_ms.len(), median_ms, p95_ms, "UI frame CPU time");
        }
        if let Some((median_ms, p95_ms)) = self.console.hit_frame_ms() {
            tracing::info!(median_ms, p95_ms, "frame closing the pass to hit committed");
        }
        if let Some((median_ms, p95_ms)) = self.console.hit_latency_ms() {
            tracing::info!(median_ms, p95_ms, "end of pass to hit committed");
        }
        if let Some((median_ms, p95_ms)) = self.console.hit_commit_ms() {
            tracing::info!(median_ms, p95_ms, "read published to hit committed (matcher)");
        }
    }
}

/// The bar across the top: who, ALPR state, hot list, cameras, frame rate, sound, DEMO.
fn status_bar_ui(ui: &mut egui::Ui, console: &Console, tone: &Tone, frame: &mut Frame<'_>) {
    let theme = frame.theme;
    egui::Frame::NONE.fill(theme.panel).inner_margin(egui::Margin::symmetric(8, 4)).show(ui, |ui| {
        ui.set_width(ui.available_width());
        // One line, never wrapped: a second line would push everything below it down.
        ui.horizontal(|ui| {
            if console.is_demo() {
                ui.label(
                    RichText::new(" DEMO ")
                        .strong()
                        .size(crate::ui::theme::TEXT_TITLE)
                        .background_color(theme.demo)
                        .color(theme.text_on(theme.demo)),
                )
                .on_hover_text("Simulated traffic, fictitious hot list and demo users: not for patrol use");
            }
            match console.session() {
                Some(s) => ui.label(RichText::new(format!("{} ({})", s.user.name, s.user.id)).strong()),
                None => ui.label(RichText::new("Not logged on").color(theme.muted)),
            };
            if console.stage() == Stage::Patrol {
                let active = console.active_time();
                let (text, colour) = if console.is_active() {
                    (format!("ALPR ACTIVE {}:{:02}", active.num_hours(), active.num_minutes() % 60), theme.ok)
                } else {
                    ("ALPR DEACTIVATED".to_owned(), theme.warn)
                };
                ui.label(RichText::new(text).strong().color(colour));
            }
            // The clock early on the line: the bar is one line and clips at the right edge.
            ui.label(RichText::new(chrono::Local::now().format("%H:%M").to_string()).strong());
            // No tone means no audible alert: said before anything the edge could clip.
            match tone.unavailable() {
                Some(_) => ui.label(RichText::new("NO SOUND").strong().color(theme.warn)),
                None => ui.label(format!("Sound {:.0}%", tone.volume() * 100.0)),
            };
            let status = console.list_status();
            let age = status.age(console.now());
            let list_text = match age {
                Some(age) => {
                    format!("List {} h {:02} min old", age.num_hours(), age.num_minutes() % 60)
                }
                None => "No hot list".to_owned(),
            };
            gps_ui(ui, console, theme);
            ui.label(RichText::new(list_text).color(if console.list_is_stale() { theme.warn } else { theme.text }))
                .on_hover_text(format!("hot list {}", status.version));
            if let Some((short, full, warn)) = console.fleet_status() {
                ui.label(RichText::new(short).color(if warn { theme.warn } else { theme.muted })).on_hover_text(full);
            }
            for camera in console.cameras() {
                let (ok, fps) = (
                    camera.status.as_ref().is_some_and(|s| s.problems.is_empty()),
                    camera.status.as_ref().map_or(0.0, |s| s.fps),
                );
                let colour = if !camera.in_service && camera.verdict.is_some() {
                    theme.muted
                } else if ok {
                    theme.ok
                } else {
                    theme.bad
                };
                let short = camera.name.split(':').next().unwrap_or(&camera.name);
                ui.label(RichText::new(format!("{short} {fps:.0} fps")).color(colour)).on_hover_text(&camera.name);
            }
            if let Some(stats) = console.pipeline_stats().filter(|_| console.is_active()) {
                ui.label(RichText::new(format!("read {:.0}/s", stats.fps)).color(theme.muted));
            }
        });
    });
}

/// The GPS in the status bar: the fix's age and satellites, or why there is none.
fn gps_ui(ui: &mut egui::Ui, console: &Console, theme: &Theme) {
    let Some(health) = console.gps_health() else { return };
    let max_age = i64::from(console.config().location.max_fix_age_ms);
    let age = health.latest.map(|fix| (console.now() - fix.time).num_milliseconds());
    let (text, colour) = match age {
        Some(age) if age <= max_age => {
            let sats = health.satellites.map(|n| format!(" · {n} sat")).unwrap_or_default();
            (format!("GPS {:.0} s{sats}", (age.max(0) as f64) / 1000.0), theme.ok)
        }
        Some(age) => (format!("NO GPS FIX ({} s)", age / 1000), theme.warn),
        None => ("NO GPS FIX".to_owned(), theme.warn),
    };
    let detail =
        health.problem.clone().unwrap_or_else(|| format!("{}; {} bad reports skipped", health.source, health.bad));
    ui.label(RichText::new(text).color(colour)).on_hover_text(detail);
}

/// The message line: the last command's refusal, else a problem notice of the last 30 s.
fn message_slot_ui(ui: &mut egui::Ui, console: &Console, frame: &Frame<'_>) {
    let notice = console.notices().last().filter(|n| n.problem && (console.now() - n.time).num_seconds() < 30);
    let text = frame.message.or(notice.map(|n| n.text.as_str()));
    if let Some(text) = text {
        ui.label(RichText::new(text).size(crate::ui::theme::TEXT_LEAD).strong().color(frame.theme.bad))
            .on_hover_text(text);
    }
}

/// Draws `add` inside `rect` only, clipped to it, so that what a region holds never spills
/// into (or moves) another.
fn in_region(ui: &mut egui::Ui, rect: egui::Rect, id: &str, add: impl FnOnce(&mut egui::Ui)) {
    ui.scope_builder(egui::UiBuilder::new().max_rect(rect).id_salt(id), |ui| {
        ui.set_clip_rect(rect.intersect(ui.clip_rect()));
        add(ui);
    });
}
