-- Committing an object costs one round trip (db::commit): lock the row it replaces, if
-- any, check the write's condition against it (S3 conditional writes), then update that
-- row or insert the new one. A concurrent insert of the same key that wins the race is
-- locked and replaced on the next pass of the loop, so the blob it displaced is always
-- handed back and never orphaned.
--
-- An object's own canned ACL (S3 PutObject / CopyObject / PutObjectAcl `x-amz-acl`): null
-- is private, the default; otherwise 'public-read', 'public-read-write' or
-- 'authenticated-read' (served to others only when GODRIVE_ALLOW_PUBLIC_BUCKETS is on). A
-- new version of an object has its own ACL, so the upsert sets it.
alter table objects add column acl text;

-- p_condition: null (none), 'absent' (If-None-Match: *), 'present' (If-Match: *) or
-- 'etag' (If-Match: p_condition_etag). When it does not hold, nothing is written and
-- condition_failed is true.
create function upsert_object(
    p_id uuid, p_bucket uuid, p_key text, p_size bigint, p_etag text, p_md5 bytea, p_sha256 bytea,
    p_content_type text, p_content_disposition text, p_content_encoding text,
    p_content_language text, p_cache_control text, p_expires timestamptz, p_user_metadata jsonb,
    p_blob uuid, p_checksums jsonb, p_checksum_type text, p_parts_count integer, p_tags jsonb,
    p_part_sizes bigint[], p_part_blobs uuid[], p_condition text, p_condition_etag text, p_acl text,
    out old_blob uuid, out old_size bigint, out old_part_blobs uuid[], out committed_at timestamptz,
    out condition_failed boolean)
language plpgsql as $$
declare
    v_etag text;
    v_found boolean;
begin
    condition_failed := false;
    loop
        select o.blob_id, o.size, o.part_blobs, o.etag
          into old_blob, old_size, old_part_blobs, v_etag
          from objects o where o.bucket_id = p_bucket and o.key = p_key
           for update;
        v_found := found;
        if (p_condition = 'absent' and v_found)
           or (p_condition = 'present' and not v_found)
           or (p_condition = 'etag' and (not v_found or v_etag <> p_condition_etag)) then
            condition_failed := true;
            old_blob := null;
            old_size := null;
            old_part_blobs := null;
            return;
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
                   updated_at = now()
             where bucket_id = p_bucket and key = p_key
            returning updated_at into committed_at;
            return;
        end if;
        insert into objects (id, bucket_id, key, size, etag, md5, sha256, content_type,
                             content_disposition, content_encoding, content_language,
                             cache_control, expires, user_metadata, blob_id, checksums,
                             checksum_type, parts_count, tags, part_sizes, part_blobs, acl)
        values (p_id, p_bucket, p_key, p_size, p_etag, p_md5, p_sha256, p_content_type,
                p_content_disposition, p_content_encoding, p_content_language, p_cache_control,
                p_expires, p_user_metadata, p_blob, p_checksums, p_checksum_type, p_parts_count,
                p_tags, p_part_sizes, p_part_blobs, p_acl)
        on conflict (bucket_id, key) do nothing
        returning updated_at into committed_at;
        if found then
            return;
        end if;
        -- a concurrent insert of the same key won: lock its row and go again
    end loop;
end $$;
