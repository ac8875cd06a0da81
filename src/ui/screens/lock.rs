//! The idle lock: after the configured time without a touch the console locks; the PIN
//! unlocks it. Recognition and alerts keep running underneath (the banner shows above it).

use eframe::egui::{self, RichText};

use crate::console::{Command, Console};
use crate::ui::Frame;
use crate::ui::keypad::{Keys, entry_ui, keypad_ui};
use crate::ui::theme::big_button;

/// The PIN being entered.
#[derive(Debug, Default)]
pub struct LockScreen {
    pin: String,
}

impl LockScreen {
    /// Draws the screen.
    pub fn ui(&mut self, ui: &mut egui::Ui, console: &Console, frame: &mut Frame<'_>) {
        let theme = frame.theme;
        ui.heading("Console locked");
        let who = console.session().map_or(String::new(), |s| format!("{} ({})", s.user.name, s.user.id));
        let why = if console.locked_by_hand() {
            "Locked by hand".to_owned()
        } else {
            format!("Locked after {} min without a touch", console.config().store.idle_lock_minutes)
        };
        ui.label(RichText::new(format!("{why}. ALPR keeps running. Enter the PIN of {who}.")).color(theme.muted));
        // The PIN and UNLOCK beside the keypad, so all of it fits the work area.
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                entry_ui(ui, "PIN", &self.pin, true, true);
                ui.add_space(8.0);
                if big_button(ui, theme, "UNLOCK", theme.accent, !self.pin.is_empty()).clicked() && !self.pin.is_empty()
                {
                    frame.send(Command::Unlock { pin: std::mem::take(&mut self.pin) });
                }
            });
            ui.add_space(24.0);
            ui.vertical(|ui| {
                if keypad_ui(ui, "unlock-keypad", &mut self.pin, Keys::Digits, 12) && !self.pin.is_empty() {
                    frame.send(Command::Unlock { pin: std::mem::take(&mut self.pin) });
                }
            });
        });
    }
}
