//! Applicant onboarding: profile, the contributor lifecycle, US work authorization
//! (Form I-9 categories and documents), its review queue, reverification and the
//! retention of I-9 documents.

pub mod documents;
pub mod eligibility;
pub mod lifecycle;
pub mod model;
pub mod queue;
pub mod readiness;
pub mod retention;
pub mod routes;
pub mod service;
