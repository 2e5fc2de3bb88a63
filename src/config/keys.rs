//! Whether a provider can be sent to without an API key.
//!
//! A key variable that is not set is not a configuration error by itself (`config
//! check` and the listing commands work without one, and local servers need none),
//! but a run that would send a request its provider must refuse fails before sending,
//! naming the variable — not after a round trip with "invalid x-api-key".
//!
//! A provider needs a key when its API always asks for one — anthropic and gemini, and
//! openai at its own API (`api.openai.com`) or on Azure — unless the credentials come
//! another way: the provider's auth header in `headers`, or user info or a query string
//! in `base_url` (Gemini takes `?key=…`; gateways take `?api-key=…`). An openai base
//! URL elsewhere (vLLM, llama.cpp, LM Studio, Ollama's `/v1`) and ollama need none.

use super::{ProviderConfig, ProviderKind};
use crate::Error;

/// The headers each provider's key may come in instead, lower-case.
fn auth_headers(provider: ProviderKind) -> &'static [&'static str] {
    match provider {
        ProviderKind::Anthropic => &["x-api-key", "authorization"],
        ProviderKind::Gemini => &["x-goog-api-key", "authorization"],
        ProviderKind::OpenAi => &["authorization", "api-key"],
        ProviderKind::Local | ProviderKind::Ollama => &[],
    }
}

impl ProviderConfig {
    /// Whether requests to this provider must carry an API key (see the module docs).
    pub fn needs_api_key(&self) -> bool {
        let always = match self.kind {
            ProviderKind::Anthropic | ProviderKind::Gemini => true,
            ProviderKind::OpenAi => {
                self.azure_api_version.is_some() || is_openai_api(&self.base_url)
            }
            ProviderKind::Local | ProviderKind::Ollama => false,
        };
        let by_header = self
            .headers
            .keys()
            .any(|h| auth_headers(self.kind).contains(&h.to_ascii_lowercase().as_str()));
        always && !by_header && !crate::model::url::has_credentials(&self.base_url)
    }

    /// An error naming the variable when this provider [needs a key](Self::needs_api_key)
    /// and none was read; `key` is the table in errors (`provider`, `fallback[0]`).
    pub fn require_api_key(&self, key: &str) -> Result<(), Error> {
        if self.api_key.is_some() || !self.needs_api_key() {
            return Ok(());
        }
        Err(Error::Provider {
            provider: self.kind.as_str().to_owned(),
            reason: format!(
                "{} is not set (provider {}; config {key}.api_key_env): set it to the API \
                 key; nothing was sent",
                self.api_key_env, self.kind
            ),
        })
    }
}

/// Whether `base_url` is OpenAI's own API.
fn is_openai_api(base_url: &str) -> bool {
    let host = base_url.split_once("://").map_or(base_url, |(_, rest)| rest);
    let host = host.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = host.split(':').next().unwrap_or_default();
    host.eq_ignore_ascii_case("api.openai.com")
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, LoadOptions};

    fn provider(name: &str, overrides: &[(&str, &str)]) -> crate::config::ProviderConfig {
        let mut opts = LoadOptions {
            env_vars: Some(vec![]),
            workdir: Some(std::env::temp_dir().join("redraft-keys-unit-no-such-dir")),
            ..LoadOptions::default()
        };
        opts.overrides.push(("provider.name".into(), name.into()));
        opts.overrides.extend(overrides.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        Config::load_with(&opts).unwrap().provider
    }

    #[test]
    fn which_providers_need_a_key() {
        assert!(provider("anthropic", &[]).needs_api_key());
        assert!(
            provider("gemini", &[("provider.base_url", "http://127.0.0.1:9/v1beta")])
                .needs_api_key()
        );
        assert!(provider("openai", &[]).needs_api_key(), "api.openai.com needs one");
        let azure = [
            ("provider.base_url", "https://r.openai.azure.com/openai/deployments/d"),
            ("provider.azure_api_version", "2024-10-21"),
        ];
        assert!(provider("openai", &azure).needs_api_key());
        assert!(
            !provider("openai", &[("provider.base_url", "http://127.0.0.1:8080/v1")])
                .needs_api_key()
        );
        assert!(!provider("ollama", &[]).needs_api_key());
        assert!(!provider("local", &[]).needs_api_key());
    }

    #[test]
    fn credentials_given_another_way_count() {
        let header = [("provider.headers", r#"{ "X-Api-Key" = "k" }"#)];
        assert!(!provider("anthropic", &header).needs_api_key());
        let query =
            [("provider.base_url", "https://generativelanguage.googleapis.com/v1beta?key=K")];
        assert!(!provider("gemini", &query).needs_api_key());
        let user = [("provider.base_url", "https://u:p@api.openai.com/v1")];
        assert!(!provider("openai", &user).needs_api_key());
    }

    #[test]
    fn the_error_names_the_variable_and_the_key() {
        let err = provider("anthropic", &[]).require_api_key("provider").unwrap_err().to_string();
        assert!(err.contains("ANTHROPIC_API_KEY is not set"), "{err}");
        assert!(err.contains("provider.api_key_env"), "{err}");
        assert!(provider("ollama", &[]).require_api_key("provider").is_ok());
    }
}
