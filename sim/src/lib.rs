//! The simulator: engines, the network and fault model, workloads, checkers, scenario
//! loading and the `faultline` command line.
//!
//! A run is [`scenario::load`] then [`run::run`]: the protocol's engine run with the seed,
//! the checkers' verdict, and the figures, written out by [`run::write_outputs`].

pub mod checkers;
pub mod cli;
pub mod engine;
pub mod linearizability;
pub mod madsim_engine;
pub mod registry;
pub mod replay;
pub mod report;
pub mod run;
pub mod scenario;
pub mod sweep;
