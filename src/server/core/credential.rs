//! What a request was signed in with (a session or an API token), and the
//! check a long-lived connection makes again with it: the auth gate attaches
//! a [`Recheck`] to every authenticated request, and the operator stream
//! calls it on a timer and whenever an event may have ended the credential
//! (a sign-out, a deactivation, a revoked token). Core names no auth table:
//! the check itself is the gate's.

use std::sync::Arc;

use futures::future::BoxFuture;

use super::http::CurrentUser;
use crate::error::AppError;

/// What signed a request in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A browser session, by its id (never its cookie).
    Session { id: String },
    /// An API token, by its id.
    Token { id: String },
    /// The server itself, or a test acting directly.
    Internal,
}

impl Credential {
    pub fn session_id(&self) -> Option<&str> {
        match self {
            Credential::Session { id } => Some(id),
            _ => None,
        }
    }
}

type Check = dyn Fn() -> BoxFuture<'static, Result<Option<CurrentUser>, AppError>> + Send + Sync;

/// Looks the request's credential up again: `Ok(None)` once it has ended
/// (signed out, expired, deactivated, revoked), the user as they are now
/// (their role may have changed) while it holds.
#[derive(Clone)]
pub struct Recheck(Arc<Check>);

impl Recheck {
    pub fn new(
        check: impl Fn() -> BoxFuture<'static, Result<Option<CurrentUser>, AppError>>
            + Send
            + Sync
            + 'static,
    ) -> Self {
        Self(Arc::new(check))
    }

    /// A credential that never ends (tests driving a stream directly).
    pub fn always(user: CurrentUser) -> Self {
        Self::new(move || {
            let user = user.clone();
            Box::pin(async move { Ok(Some(user)) })
        })
    }

    pub async fn check(&self) -> Result<Option<CurrentUser>, AppError> {
        (self.0)().await
    }
}
