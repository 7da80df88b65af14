//! The consensus service of single-decree protocols: each client proposes values, and every
//! successful proposal is told the one value chosen.
//!
//! The model is a register that only its first write sets: a proposal that runs first
//! chooses its own value, and every later one must be told that value. So the history of
//! successful proposals is linearizable exactly when every client was told the same value
//! and that value was proposed by an operation that could have run first (agreement and
//! validity, as a client sees them).

use std::fmt;

use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::history::Model;
use crate::node::NodeId;
use crate::service::{every, HistoryCheck, Operation, Outcome, Reply, Service, Value, Workload, WorkloadConfig};

/// Propose `value` for the single decision.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Propose {
    pub value: Value,
}

/// The value chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Chosen(pub Value);

impl Operation for Propose {
    fn kind(&self) -> &'static str {
        "propose"
    }
}

impl fmt::Display for Propose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "propose {}", self.value)
    }
}

impl Reply for Chosen {}

impl fmt::Display for Chosen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "chosen {}", self.0)
    }
}

/// The consensus service.
#[derive(Debug)]
pub struct ConsensusService;

impl Service for ConsensusService {
    const NAME: &'static str = "consensus";
    const OPERATIONS: &'static [&'static str] = &["propose"];
    type Operation = Propose;
    type Reply = Chosen;
    type Model = ConsensusModel;
    type Params = ConsensusParams;
    type Workload = ProposeWorkload;

    fn workload(_config: &WorkloadConfig<ConsensusParams>) -> ProposeWorkload {
        ProposeWorkload { next_value: 0 }
    }

    fn history_checks() -> Vec<HistoryCheck<ConsensusService>> {
        vec![HistoryCheck::Linearizability { include: every }]
    }
}

/// The consensus workload has no keys of its own.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsensusParams {}

/// Every operation proposes a value no other operation proposes.
#[derive(Clone, Debug)]
pub struct ProposeWorkload {
    next_value: Value,
}

impl Workload<ConsensusService> for ProposeWorkload {
    fn next(&mut self, _client: NodeId, _rng: &mut ChaCha8Rng) -> Option<Propose> {
        self.next_value += 1;
        Some(Propose { value: self.next_value })
    }
}

/// A register that only its first write sets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConsensusModel;

impl Model for ConsensusModel {
    type Input = Propose;
    type Output = Outcome<Chosen>;
    /// The value chosen so far.
    type State = Option<Value>;
    type Key = ();

    fn name(&self) -> &'static str {
        "consensus"
    }

    fn init(&self) -> Option<Value> {
        None
    }

    fn step(&self, state: &Option<Value>, input: &Propose, output: &Outcome<Chosen>) -> Option<Option<Value>> {
        match (state, output) {
            (None, Outcome::Ok(Chosen(chosen))) => (*chosen == input.value).then_some(Some(input.value)),
            (Some(decided), Outcome::Ok(Chosen(chosen))) => (decided == chosen).then_some(*state),
            (None, Outcome::Info) => Some(Some(input.value)),
            (Some(_), Outcome::Info) | (_, Outcome::Fail) => Some(*state),
        }
    }

    fn key(&self, _input: &Propose) {}

    fn describe_key(&self, _key: &()) -> Option<String> {
        Some("the consensus decision".to_string())
    }

    fn describe(&self, input: &Propose, output: &Outcome<Chosen>) -> String {
        let told = match output {
            Outcome::Ok(Chosen(value)) => format!("told {value} was chosen"),
            Outcome::Fail => "fail".to_string(),
            Outcome::Info => "info (outcome unknown)".to_string(),
        };
        format!("propose {}: {told}", input.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_proposal_chooses_and_later_ones_must_be_told_its_value() {
        let model = ConsensusModel;
        let state = model.step(&None, &Propose { value: 3 }, &Outcome::Ok(Chosen(3)));
        assert_eq!(state, Some(Some(3)));
        assert_eq!(model.step(&None, &Propose { value: 3 }, &Outcome::Ok(Chosen(4))), None);
        assert_eq!(model.step(&Some(3), &Propose { value: 5 }, &Outcome::Ok(Chosen(3))), Some(Some(3)));
        assert_eq!(model.step(&Some(3), &Propose { value: 5 }, &Outcome::Ok(Chosen(5))), None);
        assert_eq!(model.step(&None, &Propose { value: 5 }, &Outcome::Info), Some(Some(5)));
    }
}
