//! Safe defaults and an honest startup, checked on the real binary: the public development
//! secrets only for development on loopback, unknown settings refused, startup bounded when
//! PostgreSQL or the backend does not answer, a wrong master key caught before serving, and
//! every refusal one readable line on stderr.

use std::process::Output;
use std::time::{Duration, Instant};

use crate::process::{Deployment, free_port};

/// Runs `godrive serve` with `env` over the deployment's settings; it must exit, unready.
async fn serve_exits(dep: &Deployment, env: &[(&str, &str)]) -> (Output, Duration) {
    let mut c = dep.command(free_port());
    c.envs(env.iter().copied()).arg("serve");
    let started = Instant::now();
    let out = tokio::time::timeout(
        Duration::from_secs(40),
        tokio::task::spawn_blocking(move || c.output().unwrap()),
    )
    .await
    .expect("godrive serve neither started nor exited: a silent hang")
    .unwrap();
    (out, started.elapsed())
}

/// The last line of stderr, which must be the one error line `main` prints.
fn refusal(out: &Output) -> String {
    assert!(!out.status.success(), "godrive serve started where it must refuse");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.trim_end().lines().last().unwrap_or_default().to_owned();
    assert!(last.starts_with("godrive: "), "not one readable line: {stderr}");
    assert!(
        !last.contains("{ ") && !last.contains("Caused by"),
        "a debug dump: {last}"
    );
    last
}

#[tokio::test]
async fn development_secrets_only_for_development_on_loopback() {
    let dep = Deployment::new("secrets");
    for env in [
        &[("ENVIRONMENT", "staging")][..],
        &[("ENVIRONMENT", "production")][..],
        &[("GODRIVE_BIND_ADDR", "0.0.0.0")][..],
    ] {
        let (out, _) = serve_exits(&dep, env).await;
        let line = refusal(&out);
        // Every missing secret, in one message.
        for name in ["GODRIVE_MASTER_KEY", "GODRIVE_JWT_SECRET", "GODRIVE_JWT_REFRESH_SECRET"] {
            assert!(line.contains(name), "{env:?}: {line}");
        }
    }
    // With its own secrets a server on 0.0.0.0 starts (and so does the default on loopback,
    // which every other test runs).
    let secrets = [
        ("GODRIVE_MASTER_KEY", "a-real-master-key-of-at-least-32-characters"),
        ("GODRIVE_JWT_SECRET", "a-real-jwt-secret-of-at-least-32-characters"),
        (
            "GODRIVE_JWT_REFRESH_SECRET",
            "a-real-refresh-secret-of-32-characters-or-more",
        ),
    ];
    let mut env = secrets.to_vec();
    env.push(("GODRIVE_BIND_ADDR", "0.0.0.0"));
    let _server = dep.serve_with(&env, None).await;
}

#[tokio::test]
async fn unknown_settings_are_refused_not_ignored() {
    let dep = Deployment::new("settings");
    for (env, named) in [
        (("ENVIRONMENT", "prod"), "ENVIRONMENT"),
        (("GODRIVE_LOG_LEVEL", "verbose"), "GODRIVE_LOG_LEVEL"),
        (("GODRIVE_STORAGE", "minio2"), "GODRIVE_STORAGE"),
        (("DATABASE_URL", "postgres://postgres@127.0.0.1:5432"), "DATABASE_URL"),
        (("DATABASE_URL", "godrive"), "DATABASE_URL"),
        (("GODRIVE_TRUSTED_PROXIES", "10.0.0.0/40"), "GODRIVE_TRUSTED_PROXIES"),
    ] {
        let (out, took) = serve_exits(&dep, &[env]).await;
        let line = refusal(&out);
        assert!(line.contains(named), "{env:?}: {line}");
        assert!(took < Duration::from_secs(10), "{env:?} took {took:?}");
    }
    // The malformed URLs created no database: the deployment's own was never made either.
    let pool = {
        let env = crate::common::base_env("postgres");
        let config = godrive::config::Config::from_lookup(|k| env.get(k).cloned()).unwrap();
        godrive::db::connect(&config.database).await.unwrap()
    };
    let made: i64 = sqlx::query_scalar("select count(*) from pg_database where datname = $1")
        .bind(&dep.db)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(made, 0);
}

/// Something that accepts connections and never answers: a firewall that drops, a wrong
/// port. The kernel completes the handshake; nobody ever reads.
fn silent_port() -> (std::net::TcpListener, u16) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

#[tokio::test]
async fn startup_gives_up_on_a_silent_database_or_backend_and_names_it() {
    let dep = Deployment::new("silent");
    let (_pg, pg_port) = silent_port();
    let port = pg_port.to_string();
    let (out, took) = serve_exits(&dep, &[("POSTGRES_HOST", "127.0.0.1"), ("POSTGRES_PORT", &port)]).await;
    let line = refusal(&out);
    assert!(
        line.contains(&format!("could not reach PostgreSQL at 127.0.0.1:{pg_port}")),
        "{line}"
    );
    assert!(took < Duration::from_secs(30), "{took:?}");

    let (_s3, s3_port) = silent_port();
    let endpoint = format!("http://127.0.0.1:{s3_port}");
    let (out, took) = serve_exits(&dep, &[("GODRIVE_STORAGE", "s3"), ("MINIO_ENDPOINT", &endpoint)]).await;
    let line = refusal(&out);
    assert!(
        line.contains(&format!("could not reach the S3 backend at {endpoint}")),
        "{line}"
    );
    assert!(took < Duration::from_secs(30), "{took:?}");

    // Nothing listening at all: refused at once, in one line.
    let closed = format!("http://127.0.0.1:{}", free_port());
    let (out, _) = serve_exits(&dep, &[("GODRIVE_STORAGE", "s3"), ("MINIO_ENDPOINT", &closed)]).await;
    let line = refusal(&out);
    assert!(line.contains("storage backend"), "{line}");
}

#[tokio::test]
async fn a_master_key_that_cannot_open_the_stored_secrets_stops_startup() {
    let dep = Deployment::new("masterkey");
    // A key sealed with the (development) master key...
    dep.user_with_key("sealed@example.com").await;
    // ...and a server started with another.
    let (out, _) = serve_exits(
        &dep,
        &[("GODRIVE_MASTER_KEY", "another-master-key-of-at-least-32-characters")],
    )
    .await;
    let line = refusal(&out);
    assert!(line.contains("GODRIVE_MASTER_KEY cannot open"), "{line}");
    // The right key still serves.
    let _server = dep.serve().await;
}
