//! The two engines cross-check each other: every bundled scenario (but the comparisons under
//! `scenarios/compare/`) runs on the native and on the madsim engine with the same seeds, and
//! both must reach the verdict it expects: an `ok` scenario is `ok` on every seed, and a
//! flawed variant's violation (or a blocking protocol's `stuck`) shows on some seed of each
//! engine, not necessarily the same one, since madsim's timing differs (see `substrate::madsim`).
//! Also: madsim runs are deterministic, and messages take the scenario's latency through
//! madsim's network. What the world does to processes and links (pauses, crashes, clocks,
//! syncs, membership, FIFO connections) is tested on both engines from one source in
//! `world.rs`.
//!
//! `cargo test --test engines -- --nocapture` prints each scenario's figures on both engines.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use protocols::node::MILLISECOND;
use sim::record::Fate;
use sim::run::{self, RunResult};
use sim::scenario::{self, EngineKind, Scenario, Verdict};
use sim::{cli, RunOptions};

/// A build without the madsim cfg has no madsim engine to cross-check: fail, and say why.
fn require_madsim() {
    if cfg!(madsim) {
        return;
    }
    panic!(
        "this build has no madsim engine, so the engines cannot be cross-checked: a RUSTFLAGS variable \
         replaced the `--cfg madsim` that .cargo/config.toml sets; unset it"
    );
}

/// Seeds on which an `ok` scenario must stay `ok` on both engines.
const OK_SEEDS: [u64; 3] = [1, 2, 3];
/// Seeds searched, in order, for a scenario's expected violation or `stuck`.
const SEARCH_SEEDS: std::ops::RangeInclusive<u64> = 1..=40;

#[test]
fn both_engines_reach_every_scenarios_expected_verdict() {
    require_madsim();
    let mut failures = Vec::new();
    let mut table = String::from("scenario                                   engine  seeds  p50 ms  msgs/op  ok ops\n");
    for path in scenario_paths() {
        let scenario = scenario::load(&path).unwrap_or_else(|error| panic!("{error}"));
        for engine in [EngineKind::Native, EngineKind::Madsim] {
            match cross_check(&on(&scenario, engine)) {
                Ok(figures) => table += &figures.row(&scenario.name, engine),
                Err(failure) => failures.push(format!("{} on {engine:?}: {failure}", path.display())),
            }
        }
    }
    println!("{table}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn madsim_runs_are_deterministic() {
    require_madsim();
    for name in ["paxos/nemesis", "paxos/lossy-network", "multipaxos/leader-crash"] {
        let scenario = on(&load(name), EngineKind::Madsim);
        let options = RunOptions { seed: 3, detailed: true };
        let (first, second) = (run::run(&scenario, options), run::run(&scenario, options));
        assert_eq!(first.summary, second.summary, "{name}");
        let (a, b) = (first.record.expect("no panic"), second.record.expect("no panic"));
        assert_eq!(a.history, b.history, "{name}");
        assert_eq!(a.recorder.messages, b.recorder.messages, "{name}");
        assert_eq!(a.recorder.faults, b.recorder.faults, "{name}");
    }
}

#[test]
fn messages_take_the_scenarios_latency_and_at_least_madsims_two_steps() {
    require_madsim();
    // madsim sleeps at least 1 ms on each send and each receive: the host takes that off the
    // scenario's latency, which leaves a 2 ms floor.
    for (latency_ms, madsim_ms) in [(3, 3), (1, 2)] {
        let text = format!(
            "protocol = \"paxos\"\nnodes = 3\nduration_ms = 300\nexpect = \"ok\"\n[workload]\nclients = 2\n\
             [network]\nlatency = {{ distribution = \"constant\", ms = {latency_ms} }}\n"
        );
        let scenario = scenario::parse(Path::new("latency.toml"), &text).expect("a valid scenario");
        for (engine, ms) in [(EngineKind::Native, latency_ms), (EngineKind::Madsim, madsim_ms)] {
            let took = transit_times(&on(&scenario, engine));
            let (least, most) = (ms * MILLISECOND, ms * MILLISECOND + MILLISECOND / 100);
            assert!(took.len() > 20, "{engine:?}: only {} messages delivered", took.len());
            assert!(took.iter().all(|took| (least..most).contains(took)), "{engine:?} {latency_ms} ms: {took:?}");
        }
    }
}

/// Mean figures over the seeds a check ran.
#[derive(Default)]
struct Figures {
    seeds: u32,
    latency_p50_ms: f64,
    messages_per_op: f64,
    ok_operations: f64,
}

impl Figures {
    fn add(&mut self, result: &RunResult) {
        let figures = &result.summary.figures;
        self.seeds += 1;
        self.latency_p50_ms += figures.latency_ms.map_or(0.0, |latency| latency.p50);
        self.messages_per_op += figures.messages_per_op.unwrap_or(0.0);
        self.ok_operations += figures.operations.ok as f64;
    }

    fn row(&self, scenario: &str, engine: EngineKind) -> String {
        let n = self.seeds.max(1) as f64;
        let mut row = String::new();
        let engine = format!("{engine:?}").to_lowercase();
        let (p50, per_op, ok) = (self.latency_p50_ms / n, self.messages_per_op / n, self.ok_operations / n);
        let _ = writeln!(row, "{scenario:<42} {engine:<7} {:>5} {p50:>7.2} {per_op:>8.2} {ok:>7.1}", self.seeds);
        row
    }
}

/// Runs the seeds the scenario's expectation calls for; the mean figures, or what went wrong.
fn cross_check(scenario: &Scenario) -> Result<Figures, String> {
    let mut figures = Figures::default();
    if scenario.expect == Verdict::Ok {
        for seed in OK_SEEDS {
            let result = run::run(scenario, RunOptions { seed, detailed: false });
            if result.verdict != Verdict::Ok {
                return Err(format!("seed {seed}: {} {:?}", result.verdict, result.summary.violations));
            }
            figures.add(&result);
        }
        return Ok(figures);
    }
    for seed in SEARCH_SEEDS {
        let result = run::run(scenario, RunOptions { seed, detailed: false });
        if result.verdict == Verdict::Error {
            return Err(format!("seed {seed}: error {:?}", result.summary.violations));
        }
        figures.add(&result);
        if result.verdict == scenario.expect {
            return Ok(figures);
        }
    }
    Err(format!("no seed in {SEARCH_SEEDS:?} reached {}", scenario.expect))
}

/// How long each delivered message of a run took, in nanoseconds.
fn transit_times(scenario: &Scenario) -> Vec<u64> {
    let result = run::run(scenario, RunOptions { seed: 1, detailed: true });
    let record = result.record.expect("no panic");
    (record.recorder.messages.iter())
        .filter_map(|message| match message.fate {
            Fate::Delivered(at) => Some(at - message.sent),
            _ => None,
        })
        .collect()
}

fn on(scenario: &Scenario, engine: EngineKind) -> Scenario {
    Scenario { engine, ..scenario.clone() }
}

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

/// Every bundled scenario but the comparisons (the same weather for several protocols).
fn scenario_paths() -> Vec<PathBuf> {
    let paths: Vec<PathBuf> = cli::scenario_files(&scenarios_dir())
        .into_iter()
        .filter(|path| !path.components().any(|part| part.as_os_str() == "compare"))
        .collect();
    assert!(paths.len() >= 9, "the bundled scenarios are missing: {paths:?}");
    paths
}

fn load(name: &str) -> Scenario {
    let path = scenarios_dir().join(format!("{name}.toml"));
    scenario::load(&path).unwrap_or_else(|error| panic!("{error}"))
}
