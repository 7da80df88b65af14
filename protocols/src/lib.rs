//! The protocols crate: faultline's sans-IO node contract ([`node`]), the services clients
//! use ([`service`], with [`history`] for what a run records of them), and every protocol it
//! simulates, each with its client, message type, named variants and invariant checker.
//!
//! Nothing here reads a clock, uses a global RNG, performs I/O or iterates a `HashMap`:
//! time and randomness come in through the node's context, so a protocol behaves the same
//! on every engine and in every replay.

pub mod commit;
pub mod consensus;
pub mod hashing;
pub mod history;
pub mod kv;
pub mod lock;
pub mod multipaxos;
pub mod node;
pub mod paxos;
pub mod raft;
pub mod service;
pub mod testing;
pub mod threepc;
pub mod twopc;
pub mod voting;
pub mod zab;
