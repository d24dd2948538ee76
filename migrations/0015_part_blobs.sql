-- Multipart objects stored as their parts: every part uploaded from now on is a blob of its
-- own (named by UUID like any blob), and completing an upload records the parts' blobs on
-- the object's row instead of assembling a new blob: no byte is written twice.

-- The blobs of a completed multipart object's parts, in part order; read one after the
-- other they are the object. Null: the object is the one blob `blob_id` names (single
-- uploads, copies of them, and multipart uploads begun before this migration). When set,
-- `blob_id` names no blob, and `part_sizes` gives each part's length.
alter table objects add column part_blobs uuid[];
alter table objects add constraint objects_part_blobs_sizes
    check (part_blobs is null
           or (part_sizes is not null and cardinality(part_blobs) = cardinality(part_sizes)));
-- gc asks "does any row reference this blob?" of part blobs too
create index objects_part_blobs on objects using gin (part_blobs) where part_blobs is not null;

-- The blob holding an uploaded part, for uploads whose parts are blobs of their own (their
-- `backend_upload` is 'part-blobs'); null for a part inside the backend's own upload.
alter table multipart_parts add column blob_id uuid;
create index multipart_parts_blob_id on multipart_parts (blob_id) where blob_id is not null;
