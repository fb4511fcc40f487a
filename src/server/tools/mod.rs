//! Tools around the product: the demo data of a first start (its images and
//! videos made here), simulated displays over the real device protocol, and
//! the load test.

pub mod demo;
pub mod demo_day;
pub mod demo_video;
pub mod loadtest;
pub mod simulator;
pub mod timeline_bench;
