-- Usage counters, kept in the same transactions as the object rows they count, and quotas.
-- Counters live on the rows they describe; settling an upload updates its bucket and its
-- owner in the commit transaction, so they always equal the sum over the objects table.

-- per-user storage quota in bytes; null = unlimited (default from GODRIVE_DEFAULT_QUOTA_BYTES)
alter table users add column quota_bytes bigint check (quota_bytes >= 0);
-- bytes of committed objects
alter table users add column used_bytes bigint not null default 0;
-- bytes reserved by uploads in flight (not yet committed or released)
alter table users add column reserved_bytes bigint not null default 0;
-- number of committed objects
alter table users add column object_count bigint not null default 0;

alter table buckets add column used_bytes bigint not null default 0;
alter table buckets add column reserved_bytes bigint not null default 0;
alter table buckets add column object_count bigint not null default 0;
-- optional per-bucket limits set by the owner; null = none
alter table buckets add column max_bytes bigint check (max_bytes >= 0);
alter table buckets add column max_objects bigint check (max_objects >= 0);
