-- The quota reservation each uploaded part holds until its upload completes or is aborted.
alter table multipart_parts add column reservation_id uuid;
