//! The Raft safety checker: the five properties of the paper's Figure 3, checked online,
//! one file per property.
//!
//! - Election safety: at most one leader is elected in a term (from `LeaderElected`).
//! - Leader append-only: a leader never deletes or overwrites entries of its log during its
//!   term (from the leaders' logs).
//! - Log matching: two logs with an entry of the same index and term are identical up to
//!   it (from the logs, checked on the entries that changed).
//! - Leader completeness: an entry committed in a term is in the log of every leader of a
//!   later term (from `Committed`, checked against every leader's log).
//! - State machine safety: no two servers apply different entries at one index, and no two
//!   entries are committed at one index (from `Applied` and `Committed`); with snapshots,
//!   a snapshot ends at the committed entry of its index, and a server's state machine never
//!   goes back while it runs (from `SnapshotTaken`, `SnapshotInstalled` and `Restored`).
//!
//! Logs may be compacted (thesis chapter 5): the checks read an index a snapshot covers as
//! holding its committed entry. The checker also measures how large the durable logs grew
//! (`durable_log.rs`, a figure).
//!
//! `inspect` runs after every event, and only the server that handled it changed (a crash
//! changes nothing a checker reads until the server restarts, which is an event of its
//! own, after which its log is read anew). So the checker reads only that server: its new
//! log entries, and the new commits it must hold if it leads; and the new commits every
//! other leader must hold. `[settings] checks = "full"` selects the full form instead,
//! which re-reads every server's whole log and every commit after every event; a test
//! (sim/tests/raft_checks.rs) runs both forms on the flawed variants' scenarios and they
//! find the same violations on the same seeds.

mod durable_log;
mod election_safety;
mod leader_append_only;
mod leader_completeness;
mod log_matching;
mod state_machine_safety;

use durable_log::DurableLog;
use election_safety::ElectionSafety;
use leader_append_only::LeaderAppendOnly;
use leader_completeness::LeaderCompleteness;
use log_matching::LogMatching;
use state_machine_safety::StateMachineSafety;

use super::{Checks, Raft, RaftHost, RaftObservation};
use crate::node::{Checker, NodeId, SetupOf, Time, View, Violation};

/// Raft's online checker of Figure 3's properties, for any host protocol (the catalogued
/// `raft` by default). A host with a checker of its own embeds one and hands it the Raft
/// observations (`observe_raft`) and the world (`inspect`).
#[derive(Debug)]
pub struct RaftChecker<H: RaftHost = Raft> {
    election_safety: ElectionSafety,
    leader_append_only: LeaderAppendOnly,
    log_matching: LogMatching<H::Machine>,
    leader_completeness: LeaderCompleteness,
    state_machine_safety: StateMachineSafety<H::Machine>,
    durable_log: DurableLog,
    checks: Checks,
}

impl<H: RaftHost> RaftChecker<H> {
    pub fn new(setup: &SetupOf<H>) -> RaftChecker<H> {
        RaftChecker {
            checks: H::options(setup).settings.checks,
            election_safety: ElectionSafety::default(),
            leader_append_only: LeaderAppendOnly::default(),
            log_matching: LogMatching::default(),
            leader_completeness: LeaderCompleteness::default(),
            state_machine_safety: StateMachineSafety::default(),
            durable_log: DurableLog::default(),
        }
    }

    /// A Raft observation made by `node` at `at`.
    pub fn observe_raft(
        &mut self,
        at: Time,
        node: NodeId,
        observation: &RaftObservation<H::Machine>,
    ) -> Result<(), Violation> {
        match observation {
            RaftObservation::LeaderElected { term } => self.election_safety.on_leader_elected(at, node, *term),
            RaftObservation::Committed { index, term, leader_term } => {
                self.state_machine_safety.on_committed(at, node, *index, *term)?;
                self.leader_completeness.on_committed(at, node, *index, *term, *leader_term);
                Ok(())
            }
            RaftObservation::Applied { index, term, payload } => {
                self.state_machine_safety.on_applied(at, node, *index, *term, payload)
            }
            RaftObservation::SnapshotTaken { index, term } => {
                self.state_machine_safety.on_snapshot(at, node, *index, *term, false)
            }
            RaftObservation::SnapshotInstalled { index, term } => {
                self.state_machine_safety.on_snapshot(at, node, *index, *term, true)
            }
            RaftObservation::Restored { index, .. } => {
                self.state_machine_safety.on_restored(at, node, *index);
                self.leader_append_only.forget(node);
                self.log_matching.forget(node);
                self.leader_completeness.forget(node);
                Ok(())
            }
        }
    }
}

impl<H: RaftHost> Checker<H> for RaftChecker<H> {
    const INSPECTS: bool = true;

    fn observe(&mut self, at: Time, node: NodeId, observation: &H::Observation) -> Result<(), Violation> {
        match H::as_observation(observation) {
            Some(observation) => self.observe_raft(at, node, observation),
            None => Ok(()),
        }
    }

    fn stuck_reason(&self, _end: Time) -> Option<String> {
        Some(match self.election_safety.latest() {
            Some((term, node, at)) => format!("the latest leader elected: server {node}, term {term}, at {}", ms(at)),
            None => "no leader was ever elected".to_string(),
        })
    }

    fn figures(&self, _end: Time) -> Vec<(&'static str, f64)> {
        self.durable_log.figures()
    }

    fn inspect(&mut self, at: Time, node: NodeId, world: &dyn View<H>) -> Result<(), Violation> {
        let server = |id| world.server(id).and_then(H::as_server);
        if self.checks == Checks::Full {
            for id in 0..world.servers() {
                self.durable_log.inspect_whole_log(id, world);
                self.leader_append_only.inspect(at, id, server(id), true)?;
                self.log_matching.inspect_whole_log(at, id, server(id))?;
                self.leader_completeness.inspect(at, id, server(id), true)?;
            }
            return Ok(());
        }
        self.durable_log.inspect(node, world);
        self.leader_append_only.inspect(at, node, server(node), false)?;
        self.log_matching.inspect(at, node, server(node))?;
        self.leader_completeness.inspect(at, node, server(node), false)?;
        self.leader_completeness.inspect_other_leaders(at, node, server)
    }
}

/// Entry `at` of a table by index or by server id, grown on first use.
fn slot<T>(table: &mut Vec<Option<T>>, at: usize) -> &mut Option<T> {
    if table.len() <= at {
        table.resize_with(at + 1, || None);
    }
    &mut table[at]
}

/// A time for a violation's text, in milliseconds.
fn ms(at: Time) -> String {
    format!("{:.3} ms", at as f64 / crate::node::MILLISECOND as f64)
}
