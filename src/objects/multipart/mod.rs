//! Multipart uploads, for both edges (S3's CreateMultipartUpload, UploadPart,
//! CompleteMultipartUpload and AbortMultipartUpload; the JSON API's uploads in parts).
//!
//! Each part is a blob of its own (`storage::parts`), recorded on its part row with the
//! reservation it made; completion moves the listed parts' blobs onto the object's row in
//! one transaction and writes no byte again. Aborting, expiring or completing an upload
//! drops the blobs of the parts it no longer needs, after the rows are gone. The object row
//! appears only when completion commits. (Uploads begun before parts were blobs keep them
//! in the backend's own upload.)

mod complete;
pub mod rules;
mod store;

use std::collections::HashMap;

use sqlx::PgPool;
use uuid::Uuid;

pub use complete::{Claim, Finished, claim, finish};
pub use rules::Listed;
pub use store::store_part;

use super::UploadError;
use super::quota::QuotaError;
use crate::app::AppState;
use crate::checksum::Algorithm;
use crate::db::DbError;
use crate::db::multipart::{self, Part, Upload};
use crate::db::objects::Headers;
use crate::storage::parts::PART_BLOBS;
use crate::storage::{BlobId, StorageError};

/// Every part but the last must be at least this large (5 MiB).
pub const MIN_PART_SIZE: i64 = 5 * 1024 * 1024;
/// Part numbers run from 1 to this.
pub const MAX_PARTS: i32 = 10_000;

/// Why a multipart step failed; each edge words it (S3 codes in `s3::multipart`, JSON codes
/// in `api::error`).
#[derive(Debug, thiserror::Error)]
pub enum MultipartError {
    /// No such upload in progress (S3 `NoSuchUpload`, JSON `not_found`).
    #[error(
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
    )]
    NoSuchUpload,
    /// A part of unknown length for an upload whose parts are not blobs (`MissingContentLength`).
    #[error("You must provide the Content-Length HTTP header.")]
    MissingLength,
    /// The completion lists no part (`MalformedXML`).
    #[error("You must specify at least one part.")]
    NoParts,
    /// A listed part has no number (`MalformedXML`).
    #[error("Each part needs a PartNumber.")]
    UnnumberedPart,
    /// The listed numbers do not ascend (`InvalidPartOrder`).
    #[error("The list of parts was not in ascending order. Parts must be ordered by part number.")]
    PartOrder,
    /// A listed part is missing, or its ETag or a checksum differs (`InvalidPart`).
    #[error(
        "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."
    )]
    InvalidPart,
    /// A part other than the last is under [`MIN_PART_SIZE`] (`EntityTooSmall`).
    #[error("Your proposed upload is smaller than the minimum allowed object size.")]
    PartTooSmall,
    /// A part has no checksum for the upload's algorithm (`InvalidRequest`).
    #[error("A part is missing its {} checksum.", .0.name())]
    PartChecksumMissing(Algorithm),
    /// The completion's write condition does not hold: `missing` when there is no object
    /// and one was required (S3 `NoSuchKey`), else `PreconditionFailed`.
    #[error("At least one of the pre-conditions you specified did not hold")]
    Condition {
        /// No object is under the key.
        missing: bool,
    },
    /// Receiving or committing the bytes failed.
    #[error(transparent)]
    Upload(#[from] UploadError),
    /// A reservation was refused, or could not be made.
    #[error(transparent)]
    Quota(#[from] QuotaError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The backend failed.
    #[error(transparent)]
    Storage(StorageError),
    /// Something that cannot happen did.
    #[error("{0}")]
    Internal(String),
}

/// What a new upload is for.
#[derive(Debug, Clone)]
pub struct NewUpload {
    /// Its bucket.
    pub bucket_id: Uuid,
    /// The key the object will have (already checked).
    pub key: String,
    /// The object's headers, metadata and tags.
    pub headers: Headers,
    /// The flexible checksum every part carries, if any.
    pub algorithm: Option<Algorithm>,
    /// FULL_OBJECT or COMPOSITE, with an algorithm.
    pub checksum_type: Option<String>,
}

/// Starts an upload. Nothing reaches the backend until the first part: each part is a blob
/// of its own, and the object's row will keep the upload's blob name, which no blob has.
pub async fn begin(db: &PgPool, new: NewUpload) -> Result<Upload, DbError> {
    let upload = Upload {
        id: Uuid::new_v4(),
        bucket_id: new.bucket_id,
        key: new.key,
        headers: new.headers,
        checksum_algorithm: new.algorithm.map(|a| a.name().to_owned()),
        checksum_type: new.checksum_type,
        blob_id: BlobId::new().0,
        backend_upload: PART_BLOBS.to_owned(),
        created_at: time::OffsetDateTime::now_utc(),
    };
    multipart::create(db, &upload).await?;
    Ok(upload)
}

/// The upload in progress `id` of `key` in the bucket.
pub async fn live(db: &PgPool, id: Uuid, bucket_id: Uuid, key: &str) -> Result<Upload, MultipartError> {
    multipart::get(db, id, bucket_id, key)
        .await?
        .ok_or(MultipartError::NoSuchUpload)
}

/// The upload in progress `id` in the bucket, whatever its key (the JSON API names uploads
/// by id alone).
pub async fn live_in_bucket(db: &PgPool, id: Uuid, bucket_id: Uuid) -> Result<Upload, MultipartError> {
    multipart::get_in_bucket(db, id, bucket_id)
        .await?
        .ok_or(MultipartError::NoSuchUpload)
}

/// Every part uploaded so far, by number.
pub async fn stored_parts(db: &PgPool, upload: &Upload) -> Result<HashMap<i32, Part>, DbError> {
    Ok(multipart::list_parts(db, upload.id, 0, i64::from(MAX_PARTS) + 1)
        .await?
        .into_iter()
        .map(|p| (p.part_number, p))
        .collect())
}

/// Aborts an upload: its row goes (so no new part can be recorded), its parts' room is
/// given back and their bytes dropped.
pub async fn abort(state: &AppState, id: Uuid, bucket_id: Uuid, key: &str) -> Result<(), MultipartError> {
    let mut conn = state.db.acquire().await.map_err(DbError::from)?;
    let dropped = multipart::abort(&mut conn, id, bucket_id, key)
        .await?
        .ok_or(MultipartError::NoSuchUpload)?;
    drop(conn);
    for r in &dropped.reservations {
        crate::db::quota::release(&state.db, *r).await?;
    }
    super::stored::drop_upload(&state.storage, &dropped).await;
    Ok(())
}

/// The flexible checksum algorithm an upload's parts carry.
pub fn algorithm_of(u: &Upload) -> Option<Algorithm> {
    u.checksum_algorithm.as_deref().and_then(Algorithm::parse)
}
