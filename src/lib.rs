//! Gatehouse: the back office of a marketplace paying US independent contractors.
//!
//! One module per capability, each shaped `model` (rows), `service` (rules and
//! transactions), `routes` (HTTP). Shared plumbing: `config`, `db`, `error`, `crypto`,
//! `storage`, `clock`.

pub mod audit;
pub mod auth;
pub mod calendar;
pub mod clock;
pub mod config;
pub mod console;
pub mod credentials;
pub mod crypto;
pub mod db;
pub mod decisions;
pub mod docs;
pub mod error;
pub mod files;
pub mod health;
pub mod idempotency;
pub mod jobs;
pub mod keys;
pub mod ledger;
pub mod metrics;
pub mod notifications;
pub mod onboarding;
pub mod openapi;
pub mod payouts;
pub mod qualifications;
pub mod quality;
pub mod readiness;
pub mod review;
pub mod seed;
pub mod settings;
pub mod spool;
pub mod startup;
pub mod storage;
pub mod tax;
pub mod telemetry;
pub mod text;
pub mod wire;
pub mod work;

use std::sync::Arc;

pub use startup::{AppState, Application};

/// Runs blocking work (database, argon2) on actix's blocking pool; on an HTTP worker,
/// admitted first like every database call ([`db::Db::run`], installed by the app
/// factory with [`db::Db::admit_on_this_thread`]).
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> error::AppResult<T> + Send + 'static,
) -> error::AppResult<T> {
    match db::Db::of_this_thread() {
        Some(db) => db.run(f).await,
        None => actix_web::web::block(f).await?,
    }
}

/// Shared handle type for the clock.
pub type SharedClock = Arc<dyn clock::Clock>;
