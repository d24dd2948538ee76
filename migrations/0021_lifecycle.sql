-- A bucket's lifecycle rules (objects::lifecycle::Rule, as JSON), applied by the lifecycle
-- job. Instant: a nullable column.
alter table buckets add column lifecycle jsonb;
