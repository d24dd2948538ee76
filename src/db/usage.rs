//! Usage counters: bytes and objects per bucket and per user, changed in the same
//! transaction as the object rows they count.

use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::DbError;

/// Adds `bytes` and `objects` (either may be negative) to a bucket and to its owner, in
/// one statement, inside the caller's transaction.
pub async fn charge(tx: &mut PgConnection, bucket_id: Uuid, bytes: i64, objects: i64) -> Result<(), DbError> {
    if bytes == 0 && objects == 0 {
        return Ok(());
    }
    sqlx::query(
        "with b as (
            update buckets set used_bytes = used_bytes + $2, object_count = object_count + $3
             where id = $1 returning owner_id)
         update users set used_bytes = used_bytes + $2, object_count = object_count + $3
          where id = (select owner_id from b)",
    )
    .bind(bucket_id)
    .bind(bytes)
    .bind(objects)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A user's counters.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserUsage {
    /// The user.
    pub user_id: Uuid,
    /// Bytes of committed objects.
    pub used_bytes: i64,
    /// Bytes reserved by uploads in flight.
    pub reserved_bytes: i64,
    /// Committed objects.
    pub object_count: i64,
    /// The quota, if any.
    pub quota_bytes: Option<i64>,
}

/// A user's counters.
pub async fn of_user(db: impl PgExecutor<'_>, user_id: Uuid) -> Result<Option<UserUsage>, DbError> {
    Ok(sqlx::query_as(
        "select id as user_id, used_bytes, reserved_bytes, object_count, quota_bytes from users where id = $1",
    )
    .bind(user_id)
    .fetch_optional(db)
    .await?)
}

/// A counter that differs from what the objects table says.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Drift {
    /// `user` or `bucket`.
    pub kind: String,
    /// Its id.
    pub id: Uuid,
    /// Stored bytes counter.
    pub counted_bytes: i64,
    /// Sum of object sizes.
    pub actual_bytes: i64,
    /// Stored object counter.
    pub counted_objects: i64,
    /// Number of objects.
    pub actual_objects: i64,
}

const DRIFT: &str = "
    with per_bucket as (
        select b.id, b.owner_id, b.used_bytes, b.object_count,
               coalesce(sum(o.size), 0)::bigint as actual_bytes, count(o.id)::bigint as actual_objects
          from buckets b
          left join (select bucket_id, id, size from objects
                     union all select bucket_id, id, size from object_versions) o on o.bucket_id = b.id
         group by b.id),
    per_user as (
        select u.id, u.used_bytes, u.object_count,
               coalesce(sum(p.actual_bytes), 0)::bigint as actual_bytes,
               coalesce(sum(p.actual_objects), 0)::bigint as actual_objects
          from users u left join per_bucket p on p.owner_id = u.id
         group by u.id)
    select 'bucket' as kind, id, used_bytes as counted_bytes, actual_bytes,
           object_count as counted_objects, actual_objects
      from per_bucket where used_bytes <> actual_bytes or object_count <> actual_objects
    union all
    select 'user', id, used_bytes, actual_bytes, object_count, actual_objects
      from per_user where used_bytes <> actual_bytes or object_count <> actual_objects";

/// Every counter that disagrees with the objects table.
pub async fn drift(db: impl PgExecutor<'_>) -> Result<Vec<Drift>, DbError> {
    Ok(sqlx::query_as(DRIFT).fetch_all(db).await?)
}

/// Rewrites every counter from the objects table, in one transaction; returns what it fixed.
pub async fn fix(db: &mut PgConnection) -> Result<Vec<Drift>, DbError> {
    let mut tx = sqlx::Connection::begin(&mut *db).await?;
    // Lock the counters so no commit lands between measuring and writing.
    sqlx::query("lock table buckets, users in share row exclusive mode")
        .execute(&mut *tx)
        .await?;
    let found: Vec<Drift> = sqlx::query_as(DRIFT).fetch_all(&mut *tx).await?;
    for d in &found {
        let sql = if d.kind == "bucket" {
            "update buckets set used_bytes = $2, object_count = $3 where id = $1"
        } else {
            "update users set used_bytes = $2, object_count = $3 where id = $1"
        };
        sqlx::query(sql)
            .bind(d.id)
            .bind(d.actual_bytes)
            .bind(d.actual_objects)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(found)
}

/// Sets a user's quota (`None`: unlimited); `false` if there is no such user.
pub async fn set_user_quota(db: impl PgExecutor<'_>, user_id: Uuid, quota: Option<i64>) -> Result<bool, DbError> {
    let done = sqlx::query("update users set quota_bytes = $2, updated_at = now() where id = $1")
        .bind(user_id)
        .bind(quota)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// A bucket's counters and limits.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BucketUsage {
    /// Bytes of committed objects.
    pub used_bytes: i64,
    /// Bytes reserved by uploads in flight.
    pub reserved_bytes: i64,
    /// Committed objects.
    pub object_count: i64,
    /// Byte limit, if any.
    pub max_bytes: Option<i64>,
    /// Object-count limit, if any.
    pub max_objects: Option<i64>,
}

/// Sets a bucket's limits (`None`: no limit) and returns its usage.
pub async fn set_bucket_quota(
    db: impl PgExecutor<'_>,
    bucket_id: Uuid,
    max_bytes: Option<i64>,
    max_objects: Option<i64>,
) -> Result<Option<BucketUsage>, DbError> {
    Ok(sqlx::query_as(
        "update buckets set max_bytes = $2, max_objects = $3 where id = $1
         returning used_bytes, reserved_bytes, object_count, max_bytes, max_objects",
    )
    .bind(bucket_id)
    .bind(max_bytes)
    .bind(max_objects)
    .fetch_optional(db)
    .await?)
}

/// Adds buffered request counts, one statement for the whole batch.
pub async fn add_requests(
    db: impl PgExecutor<'_>,
    users: &[Uuid],
    days: &[time::Date],
    operations: &[String],
    counts: &[i64],
) -> Result<(), DbError> {
    sqlx::query(
        "insert into request_counts (user_id, day, operation, count)
         select * from unnest($1::uuid[], $2::date[], $3::text[], $4::bigint[])
         on conflict (user_id, day, operation) do update set count = request_counts.count + excluded.count",
    )
    .bind(users)
    .bind(days)
    .bind(operations)
    .bind(counts)
    .execute(db)
    .await?;
    Ok(())
}

/// A user's requests, all days.
pub async fn requests_of(db: impl PgExecutor<'_>, user_id: Uuid) -> Result<i64, DbError> {
    Ok(
        sqlx::query_scalar("select coalesce(sum(count), 0)::bigint from request_counts where user_id = $1")
            .bind(user_id)
            .fetch_one(db)
            .await?,
    )
}

/// One user's line in the admin usage table.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserUsageLine {
    /// The user.
    pub user_id: Uuid,
    /// Their email.
    pub email: String,
    /// Bytes stored.
    pub used_bytes: i64,
    /// Bytes reserved.
    pub reserved_bytes: i64,
    /// Quota, if any.
    pub quota_bytes: Option<i64>,
    /// Objects stored.
    pub object_count: i64,
    /// Requests counted (all days).
    pub requests: i64,
}

/// What the admin usage table can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageSort {
    /// Most bytes first.
    UsedBytes,
    /// Most objects first.
    Objects,
    /// Most requests first.
    Requests,
    /// Alphabetically.
    Email,
}

/// Every user's usage, sorted, one page (`offset`, `limit`).
pub async fn all_users(
    db: impl PgExecutor<'_>,
    sort: UsageSort,
    offset: i64,
    limit: i64,
) -> Result<Vec<UserUsageLine>, DbError> {
    // The order comes from a closed enum, never from the request text.
    let order = match sort {
        UsageSort::UsedBytes => "u.used_bytes desc",
        UsageSort::Objects => "u.object_count desc",
        UsageSort::Requests => "requests desc",
        UsageSort::Email => "lower(u.email) asc",
    };
    Ok(sqlx::query_as(&format!(
        "select u.id as user_id, u.email, u.used_bytes, u.reserved_bytes, u.quota_bytes, u.object_count,
                coalesce(r.requests, 0)::bigint as requests
           from users u
           left join (select user_id, sum(count) as requests from request_counts group by user_id) r
                  on r.user_id = u.id
          order by {order}, u.id
          offset $1 limit $2"
    ))
    .bind(offset)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// What every user stores, for the metrics.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct Totals {
    /// Bytes stored, all users.
    pub used_bytes: i64,
    /// Objects stored, all users.
    pub objects: i64,
    /// Users whose stored bytes exceed their quota.
    pub over_quota: i64,
}

/// Totals over every user.
pub async fn totals(db: impl PgExecutor<'_>) -> Result<Totals, DbError> {
    Ok(sqlx::query_as(
        "select coalesce(sum(used_bytes), 0)::bigint as used_bytes, coalesce(sum(object_count), 0)::bigint as objects,
                count(*) filter (where quota_bytes is not null and used_bytes > quota_bytes) as over_quota
           from users",
    )
    .fetch_one(db)
    .await?)
}

/// The `limit` users storing most (email, used bytes), and the `limit` users closest to
/// their quota (email, used / quota).
pub async fn top_users(db: &sqlx::PgPool, limit: i64) -> Result<(Vec<(String, i64)>, Vec<(String, f64)>), DbError> {
    let largest = sqlx::query_as("select email, used_bytes from users order by used_bytes desc, id limit $1")
        .bind(limit)
        .fetch_all(db)
        .await?;
    let closest = sqlx::query_as(
        "select email, used_bytes::float8 / greatest(quota_bytes, 1)::float8 as ratio from users
          where quota_bytes is not null order by ratio desc, id limit $1",
    )
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok((largest, closest))
}
