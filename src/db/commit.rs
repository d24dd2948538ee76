//! Committing objects: the rows that make uploads visible, and the usage they move, in one
//! transaction. Commits arrive in batches (`objects::commit` gathers the uploads that finish
//! together): one transaction and one WAL flush for the whole batch. The object rows are
//! written first; the usage counters (the rows every upload of a user or a bucket shares)
//! are locked only at the end, checked and written once per bucket and per owner (see
//! `db::settle`), so they are held for one statement and the flush, not for the batch.

use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use super::DbError;
use super::objects::{NewObject, WriteCondition};
use super::settle::{self, Change};

/// One object of a batch.
#[derive(Debug, Clone, Copy)]
pub struct Commit<'a> {
    /// The object.
    pub new: &'a NewObject,
    /// A multipart upload the commit completes: its rows go in the same transaction.
    pub finished: Option<Uuid>,
}

/// What a committed object displaced, and when it was committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The blobs of the version it replaced (to delete after the commit).
    pub displaced: Vec<Uuid>,
    /// Its Last-Modified.
    pub at: OffsetDateTime,
    /// Its version id (`null` while its bucket's versioning is suspended), if the bucket
    /// has ever been versioned.
    pub version_id: Option<String>,
}

/// Commits `items` in one transaction. The outer error means nothing was committed (the
/// caller may retry the items one by one); an inner `DbError::QuotaExceeded` or
/// `DbError::ConditionFailed` refuses that item alone. An item whose growth no longer fits (beyond its reservation, or with no
/// reservation under a limit set meanwhile) is taken out and the rest committed again, so a
/// refusal undoes only its own object.
pub async fn batch(db: &PgPool, items: &[Commit<'_>]) -> Result<Vec<Result<Committed, DbError>>, DbError> {
    let mut refused = vec![false; items.len()];
    loop {
        let mut tx = db.begin().await?;
        // Each item's outcome: written, or its condition failed (nothing of it written).
        // Written in key order, so the row and key locks of two batches (of any instances)
        // are taken in one order and never wait on each other in a circle.
        let mut outcomes: Vec<Option<(Committed, Growth)>> = (0..items.len()).map(|_| None).collect();
        for i in key_order(items.iter().map(|c| (c.new.bucket_id, c.new.key.as_str()))) {
            if !refused[i] {
                outcomes[i] = write(&mut tx, items[i]).await?;
            }
        }
        let written: Vec<usize> = (0..items.len()).filter(|i| outcomes[*i].is_some()).collect();
        let changes: Vec<Change<'_>> = written
            .iter()
            .map(|&i| outcomes[i].as_ref().expect("written").1.of(items[i].new))
            .collect();
        let misfits = settle::settle(&mut tx, &changes).await?;
        if !misfits.is_empty() {
            tx.rollback().await?;
            for m in misfits {
                refused[written[m]] = true;
            }
            continue;
        }
        tx.commit().await?;
        return Ok(outcomes
            .into_iter()
            .zip(&refused)
            .map(|(outcome, refused)| match (outcome, refused) {
                (Some((done, _)), _) => Ok(done),
                (None, true) => Err(DbError::QuotaExceeded),
                (None, false) => Err(DbError::ConditionFailed),
            })
            .collect());
    }
}

/// The indexes of `keys` in (bucket, key) order; a key named twice keeps its order.
pub(super) fn key_order<'a>(keys: impl Iterator<Item = (Uuid, &'a str)>) -> Vec<usize> {
    let keys: Vec<(Uuid, &str)> = keys.collect();
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
    order
}

/// Makes `new` the visible version of its key inside the caller's transaction, settling its
/// reservations and charging its usage; returns the blobs it displaced (to delete after the
/// commit) and its Last-Modified. For seeding rows in a transaction of the caller's; on
/// `QuotaExceeded` the caller must roll that transaction back.
pub async fn commit_put(tx: &mut PgConnection, new: &NewObject) -> Result<(Vec<Uuid>, OffsetDateTime), DbError> {
    let (done, change) = write(tx, Commit { new, finished: None })
        .await?
        .ok_or(DbError::ConditionFailed)?;
    if !settle::settle(tx, &[change.of(new)]).await?.is_empty() {
        return Err(DbError::QuotaExceeded);
    }
    Ok((done.displaced, done.at))
}

/// What an upsert freed: the versions it replaced or removed (none on a versioned bucket,
/// where the version it replaced stays, noncurrent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Freed {
    blobs: Vec<Uuid>,
    bytes: i64,
    objects: i64,
}

/// How one written object changes usage: its size and slot against what it freed.
#[derive(Debug, Clone, Copy)]
struct Growth {
    freed_bytes: i64,
    freed_objects: i64,
}

impl Growth {
    fn of(self, new: &NewObject) -> Change<'_> {
        Change {
            bucket_id: new.bucket_id,
            bytes: new.size - self.freed_bytes,
            added: 1 - self.freed_objects,
            reservations: &new.reservations,
        }
    }
}

/// Writes one object's row (and removes the multipart upload it completes); `None`, with
/// nothing written, if its condition does not hold.
async fn write(tx: &mut PgConnection, item: Commit<'_>) -> Result<Option<(Committed, Growth)>, DbError> {
    let Some((freed, at, version_id)) = upsert(&mut *tx, item.new).await? else {
        return Ok(None);
    };
    if let Some(id) = item.finished {
        super::multipart::delete(&mut *tx, id).await?;
        super::completed::remember(&mut *tx, id, item.new, version_id.as_deref()).await?;
    }
    let growth = Growth {
        freed_bytes: freed.bytes,
        freed_objects: freed.objects,
    };
    Ok(Some((
        Committed {
            displaced: freed.blobs,
            at,
            version_id,
        },
        growth,
    )))
}

/// Makes `new` the current version of its key and returns what that freed, the commit time
/// and the new version's id, in one round trip (the `upsert_object` function, migrations
/// 0019 and 0022). The existing row is locked before it is replaced (and, on a versioned
/// bucket, the key itself), so two concurrent overwrites each see and hand back the blobs
/// they displaced: no blob is orphaned. `None`, with nothing written, if `new`'s condition
/// does not hold for the row it would replace.
async fn upsert(
    tx: &mut PgConnection,
    new: &NewObject,
) -> Result<Option<(Freed, OffsetDateTime, Option<String>)>, DbError> {
    let h = &new.headers;
    let (condition, condition_etag) = match &new.condition {
        None => (None, None),
        Some(WriteCondition::Absent) => (Some("absent"), None),
        Some(WriteCondition::Present) => (Some("present"), None),
        Some(WriteCondition::Etag(e)) => (Some("etag"), Some(e.as_str())),
    };
    let row: UpsertRow = sqlx::query_as(
        "select displaced, freed_bytes, freed_objects, committed_at, condition_failed, version_id
           from upsert_object($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                              $17, $18, $19, $20, $21, $22, $23, $24)",
    )
    .bind(Uuid::new_v4())
    .bind(new.bucket_id)
    .bind(&new.key)
    .bind(new.size)
    .bind(&new.etag)
    .bind(new.md5.as_deref())
    .bind(new.sha256.as_deref())
    .bind(h.content_type.as_deref())
    .bind(h.content_disposition.as_deref())
    .bind(h.content_encoding.as_deref())
    .bind(h.content_language.as_deref())
    .bind(h.cache_control.as_deref())
    .bind(h.expires)
    .bind(Json(&h.user_metadata))
    .bind(new.blob_id)
    .bind(Json(&new.checksums))
    .bind(new.checksum_type.as_deref())
    .bind(new.parts_count)
    .bind(Json(&h.tags))
    .bind(new.part_sizes.as_deref())
    .bind(new.part_blobs.as_deref())
    .bind(condition)
    .bind(condition_etag)
    .bind(new.acl.as_deref())
    .fetch_one(&mut *tx)
    .await?;
    if row.condition_failed {
        return Ok(None);
    }
    let at = row.committed_at.ok_or(DbError::Sqlx(sqlx::Error::RowNotFound))?;
    let freed = Freed {
        blobs: row.displaced,
        bytes: row.freed_bytes,
        objects: i64::from(row.freed_objects),
    };
    Ok(Some((freed, at, row.version_id)))
}

/// What `upsert_object` returns.
#[derive(sqlx::FromRow)]
struct UpsertRow {
    displaced: Vec<Uuid>,
    freed_bytes: i64,
    freed_objects: i32,
    committed_at: Option<OffsetDateTime>,
    condition_failed: bool,
    version_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_go_in_key_order_and_a_key_named_twice_keeps_its_order() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let keys = [(b, "x"), (a, "z"), (a, "b"), (b, "x"), (a, "b")];
        assert_eq!(key_order(keys.iter().map(|(u, k)| (*u, *k))), [2, 4, 1, 0, 3]);
    }
}
