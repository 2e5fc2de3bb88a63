//! The critic registry: the built-in critics (compiled in from `critics/*.toml`) plus
//! the user's critic files, looked up by name when config picks critics.

use super::Critic;
use super::definition::Definition;
use super::prompt::Prompt;
use super::spec::{CriticSpec, Strategy};
use crate::Error;
use crate::model::Sampling;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// The origin recorded for built-in critics.
pub(super) const BUILTIN_ORIGIN: &str = "built-in";

/// The built-in critic files, compiled in.
const BUILTINS: [(&str, &str); 3] = [
    ("reflexion", include_str!("../../critics/reflexion.toml")),
    ("self_refine", include_str!("../../critics/self_refine.toml")),
    ("constitutional", include_str!("../../critics/constitutional.toml")),
];

/// One critic as listed by `redraft critics [--json]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CriticInfo {
    /// Its name.
    pub name: String,
    /// What it looks for.
    pub description: String,
    /// The paper it follows, if any.
    pub paper: Option<String>,
    /// How it runs.
    pub strategy: Strategy,
    /// Whether it remembers its earlier feedback.
    pub memory: bool,
    /// `built-in` or the file it came from.
    pub origin: String,
}

/// Every critic that can be named in config, by name.
#[derive(Debug, Clone)]
pub struct Registry {
    specs: BTreeMap<String, CriticSpec>,
    /// The templates of the critics read from files, compiled when the file was read
    /// (to check it), kept so that resolving the critic does not compile them again.
    /// Built-ins are compiled when they are first resolved.
    compiled: BTreeMap<String, Prompt>,
}

impl Registry {
    /// The built-in critics: `reflexion`, `self_refine`, `constitutional`.
    pub fn builtin() -> Registry {
        // Parsed once per process: configuration checks and the engine both ask.
        static BUILTIN: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                let specs = BUILTINS
                    .iter()
                    .map(|(name, text)| ((*name).to_owned(), parse_builtin(name, text)))
                    .collect();
                Registry { specs, compiled: BTreeMap::new() }
            })
            .clone()
    }

    /// The built-ins plus every `*.toml` file in `dirs` (sorted by file name, dirs in
    /// order). A file defining a built-in's name replaces the built-in; two files
    /// defining the same name are an error naming both. A missing dir, an unreadable
    /// file or an invalid critic is an error naming the file.
    pub fn with_dirs(dirs: &[PathBuf]) -> Result<Registry, Error> {
        let mut registry = Registry::builtin();
        let mut from_files: BTreeMap<String, String> = BTreeMap::new();
        for dir in dirs {
            for path in crate::files::toml_files(dir)? {
                let text = std::fs::read_to_string(&path)
                    .map_err(|source| Error::Io { path: path.clone(), source })?;
                let origin = path.display().to_string();
                let (spec, prompt) = CriticSpec::load(&text, &origin)?;
                if let Some(first) = from_files.insert(spec.name.clone(), origin.clone()) {
                    return Err(spec.invalid(format!("also defined in {first}")));
                }
                registry.compiled.insert(spec.name.clone(), prompt);
                registry.specs.insert(spec.name.clone(), spec);
            }
        }
        Ok(registry)
    }

    /// Add (or replace) a critic defined in code or read from elsewhere.
    pub fn insert(&mut self, spec: CriticSpec) {
        self.compiled.remove(&spec.name);
        self.specs.insert(spec.name.clone(), spec);
    }

    /// Every critic name, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.specs.keys().map(String::as_str).collect()
    }

    /// The critic called `name`.
    pub fn get(&self, name: &str) -> Option<&CriticSpec> {
        self.specs.get(name)
    }

    /// Every critic, sorted by name, for listing.
    pub fn list(&self) -> Vec<CriticInfo> {
        self.specs
            .values()
            .map(|s| CriticInfo {
                name: s.name.clone(),
                description: s.description.clone(),
                paper: s.paper.clone(),
                strategy: s.strategy,
                memory: s.memory,
                origin: s.origin.clone(),
            })
            .collect()
    }

    /// The critic called `name`, resolved with its file's `[vars]`: its templates
    /// compiled (unless they were when its file was read). An unknown name is an
    /// [`Error::UnknownCritic`] listing the known ones.
    pub fn definition(&self, name: &str) -> Result<Definition, Error> {
        let spec = self.get(name).ok_or_else(|| Error::UnknownCritic {
            name: name.to_owned(),
            known: self.specs.keys().cloned().collect(),
        })?;
        match self.compiled.get(name) {
            Some(prompt) => Ok(Definition::compiled(spec.clone(), prompt.clone())),
            None => Definition::compile(spec),
        }
    }

    /// Build the critic called `name`. `vars_override` replaces entries of its `[vars]`;
    /// `defaults` is the sampling of its calls unless its file's `[model]` says otherwise.
    pub fn build(
        &self,
        name: &str,
        vars_override: Option<&serde_json::Map<String, serde_json::Value>>,
        defaults: Sampling,
    ) -> Result<Arc<dyn Critic>, Error> {
        Ok(Arc::new(self.definition(name)?.with_vars(vars_override)?.critic(defaults)))
    }
}

impl Default for Registry {
    /// The built-ins.
    fn default() -> Self {
        Registry::builtin()
    }
}

/// Parse a compiled-in critic file.
fn parse_builtin(name: &str, text: &str) -> CriticSpec {
    // Compiled-in data, not input: every built-in is parsed and checked (its templates
    // compiled and rendered) by the test `registry::tests::every_builtin_loads`, so this
    // cannot fail in a released binary, and the check need not run at every start.
    CriticSpec::parse(text, BUILTIN_ORIGIN)
        .unwrap_or_else(|e| panic!("built-in critic `{name}` is invalid: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_loads() {
        for (name, text) in BUILTINS {
            let spec = CriticSpec::from_toml(text, BUILTIN_ORIGIN).unwrap();
            assert_eq!(spec.name, name, "file name and `name` agree");
            assert!(spec.paper.is_some(), "{name} cites its paper");
        }
        let registry = Registry::builtin();
        assert_eq!(registry.names(), vec!["constitutional", "reflexion", "self_refine"]);
        assert!(registry.get("reflexion").unwrap().memory);
    }

    #[test]
    fn unknown_name_lists_the_known_ones() {
        let Err(err) = Registry::builtin().build("nope", None, Sampling::default()) else {
            panic!("an unknown critic was built");
        };
        match err {
            Error::UnknownCritic { name, known } => {
                assert_eq!(name, "nope");
                assert!(known.contains(&"reflexion".to_owned()));
            }
            other => panic!("expected UnknownCritic, got {other:?}"),
        }
    }
}
