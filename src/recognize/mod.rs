//! Plate recognition: find every licence plate in an image and read its text.
//!
//! A detector proposes plate regions, each region is rectified to a fixed-size crop and a
//! plate-text recognizer (CTC) reads it. Both models are ONNX files run by tract-onnx on the
//! CPU, loaded and optimized once; a [`Recognizer`] is `Send + Sync` and is shared by the
//! recognition workers.

pub mod tracker;
pub mod video;

use std::path::{Path, PathBuf};

use image::RgbImage;
use serde::Serialize;

pub use crate::geometry::BBox;

/// One alternative reading of a plate, used for OCR-tolerant hot-list matching.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// Normalized text (A-Z0-9).
    pub text: String,
    /// Confidence 0-1.
    pub confidence: f32,
}

/// One plate found in an image.
#[derive(Debug, Clone)]
pub struct PlateRead {
    /// Best reading, A-Z0-9 only.
    pub text: String,
    /// Confidence of the best reading, 0-1.
    pub confidence: f32,
    /// Confidence of each character of `text`.
    pub char_confidences: Vec<f32>,
    /// The plate's box in image coordinates.
    pub bbox: BBox,
    /// The plate's corners (top-left, top-right, bottom-right, bottom-left) when known.
    pub corners: Option<[(f32, f32); 4]>,
    /// The top readings, best first (the first equals `text`).
    pub candidates: Vec<Candidate>,
    /// The rectified plate image the recognizer read.
    pub crop: RgbImage,
    /// The issuing state, when the state classifier is loaded (its `state` is `None` when
    /// it is not sure: "unknown").
    pub state: Option<StateRead>,
}

/// Why recognition could not run.
#[derive(Debug, thiserror::Error)]
pub enum RecognizeError {
    /// A model file is missing.
    #[error("model file {0} is missing: run scripts/fetch-models.sh (see models/README.md)")]
    ModelMissing(PathBuf),
    /// A model file exists but tract could not load or optimize it.
    #[error("model file {path} cannot be loaded: {reason}")]
    ModelInvalid {
        /// The model file.
        path: PathBuf,
        /// tract's explanation.
        reason: String,
    },
    /// A model failed while running.
    #[error("inference failed: {0}")]
    Inference(String),
}

/// Returns the models folder: the configured one, else `models/` in the working directory,
/// else the `models/` of the source checkout this binary was built from.
pub fn models_dir(configured: Option<&Path>) -> PathBuf {
    if let Some(dir) = configured {
        return dir.to_path_buf();
    }
    let local = PathBuf::from("models");
    if local.is_dir() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
}

pub mod detector;
pub mod evaluate;
pub mod geometry;
pub mod image_io;
mod model;
pub mod ocr;
pub mod readers;
pub mod region;
pub mod slots;
pub mod state;

use crate::config::RecognizerConfig;
use detector::{Detection, PlateDetector};
use geometry::{Quad, expand_quad};
use ocr::{TextRead, ViewSchedule};
pub use readers::ReaderMode;
use readers::Readers;
use state::{STATE_FILE, STATE_H, STATE_W, StateReader};
pub use state::{StateCandidate, StateRead};

/// File name of the plate detector inside the models folder.
pub const DETECTOR_FILE: &str = "third_party/clp_det.onnx";
/// File name of the plate-text recognizer inside the models folder.
pub const OCR_FILE: &str = "plate_ocr.onnx";
/// File name of the slot reader (fast-plate-ocr's CCT-XS, fine-tuned by `training/
/// finetune_slots.py`) inside the models folder.
pub const SLOT_FILE: &str = "plate_slots.onnx";

/// Margins added around the detector's quad before reading it (fractions of the plate's
/// width and height), one per view, the first also framing the stored crop: the recognizer
/// was trained on loose crops, and a tight detector box often clips the first or last
/// character; tighter and looser views outvote a framing that clips or adds clutter.
const READ_MARGINS: [(f32, f32); 5] = [(0.06, 0.12), (0.12, 0.20), (0.02, 0.06), (0.09, 0.16), (0.04, 0.09)];
/// How many of those views are read. Most plates read clearly in three framings, and the
/// extra views help the doubtful ones (look-alike characters, under 0.9 sure), so they are
/// spent there. A first view with under 0.2 text probability is not a plate, and its other
/// views are not read: most detections are not plates (the detector's threshold is low on
/// purpose), and the text-band retry reads each flat one twice. 0.1 to 0.5 read the same
/// plates on us-composite-val and eu-val, 0.2 and 0.5 the same crops on crops-val as none
/// (docs/recognition.md, "Ninth session"); 0.2 keeps a margin below the plate floor
/// (`min_confidence`, 0.5).
const VIEWS: ViewSchedule = ViewSchedule { first: 3, sure: 0.9, no_text: 0.2 };
/// The views of a ready-made crop: as given, a little wider (edge pixels repeat) and a
/// little tighter, for the same reasons as [`READ_MARGINS`].
const CROP_MARGINS: [(f32, f32); 5] = [(0.0, 0.0), (0.04, 0.08), (-0.03, -0.06), (0.02, 0.04), (-0.015, -0.03)];
/// Margins around the detector's quad for the slot reader's views (`slot_views` of them).
/// The reader was trained on plate-detector boxes, which sit close around the plate.
const SLOT_MARGINS: [(f32, f32); 3] = [(0.05, 0.10), (0.10, 0.15), (0.02, 0.05)];
/// The framings a plate's state is read in around a detector's quad, their probabilities
/// averaged: the slot reader's first margins, which the classifier was trained on, and a
/// taller one. The detector (trained on Chinese plates) often frames a US plate's band of
/// characters alone, and a few pixels less at the top cut the state's name off: on two
/// rendered Delaware plates the first framing read the state at 0.24 and 0.11 where one
/// about as tall as the second read 0.96 and 0.74 (docs/recognition.md, "Tenth session").
/// A ready-made crop is the whole plate and is read in the first framing alone.
const STATE_MARGINS: [(f32, f32); 2] = [SLOT_MARGINS[0], (0.05, 0.20)];
/// The slot reader's views of a ready-made crop.
const SLOT_CROP_MARGINS: [(f32, f32); 3] = [(0.0, 0.0), (0.04, 0.08), (-0.02, -0.04)];
/// Width of the colour crop kept for display and storage (height follows the plate).
const CROP_WIDTH: u32 = 192;
/// Text whose first or last character lies this close to a side of the crop (a share of its
/// width; the first framing's margin puts the plate's own edge at about 5%, and a character
/// is about a tenth of a plate wide) may have been cut off there.
const EDGE_SHARE: f32 = 0.10;
/// A reading with an end character recovered replaces the first one unless it is much less
/// sure (a share of the first reading's confidence).
const EXTENSION_MIN_CONFIDENCE_SHARE: f32 = 0.9;
/// How far a side the text runs into is pushed out for a second reading, as a share of the
/// plate's width: about one character.
const EDGE_EXTENSION: f32 = 0.15;
/// A detection flatter than this (height over width) that reads as no plate, or doubtfully, is read again
/// as the text band of a whole US plate ([`whole_plate`]): US plates are 2:1 (0.5), their
/// band of characters about 3:1; EU plates (about 0.21) read well as found and never get here
/// unless they failed.
const TEXT_BAND_ASPECT: f32 = 0.42;
/// The height over width of a US plate (6 by 12 inches).
const WHOLE_PLATE_ASPECT: f32 = 0.5;
/// A detection read less sure than this (or as no plate) is read again as a text band, and
/// that reading is taken only when it is plate-like, at least this sure and surer than the
/// first: what reads as no plate as found is more often not a plate (a dealer's frame, a
/// sticker) than a text band. Chosen on us-composite-val and eu-val (docs/recognition.md,
/// "Eighth session").
const WHOLE_PLATE_MIN_CONFIDENCE: f32 = 0.5;
/// How far each side of a text band is pushed out for the whole plate: the band runs nearly
/// the plate's width.
const WHOLE_PLATE_SIDES: f32 = 0.04;
/// Reads of two search passes whose boxes overlap this much are the same plate.
const MERGE_IOU: f32 = 0.3;
/// Plates shorter than this many characters are not reported (US plates have 2-8).
const MIN_PLATE_LEN: usize = 2;
/// Plates longer than this are not plates (dealer frames, slogans).
const MAX_PLATE_LEN: usize = 8;

/// Detector and recognizer, loaded once and shared by the recognition workers.
#[derive(Debug)]
pub struct Recognizer {
    detector: PlateDetector,
    readers: Readers,
    missing: Vec<String>,
    min_confidence: f32,
    views: usize,
    slot_views: usize,
    region: region::Region,
    coarse: Option<(u32, f32)>,
    whole_plate_retry: bool,
    state: Option<StateReader>,
}

impl Recognizer {
    /// Loads the models from `models_dir` with the given settings. One of the two text
    /// readers may be missing (it is then named by [`Recognizer::missing_readers`] and logged);
    /// the detector may not.
    pub fn load(models_dir: &Path, config: &RecognizerConfig) -> Result<Self, RecognizeError> {
        let detector =
            PlateDetector::load(&models_dir.join(DETECTOR_FILE), config.detector_long_side, config.detector_threshold)?;
        let loaded = Readers::load(
            &models_dir.join(OCR_FILE),
            &models_dir.join(SLOT_FILE),
            config.reader,
            config.second_opinion_below,
        )?;
        let mut missing: Vec<String> = loaded.missing.iter().map(ToString::to_string).collect();
        for reason in &missing {
            tracing::warn!("reading plates without one of the two text readers: {reason}");
        }
        // Without the state classifier plates are still read; every state is then "unknown"
        // and no hit on an entry with a state is called exact. A file that is there but
        // broken is an error, as for the other models.
        let state = match config.read_state {
            false => None,
            true => match StateReader::load(&models_dir.join(STATE_FILE), config.state_min_confidence) {
                Ok(reader) => Some(reader),
                Err(err @ RecognizeError::ModelMissing(_)) => {
                    tracing::warn!("reading plates without their state: {err}");
                    missing.push(err.to_string());
                    None
                }
                Err(err) => return Err(err),
            },
        };
        let views = config.read_views.clamp(1, READ_MARGINS.len());
        let coarse = (config.coarse_long_side > 0 && config.coarse_long_side < detector.long_side())
            .then_some((config.coarse_long_side, config.coarse_accept));
        Ok(Self {
            detector,
            readers: loaded.readers,
            missing,
            min_confidence: config.min_confidence,
            views,
            slot_views: config.slot_views.clamp(1, SLOT_MARGINS.len()),
            region: config.region,
            coarse,
            whole_plate_retry: config.whole_plate_retry,
            state,
        })
    }

    /// The text readers in use: `ctc`, `slots` or `ctc+slots`.
    pub fn reader_names(&self) -> &'static str {
        self.readers.names()
    }

    /// True when plates are read with their state (the state classifier is loaded).
    pub fn reads_state(&self) -> bool {
        self.state.is_some()
    }

    /// Why a reader the settings ask for (text or state) is not in use (its model file is
    /// missing); empty when all are.
    pub fn missing_readers(&self) -> &[String] {
        &self.missing
    }

    /// The detector, for the video reader's own searches.
    pub(crate) fn detector(&self) -> &PlateDetector {
        &self.detector
    }

    /// Loads the models named by the settings (`models_dir`, else the default folder) and
    /// prepares them for frames of `width` x `height`: what a camera pipeline needs.
    pub fn load_for_frames(config: &RecognizerConfig, width: u32, height: u32) -> Result<Self, RecognizeError> {
        let video = RecognizerConfig {
            detector_long_side: config.video_long_side,
            coarse_long_side: 0,
            slot_views: config.video_slot_views,
            ..config.clone()
        };
        let recognizer = Self::load(&models_dir(config.models_dir.as_deref()), &video)?;
        recognizer.warm_up(width, height)?;
        Ok(recognizer)
    }

    /// Loads the models for a camera pipeline ([`Recognizer::load_for_frames`]) with the
    /// video reader's search schedule from the settings.
    pub fn load_video(
        config: &RecognizerConfig,
        width: u32,
        height: u32,
    ) -> Result<video::VideoReader, RecognizeError> {
        let schedule = video::VideoSchedule {
            search_interval: std::time::Duration::from_millis(config.video_search_interval_millis),
            ..video::VideoSchedule::default()
        };
        Ok(video::VideoReader::new(Self::load_for_frames(config, width, height)?, schedule))
    }

    /// Prepares the detector for images of this size (the coarse search's shape too, for
    /// photos), so the first live frame does not pay for plan optimization.
    pub fn warm_up(&self, width: u32, height: u32) -> Result<(), RecognizeError> {
        self.detector.plan(self.detector.input_shape(width, height))?;
        if let Some((long_side, _)) = self.coarse
            && width.max(height) > long_side
        {
            self.detector.plan(detector::shape_for(width, height, long_side))?;
        }
        let roi = detector::ROI_LONG_SIDE as usize;
        self.detector.plan((roi / 2, roi)).map(|_| ())
    }

    /// Finds and reads every plate in the image, best confidence first.
    pub fn recognize(&self, img: &RgbImage) -> Result<Vec<PlateRead>, RecognizeError> {
        if let Some((long_side, accept)) = self.coarse
            && img.width().max(img.height()) > long_side
        {
            let reads = self.read_all(img, self.refine(img, self.detector.detect_at(img, long_side)?)?)?;
            if reads.first().is_some_and(|r| r.confidence >= accept) {
                return Ok(reads);
            }
            // The full-size search is for the plates the coarse one missed (small, far ones):
            // a plate the coarse search already read keeps that reading; the new finds are
            // searched again around themselves, as the coarse finds were, and added.
            let (seen, new): (Vec<Detection>, Vec<Detection>) = self
                .detector
                .detect(img)?
                .into_iter()
                .partition(|d| reads.iter().any(|r| r.bbox.iou(&d.bbox) >= MERGE_IOU));
            // A plate found again is a second look at its state (cheap, unlike its text):
            // the two looks are averaged, as a track's frames are.
            let mut reads = reads;
            for read in reads.iter_mut().filter(|r| r.state.is_some()) {
                let mut looks: Vec<StateRead> = read.state.take().into_iter().collect();
                for det in seen.iter().filter(|d| read.bbox.iou(&d.bbox) >= MERGE_IOU) {
                    looks.extend(self.read_state(img, det.corners)?);
                }
                read.state = StateRead::merge(looks.iter().map(|look| (look, 1.0)));
            }
            return Ok(merge_reads(reads, self.read_all(img, self.refine(img, new)?)?));
        }
        self.read_all(img, self.detector.detect(img)?)
    }

    /// Searches each detection's neighbourhood again at a fixed scale: the plate is then seen
    /// at about the size the detector locates corners best at, whatever its size in the image,
    /// and the tighter corners give the recognizer a better-framed crop.
    pub(crate) fn refine(&self, img: &RgbImage, detections: Vec<Detection>) -> Result<Vec<Detection>, RecognizeError> {
        let mut refined = Vec::with_capacity(detections.len());
        for det in detections {
            refined.push(self.detector.detect_near(img, &det.bbox)?.unwrap_or(det));
        }
        Ok(refined)
    }

    /// Reads every detection, dropping what is not a plate; best confidence first.
    pub(crate) fn read_all(
        &self,
        img: &RgbImage,
        detections: Vec<Detection>,
    ) -> Result<Vec<PlateRead>, RecognizeError> {
        let mut reads = Vec::with_capacity(detections.len());
        for det in detections {
            if let Some(read) = self.read_detection(img, &det)? {
                reads.push(read);
            }
        }
        reads.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        Ok(reads)
    }

    /// Reads the text of one plate crop that fills the whole image (no detection).
    pub fn read_crop(&self, img: &RgbImage) -> Result<TextRead, RecognizeError> {
        let whole = BBox { x: 0.0, y: 0.0, w: img.width() as f32, h: img.height() as f32 }.corners();
        let (ctc, slot) = self.framings(whole, &CROP_MARGINS, &SLOT_CROP_MARGINS);
        self.read_quads(img, &ctc, &slot).map(|r| r.unwrap_or_else(empty_read))
    }

    /// The issuing state of the plate a detector found in `corners`: read framed as the
    /// classifier was trained and framed taller (the detector often leaves the state's name
    /// out), the two averaged; `None` when no classifier is loaded or the quad is degenerate.
    pub fn read_state(&self, img: &RgbImage, corners: Quad) -> Result<Option<StateRead>, RecognizeError> {
        self.state_in(img, corners, &STATE_MARGINS)
    }

    /// The issuing state of a plate crop that fills the whole image ([`Recognizer::read_crop`]),
    /// framed as the classifier was trained: the slot reader's first margins.
    pub fn read_crop_state(&self, img: &RgbImage) -> Result<Option<StateRead>, RecognizeError> {
        let whole = BBox { x: 0.0, y: 0.0, w: img.width() as f32, h: img.height() as f32 }.corners();
        self.state_in(img, whole, &STATE_MARGINS[..1])
    }

    /// The state read in each framing of `corners` (`margins`), the probabilities averaged.
    fn state_in(
        &self,
        img: &RgbImage,
        corners: Quad,
        margins: &[(f32, f32)],
    ) -> Result<Option<StateRead>, RecognizeError> {
        let Some(reader) = &self.state else { return Ok(None) };
        let mut looks = Vec::with_capacity(margins.len());
        for &(mx, my) in margins {
            if let Some(crop) = geometry::rectify_rgb(img, expand_quad(corners, mx, my), STATE_W as u32, STATE_H as u32)
            {
                looks.push(reader.read(&crop)?);
            }
        }
        Ok(StateRead::merge(looks.iter().map(|look| (look, 1.0))))
    }

    /// The quads each reader reads a plate in: `ctc` margins for the CTC reader's views,
    /// `slot` margins for the slot reader's, around `corners`.
    fn framings(&self, corners: Quad, ctc: &[(f32, f32)], slot: &[(f32, f32)]) -> (Vec<Quad>, Vec<Quad>) {
        let around = |margins: &[(f32, f32)]| margins.iter().map(|&(mx, my)| expand_quad(corners, mx, my)).collect();
        (around(&ctc[..self.views.min(ctc.len())]), around(&slot[..self.slot_views.min(slot.len())]))
    }

    /// Reads the same plate framed by each quad, the readers' views voted as one reading, the
    /// region's rules applied.
    fn read_quads(&self, img: &RgbImage, ctc: &[Quad], slot: &[Quad]) -> Result<Option<TextRead>, RecognizeError> {
        let is_plate = |read: &TextRead| is_plate_like(read, self.min_confidence);
        let read = self.readers.read(img, ctc, slot, VIEWS, is_plate)?;
        Ok(read.map(|mut read| {
            self.region.apply(&mut read);
            read
        }))
    }

    fn read_detection(&self, img: &RgbImage, det: &Detection) -> Result<Option<PlateRead>, RecognizeError> {
        let plate_like = |read: &Option<(TextRead, Quad)>| {
            read.as_ref().is_some_and(|(text, _)| is_plate_like(text, self.min_confidence))
        };
        // The plate's corners and box as reported: the detector's, unless the text is read
        // better framed as the whole plate around them.
        let (mut corners, mut bbox) = (det.corners, det.bbox);
        let mut read = self.read_framed(img, corners)?;
        // A band of characters framed alone reads as no plate, or as a doubtful one (an end
        // character lost at the band's edge): either way the whole plate is read again.
        let unsure = read.as_ref().is_some_and(|(text, _)| text.confidence < WHOLE_PLATE_MIN_CONFIDENCE);
        if (!plate_like(&read) || unsure)
            && self.whole_plate_retry
            && let Some(whole) = whole_plate(det.corners)
        {
            let again = self.read_framed(img, whole)?;
            // At least WHOLE_PLATE_MIN_CONFIDENCE sure, so surer than a first reading retried
            // for doubt.
            let sure = again.as_ref().is_some_and(|(text, _)| text.confidence >= WHOLE_PLATE_MIN_CONFIDENCE);
            if plate_like(&again) && sure {
                (corners, bbox) = (whole, BBox::around(&whole));
                read = again;
            }
        }
        let Some((text, quad)) = read.filter(|(text, _)| is_plate_like(text, self.min_confidence)) else {
            return Ok(None);
        };
        let box_aspect = (bbox.h / bbox.w.max(1.0)).clamp(0.15, 1.0);
        let crop_h = ((CROP_WIDTH as f32) * box_aspect).round().max(16.0) as u32;
        let Some(crop) = geometry::rectify_rgb(img, quad, CROP_WIDTH, crop_h) else {
            return Ok(None);
        };
        // The state classifier reads the detector's own quad, as it was trained to, whatever
        // framing the text was read in.
        let state = self.read_state(img, det.corners)?;
        Ok(Some(PlateRead {
            text: text.text,
            confidence: text.confidence,
            char_confidences: text.char_confidences,
            bbox,
            corners: Some(corners),
            candidates: text.candidates,
            crop,
            state,
        }))
    }

    /// Reads the plate inside `corners` in every framing, and returns the reading with the
    /// first framing's quad. When the text runs to a side of the crop, the detector has
    /// probably cut the plate short there (it was trained on Chinese plates, shorter than
    /// European ones, and drops an end character now and then on US plates too): the plate is
    /// read again with that side pushed out, and that reading wins when it is the first with
    /// characters added at that side ([`extends`]).
    fn read_framed(
        &self,
        img: &RgbImage,
        corners: [(f32, f32); 4],
    ) -> Result<Option<(TextRead, Quad)>, RecognizeError> {
        let (quads, slot_quads) = self.framings(corners, &READ_MARGINS, &SLOT_MARGINS);
        let Some(first) = self.read_quads(img, &quads, &slot_quads)? else {
            return Ok(None);
        };
        let Some((start, end)) = first.span else {
            return Ok(Some((first, quads[0])));
        };
        let grow = |touches: bool| if touches { EDGE_EXTENSION } else { 0.0 };
        let (left, right) = (grow(start <= EDGE_SHARE), grow(end >= 1.0 - EDGE_SHARE));
        if left == 0.0 && right == 0.0 {
            return Ok(Some((first, quads[0])));
        }
        let (wider, slot_wider) =
            self.framings(geometry::grow_quad(corners, left, right, 0.0, 0.0), &READ_MARGINS, &SLOT_MARGINS);
        match self.read_quads(img, &wider, &slot_wider)? {
            Some(second) if extends(&first, &second, left > 0.0, right > 0.0) => Ok(Some((second, wider[0]))),
            _ => Ok(Some((first, quads[0]))),
        }
    }
}

/// True when `second` (read with the plate's left and/or right side pushed out) is `first`
/// with characters added at a side that was pushed out, still a plausible length, and about
/// as sure. Only added end characters are taken: a wider framing that reads the middle
/// differently is no evidence that the first framing cut anything off.
fn extends(first: &TextRead, second: &TextRead, left: bool, right: bool) -> bool {
    let (a, b) = (first.text.as_str(), second.text.as_str());
    let added = b.len() > a.len()
        && b.len() <= MAX_PLATE_LEN
        && !a.is_empty()
        && ((right && b.starts_with(a)) || (left && b.ends_with(a)) || (left && right && b.contains(a)));
    added && second.confidence >= EXTENSION_MIN_CONFIDENCE_SHARE * first.confidence
}

/// The quad of a whole US plate around `corners` when they are much flatter than one (height
/// under [`TEXT_BAND_ASPECT`] of the width): the detector, trained on Chinese plates (about
/// 3:1, text filling them), sometimes frames only the band of characters of a 2:1 US plate,
/// and the readers, trained on whole plates, read such a crop as "no plate" or doubtfully. The band is kept
/// as the plate's middle and grown up and down to [`WHOLE_PLATE_ASPECT`], a little sideways.
/// `None` when the quad is not that flat (a retry would frame the same thing).
fn whole_plate(corners: Quad) -> Option<Quad> {
    let [tl, tr, br, bl] = corners;
    let width = ((tr.0 - tl.0).hypot(tr.1 - tl.1) + (br.0 - bl.0).hypot(br.1 - bl.1)) / 2.0;
    let height = ((bl.0 - tl.0).hypot(bl.1 - tl.1) + (br.0 - tr.0).hypot(br.1 - tr.1)) / 2.0;
    if width <= 0.0 || height <= 0.0 || height / width >= TEXT_BAND_ASPECT {
        return None;
    }
    let grow = (WHOLE_PLATE_ASPECT * width / height - 1.0) / 2.0;
    Some(geometry::grow_quad(corners, WHOLE_PLATE_SIDES, WHOLE_PLATE_SIDES, grow, grow))
}

/// Two passes' reads of the same image as one list: where a read of each pass overlap (the
/// same plate found twice) the surer one stays; best confidence first.
fn merge_reads(first: Vec<PlateRead>, second: Vec<PlateRead>) -> Vec<PlateRead> {
    let mut all: Vec<PlateRead> = first.into_iter().chain(second).collect();
    all.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    let mut kept: Vec<PlateRead> = Vec::with_capacity(all.len());
    for read in all {
        if kept.iter().all(|k| k.bbox.iou(&read.bbox) < MERGE_IOU) {
            kept.push(read);
        }
    }
    kept
}

fn empty_read() -> TextRead {
    TextRead {
        text: String::new(),
        confidence: 0.0,
        char_confidences: Vec::new(),
        candidates: Vec::new(),
        text_probability: 0.0,
        span: None,
    }
}

/// The rule that separates plates from other things the detector proposes: a plausible
/// length, and a recognizer sure there is text at all. The recognizer is trained to read
/// non-plates as empty text; an ambiguous real plate (`GO4IT` or `G04IT`) keeps its
/// alternatives as candidates instead of being dropped.
fn is_plate_like(read: &TextRead, min_text_probability: f32) -> bool {
    (MIN_PLATE_LEN..=MAX_PLATE_LEN).contains(&read.text.len()) && read.text_probability >= min_text_probability
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, text_probability: f32) -> TextRead {
        TextRead {
            text: text.into(),
            confidence: text_probability / 2.0,
            char_confidences: vec![text_probability; text.len()],
            candidates: Vec::new(),
            text_probability,
            span: None,
        }
    }

    #[test]
    fn plate_likeness() {
        assert!(is_plate_like(&read("7ABC123", 0.9), 0.5));
        assert!(is_plate_like(&read("AB", 0.9), 0.5));
        assert!(!is_plate_like(&read("A", 0.9), 0.5));
        assert!(!is_plate_like(&read("ABCDEFGHJ", 0.9), 0.5));
        assert!(!is_plate_like(&read("7ABC123", 0.3), 0.5));
        assert!(!is_plate_like(&read("", 0.99), 0.5));
    }

    #[test]
    fn a_wider_reading_wins_only_by_adding_end_characters() {
        let first = read("RK828A", 0.8);
        let with = |text: &str, confidence: f32| TextRead { confidence, ..read(text, 0.9) };
        // The cut-off last character, found by pushing the right side out.
        assert!(extends(&first, &with("RK828AG", 0.39), false, true));
        assert!(!extends(&first, &with("RK828AG", 0.39), true, false), "added at a side not pushed out");
        assert!(extends(&first, &with("5RK828A", 0.5), true, false));
        assert!(extends(&first, &with("5RK828AG", 0.5), true, true));
        // The same text, a different middle, much less sure, or too long: the first stays.
        assert!(!extends(&first, &with("RK828A", 0.9), false, true));
        assert!(!extends(&first, &with("RK823AG", 0.9), false, true));
        assert!(!extends(&first, &with("RK828AG", 0.3), false, true));
        assert!(!extends(&read("ABCDEFGH", 0.8), &with("ABCDEFGHJ", 0.9), false, true));
        assert!(!extends(&read("", 0.8), &with("AB", 0.9), true, true));
    }

    #[test]
    fn a_text_band_is_framed_again_as_a_whole_us_plate() {
        // A band of characters 300 x 90 (3.3:1), turned a little, as the detector frames it.
        let band: Quad = [(100.0, 200.0), (400.0, 210.0), (397.0, 300.0), (97.0, 290.0)];
        let whole = whole_plate(band).expect("a band this flat is read again");
        let centre = |q: &Quad| (q.iter().map(|p| p.0).sum::<f32>() / 4.0, q.iter().map(|p| p.1).sum::<f32>() / 4.0);
        let (c0, c1) = (centre(&band), centre(&whole));
        assert!((c0.0 - c1.0).abs() < 0.5 && (c0.1 - c1.1).abs() < 0.5, "same centre: {c0:?} {c1:?}");
        let side = |a: (f32, f32), b: (f32, f32)| (a.0 - b.0).hypot(a.1 - b.1);
        let (w, h) = (side(whole[0], whole[1]), side(whole[0], whole[3]));
        assert!((h / w - WHOLE_PLATE_ASPECT / (1.0 + 2.0 * WHOLE_PLATE_SIDES)).abs() < 0.01, "{w} x {h}");
        // The box follows the grown quad.
        let bbox = BBox::around(&whole);
        assert!(bbox.h > 140.0 && bbox.w > 300.0, "{bbox:?}");
        // A US plate's own shape (2:1) and an upright quad are not framed again.
        assert!(whole_plate([(0.0, 0.0), (200.0, 0.0), (200.0, 100.0), (0.0, 100.0)]).is_none());
        assert!(whole_plate([(0.0, 0.0), (100.0, 0.0), (100.0, 200.0), (0.0, 200.0)]).is_none());
        assert!(whole_plate([(0.0, 0.0); 4]).is_none(), "degenerate");
    }

    /// A detector box around only the band of characters of a rendered plate: read as found
    /// it is no plate, or a doubtful one; framed again as the whole plate it reads, and the
    /// plate's box is the whole plate's. A band read sure enough is left as it is.
    #[test]
    fn a_box_around_the_characters_alone_is_read_as_the_whole_plate() {
        use crate::render::{Placement, PlateStyle, Scene};
        let mut scene = Scene::textured(800, 450, 3);
        let plate =
            scene.add_plate(&PlateStyle::california(), "7ABC123", &Placement::new(400.0, 250.0, 220.0)).unwrap().bbox;
        let recognizer = |retry: bool| {
            let config = RecognizerConfig { whole_plate_retry: retry, ..RecognizerConfig::default() };
            Recognizer::load(&models_dir(None), &config).unwrap()
        };
        let (off, on) = (recognizer(false), recognizer(true));
        let band = |top: f32, bottom: f32| {
            let b = plate;
            let bbox = BBox { x: b.x + 0.03 * b.w, y: b.y + top * b.h, w: 0.94 * b.w, h: (bottom - top) * b.h };
            Detection { bbox, corners: bbox.corners(), score: 0.9 }
        };
        // Read as found: no plate, then a doubtful one.
        let narrow = band(0.35, 0.70);
        assert!(off.read_detection(&scene.image, &narrow).unwrap().is_none());
        let doubtful = band(0.30, 0.75);
        let first = off.read_detection(&scene.image, &doubtful).unwrap().expect("a doubtful plate");
        assert!(first.confidence < WHOLE_PLATE_MIN_CONFIDENCE, "{}", first.confidence);
        for det in [narrow, doubtful] {
            let read = on.read_detection(&scene.image, &det).unwrap().expect("read as the whole plate");
            assert_eq!(read.text, "7ABC123");
            assert!(read.confidence > 0.9, "{}", read.confidence);
            assert!(read.bbox.iou(&plate) > 0.7, "{:?} against {plate:?}", read.bbox);
        }
        // A band read sure enough keeps its own box.
        let sure = band(0.25, 0.80);
        let read = on.read_detection(&scene.image, &sure).unwrap().expect("a plate");
        assert!(read.confidence >= WHOLE_PLATE_MIN_CONFIDENCE);
        assert_eq!(read.bbox, sure.bbox);
    }

    #[test]
    fn two_passes_keep_the_surer_read_of_each_plate() {
        let plate = |text: &str, confidence: f32, x: f32| PlateRead {
            text: text.into(),
            confidence,
            char_confidences: vec![confidence; text.len()],
            bbox: BBox { x, y: 100.0, w: 120.0, h: 60.0 },
            corners: None,
            candidates: Vec::new(),
            crop: RgbImage::new(1, 1),
            state: None,
        };
        let coarse = vec![plate("7ABC123", 0.6, 100.0), plate("4XYZ999", 0.5, 600.0)];
        let full = vec![plate("7ABC128", 0.4, 104.0), plate("4XYZ990", 0.8, 598.0), plate("FAR1", 0.3, 1000.0)];
        let merged: Vec<(String, f32)> =
            merge_reads(coarse, full).into_iter().map(|r| (r.text, r.confidence)).collect();
        assert_eq!(merged, vec![("4XYZ990".to_string(), 0.8), ("7ABC123".to_string(), 0.6), ("FAR1".to_string(), 0.3)]);
    }

    #[test]
    fn doubtful_readings_get_the_extra_views() {
        use crate::render::{PlateStyle, render_plate};
        use ocr::{OCR_W, PlateOcr};
        let ocr = PlateOcr::load(&models_dir(None).join(OCR_FILE)).unwrap();
        let plate = render_plate(&PlateStyle::california(), "7ABC123", 160).unwrap();
        let whole = BBox { x: 0.0, y: 0.0, w: plate.width() as f32, h: plate.height() as f32 }.corners();
        let grays: Vec<Vec<f32>> = CROP_MARGINS
            .iter()
            .filter_map(|&(mx, my)| geometry::rectify_gray(&plate, expand_quad(whole, mx, my), OCR_W, ocr.height()))
            .collect();
        assert_eq!(grays.len(), CROP_MARGINS.len());
        let probs: Vec<_> = grays.iter().map(|g| ocr.probabilities(g).unwrap()).collect();
        let schedule = |sure| ViewSchedule { sure, ..VIEWS };
        // Sure enough after the first views: only those are read.
        assert_eq!(ocr.read_views(&grays, schedule(0.0)).unwrap(), ocr::decode_views(&probs[..3]));
        // Never sure enough: every view is read and voted.
        assert_eq!(ocr.read_views(&grays, schedule(1.1)).unwrap(), ocr::decode_views(&probs));
        assert_eq!(ocr.read_views(&grays, schedule(1.1)).unwrap().text, "7ABC123");
        // A plate is text from its first view on: the no-text floor never cuts it short.
        assert!(ocr::decode_views(&probs[..1]).text_probability >= VIEWS.no_text);
    }

    #[test]
    fn a_crop_without_text_is_read_in_one_view() {
        use ocr::{OCR_W, PlateOcr};
        let ocr = PlateOcr::load(&models_dir(None).join(OCR_FILE)).unwrap();
        // A radiator grille: dark and light bars, what the detector's low-scoring boxes hold.
        let grille = RgbImage::from_fn(160, 80, |x, _| {
            if (x / 6) % 2 == 0 { image::Rgb([30, 30, 30]) } else { image::Rgb([170, 170, 170]) }
        });
        let whole = BBox { x: 0.0, y: 0.0, w: 160.0, h: 80.0 }.corners();
        let grays: Vec<Vec<f32>> = READ_MARGINS
            .iter()
            .filter_map(|&(mx, my)| geometry::rectify_gray(&grille, expand_quad(whole, mx, my), OCR_W, ocr.height()))
            .collect();
        let probs: Vec<_> = grays.iter().map(|g| ocr.probabilities(g).unwrap()).collect();
        let alone = ocr::decode_views(&probs[..1]);
        assert!(alone.text_probability < VIEWS.no_text, "{alone:?}");
        // Its first view alone is the reading, even with every view asked for.
        assert_eq!(ocr.read_views(&grays, ViewSchedule { first: 5, ..VIEWS }).unwrap(), alone);
        // Without the floor all five are read and voted.
        let all = ocr.read_views(&grays, ViewSchedule { first: 5, no_text: 0.0, ..VIEWS }).unwrap();
        assert_eq!(all, ocr::decode_views(&probs));
        assert!(!is_plate_like(&all, 0.5));
    }

    #[test]
    fn missing_models_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = Recognizer::load(dir.path(), &RecognizerConfig::default()).unwrap_err().to_string();
        assert!(err.contains("clp_det.onnx") && err.contains("missing"), "{err}");
    }

    /// A models folder holding the detector and the named readers (copies of the shipped ones,
    /// or `bytes` written in place of a reader's file).
    fn models_with(ctc: Option<&[u8]>, slots: Option<&[u8]>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("third_party")).unwrap();
        std::fs::copy(models_dir(None).join(DETECTOR_FILE), dir.path().join(DETECTOR_FILE)).unwrap();
        for (file, bytes) in [(OCR_FILE, ctc), (SLOT_FILE, slots)] {
            if let Some(bytes) = bytes {
                std::fs::write(dir.path().join(file), bytes).unwrap();
            }
        }
        dir
    }

    fn shipped(file: &str) -> Vec<u8> {
        std::fs::read(models_dir(None).join(file)).unwrap()
    }

    /// A rendered California plate on a plain background, as a photo would hold it.
    fn photo_of(text: &str) -> RgbImage {
        use crate::render::{PlateStyle, render_plate};
        let mut img = RgbImage::from_pixel(640, 360, image::Rgb([90, 95, 100]));
        let plate = render_plate(&PlateStyle::california(), text, 180).unwrap();
        image::imageops::overlay(&mut img, &plate, 230, 150);
        img
    }

    #[test]
    fn either_reader_alone_still_reads_and_the_missing_one_is_named() {
        // The text readers only (the state classifier has its own test below).
        let config = RecognizerConfig { read_state: false, ..RecognizerConfig::default() };
        let img = photo_of("7ABC123");
        for (ctc, slots, in_use, missing) in [
            (None, Some(shipped(SLOT_FILE)), "slots", OCR_FILE),
            (Some(shipped(OCR_FILE)), None, "ctc", "plate_slots.onnx"),
        ] {
            let dir = models_with(ctc.as_deref(), slots.as_deref());
            let recognizer = Recognizer::load(dir.path(), &config).unwrap();
            assert_eq!(recognizer.reader_names(), in_use);
            let named = recognizer.missing_readers();
            assert!(named.len() == 1 && named[0].contains(missing) && named[0].contains("missing"), "{named:?}");
            let reads = recognizer.recognize(&img).unwrap();
            assert_eq!(reads.first().map(|r| r.text.as_str()), Some("7ABC123"), "{in_use} alone");
        }
        // Both readers, and the `ctc` mode that asks for one only: nothing is missing.
        let both = models_with(Some(&shipped(OCR_FILE)), Some(&shipped(SLOT_FILE)));
        assert_eq!(Recognizer::load(both.path(), &config).unwrap().reader_names(), "ctc+slots");
        let ctc_only = RecognizerConfig { reader: ReaderMode::Ctc, ..config.clone() };
        let recognizer = Recognizer::load(both.path(), &ctc_only).unwrap();
        assert_eq!((recognizer.reader_names(), recognizer.missing_readers().len()), ("ctc", 0));
        // Neither: an error naming a reader's file.
        let neither = models_with(None, None);
        let err = Recognizer::load(neither.path(), &config).unwrap_err().to_string();
        assert!(err.contains(OCR_FILE) && err.contains("missing"), "{err}");
    }

    /// Without the state classifier plates are still read, each with no state, and the
    /// missing file is named; a state file that is not the classifier is an error naming it.
    #[test]
    fn the_state_classifier_is_optional_but_never_wrong_shaped() {
        let img = photo_of("7ABC123");
        let dir = models_with(Some(&shipped(OCR_FILE)), Some(&shipped(SLOT_FILE)));
        let recognizer = Recognizer::load(dir.path(), &RecognizerConfig::default()).unwrap();
        assert!(!recognizer.reads_state());
        let named = recognizer.missing_readers();
        assert!(named.len() == 1 && named[0].contains(STATE_FILE) && named[0].contains("missing"), "{named:?}");
        let reads = recognizer.recognize(&img).unwrap();
        assert_eq!((reads[0].text.as_str(), reads[0].state.is_none()), ("7ABC123", true));
        // Turned off in the settings, it is not looked for.
        let off = RecognizerConfig { read_state: false, ..RecognizerConfig::default() };
        assert!(Recognizer::load(dir.path(), &off).unwrap().missing_readers().is_empty());
        for bytes in [b"not an onnx file".to_vec(), shipped(OCR_FILE)] {
            std::fs::write(dir.path().join(STATE_FILE), bytes).unwrap();
            let err = Recognizer::load(dir.path(), &RecognizerConfig::default()).unwrap_err().to_string();
            assert!(err.contains(STATE_FILE) && err.contains("cannot be loaded"), "{err}");
        }
        std::fs::write(dir.path().join(STATE_FILE), shipped(STATE_FILE)).unwrap();
        let reads = Recognizer::load(dir.path(), &RecognizerConfig::default()).unwrap().recognize(&img).unwrap();
        assert!(reads[0].state.is_some(), "read with the classifier in place");
    }

    #[test]
    fn a_corrupt_or_wrong_shaped_reader_file_is_an_error_naming_it() {
        let config = RecognizerConfig { read_state: false, ..RecognizerConfig::default() };
        // Bytes that are no ONNX model, and a real model of the other reader's shape.
        for (ctc, slots, named) in [
            (shipped(OCR_FILE), b"not an onnx file".to_vec(), "plate_slots.onnx"),
            (shipped(OCR_FILE), shipped(OCR_FILE), "plate_slots.onnx"),
            (shipped(SLOT_FILE), shipped(SLOT_FILE), OCR_FILE),
        ] {
            let dir = models_with(Some(&ctc), Some(&slots));
            let err = Recognizer::load(dir.path(), &config).unwrap_err().to_string();
            assert!(err.contains(named) && err.contains("cannot be loaded"), "{err}");
        }
    }

    #[test]
    fn corrupt_model_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("third_party")).unwrap();
        std::fs::write(dir.path().join(DETECTOR_FILE), b"not an onnx file").unwrap();
        let err = Recognizer::load(dir.path(), &RecognizerConfig::default()).unwrap_err().to_string();
        assert!(err.contains("clp_det.onnx") && err.contains("cannot be loaded"), "{err}");
    }
}
