//! Types shared by the server and the browser: one file per domain, plus the
//! op (what a client asks to change) and the event (what changed).

pub mod activity;
pub mod alert;
pub mod analytics;
pub mod analytics_view;
pub mod content;
pub mod device;
pub mod display;
pub mod event;
pub mod op;
pub mod order;
pub mod playlist;
pub mod schedule;
pub mod token;
pub mod user;
pub mod zone;

pub use activity::*;
pub use alert::*;
pub use analytics::*;
pub use analytics_view::*;
pub use content::*;
pub use device::*;
pub use display::*;
pub use event::*;
pub use op::*;
pub use playlist::*;
pub use schedule::*;
pub use token::*;
pub use user::*;
pub use zone::*;

/// Milliseconds since the Unix epoch, UTC. Every instant Vizora stores is one of these.
pub type Millis = i64;
