//! Listings served from PostgreSQL: exact pagination over 10,000 keys, v1 and v2.

use std::collections::BTreeSet;

use aws_sdk_s3::types::EncodingType;
use godrive::db::objects::{Headers, NewObject, commit_put};
use uuid::Uuid;

use crate::common::{Backend, TestServer, unique};

/// What S3 should list: keys under `prefix`, rolled up at `delimiter`, in byte order.
fn expected(keys: &BTreeSet<String>, prefix: &str, delimiter: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for k in keys.iter().filter(|k| k.starts_with(prefix)) {
        let entry = match delimiter.and_then(|d| k[prefix.len()..].find(d).map(|i| (i, d))) {
            Some((i, d)) => k[..prefix.len() + i + d.len()].to_owned(),
            None => k.clone(),
        };
        if out.last() != Some(&entry) {
            out.push(entry);
        }
    }
    out
}

/// Inserts rows directly (the listing never touches bytes), in one transaction.
async fn seed(srv: &TestServer, bucket: &str, keys: &BTreeSet<String>) {
    let bucket_id: Uuid = sqlx::query_scalar("select id from buckets where name = $1")
        .bind(bucket)
        .fetch_one(&srv.state.db)
        .await
        .unwrap();
    let mut tx = srv.state.db.begin().await.unwrap();
    for k in keys {
        let new = NewObject {
            bucket_id,
            key: k.clone(),
            size: 1,
            etag: "0cc175b9c0f1b6a831c399e269772661".into(),
            md5: None,
            sha256: None,
            headers: Headers::default(),
            checksums: Default::default(),
            checksum_type: None,
            parts_count: None,
            part_sizes: None,
            blob_id: Uuid::new_v4(),
            part_blobs: None,
            reservations: Vec::new(),
            condition: None,
            acl: None,
        };
        commit_put(&mut tx, &new).await.unwrap();
    }
    tx.commit().await.unwrap();
}

fn key_set() -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for i in 0..10_000u32 {
        let k = match i % 5 {
            0 => format!("top-{i:05}"),
            1 => format!("photos/{}/img-{i:05}.jpg", 2000 + i % 7),
            2 => format!("photos/{}/raw/{i:05}.raw", 2000 + i % 3),
            3 => format!("docs/é-{}/{i:05} note.txt", i % 11),
            _ => format!("docs/{i:05}"),
        };
        keys.insert(k);
    }
    keys
}

async fn list_v2(
    s3: &aws_sdk_s3::Client,
    b: &str,
    prefix: &str,
    delim: Option<&str>,
    page: i32,
) -> (Vec<String>, usize) {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut req = s3.list_objects_v2().bucket(b).prefix(prefix).max_keys(page);
        if let Some(d) = delim {
            req = req.delimiter(d);
        }
        if let Some(t) = &token {
            req = req.continuation_token(t);
        }
        let resp = req.send().await.unwrap();
        pages += 1;
        let mut entries: Vec<String> = resp.contents().iter().map(|o| o.key().unwrap().to_owned()).collect();
        for o in resp.contents() {
            assert!(
                o.e_tag().is_some_and(|e| e.starts_with('"')),
                "every Contents carries its ETag"
            );
        }
        entries.extend(resp.common_prefixes().iter().map(|p| p.prefix().unwrap().to_owned()));
        entries.sort();
        assert!(entries.len() <= page as usize);
        assert_eq!(resp.key_count(), Some(entries.len() as i32));
        out.extend(entries);
        if resp.is_truncated() == Some(true) {
            token = Some(resp.next_continuation_token().unwrap().to_owned());
        } else {
            assert!(resp.next_continuation_token().is_none());
            return (out, pages);
        }
    }
}

async fn list_v1(s3: &aws_sdk_s3::Client, b: &str, prefix: &str, delim: Option<&str>, page: i32) -> Vec<String> {
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let mut req = s3.list_objects().bucket(b).prefix(prefix).max_keys(page);
        if let Some(d) = delim {
            req = req.delimiter(d);
        }
        if let Some(m) = &marker {
            req = req.marker(m);
        }
        let resp = req.send().await.unwrap();
        let mut entries: Vec<String> = resp.contents().iter().map(|o| o.key().unwrap().to_owned()).collect();
        entries.extend(resp.common_prefixes().iter().map(|p| p.prefix().unwrap().to_owned()));
        entries.sort();
        out.extend(entries);
        if resp.is_truncated() == Some(true) {
            marker = Some(resp.next_marker().unwrap().to_owned());
        } else {
            return out;
        }
    }
}

#[tokio::test]
async fn ten_thousand_keys_paginate_exactly_in_v1_and_v2() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let b = unique("many");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    let keys = key_set();
    assert_eq!(keys.len(), 10_000);
    seed(&srv, &b, &keys).await;

    let cases: &[(&str, Option<&str>, i32)] = &[
        ("", None, 1000),
        ("", Some("/"), 2),
        ("photos/", None, 333),
        ("photos/", Some("/"), 1),
        ("photos/2001/", Some("/"), 250),
        ("docs/", Some("/"), 7),
        ("docs/é-3/", Some("/"), 50),
        ("top-", Some("/"), 1000),
        ("nothing/", Some("/"), 10),
        ("", Some("raw"), 400),
    ];
    for (prefix, delim, page) in cases {
        let want = expected(&keys, prefix, *delim);
        let (got, pages) = list_v2(&s3, &b, prefix, *delim, *page).await;
        assert_eq!(got.len(), want.len(), "v2 {prefix:?} {delim:?} {page}");
        assert_eq!(got, want, "v2 {prefix:?} {delim:?} {page}");
        assert_eq!(pages, want.len().div_ceil(*page as usize).max(1), "v2 page count");
        let got = list_v1(&s3, &b, prefix, *delim, *page).await;
        assert_eq!(got, want, "v1 {prefix:?} {delim:?} {page}");
    }

    // start-after, and an empty delimiter meaning none.
    let resp = s3
        .list_objects_v2()
        .bucket(&b)
        .start_after("top-09990")
        .send()
        .await
        .unwrap();
    let got: Vec<_> = resp.contents().iter().map(|o| o.key().unwrap()).collect();
    assert_eq!(got, vec!["top-09995"]);
    let resp = s3
        .list_objects_v2()
        .bucket(&b)
        .prefix("docs/é-1/")
        .delimiter("")
        .max_keys(1000)
        .send()
        .await
        .unwrap();
    assert!(resp.common_prefixes().is_empty());
    assert_eq!(resp.contents().len(), expected(&keys, "docs/é-1/", None).len());
}

#[tokio::test]
async fn url_encoding_type_encodes_keys_and_prefixes() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let b = unique("enc");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    for k in ["a b/c", "plus+é", "x"] {
        s3.put_object()
            .bucket(&b)
            .key(k)
            .body(b"1".to_vec().into())
            .send()
            .await
            .unwrap();
    }
    let resp = s3
        .list_objects_v2()
        .bucket(&b)
        .delimiter("/")
        .encoding_type(EncodingType::Url)
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = resp.contents().iter().map(|o| o.key().unwrap()).collect();
    assert_eq!(keys, vec!["plus%2B%C3%A9", "x"]);
    assert_eq!(resp.common_prefixes()[0].prefix(), Some("a%20b/"));
    let resp = s3.list_objects_v2().bucket(&b).send().await.unwrap();
    let keys: Vec<_> = resp.contents().iter().map(|o| o.key().unwrap()).collect();
    assert_eq!(keys, vec!["a b/c", "plus+é", "x"]);
}

/// Owners are listed as in S3: always in ListObjects (v1), in ListObjectsV2 with
/// `fetch-owner=true` only.
#[tokio::test]
async fn owners_are_listed_in_v1_and_with_fetch_owner() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let b = unique("owner");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    s3.put_object()
        .bucket(&b)
        .key("k")
        .body(b"v".to_vec().into())
        .send()
        .await
        .unwrap();
    let me = u.id.to_string();
    let v2 = s3.list_objects_v2().bucket(&b).send().await.unwrap();
    assert!(v2.contents()[0].owner().is_none());
    let v2 = s3.list_objects_v2().bucket(&b).fetch_owner(true).send().await.unwrap();
    assert_eq!(v2.contents()[0].owner().and_then(|o| o.id()), Some(me.as_str()));
    let v1 = s3.list_objects().bucket(&b).send().await.unwrap();
    assert_eq!(v1.contents()[0].owner().and_then(|o| o.id()), Some(me.as_str()));
}

/// ListObjectVersions on an unversioned bucket: every object is its `null` version, latest,
/// paged by key marker, grouped by delimiter, as S3 lists a bucket never versioned.
#[tokio::test]
async fn every_object_is_listed_as_its_null_version() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let b = unique("versions");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    let keys = ["a", "b", "dir/x", "dir/y", "c"];
    for k in keys {
        s3.put_object()
            .bucket(&b)
            .key(k)
            .body(k.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let (mut key_marker, mut version_marker): (Option<String>, Option<String>) = (None, None);
    loop {
        let out = s3
            .list_object_versions()
            .bucket(&b)
            .max_keys(2)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .unwrap();
        for v in out.versions() {
            assert_eq!((v.version_id(), v.is_latest()), (Some("null"), Some(true)));
            assert_eq!(v.size(), Some(v.key().unwrap().len() as i64));
            seen.push(v.key().unwrap().to_owned());
        }
        if out.is_truncated() != Some(true) {
            break;
        }
        key_marker = out.next_key_marker().map(str::to_owned);
        version_marker = out.next_version_id_marker().map(str::to_owned);
        assert_eq!(version_marker.as_deref(), Some("null"));
    }
    assert_eq!(seen, ["a", "b", "c", "dir/x", "dir/y"]);
    let grouped = s3
        .list_object_versions()
        .bucket(&b)
        .delimiter("/")
        .send()
        .await
        .unwrap();
    assert_eq!(grouped.versions().len(), 3);
    let dirs: Vec<&str> = grouped.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(dirs, ["dir/"]);
    let res = s3
        .list_object_versions()
        .bucket(&b)
        .version_id_marker("null")
        .send()
        .await;
    assert_eq!(crate::common::code_status(res), ("InvalidArgument".into(), 400));
}
