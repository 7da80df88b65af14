//! The protocols crate: faultline's sans-IO node contract ([`node`]) and every protocol it
//! simulates, each with its client, message type, named variants and invariant checker.
//!
//! Nothing here reads a clock, uses a global RNG, performs I/O or iterates a `HashMap`:
//! time and randomness come in through the [`node::Context`], so a protocol behaves the
//! same on every engine and in every replay.

pub mod commit;
pub mod kv;
pub mod multipaxos;
pub mod node;
pub mod operation;
pub mod paxos;
pub mod raft;
pub mod threepc;
pub mod twopc;
