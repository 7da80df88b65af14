//! The madsim engine: the same protocols, workload, faults and checkers as the native engine,
//! hosted on madsim, a deterministic simulator of an async runtime and its network that also
//! has a real-network mode. It shows that the protocols run unchanged on such a runtime, and
//! it cross-checks the native engine: both must reach the same verdicts (`tests/engines.rs`).
//!
//! Each server and client is a madsim node with its own IP address and `Endpoint`. The
//! node's tasks do everything that takes time or can be lost: they receive datagrams, sleep
//! for its timers and (for a client) its think times, and report each input to the host, the
//! task that holds the state machines (`host.rs`). The host hands the input to the node
//! through the contract as soon as it arrives and carries out the effects: a send is a
//! datagram through the sender's `Endpoint` and madsim's network (its latency, loss, clogged
//! links and delivery order), a timer is a sleep on the node, and a write goes to a
//! write-ahead log that the host keeps outside the node. So a killed node's tasks die with
//! its volatile state, a paused node's tasks report late, and a restarted node is rebuilt
//! from the host's log through `Protocol::recover`.
//!
//! What madsim does not model is layered on in the host, from the run's ChaCha streams:
//! duplication (a second datagram), latency distributions other than constant and uniform
//! (the receiving node waits the rest), clock offsets, drift and jumps (`ctx.now()` and
//! timer lengths go through each node's clock), losing unsynced writes at a crash (the host
//! cuts its log), and partitions that cut messages already in flight (madsim checks its
//! clogs only when a datagram leaves). FIFO links cannot be layered on: [`unsupported`] says
//! so, and so does a run of such a scenario.
//!
//! madsim has costs of its own, which the host offsets where it can, so that a run keeps
//! the scenario's timing: each send and each receive sleeps a few microseconds, which madsim
//! rounds up to its 1 ms minimum, so the host takes those 2 ms off the scenario's latency (a
//! latency under 2 ms becomes 2 ms: the figures show it); a node needs 1 ms to bind its
//! endpoint, so the run's clock starts when the nodes are up; and a wait under 1 ms (a think
//! time, a short timer) becomes 0 or 1 ms, whichever is nearer. What remains: a restarted
//! node comes back 1 ms later than on the native engine; madsim draws uniform latencies
//! and losses from its own random generator, and runs the events of one instant in
//! its own random order; and a node whose receive loops are all busy (`RECEIVERS` datagrams
//! in one millisecond) hands out the waiting datagrams in no fixed order.
//!
//! The engine needs the `madsim` cfg (set in `.cargo/config.toml`); a build without it (a
//! `RUSTFLAGS` variable replaces the config file's flags) keeps the native engine only, and
//! [`unsupported`] tells what to do.

#[cfg(madsim)]
mod host;

use protocols::node::{Protocol, Time, MILLISECOND};

use crate::engine::record::Recorder;
use crate::engine::{RunOptions, RunRecord};
use crate::scenario::Scenario;

/// madsim's shortest sleep: each send and each receive sleeps this long, and a node takes
/// this long to boot.
pub const MADSIM_STEP: Time = MILLISECOND;

/// Why the madsim engine cannot run `scenario` as written, naming the setting; `None` if it can.
pub fn unsupported(scenario: &Scenario) -> Option<String> {
    if !cfg!(madsim) {
        return Some(
            "the madsim engine is not in this build: build with the madsim cfg, which .cargo/config.toml sets \
             (unset RUSTFLAGS, which replaces it, and run cargo inside the workspace); or use engine = \"native\""
                .to_string(),
        );
    }
    scenario.network.fifo.then(|| {
        "network.fifo: the madsim engine cannot keep links FIFO (madsim's mailboxes hand out waiting \
         datagrams in no fixed order); use engine = \"native\""
            .to_string()
    })
}

/// Runs `scenario` with protocol `P` on the madsim engine, in a thread of its own; a scenario
/// it cannot run ends with an `error` naming the setting.
#[cfg(madsim)]
pub fn run<P: Protocol>(scenario: &Scenario, options: RunOptions) -> RunRecord {
    if let Some(reason) = unsupported(scenario) {
        return refused(scenario, reason);
    }
    // A fresh thread per run: std's HashMap keys inside madsim depend on how many runtimes the
    // thread ran before, and madsim forbids starting a thread inside its runtime.
    let outcome = std::thread::scope(|scope| scope.spawn(|| host::simulate::<P>(scenario, options)).join());
    outcome.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Without the madsim cfg there is no madsim engine: a run ends with an `error` that says so.
#[cfg(not(madsim))]
#[allow(clippy::extra_unused_type_parameters)] // the signature of the madsim build's `run`
pub fn run<P: Protocol>(scenario: &Scenario, _options: RunOptions) -> RunRecord {
    refused(scenario, unsupported(scenario).expect("a build without madsim runs nothing on it"))
}

/// The record of a run that did not start: no events, and the reason as its error.
fn refused(scenario: &Scenario, reason: String) -> RunRecord {
    RunRecord {
        recorder: Recorder::new(false),
        violation: None,
        error: Some(reason),
        virtual_time: 0,
        events: 0,
        servers: scenario.nodes,
        protocol_figures: Vec::new(),
        faults_end: scenario.faults_end(),
        trace_hash: 0,
    }
}
