//! Geometry: a projective map (homography) and compositing a small image onto a quadrilateral
//! of a larger one with bilinear sampling and anti-aliased edges.

use image::RgbImage;

/// A projective map of the unit square onto a quadrilateral.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Homography {
    /// Row-major 3x3 matrix; the last element is 1.
    m: [f32; 9],
}

impl Homography {
    /// The map sending (0,0), (1,0), (1,1), (0,1) to the quad's corners in that order
    /// (top-left, top-right, bottom-right, bottom-left). Returns `None` for a degenerate quad.
    pub fn unit_square_to_quad(q: [(f32, f32); 4]) -> Option<Self> {
        let [(x0, y0), (x1, y1), (x2, y2), (x3, y3)] = q;
        let (dx1, dx2, dx3) = (x1 - x2, x3 - x2, x0 - x1 + x2 - x3);
        let (dy1, dy2, dy3) = (y1 - y2, y3 - y2, y0 - y1 + y2 - y3);
        let den = dx1 * dy2 - dx2 * dy1;
        let (g, h) = if dx3.abs() < 1e-6 && dy3.abs() < 1e-6 {
            (0.0, 0.0)
        } else if den.abs() < 1e-9 {
            return None;
        } else {
            ((dx3 * dy2 - dx2 * dy3) / den, (dx1 * dy3 - dx3 * dy1) / den)
        };
        let m = [x1 - x0 + g * x1, x3 - x0 + h * x3, x0, y1 - y0 + g * y1, y3 - y0 + h * y3, y0, g, h, 1.0];
        let hom = Self { m };
        // A zero determinant means the quad collapsed to a line or a point.
        (hom.determinant().abs() > 1e-9).then_some(hom)
    }

    fn determinant(&self) -> f32 {
        let m = &self.m;
        m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6])
    }

    /// The inverse map, if the matrix is invertible.
    pub fn inverse(&self) -> Option<Self> {
        let m = &self.m;
        let det = self.determinant();
        if det.abs() < 1e-12 {
            return None;
        }
        let adj = [
            m[4] * m[8] - m[5] * m[7],
            m[2] * m[7] - m[1] * m[8],
            m[1] * m[5] - m[2] * m[4],
            m[5] * m[6] - m[3] * m[8],
            m[0] * m[8] - m[2] * m[6],
            m[2] * m[3] - m[0] * m[5],
            m[3] * m[7] - m[4] * m[6],
            m[1] * m[6] - m[0] * m[7],
            m[0] * m[4] - m[1] * m[3],
        ];
        let last = adj[8] / det;
        if last.abs() < 1e-12 {
            return None;
        }
        Some(Self { m: adj.map(|v| v / det / last) })
    }

    /// Applies the map to a point.
    pub fn apply(&self, x: f32, y: f32) -> (f32, f32) {
        let m = &self.m;
        let w = m[6] * x + m[7] * y + m[8];
        ((m[0] * x + m[1] * y + m[2]) / w, (m[3] * x + m[4] * y + m[5]) / w)
    }
}

/// Samples `img` at real coordinates (pixel centres at integers), clamping at the edges.
pub fn sample_bilinear(img: &RgbImage, x: f32, y: f32) -> [f32; 3] {
    let max_x = img.width().saturating_sub(1) as f32;
    let max_y = img.height().saturating_sub(1) as f32;
    let x = x.clamp(0.0, max_x);
    let y = y.clamp(0.0, max_y);
    let (x0, y0) = (x.floor() as u32, y.floor() as u32);
    let (x1, y1) = ((x0 + 1).min(max_x as u32), (y0 + 1).min(max_y as u32));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let p = |xx, yy| img.get_pixel(xx, yy).0;
    let (a, b, c, d) = (p(x0, y0), p(x1, y0), p(x0, y1), p(x1, y1));
    let mut out = [0.0; 3];
    for (i, o) in out.iter_mut().enumerate() {
        let top = f32::from(a[i]) * (1.0 - fx) + f32::from(b[i]) * fx;
        let bottom = f32::from(c[i]) * (1.0 - fx) + f32::from(d[i]) * fx;
        *o = top * (1.0 - fy) + bottom * fy;
    }
    out
}

/// Draws `src` onto `dst` so that its corners land on `quad` (top-left, top-right,
/// bottom-right, bottom-left), with anti-aliased edges. Returns false for a degenerate quad.
///
/// Bilinear sampling aliases when `src` is much larger than the quad: callers pass a source
/// already scaled near the target size (see [`super::scene::PlateMips`]).
pub fn composite_quad(dst: &mut RgbImage, src: &RgbImage, quad: [(f32, f32); 4]) -> bool {
    let Some(forward) = Homography::unit_square_to_quad(quad) else {
        return false;
    };
    let Some(inverse) = forward.inverse() else {
        return false;
    };
    let (sw, sh) = (src.width() as f32, src.height() as f32);
    if sw < 1.0 || sh < 1.0 {
        return false;
    }
    let xs = quad.map(|p| p.0);
    let ys = quad.map(|p| p.1);
    let min_x = xs.iter().copied().fold(f32::MAX, f32::min).floor().max(0.0) as u32;
    let max_x = xs.iter().copied().fold(f32::MIN, f32::max).ceil().min(dst.width() as f32) as u32;
    let min_y = ys.iter().copied().fold(f32::MAX, f32::min).floor().max(0.0) as u32;
    let max_y = ys.iter().copied().fold(f32::MIN, f32::max).ceil().min(dst.height() as f32) as u32;
    // Edge lengths in destination pixels convert unit-square distances to pixel distances for
    // the edge coverage.
    let len = |a: (f32, f32), b: (f32, f32)| ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
    let quad_w = (len(quad[0], quad[1]) + len(quad[3], quad[2])) / 2.0;
    let quad_h = (len(quad[0], quad[3]) + len(quad[1], quad[2])) / 2.0;
    for y in min_y..max_y {
        for x in min_x..max_x {
            let (u, v) = inverse.apply(x as f32 + 0.5, y as f32 + 0.5);
            let edge = (u.min(1.0 - u) * quad_w).min(v.min(1.0 - v) * quad_h);
            let coverage = (edge + 0.5).clamp(0.0, 1.0);
            if coverage <= 0.0 {
                continue;
            }
            let s = sample_bilinear(src, u * sw - 0.5, v * sh - 0.5);
            let px = dst.get_pixel_mut(x, y);
            for (channel, sample) in px.0.iter_mut().zip(s) {
                *channel = (f32::from(*channel) * (1.0 - coverage) + sample * coverage).round() as u8;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn homography_maps_corners_and_inverts() {
        let quad = [(10.0, 20.0), (110.0, 25.0), (105.0, 70.0), (12.0, 60.0)];
        let h = Homography::unit_square_to_quad(quad).unwrap();
        for ((u, v), (x, y)) in [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)].into_iter().zip(quad) {
            let (px, py) = h.apply(u, v);
            assert!((px - x).abs() < 1e-3 && (py - y).abs() < 1e-3, "{u},{v} -> {px},{py}");
        }
        let inv = h.inverse().unwrap();
        let (u, v) = inv.apply(h.apply(0.3, 0.7).0, h.apply(0.3, 0.7).1);
        assert!((u - 0.3).abs() < 1e-4 && (v - 0.7).abs() < 1e-4);
        assert!(Homography::unit_square_to_quad([(0.0, 0.0); 4]).is_none());
    }

    #[test]
    fn composite_fills_the_quad_only() {
        let mut dst = RgbImage::new(40, 40);
        let src = RgbImage::from_pixel(8, 4, image::Rgb([200, 100, 50]));
        assert!(composite_quad(&mut dst, &src, [(10.0, 10.0), (30.0, 10.0), (30.0, 20.0), (10.0, 20.0)]));
        assert_eq!(dst.get_pixel(20, 15).0, [200, 100, 50]);
        assert_eq!(dst.get_pixel(5, 5).0, [0, 0, 0]);
        assert_eq!(dst.get_pixel(20, 25).0, [0, 0, 0]);
    }
}
