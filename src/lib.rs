//! patrol-alpr: an in-car Automated License Plate Recognition console.
//!
//! The crate is layered (see `docs/architecture.md`; `tests/layering.rs` checks it): a
//! policy core with no GUI, camera, audio or storage dependency (`plate`, `audit`, `hits`,
//! hot-list matching, the session's role rules), shared `geometry` beneath capture, rendering
//! and recognition, the pipeline and store around them, and the command line and screens at
//! the edge.

pub mod audit;
pub mod camera;
pub mod cli;
pub mod config;
pub mod console;
pub mod fleet;
pub mod geometry;
pub mod hits;
pub mod hotlist;
pub mod location;
pub mod pipeline;
pub mod plate;
pub mod recognize;
pub mod render;
pub mod reports;
pub mod session;
pub mod store;
pub mod ui;
