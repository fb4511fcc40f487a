//! Which domain applies each kind of change: the one file that names every
//! domain's `apply`. The change path itself (receipts, versions, the log,
//! the commit) is `core::change`; a new kind of change is a `Change` variant,
//! its arm in `Change::domain()`, and its case in that domain's `apply`.

use std::sync::Arc;

use futures::future::BoxFuture;

use super::{
    auth,
    core::change::{Applied, ChangeCtx, Dispatch},
    devices, displays,
    displays::Gateway,
    health, library, schedules,
};
use crate::{
    error::AppError,
    model::{Change, Domain},
};

/// The domains, as the change path sees them.
pub struct Changes {
    pub gateway: Arc<Gateway>,
}

impl Dispatch for Changes {
    fn apply<'a>(
        &'a self,
        ctx: ChangeCtx<'a>,
        change: &'a Change,
    ) -> BoxFuture<'a, Result<Applied, AppError>> {
        Box::pin(async move {
            match change.domain() {
                Domain::Library => library::apply(ctx, change).await,
                Domain::Devices => devices::apply(ctx, change).await,
                Domain::Displays => displays::apply(ctx, &self.gateway, change).await,
                Domain::Health => health::apply(ctx, change).await,
                Domain::Accounts => auth::apply(ctx, change).await,
                Domain::Schedules => schedules::apply(ctx, change).await,
            }
        })
    }
}
