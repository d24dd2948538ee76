-- Sizes of a multipart object's parts, in order, so GetObject/HeadObject ?partNumber=N can
-- address one part after the upload's own rows are gone (null for single uploads).
alter table objects add column part_sizes bigint[];
