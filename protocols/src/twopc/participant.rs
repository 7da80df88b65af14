//! The two-phase commit participant (BHG section 7.4).
//!
//! It votes on each `Prepare` with its lock table: a yes vote locks the keys, reads the
//! lists the transaction reads, is forced to the log (`Prepared`, with the reads) before it
//! is sent with them, and leaves the participant uncertain; a no vote aborts, forced to the
//! log before the vote is sent. It
//! applies the coordinator's decision, forcing a commit to the log before acknowledging it
//! (the coordinator forgets a commit once every participant has acknowledged it, so a
//! participant must not lose one), appends a committed transaction to the lists it writes,
//! and releases its locks. An
//! uncertain participant that hears nothing for `UNCERTAIN_ROUNDS` timeouts is blocked and
//! asks the coordinator until it learns the outcome; in the `unilateral-abort` variant it
//! aborts instead. A restarted participant rebuilds its lists from its log (the appends of
//! its recorded commits, in order), takes the locks of its prepared transactions again from
//! their records and asks at once.

use std::collections::BTreeMap;

use super::{
    TwoPhaseCommit, TwoPhaseMessage, TwoPhaseRecord, TwoPhaseTimer, QUERY_DOUBLINGS, UNCERTAIN_ROUNDS, UNILATERAL_ABORT,
};
use crate::commit::{
    ClientMessage, CommitObservation, Decision, LockTable, Reads, Share, Store, TransactionId, COORDINATOR,
};
use crate::node::{NodeId, ServerContext, Setup, Time};
use crate::service::Key;

#[derive(Clone, Debug)]
pub struct Participant {
    id: NodeId,
    timeout: Time,
    unilateral_abort: bool,
    locks: LockTable,
    store: Store,
    transactions: BTreeMap<TransactionId, State>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    /// Voted yes: holds the locks on `keys` until the decision, appends to `writes` on a
    /// commit, and read `reads`. `queries` counts the `Uncertain` timeouts so far; past the
    /// first, the participant is blocked.
    Prepared { keys: Vec<Key>, writes: Vec<Key>, reads: Reads, queries: u32 },
    /// A no vote is an abort decision.
    Decided(Decision),
}

impl Participant {
    /// Participant `id` rebuilt from its log: prepared transactions without a decision are
    /// uncertain again and hold their locks again.
    pub fn recover(setup: &Setup, id: NodeId, records: &[TwoPhaseRecord]) -> Participant {
        let mut participant = Participant {
            id,
            timeout: setup.timeout,
            unilateral_abort: setup.is(UNILATERAL_ABORT),
            locks: LockTable::default(),
            store: Store::default(),
            transactions: BTreeMap::new(),
        };
        for record in records {
            match record {
                TwoPhaseRecord::Prepared { transaction, keys, writes, reads } => {
                    let (keys, writes, reads) = (keys.clone(), writes.clone(), reads.clone());
                    participant.transactions.insert(*transaction, State::Prepared { keys, writes, reads, queries: 0 });
                }
                TwoPhaseRecord::Decided { transaction, decision } => {
                    if let (Decision::Commit, Some(State::Prepared { writes, .. })) =
                        (decision, participant.transactions.get(transaction))
                    {
                        participant.store.append(*transaction, writes);
                    }
                    participant.transactions.insert(*transaction, State::Decided(*decision));
                }
                TwoPhaseRecord::Began { .. } | TwoPhaseRecord::Ended { .. } => {}
            }
        }
        for (&transaction, state) in &participant.transactions {
            if let State::Prepared { keys, .. } = state {
                let locked = participant.locks.lock(transaction, keys);
                assert!(locked, "prepared transactions never share a key");
            }
        }
        participant
    }

    /// The decision on `transaction`, if this participant knows it.
    pub fn decision(&self, transaction: TransactionId) -> Option<Decision> {
        match self.transactions.get(&transaction) {
            Some(State::Decided(decision)) => Some(*decision),
            _ => None,
        }
    }

    /// The participant's locks.
    pub fn locks(&self) -> &LockTable {
        &self.locks
    }

    /// The participant's lists.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// After a restart, every uncertain transaction asks the coordinator at once.
    pub fn on_recover(&mut self, ctx: &mut ServerContext<TwoPhaseCommit>) {
        for (&transaction, state) in &self.transactions {
            if let State::Prepared { .. } = state {
                ctx.observe(CommitObservation::Restarted { transaction });
                ctx.send(COORDINATOR, TwoPhaseMessage::DecisionRequest { transaction });
                ctx.set_timer(self.timeout, TwoPhaseTimer::Uncertain(transaction));
            }
        }
    }

    /// Phase 1: vote, forcing a yes vote to the log first; a repeated `Prepare` gets the
    /// same vote again (yes unless aborted, with the same reads).
    pub fn on_prepare(&mut self, ctx: &mut ServerContext<TwoPhaseCommit>, transaction: TransactionId, share: Share) {
        if let Some(state) = self.transactions.get(&transaction) {
            // The same vote again; a yes once the record behind it is durable (it may still
            // be syncing), a no at once (aborts are not forced).
            let (yes, reads) = match state {
                State::Prepared { reads, .. } => (true, reads.clone()),
                State::Decided(decision) => (*decision == Decision::Commit, Vec::new()),
            };
            let vote = TwoPhaseMessage::Vote { transaction, yes, reads };
            if yes {
                ctx.send_after_sync(COORDINATOR, vote);
            } else {
                ctx.send(COORDINATOR, vote);
            }
            return;
        }
        let yes = self.locks.vote(transaction, &share);
        let reads = if yes { self.store.read(&share.reads) } else { Vec::new() };
        if yes {
            let Share { keys, writes, .. } = share;
            let record = TwoPhaseRecord::Prepared {
                transaction,
                keys: keys.clone(),
                writes: writes.clone(),
                reads: reads.clone(),
            };
            ctx.write(record);
            ctx.sync();
            ctx.set_timer(self.timeout * u64::from(UNCERTAIN_ROUNDS), TwoPhaseTimer::Uncertain(transaction));
            let prepared = State::Prepared { keys, writes, reads: reads.clone(), queries: 0 };
            self.transactions.insert(transaction, prepared);
        } else {
            ctx.write(TwoPhaseRecord::Decided { transaction, decision: Decision::Abort });
            self.transactions.insert(transaction, State::Decided(Decision::Abort));
        }
        if !yes {
            // The abort is forced before the no vote leaves. Presumed abort would let it go
            // unforced, but a participant whose Prepare carries its whole share answers a
            // late copy of that Prepare after a restart as a new one: a crash that lost the
            // abort after the no vote left would let it vote twice, no and then yes.
            ctx.send_after_sync(COORDINATOR, TwoPhaseMessage::Vote { transaction, yes, reads });
            ctx.observe_after_sync(CommitObservation::Voted { transaction, yes });
            return ctx.observe_after_sync(CommitObservation::Decided { transaction, decision: Decision::Abort });
        }
        // A yes vote is a durable promise: reported once it is durable, as it is sent.
        ctx.observe_after_sync(CommitObservation::Voted { transaction, yes });
        ctx.send_after_sync(COORDINATOR, TwoPhaseMessage::Vote { transaction, yes, reads });
    }

    /// Phase 2: apply the decision and acknowledge a commit (again, if the coordinator
    /// re-sent it because the acknowledgement was lost). An abort for a transaction this
    /// participant never prepared is remembered, so that a late `Prepare` gets a no.
    pub fn on_decision(
        &mut self,
        ctx: &mut ServerContext<TwoPhaseCommit>,
        transaction: TransactionId,
        decision: Decision,
    ) {
        match self.transactions.get(&transaction) {
            Some(State::Decided(known)) => {
                if *known == Decision::Commit && decision == Decision::Commit {
                    ctx.send_after_sync(COORDINATOR, TwoPhaseMessage::Ack { transaction });
                }
            }
            Some(State::Prepared { .. }) | None => {
                self.decide(ctx, transaction, decision);
                if decision == Decision::Commit {
                    ctx.send_after_sync(COORDINATOR, TwoPhaseMessage::Ack { transaction });
                }
            }
        }
    }

    /// A client asks for the outcome: answer if it is known here.
    pub fn on_inquiry(&mut self, ctx: &mut ServerContext<TwoPhaseCommit>, client: NodeId, transaction: TransactionId) {
        if let Some(decision) = self.decision(transaction) {
            let reply = ClientMessage::Reply { transaction, decision, reads: Vec::new() };
            ctx.send(client, TwoPhaseMessage::Client(reply));
        }
    }

    /// Still uncertain: blocked, ask the coordinator (again, after a growing interval); or,
    /// in the `unilateral-abort` variant, abort.
    pub fn on_uncertain(&mut self, ctx: &mut ServerContext<TwoPhaseCommit>, transaction: TransactionId) {
        let Some(State::Prepared { queries, .. }) = self.transactions.get_mut(&transaction) else { return };
        if self.unilateral_abort {
            ctx.observe(CommitObservation::TimedOut { transaction });
            self.decide(ctx, transaction, Decision::Abort);
            return;
        }
        if *queries == 0 {
            ctx.observe(CommitObservation::Blocked { transaction });
        }
        *queries += 1;
        let interval = self.timeout << (*queries).min(QUERY_DOUBLINGS);
        ctx.send(COORDINATOR, TwoPhaseMessage::DecisionRequest { transaction });
        ctx.set_timer(interval, TwoPhaseTimer::Uncertain(transaction));
    }

    /// Records the decision (forcing a commit), applies a commit's appends, releases the
    /// locks.
    fn decide(&mut self, ctx: &mut ServerContext<TwoPhaseCommit>, transaction: TransactionId, decision: Decision) {
        ctx.write(TwoPhaseRecord::Decided { transaction, decision });
        if decision == Decision::Commit {
            ctx.sync();
            if let Some(State::Prepared { writes, .. }) = self.transactions.get(&transaction) {
                self.store.append(transaction, writes);
            }
            ctx.observe_after_sync(CommitObservation::Decided { transaction, decision });
        } else {
            ctx.observe(CommitObservation::Decided { transaction, decision });
        }
        ctx.cancel_timer(TwoPhaseTimer::Uncertain(transaction));
        self.locks.release(transaction);
        self.transactions.insert(transaction, State::Decided(decision));
    }

    pub(super) fn invariants(&self) {
        for (&transaction, state) in &self.transactions {
            if let State::Prepared { keys, .. } = state {
                assert!(self.locks.holds(transaction, keys), "node {}: prepared {transaction} lost a lock", self.id);
            }
        }
        for holder in self.locks.holders() {
            let prepared = matches!(self.transactions.get(&holder), Some(State::Prepared { .. }));
            assert!(prepared, "node {}: transaction {holder} holds locks but is not prepared", self.id);
        }
    }
}
