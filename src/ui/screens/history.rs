//! Screen 6, history: this shift's reads and hits; searching stored reads beyond the shift
//! asks for a purpose and a case number, which the console logs with the search.

use eframe::egui::{self, RichText};

use crate::console::{Command, Console};
use crate::ui::feed::CropTextures;
use crate::ui::theme::{big_button, button};
use crate::ui::{Frame, View};

/// Purposes offered (order S1: official law-enforcement purposes only).
const PURPOSES: [&str; 4] = ["Stolen vehicle investigation", "Suspect vehicle", "Missing person", "Wanted person"];

/// The search form.
#[derive(Debug, Default)]
pub struct HistoryScreen {
    plate: String,
    purpose: String,
    case_number: String,
}

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
                        hit.state.as_str(),
                        hit.disposition.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
                    );
                    if button(ui, &text, true).clicked() && console.open_hits().iter().any(|h| h.id == hit.id) {
                        frame.show(View::Hit(hit.id));
                    }
                }
            });
            ui.label(RichText::new("Reads").strong());
            crate::ui::theme::finger_scroll().id_salt("reads").show(ui, |ui| {
                egui::Grid::new("reads-grid").striped(true).min_row_height(32.0).show(ui, |ui| {
                    for read in console.history().take(200) {
                        let texture = crops.get(ui.ctx(), super::patrol::crop_key(read), &read.crop);
                        ui.add(egui::Image::new(&texture).fit_to_exact_size(egui::vec2(96.0, 30.0)));
                        ui.label(RichText::new(&read.text).monospace().strong());
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
            let ui = &mut cols[1];
            ui.label(RichText::new("Search stored reads (logged with purpose and case number)").strong());
            ui.add(egui::TextEdit::singleline(&mut self.plate).hint_text("Plate").desired_width(260.0));
            ui.horizontal_wrapped(|ui| {
                for purpose in PURPOSES {
                    if ui.add(egui::Button::selectable(self.purpose == purpose, purpose)).clicked() {
                        self.purpose = purpose.to_owned();
                    }
                }
            });
            ui.add(egui::TextEdit::singleline(&mut self.purpose).hint_text("Purpose").desired_width(360.0));
            ui.add(
                egui::TextEdit::singleline(&mut self.case_number)
                    .hint_text("Case / incident number")
                    .desired_width(260.0),
            );
            let ready =
                !self.plate.trim().is_empty() && !self.purpose.trim().is_empty() && !self.case_number.trim().is_empty();
            if big_button(ui, theme, "SEARCH", theme.accent, ready).clicked() {
                frame.send(Command::Search {
                    plate: self.plate.clone(),
                    purpose: self.purpose.clone(),
                    case_number: self.case_number.clone(),
                });
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
    }
}
