//! The command-line validator syntax, e.g. `--validator words:min=50,max=120`.
//!
//! ```text
//! spec     := "soft:" body | body
//! body     := KIND [ "[" options "]" ] [ ":" args ]
//!
//! chars:min=N,max=N        length in characters (grapheme clusters); either bound or both
//! words:min=N,max=N        length in words
//! sentences:min=N,max=N    length in sentences
//! require:TERM,TERM        every term must appear
//! forbid:TERM,TERM         no term may appear
//! regex:PATTERN            PATTERN must match at least once
//! regex[min=N,max=N]:PATTERN   match counts (max=0 forbids the pattern)
//! not:BODY                 passes when BODY fails
//! preset:NAME              the validators of preset NAME
//! soft:BODY                advice for the reviser only; never blocks acceptance
//! ```
//!
//! Options for `require` and `forbid`, in brackets: `case` (match letter case
//! exactly), `substring` (match inside words too), and for `require` only `any` (one
//! term is enough): `require[case,any]:Solar,Wind`. Terms are separated by commas and
//! trimmed; a term containing a comma needs the table form in a config file.
//!
//! Everything after the first `:` of a `regex` spec is the pattern, **verbatim** —
//! commas, colons, `=`, spaces and brackets included — which is why regex counts go in
//! brackets before the colon. `all` and `any` have no command-line form; use a config
//! file's table form for them.

use super::build::respec;
use super::length::{Length, Unit};
use super::pattern::RegexCount;
use super::require::TermMode;
use super::spec::{Entry, ValidatorSpec};
use crate::Error;

/// The kinds the command line understands, for error messages.
const CLI_KINDS: &[&str] =
    &["chars", "words", "sentences", "require", "forbid", "regex", "not", "preset", "soft"];

/// Parse one command-line validator spec (see the module docs for the syntax). The
/// spec is checked — numbers, bounds, terms, an empty pattern — but not compiled: a
/// regex is compiled, and a preset's name looked up, when the entry is
/// [built](super::build), once.
pub fn parse_spec(s: &str) -> Result<Entry, Error> {
    let invalid = |reason: String| Error::InvalidValidator { spec: s.to_owned(), reason };
    let (head, args) = split(s);
    let entry = if head.trim().eq_ignore_ascii_case("soft") {
        let rest = args.ok_or_else(|| invalid("`soft:` needs a spec after it".to_owned()))?;
        if split(rest).0.trim().eq_ignore_ascii_case("soft") {
            return Err(invalid("`soft:` is given twice; once is enough".to_owned()));
        }
        Entry::soft(body(rest).map_err(invalid)?)
    } else {
        Entry::hard(body(s).map_err(invalid)?)
    };
    check_bounds(&entry.spec).map_err(|e| respec(e, s))?;
    Ok(entry.written_as(s))
}

/// What can be checked without compiling anything: length bounds, and a regex's
/// bounds and that it has a pattern.
fn check_bounds(spec: &ValidatorSpec) -> Result<(), Error> {
    match spec {
        ValidatorSpec::Chars { min, max } => Length::new(Unit::Chars, *min, *max).map(drop),
        ValidatorSpec::Words { min, max } => Length::new(Unit::Words, *min, *max).map(drop),
        ValidatorSpec::Sentences { min, max } => Length::new(Unit::Sentences, *min, *max).map(drop),
        ValidatorSpec::Regex { pattern, min, max } => RegexCount::check(pattern, *min, *max),
        ValidatorSpec::Not { of } => check_bounds(&of.spec),
        _ => Ok(()),
    }
}

/// `(head, args)`: the text before and after the first `:`.
fn split(s: &str) -> (&str, Option<&str>) {
    match s.split_once(':') {
        Some((head, args)) => (head, Some(args)),
        None => (s, None),
    }
}

fn body(s: &str) -> Result<ValidatorSpec, String> {
    let (head, args) = split(s);
    let head = head.trim();
    let (kind, options) = match head.split_once('[') {
        Some((kind, rest)) => {
            let options = rest
                .strip_suffix(']')
                .ok_or_else(|| format!("`{head}`: options must end with `]`"))?;
            (kind.trim(), Some(options))
        }
        None => (head, None),
    };
    let kind = kind.to_ascii_lowercase();
    let no_options = || match options {
        Some(_) => Err(format!("`{kind}` takes no [options]")),
        None => Ok(()),
    };
    let needs_args =
        |example: &str| args.ok_or_else(|| format!("`{kind}` needs arguments, e.g. {example}"));
    match kind.as_str() {
        "chars" | "words" | "sentences" => {
            no_options()?;
            let (min, max) = bounds(needs_args(&format!("{kind}:min=10,max=100"))?)?;
            Ok(match kind.as_str() {
                "chars" => ValidatorSpec::Chars { min, max },
                "words" => ValidatorSpec::Words { min, max },
                _ => ValidatorSpec::Sentences { min, max },
            })
        }
        "require" | "forbid" => {
            let flags = term_flags(options.unwrap_or(""), kind == "require")?;
            let terms = terms(needs_args(&format!("{kind}:first,second"))?)?;
            let (case_sensitive, whole_word, any) = flags;
            Ok(if kind == "require" {
                let mode = if any { TermMode::Any } else { TermMode::All };
                ValidatorSpec::Require { terms, case_sensitive, whole_word, mode }
            } else {
                ValidatorSpec::Forbid { terms, case_sensitive, whole_word }
            })
        }
        "regex" => {
            let pattern = needs_args("regex:^# ")?.to_owned();
            let (min, max) = match options {
                Some(options) => bounds(options)?,
                None => (None, None),
            };
            Ok(ValidatorSpec::Regex { pattern, min, max })
        }
        "not" => {
            no_options()?;
            let inner = needs_args("not:require:guarantee")?;
            if split(inner).0.trim().eq_ignore_ascii_case("soft") {
                return Err("`soft:` must come first, e.g. soft:not:…".to_owned());
            }
            Ok(ValidatorSpec::Not { of: Box::new(body(inner)?.into()) })
        }
        "preset" => {
            no_options()?;
            let name = needs_args("preset:tweet")?.trim();
            if name.is_empty() {
                return Err("`preset` needs a name, e.g. preset:tweet".to_owned());
            }
            Ok(ValidatorSpec::Preset { name: name.to_owned() })
        }
        "soft" => Err("`soft:` must come first, e.g. soft:words:max=300".to_owned()),
        "" => Err(format!("empty validator kind; known kinds: {}", CLI_KINDS.join(", "))),
        other => Err(format!("unknown kind `{other}`; known kinds: {}", CLI_KINDS.join(", "))),
    }
}

/// `min=N,max=N` (either or both, any order).
fn bounds(s: &str) -> Result<(Option<usize>, Option<usize>), String> {
    let (mut min, mut max) = (None, None);
    for part in s.split(',').map(str::trim) {
        let (key, value) =
            part.split_once('=').ok_or_else(|| format!("expected min=N or max=N, got `{part}`"))?;
        let (key, value) = (key.trim(), value.trim());
        let slot = match key {
            "min" => &mut min,
            "max" => &mut max,
            other => return Err(format!("unknown option `{other}`; expected min or max")),
        };
        if slot.is_some() {
            return Err(format!("`{key}` is given twice"));
        }
        let n = value
            .parse::<usize>()
            .map_err(|_| format!("`{key}` must be a whole number ≥ 0, got `{value}`"))?;
        *slot = Some(n);
    }
    Ok((min, max))
}

/// `(case_sensitive, whole_word, any)` from `case,substring,any`.
fn term_flags(s: &str, allow_any: bool) -> Result<(bool, bool, bool), String> {
    let (mut case_sensitive, mut whole_word, mut any) = (false, true, false);
    for flag in s.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        match flag {
            "case" => case_sensitive = true,
            "substring" => whole_word = false,
            "any" if allow_any => any = true,
            other => {
                let known = if allow_any { "case, substring, any" } else { "case, substring" };
                return Err(format!("unknown option `{other}`; expected {known}"));
            }
        }
    }
    Ok((case_sensitive, whole_word, any))
}

/// A comma-separated term list: trimmed, none empty.
fn terms(s: &str) -> Result<Vec<String>, String> {
    let terms: Vec<String> = s.split(',').map(|t| t.trim().to_owned()).collect();
    if terms.iter().all(String::is_empty) {
        return Err("give at least one term".to_owned());
    }
    if let Some(i) = terms.iter().position(String::is_empty) {
        return Err(format!("term {} is empty", i + 1));
    }
    Ok(terms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(s: &str) -> ValidatorSpec {
        let entry = parse_spec(s).unwrap();
        assert!(entry.hard);
        entry.spec
    }

    fn reason(s: &str) -> String {
        match parse_spec(s).unwrap_err() {
            Error::InvalidValidator { spec, reason } => {
                assert_eq!(spec, s);
                reason
            }
            other => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn lengths() {
        assert_eq!(
            spec("words:min=50,max=120"),
            ValidatorSpec::Words { min: Some(50), max: Some(120) }
        );
        assert_eq!(spec("chars:max=280"), ValidatorSpec::Chars { min: None, max: Some(280) });
        assert_eq!(
            spec(" Sentences : max = 5 , min=3"),
            ValidatorSpec::Sentences { min: Some(3), max: Some(5) }
        );
    }

    #[test]
    fn terms_and_options() {
        assert_eq!(
            spec("require:solar, wind"),
            ValidatorSpec::Require {
                terms: vec!["solar".into(), "wind".into()],
                case_sensitive: false,
                whole_word: true,
                mode: TermMode::All
            }
        );
        assert_eq!(
            spec("require[case,substring,any]:Solar"),
            ValidatorSpec::Require {
                terms: vec!["Solar".into()],
                case_sensitive: true,
                whole_word: false,
                mode: TermMode::Any
            }
        );
        assert_eq!(
            spec("forbid[case]:guarantee,act now"),
            ValidatorSpec::Forbid {
                terms: vec!["guarantee".into(), "act now".into()],
                case_sensitive: true,
                whole_word: true
            }
        );
    }

    #[test]
    fn regex_pattern_is_verbatim() {
        assert_eq!(
            spec("regex:^(a|b){1,3}: x=y, z$"),
            ValidatorSpec::Regex { pattern: "^(a|b){1,3}: x=y, z$".into(), min: None, max: None }
        );
        assert_eq!(
            spec("regex[min=2,max=4]:[a-z]+:[0-9]{2,}"),
            ValidatorSpec::Regex { pattern: "[a-z]+:[0-9]{2,}".into(), min: Some(2), max: Some(4) }
        );
        assert_eq!(
            spec("regex: leading space"),
            ValidatorSpec::Regex { pattern: " leading space".into(), min: None, max: None }
        );
        let soft = parse_spec("soft:regex[max=0]:soft:x").unwrap();
        assert!(!soft.hard);
        assert_eq!(
            soft.spec,
            ValidatorSpec::Regex { pattern: "soft:x".into(), min: None, max: Some(0) }
        );
    }

    #[test]
    fn soft_not_and_preset() {
        let entry = parse_spec("soft:words:max=300").unwrap();
        assert!(!entry.hard);
        assert_eq!(entry.spec, ValidatorSpec::Words { min: None, max: Some(300) });
        assert_eq!(entry.to_string(), "soft:words:max=300");
        assert_eq!(
            spec("not:regex:a,b"),
            ValidatorSpec::Not {
                of: Box::new(
                    ValidatorSpec::Regex { pattern: "a,b".into(), min: None, max: None }.into()
                )
            }
        );
        assert_eq!(spec("preset:tweet"), ValidatorSpec::Preset { name: "tweet".into() });
        assert!(reason("not:soft:words:max=3").contains("must come first"));
        assert!(reason("soft:soft:words:max=3").contains("`soft:` is given twice"));
        assert!(reason("soft: SOFT :words:max=3").contains("given twice"));
        assert!(reason("words:soft:max=3").contains("unknown option `soft:max`"));
    }

    #[test]
    fn clear_errors() {
        let r = reason("length:max=3");
        assert!(r.contains("unknown kind `length`"), "{r}");
        assert!(
            r.contains("chars, words, sentences, require, forbid, regex, not, preset, soft"),
            "{r}"
        );
        assert!(reason("words:max=ten").contains("`max` must be a whole number ≥ 0, got `ten`"));
        assert!(reason("words:max=-1").contains("got `-1`"));
        assert!(reason("words:min=9,max=3").contains("min (9) is greater than max (3)"));
        assert!(reason("words").contains("needs arguments"));
        assert!(reason("words:min=1,min=2").contains("given twice"));
        assert!(reason("words:size=1").contains("unknown option `size`"));
        assert!(reason("require:").contains("at least one term"));
        assert!(reason("require:a,,b").contains("term 2 is empty"));
        assert!(reason("forbid[any]:a").contains("unknown option `any`"));
        assert!(reason("regex[min=1:x").contains("must end with `]`"));
        assert!(reason("regex:").contains("empty pattern"));
        assert!(reason("words[case]:max=1").contains("takes no [options]"));
        assert!(reason("preset: ").contains("needs a name"));
        assert!(reason("").contains("empty validator kind"));
    }

    #[test]
    fn a_bad_regex_is_found_when_built_naming_the_spec() {
        let entry = parse_spec("regex:(a|b").unwrap();
        match crate::validator::build(&entry, &crate::validator::Presets::empty()).unwrap_err() {
            Error::InvalidValidator { spec, reason } => {
                assert_eq!(spec, "regex:(a|b");
                assert!(reason.contains("invalid regex /(a|b/"), "{reason}");
            }
            other => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "words:min=50,max=120",
            "chars:max=280",
            "require[case,substring,any]:Solar,wind",
            "forbid:guarantee,act now",
            "regex:^#, x:y",
            "regex[min=2]:^## ",
            "not:require:x",
            "preset:tweet",
            "soft:sentences:min=3",
        ] {
            assert_eq!(parse_spec(s).unwrap().to_string(), s);
        }
    }
}
