//! Garbage collection: delete backend blobs that no object row references and that are
//! older than a grace period (so uploads in flight are never touched).

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use crate::app::AppState;
use crate::db::{self, DbError};
use crate::storage::StorageError;

/// What a gc run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GcReport {
    /// Blobs older than the grace period.
    pub scanned: usize,
    /// Unreferenced blobs found (and deleted unless dry-run).
    pub orphans: usize,
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

/// Finds and (unless `dry_run`) deletes orphaned blobs older than `grace`.
pub async fn collect(
    state: &AppState,
    grace: Duration,
    dry_run: bool,
) -> Result<GcReport, GcError> {
    let cutoff = SystemTime::now() - grace;
    let candidates = state.storage.list_older_than(cutoff).await?;
    let mut report = GcReport {
        scanned: candidates.len(),
        orphans: 0,
    };
    for chunk in candidates.chunks(1000) {
        let ids: Vec<_> = chunk.iter().map(|b| b.0).collect();
        let referenced: HashSet<_> = db::objects::referenced_blobs(&state.db, &ids)
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
