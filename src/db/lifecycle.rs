//! Lifecycle rules stored on their bucket (as JSON; their type is the core's
//! `objects::lifecycle::Rule`), and what applying them reads and deletes.

use std::collections::BTreeMap;

use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use super::DbError;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Sets (or, with `None`, deletes) a bucket's rules.
pub async fn set<R: Serialize + Sync>(
    db: impl PgExecutor<'_>,
    bucket_id: Uuid,
    rules: Option<&[R]>,
) -> Result<(), DbError> {
    sqlx::query("update buckets set lifecycle = $2 where id = $1")
        .bind(bucket_id)
        .bind(rules.map(Json))
        .execute(db)
        .await?;
    Ok(())
}

/// A bucket's rules, if it has any.
pub async fn get<R: DeserializeOwned + Send + Unpin + 'static>(
    db: impl PgExecutor<'_>,
    bucket_id: Uuid,
) -> Result<Option<Vec<R>>, DbError> {
    let rules: Option<Option<Json<Vec<R>>>> = sqlx::query_scalar("select lifecycle from buckets where id = $1")
        .bind(bucket_id)
        .fetch_optional(db)
        .await?;
    Ok(rules.flatten().map(|r| r.0))
}

/// Every bucket with rules, and its rules.
pub async fn configured<R: DeserializeOwned + Send + Unpin + 'static>(
    db: impl PgExecutor<'_>,
) -> Result<Vec<(Uuid, Vec<R>)>, DbError> {
    let rows: Vec<(Uuid, Json<Vec<R>>)> =
        sqlx::query_as("select id, lifecycle from buckets where lifecycle is not null order by id")
            .fetch_all(db)
            .await?;
    Ok(rows.into_iter().map(|(id, r)| (id, r.0)).collect())
}

/// An object a rule may expire.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Candidate {
    /// Its key.
    pub key: String,
    /// Its size.
    pub size: i64,
    /// Its tags.
    pub tags: Json<BTreeMap<String, String>>,
    /// When it was written (the version a rule saw).
    pub updated_at: OffsetDateTime,
}

/// Objects of `bucket_id` under `prefix`, after key `after`, written before `cutoff`, in key
/// order, at most `limit`.
pub async fn candidates(
    db: impl PgExecutor<'_>,
    bucket_id: Uuid,
    prefix: &str,
    after: &str,
    cutoff: OffsetDateTime,
    limit: i64,
) -> Result<Vec<Candidate>, DbError> {
    Ok(sqlx::query_as(
        "select key, size, tags, updated_at from objects
          where bucket_id = $1 and starts_with(key, $2) and key > $3 and updated_at < $4
          order by key limit $5",
    )
    .bind(bucket_id)
    .bind(prefix)
    .bind(after)
    .bind(cutoff)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// What expiring removed: versions (or current objects) gone or hidden by a delete marker,
/// the bytes freed, and the blobs to remove after the commit.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Expired {
    /// Objects and versions expired.
    pub objects: u64,
    /// Bytes freed (a current object hidden by a delete marker frees none).
    pub bytes: i64,
    /// Blobs to remove after the commit.
    pub blobs: Vec<Uuid>,
}

#[derive(sqlx::FromRow)]
struct ExpiredRow {
    removed: bool,
    displaced: Vec<Uuid>,
    freed_bytes: i64,
    freed_objects: i32,
}

/// Expires the current objects named, each only if it is still the version written at the
/// time given (an object written again since is left alone), as DeleteObject does: deleted,
/// or on a versioned bucket hidden by a delete marker. Uncounts them in the same
/// transaction.
pub async fn expire(
    db: &mut PgConnection,
    bucket_id: Uuid,
    objects: &[(String, OffsetDateTime)],
) -> Result<Expired, DbError> {
    let (keys, times): (Vec<&str>, Vec<OffsetDateTime>) = objects.iter().map(|(k, t)| (k.as_str(), *t)).unzip();
    run(
        db,
        bucket_id,
        sqlx::query_as(
            "select r.removed, r.displaced, r.freed_bytes, r.freed_objects
               from unnest($2::text[], $3::timestamptz[]) as c(key, at)
              cross join lateral expire_object($1, c.key, c.at) r",
        )
        .bind(bucket_id)
        .bind(keys)
        .bind(times),
    )
    .await
}

/// Removes the versions named (noncurrent versions, lone delete markers), and uncounts them.
pub async fn remove_versions(
    db: &mut PgConnection,
    bucket_id: Uuid,
    versions: &[(String, String)],
) -> Result<Expired, DbError> {
    let (keys, ids): (Vec<&str>, Vec<&str>) = versions.iter().map(|(k, v)| (k.as_str(), v.as_str())).unzip();
    run(
        db,
        bucket_id,
        sqlx::query_as(
            "select r.removed, r.displaced, r.freed_bytes, r.freed_objects
               from unnest($2::text[], $3::text[]) as c(key, version)
              cross join lateral remove_object($1, c.key, c.version) r",
        )
        .bind(bucket_id)
        .bind(keys)
        .bind(ids),
    )
    .await
}

/// Runs one removal statement and uncounts what it freed, in one transaction.
async fn run<'q>(
    db: &mut PgConnection,
    bucket_id: Uuid,
    query: sqlx::query::QueryAs<'q, sqlx::Postgres, ExpiredRow, sqlx::postgres::PgArguments>,
) -> Result<Expired, DbError> {
    let mut tx = sqlx::Connection::begin(&mut *db).await?;
    let rows: Vec<ExpiredRow> = query.fetch_all(&mut *tx).await?;
    let bytes: i64 = rows.iter().map(|r| r.freed_bytes).sum();
    let objects: i64 = rows.iter().map(|r| i64::from(r.freed_objects)).sum();
    super::usage::charge(&mut tx, bucket_id, -bytes, -objects).await?;
    tx.commit().await?;
    let mut done = Expired::default();
    for r in rows.into_iter().filter(|r| r.removed) {
        done.objects += 1;
        done.bytes += r.freed_bytes;
        done.blobs.extend(r.displaced);
    }
    Ok(done)
}

/// A noncurrent version a rule may expire.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Noncurrent {
    /// Its key.
    pub key: String,
    /// Its version id.
    pub version_id: String,
    /// Its size (0 for a delete marker).
    pub size: i64,
    /// Its tags.
    pub tags: Json<BTreeMap<String, String>>,
    /// When a newer version replaced it.
    pub noncurrent_since: OffsetDateTime,
    /// How many noncurrent versions of its key are newer than it.
    pub newer: i64,
}

/// The first `limit` keys under `prefix` after key `after` that have versions in history,
/// in key order.
pub async fn keys_with_history(
    db: impl PgExecutor<'_>,
    bucket_id: Uuid,
    prefix: &str,
    after: &str,
    limit: i64,
) -> Result<Vec<String>, DbError> {
    Ok(sqlx::query_scalar(
        "select distinct key from object_versions
          where bucket_id = $1 and starts_with(key, $2) and key > $3
          order by key limit $4",
    )
    .bind(bucket_id)
    .bind(prefix)
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// The noncurrent versions (and noncurrent delete markers) of `keys`.
pub async fn noncurrent(db: impl PgExecutor<'_>, bucket_id: Uuid, keys: &[String]) -> Result<Vec<Noncurrent>, DbError> {
    Ok(sqlx::query_as(
        "select key, version_id, size, tags, noncurrent_since, newer from (
             select v.key, v.version_id, v.size, v.tags, v.noncurrent_since,
                    row_number() over (partition by v.key order by v.seq desc)
                    - case when exists (select 1 from objects o where o.bucket_id = $1 and o.key = v.key)
                           then 1 else 2 end as newer
               from object_versions v
              where v.bucket_id = $1 and v.key = any($2)) ranked
          where newer >= 0 order by key",
    )
    .bind(bucket_id)
    .bind(keys)
    .fetch_all(db)
    .await?)
}

/// Delete markers under `prefix` after key `after` that are their key's only version, in
/// key order, at most `limit`: `(key, version id)`.
pub async fn lone_markers(
    db: impl PgExecutor<'_>,
    bucket_id: Uuid,
    prefix: &str,
    after: &str,
    limit: i64,
) -> Result<Vec<(String, String)>, DbError> {
    Ok(sqlx::query_as(
        "select v.key, v.version_id from object_versions v
          where v.bucket_id = $1 and starts_with(v.key, $2) and v.key > $3 and v.is_marker
            and not exists (select 1 from objects o where o.bucket_id = $1 and o.key = v.key)
            and not exists (select 1 from object_versions w
                             where w.bucket_id = $1 and w.key = v.key and w.id <> v.id)
          order by v.key limit $4",
    )
    .bind(bucket_id)
    .bind(prefix)
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// Takes the fleet-wide lifecycle lock for the rest of the transaction `tx` (held open
/// while a run lasts, released however it ends); `false` if another instance holds it.
pub async fn try_lock(tx: &mut PgConnection) -> Result<bool, DbError> {
    Ok(sqlx::query_scalar("select pg_try_advisory_xact_lock($1)")
        .bind(LOCK_KEY)
        .fetch_one(tx)
        .await?)
}

/// The advisory lock's key ("lifecycl" in ASCII).
const LOCK_KEY: i64 = 0x6c69_6665_6379_636c;
