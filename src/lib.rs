//! GoDrive: an S3-compatible API facade with users, quotas and metadata in PostgreSQL.
#![forbid(unsafe_code)]

/// Account rules: emails and passwords.
pub mod accounts;
/// HTTP handlers of the JSON API under `/v1/`.
pub mod api;
/// Shared state built once at startup.
pub mod app;
/// The audit of presigned URL use, buffered and written in batches.
pub mod audit;
/// S3 flexible checksums (CRC32, CRC32C, CRC64NVME, SHA1, SHA256).
pub mod checksum;
/// The command line: `serve`, `migrate`, `user`, `key`, `gc`.
pub mod cli;
/// Configuration: defaults < `config/<ENVIRONMENT>.toml` < environment.
pub mod config;
/// Encryption of secrets at rest, password hashing, credential generation.
pub mod crypto;
/// All SQL lives here.
pub mod db;
/// Garbage collection of backend blobs no metadata row references.
pub mod gc;
/// Instance leases: the heartbeat, and the sweep of dead instances' quota reservations.
pub mod lease;
/// Prometheus metrics of this instance.
pub mod metrics;
/// The object core both edges call: the upload pipeline and its integrity checks.
pub mod objects;
/// Presigned URLs: reading their query, signing the ones GoDrive makes.
pub mod presign;
/// Quota reservations taken before an upload's body is read.
pub mod quota;
/// Requests per access key, per instance.
pub mod ratelimit;
/// Usage reconciliation: counters against objects, objects against the backend.
pub mod reconcile;
/// Request counts per user, operation and day, flushed in batches.
pub mod requests;
/// The daily usage roll-up, one instance at a time.
pub mod rollup;
/// The S3 protocol side, built on `s3s`.
pub mod s3;
/// The `/metrics` listener and the gauges read at scrape time.
pub mod scrape;
/// Listeners, the `/v1` vs S3 split, graceful shutdown.
pub mod server;
/// Blob storage backends, named by UUID.
pub mod storage;
/// Tracing subscriber setup.
pub mod telemetry;
/// Rules for client text bound for PostgreSQL or an HTTP header (both edges use them).
pub mod text;
/// JSON API credentials: JWT access tokens, HMAC-stored refresh tokens.
pub mod tokens;
