//! The client compatibility suite (`tests/clients/run.sh`): aws cli, s3cmd, rclone, boto3
//! and the AWS SDK for JavaScript v3, each with its default settings, against a fresh
//! server on each backend.

use std::process::Command;

use crate::common::{Backend, TestServer};

async fn run_suite(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let u = srv.user().await;
    let url = srv.url();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/run.sh"))
            .env("GODRIVE_ENDPOINT", url)
            .env("AWS_ACCESS_KEY_ID", &u.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &u.secret)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Shown with --nocapture: every step each client took.
    println!("{stdout}");
    assert!(
        out.status.success(),
        "client suite failed on {backend:?}:\n{stdout}\n{stderr}"
    );
    for client in ["aws", "s3cmd", "rclone", "boto3", "js"] {
        assert!(
            stdout.contains(&format!("=== {client}: OK")),
            "{client} did not pass:\n{stdout}"
        );
    }
    // Every client deleted what it made: no rows (of any version), no uploads, no blobs left.
    assert_eq!(srv.object_rows().await, 0);
    assert_eq!(srv.open_uploads().await, (0, 0));
    srv.assert_no_orphans().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_runs_the_scenario_on_the_fs_backend() {
    run_suite(Backend::Fs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_runs_the_scenario_on_the_s3_backend() {
    run_suite(Backend::S3).await;
}
