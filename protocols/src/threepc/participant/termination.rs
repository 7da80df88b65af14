//! The participant's failure detector, the election of a backup coordinator, and the
//! backup's termination protocol (Skeen 1981, the central-site termination protocol; BHG
//! section 7.5, "termination protocol" and "election").
//!
//! Election: a participant waiting on its coordinator (or backup) for `SUSPECT_ROUNDS`
//! timeouts suspects it and takes as backup the lowest-id participant it does not suspect.
//! If that is itself, it starts the termination protocol; otherwise it waits on that one,
//! and suspects it in turn if it stays silent. A `StateRequest` from a backup tells the
//! participant that every lower participant is suspected: it adopts that backup.
//!
//! Termination, at the backup: gather the local states (`StateRequest`, `StateReport`),
//! re-asking the silent each timeout, for at most `REPORT_ROUNDS` timeouts; then decide:
//! - some site aborted: abort;
//! - some site committed: commit;
//! - some site pre-committed: move to p (synced) if uncertain, send `PreCommit` to the
//!   uncertain sites, and commit once they acknowledge (or after `ACK_ROUNDS` timeouts);
//! - every site uncertain: abort, since the coordinator cannot have committed.
//!
//! Then send `DoCommit` or `Abort` to every other participant. A backup that fails is
//! replaced the same way; the rules stay consistent, because the states a backup leaves
//! behind (some p, some decision) lead the next one to the same outcome.

use std::collections::{BTreeMap, BTreeSet};

use super::{outcome, Backup, Participant};
use crate::commit::{CommitObservation, Decision, TransactionId, COORDINATOR};
use crate::node::{NodeId, ServerContext};
use crate::threepc::{
    SiteState, ThreePhaseCommit, ThreePhaseMessage, ThreePhaseRecord, ThreePhaseTimer, ACK_ROUNDS, QUERY_DOUBLINGS,
    REPORT_ROUNDS,
};

impl Participant {
    /// The coordinator or backup it waited on was silent too long (or, restarted, it had
    /// no answer): blocked for now; suspect it and elect the next backup, or ask again.
    pub fn on_suspect(&mut self, ctx: &mut ServerContext<ThreePhaseCommit>, transaction: TransactionId) {
        let id = self.id;
        let Some(entry) = self.transactions.get_mut(&transaction) else { return };
        if !entry.undecided() || entry.backup.is_some() {
            return;
        }
        if !entry.blocked {
            entry.blocked = true;
            ctx.observe(CommitObservation::Blocked { transaction });
        }
        if entry.recovering {
            entry.queries += 1;
            let interval = self.timeout << entry.queries.min(QUERY_DOUBLINGS);
            let entry = entry.clone();
            self.ask(ctx, transaction, &entry);
            ctx.set_timer(interval, ThreePhaseTimer::Suspect(transaction));
            return;
        }
        entry.suspected.insert(entry.leader);
        let candidate = entry.participants.iter().copied().find(|p| !entry.suspected.contains(p)).unwrap_or(id);
        if candidate == id {
            self.start_termination(ctx, transaction);
        } else {
            entry.leader = candidate;
            self.wait_on_leader(ctx, transaction);
        }
    }

    /// A backup asks for this participant's state: report it and wait on that backup. A
    /// site that never voted aborts first (state q may abort unilaterally); a restarted one
    /// keeps out.
    pub fn on_state_request(
        &mut self,
        ctx: &mut ServerContext<ThreePhaseCommit>,
        backup: NodeId,
        transaction: TransactionId,
    ) {
        let id = self.id;
        let Some(entry) = self.transactions.get_mut(&transaction) else {
            self.decide(ctx, transaction, Decision::Abort);
            ctx.send_after_sync(backup, ThreePhaseMessage::StateReport { transaction, state: SiteState::Aborted });
            return;
        };
        if entry.recovering {
            return;
        }
        let state = entry.state;
        let own_termination_stands = entry.backup.is_some() && backup > id;
        if entry.undecided() && !own_termination_stands {
            if entry.backup.take().is_some() {
                ctx.cancel_timer(ThreePhaseTimer::Retry(transaction));
            }
            entry.leader = backup;
            let lower = entry.participants.iter().copied().filter(|&p| p < backup);
            entry.suspected.extend(std::iter::once(COORDINATOR).chain(lower));
            self.wait_on_leader(ctx, transaction);
        }
        ctx.send(backup, ThreePhaseMessage::StateReport { transaction, state });
    }

    /// A state report reaches the backup; a decided one, or the last, settles it.
    pub fn on_state_report(
        &mut self,
        ctx: &mut ServerContext<ThreePhaseCommit>,
        from: NodeId,
        transaction: TransactionId,
        state: SiteState,
    ) {
        let Some(entry) = self.transactions.get_mut(&transaction) else { return };
        let Some(Backup::Collecting { reports, .. }) = &mut entry.backup else { return };
        reports.insert(from, state);
        if state.decision().is_some() || reports.len() == entry.participants.len() {
            self.conclude(ctx, transaction);
        }
    }

    /// An uncertain site moved to pre-committed at the backup's word.
    pub fn on_backup_ack(
        &mut self,
        ctx: &mut ServerContext<ThreePhaseCommit>,
        from: NodeId,
        transaction: TransactionId,
    ) {
        let Some(entry) = self.transactions.get_mut(&transaction) else { return };
        let Some(Backup::PreCommitting { uncertain, acknowledged, .. }) = &mut entry.backup else { return };
        if uncertain.contains(&from) {
            acknowledged.insert(from);
        }
        if acknowledged.len() == uncertain.len() {
            self.backup_decide(ctx, transaction, Decision::Commit);
        }
    }

    /// A backup's round is late: ask the silent again, or act on what it has.
    pub fn on_backup_retry(&mut self, ctx: &mut ServerContext<ThreePhaseCommit>, transaction: TransactionId) {
        let Some(entry) = self.transactions.get_mut(&transaction) else { return };
        let silent: Vec<NodeId> = match &mut entry.backup {
            Some(Backup::Collecting { reports, rounds }) => {
                *rounds += 1;
                if *rounds >= REPORT_ROUNDS {
                    ctx.observe(CommitObservation::TimedOut { transaction });
                    return self.conclude(ctx, transaction);
                }
                entry.participants.iter().copied().filter(|p| !reports.contains_key(p)).collect()
            }
            Some(Backup::PreCommitting { uncertain, acknowledged, rounds }) => {
                *rounds += 1;
                if *rounds >= ACK_ROUNDS {
                    ctx.observe(CommitObservation::TimedOut { transaction });
                    return self.backup_decide(ctx, transaction, Decision::Commit);
                }
                uncertain.difference(acknowledged).copied().collect()
            }
            None => return,
        };
        let message = match entry.backup {
            Some(Backup::Collecting { .. }) => ThreePhaseMessage::StateRequest { transaction },
            _ => ThreePhaseMessage::PreCommit { transaction },
        };
        for participant in silent {
            ctx.send(participant, message.clone());
        }
        ctx.set_timer(self.timeout, ThreePhaseTimer::Retry(transaction));
    }

    /// Elected: become the backup and ask every other participant for its state.
    fn start_termination(&mut self, ctx: &mut ServerContext<ThreePhaseCommit>, transaction: TransactionId) {
        let id = self.id;
        let Some(entry) = self.transactions.get_mut(&transaction) else { return };
        ctx.observe(CommitObservation::TerminationStarted { transaction });
        let reports = BTreeMap::from([(id, entry.state)]);
        entry.backup = Some(Backup::Collecting { reports, rounds: 0 });
        let others: Vec<NodeId> = entry.participants.iter().copied().filter(|&p| p != id).collect();
        if others.is_empty() {
            return self.conclude(ctx, transaction);
        }
        for participant in others {
            ctx.send(participant, ThreePhaseMessage::StateRequest { transaction });
        }
        ctx.set_timer(self.timeout, ThreePhaseTimer::Retry(transaction));
    }

    /// The termination rules, applied to the states gathered.
    fn conclude(&mut self, ctx: &mut ServerContext<ThreePhaseCommit>, transaction: TransactionId) {
        let id = self.id;
        let Some(entry) = self.transactions.get_mut(&transaction) else { return };
        let Some(Backup::Collecting { reports, .. }) = &entry.backup else { return };
        // Its own state as it is now: a coordinator's late message may have moved it.
        let own = entry.state;
        let states = || reports.iter().map(|(&p, &reported)| if p == id { own } else { reported });
        let any = |state: SiteState| states().any(|reported| reported == state);
        let decision = if any(SiteState::Aborted) {
            Decision::Abort
        } else if any(SiteState::Committed) {
            Decision::Commit
        } else if !any(SiteState::PreCommitted) {
            Decision::Abort
        } else {
            let uncertain: BTreeSet<NodeId> = reports
                .iter()
                .filter(|&(&p, &state)| p != id && state == SiteState::Uncertain)
                .map(|(&p, _)| p)
                .collect();
            return self.pre_commit_uncertain(ctx, transaction, uncertain);
        };
        self.backup_decide(ctx, transaction, decision);
    }

    /// Some site is pre-committed: move this one and the uncertain ones to p, then commit.
    fn pre_commit_uncertain(
        &mut self,
        ctx: &mut ServerContext<ThreePhaseCommit>,
        transaction: TransactionId,
        uncertain: BTreeSet<NodeId>,
    ) {
        let Some(entry) = self.transactions.get_mut(&transaction) else { return };
        if entry.state == SiteState::Uncertain {
            ctx.write(ThreePhaseRecord::PreCommitted { transaction });
            ctx.sync();
            entry.state = SiteState::PreCommitted;
        }
        if uncertain.is_empty() {
            return self.backup_decide(ctx, transaction, Decision::Commit);
        }
        for &participant in &uncertain {
            ctx.send_after_sync(participant, ThreePhaseMessage::PreCommit { transaction });
        }
        entry.backup = Some(Backup::PreCommitting { uncertain, acknowledged: BTreeSet::new(), rounds: 0 });
        ctx.set_timer(self.timeout, ThreePhaseTimer::Retry(transaction));
    }

    /// The backup decides and tells every other participant.
    fn backup_decide(
        &mut self,
        ctx: &mut ServerContext<ThreePhaseCommit>,
        transaction: TransactionId,
        decision: Decision,
    ) {
        let id = self.id;
        let participants =
            self.transactions.get(&transaction).map(|entry| entry.participants.clone()).unwrap_or_default();
        self.decide(ctx, transaction, decision);
        for participant in participants.into_iter().filter(|&p| p != id) {
            ctx.send_after_sync(participant, outcome(transaction, decision));
        }
    }
}
