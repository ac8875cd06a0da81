//! One file per screen. Each screen keeps only what is being typed or chosen on it, draws
//! from the console, and queues commands through the shared `Frame`. A screen draws in the
//! work area the app gives it; refusals show in the app's fixed message line, not in the
//! screen, so a refusal never moves a control.

pub mod action_bar;
pub mod admin;
pub mod cannot_start;
pub mod checklist;
pub mod history;
pub mod hit_alert;
pub mod hit_workflow;
pub mod lock;
pub mod login;
pub mod oversight;
pub mod patrol;
pub mod settings;
