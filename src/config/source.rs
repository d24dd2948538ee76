//! Where settings come from: the profile file and the environment, merged into one lookup
//! (`config/<ENVIRONMENT>.toml` < environment variables; the declared defaults come last).

use std::collections::HashMap;
use std::path::Path;

use super::ConfigError;
use super::settings::{CONFIG_DIR, SETTINGS, default_environment};

/// Where settings come from: a name to value lookup, in precedence order already merged.
pub(super) struct Source(HashMap<String, String>);

impl Source {
    /// The profile `config/<ENVIRONMENT>.toml` (under `GODRIVE_CONFIG_DIR`, if present)
    /// overridden by every setting `env` gives, and `ENVIRONMENT` as `env` gives it or its
    /// default.
    pub(super) fn merge(env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let environment = env("ENVIRONMENT").unwrap_or_else(|| default_environment().to_owned());
        let dir = env(CONFIG_DIR.name).unwrap_or_else(|| CONFIG_DIR.default.to_owned());
        let mut merged = read_profile(&Path::new(&dir).join(format!("{environment}.toml")))?;
        for name in SETTINGS {
            if let Some(v) = env(name) {
                merged.insert((*name).to_owned(), v);
            }
        }
        merged.insert("ENVIRONMENT".to_owned(), environment);
        Ok(Self(merged))
    }

    /// A setting's value; an empty one counts as unset.
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// A setting's value, or `default` when unset, parsed by `parse`; an invalid one is
    /// `ConfigError::Invalid`, naming the setting.
    pub(super) fn parse<T>(
        &self,
        name: &'static str,
        default: &str,
        parse: fn(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        parse(self.get(name).unwrap_or(default)).map_err(|reason| ConfigError::Invalid { name, reason })
    }
}

fn read_profile(path: &Path) -> Result<HashMap<String, String>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => {
            return Err(ConfigError::Profile {
                path: path.display().to_string(),
                reason: e.to_string(),
            });
        }
    };
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError::Profile {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let mut out = HashMap::new();
    for (k, v) in table {
        let name = k.to_ascii_uppercase();
        if !SETTINGS.contains(&name.as_str()) {
            return Err(ConfigError::Profile {
                path: path.display().to_string(),
                reason: format!("unknown setting {k:?}"),
            });
        }
        let value = match v {
            toml::Value::String(s) => s,
            other => other.to_string(),
        };
        out.insert(name, value);
    }
    Ok(out)
}
