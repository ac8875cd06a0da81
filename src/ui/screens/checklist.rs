//! Screen 2, shift-start checklist: per camera a live preview, the automatic checks from
//! camera health and the officer's inspection items; then the hot-list update with its
//! result (a stale list needs an acknowledged warning); then Go active. A failed camera goes
//! out of service and files an equipment report; with none working, ALPR is unavailable.

use eframe::egui::{self, RichText, Vec2};

use crate::console::{Command, Console, Stage};
use crate::session::checklist::{AutoCheck, Inspection, InspectionItem};
use crate::ui::Frame;
use crate::ui::feed::Feed;
use crate::ui::theme::{TOUCH_MIN, big_button, button};

/// The bottom bar's height: the reason line and the button row.
const BAR_H: f32 = 28.0 + 10.0 + 66.0;

/// Quick notes for common defects, so no typing is needed.
const DEFECTS: [&str; 4] = ["Loose mount", "Cracked housing", "Dirty lens", "Damaged cable"];

/// The officer's answers while inspecting.
#[derive(Debug, Default)]
pub struct ChecklistScreen {
    answers: Vec<[Option<bool>; 3]>,
    notes: Vec<String>,
}

impl ChecklistScreen {
    /// Draws the screen.
    pub fn ui(&mut self, ui: &mut egui::Ui, console: &Console, feeds: &[Feed], frame: &mut Frame<'_>) {
        let cameras = console.cameras();
        self.answers.resize(cameras.len(), [None; 3]);
        self.notes.resize(cameras.len(), String::new());
        // The buttons sit in a fixed bar at the bottom of the work area: the checks above grow
        // as the camera check and the hot-list update report, and must not move them.
        let full = ui.available_rect_before_wrap();
        let bar = egui::Rect::from_min_max(egui::pos2(full.min.x, full.max.y - BAR_H), full.max);
        let body = egui::Rect::from_min_max(full.min, egui::pos2(full.max.x, bar.min.y - 4.0));
        ui.scope_builder(egui::UiBuilder::new().max_rect(bar), |ui| self.bar_ui(ui, console, frame));
        ui.scope_builder(egui::UiBuilder::new().max_rect(body), |ui| {
            ui.set_clip_rect(body.intersect(ui.clip_rect()));
            self.body_ui(ui, console, feeds, frame);
        });
    }

    /// The reason GO ACTIVE waits, then the row: Log off and the oversight buttons at the
    /// left, GO ACTIVE at the right.
    fn bar_ui(&mut self, ui: &mut egui::Ui, console: &Console, frame: &mut Frame<'_>) {
        let theme = frame.theme;
        let ready = console.can_go_active();
        let why = match (&ready, console.stage()) {
            (Err(why), Stage::Checklist) => why.clone(),
            _ => String::new(),
        };
        let line = egui::vec2(ui.available_width(), 28.0);
        ui.allocate_ui_with_layout(line, egui::Layout::left_to_right(egui::Align::Center), |ui| {
            ui.add(egui::Label::new(RichText::new(why).color(theme.muted)).truncate());
        });
        ui.horizontal(|ui| {
            if button(ui, "Log off", true).clicked() {
                frame.send(Command::LogOff);
            }
            if console.may_oversee() && button(ui, "Oversight", true).clicked() {
                frame.show(crate::ui::View::Oversight);
                frame.commands.push(crate::ui::AppCommand::Oversee(
                    crate::console::oversight::OversightCommand::Usage { days: 30 },
                ));
            }
            if console.may_administer() && button(ui, "Administration", true).clicked() {
                frame.show(crate::ui::View::Admin);
                frame.commands.push(crate::ui::AppCommand::Administer(crate::console::admin::AdminCommand::Load));
            }
            if console.stage() == Stage::Checklist {
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if big_button(ui, theme, "GO ACTIVE", theme.ok, ready.is_ok()).clicked() {
                        frame.send(Command::GoActive);
                    }
                });
            }
        });
    }

    fn body_ui(&mut self, ui: &mut egui::Ui, console: &Console, feeds: &[Feed], frame: &mut Frame<'_>) {
        let theme = frame.theme;
        let cameras = console.cameras();
        ui.heading("Shift-start checklist");
        crate::ui::theme::finger_scroll().show(ui, |ui| {
            if console.stage() == Stage::Unavailable {
                egui::Frame::NONE.fill(theme.bad).inner_margin(16.0).show(ui, |ui| {
                    ui.label(RichText::new("ALPR UNAVAILABLE: no camera passed the inspection. An equipment report was filed for the ALPR Administrator.").size(crate::ui::theme::TEXT_TITLE).strong().color(theme.on_colour));
                });
            }
            if let Some(err) = console.reader_error() {
                ui.label(RichText::new(format!("ALPR unavailable: {err}")).size(crate::ui::theme::TEXT_EMPHASIS).color(theme.bad));
            } else if console.reader_loading() && cameras.is_empty() {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Starting the recognizer and cameras...");
                });
            } else if cameras.is_empty() {
                ui.label(RichText::new("No camera configured or found.").color(theme.bad));
            }
            for (index, camera) in cameras.iter().enumerate() {
                egui::Frame::group(ui.style()).fill(theme.panel).show(ui, |ui| {
                    ui.horizontal_top(|ui| {
                        let preview = Vec2::new(400.0, 225.0);
                        match feeds.get(index) {
                            Some(feed) => feed.ui(ui, preview, console.latest_frame(index), theme.accent),
                            None => {
                                ui.allocate_exact_size(preview, egui::Sense::hover());
                            }
                        }
                        ui.vertical(|ui| {
                            ui.label(RichText::new(format!("Camera {}", camera.name)).size(crate::ui::theme::TEXT_TITLE).strong());
                            match camera.auto_check() {
                                AutoCheck::Pending => {
                                    ui.horizontal(|ui| {
                                        ui.spinner();
                                        ui.label("Automatic checks: waiting for frames...");
                                    });
                                }
                                AutoCheck::Passed { fps } => {
                                    ui.label(RichText::new(format!("OK: automatic checks passed: frames arriving at {fps:.0}/s, not frozen, not black, in focus")).color(theme.ok));
                                }
                                AutoCheck::Failed(problems) => {
                                    ui.label(RichText::new(format!("FAILED: automatic checks: {}", problems.join("; "))).color(theme.bad));
                                }
                            }
                            if let Some(verdict) = &camera.verdict {
                                let (text, colour) = if verdict.in_service {
                                    ("IN SERVICE".to_owned(), theme.ok)
                                } else {
                                    (format!("OUT OF SERVICE, equipment report filed: {}", verdict.failures.join("; ")), theme.bad)
                                };
                                ui.label(RichText::new(text).size(crate::ui::theme::TEXT_EMPHASIS).strong().color(colour));
                            } else if console.stage() == Stage::Checklist {
                                self.items_ui(ui, index, frame);
                            }
                        });
                    });
                });
            }
            ui.add_space(8.0);
            hotlist_ui(ui, console, frame);
        });
    }

    fn items_ui(&mut self, ui: &mut egui::Ui, index: usize, frame: &mut Frame<'_>) {
        let answers = &mut self.answers[index];
        egui::Grid::new(("items", index)).spacing([12.0, 8.0]).show(ui, |ui| {
            for (k, item) in InspectionItem::ALL.iter().enumerate() {
                ui.label(item.label());
                if ui
                    .add(egui::Button::selectable(answers[k] == Some(true), "OK").min_size(Vec2::splat(TOUCH_MIN)))
                    .clicked()
                {
                    answers[k] = Some(true);
                }
                if ui
                    .add(
                        egui::Button::selectable(answers[k] == Some(false), "Not OK")
                            .min_size(Vec2::new(TOUCH_MIN * 2.0, TOUCH_MIN)),
                    )
                    .clicked()
                {
                    answers[k] = Some(false);
                }
                ui.end_row();
            }
        });
        let notes = &mut self.notes[index];
        if answers.contains(&Some(false)) {
            ui.horizontal_wrapped(|ui| {
                ui.label("Defect:");
                for defect in DEFECTS {
                    if ui
                        .add(
                            egui::Button::selectable(notes.contains(defect), defect)
                                .min_size(Vec2::new(0.0, TOUCH_MIN)),
                        )
                        .clicked()
                        && !notes.contains(defect)
                    {
                        if !notes.is_empty() {
                            notes.push_str("; ");
                        }
                        notes.push_str(defect);
                    }
                }
            });
            ui.add(
                egui::TextEdit::singleline(notes).hint_text("Notes for the ALPR Administrator").desired_width(420.0),
            );
        }
        let answered = answers.iter().all(Option::is_some);
        if button(ui, "Submit inspection", answered).clicked() {
            let items = InspectionItem::ALL.iter().zip(answers.iter()).map(|(i, a)| (*i, a.unwrap_or(false))).collect();
            frame.send(Command::Inspect { camera: index, inspection: Inspection { items, notes: notes.clone() } });
        }
    }
}

/// The hot-list update's progress and result, and the stale-list warning.
fn hotlist_ui(ui: &mut egui::Ui, console: &Console, frame: &mut Frame<'_>) {
    let theme = frame.theme;
    egui::Frame::group(ui.style()).fill(theme.panel).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new("Hot list").size(crate::ui::theme::TEXT_TITLE).strong());
        if console.update_running() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Receiving the updated hot list...");
            });
        } else if let Some(report) = console.update_report() {
            ui.label(RichText::new(&report.message).color(if report.ok { theme.ok } else { theme.warn }));
            if button(ui, "Retry update", true).clicked() {
                frame.send(Command::RetryUpdate);
            }
        }
        let status = console.list_status();
        let age = status.age(console.now()).map_or("no list loaded".to_owned(), |a| format!("{} h {} min old", a.num_hours(), a.num_minutes() % 60));
        ui.label(format!("In use: {} · {} entries · {}", status.version, status.entries, age));
        if !console.update_running() && console.list_is_stale() {
            let limit = console.config().hotlist.max_age_hours;
            ui.label(RichText::new(format!("WARNING: the hot list is stale (older than {limit} h) or missing. Hits may be out of date: every hit must be confirmed with communications.")).strong().color(theme.warn));
            if console.stale_acknowledged() {
                ui.label(RichText::new("Stale list acknowledged (logged).").color(theme.muted));
            } else if big_button(ui, theme, "ACKNOWLEDGE STALE LIST", theme.warn, true).clicked() {
                frame.send(Command::AcknowledgeStale);
            }
        }
    });
}
