-- Usage history. A trigger records a user's stored bytes and objects whenever they change,
-- in the same transaction as the change: one row per user and minute (the last value in that
-- minute and the peak). A daily roll-up turns snapshots and request counts into usage_daily.
create table usage_snapshots (
    user_id      uuid not null references users (id) on delete cascade,
    -- the minute (UTC) the values were seen in
    at           timestamptz not null,
    used_bytes   bigint not null,
    peak_bytes   bigint not null,
    object_count bigint not null,
    primary key (user_id, at)
);

create function record_usage_snapshot() returns trigger language plpgsql as $$
begin
    -- clock_timestamp, not now(): the row lock on users orders the writers, so the last
    -- writer in a minute also has the latest clock.
    insert into usage_snapshots (user_id, at, used_bytes, peak_bytes, object_count)
    values (new.id, date_trunc('minute', clock_timestamp()), new.used_bytes, new.used_bytes, new.object_count)
    on conflict (user_id, at) do update
        set used_bytes = excluded.used_bytes,
            peak_bytes = greatest(usage_snapshots.peak_bytes, excluded.used_bytes),
            object_count = excluded.object_count;
    return null;
end $$;

create trigger users_usage_snapshot
    after update of used_bytes, object_count on users
    for each row
    when (old.used_bytes is distinct from new.used_bytes or old.object_count is distinct from new.object_count)
    execute function record_usage_snapshot();

-- Where history starts for users that already hold data.
insert into usage_snapshots (user_id, at, used_bytes, peak_bytes, object_count)
select id, date_trunc('minute', now()), used_bytes, used_bytes, object_count from users
 where used_bytes <> 0 or object_count <> 0;

-- One row per user and (UTC) day, written once by the roll-up.
create table usage_daily (
    day          date not null,
    user_id      uuid not null references users (id) on delete cascade,
    -- at the end of the day
    used_bytes   bigint not null,
    object_count bigint not null,
    -- the most stored at any time that day
    peak_bytes   bigint not null,
    requests     bigint not null,
    primary key (day, user_id)
);

-- Days rolled up; the primary key makes a second roll-up of a day impossible.
create table usage_rollups (
    day       date primary key,
    rolled_at timestamptz not null default now(),
    -- which instance did it (host and process id)
    rolled_by text not null
);
