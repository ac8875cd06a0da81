//! Turns source specifications (`auto`, `sim`, `replay:...`, `camera:...`) into frame sources,
//! the same way for the console and the headless `run` command.

use super::live::{LiveCamera, LiveConfig, PixelFormat, list_cameras};
use super::replay::{Replay, ReplayConfig};
use super::simulator::{Lighting, SimTruth, Simulator, SimulatorConfig};
use super::{CaptureFormat, FrameSource, SourceSpec};
use crate::config::CamerasConfig;

/// How to open the sources.
#[derive(Debug, Clone)]
pub struct SourceOptions<'a> {
    /// The `[cameras]` settings (simulator seed, plates, night).
    pub settings: &'a CamerasConfig,
    /// Requested size and rate.
    pub format: CaptureFormat,
    /// Pixel format asked of live cameras.
    pub pixel_format: PixelFormat,
    /// Replays start again at the end.
    pub looping: bool,
    /// Simulator seed (default: the settings').
    pub seed: Option<u64>,
    /// Simulator at night with an infrared camera.
    pub night: bool,
    /// Plates the simulator shows besides the settings' ones.
    pub extra_plates: &'a [String],
}

/// The sources the `[cameras] sources` setting names.
pub fn configured_sources(settings: &CamerasConfig) -> Result<Vec<SourceSpec>, String> {
    settings.sources.iter().map(|s| s.parse::<SourceSpec>()).collect()
}

/// The opened sources, and the first simulator's ground truth for scoring.
pub struct OpenedSources {
    /// One per spec, in order.
    pub sources: Vec<Box<dyn FrameSource>>,
    /// Ground truth of the first simulator, when there is one.
    pub sim_truth: Option<SimTruth>,
    /// Every source is the simulator: its plates are made up, so reading them is not ALPR
    /// collection (a camera or a recording is).
    pub synthetic: bool,
}

/// Makes a source for each spec. `auto` becomes the first camera found, or the simulator when
/// there is none (demo, tests, a car whose camera is missing: the checklist says so).
pub fn open_sources(specs: &[SourceSpec], options: &SourceOptions<'_>) -> OpenedSources {
    let settings = options.settings;
    let mut opened = OpenedSources { sources: Vec::new(), sim_truth: None, synthetic: true };
    for spec in specs {
        let spec = match spec {
            SourceSpec::Auto => match list_cameras() {
                Ok(cameras) if !cameras.is_empty() => SourceSpec::Camera(cameras[0].index.clone()),
                _ => {
                    tracing::info!("no camera found: using the traffic simulator");
                    SourceSpec::Simulator
                }
            },
            other => other.clone(),
        };
        opened.synthetic &= matches!(spec, SourceSpec::Simulator | SourceSpec::Auto);
        let source: Box<dyn FrameSource> = match spec {
            // `auto` was resolved above; it can only mean the simulator here.
            SourceSpec::Simulator | SourceSpec::Auto => {
                let mut plates = settings.simulator_plates.clone();
                plates.extend(options.extra_plates.iter().cloned());
                let sim = Simulator::new(SimulatorConfig {
                    width: options.format.width,
                    height: options.format.height,
                    fps: options.format.fps,
                    seed: options.seed.unwrap_or(settings.simulator_seed) + opened.sources.len() as u64,
                    lighting: if options.night || settings.simulator_night { Lighting::NightIr } else { Lighting::Day },
                    plates,
                    ..SimulatorConfig::default()
                });
                // The first simulator's reads are scored against its truth.
                opened.sim_truth.get_or_insert_with(|| sim.truth());
                Box::new(sim)
            }
            SourceSpec::Replay(path) => Box::new(Replay::new(ReplayConfig {
                path,
                fps: options.format.fps,
                looping: options.looping,
                realtime: true,
            })),
            SourceSpec::Camera(device) => Box::new(LiveCamera::new(LiveConfig {
                device,
                format: options.format,
                pixel_format: options.pixel_format,
            })),
        };
        opened.sources.push(source);
    }
    opened
}
