//! Swarm testing (Groce et al., "Swarm Testing", ISSTA 2012): each seed first draws its own
//! weather, which fault kinds are on and how hard they blow, so that different seeds explore
//! very different conditions instead of the same average mix.
//!
//! The weather replaces the scenario's network, clocks, explicit timeline and nemesis, and
//! varies its workload; the protocol, variant, cluster and checks stay. Times are drawn in
//! units of the scenario's timeout, so that faults short and long compared with the
//! protocol's own timeouts come up whatever its speed. Besides kinds and rates, the weather
//! turns on the world's fault points (`world::faults`), which reach bugs a uniform nemesis
//! almost never does:
//! - crashes aimed at a sync under way, losing what it was making durable (`crash_at_sync`);
//! - late copies, after a restart, of the messages sent to a server before its crash
//!   (`[network] replay`);
//! - faults aimed at the server of one of the protocol's milestones (`aim`, `aim_milestone`:
//!   the leader just elected, the coordinator that just decided);
//! - crashes that follow milestones (`crash_after`, `crash_after_milestones`): torn at the
//!   next sync of the server the milestone concerns (the follower just synchronized), and
//!   with it down the milestone's server too (`crash_pair`: the leader), so that the torn
//!   state counts. On in most weathers with crashes, each milestone followed in most of
//!   those; drawn after everything else, so the rest of the weather is as it was before;
//! - pauses of their own length, spanning several timeouts (`pause_ms`).
//!
//! The workload varies too (clients, keys, the operation mix, the service's own keys such
//! as the size of a transaction), each draw checked against what the protocol's service
//! allows. The workload lasts through the liveness window after the faults: clients invoke
//! operations until the scenario's duration, and a window that outlasted it saw the last
//! operations time out with nobody left to ask, and called a system that had recovered
//! `stuck`. So where the faults end too late for the window to fit, the run is made longer
//! (the faults themselves are drawn as before: cutting them short hid bugs). The history
//! check's step budget is capped (`SWARM_LINEARIZABILITY_BUDGET`), as weather makes a few
//! histories that no budget decides.
//!
//! A scenario whose protocol is only safe under some faults says so in `[swarm]`:
//! the fault kinds drawn come from its list, `keep_network` keeps its network (and with it
//! the absence of replays), `keep_workload` its workload. The weather comes from its own
//! stream of the seed, so the rest of the run draws the same numbers as without swarm mode.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use protocols::node::Protocol;
use protocols::service::{ParamValue, Service};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::catalog::{self, Meta, Visitor};
use crate::rng::{self, stream};
use crate::scenario::{ClockSpec, Latency, Nemesis, NemesisKind, Scenario, Workload};

/// The history check's step budget under swarm weather. Weather makes a few histories
/// very hard (one key, a dozen clients, appends, many operations of unknown outcome):
/// in a 120 s swarm sweep of every bundled scenario, 89 seeds in 347,667 took over 200 ms
/// each, a quarter of the sweep's time, and every one checked ended `unknown` at the
/// default budget of 10 M steps. At this budget they end so in about a tenth of the time,
/// and the seeds go to other weather.
pub const SWARM_LINEARIZABILITY_BUDGET: u64 = 1_000_000;

/// `scenario` under the weather of `seed`, and that weather in words.
pub fn weather(scenario: &Scenario, seed: u64) -> (Scenario, String) {
    let mut rng = stream(seed, rng::SWARM);
    let mut out = scenario.clone();
    let limits = scenario.swarm.as_ref();
    let keep_network = limits.is_some_and(|limits| limits.keep_network);
    let drawn = (latency(&mut rng), sometimes(&mut rng, 0.2), sometimes(&mut rng, 0.2));
    if !keep_network {
        (out.network.latency, out.network.loss, out.network.duplicate) = drawn;
        if out.network.fifo {
            out.network.duplicate = 0.0; // FIFO links are connections, which deliver each message once.
        }
    }
    out.clocks = if rng.gen_bool(0.3) { skewed_clocks(&mut rng, scenario.nodes) } else { Vec::new() };
    out.faults.clear();
    let meta = catalog::find(&scenario.protocol);
    let nemesis = nemesis(&mut rng, scenario, meta.as_ref());
    let replay = nemesis.kinds.contains(&NemesisKind::Crash) && rng.gen_bool(0.5);
    let replay = if replay { round(rng.gen_range(0.2..1.0)) } else { 0.0 };
    // A restart breaks a FIFO link's connections: nothing sent before it can come late.
    if !keep_network && !out.network.fifo {
        out.network.replay = replay;
    }
    if let (Some(liveness_ms), Some(end_ms)) = (scenario.checks.liveness_ms, nemesis.end_ms) {
        out.duration_ms = out.duration_ms.max(end_ms + liveness_ms);
    }
    out.checks.linearizability_budget = out.checks.linearizability_budget.min(SWARM_LINEARIZABILITY_BUDGET);
    out.nemesis = Some(nemesis);
    if !limits.is_some_and(|limits| limits.keep_workload) && rng.gen_bool(0.7) {
        if let Some(workload) = meta.as_ref().and_then(|meta| vary_workload(&mut rng, scenario, meta)) {
            out.workload = workload;
        }
    }
    // Drawn last, so that every draw before is what it was before these fault points.
    if let Some(nemesis) = out.nemesis.as_mut() {
        crash_after_milestone(&mut rng, nemesis, meta.as_ref());
    }
    let words = describe(&out, scenario);
    (out, words)
}

/// A probability that is zero half of the time.
fn sometimes(rng: &mut ChaCha8Rng, max: f64) -> f64 {
    if rng.gen_bool(0.5) {
        0.0
    } else {
        round(rng.gen_range(0.0..max))
    }
}

fn latency(rng: &mut ChaCha8Rng) -> Latency {
    match rng.gen_range(0..4) {
        0 => Latency::Constant { ms: round(rng.gen_range(0.5..5.0)) },
        1 => {
            let min_ms = round(rng.gen_range(0.1..3.0));
            Latency::Uniform { min_ms, max_ms: round(min_ms + rng.gen_range(0.0..40.0)) }
        }
        2 => Latency::Exponential { mean_ms: round(rng.gen_range(1.0..15.0)), min_ms: round(rng.gen_range(0.0..2.0)) },
        _ => Latency::Lognormal { median_ms: round(rng.gen_range(1.0..10.0)), sigma: round(rng.gen_range(0.2..1.5)) },
    }
}

fn skewed_clocks(rng: &mut ChaCha8Rng, nodes: u32) -> Vec<ClockSpec> {
    (0..nodes)
        .map(|node| ClockSpec {
            node,
            offset_ms: rng.gen_range(-100..=100),
            drift_ppm: round(rng.gen_range(-1_000.0..1_000.0)),
        })
        .collect()
}

/// `timeout` times a factor drawn log-uniformly from `low..high`: short and long faults
/// alike, relative to the protocol's timeout.
fn timeouts(rng: &mut ChaCha8Rng, timeout_ms: u64, low: f64, high: f64) -> f64 {
    let factor = (rng.gen_range(low.ln()..high.ln())).exp();
    round((timeout_ms as f64 * factor).max(0.5))
}

fn nemesis(rng: &mut ChaCha8Rng, scenario: &Scenario, meta: Option<&Meta>) -> Nemesis {
    // Membership changes only for protocols that support them, and joins only with a spare
    // server slot to join (else the weather names a fault that can never fire).
    let membership = meta.is_some_and(|meta| meta.membership);
    let spares = scenario.server_slots() > scenario.nodes;
    let possible = |kind: &NemesisKind| match kind {
        NemesisKind::Join => membership && spares,
        kind => membership || !kind.is_membership(),
    };
    let every_kind = NemesisKind::ALL.iter().copied().filter(possible).collect();
    let limited = scenario.swarm.as_ref().and_then(|limits| limits.kinds.clone());
    let allowed: Vec<NemesisKind> = limited.unwrap_or(every_kind);
    // Swarm testing (Groce et al., ISSTA 2012): leaving kinds out lets the others bite, so
    // a third of the seeds strike with one kind alone, the rest with about half of them.
    let mut kinds: Vec<NemesisKind> =
        if rng.gen_bool(0.3) { Vec::new() } else { allowed.iter().copied().filter(|_| rng.gen_bool(0.5)).collect() };
    if kinds.is_empty() {
        kinds.push(*allowed.choose(rng).expect("validation requires at least one kind"));
    }
    let crashes = kinds.contains(&NemesisKind::Crash);
    let lose_unsynced = if crashes { round(rng.gen_range(0.0..1.0)) } else { 0.0 };
    let end_ms = scenario.duration_ms * rng.gen_range(5..=9) / 10;
    let timeout = scenario.timeout_ms;
    let interval_ms = timeouts(rng, timeout, 0.25, 10.0);
    let fault_ms = timeouts(rng, timeout, 0.25, 25.0);
    let crash_at_sync = if crashes && rng.gen_bool(0.5) { round(rng.gen_range(0.2..1.0)) } else { 0.0 };
    let milestones: Vec<&'static str> =
        meta.map_or_else(Vec::new, |meta| meta.milestones.iter().map(|m| m.name).collect());
    let aim = if rng.gen_bool(0.5) { round(rng.gen_range(0.3..1.0)) } else { 0.0 };
    let aim_milestone = match milestones.choose(rng) {
        Some(name) if aim > 0.0 && rng.gen_bool(0.7) => Some(name.to_string()),
        _ => None,
    };
    let pauses = kinds.contains(&NemesisKind::Pause);
    let pause_ms = (pauses && rng.gen_bool(0.5)).then(|| timeouts(rng, timeout, 2.0, 8.0));
    Nemesis {
        kinds,
        interval_ms,
        fault_ms,
        start_ms: 0,
        end_ms: Some(end_ms.max(1)),
        lose_unsynced,
        max_down: None,
        clock_jump_ms: rng.gen_range(1..=200),
        // Clients are struck only where the scenario asks for it.
        client_faults: scenario.nemesis.as_ref().is_some_and(|nemesis| nemesis.client_faults),
        crash_at_sync,
        aim,
        aim_milestone,
        // Drawn at the end of the weather (`crash_after_milestone`).
        crash_after_milestones: Vec::new(),
        crash_after: 0.0,
        crash_pair: 0.0,
        pause_ms,
    }
}

/// Most weathers with crashes have crashes follow some of the protocol's milestones
/// (`crash_after`, each milestone in most of them), and most of those crash the
/// milestone's server too (`crash_pair`). A uniform crash almost never meets the one sync
/// that follows a synchronization or a decision, nor the second crash that takes away the
/// server that could repair what it tore. Each milestone is in only some weathers because
/// the crashes after one can starve another: a crash after every election kills the
/// election before its synchronization.
fn crash_after_milestone(rng: &mut ChaCha8Rng, nemesis: &mut Nemesis, meta: Option<&Meta>) {
    let Some(meta) = meta else { return };
    if !nemesis.kinds.contains(&NemesisKind::Crash) || meta.milestones.is_empty() || !rng.gen_bool(0.9) {
        return;
    }
    nemesis.crash_after = round(rng.gen_range(0.5..1.0));
    let mut followed: Vec<String> =
        meta.milestones.iter().filter(|_| rng.gen_bool(0.7)).map(|milestone| milestone.name.to_string()).collect();
    if followed.is_empty() {
        followed.extend(meta.milestones.choose(rng).map(|milestone| milestone.name.to_string()));
    }
    nemesis.crash_after_milestones = followed;
    nemesis.crash_pair = if rng.gen_bool(0.9) { 1.0 } else { 0.0 };
}

/// The scenario's workload varied within what the service allows, or `None` if the draw is
/// not a valid workload for it: from one client to twice as many, from one key to twice as
/// many (at least four), a mix of the service's operations, and its own keys.
fn vary_workload(rng: &mut ChaCha8Rng, scenario: &Scenario, meta: &Meta) -> Option<Workload> {
    let mut workload = scenario.workload.clone();
    workload.clients = rng.gen_range(1..=(2 * workload.clients).max(2));
    workload.keys = rng.gen_range(1..=(2 * workload.keys).max(4));
    let spares = scenario.server_slots() - scenario.nodes;
    if (meta.check_settings)(&scenario.settings, scenario.nodes, spares, workload.keys).is_err() {
        // More keys than the protocol's settings serve (a store's key universe): keep the
        // scenario's own, which were checked when it was loaded.
        workload.keys = scenario.workload.keys;
    }
    if meta.operations.len() > 1 {
        let mut mix: BTreeMap<String, f64> = BTreeMap::new();
        for &kind in meta.operations {
            let weight = if rng.gen_bool(0.3) { 0.0 } else { round(rng.gen_range(0.1..1.0)) };
            mix.insert(kind.to_string(), weight);
        }
        if mix.values().all(|&weight| weight == 0.0) {
            mix.insert(meta.operations.choose(rng)?.to_string(), 1.0);
        }
        workload.mix = mix;
    }
    for (key, value) in service_params(&scenario.protocol, workload.keys, workload.clients, rng) {
        let value = match value {
            ParamValue::Integer(integer) => toml::Value::Integer(integer),
            ParamValue::Float(float) => toml::Value::Float(round(float)),
        };
        workload.params.insert(key.to_string(), value);
    }
    (meta.check_params)(&workload.params, workload.keys).ok()?;
    Some(workload)
}

/// The service's own keys drawn for a workload of `clients` on `keys` keys (see
/// `Service::swarm_params`).
fn service_params(protocol: &str, keys: u32, clients: u32, rng: &mut ChaCha8Rng) -> Vec<(&'static str, ParamValue)> {
    struct Draw<'a> {
        keys: u32,
        clients: u32,
        rng: &'a mut ChaCha8Rng,
    }
    impl Visitor for Draw<'_> {
        type Output = Vec<(&'static str, ParamValue)>;
        fn visit<P: Protocol>(self) -> Self::Output {
            <P::Service as Service>::swarm_params(self.keys, self.clients, self.rng)
        }
    }
    catalog::visit(protocol, Draw { keys, clients, rng }).unwrap_or_default()
}

/// Two decimals are plenty for weather, and keep scenario files readable.
fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// The weather in one line, for the sweep's table.
fn describe(scenario: &Scenario, original: &Scenario) -> String {
    let network = &scenario.network;
    let mut words = match network.latency {
        Latency::Constant { ms } => format!("latency=constant({ms})"),
        Latency::Uniform { min_ms, max_ms } => format!("latency=uniform({min_ms},{max_ms})"),
        Latency::Exponential { mean_ms, min_ms } => format!("latency=exponential({mean_ms},{min_ms})"),
        Latency::Lognormal { median_ms, sigma } => format!("latency=lognormal({median_ms},{sigma})"),
    };
    let _ = write!(words, " loss={} duplicate={}", network.loss, network.duplicate);
    if network.replay > 0.0 {
        let _ = write!(words, " replay={}", network.replay);
    }
    if let Some(nemesis) = &scenario.nemesis {
        let kinds: Vec<&str> = nemesis.kinds.iter().map(|kind| kind.name()).collect();
        let _ = write!(
            words,
            " faults={} interval={} fault={} lose_unsynced={}",
            kinds.join(","),
            nemesis.interval_ms,
            nemesis.fault_ms,
            nemesis.lose_unsynced
        );
        if nemesis.crash_at_sync > 0.0 {
            let _ = write!(words, " crash_at_sync={}", nemesis.crash_at_sync);
        }
        if nemesis.aim > 0.0 {
            let _ = write!(words, " aim={}@{}", nemesis.aim, nemesis.aim_milestone.as_deref().unwrap_or("any"));
        }
        if nemesis.crash_after > 0.0 {
            let _ = write!(words, " crash_after={}@{}", nemesis.crash_after, nemesis.crash_after_milestones.join("+"));
        }
        if nemesis.crash_pair > 0.0 {
            let _ = write!(words, " crash_pair={}", nemesis.crash_pair);
        }
        if let Some(pause_ms) = nemesis.pause_ms {
            let _ = write!(words, " pause={pause_ms}");
        }
        if let Some(end_ms) = nemesis.end_ms {
            let _ = write!(words, " until={end_ms}");
        }
    }
    if scenario.duration_ms != original.duration_ms {
        let _ = write!(words, " duration={}", scenario.duration_ms);
    }
    if !scenario.clocks.is_empty() {
        words.push_str(" clocks=skewed");
    }
    if scenario.workload != original.workload {
        let workload = &scenario.workload;
        let mix: Vec<String> = workload.mix.iter().map(|(kind, weight)| format!("{kind}:{weight}")).collect();
        let _ = write!(words, " clients={} keys={} mix={}", workload.clients, workload.keys, mix.join(","));
        for (key, value) in &workload.params {
            let _ = write!(words, " {key}={value}");
        }
    }
    words
}
