//! Text drawing with the embedded DejaVu fonts: fit a line of text into a box and blend it.

use ab_glyph::{Font, FontRef, OutlinedGlyph, PxScale, ScaleFont, point};
use image::{Rgb, RgbImage};

use super::RenderError;

/// DejaVu Sans Bold: state names and slogans.
static SANS_BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");
/// DejaVu Sans Condensed Bold: the plate characters (narrow, like US plate dies).
static CONDENSED_BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansCondensed-Bold.ttf");

/// Which embedded typeface to draw with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// DejaVu Sans Bold.
    SansBold,
    /// DejaVu Sans Condensed Bold.
    CondensedBold,
}

impl Face {
    fn font(self) -> Result<FontRef<'static>, RenderError> {
        let bytes = match self {
            Face::SansBold => SANS_BOLD,
            Face::CondensedBold => CONDENSED_BOLD,
        };
        FontRef::try_from_slice(bytes).map_err(|_| RenderError::Font)
    }
}

/// A box to fit a line of text into, in image pixels.
#[derive(Debug, Clone, Copy)]
pub struct TextBox {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width available.
    pub w: f32,
    /// Height of the ink (the tallest glyph fills it).
    pub h: f32,
}

/// How to draw one line.
#[derive(Debug, Clone, Copy)]
pub struct TextStyle {
    /// Typeface.
    pub face: Face,
    /// Ink colour.
    pub colour: Rgb<u8>,
    /// Horizontal shear (x shift per pixel above the bottom), for a script-like slant.
    pub shear: f32,
    /// Extra space between glyphs, as a fraction of the glyph height.
    pub spacing: f32,
    /// Narrowest horizontal squeeze allowed before the whole line is shrunk instead.
    pub min_x_squeeze: f32,
}

/// Lays `text` out at `scale` from x = 0 on baseline 0; returns the outlines.
fn layout(font: &FontRef<'static>, text: &str, scale: PxScale, spacing_px: f32) -> Vec<OutlinedGlyph> {
    let scaled = font.as_scaled(scale);
    let mut x = 0.0;
    let mut previous = None;
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(prev) = previous {
            x += scaled.kern(prev, id);
        }
        let glyph = id.with_scale_and_position(scale, point(x, 0.0));
        x += scaled.h_advance(id) + spacing_px;
        previous = Some(id);
        if let Some(outline) = font.outline_glyph(glyph) {
            out.push(outline);
        }
    }
    out
}

/// The union of the glyphs' pixel bounds: (min x, min y, max x, max y).
fn ink_bounds(glyphs: &[OutlinedGlyph]) -> Option<(f32, f32, f32, f32)> {
    glyphs.iter().map(OutlinedGlyph::px_bounds).fold(None, |acc, r| {
        let (x0, y0, x1, y1) = acc.unwrap_or((r.min.x, r.min.y, r.max.x, r.max.y));
        Some((x0.min(r.min.x), y0.min(r.min.y), x1.max(r.max.x), y1.max(r.max.y)))
    })
}

/// Draws `text` centred in `area`: the ink is scaled to the box height, squeezed horizontally
/// (down to `min_x_squeeze`) and then shrunk as a whole if it is still too wide.
pub fn draw_text(img: &mut RgbImage, text: &str, area: TextBox, style: &TextStyle) -> Result<(), RenderError> {
    if text.trim().is_empty() || area.w < 1.0 || area.h < 1.0 {
        return Ok(());
    }
    let font = style.face.font()?;
    // Measure at a reference size, then scale so the ink height equals the box height.
    let reference = 100.0;
    let measured = layout(&font, text, PxScale::from(reference), style.spacing * reference);
    let Some((x0, y0, x1, y1)) = ink_bounds(&measured) else {
        return Ok(());
    };
    let ink_h = (y1 - y0).max(1.0);
    let ink_w = (x1 - x0).max(1.0) + style.shear.abs() * ink_h;
    let mut sy = area.h / ink_h;
    let mut sx = sy;
    if ink_w * sx > area.w {
        sx = (area.w / ink_w).max(sy * style.min_x_squeeze);
        if ink_w * sx > area.w {
            // Even squeezed it does not fit: shrink both ways, keeping the squeeze.
            let shrink = area.w / (ink_w * sx);
            sx *= shrink;
            sy *= shrink;
        }
    }
    let scale = PxScale { x: reference * sx, y: reference * sy };
    let glyphs = layout(&font, text, scale, style.spacing * reference * sy);
    let Some((gx0, gy0, gx1, gy1)) = ink_bounds(&glyphs) else {
        return Ok(());
    };
    let shear_extra = style.shear * (gy1 - gy0);
    let dx = area.x + (area.w - (gx1 - gx0) - shear_extra) / 2.0 - gx0;
    let dy = area.y + (area.h - (gy1 - gy0)) / 2.0 - gy0;
    let bottom = gy1 + dy;
    for glyph in &glyphs {
        let bounds = glyph.px_bounds();
        glyph.draw(|gx, gy, coverage| {
            let py = bounds.min.y + gy as f32 + dy;
            let px = bounds.min.x + gx as f32 + dx + style.shear * (bottom - py);
            blend(img, px.round() as i64, py.round() as i64, style.colour, coverage);
        });
    }
    Ok(())
}

/// Blends `colour` over the pixel at (x, y) with opacity `alpha`; outside pixels are ignored.
pub fn blend(img: &mut RgbImage, x: i64, y: i64, colour: Rgb<u8>, alpha: f32) {
    if x < 0 || y < 0 || x >= i64::from(img.width()) || y >= i64::from(img.height()) {
        return;
    }
    let a = alpha.clamp(0.0, 1.0);
    let px = img.get_pixel_mut(x as u32, y as u32);
    for (channel, target) in px.0.iter_mut().zip(colour.0) {
        *channel = (f32::from(*channel) * (1.0 - a) + f32::from(target) * a).round() as u8;
    }
}
