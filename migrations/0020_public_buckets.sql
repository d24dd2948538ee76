-- Public access, opt-in (GODRIVE_ALLOW_PUBLIC_BUCKETS): a bucket's canned ACL and its
-- bucket policy (the JSON document as sent; s3::policy reads it). Both instant: a column
-- with a constant default, and a nullable one.
alter table buckets add column acl text not null default 'private';
alter table buckets add column policy text;
