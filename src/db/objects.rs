//! Objects: one row per (bucket, key), naming the blob that holds its bytes, or the blobs of
//! its multipart parts in order.

use std::collections::{BTreeMap, HashMap};

use sqlx::PgExecutor;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::DbError;
pub use super::commit::commit_put;
use crate::checksum::Checksums;

/// The stored headers of an object, as given at upload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    /// Content-Type.
    pub content_type: Option<String>,
    /// Content-Disposition.
    pub content_disposition: Option<String>,
    /// Content-Encoding.
    pub content_encoding: Option<String>,
    /// Content-Language.
    pub content_language: Option<String>,
    /// Cache-Control.
    pub cache_control: Option<String>,
    /// Expires.
    pub expires: Option<OffsetDateTime>,
    /// `x-amz-meta-*`, names without the prefix.
    pub user_metadata: HashMap<String, String>,
    /// Object tags.
    pub tags: BTreeMap<String, String>,
}

/// An object as stored.
#[derive(Debug, Clone)]
pub struct Object {
    /// When it was first created (Last-Modified is `updated_at`).
    pub created_at: OffsetDateTime,
    /// Primary key.
    pub id: Uuid,
    /// The object key.
    pub key: String,
    /// Length in bytes.
    pub size: i64,
    /// ETag without quotes.
    pub etag: String,
    /// MD5 of the content, when known.
    pub md5: Option<Vec<u8>>,
    /// SHA-256 of the content, when known.
    pub sha256: Option<Vec<u8>>,
    /// Stored headers and user metadata.
    pub headers: Headers,
    /// Flexible checksums the object was uploaded with.
    pub checksums: Checksums,
    /// FULL_OBJECT or COMPOSITE, when checksums are stored.
    pub checksum_type: Option<String>,
    /// Number of parts, for multipart objects.
    pub parts_count: Option<i32>,
    /// Sizes of the parts, in order, for multipart objects.
    pub part_sizes: Option<Vec<i64>>,
    /// The blob holding the bytes (no blob when `part_blobs` is set).
    pub blob_id: Uuid,
    /// The blobs of the parts, in order, for a multipart object stored as its parts.
    pub part_blobs: Option<Vec<Uuid>>,
    /// Its own canned ACL, when not private (`public-read`, `public-read-write`,
    /// `authenticated-read`).
    pub acl: Option<String>,
    /// Last-Modified.
    pub updated_at: OffsetDateTime,
    /// Its version id (`null` for one written while its bucket was unversioned or
    /// suspended), if its bucket has ever been versioned.
    pub version_id: Option<String>,
}

/// The header columns objects and multipart uploads share, as read from a row.
#[derive(sqlx::FromRow)]
pub(super) struct HeaderColumns {
    content_type: Option<String>,
    content_disposition: Option<String>,
    content_encoding: Option<String>,
    content_language: Option<String>,
    cache_control: Option<String>,
    expires: Option<OffsetDateTime>,
    user_metadata: Json<HashMap<String, String>>,
    tags: Json<BTreeMap<String, String>>,
}

impl From<HeaderColumns> for Headers {
    fn from(c: HeaderColumns) -> Self {
        Self {
            content_type: c.content_type,
            content_disposition: c.content_disposition,
            content_encoding: c.content_encoding,
            content_language: c.content_language,
            cache_control: c.cache_control,
            expires: c.expires,
            user_metadata: c.user_metadata.0,
            tags: c.tags.0,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ObjectRow {
    id: Uuid,
    key: String,
    size: i64,
    etag: String,
    md5: Option<Vec<u8>>,
    sha256: Option<Vec<u8>>,
    #[sqlx(flatten)]
    headers: HeaderColumns,
    checksums: Json<Checksums>,
    checksum_type: Option<String>,
    parts_count: Option<i32>,
    part_sizes: Option<Vec<i64>>,
    blob_id: Uuid,
    part_blobs: Option<Vec<Uuid>>,
    acl: Option<String>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    version_id: Option<String>,
}

impl From<ObjectRow> for Object {
    fn from(r: ObjectRow) -> Self {
        Self {
            created_at: r.created_at,
            id: r.id,
            key: r.key,
            size: r.size,
            etag: r.etag,
            md5: r.md5,
            sha256: r.sha256,
            headers: r.headers.into(),
            checksums: r.checksums.0,
            checksum_type: r.checksum_type,
            parts_count: r.parts_count,
            part_sizes: r.part_sizes,
            blob_id: r.blob_id,
            part_blobs: r.part_blobs,
            acl: r.acl,
            updated_at: r.updated_at,
            version_id: r.version_id,
        }
    }
}

/// The columns of an [`ObjectRow`] from `objects`; its version id is shown only once its
/// bucket has known versioning.
const COLUMNS: &str = "id, key, size, etag, md5, sha256, content_type, content_disposition, content_encoding, \
     content_language, cache_control, expires, user_metadata, tags, checksums, checksum_type, parts_count, part_sizes, \
     blob_id, part_blobs, acl, created_at, updated_at, \
     case when version_id <> 'null' or (select b.versioning from buckets b where b.id = objects.bucket_id) is not null \
          then version_id end as version_id";

/// A condition on the object a write replaces, checked under the row's lock in the commit
/// (S3's conditional writes), so concurrent writers on any instance see each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteCondition {
    /// No object may be under the key (`If-None-Match: *`).
    Absent,
    /// An object must be under the key (`If-Match: *`).
    Present,
    /// The object under the key must have this ETag, unquoted (`If-Match: "etag"`).
    Etag(String),
}

impl WriteCondition {
    /// Whether the condition holds for the object under the key (its ETag), if any.
    pub fn holds(&self, current: Option<&str>) -> bool {
        match (self, current) {
            (WriteCondition::Absent, current) => current.is_none(),
            (WriteCondition::Present, current) => current.is_some(),
            (WriteCondition::Etag(want), Some(etag)) => want == etag,
            (WriteCondition::Etag(_), None) => false,
        }
    }
}

/// What a finished upload or copy commits.
#[derive(Debug, Clone)]
pub struct NewObject {
    /// Target bucket.
    pub bucket_id: Uuid,
    /// Target key.
    pub key: String,
    /// Length in bytes.
    pub size: i64,
    /// ETag without quotes.
    pub etag: String,
    /// MD5, when known.
    pub md5: Option<Vec<u8>>,
    /// SHA-256, when known.
    pub sha256: Option<Vec<u8>>,
    /// Headers and user metadata.
    pub headers: Headers,
    /// Flexible checksums, verified.
    pub checksums: Checksums,
    /// FULL_OBJECT or COMPOSITE, when checksums are given.
    pub checksum_type: Option<String>,
    /// Number of parts, for multipart objects.
    pub parts_count: Option<i32>,
    /// Sizes of the parts, in order, for multipart objects.
    pub part_sizes: Option<Vec<i64>>,
    /// The blob that already durably holds the bytes (when `part_blobs` is set, a name no
    /// blob has).
    pub blob_id: Uuid,
    /// The blobs of the parts, in order, that already durably hold the bytes, for an object
    /// stored as its parts (one per `part_sizes` entry).
    pub part_blobs: Option<Vec<Uuid>>,
    /// The quota reservations the upload made (one, or one per multipart part), settled by
    /// the commit.
    pub reservations: Vec<Uuid>,
    /// A condition on the object it replaces (a conditional write).
    pub condition: Option<WriteCondition>,
    /// Its canned ACL when not private.
    pub acl: Option<String>,
}

/// The canned ACL of the object under `key`: `None` if there is no such object,
/// `Some(None)` if it is private.
pub async fn acl_of(db: impl PgExecutor<'_>, bucket_id: Uuid, key: &str) -> Result<Option<Option<String>>, DbError> {
    Ok(
        sqlx::query_scalar("select acl from objects where bucket_id = $1 and key = $2")
            .bind(bucket_id)
            .bind(key)
            .fetch_optional(db)
            .await?,
    )
}

/// The blobs a row owns: its part blobs when it has them, else its one blob.
pub(super) fn blobs_of(blob_id: Uuid, part_blobs: Option<Vec<Uuid>>) -> Vec<Uuid> {
    part_blobs.unwrap_or_else(|| vec![blob_id])
}

/// An object by bucket and key.
pub async fn get(db: impl PgExecutor<'_>, bucket_id: Uuid, key: &str) -> Result<Option<Object>, DbError> {
    let row: Option<ObjectRow> = sqlx::query_as(&format!(
        "select {COLUMNS} from objects where bucket_id = $1 and key = $2"
    ))
    .bind(bucket_id)
    .bind(key)
    .fetch_optional(db)
    .await?;
    Ok(row.map(Object::from))
}

/// An object by id, within a bucket.
pub async fn get_by_id(db: impl PgExecutor<'_>, bucket_id: Uuid, id: Uuid) -> Result<Option<Object>, DbError> {
    let row: Option<ObjectRow> = sqlx::query_as(&format!(
        "select {COLUMNS} from objects where bucket_id = $1 and id = $2"
    ))
    .bind(bucket_id)
    .bind(id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(Object::from))
}

/// One entry of a listing page.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Listed {
    /// The object key.
    pub key: String,
    /// Length in bytes.
    pub size: i64,
    /// ETag without quotes.
    pub etag: String,
    /// Last-Modified.
    pub updated_at: OffsetDateTime,
}

/// Where a listing scan starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// Keys `>=` this.
    Including(String),
    /// Keys `>` this.
    After(String),
    /// The versions of `key` older than `seq`, then keys `>` it (a listing of versions;
    /// a listing of objects, one version per key, takes it as `After(key)`).
    AfterVersion {
        /// The key.
        key: String,
        /// The version's place among the key's versions.
        seq: i64,
    },
}

/// Up to `limit` objects of a bucket in key (byte) order, starting at `from` and, when `to`
/// is given, stopping before it.
pub async fn list_range(
    db: impl PgExecutor<'_>,
    bucket_id: Uuid,
    from: &Start,
    to: Option<&str>,
    limit: i64,
) -> Result<Vec<Listed>, DbError> {
    let (sql, start) = range_query("key, size, etag, updated_at", from);
    Ok(sqlx::query_as(&sql)
        .bind(bucket_id)
        .bind(start)
        .bind(to)
        .bind(limit)
        .fetch_all(db)
        .await?)
}

/// Like [`list_range`], with every column (the JSON API's file listing).
pub async fn list_range_full(
    db: impl PgExecutor<'_>,
    bucket_id: Uuid,
    from: &Start,
    to: Option<&str>,
    limit: i64,
) -> Result<Vec<Object>, DbError> {
    let (sql, start) = range_query(COLUMNS, from);
    let rows: Vec<ObjectRow> = sqlx::query_as(&sql)
        .bind(bucket_id)
        .bind(start)
        .bind(to)
        .bind(limit)
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().map(Object::from).collect())
}

/// The statement of a range scan selecting `columns`, and its start key.
fn range_query<'a>(columns: &str, from: &'a Start) -> (String, &'a str) {
    let (op, start) = match from {
        Start::Including(s) => (">=", s),
        Start::After(s) | Start::AfterVersion { key: s, .. } => (">", s),
    };
    let sql = format!(
        "select {columns} from objects
          where bucket_id = $1 and key {op} $2 and ($3::text is null or key < $3)
          order by key limit $4"
    );
    (sql, start)
}
