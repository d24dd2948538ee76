//! Faults against the real binary: killed with SIGKILL mid-upload and restarted (its quota
//! reservations released once its lease lapses), and stopped with SIGTERM while a request
//! is in flight.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::client_for;
use crate::process::Deployment;

/// The path and query of a presigned PUT to `url`.
async fn presigned_put(s3: &aws_sdk_s3::Client, url: &str, bucket: &str, key: &str) -> String {
    let cfg = aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(300)).unwrap();
    let signed = s3.put_object().bucket(bucket).key(key).presigned(cfg).await.unwrap();
    signed.uri().strip_prefix(url).unwrap().to_owned()
}

/// Sends the head of a PUT of `len` bytes and `sent` bytes of its body.
async fn start_put(port: u16, path: &str, len: usize, sent: usize) -> tokio::net::TcpStream {
    let mut sock = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let head = format!("PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {len}\r\n\r\n");
    sock.write_all(head.as_bytes()).await.unwrap();
    sock.write_all(&vec![5u8; sent]).await.unwrap();
    sock.flush().await.unwrap();
    sock
}

#[tokio::test]
async fn a_server_killed_mid_upload_restarts_with_nothing_half_done() {
    let dep = Deployment::new("kill");
    let (key, secret) = dep.user_with_key("kill@example.com").await;
    let mut server = dep.serve().await;
    let s3 = client_for(&server.url(), &key, &secret);
    s3.create_bucket().bucket("crash").send().await.unwrap();
    let acked: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    s3.put_object()
        .bucket("crash")
        .key("acked")
        .body(acked.clone().into())
        .send()
        .await
        .unwrap();
    // A multipart upload with one part stored, and a single PUT half sent.
    let upload = s3
        .create_multipart_upload()
        .bucket("crash")
        .key("mp")
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_owned();
    s3.upload_part()
        .bucket("crash")
        .key("mp")
        .upload_id(&upload)
        .part_number(1)
        .body(vec![1u8; 5 << 20].into())
        .send()
        .await
        .unwrap();
    let path = presigned_put(&s3, &server.url(), "crash", "half").await;
    let _sock = start_put(server.port, &path, 8 << 20, 4 << 20).await;
    // ...and part 2 of the multipart upload half sent too.
    let cfg = aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(300)).unwrap();
    let part = s3
        .upload_part()
        .bucket("crash")
        .key("mp")
        .upload_id(&upload)
        .part_number(2)
        .presigned(cfg)
        .await
        .unwrap();
    let part_path = part.uri().strip_prefix(&server.url()).unwrap().to_owned();
    let _part_sock = start_put(server.port, &part_path, 6 << 20, 3 << 20).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    server.kill();
    let server = dep.serve().await;
    let s3 = client_for(&server.url(), &key, &secret);
    // What was acknowledged reads back byte-exact; what was not is not visible.
    let got = s3.get_object().bucket("crash").key("acked").send().await.unwrap();
    assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), &acked[..]);
    let listed = s3.list_objects_v2().bucket("crash").send().await.unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, vec!["acked"]);
    // The multipart upload survived the crash with the part that was acknowledged (not the
    // half-sent one); the client may complete or abort it; here it aborts.
    let parts = s3
        .list_parts()
        .bucket("crash")
        .key("mp")
        .upload_id(&upload)
        .send()
        .await
        .unwrap();
    let numbers: Vec<i32> = parts.parts().iter().filter_map(|p| p.part_number()).collect();
    assert_eq!(numbers, vec![1]);
    s3.abort_multipart_upload()
        .bucket("crash")
        .key("mp")
        .upload_id(&upload)
        .send()
        .await
        .unwrap();
    drop(server);
    // The half-written blob is garbage; gc removes it, then nothing is left to find.
    let report = dep.run(&["gc", "--grace-secs", "0"]).await;
    assert!(
        report.contains("deleted 1 orphans") || report.contains("deleted 0 orphans"),
        "{report}"
    );
    let again = dep.run(&["gc", "--grace-secs", "0"]).await;
    assert!(again.contains("deleted 0 orphans"), "{again}");
    let report = dep.run(&["usage", "reconcile"]).await;
    assert!(report.contains("found 0 drifted counters"), "{report}");
    assert!(report.contains("0 objects missing their blob"), "{report}");
    assert!(report.contains("backend: 0 unreferenced blobs"), "{report}");
}

#[tokio::test]
async fn sigterm_finishes_the_request_in_flight_and_accepts_no_new_ones() {
    let dep = Deployment::new("term");
    let (key, secret) = dep.user_with_key("term@example.com").await;
    let mut server = dep.serve().await;
    let s3 = client_for(&server.url(), &key, &secret);
    s3.create_bucket().bucket("drain").send().await.unwrap();
    let path = presigned_put(&s3, &server.url(), "drain", "in-flight").await;
    let mut sock = start_put(server.port, &path, 2 << 20, 1 << 20).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    server.terminate();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // No new connections once shutdown has begun.
    let refused = tokio::net::TcpStream::connect(("127.0.0.1", server.port)).await;
    assert!(refused.is_err(), "the listener still accepts connections");
    // The request in flight completes.
    sock.write_all(&vec![5u8; 1 << 20]).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), sock.read(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(sock);
    assert!(
        server.wait_exit(Duration::from_secs(10)),
        "the server did not exit after draining"
    );

    let server = dep.serve().await;
    let s3 = client_for(&server.url(), &key, &secret);
    let head = s3.head_object().bucket("drain").key("in-flight").send().await.unwrap();
    assert_eq!(head.content_length(), Some(2 << 20));
}

/// The backend S3 server stops: requests fail fast with 503 and readiness says so; when it
/// returns, service resumes by itself. A PUT refused meanwhile leaves nothing.
#[tokio::test]
async fn a_backend_outage_fails_fast_and_heals() {
    use crate::common::{Backend, TestServer, code_status};
    let mut srv = TestServer::start(Backend::S3).await;
    let u = srv.user().await;
    let s3 = crate::common::without_retries(&srv.client(&u));
    s3.create_bucket().bucket("outage").send().await.unwrap();
    s3.put_object()
        .bucket("outage")
        .key("k")
        .body(b"before".to_vec().into())
        .send()
        .await
        .unwrap();
    let ready = format!("{}/v1/health/ready", srv.url());

    // The backend goes away in the middle of a download: the body ends early (the status
    // line is gone already), and the client is not left hanging.
    let big: Vec<u8> = (0..24_000_000u32).map(|i| (i % 241) as u8).collect();
    s3.put_object()
        .bucket("outage")
        .key("big")
        .body(big.clone().into())
        .send()
        .await
        .unwrap();
    let cfg = aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(60)).unwrap();
    let url = s3
        .get_object()
        .bucket("outage")
        .key("big")
        .presigned(cfg)
        .await
        .unwrap();
    let mut resp = reqwest::get(url.uri()).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let first = resp.chunk().await.unwrap().unwrap();
    assert!(!first.is_empty());
    srv.stop_backend();
    let rest = tokio::time::timeout(Duration::from_secs(15), async {
        let mut n = first.len();
        loop {
            match resp.chunk().await {
                Ok(Some(c)) => n += c.len(),
                Ok(None) => return Ok(n),
                Err(e) => return Err((n, e.to_string())),
            }
        }
    })
    .await
    .expect("the download ended instead of hanging");
    // Bytes already buffered may complete it; otherwise it must end short, with an error.
    match rest {
        Ok(n) => assert_eq!(n, big.len(), "a download that ends cleanly must be whole"),
        Err((n, _)) => assert!(n < big.len()),
    }
    srv.restart_backend().await;
    s3.delete_object().bucket("outage").key("big").send().await.unwrap();

    // The backend goes away in the middle of an upload: the upload fails, nothing commits.
    let path = crate::common::presigned_put_path(&srv, &s3, "outage", "mid-upload").await;
    let mut sock = start_put(srv.addr.port(), &path, 8 << 20, 4 << 20).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    srv.stop_backend();
    let _ = sock.write_all(&vec![5u8; 4 << 20]).await;
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), sock.read(&mut answer))
        .await
        .expect("an answer, not a hang")
        .unwrap_or(0);
    let answer = String::from_utf8_lossy(&answer[..n]).into_owned();
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 503"), "{answer}");
    drop(sock);

    let started = std::time::Instant::now();
    let res = s3.get_object().bucket("outage").key("k").send().await;
    assert_eq!(code_status(res), ("ServiceUnavailable".into(), 503));
    let res = s3
        .put_object()
        .bucket("outage")
        .key("during")
        .body(b"lost".to_vec().into())
        .send()
        .await;
    assert_eq!(code_status(res), ("ServiceUnavailable".into(), 503));
    let resp = reqwest::get(&ready).await.unwrap();
    assert_eq!(resp.status().as_u16(), 503);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["checks"]["storage"], "unavailable");
    assert_eq!(body["checks"]["database"], "ok");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(srv.object_rows().await, 1);

    srv.restart_backend().await;
    assert!(
        crate::common::becomes_ready(&ready, 50).await,
        "readiness did not come back"
    );
    let got = s3.get_object().bucket("outage").key("k").send().await.unwrap();
    assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), b"before");
    let usage = godrive::db::usage::of_user(&srv.state.db, u.id).await.unwrap().unwrap();
    assert_eq!((usage.used_bytes, usage.object_count, usage.reserved_bytes), (6, 1, 0));
    // A blob the failed upload could not delete while the backend was away is an orphan;
    // gc removes it, and then backend and rows agree.
    godrive::jobs::gc::collect(&srv.state, Duration::ZERO, Duration::from_secs(3600), false)
        .await
        .unwrap();
    srv.assert_no_orphans().await;
}

/// A PostgreSQL cluster of the test's own (the shared one serves other tests), run as the
/// `postgres` user on a free port; stopped and removed when dropped.
struct PrivatePostgres {
    dir: tempfile::TempDir,
    port: u16,
}

impl PrivatePostgres {
    fn bin(tool: &str) -> String {
        let root = std::fs::read_dir("/usr/lib/postgresql")
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .max()
            .expect("a PostgreSQL installation");
        root.join("bin").join(tool).display().to_string()
    }

    fn as_postgres(cmd: &str) -> bool {
        std::process::Command::new("runuser")
            .args(["-u", "postgres", "--", "sh", "-c", cmd])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let chown = std::process::Command::new("chown")
            .args(["postgres:postgres", dir.path().to_str().unwrap()])
            .status()
            .unwrap();
        assert!(chown.success());
        let port = crate::process::free_port();
        let data = dir.path().join("data");
        assert!(Self::as_postgres(&format!(
            "{} -D {} -A trust -U postgres",
            Self::bin("initdb"),
            data.display()
        )));
        let pg = Self { dir, port };
        pg.ctl("start");
        pg
    }

    fn ctl(&self, action: &str) {
        let data = self.dir.path().join("data");
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.path().display()
        );
        assert!(Self::as_postgres(&format!(
            "{} -D {} -o '{opts}' -l {}/log -w -m fast {action}",
            Self::bin("pg_ctl"),
            data.display(),
            self.dir.path().display()
        )));
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = Self::as_postgres(&format!(
            "{} -D {}/data -m immediate stop",
            Self::bin("pg_ctl"),
            self.dir.path().display()
        ));
    }
}

/// PostgreSQL stopped under traffic: requests fail fast with 503 (no hangs), readiness says
/// so; when it is back, service resumes by itself and nothing acknowledged is lost.
#[tokio::test]
async fn a_postgres_outage_fails_fast_and_heals() {
    let pg = PrivatePostgres::start();
    let mut dep = Deployment::new("pgdown");
    dep.env = vec![
        ("POSTGRES_HOST".into(), "127.0.0.1".into()),
        ("POSTGRES_PORT".into(), pg.port.to_string()),
        ("POSTGRES_USER".into(), "postgres".into()),
    ];
    let (key, secret) = dep.user_with_key("pg@example.com").await;
    let server = dep.serve().await;
    let s3 = crate::common::without_retries(&client_for(&server.url(), &key, &secret));
    s3.create_bucket().bucket("pgdown").send().await.unwrap();
    s3.put_object()
        .bucket("pgdown")
        .key("before")
        .body(b"acknowledged".to_vec().into())
        .send()
        .await
        .unwrap();
    let ready = format!("{}/v1/health/ready", server.url());

    pg.ctl("stop");
    for key in ["during-1", "during-2"] {
        let started = std::time::Instant::now();
        let res = s3
            .put_object()
            .bucket("pgdown")
            .key(key)
            .body(b"x".to_vec().into())
            .send()
            .await;
        let (code, status) = crate::common::code_status(res);
        assert_eq!((code.as_str(), status), ("ServiceUnavailable", 503));
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "took {:?}",
            started.elapsed()
        );
    }
    let resp = reqwest::get(&ready).await.unwrap();
    assert_eq!(resp.status().as_u16(), 503);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["checks"]["database"], "unavailable");
    // The JSON API too: a login answers 503 `unavailable`, not a hang or a 500.
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/auth/login", server.url()))
        .json(&serde_json::json!({"email": "pg@example.com", "password": "process-test-pw"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 503);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable");

    pg.ctl("start");
    assert!(
        crate::common::becomes_ready(&ready, 100).await,
        "readiness did not come back"
    );
    // Service resumes (a first request may still meet a connection the restart broke).
    let mut put = None;
    for _ in 0..5 {
        let res = s3
            .put_object()
            .bucket("pgdown")
            .key("after")
            .body(b"after".to_vec().into())
            .send()
            .await;
        if res.is_ok() {
            put = Some(());
            break;
        }
    }
    assert!(put.is_some(), "PUT did not succeed after PostgreSQL came back");
    let got = s3.get_object().bucket("pgdown").key("before").send().await.unwrap();
    assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), b"acknowledged");
    let listed = s3.list_objects_v2().bucket("pgdown").send().await.unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, vec!["after", "before"]);
    drop(server);
    let report = dep.run(&["gc", "--grace-secs", "0"]).await;
    assert!(report.contains("deleted"), "{report}");
    let report = dep.run(&["usage", "reconcile"]).await;
    assert!(report.contains("found 0 drifted counters"), "{report}");
    assert!(report.contains("0 objects missing their blob"), "{report}");
}

/// A deployment whose instances hold 4-second leases (renewed every second, swept every 2),
/// with one user whose quota is `quota` bytes; returns the user's key, secret and a pool.
async fn leased(prefix: &str, quota: i64) -> (Deployment, String, String, sqlx::PgPool) {
    let mut dep = Deployment::new(prefix);
    dep.env
        .push(("GODRIVE_INSTANCE_LEASE_SECS".into(), LEASE_SECS.to_string()));
    let email = format!("{prefix}@example.com");
    let (key, secret) = dep.user_with_key(&email).await;
    let pool = dep.pool().await;
    sqlx::query("update users set quota_bytes = $2 where email = $1")
        .bind(&email)
        .bind(quota)
        .execute(&pool)
        .await
        .unwrap();
    (dep, key, secret, pool)
}

const LEASE_SECS: u64 = 4;

/// The user's reserved bytes and the reservation rows: (bytes, rows, rows naming no
/// instance).
async fn reserved(pool: &sqlx::PgPool) -> (i64, i64, i64) {
    sqlx::query_as(
        "select (select sum(reserved_bytes)::bigint from users), count(*), count(*) filter (where instance_id is null)
           from reservations",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Waits until the reservations are `want`; panics after `within`.
async fn reserved_becomes(pool: &sqlx::PgPool, want: (i64, i64, i64), within: Duration) {
    let deadline = std::time::Instant::now() + within;
    loop {
        let now = reserved(pool).await;
        if now == want {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "reservations {now:?}, expected {want:?} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The head of a PUT declaring `len` bytes, and no body: the answer comes before the body
/// (a quota refusal) or not at all.
async fn refused_before_body(port: u16, path: &str, len: usize) -> String {
    let mut sock = start_put(port, path, len, 0).await;
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), sock.read(&mut answer))
        .await
        .expect("an answer before the body")
        .unwrap();
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

/// An instance killed with SIGKILL mid-upload leaves its reservation behind; once its
/// lease lapses, another instance's sweeper releases it (within the lease plus one sweep
/// interval), and the user can upload that much again. A live instance's reservations
/// are never swept, however long its upload takes.
#[tokio::test]
async fn a_killed_instances_reservations_are_released_once_its_lease_lapses() {
    let mib = 1 << 20;
    let (dep, key, secret, pool) = leased("lease", 10 * mib as i64).await;
    let mut first = dep.serve().await;
    let s3 = client_for(&first.url(), &key, &secret);
    s3.create_bucket().bucket("lease").send().await.unwrap();
    let path = presigned_put(&s3, &first.url(), "lease", "big").await;
    let _sock = start_put(first.port, &path, 8 * mib, mib).await;
    reserved_becomes(&pool, (8 * mib as i64, 1, 0), Duration::from_secs(5)).await;

    // Another instance runs and sweeps; the first renews its lease, so its reservation
    // outlives more than a lease and a sweep.
    let second = dep.serve().await;
    tokio::time::sleep(Duration::from_secs(LEASE_SECS + LEASE_SECS / 2 + 1)).await;
    assert_eq!(reserved(&pool).await, (8 * mib as i64, 1, 0));

    first.kill();
    let killed = std::time::Instant::now();
    // Until the lease lapses the room stays promised: the same upload is refused.
    let s3 = client_for(&second.url(), &key, &secret);
    let path = presigned_put(&s3, &second.url(), "lease", "again").await;
    let answer = refused_before_body(second.port, &path, 8 * mib).await;
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(answer.contains("QuotaExceeded"), "{answer}");
    // Released by the second instance within the lease and a sweep interval (plus a
    // second for scheduling), and the dead instance's lease row goes too.
    reserved_becomes(&pool, (0, 0, 0), Duration::from_secs(LEASE_SECS + LEASE_SECS / 2 + 1)).await;
    assert!(
        killed.elapsed() > Duration::from_secs(LEASE_SECS - 2),
        "released before the lease could lapse"
    );
    let leases: i64 = sqlx::query_scalar("select count(*) from instance_leases")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(leases, 1, "only the live instance holds a lease");

    // A full-size upload by that user now succeeds.
    s3.put_object()
        .bucket("lease")
        .key("again")
        .body(vec![3u8; 8 * mib].into())
        .send()
        .await
        .unwrap();
    assert_eq!(reserved(&pool).await, (0, 0, 0));
    let used: i64 = sqlx::query_scalar("select sum(used_bytes)::bigint from users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(used, 8 * mib as i64);
}

/// A multipart part's reservation belongs to its upload, not to the instance that stored
/// it: the sweeper leaves it after that instance is killed (while releasing the half-sent
/// part's), and completing or aborting the upload settles or releases it.
#[tokio::test]
async fn a_parts_reservation_outlives_its_killed_instance_until_the_upload_ends() {
    let mib = 1 << 20;
    let (dep, key, secret, pool) = leased("leasemp", 20 * mib as i64).await;
    let mut first = dep.serve().await;
    let s3 = client_for(&first.url(), &key, &secret);
    s3.create_bucket().bucket("parts").send().await.unwrap();
    let mut uploads = Vec::new();
    for name in ["kept", "dropped"] {
        let id = s3
            .create_multipart_upload()
            .bucket("parts")
            .key(name)
            .send()
            .await
            .unwrap()
            .upload_id()
            .unwrap()
            .to_owned();
        s3.upload_part()
            .bucket("parts")
            .key(name)
            .upload_id(&id)
            .part_number(1)
            .body(vec![1u8; 5 * mib].into())
            .send()
            .await
            .unwrap();
        uploads.push((name, id));
    }
    // Part 2 of the first upload half sent: its reservation is the instance's.
    let cfg = aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(300)).unwrap();
    let part = s3
        .upload_part()
        .bucket("parts")
        .key("kept")
        .upload_id(&uploads[0].1)
        .part_number(2)
        .presigned(cfg)
        .await
        .unwrap();
    let part_path = part.uri().strip_prefix(&first.url()).unwrap().to_owned();
    let _sock = start_put(first.port, &part_path, 6 * mib, mib).await;
    reserved_becomes(&pool, (16 * mib as i64, 3, 2), Duration::from_secs(5)).await;

    let second = dep.serve().await;
    first.kill();
    // The half-sent part's reservation goes with the lease; the stored parts' stay.
    reserved_becomes(
        &pool,
        (10 * mib as i64, 2, 2),
        Duration::from_secs(LEASE_SECS + LEASE_SECS / 2 + 1),
    )
    .await;
    // ...and stay through further sweeps.
    tokio::time::sleep(Duration::from_secs(LEASE_SECS + 1)).await;
    assert_eq!(reserved(&pool).await, (10 * mib as i64, 2, 2));

    // Completing settles one; aborting releases the other.
    let s3 = client_for(&second.url(), &key, &secret);
    let parts = s3
        .list_parts()
        .bucket("parts")
        .key("kept")
        .upload_id(&uploads[0].1)
        .send()
        .await
        .unwrap();
    let etag = parts.parts()[0].e_tag().unwrap().to_owned();
    assert_eq!(parts.parts().len(), 1);
    let done = aws_sdk_s3::types::CompletedMultipartUpload::builder()
        .parts(
            aws_sdk_s3::types::CompletedPart::builder()
                .part_number(1)
                .e_tag(etag)
                .build(),
        )
        .build();
    s3.complete_multipart_upload()
        .bucket("parts")
        .key("kept")
        .upload_id(&uploads[0].1)
        .multipart_upload(done)
        .send()
        .await
        .unwrap();
    assert_eq!(reserved(&pool).await, (5 * mib as i64, 1, 1));
    s3.abort_multipart_upload()
        .bucket("parts")
        .key("dropped")
        .upload_id(&uploads[1].1)
        .send()
        .await
        .unwrap();
    assert_eq!(reserved(&pool).await, (0, 0, 0));
    let head = s3.head_object().bucket("parts").key("kept").send().await.unwrap();
    assert_eq!(head.content_length(), Some(5 * mib as i64));
    let used: i64 = sqlx::query_scalar("select sum(used_bytes)::bigint from users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(used, 5 * mib as i64);
}
