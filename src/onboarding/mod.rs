//! Applicant onboarding: profile, the contributor lifecycle, US work authorization
//! (Form I-9 categories and documents), its review queue and reverification.

pub mod documents;
pub mod eligibility;
pub mod lifecycle;
pub mod model;
pub mod readiness;
pub mod routes;
pub mod service;
