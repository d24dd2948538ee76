//! Multipart uploads: Create, UploadPart, UploadPartCopy, Complete, Abort, ListParts,
//! ListMultipartUploads, in S3's terms over the core's uploads (`objects::multipart`, which
//! the JSON API's uploads in parts share).

mod complete;
mod list;

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use uuid::Uuid;

use super::conditions::Conditions;
use super::object::{MAX_PUT_SIZE, check_key, headers_of, set_checksums};
use super::{GoDriveS3, caller, error, owned_bucket};
use crate::checksum::Algorithm;
use crate::db::multipart::Upload;
use crate::objects::multipart::{self as core, MAX_PARTS, MultipartError};
use crate::objects::upload::Expected;
use crate::storage::StorageError;

const LIST_LIMIT: i32 = 1000;

fn upload_id(s: &str) -> S3Result<Uuid> {
    Uuid::parse_str(s).map_err(|_| MultipartError::NoSuchUpload.into())
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
        Ok(core::live(&self.state.db, upload_id(id)?, bucket_id, key).await?)
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
        let upload = core::begin(
            &self.state.db,
            core::NewUpload {
                bucket_id,
                key: i.key.clone(),
                headers,
                algorithm,
                checksum_type: ctype.clone(),
            },
        )
        .await
        .map_err(error::db)?;
        Ok(S3Response::new(CreateMultipartUploadOutput {
            bucket: Some(i.bucket),
            key: Some(i.key),
            upload_id: Some(upload.id.to_string()),
            checksum_algorithm: algorithm.map(|a| ChecksumAlgorithm::from(a.name().to_owned())),
            checksum_type: ctype.map(ChecksumType::from),
            ..Default::default()
        }))
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
        let digests = core::store_part(
            &self.state,
            &upload,
            number,
            i.body,
            len,
            expected,
            i.content_md5.as_deref(),
        )
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
        let digests = core::store_part(
            &self.state,
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
        // The row goes first, so no new part can be recorded; then the parts' room and bytes.
        core::abort(&self.state, upload_id(&i.upload_id)?, bucket_id, &i.key).await?;
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
