//! The loop rules of DESIGN.md, driven deterministically by the scripted model.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use async_trait::async_trait;
use redraft::critic::{Critic, CriticError, CritiqueContext, VerdictJson, verdict_schema};
use redraft::engine::{AcceptWhen, Budget, Cancel, Event};
use redraft::model::scripted::{ScriptedModel, reply};
use redraft::model::structured::complete_json;
use redraft::model::{
    CallTag, Completion, FinishReason, Message, ModelError, ModelErrorKind, Request, ResponseFormat,
};
use redraft::thought::{CallRole, Critique, ErrorKind, Mode, Phase, StopReason, Verdict};
use redraft::validator::{Cost, ValidationContext, Validator, ValidatorError};
use redraft::{Engine, LanguageModel};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A critic that asks the model for a verdict about the text.
struct AskCritic(&'static str);

#[async_trait]
impl Critic for AskCritic {
    fn name(&self) -> &str {
        self.0
    }
    async fn critique(&self, cx: &CritiqueContext<'_>) -> Result<Critique, CriticError> {
        let req = Request {
            messages: vec![
                Message::system(format!("You are critic {}.", self.0)),
                Message::user(format!("<text>\n{}\n</text>", cx.text)),
            ],
            ..Request::default()
        };
        let tag = CallTag::by(CallRole::Critique, self.0);
        let v: VerdictJson =
            complete_json(cx.model, req, "verdict", &verdict_schema(), &tag, cx.log)
                .await
                .map_err(|e| CriticError::Invalid(e.to_string()))?;
        Ok(v.into_critique(self.0))
    }
}

/// A critic that tracks how many critics are in flight at once.
struct CountingCritic {
    name: &'static str,
    in_flight: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

#[async_trait]
impl Critic for CountingCritic {
    fn name(&self) -> &str {
        self.name
    }
    async fn critique(&self, _: &CritiqueContext<'_>) -> Result<Critique, CriticError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        Ok(VerdictJson {
            needs_improvement: false,
            confidence: 0.9,
            feedback: "fine".into(),
            suggestions: vec![],
        }
        .into_critique(self.name))
    }
}

/// A validator passing when the text contains a word.
struct Contains(&'static str, Cost);

#[async_trait]
impl Validator for Contains {
    fn name(&self) -> &str {
        self.0
    }
    fn cost(&self) -> Cost {
        self.1
    }
    async fn validate(&self, cx: &ValidationContext<'_>) -> Result<Verdict, ValidatorError> {
        Ok(if cx.text.contains(self.0) {
            Verdict::pass(self.0, "ok")
        } else {
            Verdict::fail(self.0, 0.0, format!("include the word '{}'", self.0))
        })
    }
}

fn verdict(needs: bool, confidence: f64, feedback: &str) -> String {
    json!({"needs_improvement": needs, "confidence": confidence, "feedback": feedback, "suggestions": ["be concrete"]}).to_string()
}

fn is_critique(req: &Request) -> bool {
    req.format != ResponseFormat::Text
}

fn last_user(req: &Request) -> &str {
    &req.messages.last().unwrap().content
}

fn engine(model: Arc<ScriptedModel>, critics: &[&'static str]) -> redraft::EngineBuilder {
    let mut b = Engine::builder(model);
    for c in critics {
        b = b.critic(Arc::new(AskCritic(c)));
    }
    b
}

#[tokio::test]
async fn accepts_a_good_text_after_validating_and_critiquing_it() {
    let model = Arc::new(ScriptedModel::fixed(
        json!({"needs_improvement": false, "confidence": 0.9, "feedback": "good", "suggestions": []}),
        "unused",
    ));
    let e =
        engine(model.clone(), &["a", "b"]).validator(Contains("good", Cost::Cpu)).build().unwrap();
    let t = e.improve("a good text").await;
    assert_eq!(t.stop_reason, Some(StopReason::Accepted));
    assert_eq!(t.phase, Phase::Done);
    assert_eq!(t.iterations.len(), 1);
    assert_eq!(t.iterations[0].validations.len(), 1);
    assert_eq!(t.iterations[0].critiques.len(), 2);
    assert_eq!(t.final_text.as_deref(), Some("a good text"));
    assert_eq!(t.best_iteration, Some(0));
    assert_eq!(t.usage.calls, 2);
    assert_eq!(t.usage.calls as usize, model.requests().len());
    assert_eq!(t.usage.prompt_tokens, 20);
}

#[tokio::test]
async fn revises_until_accepted_and_the_final_text_is_validated_and_critiqued() {
    let model = Arc::new(ScriptedModel::new(|req, _| {
        Ok(if is_critique(req) {
            let good = last_user(req).contains("better");
            reply(&verdict(!good, 0.9, if good { "fine" } else { "too vague: name the product" }))
        } else {
            reply("a better text")
        })
    }));
    let e = engine(model.clone(), &["a"]).validator(Contains("text", Cost::Cpu)).build().unwrap();
    let t = e.improve("a draft").await;
    assert_eq!(t.stop_reason, Some(StopReason::Accepted));
    assert_eq!(t.iterations.len(), 2);
    let last = &t.iterations[1];
    assert_eq!(last.text, "a better text");
    assert!(!last.validations.is_empty() && !last.critiques.is_empty());
    assert!(last.generation.is_some());
    assert_eq!(t.final_text.as_deref(), Some("a better text"));
    // The revision request carries the critic's feedback verbatim, the text last.
    let revision = model.requests().into_iter().find(|r| !is_critique(r)).unwrap();
    assert!(last_user(&revision).contains("too vague: name the product"));
    assert!(last_user(&revision).contains("<text>\na draft\n</text>"));
    let roles: Vec<_> = t.calls().map(|c| c.role).collect();
    assert_eq!(roles, [CallRole::Critique, CallRole::Revise, CallRole::Critique]);
    assert_eq!(t.usage.calls as usize, model.requests().len());
}

#[tokio::test]
async fn validator_failures_reach_the_reviser_verbatim() {
    let model = Arc::new(ScriptedModel::new(|req, _| {
        Ok(reply(if is_critique(req) { "" } else { "now with solar power" }))
    }));
    let e = Engine::builder(model.clone()).validator(Contains("solar", Cost::Cpu)).build().unwrap();
    let t = e.improve("a text about energy").await;
    assert_eq!(t.stop_reason, Some(StopReason::Accepted));
    let revision = &model.requests()[0];
    assert!(last_user(revision).contains("include the word 'solar'"));
}

#[tokio::test]
async fn stops_at_max_iterations_with_every_draft_critiqued() {
    let model = Arc::new(ScriptedModel::new(|req, n| {
        Ok(reply(&if is_critique(req) {
            verdict(true, 0.9, "worse")
        } else {
            format!("draft {n}")
        }))
    }));
    let e = engine(model, &["a"]).max_iterations(3).build().unwrap();
    let t = e.improve("start").await;
    assert_eq!(t.stop_reason, Some(StopReason::MaxIterations));
    assert_eq!(t.iterations.len(), 3);
    assert!(t.iterations.iter().all(|it| it.critiques.len() == 1 && it.decision.is_some()));
}

#[tokio::test]
async fn a_failed_critic_does_not_vote_and_no_vote_never_accepts() {
    let model = Arc::new(ScriptedModel::new(|req, n| {
        if is_critique(req) {
            Err(ModelError::new(ModelErrorKind::Server, "scripted", "boom").with_status(500))
        } else {
            Ok(reply(&format!("draft {n}")))
        }
    }));
    let e = engine(model, &["a", "b"])
        .max_iterations(2)
        .accept_when(AcceptWhen::AnySatisfied)
        .build()
        .unwrap();
    let t = e.improve("start").await;
    assert_eq!(t.stop_reason, Some(StopReason::MaxIterations));
    for it in &t.iterations {
        assert!(
            it.critiques
                .iter()
                .all(|c| c.error.as_ref().is_some_and(|e| e.message.contains("boom")))
        );
        assert!(!it.decision.as_ref().unwrap().accepted);
    }
    assert!(t.calls().any(|c| c.error.is_some()), "failed calls are recorded");
}

#[tokio::test]
async fn one_failed_critic_among_satisfied_ones_does_not_block_acceptance() {
    let model = Arc::new(ScriptedModel::new(|req, _| {
        if req.messages[0].content.contains("critic bad") {
            Ok(reply("not json at all"))
        } else {
            Ok(reply(&verdict(false, 0.9, "ok")))
        }
    }));
    let e = engine(model, &["good", "bad"]).build().unwrap();
    let t = e.improve("text").await;
    assert_eq!(t.stop_reason, Some(StopReason::Accepted));
    let bad = t.iterations[0].critiques.iter().find(|c| c.critic == "bad").unwrap();
    assert!(bad.error.is_some());
    // The invalid answer was re-asked once: 1 + 2 calls.
    assert_eq!(t.usage.calls, 3);
}

#[tokio::test(start_paused = true)]
async fn critics_run_concurrently_and_time_out_individually() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let model =
        Arc::new(ScriptedModel::new(|_, _| Ok(reply("x"))).with_latency(Duration::from_secs(3600)));
    let mut b = Engine::builder(model).critic_timeout(Duration::from_secs(10));
    for name in ["c1", "c2", "c3"] {
        b = b.critic(Arc::new(CountingCritic {
            name,
            in_flight: in_flight.clone(),
            peak: peak.clone(),
        }));
    }
    let slow = AskCritic("slow");
    let t = b
        .critic(Arc::new(slow))
        .accept_when(AcceptWhen::MajoritySatisfied)
        .build()
        .unwrap()
        .improve("text")
        .await;
    assert_eq!(peak.load(Ordering::SeqCst), 3, "all critics in flight at once");
    let slow = t.iterations[0].critiques.iter().find(|c| c.critic == "slow").unwrap();
    assert!(slow.error.as_ref().unwrap().message.contains("timed out"));
    assert_eq!(slow.error.as_ref().unwrap().kind, ErrorKind::Timeout);
    assert_eq!(t.stop_reason, Some(StopReason::Accepted));
}

#[tokio::test]
async fn a_truncated_revision_is_retried_with_more_room_then_never_replaces_the_text() {
    let model = Arc::new(ScriptedModel::new(|req, _| {
        Ok(if is_critique(req) {
            reply(&verdict(true, 0.9, "more"))
        } else {
            Completion { finish_reason: FinishReason::Length, ..reply("half a sent") }
        })
    }));
    let e = engine(model.clone(), &["a"]).build().unwrap();
    let t = e.improve("original").await;
    assert_eq!(t.stop_reason, Some(StopReason::Plateau));
    assert_eq!(t.iterations.len(), 1);
    assert_eq!(t.final_text.as_deref(), Some("original"));
    let revisions: Vec<_> = t.calls().filter(|c| c.role == CallRole::Revise).collect();
    assert_eq!(revisions.len(), 2);
    assert_eq!(revisions[1].attempt, 2);
    assert_eq!(
        revisions[1].sampling.max_tokens,
        Some(2 * revisions[0].sampling.max_tokens.unwrap())
    );
    assert!(t.stop_detail.unwrap().contains("cut off"));
}

#[tokio::test]
async fn an_empty_revision_never_replaces_the_text() {
    let model =
        Arc::new(ScriptedModel::new(|req, _| Ok(reply(if is_critique(req) { "" } else { "   " }))));
    let e = Engine::builder(model).validator(Contains("zzz", Cost::Cpu)).build().unwrap();
    let t = e.improve("original").await;
    assert_eq!(t.stop_reason, Some(StopReason::Plateau));
    assert_eq!(t.final_text.as_deref(), Some("original"));
}

#[tokio::test]
async fn an_identical_revision_is_a_plateau() {
    let model = Arc::new(ScriptedModel::new(|req, _| {
        Ok(reply(if is_critique(req) { "" } else { " same\n  text " }))
    }));
    let e = Engine::builder(model)
        .validator(Contains("zzz", Cost::Cpu))
        .max_iterations(5)
        .build()
        .unwrap();
    let t = e.improve("same text").await;
    assert_eq!(t.stop_reason, Some(StopReason::Plateau));
    assert_eq!(t.iterations.len(), 1);
}

#[tokio::test]
async fn fewer_hard_validators_passed_twice_running_is_a_plateau() {
    let texts = ["alpha beta", "alpha", "nothing", "alpha beta again"];
    let model = Arc::new(ScriptedModel::new(move |_, n| Ok(reply(texts[n + 1]))));
    let e = Engine::builder(model)
        .validator(Contains("alpha", Cost::Cpu))
        .validator(Contains("beta", Cost::Cpu))
        .validator(Contains("gamma", Cost::Cpu))
        .max_iterations(10)
        .build()
        .unwrap();
    let t = e.improve(texts[0]).await;
    assert_eq!(t.stop_reason, Some(StopReason::Plateau));
    assert_eq!(t.iterations.len(), 3);
    assert_eq!(t.best_iteration, Some(0), "the best, not the last");
    assert_eq!(t.final_text.as_deref(), Some("alpha beta"));
}

#[tokio::test]
async fn model_validators_run_only_when_cheap_ones_pass() {
    let judged = Arc::new(AtomicUsize::new(0));
    struct Judge(Arc<AtomicUsize>);
    #[async_trait]
    impl Validator for Judge {
        fn name(&self) -> &str {
            "judge"
        }
        fn cost(&self) -> Cost {
            Cost::Model
        }
        async fn validate(&self, _: &ValidationContext<'_>) -> Result<Verdict, ValidatorError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Err(ValidatorError("judge unavailable".into()))
        }
    }
    let model = Arc::new(ScriptedModel::new(|_, _| Ok(reply("with keyword"))));
    let e = Engine::builder(model)
        .validator(Judge(judged.clone()))
        .validator(Contains("keyword", Cost::Cpu))
        .max_iterations(2)
        .build()
        .unwrap();
    let t = e.improve("plain").await;
    assert_eq!(judged.load(Ordering::SeqCst), 1, "skipped while the cheap one failed");
    assert_eq!(t.iterations[0].validations.len(), 1);
    let judge = &t.iterations[1].validations[1];
    assert_eq!(judge.validator, "judge");
    assert!(!judge.passed && judge.error.is_some(), "a validator error counts as failed");
}

#[tokio::test]
async fn soft_validators_advise_but_do_not_block() {
    let model = Arc::new(ScriptedModel::new(|_, _| Ok(reply("unused"))));
    let e =
        Engine::builder(model.clone()).soft_validator(Contains("zzz", Cost::Cpu)).build().unwrap();
    let t = e.improve("text").await;
    assert_eq!(t.stop_reason, Some(StopReason::Accepted));
    assert!(!t.iterations[0].validations[0].hard);
    assert!(model.requests().is_empty());
}

#[tokio::test]
async fn skip_critique_on_hard_failure_when_asked() {
    let model = Arc::new(ScriptedModel::new(|req, _| {
        Ok(reply(if is_critique(req) { "" } else { "has kw" }))
    }));
    let model2 = model.clone();
    let e = engine(model, &["a"])
        .validator(Contains("kw", Cost::Cpu))
        .skip_critique_on_hard_failure(true)
        .build()
        .unwrap();
    let t = e.improve("plain").await;
    assert!(t.iterations[0].critiques.is_empty());
    assert!(
        !t.iterations[1].critiques.is_empty() || t.stop_reason == Some(StopReason::MaxIterations)
    );
    assert!(model2.requests().len() >= 2);
}

#[tokio::test]
async fn a_failed_revision_fails_the_run_but_keeps_what_was_produced() {
    let model = Arc::new(ScriptedModel::new(|req, _| {
        if is_critique(req) {
            Ok(reply(&verdict(true, 0.9, "redo")))
        } else {
            Err(ModelError::new(ModelErrorKind::Auth, "scripted", "bad key").with_status(401))
        }
    }));
    let t = engine(model, &["a"]).build().unwrap().improve("keep me").await;
    assert_eq!(t.stop_reason, Some(StopReason::Failed));
    assert!(t.error.as_ref().unwrap().message.contains("bad key"));
    assert_eq!(t.final_text.as_deref(), Some("keep me"));
    assert_eq!(t.iterations[0].critiques.len(), 1);
    assert_eq!(t.resume_from, Some(Phase::Revise));
}

#[tokio::test]
async fn generate_writes_a_draft_first() {
    let model = Arc::new(ScriptedModel::new(|req, _| {
        Ok(reply(if is_critique(req) { "" } else { "A haiku." }))
    }));
    let e = Engine::builder(model.clone()).validator(Contains("haiku", Cost::Cpu)).build().unwrap();
    let t = e.generate("Write a haiku").await;
    assert_eq!(t.mode, Mode::Generate);
    assert_eq!(t.stop_reason, Some(StopReason::Accepted));
    assert_eq!(t.iterations[0].text, "A haiku.");
    assert_eq!(t.iterations[0].calls[0].role, CallRole::Draft);
    assert!(t.iterations[0].generation.is_some());
    assert_eq!(last_user(&model.requests()[0]), "Write a haiku");
}

#[tokio::test]
async fn a_failed_draft_fails_the_run_and_keeps_the_call() {
    let model = Arc::new(ScriptedModel::new(|_, _| {
        Err(ModelError::new(ModelErrorKind::Connection, "scripted", "refused"))
    }));
    let t = Engine::builder(model).build().unwrap().generate("Write").await;
    assert_eq!(t.stop_reason, Some(StopReason::Failed));
    assert_eq!(t.final_text, None);
    assert_eq!(t.usage.calls, 1);
    assert_eq!(t.calls().count(), 1);
}

#[tokio::test]
async fn empty_text_fails_with_a_clear_reason() {
    let model = Arc::new(ScriptedModel::new(|_, _| Ok(reply("x"))));
    let t = Engine::builder(model.clone()).build().unwrap().improve("  \n ").await;
    assert_eq!(t.stop_reason, Some(StopReason::Failed));
    let error = t.error.unwrap();
    assert!(error.message.contains("empty"));
    assert_eq!(error.kind, ErrorKind::Run);
    assert!(model.requests().is_empty());
}

#[tokio::test]
async fn a_token_budget_stops_the_run() {
    let model = Arc::new(ScriptedModel::new(|req, n| {
        Ok(reply(&if is_critique(req) { verdict(true, 0.9, "more") } else { format!("v{n}") }))
    }));
    let e = engine(model, &["a"])
        .max_iterations(10)
        .budget(Budget { max_tokens: Some(40), ..Budget::default() })
        .build()
        .unwrap();
    let t = e.improve("start").await;
    assert_eq!(t.stop_reason, Some(StopReason::Budget));
    assert!(t.usage.total_tokens() >= 40);
    assert!(t.stop_detail.unwrap().contains("token budget"));
}

#[tokio::test(start_paused = true)]
async fn cancel_stops_with_a_partial_thought_that_can_be_resumed() {
    let model = Arc::new(
        ScriptedModel::new(|req, _| {
            Ok(reply(&if is_critique(req) { verdict(false, 0.9, "ok") } else { "x".into() }))
        })
        .with_latency(Duration::from_secs(5)),
    );
    let e = engine(model.clone(), &["a"]).build().unwrap();
    let (handle, cancel) = Cancel::pair();
    let mut events = Vec::new();
    let mut on_event = |ev: &Event| {
        if let Event::Validated { .. } = ev {
            handle.cancel();
        }
        events.push(ev.clone());
    };
    let t = e.run(e.new_thought(Mode::Improve, "text"), &cancel, &mut on_event).await;
    assert_eq!(t.stop_reason, Some(StopReason::Cancelled));
    assert_eq!(t.resume_from, Some(Phase::Critique));
    assert!(matches!(
        events.last(),
        Some(Event::Finished { stop_reason: StopReason::Cancelled, .. })
    ));
    let stored: redraft::Thought =
        serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
    let done = e.resume(stored).await;
    assert_eq!(done.stop_reason, Some(StopReason::Accepted));
    assert_eq!(done.id, t.id);
    assert_eq!(done.iterations[0].critiques.len(), 1);
}

#[tokio::test]
async fn emits_one_event_per_phase() {
    let model = Arc::new(ScriptedModel::new(|req, _| {
        Ok(reply(&if is_critique(req) { verdict(false, 0.9, "ok") } else { "x".into() }))
    }));
    let e = engine(model, &["a"]).build().unwrap();
    let (mut rx, task) = e.spawn_with_events(e.new_thought(Mode::Improve, "text"), Cancel::never());
    let t = task.await.unwrap();
    let mut events = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        events.push(ev);
    }
    let started = events.iter().filter(|e| matches!(e, Event::PhaseStarted { .. })).count();
    assert_eq!(started, 3, "validate, critique, decide: {events:?}");
    assert!(matches!(
        events.last(),
        Some(Event::Finished { stop_reason: StopReason::Accepted, .. })
    ));
    assert_eq!(t.stop_reason, Some(StopReason::Accepted));
}

#[tokio::test]
async fn the_model_trait_is_dyn_safe() {
    let model: Arc<dyn LanguageModel> = Arc::new(ScriptedModel::new(|_, _| Ok(reply("x"))));
    assert_eq!(model.provider(), "scripted");
}

#[tokio::test]
async fn a_streaming_engine_yields_deltas_and_drops_unusable_revisions() {
    let model = Arc::new(ScriptedModel::new(|req, n| {
        Ok(if is_critique(req) {
            reply(&verdict(true, 0.9, "more"))
        } else if n == 0 {
            reply("first draft")
        } else {
            Completion { finish_reason: FinishReason::Length, ..reply("cut off") }
        })
    }));
    let e = engine(model, &["a"]).stream(true).build().unwrap();
    let mut events = Vec::new();
    let t = e
        .run(e.new_thought(Mode::Generate, "write"), &Cancel::never(), &mut |ev: &Event| {
            events.push(ev.clone())
        })
        .await;
    assert_eq!(t.final_text.as_deref(), Some("first draft"));
    assert!(events.contains(&Event::Delta { iteration: 0, text: "first draft".into() }));
    assert!(events.contains(&Event::Delta { iteration: 1, text: "cut off".into() }));
    assert!(events.contains(&Event::Restart { iteration: 1 }), "a cut-off revision is withdrawn");
}
