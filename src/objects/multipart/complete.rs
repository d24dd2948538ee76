//! Completing an upload: claim it (a retry after a success finds the answer it got), then,
//! detached from the request so a claimed upload is never left half done, choose the
//! listed parts, work out the object's ETag and checksums, and commit the object as its
//! parts' blobs, in order (metadata only: no byte is written again). The blobs of parts
//! left out are dropped after the commit. A failure gives the upload back as it was, to
//! retry. (An upload begun before parts were blobs is assembled into one blob by the
//! backend first.)

use std::collections::HashSet;

use uuid::Uuid;

use super::rules::{Listed, choose, combined_checksums, multipart_etag};
use super::{MultipartError, algorithm_of, stored_parts};
use crate::app::AppState;
use crate::checksum::Checksums;
use crate::db::completed::{self, Completed};
use crate::db::multipart::{self, Part, Upload};
use crate::db::objects::{self, NewObject, WriteCondition};
use crate::objects::upload::{self, Expected, PendingBlob};
use crate::storage::parts::{delete_all_in_background, parts_are_blobs};
use crate::storage::{BlobId, StorageError};

/// What claiming an upload for completion found.
#[derive(Debug)]
pub enum Claim {
    /// It is in progress and now ours to complete.
    Claimed(Box<Upload>),
    /// It completed a moment ago: the answer it got, for a retry.
    Done(Completed),
}

/// Claims upload `id` of `key` for completion; [`MultipartError::NoSuchUpload`] if it is
/// neither in progress nor just completed.
pub async fn claim(state: &AppState, id: Uuid, bucket_id: Uuid, key: &str) -> Result<Claim, MultipartError> {
    if let Some(upload) = multipart::begin_complete(&state.db, id, bucket_id, key).await? {
        return Ok(Claim::Claimed(Box::new(upload)));
    }
    completed::find(&state.db, id, bucket_id, key)
        .await?
        .map(Claim::Done)
        .ok_or(MultipartError::NoSuchUpload)
}

/// The object a completion made.
#[derive(Debug, Clone)]
pub struct Finished {
    /// Its ETag (`<md5 of the part md5s>-<parts>`), unquoted.
    pub etag: String,
    /// Its flexible checksum, if the upload declared an algorithm.
    pub checksums: Checksums,
    /// FULL_OBJECT or COMPOSITE, with a checksum.
    pub checksum_type: Option<String>,
    /// Its version id, on a bucket that has known versioning.
    pub version_id: Option<String>,
}

/// Completes a claimed upload as `requested` lists it (already checked with
/// [`super::rules::check_list`]); `sent` is a whole-object checksum sent with the list, and
/// `condition` a write condition (`If-None-Match`, `If-Match`). Runs detached; on failure
/// the upload is given back.
pub async fn finish(
    state: &AppState,
    upload: Upload,
    requested: Vec<Listed>,
    sent: Expected,
    condition: Option<WriteCondition>,
) -> Result<Finished, MultipartError> {
    let state = state.clone();
    let task = tokio::spawn(async move {
        let result = complete(&state, &upload, &requested, sent, condition).await;
        if result.is_err() {
            // Give the upload back so the client can fix its request and retry.
            multipart::cancel_complete(&state.db, upload.id).await?;
        }
        result
    });
    task.await.map_err(|e| MultipartError::Internal(e.to_string()))?
}

async fn complete(
    state: &AppState,
    upload: &Upload,
    requested: &[Listed],
    sent: Expected,
    condition: Option<WriteCondition>,
) -> Result<Finished, MultipartError> {
    if let Some(c) = &condition {
        let current = objects::get(&state.db, upload.bucket_id, &upload.key).await?;
        if !c.holds(current.as_ref().map(|o| o.etag.as_str())) {
            let missing = current.is_none() && !matches!(c, WriteCondition::Absent);
            return Err(MultipartError::Condition { missing });
        }
    }
    let stored = stored_parts(&state.db, upload).await?;
    let chosen = choose(requested, &stored)?;
    let etag = multipart_etag(&chosen).map_err(|e| MultipartError::Internal(e.to_string()))?;
    let checksums = combined_checksums(algorithm_of(upload), upload.checksum_type.as_deref(), &chosen)?;
    // A whole-object checksum sent with the completion must match what the parts make.
    sent.verify_whole(&checksums)?;
    let (blob, part_blobs) = assemble(state, upload, &chosen).await?;
    let listed: HashSet<i32> = chosen.iter().map(|p| p.part_number).collect();
    let left_out: Vec<BlobId> = stored
        .values()
        .filter(|p| !listed.contains(&p.part_number))
        .filter_map(|p| p.blob_id.map(BlobId))
        .collect();
    let new = NewObject {
        bucket_id: upload.bucket_id,
        key: upload.key.clone(),
        size: chosen.iter().map(|p| p.size).sum(),
        etag: etag.clone(),
        md5: None,
        sha256: None,
        headers: upload.headers.clone(),
        checksums: checksums.clone(),
        checksum_type: upload.checksum_type.clone(),
        parts_count: Some(chosen.len() as i32),
        part_sizes: Some(chosen.iter().map(|p| p.size).collect()),
        blob_id: blob.id.0,
        part_blobs,
        // Every part's reservation settles here; parts left out give theirs back.
        reservations: stored.values().filter_map(|p| p.reservation_id).collect(),
        condition,
        acl: None,
    };
    // No reservation yet for multipart: the commit checks the whole growth against the
    // quotas, so completion is refused rather than over-allocating.
    let done = upload::commit_and_finish(state, new, blob, None, Some(upload.id)).await?;
    // Committed: the parts left out belong to no row any more.
    delete_all_in_background(state.storage.clone(), left_out);
    Ok(Finished {
        etag,
        checksums,
        checksum_type: upload.checksum_type.clone(),
        version_id: done.version_id,
    })
}

/// The object's bytes: the chosen parts' blobs, in order, which stay the upload's until
/// the commit moves them onto the object. An upload begun before parts were blobs has its
/// parts joined by the backend into the upload's blob, guarded until the commit.
async fn assemble(
    state: &AppState,
    upload: &Upload,
    chosen: &[&Part],
) -> Result<(PendingBlob, Option<Vec<Uuid>>), MultipartError> {
    let blob = BlobId(upload.blob_id);
    if parts_are_blobs(&upload.backend_upload) {
        let blobs: Option<Vec<Uuid>> = chosen.iter().map(|p| p.blob_id).collect();
        let blobs = blobs.ok_or_else(|| MultipartError::Internal("a part of the upload has no blob".into()))?;
        return Ok((PendingBlob::unguarded(state.storage.clone(), blob), Some(blobs)));
    }
    let parts: Vec<(i32, String)> = chosen.iter().map(|p| (p.part_number, p.backend_part.clone())).collect();
    state
        .storage
        .complete_upload(blob, &upload.backend_upload, &parts)
        .await
        .map_err(|e| match e {
            StorageError::NotFound => MultipartError::NoSuchUpload,
            other => MultipartError::Storage(other),
        })?;
    Ok((PendingBlob::adopt(state.storage.clone(), blob), None))
}
