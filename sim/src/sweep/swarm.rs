//! Swarm testing (Groce et al., "Swarm Testing", ISSTA 2012): each seed first draws its own
//! weather, which fault kinds are on and how hard they blow, so that different seeds explore
//! very different conditions instead of the same average mix.
//!
//! The weather replaces the scenario's network, clocks, explicit timeline and nemesis; the
//! protocol, variant, cluster, workload and checks stay. A scenario whose protocol is only
//! safe under some faults says so in `[swarm]`: the fault kinds drawn come from its list,
//! and `keep_network` keeps its network. The weather comes from its own stream of the seed,
//! so the rest of the run draws the same numbers as without swarm mode.

use std::fmt::Write as _;

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::rng::{self, stream};
use crate::scenario::{ClockSpec, Latency, Nemesis, NemesisKind, Scenario};

/// `scenario` under the weather of `seed`, and that weather in words.
pub fn weather(scenario: &Scenario, seed: u64) -> (Scenario, String) {
    let mut rng = stream(seed, rng::SWARM);
    let mut out = scenario.clone();
    let keep_network = scenario.swarm.as_ref().is_some_and(|limits| limits.keep_network);
    let drawn = (latency(&mut rng), sometimes(&mut rng, 0.2), sometimes(&mut rng, 0.2));
    if !keep_network {
        (out.network.latency, out.network.loss, out.network.duplicate) = drawn;
        if out.network.fifo {
            out.network.duplicate = 0.0; // FIFO links are connections, which deliver each message once.
        }
    }
    out.clocks = if rng.gen_bool(0.3) { skewed_clocks(&mut rng, scenario.nodes) } else { Vec::new() };
    out.faults.clear();
    out.nemesis = Some(nemesis(&mut rng, scenario));
    let words = describe(&out);
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

fn nemesis(rng: &mut ChaCha8Rng, scenario: &Scenario) -> Nemesis {
    // Membership changes only for protocols that support them.
    let membership = crate::catalog::find(&scenario.protocol).is_some_and(|meta| meta.membership);
    let every_kind = NemesisKind::ALL.iter().copied().filter(|kind| membership || !kind.is_membership()).collect();
    let allowed: Vec<NemesisKind> = scenario.swarm.as_ref().map_or(every_kind, |limits| limits.kinds.clone());
    let mut kinds: Vec<NemesisKind> = allowed.iter().copied().filter(|_| rng.gen_bool(0.5)).collect();
    if kinds.is_empty() {
        kinds.push(*allowed.choose(rng).expect("validation requires at least one kind"));
    }
    let lose_unsynced = if kinds.contains(&NemesisKind::Crash) { round(rng.gen_range(0.0..1.0)) } else { 0.0 };
    let end_ms = scenario.duration_ms * rng.gen_range(5..=9) / 10;
    Nemesis {
        kinds,
        interval_ms: round(rng.gen_range(10.0..200.0)),
        fault_ms: round(rng.gen_range(20.0..500.0)),
        start_ms: 0,
        end_ms: Some(end_ms.max(1)),
        lose_unsynced,
        max_down: None,
        clock_jump_ms: rng.gen_range(1..=200),
        // Clients are struck only where the scenario asks for it.
        client_faults: scenario.nemesis.as_ref().is_some_and(|nemesis| nemesis.client_faults),
    }
}

/// Two decimals are plenty for weather, and keep scenario files readable.
fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// The weather in one line, for the sweep's table.
fn describe(scenario: &Scenario) -> String {
    let network = &scenario.network;
    let mut words = match network.latency {
        Latency::Constant { ms } => format!("latency=constant({ms})"),
        Latency::Uniform { min_ms, max_ms } => format!("latency=uniform({min_ms},{max_ms})"),
        Latency::Exponential { mean_ms, min_ms } => format!("latency=exponential({mean_ms},{min_ms})"),
        Latency::Lognormal { median_ms, sigma } => format!("latency=lognormal({median_ms},{sigma})"),
    };
    let _ = write!(words, " loss={} duplicate={}", network.loss, network.duplicate);
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
    }
    if !scenario.clocks.is_empty() {
        words.push_str(" clocks=skewed");
    }
    words
}
