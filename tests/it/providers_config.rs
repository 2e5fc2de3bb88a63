//! Provider configuration end to end: per-provider defaults for `base_url`, `model`
//! and `api_key_env`, the OpenAI dialect options (reasoning, Azure, organisation),
//! custom headers for every provider, the stream idle timeout, and the errors a wrong
//! combination gives. Requests go to fake servers built through `provider::build`,
//! exactly as the engine builds them.
#![allow(clippy::unwrap_used)]

use crate::support::fake_openai::{FakeOpenAi, Reply};
use crate::support::fake_providers::{anthropic, gemini, ollama};
use redraft::Error;
use redraft::assemble::provider;
use redraft::config::{Config, KNOWN_PROVIDERS, LoadOptions};
use redraft::model::stream::collect;
use redraft::model::{LanguageModel, Message, ModelErrorKind, Request, Sampling};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn load(overrides: &[(&str, &str)], env: &[(&str, &str)]) -> Result<Config, Error> {
    Config::load_with(&LoadOptions {
        // The built-in default is the local model; these tests are about HTTP providers.
        overrides: [("provider.name", "openai")]
            .iter()
            .chain(overrides)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        env_vars: Some(env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
        workdir: Some(std::env::temp_dir().join("redraft-providers-config-none")),
        ..LoadOptions::default()
    })
}

fn config_error(result: Result<Config, Error>) -> (String, Option<String>, String) {
    match result {
        Err(Error::Config { source_name, key, reason }) => (source_name, key, reason),
        Err(other) => panic!("expected a config error, got {other}"),
        Ok(_) => panic!("expected a config error"),
    }
}

fn build(config: &Config) -> Arc<dyn LanguageModel> {
    let transport = provider::transport(&config.provider).unwrap();
    provider::build(&config.provider, &config.local, &transport).unwrap()
}

fn request() -> Request {
    Request {
        messages: vec![Message::user("hi")],
        sampling: Sampling { temperature: Some(0.7), max_tokens: Some(99) },
        ..Request::default()
    }
}

#[test]
fn every_provider_has_defaults_when_only_named() {
    let expected = [
        ("openai", "https://api.openai.com/v1", "gpt-4o-mini", "OPENAI_API_KEY"),
        ("anthropic", "https://api.anthropic.com", "claude-3-5-haiku-latest", "ANTHROPIC_API_KEY"),
        (
            "gemini",
            "https://generativelanguage.googleapis.com/v1beta",
            "gemini-2.0-flash",
            "GEMINI_API_KEY",
        ),
        ("ollama", "http://127.0.0.1:11434", "llama3.2", "OLLAMA_API_KEY"),
    ];
    for (name, base_url, model, key_env) in expected {
        let config = load(&[("provider.name", name)], &[(key_env, "k-123")]).unwrap();
        let p = &config.provider;
        assert_eq!((p.base_url.as_str(), p.model.as_str()), (base_url, model), "{name}");
        assert_eq!(p.api_key_env, key_env, "{name}");
        assert!(p.api_key.is_some(), "{name}");
        assert_eq!(p.stream_idle_timeout, Duration::from_secs(60));
        assert!(!p.reasoning && p.headers.is_empty());
        assert_eq!(build(&config).provider(), name);
    }
    for name in ["openai", "anthropic", "gemini", "ollama"] {
        assert!(KNOWN_PROVIDERS.contains(&name));
    }
}

#[test]
fn explicit_values_win_over_provider_defaults() {
    let config = load(
        &[
            ("provider.name", "anthropic"),
            ("provider.base_url", "http://127.0.0.1:9/"),
            ("provider.model", "claude-sonnet-4-5"),
            ("provider.api_key_env", "MY_KEY"),
        ],
        &[("MY_KEY", "k"), ("ANTHROPIC_API_KEY", "other")],
    )
    .unwrap();
    assert_eq!(config.provider.base_url, "http://127.0.0.1:9");
    assert_eq!(config.provider.model, "claude-sonnet-4-5");
    assert_eq!(config.provider.api_key_env, "MY_KEY");
}

#[test]
fn an_unknown_provider_lists_the_known_ones() {
    let (source, key, reason) = config_error(load(&[("provider.name", "anthropics")], &[]));
    assert_eq!(source, "command line");
    assert_eq!(key.as_deref(), Some("provider.name"));
    for name in KNOWN_PROVIDERS {
        assert!(reason.contains(name), "{reason}");
    }
}

#[test]
fn openai_only_options_are_errors_with_other_providers() {
    for (key, value) in [
        ("provider.reasoning", "true"),
        ("provider.azure_api_version", "2024-10-21"),
        ("provider.organization", "org-1"),
    ] {
        let (_, got, reason) =
            config_error(load(&[("provider.name", "gemini"), (key, value)], &[]));
        assert_eq!(got.as_deref(), Some(key));
        assert!(reason.contains("openai only") && reason.contains("gemini"), "{reason}");
    }
    let (_, key, reason) = config_error(load(&[("provider.azure_api_version", "2024-10-21")], &[]));
    assert_eq!(key.as_deref(), Some("provider.base_url"));
    assert!(reason.contains("deployment"), "{reason}");
    let (source, key, _) = config_error(load(&[("provider.stream_idle_timeout_secs", "0")], &[]));
    assert_eq!(
        (source.as_str(), key.as_deref()),
        ("command line", Some("provider.stream_idle_timeout_secs"))
    );
}

#[test]
fn headers_come_from_files_and_the_environment_and_are_redacted() {
    let dir =
        std::env::temp_dir().join(format!("redraft-providers-headers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("h.toml");
    std::fs::write(
        &file,
        "[provider]\nheaders = { \"X-Team\" = \"docs\", \"X-Gateway-Key\" = \"gw-secret\" }\n",
    )
    .unwrap();
    let config = Config::load_with(&LoadOptions {
        file: Some(file.clone()),
        env_vars: Some(vec![("REDRAFT__PROVIDER__HEADERS__X-TRACE".into(), "t-1".into())]),
        workdir: Some(dir.clone()),
        ..LoadOptions::default()
    })
    .unwrap();
    let headers = &config.provider.headers;
    assert_eq!(headers["X-Team"], "docs");
    assert_eq!(headers["x-trace"], "t-1");
    let shown = config.redacted().to_string();
    assert!(!shown.contains("gw-secret"), "{shown}");
    assert_eq!(config.redacted()["provider"]["headers"]["X-Gateway-Key"], "[redacted]");

    std::fs::write(&file, "[provider]\nheaders = { \"Bad Header\" = \"v\" }\n").unwrap();
    let (source, key, reason) = config_error(Config::load_with(&LoadOptions {
        file: Some(file.clone()),
        env_vars: Some(vec![]),
        ..LoadOptions::default()
    }));
    assert!(source.ends_with("h.toml"), "{source}");
    assert_eq!(key.as_deref(), Some("provider.headers"));
    assert!(reason.contains("Bad Header"), "{reason}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_example_config_loads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/examples");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        let config = Config::load_with(&LoadOptions {
            file: Some(path.clone()),
            env_vars: Some(vec![]),
            workdir: Some(root.clone()),
            ..LoadOptions::default()
        })
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // The local model needs its file, not a server: loading it is tested elsewhere.
        if config.provider.kind.as_str() != "local" {
            build(&config);
        }
        names.push(config.provider.kind.as_str().to_owned());
    }
    for name in ["openai", "anthropic", "gemini", "ollama"] {
        assert!(names.iter().any(|n| n == name), "no example for {name}: {names:?}");
    }
}

#[tokio::test]
async fn reasoning_models_get_max_completion_tokens() {
    let server = FakeOpenAi::start(|_, _| Reply::text("ok")).await;
    let config = load(
        &[
            ("provider.base_url", &server.base_url()),
            ("provider.reasoning", "true"),
            ("provider.organization", "org-42"),
        ],
        &[("OPENAI_API_KEY", "sk-1")],
    )
    .unwrap();
    build(&config).complete(&request()).await.unwrap();
    let body = &server.requests()[0];
    assert_eq!(body["max_completion_tokens"], 99);
    assert!(body.get("max_tokens").is_none() && body.get("temperature").is_none(), "{body}");
    assert_eq!(server.header(0, "openai-organization").as_deref(), Some("org-42"));
    assert_eq!(server.header(0, "authorization").as_deref(), Some("Bearer sk-1"));
}

#[tokio::test]
async fn azure_sends_api_version_and_an_api_key_header() {
    let server = FakeOpenAi::start_any(|_, _, _| Reply::text("ok"));
    let base = format!("{}/openai/deployments/gpt4o/", server.root_url());
    let config = load(
        &[("provider.base_url", &base), ("provider.azure_api_version", "2024-10-21")],
        &[("AZURE_OPENAI_API_KEY", "az-secret-1")],
    )
    .unwrap();
    assert_eq!(config.provider.api_key_env, "AZURE_OPENAI_API_KEY");
    let c = build(&config).complete(&request()).await.unwrap();
    assert_eq!(c.text, "ok");
    assert_eq!(
        server.paths(),
        ["/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21"]
    );
    assert_eq!(server.header(0, "api-key").as_deref(), Some("az-secret-1"));
    assert_eq!(server.header(0, "authorization"), None);
    // Streaming goes to the same URL.
    let stream = build(&config).stream(&request()).await.unwrap();
    let _ = collect(stream, "openai", &mut |_| {}).await;
    assert_eq!(server.paths()[1], server.paths()[0]);
}

#[tokio::test]
async fn custom_headers_reach_every_provider() {
    let server = FakeOpenAi::start_any(|path, _, _| {
        if path.starts_with("/v1/messages") {
            anthropic::message("ok", "end_turn", 1, 1)
        } else if path.starts_with("/v1beta/") {
            gemini::answer("ok", "STOP", 1, 1)
        } else if path.starts_with("/api/chat") {
            ollama::answer("ok", "stop", 1, 1)
        } else {
            Reply::text("ok")
        }
    });
    let gemini_base = format!("{}/v1beta", server.root_url());
    let cases = [
        ("openai", server.base_url()),
        ("anthropic", server.root_url()),
        ("gemini", gemini_base),
        ("ollama", server.root_url()),
    ];
    for (n, (name, base)) in cases.iter().enumerate() {
        let config = load(
            &[
                ("provider.name", name),
                ("provider.base_url", base),
                ("provider.headers", "{ X-Team = \"docs\" }"),
            ],
            &[],
        )
        .unwrap();
        let c = build(&config).complete(&request()).await.unwrap();
        assert_eq!(c.text, "ok", "{name}");
        assert_eq!(server.header(n, "x-team").as_deref(), Some("docs"), "{name}");
    }
}

#[tokio::test]
async fn the_stream_idle_timeout_comes_from_the_config() {
    let first = format!(
        "data: {}\n\n",
        json!({"choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": null}]})
    );
    let server = FakeOpenAi::start(move |_, _| Reply::Stream {
        content_type: "text/event-stream".into(),
        chunks: vec![first.clone().into_bytes(), b"data: [DONE]\n\n".to_vec()],
        pause: Duration::from_millis(1500),
        drop_after: false,
    })
    .await;
    let config = load(
        &[("provider.base_url", &server.base_url()), ("provider.stream_idle_timeout_secs", "1")],
        &[],
    )
    .unwrap();
    assert_eq!(config.redacted()["provider"]["stream_idle_timeout_secs"], 1);
    let result = build(&config).stream(&request()).await;
    let err = match result {
        Ok(stream) => collect(stream, "openai", &mut |_| {}).await.unwrap_err(),
        Err(e) => e,
    };
    assert_eq!(err.kind, ModelErrorKind::Timeout, "{err}");
}
