//! Usage counters stay equal to what is stored, through every kind of change.

use std::collections::BTreeMap;

use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier};
use base64::Engine as _;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::common::{Backend, TestServer, code_status, unique};

/// The model: bucket -> key -> size.
type Model = BTreeMap<String, BTreeMap<String, i64>>;

async fn check(srv: &TestServer, user: uuid::Uuid, model: &Model, step: &str) {
    let drift = godrive::db::usage::drift(&srv.state.db).await.unwrap();
    assert!(drift.is_empty(), "after {step}: {drift:?}");
    // Failed uploads release their reservations in the background.
    let mut usage = godrive::db::usage::of_user(&srv.state.db, user).await.unwrap().unwrap();
    for _ in 0..50 {
        if usage.reserved_bytes == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        usage = godrive::db::usage::of_user(&srv.state.db, user).await.unwrap().unwrap();
    }
    assert_eq!(usage.reserved_bytes, 0, "after {step}: reservations left");
    let bytes: i64 = model.values().flat_map(|b| b.values()).sum();
    let objects: i64 = model.values().map(|b| b.len() as i64).sum();
    assert_eq!((usage.used_bytes, usage.object_count), (bytes, objects), "after {step}");
}

#[tokio::test]
async fn counters_equal_what_is_stored_after_every_step() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let buckets = [unique("usage-a"), unique("usage-b")];
    let mut model: Model = BTreeMap::new();
    for b in &buckets {
        s3.create_bucket().bucket(b).send().await.unwrap();
        model.insert(b.clone(), BTreeMap::new());
    }
    let seed: u64 = std::env::var("USAGE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261125);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut multiparts = 0;
    for step in 0..80 {
        let b = buckets[rng.gen_range(0..2)].clone();
        let existing: Vec<String> = model[&b].keys().cloned().collect();
        let op = rng.gen_range(0..8);
        let label = format!("step {step} op {op} (seed {seed})");
        match op {
            // put a new object, or overwrite one
            0 | 1 => {
                let key = if op == 1 && !existing.is_empty() {
                    existing[rng.gen_range(0..existing.len())].clone()
                } else {
                    format!("k{step}")
                };
                let size = rng.gen_range(0..50_000usize);
                s3.put_object()
                    .bucket(&b)
                    .key(&key)
                    .body(vec![7u8; size].into())
                    .send()
                    .await
                    .unwrap();
                model.get_mut(&b).unwrap().insert(key, size as i64);
            }
            // copy to another bucket
            2 if !existing.is_empty() => {
                let key = &existing[rng.gen_range(0..existing.len())];
                let dest = buckets[rng.gen_range(0..2)].clone();
                let new_key = format!("copy{step}");
                s3.copy_object()
                    .bucket(&dest)
                    .key(&new_key)
                    .copy_source(format!("{b}/{key}"))
                    .send()
                    .await
                    .unwrap();
                let size = model[&b][key];
                model.get_mut(&dest).unwrap().insert(new_key, size);
            }
            // delete one, or a batch with a missing key
            3 if !existing.is_empty() => {
                let key = existing[rng.gen_range(0..existing.len())].clone();
                s3.delete_object().bucket(&b).key(&key).send().await.unwrap();
                model.get_mut(&b).unwrap().remove(&key);
            }
            4 if !existing.is_empty() => {
                let key = existing[rng.gen_range(0..existing.len())].clone();
                let delete = Delete::builder()
                    .objects(ObjectIdentifier::builder().key(&key).build().unwrap())
                    .objects(ObjectIdentifier::builder().key("never-there").build().unwrap())
                    .build()
                    .unwrap();
                s3.delete_objects().bucket(&b).delete(delete).send().await.unwrap();
                model.get_mut(&b).unwrap().remove(&key);
            }
            // multipart: complete (a few times: parts are 5 MiB) or abort
            5 => {
                let key = format!("mp{step}");
                let id = s3
                    .create_multipart_upload()
                    .bucket(&b)
                    .key(&key)
                    .send()
                    .await
                    .unwrap()
                    .upload_id
                    .unwrap();
                let complete = multiparts < 3 && rng.gen_bool(0.5);
                let first = if complete { 5 * 1024 * 1024 } else { 1000 };
                let mut parts = Vec::new();
                for (n, size) in [(1, first), (2, rng.gen_range(1..10_000usize))] {
                    let out = s3
                        .upload_part()
                        .bucket(&b)
                        .key(&key)
                        .upload_id(&id)
                        .part_number(n)
                        .body(vec![1u8; size].into())
                        .send()
                        .await
                        .unwrap();
                    parts.push((
                        CompletedPart::builder()
                            .part_number(n)
                            .e_tag(out.e_tag().unwrap())
                            .build(),
                        size,
                    ));
                }
                if complete {
                    multiparts += 1;
                    let total: usize = parts.iter().map(|(_, s)| s).sum();
                    let list = CompletedMultipartUpload::builder()
                        .set_parts(Some(parts.into_iter().map(|(p, _)| p).collect()))
                        .build();
                    s3.complete_multipart_upload()
                        .bucket(&b)
                        .key(&key)
                        .upload_id(&id)
                        .multipart_upload(list)
                        .send()
                        .await
                        .unwrap();
                    model.get_mut(&b).unwrap().insert(key, total as i64);
                } else {
                    s3.abort_multipart_upload()
                        .bucket(&b)
                        .key(&key)
                        .upload_id(&id)
                        .send()
                        .await
                        .unwrap();
                }
            }
            // a failed upload (bad Content-MD5) changes nothing
            _ => {
                let bad = base64::engine::general_purpose::STANDARD.encode([0u8; 16]);
                let res = s3
                    .put_object()
                    .bucket(&b)
                    .key(format!("bad{step}"))
                    .body(vec![3u8; 1000].into())
                    .content_md5(bad)
                    .send()
                    .await;
                assert_eq!(code_status(res).0, "BadDigest");
            }
        }
        check(&srv, u.id, &model, &label).await;
    }
    // Deleting a bucket with its contents (through the JSON API's cascade) uncounts them.
    let bucket_id: uuid::Uuid = sqlx::query_scalar("select id from buckets where name = $1")
        .bind(&buckets[1])
        .fetch_one(&srv.state.db)
        .await
        .unwrap();
    let mut conn = srv.state.db.acquire().await.unwrap();
    godrive::db::buckets::delete_cascade(&mut conn, bucket_id)
        .await
        .unwrap();
    model.remove(&buckets[1]);
    check(&srv, u.id, &model, "bucket delete").await;

    let report = godrive::jobs::reconcile::run(&srv.state, false).await.unwrap();
    assert!(report.drift.is_empty() && report.missing_blobs.is_empty(), "{report:?}");
}

#[tokio::test]
async fn reconcile_reports_and_fixes_drift() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let b = unique("drift");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    s3.put_object()
        .bucket(&b)
        .key("k")
        .body(vec![1u8; 1234].into())
        .send()
        .await
        .unwrap();
    // Simulate a counter gone wrong (e.g. edited by hand).
    sqlx::query("update users set used_bytes = used_bytes + 99 where id = $1")
        .bind(u.id)
        .execute(&srv.state.db)
        .await
        .unwrap();
    let report = godrive::jobs::reconcile::run(&srv.state, false).await.unwrap();
    assert_eq!(report.drift.len(), 1);
    assert_eq!(
        (report.drift[0].counted_bytes, report.drift[0].actual_bytes),
        (1333, 1234)
    );
    let fixed = godrive::jobs::reconcile::run(&srv.state, true).await.unwrap();
    assert!(fixed.fixed && fixed.drift.len() == 1);
    let again = godrive::jobs::reconcile::run(&srv.state, false).await.unwrap();
    assert!(again.drift.is_empty());
    assert_eq!(again.unreferenced_blobs, 0);
    // A blob lost from the backend is reported.
    let blob: uuid::Uuid = sqlx::query_scalar("select blob_id from objects")
        .fetch_one(&srv.state.db)
        .await
        .unwrap();
    srv.state.storage.delete(godrive::storage::BlobId(blob)).await.unwrap();
    let lost = godrive::jobs::reconcile::run(&srv.state, false).await.unwrap();
    assert_eq!(lost.missing_blobs, vec![blob]);
}

/// Logs in through the JSON API and returns the access token.
async fn login(srv: &TestServer, email: &str, password: &str) -> String {
    let login: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/v1/auth/login", srv.url()))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    login["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn usage_history_is_snapshotted_and_rolled_up_once_per_day() {
    use godrive::jobs::rollup::{self, Outcome};
    let srv = TestServer::start_with(
        Backend::Fs,
        &[
            ("GODRIVE_ADMIN_EMAIL", "history@example.com"),
            ("GODRIVE_ADMIN_PASSWORD", "history-password"),
        ],
    )
    .await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let b = unique("hist");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    for (key, size) in [("a", 1000usize), ("b", 3000)] {
        let body = vec![1u8; size];
        s3.put_object()
            .bucket(&b)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap();
    }
    s3.delete_object().bucket(&b).key("b").send().await.unwrap();

    // Every change was snapshotted in its own transaction: the latest row is the counters.
    let (used, peak, objects): (i64, i64, i64) = sqlx::query_as(
        "select (array_agg(used_bytes order by at desc))[1], max(peak_bytes), (array_agg(object_count order by at desc))[1]
           from usage_snapshots where user_id = $1",
    )
    .bind(u.id)
    .fetch_one(&srv.state.db)
    .await
    .unwrap();
    assert_eq!((used, peak, objects), (1000, 4000, 1));

    srv.state.requests.flush(&srv.state.db).await.unwrap();
    let requests = godrive::db::usage::requests_of(&srv.state.db, u.id).await.unwrap();
    assert_eq!(requests, 4);
    let http = reqwest::Client::new();
    let admin = login(&srv, "history@example.com", "history-password").await;
    let now = time::OffsetDateTime::now_utc();
    let day = |n: i64| (now.date() + time::Duration::days(n)).to_string();
    let report = |from: String, to: String| {
        let (http, admin) = (http.clone(), admin.clone());
        let url = format!(
            "{}/v1/admin/usage/report?from={from}&to={to}&user_id={}",
            srv.url(),
            u.id
        );
        async move {
            let resp = http.get(url).bearer_auth(admin).send().await.unwrap();
            assert_eq!(resp.status().as_u16(), 200);
            resp.json::<serde_json::Value>().await.unwrap()
        }
    };
    // Today, before any roll-up: live numbers, not final.
    let live = report(day(0), day(0)).await;
    let expect_today = serde_json::json!({
        "day": day(0), "used_bytes": 1000, "peak_bytes": 4000, "objects": 1,
        "requests": requests, "users": 1, "final": false
    });
    assert_eq!(live["days"], serde_json::json!([expect_today]));

    // Four instances race to roll up as if three days had passed: exactly one does it,
    // rolling up today and the two days after it once each.
    let later = now + time::Duration::days(3);
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let db = srv.state.db.clone();
            tokio::spawn(async move { rollup::run(&db, later).await.unwrap() })
        })
        .collect();
    let mut rolled = Vec::new();
    for r in runs {
        match r.await.unwrap() {
            Outcome::Rolled(days) => rolled.extend(days.iter().map(|d| d.to_string())),
            Outcome::Locked => {}
        }
    }
    assert_eq!(rolled, vec![day(0), day(1), day(2)]);
    let rows: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
        "select day::text, used_bytes, object_count, peak_bytes, requests from usage_daily
          where user_id = $1 order by day",
    )
    .bind(u.id)
    .fetch_all(&srv.state.db)
    .await
    .unwrap();
    assert_eq!(
        rows,
        vec![
            (day(0), 1000, 1, 4000, requests),
            (day(1), 1000, 1, 1000, 0),
            (day(2), 1000, 1, 1000, 0),
        ]
    );
    let finals = report(day(0), day(2)).await;
    let days = finals["days"].as_array().unwrap();
    assert_eq!(days.len(), 3);
    assert!(days.iter().all(|d| d["final"] == true), "{finals}");
    assert_eq!(days[0]["peak_bytes"], 4000);
    assert_eq!(days[2]["used_bytes"], 1000);

    // Nothing ran for four days: the next run catches all of them up, and only them.
    match rollup::run(&srv.state.db, now + time::Duration::days(7)).await.unwrap() {
        Outcome::Rolled(days) => {
            let days: Vec<String> = days.iter().map(|d| d.to_string()).collect();
            assert_eq!(days, vec![day(3), day(4), day(5), day(6)]);
        }
        Outcome::Locked => panic!("nobody else holds the lock"),
    }
    let again = rollup::run(&srv.state.db, now + time::Duration::days(7)).await.unwrap();
    assert_eq!(again, Outcome::Rolled(Vec::new()));
    let count: i64 = sqlx::query_scalar("select count(*) from usage_rollups")
        .fetch_one(&srv.state.db)
        .await
        .unwrap();
    assert_eq!(count, 7);

    // Admins only, and dates are checked.
    let user_token = srv.state.tokens.access_token(u.id, "u@example.com", false);
    let url = format!("{}/v1/admin/usage/report?from={}&to={}", srv.url(), day(0), day(0));
    let resp = http.get(&url).bearer_auth(&user_token).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    for query in [
        "from=2026-13-01&to=2026-12-01",
        "from=2026-02-01&to=2026-01-01",
        "from=2020-01-01&to=2026-01-01",
    ] {
        let url = format!("{}/v1/admin/usage/report?{query}", srv.url());
        let resp = http.get(&url).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{query}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "validation_error");
    }
}

/// Two instances flushing request counts for the same rows at the same moment do not
/// deadlock (batches write their rows in one order); the totals add up.
#[tokio::test]
async fn concurrent_flushes_of_the_same_rows_do_not_deadlock() {
    let srv = TestServer::start(Backend::Fs).await;
    let users = [srv.user().await.id, srv.user().await.id, srv.user().await.id];
    let ops: Vec<String> = (0..40).map(|i| format!("Op{i}")).collect();
    let counters = [
        godrive::obs::requests::RequestCounter::default(),
        godrive::obs::requests::RequestCounter::default(),
    ];
    for _round in 0..15 {
        for c in &counters {
            for u in users {
                for op in &ops {
                    c.count(u, op);
                }
            }
        }
        let (a, b) = tokio::join!(counters[0].flush(&srv.state.db), counters[1].flush(&srv.state.db));
        a.unwrap();
        b.unwrap();
    }
    let total = godrive::db::usage::requests_of(&srv.state.db, users[0]).await.unwrap();
    assert_eq!(total, 2 * 15 * 40);
}
