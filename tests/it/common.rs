//! A real GoDrive server on an ephemeral port, a fresh PostgreSQL database, and (for the
//! `s3` backend) a real S3 server over HTTP: `s3s-fs`, in-process on its own port.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use godrive::accounts::crypto;
use godrive::app::AppState;
use godrive::config::Config;
use godrive::db;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use uuid::Uuid;

/// Which blob backend a server runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Fs,
    S3,
}

pub const BACKENDS: [Backend; 2] = [Backend::Fs, Backend::S3];

/// A user with one access key.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: Uuid,
    pub access_key: String,
    pub secret: String,
}

pub struct TestServer {
    pub addr: SocketAddr,
    /// The `/metrics` listener.
    pub metrics_addr: SocketAddr,
    pub state: AppState,
    db_name: String,
    shutdown: Option<oneshot::Sender<()>>,
    backend_shutdown: Option<watch::Sender<bool>>,
    backend_addr: Option<SocketAddr>,
    /// The `s3` backend's root folder (the in-process s3s-fs server).
    backend_dir: Option<std::path::PathBuf>,
    _dirs: Vec<tempfile::TempDir>,
}

const BACKEND_KEY: &str = "backendadmin";
const BACKEND_SECRET: &str = "backendadmin-secret";

/// Settings every test server shares: the local PostgreSQL (honouring POSTGRES_* from the
/// environment) and no profile file.
pub fn base_env(db_name: &str) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("POSTGRES_") && k != "POSTGRES_DB")
        .collect();
    env.insert("GODRIVE_CONFIG_DIR".into(), "/nonexistent".into());
    env.insert("POSTGRES_DB".into(), db_name.into());
    env.insert("GODRIVE_AUTH_BCRYPT_COST".into(), "4".into());
    env
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &Uuid::new_v4().simple().to_string()[..12])
}

/// Serves an in-process `s3s-fs` S3 server on `addr` (port 0: any). Sending `true` on the
/// returned channel stops it: no new connections, and open ones are closed.
async fn start_backend(dir: &std::path::Path, addr: SocketAddr) -> (SocketAddr, watch::Sender<bool>) {
    let fs = s3s_fs::FileSystem::new(dir).expect("s3s-fs root");
    let mut b = s3s::service::S3ServiceBuilder::new(fs);
    b.set_auth(s3s::auth::SimpleAuth::from_single(BACKEND_KEY, BACKEND_SECRET));
    let service = b.build();
    let mut listener = None;
    for _ in 0..100 {
        match TcpListener::bind(addr).await {
            Ok(l) => {
                listener = Some(l);
                break;
            }
            // Restarting on the same port: the old socket may linger a moment.
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    let listener = listener.expect("bind the backend port");
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let conn = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
        let mut stop = rx.clone();
        loop {
            let socket = tokio::select! {
                a = listener.accept() => match a { Ok((s, _)) => s, Err(_) => continue },
                _ = stop.changed() => break,
            };
            let _ = socket.set_nodelay(true);
            let svc = service.clone();
            let fut = conn.serve_connection(TokioIo::new(socket), svc).into_owned();
            let mut stop = rx.clone();
            tokio::spawn(async move {
                tokio::select! {
                    _ = fut => {}
                    _ = stop.changed() => {}
                }
            });
        }
    });
    (addr, tx)
}

impl TestServer {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, &[]).await
    }

    pub async fn start_with(backend: Backend, extra: &[(&str, &str)]) -> Self {
        let db_name = format!("godrive_it_{}", Uuid::new_v4().simple());
        let data = tempfile::tempdir().unwrap();
        let mut env = base_env(&db_name);
        env.insert("GODRIVE_DATA_DIR".into(), data.path().display().to_string());
        let mut dirs = vec![data];
        let mut backend_shutdown = None;
        let mut backend_dir = None;
        let mut backend_addr = None;
        if backend == Backend::S3 {
            let bdir = tempfile::tempdir().unwrap();
            let (addr, tx) = start_backend(bdir.path(), "127.0.0.1:0".parse().unwrap()).await;
            backend_addr = Some(addr);
            backend_dir = Some(bdir.path().to_owned());
            dirs.push(bdir);
            backend_shutdown = Some(tx);
            env.insert("GODRIVE_STORAGE".into(), "s3".into());
            env.insert("MINIO_ENDPOINT".into(), format!("http://{addr}"));
            env.insert("MINIO_ROOT_USER".into(), BACKEND_KEY.into());
            env.insert("MINIO_ROOT_PASSWORD".into(), BACKEND_SECRET.into());
            env.insert("MINIO_BUCKET".into(), "godrive-blobs".into());
        }
        for (k, v) in extra {
            env.insert((*k).into(), (*v).into());
        }
        let config = Config::from_lookup(|k| env.get(k).cloned()).expect("test config");
        let state = AppState::build(config).await.expect("app state");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let metrics = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let metrics_addr = metrics.local_addr().unwrap();
        tokio::spawn(godrive::obs::scrape::serve(state.clone(), metrics));
        let (tx, rx) = oneshot::channel::<()>();
        let s = state.clone();
        tokio::spawn(async move {
            godrive::server::serve_with_listener(s, listener, async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
        });
        Self {
            addr,
            metrics_addr,
            state,
            db_name,
            shutdown: Some(tx),
            backend_shutdown,
            backend_addr,
            backend_dir,
            _dirs: dirs,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Creates a user and an access key the way the CLI does.
    pub async fn user(&self) -> TestUser {
        let email = format!("{}@example.com", unique("user"));
        let hash = crypto::hash_password("password123", 4).unwrap();
        let user = db::users::create(&self.state.db, &email, &hash, false, None)
            .await
            .unwrap();
        let access_key = crypto::new_access_key_id();
        let secret = crypto::new_secret_access_key().to_string();
        let sealed = self.state.secrets.seal(secret.as_bytes(), access_key.as_bytes());
        db::access_keys::create(&self.state.db, user.id, "test", &access_key, &sealed)
            .await
            .unwrap();
        TestUser {
            id: user.id,
            access_key,
            secret,
        }
    }

    pub fn client(&self, u: &TestUser) -> Client {
        client_for(&self.url(), &u.access_key, &u.secret)
    }

    /// Every blob in the backend, however new. s3s-fs (the s3 backend here) walks its
    /// directory to list, and fails on a file deleted under it while it does: background
    /// deletes may still be running, so a failed listing is tried again.
    pub async fn backend_blobs(&self) -> HashSet<Uuid> {
        let far = SystemTime::now() + Duration::from_secs(3600);
        let mut tries = 0;
        loop {
            match self.state.storage.list_older_than(far).await {
                Ok(blobs) => return blobs.into_iter().map(|b| b.0).collect(),
                Err(e) if tries < 10 => {
                    tries += 1;
                    eprintln!("listing the backend failed ({e}); again");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("listing the backend failed: {e}"),
            }
        }
    }

    /// Every blob a row references: an object's (or another version's) blob, or each of its
    /// part blobs when it is stored as its parts, and the part blobs of uploads in progress.
    pub async fn referenced_blobs(&self) -> HashSet<Uuid> {
        sqlx::query_scalar(
            "select blob_id from objects where part_blobs is null
             union all select unnest(part_blobs) from objects
             union all select blob_id from object_versions where part_blobs is null and blob_id is not null
             union all select unnest(part_blobs) from object_versions
             union all select blob_id from multipart_parts where blob_id is not null",
        )
        .fetch_all(&self.state.db)
        .await
        .unwrap()
        .into_iter()
        .collect()
    }

    /// Blobs in the backend and blobs referenced by rows must be the same set (after the
    /// background deletes of displaced blobs have run).
    pub async fn assert_no_orphans(&self) {
        let mut last = None;
        for _ in 0..50 {
            let blobs = self.backend_blobs().await;
            let rows = self.referenced_blobs().await;
            if blobs == rows {
                return;
            }
            last = Some((blobs, rows));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (blobs, rows) = last.unwrap();
        panic!("backend blobs {blobs:?} != referenced blobs {rows:?}");
    }

    /// Multipart uploads still open anywhere: rows, and uploads holding bytes in the
    /// backend (part blobs of their own; or, begun the old way, the backend's own upload
    /// (s3) or a part folder (fs)). Part blobs no row references are orphans:
    /// [`Self::assert_no_orphans`] finds those.
    pub async fn open_uploads(&self) -> (i64, usize) {
        let rows: i64 = sqlx::query_scalar("select count(*) from multipart_uploads")
            .fetch_one(&self.state.db)
            .await
            .unwrap();
        let blobs = self.backend_blobs().await;
        let parts: Vec<(Uuid, Uuid)> =
            sqlx::query_as("select upload_id, blob_id from multipart_parts where blob_id is not null")
                .fetch_all(&self.state.db)
                .await
                .unwrap();
        let with_blobs: HashSet<Uuid> = parts
            .into_iter()
            .filter(|(_, b)| blobs.contains(b))
            .map(|(u, _)| u)
            .collect();
        let backend = with_blobs.len()
            + match &self.backend_dir {
                // s3s-fs keeps one `.upload-<id>.json` per open upload in its root.
                Some(dir) => std::fs::read_dir(dir)
                    .unwrap()
                    .filter(|e| {
                        let name = e.as_ref().unwrap().file_name();
                        let name = name.to_string_lossy();
                        name.starts_with(".upload-") && name.ends_with(".json")
                    })
                    .count(),
                None => std::fs::read_dir(self.state.config.data_dir.join("parts"))
                    .unwrap()
                    .count(),
            };
        (rows, backend)
    }

    /// Files holding blobs in the backend: under the data directory's `blobs` (fs), or in
    /// the backend bucket's folder of the s3s-fs server (s3).
    pub fn blob_files(&self) -> usize {
        let root = match &self.backend_dir {
            Some(dir) => dir.join("godrive-blobs"),
            None => self.state.config.data_dir.join("blobs"),
        };
        let mut stack = vec![root];
        let mut n = 0;
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for e in entries {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    n += 1;
                }
            }
        }
        n
    }

    /// Stops the `s3` backend's server (open connections closed).
    pub fn stop_backend(&mut self) {
        if let Some(tx) = self.backend_shutdown.take() {
            let _ = tx.send(true);
        }
    }

    /// Starts the `s3` backend's server again, on the same port and folder.
    pub async fn restart_backend(&mut self) {
        let (dir, addr) = (self.backend_dir.clone().unwrap(), self.backend_addr.unwrap());
        let (_, tx) = start_backend(&dir, addr).await;
        self.backend_shutdown = Some(tx);
    }

    pub async fn object_rows(&self) -> i64 {
        sqlx::query_scalar("select (select count(*) from objects) + (select count(*) from object_versions)")
            .fetch_one(&self.state.db)
            .await
            .unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(tx) = self.backend_shutdown.take() {
            let _ = tx.send(true);
        }
        drop_database(self.db_name.clone());
    }
}

/// Drops a test database from a separate thread (Drop cannot await).
pub fn drop_database(name: String) {
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let env = base_env("postgres");
            let config = Config::from_lookup(|k| env.get(k).cloned()).unwrap();
            if let Ok(pool) = db::connect(&config.database).await {
                let _ = sqlx::query(&format!("drop database if exists \"{name}\" with (force)"))
                    .execute(&pool)
                    .await;
            }
        });
    })
    .join();
}

pub fn client_for(url: &str, key: &str, secret: &str) -> Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(key, secret, None, None, "test"))
        .force_path_style(true)
        .http_client(http)
        .build();
    Client::from_conf(conf)
}

/// The same client with retries off, so a refusal (503, 500) is seen, not retried away.
pub fn without_retries(s3: &Client) -> Client {
    let no_retry = aws_sdk_s3::config::retry::RetryConfig::disabled();
    Client::from_conf(s3.config().to_builder().retry_config(no_retry).build())
}

/// Whether `url` answers 200 within `tries` tenths of a second.
pub async fn becomes_ready(url: &str, tries: u32) -> bool {
    for _ in 0..tries {
        if reqwest::get(url).await.is_ok_and(|r| r.status().is_success()) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Sets a bucket's versioning (`Enabled` or `Suspended`) with PutBucketVersioning.
pub async fn set_versioning(s3: &Client, bucket: &str, status: aws_sdk_s3::types::BucketVersioningStatus) {
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(status)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// The S3 error code and HTTP status of a failed SDK call.
pub fn code_status<E, R>(
    res: Result<R, aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::http::Response>>,
) -> (String, u16)
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    let err = res.expect_err("expected the request to fail");
    let status = err.raw_response().map(|r| r.status().as_u16()).unwrap_or(0);
    let code = aws_sdk_s3::error::ProvideErrorMetadata::code(&err)
        .unwrap_or("")
        .to_owned();
    (code, status)
}

/// Signs a request by hand (SigV4 in headers) for what the SDK will not send: a wrong
/// payload hash, a hand-made aws-chunked body. Returns every header to send, `headers`
/// included.
pub fn sign_request(
    method: &str,
    url: &str,
    u: &TestUser,
    headers: &[(&str, &str)],
    body: aws_sigv4::http_request::SignableBody<'_>,
) -> Vec<(String, String)> {
    use aws_sigv4::http_request::{PayloadChecksumKind, SignableRequest, SigningSettings, sign};
    let identity: aws_smithy_runtime_api::client::identity::Identity =
        aws_credential_types::Credentials::new(&u.access_key, &u.secret, None, None, "t").into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    // S3 signs the path as sent: escaped once, never normalized.
    settings.percent_encoding_mode = aws_sigv4::http_request::PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = aws_sigv4::http_request::UriPathNormalizationMode::Disabled;
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("s3")
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let signable = SignableRequest::new(method, url, headers.iter().copied(), body).unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut req = http::Request::builder().method(method).uri(url).body(()).unwrap();
    for (k, v) in headers {
        req.headers_mut()
            .insert(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
    }
    instructions.apply_to_request_http1x(&mut req);
    req.headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect()
}

/// A request signed with SigV4 in its headers over `body`, for what the SDK will not send
/// (odd headers, subresources, raw metadata bytes); `headers` are signed and sent.
pub fn signed(method: &str, url: &str, u: &TestUser, headers: &[(&str, &str)], body: &[u8]) -> reqwest::RequestBuilder {
    let signed = sign_request(
        method,
        url,
        u,
        headers,
        aws_sigv4::http_request::SignableBody::Bytes(body),
    );
    let mut req = reqwest::Client::new().request(method.parse().unwrap(), url);
    for (k, v) in signed {
        if k != "host" {
            req = req.header(k, v);
        }
    }
    req.body(body.to_vec())
}

/// The `<Code>` of an S3 XML error body.
pub fn xml_code(body: &str) -> String {
    body.split("<Code>")
        .nth(1)
        .and_then(|s| s.split("</Code>").next())
        .unwrap_or("")
        .to_owned()
}

/// The path and query of a presigned PUT, for tests that speak raw HTTP on a socket.
pub async fn presigned_put_path(srv: &TestServer, s3: &Client, bucket: &str, key: &str) -> String {
    let cfg = aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(300)).unwrap();
    let url = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .presigned(cfg)
        .await
        .unwrap()
        .uri()
        .to_owned();
    url.split_once(&srv.addr.to_string()).unwrap().1.to_owned()
}

/// The form fields of a POST Object upload to `bucket`, signed with SigV4 by `key`'s
/// secret: the policy lists every field (`extra` included) and limits the size.
pub fn post_form_fields(access_key: &str, secret: &str, bucket: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let now = time::OffsetDateTime::now_utc();
    let date = now
        .format(time::macros::format_description!("[year][month][day]"))
        .unwrap();
    let amz_date = now
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap();
    let expiration = (now + time::Duration::minutes(10))
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].000Z"
        ))
        .unwrap();
    let credential = format!("{access_key}/{date}/us-east-1/s3/aws4_request");
    let mut fields: Vec<(String, String)> = extra.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
    fields.push(("x-amz-algorithm".into(), "AWS4-HMAC-SHA256".into()));
    fields.push(("x-amz-credential".into(), credential));
    fields.push(("x-amz-date".into(), amz_date));
    let mut conditions = vec![
        serde_json::json!({ "bucket": bucket }),
        serde_json::json!(["content-length-range", 1, 10_485_760]),
    ];
    conditions.extend(
        fields
            .iter()
            .map(|(k, v)| serde_json::json!(["eq", format!("${k}"), v])),
    );
    let policy = serde_json::json!({ "expiration": expiration, "conditions": conditions });
    let policy = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, policy.to_string());
    let hmac = |key: &[u8], msg: &[u8]| {
        let mut m = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(key).unwrap();
        hmac::Mac::update(&mut m, msg);
        hmac::Mac::finalize(m).into_bytes().to_vec()
    };
    let mut signing_key = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    for part in ["us-east-1", "s3", "aws4_request"] {
        signing_key = hmac(&signing_key, part.as_bytes());
    }
    let signature = hex::encode(hmac(&signing_key, policy.as_bytes()));
    fields.push(("policy".into(), policy));
    fields.push(("x-amz-signature".into(), signature));
    fields
}
