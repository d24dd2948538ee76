//! Operator commands on a running fleet: users, access keys, quotas, share links, the
//! usage report and `info`. They change the same rows the JSON API's admin routes change,
//! through the same `db` functions; every serving instance's authorization cache hears of
//! each change from PostgreSQL's triggers (`db::invalidation`), as it does for the API.
//! Each prints a table, or JSON with `--json` (`--format csv` too for the usage report).

use anyhow::{Context, bail};
use clap::Subcommand;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::config::Config;
use crate::db;

/// Who revoked a link from the command line (no user: the operator).
const OPERATOR: Uuid = Uuid::nil();

#[derive(Debug, Subcommand)]
pub(super) enum QuotaCommand {
    /// Set a user's storage quota, or a bucket's limits.
    Set {
        /// The user's email (with --bytes).
        #[arg(long, conflicts_with = "bucket", required_unless_present = "bucket")]
        user: Option<String>,
        /// The user's quota in bytes, or `none`.
        #[arg(long, requires = "user")]
        bytes: Option<String>,
        /// A bucket's name (with --max-bytes and --max-objects).
        #[arg(long)]
        bucket: Option<String>,
        /// The bucket's byte limit, or `none`.
        #[arg(long, requires = "bucket")]
        max_bytes: Option<String>,
        /// The bucket's object limit, or `none`.
        #[arg(long, requires = "bucket")]
        max_objects: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum LinkCommand {
    /// Share links, newest first (every user's, or one's).
    List {
        /// Only this user's (email).
        #[arg(long)]
        user: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a share link by id: refused from the next request on, on every instance.
    Revoke {
        /// The link's id.
        id: Uuid,
    },
}

/// A limit given on the command line: a number of at least 0, or `none`.
fn limit(what: &str, text: Option<&str>) -> anyhow::Result<Option<i64>> {
    match text {
        None | Some("none") => Ok(None),
        Some(t) => match t.parse::<i64>() {
            Ok(n) if n >= 0 => Ok(Some(n)),
            _ => bail!("{what} must be a number of bytes (or objects) of at least 0, or none"),
        },
    }
}

async fn user_id(pool: &sqlx::PgPool, email: &str) -> anyhow::Result<Uuid> {
    Ok(db::users::by_email(pool, email)
        .await?
        .with_context(|| format!("no user with email {email}"))?
        .id)
}

/// Prints rows as aligned columns under `headers`.
fn table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(headers.iter().map(|h| h.to_uppercase()).collect());
    for r in rows {
        line(r.clone());
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

fn print_json(v: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// `godrive user list [--email PART] [--json]`.
pub(super) async fn user_list(pool: &sqlx::PgPool, email: Option<&str>, as_json: bool) -> anyhow::Result<()> {
    let mut users = Vec::new();
    let mut after = None;
    loop {
        let page = db::users::list(pool, email, after, 1000).await?;
        let done = page.len() < 1000;
        after = page.last().map(|u| (u.created_at, u.id));
        users.extend(page);
        if done {
            break;
        }
    }
    if as_json {
        let v: Vec<Value> = users
            .iter()
            .map(|u| {
                json!({"id": u.id, "email": u.email, "is_admin": u.is_admin, "disabled": u.disabled,
                       "quota_bytes": u.quota_bytes, "used_bytes": u.used_bytes, "created_at": u.created_at.to_string()})
            })
            .collect();
        return print_json(&Value::Array(v));
    }
    let rows: Vec<Vec<String>> = users
        .iter()
        .map(|u| {
            vec![
                u.email.clone(),
                u.id.to_string(),
                if u.is_admin { "admin" } else { "user" }.to_owned(),
                if u.disabled { "disabled" } else { "active" }.to_owned(),
                u.used_bytes.to_string(),
                opt(u.quota_bytes),
            ]
        })
        .collect();
    table(&["email", "id", "role", "state", "used_bytes", "quota_bytes"], &rows);
    Ok(())
}

/// `godrive user disable|enable|promote|demote --email E`: the flags `PATCH
/// /v1/admin/users/{id}` sets.
pub(super) async fn user_flags(
    pool: &sqlx::PgPool,
    email: &str,
    is_admin: Option<bool>,
    disabled: Option<bool>,
) -> anyhow::Result<()> {
    let id = user_id(pool, email).await?;
    let u = db::users::update_flags(pool, id, is_admin, disabled)
        .await?
        .with_context(|| format!("no user with email {email}"))?;
    let role = if u.is_admin { "admin" } else { "user" };
    let state = if u.disabled { "disabled" } else { "active" };
    println!("user {}: {role}, {state}", u.email);
    Ok(())
}

/// `godrive key list [--user E] [--json]`: never a secret.
pub(super) async fn key_list(pool: &sqlx::PgPool, user: Option<&str>, as_json: bool) -> anyhow::Result<()> {
    let owner = match user {
        Some(e) => Some(user_id(pool, e).await?),
        None => None,
    };
    let keys = db::access_keys::list_all(pool, owner).await?;
    if as_json {
        let v: Vec<Value> = keys
            .iter()
            .map(|k| {
                json!({"user": k.email, "id": k.key.id, "name": k.key.name, "access_key_id": k.key.access_key_id,
                       "created_at": k.key.created_at.to_string(),
                       "last_used_at": k.key.last_used_at.map(|t| t.to_string())})
            })
            .collect();
        return print_json(&Value::Array(v));
    }
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|k| {
            vec![
                k.email.clone(),
                k.key.access_key_id.clone(),
                k.key.name.clone(),
                k.key.created_at.date().to_string(),
                opt(k.key.last_used_at.map(|t| t.date())),
            ]
        })
        .collect();
    table(&["user", "access_key_id", "name", "created", "last_used"], &rows);
    Ok(())
}

/// `godrive key revoke ACCESS_KEY_ID`: deleted, so S3 refuses it from the next request on.
pub(super) async fn key_revoke(pool: &sqlx::PgPool, access_key_id: &str) -> anyhow::Result<()> {
    if !db::access_keys::delete_by_access_key_id(pool, access_key_id).await? {
        bail!("no access key {access_key_id}");
    }
    println!("access key {access_key_id} revoked");
    Ok(())
}

/// `godrive quota set`.
pub(super) async fn quota_set(pool: &sqlx::PgPool, command: QuotaCommand) -> anyhow::Result<()> {
    let QuotaCommand::Set {
        user,
        bytes,
        bucket,
        max_bytes,
        max_objects,
    } = command;
    if let Some(email) = user {
        let quota = limit("--bytes", bytes.as_deref())?;
        let id = user_id(pool, &email).await?;
        db::usage::set_user_quota(pool, id, quota).await?;
        println!("user {email}: quota {}", opt(quota));
        return Ok(());
    }
    let name = bucket.context("give --user or --bucket")?;
    let (max_bytes, max_objects) = (
        limit("--max-bytes", max_bytes.as_deref())?,
        limit("--max-objects", max_objects.as_deref())?,
    );
    let b = db::buckets::by_name(pool, &name)
        .await?
        .with_context(|| format!("no bucket named {name}"))?;
    db::usage::set_bucket_quota(pool, b.id, max_bytes, max_objects).await?;
    println!(
        "bucket {name}: max_bytes {}, max_objects {}",
        opt(max_bytes),
        opt(max_objects)
    );
    Ok(())
}

/// `godrive usage report [--from D] [--to D] [--user E] [--format table|csv|json]`.
pub(super) async fn usage_report(
    pool: &sqlx::PgPool,
    from: Option<&str>,
    to: Option<&str>,
    user: Option<&str>,
    format: &str,
) -> anyhow::Result<()> {
    let day = time::macros::format_description!("[year]-[month]-[day]");
    let parse = |what: &str, t: &str| {
        time::Date::parse(t, day).with_context(|| format!("{what} must be a date like 2026-01-31"))
    };
    let to = match to {
        Some(t) => parse("--to", t)?,
        None => time::OffsetDateTime::now_utc().date(),
    };
    let from = match from {
        Some(f) => parse("--from", f)?,
        None => to.saturating_sub(time::Duration::days(29)),
    };
    if to < from || (to - from).whole_days() > 366 {
        bail!("--to must be on or after --from, at most 366 days later");
    }
    let owner = match user {
        Some(e) => Some(user_id(pool, e).await?),
        None => None,
    };
    let days = db::history::series(pool, from, to, owner).await?;
    let rows: Vec<Vec<String>> = days
        .iter()
        .map(|(d, fin)| {
            vec![
                d.day.format(day).expect("a date formats"),
                d.used_bytes.to_string(),
                d.peak_bytes.to_string(),
                d.object_count.to_string(),
                d.requests.to_string(),
                d.users.to_string(),
                fin.to_string(),
            ]
        })
        .collect();
    let headers = [
        "day",
        "used_bytes",
        "peak_bytes",
        "objects",
        "requests",
        "users",
        "final",
    ];
    match format {
        "json" => {
            let v: Vec<Value> = rows
                .iter()
                .map(|r| {
                    json!({"day": r[0], "used_bytes": r[1].parse::<i64>().unwrap_or(0),
                           "peak_bytes": r[2].parse::<i64>().unwrap_or(0), "objects": r[3].parse::<i64>().unwrap_or(0),
                           "requests": r[4].parse::<i64>().unwrap_or(0), "users": r[5].parse::<i64>().unwrap_or(0),
                           "final": r[6] == "true"})
                })
                .collect();
            print_json(&Value::Array(v))
        }
        "csv" => {
            println!("{}", headers.join(","));
            for r in rows {
                println!("{}", r.join(","));
            }
            Ok(())
        }
        _ => {
            table(&headers, &rows);
            Ok(())
        }
    }
}

/// `godrive link list|revoke`.
pub(super) async fn link(pool: &sqlx::PgPool, command: LinkCommand) -> anyhow::Result<()> {
    match command {
        LinkCommand::Revoke { id } => {
            if !db::links::revoke(pool, id, None, OPERATOR).await? {
                bail!("no share link {id}");
            }
            println!("share link {id} revoked");
            Ok(())
        }
        LinkCommand::List {
            user,
            limit,
            json: as_json,
        } => {
            let owner = match user.as_deref() {
                Some(e) => Some(user_id(pool, e).await?),
                None => None,
            };
            let links = db::links::list_any(pool, owner, limit.clamp(1, 10_000)).await?;
            let now = time::OffsetDateTime::now_utc();
            let state = |l: &db::links::Link| {
                if l.revoked_at.is_some() {
                    "revoked"
                } else if l.expires_at <= now {
                    "expired"
                } else {
                    "active"
                }
            };
            if as_json {
                let v: Vec<Value> = links
                    .iter()
                    .map(|l| {
                        json!({"id": l.id, "user_id": l.user_id, "bucket": l.bucket, "key": l.key, "method": l.method,
                               "access_key_id": l.access_key_id, "state": state(l),
                               "created_at": l.created_at.to_string(), "expires_at": l.expires_at.to_string()})
                    })
                    .collect();
                return print_json(&Value::Array(v));
            }
            let rows: Vec<Vec<String>> = links
                .iter()
                .map(|l| {
                    vec![
                        l.id.to_string(),
                        format!("{}/{}", l.bucket, l.key),
                        l.method.clone(),
                        state(l).to_owned(),
                        l.expires_at.to_string(),
                    ]
                })
                .collect();
            table(&["id", "object", "method", "state", "expires_at"], &rows);
            Ok(())
        }
    }
}

/// `godrive info [--json]`: version, instances alive, database and backend health, storage used.
pub(super) async fn info(config: &Config, pool: &sqlx::PgPool, as_json: bool) -> anyhow::Result<()> {
    let database = db::ping(pool).await.is_ok();
    let backend = match crate::app::open_storage(config).await {
        Ok(s) => s.health().await.is_ok(),
        Err(_) => false,
    };
    let instances = db::leases::alive(pool).await?;
    let totals = db::usage::totals(pool).await?;
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let v = json!({
        "version": env!("CARGO_PKG_VERSION"),
        "instances_alive": instances,
        "database": word(database),
        "backend": word(backend),
        "storage": match config.storage {
            crate::config::StorageKind::Fs => "fs",
            crate::config::StorageKind::S3 => "s3",
        },
        "used_bytes": totals.used_bytes,
        "objects": totals.objects,
        "users_over_quota": totals.over_quota,
    });
    if as_json {
        return print_json(&v);
    }
    for (k, val) in v.as_object().expect("an object") {
        println!(
            "{k:<18} {}",
            val.as_str().map_or_else(|| val.to_string(), str::to_owned)
        );
    }
    if !(database && backend) {
        bail!("not healthy");
    }
    Ok(())
}
