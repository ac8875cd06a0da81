//! The `read` command: read the plates in image files, one JSON object per image per line.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use serde_json::json;

use super::Context;
use crate::recognize::{PlateRead, Recognizer, image_io, models_dir};

/// Options of `read`.
#[derive(Debug, clap::Args)]
pub struct ReadArgs {
    /// Image files (JPEG, PNG, BMP).
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<PathBuf>,
}

/// Runs `read`. A file that cannot be read gets an `error` line and the others continue; the
/// exit status is non-zero when any file failed.
pub fn run(ctx: &Context, args: &ReadArgs) -> anyhow::Result<ExitCode> {
    let cfg = &ctx.config.recognizer;
    let recognizer = Recognizer::load(&models_dir(cfg.models_dir.as_deref()), cfg).context("loading the recognizer")?;
    let mut out = std::io::stdout().lock();
    let mut failed = 0;
    for path in &args.images {
        let started = Instant::now();
        let result = image_io::load_rgb(path)
            .map_err(anyhow::Error::from)
            .and_then(|img| recognizer.recognize(&img).map_err(anyhow::Error::from));
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let line = match result {
            Ok(plates) => json!({
                "file": path.display().to_string(),
                "ms": round2(ms),
                "plates": plates.iter().map(plate_json).collect::<Vec<_>>(),
            }),
            Err(err) => {
                failed += 1;
                json!({ "file": path.display().to_string(), "ms": round2(ms), "error": format!("{err:#}") })
            }
        };
        writeln!(out, "{line}")?;
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The JSON form of one read (shared with the headless pipeline's output).
pub fn plate_json(p: &PlateRead) -> serde_json::Value {
    json!({
        "text": p.text,
        "confidence": round3(p.confidence),
        "char_confidences": p.char_confidences.iter().map(|&c| round3(c)).collect::<Vec<_>>(),
        "box": [p.bbox.x.round(), p.bbox.y.round(), p.bbox.w.round(), p.bbox.h.round()],
        "corners": p.corners.map(|c| c.iter().map(|&(x, y)| [x.round(), y.round()]).collect::<Vec<_>>()),
        "candidates": p.candidates.iter().map(|c| json!({"text": c.text, "confidence": round3(c.confidence)})).collect::<Vec<_>>(),
        "state": p.state.as_ref().and_then(|s| s.state),
        "state_confidence": p.state.as_ref().map(|s| round3(s.confidence)),
        "state_candidates": p.state.as_ref().map(|s| s.candidates.iter()
            .map(|c| json!({"state": c.state, "confidence": round3(c.confidence)})).collect::<Vec<_>>()),
    })
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn round3(v: f32) -> f64 {
    (f64::from(v) * 1000.0).round() / 1000.0
}
