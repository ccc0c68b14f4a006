//! Payouts (SPEC §8): payout methods, batches built by one finance user and approved by
//! another, exports (PayPal, Wise, NACHA ACH) and settlement. Rules in docs/payouts.md.

pub mod ach_codes;
pub mod exports;
pub mod methods;
pub mod model;
pub mod nacha;
pub mod readiness;
pub mod releases;
pub mod routes;
pub mod routing;
pub mod service;
pub mod trace;
pub mod unclaimed;
