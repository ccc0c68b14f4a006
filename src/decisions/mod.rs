//! Every decision taken about a person, with its reason: what `GET /me/decisions` lists.

pub mod model;
pub mod routes;
pub mod service;

pub use model::{DecisionOutcome, DecisionSubject};
pub use service::{record, NewDecision};
