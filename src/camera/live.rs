//! Live cameras through nokhwa (V4L2 on Linux): listing, opening by index, name or device
//! path at a requested size, rate and pixel format, and decoding frames to RGB.
//!
//! nokhwa's camera object is not `Send` and its `frame()` call blocks, so each open camera
//! gets its own I/O thread that owns the device and hands decoded frames over a small
//! channel; the [`LiveCamera`] source the pipeline holds only owns that channel. When the
//! device fails (unplugged), the I/O thread reports it and ends; the pipeline reopens.
//! This is the only file that uses nokhwa. Built without the `live-camera` feature, listing
//! finds no cameras and opening one fails with a clear message.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use image::RgbImage;
use serde::Serialize;

use super::{CaptureFormat, Frame, FrameSource, SourceError};

/// The pixel format asked of the camera (what travels over USB before decoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelFormat {
    /// Motion JPEG: small over USB, decoded on the CPU.
    Mjpeg,
    /// YUYV 4:2:2: uncompressed, cheap to decode, lower frame rates at high resolutions.
    Yuyv,
    /// Whatever the camera offers closest to the size and rate.
    Any,
}

impl std::str::FromStr for PixelFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "mjpeg" | "mjpg" => Ok(Self::Mjpeg),
            "yuyv" | "yuy2" => Ok(Self::Yuyv),
            "any" | "auto" => Ok(Self::Any),
            _ => Err(format!("unknown pixel format {s:?}: use mjpeg, yuyv or any")),
        }
    }
}

/// One capture mode a camera offers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CameraMode {
    /// Pixel format (MJPEG, YUYV, ...).
    pub format: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
}

/// A camera found on this machine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CameraDescription {
    /// Index to open it by.
    pub index: String,
    /// Its name.
    pub name: String,
    /// Driver's description (often the device path and bus).
    pub description: String,
    /// Modes it offers (empty if it could not be opened to ask).
    pub modes: Vec<CameraMode>,
    /// Why the modes could not be read, if they could not.
    pub error: Option<String>,
}

/// What to open.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveConfig {
    /// Index ("0"), device path ("/dev/video0") or name (or part of it).
    pub device: String,
    /// Requested size and rate (the closest the camera offers is used).
    pub format: CaptureFormat,
    /// Requested pixel format.
    pub pixel_format: PixelFormat,
}

/// A frame as the I/O thread hands it over.
type IoFrame = Result<(RgbImage, Instant, SystemTime), String>;

/// The I/O thread of an open camera.
#[cfg_attr(not(feature = "live-camera"), allow(dead_code))]
struct CameraIo {
    frames: Receiver<IoFrame>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Drop for CameraIo {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // The thread may be blocked in the driver; give it a moment, and rather than hang the
        // caller on a stuck device, let it finish on its own.
        let deadline = Instant::now() + Duration::from_secs(1);
        while self.handle.as_ref().is_some_and(|h| !h.is_finished()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Some(handle) = self.handle.take() {
            if handle.is_finished() {
                let _ = handle.join();
            } else {
                tracing::warn!("camera I/O thread is stuck in the driver; leaving it to exit on its own");
            }
        }
    }
}

/// A live camera as a frame source.
pub struct LiveCamera {
    config: LiveConfig,
    name: String,
    io: Option<CameraIo>,
    seq: u64,
}

impl std::fmt::Debug for LiveCamera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveCamera").field("config", &self.config).field("open", &self.io.is_some()).finish()
    }
}

impl LiveCamera {
    /// A camera source (opened by [`FrameSource::open`]).
    pub fn new(config: LiveConfig) -> Self {
        Self { name: format!("camera:{}", config.device), config, io: None, seq: 0 }
    }
}

impl FrameSource for LiveCamera {
    fn name(&self) -> &str {
        &self.name
    }

    fn open(&mut self) -> Result<(), SourceError> {
        self.io = None;
        self.io = Some(backend::open(&self.config, &self.name)?);
        Ok(())
    }

    fn next_frame(&mut self) -> Result<Frame, SourceError> {
        let Some(io) = &self.io else {
            return Err(SourceError::Lost { name: self.name.clone(), reason: "not open".into() });
        };
        match io.frames.recv_timeout(Duration::from_millis(500)) {
            Ok(Ok((image, captured_at, wall_time))) => {
                let seq = self.seq;
                self.seq += 1;
                Ok(Frame { image: Arc::new(image), captured_at, wall_time, seq })
            }
            Ok(Err(reason)) => Err(SourceError::Corrupt { name: self.name.clone(), reason }),
            Err(RecvTimeoutError::Timeout) => Err(SourceError::Timeout),
            Err(RecvTimeoutError::Disconnected) => {
                self.io = None;
                Err(SourceError::Lost {
                    name: self.name.clone(),
                    reason: "the camera stopped delivering (unplugged?)".into(),
                })
            }
        }
    }
}

/// Turns a raw camera buffer into RGB. MJPEG is decoded with the `image` crate (no C
/// library), the YUV formats with nokhwa's converters.
#[cfg_attr(not(feature = "live-camera"), allow(dead_code))]
fn to_rgb(
    format: &str,
    width: u32,
    height: u32,
    data: &[u8],
    convert: impl FnOnce() -> Result<Vec<u8>, String>,
) -> Result<RgbImage, String> {
    let image = match format {
        "MJPEG" => {
            image::load_from_memory_with_format(data, image::ImageFormat::Jpeg).map_err(|e| e.to_string())?.to_rgb8()
        }
        "RAWRGB" => RgbImage::from_raw(width, height, data.to_vec()).ok_or("short RGB frame")?,
        "RAWBGR" => {
            let mut rgb = data.to_vec();
            rgb.chunks_exact_mut(3).for_each(|px| px.swap(0, 2));
            RgbImage::from_raw(width, height, rgb).ok_or("short BGR frame")?
        }
        "GRAY" => {
            let rgb: Vec<u8> = data.iter().flat_map(|&v| [v, v, v]).collect();
            RgbImage::from_raw(width, height, rgb).ok_or("short grey frame")?
        }
        _ => RgbImage::from_raw(width, height, convert()?).ok_or("short frame")?,
    };
    Ok(image)
}

#[cfg(feature = "live-camera")]
mod backend {
    //! The nokhwa calls.
    use super::*;
    use nokhwa::Camera;
    use nokhwa::pixel_format::RgbFormat;
    use nokhwa::utils::{
        ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType, Resolution,
        nv12_to_rgb, yuyv422_to_rgb,
    };

    /// Every camera nokhwa finds, with the modes each offers.
    pub fn list() -> Result<Vec<CameraDescription>, String> {
        let cameras = nokhwa::query(ApiBackend::Auto).map_err(|e| e.to_string())?;
        Ok(cameras
            .into_iter()
            .map(|info| {
                let mut description = CameraDescription {
                    index: info.index().to_string(),
                    name: info.human_name(),
                    description: info.description().to_string(),
                    modes: Vec::new(),
                    error: None,
                };
                let requested = RequestedFormat::new::<RgbFormat>(RequestedFormatType::None);
                match Camera::new(info.index().clone(), requested).and_then(|mut c| c.compatible_camera_formats()) {
                    Ok(formats) => {
                        description.modes = formats
                            .into_iter()
                            .map(|f| CameraMode {
                                format: f.format().to_string(),
                                width: f.width(),
                                height: f.height(),
                                fps: f.frame_rate(),
                            })
                            .collect();
                    }
                    Err(err) => description.error = Some(err.to_string()),
                }
                description
            })
            .collect())
    }

    /// Finds the camera `device` names: an index, a `/dev/videoN` path, or a name.
    fn resolve(device: &str) -> Result<CameraIndex, SourceError> {
        if let Ok(n) = device.parse::<u32>() {
            return Ok(CameraIndex::Index(n));
        }
        if let Some(n) = device.strip_prefix("/dev/video").and_then(|n| n.parse::<u32>().ok()) {
            return Ok(CameraIndex::Index(n));
        }
        let cameras = nokhwa::query(ApiBackend::Auto)
            .map_err(|e| SourceError::Open { name: device.into(), reason: e.to_string() })?;
        let wanted = device.to_lowercase();
        cameras
            .iter()
            .find(|c| c.human_name().to_lowercase() == wanted)
            .or_else(|| cameras.iter().find(|c| c.human_name().to_lowercase().contains(&wanted)))
            .map(|c| c.index().clone())
            .ok_or_else(|| SourceError::NotFound(format!("camera {device:?}")))
    }

    fn open_camera(config: &LiveConfig) -> Result<Camera, String> {
        let index = resolve(&config.device).map_err(|e| e.to_string())?;
        let resolution = Resolution::new(config.format.width, config.format.height);
        let fps = config.format.fps.round().max(1.0) as u32;
        let requested = match config.pixel_format {
            PixelFormat::Mjpeg => RequestedFormatType::Closest(CameraFormat::new(resolution, FrameFormat::MJPEG, fps)),
            PixelFormat::Yuyv => RequestedFormatType::Closest(CameraFormat::new(resolution, FrameFormat::YUYV, fps)),
            PixelFormat::Any => RequestedFormatType::HighestResolution(resolution),
        };
        let mut camera = Camera::new(index, RequestedFormat::new::<RgbFormat>(requested)).map_err(|e| e.to_string())?;
        camera.open_stream().map_err(|e| e.to_string())?;
        Ok(camera)
    }

    fn decode(buffer: &nokhwa::Buffer) -> Result<RgbImage, String> {
        let resolution = buffer.resolution();
        let format = buffer.source_frame_format();
        let data = buffer.buffer();
        let convert = || match format {
            FrameFormat::YUYV => yuyv422_to_rgb(data, false).map_err(|e| e.to_string()),
            FrameFormat::NV12 => nv12_to_rgb(resolution, data, false).map_err(|e| e.to_string()),
            other => Err(format!("unsupported pixel format {other}")),
        };
        to_rgb(&format.to_string(), resolution.width(), resolution.height(), data, convert)
    }

    /// Starts the I/O thread and waits (up to 5 s) for the camera to open.
    pub fn open(config: &LiveConfig, name: &str) -> Result<CameraIo, SourceError> {
        let (frames_tx, frames_rx) = crossbeam_channel::bounded::<IoFrame>(2);
        let (ready_tx, ready_rx) = crossbeam_channel::bounded::<Result<(), String>>(1);
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = stop.clone();
        let thread_config = config.clone();
        let handle = std::thread::Builder::new()
            .name(format!("camera-io-{}", config.device))
            .spawn(move || {
                let mut camera = match open_camera(&thread_config) {
                    Ok(camera) => {
                        let _ = ready_tx.send(Ok(()));
                        camera
                    }
                    Err(reason) => {
                        let _ = ready_tx.send(Err(reason));
                        return;
                    }
                };
                while !thread_stop.load(Ordering::Relaxed) {
                    match camera.frame() {
                        Ok(buffer) => {
                            let (at, wall) = (Instant::now(), SystemTime::now());
                            let frame = decode(&buffer).map(|img| (img, at, wall));
                            if frames_tx.send(frame).is_err() {
                                break;
                            }
                        }
                        Err(err) => {
                            // The device is gone or broken: end, and let the pipeline reopen.
                            tracing::warn!(%err, "camera read failed");
                            break;
                        }
                    }
                }
                let _ = camera.stop_stream();
            })
            .map_err(|e| SourceError::Open { name: name.into(), reason: e.to_string() })?;
        let io = CameraIo { frames: frames_rx, stop, handle: Some(handle) };
        match ready_rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(())) => Ok(io),
            Ok(Err(reason)) => Err(SourceError::Open { name: name.into(), reason }),
            Err(_) => Err(SourceError::Open { name: name.into(), reason: "the camera did not open within 5 s".into() }),
        }
    }
}

#[cfg(not(feature = "live-camera"))]
mod backend {
    //! Built without live camera support.
    use super::*;

    const WHY: &str = "this build has no live camera support (feature live-camera)";

    /// No cameras without the feature.
    pub fn list() -> Result<Vec<CameraDescription>, String> {
        Ok(Vec::new())
    }

    /// Always fails without the feature.
    pub fn open(_config: &LiveConfig, name: &str) -> Result<CameraIo, SourceError> {
        Err(SourceError::Open { name: name.into(), reason: WHY.into() })
    }
}

/// Every camera on this machine with the modes it offers (empty when there is none).
pub fn list_cameras() -> Result<Vec<CameraDescription>, SourceError> {
    backend::list().map_err(|reason| SourceError::Open { name: "camera list".into(), reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_formats_decode_to_rgb() {
        let bgr = [1u8, 2, 3, 4, 5, 6];
        let img = to_rgb("RAWBGR", 2, 1, &bgr, || Err("unused".into())).unwrap();
        assert_eq!(img.get_pixel(0, 0).0, [3, 2, 1]);
        let grey = to_rgb("GRAY", 2, 1, &[7, 9], || Err("unused".into())).unwrap();
        assert_eq!(grey.get_pixel(1, 0).0, [9, 9, 9]);
        assert!(to_rgb("RAWRGB", 4, 4, &[0; 5], || Err("unused".into())).is_err());
        assert!(to_rgb("MJPEG", 4, 4, b"garbage", || Err("unused".into())).is_err());
        let mut jpeg = Vec::new();
        RgbImage::from_pixel(8, 8, image::Rgb([100, 150, 200]))
            .write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
            .unwrap();
        assert_eq!(to_rgb("MJPEG", 8, 8, &jpeg, || Err("unused".into())).unwrap().dimensions(), (8, 8));
    }

    #[test]
    fn pixel_formats_parse() {
        assert_eq!("MJPG".parse::<PixelFormat>(), Ok(PixelFormat::Mjpeg));
        assert_eq!("yuyv".parse::<PixelFormat>(), Ok(PixelFormat::Yuyv));
        assert!("h264".parse::<PixelFormat>().is_err());
    }

    #[test]
    fn a_missing_camera_is_an_error_not_a_panic() {
        // No machine running the tests has /dev/video99.
        let mut camera = LiveCamera::new(LiveConfig {
            device: "/dev/video99".into(),
            format: CaptureFormat::default(),
            pixel_format: PixelFormat::Mjpeg,
        });
        assert!(camera.open().is_err());
        assert!(matches!(camera.next_frame(), Err(SourceError::Lost { .. })));
    }
}
