//! The madsim substrate: the world's processes hosted on madsim, a deterministic simulator
//! of an async runtime and its network that also has a real-network mode.
//!
//! Each server and client is a madsim node with its own IP address and `Endpoint`. The
//! node's tasks do everything that takes time or can be lost: they receive datagrams, and
//! they sleep until the events of the process are due (its timers, think times and syncs);
//! the world's own events (faults, the nemesis, the heal) sleep on a madsim node of the
//! world's. Every task reports to one inbox (`inbox.rs`), and the host loop hands each
//! report to the world as an event. A message is a datagram through the sender's
//! `Endpoint` and madsim's network (its latency, loss, clogged links and delivery order), a
//! crash kills the process's madsim node (its tasks and socket die with it), a restart
//! restarts it (it boots and binds its endpoint again before it recovers), and a pause
//! pauses it (its tasks report late). The state machines stay with the world, out of the
//! tasks, because madsim's tasks must be `Send` and the contract does not ask protocols for
//! that: the tasks carry only ids.
//!
//! What madsim does not model is layered on by the world, from the run's ChaCha streams:
//! duplication (a second datagram), latency distributions other than constant and uniform
//! (the receiving node waits the rest), clock offsets, drift and jumps, losing unsynced
//! writes at a crash, sync times, the rule that a partition also cuts messages already
//! in flight, and FIFO links (`world::connections`: the world puts each connection's
//! messages back in order, whatever order madsim hands them over in). A connection must
//! break at every message it loses, so on FIFO links the world draws the losses and holds
//! back the messages link faults block, and madsim carries every datagram (no loss of its
//! own, no clogs): a datagram madsim dropped without a word would leave the connection
//! waiting for it.
//!
//! madsim has costs of its own, which the substrate offsets where it can, so that a run
//! keeps the scenario's timing: each send and each receive sleeps a few microseconds, which
//! madsim rounds up to its 1 ms minimum, so the substrate takes those 2 ms off the
//! scenario's latency (a latency under 2 ms becomes 2 ms: the figures show it); a node needs
//! 1 ms to bind its endpoint, so the run's clock starts when the nodes are up; and a wait
//! under 1 ms (a think time, a short timer) becomes 0 or 1 ms, whichever is nearer. What
//! remains: a restarted node comes back 1 ms later than on the native substrate; madsim
//! draws uniform latencies and losses from its own random generator, and runs the events
//! of one instant in its own random order; and a node whose receive loops are all busy
//! (`RECEIVERS` datagrams in one millisecond) hands out the waiting datagrams in no fixed
//! order.
//!
//! The substrate needs the `madsim` cfg (set in `.cargo/config.toml`); a build without it
//! (a `RUSTFLAGS` variable replaces the config file's flags) keeps the native substrate
//! only, and [`unsupported`] tells what to do.

#[cfg(madsim)]
mod host;
#[cfg(madsim)]
mod inbox;
#[cfg(madsim)]
mod net;

use protocols::node::{Protocol, Time, MILLISECOND};

use crate::scenario::Scenario;
use crate::world::{RunOptions, Simulation};

/// madsim's shortest sleep: each send and each receive sleeps this long, and a node takes
/// this long to boot.
pub const MADSIM_STEP: Time = MILLISECOND;

/// Why the madsim substrate cannot run `scenario` as written, naming the setting; `None`
/// if it can.
pub fn unsupported(_scenario: &Scenario) -> Option<String> {
    // Every scenario setting runs on madsim, when the build has it.
    (!cfg!(madsim)).then(|| {
        "the madsim engine is not in this build: build with the madsim cfg, which .cargo/config.toml sets \
         (unset RUSTFLAGS, which replaces it, and run cargo inside the workspace); or use engine = \"native\""
            .to_string()
    })
}

/// Runs `scenario` with protocol `P` on the madsim substrate, in a thread of its own; a
/// scenario it cannot run is refused with the reason.
#[cfg(madsim)]
pub fn simulate<P: Protocol>(scenario: &Scenario, options: RunOptions) -> Result<Simulation<P>, String> {
    if let Some(reason) = unsupported(scenario) {
        return Err(reason);
    }
    // A fresh thread per run: std's HashMap keys inside madsim depend on how many runtimes the
    // thread ran before, and madsim forbids starting a thread inside its runtime.
    let outcome = std::thread::scope(|scope| scope.spawn(|| host::simulate::<P>(scenario, options)).join());
    Ok(outcome.unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
}

/// Without the madsim cfg there is no madsim substrate.
#[cfg(not(madsim))]
#[allow(clippy::extra_unused_type_parameters)] // the signature of the madsim build's `simulate`
pub fn simulate<P: Protocol>(scenario: &Scenario, _options: RunOptions) -> Result<Simulation<P>, String> {
    Err(unsupported(scenario).expect("a build without madsim runs nothing on it"))
}
