//! Versions of objects (migration 0022): a key's current version is its row in `objects`;
//! its noncurrent versions and delete markers are rows of `object_versions`. Removing a
//! version or writing a delete marker is the `remove_object` function; reading, tagging and
//! listing versions read both tables.

use std::collections::BTreeMap;

use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use super::DbError;
use super::objects::{Object, ObjectRow, Start};

/// A bucket's versioning, as S3 names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versioning {
    /// Never enabled: one version per key, `null`, replaced in place.
    Off,
    /// Every write makes a new version.
    Enabled,
    /// Writes replace the `null` version; older versions stay.
    Suspended,
}

impl Versioning {
    fn from_column(v: Option<&str>) -> Self {
        match v {
            Some("Enabled") => Self::Enabled,
            Some("Suspended") => Self::Suspended,
            _ => Self::Off,
        }
    }
}

/// A bucket's versioning.
pub async fn versioning(db: impl PgExecutor<'_>, bucket_id: Uuid) -> Result<Versioning, DbError> {
    let v: Option<Option<String>> = sqlx::query_scalar("select versioning from buckets where id = $1")
        .bind(bucket_id)
        .fetch_optional(db)
        .await?;
    Ok(Versioning::from_column(v.flatten().as_deref()))
}

/// Enables or suspends a bucket's versioning (it never goes back to off).
pub async fn set_versioning(db: impl PgExecutor<'_>, bucket_id: Uuid, enabled: bool) -> Result<(), DbError> {
    sqlx::query("update buckets set versioning = $2 where id = $1")
        .bind(bucket_id)
        .bind(if enabled { "Enabled" } else { "Suspended" })
        .execute(db)
        .await?;
    Ok(())
}

/// What removing one version, or deleting a key's current object, did.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Removal {
    /// The version removed, or the delete marker written; `None` on a bucket never
    /// versioned when no version was named.
    pub version_id: Option<String>,
    /// Whether that version is a delete marker.
    pub marker: bool,
    /// Whether a version went (a missing key or version is not an error).
    pub removed: bool,
}

#[derive(sqlx::FromRow)]
struct RemovalRow {
    #[sqlx(flatten)]
    removal: Removal,
    displaced: Vec<Uuid>,
    freed_bytes: i64,
    freed_objects: i32,
}

/// Removes each `(key, version)` in one transaction: a named version wherever it is, or,
/// with no version, the key's current object (a delete marker on a versioned bucket). Usage
/// is uncounted with them. Returns each one's outcome, in the order given, and the blobs to
/// remove after the commit.
pub async fn remove(
    db: &mut PgConnection,
    bucket_id: Uuid,
    targets: &[(String, Option<String>)],
) -> Result<(Vec<Removal>, Vec<Uuid>), DbError> {
    // In key order, so two removals (and commits) lock keys in one order.
    let order = super::commit::key_order(targets.iter().map(|(k, _)| (bucket_id, k.as_str())));
    let (keys, versions): (Vec<&str>, Vec<Option<&str>>) = order
        .iter()
        .map(|&i| (targets[i].0.as_str(), targets[i].1.as_deref()))
        .unzip();
    let mut tx = sqlx::Connection::begin(&mut *db).await?;
    let rows: Vec<RemovalRow> = sqlx::query_as(
        "select r.version_id, r.marker, r.removed, r.displaced, r.freed_bytes, r.freed_objects
           from unnest($2::text[], $3::text[]) with ordinality as t(key, version, n)
          cross join lateral remove_object($1, t.key, t.version) r
          order by t.n",
    )
    .bind(bucket_id)
    .bind(&keys)
    .bind(&versions)
    .fetch_all(&mut *tx)
    .await?;
    let bytes: i64 = rows.iter().map(|r| r.freed_bytes).sum();
    let objects: i64 = rows.iter().map(|r| i64::from(r.freed_objects)).sum();
    super::usage::charge(&mut tx, bucket_id, -bytes, -objects).await?;
    tx.commit().await?;
    // Back in the order asked.
    let mut blobs = Vec::new();
    let mut done: Vec<Option<Removal>> = (0..targets.len()).map(|_| None).collect();
    for (i, r) in order.into_iter().zip(rows) {
        blobs.extend(r.displaced);
        done[i] = Some(r.removal);
    }
    let done = done.into_iter().collect::<Option<Vec<Removal>>>();
    Ok((done.ok_or(DbError::Sqlx(sqlx::Error::RowNotFound))?, blobs))
}

/// A version found by id.
#[derive(Debug, Clone)]
pub enum Found {
    /// A version with content (current or not).
    Object(Box<Object>),
    /// A delete marker, with its Last-Modified.
    Marker(OffsetDateTime),
}

#[derive(sqlx::FromRow)]
struct VersionRow {
    #[sqlx(flatten)]
    object: ObjectRow,
    is_marker: bool,
}

/// The columns of a version from either table: an [`ObjectRow`] (a marker's blob is its own
/// id, never read) and whether it is a marker.
const VERSION_COLUMNS: &str = "id, key, size, etag, md5, sha256, content_type, content_disposition, \
     content_encoding, content_language, cache_control, expires, user_metadata, tags, checksums, checksum_type, \
     parts_count, part_sizes, coalesce(blob_id, id) as blob_id, part_blobs, acl, created_at, updated_at, version_id";

/// Version `version_id` of `key`, current or not.
pub async fn get(
    db: impl PgExecutor<'_>,
    bucket_id: Uuid,
    key: &str,
    version_id: &str,
) -> Result<Option<Found>, DbError> {
    let row: Option<VersionRow> = sqlx::query_as(&format!(
        "select {VERSION_COLUMNS}, false as is_marker from objects
          where bucket_id = $1 and key = $2 and version_id = $3
         union all
         select {VERSION_COLUMNS}, is_marker from object_versions
          where bucket_id = $1 and key = $2 and version_id = $3
         limit 1"
    ))
    .bind(bucket_id)
    .bind(key)
    .bind(version_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| match r.is_marker {
        true => Found::Marker(Object::from(r.object).updated_at),
        false => Found::Object(Box::new(Object::from(r.object))),
    }))
}

/// The version id of `key`'s newest version if that is a delete marker (then the key has
/// no current object).
pub async fn latest_marker(db: impl PgExecutor<'_>, bucket_id: Uuid, key: &str) -> Result<Option<String>, DbError> {
    let newest: Option<(String, bool)> = sqlx::query_as(
        "select version_id, is_marker from object_versions
          where bucket_id = $1 and key = $2 order by seq desc limit 1",
    )
    .bind(bucket_id)
    .bind(key)
    .fetch_optional(db)
    .await?;
    Ok(newest.and_then(|(v, marker)| marker.then_some(v)))
}

/// Replaces the tags of `key`'s current object, or of version `version`; `false` if there
/// is no such object or version (or it is a delete marker).
pub async fn set_tags(
    db: &mut PgConnection,
    bucket_id: Uuid,
    key: &str,
    version: Option<&str>,
    tags: &BTreeMap<String, String>,
) -> Result<bool, DbError> {
    set_column(db, Column::Tags(tags), bucket_id, key, version).await
}

/// Sets the canned ACL of `key`'s current object, or of version `version` (`None`:
/// private); `false` if there is no such object or version.
pub async fn set_acl(
    db: &mut PgConnection,
    bucket_id: Uuid,
    key: &str,
    version: Option<&str>,
    acl: Option<&str>,
) -> Result<bool, DbError> {
    set_column(db, Column::Acl(acl), bucket_id, key, version).await
}

/// A column of a version that can be changed in place, with its new value.
#[derive(Clone, Copy)]
enum Column<'a> {
    Tags(&'a BTreeMap<String, String>),
    Acl(Option<&'a str>),
}

impl Column<'_> {
    fn name(self) -> &'static str {
        match self {
            Column::Tags(_) => "tags",
            Column::Acl(_) => "acl",
        }
    }

    fn bind<'q>(
        self,
        q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>
    where
        Self: 'q,
    {
        match self {
            Column::Tags(t) => q.bind(Json(t)),
            Column::Acl(a) => q.bind(a),
        }
    }
}

/// Sets one column of the current object or of a version.
async fn set_column(
    db: &mut PgConnection,
    column: Column<'_>,
    bucket_id: Uuid,
    key: &str,
    version: Option<&str>,
) -> Result<bool, DbError> {
    let name = column.name();
    let sql = format!(
        "update objects set {name} = $4
          where bucket_id = $1 and key = $2 and ($3::text is null or version_id = $3)"
    );
    let q = sqlx::query(&sql).bind(bucket_id).bind(key).bind(version);
    if column.bind(q).execute(&mut *db).await?.rows_affected() > 0 {
        return Ok(true);
    }
    if version.is_none() {
        return Ok(false);
    }
    let sql = format!(
        "update object_versions set {name} = $4
          where bucket_id = $1 and key = $2 and version_id = $3 and not is_marker"
    );
    let q = sqlx::query(&sql).bind(bucket_id).bind(key).bind(version);
    Ok(column.bind(q).execute(&mut *db).await?.rows_affected() > 0)
}

/// One entry of a listing of versions.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Listed {
    /// The version's row id (the JSON API's file id of that version).
    pub id: Uuid,
    /// The object key.
    pub key: String,
    /// Its version id.
    pub version_id: String,
    /// Its place among the key's versions (greater is newer).
    pub seq: i64,
    /// Whether it is the key's current object (then it is also its newest version).
    pub current: bool,
    /// Whether it is a delete marker.
    pub is_marker: bool,
    /// Length in bytes.
    pub size: i64,
    /// ETag without quotes (empty for a marker).
    pub etag: String,
    /// Last-Modified.
    pub updated_at: OffsetDateTime,
}

/// Up to `limit` versions of a bucket's keys in key (byte) order, newest first within a
/// key, starting at `from` and, when `to` is given, stopping before key `to`. Each table
/// gives its first `limit` rows in that order from its own index, and only those are
/// merged: a page reads about `limit` rows however many versions the bucket holds (a
/// single sorted union would let the planner scan and sort every row after `from`).
pub async fn list_range(
    db: impl PgExecutor<'_>,
    bucket_id: Uuid,
    from: &Start,
    to: Option<&str>,
    limit: i64,
) -> Result<Vec<Listed>, DbError> {
    let (start, op, seq) = match from {
        Start::Including(k) => (k, ">=", None),
        Start::After(k) => (k, ">", None),
        Start::AfterVersion { key, seq } => (key, ">=", Some(*seq)),
    };
    let range = format!(
        "bucket_id = $1 and key {op} $2 and ($3::text is null or key < $3)
         and ($4::bigint is null or key > $2 or seq < $4)"
    );
    let sql = format!(
        "select id, key, version_id, seq, current, is_marker, size, etag, updated_at from (
             (select id, key, version_id, seq, true as current, false as is_marker, size, etag, updated_at
                from objects where {range} order by key limit $5)
             union all
             (select id, key, version_id, seq, false, is_marker, size, etag, updated_at
                from object_versions where {range} order by key, seq desc limit $5)) v
          order by key, seq desc limit $5"
    );
    Ok(sqlx::query_as(&sql)
        .bind(bucket_id)
        .bind(start)
        .bind(to)
        .bind(seq)
        .bind(limit)
        .fetch_all(db)
        .await?)
}

/// Up to `limit` versions of `key`, newest first, older than `before` (a `seq`) if given.
pub async fn of_key(
    db: impl PgExecutor<'_>,
    bucket_id: Uuid,
    key: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Listed>, DbError> {
    Ok(sqlx::query_as(
        "select id, key, version_id, seq, current, is_marker, size, etag, updated_at from (
             select id, key, version_id, seq, true as current, false as is_marker, size, etag, updated_at
               from objects where bucket_id = $1 and key = $2
             union all
             select id, key, version_id, seq, false, is_marker, size, etag, updated_at
               from object_versions where bucket_id = $1 and key = $2) v
          where $3::bigint is null or seq < $3
          order by seq desc limit $4",
    )
    .bind(bucket_id)
    .bind(key)
    .bind(before)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// The key of the version with row id `id` (current or not, a delete marker too).
pub async fn key_of(db: impl PgExecutor<'_>, bucket_id: Uuid, id: Uuid) -> Result<Option<String>, DbError> {
    Ok(sqlx::query_scalar(
        "select key from objects where bucket_id = $1 and id = $2
         union all
         select key from object_versions where bucket_id = $1 and id = $2
         limit 1",
    )
    .bind(bucket_id)
    .bind(id)
    .fetch_optional(db)
    .await?)
}

/// The place (`seq`) of version `version_id` of `key`, to resume a listing after it.
pub async fn seq_of(
    db: impl PgExecutor<'_>,
    bucket_id: Uuid,
    key: &str,
    version_id: &str,
) -> Result<Option<i64>, DbError> {
    Ok(sqlx::query_scalar(
        "select seq from objects where bucket_id = $1 and key = $2 and version_id = $3
         union all
         select seq from object_versions where bucket_id = $1 and key = $2 and version_id = $3
         limit 1",
    )
    .bind(bucket_id)
    .bind(key)
    .bind(version_id)
    .fetch_optional(db)
    .await?)
}
