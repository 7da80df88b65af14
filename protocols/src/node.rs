//! The node contract: every protocol node and client is a deterministic, sans-IO state
//! machine.
//!
//! A node never performs I/O. An engine hands it one input at a time (start, recover, a
//! message, a timer, a client request) together with a [`Context`], and the node writes its
//! effects into that context: messages to send, timers to set or cancel, records to append
//! to its durable log and whether to sync it, observations for the checkers, and (for
//! clients) the outcome of the operation in progress. The engine then carries the effects
//! out. Because a handler's whole output is the [`Effects`] value, protocols are unit-tested
//! by feeding one input and asserting the exact effects, with no engine at all.
//!
//! Time and randomness are inputs: `ctx.now()` is the node's own (possibly skewed) clock and
//! `ctx.rng()` a ChaCha stream derived from the run's seed and the node's id.
//!
//! Durable storage is a write-ahead log of protocol-defined records. `write` appends a
//! record, `sync` makes every record written so far durable. A crash may drop the records
//! that were written but not synced (a fault knob), and a restarted node is rebuilt from the
//! surviving records only (`Protocol::recover`), which is how "acknowledged before fsync"
//! bugs show up.

use std::fmt::{Debug, Display};
use std::hash::Hash;

use rand_chacha::ChaCha8Rng;

use crate::operation::{Operation, OperationKind, Outcome};

/// Index of a process in a run: servers are `0..servers`, clients follow them.
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

/// What a protocol is told about the run when its processes are built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setup {
    /// Number of server processes (ids `0..servers`).
    pub servers: u32,
    /// Number of client processes (ids `servers..servers + clients`).
    pub clients: u32,
    /// The selected variant; always one of the protocol's `VARIANTS`.
    pub variant: &'static str,
    /// Base timeout for retries, elections and client requests, in local-clock time.
    pub timeout: Time,
}

impl Setup {
    /// The smallest number of servers that forms a majority.
    pub fn majority(&self) -> usize {
        self.servers as usize / 2 + 1
    }

    /// Ids of every server.
    pub fn server_ids(&self) -> impl Iterator<Item = NodeId> {
        0..self.servers
    }

    /// Whether `variant` is the selected one.
    pub fn is(&self, variant: &str) -> bool {
        self.variant == variant
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

/// A protocol: its processes, message, timer, durable record and observation types, its
/// variants, and the invariant checker that only it can define.
pub trait Protocol: Sized + 'static {
    /// The name a scenario uses in `protocol = "..."`.
    const NAME: &'static str;
    /// One line on what the protocol is and which paper it follows.
    const ABOUT: &'static str;
    /// The correct variant first, then the flawed ones.
    const VARIANTS: &'static [Variant];
    /// The operations its clients accept from the workload.
    const OPERATIONS: &'static [OperationKind];

    type Message: Message;
    /// Named timers: setting a timer that is already pending restarts it.
    type Timer: Clone + Debug + PartialEq + Hash;
    /// A record of the durable write-ahead log.
    type Record: Clone + Debug;
    /// An event reported to the checkers; `Display` writes it for the event table in the
    /// notation of the rest of the reports (`accepted ballot 1.2 value 7`).
    type Observation: Clone + Debug + Display;
    type Server: Node<Self>;
    type Client: Client<Self>;
    type Checker: Checker<Self>;

    /// A server at first boot.
    fn server(setup: &Setup, id: NodeId) -> Self::Server;
    /// A server restarted after a crash, rebuilt from its surviving durable records only.
    fn recover(setup: &Setup, id: NodeId, records: &[Self::Record]) -> Self::Server;
    /// A client.
    fn client(setup: &Setup, id: NodeId) -> Self::Client;
    /// The protocol's invariant checker for one run.
    fn checker(setup: &Setup) -> Self::Checker;

    /// The milestone an observation marks (`leader-elected`, `value-chosen`, ...), if any:
    /// sweeps count the runs that reached each one, to tell a vacuous pass from a real one.
    fn milestone(_observation: &Self::Observation) -> Option<&'static str> {
        None
    }
}

/// A process driven by an engine, one input at a time.
pub trait Node<P: Protocol> {
    /// First boot.
    fn on_start(&mut self, ctx: &mut Context<P>);
    /// Restart after a crash; the node was built by `Protocol::recover`.
    fn on_recover(&mut self, ctx: &mut Context<P>) {
        self.on_start(ctx);
    }
    /// A message from a peer or a client.
    fn on_message(&mut self, ctx: &mut Context<P>, from: NodeId, message: P::Message);
    /// A timer set with `ctx.set_timer` fired.
    fn on_timer(&mut self, ctx: &mut Context<P>, timer: P::Timer);
    /// The node's own invariants, checked by the engine after every input. Panics (with
    /// plain `assert!`) when one does not hold; the engine turns that into an `error`.
    fn invariants(&self) {}
}

/// A client process: the workload hands it one operation at a time, and it reports the
/// outcome with `ctx.complete` (`Info` when it cannot know whether the operation applied).
pub trait Client<P: Protocol>: Node<P> {
    fn on_request(&mut self, ctx: &mut Context<P>, operation: Operation);
}

/// Checks the invariants that span nodes, online, from observations.
pub trait Checker<P: Protocol> {
    /// An observation made by `node` at virtual time `at`.
    fn observe(&mut self, at: Time, node: NodeId, observation: &P::Observation) -> Result<(), Violation>;

    /// The full state of every server after an input (`None` for a crashed server). Called
    /// only when `INSPECTS` is true, since it runs after every event.
    fn inspect(&mut self, _at: Time, _servers: &[Option<P::Server>]) -> Result<(), Violation> {
        Ok(())
    }

    /// Whether the engine calls `inspect` after every event.
    const INSPECTS: bool = false;

    /// Figures only this protocol can measure (for 2PC: transactions blocked, time blocked),
    /// as (name, value) pairs, asked for once when the run ends and reported in its summary.
    fn figures(&self, _end: Time) -> Vec<(&'static str, f64)> {
        Vec::new()
    }
}

/// A timer command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimerCommand<T> {
    /// Fire `timer` after `after` of local-clock time, replacing a pending one of that name.
    Set { after: Time, timer: T },
    /// Cancel the pending timer of that name, if any.
    Cancel { timer: T },
}

/// Everything one input made a node do, in the order it did it.
#[derive(Debug)]
pub struct Effects<P: Protocol> {
    pub sends: Vec<(NodeId, P::Message)>,
    pub timers: Vec<TimerCommand<P::Timer>>,
    pub writes: Vec<P::Record>,
    /// How many of `writes` a `sync` covered, if `sync` was called: it makes every record
    /// written before it durable, including those of earlier inputs.
    pub synced: Option<usize>,
    pub observations: Vec<P::Observation>,
    pub outcomes: Vec<Outcome>,
}

impl<P: Protocol> Default for Effects<P> {
    fn default() -> Self {
        Effects {
            sends: Vec::new(),
            timers: Vec::new(),
            writes: Vec::new(),
            synced: None,
            observations: Vec::new(),
            outcomes: Vec::new(),
        }
    }
}

impl<P: Protocol> Effects<P> {
    /// Empties every list, keeping the allocations.
    pub fn clear(&mut self) {
        self.sends.clear();
        self.timers.clear();
        self.writes.clear();
        self.synced = None;
        self.observations.clear();
        self.outcomes.clear();
    }
}

/// What a node sees of the world during one input, and where it writes its effects.
pub struct Context<'a, P: Protocol> {
    id: NodeId,
    now: Time,
    rng: &'a mut ChaCha8Rng,
    effects: &'a mut Effects<P>,
}

impl<'a, P: Protocol> Context<'a, P> {
    /// A context for node `id` whose local clock reads `now`.
    pub fn new(id: NodeId, now: Time, rng: &'a mut ChaCha8Rng, effects: &'a mut Effects<P>) -> Self {
        Context { id, now, rng, effects }
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// This node's local clock (skewed, drifting and jumping as the scenario says).
    pub fn now(&self) -> Time {
        self.now
    }

    /// This node's random stream, derived from the run's seed and the node id.
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        self.rng
    }

    /// Sends `message` to `to` through the simulated network.
    pub fn send(&mut self, to: NodeId, message: P::Message) {
        debug_assert_ne!(to, self.id, "a node handles its own messages locally");
        self.effects.sends.push((to, message));
    }

    /// Fires `timer` after `after` of local time; restarts it if it is pending.
    pub fn set_timer(&mut self, after: Time, timer: P::Timer) {
        self.effects.timers.push(TimerCommand::Set { after, timer });
    }

    /// Cancels the pending `timer`, if any.
    pub fn cancel_timer(&mut self, timer: P::Timer) {
        self.effects.timers.push(TimerCommand::Cancel { timer });
    }

    /// Appends a record to the durable log (not durable until `sync`).
    pub fn write(&mut self, record: P::Record) {
        self.effects.writes.push(record);
    }

    /// Makes every record written so far durable.
    pub fn sync(&mut self) {
        self.effects.synced = Some(self.effects.writes.len());
    }

    /// Reports an event to the checkers.
    pub fn observe(&mut self, observation: P::Observation) {
        self.effects.observations.push(observation);
    }

    /// Completes the client's operation in progress.
    pub fn complete(&mut self, outcome: Outcome) {
        self.effects.outcomes.push(outcome);
    }
}
