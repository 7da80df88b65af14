//! A probe protocol that reports what the engine did to it, shared by the engine tests
//! (`engine.rs` for the native engine, `engines.rs` for madsim).

use protocols::node::{Checker, Client, Context, Message, Node, NodeId, Protocol, Setup, Time, Variant, Violation};
use protocols::operation::{Operation, OperationKind, Outcome, Reply};

/// Server 0 answers each `Ping(v)` with `Pong(v, its local clock)`, writes one record per
/// ping, and syncs only pings with even values; in a cluster of 3 servers, a ping of 13 makes
/// it panic. Clients ping server 0 (`tests/engine.rs` probes the native engine with it, `tests/engines.rs` the madsim engine).
pub struct Probe;

#[derive(Clone, Debug, Hash)]
pub enum Ping {
    Ping(u64),
    Pong(Time),
}

impl Message for Ping {
    fn kind(&self) -> &'static str {
        match self {
            Ping::Ping(_) => "Ping",
            Ping::Pong(_) => "Pong",
        }
    }
}

pub struct ProbeServer {
    records: usize,
    servers: u32,
}

impl Node<Probe> for ProbeServer {
    fn on_start(&mut self, _ctx: &mut Context<Probe>) {}
    fn on_recover(&mut self, ctx: &mut Context<Probe>) {
        ctx.observe(self.records);
    }
    fn on_message(&mut self, ctx: &mut Context<Probe>, from: NodeId, message: Ping) {
        let Ping::Ping(value) = message else { return };
        assert!(self.servers != 3 || value != 13, "the probe panics on 13");
        ctx.write(value);
        if value % 2 == 0 {
            ctx.sync();
        }
        let now = ctx.now();
        ctx.send(from, Ping::Pong(now));
    }
    fn on_timer(&mut self, _ctx: &mut Context<Probe>, _timer: ()) {}
}

/// Completes its operation with the first `Pong` (a duplicate may follow).
pub struct ProbeClient {
    waiting: bool,
}

impl Node<Probe> for ProbeClient {
    fn on_start(&mut self, _ctx: &mut Context<Probe>) {}
    fn on_message(&mut self, ctx: &mut Context<Probe>, _from: NodeId, message: Ping) {
        if let (Ping::Pong(server_clock), true) = (message, self.waiting) {
            self.waiting = false;
            ctx.complete(Outcome::Ok(Reply::Value(Some(server_clock))));
        }
    }
    fn on_timer(&mut self, _ctx: &mut Context<Probe>, _timer: ()) {}
}

impl Client<Probe> for ProbeClient {
    fn on_request(&mut self, ctx: &mut Context<Probe>, operation: Operation) {
        let Operation::Propose { value } = operation else { return };
        self.waiting = true;
        ctx.send(0, Ping::Ping(value));
    }
}

pub struct NoChecks;

impl Checker<Probe> for NoChecks {
    fn observe(&mut self, _: Time, _: NodeId, _: &usize) -> Result<(), Violation> {
        Ok(())
    }
}

impl Protocol for Probe {
    const NAME: &'static str = "probe";
    const ABOUT: &'static str = "madsim engine test probe";
    const VARIANTS: &'static [Variant] = &[Variant { name: "correct", about: "" }];
    const OPERATIONS: &'static [OperationKind] = &[OperationKind::Propose];
    type Message = Ping;
    type Timer = ();
    type Record = u64;
    /// The number of records a restarted server recovered with.
    type Observation = usize;
    type Server = ProbeServer;
    type Client = ProbeClient;
    type Checker = NoChecks;
    fn server(setup: &Setup, _: NodeId) -> ProbeServer {
        ProbeServer { records: 0, servers: setup.servers }
    }
    fn recover(setup: &Setup, _: NodeId, records: &[u64]) -> ProbeServer {
        ProbeServer { records: records.len(), servers: setup.servers }
    }
    fn client(_: &Setup, _: NodeId) -> ProbeClient {
        ProbeClient { waiting: false }
    }
    fn checker(_: &Setup) -> NoChecks {
        NoChecks
    }
}
