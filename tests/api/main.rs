//! Integration tests through the HTTP API, each on SQLite and on PostgreSQL.

mod support;

mod accounts;
mod console;
mod credentials;
mod eligibility;
mod failsafe;
mod ledger;
mod links;
mod onboarding;
mod outbox;
mod payouts;
mod platform;
mod qualifications;
mod schema;
mod sessions;
mod tax;
mod work;
mod year_end;
