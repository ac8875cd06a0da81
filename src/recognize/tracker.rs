//! Multi-frame plate tracking: follows each plate across video frames and emits one read per
//! vehicle pass, its text voted character by character over the frames.
//!
//! Pure logic over [`PlateRead`]s with timestamps, no threads or clocks of its own: the
//! pipeline feeds it each frame's reads with the frame's capture time and publishes what it
//! returns. Association is greedy on a score of box overlap (IoU) with the track's predicted
//! box (constant velocity and growth), centre distance and text agreement. A track ends when
//! it has not been seen for [`TrackerConfig::max_unseen_millis`]; it is then voted:
//! first the text length (weighted by read confidence), then each position among the reads of
//! that length (weighted by the per-character confidences). The best crop is the one of the
//! most confident read. A track that ends while a similar-text track that started after it
//! is still open (the same plate, lost to a jump) is folded into that track instead of being
//! published; a similar text that starts soon after a published pass is a repeat and is not
//! published again. A plate followed for longer than [`TrackerConfig::max_pass_millis`] (a
//! car ahead in traffic, one parked beside the patrol car) is published then, voted over the
//! reads so far, and not again when its track ends: a hit must not wait for the vehicle to
//! leave the camera's view.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use image::RgbImage;

use super::{BBox, Candidate, PlateRead, StateRead};

/// Tracker settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerConfig {
    /// A track ends after this long without a matching read.
    pub max_unseen_millis: u64,
    /// Least IoU between a read and a track's predicted box for them to match by overlap.
    pub min_iou: f32,
    /// Largest centre distance, in plate widths, for a match without overlap.
    pub max_centre_distance: f32,
    /// Tracks with fewer reads than this are dropped as noise when they end.
    pub min_frames: usize,
    /// At most this many reads per track are kept for the vote (the most confident ones).
    pub max_votes: usize,
    /// A track that starts within this long after a published track of a similar text ended
    /// is the same vehicle lost for a moment (missed reads, an occluding car): it is not
    /// published again.
    pub repeat_window_millis: u64,
    /// Least share of equal characters for "similar" in the repeat rule.
    pub repeat_similarity: f32,
    /// A track followed this long since its first read is published without waiting for it
    /// to end (see the module documentation). Far longer than a passing vehicle is in view.
    pub max_pass_millis: u64,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            max_unseen_millis: 600,
            min_iou: 0.05,
            max_centre_distance: 1.5,
            min_frames: 1,
            max_votes: 48,
            repeat_window_millis: 3000,
            repeat_similarity: 0.7,
            max_pass_millis: 3000,
        }
    }
}

/// One vehicle pass: the voted read of a finished track.
#[derive(Debug, Clone)]
pub struct TrackedRead {
    /// The track's id, unique within this tracker.
    pub track_id: u64,
    /// Voted text, A-Z0-9.
    pub text: String,
    /// Mean of `char_confidences`.
    pub confidence: f32,
    /// Per character: the weight of the winning character over all reads of the voted length
    /// (agreement times confidence).
    pub char_confidences: Vec<f32>,
    /// The voted text first, then the other texts seen, by total confidence.
    pub candidates: Vec<Candidate>,
    /// Box of the most confident read.
    pub bbox: BBox,
    /// Crop of the most confident read.
    pub crop: RgbImage,
    /// Frame sequence number of the most confident read.
    pub best_seq: u64,
    /// Capture time of the most confident read.
    pub best_at: Instant,
    /// Capture time of the first read.
    pub first_seen: Instant,
    /// Capture time of the last read.
    pub last_seen: Instant,
    /// How many frames contributed.
    pub frames: usize,
    /// The issuing state, voted over the frames' state readings (their probabilities
    /// averaged); `None` when no frame was read with a state classifier.
    pub state: Option<StateRead>,
}

/// What one frame did to the tracker.
#[derive(Debug, Default)]
pub struct TrackerUpdate {
    /// For each read of the frame, in order, the track it joined (for the live overlay).
    pub track_ids: Vec<u64>,
    /// Passes to publish, voted: tracks that ended, and tracks followed longer than
    /// [`TrackerConfig::max_pass_millis`] (published once, while still followed).
    pub finished: Vec<TrackedRead>,
}

#[derive(Debug, Clone)]
struct Vote {
    text: String,
    confidence: f32,
    char_confidences: Vec<f32>,
    state: Option<StateRead>,
    /// The plate's width in the frame, px: the state's words are small, so a frame's state
    /// reading counts by how large the plate was (its area, the width squared).
    width: f32,
}

#[derive(Debug)]
struct Track {
    id: u64,
    votes: Vec<Vote>,
    best: PlateRead,
    best_seq: u64,
    best_at: Instant,
    first_seen: Instant,
    last_seen: Instant,
    frames: usize,
    last_box: BBox,
    /// Centre velocity in px/s and width growth in px/s.
    velocity: (f32, f32),
    growth: f32,
    /// The text published while the track was still followed (a long pass), if it was.
    published: Option<String>,
}

impl Track {
    fn predicted_box(&self, at: Instant) -> BBox {
        let dt = at.saturating_duration_since(self.last_seen).as_secs_f32();
        let b = self.last_box;
        let w = (b.w + self.growth * dt).max(1.0);
        let h = b.h * w / b.w.max(1.0);
        let (cx, cy) = (b.x + b.w / 2.0 + self.velocity.0 * dt, b.y + b.h / 2.0 + self.velocity.1 * dt);
        BBox { x: cx - w / 2.0, y: cy - h / 2.0, w, h }
    }
}

/// Follows plates across frames; see the module documentation.
#[derive(Debug)]
pub struct Tracker {
    config: TrackerConfig,
    tracks: Vec<Track>,
    next_id: u64,
    /// Latest capture time seen, so frames finished out of order never move time backwards.
    now: Option<Instant>,
    /// Texts published recently and when their track was last seen (the repeat rule).
    recent: Vec<(String, Instant)>,
    /// Tracks not published because they repeated a recent one.
    repeats_suppressed: u64,
}

/// Share of positions with equal characters, over the longer text (0 when either is empty).
fn text_similarity(a: &str, b: &str) -> f32 {
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 0.0;
    }
    a.bytes().zip(b.bytes()).filter(|(x, y)| x == y).count() as f32 / longest as f32
}

impl Tracker {
    /// A tracker with these settings.
    pub fn new(config: TrackerConfig) -> Self {
        Self { config, tracks: Vec::new(), next_id: 1, now: None, recent: Vec::new(), repeats_suppressed: 0 }
    }

    /// Tracks still open.
    pub fn open_tracks(&self) -> usize {
        self.tracks.len()
    }

    /// Feeds one frame's reads, captured at `at`; returns each read's track and the tracks that
    /// ended (those unseen for longer than the limit, judged at the latest time seen).
    pub fn update(&mut self, seq: u64, at: Instant, reads: &[PlateRead]) -> TrackerUpdate {
        let now = self.now.map_or(at, |n| n.max(at));
        self.now = Some(now);
        let mut update = TrackerUpdate { track_ids: vec![0; reads.len()], finished: self.expire(now) };

        // Score every (track, read) pair that is plausible, then assign greedily, best first.
        let mut pairs = Vec::new();
        for (ti, track) in self.tracks.iter().enumerate() {
            let predicted = track.predicted_box(at);
            for (ri, read) in reads.iter().enumerate() {
                let overlap = predicted.iou(&read.bbox);
                let (pcx, pcy) = (predicted.x + predicted.w / 2.0, predicted.y + predicted.h / 2.0);
                let (rcx, rcy) = (read.bbox.x + read.bbox.w / 2.0, read.bbox.y + read.bbox.h / 2.0);
                let scale = predicted.w.max(read.bbox.w).max(1.0);
                let distance = ((pcx - rcx).powi(2) + (pcy - rcy).powi(2)).sqrt() / scale;
                if overlap < self.config.min_iou && distance > self.config.max_centre_distance {
                    continue;
                }
                let closeness = 1.0 - (distance / self.config.max_centre_distance).min(1.0);
                let best_text = track.best.text.as_str();
                let score = overlap + 0.5 * closeness + 0.5 * text_similarity(best_text, &read.text);
                pairs.push((score, ti, ri));
            }
        }
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut track_taken = vec![false; self.tracks.len()];
        let mut read_taken = vec![false; reads.len()];
        for (_, ti, ri) in pairs {
            if track_taken[ti] || read_taken[ri] {
                continue;
            }
            track_taken[ti] = true;
            read_taken[ri] = true;
            let max_votes = self.config.max_votes;
            let track = &mut self.tracks[ti];
            extend_track(track, seq, at, &reads[ri], max_votes);
            update.track_ids[ri] = track.id;
        }
        for (ri, read) in reads.iter().enumerate() {
            if read_taken[ri] {
                continue;
            }
            let id = self.next_id;
            self.next_id += 1;
            self.tracks.push(Track {
                id,
                votes: vec![vote_of(read)],
                best: read.clone(),
                best_seq: seq,
                best_at: at,
                first_seen: at,
                last_seen: at,
                frames: 1,
                last_box: read.bbox,
                velocity: (0.0, 0.0),
                growth: 0.0,
                published: None,
            });
            update.track_ids[ri] = id;
        }
        let long_passes = self.publish_long_passes(now);
        update.finished.extend(long_passes);
        update
    }

    /// Publishes, once, the tracks followed longer than the pass limit, voted over their reads
    /// so far; they stay open.
    fn publish_long_passes(&mut self, now: Instant) -> Vec<TrackedRead> {
        let limit = Duration::from_millis(self.config.max_pass_millis);
        let mut due = Vec::new();
        for track in &mut self.tracks {
            if track.published.is_some() || now.saturating_duration_since(track.first_seen) < limit {
                continue;
            }
            if let Some(read) = voted(track) {
                tracing::debug!(text = %read.text, frames = read.frames, "tracker: long pass published while followed");
                track.published = Some(read.text.clone());
                due.push(read);
            }
        }
        self.publish(due)
    }

    /// Ends the tracks unseen since before `now` minus the limit; returns them voted.
    pub fn expire(&mut self, now: Instant) -> Vec<TrackedRead> {
        let limit = Duration::from_millis(self.config.max_unseen_millis);
        let (ended, open): (Vec<Track>, Vec<Track>) =
            self.tracks.drain(..).partition(|t| now.saturating_duration_since(t.last_seen) > limit);
        self.tracks = open;
        let mut finished = Vec::with_capacity(ended.len());
        for track in ended {
            if let Some(track) = self.fold_into_successor(track) {
                finished.push(track);
            }
        }
        self.finish(finished)
    }

    /// A track that ends while a track of a similar text, started after it within the repeat
    /// window, is still open is the same vehicle lost for a moment (a jump the association
    /// could not follow). Its reads join that track, which is published later with all of
    /// them: the first fragment is usually the farthest and least legible, and publishing
    /// it would make the repeat rule drop the better rest. Returns the track when it stands
    /// on its own.
    fn fold_into_successor(&mut self, ended: Track) -> Option<Track> {
        let window = Duration::from_millis(self.config.repeat_window_millis);
        let similarity = self.config.repeat_similarity;
        let successor = self.tracks.iter_mut().find(|t| {
            t.first_seen >= ended.first_seen
                && t.first_seen.saturating_duration_since(ended.last_seen) <= window
                && text_similarity(&t.best.text, &ended.best.text) >= similarity
        });
        let Some(successor) = successor else {
            return Some(ended);
        };
        successor.votes.extend(ended.votes);
        successor.votes.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        successor.votes.truncate(self.config.max_votes);
        successor.frames += ended.frames;
        successor.first_seen = successor.first_seen.min(ended.first_seen);
        // A fragment already published as a long pass is not published again as part of
        // its continuation.
        successor.published = successor.published.take().or(ended.published);
        if ended.best.confidence > successor.best.confidence {
            successor.best = ended.best;
            successor.best_seq = ended.best_seq;
            successor.best_at = ended.best_at;
        }
        tracing::debug!(into = successor.id, from = ended.id, "tracker: fragment folded into its continuing track");
        None
    }

    /// Ends every open track (end of the stream); returns them voted.
    pub fn flush(&mut self) -> Vec<TrackedRead> {
        let ended: Vec<Track> = self.tracks.drain(..).collect();
        self.finish(ended)
    }

    /// Tracks not published because they repeated a recently published one.
    pub fn repeats_suppressed(&self) -> u64 {
        self.repeats_suppressed
    }

    fn finish(&mut self, mut ended: Vec<Track>) -> Vec<TrackedRead> {
        ended.sort_by_key(|t| t.first_seen);
        let mut to_publish = Vec::with_capacity(ended.len());
        for track in ended {
            match &track.published {
                // Published while followed: only remembered until now, for the repeat rule.
                Some(text) => self.remember(text, track.last_seen),
                None if track.frames >= self.config.min_frames => to_publish.extend(voted(&track)),
                None => {}
            }
        }
        self.publish(to_publish)
    }

    /// Keeps a published text in the repeat rule's memory until at least `last_seen`.
    fn remember(&mut self, text: &str, last_seen: Instant) {
        match self.recent.iter_mut().find(|(t, _)| t == text) {
            Some(entry) => entry.1 = entry.1.max(last_seen),
            None => self.recent.push((text.to_owned(), last_seen)),
        }
    }

    /// Applies the repeat rule to voted passes; returns those to publish.
    fn publish(&mut self, voted: Vec<TrackedRead>) -> Vec<TrackedRead> {
        let window = Duration::from_millis(self.config.repeat_window_millis);
        let mut out = Vec::with_capacity(voted.len());
        for read in voted {
            let repeat = self.recent.iter_mut().find(|(text, last_seen)| {
                read.first_seen.saturating_duration_since(*last_seen) <= window
                    && text_similarity(text, &read.text) >= self.config.repeat_similarity
            });
            match repeat {
                Some(entry) => {
                    // The vehicle is still the same one: remember it longer, publish nothing.
                    tracing::debug!(text = %read.text, frames = read.frames, "tracker: repeat of a published pass suppressed");
                    entry.1 = entry.1.max(read.last_seen);
                    self.repeats_suppressed += 1;
                }
                None => {
                    self.recent.push((read.text.clone(), read.last_seen));
                    out.push(read);
                }
            }
        }
        if let Some(now) = self.now {
            self.recent.retain(|(_, last_seen)| now.saturating_duration_since(*last_seen) <= window);
        }
        out
    }
}

fn vote_of(read: &PlateRead) -> Vote {
    let mut char_confidences = read.char_confidences.clone();
    // Recognizers that give no per-character confidences get the read's for every character.
    char_confidences.resize(read.text.chars().count(), read.confidence);
    Vote {
        text: read.text.clone(),
        confidence: read.confidence,
        char_confidences,
        state: read.state.clone(),
        width: read.bbox.w,
    }
}

fn extend_track(track: &mut Track, seq: u64, at: Instant, read: &PlateRead, max_votes: usize) {
    let dt = at.saturating_duration_since(track.last_seen).as_secs_f32();
    if dt > 1e-3 {
        let old = track.last_box;
        let new = read.bbox;
        let v = ((new.x + new.w / 2.0 - old.x - old.w / 2.0) / dt, (new.y + new.h / 2.0 - old.y - old.h / 2.0) / dt);
        let g = (new.w - old.w) / dt;
        // Smooth so one jittery box does not throw the prediction off.
        let keep = if track.frames == 1 { 0.0 } else { 0.5 };
        track.velocity = (keep * track.velocity.0 + (1.0 - keep) * v.0, keep * track.velocity.1 + (1.0 - keep) * v.1);
        track.growth = keep * track.growth + (1.0 - keep) * g;
    }
    if at >= track.last_seen {
        track.last_seen = at;
        track.last_box = read.bbox;
    }
    track.frames += 1;
    track.votes.push(vote_of(read));
    if track.votes.len() > max_votes {
        // Keep the most confident reads: drop the weakest.
        if let Some((weakest, _)) =
            track.votes.iter().enumerate().min_by(|a, b| a.1.confidence.total_cmp(&b.1.confidence))
        {
            track.votes.swap_remove(weakest);
        }
    }
    let better = read.confidence > track.best.confidence
        || (read.confidence == track.best.confidence && read.bbox.w > track.best.bbox.w);
    if better {
        track.best = read.clone();
        track.best_seq = seq;
        track.best_at = at;
    }
}

/// Votes a track; `None` if it has no usable text.
fn voted(track: &Track) -> Option<TrackedRead> {
    let (text, char_confidences) = vote_text(&track.votes)?;
    let confidence = char_confidences.iter().sum::<f32>() / char_confidences.len().max(1) as f32;
    let mut totals: HashMap<&str, f32> = HashMap::new();
    for vote in &track.votes {
        *totals.entry(vote.text.as_str()).or_default() += vote.confidence;
    }
    let total_weight: f32 = totals.values().sum::<f32>().max(f32::EPSILON);
    let mut others: Vec<(&str, f32)> = totals.into_iter().filter(|(t, _)| *t != text).collect();
    others.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    let mut candidates = vec![Candidate { text: text.clone(), confidence }];
    candidates.extend(others.into_iter().map(|(t, w)| Candidate { text: t.to_string(), confidence: w / total_weight }));
    Some(TrackedRead {
        track_id: track.id,
        text,
        confidence,
        char_confidences,
        candidates,
        bbox: track.best.bbox,
        crop: track.best.crop.clone(),
        best_seq: track.best_seq,
        best_at: track.best_at,
        first_seen: track.first_seen,
        last_seen: track.last_seen,
        frames: track.frames,
        state: StateRead::merge(track.votes.iter().filter_map(|v| v.state.as_ref().map(|s| (s, v.width * v.width)))),
    })
}

/// The vote: the length with the most confidence behind it, then at each position the
/// character with the most per-character confidence among the reads of that length.
fn vote_text(votes: &[Vote]) -> Option<(String, Vec<f32>)> {
    let mut by_length: HashMap<usize, f32> = HashMap::new();
    for vote in votes.iter().filter(|v| !v.text.is_empty()) {
        *by_length.entry(vote.text.chars().count()).or_default() += vote.confidence.max(1e-3);
    }
    // Ties go to the longer text: recognizers drop characters more often than they invent them.
    let (&length, _) = by_length.iter().max_by(|a, b| a.1.total_cmp(b.1).then(a.0.cmp(b.0)))?;
    let same_length: Vec<&Vote> = votes.iter().filter(|v| v.text.chars().count() == length).collect();
    let mut text = String::with_capacity(length);
    let mut confidences = Vec::with_capacity(length);
    for position in 0..length {
        let mut weights: Vec<(char, f32)> = Vec::new();
        for vote in &same_length {
            let Some(c) = vote.text.chars().nth(position) else {
                continue;
            };
            let w = vote.char_confidences.get(position).copied().unwrap_or(vote.confidence).max(1e-3);
            match weights.iter_mut().find(|(k, _)| *k == c) {
                Some(entry) => entry.1 += w,
                None => weights.push((c, w)),
            }
        }
        let (c, w) = weights.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))?;
        text.push(c);
        confidences.push((w / same_length.len() as f32).min(1.0));
    }
    Some((text, confidences))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, conf: f32, x: f32, y: f32, w: f32) -> PlateRead {
        PlateRead {
            text: text.to_string(),
            confidence: conf,
            char_confidences: vec![conf; text.len()],
            bbox: BBox { x, y, w, h: w / 2.0 },
            corners: None,
            candidates: vec![Candidate { text: text.to_string(), confidence: conf }],
            crop: RgbImage::new(2, 1),
            state: None,
        }
    }

    fn ms(base: Instant, millis: u64) -> Instant {
        base + Duration::from_millis(millis)
    }

    #[test]
    fn the_tracker_merges_a_moving_plates_frames_into_one_read() {
        let base = Instant::now();
        let mut tracker = Tracker::new(TrackerConfig::default());
        let mut finished = Vec::new();
        // A plate approaching: moving down and growing, 30 frames at 30 fps, with OCR noise.
        for i in 0..30u64 {
            let text = match i % 7 {
                3 => "7ABC128", // a misread last character
                5 => "7ABC12",  // a dropped character
                _ => "7ABC123",
            };
            let w = 60.0 + i as f32 * 4.0;
            let r = read(text, 0.8, 600.0 - i as f32 * 2.0, 300.0 + i as f32 * 8.0, w);
            let update = tracker.update(i, ms(base, i * 33), &[r]);
            assert_eq!(update.track_ids, vec![1]);
            finished.extend(update.finished);
        }
        assert!(finished.is_empty());
        // Nothing for a while: the track ends on the next frame.
        let update = tracker.update(31, ms(base, 30 * 33 + 700), &[]);
        assert_eq!(update.finished.len(), 1);
        let pass = &update.finished[0];
        assert_eq!(pass.text, "7ABC123");
        assert_eq!(pass.frames, 30);
        assert_eq!(pass.candidates[0].text, "7ABC123");
        assert!(pass.candidates.iter().any(|c| c.text == "7ABC128"));
        assert!(pass.char_confidences[6] < pass.char_confidences[0]);
        assert_eq!(tracker.open_tracks(), 0);
    }

    #[test]
    fn the_state_is_voted_over_the_frames_and_unknown_when_no_frame_is_sure() {
        use crate::recognize::state::StateProbs;
        let base = Instant::now();
        let mut tracker = Tracker::new(TrackerConfig::default());
        // Far frames unsure (too small to read), near frames read Texas.
        let widths: Vec<f32> = (0..10).map(|i| 60.0 + i as f32 * 4.0).collect();
        for i in 0..10u64 {
            let mut r = read("7ABC123", 0.8, 600.0, 300.0 + i as f32 * 8.0, widths[i as usize]);
            let code = if i < 4 { None } else { Some("TX") };
            r.state = Some(StateProbs::certain(code).decide(0.5));
            tracker.update(i, ms(base, i * 33), &[r]);
        }
        let pass = tracker.flush().remove(0);
        let state = pass.state.expect("frames carried states");
        assert_eq!(state.state, Some("TX"), "six of ten frames read Texas");
        // Each frame counts by its plate's area: the nearer Texas frames weigh more than 6/10.
        let area = |r: std::ops::Range<usize>| widths[r].iter().map(|w| w * w).sum::<f32>();
        assert!((state.confidence - area(4..10) / area(0..10)).abs() < 1e-5, "{}", state.confidence);

        let mut tracker = Tracker::new(TrackerConfig::default());
        for i in 0..10u64 {
            let mut r = read("8XYZ123", 0.8, 600.0, 300.0, 60.0);
            r.state = Some(StateProbs::certain(if i % 2 == 0 { Some("NY") } else { None }).decide(0.6));
            tracker.update(i, ms(base, i * 33), &[r]);
        }
        let pass = tracker.flush().remove(0);
        assert_eq!(pass.state.unwrap().state, None, "half the frames unsure: below the 0.6 floor");
    }

    #[test]
    fn a_plate_followed_long_is_published_once_while_still_followed() {
        let base = Instant::now();
        let mut tracker = Tracker::new(TrackerConfig::default());
        let mut published = Vec::new();
        // A car ahead in traffic: its plate in view, barely moving, for 10 s at 10 fps.
        for i in 0..100u64 {
            let r = read("8XYZ123", 0.9, 600.0 + (i % 3) as f32, 500.0, 90.0);
            let update = tracker.update(i, ms(base, i * 100), &[r]);
            assert_eq!(update.track_ids, vec![1], "one track all along");
            for read in &update.finished {
                published.push((i, read.text.clone(), read.frames));
            }
        }
        // Published at the pass limit (3 s: the 31st frame), with the 31 reads so far.
        assert_eq!(published, vec![(30, "8XYZ123".to_string(), 31)]);
        assert_eq!(tracker.open_tracks(), 1);
        // When the car finally leaves, it is not published again, nor when it comes back
        // within the repeat window.
        assert!(tracker.update(100, ms(base, 10_700), &[]).finished.is_empty());
        assert_eq!(tracker.open_tracks(), 0);
        assert!(tracker.update(101, ms(base, 11_000), &[read("8XYZ123", 0.9, 600.0, 500.0, 90.0)]).finished.is_empty());
        assert!(tracker.flush().is_empty());
    }

    #[test]
    fn two_plates_side_by_side_stay_apart_and_a_returning_plate_is_a_new_pass() {
        let base = Instant::now();
        let mut tracker = Tracker::new(TrackerConfig::default());
        for i in 0..10u64 {
            let a = read("AAA111", 0.9, 100.0 + i as f32 * 3.0, 400.0, 80.0);
            let b = read("BBB222", 0.9, 900.0 - i as f32 * 3.0, 400.0, 80.0);
            let update = tracker.update(i, ms(base, i * 33), &[a, b]);
            assert_eq!(update.track_ids, vec![1, 2]);
        }
        let mut passes = tracker.update(10, ms(base, 4000), &[read("AAA111", 0.9, 100.0, 400.0, 80.0)]).finished;
        assert_eq!(passes.len(), 2);
        passes.extend(tracker.flush());
        let texts: Vec<&str> = passes.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(texts, vec!["AAA111", "BBB222", "AAA111"], "back after the repeat window: a new pass");
    }

    #[test]
    fn a_plate_lost_for_a_moment_is_not_published_twice() {
        let base = Instant::now();
        let mut tracker = Tracker::new(TrackerConfig::default());
        let mut passes = Vec::new();
        for i in 0..10u64 {
            passes.extend(tracker.update(i, ms(base, i * 33), &[read("7ABC123", 0.9, 100.0, 400.0, 80.0)]).finished);
        }
        // Unread for 1.2 s (occluded), then seen again elsewhere, one character misread.
        for i in 0..10u64 {
            let at = ms(base, 1500 + i * 33);
            passes.extend(tracker.update(50 + i, at, &[read("7ABC128", 0.9, 600.0, 300.0, 90.0)]).finished);
        }
        passes.extend(tracker.flush());
        let texts: Vec<&str> = passes.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(texts, vec!["7ABC123"]);
        assert_eq!(tracker.repeats_suppressed(), 1);
        // A different plate in the same window is published.
        passes = tracker.update(100, ms(base, 2500), &[read("XYZ999", 0.9, 100.0, 400.0, 80.0)]).finished;
        passes.extend(tracker.flush());
        assert_eq!(passes.len(), 1);
    }

    #[test]
    fn a_jump_across_the_frame_starts_a_new_track() {
        let base = Instant::now();
        let mut tracker = Tracker::new(TrackerConfig::default());
        tracker.update(0, base, &[read("XYZ789", 0.9, 100.0, 100.0, 60.0)]);
        let update = tracker.update(1, ms(base, 33), &[read("XYZ789", 0.9, 1000.0, 600.0, 60.0)]);
        assert_eq!(update.track_ids, vec![2]);
    }

    #[test]
    fn a_fragment_is_folded_into_the_track_that_continues_it() {
        let base = Instant::now();
        let mut tracker = Tracker::new(TrackerConfig::default());
        let mut passes = Vec::new();
        // Far and blurred: one misread, then the plate jumps further than association follows.
        passes.extend(tracker.update(0, base, &[read("NTR3586", 0.5, 100.0, 100.0, 40.0)]).finished);
        for i in 1..=20u64 {
            let r = read("MTR3586", 0.9, 1000.0 + i as f32 * 5.0, 600.0, 70.0);
            passes.extend(tracker.update(i, ms(base, i * 33), &[r]).finished);
        }
        assert!(passes.is_empty(), "the fragment ended while its continuation was open: nothing published yet");
        passes.extend(tracker.flush());
        assert_eq!(passes.len(), 1);
        assert_eq!(passes[0].text, "MTR3586");
        assert_eq!(passes[0].frames, 21);
        assert_eq!(passes[0].first_seen, base);
        assert_eq!(tracker.repeats_suppressed(), 0);
    }

    fn check_vote(texts: &[(&str, f32)], expected: &str) {
        let votes: Vec<Vote> = texts
            .iter()
            .map(|(t, c)| Vote {
                text: t.to_string(),
                confidence: *c,
                char_confidences: vec![*c; t.len()],
                state: None,
                width: 100.0,
            })
            .collect();
        assert_eq!(vote_text(&votes).map(|v| v.0).as_deref(), Some(expected), "{texts:?}");
    }

    #[test]
    fn voting_by_length_then_position() {
        check_vote(&[("ABC123", 0.9)], "ABC123");
        check_vote(&[("ABC123", 0.9), ("ABC128", 0.5), ("ABC123", 0.6)], "ABC123");
        // Position-wise: two different misreads outvoted position by position.
        check_vote(&[("8BC123", 0.7), ("A8C123", 0.7), ("ABC123", 0.5)], "ABC123");
        // Length first: the short misread loses even when confident.
        check_vote(&[("ABC12", 0.95), ("ABC123", 0.6), ("ABC123", 0.6)], "ABC123");
        // A lone confident character outweighs two weak ones.
        check_vote(&[("ABC123", 0.2), ("ABC123", 0.2), ("ABC12Z", 0.9)], "ABC12Z");
        assert!(vote_text(&[]).is_none());
    }

    #[test]
    fn out_of_order_frames_do_not_end_tracks_early() {
        let base = Instant::now();
        let mut tracker = Tracker::new(TrackerConfig::default());
        tracker.update(2, ms(base, 66), &[read("ABC123", 0.9, 100.0, 100.0, 60.0)]);
        let update = tracker.update(1, ms(base, 33), &[read("ABC123", 0.9, 100.0, 100.0, 60.0)]);
        assert_eq!(update.track_ids, vec![1]);
        assert!(update.finished.is_empty());
        let pass = tracker.flush();
        assert_eq!(pass[0].frames, 2);
    }

    #[test]
    fn iou_of_boxes() {
        let a = BBox { x: 0.0, y: 0.0, w: 10.0, h: 10.0 };
        assert!((a.iou(&a) - 1.0).abs() < 1e-6);
        assert_eq!(a.iou(&BBox { x: 20.0, ..a }), 0.0);
        assert!((a.iou(&BBox { x: 5.0, ..a }) - 1.0 / 3.0).abs() < 1e-6);
    }
}
