//! The shift-start camera inspection (order S4, S5): the automatic checks read from camera
//! health, the officer's own items, and the verdict that takes a failed camera out of
//! service and files an equipment report for the ALPR Administrator.

use serde::Serialize;

use crate::camera::health::CameraProblem;

/// The officer's inspection items, each answered yes (ok) or no.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum InspectionItem {
    /// The camera is properly affixed.
    ProperlyAffixed,
    /// No visible damage to the camera, housing or cable.
    NoVisibleDamage,
    /// The lens is clean.
    LensClean,
}

impl InspectionItem {
    /// Every item, in the order asked.
    pub const ALL: [InspectionItem; 3] = [Self::ProperlyAffixed, Self::NoVisibleDamage, Self::LensClean];

    /// The question on the screen.
    pub fn label(self) -> &'static str {
        match self {
            Self::ProperlyAffixed => "Camera properly affixed",
            Self::NoVisibleDamage => "No visible damage (camera, housing, cable)",
            Self::LensClean => "Lens clean",
        }
    }

    /// The stored key.
    pub fn key(self) -> &'static str {
        match self {
            Self::ProperlyAffixed => "properly_affixed",
            Self::NoVisibleDamage => "no_visible_damage",
            Self::LensClean => "lens_clean",
        }
    }
}

/// The result of the automatic checks for one camera.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum AutoCheck {
    /// No health report yet: frames have not been judged.
    Pending,
    /// Frames arrive at this rate and nothing is wrong.
    Passed {
        /// Frames per second.
        fps: f32,
    },
    /// What is wrong.
    Failed(Vec<String>),
}

/// The lowest frame rate accepted at shift start: below it plates are missed between frames.
pub const MIN_FPS: f32 = 5.0;

/// Judges a camera's health report for the checklist.
pub fn auto_check(problems: Option<&[CameraProblem]>, fps: f32) -> AutoCheck {
    let Some(problems) = problems else { return AutoCheck::Pending };
    let mut failed: Vec<String> = problems.iter().map(describe).collect();
    if problems.is_empty() && fps < MIN_FPS {
        failed.push(format!("frame rate {fps:.1}/s is below {MIN_FPS}/s"));
    }
    if failed.is_empty() { AutoCheck::Passed { fps } } else { AutoCheck::Failed(failed) }
}

/// A camera problem in words.
pub fn describe(problem: &CameraProblem) -> String {
    match problem {
        CameraProblem::NoFrames => "no frames arriving".to_owned(),
        CameraProblem::Frozen => "picture frozen".to_owned(),
        CameraProblem::Black => "picture black (lens covered or sensor dead)".to_owned(),
        CameraProblem::BlownOut => "picture blown out".to_owned(),
        CameraProblem::OutOfFocus => "picture blurred (dirty or unfocused lens)".to_owned(),
        CameraProblem::Lost(reason) => format!("device lost: {reason}"),
    }
}

/// The officer's answers and notes for one camera.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inspection {
    /// Each item and whether it is ok.
    pub items: Vec<(InspectionItem, bool)>,
    /// Free text (what is damaged, what was done).
    pub notes: String,
}

/// The verdict for one camera.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// The camera may be used this shift.
    pub in_service: bool,
    /// What failed (automatic checks and items), empty when it passed.
    pub failures: Vec<String>,
    /// The items as stored (`{"properly_affixed":true,...}` plus the automatic result).
    pub items_json: String,
}

/// Judges a camera: it passes only when every item is answered ok and the automatic checks
/// passed. Pending automatic checks count as failed: a camera nobody has seen working is not
/// put in service.
pub fn judge(auto: &AutoCheck, inspection: &Inspection) -> Verdict {
    let mut failures: Vec<String> = Vec::new();
    match auto {
        AutoCheck::Passed { .. } => {}
        AutoCheck::Pending => failures.push("no frames judged yet".to_owned()),
        AutoCheck::Failed(problems) => failures.extend(problems.iter().cloned()),
    }
    for item in InspectionItem::ALL {
        let ok = inspection.items.iter().find(|(i, _)| *i == item).is_some_and(|(_, ok)| *ok);
        if !ok {
            failures.push(format!("not ok: {}", item.label()));
        }
    }
    let mut map = serde_json::Map::new();
    for (item, ok) in &inspection.items {
        map.insert(item.key().to_owned(), serde_json::Value::Bool(*ok));
    }
    map.insert("automatic".to_owned(), serde_json::to_value(auto).unwrap_or(serde_json::Value::Null));
    Verdict { in_service: failures.is_empty(), failures, items_json: serde_json::Value::Object(map).to_string() }
}

/// The equipment report text for a failed camera.
pub fn equipment_report(camera: &str, verdict: &Verdict, notes: &str) -> String {
    let mut text = format!("camera {camera} out of service at shift start: {}", verdict.failures.join("; "));
    if !notes.trim().is_empty() {
        text.push_str(&format!(". Officer's notes: {}", notes.trim()));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_ok() -> Inspection {
        Inspection { items: InspectionItem::ALL.iter().map(|i| (*i, true)).collect(), notes: String::new() }
    }

    #[test]
    fn automatic_checks() {
        assert_eq!(auto_check(None, 0.0), AutoCheck::Pending);
        assert_eq!(auto_check(Some(&[]), 25.0), AutoCheck::Passed { fps: 25.0 });
        assert!(matches!(auto_check(Some(&[]), 2.0), AutoCheck::Failed(f) if f[0].contains("frame rate")));
        let problems = [CameraProblem::Frozen, CameraProblem::OutOfFocus];
        assert!(matches!(auto_check(Some(&problems), 30.0), AutoCheck::Failed(f) if f.len() == 2));
    }

    #[test]
    fn a_camera_passes_only_with_every_item_ok_and_healthy_frames() {
        let healthy = AutoCheck::Passed { fps: 25.0 };
        assert!(judge(&healthy, &all_ok()).in_service);
        assert!(!judge(&AutoCheck::Pending, &all_ok()).in_service);
        assert!(!judge(&AutoCheck::Failed(vec!["picture black".into()]), &all_ok()).in_service);
        let mut damaged = all_ok();
        damaged.items[1].1 = false;
        let verdict = judge(&healthy, &damaged);
        assert!(!verdict.in_service);
        assert_eq!(verdict.failures, ["not ok: No visible damage (camera, housing, cable)"]);
        let missing = Inspection { items: vec![(InspectionItem::LensClean, true)], notes: String::new() };
        assert_eq!(judge(&healthy, &missing).failures.len(), 2, "unanswered items are not ok");
        let report = equipment_report("front", &verdict, "cracked housing");
        assert!(report.contains("front") && report.contains("damage") && report.contains("cracked housing"));
        assert!(verdict.items_json.contains("\"no_visible_damage\":false"));
    }
}
