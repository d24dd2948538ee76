//! What a multipart upload costs end to end, and its CompleteMultipartUpload alone: rounds
//! of one upload of PARTS parts of PART_MIB MiB (4 parts in flight), each timed as parts,
//! completion and total, then a GET of the whole object (checked for length).
//!
//! `cargo run --release --example bench_multipart [-- ROUNDS PARTS PART_MIB]` (defaults 3,
//! 16, 64: 1 GiB). Needs the local PostgreSQL; uses a fresh `godrive_bench_multipart`
//! database and a temporary `fs` data directory (`TMPDIR`), served in-process on a loopback
//! port.

use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

#[path = "support/mod.rs"]
#[allow(dead_code)]
mod support;

const DB: &str = "godrive_bench_multipart";

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

    let served = support::serve(DB).await;
    let (s3, bucket) = support::user(&served, "mp", None).await;

    let body = bytes::Bytes::from(vec![9u8; part_mib << 20]);
    let total_mib = (parts * part_mib) as f64;
    println!("multipart {parts} x {part_mib} MiB = {total_mib} MiB, {rounds} rounds, fs backend\n");
    println!("| round | parts s | complete s | total s | MiB/s | GET s |");
    println!("|---:|---:|---:|---:|---:|---:|");
    let mut times: [Vec<Duration>; 4] = Default::default();
    for r in 0..rounds {
        let key = format!("mp/{r}");
        let [up, done, get] = round(&s3, &bucket, &key, parts, &body).await;
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
            .bucket(&bucket)
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
