//! Hashing an upload as it streams through. MD5 (the ETag) is computed on the request's own
//! task; SHA-256 and the flexible checksums beside it: inline for a small body, on a
//! blocking thread of their own for a large one, so a large upload is bound by the slower of
//! the two hashes rather than by their sum. A SHA-256 the edge already verifies as the body
//! streams (a signed payload hash) is not computed a second time.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use md5::{Digest as _, Md5};
use sha2::Sha256;
use tokio_util::sync::PollSender;

use super::integrity::Expected;
use super::{BodyError, UploadError};
use crate::checksum::{self, Checksums};

/// Bodies of at least this many bytes (or of unknown length) hash on two threads.
const PARALLEL_FROM: u64 = 1 << 20;

/// Chunks in flight to the second thread.
const QUEUE: usize = 16;

/// MD5, SHA-256, flexible checksums and length of everything that went through.
#[derive(Debug, Clone)]
pub struct Digests {
    /// MD5 of the content.
    pub md5: [u8; 16],
    /// SHA-256 of the content.
    pub sha256: [u8; 32],
    /// The flexible checksums the client asked for or sent, verified.
    pub checksums: Checksums,
    /// Bytes seen.
    pub len: u64,
}

/// What runs beside MD5: SHA-256 (unless already known) and the flexible checksums.
struct Side {
    sha256: Option<Sha256>,
    checksums: checksum::Hasher,
}

impl Side {
    fn update(&mut self, data: &[u8]) {
        if let Some(h) = self.sha256.as_mut() {
            h.update(data);
        }
        self.checksums.update(data);
    }
}

/// Where the side hashes run.
enum SideAt {
    Inline(Side),
    Thread(PollSender<Bytes>),
    Done,
}

struct State {
    md5: Md5,
    len: u64,
    side: SideAt,
    body_error: Option<BodyError>,
}

/// The digests of a [`Hashing`] stream, read once the stream has been consumed.
pub struct Hashes {
    state: Arc<Mutex<State>>,
    thread: Option<tokio::task::JoinHandle<Side>>,
    known_sha256: Option<[u8; 32]>,
}

impl Hashes {
    /// The body's own error first (why it failed to arrive), else the digests.
    pub async fn finish(self) -> Result<Digests, UploadError> {
        let (md5, len, inline) = {
            let mut st = self.state.lock().expect("hash state lock");
            if let Some(e) = st.body_error.take() {
                return Err(UploadError::Body(e));
            }
            let side = std::mem::replace(&mut st.side, SideAt::Done);
            (std::mem::take(&mut st.md5), st.len, side)
        };
        let side = match inline {
            SideAt::Inline(side) => side,
            other => {
                // The thread's input ends when its sender is gone.
                drop(other);
                let thread = self
                    .thread
                    .expect("a hashing stream has its side inline or on a thread");
                thread.await.map_err(|e| UploadError::Commit(e.to_string()))?
            }
        };
        Ok(Digests {
            md5: md5.finalize().into(),
            sha256: self
                .known_sha256
                .or_else(|| side.sha256.map(|h| h.finalize().into()))
                .unwrap_or_default(),
            checksums: side.checksums.finalize(),
            len,
        })
    }
}

/// Passes the request body through while hashing it; remembers why the body failed.
///
/// The chunk that completes the declared length is held back until the request body has
/// ended: a sink that stops reading at the declared length (the S3 client does) would
/// otherwise never let s3s parse the aws-chunked trailer, and its checksum would go unchecked.
pub struct Hashing<B> {
    inner: Option<B>,
    state: Arc<Mutex<State>>,
    declared: u64,
    /// A chunk hashed by MD5 that waits for room on the side thread's queue.
    sending: Option<Bytes>,
    held: Option<Bytes>,
}

impl<B> Hashing<B> {
    /// Wraps `body` (declared `len` bytes) for the checksums `expected` asks for.
    pub fn new(body: Option<B>, len: u64, expected: &Expected) -> (Self, Hashes) {
        let known_sha256 = expected.verified_sha256();
        let side = Side {
            sha256: known_sha256.is_none().then(Sha256::new),
            checksums: checksum::Hasher::new(expected.algorithms().iter().copied()),
        };
        let (side, thread) = if len >= PARALLEL_FROM {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(QUEUE);
            let mut side = side;
            let thread = tokio::task::spawn_blocking(move || {
                while let Some(chunk) = rx.blocking_recv() {
                    side.update(&chunk);
                }
                side
            });
            (SideAt::Thread(PollSender::new(tx)), Some(thread))
        } else {
            (SideAt::Inline(side), None)
        };
        let state = Arc::new(Mutex::new(State {
            md5: Md5::new(),
            len: 0,
            side,
            body_error: None,
        }));
        let stream = Self {
            inner: body,
            state: state.clone(),
            declared: len,
            sending: None,
            held: None,
        };
        (
            stream,
            Hashes {
                state,
                thread,
                known_sha256,
            },
        )
    }

    fn fail(&mut self, e: BodyError) -> Poll<Option<Result<Bytes, io::Error>>> {
        let msg = e.to_string();
        self.state.lock().expect("hash state lock").body_error = Some(e);
        self.inner = None;
        self.held = None;
        self.sending = None;
        Poll::Ready(Some(Err(io::Error::other(msg))))
    }
}

impl<B: Stream<Item = Result<Bytes, BodyError>> + Unpin> Stream for Hashing<B> {
    type Item = Result<Bytes, io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(chunk) = self.sending.take() {
                let sent = {
                    let mut st = self.state.lock().expect("hash state lock");
                    match &mut st.side {
                        SideAt::Thread(tx) => match tx.poll_reserve(cx) {
                            Poll::Pending => None,
                            Poll::Ready(r) => Some(r.is_ok() && tx.send_item(chunk.clone()).is_ok()),
                        },
                        _ => Some(true),
                    }
                };
                match sent {
                    None => {
                        self.sending = Some(chunk);
                        return Poll::Pending;
                    }
                    Some(false) => return self.fail("the hashing thread stopped".into()),
                    Some(true) => {}
                }
                let complete = self.state.lock().expect("hash state lock").len >= self.declared;
                if !complete {
                    return Poll::Ready(Some(Ok(chunk)));
                }
                // Hold the last chunk and read on to the end of the body.
                self.held = Some(chunk);
                continue;
            }
            let Some(inner) = self.inner.as_mut() else {
                return Poll::Ready(self.held.take().map(Ok));
            };
            match Pin::new(inner).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    if self.held.is_some() {
                        return self.fail("body longer than declared".into());
                    }
                    {
                        let mut st = self.state.lock().expect("hash state lock");
                        st.md5.update(&chunk);
                        st.len += chunk.len() as u64;
                        if let SideAt::Inline(side) = &mut st.side {
                            side.update(&chunk);
                        }
                    }
                    self.sending = Some(chunk);
                }
                Poll::Ready(Some(Err(e))) => return self.fail(e),
                Poll::Ready(None) => {
                    self.inner = None;
                    return Poll::Ready(self.held.take().map(Ok));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt as _;
    use md5::Digest as _;

    use super::*;

    async fn digest(data: &[u8], declared: u64, expected: &Expected) -> Digests {
        let chunks: Vec<Result<Bytes, BodyError>> =
            data.chunks(65_521).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        let (mut stream, hashes) = Hashing::new(Some(futures::stream::iter(chunks)), declared, expected);
        let mut seen = Vec::new();
        while let Some(chunk) = stream.next().await {
            seen.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(seen, data);
        drop(stream);
        hashes.finish().await.unwrap()
    }

    #[tokio::test]
    async fn a_large_body_hashed_on_two_threads_has_the_one_shot_digests() {
        let data: Vec<u8> = (0..3_000_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for declared in [data.len() as u64, 1000, u64::MAX] {
            let expected = Expected::none().also(Some(checksum::Algorithm::Crc32c));
            let d = digest(&data, declared.max(data.len() as u64), &expected).await;
            assert_eq!(d.md5, <[u8; 16]>::from(Md5::digest(&data)));
            assert_eq!(d.sha256, <[u8; 32]>::from(Sha256::digest(&data)));
            let mut crc = checksum::Hasher::new([checksum::Algorithm::Crc32c]);
            crc.update(&data);
            assert_eq!(d.checksums, crc.finalize());
            assert_eq!(d.len, data.len() as u64);
        }
    }

    #[tokio::test]
    async fn a_verified_sha256_is_not_computed_again() {
        let known = [7u8; 32];
        for len in [10u64, 2 << 20] {
            let data = vec![1u8; len as usize];
            let d = digest(&data, len, &Expected::none().with_verified_sha256(Some(known))).await;
            assert_eq!(d.sha256, known);
            assert_eq!(d.md5, <[u8; 16]>::from(Md5::digest(&data)));
        }
    }
}
