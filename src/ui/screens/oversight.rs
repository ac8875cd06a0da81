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
    Exigent,
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
            // Equipment reports are the administrator's (cameras): a supervisor is not shown a
            // tab that would only refuse them.
            let tabs = [
                (Tab::Usage, "Usage report"),
                (Tab::Audit, "Random audit"),
                (Tab::Exigent, "Exigent hits"),
                (Tab::Equipment, "Equipment reports"),
            ];
            // Random audits and the exigent review are the supervisors' check on everyone;
            // equipment reports the administrator's (cameras). Nobody is shown a tab that
            // would only refuse them.
            let shown = |tab: Tab| match tab {
                Tab::Usage => true,
                Tab::Audit | Tab::Exigent => console.may_audit(),
                Tab::Equipment => console.may_administer(),
            };
            for (tab, label) in tabs.into_iter().filter(|(t, _)| shown(*t)) {
                if ui.add(egui::Button::selectable(self.tab == tab, label).min_size(egui::vec2(0.0, 48.0))).clicked() {
                    self.tab = tab;
                    match tab {
                        Tab::Usage => oversee(frame, OversightCommand::Usage { days: 30 }),
                        Tab::Equipment => oversee(frame, OversightCommand::Equipment),
                        Tab::Exigent => oversee(frame, OversightCommand::ExigentQueue),
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
                // The chart's title above it (an axis label overlapped the buttons), a percent
                // axis that never prints "-0%", and each bar named by its officer and shift.
                ui.label(RichText::new("ALPR active, % of each shift").strong());
                let names: Vec<String> =
                    data.usage.iter().map(|row| format!("{} #{}", row.officer, row.shift_id)).collect();
                Plot::new("active-share")
                    .height(150.0)
                    .include_y(0.0)
                    .include_y(100.0)
                    .y_axis_formatter(|mark, _| format!("{:.0}%", mark.value.max(0.0).abs()))
                    .x_axis_formatter(move |mark, _| {
                        let index = mark.value.round();
                        let whole = (mark.value - index).abs() < 1e-6 && index >= 0.0;
                        names.get(index as usize).filter(|_| whole).cloned().unwrap_or_default()
                    })
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
                            "Driven",
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
                            ui.label(format!("{:.1} km", row.distance_km));
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
                                    let note = item.note.as_deref().filter(|n| !n.trim().is_empty());
                                    ui.label(
                                        RichText::new(match note {
                                            Some(note) => format!("{}: {note}", v.as_str()),
                                            None => v.as_str().to_owned(),
                                        })
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
            Tab::Exigent => self.exigent_ui(ui, &data.exigent, frame),
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

impl OversightScreen {
    /// Exigent hits, each with its justification, whether the confirmation came, and the
    /// review (or the buttons to record one).
    fn exigent_ui(&mut self, ui: &mut egui::Ui, items: &[crate::reports::exigent::ExigentItem], frame: &mut Frame<'_>) {
        let theme = frame.theme;
        ui.horizontal(|ui| {
            ui.label("Hits acted on before communications confirmed them, last 30 days.");
            ui.add(egui::TextEdit::singleline(&mut self.note).hint_text("Review note").desired_width(360.0));
        });
        if items.is_empty() {
            ui.label(RichText::new("No exigent hits in the last 30 days.").color(theme.muted));
            return;
        }
        crate::ui::theme::finger_scroll().id_salt("exigent").show(ui, |ui| {
            for item in items {
                let hit = &item.hit;
                let when = hit.raised.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M");
                let confirmation = match (&hit.confirmed, &hit.result) {
                    (Some(_), Some(result)) => format!("confirmed afterwards: {}", result.label()),
                    _ => "NO CONFIRMATION RECORDED".to_owned(),
                };
                ui.label(
                    RichText::new(format!(
                        "Hit {} · {} · {} · officer {} · {when}",
                        hit.id,
                        hit.plate,
                        hit.list,
                        hit.officer.as_deref().unwrap_or("?")
                    ))
                    .strong(),
                );
                ui.label(&item.justification);
                let colour = if hit.confirmed.is_some() { theme.muted } else { theme.bad };
                ui.label(RichText::new(confirmation).color(colour));
                match &item.review {
                    Some((who, verdict, note, at)) => {
                        let at = at.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M");
                        let note = if note.is_empty() { String::new() } else { format!(": {note}") };
                        let colour = if *verdict == Verdict::Compliant { theme.ok } else { theme.bad };
                        ui.label(RichText::new(format!("{}{note} (by {who}, {at})", verdict.as_str())).color(colour));
                    }
                    None => {
                        ui.horizontal(|ui| {
                            if button(ui, &format!("Compliant #{}", hit.id), true).clicked() {
                                let note = self.note.clone();
                                oversee(
                                    frame,
                                    OversightCommand::ReviewExigent { hit: hit.id, verdict: Verdict::Compliant, note },
                                );
                            }
                            let flag = button(ui, &format!("Flag #{}", hit.id), !self.note.trim().is_empty())
                                .on_disabled_hover_text("write a note first");
                            if flag.clicked() {
                                let note = self.note.clone();
                                oversee(
                                    frame,
                                    OversightCommand::ReviewExigent { hit: hit.id, verdict: Verdict::Flagged, note },
                                );
                            }
                        });
                    }
                }
                ui.separator();
            }
        });
    }
}
