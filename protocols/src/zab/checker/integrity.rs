//! Integrity (DSN section 3; Medeiros section 2.3): if some server delivers a transaction,
//! some leader broadcast it, with that zxid and that command.

use std::collections::BTreeMap;

use super::ms;
use crate::kv::Command;
use crate::node::{NodeId, Time, Violation};
use crate::zab::{Txn, Zxid};

#[derive(Debug, Default)]
pub(super) struct Integrity {
    /// Every transaction broadcast: its command, by whom, when.
    broadcast: BTreeMap<Zxid, (Command, NodeId, Time)>,
}

impl Integrity {
    pub(super) fn on_proposed(&mut self, at: Time, node: NodeId, txn: &Txn) {
        self.broadcast.entry(txn.zxid).or_insert_with(|| (txn.command.clone(), node, at));
    }

    pub(super) fn on_delivered(&mut self, at: Time, node: NodeId, txn: &Txn) -> Result<(), Violation> {
        let Some((command, leader, proposed_at)) = self.broadcast.get(&txn.zxid) else {
            return Err(Violation {
                invariant: "integrity",
                nodes: vec![node],
                evidence: vec![(node, at)],
                detail: format!("server {node} delivered {txn} at {}, which no leader broadcast", ms(at)),
            });
        };
        if *command == txn.command {
            return Ok(());
        }
        Err(Violation {
            invariant: "integrity",
            nodes: vec![*leader, node],
            evidence: vec![(*leader, *proposed_at), (node, at)],
            detail: format!(
                "server {leader} broadcast {} as {command} at {}, and server {node} delivered it as {} at {}",
                txn.zxid,
                ms(*proposed_at),
                txn.command,
                ms(at)
            ),
        })
    }
}
