//! Voting: the naive majority vote, Gifford's weighted voting (quorum replication with
//! R + W > N), and the ABD atomic register.
//!
//! - [`majority_vote`]: a proposer asks for votes and takes its value once a majority
//!   supports it: the scheme as users first write it. Safe with one proposer; with several,
//!   or with a voter that forgets its vote, two values are decided, which is what Paxos's
//!   first phase prevents. It serves the consensus service.
//! - [`quorum`]: a replicated register store after Gifford ("Weighted Voting for Replicated
//!   Data", SOSP 1979) and Dynamo (DeCandia et al., SOSP 2007): votes per replica, a read
//!   quorum of R votes and a write quorum of W, versions numbered by each key's home replica,
//!   read repair, and sloppy quorums with hinted handoff as options.
//! - [`abd`]: the multi-writer ABD register (Attiya, Bar-Noy and Dolev, JACM 1995): two
//!   round trips to a majority for every read and every write; linearizable under any
//!   minority of crashes and any delays.
//!
//! The quorum store and ABD share their client ([`client`]), service ([`register`]: reads
//! and writes only), replica state ([`registers`]), coordinator sessions ([`sessions`]),
//! and online checker with its staleness figures ([`checker`], [`staleness`]), so they are
//! compared on the same operations, with the same history check, against each other and
//! against Raft.

pub mod abd;
pub mod checker;
pub mod client;
pub mod majority_vote;
pub mod quorum;
pub mod register;
pub mod registers;
pub mod sessions;
pub mod staleness;
