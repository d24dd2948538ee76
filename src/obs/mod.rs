//! Observability: Prometheus metrics and their listener, the tracing subscriber, and the
//! per-user request counts (flushed to PostgreSQL in batches).

pub mod metrics;
pub mod requests;
pub mod scrape;
pub mod telemetry;
