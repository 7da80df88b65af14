//! What a coordinator remembers of its clients' requests, so that a request a client sends
//! again (its reply was lost, or slow) is never carried out twice.
//!
//! A read carried out twice is harmless, but a write carried out twice may take effect
//! twice, once before and once after another client's write, which no single point of
//! the write's interval explains. So a coordinator notes every update it takes on, in a
//! durable record before any replica hears of it, and remembers the outcome of each
//! client's latest request in memory (one per client: a client has one request at a time,
//! as the Raft thesis's sessions in section 6.3 assume). A request sent again is answered
//! from memory, ignored while it is still running, and answered `Info` when the coordinator
//! took it on but no longer knows how it ended (it crashed since, or gave up on it): it may
//! or may not have taken effect.

use std::collections::BTreeMap;

use crate::kv::{Command, KvReply, Sequence};
use crate::node::NodeId;
use crate::service::Outcome;

/// A coordinator's memory of its clients' requests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sessions {
    /// Per client, the latest update taken on (durable: rebuilt from the records).
    taken: BTreeMap<NodeId, Sequence>,
    /// Per client, the latest request answered and its outcome (lost at a crash).
    answered: BTreeMap<NodeId, (Sequence, Outcome<KvReply>)>,
}

/// What to do with a client's request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Carry it out.
    Start,
    /// Answer this, and do nothing else.
    Answer(Outcome<KvReply>),
    /// It is running, or older than the client's latest: do nothing.
    Ignore,
}

impl Sessions {
    /// The sessions of a restarted coordinator: the updates it had taken on.
    pub fn recovered(taken: impl IntoIterator<Item = (NodeId, Sequence)>) -> Sessions {
        let mut sessions = Sessions::default();
        for (client, sequence) in taken {
            sessions.take(client, sequence);
        }
        sessions
    }

    /// How to treat `command`, given the sequence number of its client's request running
    /// here, if one is.
    pub fn admit(&self, command: &Command, running: Option<Sequence>) -> Admission {
        let client = command.client;
        let answered = self.answered.get(&client);
        if let Some((sequence, outcome)) = answered.filter(|(sequence, _)| *sequence == command.sequence) {
            debug_assert_eq!(*sequence, command.sequence);
            return Admission::Answer(outcome.clone());
        }
        let taken = self.taken.get(&client).copied();
        let latest = [taken, answered.map(|(sequence, _)| *sequence), running].into_iter().flatten().max();
        if running == Some(command.sequence) || latest.is_some_and(|latest| command.sequence < latest) {
            return Admission::Ignore;
        }
        if command.operation.is_update() && taken == Some(command.sequence) {
            return Admission::Answer(Outcome::Info);
        }
        Admission::Start
    }

    /// Notes that the update `sequence` of `client` was taken on (the caller writes its record).
    pub fn take(&mut self, client: NodeId, sequence: Sequence) {
        let taken = self.taken.entry(client).or_default();
        *taken = (*taken).max(sequence);
    }

    /// Notes the outcome of a request.
    pub fn answer(&mut self, client: NodeId, sequence: Sequence, outcome: Outcome<KvReply>) {
        self.answered.insert(client, (sequence, outcome));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::KvOperation;

    fn command(sequence: Sequence, operation: KvOperation) -> Command {
        Command { client: 9, sequence, operation }
    }

    const WRITE: KvOperation = KvOperation::Write { key: 0, value: 5 };
    const READ: KvOperation = KvOperation::Read { key: 0 };

    #[test]
    fn a_request_sent_again_is_answered_from_memory_or_ignored_while_it_runs() {
        let mut sessions = Sessions::default();
        assert_eq!(sessions.admit(&command(1, WRITE), None), Admission::Start);
        sessions.take(9, 1);
        assert_eq!(sessions.admit(&command(1, WRITE), Some(1)), Admission::Ignore, "it is running");
        sessions.answer(9, 1, Outcome::Ok(KvReply::Done));
        assert_eq!(sessions.admit(&command(1, WRITE), None), Admission::Answer(Outcome::Ok(KvReply::Done)));
        assert_eq!(sessions.admit(&command(2, READ), None), Admission::Start, "the next request");
        assert_eq!(sessions.admit(&command(0, READ), None), Admission::Ignore, "an older one");
    }

    #[test]
    fn an_update_taken_on_before_a_crash_is_answered_info_and_never_run_again() {
        let recovered = Sessions::recovered([(9, 4)]);
        assert_eq!(recovered.admit(&command(4, WRITE), None), Admission::Answer(Outcome::Info));
        assert_eq!(recovered.admit(&command(3, WRITE), None), Admission::Ignore);
        assert_eq!(recovered.admit(&command(5, WRITE), None), Admission::Start);
        let read = Command { client: 8, sequence: 4, operation: READ };
        assert_eq!(recovered.admit(&read, None), Admission::Start, "another client's session");
    }
}
