-- Quota reservations: bytes (and an object slot) promised to an upload before its body is
-- read. Settled into used bytes when the object commits, released on failure. A reservation
-- of an instance that crashed expires and is released by the next instance that sweeps.
create table reservations (
    id         uuid primary key,
    user_id    uuid not null references users (id) on delete cascade,
    bucket_id  uuid not null references buckets (id) on delete cascade,
    bytes      bigint not null check (bytes >= 0),
    -- 1 when the upload may add an object (a new key), else 0
    objects    integer not null check (objects in (0, 1)),
    expires_at timestamptz not null
);
create index reservations_expires_at on reservations (expires_at);
