//! Screen 3, patrol: the live feed(s) with plate boxes and texts, and a strip of recent reads.
//! The open hits are in the alert slot and the shift's controls in the action bar, so that
//! neither pushes anything here off the screen.

use eframe::egui::{self, RichText, Vec2};

use crate::console::Console;
use crate::ui::Frame;
use crate::ui::feed::{CropTextures, Feed};

/// The patrol screen (it keeps no state of its own: the action bar holds the deactivation
/// dialog).
#[derive(Debug, Default)]
pub struct PatrolScreen;

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
        let cameras = console.cameras();
        let in_service: Vec<usize> = (0..cameras.len()).filter(|i| cameras[*i].in_service).collect();
        let columns = in_service.len().clamp(1, 2);
        let width = (ui.available_width() - 10.0 * (columns as f32 - 1.0)) / columns as f32;
        // Leave room below for the recent-reads strip (its label and cards, ~200 px).
        let height = (ui.available_height() - 205.0).max(120.0).min(width * 9.0 / 16.0);
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
                            ui.label(
                                RichText::new(&read.text)
                                    .monospace()
                                    .size(crate::ui::theme::TEXT_TITLE)
                                    .strong()
                                    .color(colour),
                            );
                            ui.label(
                                RichText::new(format!(
                                    "{} · {} · {} · {:.0}%",
                                    read.state_label(),
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
    }
}

/// The crop cache key of a read: its store id, or (not stored) its time, negated.
pub fn crop_key(read: &crate::console::RecentRead) -> i64 {
    if read.id > 0 { read.id } else { -read.time.timestamp_millis() }
}
