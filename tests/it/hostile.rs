//! Malformed and hostile S3 requests: each gets the error a client expects and leaves
//! nothing behind (no row, no charge, no blob).

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::SignableBody;

use crate::common::{BACKENDS, Backend, TestServer, TestUser, code_status, sign_request, unique, xml_code};

/// Sends a hand-signed request; returns status and S3 error code.
async fn raw(
    srv: &TestServer,
    u: &TestUser,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (u16, String) {
    let url = format!("{}{path}", srv.url());
    // A payload hash given in `headers` (a STREAMING-* value) is signed as given.
    let declared = headers
        .iter()
        .find(|(k, _)| *k == "x-amz-content-sha256")
        .map(|(_, v)| *v);
    let signable = match declared {
        Some(v) => SignableBody::Precomputed(v.to_owned()),
        None => SignableBody::Bytes(&body),
    };
    let signed = sign_request(method, &url, u, headers, signable);
    let mut req = reqwest::Client::new().request(method.parse().unwrap(), &url);
    for (k, v) in signed {
        if k != "host" {
            req = req.header(k, v);
        }
    }
    let resp = req.body(body).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, xml_code(&resp.text().await.unwrap_or_default()))
}

#[tokio::test]
async fn hostile_keys_are_stored_by_name_and_never_become_paths() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let u = srv.user().await;
        let s3 = srv.client(&u);
        let b = unique("keys");
        s3.create_bucket().bucket(&b).send().await.unwrap();
        let long = "k".repeat(1024);
        let keys = [
            "../../../../etc/passwd",
            "a/../../b",
            "/leading/slash",
            "dot/./segment",
            "ünïcødé/键/🔑",
            "percent%2F%00encoded",
            "spaces and + plus",
            long.as_str(),
        ];
        for (i, key) in keys.iter().enumerate() {
            let body = format!("body {i}").into_bytes();
            s3.put_object()
                .bucket(&b)
                .key(*key)
                .body(body.clone().into())
                .send()
                .await
                .unwrap_or_else(|e| panic!("{backend:?} PUT {key:?}: {e:?}"));
            let got = s3.get_object().bucket(&b).key(*key).send().await.unwrap();
            assert_eq!(
                got.body.collect().await.unwrap().into_bytes().as_ref(),
                &body[..],
                "{key:?}"
            );
        }
        let listed = s3.list_objects_v2().bucket(&b).send().await.unwrap();
        let mut names: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
        let mut want = keys.to_vec();
        names.sort();
        want.sort();
        assert_eq!(names, want);
        // Too long, NUL: refused, nothing stored.
        let res = s3
            .put_object()
            .bucket(&b)
            .key("k".repeat(1025))
            .body(b"x".to_vec().into())
            .send()
            .await;
        assert_eq!(code_status(res), ("KeyTooLongError".into(), 400));
        // NUL and other control characters (XML 1.0 cannot carry them in a listing).
        for bad in ["nul%00key", "ctrl%01char", "tab%09here", "del%7Fchar"] {
            let (status, code) = raw(&srv, &u, "PUT", &format!("/{b}/{bad}"), &[], b"x".to_vec()).await;
            assert_eq!((status, code.as_str()), (400, "InvalidArgument"), "{bad}");
        }
        assert_eq!(srv.object_rows().await, keys.len() as i64);
        // The blobs are UUID-named files in the data directory, nothing else.
        if backend == Backend::Fs {
            let mut stack = vec![srv.state.config.data_dir.clone()];
            while let Some(dir) = stack.pop() {
                for e in std::fs::read_dir(&dir).unwrap() {
                    let p = e.unwrap().path();
                    if p.is_dir() {
                        stack.push(p);
                    } else {
                        let name = p.file_name().unwrap().to_string_lossy().into_owned();
                        assert!(uuid::Uuid::parse_str(&name).is_ok(), "unexpected file {}", p.display());
                    }
                }
            }
        }
        srv.assert_no_orphans().await;
    }
}

/// What was sent, what came back (status, code), what was expected (an empty code: any).
type Case<'a> = (&'a str, (u16, String), (u16, &'a str));

#[tokio::test]
async fn malformed_requests_get_s3_errors_and_leave_nothing() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let b = unique("hostile");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    s3.put_object()
        .bucket(&b)
        .key("keep")
        .body(b"kept".to_vec().into())
        .send()
        .await
        .unwrap();

    let mut results: Vec<Case> = Vec::new();
    // Bad and truncated XML.
    results.push((
        "DeleteObjects, truncated XML",
        raw(
            &srv,
            &u,
            "POST",
            &format!("/{b}?delete"),
            &[],
            b"<Delete><Object><Key>keep".to_vec(),
        )
        .await,
        (400, "MalformedXML"),
    ));
    results.push((
        "PutBucketCors, not XML",
        raw(
            &srv,
            &u,
            "PUT",
            &format!("/{b}?cors"),
            &[],
            b"{\"json\": true}".to_vec(),
        )
        .await,
        (400, "MalformedXML"),
    ));
    let upload = s3
        .create_multipart_upload()
        .bucket(&b)
        .key("mp")
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_owned();
    results.push((
        "CompleteMultipartUpload, garbage",
        raw(
            &srv,
            &u,
            "POST",
            &format!("/{b}/mp?uploadId={upload}"),
            &[],
            b"<CompleteMultipartUpload><Part><PartNumber>x".to_vec(),
        )
        .await,
        (400, "MalformedXML"),
    ));
    // Lengths: over S3's 5 GiB single-PUT limit, announced; refused before the body.
    results.push((
        "PUT 6 GiB announced",
        {
            let res = s3
                .put_object()
                .bucket(&b)
                .key("huge")
                .content_length(6 << 30)
                .body(b"tiny".to_vec().into())
                .send()
                .await;
            let (code, status) = code_status(res);
            (status, code)
        },
        (400, "EntityTooLarge"),
    ));
    // A negative length never reaches GoDrive: the HTTP layer refuses the request.
    results.push((
        "PUT with Content-Length: -1",
        {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut sock = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
            let head = format!(
                "PUT /{b}/negative HTTP/1.1\r\nHost: {}\r\nContent-Length: -1\r\n\r\n",
                srv.addr
            );
            sock.write_all(head.as_bytes()).await.unwrap();
            let mut buf = vec![0u8; 1024];
            let n = sock.read(&mut buf).await.unwrap_or(0);
            let answer = String::from_utf8_lossy(&buf[..n]).into_owned();
            let status = answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
            (status, String::new())
        },
        (400, ""),
    ));
    // Metadata over 2 KB.
    let big = "m".repeat(2100);
    results.push((
        "PUT with 2.1 KB of metadata",
        raw(
            &srv,
            &u,
            "PUT",
            &format!("/{b}/meta"),
            &[("x-amz-meta-big", big.as_str())],
            b"x".to_vec(),
        )
        .await,
        (400, "MetadataTooLarge"),
    ));
    // aws-chunked framing that is not hex / ends early.
    results.push((
        "aws-chunked, bad chunk size",
        raw(
            &srv,
            &u,
            "PUT",
            &format!("/{b}/chunked"),
            &[
                ("content-encoding", "aws-chunked"),
                ("x-amz-decoded-content-length", "5"),
                ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
            ],
            b"zz\r\nhello\r\n0\r\n\r\n".to_vec(),
        )
        .await,
        (400, ""),
    ));
    // Signatures: wrong secret, missing, clock skew.
    let thief = TestUser {
        secret: "not-the-secret".into(),
        ..u.clone()
    };
    results.push((
        "wrong secret",
        raw(&srv, &thief, "PUT", &format!("/{b}/forged"), &[], b"x".to_vec()).await,
        (403, "SignatureDoesNotMatch"),
    ));
    let resp = reqwest::Client::new()
        .put(format!("{}/{b}/anonymous", srv.url()))
        .body("x")
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    results.push((
        "unsigned",
        (status, xml_code(&resp.text().await.unwrap())),
        (403, "AccessDenied"),
    ));
    let skewed = {
        let mut c = s3.config().to_builder();
        c.set_time_source(Some(aws_smithy_async::time::SharedTimeSource::new(
            aws_smithy_async::time::StaticTimeSource::new(SystemTime::now() - Duration::from_secs(20 * 60)),
        )));
        aws_sdk_s3::Client::from_conf(
            c.retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
                .build(),
        )
    };
    let res = skewed
        .put_object()
        .bucket(&b)
        .key("skewed")
        .body(b"x".to_vec().into())
        .send()
        .await;
    let (code, status) = code_status(res);
    results.push((
        "20 minutes of clock skew",
        (status, code),
        (403, "RequestTimeTooSkewed"),
    ));

    let wrong: Vec<_> = results
        .iter()
        .filter(|(_, (status, code), (want_status, want_code))| {
            status != want_status || (!want_code.is_empty() && code != want_code)
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");

    // Nothing but the one good object exists; no charge, no blob, no reservation.
    assert_eq!(srv.object_rows().await, 1);
    let usage = godrive::db::usage::of_user(&srv.state.db, u.id).await.unwrap().unwrap();
    assert_eq!((usage.used_bytes, usage.object_count, usage.reserved_bytes), (4, 1, 0));
    let names: HashMap<String, ()> = s3
        .list_objects_v2()
        .bucket(&b)
        .send()
        .await
        .unwrap()
        .contents()
        .iter()
        .map(|o| (o.key().unwrap().to_owned(), ()))
        .collect();
    assert_eq!(names.len(), 1);
    srv.assert_no_orphans().await;
}

/// The request head size limit (431). Connection limits and timeouts: `connections.rs`.
#[tokio::test]
async fn header_limit_holds() {
    let srv = TestServer::start_with(Backend::Fs, &[("GODRIVE_MAX_HEADER_BYTES", "8192")]).await;
    let resp = reqwest::Client::new()
        .get(format!("{}/v1/health/live", srv.url()))
        .header("x-junk", "j".repeat(20_000))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 431);
}

/// `GODRIVE_KEY_RATE_LIMIT`: a key over its rate gets `503 SlowDown`, other keys do not,
/// and the rate comes back.
#[tokio::test]
async fn a_key_over_its_rate_slows_down() {
    let srv = TestServer::start_with(Backend::Fs, &[("GODRIVE_KEY_RATE_LIMIT", "5")]).await;
    let (busy, calm) = (srv.user().await, srv.user().await);
    let busy_s3 = crate::common::without_retries(&srv.client(&busy));
    let mut refused = 0;
    for _ in 0..20 {
        if let Err(e) = busy_s3.list_buckets().send().await {
            assert_eq!(
                aws_sdk_s3::error::ProvideErrorMetadata::code(&e),
                Some("SlowDown"),
                "{e:?}"
            );
            assert_eq!(e.raw_response().unwrap().status().as_u16(), 503);
            refused += 1;
        }
    }
    assert!(refused >= 10, "only {refused} of 20 refused at 5/s");
    srv.client(&calm).list_buckets().send().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    busy_s3.list_buckets().send().await.unwrap();
}
