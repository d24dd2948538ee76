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

    let report = godrive::reconcile::run(&srv.state, false).await.unwrap();
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
    let report = godrive::reconcile::run(&srv.state, false).await.unwrap();
    assert_eq!(report.drift.len(), 1);
    assert_eq!(
        (report.drift[0].counted_bytes, report.drift[0].actual_bytes),
        (1333, 1234)
    );
    let fixed = godrive::reconcile::run(&srv.state, true).await.unwrap();
    assert!(fixed.fixed && fixed.drift.len() == 1);
    let again = godrive::reconcile::run(&srv.state, false).await.unwrap();
    assert!(again.drift.is_empty());
    assert_eq!(again.unreferenced_blobs, 0);
    // A blob lost from the backend is reported.
    let blob: uuid::Uuid = sqlx::query_scalar("select blob_id from objects")
        .fetch_one(&srv.state.db)
        .await
        .unwrap();
    srv.state.storage.delete(godrive::storage::BlobId(blob)).await.unwrap();
    let lost = godrive::reconcile::run(&srv.state, false).await.unwrap();
    assert_eq!(lost.missing_blobs, vec![blob]);
}
