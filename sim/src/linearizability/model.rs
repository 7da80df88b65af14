//! The model abstraction (a sequential specification, as in Knossos and Porcupine) and the
//! operation type the checker reads. They live in the protocols crate (`protocols::history`),
//! since each service declares the model its histories are checked against; the checker
//! re-exports them.

pub use protocols::history::{Model, ModelOp, Op};
