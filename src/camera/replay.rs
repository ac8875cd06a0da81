//! Replay: recorded footage as a frame source, to review it and to test on real photos.
//!
//! Two kinds of recording: a folder of images (JPEG, PNG, BMP; played in file-name order) and
//! an MJPEG stream file (`.mjpeg`/`.mjpg`: JPEG images back to back, as many cameras and
//! `ffmpeg -f mjpeg` write them). Frames are paced at the requested rate and the recording
//! can loop. A file that does not decode is reported as a corrupt frame and skipped.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::{Frame, FrameSource, SourceError};

/// Replay settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayConfig {
    /// Folder of images or MJPEG file.
    pub path: PathBuf,
    /// Frames per second.
    pub fps: f32,
    /// Start again at the end.
    pub looping: bool,
    /// Pace frames to the clock (off for tests: as fast as they decode).
    pub realtime: bool,
}

/// Where the frames come from.
#[derive(Debug)]
enum Recording {
    /// Image files, sorted by name.
    Images(Vec<PathBuf>),
    /// Byte ranges of the JPEGs in an MJPEG file, and the file's bytes.
    Mjpeg { data: Vec<u8>, frames: Vec<(usize, usize)> },
}

impl Recording {
    fn len(&self) -> usize {
        match self {
            Recording::Images(files) => files.len(),
            Recording::Mjpeg { frames, .. } => frames.len(),
        }
    }
}

/// A recording played back as a frame source.
#[derive(Debug)]
pub struct Replay {
    config: ReplayConfig,
    name: String,
    recording: Option<Recording>,
    position: usize,
    seq: u64,
    started: Option<Instant>,
}

const IMAGE_EXTENSIONS: [&str; 5] = ["jpg", "jpeg", "png", "bmp", "jpe"];

fn is_mjpeg(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("mjpeg") || e.eq_ignore_ascii_case("mjpg"))
}

/// Splits an MJPEG stream into its JPEGs: each starts at an SOI marker (FF D8 FF) and ends at
/// the EOI marker (FF D9) before the next SOI.
pub fn split_mjpeg(data: &[u8]) -> Vec<(usize, usize)> {
    let starts: Vec<usize> =
        data.windows(3).enumerate().filter(|(_, w)| *w == [0xFF, 0xD8, 0xFF]).map(|(i, _)| i).collect();
    let mut frames = Vec::with_capacity(starts.len());
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(data.len());
        frames.push((start, end));
    }
    frames
}

impl Replay {
    /// A replay of `config.path` (opened by [`FrameSource::open`]).
    pub fn new(config: ReplayConfig) -> Self {
        let name = format!("replay:{}", config.path.display());
        Self { config, name, recording: None, position: 0, seq: 0, started: None }
    }

    fn load(&self) -> Result<Recording, SourceError> {
        let path = &self.config.path;
        let open_error = |reason: String| SourceError::Open { name: self.name.clone(), reason };
        if !path.exists() {
            return Err(SourceError::NotFound(path.display().to_string()));
        }
        if path.is_file() {
            if !is_mjpeg(path) {
                return Err(open_error(
                    "a replay file must be an MJPEG stream (.mjpeg, .mjpg); use a folder for images".into(),
                ));
            }
            let data = std::fs::read(path).map_err(|e| open_error(e.to_string()))?;
            let frames = split_mjpeg(&data);
            if frames.is_empty() {
                return Err(open_error("no JPEG frames in the file".into()));
            }
            return Ok(Recording::Mjpeg { data, frames });
        }
        let entries = std::fs::read_dir(path).map_err(|e| open_error(e.to_string()))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
            })
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(open_error("no images (.jpg, .png, .bmp) in the folder".into()));
        }
        Ok(Recording::Images(files))
    }
}

impl FrameSource for Replay {
    fn name(&self) -> &str {
        &self.name
    }

    fn open(&mut self) -> Result<(), SourceError> {
        if self.recording.is_none() {
            self.recording = Some(self.load()?);
        }
        Ok(())
    }

    fn next_frame(&mut self) -> Result<Frame, SourceError> {
        let Some(recording) = &self.recording else {
            return Err(SourceError::Lost { name: self.name.clone(), reason: "not open".into() });
        };
        if self.position >= recording.len() {
            if !self.config.looping {
                return Err(SourceError::EndOfStream);
            }
            self.position = 0;
        }
        let fps = if self.config.fps > 0.0 { self.config.fps } else { 30.0 };
        let started = *self.started.get_or_insert_with(Instant::now);
        let due = started + Duration::from_secs_f64(self.seq as f64 / f64::from(fps));
        if self.config.realtime {
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        let index = self.position;
        self.position += 1;
        let seq = self.seq;
        self.seq += 1;
        let decoded = match recording {
            Recording::Images(files) => {
                image::open(&files[index]).map_err(|e| format!("{}: {e}", files[index].display()))
            }
            Recording::Mjpeg { data, frames } => {
                let (start, end) = frames[index];
                image::load_from_memory_with_format(&data[start..end], image::ImageFormat::Jpeg)
                    .map_err(|e| format!("frame {index}: {e}"))
            }
        };
        let image = decoded.map_err(|reason| SourceError::Corrupt { name: self.name.clone(), reason })?;
        let captured_at = if self.config.realtime { Instant::now() } else { due };
        Ok(Frame { image: Arc::new(image.to_rgb8()), captured_at, wall_time: SystemTime::now(), seq })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(path: &Path, looping: bool) -> ReplayConfig {
        ReplayConfig { path: path.to_path_buf(), fps: 100.0, looping, realtime: false }
    }

    fn write_images(dir: &Path) {
        for (i, v) in [10u8, 20, 30].iter().enumerate() {
            image::RgbImage::from_pixel(8, 6, image::Rgb([*v; 3])).save(dir.join(format!("f{i}.png"))).unwrap();
        }
        std::fs::write(dir.join("f1b.jpg"), b"not a jpeg").unwrap();
        std::fs::write(dir.join("notes.txt"), b"ignored").unwrap();
    }

    #[test]
    fn a_folder_plays_in_name_order_skipping_corrupt_files_and_loops() {
        let dir = tempfile::tempdir().unwrap();
        write_images(dir.path());
        let mut replay = Replay::new(config(dir.path(), true));
        replay.open().unwrap();
        let mut seen = Vec::new();
        for _ in 0..6 {
            match replay.next_frame() {
                Ok(frame) => seen.push(frame.image.get_pixel(0, 0).0[0]),
                Err(SourceError::Corrupt { reason, .. }) => {
                    assert!(reason.contains("f1b.jpg"), "{reason}");
                    seen.push(0);
                }
                Err(other) => panic!("{other}"),
            }
        }
        assert_eq!(seen, vec![10, 20, 0, 30, 10, 20]);
    }

    #[test]
    fn without_looping_the_stream_ends() {
        let dir = tempfile::tempdir().unwrap();
        image::RgbImage::new(4, 4).save(dir.path().join("a.png")).unwrap();
        let mut replay = Replay::new(config(dir.path(), false));
        replay.open().unwrap();
        assert!(replay.next_frame().is_ok());
        assert_eq!(replay.next_frame().unwrap_err(), SourceError::EndOfStream);
    }

    #[test]
    fn an_mjpeg_file_is_split_into_frames() {
        let dir = tempfile::tempdir().unwrap();
        let mut stream = Vec::new();
        for v in [50u8, 200] {
            let mut jpeg = Vec::new();
            image::RgbImage::from_pixel(16, 8, image::Rgb([v; 3]))
                .write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
                .unwrap();
            stream.extend_from_slice(&jpeg);
        }
        let file = dir.path().join("rec.mjpeg");
        std::fs::write(&file, &stream).unwrap();
        let mut replay = Replay::new(config(&file, false));
        replay.open().unwrap();
        let a = replay.next_frame().unwrap();
        let b = replay.next_frame().unwrap();
        assert!(a.image.get_pixel(4, 4).0[0].abs_diff(50) < 8);
        assert!(b.image.get_pixel(4, 4).0[0].abs_diff(200) < 8);
        assert_eq!((a.seq, b.seq), (0, 1));
    }

    #[test]
    fn missing_and_empty_sources_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(Replay::new(config(&dir.path().join("none"), false)).open(), Err(SourceError::NotFound(_))));
        let err = Replay::new(config(dir.path(), false)).open().unwrap_err().to_string();
        assert!(err.contains("no images"), "{err}");
    }
}
