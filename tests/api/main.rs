//! Integration tests through the HTTP API, each on SQLite and on PostgreSQL.

mod support;

mod accounts;
mod backup;
mod compliance_i9;
mod compliance_money;
mod console;
mod console_ops;
mod contract;
mod credentials;
mod decisions;
mod eligibility;
mod failsafe;
mod keys;
mod ledger;
mod links;
mod onboarding;
mod outbox;
mod payouts;
mod platform;
mod provider_files;
mod qualifications;
mod quality;
mod scale;
mod schema;
mod sessions;
mod storage;
mod tax;
mod traceability;
mod work;
mod year_end;
