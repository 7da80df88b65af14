//! A server's durable storage: its write-ahead log, the syncs on their way to disk, and the
//! sends and observations that wait for them (persistence before send, and before report).
//!
//! A record is durable once a sync that covers it finishes. Syncs finish in the order they
//! were asked for, each after the scenario's sync time (`[storage] sync`, drawn from the
//! run's storage stream), so a crash can land between a write, its sync and the send that
//! waits for the sync. A crash that loses unsynced writes keeps a random prefix of the
//! records written since the last finished sync (a torn tail); every sync in flight and
//! every send still waiting is lost with the process. An observation still waiting is
//! reported if the records it waited for survived the crash (what it reports is then
//! durable), and lost with them otherwise.

use std::collections::VecDeque;

use protocols::node::{NodeId, SyncId, Time};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A send or an observation waiting for records to be durable.
#[derive(Debug, PartialEq)]
pub enum Waiting<M, O> {
    Send(NodeId, M),
    Observe(O),
}

/// One server's storage: records `R`, messages `M`, observations `O`.
#[derive(Debug)]
pub struct Storage<R, M, O> {
    pub log: Vec<R>,
    /// How many records of `log` are durable.
    pub synced: usize,
    /// How many times `log` was compacted or cut by a crash (see `View::log_rewrites`).
    pub rewrites: u64,
    /// How many records the latest sync asked for covers.
    requested: usize,
    /// The number the server's next sync gets (from 1 after each start).
    pub next_sync: SyncId,
    /// Syncs in flight: number, records covered, when it finishes.
    syncs: VecDeque<(SyncId, usize, Time)>,
    /// Sends and observations waiting for the first `needs` records to be durable, with
    /// `needs` never decreasing from front to back (the log only grows between compactions,
    /// and a compaction releases everything held before it).
    held: VecDeque<(usize, Waiting<M, O>)>,
}

impl<R, M, O> Default for Storage<R, M, O> {
    fn default() -> Self {
        Storage {
            log: Vec::new(),
            synced: 0,
            rewrites: 0,
            requested: 0,
            next_sync: 1,
            syncs: VecDeque::new(),
            held: VecDeque::new(),
        }
    }
}

impl<R, M, O> Storage<R, M, O> {
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

    /// Holds a send or an observation until every record written so far is durable;
    /// returns it back if they already are and nothing held before it waits.
    pub fn after_sync(&mut self, waiting: Waiting<M, O>) -> Option<Waiting<M, O>> {
        if self.synced >= self.log.len() && self.held.is_empty() {
            return Some(waiting);
        }
        self.held.push_back((self.log.len(), waiting));
        None
    }

    /// The first held send or observation whose records are now durable (they are
    /// released in the order they were made).
    pub fn release(&mut self) -> Option<Waiting<M, O>> {
        if self.held.front()?.0 > self.synced {
            return None;
        }
        self.held.pop_front().map(|(_, waiting)| waiting)
    }

    /// Replaces the whole log with `records`, at once and durably: every sync in flight and
    /// every held send is satisfied by it.
    pub fn compact(&mut self, records: Vec<R>) {
        // Into the log's own allocation, which keeps the capacity the log grew to.
        self.log.clear();
        self.log.extend(records);
        self.rewrites += 1;
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
    /// part of the records not yet durable. Returns the held observations whose records
    /// survived, in order: what they report is durable now.
    pub fn crash(&mut self, lose_unsynced: bool, rng: &mut ChaCha8Rng) -> Vec<O> {
        self.syncs.clear();
        if lose_unsynced && self.log.len() > self.synced {
            let kept = rng.gen_range(self.synced..self.log.len());
            self.log.truncate(kept);
            self.rewrites += 1;
        }
        let kept = self.log.len();
        let held = std::mem::take(&mut self.held);
        held.into_iter()
            .take_while(|(needs, _)| *needs <= kept)
            .filter_map(|(_, waiting)| match waiting {
                Waiting::Observe(observation) => Some(observation),
                Waiting::Send(..) => None,
            })
            .collect()
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
    use Waiting::{Observe, Send};

    type Disk = Storage<u32, &'static str, u32>;

    fn released(disk: &mut Disk) -> Vec<Waiting<&'static str, u32>> {
        std::iter::from_fn(|| disk.release()).collect()
    }

    #[test]
    fn held_sends_are_released_in_order_as_their_records_become_durable() {
        let mut disk = Disk::default();
        disk.log.push(1);
        assert_eq!(disk.after_sync(Send(7, "first")), None);
        disk.log.push(2);
        assert_eq!(disk.after_sync(Send(8, "second")), None);
        assert_eq!(disk.sync(1, 0, 10), Some(10));
        disk.finish(1);
        assert_eq!(released(&mut disk), vec![Send(7, "first"), Send(8, "second")]);
        disk.log.push(3);
        assert_eq!(disk.after_sync(Send(9, "third")), None);
        assert_eq!(released(&mut disk), vec![], "record 3 is not durable");
    }

    #[test]
    fn an_instant_sync_makes_the_records_durable_and_releases_the_sends_waiting_for_them() {
        let mut disk = Disk::default();
        disk.log.push(1);
        assert_eq!(disk.after_sync(Send(9, "ack")), None, "record 1 is not durable yet");
        assert_eq!(disk.sync(1, 100, 0), None, "no sync time: done at once");
        assert_eq!(released(&mut disk), vec![Send(9, "ack")]);
        assert_eq!(disk.synced, 1);
    }

    #[test]
    fn syncs_finish_in_order_and_a_crash_loses_what_was_in_flight() {
        let mut disk = Disk::default();
        disk.log.push(1);
        assert_eq!(disk.sync(1, 100, 50), Some(150));
        disk.log.push(2);
        assert_eq!(disk.sync(2, 110, 10), Some(150), "not before the earlier sync");
        assert_eq!(disk.after_sync(Send(9, "ack")), None);
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
        assert_eq!(disk.after_sync(Send(9, "ack")), None);
        disk.compact(vec![7]);
        assert_eq!((disk.log.clone(), disk.synced, released(&mut disk)), (vec![7], 1, vec![Send(9, "ack")]));
    }

    #[test]
    fn held_observations_keep_their_place_among_held_sends_and_survive_a_crash_with_their_records() {
        let mut disk = Disk::default();
        disk.log.push(1);
        assert_eq!(disk.sync(1, 0, 10), Some(10));
        assert_eq!(disk.after_sync(Observe(1)), None, "record 1 is not durable yet");
        assert_eq!(disk.after_sync(Send(7, "accepted")), None);
        disk.finish(1);
        assert_eq!(released(&mut disk), vec![Observe(1), Send(7, "accepted")]);
        disk.log.push(2);
        assert_eq!(disk.after_sync(Observe(2)), None);
        assert_eq!(disk.after_sync(Send(8, "accepted")), None);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(disk.crash(false, &mut rng), vec![2], "its records survived: reported; the send is lost");
        disk.restart();
        // Records 1 and 2 are durable; report n waits for the first n records.
        disk.log.push(3);
        assert_eq!(disk.after_sync(Observe(3)), None);
        disk.log.push(4);
        assert_eq!(disk.after_sync(Observe(4)), None);
        let survived = disk.crash(true, &mut rng);
        let expected: Vec<u32> = [3, 4].into_iter().filter(|&needs| needs as usize <= disk.log.len()).collect();
        assert_eq!(survived, expected, "an observation is reported only if its records survived");
        assert!((2..4).contains(&disk.log.len()), "a crash that loses unsynced writes keeps a strict prefix");
        assert_eq!(disk.crash(false, &mut rng), Vec::<u32>::new(), "nothing is held after a crash");
    }
}
