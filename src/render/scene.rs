//! Scenes for tests and demos: plates placed into plain or textured backgrounds at a given
//! position, size, rotation, perspective and blur, with the ground truth of every plate.

use image::{Rgb, RgbImage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::RenderError;
use super::effects::{Region, add_gaussian_noise, box_blur, motion_blur};
use super::plate::{PlateStyle, fill_rect, render_plate};
use super::warp::composite_quad;
use crate::geometry::BBox;

/// Where and how a plate appears in a scene.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    /// Centre of the plate, in scene pixels.
    pub centre: (f32, f32),
    /// Width of the plate, in scene pixels (the height is half of it, before perspective).
    pub width_px: f32,
    /// In-plane rotation, degrees, clockwise.
    pub rotation_deg: f32,
    /// Perspective turn about the vertical axis, -0.5..0.5: positive makes the right edge
    /// taller than the left, as a plate seen from its left.
    pub yaw: f32,
    /// Box-blur radius in pixels (out of focus).
    pub blur_px: u32,
    /// Motion-blur vector in pixels (movement during the exposure).
    pub motion_px: (f32, f32),
}

impl Placement {
    /// A frontal, sharp plate of `width_px` centred at (`x`, `y`).
    pub fn new(x: f32, y: f32, width_px: f32) -> Self {
        Self { centre: (x, y), width_px, rotation_deg: 0.0, yaw: 0.0, blur_px: 0, motion_px: (0.0, 0.0) }
    }

    /// The same placement rotated by `degrees`.
    pub fn rotated(self, degrees: f32) -> Self {
        Self { rotation_deg: degrees, ..self }
    }

    /// The same placement turned by `yaw` (see [`Placement::yaw`]).
    pub fn turned(self, yaw: f32) -> Self {
        Self { yaw: yaw.clamp(-0.5, 0.5), ..self }
    }

    /// The same placement blurred with a box of `radius` pixels.
    pub fn blurred(self, radius: u32) -> Self {
        Self { blur_px: radius, ..self }
    }

    /// The same placement smeared along (`dx`, `dy`) pixels.
    pub fn moving(self, dx: f32, dy: f32) -> Self {
        Self { motion_px: (dx, dy), ..self }
    }

    /// The plate's corners in the scene: top-left, top-right, bottom-right, bottom-left.
    pub fn corners(&self) -> [(f32, f32); 4] {
        let hw = self.width_px / 2.0;
        let hh = self.width_px / 4.0;
        let (left, right) = (1.0 - self.yaw, 1.0 + self.yaw);
        let local = [(-hw, -hh * left), (hw, -hh * right), (hw, hh * right), (-hw, hh * left)];
        let (sin, cos) = self.rotation_deg.to_radians().sin_cos();
        local.map(|(x, y)| (self.centre.0 + x * cos - y * sin, self.centre.1 + x * sin + y * cos))
    }
}

/// A plate rendered once at several sizes, so it can be drawn at any size every frame
/// without re-rendering text and without the aliasing of sampling a much larger image.
#[derive(Debug, Clone)]
pub struct PlateMips {
    /// Largest first; each level half the width of the previous one.
    levels: Vec<RgbImage>,
}

impl PlateMips {
    /// Renders `text` in `style` at `max_width_px` and builds the smaller levels from it.
    pub fn new(style: &PlateStyle, text: &str, max_width_px: u32) -> Result<Self, RenderError> {
        let mut levels = vec![render_plate(style, text, max_width_px)?];
        while let Some(last) = levels.last() {
            let (w, h) = (last.width() / 2, last.height() / 2);
            if w < 12 || h < 6 {
                break;
            }
            let smaller = image::imageops::resize(last, w, h, image::imageops::FilterType::Triangle);
            levels.push(smaller);
        }
        Ok(Self { levels })
    }

    /// Builds the levels from an already rendered (and possibly restyled) plate image.
    pub fn from_image(plate: RgbImage) -> Self {
        let mut levels = vec![plate];
        while let Some(last) = levels.last() {
            let (w, h) = (last.width() / 2, last.height() / 2);
            if w < 12 || h < 6 {
                break;
            }
            levels.push(image::imageops::resize(last, w, h, image::imageops::FilterType::Triangle));
        }
        Self { levels }
    }

    /// The smallest level at least `width_px` wide (the largest if none is).
    pub fn for_width(&self, width_px: f32) -> &RgbImage {
        let mut best = &self.levels[0];
        for level in &self.levels {
            if level.width() as f32 >= width_px {
                best = level;
            }
        }
        best
    }

    /// Applies `f` to every level (a night/IR look, say).
    pub fn map_levels(&mut self, mut f: impl FnMut(&mut RgbImage)) {
        self.levels.iter_mut().for_each(&mut f);
    }
}

/// Draws the plate `mips` into `img` at `placement`; returns the plate's corners and box.
pub fn draw_plate(img: &mut RgbImage, mips: &PlateMips, placement: &Placement) -> ([(f32, f32); 4], BBox) {
    let corners = placement.corners();
    let bbox = BBox::around(&corners);
    composite_quad(img, mips.for_width(placement.width_px), corners);
    let region = Region {
        x: bbox.x.max(0.0) as u32,
        y: bbox.y.max(0.0) as u32,
        w: bbox.w.ceil().max(0.0) as u32 + 1,
        h: bbox.h.ceil().max(0.0) as u32 + 1,
    };
    let margin = placement.blur_px + placement.motion_px.0.abs().max(placement.motion_px.1.abs()).ceil() as u32;
    let region = region.grown(margin, img);
    if placement.blur_px > 0 {
        box_blur(img, region, placement.blur_px);
    }
    motion_blur(img, region, placement.motion_px.0, placement.motion_px.1);
    (corners, bbox)
}

/// The ground truth of one plate in a scene.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedPlate {
    /// The plate text as printed (may contain a space or dash).
    pub text: String,
    /// The style's code.
    pub style: String,
    /// Corners: top-left, top-right, bottom-right, bottom-left.
    pub corners: [(f32, f32); 4],
    /// The axis-aligned box around the corners.
    pub bbox: BBox,
}

/// An image with plates in it and the truth about them.
#[derive(Debug, Clone)]
pub struct Scene {
    /// The picture.
    pub image: RgbImage,
    /// Every plate drawn, in drawing order.
    pub plates: Vec<PlacedPlate>,
}

impl Scene {
    /// A scene of one flat colour.
    pub fn plain(width: u32, height: u32, colour: Rgb<u8>) -> Self {
        Self { image: RgbImage::from_pixel(width, height, colour), plates: Vec::new() }
    }

    /// A cluttered scene (grainy road-grey gradient, boxes and lines of varied contrast), the
    /// same for the same seed: harder for a detector than a plain one.
    pub fn textured(width: u32, height: u32, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut image = RgbImage::from_fn(width, height, |_, y| {
            let v = (150.0 - 60.0 * y as f32 / height.max(1) as f32) as u8;
            Rgb([v, v, v.saturating_add(8)])
        });
        let (w, h) = (width as f32, height as f32);
        for _ in 0..40 {
            let colour = Rgb([rng.random::<u8>(), rng.random::<u8>(), rng.random::<u8>()]);
            let (x, y) = (rng.random::<f32>() * w, rng.random::<f32>() * h);
            let (bw, bh) = (rng.random::<f32>() * w * 0.2 + 4.0, rng.random::<f32>() * h * 0.2 + 4.0);
            fill_rect(&mut image, x, y, bw, bh, colour);
        }
        for _ in 0..20 {
            let colour = Rgb([rng.random::<u8>(); 3]);
            let y = rng.random::<f32>() * h;
            fill_rect(&mut image, 0.0, y, w, 1.0 + rng.random::<f32>() * 3.0, colour);
        }
        add_gaussian_noise(&mut image, 6.0, &mut rng);
        Self { image, plates: Vec::new() }
    }

    /// Renders a plate and draws it at `placement`; returns its ground truth.
    pub fn add_plate(
        &mut self,
        style: &PlateStyle,
        text: &str,
        placement: &Placement,
    ) -> Result<&PlacedPlate, RenderError> {
        // Render near the target size (at least 2x for small plates, so text stays clean).
        let render_width = (placement.width_px * 2.0).clamp(64.0, 1024.0) as u32;
        let mips = PlateMips::new(style, text, render_width)?;
        let (corners, bbox) = draw_plate(&mut self.image, &mips, placement);
        self.plates.push(PlacedPlate { text: text.to_string(), style: style.code.clone(), corners, bbox });
        let index = self.plates.len() - 1;
        Ok(&self.plates[index])
    }

    /// Adds sensor noise of `sigma` grey levels over the whole scene.
    pub fn add_noise(&mut self, sigma: f32, seed: u64) {
        add_gaussian_noise(&mut self.image, sigma, &mut ChaCha8Rng::seed_from_u64(seed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_placed_plate_lands_where_its_truth_says() {
        let mut scene = Scene::plain(1280, 720, Rgb([90, 90, 90]));
        let truth =
            scene.add_plate(&PlateStyle::new_york(), "ABC1234", &Placement::new(640.0, 360.0, 200.0)).unwrap().clone();
        assert!((truth.bbox.x - 540.0).abs() < 0.5 && (truth.bbox.w - 200.0).abs() < 0.5, "{:?}", truth.bbox);
        assert!((truth.bbox.h - 100.0).abs() < 0.5);
        // Inside the box: gold background; outside: the untouched grey.
        let inside = scene.image.get_pixel(560, 335).0;
        assert!(inside[0] > 200 && inside[2] < 120, "{inside:?}");
        assert_eq!(scene.image.get_pixel(500, 360).0, [90, 90, 90]);
    }

    #[test]
    fn rotation_and_perspective_move_the_corners() {
        let p = Placement::new(100.0, 100.0, 80.0).rotated(90.0);
        let b = BBox::around(&p.corners());
        assert!((b.w - 40.0).abs() < 0.01 && (b.h - 80.0).abs() < 0.01, "{b:?}");
        let c = Placement::new(100.0, 100.0, 80.0).turned(0.3).corners();
        assert!((c[2].1 - c[1].1) > (c[3].1 - c[0].1));
    }

    #[test]
    fn textured_scene_is_deterministic_and_blur_softens_edges() {
        assert_eq!(Scene::textured(320, 180, 5).image, Scene::textured(320, 180, 5).image);
        assert_ne!(Scene::textured(320, 180, 5).image, Scene::textured(320, 180, 6).image);
        let sharp_edges = |blur: u32| {
            let mut scene = Scene::plain(400, 200, Rgb([128, 128, 128]));
            scene
                .add_plate(&PlateStyle::texas(), "XYZ789", &Placement::new(200.0, 100.0, 240.0).blurred(blur))
                .unwrap();
            let img = &scene.image;
            (1..img.width()).map(|x| img.get_pixel(x, 100).0[0].abs_diff(img.get_pixel(x - 1, 100).0[0]) as u32).max()
        };
        assert!(sharp_edges(3) < sharp_edges(0));
    }

    #[test]
    fn mips_pick_a_level_no_smaller_than_asked() {
        let mips = PlateMips::new(&PlateStyle::florida(), "SUN123", 256).unwrap();
        assert_eq!(mips.for_width(300.0).width(), 256);
        assert_eq!(mips.for_width(100.0).width(), 128);
        assert_eq!(mips.for_width(10.0).width(), 16);
    }
}
