//! Oversight at the console, for supervisors and the ALPR Administrator: the usage report
//! (table, a chart of each shift's active share, CSV export), random audits with a review of
//! each item, account status, and the open equipment reports. The console checks the role
//! and audits every view.

use eframe::egui::{self, RichText};
use egui_plot::{Bar, BarChart, Plot};

use crate::console::Console;
use crate::console::oversight::OversightCommand;
use crate::reports::sample::Verdict;
use crate::ui::theme::button;
use crate::ui::{AppCommand, Frame, View};

/// Which part of the oversight screen is open.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Tab {
    #[default]
    Usage,
    Audit,
    Equipment,
}

/// The oversight screen's tab and review notes.
#[derive(Debug, Default)]
pub struct OversightScreen {
    tab: Tab,
    note: String,
}

fn oversee(frame: &mut Frame<'_>, command: OversightCommand) {
    frame.commands.push(AppCommand::Oversee(command));
}

impl OversightScreen {
    /// Draws the screen.
    pub fn ui(&mut self, ui: &mut egui::Ui, console: &Console, frame: &mut Frame<'_>) {
        let theme = frame.theme;
        ui.horizontal(|ui| {
            ui.heading("Oversight");
            for (tab, label) in
                [(Tab::Usage, "Usage report"), (Tab::Audit, "Random audit"), (Tab::Equipment, "Equipment reports")]
            {
                if ui.add(egui::Button::selectable(self.tab == tab, label).min_size(egui::vec2(0.0, 48.0))).clicked() {
                    self.tab = tab;
                    match tab {
                        Tab::Usage => oversee(frame, OversightCommand::Usage { days: 30 }),
                        Tab::Equipment => oversee(frame, OversightCommand::Equipment),
                        Tab::Audit => {}
                    }
                }
            }
            if button(ui, "Back", true).clicked() {
                frame.show(View::Patrol);
            }
        });
        let data = console.oversight();
        match self.tab {
            Tab::Usage => {
                ui.horizontal(|ui| {
                    for days in [1, 7, 30] {
                        if button(ui, &format!("Last {days} days"), true).clicked() {
                            oversee(frame, OversightCommand::Usage { days });
                        }
                    }
                    if button(ui, "Export CSV", !data.usage.is_empty()).clicked() {
                        oversee(frame, OversightCommand::ExportUsage);
                    }
                    if let Some(path) = &data.exported {
                        ui.label(format!("written to {path}"));
                    }
                });
                if let Some(head) = &data.usage_audit_head {
                    // Written down off the car, it lets an auditor prove later that the log
                    // was not rebuilt (`audit verify --head`).
                    ui.label(RichText::new(format!("Audit chain head: {head}")).monospace().color(theme.muted));
                }
                if data.usage.is_empty() {
                    ui.label(
                        RichText::new("No shifts in the period (or the report has not been run).").color(theme.muted),
                    );
                    return;
                }
                let bars: Vec<Bar> = data
                    .usage
                    .iter()
                    .enumerate()
                    .map(|(i, row)| {
                        Bar::new(i as f64, row.active_share * 100.0)
                            .name(format!("{} shift {}", row.officer, row.shift_id))
                            .fill(if row.active_share >= 0.9 { theme.ok } else { theme.warn })
                    })
                    .collect();
                Plot::new("active-share")
                    .height(150.0)
                    .include_y(0.0)
                    .include_y(100.0)
                    .y_axis_label("ALPR active, % of shift")
                    .allow_zoom(false)
                    .allow_drag(false)
                    .allow_scroll(false)
                    .show(ui, |plot| plot.bar_chart(BarChart::new("active share", bars)));
                crate::ui::theme::finger_scroll().show(ui, |ui| {
                    egui::Grid::new("usage").striped(true).min_row_height(26.0).show(ui, |ui| {
                        for h in [
                            "Officer",
                            "Log-on",
                            "Log-off",
                            "Active",
                            "Share",
                            "Deactivations",
                            "Camera down",
                            "Reads",
                            "Hits",
                            "Confirmed",
                            "Exigent",
                            "Ack (s)",
                        ] {
                            ui.label(RichText::new(h).strong());
                        }
                        ui.end_row();
                        for row in &data.usage {
                            ui.label(&row.officer);
                            ui.label(row.logon.with_timezone(&chrono::Local).format("%m-%d %H:%M").to_string());
                            ui.label(row.logoff.map_or("open".into(), |t| {
                                t.with_timezone(&chrono::Local).format("%H:%M").to_string()
                            }));
                            ui.label(format!("{:.0} min", row.active_minutes.max(0.0)));
                            ui.label(
                                RichText::new(format!("{:.0}%", row.active_share * 100.0))
                                    .color(if row.active_share >= 0.9 { theme.ok } else { theme.warn }),
                            );
                            ui.label(row.deactivation_reasons.join("; "));
                            ui.label(format!("{:.0} min", row.camera_downtime_minutes.max(0.0)));
                            ui.label(row.reads.to_string());
                            ui.label(
                                row.hits_by_list
                                    .iter()
                                    .map(|(l, n)| format!("{l}: {n}"))
                                    .collect::<Vec<_>>()
                                    .join(", "),
                            );
                            ui.label(row.confirmations.to_string());
                            ui.label(row.exigent_overrides.to_string());
                            ui.label(row.mean_secs_to_acknowledge.map_or("-".into(), |s| format!("{s:.1}")));
                            ui.end_row();
                        }
                    });
                });
            }
            Tab::Audit => {
                ui.horizontal(|ui| {
                    if button(ui, "Draw 10 from the last 30 days", true).clicked() {
                        oversee(frame, OversightCommand::DrawSample { days: 30, size: 10 });
                    }
                    ui.add(egui::TextEdit::singleline(&mut self.note).hint_text("Review note").desired_width(360.0));
                });
                let Some(sample) = &data.sample else {
                    ui.label(
                        RichText::new(
                            "Draw a sample of data accesses and hit decisions to review (size and seed are recorded).",
                        )
                        .color(theme.muted),
                    );
                    return;
                };
                ui.label(format!(
                    "Sample {} · seed {} · {} of {} items",
                    sample.id,
                    sample.seed,
                    sample.items.len(),
                    sample.population
                ));
                crate::ui::theme::finger_scroll().show(ui, |ui| {
                    for item in &sample.items {
                        ui.horizontal_wrapped(|ui| {
                            ui.label(RichText::new(format!("#{}", item.item_no)).strong());
                            ui.label(&item.summary);
                            match item.verdict {
                                Some(v) => {
                                    ui.label(
                                        RichText::new(format!(
                                            "{} ({})",
                                            v.as_str(),
                                            item.note.clone().unwrap_or_default()
                                        ))
                                        .color(if v == Verdict::Compliant {
                                            theme.ok
                                        } else {
                                            theme.bad
                                        }),
                                    );
                                }
                                None => {
                                    if button(ui, "Compliant", true).clicked() {
                                        oversee(
                                            frame,
                                            OversightCommand::Review {
                                                item: item.item_no,
                                                verdict: Verdict::Compliant,
                                                note: self.note.clone(),
                                            },
                                        );
                                    }
                                    if button(ui, "Flag", !self.note.trim().is_empty())
                                        .on_disabled_hover_text("write a note first")
                                        .clicked()
                                    {
                                        oversee(
                                            frame,
                                            OversightCommand::Review {
                                                item: item.item_no,
                                                verdict: Verdict::Flagged,
                                                note: self.note.clone(),
                                            },
                                        );
                                    }
                                }
                            }
                        });
                        ui.separator();
                    }
                });
            }
            Tab::Equipment => {
                if data.equipment.is_empty() {
                    ui.label("No open equipment reports.");
                }
                for (id, officer, camera, time, description) in &data.equipment {
                    ui.label(format!(
                        "#{id} {} · {officer} · camera {camera}: {description}",
                        time.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M")
                    ));
                }
            }
        }
    }
}
