//! The ZooKeeper client: one server at a time, the latest zxid it saw with every request, the
//! next server on `NotServing`, on a silent server and on a broken connection, and Jepsen's
//! outcomes when it gives up.

use super::*;
use crate::kv::{ClientTimer, KvReply, ATTEMPTS_MAX};
use crate::service::Outcome;
use crate::testing::{assert_timer, ClientHarness};
use crate::zab::{ZabMessage, ZabResponse};

const CLIENT: NodeId = 3;

fn client() -> ClientHarness<Zab> {
    ClientHarness::new(&setup(3, CORRECT_VARIANT), CLIENT, 1)
}

fn read() -> KvOperation {
    KvOperation::Read { key: 0 }
}

#[test]
fn a_client_asks_its_server_with_the_latest_zxid_it_saw() {
    let mut client = client();
    let effects = client.request(KvOperation::Write { key: 0, value: 5 });
    let command = write(CLIENT, 1, 0, 5);
    assert_eq!(effects.sent(), vec![(0, ZabMessage::ClientRequest { command, last_zxid: Zxid::ZERO })]);
    assert_timer(&effects, &ZabTimer::Client(ClientTimer::Reply), 2 * T..=2 * T);
    let done = ZabResponse::Done { sequence: 1, outcome: Outcome::Ok(KvReply::Done), zxid: Zxid::new(1, 4) };
    let effects = client.deliver(0, ZabMessage::ClientReply(done));
    assert_eq!(effects.completed(), vec![Outcome::Ok(KvReply::Done)]);
    let effects = client.request(read());
    let Some((0, ZabMessage::ClientRequest { last_zxid, .. })) = effects.sent().pop() else { panic!("a request") };
    assert_eq!(last_zxid, Zxid::new(1, 4));
}

#[test]
fn a_client_moves_on_when_its_server_does_not_serve_or_its_connection_breaks() {
    let mut client = client();
    client.request(read());
    let effects = client.deliver(0, ZabMessage::ClientReply(ZabResponse::NotServing { sequence: 1 }));
    assert_timer(&effects, &ZabTimer::Client(ClientTimer::Retry), T / 4..=T / 2);
    let effects = client.fire(ZabTimer::Client(ClientTimer::Retry));
    assert_eq!(effects.sent().first().map(|(to, _)| *to), Some(1), "the next server");
    client.input(|client, ctx| crate::node::Client::on_disconnected(client, ctx, 1));
    let effects = client.fire(ZabTimer::Client(ClientTimer::Retry));
    assert_eq!(effects.sent().first().map(|(to, _)| *to), Some(2));
    assert_eq!(client.server(), 2);
}

#[test]
fn a_client_that_gives_up_fails_a_read_and_leaves_a_write_unknown() {
    for (operation, outcome) in [(read(), Outcome::Fail), (KvOperation::Write { key: 0, value: 1 }, Outcome::Info)] {
        let mut client = client();
        client.request(operation);
        let mut completed = Vec::new();
        for _ in 0..2 * ATTEMPTS_MAX {
            completed.extend(client.fire(ZabTimer::Client(ClientTimer::Reply)).completed());
            completed.extend(client.fire(ZabTimer::Client(ClientTimer::Retry)).completed());
        }
        assert_eq!(completed, vec![outcome]);
    }
}
