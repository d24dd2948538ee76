-- GoDrive schema, first cut: users, their access keys, buckets and objects.
-- Keys and bucket names use collation "C" so that ordering is byte order, which is
-- UTF-8 code point order: the order S3 listings promise.

create table users (
    id            uuid primary key,
    email         text not null,
    -- bcrypt hash; never the password itself
    password_hash text not null,
    is_admin      boolean not null default false,
    -- a disabled user is refused on every API at once
    disabled      boolean not null default false,
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now()
);
-- emails are unique regardless of case
create unique index users_email_key on users (lower(email));

create table access_keys (
    id               uuid primary key,
    user_id          uuid not null references users (id) on delete cascade,
    name             text not null default '',
    -- the public half, as sent in SigV4 credentials
    access_key_id    text not null constraint access_keys_access_key_id_key unique,
    -- nonce || XChaCha20-Poly1305 ciphertext of the secret, under GODRIVE_MASTER_KEY,
    -- with the access key id as associated data
    secret_sealed    bytea not null,
    created_at       timestamptz not null default now(),
    last_used_at     timestamptz
);
create index access_keys_user_id on access_keys (user_id);

create table buckets (
    id         uuid primary key,
    -- globally unique, as in S3; uniqueness decides BucketAlreadyExists
    name       text collate "C" not null constraint buckets_name_key unique,
    owner_id   uuid not null references users (id) on delete cascade,
    region     text not null,
    created_at timestamptz not null default now()
);
create index buckets_owner_id on buckets (owner_id);

create table objects (
    id                  uuid primary key,
    bucket_id           uuid not null references buckets (id) on delete cascade,
    key                 text collate "C" not null,
    size                bigint not null check (size >= 0),
    -- the ETag without quotes: hex MD5 for single uploads, "<md5>-<n>" for multipart
    etag                text not null,
    -- MD5 and SHA-256 of the whole content, computed while streaming (null when unknown)
    md5                 bytea,
    sha256              bytea,
    content_type        text,
    content_disposition text,
    content_encoding    text,
    content_language    text,
    cache_control       text,
    expires             timestamptz,
    -- x-amz-meta-* headers, name (lowercase, without prefix) => value
    user_metadata       jsonb not null default '{}'::jsonb,
    -- name of the bytes in the storage backend; never derived from bucket or key
    blob_id             uuid not null,
    created_at          timestamptz not null default now(),
    -- Last-Modified
    updated_at          timestamptz not null default now(),
    constraint objects_bucket_id_key_key unique (bucket_id, key)
);
-- gc asks "does any row reference this blob?"
create index objects_blob_id on objects (blob_id);
