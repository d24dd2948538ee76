//! CompleteMultipartUpload: validate the part list, then commit the object as its part
//! blobs, in order (metadata only: no byte is written again); the blobs of parts left out
//! of the list are dropped after the commit. A failure leaves the upload and its parts as
//! they were, to retry; a retry after a success gets the same answer (`db::completed`). (An upload begun before parts were blobs is assembled into one blob
//! by the backend first.) The pure steps (the list, the parts it chooses, the ETag and
//! checksums they make) are in `parts`.

use std::collections::{HashMap, HashSet};

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};

use super::parts::{check_list, choose, combined_checksums, multipart_etag};
use super::{MAX_PARTS, algorithm_of, no_such_upload, upload_id};
use crate::checksum::Checksums;
use crate::db::completed;
use crate::db::multipart::{self, Part, Upload};
use crate::db::objects::{self, NewObject, WriteCondition};
use crate::objects::upload::{self, Expected, PendingBlob};
use crate::s3::conditions::{check_write, write_condition};
use crate::s3::object::set_checksums;
use crate::s3::{GoDriveS3, error, owned_bucket};
use crate::storage::parts::{delete_all_in_background, parts_are_blobs};
use crate::storage::{BlobId, StorageError};
use uuid::Uuid;

impl GoDriveS3 {
    pub(crate) async fn do_complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let bucket_id = owned_bucket(&req)?;
        let sent = Expected::from_request(&req.headers, None)?;
        let i = req.input;
        let id = upload_id(&i.upload_id)?;
        let requested = i.multipart_upload.and_then(|m| m.parts).unwrap_or_default();
        check_list(&requested)?;
        let condition = write_condition(i.if_match.as_ref(), i.if_none_match.as_ref())?;
        let Some(upload) = multipart::begin_complete(&self.state.db, id, bucket_id, &i.key)
            .await
            .map_err(error::db)?
        else {
            // A retry of a completion that succeeded gets the same answer.
            let done = completed::find(&self.state.db, id, bucket_id, &i.key)
                .await
                .map_err(error::db)?
                .ok_or_else(no_such_upload)?;
            return Ok(S3Response::new(CompleteMultipartUploadOutput {
                bucket: Some(i.bucket.clone()),
                key: Some(i.key.clone()),
                location: Some(format!("/{}/{}", i.bucket, i.key)),
                version_id: done.version_id,
                ..answer(done.etag, &done.checksums.0, done.checksum_type)
            }));
        };
        // Detached: once claimed, the completion runs to its end even if the client goes
        // away, so the upload is never left claimed and half done.
        let this = self.clone();
        let task = tokio::spawn(async move {
            let result = this.complete(&upload, &requested, sent, condition).await;
            if result.is_err() {
                // Give the upload back so the client can fix its request and retry.
                multipart::cancel_complete(&this.state.db, id)
                    .await
                    .map_err(error::db)?;
            }
            result
        });
        let out = task.await.map_err(error::internal)??;
        Ok(S3Response::new(CompleteMultipartUploadOutput {
            bucket: Some(i.bucket.clone()),
            key: Some(i.key.clone()),
            location: Some(format!("/{}/{}", i.bucket, i.key)),
            ..out
        }))
    }

    /// Chooses the parts, works out the object's ETag and checksums, and commits the object
    /// as its parts' blobs.
    async fn complete(
        &self,
        upload: &Upload,
        requested: &[CompletedPart],
        sent: Expected,
        condition: Option<WriteCondition>,
    ) -> S3Result<CompleteMultipartUploadOutput> {
        if condition.is_some() {
            let current = objects::get(&self.state.db, upload.bucket_id, &upload.key)
                .await
                .map_err(error::db)?;
            check_write(condition.as_ref(), current.as_ref())?;
        }
        let stored = self.stored_parts(upload).await?;
        let chosen = choose(requested, &stored)?;
        let etag = multipart_etag(&chosen).map_err(error::internal)?;
        let checksums = combined_checksums(algorithm_of(upload), upload.checksum_type.as_deref(), &chosen)?;
        // A whole-object checksum sent with the completion must match what the parts make.
        sent.verify_whole(&checksums)?;
        let (blob, part_blobs) = self.assemble(upload, &chosen).await?;
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
        let stored = upload::commit_and_finish(&self.state, new, blob, None, Some(upload.id)).await?;
        // Committed: the parts left out belong to no row any more.
        delete_all_in_background(self.state.storage.clone(), left_out);
        Ok(CompleteMultipartUploadOutput {
            version_id: stored.version_id,
            ..answer(etag, &checksums, upload.checksum_type.clone())
        })
    }

    /// Every part uploaded so far, by number.
    async fn stored_parts(&self, upload: &Upload) -> S3Result<HashMap<i32, Part>> {
        Ok(
            multipart::list_parts(&self.state.db, upload.id, 0, i64::from(MAX_PARTS) + 1)
                .await
                .map_err(error::db)?
                .into_iter()
                .map(|p| (p.part_number, p))
                .collect(),
        )
    }

    /// The object's bytes: the chosen parts' blobs, in order, which stay the upload's until
    /// the commit moves them onto the object. An upload begun before parts were blobs has
    /// its parts joined by the backend into the upload's blob, guarded until the commit.
    async fn assemble(&self, upload: &Upload, chosen: &[&Part]) -> S3Result<(PendingBlob, Option<Vec<Uuid>>)> {
        let blob = BlobId(upload.blob_id);
        if parts_are_blobs(&upload.backend_upload) {
            let blobs: Option<Vec<Uuid>> = chosen.iter().map(|p| p.blob_id).collect();
            let blobs = blobs.ok_or_else(|| error::internal("a part of the upload has no blob"))?;
            return Ok((PendingBlob::unguarded(self.state.storage.clone(), blob), Some(blobs)));
        }
        let parts: Vec<(i32, String)> = chosen.iter().map(|p| (p.part_number, p.backend_part.clone())).collect();
        self.state
            .storage
            .complete_upload(blob, &upload.backend_upload, &parts)
            .await
            .map_err(|e| match e {
                StorageError::NotFound => no_such_upload(),
                other => error::storage(other),
            })?;
        Ok((PendingBlob::adopt(self.state.storage.clone(), blob), None))
    }
}

/// The completion's answer: the object's ETag and checksums.
fn answer(etag: String, checksums: &Checksums, checksum_type: Option<String>) -> CompleteMultipartUploadOutput {
    let mut out = CompleteMultipartUploadOutput {
        e_tag: Some(ETag::Strong(etag)),
        ..Default::default()
    };
    set_checksums!(out, checksums, checksum_type);
    out
}
