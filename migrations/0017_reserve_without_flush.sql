-- reserve_quota (migration 0013) again, unchanged but for its commit: a reservation is
-- a promise made before an upload's body is read, not data a client was told is stored,
-- so its transaction does not wait for the WAL flush and holds the bucket's and the
-- owner's counter rows only while it runs. `refusal` is null on success, else which limit
-- refused: 'bucket_bytes', 'bucket_objects' or 'user', with that limit in `limit_value`.
create or replace function reserve_quota(
    p_id uuid, p_instance uuid, p_bucket uuid, p_key text, p_part boolean, p_len bigint,
    p_ttl_secs double precision,
    out refusal text, out limit_value bigint)
language plpgsql as $$
declare
    v_old bigint;
    v_bytes bigint;
    v_objects integer;
    v_owner uuid;
    v_max_bytes bigint;
    v_max_objects bigint;
    v_used bigint;
begin
    -- Committed without waiting for the WAL flush: the counter rows this locks are free
    -- again as soon as the statement ends. A reservation lost to a crash of PostgreSQL
    -- costs nothing: the upload's commit finds it gone and checks its growth against the
    -- limits then, under the same row locks (db::quota::may_grow).
    perform set_config('synchronous_commit', 'off', true);

    -- an overwrite reserves its net growth; a new key (not a part) also an object slot
    if p_key is not null then
        select size into v_old from objects where bucket_id = p_bucket and key = p_key;
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
        -- undo the bucket's share; nobody saw it, the statement has not committed
        update buckets set reserved_bytes = reserved_bytes - v_bytes where id = p_bucket;
        refusal := 'user';
        select coalesce(quota_bytes, 0) into limit_value from users where id = v_owner;
        return;
    end if;

    insert into reservations (id, user_id, bucket_id, bytes, objects, expires_at, instance_id)
    values (p_id, v_owner, p_bucket, v_bytes, v_objects, now() + make_interval(secs => p_ttl_secs), p_instance);
end $$;
