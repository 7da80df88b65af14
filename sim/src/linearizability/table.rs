//! The search's tables, with memory that is counted and bounded: every allocation they make
//! is charged to a [`Meter`] first, and refused if it would pass the meter's limit, so that
//! the search answers "unknown" instead of being killed for want of memory.
//!
//! - [`IdTable`]: an open-addressing hash index (linear probing) from a hash to dense ids;
//!   the caller keeps the keys and says when two are equal.
//! - [`WordSets`]: a set of variable-length keys of 64-bit words, stored end to end in one
//!   arena (no allocation per key): the cache of visited configurations.
//! - [`Interner`]: model states numbered once, so that the cache and the transition memo
//!   hash and compare 32-bit numbers instead of states.
//! - [`Memo`]: (state, operation class) to the next state, for the transitions asked lately,
//!   so that the model does not run again and again on the same question.

use std::hash::{Hash, Hasher};

/// Bytes allocated by one search, against a limit.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Meter {
    pub used: usize,
    pub limit: usize,
}

impl Meter {
    /// Charges `bytes`; false (charging nothing) if that would pass the limit.
    pub(crate) fn charge(&mut self, bytes: usize) -> bool {
        match self.used.checked_add(bytes) {
            Some(total) if total <= self.limit => {
                self.used = total;
                true
            }
            _ => false,
        }
    }

    pub(crate) fn release(&mut self, bytes: usize) {
        self.used = self.used.saturating_sub(bytes);
    }
}

/// Pushes `value`, growing `vec` by half when it is full, if the meter allows the growth.
pub(crate) fn push<T>(vec: &mut Vec<T>, value: T, meter: &mut Meter) -> bool {
    if vec.len() == vec.capacity() && !grow(vec, 1, meter) {
        return false;
    }
    vec.push(value);
    true
}

/// Makes room for `extra` more elements (growing by at least half), if the meter allows.
pub(crate) fn grow<T>(vec: &mut Vec<T>, extra: usize, meter: &mut Meter) -> bool {
    if vec.capacity() - vec.len() >= extra {
        return true;
    }
    let wanted = (vec.len() + extra).max(vec.capacity() + vec.capacity() / 2).max(16);
    let more = wanted - vec.capacity();
    if !meter.charge(more * std::mem::size_of::<T>()) {
        return false;
    }
    vec.reserve_exact(wanted - vec.len());
    true
}

/// An index from hashes to ids `0..len`: slots hold the high half of the hash (which also
/// picks the slot) and the id plus one (0 marks an empty slot).
#[derive(Debug, Default)]
pub(crate) struct IdTable {
    slots: Vec<u64>,
    len: usize,
}

impl IdTable {
    /// The id whose key `is_key` accepts among those with this hash, if any.
    pub(crate) fn find(&self, hash: u64, mut is_key: impl FnMut(u32) -> bool) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let (tag, mask) = (hash >> 32, self.slots.len() - 1);
        let mut slot = tag as usize & mask;
        loop {
            let entry = self.slots[slot];
            if entry == 0 {
                return None;
            }
            if entry >> 32 == tag && is_key((entry as u32) - 1) {
                return Some((entry as u32) - 1);
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Indexes `id` (absent so far) under `hash`; false if the meter refused the growth.
    pub(crate) fn insert(&mut self, hash: u64, id: u32, meter: &mut Meter) -> bool {
        if (self.len + 1) * 4 > self.slots.len() * 3 && !self.rehash(meter) {
            return false;
        }
        let (tag, mask) = (hash >> 32, self.slots.len() - 1);
        let mut slot = tag as usize & mask;
        while self.slots[slot] != 0 {
            slot = (slot + 1) & mask;
        }
        self.slots[slot] = tag << 32 | u64::from(id + 1);
        self.len += 1;
        true
    }

    /// Doubles the slots. The old and new slots are both held while moving, so both count.
    fn rehash(&mut self, meter: &mut Meter) -> bool {
        let size = (self.slots.len() * 2).max(64);
        let bytes = size * std::mem::size_of::<u64>();
        if !meter.charge(bytes) {
            return false;
        }
        let old = std::mem::replace(&mut self.slots, vec![0; size]);
        let mask = size - 1;
        for entry in old.iter().copied().filter(|&entry| entry != 0) {
            let mut slot = (entry >> 32) as usize & mask;
            while self.slots[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            self.slots[slot] = entry;
        }
        meter.release(old.len() * std::mem::size_of::<u64>());
        true
    }
}

/// A set of keys made of 64-bit words, with an id for each key in insertion order.
#[derive(Debug, Default)]
pub(crate) struct WordSets {
    words: Vec<u64>,
    /// Where each key starts in `words`; it ends where the next one starts.
    starts: Vec<u32>,
    index: IdTable,
}

/// What [`WordSets::insert`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Inserted {
    New(u32),
    Present(u32),
    /// The meter refused the memory.
    Full,
}

impl WordSets {
    /// The words of key `id`.
    pub(crate) fn get(&self, id: u32) -> &[u64] {
        let start = self.starts[id as usize] as usize;
        let end = self.starts.get(id as usize + 1).map_or(self.words.len(), |&end| end as usize);
        &self.words[start..end]
    }

    pub(crate) fn insert(&mut self, key: &[u64], meter: &mut Meter) -> Inserted {
        let hash = hash_words(key);
        if let Some(id) = self.index.find(hash, |id| self.get(id) == key) {
            return Inserted::Present(id);
        }
        let id = self.starts.len() as u32;
        let fits = u32::try_from(self.words.len() + key.len()).is_ok();
        if !fits || !grow(&mut self.words, key.len(), meter) || !grow(&mut self.starts, 1, meter) {
            return Inserted::Full;
        }
        if !self.index.insert(hash, id, meter) {
            return Inserted::Full;
        }
        self.starts.push(self.words.len() as u32);
        self.words.extend_from_slice(key);
        Inserted::New(id)
    }
}

/// Model states, each stored once and named by its number.
#[derive(Debug)]
pub(crate) struct Interner<S> {
    states: Vec<S>,
    index: IdTable,
}

impl<S: Eq + Hash> Interner<S> {
    pub(crate) fn new() -> Self {
        Interner { states: Vec::new(), index: IdTable::default() }
    }

    pub(crate) fn get(&self, id: u32) -> &S {
        &self.states[id as usize]
    }

    /// The number of `state`, numbering it if it is new; `None` if the meter refused the
    /// memory. `heap` is what the state holds outside its own bytes.
    pub(crate) fn intern(&mut self, state: S, heap: usize, meter: &mut Meter) -> Option<u32> {
        let mut hasher = FxHasher::default();
        state.hash(&mut hasher);
        let hash = hasher.finish();
        if let Some(id) = self.index.find(hash, |id| self.states[id as usize] == state) {
            return Some(id);
        }
        let id = u32::try_from(self.states.len()).ok()?;
        if !meter.charge(heap) {
            return None;
        }
        if !push(&mut self.states, state, meter) || !self.index.insert(hash, id, meter) {
            return None;
        }
        Some(id)
    }
}

/// The transitions the model was asked for lately: (state, operation class) to the next
/// state, in a direct-mapped table of fixed size that a newer transition overwrites. Small
/// enough to stay in the processor's cache, it answers the search's many repeated
/// questions (the same candidates retried from the same state after backtracking) without
/// growing with the history; a forgotten transition only runs the model again.
#[derive(Debug, Default)]
pub(crate) struct Memo {
    /// Key plus one (0: empty), and the next state.
    slots: Vec<(u64, u32)>,
}

/// The model rejected the transition.
pub(crate) const REJECTED: u32 = u32::MAX;

impl Memo {
    /// A memo of a power of two slots, about `size` of them (within 256 to 65536).
    pub(crate) fn new(size: usize) -> Self {
        Memo { slots: vec![(0, 0); size.clamp(256, 1 << 16).next_power_of_two()] }
    }

    pub(crate) fn bytes(&self) -> usize {
        self.slots.len() * std::mem::size_of::<(u64, u32)>()
    }

    pub(crate) fn find(&self, state: u32, class: u32) -> Option<u32> {
        let key = memo_key(state, class);
        let (stored, next) = self.slots[self.slot(key)];
        (stored == key + 1).then_some(next)
    }

    pub(crate) fn insert(&mut self, state: u32, class: u32, next: u32) {
        let key = memo_key(state, class);
        let slot = self.slot(key);
        self.slots[slot] = (key + 1, next);
    }

    fn slot(&self, key: u64) -> usize {
        (mix(key) >> 32) as usize & (self.slots.len() - 1)
    }
}

fn memo_key(state: u32, class: u32) -> u64 {
    u64::from(state) << 32 | u64::from(class)
}

/// The hash of a key of words.
pub(crate) fn hash_words(words: &[u64]) -> u64 {
    let mut hasher = FxHasher::default();
    for &word in words {
        hasher.write_u64(word);
    }
    hasher.finish()
}

fn mix(word: u64) -> u64 {
    let mut hasher = FxHasher::default();
    hasher.write_u64(word);
    hasher.finish()
}

/// The multiply-rotate hash of rustc's `FxHasher` with a final mix: fast on the small keys
/// here, which need no protection from chosen collisions.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
        let mut last = [0; 8];
        last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.write_u64(u64::from_le_bytes(last) ^ (chunks.remainder().len() as u64) << 56);
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_u32(&mut self, word: u32) {
        self.write_u64(u64::from(word));
    }

    fn write_usize(&mut self, word: usize) {
        self.write_u64(word as u64);
    }

    /// Mixes high bits into low ones and back (splitmix64's finaliser): the index takes
    /// slots from the high half, which a multiply alone leaves well mixed but the low half
    /// also matters for the tag.
    fn finish(&self) -> u64 {
        let mut hash = self.0;
        hash = (hash ^ (hash >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        hash = (hash ^ (hash >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        hash ^ (hash >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_sets_find_what_they_hold_and_refuse_past_the_limit() {
        let mut meter = Meter { used: 0, limit: 1 << 20 };
        let mut sets = WordSets::default();
        for key in 0..1000u64 {
            assert_eq!(sets.insert(&[key, key * 7], &mut meter), Inserted::New(key as u32));
        }
        assert_eq!(sets.insert(&[5, 35], &mut meter), Inserted::Present(5));
        assert_eq!(sets.insert(&[5], &mut meter), Inserted::New(1000), "a prefix is another key");
        assert_eq!(sets.get(999), &[999, 6993]);
        let mut tight = Meter { used: 0, limit: 4096 };
        let mut small = WordSets::default();
        let refused = (0..10_000u64).map(|key| small.insert(&[key], &mut tight)).find(|&r| r == Inserted::Full);
        assert_eq!(refused, Some(Inserted::Full));
        assert!(tight.used <= tight.limit);
    }

    #[test]
    fn interner_numbers_equal_states_once_and_memo_remembers() {
        let mut meter = Meter { used: 0, limit: 1 << 20 };
        let mut states = Interner::new();
        let a = states.intern("a".to_string(), 1, &mut meter);
        let b = states.intern("b".to_string(), 1, &mut meter);
        assert_eq!(states.intern("a".to_string(), 1, &mut meter), a);
        assert_ne!(a, b);
        let mut memo = Memo::new(0);
        assert_eq!(memo.find(0, 3), None);
        memo.insert(0, 3, REJECTED);
        memo.insert(1, 3, 0);
        assert_eq!((memo.find(0, 3), memo.find(1, 3), memo.find(3, 0)), (Some(REJECTED), Some(0), None));
        for state in 0..10_000 {
            memo.insert(state, 1, state);
        }
        assert_eq!(memo.bytes(), 256 * 16, "a newer transition takes an older one's slot");
    }
}
