//! The exact answers for the inputs that used to be 500s: NUL in listing parameters and
//! JSON cursors, CR/LF in form fields, stored headers that cannot be sent, XML bodies
//! over the cap.

use super::*;

/// Sends a request hand-signed by `u` (the body's hash signed) and returns the status and
/// the S3 error code or the JSON error code.
async fn signed(srv: &TestServer, u: &TestUser, method: &'static str, target: &str, body: &[u8]) -> (u16, String) {
    let case = Case::new(target, method, target, Auth::Sign(u.clone())).body(body.to_vec());
    let a = send(&http_client(), &srv.url(), &case).await;
    (a.status, xml_code(&a.body))
}

#[tokio::test]
async fn nul_in_a_listing_prefix_or_token_is_invalid_argument() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let b = unique("nulprefix");
    srv.client(&u).create_bucket().bucket(&b).send().await.unwrap();
    for target in [
        format!("/{b}?list-type=2&prefix=a%00b"),
        format!("/{b}?list-type=2&start-after=%00"),
        format!("/{b}?list-type=2&delimiter=%0D%0A"),
        // base64 of a NUL: the token decodes to a key no listing can hold.
        format!("/{b}?list-type=2&continuation-token=AA"),
        format!("/{b}?prefix=%01&marker=x"),
        format!("/{b}?uploads&key-marker=%00"),
        format!("/{b}/k?response-content-type=text%2Fplain%0D%0ASet-Cookie%3A%20a%3D1"),
    ] {
        assert_eq!(
            signed(&srv, &u, "GET", &target, b"").await,
            (400, "InvalidArgument".to_owned()),
            "{target}"
        );
    }
    // The same listing without the NUL is fine.
    assert_eq!(
        signed(&srv, &u, "GET", &format!("/{b}?list-type=2&prefix=ab"), b"")
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn nul_in_a_files_prefix_or_cursor_is_a_validation_error() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let token = srv.state.tokens.access_token(u.id, "nul@example.com", false);
    let http = reqwest::Client::new();
    let v1 = format!("{}/v1", srv.url());
    let bucket: Value = http
        .post(format!("{v1}/buckets"))
        .bearer_auth(&token)
        .json(&json!({"name": unique("nulfiles")}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = bucket["id"].as_str().unwrap();
    for query in [
        "prefix=%00",
        "prefix=a%00b",
        "prefix=%0D%0A",
        "cursor=AA",
        "cursor=YQBi",
        "cursor=%00",
        "limit=abc",
    ] {
        let resp = http
            .get(format!("{v1}/buckets/{id}/files?{query}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert_eq!(
            (status, &body["error"]["code"]),
            (400, &json!("validation_error")),
            "{query}: {body}"
        );
    }
    let ok = http
        .get(format!("{v1}/buckets/{id}/files?prefix=a"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
}

#[tokio::test]
async fn crlf_in_a_form_content_type_or_disposition_is_refused_and_nothing_is_stored() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let b = unique("formcrlf");
    srv.client(&u).create_bucket().bucket(&b).send().await.unwrap();
    for (field, value) in [
        ("Content-Type", "text/html\r\nX-Injected: 1"),
        ("Content-Disposition", "attachment\r\n\r\n<script>"),
        ("Content-Type", "text/plain\n"),
        ("x-amz-meta-note", "a\r\nb"),
    ] {
        let fields = crate::common::post_form_fields(&u.access_key, &u.secret, &b, &[("key", "crlf"), (field, value)]);
        let refs: Vec<(&str, &[u8])> = fields.iter().map(|(k, v)| (k.as_str(), v.as_bytes())).collect();
        let (ct, body) = form(&refs, Some(("f.html", "text/html", b"<p>hi</p>")));
        let resp = reqwest::Client::new()
            .post(format!("{}/{b}", srv.url()))
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let code = xml_code(&resp.text().await.unwrap());
        assert_eq!((status, code.as_str()), (400, "InvalidArgument"), "{field}: {value:?}");
    }
    assert_eq!(srv.object_rows().await, 0);
    let usage = godrive::db::usage::of_user(&srv.state.db, u.id).await.unwrap().unwrap();
    assert_eq!((usage.used_bytes, usage.object_count, usage.reserved_bytes), (0, 0, 0));
    srv.assert_no_orphans().await;
}

#[tokio::test]
async fn stored_headers_that_cannot_be_sent_are_dropped_at_read() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let b = unique("unsendable");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    s3.put_object()
        .bucket(&b)
        .key("k")
        .content_type("text/plain")
        .content_disposition("inline")
        .cache_control("no-store")
        .metadata("good", "kept")
        .metadata("bad", "x")
        .body(b"still here".to_vec().into())
        .send()
        .await
        .unwrap();
    // As if written before uploads were checked: values no header can carry.
    sqlx::query(
        "update objects set content_type = $1, content_disposition = $2, \
         user_metadata = user_metadata || jsonb_build_object('bad', $3::text, 'bad name', 'v') where key = 'k'",
    )
    .bind("text/html\r\nX-Injected: 1")
    .bind("attachment\r\n")
    .bind("a\r\nb")
    .execute(&srv.state.db)
    .await
    .unwrap();
    let got = s3.get_object().bucket(&b).key("k").send().await.unwrap();
    // The unsendable type is dropped; an object without a type is served as bytes.
    assert_eq!(got.content_type(), Some("application/octet-stream"));
    assert_eq!(got.content_disposition(), None);
    assert_eq!(got.cache_control(), Some("no-store"));
    let meta = got.metadata().cloned().unwrap_or_default();
    assert_eq!(meta.get("good").map(String::as_str), Some("kept"));
    assert!(!meta.contains_key("bad") && !meta.contains_key("bad name"), "{meta:?}");
    assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), b"still here");
    let head = s3.head_object().bucket(&b).key("k").send().await.unwrap();
    assert_eq!(
        (head.content_type(), head.content_length()),
        (Some("application/octet-stream"), Some(10))
    );
    // The JSON side serves it too, as a generic type.
    let token = srv.state.tokens.access_token(u.id, "h@example.com", false);
    let http = reqwest::Client::new();
    let v1 = format!("{}/v1", srv.url());
    let buckets: Value = http
        .get(format!("{v1}/buckets"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bid = buckets["items"][0]["id"].as_str().unwrap();
    let files: Value = http
        .get(format!("{v1}/buckets/{bid}/files"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fid = files["items"][0]["id"].as_str().unwrap();
    let content = http
        .get(format!("{v1}/buckets/{bid}/files/{fid}/content"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(content.status().as_u16(), 200);
    assert_eq!(content.headers()["content-type"], "application/octet-stream");
}

/// Sends a request head on a raw socket, withholds the body it announces, and returns what
/// the server answers meanwhile.
async fn head_only(srv: &TestServer, method: &str, target: &str, headers: &[(String, String)]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut head = format!("{method} {target} HTTP/1.1\r\nhost: {}\r\n", srv.addr);
    for (k, v) in headers.iter().filter(|(k, _)| k != "host") {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut sock = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    sock.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let n = sock.read(&mut buf).await.unwrap_or(0);
            answer.extend_from_slice(&buf[..n]);
            if n == 0 || String::from_utf8_lossy(&answer).contains("</Error>") {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "{method} {target}: no answer while the body was withheld");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn xml_bodies_over_the_cap_are_refused_before_they_are_read() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let b = unique("xmlcap");
    srv.client(&u).create_bucket().bucket(&b).send().await.unwrap();
    let cap = godrive::s3::input::MAX_XML_BODY;

    // Declared over the cap: refused from the head alone, not one body byte sent.
    for target in [format!("/{b}?delete"), format!("/{b}?cors"), format!("/{b}/k?tagging")] {
        let method = if target.ends_with("delete") { "POST" } else { "PUT" };
        let len = (cap + 1).to_string();
        let headers = crate::common::sign_request(
            method,
            &format!("{}{target}", srv.url()),
            &u,
            &[
                ("content-length", len.as_str()),
                ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
            ],
            aws_sigv4::http_request::SignableBody::UnsignedPayload,
        );
        let answer = head_only(&srv, method, &target, &headers).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{target}: {answer}");
        assert_eq!(xml_code(&answer), "EntityTooLarge", "{target}");
    }

    // No declared length (a presigned request, chunked): refused (411) as S3 does, before
    // s3s would buffer it.
    let url = godrive::presign::sign_url(
        &godrive::presign::UrlRequest {
            base: &srv.url(),
            method: "POST",
            bucket: &b,
            key: "",
            params: vec![("delete", String::new())],
            region: "us-east-1",
            expires_in: Duration::from_secs(60),
        },
        &u.access_key,
        &u.secret,
        SystemTime::now(),
    )
    .unwrap();
    let target = url.strip_prefix(&srv.url()).unwrap();
    let chunked = [("transfer-encoding".to_owned(), "chunked".to_owned())];
    let answer = head_only(&srv, "POST", target, &chunked).await;
    assert!(answer.starts_with("HTTP/1.1 411"), "{answer}");
    assert_eq!(xml_code(&answer), "MissingContentLength");
    // A body under the cap is still read and answered.
    let (status, _) = signed(
        &srv,
        &u,
        "POST",
        &format!("/{b}?delete"),
        b"<Delete><Object><Key>nothing</Key></Object></Delete>",
    )
    .await;
    assert_eq!(status, 200);
}
