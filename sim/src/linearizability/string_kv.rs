//! `StringKv`: a store of strings with get, put and append, every key starting as the
//! empty string (Porcupine's kv test histories, and Jepsen histories with those `:f`s).
//!
//! A state is a [`KvString`]: the string as the chain of pieces that built it, shared with
//! the states it grew from, and a hash of its text kept as it grows. An append is then O(1)
//! in time and memory, however long the string, where copying the string made every step
//! of the search as slow as the string is long; the search hashes a state in O(1), and a
//! get compares its result with the chain from the end, where a wrong order of appends
//! differs first.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use super::model::Model;

/// The string key-value model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StringKv;

/// A string store operation on one key (the key as written in the history, e.g. `"4"`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StringKvInput {
    pub key: String,
    pub command: StringKvCommand,
}

/// What a string store operation asks.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum StringKvCommand {
    Get,
    Put(Arc<str>),
    Append(Arc<str>),
}

/// How a string store operation ended.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum StringKvOutput {
    /// A get returned this string.
    Got(String),
    /// A put or append took effect.
    Done,
    /// Nothing is known: the operation may or may not have taken effect.
    Unknown,
}

impl Model for StringKv {
    type Input = StringKvInput;
    type Output = StringKvOutput;
    type State = KvString;
    type Key = String;

    fn name(&self) -> &'static str {
        "string-kv"
    }

    fn init(&self) -> KvString {
        KvString::default()
    }

    fn step(&self, state: &KvString, input: &StringKvInput, output: &StringKvOutput) -> Option<KvString> {
        use StringKvCommand::{Append, Get, Put};
        use StringKvOutput::{Done, Got, Unknown};
        match (&input.command, output) {
            (Get, Got(seen)) => state.is(seen).then(|| state.clone()),
            (Get, Unknown) => Some(state.clone()),
            (Put(value), Done | Unknown) => Some(KvString::default().append(value)),
            (Append(value), Done | Unknown) => Some(state.append(value)),
            // An output of the wrong shape (a put that returned a string) is impossible.
            (Get, Done) | (Put(_) | Append(_), Got(_)) => None,
        }
    }

    fn key(&self, input: &StringKvInput) -> String {
        input.key.clone()
    }

    fn describe_key(&self, key: &String) -> Option<String> {
        Some(key.clone())
    }

    fn describe(&self, input: &StringKvInput, output: &StringKvOutput) -> String {
        let asked = match &input.command {
            StringKvCommand::Get => "get".to_string(),
            StringKvCommand::Put(value) => format!("put {value:?}"),
            StringKvCommand::Append(value) => format!("append {value:?}"),
        };
        let told = match output {
            StringKvOutput::Got(seen) => format!("returned {seen:?}"),
            StringKvOutput::Done => "ok".to_string(),
            StringKvOutput::Unknown => "info (outcome unknown)".to_string(),
        };
        format!("{asked}: {told}")
    }

    fn heap_size(&self, state: &KvString) -> usize {
        // The newest piece is the state's own; the text is shared with the operation.
        state.0.as_ref().map_or(0, |_| std::mem::size_of::<Piece>() + 16)
    }
}

/// A string as the chain of pieces appended to build it (newest last), with its length and
/// a polynomial hash of its text, so that equal texts hash alike however they were built.
#[derive(Clone, Default)]
pub struct KvString(Option<Arc<Piece>>);

struct Piece {
    text: Arc<str>,
    before: KvString,
    len: usize,
    hash: u64,
}

/// The base of the polynomial hash (odd, so that powers never vanish modulo 2^64).
const BASE: u64 = 0x100_0000_01b3;

impl KvString {
    /// This string with `text` appended.
    pub fn append(&self, text: &Arc<str>) -> KvString {
        let hash = self.digest().wrapping_mul(power(text.len())).wrapping_add(text_hash(text));
        let len = self.len() + text.len();
        KvString(Some(Arc::new(Piece { text: Arc::clone(text), before: self.clone(), len, hash })))
    }

    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |piece| piece.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn digest(&self) -> u64 {
        self.0.as_ref().map_or(0, |piece| piece.hash)
    }

    /// The pieces, newest first.
    fn pieces(&self) -> impl Iterator<Item = &str> {
        let mut next = self.0.as_deref();
        std::iter::from_fn(move || {
            let piece = next?;
            next = piece.before.0.as_deref();
            Some(&*piece.text)
        })
    }

    /// Whether the text is `text`, compared from the end.
    pub fn is(&self, text: &str) -> bool {
        if text.len() != self.len() {
            return false;
        }
        let mut end = text.len();
        for piece in self.pieces() {
            if !text.as_bytes()[..end].ends_with(piece.as_bytes()) {
                return false;
            }
            end -= piece.len();
        }
        true
    }

    /// The text.
    pub fn text(&self) -> String {
        let mut pieces: Vec<&str> = self.pieces().collect();
        pieces.reverse();
        pieces.concat()
    }
}

/// `BASE` to the power `exponent`, by squaring.
fn power(mut exponent: usize) -> u64 {
    let (mut result, mut base) = (1u64, BASE);
    while exponent > 0 {
        if exponent & 1 == 1 {
            result = result.wrapping_mul(base);
        }
        base = base.wrapping_mul(base);
        exponent >>= 1;
    }
    result
}

fn text_hash(text: &str) -> u64 {
    text.bytes().fold(0u64, |hash, byte| hash.wrapping_mul(BASE).wrapping_add(u64::from(byte)))
}

impl PartialEq for KvString {
    fn eq(&self, other: &KvString) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) if Arc::ptr_eq(a, b) => true,
            _ => self.len() == other.len() && self.digest() == other.digest() && self.is(&other.text()),
        }
    }
}

impl Eq for KvString {}

impl Hash for KvString {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.digest() ^ self.len() as u64);
    }
}

impl fmt::Debug for KvString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.text())
    }
}

impl Drop for Piece {
    /// Drops the chain iteratively: a chain of a hundred thousand appends would overflow
    /// the stack if each piece dropped the one before it recursively.
    fn drop(&mut self) {
        let mut before = self.before.0.take();
        while let Some(piece) = before {
            match Arc::try_unwrap(piece) {
                Ok(mut piece) => before = piece.before.0.take(),
                Err(_) => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_built_differently_are_equal_and_hash_alike_when_their_texts_are() {
        let piece = |text: &str| -> Arc<str> { Arc::from(text) };
        let ab_c = KvString::default().append(&piece("ab")).append(&piece("c"));
        let a_bc = KvString::default().append(&piece("a")).append(&piece("bc"));
        let hash = |string: &KvString| {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            string.hash(&mut hasher);
            hasher.finish()
        };
        assert_eq!(ab_c, a_bc);
        assert_eq!(hash(&ab_c), hash(&a_bc));
        assert_eq!((ab_c.text(), ab_c.len()), ("abc".to_string(), 3));
        assert!(ab_c.is("abc") && !ab_c.is("acb") && !ab_c.is("ab"));
        assert_ne!(ab_c, KvString::default().append(&piece("acb")));
        assert!(KvString::default().is(""));
        let mut long = KvString::default();
        for _ in 0..200_000 {
            long = long.append(&piece("x"));
        }
        assert_eq!(long.len(), 200_000);
        drop(long);
    }
}
