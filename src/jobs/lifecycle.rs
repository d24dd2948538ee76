//! Applies buckets' lifecycle rules (`objects::lifecycle`): one instance at a time across
//! the fleet (a PostgreSQL advisory lock held for the run), in bounded batches, every
//! lifecycle "day" / 24 (at least a second, at most an hour). Each run logs one line and
//! counts what it removed (`godrive_lifecycle_total{what}`).
//!
//! Expiring an object deletes it as DeleteObject does (on a versioned bucket, a delete
//! marker hides it), and only the version the rule saw: an object written again since its
//! candidate row was read is left alone. Noncurrent versions expire some days after they
//! became noncurrent, beyond the newest ones a rule keeps; delete markers left with no
//! version behind them go.

use std::time::Duration;

use time::OffsetDateTime;

use super::gc::{GcError, abort_upload};
use crate::app::AppState;
use crate::db::{self, DbError};
use crate::objects::lifecycle::Rule;
use crate::objects::stored;

/// Objects read, and expired, per statement.
const BATCH: i64 = 500;
/// Batches per rule and run: what is left waits for the next run.
const MAX_BATCHES: usize = 20;

/// What one run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// Objects expired.
    pub objects: u64,
    /// Their bytes.
    pub bytes: i64,
    /// Incomplete uploads aborted.
    pub uploads: u64,
}

/// How often the job runs for a lifecycle day of `day_secs` seconds.
pub fn period(day_secs: u64) -> Duration {
    Duration::from_secs((day_secs / 24).clamp(1, 3600))
}

/// One run, unless another instance is running one (then `None`).
pub async fn run(state: &AppState, now: OffsetDateTime) -> Result<Option<Run>, GcError> {
    // The lock lives as long as this transaction, which does nothing else.
    let mut lock = state.db.begin().await.map_err(DbError::from)?;
    if !db::lifecycle::try_lock(&mut lock).await? {
        return Ok(None);
    }
    let done = apply_all(state, now).await;
    lock.rollback().await.map_err(DbError::from)?;
    let done = done?;
    let count = |what, n| {
        let labels = crate::obs::metrics::LifecycleLabels { what };
        crate::obs::metrics::METRICS.lifecycle.get_or_create(&labels).inc_by(n);
    };
    count("expired_objects", done.objects);
    count("expired_bytes", done.bytes.max(0) as u64);
    count("aborted_uploads", done.uploads);
    tracing::info!(
        objects = done.objects,
        bytes = done.bytes,
        uploads = done.uploads,
        "lifecycle run"
    );
    Ok(Some(done))
}

async fn apply_all(state: &AppState, now: OffsetDateTime) -> Result<Run, GcError> {
    let day = state.config.lifecycle_day_secs;
    let mut done = Run::default();
    for (bucket_id, rules) in db::lifecycle::configured::<Rule>(&state.db).await? {
        for rule in &rules {
            if let Some(cutoff) = rule.expiration_cutoff(now, day) {
                let (objects, bytes) = expire(state, bucket_id, rule, cutoff).await?;
                done.objects += objects;
                done.bytes += bytes;
            }
            if let Some(cutoff) = rule.noncurrent_cutoff(now, day) {
                let (objects, bytes) = expire_noncurrent(state, bucket_id, rule, cutoff).await?;
                done.objects += objects;
                done.bytes += bytes;
            }
            if rule.enabled && rule.expired_object_delete_marker {
                done.objects += remove_lone_markers(state, bucket_id, rule).await?;
            }
            if let Some(cutoff) = rule.abort_cutoff(now, day) {
                for upload in db::multipart::begun_before(&state.db, bucket_id, &rule.prefix, cutoff, BATCH).await? {
                    done.uploads += u64::from(abort_upload(state, &upload).await?);
                }
            }
        }
    }
    Ok(done)
}

/// Expires what `rule` selects in `bucket_id` among objects written before `cutoff`.
async fn expire(
    state: &AppState,
    bucket_id: uuid::Uuid,
    rule: &Rule,
    cutoff: OffsetDateTime,
) -> Result<(u64, i64), GcError> {
    let (mut objects, mut bytes) = (0, 0);
    let mut after = String::new();
    for _ in 0..MAX_BATCHES {
        let batch = db::lifecycle::candidates(&state.db, bucket_id, &rule.prefix, &after, cutoff, BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = last.key.clone();
        let full = batch.len() as i64 == BATCH;
        let chosen: Vec<(String, OffsetDateTime)> = batch
            .into_iter()
            .filter(|c| rule.selects(&c.key, c.size, &c.tags.0))
            .map(|c| (c.key, c.updated_at))
            .collect();
        if !chosen.is_empty() {
            let mut conn = state.db.acquire().await.map_err(DbError::from)?;
            let done = db::lifecycle::expire(&mut conn, bucket_id, &chosen).await?;
            drop(conn);
            objects += done.objects;
            bytes += done.bytes;
            stored::delete_in_background(state.storage.clone(), done.blobs);
        }
        if !full {
            break;
        }
    }
    Ok((objects, bytes))
}

/// Expires the noncurrent versions `rule` selects in `bucket_id`: noncurrent since before
/// `cutoff`, beyond the newest ones it keeps.
async fn expire_noncurrent(
    state: &AppState,
    bucket_id: uuid::Uuid,
    rule: &Rule,
    cutoff: OffsetDateTime,
) -> Result<(u64, i64), GcError> {
    let (mut objects, mut bytes) = (0, 0);
    let mut after = String::new();
    for _ in 0..MAX_BATCHES {
        let keys = db::lifecycle::keys_with_history(&state.db, bucket_id, &rule.prefix, &after, BATCH).await?;
        let Some(last) = keys.last() else { break };
        after = last.clone();
        let chosen: Vec<(String, String)> = db::lifecycle::noncurrent(&state.db, bucket_id, &keys)
            .await?
            .into_iter()
            .filter(|v| rule.selects(&v.key, v.size, &v.tags.0))
            .filter(|v| rule.noncurrent_expires(v.noncurrent_since, v.newer, cutoff))
            .map(|v| (v.key, v.version_id))
            .collect();
        if !chosen.is_empty() {
            let done = remove_versions(state, bucket_id, &chosen).await?;
            objects += done.objects;
            bytes += done.bytes;
        }
        if (keys.len() as i64) < BATCH {
            break;
        }
    }
    Ok((objects, bytes))
}

/// Removes the delete markers `rule` selects that are their key's only version.
async fn remove_lone_markers(state: &AppState, bucket_id: uuid::Uuid, rule: &Rule) -> Result<u64, GcError> {
    let mut removed = 0;
    let mut after = String::new();
    for _ in 0..MAX_BATCHES {
        let batch = db::lifecycle::lone_markers(&state.db, bucket_id, &rule.prefix, &after, BATCH).await?;
        let Some((last, _)) = batch.last() else { break };
        after = last.clone();
        let full = batch.len() as i64 == BATCH;
        removed += remove_versions(state, bucket_id, &batch).await?.objects;
        if !full {
            break;
        }
    }
    Ok(removed)
}

async fn remove_versions(
    state: &AppState,
    bucket_id: uuid::Uuid,
    versions: &[(String, String)],
) -> Result<db::lifecycle::Expired, GcError> {
    let mut conn = state.db.acquire().await.map_err(DbError::from)?;
    let done = db::lifecycle::remove_versions(&mut conn, bucket_id, versions).await?;
    drop(conn);
    stored::delete_in_background(state.storage.clone(), done.blobs.clone());
    Ok(done)
}

/// Starts the job on this instance.
pub fn start(state: &AppState) {
    let s = state.clone();
    super::spawn_every(period(state.config.lifecycle_day_secs), move || {
        let s = s.clone();
        async move {
            if let Err(e) = run(&s, OffsetDateTime::now_utc()).await {
                tracing::warn!(error = %e, "lifecycle run failed; the next one retries");
            }
        }
    });
}
