//! Checkers that judge a finished run from its record, one file per property. The
//! protocols' own invariants are checked online by their `Checker`s inside the engine.

pub mod linearizable;
pub mod liveness;
