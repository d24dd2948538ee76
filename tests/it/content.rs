//! User content is never active content on GoDrive's origin: every object response says
//! `nosniff`, documents and scripts are sandboxed (`Content-Security-Policy: sandbox`),
//! media and PDF are left alone, and an object without a type is `application/octet-stream`.
//! On every path that serves bytes: S3 GET and HEAD, presigned GET (with a
//! `response-content-type` override), and the JSON `/content` route.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sigv4::http_request::SignableBody;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

use crate::common::{Backend, TestServer, sign_request, unique};

/// `(content-type, nosniff, csp)` of a response.
fn safety(h: &reqwest::header::HeaderMap) -> (Option<String>, Option<String>, Option<String>) {
    let get = |n: &str| h.get(n).map(|v| v.to_str().unwrap().to_owned());
    (
        get("content-type"),
        get("x-content-type-options"),
        get("content-security-policy"),
    )
}

#[tokio::test]
async fn object_responses_are_inert_on_every_path() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let bucket = unique("inert");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let active = [
        ("page.html", "text/html; charset=utf-8"),
        ("page.xhtml", "application/xhtml+xml"),
        ("logo.svg", "image/svg+xml"),
        ("feed.xml", "application/xml"),
        ("app.js", "text/javascript"),
    ];
    let passive = [
        ("photo.png", "image/png"),
        ("clip.mp4", "video/mp4"),
        ("song.mp3", "audio/mpeg"),
        ("doc.pdf", "application/pdf"),
        ("notes.txt", "text/plain"),
    ];
    for (key, ctype) in active.iter().chain(&passive) {
        s3.put_object()
            .bucket(&bucket)
            .key(*key)
            .content_type(*ctype)
            .body(ByteStream::from_static(b"<html><script>alert(1)</script></html>"))
            .send()
            .await
            .unwrap();
    }
    let http = reqwest::Client::new();
    let presigned = |key: &'static str, override_type: Option<&'static str>| {
        let s3 = s3.clone();
        let bucket = bucket.clone();
        async move {
            let cfg = PresigningConfig::expires_in(Duration::from_secs(300)).unwrap();
            let mut req = s3.get_object().bucket(&bucket).key(key);
            if let Some(t) = override_type {
                req = req.response_content_type(t);
            }
            req.presigned(cfg).await.unwrap().uri().to_owned()
        }
    };
    for (key, ctype) in active {
        for method in ["GET", "HEAD"] {
            let url = presigned(key, None).await;
            let url = if method == "HEAD" {
                let cfg = PresigningConfig::expires_in(Duration::from_secs(300)).unwrap();
                s3.head_object()
                    .bucket(&bucket)
                    .key(key)
                    .presigned(cfg)
                    .await
                    .unwrap()
                    .uri()
                    .to_owned()
            } else {
                url
            };
            let resp = http.request(method.parse().unwrap(), &url).send().await.unwrap();
            assert_eq!(resp.status(), 200, "{method} {key}");
            let (t, nosniff, csp) = safety(resp.headers());
            assert_eq!(t.as_deref(), Some(ctype), "{method} {key}");
            assert_eq!(nosniff.as_deref(), Some("nosniff"), "{method} {key}");
            assert_eq!(csp.as_deref(), Some("sandbox"), "{method} {key}");
        }
        // The SDK's own signed GET sees the same.
        let out = s3.get_object().bucket(&bucket).key(key).send().await.unwrap();
        assert_eq!(out.content_type(), Some(ctype));
    }
    for (key, ctype) in passive {
        let resp = http.get(presigned(key, None).await).send().await.unwrap();
        let (t, nosniff, csp) = safety(resp.headers());
        assert_eq!(t.as_deref(), Some(ctype), "{key}");
        assert_eq!(nosniff.as_deref(), Some("nosniff"), "{key}");
        assert_eq!(csp, None, "{key} must keep working in the browser");
    }
    // A presigned URL that asks for text/html gets the sandbox with it.
    let resp = http
        .get(presigned("photo.png", Some("text/html")).await)
        .send()
        .await
        .unwrap();
    assert_eq!(safety(resp.headers()).2.as_deref(), Some("sandbox"));

    // An object stored without a type (no Content-Type header on the PUT at all).
    let url = format!("{}/{bucket}/untyped", srv.url());
    let signed = sign_request("PUT", &url, &u, &[], SignableBody::Bytes(b"<html>"));
    let mut req = http.put(&url).body(b"<html>".to_vec());
    for (k, v) in signed {
        if k != "host" {
            req = req.header(k, v);
        }
    }
    assert_eq!(req.send().await.unwrap().status(), 200);
    let resp = http.get(presigned("untyped", None).await).send().await.unwrap();
    let (t, nosniff, _) = safety(resp.headers());
    assert_eq!(t.as_deref(), Some("application/octet-stream"));
    assert_eq!(nosniff.as_deref(), Some("nosniff"));

    // The JSON API's /content.
    let (http, token, bucket_url) = crate::files::session(&srv).await;
    let token = token.as_str();
    let files = format!("{bucket_url}/files");
    for (name, ctype, sandboxed) in [("x.svg", "image/svg+xml", true), ("x.png", "image/png", false)] {
        let form = Form::new().part(
            "file",
            Part::bytes(b"<svg/>".to_vec()).file_name(name).mime_str(ctype).unwrap(),
        );
        let file: Value = http
            .post(&files)
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let resp = http
            .get(format!("{files}/{}/content", file["id"].as_str().unwrap()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let (t, nosniff, csp) = safety(resp.headers());
        assert_eq!(t.as_deref(), Some(ctype));
        assert_eq!(nosniff.as_deref(), Some("nosniff"));
        assert_eq!(csp.is_some(), sandboxed, "{name}");
    }
}
