//! The double-entry earnings ledger (SPEC §7): accounts, posting, balances, manual
//! adjustments with maker-checker. Append-only; amounts in integer USD cents.

pub mod model;
pub mod money;
pub mod routes;
pub mod service;

pub use money::{Cents, Currency};
