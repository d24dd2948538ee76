//! Multipart uploads and their parts.

use std::collections::HashMap;

use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use super::DbError;
use super::objects::{HeaderColumns, Headers};
use crate::checksum::Checksums;

/// An upload in progress.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The UploadId clients use.
    pub id: Uuid,
    /// Target bucket.
    pub bucket_id: Uuid,
    /// Target key.
    pub key: String,
    /// Headers and metadata to apply at completion.
    pub headers: Headers,
    /// Checksum algorithm declared at creation (`CRC32`, ...).
    pub checksum_algorithm: Option<String>,
    /// `COMPOSITE` or `FULL_OBJECT`, declared at creation.
    pub checksum_type: Option<String>,
    /// The blob the object will be stored under (when the parts are blobs of their own, a
    /// name no blob has, kept by the object's row).
    pub blob_id: Uuid,
    /// The backend's handle (`storage::parts::PART_BLOBS` when the parts are blobs).
    pub backend_upload: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
struct UploadRow {
    id: Uuid,
    bucket_id: Uuid,
    key: String,
    #[sqlx(flatten)]
    headers: HeaderColumns,
    checksum_algorithm: Option<String>,
    checksum_type: Option<String>,
    blob_id: Uuid,
    backend_upload: String,
    created_at: OffsetDateTime,
}

impl From<UploadRow> for Upload {
    fn from(r: UploadRow) -> Self {
        Self {
            id: r.id,
            bucket_id: r.bucket_id,
            key: r.key,
            headers: r.headers.into(),
            checksum_algorithm: r.checksum_algorithm,
            checksum_type: r.checksum_type,
            blob_id: r.blob_id,
            backend_upload: r.backend_upload,
            created_at: r.created_at,
        }
    }
}

const UPLOAD_COLUMNS: &str = "id, bucket_id, key, content_type, content_disposition, content_encoding, \
     content_language, cache_control, expires, user_metadata, tags, checksum_algorithm, checksum_type, blob_id, \
     backend_upload, created_at";

/// A stored part.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Part {
    /// 1 to 10000.
    pub part_number: i32,
    /// Length in bytes.
    pub size: i64,
    /// Hex MD5 without quotes.
    pub etag: String,
    /// The backend's token for the part.
    pub backend_part: String,
    /// The part's own blob, when the upload's parts are blobs.
    pub blob_id: Option<Uuid>,
    /// Flexible checksums of the part.
    pub checksums: Json<Checksums>,
    /// The quota reservation holding its bytes.
    pub reservation_id: Option<Uuid>,
    /// When it was uploaded.
    pub created_at: OffsetDateTime,
}

/// Records a new upload.
pub async fn create(db: impl PgExecutor<'_>, u: &Upload) -> Result<(), DbError> {
    let h = &u.headers;
    sqlx::query(
        "insert into multipart_uploads (id, bucket_id, key, content_type, content_disposition,
                content_encoding, content_language, cache_control, expires, user_metadata,
                checksum_algorithm, checksum_type, blob_id, backend_upload, tags)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(u.id)
    .bind(u.bucket_id)
    .bind(&u.key)
    .bind(h.content_type.as_deref())
    .bind(h.content_disposition.as_deref())
    .bind(h.content_encoding.as_deref())
    .bind(h.content_language.as_deref())
    .bind(h.cache_control.as_deref())
    .bind(h.expires)
    .bind(Json(&h.user_metadata))
    .bind(u.checksum_algorithm.as_deref())
    .bind(u.checksum_type.as_deref())
    .bind(u.blob_id)
    .bind(&u.backend_upload)
    .bind(Json(&h.tags))
    .execute(db)
    .await?;
    Ok(())
}

/// An upload that is not being completed, by id and bucket (its key unknown to the caller).
pub async fn get_in_bucket(db: impl PgExecutor<'_>, id: Uuid, bucket_id: Uuid) -> Result<Option<Upload>, DbError> {
    let row: Option<UploadRow> = sqlx::query_as(&format!(
        "select {UPLOAD_COLUMNS} from multipart_uploads
          where id = $1 and bucket_id = $2 and not completing"
    ))
    .bind(id)
    .bind(bucket_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(Upload::from))
}

/// An upload that is not being completed, by id, bucket and key.
pub async fn get(db: impl PgExecutor<'_>, id: Uuid, bucket_id: Uuid, key: &str) -> Result<Option<Upload>, DbError> {
    let row: Option<UploadRow> = sqlx::query_as(&format!(
        "select {UPLOAD_COLUMNS} from multipart_uploads
          where id = $1 and bucket_id = $2 and key = $3 and not completing"
    ))
    .bind(id)
    .bind(bucket_id)
    .bind(key)
    .fetch_optional(db)
    .await?;
    Ok(row.map(Upload::from))
}

/// A part just stored in the backend, to record.
#[derive(Debug)]
pub struct NewPart<'a> {
    /// 1 to 10000.
    pub number: i32,
    /// Length in bytes.
    pub size: i64,
    /// Hex MD5.
    pub etag: &'a str,
    /// The backend's token.
    pub backend_part: &'a str,
    /// The part's own blob, when the upload's parts are blobs.
    pub blob_id: Option<Uuid>,
    /// Flexible checksums.
    pub checksums: &'a Checksums,
    /// The quota reservation holding its bytes.
    pub reservation_id: Option<Uuid>,
}

/// A part replaced by a later upload of the same number.
#[derive(Debug, sqlx::FromRow)]
pub struct Replaced {
    /// Its backend token.
    pub backend_part: String,
    /// Its quota reservation, to release.
    pub reservation_id: Option<Uuid>,
}

/// Records a part, replacing an earlier upload of the same number; returns the replaced
/// part. Fails with `RowNotFound` if the upload is gone or being completed.
pub async fn put_part(tx: &mut PgConnection, upload_id: Uuid, part: &NewPart<'_>) -> Result<Option<Replaced>, DbError> {
    // Lock the upload row: a concurrent complete or abort waits for this part, or this part
    // finds the upload gone.
    let live: Option<Uuid> =
        sqlx::query_scalar("select id from multipart_uploads where id = $1 and not completing for share")
            .bind(upload_id)
            .fetch_optional(&mut *tx)
            .await?;
    if live.is_none() {
        return Err(DbError::Sqlx(sqlx::Error::RowNotFound));
    }
    let old: Option<Replaced> = sqlx::query_as(
        "select backend_part, reservation_id from multipart_parts
          where upload_id = $1 and part_number = $2 for update",
    )
    .bind(upload_id)
    .bind(part.number)
    .fetch_optional(&mut *tx)
    .await?;
    // The part row takes the reservation over from the instance that made it, in the same
    // statement: from now on it follows the upload (completion settles it, abort releases
    // it), not the instance's lease.
    sqlx::query(
        "with handed_over as (update reservations set instance_id = null where id = $7)
         insert into multipart_parts (upload_id, part_number, size, etag, backend_part, checksums, reservation_id,
                blob_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         on conflict (upload_id, part_number) do update
            set size = excluded.size, etag = excluded.etag, backend_part = excluded.backend_part,
                checksums = excluded.checksums, reservation_id = excluded.reservation_id,
                blob_id = excluded.blob_id, created_at = now()",
    )
    .bind(upload_id)
    .bind(part.number)
    .bind(part.size)
    .bind(part.etag)
    .bind(part.backend_part)
    .bind(Json(part.checksums))
    .bind(part.reservation_id)
    .bind(part.blob_id)
    .execute(&mut *tx)
    .await?;
    Ok(old)
}

/// Parts after `after`, ascending, at most `limit`.
pub async fn list_parts(
    db: impl PgExecutor<'_>,
    upload_id: Uuid,
    after: i32,
    limit: i64,
) -> Result<Vec<Part>, DbError> {
    Ok(sqlx::query_as(
        "select part_number, size, etag, backend_part, blob_id, checksums, reservation_id, created_at
           from multipart_parts
          where upload_id = $1 and part_number > $2 order by part_number limit $3",
    )
    .bind(upload_id)
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// Uploads of a bucket under `prefix`, ordered by key then creation, after the
/// (`key_marker`, `upload_id_marker`) position.
pub async fn list_uploads(
    db: impl PgExecutor<'_>,
    bucket_id: Uuid,
    prefix: &str,
    key_marker: Option<&str>,
    upload_id_marker: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Upload>, DbError> {
    let rows: Vec<UploadRow> = sqlx::query_as(&format!(
        "select {UPLOAD_COLUMNS} from multipart_uploads
          where bucket_id = $1 and not completing and starts_with(key, $2)
            and ($3::text is null
                 or key > $3
                 or (key = $3 and $4::uuid is not null
                     and (created_at, id) > (select created_at, id from multipart_uploads where id = $4)))
          order by key, created_at, id
          limit $5"
    ))
    .bind(bucket_id)
    .bind(prefix)
    .bind(key_marker)
    .bind(upload_id_marker)
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Upload::from).collect())
}

/// Claims an upload for completion, so no second completion or abort can run at the same
/// time. `None` if it does not exist or is already being completed.
pub async fn begin_complete(
    db: impl PgExecutor<'_>,
    id: Uuid,
    bucket_id: Uuid,
    key: &str,
) -> Result<Option<Upload>, DbError> {
    let row: Option<UploadRow> = sqlx::query_as(&format!(
        "update multipart_uploads set completing = true
          where id = $1 and bucket_id = $2 and key = $3 and not completing
          returning {UPLOAD_COLUMNS}"
    ))
    .bind(id)
    .bind(bucket_id)
    .bind(key)
    .fetch_optional(db)
    .await?;
    Ok(row.map(Upload::from))
}

/// Gives an upload back after a completion that failed before touching the backend.
pub async fn cancel_complete(db: impl PgExecutor<'_>, id: Uuid) -> Result<(), DbError> {
    sqlx::query("update multipart_uploads set completing = false where id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// What a removed upload leaves behind, for the caller to drop after the commit.
#[derive(Debug, Clone)]
pub struct Dropped {
    /// The upload: its blob and backend handle.
    pub upload: Upload,
    /// Its parts' blobs, when its parts are blobs of their own.
    pub part_blobs: Vec<Uuid>,
    /// The quota reservations its parts held.
    pub reservations: Vec<Uuid>,
}

/// Removes uploads whose rows the caller's transaction has locked (`for update`: no part
/// can be recorded against them meanwhile), with their parts.
async fn remove_locked(tx: &mut PgConnection, uploads: Vec<Upload>) -> Result<Vec<Dropped>, DbError> {
    let ids: Vec<Uuid> = uploads.iter().map(|u| u.id).collect();
    let parts: Vec<(Uuid, Option<Uuid>, Option<Uuid>)> =
        sqlx::query_as("select upload_id, blob_id, reservation_id from multipart_parts where upload_id = any($1)")
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?;
    sqlx::query("delete from multipart_uploads where id = any($1)")
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
    let mut held: HashMap<Uuid, (Vec<Uuid>, Vec<Uuid>)> = HashMap::new();
    for (upload, blob, reservation) in parts {
        let (blobs, reservations) = held.entry(upload).or_default();
        blobs.extend(blob);
        reservations.extend(reservation);
    }
    Ok(uploads
        .into_iter()
        .map(|upload| {
            let (part_blobs, reservations) = held.remove(&upload.id).unwrap_or_default();
            Dropped {
                upload,
                part_blobs,
                reservations,
            }
        })
        .collect())
}

/// Removes an upload that is not being completed, with its parts; returns what it leaves
/// behind.
pub async fn abort(db: &mut PgConnection, id: Uuid, bucket_id: Uuid, key: &str) -> Result<Option<Dropped>, DbError> {
    let mut tx = sqlx::Connection::begin(&mut *db).await?;
    let row: Option<UploadRow> = sqlx::query_as(&format!(
        "select {UPLOAD_COLUMNS} from multipart_uploads
          where id = $1 and bucket_id = $2 and key = $3 and not completing
          for update"
    ))
    .bind(id)
    .bind(bucket_id)
    .bind(key)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let dropped = remove_locked(&mut tx, vec![row.into()]).await?.pop();
    tx.commit().await?;
    Ok(dropped)
}

/// Removes an upload, completing or not, with its parts (gc expiring it); returns what it
/// leaves behind, `None` if it is gone already.
pub async fn remove(db: &mut PgConnection, id: Uuid) -> Result<Option<Dropped>, DbError> {
    let mut tx = sqlx::Connection::begin(&mut *db).await?;
    let row: Option<UploadRow> = sqlx::query_as(&format!(
        "select {UPLOAD_COLUMNS} from multipart_uploads where id = $1 for update"
    ))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let dropped = remove_locked(&mut tx, vec![row.into()]).await?.pop();
    tx.commit().await?;
    Ok(dropped)
}

/// Removes every upload of a bucket with their parts, inside the caller's transaction (the
/// bucket's deletion); returns what they leave behind.
pub async fn remove_all_of_bucket(tx: &mut PgConnection, bucket_id: Uuid) -> Result<Vec<Dropped>, DbError> {
    let rows: Vec<UploadRow> = sqlx::query_as(&format!(
        "select {UPLOAD_COLUMNS} from multipart_uploads where bucket_id = $1 for update"
    ))
    .bind(bucket_id)
    .fetch_all(&mut *tx)
    .await?;
    remove_locked(tx, rows.into_iter().map(Upload::from).collect()).await
}

/// Removes a completed upload and its parts, inside the completion's transaction. Fails
/// with `RowNotFound` if the upload is gone (gc expired it and drops its parts): the
/// object must then not commit.
pub async fn delete(db: impl PgExecutor<'_>, id: Uuid) -> Result<(), DbError> {
    let done = sqlx::query("delete from multipart_uploads where id = $1")
        .bind(id)
        .execute(db)
        .await?;
    if done.rows_affected() == 0 {
        return Err(DbError::Sqlx(sqlx::Error::RowNotFound));
    }
    Ok(())
}

/// Uploads created before `cutoff` (gc aborts them).
pub async fn stale(db: impl PgExecutor<'_>, cutoff: OffsetDateTime) -> Result<Vec<Upload>, DbError> {
    let rows: Vec<UploadRow> = sqlx::query_as(&format!(
        "select {UPLOAD_COLUMNS} from multipart_uploads where created_at < $1 order by created_at"
    ))
    .bind(cutoff)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Upload::from).collect())
}

/// Uploads in `bucket_id` under `prefix` begun before `cutoff` (a lifecycle rule aborts
/// them), at most `limit`.
pub async fn begun_before(
    db: impl PgExecutor<'_>,
    bucket_id: Uuid,
    prefix: &str,
    cutoff: OffsetDateTime,
    limit: i64,
) -> Result<Vec<Upload>, DbError> {
    let rows: Vec<UploadRow> = sqlx::query_as(&format!(
        "select {UPLOAD_COLUMNS} from multipart_uploads
          where bucket_id = $1 and starts_with(key, $2) and created_at < $3
          order by created_at limit $4"
    ))
    .bind(bucket_id)
    .bind(prefix)
    .bind(cutoff)
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Upload::from).collect())
}
