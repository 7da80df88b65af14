//! Serial tenures at the resource: the writes it accepted come from tenures that do not
//! overlap. Tenures are ordered by when their clients acquired the lock; once the resource
//! has accepted a write of one tenure, it must never accept a write of a tenure acquired
//! before it. A paused client whose lease ran out, waking up to write after the next
//! holder wrote, breaks it, unless fencing refuses its write. (A late write of the earlier
//! tenure that lands before the next tenure's first write is fine: the resource saw the
//! tenures one after the other, which is all a lock promises it.)

use std::collections::BTreeMap;

use crate::lock::{ms, Tenure, Write};
use crate::node::{NodeId, Time, Violation};

#[derive(Debug)]
pub struct SerialTenures {
    first_client: NodeId,
    /// When each tenure was acquired.
    starts: BTreeMap<Tenure, Time>,
    /// The latest-acquired tenure that has written: its start, and its latest write accepted
    /// and when.
    latest: Option<(Time, Write, Time)>,
}

impl SerialTenures {
    pub fn new(first_client: NodeId) -> SerialTenures {
        SerialTenures { first_client, starts: BTreeMap::new(), latest: None }
    }

    pub fn on_acquired(&mut self, at: Time, tenure: Tenure) {
        self.starts.insert(tenure, at);
    }

    pub fn on_accepted(&mut self, at: Time, resource: NodeId, write: Write) -> Result<(), Violation> {
        let Some(&start) = self.starts.get(&write.tenure) else { return Ok(()) };
        match self.latest {
            Some((latest_start, latest, latest_at)) if latest.tenure != write.tenure && start < latest_start => {
                let (writer, latest_writer) =
                    (write.tenure.process(self.first_client), latest.tenure.process(self.first_client));
                Err(Violation {
                    invariant: "serial-tenures",
                    nodes: vec![writer, latest_writer, resource],
                    detail: format!(
                        "the resource accepted {write} (acquired at {}) at {}, after it had accepted {latest} \
                         (acquired later, at {}) at {}: two tenures' writes interleave",
                        ms(start),
                        ms(at),
                        ms(latest_start),
                        ms(latest_at),
                    ),
                    evidence: vec![
                        (writer, start),
                        (latest_writer, latest_start),
                        (resource, latest_at),
                        (resource, at),
                    ],
                })
            }
            Some((latest_start, ..)) if start < latest_start => Ok(()),
            _ => {
                self.latest = Some((start, write, at));
                Ok(())
            }
        }
    }
}
