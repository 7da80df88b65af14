//! Tests of the checker as a whole: the shared external histories against their recorded
//! verdicts, hand-written histories both ways for each model, the budget, the parsers'
//! errors and the shrinking of violations.

use std::path::{Path, PathBuf};
use std::time::Instant;

use protocols::operation::{Operation, Outcome, Reply};

use super::minimise::minimise;
use super::search::{search, Budget, Found};
use super::*;

const HISTORIES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/histories");

fn shared_histories() -> Vec<(PathBuf, Format, bool)> {
    let verdicts =
        std::fs::read_to_string(Path::new(HISTORIES).join("verdicts.csv")).expect("verdicts.csv is readable");
    let rows = verdicts.lines().skip(1).filter(|row| !row.trim().is_empty());
    rows.map(|row| {
        let (file, linearizable) = row.split_once(',').expect("rows are FILE,BOOL");
        let format = if file.starts_with("etcd/") { Format::JepsenLog } else { Format::PorcupineKv };
        (Path::new(HISTORIES).join(file), format, linearizable.trim() == "true")
    })
    .collect()
}

/// A jepsen-log text from records like `0 :invoke :read nil`, one per line from line 1.
fn log(records: &[&str]) -> String {
    records.iter().map(|record| format!("INFO  jepsen.util - {record}\n")).collect()
}

fn verdict(text: &str, format: Format) -> Verdict {
    check_text(text, format, None, DEFAULT_BUDGET).expect("the history parses").verdict
}

fn error(text: &str, format: Format) -> InputError {
    check_text(text, format, None, DEFAULT_BUDGET).expect_err("the history is rejected")
}

fn sim(process: u64, call: u64, ret: Option<u64>, input: Operation, output: Outcome) -> Op<Operation, Outcome> {
    Op { process, call, ret, input, output }
}

fn done() -> Outcome {
    Outcome::Ok(Reply::Done)
}

fn values(values: &[u64]) -> Outcome {
    Outcome::Ok(Reply::Values(values.to_vec()))
}

// The shared external histories (Porcupine's test data).

#[test]
fn every_shared_history_gets_its_recorded_verdict() {
    let histories = shared_histories();
    assert!(histories.len() >= 24, "verdicts.csv lists the 24 histories of the README");
    let (mut total, mut slowest) = (0.0, (0.0, String::new()));
    for (path, format, linearizable) in histories {
        let started = Instant::now();
        let report = check_file(&path, format, None, DEFAULT_BUDGET).expect("shared histories parse");
        let seconds = started.elapsed().as_secs_f64();
        let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        println!(
            "{name}: {:?} in {:.1} ms ({} steps, {} shrinking)",
            report.verdict,
            seconds * 1e3,
            report.steps,
            report.shrink_steps
        );
        let expected = if linearizable { Verdict::Linearizable } else { Verdict::NotLinearizable };
        assert_eq!(report.verdict, expected, "{name}:\n{report}");
        total += seconds;
        if seconds > slowest.0 {
            slowest = (seconds, name);
        }
    }
    println!("all shared histories: {:.1} ms; slowest {} ({:.1} ms)", total * 1e3, slowest.1, slowest.0 * 1e3);
}

#[test]
fn shared_violations_are_shrunk_to_sound_one_minimal_witnesses() {
    for (path, format, linearizable) in shared_histories() {
        let text = std::fs::read_to_string(&path).expect("shared histories are readable");
        let calls = pairing::pair(formats::read_events(&text, format).expect("parses")).expect("pairs");
        let failing = match format {
            Format::JepsenLog => failing_key_witness(&CasRegister, convert::register_ops(&calls).expect("converts")),
            _ => failing_key_witness(&StringKv, convert::string_kv_ops(&calls).expect("converts")),
        };
        assert_eq!(failing, !linearizable, "{}", path.display());
    }
}

/// Shrinks the first failing key of `ops` and checks the witness independently: with only
/// its operations completed (the rest of the prefix open) the prefix fails, and relaxing
/// any one of them makes it pass. Returns whether some key failed.
fn failing_key_witness<M: Model>(model: &M, ops: Vec<ModelOp<M>>) -> bool {
    let mut keys: Vec<M::Key> = ops.iter().map(|op| model.key(&op.input)).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let key_ops: Vec<_> = ops.iter().filter(|op| model.key(&op.input) == key).cloned().collect();
        if search(model, &key_ops, &mut Budget::new(DEFAULT_BUDGET)) != Found::Violation {
            continue;
        }
        let witness = minimise(model, &key_ops, &mut Budget::new(DEFAULT_BUDGET));
        assert!(witness.minimal && !witness.ops.is_empty());
        let relaxed = |open: Option<usize>| -> Vec<ModelOp<M>> {
            let kept = |op: &ModelOp<M>| {
                let position = witness.ops.iter().position(|w| w.call == op.call && w.process == op.process);
                position.is_some() && position != open
            };
            let prefix = key_ops.iter().filter(|op| op.call <= witness.cut);
            prefix.map(|op| Op { ret: op.ret.filter(|_| kept(op)), ..op.clone() }).collect()
        };
        assert_eq!(search(model, &relaxed(None), &mut Budget::new(DEFAULT_BUDGET)), Found::Violation);
        for index in 0..witness.ops.len() {
            let found = search(model, &relaxed(Some(index)), &mut Budget::new(DEFAULT_BUDGET));
            assert_eq!(found, Found::Linearizable, "witness operation {index} is needed");
        }
        return true;
    }
    false
}

#[test]
fn a_shared_violation_reads_as_key_operations_and_lines() {
    let path = Path::new(HISTORIES).join("kv/c01-bad.txt");
    let report = check_file(&path, Format::PorcupineKv, None, DEFAULT_BUDGET).expect("parses");
    let text = report.to_string();
    assert!(text.starts_with("NOT linearizable: "), "{text}");
    let violation = &report.violations[0];
    assert!(violation.key.as_deref().is_some_and(|key| key.starts_with('"')), "{text}");
    assert!(text.contains(&format!("process {}, lines ", violation.operations[0].process)), "{text}");
    let json = serde_json::to_value(&report).expect("a report serialises");
    assert_eq!(json["verdict"], "not-linearizable");
    assert_eq!(json["model"], "string-kv");
    assert_eq!(json["time_unit"], "line");
}

// CasRegister, on jepsen-log text.

#[test]
fn register_stale_read_after_a_newer_write_is_caught() {
    let stale = log(&[
        "0 :invoke :write 1",
        "0 :ok :write 1",
        "1 :invoke :write 2",
        "1 :ok :write 2",
        "2 :invoke :read nil",
        "2 :ok :read 1",
    ]);
    assert_eq!(verdict(&stale, Format::JepsenLog), Verdict::NotLinearizable);
    let fresh = stale.replace(":ok :read 1", ":ok :read 2");
    assert_eq!(verdict(&fresh, Format::JepsenLog), Verdict::Linearizable);
}

#[test]
fn register_read_may_see_a_concurrent_write_before_it_returns() {
    let overlapping = log(&[
        "0 :invoke :write 1",
        "1 :invoke :read nil",
        "1 :ok :read 1",
        "2 :invoke :read nil",
        "2 :ok :read nil",
        "0 :ok :write 1",
    ]);
    // Read 1 then read nil in sequence, while the write is in flight: once a read has
    // seen the write, a later read cannot miss it.
    assert_eq!(verdict(&overlapping, Format::JepsenLog), Verdict::NotLinearizable);
    let concurrent_reads = log(&[
        "0 :invoke :write 1",
        "1 :invoke :read nil",
        "2 :invoke :read nil",
        "1 :ok :read 1",
        "2 :ok :read nil",
        "0 :ok :write 1",
    ]);
    assert_eq!(verdict(&concurrent_reads, Format::JepsenLog), Verdict::Linearizable);
}

#[test]
fn register_info_write_may_take_effect_long_after_it_timed_out() {
    let late = log(&[
        "0 :invoke :write 1",
        "0 :info :write :timed-out",
        "1 :invoke :write 2",
        "1 :ok :write 2",
        "2 :invoke :read nil",
        "2 :ok :read 2",
        "2 :invoke :read nil",
        "2 :ok :read 1",
    ]);
    assert_eq!(verdict(&late, Format::JepsenLog), Verdict::Linearizable);
    let twice =
        format!("{late}{}", log(&["2 :invoke :write 3", "2 :ok :write 3", "2 :invoke :read nil", "2 :ok :read 1"]));
    assert_eq!(verdict(&twice, Format::JepsenLog), Verdict::NotLinearizable, "an info write applies at most once");
}

#[test]
fn register_info_write_may_never_take_effect_but_not_before_its_invocation() {
    let never = log(&["0 :invoke :write 1", "0 :info :write :timed-out", "1 :invoke :read nil", "1 :ok :read nil"]);
    assert_eq!(verdict(&never, Format::JepsenLog), Verdict::Linearizable);
    let early = log(&["1 :invoke :read nil", "1 :ok :read 1", "0 :invoke :write 1", "0 :info :write :timed-out"]);
    assert_eq!(verdict(&early, Format::JepsenLog), Verdict::NotLinearizable);
    // A cas whose `from` the register never holds can only be left out.
    let impossible = log(&["0 :invoke :write 1", "0 :ok :write 1", "1 :invoke :cas [5 6]", "1 :info :cas [5 6]"]);
    let impossible = format!("{impossible}{}", log(&["2 :invoke :read nil", "2 :ok :read 1"]));
    assert_eq!(verdict(&impossible, Format::JepsenLog), Verdict::Linearizable);
    let unfinished = log(&["0 :invoke :write 1", "1 :invoke :read nil", "1 :ok :read 1"]);
    assert_eq!(verdict(&unfinished, Format::JepsenLog), Verdict::Linearizable, "never completed = open");
}

#[test]
fn register_identical_info_writes_may_each_take_effect_once() {
    let one = log(&[
        "0 :invoke :write 1",
        "0 :info :write :timed-out",
        "1 :invoke :write 2",
        "1 :ok :write 2",
        "2 :invoke :read nil",
        "2 :ok :read 1",
        "2 :invoke :write 3",
        "2 :ok :write 3",
        "2 :invoke :read nil",
        "2 :ok :read 1",
    ]);
    assert_eq!(verdict(&one, Format::JepsenLog), Verdict::NotLinearizable);
    let two = format!("{}{}", log(&["5 :invoke :write 1", "5 :info :write :timed-out"]), one);
    assert_eq!(verdict(&two, Format::JepsenLog), Verdict::Linearizable);
}

#[test]
fn register_failed_cas_is_evidence_the_register_did_not_hold_from() {
    let held = log(&["0 :invoke :write 1", "0 :ok :write 1", "1 :invoke :cas [1 2]", "1 :fail :cas [1 2]"]);
    assert_eq!(verdict(&held, Format::JepsenLog), Verdict::NotLinearizable);
    let did_not_hold = held.replace("[1 2]", "[3 2]");
    assert_eq!(verdict(&did_not_hold, Format::JepsenLog), Verdict::Linearizable);
    let applied = held.replace(":fail :cas", ":ok :cas");
    let read_after = format!("{applied}{}", log(&["2 :invoke :read nil", "2 :ok :read 2"]));
    assert_eq!(verdict(&read_after, Format::JepsenLog), Verdict::Linearizable);
}

#[test]
fn register_timed_out_read_tells_nothing() {
    let history = log(&["0 :invoke :write 1", "0 :ok :write 1", "1 :invoke :read nil", "1 :fail :read :timed-out"]);
    let report = check_text(&history, Format::JepsenLog, None, DEFAULT_BUDGET).expect("parses");
    assert_eq!((report.verdict, report.operations), (Verdict::Linearizable, 1));
}

#[test]
fn register_keys_from_edn_independent_tuples_are_checked_apart() {
    let history = "\
{:process 0, :type :invoke, :f :write, :value [1 5]}
{:process 0, :type :ok, :f :write, :value [1 5]}
{:process 1, :type :invoke, :f :read, :value [2 nil]}
{:process 1, :type :ok, :f :read, :value [2 nil]}
{:process 1, :type :invoke, :f :cas, :value [2 [5 6]]}
{:process 1, :type :fail, :f :cas, :value [2 [5 6]]}
{:process 2, :type :invoke, :f :read, :value [1 nil]}
{:process 2, :type :ok, :f :read, :value [1 5]}
";
    let report = check_text(history, Format::JepsenEdn, None, DEFAULT_BUDGET).expect("parses");
    assert_eq!((report.verdict, report.model, report.keys), (Verdict::Linearizable, ModelName::CasRegister, 2));
    let crossed = history.replace(":ok, :f :read, :value [2 nil]", ":ok, :f :read, :value [2 5]");
    let report = check_text(&crossed, Format::JepsenEdn, None, DEFAULT_BUDGET).expect("parses");
    assert_eq!(report.verdict, Verdict::NotLinearizable);
    assert_eq!(report.violations[0].key.as_deref(), Some("2"));
}

// StringKv, on porcupine-kv text.

fn kv(records: &[(u64, &str, &str, &str, &str)]) -> String {
    let map = |&(process, kind, f, key, value): &(u64, &str, &str, &str, &str)| {
        format!("{{:process {process}, :type :{kind}, :f :{f}, :key \"{key}\", :value {value}}}\n")
    };
    records.iter().map(map).collect()
}

#[test]
fn string_kv_concurrent_appends_may_land_in_either_order() {
    let concurrent = kv(&[
        (0, "invoke", "append", "k", "\"a\""),
        (1, "invoke", "append", "k", "\"b\""),
        (0, "ok", "append", "k", "\"a\""),
        (1, "ok", "append", "k", "\"b\""),
        (2, "invoke", "get", "k", "nil"),
        (2, "ok", "get", "k", "\"ba\""),
    ]);
    assert_eq!(verdict(&concurrent, Format::PorcupineKv), Verdict::Linearizable);
    let sequential = kv(&[
        (0, "invoke", "append", "k", "\"a\""),
        (0, "ok", "append", "k", "\"a\""),
        (1, "invoke", "append", "k", "\"b\""),
        (1, "ok", "append", "k", "\"b\""),
        (2, "invoke", "get", "k", "nil"),
        (2, "ok", "get", "k", "\"ba\""),
    ]);
    assert_eq!(verdict(&sequential, Format::PorcupineKv), Verdict::NotLinearizable);
}

#[test]
fn string_kv_violation_names_its_key_and_only_the_operations_needed() {
    let history = kv(&[
        (0, "invoke", "put", "x", "\"1\""),
        (0, "ok", "put", "x", "\"1\""),
        (1, "invoke", "put", "y", "\"1\""),
        (1, "ok", "put", "y", "\"1\""),
        (1, "invoke", "get", "y", "nil"),
        (1, "ok", "get", "y", "\"1\""),
        (2, "invoke", "get", "x", "nil"),
        (2, "ok", "get", "x", "\"\""),
    ]);
    let report = check_text(&history, Format::PorcupineKv, None, DEFAULT_BUDGET).expect("parses");
    assert_eq!(report.verdict, Verdict::NotLinearizable);
    let violation = &report.violations[0];
    assert_eq!((violation.key.as_deref(), violation.cut, violation.minimal), (Some("\"x\""), 8, true));
    let operations: Vec<(u64, u64, Option<u64>, &str)> =
        violation.operations.iter().map(|op| (op.process, op.call, op.ret, op.operation.as_str())).collect();
    assert_eq!(operations, [(0, 1, Some(2), "put \"1\": ok"), (2, 7, Some(8), "get: returned \"\"")]);
}

#[test]
fn string_kv_info_append_may_apply_late_or_never() {
    let history = |first: &str, last: &str| {
        kv(&[
            (0, "invoke", "append", "k", "\"a\""),
            (0, "info", "append", "k", ":timed-out"),
            (1, "invoke", "get", "k", "nil"),
            (1, "ok", "get", "k", first),
            (1, "invoke", "get", "k", "nil"),
            (1, "ok", "get", "k", last),
        ])
    };
    assert_eq!(verdict(&history("\"\"", "\"a\""), Format::PorcupineKv), Verdict::Linearizable, "late");
    assert_eq!(verdict(&history("\"\"", "\"\""), Format::PorcupineKv), Verdict::Linearizable, "never");
    assert_eq!(verdict(&history("\"a\"", "\"\""), Format::PorcupineKv), Verdict::NotLinearizable, "undone");
    assert_eq!(verdict(&history("\"\"", "\"aa\""), Format::PorcupineKv), Verdict::NotLinearizable, "twice");
}

// Kv, the simulator's own histories.

#[test]
fn kv_stale_read_is_caught_and_fresh_read_passes() {
    let history = |seen: &[u64]| {
        vec![
            sim(0, 10, Some(20), Operation::Write { key: 7, value: 1 }, done()),
            sim(1, 30, Some(40), Operation::Append { key: 7, value: 2 }, done()),
            sim(2, 50, Some(60), Operation::Read { key: 7 }, values(seen)),
        ]
    };
    assert_eq!(check_history(&history(&[1, 2]), DEFAULT_BUDGET).verdict, Verdict::Linearizable);
    let report = check_history(&history(&[1]), DEFAULT_BUDGET);
    assert_eq!(report.verdict, Verdict::NotLinearizable);
    assert_eq!((report.time_unit, report.violations[0].key.as_deref()), (TimeUnit::Nanosecond, Some("7")));
    assert!(report.to_string().contains("process 2, 0.000050ms to 0.000060ms: read: returned [1]"), "{report}");
}

#[test]
fn kv_operations_touching_at_an_instant_are_concurrent() {
    let history = |read_call: u64| {
        vec![
            sim(0, 10, Some(20), Operation::Write { key: 1, value: 5 }, done()),
            sim(1, read_call, Some(30), Operation::Read { key: 1 }, values(&[])),
        ]
    };
    assert_eq!(check_history(&history(20), DEFAULT_BUDGET).verdict, Verdict::Linearizable);
    assert_eq!(check_history(&history(21), DEFAULT_BUDGET).verdict, Verdict::NotLinearizable);
}

#[test]
fn kv_failed_cas_constrains_and_other_failures_did_not_happen() {
    let history = |from: u64| {
        vec![
            sim(0, 10, Some(20), Operation::Write { key: 1, value: 5 }, done()),
            sim(1, 25, Some(26), Operation::Write { key: 1, value: 9 }, Outcome::Fail),
            sim(2, 30, Some(40), Operation::Cas { key: 1, from, to: 6 }, Outcome::Fail),
            sim(2, 50, Some(60), Operation::Read { key: 1 }, Outcome::Ok(Reply::Value(Some(5)))),
        ]
    };
    assert_eq!(check_history(&history(4), DEFAULT_BUDGET).verdict, Verdict::Linearizable);
    assert_eq!(check_history(&history(5), DEFAULT_BUDGET).verdict, Verdict::NotLinearizable);
}

#[test]
fn kv_info_operations_may_apply_late_or_never_whatever_their_ret() {
    let history = |late_read: &[u64]| {
        vec![
            sim(0, 10, Some(20), Operation::Append { key: 3, value: 1 }, Outcome::Info),
            sim(1, 30, Some(40), Operation::Read { key: 3 }, values(&[])),
            sim(1, 50, Some(60), Operation::Read { key: 3 }, values(late_read)),
        ]
    };
    assert_eq!(check_history(&history(&[1]), DEFAULT_BUDGET).verdict, Verdict::Linearizable);
    assert_eq!(check_history(&history(&[]), DEFAULT_BUDGET).verdict, Verdict::Linearizable);
    assert_eq!(check_history(&history(&[1, 1]), DEFAULT_BUDGET).verdict, Verdict::NotLinearizable);
}

#[test]
fn kv_consensus_needs_one_decision_that_was_proposed() {
    let history = |first: u64, second: u64| {
        vec![
            sim(0, 10, Some(30), Operation::Propose { value: 1 }, Outcome::Ok(Reply::Value(Some(first)))),
            sim(1, 20, Some(40), Operation::Propose { value: 2 }, Outcome::Ok(Reply::Value(Some(second)))),
        ]
    };
    assert_eq!(check_history(&history(2, 2), DEFAULT_BUDGET).verdict, Verdict::Linearizable);
    assert_eq!(check_history(&history(1, 2), DEFAULT_BUDGET).verdict, Verdict::NotLinearizable);
    assert_eq!(check_history(&history(3, 3), DEFAULT_BUDGET).verdict, Verdict::NotLinearizable);
    let report = check_history(&history(1, 2), DEFAULT_BUDGET);
    assert_eq!(report.violations[0].key.as_deref(), Some("the consensus decision"));
    // A timed-out proposal after the decision cannot take effect: it must be left out.
    let mut late = history(2, 2);
    late.push(sim(2, 50, None, Operation::Propose { value: 3 }, Outcome::Info));
    assert_eq!(check_history(&late, DEFAULT_BUDGET).verdict, Verdict::Linearizable);
}

#[test]
fn kv_many_unobserved_timed_out_appends_are_decided_within_a_small_budget() {
    // Forty appends time out and no read ever shows them: without pruning, each could take
    // effect at any point, and the search explodes; with it, a tiny budget decides both ways.
    let history = |stale: bool| {
        let mut ops: Vec<_> = (0..40)
            .map(|i| sim(i, 10 + i, None, Operation::Append { key: 0, value: 100 + i }, Outcome::Info))
            .collect();
        ops.push(sim(50, 100, Some(110), Operation::Append { key: 0, value: 7 }, done()));
        ops.push(sim(51, 120, Some(130), Operation::Read { key: 0 }, values(if stale { &[] } else { &[7] })));
        ops
    };
    assert_eq!(check_history(&history(false), 1_000).verdict, Verdict::Linearizable);
    assert_eq!(check_history(&history(true), 1_000).verdict, Verdict::NotLinearizable);
    // An unseen timed-out append may be what made a compare-and-set fail: it is kept.
    let failed_cas = vec![
        sim(0, 0, Some(10), Operation::Write { key: 0, value: 28 }, done()),
        sim(1, 5, None, Operation::Append { key: 0, value: 33 }, Outcome::Info),
        sim(2, 20, Some(30), Operation::Cas { key: 0, from: 28, to: 35 }, Outcome::Fail),
    ];
    assert_eq!(check_history(&failed_cas, 1_000).verdict, Verdict::Linearizable);
    // An observed timed-out append is kept: the read may see it.
    let mut seen = history(false);
    seen.push(sim(52, 140, Some(150), Operation::Read { key: 0 }, values(&[7, 100])));
    assert_eq!(check_history(&seen, 1_000).verdict, Verdict::Linearizable);
}

// The budget.

#[test]
fn a_budget_too_small_gives_unknown_instead_of_an_answer() {
    for (path, format, _) in shared_histories().into_iter().take(2) {
        let report = check_file(&path, format, None, 50).expect("parses");
        assert_eq!((report.verdict, report.steps), (Verdict::Unknown, 50), "{}", path.display());
        assert!(report.to_string().starts_with("unknown: "), "{report}");
    }
}

#[test]
fn a_hard_history_stops_at_the_budget() {
    // 40 concurrent writes of distinct values, then reads that contradict every order
    // of them: the search would explore up to 2^40 subsets.
    let mut ops: Vec<Op<Operation, Outcome>> =
        (0..40).map(|value| sim(value, 0, Some(1_000), Operation::Write { key: 0, value }, done())).collect();
    ops.push(sim(99, 2_000, Some(3_000), Operation::Read { key: 0 }, values(&[1, 2])));
    let started = Instant::now();
    let report = check_history(&ops, 100_000);
    assert_eq!((report.verdict, report.steps), (Verdict::Unknown, 100_000));
    println!("hard history: unknown after 100000 steps in {:?}", started.elapsed());
}

// The parsers' errors.

#[test]
fn a_bad_log_record_is_reported_with_its_line() {
    let text = log(&["0 :invoke :read nil", "0 :ok :read nil", "1 :invok :read nil"]);
    let problem = error(&text, Format::JepsenLog);
    assert_eq!(problem.line, Some(3));
    assert!(problem.problem.contains(":invok"), "{problem}");
    let missing = error(&log(&["0 :invoke :read"]), Format::JepsenLog);
    assert_eq!((missing.line, missing.problem.as_str()), (Some(1), "the record ends before its value"));
    let bad_cas = error(&log(&["0 :invoke :cas [1]", "0 :ok :cas [1]"]), Format::JepsenLog);
    assert_eq!((bad_cas.line, bad_cas.allowed.as_str()), (Some(1), "[from to], two integers"));
}

#[test]
fn a_bad_edn_record_is_reported_with_its_line() {
    let unclosed = "{:process 0, :type :invoke, :f :read, :value nil}\n{:process 0, :type :ok,\n :f :read";
    let problem = error(unclosed, Format::JepsenEdn);
    assert_eq!(problem.line, Some(3));
    assert!(problem.problem.contains("line 2"), "{problem}");
    let no_type = error("{:process 0, :f :read}", Format::JepsenEdn);
    assert_eq!((no_type.line, no_type.problem.as_str()), (Some(1), "the operation has no :type"));
    let string_process = error("\n\n{:process \"a\", :type :invoke, :f :read}", Format::JepsenEdn);
    assert_eq!(string_process.line, Some(3));
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert_eq!(error(&deep, Format::JepsenEdn).line, Some(1));
}

#[test]
fn a_completion_that_does_not_match_an_invocation_is_reported_with_its_line() {
    let orphan = error(&log(&["0 :invoke :read nil", "0 :ok :read nil", "0 :ok :read nil"]), Format::JepsenLog);
    assert_eq!(orphan.line, Some(3));
    let twice = error(&log(&["0 :invoke :read nil", "0 :invoke :write 1"]), Format::JepsenLog);
    assert_eq!(twice.line, Some(2));
    let other_f = error(&log(&["0 :invoke :read nil", "0 :ok :write 1"]), Format::JepsenLog);
    assert_eq!(other_f.line, Some(2));
}

#[test]
fn input_errors_display_file_line_problem_and_what_is_allowed() {
    let missing = Path::new("/nonexistent/history.log");
    let problem = check_file(missing, Format::JepsenLog, None, 1).expect_err("no such file");
    assert!(problem.to_string().starts_with("/nonexistent/history.log: cannot read the history"), "{problem}");
    let bad = InputError::at(3, "`:invok` is not an operation type", ":invoke, :ok, :fail or :info").in_file(missing);
    assert_eq!(
        bad.to_string(),
        "/nonexistent/history.log:3: `:invok` is not an operation type (:invoke, :ok, :fail or :info)"
    );
    let empty = error("INFO  jepsen.core - nothing to see\n", Format::JepsenLog);
    assert_eq!((empty.line, empty.problem.as_str()), (None, "no client operations found"));
    let model = check_text(&log(&["0 :invoke :read nil"]), Format::JepsenLog, Some(ModelName::Kv), 1);
    assert!(model.is_err_and(|problem| problem.line.is_none()));
}

// The EDN subset.

#[test]
fn edn_histories_may_be_one_vector_with_records_tags_comments_and_nemesis_ops() {
    let history = r#"[#jepsen.history.Op{:index 0, :time 17, :type :invoke, :process 0, :f :write, :value 3}
 {:type :info, :process :nemesis, :f :start, :value {"n1" ["n2" "n3"]}}
 ; a comment
 {:index 1, :type :ok, :process 0, :f :write, :value 3, :extra #_ ignored "x\"y\u0041"}
 {:index 2, :type :invoke, :process 1, :f :read, :value nil} {:index 3, :type :ok, :process 1, :f :read, :value 3}]
"#;
    let report = check_text(history, Format::JepsenEdn, None, DEFAULT_BUDGET).expect("parses");
    assert_eq!((report.verdict, report.operations, report.keys), (Verdict::Linearizable, 2, 0));
    let stale = history.replace(":f :read, :value 3}]", ":f :read, :value nil}]");
    let report = check_text(&stale, Format::JepsenEdn, None, DEFAULT_BUDGET).expect("parses");
    assert_eq!(report.verdict, Verdict::NotLinearizable, "records on one line are still ordered");
    assert_eq!(report.violations[0].cut, 5, "instants are lines");
}

#[test]
fn edn_reader_reads_the_values_histories_use() {
    let mut reader = edn::Reader::new("nil true -12 3N 1.5 \"a\\nb\" :k sym [1 [2]] (1) #{1} {:a 1} #_ 9 #t 4", 1);
    let mut forms = Vec::new();
    while reader.peek().expect("reads").is_some() {
        forms.push(reader.read().expect("reads").to_string());
    }
    let expected =
        ["nil", "true", "-12", "3", "1.5", "\"a\\nb\"", ":k", "sym", "[1 [2]]", "(1)", "#{1}", "{:a 1}", "#t 4"];
    assert_eq!(forms, expected);
}

#[test]
fn jepsen_edn_picks_string_kv_for_get_put_append_and_the_override_wins() {
    let history = kv(&[(0, "invoke", "put", "k", "\"a\""), (0, "ok", "put", "k", "\"a\"")]);
    let report = check_text(&history, Format::JepsenEdn, None, DEFAULT_BUDGET).expect("parses");
    assert_eq!(report.model, ModelName::StringKv);
    let forced = check_text(&history, Format::JepsenEdn, Some(ModelName::CasRegister), DEFAULT_BUDGET);
    let problem = forced.expect_err(":put is not a register operation");
    assert_eq!(problem.line, Some(1));
}
