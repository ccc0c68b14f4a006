//! Work records and quality review (SPEC §6): bulk ingest, the review queue, appeals,
//! automatic approval, and the quality ladder.

pub mod model;
pub mod quality;
pub mod queue;
pub mod routes;
pub mod service;
