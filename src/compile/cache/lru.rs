//! A least-recently-used map with an entry limit and a byte limit: a hash map into a slab of
//! nodes threaded on a doubly linked list, so lookup, insertion and eviction are all O(1).

use std::collections::HashMap;
use std::hash::Hash;

const NIL: usize = usize::MAX;

struct Node<K, V> {
    key: K,
    value: V,
    bytes: usize,
    prev: usize,
    next: usize,
}

/// An LRU map bounded by entry count and by total bytes (as reported at insertion).
pub struct Lru<K, V> {
    map: HashMap<K, usize>,
    slab: Vec<Option<Node<K, V>>>,
    free: Vec<usize>,
    /// Most recently used.
    head: usize,
    /// Least recently used.
    tail: usize,
    max_entries: usize,
    max_bytes: usize,
    bytes: usize,
    evictions: u64,
}

impl<K: Hash + Eq + Clone, V> Lru<K, V> {
    /// An empty map holding at most `max_entries` entries and `max_bytes` bytes.
    pub fn new(max_entries: usize, max_bytes: usize) -> Lru<K, V> {
        Lru {
            map: HashMap::new(),
            slab: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            max_entries,
            max_bytes,
            bytes: 0,
            evictions: 0,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Total bytes of the entries.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Entries evicted so far to respect the limits.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// Looks `key` up and marks it most recently used.
    pub fn get(&mut self, key: &K) -> Option<&V> {
        let idx = *self.map.get(key)?;
        self.unlink(idx);
        self.push_front(idx);
        self.slab.get(idx)?.as_ref().map(|n| &n.value)
    }

    /// True if `key` is present (without touching its recency).
    pub fn contains(&self, key: &K) -> bool {
        self.map.contains_key(key)
    }

    /// Inserts (or replaces) `key` as the most recently used entry, evicting least recently used
    /// entries until both limits hold. An entry larger than the byte limit is not stored;
    /// returns false then.
    pub fn insert(&mut self, key: K, value: V, bytes: usize) -> bool {
        self.remove(&key);
        if bytes > self.max_bytes || self.max_entries == 0 {
            return false;
        }
        while self.map.len() + 1 > self.max_entries || self.bytes + bytes > self.max_bytes {
            if !self.evict_one() {
                break;
            }
        }
        let node = Node { key: key.clone(), value, bytes, prev: NIL, next: NIL };
        let idx = match self.free.pop() {
            Some(idx) => {
                if let Some(slot) = self.slab.get_mut(idx) {
                    *slot = Some(node);
                }
                idx
            }
            None => {
                self.slab.push(Some(node));
                self.slab.len() - 1
            }
        };
        self.push_front(idx);
        self.map.insert(key, idx);
        self.bytes += bytes;
        true
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let idx = self.map.remove(key)?;
        self.unlink(idx);
        let node = self.slab.get_mut(idx)?.take()?;
        self.free.push(idx);
        self.bytes -= node.bytes;
        Some(node.value)
    }

    /// Keys from most to least recently used.
    pub fn keys_by_recency(&self) -> Vec<K> {
        let mut out = Vec::with_capacity(self.map.len());
        let mut at = self.head;
        while let Some(Some(node)) = self.slab.get(at) {
            out.push(node.key.clone());
            at = node.next;
        }
        out
    }

    fn evict_one(&mut self) -> bool {
        let Some(Some(node)) = self.slab.get(self.tail) else { return false };
        let key = node.key.clone();
        self.remove(&key);
        self.evictions += 1;
        true
    }

    fn unlink(&mut self, idx: usize) {
        let (prev, next) = match self.slab.get(idx) {
            Some(Some(n)) => (n.prev, n.next),
            _ => return,
        };
        match self.slab.get_mut(prev) {
            Some(Some(p)) => p.next = next,
            _ => self.head = next,
        }
        match self.slab.get_mut(next) {
            Some(Some(n)) => n.prev = prev,
            _ => self.tail = prev,
        }
        if let Some(Some(n)) = self.slab.get_mut(idx) {
            n.prev = NIL;
            n.next = NIL;
        }
    }

    fn push_front(&mut self, idx: usize) {
        let old_head = self.head;
        if let Some(Some(n)) = self.slab.get_mut(idx) {
            n.prev = NIL;
            n.next = old_head;
        }
        if let Some(Some(h)) = self.slab.get_mut(old_head) {
            h.prev = idx;
        }
        self.head = idx;
        if self.tail == NIL {
            self.tail = idx;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used_by_count() {
        let mut lru = Lru::new(2, 1000);
        lru.insert(1, "a", 1);
        lru.insert(2, "b", 1);
        assert_eq!(lru.get(&1), Some(&"a"));
        lru.insert(3, "c", 1);
        assert!(lru.contains(&1) && lru.contains(&3) && !lru.contains(&2));
        assert_eq!(lru.evictions(), 1);
        assert_eq!(lru.keys_by_recency(), vec![3, 1]);
    }

    #[test]
    fn evicts_by_bytes_and_refuses_oversized_entries() {
        let mut lru = Lru::new(100, 10);
        lru.insert(1, (), 4);
        lru.insert(2, (), 4);
        lru.insert(3, (), 4);
        assert_eq!(lru.len(), 2);
        assert_eq!(lru.bytes(), 8);
        assert!(!lru.contains(&1));
        assert!(!lru.insert(4, (), 11));
        assert_eq!(lru.len(), 2);
    }

    #[test]
    fn replace_and_remove_keep_the_accounting() {
        let mut lru = Lru::new(3, 100);
        lru.insert(1, 'x', 10);
        lru.insert(1, 'y', 20);
        assert_eq!(lru.len(), 1);
        assert_eq!(lru.bytes(), 20);
        assert_eq!(lru.remove(&1), Some('y'));
        assert!(lru.is_empty());
        assert_eq!(lru.bytes(), 0);
        for k in 0..10 {
            lru.insert(k, 'z', 1);
        }
        assert_eq!(lru.keys_by_recency(), vec![9, 8, 7]);
        assert_eq!(lru.evictions(), 7);
    }
}
