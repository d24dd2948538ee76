-- Invalidation of the authorization cache every serving instance keeps in memory (access
-- keys, buckets by name, presigned links; see src/accounts/cache.rs). Every change to a row
-- such an entry derives from, whoever makes it (any instance, the CLI, plain SQL), notifies
-- the channel `godrive_invalidate` when its transaction commits; each instance LISTENs and
-- drops the entries named:
--   key:<access key id>   the key was deleted or changed
--   user:<user id>        the user was deleted, disabled or enabled, or their quota changed
--   bucket:<bucket name>  the bucket was deleted, or its limits, owner or name changed
--   link:<link id>        the link was revoked, changed or deleted
--   all                   a table was truncated
-- Inserts notify nothing: an instance never caches the absence of a row. The usage counters
-- (used_bytes, reserved_bytes, object_count), which every upload updates, and a key's
-- last_used_at notify nothing either: no entry derives from them.
-- Previous releases run unchanged on this schema (nobody listens; notifying costs little).

create function godrive_invalidate() returns trigger language plpgsql as $$
begin
    if tg_level = 'STATEMENT' then
        perform pg_notify('godrive_invalidate', 'all');
    elsif tg_table_name = 'access_keys' then
        perform pg_notify('godrive_invalidate', 'key:' || old.access_key_id);
    elsif tg_table_name = 'users' then
        perform pg_notify('godrive_invalidate', 'user:' || old.id);
    elsif tg_table_name = 'buckets' then
        perform pg_notify('godrive_invalidate', 'bucket:' || old.name);
    elsif tg_table_name = 'presigned_links' then
        perform pg_notify('godrive_invalidate', 'link:' || old.id);
    else
        perform pg_notify('godrive_invalidate', 'all');
    end if;
    return null;
end
$$;

create trigger access_keys_invalidate
    after update on access_keys for each row
    when (old.access_key_id is distinct from new.access_key_id
          or old.user_id is distinct from new.user_id
          or old.secret_sealed is distinct from new.secret_sealed)
    execute function godrive_invalidate();
create trigger access_keys_invalidate_delete
    after delete on access_keys for each row execute function godrive_invalidate();
create trigger access_keys_invalidate_truncate
    after truncate on access_keys for each statement execute function godrive_invalidate();

create trigger users_invalidate
    after update on users for each row
    when (old.disabled is distinct from new.disabled
          or old.quota_bytes is distinct from new.quota_bytes)
    execute function godrive_invalidate();
create trigger users_invalidate_delete
    after delete on users for each row execute function godrive_invalidate();
create trigger users_invalidate_truncate
    after truncate on users for each statement execute function godrive_invalidate();

create trigger buckets_invalidate
    after update on buckets for each row
    when (old.name is distinct from new.name
          or old.owner_id is distinct from new.owner_id
          or old.max_bytes is distinct from new.max_bytes
          or old.max_objects is distinct from new.max_objects)
    execute function godrive_invalidate();
create trigger buckets_invalidate_delete
    after delete on buckets for each row execute function godrive_invalidate();
create trigger buckets_invalidate_truncate
    after truncate on buckets for each statement execute function godrive_invalidate();

create trigger presigned_links_invalidate
    after update or delete on presigned_links for each row execute function godrive_invalidate();
create trigger presigned_links_invalidate_truncate
    after truncate on presigned_links for each statement execute function godrive_invalidate();
