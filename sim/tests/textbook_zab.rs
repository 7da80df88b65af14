//! Fault-free runs of Zab with constant one-way latency d reproduce the textbook costs of
//! docs/textbook-costs.md exactly (Junqueira, Reed and Serafini, DSN 2011, Algorithm 3): each
//! write costs 3(N-1) messages, a `Proposal` to, an `Ack` from and a `Commit` to each of the
//! N-1 followers, and the leader commits 2d after it proposes. A client whose session is with
//! the leader sees a write take 4d (d to the leader, 2d to commit, d back); one whose session
//! is with a follower pays a `Request` to the leader and waits for the `Commit` too, 6d. A
//! plain read is served by the client's own server from its store: 2d, and no message
//! between servers. `Ping`s are heartbeats, counted apart. A client whose first server was
//! not serving yet moves to the next, so the test reads each client's server from its
//! requests.

use std::path::Path;

use protocols::kv::KvOperation;
use protocols::node::{Time, MILLISECOND};
use protocols::zab::Zab;
use sim::world::Simulation;
use sim::{run, scenario, RunOptions};

/// Operations per client.
const PER_CLIENT: u64 = 10;

/// Two clients per server (client `k` starts its session with server `k mod N`), `PER_CLIENT`
/// operations each of `mix`, constant latency `d_ms`, and a timeout well above a round trip
/// so that nothing is re-sent.
fn steady_state(nodes: u32, d_ms: u32, mix: &str) -> Simulation<Zab> {
    let timeout_ms = 20 * d_ms;
    let duration_ms = 3000 + 200 * d_ms;
    let clients = 2 * nodes;
    let operations = PER_CLIENT * clients as u64;
    let rate = 4 * clients; // each client's operations spread over 2.5 s
    let text = format!(
        r#"
        protocol = "zab"
        nodes = {nodes}
        duration_ms = {duration_ms}
        timeout_ms = {timeout_ms}
        expect = "ok"
        [workload]
        clients = {clients}
        rate = {rate}
        operations = {operations}
        mix = {mix}
        [network]
        latency = {{ distribution = "constant", ms = {d_ms} }}
        fifo = true
        "#
    );
    let scenario = scenario::parse(Path::new("textbook.toml"), &text).expect("valid scenario");
    let simulation = run::simulate::<Zab>(&scenario, RunOptions { seed: 1, detailed: true });
    let simulation = simulation.expect("no panic").expect("the run runs");
    assert!(simulation.violation.is_none(), "{:?}", simulation.violation);
    assert_eq!(simulation.history.len() as u64, operations, "every operation was invoked");
    simulation
}

/// Messages of `kind` sent after the epoch was established (so none of the election's,
/// discovery's or synchronization's).
fn count(simulation: &Simulation<Zab>, kind: &str) -> u64 {
    let messages = simulation.recorder.messages.iter();
    messages.filter(|message| message.kind == kind && message.sent > established(simulation)).count() as u64
}

/// When the leader established its epoch.
fn established(simulation: &Simulation<Zab>) -> Time {
    event_time(simulation, "established epoch")
}

/// The server of `client`'s session: where it sent its last request.
fn session(simulation: &Simulation<Zab>, client: u32) -> u32 {
    let mut requests = simulation.recorder.messages.iter().rev();
    requests.find(|message| message.from == client && message.kind == "ClientRequest").expect("requests").to
}

/// When the first event reading `prefix...` happened.
fn event_time(simulation: &Simulation<Zab>, prefix: &str) -> Time {
    let mut events = simulation.recorder.events.iter();
    events.find(|event| event.what.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix:?} event")).time
}

/// The leader: the server that proposed.
fn leader(simulation: &Simulation<Zab>) -> u32 {
    let mut events = simulation.recorder.events.iter();
    events.find(|event| event.what.starts_with("proposed")).and_then(|event| event.node).expect("a proposal")
}

/// The latencies of client `client`'s operations invoked once every server serves (a
/// follower serves once its leader's `UpToDate` arrives, d after the epoch is established).
fn latencies(simulation: &Simulation<Zab>, client: u32) -> Vec<Time> {
    let serving = established(simulation) + 100 * MILLISECOND;
    let calls = simulation.history.iter().filter(|call| call.client == client && call.invoked > serving);
    calls.map(|call| call.completed.expect("answered") - call.invoked).collect()
}

#[test]
fn a_zab_write_costs_3_times_n_minus_1_messages_with_pings_counted_apart() {
    for nodes in [3_u64, 5, 7] {
        let simulation = steady_state(nodes as u32, 5, "{ write = 1.0 }");
        let writes = 2 * PER_CLIENT * nodes;
        let per_write = |kind| count(&simulation, kind);
        assert_eq!(per_write("Proposal"), writes * (nodes - 1), "{nodes} nodes");
        assert_eq!(per_write("Ack"), writes * (nodes - 1), "{nodes} nodes");
        assert_eq!(per_write("Commit"), writes * (nodes - 1), "{nodes} nodes");
        let leader = leader(&simulation);
        let requests = simulation.recorder.messages.iter().filter(|message| message.kind == "ClientRequest");
        let at_followers = requests.filter(|message| message.to != leader && message.sent > established(&simulation));
        assert_eq!(
            per_write("Request"),
            at_followers.count() as u64,
            "{nodes} nodes: followers forward their clients' writes"
        );
        assert!(per_write("Ping") > 0, "heartbeats are counted under their own kind");
    }
}

#[test]
fn the_leader_commits_2d_after_it_proposes_and_its_own_client_sees_a_write_take_4d() {
    for d_ms in [1, 5, 10] {
        let d = d_ms as Time * MILLISECOND;
        let simulation = steady_state(5, d_ms, "{ write = 1.0 }");
        let leader = leader(&simulation);
        let events = &simulation.recorder.events;
        let proposed: Vec<_> = events.iter().filter(|event| event.what.starts_with("proposed")).collect();
        assert_eq!(proposed.len() as u64, 10 * PER_CLIENT);
        for proposal in proposed {
            let zxid = proposal.what["proposed ".len()..].split(':').next().expect("a zxid");
            let committed = format!("committed {zxid}");
            let commit = events.iter().find(|event| event.what == committed).expect("every proposal commits");
            assert_eq!(commit.node, Some(leader));
            assert_eq!(commit.time - proposal.time, 2 * d, "d = {d_ms} ms: {zxid}");
        }
        let first_client = simulation.setup.server_slots();
        let clients = first_client..first_client + 10;
        for client in clients.clone() {
            let expected = if session(&simulation, client) == leader { 4 * d } else { 6 * d };
            let took = latencies(&simulation, client);
            assert!(took.iter().all(|&took| took == expected), "d = {d_ms} ms, client {client}: {took:?}");
        }
        let measured: usize = clients.clone().map(|client| latencies(&simulation, client).len()).sum();
        assert!(measured as u64 >= 5 * PER_CLIENT, "d = {d_ms} ms: {measured} writes once every server served");
        let at_leader = clients.filter(|&client| session(&simulation, client) == leader).count();
        assert!(
            (1..10).contains(&at_leader),
            "d = {d_ms} ms: {at_leader} clients at the leader, the rest at followers"
        );
    }
}

#[test]
fn a_local_read_takes_2d_and_no_message_between_servers() {
    for d_ms in [1, 5, 10] {
        let d = d_ms as Time * MILLISECOND;
        let simulation = steady_state(3, d_ms, "{ read = 1.0 }");
        let reads = simulation.history.iter().filter(|call| matches!(call.operation, KvOperation::Read { .. }));
        assert_eq!(reads.count() as u64, 6 * PER_CLIENT);
        let first_client = simulation.setup.server_slots();
        let measured: usize = (first_client..first_client + 6).map(|client| latencies(&simulation, client).len()).sum();
        assert!(measured as u64 >= 3 * PER_CLIENT, "d = {d_ms} ms: {measured} reads once every server served");
        for client in first_client..first_client + 6 {
            assert!(latencies(&simulation, client).iter().all(|&took| took == 2 * d), "d = {d_ms} ms, client {client}");
        }
        for kind in ["Proposal", "Ack", "Commit", "Request", "Sync"] {
            assert_eq!(count(&simulation, kind), 0, "d = {d_ms} ms: no {kind}");
        }
    }
}
