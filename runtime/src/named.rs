//! Process-wide registries of named components (retry budgets, circuit breakers, and the
//! handles a retry policy resolves for its budget, breaker and operation): one instance per
//! key, created with defaults on first use or configured once at start-up. Policies look their
//! handles up once and keep them, so the registry lock is never on a hot path.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use crate::Error;

/// A registry keyed by name (`K` defaults to `&'static str`) or by any small copyable key.
pub(crate) struct Named<T: 'static, K: 'static = &'static str> {
    kind: &'static str,
    map: OnceLock<RwLock<HashMap<K, Arc<T>>>>,
}

impl<T, K: Eq + Hash + Copy> Named<T, K> {
    pub(crate) const fn new(kind: &'static str) -> Self {
        Named {
            kind,
            map: OnceLock::new(),
        }
    }

    fn map(&self) -> &RwLock<HashMap<K, Arc<T>>> {
        self.map.get_or_init(Default::default)
    }

    /// The instance for `key`, made by `make` if there is none yet.
    pub(crate) fn get_or_create(&self, key: K, make: impl FnOnce() -> T) -> Arc<T> {
        if let Some(found) = self
            .map()
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return found.clone();
        }
        self.map()
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key)
            .or_insert_with(|| Arc::new(make()))
            .clone()
    }
}

impl<T> Named<T> {
    /// Creates the instance `name`; fails with [`Error::AlreadyConfigured`] when it exists
    /// (configured before, or already used with the defaults).
    pub(crate) fn configure(
        &self,
        name: &'static str,
        make: impl FnOnce() -> T,
    ) -> Result<Arc<T>, Error> {
        let mut map = self.map().write().unwrap_or_else(PoisonError::into_inner);
        if map.contains_key(name) {
            return Err(Error::AlreadyConfigured {
                kind: self.kind,
                name,
            });
        }
        let made = Arc::new(make());
        map.insert(name, made.clone());
        Ok(made)
    }
}
