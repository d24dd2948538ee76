//! Bucket versioning: PutBucketVersioning and GetBucketVersioning, and finding the version
//! of an object a request names (`versionId`), with the answers S3 gives for a delete
//! marker: `404` with `x-amz-delete-marker: true` when the key's newest version is one,
//! `405` when a request names one by id.

use http::{HeaderMap, HeaderValue, StatusCode};
use s3s::dto::*;
use s3s::{S3Error, S3Request, S3Response, S3Result, s3_error};
use uuid::Uuid;

use super::{GoDriveS3, error, owned_bucket};
use crate::db::objects::{self, Object};
use crate::db::versions::{self, Found, Versioning};

/// An error carrying the headers S3 sends about a delete marker.
fn with_marker_headers(mut e: S3Error, version_id: &str) -> S3Error {
    let mut h = HeaderMap::new();
    h.insert("x-amz-delete-marker", HeaderValue::from_static("true"));
    if let Ok(v) = HeaderValue::from_str(version_id) {
        h.insert("x-amz-version-id", v);
    }
    e.set_headers(h);
    e
}

/// Refuses what no version id can be (`InvalidArgument`, as S3 answers a malformed one):
/// empty, longer than 1,024 bytes, or holding a control character (a NUL could not even
/// be asked of PostgreSQL).
pub(super) fn check_version_id(v: Option<&str>) -> S3Result<()> {
    match v {
        Some(v) if v.is_empty() || v.len() > 1024 || crate::text::has_control(v) => {
            Err(s3_error!(InvalidArgument, "Invalid version id specified"))
        }
        _ => Ok(()),
    }
}

fn no_such_key() -> S3Error {
    s3_error!(NoSuchKey, "The specified key does not exist.")
}

impl GoDriveS3 {
    /// The object a request names: `key`'s current object, or its version `version_id`.
    /// `NoSuchKey` (with the delete-marker headers when a marker hides the key),
    /// `NoSuchVersion`, or `MethodNotAllowed` for a delete marker named by id.
    pub(super) async fn object_version(
        &self,
        bucket_id: Uuid,
        key: &str,
        version_id: Option<&str>,
    ) -> S3Result<Object> {
        check_version_id(version_id)?;
        let db = &self.state.db;
        let Some(version_id) = version_id else {
            if let Some(obj) = objects::get(db, bucket_id, key).await.map_err(error::db)? {
                return Ok(obj);
            }
            // Only a miss pays for the second look.
            return Err(
                match versions::latest_marker(db, bucket_id, key).await.map_err(error::db)? {
                    Some(marker) => with_marker_headers(no_such_key(), &marker),
                    None => no_such_key(),
                },
            );
        };
        match versions::get(db, bucket_id, key, version_id).await.map_err(error::db)? {
            Some(Found::Object(obj)) => Ok(*obj),
            Some(Found::Marker(_)) => {
                let mut e = s3_error!(
                    MethodNotAllowed,
                    "The specified method is not allowed against this resource."
                );
                e.set_status_code(StatusCode::METHOD_NOT_ALLOWED);
                Err(with_marker_headers(e, version_id))
            }
            None => Err(s3_error!(NoSuchVersion, "The specified version does not exist.")),
        }
    }

    pub(super) async fn do_get_bucket_versioning(
        &self,
        req: S3Request<GetBucketVersioningInput>,
    ) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        let bucket_id = owned_bucket(&req)?;
        let status = match versions::versioning(&self.state.db, bucket_id)
            .await
            .map_err(error::db)?
        {
            // Never enabled: S3 then answers with no Status at all.
            Versioning::Off => None,
            Versioning::Enabled => Some(BucketVersioningStatus::from_static(BucketVersioningStatus::ENABLED)),
            Versioning::Suspended => Some(BucketVersioningStatus::from_static(BucketVersioningStatus::SUSPENDED)),
        };
        Ok(S3Response::new(GetBucketVersioningOutput {
            status,
            ..Default::default()
        }))
    }

    pub(super) async fn do_put_bucket_versioning(
        &self,
        req: S3Request<PutBucketVersioningInput>,
    ) -> S3Result<S3Response<PutBucketVersioningOutput>> {
        let bucket_id = owned_bucket(&req)?;
        let conf = &req.input.versioning_configuration;
        if conf
            .mfa_delete
            .as_ref()
            .is_some_and(|m| m.as_str() == MFADelete::ENABLED)
        {
            return Err(s3_error!(NotImplemented, "MFA Delete is not supported."));
        }
        let enabled = match conf.status.as_ref().map(BucketVersioningStatus::as_str) {
            Some(BucketVersioningStatus::ENABLED) => true,
            Some(BucketVersioningStatus::SUSPENDED) => false,
            _ => {
                return Err(s3_error!(
                    MalformedXML,
                    "The XML you provided was not well-formed or did not validate against our published schema"
                ));
            }
        };
        versions::set_versioning(&self.state.db, bucket_id, enabled)
            .await
            .map_err(error::db)?;
        Ok(S3Response::new(PutBucketVersioningOutput::default()))
    }
}
