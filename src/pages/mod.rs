//! One file per page: a public `*Page` component and its private parts.

pub mod accounts;
pub mod analytics;
pub mod content;
pub mod device;
pub mod devices;
pub mod health;
pub mod login;
pub mod overview;
pub mod player;
pub mod playlists;
pub mod schedules;
pub mod settings;
