//! Object operations, each against both backends.

use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{Delete, MetadataDirective, ObjectIdentifier};
use md5::{Digest as _, Md5};
use sha2::Sha256;

use crate::common::{BACKENDS, TestServer, code_status, unique};

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

async fn setup(srv: &TestServer) -> (aws_sdk_s3::Client, String) {
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let bucket = unique("obj");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    (s3, bucket)
}

#[tokio::test]
async fn put_get_head_round_trip_with_headers_and_metadata() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let (s3, b) = setup(&srv).await;
        let body = pattern(300_000);
        let expires = DateTime::from_secs(2_000_000_000);
        let put = s3
            .put_object()
            .bucket(&b)
            .key("dir/file.bin")
            .body(body.clone().into())
            .content_type("application/x-test")
            .content_disposition("attachment; filename=\"f.bin\"")
            .content_encoding("identity")
            .cache_control("max-age=60")
            .expires(expires)
            .metadata("color", "blue")
            .metadata("mtime", "1700000000.5")
            .send()
            .await
            .unwrap();
        let md5 = hex::encode(Md5::digest(&body));
        assert_eq!(put.e_tag(), Some(format!("\"{md5}\"").as_str()), "{backend:?}");

        let got = s3.get_object().bucket(&b).key("dir/file.bin").send().await.unwrap();
        assert_eq!(got.e_tag(), Some(format!("\"{md5}\"").as_str()));
        assert_eq!(got.content_type(), Some("application/x-test"));
        assert_eq!(got.content_disposition(), Some("attachment; filename=\"f.bin\""));
        assert_eq!(got.content_encoding(), Some("identity"));
        assert_eq!(got.cache_control(), Some("max-age=60"));
        assert_eq!(got.content_length(), Some(300_000));
        assert_eq!(got.metadata().unwrap().get("color").map(String::as_str), Some("blue"));
        assert_eq!(
            got.metadata().unwrap().get("mtime").map(String::as_str),
            Some("1700000000.5")
        );
        assert!(got.last_modified().is_some());
        let bytes = got.body.collect().await.unwrap().into_bytes();
        assert_eq!(bytes.as_ref(), body.as_slice());

        let head = s3.head_object().bucket(&b).key("dir/file.bin").send().await.unwrap();
        assert_eq!(head.content_length(), Some(300_000));
        assert_eq!(head.content_type(), Some("application/x-test"));
        assert_eq!(head.metadata().unwrap().get("color").map(String::as_str), Some("blue"));
        assert_eq!(head.expires_string(), Some("Wed, 18 May 2033 03:33:20 GMT"));

        // SHA-256 was computed while streaming and stored with the row.
        let sha: Vec<u8> = sqlx::query_scalar("select sha256 from objects where key = 'dir/file.bin'")
            .fetch_one(&srv.state.db)
            .await
            .unwrap();
        assert_eq!(sha, Sha256::digest(&body).to_vec());
        srv.assert_no_orphans().await;
    }
}

#[tokio::test]
async fn empty_objects_and_missing_keys() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let (s3, b) = setup(&srv).await;
        s3.put_object()
            .bucket(&b)
            .key("empty")
            .body(ByteStream::from_static(b""))
            .send()
            .await
            .unwrap();
        let got = s3.get_object().bucket(&b).key("empty").send().await.unwrap();
        assert_eq!(got.e_tag(), Some("\"d41d8cd98f00b204e9800998ecf8427e\""));
        assert!(got.body.collect().await.unwrap().into_bytes().is_empty());

        let res = s3.get_object().bucket(&b).key("nope").send().await;
        assert_eq!(code_status(res), ("NoSuchKey".into(), 404), "{backend:?}");
        let res = s3.head_object().bucket(&b).key("nope").send().await;
        assert_eq!(code_status(res).1, 404);
        let res = s3.get_object().bucket(unique("nobucket")).key("k").send().await;
        assert_eq!(code_status(res), ("NoSuchBucket".into(), 404));
    }
}

#[tokio::test]
async fn ranges_return_206_and_unsatisfiable_ones_416() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let (s3, b) = setup(&srv).await;
        let body = pattern(1000);
        s3.put_object()
            .bucket(&b)
            .key("r")
            .body(body.clone().into())
            .send()
            .await
            .unwrap();
        for (range, from, to) in [
            ("bytes=0-9", 0, 10),
            ("bytes=990-", 990, 1000),
            ("bytes=-5", 995, 1000),
            ("bytes=10-5000", 10, 1000),
        ] {
            let got = s3.get_object().bucket(&b).key("r").range(range).send().await.unwrap();
            assert_eq!(
                got.content_range(),
                Some(format!("bytes {from}-{}/1000", to - 1).as_str()),
                "{range}"
            );
            assert_eq!(got.content_length(), Some((to - from) as i64));
            let bytes = got.body.collect().await.unwrap().into_bytes();
            assert_eq!(bytes.as_ref(), &body[from..to], "{backend:?} {range}");
        }
        let res = s3.get_object().bucket(&b).key("r").range("bytes=1000-").send().await;
        assert_eq!(code_status(res), ("InvalidRange".into(), 416));
        // Status 206 on the wire.
        let url = presigned_get(&s3, &b, "r").await;
        let resp = reqwest::Client::new()
            .get(&url)
            .header("range", "bytes=1-2")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 206);
        assert_eq!(resp.headers()["accept-ranges"], "bytes");
        assert_eq!(resp.bytes().await.unwrap().as_ref(), &body[1..3]);
    }
}

async fn presigned_get(s3: &aws_sdk_s3::Client, b: &str, k: &str) -> String {
    let cfg = aws_sdk_s3::presigning::PresigningConfig::expires_in(std::time::Duration::from_secs(300)).unwrap();
    s3.get_object()
        .bucket(b)
        .key(k)
        .presigned(cfg)
        .await
        .unwrap()
        .uri()
        .to_owned()
}

#[tokio::test]
async fn conditional_requests_answer_304_and_412() {
    let srv = TestServer::start(crate::common::Backend::Fs).await;
    let (s3, b) = setup(&srv).await;
    let put = s3
        .put_object()
        .bucket(&b)
        .key("c")
        .body(pattern(10).into())
        .send()
        .await
        .unwrap();
    let etag = put.e_tag().unwrap().to_owned();
    let head = s3.head_object().bucket(&b).key("c").send().await.unwrap();
    let modified = *head.last_modified().unwrap();
    let before = DateTime::from_secs(modified.secs() - 3600);
    let after = DateTime::from_secs(modified.secs() + 3600);

    s3.get_object()
        .bucket(&b)
        .key("c")
        .if_match(&etag)
        .send()
        .await
        .unwrap();
    let res = s3.get_object().bucket(&b).key("c").if_match("\"0000\"").send().await;
    assert_eq!(code_status(res).1, 412);
    let res = s3.get_object().bucket(&b).key("c").if_none_match(&etag).send().await;
    assert_eq!(code_status(res).1, 304);
    s3.get_object()
        .bucket(&b)
        .key("c")
        .if_none_match("\"0000\"")
        .send()
        .await
        .unwrap();
    let res = s3
        .get_object()
        .bucket(&b)
        .key("c")
        .if_modified_since(after)
        .send()
        .await;
    assert_eq!(code_status(res).1, 304);
    s3.get_object()
        .bucket(&b)
        .key("c")
        .if_modified_since(before)
        .send()
        .await
        .unwrap();
    let res = s3
        .get_object()
        .bucket(&b)
        .key("c")
        .if_unmodified_since(before)
        .send()
        .await;
    assert_eq!(code_status(res).1, 412);
    s3.get_object()
        .bucket(&b)
        .key("c")
        .if_unmodified_since(after)
        .send()
        .await
        .unwrap();
    // If-Match wins over a failing If-Unmodified-Since, as RFC 9110 orders them.
    s3.get_object()
        .bucket(&b)
        .key("c")
        .if_match(&etag)
        .if_unmodified_since(before)
        .send()
        .await
        .unwrap();
    let res = s3.head_object().bucket(&b).key("c").if_none_match(&etag).send().await;
    assert_eq!(code_status(res).1, 304);
    let res = s3.head_object().bucket(&b).key("c").if_match("\"0000\"").send().await;
    assert_eq!(code_status(res).1, 412);
}

#[tokio::test]
async fn overwrite_swaps_the_row_and_deletes_the_old_bytes() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let (s3, b) = setup(&srv).await;
        s3.put_object()
            .bucket(&b)
            .key("k")
            .body(pattern(100).into())
            .send()
            .await
            .unwrap();
        s3.put_object()
            .bucket(&b)
            .key("k")
            .body(b"second".to_vec().into())
            .send()
            .await
            .unwrap();
        let got = s3.get_object().bucket(&b).key("k").send().await.unwrap();
        assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), b"second");
        assert_eq!(srv.object_rows().await, 1);
        srv.assert_no_orphans().await;
    }
}

#[tokio::test]
async fn delete_is_idempotent_and_delete_objects_reports_or_stays_quiet() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let (s3, b) = setup(&srv).await;
        for k in ["a", "b", "c", "d"] {
            s3.put_object()
                .bucket(&b)
                .key(k)
                .body(b"x".to_vec().into())
                .send()
                .await
                .unwrap();
        }
        s3.delete_object().bucket(&b).key("a").send().await.unwrap();
        s3.delete_object().bucket(&b).key("a").send().await.unwrap();
        let res = s3.get_object().bucket(&b).key("a").send().await;
        assert_eq!(code_status(res).0, "NoSuchKey");

        let ids = |keys: &[&str]| {
            Delete::builder().set_objects(Some(
                keys.iter()
                    .map(|k| ObjectIdentifier::builder().key(*k).build().unwrap())
                    .collect(),
            ))
        };
        let out = s3
            .delete_objects()
            .bucket(&b)
            .delete(ids(&["b", "missing"]).build().unwrap())
            .send()
            .await
            .unwrap();
        let mut deleted: Vec<_> = out.deleted().iter().filter_map(|d| d.key()).collect();
        deleted.sort();
        assert_eq!(deleted, vec!["b", "missing"]);
        assert!(out.errors().is_empty());

        let out = s3
            .delete_objects()
            .bucket(&b)
            .delete(ids(&["c", "d"]).quiet(true).build().unwrap())
            .send()
            .await
            .unwrap();
        assert!(out.deleted().is_empty(), "quiet mode lists no successes");
        assert!(out.errors().is_empty());
        assert_eq!(srv.object_rows().await, 0);
        srv.assert_no_orphans().await;
    }
}

#[tokio::test]
async fn copy_object_copies_or_replaces_metadata_across_buckets() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let u = srv.user().await;
        let s3 = srv.client(&u);
        let (b1, b2) = (unique("src"), unique("dst"));
        s3.create_bucket().bucket(&b1).send().await.unwrap();
        s3.create_bucket().bucket(&b2).send().await.unwrap();
        let body = pattern(70_000);
        s3.put_object()
            .bucket(&b1)
            .key("orig")
            .body(body.clone().into())
            .content_type("text/plain")
            .metadata("a", "1")
            .send()
            .await
            .unwrap();

        let out = s3
            .copy_object()
            .bucket(&b2)
            .key("copy")
            .copy_source(format!("{b1}/orig"))
            .send()
            .await
            .unwrap();
        let etag = format!("\"{}\"", hex::encode(Md5::digest(&body)));
        assert_eq!(out.copy_object_result().unwrap().e_tag(), Some(etag.as_str()));
        let got = s3.get_object().bucket(&b2).key("copy").send().await.unwrap();
        assert_eq!(got.content_type(), Some("text/plain"));
        assert_eq!(got.metadata().unwrap().get("a").map(String::as_str), Some("1"));
        assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), body.as_slice());

        s3.copy_object()
            .bucket(&b1)
            .key("replaced")
            .copy_source(format!("{b1}/orig"))
            .metadata_directive(MetadataDirective::Replace)
            .content_type("image/png")
            .metadata("b", "2")
            .send()
            .await
            .unwrap();
        let head = s3.head_object().bucket(&b1).key("replaced").send().await.unwrap();
        assert_eq!(head.content_type(), Some("image/png"));
        let meta = head.metadata().unwrap();
        assert_eq!((meta.get("a"), meta.get("b").map(String::as_str)), (None, Some("2")));

        // Copying onto itself without a change is refused; with REPLACE it is allowed.
        let res = s3
            .copy_object()
            .bucket(&b1)
            .key("orig")
            .copy_source(format!("{b1}/orig"))
            .send()
            .await;
        assert_eq!(code_status(res), ("InvalidRequest".into(), 400));
        s3.copy_object()
            .bucket(&b1)
            .key("orig")
            .copy_source(format!("{b1}/orig"))
            .metadata_directive(MetadataDirective::Replace)
            .metadata("c", "3")
            .send()
            .await
            .unwrap();
        let got = s3.get_object().bucket(&b1).key("orig").send().await.unwrap();
        assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), body.as_slice());

        let res = s3
            .copy_object()
            .bucket(&b2)
            .key("x")
            .copy_source(format!("{b1}/missing"))
            .send()
            .await;
        assert_eq!(code_status(res), ("NoSuchKey".into(), 404));
        let res = s3
            .copy_object()
            .bucket(&b2)
            .key("x")
            .copy_source(format!("{b1}/orig"))
            .copy_source_if_match("\"0000\"")
            .send()
            .await;
        assert_eq!(code_status(res).1, 412);
        srv.assert_no_orphans().await;
    }
}

#[tokio::test]
async fn bad_content_md5_is_refused_and_leaves_nothing() {
    use base64::Engine as _;
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let (s3, b) = setup(&srv).await;
        let wrong = base64::engine::general_purpose::STANDARD.encode(Md5::digest(b"other"));
        let res = s3
            .put_object()
            .bucket(&b)
            .key("bad")
            .body(b"payload".to_vec().into())
            .content_md5(wrong)
            .send()
            .await;
        assert_eq!(code_status(res), ("BadDigest".into(), 400), "{backend:?}");
        let res = s3
            .put_object()
            .bucket(&b)
            .key("bad")
            .body(b"payload".to_vec().into())
            .content_md5("not-base64!")
            .send()
            .await;
        assert_eq!(code_status(res), ("InvalidDigest".into(), 400));
        let right = base64::engine::general_purpose::STANDARD.encode(Md5::digest(b"payload"));
        s3.put_object()
            .bucket(&b)
            .key("good")
            .body(b"payload".to_vec().into())
            .content_md5(right)
            .send()
            .await
            .unwrap();
        assert_eq!(srv.object_rows().await, 1);
        srv.assert_no_orphans().await;
    }
}

#[tokio::test]
async fn a_client_that_disconnects_mid_body_leaves_nothing() {
    use tokio::io::AsyncWriteExt;
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let (s3, b) = setup(&srv).await;
        let path = crate::common::presigned_put_path(&srv, &s3, &b, "cut").await;
        let mut sock = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
        let head = format!(
            "PUT {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: 1000000\r\n\r\n",
            srv.addr
        );
        sock.write_all(head.as_bytes()).await.unwrap();
        sock.write_all(&pattern(300_000)).await.unwrap();
        sock.flush().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        drop(sock);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let res = s3.head_object().bucket(&b).key("cut").send().await;
        assert_eq!(code_status(res).1, 404, "{backend:?}");
        assert_eq!(srv.object_rows().await, 0);
        srv.assert_no_orphans().await;
    }
}

#[tokio::test]
async fn virtual_hosted_style_names_the_bucket_in_the_host() {
    let srv = TestServer::start_with(crate::common::Backend::Fs, &[("GODRIVE_S3_DOMAIN", "s3.test")]).await;
    let u = srv.user().await;
    let path_style = srv.client(&u);
    let b = unique("vhost");
    path_style.create_bucket().bucket(&b).send().await.unwrap();
    path_style
        .put_object()
        .bucket(&b)
        .key("v1/in-a-v1-folder")
        .body(b"vh".to_vec().into())
        .send()
        .await
        .unwrap();

    // Presign against the virtual host, then deliver it to 127.0.0.1 with that Host header
    // (no DNS needed for *.s3.test).
    let port = srv.addr.port();
    let vhost_conf = srv
        .client(&u)
        .config()
        .to_builder()
        .endpoint_url(format!("http://s3.test:{port}"))
        .force_path_style(false)
        .build();
    let vh = aws_sdk_s3::Client::from_conf(vhost_conf);
    let cfg = aws_sdk_s3::presigning::PresigningConfig::expires_in(std::time::Duration::from_secs(60)).unwrap();
    let url = vh
        .get_object()
        .bucket(&b)
        .key("v1/in-a-v1-folder")
        .presigned(cfg)
        .await
        .unwrap()
        .uri()
        .to_owned();
    assert!(url.starts_with(&format!("http://{b}.s3.test:{port}/v1/")), "{url}");
    let local = url.replacen(&format!("{b}.s3.test"), "127.0.0.1", 1);
    let resp = reqwest::Client::new()
        .get(&local)
        .header("host", format!("{b}.s3.test:{port}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.unwrap(), "vh");
    // Path style and the JSON API keep working on the bare address.
    let live = reqwest::get(format!("{}/v1/health/live", srv.url())).await.unwrap();
    assert_eq!(live.status().as_u16(), 200);
}
