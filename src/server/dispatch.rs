//! One request: routed to the JSON API or to S3, then logged and measured.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::body::Body;
use http::{HeaderValue, Request, Response, StatusCode};
use hyper::body::Incoming;
use s3s::service::S3Service;
use tower::ServiceExt as _;
use tracing::Instrument as _;
use uuid::Uuid;

use super::body::{GuardedBody, StallingBody};
use super::conn::RequestGuard;
use crate::app::AppState;

/// A request body as the server hands it on.
type RequestBody = StallingBody<Incoming>;

/// Routes a request to the JSON API or to S3.
#[derive(Clone)]
pub(super) struct Dispatch {
    state: AppState,
    s3: S3Service,
    api: axum::Router,
    hosts: Option<crate::s3::host::BucketHosts>,
}

impl Dispatch {
    /// Builds both edges once.
    pub(super) fn new(state: &AppState) -> Self {
        Self {
            state: state.clone(),
            s3: crate::s3::service(state),
            api: crate::api::router(state.clone()),
            hosts: state.config.s3_domain.as_deref().map(crate::s3::host::BucketHosts::new),
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
        self.host_bucket(req).is_none()
    }

    /// The bucket a virtual-hosted style Host names.
    fn host_bucket<'a>(&self, req: &'a Request<RequestBody>) -> Option<&'a str> {
        let host = req
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| req.uri().host())
            .unwrap_or("");
        self.hosts.as_ref()?.bucket_of(host)
    }

    /// The bucket and key an S3 request names, virtual-hosted or path style.
    fn s3_target(&self, req: &Request<RequestBody>) -> Option<(String, Option<String>)> {
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
        let path = req.uri().path().strip_prefix('/').unwrap_or_default();
        if let Some(bucket) = self.host_bucket(req) {
            return Some((bucket.to_owned(), (!path.is_empty()).then(|| decode(path))));
        }
        let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
        (!bucket.is_empty()).then(|| (decode(bucket), (!key.is_empty()).then(|| decode(key))))
    }

    /// The S3 side: bucket CORS around s3s, and the audit of presigned requests.
    async fn handle_s3(&self, client: IpAddr, req: Request<RequestBody>) -> Response<Body> {
        let target = self.s3_target(&req);
        let method = req.method().clone();
        if let Some((bucket, _)) = &target
            && crate::s3::cors::is_preflight(&method, req.headers())
        {
            return crate::s3::cors::preflight(&self.state, bucket, req.headers()).await;
        }
        let header =
            |name: http::header::HeaderName| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let origin = header(http::header::ORIGIN);
        let presigned = crate::presign::Presigned::from_query(req.uri().query()).map(|p| {
            let len = header(http::header::CONTENT_LENGTH).and_then(|v| v.parse().ok());
            crate::presign::audit::PresignedUse::start(
                p,
                &method,
                target.clone(),
                client.to_string(),
                header(http::header::USER_AGENT),
                len,
                req.extensions()
                    .get::<crate::presign::audit::UserSlot>()
                    .cloned()
                    .unwrap_or_default(),
            )
        });
        let mut resp = match self.s3.call(req.map(s3s::Body::http_body)).await {
            Ok(r) => {
                if r.status().is_client_error()
                    && let Some(body) = r.body().bytes()
                {
                    record_s3_refusal(&body);
                }
                r.map(Body::new)
            }
            Err(e) => {
                tracing::error!(error = ?e, "s3 service failed");
                let mut r = Response::new(Body::empty());
                *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                r
            }
        };
        if let (Some(origin), Some((bucket, _))) = (&origin, &target) {
            crate::s3::cors::decorate(&self.state, bucket, origin, &method, &mut resp).await;
        }
        if let Some(used) = presigned {
            // A revocable link must be asked again, not served from a browser cache.
            if used.is_link() && !resp.headers().contains_key(http::header::CACHE_CONTROL) {
                resp.headers_mut().insert(
                    http::header::CACHE_CONTROL,
                    HeaderValue::from_static("private, no-cache"),
                );
            }
            let len = resp
                .headers()
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok());
            self.state.audit.record(used.finish(resp.status().as_u16(), len));
        }
        resp
    }

    /// Serves one request; `guard` ends it on its connection when the response body is done.
    pub(super) async fn handle(
        self,
        peer: SocketAddr,
        mut req: Request<RequestBody>,
        guard: RequestGuard,
    ) -> Result<Response<Body>, Infallible> {
        let client = super::client::client_ip(&self.state.config.trusted_proxies, peer.ip(), req.headers());
        req.extensions_mut().insert(crate::api::extract::ClientAddr(client));
        let started = Instant::now();
        let request_id = req
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 128 && v.chars().all(|c| c.is_ascii_graphic()))
            .map_or_else(|| Uuid::new_v4().simple().to_string(), str::to_owned);
        let api = if self.is_api(&req) { "json" } else { "s3" };
        let operation = crate::obs::metrics::Operation::default();
        req.extensions_mut().insert(operation.clone());
        let user = crate::presign::audit::UserSlot::default();
        req.extensions_mut().insert(user.clone());
        let _in_flight = InFlight::start(api);
        let request_bytes = declared_body(req.headers());
        let bucket = if api == "s3" {
            self.s3_target(&req).map(|(b, _)| b)
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
            let mut resp = if api == "json" {
                match self.api.oneshot(req.map(Body::new)).await {
                    Ok(r) => r,
                    Err(never) => match never {},
                }
            } else {
                self.handle_s3(client, req).await
            };
            super::content::protect(resp.headers_mut());
            if let Ok(v) = HeaderValue::from_str(&request_id) {
                if api == "s3" {
                    resp.headers_mut().insert("x-amz-request-id", v.clone());
                }
                resp.headers_mut().insert("x-request-id", v);
            }
            let status = resp.status().as_u16();
            let elapsed = started.elapsed();
            let latency_ms = elapsed.as_millis() as u64;
            record_metrics(api, &operation, status, elapsed, request_bytes, resp.headers());
            let op = operation.get().unwrap_or("-");
            let user_id = user.get().map_or_else(|| "-".to_owned(), |u| u.to_string());
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
    operation: &crate::obs::metrics::Operation,
    status: u16,
    elapsed: std::time::Duration,
    request_bytes: Option<u64>,
    response: &http::HeaderMap,
) {
    use crate::obs::metrics::{ApiLabel, METRICS, UploadLabels};
    let op = operation
        .get()
        .unwrap_or(if api == "s3" { "unauthenticated" } else { "unmatched" });
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

/// Counts S3 refusals by their error code (the body of an S3 error is a small buffer).
fn record_s3_refusal(body: &[u8]) {
    let text = String::from_utf8_lossy(body);
    let field = |tag: &str| {
        let open = format!("<{tag}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{tag}>"))? + start;
        Some(text[start..end].to_owned())
    };
    let (Some(code), message) = (field("Code"), field("Message").unwrap_or_default()) else {
        return;
    };
    match code.as_str() {
        "InvalidAccessKeyId" => crate::obs::metrics::auth("s3", "invalid_credentials", Some("invalid_access_key")),
        "SignatureDoesNotMatch" | "XAmzContentSHA256Mismatch" => {
            crate::obs::metrics::auth("s3", "failure", Some("signature_mismatch"));
        }
        "RequestTimeTooSkewed" => crate::obs::metrics::auth("s3", "failure", Some("expired")),
        "AccessDenied" if message.contains("expired") => crate::obs::metrics::auth("s3", "failure", Some("expired")),
        "AccessDenied" => {
            crate::obs::metrics::METRICS
                .auth_failures
                .get_or_create(&crate::obs::metrics::AuthFailureLabels {
                    api: "s3",
                    reason: "access_denied",
                })
                .inc();
        }
        "QuotaExceeded" => crate::obs::metrics::METRICS.quota_refused("s3", &message),
        _ => {}
    }
}
