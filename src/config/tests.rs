//! Loading, precedence and validation of the configuration.

use std::collections::HashMap;

use super::*;

fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    Config::from_lookup(move |k| map.get(k).cloned())
}

#[test]
fn defaults_need_nothing() {
    let c = load(&[("GODRIVE_CONFIG_DIR", "/nonexistent")]).unwrap();
    assert_eq!(c.api_port, 8080);
    assert_eq!(c.storage, StorageKind::Fs);
    assert_eq!(c.database.database, "godrive");
    assert_eq!(c.data_dir, PathBuf::from("./data"));
}

#[test]
fn env_wins_over_profile() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("staging.toml"),
        "godrive_api_port = 9000\nminio_bucket = \"b1\"\n",
    )
    .unwrap();
    let d = dir.path().to_str().unwrap();
    let c = load(&[
        ("ENVIRONMENT", "staging"),
        ("GODRIVE_CONFIG_DIR", d),
        ("GODRIVE_API_PORT", "9100"),
        ("GODRIVE_MASTER_KEY", "0123456789abcdef0123456789abcdef-stage"),
        ("GODRIVE_JWT_SECRET", "0123456789abcdef0123456789abcdef-jwt"),
        ("GODRIVE_JWT_REFRESH_SECRET", "0123456789abcdef0123456789abcdef-refresh"),
    ])
    .unwrap();
    assert_eq!(c.api_port, 9100);
    assert_eq!(c.minio.bucket, "b1");
}

#[test]
fn the_committed_profiles_load() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/config");
    for environment in ["development", "staging", "production"] {
        let c = load(&[
            ("ENVIRONMENT", environment),
            ("GODRIVE_CONFIG_DIR", dir),
            ("GODRIVE_MASTER_KEY", "a-real-master-key-of-at-least-32-chars"),
            ("GODRIVE_JWT_SECRET", "a-real-jwt-secret-of-at-least-32-chars!"),
            ("GODRIVE_JWT_REFRESH_SECRET", "another-real-secret-of-32-chars-or-more"),
            ("POSTGRES_PASSWORD", "a-real-password"),
        ])
        .unwrap_or_else(|e| panic!("config/{environment}.toml: {e}"));
        assert_eq!(c.environment, environment);
    }
}

#[test]
fn production_refuses_default_secrets() {
    let err = load(&[("ENVIRONMENT", "production"), ("GODRIVE_CONFIG_DIR", "/nonexistent")]).unwrap_err();
    assert!(err.to_string().contains("GODRIVE_MASTER_KEY"), "{err}");
    let ok = load(&[
        ("ENVIRONMENT", "production"),
        ("GODRIVE_CONFIG_DIR", "/nonexistent"),
        ("GODRIVE_MASTER_KEY", "0123456789abcdef0123456789abcdef-prod"),
        ("GODRIVE_JWT_SECRET", "0123456789abcdef0123456789abcdef-jwt"),
        ("GODRIVE_JWT_REFRESH_SECRET", "0123456789abcdef0123456789abcdef-refresh"),
        ("POSTGRES_PASSWORD", "pw"),
    ]);
    assert!(ok.is_ok());
}

#[test]
fn secrets_are_redacted() {
    let c = load(&[
        ("GODRIVE_CONFIG_DIR", "/nonexistent"),
        ("POSTGRES_PASSWORD", "hunter2hunter2"),
    ])
    .unwrap();
    let dbg = format!("{c:?}");
    assert!(!dbg.contains("hunter2"));
    assert!(!dbg.contains(DEV_MASTER_KEY));
}

#[test]
fn development_secrets_need_development_on_loopback() {
    let base = [("GODRIVE_CONFIG_DIR", "/nonexistent")];
    assert!(load(&base).is_ok(), "cargo run: development on 127.0.0.1");
    assert!(load(&[base[0], ("GODRIVE_BIND_ADDR", "::1")]).is_ok());
    for extra in [
        ("GODRIVE_BIND_ADDR", "0.0.0.0"),
        ("GODRIVE_BIND_ADDR", "192.0.2.10"),
        ("ENVIRONMENT", "staging"),
        ("ENVIRONMENT", "production"),
    ] {
        let err = load(&[base[0], extra]).unwrap_err().to_string();
        // Every missing secret in one message.
        for name in ["GODRIVE_MASTER_KEY", "GODRIVE_JWT_SECRET", "GODRIVE_JWT_REFRESH_SECRET"] {
            assert!(err.contains(name), "{extra:?}: {err}");
        }
    }
    let set = [
        base[0],
        ("GODRIVE_BIND_ADDR", "0.0.0.0"),
        ("GODRIVE_MASTER_KEY", "0123456789abcdef0123456789abcdef-prod"),
        ("GODRIVE_JWT_SECRET", "0123456789abcdef0123456789abcdef-jwt"),
        ("GODRIVE_JWT_REFRESH_SECRET", "0123456789abcdef0123456789abcdef-refresh"),
    ];
    assert!(load(&set).is_ok());
}

#[test]
fn unknown_profiles_levels_and_urls_are_refused() {
    let dir = ("GODRIVE_CONFIG_DIR", "/nonexistent");
    let err = load(&[dir, ("ENVIRONMENT", "prod")]).unwrap_err().to_string();
    assert!(err.contains("ENVIRONMENT") && err.contains("production"), "{err}");
    for bad in ["verbose", "info,s3s=loud", "", "=info"] {
        let err = load(&[dir, ("GODRIVE_LOG_LEVEL", bad)]);
        if bad.is_empty() {
            // Empty means unset: the default.
            assert!(err.is_ok());
            continue;
        }
        assert!(err.unwrap_err().to_string().contains("GODRIVE_LOG_LEVEL"), "{bad}");
    }
    for good in ["debug", "INFO", "info,godrive=debug", "warn,s3s=off"] {
        assert!(load(&[dir, ("GODRIVE_LOG_LEVEL", good)]).is_ok(), "{good}");
    }
    assert!(load(&[dir, ("GODRIVE_STORAGE", "minio2")]).is_err());
    for bad in [
        "godrive",
        "localhost:5432/godrive",
        "postgres://localhost:5432",
        "postgres://localhost:5432/",
        "mysql://localhost/godrive",
        "postgres://u@localhost:port/godrive",
    ] {
        let err = load(&[dir, ("DATABASE_URL", bad)]).unwrap_err().to_string();
        assert!(err.contains("DATABASE_URL"), "{bad}: {err}");
    }
    for good in [
        "postgres://postgres@127.0.0.1:5432/godrive",
        "postgresql://u:p@db/godrive?sslmode=disable",
        "postgres:///godrive?host=/run/postgresql",
    ] {
        assert!(load(&[dir, ("DATABASE_URL", good)]).is_ok(), "{good}");
    }
    assert!(load(&[dir, ("GODRIVE_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1 ,::1")]).is_ok());
    assert!(load(&[dir, ("GODRIVE_TRUSTED_PROXIES", "10.0.0.0/33")]).is_err());
    assert!(load(&[dir, ("GODRIVE_IDLE_TIMEOUT_SECS", "0")]).is_err());
}

#[test]
fn durations_take_units() {
    assert_eq!("900".parse::<Seconds>().unwrap(), Seconds(900));
    assert_eq!("15m".parse::<Seconds>().unwrap(), Seconds(900));
    assert_eq!("720h".parse::<Seconds>().unwrap(), Seconds(2_592_000));
    assert_eq!("2d".parse::<Seconds>().unwrap(), Seconds(172_800));
    assert!("15x".parse::<Seconds>().is_err());
    assert!("soon".parse::<Seconds>().is_err());
}

#[test]
fn bad_values_are_named() {
    let err = load(&[("GODRIVE_CONFIG_DIR", "/nonexistent"), ("GODRIVE_API_PORT", "eighty")]).unwrap_err();
    assert!(err.to_string().contains("GODRIVE_API_PORT"));
}

#[test]
fn invalid_values_name_the_setting_and_why() {
    let dir = ("GODRIVE_CONFIG_DIR", "/nonexistent");
    let message = |pair| load(&[dir, pair]).unwrap_err().to_string();
    assert_eq!(
        message(("GODRIVE_STORAGE", "Minio2")),
        "invalid value for GODRIVE_STORAGE: expected fs or s3, got \"minio2\""
    );
    assert_eq!(
        message(("MINIO_USE_SSL", "maybe")),
        "invalid value for MINIO_USE_SSL: expected true or false, got \"maybe\""
    );
    assert_eq!(
        message(("GODRIVE_API_PORT", "eighty")),
        "invalid value for GODRIVE_API_PORT: invalid digit found in string"
    );
    assert_eq!(
        message(("GODRIVE_TRUSTED_PROXIES", "10.0.0.1, nowhere")),
        "invalid value for GODRIVE_TRUSTED_PROXIES: \"nowhere\" is not an address or a CIDR such as 10.0.0.0/8"
    );
    assert!(message(("GODRIVE_ADMIN_EMAIL", "not-an-email")).starts_with("invalid value for GODRIVE_ADMIN_EMAIL: "));
    assert!(
        message(("GODRIVE_DEFAULT_QUOTA_BYTES", "-1")).starts_with("invalid value for GODRIVE_DEFAULT_QUOTA_BYTES: ")
    );
    assert!(message(("GODRIVE_LOGIN_WINDOW", "15x")).contains("unknown duration unit"));
}

#[test]
fn values_take_their_forms() {
    let dir = ("GODRIVE_CONFIG_DIR", "/nonexistent");
    for (text, on) in [
        ("1", true),
        ("Yes", true),
        ("on", true),
        ("TRUE", true),
        ("0", false),
        ("no", false),
    ] {
        assert_eq!(
            load(&[dir, ("MINIO_USE_SSL", text)]).unwrap().minio.use_ssl,
            on,
            "{text}"
        );
    }
    let c = load(&[
        dir,
        ("GODRIVE_STORAGE", "MinIO"),
        ("ALLOW_CORS_ORIGINS", " https://a.example , ,https://b.example"),
        ("GODRIVE_PUBLIC_URL", "https://drive.example.com//"),
        ("GODRIVE_METRICS_ADDR", "off"),
        ("GODRIVE_ADMIN_EMAIL", " Admin@Example.COM "),
        ("GODRIVE_ADMIN_PASSWORD", "correct horse"),
        ("GODRIVE_DEFAULT_QUOTA_BYTES", "1000"),
        ("GODRIVE_AUTH_REFRESH_TOKEN_TTL", "2d"),
    ])
    .unwrap();
    assert_eq!(c.storage, StorageKind::S3);
    assert_eq!(c.cors_origins, ["https://a.example", "https://b.example"]);
    assert_eq!(c.public_url.as_deref(), Some("https://drive.example.com"));
    assert_eq!(c.metrics_addr, None);
    assert_eq!(c.auth.admin_email.as_deref(), Some("admin@example.com"));
    assert_eq!(c.default_quota(), Some(1000));
    assert_eq!(c.auth.refresh_ttl, Seconds(172_800));
    // Empty means unset: the default, not an error.
    let c = load(&[
        dir,
        ("GODRIVE_API_PORT", ""),
        ("DATABASE_URL", ""),
        ("GODRIVE_METRICS_ADDR", ""),
    ])
    .unwrap();
    assert_eq!(c.api_port, 8080);
    assert!(c.database.url.is_none());
    assert_eq!(c.metrics_addr.as_deref(), Some("127.0.0.1:9464"));
    assert!(c.auth.admin_email.is_none() && c.public_url.is_none() && c.trusted_proxies.is_empty());
}

#[test]
fn a_profile_holds_only_declared_settings() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    for (key, known) in [
        ("godrive_api_port = 9000", true),
        ("minio_use_ssl = true", true),
        ("godrive_api_prot = 9000", false),
        ("godrive_config_dir = \"elsewhere\"", false),
    ] {
        std::fs::write(dir.path().join("development.toml"), key).unwrap();
        let loaded = load(&[("GODRIVE_CONFIG_DIR", d)]);
        match loaded {
            Ok(c) => {
                assert!(known, "{key} was accepted");
                assert!(c.api_port == 9000 || c.minio.use_ssl, "{key} was ignored");
            }
            Err(e) => {
                assert!(!known, "{key}: {e}");
                assert!(e.to_string().contains("unknown setting"), "{e}");
            }
        }
    }
}
