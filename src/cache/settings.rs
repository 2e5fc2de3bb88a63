//! What the response cache is built from: the resolved `[cache]` section (the config
//! layer resolves its file into this), and the masking of a Redis URL's password.

use secrecy::{ExposeSecret, SecretString};
use std::path::PathBuf;
use std::time::Duration;

/// The response cache (`[cache]`).
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// Whether answers are cached at all. When true the memory tier is always on.
    pub enabled: bool,
    /// Most answers kept in memory (least recently used ones are dropped first).
    pub max_entries: u64,
    /// How long an answer stays valid in every tier; `None` (`ttl_secs = 0`): forever
    /// (memory is still bounded by `max_entries`).
    pub ttl: Option<Duration>,
    /// The file tier's directory (one file per answer); `None`: no file tier.
    pub dir: Option<PathBuf>,
    /// The Redis tier's URL; `None`: no Redis tier. May hold a password: never shown.
    pub redis_url: Option<SecretString>,
    /// The first part of every Redis key: `<namespace>:cache:v1:<hash>`.
    pub redis_namespace: String,
}

impl CacheConfig {
    /// The Redis URL with any password masked, safe to print.
    pub fn redis_url_masked(&self) -> Option<String> {
        self.redis_url.as_ref().map(|u| mask_redis_url(u.expose_secret()))
    }
}

pub use crate::backend::redis::mask_redis_url;
