//! The world: one copy of everything a run simulates that is not scheduling.
//!
//! The world holds every process (its state machine, clocks, random stream, named timers,
//! pause backlog and, for a server, its durable storage), the network model and the faults
//! in force, the workload's clients and their history, the protocol's checker and the
//! recorder. It runs a handler with a fresh context and carries out the handler's effects in
//! order, applies and undoes faults, invokes and completes the workload's operations, and
//! ends the run. What it cannot do itself is make time pass: for that it asks a
//! [`Substrate`] to hand an [`Event`] back at a time, to carry a message, and to kill,
//! restart or pause a process. The native substrate is an event heap
//! (`substrate::native`); the madsim substrate is madsim's tasks, endpoints and clogs
//! (`substrate::madsim`). Both drive the same world, so a world feature is written once and
//! both engines follow the same rules, for example this one: a message in flight to a
//! server that crashes is lost, as a broken connection loses it, even if the server is up
//! again by the time the message would arrive (the world tells restarts apart by an
//! incarnation number per process). With `[network] fifo = true` links are connections, as
//! TCP gives (`connections.rs`): delivered in order, broken by a loss, a link fault or a
//! crash, and each end told of a break before anything that follows it.
//!
//! A run stops at the first violation (it is never hidden by a later event), when the event
//! budget is spent (verdict `error`), when it does far more work than its scenario needs
//! (verdict `runaway`, see [`budget`]), or at its end time.

pub mod budget;
pub(crate) mod clock;
pub mod connections;
pub mod faults;
pub mod network;
mod storage;
pub(crate) mod workload;

use protocols::history::Call;
use protocols::node::{
    Checker, Client, ClientContext, Context, Effect, Effects, Membership, NodeId, OperationOf, Protocol, ReplyOf,
    Server, ServerContext, SetupOf, SyncId, Time, View, Violation, MILLISECOND,
};
use protocols::service::Outcome;
use rand_chacha::ChaCha8Rng;

use crate::record::{Fate, MessageRecord, Recorder};
use crate::rng::{self, stream};
use crate::scenario::{Latency, Plan, Scenario};
use budget::Budget;
use clock::Clock;
use connections::{Connections, Link};
use faults::Faults;
use network::{Network, Route};
use storage::{Storage, Waiting};
use workload::Clients;

/// How a run is carried out, beyond what its scenario says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunOptions {
    pub seed: u64,
    /// Keep every message and event (for tables and reports), not only counts.
    pub detailed: bool,
}

/// Something that happens at a time: what a substrate hands back to the world.
#[derive(Debug)]
pub enum Event<P: Protocol> {
    /// A process booted for the first time.
    Start(NodeId),
    /// A restarted server is up again.
    Recover(NodeId),
    /// A message reaches `to`; `incarnation` is the receiver's when the message left, and
    /// `link` its place on its connection (FIFO links only).
    Message {
        to: NodeId,
        from: NodeId,
        message: P::Message,
        id: u64,
        incarnation: u32,
        link: Option<Link>,
    },
    /// `node` is told that its connection to `peer` broke (FIFO links only).
    Disconnected {
        node: NodeId,
        peer: NodeId,
        incarnation: u32,
    },
    Timer {
        node: NodeId,
        generation: u64,
    },
    /// A server's sync finished.
    Synced {
        node: NodeId,
        sync: SyncId,
        incarnation: u32,
    },
    /// The workload's turn to give this client its next operation.
    Invoke(NodeId),
    /// The timeline's fault with this index.
    Fault(usize),
    /// Undo the fault in force with this id.
    Undo(u64),
    Nemesis,
    /// The fault window ends.
    HealAll,
    /// A leaving server's time to hand off is over.
    Gone(NodeId),
}

/// Whose life an event belongs to: a process's own events (its timers, think times and
/// syncs) die with it, the world's do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    World,
    Process(NodeId),
}

/// What differs between engines: how time passes and how messages travel.
pub trait Substrate<P: Protocol> {
    /// The network the world should model on this substrate (what the substrate does itself,
    /// such as madsim's own latency and loss, is left out of it).
    fn network(&self, scenario: &Scenario) -> crate::scenario::Network {
        scenario.network.clone()
    }
    /// Brings process `node` up for the first time; the substrate hands back `Start`.
    fn boot(&mut self, node: NodeId);
    /// Hands `event` back to the world at true time `at`.
    fn schedule(&mut self, now: Time, at: Time, place: Place, event: Event<P>);
    /// Carries `event` (a `Message`) from `from`, to be handed back at `at`.
    fn transmit(&mut self, now: Time, at: Time, from: NodeId, event: Event<P>);
    /// The timer of this generation was replaced or cancelled.
    fn cancel_timer(&mut self, _node: NodeId, _generation: u64) {}
    /// `node` crashed (or left for good): nothing of its own may happen any more.
    fn crashed(&mut self, node: NodeId);
    /// Restarts crashed server `node`; the substrate hands back `Recover` when it is up.
    fn restart(&mut self, now: Time, node: NodeId);
    fn paused(&mut self, _node: NodeId) {}
    fn resumed(&mut self, _node: NodeId) {}
    /// The link faults in force changed.
    fn links_changed(&mut self, _network: &Network) {}
}

/// Where a process is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Life {
    /// Not booted yet, or a spare server that has not joined.
    Absent,
    Up,
    Crashed,
    /// Crashed and restarting: up once the substrate says so.
    Restarting,
    /// Told to leave; still up until it has handed off.
    Leaving,
    /// Left for good.
    Gone,
}

/// The world's view of one process.
struct Process<P: Protocol> {
    rng: ChaCha8Rng,
    clock: Clock,
    /// Pending timers.
    timers: Vec<PendingTimer<P::Timer>>,
    life: Life,
    /// Bumped at every crash: messages sent to an earlier incarnation are lost.
    incarnation: u32,
    paused: bool,
    /// What reached the process while it was paused, handled when it resumes.
    backlog: Vec<Event<P>>,
    storage: Storage<P::Record, P::Message, P::Observation>,
    /// The last messages sent to this server (only when the network replays them).
    recent: std::collections::VecDeque<(NodeId, P::Message)>,
}

/// How many of the messages last sent to a server the network may replay after it restarts.
pub const REPLAY_KEPT: usize = 32;
/// A timer set and not fired yet. A timer that is set again for later keeps its event and
/// only moves its due time; when the event comes early it is scheduled again for the due
/// time. Protocols re-arm their timers constantly (an election timer on every heartbeat),
/// so this saves an event on the substrate per re-arming.
struct PendingTimer<T> {
    timer: T,
    generation: u64,
    /// When it fires.
    due: Time,
    /// When its event is scheduled (never after `due`).
    scheduled: Time,
}

/// One input of a server.
enum ServerInput<P: Protocol> {
    Start,
    Recover,
    Message { from: NodeId, message: P::Message },
    Timer(P::Timer),
    Synced(SyncId),
    Membership(Membership),
    Disconnected(NodeId),
}

/// One input of a client.
enum ClientInput<P: Protocol> {
    Start,
    Message { from: NodeId, message: P::Message },
    Timer(P::Timer),
    Request(OperationOf<P>),
    Disconnected(NodeId),
}

/// The world of one run of protocol `P` on substrate `S`.
pub struct World<P: Protocol, S: Substrate<P>> {
    pub setup: SetupOf<P>,
    pub plan: Plan,
    pub now: Time,
    pub substrate: S,
    processes: Vec<Process<P>>,
    servers: Vec<Option<P::Server>>,
    clients: Vec<P::Client>,
    checker: P::Checker,
    network: Network,
    /// The connections of FIFO links (`None` when links are not FIFO).
    connections: Option<Connections<P::Message>>,
    workload: Clients<P::Service>,
    history: Vec<Call<P::Service>>,
    faults: Faults,
    sync_latency: Latency,
    storage_rng: ChaCha8Rng,
    storage_spare_normal: Option<f64>,
    recorder: Recorder,
    /// A buffer reused by every handler.
    effects: Effects<P>,
    events: u64,
    max_events: u64,
    budget: Budget,
    /// Whether the protocol's online checker runs (`[checks] online`).
    online: bool,
    violation: Option<(Time, Violation)>,
    error: Option<String>,
    runaway: Option<(Time, String)>,
    timer_generation: u64,
    /// Per milestone, the server that reached it last and when; and the last server to
    /// reach any.
    milestones_last: Vec<(&'static str, NodeId, Time)>,
    last_milestone: Option<NodeId>,
    /// The servers the handler being applied has sent to so far: the ones a milestone it
    /// reaches concerns (the follower just synchronized, the participants of a decision).
    sent_to: Vec<NodeId>,
}

/// What a finished run left: its record, its history and how it ended.
pub struct Simulation<P: Protocol> {
    pub recorder: Recorder,
    pub history: Vec<Call<P::Service>>,
    pub violation: Option<(Time, Violation)>,
    /// Why the run could not finish (event budget), if it could not.
    pub error: Option<String>,
    /// When and why the run was ended as a runaway, if it was.
    pub runaway: Option<(Time, String)>,
    pub virtual_time: Time,
    pub events: u64,
    pub plan: Plan,
    pub setup: SetupOf<P>,
    /// The protocol checker's own figures (`Checker::figures`).
    pub protocol_figures: Vec<(&'static str, f64)>,
    /// What the checker and the world say may hold the system up (for a `stuck` verdict).
    pub stuck_reasons: Vec<String>,
    pub trace_hash: u64,
}

/// The protocol's view of a run.
pub fn setup_of<P: Protocol>(scenario: &Scenario) -> SetupOf<P> {
    let variant =
        P::VARIANTS.iter().find(|variant| variant.name == scenario.variant).map_or(P::VARIANTS[0].name, |v| v.name);
    let settings = crate::catalog::parse(&scenario.settings).unwrap_or_default();
    protocols::node::Setup {
        servers: scenario.nodes,
        spares: scenario.server_slots() - scenario.nodes,
        clients: scenario.workload.clients,
        variant,
        timeout: scenario.timeout_ms * MILLISECOND,
        drift_bound_ppm: scenario.drift_bound_ppm(),
        settings,
    }
}

impl<P: Protocol, S: Substrate<P>> World<P, S> {
    /// The world of `scenario` with the seed in `options`, on `substrate`; nothing has
    /// happened yet (see [`World::start`]).
    pub fn new(scenario: &Scenario, options: RunOptions, substrate: S) -> World<P, S> {
        let setup = setup_of::<P>(scenario);
        let seed = options.seed;
        let plan = scenario.plan();
        let (slots, processes) = (scenario.server_slots(), scenario.processes());
        let params = crate::catalog::parse(&scenario.workload.params).unwrap_or_default();
        let network_config = substrate.network(scenario);
        World {
            processes: (0..processes).map(|id| Process::new(scenario, seed, id)).collect(),
            servers: (0..slots).map(|_| None).collect(),
            clients: (slots..processes).map(|id| P::client(&setup, id)).collect(),
            checker: P::checker(&setup),
            network: Network::new(&network_config, slots as usize, processes as usize, stream(seed, rng::NETWORK)),
            connections: network_config.fifo.then(Connections::new),
            workload: Clients::new(&scenario.workload, params, slots, plan.duration, stream(seed, rng::WORKLOAD)),
            history: Vec::new(),
            faults: Faults::new(scenario, seed),
            sync_latency: scenario.storage.sync.clone(),
            storage_rng: stream(seed, rng::STORAGE),
            storage_spare_normal: None,
            recorder: Recorder::new(options.detailed),
            effects: Effects::default(),
            events: 0,
            max_events: scenario.limits.max_events,
            budget: Budget::of(scenario),
            online: scenario.checks.online,
            violation: None,
            error: None,
            runaway: None,
            timer_generation: 0,
            milestones_last: Vec::new(),
            last_milestone: None,
            sent_to: Vec::new(),
            now: 0,
            plan,
            setup,
            substrate,
        }
    }

    /// Boots the initial servers and the clients, and puts the faults on the schedule.
    pub fn start(&mut self) {
        for node in (0..self.setup.servers).chain(self.setup.server_slots()..self.processes.len() as NodeId) {
            self.substrate.boot(node);
        }
        self.schedule_faults();
    }

    /// Handles `event` at true time `at`; false once the run must stop.
    pub fn step(&mut self, at: Time, event: Event<P>) -> bool {
        self.now = at;
        self.events += 1;
        if self.events > self.max_events {
            self.error = Some(format!("event budget of {} events exceeded", self.max_events));
            return false;
        }
        if self.budget.count(at) {
            self.runaway = Some((at, self.budget.describe(self.recorder.messages_sent(), self.history.len())));
            return false;
        }
        self.handle(event);
        self.violation.is_none()
    }

    /// The run's end time.
    pub fn end(&self) -> Time {
        self.plan.end
    }

    /// Whether the process `node` is up (not crashed, restarting, absent or gone).
    pub fn is_up(&self, node: NodeId) -> bool {
        matches!(self.processes[node as usize].life, Life::Up | Life::Leaving)
    }

    /// Whether the process `node` was up and is not (crashed, restarting or gone).
    fn is_down(&self, node: NodeId) -> bool {
        matches!(self.processes[node as usize].life, Life::Crashed | Life::Restarting | Life::Gone)
    }

    fn handle(&mut self, event: Event<P>) {
        if let Some(node) = held_for(&event).filter(|&node| self.processes[node as usize].paused) {
            self.processes[node as usize].backlog.push(event);
            return;
        }
        match event {
            Event::Start(node) => self.on_start(node),
            Event::Recover(node) => self.on_recover(node),
            Event::Message { to, from, message, id, incarnation, link } => {
                self.arrive(to, from, message, id, incarnation, link)
            }
            Event::Disconnected { node, peer, incarnation } => self.on_disconnected(node, peer, incarnation),
            Event::Timer { node, generation } => self.fire_timer(node, generation),
            Event::Synced { node, sync, incarnation } => self.on_synced(node, sync, incarnation),
            Event::Invoke(client) => self.invoke(client),
            Event::Fault(index) => self.on_timeline_fault(index),
            Event::Undo(id) => self.undo(id),
            Event::Nemesis => self.on_nemesis(),
            Event::HealAll => self.heal_all(),
            Event::Gone(node) => self.remove(node),
        }
    }

    fn on_start(&mut self, node: NodeId) {
        self.processes[node as usize].life = Life::Up;
        if self.setup.is_client(node) {
            self.recorder.trace.input(self.now, node, 0, &());
            self.run_client(node, ClientInput::Start);
            let think = self.workload.think_time();
            self.substrate.schedule(self.now, self.now + think, Place::Process(node), Event::Invoke(node));
        } else {
            self.servers[node as usize] = Some(P::server(&self.setup, node));
            self.dispatch(node, ServerInput::Start);
        }
    }

    fn on_recover(&mut self, node: NodeId) {
        let process = &mut self.processes[node as usize];
        if process.life != Life::Restarting {
            return;
        }
        process.life = Life::Up;
        process.storage.restart();
        let records = process.storage.log.len();
        self.servers[node as usize] = Some(P::recover(&self.setup, node, &process.storage.log));
        self.recorder.event(self.now, Some(node), || format!("restart from {records} durable records"));
        self.crash_partner(node, true);
        self.dispatch(node, ServerInput::Recover);
        self.replay(node);
    }

    /// A message arrives: it is delivered unless a link fault blocks it now, its receiver is
    /// down or has crashed since it left (either breaks its connection, if it is still the
    /// current one), or its connection broke since; on a FIFO link it may wait for the
    /// messages sent before it.
    fn arrive(&mut self, to: NodeId, from: NodeId, message: P::Message, id: u64, incarnation: u32, link: Option<Link>) {
        let process = &self.processes[to as usize];
        let fate = if self.network.is_blocked(from, to) {
            Fate::Blocked
        } else if !self.is_up(to) || process.incarnation != incarnation {
            Fate::Crashed
        } else {
            Fate::Delivered(self.now)
        };
        if fate != Fate::Delivered(self.now) && link.is_some_and(|link| self.is_current(from, to, link)) {
            self.break_connection(from, to);
        }
        if fate != Fate::Delivered(self.now) {
            return self.recorder.fate(id, fate);
        }
        match link {
            Some(link) => self.arrive_on_link(to, from, message, id, link),
            None => self.deliver(to, from, message, id),
        }
    }

    /// Hands a message that arrived to its receiver.
    fn deliver(&mut self, to: NodeId, from: NodeId, message: P::Message, id: u64) {
        self.recorder.fate(id, Fate::Delivered(self.now));
        self.recorder.handling = Some(id);
        if self.setup.is_client(to) {
            self.recorder.trace.input(self.now, to, 1, &(from, &message));
            self.run_client(to, ClientInput::Message { from, message });
        } else {
            self.dispatch(to, ServerInput::Message { from, message });
        }
        self.recorder.handling = None;
    }

    fn fire_timer(&mut self, node: NodeId, generation: u64) {
        let timers = &mut self.processes[node as usize].timers;
        let Some(position) = timers.iter().position(|pending| pending.generation == generation) else { return };
        let pending = &mut timers[position];
        if pending.due > self.now {
            // Set again for later since its event was scheduled: wait until it is due.
            pending.scheduled = pending.due;
            let event = Event::Timer { node, generation };
            return self.substrate.schedule(self.now, pending.due, Place::Process(node), event);
        }
        let timer = timers.swap_remove(position).timer;
        if self.setup.is_client(node) {
            self.recorder.trace.input(self.now, node, 2, &timer);
            self.run_client(node, ClientInput::Timer(timer));
        } else {
            self.dispatch(node, ServerInput::Timer(timer));
        }
    }

    fn on_synced(&mut self, node: NodeId, sync: SyncId, incarnation: u32) {
        if self.processes[node as usize].incarnation != incarnation || !self.is_up(node) {
            return;
        }
        self.processes[node as usize].storage.finish(sync);
        self.release_held(node);
        self.dispatch(node, ServerInput::Synced(sync));
    }

    /// Sends and reports what waited for records that are now durable.
    fn release_held(&mut self, node: NodeId) {
        while let Some(waiting) = self.processes[node as usize].storage.release() {
            self.carry_out(node, waiting);
        }
    }

    /// Holds a send or report until the records written so far are durable.
    fn after_sync(&mut self, node: NodeId, waiting: Waiting<P::Message, P::Observation>) {
        if let Some(ready) = self.processes[node as usize].storage.after_sync(waiting) {
            self.carry_out(node, ready);
        }
    }

    fn carry_out(&mut self, node: NodeId, waiting: Waiting<P::Message, P::Observation>) {
        match waiting {
            Waiting::Send(to, message) => self.transmit(node, to, message),
            Waiting::Observe(observation) => self.observe(node, &observation),
        }
    }

    fn invoke(&mut self, client: NodeId) {
        let Some(operation) = self.workload.next(client, self.now) else { return };
        self.workload.started(client, self.history.len());
        self.recorder.trace.input(self.now, client, 4, &operation);
        self.history.push(Call {
            client,
            invoked: self.now,
            completed: None,
            operation: operation.clone(),
            outcome: None,
        });
        self.run_client(client, ClientInput::Request(operation));
    }

    /// Hands `input` to server `node` (if it is up) and carries out its effects; a sync that
    /// finished at once is reported to it right after.
    fn dispatch(&mut self, node: NodeId, input: ServerInput<P>) {
        match &input {
            ServerInput::Start => self.recorder.trace.input(self.now, node, 0, &()),
            ServerInput::Message { from, message } => self.recorder.trace.input(self.now, node, 1, &(from, message)),
            ServerInput::Timer(timer) => self.recorder.trace.input(self.now, node, 2, timer),
            ServerInput::Recover => self.recorder.trace.input(self.now, node, 3, &()),
            ServerInput::Synced(sync) => self.recorder.trace.input(self.now, node, 5, sync),
            ServerInput::Membership(change) => self.recorder.trace.input(self.now, node, 6, change),
            ServerInput::Disconnected(peer) => self.recorder.trace.input(self.now, node, 7, peer),
        }
        let process = &mut self.processes[node as usize];
        let Some(server) = self.servers[node as usize].as_mut() else { return };
        let mut effects = std::mem::take(&mut self.effects);
        let (monotonic, wall) = (process.clock.monotonic(self.now), process.clock.wall(self.now));
        let context = Context::new(node, monotonic, wall, &mut process.rng, &mut effects);
        let mut ctx = ServerContext::new(context, process.storage.next_sync, process.storage.uncovered());
        match input {
            ServerInput::Start => server.on_start(&mut ctx),
            ServerInput::Recover => server.on_recover(&mut ctx),
            ServerInput::Message { from, message } => server.on_message(&mut ctx, from, message),
            ServerInput::Timer(timer) => server.on_timer(&mut ctx, timer),
            ServerInput::Synced(sync) => server.on_synced(&mut ctx, sync),
            ServerInput::Membership(change) => server.on_membership(&mut ctx, change),
            ServerInput::Disconnected(peer) => server.on_disconnected(&mut ctx, peer),
        }
        server.invariants();
        let finished = self.apply(node, &mut effects);
        effects.clear();
        self.effects = effects;
        if P::Checker::INSPECTS && self.online && self.violation.is_none() {
            let view = WorldView::<P> { servers: &self.servers, processes: &self.processes, clients: &self.clients };
            if let Err(violation) = self.checker.inspect(self.now, node, &view) {
                self.violation = Some((self.now, violation));
            }
        }
        if let Some(sync) = finished {
            self.dispatch(node, ServerInput::Synced(sync));
        }
    }

    /// Hands `input` to client `node` and carries out its effects.
    fn run_client(&mut self, node: NodeId, input: ClientInput<P>) {
        let index = (node - self.setup.server_slots()) as usize;
        let process = &mut self.processes[node as usize];
        let client = &mut self.clients[index];
        let mut effects = std::mem::take(&mut self.effects);
        let (monotonic, wall) = (process.clock.monotonic(self.now), process.clock.wall(self.now));
        let mut ctx = ClientContext::new(Context::new(node, monotonic, wall, &mut process.rng, &mut effects));
        match input {
            ClientInput::Start => client.on_start(&mut ctx),
            ClientInput::Message { from, message } => client.on_message(&mut ctx, from, message),
            ClientInput::Timer(timer) => client.on_timer(&mut ctx, timer),
            ClientInput::Request(operation) => client.on_request(&mut ctx, operation),
            ClientInput::Disconnected(peer) => client.on_disconnected(&mut ctx, peer),
        }
        client.invariants();
        self.apply(node, &mut effects);
        effects.clear();
        self.effects = effects;
    }

    /// Carries out `effects` in the order the node made them. Returns the latest sync that
    /// finished at once, which the node is told of next.
    ///
    /// A plain observation reaches the checker when it is made: it says what the node did,
    /// durable or not. One made with `observe_after_sync` waits, with the sends that wait,
    /// for the records written before it to be durable.
    fn apply(&mut self, node: NodeId, effects: &mut Effects<P>) -> Option<SyncId> {
        let mut finished = None;
        let mut crash_at_sync = false;
        self.sent_to.clear();
        for effect in effects.list.drain(..) {
            match effect {
                Effect::Send { to, message } => {
                    self.note_sent(to);
                    self.transmit(node, to, message)
                }
                Effect::SendAfterSync { to, message } => {
                    self.note_sent(to);
                    self.after_sync(node, Waiting::Send(to, message))
                }
                Effect::ObserveAfterSync(observation) => self.after_sync(node, Waiting::Observe(observation)),
                Effect::SetTimer { after, timer } => self.set_timer(node, after, timer),
                Effect::CancelTimer { timer } => self.cancel_timer(node, &timer),
                Effect::Write(record) => self.processes[node as usize].storage.log.push(record),
                // A crash waits for this sync: the sync never finishes, the server dies as
                // soon as its handler is over.
                Effect::Sync(_) if self.strikes_at_sync(node) => crash_at_sync = true,
                Effect::Sync(sync) => {
                    if self.sync(node, sync) {
                        finished = Some(sync);
                        self.release_held(node);
                    }
                }
                Effect::Compact(records) => {
                    self.processes[node as usize].storage.compact(records);
                    self.release_held(node);
                }
                Effect::Observe(observation) => self.observe(node, &observation),
                Effect::Complete(outcome) => self.complete(node, outcome),
                Effect::Leave => self.remove(node),
            }
        }
        self.sent_to.clear();
        if crash_at_sync {
            self.crash_at_sync(node);
            return None;
        }
        finished
    }

    /// Starts sync `sync` of `node`; true if it finished at once.
    fn sync(&mut self, node: NodeId, sync: SyncId) -> bool {
        let latency = network::sample(&self.sync_latency, &mut self.storage_rng, &mut self.storage_spare_normal);
        let process = &mut self.processes[node as usize];
        let Some(done) = process.storage.sync(sync, self.now, latency) else { return true };
        let event = Event::Synced { node, sync, incarnation: process.incarnation };
        self.substrate.schedule(self.now, done, Place::Process(node), event);
        false
    }

    fn observe(&mut self, node: NodeId, observation: &P::Observation) {
        self.recorder.event(self.now, Some(node), || observation.to_string());
        if let Some(milestone) = P::milestone(observation) {
            self.recorder.milestone(milestone);
            self.note_milestone(milestone, node);
        }
        if self.violation.is_some() || !self.online {
            return;
        }
        if let Err(violation) = self.checker.observe(self.now, node, observation) {
            self.violation = Some((self.now, violation));
        }
    }

    fn set_timer(&mut self, node: NodeId, after: Time, timer: P::Timer) {
        let process = &mut self.processes[node as usize];
        let due = self.now + process.clock.real_duration(after);
        if let Some(pending) = process.timers.iter_mut().find(|pending| pending.timer == timer) {
            if pending.scheduled <= due {
                pending.due = due;
                return;
            }
        }
        self.cancel_timer(node, &timer);
        self.timer_generation += 1;
        let generation = self.timer_generation;
        self.processes[node as usize].timers.push(PendingTimer { timer, generation, due, scheduled: due });
        self.substrate.schedule(self.now, due, Place::Process(node), Event::Timer { node, generation });
    }

    fn cancel_timer(&mut self, node: NodeId, timer: &P::Timer) {
        let timers = &mut self.processes[node as usize].timers;
        if let Some(position) = timers.iter().position(|pending| pending.timer == *timer) {
            let generation = timers.swap_remove(position).generation;
            self.substrate.cancel_timer(node, generation);
        }
    }

    /// Hands a message to the network, which blocks, loses, delivers or duplicates it. On a
    /// FIFO link a message sent on a broken connection is dropped, and one that is lost,
    /// blocked, or sent to a receiver that is down (crashed, restarting or gone: refused at
    /// once, as a connection to a dead process is) breaks its connection.
    fn transmit(&mut self, from: NodeId, to: NodeId, message: P::Message) {
        assert!(
            (to as usize) < self.processes.len(),
            "node {from} sent {message:?} to node {to}, which does not exist"
        );
        let record = self.recorder.message(from, to, &message, self.now);
        self.keep_for_replay(from, to, &message);
        let incarnation = self.processes[to as usize].incarnation;
        let link = match &mut self.connections {
            Some(connections) => match connections.send(from, to) {
                Some(link) => Some(link),
                None => {
                    let id = self.recorder.sent(record);
                    return self.recorder.fate(id, Fate::Broken);
                }
            },
            None => None,
        };
        let route = match self.network.route(self.now, from, to) {
            Route::Deliver { .. } if link.is_some() && self.is_down(to) => Err(Fate::Crashed),
            Route::Deliver { at, copy_at } => Ok((at, copy_at)),
            Route::Blocked => Err(Fate::Blocked),
            Route::Lost => Err(Fate::Lost),
        };
        let (at, copy_at) = match route {
            Ok(times) => times,
            Err(fate) => {
                let id = self.recorder.sent(record);
                self.recorder.fate(id, fate);
                if link.is_some() {
                    self.break_connection(from, to);
                }
                return;
            }
        };
        if let Some(copy_at) = copy_at {
            let id = self.recorder.sent(MessageRecord { copy: true, ..record.clone() });
            let event = Event::Message { to, from, message: message.clone(), id, incarnation, link };
            self.substrate.transmit(self.now, copy_at, from, event);
        }
        let id = self.recorder.sent(record);
        self.substrate.transmit(self.now, at, from, Event::Message { to, from, message, id, incarnation, link });
    }

    fn complete(&mut self, client: NodeId, outcome: Outcome<ReplyOf<P>>) {
        let Some(index) = self.workload.take(client) else {
            panic!("client {client} completed an operation it was not given: {outcome:?}");
        };
        let call = &mut self.history[index];
        call.completed = Some(self.now);
        self.workload.completed(client, &call.operation, &outcome);
        call.outcome = Some(outcome);
        let think = self.workload.think_time();
        self.substrate.schedule(self.now, self.now + think, Place::Process(client), Event::Invoke(client));
    }

    /// Announces a membership change to every running server.
    fn announce(&mut self, change: Membership) {
        for server in 0..self.setup.server_slots() {
            if self.is_up(server) {
                self.dispatch(server, ServerInput::Membership(change));
            }
        }
    }

    /// The end of the run: the record, with the checker's figures and what may hold the
    /// system up.
    pub fn finish(self) -> Simulation<P> {
        let mut stuck_reasons: Vec<String> = self.checker.stuck_reason(self.now).into_iter().collect();
        stuck_reasons.extend(self.down_processes());
        Simulation {
            protocol_figures: self.checker.figures(self.now),
            trace_hash: std::hash::Hasher::finish(&self.recorder.trace),
            recorder: self.recorder,
            history: self.history,
            violation: self.violation,
            error: self.error,
            runaway: self.runaway,
            virtual_time: self.now,
            events: self.events,
            plan: self.plan,
            setup: self.setup,
            stuck_reasons,
        }
    }

    /// Processes down or cut off at the end, in words.
    fn down_processes(&self) -> Option<String> {
        let mut down = Vec::new();
        for (node, process) in (0..).zip(&self.processes) {
            let who = if self.setup.is_client(node) { "client" } else { "server" };
            match process.life {
                Life::Crashed | Life::Restarting => down.push(format!("{who} {node} crashed")),
                _ if process.paused => down.push(format!("{who} {node} paused")),
                _ => {}
            }
        }
        if self.network.has_faults() {
            down.push("link faults still in force".to_string());
        }
        (!down.is_empty()).then(|| format!("at the end: {}", down.join(", ")))
    }

    /// The record so far (for substrates that settle fates at the end).
    pub fn recorder_mut(&mut self) -> &mut Recorder {
        &mut self.recorder
    }
}

/// The process whose pause holds `event` back, if it is held by a pause at all.
fn held_for<P: Protocol>(event: &Event<P>) -> Option<NodeId> {
    match *event {
        Event::Message { to, .. } => Some(to),
        Event::Timer { node, .. }
        | Event::Synced { node, .. }
        | Event::Invoke(node)
        | Event::Disconnected { node, .. } => Some(node),
        _ => None,
    }
}

impl<P: Protocol> Process<P> {
    fn new(scenario: &Scenario, seed: u64, id: NodeId) -> Process<P> {
        let clock = scenario
            .clocks
            .iter()
            .filter(|spec| spec.node == id)
            .fold(Clock::default(), |_, spec| Clock::new(spec.offset_ms, spec.drift_ppm));
        Process {
            rng: stream(seed, rng::NODE + u64::from(id)),
            clock,
            timers: Vec::new(),
            life: Life::Absent,
            incarnation: 0,
            paused: false,
            backlog: Vec::new(),
            storage: Storage::default(),
            recent: std::collections::VecDeque::new(),
        }
    }
}

/// The world as a checker sees it.
struct WorldView<'a, P: Protocol> {
    servers: &'a [Option<P::Server>],
    processes: &'a [Process<P>],
    clients: &'a [P::Client],
}

impl<P: Protocol> View<P> for WorldView<'_, P> {
    fn servers(&self) -> u32 {
        self.servers.len() as u32
    }

    fn server(&self, server: NodeId) -> Option<&P::Server> {
        self.servers.get(server as usize)?.as_ref()
    }

    fn log(&self, server: NodeId) -> (&[P::Record], usize) {
        let storage = &self.processes[server as usize].storage;
        (&storage.log, storage.synced)
    }

    fn log_rewrites(&self, server: NodeId) -> u64 {
        self.processes[server as usize].storage.rewrites
    }

    fn client(&self, index: u32) -> &P::Client {
        &self.clients[index as usize]
    }

    fn clients(&self) -> u32 {
        self.clients.len() as u32
    }
}
