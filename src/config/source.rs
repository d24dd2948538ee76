//! Where settings come from: every setting's name, the profile file, and the merged lookup
//! (defaults in code < `config/<ENVIRONMENT>.toml` < environment variables).

use std::collections::HashMap;
use std::fmt;

use super::ConfigError;

/// Where settings come from: a name to value lookup, in precedence order already merged.
pub(super) struct Source(pub(super) HashMap<String, String>);

impl Source {
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    pub(super) fn string(&self, name: &str, default: &str) -> String {
        self.get(name).unwrap_or(default).to_owned()
    }

    pub(super) fn parse<T: std::str::FromStr>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|e: T::Err| ConfigError::Invalid {
                name,
                reason: e.to_string(),
            }),
        }
    }

    pub(super) fn bool(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some("0" | "false" | "no" | "off") => Ok(false),
            Some(other) => Err(ConfigError::Invalid {
                name,
                reason: format!("expected true or false, got {other:?}"),
            }),
        }
    }
}

/// Every setting's name. The TOML profile may use these in lowercase.
pub const SETTINGS: &[&str] = &[
    "ENVIRONMENT",
    "GODRIVE_BIND_ADDR",
    "GODRIVE_API_PORT",
    "GODRIVE_LOG_LEVEL",
    "GODRIVE_LOG_FORMAT",
    "DATABASE_URL",
    "POSTGRES_HOST",
    "POSTGRES_PORT",
    "POSTGRES_DB",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRES_SSL_MODE",
    "GODRIVE_DB_MAX_CONNECTIONS",
    "GODRIVE_STORAGE",
    "GODRIVE_DATA_DIR",
    "MINIO_ENDPOINT",
    "MINIO_ROOT_USER",
    "MINIO_ROOT_PASSWORD",
    "MINIO_BUCKET",
    "MINIO_USE_SSL",
    "GODRIVE_MASTER_KEY",
    "GODRIVE_S3_REGION",
    "GODRIVE_S3_DOMAIN",
    "GODRIVE_GC_GRACE_SECS",
    "GODRIVE_AUTH_BCRYPT_COST",
    "GODRIVE_MULTIPART_MAX_AGE_SECS",
    "GODRIVE_JWT_SECRET",
    "GODRIVE_JWT_REFRESH_SECRET",
    "GODRIVE_AUTH_ACCESS_TOKEN_TTL",
    "GODRIVE_AUTH_REFRESH_TOKEN_TTL",
    "GODRIVE_ADMIN_EMAIL",
    "GODRIVE_ADMIN_PASSWORD",
    "GODRIVE_LOGIN_MAX_FAILURES",
    "GODRIVE_LOGIN_WINDOW",
    "GODRIVE_MAX_UPLOAD_BYTES",
    "GODRIVE_DEFAULT_QUOTA_BYTES",
    "ALLOW_CORS_ORIGINS",
    "GODRIVE_PRESIGN_MAX_EXPIRY",
    "GODRIVE_PUBLIC_URL",
    "GODRIVE_METRICS_ADDR",
    "GODRIVE_MAX_CONNECTIONS",
    "GODRIVE_HEADER_READ_TIMEOUT_SECS",
    "GODRIVE_IDLE_TIMEOUT_SECS",
    "GODRIVE_BODY_STALL_TIMEOUT_SECS",
    "GODRIVE_TRUSTED_PROXIES",
    "GODRIVE_REGISTER_MAX_PER_HOUR",
    "GODRIVE_MAX_HEADER_BYTES",
    "GODRIVE_KEY_RATE_LIMIT",
    "GODRIVE_INSTANCE_LEASE_SECS",
];

pub(super) fn read_profile(path: &std::path::Path) -> Result<HashMap<String, String>, ConfigError> {
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
