//! Presigned URLs in a real browser (issue #7): headless Chromium opens pages that the test
//! serves on a second origin (`http://localhost:P2`; GoDrive is `http://127.0.0.1:P1`). A
//! page's script does the work and POSTs a JSON result back to the page server, which is
//! what the test waits for; the page's log and console output, and the end of Chromium's
//! stderr, are printed when a check fails. Pages and assets are in `tests/browser/`.
//!
//! Chromium is found as `$GODRIVE_CHROMIUM`, else `chromium` (Debian's package, which
//! `.ci/run` installs), `chromium-browser` or `google-chrome` on the PATH.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CorsConfiguration, CorsRule};
use axum::Router;
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use md5::Md5;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::common::{Backend, TestServer, client_for, post_form_fields, unique};
use crate::process::Deployment;

/// How long one page (or one navigation) may take, Chromium's start included.
const PAGE_TIMEOUT: Duration = Duration::from_secs(20);

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn asset(name: &str) -> Vec<u8> {
    std::fs::read(browser_dir().join("assets").join(name)).unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The bytes `seededBytes(seed, n)` makes in `tests/browser/harness.js` (xorshift32).
fn seeded_bytes(seed: u32, n: usize) -> Vec<u8> {
    let mut x = if seed == 0 { 1 } else { seed };
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x & 0xff) as u8
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Chromium

pub(crate) fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("GODRIVE_CHROMIUM") {
        return p.into();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!("headless Chromium is needed for the browser tests: apt-get install chromium (see .ci/run)");
}

/// Chromium, headless, with a fresh profile and nothing running in the background.
fn chromium_command(profile: &Path) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(chromium());
    c.args([
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--autoplay-policy=no-user-gesture-required",
        "--mute-audio",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--password-store=basic",
        "--window-size=800,600",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .stdin(Stdio::null())
    .kill_on_drop(true);
    c
}

/// The last lines of Chromium's stderr, without the D-Bus complaints of a machine with no
/// session bus.
fn stderr_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("dbus") && !l.trim().is_empty())
        .collect();
    lines[lines.len().saturating_sub(25)..].join("\n")
}

/// Asks Chromium to quit (SIGTERM), then kills it if it lingers.
async fn stop(child: &mut tokio::process::Child) {
    if let Some(pid) = child.id() {
        let _ = tokio::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await;
    }
    if tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}

/// What Chromium itself saw when it navigated straight to a URL.
struct Navigation {
    /// The DOM it ended with (`--dump-dom`): empty when the response became a download.
    dom: String,
    /// Status line and headers of the main-frame response, from Chromium's net log.
    response: Vec<String>,
    stderr: String,
}

impl Navigation {
    fn status_line(&self) -> &str {
        self.response.first().map_or("", String::as_str)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.response.iter().skip(1).find_map(|h| {
            let (k, v) = h.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Opens `url` as a top-level page (as following a link does), waits for it to load, and
/// returns the DOM and the response Chromium's network stack recorded.
async fn navigate(url: &str) -> Navigation {
    let profile = tempfile::tempdir().unwrap();
    let netlog = profile.path().join("netlog.json");
    let mut c = chromium_command(profile.path());
    c.arg("--dump-dom")
        .arg(format!("--log-net-log={}", netlog.display()))
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = tokio::time::timeout(PAGE_TIMEOUT, c.output())
        .await
        .unwrap_or_else(|_| panic!("Chromium did not finish loading {url} within {PAGE_TIMEOUT:?}"))
        .expect("run chromium");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let log: Value = serde_json::from_slice(&std::fs::read(&netlog).unwrap_or_default())
        .unwrap_or_else(|e| panic!("no readable net log from Chromium ({e}); stderr:\n{stderr}"));
    let ty = |name: &str| log["constants"]["logEventTypes"][name].as_u64();
    let (start, headers) = (
        ty("URL_REQUEST_START_JOB"),
        ty("HTTP_TRANSACTION_READ_RESPONSE_HEADERS"),
    );
    let events = log["events"].as_array().cloned().unwrap_or_default();
    let path = url.split('?').next().unwrap();
    let source = events
        .iter()
        .find(|e| {
            e["type"].as_u64() == start
                && e["params"]["request_type"] == "main frame"
                && e["params"]["url"].as_str().is_some_and(|u| u.starts_with(path))
        })
        .map(|e| e["source"]["id"].clone())
        .unwrap_or_else(|| panic!("Chromium's net log has no main-frame request for {url}; stderr:\n{stderr}"));
    let response = events
        .iter()
        .find(|e| e["type"].as_u64() == headers && e["source"]["id"] == source)
        .and_then(|e| e["params"]["headers"].as_array())
        .map(|h| h.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    Navigation {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        response,
        stderr,
    }
}

// ---------------------------------------------------------------------------------------
// The page server (the second origin)

#[derive(Clone)]
struct PageState {
    params: Arc<Mutex<Value>>,
    log: Arc<Mutex<Vec<String>>>,
    results: mpsc::UnboundedSender<Value>,
}

struct PageServer {
    port: u16,
    state: PageState,
    results: mpsc::UnboundedReceiver<Value>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PageServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn page_file(UrlPath(name): UrlPath<String>) -> Response {
    let kind = match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    if name.contains('/') || name.starts_with('.') {
        return StatusCode::NOT_FOUND.into_response();
    }
    match std::fs::read(browser_dir().join(&name)) {
        Ok(body) => (
            [(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "no-store")],
            body,
        )
            .into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn page_params(State(s): State<PageState>) -> Response {
    let body = format!("window.P = {};\n", s.params.lock().unwrap());
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

async fn page_result(State(s): State<PageState>, body: String) -> StatusCode {
    let v = serde_json::from_str(&body).unwrap_or_else(|_| json!({ "unparsable_result": body }));
    let _ = s.results.send(v);
    StatusCode::NO_CONTENT
}

async fn page_log(State(s): State<PageState>, body: String) -> StatusCode {
    s.log.lock().unwrap().push(body);
    StatusCode::NO_CONTENT
}

/// Where `success_action_redirect` sends the browser back to.
async fn page_landed(State(s): State<PageState>, RawQuery(q): RawQuery) -> Response {
    s.log
        .lock()
        .unwrap()
        .push(format!("page server: GET /landed?{}", q.unwrap_or_default()));
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        "<!doctype html><title>landed</title><p>upload finished</p>",
    )
        .into_response()
}

impl PageServer {
    async fn start(params: Value) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, results) = mpsc::unbounded_channel();
        let state = PageState {
            params: Arc::new(Mutex::new(params)),
            log: Arc::default(),
            results: tx,
        };
        let app = Router::new()
            .route("/params.js", get(page_params))
            .route("/result", post(page_result))
            .route("/log", post(page_log))
            .route("/landed", get(page_landed))
            .route("/{name}", get(page_file))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            port,
            state,
            results,
            task,
        }
    }

    /// The pages' origin: `localhost`, where GoDrive is reached as `127.0.0.1`, so every
    /// request to GoDrive is cross-origin.
    fn origin(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    fn set_params(&self, params: Value) {
        *self.state.params.lock().unwrap() = params;
    }

    fn log(&self) -> String {
        self.state.log.lock().unwrap().join("\n")
    }

    /// Opens `page` in a fresh headless Chromium and returns the result its script posted.
    async fn open(&mut self, page: &str) -> Value {
        let url = format!("{}/{page}", self.origin());
        let profile = tempfile::tempdir().unwrap();
        let stderr_path = profile.path().join("chromium-stderr.txt");
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let mut child = chromium_command(profile.path())
            .arg(&url)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromium().display()));
        let outcome = tokio::select! {
            r = self.results.recv() => Ok(r.expect("result channel")),
            status = child.wait() => Err(format!("Chromium exited before the page reported ({status:?})")),
            () = tokio::time::sleep(PAGE_TIMEOUT) => Err(format!("no result from the page within {PAGE_TIMEOUT:?}")),
        };
        stop(&mut child).await;
        match outcome {
            Ok(v) => v,
            Err(why) => panic!(
                "{url}: {why}\n--- page log\n{}\n--- chromium stderr (end)\n{}",
                self.log(),
                stderr_tail(&stderr_path)
            ),
        }
    }

    /// Context for a failed check: the page's result and log.
    fn context(&self, result: &Value) -> String {
        format!("\n--- page result\n{result:#}\n--- page log\n{}", self.log())
    }
}

// ---------------------------------------------------------------------------------------
// GoDrive helpers

async fn presign_get(s3: &Client, bucket: &str, key: &str) -> String {
    let cfg = PresigningConfig::expires_in(Duration::from_secs(600)).unwrap();
    s3.get_object()
        .bucket(bucket)
        .key(key)
        .presigned(cfg)
        .await
        .unwrap()
        .uri()
        .to_owned()
}

async fn put(s3: &Client, bucket: &str, key: &str, body: Vec<u8>, content_type: &str) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .body(ByteStream::from(body))
        .send()
        .await
        .unwrap();
}

async fn stored(s3: &Client, bucket: &str, key: &str) -> (Vec<u8>, Option<String>) {
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{key} is not stored: {e:?}"));
    let content_type = out.content_type.clone();
    (out.body.collect().await.unwrap().to_vec(), content_type)
}

/// Lets `origin` GET, PUT and POST (POST Object) in `bucket` from a browser, any request
/// header, and read the ETag.
async fn allow_origin(s3: &Client, bucket: &str, origin: &str) {
    let rule = CorsRule::builder()
        .allowed_origins(origin)
        .allowed_methods("PUT")
        .allowed_methods("GET")
        .allowed_methods("POST")
        .allowed_headers("*")
        .expose_headers("ETag")
        .max_age_seconds(60)
        .build()
        .unwrap();
    s3.put_bucket_cors()
        .bucket(bucket)
        .cors_configuration(CorsConfiguration::builder().cors_rules(rule).build().unwrap())
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutBucketCors failed: {e:?}"));
}

/// The JSON API with a bearer token: a registered user, logged in, with an S3 access key.
struct ApiUser {
    base: String,
    http: reqwest::Client,
    token: String,
    s3: Client,
}

impl ApiUser {
    async fn new(srv: &TestServer) -> Self {
        let base = format!("{}/v1", srv.url());
        let http = reqwest::Client::new();
        let email = format!("{}@example.com", unique("browser"));
        let creds = json!({ "email": email, "password": "password123" });
        let r = http
            .post(format!("{base}/auth/register"))
            .json(&creds)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "register: {}", r.text().await.unwrap());
        let r = http
            .post(format!("{base}/auth/login"))
            .json(&creds)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let token = r.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = http
            .post(format!("{base}/keys"))
            .bearer_auth(&token)
            .json(&json!({ "name": "browser" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let key: Value = r.json().await.unwrap();
        let s3 = client_for(
            &srv.url(),
            key["access_key_id"].as_str().unwrap(),
            key["secret_access_key"].as_str().unwrap(),
        );
        Self { base, http, token, s3 }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}

// ---------------------------------------------------------------------------------------
// The tests

/// A presigned GET of a PNG renders in an `<img>` on another origin's page; a presigned GET
/// of a PDF opens in the browser's viewer with status 200 and `application/pdf`.
#[tokio::test]
async fn presigned_image_renders_and_pdf_opens() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let bucket = unique("browser");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    put(&s3, &bucket, "pics/pattern.png", asset("pattern.png"), "image/png").await;
    put(&s3, &bucket, "docs/report.pdf", asset("doc.pdf"), "application/pdf").await;

    let image_url = presign_get(&s3, &bucket, "pics/pattern.png").await;
    let mut page = PageServer::start(json!({ "url": image_url, "fetch": false })).await;
    let r = page.open("image.html").await;
    let ctx = page.context(&r);
    assert!(r.get("fatal").is_none(), "the page failed{ctx}");
    assert_eq!(r["origin"], page.origin(), "{ctx}");
    assert_eq!(
        r["img"]["loaded"], true,
        "the presigned PNG does not load in an <img>{ctx}"
    );
    // tests/browser/assets/pattern.png is 64x48.
    assert_eq!(
        (r["img"]["naturalWidth"].as_u64(), r["img"]["naturalHeight"].as_u64()),
        (Some(64), Some(48)),
        "{ctx}"
    );

    let pdf_url = presign_get(&s3, &bucket, "docs/report.pdf").await;
    let nav = navigate(&pdf_url).await;
    let ctx = format!(
        "\n--- response\n{}\n--- DOM\n{}\n--- chromium stderr\n{}",
        nav.response.join("\n"),
        nav.dom,
        nav.stderr
    );
    assert!(nav.status_line().contains(" 200"), "PDF status as Chromium saw it{ctx}");
    assert_eq!(nav.header("content-type"), Some("application/pdf"), "{ctx}");
    assert!(
        !nav.header("content-disposition")
            .is_some_and(|d| d.contains("attachment")),
        "the PDF would download instead of opening{ctx}"
    );
    // A download leaves no document; an S3 error would be an XML or error page.
    assert!(
        nav.dom.contains("<body"),
        "Chromium shows no document for the PDF (downloaded?){ctx}"
    );
    assert!(!nav.dom.contains("Error") && !nav.dom.contains("<Code>"), "{ctx}");
}

/// An HTML object opened in the browser runs in a sandbox: its script does not run, so it
/// cannot read GoDrive's origin (storage, cookies, `/v1` with the visitor's session). The
/// same page from the page server runs its script: the check can fail.
#[tokio::test]
async fn user_html_runs_sandboxed() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let bucket = unique("active");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let html = std::fs::read(browser_dir().join("active.html")).unwrap();
    put(&s3, &bucket, "site/active.html", html, "text/html").await;

    let page = PageServer::start(json!({})).await;
    let control = navigate(&format!("{}/active.html", page.origin())).await;
    assert!(
        control.dom.contains("<p id=\"ran\">SCRIPT-RAN"),
        "the control page's script did not run: the check below would prove nothing\n{}",
        control.dom
    );

    let nav = navigate(&presign_get(&s3, &bucket, "site/active.html").await).await;
    let ctx = format!("\n--- response\n{}\n--- DOM\n{}", nav.response.join("\n"), nav.dom);
    assert!(nav.status_line().contains(" 200"), "{ctx}");
    assert_eq!(nav.header("content-security-policy"), Some("sandbox"), "{ctx}");
    assert_eq!(nav.header("x-content-type-options"), Some("nosniff"), "{ctx}");
    assert!(nav.dom.contains("static text"), "the page did not render{ctx}");
    // The script's text is in the DOM either way; the element it would insert is not.
    assert!(
        !nav.dom.contains("<p id=\"ran\">"),
        "user HTML ran a script on GoDrive's origin{ctx}"
    );
}

/// A `<video>` plays from a presigned GET and seeks to the middle; the server's own request
/// log shows the GETs answered 206 (ranges).
#[tokio::test]
async fn presigned_video_plays_and_seeks_with_ranges() {
    let dep = Deployment::new("browser");
    let (key, secret) = dep.user_with_key(&format!("{}@example.com", unique("video"))).await;
    let logs = tempfile::tempdir().unwrap();
    let log_path = logs.path().join("godrive.log");
    let server = dep.serve_logged(&log_path, "info").await;
    let s3 = client_for(&server.url(), &key, &secret);
    let bucket = unique("video");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let clip = asset("clip.webm");
    put(&s3, &bucket, "clips/clip.webm", clip.clone(), "video/webm").await;
    let url = presign_get(&s3, &bucket, "clips/clip.webm").await;

    let mut page = PageServer::start(json!({ "url": url })).await;
    let r = page.open("video.html").await;
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    let ctx = format!("{}\n--- server log (end)\n{}", page.context(&r), tail(&log, 30));
    assert!(
        r.get("fatal").is_none() && r.get("failed").is_none(),
        "the video did not play and seek{ctx}"
    );
    // tests/browser/assets/clip.webm: 6 s of 320x240 VP8.
    let duration = r["duration"].as_f64().unwrap_or(0.0);
    assert!((duration - 6.0).abs() < 0.2, "duration {duration}{ctx}");
    assert_eq!(
        (r["videoWidth"].as_u64(), r["videoHeight"].as_u64()),
        (Some(320), Some(240)),
        "{ctx}"
    );
    let seek_to = r["seekTo"].as_f64().unwrap();
    let after_seek = r["afterSeek"].as_f64().unwrap();
    assert!(
        (after_seek - seek_to).abs() < 0.25,
        "landed at {after_seek}, not {seek_to}{ctx}"
    );
    let progressed = r["progressedTo"].as_f64().unwrap();
    assert!(
        progressed >= seek_to + 0.5,
        "playback did not go on after the seek{ctx}"
    );
    let seekable_end = r["seekable"][0][1].as_f64().unwrap_or(0.0);
    assert!(seekable_end > 5.5, "the whole clip should be seekable{ctx}");

    // The request log: one JSON line per request, the method in the request span.
    let requests: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["message"] == "request" || v["fields"]["message"] == "request")
        .collect();
    let method = |v: &Value| {
        v["span"]["method"].as_str().map(str::to_owned).or_else(|| {
            v["spans"]
                .as_array()
                .and_then(|s| s.iter().find_map(|s| s["method"].as_str().map(str::to_owned)))
        })
    };
    let status = |v: &Value| v["status"].as_u64().or_else(|| v["fields"]["status"].as_u64());
    let partial = requests
        .iter()
        .filter(|v| method(v).as_deref() == Some("GET") && status(v) == Some(206))
        .count();
    assert!(partial >= 1, "no GET answered 206 in the server log{ctx}");
    let failed = requests.iter().filter(|v| status(v).is_some_and(|s| s >= 500)).count();
    assert_eq!(failed, 0, "server errors in the log{ctx}");
    drop(server);
}

/// A page on another origin uploads with a presigned PUT through fetch() under the
/// bucket's CORS rules, and with POST Object forms (a real form submission redirected back
/// to the page's origin, and a FormData POST answered 201); the stored objects hash to what
/// the page sent.
#[tokio::test]
async fn browser_uploads_with_presigned_put_and_post_forms() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let bucket = unique("upload");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let mut page = PageServer::start(Value::Null).await;
    let origin = page.origin();
    allow_origin(&s3, &bucket, &origin).await;

    let put_key = "browser/put.bin";
    let cfg = PresigningConfig::expires_in(Duration::from_secs(600)).unwrap();
    let put_url = s3
        .put_object()
        .bucket(&bucket)
        .key(put_key)
        .presigned(cfg)
        .await
        .unwrap()
        .uri()
        .to_owned();
    let action = format!("{}/{bucket}", srv.url());
    let redirect = format!("{origin}/landed");
    let redirect_key = "browser/form-redirect.bin";
    let redirect_fields = post_form_fields(
        &u.access_key,
        &u.secret,
        &bucket,
        &[
            ("key", redirect_key),
            ("Content-Type", "application/x-godrive-form"),
            ("success_action_redirect", &redirect),
        ],
    );
    let created_key = "browser/form-created.bin";
    let created_fields = post_form_fields(
        &u.access_key,
        &u.secret,
        &bucket,
        &[("key", created_key), ("success_action_status", "201")],
    );
    let (put_seed, put_size) = (0x5eed_0001_u32, 200_003);
    let (redirect_seed, redirect_size) = (0x5eed_0002_u32, 100_001);
    let (created_seed, created_size) = (0x5eed_0003_u32, 65_537);
    page.set_params(json!({
        "put": { "url": put_url, "seed": put_seed, "size": put_size, "contentType": "application/octet-stream" },
        "redirect": {
            "action": action, "fields": redirect_fields, "seed": redirect_seed, "size": redirect_size,
            "filename": "redirect.bin", "fileType": "application/x-godrive-form",
        },
        "created": {
            "action": action, "fields": created_fields, "seed": created_seed, "size": created_size,
            "filename": "created.bin", "fileType": "application/octet-stream",
        },
    }));
    let r = page.open("upload.html").await;
    let ctx = page.context(&r);
    assert!(r.get("fatal").is_none(), "the page failed{ctx}");

    // The page's bytes are the ones Rust expects.
    let put_body = seeded_bytes(put_seed, put_size);
    let redirect_body = seeded_bytes(redirect_seed, redirect_size);
    let created_body = seeded_bytes(created_seed, created_size);
    assert_eq!(r["put"]["sha256"], sha256_hex(&put_body), "{ctx}");
    assert_eq!(r["redirect"]["sha256"], sha256_hex(&redirect_body), "{ctx}");
    assert_eq!(r["created"]["sha256"], sha256_hex(&created_body), "{ctx}");

    // Presigned PUT through CORS; the exposed ETag is the body's MD5.
    assert_eq!(r["put"]["status"], 200, "presigned PUT from the page{ctx}");
    let md5 = hex::encode(Md5::digest(&put_body));
    assert_eq!(r["put"]["etag"], format!("\"{md5}\""), "ETag as the page reads it{ctx}");

    // The form POST redirected the browser back to the page's origin with bucket, key, etag.
    let href = r["redirect"]["href"]
        .as_str()
        .unwrap_or_else(|| panic!("no redirect back{ctx}"));
    let landed = reqwest::Url::parse(href).unwrap();
    assert_eq!(landed.origin().ascii_serialization(), origin, "{ctx}");
    assert_eq!(landed.path(), "/landed", "{ctx}");
    let query: std::collections::HashMap<String, String> = landed.query_pairs().into_owned().collect();
    assert_eq!(query.get("bucket"), Some(&bucket), "{ctx}");
    assert_eq!(query.get("key").map(String::as_str), Some(redirect_key), "{ctx}");
    let form_md5 = hex::encode(Md5::digest(&redirect_body));
    assert_eq!(
        query.get("etag").map(|e| e.trim_matches('"')),
        Some(form_md5.as_str()),
        "{ctx}"
    );

    // The FormData POST with success_action_status 201.
    assert_eq!(
        r["created"]["status"], 201,
        "form POST with success_action_status 201{ctx}"
    );
    let xml = r["created"]["text"].as_str().unwrap_or("");
    assert!(xml.contains(&format!("<Key>{created_key}</Key>")), "{ctx}");
    assert!(xml.contains(&format!("<Bucket>{bucket}</Bucket>")), "{ctx}");

    // What is stored is what the page sent.
    let (bytes, _) = stored(&s3, &bucket, put_key).await;
    assert_eq!(sha256_hex(&bytes), sha256_hex(&put_body), "stored PUT object{ctx}");
    let (bytes, content_type) = stored(&s3, &bucket, redirect_key).await;
    assert_eq!(
        sha256_hex(&bytes),
        sha256_hex(&redirect_body),
        "stored form object{ctx}"
    );
    assert_eq!(content_type.as_deref(), Some("application/x-godrive-form"), "{ctx}");
    let (bytes, _) = stored(&s3, &bucket, created_key).await;
    assert_eq!(sha256_hex(&bytes), sha256_hex(&created_body), "stored form object{ctx}");
}

/// A URL made by `POST /v1/presign` loads in the browser until `DELETE /v1/presign/{id}`;
/// then the same URL fails there: the image no longer loads and fetch() gets 403.
#[tokio::test]
async fn revoked_presigned_url_fails_in_the_browser() {
    let srv = TestServer::start(Backend::Fs).await;
    let api = ApiUser::new(&srv).await;
    let bucket = unique("revoke");
    api.s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let png = asset("pattern.png");
    put(&api.s3, &bucket, "shared/pattern.png", png.clone(), "image/png").await;
    let mut page = PageServer::start(Value::Null).await;
    allow_origin(&api.s3, &bucket, &page.origin()).await;

    let (status, link) = api
        .call(
            reqwest::Method::POST,
            "/presign",
            Some(json!({ "bucket": bucket, "key": "shared/pattern.png", "method": "GET", "expires_in": 600 })),
        )
        .await;
    assert!(status == 200 || status == 201, "POST /v1/presign: {status} {link}");
    let (id, url) = (link["id"].as_str().unwrap(), link["url"].as_str().unwrap().to_owned());
    assert_eq!(link["method"], "GET", "{link}");
    assert!(link["expires_at"].is_string(), "{link}");
    assert!(
        url.starts_with(&srv.url()),
        "the link points at the server it was asked from: {link}"
    );

    page.set_params(json!({ "url": url, "fetch": true }));
    let r = page.open("image.html").await;
    let ctx = page.context(&r);
    assert!(r.get("fatal").is_none(), "the page failed{ctx}");
    assert_eq!(
        r["img"]["loaded"], true,
        "the link does not load before revocation{ctx}"
    );
    assert_eq!(r["img"]["naturalWidth"], 64, "{ctx}");
    assert_eq!(r["fetch"]["status"], 200, "{ctx}");
    assert_eq!(r["fetch"]["sha256"], sha256_hex(&png), "{ctx}");

    let (status, body) = api.call(reqwest::Method::DELETE, &format!("/presign/{id}"), None).await;
    assert!((200..300).contains(&status), "DELETE /v1/presign/{id}: {status} {body}");

    // A fresh browser (nothing cached) and the very same URL.
    page.state.log.lock().unwrap().clear();
    let r = page.open("image.html").await;
    let ctx = page.context(&r);
    assert!(r.get("fatal").is_none(), "the page failed{ctx}");
    assert_eq!(
        r["img"]["loaded"], false,
        "the revoked link still loads in an <img>{ctx}"
    );
    assert!(
        r["fetch"].get("error").is_none(),
        "fetch() of the revoked link failed without a readable answer (CORS headers missing on the 403?){ctx}"
    );
    assert_eq!(r["fetch"]["status"], 403, "{ctx}");
    assert!(
        r["fetch"]["text"]
            .as_str()
            .unwrap_or("")
            .contains("<Code>AccessDenied</Code>"),
        "{ctx}"
    );
}

// ---------------------------------------------------------------------------------------
// `godrive serve` with its log in a file

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
