//! Screen 7, the officer's settings: day/night/automatic palette, alert volume, test tone,
//! and the system's health figures (reading rate, latencies, frame time).

use eframe::egui::{self, RichText};

use crate::console::Console;
use crate::ui::theme::{ThemeChoice, button};
use crate::ui::tone::Tone;
use crate::ui::{Frame, UiCommand, View};

/// The settings screen (no state of its own: the app holds the values).
#[derive(Debug, Default)]
pub struct SettingsScreen;

impl SettingsScreen {
    /// Draws the screen.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        console: &Console,
        health: &Health,
        theme_choice: ThemeChoice,
        tone: &Tone,
        frame: &mut Frame<'_>,
    ) {
        ui.horizontal(|ui| {
            ui.heading("Settings");
            if button(ui, "Back to patrol", true).clicked() {
                frame.show(View::Patrol);
            }
        });
        // The rest scrolls by a finger drag when the work area is short (a hit's banner
        // above, a 1024x768 screen): the health lines must never sit under the action bar.
        crate::ui::theme::finger_scroll().id_salt("settings").auto_shrink([false, false]).show(ui, |ui| {
            self.body(ui, console, health, theme_choice, tone, frame);
        });
    }

    fn body(
        &mut self,
        ui: &mut egui::Ui,
        console: &Console,
        health: &Health,
        theme_choice: ThemeChoice,
        tone: &Tone,
        frame: &mut Frame<'_>,
    ) {
        ui.label(RichText::new("Display").strong());
        ui.horizontal(|ui| {
            for (choice, label) in
                [(ThemeChoice::Day, "Day"), (ThemeChoice::Night, "Night"), (ThemeChoice::Auto, "Automatic (by clock)")]
            {
                if ui
                    .add(egui::Button::selectable(theme_choice == choice, label).min_size(egui::vec2(120.0, 48.0)))
                    .clicked()
                {
                    frame.commands.push(crate::ui::AppCommand::Ui(UiCommand::Theme(choice)));
                }
            }
        });
        ui.add_space(12.0);
        ui.label(RichText::new("Alert tone").strong());
        if let Some(why) = tone.unavailable() {
            ui.label(
                RichText::new(format!("Sound unavailable: {why}. Alerts are visual only.")).color(frame.theme.warn),
            );
        }
        // Steps a gloved finger hits (the slider's handle alone is too small in a moving car),
        // and the slider beside them for a mouse.
        let mut volume = tone.volume();
        ui.horizontal(|ui| {
            let step = |v: f32, by: f32| ((v + by) * 10.0).round().clamp(1.0, 10.0) / 10.0;
            if button(ui, "Quieter", volume > 0.1 + 1e-3).clicked() {
                frame.commands.push(crate::ui::AppCommand::Ui(UiCommand::Volume(step(volume, -0.1))));
            }
            ui.label(RichText::new(format!("{:.0}%", volume * 100.0)).size(crate::ui::theme::TEXT_TITLE).strong());
            if button(ui, "Louder", volume < 1.0 - 1e-3).clicked() {
                frame.commands.push(crate::ui::AppCommand::Ui(UiCommand::Volume(step(volume, 0.1))));
            }
            ui.spacing_mut().slider_width = 300.0;
            if ui.add(egui::Slider::new(&mut volume, 0.1..=1.0).show_value(false)).changed() {
                frame.commands.push(crate::ui::AppCommand::Ui(UiCommand::Volume(volume)));
            }
        });
        ui.horizontal(|ui| {
            for (priority, label) in [(1, "Test tone: priority 1"), (2, "priority 2"), (3, "priority 3"), (4, "other")]
            {
                if button(ui, label, tone.unavailable().is_none()).clicked() {
                    frame.commands.push(crate::ui::AppCommand::Ui(UiCommand::TestTone(priority)));
                }
            }
        });
        health_ui(ui, console, health, frame);
    }
}

/// The UI thread's own figures, which the console cannot know.
#[derive(Debug, Clone, Copy, Default)]
pub struct Health {
    /// CPU time per UI frame, ms: median and 95th percentile of the last 600 frames.
    pub frame_ms: Option<(f64, f64)>,
}

/// Reading rate and frame losses, the latencies from a frame to its read and to its hit
/// committed, and the UI's frame time: what the ALPR Administrator asks for when a car
/// reports trouble.
fn health_ui(ui: &mut egui::Ui, console: &Console, health: &Health, frame: &Frame<'_>) {
    ui.add_space(12.0);
    ui.label(RichText::new("Health").strong());
    let muted = frame.theme.muted;
    let line = |ui: &mut egui::Ui, text: String| {
        ui.label(RichText::new(text).color(muted));
    };
    match console.pipeline_stats() {
        Some(s) => line(
            ui,
            format!(
                "reading {:.1} frames/s · {} dropped, {} corrupt · frame to read {:.0} ms median, {:.0} ms p95",
                s.fps, s.dropped, s.corrupt, s.latency_ms_p50, s.latency_ms_p95
            ),
        ),
        None => line(ui, "cameras not running".to_owned()),
    }
    match (console.hit_frame_ms(), console.hit_latency_ms(), console.hit_commit_ms()) {
        (Some((f50, f95)), Some((p50, _)), Some((c50, _))) => line(
            ui,
            format!(
                "frame to hit committed {f50:.0} ms median, {f95:.0} ms p95 · end of pass {p50:.0} ms · matcher {c50:.0} ms"
            ),
        ),
        _ => line(ui, "no hit yet this shift".to_owned()),
    }
    if let Some((p50, p95)) = health.frame_ms {
        line(ui, format!("screen frame time {p50:.1} ms median, {p95:.1} ms p95"));
    }
}
