//! The catalog behind `redraft validators [--json]`: every validator kind with its
//! syntax, an example and what it checks. Presets are listed from
//! [`Presets::list`](super::Presets::list).

use serde::Serialize;

/// One validator kind, documented.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KindDoc {
    /// The kind, as written in `kind = "…"` or before the `:` on the command line.
    pub name: &'static str,
    /// The command-line syntax (or the table form, for kinds with no CLI form).
    pub syntax: &'static str,
    /// A working example.
    pub example: &'static str,
    /// What it checks.
    pub description: &'static str,
}

/// Every validator kind, in a sensible reading order.
pub fn kinds() -> Vec<KindDoc> {
    vec![
        KindDoc {
            name: "chars",
            syntax: "chars:min=N,max=N",
            example: "chars:max=280",
            description: "Length in characters (user-perceived: an accented letter or an emoji counts once). Give min, max or both.",
        },
        KindDoc {
            name: "words",
            syntax: "words:min=N,max=N",
            example: "words:min=50,max=120",
            description: "Length in words (Unicode word boundaries; each CJK ideograph is a word).",
        },
        KindDoc {
            name: "sentences",
            syntax: "sentences:min=N,max=N",
            example: "sentences:min=3",
            description: "Length in sentences (Unicode sentence boundaries; empty ones are ignored).",
        },
        KindDoc {
            name: "require",
            syntax: "require[case,substring,any]:TERM,TERM",
            example: "require:solar,wind",
            description: "Every term must appear (with `any`: at least one). Case-insensitive and whole-word by default; `case` and `substring` change that.",
        },
        KindDoc {
            name: "forbid",
            syntax: "forbid[case,substring]:TERM,TERM",
            example: "forbid:guarantee,act now",
            description: "No term may appear. The failure names each term found and how often.",
        },
        KindDoc {
            name: "regex",
            syntax: "regex[min=N,max=N]:PATTERN",
            example: "regex[min=2]:^## ",
            description: "The pattern must match at least min (default 1) and at most max times; max=0 forbids it. Multi-line mode (^ and $ match at each line). Everything after the first `:` is the pattern, verbatim.",
        },
        KindDoc {
            name: "all",
            syntax: "{ kind = \"all\", of = [SPEC, …] }",
            example: "{ kind = \"all\", of = [\"words:max=100\", \"require:solar\"] }",
            description: "Passes when every child passes (config files only).",
        },
        KindDoc {
            name: "any",
            syntax: "{ kind = \"any\", of = [SPEC, …] }",
            example: "{ kind = \"any\", of = [\"require:solar\", \"require:wind\"] }",
            description: "Passes when at least one child passes (config files only).",
        },
        KindDoc {
            name: "not",
            syntax: "not:SPEC",
            example: "not:regex:^Dear Sir",
            description: "Passes when the child fails. not(all(a, b)) passes when a or b fails.",
        },
        KindDoc {
            name: "preset",
            syntax: "preset:NAME",
            example: "preset:tweet",
            description: "Every validator of a named preset (built-in, or from a presets directory).",
        },
        KindDoc {
            name: "soft",
            syntax: "soft:SPEC",
            example: "soft:words:max=300",
            description: "Makes a validator advisory: its failures reach the reviser but never block acceptance. In tables: `soft = true`.",
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validator::{ValidatorSpec, parse_spec};

    #[test]
    fn every_cli_example_parses_and_every_kind_is_documented() {
        let docs = kinds();
        for doc in docs.iter().filter(|d| !d.example.starts_with('{')) {
            assert!(parse_spec(doc.example).is_ok(), "{} does not parse", doc.example);
        }
        for kind in ValidatorSpec::KINDS {
            assert!(docs.iter().any(|d| d.name == *kind), "{kind} undocumented");
        }
        for doc in docs.iter().filter(|d| d.example.starts_with('{')) {
            let table: toml::Table = toml::from_str(&format!("v = {}", doc.example)).unwrap();
            let spec: ValidatorSpec = table["v"].clone().try_into().unwrap();
            crate::validator::check(&spec).unwrap();
        }
    }
}
