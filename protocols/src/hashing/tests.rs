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

/// A store of `servers` (and `spares`) with `replicas` copies per key.
fn replicated(servers: u32, spares: u32, replicas: u32) -> Setup<ShardSettings> {
    let settings = ShardSettings { replicas, keys: 64, ..ShardSettings::default() };
    Setup { settings, ..setup(servers, spares) }
}

fn write(client: NodeId, key: Key, value: u64) -> Command {
    Command { client, sequence: 1, operation: KvOperation::Write { key, value } }
}

/// Server 0 of `setup`, started, and a key it is the primary of in view 0.
fn a_primary(setup: &Setup<ShardSettings>) -> (Harness<ShardKv>, Key) {
    let mut primary = Harness::<ShardKv>::boot(setup, 0, 1);
    primary.start();
    let key = (0..16).find(|key| primary.owner(0, *key) == 0).expect("server 0 is a primary");
    (primary, key)
}

fn shards(message: &ShardMessage) -> Vec<(Key, u64)> {
    match message {
        ShardMessage::Replicate { shards, .. } => shards.iter().map(|(key, shard)| (*key, shard.position())).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn a_replicated_write_is_acknowledged_only_once_every_backup_holds_it() {
    let (mut primary, key) = a_primary(&replicated(3, 0, 3));
    let backups = primary.backups(0, key);
    assert_eq!(backups.len(), 2, "three owners per key: {:?}", primary.owners(0, key));
    let effects = primary.deliver(3, ShardMessage::Request { command: write(3, key, 7), view: 0 });
    assert!(effects.sent_to(3).is_empty(), "no answer before the backups hold the write: {:?}", effects.sent());
    for backup in &backups {
        let pushed: Vec<_> = effects.sent_to(*backup).iter().flat_map(shards).collect();
        assert!(pushed.contains(&(key, 1)), "backup {backup} is sent the copy with the write: {pushed:?}");
    }
    let ack = |position| ShardMessage::Replicated { view: 0, keys: vec![(key, position)] };
    // A backup's acknowledgment of the copy before the write is not enough, nor one backup's.
    assert!(primary.deliver(backups[0], ack(0)).sent_to(3).is_empty());
    assert!(primary.deliver(backups[0], ack(1)).sent_to(3).is_empty());
    let effects = primary.deliver(backups[1], ack(1));
    let done = Answer::Done { outcome: crate::service::Outcome::Ok(crate::kv::KvReply::Done), position: Some(1) };
    assert_eq!(effects.sent_to(3), vec![ShardMessage::Reply { sequence: 1, answer: done }]);
}

#[test]
fn a_backup_keeps_the_primarys_copy_durably_and_acknowledges_it() {
    let setup = replicated(3, 0, 2);
    let (mut primary, key) = a_primary(&setup);
    let backup_id = primary.backups(0, key)[0];
    let effects = primary.deliver(3, ShardMessage::Request { command: write(3, key, 7), view: 0 });
    let push = effects.sent_to(backup_id).into_iter().find(|m| !shards(m).is_empty()).expect("a copy is pushed");
    let mut backup = Harness::<ShardKv>::boot(&setup, backup_id, 2);
    backup.start();
    let effects = backup.deliver(0, push.clone());
    let acked: Vec<(Key, u64)> = effects
        .sent_to(0)
        .into_iter()
        .flat_map(|m| match m {
            ShardMessage::Replicated { view: 0, keys } => keys,
            other => panic!("a backup answers a copy with Replicated, not {other:?}"),
        })
        .collect();
    assert_eq!(acked.len(), shards(&push).len(), "every copy is acknowledged");
    assert!(acked.contains(&(key, 1)), "{acked:?}");
    assert!(effects.synced(), "the acknowledgment waits for the copy to be durable");
    assert!(backup.claim(key).is_none(), "a backup does not serve the key");
    let records = effects.written();
    let recovered = Harness::<ShardKv>::recovered(&setup, backup_id, &records, 3);
    assert_eq!(recovered.replicas.get(&key).map(|(view, shard)| (*view, shard.position())), Some((0, 1)));
    // A copy from a server that is not the key's primary is ignored.
    let other = (0..3).find(|server| *server != 0 && *server != backup_id).expect("a third server");
    assert!(backup.deliver(other, push).sent().is_empty());
}

#[test]
fn a_view_change_sends_the_key_to_its_new_backup_and_settles_it_once_it_holds_it() {
    let setup = replicated(3, 1, 2);
    let mut primary = Harness::<ShardKv>::boot(&setup, 0, 1);
    primary.start();
    let joined = View::initial(3).joined(3);
    primary.deliver(1, ShardMessage::Views { views: vec![joined.clone()] });
    let key = (0..64)
        .find(|key| primary.owners(0, *key)[0] == 0 && primary.owners(1, *key) == vec![0, 3])
        .expect("a key server 0 keeps whose new backup is the newcomer");
    let mut fresh = Harness::<ShardKv>::boot(&setup, 0, 1);
    fresh.start();
    let effects = fresh.deliver(1, ShardMessage::Views { views: vec![joined] });
    let pushed: Vec<_> = effects.sent_to(3).iter().flat_map(shards).collect();
    assert!(pushed.contains(&(key, 0)), "the newcomer is sent its copy: {pushed:?}");
    assert!(!fresh.settled_now(key), "not settled before the new backup holds it");
    fresh.deliver(3, ShardMessage::Replicated { view: 1, keys: vec![(key, 0)] });
    assert!(fresh.settled_now(key), "settled in view 1 once every backup holds it");
}

#[test]
fn a_new_primary_whose_predecessor_is_gone_gathers_the_latest_copy() {
    let setup = replicated(4, 0, 2);
    let probe = Harness::<ShardKv>::boot(&setup, 0, 1);
    let view1 = View::initial(4).without(1);
    // A key server 1 leads in view 0, whose backup leads it once server 1 is gone.
    let key = (0..16)
        .find(|key| {
            probe.owner(0, *key) == 1 && {
                let backup = probe.backups(0, *key)[0];
                let placement = setup.settings.scheme().place(&view1.members);
                placement::Placement::owner(&placement, *key) == backup
            }
        })
        .expect("such a key");
    let successor = probe.backups(0, key)[0];
    let mut server = Harness::<ShardKv>::boot(&setup, successor, 1);
    server.start();
    let mut copy = Shard::new(key);
    copy.apply(&write(4, key, 9));
    server.deliver(1, ShardMessage::Replicate { view: 0, shards: vec![(key, copy)] });
    server.input(|server, ctx| crate::node::Server::on_membership(server, ctx, crate::node::Membership::Left(1)));
    let effects = server.deliver(0, ShardMessage::Views { views: vec![view1] });
    let asked: Vec<NodeId> = effects
        .sent()
        .into_iter()
        .filter(|(_, m)| matches!(m, ShardMessage::Gather { .. }))
        .map(|(to, _)| to)
        .collect();
    let others: Vec<NodeId> = (0..4).filter(|s| *s != 1 && *s != successor).collect();
    assert_eq!(asked, others, "every server but the gone one is asked");
    assert!(server.claim(key).is_none(), "no serving before every answer is in");
    for other in &others {
        server.deliver(*other, ShardMessage::Copies { view: 1, copies: vec![(key, None)] });
    }
    assert_eq!(server.claim(key), Some((1, 1)), "the backup's copy, with the acknowledged write, is served");
}
