//! The plate detector: a RetinaFace-style network (`clp_det.onnx`) that proposes plate boxes
//! and their four corners; decoded, thresholded and de-duplicated here.
//!
//! The network accepts any input size; tract plans are optimized for a fixed shape, so one
//! plan is built per input shape (a video stream has one) and cached.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use image::RgbImage;
use tract_onnx::prelude::*;

use super::geometry::Point;
use super::{BBox, RecognizeError};

type Plan = Arc<TypedRunnableModel>;

/// BGR channel means the network was trained with (input is BGR minus these, not scaled).
const MEAN_BGR: [f32; 3] = [104.0, 117.0, 123.0];
/// Anchor sizes in pixels per feature stride.
const ANCHORS: [(usize, [f32; 2]); 3] = [(8, [24.0, 48.0]), (16, [96.0, 192.0]), (32, [384.0, 768.0])];
/// SSD box-coding variances.
const VARIANCE: [f32; 2] = [0.1, 0.2];
/// Overlap above which the weaker of two boxes is dropped.
pub(crate) const NMS_IOU: f32 = 0.4;
/// At most this many candidates go into NMS (the network's own package uses 1000).
const TOP_K: usize = 200;

/// One detected plate, in the coordinates of the image given to [`PlateDetector::detect`].
#[derive(Debug, Clone)]
pub struct Detection {
    /// Axis-aligned box.
    pub bbox: BBox,
    /// Corners: top-left, top-right, bottom-right, bottom-left.
    pub corners: [Point; 4],
    /// Detector score 0-1.
    pub score: f32,
}

/// The loaded detector.
pub struct PlateDetector {
    path: PathBuf,
    model: InferenceModel,
    plans: Mutex<HashMap<(usize, usize), Plan>>,
    long_side: u32,
    threshold: f32,
}

impl std::fmt::Debug for PlateDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlateDetector").field("path", &self.path).field("long_side", &self.long_side).finish()
    }
}

impl PlateDetector {
    /// Loads the model; `long_side` is the input's longer side in pixels (the image is scaled
    /// to it, the other side rounded up to a multiple of 32).
    pub fn load(path: &Path, long_side: u32, threshold: f32) -> Result<Self, RecognizeError> {
        if !path.is_file() {
            return Err(RecognizeError::ModelMissing(path.to_path_buf()));
        }
        let invalid =
            |e: TractError| RecognizeError::ModelInvalid { path: path.to_path_buf(), reason: format!("{e:#}") };
        let model = tract_onnx::onnx().model_for_path(path).map_err(invalid)?;
        let detector = Self {
            path: path.to_path_buf(),
            model,
            plans: Mutex::new(HashMap::new()),
            long_side: long_side.max(64),
            threshold,
        };
        Ok(detector)
    }

    /// The input shape (height, width) used for an image of this size.
    pub fn input_shape(&self, width: u32, height: u32) -> (usize, usize) {
        shape_for(width, height, self.long_side)
    }

    /// The long side this detector scales images to.
    pub fn long_side(&self) -> u32 {
        self.long_side
    }

    /// Builds (or fetches) the optimized plan for an input shape.
    pub fn plan(&self, shape: (usize, usize)) -> Result<Plan, RecognizeError> {
        if let Some(plan) = self.plans.lock().ok().and_then(|plans| plans.get(&shape).cloned()) {
            return Ok(plan);
        }
        let invalid =
            |e: TractError| RecognizeError::ModelInvalid { path: self.path.clone(), reason: format!("{e:#}") };
        // Shapes are fixed before typing, so every dimension is concrete in the optimized plan.
        let plan = self
            .model
            .clone()
            .with_input_fact(0, f32::fact([1, 3, shape.0, shape.1]).into())
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(invalid)?;
        if let Ok(mut plans) = self.plans.lock() {
            plans.insert(shape, plan.clone());
        }
        Ok(plan)
    }

    /// Finds plates in an image.
    pub fn detect(&self, img: &RgbImage) -> Result<Vec<Detection>, RecognizeError> {
        self.detect_at(img, self.long_side)
    }

    /// Finds plates in an image scaled to `long_side` instead of the configured size: smaller
    /// is faster and finds only the larger plates.
    pub fn detect_at(&self, img: &RgbImage, long_side: u32) -> Result<Vec<Detection>, RecognizeError> {
        let long_side = long_side.max(64);
        let (ih, iw) = shape_for(img.width(), img.height(), long_side);
        let plan = self.plan((ih, iw))?;
        let scale = (img.width().max(img.height()) as f32) / long_side as f32;
        let input = to_input(img, ih, iw, scale);
        let outputs = plan.run(tvec!(input.into())).map_err(|e| RecognizeError::Inference(format!("{e:#}")))?;
        let view =
            |i: usize| outputs[i].to_plain_array_view::<f32>().map_err(|e| RecognizeError::Inference(format!("{e:#}")));
        let (loc, conf, land) = (view(0)?, view(1)?, view(2)?);
        let (loc, conf, land) = (
            loc.as_slice().unwrap_or_default(),
            conf.as_slice().unwrap_or_default(),
            land.as_slice().unwrap_or_default(),
        );
        let priors = priors(ih, iw);
        if loc.len() != priors.len() * 4 || conf.len() != priors.len() * 2 || land.len() != priors.len() * 8 {
            return Err(RecognizeError::Inference(format!(
                "detector output sizes {}/{}/{} do not match {} priors",
                loc.len(),
                conf.len(),
                land.len(),
                priors.len()
            )));
        }
        let mut found: Vec<Detection> = Vec::new();
        for (i, p) in priors.iter().enumerate() {
            let score = conf[2 * i + 1];
            if score < self.threshold {
                continue;
            }
            let l = &loc[4 * i..4 * i + 4];
            let cx = p[0] + l[0] * VARIANCE[0] * p[2];
            let cy = p[1] + l[1] * VARIANCE[0] * p[3];
            let w = p[2] * (l[2] * VARIANCE[1]).exp();
            let h = p[3] * (l[3] * VARIANCE[1]).exp();
            // Back to source pixels: normalized * input size * scale.
            let (sx, sy) = (iw as f32 * scale, ih as f32 * scale);
            let bbox = BBox { x: (cx - w / 2.0) * sx, y: (cy - h / 2.0) * sy, w: w * sx, h: h * sy };
            let lm = &land[8 * i..8 * i + 8];
            let corner = |k: usize| {
                ((p[0] + lm[2 * k] * VARIANCE[0] * p[2]) * sx, (p[1] + lm[2 * k + 1] * VARIANCE[0] * p[3]) * sy)
            };
            // The network emits bottom-right, bottom-left, top-left, top-right.
            let corners = [corner(2), corner(3), corner(0), corner(1)];
            found.push(Detection { bbox, corners, score });
        }
        found.sort_by(|a, b| b.score.total_cmp(&a.score));
        found.truncate(TOP_K);
        Ok(nms(found, NMS_IOU))
    }
}

/// Long side of a region-of-interest search: regions are 2:1, so every one has the same
/// input shape and shares one optimized plan.
pub const ROI_LONG_SIDE: u32 = 320;
/// A region of interest is this many times the expected plate's width wide (and half as
/// high), so the plate fills about 40% of the search's width.
const ROI_PLATE_WIDTHS: f32 = 2.5;

impl PlateDetector {
    /// Searches only the neighbourhood of `around` (a plate's box from a coarser search or an
    /// earlier frame) at a fixed, small input size, and returns the plate found there, the one
    /// nearest the region's centre, in image coordinates. Cheap (a tenth of a full search)
    /// and precise: the plate is seen at about 130 px wide whatever its size in the image.
    pub fn detect_near(&self, img: &RgbImage, around: &BBox) -> Result<Option<Detection>, RecognizeError> {
        let roi_w = (around.w.max(around.h * 2.0) * ROI_PLATE_WIDTHS).max(32.0);
        let roi_h = roi_w / 2.0;
        let (cx, cy) = around.centre();
        let (x0, y0) = (cx - roi_w / 2.0, cy - roi_h / 2.0);
        let roi = crop_clamped(img, x0, y0, roi_w.round() as u32, roi_h.round() as u32);
        let found = self.detect_at(&roi, ROI_LONG_SIDE)?;
        let centre = (roi_w / 2.0, roi_h / 2.0);
        let distance = |d: &Detection| {
            let (x, y) = d.bbox.centre();
            (x - centre.0).hypot(y - centre.1)
        };
        let best = found
            .into_iter()
            .filter(|d| d.bbox.contains(centre) || distance(d) < roi_w / 4.0)
            .min_by(|a, b| distance(a).total_cmp(&distance(b)));
        Ok(best.map(|d| {
            let shift = |(x, y): Point| (x + x0, y + y0);
            Detection {
                bbox: BBox { x: d.bbox.x + x0, y: d.bbox.y + y0, ..d.bbox },
                corners: d.corners.map(shift),
                score: d.score,
            }
        }))
    }
}

/// Copies the `w` x `h` region at (`x0`, `y0`) out of `img`; parts outside the image repeat
/// its edge pixels (a plate at the border still gets a full-size region).
fn crop_clamped(img: &RgbImage, x0: f32, y0: f32, w: u32, h: u32) -> RgbImage {
    let (x0, y0) = (x0.round() as i64, y0.round() as i64);
    let (iw, ih) = (i64::from(img.width()), i64::from(img.height()));
    RgbImage::from_fn(w.max(1), h.max(1), |x, y| {
        let sx = (x0 + i64::from(x)).clamp(0, iw - 1);
        let sy = (y0 + i64::from(y)).clamp(0, ih - 1);
        *img.get_pixel(sx as u32, sy as u32)
    })
}

/// The detector input (height, width) for an image: the long side scaled to `long_side`, the
/// other rounded up to a multiple of the network's largest stride.
pub(crate) fn shape_for(width: u32, height: u32, long_side: u32) -> (usize, usize) {
    let scale = long_side as f32 / width.max(height) as f32;
    let round32 = |v: f32| ((v / 32.0).ceil() as usize).max(1) * 32;
    let (w, h) = (width as f32 * scale, height as f32 * scale);
    if width >= height { (round32(h), long_side as usize) } else { (long_side as usize, round32(w)) }
}

/// The anchor priors (cx, cy, w, h), normalized, in the network's output order.
fn priors(h: usize, w: usize) -> Vec<[f32; 4]> {
    let mut out = Vec::new();
    for (step, sizes) in ANCHORS {
        let (gh, gw) = (h.div_ceil(step), w.div_ceil(step));
        for i in 0..gh {
            for j in 0..gw {
                for s in sizes {
                    let cx = (j as f32 + 0.5) * step as f32 / w as f32;
                    let cy = (i as f32 + 0.5) * step as f32 / h as f32;
                    out.push([cx, cy, s / w as f32, s / h as f32]);
                }
            }
        }
    }
    out
}

/// Resizes (bilinear) straight into the network's BGR-minus-mean NCHW tensor; the part of the
/// input beyond the scaled image stays at zero, which is the mean colour.
fn to_input(img: &RgbImage, ih: usize, iw: usize, scale: f32) -> Tensor {
    let plane_len = ih * iw;
    let mut data = vec![0.0f32; 3 * plane_len];
    let (sw, sh) = (img.width() as usize, img.height() as usize);
    let (ow, oh) = (((sw as f32 / scale).round() as usize).min(iw), ((sh as f32 / scale).round() as usize).min(ih));
    let raw = img.as_raw();
    // Bilinear sampling, separable: each output column's two source pixels (as byte offsets
    // in a row) and weight are the same on every row, so they are worked out once; each
    // row writes straight into its three planes (this runs on every frame).
    let source = |i: usize, len: usize| {
        let f = ((i as f32 + 0.5) * scale - 0.5).clamp(0.0, (len - 1) as f32);
        let i0 = f as usize;
        (i0, (i0 + 1).min(len - 1), f - i0 as f32)
    };
    let columns: Vec<(usize, usize, f32)> = (0..ow)
        .map(|x| {
            let (x0, x1, wx) = source(x, sw);
            (x0 * 3, x1 * 3, wx)
        })
        .collect();
    // The network takes BGR planes.
    let (blue, rest) = data.split_at_mut(plane_len);
    let (green, red) = rest.split_at_mut(plane_len);
    for y in 0..oh {
        let (y0, y1, wy) = source(y, sh);
        let (row0, row1) = (&raw[y0 * sw * 3..(y0 + 1) * sw * 3], &raw[y1 * sw * 3..(y1 + 1) * sw * 3]);
        let out = y * iw..y * iw + ow;
        let planes = blue[out.clone()].iter_mut().zip(&mut green[out.clone()]).zip(&mut red[out]);
        for (&(x0, x1, wx), ((b, g), r)) in columns.iter().zip(planes) {
            let (p0, p1, q0, q1) = (&row0[x0..x0 + 3], &row0[x1..x1 + 3], &row1[x0..x0 + 3], &row1[x1..x1 + 3]);
            let lerp = |c: usize| {
                let top = f32::from(p0[c]) * (1.0 - wx) + f32::from(p1[c]) * wx;
                let bottom = f32::from(q0[c]) * (1.0 - wx) + f32::from(q1[c]) * wx;
                top * (1.0 - wy) + bottom * wy
            };
            *r = lerp(0) - MEAN_BGR[2];
            *g = lerp(1) - MEAN_BGR[1];
            *b = lerp(2) - MEAN_BGR[0];
        }
    }
    // The shape always matches the data: 3 * ih * iw elements; the vector becomes the
    // tensor without a copy.
    tract_ndarray::Array4::from_shape_vec((1, 3, ih, iw), data)
        .map(IntoTensor::into_tensor)
        .unwrap_or_else(|_| Tensor::zero::<f32>(&[1, 3, ih, iw]).unwrap_or_default())
}

/// Greedy non-maximum suppression over score-sorted detections.
pub(crate) fn nms(sorted: Vec<Detection>, iou: f32) -> Vec<Detection> {
    let mut kept: Vec<Detection> = Vec::new();
    for d in sorted {
        if kept.iter().all(|k| k.bbox.iou(&d.bbox) <= iou) {
            kept.push(d);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prior_count_matches_network_layout() {
        // 416x736: strides 8/16/32 give 52x92, 26x46, 13x23 cells, two anchors each.
        assert_eq!(priors(416, 736).len(), 2 * (52 * 92 + 26 * 46 + 13 * 23));
        let p = priors(64, 64);
        assert_eq!(p[0], [4.0 / 64.0, 4.0 / 64.0, 24.0 / 64.0, 24.0 / 64.0]);
        assert_eq!(p[1][2], 48.0 / 64.0);
    }

    #[test]
    fn nms_drops_overlaps_and_keeps_order() {
        let d = |x: f32, score: f32| Detection {
            bbox: BBox { x, y: 0.0, w: 10.0, h: 10.0 },
            corners: BBox { x, y: 0.0, w: 10.0, h: 10.0 }.corners(),
            score,
        };
        let kept = nms(vec![d(0.0, 0.9), d(1.0, 0.8), d(50.0, 0.7)], 0.4);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].score, 0.9);
        assert_eq!(kept[1].bbox.x, 50.0);
    }

    #[test]
    fn input_tensor_is_bgr_minus_mean() {
        let img = RgbImage::from_pixel(4, 2, image::Rgb([200, 100, 50]));
        let t = to_input(&img, 32, 32, 1.0);
        let v = t.to_plain_array_view::<f32>().unwrap();
        assert_eq!(v[[0, 0, 0, 0]], 50.0 - 104.0);
        assert_eq!(v[[0, 2, 1, 3]], 200.0 - 123.0);
        assert_eq!(v[[0, 1, 5, 5]], 0.0, "padding is the mean colour");
    }
}
