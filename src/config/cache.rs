//! `[cache]`: the response cache — raw as written, its per-layer check, and the
//! resolved [`CacheConfig`].
//!
//! The memory tier is on whenever the cache is; the file tier (`dir`) and the Redis
//! tier (`redis_url`) are off when their value is empty. The Redis URL may hold a
//! password, so it is kept as a secret and shown masked.

use super::raw::Problem;
pub use crate::cache::{CacheConfig, mask_redis_url};
use secrecy::SecretString;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// `[cache]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [cache] table")]
pub(crate) struct RawCache {
    pub(crate) enabled: Option<bool>,
    pub(crate) max_entries: Option<u64>,
    pub(crate) ttl_secs: Option<u64>,
    pub(crate) dir: Option<PathBuf>,
    pub(crate) redis_url: Option<String>,
    pub(crate) redis_namespace: Option<String>,
}

impl RawCache {
    /// Checks the values this layer sets.
    pub(crate) fn check(&self) -> Result<(), Problem> {
        if self.max_entries == Some(0) {
            return Err(problem("cache.max_entries", "must be at least 1"));
        }
        if let Some(url) = self.redis_url.as_deref().filter(|u| !u.is_empty())
            && !["redis://", "rediss://", "unix://", "redis+unix://"]
                .iter()
                .any(|scheme| url.starts_with(scheme))
        {
            return Err(problem(
                "cache.redis_url",
                format!(
                    "`{}` is not a redis://, rediss:// or unix:// URL (or empty for none)",
                    mask_redis_url(url)
                ),
            ));
        }
        if let Some(ns) = &self.redis_namespace
            && (ns.is_empty() || ns.chars().any(|c| c.is_whitespace()))
        {
            return Err(problem("cache.redis_namespace", "must be non-empty, without spaces"));
        }
        Ok(())
    }
}

fn problem(key: &str, reason: impl Into<String>) -> Problem {
    Problem { key: key.to_owned(), reason: reason.into() }
}

/// Resolves the merged `[cache]`; `req` reports a key the defaults failed to set.
pub(crate) fn resolve(
    raw: RawCache,
    req: &dyn Fn(&str) -> crate::Error,
) -> Result<CacheConfig, crate::Error> {
    let ttl_secs = raw.ttl_secs.ok_or_else(|| req("cache.ttl_secs"))?;
    let dir = raw.dir.ok_or_else(|| req("cache.dir"))?;
    let url = raw.redis_url.ok_or_else(|| req("cache.redis_url"))?;
    Ok(CacheConfig {
        enabled: raw.enabled.ok_or_else(|| req("cache.enabled"))?,
        max_entries: raw.max_entries.ok_or_else(|| req("cache.max_entries"))?,
        ttl: (ttl_secs > 0).then(|| Duration::from_secs(ttl_secs)),
        dir: (!dir.as_os_str().is_empty()).then_some(dir),
        redis_url: (!url.is_empty()).then(|| SecretString::from(url)),
        redis_namespace: raw.redis_namespace.ok_or_else(|| req("cache.redis_namespace"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked() {
        assert_eq!(mask_redis_url("redis://:hunter2@h:6379/0"), "redis://:[redacted]@h:6379/0");
        assert_eq!(mask_redis_url("redis://u:p@h"), "redis://u:[redacted]@h");
        assert_eq!(mask_redis_url("redis://h:6379"), "redis://h:6379");
        assert_eq!(mask_redis_url("redis://user@h"), "redis://user@h");
    }

    #[test]
    fn bad_values_name_their_key() {
        let bad = RawCache { max_entries: Some(0), ..RawCache::default() };
        assert_eq!(bad.check().unwrap_err().key, "cache.max_entries");
        let bad = RawCache { redis_url: Some("http://:pw@x".into()), ..RawCache::default() };
        let p = bad.check().unwrap_err();
        assert_eq!(p.key, "cache.redis_url");
        assert!(!p.reason.contains("pw"), "{}", p.reason);
        let ok = RawCache { redis_url: Some(String::new()), ..RawCache::default() };
        assert!(ok.check().is_ok());
    }
}
