-- Multipart uploads and their parts, and flexible checksums on objects.

-- Checksums an object was uploaded with, base64 as S3 sends them:
-- {"CRC32": "...", "CRC32C": ..., "CRC64NVME": ..., "SHA1": ..., "SHA256": ...}.
-- For multipart objects the value may be composite ("<base64>-<parts>").
alter table objects add column checksums jsonb not null default '{}'::jsonb;
-- FULL_OBJECT or COMPOSITE, when a checksum is stored
alter table objects add column checksum_type text;
-- number of parts for a multipart object (null for single uploads)
alter table objects add column parts_count integer;

create table multipart_uploads (
    -- the UploadId handed to clients
    id                  uuid primary key,
    bucket_id           uuid not null references buckets (id) on delete cascade,
    key                 text collate "C" not null,
    -- headers and metadata given at creation, applied at completion
    content_type        text,
    content_disposition text,
    content_encoding    text,
    content_language    text,
    cache_control       text,
    expires             timestamptz,
    user_metadata       jsonb not null default '{}'::jsonb,
    -- checksum algorithm and type declared at creation (CRC32, ...; COMPOSITE/FULL_OBJECT)
    checksum_algorithm  text,
    checksum_type       text,
    -- the blob the completed object will be stored under
    blob_id             uuid not null,
    -- the backend's handle for this upload (s3: its UploadId; fs: the parts folder)
    backend_upload      text not null,
    -- set while a CompleteMultipartUpload runs, so a second one or an abort cannot race it
    completing          boolean not null default false,
    created_at          timestamptz not null default now()
);
create index multipart_uploads_bucket_key on multipart_uploads (bucket_id, key, created_at);

create table multipart_parts (
    upload_id   uuid not null references multipart_uploads (id) on delete cascade,
    part_number integer not null check (part_number between 1 and 10000),
    size        bigint not null check (size >= 0),
    -- hex MD5 of the part, without quotes
    etag        text not null,
    -- the backend's token for the stored part (s3: its ETag; fs: the part file name)
    backend_part text not null,
    checksums   jsonb not null default '{}'::jsonb,
    created_at  timestamptz not null default now(),
    primary key (upload_id, part_number)
);
