//! Configuration from the environment, one concern per struct.
//!
//! Every variable is documented in the README. Invalid configuration is reported as one
//! line by `main` and stops start-up.

use std::fs;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

fn bad(msg: impl Into<String>) -> ConfigError {
    ConfigError(msg.into())
}

/// Which database a URL selects. The scheme decides; a typo is refused rather than
/// turned into a new SQLite file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseUrl {
    Postgres(String),
    Sqlite(PathBuf),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, ConfigError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres(without_loopback_tls(url)))
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(bad("DATABASE_URL: sqlite:// needs a file path"));
            }
            Ok(Self::Sqlite(PathBuf::from(path)))
        } else {
            Err(bad(format!(
                "DATABASE_URL: unsupported scheme in {:?} (use postgres://... or sqlite://path)",
                redact_url(url)
            )))
        }
    }
}

/// A PostgreSQL URL whose host is this machine (`127.0.0.1`, `localhost`, `::1`) and that
/// names no `sslmode` gets `sslmode=disable`: libpq's default (`prefer`) negotiates TLS
/// even over loopback, where it protects nothing and costs every query its encryption
/// (issue 23: one of the causes named for `GET /me`). An explicit `sslmode`, a `host=`
/// parameter or any other host is left as given (docs/deploy.md).
pub fn without_loopback_tls(url: &str) -> String {
    let Some((_, rest)) = url.split_once("://") else { return url.to_string() };
    let (authority_and_path, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    if query.is_some_and(|q| q.split('&').any(|p| p.starts_with("sslmode=") || p.starts_with("host="))) {
        return url.to_string();
    }
    let authority = authority_and_path.split('/').next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    if !matches!(host.to_ascii_lowercase().as_str(), "127.0.0.1" | "localhost" | "::1") {
        return url.to_string();
    }
    format!("{url}{}sslmode=disable", if query.is_some() { "&" } else { "?" })
}

/// Drops the password from a URL so it can appear in an error message.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***{}", &url[..s], &url[at..]),
        _ => url.to_string(),
    }
}

#[derive(Clone, Debug)]
pub struct MailConfig {
    /// lettre SMTP URL (`smtp://`, `smtps://`, `smtp://host?tls=required`); `None` writes .eml files.
    pub smtp_url: Option<String>,
    pub from: String,
    /// Delay before the first retry; doubled on each further failure.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// Attempts before an email is moved to the dead-letter state.
    pub max_attempts: i32,
    pub poll_interval: Duration,
}

#[derive(Clone, Debug)]
pub struct AuthConfig {
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub verify_email_ttl: Duration,
    pub password_reset_ttl: Duration,
    pub staff_invite_ttl: Duration,
    // The throttle fields below are runtime settings: the rules read them through
    // `Settings::throttles` at each use; the defaults here are only its base.
    /// The sliding window over which failed sign-ins count.
    pub login_window: chrono::Duration,
    /// Failed sign-ins per (account, client address) in the window before it waits.
    pub login_failures_per_account_ip: i64,
    /// Failed sign-ins per client address (any account) in the window before it waits.
    pub login_failures_per_ip: i64,
    /// Failed sign-ins on one account (from any address) after which it is slowed.
    pub login_account_slowdown_after: i64,
    /// A slowed account accepts one password check per this delay: the longest anyone
    /// else can keep its owner out.
    pub login_account_delay: chrono::Duration,
    /// The sliding window of the emailed-link throttles (reset, verification).
    pub email_link_window: chrono::Duration,
    /// Reset or verification emails per address in the window.
    pub email_links_per_address: i64,
    /// Reset or verification emails requested from one client address in the window.
    pub email_links_per_ip: i64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            verify_email_ttl: Duration::from_secs(24 * 3600),
            password_reset_ttl: Duration::from_secs(3600),
            staff_invite_ttl: Duration::from_secs(72 * 3600),
            login_window: chrono::Duration::minutes(15),
            login_failures_per_account_ip: 5,
            login_failures_per_ip: 50,
            login_account_slowdown_after: 10,
            login_account_delay: chrono::Duration::seconds(60),
            email_link_window: chrono::Duration::minutes(60),
            email_links_per_address: 3,
            email_links_per_ip: 20,
        }
    }
}

/// Review queues, uploads and scheduled jobs.
#[derive(Clone, Debug)]
pub struct OperationsConfig {
    /// How long a reviewer's claim on a queue item lasts.
    pub claim_ttl: Duration,
    /// Largest uploaded file, in bytes (413 beyond).
    pub max_upload_bytes: usize,
    /// Days before a work authorization expires when a reminder is sent.
    pub reverify_reminder_days: Vec<i64>,
    /// How often the in-process job runner runs due jobs.
    pub job_interval: Duration,
}

impl Default for OperationsConfig {
    fn default() -> Self {
        Self {
            claim_ttl: Duration::from_secs(30 * 60),
            max_upload_bytes: 10 * 1024 * 1024,
            reverify_reminder_days: vec![90, 30, 7],
            job_interval: Duration::from_secs(15 * 60),
        }
    }
}

/// Qualification tests (SPEC §5).
#[derive(Clone, Debug)]
pub struct QualificationsConfig {
    /// How long after an attempt's deadline answers are still accepted (network slack).
    pub answer_grace: Duration,
}

impl Default for QualificationsConfig {
    fn default() -> Self {
        Self { answer_grace: Duration::from_secs(30) }
    }
}

/// Work records, quality review and the ledger (SPEC §6, §7). Documented in docs/ledger.md.
#[derive(Clone, Debug)]
/// The business rules (windows, holds, thresholds, the quality ladder) are runtime
/// settings (`crate::settings`), not here.
pub struct WorkConfig {
    /// Largest bulk-ingest body, in bytes.
    pub ingest_max_bytes: usize,
    /// Standing per domain from quality signals (issue 24, docs/quality.md).
    pub standing: StandingConfig,
}

/// Standing per contributor and domain (docs/quality.md): figures over a rolling window,
/// each used only once it rests on `min_items` items (the confidence floor); promotion
/// needs every figure at or above its bar, demotion any figure below its floor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StandingConfig {
    /// The rolling window, by the time the work was completed.
    pub window: chrono::Duration,
    /// No figure decides anything on fewer items than this.
    pub min_items: i64,
    pub promote_agreement_percent: i32,
    pub promote_gold_percent: i32,
    /// Promotion also needs a rejection share at most this.
    pub promote_max_rejection_percent: i32,
    /// Agreement below this moves back to entry-level work in the domain.
    pub demote_agreement_percent: i32,
    /// Gold accuracy below this moves back to entry-level work in the domain.
    pub demote_gold_percent: i32,
    /// A rejection share at or above this moves back to entry-level work in the domain.
    pub demote_rejection_percent: i32,
    /// Moves wait in a queue for a reviewer to confirm them instead of applying at once.
    pub human_confirmation: bool,
}

impl Default for StandingConfig {
    fn default() -> Self {
        Self {
            window: chrono::Duration::days(30),
            min_items: 20,
            promote_agreement_percent: 85,
            promote_gold_percent: 90,
            promote_max_rejection_percent: 5,
            demote_agreement_percent: 60,
            demote_gold_percent: 70,
            demote_rejection_percent: 25,
            human_confirmation: false,
        }
    }
}

/// Year-end 1099-NEC filing (SPEC §9). Documented in docs/tax.md.
#[derive(Clone, Debug)]
pub struct TaxConfig {
    pub payer_name: String,
    /// The payer's EIN, printed in filing exports only.
    pub payer_tin: String,
    pub payer_address: String,
    pub payer_city: String,
    pub payer_state: String,
    pub payer_zip: String,
    pub payer_address_line2: String,
    /// Two-letter country code of the payer's address (`US`).
    pub payer_country: String,
    pub payer_phone: String,
    /// The payer's identification number with each state (Form 1099-NEC box 6), by
    /// two-letter state code: boxes 5–7 are filled for a recipient in a state listed here.
    pub payer_state_ids: std::collections::BTreeMap<String, String>,
    /// Returns per IRIS CSV file; larger years export as numbered parts.
    pub iris_returns_per_file: usize,
    /// Header row and column mapping of the IRIS CSV (a data file finance can align with
    /// the official template of the year); the built-in copy is used when it is absent.
    pub iris_template: PathBuf,
}

/// Payouts (SPEC §8). Documented in docs/payouts.md.
#[derive(Clone, Debug)]
/// The payout minimum, method change hold and payment promise are runtime settings
/// (`crate::settings`).
pub struct PayoutsConfig {
    /// Rows per PayPal Payouts CSV file; larger batches export as numbered parts.
    pub paypal_csv_max_rows: i64,
    /// Items per PayPal Payouts API request (PayPal's limit: 15,000).
    pub paypal_api_max_items: i64,
    /// Start of every PayPal `sender_batch_id` (the rest is random, per batch).
    pub paypal_sender_batch_prefix: String,
    /// Transfers per Wise batch file (Wise's limit: 1,000).
    pub wise_csv_max_rows: i64,
    pub nacha: NachaOriginator,
    /// Dormancy period of money owed but not delivered, after the owner's last sign of
    /// interest, before it is reportable as unclaimed property (docs/payouts.md).
    pub unclaimed_dormancy: chrono::Duration,
}

/// The originator of our NACHA files: our bank (ODFI) and our company.
#[derive(Clone, Debug)]
pub struct NachaOriginator {
    /// Routing number of the ODFI (nine digits), the file's immediate destination.
    pub immediate_destination: String,
    pub immediate_destination_name: String,
    /// Ten characters, usually `1` followed by the company's EIN.
    pub immediate_origin: String,
    pub immediate_origin_name: String,
    pub company_name: String,
    /// Ten characters, usually `1` followed by the company's EIN.
    pub company_id: String,
    /// Company entry description of the PPD batch (credits to consumers): `PAYROLL`,
    /// as the NACHA rule in force from 2026-03-20 asks for compensation (docs/payouts.md).
    pub entry_description: String,
    /// Company entry description of the CCD batch (credits to businesses).
    pub ccd_entry_description: String,
}

impl Default for NachaOriginator {
    fn default() -> Self {
        Self {
            immediate_destination: "021000021".into(),
            immediate_destination_name: "ODFI BANK".into(),
            immediate_origin: "1000000000".into(),
            immediate_origin_name: "GATEHOUSE".into(),
            company_name: "GATEHOUSE".into(),
            company_id: "1000000000".into(),
            entry_description: "PAYROLL".into(),
            ccd_entry_description: "PAYOUT".into(),
        }
    }
}

impl Default for PayoutsConfig {
    fn default() -> Self {
        Self {
            paypal_csv_max_rows: 5_000,
            paypal_api_max_items: 15_000,
            paypal_sender_batch_prefix: "GH".into(),
            wise_csv_max_rows: 1_000,
            nacha: NachaOriginator::default(),
            unclaimed_dormancy: chrono::Duration::days(365),
        }
    }
}

/// The quality ladder: rejection share (percent) over the last `window` decided records,
/// applied once `min_decided` records are decided.
#[derive(Clone, Debug)]
pub struct QualityLadder {
    pub window: i64,
    pub min_decided: i64,
    pub warning_percent: i32,
    pub retraining_percent: i32,
    pub suspension_percent: i32,
}

impl Default for WorkConfig {
    fn default() -> Self {
        Self { ingest_max_bytes: 32 * 1024 * 1024, standing: StandingConfig::default() }
    }
}

pub use crate::keys::Keys;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub database: DatabaseUrl,
    /// Base of the links put in emails (verification, password reset).
    pub public_url: String,
    pub mail: MailConfig,
    pub auth: AuthConfig,
    pub operations: OperationsConfig,
    pub qualifications: QualificationsConfig,
    pub work: WorkConfig,
    pub payouts: PayoutsConfig,
    /// The environment's values of the runtime business settings: the seed of a new
    /// database, never read by the rules (they read `crate::settings::current`).
    pub settings: crate::settings::Settings,
    pub tax: TaxConfig,
    pub keys: Keys,
    /// Where uploaded files are kept.
    pub file_store: crate::storage::StoreConfig,
    pub log_format: LogFormat,
    /// Largest JSON body accepted, in bytes.
    pub max_json_bytes: usize,
    pub db_pool_size: u32,
    /// How long a SQLite write waits for another process's lock before the request is
    /// answered 503.
    pub sqlite_busy_timeout_ms: u32,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// Reads configuration through `get`, so tests can pass their own variables.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let bind_raw = get("GATEHOUSE_BIND").unwrap_or_else(|| "127.0.0.1:8080".into());
        let bind: SocketAddr = bind_raw
            .parse()
            .map_err(|_| bad(format!("GATEHOUSE_BIND: {bind_raw:?} is not an address like 127.0.0.1:8080")))?;
        let data_dir = PathBuf::from(get("GATEHOUSE_DATA_DIR").unwrap_or_else(|| "./data".into()));
        fs::create_dir_all(&data_dir)
            .map_err(|e| bad(format!("GATEHOUSE_DATA_DIR: cannot create {}: {e}", data_dir.display())))?;
        let database = match get("DATABASE_URL") {
            Some(url) => DatabaseUrl::parse(&url)?,
            None => DatabaseUrl::Sqlite(data_dir.join("gatehouse.db")),
        };
        let public_url =
            get("GATEHOUSE_PUBLIC_URL").unwrap_or_else(|| format!("http://{bind}")).trim_end_matches('/').to_string();
        let smtp_url = get("SMTP_URL");
        if let Some(url) = &smtp_url {
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err(bad("SMTP_URL: must start with smtp:// or smtps://"));
            }
        }
        let mail = MailConfig {
            smtp_url,
            from: get("GATEHOUSE_MAIL_FROM").unwrap_or_else(|| "Gatehouse <no-reply@gatehouse.localhost>".into()),
            retry_base: Duration::from_secs(parse_num(&get, "GATEHOUSE_MAIL_RETRY_BASE_SECS", 30, 1..=3600)?),
            retry_max: Duration::from_secs(3600),
            max_attempts: parse_num(&get, "GATEHOUSE_MAIL_MAX_ATTEMPTS", 10, 1..=100)?,
            poll_interval: Duration::from_millis(parse_num(&get, "GATEHOUSE_MAIL_POLL_MS", 1000, 10..=600_000)?),
        };
        if mail.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(bad("GATEHOUSE_MAIL_FROM: not a valid mailbox like 'Gatehouse <no-reply@example.com>'"));
        }
        let keys = Keys::from_lookup(&get, &data_dir.join("keys"), &database)?;
        let file_store = crate::storage::StoreConfig::from_lookup(&get, &data_dir)?;
        // The business settings: validated here with the same definitions and ranges as
        // `PUT /admin/settings`; they seed the database at the first start.
        let settings = crate::settings::Settings::from_lookup(&get).map_err(bad)?;
        let log_format = match get("GATEHOUSE_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => return Err(bad(format!("GATEHOUSE_LOG_FORMAT: {other:?} is not text or json"))),
        };
        Ok(Self {
            bind,
            data_dir,
            database,
            public_url,
            mail,
            auth: AuthConfig::default(),
            settings,
            operations: OperationsConfig {
                claim_ttl: Duration::from_secs(60 * parse_num(&get, "GATEHOUSE_CLAIM_TTL_MINUTES", 30, 1..=1440)?),
                max_upload_bytes: parse_num(&get, "GATEHOUSE_MAX_UPLOAD_BYTES", 10 * 1024 * 1024, 1024..=1 << 30)?,
                reverify_reminder_days: match get("GATEHOUSE_REVERIFY_REMINDER_DAYS") {
                    None => vec![90, 30, 7],
                    Some(v) => reminder_days(&v).ok_or_else(|| {
                        bad("GATEHOUSE_REVERIFY_REMINDER_DAYS: a comma-separated list of days from 1 to 365, like 90,30,7")
                    })?,
                },
                job_interval: Duration::from_secs(parse_num(&get, "GATEHOUSE_JOB_INTERVAL_SECS", 900, 1..=86_400)?),
            },
            qualifications: QualificationsConfig {
                answer_grace: Duration::from_secs(parse_num(&get, "GATEHOUSE_TEST_ANSWER_GRACE_SECS", 30, 0..=600)?),
            },
            work: WorkConfig {
                ingest_max_bytes: parse_num(&get, "GATEHOUSE_INGEST_MAX_BYTES", 32 * 1024 * 1024, 1024..=1 << 30)?,
                standing: standing_config(&get)?,
            },
            payouts: payouts_config(&get)?,
            tax: TaxConfig {
                payer_name: get("GATEHOUSE_PAYER_NAME").unwrap_or_else(|| "Gatehouse Marketplace".into()),
                payer_tin: get("GATEHOUSE_PAYER_TIN").unwrap_or_default(),
                payer_address: get("GATEHOUSE_PAYER_ADDRESS").unwrap_or_default(),
                payer_city: get("GATEHOUSE_PAYER_CITY").unwrap_or_default(),
                payer_state: get("GATEHOUSE_PAYER_STATE").unwrap_or_default(),
                payer_zip: get("GATEHOUSE_PAYER_ZIP").unwrap_or_default(),
                payer_address_line2: get("GATEHOUSE_PAYER_ADDRESS_LINE2").unwrap_or_default(),
                payer_country: get("GATEHOUSE_PAYER_COUNTRY").unwrap_or_else(|| "US".into()),
                payer_phone: get("GATEHOUSE_PAYER_PHONE").unwrap_or_default(),
                payer_state_ids: state_ids(get("GATEHOUSE_PAYER_STATE_IDS").as_deref())?,
                iris_returns_per_file: parse_num(&get, "GATEHOUSE_IRIS_RETURNS_PER_FILE", 100, 1..=100_000)?,
                iris_template: get("GATEHOUSE_IRIS_TEMPLATE")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("templates/tax/iris_1099nec.csv")),
            },
            keys,
            file_store,
            log_format,
            max_json_bytes: parse_num(&get, "GATEHOUSE_MAX_JSON_BYTES", 2 * 1024 * 1024, 1024..=256 << 20)?,
            db_pool_size: parse_num(&get, "GATEHOUSE_DB_POOL_SIZE", default_pool_size(), 1..=256)?,
            sqlite_busy_timeout_ms: parse_num(&get, "GATEHOUSE_SQLITE_BUSY_TIMEOUT_MS", 10_000, 0..=600_000)?,
        })
    }
}

/// Four connections per core, between 4 and 32: enough to keep the database busy while
/// requests wait on the network, few enough that the threads running them do not crowd
/// the cores (on 2 cores, 16 connections gave a 42–70 ms p99 under 64 concurrent reads
/// against 9–13 ms at 8: BENCHMARKS.md).
fn default_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(2);
    (cores * 4).clamp(4, 32)
}

fn payouts_config(get: &impl Fn(&str) -> Option<String>) -> Result<PayoutsConfig, ConfigError> {
    let d = NachaOriginator::default();
    let text = |key: &str, default: String, len: usize| -> Result<String, ConfigError> {
        let v = get(key).unwrap_or(default);
        if v.is_empty() || v.len() > len || !v.is_ascii() {
            return Err(bad(format!("{key}: 1 to {len} ASCII characters")));
        }
        Ok(v)
    };
    let digits = |key: &str, default: String, len: usize| -> Result<String, ConfigError> {
        let v = get(key).unwrap_or(default);
        if v.len() != len || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(format!("{key}: exactly {len} digits")));
        }
        Ok(v)
    };
    let nacha = NachaOriginator {
        immediate_destination: digits("GATEHOUSE_NACHA_IMMEDIATE_DESTINATION", d.immediate_destination, 9)?,
        immediate_destination_name: text("GATEHOUSE_NACHA_DESTINATION_NAME", d.immediate_destination_name, 23)?,
        immediate_origin: text("GATEHOUSE_NACHA_IMMEDIATE_ORIGIN", d.immediate_origin, 10)?,
        immediate_origin_name: text("GATEHOUSE_NACHA_ORIGIN_NAME", d.immediate_origin_name, 23)?,
        company_name: text("GATEHOUSE_NACHA_COMPANY_NAME", d.company_name, 16)?,
        company_id: text("GATEHOUSE_NACHA_COMPANY_ID", d.company_id, 10)?,
        entry_description: text("GATEHOUSE_NACHA_ENTRY_DESCRIPTION", d.entry_description, 10)?,
        ccd_entry_description: text("GATEHOUSE_NACHA_CCD_ENTRY_DESCRIPTION", d.ccd_entry_description, 10)?,
    };
    if !crate::payouts::routing::is_valid(&nacha.immediate_destination) {
        return Err(bad("GATEHOUSE_NACHA_IMMEDIATE_DESTINATION: not a valid ABA routing number"));
    }
    // PayPal's limit is 5,000 rows per file.
    let max_rows: i64 = parse_num(get, "GATEHOUSE_PAYPAL_CSV_MAX_ROWS", 5_000, 1..=5_000)?;
    let dormancy_days: i64 = parse_num(get, "GATEHOUSE_UNCLAIMED_DORMANCY_DAYS", 365, 1..=3_650)?;
    // PayPal's limit per API request is 15,000 items; Wise's per batch file 1,000.
    let limit = |key: &str, max: i64| parse_num(get, key, max, 1..=max);
    let prefix = get("GATEHOUSE_PAYPAL_SENDER_BATCH_PREFIX").unwrap_or_else(|| "GH".into());
    if prefix.is_empty() || prefix.len() > 32 || !prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(bad("GATEHOUSE_PAYPAL_SENDER_BATCH_PREFIX: 1 to 32 letters, digits or underscores"));
    }
    Ok(PayoutsConfig {
        paypal_api_max_items: limit("GATEHOUSE_PAYPAL_API_MAX_ITEMS", 15_000)?,
        paypal_sender_batch_prefix: prefix,
        wise_csv_max_rows: limit("GATEHOUSE_WISE_CSV_MAX_ROWS", 1_000)?,
        unclaimed_dormancy: chrono::Duration::days(dormancy_days),
        paypal_csv_max_rows: max_rows,
        nacha,
    })
}

/// `CA=123-4567-8,NY=98765`: the payer's state identification numbers by state.
fn state_ids(raw: Option<&str>) -> Result<std::collections::BTreeMap<String, String>, ConfigError> {
    let mut out = std::collections::BTreeMap::new();
    for pair in raw.unwrap_or("").split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (state, id) = pair.split_once('=').map(|(s, i)| (s.trim(), i.trim())).unwrap_or(("", ""));
        if state.len() != 2 || !state.bytes().all(|b| b.is_ascii_alphabetic()) || id.is_empty() || id.len() > 20 {
            return Err(bad("GATEHOUSE_PAYER_STATE_IDS: a comma-separated list like CA=123-4567-8,NY=98765"));
        }
        out.insert(state.to_ascii_uppercase(), id.to_string());
    }
    Ok(out)
}

/// A number from the environment, or `default`; out of `range` is an error naming the
/// variable, so no setting can reach a worker that would panic on it (a zero interval)
/// or a rule that would misbehave (negative days, a 500 % share).
fn parse_num<T>(
    get: &impl Fn(&str) -> Option<String>,
    key: &str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    let value = match get(key) {
        None => default,
        Some(v) => v.trim().parse().map_err(|_| bad(format!("{key}: {v:?} is not a whole number")))?,
    };
    if !range.contains(&value) {
        return Err(bad(format!("{key}: {value} is out of range ({} to {})", range.start(), range.end())));
    }
    Ok(value)
}

/// `90,30,7`: distinct days from 1 to 365.
fn reminder_days(v: &str) -> Option<Vec<i64>> {
    let days: Vec<i64> = v.split(',').map(|d| d.trim().parse::<i64>().ok()).collect::<Option<_>>()?;
    let distinct: std::collections::BTreeSet<i64> = days.iter().copied().collect();
    (!days.is_empty() && distinct.len() == days.len() && days.iter().all(|d| (1..=365).contains(d))).then_some(days)
}

fn standing_config(get: &impl Fn(&str) -> Option<String>) -> Result<StandingConfig, ConfigError> {
    let d = StandingConfig::default();
    let human_confirmation = match get("GATEHOUSE_STANDING_HUMAN_CONFIRMATION").as_deref().map(str::trim) {
        None => d.human_confirmation,
        Some("true" | "1") => true,
        Some("false" | "0") => false,
        Some(v) => return Err(bad(format!("GATEHOUSE_STANDING_HUMAN_CONFIRMATION: {v:?} is not true or false"))),
    };
    let c = StandingConfig {
        window: chrono::Duration::days(parse_num(get, "GATEHOUSE_STANDING_WINDOW_DAYS", 30, 1..=365)?),
        min_items: parse_num(get, "GATEHOUSE_STANDING_MIN_ITEMS", d.min_items, 1..=10_000)?,
        promote_agreement_percent: parse_num(
            get,
            "GATEHOUSE_STANDING_PROMOTE_AGREEMENT_PERCENT",
            d.promote_agreement_percent,
            1..=100,
        )?,
        promote_gold_percent: parse_num(
            get,
            "GATEHOUSE_STANDING_PROMOTE_GOLD_PERCENT",
            d.promote_gold_percent,
            1..=100,
        )?,
        promote_max_rejection_percent: parse_num(
            get,
            "GATEHOUSE_STANDING_PROMOTE_MAX_REJECTION_PERCENT",
            d.promote_max_rejection_percent,
            0..=99,
        )?,
        demote_agreement_percent: parse_num(
            get,
            "GATEHOUSE_STANDING_DEMOTE_AGREEMENT_PERCENT",
            d.demote_agreement_percent,
            0..=99,
        )?,
        demote_gold_percent: parse_num(get, "GATEHOUSE_STANDING_DEMOTE_GOLD_PERCENT", d.demote_gold_percent, 0..=99)?,
        demote_rejection_percent: parse_num(
            get,
            "GATEHOUSE_STANDING_DEMOTE_REJECTION_PERCENT",
            d.demote_rejection_percent,
            1..=100,
        )?,
        human_confirmation,
    };
    // A band between the floors and the bars keeps a contributor from moving back and
    // forth on the same figures.
    if c.demote_agreement_percent >= c.promote_agreement_percent {
        return Err(bad(format!(
            "GATEHOUSE_STANDING_DEMOTE_AGREEMENT_PERCENT: {} must be below the promotion bar {}",
            c.demote_agreement_percent, c.promote_agreement_percent
        )));
    }
    if c.demote_gold_percent >= c.promote_gold_percent {
        return Err(bad(format!(
            "GATEHOUSE_STANDING_DEMOTE_GOLD_PERCENT: {} must be below the promotion bar {}",
            c.demote_gold_percent, c.promote_gold_percent
        )));
    }
    if c.promote_max_rejection_percent >= c.demote_rejection_percent {
        return Err(bad(format!(
            "GATEHOUSE_STANDING_DEMOTE_REJECTION_PERCENT: {} must be above the promotion limit {}",
            c.demote_rejection_percent, c.promote_max_rejection_percent
        )));
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_postgres_urls_do_not_negotiate_tls() {
        let f = without_loopback_tls;
        assert_eq!(f("postgres://postgres@127.0.0.1:5432/db"), "postgres://postgres@127.0.0.1:5432/db?sslmode=disable");
        assert_eq!(
            f("postgresql://u:p@LOCALHOST/db?application_name=x"),
            "postgresql://u:p@LOCALHOST/db?application_name=x&sslmode=disable"
        );
        assert_eq!(f("postgres://u@[::1]:5432/db"), "postgres://u@[::1]:5432/db?sslmode=disable");
        assert_eq!(f("postgres://127.0.0.1"), "postgres://127.0.0.1?sslmode=disable");
        for kept in [
            "postgres://u@127.0.0.1/db?sslmode=require",
            "postgres://u@db.internal:5432/db",
            "postgres://u@127.0.0.10/db",
            "postgres://u@localhost.example.com/db",
            "postgres:///db?host=/var/run/postgresql",
            "postgres://u:p%40127.0.0.1@db.internal/db",
        ] {
            assert_eq!(f(kept), kept);
        }
    }

    #[test]
    fn database_url_scheme_decides_backend() {
        assert_eq!(DatabaseUrl::parse("postgres://u@h/db").unwrap(), DatabaseUrl::Postgres("postgres://u@h/db".into()));
        assert_eq!(DatabaseUrl::parse("sqlite://data/x.db").unwrap(), DatabaseUrl::Sqlite("data/x.db".into()));
        let err = DatabaseUrl::parse("postgress://u:secret@h/db").unwrap_err();
        assert!(!err.0.contains("secret"), "{}", err.0);
        assert!(DatabaseUrl::parse("data/x.db").is_err());
    }

    #[test]
    fn invalid_values_give_one_line_errors() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap().to_string();
        let err = Config::from_lookup(|k| match k {
            "GATEHOUSE_DATA_DIR" => Some(d.clone()),
            "GATEHOUSE_BIND" => Some("nonsense".into()),
            _ => None,
        })
        .unwrap_err();
        assert!(err.0.starts_with("GATEHOUSE_BIND"), "{}", err.0);
        assert!(!err.0.contains('\n'));
    }
}
