//! What quota enforcement costs on small PUTs: the same 4 KiB PUT workload from a user with
//! no limit (nothing to reserve) and from a user with a quota (a reservation taken in
//! PostgreSQL before each body, settled in the commit), alternating rounds in one run.
//!
//! `cargo run --release --example bench_quota [-- ROUNDS PUTS_PER_ROUND CONCURRENCY]`
//! (defaults 6, 1000, 16). Needs the local PostgreSQL; uses a fresh `godrive_bench_quota`
//! database and a temporary `fs` data directory, served in-process on a loopback port.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use godrive::accounts::crypto;
use godrive::app::AppState;
use godrive::config::Config;
use godrive::db;

const SIZE: usize = 4096;

fn client(url: &str, key: &str, secret: &str) -> Client {
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

/// A user with a key and a bucket; `quota` in bytes or unlimited.
async fn user(state: &AppState, url: &str, name: &str, quota: Option<i64>) -> (Client, String) {
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
    let s3 = client(url, &key, &secret);
    let bucket = format!("bench-{name}");
    s3.create_bucket().bucket(&bucket).send().await.expect("bucket");
    (s3, bucket)
}

/// `n` PUTs of 4 KiB, `concurrency` at a time; returns each one's latency and the wall time.
async fn round(s3: &Client, bucket: &str, n: usize, concurrency: usize, tag: usize) -> (Vec<Duration>, Duration) {
    let body = bytes::Bytes::from(vec![7u8; SIZE]);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (s3, bucket, body, next) = (s3.clone(), bucket.to_owned(), body.clone(), next.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= n {
                        return lat;
                    }
                    let t = Instant::now();
                    s3.put_object()
                        .bucket(&bucket)
                        .key(format!("r{tag}/k{i}"))
                        .body(body.clone().into())
                        .send()
                        .await
                        .expect("put");
                    lat.push(t.elapsed());
                }
            })
        })
        .collect();
    let mut all = Vec::with_capacity(n);
    for w in workers {
        all.extend(w.await.expect("worker"));
    }
    (all, started.elapsed())
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("numbers")).collect();
    let rounds = args.first().copied().unwrap_or(6);
    let per_round = args.get(1).copied().unwrap_or(1000);
    let concurrency = args.get(2).copied().unwrap_or(16);

    let data = tempfile::tempdir().expect("tempdir");
    let mut env: HashMap<String, String> = std::env::vars().filter(|(k, _)| k.starts_with("POSTGRES_")).collect();
    env.insert("GODRIVE_CONFIG_DIR".into(), "/nonexistent".into());
    env.insert("POSTGRES_DB".into(), "godrive_bench_quota".into());
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
        sqlx::query("drop database if exists godrive_bench_quota with (force)")
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

    let variants = [
        ("no quota", user(&state, &url, "free", None).await),
        ("quota", user(&state, &url, "quota", Some(1 << 40)).await),
    ];
    // Warm up both paths (connections, pool, page cache).
    for (_, (s3, bucket)) in &variants {
        round(s3, bucket, 200, concurrency, usize::MAX).await;
    }
    let mut results: Vec<(Vec<Duration>, Duration)> = vec![(Vec::new(), Duration::ZERO); variants.len()];
    for r in 0..rounds {
        // Alternate which goes first, so drift on the machine falls on both.
        for k in 0..variants.len() {
            let v = if r % 2 == 0 { k } else { variants.len() - 1 - k };
            let (s3, bucket) = &variants[v].1;
            let (lat, wall) = round(s3, bucket, per_round, concurrency, r).await;
            results[v].0.extend(lat);
            results[v].1 += wall;
        }
    }
    println!(
        "4 KiB PUTs, {rounds} alternating rounds of {per_round} per variant, concurrency {concurrency}, fs backend\n"
    );
    println!("| variant | PUTs | ops/s | p50 ms | p95 ms | p99 ms |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut rates = Vec::new();
    for (i, (name, _)) in variants.iter().enumerate() {
        let (lat, wall) = &mut results[i];
        lat.sort();
        let rate = lat.len() as f64 / wall.as_secs_f64();
        rates.push(rate);
        println!(
            "| {name} | {} | {rate:.0} | {:.2} | {:.2} | {:.2} |",
            lat.len(),
            percentile(lat, 0.50),
            percentile(lat, 0.95),
            percentile(lat, 0.99)
        );
    }
    println!(
        "\nquota / no quota throughput: {:.2} (cost of enforcement: {:.1}%)",
        rates[1] / rates[0],
        (1.0 - rates[1] / rates[0]) * 100.0
    );
}
