//! The client data layer, kept free of page code so it reads like a small
//! library: the store (confirmed state + pending ops, the fold, rollback and
//! rebase), the data hooks pages render from, the outbox, backoff and the
//! circuit breaker, the live stream hook, the op sender, and the coordination
//! of an operator's tabs.

pub mod backoff;
pub mod breaker;
mod context;
mod hooks;
pub mod merge;
mod notices;
pub mod outbox;
pub mod platform;
#[cfg(feature = "hydrate")]
mod sender;
pub mod store;
#[cfg(feature = "hydrate")]
mod stream;
#[cfg(feature = "hydrate")]
mod tabs;

pub use context::{provide_sync, use_sync, Connection, SyncHandle};
pub use hooks::{
    use_alerts, use_devices, use_executions, use_hydrated, use_library, use_schedules,
    UseAlertsReturn, UseDevicesReturn, UseLibraryReturn, UseSchedulesReturn, EXECUTIONS_SHOWN,
};
pub use notices::{Notice, NoticeKind, Notices};

/// The page is leaving on its own (the operator pressed Sign out): a
/// `signed_out` from the stream, caused by that very sign-out, must not
/// send it to the sign-in page with a `next` on top of the form's redirect.
pub fn leaving() {
    #[cfg(feature = "hydrate")]
    stream::LEAVING.with(|l| l.set(true));
}
