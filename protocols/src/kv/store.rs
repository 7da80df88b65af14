//! The key-value state machine, with client sessions for exactly-once application (Raft
//! thesis section 6.3).
//!
//! Replicas apply committed commands in log order, so every replica's store goes through
//! the same states. A client retries a command with the same sequence number, so one
//! command may sit in the log more than once; the session table remembers, per client, the
//! sequence number and outcome of the latest command applied, answers a repeat with the
//! remembered outcome and ignores a command older than the latest (its client has moved on
//! and waits for nobody's answer to it). One session per client suffices because a client
//! has at most one operation outstanding.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Sequence;
use super::{KvOperation, KvReply};
use crate::node::NodeId;
use crate::service::{Key, Outcome, Value};

/// A client's operation as it travels to the servers and sits in the log.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Command {
    pub client: NodeId,
    pub sequence: Sequence,
    pub operation: KvOperation,
}

impl std::fmt::Display for Command {
    /// `write 0 3 (process 7, request 2)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (process {}, request {})", self.operation, self.client, self.sequence)
    }
}

/// The replicated state machine: the keys' values and the client sessions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Store {
    values: BTreeMap<Key, Vec<Value>>,
    sessions: BTreeMap<NodeId, Session>,
}

/// The latest command applied for one client.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Session {
    sequence: Sequence,
    outcome: Outcome<KvReply>,
}

impl Store {
    /// Applies `command` once: returns its outcome, the remembered outcome when the same
    /// command was applied before, or `None` for a command older than its client's latest,
    /// which has no effect and needs no answer.
    pub fn apply(&mut self, command: &Command) -> Option<Outcome<KvReply>> {
        if let Some(session) = self.sessions.get(&command.client) {
            if command.sequence < session.sequence {
                return None;
            }
            if command.sequence == session.sequence {
                return Some(session.outcome.clone());
            }
        }
        let outcome = self.execute(&command.operation);
        let session = Session { sequence: command.sequence, outcome: outcome.clone() };
        self.sessions.insert(command.client, session);
        Some(outcome)
    }

    /// The current state of `key`, as a `Read` would return it.
    pub fn read(&self, key: Key) -> Vec<Value> {
        self.values.get(&key).cloned().unwrap_or_default()
    }

    /// The sequence number and outcome of the latest command applied for `client`.
    pub fn session(&self, client: NodeId) -> Option<(Sequence, &Outcome<KvReply>)> {
        self.sessions.get(&client).map(|session| (session.sequence, &session.outcome))
    }

    /// Carries out `operation`, with no session bookkeeping (for a protocol that keeps the
    /// sessions itself, as Raft does).
    pub fn execute(&mut self, operation: &KvOperation) -> Outcome<KvReply> {
        match *operation {
            KvOperation::Read { key } | KvOperation::SyncRead { key } => Outcome::Ok(KvReply::Values(self.read(key))),
            KvOperation::Write { key, value } => {
                self.values.insert(key, vec![value]);
                Outcome::Ok(KvReply::Done)
            }
            KvOperation::Append { key, value } => {
                self.values.entry(key).or_default().push(value);
                Outcome::Ok(KvReply::Done)
            }
            KvOperation::Cas { key, from, to } => {
                let state = self.values.entry(key).or_default();
                if *state != [from] {
                    return Outcome::Ok(KvReply::CasFailed);
                }
                *state = vec![to];
                Outcome::Ok(KvReply::Done)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(client: NodeId, sequence: Sequence, operation: KvOperation) -> Command {
        Command { client, sequence, operation }
    }

    fn done() -> Option<Outcome<KvReply>> {
        Some(Outcome::Ok(KvReply::Done))
    }

    #[test]
    fn operations_follow_the_list_semantics_of_the_linearizability_model() {
        let mut store = Store::default();
        let read = |sequence| command(9, sequence, KvOperation::Read { key: 1 });
        assert_eq!(store.apply(&read(1)), Some(Outcome::Ok(KvReply::Values(vec![]))));
        assert_eq!(store.apply(&command(9, 2, KvOperation::Append { key: 1, value: 10 })), done());
        assert_eq!(store.apply(&command(9, 3, KvOperation::Append { key: 1, value: 11 })), done());
        assert_eq!(store.apply(&read(4)), Some(Outcome::Ok(KvReply::Values(vec![10, 11]))));
        assert_eq!(store.apply(&command(9, 5, KvOperation::Write { key: 1, value: 12 })), done());
        assert_eq!(store.read(1), vec![12]);
        assert_eq!(store.read(2), Vec::<Value>::new());
    }

    #[test]
    fn cas_applies_only_when_the_state_is_exactly_the_expected_value() {
        let mut store = Store::default();
        let cas = |sequence, from, to| command(9, sequence, KvOperation::Cas { key: 1, from, to });
        assert_eq!(store.apply(&cas(1, 0, 5)), Some(Outcome::Ok(KvReply::CasFailed)), "empty is not [0]");
        store.apply(&command(9, 2, KvOperation::Write { key: 1, value: 3 }));
        assert_eq!(store.apply(&cas(3, 4, 5)), Some(Outcome::Ok(KvReply::CasFailed)));
        assert_eq!(store.apply(&cas(4, 3, 5)), done());
        assert_eq!(store.read(1), vec![5]);
        store.apply(&command(9, 5, KvOperation::Append { key: 1, value: 6 }));
        assert_eq!(store.apply(&cas(6, 5, 7)), Some(Outcome::Ok(KvReply::CasFailed)), "[5, 6] is not [5]");
    }

    #[test]
    fn retried_append_takes_effect_once_and_repeats_its_outcome_thesis_6_3() {
        let mut store = Store::default();
        let append = command(9, 1, KvOperation::Append { key: 1, value: 10 });
        assert_eq!(store.apply(&append), done());
        assert_eq!(store.apply(&append), done());
        assert_eq!(store.read(1), vec![10]);
        let failed_cas = command(9, 2, KvOperation::Cas { key: 1, from: 0, to: 1 });
        assert_eq!(store.apply(&failed_cas), Some(Outcome::Ok(KvReply::CasFailed)));
        assert_eq!(store.apply(&failed_cas), Some(Outcome::Ok(KvReply::CasFailed)));
        assert_eq!(store.session(9), Some((2, &Outcome::Ok(KvReply::CasFailed))));
    }

    #[test]
    fn command_older_than_the_clients_latest_is_ignored_thesis_6_3() {
        let mut store = Store::default();
        store.apply(&command(9, 2, KvOperation::Append { key: 1, value: 20 }));
        let late = command(9, 1, KvOperation::Append { key: 1, value: 10 });
        assert_eq!(store.apply(&late), None);
        assert_eq!(store.read(1), vec![20]);
    }

    #[test]
    fn sessions_are_kept_per_client() {
        let mut store = Store::default();
        store.apply(&command(8, 1, KvOperation::Append { key: 1, value: 10 }));
        store.apply(&command(9, 1, KvOperation::Append { key: 1, value: 11 }));
        assert_eq!(store.read(1), vec![10, 11]);
    }
}
