//! The traffic simulator: a frame source that renders road traffic with known plates in real
//! time, for demos, tests and training when no camera is present.
//!
//! The scene is a straight two-lane road seen from a patrol car's dash camera (pinhole
//! projection, camera 1.2 m above the road). Oncoming vehicles approach in the left lane and
//! pass out of the frame; vehicles overtaking us appear near in the right lane and pull away.
//! Each carries a US plate (a state style from [`crate::render`]); plates grow and shrink
//! with distance, are smeared by their motion during the exposure, and get sensor noise. At
//! night the scene is dark and plates show the infrared look (grey, bright, retroreflective).
//!
//! Everything is a function of the seed and the frame number, so a run is repeatable. Speed
//! matters (1280x720 at 30 fps on a loaded two-core machine): the background is drawn once,
//! each plate is rendered once per vehicle at a few sizes ([`PlateMips`]), and a frame is a
//! copy of the background, a few filled rectangles, a small warp per plate and a pass of
//! precomputed noise.
//!
//! The ground truth of every frame (plate text, box, vehicle, visibility) goes to a shared
//! [`SimTruth`] log that tests and the headless run score reads against.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use image::{Rgb, RgbImage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Frame, FrameSource, SourceError};
use crate::geometry::BBox;
use crate::render::effects::NoiseField;
use crate::render::plate::fill_rect;
use crate::render::scene::draw_plate;
use crate::render::{Placement, PlateMips, PlateStyle};

/// Light conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lighting {
    /// Daylight colours.
    Day,
    /// Night with an infrared-illuminated camera: dark scene, bright grey plates.
    NightIr,
}

/// Simulator settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatorConfig {
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: f32,
    /// Seed of everything random.
    pub seed: u64,
    /// Light conditions.
    pub lighting: Lighting,
    /// Plates to show (e.g. the demo hot list), mixed with random ones.
    pub plates: Vec<String>,
    /// Chance that a new vehicle carries one of `plates`.
    pub listed_share: f32,
    /// Mean gap between vehicles in one lane, seconds.
    pub mean_gap_secs: f32,
    /// Sensor noise, grey levels (standard deviation).
    pub noise_sigma: f32,
    /// Shutter time, seconds: plates are smeared by how far they move while it is open.
    pub exposure_secs: f32,
    /// Pace frames to the clock; off, frames come as fast as they render (tests), with
    /// capture times still spaced by 1/fps.
    pub realtime: bool,
    /// A plate at least this many pixels wide per 1280 of frame width, fully in frame and
    /// not hidden, counts as readable in the ground truth.
    pub readable_width_px: f32,
    /// End the stream after this many frames (`None`: run until stopped).
    pub max_frames: Option<u64>,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            width: 1280,
            height: 720,
            fps: 30.0,
            seed: 1,
            lighting: Lighting::Day,
            plates: Vec::new(),
            listed_share: 0.3,
            mean_gap_secs: 1.2,
            noise_sigma: 3.0,
            exposure_secs: DEFAULT_EXPOSURE_SECS,
            realtime: true,
            readable_width_px: 48.0,
            max_frames: None,
        }
    }
}

/// The default shutter time: 1/250 s, a dash camera's automatic exposure in daylight. It
/// smears an oncoming plate crossing the frame by a few pixels. Dedicated ALPR cameras open
/// their shutters shorter still (1/1000 s and less, with infrared flash at night) precisely so
/// that plates passing at speed stay sharp; half a frame time (1/60 s at 30 fps), which this
/// simulator used first, smeared an oncoming plate by 10-15 px, wider than its characters.
pub const DEFAULT_EXPOSURE_SECS: f32 = 1.0 / 250.0;

/// One plate in one frame, as the simulator drew it.
#[derive(Debug, Clone, PartialEq)]
pub struct TruthPlate {
    /// The vehicle carrying it.
    pub vehicle_id: u64,
    /// Its text, A-Z0-9.
    pub text: String,
    /// The state that issued it (USPS code of its style).
    pub state: String,
    /// Where it is.
    pub bbox: BBox,
    /// Its corners (top-left, top-right, bottom-right, bottom-left).
    pub corners: [(f32, f32); 4],
    /// Big enough, fully in frame and not hidden by another vehicle.
    pub readable: bool,
}

/// The ground truth of one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameTruth {
    /// The frame's sequence number.
    pub seq: u64,
    /// Plates at least partly in the frame.
    pub plates: Vec<TruthPlate>,
}

/// What the simulator knows about one vehicle over the run.
#[derive(Debug, Clone, PartialEq)]
pub struct VehicleTruth {
    /// Its plate text.
    pub text: String,
    /// The state that issued its plate.
    pub state: String,
    /// Frames in which its plate was readable.
    pub readable_frames: u32,
    /// The widest its plate was drawn, px.
    pub max_width_px: f32,
}

/// Frames of truth kept for look-up (ten seconds at 30 fps).
const TRUTH_FRAMES: usize = 300;

#[derive(Debug, Default)]
struct TruthLog {
    frames: VecDeque<FrameTruth>,
    vehicles: BTreeMap<u64, VehicleTruth>,
}

/// The simulator's ground truth, shared with whoever scores reads.
#[derive(Debug, Clone, Default)]
pub struct SimTruth {
    inner: Arc<Mutex<TruthLog>>,
}

impl SimTruth {
    fn lock(&self) -> std::sync::MutexGuard<'_, TruthLog> {
        // A panic while holding this lock leaves plain data behind: keep using it.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn record(&self, truth: FrameTruth) {
        let mut log = self.lock();
        for plate in &truth.plates {
            let entry = log.vehicles.entry(plate.vehicle_id).or_insert_with(|| VehicleTruth {
                text: plate.text.clone(),
                state: plate.state.clone(),
                readable_frames: 0,
                max_width_px: 0.0,
            });
            entry.readable_frames += u32::from(plate.readable);
            entry.max_width_px = entry.max_width_px.max(plate.bbox.w);
        }
        log.frames.push_back(truth);
        while log.frames.len() > TRUTH_FRAMES {
            log.frames.pop_front();
        }
    }

    /// The truth of frame `seq`, if it is among the last few seconds.
    pub fn frame(&self, seq: u64) -> Option<FrameTruth> {
        let log = self.lock();
        let first = log.frames.front()?.seq;
        let index = usize::try_from(seq.checked_sub(first)?).ok()?;
        log.frames.get(index).filter(|f| f.seq == seq).cloned()
    }

    /// Every vehicle shown so far, by id.
    pub fn vehicles(&self) -> BTreeMap<u64, VehicleTruth> {
        self.lock().vehicles.clone()
    }

    /// The vehicle whose plate best overlaps `bbox` in frame `seq` (IoU of at least 0.3).
    pub fn vehicle_at(&self, seq: u64, bbox: &BBox) -> Option<u64> {
        let frame = self.frame(seq)?;
        frame
            .plates
            .iter()
            .map(|p| (p.bbox.iou(bbox), p.vehicle_id))
            .filter(|(overlap, _)| *overlap >= 0.3)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, id)| id)
    }
}

/// A counted vehicle that was never read right.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SimMiss {
    /// The vehicle.
    pub vehicle: u64,
    /// Its plate.
    pub text: String,
    /// Frames in which its plate was readable.
    pub readable_frames: u32,
    /// The widest its plate was drawn, px.
    pub max_width_px: f32,
    /// What was read of it, if anything.
    pub reads: Vec<String>,
}

/// How well a run's reads match the simulator's truth.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SimScore {
    /// Vehicles whose plate was readable in at least [`SimScorer::MIN_READABLE_FRAMES`] frames.
    pub vehicles: u64,
    /// Of those, vehicles read at least once with exactly the right text.
    pub correct: u64,
    /// Reads beyond the first for the same vehicle (should be 0: one read per pass).
    pub duplicates: u64,
    /// Reads that match no vehicle's plate.
    pub false_reads: u64,
    /// Of the counted vehicles, those read at least once with their plate's state.
    pub state_correct: u64,
    /// Of the counted vehicles, those read at least once with another state named (not
    /// "unknown", which is no error).
    pub state_wrong: u64,
}

/// What was read of one vehicle.
#[derive(Debug, Default)]
struct VehicleReads {
    texts: Vec<String>,
    right: bool,
    state_right: bool,
    state_wrong: bool,
}

/// Scores reads against a [`SimTruth`] as they arrive (the truth of a frame is kept for a
/// few seconds only, so scoring cannot wait until the end of a long run).
#[derive(Debug, Default)]
pub struct SimScorer {
    truth: SimTruth,
    /// Per vehicle: what was read of it.
    reads: BTreeMap<u64, VehicleReads>,
    false_reads: u64,
}

impl SimScorer {
    /// A vehicle counts once its plate was readable in this many frames.
    pub const MIN_READABLE_FRAMES: u32 = 3;

    /// A scorer over this truth.
    pub fn new(truth: SimTruth) -> Self {
        Self { truth, reads: BTreeMap::new(), false_reads: 0 }
    }

    /// Attributes a read (text, the state it named if any, and its box in frame `seq`) to a
    /// vehicle; returns the vehicle and whether the text was right.
    pub fn observe(&mut self, seq: u64, bbox: &BBox, text: &str, state: Option<&str>) -> Option<(u64, bool)> {
        let Some(vehicle) = self.truth.vehicle_at(seq, bbox) else {
            self.false_reads += 1;
            return None;
        };
        let truth = self.truth.vehicles().get(&vehicle).cloned();
        let right = truth.as_ref().is_some_and(|v| v.text == crate::plate::normalize(text));
        let state_right = match (state, &truth) {
            (Some(read), Some(v)) => Some(read.eq_ignore_ascii_case(&v.state)),
            _ => None,
        };
        let entry = self.reads.entry(vehicle).or_default();
        entry.texts.push(text.to_owned());
        entry.right |= right;
        entry.state_right |= state_right == Some(true);
        entry.state_wrong |= state_right == Some(false);
        Some((vehicle, right))
    }

    /// The counted vehicles never read with the right text, with what was read of them: what
    /// a run's reader should be improved on.
    pub fn misses(&self) -> Vec<SimMiss> {
        self.truth
            .vehicles()
            .into_iter()
            .filter(|(id, v)| {
                v.readable_frames >= Self::MIN_READABLE_FRAMES && !self.reads.get(id).is_some_and(|r| r.right)
            })
            .map(|(id, v)| SimMiss {
                vehicle: id,
                text: v.text,
                readable_frames: v.readable_frames,
                max_width_px: v.max_width_px.round(),
                reads: self.reads.get(&id).map(|r| r.texts.clone()).unwrap_or_default(),
            })
            .collect()
    }

    /// The score so far.
    pub fn score(&self) -> SimScore {
        let vehicles = self.truth.vehicles();
        let counted: Vec<u64> = vehicles
            .iter()
            .filter(|(_, v)| v.readable_frames >= Self::MIN_READABLE_FRAMES)
            .map(|(id, _)| *id)
            .collect();
        let count = |pick: fn(&VehicleReads) -> bool| {
            counted.iter().filter(|id| self.reads.get(id).is_some_and(pick)).count() as u64
        };
        SimScore {
            vehicles: counted.len() as u64,
            correct: count(|r| r.right),
            duplicates: self.reads.values().map(|r| r.texts.len().saturating_sub(1) as u64).sum(),
            false_reads: self.false_reads,
            state_correct: count(|r| r.state_right),
            state_wrong: count(|r| r.state_wrong),
        }
    }
}

/// Road geometry in metres and the pinhole camera.
#[derive(Debug, Clone, Copy)]
struct Camera {
    focal_px: f32,
    centre_x: f32,
    horizon_y: f32,
    height_m: f32,
}

impl Camera {
    fn new(width: u32, height: u32) -> Self {
        Self {
            focal_px: width as f32 * 0.8,
            centre_x: width as f32 / 2.0,
            horizon_y: height as f32 * 0.4,
            height_m: 1.2,
        }
    }

    /// Screen position of the road-relative point (lateral `x_m`, height `y_m`, distance `z_m`).
    fn project(&self, x_m: f32, y_m: f32, z_m: f32) -> (f32, f32) {
        (self.centre_x + self.focal_px * x_m / z_m, self.horizon_y + self.focal_px * (self.height_m - y_m) / z_m)
    }
}

/// Which way a vehicle goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    /// Left lane, coming towards us (we see its front plate).
    Oncoming,
    /// Right lane, pulling away from us (we see its rear plate).
    Leaving,
}

impl Lane {
    fn x_m(self) -> f32 {
        match self {
            Lane::Oncoming => -2.1,
            Lane::Leaving => 2.1,
        }
    }
}

const NEAREST_M: f32 = 2.6;
const FARTHEST_M: f32 = 60.0;
const PLATE_WIDTH_M: f32 = 0.305;
const PLATE_HEIGHT_M: f32 = 0.55;
const BODY_WIDTH_M: f32 = 1.8;

#[derive(Debug)]
struct Vehicle {
    id: u64,
    text: String,
    /// The issuing state of its plate (its style's code).
    state: String,
    lane: Lane,
    /// Distance at the spawn time and speed away from us (negative: approaching), m and m/s.
    z0: f32,
    speed: f32,
    spawned_at: f32,
    body: Rgb<u8>,
    plate_offset_m: f32,
    mips: PlateMips,
}

impl Vehicle {
    fn z_at(&self, t: f32) -> f32 {
        self.z0 + self.speed * (t - self.spawned_at)
    }
}

/// The traffic simulator source; see the module documentation.
pub struct Simulator {
    config: SimulatorConfig,
    camera: Camera,
    background: RgbImage,
    noise: NoiseField,
    rng: ChaCha8Rng,
    styles: Vec<PlateStyle>,
    vehicles: Vec<Vehicle>,
    /// When the next vehicle of each lane is due (simulation seconds).
    next_spawn: [f32; 2],
    next_vehicle_id: u64,
    seq: u64,
    started: Option<Instant>,
    truth: SimTruth,
    name: String,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator").field("config", &self.config).field("seq", &self.seq).finish_non_exhaustive()
    }
}

impl Simulator {
    /// A simulator with these settings; listed plates that cannot be printed are skipped
    /// (with a warning) rather than failing the whole run.
    pub fn new(mut config: SimulatorConfig) -> Self {
        config.width = config.width.max(64);
        config.height = config.height.max(48);
        config.fps = if config.fps.is_finite() && config.fps > 0.0 { config.fps } else { 30.0 };
        config.plates = config
            .plates
            .iter()
            .map(|p| crate::plate::normalize(p))
            .filter(|p| {
                let ok = crate::render::plate::validate_text(p).is_ok();
                if !ok {
                    tracing::warn!(plate = %p, "simulator: cannot print this plate, skipping it");
                }
                ok
            })
            .collect();
        let camera = Camera::new(config.width, config.height);
        let background = draw_background(&config, &camera);
        let noise = NoiseField::new(257, config.noise_sigma, config.seed ^ 0x5eed);
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let next_spawn = [rng.random::<f32>() * 0.5, rng.random::<f32>() * 1.5];
        Self {
            camera,
            background,
            noise,
            rng,
            styles: PlateStyle::all(),
            vehicles: Vec::new(),
            next_spawn,
            next_vehicle_id: 1,
            seq: 0,
            started: None,
            truth: SimTruth::default(),
            name: format!("sim:{}x{}@{}", config.width, config.height, config.fps),
            config,
        }
    }

    /// The shared ground-truth log.
    pub fn truth(&self) -> SimTruth {
        self.truth.clone()
    }

    /// Renders frame `seq` (simulation time `seq / fps`) and records its truth.
    pub fn render(&mut self, seq: u64) -> (RgbImage, FrameTruth) {
        let t = seq as f32 / self.config.fps;
        self.spawn_and_retire(t);
        let mut img = self.background.clone();
        let mut order: Vec<usize> = (0..self.vehicles.len()).collect();
        // Far vehicles first, so near ones hide them.
        order.sort_by(|&a, &b| self.vehicles[b].z_at(t).total_cmp(&self.vehicles[a].z_at(t)));
        let mut plates = Vec::new();
        let mut bodies: Vec<(f32, BBox)> = Vec::new();
        let exposure = self.config.exposure_secs.clamp(0.0, 1.0 / self.config.fps);
        for &i in &order {
            let v = &self.vehicles[i];
            let z = v.z_at(t);
            let body = self.draw_vehicle(&mut img, v, z);
            let placement = self.plate_placement(v, z);
            let before = self.plate_placement(v, v.z_at(t - exposure));
            let moved = (placement.centre.0 - before.centre.0, placement.centre.1 - before.centre.1);
            let (corners, bbox) = draw_plate(&mut img, &v.mips, &placement.moving(moved.0, moved.1));
            bodies.push((z, body));
            plates.push((
                z,
                TruthPlate {
                    vehicle_id: v.id,
                    text: v.text.clone(),
                    state: v.state.clone(),
                    bbox,
                    corners,
                    readable: false,
                },
            ));
        }
        // Readable: large enough, wholly inside the frame, and not covered by a nearer body.
        let min_width = self.config.readable_width_px * self.config.width as f32 / 1280.0;
        let (fw, fh) = (self.config.width as f32, self.config.height as f32);
        for (z, plate) in &mut plates {
            let b = plate.bbox;
            let inside = b.x >= 1.0 && b.y >= 1.0 && b.x + b.w <= fw - 1.0 && b.y + b.h <= fh - 1.0;
            let hidden = bodies.iter().any(|(bz, body)| *bz < *z - 0.5 && overlap_share(&b, body) > 0.05);
            plate.readable = inside && !hidden && b.w >= min_width;
        }
        let visible = plates
            .into_iter()
            .map(|(_, p)| p)
            .filter(|p| p.bbox.x + p.bbox.w > 0.0 && p.bbox.y + p.bbox.h > 0.0 && p.bbox.x < fw && p.bbox.y < fh)
            .collect();
        self.noise.apply(&mut img, (seq as usize).wrapping_mul(7919));
        let truth = FrameTruth { seq, plates: visible };
        self.truth.record(truth.clone());
        (img, truth)
    }

    fn plate_placement(&self, v: &Vehicle, z: f32) -> Placement {
        let (x, y) = self.camera.project(v.lane.x_m() + v.plate_offset_m, PLATE_HEIGHT_M, z);
        Placement::new(x, y, self.camera.focal_px * PLATE_WIDTH_M / z)
    }

    /// Draws the vehicle body (a box with a window band and lamps); returns its screen box.
    fn draw_vehicle(&self, img: &mut RgbImage, v: &Vehicle, z: f32) -> BBox {
        let x = v.lane.x_m();
        let (left, top) = self.camera.project(x - BODY_WIDTH_M / 2.0, 1.45, z);
        let (right, bottom) = self.camera.project(x + BODY_WIDTH_M / 2.0, 0.25, z);
        let (w, h) = (right - left, bottom - top);
        let night = self.config.lighting == Lighting::NightIr;
        let body = if night { dim(v.body, 0.25) } else { v.body };
        // Shadow under the car, then the body, the windows and the lamps.
        let (_, ground) = self.camera.project(x, 0.0, z);
        fill_rect(img, left - w * 0.03, bottom, w * 1.06, (ground - bottom).max(1.0), Rgb([25, 25, 28]));
        fill_rect(img, left, top, w, h, body);
        fill_rect(
            img,
            left + w * 0.08,
            top + h * 0.05,
            w * 0.84,
            h * 0.3,
            if night { Rgb([8, 8, 10]) } else { Rgb([40, 48, 60]) },
        );
        let lamp = match (v.lane, night) {
            (Lane::Oncoming, false) => Rgb([235, 235, 220]),
            (Lane::Oncoming, true) => Rgb([255, 255, 245]),
            (Lane::Leaving, false) => Rgb([190, 30, 30]),
            (Lane::Leaving, true) => Rgb([140, 20, 20]),
        };
        fill_rect(img, left + w * 0.04, top + h * 0.5, w * 0.16, h * 0.14, lamp);
        fill_rect(img, right - w * 0.2, top + h * 0.5, w * 0.16, h * 0.14, lamp);
        BBox { x: left, y: top, w, h }
    }

    fn spawn_and_retire(&mut self, t: f32) {
        let cam = self.camera;
        let (fw, fh) = (self.config.width as f32, self.config.height as f32);
        self.vehicles.retain(|v| {
            let z = v.z_at(t);
            let (x, y) = cam.project(v.lane.x_m(), 0.0, z);
            let gone_near = z < NEAREST_M || x < -fw * 0.5 || x > fw * 1.5 || y > fh * 1.5;
            !(gone_near || z > FARTHEST_M)
        });
        for (slot, lane) in [Lane::Oncoming, Lane::Leaving].into_iter().enumerate() {
            if t < self.next_spawn[slot] {
                continue;
            }
            // One vehicle at a time per lane near us, so plates are not hidden for long.
            let busy = self.vehicles.iter().any(|v| {
                v.lane == lane
                    && match lane {
                        Lane::Oncoming => v.z_at(t) > 8.0,
                        Lane::Leaving => v.z_at(t) < 25.0,
                    }
            });
            if busy {
                continue;
            }
            let vehicle = self.new_vehicle(lane, t);
            self.vehicles.push(vehicle);
            let gap = -self.config.mean_gap_secs.max(0.1) * (1.0 - self.rng.random::<f32>()).max(1e-3).ln();
            self.next_spawn[slot] = t + gap;
        }
    }

    fn new_vehicle(&mut self, lane: Lane, t: f32) -> Vehicle {
        let id = self.next_vehicle_id;
        self.next_vehicle_id += 1;
        let listed = !self.config.plates.is_empty() && self.rng.random::<f32>() < self.config.listed_share;
        let text = if listed {
            let i = self.rng.random_range(0..self.config.plates.len());
            self.config.plates[i].clone()
        } else {
            random_plate(&mut self.rng)
        };
        let style = self.styles[self.rng.random_range(0..self.styles.len())].clone();
        // Render once, large enough for the nearest approach.
        let max_width = (self.camera.focal_px * PLATE_WIDTH_M / NEAREST_M * 1.2).clamp(32.0, 512.0) as u32;
        let mips = match PlateMips::new(&style, &text, max_width) {
            Ok(mips) => mips,
            // Texts were validated; a failure here is a broken font, so draw a blank plate.
            Err(err) => {
                tracing::error!(%err, "simulator: plate rendering failed");
                PlateMips::from_image(RgbImage::from_pixel(max_width, max_width / 2, Rgb([230, 230, 230])))
            }
        };
        let mut mips = mips;
        if self.config.lighting == Lighting::NightIr {
            mips.map_levels(infrared_look);
        }
        let (z0, speed) = match lane {
            Lane::Oncoming => (FARTHEST_M - 1.0, -(5.0 + self.rng.random::<f32>() * 7.0)),
            Lane::Leaving => (NEAREST_M + 0.2, 2.0 + self.rng.random::<f32>() * 4.0),
        };
        let palette = [
            [180, 30, 30],
            [30, 60, 150],
            [200, 200, 205],
            [30, 30, 32],
            [120, 120, 125],
            [230, 230, 225],
            [40, 90, 50],
        ];
        let body = Rgb(palette[self.rng.random_range(0..palette.len())]);
        let plate_offset_m = (self.rng.random::<f32>() - 0.5) * 0.2;
        Vehicle { id, text, state: style.code.clone(), lane, z0, speed, spawned_at: t, body, plate_offset_m, mips }
    }
}

/// A random plate text in one of the common US patterns.
pub fn random_plate(rng: &mut ChaCha8Rng) -> String {
    const LETTERS: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXYZ";
    const DIGITS: &[u8] = b"0123456789";
    let patterns: [&[u8]; 5] = [b"9LLL999", b"LLL9999", b"LLL999", b"999LLL", b"LL9999"];
    let pattern = patterns[rng.random_range(0..patterns.len())];
    pattern
        .iter()
        .map(|p| {
            let set = if *p == b'L' { LETTERS } else { DIGITS };
            char::from(set[rng.random_range(0..set.len())])
        })
        .collect()
}

fn dim(c: Rgb<u8>, factor: f32) -> Rgb<u8> {
    Rgb(c.0.map(|v| (f32::from(v) * factor) as u8))
}

/// An infrared camera sees a retroreflective plate as bright grey with dark characters.
fn infrared_look(img: &mut RgbImage) {
    for px in img.pixels_mut() {
        let [r, g, b] = px.0.map(f32::from);
        let luma = 0.299 * r + 0.587 * g + 0.114 * b;
        let v = ((luma - 60.0) * 1.4 + 60.0).clamp(0.0, 255.0) as u8;
        px.0 = [v, v, v];
    }
}

/// Share of `a`'s area that `b` covers.
fn overlap_share(a: &BBox, b: &BBox) -> f32 {
    let w = ((a.x + a.w).min(b.x + b.w) - a.x.max(b.x)).max(0.0);
    let h = ((a.y + a.h).min(b.y + b.h) - a.y.max(b.y)).max(0.0);
    w * h / (a.w * a.h).max(1e-3)
}

/// Sky, roadside and a two-lane road with markings, drawn once.
fn draw_background(config: &SimulatorConfig, cam: &Camera) -> RgbImage {
    let (w, h) = (config.width, config.height);
    let night = config.lighting == Lighting::NightIr;
    let horizon = cam.horizon_y;
    let mut img = RgbImage::from_fn(w, h, |_, y| {
        let yf = y as f32;
        if yf < horizon {
            let k = yf / horizon;
            if night { Rgb([10, 10, 14]) } else { Rgb([(150.0 + 60.0 * k) as u8, (180.0 + 40.0 * k) as u8, 225]) }
        } else if night {
            Rgb([22, 24, 22])
        } else {
            Rgb([86, 118, 70])
        }
    });
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0xb0a7);
    // Buildings and trees along the horizon.
    let mut x = 0.0;
    while x < w as f32 {
        let bw = 20.0 + rng.random::<f32>() * 90.0;
        let bh = 10.0 + rng.random::<f32>() * horizon * 0.5;
        let grey = 60 + rng.random_range(0..120u8);
        let colour =
            if night { Rgb([grey / 6, grey / 6, grey / 5]) } else { Rgb([grey, grey, grey.saturating_add(10)]) };
        fill_rect(&mut img, x, horizon - bh, bw, bh, colour);
        x += bw + rng.random::<f32>() * 30.0;
    }
    // The road surface as horizontal spans between its edges, then its markings.
    let asphalt = if night { 30.0 } else { 96.0 };
    for y in (horizon.ceil() as u32)..h {
        let z = cam.focal_px * cam.height_m / (y as f32 + 0.5 - horizon);
        let (l, _) = cam.project(-4.2, 0.0, z);
        let (r, _) = cam.project(4.2, 0.0, z);
        let shade = asphalt + 10.0 * (y as f32 / h as f32);
        fill_rect(&mut img, l, y as f32, r - l, 1.0, Rgb([shade as u8, shade as u8, (shade + 4.0) as u8]));
        let line = |x_m: f32| cam.project(x_m, 0.0, z).0;
        let line_w = (cam.focal_px * 0.12 / z).max(0.3);
        let paint = if night { Rgb([110, 110, 100]) } else { Rgb([235, 235, 225]) };
        for edge in [-4.0, 4.0] {
            fill_rect(&mut img, line(edge) - line_w / 2.0, y as f32, line_w, 1.0, paint);
        }
        // Dashed centre line: 3 m paint, 6 m gap.
        if z.rem_euclid(9.0) < 3.0 {
            let yellow = if night { Rgb([110, 100, 40]) } else { Rgb([230, 200, 40]) };
            fill_rect(&mut img, line(0.0) - line_w / 2.0, y as f32, line_w, 1.0, yellow);
        }
    }
    img
}

impl FrameSource for Simulator {
    fn name(&self) -> &str {
        &self.name
    }

    fn open(&mut self) -> Result<(), SourceError> {
        Ok(())
    }

    fn next_frame(&mut self) -> Result<Frame, SourceError> {
        let seq = self.seq;
        if self.config.max_frames.is_some_and(|max| seq >= max) {
            return Err(SourceError::EndOfStream);
        }
        let started = *self.started.get_or_insert_with(Instant::now);
        let due = started + Duration::from_secs_f64(seq as f64 / f64::from(self.config.fps));
        if self.config.realtime {
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        let (image, _) = self.render(seq);
        self.seq += 1;
        // Real time: stamp the actual capture; otherwise the frame's nominal time.
        let captured_at = if self.config.realtime { Instant::now() } else { due };
        Ok(Frame { image: Arc::new(image), captured_at, wall_time: SystemTime::now(), seq })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(seed: u64) -> SimulatorConfig {
        SimulatorConfig { width: 320, height: 180, fps: 15.0, seed, realtime: false, ..SimulatorConfig::default() }
    }

    #[test]
    fn the_same_seed_gives_the_same_frames() {
        let mut a = Simulator::new(small(4));
        let mut b = Simulator::new(small(4));
        for seq in [0, 5, 40] {
            assert_eq!(a.render(seq), b.render(seq));
        }
        let mut c = Simulator::new(small(5));
        assert_ne!(a.render(60).0, c.render(60).0);
    }

    #[test]
    fn vehicles_approach_grow_and_become_readable() {
        let mut sim = Simulator::new(SimulatorConfig { width: 640, height: 360, ..small(1) });
        let mut widths: BTreeMap<u64, Vec<f32>> = BTreeMap::new();
        for seq in 0..300 {
            let (_, truth) = sim.render(seq);
            for p in truth.plates {
                assert!(crate::render::plate::validate_text(&p.text).is_ok(), "{}", p.text);
                widths.entry(p.vehicle_id).or_default().push(p.bbox.w);
            }
        }
        assert!(widths.len() >= 5, "{} vehicles", widths.len());
        let vehicles = sim.truth().vehicles();
        let readable = vehicles.values().filter(|v| v.readable_frames > 0).count();
        assert!(readable >= 4, "{readable} readable of {}", vehicles.len());
        // Some plate grows by a factor of several over its pass.
        assert!(widths.values().any(|w| w.len() > 5 && w.iter().cloned().fold(0.0, f32::max) > 4.0 * w[0]));
    }

    #[test]
    fn listed_plates_are_shown() {
        let config = SimulatorConfig {
            plates: vec!["hot 123".into(), "X".into(), "TOOLONGPLATE9".into()],
            listed_share: 1.0,
            ..small(2)
        };
        let mut sim = Simulator::new(config);
        for seq in 0..60 {
            sim.render(seq);
        }
        let vehicles = sim.truth().vehicles();
        assert!(!vehicles.is_empty());
        assert!(vehicles.values().all(|v| v.text == "HOT123"));
    }

    #[test]
    fn truth_lookup_finds_the_vehicle_under_a_box() {
        let mut sim = Simulator::new(small(3));
        let truth = sim.truth();
        let mut found = None;
        for seq in 0..200 {
            let (_, t) = sim.render(seq);
            if let Some(p) = t.plates.iter().find(|p| p.readable) {
                found = Some((seq, p.clone()));
                break;
            }
        }
        let (seq, plate) = found.unwrap();
        assert_eq!(truth.vehicle_at(seq, &plate.bbox), Some(plate.vehicle_id));
        assert_eq!(truth.vehicle_at(seq, &BBox { x: -500.0, y: -500.0, w: 10.0, h: 5.0 }), None);
        assert_eq!(truth.frame(seq).map(|f| f.seq), Some(seq));
    }

    #[test]
    fn the_scorer_counts_correct_duplicate_and_false_reads() {
        let mut sim = Simulator::new(small(3));
        let mut scorer = SimScorer::new(sim.truth());
        let mut seen = BTreeMap::new();
        for seq in 0..300 {
            let (_, t) = sim.render(seq);
            for p in t.plates.iter().filter(|p| p.readable) {
                seen.entry(p.vehicle_id).or_insert((seq, p.clone()));
            }
        }
        // Truth is kept for the last few seconds only: score recent vehicles.
        let recent: Vec<(u64, TruthPlate)> = seen.into_values().filter(|(seq, _)| *seq >= 300 - 200).collect();
        assert!(recent.len() >= 2, "{}", recent.len());
        let (seq, first) = &recent[0];
        let (seq2, second) = &recent[1];
        let other_state = if second.state == "CA" { "TX" } else { "CA" };
        assert_eq!(scorer.observe(*seq, &first.bbox, &first.text, Some(&first.state)), Some((first.vehicle_id, true)));
        assert_eq!(scorer.observe(*seq, &first.bbox, "WRONG1", None), Some((first.vehicle_id, false)));
        assert_eq!(scorer.observe(*seq2, &second.bbox, "WRONG1", Some(other_state)), Some((second.vehicle_id, false)));
        assert_eq!(scorer.observe(*seq2, &BBox { x: -100.0, y: -100.0, w: 5.0, h: 2.0 }, "X", None), None);
        let score = scorer.score();
        assert_eq!((score.correct, score.duplicates, score.false_reads), (1, 1, 1));
        assert_eq!((score.state_correct, score.state_wrong), (1, 1), "an unknown state is neither");
        assert!(score.vehicles >= 2);
        // Every counted vehicle but the one read right is a miss, with what was read of it.
        let misses = scorer.misses();
        assert_eq!(misses.len() as u64, score.vehicles - 1);
        assert!(misses.iter().all(|m| m.vehicle != first.vehicle_id && m.readable_frames >= 3 && m.max_width_px > 0.0));
        let missed_second = misses.iter().find(|m| m.vehicle == second.vehicle_id).unwrap();
        assert_eq!(
            (missed_second.text.as_str(), missed_second.reads.as_slice()),
            (second.text.as_str(), ["WRONG1".to_owned()].as_slice())
        );
    }

    #[test]
    fn the_shutter_time_sets_the_smear() {
        // The same scene with the shutter open 1/250 s and a whole frame time: the plates'
        // detail (sum of horizontal differences) is lost to the longer exposure.
        let detail = |exposure_secs: f32| {
            let mut sim = Simulator::new(SimulatorConfig {
                width: 640,
                height: 360,
                exposure_secs,
                noise_sigma: 0.0,
                ..small(4)
            });
            let mut total = 0.0f64;
            for seq in 0..150 {
                let (img, truth) = sim.render(seq);
                for p in truth.plates.iter().filter(|p| p.readable) {
                    let (x0, y0) = (p.bbox.x as u32, p.bbox.y as u32);
                    for y in y0..y0 + p.bbox.h as u32 {
                        for x in x0 + 1..x0 + p.bbox.w as u32 {
                            total += f64::from(img.get_pixel(x, y).0[1].abs_diff(img.get_pixel(x - 1, y).0[1]));
                        }
                    }
                }
            }
            total
        };
        let (sharp, smeared) = (detail(DEFAULT_EXPOSURE_SECS), detail(1.0 / 15.0));
        assert!(sharp > 1.3 * smeared, "sharp {sharp}, smeared {smeared}");
    }

    #[test]
    fn night_frames_are_dark_with_bright_plates() {
        let mut sim = Simulator::new(SimulatorConfig { lighting: Lighting::NightIr, ..small(1) });
        let (img, _) = sim.render(100);
        let mean = img.pixels().map(|p| f32::from(p.0[1])).sum::<f32>() / (320.0 * 180.0);
        assert!(mean < 45.0, "{mean}");
    }

    #[test]
    fn random_plates_are_printable() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..200 {
            let p = random_plate(&mut rng);
            assert!(crate::render::plate::validate_text(&p).is_ok(), "{p}");
        }
    }

    #[test]
    fn frames_carry_consecutive_numbers_and_times() {
        let mut sim = Simulator::new(small(1));
        let a = sim.next_frame().unwrap();
        let b = sim.next_frame().unwrap();
        assert_eq!((a.seq, b.seq), (0, 1));
        assert!(b.captured_at > a.captured_at);
    }
}
