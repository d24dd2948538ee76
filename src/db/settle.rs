//! Settling a batch of commits into the usage counters: the counters of every bucket the
//! batch touches, and of their owners, are locked (buckets in id order, then owners in id
//! order, so two batches cannot wait on each other), the batch's reservations deleted, each
//! object's growth checked against the limits in order as if committed one by one, and the
//! new values written with one statement per table.

use std::collections::HashMap;

use sqlx::PgConnection;
use uuid::Uuid;

use super::DbError;

/// How one committed object changes usage.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    /// Its bucket.
    pub bucket_id: Uuid,
    /// Its size minus the size of the object it replaced.
    pub bytes: i64,
    /// 1 for a new key, else 0.
    pub added: i64,
    /// The reservations its upload made, released now.
    pub reservations: &'a [Uuid],
}

#[derive(Debug, sqlx::FromRow)]
struct Bucket {
    id: Uuid,
    owner_id: Uuid,
    used_bytes: i64,
    reserved_bytes: i64,
    object_count: i64,
    max_bytes: Option<i64>,
    max_objects: Option<i64>,
    reserved_objects: i64,
}

#[derive(Debug, sqlx::FromRow)]
struct Owner {
    id: Uuid,
    used_bytes: i64,
    reserved_bytes: i64,
    object_count: i64,
    quota_bytes: Option<i64>,
}

/// Settles `changes` inside the caller's transaction. Returns the indexes of the changes
/// that do not fit under a limit; if there are any, nothing was written and the caller must
/// roll back (their reservations come back with it).
pub async fn settle(tx: &mut PgConnection, changes: &[Change<'_>]) -> Result<Vec<usize>, DbError> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids: Vec<Uuid> = changes.iter().map(|c| c.bucket_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut buckets: HashMap<Uuid, Bucket> = sqlx::query_as::<_, Bucket>(
        "select id, owner_id, used_bytes, reserved_bytes, object_count, max_bytes, max_objects,
                (select coalesce(sum(objects), 0)::bigint from reservations r where r.bucket_id = b.id)
                    as reserved_objects
           from buckets b where id = any($1) order by id for no key update",
    )
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|b| (b.id, b))
    .collect();
    let mut owner_ids: Vec<Uuid> = buckets.values().map(|b| b.owner_id).collect();
    owner_ids.sort_unstable();
    owner_ids.dedup();
    let mut owners: HashMap<Uuid, Owner> = sqlx::query_as::<_, Owner>(
        "select id, used_bytes, reserved_bytes, object_count, quota_bytes
           from users where id = any($1) order by id for no key update",
    )
    .bind(&owner_ids)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|u| (u.id, u))
    .collect();
    let reservation_ids: Vec<Uuid> = changes.iter().flat_map(|c| c.reservations.iter().copied()).collect();
    let released: HashMap<Uuid, (i64, i64)> = if reservation_ids.is_empty() {
        HashMap::new()
    } else {
        sqlx::query_as::<_, (Uuid, i64, i32)>(
            "delete from reservations where id = any($1) returning id, bytes, objects",
        )
        .bind(&reservation_ids)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|(id, bytes, objects)| (id, (bytes, i64::from(objects))))
        .collect()
    };

    let mut misfits = Vec::new();
    for (i, c) in changes.iter().enumerate() {
        // A bucket deleted meanwhile: its objects went with it (the insert would have failed).
        let Some(b) = buckets.get_mut(&c.bucket_id) else {
            continue;
        };
        let u = owners.get_mut(&b.owner_id).expect("every bucket's owner was read");
        let (bytes, objects) = c
            .reservations
            .iter()
            .filter_map(|r| released.get(r))
            .fold((0, 0), |(b, o), (rb, ro)| (b + rb, o + ro));
        b.reserved_bytes -= bytes;
        b.reserved_objects -= objects;
        u.reserved_bytes -= bytes;
        // Growth within the reservation was checked before the body was read; beyond it
        // (the replaced object vanished meanwhile), or for an upload that reserved nothing
        // (no limit existed when it started), it is checked now.
        let unreserved = c.reservations.is_empty();
        let grow = if unreserved { c.bytes.max(0) } else { c.bytes };
        let slot = if unreserved { c.added } else { 0 };
        if (grow > bytes || slot > 0) && !fits(b, u, grow, slot) {
            misfits.push(i);
            continue;
        }
        b.used_bytes += c.bytes;
        b.object_count += c.added;
        u.used_bytes += c.bytes;
        u.object_count += c.added;
    }
    if !misfits.is_empty() {
        return Ok(misfits);
    }
    write(tx, &buckets, &owners).await?;
    Ok(misfits)
}

/// Whether a bucket and its owner may grow by `bytes` and `slot` objects.
fn fits(b: &Bucket, u: &Owner, bytes: i64, slot: i64) -> bool {
    u.quota_bytes
        .is_none_or(|q| u.used_bytes + u.reserved_bytes + bytes <= q)
        && b.max_bytes.is_none_or(|m| b.used_bytes + b.reserved_bytes + bytes <= m)
        && b.max_objects
            .is_none_or(|m| slot == 0 || b.object_count + b.reserved_objects + slot <= m)
}

/// Writes the settled counters, one statement per table (the rows are locked).
async fn write(
    tx: &mut PgConnection,
    buckets: &HashMap<Uuid, Bucket>,
    owners: &HashMap<Uuid, Owner>,
) -> Result<(), DbError> {
    let rows = buckets
        .values()
        .map(|b| (b.id, b.used_bytes, b.reserved_bytes, b.object_count));
    set_counters(tx, "buckets", rows).await?;
    let rows = owners
        .values()
        .map(|u| (u.id, u.used_bytes, u.reserved_bytes, u.object_count));
    set_counters(tx, "users", rows).await
}

/// Sets (id, used bytes, reserved bytes, objects) on the rows of `table` (`buckets` or
/// `users`, which name their counters alike).
async fn set_counters(
    tx: &mut PgConnection,
    table: &'static str,
    rows: impl Iterator<Item = (Uuid, i64, i64, i64)>,
) -> Result<(), DbError> {
    let (mut ids, mut used, mut reserved, mut count) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (id, u, r, c) in rows {
        ids.push(id);
        used.push(u);
        reserved.push(r);
        count.push(c);
    }
    sqlx::query(&format!(
        "update {table} set used_bytes = v.used, reserved_bytes = v.reserved, object_count = v.count
           from unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[]) as v(id, used, reserved, count)
          where {table}.id = v.id"
    ))
    .bind(&ids)
    .bind(&used)
    .bind(&reserved)
    .bind(&count)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
