//! Screen 5, the hit workflow: the read's crop and frame beside the hot-list entry, with an
//! approximate match's substituted characters marked; then plate matches or misread, the
//! confirmation with communications, and only for a confirmed hit "Mark actionable". The
//! exigent path demands a written justification and still asks for the confirmation. The
//! console applies each step through the lifecycle, which refuses anything out of order.

use eframe::egui::{self, Color32, RichText, Vec2};

use crate::console::{Command, Console, HitDetail};
use crate::hits::{ConfirmResult, Disposition, HitAction, HitRecord, HitState, MIN_JUSTIFICATION_CHARS};
use crate::hotlist::EntryMatch;
use crate::ui::feed::CropTextures;
use crate::ui::keypad::{Keys, entry_ui, keypad_ui};
use crate::ui::theme::{TOUCH_MIN, big_button, button};
use crate::ui::{Frame, View};

/// Misread reasons offered, so no typing is needed.
const MISREADS: [&str; 4] = ["A character differs", "Different state", "Not a licence plate", "Plate partly hidden"];

/// Which keypad field is active in the confirmation form.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Field {
    #[default]
    Dispatcher,
    Incident,
}

/// What is being entered on the workflow screen.
#[derive(Debug, Default)]
pub struct HitWorkflowScreen {
    hit: i64,
    misread: Option<String>,
    dispatcher: String,
    incident: String,
    field: Field,
    result: Option<ConfirmResult>,
    exigent: Option<String>,
}

impl HitWorkflowScreen {
    /// Draws the workflow of hit `id`.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        console: &Console,
        id: i64,
        crops: &mut CropTextures,
        frame: &mut Frame<'_>,
    ) {
        if self.hit != id {
            *self = Self { hit: id, ..Self::default() };
        }
        let theme = frame.theme;
        let Some(hit) = console.hit(id).cloned() else {
            frame.show(View::Patrol);
            return;
        };
        let detail = console.hit_detail(id);
        ui.horizontal(|ui| {
            ui.heading(format!("Hit {} · {}", hit.plate, state_words(&hit)));
            if button(ui, "Back to patrol", true).clicked() {
                frame.show(View::Patrol);
            }
        });
        super::message_ui(ui, frame);
        egui::ScrollArea::vertical().show(ui, |ui| {
            // The comparison the officer must make, side by side, above the steps.
            ui.horizontal_top(|ui| {
                if let Some(detail) = detail {
                    ui.vertical(|ui| {
                        ui.set_width(330.0);
                        read_ui(ui, detail, crops, theme.muted);
                    });
                    if let Some(m) = detail.hit.top() {
                        ui.vertical(|ui| {
                            ui.set_width(if ui.available_width() >= 900.0 { 560.0 } else { 480.0 });
                            entry_ui_panel(ui, m, theme.warn);
                        });
                    }
                    // The frame goes beside the entry where there is room (1280 px and up).
                    if let Some(image) = detail.frame.as_ref().filter(|_| ui.available_width() >= 300.0) {
                        ui.vertical(|ui| {
                            ui.label(RichText::new("Frame").strong());
                            let texture = crops.get(ui.ctx(), -super::patrol::crop_key(&detail.read) - 1, image);
                            ui.add(egui::Image::new(&texture).fit_to_exact_size(Vec2::new(340.0, 191.0)));
                        });
                    }
                } else {
                    ui.label("The read's images are no longer held.");
                }
            });
            ui.separator();
            self.steps_ui(ui, &hit, frame);
            ui.separator();
            timeline_ui(ui, &hit, theme.muted);
        });
    }

    fn steps_ui(&mut self, ui: &mut egui::Ui, hit: &HitRecord, frame: &mut Frame<'_>) {
        let theme = frame.theme;
        let id = hit.id;
        match hit.state {
            HitState::New => {
                ui.label("Acknowledge the alert first.");
            }
            HitState::Acknowledged => {
                ui.label(RichText::new("Step 1: compare the plate crop with the hot-list entry, character by character, and the state.").size(22.0));
                ui.horizontal(|ui| {
                    if big_button(ui, theme, "PLATE MATCHES", theme.ok, true).clicked() {
                        frame.send(Command::Hit { id, action: HitAction::PlateMatches });
                    }
                    if big_button(ui, theme, "MISREAD", theme.bad, true).clicked() {
                        self.misread = Some(String::new());
                    }
                });
                self.misread_ui(ui, id, frame);
            }
            HitState::Verified => {
                ui.label(RichText::new("Step 2: confirm the record with communications before any action.").size(22.0));
                self.confirm_ui(ui, id, frame);
                ui.add_space(8.0);
                self.exigent_ui(ui, id, frame);
                if button(ui, "Misread after all", true).clicked() {
                    self.misread = Some(String::new());
                }
                self.misread_ui(ui, id, frame);
            }
            HitState::Confirmed => {
                ui.label(
                    RichText::new(format!(
                        "Communications confirmed the record (dispatcher {}, incident {}).",
                        hit.dispatcher_id.as_deref().unwrap_or("?"),
                        hit.incident_number.as_deref().unwrap_or("?")
                    ))
                    .size(22.0)
                    .color(theme.ok),
                );
                if big_button(ui, theme, "MARK ACTIONABLE", theme.ok, true).clicked() {
                    frame.send(Command::Hit { id, action: HitAction::MarkActionable });
                }
                disposition_ui(ui, id, frame);
            }
            HitState::Actionable => {
                ui.label(RichText::new("ACTIONABLE: confirmed by communications.").size(26.0).strong().color(theme.ok));
                disposition_ui(ui, id, frame);
            }
            HitState::ActionableExigent => {
                ui.label(
                    RichText::new("ACTIONABLE UNDER EXIGENT CIRCUMSTANCES: flagged for supervisor review.")
                        .size(26.0)
                        .strong()
                        .color(theme.warn),
                );
                if hit.confirmed.is_none() {
                    ui.label("Record the confirmation with communications as soon as possible.");
                    self.confirm_ui(ui, id, frame);
                } else {
                    disposition_ui(ui, id, frame);
                }
            }
            HitState::Rejected => {
                ui.label(
                    RichText::new("Not actionable: misread, or not confirmed by communications.")
                        .size(22.0)
                        .color(theme.muted),
                );
                disposition_ui(ui, id, frame);
            }
            HitState::Closed => {
                ui.label("Closed.");
            }
        }
    }

    fn misread_ui(&mut self, ui: &mut egui::Ui, id: i64, frame: &mut Frame<'_>) {
        let theme = frame.theme;
        let Some(reason) = &mut self.misread else { return };
        ui.label("Why is the read wrong?");
        ui.horizontal_wrapped(|ui| {
            for choice in MISREADS {
                if ui
                    .add(egui::Button::selectable(reason == choice, choice).min_size(Vec2::new(0.0, TOUCH_MIN)))
                    .clicked()
                {
                    *reason = choice.to_owned();
                }
            }
        });
        let ready = !reason.trim().is_empty();
        if big_button(ui, theme, "RECORD MISREAD", theme.bad, ready).clicked() {
            frame.send(Command::Hit { id, action: HitAction::Misread { reason: reason.clone() } });
            self.misread = None;
        }
    }

    fn confirm_ui(&mut self, ui: &mut egui::Ui, id: i64, frame: &mut Frame<'_>) {
        let theme = frame.theme;
        // Side by side on wide screens; the keypad below the form on 1024-px ones.
        let layout = if ui.available_width() >= 1200.0 {
            egui::Layout::left_to_right(egui::Align::Min)
        } else {
            egui::Layout::top_down(egui::Align::Min)
        };
        ui.with_layout(layout, |ui| {
            ui.vertical(|ui| {
                ui.horizontal(|ui| {
                    if entry_ui(ui, "Dispatcher id", &self.dispatcher, false, self.field == Field::Dispatcher).clicked()
                    {
                        self.field = Field::Dispatcher;
                    }
                    if entry_ui(ui, "Incident number", &self.incident, false, self.field == Field::Incident).clicked() {
                        self.field = Field::Incident;
                    }
                });
                ui.horizontal(|ui| {
                    ui.label("Result:");
                    for result in ConfirmResult::ALL {
                        let button = egui::Button::selectable(self.result == Some(result), result.label());
                        if ui.add(button.min_size(Vec2::new(0.0, TOUCH_MIN))).clicked() {
                            self.result = Some(result);
                        }
                    }
                });
                let ready = !self.dispatcher.is_empty() && !self.incident.is_empty() && self.result.is_some();
                if big_button(ui, theme, "RECORD CONFIRMATION", theme.accent, ready).clicked()
                    && let Some(result) = self.result
                {
                    frame.send(Command::Hit {
                        id,
                        action: HitAction::Confirm {
                            dispatcher_id: self.dispatcher.clone(),
                            incident_number: self.incident.clone(),
                            result,
                        },
                    });
                }
            });
            ui.vertical(|ui| {
                let text = match self.field {
                    Field::Dispatcher => &mut self.dispatcher,
                    Field::Incident => &mut self.incident,
                };
                if keypad_ui(ui, "confirm-keypad", text, Keys::Alphanumeric, 20) {
                    self.field = Field::Incident;
                }
            });
        });
    }

    fn exigent_ui(&mut self, ui: &mut egui::Ui, id: i64, frame: &mut Frame<'_>) {
        let theme = frame.theme;
        match &mut self.exigent {
            None => {
                if button(ui, "Exigent circumstances...", true).clicked() {
                    self.exigent = Some(String::new());
                }
            }
            Some(text) => {
                let mut cancel = false;
                egui::Frame::group(ui.style()).stroke(egui::Stroke::new(2.0, theme.warn)).show(ui, |ui| {
                    ui.label(RichText::new("Acting before confirmation needs a written justification. The hit is flagged for supervisor review and the confirmation is still required afterwards.").color(theme.warn));
                    ui.add(egui::TextEdit::multiline(text).hint_text("Why waiting for communications is not possible").desired_width(ui.available_width()).desired_rows(3));
                    let n = text.trim().chars().count();
                    ui.label(RichText::new(format!("{n} / {MIN_JUSTIFICATION_CHARS} characters at least")).small());
                    ui.horizontal(|ui| {
                        if big_button(ui, theme, "ACT UNDER EXIGENT CIRCUMSTANCES", theme.warn, n >= MIN_JUSTIFICATION_CHARS).clicked() {
                            frame.send(Command::Hit { id, action: HitAction::Exigent { justification: text.clone() } });
                        }
                        if button(ui, "Cancel", true).clicked() {
                            cancel = true;
                        }
                    });
                });
                if cancel {
                    self.exigent = None;
                }
            }
        }
    }
}

fn state_words(hit: &HitRecord) -> &'static str {
    match hit.state {
        HitState::New => "new",
        HitState::Acknowledged => "verify the plate",
        HitState::Verified => "confirm with communications",
        HitState::Confirmed => "confirmed",
        HitState::Actionable => "actionable",
        HitState::ActionableExigent => "actionable (exigent)",
        HitState::Rejected => "not actionable",
        HitState::Closed => "closed",
    }
}

fn disposition_ui(ui: &mut egui::Ui, id: i64, frame: &mut Frame<'_>) {
    ui.label("Close the hit with its disposition:");
    ui.horizontal_wrapped(|ui| {
        for disposition in Disposition::ALL {
            if button(ui, disposition.label(), true).clicked() {
                frame.send(Command::Hit { id, action: HitAction::Close { disposition } });
            }
        }
    });
}

fn read_ui(ui: &mut egui::Ui, detail: &HitDetail, crops: &mut CropTextures, muted: Color32) {
    ui.label(RichText::new("What the camera read").strong());
    let texture = crops.get(ui.ctx(), super::patrol::crop_key(&detail.read), &detail.read.crop);
    ui.add(egui::Image::new(&texture).fit_to_exact_size(Vec2::new(320.0, 96.0)));
    ui.label(RichText::new(&detail.read.text).monospace().size(34.0).strong());
    let when = detail.read.time.with_timezone(&chrono::Local).format("%H:%M:%S");
    ui.label(RichText::new(format!("{:.0}% · {when}", detail.read.confidence * 100.0)).color(muted));
    ui.label(RichText::new(format!("camera {}", detail.read.camera)).color(muted));
}

/// The hot-list entry, with the substituted characters of an approximate match marked.
fn entry_ui_panel(ui: &mut egui::Ui, m: &EntryMatch, mark: Color32) {
    let e = &m.entry;
    ui.label(RichText::new("Hot-list entry").strong());
    ui.horizontal(|ui| {
        ui.spacing_mut().item_spacing.x = 2.0;
        for (i, ch) in e.plate.chars().enumerate() {
            let sub = m.substitutions.iter().find(|s| s.position == i);
            let text = RichText::new(ch.to_string()).monospace().size(34.0).strong();
            ui.label(if sub.is_some() { text.background_color(mark) } else { text });
        }
    });
    for s in &m.substitutions {
        ui.label(
            RichText::new(format!(
                "Position {}: read '{}', list has '{}': compare carefully",
                s.position + 1,
                s.read,
                s.listed
            ))
            .color(mark),
        );
    }
    if m.state_mismatch {
        ui.label(RichText::new("The read's state differs from the entry's state").color(mark).strong());
    }
    egui::Grid::new("entry").spacing([16.0, 4.0]).min_row_height(26.0).show(ui, |ui| {
        let v = &e.vehicle;
        let vehicle =
            [v.year.map(|y| y.to_string()).unwrap_or_default(), v.make.clone(), v.model.clone(), v.colour.clone()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
        let rows: [(&str, String); 6] = [
            ("State", e.state.clone().unwrap_or_else(|| "not listed".into())),
            ("List", format!("{} ({})", e.list, e.category.as_str().replace('_', " "))),
            ("Vehicle", if vehicle.is_empty() { "not described".into() } else { vehicle }),
            ("NCIC / record", e.record_number.clone()),
            ("Reason", if e.covert { "covert entry: ask communications".into() } else { e.reason.clone() }),
            ("Match", format!("{:?}", m.kind).to_lowercase()),
        ];
        for (k, v) in rows {
            ui.label(RichText::new(k).strong());
            ui.label(v);
            ui.end_row();
        }
    });
}

fn timeline_ui(ui: &mut egui::Ui, hit: &HitRecord, muted: Color32) {
    let fmt = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.with_timezone(&chrono::Local).format("%H:%M:%S").to_string())
    };
    let steps = [
        ("raised", Some(hit.raised.with_timezone(&chrono::Local).format("%H:%M:%S").to_string())),
        ("acknowledged", fmt(hit.acknowledged)),
        ("plate verified", fmt(hit.verified)),
        ("communications", fmt(hit.confirmed)),
        ("actionable", fmt(hit.actionable)),
        ("closed", fmt(hit.closed)),
    ];
    ui.horizontal_wrapped(|ui| {
        for (name, time) in steps {
            if let Some(time) = time {
                ui.label(RichText::new(format!("{name} {time}")).color(muted));
            }
        }
    });
}
