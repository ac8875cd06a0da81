//! Frame sources: live cameras, replayed footage and the built-in traffic simulator, behind
//! one [`FrameSource`] trait, plus per-camera health checks ([`health`]).
//!
//! A source is driven by its capture thread (see `crate::pipeline`): `open`, then
//! `next_frame` in a loop, which blocks until the next frame is due and returns it decoded
//! to RGB with its capture time. Errors say what the pipeline should do: a corrupt frame is
//! skipped, a lost device is reopened with backoff, the end of a stream ends that camera.

pub mod health;
pub mod live;
pub mod open;
pub mod replay;
pub mod simulator;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use image::RgbImage;

/// One captured frame, decoded to RGB.
#[derive(Debug, Clone)]
pub struct Frame {
    /// The picture; shared, so the overlay and the workers never copy it.
    pub image: Arc<RgbImage>,
    /// When it was captured, on the monotonic clock (for latency and tracking).
    pub captured_at: Instant,
    /// When it was captured, on the wall clock (for records).
    pub wall_time: SystemTime,
    /// The source's frame counter, from 0, without gaps for frames it produced.
    pub seq: u64,
}

/// Why a source gave no frame.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SourceError {
    /// No such camera, folder or file.
    #[error("{0} not found")]
    NotFound(String),
    /// The device or file exists but could not be opened as asked.
    #[error("cannot open {name}: {reason}")]
    Open {
        /// The source.
        name: String,
        /// Why.
        reason: String,
    },
    /// The device stopped working (unplugged, driver error); reopening may help.
    #[error("{name} was lost: {reason}")]
    Lost {
        /// The source.
        name: String,
        /// Why.
        reason: String,
    },
    /// One frame could not be decoded; the next one may be fine.
    #[error("corrupt frame from {name}: {reason}")]
    Corrupt {
        /// The source.
        name: String,
        /// Why.
        reason: String,
    },
    /// No frame arrived within the source's wait; ask again (the health watchdog judges
    /// a camera that stays silent).
    #[error("no frame yet")]
    Timeout,
    /// A finite source has no more frames.
    #[error("end of stream")]
    EndOfStream,
}

/// Something that produces frames: a camera, a recording or the simulator.
pub trait FrameSource: Send {
    /// A name for logs and status events ("sim", "/dev/video0", a folder).
    fn name(&self) -> &str;
    /// Opens (or reopens after [`SourceError::Lost`]) the source.
    fn open(&mut self) -> Result<(), SourceError>;
    /// Blocks until the next frame is due, then returns it.
    fn next_frame(&mut self) -> Result<Frame, SourceError>;
}

/// A source named on the command line or in the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// The first camera if there is one, else the simulator.
    Auto,
    /// The traffic simulator.
    Simulator,
    /// A folder of images or a recorded MJPEG file.
    Replay(PathBuf),
    /// A live camera by index, name or device path.
    Camera(String),
}

impl std::str::FromStr for SourceSpec {
    type Err = String;

    /// Parses `auto`, `sim`, `replay:PATH` or `camera:N|NAME|PATH`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            None if s == "auto" => Ok(Self::Auto),
            None if s == "sim" || s == "simulator" => Ok(Self::Simulator),
            Some(("replay", path)) if !path.is_empty() => Ok(Self::Replay(PathBuf::from(path))),
            Some(("camera", id)) if !id.is_empty() => Ok(Self::Camera(id.to_string())),
            _ => Err(format!("unknown source {s:?}: use auto, sim, replay:DIR_OR_FILE or camera:INDEX|NAME|PATH")),
        }
    }
}

/// The requested capture format of a source.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaptureFormat {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: f32,
}

impl Default for CaptureFormat {
    fn default() -> Self {
        Self { width: 1280, height: 720, fps: 30.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<SourceSpec, ()>) {
        assert_eq!(input.parse::<SourceSpec>().map_err(|_| ()), expected, "{input}");
    }

    #[test]
    fn source_specs_parse() {
        check("sim", Ok(SourceSpec::Simulator));
        check("auto", Ok(SourceSpec::Auto));
        check("replay:/tmp/x", Ok(SourceSpec::Replay(PathBuf::from("/tmp/x"))));
        check("camera:0", Ok(SourceSpec::Camera("0".into())));
        check("camera:/dev/video2", Ok(SourceSpec::Camera("/dev/video2".into())));
        check("camera:", Err(()));
        check("replay:", Err(()));
        check("webcam", Err(()));
    }
}
