//! CopyObject, within and across the caller's buckets.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::conditions::Conditions;
use super::object::{check_key, headers_of};
use super::{GoDriveS3, caller, error, owned_bucket};
use uuid::Uuid;

use crate::db::{self, objects::Object};
use crate::objects::UploadError;
use crate::objects::copy::{self, Destination};
use crate::storage::StorageError;

impl GoDriveS3 {
    /// Resolves a copy source; the caller must own its bucket too (authorization only saw
    /// the destination). Returns the source bucket's id and the object.
    pub(super) async fn copy_source(&self, user_id: Uuid, source: &CopySource) -> S3Result<(Uuid, Object)> {
        let CopySource::Bucket {
            bucket,
            key,
            version_id,
        } = source
        else {
            return Err(s3_error!(
                NotImplemented,
                "Access point copy sources are not supported."
            ));
        };
        // The header is percent-decoded: its key may hold what no stored key holds.
        if crate::text::has_control(key) {
            return Err(s3_error!(
                InvalidArgument,
                "The copy source key must not contain control characters."
            ));
        }
        let src_bucket = db::buckets::by_name(&self.state.db, bucket)
            .await
            .map_err(error::db)?
            .ok_or_else(|| s3_error!(NoSuchBucket, "The specified bucket does not exist"))?;
        if src_bucket.owner_id != user_id {
            return Err(s3_error!(AccessDenied, "Access Denied"));
        }
        let src = self
            .object_version(src_bucket.id, key, version_id.as_deref())
            .await
            .map_err(|e| match e.code() {
                // S3's answer for a copy from a delete marker named by id.
                s3s::S3ErrorCode::MethodNotAllowed => s3_error!(
                    InvalidRequest,
                    "The source of a copy request may not specifically refer to a delete marker by version id."
                ),
                _ => e,
            })?;
        Ok((src_bucket.id, src))
    }

    pub(super) async fn do_copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        super::sse::refuse_encryption(&req)?;
        let dest_bucket = owned_bucket(&req)?;
        let user_id = caller(&req)?.user_id;
        let condition = super::conditions::write_condition_of(&req.headers)?;
        let input = req.input;
        check_key(&input.key)?;
        let acl = super::acl::of_upload(
            &self.state,
            input.acl.as_ref(),
            [
                input.grant_full_control.as_ref(),
                input.grant_read.as_ref(),
                input.grant_read_acp.as_ref(),
                input.grant_write_acp.as_ref(),
            ],
        )?;
        let (src_bucket, src) = self.copy_source(user_id, &input.copy_source).await?;
        Conditions {
            if_match: input.copy_source_if_match.as_ref(),
            if_unmodified_since: input.copy_source_if_unmodified_since.as_ref(),
            if_none_match: input.copy_source_if_none_match.as_ref(),
            if_modified_since: input.copy_source_if_modified_since.as_ref(),
        }
        .check_copy_source(&src)?;

        let replace = input
            .metadata_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == MetadataDirective::REPLACE);
        if !replace && src_bucket == dest_bucket && src.key == input.key {
            return Err(s3_error!(
                InvalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
            ));
        }
        let headers = if replace {
            super::object::check_metadata(input.metadata.as_ref())?;
            let replaced = headers_of!(input, src.headers.tags.clone());
            super::headers::check(&replaced)?;
            replaced
        } else {
            src.headers.clone()
        };
        let mut headers = headers;
        if input
            .tagging_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == TaggingDirective::REPLACE)
        {
            headers.tags = super::tagging::parse_header(input.tagging.as_deref())?;
        }

        if condition.is_some() {
            let current = db::objects::get(&self.state.db, dest_bucket, &input.key)
                .await
                .map_err(error::db)?;
            super::conditions::check_write(condition.as_ref(), current.as_ref())?;
        }
        let source_version = src.version_id.clone();
        let to = Destination {
            bucket_id: dest_bucket,
            key: input.key,
            headers,
            acl: acl.map(str::to_owned),
            condition,
        };
        let stored = copy::copy(&self.state, &src, to).await.map_err(|e| match e {
            // Deleted while we were copying: as if it had never been there.
            UploadError::Storage(StorageError::NotFound) => {
                s3_error!(NoSuchKey, "The specified key does not exist.")
            }
            other => other.into(),
        })?;
        Ok(S3Response::new(CopyObjectOutput {
            copy_object_result: Some(CopyObjectResult {
                e_tag: Some(ETag::Strong(src.etag)),
                last_modified: Some(stored.at.into()),
                ..Default::default()
            }),
            copy_source_version_id: source_version,
            version_id: stored.version_id,
            ..Default::default()
        }))
    }
}
