//! Checks run once at startup, after loading: an unknown profile, log level or database URL
//! is refused rather than ignored, and the public development secrets are accepted only by
//! a development server that nobody else can reach.

use super::{Config, ConfigError, DEV_JWT_SECRET, DEV_MASTER_KEY, DEV_REFRESH_SECRET, StorageKind};

impl Config {
    /// Cross-field checks, run once at startup: an unknown profile, log level or database
    /// URL is refused rather than ignored, and the public development secrets are accepted
    /// only by a development server that nobody else can reach.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let reject = |m: &str| Err(ConfigError::Rejected(m.to_owned()));
        if !ENVIRONMENTS.contains(&self.environment.as_str()) {
            return reject(&format!(
                "ENVIRONMENT must be one of {}, got {:?}",
                ENVIRONMENTS.join(", "),
                self.environment
            ));
        }
        if !valid_log_level(&self.log_level) {
            return reject(&format!(
                "GODRIVE_LOG_LEVEL must be trace, debug, info, warn, error or off, or directives such as info,godrive=debug; got {:?}",
                self.log_level
            ));
        }
        if !matches!(self.log_format.as_str(), "pretty" | "json") {
            return reject("GODRIVE_LOG_FORMAT must be pretty or json");
        }
        if let Some(url) = &self.database.url {
            check_database_url(url.expose()).map_err(|reason| ConfigError::Invalid {
                name: "DATABASE_URL",
                reason,
            })?;
        }
        if self.master_key.expose().len() < 32 {
            return reject("GODRIVE_MASTER_KEY must be at least 32 characters");
        }
        if !(4..=31).contains(&self.bcrypt_cost) {
            return reject("GODRIVE_AUTH_BCRYPT_COST must be between 4 and 31");
        }
        if self.auth.jwt_secret.expose().len() < 32 || self.auth.refresh_secret.expose().len() < 32 {
            return reject("GODRIVE_JWT_SECRET and GODRIVE_JWT_REFRESH_SECRET must be at least 32 characters");
        }
        if self.auth.access_ttl.0 == 0 || self.auth.refresh_ttl.0 == 0 {
            return reject("token TTLs must be positive");
        }
        if self.header_read_timeout_secs == 0 || self.idle_timeout_secs == 0 || self.body_stall_timeout_secs == 0 {
            return reject(
                "GODRIVE_HEADER_READ_TIMEOUT_SECS, GODRIVE_IDLE_TIMEOUT_SECS and GODRIVE_BODY_STALL_TIMEOUT_SECS must be positive",
            );
        }
        if self.auth.admin_email.is_some()
            && crate::accounts::check_password(self.auth.admin_password.expose()).is_err()
        {
            return reject(
                "GODRIVE_ADMIN_EMAIL needs GODRIVE_ADMIN_PASSWORD of at least 8 characters and at most 72 bytes",
            );
        }
        if self.instance_lease_secs < 4 {
            return reject("GODRIVE_INSTANCE_LEASE_SECS must be at least 4");
        }
        if self.lifecycle_day_secs == 0 {
            return reject("GODRIVE_LIFECYCLE_DAY_SECS must be at least 1");
        }
        if self.minio.bucket.is_empty() {
            return reject("MINIO_BUCKET must not be empty");
        }
        let missing = self.missing_secrets();
        if !missing.is_empty() {
            let why = if self.environment == "development" {
                format!("listening on {} (not a loopback address)", self.bind_addr)
            } else {
                format!("ENVIRONMENT={}", self.environment)
            };
            return reject(&format!(
                "{why} needs {}: the development defaults are public and accepted only with ENVIRONMENT=development on a loopback GODRIVE_BIND_ADDR",
                missing.join(", ")
            ));
        }
        Ok(())
    }

    /// The secrets still at their public development defaults (or missing) where those are
    /// not allowed: every profile but development, and development on a non-loopback address.
    fn missing_secrets(&self) -> Vec<&'static str> {
        let development = self.environment == "development";
        let mut missing = Vec::new();
        if development && self.bind_addr.is_loopback() {
            return missing;
        }
        if self.master_key.expose() == DEV_MASTER_KEY {
            missing.push("GODRIVE_MASTER_KEY");
        }
        if self.auth.jwt_secret.expose() == DEV_JWT_SECRET {
            missing.push("GODRIVE_JWT_SECRET");
        }
        if self.auth.refresh_secret.expose() == DEV_REFRESH_SECRET {
            missing.push("GODRIVE_JWT_REFRESH_SECRET");
        }
        if self.environment == "production" && self.database.url.is_none() && self.database.password.is_empty() {
            missing.push("POSTGRES_PASSWORD (or DATABASE_URL)");
        }
        if !development && self.storage == StorageKind::S3 && self.minio.root_password.expose() == "minioadmin" {
            missing.push("MINIO_ROOT_PASSWORD");
        }
        missing
    }
}

/// The profiles `ENVIRONMENT` may name.
pub const ENVIRONMENTS: [&str; 3] = ["development", "staging", "production"];

/// A level, or `EnvFilter` directives whose every part names a level (`info,s3s=debug`):
/// a lone word that is not a level (`verbose`) would otherwise pass as a target name.
fn valid_log_level(value: &str) -> bool {
    const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];
    let level_ok = |l: &str| LEVELS.contains(&l.trim().to_ascii_lowercase().as_str());
    !value.trim().is_empty()
        && value.split(',').all(|part| match part.rsplit_once('=') {
            Some((target, level)) => !target.trim().is_empty() && level_ok(level),
            None => level_ok(part),
        })
        && tracing_subscriber::EnvFilter::try_new(value).is_ok()
}

/// A `postgres://` URL that names a host and a database.
fn check_database_url(url: &str) -> Result<(), String> {
    let shape = "expected postgres://user:password@host:port/database";
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
        .ok_or_else(|| format!("not a postgres:// URL ({shape})"))?;
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    let database = rest
        .split_once('/')
        .map(|(_, d)| d.split('?').next().unwrap_or_default())
        .unwrap_or_default();
    // `postgres:///db?host=/run/postgresql` names a socket folder instead of a host.
    if (host.is_empty() && !url.contains("host=")) || database.is_empty() {
        return Err(format!("missing host or database name ({shape})"));
    }
    <sqlx::postgres::PgConnectOptions as std::str::FromStr>::from_str(url)
        .map(|_| ())
        .map_err(|e| format!("{e} ({shape})"))
}
