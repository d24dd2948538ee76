//! CompleteMultipartUpload: validate the part list, then commit the object as its part
//! blobs, in order (metadata only: no byte is written again); the blobs of parts left out
//! of the list are dropped after the commit. A failure leaves the upload and its parts as
//! they were, to retry. (An upload begun before parts were blobs is assembled into one blob
//! by the backend first.)

use std::collections::{HashMap, HashSet};

use md5::{Digest as _, Md5};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::{MAX_PARTS, MIN_PART_SIZE, algorithm_of, completed_checksum, no_such_upload, stored_checksum, upload_id};
use crate::checksum::{self, Checksums};
use crate::db::multipart::{self, Part, Upload};
use crate::db::objects::NewObject;
use crate::objects::upload::{self, Expected, PendingBlob};
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
        if requested.is_empty() {
            return Err(s3_error!(MalformedXML, "You must specify at least one part."));
        }
        let mut numbers = Vec::with_capacity(requested.len());
        for p in &requested {
            let n = p
                .part_number
                .ok_or_else(|| s3_error!(MalformedXML, "Each part needs a PartNumber."))?;
            if numbers.last().is_some_and(|last| *last >= n) {
                return Err(s3_error!(
                    InvalidPartOrder,
                    "The list of parts was not in ascending order. Parts must be ordered by part number."
                ));
            }
            numbers.push(n);
        }
        let upload = multipart::begin_complete(&self.state.db, id, bucket_id, &i.key)
            .await
            .map_err(error::db)?
            .ok_or_else(no_such_upload)?;
        // Detached: once claimed, the completion runs to its end even if the client goes
        // away, so the upload is never left claimed and half done.
        let this = self.clone();
        let task = tokio::spawn(async move {
            let result = this.complete(&upload, &requested, sent).await;
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

    /// Validates the part list and commits the object.
    async fn complete(
        &self,
        upload: &Upload,
        requested: &[CompletedPart],
        sent: Expected,
    ) -> S3Result<CompleteMultipartUploadOutput> {
        let stored: HashMap<i32, Part> = multipart::list_parts(&self.state.db, upload.id, 0, i64::from(MAX_PARTS) + 1)
            .await
            .map_err(error::db)?
            .into_iter()
            .map(|p| (p.part_number, p))
            .collect();
        let algorithm = algorithm_of(upload);
        let mut chosen: Vec<&Part> = Vec::with_capacity(requested.len());
        for (idx, p) in requested.iter().enumerate() {
            let invalid = || {
                s3_error!(
                    InvalidPart,
                    "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."
                )
            };
            let part = p.part_number.and_then(|n| stored.get(&n)).ok_or_else(invalid)?;
            let etag = p.e_tag.as_ref().map(|e| e.value().trim_matches('"').to_owned());
            if etag.as_deref() != Some(part.etag.as_str()) {
                return Err(invalid());
            }
            for a in checksum::ALL {
                if let Some(v) = completed_checksum(p, a)
                    && stored_checksum(part, a) != Some(v)
                {
                    return Err(invalid());
                }
            }
            if idx + 1 < requested.len() && part.size < MIN_PART_SIZE {
                return Err(s3_error!(
                    EntityTooSmall,
                    "Your proposed upload is smaller than the minimum allowed object size."
                ));
            }
            chosen.push(part);
        }

        // ETag: MD5 of the concatenated binary part MD5s, then "-<parts>".
        let mut md5s = Md5::new();
        for p in &chosen {
            md5s.update(hex::decode(&p.etag).map_err(error::internal)?);
        }
        let etag = format!("{}-{}", hex::encode(md5s.finalize()), chosen.len());
        let size: i64 = chosen.iter().map(|p| p.size).sum();

        let mut checksums = Checksums::default();
        if let Some(a) = algorithm {
            let full = upload.checksum_type.as_deref() == Some(ChecksumType::FULL_OBJECT);
            let value = if full {
                let parts: Option<Vec<(&str, u64)>> = chosen
                    .iter()
                    .map(|p| stored_checksum(p, a).map(|v| (v, p.size as u64)))
                    .collect();
                parts.and_then(|ps| checksum::full_object(a, &ps))
            } else {
                let parts: Option<Vec<&str>> = chosen.iter().map(|p| stored_checksum(p, a)).collect();
                parts.and_then(|ps| checksum::composite(a, &ps))
            };
            let value =
                value.ok_or_else(|| s3_error!(InvalidRequest, "A part is missing its {} checksum.", a.name()))?;
            checksums.0.insert(a, value);
        }
        // A whole-object checksum sent with the completion must match what the parts make.
        sent.verify_whole(&checksums)?;

        let blob = BlobId(upload.blob_id);
        let (pending, part_blobs) = if parts_are_blobs(&upload.backend_upload) {
            // The parts stay the upload's until the commit moves them onto the object.
            let blobs: Option<Vec<Uuid>> = chosen.iter().map(|p| p.blob_id).collect();
            let blobs = blobs.ok_or_else(|| error::internal("a part of the upload has no blob"))?;
            (PendingBlob::unguarded(self.state.storage.clone(), blob), Some(blobs))
        } else {
            let parts: Vec<(i32, String)> = chosen.iter().map(|p| (p.part_number, p.backend_part.clone())).collect();
            self.state
                .storage
                .complete_upload(blob, &upload.backend_upload, &parts)
                .await
                .map_err(|e| match e {
                    StorageError::NotFound => no_such_upload(),
                    other => error::storage(other),
                })?;
            (PendingBlob::adopt(self.state.storage.clone(), blob), None)
        };
        let listed: HashSet<i32> = chosen.iter().map(|p| p.part_number).collect();
        let left_out: Vec<BlobId> = stored
            .values()
            .filter(|p| !listed.contains(&p.part_number))
            .filter_map(|p| p.blob_id.map(BlobId))
            .collect();
        let new = NewObject {
            bucket_id: upload.bucket_id,
            key: upload.key.clone(),
            size,
            etag: etag.clone(),
            md5: None,
            sha256: None,
            headers: upload.headers.clone(),
            checksums: checksums.clone(),
            checksum_type: upload.checksum_type.clone(),
            parts_count: Some(chosen.len() as i32),
            part_sizes: Some(chosen.iter().map(|p| p.size).collect()),
            blob_id: blob.0,
            part_blobs,
            // Every part's reservation settles here; parts left out give theirs back.
            reservations: stored.values().filter_map(|p| p.reservation_id).collect(),
        };
        // No reservation yet for multipart: the commit checks the whole growth against the
        // quotas, so completion is refused rather than over-allocating.
        upload::commit_and_finish(&self.state, new, pending, None, Some(upload.id)).await?;
        // Committed: the parts left out belong to no row any more.
        delete_all_in_background(self.state.storage.clone(), left_out);
        let mut out = CompleteMultipartUploadOutput {
            e_tag: Some(ETag::Strong(etag)),
            ..Default::default()
        };
        set_checksums!(out, &checksums, upload.checksum_type.clone());
        Ok(out)
    }
}
