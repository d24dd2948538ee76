//! Multipart uploads: Create, UploadPart, UploadPartCopy, Complete, Abort, ListParts,
//! ListMultipartUploads.
//!
//! Each part is a blob of its own (`storage::parts`), recorded on its part row; completion
//! moves the listed parts' blobs onto the object's row, in one transaction, and writes no
//! byte again. Aborting, expiring or completing an upload drops the blobs of the parts it
//! no longer needs, after the rows are gone. The object row appears only when completion
//! commits. (Uploads begun before parts were blobs keep them in the backend's own upload.)

mod complete;
mod list;
mod parts;

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use uuid::Uuid;

use super::conditions::Conditions;
use super::object::{MAX_PUT_SIZE, check_key, headers_of, set_checksums};
use super::{GoDriveS3, caller, error, owned_bucket};
use crate::checksum::Algorithm;
use crate::db::multipart::{self, Upload};
use crate::objects::upload::{self, Expected, check_content_md5};
use crate::storage::parts::{self as blob_parts, PART_BLOBS};
use crate::storage::{BlobId, StorageError};

/// Every part but the last must be at least this large (5 MiB).
pub const MIN_PART_SIZE: i64 = 5 * 1024 * 1024;
const MAX_PARTS: i32 = 10_000;
const LIST_LIMIT: i32 = 1000;

fn no_such_upload() -> s3s::S3Error {
    s3_error!(
        NoSuchUpload,
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
    )
}

fn upload_id(s: &str) -> S3Result<Uuid> {
    Uuid::parse_str(s).map_err(|_| no_such_upload())
}

fn part_number(n: i32) -> S3Result<i32> {
    if (1..=MAX_PARTS).contains(&n) {
        Ok(n)
    } else {
        Err(s3_error!(
            InvalidArgument,
            "Part number must be an integer between 1 and 10000, inclusive"
        ))
    }
}

fn algorithm_of(u: &Upload) -> Option<Algorithm> {
    u.checksum_algorithm.as_deref().and_then(Algorithm::parse)
}

/// The checksum type a new upload uses: as asked, else FULL_OBJECT for CRC64NVME (the only
/// type S3 allows for it) and COMPOSITE for the others.
fn checksum_type(algorithm: Option<Algorithm>, asked: Option<&ChecksumType>) -> S3Result<Option<String>> {
    let Some(a) = algorithm else {
        return match asked {
            Some(_) => Err(s3_error!(
                InvalidRequest,
                "x-amz-checksum-type requires x-amz-checksum-algorithm."
            )),
            None => Ok(None),
        };
    };
    let t = match asked.map(|t| t.as_str().to_ascii_uppercase()) {
        Some(t) if t == ChecksumType::FULL_OBJECT || t == ChecksumType::COMPOSITE => t,
        Some(_) => return Err(s3_error!(InvalidRequest, "Invalid x-amz-checksum-type.")),
        None if a == Algorithm::Crc64nvme => ChecksumType::FULL_OBJECT.to_owned(),
        None => ChecksumType::COMPOSITE.to_owned(),
    };
    if t == ChecksumType::FULL_OBJECT && !a.supports_full_object() {
        return Err(s3_error!(
            InvalidRequest,
            "The FULL_OBJECT checksum type is only supported for CRC algorithms."
        ));
    }
    if t == ChecksumType::COMPOSITE && a == Algorithm::Crc64nvme {
        return Err(s3_error!(
            InvalidRequest,
            "CRC64NVME supports only the FULL_OBJECT checksum type."
        ));
    }
    Ok(Some(t))
}

/// The `x-amz-copy-source-range` of UploadPartCopy: `bytes=first-last`, inside the source.
fn copy_range(header: Option<&str>, size: u64) -> S3Result<Option<std::ops::Range<u64>>> {
    let Some(h) = header else { return Ok(None) };
    let bad = || {
        s3_error!(
            InvalidArgument,
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy"
        )
    };
    let (first, last) = h
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .ok_or_else(bad)?;
    let (first, last): (u64, u64) = (first.parse().map_err(|_| bad())?, last.parse().map_err(|_| bad())?);
    if first > last {
        return Err(bad());
    }
    if last >= size {
        return Err(s3_error!(InvalidRange, "The requested range is not satisfiable"));
    }
    Ok(Some(first..last + 1))
}

fn owner(user_id: Uuid) -> Owner {
    Owner {
        id: Some(user_id.to_string()),
        display_name: None,
    }
}

fn initiator(user_id: Uuid) -> Initiator {
    Initiator {
        id: Some(user_id.to_string()),
        display_name: None,
    }
}

impl GoDriveS3 {
    async fn live_upload(&self, id: &str, bucket_id: Uuid, key: &str) -> S3Result<Upload> {
        multipart::get(&self.state.db, upload_id(id)?, bucket_id, key)
            .await
            .map_err(error::db)?
            .ok_or_else(no_such_upload)
    }

    pub(super) async fn do_create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        super::sse::refuse_encryption(&req)?;
        let bucket_id = owned_bucket(&req)?;
        let i = req.input;
        check_key(&i.key)?;
        super::acl::check_canned(i.acl.as_ref().map(|a| a.as_str()))?;
        super::acl::refuse_grants(&[
            i.grant_full_control.as_ref(),
            i.grant_read.as_ref(),
            i.grant_read_acp.as_ref(),
            i.grant_write_acp.as_ref(),
        ])?;
        let tags = super::tagging::parse_header(i.tagging.as_deref())?;
        let algorithm = match &i.checksum_algorithm {
            None => None,
            Some(a) => Some(
                Algorithm::parse(a.as_str())
                    .ok_or_else(|| s3_error!(InvalidRequest, "Checksum algorithm provided is unsupported."))?,
            ),
        };
        let ctype = checksum_type(algorithm, i.checksum_type.as_ref())?;
        super::object::check_metadata(i.metadata.as_ref())?;
        let headers = headers_of!(i, tags);
        super::headers::check(&headers)?;
        // Nothing in the backend until the first part: each part is a blob of its own, and
        // the object's row will keep this name, which no blob has.
        let blob = BlobId::new();
        let upload = Upload {
            id: Uuid::new_v4(),
            bucket_id,
            key: i.key.clone(),
            headers,
            checksum_algorithm: algorithm.map(|a| a.name().to_owned()),
            checksum_type: ctype.clone(),
            blob_id: blob.0,
            backend_upload: PART_BLOBS.to_owned(),
            created_at: time::OffsetDateTime::now_utc(),
        };
        multipart::create(&self.state.db, &upload).await.map_err(error::db)?;
        Ok(S3Response::new(CreateMultipartUploadOutput {
            bucket: Some(i.bucket),
            key: Some(i.key),
            upload_id: Some(upload.id.to_string()),
            checksum_algorithm: algorithm.map(|a| ChecksumAlgorithm::from(a.name().to_owned())),
            checksum_type: ctype.map(ChecksumType::from),
            ..Default::default()
        }))
    }

    /// Streams one part into the backend upload and records it; returns its digests.
    async fn store_part(
        &self,
        upload: &Upload,
        number: i32,
        body: Option<StreamingBlob>,
        len: Option<u64>,
        expected: Expected,
        content_md5: Option<&str>,
    ) -> S3Result<upload::Digests> {
        // Each part reserves its length before its body is read (a part of unknown length,
        // as its bytes arrive); the reservations settle when the upload completes and are
        // released when it is aborted.
        let blob = BlobId(upload.blob_id);
        let storage = self.state.storage.clone();
        let handle = upload.backend_upload.clone();
        let expected = expected.also(algorithm_of(upload));
        let (digests, part, reservation) = match len {
            Some(len) => {
                let reservation = crate::objects::quota::reserve(
                    &self.state.db,
                    self.state.instance_id,
                    upload.bucket_id,
                    crate::objects::quota::Target::Part,
                    len,
                )
                .await
                .map_err(error::quota)?;
                let (digests, part) = upload::hash_through(body, len, expected, |stream| async move {
                    blob_parts::put_part(&*storage, blob, &handle, number, stream, Some(len)).await
                })
                .await?;
                (digests, part, reservation)
            }
            None => {
                if !blob_parts::parts_are_blobs(&handle) {
                    return Err(s3_error!(
                        MissingContentLength,
                        "You must provide the Content-Length HTTP header."
                    ));
                }
                let growing = crate::objects::growing::Growing::start(
                    &self.state.db,
                    self.state.instance_id,
                    upload.bucket_id,
                    crate::objects::quota::Target::Part,
                )
                .await
                .map_err(error::quota)?;
                let (digests, part, reservation) =
                    upload::hash_through_unsized(body, expected, Some(growing), |stream| async move {
                        blob_parts::put_part(&*storage, blob, &handle, number, stream, None).await
                    })
                    .await?;
                (digests, part, reservation.expect("a growing reservation"))
            }
        };
        let token = part.token;
        // A refused, unrecorded or replaced part is dropped now; gc collects anything missed.
        let drop_part = |token: String| {
            let storage = self.state.storage.clone();
            let handle = upload.backend_upload.clone();
            tokio::spawn(async move {
                let _ = blob_parts::delete_part(&*storage, blob, &handle, &token).await;
            });
        };
        if let Err(e) = check_content_md5(content_md5, &digests.md5) {
            drop_part(token);
            return Err(e.into());
        }
        let size = i64::try_from(digests.len).map_err(error::internal)?;
        let recorded = async {
            let mut tx = self.state.db.begin().await?;
            let etag = hex::encode(digests.md5);
            let part = multipart::NewPart {
                number,
                size,
                etag: &etag,
                backend_part: &token,
                blob_id: part.blob.map(|b| b.0),
                checksums: &digests.checksums,
                reservation_id: Some(reservation.id),
            };
            let old = multipart::put_part(&mut tx, upload.id, &part).await?;
            tx.commit().await?;
            Ok::<_, crate::db::DbError>(old)
        }
        .await;
        match recorded {
            Ok(old) => {
                // The part row now holds the reservation.
                reservation.settled();
                if let Some(old) = old {
                    if let Some(r) = old.reservation_id {
                        let db = self.state.db.clone();
                        tokio::spawn(async move {
                            let _ = crate::db::quota::release(&db, r).await;
                        });
                    }
                    if old.backend_part != token {
                        drop_part(old.backend_part);
                    }
                }
            }
            Err(crate::db::DbError::Sqlx(sqlx::Error::RowNotFound)) => {
                drop_part(token);
                return Err(no_such_upload());
            }
            Err(e) => {
                drop_part(token);
                return Err(error::db(e));
            }
        }
        Ok(digests)
    }

    pub(super) async fn do_upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        super::sse::refuse_encryption(&req)?;
        let bucket_id = owned_bucket(&req)?;
        let expected = crate::s3::error::expected(&req.headers, req.trailing_headers.clone())?;
        let i = req.input;
        let number = part_number(i.part_number)?;
        let upload = self.live_upload(&i.upload_id, bucket_id, &i.key).await?;
        let len = super::length::declared(i.content_length, &req.headers, &req.extensions)?;
        let digests = self
            .store_part(&upload, number, i.body, len, expected, i.content_md5.as_deref())
            .await?;
        let mut out = UploadPartOutput {
            e_tag: Some(ETag::Strong(hex::encode(digests.md5))),
            ..Default::default()
        };
        set_checksums!(out, &digests.checksums);
        Ok(S3Response::new(out))
    }

    pub(super) async fn do_upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        super::sse::refuse_encryption(&req)?;
        let bucket_id = owned_bucket(&req)?;
        let user_id = caller(&req)?.user_id;
        let i = req.input;
        let number = part_number(i.part_number)?;
        let upload = self.live_upload(&i.upload_id, bucket_id, &i.key).await?;
        let (_, src) = self.copy_source(user_id, &i.copy_source).await?;
        Conditions {
            if_match: i.copy_source_if_match.as_ref(),
            if_unmodified_since: i.copy_source_if_unmodified_since.as_ref(),
            if_none_match: i.copy_source_if_none_match.as_ref(),
            if_modified_since: i.copy_source_if_modified_since.as_ref(),
        }
        .check_copy_source(&src)?;
        let size = src.size as u64;
        let range = copy_range(i.copy_source_range.as_deref(), size)?;
        let len = range.as_ref().map_or(size, |r| r.end - r.start);
        if len > MAX_PUT_SIZE {
            return Err(s3_error!(
                EntityTooLarge,
                "The specified copy source is larger than the maximum allowable size for a copy source: 5368709120"
            ));
        }
        let body = match crate::objects::stored::open(&self.state.storage, &src, range).await {
            Ok(b) => b,
            Err(StorageError::NotFound) => return Err(s3_error!(NoSuchKey, "The specified key does not exist.")),
            Err(e) => return Err(error::storage(e)),
        };
        let digests = self
            .store_part(
                &upload,
                number,
                Some(StreamingBlob::wrap(body)),
                Some(len),
                Expected::none(),
                None,
            )
            .await?;
        let mut result = CopyPartResult {
            e_tag: Some(ETag::Strong(hex::encode(digests.md5))),
            last_modified: Some(time::OffsetDateTime::now_utc().into()),
            ..Default::default()
        };
        set_checksums!(result, &digests.checksums);
        Ok(S3Response::new(UploadPartCopyOutput {
            copy_part_result: Some(result),
            ..Default::default()
        }))
    }

    pub(super) async fn do_abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let bucket_id = owned_bucket(&req)?;
        let i = req.input;
        let id = upload_id(&i.upload_id)?;
        let mut conn = self.state.db.acquire().await.map_err(|e| error::db(e.into()))?;
        let dropped = multipart::abort(&mut conn, id, bucket_id, &i.key)
            .await
            .map_err(error::db)?
            .ok_or_else(no_such_upload)?;
        drop(conn);
        // The row is gone, so no new part can be recorded; give the parts' room back and
        // drop the bytes.
        for r in &dropped.reservations {
            crate::db::quota::release(&self.state.db, *r).await.map_err(error::db)?;
        }
        crate::objects::stored::drop_upload(&self.state.storage, &dropped).await;
        Ok(S3Response::new(AbortMultipartUploadOutput::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_ranges_are_inclusive_and_bounded() {
        assert_eq!(copy_range(None, 10).unwrap(), None);
        assert_eq!(copy_range(Some("bytes=0-9"), 10).unwrap(), Some(0..10));
        assert_eq!(copy_range(Some("bytes=3-3"), 10).unwrap(), Some(3..4));
        assert!(copy_range(Some("bytes=5-10"), 10).is_err());
        assert!(copy_range(Some("bytes=5-2"), 10).is_err());
        assert!(copy_range(Some("5-6"), 10).is_err());
        assert!(copy_range(Some("bytes=-6"), 10).is_err());
    }

    #[test]
    fn checksum_types_follow_s3_rules() {
        assert_eq!(checksum_type(None, None).unwrap(), None);
        assert_eq!(
            checksum_type(Some(Algorithm::Crc32), None).unwrap().as_deref(),
            Some("COMPOSITE")
        );
        assert_eq!(
            checksum_type(Some(Algorithm::Crc64nvme), None).unwrap().as_deref(),
            Some("FULL_OBJECT")
        );
        let full = ChecksumType::from_static(ChecksumType::FULL_OBJECT);
        assert_eq!(
            checksum_type(Some(Algorithm::Crc32c), Some(&full)).unwrap().as_deref(),
            Some("FULL_OBJECT")
        );
        assert!(checksum_type(Some(Algorithm::Sha256), Some(&full)).is_err());
        let composite = ChecksumType::from_static(ChecksumType::COMPOSITE);
        assert!(checksum_type(Some(Algorithm::Crc64nvme), Some(&composite)).is_err());
    }
}
