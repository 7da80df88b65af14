//! What serde cannot check in a scenario: references to nodes that do not exist, ranges
//! upside down, probabilities outside [0, 1], a protocol or variant that is not there, a
//! timeline that restarts a node never crashed, and every size against its limit (the
//! virtual time against `[limits] max_duration_ms`, the work offered against `max_events`),
//! so that a scenario that would run for hours or fill the disk is refused when it is
//! loaded, with the limit to raise. Each problem carries the key path, which
//! [`locate_line`] turns into a line of the file.

use std::collections::BTreeSet;

use protocols::node::NodeId;

use super::{Fault, FaultKind, Latency, NemesisKind, Scenario};
use crate::catalog::Meta;

/// The default of `[limits] max_duration_ms`: an hour of virtual time.
pub const DEFAULT_MAX_DURATION_MS: u64 = 3_600_000;
/// What `max_duration_ms` may be raised to at most: a day of virtual time.
pub const MAX_DURATION_CEILING_MS: u64 = 86_400_000;
/// What `max_events` may be raised to at most.
pub const MAX_EVENTS_CEILING: u64 = 1_000_000_000;

/// One step of a key path: a table key or an array index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyPart {
    Key(&'static str),
    /// A key read from a file (see [`key_path_at`]).
    Named(String),
    Index(usize),
}

impl std::fmt::Display for KeyPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyPart::Key(key) => f.write_str(key),
            KeyPart::Named(key) => f.write_str(key),
            KeyPart::Index(index) => write!(f, "{index}"),
        }
    }
}

impl KeyPart {
    fn name(&self) -> Option<&str> {
        match self {
            KeyPart::Key(key) => Some(key),
            KeyPart::Named(key) => Some(key),
            KeyPart::Index(_) => None,
        }
    }
}

/// A validation problem at a key path.
#[derive(Clone, Debug)]
pub struct Problem {
    pub key: KeyPath,
    pub message: String,
}

/// A key path, printed as `faults.2.node`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyPath(pub Vec<KeyPart>);

impl KeyPath {
    /// The first key of the path, if it starts with one.
    pub fn first_key(&self) -> Option<&str> {
        self.0.first().and_then(KeyPart::name)
    }

    /// This path under `prefix`.
    pub fn under(&self, prefix: Vec<KeyPart>) -> KeyPath {
        KeyPath(prefix.into_iter().chain(self.0.iter().cloned()).collect())
    }

    pub fn join(&self, separator: &str) -> String {
        self.0.iter().map(ToString::to_string).collect::<Vec<_>>().join(separator)
    }
}

type Checked = Result<(), Problem>;

fn problem(key: &[KeyPart], message: impl Into<String>) -> Problem {
    Problem { key: KeyPath(key.to_vec()), message: message.into() }
}

use KeyPart::{Index, Key};

/// Checks everything serde could not, for a protocol described by `meta`.
pub fn check(scenario: &Scenario, meta: &Meta) -> Checked {
    check_protocol(scenario, meta)?;
    at_least(&[Key("nodes")], scenario.nodes as f64, 1.0)?;
    at_most(&[Key("nodes")], scenario.nodes as f64, 1000.0)?;
    if scenario.nodes < meta.servers_min {
        let message = format!("{} needs at least {} nodes", meta.name, meta.servers_min);
        return Err(problem(&[Key("nodes")], message));
    }
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
    if meta.fifo_links && !scenario.network.fifo {
        let message = format!("{} assumes FIFO links, as TCP gives; set fifo = true", meta.name);
        return Err(problem(&[Key("network"), Key("fifo")], message));
    }
    check_latency(&[Key("storage"), Key("sync")], &scenario.storage.sync)?;
    for (index, fault) in scenario.faults.iter().enumerate() {
        check_fault(scenario, meta, index, fault)?;
    }
    check_timeline(scenario)?;
    check_nemesis(scenario, meta)?;
    if scenario.swarm.as_ref().is_some_and(|swarm| swarm.kinds.as_ref().is_some_and(Vec::is_empty)) {
        let allowed = "name at least one fault kind swarm mode may draw, or leave `kinds` out for every kind";
        return Err(problem(&[Key("swarm"), Key("kinds")], allowed));
    }
    check_clocks(scenario)?;
    check_limits(scenario)
}

/// Every virtual time against `[limits] max_duration_ms`, and the work offered against
/// `max_events`; the message names the limit to raise.
fn check_limits(scenario: &Scenario) -> Checked {
    let limits = &scenario.limits;
    at_least(&[Key("limits"), Key("max_events")], limits.max_events as f64, 1.0)?;
    at_most(&[Key("limits"), Key("max_events")], limits.max_events as f64, MAX_EVENTS_CEILING as f64)?;
    at_most(&[Key("limits"), Key("max_duration_ms")], limits.max_duration_ms as f64, MAX_DURATION_CEILING_MS as f64)?;
    at_least(&[Key("limits"), Key("runaway_factor")], limits.runaway_factor, 0.0)?;
    let max = limits.max_duration_ms;
    let within = |key: &[KeyPart], ms: f64, what: &str| -> Checked {
        if ms <= max as f64 {
            return Ok(());
        }
        Err(problem(
            key,
            format!(
                "{ms} ms of {what} is more than [limits] max_duration_ms = {max} ({}); raise max_duration_ms \
                 (at most {MAX_DURATION_CEILING_MS}) to allow it",
                hours(max)
            ),
        ))
    };
    within(&[Key("duration_ms")], scenario.duration_ms as f64, "workload")?;
    if let Some(liveness) = scenario.checks.liveness_ms {
        within(&[Key("checks"), Key("liveness_ms")], liveness as f64, "liveness window")?;
    }
    within(&[Key("limits"), Key("drain_ms")], limits.drain_ms as f64, "drain")?;
    for (index, fault) in scenario.faults.iter().enumerate() {
        if let Some(duration) = fault.duration_ms {
            within(&[Key("faults"), Index(index), Key("duration_ms")], duration, "fault")?;
        }
    }
    let workload = &scenario.workload;
    let offered = workload.rate * scenario.duration_ms as f64 / 1000.0;
    let offered = workload.operations.map_or(offered, |cap| offered.min(cap as f64));
    if offered > limits.max_events as f64 {
        return Err(problem(
            &[Key("workload"), Key("rate")],
            format!(
                "the workload offers about {offered:.0} operations (rate {} per second for {} ms), more than \
                 [limits] max_events = {} events could handle; lower the rate or duration_ms, cap operations, \
                 or raise max_events",
                workload.rate, scenario.duration_ms, limits.max_events
            ),
        ));
    }
    Ok(())
}

/// `ms` in hours, for messages.
fn hours(ms: u64) -> String {
    format!("{} h of virtual time", ms as f64 / 3_600_000.0)
}

/// The explicit timeline, played in time order as the engine plays it (at one instant,
/// faults before the undoing of earlier ones): a crash of a crashed node, a restart of a
/// node that is not crashed, a pause of a node that is down and a resume of one not paused
/// do nothing, so they are refused. Skipped for a kind the nemesis also injects, whose
/// faults the timeline may be meant to undo.
fn check_timeline(scenario: &Scenario) -> Checked {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Up,
        Crashed(usize),
        Paused(usize),
    }
    let nemesis_has = |kind| scenario.nemesis.as_ref().is_some_and(|nemesis| nemesis.kinds.contains(&kind));
    let (crashes_known, pauses_known) = (!nemesis_has(NemesisKind::Crash), !nemesis_has(NemesisKind::Pause));
    // (time, false for a fault and true for its undoing, index of the fault)
    let mut steps: Vec<(f64, bool, usize)> = Vec::new();
    for (index, fault) in scenario.faults.iter().enumerate() {
        steps.push((fault.at_ms, false, index));
        if let Some(duration) = fault.duration_ms {
            steps.push((fault.at_ms + duration, true, index));
        }
    }
    steps.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut states = vec![State::Up; scenario.processes() as usize];
    for (at, undo, index) in steps {
        let (node, crash) = match scenario.faults[index].kind {
            FaultKind::Crash { node, .. } | FaultKind::Restart { node } => (node, true),
            FaultKind::Pause { node } | FaultKind::Resume { node } => (node, false),
            _ => continue,
        };
        let Some(state) = states.get_mut(node as usize) else { continue };
        let checked = if crash { crashes_known } else { pauses_known };
        let (next, refused) = match (&scenario.faults[index].kind, undo, *state) {
            (_, true, State::Crashed(by) | State::Paused(by)) if by == index => (State::Up, None),
            (_, true, _) => (*state, None),
            (FaultKind::Crash { .. }, _, State::Crashed(by)) => {
                (*state, Some(format!("node {node} is already crashed at {at} ms (by faults.{by}); crash it once")))
            }
            (FaultKind::Crash { .. }, _, _) => (State::Crashed(index), None),
            (FaultKind::Restart { .. }, _, State::Crashed(_)) => (State::Up, None),
            (FaultKind::Restart { .. }, _, _) => (
                *state,
                Some(format!(
                    "node {node} is not crashed at {at} ms, so it cannot restart; restart only a crashed node"
                )),
            ),
            (FaultKind::Pause { .. }, _, State::Up) => (State::Paused(index), None),
            (FaultKind::Pause { .. }, _, _) => {
                (*state, Some(format!("node {node} is already crashed or paused at {at} ms, so it cannot pause")))
            }
            (_, _, State::Paused(_)) => (State::Up, None),
            (_, _, _) => (
                *state,
                Some(format!("node {node} is not paused at {at} ms, so it cannot resume; resume only a paused node")),
            ),
        };
        if let Some(message) = refused.filter(|_| checked) {
            return Err(problem(&[Key("faults"), Index(index)], message));
        }
        *state = next;
    }
    Ok(())
}

fn check_protocol(scenario: &Scenario, meta: &Meta) -> Checked {
    if meta.variant(&scenario.variant).is_none() {
        let known: Vec<_> = meta.variants.iter().map(|variant| variant.name).collect();
        return Err(problem(
            &[Key("variant")],
            format!("{} has no variant {:?}; allowed: {}", meta.name, scenario.variant, known.join(", ")),
        ));
    }
    let spares = scenario.server_slots() - scenario.nodes;
    (meta.check_settings)(&scenario.settings, scenario.nodes, spares, scenario.workload.keys)
        .map_err(|message| problem(&[Key("settings")], format!("{message} (the settings of {})", meta.name)))
}

fn check_workload(scenario: &Scenario, meta: &Meta) -> Checked {
    let workload = &scenario.workload;
    at_least(&[Key("workload"), Key("clients")], workload.clients as f64, 1.0)?;
    at_most(&[Key("workload"), Key("clients")], workload.clients as f64, 1_000.0)?;
    positive(&[Key("workload"), Key("rate")], workload.rate)?;
    at_least(&[Key("workload"), Key("keys")], workload.keys as f64, 1.0)?;
    if workload.operations == Some(0) {
        let key = [Key("workload"), Key("operations")];
        return Err(problem(&key, "0 operations would run nothing; need at least 1 (leave it out for no cap)"));
    }
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
    if network.fifo && network.duplicate > 0.0 {
        return Err(problem(
            &[Key("network"), Key("duplicate")],
            "FIFO links (fifo = true) are connections, which deliver each message once; set duplicate = 0 or fifo = false",
        ));
    }
    probability(&[Key("network"), Key("replay")], network.replay)?;
    if network.fifo && network.replay > 0.0 {
        return Err(problem(
            &[Key("network"), Key("replay")],
            "FIFO links (fifo = true) are connections, which a restart breaks: nothing sent before it can be replayed; set replay = 0 or fifo = false",
        ));
    }
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
            let first = scenario.clocks.iter().position(|other| other.node == clock.node).unwrap_or(index);
            let message = format!(
                "node {} already has a clock (clocks.{first}); give each node one [[clocks]] entry",
                clock.node
            );
            return Err(problem(&key("node"), message));
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
    if end > scenario.duration_ms {
        return Err(problem(
            &key("end_ms"),
            format!(
                "end_ms {end} is beyond the run: the workload stops at duration_ms {}; need end_ms <= duration_ms",
                scenario.duration_ms
            ),
        ));
    }
    if nemesis.start_ms >= end {
        return Err(problem(&key("start_ms"), format!("start_ms {} is not before end_ms {end}", nemesis.start_ms)));
    }
    if let Some(max_down) = nemesis.max_down {
        at_most(&key("max_down"), max_down as f64, scenario.nodes as f64)?;
    }
    probability(&key("crash_at_sync"), nemesis.crash_at_sync)?;
    probability(&key("aim"), nemesis.aim)?;
    probability(&key("crash_after"), nemesis.crash_after)?;
    probability(&key("crash_pair"), nemesis.crash_pair)?;
    let aimed = nemesis.aim_milestone.iter().map(|milestone| ("aim_milestone", milestone));
    let followed = nemesis.crash_after_milestones.iter().map(|milestone| ("crash_after_milestones", milestone));
    for (field, milestone) in aimed.chain(followed) {
        if !meta.milestones.iter().any(|known| known.name == milestone) {
            let known: Vec<&str> = meta.milestones.iter().map(|known| known.name).collect();
            let message = format!("{} has no milestone {milestone:?}; allowed: {}", meta.name, known.join(", "));
            return Err(problem(&key(field), message));
        }
    }
    if let Some(pause_ms) = nemesis.pause_ms {
        positive(&key("pause_ms"), pause_ms)?;
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
pub fn locate_line(text: &str, key: &KeyPath) -> Option<usize> {
    let document = toml_edit::ImDocument::parse(text).ok()?;
    let mut item = document.as_item();
    let mut span = None;
    for part in &key.0 {
        let next = match part {
            Key(name) => item.get(*name),
            KeyPart::Named(name) => item.get(name.as_str()),
            Index(index) => item.get(*index),
        };
        let Some(next) = next else { break };
        span = next.span().or(span);
        item = next;
    }
    span.map(|span| super::line_of(text, span.start))
}

/// The key path of the innermost value of `text` written at byte `offset` (empty if none).
pub fn key_path_at(text: &str, offset: usize) -> KeyPath {
    let Ok(document) = toml_edit::ImDocument::parse(text) else { return KeyPath::default() };
    let mut path = Vec::new();
    let mut item = document.as_item();
    'descend: loop {
        let children: Vec<(KeyPart, &toml_edit::Item)> = match item {
            toml_edit::Item::Table(table) => {
                table.iter().filter_map(|(key, _)| Some((KeyPart::Named(key.to_string()), table.get(key)?))).collect()
            }
            toml_edit::Item::ArrayOfTables(array) => {
                array.iter().enumerate().map(|(index, _)| (Index(index), item.get(index).expect("in range"))).collect()
            }
            toml_edit::Item::Value(toml_edit::Value::InlineTable(_))
            | toml_edit::Item::Value(toml_edit::Value::Array(_)) => {
                let keys: Vec<KeyPart> = match item.as_value() {
                    Some(toml_edit::Value::InlineTable(table)) => {
                        table.iter().map(|(key, _)| KeyPart::Named(key.to_string())).collect()
                    }
                    Some(toml_edit::Value::Array(array)) => (0..array.len()).map(Index).collect(),
                    _ => Vec::new(),
                };
                keys.into_iter()
                    .filter_map(|part| {
                        let child = match &part {
                            KeyPart::Named(key) => item.get(key.as_str()),
                            Index(index) => item.get(*index),
                            Key(key) => item.get(*key),
                        }?;
                        Some((part, child))
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        for (part, child) in children {
            if child.span().is_some_and(|span| span.contains(&offset)) {
                path.push(part);
                item = child;
                continue 'descend;
            }
        }
        return KeyPath(path);
    }
}

/// The key path of an unknown key `name` reported at byte `offset`: the innermost table
/// around the offset that holds `name`, then `name`.
pub fn unknown_key_path(text: &str, offset: usize, name: &str) -> KeyPath {
    let mut path = key_path_at(text, offset).0;
    let Ok(document) = toml_edit::ImDocument::parse(text) else { return KeyPath::default() };
    loop {
        let mut item = Some(document.as_item());
        for part in &path {
            item = item.and_then(|item| match part {
                KeyPart::Key(key) => item.get(*key),
                KeyPart::Named(key) => item.get(key.as_str()),
                Index(index) => item.get(*index),
            });
        }
        if item.is_some_and(|item| item.get(name).is_some()) || path.is_empty() {
            path.push(KeyPart::Named(name.to_string()));
            return KeyPath(path);
        }
        path.pop();
    }
}
