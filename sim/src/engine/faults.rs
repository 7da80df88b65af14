//! Faults: the scenario's explicit timeline, the seeded random nemesis, and how each fault
//! is applied to the world and undone.
//!
//! Every fault in force has an id and knows how it is undone (heal its links, restart the
//! node, resume it), so a fault with a duration, a nemesis fault and the final heal all go
//! through one path. A crash drops the node's volatile state, its timers and its pause
//! backlog; with `lose_unsynced` the crash also drops a random part of the records written
//! since the last sync (a torn suffix of the write-ahead log). A restarted server is
//! rebuilt by `Protocol::recover` from the surviving records alone.

use protocols::node::{NodeId, Protocol, Time, MILLISECOND};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::network::{exponential, LinkFault};
use super::record::FaultPeriod;
use super::{Engine, EventKind};
use crate::scenario::{self, time_of, FaultKind, Heal, NemesisKind, Scenario};

/// How a fault in force is undone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Undo {
    Link,
    Restart(NodeId),
    Resume(NodeId),
}

/// A fault in force.
#[derive(Clone, Debug)]
pub struct Active {
    id: u64,
    undo: Undo,
    /// Its entry in the recorder's fault periods.
    period: usize,
}

/// The random nemesis: it draws a fault kind, targets and a duration from its own stream.
pub struct Nemesis {
    kinds: Vec<NemesisKind>,
    pub(crate) interval_ms: f64,
    pub(crate) fault_ms: f64,
    pub(crate) end: Time,
    lose_unsynced: f64,
    max_down: u32,
    clock_jump_ms: i64,
    rng: ChaCha8Rng,
}

impl Nemesis {
    pub fn new(config: &scenario::Nemesis, scenario: &Scenario, rng: ChaCha8Rng) -> Nemesis {
        Nemesis {
            kinds: config.kinds.clone(),
            interval_ms: config.interval_ms,
            fault_ms: config.fault_ms,
            end: config.end_ms.unwrap_or(scenario.duration_ms) * MILLISECOND,
            lose_unsynced: config.lose_unsynced,
            max_down: config.max_down.unwrap_or((scenario.nodes - 1) / 2),
            clock_jump_ms: config.clock_jump_ms as i64,
            rng,
        }
    }

    pub(crate) fn gap(&mut self, mean_ms: f64) -> Time {
        (exponential(&mut self.rng, mean_ms) * MILLISECOND as f64) as Time
    }

    /// Draws the next fault for a cluster of `servers` of which `up` are neither crashed nor paused.
    pub(crate) fn draw(&mut self, servers: u32, up: &[NodeId]) -> Option<FaultKind> {
        let kind = *self.kinds.choose(&mut self.rng)?;
        let mut shuffled: Vec<NodeId> = (0..servers).collect();
        shuffled.shuffle(&mut self.rng);
        let down = servers - up.len() as u32;
        let fault = match kind {
            NemesisKind::Partition if servers >= 2 => {
                let minority = self.rng.gen_range(1..=(servers as usize / 2).max(1));
                FaultKind::Partition { groups: vec![shuffled[..minority].to_vec()] }
            }
            NemesisKind::Cut if servers >= 2 => {
                let targets = self.rng.gen_range(1..servers as usize);
                FaultKind::Cut { from: vec![shuffled[0]], to: shuffled[1..=targets].to_vec() }
            }
            NemesisKind::Isolate => FaultKind::Isolate { node: shuffled[0] },
            NemesisKind::Bridge if servers >= 3 => {
                let half = (servers as usize - 1) / 2;
                let (left, right) = shuffled[1..].split_at(half);
                FaultKind::Bridge { left: left.to_vec(), right: right.to_vec(), bridge: shuffled[0] }
            }
            NemesisKind::Crash if down < self.max_down && !up.is_empty() => {
                let lose_unsynced = self.rng.gen::<f64>() < self.lose_unsynced;
                FaultKind::Crash { node: *up.choose(&mut self.rng)?, lose_unsynced }
            }
            NemesisKind::Pause if down < self.max_down && !up.is_empty() => {
                FaultKind::Pause { node: *up.choose(&mut self.rng)? }
            }
            NemesisKind::ClockJump => {
                let ms = self.rng.gen_range(1..=self.clock_jump_ms.max(1));
                let ms = if self.rng.gen() { ms } else { -ms };
                FaultKind::ClockJump { node: shuffled[0], ms }
            }
            _ => return None,
        };
        Some(fault)
    }
}

impl<P: Protocol> Engine<P> {
    /// Puts the timeline, the nemesis and the final heal on the queue.
    pub(super) fn schedule_faults(&mut self, scenario: &Scenario) {
        for (index, fault) in scenario.faults.iter().enumerate() {
            self.push(time_of(fault.at_ms), EventKind::Fault(index));
        }
        if let Some(nemesis) = &mut self.nemesis {
            let start = scenario.nemesis.as_ref().map_or(0, |config| config.start_ms) * MILLISECOND;
            let first = start + nemesis.gap(nemesis.interval_ms);
            self.push(first, EventKind::Nemesis);
        }
        let has_faults = !scenario.faults.is_empty() || scenario.nemesis.is_some();
        if has_faults && scenario.checks.heal != Heal::None {
            self.push(self.faults_end, EventKind::HealAll);
        }
    }

    pub(super) fn on_timeline_fault(&mut self, index: usize) {
        let fault = self.timeline[index].clone();
        if let Some(id) = self.apply_fault(&fault.kind) {
            if let Some(duration) = fault.duration_ms {
                self.push(self.now + time_of(duration), EventKind::Undo(id));
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
            self.push(self.now + duration, EventKind::Undo(id));
        }
        self.push(self.now + next, EventKind::Nemesis);
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
        Undo::Link
    }

    fn crash(&mut self, node: NodeId, lose_unsynced: bool) -> Option<Undo> {
        if self.is_crashed(node) {
            return None;
        }
        self.servers[node as usize] = None;
        let state = &mut self.nodes[node as usize];
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
        Some(Undo::Restart(node))
    }

    fn pause(&mut self, node: NodeId) -> Option<Undo> {
        if self.is_down(node) {
            return None;
        }
        self.nodes[node as usize].paused = true;
        Some(Undo::Resume(node))
    }

    fn is_down(&self, node: NodeId) -> bool {
        self.is_crashed(node) || self.nodes[node as usize].paused
    }

    /// Undoes the fault with this id, if it is still in force.
    pub(super) fn undo(&mut self, id: u64) {
        let Some(position) = self.active.iter().position(|active| active.id == id) else { return };
        let active = self.active.remove(position);
        self.recorder.faults[active.period].end = Some(self.now);
        match active.undo {
            Undo::Link => {
                self.network.remove_fault(id);
                self.recorder.event(self.now, None, || format!("heal fault {id}"));
            }
            Undo::Restart(node) => self.restart(node),
            Undo::Resume(node) => self.resume(node),
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

    /// The end of the fault window: everything heals, or (`heal = "majority"`) everything
    /// heals for the majority core of servers `0..majority` while the rest stay cut off,
    /// crashed or paused as they were.
    pub(super) fn heal_all(&mut self) {
        let core = self.setup.majority() as NodeId;
        let outside_core = |undo| matches!(undo, Undo::Restart(node) | Undo::Resume(node) if node >= core);
        match self.heal {
            Heal::Majority => self.undo_where(|undo| !outside_core(undo)),
            _ => self.undo_where(|_| true),
        };
        self.network.heal();
        if self.heal == Heal::Majority && core < self.setup.servers {
            self.apply_fault(&FaultKind::Partition { groups: vec![(0..core).collect()] });
        }
        self.recorder.event(self.now, None, || "the fault window ends: heal".to_string());
    }

    fn restart(&mut self, node: NodeId) {
        if !self.is_crashed(node) {
            return;
        }
        let state = &self.nodes[node as usize];
        self.servers[node as usize] = Some(P::recover(&self.setup, node, &state.log));
        self.recorder.event(self.now, Some(node), || format!("restart from {} durable records", state.log.len()));
        self.dispatch_recover(node);
    }

    fn resume(&mut self, node: NodeId) {
        let state = &mut self.nodes[node as usize];
        if !state.paused {
            return;
        }
        state.paused = false;
        let backlog = std::mem::take(&mut state.backlog);
        self.recorder.event(self.now, Some(node), || format!("resume with {} late events", backlog.len()));
        for event in backlog {
            self.push(self.now, event.kind);
        }
    }
}

/// A fault in words, for events and plots.
pub fn describe(kind: &FaultKind) -> String {
    match kind {
        FaultKind::Partition { groups } => format!("partition {groups:?}"),
        FaultKind::Cut { from, to } => format!("cut {from:?} -> {to:?}"),
        FaultKind::Isolate { node } => format!("isolate {node}"),
        FaultKind::Bridge { left, right, bridge } => format!("bridge {left:?} <{bridge}> {right:?}"),
        FaultKind::Heal => "heal".to_string(),
        FaultKind::Crash { node, lose_unsynced: true } => format!("crash {node} losing unsynced writes"),
        FaultKind::Crash { node, .. } => format!("crash {node}"),
        FaultKind::Restart { node } => format!("restart {node}"),
        FaultKind::Pause { node } => format!("pause {node}"),
        FaultKind::Resume { node } => format!("resume {node}"),
        FaultKind::ClockJump { node, ms } => format!("clock jump {node} by {ms} ms"),
    }
}
