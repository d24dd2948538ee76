//! A request fuzz of every route: hostile values in every parameter position of every JSON
//! route of the OpenAPI document ([`json`]) and of every S3 operation GoDrive serves
//! ([`s3`], [`bodies`]; hand-signed, so the hostile bytes really reach GoDrive). Whatever is
//! sent, nothing answers 5xx and every request gets an answer.
//!
//! The inputs are fixed lists (no randomness), so a failure names a case that fails again.
//! [`focused`] pins the exact answer for the cases that used to be 500s.

mod bodies;
mod focused;
mod json;
mod s3;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use futures::StreamExt as _;
use serde_json::{Value, json};

use crate::common::{Backend, TestServer, TestUser, unique, xml_code};

/// One request the fuzz sends.
#[derive(Debug, Clone)]
struct Case {
    /// What is being tried, for the failure report.
    label: String,
    method: &'static str,
    /// Path and query, already percent-encoded.
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    auth: Auth,
}

#[derive(Debug, Clone)]
enum Auth {
    None,
    Bearer(String),
    /// SigV4 in headers, by this user (the payload hash signed as is).
    Sign(TestUser),
}

impl Case {
    fn new(label: impl Into<String>, method: &'static str, target: impl Into<String>, auth: Auth) -> Self {
        Self {
            label: label.into(),
            method,
            target: target.into(),
            headers: Vec::new(),
            body: Vec::new(),
            auth,
        }
    }

    fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }
}

/// What came back: the status (0: no answer at all) and the start of the body.
#[derive(Debug)]
struct Answer {
    status: u16,
    body: String,
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        // A redirect (success_action_redirect) must not be followed anywhere.
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// SigV4 headers for a request, or `None` if the signer itself refuses the input (then the
/// request goes out unsigned).
fn sigv4(case: &Case, url: &str, u: &TestUser) -> Option<http::HeaderMap> {
    use aws_sigv4::http_request::{
        PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
        UriPathNormalizationMode, sign,
    };
    let identity: aws_smithy_runtime_api::client::identity::Identity =
        aws_credential_types::Credentials::new(&u.access_key, &u.secret, None, None, "t").into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("s3")
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .ok()?
        .into();
    let declared = case
        .headers
        .iter()
        .find(|(k, _)| k == "x-amz-content-sha256")
        .map(|(_, v)| v.clone());
    let body = match &declared {
        Some(v) => SignableBody::Precomputed(v.clone()),
        None => SignableBody::Bytes(&case.body),
    };
    let headers = case.headers.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let signable = SignableRequest::new(case.method, url, headers, body).ok()?;
    let (instructions, _) = sign(signable, &params).ok()?.into_parts();
    let mut req = http::Request::builder().method(case.method).uri(url).body(()).ok()?;
    for (k, v) in &case.headers {
        req.headers_mut().append(
            http::HeaderName::from_bytes(k.as_bytes()).ok()?,
            http::HeaderValue::from_str(v).ok()?,
        );
    }
    instructions.apply_to_request_http1x(&mut req);
    let mut headers = req.headers().clone();
    headers.remove(http::header::HOST);
    Some(headers)
}

/// Sends a case and returns the answer. A request the server refuses before reading its body
/// may lose the race with its own body (the server closes while the client still writes, and
/// the client sees a reset instead of the answer), so a request that got no answer is sent
/// again, twice at most: a crash or a hang is deterministic and still shows.
async fn send(http: &reqwest::Client, base: &str, case: &Case) -> Answer {
    let mut answer = send_once(http, base, case).await;
    for _ in 0..2 {
        if answer.status != 0 {
            break;
        }
        eprintln!(
            "fuzz: no answer to {:.100}, sending it again: {}",
            case.label, answer.body
        );
        answer = send_once(http, base, case).await;
    }
    answer
}

async fn send_once(http: &reqwest::Client, base: &str, case: &Case) -> Answer {
    let url = format!("{base}{}", case.target);
    let mut headers = http::HeaderMap::new();
    for (k, v) in &case.headers {
        headers.append(
            http::HeaderName::from_bytes(k.as_bytes()).expect("a header name the fuzz can send"),
            http::HeaderValue::from_str(v).expect("a header value the fuzz can send"),
        );
    }
    match &case.auth {
        Auth::None => {}
        Auth::Bearer(t) => {
            headers.insert(http::header::AUTHORIZATION, format!("Bearer {t}").parse().unwrap());
        }
        Auth::Sign(u) => {
            if let Some(signed) = sigv4(case, &url, u) {
                headers = signed;
            }
        }
    }
    let method: reqwest::Method = case.method.parse().unwrap();
    let req = http.request(method, &url).headers(headers).body(case.body.clone());
    match req.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let body = resp.text().await.unwrap_or_default();
            Answer {
                status,
                body: body.chars().take(300).collect(),
            }
        }
        Err(e) if e.is_builder() => panic!("{}: the fuzz built a request it cannot send: {e}", case.label),
        Err(e) => Answer {
            status: 0,
            body: format!("{e:?}").chars().take(300).collect(),
        },
    }
}

/// Sends every case, a few at a time; returns them with their answers, in order.
async fn run(srv: &TestServer, cases: Vec<Case>) -> Vec<(Case, Answer)> {
    let http = http_client();
    let base = srv.url();
    futures::stream::iter(cases)
        .map(|c| {
            let (http, base) = (http.clone(), base.clone());
            async move {
                let a = send(&http, &base, &c).await;
                (c, a)
            }
        })
        .buffered(8)
        .collect()
        .await
}

/// Whether an answer is the honest refusal of something GoDrive does not implement (an
/// operation such as GetBucketTagging, conditional writes, ACLs that grant others): `501
/// NotImplemented`, as the README promises for everything unimplemented. (A HEAD answer
/// has no body to carry the code.)
fn not_implemented(c: &Case, a: &Answer) -> bool {
    a.status == 501 && (xml_code(&a.body) == "NotImplemented" || c.method == "HEAD")
}

/// The cases that got a 5xx (but an honest 501) or no answer at all.
fn failures(results: &[(Case, Answer)]) -> Vec<String> {
    results
        .iter()
        .filter(|(c, a)| a.status == 0 || (a.status >= 500 && !not_implemented(c, a)))
        .map(|(c, a)| format!("{} -> {} {}", c.label, a.status, a.body.replace('\n', " ")))
        .collect()
}

/// How many answers of each status, for the log.
fn tally(results: &[(Case, Answer)]) -> BTreeMap<u16, usize> {
    let mut t = BTreeMap::new();
    for (_, a) in results {
        *t.entry(a.status).or_default() += 1;
    }
    t
}

/// Hostile values for a URL position (path segment or query value), percent-encoded as sent:
/// NUL and control characters, invalid UTF-8, broken escapes, huge and negative numbers,
/// empty values, unknown enum values, base64 of control characters (cursors, tokens), very
/// long strings.
fn url_values() -> Vec<String> {
    let mut v: Vec<String> = [
        "%00",
        "a%00b",
        "%01",
        "%07",
        "%08",
        "%09",
        "%0A",
        "%0D",
        "%0D%0A",
        "%0D%0AX-Injected%3A%201",
        "%1B%5B31m",
        "%1F",
        "%7F",
        "%C2%85",
        "%C0%AF",
        "%FF",
        "%FE%FF",
        "%ED%A0%80",
        "%E2%80%8B",
        "%F4%90%80%80",
        "",
        "%20",
        "-1",
        "0",
        "2147483648",
        "-2147483649",
        "9223372036854775808",
        "-9223372036854775809",
        "99999999999999999999999999999999",
        "1e309",
        "NaN",
        "1.5",
        "null",
        "true",
        "UNKNOWN_ENUM",
        "%25",
        "%",
        "%zz",
        "%2",
        "..%2F..%2Fetc%2Fpasswd",
        "%2F",
        "%5C",
        "*",
        "%27%20OR%201%3D1--",
        "%3Cx%3E%26amp%3B",
        "00000000-0000-0000-0000-000000000000",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    // A cursor or continuation token is base64 of a key: of NUL, of CR LF, of invalid UTF-8.
    for raw in [&b"\0"[..], b"a\0b", b"\r\n", b"\x7f", b"\xff\xfe"] {
        v.push(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw));
    }
    v.push("a".repeat(1025));
    v.push("%00".repeat(300));
    v.push("%C3%A9".repeat(700));
    v
}

/// Hostile header values that can be sent at all (a header cannot carry CR, LF or NUL):
/// numbers, dates, garbage, non-ASCII bytes, and RFC 2047 / percent encodings of control
/// characters, which GoDrive decodes.
fn header_values() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        " ",
        "-1",
        "0",
        "99999999999999999999999999999999",
        "garbage",
        "UNKNOWN_ENUM",
        "é",
        "a\tb",
        "%00",
        "a%00b=c%0D%0A",
        "k%00=v",
        "k=%0D%0A",
        "=?UTF-8?B?AA==?=",
        "=?UTF-8?B?DQo=?=",
        "=?UTF-8?Q?a=00b?=",
        "=?UTF-8?B?/w==?=",
        "=?x?",
        "bytes=0-",
        "bytes=-0",
        "bytes=99999999999999999999-",
        "bytes=5-2",
        "*",
        "\"etag\"",
        "Thu, 01 Jan 1970 00:00:00 GMT",
        "Fri, 31 Dec 9999 23:59:59 GMT",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    v.push("x".repeat(8000));
    v
}

/// Hostile JSON values for a body field.
fn json_values() -> Vec<Value> {
    let mut v: Vec<Value> = [
        "\0",
        "a\0b",
        "\u{1}",
        "\t",
        "\r\n",
        "\u{1b}[31m",
        "\u{7f}",
        "\u{85}",
        "\u{200b}",
        "\u{feff}",
        "",
        " ",
        "../../etc/passwd",
        "'; drop table users; --",
        "%00",
        "<x>&amp;</x>",
        "00000000-0000-0000-0000-000000000000",
        // Shaped like an email, so that the control character gets past a shape check.
        "a\0b@example.com",
        "a\r\nb@example.com",
        "\u{7f}@example.com",
    ]
    .iter()
    .map(|s| json!(s))
    .collect();
    v.push(json!("a".repeat(5000)));
    v.push(json!("é".repeat(2000)));
    v.extend([
        Value::Null,
        json!(true),
        json!(-1),
        json!(0),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(1e308),
        json!(1.5),
        json!([]),
        json!({}),
        json!(["\0"]),
        json!({"\0": "\0"}),
    ]);
    v
}

/// A multipart/form-data body: text fields, then a file part (name, filename, type, bytes).
fn form(fields: &[(&str, &[u8])], file: Option<(&str, &str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "fuzzboundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    }
    if let Some((filename, ctype, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: {ctype}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The fuzz's own account: an admin with an access key, a versioned bucket with files, an
/// open multipart upload, a key and a link, and a second user for the admin routes.
struct World {
    user: TestUser,
    token: String,
    bucket: String,
    bucket_id: String,
    file_id: String,
    /// The version id of `keep`: not `null` (a value the fuzz also sends).
    version_id: String,
    key_id: String,
    link_id: String,
    upload_id: String,
    other_user: String,
}

async fn world(srv: &TestServer) -> World {
    let user = srv.user().await;
    sqlx::query("update users set is_admin = true where id = $1")
        .bind(user.id)
        .execute(&srv.state.db)
        .await
        .unwrap();
    let token = srv.state.tokens.access_token(user.id, "fuzz@example.com", true);
    let other_user = srv.user().await.id.to_string();
    let s3 = srv.client(&user);
    let bucket = unique("fuzz");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    crate::common::set_versioning(&s3, &bucket, aws_sdk_s3::types::BucketVersioningStatus::Enabled).await;
    let mut versions = Vec::new();
    for key in ["keep", "dir/a", "dir/b"] {
        let put = s3
            .put_object()
            .bucket(&bucket)
            .key(key)
            .body(b"fuzz data".to_vec().into())
            .send()
            .await
            .unwrap();
        versions.push(put.version_id().unwrap().to_owned());
    }
    let version_id = versions.swap_remove(0);
    let upload_id = s3
        .create_multipart_upload()
        .bucket(&bucket)
        .key("mp")
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_owned();
    let http = http_client();
    let v1 = format!("{}/v1", srv.url());
    let get = |path: &str| http.get(format!("{v1}{path}")).bearer_auth(&token).send();
    let buckets: Value = get("/buckets").await.unwrap().json().await.unwrap();
    let bucket_id = buckets["items"][0]["id"].as_str().unwrap().to_owned();
    let files: Value = get(&format!("/buckets/{bucket_id}/files?prefix=keep"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let file_id = files["items"][0]["id"].as_str().unwrap().to_owned();
    let keys: Value = get("/keys").await.unwrap().json().await.unwrap();
    let key_id = keys["items"][0]["id"].as_str().unwrap().to_owned();
    let link: Value = http
        .post(format!("{v1}/presign"))
        .bearer_auth(&token)
        .json(&json!({"bucket": bucket, "key": "keep", "method": "GET", "expires_in": 600}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let link_id = link["id"].as_str().unwrap().to_owned();
    World {
        user,
        token,
        bucket,
        bucket_id,
        file_id,
        version_id,
        key_id,
        link_id,
        upload_id,
        other_user,
    }
}

/// A GET and a HEAD of every object in the fuzz's bucket, and its JSON `/content`.
async fn readback_cases(srv: &TestServer, w: &World) -> Vec<Case> {
    /// Keys go in the path as S3 clients send them: all but unreserved characters and `/`
    /// escaped.
    const KEY: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~')
        .remove(b'/');
    let rows: Vec<(uuid::Uuid, String)> =
        sqlx::query_as("select o.id, o.key from objects o join buckets b on b.id = o.bucket_id where b.name = $1")
            .bind(&w.bucket)
            .fetch_all(&srv.state.db)
            .await
            .unwrap();
    let mut cases = Vec::new();
    for (id, key) in rows {
        let path = format!("/{}/{}", w.bucket, percent_encoding::utf8_percent_encode(&key, KEY));
        let shown: String = key.chars().take(40).collect();
        for method in ["GET", "HEAD"] {
            cases.push(Case::new(
                format!("S3 read back {method} {shown:?}"),
                method,
                path.clone(),
                Auth::Sign(w.user.clone()),
            ));
        }
        cases.push(Case::new(
            format!("JSON read back {shown:?}"),
            "GET",
            format!("/v1/buckets/{}/files/{id}/content", w.bucket_id),
            Auth::Bearer(w.token.clone()),
        ));
    }
    cases
}

/// Every JSON route of the OpenAPI document and every S3 operation, with hostile input in
/// every position: no answer is a 5xx, every request is answered, and the presigned-URL audit
/// still writes afterwards (a NUL in one recorded use would make every batch fail).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_route_answers_5xx_to_hostile_input() {
    let started = std::time::Instant::now();
    let srv = TestServer::start(Backend::Fs).await;
    let w = world(&srv).await;
    let json_part = json::json_cases(&w, false);
    let json_count = json_part.len();
    let mut results = run(&srv, json_part).await;
    // The JSON fuzz may have left a quota of 0 on the bucket (`max_bytes: 0` is valid): lift
    // it, so that the S3 fuzz reaches the upload paths too.
    sqlx::query("update buckets set max_bytes = null, max_objects = null where name = $1")
        .bind(&w.bucket)
        .execute(&srv.state.db)
        .await
        .unwrap();
    let mut cases = s3::s3_cases(&w);
    cases.extend(s3::presigned_cases(&w));
    cases.extend(bodies::xml_cases(&w));
    cases.extend(bodies::post_object_cases(&w));
    results.extend(run(&srv, cases).await);
    // Whatever the fuzz managed to store can be read back, on both sides.
    let readback = readback_cases(&srv, &w).await;
    let stored = readback.len() / 3;
    results.extend(run(&srv, readback).await);
    let total = results.len();
    let failed = failures(&results);
    let signature_refusals = results
        .iter()
        .filter(|(c, a)| matches!(c.auth, Auth::Sign(_)) && xml_code(&a.body) == "SignatureDoesNotMatch")
        .count();
    eprintln!(
        "fuzz: {total} requests ({json_count} JSON, {stored} objects read back) in {:?}; statuses {:?}; {signature_refusals} signed S3 requests refused as SignatureDoesNotMatch",
        started.elapsed(),
        tally(&results)
    );
    assert!(
        failed.is_empty(),
        "{} of {total} cases answered 5xx or nothing:\n{}",
        failed.len(),
        failed.join("\n")
    );
    // The fuzz reached the operations: hostile bytes were signed as sent, not refused at the door.
    let signed = results.iter().filter(|(c, _)| matches!(c.auth, Auth::Sign(_))).count();
    assert!(
        signature_refusals * 10 < signed,
        "{signature_refusals} of {signed} signed requests failed their signature"
    );
    srv.state
        .audit
        .flush(&srv.state.db)
        .await
        .expect("the audit still writes");
    // The account is whole: its objects are still there and readable.
    let s3 = srv.client(&w.user);
    let got = s3.get_object().bucket(&w.bucket).key("keep").send().await.unwrap();
    assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), b"fuzz data");
}

/// The account routes (register, login) with hostile emails and passwords: control and
/// invisible characters are refused by the account rules (`accounts`) before anything
/// reaches PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_emails_never_answer_5xx() {
    let srv = TestServer::start(Backend::Fs).await;
    let w = world(&srv).await;
    let cases = json::json_cases(&w, true);
    let total = cases.len();
    let results = run(&srv, cases).await;
    let failed = failures(&results);
    assert!(
        failed.is_empty(),
        "{} of {total} cases answered 5xx or nothing:\n{}",
        failed.len(),
        failed.join("\n")
    );
}
