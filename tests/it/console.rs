//! The web console (issue #19): where it is served and with which headers, the JSON routes
//! it reads (folders, bucket usage and limits, daily history, user search, admin limits),
//! and its flows in headless Chromium (`tests/console/flows.mjs`, playwright-core and
//! axe-core at the versions `tests/console/package-lock.json` pins).

use std::process::Command;

use aws_sdk_s3::primitives::ByteStream;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::api::{Api, code};
use crate::common::{Backend, TestServer};

#[tokio::test]
async fn the_console_is_served_with_its_policy_and_s3_clients_are_not_redirected() {
    let srv = TestServer::start(Backend::Fs).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = srv.url();
    // A browser opening the root goes to the console.
    let r = http
        .get(format!("{url}/"))
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(r.headers()["location"], "/console/");
    // Anything else at the root is S3's: an unsigned ListBuckets is refused in XML.
    let r = http.get(format!("{url}/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("<Code>AccessDenied</Code>"));
    // A signed ListBuckets (an SDK, which sends no Accept: text/html anyway) still works.
    let u = srv.user().await;
    srv.client(&u).list_buckets().send().await.unwrap();

    let r = http.get(format!("{url}/console/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline") && !csp.contains("sandbox"), "{csp}");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"<script type="module" src="js/app.js">"#));
    assert!(!html.contains("<script>"), "no inline script");
    let r = http
        .get(format!("{url}/console/js/app.js"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert_eq!(r.headers()["content-type"], "text/javascript; charset=utf-8");
    let r = http.get(format!("{url}/console/missing.js")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Other methods are S3's (an unsigned request to a bucket that cannot exist).
    let r = http.post(format!("{url}/console/")).send().await.unwrap();
    assert!(r.text().await.unwrap().contains("<Error>"));

    // "console" is no bucket's name, on either side.
    let err = srv
        .client(&u)
        .create_bucket()
        .bucket("console")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.into_service_error().meta().code(), Some("InvalidBucketName"));
    let api = Api::new(&srv);
    let (_, token, _) = api.user().await;
    let (s, b) = api
        .call(Method::POST, "/buckets", Some(&token), Some(json!({"name": "console"})))
        .await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "validation_error"));

    // Objects stay sandboxed: an HTML object served by S3 still gets `sandbox`.
    let s3 = srv.client(&u);
    s3.create_bucket().bucket("pages").send().await.unwrap();
    s3.put_object()
        .bucket("pages")
        .key("x.html")
        .content_type("text/html")
        .body(ByteStream::from_static(b"<script>parent</script>"))
        .send()
        .await
        .unwrap();
    let link = s3
        .get_object()
        .bucket("pages")
        .key("x.html")
        .presigned(aws_sdk_s3::presigning::PresigningConfig::expires_in(std::time::Duration::from_secs(60)).unwrap())
        .await
        .unwrap();
    let r = http.get(link.uri()).send().await.unwrap();
    assert_eq!(r.headers()["content-security-policy"], "sandbox");
}

async fn upload(srv: &TestServer, token: &str, bucket_id: &str, key: &str, body: &'static [u8]) -> Value {
    let form = reqwest::multipart::Form::new()
        .text("key", key.to_owned())
        .part("file", reqwest::multipart::Part::bytes(body).file_name("f"));
    let r = reqwest::Client::new()
        .post(format!("{}/v1/buckets/{bucket_id}/files", srv.url()))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().await.unwrap()
}

#[tokio::test]
async fn the_routes_the_console_reads() {
    let srv = TestServer::start_with(
        Backend::Fs,
        &[
            ("GODRIVE_ADMIN_EMAIL", "console-admin@example.com"),
            ("GODRIVE_ADMIN_PASSWORD", "admin-password"),
        ],
    )
    .await;
    let api = Api::new(&srv);
    let (email, token, _) = api.user().await;
    let (_, b) = api
        .call(Method::POST, "/buckets", Some(&token), Some(json!({"name": "folders"})))
        .await;
    let id = b["id"].as_str().unwrap().to_owned();
    assert_eq!((b["used_bytes"].as_i64(), b["objects"].as_i64()), (Some(0), Some(0)));
    for key in [
        "a.txt",
        "docs/one.txt",
        "docs/two.txt",
        "docs/deep/three.txt",
        "photos/p.png",
        "z.txt",
    ] {
        upload(&srv, &token, &id, key, b"12345").await;
    }

    // Folders: common prefixes at the delimiter, paged together with files.
    let list = |q: &'static str| {
        let api = &api;
        let (token, id) = (token.clone(), id.clone());
        async move {
            let (s, b) = api
                .call(Method::GET, &format!("/buckets/{id}/files?{q}"), Some(&token), None)
                .await;
            assert_eq!(s, StatusCode::OK, "{b}");
            b
        }
    };
    let keys = |b: &Value| -> Vec<String> {
        b["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["key"].as_str().unwrap().to_owned())
            .collect()
    };
    let page = list("delimiter=/").await;
    assert_eq!(keys(&page), ["a.txt", "z.txt"]);
    assert_eq!(page["folders"], json!(["docs/", "photos/"]));
    assert!(page["next_cursor"].is_null());
    let page = list("delimiter=/&prefix=docs/").await;
    assert_eq!(keys(&page), ["docs/one.txt", "docs/two.txt"]);
    assert_eq!(page["folders"], json!(["docs/deep/"]));
    // Pages of two: a.txt + docs/, then photos/ + z.txt.
    let first = list("delimiter=/&limit=2").await;
    assert_eq!(
        (keys(&first), first["folders"].clone()),
        (vec!["a.txt".to_owned()], json!(["docs/"]))
    );
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let (_, second) = api
        .call(
            Method::GET,
            &format!("/buckets/{id}/files?delimiter=/&limit=2&cursor={cursor}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        (keys(&second), second["folders"].clone()),
        (vec!["z.txt".to_owned()], json!(["photos/"]))
    );
    assert!(second["next_cursor"].is_null());
    // Without a delimiter, every key (and no folders), as before.
    let all = list("limit=1000").await;
    assert_eq!(keys(&all).len(), 6);
    assert_eq!(all["folders"], json!([]));

    // Buckets show their usage and limits.
    let (s, b) = api
        .call(
            Method::PUT,
            &format!("/buckets/{id}/quota"),
            Some(&token),
            Some(json!({"max_bytes": 1000, "max_objects": null})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, b) = api.call(Method::GET, "/buckets", Some(&token), None).await;
    let shown = &b["items"][0];
    assert_eq!(
        (
            shown["used_bytes"].as_i64(),
            shown["objects"].as_i64(),
            shown["max_bytes"].as_i64()
        ),
        (Some(30), Some(6), Some(1000))
    );
    assert!(shown["max_objects"].is_null());

    // My own daily history: 30 days by default, today's numbers live.
    let (s, h) = api.call(Method::GET, "/usage/history", Some(&token), None).await;
    assert_eq!(s, StatusCode::OK, "{h}");
    let days = h["days"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    let today = days.last().unwrap();
    assert_eq!(
        (
            today["used_bytes"].as_i64(),
            today["objects"].as_i64(),
            today["final"].as_bool()
        ),
        (Some(30), Some(6), Some(false))
    );
    let (s, b) = api
        .call(
            Method::GET,
            "/usage/history?from=2026-02-01&to=2025-01-01",
            Some(&token),
            None,
        )
        .await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "validation_error"));
    let (s, _) = api.call(Method::GET, "/usage/history", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Admins: find users by part of their email, see quota and use, list and limit their buckets.
    let (_, b) = api.login("console-admin@example.com", "admin-password").await;
    let admin = b["access_token"].as_str().unwrap().to_owned();
    let needle = email.split('@').next().unwrap().to_uppercase();
    let (s, b) = api
        .call(Method::GET, &format!("/admin/users?email={needle}"), Some(&admin), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let found = b["items"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{b}");
    assert_eq!(
        (found[0]["email"].as_str(), found[0]["used_bytes"].as_i64()),
        (Some(email.as_str()), Some(30))
    );
    assert!(found[0]["quota_bytes"].is_null());
    let user_id = found[0]["id"].as_str().unwrap().to_owned();
    let (_, b) = api
        .call(Method::GET, "/admin/users?email=nobody-has-this", Some(&admin), None)
        .await;
    assert_eq!(b["items"], json!([]));
    let (s, b) = api
        .call(
            Method::GET,
            &format!("/admin/users/{user_id}/buckets"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["items"][0]["name"], "folders");
    let (s, b) = api
        .call(
            Method::PUT,
            &format!("/admin/buckets/{id}/quota"),
            Some(&admin),
            Some(json!({"max_bytes": null, "max_objects": 7})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!((b["max_objects"].as_i64(), b["objects"].as_i64()), (Some(7), Some(6)));
    let (_, b) = api
        .call(Method::GET, &format!("/buckets/{id}"), Some(&token), None)
        .await;
    assert_eq!(b["max_objects"].as_i64(), Some(7));
    // ...and the owner is held to it.
    upload(&srv, &token, &id, "seventh.txt", b"x").await;
    let form = reqwest::multipart::Form::new()
        .text("key", "eighth.txt")
        .part("file", reqwest::multipart::Part::bytes(&b"x"[..]).file_name("f"));
    let r = reqwest::Client::new()
        .post(format!("{}/v1/buckets/{id}/files", srv.url()))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let b: Value = r.json().await.unwrap();
    assert_eq!(code(&b), "quota_exceeded");
    // Not for users, and nothing for unknown ids.
    for (method, path) in [
        (Method::GET, format!("/admin/users/{user_id}/buckets")),
        (Method::PUT, format!("/admin/buckets/{id}/quota")),
    ] {
        let (s, b) = api
            .call(
                method,
                &path,
                Some(&token),
                Some(json!({"max_bytes": null, "max_objects": null})),
            )
            .await;
        assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "forbidden"));
    }
    let nil = uuid::Uuid::nil();
    let (s, _) = api
        .call(Method::GET, &format!("/admin/users/{nil}/buckets"), Some(&admin), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = api
        .call(
            Method::PUT,
            &format!("/admin/buckets/{nil}/quota"),
            Some(&admin),
            Some(json!({"max_bytes": 1, "max_objects": null})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// The flows of issue #19 in headless Chromium. Screenshots go to `$GODRIVE_CONSOLE_SHOTS`
/// when it is set (`make console-shots` writes docs/console/); `$GODRIVE_CONSOLE_MANY` files
/// are seeded for the listing measurement (1,000; `make console-bench` uses 10,000).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_flows_pass_in_headless_chromium() {
    let access_ttl = "20";
    let srv = TestServer::start_with(
        Backend::Fs,
        &[
            ("GODRIVE_ADMIN_EMAIL", "console-root@example.com"),
            ("GODRIVE_ADMIN_PASSWORD", "admin-password"),
            ("GODRIVE_AUTH_ACCESS_TOKEN_TTL", "20s"),
        ],
    )
    .await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/console");
    let mut cmd = Command::new("node");
    cmd.arg(format!("{dir}/flows.mjs"))
        .env("GODRIVE_URL", srv.url())
        .env("GODRIVE_ADMIN_EMAIL", "console-root@example.com")
        .env("GODRIVE_ADMIN_PASSWORD", "admin-password")
        .env("ACCESS_TTL_SECS", access_ttl)
        .env("CHROMIUM", crate::browser::chromium())
        .env("ASSETS", concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/assets"));
    if let Some(shots) = std::env::var_os("GODRIVE_CONSOLE_SHOTS") {
        cmd.env("SHOTS", shots);
    }
    if let Some(many) = std::env::var_os("GODRIVE_CONSOLE_MANY") {
        cmd.env("MANY", many);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Shown with --nocapture: each step, the axe summary of each page, the measurements.
    println!("{stdout}");
    assert!(out.status.success(), "console flows failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("console flows: OK"), "{stdout}");
}
