//! What a multipart upload costs end to end, and its CompleteMultipartUpload alone: rounds
//! of one upload of PARTS parts of PART_MIB MiB (4 parts in flight), each timed as parts,
//! completion and total, then a GET of the whole object (checked for length).
//!
//! `cargo run --release --example bench_multipart [-- ROUNDS PARTS PART_MIB]` (defaults 3,
//! 16, 64: 1 GiB). Needs the local PostgreSQL; uses a fresh `godrive_bench_multipart`
//! database and a temporary `fs` data directory (`TMPDIR`), served in-process on a loopback
//! port.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use godrive::accounts::crypto;
use godrive::app::AppState;
use godrive::config::Config;
use godrive::db;

const DB: &str = "godrive_bench_multipart";

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

/// One upload; returns (parts, completion, GET) durations.
async fn round(s3: &Client, bucket: &str, key: &str, parts: usize, body: &bytes::Bytes) -> [Duration; 3] {
    let started = Instant::now();
    let id = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("create")
        .upload_id
        .expect("upload id");
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (s3, bucket, key, id, body, next) = (
                s3.clone(),
                bucket.to_owned(),
                key.to_owned(),
                id.clone(),
                body.clone(),
                next.clone(),
            );
            tokio::spawn(async move {
                let mut done = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= parts {
                        return done;
                    }
                    let n = i as i32 + 1;
                    let out = s3
                        .upload_part()
                        .bucket(&bucket)
                        .key(&key)
                        .upload_id(&id)
                        .part_number(n)
                        .body(body.clone().into())
                        .send()
                        .await
                        .expect("part");
                    done.push(
                        CompletedPart::builder()
                            .part_number(n)
                            .e_tag(out.e_tag.unwrap())
                            .build(),
                    );
                }
            })
        })
        .collect();
    let mut done = Vec::new();
    for w in workers {
        done.extend(w.await.expect("worker"));
    }
    done.sort_by_key(|p| p.part_number());
    let uploaded = started.elapsed();
    let t = Instant::now();
    s3.complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(&id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(done)).build())
        .send()
        .await
        .expect("complete");
    let completed = t.elapsed();
    let t = Instant::now();
    let got = s3.get_object().bucket(bucket).key(key).send().await.expect("get");
    let mut stream = got.body;
    let mut len = 0usize;
    while let Some(chunk) = stream.next().await {
        len += chunk.expect("body").len();
    }
    assert_eq!(len, parts * body.len(), "the whole object reads back");
    [uploaded, completed, t.elapsed()]
}

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("numbers")).collect();
    let rounds = args.first().copied().unwrap_or(3);
    let parts = args.get(1).copied().unwrap_or(16);
    let part_mib = args.get(2).copied().unwrap_or(64);

    let data = tempfile::tempdir().expect("tempdir");
    let mut env: HashMap<String, String> = std::env::vars().filter(|(k, _)| k.starts_with("POSTGRES_")).collect();
    env.insert("GODRIVE_CONFIG_DIR".into(), "/nonexistent".into());
    env.insert("POSTGRES_DB".into(), DB.into());
    env.insert("GODRIVE_DATA_DIR".into(), data.path().display().to_string());
    let config = Config::from_lookup(|k| env.get(k).cloned()).expect("config");
    let admin_config = Config::from_lookup(|k| match k {
        "POSTGRES_DB" => Some("postgres".into()),
        _ => env.get(k).cloned(),
    })
    .expect("config");
    let admin = db::connect(&admin_config.database).await.expect("postgres");
    sqlx::query(&format!("drop database if exists {DB} with (force)"))
        .execute(&admin)
        .await
        .expect("drop");
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
    let hash = crypto::hash_password("bench-password", 4).expect("hash");
    let u = db::users::create(&state.db, "mp@bench.example", &hash, false, None)
        .await
        .expect("user");
    let key = crypto::new_access_key_id();
    let secret = crypto::new_secret_access_key().to_string();
    let sealed = state.secrets.seal(secret.as_bytes(), key.as_bytes());
    db::access_keys::create(&state.db, u.id, "bench", &key, &sealed)
        .await
        .expect("key");
    let s3 = client(&url, &key, &secret);
    s3.create_bucket().bucket("bench").send().await.expect("bucket");

    let body = bytes::Bytes::from(vec![9u8; part_mib << 20]);
    let total_mib = (parts * part_mib) as f64;
    println!("multipart {parts} x {part_mib} MiB = {total_mib} MiB, {rounds} rounds, fs backend\n");
    println!("| round | parts s | complete s | total s | MiB/s | GET s |");
    println!("|---:|---:|---:|---:|---:|---:|");
    let mut times: [Vec<Duration>; 4] = Default::default();
    for r in 0..rounds {
        let key = format!("mp/{r}");
        let [up, done, get] = round(&s3, "bench", &key, parts, &body).await;
        let total = up + done;
        println!(
            "| {r} | {:.2} | {:.3} | {:.2} | {:.0} | {:.2} |",
            up.as_secs_f64(),
            done.as_secs_f64(),
            total.as_secs_f64(),
            total_mib / total.as_secs_f64(),
            get.as_secs_f64()
        );
        for (v, d) in times.iter_mut().zip([up, done, total, get]) {
            v.push(d);
        }
        s3.delete_object()
            .bucket("bench")
            .key(&key)
            .send()
            .await
            .expect("delete");
        // Let the background deletes finish before the next round.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let [up, done, total, get] = times.map(median);
    println!(
        "\nmedian: parts {up:.2} s, complete {done:.3} s, total {total:.2} s ({:.0} MiB/s), GET {get:.2} s",
        total_mib / total
    );
}
