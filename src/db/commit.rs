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
use super::objects::NewObject;
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
}

/// Commits `items` in one transaction. The outer error means nothing was committed (the
/// caller may retry the items one by one); an inner `DbError::QuotaExceeded` refuses that
/// item alone. An item whose growth no longer fits (beyond its reservation, or with no
/// reservation under a limit set meanwhile) is taken out and the rest committed again, so a
/// refusal undoes only its own object.
pub async fn batch(db: &PgPool, items: &[Commit<'_>]) -> Result<Vec<Result<Committed, DbError>>, DbError> {
    let mut refused = vec![false; items.len()];
    loop {
        let mut tx = db.begin().await?;
        let live: Vec<usize> = (0..items.len()).filter(|i| !refused[*i]).collect();
        let mut done = Vec::with_capacity(live.len());
        for &i in &live {
            done.push(write(&mut tx, items[i]).await?);
        }
        let changes: Vec<Change<'_>> = live
            .iter()
            .zip(&done)
            .map(|(&i, (_, change))| change.of(items[i].new))
            .collect();
        let misfits = settle::settle(&mut tx, &changes).await?;
        if !misfits.is_empty() {
            tx.rollback().await?;
            for m in misfits {
                refused[live[m]] = true;
            }
            continue;
        }
        tx.commit().await?;
        let mut done = done.into_iter();
        return Ok(refused
            .iter()
            .map(|r| match r {
                true => Err(DbError::QuotaExceeded),
                false => Ok(done.next().expect("one result per live item").0),
            })
            .collect());
    }
}

/// Makes `new` the visible version of its key inside the caller's transaction, settling its
/// reservations and charging its usage; returns the blobs it displaced (to delete after the
/// commit) and its Last-Modified. For seeding rows in a transaction of the caller's; on
/// `QuotaExceeded` the caller must roll that transaction back.
pub async fn commit_put(tx: &mut PgConnection, new: &NewObject) -> Result<(Vec<Uuid>, OffsetDateTime), DbError> {
    let (done, change) = write(tx, Commit { new, finished: None }).await?;
    if !settle::settle(tx, &[change.of(new)]).await?.is_empty() {
        return Err(DbError::QuotaExceeded);
    }
    Ok((done.displaced, done.at))
}

/// The row an upsert replaced: its blob, size and part blobs.
type Replaced = (Uuid, i64, Option<Vec<Uuid>>);

/// How one written object changes usage: its size against the size it replaced.
#[derive(Debug, Clone, Copy)]
struct Growth {
    replaced: Option<i64>,
}

impl Growth {
    fn of(self, new: &NewObject) -> Change<'_> {
        Change {
            bucket_id: new.bucket_id,
            bytes: new.size - self.replaced.unwrap_or(0),
            added: i64::from(self.replaced.is_none()),
            reservations: &new.reservations,
        }
    }
}

/// Writes one object's row (and removes the multipart upload it completes).
async fn write(tx: &mut PgConnection, item: Commit<'_>) -> Result<(Committed, Growth), DbError> {
    let (old, at) = upsert(&mut *tx, item.new).await?;
    if let Some(id) = item.finished {
        super::multipart::delete(&mut *tx, id).await?;
    }
    let replaced = old.as_ref().map(|o| o.1);
    Ok((
        Committed {
            displaced: old.map_or_else(Vec::new, |(blob, _, parts)| super::objects::blobs_of(blob, parts)),
            at,
        },
        Growth { replaced },
    ))
}

/// Makes `new` the visible version of its key and returns the version it replaced (blob,
/// size and part blobs) and the commit time. The existing row is locked before it is replaced, so two
/// concurrent overwrites each see and hand back the blob they displaced: no blob is
/// orphaned.
async fn upsert(tx: &mut PgConnection, new: &NewObject) -> Result<(Option<Replaced>, OffsetDateTime), DbError> {
    let h = &new.headers;
    loop {
        let old: Option<Replaced> = sqlx::query_as(
            "select blob_id, size, part_blobs from objects where bucket_id = $1 and key = $2 for update",
        )
        .bind(new.bucket_id)
        .bind(&new.key)
        .fetch_optional(&mut *tx)
        .await?;
        let sql = if old.is_some() {
            "update objects set size = $3, etag = $4, md5 = $5, sha256 = $6, content_type = $7,
                    content_disposition = $8, content_encoding = $9, content_language = $10,
                    cache_control = $11, expires = $12, user_metadata = $13, blob_id = $14,
                    checksums = $16, checksum_type = $17, parts_count = $18, tags = $19, part_sizes = $20,
                    part_blobs = $21, updated_at = now()
              where bucket_id = $1 and key = $2
             returning updated_at"
        } else {
            "insert into objects (id, bucket_id, key, size, etag, md5, sha256, content_type,
                    content_disposition, content_encoding, content_language, cache_control,
                    expires, user_metadata, blob_id, checksums, checksum_type, parts_count, tags, part_sizes,
                    part_blobs)
             values ($15, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $16, $17, $18, $19, $20, $21)
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
            .bind(new.part_blobs.as_deref())
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(at) = done {
            return Ok((old, at));
        }
        // A concurrent insert of the same key won the race; lock its row and replace it.
    }
}
