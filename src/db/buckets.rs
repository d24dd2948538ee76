//! Buckets: globally unique names, each owned by one user.

use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use super::DbError;
use super::multipart::Dropped;

/// A bucket as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Bucket {
    /// Primary key.
    pub id: Uuid,
    /// The S3 bucket name.
    pub name: String,
    /// The owning user.
    pub owner_id: Uuid,
    /// The region reported by GetBucketLocation.
    pub region: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// Whether its canned ACL or its policy makes it public (read by the queries that
    /// list and show a user's buckets; false elsewhere).
    #[sqlx(default)]
    pub public: bool,
    /// Its versioning (`Enabled`, `Suspended`; none if never set), read by the same queries.
    #[sqlx(default)]
    pub versioning: Option<String>,
    /// Bytes stored (read by the same queries; 0 elsewhere).
    #[sqlx(default)]
    pub used_bytes: i64,
    /// Objects stored, a delete marker counting as one (the same queries).
    #[sqlx(default)]
    pub object_count: i64,
    /// Byte limit, if any (the same queries).
    #[sqlx(default)]
    pub max_bytes: Option<i64>,
    /// Object-count limit, if any (the same queries).
    #[sqlx(default)]
    pub max_objects: Option<i64>,
}

/// The columns of a bucket as listed and shown to its owner.
const SHOWN: &str = "id, name, owner_id, region, created_at, (acl <> 'private' or policy is not null) as public,
                versioning, used_bytes, object_count, max_bytes, max_objects";

/// Why creating a bucket failed.
#[derive(Debug, thiserror::Error)]
pub enum CreateBucketError {
    /// The name is taken; `owner_id` tells whose it is.
    #[error("bucket name taken")]
    Taken {
        /// The owner of the existing bucket.
        owner_id: Uuid,
    },
    /// Any other database failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Inserts a bucket. Uniqueness is decided by the `buckets_name_key` constraint, never by a
/// check before the insert, so two concurrent creates cannot both win.
pub async fn create(
    db: &mut PgConnection,
    name: &str,
    owner_id: Uuid,
    region: &str,
) -> Result<Bucket, CreateBucketError> {
    let res = sqlx::query_as(
        "insert into buckets (id, name, owner_id, region) values ($1, $2, $3, $4)
         returning id, name, owner_id, region, created_at",
    )
    .bind(Uuid::new_v4())
    .bind(name)
    .bind(owner_id)
    .bind(region)
    .fetch_one(&mut *db)
    .await;
    match res {
        Ok(b) => Ok(b),
        Err(e) if super::violated_constraint(&e) == Some("buckets_name_key") => {
            let owner: Option<Uuid> = sqlx::query_scalar("select owner_id from buckets where name = $1")
                .bind(name)
                .fetch_optional(&mut *db)
                .await
                .map_err(DbError::from)?;
            // Deleted in between: report it as taken by nobody we know; the caller retries.
            Err(CreateBucketError::Taken {
                owner_id: owner.unwrap_or_else(Uuid::nil),
            })
        }
        Err(e) => Err(CreateBucketError::Db(e.into())),
    }
}

/// What authorizing a request on a bucket needs to know about it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BucketAuth {
    /// Primary key.
    pub id: Uuid,
    /// The owning user.
    pub owner_id: Uuid,
    /// Whether it has a byte or an object limit.
    pub limited: bool,
}

/// [`BucketAuth`] of the bucket named `name`, if there is one.
pub async fn for_auth(db: impl PgExecutor<'_>, name: &str) -> Result<Option<BucketAuth>, DbError> {
    Ok(sqlx::query_as(
        "select id, owner_id, (max_bytes is not null or max_objects is not null) as limited
           from buckets where name = $1",
    )
    .bind(name)
    .fetch_optional(db)
    .await?)
}

/// A bucket by name.
pub async fn by_name(db: impl PgExecutor<'_>, name: &str) -> Result<Option<Bucket>, DbError> {
    Ok(
        sqlx::query_as("select id, name, owner_id, region, created_at from buckets where name = $1")
            .bind(name)
            .fetch_optional(db)
            .await?,
    )
}

/// The buckets a user owns, by name.
pub async fn list_owned(db: impl PgExecutor<'_>, owner_id: Uuid) -> Result<Vec<Bucket>, DbError> {
    Ok(sqlx::query_as(&format!(
        "select {SHOWN} from buckets where owner_id = $1 order by name"
    ))
    .bind(owner_id)
    .fetch_all(db)
    .await?)
}

/// What deleting an empty bucket found.
#[derive(Debug)]
pub enum DeleteOutcome {
    /// The bucket is gone; these multipart uploads in progress went with it (for the
    /// caller to drop from the backend).
    Deleted(Vec<Dropped>),
    /// It still holds objects.
    NotEmpty,
    /// It did not exist.
    Missing,
}

/// Deletes a bucket only if it holds no object. The bucket row is locked first: an object
/// insert takes a key-share lock on it, so a concurrent upload either commits before the
/// emptiness check (and is seen) or fails on the foreign key after the delete.
pub async fn delete_if_empty(db: &mut PgConnection, bucket_id: Uuid) -> Result<DeleteOutcome, DbError> {
    let mut tx = sqlx::Connection::begin(&mut *db).await?;
    let found: Option<Uuid> = sqlx::query_scalar("select id from buckets where id = $1 for update")
        .bind(bucket_id)
        .fetch_optional(&mut *tx)
        .await?;
    if found.is_none() {
        return Ok(DeleteOutcome::Missing);
    }
    // Noncurrent versions and delete markers keep a bucket alive too, as in S3.
    let busy: bool = sqlx::query_scalar(
        "select exists (select 1 from objects where bucket_id = $1)
             or exists (select 1 from object_versions where bucket_id = $1)",
    )
    .bind(bucket_id)
    .fetch_one(&mut *tx)
    .await?;
    if busy {
        return Ok(DeleteOutcome::NotEmpty);
    }
    // Uploads in progress do not keep a bucket alive (as in S3); their room is given back.
    super::quota::release_bucket(&mut tx, bucket_id).await?;
    let uploads = super::multipart::remove_all_of_bucket(&mut tx, bucket_id).await?;
    sqlx::query("delete from buckets where id = $1")
        .bind(bucket_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(DeleteOutcome::Deleted(uploads))
}

/// A bucket by id, whoever owns it (for admins).
pub async fn get(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<Bucket>, DbError> {
    Ok(sqlx::query_as(&format!("select {SHOWN} from buckets where id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await?)
}

/// A bucket by id, only if `owner_id` owns it.
pub async fn get_owned(db: impl PgExecutor<'_>, id: Uuid, owner_id: Uuid) -> Result<Option<Bucket>, DbError> {
    Ok(
        sqlx::query_as(&format!("select {SHOWN} from buckets where id = $1 and owner_id = $2"))
            .bind(id)
            .bind(owner_id)
            .fetch_optional(db)
            .await?,
    )
}

/// What deleting a bucket with its contents leaves for the caller to remove from the
/// backend, after the commit.
#[derive(Debug, Default)]
pub struct Removed {
    /// Blobs of the deleted objects (single blobs and part blobs).
    pub blobs: Vec<Uuid>,
    /// Multipart uploads in progress, with their part blobs.
    pub uploads: Vec<Dropped>,
}

/// Deletes a bucket, its objects and its multipart uploads in one transaction.
pub async fn delete_cascade(db: &mut PgConnection, id: Uuid) -> Result<Option<Removed>, DbError> {
    let mut tx = sqlx::Connection::begin(&mut *db).await?;
    let found: Option<Uuid> = sqlx::query_scalar("select id from buckets where id = $1 for update")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    if found.is_none() {
        return Ok(None);
    }
    let gone: Vec<(Option<Uuid>, i64, Option<Vec<Uuid>>)> = sqlx::query_as(
        "with o as (delete from objects where bucket_id = $1 returning blob_id, size, part_blobs),
              v as (delete from object_versions where bucket_id = $1 returning blob_id, size, part_blobs)
         select blob_id, size, part_blobs from o union all select blob_id, size, part_blobs from v",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    let bytes: i64 = gone.iter().map(|(_, s, _)| s).sum();
    // The owner's counters lose what the bucket held (the bucket's own go with its row).
    super::usage::charge(&mut tx, id, -bytes, -(gone.len() as i64)).await?;
    // A delete marker has no blob.
    let blobs: Vec<Uuid> = gone
        .into_iter()
        .filter_map(|(b, _, parts)| b.map(|b| super::objects::blobs_of(b, parts)))
        .flatten()
        .collect();
    super::quota::release_bucket(&mut tx, id).await?;
    let uploads = super::multipart::remove_all_of_bucket(&mut tx, id).await?;
    sqlx::query("delete from buckets where id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(Removed { blobs, uploads }))
}

/// Sets (or with `None` removes) a bucket's CORS rules.
pub async fn set_cors(db: impl PgExecutor<'_>, id: Uuid, rules: Option<&serde_json::Value>) -> Result<(), DbError> {
    sqlx::query("update buckets set cors = $2 where id = $1")
        .bind(id)
        .bind(rules)
        .execute(db)
        .await?;
    Ok(())
}

/// A bucket's CORS rules by id (`None`: none set).
pub async fn cors(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<serde_json::Value>, DbError> {
    Ok(sqlx::query_scalar("select cors from buckets where id = $1")
        .bind(id)
        .fetch_optional(db)
        .await?
        .flatten())
}

/// A bucket's CORS rules by name: `None` if there is no such bucket, `Some(None)` if it has
/// no rules.
pub async fn cors_by_name(db: impl PgExecutor<'_>, name: &str) -> Result<Option<Option<serde_json::Value>>, DbError> {
    Ok(sqlx::query_scalar("select cors from buckets where name = $1")
        .bind(name)
        .fetch_optional(db)
        .await?)
}

/// What serving a bucket to someone other than its owner depends on.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Access {
    /// The bucket.
    pub id: Uuid,
    /// Its owner, who is charged for what others store in it.
    pub owner_id: Uuid,
    /// Its canned ACL (`private`, `public-read`, `public-read-write`, `authenticated-read`).
    pub acl: String,
    /// Its bucket policy, as sent.
    pub policy: Option<String>,
    /// Whether its owner has a quota or it has a limit.
    pub limited: bool,
}

/// The access settings of the bucket named `name`, unless it does not exist or its owner
/// is disabled.
pub async fn access(db: impl PgExecutor<'_>, name: &str) -> Result<Option<Access>, DbError> {
    Ok(sqlx::query_as(
        "select b.id, b.owner_id, b.acl, b.policy,
                (u.quota_bytes is not null or b.max_bytes is not null or b.max_objects is not null) as limited
           from buckets b join users u on u.id = b.owner_id and not u.disabled
          where b.name = $1",
    )
    .bind(name)
    .fetch_optional(db)
    .await?)
}

/// Sets a bucket's canned ACL.
pub async fn set_acl(db: impl PgExecutor<'_>, id: Uuid, acl: &str) -> Result<(), DbError> {
    sqlx::query("update buckets set acl = $2 where id = $1")
        .bind(id)
        .bind(acl)
        .execute(db)
        .await?;
    Ok(())
}

/// A bucket's canned ACL and policy.
pub async fn acl_and_policy(db: impl PgExecutor<'_>, id: Uuid) -> Result<(String, Option<String>), DbError> {
    Ok(sqlx::query_as("select acl, policy from buckets where id = $1")
        .bind(id)
        .fetch_one(db)
        .await?)
}

/// Sets (or, with `None`, deletes) a bucket's policy.
pub async fn set_policy(db: impl PgExecutor<'_>, id: Uuid, policy: Option<&str>) -> Result<(), DbError> {
    sqlx::query("update buckets set policy = $2 where id = $1")
        .bind(id)
        .bind(policy)
        .execute(db)
        .await?;
    Ok(())
}
