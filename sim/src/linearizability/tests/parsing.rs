//! The parsers, the formats' semantics of `:fail`, and the errors for bad input.

use super::*;

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
    let problem = check_file(missing, &options(Format::JepsenLog)).expect_err("no such file");
    assert!(problem.to_string().starts_with("/nonexistent/history.log: cannot read the history"), "{problem}");
    let bad = InputError::at(3, "`:invok` is not an operation type", ":invoke, :ok, :fail or :info").in_file(missing);
    assert_eq!(
        bad.to_string(),
        "/nonexistent/history.log:3: `:invok` is not an operation type (:invoke, :ok, :fail or :info)"
    );
    let empty = error("INFO  jepsen.core - nothing to see\n", Format::JepsenLog);
    assert_eq!((empty.line, empty.problem.as_str()), (None, "no client operations found"));
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
    let checked = report(history, Format::JepsenEdn);
    assert_eq!((checked.verdict, checked.operations, checked.keys), (Verdict::Linearizable, 2, 0));
    let stale = history.replace(":f :read, :value 3}]", ":f :read, :value 4}]");
    let checked = report(&stale, Format::JepsenEdn);
    assert_eq!(checked.verdict, Verdict::NotLinearizable, "records on one line are still ordered");
    assert_eq!(checked.violations[0].cut, 5, "instants are lines");
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
    let checked = report(&history, Format::JepsenEdn);
    assert_eq!(checked.model, "string-kv");
    let forced = check_text(&history, &FileCheck { model: Some(ModelName::CasRegister), ..options(Format::JepsenEdn) });
    let problem = forced.expect_err(":put is not a register operation");
    assert_eq!(problem.line, Some(1));
}

// What `:fail` means, per format and by flag.

fn with_semantics(text: &str, format: Format, semantics: Semantics) -> Verdict {
    let options = FileCheck { semantics: Some(semantics), ..options(format) };
    check_text(text, &options).expect("parses").report.verdict
}

#[test]
fn a_failed_cas_constrains_nothing_in_edn_and_is_evidence_in_a_jepsen_log() {
    // The register holds 1 when the cas [1 2] fails: as evidence that it did not hold 1,
    // that is impossible; as an operation that did not happen, it constrains nothing.
    let edn = "\
{:process 0, :type :invoke, :f :write, :value 1}
{:process 0, :type :ok, :f :write, :value 1}
{:process 1, :type :invoke, :f :cas, :value [1 2]}
{:process 1, :type :fail, :f :cas, :value [1 2]}
{:process 2, :type :invoke, :f :read, :value nil}
{:process 2, :type :ok, :f :read, :value 1}
";
    assert_eq!(verdict(edn, Format::JepsenEdn), Verdict::Linearizable, "Knossos strips failed operations");
    assert_eq!(with_semantics(edn, Format::JepsenEdn, Semantics::Porcupine), Verdict::NotLinearizable);
    let text = log(&[
        "0 :invoke :write 1",
        "0 :ok :write 1",
        "1 :invoke :cas [1 2]",
        "1 :fail :cas [1 2]",
        "2 :invoke :read nil",
        "2 :ok :read 1",
    ]);
    assert_eq!(verdict(&text, Format::JepsenLog), Verdict::NotLinearizable, "as Porcupine reads etcd logs");
    assert_eq!(with_semantics(&text, Format::JepsenLog, Semantics::Knossos), Verdict::Linearizable);
}

#[test]
fn a_failed_write_did_not_happen_under_both_semantics() {
    let text = log(&["0 :invoke :write 1", "0 :fail :write 1", "1 :invoke :read nil", "1 :ok :read 1"]);
    for semantics in Semantics::ALL {
        assert_eq!(with_semantics(&text, Format::JepsenLog, semantics), Verdict::NotLinearizable, "{semantics}");
    }
}

#[test]
fn a_read_of_nil_carries_no_value_for_knossos_and_means_absent_for_porcupine() {
    let text = log(&["0 :invoke :write 1", "0 :ok :write 1", "1 :invoke :read nil", "1 :ok :read nil"]);
    assert_eq!(verdict(&text, Format::JepsenLog), Verdict::NotLinearizable);
    assert_eq!(with_semantics(&text, Format::JepsenLog, Semantics::Knossos), Verdict::Linearizable);
}

#[test]
fn the_shared_etcd_verdicts_hold_under_both_semantics() {
    // Knossos's reading drops failed cas and reads of nil, so it can only admit more; these
    // violations do not rest on them.
    for (path, format, linearizable) in shared_histories().into_iter().filter(|(_, f, _)| *f == Format::JepsenLog) {
        let text = std::fs::read_to_string(&path).expect("readable");
        let expected = if linearizable { Verdict::Linearizable } else { Verdict::NotLinearizable };
        assert_eq!(with_semantics(&text, format, Semantics::Knossos), expected, "{}", path.display());
    }
}

// EDN forms and fields.

const EDN_RECORDS: [&str; 4] = [
    "{:type :invoke, :f :write, :value 3, :process 0, :time 17, :index 0}",
    "{:type :ok, :f :write, :value 3, :process 0, :time 25, :index 1}",
    "{:type :invoke, :f :read, :value nil, :process 1, :time 30, :index 2}",
    "{:type :ok, :f :read, :value 3, :process 1, :time 41, :index 3}",
];

#[test]
fn edn_histories_may_be_a_vector_a_list_or_one_map_per_line() {
    let lines = EDN_RECORDS.join("\n");
    for text in [format!("[{}]", EDN_RECORDS.join("\n ")), format!("({})", EDN_RECORDS.join("\n ")), lines] {
        let checked = report(&text, Format::JepsenEdn);
        assert_eq!((checked.verdict, checked.operations), (Verdict::Linearizable, 2), "{text}");
        let stale = text.replace(":value 3, :process 1", ":value 4, :process 1");
        assert_eq!(verdict(&stale, Format::JepsenEdn), Verdict::NotLinearizable, "{stale}");
    }
    let unclosed = error(&format!("({}", EDN_RECORDS.join("\n")), Format::JepsenEdn);
    assert!(unclosed.problem.contains("`(` opened on line 1 is never closed"), "{unclosed}");
    let trailing = error(&format!("[{}] {{}}", EDN_RECORDS.join("\n")), Format::JepsenEdn);
    assert!(trailing.problem.contains("text after the top-level `]`"), "{trailing}");
}

#[test]
fn edn_histories_may_have_index_time_and_error_fields() {
    let text = "\
{:index 0, :time 100, :type :invoke, :process 0, :f :cas, :value [1 2]}
{:index 1, :time 200, :type :fail, :process 0, :f :cas, :value [1 2], :error :precondition-failed}
{:index 2, :time 300, :type :invoke, :process 1, :f :write, :value 5}
{:index 3, :time 400, :type :info, :process 1, :f :write, :value 5, :error [:timeout \"no reply\"]}
{:index 4, :time 500, :type :invoke, :process 2, :f :read, :value nil}
{:index 5, :time 600, :type :ok, :process 2, :f :read, :value 5}
";
    assert_eq!(verdict(text, Format::JepsenEdn), Verdict::Linearizable);
}

#[test]
fn a_transaction_is_refused_with_a_message_that_says_so() {
    let text = "{:process 0, :type :invoke, :f :txn, :value [[:r :x nil] [:w :y 1]]}\n\
                {:process 0, :type :ok, :f :txn, :value [[:r :x nil] [:w :y 1]]}\n";
    let refused = error(text, Format::JepsenEdn);
    assert_eq!(refused.line, Some(1));
    assert!(refused.problem.contains("`:f :txn` is a transaction"), "{refused}");
    assert!(refused.allowed.contains("--model multi-register") && refused.allowed.contains("Elle"), "{refused}");
    let forced = FileCheck { model: Some(ModelName::MultiRegister), ..options(Format::JepsenEdn) };
    assert_eq!(check_text(text, &forced).expect("checks").report.verdict, Verdict::Linearizable);
}

#[test]
fn an_invocation_and_a_completion_that_disagree_are_refused_with_both_lines() {
    let other_value = error(&log(&["0 :invoke :write 1", "1 :invoke :read nil", "0 :ok :write 2"]), Format::JepsenLog);
    assert_eq!(other_value.line, Some(3));
    assert!(other_value.problem.contains("invoked on line 1, completed on line 3"), "{other_value}");
    assert!(other_value.problem.contains(":write of 1 completes as :write of 2"), "{other_value}");
    let other_key = error(
        "{:process 0, :type :invoke, :f :put, :key \"a\", :value \"x\"}\n\
         {:process 0, :type :ok, :f :put, :key \"b\", :value \"x\"}\n",
        Format::PorcupineKv,
    );
    assert!(other_key
        .problem
        .contains("on key \"a\" but completes on key \"b\" (invoked on line 1, completed on line 2)"));
    let tuple = error(
        "{:process 0, :type :invoke, :f :write, :value [1 5]}\n{:process 0, :type :ok, :f :write, :value [2 5]}\n",
        Format::JepsenEdn,
    );
    assert!(tuple.problem.contains("on key 1 but completes on key 2"), "{tuple}");
    let other_f = error(&log(&["0 :invoke :read nil", "0 :ok :write 1"]), Format::JepsenLog);
    assert!(other_f.problem.contains("invoked :read but completes :write (invoked on line 1, completed on line 2)"));
    // A completion that repeats no argument (a timeout) agrees with any.
    let timeout = log(&["0 :invoke :write 1", "0 :info :write :timed-out", "1 :invoke :read nil", "1 :ok :read 1"]);
    assert_eq!(verdict(&timeout, Format::JepsenLog), Verdict::Linearizable);
}
