//! The memory store: thoughts in this process only, at most `capacity` of them; when
//! full, saving drops the least recently used (saved or loaded) thought.

use super::{Cursor, Page, Query, StoreError, Summary, ThoughtStore, check_id, pick_prefix};
use crate::thought::Thought;
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// An in-process, bounded, least-recently-used store.
#[derive(Debug)]
pub struct MemoryStore {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    slots: HashMap<String, Slot>,
    /// Last use → id: the first entry is the least recently used.
    by_use: BTreeMap<u64, String>,
    clock: u64,
}

#[derive(Debug)]
struct Slot {
    thought: Thought,
    summary: Summary,
    used: u64,
}

impl Inner {
    fn touch(&mut self, id: &str) {
        self.clock += 1;
        let now = self.clock;
        if let Some(slot) = self.slots.get_mut(id) {
            self.by_use.remove(&slot.used);
            slot.used = now;
            self.by_use.insert(now, id.to_owned());
        }
    }
}

impl MemoryStore {
    /// A store of at most `capacity` thoughts (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self { capacity: capacity.max(1), inner: Mutex::new(Inner::default()) }
    }

    /// How many thoughts it holds.
    pub fn len(&self) -> usize {
        self.lock().slots.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the maps consistent (each update is
        // one insert or remove), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Default for MemoryStore {
    /// A store of 1 000 thoughts.
    fn default() -> Self {
        Self::new(1_000)
    }
}

#[async_trait]
impl ThoughtStore for MemoryStore {
    async fn save(&self, thought: &Thought) -> Result<(), StoreError> {
        check_id(&thought.id)?;
        let slot = Slot { thought: thought.clone(), summary: Summary::of(thought), used: 0 };
        let mut inner = self.lock();
        if let Some(old) = inner.slots.insert(thought.id.clone(), slot) {
            inner.by_use.remove(&old.used);
        }
        inner.touch(&thought.id);
        while inner.slots.len() > self.capacity {
            let Some((_, id)) = inner.by_use.pop_first() else { break };
            inner.slots.remove(&id);
        }
        Ok(())
    }

    async fn load(&self, id: &str) -> Result<Option<Thought>, StoreError> {
        check_id(id)?;
        let mut inner = self.lock();
        let thought = inner.slots.get(id).map(|slot| slot.thought.clone());
        if thought.is_some() {
            inner.touch(id);
        }
        Ok(thought)
    }

    async fn list(&self, cursor: Option<&Cursor>, limit: usize) -> Result<Page, StoreError> {
        let summaries = self.lock().slots.values().map(|s| s.summary.clone()).collect();
        Ok(Page::of(summaries, None, cursor, limit))
    }

    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        match inner.slots.remove(id) {
            Some(slot) => {
                inner.by_use.remove(&slot.used);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn search(&self, query: &Query) -> Result<Page, StoreError> {
        let summaries = self
            .lock()
            .slots
            .values()
            .filter(|s| query.matches(&s.summary))
            .map(|s| s.summary.clone())
            .collect();
        Ok(Page::of(summaries, None, query.cursor.as_ref(), query.page_size()))
    }

    async fn resolve_prefix(&self, prefix: &str) -> Result<String, StoreError> {
        let ids = self.lock().slots.keys().filter(|id| id.starts_with(prefix)).cloned().collect();
        pick_prefix(prefix, ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::thought::Mode;

    #[tokio::test]
    async fn the_least_recently_used_thought_is_dropped_first() {
        let store = MemoryStore::new(2);
        let a = Thought::new(Mode::Improve, "a", Default::default());
        let b = Thought::new(Mode::Improve, "b", Default::default());
        let c = Thought::new(Mode::Improve, "c", Default::default());
        store.save(&a).await.unwrap();
        store.save(&b).await.unwrap();
        assert!(store.load(&a.id).await.unwrap().is_some(), "a is now the most recent");
        store.save(&c).await.unwrap();
        assert_eq!(store.len(), 2);
        assert!(store.load(&b.id).await.unwrap().is_none(), "b was least recently used");
        assert_eq!(store.load(&a.id).await.unwrap().unwrap().input, "a");
        assert_eq!(store.load(&c.id).await.unwrap().unwrap().input, "c");
        store.save(&c).await.unwrap();
        assert_eq!(store.len(), 2, "re-saving replaces");
    }
}
