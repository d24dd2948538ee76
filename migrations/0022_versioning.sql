-- Bucket versioning (S3 PutBucketVersioning).
--
-- `objects` keeps one row per key: its current version, as before, so reads, listings and
-- overwrites of unversioned buckets are unchanged (and a file keeps its id while it is
-- overwritten; a noncurrent version gets an id of its own). Every other version lives in
-- `object_versions`: the noncurrent versions of a key, and its delete markers. A key's
-- versions are ordered by `seq` (one sequence for both tables; a version keeps its `seq`
-- when it moves between them). Invariant, kept by the functions below: a key has a row in
-- `objects` exactly when its newest version is not a delete marker, and that row is its
-- newest version.
--
-- A version's blob (or part blobs) belongs to that version alone: moving a row between
-- the tables moves its blobs with it, and only removing a version hands its blobs back.

-- null: versioning never enabled; then 'Enabled' or 'Suspended' (never back to null).
alter table buckets add column versioning text check (versioning in ('Enabled', 'Suspended'));

create sequence object_seq;

-- 'null' is the version of objects written before versioning, or while it is suspended.
alter table objects
    add column version_id text collate "C" not null default 'null',
    add column seq bigint not null default nextval('object_seq');

create table object_versions (
    id                  uuid primary key,
    bucket_id           uuid not null references buckets (id) on delete cascade,
    key                 text collate "C" not null,
    version_id          text collate "C" not null,
    seq                 bigint not null,
    -- a delete marker: no bytes (size 0, no blob), one object slot in usage
    is_marker           boolean not null default false,
    -- when a newer version replaced it (NoncurrentVersionExpiration counts from here)
    noncurrent_since    timestamptz not null default now(),
    size                bigint not null check (size >= 0),
    etag                text not null,
    md5                 bytea,
    sha256              bytea,
    content_type        text,
    content_disposition text,
    content_encoding    text,
    content_language    text,
    cache_control       text,
    expires             timestamptz,
    user_metadata       jsonb not null default '{}'::jsonb,
    -- null for a delete marker
    blob_id             uuid,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    checksums           jsonb not null default '{}'::jsonb,
    checksum_type       text,
    parts_count         integer,
    tags                jsonb not null default '{}'::jsonb,
    part_sizes          bigint[],
    part_blobs          uuid[],
    acl                 text,
    constraint object_versions_key_version unique (bucket_id, key, version_id),
    constraint object_versions_marker check (is_marker = (blob_id is null))
);
-- a key's versions newest first (ListObjectVersions, promotion, lifecycle)
create index object_versions_key_seq on object_versions (bucket_id, key, seq desc);
-- gc asks "does any row reference this blob?"
create index object_versions_blob_id on object_versions (blob_id) where blob_id is not null;
create index object_versions_part_blobs on object_versions using gin (part_blobs) where part_blobs is not null;

-- The version a remembered multipart completion made (migration 0018), for its retry.
alter table completed_uploads add column version_id text;

-- Serializes the versioned writes and deletes of one key (any instance) until the end of
-- the transaction: moving versions between the tables is then never raced.
-- (The helpers are plpgsql, not sql: plpgsql keeps each statement's plan for the session,
-- where a sql function is planned again at every call.)
create function lock_object_key(p_bucket uuid, p_key text) returns void
language plpgsql as $$
begin
    perform pg_advisory_xact_lock(hashtextextended(p_bucket::text || '/' || p_key, 22));
end $$;

-- Copies the current version `p_id` into history as `p_new_id`: it became noncurrent now.
-- The caller then replaces the `objects` row (an overwrite: the file keeps its id, the copy
-- gets one of its own) or deletes it (a delete marker hides the key: the copy keeps it).
create function copy_to_history(p_id uuid, p_new_id uuid) returns void
language plpgsql as $$
begin
    insert into object_versions (id, bucket_id, key, version_id, seq, is_marker, noncurrent_since,
        size, etag, md5, sha256, content_type, content_disposition, content_encoding,
        content_language, cache_control, expires, user_metadata, blob_id, created_at, updated_at,
        checksums, checksum_type, parts_count, tags, part_sizes, part_blobs, acl)
    select p_new_id, bucket_id, key, version_id, seq, false, now(),
        size, etag, md5, sha256, content_type, content_disposition, content_encoding,
        content_language, cache_control, expires, user_metadata, blob_id, created_at, updated_at,
        checksums, checksum_type, parts_count, tags, part_sizes, part_blobs, acl
      from objects where id = p_id;
end $$;

-- After a version of (p_bucket, p_key) was removed: if the key has no current row and its
-- newest remaining version is not a delete marker, that version becomes current again.
create function promote_latest(p_bucket uuid, p_key text) returns void
language plpgsql as $$
declare
    v_id uuid;
    v_marker boolean;
begin
    if exists (select 1 from objects where bucket_id = p_bucket and key = p_key) then
        return;
    end if;
    select id, is_marker into v_id, v_marker from object_versions
     where bucket_id = p_bucket and key = p_key order by seq desc limit 1;
    if not found or v_marker then
        return;
    end if;
    insert into objects (id, bucket_id, key, version_id, seq,
        size, etag, md5, sha256, content_type, content_disposition, content_encoding,
        content_language, cache_control, expires, user_metadata, blob_id, created_at, updated_at,
        checksums, checksum_type, parts_count, tags, part_sizes, part_blobs, acl)
    select id, bucket_id, key, version_id, seq,
        size, etag, md5, sha256, content_type, content_disposition, content_encoding,
        content_language, cache_control, expires, user_metadata, blob_id, created_at, updated_at,
        checksums, checksum_type, parts_count, tags, part_sizes, part_blobs, acl
      from object_versions where id = v_id;
    delete from object_versions where id = v_id;
end $$;

-- Removes the noncurrent `null` version of a key, if any (a write or delete while
-- versioning is suspended replaces it), adding what it frees to the totals given.
create function drop_null_version(p_bucket uuid, p_key text,
    inout displaced uuid[], inout freed_bytes bigint, inout freed_objects integer)
language plpgsql as $$
declare
    v_blob uuid;
    v_size bigint;
    v_parts uuid[];
begin
    delete from object_versions v
     where v.bucket_id = p_bucket and v.key = p_key and v.version_id = 'null'
    returning v.blob_id, v.size, v.part_blobs into v_blob, v_size, v_parts;
    if found then
        -- a delete marker has no blob
        if v_blob is not null then
            displaced := displaced || coalesce(v_parts, array[v_blob]);
        end if;
        freed_bytes := freed_bytes + v_size;
        freed_objects := freed_objects + 1;
    end if;
end $$;

-- A new version id: 32 hex digits, random.
create function new_version_id() returns text
language plpgsql as $$
begin
    return replace(gen_random_uuid()::text, '-', '');
end $$;

-- upsert_object (migration 0019) again, versioned. What the write frees is returned as
-- totals (`displaced` blobs, `freed_bytes`, `freed_objects`), since on a suspended bucket
-- one write may replace the `null` version while the current one moves to history.
--   * never versioned: the current row is replaced in place, as before;
--   * Enabled: the current row (if any) becomes noncurrent; the new one gets a new id;
--   * Suspended: the new version is `null`; the `null` version, current or not, is
--     replaced; a current non-null version becomes noncurrent.
drop function upsert_object(uuid, uuid, text, bigint, text, bytea, bytea, text, text, text, text,
    text, timestamptz, jsonb, uuid, jsonb, text, integer, jsonb, bigint[], uuid[], text, text, text);

create function upsert_object(
    p_id uuid, p_bucket uuid, p_key text, p_size bigint, p_etag text, p_md5 bytea, p_sha256 bytea,
    p_content_type text, p_content_disposition text, p_content_encoding text,
    p_content_language text, p_cache_control text, p_expires timestamptz, p_user_metadata jsonb,
    p_blob uuid, p_checksums jsonb, p_checksum_type text, p_parts_count integer, p_tags jsonb,
    p_part_sizes bigint[], p_part_blobs uuid[], p_condition text, p_condition_etag text, p_acl text,
    out displaced uuid[], out freed_bytes bigint, out freed_objects integer,
    out committed_at timestamptz, out condition_failed boolean, out version_id text)
language plpgsql as $$
declare
    v_mode text;
    v_id uuid;
    v_version text;
    v_blob uuid;
    v_size bigint;
    v_parts uuid[];
    v_etag text;
    v_found boolean;
    v_new text;
begin
    condition_failed := false;
    displaced := '{}';
    freed_bytes := 0;
    freed_objects := 0;
    select b.versioning into v_mode from buckets b where b.id = p_bucket;
    if v_mode is not null then
        perform lock_object_key(p_bucket, p_key);
    end if;
    v_new := case when v_mode = 'Enabled' then new_version_id() else 'null' end;
    -- reported only by a bucket that has known versioning
    version_id := case when v_mode is not null then v_new end;
    loop
        select o.id, o.blob_id, o.size, o.part_blobs, o.etag, o.version_id
          into v_id, v_blob, v_size, v_parts, v_etag, v_version
          from objects o where o.bucket_id = p_bucket and o.key = p_key
           for update;
        v_found := found;
        if (p_condition = 'absent' and v_found)
           or (p_condition = 'present' and not v_found)
           or (p_condition = 'etag' and (not v_found or v_etag <> p_condition_etag)) then
            condition_failed := true;
            displaced := '{}';
            freed_bytes := 0;
            freed_objects := 0;
            return;
        end if;
        if v_found and v_new = 'null' and v_version = 'null' then
            -- the `null` version is replaced in place: its blobs go
            displaced := displaced || coalesce(v_parts, array[v_blob]);
            freed_bytes := freed_bytes + v_size;
            freed_objects := freed_objects + 1;
        elsif v_found then
            -- the current version becomes noncurrent; its row takes the new one
            perform copy_to_history(v_id, gen_random_uuid());
        end if;
        if v_mode = 'Suspended' and (not v_found or v_version <> 'null') then
            -- the `null` version, if noncurrent, is replaced too
            select n.displaced, n.freed_bytes, n.freed_objects
              into displaced, freed_bytes, freed_objects
              from drop_null_version(p_bucket, p_key, displaced, freed_bytes, freed_objects) n;
        end if;
        if v_found then
            update objects
               set size = p_size, etag = p_etag, md5 = p_md5, sha256 = p_sha256,
                   content_type = p_content_type, content_disposition = p_content_disposition,
                   content_encoding = p_content_encoding, content_language = p_content_language,
                   cache_control = p_cache_control, expires = p_expires,
                   user_metadata = p_user_metadata, blob_id = p_blob, checksums = p_checksums,
                   checksum_type = p_checksum_type, parts_count = p_parts_count, tags = p_tags,
                   part_sizes = p_part_sizes, part_blobs = p_part_blobs, acl = p_acl,
                   version_id = v_new, updated_at = now(), seq = nextval('object_seq')
             where id = v_id
            returning updated_at into committed_at;
            return;
        end if;
        insert into objects (id, bucket_id, key, size, etag, md5, sha256, content_type,
                             content_disposition, content_encoding, content_language,
                             cache_control, expires, user_metadata, blob_id, checksums,
                             checksum_type, parts_count, tags, part_sizes, part_blobs, acl,
                             version_id)
        values (p_id, p_bucket, p_key, p_size, p_etag, p_md5, p_sha256, p_content_type,
                p_content_disposition, p_content_encoding, p_content_language, p_cache_control,
                p_expires, p_user_metadata, p_blob, p_checksums, p_checksum_type, p_parts_count,
                p_tags, p_part_sizes, p_part_blobs, p_acl, v_new)
        on conflict (bucket_id, key) do nothing
        returning updated_at into committed_at;
        if found then
            return;
        end if;
        -- a concurrent insert of the same key won (only without versioning, whose writes
        -- take no key lock): lock its row and go again
    end loop;
end $$;

-- Removes a version, or writes a delete marker (DeleteObject, DeleteObjects, lifecycle).
-- p_version null: the key's current object. Never versioned: the row goes, as before.
-- Versioned: a delete marker becomes the newest version (a new id when Enabled; `null`
-- when Suspended, replacing the `null` version) and the current object becomes noncurrent.
-- p_version given: that version goes, wherever it is; if it was the newest, the next one
-- becomes current unless it is a delete marker.
-- `version_id` is the version removed or the marker written (null if never versioned
-- and none was asked for); `marker` whether it is a delete marker; `removed` whether a
-- version went. Freed totals count a new marker as -1 object.
create function remove_object(p_bucket uuid, p_key text, p_version text,
    out displaced uuid[], out freed_bytes bigint, out freed_objects integer,
    out version_id text, out marker boolean, out removed boolean)
language plpgsql as $$
declare
    v_mode text;
    v_id uuid;
    v_version text;
    v_blob uuid;
    v_size bigint;
    v_parts uuid[];
    v_marker boolean;
begin
    displaced := '{}';
    freed_bytes := 0;
    freed_objects := 0;
    marker := false;
    removed := false;
    select b.versioning into v_mode from buckets b where b.id = p_bucket;
    if v_mode is not null or p_version is not null then
        perform lock_object_key(p_bucket, p_key);
    end if;

    if p_version is not null then
        version_id := p_version;
        delete from objects o where o.bucket_id = p_bucket and o.key = p_key and o.version_id = p_version
        returning o.blob_id, o.size, o.part_blobs, false into v_blob, v_size, v_parts, v_marker;
        if not found then
            delete from object_versions v
             where v.bucket_id = p_bucket and v.key = p_key and v.version_id = p_version
            returning v.blob_id, v.size, v.part_blobs, v.is_marker into v_blob, v_size, v_parts, v_marker;
            if not found then
                return;
            end if;
        end if;
        removed := true;
        marker := v_marker;
        if v_blob is not null then
            displaced := coalesce(v_parts, array[v_blob]);
        end if;
        freed_bytes := v_size;
        freed_objects := 1;
        perform promote_latest(p_bucket, p_key);
        return;
    end if;

    if v_mode is null then
        delete from objects o where o.bucket_id = p_bucket and o.key = p_key
        returning o.blob_id, o.size, o.part_blobs into v_blob, v_size, v_parts;
        if found then
            removed := true;
            displaced := coalesce(v_parts, array[v_blob]);
            freed_bytes := v_size;
            freed_objects := 1;
        end if;
        return;
    end if;

    select o.id, o.version_id, o.blob_id, o.size, o.part_blobs
      into v_id, v_version, v_blob, v_size, v_parts
      from objects o where o.bucket_id = p_bucket and o.key = p_key for update;
    if found then
        if v_mode = 'Suspended' and v_version = 'null' then
            displaced := coalesce(v_parts, array[v_blob]);
            freed_bytes := v_size;
            freed_objects := 1;
        else
            perform copy_to_history(v_id, v_id);
        end if;
        delete from objects where id = v_id;
    end if;
    if v_mode = 'Suspended' then
        select n.displaced, n.freed_bytes, n.freed_objects
          into displaced, freed_bytes, freed_objects
          from drop_null_version(p_bucket, p_key, displaced, freed_bytes, freed_objects) n;
        version_id := 'null';
    else
        version_id := new_version_id();
    end if;
    insert into object_versions (id, bucket_id, key, version_id, seq, is_marker, size, etag)
    values (gen_random_uuid(), p_bucket, p_key, version_id, nextval('object_seq'), true, 0, '');
    freed_objects := freed_objects - 1;
    marker := true;
end $$;

-- Lifecycle expiration of a current object: removed as DeleteObject removes it (a delete
-- marker on a versioned bucket), only if it is still the version written at `p_at`.
create function expire_object(p_bucket uuid, p_key text, p_at timestamptz,
    out displaced uuid[], out freed_bytes bigint, out freed_objects integer,
    out version_id text, out marker boolean, out removed boolean)
language plpgsql as $$
begin
    displaced := '{}';
    freed_bytes := 0;
    freed_objects := 0;
    marker := false;
    removed := false;
    perform lock_object_key(p_bucket, p_key);
    perform 1 from objects o
      where o.bucket_id = p_bucket and o.key = p_key and o.updated_at = p_at for update;
    if found then
        select r.displaced, r.freed_bytes, r.freed_objects, r.version_id, r.marker, r.removed
          into displaced, freed_bytes, freed_objects, version_id, marker, removed
          from remove_object(p_bucket, p_key, null) r;
        -- a delete marker written hides the object: expired, though nothing was removed
        removed := true;
    end if;
end $$;

-- reserve_quota (migration 0017) again: what a write to a key frees depends on the
-- bucket's versioning. Enabled: nothing (the current version stays, noncurrent), so the
-- whole length and a slot are reserved. Suspended: the `null` version, wherever it is.
drop function reserve_quota(uuid, uuid, uuid, text, boolean, bigint, double precision);

create function reserve_quota(
    p_id uuid, p_instance uuid, p_bucket uuid, p_key text, p_part boolean, p_len bigint,
    p_ttl_secs double precision,
    out refusal text, out limit_value bigint)
language plpgsql as $$
declare
    v_mode text;
    v_old bigint;
    v_bytes bigint;
    v_objects integer;
    v_owner uuid;
    v_max_bytes bigint;
    v_max_objects bigint;
    v_used bigint;
begin
    perform set_config('synchronous_commit', 'off', true);

    -- an overwrite reserves its net growth; a new key (not a part) also an object slot
    if p_key is not null then
        select versioning into v_mode from buckets where id = p_bucket;
        if v_mode is null then
            select size into v_old from objects where bucket_id = p_bucket and key = p_key;
        elsif v_mode = 'Suspended' then
            select size into v_old from (
                select size from objects
                 where bucket_id = p_bucket and key = p_key and version_id = 'null'
                union all
                select size from object_versions
                 where bucket_id = p_bucket and key = p_key and version_id = 'null') n;
        end if;
    end if;
    v_bytes := greatest(p_len - coalesce(v_old, 0), 0);
    v_objects := case when not p_part and v_old is null then 1 else 0 end;

    update buckets set reserved_bytes = reserved_bytes + v_bytes
     where id = p_bucket
       and (max_bytes is null or used_bytes + reserved_bytes + v_bytes <= max_bytes)
       and (max_objects is null or object_count
            + (select coalesce(sum(objects), 0) from reservations where bucket_id = p_bucket)
            + v_objects <= max_objects)
    returning owner_id into v_owner;
    if v_owner is null then
        select max_bytes, max_objects, used_bytes + reserved_bytes
          into v_max_bytes, v_max_objects, v_used
          from buckets where id = p_bucket;
        if v_max_bytes is not null and v_used + v_bytes > v_max_bytes then
            refusal := 'bucket_bytes';
            limit_value := v_max_bytes;
        elsif v_max_objects is not null then
            refusal := 'bucket_objects';
            limit_value := v_max_objects;
        else
            refusal := 'bucket_bytes';
            limit_value := coalesce(v_max_bytes, 0);
        end if;
        return;
    end if;

    update users set reserved_bytes = reserved_bytes + v_bytes
     where id = v_owner and (quota_bytes is null or used_bytes + reserved_bytes + v_bytes <= quota_bytes);
    if not found then
        update buckets set reserved_bytes = reserved_bytes - v_bytes where id = p_bucket;
        refusal := 'user';
        select coalesce(quota_bytes, 0) into limit_value from users where id = v_owner;
        return;
    end if;

    insert into reservations (id, user_id, bucket_id, bytes, objects, expires_at, instance_id)
    values (p_id, v_owner, p_bucket, v_bytes, v_objects, now() + make_interval(secs => p_ttl_secs), p_instance);
end $$;
