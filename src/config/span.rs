//! Finding the dotted key (`engine.max_iterations`, `validators.enabled[2]`) at a byte
//! position of a TOML document.
//!
//! The `toml` crate reports where in the text a deserialization error is, but not the
//! key path; the path is what a user needs to fix the file, so it is recovered here by
//! walking the document's spanned parse tree.

use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// The dotted key whose name or value covers `at`, if any.
pub(crate) fn key_at(doc: &str, at: &Range<usize>) -> Option<String> {
    let root = DeTable::parse(doc).ok()?;
    let mut path = Vec::new();
    find_in_table(root.get_ref(), at, &mut path).then(|| render(&path))
}

/// One step of a key path.
enum Step {
    Key(String),
    Index(usize),
}

fn render(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn covers(span: &Range<usize>, at: &Range<usize>) -> bool {
    span.start <= at.start && at.start < span.end.max(span.start + 1)
}

fn find_in_table(table: &DeTable<'_>, at: &Range<usize>, path: &mut Vec<Step>) -> bool {
    for (key, value) in table.iter() {
        path.push(Step::Key(key.get_ref().to_string()));
        if find_in_value(value, at, path) || covers(&key.span(), at) {
            return true;
        }
        path.pop();
    }
    false
}

fn find_in_value(value: &Spanned<DeValue<'_>>, at: &Range<usize>, path: &mut Vec<Step>) -> bool {
    match value.get_ref() {
        DeValue::Table(t) => find_in_table(t, at, path) || covers(&value.span(), at),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Step::Index(i));
                if find_in_value(item, at, path) {
                    return true;
                }
                path.pop();
            }
            covers(&value.span(), at)
        }
        _ => covers(&value.span(), at),
    }
}
