//! GoDrive: an S3-compatible API facade with users, quotas and metadata in PostgreSQL.
//!
//! Two edges, `s3` (the S3 protocol, on `s3s`) and `api` (the JSON API under `/v1`), over
//! one core: `objects` (keys, the upload pipeline, quota reservations), `accounts` (users,
//! passwords, access keys, tokens) and `presign` (links and their audit). `db` holds all
//! SQL and `storage` all bytes; `server` accepts connections and routes each request to an
//! edge; `jobs` and `obs` sit beside them. The edges never import each other, the core
//! imports neither, and `db` and `storage` import no edge and no core module
//! (`scripts/check-layout.sh`).
#![forbid(unsafe_code)]

/// Accounts: email and password rules, access keys, the first admin, tokens, secrets.
pub mod accounts;
/// The JSON edge: handlers of the API under `/v1/`.
pub mod api;
/// Shared state built once at startup.
pub mod app;
/// S3 flexible checksums (CRC32, CRC32C, CRC64NVME, SHA1, SHA256).
pub mod checksum;
/// The command line: `serve`, `migrate`, `user`, `key`, `gc`.
pub mod cli;
/// Configuration: defaults < `config/<ENVIRONMENT>.toml` < environment.
pub mod config;
/// The web console: its embedded files, served under `/console/`.
pub mod console;
/// All SQL lives here.
pub mod db;
/// Background loops and maintenance commands: leases, roll-up, gc, reconcile.
pub mod jobs;
/// The object core both edges call: key rules, the upload pipeline, quota reservations.
pub mod objects;
/// Metrics, tracing and request counting.
pub mod obs;
/// Presigned URLs: reading their query, signing the ones GoDrive makes, auditing their use.
pub mod presign;
/// The S3 edge, built on `s3s`.
pub mod s3;
/// Listeners, connection limits, the `/v1` vs S3 split, graceful shutdown.
pub mod server;
/// Blob storage backends, named by UUID.
pub mod storage;
/// Rules for client text bound for PostgreSQL or an HTTP header (both edges use them).
pub mod text;
