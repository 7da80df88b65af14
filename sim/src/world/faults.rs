//! Faults: the scenario's explicit timeline, the seeded random nemesis, and how each fault
//! is applied to the world and undone.
//!
//! Every fault in force has an id and knows how it is undone (heal its links, restart the
//! node, resume it), so a fault with a duration, a nemesis fault and the final heal all go
//! through one path. A crash drops the server's volatile state, its timers, its pause
//! backlog, its syncs in flight and the sends waiting for them; with `lose_unsynced` it
//! also drops a random part of the records not yet durable (a torn suffix of the
//! write-ahead log). A restarted server is rebuilt by `Protocol::recover` from the surviving
//! records alone. Pauses, clock jumps and link faults may strike clients as well as servers.
//! A join starts a spare server, empty, and announces it; a leave tells a server to hand off
//! and removes it once it has (or once its time is up).
//!
//! Fault points: faults aimed at the moments bugs hide in, keyed by what every protocol has
//! (syncs, restarts, timeouts, milestones) rather than by any protocol's messages.
//! - A crash `at_sync` waits for its server's next sync and strikes while it is under way:
//!   the handler that asked for the sync runs to its end (its plain sends and reports
//!   leave, those that wait for the sync are held), the sync never finishes, and with
//!   `lose_unsynced` the records it was to make durable may be lost (a crash right after a
//!   change of durable state, before it is safe): a held report reaches the checker only if
//!   its records survive.
//! - `[network] replay`: when a crashed server restarts, each of the last [`REPLAY_KEPT`]
//!   messages sent to it before the crash reaches it again with that probability, within
//!   a timeout of its recovery (duplicates delayed past the restart).
//! - `[nemesis] aim`: a share of the faults strike the server that last reached a milestone
//!   (the leader just elected, the acceptor that just accepted) instead of a random one.
//! - `[nemesis] pause_ms`: pauses of their own length, so that a pause may span election
//!   timeouts while the other faults stay short.
//! - `[nemesis] crash_after`: when a server reaches one of `crash_after_milestones`, a
//!   crash may be armed (that share, less for a milestone reached within a timeout of its
//!   last time: the first of a burst is the change) for the next sync of a server the
//!   milestone's handler sent to since its last milestone (the follower just synchronized,
//!   the participant told the decision), else of the server itself. It loses unsynced
//!   writes and is back within about a timeout: a torn change of durable state, taken up
//!   again while the others still act on it. With `crash_pair`, the milestone's server
//!   (the leader) crashes too, as soon as `max_down` allows: at once, or when the torn
//!   server restarts (before it runs again), so that the torn state is not repaired by the
//!   server that caused it.

use protocols::node::{Membership, NodeId, Protocol, Time, MILLISECOND};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::network::{exponential, LinkFault};
use super::{Event, Life, Place, Substrate, World, REPLAY_KEPT};
use crate::record::FaultPeriod;
use crate::record::MessageRecord;
use crate::rng::{self, stream};
use crate::scenario::{self, time_of, Fault, FaultKind, Heal, NemesisKind, Scenario};

/// How a fault in force is undone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Undo {
    Link,
    Restart(NodeId),
    Resume(NodeId),
}

/// A fault in force.
#[derive(Clone, Debug)]
struct Active {
    id: u64,
    undo: Undo,
    /// Its entry in the recorder's fault periods.
    period: usize,
}

/// The faults of one run: the timeline, the nemesis, and those in force.
pub struct Faults {
    timeline: Vec<Fault>,
    nemesis: Option<Nemesis>,
    nemesis_start: Time,
    active: Vec<Active>,
    next_id: u64,
    /// Which unsynced records a crash loses.
    rng: ChaCha8Rng,
    heal: Heal,
    /// Whether the timeline or the nemesis injects anything.
    any: bool,
    /// How long a leaving server may take to hand off, unless its fault says.
    leave_grace: Time,
    /// Crashes waiting for their server's next sync.
    armed: Vec<Armed>,
    /// Servers crashed at a sync after a milestone, each with the milestone's server: it
    /// crashes too, as soon as the nemesis's limit allows.
    pairs: Vec<(NodeId, NodeId)>,
    /// `[network] replay`, the stream that draws which messages are replayed and when, and
    /// the longest a replayed message waits after the recovery (a timeout).
    replay: f64,
    replay_rng: ChaCha8Rng,
    replay_within: Time,
    /// The scenario's timeout, in milliseconds: the scale of the crashes after milestones.
    timeout_ms: f64,
}

/// A crash that strikes at its server's next sync.
#[derive(Clone, Debug)]
struct Armed {
    node: NodeId,
    lose_unsynced: bool,
    /// Restart this long after the crash.
    duration: Option<Time>,
    /// Drawn by the nemesis, and so held to its `max_down` when it strikes.
    nemesis: bool,
    /// The server of the milestone this crash followed, to crash as well (`crash_pair`).
    partner: Option<NodeId>,
}

impl Faults {
    pub fn new(scenario: &Scenario, seed: u64) -> Faults {
        Faults {
            timeline: scenario.faults.clone(),
            nemesis: scenario.nemesis.as_ref().map(|config| Nemesis::new(config, scenario, stream(seed, rng::NEMESIS))),
            nemesis_start: scenario.nemesis.as_ref().map_or(0, |config| config.start_ms) * MILLISECOND,
            active: Vec::new(),
            next_id: 0,
            rng: stream(seed, rng::FAULTS),
            heal: scenario.checks.heal,
            any: !scenario.faults.is_empty() || scenario.nemesis.is_some(),
            leave_grace: 10 * scenario.timeout_ms * MILLISECOND,
            armed: Vec::new(),
            pairs: Vec::new(),
            replay: scenario.network.replay,
            replay_rng: stream(seed, rng::REPLAY),
            replay_within: scenario.timeout_ms * MILLISECOND,
            timeout_ms: scenario.timeout_ms as f64,
        }
    }

    /// Whether a crash waits for `node`'s next sync.
    pub fn armed_at_sync(&self, node: NodeId) -> bool {
        self.armed.iter().any(|armed| armed.node == node)
    }
}

/// The random nemesis: it draws a fault kind, targets and a duration from its own stream.
pub struct Nemesis {
    kinds: Vec<NemesisKind>,
    interval_ms: f64,
    fault_ms: f64,
    end: Time,
    lose_unsynced: f64,
    max_down: u32,
    clock_jump_ms: i64,
    client_faults: bool,
    crash_at_sync: f64,
    aim: f64,
    aim_milestone: Option<String>,
    crash_after_milestones: Vec<String>,
    crash_after: f64,
    crash_pair: f64,
    pause_ms: Option<f64>,
    rng: ChaCha8Rng,
}

/// Who the nemesis may strike at a draw.
pub struct Targets {
    /// Server slots.
    pub servers: u32,
    /// Servers up and not paused.
    pub up: Vec<NodeId>,
    /// Spare servers that have not joined.
    pub spares: Vec<NodeId>,
    /// Servers told to leave that have not left yet: as good as gone for the nemesis.
    pub leaving: u32,
    /// Every client.
    pub clients: Vec<NodeId>,
    /// The server that last reached the milestone the nemesis aims at, if it is up.
    pub aimed: Option<NodeId>,
}

impl Targets {
    /// Servers down or paused (neither up nor spare).
    fn down(&self) -> u32 {
        self.servers - self.up.len() as u32 - self.spares.len() as u32
    }
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
            client_faults: config.client_faults,
            crash_at_sync: config.crash_at_sync,
            aim: config.aim,
            aim_milestone: config.aim_milestone.clone(),
            crash_after_milestones: config.crash_after_milestones.clone(),
            crash_after: config.crash_after,
            crash_pair: config.crash_pair,
            pause_ms: config.pause_ms,
            rng,
        }
    }

    /// Whether an event of probability `share` happens; draws nothing when it is 0, so that a
    /// scenario without fault points draws the numbers it always drew.
    fn sometimes(&mut self, share: f64) -> bool {
        share > 0.0 && self.rng.gen::<f64>() < share
    }

    /// How long the fault `kind` lasts.
    pub fn duration(&mut self, kind: &FaultKind) -> Time {
        match (kind, self.pause_ms) {
            (FaultKind::Pause { .. }, Some(pause_ms)) => self.gap(pause_ms),
            _ => self.gap(self.fault_ms),
        }
    }

    fn gap(&mut self, mean_ms: f64) -> Time {
        (exponential(&mut self.rng, mean_ms) * MILLISECOND as f64) as Time
    }

    /// Draws the next fault.
    pub fn draw(&mut self, targets: &Targets) -> Option<FaultKind> {
        let kind = *self.kinds.choose(&mut self.rng)?;
        let servers = targets.servers;
        let mut shuffled: Vec<NodeId> = (0..servers).collect();
        shuffled.shuffle(&mut self.rng);
        // An aimed fault strikes the server of the milestone: first in the shuffle, so it is
        // the one isolated, cut off, in the minority or the bridge, and the one crashed or
        // paused if it is up.
        let aimed = targets.aimed.filter(|_| self.sometimes(self.aim));
        let mut up = targets.up.clone();
        if let Some(aimed) = aimed {
            let position = shuffled.iter().position(|&node| node == aimed).unwrap_or(0);
            shuffled.swap(0, position);
            up.retain(|&node| node == aimed);
        }
        let down = targets.down();
        // Pauses, clock jumps and isolation strike a client one time in four when allowed.
        let client = (self.client_faults && !targets.clients.is_empty() && self.rng.gen_bool(0.25))
            .then(|| *targets.clients.choose(&mut self.rng).expect("not empty"));
        let fault = match kind {
            NemesisKind::Partition if servers >= 2 => {
                let minority = self.rng.gen_range(1..=(servers as usize / 2).max(1));
                FaultKind::Partition { groups: vec![shuffled[..minority].to_vec()] }
            }
            NemesisKind::Cut if servers >= 2 => {
                let targets = self.rng.gen_range(1..servers as usize);
                FaultKind::Cut { from: vec![shuffled[0]], to: shuffled[1..=targets].to_vec() }
            }
            NemesisKind::Isolate => FaultKind::Isolate { node: client.unwrap_or(shuffled[0]) },
            NemesisKind::Bridge if servers >= 3 => {
                let half = (servers as usize - 1) / 2;
                let (left, right) = shuffled[1..].split_at(half);
                FaultKind::Bridge { left: left.to_vec(), right: right.to_vec(), bridge: shuffled[0] }
            }
            NemesisKind::Crash if down < self.max_down && !up.is_empty() => {
                let lose_unsynced = self.rng.gen::<f64>() < self.lose_unsynced;
                let node = *up.choose(&mut self.rng)?;
                FaultKind::Crash { node, lose_unsynced, at_sync: self.sometimes(self.crash_at_sync) }
            }
            NemesisKind::Pause if client.is_some() && aimed.is_none() => FaultKind::Pause { node: client? },
            NemesisKind::Pause if down < self.max_down && !up.is_empty() => {
                FaultKind::Pause { node: *up.choose(&mut self.rng)? }
            }
            NemesisKind::ClockJump => {
                let ms = self.rng.gen_range(1..=self.clock_jump_ms.max(1));
                let ms = if self.rng.gen() { ms } else { -ms };
                FaultKind::ClockJump { node: client.unwrap_or(shuffled[0]), ms }
            }
            NemesisKind::Join if !targets.spares.is_empty() => {
                FaultKind::Join { node: *targets.spares.choose(&mut self.rng)? }
            }
            NemesisKind::Leave if down + targets.leaving < self.max_down && targets.up.len() > 1 => {
                FaultKind::Leave { node: *up.choose(&mut self.rng)? }
            }
            _ => return None,
        };
        Some(fault)
    }
}

impl<P: Protocol, S: Substrate<P>> World<P, S> {
    /// Puts the timeline, the nemesis and the final heal on the schedule.
    pub(super) fn schedule_faults(&mut self) {
        for index in 0..self.faults.timeline.len() {
            let at = time_of(self.faults.timeline[index].at_ms);
            self.substrate.schedule(self.now, at, Place::World, Event::Fault(index));
        }
        if let Some(nemesis) = &mut self.faults.nemesis {
            let first = self.faults.nemesis_start + nemesis.gap(nemesis.interval_ms);
            self.substrate.schedule(self.now, first, Place::World, Event::Nemesis);
        }
        if self.faults.any && self.faults.heal != Heal::None {
            self.substrate.schedule(self.now, self.plan.faults_end, Place::World, Event::HealAll);
        }
    }

    pub(super) fn on_timeline_fault(&mut self, index: usize) {
        let fault = self.faults.timeline[index].clone();
        if let FaultKind::Leave { node } = fault.kind {
            let grace = fault.duration_ms.map_or(self.faults.leave_grace, time_of);
            return self.leave(node, grace);
        }
        if let FaultKind::Crash { node, lose_unsynced, at_sync: true } = fault.kind {
            let duration = fault.duration_ms.map(time_of);
            return self.arm(Armed { node, lose_unsynced, duration, nemesis: false, partner: None });
        }
        if let Some(id) = self.apply_fault(&fault.kind) {
            if let Some(duration) = fault.duration_ms {
                self.substrate.schedule(self.now, self.now + time_of(duration), Place::World, Event::Undo(id));
            }
        }
    }

    pub(super) fn on_nemesis(&mut self) {
        let targets = self.targets();
        let Some(nemesis) = &mut self.faults.nemesis else { return };
        if self.now >= nemesis.end {
            return;
        }
        let fault = nemesis.draw(&targets);
        // Drawn whether or not a fault was, as always, so that old seeds keep their runs.
        let duration = match &fault {
            Some(fault) => nemesis.duration(fault),
            None => nemesis.gap(nemesis.fault_ms),
        };
        let next = nemesis.gap(nemesis.interval_ms);
        match fault {
            Some(FaultKind::Leave { node }) => self.leave(node, self.faults.leave_grace),
            Some(FaultKind::Crash { node, lose_unsynced, at_sync: true }) => {
                self.arm(Armed { node, lose_unsynced, duration: Some(duration), nemesis: true, partner: None })
            }
            Some(fault) => {
                if let Some(id) = self.apply_fault(&fault) {
                    self.substrate.schedule(self.now, self.now + duration, Place::World, Event::Undo(id));
                }
            }
            None => {}
        }
        self.substrate.schedule(self.now, self.now + next, Place::World, Event::Nemesis);
    }

    fn targets(&self) -> Targets {
        let slots = self.setup.server_slots();
        let servers = 0..slots;
        let up: Vec<NodeId> =
            servers.clone().filter(|&node| self.is_up(node) && !self.processes[node as usize].paused).collect();
        let aim = self.faults.nemesis.as_ref().and_then(|nemesis| nemesis.aim_milestone.as_deref());
        let aimed = match aim {
            Some(name) => {
                self.milestones_last.iter().find(|(milestone, ..)| *milestone == name).map(|&(_, node, _)| node)
            }
            None => self.last_milestone,
        };
        Targets {
            servers: slots,
            aimed: aimed.filter(|node| up.contains(node)),
            up,
            spares: servers.clone().filter(|&node| self.processes[node as usize].life == Life::Absent).collect(),
            leaving: servers.filter(|&node| self.processes[node as usize].life == Life::Leaving).count() as u32,
            clients: (slots..self.processes.len() as NodeId).collect(),
        }
    }

    /// Notes that server `node` reached `milestone`, for the faults aimed at it.
    pub(super) fn note_milestone(&mut self, milestone: &'static str, node: NodeId) {
        if self.setup.is_client(node) {
            return;
        }
        self.last_milestone = Some(node);
        let quiet = match self.milestones_last.iter_mut().find(|(name, ..)| *name == milestone) {
            Some(last) => {
                let quiet = self.now - last.2;
                (last.1, last.2) = (node, self.now);
                quiet
            }
            None => {
                self.milestones_last.push((milestone, node, self.now));
                Time::MAX
            }
        };
        self.crash_after_milestone(milestone, node, quiet);
        self.sent_to.clear();
    }

    /// Notes that the handler being applied sent to `to`.
    pub(super) fn note_sent(&mut self, to: NodeId) {
        let watched = self.faults.nemesis.as_ref().is_some_and(|nemesis| nemesis.crash_after > 0.0);
        if watched && !self.setup.is_client(to) && !self.sent_to.contains(&to) {
            self.sent_to.push(to);
        }
    }

    /// `node` reached `milestone`, `quiet` after it was last reached: a share of the times
    /// (`crash_after`) a crash is armed for the next sync of a server the handler sent to
    /// since its last milestone (the one this milestone concerns, whose sync is the change
    /// of durable state it causes), or else of `node` itself. The share shrinks for a
    /// milestone reached again within about a timeout: the first of a burst (the first
    /// operation delivered after an outage) is the change, the rest are steady state, and
    /// crashing after each would crash the cluster continuously.
    fn crash_after_milestone(&mut self, milestone: &'static str, node: NodeId, quiet: Time) {
        let Some(nemesis) = &mut self.faults.nemesis else { return };
        if !nemesis.crash_after_milestones.iter().any(|name| name == milestone) {
            return;
        }
        let share =
            nemesis.crash_after * (1.0 - (-(quiet as f64) / (self.faults.timeout_ms * MILLISECOND as f64)).exp());
        if self.now < self.faults.nemesis_start || self.now >= nemesis.end || !nemesis.sometimes(share) {
            return;
        }
        let concerned: Vec<NodeId> = (self.sent_to.iter().copied())
            .filter(|&to| to != node && matches!(self.processes[to as usize].life, Life::Up | Life::Leaving))
            .collect();
        let target = concerned.choose(&mut nemesis.rng).copied().unwrap_or(node);
        let partner = (target != node && nemesis.sometimes(nemesis.crash_pair)).then_some(node);
        // Back within about a timeout, while the others still act on what it had told them.
        let duration = Some(nemesis.gap(self.faults.timeout_ms));
        self.arm(Armed { node: target, lose_unsynced: true, duration, nemesis: true, partner });
    }

    /// A crash that waits for `armed.node`'s next sync (one at a time per server).
    fn arm(&mut self, armed: Armed) {
        if self.is_up(armed.node) && !self.setup.is_client(armed.node) && !self.faults.armed_at_sync(armed.node) {
            self.faults.armed.push(armed);
        }
    }

    /// The partner of server `node`, crashed after a milestone, crashes too if the
    /// nemesis's limit allows it: at once, or else when `node` comes back (`recovered`; the
    /// last chance). The server that reached the milestone (the leader that synchronized a
    /// follower, the coordinator that decided) is the one whose absence lets the other's
    /// torn state count.
    pub(super) fn crash_partner(&mut self, node: NodeId, recovered: bool) {
        let Some(position) = self.faults.pairs.iter().position(|&(crashed, _)| crashed == node) else { return };
        let Some(nemesis) = &self.faults.nemesis else { return };
        let partner = self.faults.pairs[position].1;
        let allowed = self.is_up(partner) && self.targets().down() < nemesis.max_down;
        if recovered || allowed {
            self.faults.pairs.remove(position);
        }
        if !allowed {
            return;
        }
        let Some(nemesis) = &mut self.faults.nemesis else { return };
        let lose_unsynced = nemesis.rng.gen::<f64>() < nemesis.lose_unsynced;
        let duration = nemesis.gap(nemesis.fault_ms);
        let kind = FaultKind::Crash { node: partner, lose_unsynced, at_sync: false };
        if let Some(id) = self.apply_fault(&kind) {
            self.substrate.schedule(self.now, self.now + duration, Place::World, Event::Undo(id));
        }
    }

    /// Whether a crash armed for `node`'s next sync strikes now, at the sync it is starting.
    /// Other crashes may have struck since a nemesis crash was armed: the nemesis's limit
    /// holds when it strikes, else several armed crashes take down more servers than it
    /// allows. One the limit stops is disarmed, and the sync goes on.
    pub(super) fn strikes_at_sync(&mut self, node: NodeId) -> bool {
        let Some(position) = self.faults.armed.iter().position(|armed| armed.node == node) else { return false };
        if !self.faults.armed[position].nemesis {
            return true;
        }
        let down = self.targets().down();
        if self.faults.nemesis.as_ref().is_some_and(|nemesis| down >= nemesis.max_down) {
            self.faults.armed.remove(position);
            return false;
        }
        true
    }

    /// The armed crash of `node` strikes: its sync is under way.
    pub(super) fn crash_at_sync(&mut self, node: NodeId) {
        let Some(position) = self.faults.armed.iter().position(|armed| armed.node == node) else { return };
        let armed = self.faults.armed.remove(position);
        let kind = FaultKind::Crash { node, lose_unsynced: armed.lose_unsynced, at_sync: true };
        if let (Some(id), Some(duration)) = (self.apply_fault(&kind), armed.duration) {
            self.substrate.schedule(self.now, self.now + duration, Place::World, Event::Undo(id));
        }
        if let Some(partner) = armed.partner {
            self.faults.pairs.push((node, partner));
            self.crash_partner(node, false);
        }
    }

    /// Keeps a copy of a message to a server, for the network to replay after its restart.
    pub(super) fn keep_for_replay(&mut self, from: NodeId, to: NodeId, message: &P::Message) {
        if self.faults.replay <= 0.0 || self.setup.is_client(to) {
            return;
        }
        let recent = &mut self.processes[to as usize].recent;
        if recent.len() == REPLAY_KEPT {
            recent.pop_front();
        }
        recent.push_back((from, message.clone()));
    }

    /// A restarted server gets late copies of some of the messages last sent to it before
    /// its crash, each within a timeout of now.
    pub(super) fn replay(&mut self, node: NodeId) {
        if self.faults.replay <= 0.0 {
            return;
        }
        let recent = std::mem::take(&mut self.processes[node as usize].recent);
        let incarnation = self.processes[node as usize].incarnation;
        for (from, message) in recent {
            if self.faults.replay_rng.gen::<f64>() >= self.faults.replay {
                continue;
            }
            let delay = (self.faults.replay_rng.gen::<f64>() * self.faults.replay_within as f64) as Time;
            let record = self.recorder.message(from, node, &message, self.now);
            let id = self.recorder.sent(MessageRecord { copy: true, ..record });
            let event = Event::Message { to: node, from, message, id, incarnation, link: None };
            self.substrate.schedule(self.now, self.now + delay.max(1), Place::World, event);
        }
    }

    /// Applies a fault; returns its id if it stays in force until undone.
    fn apply_fault(&mut self, kind: &FaultKind) -> Option<u64> {
        let id = self.faults.next_id + 1;
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
            FaultKind::Crash { node, lose_unsynced, .. } => self.crash(*node, *lose_unsynced)?,
            FaultKind::Restart { node } => return self.undo_where(|undo| undo == Undo::Restart(*node)),
            FaultKind::Pause { node } => self.pause(*node)?,
            FaultKind::Resume { node } => return self.undo_where(|undo| undo == Undo::Resume(*node)),
            FaultKind::ClockJump { node, ms } => {
                self.processes[*node as usize].clock.jump(*ms);
                self.instant_fault(*node, kind);
                return None;
            }
            FaultKind::Join { node } => {
                self.join(*node);
                return None;
            }
            FaultKind::Leave { node } => {
                self.leave(*node, self.faults.leave_grace);
                return None;
            }
        };
        self.faults.next_id = id;
        let period = self.recorder.faults.len();
        self.recorder.faults.push(FaultPeriod { start: self.now, end: None, kind: kind.clone() });
        self.recorder.event(self.now, None, || describe(kind));
        self.faults.active.push(Active { id, undo, period });
        Some(id)
    }

    /// A fault that is over as soon as it happens (a clock jump, a join, a leave).
    fn instant_fault(&mut self, node: NodeId, kind: &FaultKind) {
        self.recorder.faults.push(FaultPeriod { start: self.now, end: Some(self.now), kind: kind.clone() });
        self.recorder.event(self.now, Some(node), || describe(kind));
    }

    fn add_link_fault(&mut self, id: u64, fault: LinkFault) -> Undo {
        self.network.add_fault(id, fault);
        self.substrate.links_changed(&self.network);
        Undo::Link
    }

    fn crash(&mut self, node: NodeId, lose_unsynced: bool) -> Option<Undo> {
        if !self.is_up(node) || self.setup.is_client(node) {
            return None;
        }
        self.servers[node as usize] = None;
        self.halt(node, lose_unsynced);
        self.processes[node as usize].life = Life::Crashed;
        // A crash ends a pause: the node resumes only by restarting.
        for active in self.faults.active.iter().filter(|active| active.undo == Undo::Resume(node)) {
            self.recorder.faults[active.period].end = Some(self.now);
        }
        self.faults.active.retain(|active| active.undo != Undo::Resume(node));
        Some(Undo::Restart(node))
    }

    /// Stops every activity of `node`: timers, backlog, syncs and held sends (reporting the
    /// held observations whose records survive); bumps its
    /// incarnation, so that what was on its way to it is lost, and breaks its connections.
    fn halt(&mut self, node: NodeId, lose_unsynced: bool) {
        let process = &mut self.processes[node as usize];
        process.timers.clear();
        process.backlog.clear();
        process.paused = false;
        process.incarnation += 1;
        let survived = process.storage.crash(lose_unsynced, &mut self.faults.rng);
        // What waited for records the crash kept is durable: it is reported.
        for observation in survived {
            self.observe(node, &observation);
        }
        self.substrate.crashed(node);
        self.break_connections_of(node);
    }

    fn pause(&mut self, node: NodeId) -> Option<Undo> {
        let process = &mut self.processes[node as usize];
        if !matches!(process.life, Life::Up | Life::Leaving) || process.paused {
            return None;
        }
        process.paused = true;
        self.substrate.paused(node);
        Some(Undo::Resume(node))
    }

    /// Undoes the fault with this id, if it is still in force.
    pub(super) fn undo(&mut self, id: u64) {
        let Some(position) = self.faults.active.iter().position(|active| active.id == id) else { return };
        let active = self.faults.active.remove(position);
        self.recorder.faults[active.period].end = Some(self.now);
        match active.undo {
            Undo::Link => {
                self.network.remove_fault(id);
                self.substrate.links_changed(&self.network);
                self.recorder.event(self.now, None, || format!("heal fault {id}"));
            }
            Undo::Restart(node) => self.restart(node),
            Undo::Resume(node) => self.resume(node),
        }
    }

    /// Undoes every fault in force that `matches`; the timeline's heal, restart and resume.
    fn undo_where(&mut self, matches: impl Fn(Undo) -> bool) -> Option<u64> {
        let ids: Vec<u64> =
            self.faults.active.iter().filter(|active| matches(active.undo)).map(|active| active.id).collect();
        for id in ids {
            self.undo(id);
        }
        None
    }

    /// The end of the fault window: everything heals, or (`heal = "majority"`) everything
    /// heals for the majority core of servers `0..majority` while the rest stay cut off,
    /// crashed or paused as they were.
    pub(super) fn heal_all(&mut self) {
        self.faults.armed.clear();
        self.faults.pairs.clear();
        let core = self.setup.majority() as NodeId;
        let outside_core = |undo| matches!(undo, Undo::Restart(node) | Undo::Resume(node) if node >= core);
        match self.faults.heal {
            Heal::Majority => self.undo_where(|undo| !outside_core(undo)),
            _ => self.undo_where(|_| true),
        };
        self.network.heal();
        self.substrate.links_changed(&self.network);
        if self.faults.heal == Heal::Majority && core < self.setup.servers {
            self.apply_fault(&FaultKind::Partition { groups: vec![(0..core).collect()] });
        }
        self.recorder.event(self.now, None, || "the fault window ends: heal".to_string());
    }

    fn restart(&mut self, node: NodeId) {
        let process = &mut self.processes[node as usize];
        if process.life != Life::Crashed {
            return;
        }
        process.life = Life::Restarting;
        self.substrate.restart(self.now, node);
    }

    fn resume(&mut self, node: NodeId) {
        let process = &mut self.processes[node as usize];
        if !process.paused {
            return;
        }
        process.paused = false;
        let backlog = std::mem::take(&mut process.backlog);
        self.recorder.event(self.now, Some(node), || format!("resume with {} late events", backlog.len()));
        self.substrate.resumed(node);
        for event in backlog {
            self.substrate.schedule(self.now, self.now, Place::Process(node), event);
        }
    }

    /// A spare server starts, empty, and every running server hears of it.
    fn join(&mut self, node: NodeId) {
        if self.processes[node as usize].life != Life::Absent || self.setup.is_client(node) {
            return;
        }
        self.instant_fault(node, &FaultKind::Join { node });
        self.on_start(node);
        self.announce(Membership::Joined(node));
    }

    /// Server `node` is told to hand off and leave; it is removed once it calls
    /// `ctx.leave()`, or after `grace`.
    fn leave(&mut self, node: NodeId, grace: Time) {
        if self.processes[node as usize].life != Life::Up || self.setup.is_client(node) {
            return;
        }
        self.instant_fault(node, &FaultKind::Leave { node });
        self.processes[node as usize].life = Life::Leaving;
        self.substrate.schedule(self.now, self.now + grace, Place::World, Event::Gone(node));
        self.announce(Membership::Leaving(node));
    }

    /// A leaving server is gone for good, and every running server hears of it.
    pub(super) fn remove(&mut self, node: NodeId) {
        if self.processes[node as usize].life != Life::Leaving {
            return;
        }
        self.servers[node as usize] = None;
        self.halt(node, false);
        let process = &mut self.processes[node as usize];
        process.life = Life::Gone;
        process.storage = Default::default();
        self.recorder.event(self.now, Some(node), || "left the cluster".to_string());
        self.announce(Membership::Left(node));
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
        FaultKind::Crash { node, lose_unsynced, at_sync } => {
            let during = if *at_sync { " during a sync" } else { "" };
            let losing = if *lose_unsynced { " losing unsynced writes" } else { "" };
            format!("crash {node}{during}{losing}")
        }
        FaultKind::Restart { node } => format!("restart {node}"),
        FaultKind::Pause { node } => format!("pause {node}"),
        FaultKind::Resume { node } => format!("resume {node}"),
        FaultKind::ClockJump { node, ms } => format!("clock jump {node} by {ms} ms"),
        FaultKind::Join { node } => format!("join {node}"),
        FaultKind::Leave { node } => format!("leave {node}"),
    }
}
