//! The three-phase commit participant (Skeen 1981; BHG section 7.5): its votes, its moves
//! from uncertain (w) to pre-committed (p) to committed, its answers, and its recovery.
//! The failure detector, the election of a backup and the backup's termination protocol
//! are in `termination.rs`.
//!
//! Every state change is synced to the log before the message that reveals it: `Voted`
//! (with the locked keys, the appends, the reads and the other participants) before a yes
//! vote, `PreCommitted` before `Ack`, `Decided` before anything follows from it; a commit
//! appends the transaction to the lists it writes. A restarted participant rebuilds its
//! lists, its undecided transactions and their locks, and only asks for their outcome: it takes
//! no part in their termination protocol, where a stale state could mislead a backup
//! (Skeen and Stonebraker 1983).

mod termination;

use std::collections::{BTreeMap, BTreeSet};

use super::{SiteState, ThreePhaseCommit, ThreePhaseMessage, ThreePhaseRecord, ThreePhaseTimer, SUSPECT_ROUNDS};
use crate::commit::{
    ClientMessage, CommitObservation, Decision, LockTable, Reads, Share, Store, TransactionId, COORDINATOR,
};
use crate::node::{NodeId, ServerContext, Setup, Time};
use crate::service::Key;

#[derive(Clone, Debug)]
pub struct Participant {
    id: NodeId,
    timeout: Time,
    locks: LockTable,
    store: Store,
    transactions: BTreeMap<TransactionId, Entry>,
}

/// What a participant knows of one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    state: SiteState,
    /// Every participant, this one included, in id order (empty if it never voted).
    participants: Vec<NodeId>,
    /// The keys it locked with its yes vote, those it appends to on a commit, and what it read.
    keys: Vec<Key>,
    writes: Vec<Key>,
    reads: Reads,
    /// Restarted with the transaction undecided: it asks, and takes no part in termination.
    recovering: bool,
    /// The coordinator or backup it waits on, and those it no longer waits on.
    leader: NodeId,
    suspected: BTreeSet<NodeId>,
    /// It waited past a timeout and has not decided since.
    blocked: bool,
    /// Questions asked since its restart.
    queries: u32,
    /// The termination protocol, when this participant is the backup.
    backup: Option<Backup>,
}

/// A backup coordinator's progress through the termination protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Backup {
    /// Gathering local states, its own included.
    Collecting { reports: BTreeMap<NodeId, SiteState>, rounds: u32 },
    /// Some site was pre-committed: moving the uncertain ones to pre-committed.
    PreCommitting { uncertain: BTreeSet<NodeId>, acknowledged: BTreeSet<NodeId>, rounds: u32 },
}

impl Entry {
    fn new(state: SiteState, participants: Vec<NodeId>, keys: Vec<Key>) -> Entry {
        Entry {
            state,
            participants,
            keys,
            writes: Vec::new(),
            reads: Vec::new(),
            recovering: false,
            leader: COORDINATOR,
            suspected: BTreeSet::new(),
            blocked: false,
            queries: 0,
            backup: None,
        }
    }

    fn undecided(&self) -> bool {
        self.state.decision().is_none()
    }
}

impl Participant {
    /// Participant `id` rebuilt from its log: undecided transactions take their locks
    /// again and are recovering.
    pub fn recover(setup: &Setup, id: NodeId, records: &[ThreePhaseRecord]) -> Participant {
        let mut transactions = BTreeMap::new();
        let mut store = Store::default();
        for record in records {
            match record {
                ThreePhaseRecord::Voted { transaction, keys, writes, reads, participants } => {
                    let entry = Entry::new(SiteState::Uncertain, participants.clone(), keys.clone());
                    let (writes, reads) = (writes.clone(), reads.clone());
                    transactions.insert(*transaction, Entry { recovering: true, writes, reads, ..entry });
                }
                ThreePhaseRecord::PreCommitted { transaction } => {
                    if let Some(entry) = transactions.get_mut(transaction) {
                        entry.state = SiteState::PreCommitted;
                    }
                }
                ThreePhaseRecord::Decided { transaction, decision } => {
                    let entry = transactions
                        .entry(*transaction)
                        .or_insert_with(|| Entry::new(SiteState::Aborted, vec![], vec![]));
                    if *decision == Decision::Commit && entry.undecided() {
                        store.append(*transaction, &entry.writes);
                    }
                    entry.state = SiteState::of(*decision);
                    entry.recovering = false;
                }
                ThreePhaseRecord::Began { .. } | ThreePhaseRecord::Ended { .. } => {}
            }
        }
        let mut locks = LockTable::default();
        for (&transaction, entry) in transactions.iter().filter(|(_, entry)| entry.undecided()) {
            let locked = locks.lock(transaction, &entry.keys);
            assert!(locked, "undecided transactions never share a key");
        }
        Participant { id, timeout: setup.timeout, locks, store, transactions }
    }

    /// This participant's local state for `transaction`, if it knows the transaction.
    pub fn state(&self, transaction: TransactionId) -> Option<SiteState> {
        self.transactions.get(&transaction).map(|entry| entry.state)
    }

    /// The participant's locks.
    pub fn locks(&self) -> &LockTable {
        &self.locks
    }

    /// The participant's lists.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// After a restart, ask about every undecided transaction.
    pub fn on_recover(&mut self, ctx: &mut ServerContext<ThreePhaseCommit>) {
        for (&transaction, entry) in self.transactions.iter().filter(|(_, entry)| entry.undecided()) {
            ctx.observe(CommitObservation::Restarted { transaction });
            self.ask(ctx, transaction, entry);
            ctx.set_timer(self.timeout, ThreePhaseTimer::Suspect(transaction));
        }
    }

    /// Vote, forcing a yes vote to the log first; a repeated `CanCommit` gets the same vote
    /// (yes unless aborted) and shows the coordinator is alive.
    pub fn on_can_commit(
        &mut self,
        ctx: &mut ServerContext<ThreePhaseCommit>,
        transaction: TransactionId,
        share: Share,
        participants: Vec<NodeId>,
    ) {
        if let Some(entry) = self.transactions.get(&transaction) {
            let yes = entry.state != SiteState::Aborted;
            let reads = entry.reads.clone();
            ctx.send_after_sync(COORDINATOR, ThreePhaseMessage::Vote { transaction, yes, reads });
            if entry.undecided() && entry.leader == COORDINATOR && entry.backup.is_none() {
                self.wait_on_leader(ctx, transaction);
            }
            return;
        }
        let yes = self.locks.vote(transaction, &share);
        let reads = if yes { self.store.read(&share.reads) } else { Vec::new() };
        if yes {
            let Share { keys, writes, .. } = share;
            let record = ThreePhaseRecord::Voted {
                transaction,
                keys: keys.clone(),
                writes: writes.clone(),
                reads: reads.clone(),
                participants: participants.clone(),
            };
            ctx.write(record);
            ctx.sync();
            let entry = Entry::new(SiteState::Uncertain, participants, keys);
            self.transactions.insert(transaction, Entry { writes, reads: reads.clone(), ..entry });
            self.wait_on_leader(ctx, transaction);
            ctx.observe_after_sync(CommitObservation::Voted { transaction, yes });
        } else {
            // The no vote is an abort, synced before the vote leaves: reported with it.
            self.decide(ctx, transaction, Decision::Abort);
            ctx.observe_after_sync(CommitObservation::Voted { transaction, yes });
        }
        ctx.send_after_sync(COORDINATOR, ThreePhaseMessage::Vote { transaction, yes, reads });
    }

    /// Move from uncertain to pre-committed (synced) and acknowledge, to the coordinator or
    /// the backup that sent it.
    pub fn on_pre_commit(
        &mut self,
        ctx: &mut ServerContext<ThreePhaseCommit>,
        from: NodeId,
        transaction: TransactionId,
    ) {
        let Some(entry) = self.transactions.get_mut(&transaction) else { return };
        match entry.state {
            SiteState::Uncertain => {
                ctx.write(ThreePhaseRecord::PreCommitted { transaction });
                ctx.sync();
                entry.state = SiteState::PreCommitted;
            }
            SiteState::PreCommitted | SiteState::Committed => {}
            SiteState::Aborted => return,
        }
        if entry.undecided() && entry.backup.is_none() {
            self.wait_on_leader(ctx, transaction);
        }
        ctx.send_after_sync(from, ThreePhaseMessage::Ack { transaction });
    }

    /// Commit; tell the coordinator, which re-sends `DoCommit` until it hears it.
    pub fn on_do_commit(
        &mut self,
        ctx: &mut ServerContext<ThreePhaseCommit>,
        from: NodeId,
        transaction: TransactionId,
    ) {
        match self.state(transaction) {
            Some(SiteState::Aborted) => return,
            Some(SiteState::Committed) => {}
            Some(SiteState::Uncertain | SiteState::PreCommitted) | None => {
                self.decide(ctx, transaction, Decision::Commit)
            }
        }
        if from == COORDINATOR {
            ctx.send_after_sync(COORDINATOR, ThreePhaseMessage::HaveCommitted { transaction });
        }
    }

    /// Abort, unless already decided. Remembered even for a transaction it never voted
    /// on, so that a late `CanCommit` gets a no.
    pub fn on_abort(&mut self, ctx: &mut ServerContext<ThreePhaseCommit>, transaction: TransactionId) {
        if self.state(transaction).and_then(SiteState::decision).is_none() {
            self.decide(ctx, transaction, Decision::Abort);
        }
    }

    /// A restarted site asks: answer if decided.
    pub fn on_decision_request(
        &mut self,
        ctx: &mut ServerContext<ThreePhaseCommit>,
        from: NodeId,
        transaction: TransactionId,
    ) {
        if let Some(decision) = self.state(transaction).and_then(SiteState::decision) {
            ctx.send(from, outcome(transaction, decision));
        }
    }

    /// A client asks for the outcome: answer if it is known here.
    pub fn on_inquiry(
        &mut self,
        ctx: &mut ServerContext<ThreePhaseCommit>,
        client: NodeId,
        transaction: TransactionId,
    ) {
        if let Some(decision) = self.state(transaction).and_then(SiteState::decision) {
            let reply = ClientMessage::Reply { transaction, decision, reads: Vec::new() };
            ctx.send(client, ThreePhaseMessage::Client(reply));
        }
    }

    /// Records the decision (synced), applies a commit's appends, releases the locks, stops
    /// waiting and backing up.
    fn decide(&mut self, ctx: &mut ServerContext<ThreePhaseCommit>, transaction: TransactionId, decision: Decision) {
        ctx.write(ThreePhaseRecord::Decided { transaction, decision });
        ctx.sync();
        ctx.observe_after_sync(CommitObservation::Decided { transaction, decision });
        self.locks.release(transaction);
        let entry =
            self.transactions.entry(transaction).or_insert_with(|| Entry::new(SiteState::Aborted, vec![], vec![]));
        if entry.undecided() {
            ctx.cancel_timer(ThreePhaseTimer::Suspect(transaction));
            if decision == Decision::Commit {
                self.store.append(transaction, &entry.writes);
            }
        }
        if entry.backup.take().is_some() {
            ctx.cancel_timer(ThreePhaseTimer::Retry(transaction));
        }
        entry.state = SiteState::of(decision);
        entry.recovering = false;
    }

    /// (Re)starts the wait on the coordinator or backup.
    fn wait_on_leader(&self, ctx: &mut ServerContext<ThreePhaseCommit>, transaction: TransactionId) {
        ctx.set_timer(self.timeout * u64::from(SUSPECT_ROUNDS), ThreePhaseTimer::Suspect(transaction));
    }

    /// A restarted site's question, to the coordinator and every other participant.
    fn ask(&self, ctx: &mut ServerContext<ThreePhaseCommit>, transaction: TransactionId, entry: &Entry) {
        let others = entry.participants.iter().copied().filter(|&p| p != self.id);
        for to in std::iter::once(COORDINATOR).chain(others) {
            ctx.send(to, ThreePhaseMessage::DecisionRequest { transaction });
        }
    }

    pub(super) fn invariants(&self) {
        for (&transaction, entry) in &self.transactions {
            if entry.undecided() {
                assert!(self.locks.holds(transaction, &entry.keys), "node {}: {transaction} lost a lock", self.id);
                assert_ne!(entry.leader, self.id, "a backup does not wait on itself");
            } else {
                assert!(entry.backup.is_none(), "node {}: backing up the decided {transaction}", self.id);
            }
            assert!(!(entry.recovering && entry.backup.is_some()), "a recovering site cannot be a backup");
        }
        for holder in self.locks.holders() {
            let undecided = self.transactions.get(&holder).is_some_and(Entry::undecided);
            assert!(undecided, "node {}: {holder} holds locks but is decided", self.id);
        }
    }
}

/// The message that carries `decision`.
fn outcome(transaction: TransactionId, decision: Decision) -> ThreePhaseMessage {
    match decision {
        Decision::Commit => ThreePhaseMessage::DoCommit { transaction },
        Decision::Abort => ThreePhaseMessage::Abort { transaction },
    }
}
