//! Authentication and authorization on the S3 side.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sigv4::http_request::SignableBody;

use crate::common::{Backend, TestServer, TestUser, client_for, code_status, sign_request, unique, xml_code};

#[tokio::test]
async fn unsigned_requests_are_access_denied() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let b = unique("anon");
    srv.client(&u).create_bucket().bucket(&b).send().await.unwrap();
    let http = reqwest::Client::new();
    for (method, path) in [
        ("GET", "/".to_owned()),
        ("GET", format!("/{b}")),
        ("PUT", format!("/{b}/k")),
        ("GET", format!("/{b}/k")),
    ] {
        let resp = http
            .request(method.parse().unwrap(), format!("{}{path}", srv.url()))
            .body("x")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 403, "{method} {path}");
        assert!(resp.headers().contains_key("x-amz-request-id"));
        assert_eq!(xml_code(&resp.text().await.unwrap()), "AccessDenied");
    }
    assert_eq!(srv.object_rows().await, 0);
}

#[tokio::test]
async fn wrong_secret_and_unknown_key_are_refused() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let wrong = client_for(&srv.url(), &u.access_key, "not-the-secret-not-the-secret-not-the-se");
    assert_eq!(
        code_status(wrong.list_buckets().send().await),
        ("SignatureDoesNotMatch".into(), 403)
    );
    let unknown = client_for(&srv.url(), "GDUNKNOWNKEY00000000", &u.secret);
    assert_eq!(
        code_status(unknown.list_buckets().send().await),
        ("InvalidAccessKeyId".into(), 403)
    );
}

#[tokio::test]
async fn another_users_bucket_and_objects_are_access_denied() {
    let srv = TestServer::start(Backend::Fs).await;
    let (owner, other) = (srv.user().await, srv.user().await);
    let (mine, theirs) = (srv.client(&owner), srv.client(&other));
    let b = unique("private");
    mine.create_bucket().bucket(&b).send().await.unwrap();
    mine.put_object()
        .bucket(&b)
        .key("secret.txt")
        .body(b"mine".to_vec().into())
        .send()
        .await
        .unwrap();
    let own_b = unique("theirs");
    theirs.create_bucket().bucket(&own_b).send().await.unwrap();

    let denied = ("AccessDenied".to_owned(), 403);
    assert_eq!(
        code_status(theirs.get_object().bucket(&b).key("secret.txt").send().await),
        denied
    );
    assert_eq!(
        code_status(theirs.head_object().bucket(&b).key("secret.txt").send().await).1,
        403
    );
    assert_eq!(
        code_status(
            theirs
                .put_object()
                .bucket(&b)
                .key("x")
                .body(b"x".to_vec().into())
                .send()
                .await
        ),
        denied
    );
    assert_eq!(
        code_status(theirs.delete_object().bucket(&b).key("secret.txt").send().await),
        denied
    );
    assert_eq!(code_status(theirs.list_objects_v2().bucket(&b).send().await), denied);
    assert_eq!(code_status(theirs.list_objects().bucket(&b).send().await), denied);
    assert_eq!(code_status(theirs.head_bucket().bucket(&b).send().await).1, 403);
    assert_eq!(code_status(theirs.delete_bucket().bucket(&b).send().await), denied);
    assert_eq!(
        code_status(theirs.get_bucket_location().bucket(&b).send().await),
        denied
    );
    // Copying out of someone else's bucket into one's own.
    let res = theirs
        .copy_object()
        .bucket(&own_b)
        .key("stolen")
        .copy_source(format!("{b}/secret.txt"))
        .send()
        .await;
    assert_eq!(code_status(res), denied);
    // Copying into someone else's bucket.
    let res = theirs
        .copy_object()
        .bucket(&b)
        .key("planted")
        .copy_source(format!("{own_b}/none"))
        .send()
        .await;
    assert_eq!(code_status(res), denied);

    let got = mine.get_object().bucket(&b).key("secret.txt").send().await.unwrap();
    assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), b"mine");
    assert_eq!(srv.object_rows().await, 1);
}

#[tokio::test]
async fn presigned_urls_work_until_they_expire() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let b = unique("presign");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    s3.put_object()
        .bucket(&b)
        .key("p.txt")
        .body(b"shared".to_vec().into())
        .send()
        .await
        .unwrap();

    let long = PresigningConfig::expires_in(Duration::from_secs(600)).unwrap();
    let url = s3
        .get_object()
        .bucket(&b)
        .key("p.txt")
        .presigned(long)
        .await
        .unwrap()
        .uri()
        .to_owned();
    let resp = reqwest::get(&url).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.unwrap(), "shared");
    // A tampered URL (another key) fails the signature.
    let resp = reqwest::get(url.replace("p.txt", "q.txt")).await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    assert_eq!(xml_code(&resp.text().await.unwrap()), "SignatureDoesNotMatch");

    let short = PresigningConfig::expires_in(Duration::from_secs(1)).unwrap();
    let url = s3
        .get_object()
        .bucket(&b)
        .key("p.txt")
        .presigned(short)
        .await
        .unwrap()
        .uri()
        .to_owned();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let resp = reqwest::get(&url).await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let body = resp.text().await.unwrap();
    assert_eq!(xml_code(&body), "AccessDenied");
    assert!(body.contains("expired"), "{body}");
}

#[tokio::test]
async fn a_disabled_user_is_refused_at_once() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    s3.list_buckets().send().await.unwrap();
    sqlx::query("update users set disabled = true where id = $1")
        .bind(u.id)
        .execute(&srv.state.db)
        .await
        .unwrap();
    assert_eq!(
        code_status(s3.list_buckets().send().await),
        ("InvalidAccessKeyId".into(), 403)
    );
}

#[tokio::test]
async fn a_payload_that_does_not_match_its_signed_sha256_is_refused() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let b = unique("sha");
    srv.client(&u).create_bucket().bucket(&b).send().await.unwrap();
    let url = format!("{}/{b}/k", srv.url());
    let resp = send_signed_put(&url, &u, b"what I promised", "what I sent instead").await;
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(xml_code(&resp.text().await.unwrap()), "XAmzContentSHA256Mismatch");
    assert_eq!(srv.object_rows().await, 0);
    srv.assert_no_orphans().await;

    // The same signer with the true hash succeeds: the refusal above was the hash.
    let resp = send_signed_put(&url, &u, b"what I promised", "what I promised").await;
    assert_eq!(resp.status().as_u16(), 200);
}

/// PUTs `body` signed as if its SHA-256 were that of `promised`.
async fn send_signed_put(url: &str, u: &TestUser, promised: &[u8], body: &'static str) -> reqwest::Response {
    let claimed = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(promised));
    let headers = sign_request("PUT", url, u, &[], SignableBody::Precomputed(claimed));
    let mut builder = reqwest::Client::new().put(url).body(body);
    for (k, v) in &headers {
        builder = builder.header(k, v);
    }
    builder.send().await.unwrap()
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    use hmac::Mac;
    let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    m.update(data.as_bytes());
    m.finalize().into_bytes().to_vec()
}

fn sha_hex(data: &[u8]) -> String {
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(data))
}

/// A `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` body: every chunk signed, chained from the seed
/// signature of the headers. `tamper` flips a byte of the second chunk after signing.
fn signed_chunks(u: &TestUser, headers: &[(String, String)], chunks: &[&[u8]], tamper: bool) -> Vec<u8> {
    let get = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap();
    let amz_date = get("x-amz-date");
    let auth = get("authorization");
    let mut prev = auth.rsplit("Signature=").next().unwrap().to_owned();
    let day = &amz_date[..8];
    let scope = format!("{day}/us-east-1/s3/aws4_request");
    let mut key = hmac(format!("AWS4{}", u.secret).as_bytes(), day);
    for part in ["us-east-1", "s3", "aws4_request"] {
        key = hmac(&key, part);
    }
    let mut body = Vec::new();
    let mut all: Vec<&[u8]> = chunks.to_vec();
    all.push(b"");
    for (i, chunk) in all.iter().enumerate() {
        let to_sign = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{amz_date}\n{scope}\n{prev}\n{}\n{}",
            sha_hex(b""),
            sha_hex(chunk)
        );
        let sig = hex::encode(hmac(&key, &to_sign));
        body.extend(format!("{:x};chunk-signature={sig}\r\n", chunk.len()).as_bytes());
        let mut data = chunk.to_vec();
        if tamper && i == 1 {
            data[0] ^= 1;
        }
        body.extend(data);
        body.extend(b"\r\n");
        prev = sig;
    }
    body
}

#[tokio::test]
async fn signed_aws_chunked_bodies_are_verified_chunk_by_chunk() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let b = unique("chunks");
    srv.client(&u).create_bucket().bucket(&b).send().await.unwrap();
    let (c1, c2) = (vec![7u8; 70_000], vec![9u8; 1234]);
    for (key, tamper) in [("tampered", true), ("good", false)] {
        let url = format!("{}/{b}/{key}", srv.url());
        let decoded = (c1.len() + c2.len()).to_string();
        let headers = sign_request(
            "PUT",
            &url,
            &u,
            &[
                ("content-encoding", "aws-chunked"),
                ("x-amz-decoded-content-length", &decoded),
            ],
            SignableBody::Precomputed("STREAMING-AWS4-HMAC-SHA256-PAYLOAD".into()),
        );
        let body = signed_chunks(&u, &headers, &[&c1, &c2], tamper);
        let mut req = reqwest::Client::new().put(&url).body(body);
        for (k, v) in &headers {
            req = req.header(k, v);
        }
        let resp = req.send().await.unwrap();
        if tamper {
            assert_eq!(resp.status().as_u16(), 403);
            assert_eq!(xml_code(&resp.text().await.unwrap()), "SignatureDoesNotMatch");
            assert_eq!(srv.object_rows().await, 0);
        } else {
            assert_eq!(resp.status().as_u16(), 200, "{}", resp.text().await.unwrap());
        }
    }
    let got = srv.client(&u).get_object().bucket(&b).key("good").send().await.unwrap();
    let bytes = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(bytes.len(), 71_234);
    assert_eq!(&bytes[..70_000], c1.as_slice());
    srv.assert_no_orphans().await;
}
