//! Validator presets: named lists of validators defined as data.
//!
//! The built-in presets are the files in `validators/*.toml`, compiled in; users add
//! their own files (same shape) from directories given in the config, without
//! recompiling. A later definition of a name replaces an earlier one (user files
//! replace built-ins). A preset file:
//!
//! ```toml
//! name = "tweet"
//! description = "A post for X/Twitter"
//!
//! [[validators]]
//! kind = "chars"
//! max = 280
//! ```
//!
//! `validators` items are tables (see [`ValidatorSpec`](super::ValidatorSpec), plus an
//! optional `soft = true`) or spec strings (see [`parse_spec`](super::parse_spec)).
//! Every item is checked when the file is loaded, so a bad file fails at start-up with
//! its path, the item and the reason.

use super::build::{CompiledItems, compile};
use super::spec::Entry;
use crate::Error;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// Where built-in presets come from, in error messages and listings.
pub const BUILT_IN: &str = "built-in";

/// The built-in preset files: (file name, contents).
const BUILTIN_FILES: &[(&str, &str)] = &[
    ("blog_post.toml", include_str!("../../validators/blog_post.toml")),
    ("email.toml", include_str!("../../validators/email.toml")),
    ("headline.toml", include_str!("../../validators/headline.toml")),
    ("meta_description.toml", include_str!("../../validators/meta_description.toml")),
    ("tweet.toml", include_str!("../../validators/tweet.toml")),
];

/// A named list of validators.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Preset {
    /// The name used in `preset:NAME`.
    pub name: String,
    /// One line saying what the preset is for.
    pub description: String,
    /// The validators, in order.
    pub validators: Vec<Entry>,
    /// Where the preset was defined: a file path or `built-in`.
    pub origin: String,
    /// `validators` compiled, once: when the file is loaded, or for a built-in preset
    /// when it is first used. Shared by every clone.
    #[serde(skip)]
    compiled: Compiled,
}

/// A preset file as written; its items become [`Entry`]s one by one, so an error names
/// the item.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPreset {
    name: String,
    description: String,
    validators: Vec<serde_json::Value>,
}

/// A preset's compiled items, set once and shared by every clone of the preset.
#[derive(Clone, Default)]
struct Compiled(Arc<OnceLock<CompiledItems>>);

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() { "compiled" } else { "not compiled" })
    }
}

/// What was compiled follows from the items: it never makes two presets differ.
impl PartialEq for Compiled {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Preset {
    /// Parse and check a preset file's contents, compiling its validators (which are
    /// kept for every use of the preset); `origin` names the file in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, Error> {
        let preset = Self::parse(text, origin)?;
        preset.compiled()?;
        Ok(preset)
    }

    /// The compiled items, each with its hard flag: compiled on the first call only.
    /// An error names the preset's origin and the item (`validators[1]`).
    pub(crate) fn compiled(&self) -> Result<CompiledItems, Error> {
        if let Some(items) = self.compiled.0.get() {
            return Ok(Arc::clone(items));
        }
        let mut items = Vec::with_capacity(self.validators.len());
        for (i, entry) in self.validators.iter().enumerate() {
            let compiled = compile(&entry.spec).map_err(|e| {
                Error::config(&self.origin, Some(&format!("validators[{i}]")), e.to_string())
            })?;
            items.push((compiled, entry.hard));
        }
        Ok(Arc::clone(self.compiled.0.get_or_init(|| items.into())))
    }

    /// Parse a preset file's contents and check its name and that it has validators,
    /// each a well-formed spec, but do not compile them (which compiles their patterns).
    fn parse(text: &str, origin: &str) -> Result<Self, Error> {
        let bad = |key: Option<&str>, reason: String| Error::config(origin, key, reason);
        let raw: RawPreset =
            toml::from_str(text).map_err(|e| bad(None, e.to_string().trim_end().to_owned()))?;
        let name_ok = !raw.name.is_empty()
            && raw.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !name_ok {
            let reason =
                format!("`{}` is not a valid preset name (use letters, digits, _ and -)", raw.name);
            return Err(bad(Some("name"), reason));
        }
        if raw.validators.is_empty() {
            return Err(bad(
                Some("validators"),
                "a preset needs at least one validator".to_owned(),
            ));
        }
        let mut validators = Vec::with_capacity(raw.validators.len());
        for (i, value) in raw.validators.into_iter().enumerate() {
            let entry = Entry::from_value(value)
                .map_err(|e| bad(Some(&format!("validators[{i}]")), e.to_string()))?;
            validators.push(entry);
        }
        Ok(Preset {
            name: raw.name,
            description: raw.description,
            validators,
            origin: origin.to_owned(),
            compiled: Compiled::default(),
        })
    }
}

/// A set of presets by name.
#[derive(Debug, Clone, Default)]
pub struct Presets {
    by_name: BTreeMap<String, Preset>,
}

impl Presets {
    /// No presets at all.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The built-in presets (`validators/*.toml`). Their validators are not compiled
    /// here, at every start, but when a preset is first used (once per process: every
    /// copy shares them): the files are part of the binary, and a unit test builds
    /// every one of them.
    pub fn builtin() -> Result<Self, Error> {
        // Parsed once per process: configuration checks and the engine both ask.
        static BUILTIN: std::sync::OnceLock<Result<Presets, String>> = std::sync::OnceLock::new();
        let parsed = BUILTIN.get_or_init(|| {
            let mut presets = Self::empty();
            for (file, text) in BUILTIN_FILES {
                let origin = format!("{BUILT_IN} validators/{file}");
                let mut preset = Preset::parse(text, &origin).map_err(|e| e.to_string())?;
                preset.origin = BUILT_IN.to_owned();
                presets.insert(preset);
            }
            Ok(presets)
        });
        parsed.clone().map_err(|reason| Error::config(BUILT_IN, None, reason))
    }

    /// The built-in presets, then every `*.toml` file of each directory in order (a
    /// directory's files in name order). A later name replaces an earlier one; two
    /// files of one directory defining the same name is an error.
    pub fn load_dirs(dirs: &[PathBuf]) -> Result<Self, Error> {
        let mut presets = Self::builtin()?;
        for dir in dirs {
            presets.load_dir(dir)?;
        }
        Ok(presets)
    }

    /// Add every `*.toml` file of `dir` (see [`Presets::load_dirs`]).
    pub fn load_dir(&mut self, dir: &Path) -> Result<(), Error> {
        let files = crate::files::toml_files(dir)?;
        let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
        for path in files {
            let preset = Self::read_file(&path)?;
            if let Some(first) = seen.insert(preset.name.clone(), path.clone()) {
                let reason =
                    format!("preset `{}` is also defined in {}", preset.name, first.display());
                return Err(Error::config(path.display().to_string(), Some("name"), reason));
            }
            self.insert(preset);
        }
        Ok(())
    }

    /// Read and check one preset file.
    pub fn read_file(path: &Path) -> Result<Preset, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| Error::Io { path: path.to_owned(), source })?;
        Preset::from_toml(&text, &path.display().to_string())
    }

    /// Add `preset`, replacing any preset of the same name.
    pub fn insert(&mut self, preset: Preset) {
        self.by_name.insert(preset.name.clone(), preset);
    }

    /// The preset called `name`.
    pub fn get(&self, name: &str) -> Option<&Preset> {
        self.by_name.get(name)
    }

    /// Every preset, by name.
    pub fn list(&self) -> Vec<&Preset> {
        self.by_name.values().collect()
    }

    /// Every preset name, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.by_name.keys().map(String::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validator::build;
    use crate::validator::testing::run;

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("redraft-presets-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
        fn write(&self, file: &str, text: &str) -> PathBuf {
            let path = self.0.join(file);
            std::fs::write(&path, text).unwrap();
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn verdicts(preset: &str, text: &str) -> Vec<(String, bool, bool)> {
        let presets = Presets::builtin().unwrap();
        let entry = crate::validator::parse_spec(&format!("preset:{preset}")).unwrap();
        build(&entry, &presets)
            .unwrap()
            .iter()
            .map(|c| {
                let v = run(c.validator.as_ref(), text);
                (v.validator, v.passed, c.hard)
            })
            .collect()
    }

    #[test]
    fn builtins_load_and_are_described() {
        let presets = Presets::builtin().unwrap();
        assert_eq!(
            presets.names(),
            ["blog_post", "email", "headline", "meta_description", "tweet"]
        );
        for p in presets.list() {
            assert!(!p.description.is_empty());
            assert_eq!(p.origin, BUILT_IN);
            assert!(
                build(
                    &crate::validator::parse_spec(&format!("preset:{}", p.name)).unwrap(),
                    &presets
                )
                .is_ok()
            );
        }
    }

    #[test]
    fn tweet_preset() {
        let ok = verdicts("tweet", "Solar is cheap now. #energy");
        assert!(ok.iter().all(|(_, passed, _)| *passed), "{ok:?}");
        let long = "word ".repeat(60);
        let v = verdicts("tweet", &format!("{long} #a #b #c"));
        assert_eq!(v[0], ("chars(max=280)".to_owned(), false, true));
        assert!(!v[1].1 && !v[1].2, "hashtags fail softly: {v:?}");
    }

    #[test]
    fn email_preset() {
        let good =
            "Hi Sam,\n\nThe report is attached. Could you review it by Friday?\n\nBest,\nAlex";
        let v = verdicts("email", good);
        assert!(v.iter().all(|(_, passed, _)| *passed), "{v:?}");
        let spam = "We GUARANTEE results, act now!\nAlex";
        let v = verdicts("email", spam);
        let failed: Vec<&str> = v.iter().filter(|x| !x.1).map(|x| x.0.as_str()).collect();
        assert_eq!(failed.len(), 3, "{v:?}");
        assert!(failed[1].starts_with("forbid(guarantee"), "{failed:?}");
    }

    #[test]
    fn blog_post_and_headline_presets() {
        let body = "Solar panels keep getting cheaper every single year. ".repeat(40);
        let post = format!("# Cheap sun\n\n{body}\n\n## Why\n\n{body}");
        let v = verdicts("blog_post", &post);
        assert!(v.iter().all(|x| x.1), "{v:?}");
        let v = verdicts(
            "blog_post",
            &format!("{body} TODO: [insert chart]. In conclusion, mastodon."),
        );
        let failed: Vec<(&str, bool)> =
            v.iter().filter(|x| !x.1).map(|x| (x.0.as_str(), x.2)).collect();
        assert_eq!(failed.len(), 4, "{v:?}");
        assert_eq!(
            failed[3],
            (
                "forbid(in today's fast-paced world, delve into, it is important to note, it's important to note, in conclusion)",
                false
            )
        );
        assert!(verdicts("headline", "Why solar keeps getting cheaper").iter().all(|x| x.1));
        let v = verdicts("headline", "Solar is cheap.");
        assert_eq!(v.iter().filter(|x| !x.1).count(), 1, "{v:?}");
        assert!(verdicts("headline", "Wait for it...").iter().all(|x| x.1));
    }

    #[test]
    fn user_dirs_add_and_replace_presets() {
        let dir = TempDir::new("ok");
        dir.write(
            "mine.toml",
            "name = \"mine\"\ndescription = \"m\"\nvalidators = [\"words:max=5\"]\n",
        );
        dir.write("tweet.toml", "name = \"tweet\"\ndescription = \"short\"\n[[validators]]\nkind = \"chars\"\nmax = 100\n");
        dir.write("notes.txt", "not a preset");
        let presets = Presets::load_dirs(std::slice::from_ref(&dir.0)).unwrap();
        assert!(presets.get("mine").is_some());
        assert!(presets.get("email").is_some());
        let tweet = presets.get("tweet").unwrap();
        assert_eq!(tweet.description, "short");
        assert!(tweet.origin.ends_with("tweet.toml"));
    }

    #[test]
    fn malformed_files_name_the_file_and_reason() {
        let dir = TempDir::new("bad");
        let path = dir.write(
            "broken.toml",
            "name = \"x\"\ndescription = \"d\"\n[[validators]]\nkind = \"words\"\nmaxx = 3\n",
        );
        let err = Presets::load_dirs(std::slice::from_ref(&dir.0)).unwrap_err().to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains("unknown field `maxx`"), "{err}");

        let path = dir.write(
            "broken.toml",
            "name = \"x\"\ndescription = \"d\"\nvalidators = [\"words:max=3\", \"regex:(\"]\n",
        );
        let err = Presets::load_dirs(std::slice::from_ref(&dir.0)).unwrap_err().to_string();
        assert!(err.contains(&format!("{} at `validators[1]`", path.display())), "{err}");
        assert!(err.contains("invalid regex /(/"), "{err}");

        dir.write("broken.toml", "name = \"x\"\ndescription = \"d\"\nvalidators = []\n");
        let err = Presets::load_dirs(std::slice::from_ref(&dir.0)).unwrap_err().to_string();
        assert!(err.contains("at least one validator"), "{err}");

        dir.write(
            "broken.toml",
            "name = \"x\"\ndescription = \"d\"\nvalidators = [\"words:max=3\"]\n",
        );
        dir.write(
            "copy.toml",
            "name = \"x\"\ndescription = \"d\"\nvalidators = [\"words:max=3\"]\n",
        );
        let err = Presets::load_dirs(std::slice::from_ref(&dir.0)).unwrap_err().to_string();
        assert!(err.contains("preset `x` is also defined in"), "{err}");

        let missing = dir.0.join("missing");
        let err = Presets::load_dirs(std::slice::from_ref(&missing)).unwrap_err().to_string();
        assert!(err.contains(&missing.display().to_string()), "{err}");
    }

    #[test]
    fn bad_names_are_rejected() {
        let err = Preset::from_toml(
            "name = \"a b\"\ndescription = \"d\"\nvalidators = [\"words:max=1\"]",
            "f.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("f.toml at `name`"), "{err}");
    }
}
