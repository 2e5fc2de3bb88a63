//! The built-in configuration files, compiled in: the defaults and the presets.
//!
//! A preset is a partial configuration layered between the defaults and the user's
//! file, so anything the user writes still wins over it.

/// The built-in defaults (`config/default.toml`): every key with its default value.
pub(crate) const DEFAULT: &str = include_str!("../../config/default.toml");

/// The presets, by name, in the order they are listed to users.
const PRESETS: &[(&str, &str)] = &[
    ("fast", include_str!("../../config/presets/fast.toml")),
    ("balanced", include_str!("../../config/presets/balanced.toml")),
    ("quality", include_str!("../../config/presets/quality.toml")),
];

/// The names of the built-in presets.
pub fn names() -> impl Iterator<Item = &'static str> {
    PRESETS.iter().map(|(name, _)| *name)
}

/// The TOML text of the preset `name`, or why there is none.
pub(crate) fn text(name: &str) -> Result<&'static str, String> {
    PRESETS.iter().find(|(n, _)| *n == name).map(|(_, text)| *text).ok_or_else(|| {
        format!(
            "unknown preset `{name}`; known presets: {}",
            names().collect::<Vec<_>>().join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::raw::RawConfig;

    #[test]
    fn every_preset_is_a_valid_layer_that_does_not_name_a_preset() {
        for name in names() {
            let raw: RawConfig = toml::from_str(text(name).unwrap())
                .unwrap_or_else(|e| panic!("preset {name}: {e}"));
            raw.check().unwrap_or_else(|e| panic!("preset {name}: {e:?}"));
            assert!(raw.preset.is_none(), "preset {name} must not choose a preset");
        }
    }

    #[test]
    fn unknown_preset_lists_the_known_ones() {
        let err = text("turbo").unwrap_err();
        assert!(err.contains("`turbo`") && err.contains("fast, balanced, quality"), "{err}");
    }
}
