//! The resilience sections — `[retry]`, `[rate_limit]`, `[concurrency]` and
//! `[[fallback]]` — in both stages: the raw tables as written, their checks, and their
//! resolution into the middleware's settings
//! ([`RetryPolicy`], [`RateLimits`], [`ConcurrencyLimits`]) and the fallback chain (one
//! [`ProviderConfig`] per `[[fallback]]` table).
//!
//! A `[[fallback]]` table takes the same keys as `[provider]`, and is checked and
//! resolved by the same code. What it leaves out: the timeouts are `[provider]`'s; the
//! endpoint (`base_url`, `model`, `api_key_env`) is `[provider]`'s when the fallback
//! names the same provider (or none), else that provider's defaults; `headers` and the
//! openai options are `[provider]`'s only on the same server (same provider and
//! `base_url`), since header values may be credentials for that server.

use super::raw::{Problem, RawConfig, RawProvider};
use super::resolve::{self, Lookup, ProviderConfig};
use super::{Config, redact};
use crate::Error;
use crate::middleware::{ConcurrencyLimits, RateLimits, RetryPolicy};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

/// `[retry]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [retry] table")]
pub(crate) struct RawRetry {
    pub(crate) max_attempts: Option<u32>,
    pub(crate) max_connect_attempts: Option<u32>,
    pub(crate) initial_backoff_ms: Option<u64>,
    pub(crate) max_backoff_ms: Option<u64>,
    pub(crate) max_total_backoff_secs: Option<u64>,
}

/// `[rate_limit]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [rate_limit] table")]
pub(crate) struct RawRateLimit {
    pub(crate) requests_per_minute: Option<u64>,
    pub(crate) tokens_per_minute: Option<u64>,
    pub(crate) burst_requests: Option<u64>,
    pub(crate) burst_tokens: Option<u64>,
}

/// `[concurrency]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [concurrency] table")]
pub(crate) struct RawConcurrency {
    pub(crate) max_in_flight: Option<usize>,
}

/// Checks the resilience values one layer sets.
pub(crate) fn check(raw: &RawConfig) -> Result<(), Problem> {
    if let Some(r) = &raw.retry {
        for (key, value) in [
            ("retry.max_attempts", r.max_attempts),
            ("retry.max_connect_attempts", r.max_connect_attempts),
        ] {
            if value == Some(0) {
                return Err(Problem {
                    key: key.into(),
                    reason: "must be at least 1 (1 = no retries)".into(),
                });
            }
        }
    }
    for (i, entry) in raw.fallback.iter().flatten().enumerate() {
        // The [provider] checks, with the key renamed to this table's.
        let alone = RawConfig { provider: Some(entry.clone()), ..RawConfig::default() };
        alone.check().map_err(|p| Problem {
            key: p.key.replacen("provider.", &format!("fallback[{i}]."), 1),
            reason: p.reason,
        })?;
    }
    Ok(())
}

/// The retry policy of the merged `[retry]`.
pub(crate) fn retry(raw: Option<RawRetry>) -> Result<RetryPolicy, Error> {
    let r = raw.unwrap_or_default();
    Ok(RetryPolicy {
        max_attempts: req(r.max_attempts, "retry.max_attempts")?,
        max_connect_attempts: req(r.max_connect_attempts, "retry.max_connect_attempts")?,
        initial_backoff: Duration::from_millis(req(
            r.initial_backoff_ms,
            "retry.initial_backoff_ms",
        )?),
        max_backoff: Duration::from_millis(req(r.max_backoff_ms, "retry.max_backoff_ms")?),
        max_total_backoff: Duration::from_secs(req(
            r.max_total_backoff_secs,
            "retry.max_total_backoff_secs",
        )?),
    })
}

/// The rate limits of the merged `[rate_limit]`; 0 means unlimited (or, for a
/// burst, one second's worth).
pub(crate) fn rate_limit(raw: Option<RawRateLimit>) -> Result<RateLimits, Error> {
    let r = raw.unwrap_or_default();
    let set = |v: u64| Some(v).filter(|v| *v > 0);
    Ok(RateLimits {
        requests_per_minute: set(req(r.requests_per_minute, "rate_limit.requests_per_minute")?),
        tokens_per_minute: set(req(r.tokens_per_minute, "rate_limit.tokens_per_minute")?),
        burst_requests: set(req(r.burst_requests, "rate_limit.burst_requests")?),
        burst_tokens: set(req(r.burst_tokens, "rate_limit.burst_tokens")?),
    })
}

/// The concurrency limit of the merged `[concurrency]`; 0 means unlimited.
pub(crate) fn concurrency(raw: Option<RawConcurrency>) -> Result<ConcurrencyLimits, Error> {
    let c = raw.unwrap_or_default();
    let max = req(c.max_in_flight, "concurrency.max_in_flight")?;
    Ok(ConcurrencyLimits { max_in_flight: Some(max).filter(|n| *n > 0) })
}

/// The fallback chain of the merged `[[fallback]]` tables, each completed from the
/// resolved `primary` (see the module docs) and resolved like `[provider]`; the API
/// keys are read through `env`.
pub(crate) fn fallback(
    raw: Option<Vec<RawProvider>>,
    primary: &ProviderConfig,
    env: Lookup<'_>,
) -> Result<Vec<ProviderConfig>, Error> {
    let mut chain: Vec<ProviderConfig> = Vec::new();
    for (i, f) in raw.unwrap_or_default().into_iter().enumerate() {
        let key = format!("fallback[{i}]");
        let entry = resolve::provider(complete(f, primary), &key, env)?;
        let same = |p: &ProviderConfig| {
            (p.kind, &p.base_url, &p.model, &p.api_key_env)
                == (entry.kind, &entry.base_url, &entry.model, &entry.api_key_env)
        };
        if same(primary) || chain.iter().any(same) {
            return Err(Error::config(
                "merged configuration",
                Some(&format!("{key}.model")),
                "this fallback is the same provider, base_url, model and api_key_env as \
                 [provider] or an earlier fallback",
            ));
        }
        chain.push(entry);
    }
    Ok(chain)
}

/// `f` with what it leaves out taken from `primary`. The timeouts always are. The
/// endpoint keys (`base_url`, `model`, `api_key_env`) are when `f` names the same
/// provider (else that provider's defaults apply). Headers and the openai options
/// (`reasoning`, `azure_api_version`, `organization`) are only on the same server (same
/// provider and `base_url`): header values may be credentials for that server.
fn complete(f: RawProvider, primary: &ProviderConfig) -> RawProvider {
    let same_provider = f.name.as_ref().is_none_or(|n| *n == primary.kind.as_str());
    let same_server = same_provider
        && f.base_url.as_ref().is_none_or(|u| u.trim_end_matches('/') == primary.base_url);
    let endpoint = |value: Option<String>, of_primary: &str| {
        value.or_else(|| same_provider.then(|| of_primary.to_owned()))
    };
    let server = |inherit: bool| same_server && inherit;
    // Every field listed (no `..`), so a new [provider] key cannot be forgotten here.
    RawProvider {
        name: Some(f.name.unwrap_or_else(|| primary.kind.as_str().to_owned())),
        base_url: endpoint(f.base_url, &primary.base_url),
        model: endpoint(f.model, &primary.model),
        api_key_env: endpoint(f.api_key_env, &primary.api_key_env),
        timeout_secs: f.timeout_secs.or(Some(primary.timeout.as_secs())),
        connect_timeout_secs: f.connect_timeout_secs.or(Some(primary.connect_timeout.as_secs())),
        stream_idle_timeout_secs: f
            .stream_idle_timeout_secs
            .or(Some(primary.stream_idle_timeout.as_secs())),
        headers: f.headers.or_else(|| server(true).then(|| primary.headers.clone())),
        reasoning: f.reasoning.or_else(|| server(primary.reasoning).then_some(true)),
        azure_api_version: f
            .azure_api_version
            .or_else(|| server(true).then(|| primary.azure_api_version.clone()).flatten()),
        organization: f
            .organization
            .or_else(|| server(true).then(|| primary.organization.clone()).flatten()),
    }
}

/// The resilience sections of `config` as JSON, keys as in the files, API keys
/// redacted.
pub(crate) fn redacted(config: &Config) -> [(&'static str, Value); 4] {
    let r = &config.retry;
    let l = &config.rate_limit;
    [
        (
            "retry",
            json!({
                "max_attempts": r.max_attempts,
                "max_connect_attempts": r.max_connect_attempts,
                "initial_backoff_ms": r.initial_backoff.as_millis() as u64,
                "max_backoff_ms": r.max_backoff.as_millis() as u64,
                "max_total_backoff_secs": r.max_total_backoff.as_secs(),
            }),
        ),
        (
            "rate_limit",
            json!({
                "requests_per_minute": l.requests_per_minute.unwrap_or(0),
                "tokens_per_minute": l.tokens_per_minute.unwrap_or(0),
                "burst_requests": l.burst_requests.unwrap_or(0),
                "burst_tokens": l.burst_tokens.unwrap_or(0),
            }),
        ),
        ("concurrency", json!({ "max_in_flight": config.concurrency.max_in_flight.unwrap_or(0) })),
        ("fallback", Value::Array(config.fallback.iter().map(redact::provider).collect())),
    ]
}

fn req<T>(value: Option<T>, key: &str) -> Result<T, Error> {
    value.ok_or_else(|| {
        Error::config("built-in defaults", Some(key), "no value (config/default.toml must set it)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> RawConfig {
        toml::from_str(text).expect("valid raw config")
    }

    fn primary() -> ProviderConfig {
        ProviderConfig {
            kind: crate::config::ProviderKind::OpenAi,
            base_url: "https://api.openai.com/v1".into(),
            model: "gpt-4o-mini".into(),
            api_key_env: "OPENAI_API_KEY".into(),
            api_key: None,
            timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
            stream_idle_timeout: Duration::from_secs(60),
            headers: [("X-Proxy-Token".to_owned(), "secret".to_owned())].into(),
            reasoning: false,
            azure_api_version: None,
            organization: Some("org-1".into()),
        }
    }

    fn chain(text: &str) -> Result<Vec<ProviderConfig>, Error> {
        let env = |name: &str| (name == "BACKUP_KEY").then(|| "sk-backup-123".to_owned());
        fallback(raw(text).fallback, &primary(), &env)
    }

    #[test]
    fn zero_attempts_are_rejected() {
        let p = check(&raw("[retry]\nmax_attempts = 0")).unwrap_err();
        assert_eq!(p.key, "retry.max_attempts");
    }

    #[test]
    fn fallback_tables_get_the_provider_checks_under_their_own_key() {
        let p =
            check(&raw("[[fallback]]\nmodel = \"a\"\n[[fallback]]\nname = \"acme\"")).unwrap_err();
        assert_eq!(p.key, "fallback[1].name");
        assert!(p.reason.contains("unknown provider"), "{}", p.reason);
        let p = check(&raw("[[fallback]]\nbase_url = \"ftp://x\"")).unwrap_err();
        assert_eq!(p.key, "fallback[0].base_url");
    }

    #[test]
    fn unknown_keys_in_a_fallback_are_rejected() {
        assert!(toml::from_str::<RawConfig>("[[fallback]]\nmodle = \"x\"").is_err());
    }

    #[test]
    fn a_fallback_inherits_what_it_leaves_out() {
        let c = chain("[[fallback]]\nmodel = \"gpt-4o\"\napi_key_env = \"BACKUP_KEY\"").unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].kind.as_str(), c[0].model.as_str()), ("openai", "gpt-4o"));
        assert_eq!(c[0].base_url, "https://api.openai.com/v1");
        assert!(c[0].api_key.is_some());
        assert_eq!(c[0].timeout, Duration::from_secs(120));
    }

    #[test]
    fn on_the_same_server_headers_and_openai_options_are_inherited_too() {
        let c = chain("[[fallback]]\nmodel = \"gpt-4o\"").unwrap();
        assert_eq!(c[0].headers.get("X-Proxy-Token").map(String::as_str), Some("secret"));
        assert_eq!(c[0].organization.as_deref(), Some("org-1"));
        let other_server =
            "[[fallback]]\nbase_url = \"https://api.groq.com/openai/v1\"\nmodel = \"l\"";
        let c = chain(other_server).unwrap();
        assert!(c[0].headers.is_empty());
        assert_eq!(c[0].organization, None);
        assert_eq!(c[0].api_key_env, "OPENAI_API_KEY");
    }

    #[test]
    fn another_provider_gets_its_own_defaults_and_none_of_the_primary_s_secrets() {
        let c = chain("[[fallback]]\nname = \"anthropic\"").unwrap();
        let f = &c[0];
        assert_eq!(f.base_url, "https://api.anthropic.com");
        assert_eq!(f.api_key_env, "ANTHROPIC_API_KEY");
        assert_eq!(f.model, "claude-3-5-haiku-latest");
        assert!(f.headers.is_empty() && f.organization.is_none());
        assert_eq!(f.timeout, Duration::from_secs(120));
        let e = chain("[[fallback]]\nname = \"gemini\"\norganization = \"o\"").unwrap_err();
        assert!(e.to_string().contains("fallback[0].organization"), "{e}");
    }

    #[test]
    fn a_duplicate_of_the_primary_is_an_error() {
        let e = chain("[[fallback]]\ntimeout_secs = 5").unwrap_err().to_string();
        assert!(e.contains("fallback[0].model"), "{e}");
        let e = chain("[[fallback]]\nmodel = \"a\"\n[[fallback]]\nmodel = \"a\"").unwrap_err();
        assert!(e.to_string().contains("fallback[1]"), "{e}");
    }

    #[test]
    fn zero_means_unlimited() {
        let r = raw("[rate_limit]\nrequests_per_minute = 600\ntokens_per_minute = 0\n\
                     burst_requests = 0\nburst_tokens = 5");
        let l = rate_limit(r.rate_limit).unwrap();
        assert_eq!(l.requests_per_minute, Some(600));
        assert_eq!((l.tokens_per_minute, l.burst_requests, l.burst_tokens), (None, None, Some(5)));
        let c = concurrency(raw("[concurrency]\nmax_in_flight = 0").concurrency).unwrap();
        assert_eq!(c.max_in_flight, None);
    }
}
