//! `godrive master-key rotate`: re-seals every access-key secret under the current
//! `GODRIVE_MASTER_KEY`, opening it with the current key or one of
//! `GODRIVE_PREVIOUS_MASTER_KEYS`. Online: serving instances configured with the same two
//! settings read both while it runs, and each row is replaced only if it did not change
//! meanwhile. Resumable: a secret already under the current key is left as it is, so a
//! second run after an interruption finishes the work. Once it reports nothing left under
//! an earlier key, the previous keys can be dropped from the configuration.

use anyhow::bail;
use clap::Subcommand;

use crate::accounts::crypto::SecretBox;
use crate::config::Config;
use crate::db;

#[derive(Debug, Subcommand)]
pub(super) enum MasterKeyCommand {
    /// Re-seal every access-key secret under GODRIVE_MASTER_KEY, opening each with it or
    /// with one of GODRIVE_PREVIOUS_MASTER_KEYS; online and resumable.
    Rotate,
}

/// The master keys as configured: the current one seals, earlier ones still open.
pub(super) fn secrets_of(config: &Config) -> SecretBox {
    SecretBox::with_previous(
        config.master_key.expose(),
        config.previous_master_keys.as_ref().map_or("", |k| k.expose()),
    )
}

const PAGE: i64 = 500;

/// What a rotation did.
#[derive(Debug, Default)]
pub(super) struct Rotated {
    /// Secrets found.
    pub seen: u64,
    /// Re-sealed under the current key now.
    pub resealed: u64,
    /// Already under the current key.
    pub current: u64,
    /// Opened by no configured key (access key ids).
    pub unreadable: Vec<String>,
}

/// Re-seals, printing progress after each page when `progress` is set.
pub(super) async fn rotate(pool: &sqlx::PgPool, secrets: &SecretBox, progress: bool) -> anyhow::Result<Rotated> {
    let mut done = Rotated::default();
    let mut after = None;
    loop {
        let page = db::access_keys::sealed_page(pool, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.0);
        for (id, access_key_id, sealed) in &page {
            done.seen += 1;
            match secrets.open_keyed(sealed, access_key_id.as_bytes()) {
                Ok((_, true)) => done.current += 1,
                Ok((plain, false)) => {
                    let fresh = secrets.seal(&plain, access_key_id.as_bytes());
                    if db::access_keys::reseal(pool, *id, sealed, &fresh).await? {
                        done.resealed += 1;
                    }
                    // Otherwise it changed or went meanwhile: nothing of the old key is left.
                }
                Err(_) => done.unreadable.push(access_key_id.clone()),
            }
        }
        if progress {
            eprintln!(
                "master-key rotate: {} secrets read, {} re-sealed",
                done.seen, done.resealed
            );
        }
    }
    Ok(done)
}

/// `godrive master-key rotate`: prints what it did; fails if a secret opens with no key.
pub(super) async fn run(pool: &sqlx::PgPool, secrets: &SecretBox) -> anyhow::Result<()> {
    let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let r = rotate(pool, secrets, progress).await?;
    println!(
        "master-key rotate: {} secrets, {} re-sealed under the current key, {} already were",
        r.seen, r.resealed, r.current
    );
    if !r.unreadable.is_empty() {
        bail!(
            "{} secrets open with no configured key (access keys {}): add the key that sealed them to GODRIVE_PREVIOUS_MASTER_KEYS",
            r.unreadable.len(),
            r.unreadable.join(", ")
        );
    }
    println!("master-key rotate: every secret is under the current key; GODRIVE_PREVIOUS_MASTER_KEYS can be dropped");
    Ok(())
}
