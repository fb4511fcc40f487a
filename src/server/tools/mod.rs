//! Tools around the product: the demo data of a first start (its images
//! drawn here, its videos encoded by `demo_video` and committed), simulated
//! displays over the real device protocol, and the load test.

pub mod analytics_bench;
pub mod demo;
pub mod demo_day;
pub mod demo_history;
#[cfg(feature = "demo-encoder")]
pub mod demo_video;
pub mod loadtest;
pub mod simulator;
pub mod timeline_bench;
