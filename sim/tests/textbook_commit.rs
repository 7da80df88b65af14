//! Fault-free runs of the commit protocols with constant one-way latency d reproduce the
//! textbook costs of docs/textbook-costs.md exactly. One client runs one transaction that touches
//! every one of the N participants (N + 1 servers, N keys, N keys per transaction: key k is
//! held by participant k + 1).
//!
//! Two-phase commit (BHG section 7.4): `Prepare`, `Vote`, `Decision`, `Ack`, N of each,
//! 4N in all, plus the client's `Request` and the coordinator's `Reply`. The request
//! reaches the coordinator at d; its `Prepare`s arrive at 2d, the votes at 3d, and it
//! decides at once, sending the decisions and the reply together: 2d after the request
//! reached it. The reply takes d more, so the client sees d + 2d + d = 4d.
//!
//! Three-phase commit (Skeen 1981): `CanCommit`, `Vote`, `PreCommit`, `Ack`, `DoCommit`,
//! `HaveCommitted`, N of each, 6N in all, plus `Request` and `Reply`. The votes reach the
//! coordinator at 3d, the acks of `PreCommit` at 5d, when it commits: 4d after the request
//! reached it. The client sees d + 4d + d = 6d.
//!
//! The base timeout is 20d, far above any round, so no timer fires, no one is blocked and
//! nothing is re-sent.

use std::collections::BTreeMap;
use std::path::Path;

use sim::record::Fate;
use sim::run::{self, RunResult};
use sim::scenario;
use sim::RunOptions;

/// One transaction over `participants` participants, constant latency `d_ms`.
fn single_transaction(protocol: &str, participants: u32, d_ms: u32) -> RunResult {
    let nodes = participants + 1;
    let timeout_ms = 20 * d_ms;
    let text = format!(
        r#"
        protocol = "{protocol}"
        nodes = {nodes}
        duration_ms = 100
        timeout_ms = {timeout_ms}
        expect = "ok"
        [workload]
        clients = 1
        operations = 1
        keys = {participants}
        transaction_keys = {participants}
        [network]
        latency = {{ distribution = "constant", ms = {d_ms} }}
        "#
    );
    let scenario = scenario::parse(Path::new("textbook.toml"), &text).expect("valid scenario");
    run::run(&scenario, RunOptions { seed: 1, detailed: true })
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|&(kind, count)| (kind.to_string(), count)).collect()
}

/// Milliseconds from the request reaching the coordinator to the coordinator sending its
/// first message of kind `decision`.
fn decision_latency_ms(result: &RunResult, decision: &str) -> f64 {
    let record = result.record.as_ref().expect("the run finished");
    let messages = &record.recorder.messages;
    let request = messages.iter().find(|message| message.kind == "Request").expect("a request");
    let Fate::Delivered(arrived) = request.fate else { panic!("the request was not delivered: {request:?}") };
    let decided = messages.iter().find(|message| message.kind == decision && message.from == 0).expect("a decision");
    (decided.sent - arrived) as f64 / 1e6
}

/// The run committed its one transaction, with nobody blocked, and nothing else happened.
fn assert_one_clean_commit(result: &RunResult) {
    let figures = &result.summary.figures;
    assert_eq!(result.summary.verdict, "ok", "{:?}", result.summary.violations);
    let transactions = figures.transactions.as_ref().expect("a transaction workload");
    assert_eq!((transactions.committed, transactions.aborted, transactions.unknown), (1, 0, 0));
    assert_eq!(figures.protocol_figures.get("transactions_blocked"), Some(&0.0));
    assert_eq!(figures.messages.dropped, 0);
}

#[test]
fn two_phase_commit_sends_4n_messages_prepare_vote_decision_ack() {
    for n in [1_u64, 2, 3, 5] {
        let result = single_transaction("twopc", n as u32, 10);
        assert_one_clean_commit(&result);
        let messages = &result.summary.figures.messages;
        let expected =
            counts(&[("Request", 1), ("Prepare", n), ("Vote", n), ("Decision", n), ("Ack", n), ("Reply", 1)]);
        assert_eq!(messages.by_type, expected, "{n} participants");
        assert_eq!(messages.total, 4 * n + 2);
    }
}

#[test]
fn two_phase_commit_decides_2d_after_the_request_so_the_client_sees_4d() {
    for d_ms in [1, 7, 25] {
        let result = single_transaction("twopc", 3, d_ms);
        assert_one_clean_commit(&result);
        let d = f64::from(d_ms);
        assert_eq!(decision_latency_ms(&result, "Decision"), 2.0 * d);
        let transactions = result.summary.figures.transactions.as_ref().expect("a transaction workload");
        assert_eq!(transactions.commit_latency_ms.expect("commits").max, 4.0 * d);
        assert_eq!(result.summary.figures.latency_ms.expect("ok operations").max, 4.0 * d);
    }
}

#[test]
fn three_phase_commit_sends_6n_messages_can_commit_vote_pre_commit_ack_do_commit_have_committed() {
    for n in [1_u64, 2, 3, 5] {
        let result = single_transaction("threepc", n as u32, 10);
        assert_one_clean_commit(&result);
        let messages = &result.summary.figures.messages;
        let expected = counts(&[
            ("Request", 1),
            ("CanCommit", n),
            ("Vote", n),
            ("PreCommit", n),
            ("Ack", n),
            ("DoCommit", n),
            ("HaveCommitted", n),
            ("Reply", 1),
        ]);
        assert_eq!(messages.by_type, expected, "{n} participants");
        assert_eq!(messages.total, 6 * n + 2);
        let transactions = result.summary.figures.transactions.as_ref().expect("a transaction workload");
        assert_eq!(transactions.messages_per_transaction.get("PreCommit"), Some(&(n as f64)));
    }
}

#[test]
fn three_phase_commit_decides_4d_after_the_request_so_the_client_sees_6d() {
    for d_ms in [1, 7, 25] {
        let result = single_transaction("threepc", 3, d_ms);
        assert_one_clean_commit(&result);
        let d = f64::from(d_ms);
        assert_eq!(decision_latency_ms(&result, "DoCommit"), 4.0 * d);
        let transactions = result.summary.figures.transactions.as_ref().expect("a transaction workload");
        assert_eq!(transactions.commit_latency_ms.expect("commits").max, 6.0 * d);
    }
}
