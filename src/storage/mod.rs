//! Blob storage: object bytes live in a backend under UUID names, never under bucket or
//! key names. The metadata that gives them meaning lives in PostgreSQL. An object is one
//! blob, or the blobs of its multipart parts read in order ([`parts`]).

pub mod fs;
pub mod metered;
pub mod parts;
pub mod s3;

use std::fmt;
use std::io;
use std::ops::Range;
use std::pin::Pin;
use std::time::SystemTime;

use bytes::Bytes;
use futures::Stream;
use uuid::Uuid;

/// The name of a blob in the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlobId(pub Uuid);

impl BlobId {
    /// A fresh random name.
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }
}

impl Default for BlobId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.as_hyphenated().fmt(f)
    }
}

/// A stream of bytes going into or out of a backend.
pub type BlobStream = Pin<Box<dyn Stream<Item = Result<Bytes, io::Error>> + Send + Sync + 'static>>;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// No blob by that name.
    #[error("blob not found")]
    NotFound,
    /// The body ended before, or ran past, its declared length.
    #[error("body length {actual} differs from declared {declared}")]
    LengthMismatch {
        /// What the upload declared.
        declared: u64,
        /// What arrived.
        actual: u64,
    },
    /// The body ran past the limit of an upload of unknown length.
    #[error("body exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// Local I/O failed.
    #[error("storage i/o: {0}")]
    Io(#[from] io::Error),
    /// The S3 backend answered with an error or could not be reached.
    #[error("storage backend: {0}")]
    Backend(String),
}

/// What every backend provides. Object-safe; held as `Arc<dyn Storage>`.
#[async_trait::async_trait]
pub trait Storage: Send + Sync + 'static {
    /// Stores exactly `len` bytes from `body` under `id`. The blob becomes readable only
    /// when this returns `Ok` and is then durable; on error nothing is left under `id`.
    async fn put(&self, id: BlobId, body: BlobStream, len: u64) -> Result<(), StorageError>;

    /// Stores a body whose length is not known up front (a browser form upload), refusing
    /// it past `limit` bytes; returns its length. Memory stays bounded: `fs` streams to
    /// disk, `s3` sends parts of a few MiB.
    async fn put_unsized(&self, id: BlobId, body: BlobStream, limit: u64) -> Result<u64, StorageError>;

    /// Streams the blob, or the byte `range` of it.
    async fn get(&self, id: BlobId, range: Option<Range<u64>>) -> Result<BlobStream, StorageError>;

    /// Copies blob `from` to a new blob `to` (server-side where the backend can).
    async fn copy(&self, from: BlobId, to: BlobId) -> Result<(), StorageError>;

    /// Removes a blob. Removing a missing blob succeeds.
    async fn delete(&self, id: BlobId) -> Result<(), StorageError>;

    /// Blobs last written before `cutoff` (candidates for garbage collection).
    async fn list_older_than(&self, cutoff: SystemTime) -> Result<Vec<BlobId>, StorageError>;

    /// Whether the backend is reachable and usable.
    async fn health(&self) -> Result<(), StorageError>;

    /// Starts a backend multipart upload whose result will be blob `id`; returns the
    /// backend's handle for it. Multipart uploads of objects store their parts as blobs of
    /// their own ([`parts`]); this and the four methods after it serve the uploads begun
    /// before that, and the `s3` backend's own uploads of unknown length.
    async fn create_upload(&self, id: BlobId) -> Result<String, StorageError>;

    /// Stores part `number` (exactly `len` bytes) of an upload; returns the backend's token
    /// for the part. Storing the same number again replaces it.
    async fn put_part(
        &self,
        id: BlobId,
        upload: &str,
        number: i32,
        body: BlobStream,
        len: u64,
    ) -> Result<String, StorageError>;

    /// Forgets one stored part (a part replaced by a later upload of the same number).
    async fn delete_part(&self, id: BlobId, upload: &str, token: &str) -> Result<(), StorageError>;

    /// Assembles `parts` (number and token, ascending) into blob `id`, durably, and drops
    /// every part of the upload, listed or not.
    async fn complete_upload(&self, id: BlobId, upload: &str, parts: &[(i32, String)]) -> Result<(), StorageError>;

    /// Drops an upload and all its parts. Aborting an unknown upload succeeds.
    async fn abort_upload(&self, id: BlobId, upload: &str) -> Result<(), StorageError>;
}

/// Removes a blob in the background, logging failures (`gc` collects what is left).
pub fn delete_in_background(storage: std::sync::Arc<dyn Storage>, id: BlobId) {
    tokio::spawn(async move {
        if let Err(e) = storage.delete(id).await {
            tracing::warn!(blob = %id, error = %e, "could not delete blob; gc will collect it");
        }
    });
}
