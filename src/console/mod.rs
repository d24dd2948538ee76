//! The web console: static files under `/console/`, embedded in the binary (no build step,
//! no network request at run time). It is a third edge beside S3 and the JSON API but holds
//! no logic of its own: the pages call `/v1` like any client, with the user's bearer token.
//!
//! Every answer carries the console's own Content-Security-Policy (scripts and styles from
//! this origin only, no inline script, no framing), which the server's user-content
//! protection (`server::content`) leaves alone.

mod assets;

use axum::body::Body;
use http::header::{
    ACCEPT, ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
    ETAG, IF_NONE_MATCH, LOCATION, REFERRER_POLICY, VARY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};

/// Where the console lives.
pub const PREFIX: &str = "/console/";

/// The console's policy: its own scripts, styles and images; media and images it made
/// from downloaded bytes (`blob:`); calls to its own origin only.
pub const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; \
     media-src 'self' blob:; object-src 'self' blob:; frame-src 'self' blob:; connect-src 'self'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Whether a request (with no bucket named by the Host) is the console's: an unsigned `GET`
/// or `HEAD` of `/console` or below, or a browser opening the root ([`is_browser_root`]).
/// A signed request, or another method, stays S3's, which refuses `console` as a bucket
/// name in its own words.
pub fn claims(method: &Method, path: &str, query: Option<&str>, headers: &HeaderMap) -> bool {
    let fetch = (method == Method::GET || method == Method::HEAD) && !signed(query, headers);
    (fetch && (path == "/console" || path.starts_with(PREFIX))) || is_browser_root(method, path, query, headers)
}

/// Whether a request carries a signature (a header, or a presigned query).
fn signed(query: Option<&str>, headers: &HeaderMap) -> bool {
    headers.contains_key(http::header::AUTHORIZATION)
        || query.is_some_and(|q| {
            q.split('&').any(|p| {
                p.starts_with("X-Amz-Signature=") || p.starts_with("Signature=") || p.starts_with("X-Amz-Credential=")
            })
        })
}

/// Whether a request is a browser opening the server's root: an unsigned `GET /` with no
/// query that accepts HTML. S3 clients sign `GET /` (ListBuckets) and are never sent away.
pub fn is_browser_root(method: &Method, path: &str, query: Option<&str>, headers: &HeaderMap) -> bool {
    method == Method::GET
        && path == "/"
        && query.is_none_or(str::is_empty)
        && !headers.contains_key(http::header::AUTHORIZATION)
        && headers
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"))
}

/// `302 Found` to the console.
pub fn redirect() -> Response<Body> {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::FOUND;
    resp.headers_mut().insert(LOCATION, HeaderValue::from_static(PREFIX));
    resp
}

/// Answers a `GET` or `HEAD` the console [`claims`].
pub fn serve<B>(req: &Request<B>) -> Response<Body> {
    let path = req.uri().path();
    if path == "/console" {
        return secured(redirect());
    }
    let name = &path[PREFIX.len()..];
    let name = if name.is_empty() { "index.html" } else { name };
    let Some(asset) = assets::find(name) else {
        return secured(plain(StatusCode::NOT_FOUND, "not found"));
    };
    let headers = req.headers();
    let not_modified = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == asset.etag));
    let gzip = headers
        .get(ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(accepts_gzip);
    let mut resp = if not_modified {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let bytes = if gzip { asset.gzip.clone() } else { asset.raw.clone() };
        let len = bytes.len();
        let body = if req.method() == Method::HEAD {
            Body::empty()
        } else {
            Body::from(bytes)
        };
        let mut r = Response::new(body);
        r.headers_mut().insert(CONTENT_LENGTH, HeaderValue::from(len));
        if gzip {
            r.headers_mut()
                .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        r
    };
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    h.insert(
        ETAG,
        HeaderValue::from_str(&asset.etag).expect("a hex ETag is a header value"),
    );
    // Revalidated on every load (cheap: 304), so a new binary's files are used at once.
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    secured(resp)
}

fn accepts_gzip(accept: &str) -> bool {
    accept.split(',').any(|part| {
        let mut it = part.split(';');
        let coding = it.next().unwrap_or_default().trim();
        let refused = it.any(|p| {
            matches!(
                p.trim().replace(' ', "").as_str(),
                "q=0" | "q=0.0" | "q=0.00" | "q=0.000"
            )
        });
        coding.eq_ignore_ascii_case("gzip") && !refused
    })
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut resp = Response::new(Body::from(text));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    resp
}

/// The console's security headers, on everything it answers.
fn secured(mut resp: Response<Body>) -> Response<Body> {
    let h = resp.headers_mut();
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str, headers: &[(&str, &str)]) -> Response<Body> {
        let mut b = Request::builder().uri(path);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        serve(&b.body(()).unwrap())
    }

    #[test]
    fn the_page_and_its_files_are_served_with_the_policy() {
        let r = get("/console/", &[]);
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(r.headers()[CONTENT_SECURITY_POLICY], POLICY);
        assert!(!r.headers().contains_key(CONTENT_ENCODING));
        let r = get("/console/js/app.js", &[("accept-encoding", "gzip, br")]);
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()[CONTENT_ENCODING], "gzip");
        let etag = r.headers()[ETAG].to_str().unwrap().to_owned();
        let r = get("/console/js/app.js", &[("if-none-match", &etag)]);
        assert_eq!(r.status(), 304);
        assert_eq!(get("/console/nope.js", &[]).status(), 404);
        assert_eq!(get("/console/../Cargo.toml", &[]).status(), 404);
        assert_eq!(get("/console", &[]).headers()[LOCATION], PREFIX);
    }

    #[test]
    fn gzip_is_sent_only_when_accepted() {
        assert!(accepts_gzip("gzip"));
        assert!(accepts_gzip("br, GZIP;q=0.5"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("identity"));
    }

    #[test]
    fn the_console_claims_unsigned_reads_of_its_paths_only() {
        let none = HeaderMap::new();
        assert!(claims(&Method::GET, "/console/", None, &none));
        assert!(claims(&Method::HEAD, "/console/js/app.js", None, &none));
        assert!(claims(&Method::GET, "/console", None, &none));
        assert!(!claims(&Method::PUT, "/console", None, &none));
        assert!(!claims(&Method::GET, "/consoles/x", None, &none));
        assert!(!claims(
            &Method::GET,
            "/console/k",
            Some("X-Amz-Credential=a&X-Amz-Signature=b"),
            &none
        ));
        let signed = HeaderMap::from_iter([(
            http::header::AUTHORIZATION,
            HeaderValue::from_static("AWS4-HMAC-SHA256 x"),
        )]);
        assert!(!claims(&Method::GET, "/console/", None, &signed));
    }

    #[test]
    fn only_an_unsigned_browser_get_of_the_root_is_sent_to_the_console() {
        let html = HeaderMap::from_iter([(ACCEPT, HeaderValue::from_static("text/html,application/xhtml+xml"))]);
        assert!(is_browser_root(&Method::GET, "/", None, &html));
        assert!(!is_browser_root(&Method::GET, "/", Some("X-Amz-Signature=x"), &html));
        assert!(!is_browser_root(&Method::GET, "/b", None, &html));
        assert!(!is_browser_root(&Method::HEAD, "/", None, &html));
        assert!(!is_browser_root(&Method::GET, "/", None, &HeaderMap::new()));
        let mut signed = html.clone();
        signed.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_static("AWS4-HMAC-SHA256 x"),
        );
        assert!(!is_browser_root(&Method::GET, "/", None, &signed));
    }
}
