//! Configuration, loaded once at startup (checked by `validate`).
//!
//! Order, later wins: defaults in code < `config/<ENVIRONMENT>.toml` < environment variables.
//! Every setting has one name, the environment variable's; the TOML profile uses the same
//! name in lowercase (`godrive_api_port = 8080`). See `docs/CONFIGURATION.md`.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use zeroize::Zeroizing;

mod source;
mod validate;
pub use source::SETTINGS;
use source::{Source, read_profile};
pub use validate::ENVIRONMENTS;

/// Master key used when none is configured. Refused in `production`.
pub const DEV_MASTER_KEY: &str = "godrive-development-master-key-do-not-use-in-production";
/// JWT signing secret used when none is configured. Refused in `production`.
pub const DEV_JWT_SECRET: &str = "godrive-development-jwt-secret-do-not-use-in-production";
/// Refresh-token HMAC secret used when none is configured. Refused in `production`.
pub const DEV_REFRESH_SECRET: &str = "godrive-development-refresh-secret-do-not-use-in-production";

/// A duration setting: plain seconds, or a number with `s`, `m`, `h` or `d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seconds(pub u64);

impl std::str::FromStr for Seconds {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
            Some(i) => s.split_at(i),
            None => (s, "s"),
        };
        let n: u64 = num
            .parse()
            .map_err(|_| format!("expected a duration like 900, 15m or 720h, got {s:?}"))?;
        let factor = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86400,
            _ => return Err(format!("unknown duration unit in {s:?} (use s, m, h or d)")),
        };
        Ok(Seconds(n * factor))
    }
}

/// The JSON API's accounts and tokens.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// `GODRIVE_JWT_SECRET`: signs access tokens (HS256).
    pub jwt_secret: Secret,
    /// `GODRIVE_JWT_REFRESH_SECRET`: refresh tokens are stored only as an HMAC under this.
    pub refresh_secret: Secret,
    /// `GODRIVE_AUTH_ACCESS_TOKEN_TTL` (15m).
    pub access_ttl: Seconds,
    /// `GODRIVE_AUTH_REFRESH_TOKEN_TTL` (720h).
    pub refresh_ttl: Seconds,
    /// `GODRIVE_ADMIN_EMAIL` (unset): the first admin, created at startup if missing.
    pub admin_email: Option<String>,
    /// `GODRIVE_ADMIN_PASSWORD` (unset).
    pub admin_password: Secret,
    /// `GODRIVE_LOGIN_MAX_FAILURES` (10): failed logins per account, and per client address,
    /// within the window before further attempts get 429.
    pub login_max_failures: u32,
    /// `GODRIVE_LOGIN_WINDOW` (15m).
    pub login_window: Seconds,
    /// `GODRIVE_REGISTER_MAX_PER_HOUR` (20): registrations from one client address per hour
    /// (each costs a bcrypt hash); then 429.
    pub register_max_per_hour: u32,
}

/// A configuration error, reported at startup.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value could not be parsed.
    #[error("invalid value for {name}: {reason}")]
    Invalid { name: &'static str, reason: String },
    /// The profile file could not be read or parsed.
    #[error("cannot read {path}: {reason}")]
    Profile { path: String, reason: String },
    /// Cross-field validation failed.
    #[error("{0}")]
    Rejected(String),
}

/// A secret string: redacted in `Debug`, wiped on drop.
#[derive(Clone, Default)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }
    /// The secret itself; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Whether no value was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"[redacted]\"" })
    }
}

/// Which blob backend stores object bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageKind {
    /// Local filesystem under `GODRIVE_DATA_DIR` (the embedded default).
    Fs,
    /// MinIO or any S3, through `aws-sdk-s3`.
    S3,
}

/// How to reach PostgreSQL.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// `DATABASE_URL`; when set it wins over the `POSTGRES_*` parts.
    pub url: Option<Secret>,
    /// `POSTGRES_HOST` (127.0.0.1).
    pub host: String,
    /// `POSTGRES_PORT` (5432).
    pub port: u16,
    /// `POSTGRES_DB` (godrive). Created at startup if missing.
    pub database: String,
    /// `POSTGRES_USER` (postgres).
    pub user: String,
    /// `POSTGRES_PASSWORD` (empty: trust or peer auth).
    pub password: Secret,
    /// `POSTGRES_SSL_MODE` (prefer).
    pub ssl_mode: String,
    /// `GODRIVE_DB_MAX_CONNECTIONS` (20).
    pub max_connections: u32,
}

/// The S3 backend (MinIO or any S3), used when `GODRIVE_STORAGE=s3`.
#[derive(Debug, Clone)]
pub struct MinioConfig {
    /// `MINIO_ENDPOINT` (127.0.0.1:9000), host:port or a full URL.
    pub endpoint: String,
    /// `MINIO_ROOT_USER` (minioadmin).
    pub root_user: String,
    /// `MINIO_ROOT_PASSWORD` (minioadmin).
    pub root_password: Secret,
    /// `MINIO_BUCKET` (godrive): the one backend bucket holding every blob.
    pub bucket: String,
    /// `MINIO_USE_SSL` (false).
    pub use_ssl: bool,
}

impl MinioConfig {
    /// The endpoint as a URL with scheme.
    pub fn endpoint_url(&self) -> String {
        if self.endpoint.contains("://") {
            self.endpoint.clone()
        } else {
            let scheme = if self.use_ssl { "https" } else { "http" };
            format!("{scheme}://{}", self.endpoint)
        }
    }
}

/// Everything the server and the CLI read.
#[derive(Debug, Clone)]
pub struct Config {
    /// `ENVIRONMENT` (development): picks `config/<ENVIRONMENT>.toml`.
    pub environment: String,
    /// `GODRIVE_BIND_ADDR` (127.0.0.1): only this machine can connect unless set otherwise
    /// (compose sets 0.0.0.0 in the container).
    pub bind_addr: IpAddr,
    /// `GODRIVE_API_PORT` (8080): S3 and `/v1` JSON on one port.
    pub api_port: u16,
    /// `GODRIVE_LOG_LEVEL` (info): a level or an `EnvFilter` directive list.
    pub log_level: String,
    /// `GODRIVE_LOG_FORMAT` (pretty): `pretty` or `json`.
    pub log_format: String,
    /// PostgreSQL settings.
    pub database: DatabaseConfig,
    /// `GODRIVE_STORAGE` (fs).
    pub storage: StorageKind,
    /// `GODRIVE_DATA_DIR` (./data): blob directory of the `fs` backend.
    pub data_dir: PathBuf,
    /// S3 backend settings.
    pub minio: MinioConfig,
    /// `GODRIVE_MASTER_KEY`: encrypts access-key secrets at rest.
    pub master_key: Secret,
    /// `GODRIVE_S3_REGION` (us-east-1): the region clients sign for.
    pub s3_region: String,
    /// `GODRIVE_S3_DOMAIN` (unset): base domain for virtual-hosted style requests.
    pub s3_domain: Option<String>,
    /// `GODRIVE_GC_GRACE_SECS` (3600): `gc` spares unreferenced blobs younger than this.
    pub gc_grace_secs: u64,
    /// `GODRIVE_AUTH_BCRYPT_COST` (12): bcrypt cost for password hashes.
    pub bcrypt_cost: u32,
    /// `GODRIVE_MULTIPART_MAX_AGE_SECS` (604800, 7 days): `gc` aborts multipart uploads
    /// left incomplete longer than this.
    pub multipart_max_age_secs: u64,
    /// Accounts and tokens of the JSON API.
    pub auth: AuthConfig,
    /// `GODRIVE_DEFAULT_QUOTA_BYTES` (unset: unlimited): storage quota of new users.
    pub default_quota_bytes: Option<u64>,
    /// `GODRIVE_MAX_UPLOAD_BYTES` (100000000): largest file the JSON upload accepts.
    pub max_upload_bytes: u64,
    /// `ALLOW_CORS_ORIGINS` (none): origins allowed to call the JSON API from a browser,
    /// comma-separated, or `*`.
    pub cors_origins: Vec<String>,
    /// `GODRIVE_PRESIGN_MAX_EXPIRY` (7d, S3's own limit): the longest a presigned URL may
    /// live, whoever signed it.
    pub presign_max_expiry: Seconds,
    /// `GODRIVE_KEY_RATE_LIMIT` (0: off): S3 requests per second per access key, per
    /// instance; over it, `503 SlowDown`.
    pub key_rate_limit: u32,
    /// `GODRIVE_MAX_CONNECTIONS` (1024): connections served at once. At the cap the one
    /// idle the longest is closed for a new one; only when all are busy does a new one wait.
    pub max_connections: usize,
    /// `GODRIVE_HEADER_READ_TIMEOUT_SECS` (10): the longest a request head may take to
    /// arrive, from its first byte; then `408` and the connection is closed.
    pub header_read_timeout_secs: u64,
    /// `GODRIVE_IDLE_TIMEOUT_SECS` (60): a keep-alive connection with no request in flight
    /// is closed after this long.
    pub idle_timeout_secs: u64,
    /// `GODRIVE_BODY_STALL_TIMEOUT_SECS` (30): an upload whose body sends nothing, or a
    /// download whose client reads nothing, for this long is dropped (and undone).
    pub body_stall_timeout_secs: u64,
    /// `GODRIVE_TRUSTED_PROXIES` (none): comma-separated CIDRs or addresses of load
    /// balancers whose `Forwarded` / `X-Forwarded-For` name the client; from anyone else
    /// those headers are ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `GODRIVE_MAX_HEADER_BYTES` (65536): the largest request head (request line and
    /// headers); a larger one is answered 431.
    pub max_header_bytes: usize,
    /// `GODRIVE_METRICS_ADDR` (127.0.0.1:9464): the Prometheus `/metrics` listener; `off`
    /// disables it.
    pub metrics_addr: Option<String>,
    /// `GODRIVE_PUBLIC_URL` (unset): scheme and host of presigned URLs GoDrive makes; unset,
    /// the host the request came to.
    pub public_url: Option<String>,
    /// `GODRIVE_INSTANCE_LEASE_SECS` (60, at least 4): how long a serving instance's lease
    /// lasts unless renewed. It is renewed every quarter of it and every instance sweeps
    /// every half of it, so the quota reservations of an instance that died are released
    /// within about 1.5 leases.
    pub instance_lease_secs: u64,
}

impl Config {
    /// The quota new users get, as stored.
    pub fn default_quota(&self) -> Option<i64> {
        self.default_quota_bytes.map(|q| i64::try_from(q).unwrap_or(i64::MAX))
    }

    /// Loads from `config/<ENVIRONMENT>.toml` (if present, relative to `GODRIVE_CONFIG_DIR`,
    /// default `./config`) and the process environment, then validates.
    pub fn load() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Loads with `env` as the environment (tests pass a map here).
    pub fn from_lookup(env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let environment = env("ENVIRONMENT").unwrap_or_else(|| "development".to_owned());
        let dir = env("GODRIVE_CONFIG_DIR").unwrap_or_else(|| "config".to_owned());
        let mut merged = read_profile(&PathBuf::from(dir).join(format!("{environment}.toml")))?;
        for name in SETTINGS {
            if let Some(v) = env(name) {
                merged.insert((*name).to_owned(), v);
            }
        }
        merged.insert("ENVIRONMENT".to_owned(), environment);
        let config = Self::from_source(&Source(merged))?;
        config.validate()?;
        Ok(config)
    }

    fn from_source(s: &Source) -> Result<Self, ConfigError> {
        let storage = match s.string("GODRIVE_STORAGE", "fs").to_ascii_lowercase().as_str() {
            "fs" => StorageKind::Fs,
            "s3" | "minio" => StorageKind::S3,
            other => {
                return Err(ConfigError::Invalid {
                    name: "GODRIVE_STORAGE",
                    reason: format!("expected fs or s3, got {other:?}"),
                });
            }
        };
        Ok(Self {
            environment: s.string("ENVIRONMENT", "development"),
            bind_addr: s.parse("GODRIVE_BIND_ADDR", IpAddr::from([127, 0, 0, 1]))?,
            api_port: s.parse("GODRIVE_API_PORT", 8080)?,
            log_level: s.string("GODRIVE_LOG_LEVEL", "info"),
            log_format: s.string("GODRIVE_LOG_FORMAT", "pretty"),
            database: DatabaseConfig {
                url: s.get("DATABASE_URL").map(Secret::new),
                host: s.string("POSTGRES_HOST", "127.0.0.1"),
                port: s.parse("POSTGRES_PORT", 5432)?,
                database: s.string("POSTGRES_DB", "godrive"),
                user: s.string("POSTGRES_USER", "postgres"),
                password: Secret::new(s.string("POSTGRES_PASSWORD", "")),
                ssl_mode: s.string("POSTGRES_SSL_MODE", "prefer"),
                max_connections: s.parse("GODRIVE_DB_MAX_CONNECTIONS", 20)?,
            },
            storage,
            data_dir: PathBuf::from(s.string("GODRIVE_DATA_DIR", "./data")),
            minio: MinioConfig {
                endpoint: s.string("MINIO_ENDPOINT", "127.0.0.1:9000"),
                root_user: s.string("MINIO_ROOT_USER", "minioadmin"),
                root_password: Secret::new(s.string("MINIO_ROOT_PASSWORD", "minioadmin")),
                bucket: s.string("MINIO_BUCKET", "godrive"),
                use_ssl: s.bool("MINIO_USE_SSL", false)?,
            },
            master_key: Secret::new(s.string("GODRIVE_MASTER_KEY", DEV_MASTER_KEY)),
            s3_region: s.string("GODRIVE_S3_REGION", "us-east-1"),
            s3_domain: s.get("GODRIVE_S3_DOMAIN").map(str::to_owned),
            gc_grace_secs: s.parse("GODRIVE_GC_GRACE_SECS", 3600)?,
            bcrypt_cost: s.parse("GODRIVE_AUTH_BCRYPT_COST", 12)?,
            multipart_max_age_secs: s.parse("GODRIVE_MULTIPART_MAX_AGE_SECS", 7 * 24 * 3600)?,
            auth: AuthConfig {
                jwt_secret: Secret::new(s.string("GODRIVE_JWT_SECRET", DEV_JWT_SECRET)),
                refresh_secret: Secret::new(s.string("GODRIVE_JWT_REFRESH_SECRET", DEV_REFRESH_SECRET)),
                access_ttl: s.parse("GODRIVE_AUTH_ACCESS_TOKEN_TTL", Seconds(900))?,
                refresh_ttl: s.parse("GODRIVE_AUTH_REFRESH_TOKEN_TTL", Seconds(720 * 3600))?,
                admin_email: s
                    .get("GODRIVE_ADMIN_EMAIL")
                    .map(|e| {
                        crate::accounts::normalize_email(e).map_err(|e| ConfigError::Invalid {
                            name: "GODRIVE_ADMIN_EMAIL",
                            reason: e.to_string(),
                        })
                    })
                    .transpose()?,
                admin_password: Secret::new(s.string("GODRIVE_ADMIN_PASSWORD", "")),
                login_max_failures: s.parse("GODRIVE_LOGIN_MAX_FAILURES", 10)?,
                login_window: s.parse("GODRIVE_LOGIN_WINDOW", Seconds(900))?,
                register_max_per_hour: s.parse("GODRIVE_REGISTER_MAX_PER_HOUR", 20)?,
            },
            default_quota_bytes: match s.get("GODRIVE_DEFAULT_QUOTA_BYTES") {
                None => None,
                Some(v) => Some(v.parse().map_err(|e: std::num::ParseIntError| ConfigError::Invalid {
                    name: "GODRIVE_DEFAULT_QUOTA_BYTES",
                    reason: e.to_string(),
                })?),
            },
            max_upload_bytes: s.parse("GODRIVE_MAX_UPLOAD_BYTES", 100_000_000)?,
            cors_origins: s
                .string("ALLOW_CORS_ORIGINS", "")
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(str::to_owned)
                .collect(),
            presign_max_expiry: s.parse("GODRIVE_PRESIGN_MAX_EXPIRY", Seconds(7 * 24 * 3600))?,
            max_connections: s.parse("GODRIVE_MAX_CONNECTIONS", 1024)?,
            header_read_timeout_secs: s.parse("GODRIVE_HEADER_READ_TIMEOUT_SECS", 10)?,
            idle_timeout_secs: s.parse("GODRIVE_IDLE_TIMEOUT_SECS", 60)?,
            body_stall_timeout_secs: s.parse("GODRIVE_BODY_STALL_TIMEOUT_SECS", 30)?,
            trusted_proxies: s
                .string("GODRIVE_TRUSTED_PROXIES", "")
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(|n| {
                    n.parse::<ipnet::IpNet>()
                        .or_else(|_| n.parse::<IpAddr>().map(ipnet::IpNet::from))
                        .map_err(|_| ConfigError::Invalid {
                            name: "GODRIVE_TRUSTED_PROXIES",
                            reason: format!("{n:?} is not an address or a CIDR such as 10.0.0.0/8"),
                        })
                })
                .collect::<Result<_, _>>()?,
            key_rate_limit: s.parse("GODRIVE_KEY_RATE_LIMIT", 0)?,
            max_header_bytes: s.parse("GODRIVE_MAX_HEADER_BYTES", 65536)?,
            metrics_addr: match s.string("GODRIVE_METRICS_ADDR", "127.0.0.1:9464").as_str() {
                "off" => None,
                a => Some(a.to_owned()),
            },
            public_url: s.get("GODRIVE_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_owned()),
            instance_lease_secs: s.parse("GODRIVE_INSTANCE_LEASE_SECS", 60)?,
        })
    }
}

#[cfg(test)]
mod tests;
