//! The models `check-history` knows by name. The model abstraction itself (a sequential
//! specification, as in Knossos and Porcupine) and the operations it reads live in the
//! protocols crate (`protocols::history`), since each service declares the model its
//! histories are checked against.

use std::fmt;
use std::str::FromStr;

pub use protocols::history::{Model, ModelOp, Op};

use serde::Serialize;

/// The models a history can be checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelName {
    /// A compare-and-set register per key (one register when there are no keys).
    CasRegister,
    /// A string key-value store with get, put and append.
    StringKv,
}

impl ModelName {
    /// Every model, in the order above.
    pub const ALL: [ModelName; 2] = [ModelName::CasRegister, ModelName::StringKv];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            ModelName::CasRegister => "cas-register",
            ModelName::StringKv => "string-kv",
        }
    }
}

impl fmt::Display for ModelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelName {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ModelName::ALL
            .into_iter()
            .find(|model| model.name() == text)
            .ok_or_else(|| format!("unknown model `{text}` (allowed: cas-register, string-kv)"))
    }
}
