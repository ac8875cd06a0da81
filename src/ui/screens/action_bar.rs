//! The action bar along the bottom of every patrol screen: the way back to patrol, History,
//! Settings, Oversight and Administration for those allowed, deactivating or reactivating ALPR
//! (a reason is required and logged), the lock and log-off. Always on screen, always at the
//! same place, whatever the work area above shows.

use eframe::egui::{self, Vec2};

use crate::console::{Command, Console};
use crate::ui::theme::{TOUCH_MIN, big_button, button, filled_button};
use crate::ui::{AppCommand, Frame, View};

/// Reasons offered when deactivating, so no typing is needed.
const REASONS: [&str; 5] =
    ["Meal break", "At the station / court", "Camera obstructed", "Equipment problem", "Assisting on a call"];

/// The bar's state: the deactivation dialog.
#[derive(Debug, Default)]
pub struct ActionBar {
    deactivating: bool,
    reason: String,
}

impl ActionBar {
    /// Draws the bar for `view`.
    pub fn ui(&mut self, ui: &mut egui::Ui, console: &Console, view: View, frame: &mut Frame<'_>) {
        let theme = frame.theme;
        ui.horizontal_centered(|ui| {
            if view != View::Patrol && button(ui, "Patrol", true).clicked() {
                frame.show(View::Patrol);
            }
            if view != View::History && button(ui, "History", true).clicked() {
                frame.show(View::History);
            }
            if view != View::Settings && button(ui, "Settings", true).clicked() {
                frame.show(View::Settings);
            }
            if console.may_oversee() && view != View::Oversight && button(ui, "Oversight", true).clicked() {
                frame.show(View::Oversight);
                frame
                    .commands
                    .push(AppCommand::Oversee(crate::console::oversight::OversightCommand::Usage { days: 30 }));
            }
            if console.may_administer() && view != View::Admin && button(ui, "Administration", true).clicked() {
                frame.show(View::Admin);
                frame.commands.push(AppCommand::Administer(crate::console::admin::AdminCommand::Load));
            }
            // The shift's own controls at the right end, away from the screen's buttons.
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if button(ui, "Log off", true).clicked() {
                    frame.send(Command::LogOff);
                }
                if button(ui, "Lock screen", true).clicked() {
                    frame.send(Command::Lock);
                }
                if console.is_active() {
                    if button(ui, "Deactivate ALPR", true).clicked() {
                        self.deactivating = true;
                    }
                } else if filled_button(ui, theme, "REACTIVATE ALPR", theme.ok).clicked() {
                    frame.send(Command::Reactivate);
                }
            });
        });
        if self.deactivating {
            self.deactivate_ui(ui, frame);
        }
    }

    fn deactivate_ui(&mut self, ui: &mut egui::Ui, frame: &mut Frame<'_>) {
        let theme = frame.theme;
        egui::Window::new("Deactivate ALPR")
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, Vec2::ZERO)
            .show(ui.ctx(), |ui| {
                ui.label("The order keeps ALPR active all shift. Why are you deactivating it? (logged)");
                ui.horizontal_wrapped(|ui| {
                    for reason in REASONS {
                        if ui
                            .add(
                                egui::Button::selectable(self.reason == reason, reason)
                                    .min_size(Vec2::new(0.0, TOUCH_MIN)),
                            )
                            .clicked()
                        {
                            self.reason = reason.to_owned();
                        }
                    }
                });
                ui.add(egui::TextEdit::singleline(&mut self.reason).hint_text("or type a reason").desired_width(420.0));
                ui.horizontal(|ui| {
                    if big_button(ui, theme, "DEACTIVATE", theme.warn, !self.reason.trim().is_empty()).clicked() {
                        frame.send(Command::Deactivate { reason: std::mem::take(&mut self.reason) });
                        self.deactivating = false;
                    }
                    if button(ui, "Cancel", true).clicked() {
                        self.deactivating = false;
                        self.reason.clear();
                    }
                });
            });
    }
}
