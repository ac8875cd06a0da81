//! Administration, for the ALPR Administrator: accounts (create with a PIN typed twice,
//! training and certification, PIN reset, suspension and deactivation with a typed reason,
//! reactivation), camera and hot-list sources with the agency's public key, and retention
//! with the purge by hand. The screen only collects what is typed; the console checks the
//! role, the input, and audits every change.

use eframe::egui::{self, RichText};

use crate::console::Console;
use crate::console::admin::AdminCommand;
use crate::session::admin::Setting;
use crate::session::{Role, UserStatus};
use crate::store::retention::MIN_RETENTION_DAYS;
use crate::ui::theme::button;
use crate::ui::{AppCommand, Frame, View};

/// Which part of the screen is open.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Tab {
    #[default]
    Accounts,
    Sources,
    Retention,
}

/// The new-account form.
#[derive(Debug, Default)]
struct NewUserForm {
    id: String,
    name: String,
    role: Option<Role>,
    trained_on: String,
    certified_until: String,
    pin: String,
    pin_again: String,
}

/// What is being typed on the screen. PINs are cleared as soon as they are sent.
#[derive(Debug, Default)]
pub struct AdminScreen {
    tab: Tab,
    new_user: NewUserForm,
    selected: Option<String>,
    trained_on: String,
    certified_until: String,
    pin: String,
    pin_again: String,
    reason: String,
    camera: String,
    hotlist_source: String,
    public_key: String,
    retention_days: String,
    seen_done: Option<String>,
}

fn administer(frame: &mut Frame<'_>, command: AdminCommand) {
    frame.commands.push(AppCommand::Administer(command));
}

/// A labelled one-line field; `secret` masks it (PINs).
fn field(ui: &mut egui::Ui, label: &str, text: &mut String, hint: &str, secret: bool) {
    ui.horizontal(|ui| {
        let label = ui.add_sized([230.0, 30.0], egui::Label::new(label));
        ui.add(egui::TextEdit::singleline(text).hint_text(hint).password(secret).desired_width(300.0))
            .labelled_by(label.id);
    });
}

impl AdminScreen {
    /// Draws the screen.
    pub fn ui(&mut self, ui: &mut egui::Ui, console: &Console, frame: &mut Frame<'_>) {
        let theme = frame.theme;
        let data = console.admin();
        if data.done != self.seen_done {
            // A change went through: empty the forms so the next entry starts clean.
            self.seen_done.clone_from(&data.done);
            if data.done.is_some() {
                let (tab, selected) = (self.tab, self.selected.take());
                *self = Self { tab, selected, seen_done: data.done.clone(), ..Self::default() };
            }
        }
        ui.horizontal(|ui| {
            ui.heading("Administration");
            for (tab, label) in
                [(Tab::Accounts, "Accounts"), (Tab::Sources, "Cameras and hot lists"), (Tab::Retention, "Retention")]
            {
                if ui.add(egui::Button::selectable(self.tab == tab, label).min_size(egui::vec2(0.0, 48.0))).clicked() {
                    self.tab = tab;
                    administer(frame, AdminCommand::Load);
                }
            }
            if button(ui, "Back", true).clicked() {
                frame.show(View::Patrol);
            }
        });
        if let Some(done) = &data.done {
            ui.label(RichText::new(done).size(crate::ui::theme::TEXT_LEAD).color(theme.ok));
        }
        crate::ui::theme::finger_scroll().show(ui, |ui| match self.tab {
            Tab::Accounts => self.accounts_ui(ui, console, frame),
            Tab::Sources => self.sources_ui(ui, console, frame),
            Tab::Retention => self.retention_ui(ui, console, frame),
        });
    }

    fn accounts_ui(&mut self, ui: &mut egui::Ui, console: &Console, frame: &mut Frame<'_>) {
        let theme = frame.theme;
        let users = &console.admin().users;
        ui.columns(2, |columns| {
            let ui = &mut columns[0];
            ui.label(RichText::new("Accounts (choose one to change it)").strong());
            // Two lines an account, so the list fits its half of the screen beside the form.
            for user in users {
                let chosen = self.selected.as_deref() == Some(user.id.as_str());
                ui.horizontal(|ui| {
                    if ui.add(egui::Button::selectable(chosen, RichText::new(&user.id).monospace())).clicked() {
                        self.selected = Some(user.id.clone());
                    }
                    ui.label(&user.name);
                });
                let status = if user.status_reason.is_empty() {
                    user.status.as_str().to_owned()
                } else {
                    format!("{} ({})", user.status.as_str(), user.status_reason)
                };
                let certified = user.certified_until.map_or("not certified".into(), |d| format!("certified until {d}"));
                let colour = if user.status == UserStatus::Active { theme.text } else { theme.warn };
                ui.label(RichText::new(format!("{}, {status}, {certified}", user.role.as_str())).color(colour));
                ui.separator();
            }
            if users.is_empty() {
                ui.label(RichText::new("No accounts loaded.").color(theme.muted));
            }
            let ui = &mut columns[1];
            match self.selected.clone().and_then(|id| users.iter().find(|u| u.id == id).cloned()) {
                Some(user) => {
                    ui.label(RichText::new(format!("Change {} ({})", user.id, user.name)).strong());
                    field(ui, "Trained on", &mut self.trained_on, "YYYY-MM-DD", false);
                    field(ui, "Certification valid until", &mut self.certified_until, "YYYY-MM-DD", false);
                    if button(ui, "Record training", true).clicked() {
                        administer(
                            frame,
                            AdminCommand::Certify {
                                id: user.id.clone(),
                                trained_on: self.trained_on.clone(),
                                certified_until: self.certified_until.clone(),
                            },
                        );
                    }
                    field(ui, "New PIN", &mut self.pin, "at least 6 characters", true);
                    field(ui, "New PIN again", &mut self.pin_again, "the same PIN", true);
                    if button(ui, "Reset PIN", true).clicked() {
                        let (pin, pin_again) = (std::mem::take(&mut self.pin), std::mem::take(&mut self.pin_again));
                        administer(frame, AdminCommand::ResetPin { id: user.id.clone(), pin, pin_again });
                    }
                    field(ui, "Reason", &mut self.reason, "why (suspension, separation date...)", false);
                    ui.horizontal(|ui| {
                        let has_reason = !self.reason.trim().is_empty();
                        let live = user.status != UserStatus::Deactivated;
                        if button(ui, "Suspend", has_reason && user.status == UserStatus::Active)
                            .on_disabled_hover_text("type a reason first")
                            .clicked()
                        {
                            administer(
                                frame,
                                AdminCommand::Suspend { id: user.id.clone(), reason: self.reason.clone() },
                            );
                        }
                        if button(ui, "Deactivate on separation", has_reason && live)
                            .on_disabled_hover_text("type a reason first")
                            .clicked()
                        {
                            administer(
                                frame,
                                AdminCommand::Deactivate { id: user.id.clone(), reason: self.reason.clone() },
                            );
                        }
                        let stopped = matches!(user.status, UserStatus::Suspended | UserStatus::Locked);
                        if button(ui, "Reactivate", stopped).clicked() {
                            administer(frame, AdminCommand::Reactivate { id: user.id.clone() });
                        }
                    });
                }
                None => {
                    ui.label(RichText::new("New account").strong());
                    let form = &mut self.new_user;
                    field(ui, "User id", &mut form.id, "badge number", false);
                    field(ui, "Name", &mut form.name, "as on the roster", false);
                    ui.horizontal(|ui| {
                        ui.add_sized([230.0, 30.0], egui::Label::new("Role"));
                        for (role, title) in [
                            (Role::Officer, "Officer"),
                            (Role::Supervisor, "Supervisor"),
                            (Role::Administrator, "Administrator"),
                        ] {
                            if ui
                                .add(
                                    egui::Button::selectable(form.role == Some(role), title)
                                        .min_size(egui::vec2(0.0, 40.0)),
                                )
                                .clicked()
                            {
                                form.role = Some(role);
                            }
                        }
                    });
                    field(ui, "Training date", &mut form.trained_on, "YYYY-MM-DD", false);
                    field(ui, "Certified until", &mut form.certified_until, "YYYY-MM-DD", false);
                    field(ui, "Initial PIN", &mut form.pin, "at least 6 characters", true);
                    field(ui, "Initial PIN again", &mut form.pin_again, "the same PIN", true);
                    let ready = form.role.is_some();
                    if button(ui, "Create user", ready).on_disabled_hover_text("choose a role first").clicked()
                        && let Some(role) = form.role
                    {
                        let (pin, pin_again) = (std::mem::take(&mut form.pin), std::mem::take(&mut form.pin_again));
                        administer(
                            frame,
                            AdminCommand::CreateUser {
                                id: form.id.clone(),
                                name: form.name.clone(),
                                role,
                                trained_on: form.trained_on.clone(),
                                certified_until: form.certified_until.clone(),
                                pin,
                                pin_again,
                            },
                        );
                    }
                }
            }
            if self.selected.is_some() && button(ui, "New account instead", true).clicked() {
                self.selected = None;
            }
        });
    }

    fn sources_ui(&mut self, ui: &mut egui::Ui, console: &Console, frame: &mut Frame<'_>) {
        let theme = frame.theme;
        let Some(settings) = &console.admin().settings else {
            ui.label(RichText::new("Settings not loaded.").color(theme.muted));
            return;
        };
        ui.label(RichText::new(format!("Camera sources ({})", settings.origin(Setting::CameraSources))).strong());
        for source in &settings.camera_sources {
            ui.horizontal(|ui| {
                ui.label(RichText::new(source).monospace());
                if button(ui, &format!("Remove {source}"), settings.camera_sources.len() > 1).clicked() {
                    administer(frame, AdminCommand::RemoveCamera { source: source.clone() });
                }
            });
        }
        field(ui, "Camera source", &mut self.camera, "auto, sim, camera:0, replay:/path", false);
        if button(ui, "Add camera", !self.camera.trim().is_empty()).clicked() {
            administer(frame, AdminCommand::AddCamera { source: self.camera.clone() });
        }
        ui.label(RichText::new("Camera changes take effect at the next log-on.").color(theme.muted));
        ui.separator();
        ui.label(
            RichText::new(format!("Hot-list update sources ({})", settings.origin(Setting::HotlistSources))).strong(),
        );
        if settings.hotlist_sources.is_empty() {
            ui.label(RichText::new("None: the shift-start update uses the cached list.").color(theme.warn));
        }
        for source in &settings.hotlist_sources {
            ui.horizontal(|ui| {
                ui.label(RichText::new(source).monospace());
                if button(ui, &format!("Remove {source}"), true).clicked() {
                    administer(frame, AdminCommand::RemoveHotlistSource { source: source.clone() });
                }
            });
        }
        field(ui, "Hot-list folder", &mut self.hotlist_source, "/media/usb/hotlist", false);
        if button(ui, "Add source", !self.hotlist_source.trim().is_empty()).clicked() {
            administer(frame, AdminCommand::AddHotlistSource { source: self.hotlist_source.clone() });
        }
        ui.separator();
        ui.label(
            RichText::new(format!("Hot-list public key ({})", settings.origin(Setting::HotlistPublicKey))).strong(),
        );
        match &settings.hotlist_public_key {
            Some(key) => ui.label(RichText::new(key).monospace()),
            None => ui.label(RichText::new("None: every update is refused.").color(theme.warn)),
        };
        field(ui, "Public key", &mut self.public_key, "the line `hotlist keygen` printed", false);
        if button(ui, "Set key", !self.public_key.trim().is_empty()).clicked() {
            administer(frame, AdminCommand::SetHotlistKey { key: self.public_key.clone() });
        }
        ui.separator();
        ui.label(RichText::new(format!("Hot-list rules ({})", settings.origin(Setting::HotlistRules))).strong());
        ui.label(settings.hotlist_rules.summary());
        // Rare, many-valued changes: made at the command line, where each is typed out whole.
        ui.label(
            RichText::new("Changed with `patrol-alpr admin hotlist-rules set ... --as ADMIN_ID`.").color(theme.muted),
        );
    }

    fn retention_ui(&mut self, ui: &mut egui::Ui, console: &Console, frame: &mut Frame<'_>) {
        let theme = frame.theme;
        let data = console.admin();
        let Some(settings) = &data.settings else {
            ui.label(RichText::new("Settings not loaded.").color(theme.muted));
            return;
        };
        ui.label(
            RichText::new(format!(
                "Reads are kept {} days ({}).",
                settings.retention_days,
                settings.origin(Setting::RetentionDays)
            ))
            .size(crate::ui::theme::TEXT_LEAD),
        );
        ui.label(
            RichText::new(if settings.allow_short_retention {
                format!("Periods under {MIN_RETENTION_DAYS} days are allowed (counsel's advice).")
            } else {
                format!("At least {MIN_RETENTION_DAYS} days (Gov. Code 34090.6).")
            })
            .color(theme.muted),
        );
        field(ui, "Retention days", &mut self.retention_days, "e.g. 730", false);
        if button(ui, "Set retention", !self.retention_days.trim().is_empty()).clicked() {
            administer(frame, AdminCommand::SetRetention { days: self.retention_days.clone() });
        }
        ui.separator();
        ui.label(RichText::new("Purge by hand (the console also purges daily)").strong());
        ui.horizontal(|ui| {
            if button(ui, "Count what the purge would delete", true).clicked() {
                administer(frame, AdminCommand::Purge { dry_run: true });
            }
            // Deleting needs a count first, so the administrator sees what goes.
            let counted = data.purge.is_some_and(|p| p.counts.dry_run);
            if button(ui, "Purge now", counted).on_disabled_hover_text("count first").clicked() {
                administer(frame, AdminCommand::Purge { dry_run: false });
            }
        });
        if let Some(purge) = &data.purge {
            let c = purge.counts;
            ui.label(format!(
                "{} {} reads, {} hits, {} hit events older than {} ({} days); kept {} protected reads",
                if c.dry_run { "Would delete" } else { "Deleted" },
                c.reads,
                c.hits,
                c.hit_events,
                purge.cutoff.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M"),
                purge.retention_days,
                c.protected_kept
            ));
        }
    }
}
