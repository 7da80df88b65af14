//! The protocols faultline can run: one entry per protocol, with its variants, the
//! operations its clients perform, and its run function on the native engine. Adding a
//! protocol means adding one line here.

use protocols::multipaxos::MultiPaxos;
use protocols::node::{Protocol, Variant};
use protocols::operation::OperationKind;
use protocols::paxos::Paxos;
use protocols::raft::Raft;
use protocols::threepc::ThreePhaseCommit;
use protocols::twopc::TwoPhaseCommit;

use crate::engine::{self, RunOptions, RunRecord};
use crate::madsim_engine;
use crate::scenario::Scenario;

pub struct ProtocolEntry {
    pub name: &'static str,
    pub about: &'static str,
    pub variants: &'static [Variant],
    pub operations: &'static [OperationKind],
    pub run: fn(&Scenario, RunOptions) -> RunRecord,
    /// Its run function on the madsim engine.
    pub run_madsim: fn(&Scenario, RunOptions) -> RunRecord,
}

impl ProtocolEntry {
    pub fn variant(&self, name: &str) -> Option<&'static Variant> {
        self.variants.iter().find(|variant| variant.name == name)
    }
}

const fn entry<P: Protocol>() -> ProtocolEntry {
    ProtocolEntry {
        name: P::NAME,
        about: P::ABOUT,
        variants: P::VARIANTS,
        operations: P::OPERATIONS,
        run: engine::run::<P>,
        run_madsim: madsim_engine::run::<P>,
    }
}

pub static PROTOCOLS: &[ProtocolEntry] =
    &[entry::<Paxos>(), entry::<Raft>(), entry::<MultiPaxos>(), entry::<TwoPhaseCommit>(), entry::<ThreePhaseCommit>()];

pub fn find(name: &str) -> Option<&'static ProtocolEntry> {
    PROTOCOLS.iter().find(|entry| entry.name == name)
}
