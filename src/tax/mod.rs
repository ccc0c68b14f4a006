//! Tax (SPEC §9): W-9 tax profiles, TIN rules, backup withholding status, and the tax
//! data (thresholds, rails reported by third parties, rates) kept as rows.

pub mod filing;
pub mod iris;
pub mod model;
pub mod readiness;
pub mod routes;
pub mod service;
pub mod tin;
pub mod year_end;
