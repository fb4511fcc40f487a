//! The client data layer, kept free of page code so it reads like a small
//! library: the store (confirmed state + pending ops, the fold, rollback and
//! rebase), the outbox, backoff and the circuit breaker, the live stream hook,
//! the op sender, and the coordination of an operator's tabs.

pub mod backoff;
pub mod breaker;
pub mod context;
pub mod merge;
pub mod outbox;
pub mod platform;
#[cfg(feature = "hydrate")]
mod sender;
pub mod store;
#[cfg(feature = "hydrate")]
pub mod stream;
#[cfg(feature = "hydrate")]
mod tabs;

pub use context::*;
