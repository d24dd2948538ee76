-- Object tags (PutObjectTagging, x-amz-tagging): {"key": "value", ...}, at most 10.
alter table objects add column tags jsonb not null default '{}'::jsonb;
-- Tags given at CreateMultipartUpload, applied at completion.
alter table multipart_uploads add column tags jsonb not null default '{}'::jsonb;
