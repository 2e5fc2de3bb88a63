//! Unit tests of loading; the end-to-end layering tests are in `tests/it/config.rs`.

use super::*;
use secrecy::ExposeSecret;

fn isolated(env_vars: Vec<(&str, &str)>) -> LoadOptions {
    LoadOptions {
        env_vars: Some(env_vars.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()),
        workdir: Some(std::env::temp_dir().join("redraft-config-unit-no-such-dir")),
        ..LoadOptions::default()
    }
}

#[test]
fn the_defaults_set_every_key() {
    let raw: RawConfig = toml::from_str(presets::DEFAULT).unwrap();
    let config =
        resolve::resolve(raw, None, vec![], &plugins::Origins::default(), &|_| None).unwrap();
    assert_eq!(config.provider.kind, super::ProviderKind::Local);
    assert_eq!(config.engine.max_iterations, 3);
    assert_eq!(config.engine.accept_when, AcceptWhen::AllSatisfied);
    assert_eq!(config.critics.enabled, vec!["reflexion"]);
    let resolved: Vec<&str> = config.critics.definitions.iter().map(|d| d.name()).collect();
    assert_eq!(resolved, ["reflexion"]);
    assert!(config.critics.vars.is_empty());
    assert!(config.validators.enabled.is_empty() && config.validators.compiled.is_empty());
    assert_eq!(
        config.budget,
        BudgetConfig { max_tokens: None, max_cost_usd: None, deadline: None }
    );
    assert!(config.cache.enabled);
    assert!(config.cache.dir.is_none() && config.cache.redis_url.is_none());
    assert!(config.prices.get("openai", "gpt-4o-mini").is_some());
}

#[test]
fn defaults_only_lists_one_source_and_reads_the_key_from_the_injected_env() {
    let config = Config::load_with(&isolated(vec![("OPENAI_API_KEY", "sk-unit-123")])).unwrap();
    assert_eq!(config.sources(), ["built-in defaults"]);
    assert!(config.provider.api_key.is_none(), "the local default needs no key");
    let env = vec![("OPENAI_API_KEY", "sk-unit-123"), ("REDRAFT__PROVIDER__NAME", "openai")];
    let config = Config::load_with(&isolated(env)).unwrap();
    assert_eq!(config.sources(), ["built-in defaults", "environment"]);
    assert_eq!(config.provider.api_key.as_ref().unwrap().expose_secret(), "sk-unit-123");
}

#[test]
fn an_empty_key_counts_as_unset() {
    let env = vec![("OPENAI_API_KEY", ""), ("REDRAFT__PROVIDER__NAME", "openai")];
    let config = Config::load_with(&isolated(env)).unwrap();
    assert!(config.provider.api_key.is_none());
    assert_eq!(config.redacted()["provider"]["api_key"], serde_json::Value::Null);
}

#[test]
fn env_can_be_switched_off() {
    let mut opts = isolated(vec![("REDRAFT__ENGINE__MAX_ITERATIONS", "7")]);
    opts.env = false;
    let config = Config::load_with(&opts).unwrap();
    assert_eq!(config.engine.max_iterations, 3);
    assert_eq!(config.sources(), ["built-in defaults"]);
}

#[test]
fn the_caller_preset_wins_over_the_env_preset() {
    let mut opts = isolated(vec![("REDRAFT__PRESET", "fast")]);
    opts.preset = Some("quality".to_owned());
    let config = Config::load_with(&opts).unwrap();
    assert_eq!(config.preset.as_deref(), Some("quality"));
    assert_eq!(config.engine.max_iterations, 5);
    assert_eq!(config.sources(), ["built-in defaults", "preset quality", "environment"]);
}

#[test]
fn load_options_debug_hides_injected_values() {
    let opts = isolated(vec![("OPENAI_API_KEY", "sk-hidden-456")]);
    let shown = format!("{opts:?}");
    assert!(shown.contains("OPENAI_API_KEY"));
    assert!(!shown.contains("sk-hidden-456"));
}

#[test]
fn base_url_loses_its_trailing_slash() {
    let mut opts = isolated(vec![]);
    opts.overrides = vec![("provider.base_url".into(), "http://127.0.0.1:8080/v1/".into())];
    let config = Config::load_with(&opts).unwrap();
    assert_eq!(config.provider.base_url, "http://127.0.0.1:8080/v1");
}

#[test]
fn sampling_converts_to_request_parameters() {
    let config = Config::load_with(&isolated(vec![])).unwrap();
    let s = config.generation.sampling();
    assert_eq!(s.max_tokens, Some(1024));
    assert_eq!(s.temperature, Some(0.7));
}
