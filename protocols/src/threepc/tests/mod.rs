//! Exact-output handler tests of three-phase commit through the node contract, with the
//! test kit and no engine: each feeds one input to a coordinator or participant (built fresh
//! or from log records) and asserts its effects in order, citing the rule it pins (Skeen
//! 1981; Skeen and Stonebraker 1983; BHG section 7.5). The client is shared with 2PC and
//! tested there.

mod coordinator;
mod participant;
mod termination;

use super::*;
use crate::commit::{CommitObservation, Decision, Share, TransactionId};
use crate::node::{Effect, NodeId, Setup, Time, CORRECT, MILLISECOND};
use crate::service::Key;
use crate::testing::{self, Harness};

const SEED: u64 = 7;
const TIMEOUT: Time = 10 * MILLISECOND;
/// How long a participant waits on its coordinator or backup.
const SUSPICION: Time = SUSPECT_ROUNDS as Time * TIMEOUT;
/// A coordinator (0), three participants (1, 2, 3) and a client (4). Key `k` is held by
/// participant `1 + k % 3`.
const SERVERS: u32 = 4;
const CLIENT: NodeId = 4;

fn setup() -> Setup {
    testing::setup(SERVERS, 1, CORRECT, TIMEOUT)
}

/// Server `id` at first boot.
fn server(id: NodeId) -> Harness<ThreePhaseCommit> {
    Harness::boot(&setup(), id, SEED)
}

fn can_commit(transaction: TransactionId, keys: &[Key], participants: &[NodeId]) -> ThreePhaseMessage {
    let share = Share::writing(keys, &[]);
    ThreePhaseMessage::CanCommit { transaction, share, participants: participants.to_vec() }
}

fn reply(transaction: TransactionId, decision: Decision) -> ThreePhaseMessage {
    ThreePhaseMessage::Client(ClientMessage::Reply { transaction, decision, reads: vec![] })
}

fn decided(transaction: TransactionId, decision: Decision) -> CommitObservation {
    CommitObservation::Decided { transaction, decision }
}

/// Participant `id` after voting yes on transaction 7, whose participants are 1, 2 and 3
/// (its yes vote took sync 1).
fn uncertain(id: NodeId) -> Harness<ThreePhaseCommit> {
    let mut server = server(id);
    server.deliver(0, can_commit(7, &[Key::from(id) - 1], &[1, 2, 3]));
    server
}

fn state(server: &ThreePhaseServer, transaction: TransactionId) -> Option<SiteState> {
    let ThreePhaseServer::Participant(participant) = server else { panic!("not a participant") };
    participant.state(transaction)
}
