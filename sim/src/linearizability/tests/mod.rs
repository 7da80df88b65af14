//! Tests of the checker as a whole: the shared external histories against their recorded
//! verdicts, generated histories against the verdicts they have by construction, the limits, and the shrinking of violations. The parsers and
//! semantics are in `parsing.rs`, the models on hand-written histories in `models.rs`, and
//! the search against a brute-force checker in `brute.rs`.

mod brute;
mod models;
mod parsing;

use std::path::{Path, PathBuf};

use protocols::kv::{KvModel, KvOperation as Operation, KvReply};
use protocols::service::Outcome;

use super::generate::{generate, Spec, Workload};
use super::minimise::minimise;
use super::search::{Found, Search};
use super::*;

const HISTORIES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/histories");

/// A memory bound for the tests' searches.
const MEMORY: usize = 256 << 20;

fn shared_histories() -> Vec<(PathBuf, Format, bool)> {
    let verdicts =
        std::fs::read_to_string(Path::new(HISTORIES).join("verdicts.csv")).expect("verdicts.csv is readable");
    let rows = verdicts.lines().skip(1).filter(|row| !row.trim().is_empty());
    rows.map(|row| {
        let (file, linearizable) = row.split_once(',').expect("rows are FILE,BOOL");
        let format = match file {
            _ if file.ends_with(".log") => Format::JepsenLog,
            _ if file.ends_with(".edn") => Format::JepsenEdn,
            _ => Format::PorcupineKv,
        };
        (Path::new(HISTORIES).join(file), format, linearizable.trim() == "true")
    })
    .collect()
}

/// The format's defaults, on one thread, with the default budget and a test-sized memory.
fn options(format: Format) -> FileCheck {
    FileCheck { limits: Limits { threads: 1, memory: MEMORY, steps: DEFAULT_BUDGET }, ..FileCheck::new(format) }
}

fn report(text: &str, format: Format) -> Report {
    check_text(text, &options(format)).expect("the history parses").report
}

fn verdict(text: &str, format: Format) -> Verdict {
    report(text, format).verdict
}

fn error(text: &str, format: Format) -> InputError {
    check_text(text, &options(format)).expect_err("the history is rejected")
}

/// A jepsen-log text from records like `0 :invoke :read nil`, one per line from line 1.
fn log(records: &[&str]) -> String {
    records.iter().map(|record| format!("INFO  jepsen.util - {record}\n")).collect()
}

/// A porcupine-kv text from (process, type, f, key, value) records.
fn kv(records: &[(u64, &str, &str, &str, &str)]) -> String {
    let map = |&(process, kind, f, key, value): &(u64, &str, &str, &str, &str)| {
        format!("{{:process {process}, :type :{kind}, :f :{f}, :key \"{key}\", :value {value}}}\n")
    };
    records.iter().map(map).collect()
}

/// Searches one key's history to the end.
fn decide<M: Model>(model: &M, ops: &[ModelOp<M>]) -> Found {
    Search::new(model, ops, MEMORY).run(DEFAULT_BUDGET, MEMORY).unwrap_or(Found::OutOfSteps)
}

/// An operation of a simulated key-value history.
type KvOp = Op<Operation, Outcome<KvReply>>;

fn sim(process: u64, call: u64, ret: Option<u64>, input: Operation, output: Outcome<KvReply>) -> KvOp {
    Op { process, call, ret, input, output }
}

fn done() -> Outcome<KvReply> {
    Outcome::Ok(KvReply::Done)
}

fn values(values: &[u64]) -> Outcome<KvReply> {
    Outcome::Ok(KvReply::Values(values.to_vec()))
}

/// A simulated key-value history checked on the kv service's model (the run's checker,
/// `checkers::linearizable`, does this with the history's calls).
fn check_history(ops: &[KvOp], limits: Limits) -> Report {
    check(&KvModel, KvModel.prune(ops.to_vec()), limits, TimeUnit::Nanosecond)
}

fn sim_limits(steps: u64) -> Limits {
    Limits { threads: 1, memory: MEMORY, steps }
}

// The shared external histories (Porcupine's test data).

#[test]
fn every_shared_history_gets_its_recorded_verdict() {
    let histories = shared_histories();
    assert!(histories.len() >= 24, "verdicts.csv lists the 24 histories of the README");
    for (path, format, linearizable) in histories {
        let report = check_file(&path, &options(format)).expect("shared histories parse").report;
        let expected = if linearizable { Verdict::Linearizable } else { Verdict::NotLinearizable };
        assert_eq!(report.verdict, expected, "{}:\n{report}", path.display());
        assert!(report.peak_memory_bytes <= report.memory_limit_bytes);
    }
}

#[test]
fn shared_violations_are_shrunk_to_sound_one_minimal_witnesses() {
    for (path, format, linearizable) in shared_histories() {
        let text = std::fs::read_to_string(&path).expect("shared histories are readable");
        let calls = pairing::pair(formats::read_events(&text, format).expect("parses")).expect("pairs");
        let semantics = Semantics::default_for(format);
        let failing = match format {
            Format::JepsenLog => {
                let ops = convert::ops_of(&calls, |call| convert::register_op(call, semantics)).expect("converts");
                failing_key_witness(&CasRegister, ops)
            }
            _ => failing_key_witness(&StringKv, convert::ops_of(&calls, convert::string_kv_op).expect("converts")),
        };
        assert_eq!(failing, !linearizable, "{}", path.display());
    }
}

/// Shrinks the first failing key of `ops` and checks the witness: the prefix at the cut
/// with every other completed operation optional still fails, relaxing any one witness
/// operation makes it pass, and the prefix just before the cut is linearizable. Returns
/// whether some key failed.
fn failing_key_witness<M: Model>(model: &M, ops: Vec<ModelOp<M>>) -> bool {
    let mut keys: Vec<M::Key> = ops.iter().map(|op| model.key(&op.input)).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let key_ops: Vec<_> = ops.iter().filter(|op| model.key(&op.input) == key).cloned().collect();
        if decide(model, &key_ops) != Found::Violation {
            continue;
        }
        let (witness, _) = minimise(model, &key_ops, None, (DEFAULT_BUDGET, DEFAULT_BUDGET / 10), MEMORY);
        assert!(witness.minimal && !witness.ops.is_empty());
        let prefix: Vec<ModelOp<M>> = key_ops
            .iter()
            .filter(|op| op.call <= witness.cut)
            .map(|op| Op { ret: op.ret.filter(|&ret| ret <= witness.cut), ..op.clone() })
            .collect();
        let relaxed = |kept_out: Option<usize>| -> Found {
            let skippable = prefix
                .iter()
                .map(|op| {
                    let position = witness.ops.iter().position(|w| w.call == op.call && w.process == op.process);
                    position.is_none() || position == kept_out
                })
                .collect();
            Search::new(model, &prefix, MEMORY).with_skippable(skippable).run(DEFAULT_BUDGET, MEMORY).expect("decided")
        };
        assert_eq!(relaxed(None), Found::Violation);
        for index in 0..witness.ops.len() {
            assert_eq!(relaxed(Some(index)), Found::Linearizable, "witness operation {index} is needed");
        }
        let before = witness.linearizable_until.expect("the prefix before the cut is linearizable");
        let earlier: Vec<ModelOp<M>> = key_ops
            .iter()
            .filter(|op| op.call <= before)
            .map(|op| Op { ret: op.ret.filter(|&ret| ret <= before), ..op.clone() })
            .collect();
        assert_eq!(decide(model, &earlier), Found::Linearizable);
        assert!(!witness.linearization.is_empty());
        return true;
    }
    false
}

#[test]
fn a_shared_violation_reads_as_key_operations_and_lines() {
    let path = Path::new(HISTORIES).join("kv/c01-bad.txt");
    let report = check_file(&path, &options(Format::PorcupineKv)).expect("parses").report;
    let text = report.to_string();
    assert!(text.starts_with("NOT linearizable: "), "{text}");
    let violation = &report.violations[0];
    assert!(violation.key.as_deref().is_some_and(|key| key.starts_with('"')), "{text}");
    assert!(text.contains(&format!("process {}, lines ", violation.operations[0].process)), "{text}");
    assert!(violation.linearizable_until.is_some_and(|until| until < violation.cut));
    let json = serde_json::to_value(&report).expect("a report serialises");
    assert_eq!(json["verdict"], "not-linearizable");
    assert_eq!(json["model"], "string-kv");
    assert_eq!(json["time_unit"], "line");
}

// Generated histories, whose verdicts are known by construction.

fn spec(workload: Workload, clients: u32, operations: usize, info: f64, violation: Option<f64>, seed: u64) -> Spec {
    Spec { workload, clients, operations, info, violation, seed }
}

#[test]
fn generated_histories_get_the_verdict_they_were_built_with() {
    let register = Workload::CasRegister { values: 5, edn: false };
    let edn = Workload::CasRegister { values: 5, edn: true };
    let kv = Workload::StringKv { keys: 4 };
    let mut planted = 0;
    for seed in 0..12 {
        for (workload, clients, info) in [(register, 5, 0.03), (edn, 4, 0.03), (kv, 12, 0.05), (register, 1, 0.0)] {
            for violation in [None, Some(0.3), Some(0.9)] {
                let generated = generate(&spec(workload, clients, 300, info, violation, seed));
                planted += usize::from(!generated.linearizable);
                let checked = report(&generated.text, generated.format);
                let expected = if generated.linearizable { Verdict::Linearizable } else { Verdict::NotLinearizable };
                assert_eq!(
                    checked.verdict, expected,
                    "{workload:?} {clients} clients, seed {seed}, {violation:?}\n{checked}"
                );
            }
        }
    }
    assert!(planted >= 80, "most specs with a violation got one ({planted})");
}

#[test]
fn the_generator_is_deterministic_and_its_violations_are_late() {
    let kv = spec(Workload::StringKv { keys: 10 }, 50, 2000, 0.0, Some(0.9), 1);
    assert_eq!(generate(&kv), generate(&kv));
    let generated = generate(&kv);
    let checked = report(&generated.text, generated.format);
    let lines = generated.text.lines().count() as u64;
    assert!(checked.violations[0].cut > lines / 2, "cut at line {} of {lines}", checked.violations[0].cut);
}

#[test]
fn the_verdict_and_report_do_not_depend_on_the_number_of_threads() {
    let generated = generate(&spec(Workload::StringKv { keys: 10 }, 30, 1500, 0.02, Some(0.8), 7));
    let with = |threads: usize| {
        let mut options = options(generated.format);
        options.limits.threads = threads;
        check_text(&generated.text, &options).expect("parses").report
    };
    assert_eq!(with(1), with(4));
    assert_eq!(with(1).verdict, Verdict::NotLinearizable);
}

// The limits.

#[test]
fn a_budget_too_small_gives_unknown_instead_of_an_answer() {
    for (path, format, _) in shared_histories().into_iter().take(2) {
        let mut options = options(format);
        options.limits.steps = 50;
        let report = check_file(&path, &options).expect("parses").report;
        assert_eq!((report.verdict, report.steps, report.ran_out_of), (Verdict::Unknown, 50, Some(Limit::Steps)));
        assert!(report.to_string().starts_with("unknown: "), "{report}");
    }
}

#[test]
fn a_hard_history_stops_at_the_budget() {
    // 40 concurrent writes of distinct values, then reads that contradict every order
    // of them: the search would explore up to 2^40 subsets.
    let mut ops: Vec<KvOp> =
        (0..40).map(|value| sim(value, 0, Some(1_000), Operation::Write { key: 0, value }, done())).collect();
    ops.push(sim(99, 2_000, Some(3_000), Operation::Read { key: 0 }, values(&[1, 2])));
    let report = check_history(&ops, sim_limits(100_000));
    assert_eq!((report.verdict, report.steps), (Verdict::Unknown, 100_000));
}

#[test]
fn the_memory_bound_gives_unknown_and_is_never_passed() {
    let ops: Vec<KvOp> = (0..40)
        .map(|value| sim(value, 0, Some(1_000), Operation::Write { key: 0, value }, done()))
        .chain([sim(99, 2_000, Some(3_000), Operation::Read { key: 0 }, values(&[1, 2]))])
        .collect();
    let limits = Limits { threads: 1, memory: 4 << 20, steps: u64::MAX };
    let report = check_history(&ops, limits);
    assert_eq!((report.verdict, report.ran_out_of), (Verdict::Unknown, Some(Limit::Memory)));
    assert!(report.peak_memory_bytes <= 4 << 20, "{}", report.peak_memory_bytes);
    assert!(report.to_string().contains("memory limit of 4 MB"), "{report}");
}

#[test]
fn a_sequential_history_takes_memory_linear_in_its_length() {
    let peak = |writes: u64| {
        let ops: Vec<KvOp> = (0..writes)
            .flat_map(|i| {
                let write = sim(0, 4 * i, Some(4 * i + 1), Operation::Write { key: 0, value: i }, done());
                let read = sim(0, 4 * i + 2, Some(4 * i + 3), Operation::Read { key: 0 }, values(&[i]));
                [write, read]
            })
            .collect();
        let report = check_history(&ops, sim_limits(DEFAULT_BUDGET));
        assert_eq!(report.verdict, Verdict::Linearizable);
        report.peak_memory_bytes
    };
    let (small, large) = (peak(5_000), peak(40_000));
    // Eight times the operations: at most about eight times the memory (a quadratic
    // cache would take sixty-four).
    assert!(large < small * 12, "5k writes: {small} bytes, 40k writes: {large} bytes");
    assert!(large < 40_000 * 2 * 400, "{large} bytes for 80k operations");
}

#[test]
fn the_first_violation_stops_the_other_keys_and_is_still_reported() {
    // Key 0 is hard (40 concurrent writes, a read no order explains); key 1 fails at once.
    let mut ops: Vec<KvOp> =
        (0..40).map(|value| sim(value, 0, Some(1_000), Operation::Write { key: 0, value }, done())).collect();
    ops.push(sim(99, 2_000, Some(3_000), Operation::Read { key: 0 }, values(&[1, 2])));
    ops.push(sim(100, 10, Some(20), Operation::Write { key: 1, value: 5 }, done()));
    ops.push(sim(100, 30, Some(40), Operation::Read { key: 1 }, values(&[6])));
    let report = check_history(&ops, sim_limits(DEFAULT_BUDGET));
    assert_eq!(report.verdict, Verdict::NotLinearizable);
    assert_eq!(report.violations[0].key.as_deref(), Some("1"));
    assert_eq!(report.unchecked_keys, [Some("0".to_string())]);
    assert!(report.steps < 100_000, "{} steps", report.steps);
}

// The generated benchmark inputs kept in the repository.

#[test]
fn the_generated_histories_in_the_repository_are_what_the_generator_writes_and_get_their_verdicts() {
    let dir = Path::new(HISTORIES).join("generated");
    let manifest = std::fs::read_to_string(dir.join("manifest.csv")).expect("manifest.csv is readable");
    let rows: Vec<&str> = manifest.lines().skip(1).filter(|row| !row.is_empty()).collect();
    assert!(rows.len() >= 5);
    for row in rows {
        let fields: Vec<&str> = row.split(',').collect();
        let [file, workload, clients, operations, info, violation, seed, linearizable] = fields[..] else {
            panic!("a manifest row has 8 fields: {row}");
        };
        let workload = match workload.split_once(':') {
            Some(("string-kv", keys)) => Workload::StringKv { keys: keys.parse().expect("keys") },
            _ => Workload::CasRegister { values: 5, edn: workload == "cas-register-edn" },
        };
        let parse = |field: &str| field.parse::<f64>().expect("a number");
        let spec = Spec {
            workload,
            clients: clients.parse().expect("clients"),
            operations: operations.parse().expect("operations"),
            info: parse(info),
            violation: (!violation.is_empty()).then(|| parse(violation)),
            seed: seed.parse().expect("seed"),
        };
        let generated = generate(&spec);
        let text = std::fs::read_to_string(dir.join(file)).expect("the file is readable");
        assert!(text == generated.text, "{file} is not what the generator writes for {spec:?}");
        assert_eq!(generated.linearizable.to_string(), linearizable, "{file}");
        let expected = if generated.linearizable { Verdict::Linearizable } else { Verdict::NotLinearizable };
        let checked = report(&text, generated.format);
        assert_eq!(checked.verdict, expected, "{file}: {checked}");
    }
}
