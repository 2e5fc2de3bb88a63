//! The critics and validators the configuration names, resolved when it is loaded.
//!
//! `critics.enabled` and `validators.enabled` are only names and specs to serde, so a
//! layer check cannot tell `"nosuch"` or `"regex:("` from a good value. Once the layers
//! are merged, every critic is looked up in the critic registry (the built-ins plus
//! `critics.dirs`), its templates compiled and its `critics.vars` applied, and every
//! validator spec is read and compiled (with the presets of `validators.dirs`). The
//! [`Config`](super::Config) keeps what this made, and the engine runs exactly that:
//! nothing is compiled twice. So `redraft config check` fails on what a run would fail
//! on, and the error names the layer that set the list — the file, the `environment
//! variable REDRAFT__…` or the `command line flag --critic` — the item
//! (`critics.enabled[0]`) and the reason.
//!
//! A critic or validator listed twice would run twice; the second one is dropped and
//! [`Config::warnings`](super::Config::warnings) says so.

use super::layer::Layer;
use super::raw::RawConfig;
use crate::Error;
use crate::critic::{Definition, Registry};
use crate::validator::{Configured, Entry, Presets, build};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Where each list the checks read was set: the highest layer that sets it, or the
/// variable or flag in it that did.
#[derive(Debug, Clone, Default)]
pub(crate) struct Origins {
    critics: String,
    critic_dirs: String,
    critic_vars: BTreeMap<String, String>,
    validators: String,
    validator_dirs: String,
}

impl Origins {
    /// The origins in `layers`, lowest first.
    pub(crate) fn of(layers: &[Layer]) -> Self {
        let last = |key: &str, sets: &dyn Fn(&RawConfig) -> bool| {
            layers.iter().rev().find(|layer| sets(&layer.raw)).map_or_else(
                || "built-in defaults".to_owned(),
                |layer| layer.origin(key).to_owned(),
            )
        };
        let critics = |raw: &RawConfig| raw.critics.clone().unwrap_or_default();
        let validators = |raw: &RawConfig| raw.validators.clone().unwrap_or_default();
        let mut critic_vars = BTreeMap::new();
        for layer in layers {
            for name in critics(&layer.raw).vars.unwrap_or_default().keys() {
                let origin = layer.origin(&format!("critics.vars.{name}")).to_owned();
                critic_vars.insert(name.clone(), origin);
            }
        }
        Self {
            critics: last("critics.enabled", &|raw| critics(raw).enabled.is_some()),
            critic_dirs: last("critics.dirs", &|raw| critics(raw).dirs.is_some()),
            critic_vars,
            validators: last("validators.enabled", &|raw| validators(raw).enabled.is_some()),
            validator_dirs: last("validators.dirs", &|raw| validators(raw).dirs.is_some()),
        }
    }
}

/// The critics `critics.enabled` names, each once (a repeat is dropped with a
/// warning), resolved: looked up in the registry (the built-ins plus `dirs`), their
/// templates compiled and their `vars` applied. The first that does not resolve is
/// the error, blaming its vars when it resolves without them.
pub(crate) fn critics(
    mut enabled: Vec<String>,
    dirs: &[PathBuf],
    vars: &BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
    origins: &Origins,
    warnings: &mut Vec<String>,
) -> Result<(Vec<String>, Arc<[Definition]>), Error> {
    dedup(&mut enabled, |name| {
        warnings.push(format!(
            "critic `{name}` is listed twice in critics.enabled ({}); it runs once",
            origins.critics
        ));
    });
    let registry = Registry::with_dirs(dirs)
        .map_err(|e| Error::config(&origins.critic_dirs, Some("critics.dirs"), e.to_string()))?;
    let mut definitions = Vec::with_capacity(enabled.len());
    for (i, name) in enabled.iter().enumerate() {
        let definition = registry.definition(name).map_err(|e| {
            Error::config(&origins.critics, Some(&format!("critics.enabled[{i}]")), e.to_string())
        })?;
        let definition = definition.with_vars(vars.get(name)).map_err(|e| {
            let origin =
                origins.critic_vars.get(name).map_or("merged configuration", String::as_str);
            Error::config(origin, Some(&format!("critics.vars.{name}")), e.to_string())
        })?;
        definitions.push(definition);
    }
    Ok((enabled, definitions.into()))
}

/// The validator specs of `validators.enabled`, each once (a repeat is dropped with a
/// warning), read from their strings or tables and compiled, with the presets of
/// `dirs`: the entries, and the validators they compile to. The first that does not
/// compile is the error.
pub(crate) fn validators(
    mut enabled: Vec<serde_json::Value>,
    dirs: &[PathBuf],
    origins: &Origins,
    warnings: &mut Vec<String>,
) -> Result<(Vec<Entry>, Arc<[Configured]>), Error> {
    dedup(&mut enabled, |spec| {
        let spec = spec.as_str().map_or_else(|| spec.to_string(), str::to_owned);
        warnings.push(format!(
            "validator `{spec}` is listed twice in validators.enabled ({}); it runs once",
            origins.validators
        ));
    });
    let presets = Presets::load_dirs(dirs).map_err(|e| {
        Error::config(&origins.validator_dirs, Some("validators.dirs"), e.to_string())
    })?;
    let mut entries = Vec::with_capacity(enabled.len());
    let mut compiled = Vec::with_capacity(enabled.len());
    for (i, value) in enabled.into_iter().enumerate() {
        let built = Entry::from_value(value)
            .and_then(|entry| build(&entry, &presets).map(|built| (entry, built)));
        match built {
            Ok((entry, built)) => {
                entries.push(entry);
                compiled.extend(built);
            }
            Err(e) => {
                let key = format!("validators.enabled[{i}]");
                return Err(Error::config(&origins.validators, Some(&key), e.to_string()));
            }
        }
    }
    Ok((entries, compiled.into()))
}

/// Keeps the first of equal items, calling `dropped` with each later one.
fn dedup<T: PartialEq + Clone>(items: &mut Vec<T>, mut dropped: impl FnMut(&T)) {
    let mut kept: Vec<T> = Vec::with_capacity(items.len());
    for item in items.drain(..) {
        if kept.contains(&item) {
            dropped(&item);
        } else {
            kept.push(item);
        }
    }
    *items = kept;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_keeps_the_first_of_each_and_reports_the_rest() {
        let mut items = vec!["a", "b", "a", "c", "b", "a"];
        let mut dropped = Vec::new();
        dedup(&mut items, |item| dropped.push(*item));
        assert_eq!(items, ["a", "b", "c"]);
        assert_eq!(dropped, ["a", "b", "a"]);
    }
}
