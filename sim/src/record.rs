//! What a run records beside its client history: every message with its fate and cause
//! (when recording is on), node and fault events, message counts by type, milestones, and
//! the trace hash that identifies the run exactly.

use std::hash::{Hash, Hasher};

use protocols::node::{Message, NodeId, Time};

use crate::scenario::FaultKind;

/// What became of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    InFlight,
    Delivered(Time),
    Lost,
    /// Cut by a partition, at sending or in flight.
    Blocked,
    /// The receiver was down (crashed, or restarted since the message left: a crash breaks
    /// the connections, and what was on its way is lost with them).
    Crashed,
    /// Sent on a FIFO link's connection that broke before it was delivered (see
    /// `world::connections`).
    Broken,
}

impl Fate {
    pub fn name(self) -> &'static str {
        match self {
            Fate::InFlight => "in-flight",
            Fate::Delivered(_) => "delivered",
            Fate::Lost => "lost",
            Fate::Blocked => "blocked",
            Fate::Crashed => "receiver-crashed",
            Fate::Broken => "connection-broken",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRecord {
    pub from: NodeId,
    pub to: NodeId,
    pub kind: &'static str,
    /// Bytes on the wire (0 unless recording is detailed).
    pub size: usize,
    pub sent: Time,
    pub fate: Fate,
    /// True for the network's duplicate of an earlier message.
    pub copy: bool,
    /// The message whose delivery the sender was handling when it sent this one.
    pub cause: Option<u64>,
    /// The message's fields in words (recorded only when recording is detailed).
    pub payload: String,
}

/// A node or fault event (crash, restart, partition, an observation, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeEvent {
    pub time: Time,
    /// `None` for events of the whole network.
    pub node: Option<NodeId>,
    pub what: String,
    /// The message whose delivery the node was handling, if any.
    pub cause: Option<u64>,
}

/// A fault the engine applied, and when it was undone: the run's fault log, from which a
/// failing run's faults become an explicit timeline, and plots shade fault periods.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultPeriod {
    pub start: Time,
    /// `None` while in force; equal to `start` for an instant fault (a clock jump).
    pub end: Option<Time>,
    pub kind: FaultKind,
}

/// Everything recorded in one run.
#[derive(Debug, Default)]
pub struct Recorder {
    /// Keep per-message records and events (off in sweeps: counts only).
    pub detailed: bool,
    pub messages: Vec<MessageRecord>,
    pub events: Vec<NodeEvent>,
    pub faults: Vec<FaultPeriod>,
    /// Messages sent, by type, in first-seen order.
    pub sent_by_kind: Vec<(&'static str, u64)>,
    /// Where recent kinds are in `sent_by_kind`, by the address of their name.
    kind_cache: KindCache,
    /// Extra copies the network made (not counted as sent: the protocol sent one).
    pub duplicated: u64,
    /// Protocol milestones reached (`Protocol::milestone`), in first-seen order.
    pub milestones: Vec<(&'static str, u64)>,
    pub dropped: u64,
    pub trace: TraceHasher,
    /// The message whose delivery is being handled now, if any: the cause of what the
    /// handler sends and observes.
    pub handling: Option<u64>,
}

impl Recorder {
    pub fn new(detailed: bool) -> Recorder {
        Recorder { detailed, ..Recorder::default() }
    }

    /// The record of `message`, sent now by `from` to `to`, in flight.
    pub fn message<M: Message>(&self, from: NodeId, to: NodeId, message: &M, sent: Time) -> MessageRecord {
        MessageRecord {
            from,
            to,
            kind: message.kind(),
            // The size is for the message table, which only a detailed record has; a
            // protocol's size may walk the whole message (Raft's counts its entries).
            size: if self.detailed { message.size_bytes() } else { 0 },
            sent,
            fate: Fate::InFlight,
            copy: false,
            cause: self.handling,
            payload: if self.detailed { payload(message) } else { String::new() },
        }
    }

    /// Counts a message of `kind` (or a network copy of one); returns its id.
    pub fn sent(&mut self, record: MessageRecord) -> u64 {
        if record.copy {
            self.duplicated += 1;
        } else {
            self.kind_cache.count(&mut self.sent_by_kind, record.kind);
        }
        let id = self.messages.len() as u64;
        if self.detailed {
            self.messages.push(record);
        }
        id
    }

    pub fn fate(&mut self, id: u64, fate: Fate) {
        if !matches!(fate, Fate::Delivered(_)) {
            self.dropped += 1;
        }
        if let Some(message) = self.messages.get_mut(id as usize) {
            message.fate = fate;
        }
    }

    pub fn event(&mut self, time: Time, node: Option<NodeId>, what: impl FnOnce() -> String) {
        if self.detailed {
            self.events.push(NodeEvent { time, node, what: what(), cause: self.handling });
        }
    }

    pub fn messages_sent(&self) -> u64 {
        self.sent_by_kind.iter().map(|(_, count)| count).sum()
    }

    pub fn milestone(&mut self, name: &'static str) {
        count(&mut self.milestones, name);
    }
}

/// Payloads longer than this are cut short in the message table.
const PAYLOAD_MAX: usize = 240;

/// A message's fields in words, at most `PAYLOAD_MAX` characters.
fn payload<M: Message>(message: &M) -> String {
    let mut text = format!("{message:?}");
    if text.len() > PAYLOAD_MAX {
        let cut = (0..=PAYLOAD_MAX).rev().find(|&at| text.is_char_boundary(at)).unwrap_or(0);
        text.truncate(cut);
        text.push('\u{2026}');
    }
    text
}

/// Adds one to `name`'s count (names are few, so a scan beats a map). A name is nearly
/// always the same literal each time, so the scan compares addresses first and text only
/// when no address matches.
/// Returns its place in `counts`.
fn count(counts: &mut Vec<(&'static str, u64)>, name: &'static str) -> usize {
    let position = counts
        .iter()
        .position(|(known, _)| std::ptr::eq(*known, name))
        .or_else(|| counts.iter().position(|(known, _)| *known == name));
    match position {
        Some(position) => {
            counts[position].1 += 1;
            position
        }
        None => {
            counts.push((name, 1));
            counts.len() - 1
        }
    }
}

/// A direct-mapped cache from the address of a kind's name to its place in the counts: a
/// message is counted on every send, and a scan of the kinds mispredicts its exit often.
/// Addresses differ from run to run, but only which lookups hit does, not the counts.
#[derive(Debug, Default)]
struct KindCache([((usize, usize), usize); 16]);

impl KindCache {
    fn count(&mut self, counts: &mut Vec<(&'static str, u64)>, name: &'static str) {
        // Address and length: one literal may be a prefix of another in the same storage.
        let key = (name.as_ptr() as usize, name.len());
        let slot = &mut self.0[(key.0 >> 3) & 15];
        if slot.0 == key {
            counts[slot.1].1 += 1;
            return;
        }
        *slot = (key, count(counts, name));
    }
}

/// An Fx-style word hash over every input the engine hands to a node: fast, and
/// deterministic across runs and processes (unlike std's randomly keyed hasher).
#[derive(Clone, Copy, Debug)]
pub struct TraceHasher(u64);

impl Default for TraceHasher {
    fn default() -> Self {
        TraceHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for TraceHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.mix(u64::from_le_bytes(chunk.try_into().expect("chunks of 8")));
        }
        for byte in chunks.remainder() {
            self.mix(*byte as u64);
        }
    }

    fn write_u8(&mut self, value: u8) {
        self.mix(value as u64);
    }

    fn write_u32(&mut self, value: u32) {
        self.mix(value as u64);
    }

    fn write_u64(&mut self, value: u64) {
        self.mix(value);
    }

    fn write_usize(&mut self, value: usize) {
        self.mix(value as u64);
    }
}

impl TraceHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    /// Mixes one input into the hash.
    pub fn input(&mut self, time: Time, node: NodeId, tag: u8, payload: &impl Hash) {
        time.hash(self);
        node.hash(self);
        tag.hash(self);
        payload.hash(self);
    }
}
