//! The authorization cache across `godrive serve` processes sharing one database: an
//! instance whose cache is warm sees a key deleted, a user disabled, a link revoked, a
//! bucket limit set and a bucket deleted through another instance within a second; repeated
//! GETs and HEADs are answered from the cache (`godrive_auth_cache_total`); without
//! notifications, entries still expire, and a lost listening connection is replaced.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{client_for, code_status, unique, xml_code};
use crate::process::{Deployment, Instance, credentials_in, free_port};

/// A serving instance and its `/metrics` address.
struct Served {
    instance: Instance,
    metrics: String,
}

impl Served {
    async fn start(dep: &Deployment) -> Self {
        let metrics = format!("127.0.0.1:{}", free_port());
        let instance = dep.serve_with(&[("GODRIVE_METRICS_ADDR", &metrics)], None).await;
        let served = Self { instance, metrics };
        // Until it listens for invalidations an instance bypasses its cache: wait, so what
        // follows exercises the cache.
        let deadline = Instant::now() + Duration::from_secs(10);
        while served.metric("godrive_auth_cache_listening", "").await < 1.0 {
            assert!(
                Instant::now() < deadline,
                "the instance never listened for invalidations"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        served
    }

    fn url(&self) -> String {
        self.instance.url()
    }

    /// The sum of the samples of `name` whose labels contain `labels`.
    async fn metric(&self, name: &str, labels: &str) -> f64 {
        let text = reqwest::get(format!("http://{}/metrics", self.metrics))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        samples(&text)
            .iter()
            .filter(|(k, _)| {
                let (n, rest) = k.split_once('{').unwrap_or((k.as_str(), ""));
                n == name && rest.contains(labels)
            })
            .map(|(_, v)| v)
            .sum()
    }

    /// `godrive_auth_cache_total` by `kind/result`.
    async fn cache_counts(&self) -> HashMap<String, f64> {
        let mut counts = HashMap::new();
        for kind in ["key", "bucket", "link"] {
            for result in ["hit", "miss", "bypass"] {
                let labels = format!("kind=\"{kind}\",result=\"{result}\"");
                let v = self.metric("godrive_auth_cache_total", &labels).await;
                counts.insert(format!("{kind}/{result}"), v);
            }
        }
        counts
    }
}

fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// `after - before`, per series.
fn delta(before: &HashMap<String, f64>, after: &HashMap<String, f64>, series: &str) -> f64 {
    after[series] - before[series]
}

/// Polls `seen` until it holds, for at most one second from now; fails the test if it did
/// not hold by then, and returns how long it took.
async fn within_a_second(what: &str, mut seen: impl AsyncFnMut() -> bool) -> Duration {
    let start = Instant::now();
    for tries in 1.. {
        if seen().await {
            let took = start.elapsed();
            assert!(took <= Duration::from_secs(1), "{what}: seen only after {took:?}");
            eprintln!("{what}: seen after {took:?} ({tries} tries)");
            return took;
        }
        let took = start.elapsed();
        assert!(
            took <= Duration::from_secs(1),
            "{what}: not seen within a second ({took:?})"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    unreachable!()
}

/// A JSON API call; returns the status and the body.
async fn call(base: &str, method: Method, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{base}/v1{path}"))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn login(base: &str, email: &str, password: &str) -> String {
    let resp = reqwest::Client::new()
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// GET of `url` (made for `host`) sent to the instance at `url_of_instance`, as a load
/// balancer would (the Host header is signed); the status and the S3 error code.
async fn fetch_via(url: &str, host: &str, url_of_instance: &str) -> (u16, String) {
    let resp = reqwest::Client::new()
        .get(url.replace(&format!("http://{host}"), url_of_instance))
        .header("host", host)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, xml_code(&resp.text().await.unwrap()))
}

/// `ok`, or the S3 error code of a failed SDK call.
fn code<T: std::fmt::Debug, E>(
    res: Result<T, aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::http::Response>>,
) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::fmt::Debug,
{
    match res {
        Ok(_) => "ok".into(),
        Err(e) => code_status(Err::<T, _>(e)).0,
    }
}

/// Runs `requests` on `b` and checks they went through its cache (each request looks its
/// key up twice: the second time, at least, is a hit).
async fn warm(b: &Served, what: &str, requests: impl AsyncFnOnce()) {
    let before = b.cache_counts().await;
    requests().await;
    let after = b.cache_counts().await;
    assert!(
        delta(&before, &after, "key/hit") >= 1.0 && delta(&before, &after, "key/bypass") == 0.0,
        "{what}: the instance did not answer from its cache: {before:?} -> {after:?}"
    );
}

#[tokio::test]
async fn a_warm_instance_sees_changes_made_through_another_within_a_second() {
    let dep = Deployment::new("cache");
    let email = "cache@example.com";
    let (key, secret) = dep.user_with_key(email).await;
    let (key2, secret2) = credentials_in(&dep.run(&["key", "create", "--user", email]).await);
    dep.run(&[
        "user",
        "create",
        "--email",
        "root@example.com",
        "--password",
        "admin-password",
        "--admin",
    ])
    .await;
    let (a, b) = (Served::start(&dep).await, Served::start(&dep).await);
    let invalidations = b.metric("godrive_auth_cache_invalidations_total", "").await;
    let (on_a, on_b) = (client_for(&a.url(), &key, &secret), client_for(&b.url(), &key, &secret));
    let token = login(&a.url(), email, "process-test-pw").await;
    let admin = login(&a.url(), "root@example.com", "admin-password").await;
    let bucket = unique("cache");
    on_a.create_bucket().bucket(&bucket).send().await.unwrap();
    on_a.put_object()
        .bucket(&bucket)
        .key("o")
        .body(vec![7u8; 100].into())
        .send()
        .await
        .unwrap();
    let get = |s3: &Client| {
        let (s3, bucket) = (s3.clone(), bucket.clone());
        async move { code(s3.get_object().bucket(&bucket).key("o").send().await) }
    };

    // A key deleted through A: B refuses it.
    let other_key = client_for(&b.url(), &key2, &secret2);
    warm(&b, "key", async || assert_eq!(get(&other_key).await, "ok")).await;
    let (_, keys) = call(&a.url(), Method::GET, "/keys", &token, None).await;
    let id = keys["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["access_key_id"] == key2.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        call(&a.url(), Method::DELETE, &format!("/keys/{id}"), &token, None)
            .await
            .0,
        204
    );
    within_a_second("key deleted", async || get(&other_key).await == "InvalidAccessKeyId").await;

    // A link revoked through A: B refuses it.
    let (status, link) = call(
        &a.url(),
        Method::POST,
        "/presign",
        &token,
        Some(json!({"bucket": bucket, "key": "o", "method": "GET", "expires_in": 600, "access_key_id": key})),
    )
    .await;
    assert_eq!(status, 201, "{link}");
    let url = link["url"].as_str().unwrap().to_owned();
    let host = a.url().trim_start_matches("http://").to_owned();
    let before = b.cache_counts().await;
    assert_eq!(fetch_via(&url, &host, &b.url()).await.0, 200);
    assert_eq!(fetch_via(&url, &host, &b.url()).await.0, 200);
    assert!(delta(&before, &b.cache_counts().await, "link/hit") >= 1.0);
    let id = link["id"].as_str().unwrap();
    assert_eq!(
        call(&a.url(), Method::DELETE, &format!("/presign/{id}"), &token, None)
            .await
            .0,
        204
    );
    within_a_second("link revoked", async || {
        fetch_via(&url, &host, &b.url()).await == (403, "AccessDenied".into())
    })
    .await;

    // A bucket limit set through A: a PUT that fit on B no longer does.
    // (A new key each time: 1000 bytes more, 1100 stored.)
    let put = |s3: &Client| {
        let (s3, bucket) = (s3.clone(), bucket.clone());
        async move {
            let body = vec![1u8; 1000].into();
            code(s3.put_object().bucket(&bucket).key(unique("p")).body(body).send().await)
        }
    };
    warm(&b, "bucket limit", async || assert_eq!(put(&on_b).await, "ok")).await;
    let (_, buckets) = call(&a.url(), Method::GET, "/buckets", &token, None).await;
    let items = buckets["items"].as_array().unwrap();
    let bucket_id = items.iter().find(|i| i["name"] == bucket.as_str()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let limit = json!({"max_bytes": 2000, "max_objects": null});
    let path = format!("/buckets/{bucket_id}/quota");
    assert_eq!(call(&a.url(), Method::PUT, &path, &token, Some(limit)).await.0, 200);
    within_a_second("bucket limit set", async || put(&on_b).await == "QuotaExceeded").await;

    // A bucket deleted through A: B says it does not exist (not: no such key).
    let gone = unique("gone");
    on_a.create_bucket().bucket(&gone).send().await.unwrap();
    on_a.put_object()
        .bucket(&gone)
        .key("x")
        .body(vec![1u8].into())
        .send()
        .await
        .unwrap();
    let read = |s3: &Client| {
        let (s3, gone) = (s3.clone(), gone.clone());
        async move { code(s3.get_object().bucket(&gone).key("x").send().await) }
    };
    warm(&b, "bucket", async || assert_eq!(read(&on_b).await, "ok")).await;
    on_a.delete_object().bucket(&gone).key("x").send().await.unwrap();
    on_a.delete_bucket().bucket(&gone).send().await.unwrap();
    within_a_second("bucket deleted", async || read(&on_b).await == "NoSuchBucket").await;

    // The user disabled through A: B refuses their key.
    warm(&b, "user", async || assert_eq!(get(&on_b).await, "ok")).await;
    let (_, me) = call(&a.url(), Method::GET, "/me", &token, None).await;
    let path = format!("/admin/users/{}", me["id"].as_str().unwrap());
    let disable = Some(json!({"disabled": true}));
    assert_eq!(call(&a.url(), Method::PATCH, &path, &admin, disable).await.0, 200);
    within_a_second("user disabled", async || get(&on_b).await == "InvalidAccessKeyId").await;
    // B heard of each change from PostgreSQL (it made none of them).
    let heard = b.metric("godrive_auth_cache_invalidations_total", "").await - invalidations;
    assert!(heard >= 5.0, "B received {heard} invalidations");
}

#[tokio::test]
async fn repeated_gets_and_heads_are_answered_from_the_cache() {
    let dep = Deployment::new("cachehits");
    let (key, secret) = dep.user_with_key("hits@example.com").await;
    let srv = Served::start(&dep).await;
    let s3 = client_for(&srv.url(), &key, &secret);
    let bucket = unique("hits");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    s3.put_object()
        .bucket(&bucket)
        .key("small")
        .body(vec![1u8; 4096].into())
        .send()
        .await
        .unwrap();
    s3.get_object().bucket(&bucket).key("small").send().await.unwrap();

    let before = srv.cache_counts().await;
    let start = Instant::now();
    let n = 20;
    for i in 0..n {
        if i % 2 == 0 {
            let got = s3.get_object().bucket(&bucket).key("small").send().await.unwrap();
            assert_eq!(got.body.collect().await.unwrap().into_bytes().len(), 4096);
        } else {
            s3.head_object().bucket(&bucket).key("small").send().await.unwrap();
        }
    }
    let took = start.elapsed();
    let after = srv.cache_counts().await;
    let d = |series: &str| delta(&before, &after, series);
    eprintln!("{n} GET/HEAD in {took:?}: {after:?} (before {before:?})");
    // Every request looks its key up twice (the signature, then the caller) and its bucket
    // once; PostgreSQL is asked only when an entry expired (every TTL at most).
    assert_eq!(d("key/hit") + d("key/miss"), 2.0 * f64::from(n));
    assert_eq!(d("bucket/hit") + d("bucket/miss"), f64::from(n));
    assert_eq!(d("key/bypass") + d("bucket/bypass"), 0.0);
    let expiries = 1.0 + (took.as_millis() / godrive::accounts::cache::TTL.as_millis()) as f64;
    assert!(d("key/miss") <= expiries, "{} key misses in {took:?}", d("key/miss"));
    assert!(
        d("bucket/miss") <= expiries,
        "{} bucket misses in {took:?}",
        d("bucket/miss")
    );
    assert!(d("key/hit") >= 2.0 * f64::from(n) - expiries);
}

#[tokio::test]
async fn entries_expire_without_notifications_and_a_lost_listener_is_replaced() {
    let dep = Deployment::new("cachelost");
    let (key, secret) = dep.user_with_key("lost@example.com").await;
    let pool = dep.pool().await;
    let srv = Served::start(&dep).await;
    let s3 = client_for(&srv.url(), &key, &secret);
    let bucket = unique("lost");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    s3.put_object()
        .bucket(&bucket)
        .key("o")
        .body(vec![1u8].into())
        .send()
        .await
        .unwrap();
    let read = || {
        let (s3, bucket) = (s3.clone(), bucket.clone());
        async move { code(s3.get_object().bucket(&bucket).key("o").send().await) }
    };
    let set_disabled = async |disabled: bool, notify: bool| {
        let mut tx = pool.begin().await.unwrap();
        if !notify {
            // Triggers off for this transaction: the change is notified to nobody.
            sqlx::query("set local session_replication_role = replica")
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        sqlx::query("update users set disabled = $1")
            .bind(disabled)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    };

    // Unnotified, a change is still seen once the entry expires.
    warm(&srv, "expiry", async || assert_eq!(read().await, "ok")).await;
    set_disabled(true, false).await;
    within_a_second("unnotified user disabled", async || {
        read().await == "InvalidAccessKeyId"
    })
    .await;
    set_disabled(false, true).await;
    within_a_second("user enabled", async || read().await == "ok").await;

    // The listening connection killed: the instance listens again on a new one, and what
    // is notified then reaches it.
    warm(&srv, "listener", async || assert_eq!(read().await, "ok")).await;
    let killed: i64 = sqlx::query_scalar(
        "select count(pg_terminate_backend(pid)) from pg_stat_activity
          where application_name = $1 and datname = current_database()",
    )
    .bind(godrive::db::invalidation::APPLICATION_NAME)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(killed, 1);
    let deadline = Instant::now() + Duration::from_secs(10);
    while srv.metric("godrive_auth_cache_listens_total", "").await < 2.0 {
        assert!(Instant::now() < deadline, "the instance did not listen again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    warm(&srv, "listener again", async || assert_eq!(read().await, "ok")).await;
    set_disabled(true, true).await;
    within_a_second("user disabled after reconnecting", async || {
        read().await == "InvalidAccessKeyId"
    })
    .await;
}
