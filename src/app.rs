//! Application state, built once at startup and shared by every request.

use std::sync::Arc;

use sqlx::PgPool;

use crate::accounts::cache::AuthCache;
use crate::accounts::crypto::SecretBox;
use crate::accounts::tokens::Tokens;
use crate::config::{Config, StorageKind};
use crate::db::{self, DbError};
use crate::obs::requests::RequestCounter;
use crate::presign::audit::AuditLog;
use crate::storage::fs::FsStorage;
use crate::storage::s3::S3Storage;
use crate::storage::{Storage, StorageError};

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// PostgreSQL unreachable, or migrations failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The storage backend could not be opened.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The master key cannot open the access-key secrets already stored.
    #[error(
        "GODRIVE_MASTER_KEY cannot open the access-key secrets stored in the database (access key {0}): it is not the key they were sealed with; start with that key"
    )]
    WrongMasterKey(String),
}

/// Everything a request handler needs. Cheap to clone. Holds no per-user or per-request
/// state that another instance could contradict: every instance sharing the database and
/// backend behaves the same (the authorization cache is invalidated through PostgreSQL).
#[derive(Clone)]
pub struct AppState {
    /// PostgreSQL pool.
    pub db: PgPool,
    /// Blob backend.
    pub storage: Arc<dyn Storage>,
    /// Configuration.
    pub config: Arc<Config>,
    /// Seals and opens access-key secrets.
    pub secrets: SecretBox,
    /// Issues and checks JSON API tokens.
    pub tokens: Tokens,
    /// Buffered request counts.
    pub requests: RequestCounter,
    /// Presigned-URL audit rows, buffered (see `audit`).
    pub audit: AuditLog,
    /// Requests per access key (`GODRIVE_KEY_RATE_LIMIT`).
    pub key_rate: crate::s3::ratelimit::KeyRateLimit,
    /// Gathers the commits of uploads that finish together into one transaction.
    pub committer: crate::objects::commit::Committer,
    /// What S3 authorization reads, cached and invalidated across instances (bypassed until
    /// `jobs::start` listens for invalidations).
    pub auth_cache: AuthCache,
    /// This instance's id, random per start: its lease row (see `lease`) and the quota
    /// reservations of its uploads in flight carry it.
    pub instance_id: uuid::Uuid,
}

impl AppState {
    /// Connects the database (creating and migrating it) and opens the storage backend.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let pool = db::connect(&config.database).await?;
        db::migrate(&pool).await?;
        let storage = open_storage(&config).await?;
        Ok(Self::from_parts(pool, storage, config))
    }

    /// Checks that the master key opens the stored access-key secrets, so a changed key is
    /// a clear startup error rather than a 500 on every S3 request.
    pub async fn check_master_key(&self) -> Result<(), StartupError> {
        let Some((key_id, sealed)) = db::access_keys::any_sealed(&self.db).await? else {
            return Ok(());
        };
        match self.secrets.open(&sealed, key_id.as_bytes()) {
            Ok(_) => Ok(()),
            Err(_) => Err(StartupError::WrongMasterKey(key_id)),
        }
    }

    /// Assembles state from parts already built.
    pub fn from_parts(db: PgPool, storage: Arc<dyn Storage>, config: Config) -> Self {
        let secrets = SecretBox::with_previous(
            config.master_key.expose(),
            config.previous_master_keys.as_ref().map_or("", |k| k.expose()),
        );
        let tokens = Tokens::new(&config.auth);
        let key_rate = crate::s3::ratelimit::KeyRateLimit::new(config.key_rate_limit);
        let auth_cache = AuthCache::new(config.auth_cache_entries);
        Self {
            db,
            storage,
            config: Arc::new(config),
            secrets,
            tokens,
            requests: RequestCounter::default(),
            audit: AuditLog::default(),
            key_rate,
            committer: Default::default(),
            auth_cache,
            instance_id: uuid::Uuid::new_v4(),
        }
    }
}

/// Opens the configured backend; the `s3` backend's bucket is created if missing.
pub async fn open_storage(config: &Config) -> Result<Arc<dyn Storage>, StorageError> {
    let (inner, label): (Arc<dyn Storage>, &'static str) = match config.storage {
        StorageKind::Fs => (Arc::new(FsStorage::open(&config.data_dir).await?), "fs"),
        StorageKind::S3 => {
            let s3 = S3Storage::new(&config.minio, &config.s3_region);
            // A backend that accepts the connection and never answers must not hang startup.
            tokio::time::timeout(db::CONNECT_TIMEOUT, s3.ensure_bucket())
                .await
                .map_err(|_| {
                    StorageError::Backend(format!(
                        "could not reach the S3 backend at {} within {} s",
                        config.minio.endpoint_url(),
                        db::CONNECT_TIMEOUT.as_secs()
                    ))
                })??;
            (Arc::new(s3), "s3")
        }
    };
    Ok(Arc::new(crate::storage::metered::Metered::new(inner, label)))
}
