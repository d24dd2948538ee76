//! Bucket versioning through the AWS SDK, on both backends: versions made by every kind of
//! write, read and removed by id, delete markers, the suspended state's `null` version,
//! listing and paging versions, and usage that counts every version stored (reconcile at
//! zero drift after each step, no orphaned blob).

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{BucketVersioningStatus, CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier};

use crate::common::{BACKENDS, TestServer, TestUser, code_status, set_versioning, unique};

/// PUTs `body` and returns the version id answered.
async fn put(s3: &Client, b: &str, k: &str, body: &[u8]) -> Option<String> {
    let out = s3
        .put_object()
        .bucket(b)
        .key(k)
        .body(body.to_vec().into())
        .send()
        .await
        .unwrap();
    out.version_id().map(str::to_owned)
}

async fn body(s3: &Client, b: &str, k: &str, version: Option<&str>) -> (Vec<u8>, Option<String>) {
    let out = s3
        .get_object()
        .bucket(b)
        .key(k)
        .set_version_id(version.map(str::to_owned))
        .send()
        .await
        .unwrap();
    let v = out.version_id().map(str::to_owned);
    (out.body.collect().await.unwrap().into_bytes().to_vec(), v)
}

/// Every version of the bucket as (key, version id, latest, marker), in listing order.
async fn versions(s3: &Client, b: &str) -> Vec<(String, String, bool, bool)> {
    let out = s3.list_object_versions().bucket(b).send().await.unwrap();
    let mut all: Vec<(String, String, bool, bool)> = out
        .versions()
        .iter()
        .map(|v| {
            (
                v.key().unwrap().to_owned(),
                v.version_id().unwrap().to_owned(),
                v.is_latest().unwrap(),
                false,
            )
        })
        .chain(out.delete_markers().iter().map(|m| {
            (
                m.key().unwrap().to_owned(),
                m.version_id().unwrap().to_owned(),
                m.is_latest().unwrap(),
                true,
            )
        }))
        .collect();
    // The SDK gives versions and markers apart: by key is order enough here.
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

/// Usage counters (bytes, objects) of the user, after checking they match the rows.
async fn usage(srv: &TestServer, u: &TestUser) -> (i64, i64) {
    let report = godrive::jobs::reconcile::run(&srv.state, false).await.unwrap();
    assert!(report.drift.is_empty() && report.missing_blobs.is_empty(), "{report:?}");
    let now = godrive::db::usage::of_user(&srv.state.db, u.id).await.unwrap().unwrap();
    (now.used_bytes, now.object_count)
}

fn header<'a>(
    err: &'a aws_sdk_s3::error::SdkError<impl std::fmt::Debug, aws_smithy_runtime_api::http::Response>,
    name: &str,
) -> Option<&'a str> {
    err.raw_response().and_then(|r| r.headers().get(name))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_are_kept_read_restored_and_removed_by_id() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let u = srv.user().await;
        let s3 = srv.client(&u);
        let b = unique("versions");
        s3.create_bucket().bucket(&b).send().await.unwrap();
        // Written before versioning: the `null` version; no version id is reported.
        assert_eq!(put(&s3, &b, "k", b"v0").await, None);
        set_versioning(&s3, &b, BucketVersioningStatus::Enabled).await;
        let got = s3.get_bucket_versioning().bucket(&b).send().await.unwrap();
        assert_eq!(got.status(), Some(&BucketVersioningStatus::Enabled));
        // Now the old object reports its `null` version.
        assert_eq!(body(&s3, &b, "k", None).await.1.as_deref(), Some("null"));

        let v1 = put(&s3, &b, "k", b"v1!").await.expect("a version id");
        let v2 = put(&s3, &b, "k", b"v2!!").await.expect("a version id");
        assert_ne!(v1, v2);
        assert!(v1.len() == 32 && v1.chars().all(|c| c.is_ascii_hexdigit()), "{v1}");
        assert_eq!(body(&s3, &b, "k", None).await, (b"v2!!".to_vec(), Some(v2.clone())));
        assert_eq!(body(&s3, &b, "k", Some(&v1)).await.0, b"v1!");
        assert_eq!(body(&s3, &b, "k", Some("null")).await.0, b"v0");
        let head = s3
            .head_object()
            .bucket(&b)
            .key("k")
            .version_id(&v1)
            .send()
            .await
            .unwrap();
        assert_eq!((head.content_length(), head.version_id()), (Some(3), Some(v1.as_str())));
        // Every version is stored and counted.
        assert_eq!(usage(&srv, &u).await, (2 + 3 + 4, 3), "{backend:?}");

        // A delete without a version id writes a delete marker.
        let del = s3.delete_object().bucket(&b).key("k").send().await.unwrap();
        assert_eq!(del.delete_marker(), Some(true));
        let marker = del.version_id().expect("the marker's id").to_owned();
        let err = s3.get_object().bucket(&b).key("k").send().await.expect_err("hidden");
        assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(404));
        assert_eq!(header(&err, "x-amz-delete-marker"), Some("true"));
        assert_eq!(header(&err, "x-amz-version-id"), Some(marker.as_str()));
        let res = s3.get_object().bucket(&b).key("k").version_id(&marker).send().await;
        assert_eq!(code_status(res).1, 405);
        let res = s3
            .copy_object()
            .bucket(&b)
            .key("from-marker")
            .copy_source(format!("{b}/k?versionId={marker}"))
            .send()
            .await;
        assert_eq!(code_status(res), ("InvalidRequest".into(), 400));
        assert_eq!(body(&s3, &b, "k", Some(&v2)).await.0, b"v2!!", "older versions stay");
        let listed = versions(&s3, &b).await;
        assert_eq!(listed.len(), 4);
        let latest: Vec<_> = listed.iter().filter(|v| v.2).collect();
        assert_eq!(latest, [&("k".to_owned(), marker.clone(), true, true)]);
        // A marker costs an object slot, no bytes.
        assert_eq!(usage(&srv, &u).await, (9, 4), "{backend:?}");
        // A plain listing no longer shows the key.
        let list = s3.list_objects_v2().bucket(&b).send().await.unwrap();
        assert!(list.contents().is_empty());

        // Deleting the marker by id restores the object.
        let del = s3
            .delete_object()
            .bucket(&b)
            .key("k")
            .version_id(&marker)
            .send()
            .await
            .unwrap();
        assert_eq!(
            (del.delete_marker(), del.version_id()),
            (Some(true), Some(marker.as_str()))
        );
        assert_eq!(body(&s3, &b, "k", None).await, (b"v2!!".to_vec(), Some(v2.clone())));
        // Deleting the current version by id makes the one before it current.
        s3.delete_object()
            .bucket(&b)
            .key("k")
            .version_id(&v2)
            .send()
            .await
            .unwrap();
        assert_eq!(body(&s3, &b, "k", None).await, (b"v1!".to_vec(), Some(v1.clone())));
        let res = s3.get_object().bucket(&b).key("k").version_id(&v2).send().await;
        assert_eq!(code_status(res), ("NoSuchVersion".into(), 404));
        assert_eq!(usage(&srv, &u).await, (5, 2), "{backend:?}");

        // Tags and ACLs by version.
        let tagging = aws_sdk_s3::types::Tagging::builder()
            .tag_set(
                aws_sdk_s3::types::Tag::builder()
                    .key("old")
                    .value("yes")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        s3.put_object_tagging()
            .bucket(&b)
            .key("k")
            .version_id("null")
            .tagging(tagging)
            .send()
            .await
            .unwrap();
        let tags = s3
            .get_object_tagging()
            .bucket(&b)
            .key("k")
            .version_id("null")
            .send()
            .await
            .unwrap();
        assert_eq!((tags.tag_set().len(), tags.version_id()), (1, Some("null")));
        let current = s3.get_object_tagging().bucket(&b).key("k").send().await.unwrap();
        assert!(current.tag_set().is_empty(), "the current version has its own tags");
        s3.get_object_acl()
            .bucket(&b)
            .key("k")
            .version_id("null")
            .send()
            .await
            .unwrap();
        let res = s3.get_object_acl().bucket(&b).key("k").version_id(&v2).send().await;
        assert_eq!(code_status(res), ("NoSuchVersion".into(), 404));

        // CopyObject from a version: the copy is a new version of its own key.
        let copy = s3
            .copy_object()
            .bucket(&b)
            .key("copy")
            .copy_source(format!("{b}/k?versionId=null"))
            .send()
            .await
            .unwrap();
        assert_eq!(copy.copy_source_version_id(), Some("null"));
        let copy_version = copy.version_id().expect("a version id").to_owned();
        assert_eq!(body(&s3, &b, "copy", None).await, (b"v0".to_vec(), Some(copy_version)));

        // Multipart on a versioned bucket makes a version too.
        let up = s3.create_multipart_upload().bucket(&b).key("mp").send().await.unwrap();
        let id = up.upload_id().unwrap();
        let part = s3
            .upload_part()
            .bucket(&b)
            .key("mp")
            .upload_id(id)
            .part_number(1)
            .body(b"parts".to_vec().into())
            .send()
            .await
            .unwrap();
        let done = s3
            .complete_multipart_upload()
            .bucket(&b)
            .key("mp")
            .upload_id(id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .parts(
                        CompletedPart::builder()
                            .part_number(1)
                            .e_tag(part.e_tag().unwrap())
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let mp_version = done.version_id().expect("a version id").to_owned();
        // A browser form upload (POST Object) makes a version too.
        let fields = crate::common::post_form_fields(&u.access_key, &u.secret, &b, &[("key", "form")]);
        let form = fields
            .into_iter()
            .fold(reqwest::multipart::Form::new(), |f, (k, v)| f.text(k, v))
            .part("file", reqwest::multipart::Part::bytes(b"f".to_vec()).file_name("f"));
        let resp = reqwest::Client::new()
            .post(format!("{}/{b}", srv.url()))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{backend:?}");
        let form_version = resp
            .headers()
            .get("x-amz-version-id")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(body(&s3, &b, "form", None).await, (b"f".to_vec(), Some(form_version)));
        put(&s3, &b, "mp", b"over").await;
        assert_eq!(body(&s3, &b, "mp", Some(&mp_version)).await.0, b"parts");
        assert_eq!(usage(&srv, &u).await, (5 + 2 + 5 + 4 + 1, 6), "{backend:?}");

        // A bucket holding versions or markers is not empty.
        let res = s3.delete_bucket().bucket(&b).send().await;
        assert_eq!(code_status(res), ("BucketNotEmpty".into(), 409));
        // DeleteObjects with version ids removes those versions; without, writes markers.
        let ids = |k: &str, v: Option<&str>| {
            ObjectIdentifier::builder()
                .key(k)
                .set_version_id(v.map(str::to_owned))
                .build()
                .unwrap()
        };
        let all = versions(&s3, &b).await;
        let mut batch: Vec<ObjectIdentifier> = all.iter().map(|(k, v, _, _)| ids(k, Some(v))).collect();
        batch.push(ids("ghost", None));
        let out = s3
            .delete_objects()
            .bucket(&b)
            .delete(Delete::builder().set_objects(Some(batch)).build().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(out.deleted().len(), all.len() + 1);
        let ghost = out.deleted().iter().find(|d| d.key() == Some("ghost")).unwrap();
        assert_eq!(ghost.delete_marker(), Some(true));
        let ghost_marker = ghost.delete_marker_version_id().unwrap().to_owned();
        assert_eq!(usage(&srv, &u).await, (0, 1), "{backend:?}");
        s3.delete_object()
            .bucket(&b)
            .key("ghost")
            .version_id(&ghost_marker)
            .send()
            .await
            .unwrap();
        assert_eq!(usage(&srv, &u).await, (0, 0), "{backend:?}");
        srv.assert_no_orphans().await;
        s3.delete_bucket().bucket(&b).send().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_bucket_replaces_the_null_version_and_keeps_the_others() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let u = srv.user().await;
        let s3 = srv.client(&u);
        let b = unique("suspended");
        s3.create_bucket().bucket(&b).send().await.unwrap();
        set_versioning(&s3, &b, BucketVersioningStatus::Enabled).await;
        let v1 = put(&s3, &b, "k", b"one").await.unwrap();
        set_versioning(&s3, &b, BucketVersioningStatus::Suspended).await;
        let got = s3.get_bucket_versioning().bucket(&b).send().await.unwrap();
        assert_eq!(got.status(), Some(&BucketVersioningStatus::Suspended));
        assert_eq!(put(&s3, &b, "k", b"null-a").await.as_deref(), Some("null"));
        assert_eq!(put(&s3, &b, "k", b"null-bb").await.as_deref(), Some("null"));
        // The second write replaced the `null` version; v1 stays.
        let listed = versions(&s3, &b).await;
        let ids: Vec<&str> = listed.iter().map(|v| v.1.as_str()).collect();
        assert_eq!(ids.len(), 2, "{listed:?}");
        assert!(ids.contains(&"null") && ids.contains(&v1.as_str()));
        assert_eq!(usage(&srv, &u).await, (3 + 7, 2), "{backend:?}");
        // A delete writes a `null` delete marker in place of the `null` version.
        let del = s3.delete_object().bucket(&b).key("k").send().await.unwrap();
        assert_eq!((del.delete_marker(), del.version_id()), (Some(true), Some("null")));
        let listed = versions(&s3, &b).await;
        assert_eq!(
            listed
                .iter()
                .map(|v| (v.1.as_str(), v.2, v.3))
                .collect::<Vec<_>>()
                .len(),
            2
        );
        assert!(listed.contains(&("k".into(), "null".into(), true, true)), "{listed:?}");
        assert_eq!(usage(&srv, &u).await, (3, 2), "{backend:?}");
        // A write replaces the `null` marker.
        put(&s3, &b, "k", b"back").await;
        assert_eq!(body(&s3, &b, "k", None).await, (b"back".to_vec(), Some("null".into())));
        assert_eq!(usage(&srv, &u).await, (3 + 4, 2), "{backend:?}");
        // Enabled again: the `null` version becomes noncurrent like any other.
        set_versioning(&s3, &b, BucketVersioningStatus::Enabled).await;
        let v3 = put(&s3, &b, "k", b"three").await.unwrap();
        assert_ne!(v3, "null");
        assert_eq!(body(&s3, &b, "k", Some("null")).await.0, b"back");
        assert_eq!(usage(&srv, &u).await, (3 + 4 + 5, 3), "{backend:?}");
        srv.assert_no_orphans().await;
    }
}

/// Versions page by key-marker and version-id-marker, a page ending inside a key, with a
/// prefix, a delimiter and URL encoding; every version is listed once, in S3's order.
#[tokio::test]
async fn versions_page_by_key_and_version_markers() {
    for backend in BACKENDS {
        page_through_versions(backend).await;
    }
}

async fn page_through_versions(backend: crate::common::Backend) {
    let srv = TestServer::start(backend).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let b = unique("vpages");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    put(&s3, &b, "a/x", b"null").await;
    set_versioning(&s3, &b, BucketVersioningStatus::Enabled).await;
    let mut expected: Vec<(String, String)> = Vec::new();
    for key in ["a/x", "a/y", "b z", "c"] {
        let mut ids = Vec::new();
        if key == "a/x" {
            ids.push("null".to_owned());
        }
        for i in 0..3 {
            ids.push(put(&s3, &b, key, format!("{key}{i}").as_bytes()).await.unwrap());
        }
        if key == "c" {
            let del = s3.delete_object().bucket(&b).key(key).send().await.unwrap();
            ids.push(del.version_id().unwrap().to_owned());
        }
        expected.extend(ids.into_iter().rev().map(|v| (key.to_owned(), v)));
    }
    for max in [1, 2, 3, 5, 1000] {
        let mut got = Vec::new();
        let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
        loop {
            let out = s3
                .list_object_versions()
                .bucket(&b)
                .max_keys(max)
                .set_key_marker(key_marker.clone())
                .set_version_id_marker(version_marker.clone())
                .send()
                .await
                .unwrap();
            let mut page: Vec<(String, String, bool)> = out
                .versions()
                .iter()
                .map(|v| {
                    (
                        v.key().unwrap().to_owned(),
                        v.version_id().unwrap().to_owned(),
                        v.is_latest().unwrap(),
                    )
                })
                .chain(out.delete_markers().iter().map(|m| {
                    (
                        m.key().unwrap().to_owned(),
                        m.version_id().unwrap().to_owned(),
                        m.is_latest().unwrap(),
                    )
                }))
                .collect();
            assert!(page.len() <= max as usize);
            // Within a page the SDK separates versions from markers: put them back in order.
            page.sort_by_key(|(k, v, _)| expected.iter().position(|e| e.0 == *k && e.1 == *v).unwrap());
            got.extend(page);
            if !out.is_truncated().unwrap() {
                break;
            }
            key_marker = out.next_key_marker().map(str::to_owned);
            version_marker = out.next_version_id_marker().map(str::to_owned);
        }
        let pairs: Vec<(String, String)> = got.iter().map(|(k, v, _)| (k.clone(), v.clone())).collect();
        assert_eq!(pairs, expected, "max-keys {max}");
        // The first version of each key is its latest, whichever page it fell on.
        for (i, (k, _, latest)) in got.iter().enumerate() {
            assert_eq!(*latest, i == 0 || got[i - 1].0 != *k, "max-keys {max}: {k}");
        }
    }
    let out = s3
        .list_object_versions()
        .bucket(&b)
        .delimiter("/")
        .encoding_type(aws_sdk_s3::types::EncodingType::Url)
        .send()
        .await
        .unwrap();
    let prefixes: Vec<&str> = out.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(prefixes, ["a/"]);
    // Keys come back URL-encoded, as asked.
    assert!(out.versions().iter().any(|v| v.key() == Some("b%20z")), "{out:?}");
    let out = s3.list_object_versions().bucket(&b).prefix("a/y").send().await.unwrap();
    assert_eq!(out.versions().len(), 3);
    let res = s3
        .list_object_versions()
        .bucket(&b)
        .key_marker("a/x")
        .version_id_marker("0123456789abcdef0123456789abcdef")
        .send()
        .await;
    assert_eq!(code_status(res), ("InvalidArgument".into(), 400));
}

/// On a versioned bucket an overwrite frees nothing: its whole length is reserved and a
/// write over the quota is refused before its bytes are accepted.
#[tokio::test]
async fn an_overwrite_on_a_versioned_bucket_is_charged_in_full() {
    for backend in BACKENDS {
        charge_an_overwrite_in_full(backend).await;
    }
}

async fn charge_an_overwrite_in_full(backend: crate::common::Backend) {
    let srv = TestServer::start(backend).await;
    let u = srv.user().await;
    sqlx::query("update users set quota_bytes = 1000 where id = $1")
        .bind(u.id)
        .execute(&srv.state.db)
        .await
        .unwrap();
    let s3 = srv.client(&u);
    let b = unique("vquota");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    put(&s3, &b, "k", &[1; 600]).await;
    // Unversioned, an overwrite of the same size fits.
    put(&s3, &b, "k", &[2; 600]).await;
    set_versioning(&s3, &b, BucketVersioningStatus::Enabled).await;
    let res = s3
        .put_object()
        .bucket(&b)
        .key("k")
        .body(vec![3; 600].into())
        .send()
        .await;
    assert_eq!(code_status(res), ("QuotaExceeded".into(), 403));
    put(&s3, &b, "k", &[4; 400]).await;
    assert_eq!(usage(&srv, &u).await, (1000, 2));
    // Removing the noncurrent version gives its room back.
    s3.delete_object()
        .bucket(&b)
        .key("k")
        .version_id("null")
        .send()
        .await
        .unwrap();
    assert_eq!(usage(&srv, &u).await, (400, 1));
    srv.assert_no_orphans().await;
}

async fn json_at(http: &reqwest::Client, url: String, token: &str) -> serde_json::Value {
    crate::files::get_json(http, &url, token).await
}

/// The JSON API shows and sets a bucket's versioning, lists a file's versions (by any
/// version's file id, or by key), downloads one, restores one (a new current version) and
/// deletes one for good; another user reaches none of them.
#[tokio::test]
async fn the_json_api_lists_downloads_restores_and_deletes_versions() {
    use reqwest::multipart::{Form, Part};
    use serde_json::{Value, json};
    let srv = TestServer::start(crate::common::Backend::Fs).await;
    let (http, token, bucket) = crate::files::session(&srv).await;
    let get = |url: String| json_at(&http, url, &token);
    let view: Value = get(bucket.clone()).await;
    assert_eq!(view["versioning"], "off");
    let set = |status: &str| {
        http.put(format!("{bucket}/versioning"))
            .bearer_auth(&token)
            .json(&json!({ "status": status }))
            .send()
    };
    assert_eq!(set("off").await.unwrap().status().as_u16(), 400);
    let view: Value = set("enabled").await.unwrap().json().await.unwrap();
    assert_eq!(view["versioning"], "enabled");
    let upload = |text: &'static str| {
        let form = Form::new().part("file", Part::bytes(text.as_bytes().to_vec()).file_name("notes.txt"));
        http.post(format!("{bucket}/files"))
            .bearer_auth(&token)
            .multipart(form)
            .send()
    };
    let first: Value = upload("first draft").await.unwrap().json().await.unwrap();
    let second: Value = upload("second").await.unwrap().json().await.unwrap();
    assert_eq!(first["id"], second["id"], "a file keeps its id while it is overwritten");

    // Listed from either version's id, newest first, and by key.
    let page: Value = get(format!("{bucket}/files/{}/versions", first["id"].as_str().unwrap())).await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        (items[0]["id"].clone(), items[0]["is_latest"].clone()),
        (second["id"].clone(), json!(true))
    );
    assert_eq!(items[1]["is_latest"], false);
    let old_version = items[1]["version_id"].as_str().unwrap().to_owned();
    let by_key: Value = get(format!("{bucket}/versions?key=notes.txt&limit=1")).await;
    assert_eq!(by_key["items"][0]["id"], second["id"]);
    let rest: Value = get(format!(
        "{bucket}/versions?key=notes.txt&limit=1&cursor={}",
        by_key["next_cursor"].as_str().unwrap()
    ))
    .await;
    assert_eq!(rest["items"][0]["version_id"], old_version.as_str());
    assert!(rest["next_cursor"].is_null());

    // Downloaded and restored by version id.
    let file_id = second["id"].as_str().unwrap();
    let old_url = format!("{bucket}/files/{file_id}/versions/{old_version}");
    let bytes = http
        .get(format!("{old_url}/content"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(bytes.text().await.unwrap(), "first draft");
    let resp = http
        .post(format!("{old_url}/restore"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let restored: Value = resp.json().await.unwrap();
    let current = http
        .get(format!("{bucket}/files/{}/content", restored["id"].as_str().unwrap()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(current.text().await.unwrap(), "first draft");
    let page: Value = get(format!("{bucket}/files/{file_id}/versions")).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);

    // Another user reaches none of it.
    let (other_http, other_token, _) = crate::files::session(&srv).await;
    for url in [
        format!("{old_url}/content"),
        format!("{bucket}/files/{file_id}/versions"),
    ] {
        let resp = other_http.get(&url).bearer_auth(&other_token).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 404, "{url}");
    }
    let resp = other_http
        .delete(&old_url)
        .bearer_auth(&other_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);

    // Deleting the file writes a delete marker; deleting a version removes it for good.
    let resp = http
        .delete(format!("{bucket}/files/{}", restored["id"].as_str().unwrap()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let page: Value = get(format!("{bucket}/files/{file_id}/versions")).await;
    assert_eq!(page["items"][0]["is_delete_marker"], true);
    let resp = http.delete(&old_url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let resp = http.delete(&old_url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let page: Value = get(format!("{bucket}/files/{file_id}/versions")).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    let report = godrive::jobs::reconcile::run(&srv.state, false).await.unwrap();
    assert!(report.drift.is_empty() && report.missing_blobs.is_empty(), "{report:?}");
    srv.assert_no_orphans().await;
}
