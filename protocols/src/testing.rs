//! The test kit of the protocols: drive nodes through the contract with no engine.
//!
//! - [`Harness`] owns one server and runs one input on it at a time, as the world would (its
//!   clocks, its random stream, its sync numbers), returning the exact effects, for handler
//!   tests that pin every output; [`ClientHarness`] does the same for a client. Both deref to
//!   the node, so a test reads its state directly. Timers are asserted by range
//!   ([`assert_timer`], [`assert_timers`]), never by replaying the random generator, so one
//!   more random draw in a handler breaks no test.
//! - [`Effects`] gains what a test compares: the messages, records, syncs, observations and
//!   outcomes of one input as lists, the effects in order with or without the timers (`Effect`
//!   compares and clones here, for tests), and the records a sync of that input covered.
//! - [`Cluster`] wires servers and clients together through a hand-driven network: every
//!   message waits in a queue until the test delivers it (or loses it), timers fire when the
//!   test says, syncs finish at once, and the protocol's checker sees every observation and
//!   inspects every server after every input. Enough to pin textbook message costs and to
//!   replay a paper's schedule step by step (Raft's Figure 8), as raft-rs's test harness
//!   network does.
//! - [`assert_milestones`] checks a protocol's milestone table against observations that
//!   should mark each milestone.
//!
//! Nothing here knows a protocol: the kit is generic over [`Protocol`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::{Deref, DerefMut, RangeInclusive};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::node::{
    Checker, Client, ClientContext, Context, Effect, Effects, Message, NodeId, OperationOf, Protocol, ReplyOf, Server,
    ServerContext, Setup, SetupOf, SyncId, Time, View, Violation, MILLISECOND,
};
use crate::service::Outcome;

/// A setup for tests: `servers` members from the start, no spares, `clients` clients, the
/// protocol's default settings and clocks that do not drift.
pub fn setup<S: Default>(servers: u32, clients: u32, variant: &'static str, timeout: Time) -> Setup<S> {
    Setup { servers, spares: 0, clients, variant, timeout, drift_bound_ppm: 0.0, settings: S::default() }
}

/// One server of protocol `P` under test: it runs one input at a time through the contract
/// and returns what the input made the server do.
#[derive(Debug)]
pub struct Harness<P: Protocol> {
    pub server: P::Server,
    process: Process,
    /// The number the server's next sync gets: 1, 2, ... since it was built.
    next_sync: SyncId,
    /// Whether the server wrote records no sync covers yet.
    uncovered: bool,
}

/// One client of protocol `P` under test.
#[derive(Debug)]
pub struct ClientHarness<P: Protocol> {
    pub client: P::Client,
    process: Process,
}

/// What every process under test has: its id, its random stream and its clocks.
#[derive(Debug)]
struct Process {
    id: NodeId,
    rng: ChaCha8Rng,
    /// What both of the process's clocks read.
    now: Time,
}

impl Process {
    /// Process `id` of a run with `seed`: one ChaCha stream per process, as the world gives.
    fn new(id: NodeId, seed: u64) -> Process {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(u64::from(id));
        Process { id, rng, now: 0 }
    }
}

impl<P: Protocol> Harness<P> {
    /// `server`, running as process `id` of a run with `seed`.
    pub fn new(server: P::Server, id: NodeId, seed: u64) -> Harness<P> {
        Harness { server, process: Process::new(id, seed), next_sync: 1, uncovered: false }
    }

    /// Server `id` at first boot.
    pub fn boot(setup: &SetupOf<P>, id: NodeId, seed: u64) -> Harness<P> {
        Harness::new(P::server(setup, id), id, seed)
    }

    /// Server `id` rebuilt from these durable records (`on_recover` not run yet).
    pub fn recovered(setup: &SetupOf<P>, id: NodeId, records: &[P::Record], seed: u64) -> Harness<P> {
        Harness::new(P::recover(setup, id, records), id, seed)
    }

    pub fn id(&self) -> NodeId {
        self.process.id
    }

    /// What the server's clocks read.
    pub fn now(&self) -> Time {
        self.process.now
    }

    /// Sets both of the server's clocks (they never go back in a test either).
    pub fn set_now(&mut self, now: Time) {
        assert!(now >= self.process.now, "a clock set back from {} to {now}", self.process.now);
        self.process.now = now;
    }

    /// Runs `input` on the server, then its invariants; returns the effects.
    pub fn input(&mut self, input: impl FnOnce(&mut P::Server, &mut ServerContext<P>)) -> Effects<P> {
        let mut effects = Effects::default();
        let Process { id, rng, now } = &mut self.process;
        let context = Context::new(*id, *now, *now, rng, &mut effects);
        input(&mut self.server, &mut ServerContext::new(context, self.next_sync, self.uncovered));
        self.server.invariants();
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

    pub fn start(&mut self) -> Effects<P> {
        self.input(|server, ctx| server.on_start(ctx))
    }

    pub fn recover(&mut self) -> Effects<P> {
        self.input(|server, ctx| server.on_recover(ctx))
    }

    pub fn deliver(&mut self, from: NodeId, message: P::Message) -> Effects<P> {
        self.input(|server, ctx| server.on_message(ctx, from, message))
    }

    pub fn fire(&mut self, timer: P::Timer) -> Effects<P> {
        self.input(|server, ctx| server.on_timer(ctx, timer))
    }

    /// Tells the server that every sync up to `sync` finished.
    pub fn synced(&mut self, sync: SyncId) -> Effects<P> {
        self.input(|server, ctx| server.on_synced(ctx, sync))
    }

    /// Tells the server that every sync it asked for so far finished (none: no input).
    pub fn sync_all(&mut self) -> Effects<P> {
        match self.next_sync - 1 {
            0 => Effects::default(),
            last => self.synced(last),
        }
    }
}

impl<P: Protocol> Deref for Harness<P> {
    type Target = P::Server;
    fn deref(&self) -> &P::Server {
        &self.server
    }
}

impl<P: Protocol> DerefMut for Harness<P> {
    fn deref_mut(&mut self) -> &mut P::Server {
        &mut self.server
    }
}

impl<P: Protocol> ClientHarness<P> {
    /// Client `id` of a run with `seed`.
    pub fn new(setup: &SetupOf<P>, id: NodeId, seed: u64) -> ClientHarness<P> {
        ClientHarness { client: P::client(setup, id), process: Process::new(id, seed) }
    }

    pub fn id(&self) -> NodeId {
        self.process.id
    }

    /// Sets both of the client's clocks (they never go back in a test either).
    pub fn set_now(&mut self, now: Time) {
        assert!(now >= self.process.now, "a clock set back from {} to {now}", self.process.now);
        self.process.now = now;
    }

    /// Runs `input` on the client, then its invariants; returns the effects.
    pub fn input(&mut self, input: impl FnOnce(&mut P::Client, &mut ClientContext<P>)) -> Effects<P> {
        let mut effects = Effects::default();
        let Process { id, rng, now } = &mut self.process;
        input(&mut self.client, &mut ClientContext::new(Context::new(*id, *now, *now, rng, &mut effects)));
        self.client.invariants();
        effects
    }

    pub fn request(&mut self, operation: OperationOf<P>) -> Effects<P> {
        self.input(|client, ctx| client.on_request(ctx, operation))
    }

    pub fn deliver(&mut self, from: NodeId, message: P::Message) -> Effects<P> {
        self.input(|client, ctx| client.on_message(ctx, from, message))
    }

    pub fn fire(&mut self, timer: P::Timer) -> Effects<P> {
        self.input(|client, ctx| client.on_timer(ctx, timer))
    }
}

impl<P: Protocol> Deref for ClientHarness<P> {
    type Target = P::Client;
    fn deref(&self) -> &P::Client {
        &self.client
    }
}

impl<P: Protocol> DerefMut for ClientHarness<P> {
    fn deref_mut(&mut self) -> &mut P::Client {
        &mut self.client
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

    /// The messages sent, at once or after a sync, in order.
    pub fn sent(&self) -> Vec<(NodeId, P::Message)> {
        self.sends().map(|(to, message)| (to, message.clone())).collect()
    }

    /// The messages sent to `to`, in order.
    pub fn sent_to(&self, to: NodeId) -> Vec<P::Message> {
        self.sends().filter(|&(target, _)| target == to).map(|(_, message)| message.clone()).collect()
    }

    /// The records written, in order.
    pub fn written(&self) -> Vec<P::Record> {
        self.writes().cloned().collect()
    }

    /// The records written before the input's last sync (by `sync` or `send_after_sync`):
    /// those that survive a crash once that sync finished.
    pub fn synced_writes(&self) -> Vec<P::Record> {
        let last_sync = self.list.iter().rposition(|effect| matches!(effect, Effect::Sync(_)));
        let covered = last_sync.map_or(&[][..], |end| &self.list[..end]);
        covered
            .iter()
            .filter_map(|effect| match effect {
                Effect::Write(record) => Some(record.clone()),
                _ => None,
            })
            .collect()
    }

    /// The numbers of the syncs started, in order.
    pub fn syncs(&self) -> Vec<SyncId> {
        self.list
            .iter()
            .filter_map(|effect| match effect {
                Effect::Sync(sync) => Some(*sync),
                _ => None,
            })
            .collect()
    }

    /// The observations, in order.
    pub fn observed(&self) -> Vec<P::Observation> {
        self.observations().cloned().collect()
    }

    /// The outcomes a client completed, in order.
    pub fn completed(&self) -> Vec<Outcome<ReplyOf<P>>> {
        self.outcomes().cloned().collect()
    }

    /// The timers set and cancelled, in order.
    pub fn timers(&self) -> Vec<Effect<P>> {
        self.list.iter().filter(|effect| is_timer(effect)).cloned().collect()
    }

    /// Every effect but the timers, in order: what a test compares exactly while it asserts
    /// the timers by range.
    pub fn without_timers(&self) -> Vec<Effect<P>> {
        self.list.iter().filter(|effect| !is_timer(effect)).cloned().collect()
    }
}

/// Shorter constructors of the effects a test expects.
impl<P: Protocol> Effect<P> {
    pub fn send(to: NodeId, message: P::Message) -> Effect<P> {
        Effect::Send { to, message }
    }

    pub fn send_after_sync(to: NodeId, message: P::Message) -> Effect<P> {
        Effect::SendAfterSync { to, message }
    }

    pub fn set_timer(after: Time, timer: P::Timer) -> Effect<P> {
        Effect::SetTimer { after, timer }
    }

    pub fn cancel_timer(timer: P::Timer) -> Effect<P> {
        Effect::CancelTimer { timer }
    }
}

fn is_timer<P: Protocol>(effect: &Effect<P>) -> bool {
    matches!(effect, Effect::SetTimer { .. } | Effect::CancelTimer { .. })
}

/// Effects are compared in tests; every part of one is `Clone` by the contract.
impl<P: Protocol> Clone for Effect<P> {
    fn clone(&self) -> Self {
        match self {
            Effect::Send { to, message } => Effect::Send { to: *to, message: message.clone() },
            Effect::SendAfterSync { to, message } => Effect::SendAfterSync { to: *to, message: message.clone() },
            Effect::SetTimer { after, timer } => Effect::SetTimer { after: *after, timer: timer.clone() },
            Effect::CancelTimer { timer } => Effect::CancelTimer { timer: timer.clone() },
            Effect::Write(record) => Effect::Write(record.clone()),
            Effect::Sync(sync) => Effect::Sync(*sync),
            Effect::Compact(records) => Effect::Compact(records.clone()),
            Effect::Observe(observation) => Effect::Observe(observation.clone()),
            Effect::ObserveAfterSync(observation) => Effect::ObserveAfterSync(observation.clone()),
            Effect::Complete(outcome) => Effect::Complete(outcome.clone()),
            Effect::Leave => Effect::Leave,
        }
    }
}

impl<P: Protocol> PartialEq for Effect<P>
where
    P::Message: PartialEq,
    P::Record: PartialEq,
    P::Observation: PartialEq,
{
    fn eq(&self, other: &Self) -> bool {
        use Effect as E;
        match (self, other) {
            (E::Send { to, message }, E::Send { to: other_to, message: other_message })
            | (E::SendAfterSync { to, message }, E::SendAfterSync { to: other_to, message: other_message }) => {
                to == other_to && message == other_message
            }
            (E::SetTimer { after, timer }, E::SetTimer { after: other_after, timer: other_timer }) => {
                after == other_after && timer == other_timer
            }
            (E::CancelTimer { timer }, E::CancelTimer { timer: other }) => timer == other,
            (E::Write(record), E::Write(other)) => record == other,
            (E::Sync(sync), E::Sync(other)) => sync == other,
            (E::Compact(records), E::Compact(other)) => records == other,
            (E::Observe(observation), E::Observe(other))
            | (E::ObserveAfterSync(observation), E::ObserveAfterSync(other)) => observation == other,
            (E::Complete(outcome), E::Complete(other)) => outcome == other,
            (E::Leave, E::Leave) => true,
            _ => false,
        }
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

/// What a test expects of one timer effect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimerChange<T> {
    /// The timer is set to fire within this range of monotonic time.
    Set(T, RangeInclusive<Time>),
    Cancel(T),
}

impl<T> TimerChange<T> {
    /// The timer is set to fire exactly `after` from now.
    pub fn exactly(timer: T, after: Time) -> TimerChange<T> {
        TimerChange::Set(timer, after..=after)
    }
}

/// Asserts that the timer effects of `effects` are exactly `expected`, in order.
#[track_caller]
pub fn assert_timers<P: Protocol>(effects: &Effects<P>, expected: &[TimerChange<P::Timer>]) {
    let timers = effects.timers();
    let matches = timers.len() == expected.len()
        && timers.iter().zip(expected).all(|(effect, expected)| match (effect, expected) {
            (Effect::SetTimer { after, timer }, TimerChange::Set(named, range)) => {
                timer == named && range.contains(after)
            }
            (Effect::CancelTimer { timer }, TimerChange::Cancel(named)) => timer == named,
            _ => false,
        });
    assert!(matches, "timers {timers:?}, expected {expected:?}");
}

/// Asserts that `P::milestone` names only declared milestones for `observations`, and that
/// every milestone `P` declares is named for one of them (so none is dead), each declared once.
#[track_caller]
pub fn assert_milestones<P: Protocol>(observations: &[P::Observation]) {
    let declared: BTreeSet<&str> = P::MILESTONES.iter().map(|milestone| milestone.name).collect();
    assert_eq!(declared.len(), P::MILESTONES.len(), "{}: a milestone is declared twice", P::NAME);
    let mut named = BTreeSet::new();
    for observation in observations {
        if let Some(name) = P::milestone(observation) {
            assert!(declared.contains(name), "{}: {observation:?} marks the undeclared milestone {name:?}", P::NAME);
            named.insert(name);
        }
    }
    let missing: Vec<&str> = declared.difference(&named).copied().collect();
    assert!(missing.is_empty(), "{}: no observation marks {missing:?}", P::NAME);
}

/// A message in flight: from, to, message.
pub type Envelope<P> = (NodeId, NodeId, <P as Protocol>::Message);

/// Servers and clients wired through a hand-driven network.
pub struct Cluster<P: Protocol> {
    pub setup: SetupOf<P>,
    /// Per server slot, the running server (`None` while it is down or absent).
    pub servers: Vec<Option<Harness<P>>>,
    pub clients: Vec<ClientHarness<P>>,
    /// Per server, its durable records (syncs finish at once, so every record is durable
    /// once a sync covers it; records no sync covered are lost at a crash).
    pub disks: Vec<Vec<P::Record>>,
    /// Per server, how many times its disk was compacted.
    rewrites: Vec<u64>,
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
    seed: u64,
}

impl<P: Protocol> Cluster<P> {
    /// The initial servers at first boot (not started: call `start_all` or drive them) and
    /// the clients, in a run with `seed`.
    pub fn new(setup: SetupOf<P>, seed: u64) -> Cluster<P> {
        let disks = vec![Vec::new(); setup.server_slots() as usize];
        let mut cluster = Cluster::from_disks(setup, seed, disks);
        for id in 0..cluster.setup.server_slots() {
            let server = (id < cluster.setup.servers).then(|| Harness::boot(&cluster.setup, id, seed));
            cluster.servers[id as usize] = server;
        }
        cluster
    }

    /// Every server slot restarted from these records (one list per slot, `on_recover` not
    /// run yet) and the clients, in a run with `seed`.
    pub fn from_disks(setup: SetupOf<P>, seed: u64, disks: Vec<Vec<P::Record>>) -> Cluster<P> {
        let slots = setup.server_slots();
        assert_eq!(disks.len(), slots as usize, "one disk per server slot");
        let processes = slots + setup.clients;
        let servers =
            (0..slots).zip(&disks).map(|(id, records)| Some(Harness::recovered(&setup, id, records, seed))).collect();
        let clients = (slots..processes).map(|id| ClientHarness::new(&setup, id, seed)).collect();
        Cluster {
            checker: P::checker(&setup),
            servers,
            clients,
            pending: vec![Vec::new(); slots as usize],
            rewrites: vec![0; slots as usize],
            disks,
            network: VecDeque::new(),
            sent: Vec::new(),
            timers: vec![Vec::new(); processes as usize],
            observations: Vec::new(),
            outcomes: Vec::new(),
            violation: None,
            now: 0,
            seed,
            setup,
        }
    }

    /// The running server `id`.
    #[track_caller]
    pub fn server(&self, id: NodeId) -> &P::Server {
        &self.servers[id as usize].as_ref().expect("the server is up").server
    }

    /// Client `id` (a process id, not an index).
    pub fn client(&self, id: NodeId) -> &P::Client {
        &self.clients[(id - self.setup.server_slots()) as usize].client
    }

    /// Starts every running server.
    pub fn start_all(&mut self) {
        for id in 0..self.setup.server_slots() {
            self.input(id, |server, ctx| server.on_start(ctx));
        }
    }

    /// Runs one input on server `id` (if it is up) and carries out its effects.
    pub fn input(&mut self, id: NodeId, input: impl FnOnce(&mut P::Server, &mut ServerContext<P>)) {
        self.now += MILLISECOND;
        let Some(harness) = self.servers[id as usize].as_mut() else { return };
        harness.set_now(self.now);
        let effects = harness.input(input);
        self.apply(id, effects);
        if <P::Checker as Checker<P>>::INSPECTS {
            let view = ClusterView {
                servers: &self.servers,
                disks: &self.disks,
                rewrites: &self.rewrites,
                clients: &self.clients,
            };
            let result = self.checker.inspect(self.now, id, &view);
            self.violation = self.violation.take().or(result.err());
        }
    }

    /// Runs one input on client `id` and carries out its effects.
    pub fn client_input(&mut self, id: NodeId, input: impl FnOnce(&mut P::Client, &mut ClientContext<P>)) {
        self.now += MILLISECOND;
        let client = &mut self.clients[(id - self.setup.server_slots()) as usize];
        client.process.now = self.now;
        let effects = client.input(input);
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

    /// Delivers `message` to `to` now, as if `from` sent it (dropped if `to` is down): for a
    /// message from a process the test plays itself.
    pub fn deliver(&mut self, (from, to, message): Envelope<P>) {
        if self.setup.is_client(to) {
            self.client_input(to, |client, ctx| client.on_message(ctx, from, message));
        } else {
            self.input(to, |server, ctx| server.on_message(ctx, from, message));
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

    /// Delivers messages in order until none is left, losing every message that is not
    /// between processes of `group`: a partition.
    #[track_caller]
    pub fn deliver_within(&mut self, group: &[NodeId]) {
        self.deliver_all(|(from, to, _)| !group.contains(from) || !group.contains(to));
    }

    /// Crashes server `id`: its volatile state, its timers, its unsynced records and the
    /// messages on their way to it are gone (a broken connection loses them).
    pub fn crash(&mut self, id: NodeId) {
        self.servers[id as usize] = None;
        self.timers[id as usize].clear();
        self.pending[id as usize].clear();
        self.network.retain(|(_, to, _)| *to != id);
    }

    /// Restarts server `id` from its durable records, with a fresh random stream and sync
    /// numbers from 1, and runs `on_recover`.
    pub fn restart(&mut self, id: NodeId) {
        let seed = self.seed.wrapping_add(self.now);
        self.servers[id as usize] = Some(Harness::recovered(&self.setup, id, &self.disks[id as usize], seed));
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
                    self.rewrites[id as usize] += 1;
                }
                // Syncs finish at once here, so what waits for one is reported now.
                Effect::Observe(observation) | Effect::ObserveAfterSync(observation) => {
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

/// A checker's view of these servers alone (no durable logs, no clients), for checker tests
/// that build the servers' states by hand.
pub fn view<P: Protocol>(servers: &[Option<Harness<P>>]) -> impl View<P> + '_ {
    ClusterView { servers, disks: &[], rewrites: &[], clients: &[] }
}

/// The cluster as a checker sees it.
struct ClusterView<'a, P: Protocol> {
    servers: &'a [Option<Harness<P>>],
    /// Per server slot, its durable log (none given: empty).
    disks: &'a [Vec<P::Record>],
    rewrites: &'a [u64],
    clients: &'a [ClientHarness<P>],
}

impl<P: Protocol> View<P> for ClusterView<'_, P> {
    fn servers(&self) -> u32 {
        self.servers.len() as u32
    }

    fn server(&self, server: NodeId) -> Option<&P::Server> {
        Some(&self.servers.get(server as usize)?.as_ref()?.server)
    }

    fn log(&self, server: NodeId) -> (&[P::Record], usize) {
        let disk = self.disks.get(server as usize).map_or(&[][..], Vec::as_slice);
        (disk, disk.len())
    }

    fn log_rewrites(&self, server: NodeId) -> u64 {
        self.rewrites.get(server as usize).copied().unwrap_or(0)
    }

    fn client(&self, index: u32) -> &P::Client {
        &self.clients[index as usize].client
    }

    fn clients(&self) -> u32 {
        self.clients.len() as u32
    }
}

#[cfg(test)]
mod tests {
    //! The kit tested through small protocols of the crate: its assertions pass what they
    //! should and catch what they should, and the cluster keeps durable what a sync covered
    //! and loses the rest at a crash.

    use super::*;
    use crate::consensus::{Chosen, Propose};
    use crate::node::CORRECT;
    use crate::paxos::{Paxos, PaxosMessage, PaxosRecord, PaxosTimer};
    use crate::twopc::{TwoPhaseCommit, TwoPhaseMessage, TwoPhaseRecord, TwoPhaseServer};

    const TIMEOUT: Time = 10 * MILLISECOND;

    /// Server 0 of three asked by client 3 to propose 42: it prepares and promises itself.
    fn proposing() -> (Harness<Paxos>, Effects<Paxos>) {
        let mut server = Harness::<Paxos>::boot(&setup(3, 1, CORRECT, TIMEOUT), 0, 1);
        let effects = server.deliver(3, PaxosMessage::Request { request: 1, value: 42 });
        (server, effects)
    }

    #[test]
    fn timer_assertions_take_a_range_and_the_exact_order() {
        let (_, effects) = proposing();
        assert_timer(&effects, &PaxosTimer::Retry, TIMEOUT..=2 * TIMEOUT);
        assert_timers(&effects, &[TimerChange::Set(PaxosTimer::Retry, TIMEOUT..=2 * TIMEOUT)]);
        assert!(!effects.cancels(&PaxosTimer::Retry));
        assert_eq!(effects.timers().len(), 1);
        assert_eq!(effects.without_timers().len() + 1, effects.list.len());
    }

    #[test]
    #[should_panic(expected = "outside")]
    fn timer_assertion_catches_a_draw_outside_its_range() {
        let (_, effects) = proposing();
        assert_timer(&effects, &PaxosTimer::Retry, 0..=TIMEOUT - 1);
    }

    #[test]
    #[should_panic(expected = "expected")]
    fn timers_assertion_catches_a_missing_cancel() {
        let (_, effects) = proposing();
        let set = TimerChange::Set(PaxosTimer::Retry, TIMEOUT..=2 * TIMEOUT);
        assert_timers(&effects, &[set, TimerChange::Cancel(PaxosTimer::Retry)]);
    }

    #[test]
    fn harness_numbers_syncs_across_inputs_and_reports_what_a_sync_covered() {
        let (mut server, effects) = proposing();
        assert_eq!(effects.syncs(), [1]);
        assert_eq!(effects.synced_writes(), effects.written());
        let ballot = crate::paxos::Ballot { round: 1, proposer: 0 };
        let effects = server.deliver(1, PaxosMessage::Promise { ballot, accepted: None });
        assert_eq!(effects.syncs(), [2], "the next sync of the same server");
        assert_eq!(effects.synced_writes(), [PaxosRecord::Accepted(ballot, 42)]);
        let setup = setup(4, 1, CORRECT, TIMEOUT);
        let mut participant = Harness::<TwoPhaseCommit>::boot(&setup, 1, 1);
        let share = crate::commit::Share::writing(&[0], &[]);
        let prepared = participant.deliver(0, TwoPhaseMessage::Prepare { transaction: 7, share });
        assert_eq!(prepared.synced_writes(), prepared.written(), "a yes vote is forced");
        participant.sync_all();
        let abort = TwoPhaseMessage::Decision { transaction: 7, decision: crate::commit::Decision::Abort };
        let aborted = participant.deliver(0, abort);
        assert_eq!(aborted.written().len(), 1);
        assert!(aborted.synced_writes().is_empty(), "an abort it does not force is not covered");
        assert!(participant.sync_all().list.is_empty(), "no sync to finish: no input");
    }

    #[test]
    fn cluster_carries_a_proposal_from_the_client_to_the_chosen_value() {
        let mut cluster = Cluster::<Paxos>::new(setup(3, 1, CORRECT, TIMEOUT), 1);
        cluster.start_all();
        cluster.request(3, Propose { value: 42 });
        cluster.deliver_all(|_| false);
        assert_eq!(cluster.outcomes, vec![(3, Outcome::Ok(Chosen(42)))]);
        assert_eq!(cluster.violation, None);
        assert!((0..3).all(|id| cluster.server(id).learned() == Some(42)));
        let kinds = cluster.sent_by_kind();
        assert_eq!((kinds["Prepare"], kinds["Accept"], kinds["Learn"], kinds["Reply"]), (2, 2, 2, 1));
        assert!(cluster.timers[3].is_empty(), "the client's timer was cancelled");
    }

    #[test]
    fn cluster_keeps_synced_records_and_loses_unsynced_ones_and_messages_in_flight_at_a_crash() {
        let mut cluster = Cluster::<TwoPhaseCommit>::new(setup(4, 1, CORRECT, TIMEOUT), 1);
        let request = |transaction, keys: &[u64], vetoes: &[u64]| {
            let transaction = crate::commit::Transaction::writing(transaction, keys, vetoes);
            (4, 0, TwoPhaseMessage::Client(crate::commit::ClientMessage::Request(transaction)))
        };
        cluster.deliver(request(7, &[0], &[]));
        assert_eq!(cluster.disks[0], [TwoPhaseRecord::Began { transaction: 7, participants: vec![1] }]);
        cluster.deliver_all(|(_, to, message)| *to == 1 && matches!(message, TwoPhaseMessage::Decision { .. }));
        assert_eq!(
            cluster.disks[1],
            [TwoPhaseRecord::Prepared { transaction: 7, keys: vec![0], writes: vec![0], reads: vec![] }]
        );
        // Key 3 is server 1's too; key 1, vetoed, is server 2's: 8 aborts, and server 1 does
        // not force the abort it hears of.
        cluster.deliver(request(8, &[3, 1], &[1]));
        cluster.deliver_all(|_| false);
        let prepared = TwoPhaseRecord::Prepared { transaction: 8, keys: vec![3], writes: vec![3], reads: vec![] };
        assert_eq!(cluster.disks[1].last(), Some(&prepared), "the abort of 8 is written, not synced");
        let TwoPhaseServer::Participant(participant) = cluster.server(1) else { panic!("server 1 participates") };
        assert_eq!(participant.decision(8), Some(crate::commit::Decision::Abort));
        cluster.deliver(request(9, &[0], &[]));
        assert!(cluster.network.iter().any(|(_, to, _)| *to == 1), "the Prepare of 9 is on its way");
        cluster.crash(1);
        assert!(cluster.network.iter().all(|(_, to, _)| *to != 1), "messages to it are lost");
        cluster.restart(1);
        let TwoPhaseServer::Participant(participant) = cluster.server(1) else { panic!("server 1 participates") };
        assert_eq!(participant.decision(8), None, "the unsynced abort is gone");
        assert_eq!(participant.locks().holder(0), Some(7), "the prepared transaction holds its lock again");
        assert_eq!(participant.locks().holder(3), Some(8), "and so does the one whose abort was lost");
        assert_eq!(cluster.violation, None);
    }
}
