//! Accounts, roles and sessions: registration, email verification, login, token
//! rotation, password reset, staff accounts, and the extractors that put roles in
//! handler signatures.

pub mod extract;
pub mod model;
pub mod password;
pub mod roles;
pub mod routes;
pub mod service;
pub mod session;
pub mod throttle;
pub mod tokens;

pub use extract::{Applicant, AuthUser, RequestCtx, Staff, Worker};
pub use roles::{Admin, AnyStaff, Finance, Reviewer, Role};
