//! Camera health: frame rate, no frames, frozen, black, blown out, out of focus, lost.
//!
//! Each frame is reduced to a small grey thumbnail (block means over 8x8 pixels), which
//! also averages sensor noise away, and measured: mean brightness, share of dark and of
//! saturated pixels, sharpness as the variance of the Laplacian, and a difference from the
//! previous thumbnail. A [`HealthMonitor`] per camera turns those measurements into problems
//! that must persist for a while before they are raised, and emits a [`CameraStatus`] event
//! whenever the set of problems changes. "No frames" is judged by [`HealthMonitor::tick`],
//! which a watchdog calls on a timer because a stalled camera produces nothing to observe.

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

use image::RgbImage;
use serde::Serialize;

/// Thresholds of the health rules.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthConfig {
    /// No frame for this long raises [`CameraProblem::NoFrames`].
    pub no_frames_millis: u64,
    /// A content problem must persist this long before it is raised.
    pub persist_millis: u64,
    /// Thumbnails differing by less than this mean grey level count as identical (frozen).
    pub frozen_max_diff: f32,
    /// Below this share of pixels brighter than 40, the picture is black.
    pub black_max_lit_share: f32,
    /// Above this share of pixels at 250 or more, the picture is blown out.
    pub blown_min_share: f32,
    /// Below this Laplacian variance of the thumbnail, the picture is out of focus whatever
    /// the scene (a fogged or covered lens).
    pub min_sharpness: f32,
    /// Below this share of the camera's own recent sharpness (a slowly decaying maximum),
    /// the picture is out of focus: detail depends on the scene, so a camera is compared with
    /// itself (day road scenes measure in the hundreds, night ones in the tens).
    pub min_sharpness_ratio: f32,
    /// Report the status this often even when nothing changed, so a display shows the
    /// current frame rate (0: only on change, as the headless JSON stream wants).
    pub heartbeat_millis: u64,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            no_frames_millis: 2000,
            persist_millis: 1000,
            frozen_max_diff: 0.05,
            black_max_lit_share: 0.005,
            blown_min_share: 0.85,
            min_sharpness: 8.0,
            min_sharpness_ratio: 0.15,
            heartbeat_millis: 0,
        }
    }
}

/// Something wrong with a camera.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "problem", content = "detail")]
pub enum CameraProblem {
    /// No frame arrived for longer than the limit.
    NoFrames,
    /// Consecutive frames are identical.
    Frozen,
    /// The picture is (nearly) black: covered lens, dead sensor.
    Black,
    /// The picture is (nearly) all white: pointed at the sun, exposure stuck.
    BlownOut,
    /// The picture has no sharp detail: fogged, dirty or unfocused lens.
    OutOfFocus,
    /// The device is gone or failing; being reopened.
    Lost(String),
}

/// A camera's health, sent when it changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CameraStatus {
    /// Camera index in the pipeline.
    pub camera: usize,
    /// Camera name.
    pub name: String,
    /// Current problems; empty means healthy.
    pub problems: Vec<CameraProblem>,
    /// Frames per second over the last second.
    pub fps: f32,
    /// When this was judged.
    #[serde(with = "wall_time")]
    pub at: SystemTime,
}

mod wall_time {
    //! Serializes a `SystemTime` as RFC 3339 UTC.
    use std::time::SystemTime;

    pub fn serialize<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&chrono::DateTime::<chrono::Utc>::from(*t).to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    }
}

/// Measurements of one frame.
#[derive(Debug, Clone)]
pub struct FrameMeasure {
    /// Mean grey level, 0-255.
    pub mean: f32,
    /// Share of pixels brighter than 40.
    pub lit_share: f32,
    /// Share of pixels at 250 or more.
    pub blown_share: f32,
    /// Variance of the Laplacian of the thumbnail.
    pub sharpness: f32,
    /// The grey thumbnail (for the frozen check).
    thumb: Vec<u8>,
    thumb_w: usize,
}

impl FrameMeasure {
    /// Mean absolute grey difference from another frame's thumbnail (infinite if the sizes
    /// differ).
    pub fn difference(&self, other: &FrameMeasure) -> f32 {
        if self.thumb.len() != other.thumb.len() || self.thumb.is_empty() {
            return f32::INFINITY;
        }
        let sum: u64 = self.thumb.iter().zip(&other.thumb).map(|(a, b)| u64::from(a.abs_diff(*b))).sum();
        sum as f32 / self.thumb.len() as f32
    }
}

/// Thumbnail block size: 8x8 means keep a 1280x720 frame's check around a millisecond and cut
/// sensor noise by 8, so that noise (whose Laplacian variance is 20 times its variance) is not
/// mistaken for detail: a featureless picture with noise of 3 grey levels measures about 6,
/// under the out-of-focus floor of 8.
const BLOCK: u32 = 8;

/// Measures a frame.
pub fn measure(img: &RgbImage) -> FrameMeasure {
    let (tw, th) = ((img.width() / BLOCK) as usize, (img.height() / BLOCK) as usize);
    let mut thumb = vec![0u8; tw * th];
    let (mut lit, mut blown, mut total) = (0u64, 0u64, 0u64);
    let mut sum = 0u64;
    let raw = img.as_raw();
    let stride = img.width() as usize * 3;
    for ty in 0..th {
        for tx in 0..tw {
            let mut block_sum = 0u32;
            for dy in 0..BLOCK as usize {
                let row = (ty * BLOCK as usize + dy) * stride;
                for dx in 0..BLOCK as usize {
                    let i = row + (tx * BLOCK as usize + dx) * 3;
                    // Integer luma (BT.601 weights scaled by 256).
                    let g = (77 * u32::from(raw[i]) + 150 * u32::from(raw[i + 1]) + 29 * u32::from(raw[i + 2])) >> 8;
                    block_sum += g;
                    lit += u64::from(g > 40);
                    blown += u64::from(g >= 250);
                    total += 1;
                }
            }
            let mean = block_sum / (BLOCK * BLOCK);
            sum += u64::from(mean);
            thumb[ty * tw + tx] = mean as u8;
        }
    }
    let n = (tw * th).max(1) as f32;
    let total = total.max(1) as f32;
    FrameMeasure {
        mean: sum as f32 / n,
        lit_share: lit as f32 / total,
        blown_share: blown as f32 / total,
        sharpness: laplacian_variance(&thumb, tw, th),
        thumb,
        thumb_w: tw,
    }
}

/// Variance of the 4-neighbour Laplacian over the interior of a grey image.
pub fn laplacian_variance(grey: &[u8], w: usize, h: usize) -> f32 {
    if w < 3 || h < 3 {
        return 0.0;
    }
    let (mut sum, mut sum_sq, mut n) = (0f64, 0f64, 0f64);
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let c = f64::from(grey[y * w + x]);
            let l = f64::from(grey[y * w + x - 1])
                + f64::from(grey[y * w + x + 1])
                + f64::from(grey[(y - 1) * w + x])
                + f64::from(grey[(y + 1) * w + x])
                - 4.0 * c;
            sum += l;
            sum_sq += l * l;
            n += 1.0;
        }
    }
    let mean = sum / n;
    (sum_sq / n - mean * mean) as f32
}

/// Tracks one camera's health over time; see the module documentation.
#[derive(Debug)]
pub struct HealthMonitor {
    camera: usize,
    name: String,
    config: HealthConfig,
    last_frame: Option<Instant>,
    previous: Option<FrameMeasure>,
    /// Since when each content condition has held (frozen, black, blown, unfocused).
    since: [Option<Instant>; 4],
    lost: Option<String>,
    no_frames: bool,
    frame_times: VecDeque<Instant>,
    reported: Option<Vec<CameraProblem>>,
    reported_at: Option<Instant>,
    /// The camera's recent best sharpness, decaying so it follows light changes.
    reference_sharpness: f32,
}

/// Per-frame decay of the reference sharpness: at 30 fps it halves in about 45 s.
const SHARPNESS_DECAY: f32 = 0.9995;

impl HealthMonitor {
    /// A monitor for camera `camera` called `name`; the clock starts at `now`, so a camera
    /// that never delivers is reported after the no-frames limit.
    pub fn new(camera: usize, name: &str, config: HealthConfig, now: Instant) -> Self {
        Self {
            camera,
            name: name.to_string(),
            config,
            last_frame: Some(now),
            previous: None,
            since: [None; 4],
            lost: None,
            no_frames: false,
            frame_times: VecDeque::new(),
            reported: None,
            reported_at: None,
            reference_sharpness: 0.0,
        }
    }

    /// Records a frame captured at `at`; returns a status event if the health changed.
    pub fn observe_frame(&mut self, measure: FrameMeasure, at: Instant) -> Option<CameraStatus> {
        self.last_frame = Some(at);
        self.no_frames = false;
        self.lost = None;
        self.frame_times.push_back(at);
        while self.frame_times.front().is_some_and(|t| at.saturating_duration_since(*t) > Duration::from_secs(1)) {
            self.frame_times.pop_front();
        }
        let frozen = self.previous.as_ref().is_some_and(|p| measure.difference(p) <= self.config.frozen_max_diff);
        self.reference_sharpness = (self.reference_sharpness * SHARPNESS_DECAY).max(measure.sharpness);
        let sharpness_floor = self.config.min_sharpness.max(self.reference_sharpness * self.config.min_sharpness_ratio);
        let conditions = [
            frozen,
            measure.lit_share < self.config.black_max_lit_share,
            measure.blown_share > self.config.blown_min_share,
            // A black or blown picture has no detail either; report the cause, not the symptom.
            measure.sharpness < sharpness_floor
                && measure.lit_share >= self.config.black_max_lit_share
                && measure.blown_share <= self.config.blown_min_share,
        ];
        for (held, since) in conditions.iter().zip(self.since.iter_mut()) {
            *since = if *held { Some(since.unwrap_or(at)) } else { None };
        }
        self.previous = Some(measure);
        self.status_if_changed(at)
    }

    /// Records that the source failed (device lost, cannot reopen).
    pub fn observe_error(&mut self, reason: &str, at: Instant) -> Option<CameraStatus> {
        self.lost = Some(reason.to_string());
        self.status_if_changed(at)
    }

    /// Judges the no-frames rule at `now`; returns a status event if the health changed.
    pub fn tick(&mut self, now: Instant) -> Option<CameraStatus> {
        let limit = Duration::from_millis(self.config.no_frames_millis);
        self.no_frames = self.last_frame.is_some_and(|t| now.saturating_duration_since(t) > limit);
        self.status_if_changed(now)
    }

    /// Frames per second over the last second.
    pub fn fps(&self) -> f32 {
        self.frame_times.len() as f32
    }

    /// The problems that hold at `now`.
    pub fn problems(&self, now: Instant) -> Vec<CameraProblem> {
        let persist = Duration::from_millis(self.config.persist_millis);
        let mut problems = Vec::new();
        if let Some(reason) = &self.lost {
            problems.push(CameraProblem::Lost(reason.clone()));
        }
        if self.no_frames {
            problems.push(CameraProblem::NoFrames);
        }
        let kinds = [CameraProblem::Frozen, CameraProblem::Black, CameraProblem::BlownOut, CameraProblem::OutOfFocus];
        for (since, kind) in self.since.iter().zip(kinds) {
            if since.is_some_and(|s| now.saturating_duration_since(s) >= persist) {
                problems.push(kind);
            }
        }
        // Frozen is meaningless while no frames arrive at all.
        if self.no_frames {
            problems.retain(|p| *p != CameraProblem::Frozen);
        }
        problems
    }

    fn status_if_changed(&mut self, now: Instant) -> Option<CameraStatus> {
        let problems = self.problems(now);
        let heartbeat = self.config.heartbeat_millis > 0
            && self.reported_at.is_some_and(|t| {
                now.saturating_duration_since(t) >= Duration::from_millis(self.config.heartbeat_millis)
            });
        if self.reported.as_ref() == Some(&problems) && !heartbeat {
            return None;
        }
        self.reported = Some(problems.clone());
        self.reported_at = Some(now);
        Some(CameraStatus {
            camera: self.camera,
            name: self.name.clone(),
            problems,
            fps: self.fps(),
            at: SystemTime::now(),
        })
    }

    /// The thumbnail width used for measurements (for tests and diagnostics).
    pub fn thumb_width(&self) -> Option<usize> {
        self.previous.as_ref().map(|p| p.thumb_w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Scene;
    use crate::render::effects::{NoiseField, Region, box_blur};

    fn scene(seed: u64) -> RgbImage {
        Scene::textured(320, 180, seed).image
    }

    /// Feeds `frames` at 30 fps and returns the problems reported last.
    fn run(frames: &[RgbImage]) -> Vec<CameraProblem> {
        run_after(&[], frames)
    }

    /// Feeds 30 frames cycling through `before`, then 60 cycling through `frames`.
    fn run_after(before: &[RgbImage], frames: &[RgbImage]) -> Vec<CameraProblem> {
        let start = Instant::now();
        let mut monitor = HealthMonitor::new(0, "test", HealthConfig::default(), start);
        let mut last = None;
        let warmup = if before.is_empty() { 0 } else { 30 };
        for i in 0..warmup + 60u64 {
            let at = start + Duration::from_millis(i * 33);
            let frame = if i < warmup {
                &before[i as usize % before.len()]
            } else {
                &frames[(i - warmup) as usize % frames.len()]
            };
            if let Some(status) = monitor.observe_frame(measure(frame), at) {
                last = Some(status.problems);
            }
        }
        last.unwrap_or_default()
    }

    fn noisy(img: &RgbImage, offset: usize) -> RgbImage {
        let mut out = img.clone();
        NoiseField::new(64, 3.0, 9).apply(&mut out, offset);
        out
    }

    #[test]
    fn healthy_changing_frames_raise_nothing() {
        let frames: Vec<RgbImage> = (0..5).map(|i| noisy(&scene(1), i * 7)).collect();
        assert_eq!(run(&frames), vec![]);
    }

    #[test]
    fn frozen_frames_are_detected() {
        assert_eq!(run(&[scene(1)]), vec![CameraProblem::Frozen]);
    }

    #[test]
    fn black_frames_are_detected() {
        let frames: Vec<RgbImage> =
            (0..5).map(|i| noisy(&RgbImage::from_pixel(320, 180, image::Rgb([6, 6, 6])), i)).collect();
        assert_eq!(run(&frames), vec![CameraProblem::Black]);
    }

    #[test]
    fn blown_out_frames_are_detected() {
        let frames: Vec<RgbImage> =
            (0..5).map(|i| noisy(&RgbImage::from_pixel(320, 180, image::Rgb([255, 255, 255])), i)).collect();
        assert!(run(&frames).contains(&CameraProblem::BlownOut));
    }

    #[test]
    fn blurred_frames_are_detected() {
        let mut blurred = scene(1);
        let region = Region::whole(&blurred);
        box_blur(&mut blurred, region, 12);
        let frames: Vec<RgbImage> = (0..5).map(|i| noisy(&blurred, i * 7)).collect();
        let sharp_frames: Vec<RgbImage> = (0..5).map(|i| noisy(&scene(1), i * 7)).collect();
        // A camera that was sharp and goes soft.
        assert_eq!(run_after(&sharp_frames, &frames), vec![CameraProblem::OutOfFocus]);
        // A lens that shows nothing but noise from the start.
        let fog: Vec<RgbImage> =
            (0..5).map(|i| noisy(&RgbImage::from_pixel(320, 180, image::Rgb([128; 3])), i * 7)).collect();
        assert_eq!(run(&fog), vec![CameraProblem::OutOfFocus]);
        let sharp = measure(&scene(1)).sharpness;
        assert!(sharp > 4.0 * measure(&blurred).sharpness, "{sharp}");
    }

    #[test]
    fn silence_and_loss_are_reported_and_clear_when_frames_return() {
        let start = Instant::now();
        let mut monitor = HealthMonitor::new(3, "cam", HealthConfig::default(), start);
        assert_eq!(monitor.tick(start + Duration::from_millis(500)).map(|s| s.problems), Some(vec![]));
        let status = monitor.tick(start + Duration::from_millis(2100)).unwrap();
        assert_eq!((status.camera, status.problems), (3, vec![CameraProblem::NoFrames]));
        let status = monitor.observe_error("unplugged", start + Duration::from_millis(2200)).unwrap();
        assert_eq!(status.problems, vec![CameraProblem::Lost("unplugged".into()), CameraProblem::NoFrames]);
        let status = monitor.observe_frame(measure(&scene(2)), start + Duration::from_millis(3000)).unwrap();
        assert!(status.problems.is_empty());
    }
}
