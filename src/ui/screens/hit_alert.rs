//! Screen 4, the hit alert: a full-width banner over everything, in the list's priority
//! colour, saying that a hit is not probable cause and must be confirmed with communications;
//! the tone repeats until ACKNOWLEDGE (the app drives the tone). Several hits queue by
//! priority; the banner shows the most urgent and how many wait.

use eframe::egui::{self, RichText, Vec2};

use crate::console::{Command, Console};
use crate::hits::{HitAction, HitRecord};
use crate::ui::Frame;
use crate::ui::theme::TOUCH_PRIMARY;

/// Draws the banner for `hit`. Under the idle lock the banner shows but acknowledging needs
/// the PIN first (the lock screen is below it).
pub fn banner_ui(ui: &mut egui::Ui, console: &Console, hit: &HitRecord, locked: bool, frame: &mut Frame<'_>) {
    let theme = frame.theme;
    let colour = theme.priority_colour(hit.priority);
    let detail = console.hit_detail(hit.id);
    let waiting = console.open_hits().iter().filter(|h| h.state == crate::hits::HitState::New).count();
    egui::Frame::NONE.fill(colour).inner_margin(16.0).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal(|ui| {
            ui.vertical(|ui| {
                let top = detail.and_then(|d| d.hit.top());
                let what = top.map_or(hit.list.clone(), |m| {
                    format!("{} · {}", m.entry.category.as_str().replace('_', " ").to_uppercase(), m.entry.list)
                });
                ui.label(RichText::new(format!("HIT  {}  ·  {}", hit.plate, what)).size(40.0).strong().color(theme.on_colour));
                if let Some(m) = top {
                    let kind = match m.kind {
                        crate::hotlist::MatchKind::Exact if !m.state_mismatch => "exact match".to_owned(),
                        crate::hotlist::MatchKind::Exact => "exact plate, DIFFERENT STATE".to_owned(),
                        crate::hotlist::MatchKind::Approximate => format!("APPROXIMATE match: read {}", m.read_text),
                        crate::hotlist::MatchKind::Wildcard => format!("partial-plate match: read {}", m.read_text),
                    };
                    let state = m.entry.state.as_deref().unwrap_or("state unknown");
                    ui.label(RichText::new(format!("{kind} · {state} · priority {}", m.entry.priority)).size(24.0).color(theme.on_colour));
                }
                ui.label(
                    RichText::new("A hit is NOT probable cause. Verify the plate and confirm with communications before any action.")
                        .size(22.0)
                        .strong()
                        .color(theme.on_colour),
                );
                if waiting > 1 {
                    ui.label(RichText::new(format!("{} more hits waiting", waiting - 1)).size(20.0).color(theme.on_colour));
                }
            });
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if locked {
                    ui.label(RichText::new("Unlock to acknowledge").size(24.0).strong().color(theme.on_colour));
                } else {
                    let button = egui::Button::new(RichText::new("ACKNOWLEDGE").size(34.0).strong().color(colour))
                        .fill(theme.on_colour)
                        .min_size(Vec2::new(300.0, TOUCH_PRIMARY * 1.5));
                    if ui.add(button).clicked() {
                        frame.send(Command::Hit { id: hit.id, action: HitAction::Acknowledge });
                    }
                }
            });
        });
    });
}
