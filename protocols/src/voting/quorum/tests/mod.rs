//! Tests of the quorum store: exact-output handler tests of the coordinator and the replica
//! (Gifford 1979; Dynamo 2007, sections 4.5 to 4.7), and hand-driven clusters for the
//! membership moves (view.rs has the view's own tests).

mod coordinator;
mod membership;

use super::*;
use crate::node::{Setup, MILLISECOND};
use crate::testing::{self, Harness};

const SEED: u64 = 7;
const TIMEOUT: u64 = 10 * MILLISECOND;

fn setup_with(
    servers: u32,
    spares: u32,
    clients: u32,
    variant: &'static str,
    settings: QuorumSettings,
) -> Setup<QuorumSettings> {
    Setup { spares, settings, ..testing::setup(servers, clients, variant, TIMEOUT) }
}

fn setup(settings: QuorumSettings) -> Setup<QuorumSettings> {
    setup_with(3, 0, 2, CORRECT, settings)
}

fn server(settings: QuorumSettings, id: NodeId) -> Harness<Quorum> {
    let mut server = Harness::<Quorum>::boot(&setup(settings), id, SEED);
    server.start();
    server
}

fn version(counter: u64, writer: NodeId) -> Version {
    Version { counter, writer }
}

/// A message between servers with the initial view's stamp.
fn peer(message: Peer) -> QuorumMessage {
    QuorumMessage::Peer { stamp: (0, 0), message }
}
