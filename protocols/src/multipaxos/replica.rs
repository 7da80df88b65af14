//! The replica (PMMC section 2.1; Paxos Made Simple section 3): it learns which entry is
//! chosen in each slot and applies the chosen entries to the key-value store strictly in
//! slot order, waiting at a gap until the slot is chosen.
//!
//! A follower learns chosen slots three ways: piggybacked on the leader's `Accept` and
//! `Heartbeat` (`first_unchosen`: every lower slot whose accepted proposal has the
//! message's ballot holds the chosen entry, since a leader proposes one entry per slot per
//! ballot and, in a slot it knows chosen, only the chosen one); from `Decide` messages
//! answering its `CatchUp`, for slots it never accepted in the leader's ballot; and, as a
//! leader, from a majority of `Accepted`. The store's client sessions apply each command
//! once, however many slots hold it (Raft thesis section 6.3).

use std::collections::BTreeMap;
use std::ops::Bound;

use super::{
    Ballot, Entry, MultiPaxos, MultiPaxosMessage, MultiPaxosObservation, MultiPaxosServer, Slot,
    DECISIONS_PER_MESSAGE_MAX,
};
use crate::kv::{Command, KvReply, Store};
use crate::node::{NodeId, ServerContext};
use crate::service::Outcome;

/// What a replica knows: the chosen entries, how far it applied them, and its store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replica {
    chosen: BTreeMap<Slot, Entry>,
    /// Every slot below it is chosen and applied (PMMC's `slot_out`).
    first_unexecuted: Slot,
    store: Store,
}

impl Default for Replica {
    fn default() -> Self {
        Replica { chosen: BTreeMap::new(), first_unexecuted: 1, store: Store::default() }
    }
}

impl Replica {
    /// The first slot not applied yet; every earlier slot is chosen and applied.
    pub fn first_unexecuted(&self) -> Slot {
        self.first_unexecuted
    }

    /// The entry known to be chosen in `slot`.
    pub fn chosen(&self, slot: Slot) -> Option<&Entry> {
        self.chosen.get(&slot)
    }

    /// The highest slot known to be chosen (0 if none).
    pub fn last_chosen(&self) -> Slot {
        self.chosen.last_key_value().map_or(0, |(&slot, _)| slot)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Whether a slot chosen but not applied yet holds the command `(client, sequence)`.
    pub(super) fn awaits(&self, command: &Command) -> bool {
        self.chosen.range(self.first_unexecuted..).any(|(_, entry)| holds(entry, command))
    }

    /// Up to `DECISIONS_PER_MESSAGE_MAX` consecutive applied entries from `from` on.
    pub(super) fn applied_from(&self, from: Slot) -> Vec<Entry> {
        let slots = (Bound::Included(from), Bound::Excluded(self.first_unexecuted.max(from)));
        self.chosen.range(slots).take(DECISIONS_PER_MESSAGE_MAX).map(|(_, entry)| entry.clone()).collect()
    }

    /// Records that `entry` is chosen in `slot`. A second, different entry for a known slot
    /// is ignored here; the checker reports it.
    pub(super) fn learn(&mut self, slot: Slot, entry: Entry) {
        if slot >= self.first_unexecuted {
            self.chosen.entry(slot).or_insert(entry);
        }
    }

    /// The next chosen entry in slot order, if it is known; it counts as applied.
    fn next_executable(&mut self) -> Option<(Slot, Entry)> {
        let slot = self.first_unexecuted;
        let entry = self.chosen.get(&slot)?.clone();
        self.first_unexecuted += 1;
        Some((slot, entry))
    }

    /// Applies `command` to the store: its outcome (`None` for a command its client has
    /// moved past), and whether this was its first application.
    fn apply(&mut self, command: &Command) -> Option<(Outcome<KvReply>, bool)> {
        let first = self.store.session(command.client).is_none_or(|(sequence, _)| sequence < command.sequence);
        self.store.apply(command).map(|outcome| (outcome, first))
    }

    /// The replica's own invariants: it applies every chosen slot it can, in order.
    pub(super) fn check(&self, id: NodeId) {
        let slot = self.first_unexecuted;
        assert!(!self.chosen.contains_key(&slot), "replica {id}: slot {slot} is chosen but not applied");
        assert!(slot == 1 || self.chosen.contains_key(&(slot - 1)), "replica {id}: applied a slot it never learned");
    }
}

impl MultiPaxosServer {
    /// The leader of `ballot` is alive: follow it, take the slots it says are chosen, and
    /// ask for the ones still missing.
    pub(super) fn on_heartbeat(
        &mut self,
        ctx: &mut ServerContext<MultiPaxos>,
        leader: NodeId,
        ballot: Ballot,
        first_unchosen: Slot,
    ) {
        self.note_round(ballot);
        if ballot < self.acceptor.promised() {
            let promised = self.acceptor.promised();
            return ctx.send(leader, MultiPaxosMessage::Nack { ballot, promised });
        }
        self.follow(ctx, ballot);
        self.learn_piggybacked(ctx, ballot, first_unchosen);
        let from = self.replica.first_unexecuted;
        if from < first_unchosen {
            ctx.send(leader, MultiPaxosMessage::CatchUp { ballot, from });
        }
    }

    /// Chosen entries from `from` on: chosen for good, so learned whoever sent them.
    pub(super) fn on_decide(&mut self, ctx: &mut ServerContext<MultiPaxos>, from: Slot, entries: Vec<Entry>) {
        for (slot, entry) in (from..).zip(entries) {
            self.replica.learn(slot, entry);
        }
        self.execute_chosen(ctx);
    }

    /// Every slot below `first_unchosen` is chosen; the ones this acceptor accepted in the
    /// leader's `ballot` hold the chosen entry.
    pub(super) fn learn_piggybacked(
        &mut self,
        ctx: &mut ServerContext<MultiPaxos>,
        ballot: Ballot,
        first_unchosen: Slot,
    ) {
        let first_unexecuted = self.replica.first_unexecuted;
        if first_unchosen <= first_unexecuted {
            return;
        }
        for (slot, (accepted, entry)) in self.acceptor.accepted_between(first_unexecuted..first_unchosen) {
            if *accepted == ballot {
                self.replica.learn(slot, entry.clone());
            }
        }
        self.execute_chosen(ctx);
    }

    /// Applies the chosen slots in order, as far as there is no gap.
    pub(super) fn execute_chosen(&mut self, ctx: &mut ServerContext<MultiPaxos>) {
        while let Some((slot, entry)) = self.replica.next_executable() {
            ctx.observe(MultiPaxosObservation::Executed { slot, entry: entry.clone() });
            if let Entry::Command(command) = entry {
                self.execute(ctx, slot, &command);
            }
        }
    }

    fn execute(&mut self, ctx: &mut ServerContext<MultiPaxos>, slot: Slot, command: &Command) {
        let Some((outcome, first)) = self.replica.apply(command) else { return };
        if let (true, Some(key)) = (first, command.operation.read_key()) {
            let (client, sequence) = (command.client, command.sequence);
            ctx.observe(MultiPaxosObservation::ReadServed { client, sequence, key, through: slot - 1 });
        }
        self.answer_waiting_client(ctx, command, outcome, slot);
    }
}

/// Whether `entry` is the command `(client, sequence)`.
pub(super) fn holds(entry: &Entry, command: &Command) -> bool {
    matches!(entry, Entry::Command(held) if held.client == command.client && held.sequence == command.sequence)
}
