//! patrol-alpr: an in-car Automated License Plate Recognition console.
//!
//! The crate is layered (see `docs/architecture.md`): a policy core with no GUI, camera or
//! audio dependency (`plate`, and later the hot lists, hit lifecycle and session rules),
//! recognition and capture around it, and the command line and screens at the edge.

pub mod audit;
pub mod camera;
pub mod cli;
pub mod config;
pub mod console;
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
