//! Quota policy over `db::quota`: a [`Reservation`] is taken before an upload's body is read
//! and is either settled by the commit or released when dropped.

use sqlx::PgPool;
use uuid::Uuid;

pub use crate::db::quota::Target;
use crate::db::{self, DbError, quota::Refusal};

/// How long a reservation may live. An instance that dies mid-upload leaves its uploads'
/// reservations behind; they are released once its lease lapses (see `lease`). The
/// reservations multipart parts hold outlive any instance and are released once this has
/// passed, if their upload is neither completed nor aborted by then.
pub const RESERVATION_TTL_SECS: i64 = 24 * 3600;

/// Why an upload may not start, or may not be committed.
#[derive(Debug, thiserror::Error)]
pub enum QuotaError {
    /// A limit would be exceeded (S3 `QuotaExceeded` 403, JSON `quota_exceeded` 403).
    #[error(transparent)]
    Exceeded(#[from] Limit),
    /// The database failed.
    #[error(transparent)]
    Db(DbError),
}

/// The limit a refused upload would cross; its text is the message users see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Limit {
    /// The user's storage quota.
    #[error("This upload would exceed your storage quota of {quota} bytes.")]
    User {
        /// The quota in bytes.
        quota: i64,
    },
    /// The bucket's byte limit.
    #[error("This upload would exceed the bucket's limit of {max} bytes.")]
    BucketBytes {
        /// The limit in bytes.
        max: i64,
    },
    /// The bucket's object-count limit.
    #[error("This upload would exceed the bucket's limit of {max} objects.")]
    BucketObjects {
        /// The limit in objects.
        max: i64,
    },
    /// A declared length no counter can hold.
    #[error("This upload is too large.")]
    TooLarge,
    /// A limit checked again at commit time (growth beyond the reservation).
    #[error("This upload would exceed a storage quota.")]
    AtCommit,
}

impl Limit {
    /// The `limit` label of `godrive_quota_refusals_total`.
    pub fn label(self) -> &'static str {
        match self {
            Limit::BucketBytes { .. } => "bucket_bytes",
            Limit::BucketObjects { .. } => "bucket_objects",
            Limit::User { .. } | Limit::TooLarge | Limit::AtCommit => "user",
        }
    }
}

impl From<Refusal> for Limit {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::User { quota } => Limit::User { quota },
            Refusal::BucketBytes { max } => Limit::BucketBytes { max },
            Refusal::BucketObjects { max } => Limit::BucketObjects { max },
        }
    }
}

impl From<Refusal> for QuotaError {
    fn from(r: Refusal) -> Self {
        QuotaError::Exceeded(r.into())
    }
}

/// The database layer's commit-time refusal (`DbError::QuotaExceeded`) is a quota refusal;
/// every other database failure stays one.
impl From<DbError> for QuotaError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::QuotaExceeded => QuotaError::Exceeded(Limit::AtCommit),
            e => QuotaError::Db(e),
        }
    }
}

/// Room promised to one upload. Dropping it unsettled gives the room back.
pub struct Reservation {
    db: PgPool,
    /// The reservation row.
    pub id: Uuid,
    armed: bool,
}

impl Reservation {
    /// The commit released it inside its own transaction.
    pub fn settled(mut self) {
        self.armed = false;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.armed {
            let (db, id) = (self.db.clone(), self.id);
            tokio::spawn(async move {
                if let Err(e) = db::quota::release(&db, id).await {
                    tracing::warn!(error = %e, "could not release a reservation; the sweeper releases it");
                }
            });
        }
    }
}

/// Reserves room for `len` bytes for `target` in `bucket_id` (see `db::quota::reserve`),
/// held by the serving `instance` (`AppState::instance_id`) until settled or released.
pub async fn reserve(
    db: &PgPool,
    instance: Uuid,
    bucket_id: Uuid,
    target: Target<'_>,
    len: u64,
) -> Result<Reservation, QuotaError> {
    let len = i64::try_from(len).map_err(|_| Limit::TooLarge)?;
    let mut conn = db.acquire().await.map_err(DbError::from)?;
    let id = db::quota::reserve(&mut conn, instance, bucket_id, target, len, RESERVATION_TTL_SECS).await??;
    Ok(Reservation {
        db: db.clone(),
        id,
        armed: true,
    })
}

/// Folds `held` (one upload's reservations, in order) into its first, which it returns: the
/// counters already hold their sum, so only the rows change.
pub async fn merge(db: &PgPool, mut held: Vec<Reservation>) -> Result<Reservation, QuotaError> {
    let mut first = held.remove(0);
    if held.is_empty() {
        return Ok(first);
    }
    let others: Vec<Uuid> = held.iter().map(|r| r.id).collect();
    if db::quota::merge(db, first.id, &others).await? {
        for r in held {
            r.settled();
        }
        Ok(first)
    } else {
        // The first is gone (the sweeper released it): the others go back on drop.
        first.armed = false;
        Err(QuotaError::Db(DbError::Sqlx(sqlx::Error::RowNotFound)))
    }
}
