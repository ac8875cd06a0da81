//! The camera frames the console keeps: the newest of each camera with its reads (the live
//! view and its plate boxes) and the last few, so a hit's screen can show the frame its read
//! came from. Frames arrive on the pipeline's overlay channel; nothing here draws or reads.

use std::collections::VecDeque;
use std::sync::Arc;

use image::RgbImage;

use crate::pipeline::FrameReads;

/// Frames kept per camera for the hit screens (about half a second at 30 fps).
pub(crate) const FRAMES_KEPT: usize = 16;

/// The frames kept, per camera.
#[derive(Debug, Default)]
pub(crate) struct Frames {
    recent: Vec<VecDeque<(u64, Arc<RgbImage>)>>,
    latest: Vec<Option<FrameReads>>,
}

impl Frames {
    /// Empty, for `cameras` cameras (the cameras just opened).
    pub(crate) fn for_cameras(cameras: usize) -> Self {
        Self { recent: vec![VecDeque::new(); cameras], latest: vec![None; cameras] }
    }

    /// Keeps a frame: the newest of its camera, and among the last [`FRAMES_KEPT`]. A frame of
    /// a camera this console does not have is dropped.
    pub(crate) fn push(&mut self, frame: FrameReads) {
        if let Some(ring) = self.recent.get_mut(frame.camera) {
            ring.push_back((frame.seq, Arc::clone(&frame.image)));
            while ring.len() > FRAMES_KEPT {
                ring.pop_front();
            }
        }
        if let Some(slot) = self.latest.get_mut(frame.camera) {
            *slot = Some(frame);
        }
    }

    /// The newest frame of `camera`, with its reads.
    pub(crate) fn latest(&self, camera: usize) -> Option<&FrameReads> {
        self.latest.get(camera).and_then(Option::as_ref)
    }

    /// The kept frame of `camera` nearest to sequence number `seq` (the frame a read came from,
    /// or the closest still kept).
    pub(crate) fn nearest(&self, camera: usize, seq: u64) -> Option<Arc<RgbImage>> {
        let ring = self.recent.get(camera)?;
        ring.iter().min_by_key(|(s, _)| s.abs_diff(seq)).map(|(_, image)| Arc::clone(image))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(camera: usize, seq: u64) -> FrameReads {
        let shade = u8::try_from(seq % 256).unwrap_or(0);
        FrameReads {
            camera,
            seq,
            image: Arc::new(RgbImage::from_pixel(4, 2, image::Rgb([shade, 0, 0]))),
            reads: Vec::new(),
            track_ids: Vec::new(),
        }
    }

    #[test]
    fn the_newest_frame_is_shown_and_the_nearest_kept_one_found() {
        let mut frames = Frames::for_cameras(2);
        for seq in 0..40 {
            frames.push(frame(0, seq));
        }
        frames.push(frame(1, 7));
        assert_eq!(frames.latest(0).map(|f| f.seq), Some(39));
        assert_eq!(frames.latest(1).map(|f| f.seq), Some(7));
        // Only the last FRAMES_KEPT are kept: frame 30 is, frame 3 is gone (its nearest, 24, is given).
        let shade = |img: Option<Arc<RgbImage>>| img.map(|i| i.get_pixel(0, 0).0[0]);
        assert_eq!(shade(frames.nearest(0, 30)), Some(30));
        assert_eq!(shade(frames.nearest(0, 3)), Some(40 - FRAMES_KEPT as u8));
        // A camera the console does not have: nothing kept, nothing found.
        frames.push(frame(5, 1));
        assert!(frames.latest(5).is_none() && frames.nearest(5, 1).is_none());
        assert!(Frames::default().latest(0).is_none());
    }
}
