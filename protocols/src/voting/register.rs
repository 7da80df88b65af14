//! The register service of the quorum store and ABD: reads and writes of registers, one per
//! key, and nothing else.
//!
//! A register cannot offer append or compare-and-set without consensus (a compare-and-set
//! register solves consensus: Herlihy, "Wait-free synchronization", 1991), so the service
//! names only `read` and `write`, and a scenario whose mix names anything else is refused
//! when it is loaded. Its operations, replies, sequential model and workload are the
//! key-value service's ([`KvModel`] per key is exactly a register when only reads and
//! writes occur), so a comparison with Raft or Multi-Paxos on a mix of reads and writes runs
//! the same operations and the same linearizability check.

use rand_chacha::ChaCha8Rng;

use crate::kv::{KvModel, KvOperation, KvParams, KvReply, KvService, KvWorkload};
use crate::node::NodeId;
use crate::service::{every, HistoryCheck, Service, Workload, WorkloadConfig};

/// Reads and writes of registers.
#[derive(Debug)]
pub struct RegisterService;

impl Service for RegisterService {
    const NAME: &'static str = "register";
    const OPERATIONS: &'static [&'static str] = &["read", "write"];
    type Operation = KvOperation;
    type Reply = KvReply;
    type Model = KvModel;
    type Params = KvParams;
    type Workload = RegisterWorkload;

    fn workload(config: &WorkloadConfig<KvParams>) -> RegisterWorkload {
        RegisterWorkload(KvService::workload(config))
    }

    fn history_checks() -> Vec<HistoryCheck<RegisterService>> {
        vec![HistoryCheck::Linearizability { include: every }]
    }
}

/// The key-value workload on a mix of reads and writes.
#[derive(Clone, Debug)]
pub struct RegisterWorkload(KvWorkload);

impl Workload<RegisterService> for RegisterWorkload {
    fn next(&mut self, client: NodeId, rng: &mut ChaCha8Rng) -> Option<KvOperation> {
        Workload::<KvService>::next(&mut self.0, client, rng)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rand::SeedableRng;

    use super::*;
    use crate::service::Mix;

    #[test]
    fn the_workload_draws_only_reads_and_writes_with_unique_values() {
        let config = WorkloadConfig {
            clients: 2,
            first_client: 3,
            keys: 2,
            mix: Mix::new(&BTreeMap::new(), RegisterService::OPERATIONS),
            params: KvParams::default(),
        };
        let mut workload = RegisterService::workload(&config);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let operations: Vec<KvOperation> = (0..200).filter_map(|_| workload.next(3, &mut rng)).collect();
        assert!(operations.iter().all(|op| matches!(op, KvOperation::Read { .. } | KvOperation::Write { .. })));
        assert!(operations.iter().any(|op| matches!(op, KvOperation::Read { .. })));
        let values: Vec<u64> = operations
            .iter()
            .filter_map(|op| match op {
                KvOperation::Write { value, .. } => Some(*value),
                _ => None,
            })
            .collect();
        let unique: std::collections::BTreeSet<u64> = values.iter().copied().collect();
        assert!(values.len() > 50 && unique.len() == values.len());
    }
}
