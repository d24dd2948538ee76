//! The HTTP server: one port, `/v1/...` to the JSON API and everything else to S3.
//!
//! `conn` keeps idle, slow and stalled clients from holding connection slots (with `body`
//! watching request and response bodies), `client`
//! finds the client's address behind trusted proxies, `dispatch` routes each request to an
//! edge and logs and measures it, `content` keeps user content inert on GoDrive's origin.

mod body;
mod client;
mod conn;
mod content;
mod dispatch;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::app::AppState;
use body::StallingBody;
use conn::{Limits, Registry, Watched};
use dispatch::Dispatch;

/// Why serving failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Accepting connections failed.
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
    /// The first admin could not be created.
    #[error("creating the first admin: {0}")]
    Bootstrap(crate::accounts::BootstrapError),
}

/// Serves on an already bound listener until `shutdown` completes, then lets in-flight
/// requests finish. This is the seam tests use (bind `127.0.0.1:0`, pass the listener).
pub async fn serve_with_listener(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    crate::accounts::bootstrap_admin(&state)
        .await
        .map_err(ServeError::Bootstrap)?;
    // The lease exists before the first request can reserve quota under it.
    crate::jobs::start(&state).await;
    let dispatch = Dispatch::new(&state);
    let config = &state.config;
    let limits = Limits {
        header_read: Duration::from_secs(config.header_read_timeout_secs),
        idle: Duration::from_secs(config.idle_timeout_secs),
        stall: Duration::from_secs(config.body_stall_timeout_secs),
    };
    let mut builder = ConnBuilder::new(TokioExecutor::new());
    // Request heads over the limit are answered 431 by hyper. Head and idle timeouts are
    // ours (`conn`), so hyper's own timer stays unset.
    let header_bytes = config.max_header_bytes.max(8192);
    builder.http1().max_buf_size(header_bytes);
    builder
        .http2()
        .max_header_list_size(u32::try_from(header_bytes).unwrap_or(u32::MAX));
    let slots = Arc::new(tokio::sync::Semaphore::new(config.max_connections.max(1)));
    let registry = Arc::new(Registry::default());
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    'accept: loop {
        let (socket, peer): (_, SocketAddr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: keep serving what is open.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let permit = match slots.clone().try_acquire_owned() {
            Ok(p) => p,
            // At the cap: close the connection that has been idle the longest and take its
            // slot. Only when every connection has a request in flight does the new one wait.
            Err(_) => loop {
                registry.evict_idle();
                tokio::select! {
                    p = slots.clone().acquire_owned() => break p.expect("the semaphore is never closed"),
                    () = tokio::time::sleep(Duration::from_millis(50)) => {}
                    () = &mut shutdown => break 'accept,
                }
            },
        };
        // Without TCP_NODELAY, small responses on keep-alive connections wait ~40 ms.
        let _ = socket.set_nodelay(true);
        let (id, state) = registry.add();
        let io = Watched::new(socket, Arc::clone(&state), limits);
        let d = dispatch.clone();
        let on_conn = Arc::clone(&state);
        let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
            let guard = on_conn.begin_request();
            let req = req.map(|b| StallingBody::new(b, Arc::clone(&on_conn), limits.stall));
            d.clone().handle(peer, req, guard)
        });
        let fut = builder
            .serve_connection_with_upgrades(TokioIo::new(io), service)
            .into_owned();
        let fut = graceful.watch(fut);
        let registry = Arc::clone(&registry);
        tokio::spawn(async move {
            tokio::select! {
                r = fut => if let Err(e) = r {
                    tracing::debug!(error = %e, "connection ended with error");
                },
                // Evicted, or a request body stalled: dropping the connection closes it.
                () = state.closed() => tracing::debug!("connection closed by the server"),
            }
            registry.remove(id);
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    if let Err(e) = state.requests.flush(&state.db).await {
        tracing::warn!(error = %e, "could not flush request counts at shutdown");
    }
    if let Err(e) = state.audit.flush(&state.db).await {
        tracing::warn!(error = %e, "could not write the presigned-URL audit at shutdown");
    }
    Ok(())
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
