//! Access keys: the SigV4 credentials of a user. Secrets are stored sealed.

use sqlx::PgExecutor;
use uuid::Uuid;

use super::DbError;

/// What S3 authentication needs to know about an access key.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyAuth {
    /// The owning user.
    pub user_id: Uuid,
    /// The sealed secret (see `crypto::SecretBox`).
    pub secret_sealed: Vec<u8>,
    /// Whether the owning user has a quota (see [`Caller::limited`]).
    pub limited: bool,
}

/// Stores a new key for `user_id`.
pub async fn create(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    name: &str,
    access_key_id: &str,
    secret_sealed: &[u8],
) -> Result<Uuid, DbError> {
    let id = Uuid::new_v4();
    sqlx::query(
        "insert into access_keys (id, user_id, name, access_key_id, secret_sealed)
         values ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(user_id)
    .bind(name)
    .bind(access_key_id)
    .bind(secret_sealed)
    .execute(db)
    .await?;
    Ok(id)
}

/// An access key as listed (never with its secret).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyInfo {
    /// Primary key.
    pub id: Uuid,
    /// The name given at creation.
    pub name: String,
    /// The public half.
    pub access_key_id: String,
    /// When it was made.
    pub created_at: time::OffsetDateTime,
    /// When it last authenticated an S3 request (to the minute).
    pub last_used_at: Option<time::OffsetDateTime>,
}

/// A user's keys, newest first.
pub async fn list(db: impl PgExecutor<'_>, user_id: Uuid) -> Result<Vec<KeyInfo>, DbError> {
    Ok(sqlx::query_as(
        "select id, name, access_key_id, created_at, last_used_at from access_keys
          where user_id = $1 order by created_at desc, id",
    )
    .bind(user_id)
    .fetch_all(db)
    .await?)
}

/// A key with its owner's email, for operators.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OwnedKey {
    /// The owner's email.
    pub email: String,
    /// The key.
    #[sqlx(flatten)]
    pub key: KeyInfo,
}

/// Every key, or one user's, by owner then newest first.
pub async fn list_all(db: impl PgExecutor<'_>, user_id: Option<Uuid>) -> Result<Vec<OwnedKey>, DbError> {
    Ok(sqlx::query_as(
        "select u.email, k.id, k.name, k.access_key_id, k.created_at, k.last_used_at
           from access_keys k join users u on u.id = k.user_id
          where $1::uuid is null or k.user_id = $1
          order by u.email, k.created_at desc, k.id",
    )
    .bind(user_id)
    .fetch_all(db)
    .await?)
}

/// Deletes a key by its access key id, whoever owns it; `false` if there is none.
pub async fn delete_by_access_key_id(db: impl PgExecutor<'_>, access_key_id: &str) -> Result<bool, DbError> {
    let done = sqlx::query("delete from access_keys where access_key_id = $1")
        .bind(access_key_id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// A page of sealed secrets in id order after `after`: (id, access key id, sealed secret).
pub async fn sealed_page(
    db: impl PgExecutor<'_>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<(Uuid, String, Vec<u8>)>, DbError> {
    Ok(sqlx::query_as(
        "select id, access_key_id, secret_sealed from access_keys
          where $1::uuid is null or id > $1 order by id limit $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// Replaces a key's sealed secret if it is still `old` (a rotation racing nothing else
/// loses no write); `false` if it changed or the key is gone.
pub async fn reseal(db: impl PgExecutor<'_>, id: Uuid, old: &[u8], new: &[u8]) -> Result<bool, DbError> {
    let done = sqlx::query("update access_keys set secret_sealed = $3 where id = $1 and secret_sealed = $2")
        .bind(id)
        .bind(old)
        .bind(new)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// A key by id, if it is the user's.
pub async fn get(db: impl PgExecutor<'_>, user_id: Uuid, id: Uuid) -> Result<Option<KeyInfo>, DbError> {
    Ok(sqlx::query_as(
        "select id, name, access_key_id, created_at, last_used_at from access_keys where id = $1 and user_id = $2",
    )
    .bind(id)
    .bind(user_id)
    .fetch_optional(db)
    .await?)
}

/// Deletes a user's key; `false` if it is not theirs or does not exist.
pub async fn delete(db: impl PgExecutor<'_>, user_id: Uuid, id: Uuid) -> Result<bool, DbError> {
    let done = sqlx::query("delete from access_keys where id = $1 and user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Records that these keys were used (batched by the request counter).
pub async fn touch_many(db: impl PgExecutor<'_>, access_key_ids: &[String]) -> Result<(), DbError> {
    sqlx::query("update access_keys set last_used_at = now() where access_key_id = any($1)")
        .bind(access_key_ids)
        .execute(db)
        .await?;
    Ok(())
}

/// The sealed secret of an access key whose user is enabled, and whether that user has a
/// quota; `None` for unknown keys and keys of disabled users alike.
pub async fn for_auth(db: impl PgExecutor<'_>, access_key_id: &str) -> Result<Option<KeyAuth>, DbError> {
    Ok(sqlx::query_as(
        "select k.user_id, k.secret_sealed, u.quota_bytes is not null as limited
           from access_keys k join users u on u.id = k.user_id
          where k.access_key_id = $1 and not u.disabled",
    )
    .bind(access_key_id)
    .fetch_optional(db)
    .await?)
}

/// Any one stored access key and its sealed secret (the newest), to check at startup that
/// the master key opens them.
pub async fn any_sealed(db: impl PgExecutor<'_>) -> Result<Option<(String, Vec<u8>)>, DbError> {
    Ok(
        sqlx::query_as("select access_key_id, secret_sealed from access_keys order by created_at desc limit 1")
            .fetch_optional(db)
            .await?,
    )
}

/// The caller behind an access key and, when the request names one, the bucket it names.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Caller {
    /// The user the key belongs to.
    pub user_id: Uuid,
    /// The named bucket's id, if it exists.
    pub bucket_id: Option<Uuid>,
    /// The named bucket's owner, if it exists.
    pub bucket_owner_id: Option<Uuid>,
    /// Whether the user has a quota or the named bucket a limit (uploads then reserve room
    /// before their bodies; without any limit there is nothing to reserve against).
    pub limited: bool,
}

/// Resolves the key's user and the named bucket in one round trip (authorization runs on
/// every request). Keys of disabled users resolve to `None`.
pub async fn caller(
    db: impl PgExecutor<'_>,
    access_key_id: &str,
    bucket: Option<&str>,
) -> Result<Option<Caller>, DbError> {
    Ok(sqlx::query_as(
        "select k.user_id, b.id as bucket_id, b.owner_id as bucket_owner_id,
                (u.quota_bytes is not null or b.max_bytes is not null or b.max_objects is not null) as limited
           from access_keys k
           join users u on u.id = k.user_id and not u.disabled
           left join buckets b on b.name = $2
          where k.access_key_id = $1",
    )
    .bind(access_key_id)
    .bind(bucket)
    .fetch_optional(db)
    .await?)
}
