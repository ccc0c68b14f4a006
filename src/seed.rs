//! `gatehouse seed`: a realistic data set for the benchmarks, written directly with bulk
//! SQL (multi-row INSERTs with explicit ids, committed in large transactions).
//!
//! For each contributor: an `active` applicant account with a verified email and a
//! verified US work authorization (a citizen's, since the account joined: the
//! eligibility rule lets them work and be paid), a complete profile (date of birth
//! encrypted), a W-9 tax profile (TIN encrypted; one in fifty
//! certified subject to backup withholding, so builds also post withholding), a current
//! payout method past its change hold (rails in turn: PayPal, Wise, ACH, or one rail for all; destinations
//! encrypted and masked as the service does) and the four ledger accounts. Then one
//! project type and the approved work records, spread over the last year, each with the
//! two ledger transactions the service posts for it (`work_approved`: expense → held,
//! `hold_released`: held → available, reference `work_record:{id}`), so every record's
//! pay is `available` and every transaction sums to zero. The transactions are written
//! open and sealed before each commit (`ledger::service::seal_open_after`), so the
//! database checks every one balances exactly as it does for the service's postings
//! (docs/ledger.md, "What the database guarantees"). Two finance users
//! (`finance1@bench.test`, `finance2@bench.test`) are created when missing, so a batch
//! can be built by one and approved by the other.
//!
//! The project type is gated by standing in the domain `bench` and reports both quality
//! signals, which the records carry (for the standing run, docs/quality.md).
//!
//! Not written: the `ledger.posted` audit records of the seeded postings (the ledger
//! invariants do not depend on them).

use std::fmt::Write as _;
use std::time::Instant;

use chrono::{Duration, NaiveDateTime};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use rust_decimal::Decimal;

use crate::db::DbConn;
use crate::ledger::money::{pay, UnitKind};
use crate::payouts::model::{BankAccount, BankAccountType, Destination, Rail};
use crate::AppState;

/// Rows per INSERT statement.
const ROWS_PER_STATEMENT: usize = 1000;
/// Contributors per committed transaction.
const CONTRIBUTORS_PER_TX: u64 = 20_000;
/// Work records per committed transaction.
const RECORDS_PER_TX: u64 = 100_000;

pub const FINANCE_EMAILS: [&str; 2] = ["finance1@bench.test", "finance2@bench.test"];

#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub contributors: u64,
    pub records: u64,
    /// Password of the two finance users (when they are created).
    pub finance_password: String,
    /// Every contributor's payout rail; `None`: PayPal, Wise and ACH in turn.
    pub rail: Option<Rail>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SeedReport {
    pub first_contributor_id: i64,
    pub last_contributor_id: i64,
    pub project_type_id: i64,
    pub finance_ids: Vec<i64>,
    pub records: u64,
    pub available_cents: i64,
    pub seconds: f64,
}

#[derive(QueryableByName)]
struct One {
    #[diesel(sql_type = BigInt)]
    v: i64,
}

fn scalar(conn: &mut DbConn, sql: &str) -> anyhow::Result<i64> {
    let rows: Vec<One> = diesel::sql_query(sql).load(conn)?;
    Ok(rows.first().map(|r| r.v).unwrap_or(0))
}

fn max_id(conn: &mut DbConn, table: &str) -> anyhow::Result<i64> {
    scalar(conn, &format!("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) AS v FROM {table}"))
}

fn ts(t: NaiveDateTime) -> String {
    format!("'{}'", t.format("%Y-%m-%d %H:%M:%S%.6f"))
}

fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Accumulates VALUES tuples for one multi-row INSERT. The caller flushes the tables in
/// foreign-key order every [`ROWS_PER_STATEMENT`] rows or so.
struct Inserter {
    head: String,
    sql: String,
    rows: usize,
}

impl Inserter {
    fn new(table: &str, columns: &str) -> Self {
        Self { head: format!("INSERT INTO {table} ({columns}) VALUES "), sql: String::new(), rows: 0 }
    }

    fn row(&mut self, values: std::fmt::Arguments<'_>) -> anyhow::Result<()> {
        if self.rows == 0 {
            self.sql.clear();
            self.sql.push_str(&self.head);
        } else {
            self.sql.push(',');
        }
        self.sql.push('(');
        self.sql.write_fmt(values)?;
        self.sql.push(')');
        self.rows += 1;
        Ok(())
    }

    fn flush(&mut self, conn: &mut DbConn) -> anyhow::Result<()> {
        if self.rows > 0 {
            conn.batch_execute(&self.sql)?;
            self.rows = 0;
        }
        Ok(())
    }
}

fn progress(what: &str, done: u64, total: u64, started: Instant) {
    let secs = started.elapsed().as_secs_f64();
    eprintln!("seed: {what} {done}/{total} ({:.1} s, {:.0}/s)", secs, done as f64 / secs.max(1e-9));
}

/// Creates the finance users (when missing) and returns their ids.
fn finance_users(conn: &mut DbConn, password: &str, now: NaiveDateTime) -> anyhow::Result<Vec<i64>> {
    let mut ids = Vec::new();
    for (i, email) in FINANCE_EMAILS.iter().enumerate() {
        let found = scalar(conn, &format!("SELECT id AS v FROM users WHERE email = {}", q(email)))?;
        if found > 0 {
            ids.push(found);
            continue;
        }
        let hash = crate::auth::password::hash(password)?;
        conn.batch_execute(&format!(
            "INSERT INTO users (email, password_hash, full_name, status, email_verified_at, created_at, updated_at) \
             VALUES ({}, {}, {}, 'staff', {n}, {n}, {n})",
            q(email),
            q(&hash),
            q(&format!("Bench Finance {}", i + 1)),
            n = ts(now)
        ))?;
        let id = scalar(conn, &format!("SELECT id AS v FROM users WHERE email = {}", q(email)))?;
        conn.batch_execute(&format!("INSERT INTO user_roles (user_id, role) VALUES ({id}, 'finance')"))?;
        ids.push(id);
    }
    Ok(ids)
}

fn project_type(conn: &mut DbConn, created_by: i64, now: NaiveDateTime) -> anyhow::Result<i64> {
    let name = "bench-annotation";
    let found = scalar(conn, &format!("SELECT id AS v FROM project_types WHERE name = {}", q(name)))?;
    if found > 0 {
        return Ok(found);
    }
    conn.batch_execute(&format!(
        "INSERT INTO project_types (name, required_qualifications, created_by, created_at, standing_domain, \
         required_standing, reports_consensus, reports_gold) VALUES ({}, '[]', {created_by}, {}, 'bench', 'standard', TRUE, TRUE)",
        q(name),
        ts(now)
    ))?;
    scalar(conn, &format!("SELECT id AS v FROM project_types WHERE name = {}", q(name)))
}

/// A valid ABA routing number (check digit computed).
fn routing_number(n: u64) -> String {
    let d: Vec<u32> =
        format!("{:08}", 11_000_000 + n % 1_000_000).chars().map(|c| c.to_digit(10).unwrap_or(0)).collect();
    let sum = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5]);
    let check = (10 - sum % 10) % 10;
    format!("{}{check}", d.iter().map(|x| x.to_string()).collect::<String>())
}

/// The record `j`'s unit kind, quantity and rate (and so its pay).
pub fn record_shape(j: u64) -> (UnitKind, String, String) {
    if j % 4 == 3 {
        (UnitKind::Minutes, format!("{}", 15 + (j * 13) % 106), "36.00".to_string())
    } else {
        (UnitKind::Units, format!("{}", 1 + (j * 7) % 20), "1.25".to_string())
    }
}

pub fn seed(st: &AppState, opts: &SeedOptions) -> anyhow::Result<SeedReport> {
    let started = Instant::now();
    let now = st.clock.now();
    let mut pooled = st.db.get().map_err(|e| anyhow::anyhow!("{e}"))?;
    let conn: &mut DbConn = &mut pooled;
    if let DbConn::Sqlite(c) = conn {
        // The seed is a bulk load: the journal still protects each transaction.
        c.batch_execute("PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;")?;
    }
    let finance = finance_users(conn, &opts.finance_password, now)?;
    let project = project_type(conn, finance[0], now)?;

    // Contributors.
    let n = opts.contributors;
    let u0 = max_id(conn, "users")?;
    let a0 = max_id(conn, "ledger_accounts")?;
    let t0 = max_id(conn, "tax_profiles")?;
    let m0 = max_id(conn, "payout_methods")?;
    let joined = now - Duration::days(400);
    let mut users = Inserter::new(
        "users",
        "id, email, password_hash, full_name, status, email_verified_at, created_at, updated_at",
    );
    let mut roles = Inserter::new("user_roles", "user_id, role");
    let mut authorizations = Inserter::new(
        "work_authorizations",
        "user_id, category, residence_country, reverification, status, attested_at, submitted_at, decided_at, verified_at",
    );
    let mut profiles = Inserter::new(
        "contributor_profiles",
        "user_id, legal_name, date_of_birth_enc, address_line1, city, region, postal_code, country, phone, updated_at",
    );
    let mut taxes = Inserter::new(
        "tax_profiles",
        "id, user_id, version, legal_name, tax_classification, address_line1, city, region, postal_code, tin_type, \
         tin_enc, tin_last4, subject_to_backup_withholding, signature_name, signed_at, created_at",
    );
    let mut methods = Inserter::new(
        "payout_methods",
        "id, user_id, rail, status, details_enc, masked, usable_from, created_at, destination_kind",
    );
    let mut accounts = Inserter::new("ledger_accounts", "id, code, owner_id, kind, currency, created_at");
    let joined_s = ts(joined);
    let regions = ["CA", "NY", "TX", "WA", "IL", "FL", "MA", "CO"];
    let mut i = 0u64;
    while i < n {
        let end = (i + CONTRIBUTORS_PER_TX).min(n);
        conn.batch_execute("BEGIN")?;
        for k in i..end {
            if k > i && k % (ROWS_PER_STATEMENT as u64 / 4) == 0 {
                for ins in [
                    &mut users,
                    &mut roles,
                    &mut authorizations,
                    &mut profiles,
                    &mut taxes,
                    &mut methods,
                    &mut accounts,
                ] {
                    ins.flush(conn)?;
                }
            }
            let id = u0 + 1 + k as i64;
            let name = format!("Bench Contributor {id}");
            users.row(format_args!(
                "{id}, 'bench-{id}@example.test', NULL, {}, 'active', {joined_s}, {joined_s}, {joined_s}",
                q(&name)
            ))?;
            roles.row(format_args!("{id}, 'applicant'"))?;
            authorizations.row(format_args!(
                "{id}, 'us_citizen', 'US', FALSE, 'verified', {joined_s}, {joined_s}, {joined_s}, {joined_s}"
            ))?;
            let region = regions[(k % regions.len() as u64) as usize];
            let dob = st.cipher.encrypt_str(&format!("19{:02}-{:02}-{:02}", 60 + k % 40, 1 + k % 12, 1 + k % 28));
            profiles.row(
                format_args!(
                    "{id}, {}, '{dob}', '{} Main Street', 'Springfield', '{region}', '{:05}', 'US', '+1555{:07}', {joined_s}",
                    q(&name),
                    1 + k % 9999,
                    10_000 + k % 89_999,
                    k % 10_000_000
                ),
            )?;
            let tin = format!("{:09}", 100_000_000 + k);
            let tin_enc = st.cipher.encrypt_str(&tin);
            let subject = if k % 50 == 49 { "TRUE" } else { "FALSE" };
            taxes.row(
                format_args!(
                    "{}, {id}, 1, {}, 'individual', '{} Main Street', 'Springfield', '{region}', '{:05}', 'ssn', '{tin_enc}', '{}', {subject}, {}, {joined_s}, {joined_s}",
                    t0 + 1 + k as i64,
                    q(&name),
                    1 + k % 9999,
                    10_000 + k % 89_999,
                    &tin[5..],
                    q(&name)
                ),
            )?;
            let rail = opts.rail.unwrap_or(match k % 3 {
                0 => Rail::Paypal,
                1 => Rail::Wise,
                _ => Rail::Ach,
            });
            let (rail, dest) = match rail {
                Rail::Paypal => (Rail::Paypal, Destination::Email { email: format!("bench-{id}@paypal.example.test") }),
                Rail::Wise => (Rail::Wise, Destination::Email { email: format!("bench-{id}@wise.example.test") }),
                Rail::Ach => (
                    Rail::Ach,
                    Destination::Bank(BankAccount {
                        holder_name: name.clone(),
                        routing_number: routing_number(k),
                        account_number: format!("{:010}", 1_000_000 + k),
                        account_type: if k % 2 == 0 { BankAccountType::Checking } else { BankAccountType::Savings },
                    }),
                ),
            };
            let details = st.cipher.encrypt_str(&serde_json::to_string(&dest)?);
            methods.row(format_args!(
                "{}, {id}, '{}', 'active', '{details}', {}, {joined_s}, {joined_s}, '{}'",
                m0 + 1 + k as i64,
                rail.as_str(),
                q(&dest.masked(rail)),
                dest.kind().as_str()
            ))?;
            for (x, kind) in crate::ledger::model::AccountKind::CONTRIBUTOR.iter().enumerate() {
                accounts.row(format_args!(
                    "{}, 'user:{id}:{k}', {id}, '{k}', 'USD', {joined_s}",
                    a0 + 1 + 4 * k as i64 + x as i64,
                    k = kind.as_str()
                ))?;
            }
        }
        for ins in [&mut users, &mut roles, &mut authorizations, &mut profiles, &mut taxes, &mut methods, &mut accounts]
        {
            ins.flush(conn)?;
        }
        conn.batch_execute("COMMIT")?;
        i = end;
        progress("contributors", i, n, started);
    }

    // Work records and their ledger transactions.
    let expense = scalar(conn, "SELECT id AS v FROM ledger_accounts WHERE code = 'platform:expense'")?;
    let w0 = max_id(conn, "work_records")?;
    let x0 = max_id(conn, "ledger_transactions")?;
    let e0 = max_id(conn, "ledger_entries")?;
    let m = opts.records;
    let ingested_by = finance[0];
    let first = now - Duration::days(380);
    let span_secs = 365 * 86_400i64;
    let mut records = Inserter::new(
        "work_records",
        "id, contributor_id, project_type_id, task_ref, unit_kind, quantity, rate, pay_cents, completed_at, ingested_at, \
         ingested_by, status, review_due_at, decided_at, decision_source, approved_at, hold_until, released_at, \
         consensus_agreement_percent, gold_score_percent",
    );
    let mut txs =
        Inserter::new("ledger_transactions", "id, kind, reference, memo, contributor_id, created_by, created_at");
    let mut entries = Inserter::new("ledger_entries", "id, transaction_id, account_id, amount_cents");
    let mut total = 0i64;
    let mut j = 0u64;
    let rec_started = Instant::now();
    while j < m && n > 0 {
        let end = (j + RECORDS_PER_TX).min(m);
        conn.batch_execute("BEGIN")?;
        for r in j..end {
            if r > j && r % (ROWS_PER_STATEMENT as u64 / 4) == 0 {
                for ins in [&mut records, &mut txs, &mut entries] {
                    ins.flush(conn)?;
                }
            }
            let id = w0 + 1 + r as i64;
            let k = r % n;
            let contributor = u0 + 1 + k as i64;
            let held = a0 + 1 + 4 * k as i64 + 1;
            let available = held + 1;
            let (kind, quantity, rate) = record_shape(r);
            let cents = pay(
                rate.parse::<Decimal>().map_err(|e| anyhow::anyhow!("{e}"))?,
                quantity.parse::<Decimal>().map_err(|e| anyhow::anyhow!("{e}"))?,
                kind,
            )
            .map_err(|e| anyhow::anyhow!("{e:?}"))?
            .0;
            total += cents;
            let completed = first + Duration::seconds(span_secs * r as i64 / m.max(1) as i64);
            let ingested = completed + Duration::hours(1);
            let approved = completed + Duration::days(1);
            let hold_until = approved + Duration::days(7);
            let task_ref = format!("bench-{id}");
            // Quality signals for the standing run: agreement 50–100 %, one record in
            // four a gold item, one gold item in five answered wrong.
            let agreement = 50 + (r * 37) % 51;
            let gold = match (r % 4, r % 5) {
                (0, 0) => "0",
                (0, _) => "100",
                _ => "NULL",
            };
            records.row(
                format_args!(
                    "{id}, {contributor}, {project}, '{task_ref}', '{}', '{quantity}', '{rate}', {cents}, {}, {}, {ingested_by}, \
                     'approved', {}, {ap}, 'auto', {ap}, {hu}, {hu}, {agreement}, {gold}",
                    kind.as_str(),
                    ts(completed),
                    ts(ingested),
                    ts(completed + Duration::days(7)),
                    ap = ts(approved),
                    hu = ts(hold_until)
                ),
            )?;
            let tx_approved = x0 + 1 + 2 * r as i64;
            let tx_released = tx_approved + 1;
            // Like the service, a record that pays nothing is not booked.
            if cents != 0 {
                txs.row(
                    format_args!(
                        "{tx_approved}, 'work_approved', 'work_record:{id}', 'task {task_ref} approved', {contributor}, NULL, {}",
                        ts(approved)
                    ),
                )?;
                txs.row(
                    format_args!(
                        "{tx_released}, 'hold_released', 'work_record:{id}', 'hold ended for task {task_ref}', {contributor}, NULL, {}",
                        ts(hold_until)
                    ),
                )?;
                let e = e0 + 1 + 4 * r as i64;
                entries.row(format_args!("{e}, {tx_approved}, {expense}, {}", -cents))?;
                entries.row(format_args!("{}, {tx_approved}, {held}, {cents}", e + 1))?;
                entries.row(format_args!("{}, {tx_released}, {held}, {}", e + 2, -cents))?;
                entries.row(format_args!("{}, {tx_released}, {available}, {cents}", e + 3))?;
            }
        }
        for ins in [&mut records, &mut txs, &mut entries] {
            ins.flush(conn)?;
        }
        crate::ledger::service::seal_open_after(conn, x0).map_err(|e| anyhow::anyhow!("{e}"))?;
        conn.batch_execute("COMMIT")?;
        j = end;
        progress("work records", j, m, rec_started);
    }

    if let DbConn::Postgresql(_) = conn {
        for table in [
            "users",
            "tax_profiles",
            "payout_methods",
            "ledger_accounts",
            "work_records",
            "ledger_transactions",
            "ledger_entries",
        ] {
            conn.batch_execute(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
            ))?;
        }
        eprintln!("seed: ANALYZE");
        conn.batch_execute("ANALYZE")?;
    } else {
        eprintln!("seed: ANALYZE");
        conn.batch_execute("ANALYZE")?;
    }
    Ok(SeedReport {
        first_contributor_id: u0 + 1,
        last_contributor_id: u0 + n as i64,
        project_type_id: project,
        finance_ids: finance,
        records: m,
        available_cents: total,
        seconds: started.elapsed().as_secs_f64(),
    })
}
