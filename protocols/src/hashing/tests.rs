//! Handler tests of the store: exact effects of one input.

use super::*;
use crate::kv::KvOperation;
use crate::testing::{self, Harness};

fn setup(servers: u32, spares: u32) -> Setup<ShardSettings> {
    Setup { spares, ..testing::setup(servers, 2, CORRECT, 20 * crate::node::MILLISECOND) }
}

#[test]
fn a_server_serves_the_keys_it_owns_in_view_0_and_redirects_the_rest() {
    let setup = setup(3, 0);
    let mut server = Harness::<ShardKv>::boot(&setup, 0, 1);
    server.start();
    let owned = (0..16).find(|key| server.owner(0, *key) == 0).expect("server 0 owns a key");
    let other = (0..16).find(|key| server.owner(0, *key) != 0).expect("another owns one");
    let write = |key| Command { client: 3, sequence: 1, operation: KvOperation::Write { key, value: 7 } };
    let effects = server.deliver(3, ShardMessage::Request { command: write(owned), view: 0 });
    let done = Answer::Done { outcome: crate::service::Outcome::Ok(crate::kv::KvReply::Done), position: Some(1) };
    assert_eq!(effects.sent(), vec![(3, ShardMessage::Reply { sequence: 1, answer: done })]);
    assert!(effects.synced(), "the reply waits for the update to be durable");
    let effects = server.deliver(3, ShardMessage::Request { command: write(other), view: 0 });
    let redirect = Answer::Redirect { view: View::initial(3) };
    assert_eq!(effects.sent(), vec![(3, ShardMessage::Reply { sequence: 1, answer: redirect })]);
}
