//! Settings and the places the program keeps its data: the `--data-dir` / `--config` rules.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Errors while locating or reading the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file exists but could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file that failed.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The config file is not valid TOML for [`Config`].
    #[error("invalid config file {path}: {source}")]
    Parse {
        /// The file that failed.
        path: PathBuf,
        /// What was wrong with it.
        source: Box<toml::de::Error>,
    },
    /// A setting is out of its range: refused rather than clamped, so a file that asks for
    /// no lockout or no reading at all never runs as if it had.
    #[error("invalid config file {path}: {key} = {value}: {reason}")]
    Invalid {
        /// The file that failed.
        path: PathBuf,
        /// The setting, as `section.key`.
        key: &'static str,
        /// The value given.
        value: String,
        /// The range it must lie in.
        reason: &'static str,
    },
    /// No home directory, so no default location can be derived.
    #[error("no home directory: pass --data-dir and --config explicitly")]
    NoHome,
}

/// Where this run keeps its data and reads its settings, resolved once at start-up.
#[derive(Debug, Clone)]
pub struct AppPaths {
    /// Database, hot-list cache, crops, logs.
    pub data_dir: PathBuf,
    /// The TOML settings file (it need not exist: defaults apply).
    pub config_file: PathBuf,
    /// The data dir was named (option or environment), not the platform default.
    pub data_dir_explicit: bool,
}

impl AppPaths {
    /// Resolves the paths: explicit options win, then `PATROL_ALPR_DATA_DIR` /
    /// `PATROL_ALPR_CONFIG`, then the platform's data and config directories.
    pub fn resolve(data_dir: Option<&Path>, config: Option<&Path>) -> Result<Self, ConfigError> {
        let env_path = |name: &str| std::env::var_os(name).map(PathBuf::from);
        let dirs = || directories::ProjectDirs::from("us", "patrol-alpr", "patrol-alpr");
        let named = data_dir.map(Path::to_path_buf).or_else(|| env_path("PATROL_ALPR_DATA_DIR"));
        let data_dir_explicit = named.is_some();
        let data_dir = match named {
            Some(dir) => dir,
            None => dirs().ok_or(ConfigError::NoHome)?.data_dir().to_path_buf(),
        };
        let config_file = match config.map(Path::to_path_buf).or_else(|| env_path("PATROL_ALPR_CONFIG")) {
            Some(file) => file,
            None => dirs().ok_or(ConfigError::NoHome)?.config_dir().join("config.toml"),
        };
        Ok(Self { data_dir, config_file, data_dir_explicit })
    }
}

/// All settings. Every section has defaults, so an empty or missing file is a valid config.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Plate recognition.
    pub recognizer: RecognizerConfig,
    /// Cameras, the simulator and the recognition pipeline.
    pub cameras: CamerasConfig,
    /// Hot lists: update sources and key, matching, manual entries.
    pub hotlist: crate::hotlist::HotlistConfig,
    /// Storage, encryption key, retention and account rules.
    pub store: StoreConfig,
    /// The agency that runs the system (recorded as the organization in the audit log).
    pub agency: AgencyConfig,
    /// The `[console]` section.
    pub console: ConsoleConfig,
    /// Where the car's position comes from.
    pub location: LocationConfig,
    /// The fleet back office (store and forward, account pull).
    pub fleet: FleetConfig,
}

/// The `[fleet]` settings: how the car reaches its office. Which office and which car are
/// the database's, set by an administrator with `fleet join` (PIN, audited): an edit of this
/// file cannot send the car's records anywhere else. Nothing here and no join: the car
/// works alone.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct FleetConfig {
    /// The car's credentials file from `fleet enroll-car` (outside the data dir).
    pub credentials: Option<PathBuf>,
    /// Seconds between sync rounds while connected (the outbox is also sent at once after
    /// log-on and each hit).
    pub sync_interval_seconds: u32,
}

impl Default for FleetConfig {
    fn default() -> Self {
        Self { credentials: None, sync_interval_seconds: 10 }
    }
}

impl Config {
    /// Loads the config file; a missing file yields the defaults.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => return Err(ConfigError::Read { path: path.to_path_buf(), source }),
        };
        let config: Self = toml::from_str(&text)
            .map_err(|source| ConfigError::Parse { path: path.to_path_buf(), source: Box::new(source) })?;
        config.validate(path)?;
        Ok(config)
    }

    /// Refuses settings outside the ranges the program works in.
    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let r = &self.recognizer;
        let share = |x: f32| (0.0..=1.0).contains(&x);
        let quiet = self.console.realarm_quiet_minutes;
        let age = self.location.max_fix_age_ms;
        // A bad pixel format used to fall back to "any" silently: the camera then chose.
        if self.cameras.pixel_format.parse::<crate::camera::live::PixelFormat>().is_err() {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                key: "cameras.pixel_format",
                value: self.cameras.pixel_format.clone(),
                reason: "mjpeg, yuyv or any",
            });
        }
        if self.location.setting(false).is_err() {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                key: "location.source",
                value: self.location.source.clone(),
                reason: "auto, none, sim, gpsd, gpsd:HOST:PORT or nmea:PATH",
            });
        }
        let interval = self.fleet.sync_interval_seconds;
        let checks: [(&'static str, String, bool, &'static str); 12] = [
            ("location.max_fix_age_ms", age.to_string(), (100..=60_000).contains(&age), "100 to 60000"),
            ("fleet.sync_interval_seconds", interval.to_string(), (1..=3600).contains(&interval), "1 to 3600"),
            ("console.realarm_quiet_minutes", quiet.to_string(), quiet <= 24 * 60, "0 to 1440"),
            (
                "store.lockout_failures",
                self.store.lockout_failures.to_string(),
                self.store.lockout_failures >= 1,
                "at least 1",
            ),
            ("recognizer.read_views", r.read_views.to_string(), (1..=5).contains(&r.read_views), "1 to 5"),
            ("recognizer.slot_views", r.slot_views.to_string(), (1..=3).contains(&r.slot_views), "1 to 3"),
            (
                "recognizer.video_slot_views",
                r.video_slot_views.to_string(),
                (1..=3).contains(&r.video_slot_views),
                "1 to 3",
            ),
            ("recognizer.min_confidence", r.min_confidence.to_string(), share(r.min_confidence), "0 to 1"),
            ("recognizer.detector_threshold", r.detector_threshold.to_string(), share(r.detector_threshold), "0 to 1"),
            (
                "recognizer.second_opinion_below",
                r.second_opinion_below.to_string(),
                share(r.second_opinion_below),
                "0 to 1",
            ),
            ("recognizer.coarse_accept", r.coarse_accept.to_string(), share(r.coarse_accept), "0 to 1"),
            (
                "recognizer.state_min_confidence",
                r.state_min_confidence.to_string(),
                share(r.state_min_confidence),
                "0 to 1",
            ),
        ];
        match checks.into_iter().find(|(_, _, ok, _)| !ok) {
            Some((key, value, _, reason)) => Err(ConfigError::Invalid { path: path.to_path_buf(), key, value, reason }),
            None => Ok(()),
        }
    }
}

/// The state classifier's default confidence floor, chosen on the choosing half of the
/// held-out US crops (docs/recognition.md, "Plate state").
pub const STATE_MIN_CONFIDENCE: f32 = 0.3;

/// Settings of the plate recognizer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RecognizerConfig {
    /// Folder holding the ONNX models; relative paths are taken from the working directory,
    /// then from the folder of the executable's crate (`models/` of a source checkout).
    pub models_dir: Option<PathBuf>,
    /// Long side, in pixels, of the image the plate detector sees.
    pub detector_long_side: u32,
    /// Long side of the detector's input for camera frames. Smaller than for photos: a
    /// vehicle is seen in many frames and is read as it comes close, and the pipeline must
    /// keep up with the camera.
    pub video_long_side: u32,
    /// Camera frames: the whole frame is searched for new plates at most this often; frames
    /// in between search only around the plates already seen (`recognize::video`).
    pub video_search_interval_millis: u64,
    /// Photos are first searched at this long side (0: off); when that finds a plate read
    /// at least `coarse_accept` sure, the full-size search is skipped. Most photos hold one
    /// near plate, so this halves the typical time; far plates still get the full search.
    pub coarse_long_side: u32,
    /// See `coarse_long_side`.
    pub coarse_accept: f32,
    /// A detection much flatter than a US plate that reads as no plate (or under 0.5 sure) is read again framed
    /// as the whole 2:1 plate around it (the detector sometimes frames only the band of
    /// characters; docs/recognition.md, "Eighth session").
    pub whole_plate_retry: bool,
    /// Detector score threshold. Low on purpose: the recognizer rejects what is not a plate.
    pub detector_threshold: f32,
    /// A detection is reported as a plate only when the recognizer is at least this sure it
    /// holds text (see `recognize::ocr::TextRead::text_probability`).
    pub min_confidence: f32,
    /// Crops of each detected plate, with different margins, read and voted as one (1-5),
    /// about 3 ms each; views past the third are read only when the first three leave the
    /// reading unsure.
    pub read_views: usize,
    /// Which plate-text readers read a plate, and how their readings are combined
    /// (`recognize::ReaderMode`). The CTC reader always decides what is a plate.
    pub reader: crate::recognize::ReaderMode,
    /// Crops of each plate the slot reader (CCT-XS) reads and averages (1-3): it costs about
    /// 10 ms a crop, so fewer than the CTC reader's.
    pub slot_views: usize,
    /// `slot_views` for camera frames: a plate is read in many frames and the tracker votes
    /// over them, so one crop each keeps the pipeline at the camera's rate.
    pub video_slot_views: usize,
    /// `second-opinion` mode: the slot reader is asked when the CTC reading is less sure than
    /// this.
    pub second_opinion_below: f32,
    /// Plate-format rules applied to every reading (`recognize::region`): `none` (default)
    /// reads every character as the networks see it; `us` reads the letter O as the digit 0,
    /// for fleets whose plates come from states that do not issue the letter O.
    pub region: crate::recognize::region::Region,
    /// Read each plate's issuing state (`recognize::state`; needs `plate_state.onnx`).
    pub read_state: bool,
    /// The state classifier names a state only when at least this sure of it; below, the
    /// state is "unknown" and a hit says "state not read: verify the state".
    pub state_min_confidence: f32,
}

impl Default for RecognizerConfig {
    fn default() -> Self {
        Self {
            models_dir: None,
            detector_long_side: 832,
            video_long_side: 832,
            video_search_interval_millis: 100,
            coarse_long_side: 512,
            coarse_accept: 0.7,
            whole_plate_retry: true,
            detector_threshold: 0.05,
            min_confidence: 0.5,
            // Chosen on crops-val and eu-val (docs/recognition.md, "Seventh session"): 3, 4
            // and 5 views read the same plates there, and 3 costs least.
            read_views: 3,
            reader: crate::recognize::ReaderMode::SecondOpinion,
            slot_views: 2,
            video_slot_views: 1,
            second_opinion_below: 0.9,
            region: crate::recognize::region::Region::None,
            read_state: true,
            state_min_confidence: STATE_MIN_CONFIDENCE,
        }
    }
}

/// Settings of the database, its key, retention and account controls.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// File holding the passphrase the database key is derived from. It must live outside
    /// the data dir (a TPM-unsealed or removable location); `PATROL_ALPR_DB_KEY` wins over it.
    pub key_file: Option<PathBuf>,
    /// Use a generated per-data-dir key stored beside the data. NOT SECURE: demos and tests only.
    pub demo_key: bool,
    /// Days stored reads are kept before the purge deletes them.
    pub retention_days: u32,
    /// Allows a retention period under the one-year statutory floor (Gov. Code 34090.6).
    pub allow_short_retention: bool,
    /// Accounts with no log-on for this many days are suspended (0 turns it off).
    pub inactive_suspend_days: u32,
    /// Consecutive wrong PINs that lock an account.
    pub lockout_failures: u32,
    /// Minutes without input after which the console locks and asks for the PIN again.
    pub idle_lock_minutes: u32,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            key_file: None,
            demo_key: false,
            retention_days: 365,
            allow_short_retention: false,
            inactive_suspend_days: 90,
            lockout_failures: 5,
            idle_lock_minutes: 15,
        }
    }
}

/// The agency running the system.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AgencyConfig {
    /// The organization name written in every audit record.
    pub name: String,
    /// The agency's ORI (originating agency identifier).
    pub ori: String,
}

impl Default for AgencyConfig {
    fn default() -> Self {
        Self { name: "Port Police Department".to_owned(), ori: "CA0000000".to_owned() }
    }
}

/// Settings of the cameras, the traffic simulator and the recognition pipeline.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CamerasConfig {
    /// Sources to run: `auto` (first camera, else the simulator), `sim`, `replay:PATH`,
    /// `camera:INDEX|NAME|PATH`; a patrol car carries 2-4 cameras.
    pub sources: Vec<String>,
    /// Requested frame width.
    pub width: u32,
    /// Requested frame height.
    pub height: u32,
    /// Requested frames per second.
    pub fps: f32,
    /// Pixel format asked of live cameras: `mjpeg`, `yuyv` or `any`.
    pub pixel_format: String,
    /// Recognition workers; none means one per CPU core.
    pub workers: Option<usize>,
    /// Simulator seed.
    pub simulator_seed: u64,
    /// Plates the simulator shows (mixed with random ones), e.g. from the demo hot list.
    pub simulator_plates: Vec<String>,
    /// Simulate night with an infrared camera.
    pub simulator_night: bool,
}

impl Default for CamerasConfig {
    fn default() -> Self {
        Self {
            sources: vec!["auto".into()],
            width: 1280,
            height: 720,
            fps: 30.0,
            pixel_format: "mjpeg".into(),
            workers: None,
            simulator_seed: 1,
            simulator_plates: Vec::new(),
            simulator_night: false,
        }
    }
}

/// The `[location]` settings: the GPS.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LocationConfig {
    /// `auto` (the simulated route with the demo or the simulator camera, else gpsd on
    /// localhost:2947), `none`, `sim`, `gpsd`, `gpsd:HOST:PORT` or `nmea:PATH` (a serial
    /// device or a recorded file).
    pub source: String,
    /// A read more than this many milliseconds after the newest fix says "no fix" rather than
    /// a stale place.
    pub max_fix_age_ms: u32,
}

impl Default for LocationConfig {
    fn default() -> Self {
        Self { source: "auto".into(), max_fix_age_ms: 3000 }
    }
}

impl LocationConfig {
    /// The source to start: `auto` resolved with whether the cameras are simulated (or the
    /// console runs the demo).
    pub fn setting(&self, simulated: bool) -> Result<crate::location::SourceSetting, String> {
        match self.source.trim() {
            "auto" if simulated => Ok(crate::location::SourceSetting::Simulated),
            "auto" => Ok(crate::location::SourceSetting::Gpsd("localhost:2947".into())),
            other => other.parse().map_err(|e| format!("[location] source: {e}")),
        }
    }
}

/// The `[console]` settings: how the officer console looks and sounds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleConfig {
    /// `auto` (night palette from 19:00 to 07:00), `day` or `night`.
    pub theme: String,
    /// Alert volume, 0-1.
    pub volume: f32,
    /// Full screen without window decorations (the in-car kiosk).
    pub kiosk: bool,
    /// Window size when not in kiosk mode: 1280x800, 1024x768 and 1920x1080 are laid out for.
    pub width: u32,
    /// Window height.
    pub height: u32,
    /// Minutes after a hit is decided (rejected or closed) during which the same plate on
    /// the same entry does not alarm again; a repeat read is recorded and shown on the hit.
    /// 0 alarms again at once. At most 24 hours.
    pub realarm_quiet_minutes: u32,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self { theme: "auto".into(), volume: 0.8, kiosk: false, width: 1280, height: 800, realarm_quiet_minutes: 30 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_paths_win() {
        let paths = AppPaths::resolve(Some(Path::new("/tmp/d")), Some(Path::new("/tmp/c.toml"))).unwrap();
        assert_eq!(paths.data_dir, PathBuf::from("/tmp/d"));
        assert_eq!(paths.config_file, PathBuf::from("/tmp/c.toml"));
    }

    #[test]
    fn missing_file_is_defaults_and_bad_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Config::load(&dir.path().join("none.toml")).unwrap(), Config::default());
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "[recognizer]\nnot_a_key = 1\n").unwrap();
        let err = Config::load(&bad).unwrap_err().to_string();
        assert!(err.contains("bad.toml"), "{err}");
    }

    #[test]
    fn settings_out_of_range_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        for (text, key) in [
            ("[store]\nlockout_failures = 0\n", "store.lockout_failures = 0: at least 1"),
            ("[recognizer]\nread_views = 0\n", "recognizer.read_views = 0: 1 to 5"),
            ("[recognizer]\nslot_views = 4\n", "recognizer.slot_views = 4: 1 to 3"),
            ("[recognizer]\nmin_confidence = 1.5\n", "recognizer.min_confidence = 1.5: 0 to 1"),
            ("[cameras]\npixel_format = \"h264\"\n", "cameras.pixel_format = h264: mjpeg, yuyv or any"),
            ("[location]\nsource = \"serial\"\n", "location.source = serial"),
            ("[location]\nmax_fix_age_ms = 5\n", "location.max_fix_age_ms = 5: 100 to 60000"),
            ("[console]\nrealarm_quiet_minutes = 5000\n", "console.realarm_quiet_minutes = 5000: 0 to 1440"),
        ] {
            std::fs::write(&file, text).unwrap();
            let err = Config::load(&file).unwrap_err().to_string();
            assert!(err.contains("c.toml") && err.contains(key), "{err}");
        }
        // The defaults are in range.
        assert!(Config::default().validate(&file).is_ok());
    }

    #[test]
    fn partial_file_keeps_other_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "[recognizer]\nmin_confidence = 0.7\n").unwrap();
        let config = Config::load(&file).unwrap();
        assert_eq!(config.recognizer.min_confidence, 0.7);
        assert_eq!(config.recognizer.detector_long_side, RecognizerConfig::default().detector_long_side);
    }
}
