-- Presigned links made through the JSON API. The link id travels in the URL as the
-- `x-godrive-link` query parameter, covered by the signature; a request carrying it is
-- refused once the link is revoked. Deleting the access key that signed it also kills it.
create table presigned_links (
    id            uuid primary key,
    user_id       uuid not null references users (id) on delete cascade,
    -- the key that signed the URL (kept after the key is deleted, for the record)
    access_key_id text not null,
    bucket        text not null,
    key           text not null,
    -- GET, HEAD or PUT
    method        text not null,
    expires_at    timestamptz not null,
    created_at    timestamptz not null default now(),
    revoked_at    timestamptz,
    revoked_by    uuid
);
create index presigned_links_user on presigned_links (user_id, created_at desc);

-- Every creation of a link and every use of a presigned URL (made by GoDrive or by any
-- client). Uses are buffered by each instance and written in batches, never on the
-- download path.
create table presign_audit (
    id            bigserial primary key,
    at            timestamptz not null,
    -- 'created' or 'used'
    event         text not null,
    link_id       uuid,
    access_key_id text,
    -- the key's owner when the row was written (null for an unknown key)
    user_id       uuid,
    bucket        text,
    key           text,
    method        text not null,
    status        integer not null,
    bytes         bigint not null,
    client_addr   text,
    user_agent    text
);
create index presign_audit_link on presign_audit (link_id, id) where link_id is not null;
create index presign_audit_user on presign_audit (user_id, id);

-- Bucket CORS rules (PutBucketCors), as JSON; null: none.
alter table buckets add column cors jsonb;
