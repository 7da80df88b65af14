//! The node contract: every protocol server and client is a deterministic, sans-IO state
//! machine.
//!
//! A node never performs I/O. The world hands it one input at a time (start, recover, a
//! message, a timer, a finished sync, a membership change, and for a client a request from
//! the workload) together with a context, and the node writes its effects into that context,
//! in the order it does them: messages to send, timers to set or cancel, records to append
//! to its durable log, syncs, observations for the checkers, and (for clients) the outcome of
//! the operation in progress. The world then carries the effects out in that order. Because
//! a handler's whole output is the [`Effects`] list, protocols are unit-tested by feeding one
//! input and asserting the exact effects, with no engine at all (see [`crate::testing`]).
//!
//! With FIFO links (a scenario's `[network] fifo = true`) every pair of processes talks over
//! a connection, as over TCP: messages arrive in the order sent, and a loss, a partition or a
//! crash breaks the connection, which each end learns from an `on_disconnected` input before
//! anything sent after the break reaches it.
//!
//! Servers and clients have different contexts: a server has durable storage and can leave
//! the cluster ([`ServerContext`]); a client completes operations ([`ClientContext`]). Both
//! deref to the shared [`Context`], so a helper that only sends and sets timers serves both.
//!
//! Time and randomness are inputs. A node has two clocks, as real machines do (TigerBeetle's
//! `time.zig` separates them the same way): [`Context::monotonic`] never goes back and only
//! drifts, by at most [`Setup::drift_bound_ppm`], so timeouts and leases measured locally
//! use it, and timers run on it; [`Context::wall`] is the wall clock, with an offset, the
//! same drift and jumps in both directions (a clock-jump fault moves it), for protocols that
//! (wrongly or knowingly) trust wall time. `ctx.rng()` is a ChaCha stream derived from the
//! run's seed and the node's id.
//!
//! Durable storage is a write-ahead log of protocol-defined records. `write` appends a
//! record; `sync` starts making every record written so far durable, which takes the
//! scenario's sync time and ends with an `on_synced` input; `send_after_sync` sends a message
//! only once every record written before it is durable (persistence before send, as raft-rs's
//! `Ready` and openraft's `Respond { when: IOFlushed }` do), starting a sync if none covers
//! them. A crash may drop the records not yet durable and the sends still waiting for them,
//! so crashes land between write, sync and send. `compact` replaces the whole log, at once
//! and durably, with the records given (a snapshot and what follows it: log compaction).
//! A restarted server is rebuilt from the surviving records only ([`Protocol::recover`]).

use std::fmt::{Debug, Display};
use std::hash::Hash;
use std::ops::{Deref, DerefMut};

use rand_chacha::ChaCha8Rng;
use serde::de::DeserializeOwned;

use crate::service::{Outcome, Service};

/// Index of a process in a run: servers are `0..setup.server_slots()`, clients follow them.
pub type NodeId = u32;

/// Virtual time in nanoseconds.
pub type Time = u64;

/// One millisecond of virtual time.
pub const MILLISECOND: Time = 1_000_000;

/// A protocol message.
pub trait Message: Clone + Debug + Hash {
    /// The message's type as the papers name it (`Prepare`, `AppendEntries`, ...); used for
    /// the per-type message counts.
    fn kind(&self) -> &'static str;

    /// Approximate size on the wire in bytes, for the message table.
    fn size_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
    }
}

/// A named flawed version of a protocol (or the correct one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Variant {
    /// The name a scenario uses in `variant = "..."`.
    pub name: &'static str,
    /// What the variant gets wrong and where the literature describes it.
    pub about: &'static str,
}

/// The name of every protocol's correct variant.
pub const CORRECT: &str = "correct";

/// A protocol milestone: an event worth counting across a sweep (`leader-elected`,
/// `entry-committed`), to tell a vacuous pass from a real one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Milestone {
    pub name: &'static str,
    pub about: &'static str,
}

/// What a protocol is told about the run when its processes are built.
#[derive(Clone, Debug, PartialEq)]
pub struct Setup<S = NoSettings> {
    /// Number of servers that are members from the start (ids `0..servers`).
    pub servers: u32,
    /// Servers that may join during the run (ids `servers..servers + spares`).
    pub spares: u32,
    /// Number of client processes (ids `server_slots()..server_slots() + clients`).
    pub clients: u32,
    /// The selected variant; always one of the protocol's `VARIANTS`.
    pub variant: &'static str,
    /// Base timeout for retries, elections and client requests, in monotonic-clock time.
    pub timeout: Time,
    /// The most any node's clocks drift from true time, in parts per million (both ways):
    /// a duration measured on a monotonic clock is within this much of the true duration.
    pub drift_bound_ppm: f64,
    /// The protocol's own settings (`[settings]` in the scenario).
    pub settings: S,
}

/// The settings of a protocol that has none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoSettings {}

impl<S> Setup<S> {
    /// The smallest number of the initial servers that forms a majority.
    pub fn majority(&self) -> usize {
        self.servers as usize / 2 + 1
    }

    /// Ids of every initial server.
    pub fn server_ids(&self) -> impl Iterator<Item = NodeId> {
        0..self.servers
    }

    /// Server ids, members or spares: clients start after them.
    pub fn server_slots(&self) -> u32 {
        self.servers + self.spares
    }

    /// Whether `node` is a client.
    pub fn is_client(&self, node: NodeId) -> bool {
        node >= self.server_slots()
    }

    /// Whether `variant` is the selected one.
    pub fn is(&self, variant: &str) -> bool {
        self.variant == variant
    }

    /// The same setup with other settings.
    pub fn with_settings<T>(&self, settings: T) -> Setup<T> {
        Setup {
            servers: self.servers,
            spares: self.spares,
            clients: self.clients,
            variant: self.variant,
            timeout: self.timeout,
            drift_bound_ppm: self.drift_bound_ppm,
            settings,
        }
    }
}

/// A property violated in a run, as reported by a checker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The invariant's name (`agreement`, `election-safety`, ...).
    pub invariant: &'static str,
    /// The nodes involved.
    pub nodes: Vec<NodeId>,
    /// The events that show it, in words.
    pub detail: String,
    /// The moments the detail cites, as (node, time): what a server observed, or when a
    /// client invoked an operation. Reports start their view of the run from these.
    pub evidence: Vec<(NodeId, Time)>,
}

/// The protocol's setup type.
pub type SetupOf<P> = Setup<<P as Protocol>::Settings>;
/// The operations of the protocol's clients.
pub type OperationOf<P> = <<P as Protocol>::Service as Service>::Operation;
/// What the protocol's clients are told.
pub type ReplyOf<P> = <<P as Protocol>::Service as Service>::Reply;

/// A protocol: its processes, message, timer, durable record and observation types, its
/// variants, the service its clients offer, and the invariant checker that only it can
/// define.
pub trait Protocol: Sized + Debug + 'static {
    /// The name a scenario uses in `protocol = "..."`.
    const NAME: &'static str;
    /// One line on what the protocol is and which paper it follows.
    const ABOUT: &'static str;
    /// The correct variant first, then the flawed ones.
    const VARIANTS: &'static [Variant];
    /// Every milestone `milestone` can return.
    const MILESTONES: &'static [Milestone];
    /// Whether servers may join and leave during a run (`join` and `leave` faults).
    const MEMBERSHIP: bool = false;
    /// The fewest servers the protocol runs with.
    const SERVERS_MIN: u32 = 1;
    /// Whether the protocol assumes FIFO links, as TCP gives (Zab): its scenarios must set
    /// `[network] fifo = true`.
    const FIFO_LINKS: bool = false;

    /// What clients ask of the system: operations, replies, model, workload.
    type Service: Service;
    /// The protocol's own settings, read from the scenario's `[settings]` table.
    type Settings: Clone + Debug + Default + DeserializeOwned + Send + 'static;
    type Message: Message;
    /// Named timers: setting a timer that is already pending restarts it.
    type Timer: Clone + Debug + Eq + Hash;
    /// A record of the durable write-ahead log.
    type Record: Clone + Debug;
    /// An event reported to the checkers; `Display` writes it for the event table in the
    /// notation of the rest of the reports (`accepted ballot 1.2 value 7`).
    type Observation: Clone + Debug + Display;
    type Server: Server<Self>;
    type Client: Client<Self>;
    type Checker: Checker<Self>;

    /// A server at first boot (or when it joins: it starts empty).
    fn server(setup: &SetupOf<Self>, id: NodeId) -> Self::Server;
    /// A server restarted after a crash, rebuilt from its surviving durable records only.
    fn recover(setup: &SetupOf<Self>, id: NodeId, records: &[Self::Record]) -> Self::Server;
    /// A client.
    fn client(setup: &SetupOf<Self>, id: NodeId) -> Self::Client;
    /// The protocol's invariant checker for one run.
    fn checker(setup: &SetupOf<Self>) -> Self::Checker;

    /// The milestone an observation marks, if any (one of `MILESTONES`).
    fn milestone(observation: &Self::Observation) -> Option<&'static str>;

    /// What is wrong with `settings` for a run of `servers` initial members, `spares`
    /// servers that may join and a workload on `keys` keys, in words (checked when a
    /// scenario is loaded, and for each workload swarm weather draws; default: nothing).
    fn check_settings(_settings: &Self::Settings, _servers: u32, _spares: u32, _keys: u32) -> Result<(), String> {
        Ok(())
    }

    /// The checks of the client history after the run (default: the service's).
    fn history_checks() -> Vec<crate::service::HistoryCheck<Self::Service>> {
        <Self::Service as Service>::history_checks()
    }
}

/// A change of the cluster's membership, announced by the world to every running server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Membership {
    /// `server` started, empty, and may be added to the cluster.
    Joined(NodeId),
    /// `server` is to leave: it hands off what it holds and calls `ctx.leave()`.
    Leaving(NodeId),
    /// `server` is gone for good.
    Left(NodeId),
}

/// A server process, driven by the world one input at a time.
pub trait Server<P: Protocol> {
    /// First boot, or joining the cluster (the server starts empty).
    fn on_start(&mut self, ctx: &mut ServerContext<P>);
    /// Restart after a crash; the server was built by `Protocol::recover`.
    fn on_recover(&mut self, ctx: &mut ServerContext<P>) {
        self.on_start(ctx);
    }
    /// A message from a peer or a client.
    fn on_message(&mut self, ctx: &mut ServerContext<P>, from: NodeId, message: P::Message);
    /// A timer set with `ctx.set_timer` fired.
    fn on_timer(&mut self, ctx: &mut ServerContext<P>, timer: P::Timer);
    /// Every sync up to and including `sync` finished: the records written before it are durable.
    fn on_synced(&mut self, _ctx: &mut ServerContext<P>, _sync: SyncId) {}
    /// A membership change (protocols with `MEMBERSHIP` only).
    fn on_membership(&mut self, _ctx: &mut ServerContext<P>, _change: Membership) {}
    /// The connection to `peer` broke (FIFO links only, `[network] fifo = true`, which are
    /// connections as TCP gives): what was sent on it either way and not yet delivered is
    /// lost, and the next message to `peer` opens a new connection.
    fn on_disconnected(&mut self, _ctx: &mut ServerContext<P>, _peer: NodeId) {}
    /// The server's own invariants, checked by the world after every input. Panics (with
    /// plain `assert!`) when one does not hold; the world turns that into an `error`.
    fn invariants(&self) {}
}

/// A client process: the workload hands it one operation at a time, and it reports the
/// outcome with `ctx.complete` (`Info` when it cannot know whether the operation applied).
pub trait Client<P: Protocol> {
    fn on_start(&mut self, _ctx: &mut ClientContext<P>) {}
    /// The workload's next operation; the client has none in progress.
    fn on_request(&mut self, ctx: &mut ClientContext<P>, operation: OperationOf<P>);
    fn on_message(&mut self, ctx: &mut ClientContext<P>, from: NodeId, message: P::Message);
    fn on_timer(&mut self, ctx: &mut ClientContext<P>, timer: P::Timer);
    /// The connection to `peer` broke (FIFO links only; see [`Server::on_disconnected`]).
    fn on_disconnected(&mut self, _ctx: &mut ClientContext<P>, _peer: NodeId) {}
    fn invariants(&self) {}
}

/// What a checker may read of the world after an input: every server's state (`None` while
/// it is down or absent) and durable log, and every client.
pub trait View<P: Protocol> {
    /// Server slots (members and spares).
    fn servers(&self) -> u32;
    /// The running state of `server`, if it is up.
    fn server(&self, server: NodeId) -> Option<&P::Server>;
    /// `server`'s durable log, and how many of its records are durable (synced).
    fn log(&self, server: NodeId) -> (&[P::Record], usize);
    /// How many times `server`'s log was rewritten (compacted, or cut by a crash) rather
    /// than appended to: while it stays the same, a checker that read the log before needs
    /// to read only the records after those it read.
    fn log_rewrites(&self, server: NodeId) -> u64;
    /// Client `index` (0-based: process `servers() + index`).
    fn client(&self, index: u32) -> &P::Client;
    fn clients(&self) -> u32;
}

/// Checks the invariants that span nodes, online.
pub trait Checker<P: Protocol> {
    /// An observation made by `node` at true virtual time `at`.
    fn observe(&mut self, at: Time, node: NodeId, observation: &P::Observation) -> Result<(), Violation>;

    /// Whether the world calls `inspect` after every input of a server.
    const INSPECTS: bool = false;

    /// The whole world after `node` handled an input. Called only when `INSPECTS` is true.
    fn inspect(&mut self, _at: Time, _node: NodeId, _world: &dyn View<P>) -> Result<(), Violation> {
        Ok(())
    }

    /// Figures only this protocol can measure (for 2PC: transactions blocked, time blocked),
    /// as (name, value) pairs, asked for once when the run ends and reported in its summary.
    fn figures(&self, _end: Time) -> Vec<(&'static str, f64)> {
        Vec::new()
    }

    /// Why the system may be stuck, as this checker sees it (a `stuck` verdict adds it).
    fn stuck_reason(&self, _end: Time) -> Option<String> {
        None
    }
}

/// The number of a sync a server asked for: 1, 2, ... since its last (re)start.
pub type SyncId = u64;

/// One thing a node did.
#[derive(Debug)]
pub enum Effect<P: Protocol> {
    /// Send now.
    Send {
        to: NodeId,
        message: P::Message,
    },
    /// Send once every record written before this effect is durable.
    SendAfterSync {
        to: NodeId,
        message: P::Message,
    },
    /// Fire `timer` after `after` of monotonic time, replacing a pending one of that name.
    SetTimer {
        after: Time,
        timer: P::Timer,
    },
    /// Cancel the pending timer of that name, if any.
    CancelTimer {
        timer: P::Timer,
    },
    Write(P::Record),
    /// Start making every record written so far durable.
    Sync(SyncId),
    /// Replace the whole log with these records, durably.
    Compact(Vec<P::Record>),
    Observe(P::Observation),
    /// Report once every record written before this effect is durable (and not at all if
    /// a crash loses them).
    ObserveAfterSync(P::Observation),
    /// A client completed its operation.
    Complete(Outcome<ReplyOf<P>>),
    /// A leaving server handed off and stops.
    Leave,
}

/// Everything one input made a node do, in the order it did it.
#[derive(Debug)]
pub struct Effects<P: Protocol> {
    pub list: Vec<Effect<P>>,
}

impl<P: Protocol> Default for Effects<P> {
    fn default() -> Self {
        Effects { list: Vec::new() }
    }
}

impl<P: Protocol> Effects<P> {
    /// Empties the list, keeping its allocation.
    pub fn clear(&mut self) {
        self.list.clear();
    }

    /// The messages sent (at once or after a sync), in order.
    pub fn sends(&self) -> impl Iterator<Item = (NodeId, &P::Message)> {
        self.list.iter().filter_map(|effect| match effect {
            Effect::Send { to, message } | Effect::SendAfterSync { to, message } => Some((*to, message)),
            _ => None,
        })
    }

    /// The records written, in order.
    pub fn writes(&self) -> impl Iterator<Item = &P::Record> {
        self.list.iter().filter_map(|effect| match effect {
            Effect::Write(record) => Some(record),
            _ => None,
        })
    }

    /// The observations, in order.
    pub fn observations(&self) -> impl Iterator<Item = &P::Observation> {
        self.list.iter().filter_map(|effect| match effect {
            Effect::Observe(observation) | Effect::ObserveAfterSync(observation) => Some(observation),
            _ => None,
        })
    }

    /// The outcomes a client completed, in order.
    pub fn outcomes(&self) -> impl Iterator<Item = &Outcome<ReplyOf<P>>> {
        self.list.iter().filter_map(|effect| match effect {
            Effect::Complete(outcome) => Some(outcome),
            _ => None,
        })
    }

    /// Whether a sync was asked for (by `sync` or `send_after_sync`).
    pub fn synced(&self) -> bool {
        self.list.iter().any(|effect| matches!(effect, Effect::Sync(_) | Effect::SendAfterSync { .. }))
    }
}

/// What any node sees of the world during one input, and where it writes its effects.
pub struct Context<'a, P: Protocol> {
    id: NodeId,
    monotonic: Time,
    wall: Time,
    rng: &'a mut ChaCha8Rng,
    effects: &'a mut Effects<P>,
}

impl<'a, P: Protocol> Context<'a, P> {
    /// A context for node `id` whose clocks read `monotonic` and `wall`.
    pub fn new(id: NodeId, monotonic: Time, wall: Time, rng: &'a mut ChaCha8Rng, effects: &'a mut Effects<P>) -> Self {
        Context { id, monotonic, wall, rng, effects }
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// This node's monotonic clock: never goes back, drifts within `Setup::drift_bound_ppm`.
    pub fn monotonic(&self) -> Time {
        self.monotonic
    }

    /// This node's wall clock: offset, drifting and jumping as the scenario says.
    pub fn wall(&self) -> Time {
        self.wall
    }

    /// This node's random stream, derived from the run's seed and the node id.
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        self.rng
    }

    /// Sends `message` to `to` through the simulated network, now.
    pub fn send(&mut self, to: NodeId, message: P::Message) {
        debug_assert_ne!(to, self.id, "a node handles its own messages locally");
        self.effects.list.push(Effect::Send { to, message });
    }

    /// Fires `timer` after `after` of monotonic time; restarts it if it is pending.
    pub fn set_timer(&mut self, after: Time, timer: P::Timer) {
        self.effects.list.push(Effect::SetTimer { after, timer });
    }

    /// Cancels the pending `timer`, if any.
    pub fn cancel_timer(&mut self, timer: P::Timer) {
        self.effects.list.push(Effect::CancelTimer { timer });
    }

    /// Reports an event to the checkers.
    pub fn observe(&mut self, observation: P::Observation) {
        self.effects.list.push(Effect::Observe(observation));
    }
}

/// A server's context: the shared [`Context`] plus durable storage and leaving.
pub struct ServerContext<'a, P: Protocol> {
    context: Context<'a, P>,
    /// The number the next sync gets.
    next_sync: SyncId,
    /// Whether some record written so far is not covered by a sync yet.
    uncovered: bool,
}

impl<'a, P: Protocol> ServerContext<'a, P> {
    /// A server's context. `next_sync` is the number this server's next sync gets, and
    /// `uncovered` whether it wrote records that no sync covers yet.
    pub fn new(context: Context<'a, P>, next_sync: SyncId, uncovered: bool) -> Self {
        ServerContext { context, next_sync, uncovered }
    }

    /// Appends a record to the durable log (not durable until a sync covers it).
    pub fn write(&mut self, record: P::Record) {
        self.uncovered = true;
        self.context.effects.list.push(Effect::Write(record));
    }

    /// Starts making every record written so far durable; `on_synced` says when it is.
    pub fn sync(&mut self) -> SyncId {
        let sync = self.next_sync;
        self.next_sync += 1;
        self.uncovered = false;
        self.context.effects.list.push(Effect::Sync(sync));
        sync
    }

    /// Sends `message` once every record written so far is durable (starting a sync if
    /// none covers them yet): persistence before send.
    pub fn send_after_sync(&mut self, to: NodeId, message: P::Message) {
        debug_assert_ne!(to, self.context.id, "a node handles its own messages locally");
        if self.uncovered {
            self.sync();
        }
        self.context.effects.list.push(Effect::SendAfterSync { to, message });
    }

    /// Reports `observation` once every record written so far is durable: for an event
    /// whose meaning is durable state (a vote accepted, a decision logged), which a crash
    /// before the sync finishes undoes. It starts no sync (a record never synced makes a
    /// report never made, as it makes no decision); reports and sends that wait keep the
    /// order they were made in, and a crash reports it only if its records survive.
    pub fn observe_after_sync(&mut self, observation: P::Observation) {
        self.context.effects.list.push(Effect::ObserveAfterSync(observation));
    }

    /// Replaces the whole durable log, at once and durably, with `records` (a snapshot
    /// record and whatever must follow it).
    pub fn compact(&mut self, records: Vec<P::Record>) {
        self.uncovered = false;
        self.context.effects.list.push(Effect::Compact(records));
    }

    /// A leaving server says it has handed off: it stops and is gone.
    pub fn leave(&mut self) {
        self.context.effects.list.push(Effect::Leave);
    }
}

/// A client's context: the shared [`Context`] plus completing operations.
pub struct ClientContext<'a, P: Protocol> {
    context: Context<'a, P>,
}

impl<'a, P: Protocol> ClientContext<'a, P> {
    pub fn new(context: Context<'a, P>) -> Self {
        ClientContext { context }
    }

    /// Completes the client's operation in progress.
    pub fn complete(&mut self, outcome: Outcome<ReplyOf<P>>) {
        self.context.effects.list.push(Effect::Complete(outcome));
    }
}

impl<'a, P: Protocol> Deref for ServerContext<'a, P> {
    type Target = Context<'a, P>;
    fn deref(&self) -> &Context<'a, P> {
        &self.context
    }
}

impl<'a, P: Protocol> DerefMut for ServerContext<'a, P> {
    fn deref_mut(&mut self) -> &mut Context<'a, P> {
        &mut self.context
    }
}

impl<'a, P: Protocol> Deref for ClientContext<'a, P> {
    type Target = Context<'a, P>;
    fn deref(&self) -> &Context<'a, P> {
        &self.context
    }
}

impl<'a, P: Protocol> DerefMut for ClientContext<'a, P> {
    fn deref_mut(&mut self) -> &mut Context<'a, P> {
        &mut self.context
    }
}
