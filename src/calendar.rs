//! US banking days: weekends and the Federal Reserve's holidays are not business days.
//! ACH settles only on Federal Reserve business days, so NACHA effective dates use this,
//! and so do deadlines counted in business days (the B-notice's 30 days).
//!
//! The Federal Reserve observes a holiday that falls on a Sunday on the Monday after; one
//! that falls on a Saturday is not moved (the banks are open the Friday before).

use chrono::{Datelike, NaiveDate, Weekday};

/// The `n`th (1-based) `weekday` of a month.
fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u8) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n)
}

/// The last `weekday` of a month.
fn last_weekday(year: i32, month: u32, weekday: Weekday) -> Option<NaiveDate> {
    nth_weekday(year, month, weekday, 5).or_else(|| nth_weekday(year, month, weekday, 4))
}

/// The Federal Reserve holidays of `year`, on the days the banks close.
pub fn federal_reserve_holidays(year: i32) -> Vec<NaiveDate> {
    let fixed = [(1, 1), (6, 19), (7, 4), (11, 11), (12, 25)]
        .into_iter()
        .filter_map(|(m, d)| NaiveDate::from_ymd_opt(year, m, d))
        .filter(|d| d.weekday() != Weekday::Sat)
        .map(|d| if d.weekday() == Weekday::Sun { d.succ_opt().unwrap_or(d) } else { d });
    let floating = [
        nth_weekday(year, 1, Weekday::Mon, 3),  // Birthday of Martin Luther King, Jr.
        nth_weekday(year, 2, Weekday::Mon, 3),  // Washington's Birthday
        last_weekday(year, 5, Weekday::Mon),    // Memorial Day
        nth_weekday(year, 9, Weekday::Mon, 1),  // Labor Day
        nth_weekday(year, 10, Weekday::Mon, 2), // Columbus Day
        nth_weekday(year, 11, Weekday::Thu, 4), // Thanksgiving Day
    ];
    let mut days: Vec<NaiveDate> = fixed.chain(floating.into_iter().flatten()).collect();
    days.sort();
    days
}

pub fn is_business_day(day: NaiveDate) -> bool {
    !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) && !federal_reserve_holidays(day.year()).contains(&day)
}

/// The first business day after `day`.
pub fn next_business_day(day: NaiveDate) -> NaiveDate {
    add_business_days(day, 1)
}

/// `days` business days after `day`.
pub fn add_business_days(mut day: NaiveDate, days: u32) -> NaiveDate {
    let mut left = days;
    while left > 0 {
        day = day.succ_opt().unwrap_or(day);
        if is_business_day(day) {
            left -= 1;
        }
    }
    day
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn holidays_of_2026_as_the_federal_reserve_publishes_them() {
        assert_eq!(
            federal_reserve_holidays(2026),
            [
                d(2026, 1, 1),
                d(2026, 1, 19),
                d(2026, 2, 16),
                d(2026, 5, 25),
                d(2026, 6, 19),
                d(2026, 9, 7),
                d(2026, 10, 12),
                d(2026, 11, 11),
                d(2026, 11, 26),
                d(2026, 12, 25),
            ],
            "July 4, 2026 is a Saturday: not moved"
        );
    }

    #[test]
    fn sunday_holidays_close_the_monday_after() {
        // November 11, 2029 and June 19, 2033 are Sundays.
        assert!(federal_reserve_holidays(2029).contains(&d(2029, 11, 12)));
        assert!(federal_reserve_holidays(2033).contains(&d(2033, 6, 20)));
        assert!(!is_business_day(d(2029, 11, 12)));
    }

    #[test]
    fn business_days_skip_weekends_and_holidays() {
        let before_thanksgiving = d(2026, 11, 25);
        assert_eq!(next_business_day(before_thanksgiving), d(2026, 11, 27));
        assert_eq!(next_business_day(d(2026, 12, 24)), d(2026, 12, 28), "Christmas Friday, then the weekend");
        assert_eq!(next_business_day(d(2026, 11, 20)), d(2026, 11, 23), "Friday to Monday");
        assert_eq!(add_business_days(d(2026, 11, 20), 5), d(2026, 11, 30));
    }
}

/// The calendar date of a UTC instant in time zone `tz` (a payment's date for the
/// payer: docs/tax.md).
pub fn local_date(at_utc: chrono::NaiveDateTime, tz: chrono_tz::Tz) -> NaiveDate {
    use chrono::TimeZone;
    tz.from_utc_datetime(&at_utc).date_naive()
}

/// The UTC instant at which `day` starts in time zone `tz` (the first valid local time
/// of the day, for a day that starts inside a daylight-saving gap).
pub fn local_midnight_utc(day: NaiveDate, tz: chrono_tz::Tz) -> chrono::NaiveDateTime {
    use chrono::TimeZone;
    let mut t = day.and_time(chrono::NaiveTime::MIN);
    for _ in 0..4 {
        if let Some(local) = tz.from_local_datetime(&t).earliest() {
            return local.naive_utc();
        }
        t += chrono::Duration::minutes(30);
    }
    day.and_time(chrono::NaiveTime::MIN)
}

#[cfg(test)]
mod zone_tests {
    use super::*;

    #[test]
    fn a_payment_late_on_december_31_in_new_york_is_in_that_year() {
        let ny = chrono_tz::America::New_York;
        // 23:30 on 2026-12-31 in New York is 04:30 UTC on 2027-01-01.
        let at = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap().and_hms_opt(4, 30, 0).unwrap();
        assert_eq!(local_date(at, ny), NaiveDate::from_ymd_opt(2026, 12, 31).unwrap());
        assert_eq!(local_date(at, chrono_tz::UTC), NaiveDate::from_ymd_opt(2027, 1, 1).unwrap());
        let start = local_midnight_utc(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(), ny);
        assert_eq!(start, NaiveDate::from_ymd_opt(2027, 1, 1).unwrap().and_hms_opt(5, 0, 0).unwrap());
    }
}
