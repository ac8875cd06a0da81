//! Screen 7, the officer's settings: day/night/automatic palette, alert volume, test tone.

use eframe::egui::{self, RichText};

use crate::ui::theme::{ThemeChoice, button};
use crate::ui::tone::Tone;
use crate::ui::{Frame, UiCommand, View};

/// The settings screen (no state of its own: the app holds the values).
#[derive(Debug, Default)]
pub struct SettingsScreen;

impl SettingsScreen {
    /// Draws the screen.
    pub fn ui(&mut self, ui: &mut egui::Ui, theme_choice: ThemeChoice, tone: &Tone, frame: &mut Frame<'_>) {
        ui.horizontal(|ui| {
            ui.heading("Settings");
            if button(ui, "Back to patrol", true).clicked() {
                frame.show(View::Patrol);
            }
        });
        ui.label(RichText::new("Display").strong());
        ui.horizontal(|ui| {
            for (choice, label) in
                [(ThemeChoice::Day, "Day"), (ThemeChoice::Night, "Night"), (ThemeChoice::Auto, "Automatic (by clock)")]
            {
                if ui
                    .add(egui::Button::selectable(theme_choice == choice, label).min_size(egui::vec2(120.0, 48.0)))
                    .clicked()
                {
                    frame.commands.push(crate::ui::AppCommand::Ui(UiCommand::Theme(choice)));
                }
            }
        });
        ui.add_space(12.0);
        ui.label(RichText::new("Alert tone").strong());
        if let Some(why) = tone.unavailable() {
            ui.label(
                RichText::new(format!("Sound unavailable: {why}. Alerts are visual only.")).color(frame.theme.warn),
            );
        }
        let mut volume = tone.volume();
        ui.spacing_mut().slider_width = 400.0;
        if ui.add(egui::Slider::new(&mut volume, 0.1..=1.0).text("volume")).changed() {
            frame.commands.push(crate::ui::AppCommand::Ui(UiCommand::Volume(volume)));
        }
        ui.horizontal(|ui| {
            for (priority, label) in [(1, "Test tone: priority 1"), (2, "priority 2"), (3, "priority 3"), (4, "other")]
            {
                if button(ui, label, tone.unavailable().is_none()).clicked() {
                    frame.commands.push(crate::ui::AppCommand::Ui(UiCommand::TestTone(priority)));
                }
            }
        });
    }
}
