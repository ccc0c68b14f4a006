//! The append-only audit log: every staff action, money movement and security event.

pub mod model;
pub mod routes;
pub mod service;

pub use model::{AuditAction, AuditSubject};
pub use service::{record, AuditEvent};
