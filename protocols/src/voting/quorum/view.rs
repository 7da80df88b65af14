//! A server's view of the store's membership: the members, the replicas every key lives on,
//! and, while a replica leaves, the replica set being moved to.
//!
//! The replicas are the `replicas` members of the lowest ids at first. A joining server is a
//! standby: it becomes a replica when a replica leaves, in the leaver's place (the lowest-id
//! standby first); a leaver with no standby to replace it just leaves the set smaller. The
//! move is the replica-set change of Scylla issue 20458 ({A, B, C} to {A, B, D}), done the
//! safe way, like Cassandra's pending ranges:
//!
//! 1. When a replica is told to leave, the *target* set is computed; until the move is over,
//!    a write (or a read's write-back) needs a write quorum in the old set and one in the
//!    target, and reads use the old set.
//! 2. Each new member of the target (a *filler*) fetches every register from a read quorum
//!    of the old set, which holds every write acknowledged so far (r + w > V), and says so
//!    (`Filled`).
//! 3. The leaver leaves once every filler has filled; the others move to the target once
//!    every filler has filled and every leaver is gone. A leaver that is gone stops answering,
//!    so a server that has not moved yet reads the old set without it, which is a subset of
//!    the target: its read quorum meets every write quorum of the target.
//!
//! Variant `no-handoff` skips step 2: fillers count as filled at once and the leaver leaves
//! at once, so the new replica starts empty, and a read quorum of {B, D} can miss a write
//! that only A and C held.
//!
//! Membership announcements come from the world to every running server at the same moment;
//! a server that was down misses them. Views carry an epoch (the announcements heard) and the
//! fills learned since, and every message between servers carries that stamp: a server that
//! hears from one with an older view sends it its own, and a replica refuses a request from
//! a coordinator with an older epoch (answering with its view), so no write completes by
//! stale rules.

use crate::node::{Membership, NodeId};
use crate::service::Key;

use super::config::Config;

/// How far a view has come: its epoch, then its fills (`u32::MAX` once it moved).
pub type Stamp = (u64, u32);

/// One server's view of the membership.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct View {
    /// Membership announcements heard.
    pub epoch: u64,
    /// The members, sorted; a leaver stays one until it is gone.
    pub members: Vec<NodeId>,
    /// Members told to leave and not gone yet.
    pub leaving: Vec<NodeId>,
    /// The replicas: reads ask them, every write must reach a write quorum of them.
    pub replicas: Vec<NodeId>,
    /// The replica set being moved to, while a move is under way.
    pub target: Option<Vec<NodeId>>,
    /// The target's new members that have fetched every register.
    pub filled: Vec<NodeId>,
    /// Whether a move finished in this epoch.
    pub moved: bool,
}

impl View {
    /// The view at the start of a run: the first servers, the lowest ids the replicas.
    pub fn initial(config: &Config, servers: u32) -> View {
        let members: Vec<NodeId> = (0..servers).collect();
        let replicas = members.iter().copied().take(config.replicas).collect();
        View { epoch: 0, members, leaving: Vec::new(), replicas, target: None, filled: Vec::new(), moved: false }
    }

    pub fn stamp(&self) -> Stamp {
        (self.epoch, if self.moved { u32::MAX } else { self.filled.len() as u32 })
    }

    /// The replicas that have not left (a gone replica answers nothing).
    pub fn readers(&self) -> Vec<NodeId> {
        self.replicas.iter().copied().filter(|replica| self.members.contains(replica)).collect()
    }

    /// The sets a write needs a write quorum in: the replicas, and the target during a move.
    pub fn write_sets(&self) -> Vec<Vec<NodeId>> {
        let mut sets = vec![self.readers()];
        sets.extend(self.target.clone());
        sets
    }

    /// Every server a write goes to: the replicas and the target's.
    pub fn write_targets(&self) -> Vec<NodeId> {
        let mut targets = self.readers();
        for member in self.target.iter().flatten() {
            if !targets.contains(member) {
                targets.push(*member);
            }
        }
        targets.sort_unstable();
        targets
    }

    /// The target's new members, which must fetch before the move ends.
    pub fn fillers(&self) -> Vec<NodeId> {
        let target = self.target.iter().flatten();
        target.copied().filter(|member| !self.replicas.contains(member)).collect()
    }

    /// The server that numbers the versions of `key`.
    pub fn home(&self, key: Key) -> NodeId {
        home(&self.replicas, key)
    }

    /// Members outside the replicas and the target, lowest id first: where a sloppy quorum
    /// leaves its hints.
    pub fn fallbacks(&self) -> Vec<NodeId> {
        let placed =
            |member: &NodeId| self.replicas.contains(member) || self.target.iter().flatten().any(|t| t == member);
        self.members.iter().copied().filter(|member| !placed(member) && !self.leaving.contains(member)).collect()
    }

    /// A membership announcement; `handoff` says whether fillers must fetch. True if the
    /// replicas moved.
    pub fn announce(&mut self, change: Membership, config: &Config, handoff: bool) -> bool {
        self.epoch += 1;
        self.moved = false;
        match change {
            Membership::Joined(server) => {
                if !self.members.contains(&server) {
                    self.members.push(server);
                    self.members.sort_unstable();
                }
            }
            Membership::Leaving(server) => {
                if self.members.contains(&server) && !self.leaving.contains(&server) {
                    self.leaving.push(server);
                }
            }
            Membership::Left(server) => {
                self.members.retain(|&member| member != server);
                self.leaving.retain(|&member| member != server);
            }
        }
        self.retarget(config.replicas);
        if !handoff {
            self.filled = self.fillers();
        }
        self.try_move()
    }

    /// `filler` fetched every register for the move to `target`. True if the replicas moved.
    pub fn fill(&mut self, target: &[NodeId], filler: NodeId) -> bool {
        if self.target.as_deref() != Some(target) || !self.fillers().contains(&filler) || self.filled.contains(&filler)
        {
            return false;
        }
        self.filled.push(filler);
        self.filled.sort_unstable();
        self.try_move()
    }

    /// Whether every filler has filled.
    pub fn all_filled(&self) -> bool {
        self.fillers().iter().all(|filler| self.filled.contains(filler))
    }

    /// Learns what `other` knows: its whole view if its epoch is later, its fills and its
    /// move if it is the same. True if this view changed.
    pub fn merge(&mut self, other: &View) -> bool {
        if other.epoch > self.epoch {
            *self = other.clone();
            return true;
        }
        if other.epoch < self.epoch || other.stamp() <= self.stamp() {
            return false;
        }
        if other.moved && self.target.as_ref() == Some(&other.replicas) {
            self.replicas = other.replicas.clone();
            self.target = None;
            self.filled.clear();
            self.moved = true;
            return true;
        }
        let before = self.filled.len();
        let target = self.target.clone().unwrap_or_default();
        for &filler in &other.filled {
            self.fill(&target, filler);
        }
        self.filled.len() != before || self.moved
    }

    /// The set to move to: the staying replicas, topped up with the lowest standbys.
    fn retarget(&mut self, replicas: usize) {
        let staying = |member: &NodeId| self.members.contains(member) && !self.leaving.contains(member);
        let mut desired: Vec<NodeId> = self.replicas.iter().copied().filter(|m| staying(m)).collect();
        for member in &self.members {
            if desired.len() < replicas && staying(member) && !self.replicas.contains(member) {
                desired.push(*member);
            }
        }
        desired.sort_unstable();
        if desired == self.replicas {
            self.target = None;
            self.filled.clear();
        } else if self.target.as_ref() != Some(&desired) {
            self.filled.retain(|filler| desired.contains(filler));
            self.target = Some(desired);
        }
    }

    /// Moves to the target once every filler has filled and every leaver of the old set is
    /// gone. True if it moved.
    fn try_move(&mut self) -> bool {
        let Some(target) = &self.target else { return false };
        let gone = self.replicas.iter().filter(|replica| !target.contains(replica)).all(|r| !self.members.contains(r));
        if !gone || !self.all_filled() {
            return false;
        }
        self.replicas = target.clone();
        self.target = None;
        self.filled.clear();
        self.moved = true;
        true
    }
}

/// The home of `key` among `replicas`.
pub fn home(replicas: &[NodeId], key: Key) -> NodeId {
    replicas[(key % replicas.len() as u64) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voting::quorum::config::QuorumSettings;

    fn config(replicas: u32, spares: u32) -> Config {
        let settings = QuorumSettings { replicas: Some(replicas), ..QuorumSettings::default() };
        Config::new(&settings, 3, spares)
    }

    #[test]
    fn a_joining_server_is_a_standby_and_replaces_the_next_replica_that_leaves() {
        let config = config(3, 1);
        let mut view = View::initial(&config, 3);
        assert!(!view.announce(Membership::Joined(3), &config, true));
        assert_eq!((view.replicas.clone(), view.target.clone()), (vec![0, 1, 2], None), "a standby");
        assert!(!view.announce(Membership::Leaving(2), &config, true));
        assert_eq!(view.target, Some(vec![0, 1, 3]));
        assert_eq!(view.fillers(), [3]);
        assert_eq!(view.write_sets(), [vec![0, 1, 2], vec![0, 1, 3]], "joint writes during the move");
        assert_eq!(view.write_targets(), [0, 1, 2, 3]);
        assert!(!view.fill(&[0, 1, 3], 3), "the leaver is still there");
        assert!(view.all_filled());
        assert!(view.announce(Membership::Left(2), &config, true), "filled and gone: moved");
        assert_eq!((view.replicas.clone(), view.target.clone(), view.epoch), (vec![0, 1, 3], None, 3));
    }

    #[test]
    fn a_move_waits_for_its_fillers_and_a_gone_leaver_stops_being_read() {
        let config = config(3, 1);
        let mut view = View::initial(&config, 3);
        view.announce(Membership::Joined(3), &config, true);
        view.announce(Membership::Leaving(2), &config, true);
        assert!(!view.announce(Membership::Left(2), &config, true), "gone before 3 filled");
        assert_eq!(view.readers(), [0, 1], "the old set without the gone leaver");
        assert!(view.fill(&[0, 1, 3], 3));
        assert_eq!(view.replicas, [0, 1, 3]);
    }

    #[test]
    fn a_leaver_with_no_standby_leaves_the_set_smaller_and_no_handoff_fills_at_once() {
        let config = config(3, 0);
        let mut view = View::initial(&config, 3);
        view.announce(Membership::Leaving(0), &config, true);
        assert_eq!((view.target.clone(), view.fillers()), (Some(vec![1, 2]), vec![]));
        assert!(view.announce(Membership::Left(0), &config, true));
        assert_eq!(view.replicas, [1, 2]);
        let config = self::config(3, 1);
        let mut careless = View::initial(&config, 3);
        careless.announce(Membership::Joined(3), &config, false);
        careless.announce(Membership::Leaving(2), &config, false);
        assert!(careless.all_filled(), "no-handoff: the new replica counts as filled, empty");
    }

    #[test]
    fn sloppy_fallbacks_are_the_members_outside_the_replicas_and_homes_spread_keys() {
        let config = config(2, 0);
        let view = View::initial(&config, 3);
        assert_eq!(view.fallbacks(), [2]);
        assert_eq!((view.home(0), view.home(1), view.home(2)), (0, 1, 0));
    }

    #[test]
    fn views_merge_a_later_epoch_whole_and_fills_and_moves_of_the_same_epoch() {
        let config = config(3, 1);
        let mut behind = View::initial(&config, 3);
        let mut ahead = behind.clone();
        ahead.announce(Membership::Joined(3), &config, true);
        ahead.announce(Membership::Leaving(2), &config, true);
        assert!(behind.merge(&ahead) && behind == ahead, "a later epoch is taken whole");
        ahead.fill(&[0, 1, 3], 3);
        assert!(ahead.stamp() > behind.stamp());
        assert!(behind.merge(&ahead));
        assert_eq!(behind.filled, [3]);
        let mut gone = ahead.clone();
        let mut also = ahead.clone();
        gone.announce(Membership::Left(2), &config, true);
        also.announce(Membership::Left(2), &config, true);
        assert!(!also.merge(&gone), "the same view");
        assert!(!ahead.merge(&View::initial(&config, 3)), "an older view teaches nothing");
    }
}
