//! The console's fixed layout: a status bar, an alert slot, a message line, the work area and
//! an action bar, each at a fixed place for the whole shift. Nothing above a button changes
//! height while the officer works, so a new hit, a refusal or a notice never moves a control
//! under a finger (a tap aimed at RECORD MISREAD once landed on PLATE MATCHES when a banner
//! pushed the page down).

use eframe::egui::{Pos2, Rect, Vec2};

/// The status bar: one line, never wrapped.
pub const STATUS_H: f32 = 44.0;
/// The alert slot: the banner of the most urgent new hit, or the quiet strip of open hits.
/// The same height whether a hit alarms or not.
pub const ALERT_H: f32 = 150.0;
/// The message line: the last refusal, or a problem notice; empty otherwise.
pub const MESSAGE_H: f32 = 34.0;
/// The action bar along the bottom: always on screen during patrol.
pub const ACTIONS_H: f32 = 68.0;
/// Space between regions.
pub const GAP: f32 = 4.0;

/// The regions of one screen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Regions {
    /// Who, ALPR state, hot list, cameras, sound, clock.
    pub status: Rect,
    /// The banner or the open hits (patrol and the lock screen; empty before patrol).
    pub alert: Option<Rect>,
    /// The refusal or notice line.
    pub message: Rect,
    /// The screen's own content (scrolls inside when it must).
    pub work: Rect,
    /// Patrol's actions (none while locked or before patrol).
    pub actions: Option<Rect>,
}

impl Regions {
    /// Splits `screen` top to bottom. `alert` reserves the alert slot, `actions` the action
    /// bar; each region has a fixed height but the work area, which takes the rest.
    pub fn split(screen: Rect, alert: bool, actions: bool) -> Self {
        let width = screen.width();
        let mut y = screen.min.y;
        let mut take = |height: f32| {
            let rect = Rect::from_min_size(Pos2::new(screen.min.x, y), Vec2::new(width, height));
            y += height + GAP;
            rect
        };
        let status = take(STATUS_H);
        let alert = alert.then(|| take(ALERT_H));
        let message = take(MESSAGE_H);
        let bottom = if actions { screen.max.y - ACTIONS_H } else { screen.max.y };
        let work = Rect::from_min_max(Pos2::new(screen.min.x, y), Pos2::new(screen.max.x, (bottom - GAP).max(y)));
        let actions = actions.then(|| Rect::from_min_max(Pos2::new(screen.min.x, bottom), screen.max));
        Self { status, alert, message, work, actions }
    }

    /// Every region present, in order from the top.
    pub fn all(&self) -> Vec<Rect> {
        let mut out = vec![self.status];
        out.extend(self.alert);
        out.push(self.message);
        out.push(self.work);
        out.extend(self.actions);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_tile_the_screen_without_overlap_at_every_size() {
        // The sizes the console is laid out for (docs/console.md).
        for (w, h) in [(1280.0, 800.0), (1024.0, 768.0), (1920.0, 1080.0)] {
            let screen = Rect::from_min_size(Pos2::new(8.0, 8.0), Vec2::new(w - 16.0, h - 16.0));
            for (alert, actions) in [(true, true), (true, false), (false, false)] {
                let r = Regions::split(screen, alert, actions);
                let all = r.all();
                for (i, a) in all.iter().enumerate() {
                    assert!(screen.contains_rect(*a), "{w}x{h}: {a:?} leaves the screen");
                    for b in &all[i + 1..] {
                        assert!(!a.intersects(*b) || a.intersect(*b).area() == 0.0, "{a:?} overlaps {b:?}");
                    }
                }
                assert!(r.work.height() > 200.0, "{w}x{h}: the work area keeps room");
                assert_eq!(r.actions.map(|a| a.max.y), actions.then_some(screen.max.y), "the bar sits at the bottom");
            }
        }
    }

    #[test]
    fn the_work_area_starts_at_the_same_place_with_or_without_a_hit() {
        // The alert slot is reserved whether a banner shows or not: what sits below it never
        // moves when one arrives.
        let screen = Rect::from_min_size(Pos2::ZERO, Vec2::new(1280.0, 800.0));
        let a = Regions::split(screen, true, true);
        assert_eq!(a.alert.map(|r| r.height()), Some(ALERT_H));
        assert_eq!(a.work.min.y, STATUS_H + ALERT_H + MESSAGE_H + 3.0 * GAP);
    }
}
