//! The world model, checked through a probe protocol that reports what it sees, once per
//! substrate from this one source: pauses hold a process's inputs until it resumes (clients
//! too), crashes drop unsynced writes when told to, syncs take their time and hold back the
//! sends that wait for them, messages on their way to a server that crashes are lost even if
//! it is up again when they arrive, restarts rebuild from durable records, each process has
//! a monotonic and a wall clock, isolation does not cut clients off, servers join and leave,
//! the network duplicates, FIFO links are connections (in order; a loss, a partition or a
//! crash breaks one, and both ends are told before anything that follows), and a panicking
//! node or a spent event budget becomes an `error` verdict instead of a crash.

mod support;

use protocols::node::{Membership, Time, MILLISECOND};
use protocols::service::Outcome;
use sim::record::Fate;
use sim::scenario::{EngineKind, FaultKind, Latency, NemesisKind, Verdict};
use sim::{run, RunOptions};
use support::{crash_run, probe_run, probe_scenario, Clocks, Probe};

/// Each test, once on the native substrate and once on madsim.
macro_rules! on_each_engine {
    ($($(#[$meta:meta])* fn $name:ident($engine:ident: EngineKind) $body:block)*) => {
        mod native {
            use super::*;
            $($(#[$meta])* #[test] fn $name() { let $engine = EngineKind::Native; $body })*
        }
        #[cfg(madsim)]
        mod madsim {
            use super::*;
            $($(#[$meta])* #[test] fn $name() { let $engine = EngineKind::Madsim; $body })*
        }
    };
}

/// The one-way latency of the probe's links.
const D: Time = 2 * MILLISECOND;
/// How far madsim's clock may be off an exact multiple of its steps.
const SLACK: Time = MILLISECOND / 100;

fn clocks(outcome: &Option<Outcome<Clocks>>) -> Clocks {
    match outcome {
        Some(Outcome::Ok(clocks)) => *clocks,
        other => panic!("the probe always answers: {other:?}"),
    }
}

on_each_engine! {
    fn a_paused_server_handles_its_messages_when_it_resumes(engine: EngineKind) {
        let run = probe_run(engine, "[workload]\nrate = 100\n[[faults]]\nat_ms = 200\nkind = \"pause\"\nnode = 0\nduration_ms = 300\n", 1);
        let held: Vec<_> = run.history.iter().filter(|call| call.invoked > 200 * MILLISECOND && call.invoked < 496 * MILLISECOND).collect();
        assert!(!held.is_empty());
        for call in held {
            let completed = call.completed.expect("completes after the pause");
            assert!(completed >= 500 * MILLISECOND, "invoked at {} ns, completed at {completed} ns", call.invoked);
        }
        let before = run.history.iter().find(|call| call.invoked < 190 * MILLISECOND).expect("operations before the pause");
        let took = before.completed.expect("answered") - before.invoked;
        assert!((2 * D..2 * D + SLACK).contains(&took), "2d when nothing is paused, not {took} ns");
    }

    fn a_paused_client_invokes_nothing_until_it_resumes(engine: EngineKind) {
        // Process 2 is the client.
        let run = probe_run(engine, "[workload]\nrate = 200\n[[faults]]\nat_ms = 200\nkind = \"pause\"\nnode = 2\nduration_ms = 300\n", 1);
        let during = run.history.iter().filter(|call| call.invoked > 210 * MILLISECOND && call.invoked < 500 * MILLISECOND).count();
        assert_eq!(during, 0, "a paused client starts no operation");
        assert!(run.history.iter().any(|call| call.invoked >= 500 * MILLISECOND), "it goes on after the pause");
    }

    fn a_crash_keeps_every_write_unless_told_to_lose_the_unsynced_ones(engine: EngineKind) {
        let (recovered, written, _) = crash_run(engine, false, 1);
        assert_eq!(recovered, written, "without lose_unsynced every written record survives");
        let mut torn = 0;
        for seed in 1..=20 {
            let (recovered, written, synced) = crash_run(engine, true, seed);
            assert!(recovered >= synced && recovered <= written, "kept {recovered}, synced {synced}, written {written}");
            torn += usize::from(recovered < written);
        }
        assert!(torn > 0, "losing unsynced writes must sometimes lose some");
    }

    fn a_sync_takes_its_time_and_holds_back_the_send_that_waits_for_it(engine: EngineKind) {
        let run = probe_run(engine, "[workload]\noperations = 10\n[storage]\nsync = { distribution = \"constant\", ms = 10 }\n", 1);
        for call in &run.history {
            let took = call.completed.expect("answered") - call.invoked;
            // Odd pings are answered at once; even ones once their record is durable.
            let expected = if call.operation.0 % 2 == 0 { 2 * D + 10 * MILLISECOND } else { 2 * D };
            assert!((expected..expected + SLACK).contains(&took), "{call:?} took {took} ns");
        }
    }

    fn observations_reach_the_checker_when_made_in_order_even_after_a_sync(engine: EngineKind) {
        // A ping every 0.25 ms on average and syncs of 5 ms: even pings start a sync before
        // their report, odd ones do not. Every report says what the server did when it did
        // it (Zab's leader "proposed" before its log is durable; a checker of Raft's applied
        // entries needs them in order), durable or not.
        let extra = "[workload]\nclients = 4\nrate = 4000\noperations = 200\n[storage]\nsync = { distribution = \"constant\", ms = 5 }\n[settings]\nobserve_writes = true\n";
        let run = probe_run(engine, extra, 1);
        let stored = |what: &str| -> Option<(u64, u64)> {
            let (n, value) = what.strip_prefix("stored ")?.split_once(": ")?;
            Some((n.parse().ok()?, value.parse().ok()?))
        };
        let reports: Vec<(Time, u64, u64)> = run.recorder.events.iter().filter(|event| event.node == Some(0)).filter_map(|event| stored(&event.what).map(|(n, value)| (event.time, n, value))).collect();
        let numbers: Vec<u64> = reports.iter().map(|&(_, n, _)| n).collect();
        assert_eq!(numbers, (1..=200).collect::<Vec<_>>(), "every report, in the order it was made");
        let arrived = |value: u64| run.history.iter().find(|call| call.operation.0 == value).expect("a ping of the history").invoked + D;
        let synced = reports.iter().filter(|report| report.2 % 2 == 0).count();
        assert!(synced > 50, "many reports follow a sync: {synced}");
        for &(at, n, value) in &reports {
            assert!((arrived(value)..arrived(value) + SLACK).contains(&at), "report {n} ({value}) at {at}, not when the ping was stored");
        }
    }

    fn a_report_that_waits_for_its_sync_is_made_when_durable_and_dies_with_its_records(engine: EngineKind) {
        // As above, but the even pings' reports wait for their sync (`observe_after_sync`),
        // and server 0 crashes at 50 ms, losing part of what it had not made durable.
        let extra = "[workload]\nclients = 32\nrate = 4000\noperations = 1000\n[storage]\nsync = { distribution = \"constant\", ms = 5 }\n[settings]\nobserve_writes = true\nobserve_durable = true\n[[faults]]\nat_ms = 50\nkind = \"crash\"\nnode = 0\nlose_unsynced = true\nduration_ms = 10\n";
        let run = probe_run(engine, extra, 1);
        let crash = 50 * MILLISECOND;
        let stored = |what: &str| -> Option<u64> { what.strip_prefix("stored ")?.split_once(": ")?.1.parse().ok() };
        let reports: Vec<(Time, u64)> = run.recorder.events.iter().filter(|event| event.node == Some(0)).filter_map(|event| stored(&event.what).map(|value| (event.time, value))).collect();
        let arrived = |value: u64| run.history.iter().find(|call| call.operation.0 == value).expect("a ping of the history").invoked + D;
        // Half a millisecond tells a report made at once from one made at the sync's end.
        let near = |at: Time, when: Time| (when..when + MILLISECOND / 2).contains(&at);
        for &(at, value) in &reports {
            let made = arrived(value);
            let durable = made + 5 * MILLISECOND;
            if value % 2 == 1 {
                assert!(near(at, made), "plain report of {value} at {at}, not when stored at {made}");
            } else if made < crash && durable > crash {
                assert!(near(at, crash), "{value} was not durable at the crash: reported at the crash (it survived) or never, not at {at}");
            } else {
                assert!(near(at, durable), "report of {value} at {at}, not when its sync ended at {durable}");
            }
        }
        let pending: Vec<u64> = (run.history.iter().map(|call| call.operation.0))
            .filter(|&value| value % 2 == 0 && arrived(value) < crash && arrived(value) + 5 * MILLISECOND > crash)
            .collect();
        let reported = |value: u64| reports.iter().any(|&(_, seen)| seen == value);
        let lost = pending.iter().filter(|&&value| !reported(value)).count();
        assert!(pending.len() >= 3, "reports were waiting at the crash: {pending:?}");
        assert!(lost > 0, "the crash lost some of their records, and so those reports");
        assert!(reports.iter().any(|&(at, value)| value % 2 == 0 && at > crash + 10 * MILLISECOND), "reports go on after the restart");
    }

    fn crashes_armed_for_a_sync_still_keep_to_the_nemesis_max_down(engine: EngineKind) {
        // Every nemesis crash of Raft waits for its server's next sync, and at most one
        // server may be down: crashes armed one after another must not strike together.
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/raft/nemesis.toml");
        let mut scenario = sim::scenario::load(&path).expect("bundled scenario loads");
        scenario.engine = engine;
        let nemesis = scenario.nemesis.as_mut().expect("a nemesis");
        (nemesis.kinds, nemesis.crash_at_sync, nemesis.max_down) = (vec![NemesisKind::Crash], 1.0, Some(1));
        (nemesis.interval_ms, nemesis.fault_ms) = (2.0, 30.0);
        let run = run::simulate::<protocols::raft::Raft>(&scenario, RunOptions { seed: 1, detailed: true });
        let run = run.expect("no panic").expect("runs");
        let crashes: Vec<(Time, Time)> = (run.recorder.faults.iter())
            .filter(|fault| matches!(fault.kind, FaultKind::Crash { .. }))
            .map(|fault| (fault.start, fault.end.unwrap_or(Time::MAX)))
            .collect();
        assert!(crashes.len() > 10, "the nemesis crashed servers often: {}", crashes.len());
        for (i, &(start, end)) in crashes.iter().enumerate() {
            for &(other_start, other_end) in &crashes[i + 1..] {
                assert!(other_start >= end || other_end <= start, "two servers down at once: {start}..{end} and {other_start}..{other_end}");
            }
        }
        // And the run goes on: followers acknowledge (after their syncs) and operations
        // succeed to the end. (A stopped crash that swallowed its sync would not fail this:
        // Raft's next sync covers the records. sweep.rs runs the 2PC seed that showed it.)
        let held_back = run.recorder.messages.iter().filter(|message| message.kind == "AppendEntriesResponse").count();
        assert!(held_back > 100, "followers acknowledge after their syncs: {held_back}");
        let last_ok = run.history.iter().filter(|call| matches!(call.outcome, Some(Outcome::Ok(_)))).filter_map(|call| call.completed).max();
        assert!(last_ok.is_some_and(|at| at > 3 * scenario.duration_ms * MILLISECOND / 4), "operations succeed to the end: {last_ok:?}");
    }

    fn messages_on_their_way_to_a_crashed_server_are_lost_even_if_it_is_back(engine: EngineKind) {
        // 20 ms links; server 0 is down from 300 ms to 305 ms, so pings sent from 280 to 300 ms
        // would arrive at a restarted server: the crash broke their connection.
        let extra = "[workload]\nrate = 500\n[[faults]]\nat_ms = 300\nkind = \"crash\"\nnode = 0\nduration_ms = 5\n";
        let mut scenario = probe_scenario(engine, extra);
        scenario.network.latency = Latency::Constant { ms: 20.0 };
        let run = run::simulate::<Probe>(&scenario, RunOptions { seed: 1, detailed: true }).expect("no panic").expect("runs");
        let in_flight: Vec<_> = (run.recorder.messages.iter())
            .filter(|message| message.kind == "Ping" && message.sent > 281 * MILLISECOND && message.sent < 299 * MILLISECOND)
            .collect();
        assert!(!in_flight.is_empty(), "pings were in flight at the crash");
        assert!(in_flight.iter().all(|message| message.fate == Fate::Crashed), "{in_flight:?}");
        let restarted = run.recorder.events.iter().find(|event| event.what.starts_with("restart from"));
        let restarted = restarted.expect("the server restarted").time;
        assert!(in_flight.iter().any(|message| message.sent + 20 * MILLISECOND > restarted), "some would arrive after it");
    }

    fn each_process_reads_its_own_clocks_and_a_jump_moves_only_the_wall_clock(engine: EngineKind) {
        let extra = "[workload]\nrate = 50\n[[clocks]]\nnode = 0\noffset_ms = 50\ndrift_ppm = 1000\n\
                     [[faults]]\nat_ms = 500\nkind = \"clock-jump\"\nnode = 0\nms = -200\n";
        let run = probe_run(engine, extra, 1);
        for call in &run.history {
            let Clocks { monotonic, wall } = clocks(&call.outcome);
            let arrival = call.invoked + D;
            let drifted = arrival + arrival / 1_000;
            assert!((drifted..drifted + 2 * SLACK).contains(&monotonic), "{call:?}: monotonic {monotonic}");
            let wall_offset = wall as i64 - monotonic as i64;
            let want = if arrival < 500 * MILLISECOND { 50 } else { -150 };
            assert_eq!(wall_offset, want * MILLISECOND as i64, "{call:?}");
        }
    }

    fn clients_still_reach_an_isolated_server_but_not_when_isolated_themselves(engine: EngineKind) {
        let isolated_server = probe_run(engine, "[workload]\nrate = 50\n[[faults]]\nat_ms = 0\nkind = \"isolate\"\nnode = 0\nduration_ms = 900\n", 1);
        assert!(isolated_server.history.iter().all(|call| call.outcome.is_some()), "isolating a server leaves its clients");
        let isolated_client = probe_run(engine, "[workload]\nrate = 50\n[[faults]]\nat_ms = 100\nkind = \"isolate\"\nnode = 2\nduration_ms = 2000\n", 1);
        let blocked = isolated_client.recorder.messages.iter().filter(|message| message.fate == Fate::Blocked).count();
        assert!(blocked > 0 && isolated_client.history.iter().any(|call| call.outcome.is_none()), "an isolated client is cut off");
    }

    fn servers_join_and_leave_and_every_running_server_hears_of_it(engine: EngineKind) {
        let extra = "[workload]\nrate = 20\n[[faults]]\nat_ms = 100\nkind = \"join\"\nnode = 2\n\
                     [[faults]]\nat_ms = 300\nkind = \"leave\"\nnode = 1\n";
        let scenario = support::probe_text(engine, &format!("{}max_nodes = 3\n{}{extra}", support::PROBE, support::NETWORK));
        let run = run::simulate::<Probe>(&scenario, RunOptions { seed: 1, detailed: true }).expect("no panic").expect("runs");
        let heard = |node: u32, change: Membership| {
            run.recorder.events.iter().any(|event| event.node == Some(node) && event.what == format!("{change:?}"))
        };
        assert!(heard(0, Membership::Joined(2)) && heard(1, Membership::Joined(2)), "the members hear of the join");
        assert!(heard(1, Membership::Leaving(1)), "the leaver is told");
        assert!(heard(0, Membership::Left(1)) && heard(2, Membership::Left(1)), "the rest hear it left");
        assert!(!heard(1, Membership::Left(1)), "a server that left hears nothing more");
        let kinds: Vec<&str> = run.recorder.faults.iter().map(|period| period.kind.name()).collect();
        assert_eq!(kinds, vec!["join", "leave"]);
    }

    fn the_network_duplicates_messages(engine: EngineKind) {
        let run = probe_run(engine, "duplicate = 1.0\n[workload]\noperations = 20\n", 1);
        assert_eq!(run.history.len(), 20);
        assert_eq!(run.recorder.duplicated, run.recorder.messages_sent(), "every message has a copy");
        let delivered = |copy| {
            let messages = run.recorder.messages.iter();
            messages.filter(|message| message.copy == copy && matches!(message.fate, Fate::Delivered(_))).count()
        };
        assert_eq!(delivered(true), delivered(false), "copies cross the network like the originals");
    }

    fn fifo_links_deliver_in_the_order_sent_and_other_links_need_not(engine: EngineKind) {
        // A latency spread of 2-40 ms, which reorders messages unless the links are FIFO.
        let bursts = |fifo: bool| {
            let text = format!("{}[network]\nlatency = {{ distribution = \"uniform\", min_ms = 2, max_ms = 40 }}\n\
                                fifo = {fifo}\n[settings]\nburst = 5\n[workload]\noperations = 1\n", support::PROBE);
            let scenario = support::probe_text(engine, &text);
            let run = run::simulate::<Probe>(&scenario, RunOptions { seed: 1, detailed: true }).expect("no panic").expect("runs");
            received(&run)
        };
        let fifo = bursts(true);
        assert!(fifo.len() > 300, "server 0 received {} burst messages", fifo.len());
        assert!(fifo.iter().all(|seen| matches!(seen, Heard::Value(_))), "nothing broke: {fifo:?}");
        assert!(fifo.windows(2).all(|pair| pair[1] == next(&pair[0])), "in order, none missing: {fifo:?}");
        let unordered = bursts(false);
        assert!(unordered.windows(2).any(|pair| pair[1] < pair[0]), "without FIFO the spread reorders");
    }

    fn a_lost_message_breaks_its_connection_and_both_ends_are_told_before_anything_after_the_gap(engine: EngineKind) {
        let extra = "fifo = true\nloss = 0.02\n[settings]\nburst = 5\n[workload]\noperations = 1\n";
        let run = probe_run(engine, extra, 1);
        let heard = received(&run);
        let breaks = heard.iter().filter(|seen| **seen == Heard::Broke).count();
        assert!(breaks >= 3, "a 2% loss breaks the connection now and then: {heard:?}");
        let mut last = None;
        for seen in &heard {
            if let (Some(Heard::Value(before)), Heard::Value(value)) = (last, seen) {
                assert_eq!(*value, before + 1, "a gap without a break: {heard:?}");
            }
            last = Some(*seen);
        }
        let told = |node| run.recorder.events.iter().filter(|event| event.node == Some(node) && event.what == "disconnected from ".to_string() + if node == 0 { "1" } else { "0" }).count();
        assert_eq!(told(0), told(1), "both ends are told of every break");
        let fate = |fate| run.recorder.messages.iter().filter(|message| message.fate == fate).count();
        assert!(fate(Fate::Lost) > 0 && fate(Fate::Broken) > 0, "lost, and dropped with their connection");
        let unsettled = run.recorder.messages.iter().filter(|message| message.fate == Fate::InFlight);
        assert!(unsettled.clone().all(|message| message.sent + D + SLACK >= 1000 * MILLISECOND), "only the last ones are still on their way: {:?}", unsettled.collect::<Vec<_>>());
    }

    fn a_partition_and_a_crash_break_connections_and_the_peer_is_told(engine: EngineKind) {
        let extra = "fifo = true\n[settings]\nburst = 2\n[workload]\noperations = 1\n\
                     [[faults]]\nat_ms = 300\nkind = \"partition\"\ngroups = [[0], [1]]\nduration_ms = 100\n\
                     [[faults]]\nat_ms = 600\nkind = \"crash\"\nnode = 0\nduration_ms = 20\n";
        let run = probe_run(engine, extra, 1);
        let told = |node: u32, peer: u32| -> Vec<Time> {
            let what = format!("disconnected from {peer}");
            run.recorder.events.iter().filter(|event| event.node == Some(node) && event.what == what).map(|event| event.time).collect()
        };
        let (at_0, at_1) = (told(0, 1), told(1, 0));
        assert!(at_0.iter().any(|&at| (300 * MILLISECOND..315 * MILLISECOND).contains(&at)), "partition, server 0: {at_0:?}");
        assert!(at_1.iter().any(|&at| (300 * MILLISECOND..315 * MILLISECOND).contains(&at)), "partition, server 1: {at_1:?}");
        assert!(at_1.iter().any(|&at| (600 * MILLISECOND..600 * MILLISECOND + SLACK).contains(&at)), "the crash: {at_1:?}");
        assert!(!at_0.iter().any(|&at| (600 * MILLISECOND..620 * MILLISECOND).contains(&at)), "a crashed server is told nothing");
        let heard = received(&run);
        let after = heard.iter().filter(|seen| matches!(seen, Heard::Value(_))).count();
        assert!(after > 100, "deliveries go on over new connections: {after}");
    }

    fn a_panicking_node_becomes_an_error_verdict_with_its_seed(engine: EngineKind) {
        let mut scenario = probe_scenario(engine, "[workload]\noperations = 20\nrate = 1000\n");
        scenario.nodes = 3;
        let result = run::run_protocol::<Probe>(&scenario, RunOptions { seed: 5, detailed: false });
        assert_eq!(result.verdict, Verdict::Error);
        assert_eq!(result.summary.seed, 5);
        assert!(result.summary.violations[0].detail.contains("the probe panics on 13"), "{:?}", result.summary.violations);
    }

    fn the_event_budget_ends_a_run_with_an_error(engine: EngineKind) {
        // 40 operations pass the load-time check (at most max_events offered) and take more
        // than 50 events to run.
        let scenario = probe_scenario(engine, "[workload]\nrate = 1000\noperations = 40\n[limits]\nmax_events = 50\n");
        let result = run::run_protocol::<Probe>(&scenario, RunOptions { seed: 1, detailed: false });
        assert_eq!(result.verdict, Verdict::Error);
        assert!(result.summary.violations[0].detail.contains("event budget of 50 events exceeded"));
    }
}

/// What server 0 reported of server 1's bursts, in order: values, and breaks it was told of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Heard {
    Value(u64),
    Broke,
}

fn next(heard: &Heard) -> Heard {
    match heard {
        Heard::Value(value) => Heard::Value(value + 1),
        Heard::Broke => Heard::Broke,
    }
}

fn received(run: &sim::world::Simulation<Probe>) -> Vec<Heard> {
    let events = run.recorder.events.iter().filter(|event| event.node == Some(0));
    events
        .filter_map(|event| match event.what.strip_prefix("received ") {
            Some(value) => value.parse().ok().map(Heard::Value),
            None => (event.what == "disconnected from 1").then_some(Heard::Broke),
        })
        .collect()
}

/// Without the madsim cfg half of these tests would vanish without a word: say so instead.
#[cfg(not(madsim))]
#[test]
fn the_madsim_engine_is_in_this_build() {
    panic!(
        "this build has no madsim engine, so the world tests ran on the native engine only: a RUSTFLAGS \
         variable replaced the `--cfg madsim` that .cargo/config.toml sets; unset it"
    );
}
