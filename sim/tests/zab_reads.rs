//! ZooKeeper's client semantics, checked on whole Zab runs both ways: the history checks Zab
//! declares (linearizability of writes and sync-reads, sequential consistency of everything)
//! pass correct runs, fault-free and under a nemesis; local reads under a partition make a
//! history that is not linearizable when the plain reads are included (a stale read, which
//! Raft's and Multi-Paxos's checks would call a violation) and still sequentially
//! consistent; and a correct run's history with one client's two reads of a key swapped
//! (the client sees the store go back in time) fails the sequential-consistency check.

use std::path::Path;

use protocols::history::Call;
use protocols::kv::{KvOperation, KvService};
use protocols::node::Protocol;
use protocols::service::Outcome;
use protocols::zab::{sequential_reads, Zab};
use sim::checkers::linearizable;
use sim::{run, scenario, RunOptions};

/// A 3-server ensemble with read-heavy clients, a lognormal network and, with `faults`, a
/// partition that cuts server 0 off for 300 ms and one that cuts the leader off later.
fn history(faults: bool, seed: u64) -> (Vec<Call<KvService>>, scenario::Scenario) {
    let mut text = r#"
        protocol = "zab"
        nodes = 3
        duration_ms = 1500
        timeout_ms = 50
        expect = "ok"
        [workload]
        clients = 6
        rate = 400
        keys = 2
        mix = { read = 0.6, sync-read = 0.1, write = 0.15, append = 0.15 }
        [network]
        latency = { distribution = "lognormal", median_ms = 2, sigma = 0.8 }
        fifo = true
        "#
    .to_string();
    if faults {
        text += r#"
        [[faults]]
        at_ms = 300
        kind = "partition"
        groups = [[0], [1, 2]]
        duration_ms = 300
        [[faults]]
        at_ms = 800
        kind = "partition"
        groups = [[0, 1], [2]]
        duration_ms = 300
        "#;
    }
    let scenario = scenario::parse(Path::new("reads.toml"), &text).expect("valid scenario");
    let simulation = run::simulate::<Zab>(&scenario, RunOptions { seed, detailed: false });
    let simulation = simulation.expect("no panic").expect("the run runs");
    assert!(simulation.violation.is_none(), "seed {seed}: {:?}", simulation.violation);
    (simulation.history, scenario)
}

/// Zab's own history checks, as it declares them; the names of those that fail.
fn declared_checks(history: &[Call<KvService>], scenario: &scenario::Scenario) -> Vec<&'static str> {
    let failed = Zab::history_checks()
        .into_iter()
        .filter(|check| run::history_check(scenario, history, check).violation.is_some());
    failed.map(|check| check.name()).collect()
}

fn everything(_: &KvOperation) -> bool {
    true
}

fn reads(history: &[Call<KvService>], operation: fn(&KvOperation) -> bool) -> usize {
    history.iter().filter(|call| operation(&call.operation) && matches!(call.outcome, Some(Outcome::Ok(_)))).count()
}

#[test]
fn correct_runs_keep_zookeepers_promise_fault_free_and_under_partitions() {
    for faults in [false, true] {
        for seed in 1..=3 {
            let (history, scenario) = history(faults, seed);
            assert!(reads(&history, |operation| matches!(operation, KvOperation::SyncRead { .. })) > 10);
            assert_eq!(declared_checks(&history, &scenario), Vec::<&str>::new(), "faults {faults}, seed {seed}");
        }
    }
}

#[test]
fn local_reads_under_a_partition_are_stale_not_linearizable_yet_sequentially_consistent() {
    let mut stale = 0;
    for seed in 1..=5 {
        let (history, scenario) = history(true, seed);
        let plain = reads(&history, |operation| matches!(operation, KvOperation::Read { .. }));
        assert!(plain > 100, "seed {seed}: {plain} plain reads");
        assert!(sequential_reads(&history).is_ok(), "seed {seed}: plain reads are sequentially consistent");
        assert_eq!(declared_checks(&history, &scenario), Vec::<&str>::new(), "seed {seed}");
        let all = linearizable::check(&history, everything, 10_000_000, scenario.server_slots());
        if let Some((_, violation)) = all.violation {
            assert_eq!(violation.invariant, "linearizability");
            stale += 1;
        }
    }
    println!("{stale} of 5 seeds had a stale local read");
    assert!(stale > 0, "on some seed a local read returned stale data, which linearizability forbids");
}

#[test]
fn a_client_that_sees_the_store_go_back_in_time_fails_the_sequential_check() {
    let (mut history, scenario) = history(true, 1);
    assert_eq!(declared_checks(&history, &scenario), Vec::<&str>::new());
    // Find one client's two successful plain reads of one key that saw different values,
    // and swap what they returned.
    let ok_read = |call: &Call<KvService>| {
        matches!(call.operation, KvOperation::Read { .. }) && matches!(call.outcome, Some(Outcome::Ok(_)))
    };
    let (first, second) = (0..history.len())
        .flat_map(|a| (a + 1..history.len()).map(move |b| (a, b)))
        .find(|&(a, b)| {
            let (x, y) = (&history[a], &history[b]);
            ok_read(x)
                && ok_read(y)
                && x.client == y.client
                && x.operation == y.operation
                && x.outcome != y.outcome
                && x.completed < Some(y.invoked)
        })
        .expect("a client read a key twice and saw it change");
    let earlier = history[first].outcome.clone();
    history[first].outcome = history[second].outcome.clone();
    history[second].outcome = earlier;
    assert!(sequential_reads(&history).is_err(), "reads {first} and {second} swapped go back in time");
    assert!(declared_checks(&history, &scenario).contains(&"sequential-consistency"));
}
