//! The test kit of the protocols: drive nodes through the contract with no engine.
//!
//! - [`Harness`] runs one input on one server or client, as the world would (its clocks,
//!   its random stream, its sync numbers), and returns the exact effects, for handler tests
//!   that pin every output. Timers are asserted by range ([`assert_timer`]), never by
//!   replaying the random generator, so one more random draw in a handler breaks no test.
//! - [`Cluster`] wires servers and clients together through a hand-driven network: every
//!   message waits in a queue until the test delivers it (or loses it), timers fire when the
//!   test says, syncs finish at once, and the protocol's checker sees every observation and
//!   inspects every server after every input. Enough to pin textbook message costs and to
//!   replay a paper's schedule step by step (Raft's Figure 8), as raft-rs's test harness
//!   network does.

use std::collections::{BTreeMap, VecDeque};
use std::marker::PhantomData;
use std::ops::RangeInclusive;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::node::{
    Checker, Client, ClientContext, Context, Effect, Effects, Message, NodeId, OperationOf, Protocol, ReplyOf, Server,
    ServerContext, SetupOf, SyncId, Time, View, Violation, MILLISECOND,
};
use crate::service::Outcome;

/// Drives one process of protocol `P` through the contract and returns what each input
/// made it do.
#[derive(Debug)]
pub struct Harness<P> {
    id: NodeId,
    rng: ChaCha8Rng,
    /// What both of the node's clocks read.
    pub now: Time,
    next_sync: SyncId,
    /// Whether the node wrote records no sync covers yet.
    uncovered: bool,
    protocol: PhantomData<fn() -> P>,
}

impl<P: Protocol> Harness<P> {
    /// A harness for process `id` whose random stream starts from `seed`.
    pub fn new(id: NodeId, seed: u64) -> Harness<P> {
        Harness {
            id,
            rng: ChaCha8Rng::seed_from_u64(seed),
            now: 0,
            next_sync: 1,
            uncovered: false,
            protocol: PhantomData,
        }
    }

    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Runs `input` on `server`, then its invariants; returns the effects.
    pub fn server(
        &mut self,
        server: &mut P::Server,
        input: impl FnOnce(&mut P::Server, &mut ServerContext<P>),
    ) -> Effects<P> {
        let mut effects = Effects::default();
        let context = Context::new(self.id, self.now, self.now, &mut self.rng, &mut effects);
        let mut ctx = ServerContext::new(context, self.next_sync, self.uncovered);
        input(server, &mut ctx);
        server.invariants();
        for effect in &effects.list {
            match effect {
                Effect::Write(_) => self.uncovered = true,
                Effect::Sync(sync) => {
                    self.next_sync = sync + 1;
                    self.uncovered = false;
                }
                Effect::Compact(_) => self.uncovered = false,
                _ => {}
            }
        }
        effects
    }

    pub fn start(&mut self, server: &mut P::Server) -> Effects<P> {
        self.server(server, |server, ctx| server.on_start(ctx))
    }

    pub fn recover(&mut self, server: &mut P::Server) -> Effects<P> {
        self.server(server, |server, ctx| server.on_recover(ctx))
    }

    pub fn deliver(&mut self, server: &mut P::Server, from: NodeId, message: P::Message) -> Effects<P> {
        self.server(server, |server, ctx| server.on_message(ctx, from, message))
    }

    pub fn fire(&mut self, server: &mut P::Server, timer: P::Timer) -> Effects<P> {
        self.server(server, |server, ctx| server.on_timer(ctx, timer))
    }

    /// Tells `server` that every sync up to `sync` finished.
    pub fn synced(&mut self, server: &mut P::Server, sync: SyncId) -> Effects<P> {
        self.server(server, |server, ctx| server.on_synced(ctx, sync))
    }

    /// Runs `input` on `client`, then its invariants; returns the effects.
    pub fn client(
        &mut self,
        client: &mut P::Client,
        input: impl FnOnce(&mut P::Client, &mut ClientContext<P>),
    ) -> Effects<P> {
        let mut effects = Effects::default();
        let context = Context::new(self.id, self.now, self.now, &mut self.rng, &mut effects);
        input(client, &mut ClientContext::new(context));
        client.invariants();
        effects
    }

    pub fn request(&mut self, client: &mut P::Client, operation: OperationOf<P>) -> Effects<P> {
        self.client(client, |client, ctx| client.on_request(ctx, operation))
    }

    pub fn deliver_to_client(&mut self, client: &mut P::Client, from: NodeId, message: P::Message) -> Effects<P> {
        self.client(client, |client, ctx| client.on_message(ctx, from, message))
    }

    pub fn fire_client(&mut self, client: &mut P::Client, timer: P::Timer) -> Effects<P> {
        self.client(client, |client, ctx| client.on_timer(ctx, timer))
    }
}

impl<P: Protocol> Effects<P> {
    /// How long after the input `timer` was last set to fire, unless it was cancelled after.
    pub fn timer(&self, timer: &P::Timer) -> Option<Time> {
        self.list.iter().fold(None, |set, effect| match effect {
            Effect::SetTimer { after, timer: named } if named == timer => Some(*after),
            Effect::CancelTimer { timer: named } if named == timer => None,
            _ => set,
        })
    }

    /// Whether `timer` was cancelled (and not set again after).
    pub fn cancels(&self, timer: &P::Timer) -> bool {
        self.list.iter().fold(false, |cancelled, effect| match effect {
            Effect::CancelTimer { timer: named } if named == timer => true,
            Effect::SetTimer { timer: named, .. } if named == timer => false,
            _ => cancelled,
        })
    }

    /// The messages sent to `to`, in order.
    pub fn sent_to(&self, to: NodeId) -> Vec<P::Message> {
        self.sends().filter(|&(target, _)| target == to).map(|(_, message)| message.clone()).collect()
    }
}

/// Asserts that `effects` set `timer` to fire within `range` of monotonic time.
#[track_caller]
pub fn assert_timer<P: Protocol>(effects: &Effects<P>, timer: &P::Timer, range: RangeInclusive<Time>) {
    match effects.timer(timer) {
        Some(after) => assert!(range.contains(&after), "{timer:?} set to {after} ns, outside {range:?}"),
        None => panic!("{timer:?} was not set: {:?}", effects.list),
    }
}

/// A message in flight: from, to, message.
pub type Envelope<P> = (NodeId, NodeId, <P as Protocol>::Message);

/// Servers and clients wired through a hand-driven network.
pub struct Cluster<P: Protocol> {
    pub setup: SetupOf<P>,
    pub servers: Vec<Option<P::Server>>,
    pub clients: Vec<P::Client>,
    harnesses: Vec<Harness<P>>,
    /// Per server, its durable records (syncs finish at once, so every record is durable
    /// once a sync covers it; records no sync covered are lost at a crash).
    pub disks: Vec<Vec<P::Record>>,
    /// Per server, records written since the last sync.
    pending: Vec<Vec<P::Record>>,
    /// Messages waiting to be delivered, oldest first.
    pub network: VecDeque<Envelope<P>>,
    /// Every message sent, in order.
    pub sent: Vec<Envelope<P>>,
    /// Pending timers per process: name and when it was set to fire.
    pub timers: Vec<Vec<(P::Timer, Time)>>,
    pub checker: P::Checker,
    /// Every observation, with its node.
    pub observations: Vec<(NodeId, P::Observation)>,
    /// Outcomes the clients completed, with the client's id.
    pub outcomes: Vec<(NodeId, Outcome<ReplyOf<P>>)>,
    /// The first violation a checker reported.
    pub violation: Option<Violation>,
    /// True time: one millisecond passes per input.
    pub now: Time,
}

impl<P: Protocol> Cluster<P> {
    /// Servers at first boot (not started: call `start_all` or drive them) and clients.
    pub fn new(setup: SetupOf<P>, seed: u64) -> Cluster<P> {
        let disks = vec![Vec::new(); setup.server_slots() as usize];
        let mut cluster = Cluster::from_disks(setup, seed, disks);
        cluster.servers = (0..cluster.setup.server_slots())
            .map(|id| (id < cluster.setup.servers).then(|| P::server(&cluster.setup, id)))
            .collect();
        cluster
    }

    /// Servers restarted from these records (one list per server slot) and clients.
    pub fn from_disks(setup: SetupOf<P>, seed: u64, disks: Vec<Vec<P::Record>>) -> Cluster<P> {
        let slots = setup.server_slots();
        let processes = slots + setup.clients;
        let servers = (0..slots).zip(&disks).map(|(id, records)| Some(P::recover(&setup, id, records))).collect();
        let clients = (slots..processes).map(|id| P::client(&setup, id)).collect();
        let harnesses = (0..processes).map(|id| Harness::new(id, seed.wrapping_add(u64::from(id)))).collect();
        Cluster {
            checker: P::checker(&setup),
            servers,
            clients,
            harnesses,
            pending: vec![Vec::new(); slots as usize],
            disks,
            network: VecDeque::new(),
            sent: Vec::new(),
            timers: vec![Vec::new(); processes as usize],
            observations: Vec::new(),
            outcomes: Vec::new(),
            violation: None,
            now: 0,
            setup,
        }
    }

    /// The running server `id`.
    #[track_caller]
    pub fn server(&self, id: NodeId) -> &P::Server {
        self.servers[id as usize].as_ref().expect("the server is up")
    }

    /// Client `id` (a process id, not an index).
    pub fn client(&self, id: NodeId) -> &P::Client {
        &self.clients[(id - self.setup.server_slots()) as usize]
    }

    /// Starts every server.
    pub fn start_all(&mut self) {
        for id in 0..self.setup.server_slots() {
            self.input(id, |server, ctx| server.on_start(ctx));
        }
    }

    /// Runs one input on server `id` (if it is up) and carries out its effects.
    pub fn input(&mut self, id: NodeId, input: impl FnOnce(&mut P::Server, &mut ServerContext<P>)) {
        self.now += MILLISECOND;
        let Some(server) = self.servers[id as usize].as_mut() else { return };
        let harness = &mut self.harnesses[id as usize];
        harness.now = self.now;
        let effects = harness.server(server, input);
        self.apply(id, effects);
        if <P::Checker as Checker<P>>::INSPECTS {
            let view = ClusterView { servers: &self.servers, disks: &self.disks, clients: &self.clients };
            let result = self.checker.inspect(self.now, id, &view);
            self.violation = self.violation.take().or(result.err());
        }
    }

    /// Runs one input on client `id` and carries out its effects.
    pub fn client_input(&mut self, id: NodeId, input: impl FnOnce(&mut P::Client, &mut ClientContext<P>)) {
        self.now += MILLISECOND;
        let index = (id - self.setup.server_slots()) as usize;
        let harness = &mut self.harnesses[id as usize];
        harness.now = self.now;
        let effects = harness.client(&mut self.clients[index], input);
        self.apply(id, effects);
    }

    /// Gives client `id` an operation.
    pub fn request(&mut self, id: NodeId, operation: OperationOf<P>) {
        self.client_input(id, |client, ctx| client.on_request(ctx, operation));
    }

    /// Fires `timer` on process `id`, whether or not it is pending.
    pub fn fire(&mut self, id: NodeId, timer: P::Timer) {
        self.timers[id as usize].retain(|(pending, _)| *pending != timer);
        if self.setup.is_client(id) {
            self.client_input(id, |client, ctx| client.on_timer(ctx, timer));
        } else {
            self.input(id, |server, ctx| server.on_timer(ctx, timer));
        }
    }

    /// Delivers the oldest message in flight (dropped if its receiver is down).
    pub fn deliver_next(&mut self) -> Option<Envelope<P>> {
        let (from, to, message) = self.network.pop_front()?;
        self.deliver((from, to, message.clone()));
        Some((from, to, message))
    }

    /// Delivers messages in order until none is left; those `lost` returns true for are
    /// dropped instead. Panics if the network never goes quiet.
    #[track_caller]
    pub fn deliver_all(&mut self, lost: impl Fn(&Envelope<P>) -> bool) {
        for _ in 0..100_000 {
            let Some(envelope) = self.network.pop_front() else { return };
            if !lost(&envelope) {
                self.deliver(envelope);
            }
        }
        panic!("the network never went quiet");
    }

    /// Crashes server `id`: its volatile state, its timers, its unsynced records and the
    /// messages on their way to it are gone.
    pub fn crash(&mut self, id: NodeId) {
        self.servers[id as usize] = None;
        self.timers[id as usize].clear();
        self.pending[id as usize].clear();
        self.network.retain(|(_, to, _)| *to != id);
    }

    /// Restarts server `id` from its durable records.
    pub fn restart(&mut self, id: NodeId) {
        self.servers[id as usize] = Some(P::recover(&self.setup, id, &self.disks[id as usize]));
        self.harnesses[id as usize] = Harness::new(id, self.now);
        self.input(id, |server, ctx| server.on_recover(ctx));
    }

    /// How many messages of each kind were sent.
    pub fn sent_by_kind(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for (_, _, message) in &self.sent {
            *counts.entry(message.kind()).or_default() += 1;
        }
        counts
    }

    /// Forgets the messages sent so far (not those in flight).
    pub fn clear_sent(&mut self) {
        self.sent.clear();
    }

    /// The messages sent to `to`, in order.
    pub fn sent_to(&self, to: NodeId) -> Vec<P::Message> {
        self.sent.iter().filter(|(_, target, _)| *target == to).map(|(_, _, message)| message.clone()).collect()
    }

    fn deliver(&mut self, (from, to, message): Envelope<P>) {
        if self.setup.is_client(to) {
            self.client_input(to, |client, ctx| client.on_message(ctx, from, message));
        } else {
            self.input(to, |server, ctx| server.on_message(ctx, from, message));
        }
    }

    /// Carries out `effects` in order; a sync finishes at once, and the server hears so.
    fn apply(&mut self, id: NodeId, effects: Effects<P>) {
        let mut synced = None;
        for effect in effects.list {
            match effect {
                Effect::Send { to, message } | Effect::SendAfterSync { to, message } => {
                    self.sent.push((id, to, message.clone()));
                    self.network.push_back((id, to, message));
                }
                Effect::SetTimer { after, timer } => {
                    let timers = &mut self.timers[id as usize];
                    timers.retain(|(pending, _)| *pending != timer);
                    timers.push((timer, self.now + after));
                }
                Effect::CancelTimer { timer } => self.timers[id as usize].retain(|(pending, _)| *pending != timer),
                Effect::Write(record) => self.pending[id as usize].push(record),
                Effect::Sync(sync) => {
                    let written = std::mem::take(&mut self.pending[id as usize]);
                    self.disks[id as usize].extend(written);
                    synced = Some(sync);
                }
                Effect::Compact(records) => {
                    self.pending[id as usize].clear();
                    self.disks[id as usize] = records;
                }
                Effect::Observe(observation) => {
                    let result = self.checker.observe(self.now, id, &observation);
                    self.violation = self.violation.take().or(result.err());
                    self.observations.push((id, observation));
                }
                Effect::Complete(outcome) => self.outcomes.push((id, outcome)),
                Effect::Leave => self.servers[id as usize] = None,
            }
        }
        if let Some(sync) = synced {
            self.input(id, |server, ctx| server.on_synced(ctx, sync));
        }
    }
}

/// The cluster as a checker sees it.
struct ClusterView<'a, P: Protocol> {
    servers: &'a [Option<P::Server>],
    disks: &'a [Vec<P::Record>],
    clients: &'a [P::Client],
}

impl<P: Protocol> View<P> for ClusterView<'_, P> {
    fn servers(&self) -> u32 {
        self.servers.len() as u32
    }

    fn server(&self, server: NodeId) -> Option<&P::Server> {
        self.servers.get(server as usize)?.as_ref()
    }

    fn log(&self, server: NodeId) -> (&[P::Record], usize) {
        let disk = &self.disks[server as usize];
        (disk, disk.len())
    }

    fn client(&self, index: u32) -> &P::Client {
        &self.clients[index as usize]
    }

    fn clients(&self) -> u32 {
        self.clients.len() as u32
    }
}
