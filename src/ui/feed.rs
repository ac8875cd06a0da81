//! The live camera view: one texture per camera, updated in place when a new frame arrives
//! (never re-created per frame), drawn with the plate boxes and texts of that frame.

use std::sync::Arc;

use eframe::egui::{self, Color32, ColorImage, Rect, Stroke, TextureHandle, TextureOptions, Vec2};
use image::RgbImage;

use crate::pipeline::FrameReads;

/// Converts an RGB image to egui's format.
pub fn color_image(image: &RgbImage) -> ColorImage {
    ColorImage::from_rgb([image.width() as usize, image.height() as usize], image.as_raw())
}

/// One camera's texture and the frame it shows.
#[derive(Default)]
pub struct Feed {
    texture: Option<TextureHandle>,
    shown: Option<(u64, Arc<RgbImage>)>,
    /// Texture uploads so far (tests check frames are uploaded into one texture).
    pub uploads: u64,
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed").field("uploads", &self.uploads).finish()
    }
}

impl Feed {
    /// Uploads `frame` if it is newer than the one shown, into the existing texture.
    pub fn update(&mut self, ctx: &egui::Context, name: &str, frame: &FrameReads) {
        if self.shown.as_ref().is_some_and(|(seq, image)| *seq == frame.seq && Arc::ptr_eq(image, &frame.image)) {
            return;
        }
        let image = color_image(&frame.image);
        match &mut self.texture {
            Some(texture) => texture.set(image, TextureOptions::LINEAR),
            None => self.texture = Some(ctx.load_texture(format!("feed-{name}"), image, TextureOptions::LINEAR)),
        }
        self.uploads += 1;
        self.shown = Some((frame.seq, frame.image.clone()));
    }

    /// The texture's id, for tests.
    pub fn texture_id(&self) -> Option<egui::TextureId> {
        self.texture.as_ref().map(TextureHandle::id)
    }

    /// Draws the frame to fit `size`, with plate boxes and texts from `frame`.
    pub fn ui(&self, ui: &mut egui::Ui, size: Vec2, frame: Option<&FrameReads>, box_colour: Color32) {
        let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 4.0, Color32::BLACK);
        let Some((texture, frame)) = self.texture.as_ref().zip(frame) else {
            painter.text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                "waiting for frames...",
                egui::FontId::proportional(crate::ui::theme::TEXT_EMPHASIS),
                Color32::GRAY,
            );
            return;
        };
        let (w, h) = (frame.image.width() as f32, frame.image.height() as f32);
        let scale = (rect.width() / w).min(rect.height() / h);
        let shown = Rect::from_center_size(rect.center(), Vec2::new(w * scale, h * scale));
        painter.image(
            texture.id(),
            shown,
            Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
            Color32::WHITE,
        );
        for read in &frame.reads {
            let b = read.bbox;
            let r = Rect::from_min_size(
                shown.min + Vec2::new(b.x * scale, b.y * scale),
                Vec2::new(b.w * scale, b.h * scale),
            );
            painter.rect_stroke(r, 2.0, Stroke::new(3.0, box_colour), egui::StrokeKind::Outside);
            let label = format!("{} {:.0}%", read.text, read.confidence * 100.0);
            let galley =
                painter.layout_no_wrap(label, egui::FontId::monospace(crate::ui::theme::TEXT_LEAD), Color32::WHITE);
            let bg = Rect::from_min_size(
                r.left_top() - Vec2::new(0.0, galley.size().y + 4.0),
                galley.size() + Vec2::new(8.0, 4.0),
            );
            // Kept inside the picture: a plate near an edge still shows its whole label.
            let bg = bg.translate(Vec2::new(
                (shown.max.x - bg.max.x).min(0.0).max(shown.min.x - bg.min.x),
                (shown.min.y - bg.min.y).max(0.0).min(shown.max.y - bg.max.y),
            ));
            painter.rect_filled(bg, 2.0, box_colour);
            painter.galley(bg.min + Vec2::new(4.0, 2.0), galley, Color32::WHITE);
        }
    }
}

/// A small texture cache for plate crops (recent reads, hits), keyed by read id.
#[derive(Default)]
pub struct CropTextures {
    textures: Vec<(i64, TextureHandle)>,
}

impl CropTextures {
    /// The texture of crop `id`, uploaded once; the oldest are dropped beyond 64.
    pub fn get(&mut self, ctx: &egui::Context, id: i64, crop: &RgbImage) -> TextureHandle {
        if let Some((_, t)) = self.textures.iter().find(|(i, _)| *i == id) {
            return t.clone();
        }
        let texture = ctx.load_texture(format!("crop-{id}"), color_image(crop), TextureOptions::LINEAR);
        self.textures.push((id, texture.clone()));
        if self.textures.len() > 64 {
            drop(self.textures.remove(0));
        }
        texture
    }
}
