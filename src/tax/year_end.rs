//! 1099-NEC year-end rules as pure functions: who gets a form and with which amounts.

use serde::Serialize;
use utoipa::ToSchema;

/// What a payee was paid in a calendar year, split by whether a 1099-NEC reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct YearTotals {
    /// Settled in the year through rails the payer reports (ACH, Wise): box 1.
    pub reportable_cents: i64,
    /// Settled through rails that report it themselves on Form 1099-K (PayPal).
    pub excluded_cents: i64,
    /// Backup withholding on the reportable payments: box 4.
    pub federal_withheld_cents: i64,
}

/// A 1099-NEC is due when the reportable payments reach the year's threshold, or when
/// any federal income tax was withheld under backup withholding, whatever the amount
/// (IRS instructions for Forms 1099-MISC and 1099-NEC).
pub fn form_due(totals: &YearTotals, threshold_cents: i64) -> bool {
    totals.reportable_cents >= threshold_cents || totals.federal_withheld_cents > 0
}

/// Splits a list of numbered parts of at most `per_part` rows: part `n` (1-based) of
/// `rows` rows covers `[start, end)`.
pub fn part_range(rows: usize, per_part: usize, n: usize) -> Option<(usize, usize)> {
    let per_part = per_part.max(1);
    let start = n.checked_sub(1)?.checked_mul(per_part)?;
    (start < rows || (rows == 0 && n == 1)).then(|| (start, (start + per_part).min(rows)))
}

pub fn part_count(rows: usize, per_part: usize) -> usize {
    rows.div_ceil(per_part.max(1)).max(1)
}

/// `1234` cents as `12.34`.
pub fn dollars(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(reportable: i64, withheld: i64) -> YearTotals {
        YearTotals { reportable_cents: reportable, excluded_cents: 0, federal_withheld_cents: withheld }
    }

    #[test]
    fn thresholds_by_year() {
        // 2025: $600; 2026: $2,000.
        assert!(form_due(&totals(60_000, 0), 60_000));
        assert!(!form_due(&totals(59_999, 0), 60_000));
        assert!(!form_due(&totals(199_999, 0), 200_000));
        assert!(form_due(&totals(200_000, 0), 200_000));
        assert!(form_due(&totals(5_000, 1_200), 200_000), "backup withholding always needs a form");
    }

    #[test]
    fn parts_and_amounts() {
        assert_eq!(part_count(0, 100), 1);
        assert_eq!(part_count(250, 100), 3);
        assert_eq!(part_range(250, 100, 3), Some((200, 250)));
        assert_eq!(part_range(250, 100, 4), None);
        assert_eq!(part_range(0, 100, 1), Some((0, 0)));
        assert_eq!(dollars(123_456), "1234.56");
        assert_eq!(dollars(5), "0.05");
        assert_eq!(dollars(-250), "-2.50");
    }
}
