//! A server's durable storage: its write-ahead log, the syncs on their way to disk, and the
//! sends that wait for them (persistence before send).
//!
//! A record is durable once a sync that covers it finishes. Syncs finish in the order they
//! were asked for, each after the scenario's sync time (`[storage] sync`, drawn from the
//! run's storage stream), so a crash can land between a write, its sync and the send that
//! waits for the sync. A crash that loses unsynced writes keeps a random prefix of the
//! records written since the last finished sync (a torn tail); every sync in flight and
//! every send still waiting is lost with the process.

use std::collections::VecDeque;

use protocols::node::{NodeId, SyncId, Time};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// One server's storage.
#[derive(Debug)]
pub struct Storage<R, M> {
    pub log: Vec<R>,
    /// How many records of `log` are durable.
    pub synced: usize,
    /// How many records the latest sync asked for covers.
    requested: usize,
    /// The number the server's next sync gets (from 1 after each start).
    pub next_sync: SyncId,
    /// Syncs in flight: number, records covered, when it finishes.
    syncs: VecDeque<(SyncId, usize, Time)>,
    /// Sends waiting for the first `needs` records to be durable: needs, to, message, with
    /// `needs` never decreasing from front to back (the log only grows between compactions,
    /// and a compaction releases everything held before it).
    held: VecDeque<(usize, NodeId, M)>,
}

impl<R, M> Default for Storage<R, M> {
    fn default() -> Self {
        Storage {
            log: Vec::new(),
            synced: 0,
            requested: 0,
            next_sync: 1,
            syncs: VecDeque::new(),
            held: VecDeque::new(),
        }
    }
}

impl<R, M> Storage<R, M> {
    /// Whether some record is covered by no sync yet.
    pub fn uncovered(&self) -> bool {
        self.log.len() > self.requested
    }

    /// Starts sync `sync` of every record written so far, taking `latency` after `now`
    /// (and no sooner than the syncs before it). Returns when it finishes, or `None` if it
    /// finished at once.
    pub fn sync(&mut self, sync: SyncId, now: Time, latency: Time) -> Option<Time> {
        self.next_sync = sync + 1;
        self.requested = self.log.len();
        let after_earlier = self.syncs.back().map_or(now, |&(_, _, done)| done);
        let done = (now + latency).max(after_earlier);
        if done == now && self.syncs.is_empty() {
            self.synced = self.synced.max(self.requested);
            return None;
        }
        self.syncs.push_back((sync, self.requested, done));
        Some(done)
    }

    /// Sync `sync` (and every earlier one) finished.
    pub fn finish(&mut self, sync: SyncId) {
        while let Some(&(pending, covered, _)) = self.syncs.front().filter(|&&(pending, ..)| pending <= sync) {
            debug_assert!(pending <= sync);
            self.synced = self.synced.max(covered);
            self.syncs.pop_front();
        }
    }

    /// Holds `message` until every record written so far is durable; returns it back if
    /// they already are.
    pub fn send_after_sync(&mut self, to: NodeId, message: M) -> Option<(NodeId, M)> {
        if self.synced >= self.log.len() {
            return Some((to, message));
        }
        self.held.push_back((self.log.len(), to, message));
        None
    }

    /// The first held send whose records are now durable (held sends are released in the
    /// order they were made).
    pub fn release(&mut self) -> Option<(NodeId, M)> {
        if self.held.front()?.0 > self.synced {
            return None;
        }
        self.held.pop_front().map(|(_, to, message)| (to, message))
    }

    /// Replaces the whole log with `records`, at once and durably: every sync in flight and
    /// every held send is satisfied by it.
    pub fn compact(&mut self, records: Vec<R>) {
        self.log = records;
        self.synced = self.log.len();
        self.requested = self.log.len();
        for sync in &mut self.syncs {
            sync.1 = 0;
        }
        for held in &mut self.held {
            held.0 = 0;
        }
    }

    /// A crash: syncs in flight and held sends are lost, and with `lose_unsynced` a random
    /// part of the records not yet durable.
    pub fn crash(&mut self, lose_unsynced: bool, rng: &mut ChaCha8Rng) {
        self.syncs.clear();
        self.held.clear();
        if lose_unsynced && self.log.len() > self.synced {
            let kept = rng.gen_range(self.synced..self.log.len());
            self.log.truncate(kept);
        }
    }

    /// A restart: what survived is durable, and sync numbers start again from 1.
    pub fn restart(&mut self) {
        self.synced = self.log.len();
        self.requested = self.log.len();
        self.next_sync = 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    type Disk = Storage<u32, &'static str>;

    fn released(disk: &mut Disk) -> Vec<(NodeId, &'static str)> {
        std::iter::from_fn(|| disk.release()).collect()
    }

    #[test]
    fn held_sends_are_released_in_order_as_their_records_become_durable() {
        let mut disk = Disk::default();
        disk.log.push(1);
        assert_eq!(disk.send_after_sync(7, "first"), None);
        disk.log.push(2);
        assert_eq!(disk.send_after_sync(8, "second"), None);
        assert_eq!(disk.sync(1, 0, 10), Some(10));
        disk.finish(1);
        assert_eq!(released(&mut disk), vec![(7, "first"), (8, "second")]);
        disk.log.push(3);
        assert_eq!(disk.send_after_sync(9, "third"), None);
        assert_eq!(released(&mut disk), vec![], "record 3 is not durable");
    }

    #[test]
    fn an_instant_sync_makes_the_records_durable_and_releases_the_sends_waiting_for_them() {
        let mut disk = Disk::default();
        disk.log.push(1);
        assert_eq!(disk.send_after_sync(9, "ack"), None, "record 1 is not durable yet");
        assert_eq!(disk.sync(1, 100, 0), None, "no sync time: done at once");
        assert_eq!(released(&mut disk), vec![(9, "ack")]);
        assert_eq!(disk.synced, 1);
    }

    #[test]
    fn syncs_finish_in_order_and_a_crash_loses_what_was_in_flight() {
        let mut disk = Disk::default();
        disk.log.push(1);
        assert_eq!(disk.sync(1, 100, 50), Some(150));
        disk.log.push(2);
        assert_eq!(disk.sync(2, 110, 10), Some(150), "not before the earlier sync");
        assert_eq!(disk.send_after_sync(9, "ack"), None);
        disk.finish(1);
        assert_eq!((disk.synced, released(&mut disk)), (1, vec![]), "the ack waits for record 2");
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        disk.crash(true, &mut rng);
        assert_eq!(disk.log, vec![1], "record 2 was not durable");
        disk.finish(2);
        assert_eq!(released(&mut disk), vec![], "the held ack died with the process");
    }

    #[test]
    fn compaction_is_durable_at_once() {
        let mut disk = Disk::default();
        disk.log.extend([1, 2, 3]);
        assert_eq!(disk.sync(1, 0, 10), Some(10));
        assert_eq!(disk.send_after_sync(9, "ack"), None);
        disk.compact(vec![7]);
        assert_eq!((disk.log.clone(), disk.synced, released(&mut disk)), (vec![7], 1, vec![(9, "ack")]));
    }
}
