//! The response cache's memory tier through the public API: a repeated identical run
//! is answered entirely from memory and counted as saved; errors, cut-off and empty
//! answers are never cached; anything that changes an answer changes the key; streams
//! and sample indexes behave.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use crate::support::fake_openai::{FakeOpenAi, Reply, is_structured};
use redraft::Engine;
use redraft::cache::{ResponseCache, Tier, with_sample};
use redraft::config::{Config, LoadOptions};
use redraft::middleware::cache::Cached;
use redraft::model::call::{call, call_streaming};
use redraft::model::openai::{OpenAi, OpenAiSettings};
use redraft::model::scripted::{ScriptedModel, reply};
use redraft::model::transport::{Transport, TransportSettings};
use redraft::model::{
    CallLog, CallTag, FinishReason, LanguageModel, Message, Request, ResponseFormat, Sampling,
};
use redraft::thought::{CallRole, StopReason};
use std::sync::Arc;

fn memory_cache() -> Arc<ResponseCache> {
    Arc::new(ResponseCache::builder().build().unwrap())
}

fn openai(server: &FakeOpenAi) -> OpenAi {
    OpenAi::new(
        Transport::new(TransportSettings::default()).unwrap(),
        OpenAiSettings {
            base_url: server.base_url(),
            model: "gpt-4o-mini".to_owned(),
            api_key: None,
        },
    )
}

fn request(text: &str, temperature: f32) -> Request {
    Request {
        messages: vec![Message::system("You improve texts."), Message::user(text)],
        sampling: Sampling { temperature: Some(temperature), max_tokens: Some(300) },
        format: ResponseFormat::Text,
        ..Request::default()
    }
}

/// The config of a run against `server`: three critics, three iterations, no
/// environment or user file.
fn config(server: &FakeOpenAi, extra: &[(&str, &str)]) -> Config {
    let mut overrides = vec![
        ("provider.name".to_owned(), "openai".to_owned()),
        ("provider.base_url".to_owned(), server.base_url()),
        ("critics.enabled".to_owned(), "reflexion,self_refine,constitutional".to_owned()),
        ("engine.max_iterations".to_owned(), "3".to_owned()),
    ];
    overrides.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    Config::load_with(&LoadOptions {
        overrides,
        env_vars: Some(vec![]),
        workdir: Some(std::env::temp_dir().join("redraft-cache-test-no-such-dir")),
        ..LoadOptions::default()
    })
    .unwrap()
}

/// Critics always want more; each revision is new text.
fn unhappy_server() -> FakeOpenAi {
    FakeOpenAi::start_blocking(|body, n| {
        if is_structured(body) {
            Reply::verdict(true, 0.9, "Make it more concrete.")
        } else {
            Reply::text(&format!("Revision number {n}: a lamp that shines all night."))
        }
    })
}

#[tokio::test]
async fn a_repeated_identical_improve_is_served_entirely_from_memory() {
    let server = unhappy_server();
    let engine = Engine::from_config(&config(&server, &[])).unwrap();
    let text = "Our lamp are bright and cheap.";

    let first = engine.improve(text).await;
    assert_eq!(first.stop_reason, Some(StopReason::MaxIterations));
    let sent = server.request_count();
    assert_eq!(sent, 3 * 3 + 2, "3 critics x 3 iterations + 2 revisions");
    assert_eq!(first.usage.calls, sent as u64);
    assert_eq!(first.usage.cache_hits, 0);
    assert!(first.usage.cost_usd > 0.0, "gpt-4o-mini has a built-in price");

    let second = engine.improve(text).await;
    assert_eq!(server.request_count(), sent, "nothing was sent the second time");
    assert_eq!(second.usage.calls, 0);
    assert_eq!(second.usage.cache_hits, sent as u64);
    assert_eq!((second.usage.prompt_tokens, second.usage.completion_tokens), (0, 0));
    assert_eq!(second.usage.cost_usd, 0.0);
    assert_eq!(second.usage.saved_prompt_tokens, first.usage.prompt_tokens);
    assert_eq!(second.usage.saved_completion_tokens, first.usage.completion_tokens);
    assert!((second.usage.saved_cost_usd - first.usage.cost_usd).abs() < 1e-12);
    assert_eq!(second.final_text, first.final_text);
    assert_eq!(second.stop_reason, first.stop_reason);
    assert!(second.calls().all(|c| c.cache_hit));
    assert!(first.calls().all(|c| !c.cache_hit));
}

#[tokio::test]
async fn the_cache_can_be_switched_off() {
    let server = unhappy_server();
    let engine = Engine::from_config(&config(&server, &[("cache.enabled", "false")])).unwrap();
    engine.improve("A lamp.").await;
    let sent = server.request_count();
    let again = engine.improve("A lamp.").await;
    assert_eq!(server.request_count(), 2 * sent);
    assert_eq!(again.usage.cache_hits, 0);
}

#[tokio::test]
async fn errors_are_not_cached() {
    let server = FakeOpenAi::start_blocking(|_, n| {
        if n == 0 { Reply::error(500, "server_error", "boom") } else { Reply::text("Fine.") }
    });
    let model = Cached::new(openai(&server), memory_cache());
    let req = request("Improve me.", 0.2);
    assert!(model.complete(&req).await.is_err());
    let ok = model.complete(&req).await.unwrap();
    assert!(!ok.cache_hit, "the error was not stored");
    let hit = model.complete(&req).await.unwrap();
    assert!(hit.cache_hit);
    assert_eq!(hit.text, "Fine.");
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn truncated_and_empty_answers_are_not_cached() {
    let server = FakeOpenAi::start_blocking(|body, _| {
        let user = support::fake_openai::last_user_message(body);
        if user.contains("cut") {
            Reply::Chat {
                content: "Half a sent".into(),
                finish_reason: "length".into(),
                prompt_tokens: 5,
                completion_tokens: 300,
            }
        } else {
            Reply::text("   ")
        }
    });
    let model = Cached::new(openai(&server), memory_cache());
    for text in ["cut", "empty"] {
        let req = request(text, 0.2);
        let a = model.complete(&req).await.unwrap();
        let b = model.complete(&req).await.unwrap();
        assert!(!a.cache_hit && !b.cache_hit, "{text}");
    }
    assert_eq!(server.request_count(), 4);
    assert_eq!(model.cache().stats().stores, 0);
}

#[tokio::test]
async fn anything_that_changes_the_answer_changes_the_key() {
    let scripted = Arc::new(ScriptedModel::new(|_, n| Ok(reply(&format!("answer {n}")))));
    let model = Cached::new(scripted.clone(), memory_cache());
    let base = request("Same text.", 0.2);
    let mut variants = vec![base.clone(), request("Same text.", 0.9), request("Other text.", 0.2)];
    let mut longer = base.clone();
    longer.sampling.max_tokens = Some(301);
    variants.push(longer);
    let mut json = base.clone();
    json.format = ResponseFormat::JsonObject;
    variants.push(json);
    for v in &variants {
        assert!(!model.complete(v).await.unwrap().cache_hit);
    }
    assert_eq!(scripted.requests().len(), variants.len());
    for v in &variants {
        assert!(model.complete(v).await.unwrap().cache_hit);
    }
    // Whitespace at the ends of a message does not change the key.
    let padded = request("  Same text.\n", 0.2);
    assert!(model.complete(&padded).await.unwrap().cache_hit);
    assert_eq!(scripted.requests().len(), variants.len());
}

#[tokio::test]
async fn each_sample_index_has_its_own_entry() {
    let scripted = Arc::new(ScriptedModel::new(|_, n| Ok(reply(&format!("sample {n}")))));
    let model = Cached::new(scripted.clone(), memory_cache());
    let req = request("Vote on this.", 1.0);
    let first: Vec<String> = futures::future::join_all(
        (0..3).map(|i| with_sample(i, async { model.complete(&req).await.unwrap().text })),
    )
    .await;
    let mut distinct = first.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "three samples, three answers: {first:?}");
    let again: Vec<String> = futures::future::join_all(
        (0..3).map(|i| with_sample(i, async { model.complete(&req).await.unwrap().text })),
    )
    .await;
    assert_eq!(again, first, "each index gets its own answer back");
    assert_eq!(scripted.requests().len(), 3);
}

#[tokio::test]
async fn hits_are_recorded_as_cache_hits_and_streams_are_stored_and_replayed() {
    let scripted = Arc::new(ScriptedModel::new(|_, _| Ok(reply("streamed answer"))));
    let cache = memory_cache();
    let model = Cached::new(scripted.clone(), cache.clone());
    let req = request("Stream me.", 0.2);
    let log = CallLog::new();
    let tag = CallTag::new(CallRole::Revise);

    let mut seen = String::new();
    let miss = call_streaming(&model, &req, &tag, &log, &mut |d| seen.push_str(d.unwrap_or("")))
        .await
        .unwrap();
    assert!(!miss.cache_hit);
    assert_eq!(seen, "streamed answer");

    let mut replayed = Vec::new();
    let hit =
        call_streaming(&model, &req, &tag, &log, &mut |d| replayed.push(d.map(str::to_owned)))
            .await
            .unwrap();
    assert!(hit.cache_hit);
    assert_eq!(replayed, vec![Some("streamed answer".to_owned())], "one delta, then done");
    let hit = call(&model, &req, &tag, &log).await.unwrap();
    assert_eq!(hit.finish_reason, FinishReason::Stop);
    assert_eq!(scripted.requests().len(), 1);

    let records = log.take();
    assert_eq!(records.iter().map(|r| r.cache_hit).collect::<Vec<_>>(), [false, true, true]);
    assert_eq!(records[1].prompt_tokens, 10, "a hit carries the original usage");
    assert_eq!(cache.lookup(&model.key(&req)).await.map(|(_, t)| t), Some(Tier::Memory));
}

/// A model that, like the local one, caps every request's token limit in `prepare`,
/// so a retry "with more room" is the very same request.
struct Capped(Arc<ScriptedModel>);

#[async_trait::async_trait]
impl LanguageModel for Capped {
    fn provider(&self) -> &str {
        "capped"
    }
    fn model(&self) -> &str {
        "capped"
    }
    fn prepare<'a>(&self, request: &'a Request) -> std::borrow::Cow<'a, Request> {
        let mut capped = request.clone();
        capped.sampling.max_tokens = Some(64);
        std::borrow::Cow::Owned(capped)
    }
    async fn complete(
        &self,
        request: &Request,
    ) -> Result<redraft::model::Completion, redraft::model::ModelError> {
        self.0.complete(request).await
    }
}

#[tokio::test]
async fn a_retried_revision_is_a_new_sample_not_a_cache_hit() {
    // The first revision echoes its instructions; the retry must reach the model.
    let scripted = Arc::new(ScriptedModel::new(|_, n| {
        Ok(reply(if n == 0 {
            "Output only the revised text please."
        } else {
            "Our lamp is bright."
        }))
    }));
    let model = Cached::new(Capped(Arc::clone(&scripted)), memory_cache());
    let spec = redraft::validator::parse_spec("require:is").unwrap();
    let mut builder = Engine::builder(Arc::new(model)).max_iterations(2);
    for entry in redraft::validator::build(&spec, &redraft::validator::Presets::empty()).unwrap() {
        builder = builder.validator_entry(entry);
    }
    let engine = builder.build().unwrap();
    let t = engine.improve("Our lamp are bright.").await;
    assert_eq!(scripted.requests().len(), 2, "both revision attempts were sent");
    assert_eq!(t.usage.cache_hits, 0);
    assert_eq!(t.final_text.as_deref(), Some("Our lamp is bright."));
}
