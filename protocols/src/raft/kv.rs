//! The catalogued `raft` protocol: Raft replicating the kv [`Store`] for the shared
//! [`KvClient`], the host whose message, timer, record and observation types are Raft's own.
//!
//! The store is the machine: its writes, appends and compare-and-sets are updates, its
//! reads are ReadIndex queries. Raft's sessions ([`Replicated`](super::Replicated)) apply
//! each retried update once, so the store's own session table (which Multi-Paxos uses) stays
//! empty here: Raft applies operations with [`Store::execute`].

use super::Raft;
use super::{
    Flaw, Options, RaftChecker, RaftHost, RaftMessage, RaftObservation, RaftRecord, RaftServer, RaftSettings, Reply,
    Request, ServerTimer, Stamp, StateMachine, COMMIT_OLD_TERM, STALE_READ, STALE_SNAPSHOT, VOLATILE_VOTE,
    VOTE_WITHOUT_LOG_CHECK,
};
use crate::kv::{ClientTimer, Command, KvClient, KvOperation, KvProtocol, KvReply, KvService, Response, Store};
use crate::node::{Milestone, NodeId, Protocol, Server, ServerContext, Setup, SyncId, Variant, CORRECT};
use crate::service::Outcome;

/// The catalogued protocol's timers: a server's, or a client's.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RaftTimer {
    /// Followers and candidates: no leader was heard from (section 5.2).
    Election,
    /// The leader: time to send heartbeats.
    Heartbeat,
    Client(ClientTimer),
}

impl StateMachine for Store {
    type Operation = KvOperation;
    type Output = Outcome<KvReply>;

    fn is_query(operation: &KvOperation) -> bool {
        !operation.is_update()
    }

    fn apply(&mut self, _stamp: &Stamp, operation: &KvOperation) -> Outcome<KvReply> {
        self.execute(operation)
    }

    fn query(&self, _stamp: &Stamp, operation: &KvOperation) -> Outcome<KvReply> {
        Outcome::Ok(KvReply::Values(self.read(operation.key())))
    }
}

impl Protocol for Raft {
    const NAME: &'static str = "raft";
    const ABOUT: &'static str =
        "Raft consensus (Ongaro and Ousterhout 2014; Ongaro's thesis) replicating a key-value store, \
         with ReadIndex reads and client sessions";
    const VARIANTS: &'static [Variant] = &[
        Variant { name: CORRECT, about: "Raft as in the extended paper, with ReadIndex reads (thesis 6.4)" },
        Variant {
            name: COMMIT_OLD_TERM,
            about: "the leader commits entries of earlier terms by counting replicas, and appends no no-op when \
                    its term starts, as in Figure 8 (section 5.4.2)",
        },
        Variant {
            name: VOLATILE_VOTE,
            about: "currentTerm and votedFor are not persisted, so a restarted server votes twice (Figure 2)",
        },
        Variant {
            name: VOTE_WITHOUT_LOG_CHECK,
            about: "votes are granted without the up-to-date log check (section 5.4.1)",
        },
        Variant {
            name: STALE_READ,
            about: "the leader serves reads from its own state without confirming it still leads (thesis 6.4)",
        },
        Variant {
            name: STALE_SNAPSHOT,
            about: "a follower installs any snapshot it is sent, even one older than its commit index (a late or \
                    duplicated InstallSnapshot), discarding its whole log and rolling its store back; the thesis's \
                    Figure 5.3 keeps the entries after a snapshot the log holds, and etcd's raft ignores a snapshot \
                    at or below its commit index",
        },
    ];
    const MILESTONES: &'static [Milestone] = &[
        Milestone { name: "leader-elected", about: "a candidate won an election" },
        Milestone { name: "entry-committed", about: "a leader committed a log entry" },
        Milestone { name: "entry-applied", about: "a server applied a committed entry to its store" },
        Milestone { name: "snapshot-taken", about: "a server snapshotted its store and compacted its log" },
        Milestone { name: "snapshot-installed", about: "a follower installed its leader's snapshot" },
    ];

    type Service = KvService;
    type Settings = RaftSettings;
    type Message = RaftMessage;
    type Timer = RaftTimer;
    type Record = RaftRecord;
    type Observation = RaftObservation;
    type Server = RaftServer;
    type Client = KvClient<Raft>;
    type Checker = RaftChecker;

    fn server(setup: &Setup<RaftSettings>, id: NodeId) -> RaftServer {
        RaftServer::new(setup, id)
    }

    fn recover(setup: &Setup<RaftSettings>, id: NodeId, records: &[RaftRecord]) -> RaftServer {
        RaftServer::recover(setup, id, records)
    }

    fn client(setup: &Setup<RaftSettings>, id: NodeId) -> KvClient<Raft> {
        KvClient::new(setup, id)
    }

    fn checker(setup: &Setup<RaftSettings>) -> RaftChecker {
        RaftChecker::new(setup)
    }

    fn milestone(observation: &RaftObservation) -> Option<&'static str> {
        Some(match observation {
            RaftObservation::LeaderElected { .. } => "leader-elected",
            RaftObservation::Committed { .. } => "entry-committed",
            RaftObservation::Applied { .. } => "entry-applied",
            RaftObservation::SnapshotTaken { .. } => "snapshot-taken",
            RaftObservation::SnapshotInstalled { .. } => "snapshot-installed",
            RaftObservation::Restored { .. } => return None,
        })
    }
}

impl RaftHost for Raft {
    type Machine = Store;

    fn options(setup: &Setup<RaftSettings>) -> Options {
        Options { flaw: Flaw::of(setup.variant), settings: setup.settings }
    }

    fn message(message: RaftMessage) -> RaftMessage {
        message
    }

    fn timer(timer: ServerTimer) -> RaftTimer {
        match timer {
            ServerTimer::Election => RaftTimer::Election,
            ServerTimer::Heartbeat => RaftTimer::Heartbeat,
        }
    }

    fn record(record: RaftRecord) -> RaftRecord {
        record
    }

    fn observation(observation: RaftObservation) -> RaftObservation {
        observation
    }

    fn as_record(record: &RaftRecord) -> Option<&RaftRecord> {
        Some(record)
    }

    fn as_observation(observation: &RaftObservation) -> Option<&RaftObservation> {
        Some(observation)
    }

    fn as_server(server: &RaftServer) -> Option<&RaftServer> {
        Some(server)
    }
}

impl Server<Raft> for RaftServer {
    fn on_start(&mut self, ctx: &mut ServerContext<Raft>) {
        self.start(ctx);
    }

    fn on_message(&mut self, ctx: &mut ServerContext<Raft>, from: NodeId, message: RaftMessage) {
        self.handle_message(ctx, from, message);
    }

    fn on_timer(&mut self, ctx: &mut ServerContext<Raft>, timer: RaftTimer) {
        match timer {
            RaftTimer::Election => self.handle_timer(ctx, ServerTimer::Election),
            RaftTimer::Heartbeat => self.handle_timer(ctx, ServerTimer::Heartbeat),
            RaftTimer::Client(_) => {}
        }
    }

    fn on_synced(&mut self, ctx: &mut ServerContext<Raft>, sync: SyncId) {
        self.handle_synced(ctx, sync);
    }

    fn invariants(&self) {
        self.check();
    }
}

impl KvProtocol for Raft {
    fn request(command: Command) -> RaftMessage {
        let Command { client, sequence, operation } = command;
        RaftMessage::ClientRequest(Request { client, sequence, operation })
    }

    fn response(message: RaftMessage) -> Option<Response> {
        match message {
            RaftMessage::ClientReply(Reply::Done { sequence, output }) => {
                Some(Response::Done { sequence, outcome: output })
            }
            RaftMessage::ClientReply(Reply::NotLeader { sequence, leader }) => {
                Some(Response::NotLeader { sequence, leader })
            }
            _ => None,
        }
    }

    fn client_timer(timer: ClientTimer) -> RaftTimer {
        RaftTimer::Client(timer)
    }

    fn as_client_timer(timer: RaftTimer) -> Option<ClientTimer> {
        match timer {
            RaftTimer::Client(timer) => Some(timer),
            _ => None,
        }
    }
}
