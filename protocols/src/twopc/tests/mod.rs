//! Exact-output handler tests of two-phase commit through the node contract, with the test
//! kit and no engine: each feeds one input to a coordinator, participant or client (built
//! fresh or from log records) and asserts its effects in order, citing the rule of BHG
//! section 7.4 (or the presumed-abort rule of R* section 3) it pins.

mod client;
mod coordinator;
mod participant;

use super::*;
use crate::commit::{Decision, Share, TransactionId};
use crate::node::{Effect, NodeId, Setup, Time, CORRECT, MILLISECOND};
use crate::service::Key;
use crate::testing::{self, Harness};

const SEED: u64 = 7;
const TIMEOUT: Time = 10 * MILLISECOND;
/// A coordinator (0), three participants (1, 2, 3) and a client (4). Key `k` is held by
/// participant `1 + k % 3`.
const SERVERS: u32 = 4;
const CLIENT: NodeId = 4;

fn setup(variant: &'static str) -> Setup {
    testing::setup(SERVERS, 1, variant, TIMEOUT)
}

/// Server `id` at first boot.
fn server(variant: &'static str, id: NodeId) -> Harness<TwoPhaseCommit> {
    Harness::boot(&setup(variant), id, SEED)
}

fn share(keys: &[Key], vetoes: &[Key]) -> Share {
    Share::writing(keys, vetoes)
}

fn request(transaction: TransactionId, keys: &[Key], vetoes: &[Key]) -> TwoPhaseMessage {
    TwoPhaseMessage::Client(ClientMessage::Request(crate::commit::Transaction::writing(transaction, keys, vetoes)))
}

fn reply(transaction: TransactionId, decision: Decision) -> TwoPhaseMessage {
    TwoPhaseMessage::Client(ClientMessage::Reply { transaction, decision, reads: vec![] })
}

fn decision(transaction: TransactionId, decision: Decision) -> TwoPhaseMessage {
    TwoPhaseMessage::Decision { transaction, decision }
}
