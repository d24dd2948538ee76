//! Instance leases (migration 0013): each serving instance renews its row; the quota
//! reservations of its uploads in flight name it and are released once the lease lapses.

use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::DbError;

/// Takes or renews `instance`'s lease until `secs` from now, by the database's clock.
pub async fn renew(db: impl PgExecutor<'_>, instance: Uuid, secs: f64) -> Result<(), DbError> {
    sqlx::query(
        "insert into instance_leases (id, expires_at) values ($1, now() + make_interval(secs => $2))
         on conflict (id) do update set expires_at = excluded.expires_at",
    )
    .bind(instance)
    .bind(secs)
    .execute(db)
    .await?;
    Ok(())
}

/// How many instances hold a lease that has not lapsed (the instances alive).
pub async fn alive(db: impl PgExecutor<'_>) -> Result<i64, DbError> {
    Ok(
        sqlx::query_scalar("select count(*) from instance_leases where expires_at > now()")
            .fetch_one(db)
            .await?,
    )
}

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Reservations of dead instances released.
    pub reservations: u64,
    /// Lapsed lease rows deleted.
    pub leases: u64,
}

/// Releases every reservation whose instance's lease has lapsed or whose instance row is
/// gone (reservations a multipart part holds name no instance and stay), then deletes the
/// lapsed leases. Each release is its own statement and idempotent, so instances may sweep
/// at the same time.
pub async fn sweep(db: &mut PgConnection) -> Result<Swept, DbError> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "select r.id from reservations r
          where r.instance_id is not null
            and not exists (select 1 from instance_leases l where l.id = r.instance_id and l.expires_at > now())",
    )
    .fetch_all(&mut *db)
    .await?;
    let mut swept = Swept {
        reservations: ids.len() as u64,
        leases: 0,
    };
    for id in ids {
        super::quota::release(&mut *db, id).await?;
    }
    swept.leases = sqlx::query("delete from instance_leases where expires_at <= now()")
        .execute(&mut *db)
        .await?
        .rows_affected();
    Ok(swept)
}
