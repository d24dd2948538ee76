//! Quota reservations: promised before an upload's body is read, settled into usage in the
//! commit transaction, released on failure.

use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::DbError;

/// Which limit refused a reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The user's storage quota, in bytes.
    User {
        /// The quota.
        quota: i64,
    },
    /// The bucket's byte limit.
    BucketBytes {
        /// The limit.
        max: i64,
    },
    /// The bucket's object-count limit.
    BucketObjects {
        /// The limit.
        max: i64,
    },
}

/// What a reservation is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// An object under this key: the growth over the object it would replace (an overwrite
    /// counts its net change), and an object slot if the key is new.
    Key(&'a str),
    /// An object whose key is not known yet (a form upload): all its bytes and a slot.
    UnknownKey,
    /// A multipart part: bytes only (the slot is taken at completion).
    Part,
}

/// Reserves room for an upload of `len` bytes for `target`, on behalf of the serving
/// `instance` (whose lease keeps it alive): one statement (the `reserve_quota` function,
/// migration 0017) making one conditional update per limit, so either every counter moves
/// and the reservation exists, or nothing changes. It commits without waiting for the WAL
/// flush, so `db` must not be inside a transaction (that transaction would commit so too).
pub async fn reserve(
    db: &mut PgConnection,
    instance: Uuid,
    bucket_id: Uuid,
    target: Target<'_>,
    len: i64,
    ttl_secs: i64,
) -> Result<Result<Uuid, Refusal>, DbError> {
    let id = Uuid::new_v4();
    let key = match target {
        Target::Key(k) => Some(k),
        Target::UnknownKey | Target::Part => None,
    };
    let (refusal, limit): (Option<String>, Option<i64>) =
        sqlx::query_as("select refusal, limit_value from reserve_quota($1, $2, $3, $4, $5, $6, $7)")
            .bind(id)
            .bind(instance)
            .bind(bucket_id)
            .bind(key)
            .bind(target == Target::Part)
            .bind(len)
            .bind(ttl_secs as f64)
            .fetch_one(db)
            .await?;
    let limit = limit.unwrap_or(0);
    Ok(match refusal.as_deref() {
        None => Ok(id),
        Some("user") => Err(Refusal::User { quota: limit }),
        Some("bucket_objects") => Err(Refusal::BucketObjects { max: limit }),
        Some(_) => Err(Refusal::BucketBytes { max: limit }),
    })
}

/// Drops a reservation and gives its bytes back; returns the bytes it held (0 if it was
/// already gone). Used inside the commit transaction (settling) and after failures.
pub async fn release(db: impl PgExecutor<'_>, id: Uuid) -> Result<i64, DbError> {
    let released: Option<i64> = sqlx::query_scalar(
        // Buckets before users, as everywhere else (users reads from b), so row locks are
        // always taken in the same order and concurrent settles cannot deadlock.
        "with r as (delete from reservations where id = $1 returning user_id, bucket_id, bytes),
              b as (update buckets set reserved_bytes = reserved_bytes - r.bytes from r
                     where buckets.id = r.bucket_id returning r.user_id, r.bytes),
              u as (update users set reserved_bytes = reserved_bytes - b.bytes from b where users.id = b.user_id)
         select bytes from r",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    Ok(released.unwrap_or(0))
}

/// Moves the bytes of reservations `others` (bytes only, no object slot: `Target::Part`)
/// onto reservation `into` and deletes them, in one transaction; `false` (and nothing
/// changed) if `into` is gone.
pub async fn merge(db: &sqlx::PgPool, into: Uuid, others: &[Uuid]) -> Result<bool, DbError> {
    let mut tx = db.begin().await?;
    let moved = sqlx::query(
        "with gone as (delete from reservations where id = any($2) returning bytes)
         update reservations set bytes = bytes + (select coalesce(sum(bytes), 0) from gone)
          where id = $1",
    )
    .bind(into)
    .bind(others)
    .execute(&mut *tx)
    .await?;
    if moved.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}

/// Releases every reservation past its expiry (parts of multipart uploads left open that
/// long, and reservations from before instance leases).
pub async fn release_expired(db: &mut PgConnection) -> Result<u64, DbError> {
    let ids: Vec<Uuid> = sqlx::query_scalar("select id from reservations where expires_at < now()")
        .fetch_all(&mut *db)
        .await?;
    for id in &ids {
        release(&mut *db, *id).await?;
    }
    Ok(ids.len() as u64)
}

/// Whether a bucket and its owner may grow by `bytes` and `objects` beyond what was reserved
/// (a settle whose object grew more than reserved, e.g. the object it replaced was deleted
/// meanwhile, or an upload that reserved nothing). Locks both rows for the rest of the
/// transaction, so concurrent checks see each other's growth; `no key update`, the lock the
/// counter updates take anyway, so the key-share lock an object insert holds on its bucket
/// does not conflict (a plain `for update` deadlocks two concurrent commits).
pub async fn may_grow(db: &mut PgConnection, bucket_id: Uuid, bytes: i64, objects: i64) -> Result<bool, DbError> {
    Ok(sqlx::query_scalar(
        "select (u.quota_bytes is null or u.used_bytes + u.reserved_bytes + $2 <= u.quota_bytes)
            and (b.max_bytes is null or b.used_bytes + b.reserved_bytes + $2 <= b.max_bytes)
            and (b.max_objects is null or $3 = 0 or b.object_count
                 + (select coalesce(sum(objects), 0) from reservations where bucket_id = $1) + $3 <= b.max_objects)
           from buckets b join users u on u.id = b.owner_id where b.id = $1
           for no key update of b, u",
    )
    .bind(bucket_id)
    .bind(bytes)
    .bind(objects)
    .fetch_one(db)
    .await?)
}

/// Releases every reservation in a bucket (inside the transaction that deletes it): its
/// owner's reserved bytes shrink; the bucket's own counters go with its row.
pub async fn release_bucket(tx: &mut PgConnection, bucket_id: Uuid) -> Result<(), DbError> {
    sqlx::query(
        "with r as (delete from reservations where bucket_id = $1 returning user_id, bytes)
         update users set reserved_bytes = reserved_bytes - s.total
           from (select user_id, sum(bytes)::bigint as total from r group by user_id) s
          where users.id = s.user_id",
    )
    .bind(bucket_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
