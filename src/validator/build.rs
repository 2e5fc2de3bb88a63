//! Building validators from specs, in two steps: [`compile`] a spec — every leaf
//! validator built, its patterns compiled — and link what was compiled against the
//! presets (expanding `preset:NAME`, composing `all`/`any`/`not`) into [`Configured`]
//! validators. [`build`] does both; [`check`] compiles and keeps nothing.
//!
//! Each spec is compiled once: the configuration compiles `validators.enabled` when
//! it is loaded and keeps the result; a preset's items are compiled once, when its
//! file is loaded (user presets) or when it is first used (built-in ones), and every
//! use of the preset shares them. Linking only puts compiled validators together.
//!
//! Inside `all`/`any`/`not` an item cannot be soft, and a preset stands for all of its
//! validators together (their own hard/soft flags are ignored there). At top level a
//! preset expands to its validators, each keeping its own flag, all soft when the
//! entry is soft. Presets that include each other are an error.

use super::Validator;
use super::compose::{All, Any, Not};
use super::forbid::Forbid;
use super::length::{Length, Unit};
use super::pattern::RegexCount;
use super::preset::Presets;
use super::require::Require;
use super::spec::{Entry, ValidatorSpec};
use super::terms::TermOptions;
use crate::Error;
use std::fmt;
use std::sync::Arc;

/// A ready validator and whether it is hard. The engine copies `hard` into each
/// verdict. Cheap to clone: the validator is shared.
#[derive(Clone)]
pub struct Configured {
    /// The validator.
    pub validator: Arc<dyn Validator>,
    /// Hard (must pass to accept) or soft (advice only).
    pub hard: bool,
}

impl fmt::Debug for Configured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Configured")
            .field("validator", &self.validator.name())
            .field("hard", &self.hard)
            .finish()
    }
}

/// Build the validators an entry describes: one, or several for a preset (each keeps
/// its own hard/soft flag, and all are soft when the entry is soft).
pub fn build(entry: &Entry, presets: &Presets) -> Result<Vec<Configured>, Error> {
    link(&compile(&entry.spec)?, entry.hard, presets)
}

/// Build every entry of a `validators` array, in order.
pub fn build_items(items: &[Entry], presets: &Presets) -> Result<Vec<Configured>, Error> {
    let mut out = Vec::new();
    for item in items {
        out.extend(build(item, presets)?);
    }
    Ok(out)
}

/// Check a spec by compiling it, keeping nothing: every argument, term and regex is
/// valid. Preset names are not looked up.
pub fn check(spec: &ValidatorSpec) -> Result<(), Error> {
    compile(spec).map(drop)
}

/// A spec compiled: its leaf validators built (their patterns compiled), preset
/// references kept by name until [`link`]ed. Cheap to clone: leaves are shared.
#[derive(Clone)]
pub(crate) enum Compiled {
    Leaf(Built),
    All(Vec<Compiled>),
    Any(Vec<Compiled>),
    Not(Box<Compiled>),
    Preset {
        name: String,
        /// The spec in CLI syntax, for errors.
        spec: String,
    },
}

/// Compiled entries, each with its hard flag: a preset's items.
pub(crate) type CompiledItems = Arc<[(Compiled, bool)]>;

/// A validator and the sentence saying what it asks for (used by `not`).
#[derive(Clone)]
pub(crate) struct Built {
    validator: Arc<dyn Validator>,
    requirement: String,
}

/// Compile `spec`: check it and build its leaves; presets are not looked up.
pub(crate) fn compile(spec: &ValidatorSpec) -> Result<Compiled, Error> {
    let children = |of: &[Entry]| -> Result<Vec<Compiled>, Error> {
        non_empty(spec, of)?;
        of.iter().map(|item| compile(nested(spec, item)?)).collect()
    };
    match spec {
        ValidatorSpec::Preset { name } if name.trim().is_empty() => Err(Error::InvalidValidator {
            spec: spec.to_string(),
            reason: "empty preset name".to_owned(),
        }),
        ValidatorSpec::Preset { name } => {
            Ok(Compiled::Preset { name: name.clone(), spec: spec.to_string() })
        }
        ValidatorSpec::All { of } => children(of).map(Compiled::All),
        ValidatorSpec::Any { of } => children(of).map(Compiled::Any),
        ValidatorSpec::Not { of } => Ok(Compiled::Not(Box::new(compile(nested(spec, of)?)?))),
        leaf => leaf_validator(leaf).map(Compiled::Leaf),
    }
}

/// Link a compiled top-level entry (hard or not) against `presets`.
pub(crate) fn link(
    compiled: &Compiled,
    hard: bool,
    presets: &Presets,
) -> Result<Vec<Configured>, Error> {
    Linker { presets, stack: Vec::new() }.entry(compiled, hard)
}

struct Linker<'a> {
    presets: &'a Presets,
    /// Presets being expanded, outermost first (to report cycles).
    stack: Vec<String>,
}

impl Linker<'_> {
    fn entry(&mut self, compiled: &Compiled, hard: bool) -> Result<Vec<Configured>, Error> {
        let Compiled::Preset { name, spec } = compiled else {
            let built = self.link(compiled)?;
            return Ok(vec![Configured { validator: built.validator, hard }]);
        };
        let items = self.enter(spec, name)?;
        let mut out = Vec::new();
        for (item, item_hard) in items.iter() {
            out.extend(self.entry(item, hard && *item_hard)?);
        }
        self.stack.pop();
        Ok(out)
    }

    /// Start expanding preset `name`, returning its compiled items.
    fn enter(&mut self, spec: &str, name: &str) -> Result<CompiledItems, Error> {
        let invalid = |reason: String| Error::InvalidValidator { spec: spec.to_owned(), reason };
        let preset = self.presets.get(name).ok_or_else(|| {
            invalid(format!(
                "unknown preset `{name}`; known presets: {}",
                self.presets.names().join(", ")
            ))
        })?;
        if self.stack.iter().any(|n| n == name) {
            let cycle = [self.stack.as_slice(), &[name.to_owned()]].concat().join(" -> ");
            return Err(invalid(format!("presets include each other: {cycle}")));
        }
        let items = preset.compiled().map_err(|e| in_preset(name, e))?;
        self.stack.push(name.to_owned());
        Ok(items)
    }

    fn link(&mut self, compiled: &Compiled) -> Result<Built, Error> {
        match compiled {
            Compiled::Leaf(built) => Ok(built.clone()),
            Compiled::All(of) => Ok(all_of(self.children(of)?)),
            Compiled::Any(of) => {
                let built = self.children(of)?;
                let requirement = format!(
                    "at least one of ({})",
                    built.iter().map(|b| b.requirement.as_str()).collect::<Vec<_>>().join("; ")
                );
                let validator =
                    Arc::new(Any::new(built.into_iter().map(|b| b.validator).collect()));
                Ok(Built { validator, requirement })
            }
            Compiled::Not(of) => {
                let inner = self.link(of)?;
                let requirement = format!("not {}", inner.requirement);
                let validator = Arc::new(Not::new(inner.validator, inner.requirement));
                Ok(Built { validator, requirement })
            }
            Compiled::Preset { name, spec } => {
                let items = self.enter(spec, name)?;
                let built: Result<Vec<Built>, Error> =
                    items.iter().map(|(item, _)| self.link(item)).collect();
                self.stack.pop();
                Ok(all_of(built?))
            }
        }
    }

    fn children(&mut self, of: &[Compiled]) -> Result<Vec<Built>, Error> {
        of.iter().map(|c| self.link(c)).collect()
    }
}

/// `all` over built children; a single child stands alone.
fn all_of(mut built: Vec<Built>) -> Built {
    if built.len() == 1
        && let Some(only) = built.pop()
    {
        return only;
    }
    let requirement = format!(
        "all of ({})",
        built.iter().map(|b| b.requirement.as_str()).collect::<Vec<_>>().join("; ")
    );
    Built {
        validator: Arc::new(All::new(built.into_iter().map(|b| b.validator).collect())),
        requirement,
    }
}

/// The spec of an item nested in a composition (which cannot be soft).
fn nested<'a>(parent: &ValidatorSpec, item: &'a Entry) -> Result<&'a ValidatorSpec, Error> {
    if !item.hard {
        return Err(Error::InvalidValidator {
            spec: parent.to_string(),
            reason: format!("`{item}` is soft; only a top-level validator can be soft"),
        });
    }
    Ok(&item.spec)
}

fn non_empty(spec: &ValidatorSpec, of: &[Entry]) -> Result<(), Error> {
    if of.is_empty() {
        return Err(Error::InvalidValidator {
            spec: spec.to_string(),
            reason: "`of` needs at least one validator".to_owned(),
        });
    }
    Ok(())
}

fn in_preset(name: &str, e: Error) -> Error {
    match e {
        Error::InvalidValidator { spec, reason } => {
            Error::InvalidValidator { spec, reason: format!("{reason} (in preset `{name}`)") }
        }
        other => other,
    }
}

/// Build a non-composite, non-preset spec; errors name the spec in CLI syntax.
fn leaf_validator(spec: &ValidatorSpec) -> Result<Built, Error> {
    leaf(spec).map_err(|e| respec(e, &spec.to_string()))
}

/// `e` with its `spec` replaced by `spec` (the spec as the user wrote it).
pub(crate) fn respec(e: Error, spec: &str) -> Error {
    match e {
        Error::InvalidValidator { reason, .. } => {
            Error::InvalidValidator { spec: spec.to_owned(), reason }
        }
        other => other,
    }
}

fn leaf(spec: &ValidatorSpec) -> Result<Built, Error> {
    fn shared<V: Validator + 'static>(v: V, requirement: String) -> Built {
        Built { validator: Arc::new(v), requirement }
    }
    let built = match spec {
        ValidatorSpec::Chars { min, max } => length(Unit::Chars, *min, *max)?,
        ValidatorSpec::Words { min, max } => length(Unit::Words, *min, *max)?,
        ValidatorSpec::Sentences { min, max } => length(Unit::Sentences, *min, *max)?,
        ValidatorSpec::Require { terms, case_sensitive, whole_word, mode } => {
            let options = TermOptions { case_sensitive: *case_sensitive, whole_word: *whole_word };
            let v = Require::new(terms, options, *mode)?;
            let r = v.requirement();
            shared(v, r)
        }
        ValidatorSpec::Forbid { terms, case_sensitive, whole_word } => {
            let options = TermOptions { case_sensitive: *case_sensitive, whole_word: *whole_word };
            let v = Forbid::new(terms, options)?;
            let r = v.requirement();
            shared(v, r)
        }
        ValidatorSpec::Regex { pattern, min, max } => {
            let v = RegexCount::new(pattern, *min, *max)?;
            let r = v.requirement();
            shared(v, r)
        }
        composite => {
            return Err(Error::InvalidValidator {
                spec: composite.to_string(),
                reason: "not a simple validator".to_owned(),
            });
        }
    };
    Ok(built)
}

fn length(unit: Unit, min: Option<usize>, max: Option<usize>) -> Result<Built, Error> {
    let v = Length::new(unit, min, max)?;
    let requirement = v.requirement();
    Ok(Built { validator: Arc::new(v), requirement })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validator::preset::Preset;
    use crate::validator::testing::run;

    fn presets(defs: &[(&str, &str)]) -> Presets {
        let mut p = Presets::empty();
        for (name, body) in defs {
            let text = format!("name = \"{name}\"\ndescription = \"d\"\n{body}");
            p.insert(Preset::from_toml(&text, name).unwrap());
        }
        p
    }

    #[test]
    fn build_checks_tables_too() {
        let p = Presets::empty();
        let bad =
            Entry::hard(ValidatorSpec::Regex { pattern: "a{2,1}".into(), min: None, max: None });
        let err = build(&bad, &p).unwrap_err().to_string();
        assert!(
            err.starts_with("invalid validator `regex:a{2,1}`: invalid regex /a{2,1}/"),
            "{err}"
        );
        let empty = Entry::hard(ValidatorSpec::All { of: vec![] });
        assert!(build(&empty, &p).unwrap_err().to_string().contains("at least one validator"));
        let crossed = Entry::hard(ValidatorSpec::Chars { min: Some(3), max: Some(1) });
        let err = build(&crossed, &p).unwrap_err().to_string();
        assert!(err.contains("`chars:min=3,max=1`: min (3) is greater than max (1)"), "{err}");
        let nested_soft = Entry::hard(ValidatorSpec::Not {
            of: Box::new(crate::validator::parse_spec("soft:words:max=1").unwrap()),
        });
        assert!(
            build(&nested_soft, &p)
                .unwrap_err()
                .to_string()
                .contains("only a top-level validator can be soft")
        );
    }

    #[test]
    fn not_all_versus_all_not_from_specs() {
        let p = Presets::empty();
        let text = |s: &str| crate::validator::parse_spec(s).unwrap();
        let not_all = ValidatorSpec::Not {
            of: Box::new(
                ValidatorSpec::All { of: vec![text("words:min=3"), text("require:solar")] }.into(),
            ),
        };
        let all_not =
            ValidatorSpec::All { of: vec![text("not:words:min=3"), text("not:require:solar")] };
        let not_all = build(&Entry::hard(not_all), &p).unwrap().remove(0);
        let all_not = build(&Entry::hard(all_not), &p).unwrap().remove(0);
        assert_eq!(not_all.validator.name(), "not(all(words(min=3), require(solar)))");
        // Three words, no 'solar': a holds, b fails.
        let sample = "wind is cheap";
        assert!(run(not_all.validator.as_ref(), sample).passed);
        let v = run(all_not.validator.as_ref(), sample);
        assert!(!v.passed);
        assert_eq!(v.message, "the text must NOT satisfy: have at least 3 words");
        let v = run(not_all.validator.as_ref(), "solar is cheap");
        assert_eq!(
            v.message,
            "the text must NOT satisfy: all of (have at least 3 words; include the term 'solar')"
        );
    }

    #[test]
    fn presets_expand_with_their_own_hardness() {
        let p = presets(&[
            ("short", "validators = [\"words:max=3\", \"soft:require:hi\"]"),
            ("outer", "validators = [\"preset:short\", \"chars:min=1\"]"),
        ]);
        let built = build(&parse_entry("preset:outer"), &p).unwrap();
        let summary: Vec<(&str, bool)> =
            built.iter().map(|c| (c.validator.name(), c.hard)).collect();
        assert_eq!(
            summary,
            [("words(max=3)", true), ("require(hi)", false), ("chars(min=1)", true)]
        );
        let soft = build(&parse_entry("soft:preset:outer"), &p).unwrap();
        assert!(soft.iter().all(|c| !c.hard));
        // Inside a composition a preset is all of its validators.
        let any = build(&parse_entry("not:preset:short"), &p).unwrap();
        assert_eq!(any.len(), 1);
        assert_eq!(any[0].validator.name(), "not(all(words(max=3), require(hi)))");
        assert!(!run(any[0].validator.as_ref(), "hi there").passed);
        assert!(run(any[0].validator.as_ref(), "hello there").passed);
    }

    #[test]
    fn unknown_and_cyclic_presets_are_errors() {
        let p = presets(&[
            ("a", "validators = [\"preset:b\"]"),
            ("b", "validators = [\"words:max=3\", \"preset:a\"]"),
        ]);
        let err = build(&parse_entry("preset:nope"), &p).unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid validator `preset:nope`: unknown preset `nope`; known presets: a, b"
        );
        let err = build(&parse_entry("preset:a"), &p).unwrap_err().to_string();
        assert!(err.contains("presets include each other: a -> b -> a"), "{err}");
        let err = build(&parse_entry("not:preset:a"), &p).unwrap_err().to_string();
        assert!(err.contains("a -> b -> a"), "{err}");
    }

    fn parse_entry(s: &str) -> Entry {
        crate::validator::parse_spec(s).unwrap()
    }
}
