//! What one client connection may hold, and for how long.
//!
//! Every connection is watched for three ways of holding a slot without using it:
//! - a request head that does not arrive in full within `GODRIVE_HEADER_READ_TIMEOUT_SECS`
//!   (slowloris): answered `408` and closed;
//! - a keep-alive connection with nothing in flight for `GODRIVE_IDLE_TIMEOUT_SECS`: closed;
//! - a request whose body (upload) or response (download) makes no progress for
//!   `GODRIVE_BODY_STALL_TIMEOUT_SECS`: closed, which drops the request and with it its
//!   upload guards (reservation released, partial bytes deleted).
//!
//! And at `GODRIVE_MAX_CONNECTIONS`, the [`Registry`] closes the connection idle the longest
//! so a new client is served: a client never waits for a slot an idle socket holds.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::task::AtomicWaker;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Sleep;

/// The answer to a request head that took too long. Written straight to the socket: no
/// request exists yet for hyper to answer.
const REQUEST_TIMEOUT: &[u8] = b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";

/// The first bytes of an HTTP/2 connection (prior knowledge): its frames are not a head.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0";

/// The three timeouts, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// From the first byte of a request head to its end.
    pub header_read: Duration,
    /// A keep-alive connection with no request in flight.
    pub idle: Duration,
    /// No byte of a request body arriving, or of a response leaving, for this long.
    pub stall: Duration,
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Milliseconds on a process-wide monotonic clock; never 0, so 0 can mean "unset".
fn now_ms() -> u64 {
    epoch().elapsed().as_millis() as u64 + 1
}

/// The instant a [`now_ms`] reading stands for.
fn instant_at(ms: u64) -> tokio::time::Instant {
    (epoch() + Duration::from_millis(ms.saturating_sub(1))).into()
}

/// What is known of one connection, shared by its socket, its requests and the registry.
#[derive(Debug, Default)]
pub struct ConnState {
    /// Requests between their head and the end of their response body.
    in_flight: AtomicUsize,
    /// The last byte read or written, or the end of the last request.
    last_activity: AtomicU64,
    /// When the first byte of a request head arrived with nothing in flight (0: none).
    head_started: AtomicU64,
    /// The connection speaks HTTP/2: its idle frames are not request heads.
    h2: AtomicBool,
    /// Closing was asked for (evicted, or a body stalled).
    closing: AtomicBool,
    /// Wakes the socket's reader, so its deadline is re-armed when the last request ends.
    reader: AtomicWaker,
    /// Wakes the connection's task to drop the connection.
    close: Notify,
}

impl ConnState {
    fn new() -> Self {
        let s = Self::default();
        s.last_activity.store(now_ms(), Ordering::Relaxed);
        s
    }

    /// A request's head has been read; the guard ends it when its response is done.
    pub fn begin_request(self: &Arc<Self>) -> RequestGuard {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_started.store(0, Ordering::Relaxed);
        RequestGuard(Arc::clone(self))
    }

    /// Asks the connection's task to drop the connection.
    pub fn close(&self) {
        self.closing.store(true, Ordering::Relaxed);
        self.close.notify_one();
    }

    /// Completes when [`ConnState::close`] has been called.
    pub async fn closed(&self) {
        self.close.notified().await;
    }

    fn touch(&self) {
        self.last_activity.store(now_ms(), Ordering::Relaxed);
    }

    fn on_read(&self, first: &[u8]) {
        let now = now_ms();
        self.last_activity.store(now, Ordering::Relaxed);
        if first.starts_with(H2_PREFACE) {
            self.h2.store(true, Ordering::Relaxed);
        }
        if self.in_flight.load(Ordering::Acquire) == 0 && !self.h2.load(Ordering::Relaxed) {
            let _ = self
                .head_started
                .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
        }
    }

    fn is_idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0 && !self.closing.load(Ordering::Relaxed)
    }

    /// When waiting for the client must end, and why; `None` while a request is in flight
    /// (its body and response have their own stall timeouts).
    fn deadline(&self, limits: &Limits) -> Option<(u64, Expiry)> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        match self.head_started.load(Ordering::Relaxed) {
            0 => Some((
                self.last_activity.load(Ordering::Relaxed) + limits.idle.as_millis() as u64,
                Expiry::Idle,
            )),
            started => Some((started + limits.header_read.as_millis() as u64, Expiry::Head)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expiry {
    Idle,
    Head,
}

/// One request in flight on a connection; dropped when its response body is done (or the
/// request is dropped).
#[derive(Debug)]
pub struct RequestGuard(Arc<ConnState>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.touch();
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            // Idle now: the reader re-arms the idle deadline.
            self.0.reader.wake();
        }
    }
}

/// Every open connection of this server, for eviction at the cap.
#[derive(Debug, Default)]
pub struct Registry {
    conns: Mutex<HashMap<u64, Arc<ConnState>>>,
    next: AtomicU64,
}

impl Registry {
    /// Registers a new connection.
    pub fn add(&self) -> (u64, Arc<ConnState>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let state = Arc::new(ConnState::new());
        self.conns.lock().expect("registry lock").insert(id, Arc::clone(&state));
        (id, state)
    }

    /// Forgets a closed connection.
    pub fn remove(&self, id: u64) {
        self.conns.lock().expect("registry lock").remove(&id);
    }

    /// Closes the connection with nothing in flight that has been quiet the longest; false
    /// when every connection is busy.
    pub fn evict_idle(&self) -> bool {
        let conns = self.conns.lock().expect("registry lock");
        let victim = conns
            .values()
            .filter(|c| c.is_idle())
            .min_by_key(|c| c.last_activity.load(Ordering::Relaxed));
        match victim {
            Some(c) => {
                c.close();
                true
            }
            None => false,
        }
    }
}

/// A client socket that keeps its connection's [`ConnState`] current and enforces the
/// head, idle and write-stall timeouts.
pub struct Watched {
    io: TcpStream,
    conn: Arc<ConnState>,
    limits: Limits,
    /// The armed read deadline and its timer.
    read_timer: Option<(u64, Pin<Box<Sleep>>)>,
    /// Armed while a write waits for the client to read.
    write_timer: Option<Pin<Box<Sleep>>>,
}

impl Watched {
    /// Wraps an accepted socket.
    pub fn new(io: TcpStream, conn: Arc<ConnState>, limits: Limits) -> Self {
        Self {
            io,
            conn,
            limits,
            read_timer: None,
            write_timer: None,
        }
    }

    fn stalled(&mut self, cx: &mut Context<'_>) -> bool {
        let stall = self.limits.stall;
        let timer = self
            .write_timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
        timer.as_mut().poll(cx).is_ready()
    }
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        this.conn.reader.register(cx.waker());
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let read = &buf.filled()[before..];
                if !read.is_empty() {
                    this.conn.on_read(read);
                }
                return Poll::Ready(Ok(()));
            }
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => {}
        }
        let Some((deadline, expiry)) = this.conn.deadline(&this.limits) else {
            this.read_timer = None;
            return Poll::Pending;
        };
        if this.read_timer.as_ref().map(|(d, _)| *d) != Some(deadline) {
            this.read_timer = Some((deadline, Box::pin(tokio::time::sleep_until(instant_at(deadline)))));
        }
        let fired = this
            .read_timer
            .as_mut()
            .is_some_and(|(_, t)| t.as_mut().poll(cx).is_ready());
        if !fired {
            return Poll::Pending;
        }
        match expiry {
            // End of stream: hyper closes an idle connection quietly.
            Expiry::Idle => Poll::Ready(Ok(())),
            Expiry::Head => {
                // Best effort: a few bytes on an otherwise silent socket.
                let _ = this.io.try_write(REQUEST_TIMEOUT);
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "request head timed out")))
            }
        }
    }
}

impl Watched {
    /// A write's outcome: progress clears the stall timer; waiting past the stall timeout
    /// fails the write, which ends the connection.
    fn wrote(&mut self, cx: &mut Context<'_>, polled: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        match polled {
            Poll::Ready(r) => {
                self.write_timer = None;
                self.conn.touch();
                Poll::Ready(r)
            }
            Poll::Pending if self.stalled(cx) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        self.wrote(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.wrote(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eviction_picks_the_longest_idle_and_spares_busy_connections() {
        let r = Registry::default();
        let (_, busy) = r.add();
        let _request = busy.begin_request();
        std::thread::sleep(Duration::from_millis(3));
        let (_, old) = r.add();
        std::thread::sleep(Duration::from_millis(3));
        let (_, young) = r.add();
        assert!(r.evict_idle());
        assert!(old.closing.load(Ordering::Relaxed));
        assert!(!young.closing.load(Ordering::Relaxed) && !busy.closing.load(Ordering::Relaxed));
        assert!(r.evict_idle());
        assert!(young.closing.load(Ordering::Relaxed));
        assert!(!r.evict_idle(), "the busy connection is never evicted");
    }

    #[test]
    fn deadlines_follow_the_connection_state() {
        let limits = Limits {
            header_read: Duration::from_secs(10),
            idle: Duration::from_secs(60),
            stall: Duration::from_secs(30),
        };
        let c = Arc::new(ConnState::new());
        assert_eq!(c.deadline(&limits).unwrap().1, Expiry::Idle);
        c.on_read(b"GET / HTTP/1.1\r\n");
        assert_eq!(c.deadline(&limits).unwrap().1, Expiry::Head);
        let guard = c.begin_request();
        assert_eq!(c.deadline(&limits), None);
        drop(guard);
        assert_eq!(c.deadline(&limits).unwrap().1, Expiry::Idle);
        let h2 = Arc::new(ConnState::new());
        h2.on_read(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        assert_eq!(h2.deadline(&limits).unwrap().1, Expiry::Idle);
    }
}
