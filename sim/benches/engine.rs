//! `cargo xtask bench`: the native engine's throughput in delivered messages per second on
//! a fixed 5-node workload, next to a bare event loop measured in the same process on the
//! same traffic, and their ratio (target: the engine within 3x of the bare loop); then the
//! madsim engine's throughput on the same workload, over a shorter virtual time (it is two
//! orders of magnitude slower: each message is a task, two madsim sleeps and a timer).
//!
//! The workload is a token flood: each of 5 servers starts with 64 tokens and forwards every
//! token it receives to a random peer, with latencies uniform in [1, 10] ms, so the queue
//! holds 320 messages at all times and every event is one message delivery.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::Path;
use std::time::Instant;

use protocols::node::{Checker, Client, Context, Message, Node, NodeId, Protocol, Setup, Variant, Violation};
use protocols::operation::{Operation, OperationKind};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sim::engine::{self, RunOptions, RunRecord};
use sim::scenario::{self, Scenario};

const SERVERS: u32 = 5;
const TOKENS: u32 = 64;
const VIRTUAL_MS: u64 = 200_000;
/// The madsim engine's run is shorter, to take seconds rather than minutes.
#[cfg(madsim)]
const MADSIM_VIRTUAL_MS: u64 = 10_000;

struct Flood;

#[derive(Clone, Debug, Hash)]
struct Token(u32);

impl Message for Token {
    fn kind(&self) -> &'static str {
        "Token"
    }
}

struct FloodNode;

impl Node<Flood> for FloodNode {
    fn on_start(&mut self, ctx: &mut Context<Flood>) {
        for token in 0..TOKENS {
            let to = peer(ctx);
            ctx.send(to, Token(token));
        }
    }
    fn on_message(&mut self, ctx: &mut Context<Flood>, _from: NodeId, message: Token) {
        let to = peer(ctx);
        ctx.send(to, message);
    }
    fn on_timer(&mut self, _ctx: &mut Context<Flood>, _timer: ()) {}
}

impl Client<Flood> for FloodNode {
    fn on_request(&mut self, _ctx: &mut Context<Flood>, _operation: Operation) {}
}

fn peer(ctx: &mut Context<Flood>) -> NodeId {
    let me = ctx.id();
    let other = ctx.rng().gen_range(0..SERVERS - 1);
    if other >= me {
        other + 1
    } else {
        other
    }
}

struct NoChecks;

impl Checker<Flood> for NoChecks {
    fn observe(&mut self, _: u64, _: NodeId, _: &u8) -> Result<(), Violation> {
        Ok(())
    }
}

impl Protocol for Flood {
    const NAME: &'static str = "flood";
    const ABOUT: &'static str = "benchmark traffic";
    const VARIANTS: &'static [Variant] = &[Variant { name: "correct", about: "" }];
    const OPERATIONS: &'static [OperationKind] = &[];
    type Message = Token;
    type Timer = ();
    type Record = ();
    type Observation = u8;
    type Server = FloodNode;
    type Client = FloodNode;
    type Checker = NoChecks;
    fn server(_: &Setup, _: NodeId) -> FloodNode {
        FloodNode
    }
    fn recover(_: &Setup, _: NodeId, _: &[()]) -> FloodNode {
        FloodNode
    }
    fn client(_: &Setup, _: NodeId) -> FloodNode {
        FloodNode
    }
    fn checker(_: &Setup) -> NoChecks {
        NoChecks
    }
}

/// An engine on `virtual_ms` of the flood: (messages delivered, seconds).
fn engine_run(run: fn(&Scenario, RunOptions) -> RunRecord, virtual_ms: u64) -> (u64, f64) {
    let text = format!(
        "protocol = \"paxos\"\nnodes = {SERVERS}\nduration_ms = {virtual_ms}\nexpect = \"ok\"\n\
         [workload]\noperations = 0\n[limits]\ndrain_ms = 0\nmax_events = 1000000000\n\
         [network]\nlatency = {{ distribution = \"uniform\", min_ms = 1, max_ms = 10 }}\n"
    );
    let scenario = scenario::parse(Path::new("bench.toml"), &text).expect("bench scenario");
    let start = Instant::now();
    let record = run(&scenario, RunOptions { seed: 1, detailed: false });
    let seconds = start.elapsed().as_secs_f64();
    let delivered = record.recorder.messages_sent() - record.recorder.dropped - SERVERS as u64 * TOKENS as u64;
    (delivered, seconds)
}

/// The same traffic on a bare loop: a heap of (time, seq, to) and ChaCha8 latencies.
fn bare_loop(messages: u64) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut heap = BinaryHeap::new();
    let mut seq = 0_u64;
    for token in 0..SERVERS * TOKENS {
        seq += 1;
        heap.push(Reverse((rng.gen_range(1_000_000..10_000_000_u64), seq, token % SERVERS)));
    }
    let start = Instant::now();
    let mut checksum = 0_u64;
    for _ in 0..messages {
        let Reverse((time, _, to)) = heap.pop().expect("the flood never drains");
        let next = (to + rng.gen_range(1..SERVERS)) % SERVERS;
        seq += 1;
        checksum = checksum.wrapping_add(next as u64);
        heap.push(Reverse((time + rng.gen_range(1_000_000..10_000_000_u64), seq, next)));
    }
    let seconds = start.elapsed().as_secs_f64();
    assert!(checksum > 0);
    seconds
}

fn main() {
    let (delivered, engine_seconds) = engine_run(engine::run::<Flood>, VIRTUAL_MS);
    let bare_seconds = bare_loop(delivered);
    let engine_rate = delivered as f64 / engine_seconds;
    let bare_rate = delivered as f64 / bare_seconds;
    println!("workload: {SERVERS} servers, {TOKENS} tokens each, {VIRTUAL_MS} virtual ms, {delivered} messages");
    println!("native engine: {:>6.2} M messages/s ({engine_seconds:.3} s)", engine_rate / 1e6);
    println!("bare loop:     {:>6.2} M messages/s ({bare_seconds:.3} s)", bare_rate / 1e6);
    println!("ratio bare/engine: {:.2}x (target: within 3x)", bare_rate / engine_rate);
    #[cfg(madsim)]
    {
        let (delivered, seconds) = engine_run(sim::madsim_engine::run::<Flood>, MADSIM_VIRTUAL_MS);
        let rate = delivered as f64 / seconds;
        println!("madsim engine: {:>6.2} M messages/s ({seconds:.3} s, {MADSIM_VIRTUAL_MS} virtual ms, {delivered} messages)", rate / 1e6);
    }
}
