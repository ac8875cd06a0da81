//! The `run` command: the recognition pipeline on cameras, recordings or the simulator.
//! `--headless` prints reads and camera statuses as JSON lines and a summary last.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use super::Context;
use super::store::{Secrets, actor, open_store, rules};
use crate::audit::{AuditAction, AuditEvent};
use crate::camera::live::PixelFormat;
use crate::camera::open::{SourceOptions, configured_sources, open_sources};
use crate::camera::{CaptureFormat, SourceSpec};
use crate::console::demo::demo_list;
use crate::console::recorder::{RecorderOptions, StoreRecorder};
use crate::hotlist::cache::HotlistCache;
use crate::hotlist::load::load_active;
use crate::hotlist::{ActiveList, Hotlists};
use crate::pipeline::headless::ReadRecorder;
use crate::pipeline::headless::{HeadlessOptions, run_headless};
use crate::pipeline::{PipelineConfig, PlateReader};
use crate::recognize::Recognizer;
use crate::session::{Accounts, Permission};
use crate::store::{Store, StoreKeys};

/// Options of `run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Run without the screen, printing JSON lines (reads, camera statuses, a summary last).
    #[arg(long)]
    pub headless: bool,
    /// Frame source: auto, sim, replay:DIR_OR_MJPEG or camera:INDEX|NAME|PATH; repeat for
    /// several cameras (default: the `[cameras] sources` setting).
    #[arg(long = "source", value_name = "SOURCE")]
    pub sources: Vec<SourceSpec>,
    /// Frame width.
    #[arg(long)]
    pub width: Option<u32>,
    /// Frame height.
    #[arg(long)]
    pub height: Option<u32>,
    /// Frames per second.
    #[arg(long)]
    pub fps: Option<f32>,
    /// Stop after this many seconds (default: until every source ends).
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Recognition workers (default: one per core).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Pixel format asked of live cameras: mjpeg, yuyv or any.
    #[arg(long)]
    pub pixel_format: Option<PixelFormat>,
    /// Replay: start again at the end.
    #[arg(long = "loop")]
    pub looping: bool,
    /// Simulator: seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulator: night with an infrared camera.
    #[arg(long)]
    pub night: bool,
    /// Simulator: a plate to show (repeatable), mixed with random ones.
    #[arg(long = "sim-plate", value_name = "PLATE")]
    pub sim_plates: Vec<String>,
    /// `--headless`: the certified user running it (PIN asked, the run audited). Needed for a
    /// camera or a recording (their reads are stored in a shift of this user) and for matching
    /// against the real hot list; the simulator alone runs without it, matched against the
    /// fictitious demo list (`--sim-plate DEMO001` shows one of its plates, so hits happen).
    /// Simulated reads always go to a throwaway store, never the agency's.
    #[arg(long = "as", value_name = "ID")]
    pub as_user: Option<String>,
}

/// The cached hot list, or `None` (with a warning: reads are then not matched) when there is
/// none or it cannot be loaded.
fn active_hotlists(ctx: &Context) -> Option<Arc<Hotlists>> {
    // The cache is sealed with the store's key.
    let cfg = &ctx.config.store;
    let keys = match StoreKeys::obtain(&ctx.paths.data_dir, cfg.key_file.as_deref(), cfg.demo_key) {
        Ok(keys) => keys,
        Err(err) => {
            eprintln!("warning: no hot list loaded ({err}): reads are not matched");
            return None;
        }
    };
    match load_active(&HotlistCache::new(&ctx.paths.data_dir, keys), &ctx.config.hotlist, chrono::Utc::now()) {
        Ok(outcome) if outcome.list.index.is_empty() => {
            eprintln!("warning: the hot list is empty: reads are not matched (see `patrol-alpr hotlist import`)");
            None
        }
        Ok(outcome) => Some(Arc::new(Hotlists::new(outcome.list))),
        Err(err) => {
            eprintln!("warning: no hot list loaded ({err}): reads are not matched");
            None
        }
    }
}

/// The camera settings in force: the administrator's sources (kept in the database) over the
/// settings file's. Without the database key the file's are used, with a warning.
fn cameras_in_force(ctx: &Context) -> crate::config::CamerasConfig {
    let effective = open_store(ctx).and_then(|store| Ok(crate::session::admin::effective_config(&store, &ctx.config)?));
    match effective {
        Ok(config) => config.cameras,
        Err(err) => {
            eprintln!("warning: the administrator's camera settings are not loaded ({err:#}): using the settings file");
            ctx.config.cameras.clone()
        }
    }
}

/// Loads the recognizer the workers share, and builds its plan for this frame size before the
/// first frame arrives.
fn plate_reader(ctx: &Context, format: &CaptureFormat) -> anyhow::Result<Arc<dyn PlateReader>> {
    let recognizer = Recognizer::load_video(&ctx.config.recognizer, format.width, format.height)
        .context("loading the recognizer")?;
    Ok(Arc::new(recognizer))
}

/// Runs `run --headless` (without it, the console opens: see `cli::console`).
pub fn run(ctx: &Context, args: &RunArgs) -> anyhow::Result<ExitCode> {
    let settings = &ctx.config.cameras;
    let format = CaptureFormat {
        width: args.width.unwrap_or(settings.width),
        height: args.height.unwrap_or(settings.height),
        fps: args.fps.unwrap_or(settings.fps),
    };
    anyhow::ensure!(
        format.width >= 64 && format.height >= 48,
        "frame size {}x{} is too small",
        format.width,
        format.height
    );
    anyhow::ensure!(format.fps > 0.0 && format.fps <= 240.0, "frame rate {} is out of range (0-240]", format.fps);
    let specs: Vec<SourceSpec> = if args.sources.is_empty() {
        let in_force = cameras_in_force(ctx);
        configured_sources(&in_force).map_err(anyhow::Error::msg).context("in the [cameras] sources setting")?
    } else {
        args.sources.clone()
    };
    let pixel_format = match args.pixel_format {
        Some(p) => p,
        None => settings
            .pixel_format
            .parse()
            .map_err(anyhow::Error::msg)
            .context("in the [cameras] pixel_format setting")?,
    };
    let opened = open_sources(
        &specs,
        &SourceOptions {
            settings,
            format,
            pixel_format,
            looping: args.looping,
            seed: args.seed,
            night: args.night,
            extra_plates: &args.sim_plates,
        },
    );
    // Who runs it decides what it may read and match: plates from a camera or a recording,
    // and entries of a real hot list, are ALPR data (Civil Code 1798.90.5).
    let operator = match &args.as_user {
        Some(id) => Some(HeadlessOperator::log_on(ctx, id, &specs)?),
        None if !opened.synthetic => anyhow::bail!(
            "reading plates from a camera or a recording collects ALPR data: give --as ID (a certified user, PIN asked); only the simulator runs without it"
        ),
        None => None,
    };
    let now = chrono::Utc::now();
    let hotlists = match &operator {
        Some(_) => active_hotlists(ctx)
            .unwrap_or_else(|| Arc::new(Hotlists::new(ActiveList::empty(ctx.config.hotlist.match_config(), now)))),
        None => Arc::new(Hotlists::new(demo_list(&ctx.config.hotlist, now).map_err(anyhow::Error::msg)?)),
    };
    let reader = plate_reader(ctx, &format)?;
    let mut config = PipelineConfig::default();
    if let Some(workers) = args.workers.or(settings.workers) {
        config.workers = workers.max(1);
    }
    let duration = match args.seconds {
        Some(s) => {
            Some(Duration::try_from_secs_f64(s).map_err(|_| anyhow::anyhow!("--seconds {s} is not a duration"))?)
        }
        None => None,
    };
    // The simulated route goes with the simulator; a real camera with the configured GPS.
    let location = ctx.config.location.setting(opened.synthetic).map_err(anyhow::Error::msg)?;
    let locator = crate::location::Locator::start(&location, i64::from(ctx.config.location.max_fix_age_ms))
        .context("starting the position source")?;
    let locator = Arc::new(locator);
    // Every read goes through the console's matcher into a store: simulated traffic into a
    // throwaway one, a camera's or a recording's into the data dir's, in the user's shift.
    let recorder_options = RecorderOptions {
        hotlists,
        locator: Some(Arc::clone(&locator)),
        officer: operator.as_ref().map_or_else(|| "simulator".to_owned(), |o| o.user.id.clone()),
        quiet: chrono::Duration::minutes(i64::from(ctx.config.console.realarm_quiet_minutes)),
    };
    let recorder: Box<dyn ReadRecorder> = match &operator {
        Some(operator) if !opened.synthetic => {
            Box::new(StoreRecorder::in_shift(Arc::clone(&operator.store), recorder_options).context("recording reads")?)
        }
        _ => Box::new(StoreRecorder::throwaway(recorder_options).context("opening the throwaway store")?),
    };
    let options =
        HeadlessOptions { duration, sim_truth: opened.sim_truth, locator: Some(locator), recorder: Some(recorder) };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let summary = run_headless(config, opened.sources, reader, options, &mut out);
    if let Some(operator) = operator {
        let outcome = match &summary {
            Ok(s) => format!("ended: {} reads, {} frames", s.reads, s.frames),
            Err(err) => format!("failed: {err}"),
        };
        operator.record(AuditAction::Deactivate, &outcome)?;
    }
    summary?;
    Ok(ExitCode::SUCCESS)
}

/// The logged-on user of a headless run, and the store its start and end are audited in.
struct HeadlessOperator {
    store: Arc<Store>,
    user: crate::session::User,
}

impl HeadlessOperator {
    /// Checks the PIN and that the user may run ALPR (certified, not suspended), and audits
    /// the start with the sources.
    fn log_on(ctx: &Context, id: &str, specs: &[SourceSpec]) -> anyhow::Result<Self> {
        let store = open_store(ctx)?;
        let user = actor(&store, ctx, id, &mut Secrets::new())?;
        Accounts::new(&store, rules(ctx)).authorize(
            &user,
            Permission::UseAlpr,
            AuditAction::Activate,
            "headless run",
        )?;
        let operator = Self { store: Arc::new(store), user };
        let sources: Vec<String> = specs.iter().map(|s| format!("{s:?}")).collect();
        operator.record(AuditAction::Activate, &format!("started on {}", sources.join(", ")))?;
        Ok(operator)
    }

    fn record(&self, action: AuditAction, outcome: &str) -> anyhow::Result<()> {
        let event = AuditEvent::new(&self.user.id, &self.user.organization, action, "headless run", outcome);
        self.store.audit(event)?;
        Ok(())
    }
}
