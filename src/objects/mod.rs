//! The object core both edges call: what a key and a bucket name may be, which bytes a range
//! selects, and receiving an upload (hash while streaming into a new blob, check what the
//! client declared about its bytes, commit its row, in batches with other uploads that
//! finish together). It speaks no protocol. Its failures are [`UploadError`]s, which each
//! edge maps once: S3 codes in `s3::error`, JSON codes in `api::error`.

pub mod buckets;
pub mod commit;
pub mod copy;
pub mod growing;
pub mod hashing;
pub mod integrity;
pub mod keys;
pub mod lifecycle;
pub mod listing;
pub mod multipart;
pub mod quota;
pub mod range;
pub mod removal;
pub mod stored;
pub mod upload;

use crate::checksum::Algorithm;
use crate::db::DbError;
use crate::storage::StorageError;

/// A request body as the core reads it: chunks, or the edge's own error for why the body
/// failed (s3s checks payload hashes and aws-chunked signatures as the body streams).
pub type BodyError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why an upload was not stored. Each variant names the S3 code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The request body failed while being read; the edge's own error is inside (S3: the
    /// code s3s gave, else `IncompleteBody`; JSON: `validation_error`).
    #[error("request body: {0}")]
    Body(BodyError),
    /// Storing the bytes failed, or there were more or fewer than declared (S3:
    /// `IncompleteBody`, `InvalidRequest`, `EntityTooLarge`, `ServiceUnavailable`).
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A checksum value the client sent is malformed (`InvalidRequest`).
    #[error("Value for {} header is invalid.", .0.header())]
    InvalidChecksum(Algorithm),
    /// The checksum algorithm the client declared is unsupported (`InvalidRequest`).
    #[error("Checksum algorithm provided is unsupported.")]
    UnsupportedAlgorithm,
    /// `x-amz-trailer` names no supported checksum (`InvalidRequest`).
    #[error("The value specified in the x-amz-trailer header is not supported")]
    UnsupportedTrailer,
    /// A checksum the client sent does not match the bytes (`BadDigest`).
    #[error("The {} you specified did not match the calculated checksum.", .0.name())]
    ChecksumMismatch(Algorithm),
    /// `Content-MD5` is not a base64 MD5 (`InvalidDigest`).
    #[error("The Content-MD5 you specified was invalid.")]
    InvalidContentMd5,
    /// `Content-MD5` does not match the bytes (`BadDigest`).
    #[error("The Content-MD5 you specified did not match what we received.")]
    ContentMd5Mismatch,
    /// The commit would exceed a quota (`QuotaExceeded`).
    #[error(transparent)]
    Quota(#[from] quota::Limit),
    /// A conditional write's condition held when the upload began, but another write
    /// committed first (`ConditionalRequestConflict`, 409).
    #[error("A conflicting operation occurred. If using PutObject you can retry the request.")]
    ConditionConflict,
    /// The database failed (`InternalError`, or `ServiceUnavailable` when unreachable).
    #[error(transparent)]
    Db(DbError),
    /// The detached commit task did not finish (`InternalError`).
    #[error("commit task: {0}")]
    Commit(String),
}

impl From<quota::QuotaError> for UploadError {
    fn from(e: quota::QuotaError) -> Self {
        match e {
            quota::QuotaError::Exceeded(limit) => UploadError::Quota(limit),
            quota::QuotaError::Db(e) => UploadError::Db(e),
        }
    }
}

/// The database layer's commit-time refusal is a quota refusal like any other.
impl From<DbError> for UploadError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::QuotaExceeded => UploadError::Quota(quota::Limit::AtCommit),
            DbError::ConditionFailed => UploadError::ConditionConflict,
            e => UploadError::Db(e),
        }
    }
}
