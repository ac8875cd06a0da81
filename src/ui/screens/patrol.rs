//! Screen 3, patrol: the live feed(s) with plate boxes and texts, a strip of recent reads,
//! the open hits, and the way to deactivate ALPR mid-shift (a reason is required and logged).

use eframe::egui::{self, RichText, Vec2};

use crate::console::{Command, Console};
use crate::ui::feed::{CropTextures, Feed};
use crate::ui::theme::{TOUCH_MIN, big_button, button};
use crate::ui::{Frame, View};

/// Reasons offered when deactivating, so no typing is needed.
const REASONS: [&str; 5] =
    ["Meal break", "At the station / court", "Camera obstructed", "Equipment problem", "Assisting on a call"];

/// The patrol screen's state: the deactivation dialog.
#[derive(Debug, Default)]
pub struct PatrolScreen {
    deactivating: bool,
    reason: String,
}

impl PatrolScreen {
    /// Draws the screen.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        console: &Console,
        feeds: &[Feed],
        crops: &mut CropTextures,
        frame: &mut Frame<'_>,
    ) {
        let theme = frame.theme;
        super::message_ui(ui, frame);
        let cameras = console.cameras();
        let in_service: Vec<usize> = (0..cameras.len()).filter(|i| cameras[*i].in_service).collect();
        let columns = in_service.len().clamp(1, 2);
        let width = (ui.available_width() - 10.0 * (columns as f32 - 1.0)) / columns as f32;
        // Leave room below for the recent-reads strip (~170 px) and the buttons (~70 px).
        let height = (ui.available_height() - 270.0).max(160.0).min(width * 9.0 / 16.0);
        ui.horizontal(|ui| {
            for &i in &in_service {
                ui.vertical(|ui| {
                    if let Some(feed) = feeds.get(i) {
                        feed.ui(ui, Vec2::new(width, height), console.latest_frame(i), theme.accent);
                    }
                    let camera = &cameras[i];
                    if let Some((since, reason)) = &camera.down {
                        ui.label(
                            RichText::new(format!(
                                "{}: {} since {}",
                                camera.name,
                                reason,
                                since.with_timezone(&chrono::Local).format("%H:%M:%S")
                            ))
                            .color(theme.bad),
                        );
                    }
                });
            }
        });
        if !console.is_active() {
            ui.label(
                RichText::new("ALPR is deactivated: reads are not recorded or matched.")
                    .size(22.0)
                    .strong()
                    .color(theme.warn),
            );
        }
        let open: Vec<_> = console.open_hits().into_iter().filter(|h| h.state != crate::hits::HitState::New).collect();
        if !open.is_empty() {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new("Open hits:").strong());
                for hit in open {
                    let text = RichText::new(format!("{} · {} · {}", hit.plate, hit.list, hit.state.as_str()))
                        .color(theme.on_colour);
                    if ui
                        .add(
                            egui::Button::new(text)
                                .fill(theme.priority_colour(hit.priority))
                                .min_size(Vec2::new(0.0, TOUCH_MIN)),
                        )
                        .clicked()
                    {
                        frame.show(View::Hit(hit.id));
                    }
                }
            });
        }
        ui.label(RichText::new("Recent reads").strong());
        egui::ScrollArea::horizontal().id_salt("recent-reads").show(ui, |ui| {
            ui.horizontal(|ui| {
                for read in console.history().take(30) {
                    let fill = if read.hit_id.is_some() { theme.bad } else { theme.panel };
                    egui::Frame::group(ui.style()).fill(fill).show(ui, |ui| {
                        ui.set_width(180.0);
                        ui.vertical(|ui| {
                            let texture = crops.get(ui.ctx(), crop_key(read), &read.crop);
                            ui.add(egui::Image::new(&texture).fit_to_exact_size(Vec2::new(160.0, 50.0)));
                            let colour = if read.hit_id.is_some() { theme.on_colour } else { theme.text };
                            ui.label(RichText::new(&read.text).monospace().size(24.0).strong().color(colour));
                            ui.label(
                                RichText::new(format!(
                                    "{} · {} · {:.0}%",
                                    read.time.with_timezone(&chrono::Local).format("%H:%M:%S"),
                                    read.camera,
                                    read.confidence * 100.0
                                ))
                                .small()
                                .color(colour),
                            );
                        });
                    });
                }
            });
        });
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            if button(ui, "History", true).clicked() {
                frame.show(View::History);
            }
            if button(ui, "Settings", true).clicked() {
                frame.show(View::Settings);
            }
            if console.may_oversee() && button(ui, "Oversight", true).clicked() {
                frame.show(View::Oversight);
                frame.commands.push(crate::ui::AppCommand::Oversee(
                    crate::console::oversight::OversightCommand::Usage { days: 30 },
                ));
            }
            if console.may_administer() && button(ui, "Administration", true).clicked() {
                frame.show(View::Admin);
                frame.commands.push(crate::ui::AppCommand::Administer(crate::console::admin::AdminCommand::Load));
            }
            if console.is_active() {
                if button(ui, "Deactivate ALPR", true).clicked() {
                    self.deactivating = true;
                }
            } else if big_button(ui, theme, "REACTIVATE ALPR", theme.ok, true).clicked() {
                frame.send(Command::Reactivate);
            }
            if button(ui, "Lock screen", true).clicked() {
                frame.send(Command::Lock);
            }
            if button(ui, "Log off", true).clicked() {
                frame.send(Command::LogOff);
            }
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

/// The crop cache key of a read: its store id, or (not stored) its time, negated.
pub fn crop_key(read: &crate::console::RecentRead) -> i64 {
    if read.id > 0 { read.id } else { -read.time.timestamp_millis() }
}
