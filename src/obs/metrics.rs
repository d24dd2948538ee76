//! Prometheus metrics of this instance (`prometheus-client`), served on their own listener
//! (`GODRIVE_METRICS_ADDR`). One registry per process: metrics describe the instance, not
//! the fleet, so nothing here breaks with several instances.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Latency buckets, 5 ms to 30 s.
const SECONDS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0,
];

/// Builds histograms with [`SECONDS`] buckets.
#[derive(Clone, Copy, Default)]
pub struct LatencyHistogram;

impl MetricConstructor<Histogram> for LatencyHistogram {
    fn new_metric(&self) -> Histogram {
        Histogram::new(SECONDS)
    }
}

/// `{api}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ApiLabel {
    /// `s3` or `json`.
    pub api: &'static str,
}

/// `{api, operation, status_class}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// `s3` or `json`.
    pub api: &'static str,
    /// S3 operation name or JSON route template.
    pub operation: String,
    /// `2xx` .. `5xx`.
    pub status_class: &'static str,
}

/// `{api, operation}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    /// `s3` or `json`.
    pub api: &'static str,
    /// S3 operation name or JSON route template.
    pub operation: String,
}

/// `{api, size_class}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UploadLabels {
    /// `s3` or `json`.
    pub api: &'static str,
    /// `le_10mb` or `gt_10mb`.
    pub size_class: &'static str,
}

/// `{api, result}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AuthAttemptLabels {
    /// `s3` or `json`.
    pub api: &'static str,
    /// `success`, `failure` or `invalid_credentials`.
    pub result: &'static str,
}

/// `{api, reason}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AuthFailureLabels {
    /// `s3` or `json`.
    pub api: &'static str,
    /// Why: `invalid_access_key`, `signature_mismatch`, `expired`, `access_denied`,
    /// `invalid_credentials`, `invalid_token`.
    pub reason: &'static str,
}

/// `{what}`: `expired_objects`, `expired_bytes` or `aborted_uploads`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LifecycleLabels {
    pub what: &'static str,
}

/// `{api, limit}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QuotaLabels {
    /// `s3` or `json`.
    pub api: &'static str,
    /// `user`, `bucket_bytes` or `bucket_objects`.
    pub limit: &'static str,
}

/// `{kind, result}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AuthCacheLabels {
    /// `key`, `bucket` or `link`.
    pub kind: &'static str,
    /// `hit`, `miss` (asked PostgreSQL) or `bypass` (asked it, the cache being off or not
    /// listening for invalidations).
    pub result: &'static str,
}

/// `{backend, operation}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BackendLabels {
    /// `fs` or `s3`.
    pub backend: &'static str,
    /// The storage operation.
    pub operation: &'static str,
}

/// `{state}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabels {
    /// `idle` or `in_use`.
    pub state: &'static str,
}

/// `{user}` (an email), for at most [`TOP_USERS`] users.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UserLabel {
    /// The user's email.
    pub user: String,
}

/// `{version}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildLabels {
    /// The crate version.
    pub version: &'static str,
}

/// How many users get per-user storage series (the largest ones): bounded cardinality.
pub const TOP_USERS: i64 = 20;

/// Every metric GoDrive exports.
pub struct Metrics {
    registry: Registry,
    /// Requests answered.
    pub requests: Family<RequestLabels, Counter>,
    /// Time to answer (headers out; a streamed body may take longer).
    pub request_duration: Family<OperationLabels, Histogram, LatencyHistogram>,
    /// Whole uploads, body included.
    pub upload_duration: Family<UploadLabels, Histogram, LatencyHistogram>,
    /// Requests being handled now.
    pub in_flight: Family<ApiLabel, Gauge>,
    /// Request body bytes announced.
    pub request_bytes: Family<ApiLabel, Counter>,
    /// Response body bytes announced.
    pub response_bytes: Family<ApiLabel, Counter>,
    /// Authentication outcomes.
    pub auth_attempts: Family<AuthAttemptLabels, Counter>,
    /// Authentication and authorization refusals by reason.
    pub auth_failures: Family<AuthFailureLabels, Counter>,
    /// Uploads refused by a quota.
    pub quota_refusals: Family<QuotaLabels, Counter>,
    /// Lookups of the authorization cache (`accounts::cache`).
    pub auth_cache: Family<AuthCacheLabels, Counter>,
    /// 1 while this instance listens for cache invalidations (else the cache is bypassed).
    pub auth_cache_listening: Gauge,
    /// Times this instance started listening for cache invalidations.
    pub auth_cache_listens: Counter,
    /// Cache invalidations received from PostgreSQL.
    pub auth_cache_invalidations: Counter,
    /// Blob backend operations.
    pub backend_duration: Family<BackendLabels, Histogram, LatencyHistogram>,
    /// Blob backend failures.
    pub backend_errors: Family<BackendLabels, Counter>,
    /// 1 when the blob backend answered its health probe at the last scrape.
    pub backend_up: Gauge,
    /// 1 when PostgreSQL answered at the last scrape.
    pub database_up: Gauge,
    /// Pool connections by state.
    pub pool_connections: Family<PoolLabels, Gauge>,
    /// The pool's size limit.
    pub pool_max: Gauge,
    /// Bytes stored, all users.
    pub storage_used: Gauge,
    /// Objects stored, all users.
    pub storage_objects: Gauge,
    /// Bytes stored by the largest users.
    pub user_storage_used: Family<UserLabel, Gauge>,
    /// Used / quota of the largest users that have a quota.
    pub user_quota_ratio: Family<UserLabel, Gauge<f64, std::sync::atomic::AtomicU64>>,
    /// Users whose stored bytes exceed their quota (must stay 0).
    pub users_over_quota: Gauge,
    /// What lifecycle rules removed, by `what`.
    pub lifecycle: Family<LifecycleLabels, Counter>,
    /// Always 1, labelled with the version.
    pub build_info: Family<BuildLabels, Gauge>,
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("godrive");
        let m = Self {
            registry: Registry::default(),
            requests: Family::default(),
            request_duration: Family::new_with_constructor(LatencyHistogram),
            upload_duration: Family::new_with_constructor(LatencyHistogram),
            in_flight: Family::default(),
            request_bytes: Family::default(),
            response_bytes: Family::default(),
            auth_attempts: Family::default(),
            auth_failures: Family::default(),
            quota_refusals: Family::default(),
            auth_cache: Family::default(),
            auth_cache_listening: Gauge::default(),
            auth_cache_listens: Counter::default(),
            auth_cache_invalidations: Counter::default(),
            backend_duration: Family::new_with_constructor(LatencyHistogram),
            backend_errors: Family::default(),
            backend_up: Gauge::default(),
            database_up: Gauge::default(),
            pool_connections: Family::default(),
            pool_max: Gauge::default(),
            storage_used: Gauge::default(),
            storage_objects: Gauge::default(),
            user_storage_used: Family::default(),
            user_quota_ratio: Family::default(),
            users_over_quota: Gauge::default(),
            lifecycle: Family::default(),
            build_info: Family::default(),
        };
        let r = &mut registry;
        r.register("http_requests", "Requests answered", m.requests.clone());
        r.register(
            "http_request_duration_seconds",
            "Time to answer a request",
            m.request_duration.clone(),
        );
        r.register(
            "upload_duration_seconds",
            "Whole uploads (PutObject, UploadPart, PostObject, JSON file upload), body included",
            m.upload_duration.clone(),
        );
        r.register("http_requests_in_flight", "Requests being handled", m.in_flight.clone());
        r.register("http_request_bytes", "Request body bytes", m.request_bytes.clone());
        r.register("http_response_bytes", "Response body bytes", m.response_bytes.clone());
        r.register("auth_attempts", "Authentication outcomes", m.auth_attempts.clone());
        r.register(
            "auth_failures",
            "Refused authentications by reason",
            m.auth_failures.clone(),
        );
        r.register("quota_refusals", "Uploads refused by a quota", m.quota_refusals.clone());
        r.register("lifecycle", "What lifecycle rules removed", m.lifecycle.clone());
        r.register(
            "auth_cache",
            "Authorization cache lookups by kind and result",
            m.auth_cache.clone(),
        );
        r.register(
            "auth_cache_listening",
            "Whether cache invalidations reach this instance (1 yes, 0 no: cache bypassed)",
            m.auth_cache_listening.clone(),
        );
        r.register(
            "auth_cache_listens",
            "Times this instance started listening for cache invalidations",
            m.auth_cache_listens.clone(),
        );
        r.register(
            "auth_cache_invalidations",
            "Cache invalidations received from PostgreSQL",
            m.auth_cache_invalidations.clone(),
        );
        r.register(
            "backend_operation_duration_seconds",
            "Blob backend operations",
            m.backend_duration.clone(),
        );
        r.register("backend_errors", "Blob backend failures", m.backend_errors.clone());
        r.register("backend_up", "Blob backend health (1 up, 0 down)", m.backend_up.clone());
        r.register("database_up", "PostgreSQL health (1 up, 0 down)", m.database_up.clone());
        r.register(
            "db_pool_connections",
            "Database pool connections by state",
            m.pool_connections.clone(),
        );
        r.register(
            "db_pool_max_connections",
            "Database pool size limit",
            m.pool_max.clone(),
        );
        r.register(
            "storage_used_bytes_total",
            "Bytes stored, all users",
            m.storage_used.clone(),
        );
        r.register(
            "storage_objects_total",
            "Objects stored, all users",
            m.storage_objects.clone(),
        );
        r.register(
            "user_storage_used_bytes",
            "Bytes stored by the largest users",
            m.user_storage_used.clone(),
        );
        r.register(
            "user_quota_used_ratio",
            "Stored bytes over quota, for the users closest to their quota",
            m.user_quota_ratio.clone(),
        );
        r.register(
            "users_over_quota",
            "Users whose stored bytes exceed their quota",
            m.users_over_quota.clone(),
        );
        r.register("build_info", "Build information", m.build_info.clone());
        // Bounded label sets start at zero, so rates and alerts have series from the start.
        for api in ["s3", "json"] {
            let _ = m.in_flight.get_or_create(&ApiLabel { api });
            let _ = m.request_bytes.get_or_create(&ApiLabel { api });
            let _ = m.response_bytes.get_or_create(&ApiLabel { api });
            for result in ["success", "failure", "invalid_credentials"] {
                let _ = m.auth_attempts.get_or_create(&AuthAttemptLabels { api, result });
            }
            for reason in [
                "invalid_access_key",
                "signature_mismatch",
                "expired",
                "access_denied",
                "invalid_credentials",
                "invalid_token",
            ] {
                let _ = m.auth_failures.get_or_create(&AuthFailureLabels { api, reason });
            }
            for limit in ["user", "bucket_bytes", "bucket_objects"] {
                let _ = m.quota_refusals.get_or_create(&QuotaLabels { api, limit });
            }
            for size_class in ["le_10mb", "gt_10mb"] {
                let _ = m.upload_duration.get_or_create(&UploadLabels { api, size_class });
            }
        }
        for kind in ["key", "bucket", "link"] {
            for result in ["hit", "miss", "bypass"] {
                let _ = m.auth_cache.get_or_create(&AuthCacheLabels { kind, result });
            }
        }
        m.build_info
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        Self { registry, ..m }
    }

    /// The text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String");
        out
    }

    /// Counts an upload refused by a quota (`limit`: `user`, `bucket_bytes`, `bucket_objects`).
    pub fn quota_refused(&self, api: &'static str, limit: &'static str) {
        self.quota_refusals.get_or_create(&QuotaLabels { api, limit }).inc();
    }
}

/// Counts an authentication outcome, and the reason of a refusal.
pub fn auth(api: &'static str, result: &'static str, reason: Option<&'static str>) {
    METRICS
        .auth_attempts
        .get_or_create(&AuthAttemptLabels { api, result })
        .inc();
    if let Some(reason) = reason {
        METRICS
            .auth_failures
            .get_or_create(&AuthFailureLabels { api, reason })
            .inc();
    }
}

/// The process's metrics.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// `2xx` .. `5xx` of a status code.
pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// Records one answered request.
pub fn observe_request(api: &'static str, operation: &str, status: u16, elapsed: Duration) {
    let m = &*METRICS;
    m.requests
        .get_or_create(&RequestLabels {
            api,
            operation: operation.to_owned(),
            status_class: status_class(status),
        })
        .inc();
    m.request_duration
        .get_or_create(&OperationLabels {
            api,
            operation: operation.to_owned(),
        })
        .observe(elapsed.as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_exported_under_its_contract_name() {
        observe_request("s3", "PutObject", 200, Duration::from_millis(3));
        METRICS.quota_refused("s3", "bucket_objects");
        let text = METRICS.encode();
        for name in [
            "godrive_http_requests_total{api=\"s3\",operation=\"PutObject\",status_class=\"2xx\"}",
            "godrive_http_request_duration_seconds_bucket{",
            "godrive_quota_refusals_total{api=\"s3\",limit=\"bucket_objects\"}",
            "godrive_auth_cache_total{kind=\"key\",result=\"hit\"}",
            "godrive_auth_cache_listening ",
            "godrive_auth_cache_listens_total ",
            "godrive_auth_cache_invalidations_total ",
            "godrive_build_info{version=",
        ] {
            assert!(text.contains(name), "{name} missing in\n{text}");
        }
    }
}
