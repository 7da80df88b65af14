//! `Queue`: a FIFO queue of integers with enqueue and dequeue (Jepsen's queue workload as
//! Knossos's `fifo-queue` model checks it), one queue per key when the history has
//! `independent` keys.
//!
//! A dequeue returns the oldest element and removes it; a dequeue that returned nothing
//! (`nil`) saw the queue empty.

use std::collections::VecDeque;

use super::model::Model;

/// The FIFO queue model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Queue;

/// A queue operation, with the key of its queue (`None`: the only queue).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct QueueInput {
    pub key: Option<String>,
    pub command: QueueCommand,
}

/// What a queue operation asks.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum QueueCommand {
    Enqueue(i64),
    Dequeue,
}

/// How a queue operation ended.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum QueueOutput {
    /// An enqueue took effect.
    Enqueued,
    /// A dequeue returned this element (`None`: the queue was empty).
    Dequeued(Option<i64>),
    /// Nothing is known: the operation may or may not have taken effect (for a dequeue,
    /// removing whichever element was oldest).
    Unknown,
}

impl Model for Queue {
    type Input = QueueInput;
    type Output = QueueOutput;
    type State = VecDeque<i64>;
    type Key = Option<String>;

    fn name(&self) -> &'static str {
        "queue"
    }

    fn init(&self) -> VecDeque<i64> {
        VecDeque::new()
    }

    fn step(&self, state: &VecDeque<i64>, input: &QueueInput, output: &QueueOutput) -> Option<VecDeque<i64>> {
        match (&input.command, output) {
            (QueueCommand::Enqueue(element), QueueOutput::Enqueued | QueueOutput::Unknown) => {
                let mut next = state.clone();
                next.push_back(*element);
                Some(next)
            }
            (QueueCommand::Dequeue, QueueOutput::Dequeued(seen)) => match (seen, state.front()) {
                (None, None) => Some(state.clone()),
                (Some(seen), Some(oldest)) if seen == oldest => Some(state.iter().skip(1).copied().collect()),
                _ => None,
            },
            (QueueCommand::Dequeue, QueueOutput::Unknown) => Some(state.iter().skip(1).copied().collect()),
            (QueueCommand::Enqueue(_), QueueOutput::Dequeued(_)) | (QueueCommand::Dequeue, QueueOutput::Enqueued) => {
                None
            }
        }
    }

    fn key(&self, input: &QueueInput) -> Option<String> {
        input.key.clone()
    }

    fn describe_key(&self, key: &Option<String>) -> Option<String> {
        key.clone()
    }

    fn describe(&self, input: &QueueInput, output: &QueueOutput) -> String {
        let asked = match input.command {
            QueueCommand::Enqueue(element) => format!("enqueue {element}"),
            QueueCommand::Dequeue => "dequeue".to_string(),
        };
        let told = match output {
            QueueOutput::Enqueued => "ok".to_string(),
            QueueOutput::Dequeued(Some(element)) => format!("returned {element}"),
            QueueOutput::Dequeued(None) => "returned nil (empty)".to_string(),
            QueueOutput::Unknown => "info (outcome unknown)".to_string(),
        };
        format!("{asked}: {told}")
    }

    fn heap_size(&self, state: &VecDeque<i64>) -> usize {
        state.len() * std::mem::size_of::<i64>()
    }
}
