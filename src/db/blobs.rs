//! Which blobs rows reference: objects and their other versions (their blob, or their part
//! blobs) and the parts of
//! multipart uploads in progress. `godrive gc` keeps what is referenced; `godrive usage
//! reconcile` compares it with the backend.

use sqlx::PgExecutor;
use uuid::Uuid;

use super::DbError;

/// Every blob a row references, read in one statement (one snapshot, so a multipart
/// completion moving part blobs from its upload to its object is seen before or after).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AllBlobs {
    /// The blobs of objects: single blobs and part blobs.
    pub objects: Vec<Uuid>,
    /// The part blobs of multipart uploads in progress.
    pub uploads: Vec<Uuid>,
}

/// Every blob a row references (reconciliation compares them with the backend).
pub async fn all_blobs(db: impl PgExecutor<'_>) -> Result<AllBlobs, DbError> {
    let rows: Vec<(Uuid, bool)> = sqlx::query_as(
        "select blob_id, true from objects where part_blobs is null
         union all select unnest(part_blobs), true from objects where part_blobs is not null
         union all select blob_id, true from object_versions where part_blobs is null and blob_id is not null
         union all select unnest(part_blobs), true from object_versions where part_blobs is not null
         union all select blob_id, false from multipart_parts where blob_id is not null",
    )
    .fetch_all(db)
    .await?;
    let mut all = AllBlobs::default();
    for (blob, object) in rows {
        if object { &mut all.objects } else { &mut all.uploads }.push(blob);
    }
    Ok(all)
}

/// Of `blob_ids`, those some row references: an object's blob or part blob, or a part blob
/// of an upload in progress (gc keeps these). One statement, so one snapshot: a multipart
/// completion moving part blobs from its upload to its object is seen before or after.
pub async fn referenced_blobs(db: impl PgExecutor<'_>, blob_ids: &[Uuid]) -> Result<Vec<Uuid>, DbError> {
    Ok(sqlx::query_scalar(
        "select blob_id from objects where blob_id = any($1)
         union all
         select b from objects, unnest(part_blobs) b where part_blobs && $1 and b = any($1)
         union all
         select blob_id from object_versions where blob_id = any($1)
         union all
         select b from object_versions, unnest(part_blobs) b where part_blobs && $1 and b = any($1)
         union all
         select blob_id from multipart_parts where blob_id = any($1)",
    )
    .bind(blob_ids)
    .fetch_all(db)
    .await?)
}
