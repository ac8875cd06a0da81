//! The console's cameras as the officer sees them: each camera's last health report, its
//! checklist verdict, whether it is in service this shift and whether it is down mid-shift.
//! The rules live here (what "ready to go active" needs, when a camera in service counts as
//! failed or recovered); the console writes what they decide to the store.

use chrono::{DateTime, Utc};

use super::CameraState;
use crate::camera::health::CameraStatus;
use crate::session::checklist::Verdict;

/// A change the console records: a camera in service failed or recovered during patrol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CameraChange {
    /// Failed: downtime starts and an equipment report is filed.
    Down {
        /// The camera.
        name: String,
        /// Its problems, in words.
        reason: String,
    },
    /// Working again: the downtime ends.
    Up {
        /// The camera.
        name: String,
    },
}

/// Why the cameras are not ready for Go active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotReady {
    /// No camera opened (yet).
    NoCamera,
    /// A camera has no checklist verdict.
    NotInspected,
    /// Every camera failed the inspection.
    NonePassed,
}

impl NotReady {
    /// The refusal in the officer's words.
    pub(crate) fn words(self) -> &'static str {
        match self {
            Self::NoCamera => "no camera",
            Self::NotInspected => "inspect every camera first",
            Self::NonePassed => "no camera passed the inspection",
        }
    }
}

/// The cameras of this shift.
#[derive(Debug, Default)]
pub(crate) struct Cameras {
    list: Vec<CameraState>,
}

impl Cameras {
    /// The cameras opened at log-on, none inspected yet.
    pub(crate) fn opened(names: impl IntoIterator<Item = String>) -> Self {
        let list = names
            .into_iter()
            .map(|name| CameraState { name, status: None, verdict: None, in_service: false, down: None })
            .collect();
        Self { list }
    }

    /// All of them, in source order.
    pub(crate) fn list(&self) -> &[CameraState] {
        &self.list
    }

    /// One of them.
    pub(crate) fn get(&self, index: usize) -> Option<&CameraState> {
        self.list.get(index)
    }

    /// How many.
    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    /// Go active needs every camera inspected and at least one in service.
    pub(crate) fn ready(&self) -> Result<(), NotReady> {
        if self.list.is_empty() {
            return Err(NotReady::NoCamera);
        }
        if self.list.iter().any(|cam| cam.verdict.is_none()) {
            return Err(NotReady::NotInspected);
        }
        if !self.list.iter().any(|cam| cam.in_service) {
            return Err(NotReady::NonePassed);
        }
        Ok(())
    }

    /// Takes a camera's checklist verdict. True when, with it, every camera has been
    /// inspected and none passed: ALPR is unavailable this shift.
    pub(crate) fn inspected(&mut self, index: usize, verdict: Verdict) -> bool {
        if let Some(cam) = self.list.get_mut(index) {
            cam.in_service = verdict.in_service;
            cam.verdict = Some(verdict);
        }
        self.ready() == Err(NotReady::NonePassed)
    }

    /// Takes a health report. During patrol, a camera in service that starts reporting
    /// problems is down (once, until it recovers), and one that was down and reports none is
    /// up again; outside patrol, or for a camera out of service, nothing changes but the
    /// report shown.
    pub(crate) fn status(&mut self, status: CameraStatus, patrol: bool, now: DateTime<Utc>) -> Option<CameraChange> {
        let camera = self.list.get_mut(status.camera)?;
        let healthy = status.problems.is_empty();
        let reason: Vec<String> = status.problems.iter().map(crate::session::checklist::describe).collect();
        camera.status = Some(status);
        if !patrol || !camera.in_service {
            return None;
        }
        match (healthy, camera.down.is_some()) {
            (false, false) => {
                let reason = reason.join("; ");
                camera.down = Some((now, reason.clone()));
                Some(CameraChange::Down { name: camera.name.clone(), reason })
            }
            (true, true) => {
                camera.down = None;
                Some(CameraChange::Up { name: camera.name.clone() })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::health::CameraProblem;

    fn verdict(in_service: bool) -> Verdict {
        Verdict { in_service, failures: Vec::new(), items_json: "{}".into() }
    }

    fn report(camera: usize, problems: Vec<CameraProblem>) -> CameraStatus {
        CameraStatus { camera, name: format!("cam{camera}"), problems, fps: 30.0, at: std::time::SystemTime::now() }
    }

    #[test]
    fn go_active_needs_every_camera_inspected_and_one_in_service() {
        assert_eq!(Cameras::default().ready(), Err(NotReady::NoCamera));
        let mut cams = Cameras::opened(["front".to_owned(), "rear".to_owned()]);
        assert_eq!(cams.ready(), Err(NotReady::NotInspected));
        assert!(!cams.inspected(0, verdict(false)), "one camera still to inspect");
        assert_eq!(cams.ready(), Err(NotReady::NotInspected));
        assert!(!cams.inspected(1, verdict(true)));
        assert_eq!(cams.ready(), Ok(()));
    }

    #[test]
    fn every_camera_failing_the_checklist_makes_alpr_unavailable() {
        let mut cams = Cameras::opened(["front".to_owned(), "rear".to_owned()]);
        assert!(!cams.inspected(0, verdict(false)));
        assert!(cams.inspected(1, verdict(false)));
        assert_eq!(cams.ready().map_err(NotReady::words), Err("no camera passed the inspection"));
    }

    #[test]
    fn a_camera_in_service_goes_down_once_and_comes_back_during_patrol() {
        let now = Utc::now();
        let mut cams = Cameras::opened(["front".to_owned()]);
        cams.inspected(0, verdict(true));
        let broken = || report(0, vec![CameraProblem::NoFrames]);
        // Before patrol (the checklist) a problem is only shown.
        assert_eq!(cams.status(broken(), false, now), None);
        assert!(cams.get(0).unwrap().status.is_some());
        let down = cams.status(broken(), true, now);
        assert!(matches!(&down, Some(CameraChange::Down { name, reason }) if name == "front" && !reason.is_empty()));
        assert_eq!(cams.status(broken(), true, now), None, "already down: no second report");
        assert_eq!(cams.status(report(0, Vec::new()), true, now), Some(CameraChange::Up { name: "front".into() }));
        assert_eq!(cams.status(report(0, Vec::new()), true, now), None);
    }

    #[test]
    fn a_camera_out_of_service_or_unknown_changes_nothing() {
        let now = Utc::now();
        let mut cams = Cameras::opened(["front".to_owned()]);
        cams.inspected(0, verdict(false));
        assert_eq!(cams.status(report(0, vec![CameraProblem::NoFrames]), true, now), None);
        assert_eq!(cams.status(report(3, Vec::new()), true, now), None);
        assert_eq!(cams.len(), 1);
    }
}
