//! The validator module through its public API, as the config module and the engine
//! use it: a config file's `validators` array (strings and tables mixed), presets,
//! building, and running against a scripted model (which cheap validators never call).

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use redraft::model::CallLog;
use redraft::model::scripted::ScriptedModel;
use redraft::thought::Verdict;
use redraft::validator::{
    Configured, Entry, Presets, ValidationContext, ValidatorSpec, build_items, kinds, parse_spec,
};
use serde::Deserialize;

/// A config section shaped like the one the config module embeds.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    validators: Vec<Entry>,
}

fn section(text: &str) -> Vec<Entry> {
    toml::from_str::<Section>(text).unwrap().validators
}

/// Run every configured validator on `text`, the way the engine records verdicts.
async fn run_all(validators: &[Configured], text: &str) -> Vec<Verdict> {
    let model = ScriptedModel::new(|_, _| panic!("cheap validators never call the model"));
    let log = CallLog::new();
    let cx = ValidationContext { text, input: "prompt", iteration: 0, model: &model, log: &log };
    let mut out = Vec::new();
    for c in validators {
        let mut verdict = c.validator.validate(&cx).await.unwrap();
        verdict.hard = c.hard;
        out.push(verdict);
    }
    assert!(log.is_empty());
    assert!(model.requests().is_empty());
    out
}

#[tokio::test]
async fn a_config_array_builds_and_reports_actionable_deltas() {
    let items = section(
        r#"
        validators = [
            "words:min=20,max=120",
            "soft:forbid:guarantee",
            { kind = "require", terms = ["solar", "wind"] },
            { kind = "regex", pattern = "^#", soft = true },
            { kind = "not", of = { kind = "all", of = ["require:coal", "require:cheap"] } },
        ]
        "#,
    );
    let validators = build_items(&items, &Presets::builtin().unwrap()).unwrap();
    let hard: Vec<bool> = validators.iter().map(|c| c.hard).collect();
    assert_eq!(hard, [true, false, true, false, true]);

    let text = "Solar is cheap and coal is cheap too. We guarantee it, guarantee!";
    let verdicts = run_all(&validators, text).await;
    let messages: Vec<(&str, bool, &str)> =
        verdicts.iter().map(|v| (v.validator.as_str(), v.passed, v.message.as_str())).collect();
    assert_eq!(
        messages,
        [
            ("words(min=20,max=120)", false, "add about 8 words (has 12, needs at least 20)"),
            ("forbid(guarantee)", false, "remove the word 'guarantee' (found 2 times)"),
            ("require(solar, wind)", false, "include the term 'wind'"),
            ("regex(/^#/)", false, "the text must match /^#/ at least 1 time (found 0)"),
            (
                "not(all(require(coal), require(cheap)))",
                false,
                "the text must NOT satisfy: all of (include the term 'coal'; include the term 'cheap')"
            ),
        ]
    );
    for v in &verdicts {
        assert!((0.0..1.0).contains(&v.score), "{v:?}");
    }

    let fixed = "# Clean power\n\nSolar and wind now cost less than new coal plants in most \
                 markets, and the gap keeps widening every year as panels get better.";
    let verdicts = run_all(&validators, fixed).await;
    assert!(verdicts.iter().all(|v| v.passed && v.score == 1.0), "{verdicts:?}");
}

#[tokio::test]
async fn presets_from_the_cli_expand_and_soft_applies_to_all() {
    let presets = Presets::builtin().unwrap();
    let tweet = parse_spec("soft:preset:tweet").unwrap();
    let built = redraft::validator::build(&tweet, &presets).unwrap();
    assert_eq!(built.len(), 2);
    assert!(built.iter().all(|c| !c.hard));
    let verdicts = run_all(&built, &"x".repeat(300)).await;
    assert_eq!(verdicts[0].message, "cut about 20 characters (has 300, needs at most 280)");
    assert!(!verdicts[0].hard);
}

#[test]
fn build_errors_name_the_spec() {
    let items =
        section(r#"validators = ["preset:tweet", { kind = "regex", pattern = "([a-z]+" }]"#);
    let err = build_items(&items, &Presets::builtin().unwrap()).unwrap_err().to_string();
    assert!(err.starts_with("invalid validator `regex:([a-z]+`: invalid regex /([a-z]+/"), "{err}");
    let err = parse_spec("regex[min=1,max=0]:a,b:c").unwrap_err().to_string();
    assert_eq!(
        err,
        "invalid validator `regex[min=1,max=0]:a,b:c`: min (1) is greater than max (0)"
    );
}

#[test]
fn the_catalog_serialises_for_the_cli() {
    let json = serde_json::to_value(kinds()).unwrap();
    let names: Vec<&str> =
        json.as_array().unwrap().iter().map(|k| k["name"].as_str().unwrap()).collect();
    for kind in ValidatorSpec::KINDS {
        assert!(names.contains(kind), "{kind}");
    }
    let presets = Presets::builtin().unwrap();
    let listed = serde_json::to_value(presets.list()).unwrap();
    let tweet = listed.as_array().unwrap().iter().find(|p| p["name"] == "tweet").unwrap();
    assert_eq!(tweet["origin"], "built-in");
    assert_eq!(tweet["validators"][0], serde_json::json!({"kind": "chars", "max": 280}));
}

#[test]
fn specs_survive_the_config_crate() {
    let text = r#"
        validators = [
            "words:max=5",
            { kind = "regex", pattern = "^#", min = 2, soft = true },
            { kind = "any", of = [{ kind = "chars", max = 3 }, "require:x"] },
        ]
    "#;
    let config = config::Config::builder()
        .add_source(config::File::from_str(text, config::FileFormat::Toml))
        .build()
        .unwrap();
    let section: Section = config.try_deserialize().unwrap();
    assert_eq!(section.validators, self::section(text));
    let built = build_items(&section.validators, &Presets::empty()).unwrap();
    assert_eq!(built[1].validator.name(), "regex(/^#/, min=2)");
    assert!(!built[1].hard);

    let bad = config::Config::builder()
        .add_source(config::File::from_str(
            r#"validators = [{ kind = "words", max = 5, extra = 1 }]"#,
            config::FileFormat::Toml,
        ))
        .build()
        .unwrap();
    let err = bad.try_deserialize::<Section>().err().unwrap().to_string();
    assert!(err.contains("unknown field `extra`"), "{err}");
}
