//! Group commit: uploads that finish while another batch is being committed wait for it,
//! then go together in the next one (one transaction, one WAL flush, the usage counters
//! updated once per bucket; see `db::commit`). An upload is answered only once its batch
//! is committed, so an acknowledged object is as durable as before. Nothing is kept between
//! batches: each instance gathers only its own uploads in flight.

use std::sync::{Arc, Mutex};

use sqlx::PgPool;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::db::DbError;
use crate::db::commit::{self, Commit, Committed};
use crate::db::objects::NewObject;

/// At most this many objects go into one transaction.
const MAX_BATCH: usize = 64;

type Reply = oneshot::Sender<Result<Committed, DbError>>;

/// Gathers the commits of this instance's uploads into batches. Cheap to clone.
#[derive(Clone, Default)]
pub struct Committer(Arc<Mutex<Queue>>);

#[derive(Default)]
struct Queue {
    waiting: Vec<(NewObject, Option<Uuid>, Reply)>,
    /// A task is committing batches.
    running: bool,
}

impl Committer {
    /// Commits `new` (and removes multipart upload `finished` with it) in the next batch.
    /// Runs in a task of its own once queued: a caller that goes away cancels nothing.
    pub async fn commit(&self, db: &PgPool, new: NewObject, finished: Option<Uuid>) -> Result<Committed, DbError> {
        let (tx, rx) = oneshot::channel();
        let start = {
            let mut q = self.0.lock().expect("commit queue lock");
            q.waiting.push((new, finished, tx));
            !std::mem::replace(&mut q.running, true)
        };
        if start {
            tokio::spawn(drain(self.0.clone(), db.clone()));
        }
        rx.await
            .map_err(|_| DbError::Sqlx(sqlx::Error::Protocol("the commit task ended".into())))?
    }
}

/// Commits batches until nobody waits.
async fn drain(queue: Arc<Mutex<Queue>>, db: PgPool) {
    let _done = Stopped(queue.clone());
    loop {
        let batch: Vec<_> = {
            let mut q = queue.lock().expect("commit queue lock");
            if q.waiting.is_empty() {
                q.running = false;
                return;
            }
            let n = q.waiting.len().min(MAX_BATCH);
            q.waiting.drain(..n).collect()
        };
        run(&db, batch).await;
    }
}

/// One batch; if the batch as a whole fails (a deadlock with another instance's batch, a
/// lost connection), each object is tried again on its own.
async fn run(db: &PgPool, batch: Vec<(NewObject, Option<Uuid>, Reply)>) {
    let items: Vec<Commit<'_>> = batch
        .iter()
        .map(|(new, finished, _)| Commit {
            new,
            finished: *finished,
        })
        .collect();
    let results = match commit::batch(db, &items).await {
        Ok(results) => results,
        Err(e) if items.len() == 1 => vec![Err(e)],
        Err(e) => {
            tracing::warn!(error = %e, objects = items.len(), "a commit batch failed; committing one by one");
            let mut one_by_one = Vec::with_capacity(items.len());
            for item in &items {
                one_by_one.push(match commit::batch(db, std::slice::from_ref(item)).await {
                    Ok(mut r) => r.pop().expect("one result per item"),
                    Err(e) => Err(e),
                });
            }
            one_by_one
        }
    };
    drop(items);
    for ((_, _, reply), result) in batch.into_iter().zip(results) {
        let _ = reply.send(result);
    }
}

/// Lets the next commit start a task again if this one stops, even by a panic (whose
/// waiting callers then see their reply dropped, an error).
struct Stopped(Arc<Mutex<Queue>>);

impl Drop for Stopped {
    fn drop(&mut self) {
        if let Ok(mut q) = self.0.lock()
            && std::thread::panicking()
        {
            q.running = false;
            q.waiting.clear();
        }
    }
}
