//! What serde cannot check in a scenario: references to nodes that do not exist, ranges
//! upside down, probabilities outside [0, 1], a protocol or variant that is not there.
//! Each problem carries the key path, which [`locate_line`] turns into a line of the file.

use std::collections::BTreeSet;

use protocols::node::NodeId;

use super::{Fault, FaultKind, Latency, Scenario};
use crate::registry;

/// One step of a key path: a table key or an array index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyPart {
    Key(&'static str),
    Index(usize),
}

impl std::fmt::Display for KeyPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyPart::Key(key) => f.write_str(key),
            KeyPart::Index(index) => write!(f, "{index}"),
        }
    }
}

/// A validation problem at a key path.
#[derive(Clone, Debug)]
pub struct Problem {
    pub key: Path,
    pub message: String,
}

/// A key path, printed as `faults.2.node`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Path(pub Vec<KeyPart>);

impl Path {
    pub fn join(&self, separator: &str) -> String {
        self.0.iter().map(ToString::to_string).collect::<Vec<_>>().join(separator)
    }
}

type Checked = Result<(), Problem>;

fn problem(key: &[KeyPart], message: impl Into<String>) -> Problem {
    Problem { key: Path(key.to_vec()), message: message.into() }
}

use KeyPart::{Index, Key};

/// Checks everything serde could not.
pub fn check(scenario: &Scenario) -> Checked {
    check_protocol(scenario)?;
    at_least(&[Key("nodes")], scenario.nodes as f64, 1.0)?;
    at_most(&[Key("nodes")], scenario.nodes as f64, 1000.0)?;
    at_least(&[Key("duration_ms")], scenario.duration_ms as f64, 1.0)?;
    at_least(&[Key("timeout_ms")], scenario.timeout_ms as f64, 1.0)?;
    check_workload(scenario)?;
    check_network(scenario)?;
    for (index, fault) in scenario.faults.iter().enumerate() {
        check_fault(scenario, index, fault)?;
    }
    check_nemesis(scenario)?;
    if scenario.swarm.as_ref().is_some_and(|swarm| swarm.kinds.is_empty()) {
        return Err(problem(&[Key("swarm"), Key("kinds")], "name at least one fault kind swarm mode may draw"));
    }
    for (index, clock) in scenario.clocks.iter().enumerate() {
        node_exists(scenario, &[Key("clocks"), Index(index), Key("node")], clock.node)?;
        at_least(&[Key("clocks"), Index(index), Key("drift_ppm")], clock.drift_ppm, -100_000.0)?;
        at_most(&[Key("clocks"), Index(index), Key("drift_ppm")], clock.drift_ppm, 100_000.0)?;
    }
    at_least(&[Key("limits"), Key("max_events")], scenario.limits.max_events as f64, 1.0)
}

fn check_protocol(scenario: &Scenario) -> Checked {
    let Some(entry) = registry::find(&scenario.protocol) else {
        let known: Vec<_> = registry::PROTOCOLS.iter().map(|entry| entry.name).collect();
        return Err(problem(
            &[Key("protocol")],
            format!("unknown protocol {:?}; allowed: {}", scenario.protocol, known.join(", ")),
        ));
    };
    if entry.variant(&scenario.variant).is_none() {
        let known: Vec<_> = entry.variants.iter().map(|variant| variant.name).collect();
        return Err(problem(
            &[Key("variant")],
            format!("{} has no variant {:?}; allowed: {}", entry.name, scenario.variant, known.join(", ")),
        ));
    }
    for kind in scenario.workload.mix.keys() {
        if !entry.operations.contains(kind) {
            let allowed: Vec<_> = entry.operations.iter().map(|kind| kind.name()).collect();
            return Err(problem(
                &[Key("workload"), Key("mix")],
                format!("{} clients do not perform {:?}; allowed: {}", entry.name, kind.name(), allowed.join(", ")),
            ));
        }
    }
    Ok(())
}

fn check_workload(scenario: &Scenario) -> Checked {
    let workload = &scenario.workload;
    at_least(&[Key("workload"), Key("clients")], workload.clients as f64, 1.0)?;
    at_most(&[Key("workload"), Key("clients")], workload.clients as f64, 1_000.0)?;
    positive(&[Key("workload"), Key("rate")], workload.rate)?;
    at_least(&[Key("workload"), Key("keys")], workload.keys as f64, 1.0)?;
    at_least(&[Key("workload"), Key("transaction_keys")], workload.transaction_keys as f64, 1.0)?;
    let transactional = registry::find(&scenario.protocol)
        .is_some_and(|entry| entry.operations.contains(&protocols::operation::OperationKind::Transaction));
    if transactional && workload.transaction_keys > workload.keys {
        let message = format!("{} keys per transaction, but only {} keys", workload.transaction_keys, workload.keys);
        return Err(problem(&[Key("workload"), Key("transaction_keys")], message + "; need at most `keys`"));
    }
    probability(&[Key("workload"), Key("no_vote")], workload.no_vote)?;
    for weight in workload.mix.values() {
        at_least(&[Key("workload"), Key("mix")], *weight, 0.0)?;
    }
    if !workload.mix.is_empty() && workload.mix.values().sum::<f64>() <= 0.0 {
        return Err(problem(
            &[Key("workload"), Key("mix")],
            "the weights add up to 0; give at least one a positive weight",
        ));
    }
    Ok(())
}

fn check_network(scenario: &Scenario) -> Checked {
    let network = &scenario.network;
    probability(&[Key("network"), Key("loss")], network.loss)?;
    probability(&[Key("network"), Key("duplicate")], network.duplicate)?;
    let latency = [Key("network"), Key("latency")];
    let key = |name| [Key("network"), Key("latency"), Key(name)];
    match network.latency {
        Latency::Constant { ms } => at_least(&key("ms"), ms, 0.0),
        Latency::Uniform { min_ms, max_ms } => {
            at_least(&key("min_ms"), min_ms, 0.0)?;
            at_most(&key("max_ms"), max_ms, 3_600_000.0)?;
            if min_ms > max_ms {
                return Err(problem(
                    &latency,
                    format!("min_ms {min_ms} is above max_ms {max_ms}; need min_ms <= max_ms"),
                ));
            }
            Ok(())
        }
        Latency::Exponential { mean_ms, min_ms } => {
            positive(&key("mean_ms"), mean_ms)?;
            at_least(&key("min_ms"), min_ms, 0.0)
        }
        Latency::Lognormal { median_ms, sigma } => {
            positive(&key("median_ms"), median_ms)?;
            at_least(&key("sigma"), sigma, 0.0)?;
            at_most(&key("sigma"), sigma, 5.0)
        }
    }
}

fn check_fault(scenario: &Scenario, index: usize, fault: &Fault) -> Checked {
    let key = |name| [Key("faults"), Index(index), Key(name)];
    at_least(&key("at_ms"), fault.at_ms, 0.0)?;
    at_most(&key("at_ms"), fault.at_ms, scenario.duration_ms as f64)?;
    if let Some(duration) = fault.duration_ms {
        positive(&key("duration_ms"), duration)?;
    }
    let nodes = |name, nodes: &[NodeId]| nodes.iter().try_for_each(|&node| node_exists(scenario, &key(name), node));
    match &fault.kind {
        FaultKind::Partition { groups } => {
            groups.iter().try_for_each(|group| nodes("groups", group))?;
            disjoint(&key("groups"), groups.iter().map(Vec::as_slice))
        }
        FaultKind::Cut { from, to } => {
            nodes("from", from)?;
            nodes("to", to)
        }
        FaultKind::Bridge { left, right, bridge } => {
            nodes("left", left)?;
            nodes("right", right)?;
            node_exists(scenario, &key("bridge"), *bridge)?;
            disjoint(&key("left"), [left.as_slice(), right.as_slice(), std::slice::from_ref(bridge)].into_iter())
        }
        FaultKind::Heal => Ok(()),
        FaultKind::Isolate { node }
        | FaultKind::Crash { node, .. }
        | FaultKind::Restart { node }
        | FaultKind::Pause { node }
        | FaultKind::Resume { node }
        | FaultKind::ClockJump { node, .. } => node_exists(scenario, &key("node"), *node),
    }
}

fn check_nemesis(scenario: &Scenario) -> Checked {
    let Some(nemesis) = &scenario.nemesis else { return Ok(()) };
    let key = |name| [Key("nemesis"), Key(name)];
    if nemesis.kinds.is_empty() {
        return Err(problem(
            &key("kinds"),
            "name at least one fault kind: partition, cut, isolate, bridge, crash, pause, clock-jump",
        ));
    }
    positive(&key("interval_ms"), nemesis.interval_ms)?;
    positive(&key("fault_ms"), nemesis.fault_ms)?;
    probability(&key("lose_unsynced"), nemesis.lose_unsynced)?;
    let end = nemesis.end_ms.unwrap_or(scenario.duration_ms);
    if nemesis.start_ms >= end {
        return Err(problem(&key("start_ms"), format!("start_ms {} is not before end_ms {end}", nemesis.start_ms)));
    }
    if let Some(max_down) = nemesis.max_down {
        at_most(&key("max_down"), max_down as f64, scenario.nodes as f64)?;
    }
    Ok(())
}

fn node_exists(scenario: &Scenario, key: &[KeyPart], node: NodeId) -> Checked {
    if node < scenario.nodes {
        return Ok(());
    }
    Err(problem(
        key,
        format!("node {node} does not exist: the scenario has {} nodes, 0 to {}", scenario.nodes, scenario.nodes - 1),
    ))
}

fn disjoint<'a>(key: &[KeyPart], groups: impl Iterator<Item = &'a [NodeId]>) -> Checked {
    let mut seen = BTreeSet::new();
    for node in groups.flatten() {
        if !seen.insert(*node) {
            return Err(problem(key, format!("node {node} is in two groups; the groups must not overlap")));
        }
    }
    Ok(())
}

fn probability(key: &[KeyPart], value: f64) -> Checked {
    at_least(key, value, 0.0)?;
    at_most(key, value, 1.0)
}

fn positive(key: &[KeyPart], value: f64) -> Checked {
    if value > 0.0 && value.is_finite() {
        return Ok(());
    }
    Err(problem(key, format!("{value} is not allowed; need a number above 0")))
}

fn at_least(key: &[KeyPart], value: f64, low: f64) -> Checked {
    if value >= low && value.is_finite() {
        return Ok(());
    }
    Err(problem(key, format!("{value} is not allowed; need at least {low}")))
}

fn at_most(key: &[KeyPart], value: f64, high: f64) -> Checked {
    if value <= high {
        return Ok(());
    }
    Err(problem(key, format!("{value} is not allowed; need at most {high}")))
}

/// The line of `text` where the value at `key` is written, or the nearest enclosing one.
pub fn locate_line(text: &str, key: &Path) -> Option<usize> {
    let document = toml_edit::ImDocument::parse(text).ok()?;
    let mut item = document.as_item();
    let mut span = None;
    for part in &key.0 {
        let next = match part {
            Key(name) => item.get(*name),
            Index(index) => item.get(*index),
        };
        let Some(next) = next else { break };
        span = next.span().or(span);
        item = next;
    }
    span.map(|span| super::line_of(text, span.start))
}
