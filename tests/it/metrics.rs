//! `/metrics` after real S3 and JSON traffic, and every metric the dashboards and alert
//! rules use is exported.

use std::collections::{BTreeSet, HashMap};

use crate::common::{Backend, TestServer, code_status, unique};

/// Samples of an OpenMetrics text: `name{labels}` -> value.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// Every sample name the exposition can hold, from its `# TYPE` lines.
fn exported_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let Some((name, kind)) = rest.split_once(' ') else {
            continue;
        };
        match kind {
            "counter" => {
                names.insert(format!("{name}_total"));
            }
            "histogram" => {
                // The bare name, as text refers to the histogram.
                for suffix in ["", "_bucket", "_sum", "_count"] {
                    names.insert(format!("{name}{suffix}"));
                }
            }
            _ => {
                names.insert(name.to_owned());
            }
        }
    }
    names
}

/// The sum of the samples of `name` whose labels include every one of `labels`.
fn total(s: &HashMap<String, f64>, name: &str, labels: &[&str]) -> f64 {
    s.iter()
        .filter(|(k, _)| {
            let (n, rest) = k.split_once('{').unwrap_or((k.as_str(), ""));
            n == name && labels.iter().all(|l| rest.contains(l))
        })
        .map(|(_, v)| v)
        .sum()
}

async fn scrape(srv: &TestServer) -> String {
    let resp = reqwest::get(format!("http://{}/metrics", srv.metrics_addr))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    resp.text().await.unwrap()
}

#[tokio::test]
async fn metrics_move_with_traffic_and_cover_the_dashboards_and_alerts() {
    let srv = TestServer::start(Backend::S3).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let before = samples(&scrape(&srv).await);

    let b = unique("metrics");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    for i in 0..3 {
        s3.put_object()
            .bucket(&b)
            .key(format!("k{i}"))
            .body(vec![1u8; 1000].into())
            .send()
            .await
            .unwrap();
    }
    let got = s3.get_object().bucket(&b).key("k0").send().await.unwrap();
    got.body.collect().await.unwrap();
    // Refusals: an unknown key, a wrong secret, another user's bucket, a quota.
    let ghost = crate::common::client_for(&srv.url(), "GDNOSUCHKEY000000000", "nope");
    let res = ghost.list_buckets().send().await;
    assert_eq!(code_status(res).0, "InvalidAccessKeyId");
    let wrong = crate::common::client_for(&srv.url(), &u.access_key, "wrong-secret");
    let res = wrong.list_buckets().send().await;
    assert_eq!(code_status(res).0, "SignatureDoesNotMatch");
    let other = srv.client(&srv.user().await);
    let res = other.head_bucket().bucket(&b).send().await;
    assert_eq!(code_status(res).1, 403);
    sqlx::query("update users set quota_bytes = 3000 where id = $1")
        .bind(u.id)
        .execute(&srv.state.db)
        .await
        .unwrap();
    let res = s3
        .put_object()
        .bucket(&b)
        .key("over")
        .body(vec![1u8; 10].into())
        .send()
        .await;
    assert_eq!(code_status(res).0, "QuotaExceeded");
    // JSON: a wrong password, a bad token, an authenticated read.
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{}/v1/auth/login", srv.url()))
        .json(&serde_json::json!({"email": "nobody@example.com", "password": "wrong-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let resp = http
        .get(format!("{}/v1/usage", srv.url()))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let token = srv.state.tokens.access_token(u.id, "m@example.com", false);
    let resp = http
        .get(format!("{}/v1/usage", srv.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);

    let text = scrape(&srv).await;
    let after = samples(&text);
    // Other tests run in this process too: every check is "moved by at least".
    let moved = |name: &str, labels: &[&str]| total(&after, name, labels) - total(&before, name, labels);
    let put = ["api=\"s3\"", "operation=\"PutObject\""];
    assert!(moved("godrive_http_requests_total", &[put[0], put[1], "status_class=\"2xx\""]) >= 3.0);
    assert!(moved("godrive_http_requests_total", &[put[0], put[1], "status_class=\"4xx\""]) >= 1.0);
    assert!(moved("godrive_http_request_duration_seconds_count", &put) >= 4.0);
    assert!(
        moved(
            "godrive_upload_duration_seconds_count",
            &["api=\"s3\"", "size_class=\"le_10mb\""]
        ) >= 3.0
    );
    assert!(moved("godrive_http_request_bytes_total", &["api=\"s3\""]) >= 3000.0);
    assert!(moved("godrive_http_response_bytes_total", &["api=\"s3\""]) >= 1000.0);
    let get = ["api=\"s3\"", "operation=\"GetObject\"", "status_class=\"2xx\""];
    assert!(moved("godrive_http_requests_total", &get) >= 1.0);
    let json = ["api=\"json\"", "operation=\"GET /v1/usage\"", "status_class=\"2xx\""];
    assert!(moved("godrive_http_requests_total", &json) >= 1.0);
    for (labels, at_least) in [
        (vec!["api=\"s3\"", "reason=\"invalid_access_key\""], 1.0),
        (vec!["api=\"s3\"", "reason=\"signature_mismatch\""], 1.0),
        (vec!["api=\"s3\"", "reason=\"access_denied\""], 1.0),
        (vec!["api=\"json\"", "reason=\"invalid_credentials\""], 1.0),
        (vec!["api=\"json\"", "reason=\"invalid_token\""], 1.0),
    ] {
        assert!(moved("godrive_auth_failures_total", &labels) >= at_least, "{labels:?}");
    }
    assert!(moved("godrive_auth_attempts_total", &["api=\"s3\"", "result=\"success\""]) >= 5.0);
    assert!(moved("godrive_auth_attempts_total", &["api=\"json\"", "result=\"success\""]) >= 1.0);
    assert!(moved("godrive_quota_refusals_total", &["api=\"s3\"", "limit=\"user\""]) >= 1.0);
    assert!(
        moved(
            "godrive_backend_operation_duration_seconds_count",
            &["backend=\"s3\"", "operation=\"put\""]
        ) >= 3.0
    );
    assert!(
        moved(
            "godrive_backend_operation_duration_seconds_count",
            &["backend=\"s3\"", "operation=\"get\""]
        ) >= 1.0
    );
    // Gauges read at scrape time.
    assert_eq!(total(&after, "godrive_backend_up", &[]), 1.0);
    assert_eq!(total(&after, "godrive_database_up", &[]), 1.0);
    assert!(total(&after, "godrive_db_pool_max_connections", &[]) >= 1.0);
    assert!(total(&after, "godrive_storage_used_bytes_total", &[]) >= 3000.0);
    assert_eq!(total(&after, "godrive_users_over_quota", &[]), 0.0);
    assert!(text.contains("godrive_build_info{version=\""), "{text}");
    // A user's series is labelled by email, and a quota ratio is exported.
    assert!(text.contains("godrive_user_storage_used_bytes{user=\""));
    assert!(text.contains("godrive_user_quota_used_ratio{user=\""));
    // Nothing secret in the exposition.
    assert!(!text.contains(&u.secret) && !text.contains(&u.access_key));

    // After that traffic, every metric the dashboards and alert rules use is exported.
    every_metric_the_dashboards_and_alerts_use_is_exported(&exported_names(&text));
}

/// Every `godrive_*` name in the alert rules, recording rules and dashboards is exported.
fn every_metric_the_dashboards_and_alerts_use_is_exported(exported: &BTreeSet<String>) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("monitoring");
    let mut files = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if matches!(path.extension().and_then(|e| e.to_str()), Some("yml" | "yaml" | "json")) {
                files.push(path);
            }
        }
    }
    // Names made by recording rules are not exported by GoDrive; collect them first.
    let mut recorded = BTreeSet::new();
    let mut used = BTreeSet::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for line in text.lines() {
            if let Some(name) = line
                .trim()
                .strip_prefix("- record:")
                .or_else(|| line.trim().strip_prefix("record:"))
            {
                recorded.insert(name.trim().trim_matches('"').to_owned());
            }
        }
        let bytes = text.as_bytes();
        let mut i = 0;
        while let Some(at) = text[i..].find("godrive_") {
            let start = i + at;
            let boundary = start == 0
                || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_' || bytes[start - 1] == b':');
            let end = text[start..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(text.len(), |e| start + e);
            if boundary {
                used.insert((text[start..end].to_owned(), f.display().to_string()));
            }
            i = end;
        }
    }
    let used: BTreeSet<(String, String)> = used.into_iter().filter(|(n, _)| !recorded.contains(n)).collect();
    assert!(used.len() >= 10, "too few metric names found in monitoring/: {used:?}");
    let missing: Vec<&(String, String)> = used.iter().filter(|(n, _)| !exported.contains(n)).collect();
    assert!(
        missing.is_empty(),
        "used but not exported: {missing:?}\nexported: {exported:?}"
    );
}
