//! What quota enforcement costs on small PUTs: the same 4 KiB PUT workload from a user with
//! no limit (nothing to reserve) and from a user with a quota (a reservation taken in
//! PostgreSQL before each body, settled in the commit), alternating rounds in one run.
//!
//! `cargo run --release --example bench_quota [-- ROUNDS PUTS_PER_ROUND CONCURRENCY]`
//! (defaults 6, 1000, 16). Needs the local PostgreSQL; uses a fresh `godrive_bench_quota`
//! database and a temporary `fs` data directory, served in-process on a loopback port.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;

#[path = "support/mod.rs"]
#[allow(dead_code)]
mod support;
use support::percentile;

const SIZE: usize = 4096;

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

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("numbers")).collect();
    let rounds = args.first().copied().unwrap_or(6);
    let per_round = args.get(1).copied().unwrap_or(1000);
    let concurrency = args.get(2).copied().unwrap_or(16);

    let served = support::serve("godrive_bench_quota").await;

    let variants = [
        ("no quota", support::user(&served, "free", None).await),
        ("quota", support::user(&served, "quota", Some(1 << 40)).await),
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
