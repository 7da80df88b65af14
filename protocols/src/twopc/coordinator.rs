//! The two-phase commit coordinator (BHG section 7.4; presumed abort, R* section 3).
//!
//! Per transaction it moves from voting to a decision: commit once every participant voted
//! yes, abort on a no vote or when the votes are late. A commit is forced to the log before
//! it is sent and re-sent until every participant acknowledges it; an abort is presumed, so
//! it is neither forced nor acknowledged. The reads that come with the yes votes go to the
//! client with a commit (kept in memory only: a recovered coordinator answers without
//! them). A recovered coordinator aborts the transactions it began without deciding,
//! re-sends its unacknowledged commits, and answers questions from its log, presuming abort
//! for a transaction it knows nothing of.

use std::collections::{BTreeMap, BTreeSet};

use super::{TwoPhaseCommit, TwoPhaseMessage, TwoPhaseRecord, TwoPhaseTimer, DECISION_RESENDS, VOTE_ROUNDS};
use crate::commit::{self, shares, ClientMessage, CommitObservation, Decision, Reads, Share, TransactionId};
use crate::node::{NodeId, ServerContext, Setup, Time};

/// The coordinator's state: every transaction it began or answered for.
#[derive(Clone, Debug)]
pub struct Coordinator {
    servers: u32,
    timeout: Time,
    transactions: BTreeMap<TransactionId, Transaction>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Transaction {
    participants: Vec<NodeId>,
    /// Clients waiting for the outcome.
    clients: BTreeSet<NodeId>,
    phase: Phase,
    /// `Retry` timeouts in the current phase.
    rounds: u32,
    /// What each participant that voted yes read.
    reads: BTreeMap<NodeId, Reads>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// Collecting votes: each participant's share (to re-send `Prepare`) and the yes votes.
    /// A recovered coordinator has no shares and aborts at once.
    Voting { shares: BTreeMap<NodeId, Share>, yes: BTreeSet<NodeId> },
    /// Commit decided; the participants that acknowledged it.
    Committing { acknowledged: BTreeSet<NodeId> },
    /// Aborted, or committed and acknowledged by every participant.
    Done(Decision),
}

impl Transaction {
    fn new(participants: Vec<NodeId>, clients: BTreeSet<NodeId>, phase: Phase) -> Transaction {
        Transaction { participants, clients, phase, rounds: 0, reads: BTreeMap::new() }
    }

    /// The reads of every participant, in key order.
    fn reads(&self) -> Reads {
        let mut reads: Reads = self.reads.values().flatten().cloned().collect();
        reads.sort_unstable();
        reads
    }

    fn decision(&self) -> Option<Decision> {
        match self.phase {
            Phase::Voting { .. } => None,
            Phase::Committing { .. } => Some(Decision::Commit),
            Phase::Done(decision) => Some(decision),
        }
    }
}

impl Coordinator {
    /// The coordinator rebuilt from its log: decided transactions keep their decision
    /// (a commit not yet `Ended` waits for acknowledgements again), and those begun without
    /// one are left voting, with no shares, for `on_recover` to abort.
    pub fn recover(setup: &Setup, records: &[TwoPhaseRecord]) -> Coordinator {
        let mut transactions = BTreeMap::new();
        for record in records {
            match record {
                TwoPhaseRecord::Began { transaction, participants } => {
                    let phase = Phase::Voting { shares: BTreeMap::new(), yes: BTreeSet::new() };
                    transactions.insert(*transaction, Transaction::new(participants.clone(), BTreeSet::new(), phase));
                }
                TwoPhaseRecord::Decided { transaction, decision } => {
                    if let Some(begun) = transactions.get_mut(transaction) {
                        begun.phase = match decision {
                            Decision::Commit => Phase::Committing { acknowledged: BTreeSet::new() },
                            Decision::Abort => Phase::Done(Decision::Abort),
                        };
                    }
                }
                TwoPhaseRecord::Ended { transaction } => {
                    if let Some(ended) = transactions.get_mut(transaction) {
                        ended.phase = Phase::Done(Decision::Commit);
                    }
                }
                TwoPhaseRecord::Prepared { .. } => {}
            }
        }
        Coordinator { servers: setup.servers, timeout: setup.timeout, transactions }
    }

    /// The decision on `transaction`, if any.
    pub fn decision(&self, transaction: TransactionId) -> Option<Decision> {
        self.transactions.get(&transaction).and_then(Transaction::decision)
    }

    /// After a restart: presume abort for every transaction without a decision, re-send
    /// every commit not known to be acknowledged.
    pub fn on_recover(&mut self, ctx: &mut ServerContext<TwoPhaseCommit>) {
        let undecided: Vec<TransactionId> =
            self.transactions.iter().filter(|(_, t)| t.decision().is_none()).map(|(&id, _)| id).collect();
        for transaction in undecided {
            ctx.observe(CommitObservation::Restarted { transaction });
            self.decide(ctx, transaction, Decision::Abort, None);
        }
        for (&transaction, begun) in &self.transactions {
            if let Phase::Committing { .. } = begun.phase {
                send_decision(ctx, &begun.participants, transaction, Decision::Commit);
                ctx.set_timer(self.timeout, TwoPhaseTimer::Retry(transaction));
            }
        }
    }

    /// A client's request: begin the transaction, or answer with what is known of it.
    pub fn on_request(
        &mut self,
        ctx: &mut ServerContext<TwoPhaseCommit>,
        client: NodeId,
        requested: &commit::Transaction,
    ) {
        let transaction = requested.value;
        if let Some(known) = self.transactions.get_mut(&transaction) {
            match known.decision() {
                Some(decision) => ctx.send(client, reply(transaction, decision, known.reads())),
                None => {
                    known.clients.insert(client);
                }
            }
            return;
        }
        let shares = shares(self.servers, requested);
        let participants: Vec<NodeId> = shares.keys().copied().collect();
        ctx.write(TwoPhaseRecord::Began { transaction, participants: participants.clone() });
        ctx.sync();
        let (keys, vetoes) = (requested.keys.clone(), requested.vetoes.clone());
        ctx.observe_after_sync(CommitObservation::Began { transaction, keys, vetoes });
        for (&participant, share) in &shares {
            ctx.send_after_sync(participant, TwoPhaseMessage::Prepare { transaction, share: share.clone() });
        }
        ctx.set_timer(self.timeout, TwoPhaseTimer::Retry(transaction));
        let phase = Phase::Voting { shares, yes: BTreeSet::new() };
        self.transactions.insert(transaction, Transaction::new(participants, BTreeSet::from([client]), phase));
    }

    /// Phase 1 ends with every vote yes (commit) or the first no (abort).
    pub fn on_vote(
        &mut self,
        ctx: &mut ServerContext<TwoPhaseCommit>,
        from: NodeId,
        transaction: TransactionId,
        yes: bool,
        reads: Reads,
    ) {
        let Some(voting) = self.transactions.get_mut(&transaction) else { return };
        if !voting.participants.contains(&from) {
            return;
        }
        match &mut voting.phase {
            Phase::Voting { yes: yeses, .. } if yes => {
                yeses.insert(from);
                voting.reads.insert(from, reads);
                if yeses.len() == voting.participants.len() {
                    self.decide(ctx, transaction, Decision::Commit, None);
                }
            }
            Phase::Voting { .. } => self.decide(ctx, transaction, Decision::Abort, Some(from)),
            // A yes vote that comes after the abort: tell that participant now.
            Phase::Done(Decision::Abort) if yes => ctx.send(from, decision(transaction, Decision::Abort)),
            Phase::Committing { .. } | Phase::Done(_) => {}
        }
    }

    pub fn on_ack(&mut self, ctx: &mut ServerContext<TwoPhaseCommit>, from: NodeId, transaction: TransactionId) {
        let Some(committing) = self.transactions.get_mut(&transaction) else { return };
        let Phase::Committing { acknowledged } = &mut committing.phase else { return };
        if committing.participants.contains(&from) {
            acknowledged.insert(from);
        }
        if acknowledged.len() == committing.participants.len() {
            committing.phase = Phase::Done(Decision::Commit);
            ctx.write(TwoPhaseRecord::Ended { transaction });
            ctx.cancel_timer(TwoPhaseTimer::Retry(transaction));
        }
    }

    /// A blocked participant asks: answer a decision, presume abort for an unknown
    /// transaction, stay silent while still voting.
    pub fn on_decision_request(
        &mut self,
        ctx: &mut ServerContext<TwoPhaseCommit>,
        from: NodeId,
        transaction: TransactionId,
    ) {
        match self.transactions.get(&transaction).map(Transaction::decision) {
            Some(Some(known)) => ctx.send(from, decision(transaction, known)),
            Some(None) => {}
            None => {
                let presumed = Transaction::new(vec![from], BTreeSet::new(), Phase::Done(Decision::Abort));
                self.transactions.insert(transaction, presumed);
                ctx.write(TwoPhaseRecord::Decided { transaction, decision: Decision::Abort });
                ctx.observe(CommitObservation::Decided { transaction, decision: Decision::Abort });
                ctx.send(from, decision(transaction, Decision::Abort));
            }
        }
    }

    /// Votes are late (re-send `Prepare` to the silent participants, or abort after
    /// `VOTE_ROUNDS`), or a commit is unacknowledged (re-send it, up to `DECISION_RESENDS`).
    pub fn on_retry(&mut self, ctx: &mut ServerContext<TwoPhaseCommit>, transaction: TransactionId) {
        let Some(pending) = self.transactions.get_mut(&transaction) else { return };
        pending.rounds += 1;
        match &pending.phase {
            Phase::Voting { .. } if pending.rounds >= VOTE_ROUNDS => {
                ctx.observe(CommitObservation::TimedOut { transaction });
                self.decide(ctx, transaction, Decision::Abort, None);
            }
            Phase::Voting { shares, yes } => {
                for (&participant, share) in shares.iter().filter(|(p, _)| !yes.contains(p)) {
                    ctx.send(participant, TwoPhaseMessage::Prepare { transaction, share: share.clone() });
                }
                ctx.set_timer(self.timeout, TwoPhaseTimer::Retry(transaction));
            }
            Phase::Committing { acknowledged } if pending.rounds <= DECISION_RESENDS => {
                let silent: Vec<NodeId> =
                    pending.participants.iter().copied().filter(|p| !acknowledged.contains(p)).collect();
                send_decision(ctx, &silent, transaction, Decision::Commit);
                ctx.set_timer(self.timeout << pending.rounds.min(3), TwoPhaseTimer::Retry(transaction));
            }
            Phase::Committing { .. } | Phase::Done(_) => {}
        }
    }

    /// Phase 2: record the decision (forcing a commit), tell the participants (all but
    /// `no_voter`, which aborted when it voted) and the waiting clients.
    fn decide(
        &mut self,
        ctx: &mut ServerContext<TwoPhaseCommit>,
        transaction: TransactionId,
        decision: Decision,
        no_voter: Option<NodeId>,
    ) {
        let Some(deciding) = self.transactions.get_mut(&transaction) else { return };
        ctx.write(TwoPhaseRecord::Decided { transaction, decision });
        // A commit is reported once durable; an abort, never forced, at once.
        if decision == Decision::Commit {
            ctx.sync();
            ctx.observe_after_sync(CommitObservation::Decided { transaction, decision });
        } else {
            ctx.observe(CommitObservation::Decided { transaction, decision });
        }
        let told: Vec<NodeId> = deciding.participants.iter().copied().filter(|&p| Some(p) != no_voter).collect();
        // A commit goes out only once it is durable; an abort is not forced (presumed abort).
        let forced = decision == Decision::Commit;
        let clients = std::mem::take(&mut deciding.clients);
        let reads = if decision == Decision::Commit { deciding.reads() } else { Vec::new() };
        let messages = told.iter().map(|&to| (to, self::decision(transaction, decision)));
        let replies = clients.into_iter().map(|to| (to, reply(transaction, decision, reads.clone())));
        for (to, message) in messages.chain(replies) {
            if forced {
                ctx.send_after_sync(to, message);
            } else {
                ctx.send(to, message);
            }
        }
        deciding.rounds = 0;
        deciding.phase = match decision {
            Decision::Commit => Phase::Committing { acknowledged: BTreeSet::new() },
            Decision::Abort => Phase::Done(Decision::Abort),
        };
        match decision {
            Decision::Commit => ctx.set_timer(self.timeout, TwoPhaseTimer::Retry(transaction)),
            Decision::Abort => ctx.cancel_timer(TwoPhaseTimer::Retry(transaction)),
        }
    }

    pub(super) fn invariants(&self) {
        for (id, transaction) in &self.transactions {
            let within = |set: &BTreeSet<NodeId>| set.iter().all(|p| transaction.participants.contains(p));
            match &transaction.phase {
                Phase::Voting { yes, .. } => assert!(within(yes), "transaction {id}: a yes vote from a stranger"),
                Phase::Committing { acknowledged } => {
                    assert!(within(acknowledged), "transaction {id}: an acknowledgement from a stranger")
                }
                Phase::Done(_) => {}
            }
            if transaction.decision().is_some() {
                assert!(transaction.clients.is_empty(), "transaction {id}: a client waits on a decided transaction");
            }
        }
    }
}

fn send_decision(
    ctx: &mut ServerContext<TwoPhaseCommit>,
    to: &[NodeId],
    transaction: TransactionId,
    decision: Decision,
) {
    for &participant in to {
        ctx.send(participant, self::decision(transaction, decision));
    }
}

fn decision(transaction: TransactionId, decision: Decision) -> TwoPhaseMessage {
    TwoPhaseMessage::Decision { transaction, decision }
}

fn reply(transaction: TransactionId, decision: Decision, reads: Reads) -> TwoPhaseMessage {
    TwoPhaseMessage::Client(ClientMessage::Reply { transaction, decision, reads })
}
