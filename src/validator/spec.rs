//! Validators as data: [`ValidatorSpec`] (one validator, possibly composite) and
//! [`Entry`] (a spec plus hard/soft: what a config file holds, read from a spec string
//! or a table). [`build`](super::build) turns them into running validators.
//!
//! In TOML a spec is a table tagged by `kind`:
//!
//! ```toml
//! validators = [
//!   "words:min=50,max=120",                                   # CLI syntax, see parse_spec
//!   { kind = "require", terms = ["solar", "wind"] },
//!   { kind = "regex", pattern = "^#", min = 2, soft = true },  # soft: advice only
//!   { kind = "not", of = { kind = "forbid", terms = ["x"] } },
//!   { kind = "any", of = [{ kind = "chars", max = 280 }, "preset:tweet"] },
//! ]
//! ```
//!
//! `soft = true` is allowed on a top-level table only (inside a composition it would mean
//! nothing). Inside `all`/`any`/`not`, items are tables or spec strings without `soft:`.

use super::require::TermMode;
use crate::Error;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_all(m: &TermMode) -> bool {
    *m == TermMode::All
}

/// One validator, described as data. Deserialises from a table tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ValidatorSpec {
    /// Length in characters (grapheme clusters).
    Chars {
        /// At least this many.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<usize>,
        /// At most this many.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<usize>,
    },
    /// Length in words.
    Words {
        /// At least this many.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<usize>,
        /// At most this many.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<usize>,
    },
    /// Length in sentences.
    Sentences {
        /// At least this many.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<usize>,
        /// At most this many.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<usize>,
    },
    /// Terms that must appear.
    Require {
        /// The terms (literal text).
        terms: Vec<String>,
        /// Match letter case exactly (default `false`).
        #[serde(default, skip_serializing_if = "is_false")]
        case_sensitive: bool,
        /// Match whole words only (default `true`).
        #[serde(default = "yes", skip_serializing_if = "is_true")]
        whole_word: bool,
        /// `all` terms (default) or `any` one of them.
        #[serde(default, skip_serializing_if = "is_all")]
        mode: TermMode,
    },
    /// Terms that must not appear.
    Forbid {
        /// The terms (literal text).
        terms: Vec<String>,
        /// Match letter case exactly (default `false`).
        #[serde(default, skip_serializing_if = "is_false")]
        case_sensitive: bool,
        /// Match whole words only (default `true`).
        #[serde(default = "yes", skip_serializing_if = "is_true")]
        whole_word: bool,
    },
    /// A regex with match counts (multi-line mode; see [`RegexCount`](super::RegexCount)).
    Regex {
        /// The pattern.
        pattern: String,
        /// At least this many matches (default 1 when `max` is absent too, else 0).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<usize>,
        /// At most this many matches (`0` forbids the pattern).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<usize>,
    },
    /// Passes when every child passes.
    All {
        /// The children.
        of: Vec<Entry>,
    },
    /// Passes when at least one child passes.
    Any {
        /// The children.
        of: Vec<Entry>,
    },
    /// Passes when its child fails.
    Not {
        /// The child.
        of: Box<Entry>,
    },
    /// A named preset: expands to the preset's validators.
    Preset {
        /// The preset's name.
        name: String,
    },
}

impl ValidatorSpec {
    /// Every kind a spec can have, as written in `kind = "…"` and on the command line.
    pub const KINDS: &'static [&'static str] = &[
        "chars",
        "words",
        "sentences",
        "require",
        "forbid",
        "regex",
        "all",
        "any",
        "not",
        "preset",
    ];
}

/// The CLI syntax where one exists (`words:min=50`, `require[case]:Solar`,
/// `regex[min=2]:^#`, `not:…`, `preset:NAME`); `all(…; …)` and `any(…; …)` have no CLI
/// form and are shown that way for reading only.
impl fmt::Display for ValidatorSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn bounds(min: &Option<usize>, max: &Option<usize>) -> String {
            let parts = [min.map(|m| format!("min={m}")), max.map(|m| format!("max={m}"))];
            parts.into_iter().flatten().collect::<Vec<_>>().join(",")
        }
        fn flags(case_sensitive: bool, whole_word: bool, any: bool) -> String {
            let mut out = Vec::new();
            if case_sensitive {
                out.push("case");
            }
            if !whole_word {
                out.push("substring");
            }
            if any {
                out.push("any");
            }
            if out.is_empty() { String::new() } else { format!("[{}]", out.join(",")) }
        }
        fn list(items: &[Entry]) -> String {
            items.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
        }
        match self {
            Self::Chars { min, max } => write!(f, "chars:{}", bounds(min, max)),
            Self::Words { min, max } => write!(f, "words:{}", bounds(min, max)),
            Self::Sentences { min, max } => write!(f, "sentences:{}", bounds(min, max)),
            Self::Require { terms, case_sensitive, whole_word, mode } => {
                let flags = flags(*case_sensitive, *whole_word, *mode == TermMode::Any);
                write!(f, "require{flags}:{}", terms.join(","))
            }
            Self::Forbid { terms, case_sensitive, whole_word } => {
                write!(
                    f,
                    "forbid{}:{}",
                    flags(*case_sensitive, *whole_word, false),
                    terms.join(",")
                )
            }
            Self::Regex { pattern, min: None, max: None } => write!(f, "regex:{pattern}"),
            Self::Regex { pattern, min, max } => write!(f, "regex[{}]:{pattern}", bounds(min, max)),
            Self::All { of } => write!(f, "all({})", list(of)),
            Self::Any { of } => write!(f, "any({})", list(of)),
            Self::Not { of } => write!(f, "not:{of}"),
            Self::Preset { name } => write!(f, "preset:{name}"),
        }
    }
}

/// One configured validator: what to check and whether it is hard (must pass to
/// accept, the default) or soft (advice for the reviser only).
///
/// This is the one type a validator spec becomes, however it was written: a spec
/// string in the CLI syntax (`"soft:words:max=300"`, see
/// [`parse_spec`](super::parse_spec)) or a table (`{ kind = "words", max = 300,
/// soft = true }`). It deserialises from either; a string is parsed as it is read.
/// It is data only: [`build`](super::build) compiles it (regexes included), once.
#[derive(Debug, Clone)]
pub struct Entry {
    /// What to check.
    pub spec: ValidatorSpec,
    /// Hard (`true`, the default) or soft.
    pub hard: bool,
    /// The spec string it was parsed from, if it was one: serialised back as written.
    written: Option<String>,
}

impl Entry {
    /// A hard entry.
    pub fn hard(spec: ValidatorSpec) -> Self {
        Self { spec, hard: true, written: None }
    }

    /// A soft entry.
    pub fn soft(spec: ValidatorSpec) -> Self {
        Self { spec, hard: false, written: None }
    }

    /// This entry, remembering `text` as the spec string it was parsed from.
    pub(crate) fn written_as(self, text: &str) -> Self {
        Self { written: Some(text.to_owned()), ..self }
    }

    /// The spec string it was parsed from, if it was one.
    pub fn written(&self) -> Option<&str> {
        self.written.as_deref()
    }

    /// The entry a config value describes: a spec string (parsed) or a table. A bad one
    /// is an [`Error::InvalidValidator`] naming it as written.
    pub fn from_value(value: serde_json::Value) -> Result<Self, Error> {
        match value {
            serde_json::Value::String(s) => super::parse_spec(&s),
            other => {
                let spec = other.to_string();
                Self::deserialize(other)
                    .map_err(|e| Error::InvalidValidator { spec, reason: e.to_string() })
            }
        }
    }
}

/// The same validator, however it was written.
impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.spec == other.spec && self.hard == other.hard
    }
}

impl From<ValidatorSpec> for Entry {
    fn from(spec: ValidatorSpec) -> Self {
        Self::hard(spec)
    }
}

/// The CLI syntax, with `soft:` in front of a soft entry.
impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.hard {
            f.write_str("soft:")?;
        }
        write!(f, "{}", self.spec)
    }
}

/// Serialises as written: the spec string it was parsed from, else the spec's table
/// plus `soft = true` when soft.
impl Serialize for Entry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let Some(text) = &self.written {
            return serializer.serialize_str(text);
        }
        let mut value = serde_json::to_value(&self.spec).map_err(serde::ser::Error::custom)?;
        if let (false, serde_json::Value::Object(map)) = (self.hard, &mut value) {
            map.insert("soft".to_owned(), serde_json::Value::Bool(true));
        }
        value.serialize(serializer)
    }
}

/// Deserialises from a spec string (parsed, see [`parse_spec`](super::parse_spec)) or
/// a spec table with an optional `soft` boolean; a bad table reports the table's own
/// error (unlike `#[serde(untagged)]`, which would only say that no variant matched).
impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;

        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = Entry;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a validator spec string (e.g. \"words:max=120\") or table")
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<Entry, E> {
                super::parse_spec(s).map_err(E::custom)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Entry, A::Error> {
                let mut map =
                    serde_json::Map::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let hard = match map.remove("soft") {
                    None => true,
                    Some(serde_json::Value::Bool(soft)) => !soft,
                    Some(other) => {
                        return Err(de::Error::custom(format!(
                            "`soft` must be true or false, got {other}"
                        )));
                    }
                };
                let spec = ValidatorSpec::deserialize(serde_json::Value::Object(map))
                    .map_err(de::Error::custom)?;
                Ok(Entry { spec, hard, written: None })
            }
        }

        deserializer.deserialize_any(EntryVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct File {
        validators: Vec<Entry>,
    }

    fn items(toml_text: &str) -> Vec<Entry> {
        toml::from_str::<File>(toml_text).unwrap().validators
    }

    fn toml_error(toml_text: &str) -> String {
        match toml::from_str::<File>(toml_text) {
            Ok(_) => panic!("parsed: {toml_text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn tables_and_strings_mix_in_one_array() {
        let items = items(
            r#"validators = [
                "soft:words:max=300",
                { kind = "require", terms = ["solar"], case_sensitive = true },
                { kind = "regex", pattern = "^#", min = 2, soft = true },
                { kind = "not", of = { kind = "forbid", terms = ["x"], whole_word = false } },
                { kind = "any", of = ["chars:max=10", { kind = "preset", name = "tweet" }] },
            ]"#,
        );
        let entries = items;
        assert_eq!(entries[0], Entry::soft(ValidatorSpec::Words { min: None, max: Some(300) }));
        assert_eq!(
            entries[1],
            Entry::hard(ValidatorSpec::Require {
                terms: vec!["solar".into()],
                case_sensitive: true,
                whole_word: true,
                mode: TermMode::All
            })
        );
        assert_eq!(
            entries[2],
            Entry::soft(ValidatorSpec::Regex { pattern: "^#".into(), min: Some(2), max: None })
        );
        assert_eq!(entries[3].to_string(), "not:forbid[substring]:x");
        assert_eq!(entries[4].to_string(), "any(chars:max=10; preset:tweet)");
    }

    #[test]
    fn table_errors_are_specific() {
        let e = toml_error(r#"validators = [{ kind = "words", maximum = 3 }]"#);
        assert!(e.contains("unknown field `maximum`"), "{e}");
        let e = toml_error(r#"validators = [{ kind = "length", max = 3 }]"#);
        assert!(e.contains("unknown variant `length`"), "{e}");
        let e = toml_error(r#"validators = [{ kind = "words", max = "ten" }]"#);
        assert!(e.contains("invalid type"), "{e}");
        let e = toml_error(r#"validators = [{ kind = "words", max = 3, soft = "yes" }]"#);
        assert!(e.contains("`soft` must be true or false"), "{e}");
        let e = toml_error(r#"validators = [3]"#);
        assert!(e.contains("a validator spec string"), "{e}");
    }

    #[test]
    fn entries_serialise_back_as_written() {
        let entry = Entry::soft(ValidatorSpec::Words { min: Some(5), max: None });
        let json = serde_json::to_value(&entry).unwrap();
        assert_eq!(json, serde_json::json!({"kind": "words", "min": 5, "soft": true}));
        let back: Entry = serde_json::from_value(json).unwrap();
        assert_eq!(back, entry);
        assert_eq!(back.written(), None);
        let text: Entry = serde_json::from_value(serde_json::json!("words:max=3")).unwrap();
        assert_eq!(text, Entry::hard(ValidatorSpec::Words { min: None, max: Some(3) }));
        assert_eq!(text.written(), Some("words:max=3"));
        assert_eq!(serde_json::to_value(&text).unwrap(), serde_json::json!("words:max=3"));
        let e = Entry::from_value(serde_json::json!("words:max=x")).unwrap_err().to_string();
        assert!(e.starts_with("invalid validator `words:max=x`: `max` must be"), "{e}");
        let e = Entry::from_value(serde_json::json!({"kind": "words", "maxx": 1})).unwrap_err();
        assert!(e.to_string().contains("unknown field `maxx`"), "{e}");
    }
}
