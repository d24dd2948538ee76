-- Multipart uploads completed lately, with the answer their completion gave: a client
-- that timed out and retries CompleteMultipartUpload gets the same success, as from S3,
-- instead of NoSuchUpload (db::completed). Rows older than an hour are of no use; gc
-- deletes them.
create table completed_uploads (
    id            uuid primary key,
    bucket_id     uuid not null references buckets (id) on delete cascade,
    key           text not null,
    etag          text not null,
    checksums     jsonb not null default '{}',
    checksum_type text,
    completed_at  timestamptz not null default now()
);

create index completed_uploads_by_age on completed_uploads (completed_at);
