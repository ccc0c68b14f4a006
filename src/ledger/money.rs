//! Money maths: integer cents and the one rounding rule of pay.

use std::fmt;
use std::str::FromStr;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

crate::text_enum! {
    /// The ledger's currency: one value, held by the CHECK on `ledger_accounts.currency`.
    /// A second currency would need exchange rules, per-currency balances and exports
    /// (SPEC: contractors are paid in USD), not only a variant.
    pub enum Currency {
        Usd = "USD",
    }
}

/// An amount of USD in integer cents.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(transparent)]
pub struct Cents(pub i64);

impl Cents {
    pub const ZERO: Cents = Cents(0);

    pub fn checked_add(self, other: Cents) -> Option<Cents> {
        self.0.checked_add(other.0).map(Cents)
    }
}

impl std::ops::Neg for Cents {
    type Output = Cents;
    fn neg(self) -> Cents {
        Cents(-self.0)
    }
}

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}${}.{:02}", abs / 100, abs % 100)
    }
}

crate::text_enum! {
    /// How a work record's quantity is counted.
    pub enum UnitKind {
        /// `quantity` units at `rate` per unit.
        Units = "units",
        /// `quantity` minutes at `rate` per hour.
        Minutes = "minutes",
    }
}

/// Why an amount cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayError {
    InvalidRate,
    InvalidQuantity,
    Overflow,
}

/// Largest number of decimal places accepted in a rate or a quantity.
const MAX_SCALE: u32 = 6;

/// Parses a non-negative decimal string (no exponent, at most six decimals).
pub fn parse_decimal(s: &str) -> Option<Decimal> {
    let s = s.trim();
    // Plain digits with an optional decimal point: no sign, exponent or separators.
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let d = Decimal::from_str(s).ok()?;
    (d.scale() <= MAX_SCALE && !d.is_sign_negative()).then_some(d.normalize())
}

/// Pay = rate × quantity (per unit), or rate × minutes / 60 (per hour), rounded once,
/// half away from zero, to whole cents.
pub fn pay(rate: Decimal, quantity: Decimal, kind: UnitKind) -> Result<Cents, PayError> {
    if rate.is_sign_negative() {
        return Err(PayError::InvalidRate);
    }
    if quantity.is_sign_negative() || quantity.is_zero() {
        return Err(PayError::InvalidQuantity);
    }
    // Multiply everything first, divide once, round once: no intermediate rounding.
    let cents =
        rate.checked_mul(quantity).and_then(|x| x.checked_mul(Decimal::ONE_HUNDRED)).ok_or(PayError::Overflow)?;
    let cents = match kind {
        UnitKind::Units => cents,
        UnitKind::Minutes => cents.checked_div(Decimal::from(60)).ok_or(PayError::Overflow)?,
    };
    let rounded = cents.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    rounded.to_i64().map(Cents).ok_or(PayError::Overflow)
}

/// True when the amounts of one transaction balance: the sum is zero and nothing
/// overflows. Checked before every posting.
pub fn balances(amounts: &[Cents]) -> bool {
    let mut sum = Cents::ZERO;
    for a in amounts {
        match sum.checked_add(*a) {
            Some(s) => sum = s,
            None => return false,
        }
    }
    sum == Cents::ZERO && !amounts.is_empty() && amounts.iter().all(|a| a.0 != 0)
}

/// `12.34`: cents as a plain decimal string.
pub fn amount(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// [`amount`] as a SQL expression over the integer `column`, for set-based writes (the
/// payout emails' parameters). `tests/api/ledger.rs` checks both backends against
/// [`amount`] from zero to the largest cents.
pub fn amount_sql(backend: crate::db::Backend, column: &str) -> String {
    // abs(i64::MIN) overflows in both databases; no amount gets near it (the ledger's
    // sums are checked), and the expression then fails rather than lie.
    let c = column;
    match backend {
        crate::db::Backend::Sqlite => {
            format!("printf('%s%d.%02d', CASE WHEN {c} < 0 THEN '-' ELSE '' END, abs({c}) / 100, abs({c}) % 100)")
        }
        crate::db::Backend::Postgres => format!(
            "(CASE WHEN {c} < 0 THEN '-' ELSE '' END || CAST(abs({c}) / 100 AS TEXT) || '.' || \
             lpad(CAST(abs({c}) % 100 AS TEXT), 2, '0'))"
        ),
    }
}

/// Cents as dollars: 123456 → "$1,234.56".
pub fn dollars(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let whole = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}${grouped}.{:02}", abs % 100)
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn half_cents_round_away_from_zero() {
        // 0.125 × 1 = 12.5 cents → 13; 0.145 × 1 = 14.5 → 15 (banker's would give 14).
        assert_eq!(pay(dec!(0.125), dec!(1), UnitKind::Units), Ok(Cents(13)));
        assert_eq!(pay(dec!(0.145), dec!(1), UnitKind::Units), Ok(Cents(15)));
        assert_eq!(pay(dec!(0.005), dec!(1), UnitKind::Units), Ok(Cents(1)));
        assert_eq!(pay(dec!(0.004999), dec!(1), UnitKind::Units), Ok(Cents(0)));
        assert_eq!(pay(dec!(0.0149), dec!(1), UnitKind::Units), Ok(Cents(1)));
    }

    #[test]
    fn rounded_once_not_per_unit() {
        // 3 units at 0.335: 100.5 cents → 101 (per-unit rounding would give 102).
        assert_eq!(pay(dec!(0.335), dec!(3), UnitKind::Units), Ok(Cents(101)));
    }

    #[test]
    fn minutes_are_converted_to_hours() {
        // 30 minutes at $25/h = $12.50.
        assert_eq!(pay(dec!(25), dec!(30), UnitKind::Minutes), Ok(Cents(1250)));
        // 1 minute at $0.30/h = 0.5 cent → 1.
        assert_eq!(pay(dec!(0.30), dec!(1), UnitKind::Minutes), Ok(Cents(1)));
        // 7 minutes at $20/h = 233.333… cents → 233.
        assert_eq!(pay(dec!(20), dec!(7), UnitKind::Minutes), Ok(Cents(233)));
        // 1 minute at $0.29/h = 0.4833 cent → 0.
        assert_eq!(pay(dec!(0.29), dec!(1), UnitKind::Minutes), Ok(Cents(0)));
        // 90.5 minutes at $33.33/h = 5027.275 cents → 5027.
        assert_eq!(pay(dec!(33.33), dec!(90.5), UnitKind::Minutes), Ok(Cents(5027)));
    }

    #[test]
    fn large_quantities_stay_exact() {
        assert_eq!(pay(dec!(0.015), dec!(1000000), UnitKind::Units), Ok(Cents(1_500_000)));
        assert_eq!(pay(dec!(123.456789), dec!(987654.321), UnitKind::Units), Ok(Cents(12_193_263_111)));
        assert_eq!(pay(dec!(99999999999999999), dec!(99999999999), UnitKind::Units), Err(PayError::Overflow));
    }

    #[test]
    fn invalid_inputs_are_refused() {
        assert_eq!(pay(dec!(-1), dec!(1), UnitKind::Units), Err(PayError::InvalidRate));
        assert_eq!(pay(dec!(1), dec!(0), UnitKind::Units), Err(PayError::InvalidQuantity));
        assert_eq!(parse_decimal("1.5"), Some(dec!(1.5)));
        assert_eq!(parse_decimal("-1"), None);
        assert_eq!(parse_decimal("1e5"), None);
        assert_eq!(parse_decimal("0.1234567"), None);
        assert_eq!(parse_decimal("abc"), None);
    }

    #[test]
    fn balance_check() {
        assert!(balances(&[Cents(-500), Cents(500)]));
        assert!(!balances(&[Cents(-500), Cents(499)]));
        assert!(!balances(&[]));
        assert!(!balances(&[Cents(0), Cents(0)]));
        assert!(!balances(&[Cents(i64::MAX), Cents(1), Cents(i64::MIN)]));
        assert_eq!(Cents(-1234).to_string(), "-$12.34");
    }
}
