//! CompleteMultipartUpload: the part list and conditions in S3's terms, over the core's
//! completion (`objects::multipart`): a failure leaves the upload and its parts as they
//! were, to retry; a retry after a success gets the same answer.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};

use super::upload_id;
use crate::checksum::{self, Algorithm, Checksums};
use crate::objects::multipart::{self as core, Claim, Listed};
use crate::objects::upload::Expected;
use crate::s3::conditions::write_condition;
use crate::s3::object::set_checksums;
use crate::s3::{GoDriveS3, owned_bucket};

/// The checksum for `a` the client gives for a part in its list, if any.
fn completed_checksum(p: &CompletedPart, a: Algorithm) -> Option<&str> {
    match a {
        Algorithm::Crc32 => p.checksum_crc32.as_deref(),
        Algorithm::Crc32c => p.checksum_crc32c.as_deref(),
        Algorithm::Crc64nvme => p.checksum_crc64nvme.as_deref(),
        Algorithm::Sha1 => p.checksum_sha1.as_deref(),
        Algorithm::Sha256 => p.checksum_sha256.as_deref(),
    }
}

/// A part of the request's list, as the core reads it.
fn listed(p: &CompletedPart) -> Listed {
    Listed {
        number: p.part_number,
        etag: p.e_tag.as_ref().map(|e| e.value().to_owned()),
        checksums: checksum::ALL
            .into_iter()
            .filter_map(|a| completed_checksum(p, a).map(|v| (a, v.to_owned())))
            .collect(),
    }
}

impl GoDriveS3 {
    pub(crate) async fn do_complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let bucket_id = owned_bucket(&req)?;
        let sent = Expected::from_request(&req.headers, None)?;
        let i = req.input;
        let id = upload_id(&i.upload_id)?;
        let requested: Vec<Listed> = i
            .multipart_upload
            .and_then(|m| m.parts)
            .unwrap_or_default()
            .iter()
            .map(listed)
            .collect();
        core::rules::check_list(&requested)?;
        let condition = write_condition(i.if_match.as_ref(), i.if_none_match.as_ref())?;
        let out = match core::claim(&self.state, id, bucket_id, &i.key).await? {
            // A retry of a completion that succeeded gets the same answer.
            Claim::Done(done) => CompleteMultipartUploadOutput {
                version_id: done.version_id,
                ..answer(done.etag, &done.checksums.0, done.checksum_type)
            },
            Claim::Claimed(upload) => {
                let f = core::finish(&self.state, *upload, requested, sent, condition).await?;
                CompleteMultipartUploadOutput {
                    version_id: f.version_id,
                    ..answer(f.etag, &f.checksums, f.checksum_type)
                }
            }
        };
        Ok(S3Response::new(CompleteMultipartUploadOutput {
            bucket: Some(i.bucket.clone()),
            key: Some(i.key.clone()),
            location: Some(format!("/{}/{}", i.bucket, i.key)),
            ..out
        }))
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
