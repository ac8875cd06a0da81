//! One ONNX network loaded by tract for a fixed input shape: what both plate-text readers
//! share (loading with clear errors naming the file, running, and cutting the output into
//! per-step class probabilities).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tract_onnx::prelude::*;

use super::RecognizeError;

/// A network optimized for one input shape.
pub(crate) struct FixedModel {
    path: PathBuf,
    plan: Arc<TypedRunnableModel>,
}

impl std::fmt::Debug for FixedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixedModel").field("path", &self.path).finish()
    }
}

impl FixedModel {
    /// Loads `path` with `onnx` (tract's loader, with any options the file needs) and
    /// optimizes it for an input of `fact`: a missing file is `ModelMissing`, any other
    /// failure `ModelInvalid`, both naming the file.
    pub(crate) fn load(path: &Path, onnx: tract_onnx::Onnx, fact: InferenceFact) -> Result<Self, RecognizeError> {
        if !path.is_file() {
            return Err(RecognizeError::ModelMissing(path.to_path_buf()));
        }
        let plan = onnx
            .model_for_path(path)
            .and_then(|m| m.with_input_fact(0, fact))
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(|e| RecognizeError::ModelInvalid { path: path.to_path_buf(), reason: format!("{e:#}") })?;
        Ok(Self { path: path.to_path_buf(), plan })
    }

    /// The input shape `path` declares (all dimensions fixed), read before the model is
    /// optimized, so a loader can choose the shape it optimizes for.
    pub(crate) fn declared_input(path: &Path, onnx: &tract_onnx::Onnx) -> Result<Vec<usize>, RecognizeError> {
        if !path.is_file() {
            return Err(RecognizeError::ModelMissing(path.to_path_buf()));
        }
        let invalid = |reason: String| RecognizeError::ModelInvalid { path: path.to_path_buf(), reason };
        let model = onnx.model_for_path(path).map_err(|e| invalid(format!("{e:#}")))?;
        let fact = model.input_fact(0).map_err(|e| invalid(format!("{e:#}")))?;
        fact.shape
            .dims()
            .map(|d| {
                tract_onnx::tract_hir::infer::Factoid::concretize(d)
                    .and_then(|d| tract_onnx::tract_hir::internal::DimLike::to_usize(&d).ok())
            })
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| invalid(format!("input shape {:?} is not fixed", fact.shape)))
    }

    /// Runs the network on `input` and cuts its first output, of shape `[1, steps, N]` with
    /// `steps` accepted by `steps_ok`, into one row of `N` class probabilities per step. An
    /// output of another shape is `ModelInvalid` (`expected` says what was expected): the file
    /// is not the network it is named for.
    pub(crate) fn rows<const N: usize>(
        &self,
        input: Tensor,
        steps_ok: impl Fn(usize) -> bool,
        expected: &str,
    ) -> Result<Vec<[f32; N]>, RecognizeError> {
        let inference = |e: TractError| RecognizeError::Inference(format!("{e:#}"));
        let out = self.plan.run(tvec!(input.into())).map_err(inference)?;
        let view = out[0].to_plain_array_view::<f32>().map_err(inference)?;
        let shape = view.shape();
        if shape.len() != 3 || shape[0] != 1 || shape[2] != N || !steps_ok(shape[1]) {
            return Err(RecognizeError::ModelInvalid {
                path: self.path.clone(),
                reason: format!("output shape {shape:?}, expected {expected}"),
            });
        }
        Ok(view
            .iter()
            .copied()
            .collect::<Vec<f32>>()
            .chunks_exact(N)
            .map(|c| {
                let mut row = [0.0; N];
                row.copy_from_slice(c);
                row
            })
            .collect())
    }
}

/// Refuses a crop that is not `w` x `h` (the network's fixed input), naming `what` reads it.
pub(crate) fn check_crop_size(crop: &image::RgbImage, w: usize, h: usize, what: &str) -> Result<(), RecognizeError> {
    if crop.dimensions() == (w as u32, h as u32) {
        return Ok(());
    }
    Err(RecognizeError::Inference(format!("{what} crop is {}x{}, expected {w}x{h}", crop.width(), crop.height())))
}
