//! Colours and sizes for every screen, in one place: touch-target sizes, day and night
//! palettes, and the alert colour of each hot-list priority.

use chrono::Timelike;
use eframe::egui::{self, Color32, FontId, Vec2};

/// The smallest touch target (px): a gloved finger in a moving car.
pub const TOUCH_MIN: f32 = 48.0;
/// Primary actions (ACKNOWLEDGE, Go active, Log on).
pub const TOUCH_PRIMARY: f32 = 64.0;
/// Padding inside panels.
pub const PAD: f32 = 12.0;

// Text sizes, in points: one scale for every screen, read at arm's length in a moving car.
// Screens name a size here instead of writing a number, so the scale changes in one place.
/// egui's small text (hover hints, units).
pub const TEXT_SMALL: f32 = 16.0;
/// Secondary lines where room is tight (the alert banner's place lines).
pub const TEXT_NOTE: f32 = 15.0;
/// Body text and warnings that must be read.
pub const TEXT_BODY: f32 = 18.0;
/// Lead lines under a heading (the match's kind and state).
pub const TEXT_LEAD: f32 = 20.0;
/// Emphasized lines (a step's outcome, a problem to fix).
pub const TEXT_EMPHASIS: f32 = 22.0;
/// Titles of panels and the plates in the recent-reads strip.
pub const TEXT_TITLE: f32 = 24.0;
/// Labels of the large buttons, and status banners.
pub const TEXT_BUTTON: f32 = 26.0;
/// What the on-screen keypad has typed.
pub const TEXT_ENTRY: f32 = 28.0;
/// The alert's ACKNOWLEDGE.
pub const TEXT_ACK: f32 = 30.0;
/// The alert's headline (HIT, plate, list).
pub const TEXT_ALERT: f32 = 32.0;
/// A plate's characters where the officer compares them.
pub const TEXT_PLATE: f32 = 34.0;
/// A screen that stops everything (ALPR not running).
pub const TEXT_BLOCKER: f32 = 40.0;

/// Day or night palette.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Palette {
    /// Bright, high contrast for daylight.
    Day,
    /// Dark and dim, low glare for night driving.
    Night,
}

/// How the palette is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThemeChoice {
    /// By the clock: night from 19:00 to 07:00 local time.
    Auto,
    /// Always day.
    Day,
    /// Always night.
    Night,
}

impl ThemeChoice {
    /// Parses the `[console] theme` setting.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "auto" => Some(Self::Auto),
            "day" => Some(Self::Day),
            "night" => Some(Self::Night),
            _ => None,
        }
    }

    /// The palette now, by the local clock.
    pub fn palette_now(self) -> Palette {
        self.palette_at(chrono::Local::now().hour())
    }

    /// The palette at local hour `hour` (0-23).
    pub fn palette_at(self, hour: u32) -> Palette {
        match self {
            Self::Day => Palette::Day,
            Self::Night => Palette::Night,
            Self::Auto if (7..19).contains(&hour) => Palette::Day,
            Self::Auto => Palette::Night,
        }
    }
}

/// The colours of one palette.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Theme {
    /// Which palette.
    pub palette: Palette,
    /// Window background.
    pub background: Color32,
    /// Panels and cards.
    pub panel: Color32,
    /// Normal text.
    pub text: Color32,
    /// Secondary text.
    pub muted: Color32,
    /// Good state (camera ok, list current).
    pub ok: Color32,
    /// Warning state (stale list, deactivated).
    pub warn: Color32,
    /// Problem state (camera down, errors).
    pub bad: Color32,
    /// Primary buttons.
    pub accent: Color32,
    /// Text on coloured buttons and banners.
    pub on_colour: Color32,
    /// The DEMO marker.
    pub demo: Color32,
}

impl Theme {
    /// The palette's colours.
    pub fn new(palette: Palette) -> Self {
        match palette {
            Palette::Day => Self {
                palette,
                background: Color32::from_rgb(236, 239, 243),
                panel: Color32::from_rgb(255, 255, 255),
                text: Color32::from_rgb(20, 24, 30),
                muted: Color32::from_rgb(90, 98, 110),
                ok: Color32::from_rgb(23, 123, 54),
                warn: Color32::from_rgb(153, 94, 0),
                bad: Color32::from_rgb(190, 30, 30),
                accent: Color32::from_rgb(20, 90, 180),
                on_colour: Color32::WHITE,
                demo: Color32::from_rgb(150, 40, 160),
            },
            // Night: dark backgrounds, dimmed saturated colours, no large bright areas.
            Palette::Night => Self {
                palette,
                background: Color32::from_rgb(8, 10, 14),
                panel: Color32::from_rgb(22, 26, 32),
                text: Color32::from_rgb(200, 204, 210),
                muted: Color32::from_rgb(130, 136, 146),
                ok: Color32::from_rgb(60, 150, 90),
                warn: Color32::from_rgb(190, 130, 40),
                bad: Color32::from_rgb(204, 101, 101),
                accent: Color32::from_rgb(93, 133, 188),
                on_colour: Color32::from_rgb(235, 235, 235),
                demo: Color32::from_rgb(140, 70, 150),
            },
        }
    }

    /// The banner colour of a hit of priority `priority` (1 most urgent): red, orange, amber,
    /// blue, each dark enough that the banner's text reads at 7:1 (darker still at night).
    pub fn priority_colour(&self, priority: i32) -> Color32 {
        let day = self.palette == Palette::Day;
        let (d, n) = match priority {
            ..=1 => ((182, 0, 0), (156, 18, 18)),
            2 => ((155, 58, 0), (133, 53, 8)),
            3 => ((114, 84, 0), (99, 73, 7)),
            _ => ((26, 88, 167), (38, 76, 142)),
        };
        let (r, g, b) = if day { d } else { n };
        Color32::from_rgb(r, g, b)
    }

    /// The text colour for a label on `fill`: the light or the dark one, whichever reads
    /// better on it.
    pub fn text_on(&self, fill: Color32) -> Color32 {
        let dark = if self.palette == Palette::Day { self.text } else { self.background };
        if contrast_ratio(self.on_colour, fill) >= contrast_ratio(dark, fill) { self.on_colour } else { dark }
    }

    /// Applies the palette and touch sizes to egui's style.
    pub fn apply(&self, ctx: &egui::Context) {
        let mut visuals = if self.palette == Palette::Day { egui::Visuals::light() } else { egui::Visuals::dark() };
        visuals.panel_fill = self.background;
        visuals.window_fill = self.panel;
        visuals.extreme_bg_color = self.panel;
        visuals.override_text_color = Some(self.text);
        // Our palette decides, not the desktop's light/dark preference.
        ctx.set_theme(if self.palette == Palette::Day { egui::Theme::Light } else { egui::Theme::Dark });
        ctx.set_visuals(visuals);
        ctx.all_styles_mut(|style| {
            style.spacing.interact_size = Vec2::new(TOUCH_MIN, TOUCH_MIN);
            style.spacing.button_padding = Vec2::new(16.0, 10.0);
            style.spacing.item_spacing = Vec2::new(10.0, 10.0);
            // A solid scroll bar a finger can grab, not a 6-10 px line that appears on hover.
            style.spacing.scroll = egui::style::ScrollStyle::solid();
            style.spacing.scroll.bar_width = 20.0;
            style.spacing.scroll.handle_min_length = TOUCH_MIN;
            style.text_styles.insert(egui::TextStyle::Body, FontId::proportional(TEXT_LEAD));
            style.text_styles.insert(egui::TextStyle::Button, FontId::proportional(TEXT_EMPHASIS));
            style.text_styles.insert(egui::TextStyle::Heading, FontId::proportional(TEXT_ACK));
            style.text_styles.insert(egui::TextStyle::Small, FontId::proportional(TEXT_SMALL));
            style.text_styles.insert(egui::TextStyle::Monospace, FontId::monospace(TEXT_LEAD));
        });
    }
}

/// Seconds a control must have stood still, at the same place with the same label, before a
/// tap on it counts: a tap meant for what was there a moment ago must not land on what
/// appeared or moved under the finger.
pub const SETTLE_S: f64 = 0.5;

/// A tap on a guarded control: it counts only once the control has settled.
#[derive(Debug)]
pub struct Tap {
    /// The widget's response (its rect, hover...).
    pub response: egui::Response,
    settled: bool,
}

impl Tap {
    /// Clicked, and the control had been there, unmoved, for [`SETTLE_S`].
    pub fn clicked(&self) -> bool {
        self.settled && self.response.clicked()
    }

    /// A hint shown while the control is disabled.
    pub fn on_disabled_hover_text(self, text: &str) -> Self {
        Self { response: self.response.on_disabled_hover_text(text), settled: self.settled }
    }
}

/// Wraps `response` of the control labelled `label` into a [`Tap`]. A control counts as new
/// when it was not drawn in the previous frame, or was drawn elsewhere or with another label
/// (a step that replaced it at the same place).
pub fn guard(ui: &egui::Ui, response: egui::Response, label: &str) -> Tap {
    let key = response.id.with(("settle", label));
    let (now, pass) = (ui.input(|i| i.time), ui.ctx().cumulative_pass_nr());
    let rect = response.rect;
    let since = ui.data_mut(|data| {
        let entry: &mut (egui::Rect, f64, u64) = data.get_temp_mut_or_insert_with(key, || (rect, now, pass));
        let moved = (entry.0.min - rect.min).length() > 0.5 || (entry.0.size() - rect.size()).length() > 0.5;
        let reappeared = entry.2 + 1 < pass;
        if moved || reappeared {
            *entry = (rect, now, pass);
        }
        entry.2 = pass;
        entry.1
    });
    Tap { response, settled: now - since >= SETTLE_S - 1e-9 }
}

/// A vertical scroll area a finger drags: in-car touchscreens often report touches as a
/// mouse, and egui scrolls by dragging only on touch events unless told otherwise. Its bar is
/// wide enough to grab (see [`Theme::apply`]).
pub fn finger_scroll() -> egui::ScrollArea {
    egui::ScrollArea::vertical().scroll_source(egui::scroll_area::ScrollSource::ALL)
}

/// The WCAG 2 contrast ratio of two colours (1 to 21): 4.5 is the least for normal text, 7
/// what text an officer must read at a glance should have.
pub fn contrast_ratio(a: Color32, b: Color32) -> f32 {
    fn luminance(c: Color32) -> f32 {
        let channel = |v: u8| {
            let v = f32::from(v) / 255.0;
            if v <= 0.039_28 { v / 12.92 } else { ((v + 0.055) / 1.055).powf(2.4) }
        };
        0.2126 * channel(c.r()) + 0.7152 * channel(c.g()) + 0.0722 * channel(c.b())
    }
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// A large button of at least the primary touch size, filled with `fill`.
pub fn big_button(ui: &mut egui::Ui, theme: &Theme, label: &str, fill: Color32, enabled: bool) -> Tap {
    let text = egui::RichText::new(label).size(TEXT_BUTTON).strong().color(theme.text_on(fill));
    let response =
        ui.add_enabled(enabled, egui::Button::new(text).fill(fill).min_size(Vec2::new(220.0, TOUCH_PRIMARY)));
    guard(ui, response, label)
}

/// A normal-height touch button filled with `fill` (REACTIVATE in the action bar).
pub fn filled_button(ui: &mut egui::Ui, theme: &Theme, label: &str, fill: Color32) -> Tap {
    let text = egui::RichText::new(label).strong().color(theme.text_on(fill));
    let response = ui.add(egui::Button::new(text).fill(fill).min_size(Vec2::new(TOUCH_MIN * 2.0, TOUCH_MIN)));
    guard(ui, response, label)
}

/// A normal touch button (at least 48 px high).
pub fn button(ui: &mut egui::Ui, label: &str, enabled: bool) -> Tap {
    let response = ui.add_enabled(enabled, egui::Button::new(label).min_size(Vec2::new(TOUCH_MIN * 2.0, TOUCH_MIN)));
    guard(ui, response, label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_theme_follows_the_clock() {
        let check = |choice: ThemeChoice, hour: u32, expected: Palette| assert_eq!(choice.palette_at(hour), expected);
        check(ThemeChoice::Auto, 6, Palette::Night);
        check(ThemeChoice::Auto, 7, Palette::Day);
        check(ThemeChoice::Auto, 18, Palette::Day);
        check(ThemeChoice::Auto, 19, Palette::Night);
        check(ThemeChoice::Night, 12, Palette::Night);
        check(ThemeChoice::Day, 23, Palette::Day);
    }

    /// Every text and background pair the screens use reads: 4.5:1 at least, 7:1 for normal
    /// text and for the banner an officer reads at a glance.
    #[test]
    fn text_contrast_meets_the_targets() {
        for palette in [Palette::Day, Palette::Night] {
            let t = Theme::new(palette);
            let check = |what: &str, fg: Color32, bg: Color32, least: f32| {
                let ratio = contrast_ratio(fg, bg);
                assert!(ratio >= least, "{palette:?}: {what} is {ratio:.2}:1, under {least}:1");
            };
            for (name, bg) in [("background", t.background), ("panel", t.panel)] {
                check(&format!("text on {name}"), t.text, bg, 7.0);
                for (colour, fg) in [("muted", t.muted), ("ok", t.ok), ("warn", t.warn), ("bad", t.bad)] {
                    check(&format!("{colour} text on {name}"), fg, bg, 4.5);
                }
            }
            for (name, fill) in [("ok", t.ok), ("warn", t.warn), ("bad", t.bad), ("accent", t.accent), ("demo", t.demo)]
            {
                check(&format!("button label on {name}"), t.text_on(fill), fill, 4.5);
            }
            for priority in 1..=4 {
                check(&format!("banner text on priority {priority}"), t.on_colour, t.priority_colour(priority), 7.0);
            }
        }
        assert!((contrast_ratio(Color32::BLACK, Color32::WHITE) - 21.0).abs() < 0.01);
    }

    #[test]
    fn priorities_have_distinct_colours() {
        for palette in [Palette::Day, Palette::Night] {
            let t = Theme::new(palette);
            let colours: Vec<Color32> = (1..=4).map(|p| t.priority_colour(p)).collect();
            for (i, a) in colours.iter().enumerate() {
                for b in &colours[i + 1..] {
                    assert_ne!(a, b);
                }
            }
        }
    }
}
