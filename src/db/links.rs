//! Presigned links made through the JSON API, and the audit of presigned URL use.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use super::DbError;

/// A presigned link as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Link {
    /// The id carried in the URL.
    pub id: Uuid,
    /// Who made it.
    pub user_id: Uuid,
    /// The access key that signed it.
    pub access_key_id: String,
    /// Bucket name.
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// GET, HEAD or PUT.
    pub method: String,
    /// When the URL stops working.
    pub expires_at: OffsetDateTime,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// When it was revoked, if it was.
    pub revoked_at: Option<OffsetDateTime>,
}

/// Records a new link.
pub async fn create(db: impl PgExecutor<'_>, link: &Link) -> Result<(), DbError> {
    sqlx::query(
        "insert into presigned_links (id, user_id, access_key_id, bucket, key, method, expires_at, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(link.id)
    .bind(link.user_id)
    .bind(&link.access_key_id)
    .bind(&link.bucket)
    .bind(&link.key)
    .bind(&link.method)
    .bind(link.expires_at)
    .bind(link.created_at)
    .execute(db)
    .await?;
    Ok(())
}

const COLUMNS: &str = "id, user_id, access_key_id, bucket, key, method, expires_at, created_at, revoked_at";

/// One link.
pub async fn get(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<Link>, DbError> {
    Ok(
        sqlx::query_as(&format!("select {COLUMNS} from presigned_links where id = $1"))
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

/// A user's links, newest first, one page.
pub async fn list(db: impl PgExecutor<'_>, user_id: Uuid, offset: i64, limit: i64) -> Result<Vec<Link>, DbError> {
    Ok(sqlx::query_as(&format!(
        "select {COLUMNS} from presigned_links where user_id = $1
          order by created_at desc, id offset $2 limit $3"
    ))
    .bind(user_id)
    .bind(offset)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// Every user's links (or one's), newest first, at most `limit`.
pub async fn list_any(db: impl PgExecutor<'_>, user_id: Option<Uuid>, limit: i64) -> Result<Vec<Link>, DbError> {
    Ok(sqlx::query_as(&format!(
        "select {COLUMNS} from presigned_links where $1::uuid is null or user_id = $1
          order by created_at desc, id limit $2"
    ))
    .bind(user_id)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// Revokes a link (only `owner`'s, unless `None`); `false` if there is no such link.
pub async fn revoke(db: impl PgExecutor<'_>, id: Uuid, owner: Option<Uuid>, by: Uuid) -> Result<bool, DbError> {
    let done = sqlx::query(
        "update presigned_links set revoked_at = coalesce(revoked_at, now()), revoked_by = coalesce(revoked_by, $3)
          where id = $1 and ($2::uuid is null or user_id = $2)",
    )
    .bind(id)
    .bind(owner)
    .bind(by)
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The user's newest access key, or the named one if it is theirs: (key id, sealed secret).
pub async fn signing_key(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    access_key_id: Option<&str>,
) -> Result<Option<(String, Vec<u8>)>, DbError> {
    Ok(sqlx::query_as(
        "select access_key_id, secret_sealed from access_keys
          where user_id = $1 and ($2::text is null or access_key_id = $2)
          order by created_at desc, id limit 1",
    )
    .bind(user_id)
    .bind(access_key_id)
    .fetch_optional(db)
    .await?)
}

/// One audit row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    /// Row id, increasing.
    pub id: i64,
    /// When.
    pub at: OffsetDateTime,
    /// `created` or `used`.
    pub event: String,
    /// The link, for URLs made by GoDrive (stored only if signed with the link's own key).
    pub link_id: Option<Uuid>,
    /// The signing key.
    pub access_key_id: Option<String>,
    /// The key's owner: the signer, never the owner of a link id the URL carries.
    pub user_id: Option<Uuid>,
    /// Bucket name.
    pub bucket: Option<String>,
    /// Object key.
    pub key: Option<String>,
    /// HTTP method.
    pub method: String,
    /// HTTP status answered.
    pub status: i32,
    /// Body bytes sent or received.
    pub bytes: i64,
    /// Client address.
    pub client_addr: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
}

/// Writes audit rows in one statement. A row belongs to whoever signed the request: its
/// `user_id` is the authenticated caller or, for a request that failed its signature, the
/// owner of the access key it names; never the owner of a link id it carries. That link id
/// is kept only when the link was made with that same access key, so a user's link audit
/// shows no attempts that others made with their own keys and a borrowed link id.
pub async fn insert_audit(db: impl PgExecutor<'_>, rows: &[AuditRow]) -> Result<(), DbError> {
    if rows.is_empty() {
        return Ok(());
    }
    let col = |f: fn(&AuditRow) -> Option<String>| rows.iter().map(f).collect::<Vec<_>>();
    sqlx::query(
        "insert into presign_audit
             (at, event, link_id, access_key_id, user_id, bucket, key, method, status, bytes, client_addr, user_agent)
         select a.at, a.event,
                (select l.id from presigned_links l where l.id = a.link_id and l.access_key_id = a.access_key_id),
                a.access_key_id,
                coalesce(a.user_id, (select k.user_id from access_keys k where k.access_key_id = a.access_key_id)),
                a.bucket, a.key, a.method, a.status, a.bytes, a.client_addr, a.user_agent
           from unnest($1::timestamptz[], $2::text[], $3::uuid[], $4::text[], $5::uuid[], $6::text[], $7::text[],
                       $8::text[], $9::int[], $10::bigint[], $11::text[], $12::text[])
                as a(at, event, link_id, access_key_id, user_id, bucket, key, method, status, bytes, client_addr, user_agent)",
    )
    .bind(rows.iter().map(|r| r.at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.event.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.link_id).collect::<Vec<_>>())
    .bind(col(|r| r.access_key_id.clone()))
    .bind(rows.iter().map(|r| r.user_id).collect::<Vec<_>>())
    .bind(col(|r| r.bucket.clone()))
    .bind(col(|r| r.key.clone()))
    .bind(rows.iter().map(|r| r.method.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.status).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.bytes).collect::<Vec<_>>())
    .bind(col(|r| r.client_addr.clone()))
    .bind(col(|r| r.user_agent.clone()))
    .execute(db)
    .await?;
    Ok(())
}

const AUDIT_COLUMNS: &str =
    "id, at, event, link_id, access_key_id, user_id, bucket, key, method, status, bytes, client_addr, user_agent";

/// Audit rows, oldest first, after row `after`: of one link, of one user, or all.
pub async fn audit(
    db: impl PgExecutor<'_>,
    link_id: Option<Uuid>,
    user_id: Option<Uuid>,
    after: i64,
    limit: i64,
) -> Result<Vec<AuditRow>, DbError> {
    Ok(sqlx::query_as(&format!(
        "select {AUDIT_COLUMNS} from presign_audit
          where id > $1 and ($2::uuid is null or link_id = $2) and ($3::uuid is null or user_id = $3)
          order by id limit $4"
    ))
    .bind(after)
    .bind(link_id)
    .bind(user_id)
    .bind(limit)
    .fetch_all(db)
    .await?)
}
