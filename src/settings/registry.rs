//! The business settings an admin changes at run time (SPEC §12 `PUT /admin/settings`),
//! one definition each: its key, the environment variable that seeds it, its range and
//! default, and what a change does to what is already pending. `config.rs` reads the
//! environment through these definitions and the API validates through them, so start-up
//! and `PUT /admin/settings` accept exactly the same values.
//!
//! To add a setting: declare a `pub const` [`SettingDef`] below, list it in [`ALL`], add a
//! typed accessor to [`Settings`] if callers want one (`Settings::int` works for any), and
//! document it in docs/settings.md. Rules tying several settings together go in
//! [`cross_checks`]. No migration is needed: missing rows are seeded at start.

use std::collections::BTreeMap;

/// The largest amount of money a setting may hold: ten million dollars, in cents.
pub const MAX_CENTS: i64 = 1_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A whole number within `min..=max`, in `unit`.
    Int { min: i64, max: i64, default: i64, unit: &'static str },
    /// An IANA time zone name (`America/New_York`).
    TimeZone { default: &'static str },
}

/// How a change reaches what is already pending when it is saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Pending {
    /// Only what starts after the change uses the new value.
    NewOnly,
    /// Everything still pending is re-dated with the new value, shorter or longer.
    Always,
    /// Pending items are re-dated only where the new value brings their date closer
    /// (money is never paid later than a person was told).
    WhenShortened,
    /// Pending deadlines move only where the new value gives the person more time.
    WhenLengthened,
    /// Read at each use: the next check uses the new value.
    NextUse,
}

#[derive(Debug, Clone, Copy)]
pub struct SettingDef {
    /// The key in the API and the database (`review_window_days`).
    pub key: &'static str,
    /// The environment variable that seeds it at the first start.
    pub env: &'static str,
    pub kind: Kind,
    pub description: &'static str,
    pub pending: Pending,
}

#[allow(clippy::too_many_arguments)] // one line per definition reads as a table
const fn int(
    key: &'static str,
    env: &'static str,
    default: i64,
    min: i64,
    max: i64,
    unit: &'static str,
    description: &'static str,
    pending: Pending,
) -> SettingDef {
    SettingDef { key, env, kind: Kind::Int { min, max, default, unit }, description, pending }
}

pub const REVIEW_WINDOW_DAYS: SettingDef = int(
    "review_window_days",
    "GATEHOUSE_REVIEW_WINDOW_DAYS",
    7,
    1,
    90,
    "days",
    "Work records not decided within this window are approved automatically.",
    Pending::WhenShortened,
);
pub const APPEAL_WINDOW_DAYS: SettingDef = int(
    "appeal_window_days",
    "GATEHOUSE_APPEAL_WINDOW_DAYS",
    14,
    1,
    365,
    "days",
    "A rejected record may be appealed once within this window.",
    Pending::WhenLengthened,
);
pub const HOLD_DAYS: SettingDef = int(
    "hold_days",
    "GATEHOUSE_HOLD_DAYS",
    7,
    0,
    90,
    "days",
    "Approved pay stays held this long before it becomes available.",
    Pending::WhenShortened,
);
pub const PAYOUT_METHOD_HOLD_HOURS: SettingDef = int(
    "payout_method_hold_hours",
    "GATEHOUSE_PAYOUT_METHOD_HOLD_HOURS",
    72,
    0,
    24 * 30,
    "hours",
    "A changed payout method waits this long before a payout uses it.",
    Pending::Always,
);
pub const PAYOUT_MINIMUM_CENTS: SettingDef = int(
    "payout_minimum_cents",
    "GATEHOUSE_PAYOUT_MINIMUM_CENTS",
    1_000,
    0,
    MAX_CENTS,
    "cents",
    "Smallest available balance paid out.",
    Pending::NextUse,
);
pub const PAYMENT_PROMISE_DAYS: SettingDef = int(
    "payment_promise_days",
    "GATEHOUSE_PAYMENT_PROMISE_DAYS",
    14,
    1,
    365,
    "days",
    "Payments are due this long after approval at the latest (late payouts dashboard).",
    Pending::NextUse,
);
pub const ADJUSTMENT_APPROVAL_THRESHOLD_CENTS: SettingDef = int(
    "adjustment_approval_threshold_cents",
    "GATEHOUSE_ADJUSTMENT_APPROVAL_THRESHOLD_CENTS",
    50_000,
    0,
    MAX_CENTS,
    "cents",
    "Manual ledger postings above this (one maker, one contributor, in the window) need a second finance user.",
    Pending::NewOnly,
);
pub const ADJUSTMENT_WINDOW_HOURS: SettingDef = int(
    "adjustment_window_hours",
    "GATEHOUSE_ADJUSTMENT_WINDOW_HOURS",
    24,
    1,
    24 * 90,
    "hours",
    "Rolling window over which one maker's postings for one contributor add up against the threshold.",
    Pending::NextUse,
);
pub const QUALITY_WINDOW: SettingDef = int(
    "quality_window",
    "GATEHOUSE_QUALITY_WINDOW",
    50,
    1,
    10_000,
    "records",
    "The quality standing counts the contributor's last this many decided records.",
    Pending::NextUse,
);
pub const QUALITY_MIN_DECIDED: SettingDef = int(
    "quality_min_decided",
    "GATEHOUSE_QUALITY_MIN_DECIDED",
    20,
    1,
    10_000,
    "records",
    "The ladder applies once this many records are decided (at most the window).",
    Pending::NextUse,
);
pub const QUALITY_WARNING_PERCENT: SettingDef = int(
    "quality_warning_percent",
    "GATEHOUSE_QUALITY_WARNING_PERCENT",
    10,
    1,
    100,
    "percent",
    "Rejection share from which a contributor is warned.",
    Pending::NextUse,
);
pub const QUALITY_RETRAINING_PERCENT: SettingDef = int(
    "quality_retraining_percent",
    "GATEHOUSE_QUALITY_RETRAINING_PERCENT",
    20,
    1,
    100,
    "percent",
    "Rejection share from which retraining is required.",
    Pending::NextUse,
);
pub const QUALITY_SUSPENSION_PERCENT: SettingDef = int(
    "quality_suspension_percent",
    "GATEHOUSE_QUALITY_SUSPENSION_PERCENT",
    30,
    1,
    100,
    "percent",
    "Rejection share from which the account is suspended.",
    Pending::NextUse,
);
pub const LOGIN_WINDOW_MINUTES: SettingDef = int(
    "login_window_minutes",
    "GATEHOUSE_LOGIN_WINDOW_MINUTES",
    15,
    1,
    24 * 60,
    "minutes",
    "Sliding window over which failed sign-ins count.",
    Pending::NextUse,
);
pub const LOGIN_FAILURES_PER_ACCOUNT_IP: SettingDef = int(
    "login_failures_per_account_ip",
    "GATEHOUSE_LOGIN_FAILURES_PER_ACCOUNT_IP",
    5,
    1,
    1_000,
    "failures",
    "Failed sign-ins per (account, client address) in the window before it waits.",
    Pending::NextUse,
);
pub const LOGIN_FAILURES_PER_IP: SettingDef = int(
    "login_failures_per_ip",
    "GATEHOUSE_LOGIN_FAILURES_PER_IP",
    50,
    1,
    100_000,
    "failures",
    "Failed sign-ins per client address (any account) in the window.",
    Pending::NextUse,
);
pub const LOGIN_ACCOUNT_SLOWDOWN_AFTER: SettingDef = int(
    "login_account_slowdown_after",
    "GATEHOUSE_LOGIN_ACCOUNT_SLOWDOWN_AFTER",
    10,
    1,
    10_000,
    "failures",
    "Failed sign-ins on one account after which it is slowed.",
    Pending::NextUse,
);
pub const LOGIN_ACCOUNT_DELAY_SECS: SettingDef = int(
    "login_account_delay_secs",
    "GATEHOUSE_LOGIN_ACCOUNT_DELAY_SECS",
    60,
    1,
    3_600,
    "seconds",
    "A slowed account accepts one password check per this delay.",
    Pending::NextUse,
);
pub const EMAIL_LINK_WINDOW_MINUTES: SettingDef = int(
    "email_link_window_minutes",
    "GATEHOUSE_EMAIL_LINK_WINDOW_MINUTES",
    60,
    1,
    24 * 60,
    "minutes",
    "Sliding window of the emailed-link throttles (reset, verification).",
    Pending::NextUse,
);
pub const EMAIL_LINKS_PER_ADDRESS: SettingDef = int(
    "email_links_per_address",
    "GATEHOUSE_EMAIL_LINKS_PER_ADDRESS",
    3,
    1,
    100,
    "emails",
    "Reset or verification emails per address in the window.",
    Pending::NextUse,
);
pub const EMAIL_LINKS_PER_IP: SettingDef = int(
    "email_links_per_ip",
    "GATEHOUSE_EMAIL_LINKS_PER_IP",
    20,
    1,
    100_000,
    "emails",
    "Reset or verification emails requested from one client address in the window.",
    Pending::NextUse,
);
pub const PAYER_TIME_ZONE: SettingDef = SettingDef {
    key: "payer_time_zone",
    env: "GATEHOUSE_PAYER_TIME_ZONE",
    kind: Kind::TimeZone { default: "America/New_York" },
    description: "The payer's time zone: the calendar date (and tax year) of a payment is read in it.",
    pending: Pending::NextUse,
};

/// Every setting, in the order the API and the console list them.
pub const ALL: &[&SettingDef] = &[
    &REVIEW_WINDOW_DAYS,
    &APPEAL_WINDOW_DAYS,
    &HOLD_DAYS,
    &PAYOUT_METHOD_HOLD_HOURS,
    &PAYOUT_MINIMUM_CENTS,
    &PAYMENT_PROMISE_DAYS,
    &ADJUSTMENT_APPROVAL_THRESHOLD_CENTS,
    &ADJUSTMENT_WINDOW_HOURS,
    &QUALITY_WINDOW,
    &QUALITY_MIN_DECIDED,
    &QUALITY_WARNING_PERCENT,
    &QUALITY_RETRAINING_PERCENT,
    &QUALITY_SUSPENSION_PERCENT,
    &LOGIN_WINDOW_MINUTES,
    &LOGIN_FAILURES_PER_ACCOUNT_IP,
    &LOGIN_FAILURES_PER_IP,
    &LOGIN_ACCOUNT_SLOWDOWN_AFTER,
    &LOGIN_ACCOUNT_DELAY_SECS,
    &EMAIL_LINK_WINDOW_MINUTES,
    &EMAIL_LINKS_PER_ADDRESS,
    &EMAIL_LINKS_PER_IP,
    &PAYER_TIME_ZONE,
];

pub fn find(key: &str) -> Option<&'static SettingDef> {
    ALL.iter().copied().find(|d| d.key == key)
}

/// A setting's value: a whole number or a time zone name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Int(i64),
    Text(String),
}

impl Value {
    /// The text kept in the database.
    pub fn to_db(&self) -> String {
        match self {
            Self::Int(n) => n.to_string(),
            Self::Text(t) => t.clone(),
        }
    }
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Int(n) => serde_json::json!(n),
            Self::Text(t) => serde_json::json!(t),
        }
    }
}

impl SettingDef {
    pub fn default_value(&self) -> Value {
        match self.kind {
            Kind::Int { default, .. } => Value::Int(default),
            Kind::TimeZone { default } => Value::Text(default.to_string()),
        }
    }

    /// Parses and range-checks a value given as text (environment, database). The error
    /// is a sentence without the key.
    pub fn parse_text(&self, raw: &str) -> Result<Value, String> {
        match self.kind {
            Kind::Int { .. } => {
                let n: i64 = raw.trim().parse().map_err(|_| format!("{raw:?} is not a whole number"))?;
                self.check(Value::Int(n))
            }
            Kind::TimeZone { .. } => self.check(Value::Text(raw.trim().to_string())),
        }
    }

    /// Parses a JSON value (a number, or a string for a time zone) from the API.
    pub fn parse_json(&self, raw: &serde_json::Value) -> Result<Value, String> {
        match (self.kind, raw) {
            (Kind::Int { .. }, serde_json::Value::Number(n)) => {
                // `3.0` is the integer 3 to JSON Schema (see `crate::wire`).
                let whole: i64 = crate::wire::whole(n.clone()).map_err(|_| format!("{n} is not a whole number"))?;
                self.check(Value::Int(whole))
            }
            (Kind::Int { .. }, _) => Err("a whole number".into()),
            (Kind::TimeZone { .. }, serde_json::Value::String(s)) => self.check(Value::Text(s.clone())),
            (Kind::TimeZone { .. }, _) => Err("an IANA time zone name such as America/New_York".into()),
        }
    }

    /// The one range check of a setting, shared by start-up and the API.
    pub fn check(&self, v: Value) -> Result<Value, String> {
        match (self.kind, &v) {
            (Kind::Int { min, max, .. }, Value::Int(n)) if (min..=max).contains(n) => Ok(v),
            (Kind::Int { min, max, .. }, Value::Int(n)) => Err(format!("{n} is out of range ({min} to {max})")),
            (Kind::TimeZone { .. }, Value::Text(t)) if t.parse::<chrono_tz::Tz>().is_ok() => Ok(v),
            (Kind::TimeZone { .. }, Value::Text(t)) => {
                Err(format!("{t:?} is not an IANA time zone name such as America/New_York"))
            }
            _ => Err("wrong kind of value".into()),
        }
    }
}

/// A complete set of values, every setting present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    values: BTreeMap<&'static str, Value>,
}

impl Default for Settings {
    fn default() -> Self {
        Self { values: ALL.iter().map(|d| (d.key, d.default_value())).collect() }
    }
}

impl Settings {
    /// Reads each setting's environment variable through `get` (the seed of a new
    /// database), checking its range and then the rules across settings. The error is one
    /// line naming the variable.
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut s = Self::default();
        for def in ALL {
            if let Some(raw) = get(def.env) {
                let v = def.parse_text(&raw).map_err(|e| format!("{}: {e}", def.env))?;
                s.values.insert(def.key, v);
            }
        }
        // The minimum count defaults to the window when the window is smaller.
        if get(QUALITY_MIN_DECIDED.env).is_none() {
            let window = s.int(&QUALITY_WINDOW);
            let min = s.int(&QUALITY_MIN_DECIDED).min(window);
            s.values.insert(QUALITY_MIN_DECIDED.key, Value::Int(min));
        }
        if let Some((def, msg)) = cross_checks(&s).into_iter().next() {
            return Err(format!("{}: {msg}", def.env));
        }
        Ok(s)
    }

    pub fn get(&self, def: &SettingDef) -> &Value {
        // Every key is present by construction (`Default` fills them all).
        self.values.get(def.key).expect("every setting has a value")
    }

    /// Sets a value that already passed [`SettingDef::check`].
    pub fn set(&mut self, def: &'static SettingDef, v: Value) {
        self.values.insert(def.key, v);
    }

    pub fn int(&self, def: &SettingDef) -> i64 {
        match self.get(def) {
            Value::Int(n) => *n,
            Value::Text(_) => match def.kind {
                Kind::Int { default, .. } => default,
                Kind::TimeZone { .. } => 0,
            },
        }
    }

    pub fn review_window(&self) -> chrono::Duration {
        chrono::Duration::days(self.int(&REVIEW_WINDOW_DAYS))
    }
    pub fn appeal_window(&self) -> chrono::Duration {
        chrono::Duration::days(self.int(&APPEAL_WINDOW_DAYS))
    }
    pub fn hold_period(&self) -> chrono::Duration {
        chrono::Duration::days(self.int(&HOLD_DAYS))
    }
    pub fn method_change_hold(&self) -> chrono::Duration {
        chrono::Duration::hours(self.int(&PAYOUT_METHOD_HOLD_HOURS))
    }
    pub fn payout_minimum_cents(&self) -> i64 {
        self.int(&PAYOUT_MINIMUM_CENTS)
    }
    pub fn payment_promise(&self) -> chrono::Duration {
        chrono::Duration::days(self.int(&PAYMENT_PROMISE_DAYS))
    }
    pub fn adjustment_approval_threshold_cents(&self) -> i64 {
        self.int(&ADJUSTMENT_APPROVAL_THRESHOLD_CENTS)
    }
    pub fn adjustment_window(&self) -> chrono::Duration {
        chrono::Duration::hours(self.int(&ADJUSTMENT_WINDOW_HOURS))
    }
    pub fn quality_ladder(&self) -> crate::config::QualityLadder {
        crate::config::QualityLadder {
            window: self.int(&QUALITY_WINDOW),
            min_decided: self.int(&QUALITY_MIN_DECIDED),
            warning_percent: self.int(&QUALITY_WARNING_PERCENT) as i32,
            retraining_percent: self.int(&QUALITY_RETRAINING_PERCENT) as i32,
            suspension_percent: self.int(&QUALITY_SUSPENSION_PERCENT) as i32,
        }
    }
    /// The sign-in and emailed-link throttles over the rest of the auth configuration.
    pub fn throttles(&self, base: &crate::config::AuthConfig) -> crate::config::AuthConfig {
        crate::config::AuthConfig {
            login_window: chrono::Duration::minutes(self.int(&LOGIN_WINDOW_MINUTES)),
            login_failures_per_account_ip: self.int(&LOGIN_FAILURES_PER_ACCOUNT_IP),
            login_failures_per_ip: self.int(&LOGIN_FAILURES_PER_IP),
            login_account_slowdown_after: self.int(&LOGIN_ACCOUNT_SLOWDOWN_AFTER),
            login_account_delay: chrono::Duration::seconds(self.int(&LOGIN_ACCOUNT_DELAY_SECS)),
            email_link_window: chrono::Duration::minutes(self.int(&EMAIL_LINK_WINDOW_MINUTES)),
            email_links_per_address: self.int(&EMAIL_LINKS_PER_ADDRESS),
            email_links_per_ip: self.int(&EMAIL_LINKS_PER_IP),
            ..base.clone()
        }
    }
    pub fn payer_time_zone(&self) -> chrono_tz::Tz {
        match self.get(&PAYER_TIME_ZONE) {
            Value::Text(t) => t.parse().unwrap_or(chrono_tz::America::New_York),
            Value::Int(_) => chrono_tz::America::New_York,
        }
    }
}

/// Rules across settings, as `(setting to blame, message)`; empty when the set is valid.
pub fn cross_checks(s: &Settings) -> Vec<(&'static SettingDef, String)> {
    let mut out = Vec::new();
    let l = s.quality_ladder();
    if !(l.warning_percent < l.retraining_percent && l.retraining_percent < l.suspension_percent) {
        out.push((
            &QUALITY_SUSPENSION_PERCENT,
            format!(
                "the ladder must rise: warning {} < retraining {} < suspension {}",
                l.warning_percent, l.retraining_percent, l.suspension_percent
            ),
        ));
    }
    if l.min_decided > l.window {
        out.push((&QUALITY_MIN_DECIDED, format!("{} is more than the window ({})", l.min_decided, l.window)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_variables_are_unique_and_defaults_valid() {
        let keys: std::collections::BTreeSet<_> = ALL.iter().map(|d| d.key).collect();
        let envs: std::collections::BTreeSet<_> = ALL.iter().map(|d| d.env).collect();
        assert_eq!(keys.len(), ALL.len());
        assert_eq!(envs.len(), ALL.len());
        for d in ALL {
            assert!(d.check(d.default_value()).is_ok(), "{}", d.key);
        }
        assert!(cross_checks(&Settings::default()).is_empty());
    }

    #[test]
    fn ranges_are_checked_the_same_way_from_text_and_json() {
        assert!(HOLD_DAYS.parse_text("0").is_ok());
        assert!(HOLD_DAYS.parse_text("91").unwrap_err().contains("out of range (0 to 90)"));
        assert!(HOLD_DAYS.parse_json(&serde_json::json!(91)).unwrap_err().contains("out of range (0 to 90)"));
        assert!(HOLD_DAYS.parse_json(&serde_json::json!(-1)).is_err());
        assert!(HOLD_DAYS.parse_json(&serde_json::json!("3")).is_err());
        assert!(HOLD_DAYS.parse_json(&serde_json::json!(2.5)).is_err());
        assert!(PAYER_TIME_ZONE.parse_json(&serde_json::json!("America/Chicago")).is_ok());
        assert!(PAYER_TIME_ZONE.parse_json(&serde_json::json!("Mars/Olympus")).is_err());
    }

    #[test]
    fn the_environment_seeds_and_cross_rules_hold() {
        let s = Settings::from_lookup(&|k: &str| (k == "GATEHOUSE_QUALITY_WINDOW").then(|| "10".to_string())).unwrap();
        assert_eq!(s.int(&QUALITY_MIN_DECIDED), 10, "the minimum count follows a smaller window");
        let err = Settings::from_lookup(&|k: &str| (k == "GATEHOUSE_QUALITY_WARNING_PERCENT").then(|| "40".into()))
            .unwrap_err();
        assert!(err.starts_with("GATEHOUSE_QUALITY_SUSPENSION_PERCENT"), "{err}");
        let err = Settings::from_lookup(&|k: &str| (k == "GATEHOUSE_HOLD_DAYS").then(|| "-1".into())).unwrap_err();
        assert!(err.starts_with("GATEHOUSE_HOLD_DAYS: -1 is out of range"), "{err}");
    }
}
