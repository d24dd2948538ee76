//! ListParts and ListMultipartUploads.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};
use uuid::Uuid;

use super::{LIST_LIMIT, initiator, owner};
use crate::db::multipart;
use crate::s3::object::set_checksums;
use crate::s3::{GoDriveS3, caller, error, owned_bucket};

impl GoDriveS3 {
    pub(crate) async fn do_list_parts(&self, req: S3Request<ListPartsInput>) -> S3Result<S3Response<ListPartsOutput>> {
        let bucket_id = owned_bucket(&req)?;
        let user_id = caller(&req)?.user_id;
        let i = req.input;
        let upload = self.live_upload(&i.upload_id, bucket_id, &i.key).await?;
        let max = i.max_parts.unwrap_or(LIST_LIMIT).clamp(0, LIST_LIMIT);
        let after = i.part_number_marker.unwrap_or(0);
        let mut parts = multipart::list_parts(&self.state.db, upload.id, after, i64::from(max) + 1)
            .await
            .map_err(error::db)?;
        let truncated = parts.len() > max as usize;
        parts.truncate(max as usize);
        let next = if truncated {
            parts.last().map(|p| p.part_number)
        } else {
            None
        };
        let parts = parts
            .into_iter()
            .map(|p| {
                let mut out = s3s::dto::Part {
                    part_number: Some(p.part_number),
                    size: Some(p.size),
                    e_tag: Some(ETag::Strong(p.etag.clone())),
                    last_modified: Some(p.created_at.into()),
                    ..Default::default()
                };
                set_checksums!(out, &p.checksums.0);
                out
            })
            .collect();
        Ok(S3Response::new(ListPartsOutput {
            bucket: Some(i.bucket),
            key: Some(i.key),
            upload_id: Some(upload.id.to_string()),
            part_number_marker: i.part_number_marker,
            next_part_number_marker: next,
            max_parts: Some(max),
            is_truncated: Some(truncated),
            parts: Some(parts),
            owner: Some(owner(user_id)),
            initiator: Some(initiator(user_id)),
            storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
            checksum_algorithm: upload.checksum_algorithm.map(ChecksumAlgorithm::from),
            checksum_type: upload.checksum_type.map(ChecksumType::from),
            ..Default::default()
        }))
    }

    pub(crate) async fn do_list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let bucket_id = owned_bucket(&req)?;
        let user_id = caller(&req)?.user_id;
        let i = req.input;
        let max = i.max_uploads.unwrap_or(LIST_LIMIT).clamp(0, LIST_LIMIT);
        let prefix = i.prefix.clone().unwrap_or_default();
        let key_marker = i.key_marker.clone().filter(|k| !k.is_empty());
        // The upload-id marker counts only together with a key marker, as in S3.
        let id_marker = key_marker
            .as_ref()
            .and(i.upload_id_marker.as_deref())
            .and_then(|m| Uuid::parse_str(m).ok());
        let mut uploads = multipart::list_uploads(
            &self.state.db,
            bucket_id,
            &prefix,
            key_marker.as_deref(),
            id_marker,
            i64::from(max) + 1,
        )
        .await
        .map_err(error::db)?;
        let truncated = uploads.len() > max as usize;
        uploads.truncate(max as usize);
        let (next_key, next_id) = match (truncated, uploads.last()) {
            (true, Some(u)) => (Some(u.key.clone()), Some(u.id.to_string())),
            _ => (None, None),
        };
        let list = uploads
            .into_iter()
            .map(|u| MultipartUpload {
                key: Some(u.key),
                upload_id: Some(u.id.to_string()),
                initiated: Some(u.created_at.into()),
                owner: Some(owner(user_id)),
                initiator: Some(initiator(user_id)),
                storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
                checksum_algorithm: u.checksum_algorithm.map(ChecksumAlgorithm::from),
                checksum_type: u.checksum_type.map(ChecksumType::from),
            })
            .collect();
        Ok(S3Response::new(ListMultipartUploadsOutput {
            bucket: Some(i.bucket),
            prefix: Some(prefix),
            key_marker: i.key_marker,
            upload_id_marker: i.upload_id_marker,
            next_key_marker: next_key,
            next_upload_id_marker: next_id,
            max_uploads: Some(max),
            is_truncated: Some(truncated),
            uploads: Some(list),
            delimiter: i.delimiter,
            encoding_type: i.encoding_type,
            ..Default::default()
        }))
    }
}
