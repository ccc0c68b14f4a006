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

/// The first payment year whose threshold is indexed for inflation: from 2027 the
/// $2,000 of 26 USC 6041(a) (as amended in 2025) is increased by the cost-of-living
/// adjustment and rounded down to a multiple of $100, so it never falls below the
/// figure of an earlier year.
pub const FIRST_INDEXED_YEAR: i64 = 2027;

/// The threshold to apply to payments of `year`, from the `(year, cents)` rows on file:
/// the year's own row, or, for an indexed year without one yet, the latest earlier
/// row, which is a floor of the true figure (forms issued with it may include a few
/// payees the published figure would leave out, never miss one who is due). Returns the
/// cents and, when assumed, the year the figure comes from; `None`: nothing applies.
pub fn threshold_in_force(rows: &[(i64, i64)], year: i64) -> Option<(i64, Option<i64>)> {
    if let Some((_, cents)) = rows.iter().find(|(y, _)| *y == year) {
        return Some((*cents, None));
    }
    if year < FIRST_INDEXED_YEAR {
        return None;
    }
    rows.iter()
        .filter(|(y, _)| *y < year && *y >= FIRST_INDEXED_YEAR - 1)
        .max_by_key(|(y, _)| *y)
        .map(|(y, c)| (*c, Some(*y)))
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
    fn a_missing_indexed_year_uses_the_latest_figure_as_a_floor() {
        let rows = [(2024, 60_000), (2025, 60_000), (2026, 200_000)];
        assert_eq!(threshold_in_force(&rows, 2026), Some((200_000, None)));
        assert_eq!(threshold_in_force(&rows, 2025), Some((60_000, None)));
        assert_eq!(threshold_in_force(&rows, 2027), Some((200_000, Some(2026))));
        assert_eq!(threshold_in_force(&rows, 2029), Some((200_000, Some(2026))));
        let with_2027 = [(2026, 200_000), (2027, 210_000)];
        assert_eq!(threshold_in_force(&with_2027, 2028), Some((210_000, Some(2027))));
        assert_eq!(threshold_in_force(&with_2027, 2027), Some((210_000, None)));
        // Before indexing, a missing year is not guessed.
        assert_eq!(threshold_in_force(&rows, 2023), None);
        assert_eq!(threshold_in_force(&[(2024, 60_000)], 2027), None, "no 2026 figure to start from");
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
