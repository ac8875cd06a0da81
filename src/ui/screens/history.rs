//! Screen 6, history: this shift's reads and hits; searching stored reads beyond the shift
//! asks for a purpose and a case number, which the console logs with the search.

use eframe::egui::{self, RichText};

use crate::console::{Command, Console};
use crate::ui::feed::CropTextures;
use crate::ui::keypad::{Keys, entry_ui, keypad_ui};
use crate::ui::theme::{TOUCH_MIN, big_button, button};
use crate::ui::{Frame, View};

/// Purposes offered (order S1: official law-enforcement purposes only).
const PURPOSES: [&str; 4] = ["Stolen vehicle investigation", "Suspect vehicle", "Missing person", "Wanted person"];

/// Which search field the on-screen keyboard types into.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Field {
    #[default]
    Plate,
    Purpose,
    Case,
}

/// The search form.
#[derive(Debug, Default)]
pub struct HistoryScreen {
    plate: String,
    purpose: String,
    case_number: String,
    field: Field,
    /// Show only the reads within [`NEAR_M`] of the car.
    near_only: bool,
    /// Show only the reads of the last this many minutes (`None`: the whole shift).
    last_minutes: Option<i64>,
}

/// The radius of the "near the car" filter, metres.
const NEAR_M: f64 = 500.0;

impl HistoryScreen {
    /// Draws the screen.
    pub fn ui(&mut self, ui: &mut egui::Ui, console: &Console, crops: &mut CropTextures, frame: &mut Frame<'_>) {
        let theme = frame.theme;
        ui.horizontal(|ui| {
            ui.heading("This shift");
            if button(ui, "Back to patrol", true).clicked() {
                frame.show(View::Patrol);
            }
        });
        ui.columns(2, |cols| {
            let ui = &mut cols[0];
            ui.label(RichText::new("Hits").strong());
            crate::ui::theme::finger_scroll().id_salt("hits").max_height(220.0).show(ui, |ui| {
                for hit in console.shift_hits() {
                    let text = format!(
                        "{} {} · {} · {}{}",
                        hit.raised.with_timezone(&chrono::Local).format("%H:%M:%S"),
                        hit.plate,
                        hit.list,
                        hit.state().as_str(),
                        hit.disposition.map(|d| format!(" ({})", d.label())).unwrap_or_default()
                    );
                    if button(ui, &text, true).clicked() && console.open_hits().iter().any(|h| h.id == hit.id) {
                        frame.show(View::Hit(hit.id));
                    }
                }
            });
            let here = console.position_now();
            ui.horizontal(|ui| {
                ui.label(RichText::new("Reads").strong());
                let near = egui::Button::selectable(self.near_only, format!("Within {NEAR_M:.0} m of the car"))
                    .min_size(egui::vec2(0.0, TOUCH_MIN));
                if ui.add_enabled(here.is_some(), near).clicked() {
                    self.near_only = !self.near_only;
                }
                for (minutes, label) in [(Some(15), "15 min"), (Some(60), "1 h"), (None, "Shift")] {
                    let pick = egui::Button::selectable(self.last_minutes == minutes, label)
                        .min_size(egui::vec2(0.0, TOUCH_MIN));
                    if ui.add(pick).clicked() {
                        self.last_minutes = minutes;
                    }
                }
            });
            let since = self.last_minutes.map(|m| console.now() - chrono::Duration::minutes(m));
            let shown: Vec<&crate::console::RecentRead> = console
                .history()
                .filter(|read| since.is_none_or(|since| read.time >= since))
                .filter(|read| match (self.near_only, here, read.gps) {
                    (false, ..) => true,
                    (true, Some(here), Some(at)) => here.distance_m(&at) <= NEAR_M,
                    (true, ..) => false,
                })
                .take(200)
                .collect();
            crate::ui::theme::finger_scroll().id_salt("reads").show(ui, |ui| {
                egui::Grid::new("reads-grid").striped(true).min_row_height(32.0).show(ui, |ui| {
                    for read in shown {
                        let texture = crops.get(ui.ctx(), super::patrol::crop_key(read), &read.crop);
                        ui.add(egui::Image::new(&texture).fit_to_exact_size(egui::vec2(96.0, 30.0)));
                        ui.label(RichText::new(&read.text).monospace().strong());
                        ui.label(read.state_label());
                        ui.label(read.time.with_timezone(&chrono::Local).format("%H:%M:%S").to_string());
                        ui.label(&read.camera);
                        ui.label(format!("{:.0}%", read.confidence * 100.0));
                        ui.label(if read.hit_id.is_some() {
                            RichText::new("HIT").color(theme.bad).strong()
                        } else {
                            RichText::new("")
                        });
                        ui.end_row();
                    }
                });
            });
            // The search column scrolls on its own (by a finger drag) where the screen is short.
            crate::ui::theme::finger_scroll().id_salt("search").show(&mut cols[1], |ui| {
                map_ui(ui, console, frame);
                ui.label(RichText::new("Search stored reads (logged with purpose and case number)").strong());
                // Typed on the on-screen keyboard below, into the field marked; purposes are picks.
                ui.horizontal(|ui| {
                    if entry_ui(ui, "Plate", &self.plate, false, self.field == Field::Plate).clicked() {
                        self.field = Field::Plate;
                    }
                    if entry_ui(ui, "Case / incident number", &self.case_number, false, self.field == Field::Case)
                        .clicked()
                    {
                        self.field = Field::Case;
                    }
                });
                ui.horizontal_wrapped(|ui| {
                    for purpose in PURPOSES {
                        let pick = egui::Button::selectable(self.purpose == purpose, purpose)
                            .min_size(egui::vec2(0.0, TOUCH_MIN));
                        if ui.add(pick).clicked() {
                            self.purpose = purpose.to_owned();
                        }
                    }
                });
                if entry_ui(ui, "Other purpose", &self.purpose, false, self.field == Field::Purpose).clicked() {
                    self.field = Field::Purpose;
                }
                let ready = !self.plate.trim().is_empty()
                    && !self.purpose.trim().is_empty()
                    && !self.case_number.trim().is_empty();
                if big_button(ui, theme, "SEARCH", theme.accent, ready).clicked() {
                    frame.send(Command::Search {
                        plate: self.plate.clone(),
                        purpose: self.purpose.clone(),
                        case_number: self.case_number.clone(),
                    });
                }
                let (text, keys) = match self.field {
                    Field::Plate => (&mut self.plate, Keys::Alphanumeric),
                    Field::Case => (&mut self.case_number, Keys::Alphanumeric),
                    Field::Purpose => (&mut self.purpose, Keys::Text),
                };
                if keypad_ui(ui, "search-keypad", text, keys, 60) {
                    self.field = match self.field {
                        Field::Plate => Field::Case,
                        other => other,
                    };
                }
                egui::Grid::new("search-grid").striped(true).min_row_height(26.0).show(ui, |ui| {
                    for row in console.search_rows() {
                        ui.label(row.time.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M").to_string());
                        ui.label(RichText::new(&row.plate).monospace());
                        ui.label(&row.camera);
                        ui.label(&row.officer);
                        ui.label(format!("{:.0}%", row.confidence * 100.0));
                        ui.end_row();
                    }
                });
            });
        });
    }
}

/// This shift's patrol (the car's trail), its reads where they were made, hits in the alert
/// colour, and the car now: drawn in metres around the car (no map tiles: the car may be
/// offline).
fn map_ui(ui: &mut egui::Ui, console: &Console, frame: &Frame<'_>) {
    let theme = frame.theme;
    let reads: Vec<&crate::console::RecentRead> = console.history().filter(|r| r.gps.is_some()).collect();
    let here = console.position_now();
    let Some(origin) = here.or_else(|| reads.first().and_then(|r| r.gps)) else {
        ui.label(RichText::new("Map: no position yet (no GPS fix)").color(theme.muted));
        return;
    };
    // A local flat projection: fine over the few kilometres of a shift.
    let metres = |fix: &crate::location::Fix| {
        let x = (fix.lon - origin.lon) * origin.lat.to_radians().cos() * 111_195.0;
        [x, (fix.lat - origin.lat) * 111_195.0]
    };
    let plain: Vec<[f64; 2]> =
        reads.iter().filter(|r| r.hit_id.is_none()).filter_map(|r| r.gps.as_ref().map(metres)).collect();
    let hits: Vec<[f64; 2]> =
        reads.iter().filter(|r| r.hit_id.is_some()).filter_map(|r| r.gps.as_ref().map(metres)).collect();
    ui.label(RichText::new("Map of this shift (metres from the car)").strong());
    let trail: Vec<[f64; 2]> = console.trail().map(metres).collect();
    egui_plot::Plot::new("shift-map").height(180.0).data_aspect(1.0).allow_scroll(false).show(ui, |plot| {
        plot.line(egui_plot::Line::new("patrol", trail).color(theme.accent).width(2.0));
        plot.points(egui_plot::Points::new("reads", plain).radius(3.0).color(theme.muted));
        plot.points(egui_plot::Points::new("hits", hits).radius(5.0).color(theme.bad));
        if let Some(here) = here.as_ref() {
            plot.points(egui_plot::Points::new("car", vec![metres(here)]).radius(6.0).color(theme.accent));
        }
    });
}
