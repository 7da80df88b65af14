//! Faults on the madsim engine: the native engine's timeline, nemesis and bookkeeping
//! (`engine/faults.rs`: fault ids, undo kinds, fault periods, the final heal), carried out
//! through madsim. Link faults become clogged links, a crash kills the process's madsim node
//! (its tasks, timers and socket die with it), a restart restarts the node, which boots and
//! is rebuilt from the host's log, and a pause pauses the node (its tasks report late).
//! Losing unsynced writes and clock jumps are the host's: it cuts its copy of the log and
//! moves the node's clock.

use protocols::node::{NodeId, Protocol, MILLISECOND};
use rand::Rng;

use super::inbox::Report;
use super::{Host, Life};
use crate::engine::faults::describe;
use crate::engine::network::LinkFault;
use crate::engine::record::FaultPeriod;
use crate::scenario::{time_of, FaultKind, Heal, Scenario};

/// How a fault in force is undone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Undo {
    Link,
    Restart(NodeId),
    Resume(NodeId),
}

/// A fault in force.
#[derive(Clone, Debug)]
pub(super) struct Active {
    id: u64,
    undo: Undo,
    /// Its entry in the recorder's fault periods.
    period: usize,
}

impl<P: Protocol> Host<P> {
    /// Sets timers on the host's node for the timeline, the nemesis and the final heal.
    pub(super) fn schedule_faults(&mut self, scenario: &Scenario) {
        for (index, fault) in scenario.faults.iter().enumerate() {
            self.at(time_of(fault.at_ms), Report::Fault(index));
        }
        let start = scenario.nemesis.as_ref().map_or(0, |config| config.start_ms) * MILLISECOND;
        if let Some(gap) = self.nemesis.as_mut().map(|nemesis| nemesis.gap(nemesis.interval_ms)) {
            self.at(start + gap, Report::Nemesis);
        }
        let has_faults = !scenario.faults.is_empty() || scenario.nemesis.is_some();
        if has_faults && scenario.checks.heal != Heal::None {
            self.at(self.faults_end, Report::HealAll);
        }
    }

    pub(super) fn on_timeline_fault(&mut self, index: usize) {
        let fault = self.timeline[index].clone();
        if let Some(id) = self.apply_fault(&fault.kind) {
            if let Some(duration) = fault.duration_ms {
                self.at(self.now + time_of(duration), Report::Undo(id));
            }
        }
    }

    pub(super) fn on_nemesis(&mut self) {
        let up: Vec<NodeId> = (0..self.setup.servers).filter(|&node| !self.is_down(node)).collect();
        let Some(nemesis) = &mut self.nemesis else { return };
        if self.now >= nemesis.end {
            return;
        }
        let fault = nemesis.draw(self.setup.servers, &up);
        let (duration, next) = (nemesis.gap(nemesis.fault_ms), nemesis.gap(nemesis.interval_ms));
        if let Some(id) = fault.and_then(|fault| self.apply_fault(&fault)) {
            self.at(self.now + duration, Report::Undo(id));
        }
        self.at(self.now + next, Report::Nemesis);
    }

    /// Undoes the fault with this id, if it is still in force.
    pub(super) fn undo(&mut self, id: u64) {
        let Some(position) = self.active.iter().position(|active| active.id == id) else { return };
        let active = self.active.remove(position);
        self.recorder.faults[active.period].end = Some(self.now);
        match active.undo {
            Undo::Link => {
                self.network.remove_fault(id);
                self.sync_clogs();
                self.recorder.event(self.now, None, || format!("heal fault {id}"));
            }
            Undo::Restart(node) => self.restart(node),
            Undo::Resume(node) => self.resume(node),
        }
    }

    /// The end of the fault window, as on the native engine: everything heals, or (`heal =
    /// "majority"`) everything heals for the majority core while the rest stay as they were.
    pub(super) fn heal_all(&mut self) {
        let core = self.setup.majority() as NodeId;
        let outside_core = |undo| matches!(undo, Undo::Restart(node) | Undo::Resume(node) if node >= core);
        match self.heal {
            Heal::Majority => self.undo_where(|undo| !outside_core(undo)),
            _ => self.undo_where(|_| true),
        };
        self.network.heal();
        self.sync_clogs();
        if self.heal == Heal::Majority && core < self.setup.servers {
            self.apply_fault(&FaultKind::Partition { groups: vec![(0..core).collect()] });
        }
        self.recorder.event(self.now, None, || "the fault window ends: heal".to_string());
    }

    /// Applies a fault; returns its id if it stays in force until undone.
    fn apply_fault(&mut self, kind: &FaultKind) -> Option<u64> {
        let id = self.next_fault + 1;
        let undo = match kind {
            FaultKind::Partition { groups } => self.add_link_fault(id, LinkFault::Partition { groups: groups.clone() }),
            FaultKind::Cut { from, to } => {
                self.add_link_fault(id, LinkFault::Cut { from: from.clone(), to: to.clone() })
            }
            FaultKind::Isolate { node } => self.add_link_fault(id, LinkFault::Isolate { node: *node }),
            FaultKind::Bridge { left, right, .. } => {
                self.add_link_fault(id, LinkFault::Bridge { left: left.clone(), right: right.clone() })
            }
            FaultKind::Heal => return self.undo_where(|undo| undo == Undo::Link),
            FaultKind::Crash { node, lose_unsynced } => self.crash(*node, *lose_unsynced)?,
            FaultKind::Restart { node } => return self.undo_where(|undo| undo == Undo::Restart(*node)),
            FaultKind::Pause { node } => self.pause(*node)?,
            FaultKind::Resume { node } => return self.undo_where(|undo| undo == Undo::Resume(*node)),
            FaultKind::ClockJump { node, ms } => {
                self.nodes[*node as usize].clock.jump(*ms);
                self.recorder.faults.push(FaultPeriod { start: self.now, end: Some(self.now), kind: kind.clone() });
                self.recorder.event(self.now, Some(*node), || describe(kind));
                return None;
            }
        };
        self.next_fault = id;
        let period = self.recorder.faults.len();
        self.recorder.faults.push(FaultPeriod { start: self.now, end: None, kind: kind.clone() });
        self.recorder.event(self.now, None, || describe(kind));
        self.active.push(Active { id, undo, period });
        Some(id)
    }

    fn add_link_fault(&mut self, id: u64, fault: LinkFault) -> Undo {
        self.network.add_fault(id, fault);
        self.sync_clogs();
        Undo::Link
    }

    /// Kills the node's madsim node; with `lose_unsynced`, the host also drops a random part of
    /// the records written since the last sync.
    fn crash(&mut self, node: NodeId, lose_unsynced: bool) -> Option<Undo> {
        if self.is_crashed(node) {
            return None;
        }
        self.servers[node as usize] = None;
        let state = &mut self.nodes[node as usize];
        self.madsim.kill(state.place.id());
        self.inbox.forget(node);
        state.life = Life::Crashed;
        state.endpoint = None;
        state.timers.clear();
        state.backlog.clear();
        state.paused = false;
        if lose_unsynced && state.log.len() > state.synced {
            let kept = self.fault_rng.gen_range(state.synced..state.log.len());
            state.log.truncate(kept);
        }
        // A crash ends a pause: the node resumes only by restarting.
        for active in self.active.iter().filter(|active| active.undo == Undo::Resume(node)) {
            self.recorder.faults[active.period].end = Some(self.now);
        }
        self.active.retain(|active| active.undo != Undo::Resume(node));
        self.forget_transit_to(node);
        Some(Undo::Restart(node))
    }

    /// Restarts a crashed node's madsim node: it boots, and recovers once its endpoint is up.
    fn restart(&mut self, node: NodeId) {
        let state = &mut self.nodes[node as usize];
        if state.life != Life::Crashed {
            return;
        }
        let id = state.place.id();
        self.madsim.restart(id);
        state.place = self.madsim.get_node(id).expect("a restarted node still exists");
        state.life = Life::Rebooting;
    }

    fn pause(&mut self, node: NodeId) -> Option<Undo> {
        if self.is_down(node) {
            return None;
        }
        let state = &mut self.nodes[node as usize];
        self.madsim.pause(state.place.id());
        state.paused = true;
        Some(Undo::Resume(node))
    }

    fn resume(&mut self, node: NodeId) {
        let state = &mut self.nodes[node as usize];
        if !state.paused {
            return;
        }
        state.paused = false;
        self.madsim.resume(state.place.id());
        let backlog = std::mem::take(&mut state.backlog);
        self.release_transit_to(node);
        self.recorder.event(self.now, Some(node), || "resume".to_string());
        for report in backlog {
            self.inbox.push(report);
        }
    }

    /// Undoes every fault in force that `matches`; the timeline's heal, restart and resume.
    fn undo_where(&mut self, matches: impl Fn(Undo) -> bool) -> Option<u64> {
        let ids: Vec<u64> = self.active.iter().filter(|active| matches(active.undo)).map(|active| active.id).collect();
        for id in ids {
            self.undo(id);
        }
        None
    }

    fn is_down(&self, node: NodeId) -> bool {
        self.is_crashed(node) || self.nodes[node as usize].paused
    }
}
