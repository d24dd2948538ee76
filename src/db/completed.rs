//! Multipart uploads completed lately, remembered with the answer their completion gave,
//! so a retried CompleteMultipartUpload (a client that timed out) gets the same success,
//! as from S3, instead of `NoSuchUpload`.

use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::DbError;
use super::objects::NewObject;
use crate::checksum::Checksums;

/// How long a completion is remembered (S3 promises at least 15 minutes).
pub const REMEMBERED_SECS: i64 = 3600;

/// What a completion answered.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Completed {
    /// The object's ETag, unquoted.
    pub etag: String,
    /// Its flexible checksums.
    pub checksums: Json<Checksums>,
    /// FULL_OBJECT or COMPOSITE, with checksums.
    pub checksum_type: Option<String>,
    /// The version it made, on a bucket that has known versioning.
    pub version_id: Option<String>,
}

/// Remembers that upload `id` completed as `new`, inside the completion's transaction.
pub async fn remember(
    tx: &mut PgConnection,
    id: Uuid,
    new: &NewObject,
    version_id: Option<&str>,
) -> Result<(), DbError> {
    sqlx::query(
        "insert into completed_uploads (id, bucket_id, key, etag, checksums, checksum_type, version_id)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict (id) do nothing",
    )
    .bind(id)
    .bind(new.bucket_id)
    .bind(&new.key)
    .bind(&new.etag)
    .bind(Json(&new.checksums))
    .bind(new.checksum_type.as_deref())
    .bind(version_id)
    .execute(tx)
    .await?;
    Ok(())
}

/// What upload `id` of `key` in `bucket_id` answered, if it completed within
/// [`REMEMBERED_SECS`].
pub async fn find(db: impl PgExecutor<'_>, id: Uuid, bucket_id: Uuid, key: &str) -> Result<Option<Completed>, DbError> {
    Ok(sqlx::query_as(
        "select etag, checksums, checksum_type, version_id from completed_uploads
          where id = $1 and bucket_id = $2 and key = $3
            and completed_at > now() - make_interval(secs => $4)",
    )
    .bind(id)
    .bind(bucket_id)
    .bind(key)
    .bind(REMEMBERED_SECS as f64)
    .fetch_optional(db)
    .await?)
}

/// Forgets completions older than [`REMEMBERED_SECS`] (gc); returns how many.
pub async fn forget_old(db: impl PgExecutor<'_>) -> Result<u64, DbError> {
    Ok(
        sqlx::query("delete from completed_uploads where completed_at <= now() - make_interval(secs => $1)")
            .bind(REMEMBERED_SECS as f64)
            .execute(db)
            .await?
            .rows_affected(),
    )
}
