//! Monotonic tokens at the resource: the fencing tokens of the writes it accepted never go
//! backwards. With fencing on, the resource refuses a write whose token is older than the
//! newest it accepted, so only a resource that does not check (`no-fencing`) or a service
//! that hands out a smaller token to a later holder can break it. Writes without a token
//! (Redlock has none) are not judged here.

use crate::lock::{ms, Token, Write};
use crate::node::{NodeId, Time, Violation};

#[derive(Debug)]
pub struct MonotonicTokens {
    first_client: NodeId,
    /// The newest token accepted, with its write and when.
    newest: Option<(Token, Write, Time)>,
}

impl MonotonicTokens {
    pub fn new(first_client: NodeId) -> MonotonicTokens {
        MonotonicTokens { first_client, newest: None }
    }

    pub fn on_accepted(&mut self, at: Time, resource: NodeId, write: Write) -> Result<(), Violation> {
        let Some(token) = write.token else { return Ok(()) };
        match self.newest {
            Some((newest, before, before_at)) if token < newest => Err(Violation {
                invariant: "monotonic-tokens",
                nodes: vec![
                    write.tenure.process(self.first_client),
                    before.tenure.process(self.first_client),
                    resource,
                ],
                detail: format!(
                    "the resource accepted {write} at {}, after it had accepted {before} at {}: the token went back",
                    ms(at),
                    ms(before_at),
                ),
                evidence: vec![(resource, before_at), (resource, at)],
            }),
            Some((newest, ..)) if token == newest => Ok(()),
            _ => {
                self.newest = Some((token, write, at));
                Ok(())
            }
        }
    }
}
