//! Every setting, declared once: name, type, default and one line on what it does. From this
//! come `Settings` and its parsing, `SETTINGS` (the names a profile may use, in lowercase)
//! and `REFERENCE`, which docs/CONFIGURATION.md and `.env.example` are checked against.
//! A default is written as the text one would set (`"15m"`); an entry without one is unset
//! unless given (its type takes the empty text: `Option<_>`, `Secret`, a list).

use std::net::IpAddr;
use std::path::PathBuf;

use super::declare::settings;
use super::{DEV_JWT_SECRET, DEV_MASTER_KEY, DEV_REFRESH_SECRET, Seconds, Secret, SettingDoc, StorageKind, value};

settings! {
    /// Profile to load: `development`, `staging` or `production`.
    ENVIRONMENT: String = "development";
    /// Address to listen on; only this machine can connect by default.
    GODRIVE_BIND_ADDR: IpAddr = "127.0.0.1";
    /// One port for S3 and the JSON API under `/v1/`.
    GODRIVE_API_PORT: u16 = "8080";
    /// A level or an `EnvFilter` directive list (`info,godrive=debug`).
    GODRIVE_LOG_LEVEL: String = "info";
    /// `pretty` or `json`.
    GODRIVE_LOG_FORMAT: String = "pretty";
    /// Full PostgreSQL URL; wins over the `POSTGRES_*` parts.
    DATABASE_URL: Option<Secret>;
    /// PostgreSQL host.
    POSTGRES_HOST: String = "127.0.0.1";
    /// PostgreSQL port.
    POSTGRES_PORT: u16 = "5432";
    /// Database name; created at startup if missing.
    POSTGRES_DB: String = "godrive";
    /// PostgreSQL user.
    POSTGRES_USER: String = "postgres";
    /// PostgreSQL password; empty means trust or peer authentication.
    POSTGRES_PASSWORD: Secret, shown "empty";
    /// `disable`, `allow`, `prefer`, `require`, `verify-ca` or `verify-full`.
    POSTGRES_SSL_MODE: String = "prefer";
    /// Database pool size per instance.
    GODRIVE_DB_MAX_CONNECTIONS: u32 = "20";
    /// Blob backend: `fs` (embedded filesystem) or `s3` (MinIO or any S3).
    GODRIVE_STORAGE: StorageKind = "fs";
    /// Blob directory of the `fs` backend.
    GODRIVE_DATA_DIR: PathBuf = "./data";
    /// S3 backend endpoint, `host:port` or a URL.
    MINIO_ENDPOINT: String = "127.0.0.1:9000";
    /// S3 backend access key.
    MINIO_ROOT_USER: String = "minioadmin";
    /// S3 backend secret key.
    MINIO_ROOT_PASSWORD: Secret = "minioadmin";
    /// The one backend bucket holding every blob; created at startup if missing.
    MINIO_BUCKET: String = "godrive";
    /// Use `https` when `MINIO_ENDPOINT` has no scheme.
    MINIO_USE_SSL: bool = "false";
    /// Encrypts access-key secrets at rest; at least 32 characters.
    GODRIVE_MASTER_KEY: Secret = DEV_MASTER_KEY, shown "development key";
    /// Earlier master keys, comma-separated, still accepted for reading until `godrive master-key rotate` has re-sealed every secret under the current one.
    GODRIVE_PREVIOUS_MASTER_KEYS: Option<Secret>;
    /// Region clients sign for.
    GODRIVE_S3_REGION: String = "us-east-1";
    /// Base domain for virtual-hosted style requests (`bucket.<domain>`).
    GODRIVE_S3_DOMAIN: Option<String>;
    /// `gc` spares unreferenced blobs younger than this many seconds.
    GODRIVE_GC_GRACE_SECS: u64 = "3600";
    /// bcrypt cost for password hashes (4 to 31).
    GODRIVE_AUTH_BCRYPT_COST: u32 = "12";
    /// `gc` aborts multipart uploads left incomplete longer than this many seconds.
    GODRIVE_MULTIPART_MAX_AGE_SECS: u64 = "604800";
    /// Signs JSON API access tokens (HS256); at least 32 characters.
    GODRIVE_JWT_SECRET: Secret = DEV_JWT_SECRET, shown "development value";
    /// Refresh tokens are stored only as an HMAC under this; at least 32 characters.
    GODRIVE_JWT_REFRESH_SECRET: Secret = DEV_REFRESH_SECRET, shown "development value";
    /// Access token lifetime: seconds or `s`/`m`/`h`/`d`.
    GODRIVE_AUTH_ACCESS_TOKEN_TTL: Seconds = "15m";
    /// Refresh token lifetime.
    GODRIVE_AUTH_REFRESH_TOKEN_TTL: Seconds = "720h";
    /// The first admin, created at startup if no user has this email.
    GODRIVE_ADMIN_EMAIL: Option<String>, parse value::email;
    /// The first admin's password.
    GODRIVE_ADMIN_PASSWORD: Secret;
    /// Failed logins per account and client address within the window; then 429.
    GODRIVE_LOGIN_MAX_FAILURES: u32 = "10";
    /// The login throttling window.
    GODRIVE_LOGIN_WINDOW: Seconds = "15m";
    /// Registrations per client address per hour; then 429.
    GODRIVE_REGISTER_MAX_PER_HOUR: u32 = "20";
    /// Load balancers (addresses or CIDRs) whose forwarding headers name the client.
    GODRIVE_TRUSTED_PROXIES: Vec<ipnet::IpNet>;
    /// Largest file the JSON upload accepts.
    GODRIVE_MAX_UPLOAD_BYTES: u64 = "100000000";
    /// Length of a lifecycle "day" in seconds (rules count days of this length).
    GODRIVE_LIFECYCLE_DAY_SECS: u64 = "86400";
    /// Whether buckets and objects may be made public (canned ACLs, bucket policies).
    GODRIVE_ALLOW_PUBLIC_BUCKETS: bool = "false";
    /// Storage quota of new users in bytes; unset means unlimited.
    GODRIVE_DEFAULT_QUOTA_BYTES: Option<u64>;
    /// Browser origins allowed to call `/v1` (comma-separated, or `*`).
    ALLOW_CORS_ORIGINS: Vec<String>;
    /// Longest lifetime of a presigned URL, whoever signed it.
    GODRIVE_PRESIGN_MAX_EXPIRY: Seconds = "7d";
    /// Scheme and host of the presigned URLs GoDrive makes; unset, the request's host.
    GODRIVE_PUBLIC_URL: Option<String>, parse value::base_url;
    /// Listener of the Prometheus `/metrics` endpoint; `off` disables it.
    GODRIVE_METRICS_ADDR: Option<String> = "127.0.0.1:9464", parse value::address_or_off;
    /// Connections served at once; at the cap the longest idle one is closed for a new one.
    GODRIVE_MAX_CONNECTIONS: usize = "1024";
    /// Seconds a request head may take from its first byte; then 408.
    GODRIVE_HEADER_READ_TIMEOUT_SECS: u64 = "10";
    /// Seconds a keep-alive connection with no request in flight stays open.
    GODRIVE_IDLE_TIMEOUT_SECS: u64 = "60";
    /// Seconds an upload or download may move no byte before it is dropped (and undone).
    GODRIVE_BODY_STALL_TIMEOUT_SECS: u64 = "30";
    /// Largest request head (request line and headers); a larger one gets 431.
    GODRIVE_MAX_HEADER_BYTES: usize = "65536";
    /// S3 requests per second per access key, per instance; over it, 503 SlowDown.
    GODRIVE_KEY_RATE_LIMIT: u32 = "0", shown "`0` (off)";
    /// Access keys, buckets and presigned links (each) an instance keeps for S3 authorization; `0`: off.
    GODRIVE_AUTH_CACHE_ENTRIES: usize = "10000";
    /// Lease of a serving instance in seconds (at least 4).
    GODRIVE_INSTANCE_LEASE_SECS: u64 = "60";
}

/// Where profiles are looked up. Read from the environment only, before the profile it
/// locates, so it is no profile key and no field of `Settings`.
pub const CONFIG_DIR: SettingDoc = SettingDoc {
    name: "GODRIVE_CONFIG_DIR",
    default: "./config",
    shown: None,
    doc: "Where profiles are looked up.",
};

/// The declared default of `ENVIRONMENT`, which picks the profile before it is read.
pub(super) fn default_environment() -> &'static str {
    REFERENCE
        .iter()
        .find(|s| s.name == "ENVIRONMENT")
        .map_or("", |s| s.default)
}
