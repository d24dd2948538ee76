//! What the facade costs: the same S3 workload against several endpoints in one run,
//! alternating, with throughput, latency percentiles, errors, server peak RSS and ratios.
//!
//! `scripts/bench.sh [--quick]` builds and runs it (it needs `target/release/godrive`).
//! Endpoints, each its own process on loopback:
//! - `null`: a trivial server that discards PUT bodies and serves GETs from memory (the
//!   loopback ceiling);
//! - `s3s-fs`: a plain S3-over-files server (the `s3s-fs` crate) on this disk;
//! - `godrive-fs`: GoDrive with its embedded `fs` backend on the same disk;
//! - `godrive-s3`: GoDrive with the `s3` backend pointing at that `s3s-fs` server.
//!
//! The client is lean on purpose (hyper, one keep-alive connection per worker, SigV4 with
//! `UNSIGNED-PAYLOAD`), so it spends little of the two cores the servers also need.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings, UriPathNormalizationMode,
    sign,
};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};

const KEY: &str = "benchaccesskey000001";
const SECRET: &str = "bench-secret-access-key-0000000000000001";

// ----------------------------------------------------------------------------------------
// Servers (re-executed roles)

/// `null`: PUT reads and drops the body; GET answers `size` bytes taken from the key
/// `.../<size>-...`; anything else 200 with an empty body.
async fn serve_null(listener: tokio::net::TcpListener) {
    let data = Bytes::from(vec![7u8; 64 << 20]);
    let conn = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            continue;
        };
        let _ = socket.set_nodelay(true);
        let data = data.clone();
        let svc = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
            let data = data.clone();
            async move {
                let method = req.method().clone();
                let size: usize = req
                    .uri()
                    .path()
                    .rsplit('/')
                    .next()
                    .and_then(|k| k.split('-').next())
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                let mut body = req.into_body();
                while let Some(frame) = body.frame().await {
                    if frame.is_err() {
                        break;
                    }
                }
                let out = if method == http::Method::GET {
                    data.slice(..size.min(data.len()))
                } else {
                    Bytes::new()
                };
                Ok::<_, std::convert::Infallible>(
                    http::Response::builder()
                        .header("etag", "\"0\"")
                        .body(Full::new(out))
                        .expect("response"),
                )
            }
        });
        let fut = conn.serve_connection(TokioIo::new(socket), svc).into_owned();
        tokio::spawn(fut);
    }
}

/// `s3s-fs` over `root`, one access key.
async fn serve_s3s_fs(listener: tokio::net::TcpListener, root: PathBuf) {
    let fs = s3s_fs::FileSystem::new(root).expect("s3s-fs root");
    let mut b = s3s::service::S3ServiceBuilder::new(fs);
    b.set_auth(s3s::auth::SimpleAuth::from_single(KEY, SECRET));
    let service = b.build();
    let conn = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            continue;
        };
        let _ = socket.set_nodelay(true);
        let fut = conn
            .serve_connection(TokioIo::new(socket), service.clone())
            .into_owned();
        tokio::spawn(fut);
    }
}

fn role_main(role: &str, args: &[String]) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args[0]).await.expect("bind");
        match role {
            "serve-null" => serve_null(listener).await,
            "serve-s3s-fs" => serve_s3s_fs(listener, PathBuf::from(&args[1])).await,
            _ => unreachable!(),
        }
    });
}

// ----------------------------------------------------------------------------------------
// Processes

struct Server {
    name: &'static str,
    addr: SocketAddr,
    child: std::process::Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Resets the peak RSS (`clear_refs` 5), so the next reading covers one workload.
    fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5");
    }

    fn status_kib(&self, field: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }

    fn peak_rss_mib(&self) -> f64 {
        self.status_kib("VmHWM:") as f64 / 1024.0
    }

    /// CPU seconds used so far (user + system).
    fn cpu_secs(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<&str> = after.split_whitespace().collect();
        let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
            + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
        ticks / 100.0
    }
}

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
}

async fn wait_up(addr: SocketAddr) {
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server on {addr} did not come up");
}

fn spawn_role(role: &str, args: &[String]) -> std::process::Child {
    std::process::Command::new(std::env::current_exe().expect("exe"))
        .arg(role)
        .args(args)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn role")
}

fn godrive_bin() -> PathBuf {
    // target/release/examples/bench -> target/release/godrive
    let exe = std::env::current_exe().expect("exe");
    let bin = exe.parent().and_then(Path::parent).expect("target dir").join("godrive");
    assert!(bin.exists(), "{} missing: run scripts/bench.sh", bin.display());
    bin
}

async fn start_godrive(name: &'static str, db: &str, data: &Path, backend: Option<SocketAddr>) -> Server {
    let addr = free_addr();
    let bin = godrive_bin();
    let run = |args: &[&str]| {
        let mut c = std::process::Command::new(&bin);
        c.args(args)
            .env("POSTGRES_DB", db)
            .env("GODRIVE_CONFIG_DIR", "/nonexistent")
            .env("GODRIVE_DATA_DIR", data)
            .env("GODRIVE_BIND_ADDR", "127.0.0.1")
            .env("GODRIVE_API_PORT", addr.port().to_string())
            .env("GODRIVE_METRICS_ADDR", "off")
            .env("GODRIVE_LOG_LEVEL", "warn")
            .env("GODRIVE_AUTH_BCRYPT_COST", "4");
        if let Some(b) = backend {
            c.env("GODRIVE_STORAGE", "s3")
                .env("MINIO_ENDPOINT", format!("http://{b}"))
                .env("MINIO_ROOT_USER", KEY)
                .env("MINIO_ROOT_PASSWORD", SECRET)
                .env("MINIO_BUCKET", "godrive-blobs");
        } else {
            c.env("GODRIVE_STORAGE", "fs");
        }
        c
    };
    let status = run(&["migrate"])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("migrate");
    assert!(status.success());
    let mut prep = run(&[
        "user",
        "create",
        "--email",
        "bench@example.com",
        "--password",
        "bench-password",
    ]);
    // A second instance on the same database finds the user there already.
    let _ = prep
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    let child = run(&["serve"]).spawn().expect("godrive serve");
    wait_up(addr).await;
    // The benchmark's fixed key, sealed as the CLI would (the CLI makes random ones).
    let config = config_for(db);
    let pool = godrive::db::connect(&config.database).await.expect("db");
    let secrets = godrive::accounts::crypto::SecretBox::new(config.master_key.expose());
    let user: uuid::Uuid = sqlx::query_scalar("select id from users where email = 'bench@example.com'")
        .fetch_one(&pool)
        .await
        .expect("user");
    let sealed = secrets.seal(SECRET.as_bytes(), KEY.as_bytes());
    let _ = godrive::db::access_keys::create(&pool, user, "bench", KEY, &sealed).await;
    Server { name, addr, child }
}

/// GoDrive's settings for database `db`: the local PostgreSQL (POSTGRES_* honoured), no
/// profile file.
fn config_for(db: &str) -> godrive::config::Config {
    godrive::config::Config::from_lookup(|k| match k {
        "POSTGRES_DB" => Some(db.to_owned()),
        "GODRIVE_CONFIG_DIR" => Some("/nonexistent".to_owned()),
        _ => std::env::var(k).ok().filter(|_| k.starts_with("POSTGRES_")),
    })
    .expect("config")
}

async fn drop_db(name: &str) {
    let config = config_for("postgres");
    let pool = godrive::db::connect(&config.database).await.expect("db");
    sqlx::query(&format!("drop database if exists {name} with (force)"))
        .execute(&pool)
        .await
        .expect("drop db");
}

// ----------------------------------------------------------------------------------------
// Client

type Conn = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// Builds request `i` of a workload and says how many body bytes it sends.
type Maker = Arc<dyn Fn(usize) -> (http::Request<Full<Bytes>>, u64) + Send + Sync>;

async fn connect(addr: SocketAddr) -> Conn {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    send
}

fn signed(method: &str, addr: SocketAddr, path_and_query: &str, body: Bytes) -> http::Request<Full<Bytes>> {
    let url = format!("http://{addr}{path_and_query}");
    let identity: aws_smithy_runtime_api::client::identity::Identity =
        aws_credential_types::Credentials::new(KEY, SECRET, None, None, "bench").into();
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
        .expect("params")
        .into();
    let host = addr.to_string();
    let len = body.len().to_string();
    let headers = [("host", host.as_str()), ("content-length", len.as_str())];
    let signable =
        SignableRequest::new(method, &url, headers.into_iter(), SignableBody::UnsignedPayload).expect("signable");
    let (instructions, _) = sign(signable, &params).expect("sign").into_parts();
    let mut req = http::Request::builder()
        .method(method)
        .uri(path_and_query)
        .header("host", host)
        .header("content-length", len)
        .body(Full::new(body))
        .expect("request");
    instructions.apply_to_request_http1x(&mut req);
    req
}

/// Sends one request; returns the status and the body length read (the body is drained).
async fn send(conn: &mut Conn, req: http::Request<Full<Bytes>>) -> Result<(u16, u64, Bytes), String> {
    conn.ready().await.map_err(|e| e.to_string())?;
    let resp = conn.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let mut body = resp.into_body();
    let mut n = 0u64;
    let mut small = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| e.to_string())?;
        if let Some(d) = frame.data_ref() {
            n += d.len() as u64;
            if small.len() < 1 << 20 {
                small.extend_from_slice(d);
            }
        }
    }
    Ok((status, n, Bytes::from(small)))
}

// ----------------------------------------------------------------------------------------
// Workloads

#[derive(Default, Clone)]
struct Stats {
    lat: Vec<Duration>,
    wall: Duration,
    bytes: u64,
    errors: usize,
    rss_mib: f64,
    cpu_secs: f64,
}

impl Stats {
    fn ops(&self) -> f64 {
        self.lat.len() as f64 / self.wall.as_secs_f64()
    }
    fn mbps(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.wall.as_secs_f64()
    }
    fn pct(&self, p: f64) -> f64 {
        let mut l = self.lat.clone();
        l.sort();
        if l.is_empty() {
            return 0.0;
        }
        l[((l.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0
    }
}

/// `n` requests, `concurrency` connections; `make(i)` builds request `i`.
async fn run(addr: SocketAddr, n: usize, concurrency: usize, make: Maker) -> Stats {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency.min(n.max(1)))
        .map(|_| {
            let (next, make) = (next.clone(), make.clone());
            tokio::spawn(async move {
                let mut conn = connect(addr).await;
                let mut s = Stats::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return s;
                    }
                    let (req, sent) = make(i);
                    let t = Instant::now();
                    match send(&mut conn, req).await {
                        Ok((status, got, _)) if status < 300 => {
                            s.lat.push(t.elapsed());
                            s.bytes += sent + got;
                        }
                        Ok(_) => s.errors += 1,
                        Err(_) => {
                            s.errors += 1;
                            conn = connect(addr).await;
                        }
                    }
                }
            })
        })
        .collect();
    let mut all = Stats::default();
    for w in workers {
        let s = w.await.expect("worker");
        all.lat.extend(s.lat);
        all.bytes += s.bytes;
        all.errors += s.errors;
    }
    all.wall = started.elapsed();
    all
}

async fn create_bucket(addr: SocketAddr, bucket: &str) {
    let mut c = connect(addr).await;
    let (status, _, body) = send(&mut c, signed("PUT", addr, &format!("/{bucket}"), Bytes::new()))
        .await
        .expect("create bucket");
    assert!(
        status < 300 || String::from_utf8_lossy(&body).contains("BucketAlreadyOwnedByYou"),
        "create bucket {status}: {}",
        String::from_utf8_lossy(&body)
    );
}

fn put_maker(addr: SocketAddr, bucket: String, prefix: String, size: usize) -> Maker {
    let body = Bytes::from(vec![42u8; size]);
    Arc::new(move |i| {
        let path = format!("/{bucket}/{prefix}/{size}-{i}");
        (signed("PUT", addr, &path, body.clone()), size as u64)
    })
}

fn get_maker(addr: SocketAddr, bucket: String, prefix: String, size: usize, count: usize) -> Maker {
    Arc::new(move |i| {
        let path = format!("/{bucket}/{prefix}/{size}-{}", i % count);
        (signed("GET", addr, &path, Bytes::new()), 0)
    })
}

/// Lists a whole bucket with ListObjectsV2 pages of 1000; returns keys seen.
async fn list_all(addr: SocketAddr, bucket: &str, prefix: &str) -> Result<usize, String> {
    let mut c = connect(addr).await;
    let mut token: Option<String> = None;
    let mut seen = 0;
    loop {
        let mut q = format!("/{bucket}?list-type=2&max-keys=1000&prefix={prefix}%2F");
        if let Some(t) = &token {
            q.push_str(&format!(
                "&continuation-token={}",
                percent_encoding::utf8_percent_encode(t, percent_encoding::NON_ALPHANUMERIC)
            ));
        }
        let (status, _, body) = send(&mut c, signed("GET", addr, &q, Bytes::new())).await?;
        if status >= 300 {
            return Err(format!("list {status}"));
        }
        let text = String::from_utf8_lossy(&body);
        seen += text.matches("<Key>").count();
        token = text
            .split_once("<NextContinuationToken>")
            .and_then(|(_, r)| r.split_once("</NextContinuationToken>"))
            .map(|(t, _)| t.to_owned());
        if token.is_none() {
            return Ok(seen);
        }
    }
}

/// One multipart upload of `parts` parts of `part` bytes, 4 parts at a time.
async fn multipart(addr: SocketAddr, bucket: &str, key: &str, parts: usize, part: usize) -> Result<(), String> {
    let mut c = connect(addr).await;
    let (status, _, body) = send(
        &mut c,
        signed("POST", addr, &format!("/{bucket}/{key}?uploads"), Bytes::new()),
    )
    .await?;
    let text = String::from_utf8_lossy(&body);
    let upload = text
        .split_once("<UploadId>")
        .and_then(|(_, r)| r.split_once("</UploadId>"))
        .map(|(u, _)| u.to_owned())
        .ok_or_else(|| format!("create {status}: {text}"))?;
    let enc = |s: &str| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
    let etags = Arc::new(std::sync::Mutex::new(vec![String::new(); parts]));
    let next = Arc::new(AtomicUsize::new(0));
    let body = Bytes::from(vec![9u8; part]);
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (etags, next, body, upload, bucket, key) = (
            etags.clone(),
            next.clone(),
            body.clone(),
            upload.clone(),
            bucket.to_owned(),
            key.to_owned(),
        );
        workers.push(tokio::spawn(async move {
            let mut c = connect(addr).await;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= parts {
                    return Ok::<(), String>(());
                }
                let path = format!("/{bucket}/{key}?partNumber={}&uploadId={}", i + 1, enc(&upload));
                let req = signed("PUT", addr, &path, body.clone());
                c.ready().await.map_err(|e| e.to_string())?;
                let resp = c.send_request(req).await.map_err(|e| e.to_string())?;
                let etag = resp
                    .headers()
                    .get("etag")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                let status = resp.status();
                resp.into_body().collect().await.map_err(|e| e.to_string())?;
                if !status.is_success() {
                    return Err(format!("part {status}"));
                }
                etags.lock().expect("lock")[i] = etag;
            }
        }));
    }
    for w in workers {
        w.await.map_err(|e| e.to_string())??;
    }
    let mut xml = String::from("<CompleteMultipartUpload>");
    for (i, e) in etags.lock().expect("lock").iter().enumerate() {
        xml.push_str(&format!(
            "<Part><PartNumber>{}</PartNumber><ETag>{e}</ETag></Part>",
            i + 1
        ));
    }
    xml.push_str("</CompleteMultipartUpload>");
    let path = format!("/{bucket}/{key}?uploadId={}", enc(&upload));
    let (status, _, body) = send(&mut c, signed("POST", addr, &path, Bytes::from(xml))).await?;
    if status >= 300 || String::from_utf8_lossy(&body).contains("<Error>") {
        return Err(format!("complete {status}: {}", String::from_utf8_lossy(&body)));
    }
    Ok(())
}

/// MD5 + SHA-256 of every byte, single core, in MB/s: what a GoDrive PUT must compute.
fn hashing_mbps() -> f64 {
    use md5::Digest as _;
    let buf = vec![1u8; 64 << 20];
    let started = Instant::now();
    let mut m = md5::Md5::new();
    let mut s = sha2::Sha256::new();
    for _ in 0..4 {
        m.update(&buf);
        s.update(&buf);
    }
    let _ = (m.finalize(), s.finalize());
    (4.0 * 64.0 * 1048576.0) / 1e6 / started.elapsed().as_secs_f64()
}

// ----------------------------------------------------------------------------------------
// The run

struct Row {
    workload: String,
    endpoint: &'static str,
    stats: Stats,
}

fn fmt_row(r: &Row) -> String {
    format!(
        "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {:.0} |",
        r.workload,
        r.endpoint,
        r.stats.ops(),
        r.stats.mbps(),
        r.stats.pct(0.5),
        r.stats.pct(0.95),
        r.stats.pct(0.99),
        r.stats.errors,
        r.stats.rss_mib
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(role) = args.first().filter(|a| a.starts_with("serve-")) {
        return role_main(role, &args[1..]);
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(bench(&args));
}

async fn bench(args: &[String]) {
    if let Some(secs) = args
        .iter()
        .position(|a| a == "--soak")
        .map(|i| args.get(i + 1).and_then(|v| v.parse().ok()).unwrap_or(300))
    {
        return soak(secs).await;
    }
    let quick = args.iter().any(|a| a == "--quick");
    // `--filter TEXT`: only the size/concurrency workloads whose name contains TEXT (and no
    // LIST or multipart), for profiling one workload.
    let filter = args
        .iter()
        .position(|a| a == "--filter")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let work = tempfile::Builder::new()
        .prefix("godrive-bench")
        .tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| "target".into()))
        .expect("work dir");
    let (backend_dir, gfs_dir, gs3_dir) = (
        work.path().join("s3s-fs"),
        work.path().join("gfs"),
        work.path().join("gs3"),
    );
    for d in [&backend_dir, &gfs_dir, &gs3_dir] {
        std::fs::create_dir_all(d).expect("dir");
    }
    // Named per run, so two runs on one machine do not drop each other's database.
    let (fs_db, s3_db) = (
        format!("godrive_bench_fs_{}", std::process::id()),
        format!("godrive_bench_s3_{}", std::process::id()),
    );
    for db in [&fs_db, &s3_db] {
        drop_db(db).await;
    }

    let null_addr = free_addr();
    let null = Server {
        name: "null",
        addr: null_addr,
        child: spawn_role("serve-null", &[null_addr.to_string()]),
    };
    let s3s_addr = free_addr();
    let s3s = Server {
        name: "s3s-fs",
        addr: s3s_addr,
        child: spawn_role(
            "serve-s3s-fs",
            &[s3s_addr.to_string(), backend_dir.display().to_string()],
        ),
    };
    wait_up(null_addr).await;
    wait_up(s3s_addr).await;
    let gfs = start_godrive("godrive-fs", &fs_db, &gfs_dir, None).await;
    let gs3 = start_godrive("godrive-s3", &s3_db, &gs3_dir, Some(s3s_addr)).await;
    let servers = [&null, &s3s, &gfs, &gs3];
    for s in &servers {
        eprintln!("{} pid {}", s.name, s.child.id());
    }
    for s in &servers[1..] {
        create_bucket(s.addr, "bench").await;
    }

    let sizes: Vec<(usize, &str)> = vec![
        (4 << 10, "4KiB"),
        (1 << 20, "1MiB"),
        (10_000_000, "10MB"),
        (64 << 20, "64MiB"),
    ];
    let concurrencies: &[usize] = if quick { &[1, 16] } else { &[1, 16, 64] };
    let mut rows: Vec<Row> = Vec::new();
    let mut flip = false;
    let mut put_cpu: HashMap<&'static str, (f64, u64)> = HashMap::new();
    for &(size, label) in &sizes {
        for &conc in concurrencies {
            if label == "10MB" && conc == 64 {
                continue;
            }
            let n = match size {
                s if s <= 4096 => {
                    if quick {
                        1000
                    } else {
                        3000
                    }
                }
                s if s <= 1 << 20 => {
                    if quick {
                        200
                    } else {
                        400
                    }
                }
                s if s <= 10_000_000 => {
                    if quick {
                        40
                    } else {
                        80
                    }
                }
                _ => (conc * 2).clamp(8, if quick { 16 } else { 48 }),
            };
            // `BENCH_N`: requests per workload, to lengthen one for a profile.
            let n = std::env::var("BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(n);
            for op in ["PUT", "GET"] {
                if label == "10MB" && op == "GET" {
                    continue;
                }
                let name = format!("{op} {label} c{conc}");
                if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
                    continue;
                }
                let order: Vec<&Server> = if flip {
                    servers.iter().rev().copied().collect()
                } else {
                    servers.to_vec()
                };
                flip = !flip;
                for s in order {
                    let prefix = format!("{label}-c{conc}");
                    let maker = if op == "PUT" {
                        put_maker(s.addr, "bench".into(), prefix, size)
                    } else {
                        get_maker(s.addr, "bench".into(), prefix, size, n)
                    };
                    s.reset_peak();
                    let cpu0 = s.cpu_secs();
                    let mut stats = run(s.addr, n, conc, maker).await;
                    stats.cpu_secs = s.cpu_secs() - cpu0;
                    stats.rss_mib = s.peak_rss_mib();
                    if op == "PUT" && size == 64 << 20 {
                        let e = put_cpu.entry(s.name).or_default();
                        e.0 += stats.cpu_secs;
                        e.1 += stats.bytes;
                    }
                    eprintln!(
                        "{op} {label} c{conc} {}: {:.1} ops/s, {} errors",
                        s.name,
                        stats.ops(),
                        stats.errors
                    );
                    rows.push(Row {
                        workload: format!("{op} {label} c{conc}"),
                        endpoint: s.name,
                        stats,
                    });
                }
            }
        }
    }

    // LIST of a 10,000-key bucket (0-byte objects), every page of 1000.
    let list_keys = 10_000;
    let whole = filter.is_none();
    for s in servers[1..].iter().filter(|_| whole) {
        let stats = run(
            s.addr,
            list_keys,
            32,
            put_maker(s.addr, "bench".into(), "list".into(), 0),
        )
        .await;
        assert_eq!(stats.errors, 0, "{}: filling the listing bucket failed", s.name);
    }
    for s in servers[1..].iter().filter(|_| whole) {
        s.reset_peak();
        let started = Instant::now();
        let mut stats = Stats::default();
        for _ in 0..3 {
            let t = Instant::now();
            match list_all(s.addr, "bench", "list").await {
                Ok(n) if n == list_keys => stats.lat.push(t.elapsed()),
                _ => stats.errors += 1,
            }
        }
        stats.wall = started.elapsed();
        stats.rss_mib = s.peak_rss_mib();
        rows.push(Row {
            workload: "LIST 10k keys (full listing)".into(),
            endpoint: s.name,
            stats,
        });
    }

    // Multipart upload of 1 GiB (16 parts of 64 MiB, 4 at a time).
    let (parts, part) = if quick { (4, 64 << 20) } else { (16, 64 << 20) };
    for s in servers[1..].iter().filter(|_| whole) {
        s.reset_peak();
        let t = Instant::now();
        let mut stats = Stats::default();
        match multipart(s.addr, "bench", "mp/big", parts, part).await {
            Ok(()) => {
                stats.lat.push(t.elapsed());
                stats.bytes = (parts * part) as u64;
            }
            Err(e) => {
                eprintln!("multipart on {}: {e}", s.name);
                stats.errors += 1;
            }
        }
        stats.wall = t.elapsed();
        stats.rss_mib = s.peak_rss_mib();
        rows.push(Row {
            workload: format!("multipart {} MiB", (parts * part) >> 20),
            endpoint: s.name,
            stats,
        });
    }

    // The table, then the ratios the targets are stated in.
    println!("## Results ({})\n", if quick { "quick" } else { "full" });
    println!("| workload | endpoint | ops/s | MB/s | p50 ms | p95 ms | p99 ms | errors | peak RSS MiB |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!("{}", fmt_row(r));
    }
    let find = |w: &str, e: &str| {
        rows.iter()
            .find(|r| r.workload == w && r.endpoint == e)
            .map(|r| &r.stats)
    };
    let ratio = |w: &str, a: &str, b: &str, mbps: bool| -> Option<f64> {
        let (x, y) = (find(w, a)?, find(w, b)?);
        Some(if mbps { x.mbps() / y.mbps() } else { x.ops() / y.ops() })
    };
    println!("\n## Ratios\n");
    println!("| workload | godrive-fs / s3s-fs | godrive-s3 / s3s-fs | godrive-fs / null |");
    println!("|---|---:|---:|---:|");
    let workloads: Vec<String> = {
        let mut seen = Vec::new();
        for r in &rows {
            if !seen.contains(&r.workload) {
                seen.push(r.workload.clone());
            }
        }
        seen
    };
    for w in &workloads {
        let big = !w.contains("4KiB") && !w.starts_with("LIST");
        let show = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.2}"));
        println!(
            "| {w} | {} | {} | {} |",
            show(ratio(w, "godrive-fs", "s3s-fs", big)),
            show(ratio(w, "godrive-s3", "s3s-fs", big)),
            show(ratio(w, "godrive-fs", "null", big)),
        );
    }
    println!("\n## Where a 64 MiB PUT spends its CPU\n");
    let hash = hashing_mbps();
    println!("MD5 + SHA-256 of every byte on one core: {hash:.0} MB/s.");
    for (name, (cpu, bytes)) in &put_cpu {
        if *cpu > 0.0 {
            println!(
                "- {name}: {:.0} MB per server CPU-second ({:.2} CPU-s per GB; hashing alone: {:.2})",
                *bytes as f64 / 1e6 / cpu,
                cpu / (*bytes as f64 / 1e9),
                1e3 / hash
            );
        }
    }
    drop((gfs, gs3, s3s, null));
    for db in [&fs_db, &s3_db] {
        drop_db(db).await;
    }
}

// ----------------------------------------------------------------------------------------
// Soak: mixed S3 and JSON traffic against two instances sharing one database and one data
// directory, for a bounded time.

#[derive(Default)]
struct SoakCounts {
    ops: HashMap<&'static str, u64>,
    status_5xx: u64,
    other_errors: u64,
    corrupt: u64,
    put_latencies: Vec<Duration>,
}

fn plain(
    method: &str,
    addr: SocketAddr,
    path: &str,
    body: Option<String>,
    token: Option<&str>,
) -> http::Request<Full<Bytes>> {
    let mut b = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    if body.is_some() {
        b = b.header("content-type", "application/json");
    }
    b.body(Full::new(Bytes::from(body.unwrap_or_default())))
        .expect("request")
}

async fn soak(secs: u64) {
    use rand::{Rng, SeedableRng};
    use sha2::Digest as _;
    let work = tempfile::Builder::new()
        .prefix("godrive-soak")
        .tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| "target".into()))
        .expect("work dir");
    drop_db("godrive_soak").await;
    let a = start_godrive("godrive-a", "godrive_soak", work.path(), None).await;
    let b = start_godrive("godrive-b", "godrive_soak", work.path(), None).await;
    create_bucket(a.addr, "soak").await;
    let addrs = [a.addr, b.addr];
    let deadline = Instant::now() + Duration::from_secs(secs);
    let counts = Arc::new(std::sync::Mutex::new(SoakCounts::default()));
    // Every acknowledged object: key -> (size, SHA-256).
    let acked = Arc::new(std::sync::Mutex::new(HashMap::<String, (usize, [u8; 32])>::new()));
    let mut clients = Vec::new();
    for c in 0..24usize {
        let (counts, acked) = (counts.clone(), acked.clone());
        clients.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(c as u64);
            let mut conns = [connect(addrs[0]).await, connect(addrs[1]).await];
            let mut mine: Vec<String> = Vec::new();
            let mut n = 0usize;
            while Instant::now() < deadline {
                n += 1;
                let which = rng.gen_range(0..2);
                let addr = addrs[which];
                let conn = &mut conns[which];
                let roll = rng.gen_range(0..10);
                let (op, res, started) = match roll {
                    0..=3 => {
                        // Sizes from 1 KiB to 10 MB (powers of two, then 10 MB), most small.
                        let size = (1usize << rng.gen_range(10..25)).min(10_000_000);
                        let body: Vec<u8> = (0..size).map(|i| (i as u8) ^ (c as u8) ^ (n as u8)).collect();
                        let sum: [u8; 32] = sha2::Sha256::digest(&body).into();
                        let key = format!("c{c}/o{n}");
                        let t = Instant::now();
                        let res = send(conn, signed("PUT", addr, &format!("/soak/{key}"), Bytes::from(body))).await;
                        if matches!(res, Ok((s, _, _)) if s < 300) {
                            acked.lock().expect("lock").insert(key.clone(), (size, sum));
                            mine.push(key);
                            counts.lock().expect("lock").put_latencies.push(t.elapsed());
                        }
                        ("PUT", res, t)
                    }
                    4..=6 if !mine.is_empty() => {
                        let key = mine[rng.gen_range(0..mine.len())].clone();
                        let want = acked.lock().expect("lock").get(&key).copied();
                        let t = Instant::now();
                        let res = send(conn, signed("GET", addr, &format!("/soak/{key}"), Bytes::new())).await;
                        if let (Ok((200, n, body)), Some((size, sum))) = (&res, want) {
                            let whole = size <= (1 << 20);
                            if *n as usize != size || (whole && sha2::Sha256::digest(body)[..] != sum[..]) {
                                counts.lock().expect("lock").corrupt += 1;
                            }
                        }
                        ("GET", res, t)
                    }
                    7 => {
                        let t = Instant::now();
                        let path = format!("/soak?list-type=2&prefix=c{c}%2F&max-keys=100");
                        ("LIST", send(conn, signed("GET", addr, &path, Bytes::new())).await, t)
                    }
                    8 => {
                        let t = Instant::now();
                        let login = r#"{"email":"bench@example.com","password":"bench-password"}"#.to_owned();
                        let res = send(conn, plain("POST", addr, "/v1/auth/login", Some(login), None)).await;
                        let res = match res {
                            Ok((200, _, body)) => {
                                let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                                let token = v["access_token"].as_str().unwrap_or_default().to_owned();
                                send(conn, plain("GET", addr, "/v1/usage", None, Some(&token))).await
                            }
                            other => other,
                        };
                        ("JSON", res, t)
                    }
                    _ if !mine.is_empty() => {
                        let key = mine.swap_remove(rng.gen_range(0..mine.len()));
                        acked.lock().expect("lock").remove(&key);
                        let t = Instant::now();
                        (
                            "DELETE",
                            send(conn, signed("DELETE", addr, &format!("/soak/{key}"), Bytes::new())).await,
                            t,
                        )
                    }
                    _ => continue,
                };
                let _ = started;
                let reconnect = {
                    let mut k = counts.lock().expect("lock");
                    *k.ops.entry(op).or_default() += 1;
                    match res {
                        Ok((s, _, _)) if s >= 500 => {
                            k.status_5xx += 1;
                            false
                        }
                        Ok((s, _, _)) if s >= 300 => {
                            k.other_errors += 1;
                            false
                        }
                        Ok(_) => false,
                        Err(_) => {
                            k.other_errors += 1;
                            true
                        }
                    }
                };
                if reconnect {
                    conns[which] = connect(addr).await;
                }
            }
        }));
    }
    // Memory of both instances every 10 s.
    let mut rss: Vec<(u64, f64, f64)> = Vec::new();
    let started = Instant::now();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(10).min(deadline.saturating_duration_since(Instant::now()))).await;
        rss.push((
            started.elapsed().as_secs(),
            a.status_kib("VmRSS:") as f64 / 1024.0,
            b.status_kib("VmRSS:") as f64 / 1024.0,
        ));
    }
    for c in clients {
        c.await.expect("client");
    }
    // Zero lost objects: every acknowledged one reads back with its bytes.
    let acked = std::mem::take(&mut *acked.lock().expect("lock"));
    let mut conn = connect(a.addr).await;
    let mut lost = 0;
    for (key, (size, sum)) in &acked {
        match send(&mut conn, signed("GET", a.addr, &format!("/soak/{key}"), Bytes::new())).await {
            Ok((200, n, body))
                if n as usize == *size && (size > &(1 << 20) || sha2::Sha256::digest(&body)[..] == sum[..]) => {}
            _ => lost += 1,
        }
    }
    let k = std::mem::take(&mut *counts.lock().expect("lock"));
    let mut lat = k.put_latencies.clone();
    lat.sort();
    let p95 = lat
        .get(lat.len().saturating_sub(1) * 95 / 100)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    println!("## Soak ({secs} s, 24 clients, two instances sharing one database and data directory)\n");
    let mut ops: Vec<_> = k.ops.iter().collect();
    ops.sort();
    println!(
        "operations: {}",
        ops.iter()
            .map(|(o, n)| format!("{o} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("5xx answers: {}", k.status_5xx);
    println!("other refusals or transport errors: {}", k.other_errors);
    println!("GETs with wrong bytes during the run: {}", k.corrupt);
    println!(
        "acknowledged objects checked at the end: {}, lost or corrupt: {lost}",
        acked.len()
    );
    println!("p95 PUT latency (1 KiB to 10 MB): {p95:.0} ms over {} PUTs", lat.len());
    println!("\nserver RSS (MiB) every 10 s, instance a / b:");
    for (t, ra, rb) in &rss {
        println!("  {t:>4} s  {ra:>6.1} / {rb:>6.1}");
    }
    drop((a, b));
    drop_db("godrive_soak").await;
}
