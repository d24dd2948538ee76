//! The bodies the server wraps around each request and response: a request body that ends
//! its connection when the client stops sending, and a response body that ends its request
//! on the connection when it is done (see `conn`).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::Sleep;

use super::conn::{ConnState, RequestGuard};

/// A request body that closes its connection when the client stops sending it.
pub struct StallingBody<B> {
    inner: B,
    conn: Arc<ConnState>,
    stall: Duration,
    timer: Option<Pin<Box<Sleep>>>,
}

impl<B> StallingBody<B> {
    /// Watches `inner` on `conn`.
    pub fn new(inner: B, conn: Arc<ConnState>, stall: Duration) -> Self {
        Self {
            inner,
            conn,
            stall,
            timer: None,
        }
    }
}

/// Why a request body ended early.
#[derive(Debug, thiserror::Error)]
#[error("no byte of the request body arrived for {0:?}")]
pub struct BodyStalled(Duration);

impl<B> Body for StallingBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.timer = None;
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                let stall = this.stall;
                let timer = this.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
                if timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                // The client holds a request open without sending: drop the connection, and
                // with it the request (its guards undo a half-done upload).
                this.conn.close();
                Poll::Ready(Some(Err(Box::new(BodyStalled(stall)))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that ends its request (see [`RequestGuard`]) when it is done.
pub struct GuardedBody<B> {
    inner: B,
    _guard: RequestGuard,
}

impl<B> GuardedBody<B> {
    /// Keeps `guard` until `inner` is finished or dropped.
    pub fn new(inner: B, guard: RequestGuard) -> Self {
        Self { inner, _guard: guard }
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for GuardedBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
