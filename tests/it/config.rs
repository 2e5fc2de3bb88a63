//! Layered configuration end to end: built-in defaults ← preset ← file ← environment ←
//! command line, and the errors a bad layer gives. The environment is injected, so no
//! test touches the process environment.

// Test helpers outside `#[test]` functions may panic too.
#![allow(clippy::unwrap_used)]

use redraft::Error;
use redraft::config::{AcceptWhen, Config, LoadOptions, ProviderKind};
use secrecy::ExposeSecret;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A fresh, empty directory under the system temp dir.
fn temp_dir(name: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir =
        std::env::temp_dir().join(format!("redraft-config-test-{}-{n}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `text` to `name` in a fresh directory and returns the file's path.
fn write_file(name: &str, text: &str) -> PathBuf {
    let path = temp_dir(name).join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Options reading no real environment and no `./redraft.toml`.
fn opts() -> LoadOptions {
    LoadOptions {
        env_vars: Some(Vec::new()),
        workdir: Some(temp_dir("workdir")),
        ..LoadOptions::default()
    }
}

fn env(vars: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
    Some(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
}

fn overrides(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The parts of a config error; panics on any other error.
/// The names of the validators `config` compiled, in order.
fn names(config: &Config) -> Vec<&str> {
    config.validators.compiled.iter().map(|c| c.validator.name()).collect()
}

fn config_error(result: Result<Config, Error>) -> (String, Option<String>, String) {
    match result {
        Err(Error::Config { source_name, key, reason }) => (source_name, key, reason),
        Err(other) => panic!("expected a config error, got {other}"),
        Ok(config) => panic!("expected a config error, got {:?}", config.redacted()),
    }
}

#[test]
fn defaults_load() {
    let config = Config::load_with(&opts()).unwrap();
    assert_eq!(config.provider.kind, ProviderKind::Local, "the embedded default needs no API key");
    assert!(config.provider.api_key.is_none());
    let mut openai = opts();
    openai.overrides.push(("provider.name".into(), "openai".into()));
    let http = Config::load_with(&openai).unwrap();
    assert_eq!(http.provider.base_url, "https://api.openai.com/v1");
    assert_eq!(http.provider.model, "gpt-4o-mini");
    assert_eq!(http.provider.api_key_env, "OPENAI_API_KEY");
    assert_eq!(config.provider.timeout, Duration::from_secs(120));
    assert_eq!(config.provider.connect_timeout, Duration::from_secs(10));
    assert_eq!(config.generation.temperature, 0.7);
    assert_eq!(config.generation.max_tokens, 1024);
    assert_eq!(config.engine.max_iterations, 3);
    assert_eq!(config.engine.accept_when, AcceptWhen::AllSatisfied);
    assert_eq!(config.engine.confidence_floor, 0.5);
    assert_eq!(config.engine.critic_timeout, Duration::from_secs(60));
    assert!(!config.engine.skip_critique_on_hard_failure);
    assert_eq!(config.critics.enabled, vec!["reflexion"]);
    assert!(config.critics.dirs.is_empty());
    assert_eq!(config.critics.sampling.temperature, 0.2);
    assert_eq!(config.critics.sampling.max_tokens, 512);
    assert!(config.validators.enabled.is_empty());
    assert!(config.validators.compiled.is_empty());
    assert_eq!(config.budget.max_tokens, None);
    assert_eq!(config.budget.deadline, None);
    assert_eq!(config.preset, None);
    assert_eq!(config.sources(), ["built-in defaults"]);
}

#[test]
fn file_overrides_defaults() {
    let file = write_file(
        "redraft.toml",
        "[engine]\nmax_iterations = 4\naccept_when = \"majority_satisfied\"\n\
         [budget]\nmax_tokens = 5000\ndeadline_secs = 30\n",
    );
    let config = Config::load_with(&LoadOptions { file: Some(file.clone()), ..opts() }).unwrap();
    assert_eq!(config.engine.max_iterations, 4);
    assert_eq!(config.engine.accept_when, AcceptWhen::MajoritySatisfied);
    assert_eq!(config.engine.confidence_floor, 0.5, "keys the file leaves out keep defaults");
    assert_eq!(config.budget.max_tokens, Some(5000));
    assert_eq!(config.budget.deadline, Some(Duration::from_secs(30)));
    assert_eq!(config.sources(), ["built-in defaults".to_string(), file.display().to_string()]);
}

#[test]
fn redraft_toml_in_the_workdir_is_picked_up() {
    let dir = temp_dir("discover");
    std::fs::write(dir.join("redraft.toml"), "[provider]\nmodel = \"from-workdir\"\n").unwrap();
    let config = Config::load_with(&LoadOptions { workdir: Some(dir.clone()), ..opts() }).unwrap();
    assert_eq!(config.provider.model, "from-workdir");
    assert_eq!(config.sources()[1], dir.join("redraft.toml").display().to_string());
}

#[test]
fn env_overrides_file() {
    let file = write_file("env.toml", "[engine]\nmax_iterations = 4\n[provider]\nmodel = \"a\"\n");
    let config = Config::load_with(&LoadOptions {
        file: Some(file),
        env_vars: env(&[
            ("REDRAFT__ENGINE__MAX_ITERATIONS", "5"),
            ("REDRAFT__PROVIDER__MODEL", "gpt-4o"),
            ("REDRAFT__ENGINE__SKIP_CRITIQUE_ON_HARD_FAILURE", "true"),
        ]),
        ..opts()
    })
    .unwrap();
    assert_eq!(config.engine.max_iterations, 5);
    assert_eq!(config.provider.model, "gpt-4o");
    assert!(config.engine.skip_critique_on_hard_failure);
    assert_eq!(config.sources().last().map(String::as_str), Some("environment"));
}

#[test]
fn overrides_override_env() {
    let config = Config::load_with(&LoadOptions {
        env_vars: env(&[("REDRAFT__ENGINE__MAX_ITERATIONS", "5")]),
        overrides: overrides(&[("engine.max_iterations", "7"), ("engine.confidence_floor", "0.8")]),
        ..opts()
    })
    .unwrap();
    assert_eq!(config.engine.max_iterations, 7);
    assert_eq!(config.engine.confidence_floor, 0.8);
    assert_eq!(config.sources(), ["built-in defaults", "environment", "command line"]);
}

#[test]
fn preset_applies_and_a_file_after_it_still_wins() {
    let file = write_file(
        "preset.toml",
        "preset = \"quality\"\n[critics]\nenabled = [\"reflexion\", \"constitutional\"]\n",
    );
    let config = Config::load_with(&LoadOptions { file: Some(file.clone()), ..opts() }).unwrap();
    assert_eq!(config.preset.as_deref(), Some("quality"));
    assert_eq!(config.engine.max_iterations, 5, "from the preset");
    assert_eq!(
        config.critics.enabled,
        vec!["reflexion", "constitutional"],
        "the file's list replaces the preset's list"
    );
    assert_eq!(
        config.sources(),
        ["built-in defaults".to_string(), "preset quality".to_string(), file.display().to_string()]
    );
}

#[test]
fn fast_preset_from_the_caller() {
    let config = Config::load_with(&LoadOptions { preset: Some("fast".into()), ..opts() }).unwrap();
    assert_eq!(config.engine.max_iterations, 2);
    assert_eq!(config.critics.enabled, vec!["reflexion"]);
    assert!(config.critics.sampling.max_tokens < 512);
}

#[test]
fn quality_preset_has_three_critics() {
    let config =
        Config::load_with(&LoadOptions { preset: Some("quality".into()), ..opts() }).unwrap();
    assert_eq!(config.critics.enabled, vec!["reflexion", "self_refine", "constitutional"]);
    assert_eq!(config.engine.accept_when, AcceptWhen::AllSatisfied);
}

#[test]
fn unknown_key_in_a_file_names_file_key_and_valid_keys() {
    let file = write_file("typo.toml", "[engine]\nmax_iteration = 4\n");
    let (source, key, reason) =
        config_error(Config::load_with(&LoadOptions { file: Some(file.clone()), ..opts() }));
    assert_eq!(source, file.display().to_string());
    assert_eq!(key.as_deref(), Some("engine.max_iteration"));
    for valid in ["max_iterations", "accept_when", "confidence_floor", "critic_timeout_secs"] {
        assert!(reason.contains(valid), "{reason}");
    }
}

#[test]
fn wrong_type_in_a_file_names_file_and_key() {
    let file = write_file("types.toml", "[generation]\nmax_tokens = \"lots\"\n");
    let err = Config::load_with(&LoadOptions { file: Some(file.clone()), ..opts() }).unwrap_err();
    let shown = err.to_string();
    assert!(shown.contains(&file.display().to_string()), "{shown}");
    assert!(shown.contains("generation.max_tokens"), "{shown}");
    let (_, key, _) = config_error(Err(err));
    assert_eq!(key.as_deref(), Some("generation.max_tokens"));
}

#[test]
fn confidence_floor_out_of_range_is_an_error_naming_the_key() {
    let file = write_file("floor.toml", "[engine]\nconfidence_floor = 1.5\n");
    let (source, key, reason) =
        config_error(Config::load_with(&LoadOptions { file: Some(file.clone()), ..opts() }));
    assert_eq!(source, file.display().to_string());
    assert_eq!(key.as_deref(), Some("engine.confidence_floor"));
    assert!(reason.contains("1.5"), "{reason}");
}

#[test]
fn zero_iterations_is_an_error() {
    let (source, key, _) = config_error(Config::load_with(&LoadOptions {
        overrides: overrides(&[("engine.max_iterations", "0")]),
        ..opts()
    }));
    assert_eq!(source, "command line");
    assert_eq!(key.as_deref(), Some("engine.max_iterations"));
}

#[test]
fn unknown_provider_lists_the_known_ones() {
    let file = write_file("provider.toml", "[provider]\nname = \"anthropics\"\n");
    let (_, key, reason) =
        config_error(Config::load_with(&LoadOptions { file: Some(file), ..opts() }));
    assert_eq!(key.as_deref(), Some("provider.name"));
    assert!(reason.contains("anthropics") && reason.contains("openai"), "{reason}");
}

#[test]
fn unknown_accept_when_is_an_error() {
    let (source, key, reason) = config_error(Config::load_with(&LoadOptions {
        env_vars: env(&[("REDRAFT__ENGINE__ACCEPT_WHEN", "most_satisfied")]),
        ..opts()
    }));
    assert_eq!(source, "environment variable REDRAFT__ENGINE__ACCEPT_WHEN");
    assert_eq!(key.as_deref(), Some("engine.accept_when"));
    assert!(reason.contains("most_satisfied") && reason.contains("any_satisfied"), "{reason}");
}

#[test]
fn unknown_preset_is_an_error() {
    let (source, key, reason) =
        config_error(Config::load_with(&LoadOptions { preset: Some("turbo".into()), ..opts() }));
    assert_eq!(source, "command line");
    assert_eq!(key.as_deref(), Some("preset"));
    assert!(reason.contains("fast") && reason.contains("quality"), "{reason}");

    let file = write_file("preset-typo.toml", "preset = \"qualty\"\n");
    let (source, key, _) =
        config_error(Config::load_with(&LoadOptions { file: Some(file.clone()), ..opts() }));
    assert_eq!(source, file.display().to_string());
    assert_eq!(key.as_deref(), Some("preset"));
}

#[test]
fn missing_config_file_is_an_error_naming_it() {
    let path = temp_dir("missing").join("nope.toml");
    let (source, _, _) =
        config_error(Config::load_with(&LoadOptions { file: Some(path.clone()), ..opts() }));
    assert_eq!(source, path.display().to_string());
}

#[test]
fn missing_default_file_is_fine() {
    let config = Config::load_with(&opts()).unwrap();
    assert_eq!(config.sources().len(), 1);
}

#[test]
fn bad_override_names_the_command_line_and_key() {
    let (source, key, reason) = config_error(Config::load_with(&LoadOptions {
        overrides: overrides(&[("engine.max_iteratons", "3")]),
        ..opts()
    }));
    assert_eq!(source, "command line");
    assert_eq!(key.as_deref(), Some("engine.max_iteratons"));
    assert!(reason.contains("max_iterations"), "{reason}");
}

#[test]
fn the_api_key_never_shows_in_redacted_json_or_debug() {
    const KEY: &str = "sk-test-very-secret-0123456789";
    let config = Config::load_with(&LoadOptions {
        env_vars: env(&[("MY_KEY", KEY), ("REDRAFT__PROVIDER__API_KEY_ENV", "MY_KEY")]),
        ..opts()
    })
    .unwrap();
    assert_eq!(config.provider.api_key.as_ref().unwrap().expose_secret(), KEY);
    let json = config.redacted();
    assert_eq!(json["provider"]["api_key"], "[redacted]");
    assert_eq!(json["provider"]["api_key_env"], "MY_KEY");
    assert!(!json.to_string().contains(KEY));
    assert!(!format!("{config:?}").contains(KEY));
    assert!(!format!("{:?}", config.provider).contains(KEY));
}

#[test]
fn redacted_json_mirrors_the_file_shape() {
    let config = Config::load_with(&LoadOptions {
        overrides: overrides(&[("budget.deadline_secs", "90")]),
        ..opts()
    })
    .unwrap();
    let json = config.redacted();
    assert_eq!(json["provider"]["api_key"], serde_json::Value::Null);
    assert_eq!(json["provider"]["timeout_secs"], 120);
    assert_eq!(json["engine"]["accept_when"], "all_satisfied");
    assert_eq!(json["budget"]["deadline_secs"], 90);
    assert_eq!(json["budget"]["max_tokens"], 0);
    assert_eq!(json["sources"], serde_json::json!(["built-in defaults", "command line"]));
}

#[test]
fn lists_from_env() {
    let config = Config::load_with(&LoadOptions {
        env_vars: env(&[
            ("REDRAFT__CRITICS__ENABLED", "reflexion,self_refine"),
            ("REDRAFT__VALIDATORS__ENABLED", "words:min=50,max=120;require:solar,wind"),
        ]),
        ..opts()
    })
    .unwrap();
    assert_eq!(config.critics.enabled, vec!["reflexion", "self_refine"]);
    assert_eq!(
        serde_json::to_value(&config.validators.enabled).unwrap(),
        serde_json::json!(["words:min=50,max=120", "require:solar,wind"])
    );
    assert_eq!(names(&config), ["words(min=50,max=120)", "require(solar, wind)"]);
}

#[test]
fn lists_from_overrides() {
    let config = Config::load_with(&LoadOptions {
        overrides: overrides(&[
            ("critics.enabled", "reflexion,self_refine"),
            ("validators.enabled", r#"["regex:^#", { kind = "words", max = 10 }]"#),
            ("critics.vars.constitutional.principles", r#"["Be accurate", "Be brief"]"#),
        ]),
        ..opts()
    })
    .unwrap();
    assert_eq!(config.critics.enabled, vec!["reflexion", "self_refine"]);
    assert_eq!(
        serde_json::to_value(&config.validators.enabled).unwrap(),
        serde_json::json!(["regex:^#", {"kind": "words", "max": 10}])
    );
    assert_eq!(names(&config), ["regex(/^#/)", "words(max=10)"]);
    assert_eq!(
        config.critics.vars["constitutional"]["principles"],
        serde_json::json!(["Be accurate", "Be brief"])
    );
}

#[test]
fn relative_dirs_resolve_against_the_config_file() {
    // The directories must exist: loading reads them (a missing one is an error).
    let absolute = temp_dir("abs-validators");
    let file = write_file(
        "dirs.toml",
        &format!(
            "[critics]\ndirs = [\"my-critics\"]\n[validators]\ndirs = [\"{}\"]\n",
            absolute.display()
        ),
    );
    let base = file.parent().unwrap();
    std::fs::create_dir_all(base.join("my-critics")).unwrap();
    let config = Config::load_with(&LoadOptions { file: Some(file.clone()), ..opts() }).unwrap();
    assert_eq!(config.critics.dirs, vec![base.join("my-critics")]);
    assert_eq!(config.validators.dirs, vec![absolute]);
}

#[test]
fn a_missing_critics_dir_names_the_file_and_key() {
    let file = write_file("nodir.toml", "[critics]\ndirs = [\"no-such-dir\"]\n");
    let (source, key, reason) =
        config_error(Config::load_with(&LoadOptions { file: Some(file.clone()), ..opts() }));
    assert_eq!(source, file.display().to_string());
    assert_eq!(key.as_deref(), Some("critics.dirs"));
    assert!(reason.contains("no-such-dir"), "{reason}");
}

#[test]
fn critics_and_validators_are_checked_at_load_naming_layer_and_item() {
    let (source, key, reason) = config_error(Config::load_with(&LoadOptions {
        flags: vec![redraft::config::Flag::many(
            "--critic",
            "critics.enabled",
            vec!["reflexion".into(), "nosuch".into()],
        )],
        ..opts()
    }));
    assert_eq!(source, "command line flag --critic");
    assert_eq!(key.as_deref(), Some("critics.enabled[1]"));
    assert!(reason.contains("unknown critic `nosuch`"), "{reason}");

    let (source, key, _) = config_error(Config::load_with(&LoadOptions {
        env_vars: env(&[("REDRAFT__VALIDATORS__ENABLED", "regex:(")]),
        ..opts()
    }));
    assert_eq!(source, "environment variable REDRAFT__VALIDATORS__ENABLED");
    assert_eq!(key.as_deref(), Some("validators.enabled[0]"));
}

#[test]
fn repeated_critics_and_validators_are_kept_once_with_a_warning() {
    let config = Config::load_with(&LoadOptions {
        overrides: overrides(&[
            ("critics.enabled", "reflexion,self_refine,reflexion"),
            ("validators.enabled", r#"["words:max=9", "words:max=9"]"#),
        ]),
        ..opts()
    })
    .unwrap();
    assert_eq!(config.critics.enabled, vec!["reflexion", "self_refine"]);
    assert_eq!(
        serde_json::to_value(&config.validators.enabled).unwrap(),
        serde_json::json!(["words:max=9"])
    );
    assert_eq!(names(&config), ["words(max=9)"]);
    assert_eq!(config.warnings().len(), 2, "{:?}", config.warnings());
    assert!(config.warnings()[0].contains("`reflexion` is listed twice"));
    assert!(Config::load_with(&opts()).unwrap().warnings().is_empty());
}

#[test]
fn file_tables_for_vars_and_validators_survive_the_merge() {
    let file = write_file(
        "tables.toml",
        "[critics.vars.constitutional]\nprinciples = [\"Cite sources\"]\n\
         [validators]\nenabled = [\"preset:tweet\", { kind = \"regex\", pattern = \"^#\" }]\n",
    );
    let config = Config::load_with(&LoadOptions { file: Some(file), ..opts() }).unwrap();
    assert_eq!(
        config.critics.vars["constitutional"]["principles"],
        serde_json::json!(["Cite sources"])
    );
    assert_eq!(
        serde_json::to_value(&config.validators.enabled[1]).unwrap(),
        serde_json::json!({"kind": "regex", "pattern": "^#"})
    );
    assert_eq!(names(&config), ["chars(max=280)", r"regex(/(^|\s)#\w+/, max=2)", "regex(/^#/)"]);
}

#[test]
fn example_configs_load() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/examples");
    for name in ["openai.toml", "local-server.toml", "local-model.toml"] {
        let config = Config::load_with(&LoadOptions { file: Some(root.join(name)), ..opts() })
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(config.preset.is_some(), "{name}");
    }
}

#[test]
fn local_defaults_use_the_user_cache_dir_and_the_default_model() {
    let mut o = opts();
    o.env_vars = env(&[("HOME", "/home/someone")]);
    let config = Config::load_with(&o).unwrap();
    let local = &config.local;
    assert_eq!(local.model_path, None);
    assert_eq!(local.model_dir, Some(PathBuf::from("/home/someone/.cache/redraft/models")));
    assert_eq!(
        local.model_file().unwrap(),
        Path::new("/home/someone/.cache/redraft/models/SmolLM2-135M-Instruct.Q4_1.gguf")
    );
    assert_eq!(local.threads, redraft::model::local::default_threads());
    assert_eq!(local.context_size, 2048);
    assert_eq!(local.max_tokens, 384);
    let json = config.redacted();
    assert_eq!(json["local"]["model_path"], serde_json::Value::Null);
    assert_eq!(json["local"]["threads"], local.threads);
}

#[test]
fn local_keys_come_from_the_environment() {
    let mut o = opts();
    o.env_vars = env(&[
        ("HOME", "/home/someone"),
        ("REDRAFT__LOCAL__MODEL_DIR", "/srv/models"),
        ("REDRAFT__LOCAL__THREADS", "1"),
    ]);
    let config = Config::load_with(&o).unwrap();
    assert_eq!(config.local.model_dir, Some(PathBuf::from("/srv/models")));
    assert_eq!(config.local.threads, 1);
    assert_eq!(
        config.local.model_file().unwrap(),
        Path::new("/srv/models/SmolLM2-135M-Instruct.Q4_1.gguf")
    );
}

#[test]
fn a_relative_model_path_in_a_file_is_relative_to_the_file() {
    let file = write_file("local.toml", "[local]\nmodel_path = \"models/tiny.gguf\"\n");
    let mut o = opts();
    o.file = Some(file.clone());
    let config = Config::load_with(&o).unwrap();
    assert_eq!(config.local.model_file().unwrap(), file.parent().unwrap().join("models/tiny.gguf"));
}

#[test]
fn without_a_home_the_model_file_error_names_the_key() {
    let config = Config::load_with(&opts()).unwrap();
    assert_eq!(config.local.model_dir, None);
    let (_, key, reason) = config_error(config.local.model_file().map(|_| config.clone()));
    assert_eq!(key.as_deref(), Some("local.model_dir"));
    assert!(reason.contains("HOME"), "{reason}");
}

#[test]
fn a_bad_local_value_names_the_file_and_key() {
    let file = write_file("bad-local.toml", "[local]\ncontext_size = 8\n");
    let mut o = opts();
    o.file = Some(file);
    let (source, key, reason) = config_error(Config::load_with(&o));
    assert!(source.ends_with("bad-local.toml"), "{source}");
    assert_eq!(key.as_deref(), Some("local.context_size"));
    assert!(reason.contains("256"), "{reason}");
}

#[test]
fn critics_and_validators_compile_once_per_load_and_never_again_for_the_engine() {
    use redraft::critic::templates_compiled;
    use redraft::validator::regexes_compiled;
    let presets = temp_dir("once-presets");
    std::fs::write(
        presets.join("mine.toml"),
        "name = \"mine\"\ndescription = \"d\"\nvalidators = [\"regex:^mine\", \"words:max=50\"]\n",
    )
    .unwrap();
    let critics = temp_dir("once-critics");
    std::fs::write(
        critics.join("terse.toml"),
        "name = \"terse\"\ndescription = \"d\"\n[vars]\ntone = \"dry\"\n[prompt]\n\
         system = \"Be {{ tone }}.\"\nuser = \"<text>{{ text }}</text>\"\n",
    )
    .unwrap();
    let (regexes, templates) = (regexes_compiled(), templates_compiled());
    let config = Config::load_with(&LoadOptions {
        overrides: overrides(&[
            ("critics.enabled", "reflexion,constitutional,terse"),
            ("critics.dirs", &critics.display().to_string()),
            ("critics.vars.constitutional.principles", r#"["Be brief"]"#),
            ("critics.vars.terse.tone", r#""wry""#),
            ("validators.dirs", &presets.display().to_string()),
            (
                "validators.enabled",
                r#"["regex:^#", { kind = "not", of = "regex:^Dear" }, "soft:forbid:x,y",
                   "preset:mine", { kind = "any", of = ["preset:mine", "require:z"] }]"#,
            ),
        ]),
        ..opts()
    })
    .unwrap();
    // Three regexes, two terms of `forbid`, one of `require`, and the preset's regex
    // once although it is used twice: each compiled exactly once.
    assert_eq!(regexes_compiled() - regexes, 6);
    // Each critic's templates once, even with its vars overridden, and the file
    // critic's once although reading its file checks them.
    assert_eq!(templates_compiled() - templates, 3);
    assert_eq!(
        names(&config),
        [
            "regex(/^#/)",
            "not(regex(/^Dear/))",
            "forbid(x, y)",
            "regex(/^mine/)",
            "words(max=50)",
            "any(all(regex(/^mine/), words(max=50)), require(z))"
        ]
    );
    let resolved: Vec<&str> = config.critics.definitions.iter().map(|d| d.name()).collect();
    assert_eq!(resolved, ["reflexion", "constitutional", "terse"]);

    let (regexes, templates) = (regexes_compiled(), templates_compiled());
    let model = std::sync::Arc::new(redraft::model::scripted::ScriptedModel::new(|_, _| {
        panic!("building an engine sends nothing")
    }));
    let engine = redraft::EngineBuilder::from_config_with(&config, model, &|_| {
        panic!("no critic here has a model of its own")
    })
    .unwrap()
    .build()
    .unwrap();
    assert_eq!(engine.critic_names(), ["reflexion", "constitutional", "terse"]);
    assert_eq!((regexes_compiled(), templates_compiled()), (regexes, templates));
}
