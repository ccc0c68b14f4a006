//! Qualification tests and access (SPEC §5): admins author versioned tests, applicants
//! take timed attempts, objective answers are scored at submission and free text by
//! reviewers, a pass grants a qualification, and qualifications gate project types.
//! The rules are written up in docs/qualifications.md.

pub mod grading;
pub mod model;
pub mod queue;
pub mod routes;
pub mod service;

pub use service::{close_expired_attempts, credential_prerequisite_met};
