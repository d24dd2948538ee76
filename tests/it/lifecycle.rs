//! Bucket lifecycle rules: stored and read back as S3 documents, refused as S3 refuses
//! them, and applied by the lifecycle job with a lifecycle "day" of two seconds
//! (`GODRIVE_LIFECYCLE_DAY_SECS`): current objects expire by prefix, tags and size,
//! incomplete multipart uploads are aborted, and usage stays exact.

use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleAndOperator, LifecycleRuleFilter, Tag, Transition, TransitionStorageClass,
};

use crate::common::{BACKENDS, TestServer, code_status, unique};

fn rule(id: &str, filter: LifecycleRuleFilter) -> aws_sdk_s3::types::builders::LifecycleRuleBuilder {
    LifecycleRule::builder()
        .id(id)
        .status(ExpirationStatus::Enabled)
        .filter(filter)
}

fn expire_after(days: i32) -> LifecycleExpiration {
    LifecycleExpiration::builder().days(days).build()
}

async fn put(s3: &Client, b: &str, k: &str, body: &[u8], tagging: Option<&str>) {
    s3.put_object()
        .bucket(b)
        .key(k)
        .set_tagging(tagging.map(str::to_owned))
        .body(body.to_vec().into())
        .send()
        .await
        .unwrap();
}

async fn exists(s3: &Client, b: &str, k: &str) -> bool {
    s3.head_object().bucket(b).key(k).send().await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_expire_objects_by_prefix_tags_and_size_and_abort_old_uploads() {
    for backend in BACKENDS {
        let srv = TestServer::start_with(backend, &[("GODRIVE_LIFECYCLE_DAY_SECS", "2")]).await;
        let u = srv.user().await;
        let s3 = srv.client(&u);
        let b = unique("lifecycle");
        s3.create_bucket().bucket(&b).send().await.unwrap();
        let tagged = LifecycleRuleFilter::builder()
            .and(
                LifecycleRuleAndOperator::builder()
                    .prefix("tagged/")
                    .tags(Tag::builder().key("class").value("temp").build().unwrap())
                    .object_size_greater_than(5)
                    .build(),
            )
            .build();
        let config = BucketLifecycleConfiguration::builder()
            .rules(
                rule("tmp", LifecycleRuleFilter::builder().prefix("tmp/").build())
                    .expiration(expire_after(1))
                    .build()
                    .unwrap(),
            )
            .rules(rule("tagged", tagged).expiration(expire_after(1)).build().unwrap())
            .rules(
                rule("uploads", LifecycleRuleFilter::builder().prefix("").build())
                    .abort_incomplete_multipart_upload(
                        AbortIncompleteMultipartUpload::builder()
                            .days_after_initiation(1)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        s3.put_bucket_lifecycle_configuration()
            .bucket(&b)
            .lifecycle_configuration(config)
            .send()
            .await
            .unwrap();
        let got = s3.get_bucket_lifecycle_configuration().bucket(&b).send().await.unwrap();
        let ids: Vec<&str> = got.rules().iter().filter_map(|r| r.id()).collect();
        assert_eq!(ids, ["tmp", "tagged", "uploads"]);
        let and = got.rules()[1].filter().and_then(|f| f.and()).unwrap();
        assert_eq!(and.prefix(), Some("tagged/"));
        assert_eq!(and.object_size_greater_than(), Some(5));

        put(&s3, &b, "tmp/a", b"0123456789", None).await;
        put(&s3, &b, "keep/b", b"0123456789", None).await;
        put(&s3, &b, "tagged/c", b"0123456789", Some("class=temp")).await;
        put(&s3, &b, "tagged/d", b"0123456789", None).await;
        put(&s3, &b, "tagged/e", b"0123", Some("class=temp")).await;
        let up = s3.create_multipart_upload().bucket(&b).key("big").send().await.unwrap();
        s3.upload_part()
            .bucket(&b)
            .key("big")
            .upload_id(up.upload_id().unwrap())
            .part_number(1)
            .body(b"part".to_vec().into())
            .send()
            .await
            .unwrap();

        // A day is two seconds and the job runs every second: within a few seconds the
        // rules have applied, and only to what they select.
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let uploads = s3.list_multipart_uploads().bucket(&b).send().await.unwrap();
            let done =
                !exists(&s3, &b, "tmp/a").await && !exists(&s3, &b, "tagged/c").await && uploads.uploads().is_empty();
            if done {
                break;
            }
            assert!(Instant::now() < deadline, "{backend:?}: the rules did not apply");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        for kept in ["keep/b", "tagged/d", "tagged/e"] {
            assert!(exists(&s3, &b, kept).await, "{backend:?}: {kept} expired");
        }
        let usage = godrive::db::usage::of_user(&srv.state.db, u.id).await.unwrap().unwrap();
        assert_eq!((usage.used_bytes, usage.reserved_bytes), (24, 0), "{backend:?}");
        let report = godrive::jobs::reconcile::run(&srv.state, false).await.unwrap();
        assert!(report.drift.is_empty() && report.missing_blobs.is_empty(), "{report:?}");
        // An object written again after the rules saw it is a new object: it stays a day.
        put(&s3, &b, "tmp/a", b"fresh", None).await;
        assert!(exists(&s3, &b, "tmp/a").await);
        let metrics = reqwest::get(format!("http://{}/metrics", srv.metrics_addr))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics.contains("godrive_lifecycle_total{what=\"expired_objects\"}"),
            "{metrics}"
        );
    }
}

#[tokio::test]
async fn lifecycle_documents_are_checked_as_s3_checks_them() {
    let srv = TestServer::start(crate::common::Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let b = unique("lcrules");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    let res = s3.get_bucket_lifecycle_configuration().bucket(&b).send().await;
    assert_eq!(code_status(res), ("NoSuchLifecycleConfiguration".into(), 404));
    let all = || LifecycleRuleFilter::builder().prefix("").build();
    let send = |rules: Vec<LifecycleRule>| {
        s3.put_bucket_lifecycle_configuration()
            .bucket(&b)
            .lifecycle_configuration(
                BucketLifecycleConfiguration::builder()
                    .set_rules(Some(rules))
                    .build()
                    .unwrap(),
            )
            .send()
    };
    let res = send(vec![rule("zero", all()).expiration(expire_after(0)).build().unwrap()]).await;
    assert_eq!(code_status(res), ("InvalidArgument".into(), 400));
    let res = send(vec![rule("nothing", all()).build().unwrap()]).await;
    assert_eq!(code_status(res), ("InvalidArgument".into(), 400));
    let twice = rule("same", all()).expiration(expire_after(3)).build().unwrap();
    let res = send(vec![twice.clone(), twice.clone()]).await;
    assert_eq!(code_status(res), ("InvalidArgument".into(), 400));
    let transition = rule("cold", all())
        .transitions(
            Transition::builder()
                .days(30)
                .storage_class(TransitionStorageClass::Glacier)
                .build(),
        )
        .build()
        .unwrap();
    let res = send(vec![transition]).await;
    assert_eq!(code_status(res), ("NotImplemented".into(), 501));
    send(vec![twice]).await.unwrap();
    s3.get_bucket_lifecycle_configuration().bucket(&b).send().await.unwrap();
    s3.delete_bucket_lifecycle().bucket(&b).send().await.unwrap();
    let res = s3.get_bucket_lifecycle_configuration().bucket(&b).send().await;
    assert_eq!(code_status(res), ("NoSuchLifecycleConfiguration".into(), 404));
}

/// One instance at a time applies the rules: while another holds the lifecycle lock, a run
/// does nothing.
#[tokio::test]
async fn one_instance_at_a_time_applies_the_rules() {
    let srv = TestServer::start(crate::common::Backend::Fs).await;
    let now = time::OffsetDateTime::now_utc();
    let mut other = srv.state.db.begin().await.unwrap();
    assert!(godrive::db::lifecycle::try_lock(&mut other).await.unwrap());
    assert_eq!(godrive::jobs::lifecycle::run(&srv.state, now).await.unwrap(), None);
    other.rollback().await.unwrap();
    // Free again (the instance's own job may hold it for a moment: it runs at startup).
    let mut ran = false;
    for _ in 0..50 {
        if godrive::jobs::lifecycle::run(&srv.state, now).await.unwrap().is_some() {
            ran = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ran, "the lock was never free again");
}

/// The JSON API shows and replaces a bucket's rules: the same rules S3 clients see.
#[tokio::test]
async fn the_json_api_shows_and_sets_the_rules_s3_sees() {
    let srv = TestServer::start(crate::common::Backend::Fs).await;
    let (http, token, bucket_url) = crate::files::session(&srv).await;
    let base = format!("{}/v1", srv.url());
    let view: serde_json::Value = crate::files::get_json(&http, &bucket_url, &token).await;
    let name = view["name"].as_str().unwrap().to_owned();
    let key: serde_json::Value = http
        .post(format!("{base}/keys"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "lifecycle"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let s3 = crate::common::client_for(
        &srv.url(),
        key["access_key_id"].as_str().unwrap(),
        key["secret_access_key"].as_str().unwrap(),
    );
    let rules_url = format!("{bucket_url}/lifecycle");
    let got: serde_json::Value = crate::files::get_json(&http, &rules_url, &token).await;
    assert_eq!(got["rules"], serde_json::json!([]));

    let set = |rules: serde_json::Value| {
        http.put(&rules_url)
            .bearer_auth(&token)
            .json(&serde_json::json!({ "rules": rules }))
            .send()
    };
    let resp = set(serde_json::json!([{"id": "logs", "prefix": "logs/", "expiration_days": 30}]))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let s3_rules = s3
        .get_bucket_lifecycle_configuration()
        .bucket(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(s3_rules.rules()[0].id(), Some("logs"));
    assert_eq!(s3_rules.rules()[0].expiration().and_then(|e| e.days()), Some(30));
    let got: serde_json::Value = crate::files::get_json(&http, &rules_url, &token).await;
    assert_eq!(got["rules"][0]["prefix"], "logs/");

    // The rules on versions, set here, are what S3 clients see.
    let resp = set(serde_json::json!([
        {"id": "old", "noncurrent_days": 7, "newer_noncurrent_versions": 3},
        {"id": "markers", "expired_object_delete_marker": true},
    ]))
    .await
    .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let s3_rules = s3
        .get_bucket_lifecycle_configuration()
        .bucket(&name)
        .send()
        .await
        .unwrap();
    let noncurrent = s3_rules.rules()[0].noncurrent_version_expiration().unwrap();
    assert_eq!(
        (noncurrent.noncurrent_days(), noncurrent.newer_noncurrent_versions()),
        (Some(7), Some(3))
    );
    let marker = s3_rules.rules()[1]
        .expiration()
        .and_then(|e| e.expired_object_delete_marker());
    assert_eq!(marker, Some(true));
    let got: serde_json::Value = crate::files::get_json(&http, &rules_url, &token).await;
    assert_eq!(got["rules"][0]["newer_noncurrent_versions"], 3);
    assert_eq!(got["rules"][1]["expired_object_delete_marker"], true);

    let resp = set(serde_json::json!([{"id": "bad", "expiration_days": 0}]))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "validation_error");
    assert_eq!(set(serde_json::json!([])).await.unwrap().status().as_u16(), 200);
    let res = s3.get_bucket_lifecycle_configuration().bucket(&name).send().await;
    assert_eq!(code_status(res), ("NoSuchLifecycleConfiguration".into(), 404));
}

/// On a versioned bucket, with a lifecycle day of two seconds: an expired current object
/// is hidden by a delete marker (its bytes stay, noncurrent), noncurrent versions expire
/// beyond the newest one kept, a delete marker left alone goes, an old upload is aborted;
/// usage is exact and reconcile finds no drift.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_expire_current_and_noncurrent_versions_and_lone_markers() {
    use aws_sdk_s3::types::NoncurrentVersionExpiration;
    for backend in BACKENDS {
        let srv = TestServer::start_with(backend, &[("GODRIVE_LIFECYCLE_DAY_SECS", "2")]).await;
        let u = srv.user().await;
        let s3 = srv.client(&u);
        let b = unique("lcversions");
        s3.create_bucket().bucket(&b).send().await.unwrap();
        crate::common::set_versioning(&s3, &b, aws_sdk_s3::types::BucketVersioningStatus::Enabled).await;
        put(&s3, &b, "cur/a", b"0123456789", None).await;
        for body in [&b"v1old"[..], b"v2kept", b"v3curr"] {
            put(&s3, &b, "old/k", body, None).await;
        }
        put(&s3, &b, "gone/x", b"x", None).await;
        s3.delete_object().bucket(&b).key("gone/x").send().await.unwrap();
        let versions = s3
            .list_object_versions()
            .bucket(&b)
            .prefix("gone/")
            .send()
            .await
            .unwrap();
        let only = versions.versions()[0].version_id().unwrap();
        s3.delete_object()
            .bucket(&b)
            .key("gone/x")
            .version_id(only)
            .send()
            .await
            .unwrap();
        let up = s3
            .create_multipart_upload()
            .bucket(&b)
            .key("up/big")
            .send()
            .await
            .unwrap();
        let prefix = |p: &str| LifecycleRuleFilter::builder().prefix(p).build();
        let config = BucketLifecycleConfiguration::builder()
            .rules(rule("cur", prefix("cur/")).expiration(expire_after(1)).build().unwrap())
            .rules(
                rule("old", prefix("old/"))
                    .noncurrent_version_expiration(
                        NoncurrentVersionExpiration::builder()
                            .noncurrent_days(1)
                            .newer_noncurrent_versions(1)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .rules(
                rule("markers", prefix("gone/"))
                    .expiration(
                        LifecycleExpiration::builder()
                            .expired_object_delete_marker(true)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .rules(
                rule("uploads", prefix("up/"))
                    .abort_incomplete_multipart_upload(
                        AbortIncompleteMultipartUpload::builder()
                            .days_after_initiation(1)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        s3.put_bucket_lifecycle_configuration()
            .bucket(&b)
            .lifecycle_configuration(config)
            .send()
            .await
            .unwrap();

        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let all = s3.list_object_versions().bucket(&b).send().await.unwrap();
            let of = |k: &str| {
                all.versions().iter().filter(|v| v.key() == Some(k)).count()
                    + all.delete_markers().iter().filter(|m| m.key() == Some(k)).count()
            };
            let uploads = s3.list_multipart_uploads().bucket(&b).send().await.unwrap();
            let done = !exists(&s3, &b, "cur/a").await
                && of("old/k") == 2
                && of("gone/x") == 0
                && uploads.uploads().is_empty();
            if done {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{backend:?}: the rules did not apply: {all:?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        // The expired object is hidden, not gone: its version is noncurrent.
        let all = s3
            .list_object_versions()
            .bucket(&b)
            .prefix("cur/")
            .send()
            .await
            .unwrap();
        assert_eq!((all.versions().len(), all.delete_markers().len()), (1, 1));
        let kept = s3.get_object().bucket(&b).key("old/k").send().await.unwrap();
        assert_eq!(kept.body.collect().await.unwrap().into_bytes().as_ref(), b"v3curr");
        let report = godrive::jobs::reconcile::run(&srv.state, false).await.unwrap();
        assert!(report.drift.is_empty() && report.missing_blobs.is_empty(), "{report:?}");
        let usage = godrive::db::usage::of_user(&srv.state.db, u.id).await.unwrap().unwrap();
        assert_eq!((usage.used_bytes, usage.object_count), (10 + 6 + 6, 4), "{backend:?}");
        let _ = up;
        srv.assert_no_orphans().await;
    }
}
