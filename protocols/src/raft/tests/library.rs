//! Raft as a library: a host protocol with its own machine, message, timer, record and
//! observation types and its own client, built on `RaftServer` and `RaftChecker` without
//! copying them. The machine is a ledger of writes, each told its log index (a fencing
//! token) and the leader's clock when it was appended; the client follows redirects.

use super::*;
use crate::consensus::{Chosen, ConsensusService, Propose};
use crate::node::{Client, ClientContext, Milestone, NoSettings, Protocol, Server, ServerContext, SetupOf, SyncId};
use crate::service::Value;
use crate::testing::Cluster;

/// The replicated machine: every write with its stamp.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct Ledger {
    writes: Vec<(Value, Stamp)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum LedgerOperation {
    Write(Value),
    Count,
}

impl std::fmt::Display for LedgerOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl StateMachine for Ledger {
    type Operation = LedgerOperation;
    /// A write's fencing token; a count's number of writes.
    type Output = u64;

    fn is_query(operation: &LedgerOperation) -> bool {
        *operation == LedgerOperation::Count
    }

    fn apply(&mut self, stamp: &Stamp, operation: &LedgerOperation) -> u64 {
        let LedgerOperation::Write(value) = operation else { unreachable!("a count is a query") };
        self.writes.push((*value, *stamp));
        stamp.index
    }

    fn query(&self, _stamp: &Stamp, _operation: &LedgerOperation) -> u64 {
        self.writes.len() as u64
    }
}

#[derive(Debug)]
struct Ledgered;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum LedgerMessage {
    Raft(RaftMessage<Ledger>),
}

impl crate::node::Message for LedgerMessage {
    fn kind(&self) -> &'static str {
        let LedgerMessage::Raft(message) = self;
        message.kind()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum LedgerTimer {
    Raft(ServerTimer),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum LedgerRecord {
    Raft(RaftRecord<Ledger>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum LedgerObservation {
    Raft(RaftObservation<Ledger>),
}

impl std::fmt::Display for LedgerObservation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let LedgerObservation::Raft(observation) = self;
        observation.fmt(f)
    }
}

#[derive(Debug)]
struct LedgerServer {
    raft: RaftServer<Ledgered>,
}

impl Server<Ledgered> for LedgerServer {
    fn on_start(&mut self, ctx: &mut ServerContext<Ledgered>) {
        self.raft.start(ctx);
    }

    fn on_message(&mut self, ctx: &mut ServerContext<Ledgered>, from: NodeId, message: LedgerMessage) {
        let LedgerMessage::Raft(message) = message;
        self.raft.handle_message(ctx, from, message);
    }

    fn on_timer(&mut self, ctx: &mut ServerContext<Ledgered>, timer: LedgerTimer) {
        let LedgerTimer::Raft(timer) = timer;
        self.raft.handle_timer(ctx, timer);
    }

    fn on_synced(&mut self, ctx: &mut ServerContext<Ledgered>, sync: SyncId) {
        self.raft.handle_synced(ctx, sync);
    }

    fn invariants(&self) {
        self.raft.check();
    }
}

/// Sends each proposal as a ledger write to the server it believes leads, follows
/// redirects, and completes with the write's fencing token.
#[derive(Debug)]
struct LedgerClient {
    id: NodeId,
    leader: NodeId,
    sequence: u64,
    pending: Option<Value>,
}

impl LedgerClient {
    fn send(&self, ctx: &mut ClientContext<Ledgered>) {
        let value = self.pending.expect("an operation in progress");
        let request = Request { client: self.id, sequence: self.sequence, operation: LedgerOperation::Write(value) };
        ctx.send(self.leader, LedgerMessage::Raft(RaftMessage::ClientRequest(request)));
    }
}

impl Client<Ledgered> for LedgerClient {
    fn on_request(&mut self, ctx: &mut ClientContext<Ledgered>, operation: Propose) {
        self.sequence += 1;
        self.pending = Some(operation.value);
        self.send(ctx);
    }

    fn on_message(&mut self, ctx: &mut ClientContext<Ledgered>, _from: NodeId, message: LedgerMessage) {
        match message {
            LedgerMessage::Raft(RaftMessage::ClientReply(Reply::Done { sequence, output }))
                if sequence == self.sequence =>
            {
                self.pending = None;
                ctx.complete(Outcome::Ok(Chosen(output)));
            }
            LedgerMessage::Raft(RaftMessage::ClientReply(Reply::NotLeader { leader: Some(leader), .. })) => {
                self.leader = leader;
                self.send(ctx);
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, _ctx: &mut ClientContext<Ledgered>, _timer: LedgerTimer) {}
}

impl Protocol for Ledgered {
    const NAME: &'static str = "ledger";
    const ABOUT: &'static str = "a ledger of fenced writes on Raft (a test of Raft as a library)";
    const VARIANTS: &'static [crate::node::Variant] = &[crate::node::Variant { name: CORRECT, about: "correct" }];
    const MILESTONES: &'static [Milestone] = &[];

    type Service = ConsensusService;
    type Settings = NoSettings;
    type Message = LedgerMessage;
    type Timer = LedgerTimer;
    type Record = LedgerRecord;
    type Observation = LedgerObservation;
    type Server = LedgerServer;
    type Client = LedgerClient;
    type Checker = RaftChecker<Ledgered>;

    fn server(setup: &SetupOf<Self>, id: NodeId) -> LedgerServer {
        LedgerServer { raft: RaftServer::new(setup, id) }
    }

    fn recover(setup: &SetupOf<Self>, id: NodeId, records: &[LedgerRecord]) -> LedgerServer {
        let records = records.iter().map(|LedgerRecord::Raft(record)| record);
        LedgerServer { raft: RaftServer::recover(setup, id, records) }
    }

    fn client(_setup: &SetupOf<Self>, id: NodeId) -> LedgerClient {
        LedgerClient { id, leader: 1, sequence: 0, pending: None }
    }

    fn checker(setup: &SetupOf<Self>) -> RaftChecker<Ledgered> {
        RaftChecker::new(setup)
    }

    fn milestone(_observation: &LedgerObservation) -> Option<&'static str> {
        None
    }
}

impl RaftHost for Ledgered {
    type Machine = Ledger;

    fn options(_setup: &SetupOf<Self>) -> Options {
        Options::correct()
    }

    fn message(message: RaftMessage<Ledger>) -> LedgerMessage {
        LedgerMessage::Raft(message)
    }

    fn timer(timer: ServerTimer) -> LedgerTimer {
        LedgerTimer::Raft(timer)
    }

    fn record(record: RaftRecord<Ledger>) -> LedgerRecord {
        LedgerRecord::Raft(record)
    }

    fn observation(observation: RaftObservation<Ledger>) -> LedgerObservation {
        LedgerObservation::Raft(observation)
    }

    fn as_record(record: &LedgerRecord) -> Option<&RaftRecord<Ledger>> {
        let LedgerRecord::Raft(record) = record;
        Some(record)
    }

    fn as_observation(observation: &LedgerObservation) -> Option<&RaftObservation<Ledger>> {
        let LedgerObservation::Raft(observation) = observation;
        Some(observation)
    }

    fn as_server(server: &LedgerServer) -> Option<&RaftServer<Ledgered>> {
        Some(&server.raft)
    }
}

#[test]
fn a_host_protocol_replicates_its_own_machine_and_gets_fencing_tokens_and_leader_time() {
    let setup: SetupOf<Ledgered> = testing::setup(3, 1, CORRECT, TIMEOUT);
    let mut cluster = Cluster::<Ledgered>::new(setup, SEED);
    cluster.fire(0, LedgerTimer::Raft(ServerTimer::Election));
    cluster.deliver_all(|_| false);
    let client = 3;
    cluster.request(client, Propose { value: 7 });
    cluster.deliver_all(|_| false);
    cluster.request(client, Propose { value: 8 });
    cluster.deliver_all(|_| false);
    assert_eq!(
        cluster.outcomes,
        vec![(client, Outcome::Ok(Chosen(2))), (client, Outcome::Ok(Chosen(3)))],
        "redirected from server 1 to the leader; the tokens are the log indexes after the no-op"
    );
    cluster.fire(0, LedgerTimer::Raft(ServerTimer::Heartbeat));
    cluster.deliver_all(|_| false);
    let leader_log = cluster.server(0).raft.log();
    let appended_at: Vec<Time> = leader_log.entries()[1..].iter().map(|entry| entry.time).collect();
    assert!(appended_at[0] > 0 && appended_at[0] < appended_at[1], "the leader's clock when it appended");
    for id in 0..3 {
        let writes = &cluster.server(id).raft.machine().writes;
        let stamp = |index, time| Stamp { client, index, term: 1, time };
        let expected = vec![(7, stamp(2, appended_at[0])), (8, stamp(3, appended_at[1]))];
        assert_eq!(writes, &expected, "server {id} applied the same stamps");
    }
    assert_eq!(cluster.violation, None);
}
