//! Servers wired together through a hand-driven network, with the checker watching every
//! observation: enough to pin the textbook cost of a write, to replay a leader change that
//! must recover the log, and to show the `local-reads` stale read, without the engine.

use std::collections::{BTreeMap, VecDeque};

use super::*;
use crate::node::{Checker as _, Message as _, Violation};

/// A message in flight.
type Envelope = (NodeId, NodeId, MultiPaxosMessage);

struct Cluster {
    setup: Setup,
    servers: Vec<Option<MultiPaxosServer>>,
    network: VecDeque<Envelope>,
    checker: MultiPaxosChecker,
    /// Messages sent between servers, by kind.
    sent: BTreeMap<&'static str, usize>,
    /// Messages to clients.
    replies: Vec<(NodeId, MultiPaxosMessage)>,
    violation: Option<Violation>,
    now: Time,
}

impl Cluster {
    fn new(variant: &'static str) -> Cluster {
        let setup = setup(variant);
        Cluster {
            servers: setup.server_ids().map(|id| Some(MultiPaxos::server(&setup, id))).collect(),
            checker: MultiPaxos::checker(&setup),
            setup,
            network: VecDeque::new(),
            sent: BTreeMap::new(),
            replies: Vec::new(),
            violation: None,
            now: 0,
        }
    }

    fn server(&self, id: NodeId) -> &MultiPaxosServer {
        self.servers[id as usize].as_ref().expect("server is up")
    }

    /// Runs one input on server `id` and carries out its effects.
    fn input(&mut self, id: NodeId, input: impl FnOnce(&mut MultiPaxosServer, &mut Context<MultiPaxos>)) {
        self.now += MILLISECOND;
        let Some(server) = self.servers[id as usize].as_mut() else { return };
        let effects = step(server, id, input);
        for (to, message) in effects.sends {
            if to < self.setup.servers {
                *self.sent.entry(message.kind()).or_default() += 1;
                self.network.push_back((id, to, message));
            } else {
                self.replies.push((to, message));
            }
        }
        for observation in &effects.observations {
            let result = self.checker.observe(self.now, id, observation);
            self.violation = self.violation.take().or(result.err());
        }
    }

    fn timeout(&mut self, id: NodeId, timer: MultiPaxosTimer) {
        self.input(id, |server, ctx| server.on_timer(ctx, timer));
    }

    fn request(&mut self, id: NodeId, command: Command) {
        self.input(id, |server, ctx| server.on_message(ctx, command.client, request(command)));
    }

    /// Delivers messages in order until none is left; those `lost` returns true for are
    /// dropped instead, as are those to a crashed server.
    fn deliver_all(&mut self, lost: impl Fn(&Envelope) -> bool) {
        for _ in 0..10_000 {
            let Some(envelope) = self.network.pop_front() else { return };
            if lost(&envelope) || self.servers[envelope.1 as usize].is_none() {
                continue;
            }
            let (from, to, message) = envelope;
            self.input(to, |server, ctx| server.on_message(ctx, from, message));
        }
        panic!("the network never went quiet");
    }
}

/// Loses every message that is not between servers of `group`.
fn outside(group: &'static [NodeId]) -> impl Fn(&Envelope) -> bool {
    move |(from, to, _)| !group.contains(from) || !group.contains(to)
}

fn store_of(cluster: &Cluster, id: NodeId) -> Vec<u64> {
    cluster.server(id).replica().store().read(1)
}

#[test]
fn fault_free_write_costs_two_messages_per_peer_with_heartbeats_apart_pms_3() {
    let mut cluster = Cluster::new(CORRECT);
    cluster.timeout(0, MultiPaxosTimer::Election);
    cluster.deliver_all(|_| false);
    assert_eq!(cluster.sent, BTreeMap::from([("Prepare", 4), ("Promise", 4), ("Heartbeat", 4)]));
    for value in [10, 11, 12] {
        cluster.sent.clear();
        cluster.request(0, command(value - 9, append(value)));
        cluster.deliver_all(|_| false);
        assert_eq!(cluster.sent, BTreeMap::from([("Accept", 4), ("Accepted", 4)]), "2(N-1), no phase 1");
    }
    assert_eq!(cluster.replies.len(), 3);
    assert_eq!(store_of(&cluster, 1), vec![10, 11], "slot 3's decision waits for the next message");
    cluster.sent.clear();
    cluster.timeout(0, MultiPaxosTimer::Heartbeat);
    cluster.deliver_all(|_| false);
    assert_eq!(cluster.sent, BTreeMap::from([("Heartbeat", 4)]));
    for id in 1..SERVERS {
        assert_eq!(store_of(&cluster, id), vec![10, 11, 12], "the heartbeat carried the decision");
    }
    assert_eq!(cluster.violation, None);
}

/// Leader 0 proposes slot 1 (reaching nobody) and slot 2 (reaching 1 and 2, so it is
/// chosen, though nobody learns it), then crashes; server 3 takes over with 1, 2 and 4.
fn leader_crash_with_a_gap() -> Cluster {
    let mut cluster = Cluster::new(CORRECT);
    cluster.timeout(0, MultiPaxosTimer::Election);
    cluster.deliver_all(|_| false);
    cluster.request(0, command(1, append(10)));
    cluster.network.clear();
    cluster.request(0, Command { client: CLIENT + 1, sequence: 1, operation: append(20) });
    cluster.deliver_all(|(from, to, _)| *from == 0 && ![1, 2].contains(to) || *to == 0);
    cluster.servers[0] = None;
    cluster.timeout(3, MultiPaxosTimer::Election);
    cluster.deliver_all(|_| false);
    cluster
}

#[test]
fn new_leader_recovers_a_chosen_slot_and_fills_the_gap_before_it_with_a_noop_pms_3() {
    let cluster = leader_crash_with_a_gap();
    assert_eq!(cluster.violation, None);
    assert_eq!(cluster.server(3).role(), Role::Leader);
    let slot_2 = Entry::Command(Command { client: CLIENT + 1, sequence: 1, operation: append(20) });
    assert_eq!(cluster.checker.chosen(1), Some(&Entry::Noop));
    assert_eq!(cluster.checker.chosen(2), Some(&slot_2));
    assert_eq!(cluster.server(3).replica().first_unexecuted(), 3);
    assert_eq!(store_of(&cluster, 3), vec![20], "the append of 10 was never chosen");
}

#[test]
fn restarted_server_relearns_the_log_through_catch_up() {
    let mut cluster = leader_crash_with_a_gap();
    let setup = cluster.setup.clone();
    cluster.servers[1] = Some(MultiPaxos::recover(&setup, 1, &[]));
    cluster.timeout(3, MultiPaxosTimer::Heartbeat);
    cluster.deliver_all(|_| false);
    assert_eq!(cluster.sent.get("CatchUp"), Some(&1));
    assert_eq!(cluster.server(1).replica().first_unexecuted(), 3);
    assert_eq!(store_of(&cluster, 1), vec![20]);
    assert_eq!(cluster.violation, None);
}

/// Server 0 leads and applies an append of 10, then is cut off; server 3 leads the rest
/// and applies an append of 11; then a client reads at server 0.
fn read_at_a_deposed_leader(variant: &'static str) -> Cluster {
    let mut cluster = Cluster::new(variant);
    cluster.timeout(0, MultiPaxosTimer::Election);
    cluster.deliver_all(|_| false);
    cluster.request(0, command(1, append(10)));
    cluster.deliver_all(|_| false);
    cluster.timeout(3, MultiPaxosTimer::Election);
    cluster.deliver_all(outside(&[1, 2, 3, 4]));
    cluster.request(3, command(2, append(11)));
    cluster.deliver_all(outside(&[1, 2, 3, 4]));
    assert_eq!(cluster.replies.last(), Some(&(CLIENT, done(2, ok_done()))));
    cluster.replies.clear();
    cluster.request(0, command(3, Operation::Read { key: 1 }));
    cluster.deliver_all(outside(&[1, 2, 3, 4]));
    cluster
}

#[test]
fn deposed_leader_serves_no_read_when_reads_go_through_the_log_pmmc_4_5() {
    let cluster = read_at_a_deposed_leader(CORRECT);
    assert_eq!(cluster.server(0).role(), Role::Leader, "server 0 has not heard of its successor");
    assert_eq!(cluster.replies, vec![], "its proposal of the read cannot be chosen");
    assert_eq!(cluster.violation, None);
}

#[test]
fn local_reads_variant_serves_a_stale_read_at_a_deposed_leader() {
    let cluster = read_at_a_deposed_leader(LOCAL_READS);
    assert_eq!(cluster.replies, vec![(CLIENT, done(3, Outcome::Ok(Reply::Values(vec![10]))))], "11 is missing");
    let violation = cluster.violation.expect("the checker flags the stale read");
    assert_eq!((violation.invariant, violation.nodes), ("fresh-reads", vec![0, 3]));
}
