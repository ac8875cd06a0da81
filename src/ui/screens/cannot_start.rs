//! Shown instead of the console when it cannot start (no database key, a wrong one, a key
//! rotation that did not finish, a broken settings file...). In a car the console is started
//! by the system and nobody reads its terminal, so the reason must be on the screen: the
//! officer sees that ALPR is not running and what to tell the ALPR Administrator.

use eframe::egui::{self, RichText};

use crate::ui::theme::{Theme, big_button};

/// The reason the console did not start, and the window's state.
#[derive(Debug)]
pub struct CannotStartScreen {
    theme: Theme,
    reason: String,
    styled: bool,
}

impl CannotStartScreen {
    /// The screen for `reason`: the error with its causes, as stderr gets it.
    pub fn new(theme: Theme, reason: String) -> Self {
        Self { theme, reason, styled: false }
    }

    /// Draws the screen; true once the officer presses CLOSE.
    pub fn ui(&mut self, ui: &mut egui::Ui) -> bool {
        if !self.styled {
            self.theme.apply(ui.ctx());
            self.styled = true;
        }
        let theme = &self.theme;
        ui.add_space(24.0);
        ui.label(RichText::new("ALPR IS NOT RUNNING").size(crate::ui::theme::TEXT_BLOCKER).strong().color(theme.bad));
        ui.add_space(8.0);
        ui.label(
            RichText::new(
                "The console could not start, so no plate is read and no hit will alert in this car. \
                 Tell the ALPR Administrator what is shown below.",
            )
            .size(crate::ui::theme::TEXT_TITLE),
        );
        ui.add_space(16.0);
        egui::Frame::group(ui.style()).fill(theme.panel).show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new(&self.reason).monospace().size(crate::ui::theme::TEXT_LEAD));
        });
        ui.add_space(24.0);
        big_button(ui, theme, "CLOSE", theme.accent, true).clicked()
    }
}

impl eframe::App for CannotStartScreen {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        egui::CentralPanel::default().show(ui, |ui| {
            if self.ui(ui) {
                ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    // A failed unwrap is a failed test.
    #![allow(clippy::unwrap_used)]

    use std::cell::Cell;

    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;

    use super::*;
    use crate::ui::theme::Palette;

    #[test]
    fn the_reason_and_its_causes_are_shown_and_close_ends_it() {
        let reason = "starting the console: the database key does not open /var/lib/patrol-alpr/patrol-alpr.db";
        let mut screen = CannotStartScreen::new(Theme::new(Palette::Night), reason.to_owned());
        let closed = Cell::new(false);
        let mut harness = Harness::new_ui(|ui| {
            if screen.ui(ui) {
                closed.set(true);
            }
        });
        harness.run();
        assert!(harness.query_by_label("ALPR IS NOT RUNNING").is_some());
        assert!(harness.query_by_label(reason).is_some());
        assert!(!closed.get());
        harness.get_by_label("CLOSE").click();
        harness.run();
        assert!(closed.get());
    }
}
