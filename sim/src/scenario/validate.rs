//! What serde cannot check in a scenario: references to nodes that do not exist, ranges
//! upside down, probabilities outside [0, 1], a protocol or variant that is not there.
//! Each problem carries the key path, which [`locate_line`] turns into a line of the file.

use std::collections::BTreeSet;

use protocols::node::NodeId;

use super::{Fault, FaultKind, Latency, Scenario};
use crate::catalog::Meta;

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

/// Checks everything serde could not, for a protocol described by `meta`.
pub fn check(scenario: &Scenario, meta: &Meta) -> Checked {
    check_protocol(scenario, meta)?;
    at_least(&[Key("nodes")], scenario.nodes as f64, 1.0)?;
    at_most(&[Key("nodes")], scenario.nodes as f64, 1000.0)?;
    if let Some(max_nodes) = scenario.max_nodes {
        at_least(&[Key("max_nodes")], max_nodes as f64, scenario.nodes as f64)?;
        at_most(&[Key("max_nodes")], max_nodes as f64, 1000.0)?;
        if max_nodes > scenario.nodes && !meta.membership {
            let message = format!("{} does not support servers joining; leave max_nodes out", meta.name);
            return Err(problem(&[Key("max_nodes")], message));
        }
    }
    at_least(&[Key("duration_ms")], scenario.duration_ms as f64, 1.0)?;
    at_least(&[Key("timeout_ms")], scenario.timeout_ms as f64, 1.0)?;
    check_workload(scenario, meta)?;
    check_network(scenario)?;
    check_latency(&[Key("storage"), Key("sync")], &scenario.storage.sync)?;
    for (index, fault) in scenario.faults.iter().enumerate() {
        check_fault(scenario, meta, index, fault)?;
    }
    check_nemesis(scenario, meta)?;
    if scenario.swarm.as_ref().is_some_and(|swarm| swarm.kinds.is_empty()) {
        return Err(problem(&[Key("swarm"), Key("kinds")], "name at least one fault kind swarm mode may draw"));
    }
    check_clocks(scenario)?;
    at_least(&[Key("limits"), Key("max_events")], scenario.limits.max_events as f64, 1.0)
}

fn check_protocol(scenario: &Scenario, meta: &Meta) -> Checked {
    if meta.variant(&scenario.variant).is_none() {
        let known: Vec<_> = meta.variants.iter().map(|variant| variant.name).collect();
        return Err(problem(
            &[Key("variant")],
            format!("{} has no variant {:?}; allowed: {}", meta.name, scenario.variant, known.join(", ")),
        ));
    }
    (meta.check_settings)(&scenario.settings)
        .map_err(|message| problem(&[Key("settings")], format!("{message} (the settings of {})", meta.name)))
}

fn check_workload(scenario: &Scenario, meta: &Meta) -> Checked {
    let workload = &scenario.workload;
    at_least(&[Key("workload"), Key("clients")], workload.clients as f64, 1.0)?;
    at_most(&[Key("workload"), Key("clients")], workload.clients as f64, 1_000.0)?;
    positive(&[Key("workload"), Key("rate")], workload.rate)?;
    at_least(&[Key("workload"), Key("keys")], workload.keys as f64, 1.0)?;
    for (kind, weight) in &workload.mix {
        if !meta.operations.contains(&kind.as_str()) {
            return Err(problem(
                &[Key("workload"), Key("mix")],
                format!("{} clients do not perform {kind:?}; allowed: {}", meta.name, meta.operations.join(", ")),
            ));
        }
        at_least(&[Key("workload"), Key("mix")], *weight, 0.0)?;
    }
    if !workload.mix.is_empty() && workload.mix.values().sum::<f64>() <= 0.0 {
        return Err(problem(
            &[Key("workload"), Key("mix")],
            "the weights add up to 0; give at least one a positive weight",
        ));
    }
    (meta.check_params)(&workload.params, workload.keys).map_err(|message| {
        problem(
            &[Key("workload")],
            format!("{message} (the workload keys of {}'s {} service)", meta.name, meta.service),
        )
    })
}

fn check_network(scenario: &Scenario) -> Checked {
    let network = &scenario.network;
    probability(&[Key("network"), Key("loss")], network.loss)?;
    probability(&[Key("network"), Key("duplicate")], network.duplicate)?;
    check_latency(&[Key("network"), Key("latency")], &network.latency)
}

fn check_clocks(scenario: &Scenario) -> Checked {
    let bound = scenario.drift_bound_ppm.unwrap_or(f64::INFINITY);
    if let Some(bound) = scenario.drift_bound_ppm {
        at_least(&[Key("drift_bound_ppm")], bound, 0.0)?;
        at_most(&[Key("drift_bound_ppm")], bound, 100_000.0)?;
    }
    let mut seen = BTreeSet::new();
    for (index, clock) in scenario.clocks.iter().enumerate() {
        let key = |name| [Key("clocks"), Index(index), Key(name)];
        process_exists(scenario, &key("node"), clock.node)?;
        if !seen.insert(clock.node) {
            return Err(problem(&key("node"), format!("node {} has two [[clocks]]; give each node one", clock.node)));
        }
        at_least(&key("drift_ppm"), clock.drift_ppm, -100_000.0)?;
        at_most(&key("drift_ppm"), clock.drift_ppm, 100_000.0)?;
        if clock.drift_ppm.abs() > bound {
            let message = format!("drift {} ppm is beyond drift_bound_ppm = {bound}; raise the bound", clock.drift_ppm);
            return Err(problem(&key("drift_ppm"), message));
        }
    }
    Ok(())
}

fn check_latency(latency: &[KeyPart], value: &Latency) -> Checked {
    let key = |name| {
        let mut path = latency.to_vec();
        path.push(Key(name));
        path
    };
    match *value {
        Latency::Constant { ms } => at_least(&key("ms"), ms, 0.0),
        Latency::Uniform { min_ms, max_ms } => {
            at_least(&key("min_ms"), min_ms, 0.0)?;
            at_most(&key("max_ms"), max_ms, 3_600_000.0)?;
            if min_ms > max_ms {
                return Err(problem(
                    latency,
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

fn check_fault(scenario: &Scenario, meta: &Meta, index: usize, fault: &Fault) -> Checked {
    let key = |name| [Key("faults"), Index(index), Key(name)];
    at_least(&key("at_ms"), fault.at_ms, 0.0)?;
    at_most(&key("at_ms"), fault.at_ms, scenario.duration_ms as f64)?;
    if let Some(duration) = fault.duration_ms {
        positive(&key("duration_ms"), duration)?;
    }
    // Link faults, pauses and clock jumps may name clients too; the rest only servers.
    let nodes = |name, nodes: &[NodeId]| nodes.iter().try_for_each(|&node| process_exists(scenario, &key(name), node));
    let servers = |name, nodes: &[NodeId]| nodes.iter().try_for_each(|&node| node_exists(scenario, &key(name), node));
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
            servers("left", left)?;
            servers("right", right)?;
            node_exists(scenario, &key("bridge"), *bridge)?;
            disjoint(&key("left"), [left.as_slice(), right.as_slice(), std::slice::from_ref(bridge)].into_iter())
        }
        FaultKind::Heal => Ok(()),
        FaultKind::Isolate { node }
        | FaultKind::Pause { node }
        | FaultKind::Resume { node }
        | FaultKind::ClockJump { node, .. } => process_exists(scenario, &key("node"), *node),
        FaultKind::Crash { node, .. } | FaultKind::Restart { node } => node_exists(scenario, &key("node"), *node),
        FaultKind::Join { node } | FaultKind::Leave { node } if !meta.membership => Err(problem(
            &key("kind"),
            format!("{} does not support servers joining or leaving (node {node})", meta.name),
        )),
        FaultKind::Join { node } if *node < scenario.nodes || *node >= scenario.server_slots() => Err(problem(
            &key("node"),
            format!(
                "node {node} cannot join: the spares are servers {} to {} (set max_nodes for more)",
                scenario.nodes,
                scenario.server_slots() as i64 - 1
            ),
        )),
        FaultKind::Join { .. } => Ok(()),
        FaultKind::Leave { node } => node_exists(scenario, &key("node"), *node),
    }
}

fn check_nemesis(scenario: &Scenario, meta: &Meta) -> Checked {
    let Some(nemesis) = &scenario.nemesis else { return Ok(()) };
    let key = |name| [Key("nemesis"), Key(name)];
    if nemesis.kinds.is_empty() {
        return Err(problem(
            &key("kinds"),
            "name at least one fault kind: partition, cut, isolate, bridge, crash, pause, clock-jump (join, leave)",
        ));
    }
    if let Some(kind) = nemesis.kinds.iter().find(|kind| kind.is_membership() && !meta.membership) {
        let message = format!("{} does not support servers joining or leaving; remove {:?}", meta.name, kind.name());
        return Err(problem(&key("kinds"), message));
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

/// Whether `node` is a server (a member or a spare).
fn node_exists(scenario: &Scenario, key: &[KeyPart], node: NodeId) -> Checked {
    let slots = scenario.server_slots();
    if node < slots {
        return Ok(());
    }
    Err(problem(key, format!("server {node} does not exist: the scenario has servers 0 to {}", slots - 1)))
}

/// Whether `node` is a server or a client.
fn process_exists(scenario: &Scenario, key: &[KeyPart], node: NodeId) -> Checked {
    let (slots, processes) = (scenario.server_slots(), scenario.processes());
    if node < processes {
        return Ok(());
    }
    Err(problem(
        key,
        format!(
            "node {node} does not exist: the scenario has servers 0 to {} and clients {slots} to {}",
            slots - 1,
            processes - 1
        ),
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
