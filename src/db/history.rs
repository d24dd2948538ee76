//! Usage history: the snapshots a trigger records on every change of a user's counters
//! (migration 0010), the daily roll-up into `usage_daily`, and the daily report.

use sqlx::{PgConnection, PgExecutor};
use time::Date;
use uuid::Uuid;

use super::DbError;

/// The advisory lock that makes one instance at a time roll up ("GDROLLUP").
const ROLLUP_LOCK: i64 = 0x4744_524f_4c4c_5550;

/// Each user's day, computed from snapshots and request counts: `$1` the day (UTC), `$2` one
/// user or null for all. The values at the end of the day carry over from the last snapshot
/// before it when nothing changed that day.
const DAY_ROWS: &str = "
    with bounds as (
        select ($1::date)::timestamp at time zone 'UTC' as start,
               ($1::date + 1)::timestamp at time zone 'UTC' as stop)
    select u.id as user_id,
           coalesce(e.used_bytes, 0)::bigint as used_bytes,
           coalesce(e.object_count, 0)::bigint as object_count,
           greatest(coalesce(s.used_bytes, 0), coalesce(p.peak, 0))::bigint as peak_bytes,
           coalesce(r.requests, 0)::bigint as requests
      from users u cross join bounds
      left join lateral (
          select used_bytes, object_count from usage_snapshots
           where user_id = u.id and at < bounds.stop order by at desc limit 1) e on true
      left join lateral (
          select used_bytes from usage_snapshots
           where user_id = u.id and at < bounds.start order by at desc limit 1) s on true
      left join lateral (
          select max(peak_bytes) as peak from usage_snapshots
           where user_id = u.id and at >= bounds.start and at < bounds.stop) p on true
      left join lateral (
          select sum(count) as requests from request_counts
           where user_id = u.id and day = $1) r on true
     where u.created_at < bounds.stop and ($2::uuid is null or u.id = $2)";

/// Takes the roll-up lock for the rest of the transaction; `false` if another instance holds it.
pub async fn try_rollup_lock(tx: &mut PgConnection) -> Result<bool, DbError> {
    Ok(sqlx::query_scalar("select pg_try_advisory_xact_lock($1)")
        .bind(ROLLUP_LOCK)
        .fetch_one(tx)
        .await?)
}

/// The last day rolled up, if any.
pub async fn rolled_through(db: impl PgExecutor<'_>) -> Result<Option<Date>, DbError> {
    Ok(sqlx::query_scalar("select max(day) from usage_rollups")
        .fetch_one(db)
        .await?)
}

/// The first day anything happened (a user created, a counter changed, a request counted).
pub async fn first_day(db: impl PgExecutor<'_>) -> Result<Option<Date>, DbError> {
    Ok(sqlx::query_scalar(
        "select least(
            (select min(created_at at time zone 'UTC')::date from users),
            (select min(at at time zone 'UTC')::date from usage_snapshots),
            (select min(day) from request_counts))",
    )
    .fetch_one(db)
    .await?)
}

/// Writes every user's row for `day` and marks the day rolled up (fails if it already was).
pub async fn roll_day(tx: &mut PgConnection, day: Date, rolled_by: &str) -> Result<(), DbError> {
    sqlx::query("insert into usage_rollups (day, rolled_by) values ($1, $2)")
        .bind(day)
        .bind(rolled_by)
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!(
        "insert into usage_daily (day, user_id, used_bytes, object_count, peak_bytes, requests)
         select $1, user_id, used_bytes, object_count, peak_bytes, requests from ({DAY_ROWS}) d"
    ))
    .bind(day)
    .bind(None::<Uuid>)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Deletes snapshots from before `before` (UTC) except each user's latest one there, which
/// later days carry over from.
pub async fn prune_snapshots(tx: &mut PgConnection, before: Date) -> Result<u64, DbError> {
    let done = sqlx::query(
        "with cutoff as (select ($1::date)::timestamp at time zone 'UTC' as t)
         delete from usage_snapshots s using cutoff
          where s.at < cutoff.t
            and exists (select 1 from usage_snapshots n
                         where n.user_id = s.user_id and n.at > s.at and n.at < cutoff.t)",
    )
    .bind(before)
    .execute(tx)
    .await?;
    Ok(done.rows_affected())
}

/// One day of the report: totals over the users asked for.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DayTotals {
    /// The day (UTC).
    pub day: Date,
    /// Bytes stored at the end of the day.
    pub used_bytes: i64,
    /// Objects stored at the end of the day.
    pub object_count: i64,
    /// The sum of each user's peak that day.
    pub peak_bytes: i64,
    /// Requests made that day.
    pub requests: i64,
    /// Users counted.
    pub users: i64,
}

/// Totals of rolled-up days between `from` and `to` (inclusive) for one user or all.
pub async fn rolled_totals(
    db: impl PgExecutor<'_>,
    from: Date,
    to: Date,
    user: Option<Uuid>,
) -> Result<Vec<DayTotals>, DbError> {
    Ok(sqlx::query_as(
        "select r.day, coalesce(sum(d.used_bytes), 0)::bigint as used_bytes,
                coalesce(sum(d.object_count), 0)::bigint as object_count,
                coalesce(sum(d.peak_bytes), 0)::bigint as peak_bytes,
                coalesce(sum(d.requests), 0)::bigint as requests, count(d.user_id) as users
           from usage_rollups r
           left join usage_daily d on d.day = r.day and ($3::uuid is null or d.user_id = $3)
          where r.day between $1 and $2
          group by r.day order by r.day",
    )
    .bind(from)
    .bind(to)
    .bind(user)
    .fetch_all(db)
    .await?)
}

/// Totals of a day not rolled up yet, computed from snapshots and request counts as they are.
pub async fn live_totals(db: impl PgExecutor<'_>, day: Date, user: Option<Uuid>) -> Result<DayTotals, DbError> {
    Ok(sqlx::query_as(&format!(
        "select $1::date as day, coalesce(sum(used_bytes), 0)::bigint as used_bytes,
                coalesce(sum(object_count), 0)::bigint as object_count,
                coalesce(sum(peak_bytes), 0)::bigint as peak_bytes,
                coalesce(sum(requests), 0)::bigint as requests, count(*) as users
           from ({DAY_ROWS}) d"
    ))
    .bind(day)
    .bind(user)
    .fetch_one(db)
    .await?)
}

/// One entry a day from `from` to `to` (stopping at today): rolled-up days as stored (`true`:
/// final), the others counted live; every user's, or one's. The JSON report and history
/// and `godrive usage report` all read this.
pub async fn series(
    db: &sqlx::PgPool,
    from: Date,
    to: Date,
    user: Option<Uuid>,
) -> Result<Vec<(DayTotals, bool)>, DbError> {
    let today = time::OffsetDateTime::now_utc().date();
    let mut rolled = rolled_totals(db, from, to, user).await?.into_iter().peekable();
    let mut days = Vec::new();
    let mut day = from;
    while day <= to {
        match rolled.next_if(|r| r.day == day) {
            Some(r) => days.push((r, true)),
            None if day <= today => days.push((live_totals(db, day, user).await?, false)),
            None => break,
        }
        match day.next_day() {
            Some(next) => day = next,
            None => break,
        }
    }
    Ok(days)
}
