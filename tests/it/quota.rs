//! Quotas are checked before bytes are accepted and never over-allocate.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{BACKENDS, Backend, TestServer, TestUser, client_for, code_status, unique};
use crate::process::Deployment;

async fn set_quota(srv: &TestServer, u: &TestUser, bytes: i64) {
    sqlx::query("update users set quota_bytes = $2 where id = $1")
        .bind(u.id)
        .bind(bytes)
        .execute(&srv.state.db)
        .await
        .unwrap();
}

async fn usage(srv: &TestServer, u: &TestUser) -> godrive::db::usage::UserUsage {
    godrive::db::usage::of_user(&srv.state.db, u.id).await.unwrap().unwrap()
}

/// Reservations are released in the background after a failure; wait for them.
async fn settled(srv: &TestServer, u: &TestUser) -> godrive::db::usage::UserUsage {
    for _ in 0..50 {
        let now = usage(srv, u).await;
        if now.reserved_bytes == 0 {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("reservations were not released: {:?}", usage(srv, u).await);
}

#[tokio::test]
async fn puts_over_quota_are_refused_and_overwrites_count_the_net_change() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let u = srv.user().await;
        set_quota(&srv, &u, 100_000).await;
        let s3 = srv.client(&u);
        let b = unique("quota");
        s3.create_bucket().bucket(&b).send().await.unwrap();
        s3.put_object()
            .bucket(&b)
            .key("a")
            .body(vec![1u8; 60_000].into())
            .send()
            .await
            .unwrap();
        let res = s3
            .put_object()
            .bucket(&b)
            .key("b")
            .body(vec![1u8; 50_000].into())
            .send()
            .await;
        let err = res.expect_err("over quota");
        let status = err.raw_response().map(|r| r.status().as_u16());
        let meta = aws_sdk_s3::error::ProvideErrorMetadata::meta(&err).clone();
        assert_eq!((meta.code(), status), (Some("QuotaExceeded"), Some(403)), "{backend:?}");
        assert!(meta.message().unwrap().contains("100000"), "{:?}", meta.message());
        // Replacing the 60 kB object with 90 kB grows usage by 30 kB: allowed.
        s3.put_object()
            .bucket(&b)
            .key("a")
            .body(vec![2u8; 90_000].into())
            .send()
            .await
            .unwrap();
        let now = settled(&srv, &u).await;
        assert_eq!((now.used_bytes, now.object_count), (90_000, 1));
        // A copy counts like an upload.
        let res = s3
            .copy_object()
            .bucket(&b)
            .key("a2")
            .copy_source(format!("{b}/a"))
            .send()
            .await;
        assert_eq!(code_status(res), ("QuotaExceeded".into(), 403));
        // Deleting frees room at once.
        s3.delete_object().bucket(&b).key("a").send().await.unwrap();
        s3.put_object()
            .bucket(&b)
            .key("c")
            .body(vec![3u8; 99_000].into())
            .send()
            .await
            .unwrap();
        let now = settled(&srv, &u).await;
        assert_eq!((now.used_bytes, now.object_count), (99_000, 1));
        srv.assert_no_orphans().await;
    }
}

#[tokio::test]
async fn an_upload_over_quota_is_refused_before_its_body_is_read() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    set_quota(&srv, &u, 1_000_000).await;
    let s3 = srv.client(&u);
    let b = unique("early");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    let path = crate::common::presigned_put_path(&srv, &s3, &b, "huge").await;
    // Announce 1 GB and wait for permission to send it: the answer is the refusal, and no
    // "100 Continue" ever comes, so not a byte of the body is read.
    let mut sock = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: 1000000000\r\nExpect: 100-continue\r\n\r\n",
        srv.addr
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), sock.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(answer.contains("QuotaExceeded"), "{answer}");
    assert_eq!(settled(&srv, &u).await.used_bytes, 0);
}

/// A client that sends its whole body without waiting for permission (no `Expect`) still
/// reads the complete refusal, with its code, though the server never reads that body.
#[tokio::test]
async fn a_refused_upload_reaches_a_client_that_keeps_sending() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    set_quota(&srv, &u, 1_000_000).await;
    let s3 = srv.client(&u);
    let b = unique("eager");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    let path = crate::common::presigned_put_path(&srv, &s3, &b, "huge").await;
    let sock = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    let (mut rx, mut tx) = sock.into_split();
    let size: usize = 64 << 20;
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {size}\r\n\r\n",
        srv.addr
    );
    let writer = tokio::spawn(async move {
        tx.write_all(head.as_bytes()).await?;
        let chunk = vec![7u8; 64 << 10];
        for _ in 0..size / chunk.len() {
            tx.write_all(&chunk).await?;
        }
        Ok::<_, std::io::Error>(())
    });
    let mut answer = Vec::new();
    let mut buf = vec![0u8; 8192];
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        while !String::from_utf8_lossy(&answer).contains("</Error>") {
            match rx.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer in 20 s");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(
        answer.contains("<Code>QuotaExceeded</Code>") && answer.contains("</Error>"),
        "{answer}"
    );
    writer.abort();
    assert_eq!(settled(&srv, &u).await.used_bytes, 0);
}

/// Uploads of a user without limits reserve nothing and commit concurrently into one
/// bucket without deadlocking on their counters (they once did: a 500 after a second, which
/// the SDK would hide by retrying, so retries are off).
#[tokio::test]
async fn unlimited_uploads_commit_concurrently() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = crate::common::without_retries(&srv.client(&u));
    let b = unique("free");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    let tasks: Vec<_> = (0..48)
        .map(|i| {
            let (s3, b) = (s3.clone(), b.clone());
            tokio::spawn(async move {
                s3.put_object()
                    .bucket(&b)
                    .key(format!("k{i}"))
                    .body(vec![1u8; 1000 + i].into())
                    .send()
                    .await
                    .unwrap();
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let now = settled(&srv, &u).await;
    assert_eq!(now.object_count, 48);
    assert_eq!(now.used_bytes, (0..48).map(|i| 1000 + i).sum::<i64>());
}

/// Without any limit an upload reserves nothing; a quota set while its body streams is still
/// enforced when it commits, and the refused upload leaves nothing.
#[tokio::test]
async fn a_quota_set_mid_upload_is_enforced_at_commit() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let b = unique("midway");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    let path = crate::common::presigned_put_path(&srv, &s3, &b, "late").await;
    let mut sock = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: 2000\r\n\r\n",
        srv.addr
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    sock.write_all(&[1u8; 1000]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    set_quota(&srv, &u, 1500).await;
    sock.write_all(&[1u8; 1000]).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), sock.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(answer.contains("QuotaExceeded"), "{answer}");
    let now = settled(&srv, &u).await;
    assert_eq!((now.used_bytes, now.object_count), (0, 0));
    assert_eq!(srv.object_rows().await, 0);
    srv.assert_no_orphans().await;
}

#[tokio::test]
async fn bucket_limits_and_json_uploads_are_enforced_too() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let b = unique("limits");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    sqlx::query("update buckets set max_objects = 2 where name = $1")
        .bind(&b)
        .execute(&srv.state.db)
        .await
        .unwrap();
    for k in ["1", "2"] {
        s3.put_object()
            .bucket(&b)
            .key(k)
            .body(b"x".to_vec().into())
            .send()
            .await
            .unwrap();
    }
    let res = s3
        .put_object()
        .bucket(&b)
        .key("3")
        .body(b"x".to_vec().into())
        .send()
        .await;
    assert_eq!(code_status(res), ("QuotaExceeded".into(), 403));
    // Overwriting an existing key adds no object.
    s3.put_object()
        .bucket(&b)
        .key("2")
        .body(b"y".to_vec().into())
        .send()
        .await
        .unwrap();

    // The JSON upload counts against the object limit too, before the file is read: a new
    // key is refused, overwriting an existing one is not.
    let http = reqwest::Client::new();
    let token = srv.state.tokens.access_token(u.id, "quota@example.com", false);
    let bucket_id: uuid::Uuid = sqlx::query_scalar("select id from buckets where name = $1")
        .bind(&b)
        .fetch_one(&srv.state.db)
        .await
        .unwrap();
    let files = format!("{}/v1/buckets/{bucket_id}/files", srv.url());
    for (key, status) in [("3", 403), ("2", 201)] {
        let form = reqwest::multipart::Form::new().text("key", key).part(
            "file",
            reqwest::multipart::Part::bytes(vec![7u8; 100]).file_name("f.bin"),
        );
        let resp = http
            .post(&files)
            .bearer_auth(&token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), status, "key {key}");
        let body: serde_json::Value = resp.json().await.unwrap();
        if status == 403 {
            assert_eq!(body["error"]["code"], "quota_exceeded");
            let message = body["error"]["message"].as_str().unwrap();
            assert!(message.contains("limit of 2 objects"), "{body}");
        }
    }
    assert_eq!(srv.object_rows().await, 2);

    // The JSON upload shows the same refusal as quota_exceeded.
    set_quota(&srv, &u, 10).await;
    let other = unique("jsonq");
    let bucket: serde_json::Value = http
        .post(format!("{}/v1/buckets", srv.url()))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": other}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(vec![0u8; 5000]).file_name("f.bin"),
    );
    let resp = http
        .post(format!(
            "{}/v1/buckets/{}/files",
            srv.url(),
            bucket["id"].as_str().unwrap()
        ))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "quota_exceeded");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("quota of 10 bytes"),
        "{body}"
    );
    settled(&srv, &u).await;
}

/// The acceptance test: 200 concurrent uploads of random sizes totalling about three times
/// the quota, split across two `godrive serve` processes sharing one database and one data
/// directory, over real sockets.
#[tokio::test]
async fn concurrent_uploads_across_two_processes_never_over_allocate() {
    let dep = Deployment::new("race");
    let (key, secret) = dep.user_with_key("race@example.com").await;
    let pool = dep.pool().await;
    let quota: i64 = 10_000_000;
    sqlx::query("update users set quota_bytes = $1")
        .bind(quota)
        .execute(&pool)
        .await
        .unwrap();
    let (one, two) = (dep.serve().await, dep.serve().await);
    let clients = [
        client_for(&one.url(), &key, &secret),
        client_for(&two.url(), &key, &secret),
    ];
    let b = unique("race");
    clients[0].create_bucket().bucket(&b).send().await.unwrap();

    // Random sizes, 1 byte to 300 kB (mean 150 kB): about 30 MB in all, three times the quota.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut rng = seed | 1;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let sizes: Vec<usize> = (0..200).map(|_| 1 + (next() % 300_000) as usize).collect();
    let total: usize = sizes.iter().sum();
    let mut tasks = Vec::new();
    for (i, size) in sizes.iter().copied().enumerate() {
        let s3 = clients[i % 2].clone();
        let b = b.clone();
        tasks.push(tokio::spawn(async move {
            let res = s3
                .put_object()
                .bucket(&b)
                .key(format!("k{i}"))
                .body(vec![(i % 251) as u8; size].into())
                .send()
                .await;
            match res {
                Ok(_) => Some(size as i64),
                Err(e) => {
                    let code = aws_sdk_s3::error::ProvideErrorMetadata::code(&e);
                    assert_eq!(code, Some("QuotaExceeded"), "{e:?}");
                    None
                }
            }
        }));
    }
    let mut accepted = std::collections::BTreeMap::new();
    for (i, t) in tasks.into_iter().enumerate() {
        if let Some(size) = t.await.unwrap() {
            accepted.insert(format!("k{i}"), size);
        }
    }
    let accepted_bytes: i64 = accepted.values().sum();
    let why = format!("seed {seed}, {total} bytes offered, {} accepted", accepted.len());
    assert!(
        accepted_bytes <= quota,
        "accepted {accepted_bytes} > quota {quota} ({why})"
    );
    assert!(
        accepted_bytes > quota / 2,
        "the quota should mostly fill: {accepted_bytes} ({why})"
    );

    // Exactly the accepted keys exist, with their sizes; nothing refused is visible.
    let listed = clients[1].list_objects_v2().bucket(&b).send().await.unwrap();
    let stored: std::collections::BTreeMap<String, i64> = listed
        .contents()
        .iter()
        .map(|o| (o.key().unwrap().to_owned(), o.size().unwrap()))
        .collect();
    assert_eq!(stored, accepted, "{why}");
    // Counters equal the stored sizes; no reservation is left.
    let (used, reserved, objects): (i64, i64, i64) =
        sqlx::query_as("select used_bytes, reserved_bytes, object_count from users where email = $1")
            .bind("race@example.com")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (used, reserved, objects),
        (accepted_bytes, 0, accepted.len() as i64),
        "{why}"
    );
    drop((one, two));

    // Refused uploads left no blob behind, and the counters need no fixing.
    let report = dep.run(&["gc", "--grace-secs", "0"]).await;
    assert!(report.contains("deleted 0 orphans"), "{report}");
    let report = dep.run(&["usage", "reconcile"]).await;
    assert!(report.contains("found 0 drifted counters"), "{report}");
    assert!(report.contains("0 objects missing their blob"), "{report}");
    pool.close().await;
}

#[tokio::test]
async fn reservations_of_a_crashed_instance_expire() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    set_quota(&srv, &u, 1000).await;
    let s3 = srv.client(&u);
    let b = unique("crash");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    let bucket_id: uuid::Uuid = sqlx::query_scalar("select id from buckets where name = $1")
        .bind(&b)
        .fetch_one(&srv.state.db)
        .await
        .unwrap();
    // A reservation of 900 bytes already past its expiry (the 24 h one).
    let mut conn = srv.state.db.acquire().await.unwrap();
    let target = godrive::db::quota::Target::Key("lost");
    godrive::db::quota::reserve(&mut conn, srv.state.instance_id, bucket_id, target, 900, -1)
        .await
        .unwrap()
        .unwrap();
    let res = s3
        .put_object()
        .bucket(&b)
        .key("k")
        .body(vec![0u8; 500].into())
        .send()
        .await;
    assert_eq!(code_status(res), ("QuotaExceeded".into(), 403));
    let hour = Duration::from_secs(3600);
    let report = godrive::jobs::gc::collect(&srv.state, hour, hour, false).await.unwrap();
    assert_eq!(report.expired_reservations, 1);
    assert_eq!(usage(&srv, &u).await.reserved_bytes, 0);
    s3.put_object()
        .bucket(&b)
        .key("k")
        .body(vec![0u8; 500].into())
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn multipart_parts_reserve_and_settle_at_completion() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let u = srv.user().await;
        let mib = 1024 * 1024;
        set_quota(&srv, &u, 8 * mib).await;
        let s3 = srv.client(&u);
        let b = unique("mpq");
        s3.create_bucket().bucket(&b).send().await.unwrap();
        let part = |key: &'static str, id: String, n: i32, size: usize| {
            s3.upload_part()
                .bucket(&b)
                .key(key)
                .upload_id(id)
                .part_number(n)
                .body(vec![5u8; size].into())
                .send()
        };
        // Parts reserve as they arrive: a part past the quota is refused before its body.
        let id = s3
            .create_multipart_upload()
            .bucket(&b)
            .key("big")
            .send()
            .await
            .unwrap()
            .upload_id
            .unwrap();
        let p1 = part("big", id.clone(), 1, 5 * mib as usize).await.unwrap();
        assert_eq!(usage(&srv, &u).await.reserved_bytes, 5 * mib);
        let res = part("big", id.clone(), 2, 4 * mib as usize).await;
        assert_eq!(code_status(res), ("QuotaExceeded".into(), 403), "{backend:?}");
        let p2 = part("big", id.clone(), 2, mib as usize).await.unwrap();
        // Completion turns the reservations into usage.
        let parts = aws_sdk_s3::types::CompletedMultipartUpload::builder()
            .parts(
                aws_sdk_s3::types::CompletedPart::builder()
                    .part_number(1)
                    .e_tag(p1.e_tag().unwrap())
                    .build(),
            )
            .parts(
                aws_sdk_s3::types::CompletedPart::builder()
                    .part_number(2)
                    .e_tag(p2.e_tag().unwrap())
                    .build(),
            )
            .build();
        s3.complete_multipart_upload()
            .bucket(&b)
            .key("big")
            .upload_id(&id)
            .multipart_upload(parts)
            .send()
            .await
            .unwrap();
        let now = settled(&srv, &u).await;
        assert_eq!((now.used_bytes, now.object_count), (6 * mib, 1));
        // An aborted upload gives its parts' room back.
        let id = s3
            .create_multipart_upload()
            .bucket(&b)
            .key("gone")
            .send()
            .await
            .unwrap()
            .upload_id
            .unwrap();
        part("gone", id.clone(), 1, mib as usize).await.unwrap();
        assert_eq!(usage(&srv, &u).await.reserved_bytes, mib);
        s3.abort_multipart_upload()
            .bucket(&b)
            .key("gone")
            .upload_id(&id)
            .send()
            .await
            .unwrap();
        assert_eq!(settled(&srv, &u).await.used_bytes, 6 * mib);
        // Deleting the bucket's objects and then the bucket (with an upload in progress)
        // leaves nothing reserved.
        let id = s3
            .create_multipart_upload()
            .bucket(&b)
            .key("open")
            .send()
            .await
            .unwrap()
            .upload_id
            .unwrap();
        part("open", id, 1, 1000).await.unwrap();
        s3.delete_object().bucket(&b).key("big").send().await.unwrap();
        s3.delete_bucket().bucket(&b).send().await.unwrap();
        let now = settled(&srv, &u).await;
        assert_eq!((now.used_bytes, now.object_count), (0, 0));
        assert_eq!(srv.open_uploads().await.0, 0);
    }
}

#[tokio::test]
async fn quotas_are_set_through_the_json_api() {
    let srv = TestServer::start_with(
        Backend::Fs,
        &[
            ("GODRIVE_ADMIN_EMAIL", "boss@example.com"),
            ("GODRIVE_ADMIN_PASSWORD", "boss-password"),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let base = format!("{}/v1", srv.url());
    let login: serde_json::Value = http
        .post(format!("{base}/auth/login"))
        .json(&serde_json::json!({"email": "boss@example.com", "password": "boss-password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin = login["access_token"].as_str().unwrap().to_owned();
    let u = srv.user().await;
    let user_token = srv.state.tokens.access_token(u.id, "u@example.com", false);

    let resp = http
        .put(format!("{base}/admin/users/{}/quota", u.id))
        .bearer_auth(&user_token)
        .json(&serde_json::json!({"quota_bytes": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403, "only admins set user quotas");
    let resp = http
        .put(format!("{base}/admin/users/{}/quota", u.id))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"quota_bytes": 1000}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(usage(&srv, &u).await.quota_bytes, Some(1000));

    let s3 = srv.client(&u);
    let b = unique("bq");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    let bucket_id: uuid::Uuid = sqlx::query_scalar("select id from buckets where name = $1")
        .bind(&b)
        .fetch_one(&srv.state.db)
        .await
        .unwrap();
    let view: serde_json::Value = http
        .put(format!("{base}/buckets/{bucket_id}/quota"))
        .bearer_auth(&user_token)
        .json(&serde_json::json!({"max_bytes": 100, "max_objects": null}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["max_bytes"], 100);
    let res = s3
        .put_object()
        .bucket(&b)
        .key("k")
        .body(vec![0u8; 200].into())
        .send()
        .await;
    let err = res.expect_err("over the bucket limit");
    let meta = aws_sdk_s3::error::ProvideErrorMetadata::meta(&err).clone();
    assert_eq!(meta.code(), Some("QuotaExceeded"));
    assert!(
        meta.message().unwrap().contains("bucket's limit of 100 bytes"),
        "{:?}",
        meta.message()
    );
    // Removing the limits lets it through (the user quota of 1000 still holds).
    http.put(format!("{base}/buckets/{bucket_id}/quota"))
        .bearer_auth(&user_token)
        .json(&serde_json::json!({"max_bytes": null, "max_objects": null}))
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket(&b)
        .key("k")
        .body(vec![0u8; 200].into())
        .send()
        .await
        .unwrap();
    // Another user cannot touch the bucket's limits.
    let other = srv.user().await;
    let other_token = srv.state.tokens.access_token(other.id, "o@example.com", false);
    let resp = http
        .put(format!("{base}/buckets/{bucket_id}/quota"))
        .bearer_auth(&other_token)
        .json(&serde_json::json!({"max_bytes": 1, "max_objects": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}

/// What a person sees: the aws cli and boto3 print the code and the message naming the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_and_boto3_show_the_quota_message() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    set_quota(&srv, &u, 1000).await;
    let b = unique("msg");
    srv.client(&u).create_bucket().bucket(&b).send().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.bin");
    std::fs::write(&file, vec![0u8; 5000]).unwrap();
    let env = [
        ("AWS_ACCESS_KEY_ID", u.access_key.clone()),
        ("AWS_SECRET_ACCESS_KEY", u.secret.clone()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
        ("AWS_CONFIG_FILE", "/dev/null".to_owned()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_owned()),
    ];
    let (url, path, bucket, e1) = (srv.url(), file.clone(), b.clone(), env.clone());
    let cli = tokio::task::spawn_blocking(move || {
        std::process::Command::new("aws")
            .args([
                "--endpoint-url",
                &url,
                "s3",
                "cp",
                path.to_str().unwrap(),
                &format!("s3://{bucket}/big.bin"),
            ])
            .envs(e1)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let said = String::from_utf8_lossy(&cli.stderr).to_string() + &String::from_utf8_lossy(&cli.stdout);
    assert!(!cli.status.success());
    assert!(
        said.contains("QuotaExceeded") && said.contains("storage quota of 1000 bytes"),
        "{said}"
    );

    let script = format!(
        "import boto3, botocore\n\
         s3 = boto3.client('s3', endpoint_url='{}', region_name='us-east-1')\n\
         try:\n    s3.put_object(Bucket='{b}', Key='k', Body=b'x' * 5000)\n\
         except botocore.exceptions.ClientError as e:\n    print(e.response['Error']['Code'], '|', e.response['Error']['Message'])\n",
        srv.url()
    );
    let py = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .args(["-c", &script])
            .envs(env)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let printed = String::from_utf8_lossy(&py.stdout);
    assert_eq!(
        printed.trim(),
        "QuotaExceeded | This upload would exceed your storage quota of 1000 bytes.",
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
}

#[tokio::test]
async fn usage_reports_storage_and_requests() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    set_quota(&srv, &u, 1_000_000).await;
    let s3 = srv.client(&u);
    let b = unique("use");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    s3.put_object()
        .bucket(&b)
        .key("a")
        .body(vec![0u8; 1234].into())
        .send()
        .await
        .unwrap();
    s3.list_objects_v2().bucket(&b).send().await.unwrap();
    let token = srv.state.tokens.access_token(u.id, "u@example.com", false);
    let usage: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/v1/usage", srv.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(usage["used_bytes"], 1234);
    assert_eq!(usage["reserved_bytes"], 0);
    assert_eq!(usage["quota_bytes"], 1_000_000);
    assert_eq!(usage["objects"], 1);
    // CreateBucket, PutObject, ListObjectsV2 and this GET /v1/usage.
    assert_eq!(usage["requests"], 4, "{usage}");
    let ops: Vec<(String, i64)> =
        sqlx::query_as("select operation, count from request_counts where user_id = $1 order by operation")
            .bind(u.id)
            .fetch_all(&srv.state.db)
            .await
            .unwrap();
    let names: Vec<&str> = ops.iter().map(|(o, _)| o.as_str()).collect();
    assert_eq!(
        names,
        vec!["CreateBucket", "GET /v1/usage", "ListObjectsV2", "PutObject"]
    );
}

#[tokio::test]
async fn admins_see_everyones_usage_sorted() {
    let srv = TestServer::start_with(
        Backend::Fs,
        &[
            ("GODRIVE_ADMIN_EMAIL", "ops@example.com"),
            ("GODRIVE_ADMIN_PASSWORD", "ops-password"),
        ],
    )
    .await;
    let (small, big) = (srv.user().await, srv.user().await);
    for (u, size) in [(&small, 100usize), (&big, 5000)] {
        let s3 = srv.client(u);
        let b = unique("adm");
        s3.create_bucket().bucket(&b).send().await.unwrap();
        s3.put_object()
            .bucket(&b)
            .key("k")
            .body(vec![0u8; size].into())
            .send()
            .await
            .unwrap();
    }
    let http = reqwest::Client::new();
    let base = format!("{}/v1", srv.url());
    let login: serde_json::Value = http
        .post(format!("{base}/auth/login"))
        .json(&serde_json::json!({"email": "ops@example.com", "password": "ops-password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin = login["access_token"].as_str().unwrap();
    let page: serde_json::Value = http
        .get(format!("{base}/admin/usage?sort=used_bytes&limit=2"))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![big.id.to_string(), small.id.to_string()]);
    assert_eq!(page["items"][0]["used_bytes"], 5000);
    assert_eq!(page["items"][0]["requests"], 2);
    let next = page["next_cursor"].as_str().unwrap();
    let rest: serde_json::Value = http
        .get(format!("{base}/admin/usage?sort=used_bytes&limit=2&cursor={next}"))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        rest["items"].as_array().unwrap().len(),
        1,
        "the admin, with nothing stored"
    );
    let user_token = srv.state.tokens.access_token(small.id, "s@example.com", false);
    let resp = http
        .get(format!("{base}/admin/usage"))
        .bearer_auth(&user_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let resp = http
        .get(format!("{base}/admin/usage?sort=size"))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
}

/// Browser form uploads (POST Object) count against quotas like any upload, and a refused
/// one leaves nothing.
#[tokio::test]
async fn form_uploads_count_against_quotas() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let b = unique("form");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    set_quota(&srv, &u, 5000).await;
    let post = |key: &str, size: usize| {
        let fields = crate::common::post_form_fields(
            &u.access_key,
            &u.secret,
            &b,
            &[("key", key), ("success_action_status", "201")],
        );
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in fields {
            form = form.text(k, v);
        }
        let form = form.part(
            "file",
            reqwest::multipart::Part::bytes(vec![3u8; size]).file_name("f.bin"),
        );
        reqwest::Client::new()
            .post(format!("{}/{b}", srv.url()))
            .multipart(form)
            .send()
    };
    let resp = post("fits.bin", 3000).await.unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let xml = resp.text().await.unwrap();
    assert!(xml.contains("<Key>fits.bin</Key>") && xml.contains("<ETag>"), "{xml}");
    assert_eq!(settled(&srv, &u).await.used_bytes, 3000);

    let resp = post("too-big.bin", 3000).await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    assert_eq!(crate::common::xml_code(&resp.text().await.unwrap()), "QuotaExceeded");
    let now = settled(&srv, &u).await;
    assert_eq!((now.used_bytes, now.object_count), (3000, 1));
    assert_eq!(srv.object_rows().await, 1);
    srv.assert_no_orphans().await;
}
