//! The simulator: the world and the substrates it runs on, the network and fault model,
//! workloads, checkers, scenario loading, sweeps, comparisons and the `faultline` command
//! line.
//!
//! A run is [`scenario::load`] then [`run::run`]: the protocol (found in the [`catalog`])
//! simulated by a [`world::World`] on a substrate, the checkers' verdict, and the figures,
//! written out by [`run::write_outputs`]. See README's architecture section for the code map.

pub mod catalog;
pub mod checkers;
pub mod cli;
pub mod compare;
pub mod linearizability;
pub mod record;
pub mod replay;
pub mod report;
pub mod rng;
pub mod run;
pub mod scenario;
pub mod substrate;
pub mod sweep;
pub mod world;

pub use world::RunOptions;
