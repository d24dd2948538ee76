//! Bucket CORS: PutBucketCors / GetBucketCors / DeleteBucketCors store rules in PostgreSQL;
//! the server applies them to preflight (OPTIONS) and actual requests on the bucket.

use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use serde::{Deserialize, Serialize};

use super::{GoDriveS3, error, owned_bucket};
use crate::app::AppState;
use crate::db;

/// One CORS rule as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// Optional rule id.
    pub id: Option<String>,
    /// Origins, each with at most one `*`.
    pub allowed_origins: Vec<String>,
    /// GET, PUT, POST, DELETE or HEAD.
    pub allowed_methods: Vec<String>,
    /// Request headers a preflight may ask for, each with at most one `*`.
    pub allowed_headers: Vec<String>,
    /// Response headers the browser may show to scripts.
    pub expose_headers: Vec<String>,
    /// How long a preflight answer may be cached.
    pub max_age_seconds: Option<i32>,
}

const METHODS: [&str; 5] = ["GET", "PUT", "POST", "DELETE", "HEAD"];

/// `pattern` with at most one `*` against `value` (case-insensitive when `fold`).
fn wildcard(pattern: &str, value: &str, fold: bool) -> bool {
    let (p, v) = if fold {
        (pattern.to_ascii_lowercase(), value.to_ascii_lowercase())
    } else {
        (pattern.to_owned(), value.to_owned())
    };
    match p.split_once('*') {
        None => p == v,
        Some((head, tail)) => v.len() >= head.len() + tail.len() && v.starts_with(head) && v.ends_with(tail),
    }
}

impl Rule {
    fn from_dto(r: CORSRule) -> S3Result<Self> {
        let rule = Self {
            id: r.id,
            allowed_origins: r.allowed_origins,
            allowed_methods: r.allowed_methods,
            allowed_headers: r.allowed_headers.unwrap_or_default(),
            expose_headers: r.expose_headers.unwrap_or_default(),
            max_age_seconds: r.max_age_seconds,
        };
        if rule.allowed_origins.is_empty() || rule.allowed_methods.is_empty() {
            return Err(s3_error!(
                MalformedXML,
                "Each CORSRule needs an AllowedOrigin and an AllowedMethod."
            ));
        }
        if let Some(m) = rule.allowed_methods.iter().find(|m| !METHODS.contains(&m.as_str())) {
            return Err(s3_error!(
                InvalidRequest,
                "Found unsupported HTTP method in CORS config. Unsupported method is {m}"
            ));
        }
        // Stored as JSON in PostgreSQL (no NUL) and sent back as header values.
        if rule
            .id
            .iter()
            .chain(&rule.allowed_origins)
            .chain(&rule.allowed_headers)
            .chain(&rule.expose_headers)
            .any(|v| crate::text::has_control(v))
        {
            return Err(s3_error!(
                InvalidArgument,
                "A CORS rule must not contain control characters."
            ));
        }
        let many_stars = |v: &String| v.matches('*').count() > 1;
        if rule.allowed_origins.iter().any(many_stars) || rule.allowed_headers.iter().any(many_stars) {
            return Err(s3_error!(
                InvalidRequest,
                "An AllowedOrigin or AllowedHeader can have at most one * wildcard."
            ));
        }
        Ok(rule)
    }

    fn to_dto(&self) -> CORSRule {
        CORSRule {
            id: self.id.clone(),
            allowed_origins: self.allowed_origins.clone(),
            allowed_methods: self.allowed_methods.clone(),
            allowed_headers: (!self.allowed_headers.is_empty()).then(|| self.allowed_headers.clone()),
            expose_headers: (!self.expose_headers.is_empty()).then(|| self.expose_headers.clone()),
            max_age_seconds: self.max_age_seconds,
        }
    }

    /// The origin pattern that admits `origin` for `method`, if any.
    fn admits(&self, origin: &str, method: &str) -> Option<&str> {
        if !self.allowed_methods.iter().any(|m| m == method) {
            return None;
        }
        self.allowed_origins
            .iter()
            .find(|o| wildcard(o, origin, false))
            .map(String::as_str)
    }

    fn allows_header(&self, name: &str) -> bool {
        self.allowed_headers.iter().any(|h| wildcard(h, name, true))
    }
}

/// The rules of a bucket: `None` if the bucket does not exist, `Some(None)` if it has none.
async fn rules_of(state: &AppState, bucket: &str) -> Result<Option<Option<Vec<Rule>>>, db::DbError> {
    // The name comes from the raw path (a preflight never reaches s3s): one that no bucket
    // can have is answered like a missing bucket, without asking PostgreSQL.
    if !crate::objects::buckets::valid_name(bucket) {
        return Ok(None);
    }
    Ok(db::buckets::cors_by_name(&state.db, bucket)
        .await?
        .map(|v| v.and_then(|j| serde_json::from_value(j).ok())))
}

fn forbidden(message: &str) -> Response<axum::body::Body> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessForbidden</Code><Message>{message}</Message></Error>"
    );
    let mut r = Response::new(axum::body::Body::from(body));
    *r.status_mut() = StatusCode::FORBIDDEN;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    r
}

fn set(h: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name, v);
    }
}

/// The headers a matching rule adds to an answer.
fn allow(h: &mut HeaderMap, rule: &Rule, pattern: &str, origin: &str) {
    // A rule open to every origin answers `*`, and then no credentials.
    if pattern == "*" {
        set(h, header::ACCESS_CONTROL_ALLOW_ORIGIN, "*");
    } else {
        set(h, header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        set(h, header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
    }
    set(
        h,
        header::ACCESS_CONTROL_ALLOW_METHODS,
        &rule.allowed_methods.join(", "),
    );
    if !rule.expose_headers.is_empty() {
        set(
            h,
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            &rule.expose_headers.join(", "),
        );
    }
    h.append(
        header::VARY,
        HeaderValue::from_static("Origin, Access-Control-Request-Headers, Access-Control-Request-Method"),
    );
}

/// Whether a request is a CORS preflight (OPTIONS with Origin and a requested method).
pub fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS
        && headers.contains_key(header::ORIGIN)
        && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// Answers a preflight for `bucket` from its rules, as S3 does.
pub async fn preflight(state: &AppState, bucket: &str, headers: &HeaderMap) -> Response<axum::body::Body> {
    let get = |n: header::HeaderName| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
    let (origin, method) = (get(header::ORIGIN), get(header::ACCESS_CONTROL_REQUEST_METHOD));
    let requested: Vec<&str> = get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    let rules = match rules_of(state, bucket).await {
        Ok(Some(Some(rules))) => rules,
        Ok(_) => return forbidden("CORSResponse: CORS is not enabled for this bucket."),
        Err(e) => {
            tracing::error!(error = %e, "reading CORS rules");
            let mut r = forbidden("CORSResponse: the CORS rules could not be read.");
            *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            return r;
        }
    };
    for rule in &rules {
        let Some(pattern) = rule.admits(origin, method) else {
            continue;
        };
        if !requested.iter().all(|h| rule.allows_header(h)) {
            continue;
        }
        let mut r = Response::new(axum::body::Body::empty());
        let h = r.headers_mut();
        allow(h, rule, pattern, origin);
        if !requested.is_empty() {
            set(h, header::ACCESS_CONTROL_ALLOW_HEADERS, &requested.join(", "));
        }
        if let Some(age) = rule.max_age_seconds {
            set(h, header::ACCESS_CONTROL_MAX_AGE, &age.to_string());
        }
        return r;
    }
    forbidden(
        "CORSResponse: This CORS request is not allowed. This is usually because the evaluation of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
    )
}

/// Adds the CORS headers of the first rule admitting `origin` and `method` to an answer.
pub async fn decorate<B>(state: &AppState, bucket: &str, origin: &str, method: &Method, resp: &mut Response<B>) {
    let rules = match rules_of(state, bucket).await {
        Ok(Some(Some(rules))) => rules,
        Ok(_) => return,
        Err(e) => return tracing::warn!(error = %e, "reading CORS rules"),
    };
    if let Some((rule, pattern)) = rules
        .iter()
        .find_map(|r| r.admits(origin, method.as_str()).map(|p| (r, p)))
    {
        allow(resp.headers_mut(), rule, pattern, origin);
    }
}

impl GoDriveS3 {
    pub(super) async fn do_put_bucket_cors(
        &self,
        req: S3Request<PutBucketCorsInput>,
    ) -> S3Result<S3Response<PutBucketCorsOutput>> {
        let bucket_id = owned_bucket(&req)?;
        let rules = req.input.cors_configuration.cors_rules;
        if rules.is_empty() || rules.len() > 100 {
            return Err(s3_error!(MalformedXML, "A CORS configuration holds 1 to 100 rules."));
        }
        let rules = rules.into_iter().map(Rule::from_dto).collect::<S3Result<Vec<_>>>()?;
        let json = serde_json::to_value(&rules).map_err(error::internal)?;
        db::buckets::set_cors(&self.state.db, bucket_id, Some(&json))
            .await
            .map_err(error::db)?;
        Ok(S3Response::new(PutBucketCorsOutput::default()))
    }

    pub(super) async fn do_get_bucket_cors(
        &self,
        req: S3Request<GetBucketCorsInput>,
    ) -> S3Result<S3Response<GetBucketCorsOutput>> {
        let bucket_id = owned_bucket(&req)?;
        let stored = db::buckets::cors(&self.state.db, bucket_id).await.map_err(error::db)?;
        let rules: Vec<Rule> = match stored {
            Some(j) => serde_json::from_value(j).map_err(error::internal)?,
            None => {
                return Err(s3_error!(
                    NoSuchCORSConfiguration,
                    "The CORS configuration does not exist"
                ));
            }
        };
        Ok(S3Response::new(GetBucketCorsOutput {
            cors_rules: Some(rules.iter().map(Rule::to_dto).collect()),
        }))
    }

    pub(super) async fn do_delete_bucket_cors(
        &self,
        req: S3Request<DeleteBucketCorsInput>,
    ) -> S3Result<S3Response<DeleteBucketCorsOutput>> {
        let bucket_id = owned_bucket(&req)?;
        db::buckets::set_cors(&self.state.db, bucket_id, None)
            .await
            .map_err(error::db)?;
        Ok(S3Response::new(DeleteBucketCorsOutput::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::wildcard;

    #[test]
    fn wildcards_match_one_star() {
        assert!(wildcard("*", "http://a.example", false));
        assert!(wildcard("http://*.example.com", "http://app.example.com", false));
        assert!(!wildcard("http://*.example.com", "http://example.org", false));
        assert!(wildcard("x-amz-*", "X-Amz-Date", true));
        assert!(!wildcard("http://a.example", "http://a.example.evil", false));
        assert!(!wildcard("ab*ba", "aba", false));
    }

    proptest::proptest! {
        /// One `*` matches any middle, and a pattern without `*` only itself.
        #[test]
        fn wildcards_match_what_they_should(a in "[a-z:/.]{0,10}", m in "[a-z:/.]{0,10}", b in "[a-z:/.]{0,10}", other in "[a-z:/.]{0,10}") {
            let pattern = format!("{a}*{b}");
            let matching = format!("{a}{m}{b}");
            proptest::prop_assert!(wildcard(&pattern, &matching, false));
            proptest::prop_assert_eq!(wildcard(&a, &other, false), a == other);
            proptest::prop_assert!(wildcard(&pattern.to_uppercase(), &matching, true));
        }
    }
}
