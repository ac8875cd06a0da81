//! Hits: what a hot-list match becomes, the lifecycle that refuses illegal transitions, and
//! the queue of open alerts (priority order, repeats of an open hit do not re-alarm).
//!
//! Part of the policy core: no GUI, camera or audio dependency (the tone lives in `ui::tone`).

pub mod alerts;
pub mod lifecycle;
pub mod record;

pub use alerts::{AlertQueue, Raised};
pub use lifecycle::{
    ConfirmResult, Disposition, HitAction, HitEnding, HitError, MIN_JUSTIFICATION_CHARS, apply, is_open, next_state,
};
pub use record::{HitEventRecord, HitRecord, HitState};
