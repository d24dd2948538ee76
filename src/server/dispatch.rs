//! One request: routed to the JSON API, the console or S3, then logged and measured.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Instant;

use axum::body::Body;
use http::{HeaderValue, Request, Response};
use hyper::body::Incoming;
use tower::ServiceExt as _;
use tracing::Instrument as _;
use uuid::Uuid;

use super::body::{GuardedBody, StallingBody};
use super::conn::RequestGuard;
use crate::app::AppState;
use crate::obs::context::RequestContext;

/// A request body as the server hands it on.
type RequestBody = StallingBody<Incoming>;

/// Routes a request to the JSON API or to S3.
#[derive(Clone)]
pub(super) struct Dispatch {
    state: AppState,
    s3: crate::s3::entry::Edge,
    api: axum::Router,
}

impl Dispatch {
    /// Builds both edges once.
    pub(super) fn new(state: &AppState) -> Self {
        Self {
            state: state.clone(),
            s3: crate::s3::entry::Edge::new(state),
            api: crate::api::router(state.clone()),
        }
    }

    /// `/v1/...` belongs to the JSON API unless the Host names a bucket (virtual-hosted
    /// style), in which case it is an object key. A bare `/v1` or `/v1/` stays on the S3 side, which
    /// refuses `v1` as a bucket name.
    fn is_api(&self, req: &Request<RequestBody>) -> bool {
        let path = req.uri().path();
        if !path.starts_with("/v1/") || path == "/v1/" {
            return false;
        }
        self.s3.host_bucket(req).is_none()
    }

    /// The console's files, and a browser opening `/`, unless the Host names a bucket.
    fn is_console(&self, req: &Request<RequestBody>) -> bool {
        crate::console::claims(req.method(), req.uri().path(), req.uri().query(), req.headers())
            && self.s3.host_bucket(req).is_none()
    }

    /// Serves one request; `guard` ends it on its connection when the response body is done.
    pub(super) async fn handle(
        self,
        peer: SocketAddr,
        mut req: Request<RequestBody>,
        guard: RequestGuard,
    ) -> Result<Response<Body>, Infallible> {
        let client = super::client::client_ip(&self.state.config.trusted_proxies, peer.ip(), req.headers());
        let context = RequestContext::new(client);
        req.extensions_mut().insert(context.clone());
        let started = Instant::now();
        let request_id = req
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 128 && v.chars().all(|c| c.is_ascii_graphic()))
            .map_or_else(|| Uuid::new_v4().simple().to_string(), str::to_owned);
        let api = if self.is_api(&req) {
            "json"
        } else if self.is_console(&req) {
            "console"
        } else {
            "s3"
        };
        let _in_flight = InFlight::start(api);
        let request_bytes = declared_body(req.headers());
        let bucket = if api == "s3" {
            self.s3.target(&req).map(|(b, _)| b)
        } else {
            None
        };
        let method = req.method().clone();
        // The path only: a presigned query string holds a signature.
        let path = req.uri().path().to_owned();
        let span = tracing::info_span!("request", request_id = %request_id, api, method = %method, path = %path);
        async move {
            if let Ok(v) = HeaderValue::from_str(&request_id) {
                req.headers_mut().insert("x-request-id", v);
            }
            let mut resp = match api {
                "json" => match self.api.oneshot(req.map(Body::new)).await {
                    Ok(r) => r,
                    Err(never) => match never {},
                },
                // The console's answers carry their own policy (`console::POLICY`).
                "console" if req.uri().path() == "/" => crate::console::redirect(),
                "console" => crate::console::serve(&req),
                _ => self.s3.serve(&context, req).await,
            };
            if api != "console" {
                super::content::protect(resp.headers_mut());
            }
            if let Ok(v) = HeaderValue::from_str(&request_id) {
                if api == "s3" {
                    resp.headers_mut().insert("x-amz-request-id", v.clone());
                }
                resp.headers_mut().insert("x-request-id", v);
            }
            let status = resp.status().as_u16();
            let elapsed = started.elapsed();
            let latency_ms = elapsed.as_millis() as u64;
            record_metrics(api, context.operation(), status, elapsed, request_bytes, resp.headers());
            let op = context.operation().unwrap_or("-");
            let user_id = context.user().map_or_else(|| "-".to_owned(), |u| u.to_string());
            let bucket = bucket.as_deref().unwrap_or("-");
            let bytes_in = request_bytes.unwrap_or(0);
            let bytes_out = declared_body(resp.headers()).unwrap_or(0);
            if status >= 500 {
                tracing::error!(
                    status,
                    latency_ms,
                    operation = op,
                    user_id,
                    bucket,
                    bytes_in,
                    bytes_out,
                    "request failed"
                );
            } else {
                tracing::info!(
                    status,
                    latency_ms,
                    operation = op,
                    user_id,
                    bucket,
                    bytes_in,
                    bytes_out,
                    "request"
                );
            }
            Ok(resp.map(|b| Body::new(GuardedBody::new(b, guard))))
        }
        .instrument(span)
        .await
    }
}

/// Decrements the in-flight gauge when the request ends, however it ends.
struct InFlight(prometheus_client::metrics::gauge::Gauge);

impl InFlight {
    fn start(api: &'static str) -> Self {
        let g = crate::obs::metrics::METRICS
            .in_flight
            .get_or_create(&crate::obs::metrics::ApiLabel { api })
            .clone();
        g.inc();
        Self(g)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The body length a request announces (the decoded length for aws-chunked bodies).
fn declared_body(headers: &http::HeaderMap) -> Option<u64> {
    ["x-amz-decoded-content-length", "content-length"]
        .iter()
        .find_map(|h| headers.get(*h)?.to_str().ok()?.parse().ok())
}

/// Operations that upload a body, whose whole duration is the upload latency.
const UPLOADS: [&str; 4] = [
    "PutObject",
    "UploadPart",
    "PostObject",
    "POST /v1/buckets/{bucket_id}/files",
];

fn record_metrics(
    api: &'static str,
    operation: Option<&str>,
    status: u16,
    elapsed: std::time::Duration,
    request_bytes: Option<u64>,
    response: &http::HeaderMap,
) {
    use crate::obs::metrics::{ApiLabel, METRICS, UploadLabels};
    let op = operation.unwrap_or(match api {
        "s3" => "unauthenticated",
        "console" => "console",
        _ => "unmatched",
    });
    crate::obs::metrics::observe_request(api, op, status, elapsed);
    if let Some(n) = request_bytes {
        METRICS.request_bytes.get_or_create(&ApiLabel { api }).inc_by(n);
    }
    if let Some(n) = declared_body(response) {
        METRICS.response_bytes.get_or_create(&ApiLabel { api }).inc_by(n);
    }
    if UPLOADS.contains(&op) && status < 300 {
        let size_class = if request_bytes.is_some_and(|n| n > 10 * 1024 * 1024) {
            "gt_10mb"
        } else {
            "le_10mb"
        };
        METRICS
            .upload_duration
            .get_or_create(&UploadLabels { api, size_class })
            .observe(elapsed.as_secs_f64());
    }
}
