//! Integration tests through the HTTP API, each on SQLite and on PostgreSQL.

mod support;

mod accounts;
mod backup;
mod compliance_i9;
mod compliance_money;
mod console;
mod contract;
mod credentials;
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
mod scale;
mod schema;
mod sessions;
mod storage;
mod tax;
mod work;
mod year_end;
