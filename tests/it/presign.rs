//! Presigned URLs: links made through the JSON API (revocation on every instance, key
//! deletion, expiry, tampering, the maximum lifetime), response overrides, and the audit
//! of every use.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{Backend, TestServer, TestUser, unique, xml_code};

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    fn new(srv: &TestServer, u: &TestUser) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: format!("{}/v1", srv.url()),
            token: srv.state.tokens.access_token(u.id, "p@example.com", false),
        }
    }

    async fn presign(&self, body: Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}/presign", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
    }

    async fn delete(&self, path: &str) -> u16 {
        let resp = self
            .http
            .delete(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        resp.status().as_u16()
    }
}

/// Status and S3 error code of a plain GET of a URL.
async fn fetch(url: &str) -> (u16, String) {
    fetch_via(url, None).await
}

/// The same, sent to another instance's socket behind the same name (as a load balancer
/// would: the Host header is signed).
async fn fetch_via(url: &str, instance: Option<(&str, &str)>) -> (u16, String) {
    let req = match instance {
        None => reqwest::Client::new().get(url),
        Some((host, socket)) => reqwest::Client::new()
            .get(url.replace(host, socket))
            .header("host", host),
    };
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap();
    (status, if status >= 400 { xml_code(&body) } else { body })
}

async fn bucket_with(srv: &TestServer, u: &TestUser, key: &str, body: &[u8], content_type: &str) -> String {
    let s3 = srv.client(u);
    let b = unique("links");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    s3.put_object()
        .bucket(&b)
        .key(key)
        .content_type(content_type)
        .body(body.to_vec().into())
        .send()
        .await
        .unwrap();
    b
}

#[tokio::test]
async fn links_serve_downloads_with_overrides_and_die_when_revoked_on_every_instance() {
    let srv = TestServer::start(Backend::Fs).await;
    // A second instance: its own state, the same database and storage.
    let other = godrive::app::AppState::build(srv.state.config.as_ref().clone())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let second = listener.local_addr().unwrap().to_string();
    tokio::spawn(godrive::server::serve_with_listener(
        other,
        listener,
        std::future::pending(),
    ));

    let u = srv.user().await;
    let api = Api::new(&srv, &u);
    let body: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let b = bucket_with(&srv, &u, "docs/report 1.pdf", &body, "application/pdf").await;

    let (status, link) = api
        .presign(json!({
            "bucket": b, "key": "docs/report 1.pdf", "method": "GET", "expires_in": 600,
            "content_disposition": "attachment; filename=\"report.pdf\""
        }))
        .await;
    assert_eq!(status, 201, "{link}");
    let url = link["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&srv.url()), "{url}");
    assert!(url.contains("x-godrive-link="), "{url}");
    assert_eq!(link["method"], "GET");

    let resp = reqwest::get(&url).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let h = resp.headers().clone();
    assert_eq!(h["content-type"], "application/pdf");
    assert_eq!(h["content-disposition"], "attachment; filename=\"report.pdf\"");
    assert_eq!(h["content-length"], "100000");
    assert_eq!(h["accept-ranges"], "bytes");
    assert!(h.contains_key("etag") && h.contains_key("last-modified"));
    // A revocable link is not served from a browser cache.
    assert_eq!(h["cache-control"], "private, no-cache");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &body[..]);
    // Seeking: a range answers 206 with just those bytes.
    let resp = reqwest::Client::new()
        .get(&url)
        .header("range", "bytes=1000-1999")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 206);
    assert_eq!(resp.headers()["content-range"], "bytes 1000-1999/100000");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &body[1000..2000]);
    // Another method is not (the method is signed).
    let resp = reqwest::Client::new().head(&url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let resp = reqwest::Client::new().put(&url).body("x").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);

    // The same URL through the second instance works.
    let host = srv.addr.to_string();
    let second = Some((host.as_str(), second.as_str()));
    assert_eq!(fetch_via(&url, second).await.0, 200);

    // Tampering with the link id or dropping it breaks the signature.
    let forged = url.replace(link["id"].as_str().unwrap(), &uuid::Uuid::new_v4().to_string());
    assert_eq!(fetch(&forged).await, (403, "SignatureDoesNotMatch".into()));
    let stripped = url.replace(&format!("x-godrive-link={}&", link["id"].as_str().unwrap()), "");
    assert_ne!(stripped, url);
    assert_eq!(fetch(&stripped).await, (403, "SignatureDoesNotMatch".into()));

    // Revoked: refused at once, by both instances.
    let id = link["id"].as_str().unwrap();
    assert_eq!(api.delete(&format!("/presign/{id}")).await, 204);
    assert_eq!(fetch(&url).await, (403, "AccessDenied".into()));
    assert_eq!(fetch_via(&url, second).await, (403, "AccessDenied".into()));

    // Listed as revoked.
    let (_, mine) = api.get("/presign").await;
    assert_eq!(mine["items"][0]["id"], id);
    assert!(mine["items"][0]["revoked_at"].is_string(), "{mine}");

    // Another user can neither revoke it nor read its audit.
    let stranger = Api::new(&srv, &srv.user().await);
    assert_eq!(stranger.delete(&format!("/presign/{id}")).await, 404);
    assert_eq!(stranger.get(&format!("/presign/{id}/accesses")).await.0, 404);
    // ...nor presign in a bucket that is not theirs.
    let (status, err) = stranger
        .presign(json!({"bucket": b, "key": "docs/report 1.pdf", "method": "GET", "expires_in": 60}))
        .await;
    assert_eq!((status, err["error"]["code"].as_str()), (404, Some("not_found")));

    // The audit: the creation and every use, with status, bytes, address and agent.
    let (status, acc) = api.get(&format!("/presign/{id}/accesses")).await;
    assert_eq!(status, 200);
    let rows = acc["items"].as_array().unwrap();
    let seen: Vec<(String, String, i64)> = rows
        .iter()
        .map(|r| {
            (
                r["event"].as_str().unwrap().to_owned(),
                r["method"].as_str().unwrap().to_owned(),
                r["status"].as_i64().unwrap(),
            )
        })
        .collect();
    // The second instance flushes its rows every 5 s; this one's are flushed on read.
    assert_eq!(seen[0], ("created".into(), "GET".into(), 201));
    for want in [
        ("used", "GET", 200),
        ("used", "GET", 206),
        ("used", "HEAD", 403),
        ("used", "GET", 403),
    ] {
        assert!(
            seen.contains(&(want.0.into(), want.1.into(), want.2)),
            "{want:?} missing in {seen:?}"
        );
    }
    let full = rows
        .iter()
        .find(|r| r["status"] == 200 && r["method"] == "GET")
        .unwrap();
    assert_eq!(full["bytes"], 100000);
    assert_eq!(full["client_addr"], "127.0.0.1");
    assert_eq!(full["bucket"], b.as_str());
    assert_eq!(full["key"], "docs/report 1.pdf");
    assert_eq!(full["user_id"], u.id.to_string());
    assert!(full["user_agent"].is_string() || full["user_agent"].is_null());
}

#[tokio::test]
async fn put_links_expiry_key_deletion_and_the_maximum_lifetime() {
    let srv = TestServer::start_with(
        Backend::Fs,
        &[
            ("GODRIVE_PRESIGN_MAX_EXPIRY", "1h"),
            ("GODRIVE_ADMIN_EMAIL", "audit@example.com"),
            ("GODRIVE_ADMIN_PASSWORD", "audit-password"),
        ],
    )
    .await;
    let u = srv.user().await;
    let api = Api::new(&srv, &u);
    let b = bucket_with(&srv, &u, "a.txt", b"hello", "text/plain").await;

    // Over the maximum: 400 from the JSON API, and from S3 for a URL any client signed.
    let (status, err) = api
        .presign(json!({"bucket": b, "key": "a.txt", "method": "GET", "expires_in": 3601}))
        .await;
    assert_eq!((status, err["error"]["code"].as_str()), (400, Some("validation_error")));
    let (status, _) = api
        .presign(json!({"bucket": b, "key": "a.txt", "method": "DELETE", "expires_in": 60}))
        .await;
    assert_eq!(status, 400);
    let s3 = srv.client(&u);
    let long = aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(7200)).unwrap();
    let url = s3.get_object().bucket(&b).key("a.txt").presigned(long).await.unwrap();
    let (status, code) = fetch(url.uri()).await;
    assert_eq!((status, code.as_str()), (400, "AuthorizationQueryParametersError"));

    // A client-made presigned URL within the limit works, and is audited too.
    let short = aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(600)).unwrap();
    let url = s3.get_object().bucket(&b).key("a.txt").presigned(short).await.unwrap();
    assert_eq!(fetch(url.uri()).await, (200, "hello".into()));

    // A PUT link uploads.
    let (status, link) = api
        .presign(json!({"bucket": b, "key": "up/new.bin", "method": "PUT", "expires_in": 600}))
        .await;
    assert_eq!(status, 201, "{link}");
    let put_url = link["url"].as_str().unwrap().to_owned();
    let resp = reqwest::Client::new()
        .put(&put_url)
        .body(vec![5u8; 3000])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let got = s3.get_object().bucket(&b).key("up/new.bin").send().await.unwrap();
    assert_eq!(got.body.collect().await.unwrap().into_bytes().len(), 3000);
    // A HEAD link answers the object's headers.
    let (status, head) = api
        .presign(json!({"bucket": b, "key": "up/new.bin", "method": "HEAD", "expires_in": 600}))
        .await;
    assert_eq!(status, 201, "{head}");
    let resp = reqwest::Client::new()
        .head(head["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-length"], "3000");
    // ...for that key only: the key is signed.
    let other_key = put_url.replace("/up/new.bin?", "/up/other.bin?");
    let resp = reqwest::Client::new().put(&other_key).body("x").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);

    // Expiry.
    let (_, brief) = api
        .presign(json!({"bucket": b, "key": "a.txt", "method": "GET", "expires_in": 1}))
        .await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        fetch(brief["url"].as_str().unwrap()).await,
        (403, "AccessDenied".into())
    );

    // Deleting the signing key kills every URL it signed.
    let (_, alive) = api
        .presign(json!({"bucket": b, "key": "a.txt", "method": "GET", "expires_in": 600}))
        .await;
    let alive = alive["url"].as_str().unwrap().to_owned();
    assert_eq!(fetch(&alive).await.0, 200);
    let (_, keys) = api.get("/keys").await;
    let key_id = keys["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(api.delete(&format!("/keys/{key_id}")).await, 204);
    assert_eq!(fetch(&alive).await, (403, "InvalidAccessKeyId".into()));
    // Without a key, no link can be made.
    let (status, err) = api
        .presign(json!({"bucket": b, "key": "a.txt", "method": "GET", "expires_in": 60}))
        .await;
    assert_eq!(status, 400, "{err}");

    // The admin audit holds the client-made URL's use too (no link id), and admins can
    // revoke anyone's link; users cannot read the admin audit.
    let login: Value = reqwest::Client::new()
        .post(format!("{}/v1/auth/login", srv.url()))
        .json(&json!({"email": "audit@example.com", "password": "audit-password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin = Api {
        token: login["access_token"].as_str().unwrap().to_owned(),
        ..Api::new(&srv, &u)
    };
    let (status, all) = admin.get(&format!("/admin/audit?user_id={}", u.id)).await;
    assert_eq!(status, 200, "{all}");
    let rows = all["items"].as_array().unwrap();
    assert!(
        rows.iter()
            .any(|r| r["link_id"].is_null() && r["status"] == 200 && r["key"] == "a.txt"),
        "{all}"
    );
    assert!(
        rows.iter()
            .any(|r| r["status"] == 400 && r["method"] == "GET" && r["link_id"].is_null()),
        "the refused long URL is audited: {all}"
    );
    assert_eq!(api.get("/admin/audit").await.0, 403);
    assert_eq!(
        admin
            .delete(&format!("/admin/presign/{}", link["id"].as_str().unwrap()))
            .await,
        204
    );
    assert_eq!(
        api.delete(&format!("/admin/presign/{}", link["id"].as_str().unwrap()))
            .await,
        403
    );
}

/// A SigV2 query-string URL for a GET, signed by hand the way s3s verifies it: base64 of
/// HMAC-SHA1 over "GET\n\n\n{Expires}\n/{bucket}/{key}", `Expires` in epoch seconds.
fn sigv2_get_url(srv: &TestServer, u: &TestUser, bucket: &str, key: &str, expires: i64) -> String {
    use base64::Engine as _;
    use hmac::Mac as _;
    let to_sign = format!("GET\n\n\n{expires}\n/{bucket}/{key}");
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(u.secret.as_bytes()).unwrap();
    mac.update(to_sign.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let signature = percent_encoding::utf8_percent_encode(&signature, percent_encoding::NON_ALPHANUMERIC);
    format!(
        "{}/{bucket}/{key}?AWSAccessKeyId={}&Expires={expires}&Signature={signature}",
        srv.url(),
        u.access_key
    )
}

/// SigV2 URLs name the moment they die (`Expires`) rather than a lifetime; the maximum
/// lifetime holds for them too.
#[tokio::test]
async fn sigv2_urls_live_no_longer_than_the_maximum() {
    let srv = TestServer::start_with(Backend::Fs, &[("GODRIVE_PRESIGN_MAX_EXPIRY", "1h")]).await;
    let u = srv.user().await;
    let b = bucket_with(&srv, &u, "v2.txt", b"signed v2", "text/plain").await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();

    // Within the maximum: served.
    assert_eq!(
        fetch(&sigv2_get_url(&srv, &u, &b, "v2.txt", now + 600)).await,
        (200, "signed v2".into())
    );
    assert_eq!(fetch(&sigv2_get_url(&srv, &u, &b, "v2.txt", now + 3500)).await.0, 200);
    // Beyond it: refused like a SigV4 URL with too long an X-Amz-Expires, signature valid.
    for expires in [now + 3700, now + 8 * 24 * 3600, i64::from(i32::MAX)] {
        let (status, code) = fetch(&sigv2_get_url(&srv, &u, &b, "v2.txt", expires)).await;
        assert_eq!((status, code.as_str()), (400, "AuthorizationQueryParametersError"));
    }
    // Past: expired (s3s's own check), and a forged signature is still refused as such.
    assert_eq!(
        fetch(&sigv2_get_url(&srv, &u, &b, "v2.txt", now - 10)).await,
        (403, "AccessDenied".into())
    );
    let mut stranger = u.clone();
    stranger.secret = "not-the-secret".into();
    assert_eq!(
        fetch(&sigv2_get_url(&srv, &stranger, &b, "v2.txt", now + 600)).await,
        (403, "SignatureDoesNotMatch".into())
    );

    // With the default maximum (7 days, S3's own limit for SigV4), a week and a day is
    // refused too.
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let b = bucket_with(&srv, &u, "v2.txt", b"signed v2", "text/plain").await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert_eq!(
        fetch(&sigv2_get_url(&srv, &u, &b, "v2.txt", now + 6 * 24 * 3600))
            .await
            .0,
        200
    );
    let (status, code) = fetch(&sigv2_get_url(&srv, &u, &b, "v2.txt", now + 8 * 24 * 3600)).await;
    assert_eq!((status, code.as_str()), (400, "AuthorizationQueryParametersError"));
}

/// The rows `presign_audit` holds for an access key: (user id, link id, status).
async fn audit_rows_of_key(srv: &TestServer, key: &str) -> Vec<(Option<uuid::Uuid>, Option<uuid::Uuid>, i32)> {
    sqlx::query_as("select user_id, link_id, status from presign_audit where access_key_id = $1 order by id")
        .bind(key)
        .fetch_all(&srv.state.db)
        .await
        .unwrap()
}

/// A presigned request is audited under the user who signed it, never under the owner of a
/// link id it carries, and only a URL signed with the link's own key lands in that link's
/// audit.
#[tokio::test]
async fn refused_presigned_requests_are_audited_under_their_signer_not_the_links_owner() {
    let srv = TestServer::start(Backend::Fs).await;
    let a = srv.user().await;
    let b = srv.user().await;
    let api_a = Api::new(&srv, &a);
    let bucket_a = bucket_with(&srv, &a, "a.txt", b"of a", "text/plain").await;
    let bucket_b = bucket_with(&srv, &b, "b.txt", b"of b", "text/plain").await;
    let (status, link) = api_a
        .presign(json!({"bucket": bucket_a, "key": "a.txt", "method": "GET", "expires_in": 600}))
        .await;
    assert_eq!(status, 201, "{link}");
    let link_id = link["id"].as_str().unwrap().to_owned();
    let a_url = link["url"].as_str().unwrap().to_owned();

    // B signs, with B's own key, URLs carrying A's link id: for A's object, and for B's
    // own. The link check refuses both (the link was not signed with B's key).
    let sign_b = |bucket: &str, key: &str| {
        godrive::presign::sign_url(
            &godrive::presign::UrlRequest {
                base: &srv.url(),
                method: "GET",
                bucket,
                key,
                params: vec![(godrive::presign::LINK_PARAM, link_id.clone())],
                region: "us-east-1",
                expires_in: Duration::from_secs(600),
            },
            &b.access_key,
            &b.secret,
            std::time::SystemTime::now(),
        )
        .unwrap()
    };
    let on_a = sign_b(&bucket_a, "a.txt");
    assert_eq!(fetch(&on_a).await, (403, "AccessDenied".into()));
    let on_b = sign_b(&bucket_b, "b.txt");
    assert_eq!(fetch(&on_b).await, (403, "AccessDenied".into()));
    // ...and one that fails its signature (B's key id, tampered after signing).
    let forged = on_b.replace("b.txt", "c.txt");
    assert_eq!(fetch(&forged).await, (403, "SignatureDoesNotMatch".into()));
    // A's own use of the link is served.
    assert_eq!(fetch(&a_url).await, (200, "of a".into()));

    srv.state.audit.flush(&srv.state.db).await.unwrap();
    // B's attempts: under B, attached to no link.
    let rows = audit_rows_of_key(&srv, &b.access_key).await;
    assert_eq!(
        rows,
        vec![
            (Some(b.id), None, 403),
            (Some(b.id), None, 403),
            (Some(b.id), None, 403)
        ]
    );
    // A's link audit: its creation and A's own use, under A; none of B's attempts.
    let (status, acc) = api_a.get(&format!("/presign/{link_id}/accesses")).await;
    assert_eq!(status, 200);
    let seen: Vec<(String, String, i64)> = acc["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["event"].as_str().unwrap().to_owned(),
                r["user_id"].as_str().unwrap().to_owned(),
                r["status"].as_i64().unwrap(),
            )
        })
        .collect();
    let a_id = a.id.to_string();
    assert_eq!(
        seen,
        vec![("created".into(), a_id.clone(), 201), ("used".into(), a_id, 200)],
        "{acc}"
    );
    let rows = audit_rows_of_key(&srv, &a.access_key).await;
    let link_uuid: uuid::Uuid = link_id.parse().unwrap();
    assert_eq!(
        rows,
        vec![(Some(a.id), Some(link_uuid), 201), (Some(a.id), Some(link_uuid), 200)]
    );
}
