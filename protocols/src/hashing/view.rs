//! Numbered views: the membership the store places keys on, as the membership service
//! publishes it. View 0 is the initial servers, coordinated by server 0; each later view
//! changes one thing (a server joins, or one leaves) and names the server that coordinates
//! from then on. Members keep their slot order: a join appends, a leave moves the last
//! member into the leaver's slot (what jump consistent hash needs; the other schemes sort).
//! Every view has a fingerprint, a short hash of its content, that servers print when they
//! adopt it, so that diverging views stand out in the event table and the space-time
//! diagram.

use std::fmt;

use crate::hashing::hash;
use crate::node::NodeId;

/// A view's number: 0, 1, 2, ...
pub type ViewNumber = u64;

/// The most views a run may publish.
pub const VIEWS_MAX: usize = 1024;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct View {
    pub number: ViewNumber,
    /// The servers that own keys, in slot order.
    pub members: Vec<NodeId>,
    /// The server that runs the membership service in this view.
    pub coordinator: NodeId,
}

impl View {
    /// View 0: servers `0..servers`, coordinated by server 0.
    pub fn initial(servers: u32) -> View {
        View { number: 0, members: (0..servers).collect(), coordinator: 0 }
    }

    /// The next view, with `server` appended.
    pub fn joined(&self, server: NodeId) -> View {
        let mut members = self.members.clone();
        members.push(server);
        View { number: self.number + 1, members, coordinator: self.coordinator }
    }

    /// The next view, without `server` (the last member takes its slot); a leaving
    /// coordinator hands the service to the lowest remaining member.
    pub fn without(&self, server: NodeId) -> View {
        let mut members = self.members.clone();
        if let Some(slot) = members.iter().position(|&member| member == server) {
            members.swap_remove(slot);
        }
        let coordinator = if self.coordinator == server {
            members.iter().copied().min().unwrap_or(self.coordinator)
        } else {
            self.coordinator
        };
        View { number: self.number + 1, members, coordinator }
    }

    pub fn has(&self, server: NodeId) -> bool {
        self.members.contains(&server)
    }

    /// A short hash of the whole view: equal views have equal fingerprints.
    pub fn fingerprint(&self) -> u32 {
        let members = self
            .members
            .iter()
            .fold(hash::hash(self.number, self.coordinator.into()), |state, &member| hash::hash(state, member.into()));
        (members >> 32) as u32
    }
}

impl fmt::Display for View {
    /// `view 3 #1a2b3c4d members [0, 1, 3] coordinator 0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "view {} #{:08x} members {:?} coordinator {}",
            self.number,
            self.fingerprint(),
            self.members,
            self.coordinator
        )
    }
}
