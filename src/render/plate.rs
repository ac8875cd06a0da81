//! US licence plate images with known text in several state styles.
//!
//! A plate is 12 x 6 inches, so the image is twice as wide as it is tall. Layout, from the
//! top: the state name (block capitals or a slanted script), the registration characters
//! filling the middle, a slogan or web address at the bottom; a border, and optionally bolt
//! holes and a registration sticker. Everything is drawn at the requested size with the
//! embedded DejaVu fonts, so any width from a thumbnail to a sharp 1000 px plate works.

use image::{Rgb, RgbImage};

use super::RenderError;
use super::text::{Face, TextBox, TextStyle, blend, draw_text};

/// The most characters a US plate carries (vanity plates allow 2-8).
pub const MAX_PLATE_CHARS: usize = 8;

/// Colours and texts of one state's plate design.
#[derive(Debug, Clone, PartialEq)]
pub struct PlateStyle {
    /// Short code, e.g. "CA".
    pub code: String,
    /// The state name printed at the top.
    pub state_name: String,
    /// Draw the state name slanted, like a script logo (California).
    pub state_script: bool,
    /// The slogan or web address printed at the bottom.
    pub slogan: String,
    /// Background colour at the top.
    pub background_top: Rgb<u8>,
    /// Background colour at the bottom (a vertical gradient between the two).
    pub background_bottom: Rgb<u8>,
    /// Colour of the registration characters.
    pub characters: Rgb<u8>,
    /// Colour of the state name.
    pub state_colour: Rgb<u8>,
    /// Colour of the slogan.
    pub slogan_colour: Rgb<u8>,
    /// Colour of the border.
    pub border: Rgb<u8>,
    /// Draw the four mounting bolt holes.
    pub bolt_holes: bool,
    /// Colour of the registration sticker in the top-right corner, if any.
    pub sticker: Option<Rgb<u8>>,
}

impl PlateStyle {
    /// California: white, red script state name, dark-blue characters.
    pub fn california() -> Self {
        Self {
            code: "CA".into(),
            state_name: "California".into(),
            state_script: true,
            slogan: "DMV.CA.GOV".into(),
            background_top: Rgb([250, 250, 252]),
            background_bottom: Rgb([232, 234, 240]),
            characters: Rgb([22, 36, 110]),
            state_colour: Rgb([200, 30, 40]),
            slogan_colour: Rgb([22, 36, 110]),
            border: Rgb([22, 36, 110]),
            bolt_holes: true,
            sticker: Some(Rgb([230, 190, 30])),
        }
    }

    /// New York "Empire Gold": gold background, navy characters.
    pub fn new_york() -> Self {
        Self {
            code: "NY".into(),
            state_name: "NEW YORK".into(),
            state_script: false,
            slogan: "EXCELSIOR".into(),
            background_top: Rgb([246, 196, 48]),
            background_bottom: Rgb([236, 176, 30]),
            characters: Rgb([16, 28, 72]),
            state_colour: Rgb([16, 28, 72]),
            slogan_colour: Rgb([16, 28, 72]),
            border: Rgb([16, 28, 72]),
            bolt_holes: true,
            sticker: None,
        }
    }

    /// Delaware: light characters on a dark-blue background.
    pub fn delaware() -> Self {
        Self {
            code: "DE".into(),
            state_name: "DELAWARE".into(),
            state_script: false,
            slogan: "THE FIRST STATE".into(),
            background_top: Rgb([24, 40, 92]),
            background_bottom: Rgb([14, 26, 66]),
            characters: Rgb([236, 200, 96]),
            state_colour: Rgb([236, 200, 96]),
            slogan_colour: Rgb([236, 200, 96]),
            border: Rgb([236, 200, 96]),
            bolt_holes: false,
            sticker: Some(Rgb([200, 40, 40])),
        }
    }

    /// Texas: white background, black characters.
    pub fn texas() -> Self {
        Self {
            code: "TX".into(),
            state_name: "TEXAS".into(),
            state_script: false,
            slogan: "THE LONE STAR STATE".into(),
            background_top: Rgb([246, 246, 246]),
            background_bottom: Rgb([214, 220, 228]),
            characters: Rgb([20, 20, 20]),
            state_colour: Rgb([20, 20, 20]),
            slogan_colour: Rgb([20, 20, 20]),
            border: Rgb([20, 20, 20]),
            bolt_holes: true,
            sticker: None,
        }
    }

    /// Florida: white background, green characters, web address at the top.
    pub fn florida() -> Self {
        Self {
            code: "FL".into(),
            state_name: "MYFLORIDA.COM".into(),
            state_script: false,
            slogan: "SUNSHINE STATE".into(),
            background_top: Rgb([252, 252, 250]),
            background_bottom: Rgb([240, 244, 236]),
            characters: Rgb([16, 100, 56]),
            state_colour: Rgb([16, 100, 56]),
            slogan_colour: Rgb([16, 100, 56]),
            border: Rgb([16, 100, 56]),
            bolt_holes: true,
            sticker: Some(Rgb([60, 90, 200])),
        }
    }

    /// Every built-in style.
    pub fn all() -> Vec<Self> {
        vec![Self::california(), Self::new_york(), Self::delaware(), Self::texas(), Self::florida()]
    }

    /// The built-in style with this code (case-insensitive), if any.
    pub fn by_code(code: &str) -> Option<Self> {
        Self::all().into_iter().find(|s| s.code.eq_ignore_ascii_case(code))
    }
}

/// Checks that `text` can be printed: 2-8 characters A-Z / 0-9, optionally separated by
/// single spaces or dashes (which plates print but reads do not carry).
pub fn validate_text(text: &str) -> Result<(), RenderError> {
    let significant = text.chars().filter(char::is_ascii_alphanumeric).count();
    let allowed = text.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == ' ' || c == '-');
    if !allowed
        || !(2..=MAX_PLATE_CHARS).contains(&significant)
        || text.starts_with([' ', '-'])
        || text.ends_with([' ', '-'])
    {
        return Err(RenderError::InvalidText(text.to_string()));
    }
    Ok(())
}

/// Renders a plate showing `text` in `style`, `width_px` wide and half as tall.
pub fn render_plate(style: &PlateStyle, text: &str, width_px: u32) -> Result<RgbImage, RenderError> {
    validate_text(text)?;
    if width_px < 16 {
        return Err(RenderError::TooSmall(width_px));
    }
    let (w, h) = (width_px, (width_px / 2).max(8));
    let (wf, hf) = (w as f32, h as f32);
    let mut img =
        RgbImage::from_fn(w, h, |_, y| lerp_colour(style.background_top, style.background_bottom, y as f32 / hf));

    draw_border(&mut img, style.border, (hf * 0.035).max(1.0), hf * 0.02);
    if style.bolt_holes {
        for (fx, fy) in [(0.16, 0.13), (0.84, 0.13), (0.16, 0.87), (0.84, 0.87)] {
            draw_disc(&mut img, wf * fx, hf * fy, hf * 0.03, Rgb([70, 70, 74]));
        }
    }
    if let Some(colour) = style.sticker {
        fill_rect(&mut img, wf * 0.86, hf * 0.08, wf * 0.08, hf * 0.15, colour);
        let sticker_text =
            TextStyle { face: Face::SansBold, colour: Rgb([20, 20, 20]), shear: 0.0, spacing: 0.0, min_x_squeeze: 0.6 };
        draw_text(&mut img, "26", TextBox { x: wf * 0.865, y: hf * 0.11, w: wf * 0.07, h: hf * 0.08 }, &sticker_text)?;
    }

    let state = TextStyle {
        face: Face::SansBold,
        colour: style.state_colour,
        shear: if style.state_script { 0.3 } else { 0.0 },
        spacing: 0.02,
        min_x_squeeze: 0.7,
    };
    draw_text(&mut img, &style.state_name, TextBox { x: wf * 0.24, y: hf * 0.07, w: wf * 0.52, h: hf * 0.15 }, &state)?;

    // Short vanity texts keep their natural proportions instead of being stretched.
    let characters = TextStyle {
        face: Face::CondensedBold,
        colour: style.characters,
        shear: 0.0,
        spacing: 0.06,
        min_x_squeeze: 0.65,
    };
    draw_text(&mut img, text, TextBox { x: wf * 0.07, y: hf * 0.29, w: wf * 0.86, h: hf * 0.47 }, &characters)?;

    let slogan =
        TextStyle { face: Face::SansBold, colour: style.slogan_colour, shear: 0.0, spacing: 0.04, min_x_squeeze: 0.7 };
    draw_text(&mut img, &style.slogan, TextBox { x: wf * 0.24, y: hf * 0.82, w: wf * 0.52, h: hf * 0.09 }, &slogan)?;
    Ok(img)
}

fn lerp_colour(a: Rgb<u8>, b: Rgb<u8>, t: f32) -> Rgb<u8> {
    let t = t.clamp(0.0, 1.0);
    Rgb([0, 1, 2].map(|c| (f32::from(a.0[c]) * (1.0 - t) + f32::from(b.0[c]) * t).round() as u8))
}

/// A rectangle outline `thickness` wide, `inset` from the image edge.
fn draw_border(img: &mut RgbImage, colour: Rgb<u8>, thickness: f32, inset: f32) {
    let (w, h) = (img.width() as f32, img.height() as f32);
    fill_rect(img, inset, inset, w - 2.0 * inset, thickness, colour);
    fill_rect(img, inset, h - inset - thickness, w - 2.0 * inset, thickness, colour);
    fill_rect(img, inset, inset, thickness, h - 2.0 * inset, colour);
    fill_rect(img, w - inset - thickness, inset, thickness, h - 2.0 * inset, colour);
}

/// Fills a rectangle with real-valued edges, blending the partly covered border pixels.
pub(crate) fn fill_rect(img: &mut RgbImage, x: f32, y: f32, w: f32, h: f32, colour: Rgb<u8>) {
    let (x1, y1) = (x + w, y + h);
    let px0 = x.floor().max(0.0) as i64;
    let py0 = y.floor().max(0.0) as i64;
    let px1 = (x1.ceil() as i64).min(i64::from(img.width()));
    let py1 = (y1.ceil() as i64).min(i64::from(img.height()));
    for py in py0..py1 {
        let cover_y = ((py + 1) as f32).min(y1) - (py as f32).max(y);
        for px in px0..px1 {
            let cover_x = ((px + 1) as f32).min(x1) - (px as f32).max(x);
            blend(img, px, py, colour, cover_x.max(0.0) * cover_y.max(0.0));
        }
    }
}

/// A filled circle with an anti-aliased edge.
pub(crate) fn draw_disc(img: &mut RgbImage, cx: f32, cy: f32, r: f32, colour: Rgb<u8>) {
    let r = r.max(0.5);
    for py in (cy - r - 1.0).floor() as i64..=(cy + r + 1.0).ceil() as i64 {
        for px in (cx - r - 1.0).floor() as i64..=(cx + r + 1.0).ceil() as i64 {
            let d = ((px as f32 + 0.5 - cx).powi(2) + (py as f32 + 0.5 - cy).powi(2)).sqrt();
            blend(img, px, py, colour, r + 0.5 - d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_text(text: &str, ok: bool) {
        assert_eq!(validate_text(text).is_ok(), ok, "{text:?}");
    }

    #[test]
    fn accepts_plate_texts_and_refuses_others() {
        check_text("7ABC123", true);
        check_text("AB", true);
        check_text("ABCDEFGH", true);
        check_text("ABC-1234", true);
        check_text("ABC 123", true);
        check_text("A", false);
        check_text("ABCDEFGHJ", false);
        check_text("abc123", false);
        check_text("AB$12", false);
        check_text(" AB12", false);
        check_text("", false);
    }

    /// Fraction of pixels close to `colour`.
    fn share_of(img: &RgbImage, colour: Rgb<u8>) -> f32 {
        let near = img.pixels().filter(|p| (0..3).all(|c| p.0[c].abs_diff(colour.0[c]) < 40)).count();
        near as f32 / (img.width() * img.height()) as f32
    }

    #[test]
    fn every_style_renders_its_colours_at_the_requested_size() {
        for style in PlateStyle::all() {
            let img = render_plate(&style, "7ABC123", 300).unwrap();
            assert_eq!(img.dimensions(), (300, 150), "{}", style.code);
            let background = share_of(&img, style.background_top) + share_of(&img, style.background_bottom);
            assert!(background > 0.4, "{}: background {background}", style.code);
            let ink = share_of(&img, style.characters);
            assert!(ink > 0.08 && ink < 0.45, "{}: ink {ink}", style.code);
        }
    }

    #[test]
    fn characters_fill_the_middle_band_and_longer_texts_spread_wider() {
        let style = PlateStyle::texas();
        let ink_columns = |text: &str| {
            let img = render_plate(&style, text, 400).unwrap();
            let band = 70..140;
            let cols: Vec<u32> = (15..385).filter(|&x| band.clone().any(|y| img.get_pixel(x, y).0[0] < 80)).collect();
            (cols.first().copied().unwrap_or(0), cols.last().copied().unwrap_or(0))
        };
        let (a0, a1) = ink_columns("AB");
        let (b0, b1) = ink_columns("ABCD1234");
        assert!(b1 - b0 > (a1 - a0) * 2, "{a0}-{a1} vs {b0}-{b1}");
        assert!(b1 - b0 > 250, "{b0}-{b1}");
        // Different texts give different images.
        assert_ne!(render_plate(&style, "ABC123", 200).unwrap(), render_plate(&style, "ABC124", 200).unwrap());
    }

    #[test]
    fn tiny_and_invalid_requests_are_errors() {
        assert!(matches!(render_plate(&PlateStyle::california(), "ABC123", 8), Err(RenderError::TooSmall(8))));
        assert!(matches!(render_plate(&PlateStyle::california(), "abc", 100), Err(RenderError::InvalidText(_))));
        assert!(render_plate(&PlateStyle::california(), "ABC123", 24).is_ok());
        assert_eq!(PlateStyle::by_code("ny").map(|s| s.state_name), Some("NEW YORK".to_string()));
    }
}
