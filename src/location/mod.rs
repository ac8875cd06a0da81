//! Where the car is: GPS fixes from gpsd or an NMEA 0183 device, or the simulated patrol
//! route, kept as a short track so that each read is stamped with the position at its frame's
//! capture time (interpolated between fixes), and never with a fix older than the configured
//! age: beyond it a read says "no fix", not a stale place.
//!
//! California's ALPR law counts a read's coordinates as ALPR information: they are stored,
//! purged, exported and access-logged with the read (`store`, `reports`).

pub mod gpsd;
pub mod nmea;
pub mod sim;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One position: a GPS fix, or the position a read was stamped with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Fix {
    /// The fix's own time (for a stamp: the time of the newest fix it was taken from).
    pub time: DateTime<Utc>,
    /// Latitude, degrees north.
    pub lat: f64,
    /// Longitude, degrees east.
    pub lon: f64,
    /// Horizontal accuracy, metres, when the receiver says.
    pub accuracy_m: Option<f32>,
    /// Ground speed, metres per second.
    pub speed_mps: Option<f32>,
    /// Course over ground, degrees from true north.
    pub heading_deg: Option<f32>,
}

impl Fix {
    /// A bare fix at `lat`, `lon`.
    pub fn at(time: DateTime<Utc>, lat: f64, lon: f64) -> Self {
        Self { time, lat, lon, accuracy_m: None, speed_mps: None, heading_deg: None }
    }

    /// True for coordinates on Earth (and not the 0,0 of a receiver with no fix).
    pub fn is_plausible(&self) -> bool {
        self.lat.is_finite()
            && self.lon.is_finite()
            && (-90.0..=90.0).contains(&self.lat)
            && (-180.0..=180.0).contains(&self.lon)
            && !(self.lat == 0.0 && self.lon == 0.0)
    }

    /// Great-circle distance to `other`, metres.
    pub fn distance_m(&self, other: &Fix) -> f64 {
        distance_m((self.lat, self.lon), (other.lat, other.lon))
    }
}

/// Great-circle (haversine) distance between two points in degrees, metres.
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    const EARTH_RADIUS_M: f64 = 6_371_008.8;
    let (lat1, lat2) = (a.0.to_radians(), b.0.to_radians());
    let (dlat, dlon) = ((b.0 - a.0).to_radians(), (b.1 - a.1).to_radians());
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// A circle on the Earth: a search area.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Area {
    /// Centre latitude, degrees.
    pub lat: f64,
    /// Centre longitude, degrees.
    pub lon: f64,
    /// Radius, metres.
    pub radius_m: f64,
}

impl Area {
    /// True when `(lat, lon)` lies within the circle (great-circle distance).
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        distance_m((self.lat, self.lon), (lat, lon)) <= self.radius_m
    }

    /// A box of latitude and longitude ranges that holds the whole circle, for an index scan
    /// before the exact test: the latitude range, and one longitude range or two where the box
    /// crosses the antimeridian; every longitude where it reaches a pole.
    pub fn bounds(&self) -> ((f64, f64), Vec<(f64, f64)>) {
        const METRES_PER_DEGREE: f64 = 111_194.9;
        let dlat = self.radius_m / METRES_PER_DEGREE;
        let (south, north) = (self.lat - dlat, self.lat + dlat);
        if south <= -90.0 || north >= 90.0 {
            return ((south.max(-90.0), north.min(90.0)), vec![(-180.0, 180.0)]);
        }
        // The widest the circle gets in longitude is at the latitude nearest a pole.
        let widest = self.lat.abs() + dlat;
        let dlon = (dlat / widest.to_radians().cos()).min(180.0);
        let (west, east) = (self.lon - dlon, self.lon + dlon);
        let lons = if dlon >= 180.0 {
            vec![(-180.0, 180.0)]
        } else if west < -180.0 {
            vec![(west + 360.0, 180.0), (-180.0, east)]
        } else if east > 180.0 {
            vec![(west, 180.0), (-180.0, east - 360.0)]
        } else {
            vec![(west, east)]
        };
        ((south, north), lons)
    }
}

/// The position a read is stamped with, and how old the newest fix behind it was.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stamp {
    /// The position at the read's time.
    pub fix: Fix,
    /// Milliseconds from the newest fix used to the read's time (0 or more).
    pub fix_age_ms: i64,
}

/// The recent fixes, oldest first.
#[derive(Debug, Default)]
pub struct Track {
    fixes: VecDeque<Fix>,
}

/// Fixes kept: a few minutes at 1 Hz, more than any read waits.
const TRACK_KEPT: usize = 300;

impl Track {
    /// Adds a fix; an implausible one, or one older than the newest, is dropped.
    pub fn push(&mut self, fix: Fix) -> bool {
        if !fix.is_plausible() || self.fixes.back().is_some_and(|last| fix.time <= last.time) {
            return false;
        }
        self.fixes.push_back(fix);
        while self.fixes.len() > TRACK_KEPT {
            self.fixes.pop_front();
        }
        true
    }

    /// Adds a fix, or completes the newest one when it is of the same instant (GGA and RMC
    /// of one second): what either sentence lacks, the other gives.
    pub fn merge(&mut self, fix: Fix) -> bool {
        if let Some(last) = self.fixes.back_mut()
            && last.time == fix.time
            && fix.is_plausible()
        {
            last.accuracy_m = last.accuracy_m.or(fix.accuracy_m);
            last.speed_mps = last.speed_mps.or(fix.speed_mps);
            last.heading_deg = last.heading_deg.or(fix.heading_deg);
            return true;
        }
        self.push(fix)
    }

    /// The newest fix.
    pub fn latest(&self) -> Option<&Fix> {
        self.fixes.back()
    }

    /// The position at `time`: between two fixes, interpolated along the line between them;
    /// after the newest, that fix's position while it is at most `max_age_ms` old; `None`
    /// beyond (no fix, never a stale place), or before the oldest fix kept.
    pub fn at(&self, time: DateTime<Utc>, max_age_ms: i64) -> Option<Stamp> {
        let after = self.fixes.iter().position(|f| f.time >= time);
        match after {
            Some(0) => {
                let first = self.fixes[0];
                (first.time == time).then_some(Stamp { fix: first, fix_age_ms: 0 })
            }
            Some(i) => {
                let (a, b) = (self.fixes[i - 1], self.fixes[i]);
                let age = (time - a.time).num_milliseconds();
                // A gap longer than the age limit is no track: the receiver had lost its fix.
                if (b.time - a.time).num_milliseconds() > max_age_ms.saturating_mul(2) && age > max_age_ms {
                    return None;
                }
                let span = (b.time - a.time).num_milliseconds().max(1) as f64;
                let t = age as f64 / span;
                let mix = |x: f64, y: f64| x + (y - x) * t;
                let fix = Fix {
                    time: a.time,
                    lat: mix(a.lat, b.lat),
                    lon: mix(a.lon, b.lon),
                    // The worse of the two: an interpolated place is no better than either end.
                    accuracy_m: match (a.accuracy_m, b.accuracy_m) {
                        (Some(x), Some(y)) => Some(x.max(y)),
                        (x, y) => x.or(y),
                    },
                    speed_mps: a.speed_mps.zip(b.speed_mps).map(|(x, y)| x + (y - x) * t as f32).or(a.speed_mps),
                    heading_deg: if t < 0.5 {
                        a.heading_deg.or(b.heading_deg)
                    } else {
                        b.heading_deg.or(a.heading_deg)
                    },
                };
                Some(Stamp { fix, fix_age_ms: age })
            }
            None => {
                let last = *self.fixes.back()?;
                let age = (time - last.time).num_milliseconds();
                (age <= max_age_ms).then_some(Stamp { fix: last, fix_age_ms: age })
            }
        }
    }
}

/// A receiver's state, for the status bar.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Health {
    /// The source, in words ("gpsd localhost:2947", "NMEA /dev/ttyUSB0", "simulated route").
    pub source: String,
    /// Connected to gpsd or the device.
    pub connected: bool,
    /// The newest fix.
    pub latest: Option<Fix>,
    /// Satellites used in the newest fix, when known.
    pub satellites: Option<u8>,
    /// Sentences or reports that could not be used (bad checksum, garbage, impossible
    /// coordinates), skipped and counted.
    pub bad: u64,
    /// The last connection problem, if any.
    pub problem: Option<String>,
}

/// What the receivers write and the matcher reads.
#[derive(Debug, Default)]
pub struct Shared {
    /// The track.
    pub track: Track,
    /// The receiver's state.
    pub health: Health,
}

/// The shared track and health, locked briefly by the receiver thread and the readers.
pub type SharedTrack = Arc<Mutex<Shared>>;

/// Where positions come from, as the settings file names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSetting {
    /// No position: reads say "no fix".
    None,
    /// The simulated patrol route (demo, simulator).
    Simulated,
    /// gpsd's JSON protocol at host:port.
    Gpsd(String),
    /// NMEA 0183 sentences from a serial device or a file.
    Nmea(std::path::PathBuf),
}

impl std::str::FromStr for SourceSetting {
    type Err = String;

    /// `none`, `sim`, `gpsd` (localhost:2947), `gpsd:HOST:PORT`, `nmea:PATH`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "none" => Ok(Self::None),
            "sim" | "simulated" => Ok(Self::Simulated),
            "gpsd" => Ok(Self::Gpsd("localhost:2947".into())),
            other => match other.split_once(':') {
                Some(("gpsd", addr)) if !addr.is_empty() => Ok(Self::Gpsd(addr.to_owned())),
                Some(("nmea", path)) if !path.is_empty() => Ok(Self::Nmea(path.into())),
                _ => Err(format!("{other:?}: give none, sim, gpsd, gpsd:HOST:PORT or nmea:PATH")),
            },
        }
    }
}

/// A source of positions: the simulated route, or a receiver's track (gpsd, NMEA).
pub trait PositionSource: Send + Sync {
    /// The position at `time`, or `None` (no fix within `max_age_ms`).
    fn at(&self, time: DateTime<Utc>, max_age_ms: i64) -> Option<Stamp>;
    /// The source's state now.
    fn health(&self) -> Health;
}

impl PositionSource for sim::Route {
    fn at(&self, time: DateTime<Utc>, _max_age_ms: i64) -> Option<Stamp> {
        Some(Stamp { fix: sim::Route::at(self, time), fix_age_ms: 0 })
    }

    fn health(&self) -> Health {
        Health {
            source: "simulated route".into(),
            connected: true,
            latest: Some(sim::Route::at(self, Utc::now())),
            satellites: Some(9),
            ..Health::default()
        }
    }
}

/// A receiver's thread (gpsd, NMEA): named, told to stop and joined when dropped.
pub struct ReceiverThread {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl ReceiverThread {
    /// Runs `work` on a thread called `name`; `work` returns once the flag it is given is set.
    pub fn spawn(name: &str, work: impl FnOnce(&AtomicBool) + Send + 'static) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::Builder::new().name(name.to_owned()).spawn(move || work(&flag))?;
        Ok(Self { stop, handle: Some(handle) })
    }
}

impl Drop for ReceiverThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take()
            && handle.join().is_err()
        {
            tracing::error!("a GPS receiver thread panicked");
        }
    }
}

/// A receiver thread (gpsd or NMEA) and the track it fills; the thread stops with it.
struct Receiver {
    shared: SharedTrack,
    _worker: ReceiverThread,
}

impl PositionSource for Receiver {
    fn at(&self, time: DateTime<Utc>, max_age_ms: i64) -> Option<Stamp> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner).track.at(time, max_age_ms)
    }

    fn health(&self) -> Health {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner).health.clone()
    }
}

/// No position source configured.
struct NoSource;

impl PositionSource for NoSource {
    fn at(&self, _time: DateTime<Utc>, _max_age_ms: i64) -> Option<Stamp> {
        None
    }

    fn health(&self) -> Health {
        Health { source: "no GPS configured".into(), ..Health::default() }
    }
}

/// The running position source the settings name, with its age limit: stamps reads and
/// reports its health. Receiver threads stop and join when it is dropped.
pub struct Locator {
    source: Box<dyn PositionSource>,
    max_age_ms: i64,
}

impl std::fmt::Debug for Locator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Locator").field("health", &self.health()).finish()
    }
}

impl Locator {
    /// Starts the source the setting names; a fix older than `max_age_ms` is no fix.
    pub fn start(setting: &SourceSetting, max_age_ms: i64) -> std::io::Result<Self> {
        let source: Box<dyn PositionSource> = match setting {
            SourceSetting::None => Box::new(NoSource),
            SourceSetting::Simulated => Box::new(sim::Route::port()),
            SourceSetting::Gpsd(addr) => {
                let shared = SharedTrack::default();
                let worker = gpsd::start(addr, Arc::clone(&shared))?;
                Box::new(Receiver { shared, _worker: worker })
            }
            SourceSetting::Nmea(path) => {
                let shared = SharedTrack::default();
                let worker = nmea::start(path, Arc::clone(&shared))?;
                Box::new(Receiver { shared, _worker: worker })
            }
        };
        Ok(Self::with_source(source, max_age_ms))
    }

    /// A locator over any source (tests, other receivers).
    pub fn with_source(source: Box<dyn PositionSource>, max_age_ms: i64) -> Self {
        Self { source, max_age_ms }
    }

    /// The position at `time`, or `None` (no fix within the age limit).
    pub fn at(&self, time: DateTime<Utc>) -> Option<Stamp> {
        self.source.at(time, self.max_age_ms)
    }

    /// The source's state now.
    pub fn health(&self) -> Health {
        self.source.health()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp_millis(1_800_000_000_000 + ms).unwrap_or_default()
    }

    #[test]
    fn a_read_between_fixes_is_interpolated_and_a_stale_fix_is_no_fix() {
        let mut track = Track::default();
        assert!(track.at(t(0), 2_000).is_none(), "no fix yet");
        assert!(track.push(Fix { speed_mps: Some(10.0), ..Fix::at(t(0), 33.75, -118.20) }));
        assert!(track.push(Fix { speed_mps: Some(12.0), ..Fix::at(t(1_000), 33.76, -118.22) }));
        assert!(!track.push(Fix::at(t(500), 33.0, -118.0)), "older than the newest: dropped");
        assert!(!track.push(Fix::at(t(2_000), 0.0, 0.0)), "0,0 is no fix");
        assert!(!track.push(Fix::at(t(2_000), 91.0, 0.0)), "impossible latitude");
        let mid = track.at(t(250), 2_000).unwrap();
        assert!((mid.fix.lat - 33.7525).abs() < 1e-9 && (mid.fix.lon + 118.205).abs() < 1e-9, "{mid:?}");
        assert_eq!(mid.fix_age_ms, 250);
        assert!((mid.fix.speed_mps.unwrap() - 10.5).abs() < 1e-6);
        // After the newest fix: its position while young enough, then no fix.
        assert_eq!(track.at(t(2_900), 2_000).unwrap().fix_age_ms, 1_900);
        assert!(track.at(t(3_100), 2_000).is_none());
        // Before the oldest fix kept: nothing to say.
        assert!(track.at(t(-10), 2_000).is_none());
    }

    #[test]
    fn distances_are_great_circle_metres() {
        // One degree of latitude is about 111.2 km anywhere.
        assert!((distance_m((33.0, -118.0), (34.0, -118.0)) - 111_195.0).abs() < 50.0);
        // Across the antimeridian the short way round.
        assert!(distance_m((0.0, 179.999), (0.0, -179.999)) < 300.0);
        // Near the pole, meridians converge.
        assert!(distance_m((89.999, 0.0), (89.999, 180.0)) < 300.0);
    }

    /// The box never leaves out a point of the circle, across the antimeridian and near the
    /// poles too.
    #[test]
    fn an_area_box_holds_its_whole_circle() {
        let areas = [
            Area { lat: 33.76, lon: -118.2, radius_m: 500.0 },
            Area { lat: 0.0, lon: 179.999, radius_m: 2_000.0 },
            Area { lat: -10.0, lon: -179.99, radius_m: 5_000.0 },
            Area { lat: 89.99, lon: 40.0, radius_m: 3_000.0 },
            Area { lat: -89.5, lon: 0.0, radius_m: 100_000.0 },
        ];
        for area in areas {
            let ((south, north), lons) = area.bounds();
            for i in 0..720 {
                // Points on the circle's edge, 0.5 degrees apart.
                let bearing = f64::from(i) * 0.5;
                let (lat, lon) = destination((area.lat, area.lon), bearing, area.radius_m * 0.999);
                assert!(area.contains(lat, lon), "{area:?} {lat} {lon}");
                assert!((south..=north).contains(&lat), "{area:?}: latitude {lat} outside {south}..{north}");
                assert!(
                    lons.iter().any(|(w, e)| (*w..=*e).contains(&lon)),
                    "{area:?}: longitude {lon} outside {lons:?}"
                );
            }
        }
        assert!(!Area { lat: 33.76, lon: -118.2, radius_m: 500.0 }.contains(33.77, -118.2), "1.1 km away");
    }

    /// The point `metres` from `from` on `bearing` (degrees).
    fn destination(from: (f64, f64), bearing: f64, metres: f64) -> (f64, f64) {
        let d = metres / 6_371_008.8;
        let (lat1, lon1, b) = (from.0.to_radians(), from.1.to_radians(), bearing.to_radians());
        let lat2 = (lat1.sin() * d.cos() + lat1.cos() * d.sin() * b.cos()).asin();
        let lon2 = lon1 + (b.sin() * d.sin() * lat1.cos()).atan2(d.cos() - lat1.sin() * lat2.sin());
        (lat2.to_degrees(), (lon2.to_degrees() + 540.0).rem_euclid(360.0) - 180.0)
    }

    #[test]
    fn source_settings_parse_or_say_what_is_wrong() {
        assert_eq!("gpsd".parse::<SourceSetting>().unwrap(), SourceSetting::Gpsd("localhost:2947".into()));
        assert_eq!("gpsd:10.0.0.2:2948".parse::<SourceSetting>().unwrap(), SourceSetting::Gpsd("10.0.0.2:2948".into()));
        assert_eq!("nmea:/dev/ttyUSB0".parse::<SourceSetting>().unwrap(), SourceSetting::Nmea("/dev/ttyUSB0".into()));
        assert_eq!("sim".parse::<SourceSetting>().unwrap(), SourceSetting::Simulated);
        assert!("serial".parse::<SourceSetting>().unwrap_err().contains("gpsd:HOST:PORT"));
    }
}
