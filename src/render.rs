//! Synthetic plate and scene rendering (shared by the simulator, tests and demos).
