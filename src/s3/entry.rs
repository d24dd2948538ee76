//! The S3 edge as the server calls it: the bucket and key a request names (path or
//! virtual-hosted style), bucket CORS around the s3s service, the audit of presigned
//! requests, and the count of refusals that s3s answers itself.

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use s3s::service::S3Service;

use super::host::BucketHosts;
use crate::app::AppState;
use crate::obs::context::RequestContext;

/// The S3 side of the port, built once.
#[derive(Clone)]
pub struct Edge {
    state: AppState,
    service: S3Service,
    hosts: Option<BucketHosts>,
}

impl Edge {
    /// The s3s service and, when `GODRIVE_S3_DOMAIN` is set, virtual-hosted addressing.
    pub fn new(state: &AppState) -> Self {
        Self {
            state: state.clone(),
            service: super::service(state),
            hosts: state.config.s3_domain.as_deref().map(BucketHosts::new),
        }
    }

    /// The bucket a virtual-hosted style Host names.
    pub fn host_bucket<'a, B>(&self, req: &'a Request<B>) -> Option<&'a str> {
        let host = req
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| req.uri().host())
            .unwrap_or("");
        self.hosts.as_ref()?.bucket_of(host)
    }

    /// The bucket and key a request names, virtual-hosted or path style.
    pub fn target<B>(&self, req: &Request<B>) -> Option<(String, Option<String>)> {
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
        let path = req.uri().path().strip_prefix('/').unwrap_or_default();
        if let Some(bucket) = self.host_bucket(req) {
            return Some((bucket.to_owned(), (!path.is_empty()).then(|| decode(path))));
        }
        let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
        (!bucket.is_empty()).then(|| (decode(bucket), (!key.is_empty()).then(|| decode(key))))
    }

    /// Serves one S3 request; `context` is the request's, already in its extensions.
    pub async fn serve<B>(&self, context: &RequestContext, req: Request<B>) -> Response<Body>
    where
        B: http_body::Body<Data = Bytes> + Send + Sync + Unpin + 'static,
        s3s::StdError: From<B::Error>,
    {
        let target = self.target(&req);
        let method = req.method().clone();
        if let Some((bucket, _)) = &target
            && super::cors::is_preflight(&method, req.headers())
        {
            return super::cors::preflight(&self.state, bucket, req.headers()).await;
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
                header(http::header::USER_AGENT),
                len,
                context.clone(),
            )
        });
        let request_id = header(http::header::HeaderName::from_static("x-request-id"));
        let req = super::form::watch(super::length::mark(req));
        let called = match malformed_authorization(req.headers()) {
            Some(refusal) => Ok(refusal),
            None => self.service.call(req.map(s3s::Body::http_body)).await,
        };
        let mut resp = match called {
            Ok(mut r) => {
                if (r.status().is_client_error() || r.status().is_server_error())
                    && let Some(body) = r.body().bytes()
                {
                    count_auth_refusal(&body);
                    if let Some(doc) = request_id.as_deref().and_then(|id| with_request_id(&body, id)) {
                        r.headers_mut()
                            .insert(http::header::CONTENT_LENGTH, HeaderValue::from(doc.len()));
                        *r.body_mut() = s3s::Body::from(doc);
                    }
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
            super::cors::decorate(&self.state, bucket, origin, &method, &mut resp).await;
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
}

/// S3's answer to an `Authorization` header that is empty or sent more than once: 403
/// `AccessDenied` (s3s would read the first, or answer an empty one 400).
fn malformed_authorization(headers: &http::HeaderMap) -> Option<s3s::HttpResponse> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let first = values.next()?;
    if values.next().is_none() && !first.as_bytes().iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    s3s::s3_error!(
        AccessDenied,
        "The Authorization header is empty or sent more than once."
    )
    .to_http_response()
    .ok()
}

/// The XML error document s3s serialized, with the request's id as its `RequestId` (s3s
/// leaves it out), so it equals the `x-amz-request-id` header, as in S3. `None` if the body
/// is no error document or already has one.
fn with_request_id(body: &[u8], id: &str) -> Option<bytes::Bytes> {
    let text = std::str::from_utf8(body).ok()?;
    if text.contains("<RequestId>") {
        return None;
    }
    let end = text.rfind("</Error>")?;
    let id = id.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    Some(format!("{}<RequestId>{id}</RequestId>{}", &text[..end], &text[end..]).into())
}

/// Counts an authentication refusal by its S3 error code. Most of them (a signature that
/// does not match, a request too old or expired, a payload hash mismatch) are made by s3s
/// while it checks the signature, before any GoDrive code sees the request, and reach
/// GoDrive only as the error document s3s serialized; so all of them are counted here,
/// from that document's `Code`, in one place. Quota refusals are counted where
/// `s3::error` makes them.
fn count_auth_refusal(body: &[u8]) {
    let text = String::from_utf8_lossy(body);
    let field = |tag: &str| {
        let open = format!("<{tag}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{tag}>"))? + start;
        Some(text[start..end].to_owned())
    };
    let Some(code) = field("Code") else {
        return;
    };
    let reason = match code.as_str() {
        "InvalidAccessKeyId" => {
            return crate::obs::metrics::auth("s3", "invalid_credentials", Some("invalid_access_key"));
        }
        "SignatureDoesNotMatch" | "XAmzContentSHA256Mismatch" => "signature_mismatch",
        "RequestTimeTooSkewed" => "expired",
        "AccessDenied" if field("Message").is_some_and(|m| m.contains("expired")) => "expired",
        "AccessDenied" => {
            crate::obs::metrics::METRICS
                .auth_failures
                .get_or_create(&crate::obs::metrics::AuthFailureLabels {
                    api: "s3",
                    reason: "access_denied",
                })
                .inc();
            return;
        }
        _ => return,
    };
    crate::obs::metrics::auth("s3", "failure", Some(reason));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failures(reason: &str) -> f64 {
        let text = crate::obs::metrics::METRICS.encode();
        let needle = format!("godrive_auth_failures_total{{api=\"s3\",reason=\"{reason}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&needle))
            .map_or(0.0, |v| v.trim().parse().unwrap())
    }

    #[test]
    fn error_documents_carry_the_request_id() {
        let doc = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchKey</Code></Error>";
        let out = with_request_id(doc, "abc<1>").unwrap();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchKey</Code><RequestId>abc&lt;1&gt;</RequestId></Error>"
        );
        assert!(with_request_id(&out, "x").is_none());
        assert!(with_request_id(b"<ListBucketResult/>", "x").is_none());
    }

    #[test]
    fn refusals_are_counted_by_the_code_s3s_serialized() {
        let doc = |code: &str, msg: &str| {
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{msg}</Message></Error>"
            )
        };
        let before = (failures("signature_mismatch"), failures("expired"));
        count_auth_refusal(doc("SignatureDoesNotMatch", "").as_bytes());
        count_auth_refusal(doc("AccessDenied", "Request has expired").as_bytes());
        count_auth_refusal(doc("NoSuchKey", "The specified key does not exist.").as_bytes());
        assert!(failures("signature_mismatch") >= before.0 + 1.0);
        assert!(failures("expired") >= before.1 + 1.0);
    }
}
