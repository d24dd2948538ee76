//! Garbage collection: release expired quota reservations, abort multipart uploads left
//! incomplete too long (their part blobs with them), then delete backend blobs that no row
//! references (no object, as its blob or one of its part blobs, and no part of an upload in
//! progress) and that are older than a grace period (so uploads in flight are never
//! touched).

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use crate::app::AppState;
use crate::db::{self, DbError};
use crate::storage::{BlobId, StorageError, parts};

/// What a gc run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GcReport {
    /// Blobs older than the grace period.
    pub scanned: usize,
    /// Unreferenced blobs found (and deleted unless dry-run).
    pub orphans: usize,
    /// Stale multipart uploads found (and aborted unless dry-run).
    pub stale_uploads: usize,
    /// Expired quota reservations released (left by instances that crashed mid-upload).
    pub expired_reservations: u64,
}

/// A gc failure.
#[derive(Debug, thiserror::Error)]
pub enum GcError {
    /// Listing or deleting blobs failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Reading references failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Aborts one multipart upload: its row first (once it is gone no part can be recorded
/// against it), then its reservations and its parts' bytes. `false` if it was gone already.
pub async fn abort_upload(state: &AppState, upload: &db::multipart::Upload) -> Result<bool, GcError> {
    let mut conn = state.db.acquire().await.map_err(DbError::from)?;
    let Some(dropped) = db::multipart::remove(&mut conn, upload.id).await? else {
        return Ok(false);
    };
    drop(conn);
    for r in &dropped.reservations {
        db::quota::release(&state.db, *r).await?;
    }
    let parts: Vec<BlobId> = dropped.part_blobs.iter().map(|b| BlobId(*b)).collect();
    parts::drop_upload(&state.storage, BlobId(upload.blob_id), &upload.backend_upload, &parts).await?;
    Ok(true)
}

/// Aborts multipart uploads older than `upload_age`, then finds and deletes orphaned blobs
/// older than `grace`; with `dry_run` it only counts.
pub async fn collect(
    state: &AppState,
    grace: Duration,
    upload_age: Duration,
    dry_run: bool,
) -> Result<GcReport, GcError> {
    let mut report = GcReport::default();
    if !dry_run {
        let mut conn = state.db.acquire().await.map_err(DbError::from)?;
        report.expired_reservations = db::quota::release_expired(&mut conn).await?;
        db::completed::forget_old(&mut *conn).await?;
    }
    let upload_cutoff = time::OffsetDateTime::now_utc() - upload_age;
    for upload in db::multipart::stale(&state.db, upload_cutoff).await? {
        report.stale_uploads += 1;
        if !dry_run {
            abort_upload(state, &upload).await?;
        }
    }

    let cutoff = SystemTime::now() - grace;
    let candidates = state.storage.list_older_than(cutoff).await?;
    report.scanned = candidates.len();
    for chunk in candidates.chunks(1000) {
        let ids: Vec<_> = chunk.iter().map(|b| b.0).collect();
        let referenced: HashSet<_> = db::blobs::referenced_blobs(&state.db, &ids)
            .await?
            .into_iter()
            .collect();
        for blob in chunk.iter().filter(|b| !referenced.contains(&b.0)) {
            report.orphans += 1;
            if !dry_run {
                state.storage.delete(*blob).await?;
            }
        }
    }
    Ok(report)
}
