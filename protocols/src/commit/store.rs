//! A participant's data: per key it holds, the list of the transactions appended to it, in
//! the order their commits were recorded there. Reads return whole lists, so a reader sees
//! the order of every append before it (the list-append data type of Jepsen's Elle).

use std::collections::BTreeMap;

use super::{Reads, TransactionId};
use crate::service::{Key, Value};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Store {
    lists: BTreeMap<Key, Vec<Value>>,
}

impl Store {
    /// The lists of `keys`, in key order (an empty list for a key never appended to).
    pub fn read(&self, keys: &[Key]) -> Reads {
        keys.iter().map(|&key| (key, self.lists.get(&key).cloned().unwrap_or_default())).collect()
    }

    /// Appends `transaction` to the list of each of `keys`.
    pub fn append(&mut self, transaction: TransactionId, keys: &[Key]) {
        for &key in keys {
            self.lists.entry(key).or_default().push(transaction);
        }
    }

    /// The list of `key`.
    pub fn list(&self, key: Key) -> &[Value] {
        self.lists.get(&key).map_or(&[], Vec::as_slice)
    }
}
