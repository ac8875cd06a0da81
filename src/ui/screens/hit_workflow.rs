//! Screen 5, the hit workflow: the read's crop and frame beside the hot-list entry, with an
//! approximate match's substituted characters marked; then plate matches or misread, the
//! confirmation with communications, and only for a confirmed hit "Mark actionable". The
//! exigent path demands a written justification and still asks for the confirmation. The
//! console applies each step through the lifecycle, which refuses anything out of order.

use eframe::egui::{self, Color32, RichText, Vec2};

use crate::console::{Command, Console, HitDetail};
use crate::hits::{ConfirmResult, Disposition, HitAction, HitEnding, HitRecord, HitState, MIN_JUSTIFICATION_CHARS};
use crate::hotlist::EntryMatch;
use crate::ui::feed::CropTextures;
use crate::ui::keypad::{Keys, entry_ui, keypad_ui};
use crate::ui::theme::{TOUCH_MIN, big_button, button};
use crate::ui::{Frame, View};

/// Misread reasons offered, so no typing is needed.
const MISREADS: [&str; 4] = ["A character differs", "Different state", "Not a licence plate", "Plate partly hidden"];

/// Which field the on-screen keyboard types into: one at a time, the one marked.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Field {
    #[default]
    Dispatcher,
    Incident,
    Justification,
}

/// Phrases an officer can start an exigent justification with (the button's words, the text
/// it adds), then complete on the keyboard.
const EXIGENT_PICKS: [(&str, &str); 4] = [
    ("Fleeing, will be lost", "Vehicle is fleeing and will be lost before dispatch answers. "),
    ("Threat to life", "Occupants pose an immediate threat to life. "),
    ("AMBER alert vehicle in sight", "Matches an active AMBER alert vehicle in sight. "),
    ("Radio down", "Communications cannot be reached (radio down). "),
];

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
            // Last on the row, so that its appearing moves nothing: repeat reads of this
            // plate while the hit is open or quiet after its decision.
            let reads: Vec<_> = console.history().filter(|r| r.hit_id == Some(id)).collect();
            if let Some(last) = reads.first().filter(|_| reads.len() > 1) {
                let at = last.time.with_timezone(&chrono::Local).format("%H:%M:%S");
                ui.label(
                    RichText::new(format!("read again {} times, last {at} (no new alarm)", reads.len() - 1))
                        .color(theme.muted),
                );
            }
        });
        // Each hit opens at its top (the scroll position is the hit's own).
        crate::ui::theme::finger_scroll().id_salt(("hit-workflow", id)).show(ui, |ui| {
            match (detail, hit.state()) {
                // Step 1 is the comparison itself: shown in full, side by side.
                (Some(detail), HitState::New | HitState::Acknowledged) => comparison_ui(ui, detail, crops, theme),
                // Afterwards one line recalls what was compared, leaving the room to the step.
                (Some(detail), _) => compact_ui(ui, detail, console.position_now(), crops, theme.muted),
                (None, _) => {
                    ui.label("The read's images are no longer held.");
                }
            }
            self.steps_ui(ui, &hit, detail.and_then(|d| d.decision.as_deref()), frame);
            ui.separator();
            timeline_ui(ui, &hit, theme.muted);
        });
    }

    fn steps_ui(&mut self, ui: &mut egui::Ui, hit: &HitRecord, decision: Option<&str>, frame: &mut Frame<'_>) {
        let theme = frame.theme;
        let id = hit.id;
        match hit.state() {
            HitState::New => {
                ui.label("Acknowledge the alert first.");
            }
            HitState::Acknowledged => {
                ui.label(RichText::new("Step 1: compare the plate crop with the hot-list entry, character by character, and the state.").size(crate::ui::theme::TEXT_LEAD));
                if self.misread.is_some() {
                    self.misread_ui(ui, id, frame);
                } else {
                    ui.horizontal(|ui| {
                        if big_button(ui, theme, "PLATE MATCHES", theme.ok, true).clicked() {
                            frame.send(Command::Hit { id, action: HitAction::PlateMatches });
                        }
                        if big_button(ui, theme, "MISREAD", theme.bad, true).clicked() {
                            self.misread = Some(String::new());
                        }
                    });
                }
            }
            HitState::Verified => {
                ui.label(
                    RichText::new("Step 2: confirm the record with communications before any action.")
                        .size(crate::ui::theme::TEXT_LEAD),
                );
                // One task at a time in the same place: the confirmation, or the exigent
                // justification, or the misread.
                if self.misread.is_some() {
                    self.misread_ui(ui, id, frame);
                } else if self.exigent.is_some() {
                    self.exigent_ui(ui, id, frame);
                } else {
                    self.confirm_ui(ui, id, true, frame);
                }
            }
            HitState::Confirmed => {
                ui.label(
                    RichText::new(format!(
                        "Communications confirmed the record (dispatcher {}, incident {}).",
                        hit.dispatcher_id.as_deref().unwrap_or("?"),
                        hit.incident_number.as_deref().unwrap_or("?")
                    ))
                    .size(crate::ui::theme::TEXT_EMPHASIS)
                    .color(theme.ok),
                );
                if big_button(ui, theme, "MARK ACTIONABLE", theme.ok, true).clicked() {
                    frame.send(Command::Hit { id, action: HitAction::MarkActionable });
                }
                disposition_ui(ui, hit, frame);
            }
            HitState::Actionable => {
                ui.label(
                    RichText::new("ACTIONABLE: confirmed by communications.")
                        .size(crate::ui::theme::TEXT_BUTTON)
                        .strong()
                        .color(theme.ok),
                );
                disposition_ui(ui, hit, frame);
            }
            HitState::ActionableExigent => {
                ui.label(
                    RichText::new("ACTIONABLE UNDER EXIGENT CIRCUMSTANCES: flagged for supervisor review.")
                        .size(crate::ui::theme::TEXT_TITLE)
                        .strong()
                        .color(theme.warn),
                );
                if hit.confirmed.is_none() {
                    ui.label("Record the confirmation with communications as soon as possible.");
                    self.confirm_ui(ui, id, false, frame);
                } else {
                    disposition_ui(ui, hit, frame);
                }
            }
            // Final states: say how the hit ended; nothing more to do to it.
            HitState::Rejected | HitState::Closed => {
                ui.label(RichText::new(outcome_words(hit)).size(crate::ui::theme::TEXT_EMPHASIS).color(theme.muted));
                if let Some(decision) = decision {
                    ui.label(RichText::new(decision).color(theme.muted));
                }
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
        let mut cancel = false;
        ui.horizontal(|ui| {
            if big_button(ui, theme, "RECORD MISREAD", theme.bad, ready).clicked() {
                frame.send(Command::Hit { id, action: HitAction::Misread { reason: reason.clone() } });
                cancel = true;
            }
            if button(ui, "Cancel", true).clicked() {
                cancel = true;
            }
        });
        if cancel {
            self.misread = None;
        }
    }

    /// The confirmation form beside its keyboard; with `alternatives`, the ways out of it
    /// (exigent circumstances, a misread after all) under the form.
    fn confirm_ui(&mut self, ui: &mut egui::Ui, id: i64, alternatives: bool, frame: &mut Frame<'_>) {
        let theme = frame.theme;
        ui.with_layout(beside_or_below(ui), |ui| {
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
                if alternatives {
                    ui.horizontal(|ui| {
                        if button(ui, "Exigent circumstances...", true).clicked() {
                            self.exigent = Some(String::new());
                            self.field = Field::Justification;
                        }
                        if button(ui, "Misread after all", true).clicked() {
                            self.misread = Some(String::new());
                        }
                    });
                }
            });
            ui.vertical(|ui| {
                let text = match self.field {
                    Field::Dispatcher => &mut self.dispatcher,
                    Field::Incident => &mut self.incident,
                    // The justification has its own keyboard in its panel.
                    Field::Justification => return,
                };
                if keypad_ui(ui, "confirm-keypad", text, Keys::Alphanumeric, 20) {
                    self.field = Field::Incident;
                }
            });
        });
    }

    /// The justification beside its keyboard (stacked on narrow screens), with quick picks
    /// to start from; the hit is flagged and the confirmation still owed afterwards.
    fn exigent_ui(&mut self, ui: &mut egui::Ui, id: i64, frame: &mut Frame<'_>) {
        let theme = frame.theme;
        let Some(text) = &mut self.exigent else { return };
        let mut cancel = false;
        ui.with_layout(beside_or_below(ui), |ui| {
            ui.vertical(|ui| {
                ui.set_max_width(620.0);
                ui.label(RichText::new("Acting before confirmation needs a written justification. The hit is flagged for supervisor review, and the confirmation is still required afterwards.").color(theme.warn));
                egui::Grid::new("exigent-picks").num_columns(2).show(ui, |ui| {
                    for (n, (label, phrase)) in EXIGENT_PICKS.iter().enumerate() {
                        let pick = egui::Button::new(*label).min_size(Vec2::new(300.0, TOUCH_MIN));
                        if ui.add(pick).clicked() {
                            text.push_str(phrase);
                            self.field = Field::Justification;
                        }
                        if n % 2 == 1 {
                            ui.end_row();
                        }
                    }
                });
                let edit = ui.add(
                    egui::TextEdit::multiline(text)
                        .id_salt("exigent-justification")
                        .hint_text("Why waiting for communications is not possible")
                        .desired_width(ui.available_width())
                        .desired_rows(2),
                );
                if edit.clicked() || edit.gained_focus() {
                    self.field = Field::Justification;
                }
                let n = text.trim().chars().count();
                ui.horizontal(|ui| {
                    let ready = n >= MIN_JUSTIFICATION_CHARS;
                    if big_button(ui, theme, "ACT UNDER EXIGENT CIRCUMSTANCES", theme.warn, ready).clicked() {
                        frame.send(Command::Hit { id, action: HitAction::Exigent { justification: text.clone() } });
                    }
                    if button(ui, "Cancel", true).clicked() {
                        cancel = true;
                    }
                    // The count beside the button, not above it: the step fits the screen.
                    ui.label(RichText::new(format!("{n}/{MIN_JUSTIFICATION_CHARS}+")).small());
                });
            });
            // The on-screen keyboard types into the justification, and only there.
            ui.vertical(|ui| {
                keypad_ui(ui, "exigent-keypad", text, Keys::Text, 500);
            });
        });
        if cancel {
            self.exigent = None;
            self.field = Field::Dispatcher;
        }
    }
}

/// A form and its keyboard side by side on wide screens (1280 px), the keyboard below the form
/// on 1024-px ones.
fn beside_or_below(ui: &egui::Ui) -> egui::Layout {
    if ui.available_width() >= 1200.0 {
        egui::Layout::left_to_right(egui::Align::Min)
    } else {
        egui::Layout::top_down(egui::Align::Min)
    }
}

fn state_words(hit: &HitRecord) -> &'static str {
    match hit.state() {
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

/// The dispositions the lifecycle allows in the hit's state, and only those: a hit never
/// marked actionable offers no Arrest, Stop or Recovery.
fn disposition_ui(ui: &mut egui::Ui, hit: &HitRecord, frame: &mut Frame<'_>) {
    let allowed = Disposition::allowed_in(hit.state(), hit.exigent && hit.confirmed.is_some());
    if allowed.is_empty() {
        return;
    }
    ui.label("Close the hit with its disposition:");
    ui.horizontal_wrapped(|ui| {
        for disposition in allowed {
            if button(ui, disposition.label(), true).clicked() {
                frame.send(Command::Hit { id: hit.id, action: HitAction::Close { disposition } });
            }
        }
    });
}

/// How a finished hit ended, in words: the misread, dispatch's answer, or the disposition.
fn outcome_words(hit: &HitRecord) -> String {
    match (hit.state(), hit.disposition, hit.result) {
        (HitState::Rejected, Some(HitEnding::Misread), _) => "Not actionable: recorded as a misread.".to_owned(),
        (HitState::Rejected, _, Some(result)) => format!("Not actionable: communications said {}.", result.label()),
        (HitState::Rejected, ..) => "Not actionable.".to_owned(),
        (_, Some(ending), _) => format!("Closed: {}.", ending.label()),
        _ => "Closed.".to_owned(),
    }
}

/// Step 1's comparison: the read (crop, text) beside the entry, and the frame where there is
/// room (1280 px and up).
fn comparison_ui(ui: &mut egui::Ui, detail: &HitDetail, crops: &mut CropTextures, theme: &crate::ui::theme::Theme) {
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.set_width(330.0);
            read_ui(ui, detail, crops, theme.muted);
        });
        if let Some(m) = detail.hit.top() {
            ui.vertical(|ui| {
                ui.set_width(if ui.available_width() >= 900.0 { 520.0 } else { 440.0 });
                entry_ui_panel(ui, m, theme.warn);
            });
        }
        if let Some(image) = detail.frame.as_ref().filter(|_| ui.available_width() >= 300.0) {
            ui.vertical(|ui| {
                ui.label(RichText::new("Frame").strong());
                let texture = crops.get(ui.ctx(), -super::patrol::crop_key(&detail.read) - 1, image);
                ui.add(egui::Image::new(&texture).fit_to_exact_size(Vec2::new(340.0, 191.0)));
            });
        }
    });
}

/// After step 1: the crop and one line of what was compared.
fn compact_ui(
    ui: &mut egui::Ui,
    detail: &HitDetail,
    now: Option<crate::location::Fix>,
    crops: &mut CropTextures,
    muted: Color32,
) {
    ui.horizontal(|ui| {
        let texture = crops.get(ui.ctx(), super::patrol::crop_key(&detail.read), &detail.read.crop);
        ui.add(egui::Image::new(&texture).fit_to_exact_size(Vec2::new(120.0, 38.0)));
        let entry = detail.hit.top().map_or(String::new(), |m| {
            let vehicle = m.entry.vehicle.describe();
            format!(
                " · entry {} {} · {}{}",
                m.entry.plate,
                m.entry.state.as_deref().unwrap_or("(no state)"),
                m.entry.list,
                if vehicle.is_empty() { String::new() } else { format!(" · {vehicle}") }
            )
        });
        ui.label(RichText::new(format!("read {}{entry}", detail.read.text)).color(muted));
    });
    // Where it was read, for dispatch (the confirmation step asks for it).
    ui.label(RichText::new(format!("read at {}", super::place_words(detail.read.gps, now))).color(muted));
}

fn read_ui(ui: &mut egui::Ui, detail: &HitDetail, crops: &mut CropTextures, muted: Color32) {
    ui.label(RichText::new("What the camera read").strong());
    let texture = crops.get(ui.ctx(), super::patrol::crop_key(&detail.read), &detail.read.crop);
    ui.add(egui::Image::new(&texture).fit_to_exact_size(Vec2::new(320.0, 96.0)));
    ui.label(RichText::new(&detail.read.text).monospace().size(crate::ui::theme::TEXT_PLATE).strong());
    let when = detail.read.time.with_timezone(&chrono::Local).format("%H:%M:%S");
    // The state as the classifier read it (the entry's is in the match's State row), on the
    // same line so the step's buttons stay where they were.
    let state = detail.read.state.as_deref().map_or("state not read".to_owned(), |s| format!("state {s}"));
    ui.label(RichText::new(format!("{:.0}% · {when} · {state}", detail.read.confidence * 100.0)).color(muted));
    ui.label(RichText::new(format!("camera {}", detail.read.camera)).color(muted));
    ui.label(RichText::new(format!("at {}", super::place_words(detail.read.gps, None))).color(muted));
}

/// The hot-list entry, with the substituted characters of an approximate match marked.
fn entry_ui_panel(ui: &mut egui::Ui, m: &EntryMatch, mark: Color32) {
    let e = &m.entry;
    ui.label(RichText::new("Hot-list entry").strong());
    ui.horizontal(|ui| {
        ui.spacing_mut().item_spacing.x = 2.0;
        for (i, ch) in e.plate.chars().enumerate() {
            let sub = m.substitutions.iter().find(|s| s.position == i);
            let text = RichText::new(ch.to_string()).monospace().size(crate::ui::theme::TEXT_PLATE).strong();
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

    egui::Grid::new("entry").spacing([16.0, 4.0]).min_row_height(26.0).show(ui, |ui| {
        let vehicle = e.vehicle.describe();
        let rows: [(&str, String); 6] = [
            // In the State row itself (a line of its own would push the step's buttons down).
            ("State", m.state_words()),
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

/// The hit's steps in the order they happened (an exigent hit is actionable before
/// communications confirm it).
fn timeline_ui(ui: &mut egui::Ui, hit: &HitRecord, muted: Color32) {
    let mut steps: Vec<(&str, chrono::DateTime<chrono::Utc>)> = [
        ("raised", Some(hit.raised)),
        ("acknowledged", hit.acknowledged),
        ("plate verified", hit.verified),
        ("communications", hit.confirmed),
        (if hit.exigent { "actionable (exigent)" } else { "actionable" }, hit.actionable),
        ("closed", hit.closed),
    ]
    .into_iter()
    .filter_map(|(name, time)| time.map(|t| (name, t)))
    .collect();
    // Stable: steps recorded in the same instant keep the lifecycle's order.
    steps.sort_by_key(|(_, time)| *time);
    ui.horizontal_wrapped(|ui| {
        for (name, time) in steps {
            let at = time.with_timezone(&chrono::Local).format("%H:%M:%S");
            ui.label(RichText::new(format!("{name} {at}")).color(muted));
        }
    });
}
