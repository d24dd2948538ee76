//! The request log of the real binary: one line per request with its id, operation, user,
//! bucket, status, bytes and latency; and no secret, token, signature or presigned query.

use std::time::Duration;

use serde_json::Value;

use crate::common::client_for;
use crate::process::Deployment;

#[tokio::test]
async fn requests_are_logged_with_their_context_and_nothing_secret() {
    let dep = Deployment::new("logs");
    let (key, secret) = dep.user_with_key("logs@example.com").await;
    let log = dep.data.path().join("server.log");
    // The most verbose level: where a leak would show.
    let server = dep.serve_logged(&log, "debug").await;
    let s3 = client_for(&server.url(), &key, &secret);
    s3.create_bucket().bucket("logged-bucket").send().await.unwrap();
    s3.put_object()
        .bucket("logged-bucket")
        .key("a.txt")
        .body(b"twelve bytes".to_vec().into())
        .send()
        .await
        .unwrap();
    let cfg = aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(60)).unwrap();
    let url = s3
        .get_object()
        .bucket("logged-bucket")
        .key("a.txt")
        .presigned(cfg)
        .await
        .unwrap()
        .uri()
        .to_owned();
    let signature = url.split("X-Amz-Signature=").nth(1).unwrap().to_owned();
    let http = reqwest::Client::new();
    let resp = http
        .get(&url)
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["x-request-id"], "trace-me-123");
    assert_eq!(resp.headers()["x-amz-request-id"], "trace-me-123");
    let login: Value = http
        .post(format!("{}/v1/auth/login", server.url()))
        .json(&serde_json::json!({"email": "logs@example.com", "password": "process-test-pw"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap().to_owned();
    let refresh = login["refresh_token"].as_str().unwrap().to_owned();
    // A key made through the JSON API: its secret is answered once, never logged.
    let made: Value = http
        .post(format!("{}/v1/keys", server.url()))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "laptop"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_secret = made["secret_access_key"].as_str().unwrap().to_owned();
    let resp = http
        .get(format!("{}/v1/usage", server.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let generated = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(generated.len() >= 16);
    drop(server);

    let text = std::fs::read_to_string(&log).unwrap();
    for (what, secret_text) in [
        ("secret key", secret.as_str()),
        ("new secret key", new_secret.as_str()),
        ("presigned signature", signature.as_str()),
        ("access token", token.as_str()),
        ("refresh token", refresh.as_str()),
        ("password", "process-test-pw"),
        ("presigned query", "X-Amz-Signature"),
    ] {
        assert!(!text.contains(secret_text), "the log holds the {what}");
    }
    let lines: Vec<Value> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let request = |id: &str| {
        lines
            .iter()
            .find(|l| l["message"] == "request" && l["span"]["request_id"] == id)
            .map(|l| {
                // The request span's fields (id, api, method, path) with the event's own.
                let mut merged = l["span"].clone();
                for (k, v) in l.as_object().unwrap() {
                    merged[k] = v.clone();
                }
                merged
            })
            .unwrap_or_else(|| panic!("no request line for {id} in\n{text}"))
    };
    let get = request("trace-me-123");
    assert_eq!(get["api"], "s3");
    assert_eq!(get["operation"], "GetObject");
    assert_eq!(get["bucket"], "logged-bucket");
    assert_eq!(get["status"], 200);
    assert_eq!(get["bytes_out"], 12);
    assert_eq!(get["path"], "/logged-bucket/a.txt");
    assert!(get["latency_ms"].is_u64());
    assert_eq!(get["user_id"].as_str().unwrap().len(), 36);
    let usage = request(&generated);
    assert_eq!(usage["api"], "json");
    assert_eq!(usage["operation"], "GET /v1/usage");
    assert_eq!(usage["user_id"], get["user_id"]);
}
