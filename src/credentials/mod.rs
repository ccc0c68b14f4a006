//! Credentials (SPEC §4): degrees, transcripts, certifications and professional licenses,
//! their review queue, the rules that turn verified credentials into qualifications,
//! license expiry, and two-person removal for confirmed false credentials.

pub mod model;
pub mod queue;
pub mod readiness;
pub mod routes;
pub mod service;
