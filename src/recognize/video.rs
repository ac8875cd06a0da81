//! Reading plates in a camera's video: a whole-frame search a few times a second, and in
//! between only a small search around each plate already seen.
//!
//! A plate stays in view for many frames and moves little between two of them, so searching
//! the whole frame every frame wastes most of the detector's time. The video reader keeps,
//! per camera, the boxes of the plates it read recently; each frame it searches the
//! neighbourhood of those boxes at a fixed small scale (a tenth of a whole-frame search), and
//! every `search_interval` it also searches the whole frame for new plates. Workers share the
//! reader, so whichever worker takes a frame sees what the others found: the schedule is kept
//! per camera, by capture time, under a mutex held only to read or update it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use image::RgbImage;

use super::detector::{Detection, NMS_IOU, nms};
use super::{BBox, PlateRead, RecognizeError, Recognizer};

/// Detector score above which a plate near a known one is followed even when unread.
const FOLLOW_SCORE: f32 = 0.5;

/// When the video reader searches the whole frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoSchedule {
    /// A whole-frame search at most this often per camera (frames in between search only
    /// around known plates).
    pub search_interval: Duration,
    /// A known plate not read again for this long is forgotten.
    pub keep: Duration,
}

impl Default for VideoSchedule {
    fn default() -> Self {
        Self { search_interval: Duration::from_millis(100), keep: Duration::from_millis(400) }
    }
}

/// Where one camera's plates were last seen.
#[derive(Debug, Default)]
struct CameraPlates {
    /// Capture time of the frame that last started a whole-frame search.
    last_search: Option<Instant>,
    /// Plates seen recently.
    known: Vec<Known>,
}

/// A plate seen recently: where, when, and how fast its box moved (pixels per second), so
/// the next search looks where it will be, not where it was.
#[derive(Debug, Clone, Copy)]
struct Known {
    bbox: BBox,
    seen: Instant,
    velocity: (f32, f32),
}

impl Known {
    /// The box moved on to time `at`.
    fn predicted(&self, at: Instant) -> BBox {
        let dt = at.saturating_duration_since(self.seen).as_secs_f32();
        BBox { x: self.bbox.x + self.velocity.0 * dt, y: self.bbox.y + self.velocity.1 * dt, ..self.bbox }
    }
}

/// The recognizer with a per-camera search schedule; shared by the recognition workers.
#[derive(Debug)]
pub struct VideoReader {
    recognizer: Recognizer,
    schedule: VideoSchedule,
    cameras: Mutex<HashMap<usize, CameraPlates>>,
}

/// What to search in one frame.
struct Plan {
    whole_frame: bool,
    around: Vec<BBox>,
}

impl VideoReader {
    /// Wraps a recognizer loaded for frames (`Recognizer::load_for_frames`).
    pub fn new(recognizer: Recognizer, schedule: VideoSchedule) -> Self {
        Self { recognizer, schedule, cameras: Mutex::new(HashMap::new()) }
    }

    /// Finds and reads the plates in one frame of `camera`, captured at `at`.
    pub fn read_frame(&self, camera: usize, img: &RgbImage, at: Instant) -> Result<Vec<PlateRead>, RecognizeError> {
        let plan = self.plan(camera, at);
        let detector = self.recognizer.detector();
        let mut found: Vec<Detection> = Vec::new();
        for known in &plan.around {
            if let Some(det) = detector.detect_near(img, known)? {
                found.push(det);
            }
        }
        // What the detector is sure of near a known plate is followed even when this frame's
        // crop is too blurred to read, so the plate is not lost until it reads again.
        let followed: Vec<BBox> = found.iter().filter(|d| d.score >= FOLLOW_SCORE).map(|d| d.bbox).collect();
        if plan.whole_frame {
            // New plates only: a plate already found around its known box is not refined twice.
            let new: Vec<Detection> = detector
                .detect(img)?
                .into_iter()
                .filter(|d| found.iter().all(|f| f.bbox.iou(&d.bbox) < NMS_IOU))
                .collect();
            found.extend(self.recognizer.refine(img, new)?);
        }
        found.sort_by(|a, b| b.score.total_cmp(&a.score));
        let reads = self.recognizer.read_all(img, nms(found, NMS_IOU))?;
        let seen: Vec<BBox> = reads.iter().map(|r| r.bbox).chain(followed).collect();
        self.remember(camera, at, &seen);
        // A plate cut by the frame's edge (entering or leaving the picture) reads as its
        // visible part, a shorter text that would outvote or split the pass's real reading:
        // it is followed, but its read is not reported.
        let (width, height) = (img.width() as f32, img.height() as f32);
        Ok(reads.into_iter().filter(|r| !cut_by_frame(&r.bbox, width, height)).collect())
    }

    /// Decides what to search in the frame captured at `at`, and claims the whole-frame search
    /// when it is due (so two workers do not both do it).
    fn plan(&self, camera: usize, at: Instant) -> Plan {
        let Ok(mut cameras) = self.cameras.lock() else {
            return Plan { whole_frame: true, around: Vec::new() };
        };
        let state = cameras.entry(camera).or_default();
        let whole_frame =
            state.last_search.is_none_or(|last| at.saturating_duration_since(last) >= self.schedule.search_interval);
        if whole_frame {
            state.last_search = Some(at);
        }
        let keep = self.schedule.keep;
        state.known.retain(|k| k.seen.checked_add(keep).is_none_or(|until| until >= at));
        Plan { whole_frame, around: state.known.iter().map(|k| k.predicted(at)).collect() }
    }

    /// Records where this frame's plates were, updating the known plate each box continues.
    fn remember(&self, camera: usize, at: Instant, boxes: &[BBox]) {
        let Ok(mut cameras) = self.cameras.lock() else {
            return;
        };
        let state = cameras.entry(camera).or_default();
        for bbox in boxes {
            let continues = state.known.iter_mut().find(|k| k.predicted(at).iou(bbox) > 0.1);
            match continues {
                // Frames can finish out of order (several workers): only a newer box moves it.
                Some(known) if known.seen < at => {
                    let dt = at.duration_since(known.seen).as_secs_f32();
                    let velocity = ((bbox.x - known.bbox.x) / dt, (bbox.y - known.bbox.y) / dt);
                    *known = Known { bbox: *bbox, seen: at, velocity };
                }
                Some(_) => {}
                None => state.known.push(Known { bbox: *bbox, seen: at, velocity: (0.0, 0.0) }),
            }
        }
    }
}

/// How close (px) a plate's box may come to the frame's edge and still be wholly in view.
const FRAME_EDGE_PX: f32 = 2.0;

/// True when the box reaches the frame's edge, so part of the plate is probably out of view.
fn cut_by_frame(bbox: &BBox, width: f32, height: f32) -> bool {
    bbox.x <= FRAME_EDGE_PX
        || bbox.y <= FRAME_EDGE_PX
        || bbox.x + bbox.w >= width - FRAME_EDGE_PX
        || bbox.y + bbox.h >= height - FRAME_EDGE_PX
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RecognizerConfig;
    use crate::recognize::models_dir;
    use crate::render::{PlateStyle, render_plate};

    fn reader() -> VideoReader {
        let config = RecognizerConfig { models_dir: Some(models_dir(None)), ..RecognizerConfig::default() };
        let recognizer = Recognizer::load_for_frames(&config, 640, 360).unwrap();
        VideoReader::new(recognizer, VideoSchedule::default())
    }

    fn frame_with_plate(text: &str, x: u32) -> RgbImage {
        let mut img = RgbImage::from_pixel(640, 360, image::Rgb([90, 95, 100]));
        let plate = render_plate(&PlateStyle::california(), text, 120).unwrap();
        image::imageops::overlay(&mut img, &plate, i64::from(x), 200);
        img
    }

    #[test]
    fn searches_the_whole_frame_on_schedule_and_known_plates_in_between() {
        let reader = reader();
        let t0 = Instant::now();
        let first = reader.plan(0, t0);
        assert!(first.whole_frame && first.around.is_empty());
        let reads = reader.read_frame(1, &frame_with_plate("7ABC123", 200), t0).unwrap();
        assert_eq!(reads.first().map(|r| r.text.as_str()), Some("7ABC123"));
        // 33 ms later: no whole-frame search, but the plate (moved a little) is found again.
        let next = t0 + Duration::from_millis(33);
        let plan = reader.plan(1, next);
        assert!(!plan.whole_frame);
        assert_eq!(plan.around.len(), 1);
        let reads = reader.read_frame(1, &frame_with_plate("7ABC123", 212), next + Duration::from_millis(1)).unwrap();
        assert_eq!(reads.first().map(|r| r.text.as_str()), Some("7ABC123"));
        // Cameras are independent, and a plate unseen for longer than `keep` is forgotten.
        assert!(reader.plan(2, next).whole_frame);
        // A plate entering the frame at its right edge is followed but not read: its visible
        // part would read as a shorter text.
        let entering = t0 + Duration::from_millis(200);
        assert!(reader.read_frame(3, &frame_with_plate("7ABC123", 560), entering).unwrap().is_empty());
        let plan = reader.plan(3, entering + Duration::from_millis(33));
        assert_eq!(plan.around.len(), 1, "the cut plate is still followed");
        let later = t0 + Duration::from_secs(5);
        let plan = reader.plan(1, later);
        assert!(plan.whole_frame && plan.around.is_empty());
    }
}
