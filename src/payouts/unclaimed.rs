//! Unclaimed property (escheat) tracking: money Gatehouse owes but cannot deliver.
//!
//! Sources: the Revised Uniform Unclaimed Property Act (Uniform Law Commission, 2016),
//! §201(11) (wages, commissions and "other compensation for personal services" are
//! presumed abandoned one year after they become payable), §208 (the owner's indication
//! of interest restarts the period), §501 (the holder notifies the apparent owner not
//! more than 180 and not less than 60 days before reporting); Texas v. New Jersey, 379
//! U.S. 674 (1965) (the property goes to the state of the owner's last known address).
//! States enact their own periods: the dormancy period is configuration.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::methods::current_methods_of;
use super::model::MethodStatus;
use crate::auth::model::UserStatus;
use crate::auth::service::find_users;
use crate::db::schema::{contributor_profiles, payout_items, payout_methods, tax_profiles, work_records};
use crate::db::DbConn;
use crate::error::AppResult;
use crate::ledger::service::available_of;
use crate::AppState;

/// Days before the report date from which the owner must be notified (RUUPA §501).
pub const NOTICE_WINDOW_OPENS_DAYS: i64 = 180;
/// Days before the report date by which the owner must have been notified.
pub const NOTICE_WINDOW_CLOSES_DAYS: i64 = 60;

/// Where owed money stands on the way to being reported as unclaimed property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnclaimedStatus {
    /// Inside the dormancy period: nothing to do yet but deliver it.
    Dormant,
    /// Inside the 180 days before the report date: notify the owner (due diligence).
    DueDiligence,
    /// The dormancy period is over: report and remit it to the owner's state.
    Reportable,
}

/// The dates of one owner's money: `last_activity` (the last indication of interest)
/// plus the dormancy period is the report date; the notice window precedes it. Pure.
pub fn schedule(
    last_activity: NaiveDate,
    today: NaiveDate,
    dormancy: Duration,
) -> (NaiveDate, NaiveDate, NaiveDate, UnclaimedStatus) {
    let reportable_on = last_activity + dormancy;
    let notice_from = reportable_on - Duration::days(NOTICE_WINDOW_OPENS_DAYS);
    let notice_by = reportable_on - Duration::days(NOTICE_WINDOW_CLOSES_DAYS);
    let status = if today >= reportable_on {
        UnclaimedStatus::Reportable
    } else if today >= notice_from {
        UnclaimedStatus::DueDiligence
    } else {
        UnclaimedStatus::Dormant
    };
    (reportable_on, notice_from, notice_by, status)
}

/// Money owed to one contributor that no payout is delivering, and why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnclaimedLine {
    pub contributor_id: i64,
    pub available_cents: i64,
    /// `payment_failed` (the method needs an update after a failed or returned payment),
    /// `no_payout_method`, `account_removed` (removed or disabled), `account_closed`,
    /// `below_minimum`.
    pub reasons: Vec<&'static str>,
    /// Two-letter state of the owner's last known US address (profile, else W-9): the
    /// state the property is reported to; null when unknown (then the holder's state).
    pub state: Option<String>,
    /// The owner's last indication of interest: the latest of sign-up, completed work,
    /// a payout method added, a W-9 signed and a payout paid.
    #[serde(with = "crate::clock::utc")]
    pub last_activity: NaiveDateTime,
    pub notice_from: NaiveDate,
    pub notice_by: NaiveDate,
    pub reportable_on: NaiveDate,
    pub status: UnclaimedStatus,
}

/// The latest of each kind of owner activity per contributor of `ids` (see
/// [`UnclaimedLine::last_activity`]): one grouped query per kind.
fn last_activities(conn: &mut DbConn, ids: &[i64]) -> AppResult<HashMap<i64, NaiveDateTime>> {
    use diesel::dsl::max;
    let mut latest: HashMap<i64, NaiveDateTime> = HashMap::new();
    let mut keep = |rows: Vec<(i64, Option<NaiveDateTime>)>| {
        for (id, at) in rows {
            if let Some(at) = at {
                let e = latest.entry(id).or_insert(at);
                *e = (*e).max(at);
            }
        }
    };
    keep(
        work_records::table
            .filter(work_records::contributor_id.eq_any(ids))
            .group_by(work_records::contributor_id)
            .select((work_records::contributor_id, max(work_records::completed_at)))
            .load(conn)?,
    );
    keep(
        payout_methods::table
            .filter(payout_methods::user_id.eq_any(ids))
            .group_by(payout_methods::user_id)
            .select((payout_methods::user_id, max(payout_methods::created_at)))
            .load(conn)?,
    );
    keep(
        tax_profiles::table
            .filter(tax_profiles::user_id.eq_any(ids))
            .group_by(tax_profiles::user_id)
            .select((tax_profiles::user_id, max(tax_profiles::signed_at)))
            .load(conn)?,
    );
    keep(
        payout_items::table
            .filter(payout_items::contributor_id.eq_any(ids))
            .filter(payout_items::status.eq(crate::payouts::model::ItemStatus::Paid))
            .group_by(payout_items::contributor_id)
            .select((payout_items::contributor_id, max(payout_items::settled_at)))
            .load(conn)?,
    );
    Ok(latest)
}

/// The owners' states: the profile's US address, else the latest W-9's.
fn last_known_states(conn: &mut DbConn, ids: &[i64]) -> AppResult<HashMap<i64, String>> {
    let mut states: HashMap<i64, String> =
        crate::tax::service::current_profiles_of(conn, ids)?.into_iter().map(|(id, p)| (id, p.region)).collect();
    let profiles: Vec<(i64, Option<String>, Option<String>)> = contributor_profiles::table
        .filter(contributor_profiles::user_id.eq_any(ids))
        .select((contributor_profiles::user_id, contributor_profiles::region, contributor_profiles::country))
        .load(conn)?;
    for (id, region, country) in profiles {
        if let Some(region) = region.filter(|_| country.as_deref().unwrap_or("US") == "US") {
            states.insert(id, region);
        }
    }
    Ok(states)
}

/// Every contributor with money available that no batch is paying, oldest report date
/// first.
/// Up to `limit` lines, by contributor id, after the cursor `after`.
pub fn unclaimed(st: &AppState, after: Option<i64>, limit: i64) -> AppResult<Vec<UnclaimedLine>> {
    let now = st.clock.now();
    let dormancy = st.config.payouts.unclaimed_dormancy;
    st.db.read_sync(|conn| {
        let minimum = crate::settings::current(conn, st)?.payout_minimum_cents();
        let balances: Vec<(i64, i64)> =
            available_of(conn, None)?.into_iter().filter(|(id, b)| *b > 0 && *id > after.unwrap_or(0)).collect();
        let mut out = Vec::new();
        for chunk in balances.chunks(crate::db::LOOKUP_CHUNK) {
            if out.len() as i64 >= limit {
                break;
            }
            let ids: Vec<i64> = chunk.iter().map(|(id, _)| *id).collect();
            let people: HashMap<i64, _> = find_users(conn, &ids)?.into_iter().map(|u| (u.id, u)).collect();
            let methods = current_methods_of(conn, crate::db::among::Among::Ids(&ids))?;
            let mut owed = Vec::new();
            for (id, available) in chunk {
                let Some(user) = people.get(id) else { continue };
                let mut reasons = Vec::new();
                match methods.get(id) {
                    None => reasons.push("no_payout_method"),
                    Some(m) if m.status() == MethodStatus::NeedsUpdate => reasons.push("payment_failed"),
                    Some(_) => {}
                }
                match user.status() {
                    UserStatus::Removed | UserStatus::Disabled => reasons.push("account_removed"),
                    UserStatus::Closed => reasons.push("account_closed"),
                    _ => {}
                }
                if *available < minimum {
                    reasons.push("below_minimum");
                }
                if !reasons.is_empty() {
                    owed.push((user, *available, reasons));
                }
            }
            let owed_ids: Vec<i64> = owed.iter().map(|(u, _, _)| u.id).collect();
            let activity = last_activities(conn, &owed_ids)?;
            let mut states = last_known_states(conn, &owed_ids)?;
            for (user, available, reasons) in owed {
                let last = activity.get(&user.id).copied().unwrap_or(user.created_at).max(user.created_at);
                let (reportable_on, notice_from, notice_by, status) = schedule(last.date(), now.date(), dormancy);
                out.push(UnclaimedLine {
                    contributor_id: user.id,
                    available_cents: available,
                    reasons,
                    state: states.remove(&user.id),
                    last_activity: last,
                    notice_from,
                    notice_by,
                    reportable_on,
                    status,
                });
            }
        }
        out.sort_by_key(|l| l.contributor_id);
        out.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn one_year_of_dormancy_then_reportable_with_the_notice_window_before() {
        let year = Duration::days(365);
        let last = d(2026, 3, 2);
        let (reportable_on, from, by, status) = schedule(last, d(2026, 9, 1), year);
        assert_eq!(reportable_on, d(2027, 3, 2));
        assert_eq!(from, d(2026, 9, 3), "180 days before");
        assert_eq!(by, d(2027, 1, 1), "60 days before");
        assert_eq!(status, UnclaimedStatus::Dormant);
        assert_eq!(schedule(last, d(2026, 9, 3), year).3, UnclaimedStatus::DueDiligence);
        assert_eq!(schedule(last, d(2027, 3, 1), year).3, UnclaimedStatus::DueDiligence);
        assert_eq!(schedule(last, d(2027, 3, 2), year).3, UnclaimedStatus::Reportable);
        assert_eq!(schedule(last, d(2029, 2, 28), Duration::days(3 * 365)).3, UnclaimedStatus::DueDiligence);
    }
}
