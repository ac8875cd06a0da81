//! Screen 4, the alert slot: a fixed-height strip under the status bar. With a hit alarming it
//! is the banner, in the list's priority colour: the plate crop, the entry (plate, state,
//! list, vehicle), exact or approximate, the warning that a hit is not probable cause, and
//! ACKNOWLEDGE in its own column, covering no text; the tone repeats until it is pressed (the
//! app drives the tone). Several hits queue by priority; the banner shows the most urgent and
//! how many wait. Without one, the slot shows the open hits to go back to, quietly.

use eframe::egui::{self, RichText, Vec2};

use crate::console::{Command, Console};
use crate::hits::{HitAction, HitRecord, HitState};
use crate::hotlist::MatchKind;
use crate::ui::feed::CropTextures;
use crate::ui::theme::{Palette, TOUCH_MIN, TOUCH_PRIMARY, guard};
use crate::ui::{Frame, View};

/// Width of the ACKNOWLEDGE column.
const ACK_W: f32 = 280.0;
/// Width of the plate crop.
const CROP_W: f32 = 190.0;

/// Draws the slot: the banner of the alarming hit, else the open hits. Under the idle lock
/// the banner shows but acknowledging needs the PIN first (the lock screen is below it).
pub fn slot_ui(ui: &mut egui::Ui, console: &Console, locked: bool, crops: &mut CropTextures, frame: &mut Frame<'_>) {
    match console.alarming_hit() {
        Some(hit) => banner_ui(ui, console, hit, locked, crops, frame),
        None if !locked => quiet_ui(ui, console, frame),
        None => {}
    }
}

fn banner_ui(
    ui: &mut egui::Ui,
    console: &Console,
    hit: &HitRecord,
    locked: bool,
    crops: &mut CropTextures,
    frame: &mut Frame<'_>,
) {
    let theme = frame.theme;
    let colour = theme.priority_colour(hit.priority);
    let detail = console.hit_detail(hit.id);
    let waiting = console.open_hits().iter().filter(|h| h.state() == HitState::New).count();
    let rect = ui.max_rect();
    ui.painter().rect_filled(rect, 6.0, colour);
    let inner = rect.shrink(10.0);
    let crop_rect = egui::Rect::from_min_size(inner.min, Vec2::new(CROP_W, inner.height()));
    let ack_rect = egui::Rect::from_min_max(egui::pos2(inner.max.x - ACK_W, inner.min.y), inner.max);
    let text_rect = egui::Rect::from_min_max(
        egui::pos2(crop_rect.max.x + 12.0, inner.min.y),
        egui::pos2(ack_rect.min.x - 12.0, inner.max.y),
    );
    if let Some(detail) = detail {
        ui.scope_builder(egui::UiBuilder::new().max_rect(crop_rect), |ui| {
            ui.set_clip_rect(crop_rect.intersect(ui.clip_rect()));
            ui.spacing_mut().item_spacing.y = 2.0;
            let texture = crops.get(ui.ctx(), super::patrol::crop_key(&detail.read), &detail.read.crop);
            ui.add(egui::Image::new(&texture).fit_to_exact_size(Vec2::new(CROP_W, CROP_W * 0.3)));
            ui.label(
                RichText::new(format!("read {}", detail.read.text))
                    .size(crate::ui::theme::TEXT_BODY)
                    .color(theme.on_colour),
            );
            // Where it was read, in words an officer reads to dispatch: the coordinates, then
            // how far and which way from the car now (the camera is on the workflow screen).
            let place = super::place_words(detail.read.gps, console.position_now());
            for part in place.split(" · ") {
                ui.label(RichText::new(part).size(crate::ui::theme::TEXT_NOTE).color(theme.on_colour));
            }
        });
    }
    ui.scope_builder(egui::UiBuilder::new().max_rect(text_rect), |ui| {
        ui.set_clip_rect(text_rect);
        ui.spacing_mut().item_spacing.y = 2.0;
        let top = detail.and_then(|d| d.hit.top());
        let what = top.map_or(hit.list.clone(), |m| {
            format!("{} · {}", m.entry.category.as_str().replace('_', " ").to_uppercase(), m.entry.list)
        });
        ui.label(
            RichText::new(format!("HIT  {}  ·  {}", hit.plate, what))
                .size(crate::ui::theme::TEXT_ALERT)
                .strong()
                .color(theme.on_colour),
        );
        if let Some(m) = top {
            let kind = match m.kind {
                MatchKind::Exact if m.state_check.allows_exact() => "exact match".to_owned(),
                MatchKind::Exact => "exact plate".to_owned(),
                MatchKind::Approximate => format!("APPROXIMATE match: read {}", m.read_text),
                MatchKind::Wildcard => format!("partial-plate match: read {}", m.read_text),
            };
            // The state as compared, never the entry's state as if it had been read.
            let state = m.state_words();
            let vehicle = m.entry.vehicle.describe();
            let vehicle = if vehicle.is_empty() { String::new() } else { format!(" · {vehicle}") };
            ui.label(
                RichText::new(format!("{kind} · {state} · priority {}{vehicle}", m.entry.priority))
                    .size(crate::ui::theme::TEXT_LEAD)
                    .color(theme.on_colour),
            );
        }
        ui.label(
            RichText::new(
                "A hit is NOT probable cause. Verify the plate and confirm with communications before any action.",
            )
            .size(crate::ui::theme::TEXT_BODY)
            .strong()
            .color(theme.on_colour),
        );
        if waiting > 1 {
            ui.label(
                RichText::new(format!("{} more hits waiting", waiting - 1))
                    .size(crate::ui::theme::TEXT_BODY)
                    .color(theme.on_colour),
            );
        }
    });
    ui.scope_builder(egui::UiBuilder::new().max_rect(ack_rect), |ui| {
        ui.centered_and_justified(|ui| {
            if locked {
                ui.label(
                    RichText::new("Unlock to acknowledge")
                        .size(crate::ui::theme::TEXT_EMPHASIS)
                        .strong()
                        .color(theme.on_colour),
                );
                return;
            }
            // By day a white button; at night an outlined one, so that the button is not the
            // brightest thing on a dark screen.
            let night = theme.palette == Palette::Night;
            let text = RichText::new("ACKNOWLEDGE").size(crate::ui::theme::TEXT_ACK).strong().color(if night {
                theme.on_colour
            } else {
                colour
            });
            let button = egui::Button::new(text)
                .fill(if night { theme.background } else { theme.on_colour })
                .stroke(egui::Stroke::new(3.0, theme.on_colour))
                .min_size(Vec2::new(ACK_W, TOUCH_PRIMARY * 1.5));
            let response = ui.add(button);
            if guard(ui, response, &format!("ACKNOWLEDGE {}", hit.id)).clicked() {
                frame.send(Command::Hit { id: hit.id, action: HitAction::Acknowledge });
            }
        });
    });
}

/// No hit alarming: ALPR's state and the hits still open, each a way back to its workflow.
fn quiet_ui(ui: &mut egui::Ui, console: &Console, frame: &mut Frame<'_>) {
    let theme = frame.theme;
    egui::Frame::NONE.fill(theme.panel).corner_radius(6.0).inner_margin(10.0).show(ui, |ui| {
        ui.set_min_size(ui.available_size());
        if console.stage() == crate::console::Stage::Patrol && !console.is_active() {
            ui.label(
                RichText::new("ALPR is deactivated: reads are not recorded or matched.")
                    .size(crate::ui::theme::TEXT_EMPHASIS)
                    .strong()
                    .color(theme.warn),
            );
        }
        let open: Vec<&HitRecord> = console.open_hits().into_iter().filter(|h| h.state() != HitState::New).collect();
        if open.is_empty() {
            ui.label(RichText::new("No open hits").color(theme.muted));
            return;
        }
        egui::ScrollArea::horizontal().id_salt("open-hits").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(RichText::new("Open hits:").strong());
                for hit in open {
                    let text = RichText::new(format!("{} · {} · {}", hit.plate, hit.list, hit.state().as_str()))
                        .color(theme.on_colour);
                    let label = format!("open hit {}", hit.id);
                    let response = ui.add(
                        egui::Button::new(text)
                            .fill(theme.priority_colour(hit.priority))
                            .min_size(Vec2::new(0.0, TOUCH_MIN)),
                    );
                    if guard(ui, response, &label).clicked() {
                        frame.show(View::Hit(hit.id));
                    }
                }
            });
        });
    });
}
