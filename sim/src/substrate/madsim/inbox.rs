//! The host's inbox: what the tasks on madsim nodes report, in the order madsim ran them.
//!
//! madsim's tasks must be `Send` and the state machines need not be, so a task never touches
//! them: it pushes a small report here, which wakes the host. Every task runs on the run's one
//! thread, so the lock is never contended; it is there because madsim asks for `Send`.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Waker};

use madsim::net::Endpoint;
use protocols::node::NodeId;

/// One report from a task to the host.
pub(super) enum Report {
    /// The node booted and bound its endpoint.
    Up { node: NodeId, endpoint: Endpoint },
    /// The event with this id in the host's table is due.
    Due { id: u64 },
    /// The datagram carrying message `id` reached `node`.
    Datagram { id: u64 },
    /// The run's end time.
    End,
}

#[derive(Default)]
pub(super) struct Inbox {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    reports: VecDeque<Report>,
    /// The host, when it waits for a report.
    host: Option<Waker>,
}

impl Inbox {
    /// Queues a report and wakes the host.
    pub(super) fn push(&self, report: Report) {
        let host = {
            let mut state = self.lock();
            state.reports.push_back(report);
            state.host.take()
        };
        if let Some(host) = host {
            host.wake();
        }
    }

    /// The next report, once there is one.
    pub(super) async fn next(&self) -> Report {
        poll_fn(|context| {
            let mut state = self.lock();
            match state.reports.pop_front() {
                Some(report) => Poll::Ready(report),
                None => {
                    state.host = Some(context.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await
    }

    /// Whether no report waits.
    pub(super) fn is_empty(&self) -> bool {
        self.lock().reports.is_empty()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock, so a poisoned one is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
