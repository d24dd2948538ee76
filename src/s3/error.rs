//! Mapping of internal failures to S3 errors, in one place.

use s3s::{S3Error, S3ErrorCode, s3_error};

use crate::db::DbError;
use crate::objects::UploadError;
use crate::objects::multipart::MultipartError;
use crate::objects::quota::{Limit, QuotaError};
use crate::storage::StorageError;

/// An unexpected failure: logged once here, answered as `InternalError` with a fixed message.
pub fn internal<E: std::fmt::Display>(err: E) -> S3Error {
    tracing::error!(error = %err, "internal error");
    s3_error!(InternalError, "We encountered an internal error. Please try again.")
}

/// Database failures are internal, except an unreachable database, which is `ServiceUnavailable`.
pub fn db(err: DbError) -> S3Error {
    match &err {
        DbError::Sqlx(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed) => {
            tracing::error!(error = %err, "database unavailable");
            S3Error::with_message(S3ErrorCode::ServiceUnavailable, "Please reduce your request rate.")
        }
        DbError::QuotaExceeded => quota_exceeded(Limit::AtCommit),
        _ => internal(err),
    }
}

/// 403 `QuotaExceeded` (GoDrive's own code) with a message naming the limit; counted in
/// `godrive_quota_refusals_total`.
fn quota_exceeded(limit: Limit) -> S3Error {
    crate::obs::metrics::METRICS.quota_refused("s3", limit.label());
    let mut e = S3Error::with_message(S3ErrorCode::Custom("QuotaExceeded".into()), limit.to_string());
    e.set_status_code(http::StatusCode::FORBIDDEN);
    e
}

/// A refused or failed reservation.
pub fn quota(err: QuotaError) -> S3Error {
    match err {
        QuotaError::Exceeded(limit) => quota_exceeded(limit),
        QuotaError::Db(e) => db(e),
    }
}

/// Storage failures during an upload or download.
pub fn storage(err: StorageError) -> S3Error {
    match err {
        StorageError::LengthMismatch { declared, actual } if actual < declared => s3_error!(
            IncompleteBody,
            "You did not provide the number of bytes specified by the Content-Length HTTP header."
        ),
        StorageError::LengthMismatch { .. } => s3_error!(
            InvalidRequest,
            "The request body is longer than the Content-Length HTTP header."
        ),
        StorageError::TooLarge { .. } => s3_error!(
            EntityTooLarge,
            "Your proposed upload exceeds the maximum allowed object size."
        ),
        StorageError::Backend(_) => {
            tracing::error!(error = %err, "storage backend unavailable");
            S3Error::with_message(S3ErrorCode::ServiceUnavailable, "Please reduce your request rate.")
        }
        other => internal(other),
    }
}

/// An error code s3s does not know, with its status set explicitly (a custom code has none).
pub fn custom(code: &'static str, status: http::StatusCode, message: &'static str) -> S3Error {
    let mut e = S3Error::with_message(S3ErrorCode::Custom(code.into()), message);
    e.set_status_code(status);
    e
}

/// The core's upload failures in S3's terms.
impl From<UploadError> for S3Error {
    fn from(err: UploadError) -> Self {
        match err {
            UploadError::Body(e) => body(e),
            UploadError::Storage(e) => storage(e),
            e @ (UploadError::InvalidChecksum(_)
            | UploadError::UnsupportedAlgorithm
            | UploadError::UnsupportedTrailer) => S3Error::with_message(S3ErrorCode::InvalidRequest, e.to_string()),
            e @ (UploadError::ChecksumMismatch(_) | UploadError::ContentMd5Mismatch) => {
                S3Error::with_message(S3ErrorCode::BadDigest, e.to_string())
            }
            e @ UploadError::InvalidContentMd5 => S3Error::with_message(S3ErrorCode::InvalidDigest, e.to_string()),
            UploadError::Quota(limit) => quota_exceeded(limit),
            e @ UploadError::ConditionConflict => {
                S3Error::with_message(S3ErrorCode::ConditionalRequestConflict, e.to_string())
            }
            UploadError::Db(e) => db(e),
            e @ UploadError::Commit(_) => internal(e),
        }
    }
}

/// The core's multipart failures in S3's terms.
impl From<MultipartError> for S3Error {
    fn from(e: MultipartError) -> Self {
        use S3ErrorCode as C;
        let message = e.to_string();
        let code = match e {
            MultipartError::Upload(u) => return u.into(),
            MultipartError::Quota(q) => return quota(q),
            MultipartError::Db(d) => return db(d),
            MultipartError::Storage(st) => return storage(st),
            MultipartError::Internal(m) => return internal(m),
            MultipartError::Condition { missing: true } => {
                return s3_error!(NoSuchKey, "The specified key does not exist.");
            }
            MultipartError::Condition { missing: false } => return super::conditions::precondition_failed(),
            MultipartError::NoSuchUpload => C::NoSuchUpload,
            MultipartError::MissingLength => C::MissingContentLength,
            MultipartError::NoParts | MultipartError::UnnumberedPart => C::MalformedXML,
            MultipartError::PartOrder => C::InvalidPartOrder,
            MultipartError::InvalidPart => C::InvalidPart,
            MultipartError::PartTooSmall => C::EntityTooSmall,
            MultipartError::PartChecksumMissing(_) => C::InvalidRequest,
        };
        S3Error::with_message(code, message)
    }
}

/// A request body that failed while being read: s3s verifies signed payload hashes and
/// aws-chunked signatures as the body streams, and says which in its error.
fn body(e: crate::objects::BodyError) -> S3Error {
    let e = match e.downcast::<S3Error>() {
        Ok(s3) => return *s3,
        Err(e) => e,
    };
    let msg = e.to_string();
    if msg.contains("Sha256Mismatch") {
        custom(
            "XAmzContentSHA256Mismatch",
            http::StatusCode::BAD_REQUEST,
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        )
    } else if msg.contains("SignatureMismatch") {
        s3_error!(SignatureDoesNotMatch, "The chunk signature does not match.")
    } else if msg.contains("FormatError") || msg.contains("TooLarge") || msg.contains("TooMany") {
        s3_error!(InvalidRequest, "Malformed aws-chunked request body.")
    } else {
        s3_error!(IncompleteBody, "The request body ended before its declared length.")
    }
}

/// What an upload declares about its bytes (checksum headers, and the aws-chunked trailer
/// s3s reads after the body).
pub fn expected(
    headers: &http::HeaderMap,
    trailers: Option<s3s::TrailingHeaders>,
) -> Result<crate::objects::integrity::Expected, UploadError> {
    let trailer = trailers.map(|t| Box::new(move || t.take()) as crate::objects::integrity::Trailer);
    Ok(crate::objects::integrity::Expected::from_request(headers, trailer)?
        .with_verified_sha256(signed_sha256(headers)))
}

/// The payload hash a SigV4 header signature covers (`x-amz-content-sha256` as 64 hex
/// digits): s3s hashes the body as it streams and fails it on a mismatch, so the core need
/// not hash it again. Not for SigV2, or any payload marked unsigned or chunked.
fn signed_sha256(headers: &http::HeaderMap) -> Option<[u8; 32]> {
    let sigv4 = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256 "));
    let value = headers.get("x-amz-content-sha256")?.to_str().ok()?;
    let mut out = [0u8; 32];
    (sigv4 && hex::decode_to_slice(value, &mut out).is_ok()).then_some(out)
}
