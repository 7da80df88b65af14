//! The native engine: a single-threaded discrete-event simulator.
//!
//! One priority queue of timestamped events ordered by (time, sequence number) drives every
//! server and client through the node contract. Every random choice comes from a ChaCha
//! stream derived from the run's seed, one stream per purpose (network, faults, workload,
//! nemesis, each node), so adding a node or a fault does not reshuffle unrelated choices.
//! The engine owns virtual time, the network, the faults, each node's clock, timers and
//! durable log, and the recorders; after every input it carries out the node's effects and
//! hands its observations to the protocol's checker. The run stops at the first violation
//! (it is never hidden by a later event), when the event budget is spent (verdict `error`),
//! or at its end time.

pub(crate) mod clock;
pub(crate) mod faults;

pub use faults::describe as describe_fault;
pub mod network;
pub mod record;
pub(crate) mod workload;

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use protocols::node::{
    Checker, Client, Context, Effects, Node, NodeId, Protocol, Setup, Time, TimerCommand, Violation, MILLISECOND,
};
use protocols::operation::{Operation, Outcome};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::scenario::{Fault, Heal, Scenario};
use clock::Clock;
use faults::{Active, Nemesis};
use network::{Network, Route};
use record::{Fate, MessageRecord, OperationRecord, Recorder};
use workload::Workload;

/// Stream numbers, one per purpose; node `i` uses `NODE_STREAM + i`.
pub(crate) const NETWORK_STREAM: u64 = 1;
pub(crate) const FAULT_STREAM: u64 = 2;
pub(crate) const WORKLOAD_STREAM: u64 = 3;
pub(crate) const NEMESIS_STREAM: u64 = 4;
pub(crate) const NODE_STREAM: u64 = 1 << 32;

/// The random stream for one purpose of the run with `seed`.
pub fn stream(seed: u64, purpose: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(purpose);
    rng
}

/// How a run is carried out, beyond what its scenario says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunOptions {
    pub seed: u64,
    /// Keep every message and event (for tables and reports), not only counts.
    pub detailed: bool,
}

/// What one run produced, for the verdict and the reports.
#[derive(Debug)]
pub struct RunRecord {
    pub recorder: Recorder,
    pub violation: Option<(Time, Violation)>,
    /// Why the run could not finish (event budget), if it could not.
    pub error: Option<String>,
    pub virtual_time: Time,
    pub events: u64,
    pub servers: u32,
    /// The protocol checker's own figures (`Checker::figures`).
    pub protocol_figures: Vec<(&'static str, f64)>,
    /// When the fault window ended (and everything healed, if the scenario heals).
    pub faults_end: Time,
    pub trace_hash: u64,
}

/// Runs `scenario` with protocol `P` on the native engine.
pub fn run<P: Protocol>(scenario: &Scenario, options: RunOptions) -> RunRecord {
    let mut engine = Engine::<P>::new(scenario, options);
    engine.simulate();
    engine.finish()
}

/// One input for one node.
#[derive(Debug)]
enum Input<P: Protocol> {
    Start,
    Message {
        from: NodeId,
        message: P::Message,
        id: u64,
    },
    Timer {
        timer: P::Timer,
        generation: u64,
    },
    /// The workload's turn to give this client its next operation.
    Invoke,
}

#[derive(Debug)]
enum EventKind<P: Protocol> {
    Node {
        node: NodeId,
        input: Input<P>,
    },
    /// The timeline's fault with this index.
    Fault(usize),
    Undo(u64),
    Nemesis,
    HealAll,
}

struct Event<P: Protocol> {
    time: Time,
    seq: u64,
    kind: EventKind<P>,
}

impl<P: Protocol> PartialEq for Event<P> {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl<P: Protocol> Eq for Event<P> {}
impl<P: Protocol> PartialOrd for Event<P> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<P: Protocol> Ord for Event<P> {
    /// Reversed, so that the max-heap pops the earliest event first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// The engine's view of one process: its clock, random stream, timers, pause backlog and
/// (for servers) durable log.
struct NodeState<P: Protocol> {
    rng: ChaCha8Rng,
    clock: Clock,
    timers: Vec<(P::Timer, u64)>,
    paused: bool,
    backlog: Vec<Event<P>>,
    log: Vec<P::Record>,
    /// How many records of `log` are synced.
    synced: usize,
}

struct Engine<P: Protocol> {
    setup: Setup,
    now: Time,
    end: Time,
    faults_end: Time,
    seq: u64,
    timer_generation: u64,
    queue: BinaryHeap<Event<P>>,
    servers: Vec<Option<P::Server>>,
    clients: Vec<P::Client>,
    nodes: Vec<NodeState<P>>,
    /// Per client, the index in the history of its operation in flight.
    in_flight: Vec<Option<usize>>,
    checker: P::Checker,
    network: Network,
    workload: Workload,
    timeline: Vec<Fault>,
    nemesis: Option<Nemesis>,
    active: Vec<Active>,
    next_fault: u64,
    fault_rng: ChaCha8Rng,
    recorder: Recorder,
    effects: Effects<P>,
    events: u64,
    max_events: u64,
    violation: Option<(Time, Violation)>,
    error: Option<String>,
    heal: Heal,
}

impl<P: Protocol> Engine<P> {
    fn new(scenario: &Scenario, options: RunOptions) -> Engine<P> {
        let variant =
            P::VARIANTS.iter().find(|variant| variant.name == scenario.variant).map_or(P::VARIANTS[0].name, |v| v.name);
        let setup = Setup {
            servers: scenario.nodes,
            clients: scenario.workload.clients,
            variant,
            timeout: scenario.timeout_ms * MILLISECOND,
        };
        let processes = (setup.servers + setup.clients) as usize;
        let seed = options.seed;
        let duration = scenario.duration_ms * MILLISECOND;
        let faults_end = scenario.faults_end();
        let liveness_end = faults_end + scenario.checks.liveness_ms.unwrap_or(0) * MILLISECOND;
        let nodes = (0..processes as NodeId).map(|id| NodeState::new(scenario, seed, id)).collect();
        let mut engine = Engine {
            now: 0,
            end: duration.max(liveness_end) + scenario.limits.drain_ms * MILLISECOND,
            faults_end,
            seq: 0,
            timer_generation: 0,
            queue: BinaryHeap::new(),
            servers: setup.server_ids().map(|id| Some(P::server(&setup, id))).collect(),
            clients: (setup.servers..processes as NodeId).map(|id| P::client(&setup, id)).collect(),
            nodes,
            in_flight: vec![None; setup.clients as usize],
            checker: P::checker(&setup),
            network: Network::new(&scenario.network, setup.servers as usize, processes, stream(seed, NETWORK_STREAM)),
            workload: Workload::new(&scenario.workload, P::OPERATIONS, duration, stream(seed, WORKLOAD_STREAM)),
            timeline: scenario.faults.clone(),
            nemesis: scenario
                .nemesis
                .as_ref()
                .map(|config| Nemesis::new(config, scenario, stream(seed, NEMESIS_STREAM))),
            active: Vec::new(),
            next_fault: 0,
            fault_rng: stream(seed, FAULT_STREAM),
            recorder: Recorder::new(options.detailed),
            effects: Effects::default(),
            events: 0,
            max_events: scenario.limits.max_events,
            violation: None,
            error: None,
            heal: scenario.checks.heal,
            setup,
        };
        engine.schedule_start(scenario);
        engine
    }

    fn schedule_start(&mut self, scenario: &Scenario) {
        for node in 0..self.nodes.len() as NodeId {
            self.push(0, EventKind::Node { node, input: Input::Start });
        }
        for client in self.setup.servers..self.nodes.len() as NodeId {
            let think = self.workload.think_time();
            self.push(think, EventKind::Node { node: client, input: Input::Invoke });
        }
        self.schedule_faults(scenario);
    }

    fn push(&mut self, time: Time, kind: EventKind<P>) {
        self.seq += 1;
        self.queue.push(Event { time, seq: self.seq, kind });
    }

    fn simulate(&mut self) {
        while let Some(event) = self.queue.pop() {
            if event.time > self.end {
                self.now = self.end;
                break;
            }
            self.now = event.time;
            self.events += 1;
            if self.events > self.max_events {
                self.error = Some(format!("event budget of {} events exceeded", self.max_events));
                break;
            }
            match event.kind {
                EventKind::Node { node, input } => {
                    self.on_node_event(Event { kind: EventKind::Node { node, input }, ..event })
                }
                EventKind::Fault(index) => self.on_timeline_fault(index),
                EventKind::Undo(id) => self.undo(id),
                EventKind::Nemesis => self.on_nemesis(),
                EventKind::HealAll => self.heal_all(),
            }
            if self.violation.is_some() {
                break;
            }
        }
    }

    fn on_node_event(&mut self, event: Event<P>) {
        let EventKind::Node { node, input } = event.kind else { unreachable!("only node events come here") };
        let state = &mut self.nodes[node as usize];
        if state.paused {
            state.backlog.push(Event { kind: EventKind::Node { node, input }, ..event });
            return;
        }
        match input {
            Input::Message { from, message, id } => self.deliver(node, from, message, id),
            Input::Timer { timer, generation } => self.fire_timer(node, timer, generation),
            Input::Invoke => self.invoke(node),
            Input::Start => self.dispatch(node, Input::Start),
        }
    }

    fn deliver(&mut self, node: NodeId, from: NodeId, message: P::Message, id: u64) {
        if self.network.is_blocked(from, node) {
            self.recorder.fate(id, Fate::Blocked);
        } else if self.is_crashed(node) {
            self.recorder.fate(id, Fate::Crashed);
        } else {
            self.recorder.fate(id, Fate::Delivered(self.now));
            self.recorder.handling = Some(id);
            self.dispatch(node, Input::Message { from, message, id });
            self.recorder.handling = None;
        }
    }

    fn fire_timer(&mut self, node: NodeId, timer: P::Timer, generation: u64) {
        let timers = &mut self.nodes[node as usize].timers;
        let Some(position) = timers.iter().position(|(pending, g)| *g == generation && *pending == timer) else {
            return;
        };
        timers.swap_remove(position);
        self.dispatch(node, Input::Timer { timer, generation });
    }

    fn invoke(&mut self, client: NodeId) {
        let Some(operation) = self.workload.next_operation(self.now) else { return };
        let index = client as usize - self.setup.servers as usize;
        self.in_flight[index] = Some(self.recorder.history.len());
        self.recorder.history.push(OperationRecord {
            client,
            invoked: self.now,
            completed: None,
            operation: operation.clone(),
            outcome: None,
        });
        self.recorder.trace.input(self.now, client, 4, &operation);
        self.run_handler(client, |client_node, _, ctx| {
            if let Some(client_node) = client_node {
                client_node.on_request(ctx, operation);
            }
        });
    }

    /// Hands `input` to `node` (a live server or a client) and carries out its effects.
    fn dispatch(&mut self, node: NodeId, input: Input<P>) {
        match &input {
            Input::Start => self.recorder.trace.input(self.now, node, 0, &()),
            Input::Message { from, message, .. } => self.recorder.trace.input(self.now, node, 1, &(from, message)),
            Input::Timer { timer, .. } => self.recorder.trace.input(self.now, node, 2, timer),
            Input::Invoke => {}
        }
        self.run_handler(node, |client, server, ctx| match (client, server) {
            (Some(client), _) => feed(client, ctx, input),
            (_, Some(server)) => feed(server, ctx, input),
            (None, None) => {}
        });
    }

    /// Recovers a restarted server through its `on_recover` handler.
    fn dispatch_recover(&mut self, node: NodeId) {
        self.recorder.trace.input(self.now, node, 3, &());
        self.run_handler(node, |_, server, ctx| {
            if let Some(server) = server {
                server.on_recover(ctx);
            }
        });
    }

    /// Runs one handler of `node` with a fresh context, then applies its effects.
    fn run_handler(
        &mut self,
        node: NodeId,
        handler: impl FnOnce(Option<&mut P::Client>, Option<&mut P::Server>, &mut Context<P>),
    ) {
        let servers = self.setup.servers as usize;
        let state = &mut self.nodes[node as usize];
        let local_now = state.clock.local(self.now);
        let mut effects = std::mem::take(&mut self.effects);
        let mut ctx = Context::new(node, local_now, &mut state.rng, &mut effects);
        if (node as usize) < servers {
            let Some(server) = self.servers[node as usize].as_mut() else { return };
            handler(None, Some(server), &mut ctx);
            server.invariants();
        } else {
            let client = &mut self.clients[node as usize - servers];
            handler(Some(client), None, &mut ctx);
            client.invariants();
        }
        self.apply(node, &mut effects);
        effects.clear();
        self.effects = effects;
        if P::Checker::INSPECTS && (node as usize) < servers && self.violation.is_none() {
            if let Err(violation) = self.checker.inspect(self.now, &self.servers) {
                self.violation = Some((self.now, violation));
            }
        }
    }

    fn apply(&mut self, node: NodeId, effects: &mut Effects<P>) {
        let state = &mut self.nodes[node as usize];
        let written = state.log.len();
        state.log.append(&mut effects.writes);
        if let Some(synced) = effects.synced {
            state.synced = written + synced;
        }
        for command in effects.timers.drain(..) {
            self.set_timer(node, command);
        }
        for (to, message) in effects.sends.drain(..) {
            self.transmit(node, to, message);
        }
        for observation in &effects.observations {
            self.recorder.event(self.now, Some(node), || observation.to_string());
            if let Some(milestone) = P::milestone(observation) {
                self.recorder.milestone(milestone);
            }
            if self.violation.is_some() {
                continue;
            }
            if let Err(violation) = self.checker.observe(self.now, node, observation) {
                self.violation = Some((self.now, violation));
            }
        }
        for outcome in effects.outcomes.drain(..) {
            self.complete(node, outcome);
        }
    }

    fn set_timer(&mut self, node: NodeId, command: TimerCommand<P::Timer>) {
        let state = &mut self.nodes[node as usize];
        match command {
            TimerCommand::Set { after, timer } => {
                self.timer_generation += 1;
                let generation = self.timer_generation;
                state.timers.retain(|(pending, _)| *pending != timer);
                state.timers.push((timer.clone(), generation));
                let at = self.now + state.clock.real_duration(after);
                self.push(at, EventKind::Node { node, input: Input::Timer { timer, generation } });
            }
            TimerCommand::Cancel { timer } => state.timers.retain(|(pending, _)| *pending != timer),
        }
    }

    fn transmit(&mut self, from: NodeId, to: NodeId, message: P::Message) {
        assert!((to as usize) < self.nodes.len(), "node {from} sent {message:?} to node {to}, which does not exist");
        let record = self.recorder.message(from, to, &message, self.now);
        match self.network.route(self.now, from, to) {
            Route::Blocked => {
                let id = self.recorder.sent(record);
                self.recorder.fate(id, Fate::Blocked);
            }
            Route::Lost => {
                let id = self.recorder.sent(record);
                self.recorder.fate(id, Fate::Lost);
            }
            Route::Deliver { at, copy_at } => {
                if let Some(copy_at) = copy_at {
                    let id = self.recorder.sent(MessageRecord { copy: true, ..record.clone() });
                    let input = Input::Message { from, message: message.clone(), id };
                    self.push(copy_at, EventKind::Node { node: to, input });
                }
                let id = self.recorder.sent(record);
                self.push(at, EventKind::Node { node: to, input: Input::Message { from, message, id } });
            }
        }
    }

    fn complete(&mut self, client: NodeId, outcome: Outcome) {
        let index = client as usize - self.setup.servers as usize;
        let slot = self.in_flight[index].take();
        let Some(operation) = slot else {
            panic!("client {client} completed an operation it was not given: {outcome:?}");
        };
        let record = &mut self.recorder.history[operation];
        record.completed = Some(self.now);
        record.outcome = Some(outcome);
        let think = self.workload.think_time();
        self.push(self.now + think, EventKind::Node { node: client, input: Input::Invoke });
    }

    fn is_crashed(&self, node: NodeId) -> bool {
        (node as usize) < self.servers.len() && self.servers[node as usize].is_none()
    }

    fn finish(self) -> RunRecord {
        RunRecord {
            protocol_figures: self.checker.figures(self.now),
            trace_hash: std::hash::Hasher::finish(&self.recorder.trace),
            recorder: self.recorder,
            violation: self.violation,
            error: self.error,
            virtual_time: self.now,
            events: self.events,
            servers: self.setup.servers,
            faults_end: self.faults_end,
        }
    }
}

impl<P: Protocol> NodeState<P> {
    fn new(scenario: &Scenario, seed: u64, id: NodeId) -> NodeState<P> {
        let clock = scenario
            .clocks
            .iter()
            .filter(|spec| spec.node == id)
            .fold(Clock::default(), |_, spec| Clock::new(spec.offset_ms, spec.drift_ppm));
        NodeState {
            rng: stream(seed, NODE_STREAM + id as u64),
            clock,
            timers: Vec::new(),
            paused: false,
            backlog: Vec::new(),
            log: Vec::new(),
            synced: 0,
        }
    }
}

/// Hands one input to a node through the contract.
fn feed<P: Protocol, N: Node<P>>(node: &mut N, ctx: &mut Context<P>, input: Input<P>) {
    match input {
        Input::Start => node.on_start(ctx),
        Input::Message { from, message, .. } => node.on_message(ctx, from, message),
        Input::Timer { timer, .. } => node.on_timer(ctx, timer),
        Input::Invoke => {}
    }
}

/// The operation a history record describes, for display.
pub fn describe(operation: &Operation) -> String {
    match operation {
        Operation::Propose { value } => format!("propose {value}"),
        Operation::Read { key } => format!("read {key}"),
        Operation::Write { key, value } => format!("write {key} {value}"),
        Operation::Append { key, value } => format!("append {key} {value}"),
        Operation::Cas { key, from, to } => format!("cas {key} {from}->{to}"),
        Operation::Transaction { value, keys, vetoes } => {
            format!("transaction {value} on keys {keys:?} vetoes {vetoes:?}")
        }
    }
}
