//! What the in-process benchmarks share (`bench_quota`, `bench_multipart`, `bench_versions`):
//! a GoDrive served
//! on a loopback port over a fresh database and a temporary `fs` data directory, users with
//! keys and buckets, a lean SDK client, and percentiles.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use godrive::accounts::crypto;
use godrive::app::AppState;
use godrive::config::Config;
use godrive::db;

/// A GoDrive serving on loopback, and what it runs on.
pub struct Served {
    pub state: AppState,
    pub url: String,
    /// Removed on drop.
    pub _data: tempfile::TempDir,
}

/// Serves GoDrive in-process over a fresh database `db_name` (dropped first) and a new
/// temporary data directory. `GODRIVE_LOG_LEVEL` (default `warn`) sets the log level.
pub async fn serve(db_name: &str) -> Served {
    let data = tempfile::tempdir().expect("tempdir");
    let mut env: HashMap<String, String> = std::env::vars().filter(|(k, _)| k.starts_with("POSTGRES_")).collect();
    env.insert("GODRIVE_CONFIG_DIR".into(), "/nonexistent".into());
    env.insert("POSTGRES_DB".into(), db_name.into());
    env.insert("GODRIVE_DATA_DIR".into(), data.path().display().to_string());
    let config = Config::from_lookup(|k| env.get(k).cloned()).expect("config");
    {
        let admin = db::connect(
            &Config::from_lookup(|k| match k {
                "POSTGRES_DB" => Some("postgres".into()),
                _ => env.get(k).cloned(),
            })
            .expect("config")
            .database,
        )
        .await
        .expect("postgres");
        sqlx::query(&format!("drop database if exists {db_name} with (force)"))
            .execute(&admin)
            .await
            .expect("drop");
    }
    godrive::obs::telemetry::init(
        &std::env::var("GODRIVE_LOG_LEVEL").unwrap_or_else(|_| "warn".into()),
        "pretty",
    );
    let state = AppState::build(config).await.expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(godrive::server::serve_with_listener(
        state.clone(),
        listener,
        std::future::pending(),
    ));
    Served {
        state,
        url,
        _data: data,
    }
}

/// An SDK client for `url` with this key.
pub fn client(url: &str, key: &str, secret: &str) -> Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(key, secret, None, None, "bench"))
        .force_path_style(true)
        .http_client(http)
        .build();
    Client::from_conf(conf)
}

/// A user with a key and a bucket `bench-{name}`; `quota` in bytes or unlimited.
pub async fn user(s: &Served, name: &str, quota: Option<i64>) -> (Client, String) {
    let state = &s.state;
    let hash = crypto::hash_password("bench-password", 4).expect("hash");
    let u = db::users::create(&state.db, &format!("{name}@bench.example"), &hash, false, quota)
        .await
        .expect("user");
    let key = crypto::new_access_key_id();
    let secret = crypto::new_secret_access_key().to_string();
    let sealed = state.secrets.seal(secret.as_bytes(), key.as_bytes());
    db::access_keys::create(&state.db, u.id, "bench", &key, &sealed)
        .await
        .expect("key");
    let s3 = client(&s.url, &key, &secret);
    let bucket = format!("bench-{name}");
    s3.create_bucket().bucket(&bucket).send().await.expect("bucket");
    (s3, bucket)
}

/// The `p` quantile of sorted latencies, in milliseconds.
pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}
