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

/// The operator commands (issue #20), against a serving instance: what they change is seen
/// at once by S3 clients (through PostgreSQL's invalidation triggers), and `--json` output
/// parses.
#[tokio::test]
async fn operator_commands_act_on_a_running_instance() {
    let dep = Deployment::new("cli_admin");
    let server = dep.serve().await;
    let url = server.url();
    let (key, secret) = dep.user_with_key("ops-user@example.com").await;
    let s3 = crate::common::client_for(&url, &key, &secret);
    s3.create_bucket().bucket("ops-bucket").send().await.unwrap();
    let put = |body: &'static [u8]| {
        s3.put_object()
            .bucket("ops-bucket")
            .key("k")
            .body(aws_sdk_s3::primitives::ByteStream::from_static(body))
            .send()
    };
    put(b"0123456789").await.unwrap();

    // Users: listed (table and JSON), found by part of the email, promoted and demoted.
    let table = dep.run(&["user", "list"]).await;
    assert!(table.starts_with("EMAIL"), "{table}");
    assert!(table.contains("ops-user@example.com"), "{table}");
    let users: serde_json::Value =
        serde_json::from_str(&dep.run(&["user", "list", "--email", "OPS-US", "--json"]).await).unwrap();
    assert_eq!(users.as_array().unwrap().len(), 1);
    assert_eq!(
        (users[0]["used_bytes"].as_i64(), users[0]["is_admin"].as_bool()),
        (Some(10), Some(false))
    );
    assert!(
        dep.run(&["user", "promote", "--email", "ops-user@example.com"])
            .await
            .contains("admin, active")
    );
    assert!(
        dep.run(&["user", "demote", "--email", "ops-user@example.com"])
            .await
            .contains("user, active")
    );

    // Disabled: S3 refuses the user's key at once; enabled: accepted again.
    dep.run(&["user", "disable", "--email", "ops-user@example.com"]).await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert!(
        s3.list_buckets().send().await.is_err(),
        "a disabled user's key still works"
    );
    dep.run(&["user", "enable", "--email", "ops-user@example.com"]).await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    s3.list_buckets().send().await.unwrap();

    // Quotas: a user's and a bucket's, refused in S3's words when crossed.
    dep.run(&["quota", "set", "--user", "ops-user@example.com", "--bytes", "15"])
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let err = put(b"0123456789012345678").await.unwrap_err();
    assert_eq!(err.into_service_error().meta().code(), Some("QuotaExceeded"));
    dep.run(&["quota", "set", "--user", "ops-user@example.com", "--bytes", "none"])
        .await;
    let out = dep
        .run(&["quota", "set", "--bucket", "ops-bucket", "--max-objects", "1"])
        .await;
    assert!(out.contains("max_objects 1"), "{out}");
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let err = s3
        .put_object()
        .bucket("ops-bucket")
        .key("second")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.into_service_error().meta().code(), Some("QuotaExceeded"));
    let mut bad = dep.command(0);
    bad.args(["quota", "set", "--user", "ops-user@example.com", "--bytes", "-5"]);
    let out = tokio::task::spawn_blocking(move || bad.output().unwrap())
        .await
        .unwrap();
    assert!(!out.status.success());

    // The usage report: today counts the user's 10 bytes, in each format.
    let csv = dep.run(&["usage", "report", "--format", "csv"]).await;
    let last = csv.lines().last().unwrap();
    assert!(
        csv.starts_with("day,used_bytes,peak_bytes,objects,requests,users,final\n"),
        "{csv}"
    );
    assert!(last.contains(",10,") && last.ends_with(",false"), "{csv}");
    let json: serde_json::Value = serde_json::from_str(
        &dep.run(&["usage", "report", "--user", "ops-user@example.com", "--format", "json"])
            .await,
    )
    .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 30);
    assert!(dep.run(&["usage", "report"]).await.starts_with("DAY"));

    // Keys: listed without secrets, revoked (S3 refuses it at once).
    let keys = dep.run(&["key", "list", "--user", "ops-user@example.com"]).await;
    assert!(keys.contains(&key) && !keys.contains(&secret), "{keys}");
    let listed: serde_json::Value = serde_json::from_str(&dep.run(&["key", "list", "--json"]).await).unwrap();
    assert_eq!(listed[0]["access_key_id"], key.as_str());

    // Links: one made through the JSON API, listed and revoked from the command line.
    let http = reqwest::Client::new();
    let tokens: serde_json::Value = http
        .post(format!("{url}/v1/auth/login"))
        .json(&serde_json::json!({"email": "ops-user@example.com", "password": "process-test-pw"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let link: serde_json::Value = http
        .post(format!("{url}/v1/presign"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .json(&serde_json::json!({"bucket": "ops-bucket", "key": "k", "method": "GET", "expires_in": 600}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let link_url = link["url"].as_str().unwrap();
    assert_eq!(http.get(link_url).send().await.unwrap().status(), 200);
    let listed = dep.run(&["link", "list"]).await;
    assert!(listed.contains("ops-bucket/k") && listed.contains("active"), "{listed}");
    dep.run(&["link", "revoke", link["id"].as_str().unwrap()]).await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(http.get(link_url).send().await.unwrap().status(), 403);
    let links: serde_json::Value = serde_json::from_str(&dep.run(&["link", "list", "--json"]).await).unwrap();
    assert_eq!(links[0]["state"], "revoked");

    dep.run(&["key", "revoke", &key]).await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let err = s3.list_buckets().send().await.unwrap_err();
    assert_eq!(err.into_service_error().meta().code(), Some("InvalidAccessKeyId"));

    // info: one instance alive, everything healthy.
    let info: serde_json::Value = serde_json::from_str(&dep.run(&["info", "--json"]).await).unwrap();
    assert_eq!(
        (
            info["instances_alive"].as_i64(),
            info["database"].as_str(),
            info["backend"].as_str()
        ),
        (Some(1), Some("ok"), Some("ok"))
    );
    assert_eq!(info["used_bytes"].as_i64(), Some(10));
    assert!(dep.run(&["info"]).await.contains("instances_alive"));
}

/// `godrive master-key rotate` (issue #20): keys of several users, sealed under the old
/// master key, keep working on an instance given the new key and the old one as previous,
/// throughout the rotation; afterwards the old key can be dropped; a second run finds
/// nothing left to do.
#[tokio::test]
async fn the_master_key_rotates_online() {
    const NEW: &str = "a-new-master-key-of-at-least-32-characters";
    let dep = Deployment::new("cli_rotate");
    let mut users = Vec::new();
    for i in 0..3 {
        users.push(dep.user_with_key(&format!("rotate-{i}@example.com")).await);
    }
    let old = godrive::config::DEV_MASTER_KEY;
    let both = [("GODRIVE_MASTER_KEY", NEW), ("GODRIVE_PREVIOUS_MASTER_KEYS", old)];
    let server = dep.serve_with(&both, None).await;
    let clients: Vec<_> = users
        .iter()
        .map(|(k, s)| crate::common::client_for(&server.url(), k, s))
        .collect();
    for c in &clients {
        c.list_buckets().send().await.unwrap();
    }
    // S3 requests go on while the rotation runs; none is refused.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let traffic = {
        let (clients, stop) = (clients.clone(), stop.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for c in &clients {
                    c.list_buckets().send().await.expect("a request during the rotation");
                    n += 1;
                }
            }
            n
        })
    };
    let rotate = |env: Vec<(&'static str, &'static str)>| {
        let mut c = dep.command(0);
        c.args(["master-key", "rotate"]).envs(env);
        async move { tokio::task::spawn_blocking(move || c.output().unwrap()).await.unwrap() }
    };
    let out = rotate(both.to_vec()).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("3 secrets, 3 re-sealed"), "{stdout}");
    assert!(traffic.await.unwrap() >= 3);
    let again = rotate(both.to_vec()).await;
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 re-sealed under the current key, 3 already were"));
    drop(server);

    // The old key dropped: an instance with the new key alone serves every key.
    let server = dep.serve_with(&[("GODRIVE_MASTER_KEY", NEW)], None).await;
    for (k, s) in &users {
        crate::common::client_for(&server.url(), k, s)
            .list_buckets()
            .send()
            .await
            .unwrap();
    }
    // With neither key, nothing opens and the command says which keys are unreadable.
    let lost = rotate(vec![("GODRIVE_MASTER_KEY", "yet-another-master-key-of-32-characters")]).await;
    assert!(!lost.status.success());
    assert!(String::from_utf8_lossy(&lost.stderr).contains("3 secrets open with no configured key"));
}
