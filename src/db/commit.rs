//! Committing objects: the row that makes an upload visible, and the usage it moves, in one
//! transaction. Commits arrive in batches (`objects::commit` gathers the uploads that finish
//! together): one transaction and one WAL flush for the whole batch, and the usage counters,
//! the rows every upload of a user or a bucket shares, updated once per batch rather than
//! once per object. Uploads under a limit are still checked and charged one by one, inside
//! a savepoint each, so a refusal undoes only its own object.

use std::collections::{BTreeMap, HashSet};

use sqlx::types::Json;
use sqlx::{Acquire as _, PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use super::DbError;
use super::objects::NewObject;

/// One object of a batch.
#[derive(Debug, Clone, Copy)]
pub struct Commit<'a> {
    /// The object.
    pub new: &'a NewObject,
    /// A multipart upload the commit completes: its rows go in the same transaction.
    pub finished: Option<Uuid>,
}

/// What a committed object displaced, and when it was committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    /// The blob of the version it replaced (to delete after the commit).
    pub displaced: Option<Uuid>,
    /// Its Last-Modified.
    pub at: OffsetDateTime,
}

/// Commits `items` in one transaction. The outer error means nothing was committed (the
/// caller may retry the items one by one); an inner error refuses that item alone
/// (`DbError::QuotaExceeded`, or a failure its savepoint undid).
pub async fn batch(db: &PgPool, items: &[Commit<'_>]) -> Result<Vec<Result<Committed, DbError>>, DbError> {
    let mut tx = db.begin().await?;
    let buckets: Vec<Uuid> = items
        .iter()
        .map(|c| c.new.bucket_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    // Read without a lock: a limit set after this read is ordered after these commits.
    let limited: HashSet<Uuid> = sqlx::query_scalar(
        "select b.id from buckets b join users u on u.id = b.owner_id
          where b.id = any($1)
            and (u.quota_bytes is not null or b.max_bytes is not null or b.max_objects is not null)",
    )
    .bind(&buckets)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    // Usage of the unlimited uploads, per bucket: (bytes, objects).
    let mut usage: BTreeMap<Uuid, (i64, i64)> = BTreeMap::new();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let new = item.new;
        let checked = limited.contains(&new.bucket_id) || !new.reservations.is_empty();
        let result = if checked {
            let mut sp = tx.begin().await?;
            match commit_checked(&mut sp, *item).await {
                Ok(done) => {
                    sp.commit().await?;
                    Ok(done)
                }
                Err(e) => {
                    sp.rollback().await?;
                    Err(e)
                }
            }
        } else {
            let (old, at) = upsert(&mut tx, new).await?;
            let (old_size, added) = old.map_or((0, 1), |(_, size)| (size, 0));
            let entry = usage.entry(new.bucket_id).or_default();
            entry.0 += new.size - old_size;
            entry.1 += added;
            finish(&mut tx, item.finished).await?;
            Ok(Committed {
                displaced: old.map(|(blob, _)| blob),
                at,
            })
        };
        out.push(result);
    }
    // Buckets in id order, each before its owner, as every other counter update does.
    for (bucket_id, (bytes, objects)) in usage {
        super::usage::charge(&mut tx, bucket_id, bytes, objects).await?;
    }
    tx.commit().await?;
    Ok(out)
}

/// Makes `new` the visible version of its key inside the caller's transaction, settling its
/// reservations and charging its usage; returns the blob it displaced (to delete after the
/// commit) and its Last-Modified. For seeding many rows in one transaction.
pub async fn commit_put(tx: &mut PgConnection, new: &NewObject) -> Result<(Option<Uuid>, OffsetDateTime), DbError> {
    let done = commit_checked(tx, Commit { new, finished: None }).await?;
    Ok((done.displaced, done.at))
}

/// One upload under a limit (or holding reservations): its reservations are released, its
/// growth beyond them checked, and its usage charged, all before the next object.
async fn commit_checked(tx: &mut PgConnection, item: Commit<'_>) -> Result<Committed, DbError> {
    let new = item.new;
    let (old, at) = upsert(&mut *tx, new).await?;
    // Usage moves with the row, in the same transaction: the net change of an overwrite,
    // or one more object.
    let (old_size, added) = old.map_or((0, 1), |(_, size)| (size, 0));
    let growth = new.size - old_size;
    let mut reserved = 0;
    for id in &new.reservations {
        reserved += super::quota::release(&mut *tx, *id).await?;
    }
    // Growth within the reservation was checked before the body was read; beyond it (the
    // replaced object vanished meanwhile), or for an upload that reserved nothing (no limit
    // existed when it started), it is checked now.
    let unreserved = new.reservations.is_empty();
    let (grow, slot) = (
        if unreserved { growth.max(0) } else { growth },
        if unreserved { added } else { 0 },
    );
    if (grow > reserved || slot > 0) && !super::quota::may_grow(&mut *tx, new.bucket_id, grow, slot).await? {
        return Err(DbError::QuotaExceeded);
    }
    super::usage::charge(tx, new.bucket_id, growth, added).await?;
    finish(tx, item.finished).await?;
    Ok(Committed {
        displaced: old.map(|(blob, _)| blob),
        at,
    })
}

/// Removes the multipart upload a commit completes.
async fn finish(tx: &mut PgConnection, finished: Option<Uuid>) -> Result<(), DbError> {
    if let Some(id) = finished {
        super::multipart::delete(&mut *tx, id).await?;
    }
    Ok(())
}

/// Makes `new` the visible version of its key and returns the version it replaced (blob
/// and size) and the commit time. The existing row is locked before it is replaced, so two
/// concurrent overwrites each see and hand back the blob they displaced: no blob is
/// orphaned.
async fn upsert(tx: &mut PgConnection, new: &NewObject) -> Result<(Option<(Uuid, i64)>, OffsetDateTime), DbError> {
    let h = &new.headers;
    loop {
        let old: Option<(Uuid, i64)> =
            sqlx::query_as("select blob_id, size from objects where bucket_id = $1 and key = $2 for update")
                .bind(new.bucket_id)
                .bind(&new.key)
                .fetch_optional(&mut *tx)
                .await?;
        let sql = if old.is_some() {
            "update objects set size = $3, etag = $4, md5 = $5, sha256 = $6, content_type = $7,
                    content_disposition = $8, content_encoding = $9, content_language = $10,
                    cache_control = $11, expires = $12, user_metadata = $13, blob_id = $14,
                    checksums = $16, checksum_type = $17, parts_count = $18, tags = $19, part_sizes = $20,
                    updated_at = now()
              where bucket_id = $1 and key = $2
             returning updated_at"
        } else {
            "insert into objects (id, bucket_id, key, size, etag, md5, sha256, content_type,
                    content_disposition, content_encoding, content_language, cache_control,
                    expires, user_metadata, blob_id, checksums, checksum_type, parts_count, tags, part_sizes)
             values ($15, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $16, $17, $18, $19, $20)
             on conflict (bucket_id, key) do nothing
             returning updated_at"
        };
        let done: Option<OffsetDateTime> = sqlx::query_scalar(sql)
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
            .bind(Uuid::new_v4())
            .bind(Json(&new.checksums))
            .bind(new.checksum_type.as_deref())
            .bind(new.parts_count)
            .bind(Json(&h.tags))
            .bind(new.part_sizes.as_deref())
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(at) = done {
            return Ok((old, at));
        }
        // A concurrent insert of the same key won the race; lock its row and replace it.
    }
}
