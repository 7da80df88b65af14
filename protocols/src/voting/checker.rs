//! What the quorum store and ABD report, and the online checker they share: every version
//! names one value, and the staleness figures.
//!
//! Whether the history is linearizable is the history check's to say (the register
//! service declares it); online, the checker sees every replica store a version and
//! insists that no two stores give one version of a key two values: a version assigned
//! twice would let replicas disagree forever about what the newest value is.

use std::collections::BTreeMap;
use std::fmt;

use crate::node::{NodeId, Time, Violation};
use crate::service::{Key, Value};

use super::client::ClientEvent;
use super::registers::Version;
use super::staleness::Staleness;

/// An event a register protocol reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegisterObservation {
    /// A replica stored `value` at `version` (newer than what it held).
    Stored {
        key: Key,
        version: Version,
        value: Option<Value>,
    },
    /// A read's coordinator wrote the newest version it found back before answering.
    WroteBack {
        key: Key,
        version: Version,
    },
    /// A server outside the key's replicas stored `version` as a hint for `owner` (sloppy quorum).
    Hinted {
        key: Key,
        version: Version,
        value: Option<Value>,
        owner: NodeId,
    },
    /// A hint reached its owner, which stored it (hinted handoff).
    HandedOff {
        key: Key,
        version: Version,
        owner: NodeId,
    },
    /// The replicas of the store changed (membership).
    Replicas {
        replicas: Vec<NodeId>,
    },
    /// A server that becomes a replica holds every acknowledged write (it fetched them).
    Filled {
        replicas: Vec<NodeId>,
    },
    Client(ClientEvent),
}

impl fmt::Display for RegisterObservation {
    /// `stored key 0 version 3.1 value 7`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegisterObservation::Stored { key, version, value: Some(value) } => {
                write!(f, "stored key {key} version {version} value {value}")
            }
            RegisterObservation::Stored { key, version, value: None } => {
                write!(f, "stored key {key} version {version} (empty)")
            }
            RegisterObservation::WroteBack { key, version } => write!(f, "wrote back key {key} version {version}"),
            RegisterObservation::Hinted { key, version, owner, .. } => {
                write!(f, "hinted key {key} version {version} for node {owner}")
            }
            RegisterObservation::HandedOff { key, version, owner } => {
                write!(f, "handed off key {key} version {version} to node {owner}")
            }
            RegisterObservation::Replicas { replicas } => write!(f, "replicas now {replicas:?}"),
            RegisterObservation::Filled { replicas } => write!(f, "filled as a replica of {replicas:?}"),
            RegisterObservation::Client(event) => event.fmt(f),
        }
    }
}

impl RegisterObservation {
    /// The milestone this observation marks, if any (each protocol declares those it reaches).
    pub fn milestone(&self) -> Option<&'static str> {
        match self {
            RegisterObservation::Stored { .. } => Some("value-stored"),
            RegisterObservation::WroteBack { .. } => Some("read-wrote-back"),
            RegisterObservation::Hinted { .. } => Some("write-hinted"),
            RegisterObservation::HandedOff { .. } => Some("hint-handed-off"),
            RegisterObservation::Replicas { .. } => Some("replicas-changed"),
            RegisterObservation::Filled { .. } => Some("replica-filled"),
            RegisterObservation::Client(ClientEvent::WriteAcknowledged { .. }) => Some("write-acknowledged"),
            RegisterObservation::Client(ClientEvent::ReadReturned { .. }) => Some("read-returned"),
            RegisterObservation::Client(ClientEvent::ReadInvoked { .. } | ClientEvent::WriteInvoked { .. }) => None,
        }
    }
}

/// The online checker of the register protocols.
#[derive(Clone, Debug, Default)]
pub struct RegisterChecker {
    /// Per key and version, the value first stored at it, where and when.
    versions: BTreeMap<(Key, Version), (Option<Value>, NodeId, Time)>,
    staleness: Staleness,
}

impl RegisterChecker {
    /// `node` reported `observation` at `at`.
    pub fn observe(&mut self, at: Time, node: NodeId, observation: &RegisterObservation) -> Result<(), Violation> {
        match observation {
            RegisterObservation::Stored { key, version, value } => {
                self.staleness.stored(*key, *version, *value);
                self.on_stored(at, node, *key, *version, *value)
            }
            RegisterObservation::Hinted { key, version, value, .. } => {
                self.staleness.stored(*key, *version, *value);
                Ok(())
            }
            RegisterObservation::Client(event) => {
                self.staleness.observe(node, event);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn on_stored(
        &mut self,
        at: Time,
        node: NodeId,
        key: Key,
        version: Version,
        value: Option<Value>,
    ) -> Result<(), Violation> {
        let &mut (first, first_node, first_at) = self.versions.entry((key, version)).or_insert((value, node, at));
        if first == value {
            return Ok(());
        }
        let show = |value: Option<Value>| value.map_or_else(|| "nothing".to_string(), |value| value.to_string());
        Err(Violation {
            invariant: "one-value-per-version",
            nodes: vec![first_node, node],
            detail: format!(
                "node {first_node} stored {} at version {version} of key {key}, then node {node} stored {} at the \
                 same version",
                show(first),
                show(value)
            ),
            evidence: vec![(first_node, first_at), (node, at)],
        })
    }

    /// The staleness figures.
    pub fn figures(&self) -> Vec<(&'static str, f64)> {
        self.staleness.figures()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(value: u64, writer: NodeId) -> RegisterObservation {
        RegisterObservation::Stored { key: 0, version: Version { counter: 1, writer }, value: Some(value) }
    }

    #[test]
    fn one_version_stored_twice_with_one_value_passes() {
        let mut checker = RegisterChecker::default();
        assert_eq!(checker.observe(1, 0, &stored(7, 0)), Ok(()));
        assert_eq!(checker.observe(2, 1, &stored(7, 0)), Ok(()));
        assert_eq!(checker.observe(3, 2, &stored(8, 2)), Ok(()), "another writer's version");
    }

    #[test]
    fn one_version_with_two_values_is_caught_with_both_stores_as_evidence() {
        let mut checker = RegisterChecker::default();
        checker.observe(1, 0, &stored(7, 0)).expect("the first store");
        let violation = checker.observe(5, 2, &stored(8, 0)).expect_err("two values");
        assert_eq!(violation.invariant, "one-value-per-version");
        assert_eq!(violation.nodes, vec![0, 2]);
        assert_eq!(violation.evidence, vec![(0, 1), (2, 5)]);
        assert!(violation.detail.contains("stored 7 at version 1.0 of key 0"), "{}", violation.detail);
    }

    #[test]
    fn stores_and_client_events_feed_the_staleness_figures() {
        let mut checker = RegisterChecker::default();
        checker.observe(0, 1, &stored(3, 0)).expect("a store");
        let events = [
            (5, ClientEvent::WriteAcknowledged { key: 0, value: 3 }),
            (6, ClientEvent::ReadInvoked { key: 0 }),
            (6, ClientEvent::ReadReturned { key: 0, value: None }),
        ];
        for (client, event) in events {
            checker.observe(0, client, &RegisterObservation::Client(event)).expect("no violation");
        }
        assert!(checker.figures().contains(&("stale_reads", 1.0)), "{:?}", checker.figures());
    }
}
