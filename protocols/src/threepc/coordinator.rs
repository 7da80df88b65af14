//! The three-phase commit coordinator (Skeen 1981; BHG section 7.5).
//!
//! Per transaction: voting (`CanCommit`), then pre-committing (`PreCommit`, waiting for
//! acks), then committed (`DoCommit`, re-sent until each participant answers
//! `HaveCommitted`); a no vote or late votes abort. Each step is synced to the log before
//! the message it allows. Late acks do not stop it: after `ACK_ROUNDS` timeouts it commits,
//! taking the silent participants for failed (Skeen's coordinator timeout in state p). A
//! recovered coordinator aborts what it had not pre-committed, re-sends its commits, and
//! for what it had pre-committed but not decided, asks the participants, whose termination
//! protocol may have decided either way while it was down.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    ThreePhaseCommit, ThreePhaseMessage, ThreePhaseRecord, ThreePhaseTimer, ACK_ROUNDS, DECISION_RESENDS,
    QUERY_DOUBLINGS, VOTE_ROUNDS,
};
use crate::commit::{self, shares, ClientMessage, CommitObservation, Decision, Reads, Share, TransactionId};
use crate::node::{NodeId, ServerContext, Setup, Time};

/// The coordinator's state: every transaction it began.
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
    /// What each participant that voted yes read (in memory only).
    reads: BTreeMap<NodeId, Reads>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// Collecting votes: each participant's share (to re-send `CanCommit`) and the yes
    /// votes. A recovered coordinator has no shares and aborts at once.
    Voting { shares: BTreeMap<NodeId, Share>, yes: BTreeSet<NodeId> },
    /// `PreCommit` sent; the participants that acknowledged it.
    PreCommitting { acknowledged: BTreeSet<NodeId> },
    /// Restarted after pre-committing, with no decision: asking the participants.
    Inquiring,
    /// Committed; the participants that answered `HaveCommitted`.
    Committing { committed: BTreeSet<NodeId> },
    /// Aborted, or committed and known committed everywhere.
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
            Phase::Voting { .. } | Phase::PreCommitting { .. } | Phase::Inquiring => None,
            Phase::Committing { .. } => Some(Decision::Commit),
            Phase::Done(decision) => Some(decision),
        }
    }

    fn silent<'a>(&'a self, answered: &'a BTreeSet<NodeId>) -> impl Iterator<Item = NodeId> + 'a {
        self.participants.iter().copied().filter(move |p| !answered.contains(p))
    }
}

impl Coordinator {
    /// The coordinator rebuilt from its log; `on_recover` then acts on what is undecided.
    pub fn recover(setup: &Setup, records: &[ThreePhaseRecord]) -> Coordinator {
        let mut transactions = BTreeMap::new();
        for record in records {
            let (transaction, phase) = match record {
                ThreePhaseRecord::Began { transaction, participants } => {
                    let phase = Phase::Voting { shares: BTreeMap::new(), yes: BTreeSet::new() };
                    transactions.insert(*transaction, Transaction::new(participants.clone(), BTreeSet::new(), phase));
                    continue;
                }
                ThreePhaseRecord::PreCommitted { transaction } => (transaction, Phase::Inquiring),
                ThreePhaseRecord::Decided { transaction, decision: Decision::Commit } => {
                    (transaction, Phase::Committing { committed: BTreeSet::new() })
                }
                ThreePhaseRecord::Decided { transaction, decision: Decision::Abort } => {
                    (transaction, Phase::Done(Decision::Abort))
                }
                ThreePhaseRecord::Ended { transaction } => (transaction, Phase::Done(Decision::Commit)),
                ThreePhaseRecord::Voted { .. } => continue,
            };
            if let Some(begun) = transactions.get_mut(transaction) {
                begun.phase = phase;
            }
        }
        Coordinator { servers: setup.servers, timeout: setup.timeout, transactions }
    }

    /// The decision on `transaction`, if any.
    pub fn decision(&self, transaction: TransactionId) -> Option<Decision> {
        self.transactions.get(&transaction).and_then(Transaction::decision)
    }

    /// After a restart: abort what was not pre-committed (no site can be past w), ask about
    /// what was, re-send commits not known to have been carried out.
    pub fn on_recover(&mut self, ctx: &mut ServerContext<ThreePhaseCommit>) {
        let ids: Vec<TransactionId> = self.transactions.keys().copied().collect();
        for transaction in ids {
            let Some(recovered) = self.transactions.get(&transaction) else { continue };
            match recovered.phase {
                Phase::Voting { .. } => {
                    ctx.observe(CommitObservation::Restarted { transaction });
                    self.decide(ctx, transaction, Decision::Abort, None);
                }
                Phase::Inquiring => {
                    ctx.observe(CommitObservation::Restarted { transaction });
                    for &participant in &recovered.participants {
                        ctx.send(participant, ThreePhaseMessage::DecisionRequest { transaction });
                    }
                    ctx.set_timer(self.timeout, ThreePhaseTimer::Retry(transaction));
                }
                Phase::Committing { .. } => {
                    for &participant in &recovered.participants {
                        ctx.send(participant, ThreePhaseMessage::DoCommit { transaction });
                    }
                    ctx.set_timer(self.timeout, ThreePhaseTimer::Retry(transaction));
                }
                Phase::PreCommitting { .. } | Phase::Done(_) => {}
            }
        }
    }

    /// A client's request: begin the transaction (`CanCommit`), or answer what is known.
    pub fn on_request(
        &mut self,
        ctx: &mut ServerContext<ThreePhaseCommit>,
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
        ctx.write(ThreePhaseRecord::Began { transaction, participants: participants.clone() });
        ctx.sync();
        let (keys, vetoes) = (requested.keys.clone(), requested.vetoes.clone());
        ctx.observe_after_sync(CommitObservation::Began { transaction, keys, vetoes });
        for (&participant, share) in &shares {
            let participants = participants.clone();
            ctx.send_after_sync(
                participant,
                ThreePhaseMessage::CanCommit { transaction, share: share.clone(), participants },
            );
        }
        ctx.set_timer(self.timeout, ThreePhaseTimer::Retry(transaction));
        let phase = Phase::Voting { shares, yes: BTreeSet::new() };
        self.transactions.insert(transaction, Transaction::new(participants, BTreeSet::from([client]), phase));
    }

    /// Every vote yes: pre-commit. The first no: abort.
    pub fn on_vote(
        &mut self,
        ctx: &mut ServerContext<ThreePhaseCommit>,
        from: NodeId,
        transaction: TransactionId,
        yes: bool,
        reads: Reads,
    ) {
        let Some(voting) = self.transactions.get_mut(&transaction) else { return };
        if !voting.participants.contains(&from) {
            return;
        }
        let Phase::Voting { yes: yeses, .. } = &mut voting.phase else { return };
        if !yes {
            self.decide(ctx, transaction, Decision::Abort, Some(from));
            return;
        }
        yeses.insert(from);
        voting.reads.insert(from, reads);
        if yeses.len() < voting.participants.len() {
            return;
        }
        ctx.write(ThreePhaseRecord::PreCommitted { transaction });
        ctx.sync();
        for &participant in &voting.participants {
            ctx.send_after_sync(participant, ThreePhaseMessage::PreCommit { transaction });
        }
        voting.phase = Phase::PreCommitting { acknowledged: BTreeSet::new() };
        voting.rounds = 0;
        ctx.set_timer(self.timeout, ThreePhaseTimer::Retry(transaction));
    }

    /// Every participant pre-committed: commit.
    pub fn on_ack(&mut self, ctx: &mut ServerContext<ThreePhaseCommit>, from: NodeId, transaction: TransactionId) {
        let Some(pre_committing) = self.transactions.get_mut(&transaction) else { return };
        let Phase::PreCommitting { acknowledged } = &mut pre_committing.phase else { return };
        if pre_committing.participants.contains(&from) {
            acknowledged.insert(from);
        }
        if acknowledged.len() == pre_committing.participants.len() {
            self.decide(ctx, transaction, Decision::Commit, None);
        }
    }

    pub fn on_have_committed(
        &mut self,
        ctx: &mut ServerContext<ThreePhaseCommit>,
        from: NodeId,
        transaction: TransactionId,
    ) {
        let Some(committing) = self.transactions.get_mut(&transaction) else { return };
        let Phase::Committing { committed } = &mut committing.phase else { return };
        if committing.participants.contains(&from) {
            committed.insert(from);
        }
        if committed.len() == committing.participants.len() {
            committing.phase = Phase::Done(Decision::Commit);
            ctx.write(ThreePhaseRecord::Ended { transaction });
            ctx.cancel_timer(ThreePhaseTimer::Retry(transaction));
        }
    }

    /// A participant's answer to the questions of a restarted coordinator.
    pub fn on_outcome(
        &mut self,
        ctx: &mut ServerContext<ThreePhaseCommit>,
        transaction: TransactionId,
        decision: Decision,
    ) {
        let Some(inquiring) = self.transactions.get_mut(&transaction) else { return };
        if inquiring.phase != Phase::Inquiring {
            return;
        }
        ctx.write(ThreePhaseRecord::Decided { transaction, decision });
        ctx.sync();
        ctx.observe_after_sync(CommitObservation::Decided { transaction, decision });
        for client in std::mem::take(&mut inquiring.clients) {
            ctx.send_after_sync(client, reply(transaction, decision, Vec::new()));
        }
        inquiring.phase = Phase::Done(decision);
        ctx.cancel_timer(ThreePhaseTimer::Retry(transaction));
    }

    /// A restarted participant asks: answer if decided.
    pub fn on_decision_request(
        &mut self,
        ctx: &mut ServerContext<ThreePhaseCommit>,
        from: NodeId,
        transaction: TransactionId,
    ) {
        if let Some(decision) = self.decision(transaction) {
            ctx.send(from, outcome(transaction, decision));
        }
    }

    /// A round is late: re-send to the silent participants, or act on the answers in hand.
    pub fn on_retry(&mut self, ctx: &mut ServerContext<ThreePhaseCommit>, transaction: TransactionId) {
        let Some(pending) = self.transactions.get_mut(&transaction) else { return };
        pending.rounds += 1;
        let rounds = pending.rounds;
        let mut again = self.timeout;
        match &pending.phase {
            Phase::Voting { .. } if rounds >= VOTE_ROUNDS => return self.time_out(ctx, transaction, Decision::Abort),
            Phase::PreCommitting { .. } if rounds >= ACK_ROUNDS => {
                return self.time_out(ctx, transaction, Decision::Commit)
            }
            Phase::Voting { shares, yes } => {
                for (&participant, share) in shares.iter().filter(|(p, _)| !yes.contains(p)) {
                    let participants = pending.participants.clone();
                    let can_commit = ThreePhaseMessage::CanCommit { transaction, share: share.clone(), participants };
                    ctx.send(participant, can_commit);
                }
            }
            Phase::PreCommitting { acknowledged } => {
                for participant in pending.silent(acknowledged) {
                    ctx.send(participant, ThreePhaseMessage::PreCommit { transaction });
                }
            }
            Phase::Inquiring => {
                for &participant in &pending.participants {
                    ctx.send(participant, ThreePhaseMessage::DecisionRequest { transaction });
                }
                again = self.timeout << rounds.min(QUERY_DOUBLINGS);
            }
            Phase::Committing { committed } if rounds <= DECISION_RESENDS => {
                for participant in pending.silent(committed) {
                    ctx.send(participant, ThreePhaseMessage::DoCommit { transaction });
                }
                again = self.timeout << rounds.min(QUERY_DOUBLINGS);
            }
            Phase::Committing { .. } | Phase::Done(_) => return,
        }
        ctx.set_timer(again, ThreePhaseTimer::Retry(transaction));
    }

    fn time_out(&mut self, ctx: &mut ServerContext<ThreePhaseCommit>, transaction: TransactionId, decision: Decision) {
        ctx.observe(CommitObservation::TimedOut { transaction });
        self.decide(ctx, transaction, decision, None);
    }

    /// Records the decision (synced), tells the participants (all but `no_voter`, which
    /// aborted when it voted) and the waiting clients.
    fn decide(
        &mut self,
        ctx: &mut ServerContext<ThreePhaseCommit>,
        transaction: TransactionId,
        decision: Decision,
        no_voter: Option<NodeId>,
    ) {
        let Some(deciding) = self.transactions.get_mut(&transaction) else { return };
        ctx.write(ThreePhaseRecord::Decided { transaction, decision });
        ctx.sync();
        ctx.observe_after_sync(CommitObservation::Decided { transaction, decision });
        for &participant in deciding.participants.iter().filter(|&&p| Some(p) != no_voter) {
            ctx.send_after_sync(participant, outcome(transaction, decision));
        }
        let reads = if decision == Decision::Commit { deciding.reads() } else { Vec::new() };
        for client in std::mem::take(&mut deciding.clients) {
            ctx.send_after_sync(client, reply(transaction, decision, reads.clone()));
        }
        deciding.rounds = 0;
        match decision {
            Decision::Commit => {
                deciding.phase = Phase::Committing { committed: BTreeSet::new() };
                ctx.set_timer(self.timeout, ThreePhaseTimer::Retry(transaction));
            }
            Decision::Abort => {
                deciding.phase = Phase::Done(Decision::Abort);
                ctx.cancel_timer(ThreePhaseTimer::Retry(transaction));
            }
        }
    }

    pub(super) fn invariants(&self) {
        for (id, transaction) in &self.transactions {
            let within = |set: &BTreeSet<NodeId>| set.iter().all(|p| transaction.participants.contains(p));
            let answers = match &transaction.phase {
                Phase::Voting { yes, .. } => Some(yes),
                Phase::PreCommitting { acknowledged } => Some(acknowledged),
                Phase::Committing { committed } => Some(committed),
                Phase::Inquiring | Phase::Done(_) => None,
            };
            assert!(answers.is_none_or(within), "transaction {id}: an answer from a stranger");
            if transaction.decision().is_some() {
                assert!(transaction.clients.is_empty(), "transaction {id}: a client waits on a decided transaction");
            }
        }
    }
}

/// The message that carries `decision` to a participant.
fn outcome(transaction: TransactionId, decision: Decision) -> ThreePhaseMessage {
    match decision {
        Decision::Commit => ThreePhaseMessage::DoCommit { transaction },
        Decision::Abort => ThreePhaseMessage::Abort { transaction },
    }
}

fn reply(transaction: TransactionId, decision: Decision, reads: Reads) -> ThreePhaseMessage {
    ThreePhaseMessage::Client(ClientMessage::Reply { transaction, decision, reads })
}
