//! Per-provider defaults: what `provider.base_url`, `provider.model` and
//! `provider.api_key_env` are when no layer sets them.
//!
//! They cannot live in `config/default.toml`, because layers merge key by key: a
//! default base URL there would survive a user's `provider.name = "anthropic"` and send
//! Anthropic requests to OpenAI. So the defaults file leaves these keys unset and the
//! resolver asks here, once the provider's name is known.

use crate::thought::settings::ProviderKind;

/// What a provider uses when the configuration does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderDefaults {
    /// The API root, following the provider's official SDK.
    pub base_url: &'static str,
    /// The model asked when none is named.
    pub model: &'static str,
    /// The variable the API key is read from.
    pub api_key_env: &'static str,
}

/// The defaults of provider `name`; `azure` says whether `provider.azure_api_version`
/// is set (Azure OpenAI reads its key from `AZURE_OPENAI_API_KEY`, as its SDK does).
/// A provider without network defaults (an in-process one) gets empty values.
pub fn provider_defaults(kind: ProviderKind, azure: bool) -> ProviderDefaults {
    match kind {
        ProviderKind::OpenAi => ProviderDefaults {
            base_url: "https://api.openai.com/v1",
            model: "gpt-4o-mini",
            api_key_env: if azure { "AZURE_OPENAI_API_KEY" } else { "OPENAI_API_KEY" },
        },
        ProviderKind::Anthropic => ProviderDefaults {
            base_url: crate::model::anthropic::DEFAULT_BASE_URL,
            model: "claude-3-5-haiku-latest",
            api_key_env: "ANTHROPIC_API_KEY",
        },
        ProviderKind::Gemini => ProviderDefaults {
            base_url: crate::model::gemini::DEFAULT_BASE_URL,
            model: "gemini-2.0-flash",
            api_key_env: "GEMINI_API_KEY",
        },
        ProviderKind::Ollama => ProviderDefaults {
            base_url: crate::model::ollama::DEFAULT_BASE_URL,
            model: "llama3.2",
            // Only ollama.com or an authenticating proxy needs one.
            api_key_env: "OLLAMA_API_KEY",
        },
        ProviderKind::Local => ProviderDefaults { base_url: "", model: "", api_key_env: "" },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_network_provider_has_defaults() {
        for kind in ProviderKind::ALL.into_iter().filter(|k| *k != ProviderKind::Local) {
            let d = provider_defaults(kind, false);
            assert!(d.base_url.starts_with("http"), "{kind}");
            assert!(!d.model.is_empty() && !d.api_key_env.is_empty(), "{kind}");
        }
        assert_eq!(
            provider_defaults(ProviderKind::OpenAi, true).api_key_env,
            "AZURE_OPENAI_API_KEY"
        );
        assert_eq!(
            provider_defaults(ProviderKind::Anthropic, false).base_url,
            "https://api.anthropic.com"
        );
        assert_eq!(
            provider_defaults(ProviderKind::Gemini, false).base_url,
            "https://generativelanguage.googleapis.com/v1beta"
        );
        assert_eq!(
            provider_defaults(ProviderKind::Ollama, false).base_url,
            "http://127.0.0.1:11434"
        );
    }
}
