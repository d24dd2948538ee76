//! Command line: `serve` (default), `migrate`, `user`, `key`, `bucket show`, `bucket
//! versioning`, `quota`, `link`, `usage`, `info`, `gc`. The operator commands on users, keys,
//! quotas, links, the usage report and `info` are in `admin`.

mod admin;
mod rotate;

use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::accounts::{self, crypto};
use crate::app::{self, AppState};
use crate::config::Config;
use crate::jobs::{gc, reconcile, rollup};
use crate::obs::telemetry;
use crate::{db, server};

/// GoDrive: an S3-compatible facade with users, quotas and metadata in PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "godrive", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (S3 and /v1 JSON on GODRIVE_API_PORT). The default.
    Serve,
    /// Create the database if missing and apply pending migrations.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage access keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Bucket settings: versioning and lifecycle rules.
    #[command(subcommand)]
    Bucket(BucketCommand),
    /// Usage accounting.
    #[command(subcommand)]
    Usage(UsageCommand),
    /// Storage quotas of users and limits of buckets.
    #[command(subcommand)]
    Quota(admin::QuotaCommand),
    /// Share links (presigned URLs made through the JSON API).
    #[command(subcommand)]
    Link(admin::LinkCommand),
    /// The master key that seals access-key secrets.
    #[command(subcommand)]
    MasterKey(rotate::MasterKeyCommand),
    /// Version, instances alive, database and backend health, storage used (exits non-zero
    /// when something is unavailable).
    Info {
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Abort stale multipart uploads and delete backend blobs that no object references.
    Gc {
        /// Spare blobs younger than this many seconds (default GODRIVE_GC_GRACE_SECS).
        #[arg(long)]
        grace_secs: Option<u64>,
        /// Abort multipart uploads older than this many seconds
        /// (default GODRIVE_MULTIPART_MAX_AGE_SECS).
        #[arg(long)]
        upload_age_secs: Option<u64>,
        /// Report what would be deleted, delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user.
    Create {
        /// Login email.
        #[arg(long)]
        email: String,
        /// Password (at least 8 characters).
        #[arg(long, env = "GODRIVE_USER_PASSWORD", hide_env_values = true)]
        password: String,
        /// Make the user an administrator.
        #[arg(long)]
        admin: bool,
    },
    /// List users (email, id, role, state, stored bytes, quota).
    List {
        /// Only users whose email contains this (any case).
        #[arg(long)]
        email: Option<String>,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Disable a user: their sessions, keys and links are refused at once, on every instance.
    Disable {
        /// The user's email.
        #[arg(long)]
        email: String,
    },
    /// Enable a disabled user again.
    Enable {
        /// The user's email.
        #[arg(long)]
        email: String,
    },
    /// Make a user an administrator.
    Promote {
        /// The user's email.
        #[arg(long)]
        email: String,
    },
    /// Take administrator rights away from a user.
    Demote {
        /// The user's email.
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
enum BucketCommand {
    /// Print a bucket's owner, versioning and lifecycle rules as JSON.
    Show {
        /// The bucket's name.
        name: String,
    },
    /// Enable or suspend a bucket's versioning (it never goes back to off).
    Versioning {
        /// The bucket's name.
        name: String,
        /// `enabled` or `suspended`.
        #[arg(value_parser = ["enabled", "suspended"])]
        status: String,
    },
}

#[derive(Debug, Subcommand)]
enum UsageCommand {
    /// Recompute every usage counter from the objects table and compare the objects table
    /// with the backend; report drift, and rewrite the counters with --fix.
    Reconcile {
        /// Rewrite drifted counters.
        #[arg(long)]
        fix: bool,
    },
    /// Roll usage and request counts up into daily rows for every finished day not rolled
    /// up yet (servers do this by themselves every 15 minutes).
    Rollup,
    /// Daily usage (stored bytes, peak, objects, requests, users), every user's or one's.
    Report {
        /// First day, YYYY-MM-DD (default: 29 days before --to).
        #[arg(long)]
        from: Option<String>,
        /// Last day, YYYY-MM-DD (default: today).
        #[arg(long)]
        to: Option<String>,
        /// Only this user (email).
        #[arg(long)]
        user: Option<String>,
        /// `table`, `csv` or `json`.
        #[arg(long, default_value = "table", value_parser = ["table", "csv", "json"])]
        format: String,
    },
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Create an access key; prints AWS_ACCESS_KEY_ID=... and AWS_SECRET_ACCESS_KEY=... once.
    Create {
        /// Email of the user who will own the key.
        #[arg(long)]
        user: String,
        /// A name to recognise the key by.
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// List access keys (never their secrets), every user's or one's.
    List {
        /// Only this user's keys (email).
        #[arg(long)]
        user: Option<String>,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke (delete) an access key: S3 refuses it from the next request on.
    Revoke {
        /// The access key id.
        access_key_id: String,
    },
}

/// Parses the command line and runs it.
pub fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load().context("loading configuration")?;
    telemetry::init(&config.log_level, &config.log_format);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(dispatch(cli.command.unwrap_or(Command::Serve), config))
}

async fn dispatch(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve(config).await,
        Command::Migrate => migrate(&config).await,
        Command::User(UserCommand::Create { email, password, admin }) => {
            user_create(&config, &email, &password, admin).await
        }
        Command::Key(KeyCommand::Create { user, name }) => key_create(&config, &user, &name).await,
        Command::Bucket(BucketCommand::Show { name }) => bucket_show(&config, &name).await,
        Command::Bucket(BucketCommand::Versioning { name, status }) => {
            bucket_versioning(&config, &name, status == "enabled").await
        }
        Command::Usage(UsageCommand::Rollup) => usage_rollup(&config).await,
        Command::Usage(UsageCommand::Report { from, to, user, format }) => {
            let pool = connect(&config).await?;
            admin::usage_report(&pool, from.as_deref(), to.as_deref(), user.as_deref(), &format).await
        }
        Command::User(UserCommand::List { email, json }) => {
            admin::user_list(&connect(&config).await?, email.as_deref(), json).await
        }
        Command::User(UserCommand::Disable { email }) => {
            admin::user_flags(&connect(&config).await?, &email, None, Some(true)).await
        }
        Command::User(UserCommand::Enable { email }) => {
            admin::user_flags(&connect(&config).await?, &email, None, Some(false)).await
        }
        Command::User(UserCommand::Promote { email }) => {
            admin::user_flags(&connect(&config).await?, &email, Some(true), None).await
        }
        Command::User(UserCommand::Demote { email }) => {
            admin::user_flags(&connect(&config).await?, &email, Some(false), None).await
        }
        Command::Key(KeyCommand::List { user, json }) => {
            admin::key_list(&connect(&config).await?, user.as_deref(), json).await
        }
        Command::Key(KeyCommand::Revoke { access_key_id }) => {
            admin::key_revoke(&connect(&config).await?, &access_key_id).await
        }
        Command::Quota(q) => admin::quota_set(&connect(&config).await?, q).await,
        Command::Link(l) => admin::link(&connect(&config).await?, l).await,
        Command::MasterKey(rotate::MasterKeyCommand::Rotate) => {
            rotate::run(&connect(&config).await?, &rotate::secrets_of(&config)).await
        }
        Command::Info { json } => admin::info(&config, &connect(&config).await?, json).await,
        Command::Usage(UsageCommand::Reconcile { fix }) => usage_reconcile(config, fix).await,
        Command::Gc {
            grace_secs,
            upload_age_secs,
            dry_run,
        } => collect_garbage(config, grace_secs, upload_age_secs, dry_run).await,
    }
}

/// `godrive migrate`: creates the database if missing and applies pending migrations.
async fn migrate(config: &Config) -> anyhow::Result<()> {
    let pool = db::connect(&config.database)
        .await
        .context("connecting to PostgreSQL")?;
    db::migrate(&pool).await.context("applying migrations")?;
    println!("migrations applied");
    Ok(())
}

/// `godrive user create`: a user, under the same rules as registration through the API.
async fn user_create(config: &Config, email: &str, password: &str, admin: bool) -> anyhow::Result<()> {
    let email = accounts::normalize_email(email)?;
    accounts::check_password(password)?;
    let pool = connect(config).await?;
    let hash = crypto::hash_password(password, config.bcrypt_cost)?;
    let user = db::users::create(&pool, &email, &hash, admin, config.default_quota()).await?;
    println!("created user {} ({})", user.email, user.id);
    Ok(())
}

/// `godrive key create`: an access key for the user with that email, printed once.
async fn key_create(config: &Config, email: &str, name: &str) -> anyhow::Result<()> {
    let pool = connect(config).await?;
    let user = db::users::by_email(&pool, email)
        .await?
        .with_context(|| format!("no user with email {email}"))?;
    let secrets = rotate::secrets_of(config);
    let key = accounts::mint_key(&pool, &secrets, user.id, name).await?;
    // Printed once, in a form `eval "$(godrive key create ...)"` turns into exported variables.
    println!("AWS_ACCESS_KEY_ID={}", key.access_key_id);
    println!("AWS_SECRET_ACCESS_KEY={}", key.secret.as_str());
    println!("export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY");
    Ok(())
}

/// The bucket named `name`, or an error saying there is none.
async fn bucket_named(pool: &sqlx::PgPool, name: &str) -> anyhow::Result<db::buckets::Bucket> {
    db::buckets::by_name(pool, name)
        .await?
        .with_context(|| format!("no bucket named {name}"))
}

/// `godrive bucket show NAME`: its owner, versioning and lifecycle rules, as JSON.
async fn bucket_show(config: &Config, name: &str) -> anyhow::Result<()> {
    let pool = connect(config).await?;
    let bucket = bucket_named(&pool, name).await?;
    let versioning = match db::versions::versioning(&pool, bucket.id).await? {
        db::versions::Versioning::Off => "off",
        db::versions::Versioning::Enabled => "enabled",
        db::versions::Versioning::Suspended => "suspended",
    };
    let rules = db::lifecycle::get::<crate::objects::lifecycle::Rule>(&pool, bucket.id)
        .await?
        .unwrap_or_default();
    let shown = serde_json::json!({
        "id": bucket.id,
        "name": bucket.name,
        "owner_id": bucket.owner_id,
        "versioning": versioning,
        "lifecycle": rules,
    });
    println!("{}", serde_json::to_string_pretty(&shown)?);
    Ok(())
}

/// `godrive bucket versioning NAME enabled|suspended`.
async fn bucket_versioning(config: &Config, name: &str, enabled: bool) -> anyhow::Result<()> {
    let pool = connect(config).await?;
    let bucket = bucket_named(&pool, name).await?;
    db::versions::set_versioning(&pool, bucket.id, enabled).await?;
    let status = if enabled { "enabled" } else { "suspended" };
    println!("bucket {name}: versioning {status}");
    Ok(())
}

/// `godrive usage rollup`: the daily rows of every finished day not rolled up yet.
async fn usage_rollup(config: &Config) -> anyhow::Result<()> {
    let pool = db::connect(&config.database).await?;
    db::migrate(&pool).await?;
    match rollup::run(&pool, time::OffsetDateTime::now_utc()).await? {
        rollup::Outcome::Locked => println!("usage rollup: another instance is rolling up"),
        rollup::Outcome::Rolled(days) => match (days.first(), days.last()) {
            (Some(first), Some(last)) => {
                println!("usage rollup: rolled up {} days, {first} to {last}", days.len())
            }
            _ => println!("usage rollup: rolled up 0 days (up to date)"),
        },
    }
    Ok(())
}

/// `godrive usage reconcile [--fix]`: reports drifted counters and missing or unreferenced
/// blobs; fails while an inconsistency remains.
async fn usage_reconcile(config: Config, fix: bool) -> anyhow::Result<()> {
    let state = AppState::build(config).await.context("starting")?;
    let report = reconcile::run(&state, fix).await?;
    for d in &report.drift {
        println!(
            "drift: {} {}: bytes counted {} actual {}, objects counted {} actual {}",
            d.kind, d.id, d.counted_bytes, d.actual_bytes, d.counted_objects, d.actual_objects
        );
    }
    let verb = if report.fixed { "fixed" } else { "found" };
    println!("usage reconcile: {verb} {} drifted counters", report.drift.len());
    println!("backend: {} objects missing their blob", report.missing_blobs.len());
    for b in &report.missing_blobs {
        println!("missing blob: {b}");
    }
    println!(
        "backend: {} unreferenced blobs (godrive gc removes them after the grace period)",
        report.unreferenced_blobs
    );
    if !report.missing_blobs.is_empty() || (!report.fixed && !report.drift.is_empty()) {
        bail!("usage reconcile found inconsistencies");
    }
    Ok(())
}

/// `godrive gc`: releases expired reservations, aborts stale multipart uploads and deletes
/// orphaned blobs (or says what it would do, with `--dry-run`).
async fn collect_garbage(
    config: Config,
    grace_secs: Option<u64>,
    upload_age_secs: Option<u64>,
    dry_run: bool,
) -> anyhow::Result<()> {
    let state = AppState::build(config.clone()).await.context("starting")?;
    let grace = Duration::from_secs(grace_secs.unwrap_or(config.gc_grace_secs));
    let age = Duration::from_secs(upload_age_secs.unwrap_or(config.multipart_max_age_secs));
    let report = gc::collect(&state, grace, age, dry_run).await?;
    let (del, abort) = if dry_run {
        ("would delete", "would abort")
    } else {
        ("deleted", "aborted")
    };
    println!(
        "gc: released {} expired reservations; {abort} {} stale multipart uploads; scanned {} blobs, {del} {} orphans",
        report.expired_reservations, report.stale_uploads, report.scanned, report.orphans
    );
    Ok(())
}

async fn connect(config: &Config) -> anyhow::Result<sqlx::PgPool> {
    let pool = db::connect(&config.database)
        .await
        .context("connecting to PostgreSQL")?;
    db::migrate(&pool).await.context("applying migrations")?;
    Ok(pool)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let addr = std::net::SocketAddr::new(config.bind_addr, config.api_port);
    let storage_kind = config.storage;
    let pool = connect(&config).await?;
    let storage = app::open_storage(&config).await.context("opening storage")?;
    let state = AppState::from_parts(pool, storage, config);
    state.check_master_key().await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    tracing::info!(%addr, storage = ?storage_kind, "godrive listening (S3 and /v1 JSON API)");
    if let Some(metrics_addr) = state.config.metrics_addr.clone() {
        let metrics = tokio::net::TcpListener::bind(&metrics_addr)
            .await
            .with_context(|| format!("binding the metrics listener {metrics_addr}"))?;
        let bound = metrics.local_addr().map_or(metrics_addr, |a| a.to_string());
        tracing::info!(addr = %bound, "metrics at /metrics");
        tokio::spawn(crate::obs::scrape::serve(state.clone(), metrics));
    }
    server::serve_with_listener(state, listener, server::shutdown_signal()).await?;
    Ok(())
}
