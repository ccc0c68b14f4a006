//! Email through a transactional outbox: rows written in the transaction of the decision
//! that causes them, delivered by a background worker with retries and a dead-letter state.

pub mod mailer;
pub mod model;
pub mod routes;
pub mod service;
pub mod templates;
pub mod worker;

pub use service::{enqueue, enqueue_many, enqueue_once, prepare};
