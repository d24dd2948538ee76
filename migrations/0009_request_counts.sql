-- Requests per user, operation and day, flushed in batches by each instance (never a write
-- per request). Counts buffered in an instance that crashes (a few seconds' worth) are lost.
create table request_counts (
    user_id   uuid not null references users (id) on delete cascade,
    day       date not null,
    -- S3 operation name (PutObject, ...) or JSON route (POST /v1/keys, ...)
    operation text not null,
    count     bigint not null,
    primary key (user_id, day, operation)
);
