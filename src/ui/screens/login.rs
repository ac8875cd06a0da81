//! Screen 1, log-on: officer id and PIN on the on-screen keypad. The console refuses anyone
//! not currently certified and says why; demo credentials show only in demo mode.

use eframe::egui::{self, RichText};

use crate::console::{Command, Console};
use crate::session::DEMO_USERS;
use crate::ui::Frame;
use crate::ui::keypad::{Keys, entry_ui, keypad_ui};
use crate::ui::theme::big_button;

/// Which field the keypad types into.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Field {
    #[default]
    Officer,
    Pin,
}

/// The log-on screen's entries.
#[derive(Debug, Default)]
pub struct LoginScreen {
    officer: String,
    pin: String,
    field: Field,
}

impl LoginScreen {
    /// Draws the screen.
    pub fn ui(&mut self, ui: &mut egui::Ui, console: &Console, frame: &mut Frame<'_>) {
        let theme = frame.theme;
        ui.add_space(12.0);
        ui.heading(format!("ALPR log-on · {}", console.config().agency.name));
        ui.label(RichText::new("Only trained and certified members may use ALPR, for official purposes only. Every log-on is recorded.").color(theme.muted));
        ui.add_space(8.0);
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                if entry_ui(ui, "Officer id", &self.officer, false, self.field == Field::Officer).clicked() {
                    self.field = Field::Officer;
                }
                if entry_ui(ui, "PIN", &self.pin, true, self.field == Field::Pin).clicked() {
                    self.field = Field::Pin;
                }
                let (text, keys, max) = match self.field {
                    Field::Officer => (&mut self.officer, Keys::Alphanumeric, 32),
                    Field::Pin => (&mut self.pin, Keys::Digits, 12),
                };
                let enter = keypad_ui(ui, "login-keypad", text, keys, max);
                ui.add_space(8.0);
                let ready = !self.officer.is_empty() && !self.pin.is_empty();
                let submit = big_button(ui, theme, "LOG ON", theme.accent, ready).clicked();
                if enter && self.field == Field::Officer {
                    self.field = Field::Pin;
                } else if (submit || enter) && ready {
                    frame.send(Command::LogOn { officer: self.officer.clone(), pin: std::mem::take(&mut self.pin) });
                }
            });
            if console.is_demo() {
                ui.add_space(24.0);
                egui::Frame::group(ui.style()).fill(theme.panel).show(ui, |ui| {
                    // The panel sits in a row: lay its own contents out top to bottom.
                    ui.vertical(|ui| {
                        ui.label(RichText::new("DEMO accounts (shown in demo mode only)").strong().color(theme.demo));
                        egui::Grid::new("demo-users").striped(true).min_row_height(26.0).show(ui, |ui| {
                            for (id, _, role, pin, expired) in DEMO_USERS {
                                ui.label(RichText::new(id).monospace());
                                ui.label(RichText::new(pin).monospace());
                                ui.label(if expired {
                                    format!("{} (certification expired)", role.as_str())
                                } else {
                                    role.as_str().to_owned()
                                });
                                ui.end_row();
                            }
                        });
                    });
                });
            }
        });
    }
}
