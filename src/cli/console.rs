//! Starts the officer console (the touchscreen GUI): `patrol-alpr` with no subcommand,
//! `patrol-alpr --demo`, or `patrol-alpr run` without `--headless`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use eframe::egui;

use super::Context;
use crate::camera::{CaptureFormat, SourceSpec};
use crate::console::demo::DEMO_SIM_PLATES;
use crate::console::{Clock, Console, ConsoleOptions};
use crate::ui::screens::cannot_start::CannotStartScreen;
use crate::ui::theme::{Theme, ThemeChoice};
use crate::ui::tour::Tour;
use crate::ui::{ConsoleApp, UiOptions};

/// What the console is started with besides the settings.
#[derive(Debug, Default)]
pub struct ConsoleArgs {
    /// Demo mode.
    pub demo: bool,
    /// Sources named on the command line (default: the settings').
    pub sources: Vec<SourceSpec>,
    /// Plates the simulator should show.
    pub sim_plates: Vec<String>,
    /// Close after this long (measurements and screenshots).
    pub exit_after: Option<Duration>,
    /// Run the documentation tour, saving screenshots here, then close.
    pub tour: Option<std::path::PathBuf>,
}

/// Opens the console window and runs it until it is closed.
pub fn run(ctx: &Context, args: ConsoleArgs) -> anyhow::Result<ExitCode> {
    let settings = &ctx.config.cameras;
    let mut paths = ctx.paths.clone();
    if args.demo && !ctx.paths.data_dir_explicit {
        // Demo data never mixes with a real data dir.
        paths.data_dir = paths.data_dir.join("demo");
    }
    crate::store::key::private_dir(&paths.data_dir)
        .with_context(|| format!("creating {}", paths.data_dir.display()))?;
    // None named: the console takes the camera sources in force (the administrator's, else
    // the settings file's) and follows the administrator's changes.
    let sources: Vec<SourceSpec> = if !args.sources.is_empty() {
        args.sources
    } else if args.demo {
        vec![SourceSpec::Simulator]
    } else {
        Vec::new()
    };
    let mut sim_plates = args.sim_plates;
    if args.demo {
        sim_plates.extend(DEMO_SIM_PLATES.iter().map(|p| (*p).to_owned()));
    }
    let console_settings = &ctx.config.console;
    let theme = ThemeChoice::parse(&console_settings.theme).ok_or_else(|| {
        anyhow::anyhow!("[console] theme must be auto, day or night, not {:?}", console_settings.theme)
    })?;
    let ui_options = UiOptions { theme, volume: console_settings.volume.clamp(0.0, 1.0), sound: true };
    let title = if args.demo { "patrol-alpr DEMO" } else { "patrol-alpr" };
    let viewport = egui::ViewportBuilder::default()
        .with_title(title)
        .with_inner_size([console_settings.width as f32, console_settings.height as f32])
        .with_min_inner_size([1024.0, 700.0])
        .with_fullscreen(console_settings.kiosk)
        .with_decorations(!console_settings.kiosk);
    let native = eframe::NativeOptions { viewport, renderer: eframe::Renderer::Glow, ..Default::default() };
    if args.tour.is_some() && !args.demo {
        anyhow::bail!("--tour runs in demo mode only (add --demo)");
    }
    let started_console = Console::new(ConsoleOptions {
        paths,
        config: ctx.config.clone(),
        demo: args.demo,
        sources,
        format: CaptureFormat { width: settings.width, height: settings.height, fps: settings.fps },
        sim_plates,
        reader: None,
        clock: Clock::system(),
    })
    .context("starting the console");
    let console = match started_console {
        Ok(console) => console,
        Err(err) => {
            // The same reason on the screen as on stderr, until the officer closes it; no
            // window (no display) leaves stderr alone to say it.
            let screen = CannotStartScreen::new(Theme::new(theme.palette_now()), super::describe_error(&err));
            if let Err(window) = eframe::run_native(title, native, Box::new(move |_| Ok(Box::new(screen)))) {
                tracing::debug!("no window for the start-up failure: {window}");
            }
            return Err(err);
        }
    };
    let started = Instant::now();
    let exit_after = args.exit_after;
    let tour = match args.tour {
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            Some(Tour::new(dir))
        }
        None => None,
    };
    eframe::run_native(
        title,
        native,
        Box::new(move |cc| {
            let mut console = console;
            let egui_ctx = cc.egui_ctx.clone();
            console.set_wake(Arc::new(move || egui_ctx.request_repaint()));
            let app = ConsoleApp::new(console, &ui_options);
            Ok(Box::new(Runner { app, started, exit_after, tour }))
        }),
    )
    .map_err(|e| anyhow::anyhow!("the console window could not open: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// The app with an optional closing time and tour, for measurements and screenshots.
struct Runner {
    app: ConsoleApp,
    started: Instant,
    exit_after: Option<Duration>,
    tour: Option<Tour>,
}

impl eframe::App for Runner {
    fn logic(&mut self, ctx: &egui::Context, frame: &mut eframe::Frame) {
        let tour_done = self.tour.as_ref().is_some_and(Tour::finished);
        if tour_done || self.exit_after.is_some_and(|d| self.started.elapsed() >= d) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        if let Some(tour) = &mut self.tour {
            tour.drive(&mut self.app, ctx);
        }
        eframe::App::logic(&mut self.app, ctx, frame);
    }

    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        eframe::App::ui(&mut self.app, ui, frame);
    }

    fn on_exit(&mut self, gl: Option<&eframe::glow::Context>) {
        eframe::App::on_exit(&mut self.app, gl);
    }
}
