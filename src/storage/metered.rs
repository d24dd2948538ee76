//! A [`Storage`] that times every backend operation and counts its failures.

use std::future::Future;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use super::{BlobId, BlobStream, Storage, StorageError};
use crate::obs::metrics::{BackendLabels, METRICS};

const OPERATIONS: [&str; 11] = [
    "put",
    "get",
    "copy",
    "delete",
    "list",
    "health",
    "create_upload",
    "put_part",
    "delete_part",
    "complete_upload",
    "abort_upload",
];

/// Wraps a backend; `backend` is its metrics label (`fs` or `s3`).
pub struct Metered {
    inner: Arc<dyn Storage>,
    backend: &'static str,
}

impl Metered {
    /// Meters `inner`.
    pub fn new(inner: Arc<dyn Storage>, backend: &'static str) -> Self {
        // Error counters start at zero, so an error-rate alert has series from the start.
        for operation in OPERATIONS {
            let _ = METRICS
                .backend_errors
                .get_or_create(&BackendLabels { backend, operation });
        }
        Self { inner, backend }
    }

    async fn timed<T>(
        &self,
        operation: &'static str,
        f: impl Future<Output = Result<T, StorageError>>,
    ) -> Result<T, StorageError> {
        let started = Instant::now();
        let res = f.await;
        let labels = BackendLabels {
            backend: self.backend,
            operation,
        };
        METRICS
            .backend_duration
            .get_or_create(&labels)
            .observe(started.elapsed().as_secs_f64());
        // A missing blob or a body of the wrong size is an answer, not a backend failure.
        if let Err(e) = &res
            && !matches!(
                e,
                StorageError::NotFound | StorageError::TooLarge { .. } | StorageError::LengthMismatch { .. }
            )
        {
            METRICS.backend_errors.get_or_create(&labels).inc();
        }
        res
    }
}

#[async_trait::async_trait]
impl Storage for Metered {
    async fn put(&self, id: BlobId, body: BlobStream, len: u64) -> Result<(), StorageError> {
        self.timed("put", self.inner.put(id, body, len)).await
    }

    async fn put_unsized(&self, id: BlobId, body: BlobStream, limit: u64) -> Result<u64, StorageError> {
        self.timed("put", self.inner.put_unsized(id, body, limit)).await
    }

    async fn get(&self, id: BlobId, range: Option<Range<u64>>) -> Result<BlobStream, StorageError> {
        self.timed("get", self.inner.get(id, range)).await
    }

    async fn copy(&self, from: BlobId, to: BlobId) -> Result<(), StorageError> {
        self.timed("copy", self.inner.copy(from, to)).await
    }

    async fn delete(&self, id: BlobId) -> Result<(), StorageError> {
        self.timed("delete", self.inner.delete(id)).await
    }

    async fn list_older_than(&self, cutoff: SystemTime) -> Result<Vec<BlobId>, StorageError> {
        self.timed("list", self.inner.list_older_than(cutoff)).await
    }

    async fn health(&self) -> Result<(), StorageError> {
        self.timed("health", self.inner.health()).await
    }

    async fn create_upload(&self, id: BlobId) -> Result<String, StorageError> {
        self.timed("create_upload", self.inner.create_upload(id)).await
    }

    async fn put_part(
        &self,
        id: BlobId,
        upload: &str,
        number: i32,
        body: BlobStream,
        len: u64,
    ) -> Result<String, StorageError> {
        self.timed("put_part", self.inner.put_part(id, upload, number, body, len))
            .await
    }

    async fn delete_part(&self, id: BlobId, upload: &str, token: &str) -> Result<(), StorageError> {
        self.timed("delete_part", self.inner.delete_part(id, upload, token))
            .await
    }

    async fn complete_upload(&self, id: BlobId, upload: &str, parts: &[(i32, String)]) -> Result<(), StorageError> {
        self.timed("complete_upload", self.inner.complete_upload(id, upload, parts))
            .await
    }

    async fn abort_upload(&self, id: BlobId, upload: &str) -> Result<(), StorageError> {
        self.timed("abort_upload", self.inner.abort_upload(id, upload)).await
    }
}
