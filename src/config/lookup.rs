//! The lookup every setting goes through, the error that names a setting, and the small
//! readers the concerns share.

use std::fmt;

/// Where a setting is read from; lets tests and the runtime share the validation.
pub trait Settings {
    /// The setting's value, if it is set at all.
    fn get(&self, name: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String>> Settings for F {
    fn get(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// A setting that is missing or unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The environment name of the setting, e.g. `AUTH0_DOMAIN`.
    pub setting: &'static str,
    /// What is wrong and what to do, for a person.
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.setting, self.problem)
    }
}

impl std::error::Error for ConfigError {}

/// A setting's trimmed value; blank counts as unset.
pub(super) fn setting(settings: &impl Settings, name: &str) -> Option<String> {
    settings
        .get(name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A secret token shorter than `min` characters; the value itself is never echoed.
pub(super) fn too_short(name: &'static str, min: usize) -> ConfigError {
    ConfigError {
        setting: name,
        problem: format!(
            "is shorter than {min} characters; set a random one with \
             `openssl rand -hex 32 | npx wrangler secret put {name}`"
        ),
    }
}
