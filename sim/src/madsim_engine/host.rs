//! The host: the task (madsim's `block_on` future) that holds every state machine, the
//! durable logs, the checker and the recorders, and steps a node whenever one of the node's
//! tasks reports an input.
//!
//! The state machines stay out of the tasks because madsim's tasks must be `Send` and the
//! contract does not ask protocols for that; the tasks carry only ids (`inbox.rs`). The
//! stepping code mirrors the native engine's (`engine/mod.rs`) line for line where it can:
//! same contract calls, same trace hash inputs, same checker and recorder calls.

mod faults;
mod inbox;
mod net;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use madsim::net::Endpoint;
use madsim::runtime::{Handle, NodeHandle, Runtime};
use madsim::task::AbortHandle;
use madsim::time::TimeHandle;
use protocols::node::{
    Checker, Client, Context, Effects, Node, NodeId, Protocol, Setup, Time, TimerCommand, Violation, MILLISECOND,
};
use protocols::operation::Outcome;
use rand_chacha::ChaCha8Rng;

use super::MADSIM_STEP;
use crate::engine::clock::Clock;
use crate::engine::faults::Nemesis;
use crate::engine::network::Network;
use crate::engine::record::{OperationRecord, Recorder};
use crate::engine::workload::Workload;
use crate::engine::{
    stream, RunOptions, RunRecord, FAULT_STREAM, NEMESIS_STREAM, NETWORK_STREAM, NODE_STREAM, WORKLOAD_STREAM,
};
use crate::scenario::{Fault, Heal, Scenario};
use faults::Active;
use inbox::{Inbox, Report};
use net::Transit;

/// How long a node takes to boot (to bind its endpoint): the run's time starts when the
/// processes are up, as they are at time 0 on the native engine.
const BOOT: Time = MADSIM_STEP;

/// Runs `scenario` in a fresh madsim runtime seeded with the run's seed.
pub(super) fn simulate<P: Protocol>(scenario: &Scenario, options: RunOptions) -> RunRecord {
    let (config, layered) = net::configure(&scenario.network);
    let runtime = Runtime::with_seed_and_config(options.seed, config);
    runtime.block_on(async {
        let mut host = Host::<P>::new(scenario, options, layered);
        host.simulate().await;
        host.finish()
    })
}

/// Where a process is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Life {
    /// First boot: binding its endpoint; `on_start` comes when it is up.
    Booting,
    Running,
    /// Killed; its volatile state is gone.
    Crashed,
    /// Restarted, binding its endpoint; `Protocol::recover` comes when it is up.
    Rebooting,
}

/// One input for one node (the workload's invocations and recoveries go their own ways).
enum Input<P: Protocol> {
    Start,
    Message { from: NodeId, message: P::Message },
    Timer { timer: P::Timer },
}

/// The host's view of one process.
struct NodeState<P: Protocol> {
    /// Its madsim node (a new handle after each restart).
    place: NodeHandle,
    /// Its endpoint while it is up.
    endpoint: Option<Endpoint>,
    life: Life,
    rng: ChaCha8Rng,
    clock: Clock,
    /// Pending timers: name, generation, and the sleeping task to abort when it is replaced.
    timers: Vec<(P::Timer, u64, AbortHandle)>,
    /// Set when the host pauses the node; reports that raced the pause wait in `backlog`.
    paused: bool,
    backlog: Vec<Report>,
    log: Vec<P::Record>,
    /// How many records of `log` are synced.
    synced: usize,
}

struct Host<P: Protocol> {
    madsim: Handle,
    time: TimeHandle,
    inbox: Arc<Inbox>,
    /// The host's own madsim node: the fault timeline's timers, and datagrams on their way out
    /// (a message handed to the network is no longer its sender's).
    world: NodeHandle,
    setup: Setup,
    now: Time,
    end: Time,
    faults_end: Time,
    servers: Vec<Option<P::Server>>,
    clients: Vec<P::Client>,
    nodes: Vec<NodeState<P>>,
    /// Per client, the index in the history of its operation in flight.
    in_flight: Vec<Option<usize>>,
    checker: P::Checker,
    /// The link faults in force (madsim's clogs follow it), duplication, and layered latency.
    network: Network,
    /// Which directed server links are clogged in madsim, row-major by sender.
    clogged: Vec<bool>,
    /// The longest a datagram stays inside madsim: latency plus a send and a receive.
    transit_max: Time,
    transit: BTreeMap<u64, Transit<P>>,
    /// The latest time until which madsim may deliver a datagram sent so far.
    transit_until: Time,
    next_datagram: u64,
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
    timer_generation: u64,
    /// Reports due from the host's node (faults, undos, the nemesis, the heal), and clients'
    /// think times, not handled yet: with the nodes' timers, what keeps the world busy.
    world_pending: usize,
    thinking: usize,
    /// When the host last handled a report.
    last_report: Time,
}

impl<P: Protocol> Host<P> {
    /// Builds the world inside the runtime: one madsim node per process, booting.
    fn new(scenario: &Scenario, options: RunOptions, layered: net::Layered) -> Host<P> {
        let setup = setup::<P>(scenario);
        let processes = setup.servers + setup.clients;
        let seed = options.seed;
        let madsim = Handle::current();
        let inbox = Arc::new(Inbox::default());
        let duration = scenario.duration_ms * MILLISECOND;
        let faults_end = scenario.faults_end();
        let liveness_end = faults_end + scenario.checks.liveness_ms.unwrap_or(0) * MILLISECOND;
        let nodes = (0..processes).map(|id| NodeState::new(scenario, seed, id, &madsim, &inbox)).collect();
        let mut host = Host {
            world: madsim.create_node().name("world").build(),
            time: TimeHandle::current(),
            now: 0,
            end: duration.max(liveness_end) + scenario.limits.drain_ms * MILLISECOND,
            faults_end,
            servers: setup.server_ids().map(|id| Some(P::server(&setup, id))).collect(),
            clients: (setup.servers..processes).map(|id| P::client(&setup, id)).collect(),
            nodes,
            in_flight: vec![None; setup.clients as usize],
            checker: P::checker(&setup),
            network: net::mirror(&scenario.network, &layered, setup.servers, processes, stream(seed, NETWORK_STREAM)),
            clogged: vec![false; (setup.servers * setup.servers) as usize],
            transit_max: layered.transit_max,
            transit: BTreeMap::new(),
            transit_until: 0,
            next_datagram: 0,
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
            timer_generation: 0,
            world_pending: 0,
            thinking: 0,
            last_report: 0,
            madsim,
            inbox,
            setup,
        };
        host.schedule_faults(scenario);
        host.after(&host.world, BOOT + host.end, Report::End);
        host
    }

    /// Handles reports until the end time, the first violation, the event budget, or the
    /// moment nothing is left to happen (when the native engine's queue would run dry).
    async fn simulate(&mut self) {
        loop {
            let report = self.inbox.next().await;
            self.now = self.clock();
            if self.now > self.end || matches!(report, Report::End) {
                self.now = if self.is_busy() { self.end } else { self.last_report };
                break;
            }
            self.events += 1;
            if self.events > self.max_events {
                self.error = Some(format!("event budget of {} events exceeded", self.max_events));
                break;
            }
            self.last_report = self.now;
            self.handle(report);
            if self.violation.is_some() || !self.is_busy() {
                break;
            }
        }
        self.shut_down();
    }

    /// Whether anything can still happen: a report waiting or due from the host's node, a
    /// client thinking, a node booting or with a timer set, or a message madsim may still deliver.
    fn is_busy(&self) -> bool {
        !self.inbox.is_empty()
            || self.world_pending > 0
            || self.thinking > 0
            || self
                .nodes
                .iter()
                .any(|state| matches!(state.life, Life::Booting | Life::Rebooting) || !state.timers.is_empty())
            || self.transit_until > self.now
    }

    fn handle(&mut self, report: Report) {
        match report.node() {
            None => self.world_pending -= 1,
            Some(node) if self.nodes[node as usize].paused => {
                self.nodes[node as usize].backlog.push(report);
                return;
            }
            Some(_) => {}
        }
        match report {
            Report::Up { node, endpoint } => self.on_up(node, endpoint),
            Report::Message { node, id } => self.deliver(node, id),
            Report::Timer { node, generation } => self.fire_timer(node, generation),
            Report::Invoke { client } => {
                self.thinking -= 1;
                self.invoke(client);
            }
            Report::Fault(index) => self.on_timeline_fault(index),
            Report::Undo(id) => self.undo(id),
            Report::Nemesis => self.on_nemesis(),
            Report::HealAll => self.heal_all(),
            Report::End => {}
        }
    }

    /// A node bound its endpoint: it starts, or recovers from its durable log.
    fn on_up(&mut self, node: NodeId, endpoint: Endpoint) {
        let state = &mut self.nodes[node as usize];
        state.endpoint = Some(endpoint);
        match std::mem::replace(&mut state.life, Life::Running) {
            Life::Booting => {
                self.dispatch(node, Input::Start);
                if self.is_client(node) {
                    self.schedule_invoke(node);
                }
            }
            Life::Rebooting => self.recover(node),
            life => unreachable!("node {node} came up while {life:?}: a crash forgets its reports"),
        }
    }

    fn recover(&mut self, node: NodeId) {
        let log = &self.nodes[node as usize].log;
        self.servers[node as usize] = Some(P::recover(&self.setup, node, log));
        let records = log.len();
        self.recorder.event(self.now, Some(node), || format!("restart from {records} durable records"));
        self.recorder.trace.input(self.now, node, 3, &());
        self.run_handler(node, |_, server, ctx| {
            if let Some(server) = server {
                server.on_recover(ctx);
            }
        });
    }

    fn fire_timer(&mut self, node: NodeId, generation: u64) {
        let timers = &mut self.nodes[node as usize].timers;
        let Some(position) = timers.iter().position(|(_, pending, _)| *pending == generation) else { return };
        let (timer, ..) = timers.swap_remove(position);
        self.dispatch(node, Input::Timer { timer });
    }

    fn invoke(&mut self, client: NodeId) {
        let Some(operation) = self.workload.next_operation(self.now) else { return };
        let index = (client - self.setup.servers) as usize;
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
            Input::Message { from, message } => self.recorder.trace.input(self.now, node, 1, &(from, message)),
            Input::Timer { timer } => self.recorder.trace.input(self.now, node, 2, timer),
        }
        self.run_handler(node, |client, server, ctx| match (client, server) {
            (Some(client), _) => feed(client, ctx, input),
            (_, Some(server)) => feed(server, ctx, input),
            (None, None) => {}
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

    /// A timer is a sleep on the node's madsim node: it fires late if the node is paused, and
    /// never if the node is killed.
    fn set_timer(&mut self, node: NodeId, command: TimerCommand<P::Timer>) {
        let timer = match &command {
            TimerCommand::Set { timer, .. } | TimerCommand::Cancel { timer } => timer,
        };
        let timers = &mut self.nodes[node as usize].timers;
        if let Some(position) = timers.iter().position(|(pending, ..)| pending == timer) {
            timers.swap_remove(position).2.abort();
        }
        let TimerCommand::Set { after, timer } = command else { return };
        self.timer_generation += 1;
        let generation = self.timer_generation;
        let state = &self.nodes[node as usize];
        let delay = state.clock.real_duration(after);
        let sleeper = self.after(&state.place, delay, Report::Timer { node, generation });
        self.nodes[node as usize].timers.push((timer, generation, sleeper));
    }

    fn complete(&mut self, client: NodeId, outcome: Outcome) {
        let index = (client - self.setup.servers) as usize;
        let Some(operation) = self.in_flight[index].take() else {
            panic!("client {client} completed an operation it was not given: {outcome:?}");
        };
        let record = &mut self.recorder.history[operation];
        record.completed = Some(self.now);
        record.outcome = Some(outcome);
        self.schedule_invoke(client);
    }

    /// The client's next operation comes after a think time, slept on the client's node.
    fn schedule_invoke(&mut self, client: NodeId) {
        let think = self.workload.think_time();
        self.thinking += 1;
        self.after(&self.nodes[client as usize].place, think, Report::Invoke { client });
    }

    /// The run's virtual time: madsim's, from the moment the nodes are up.
    fn clock(&self) -> Time {
        (self.time.elapsed().as_nanos() as Time).saturating_sub(BOOT)
    }

    /// Reports `report` after `delay` of true time, from a task on `place` (which dies with it).
    fn after(&self, place: &NodeHandle, delay: Time, report: Report) -> AbortHandle {
        let inbox = self.inbox.clone();
        let task = place.spawn(async move {
            wait(delay).await;
            inbox.push(report);
        });
        task.abort_handle()
    }

    /// Reports `report` at `time`, from the host's own node.
    fn at(&mut self, time: Time, report: Report) {
        self.world_pending += 1;
        let elapsed = self.time.elapsed().as_nanos() as Time;
        self.after(&self.world, (BOOT + time).saturating_sub(elapsed), report);
    }

    fn is_client(&self, node: NodeId) -> bool {
        node >= self.setup.servers
    }

    fn is_crashed(&self, node: NodeId) -> bool {
        !self.is_client(node) && self.servers[node as usize].is_none()
    }

    /// Kills every node, so that no task, timer or socket outlives the run.
    fn shut_down(&mut self) {
        for state in &self.nodes {
            self.madsim.kill(state.place.id());
        }
        self.madsim.kill(self.world.id());
        self.settle_transit(self.clock());
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
    /// A process and its madsim node, which boots at once.
    fn new(scenario: &Scenario, seed: u64, id: NodeId, madsim: &Handle, inbox: &Arc<Inbox>) -> NodeState<P> {
        let clock = scenario
            .clocks
            .iter()
            .filter(|spec| spec.node == id)
            .fold(Clock::default(), |_, spec| Clock::new(spec.offset_ms, spec.drift_ppm));
        NodeState {
            place: net::boot_node(madsim, id, inbox),
            endpoint: None,
            life: Life::Booting,
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

/// Sleeps `delay`, as near as madsim can (see [`is_slept`]).
async fn wait(delay: Time) {
    if is_slept(delay) {
        madsim::time::sleep(Duration::from_nanos(delay)).await;
    }
}

/// madsim's sleeps last at least 1 ms, so a delay under half of that is not slept at all, and
/// one from half to a whole millisecond lasts 1 ms: the nearest madsim can do.
fn is_slept(delay: Time) -> bool {
    delay >= MADSIM_STEP / 2
}

/// The protocol's view of the run, as the native engine builds it.
fn setup<P: Protocol>(scenario: &Scenario) -> Setup {
    let variant =
        P::VARIANTS.iter().find(|variant| variant.name == scenario.variant).map_or(P::VARIANTS[0].name, |v| v.name);
    Setup {
        servers: scenario.nodes,
        clients: scenario.workload.clients,
        variant,
        timeout: scenario.timeout_ms * MILLISECOND,
    }
}

/// Hands one input to a node through the contract.
fn feed<P: Protocol, N: Node<P>>(node: &mut N, ctx: &mut Context<P>, input: Input<P>) {
    match input {
        Input::Start => node.on_start(ctx),
        Input::Message { from, message } => node.on_message(ctx, from, message),
        Input::Timer { timer } => node.on_timer(ctx, timer),
    }
}
