//! Bucket CORS: rules stored through the S3 API and applied to preflight and actual
//! requests, as S3 does.

use aws_sdk_s3::types::{CorsConfiguration, CorsRule};

use crate::common::{Backend, TestServer, code_status, unique, xml_code};

async fn preflight(srv: &TestServer, bucket: &str, origin: &str, method: &str, headers: &str) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, format!("{}/{bucket}/some/key", srv.url()))
        .header("origin", origin)
        .header("access-control-request-method", method);
    if !headers.is_empty() {
        req = req.header("access-control-request-headers", headers);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn cors_rules_are_stored_and_applied_to_preflight_and_actual_requests() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let b = unique("cors");
    s3.create_bucket().bucket(&b).send().await.unwrap();

    // No rules yet: GetBucketCors is NoSuchCORSConfiguration, preflights are refused.
    let res = s3.get_bucket_cors().bucket(&b).send().await;
    assert_eq!(code_status(res), ("NoSuchCORSConfiguration".into(), 404));
    let resp = preflight(&srv, &b, "http://app.example", "PUT", "").await;
    assert_eq!(resp.status().as_u16(), 403);
    assert_eq!(xml_code(&resp.text().await.unwrap()), "AccessForbidden");

    let rules = CorsConfiguration::builder()
        .cors_rules(
            CorsRule::builder()
                .id("uploads")
                .allowed_origins("http://app.example")
                .allowed_origins("http://*.example.org")
                .allowed_methods("PUT")
                .allowed_methods("GET")
                .allowed_headers("content-type")
                .allowed_headers("x-amz-*")
                .expose_headers("ETag")
                .max_age_seconds(600)
                .build()
                .unwrap(),
        )
        .cors_rules(
            CorsRule::builder()
                .allowed_origins("*")
                .allowed_methods("GET")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    s3.put_bucket_cors()
        .bucket(&b)
        .cors_configuration(rules)
        .send()
        .await
        .unwrap();
    let got = s3.get_bucket_cors().bucket(&b).send().await.unwrap();
    let first = &got.cors_rules()[0];
    assert_eq!(first.id(), Some("uploads"));
    assert_eq!(first.allowed_origins(), ["http://app.example", "http://*.example.org"]);
    assert_eq!(first.allowed_methods(), ["PUT", "GET"]);
    assert_eq!(first.expose_headers(), ["ETag"]);
    assert_eq!(first.max_age_seconds(), Some(600));
    assert_eq!(got.cors_rules().len(), 2);

    // An allowed preflight, with wildcard origin and headers.
    let resp = preflight(&srv, &b, "http://files.example.org", "PUT", "Content-Type, X-Amz-Date").await;
    assert_eq!(resp.status().as_u16(), 200);
    let h = resp.headers();
    assert_eq!(h["access-control-allow-origin"], "http://files.example.org");
    assert_eq!(h["access-control-allow-methods"], "PUT, GET");
    assert_eq!(h["access-control-allow-headers"], "Content-Type, X-Amz-Date");
    assert_eq!(h["access-control-expose-headers"], "ETag");
    assert_eq!(h["access-control-max-age"], "600");
    // A header not allowed, a method not allowed, an origin not allowed: refused.
    for (origin, method, headers) in [
        ("http://app.example", "PUT", "x-custom"),
        ("http://app.example", "DELETE", ""),
        ("http://evil.example", "PUT", ""),
    ] {
        let resp = preflight(&srv, &b, origin, method, headers).await;
        assert_eq!(resp.status().as_u16(), 403, "{origin} {method} {headers}");
    }
    // The open GET rule answers any origin with `*`.
    let resp = preflight(&srv, &b, "http://anyone.example", "GET", "").await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");

    // Actual requests carry the headers of the rule that admits them.
    s3.put_object()
        .bucket(&b)
        .key("k")
        .body(b"cors body".to_vec().into())
        .send()
        .await
        .unwrap();
    let cfg = aws_sdk_s3::presigning::PresigningConfig::expires_in(std::time::Duration::from_secs(60)).unwrap();
    let url = s3.get_object().bucket(&b).key("k").presigned(cfg).await.unwrap();
    let resp = reqwest::Client::new()
        .get(url.uri())
        .header("origin", "http://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["access-control-allow-origin"], "http://app.example");
    assert_eq!(resp.headers()["access-control-expose-headers"], "ETag");
    assert!(resp.headers()["vary"].to_str().unwrap().contains("Origin"));
    let resp = reqwest::Client::new().get(url.uri()).send().await.unwrap();
    assert!(!resp.headers().contains_key("access-control-allow-origin"));

    // Bad rules are refused; another user can neither read nor change them.
    let bad = CorsConfiguration::builder()
        .cors_rules(
            CorsRule::builder()
                .allowed_origins("http://a.example")
                .allowed_methods("PATCH")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let res = s3.put_bucket_cors().bucket(&b).cors_configuration(bad).send().await;
    assert_eq!(code_status(res).1, 400);
    let other = srv.client(&srv.user().await);
    let res = other.get_bucket_cors().bucket(&b).send().await;
    assert_eq!(code_status(res), ("AccessDenied".into(), 403));
    let res = other.delete_bucket_cors().bucket(&b).send().await;
    assert_eq!(code_status(res), ("AccessDenied".into(), 403));

    // Deleted: gone, and preflights are refused again.
    s3.delete_bucket_cors().bucket(&b).send().await.unwrap();
    let res = s3.get_bucket_cors().bucket(&b).send().await;
    assert_eq!(code_status(res), ("NoSuchCORSConfiguration".into(), 404));
    let resp = preflight(&srv, &b, "http://app.example", "PUT", "").await;
    assert_eq!(resp.status().as_u16(), 403);
}
