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

/// Deletes the objects named, each only if it is still the version written at the time
/// given (an object written again since is left alone), and uncounts them. Returns how many
/// went, their bytes, and their blobs to remove after the commit.
pub async fn expire(
    db: &mut PgConnection,
    bucket_id: Uuid,
    objects: &[(String, OffsetDateTime)],
) -> Result<(u64, i64, Vec<Uuid>), DbError> {
    let (keys, times): (Vec<&str>, Vec<OffsetDateTime>) = objects.iter().map(|(k, t)| (k.as_str(), *t)).unzip();
    let mut tx = sqlx::Connection::begin(&mut *db).await?;
    let gone: Vec<(Uuid, i64, Option<Vec<Uuid>>)> = sqlx::query_as(
        "delete from objects o using unnest($2::text[], $3::timestamptz[]) as c(key, at)
          where o.bucket_id = $1 and o.key = c.key and o.updated_at = c.at
         returning o.blob_id, o.size, o.part_blobs",
    )
    .bind(bucket_id)
    .bind(&keys)
    .bind(&times)
    .fetch_all(&mut *tx)
    .await?;
    let bytes: i64 = gone.iter().map(|(_, s, _)| s).sum();
    super::usage::charge(&mut tx, bucket_id, -bytes, -(gone.len() as i64)).await?;
    tx.commit().await?;
    let count = gone.len() as u64;
    let blobs = gone
        .into_iter()
        .flat_map(|(blob, _, parts)| super::objects::blobs_of(blob, parts))
        .collect();
    Ok((count, bytes, blobs))
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
