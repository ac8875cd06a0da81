//! The on-screen keypad: PINs, officer and dispatcher ids and incident numbers are entered
//! without a keyboard, with targets big enough for a gloved finger.

use eframe::egui::{self, Vec2};

use super::theme::TOUCH_MIN;

/// Which keys a keypad offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    /// 0-9 only (PINs).
    Digits,
    /// 0-9, A-Z and a dash (ids, incident numbers).
    Alphanumeric,
    /// Letters, digits, space and punctuation, for written text (a justification).
    Text,
}

/// Draws a keypad that edits `text` (up to `max_len` characters); returns true when Enter
/// was pressed. Each key is a labelled button, so tests find them by label.
pub fn keypad_ui(ui: &mut egui::Ui, id: &str, text: &mut String, keys: Keys, max_len: usize) -> bool {
    let mut enter = false;
    let size = match keys {
        Keys::Digits => Vec2::new(TOUCH_MIN * 1.4, TOUCH_MIN * 1.2),
        Keys::Alphanumeric | Keys::Text => Vec2::new(TOUCH_MIN * 1.1, TOUCH_MIN),
    };
    let rows: Vec<Vec<&str>> = match keys {
        Keys::Digits => vec![vec!["1", "2", "3"], vec!["4", "5", "6"], vec!["7", "8", "9"], vec!["Clear", "0", "Del"]],
        Keys::Alphanumeric => vec![
            vec!["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"],
            vec!["Q", "W", "E", "R", "T", "Y", "U", "I", "O", "P"],
            vec!["A", "S", "D", "F", "G", "H", "J", "K", "L", "-"],
            vec!["Z", "X", "C", "V", "B", "N", "M", "Clear", "Del"],
        ],
        Keys::Text => vec![
            vec!["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"],
            vec!["Q", "W", "E", "R", "T", "Y", "U", "I", "O", "P"],
            vec!["A", "S", "D", "F", "G", "H", "J", "K", "L", "-"],
            vec!["Z", "X", "C", "V", "B", "N", "M", ",", ".", "Del"],
            vec!["Space"],
        ],
    };
    ui.push_id(id, |ui| {
        for row in rows {
            ui.horizontal(|ui| {
                ui.spacing_mut().item_spacing = Vec2::new(6.0, 6.0);
                for key in row {
                    // Text keys type lower case (a sentence), id keys upper case; Space is wide.
                    let shown =
                        if keys == Keys::Text && key.len() == 1 { key.to_ascii_lowercase() } else { key.to_owned() };
                    let width = if key == "Space" { size.x * 6.0 } else { size.x };
                    let button = egui::Button::new(egui::RichText::new(&shown).size(crate::ui::theme::TEXT_TITLE))
                        .min_size(Vec2::new(width, size.y));
                    if ui.add(button).clicked() {
                        match key {
                            "Clear" => text.clear(),
                            "Del" => {
                                text.pop();
                            }
                            "Space" if text.chars().count() < max_len => text.push(' '),
                            _ if text.chars().count() < max_len => text.push_str(&shown),
                            _ => {}
                        }
                    }
                }
            });
        }
        // A physical keyboard works too (a docked laptop at the station), unless a text field
        // has the keyboard focus: then the text goes there only, never into two fields.
        if ui.ctx().text_edit_focused() {
            return;
        }
        ui.input(|i| {
            for event in &i.events {
                match event {
                    egui::Event::Text(t) => {
                        for ch in t.chars() {
                            let ok = match keys {
                                Keys::Digits => ch.is_ascii_digit(),
                                Keys::Alphanumeric => ch.is_ascii_alphanumeric() || ch == '-',
                                Keys::Text => !ch.is_control(),
                            };
                            if ok && text.chars().count() < max_len {
                                text.push(if keys == Keys::Text { ch } else { ch.to_ascii_uppercase() });
                            }
                        }
                    }
                    egui::Event::Key { key: egui::Key::Backspace, pressed: true, .. } => {
                        text.pop();
                    }
                    egui::Event::Key { key: egui::Key::Enter, pressed: true, .. } => enter = true,
                    _ => {}
                }
            }
        });
    });
    enter
}

/// Shows the entered text, masked for PINs.
pub fn entry_ui(ui: &mut egui::Ui, label: &str, text: &str, masked: bool, active: bool) -> egui::Response {
    let shown = if masked { "*".repeat(text.chars().count()) } else { text.to_owned() };
    let shown = if shown.is_empty() { " ".to_owned() } else { shown };
    let frame = egui::Frame::group(ui.style()).stroke(if active {
        egui::Stroke::new(3.0, ui.visuals().selection.bg_fill)
    } else {
        ui.visuals().widgets.noninteractive.bg_stroke
    });
    frame
        .show(ui, |ui| {
            ui.set_min_size(Vec2::new(240.0, TOUCH_MIN));
            ui.vertical(|ui| {
                ui.label(egui::RichText::new(label).small());
                ui.label(egui::RichText::new(shown).size(crate::ui::theme::TEXT_ENTRY).monospace());
            });
        })
        .response
        .interact(egui::Sense::click())
}
