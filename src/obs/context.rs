//! What one request is, as the server and the edges learn it: the client's address (set by
//! the server), the caller and the operation (set by whichever edge serves it). The server
//! puts a [`RequestContext`] into the request's extensions; the request log, the metrics and
//! the presigned-use audit read it back when the answer goes out.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use uuid::Uuid;

/// One request's context; clones share it.
#[derive(Debug, Clone)]
pub struct RequestContext(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    client: IpAddr,
    user: OnceLock<Uuid>,
    operation: OnceLock<String>,
}

impl RequestContext {
    /// A request from `client` (the socket's peer, or what a trusted proxy forwarded).
    pub fn new(client: IpAddr) -> Self {
        Self(Arc::new(Inner {
            client,
            user: OnceLock::new(),
            operation: OnceLock::new(),
        }))
    }

    /// The client's address.
    pub fn client(&self) -> IpAddr {
        self.0.client
    }

    /// Records the authenticated caller (the first one set sticks).
    pub fn set_user(&self, user_id: Uuid) {
        let _ = self.0.user.set(user_id);
    }

    /// The caller, once authenticated.
    pub fn user(&self) -> Option<Uuid> {
        self.0.user.get().copied()
    }

    /// Names the operation: the S3 operation, or the JSON route's method and template (never
    /// the raw path, whose ids would make metric labels unbounded). The first name sticks.
    pub fn set_operation(&self, name: String) {
        let _ = self.0.operation.set(name);
    }

    /// The operation, once named.
    pub fn operation(&self) -> Option<&str> {
        self.0.operation.get().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_what_is_learnt_and_the_first_value_sticks() {
        let ctx = RequestContext::new(IpAddr::from([10, 0, 0, 1]));
        let seen = ctx.clone();
        assert_eq!(seen.user(), None);
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        ctx.set_user(a);
        ctx.set_user(b);
        ctx.set_operation("PutObject".into());
        ctx.set_operation("GetObject".into());
        assert_eq!(seen.user(), Some(a));
        assert_eq!(seen.operation(), Some("PutObject"));
        assert_eq!(seen.client(), IpAddr::from([10, 0, 0, 1]));
    }
}
