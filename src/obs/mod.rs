//! Observability: each request's context (client, caller, operation), Prometheus metrics
//! and their listener, the tracing subscriber, and the per-user request counts (flushed to
//! PostgreSQL in batches).

pub mod context;
pub mod metrics;
pub mod requests;
pub mod scrape;
pub mod telemetry;
