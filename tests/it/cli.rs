//! The binary as a user runs it: bootstrap commands, `godrive serve`, and the aws cli
//! walkthrough in `examples/aws-cli.sh`.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::drop_database;

const BIN: &str = env!("CARGO_BIN_EXE_godrive");

fn godrive(db: &str, data: &std::path::Path, port: u16) -> Command {
    let mut c = Command::new(BIN);
    c.env("POSTGRES_DB", db)
        .env("GODRIVE_DATA_DIR", data)
        .env("GODRIVE_API_PORT", port.to_string())
        .env("GODRIVE_BIND_ADDR", "127.0.0.1")
        .env("GODRIVE_AUTH_BCRYPT_COST", "4")
        .env_remove("GODRIVE_STORAGE");
    c
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn bootstrap_commands_and_the_aws_cli_walkthrough() {
    let db = format!("godrive_it_cli_{}", uuid::Uuid::new_v4().simple());
    let data = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();

    let out = godrive(&db, data.path(), port)
        .args([
            "user",
            "create",
            "--email",
            "walk@example.com",
            "--password",
            "walkthrough-pw",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = godrive(&db, data.path(), port)
        .args(["key", "create", "--user", "walk@example.com"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let get = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} missing in {text}"))
            .to_owned()
    };
    let (key, secret) = (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY"));
    assert_eq!(key.len(), 20);
    // eval "$(godrive key create ...)" exports both for child processes.
    let exported = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "eval \"$(cat <<'EOT'\n{text}EOT\n)\"; bash -c 'echo $AWS_ACCESS_KEY_ID'"
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&exported.stdout).trim(), key);

    let _server = Killed(
        godrive(&db, data.path(), port)
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let ready = format!("http://127.0.0.1:{port}/v1/health/ready");
    let mut up = false;
    for _ in 0..100 {
        if reqwest::get(&ready).await.is_ok_and(|r| r.status().is_success()) {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "server did not become ready");

    let walk = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/aws-cli.sh"))
            .env("GODRIVE_ENDPOINT", format!("http://127.0.0.1:{port}"))
            .env("AWS_ACCESS_KEY_ID", key)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&walk.stdout);
    assert!(
        walk.status.success(),
        "walkthrough failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&walk.stderr)
    );
    assert!(stdout.contains("walkthrough OK"));

    // The JSON API walkthrough with curl, against the same server.
    let walk = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/curl.sh"))
            .env("GODRIVE_URL", format!("http://127.0.0.1:{port}"))
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&walk.stdout);
    assert!(
        walk.status.success(),
        "curl walkthrough failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&walk.stderr)
    );
    assert!(stdout.contains("walkthrough OK"));

    // gc over the same database and data directory finds nothing to collect.
    let out = godrive(&db, data.path(), port)
        .args(["gc", "--grace-secs", "0"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("aborted 0 stale multipart uploads"), "{report}");
    assert!(report.contains("deleted 0 orphans"), "{report}");
    let out = godrive(&db, data.path(), port)
        .args(["usage", "reconcile"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}{}", String::from_utf8_lossy(&out.stderr));
    assert!(report.contains("found 0 drifted counters"), "{report}");
    assert!(report.contains("0 objects missing their blob"), "{report}");
    drop(_server);
    drop_database(db);
}
