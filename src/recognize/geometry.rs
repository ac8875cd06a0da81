//! Image geometry for recognition: boxes, IoU, perspective rectification and resampling.
//!
//! The OCR input is made by warping the detector's quadrilateral to a fixed-size rectangle
//! with bilinear sampling; `training/synth.py::rectify` does the same in training, so the
//! network sees crops made the way it was taught.

pub use crate::geometry::{Point, Quad};
use image::{Rgb, RgbImage};

/// Grows a quadrilateral along its own axes: `mx` of its width on each side, `my` of its
/// height above and below.
pub fn expand_quad(q: Quad, mx: f32, my: f32) -> Quad {
    grow_quad(q, mx, mx, my, my)
}

/// Pushes each side of a quadrilateral outward along its own axes (the mean of its top and
/// bottom edges, and of its left and right edges): `left` and `right` shares of its width,
/// `above` and `below` shares of its height (negative shares pull a side in).
pub fn grow_quad(q: Quad, left: f32, right: f32, above: f32, below: f32) -> Quad {
    let [tl, tr, br, bl] = q;
    let u = ((tr.0 - tl.0 + br.0 - bl.0) / 2.0, (tr.1 - tl.1 + br.1 - bl.1) / 2.0);
    let v = ((bl.0 - tl.0 + br.0 - tr.0) / 2.0, (bl.1 - tl.1 + br.1 - tr.1) / 2.0);
    let off = |p: Point, su: f32, sv: f32| (p.0 + su * u.0 + sv * v.0, p.1 + su * u.1 + sv * v.1);
    [off(tl, -left, -above), off(tr, right, -above), off(br, right, below), off(bl, -left, below)]
}

/// A 3x3 projective transform mapping destination pixels back into the source image.
#[derive(Debug, Clone, Copy)]
pub struct Homography([f32; 9]);

impl Homography {
    /// The transform taking the corners of a `w` x `h` rectangle (clockwise from the origin)
    /// to `quad`, or `None` when the quad is degenerate.
    pub fn rect_to_quad(w: f32, h: f32, quad: [Point; 4]) -> Option<Self> {
        let src = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)];
        // Solve the 8 unknowns of the homography from four correspondences (f64 for stability).
        let mut a = [[0.0f64; 9]; 8];
        for (i, (&(x, y), &(u, v))) in src.iter().zip(quad.iter()).enumerate() {
            let (x, y, u, v) = (f64::from(x), f64::from(y), f64::from(u), f64::from(v));
            a[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
            a[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
        }
        for col in 0..8 {
            let pivot = (col..8).max_by(|&r, &s| a[r][col].abs().total_cmp(&a[s][col].abs()))?;
            if a[pivot][col].abs() < 1e-9 {
                return None;
            }
            a.swap(col, pivot);
            let pivot_row = a[col];
            for (r, row) in a.iter_mut().enumerate() {
                if r != col {
                    let f = row[col] / pivot_row[col];
                    for (x, p) in row.iter_mut().zip(pivot_row.iter()).skip(col) {
                        *x -= f * p;
                    }
                }
            }
        }
        let mut m = [0.0f32; 9];
        for i in 0..8 {
            m[i] = (a[i][8] / a[i][i]) as f32;
        }
        m[8] = 1.0;
        Some(Self(m))
    }

    /// Maps a destination point to the source image.
    pub fn apply(&self, x: f32, y: f32) -> Point {
        let m = &self.0;
        let d = m[6] * x + m[7] * y + m[8];
        ((m[0] * x + m[1] * y + m[2]) / d, (m[3] * x + m[4] * y + m[5]) / d)
    }
}

/// Samples the image bilinearly at (x, y), clamping at the borders; returns RGB as f32.
fn sample(img: &RgbImage, x: f32, y: f32) -> [f32; 3] {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let x = x.clamp(0.0, (w - 1) as f32);
    let y = y.clamp(0.0, (h - 1) as f32);
    let (x0, y0) = (x.floor() as i64, y.floor() as i64);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let px = |xx: i64, yy: i64| img.get_pixel(xx as u32, yy as u32).0;
    let (a, b, c, d) = (px(x0, y0), px(x1, y0), px(x0, y1), px(x1, y1));
    let mut out = [0.0; 3];
    for k in 0..3 {
        let top = f32::from(a[k]) * (1.0 - fx) + f32::from(b[k]) * fx;
        let bottom = f32::from(c[k]) * (1.0 - fx) + f32::from(d[k]) * fx;
        out[k] = top * (1.0 - fy) + bottom * fy;
    }
    out
}

/// ITU-R BT.601 luma, the weights OpenCV's RGB2GRAY uses in training.
fn luma(p: [f32; 3]) -> f32 {
    0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]
}

/// Warps `quad` to a `w` x `h` gray image with values 0-1 (row-major), or `None` when the
/// quad is degenerate. Pixel centres are sampled as OpenCV's `warpPerspective` does.
pub fn rectify_gray(img: &RgbImage, quad: [Point; 4], w: usize, h: usize) -> Option<Vec<f32>> {
    let hmg = Homography::rect_to_quad(w as f32, h as f32, quad)?;
    let mut out = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            let (sx, sy) = hmg.apply(x as f32, y as f32);
            out.push(luma(sample(img, sx, sy)) / 255.0);
        }
    }
    Some(out)
}

/// Warps `quad` to a `w` x `h` colour image (the crop shown to the officer and stored).
pub fn rectify_rgb(img: &RgbImage, quad: [Point; 4], w: u32, h: u32) -> Option<RgbImage> {
    let hmg = Homography::rect_to_quad(w as f32, h as f32, quad)?;
    Some(RgbImage::from_fn(w, h, |x, y| {
        let (sx, sy) = hmg.apply(x as f32, y as f32);
        let p = sample(img, sx, sy);
        Rgb([p[0].round() as u8, p[1].round() as u8, p[2].round() as u8])
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recognize::BBox;

    #[test]
    fn growing_moves_only_the_chosen_sides_along_the_axes() {
        // A plate 100 px wide, tilted down to the right (the right side 10 px lower).
        let quad = [(0.0, 0.0), (100.0, 10.0), (100.0, 40.0), (0.0, 30.0)];
        let wide = grow_quad(quad, 0.0, 0.2, 0.0, 0.0);
        assert_eq!(&wide[..1], &quad[..1]);
        assert_eq!(wide[3], quad[3]);
        assert_eq!(wide[1], (120.0, 12.0));
        assert_eq!(wide[2], (120.0, 42.0));
        let both = grow_quad(quad, 0.1, 0.1, 0.0, 0.0);
        assert_eq!((both[0], both[2]), ((-10.0, -1.0), (110.0, 41.0)));
    }

    #[test]
    fn iou_cases() {
        let a = BBox { x: 0.0, y: 0.0, w: 10.0, h: 10.0 };
        assert_eq!(a.iou(&a), 1.0);
        assert_eq!(a.iou(&BBox { x: 20.0, y: 0.0, w: 5.0, h: 5.0 }), 0.0);
        let half = BBox { x: 5.0, y: 0.0, w: 10.0, h: 10.0 };
        assert!((a.iou(&half) - 50.0 / 150.0).abs() < 1e-6);
        assert_eq!(a.iou(&BBox { x: 0.0, y: 0.0, w: 0.0, h: 0.0 }), 0.0);
    }

    #[test]
    fn homography_maps_corners() {
        let quad = [(10.0, 20.0), (110.0, 25.0), (105.0, 70.0), (12.0, 60.0)];
        let hmg = Homography::rect_to_quad(128.0, 32.0, quad).unwrap();
        for (src, dst) in [(0.0, 0.0), (128.0, 0.0), (128.0, 32.0), (0.0, 32.0)].iter().zip(quad) {
            let (x, y) = hmg.apply(src.0, src.1);
            assert!((x - dst.0).abs() < 1e-3 && (y - dst.1).abs() < 1e-3, "{src:?} -> {x},{y} not {dst:?}");
        }
    }

    #[test]
    fn degenerate_quad_is_refused() {
        assert!(Homography::rect_to_quad(10.0, 10.0, [(0.0, 0.0); 4]).is_none());
    }

    #[test]
    fn rectify_identity_keeps_pixels() {
        let img = RgbImage::from_fn(8, 4, |x, y| Rgb([(x * 30) as u8, (y * 60) as u8, 0]));
        let crop = rectify_rgb(&img, BBox { x: 0.0, y: 0.0, w: 8.0, h: 4.0 }.corners(), 8, 4).unwrap();
        assert_eq!(crop.get_pixel(3, 2), img.get_pixel(3, 2));
        let gray = rectify_gray(&img, BBox { x: 0.0, y: 0.0, w: 8.0, h: 4.0 }.corners(), 8, 4).unwrap();
        let expected = (0.299 * 90.0 + 0.587 * 120.0) / 255.0;
        assert!((gray[2 * 8 + 3] - expected).abs() < 1e-4);
    }

    #[test]
    fn expand_quad_grows_each_side() {
        let q = BBox { x: 10.0, y: 10.0, w: 100.0, h: 50.0 }.corners();
        let e = expand_quad(q, 0.1, 0.2);
        assert_eq!(e[0], (0.0, 0.0));
        assert_eq!(e[2], (120.0, 70.0));
    }
}
