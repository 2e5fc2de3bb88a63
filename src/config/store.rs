//! `[store]`: where thoughts are kept — raw as written, its per-layer check, and the
//! resolved [`StoreConfig`].
//!
//! `kind` picks the backend (`none`, the default, keeps nothing); `dir` is the file
//! store's directory and `url` the Redis server, each required by its kind. The URL may
//! hold a password, so it is kept as a secret and shown masked.

use super::raw::Problem;
use crate::backend::redis::mask_redis_url;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// Which backend keeps the thoughts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// Nothing is stored (the default).
    None,
    /// In this process only, bounded (least recently used dropped first).
    Memory,
    /// One JSON document per thought in `dir`.
    File,
    /// A Redis server at `url`, keys under `prefix`.
    Redis,
    /// Memory, then Redis at `url` (if set), then files in `dir` (if set): read-through,
    /// write-through, a Redis outage replayed when it is back (see `store::Tiered`).
    Tiered,
}

impl StoreKind {
    /// The name used in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Memory => "memory",
            Self::File => "file",
            Self::Redis => "redis",
            Self::Tiered => "tiered",
        }
    }
}

/// The resolved `[store]`.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The backend.
    pub kind: StoreKind,
    /// The file store's directory (set when `kind` is `file`).
    pub dir: Option<PathBuf>,
    /// The Redis server (set when `kind` is `redis`); may hold a password.
    pub url: Option<SecretString>,
    /// Redis keys are `<prefix>:thought:<id>`.
    pub prefix: String,
    /// How long Redis keeps a thought; `None`: forever.
    pub ttl: Option<Duration>,
}

impl StoreConfig {
    /// The Redis URL with its password masked, to print.
    pub fn url_masked(&self) -> Option<String> {
        self.url.as_ref().map(|u| mask_redis_url(u.expose_secret()))
    }

    /// Where the thoughts go, to print: `none`, `memory`, `file:DIR`, or the Redis URL
    /// with its password masked.
    pub fn describe(&self) -> String {
        match self.kind {
            StoreKind::File => {
                format!(
                    "file:{}",
                    self.dir.as_ref().map(|d| d.display().to_string()).unwrap_or_default()
                )
            }
            StoreKind::Redis => self.url_masked().unwrap_or_default(),
            StoreKind::Tiered => {
                let mut tiers = vec!["memory".to_owned()];
                tiers.extend(self.url_masked());
                tiers.extend(self.dir.as_ref().map(|d| format!("file:{}", d.display())));
                format!("tiered({})", tiers.join(" → "))
            }
            kind => kind.as_str().to_owned(),
        }
    }
}

/// `[store]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [store] table")]
pub(crate) struct RawStore {
    pub(crate) kind: Option<StoreKind>,
    pub(crate) dir: Option<PathBuf>,
    pub(crate) url: Option<String>,
    pub(crate) prefix: Option<String>,
    pub(crate) ttl_secs: Option<u64>,
}

impl RawStore {
    /// Checks the values this layer sets.
    pub(crate) fn check(&self) -> Result<(), Problem> {
        if let Some(url) = self.url.as_deref().filter(|u| !u.is_empty())
            && !["redis://", "rediss://", "unix://", "redis+unix://"]
                .iter()
                .any(|scheme| url.starts_with(scheme))
        {
            return Err(problem(
                "store.url",
                format!(
                    "`{}` is not a redis://, rediss:// or unix:// URL (or empty for none)",
                    mask_redis_url(url)
                ),
            ));
        }
        if let Some(prefix) = &self.prefix
            && (prefix.is_empty() || prefix.chars().any(|c| c.is_whitespace()))
        {
            return Err(problem("store.prefix", "must be non-empty, without spaces"));
        }
        Ok(())
    }
}

fn problem(key: &str, reason: impl Into<String>) -> Problem {
    Problem { key: key.to_owned(), reason: reason.into() }
}

/// Resolves the merged `[store]`; `req` reports a key the defaults failed to set.
pub(crate) fn resolve(
    raw: RawStore,
    req: &dyn Fn(&str) -> crate::Error,
) -> Result<StoreConfig, crate::Error> {
    let kind = raw.kind.ok_or_else(|| req("store.kind"))?;
    let dir = raw.dir.ok_or_else(|| req("store.dir"))?;
    let url = raw.url.ok_or_else(|| req("store.url"))?;
    let ttl_secs = raw.ttl_secs.ok_or_else(|| req("store.ttl_secs"))?;
    let merged = |key: &str, reason: &str| {
        crate::Error::config("merged configuration", Some(key), reason.to_owned())
    };
    if kind == StoreKind::File && dir.as_os_str().is_empty() {
        return Err(merged("store.dir", "store.kind = \"file\" needs a directory"));
    }
    if kind == StoreKind::Redis && url.is_empty() {
        return Err(merged("store.url", "store.kind = \"redis\" needs a redis:// URL"));
    }
    let tiered = kind == StoreKind::Tiered;
    if tiered && url.is_empty() && dir.as_os_str().is_empty() {
        return Err(merged(
            "store.kind",
            "store.kind = \"tiered\" needs store.url, store.dir or both (memory is always its first tier)",
        ));
    }
    Ok(StoreConfig {
        kind,
        dir: (kind == StoreKind::File || tiered && !dir.as_os_str().is_empty()).then_some(dir),
        url: (kind == StoreKind::Redis || tiered && !url.is_empty())
            .then(|| SecretString::from(url)),
        prefix: raw.prefix.ok_or_else(|| req("store.prefix"))?,
        ttl: (ttl_secs > 0).then(|| Duration::from_secs(ttl_secs)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_name_their_key_and_hide_the_password() {
        let bad = RawStore { url: Some("http://:pw@x".into()), ..RawStore::default() };
        let p = bad.check().unwrap_err();
        assert_eq!(p.key, "store.url");
        assert!(!p.reason.contains("pw"), "{}", p.reason);
        let bad = RawStore { prefix: Some("a b".into()), ..RawStore::default() };
        assert_eq!(bad.check().unwrap_err().key, "store.prefix");
    }

    #[test]
    fn each_kind_needs_its_location() {
        let raw = |kind, dir: &str, url: &str| RawStore {
            kind: Some(kind),
            dir: Some(dir.into()),
            url: Some(url.into()),
            prefix: Some("redraft".into()),
            ttl_secs: Some(0),
        };
        let req = |k: &str| crate::Error::config("t", Some(k), "missing");
        let err = resolve(raw(StoreKind::File, "", ""), &req).unwrap_err().to_string();
        assert!(err.contains("store.dir"), "{err}");
        let err = resolve(raw(StoreKind::Redis, "", ""), &req).unwrap_err().to_string();
        assert!(err.contains("store.url"), "{err}");
        let ok = resolve(raw(StoreKind::Redis, "", "redis://:pw@h:1/2"), &req).unwrap();
        assert_eq!(ok.describe(), "redis://:[redacted]@h:1/2");
        let none = resolve(raw(StoreKind::None, "d", "redis://h"), &req).unwrap();
        assert!(none.dir.is_none() && none.url.is_none());
    }
}
