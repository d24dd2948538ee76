//! The binary as a user runs it: bootstrap commands, `godrive serve`, and the aws cli
//! walkthrough in `examples/aws-cli.sh`.

use std::process::Command;

use crate::process::{Deployment, credentials_in};

#[tokio::test]
async fn bootstrap_commands_and_the_aws_cli_walkthrough() {
    let dep = Deployment::new("cli");
    dep.run(&[
        "user",
        "create",
        "--email",
        "walk@example.com",
        "--password",
        "walkthrough-pw",
    ])
    .await;
    let text = dep.run(&["key", "create", "--user", "walk@example.com"]).await;
    let (key, secret) = credentials_in(&text);
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

    let server = dep.serve().await;
    let port = server.port;

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

    // The bucket the curl walkthrough versioned, shown and suspended from the command line.
    let name: String = sqlx::query_scalar("select name from buckets where versioning is not null")
        .fetch_one(&dep.pool().await)
        .await
        .unwrap();
    let shown: serde_json::Value = serde_json::from_str(&dep.run(&["bucket", "show", &name]).await).unwrap();
    assert_eq!(
        (shown["name"].as_str(), shown["versioning"].as_str()),
        (Some(name.as_str()), Some("enabled"))
    );
    assert_eq!(shown["lifecycle"], serde_json::json!([]));
    dep.run(&["bucket", "versioning", &name, "suspended"]).await;
    let shown: serde_json::Value = serde_json::from_str(&dep.run(&["bucket", "show", &name]).await).unwrap();
    assert_eq!(shown["versioning"], "suspended");

    // gc over the same database and data directory finds nothing to collect.
    let report = dep.run(&["gc", "--grace-secs", "0"]).await;
    assert!(report.contains("aborted 0 stale multipart uploads"), "{report}");
    assert!(report.contains("deleted 0 orphans"), "{report}");
    let report = dep.run(&["usage", "reconcile"]).await;
    assert!(report.contains("found 0 drifted counters"), "{report}");
    assert!(report.contains("0 objects missing their blob"), "{report}");
    drop(server);
}

/// `godrive user create` follows the same account rules as registration through the API:
/// no password past bcrypt's 72 bytes, no invisible characters, one form per email.
#[tokio::test]
async fn user_create_follows_the_account_rules() {
    let dep = Deployment::new("cli_rules");
    let create = |email: &str, password: &str| {
        let mut c = dep.command(0);
        c.args(["user", "create", "--email", email, "--password", password]);
        async move { tokio::task::spawn_blocking(move || c.output().unwrap()).await.unwrap() }
    };
    let out = create("rules@example.com", &"x".repeat(73)).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("72 bytes"));
    let out = create("ru\u{200B}les@example.com", "password123").await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invisible"));
    let out = create("  Rules@Example.com ", "password123").await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("rules@example.com"));
    // The fullwidth twin is the same address.
    let out = create("ｒｕｌｅｓ@example.com", "password123").await;
    assert!(!out.status.success(), "a look-alike was created beside the original");
}
