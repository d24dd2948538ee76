//! Configuration, loaded once at startup (checked by `validate`).
//!
//! Order, later wins: declared defaults < `config/<ENVIRONMENT>.toml` < environment
//! variables. Every setting is declared once, in `settings`, with its name (the environment
//! variable's; the TOML profile uses it in lowercase, `godrive_api_port = 8080`), type,
//! default and meaning; `Config` arranges the parsed settings for the rest of the program.
//! See `docs/CONFIGURATION.md`, which a test checks against the declaration.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use zeroize::Zeroizing;

mod declare;
mod settings;
mod source;
mod validate;
mod value;
pub use declare::SettingDoc;
use settings::Settings;
pub use settings::{CONFIG_DIR, REFERENCE, SETTINGS};
use source::Source;
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
    /// `GODRIVE_AUTH_ACCESS_TOKEN_TTL`.
    pub access_ttl: Seconds,
    /// `GODRIVE_AUTH_REFRESH_TOKEN_TTL`.
    pub refresh_ttl: Seconds,
    /// `GODRIVE_ADMIN_EMAIL`: the first admin, created at startup if missing.
    pub admin_email: Option<String>,
    /// `GODRIVE_ADMIN_PASSWORD`.
    pub admin_password: Secret,
    /// `GODRIVE_LOGIN_MAX_FAILURES`: failed logins per account, and per client address,
    /// within the window before further attempts get 429.
    pub login_max_failures: u32,
    /// `GODRIVE_LOGIN_WINDOW`.
    pub login_window: Seconds,
    /// `GODRIVE_REGISTER_MAX_PER_HOUR`: registrations from one client address per hour
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
    /// `POSTGRES_HOST`.
    pub host: String,
    /// `POSTGRES_PORT`.
    pub port: u16,
    /// `POSTGRES_DB`. Created at startup if missing.
    pub database: String,
    /// `POSTGRES_USER`.
    pub user: String,
    /// `POSTGRES_PASSWORD`; empty means trust or peer authentication.
    pub password: Secret,
    /// `POSTGRES_SSL_MODE`.
    pub ssl_mode: String,
    /// `GODRIVE_DB_MAX_CONNECTIONS`.
    pub max_connections: u32,
}

/// The S3 backend (MinIO or any S3), used when `GODRIVE_STORAGE=s3`.
#[derive(Debug, Clone)]
pub struct MinioConfig {
    /// `MINIO_ENDPOINT`: host:port or a full URL.
    pub endpoint: String,
    /// `MINIO_ROOT_USER`.
    pub root_user: String,
    /// `MINIO_ROOT_PASSWORD`.
    pub root_password: Secret,
    /// `MINIO_BUCKET`: the one backend bucket holding every blob.
    pub bucket: String,
    /// `MINIO_USE_SSL`.
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
    /// `ENVIRONMENT`: picks `config/<ENVIRONMENT>.toml`.
    pub environment: String,
    /// `GODRIVE_BIND_ADDR`: only this machine can connect unless set otherwise (compose
    /// sets 0.0.0.0 in the container).
    pub bind_addr: IpAddr,
    /// `GODRIVE_API_PORT`: S3 and `/v1` JSON on one port.
    pub api_port: u16,
    /// `GODRIVE_LOG_LEVEL`: a level or an `EnvFilter` directive list.
    pub log_level: String,
    /// `GODRIVE_LOG_FORMAT`: `pretty` or `json`.
    pub log_format: String,
    /// PostgreSQL settings.
    pub database: DatabaseConfig,
    /// `GODRIVE_STORAGE`: which backend holds the bytes.
    pub storage: StorageKind,
    /// `GODRIVE_DATA_DIR`: blob directory of the `fs` backend.
    pub data_dir: PathBuf,
    /// S3 backend settings.
    pub minio: MinioConfig,
    /// `GODRIVE_MASTER_KEY`: encrypts access-key secrets at rest.
    pub master_key: Secret,
    /// `GODRIVE_PREVIOUS_MASTER_KEYS`: earlier master keys, still accepted for reading.
    pub previous_master_keys: Option<Secret>,
    /// `GODRIVE_S3_REGION`: the region clients sign for.
    pub s3_region: String,
    /// `GODRIVE_S3_DOMAIN`: base domain for virtual-hosted style requests.
    pub s3_domain: Option<String>,
    /// `GODRIVE_GC_GRACE_SECS`: `gc` spares unreferenced blobs younger than this.
    pub gc_grace_secs: u64,
    /// `GODRIVE_AUTH_BCRYPT_COST`: bcrypt cost for password hashes.
    pub bcrypt_cost: u32,
    /// `GODRIVE_MULTIPART_MAX_AGE_SECS`: `gc` aborts multipart uploads left incomplete
    /// longer than this.
    pub multipart_max_age_secs: u64,
    /// Accounts and tokens of the JSON API.
    pub auth: AuthConfig,
    /// `GODRIVE_DEFAULT_QUOTA_BYTES`: storage quota of new users; `None` is unlimited.
    pub default_quota_bytes: Option<u64>,
    /// `GODRIVE_MAX_UPLOAD_BYTES`: largest file the JSON upload accepts.
    pub max_upload_bytes: u64,
    /// `GODRIVE_LIFECYCLE_DAY_SECS`: the length of a lifecycle day, in seconds.
    pub lifecycle_day_secs: u64,
    /// `GODRIVE_ALLOW_PUBLIC_BUCKETS`: whether public ACLs and bucket policies are accepted
    /// and served (off, like S3's Block Public Access).
    pub allow_public_buckets: bool,
    /// `ALLOW_CORS_ORIGINS`: origins allowed to call the JSON API from a browser,
    /// comma-separated, or `*`.
    pub cors_origins: Vec<String>,
    /// `GODRIVE_PRESIGN_MAX_EXPIRY`: the longest a presigned URL may live, whoever signed
    /// it.
    pub presign_max_expiry: Seconds,
    /// `GODRIVE_KEY_RATE_LIMIT`: S3 requests per second per access key, per instance (0:
    /// off); over it, `503 SlowDown`.
    pub key_rate_limit: u32,
    /// `GODRIVE_AUTH_CACHE_ENTRIES`: access keys, buckets and presigned links (each) an
    /// instance keeps in memory for S3 authorization (`accounts::cache`); 0: off.
    pub auth_cache_entries: usize,
    /// `GODRIVE_MAX_CONNECTIONS`: connections served at once. At the cap the one idle the
    /// longest is closed for a new one; only when all are busy does a new one wait.
    pub max_connections: usize,
    /// `GODRIVE_HEADER_READ_TIMEOUT_SECS`: the longest a request head may take to arrive,
    /// from its first byte; then `408` and the connection is closed.
    pub header_read_timeout_secs: u64,
    /// `GODRIVE_IDLE_TIMEOUT_SECS`: a keep-alive connection with no request in flight
    /// is closed after this long.
    pub idle_timeout_secs: u64,
    /// `GODRIVE_BODY_STALL_TIMEOUT_SECS`: an upload whose body sends nothing, or a
    /// download whose client reads nothing, for this long is dropped (and undone).
    pub body_stall_timeout_secs: u64,
    /// `GODRIVE_TRUSTED_PROXIES`: CIDRs or addresses of load balancers whose `Forwarded` /
    /// `X-Forwarded-For` name the client; from anyone else those headers are ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `GODRIVE_MAX_HEADER_BYTES`: the largest request head (request line and headers); a
    /// larger one is answered 431.
    pub max_header_bytes: usize,
    /// `GODRIVE_METRICS_ADDR`: the Prometheus `/metrics` listener; `None` when `off`.
    pub metrics_addr: Option<String>,
    /// `GODRIVE_PUBLIC_URL`: scheme and host of presigned URLs GoDrive makes; unset,
    /// the host the request came to.
    pub public_url: Option<String>,
    /// `GODRIVE_INSTANCE_LEASE_SECS`: how long a serving instance's lease lasts unless
    /// renewed (at least 4 seconds). It is renewed every quarter of it and every instance
    /// sweeps every half of it, so the quota reservations of an instance that died are
    /// released within about 1.5 leases.
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
        let config = Self::from_settings(Settings::load(&Source::merge(env)?)?);
        config.validate()?;
        Ok(config)
    }

    /// Arranges the flat, declared settings the way the rest of the program reads them.
    fn from_settings(s: Settings) -> Self {
        Self {
            environment: s.ENVIRONMENT,
            bind_addr: s.GODRIVE_BIND_ADDR,
            api_port: s.GODRIVE_API_PORT,
            log_level: s.GODRIVE_LOG_LEVEL,
            log_format: s.GODRIVE_LOG_FORMAT,
            database: DatabaseConfig {
                url: s.DATABASE_URL,
                host: s.POSTGRES_HOST,
                port: s.POSTGRES_PORT,
                database: s.POSTGRES_DB,
                user: s.POSTGRES_USER,
                password: s.POSTGRES_PASSWORD,
                ssl_mode: s.POSTGRES_SSL_MODE,
                max_connections: s.GODRIVE_DB_MAX_CONNECTIONS,
            },
            storage: s.GODRIVE_STORAGE,
            data_dir: s.GODRIVE_DATA_DIR,
            minio: MinioConfig {
                endpoint: s.MINIO_ENDPOINT,
                root_user: s.MINIO_ROOT_USER,
                root_password: s.MINIO_ROOT_PASSWORD,
                bucket: s.MINIO_BUCKET,
                use_ssl: s.MINIO_USE_SSL,
            },
            master_key: s.GODRIVE_MASTER_KEY,
            previous_master_keys: s.GODRIVE_PREVIOUS_MASTER_KEYS,
            s3_region: s.GODRIVE_S3_REGION,
            s3_domain: s.GODRIVE_S3_DOMAIN,
            gc_grace_secs: s.GODRIVE_GC_GRACE_SECS,
            bcrypt_cost: s.GODRIVE_AUTH_BCRYPT_COST,
            multipart_max_age_secs: s.GODRIVE_MULTIPART_MAX_AGE_SECS,
            auth: AuthConfig {
                jwt_secret: s.GODRIVE_JWT_SECRET,
                refresh_secret: s.GODRIVE_JWT_REFRESH_SECRET,
                access_ttl: s.GODRIVE_AUTH_ACCESS_TOKEN_TTL,
                refresh_ttl: s.GODRIVE_AUTH_REFRESH_TOKEN_TTL,
                admin_email: s.GODRIVE_ADMIN_EMAIL,
                admin_password: s.GODRIVE_ADMIN_PASSWORD,
                login_max_failures: s.GODRIVE_LOGIN_MAX_FAILURES,
                login_window: s.GODRIVE_LOGIN_WINDOW,
                register_max_per_hour: s.GODRIVE_REGISTER_MAX_PER_HOUR,
            },
            default_quota_bytes: s.GODRIVE_DEFAULT_QUOTA_BYTES,
            max_upload_bytes: s.GODRIVE_MAX_UPLOAD_BYTES,
            allow_public_buckets: s.GODRIVE_ALLOW_PUBLIC_BUCKETS,
            lifecycle_day_secs: s.GODRIVE_LIFECYCLE_DAY_SECS,
            cors_origins: s.ALLOW_CORS_ORIGINS,
            presign_max_expiry: s.GODRIVE_PRESIGN_MAX_EXPIRY,
            key_rate_limit: s.GODRIVE_KEY_RATE_LIMIT,
            auth_cache_entries: s.GODRIVE_AUTH_CACHE_ENTRIES,
            max_connections: s.GODRIVE_MAX_CONNECTIONS,
            header_read_timeout_secs: s.GODRIVE_HEADER_READ_TIMEOUT_SECS,
            idle_timeout_secs: s.GODRIVE_IDLE_TIMEOUT_SECS,
            body_stall_timeout_secs: s.GODRIVE_BODY_STALL_TIMEOUT_SECS,
            trusted_proxies: s.GODRIVE_TRUSTED_PROXIES,
            max_header_bytes: s.GODRIVE_MAX_HEADER_BYTES,
            metrics_addr: s.GODRIVE_METRICS_ADDR,
            public_url: s.GODRIVE_PUBLIC_URL,
            instance_lease_secs: s.GODRIVE_INSTANCE_LEASE_SECS,
        }
    }
}

#[cfg(test)]
mod reference_tests;
#[cfg(test)]
mod tests;
