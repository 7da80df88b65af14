//! Linearizability of a run's client history, checked after the run with the
//! Wing-Gong-Lowe search of [`crate::linearizability`] on the model the service declares.
//! A failed operation did not take effect and is left out; an `info` one is open (it may
//! take effect at any point after its invocation, or never). A history that is not
//! linearizable is a violation named `linearizability`, at the instant by which the history
//! already cannot be linearized, showing the few operations that cannot be ordered.

use protocols::history::{Call, Model};
use protocols::node::{Time, Violation};
use protocols::service::Service;

use super::Conclusion;
use crate::linearizability::{self, Limits, TimeUnit, Verdict};

/// Checks the calls `include` keeps; processes from `first_client` on are clients, named by
/// their number in the detail. The search runs on the calling thread (a sweep already runs
/// a run per core) within a run's memory bound.
pub fn check<S: Service>(
    history: &[Call<S>],
    include: fn(&S::Operation) -> bool,
    budget: u64,
    first_client: u32,
) -> Conclusion {
    let model = S::Model::default();
    let ops = history.iter().filter(|call| include(&call.operation)).filter_map(Call::as_op).collect();
    let limits = Limits { threads: 1, ..Limits::new(budget, linearizability::RUN_MEMORY_MB) };
    let report = linearizability::check(&model, model.prune(ops), limits, TimeUnit::Nanosecond);
    let conclusion = match report.verdict {
        Verdict::Linearizable => Conclusion::passed("linearizable"),
        Verdict::Unknown => match report.ran_out_of {
            Some(linearizability::Limit::Memory) => {
                Conclusion::passed(format!("unknown at {} MB", report.memory_limit_bytes >> 20))
            }
            _ => Conclusion::passed(format!("unknown after {} steps", report.steps)),
        },
        Verdict::NotLinearizable => {
            let first = &report.violations[0];
            let cited = report.violations.iter().flat_map(|violation| violation.operations.iter());
            let violation = Violation {
                invariant: "linearizability",
                evidence: cited.map(|op| (op.process as u32, op.call)).collect(),
                nodes: first.operations.iter().map(|op| op.process as u32).collect(),
                detail: detail(&report, first_client),
            };
            Conclusion::failed("not-linearizable", first.cut as Time, violation)
        }
    };
    Conclusion { report: Some(report), ..conclusion }
}

/// The violations of `report` in the words of a run: clients by their number, times in
/// milliseconds.
fn detail(report: &linearizability::Report, first_client: u32) -> String {
    let keys: Vec<String> = report
        .violations
        .iter()
        .map(|violation| {
            let key = violation.key.as_ref().map_or_else(String::new, |key| format!("key {key}: "));
            let operations: Vec<String> = violation
                .operations
                .iter()
                .map(|op| {
                    let completed = op.ret.map_or_else(|| "still open".to_string(), |ret| format!("to {}", ms(ret)));
                    let client = op.process.saturating_sub(u64::from(first_client));
                    format!("client {client} {}, from {} {completed}", op.operation, ms(op.call))
                })
                .collect();
            format!("{key}{}", operations.join(" and "))
        })
        .collect();
    format!(
        "{} cannot be ordered consistently with both their times and the model (of {} operations checked)",
        keys.join("; "),
        report.operations
    )
}

fn ms(time: Time) -> String {
    format!("{:.3} ms", time as f64 / protocols::node::MILLISECOND as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocols::consensus::{Chosen, ConsensusService, Propose};
    use protocols::kv::{KvOperation, KvReply, KvService};
    use protocols::service::{every, Outcome};

    const BUDGET: u64 = crate::linearizability::DEFAULT_BUDGET;

    fn call<S: Service>(
        client: u32,
        invoked: Time,
        completed: Option<Time>,
        operation: S::Operation,
        outcome: Outcome<S::Reply>,
    ) -> Call<S> {
        Call { client, invoked, completed, operation, outcome: Some(outcome) }
    }

    fn kv(
        client: u32,
        invoked: Time,
        completed: Time,
        operation: KvOperation,
        outcome: Outcome<KvReply>,
    ) -> Call<KvService> {
        call(client, invoked, Some(completed), operation, outcome)
    }

    fn done() -> Outcome<KvReply> {
        Outcome::Ok(KvReply::Done)
    }

    fn values(values: &[u64]) -> Outcome<KvReply> {
        Outcome::Ok(KvReply::Values(values.to_vec()))
    }

    fn verdict<S: Service>(history: &[Call<S>], budget: u64) -> String {
        check(history, every, budget, 0).name
    }

    #[test]
    fn a_stale_read_is_caught_and_a_fresh_read_passes() {
        let history = |seen: &[u64]| {
            vec![
                kv(0, 10, 20, KvOperation::Write { key: 7, value: 1 }, done()),
                kv(1, 30, 40, KvOperation::Append { key: 7, value: 2 }, done()),
                kv(2, 50, 60, KvOperation::Read { key: 7 }, values(seen)),
            ]
        };
        assert_eq!(verdict(&history(&[1, 2]), BUDGET), "linearizable");
        let conclusion = check(&history(&[1]), every, BUDGET, 0);
        let (at, violation) = conclusion.violation.expect("a stale read");
        assert_eq!(conclusion.name, "not-linearizable");
        assert_eq!(
            (violation.invariant, violation.nodes.clone()),
            ("linearizability", vec![1, 2]),
            "the witness: the append and the read"
        );
        assert!(at >= 50, "the history cannot be linearized from the read on, not at {at}");
        assert!(violation.detail.contains("read: returned [1]"), "{}", violation.detail);
    }

    #[test]
    fn operations_touching_at_an_instant_are_concurrent() {
        let history = |read_call| {
            vec![
                kv(0, 10, 20, KvOperation::Write { key: 1, value: 5 }, done()),
                kv(1, read_call, 30, KvOperation::Read { key: 1 }, values(&[])),
            ]
        };
        assert_eq!(verdict(&history(20), BUDGET), "linearizable");
        assert_eq!(verdict(&history(21), BUDGET), "not-linearizable");
    }

    #[test]
    fn a_failed_cas_is_an_answer_and_a_failed_write_did_not_happen() {
        let history = |from| {
            vec![
                kv(0, 10, 20, KvOperation::Write { key: 1, value: 5 }, done()),
                kv(1, 25, 26, KvOperation::Write { key: 1, value: 9 }, Outcome::Fail),
                kv(2, 30, 40, KvOperation::Cas { key: 1, from, to: 6 }, Outcome::Ok(KvReply::CasFailed)),
                kv(2, 50, 60, KvOperation::Read { key: 1 }, values(&[5])),
            ]
        };
        assert_eq!(verdict(&history(4), BUDGET), "linearizable");
        assert_eq!(verdict(&history(5), BUDGET), "not-linearizable", "the key held 5: the cas must have swapped");
    }

    #[test]
    fn info_operations_may_apply_late_or_never_whatever_their_completion_time() {
        let history = |late_read: &[u64]| {
            vec![
                call(0, 10, Some(20), KvOperation::Append { key: 3, value: 1 }, Outcome::Info),
                kv(1, 30, 40, KvOperation::Read { key: 3 }, values(&[])),
                kv(1, 50, 60, KvOperation::Read { key: 3 }, values(late_read)),
            ]
        };
        assert_eq!(verdict(&history(&[1]), BUDGET), "linearizable");
        assert_eq!(verdict(&history(&[]), BUDGET), "linearizable");
        assert_eq!(verdict(&history(&[1, 1]), BUDGET), "not-linearizable");
    }

    #[test]
    fn consensus_needs_one_decision_that_was_proposed() {
        let propose = |client, invoked, completed, value, chosen| {
            call::<ConsensusService>(client, invoked, Some(completed), Propose { value }, Outcome::Ok(Chosen(chosen)))
        };
        let history = |first, second| vec![propose(0, 10, 30, 1, first), propose(1, 20, 40, 2, second)];
        assert_eq!(verdict(&history(2, 2), BUDGET), "linearizable");
        assert_eq!(verdict(&history(1, 2), BUDGET), "not-linearizable");
        assert_eq!(verdict(&history(3, 3), BUDGET), "not-linearizable", "3 was never proposed");
        let (_, violation) = check(&history(1, 2), every, BUDGET, 0).violation.expect("two decisions");
        assert!(violation.detail.contains("the consensus decision"), "{}", violation.detail);
        // A timed-out proposal after the decision cannot take effect: it must be left out.
        let mut late = history(2, 2);
        late.push(call(2, 50, None, Propose { value: 3 }, Outcome::Info));
        assert_eq!(verdict(&late, BUDGET), "linearizable");
    }

    #[test]
    fn many_unobserved_timed_out_appends_are_decided_within_a_small_budget() {
        // Forty appends time out and no read ever shows them: without pruning, each could take
        // effect at any point, and the search explodes; with it, a tiny budget decides both ways.
        let history = |stale: bool| {
            let mut calls: Vec<_> = (0..40)
                .map(|i| {
                    call(
                        i,
                        u64::from(10 + i),
                        None,
                        KvOperation::Append { key: 0, value: 100 + u64::from(i) },
                        Outcome::Info,
                    )
                })
                .collect();
            calls.push(kv(50, 100, 110, KvOperation::Append { key: 0, value: 7 }, done()));
            calls.push(kv(51, 120, 130, KvOperation::Read { key: 0 }, values(if stale { &[] } else { &[7] })));
            calls
        };
        assert_eq!(verdict(&history(false), 1_000), "linearizable");
        assert_eq!(verdict(&history(true), 1_000), "not-linearizable");
        // An unseen timed-out append may be what made a compare-and-set fail: it is kept.
        let failed_cas = vec![
            kv(0, 0, 10, KvOperation::Write { key: 0, value: 28 }, done()),
            call(1, 5, None, KvOperation::Append { key: 0, value: 33 }, Outcome::Info),
            kv(2, 20, 30, KvOperation::Cas { key: 0, from: 28, to: 35 }, Outcome::Ok(KvReply::CasFailed)),
        ];
        assert_eq!(verdict(&failed_cas, 1_000), "linearizable");
        // An observed timed-out append is kept: the read may see it.
        let mut seen = history(false);
        seen.push(kv(52, 140, 150, KvOperation::Read { key: 0 }, values(&[7, 100])));
        assert_eq!(verdict(&seen, 1_000), "linearizable");
    }

    #[test]
    fn include_leaves_operations_out_of_the_check() {
        let history = vec![
            kv(0, 10, 20, KvOperation::Write { key: 1, value: 5 }, done()),
            kv(1, 30, 40, KvOperation::Read { key: 1 }, values(&[])),
        ];
        assert_eq!(verdict(&history, BUDGET), "not-linearizable");
        let updates = |operation: &KvOperation| operation.is_update();
        assert_eq!(check(&history, updates, BUDGET, 0).name, "linearizable");
    }
}
