//! Image effects for synthetic footage: box and motion blur over a region, Gaussian noise
//! from a seeded generator, and a precomputed noise field cheap enough to apply every frame.

use image::RgbImage;
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A pixel rectangle, clipped to the image by the functions that take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub w: u32,
    /// Height.
    pub h: u32,
}

impl Region {
    /// The region covering all of `img`.
    pub fn whole(img: &RgbImage) -> Self {
        Self { x: 0, y: 0, w: img.width(), h: img.height() }
    }

    /// The region grown by `margin` pixels on each side and clipped to `img`.
    pub fn grown(self, margin: u32, img: &RgbImage) -> Self {
        let x = self.x.saturating_sub(margin);
        let y = self.y.saturating_sub(margin);
        let x1 = (self.x + self.w + margin).min(img.width());
        let y1 = (self.y + self.h + margin).min(img.height());
        Self { x, y, w: x1.saturating_sub(x), h: y1.saturating_sub(y) }
    }

    fn clipped(self, img: &RgbImage) -> Self {
        let x = self.x.min(img.width());
        let y = self.y.min(img.height());
        Self { x, y, w: self.w.min(img.width() - x), h: self.h.min(img.height() - y) }
    }
}

/// Blurs `region` of `img` with a box filter of the given radius (separable, two passes).
pub fn box_blur(img: &mut RgbImage, region: Region, radius: u32) {
    let r = region.clipped(img);
    if radius == 0 || r.w == 0 || r.h == 0 {
        return;
    }
    // Horizontal pass then vertical pass, each a mean over 2*radius+1 clamped taps.
    let taps = 2 * radius as i64 + 1;
    let mut buffer = vec![[0u8; 3]; (r.w * r.h) as usize];
    for pass in 0..2 {
        for j in 0..(if pass == 0 { r.h } else { r.w }) {
            let n = i64::from(if pass == 0 { r.w } else { r.h });
            for i in 0..n {
                let mut sum = [0u32; 3];
                for k in (i - radius as i64)..=(i + radius as i64) {
                    let k = k.clamp(0, n - 1) as u32;
                    let (x, y) = if pass == 0 { (r.x + k, r.y + j) } else { (r.x + j, r.y + k) };
                    let p = img.get_pixel(x, y).0;
                    for (total, value) in sum.iter_mut().zip(p) {
                        *total += u32::from(value);
                    }
                }
                let (bx, by) = if pass == 0 { (i as u32, j) } else { (j, i as u32) };
                buffer[(by * r.w + bx) as usize] = sum.map(|s| (s as i64 / taps) as u8);
            }
        }
        for by in 0..r.h {
            for bx in 0..r.w {
                img.put_pixel(r.x + bx, r.y + by, image::Rgb(buffer[(by * r.w + bx) as usize]));
            }
        }
    }
}

/// Smears `region` of `img` along the vector (`dx`, `dy`) pixels, as a moving object is
/// smeared during the exposure: each pixel becomes the mean of samples along the vector.
pub fn motion_blur(img: &mut RgbImage, region: Region, dx: f32, dy: f32) {
    let r = region.clipped(img);
    let length = dx.abs().max(dy.abs());
    if length < 1.0 || r.w == 0 || r.h == 0 {
        return;
    }
    let taps = length.ceil() as i32 + 1;
    // Sample from a copy of the region plus the smear's reach, not of the whole frame: this
    // runs for every plate of every simulated frame.
    let reach = length.ceil() as u32 + 1;
    let src = r.grown(reach, img);
    let source = image::imageops::crop_imm(img, src.x, src.y, src.w, src.h).to_image();
    let (max_x, max_y) = (src.w as f32 - 1.0, src.h as f32 - 1.0);
    for y in r.y..r.y + r.h {
        for x in r.x..r.x + r.w {
            let mut sum = [0u32; 3];
            let (lx, ly) = ((x - src.x) as f32, (y - src.y) as f32);
            for t in 0..taps {
                let f = t as f32 / (taps - 1) as f32 - 0.5;
                let sx = (lx + f * dx).round().clamp(0.0, max_x) as u32;
                let sy = (ly + f * dy).round().clamp(0.0, max_y) as u32;
                let p = source.get_pixel(sx, sy).0;
                for (total, value) in sum.iter_mut().zip(p) {
                    *total += u32::from(value);
                }
            }
            img.put_pixel(x, y, image::Rgb(sum.map(|s| (s / taps as u32) as u8)));
        }
    }
}

/// One standard normal sample (Box-Muller).
pub fn gaussian(rng: &mut ChaCha8Rng) -> f32 {
    let u1: f32 = rng.random::<f32>().max(1e-7);
    let u2: f32 = rng.random::<f32>();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// Adds Gaussian noise of standard deviation `sigma` (grey levels) to every pixel.
pub fn add_gaussian_noise(img: &mut RgbImage, sigma: f32, rng: &mut ChaCha8Rng) {
    if sigma <= 0.0 {
        return;
    }
    for px in img.pixels_mut() {
        // Luma-correlated noise, like a sensor's: one sample per pixel for all channels.
        let n = gaussian(rng) * sigma;
        for c in px.0.iter_mut() {
            *c = (f32::from(*c) + n).round().clamp(0.0, 255.0) as u8;
        }
    }
}

/// A precomputed tile of Gaussian noise, added to whole frames at a per-frame offset: far
/// cheaper than drawing fresh samples for a million pixels thirty times a second.
#[derive(Debug, Clone)]
pub struct NoiseField {
    values: Vec<i8>,
    size: usize,
}

impl NoiseField {
    /// A `size` x `size` tile of noise with standard deviation `sigma`, from `seed`.
    pub fn new(size: usize, sigma: f32, seed: u64) -> Self {
        let size = size.max(1);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let values =
            (0..size * size).map(|_| (gaussian(&mut rng) * sigma).round().clamp(-127.0, 127.0) as i8).collect();
        Self { values, size }
    }

    /// Adds the tile, repeated, to `img`, starting at `offset` in the tile.
    pub fn apply(&self, img: &mut RgbImage, offset: usize) {
        let width = img.width() as usize;
        let size = self.size;
        for (row_index, row) in img.chunks_exact_mut(width * 3).enumerate() {
            let tile_row = ((row_index + offset / size) % size) * size;
            for (i, px) in row.chunks_exact_mut(3).enumerate() {
                let n = i16::from(self.values[tile_row + (i + offset) % size]);
                for c in px.iter_mut() {
                    *c = (i16::from(*c) + n).clamp(0, 255) as u8;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stripes() -> RgbImage {
        RgbImage::from_fn(20, 10, |x, _| if x % 2 == 0 { image::Rgb([255; 3]) } else { image::Rgb([0; 3]) })
    }

    #[test]
    fn box_blur_averages_stripes() {
        let mut img = stripes();
        box_blur(&mut img, Region::whole(&stripes()), 2);
        let v = img.get_pixel(10, 5).0[0];
        assert!((90..=165).contains(&v), "{v}");
    }

    #[test]
    fn motion_blur_only_touches_its_region() {
        let mut img = stripes();
        motion_blur(&mut img, Region { x: 0, y: 0, w: 10, h: 10 }, 6.0, 0.0);
        assert!((60..=200).contains(&img.get_pixel(5, 5).0[0]));
        assert_eq!(img.get_pixel(15, 5).0[0], 0);
        assert_eq!(img.get_pixel(16, 5).0[0], 255);
    }

    #[test]
    fn noise_is_seeded_and_zero_mean() {
        let mut a = RgbImage::from_pixel(64, 64, image::Rgb([128; 3]));
        let mut b = a.clone();
        add_gaussian_noise(&mut a, 10.0, &mut ChaCha8Rng::seed_from_u64(3));
        add_gaussian_noise(&mut b, 10.0, &mut ChaCha8Rng::seed_from_u64(3));
        assert_eq!(a, b);
        let mean = a.pixels().map(|p| f64::from(p.0[0])).sum::<f64>() / 4096.0;
        assert!((mean - 128.0).abs() < 1.5, "{mean}");
        let mut c = RgbImage::from_pixel(64, 64, image::Rgb([128; 3]));
        NoiseField::new(32, 10.0, 1).apply(&mut c, 7);
        assert!(c.pixels().any(|p| p.0[0] != 128));
    }
}
