//! Plate recognition: find every licence plate in an image and read its text.
//!
//! A detector proposes plate regions, each region is rectified to a fixed-size crop and a
//! plate-text recognizer (CTC) reads it. Both models are ONNX files run by tract-onnx on the
//! CPU, loaded and optimized once; a [`Recognizer`] is `Send + Sync` and is shared by the
//! recognition workers.

pub mod tracker;

use std::path::{Path, PathBuf};

use image::RgbImage;
use serde::Serialize;

/// An axis-aligned box in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BBox {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub w: f32,
    /// Height.
    pub h: f32,
}

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
