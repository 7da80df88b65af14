//! The models on hand-written histories, each both ways: cas-register (on jepsen-log
//! text), string-kv (porcupine-kv), set, queue and multi-register (jepsen-edn).

use super::*;

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
    let checked = report(&history, Format::JepsenLog);
    assert_eq!((checked.verdict, checked.operations), (Verdict::Linearizable, 1));
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
    let checked = report(history, Format::JepsenEdn);
    // Key 2's read of nil and failed cas carry nothing in EDN (Knossos): only key 1 is left.
    assert_eq!((checked.verdict, checked.model, checked.keys), (Verdict::Linearizable, "cas-register", 1));
    let crossed = history.replace(":ok, :f :read, :value [2 nil]", ":ok, :f :read, :value [2 5]");
    let checked = report(&crossed, Format::JepsenEdn);
    assert_eq!(checked.verdict, Verdict::NotLinearizable);
    assert_eq!(checked.violations[0].key.as_deref(), Some("2"));
}

// StringKv, on porcupine-kv text.

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
    let checked = report(&history, Format::PorcupineKv);
    assert_eq!(checked.verdict, Verdict::NotLinearizable);
    let violation = &checked.violations[0];
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

// Set, on jepsen-edn text.

fn edn(records: &[(u64, &str, &str, &str)]) -> String {
    let map = |&(process, kind, f, value): &(u64, &str, &str, &str)| {
        format!("{{:process {process}, :type :{kind}, :f :{f}, :value {value}}}\n")
    };
    records.iter().map(map).collect()
}

#[test]
fn set_reads_see_every_add_before_them_and_no_other() {
    let history = |seen: &str| {
        edn(&[
            (0, "invoke", "add", "1"),
            (0, "ok", "add", "1"),
            (1, "invoke", "add", "2"),
            (2, "invoke", "read", "nil"),
            (2, "ok", "read", seen),
            (1, "ok", "add", "2"),
            (3, "invoke", "read", "nil"),
            (3, "ok", "read", "#{1 2}"),
        ])
    };
    let checked = report(&history("#{1}"), Format::JepsenEdn);
    assert_eq!((checked.verdict, checked.model), (Verdict::Linearizable, "set"));
    assert_eq!(
        verdict(&history("[2 1]"), Format::JepsenEdn),
        Verdict::Linearizable,
        "the concurrent add may land first"
    );
    assert_eq!(verdict(&history("#{}"), Format::JepsenEdn), Verdict::NotLinearizable, "lost an add that completed");
    assert_eq!(verdict(&history("#{1 3}"), Format::JepsenEdn), Verdict::NotLinearizable, "3 was never added");
}

#[test]
fn set_info_add_may_appear_late_but_never_vanish() {
    let history = |first: &str, last: &str| {
        edn(&[
            (0, "invoke", "add", "7"),
            (0, "info", "add", "7"),
            (1, "invoke", "read", "nil"),
            (1, "ok", "read", first),
            (1, "invoke", "read", "nil"),
            (1, "ok", "read", last),
        ])
    };
    assert_eq!(verdict(&history("#{}", "#{7}"), Format::JepsenEdn), Verdict::Linearizable);
    assert_eq!(verdict(&history("#{}", "#{}"), Format::JepsenEdn), Verdict::Linearizable);
    assert_eq!(verdict(&history("#{7}", "#{}"), Format::JepsenEdn), Verdict::NotLinearizable);
}

// Queue, on jepsen-edn text.

#[test]
fn queue_dequeues_in_enqueue_order() {
    let history = |first: &str, second: &str| {
        edn(&[
            (0, "invoke", "enqueue", "1"),
            (0, "ok", "enqueue", "1"),
            (0, "invoke", "enqueue", "2"),
            (0, "ok", "enqueue", "2"),
            (1, "invoke", "dequeue", "nil"),
            (1, "ok", "dequeue", first),
            (1, "invoke", "dequeue", "nil"),
            (1, "ok", "dequeue", second),
            (1, "invoke", "dequeue", "nil"),
            (1, "ok", "dequeue", "nil"),
        ])
    };
    let checked = report(&history("1", "2"), Format::JepsenEdn);
    assert_eq!((checked.verdict, checked.model), (Verdict::Linearizable, "queue"));
    assert_eq!(verdict(&history("2", "1"), Format::JepsenEdn), Verdict::NotLinearizable, "not FIFO");
    assert_eq!(verdict(&history("1", "1"), Format::JepsenEdn), Verdict::NotLinearizable, "dequeued twice");
    assert_eq!(verdict(&history("1", "nil"), Format::JepsenEdn), Verdict::NotLinearizable, "2 was still queued");
}

#[test]
fn queue_concurrent_enqueues_may_land_in_either_order_and_info_dequeues_may_take_one() {
    let concurrent = edn(&[
        (0, "invoke", "enqueue", "1"),
        (1, "invoke", "enqueue", "2"),
        (0, "ok", "enqueue", "1"),
        (1, "ok", "enqueue", "2"),
        (2, "invoke", "dequeue", "nil"),
        (2, "ok", "dequeue", "2"),
    ]);
    assert_eq!(verdict(&concurrent, Format::JepsenEdn), Verdict::Linearizable);
    let taken = edn(&[
        (0, "invoke", "enqueue", "1"),
        (0, "ok", "enqueue", "1"),
        (0, "invoke", "enqueue", "2"),
        (0, "ok", "enqueue", "2"),
        (1, "invoke", "dequeue", "nil"),
        (1, "info", "dequeue", "nil"),
        (2, "invoke", "dequeue", "nil"),
        (2, "ok", "dequeue", "2"),
    ]);
    assert_eq!(verdict(&taken, Format::JepsenEdn), Verdict::Linearizable, "the info dequeue took 1");
    let too_many = format!("{taken}{}", edn(&[(2, "invoke", "dequeue", "nil"), (2, "ok", "dequeue", "1")]));
    assert_eq!(verdict(&too_many, Format::JepsenEdn), Verdict::NotLinearizable);
}

// Multi-register (Knossos's), on jepsen-edn text.

fn txn(records: &[(u64, &str, &str)]) -> String {
    let map = |&(process, kind, value): &(u64, &str, &str)| {
        format!("{{:process {process}, :type :{kind}, :f :txn, :value {value}}}\n")
    };
    records.iter().map(map).collect()
}

fn multi(text: &str) -> Report {
    let options = FileCheck { model: Some(ModelName::MultiRegister), ..options(Format::JepsenEdn) };
    check_text(text, &options).expect("parses").report
}

#[test]
fn multi_register_transactions_are_atomic() {
    let history = |seen: &str| {
        txn(&[
            (0, "invoke", "[[:w :x 1] [:w :y 1]]"),
            (0, "ok", "[[:w :x 1] [:w :y 1]]"),
            (1, "invoke", "[[:w :x 2] [:w :y 2]]"),
            (2, "invoke", "[[:r :x nil] [:r :y nil]]"),
            (2, "ok", seen),
            (1, "ok", "[[:w :x 2] [:w :y 2]]"),
        ])
    };
    let report = multi(&history("[[:r :x 1] [:r :y 1]]"));
    assert_eq!((report.verdict, report.model, report.keys), (Verdict::Linearizable, "multi-register", 0));
    assert_eq!(multi(&history("[[:r :x 2] [:r :y 2]]")).verdict, Verdict::Linearizable);
    assert_eq!(multi(&history("[[:r :x 1] [:r :y 2]]")).verdict, Verdict::NotLinearizable, "a torn read");
    assert_eq!(multi(&history("[[:r :x nil] [:r :y 2]]")).verdict, Verdict::Linearizable, "nil reads are legal");
}

#[test]
fn multi_register_reads_its_own_writes_and_refuses_a_changed_transaction() {
    let own = txn(&[(0, "invoke", "[[:w :x 5] [:r :x nil]]"), (0, "ok", "[[:w :x 5] [:r :x 5]]")]);
    assert_eq!(multi(&own).verdict, Verdict::Linearizable);
    let other = own.replace("[:r :x 5]]}", "[:r :x 4]]}");
    assert_eq!(multi(&other).verdict, Verdict::NotLinearizable);
    let changed = own.replace("[[:w :x 5] [:r :x 5]]", "[[:w :x 6] [:r :x 6]]");
    let options = FileCheck { model: Some(ModelName::MultiRegister), ..options(Format::JepsenEdn) };
    let refused = check_text(&changed, &options).expect_err("not the transaction invoked");
    assert_eq!(refused.line, Some(2));
    assert!(refused.problem.contains("invoked on line 1"), "{refused}");
}
