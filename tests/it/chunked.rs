//! Bodies of unknown length: `Transfer-Encoding: chunked` with no size at all, and
//! aws-chunked bodies sent chunked with only `x-amz-decoded-content-length` (what the AWS
//! SDK for JavaScript v3 sends for a file stream). Stored on both backends; a user with a
//! quota reserves as the bytes arrive and is refused as soon as the next chunk would cross
//! the limit, leaving nothing behind.

use std::time::Duration;

use aws_sigv4::http_request::SignableBody;
use bytes::Bytes;

use crate::common::{BACKENDS, Backend, TestServer, TestUser, sign_request, unique, xml_code};

/// Sends `chunks` as a chunked body (no Content-Length) with `headers`, signed with an
/// unsigned payload unless `headers` names its own payload hash; returns the status, the
/// response headers and the body.
async fn send_chunked(
    srv: &TestServer,
    u: &TestUser,
    path: &str,
    headers: &[(&str, &str)],
    chunks: Vec<Vec<u8>>,
) -> (u16, http::HeaderMap, String) {
    let url = format!("{}{path}", srv.url());
    let declared = headers
        .iter()
        .find(|(k, _)| *k == "x-amz-content-sha256")
        .map_or("UNSIGNED-PAYLOAD", |(_, v)| *v);
    let mut all: Vec<(&str, &str)> = headers.to_vec();
    if !headers.iter().any(|(k, _)| *k == "x-amz-content-sha256") {
        all.push(("x-amz-content-sha256", "UNSIGNED-PAYLOAD"));
    }
    let signed = sign_request("PUT", &url, u, &all, SignableBody::Precomputed(declared.to_owned()));
    let mut req = reqwest::Client::new().put(&url);
    for (k, v) in signed {
        if k != "host" {
            req = req.header(k, v);
        }
    }
    let stream = futures::stream::iter(chunks.into_iter().map(|c| Ok::<_, std::io::Error>(Bytes::from(c))));
    let resp = req.body(reqwest::Body::wrap_stream(stream)).send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.unwrap_or_default())
}

/// `n` chunks of `size` bytes, each filled with its own byte.
fn chunks(n: usize, size: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| vec![(i % 251) as u8; size]).collect()
}

async fn get_bytes(srv: &TestServer, u: &TestUser, b: &str, k: &str) -> (Vec<u8>, Option<String>) {
    let got = srv.client(u).get_object().bucket(b).key(k).send().await.unwrap();
    let encoding = got.content_encoding().map(str::to_owned);
    (got.body.collect().await.unwrap().to_vec(), encoding)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_of_unknown_length_is_stored_on_both_backends() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let u = srv.user().await;
        let b = unique("chunked");
        srv.client(&u).create_bucket().bucket(&b).send().await.unwrap();
        // 3 MiB in 48 chunks: more than the first reservation step, and than the s3
        // backend's part size.
        let body = chunks(48, 64 << 10);
        let whole: Vec<u8> = body.concat();
        let (status, headers, text) = send_chunked(&srv, &u, &format!("/{b}/big"), &[], body).await;
        assert_eq!(status, 200, "{backend:?}: {text}");
        let etag = headers.get("etag").unwrap().to_str().unwrap().to_owned();
        let md5 = <md5::Md5 as md5::Digest>::digest(&whole);
        assert_eq!(etag, format!("\"{}\"", hex::encode(md5)), "{backend:?}");
        let (got, _) = get_bytes(&srv, &u, &b, "big").await;
        assert!(got == whole, "{backend:?}: the stored bytes differ");
        // An empty chunked body is an empty object.
        let (status, _, text) = send_chunked(&srv, &u, &format!("/{b}/empty"), &[], Vec::new()).await;
        assert_eq!(status, 200, "{backend:?}: {text}");
        assert!(get_bytes(&srv, &u, &b, "empty").await.0.is_empty());
        srv.assert_no_orphans().await;
    }
}

/// The JavaScript SDK's form: aws-chunked, unsigned, a CRC32 trailer, sent chunked with only
/// the decoded length. `aws-chunked` is never stored as the object's Content-Encoding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_chunked_with_only_a_decoded_length_is_accepted_and_its_encoding_dropped() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let u = srv.user().await;
        let b = unique("awschunked");
        srv.client(&u).create_bucket().bucket(&b).send().await.unwrap();
        let data = b"hello world";
        let crc = {
            let mut h = godrive::checksum::Hasher::new([godrive::checksum::Algorithm::Crc32]);
            h.update(data);
            h.finalize()
                .get(godrive::checksum::Algorithm::Crc32)
                .unwrap()
                .to_owned()
        };
        let framed = format!("6\r\nhello \r\n5\r\nworld\r\n0\r\nx-amz-checksum-crc32:{crc}\r\n\r\n");
        let bytes = framed.into_bytes();
        let (first, rest) = bytes.split_at(12);
        for (key, encoding, stored) in [
            ("plain", "aws-chunked", None),
            ("zipped", "aws-chunked,gzip", Some("gzip")),
        ] {
            let headers = [
                ("content-encoding", encoding),
                ("x-amz-decoded-content-length", "11"),
                ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
                ("x-amz-trailer", "x-amz-checksum-crc32"),
                ("x-amz-sdk-checksum-algorithm", "CRC32"),
            ];
            let path = format!("/{b}/{key}");
            let (status, headers, text) =
                send_chunked(&srv, &u, &path, &headers, vec![first.to_vec(), rest.to_vec()]).await;
            assert_eq!(status, 200, "{backend:?} {key}: {text}");
            assert_eq!(
                headers.get("x-amz-checksum-crc32").and_then(|v| v.to_str().ok()),
                Some(crc.as_str())
            );
            let (got, got_encoding) = get_bytes(&srv, &u, &b, key).await;
            assert_eq!(got, data, "{backend:?} {key}");
            assert_eq!(got_encoding.as_deref(), stored, "{backend:?} {key}");
        }
    }
}

async fn set_quota(srv: &TestServer, u: &TestUser, bytes: i64) {
    sqlx::query("update users set quota_bytes = $2 where id = $1")
        .bind(u.id)
        .bind(bytes)
        .execute(&srv.state.db)
        .await
        .unwrap();
}

/// (used, reserved) bytes of the user once background releases are done.
async fn settled_usage(srv: &TestServer, u: &TestUser) -> (i64, i64) {
    for _ in 0..100 {
        let now = godrive::db::usage::of_user(&srv.state.db, u.id).await.unwrap().unwrap();
        if now.reserved_bytes == 0 {
            return (now.used_bytes, 0);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("reservations were not released");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quota_is_reserved_as_a_chunked_body_arrives_and_refuses_it_at_the_limit() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let b = unique("chunkquota");
    srv.client(&u).create_bucket().bucket(&b).send().await.unwrap();
    let quota: i64 = 2_500_000;
    set_quota(&srv, &u, quota).await;

    // 1.5 MiB fits: past the first step, the next step no longer fits, and the exact
    // remainder does.
    let (status, _, text) = send_chunked(&srv, &u, &format!("/{b}/fits"), &[], chunks(24, 64 << 10)).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(settled_usage(&srv, &u).await, (24 << 16, 0));

    // Another 1.5 MiB would cross the quota: refused with QuotaExceeded, nothing kept.
    let (status, _, text) = send_chunked(&srv, &u, &format!("/{b}/over"), &[], chunks(24, 64 << 10)).await;
    assert_eq!((status, xml_code(&text).as_str()), (403, "QuotaExceeded"), "{text}");
    assert_eq!(settled_usage(&srv, &u).await, (24 << 16, 0));
    let over = srv.client(&u).head_object().bucket(&b).key("over").send().await;
    assert!(over.is_err(), "a refused upload left an object");
    srv.assert_no_orphans().await;

    // Exactly to the limit is allowed.
    let rest = (quota - (24 << 16)) as usize;
    let (status, _, text) = send_chunked(&srv, &u, &format!("/{b}/rest"), &[], vec![vec![7u8; rest]]).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(settled_usage(&srv, &u).await, (quota, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multipart_part_of_unknown_length_is_stored() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let u = srv.user().await;
        let s3 = srv.client(&u);
        let b = unique("chunkpart");
        s3.create_bucket().bucket(&b).send().await.unwrap();
        let up = s3.create_multipart_upload().bucket(&b).key("mp").send().await.unwrap();
        let id = up.upload_id().unwrap();
        let first = chunks(6, 1 << 20);
        let path = format!("/{b}/mp?partNumber=1&uploadId={id}");
        let (status, headers, text) = send_chunked(&srv, &u, &path, &[], first.clone()).await;
        assert_eq!(status, 200, "{backend:?}: {text}");
        let etag1 = headers.get("etag").unwrap().to_str().unwrap().to_owned();
        let path = format!("/{b}/mp?partNumber=2&uploadId={id}");
        let (status, headers, text) = send_chunked(&srv, &u, &path, &[], vec![b"tail".to_vec()]).await;
        assert_eq!(status, 200, "{backend:?}: {text}");
        let etag2 = headers.get("etag").unwrap().to_str().unwrap().to_owned();
        let parts = [(1, etag1), (2, etag2)]
            .into_iter()
            .map(|(n, e)| {
                aws_sdk_s3::types::CompletedPart::builder()
                    .part_number(n)
                    .e_tag(e)
                    .build()
            })
            .collect();
        s3.complete_multipart_upload()
            .bucket(&b)
            .key("mp")
            .upload_id(id)
            .multipart_upload(
                aws_sdk_s3::types::CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let mut whole = first.concat();
        whole.extend_from_slice(b"tail");
        let (got, _) = get_bytes(&srv, &u, &b, "mp").await;
        assert!(got == whole, "{backend:?}: the stored bytes differ");
        let usage = godrive::db::usage::of_user(&srv.state.db, u.id).await.unwrap().unwrap();
        assert_eq!(usage.used_bytes, whole.len() as i64, "{backend:?}");
    }
}
