//! One file per screen. Each screen keeps only what is being typed or chosen on it, draws
//! from the console, and queues commands through the shared `Frame`.

pub mod admin;
pub mod cannot_start;
pub mod checklist;
pub mod history;
pub mod hit_alert;
pub mod hit_workflow;
pub mod lock;
pub mod login;
pub mod oversight;
pub mod patrol;
pub mod settings;

use eframe::egui::{self, RichText};

use super::Frame;

/// Shows the last refusal in the alert colour, where the officer is looking.
pub fn message_ui(ui: &mut egui::Ui, frame: &Frame<'_>) {
    if let Some(message) = frame.message {
        ui.label(RichText::new(message).size(22.0).strong().color(frame.theme.bad));
    }
}
