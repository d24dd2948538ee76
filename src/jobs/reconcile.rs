//! `godrive usage reconcile`: recompute usage counters from the objects table, and compare
//! the objects table with the backend.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use uuid::Uuid;

use crate::app::AppState;
use crate::db::{self, DbError, usage::Drift};
use crate::storage::StorageError;

/// What reconciliation found (and fixed, with `fix`).
#[derive(Debug, Default)]
pub struct Report {
    /// Counters that disagreed with the objects table.
    pub drift: Vec<Drift>,
    /// Whether they were rewritten.
    pub fixed: bool,
    /// Blobs of objects (their one blob, or one of their part blobs) missing from the
    /// backend (data loss: reported, never fixed).
    pub missing_blobs: Vec<Uuid>,
    /// Backend blobs no row references, as an object's blob or part blob or as a part of an
    /// upload in progress (`godrive gc` removes them after its grace period).
    pub unreferenced_blobs: usize,
}

/// A reconciliation failure.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// Reading or fixing counters failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Listing the backend failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Compares counters with the objects table and the objects table with the backend.
pub async fn run(state: &AppState, fix: bool) -> Result<Report, ReconcileError> {
    let mut report = Report::default();
    if fix {
        let mut conn = state.db.acquire().await.map_err(DbError::from)?;
        report.drift = db::usage::fix(&mut conn).await?;
        report.fixed = true;
    } else {
        report.drift = db::usage::drift(&state.db).await?;
    }
    // Everything in the backend, including blobs written a moment ago.
    let listed: HashSet<Uuid> = state
        .storage
        .list_older_than(SystemTime::now() + Duration::from_secs(3600))
        .await?
        .into_iter()
        .map(|b| b.0)
        .collect();
    // Objects' blobs (single and part blobs) must all be there; parts of uploads in
    // progress are referenced too, but a missing one is no object's loss.
    let all = db::blobs::all_blobs(&state.db).await?;
    let objects: HashSet<Uuid> = all.objects.into_iter().collect();
    report.missing_blobs = objects.difference(&listed).copied().collect();
    let referenced: HashSet<Uuid> = objects.into_iter().chain(all.uploads).collect();
    report.unreferenced_blobs = listed.difference(&referenced).count();
    Ok(report)
}
