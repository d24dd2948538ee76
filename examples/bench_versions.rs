//! What versioning costs: the same PUT and GET workloads on an unversioned bucket and on a
//! versioned one (where every overwrite keeps the version it replaces), alternating rounds
//! in one run; then a listing of 10,000 keys with 10 versions each, page by page, timing
//! pages at its start, middle and end (a page costs the same wherever it is: PostgreSQL
//! reads about one page of rows, not every version).
//!
//! `cargo run --release --example bench_versions [-- ROUNDS PER_ROUND CONCURRENCY KEYS]`
//! (defaults 6, 1000, 16, 10000). Needs the local PostgreSQL; uses a fresh
//! `godrive_bench_versions` database and a temporary `fs` data directory, in-process.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};

#[path = "support/mod.rs"]
#[allow(dead_code)]
mod support;
use support::percentile;

/// Objects overwritten by the PUT rounds (each round writes every one once).
const SET: usize = 500;

#[derive(Clone, Copy)]
enum Op {
    /// A PUT of this many bytes over one of the `SET` keys.
    Put(usize),
    /// A PUT of this many bytes under a key never written before.
    PutNew(usize),
    /// A GET of one of the `SET` keys.
    Get,
}

/// Numbers the keys `Op::PutNew` writes.
static NEW_KEYS: AtomicUsize = AtomicUsize::new(0);

/// `n` requests, `concurrency` at a time, over keys `k0..k{SET}`; each one's latency and
/// the wall time.
async fn round(s3: &Client, bucket: &str, op: Op, n: usize, concurrency: usize) -> (Vec<Duration>, Duration) {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (s3, bucket, next) = (s3.clone(), bucket.to_owned(), next.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return lat;
                    }
                    let key = match op {
                        Op::PutNew(_) => format!("new/{}", NEW_KEYS.fetch_add(1, Ordering::Relaxed)),
                        _ => format!("k{}", i % SET),
                    };
                    let t = Instant::now();
                    match op {
                        Op::Put(size) | Op::PutNew(size) => {
                            s3.put_object()
                                .bucket(&bucket)
                                .key(key)
                                .body(vec![7u8; size].into())
                                .send()
                                .await
                                .expect("put");
                        }
                        Op::Get => {
                            let out = s3.get_object().bucket(&bucket).key(key).send().await.expect("get");
                            out.body.collect().await.expect("body");
                        }
                    }
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

async fn enable_versioning(s3: &Client, bucket: &str) {
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("versioning");
}

/// One page of versions from the markers given: its latency and the next markers.
async fn page(
    s3: &Client,
    bucket: &str,
    markers: (Option<String>, Option<String>),
) -> (Duration, usize, Option<(Option<String>, Option<String>)>) {
    let t = Instant::now();
    let out = s3
        .list_object_versions()
        .bucket(bucket)
        .set_key_marker(markers.0)
        .set_version_id_marker(markers.1)
        .send()
        .await
        .expect("list");
    let took = t.elapsed();
    let n = out.versions().len() + out.delete_markers().len();
    let next = out.is_truncated().unwrap_or(false).then(|| {
        (
            out.next_key_marker().map(str::to_owned),
            out.next_version_id_marker().map(str::to_owned),
        )
    });
    (took, n, next)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("numbers")).collect();
    let rounds = args.first().copied().unwrap_or(6);
    let per_round = args.get(1).copied().unwrap_or(1000);
    let concurrency = args.get(2).copied().unwrap_or(16);
    let list_keys = args.get(3).copied().unwrap_or(10_000);

    let served = support::serve("godrive_bench_versions").await;
    let variants = [
        ("unversioned", support::user(&served, "plain", None).await),
        ("versioned", support::user(&served, "versioned", None).await),
    ];
    enable_versioning(&variants[1].1.0, &variants[1].1.1).await;
    let workloads = [
        ("PUT 4 KiB (new keys)", Op::PutNew(4096), per_round, concurrency),
        ("PUT 4 KiB (overwrites)", Op::Put(4096), per_round, concurrency),
        ("GET 4 KiB", Op::Get, per_round, concurrency),
        ("PUT 1 MiB (overwrites)", Op::Put(1 << 20), per_round / 10, 4),
    ];
    // Warm up: every key exists in both buckets before the first timed round.
    for (_, (s3, bucket)) in &variants {
        round(s3, bucket, Op::Put(4096), SET, concurrency).await;
    }
    println!(
        "{rounds} alternating rounds per workload and variant, fs backend; overwrites go to {SET} keys, so \
         the versioned bucket gains a noncurrent version with each one\n"
    );
    println!("| workload | variant | requests | ops/s | p50 ms | p95 ms | p99 ms | versioned / unversioned |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for (name, op, n, conc) in workloads {
        let mut results: Vec<(Vec<Duration>, Duration)> = vec![(Vec::new(), Duration::ZERO); 2];
        for r in 0..rounds {
            for k in 0..2 {
                let v = if r % 2 == 0 { k } else { 1 - k };
                let (s3, bucket) = &variants[v].1;
                let (lat, wall) = round(s3, bucket, op, n, conc).await;
                results[v].0.extend(lat);
                results[v].1 += wall;
            }
        }
        let rates: Vec<f64> = results.iter().map(|(l, w)| l.len() as f64 / w.as_secs_f64()).collect();
        for (i, (variant, _)) in variants.iter().enumerate() {
            let (lat, _) = &mut results[i];
            lat.sort();
            let ratio = if i == 1 {
                format!("{:.2}", rates[1] / rates[0])
            } else {
                String::new()
            };
            println!(
                "| {name} c{conc} | {variant} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {ratio} |",
                lat.len(),
                rates[i],
                percentile(lat, 0.50),
                percentile(lat, 0.95),
                percentile(lat, 0.99)
            );
        }
    }

    // The listing: `list_keys` keys, 10 versions each (0 bytes), in a bucket of its own.
    let (s3, bucket) = support::user(&served, "listing", None).await;
    enable_versioning(&s3, &bucket).await;
    let filled = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let total = list_keys * 10;
    let workers: Vec<_> = (0..32)
        .map(|_| {
            let (s3, bucket, next) = (s3.clone(), bucket.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        return;
                    }
                    s3.put_object()
                        .bucket(&bucket)
                        .key(format!("dir{:02}/key{:05}", i % list_keys % 100, i % list_keys))
                        .body(Vec::new().into())
                        .send()
                        .await
                        .expect("put");
                }
            })
        })
        .collect();
    for w in workers {
        w.await.expect("worker");
    }
    eprintln!("filled {total} versions in {:.1} s", filled.elapsed().as_secs_f64());
    // What autovacuum would do after such a fill, done now so it does not run during the
    // timed pages.
    sqlx::query("vacuum analyze object_versions")
        .execute(&served.state.db)
        .await
        .expect("vacuum");
    sqlx::query("vacuum analyze objects")
        .execute(&served.state.db)
        .await
        .expect("vacuum");
    let mut lat = Vec::new();
    let mut listed = 0;
    let mut markers = (None, None);
    let started = Instant::now();
    loop {
        let (took, n, next) = page(&s3, &bucket, markers).await;
        lat.push(took);
        listed += n;
        match next {
            Some(m) => markers = m,
            None => break,
        }
    }
    let wall = started.elapsed();
    assert_eq!(listed, total, "every version listed once");
    let pages = lat.len();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let third = pages / 3;
    let mean = |s: &[Duration]| s.iter().map(|d| ms(*d)).sum::<f64>() / s.len() as f64;
    let (first, middle, last) = (
        mean(&lat[..third]),
        mean(&lat[third..2 * third]),
        mean(&lat[2 * third..]),
    );
    let mut sorted = lat.clone();
    sorted.sort();
    println!(
        "\nListObjectVersions over {list_keys} keys x 10 versions ({total} versions), max-keys 1000: {pages} pages in \
         {:.2} s\n",
        wall.as_secs_f64()
    );
    println!("| pages | mean ms | p50 ms | p95 ms | max ms |");
    println!("|---|---:|---:|---:|---:|");
    println!("| first third | {first:.1} | | | |");
    println!("| middle third | {middle:.1} | | | |");
    println!("| last third | {last:.1} | | | |");
    println!(
        "| all | {:.1} | {:.1} | {:.1} | {:.1} |",
        mean(&lat),
        percentile(&sorted, 0.5),
        percentile(&sorted, 0.95),
        percentile(&sorted, 1.0)
    );
}
