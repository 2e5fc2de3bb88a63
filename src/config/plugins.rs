//! The critics and validators the configuration names, checked when it is loaded.
//!
//! `critics.enabled` and `validators.enabled` are only names and specs to serde, so a
//! layer check cannot tell `"nosuch"` or `"regex:("` from a good value. Once the layers
//! are merged, every critic is looked up in the critic registry (the built-ins plus
//! `critics.dirs`) and built with its `critics.vars`, and every validator spec is
//! parsed and built (with the presets of `validators.dirs`), exactly as the engine will
//! build them. So `redraft config check` fails on what a run would fail on, and the
//! error names the layer that set the list — the file, the `environment variable
//! REDRAFT__…` or the `command line flag --critic` — the item (`critics.enabled[0]`)
//! and the reason.
//!
//! A critic or validator listed twice would run twice; the second one is dropped and
//! [`Config::warnings`] says so.

use super::Config;
use super::layer::Layer;
use super::raw::RawConfig;
use crate::Error;
use crate::critic::Registry;
use crate::validator::{Presets, SpecItem, build};
use std::collections::BTreeMap;

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

/// Drops repeated critics and validators (with a warning each), then builds every
/// critic and validator `config` enables; the first that does not build is the error.
pub(crate) fn check(config: &mut Config, origins: &Origins) -> Result<(), Error> {
    let mut warnings = Vec::new();
    dedup(&mut config.critics.enabled, |name| {
        warnings.push(format!(
            "critic `{name}` is listed twice in critics.enabled ({}); it runs once",
            origins.critics
        ));
    });
    dedup(&mut config.validators.enabled, |spec| {
        let spec = spec.as_str().map_or_else(|| spec.to_string(), str::to_owned);
        warnings.push(format!(
            "validator `{spec}` is listed twice in validators.enabled ({}); it runs once",
            origins.validators
        ));
    });
    config.warnings.extend(warnings);
    check_critics(config, origins)?;
    check_validators(config, origins)
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

fn check_critics(config: &Config, origins: &Origins) -> Result<(), Error> {
    let critics = &config.critics;
    let registry = Registry::with_dirs(&critics.dirs)
        .map_err(|e| Error::config(&origins.critic_dirs, Some("critics.dirs"), e.to_string()))?;
    let sampling = critics.sampling.sampling();
    for (i, name) in critics.enabled.iter().enumerate() {
        let vars = critics.vars.get(name);
        let Err(e) = registry.build(name, vars, sampling) else { continue };
        // Blame the vars when the critic builds without them.
        if vars.is_some() && registry.build(name, None, sampling).is_ok() {
            let origin =
                origins.critic_vars.get(name).map_or("merged configuration", String::as_str);
            return Err(Error::config(
                origin,
                Some(&format!("critics.vars.{name}")),
                e.to_string(),
            ));
        }
        let key = format!("critics.enabled[{i}]");
        return Err(Error::config(&origins.critics, Some(&key), e.to_string()));
    }
    Ok(())
}

fn check_validators(config: &Config, origins: &Origins) -> Result<(), Error> {
    let validators = &config.validators;
    let presets = Presets::load_dirs(&validators.dirs).map_err(|e| {
        Error::config(&origins.validator_dirs, Some("validators.dirs"), e.to_string())
    })?;
    for (i, value) in validators.enabled.iter().enumerate() {
        let built = serde_json::from_value::<SpecItem>(value.clone())
            .map_err(|e| Error::InvalidValidator {
                spec: value.as_str().map_or_else(|| value.to_string(), str::to_owned),
                reason: e.to_string(),
            })
            .and_then(|item| item.to_entry())
            .and_then(|entry| build(&entry, &presets));
        if let Err(e) = built {
            let key = format!("validators.enabled[{i}]");
            return Err(Error::config(&origins.validators, Some(&key), e.to_string()));
        }
    }
    Ok(())
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
