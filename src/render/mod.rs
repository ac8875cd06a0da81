//! Synthetic plate and scene rendering, shared by the traffic simulator, tests and demos.
//!
//! - [`plate`]: US licence plates with known text in several state styles.
//! - [`scene`]: plates placed into backgrounds at a position, size, rotation, perspective and
//!   blur, with ground truth.
//! - [`warp`] and [`effects`]: the small image operations behind them (projective warp with
//!   bilinear sampling, box and motion blur, seeded Gaussian noise).
//!
//! Fonts are DejaVu Sans Bold and DejaVu Sans Condensed Bold, embedded from `assets/fonts/`
//! (licence in `assets/fonts/LICENSE-DejaVu.txt`).

pub mod effects;
pub mod plate;
pub mod scene;
pub mod text;
pub mod warp;

pub use plate::{PlateStyle, render_plate};
pub use scene::{PlacedPlate, Placement, PlateMips, Scene};

/// Why a plate could not be rendered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RenderError {
    /// The text is not 2-8 characters of A-Z / 0-9 (single spaces or dashes between).
    #[error("cannot print {0:?} on a plate: use 2-8 characters A-Z, 0-9 (spaces or dashes between)")]
    InvalidText(String),
    /// The requested plate is too small to draw.
    #[error("a plate {0} px wide is too small to draw (16 px at least)")]
    TooSmall(u32),
    /// An embedded font could not be parsed (a broken build).
    #[error("the embedded plate font cannot be read")]
    Font,
}
