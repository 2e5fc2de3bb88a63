//! One configuration layer: a named, already checked TOML table that the `config`
//! crate merges with the others.
//!
//! Every layer is checked on its own before merging, so an error names where the bad
//! value came from: the file (with the dotted key and line), the environment variable,
//! or the command line. The `config` crate then only merges tables that are known to
//! be valid, in order, each key of a higher layer replacing the same key below it.

use super::raw::{Problem, RawConfig};
use super::{Flag, FlagValue, span};
use crate::Error;
use std::collections::BTreeMap;
use std::path::Path;

/// A named, checked layer.
#[derive(Debug, Clone)]
pub(crate) struct Layer {
    /// Where it came from, as shown to users (`built-in defaults`, a file path,
    /// `environment`, `command line`).
    pub(crate) name: String,
    /// Its values, as written.
    pub(crate) table: toml::Table,
    /// The same values, checked.
    pub(crate) raw: RawConfig,
    /// Where each key set one by one came from (`environment variable REDRAFT__X__Y`,
    /// `command line flag --critic`), by dotted key; a key not here came from
    /// [`name`](Self::name).
    pub(crate) origins: BTreeMap<String, String>,
}

/// The keys whose values are lists, and the separator that splits a plain-text value
/// from the environment or the command line into items. Validator specs contain commas
/// (`words:min=50,max=120`), so theirs is `;`.
const LIST_KEYS: &[(&str, char)] = &[
    ("critics.enabled", ','),
    ("critics.dirs", ','),
    ("validators.enabled", ';'),
    ("validators.dirs", ','),
];

/// The keys whose relative paths are resolved against the directory of the file that
/// sets them.
const DIR_KEYS: &[(&str, &str)] =
    &[("critics", "dirs"), ("validators", "dirs"), ("cache", "dir"), ("store", "dir")];
/// The keys holding one path, resolved the same way (an empty path means "default" and
/// stays empty).
const PATH_KEYS: &[(&str, &str)] = &[("local", "model_path"), ("local", "model_dir")];

impl Layer {
    /// Parses and checks the TOML `text` of the layer `name`. Relative `dirs` are made
    /// relative to `base_dir` when one is given (the directory of a config file).
    pub(crate) fn parse(name: &str, text: &str, base_dir: Option<&Path>) -> Result<Self, Error> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| toml_error(name, text, &e))?;
        raw.check().map_err(|p| p.into_error(name))?;
        let mut table: toml::Table =
            toml::from_str(text).map_err(|e| toml_error(name, text, &e))?;
        if let Some(base) = base_dir {
            rebase_dirs(&mut table, base).map_err(|p| p.into_error(name))?;
        }
        Ok(Self { name: name.to_owned(), table, raw, origins: BTreeMap::new() })
    }

    /// The layer `name` holding `table`, checked.
    pub(crate) fn from_table(name: &str, table: toml::Table) -> Result<Self, Error> {
        let raw: RawConfig = toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| Error::config(name, None, e.to_string()))?;
        raw.check().map_err(|p| p.into_error(name))?;
        Ok(Self { name: name.to_owned(), table, raw, origins: BTreeMap::new() })
    }

    /// Where the value of the dotted `key` in this layer came from: the variable or
    /// flag that set it (or a table above it), else the layer itself.
    pub(crate) fn origin(&self, key: &str) -> &str {
        let mut at = key;
        loop {
            if let Some(origin) = self.origins.get(at) {
                return origin;
            }
            match at.rsplit_once('.') {
                Some((parent, _)) => at = parent,
                None => break,
            }
        }
        // A variable or flag that set a key inside this one.
        let inside = format!("{key}.");
        self.origins
            .iter()
            .find(|(k, _)| k.starts_with(&inside))
            .map_or(&self.name, |(_, origin)| origin)
    }

    /// Reads and parses the config file at `path`; `name` is how it is shown.
    pub(crate) fn read(name: &str, path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(name, None, format!("cannot read the file: {e}")))?;
        Self::parse(name, &text, Some(path.parent().unwrap_or(Path::new(""))))
    }

    /// The layer of the `REDRAFT__SECTION__KEY` variables among `vars` (name, value),
    /// or `None` when there are none. Each variable is checked on its own, so an error
    /// names it.
    pub(crate) fn from_env(vars: &[(String, String)]) -> Result<Option<Self>, Error> {
        const PREFIX: &str = "REDRAFT__";
        let mut vars: Vec<&(String, String)> = vars
            .iter()
            .filter(|(name, _)| {
                name.len() > PREFIX.len()
                    && name.is_char_boundary(PREFIX.len())
                    && name[..PREFIX.len()].eq_ignore_ascii_case(PREFIX)
            })
            .collect();
        if vars.is_empty() {
            return Ok(None);
        }
        vars.sort();
        let mut entries = Vec::with_capacity(vars.len());
        for (name, value) in vars {
            let source = format!("environment variable {name}");
            let key = name[PREFIX.len()..].split("__").map(str::to_lowercase).collect::<Vec<_>>();
            entries.push((source, key, Value::Text(value.as_str())));
        }
        Self::from_entries("environment", entries).map(Some)
    }

    /// The layer of the caller's dotted-key overrides and then its `flags` (errors
    /// name the flag), or `None` when there are neither.
    pub(crate) fn from_overrides(
        overrides: &[(String, String)],
        flags: &[Flag],
    ) -> Result<Option<Self>, Error> {
        if overrides.is_empty() && flags.is_empty() {
            return Ok(None);
        }
        let path = |key: &str| key.split('.').map(|s| s.trim().to_owned()).collect::<Vec<_>>();
        let overrides = overrides
            .iter()
            .map(|(key, value)| ("command line".to_owned(), path(key), Value::Text(value)));
        let flags = flags.iter().map(|flag| {
            let value = match &flag.value {
                FlagValue::One(text) => Value::Text(text),
                FlagValue::Many(items) => Value::Items(items),
            };
            (format!("command line flag {}", flag.name), path(&flag.key), value)
        });
        Self::from_entries("command line", overrides.chain(flags).collect()).map(Some)
    }

    /// One layer from (source, key path, value) entries, each checked on its own; a
    /// later entry for the same key wins, and is the key's origin.
    fn from_entries(
        name: &str,
        entries: Vec<(String, Vec<String>, Value<'_>)>,
    ) -> Result<Self, Error> {
        let mut table = toml::Table::new();
        let mut origins = BTreeMap::new();
        for (source, path, value) in entries {
            let dotted = path.join(".");
            if path.iter().any(String::is_empty) {
                return Err(Error::config(source, Some(&dotted), "the key has an empty part"));
            }
            let entry = match value {
                Value::Text(text) => entry_table(&path, text),
                Value::Items(items) => items_table(&path, items),
            }
            .map_err(|p| p.into_error(&source))?;
            merge(&mut table, entry);
            // A key set again replaces the value under it, and its origins with it.
            origins.retain(|key: &String, _| {
                key != &dotted && !key.starts_with(&format!("{dotted}."))
            });
            origins.insert(dotted, source);
        }
        let raw = toml::Value::Table(table.clone())
            .try_into::<RawConfig>()
            .map_err(|e| Error::config(name, None, e.message().to_owned()))?;
        raw.check().map_err(|p| p.into_error(name))?;
        Ok(Self { name: name.to_owned(), table, raw, origins })
    }
}

/// The value of one environment variable, override or flag.
enum Value<'a> {
    /// Text, read as whatever the key accepts (see [`entry_table`]).
    Text(&'a str),
    /// The items of a list, each taken whole.
    Items(&'a [String]),
}

/// The one-key table for `path = [items…]`, each item a string taken whole.
fn items_table(path: &[String], items: &[String]) -> Result<toml::Table, Problem> {
    let value = toml::Value::Array(items.iter().cloned().map(toml::Value::String).collect());
    let table = nest(path, value);
    match toml::Value::Table(table.clone()).try_into::<RawConfig>() {
        Ok(raw) => {
            raw.check()?;
            Ok(table)
        }
        Err(e) => Err(Problem { key: path.join("."), reason: e.message().to_owned() }),
    }
}

/// The one-key table for `path = text`, with `text` read as the first of these that
/// the key accepts: a TOML value (`5`, `0.3`, `true`, `["a", "b"]`), a separated list
/// (for list keys), plain text. When none is accepted, the first one's error is
/// reported.
fn entry_table(path: &[String], text: &str) -> Result<toml::Table, Problem> {
    let dotted = path.join(".");
    if let Some(reason) = too_large(&dotted, text.trim()) {
        return Err(Problem { key: dotted, reason });
    }
    let mut candidates = Vec::new();
    if let Ok(value) = text.trim().parse::<toml::Value>()
        && !matches!(value, toml::Value::Datetime(_))
    {
        candidates.push(value);
    }
    if let Some((_, sep)) = LIST_KEYS.iter().find(|(k, _)| *k == dotted) {
        let items = text
            .split(*sep)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| toml::Value::String(s.to_owned()))
            .collect();
        candidates.push(toml::Value::Array(items));
    }
    candidates.push(toml::Value::String(text.to_owned()));

    let mut first_error = None;
    for value in candidates {
        let table = nest(path, value);
        match toml::Value::Table(table.clone()).try_into::<RawConfig>() {
            Ok(raw) => {
                raw.check()?;
                return Ok(table);
            }
            Err(e) => {
                first_error.get_or_insert_with(|| e.message().to_owned());
            }
        }
    }
    Err(Problem { key: dotted, reason: first_error.unwrap_or_default() })
}

/// Why `text` cannot be a number for `key` when it is a whole number too large for
/// TOML's 64-bit integers: as text it would only give a puzzling "invalid type:
/// string" error.
fn too_large(key: &str, text: &str) -> Option<String> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text).replace('_', "");
    let whole = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    if !whole || digits.parse::<i64>().is_ok() {
        return None;
    }
    let sign = if text.starts_with('-') { "small" } else { "large" };
    Some(match (super::raw::range_of(key), sign) {
        (Some((_, max)), "large") => format!("{text} is too large: the maximum is {max}"),
        (Some((min, _)), _) => format!("{text} is too small: the minimum is {min}"),
        (None, _) => format!("{text} is too {sign} for a number"),
    })
}

/// `{a = {b = {c = value}}}` for the path `a.b.c`.
fn nest(path: &[String], value: toml::Value) -> toml::Table {
    let mut value = value;
    for key in path.iter().skip(1).rev() {
        let mut t = toml::Table::new();
        t.insert(key.clone(), value);
        value = toml::Value::Table(t);
    }
    let mut table = toml::Table::new();
    if let Some(first) = path.first() {
        table.insert(first.clone(), value);
    }
    table
}

/// Deep-merges `from` into `into`; values of `from` win, tables merge.
fn merge(into: &mut toml::Table, from: toml::Table) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(toml::Value::Table(a)), toml::Value::Table(b)) => merge(a, b),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

/// Makes the relative paths of the `dirs` and path keys relative to `base`.
fn rebase_dirs(table: &mut toml::Table, base: &Path) -> Result<(), Problem> {
    if base.as_os_str().is_empty() {
        return Ok(());
    }
    for (section, key) in DIR_KEYS.iter().chain(PATH_KEYS) {
        let Some(toml::Value::Table(section_table)) = table.get_mut(*section) else { continue };
        let paths: Vec<&mut toml::Value> = match section_table.get_mut(*key) {
            Some(toml::Value::Array(dirs)) => dirs.iter_mut().collect(),
            Some(one @ toml::Value::String(_)) => vec![one],
            _ => continue,
        };
        for path in paths {
            let toml::Value::String(s) = path else { continue };
            // An empty path means "none" or "the default": it stays empty.
            if !s.is_empty() && Path::new(s.as_str()).is_relative() {
                let joined =
                    base.join(s.as_str()).into_os_string().into_string().map_err(|_| Problem {
                        key: format!("{section}.{key}"),
                        reason: "the config file's directory is not valid UTF-8".to_owned(),
                    })?;
                *s = joined;
            }
        }
    }
    Ok(())
}

/// A `toml` error as a config error naming the file, the dotted key and the line.
fn toml_error(name: &str, text: &str, e: &toml::de::Error) -> Error {
    let Some(at) = e.span() else {
        return Error::config(name, None, e.message().trim().to_owned());
    };
    let line = text.get(..at.start).map_or(1, |before| before.matches('\n').count() + 1);
    let key = span::key_at(text, &at);
    Error::config(name, key.as_deref(), format!("{} (line {line})", e.message().trim()))
}

impl config::Source for Layer {
    fn clone_into_box(&self) -> Box<dyn config::Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<config::Map<String, config::Value>, config::ConfigError> {
        Ok(self
            .table
            .iter()
            .map(|(key, value)| (key.clone(), to_config_value(&self.name, value)))
            .collect())
    }
}

/// A TOML value as a `config` crate value.
fn to_config_value(origin: &String, value: &toml::Value) -> config::Value {
    use config::ValueKind;
    let kind = match value {
        toml::Value::String(s) => ValueKind::String(s.clone()),
        toml::Value::Integer(i) => ValueKind::I64(*i),
        toml::Value::Float(f) => ValueKind::Float(*f),
        toml::Value::Boolean(b) => ValueKind::Boolean(*b),
        toml::Value::Datetime(d) => ValueKind::String(d.to_string()),
        toml::Value::Array(items) => {
            ValueKind::Array(items.iter().map(|v| to_config_value(origin, v)).collect())
        }
        toml::Value::Table(t) => ValueKind::Table(
            t.iter().map(|(k, v)| (k.clone(), to_config_value(origin, v))).collect(),
        ),
    };
    config::Value::new(Some(origin), kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err_parts(e: Error) -> (String, Option<String>, String) {
        match e {
            Error::Config { source_name, key, reason } => (source_name, key, reason),
            other => panic!("not a config error: {other}"),
        }
    }

    #[test]
    fn unknown_key_in_a_section_names_the_dotted_key_and_lists_valid_ones() {
        let text = "[engine]\nmax_iterations = 2\nmax_iteratons = 3\n";
        let (source, key, reason) = err_parts(Layer::parse("my.toml", text, None).unwrap_err());
        assert_eq!(source, "my.toml");
        assert_eq!(key.as_deref(), Some("engine.max_iteratons"));
        assert!(
            reason.contains("max_iterations") && reason.contains("confidence_floor"),
            "{reason}"
        );
        assert!(reason.contains("line 3"), "{reason}");
    }

    #[test]
    fn unknown_section_names_it() {
        let text = "[engin]\nmax_iterations = 2\n";
        let (_, key, reason) = err_parts(Layer::parse("my.toml", text, None).unwrap_err());
        assert_eq!(key.as_deref(), Some("engin"));
        assert!(reason.contains("engine"), "{reason}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let text = "[provider]\nmodel = \"m\"\ntimeout_secs = \"soon\"\n";
        let (_, key, reason) = err_parts(Layer::parse("my.toml", text, None).unwrap_err());
        assert_eq!(key.as_deref(), Some("provider.timeout_secs"));
        assert!(reason.contains("invalid type"), "{reason}");
    }

    #[test]
    fn wrong_type_in_an_inline_table_and_array_names_the_full_path() {
        let text = "critics = { enabled = [\"a\", 3] }\n";
        let (_, key, _) = err_parts(Layer::parse("my.toml", text, None).unwrap_err());
        assert_eq!(key.as_deref(), Some("critics.enabled[1]"));
        let text = "[critics.vars]\nconstitutional = 5\n";
        let (_, key, _) = err_parts(Layer::parse("my.toml", text, None).unwrap_err());
        assert_eq!(key.as_deref(), Some("critics.vars.constitutional"));
    }

    #[test]
    fn bad_enum_value_names_the_key_and_the_choices() {
        let text = "[engine]\naccept_when = \"most\"\n";
        let (_, key, reason) = err_parts(Layer::parse("my.toml", text, None).unwrap_err());
        assert_eq!(key.as_deref(), Some("engine.accept_when"));
        assert!(reason.contains("majority_satisfied"), "{reason}");
    }

    #[test]
    fn syntax_error_names_the_line() {
        let text = "[engine]\nmax_iterations = = 2\n";
        let (source, _, reason) = err_parts(Layer::parse("my.toml", text, None).unwrap_err());
        assert_eq!(source, "my.toml");
        assert!(reason.contains("line 2"), "{reason}");
    }

    #[test]
    fn relative_dirs_are_rebased_on_the_file_directory() {
        let text = "[critics]\ndirs = [\"mine\", \"/abs\"]\n";
        let layer = Layer::parse("x", text, Some(Path::new("/etc/redraft"))).unwrap();
        let dirs = layer.table["critics"]["dirs"].as_array().unwrap();
        assert_eq!(dirs[0].as_str(), Some("/etc/redraft/mine"));
        assert_eq!(dirs[1].as_str(), Some("/abs"));
        let text = "[cache]\ndir = \"answers\"\n";
        let layer = Layer::parse("x", text, Some(Path::new("/etc/redraft"))).unwrap();
        assert_eq!(layer.table["cache"]["dir"].as_str(), Some("/etc/redraft/answers"));
        let text = "[cache]\ndir = \"\"\n";
        let layer = Layer::parse("x", text, Some(Path::new("/etc/redraft"))).unwrap();
        assert_eq!(layer.table["cache"]["dir"].as_str(), Some(""));
    }

    #[test]
    fn relative_local_paths_are_rebased_and_empty_ones_kept() {
        let text = "[local]\nmodel_path = \"m.gguf\"\nmodel_dir = \"\"\n";
        let layer = Layer::parse("f.toml", text, Some(Path::new("/etc/redraft"))).unwrap();
        assert_eq!(layer.table["local"]["model_path"].as_str(), Some("/etc/redraft/m.gguf"));
        assert_eq!(layer.table["local"]["model_dir"].as_str(), Some(""));
    }

    #[test]
    fn env_values_are_typed_by_what_the_key_accepts() {
        let vars = vec![
            ("REDRAFT__ENGINE__MAX_ITERATIONS".to_owned(), "5".to_owned()),
            ("REDRAFT__PROVIDER__MODEL".to_owned(), "1234".to_owned()),
            ("REDRAFT__CRITICS__ENABLED".to_owned(), "reflexion, self_refine".to_owned()),
            ("REDRAFT__VALIDATORS__ENABLED".to_owned(), "words:min=5,max=9;regex:^#".to_owned()),
            ("PATH".to_owned(), "/bin".to_owned()),
        ];
        let layer = Layer::from_env(&vars).unwrap().unwrap();
        let raw = layer.raw;
        assert_eq!(raw.engine.unwrap().max_iterations, Some(5));
        assert_eq!(raw.provider.unwrap().model.as_deref(), Some("1234"));
        assert_eq!(raw.critics.unwrap().enabled.unwrap(), vec!["reflexion", "self_refine"]);
        assert_eq!(
            raw.validators.unwrap().enabled.unwrap(),
            vec![serde_json::json!("words:min=5,max=9"), serde_json::json!("regex:^#")]
        );
    }

    #[test]
    fn no_prefixed_vars_means_no_layer() {
        let vars = vec![("HOME".to_owned(), "/root".to_owned())];
        assert!(Layer::from_env(&vars).unwrap().is_none());
    }

    #[test]
    fn bad_env_value_names_the_variable_and_key() {
        let vars = vec![("REDRAFT__ENGINE__MAX_ITERATIONS".to_owned(), "many".to_owned())];
        let (source, key, reason) = err_parts(Layer::from_env(&vars).unwrap_err());
        assert_eq!(source, "environment variable REDRAFT__ENGINE__MAX_ITERATIONS");
        assert_eq!(key.as_deref(), Some("engine.max_iterations"));
        assert!(reason.contains("many"), "{reason}");
    }

    #[test]
    fn toml_arrays_are_accepted_for_lists() {
        let overrides =
            vec![("validators.enabled".to_owned(), r#"["a,b", { kind = "x" }]"#.to_owned())];
        let layer = Layer::from_overrides(&overrides, &[]).unwrap().unwrap();
        let enabled = layer.raw.validators.unwrap().enabled.unwrap();
        assert_eq!(enabled, vec![serde_json::json!("a,b"), serde_json::json!({"kind": "x"})]);
    }

    #[test]
    fn an_empty_list_value_clears_the_list() {
        let overrides = vec![("critics.enabled".to_owned(), String::new())];
        let layer = Layer::from_overrides(&overrides, &[]).unwrap().unwrap();
        assert_eq!(layer.raw.critics.unwrap().enabled, Some(vec![]));
    }

    #[test]
    fn override_entries_merge_into_one_layer() {
        let overrides = vec![
            ("engine.max_iterations".to_owned(), "4".to_owned()),
            ("engine.accept_when".to_owned(), "any_satisfied".to_owned()),
            ("critics.vars.constitutional.principles".to_owned(), r#"["Be kind"]"#.to_owned()),
        ];
        let layer = Layer::from_overrides(&overrides, &[]).unwrap().unwrap();
        let engine = layer.raw.engine.unwrap();
        assert_eq!(engine.max_iterations, Some(4));
        assert!(engine.accept_when.is_some());
        let vars = layer.raw.critics.unwrap().vars.unwrap();
        assert_eq!(vars["constitutional"]["principles"], serde_json::json!(["Be kind"]));
    }

    #[test]
    fn empty_key_part_is_an_error() {
        let overrides = vec![("engine..max_iterations".to_owned(), "4".to_owned())];
        let (source, key, _) = err_parts(Layer::from_overrides(&overrides, &[]).unwrap_err());
        assert_eq!(source, "command line");
        assert_eq!(key.as_deref(), Some("engine..max_iterations"));
    }
}
